use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use time::OffsetDateTime;
use tokio::time::Instant;

use super::{
    DEFAULT_RETENTION, GuardConfigError, GuardDecision, GuardFuture, Newest, OrderingGuard,
    is_older,
};

/// The default largest number of entities a [`MemoryOrderingGuard`] remembers.
const DEFAULT_CAPACITY: usize = 100_000;

/// An [`OrderingGuard`] in this process's memory: for one replica, tests and local
/// tools.
///
/// Bounded: it holds at most `max_entries` entities. Each call first drops the
/// entries whose TTL has passed (no background task, no manual call); when it is
/// still full, it forgets the entity written least recently, which then accepts any
/// event as newest again. Cheap to clone; clones share the state.
///
/// Its table is allocated when the guard is built, with room for twice `max_entries`:
/// a table that grows moves every entity while every event waits on the lock, and
/// a full guard's evictions leave tombstones that would make a table with less room
/// grow once more.
///
/// ```
/// use std::time::Duration;
/// use webhook_event::MemoryOrderingGuard;
///
/// let guard = MemoryOrderingGuard::builder()
///     .ttl(Duration::from_secs(3 * 24 * 3600))
///     .max_entries(10_000)
///     .build()
///     .unwrap();
/// assert!(guard.is_empty());
/// assert!(MemoryOrderingGuard::builder().max_entries(0).build().is_err());
/// ```
#[derive(Clone)]
pub struct MemoryOrderingGuard {
    inner: Arc<Inner>,
}

struct Inner {
    ttl: Duration,
    capacity: usize,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    entries: HashMap<Box<str>, Entry>,
    /// Entities by expiry; the sequence number breaks ties and orders by write.
    expiries: BTreeMap<(Instant, u64), Box<str>>,
    next_seq: u64,
}

struct Entry {
    newest: Newest,
    expiry: (Instant, u64),
}

impl State {
    fn purge_expired(&mut self, now: Instant) {
        while let Some(entry) = self.expiries.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let entity = entry.remove();
            self.entries.remove(&entity);
        }
    }

    fn evict_oldest(&mut self) {
        if let Some((_, entity)) = self.expiries.pop_first() {
            tracing::debug!(
                entity = &*entity,
                "ordering guard full: forgetting the least recently written entity"
            );
            self.entries.remove(&entity);
        }
    }

    fn next_expiry(&mut self, now: Instant, ttl: Duration) -> (Instant, u64) {
        self.next_seq += 1;
        (now + ttl, self.next_seq)
    }
}

impl MemoryOrderingGuard {
    /// A guard remembering up to 100,000 entities for 7 days each.
    pub fn new() -> Self {
        Self::builder().build().expect("the defaults are valid")
    }

    /// Configures the TTL and the bound.
    pub fn builder() -> MemoryOrderingGuardBuilder {
        MemoryOrderingGuardBuilder {
            ttl: DEFAULT_RETENTION,
            capacity: DEFAULT_CAPACITY,
        }
    }

    /// The newest event applied for `entity`, if one is remembered.
    pub fn newest(&self, entity: &str) -> Option<Newest> {
        let mut state = self.lock();
        state.purge_expired(Instant::now());
        state.entries.get(entity).map(|entry| entry.newest.clone())
    }

    /// The number of entities remembered (after dropping the expired ones).
    pub fn len(&self) -> usize {
        let mut state = self.lock();
        state.purge_expired(Instant::now());
        state.entries.len()
    }

    /// `true` when no entity is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // The state is consistent after every statement that can panic, so a panic
        // elsewhere does not make it unusable.
        self.inner
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn apply(&self, entity: &str, created: OffsetDateTime, event_id: &str) -> GuardDecision {
        let now = Instant::now();
        let ttl = self.inner.ttl;
        let mut state = self.lock();
        state.purge_expired(now);
        let state = &mut *state;
        if let Some(entry) = state.entries.get(entity) {
            if is_older(created, event_id, &entry.newest) {
                return GuardDecision::Stale;
            }
            let old_expiry = entry.expiry;
            let expiry = state.next_expiry(now, ttl);
            let entity_key = state
                .expiries
                .remove(&old_expiry)
                .unwrap_or_else(|| entity.into());
            state.expiries.insert(expiry, entity_key);
            let entry = state.entries.get_mut(entity).expect("present above");
            entry.newest = Newest {
                created,
                event_id: event_id.to_owned(),
            };
            entry.expiry = expiry;
            return GuardDecision::Applied;
        }
        if state.entries.len() >= self.inner.capacity {
            state.evict_oldest();
        }
        let expiry = state.next_expiry(now, ttl);
        state.expiries.insert(expiry, entity.into());
        state.entries.insert(
            entity.into(),
            Entry {
                newest: Newest {
                    created,
                    event_id: event_id.to_owned(),
                },
                expiry,
            },
        );
        GuardDecision::Applied
    }
}

impl Default for MemoryOrderingGuard {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for MemoryOrderingGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryOrderingGuard")
            .field("ttl", &self.inner.ttl)
            .field("max_entries", &self.inner.capacity)
            .finish_non_exhaustive()
    }
}

impl OrderingGuard for MemoryOrderingGuard {
    fn apply_if_newer<'a>(
        &'a self,
        entity: &'a str,
        created: OffsetDateTime,
        event_id: &'a str,
    ) -> GuardFuture<'a> {
        let answer = self.apply(entity, created, event_id);
        Box::pin(std::future::ready(Ok(answer)))
    }
}

/// Builds a [`MemoryOrderingGuard`]; see [`MemoryOrderingGuard::builder`].
#[derive(Debug, Clone)]
#[must_use]
pub struct MemoryOrderingGuardBuilder {
    ttl: Duration,
    capacity: usize,
}

impl MemoryOrderingGuardBuilder {
    /// How long an entity is remembered after its last applied event (default 7 days).
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// The largest number of entities remembered (default 100,000).
    pub fn max_entries(mut self, max: usize) -> Self {
        self.capacity = max;
        self
    }

    /// Builds the guard; refuses a zero TTL or a zero bound.
    pub fn build(self) -> Result<MemoryOrderingGuard, GuardConfigError> {
        if self.ttl.is_zero() {
            return Err(GuardConfigError::ZeroTtl);
        }
        if self.capacity == 0 {
            return Err(GuardConfigError::ZeroCapacity);
        }
        let mut state = State::default();
        // When the allocator refuses that much, the table grows on demand.
        let _ = state.entries.try_reserve(self.capacity.saturating_mul(2));
        Ok(MemoryOrderingGuard {
            inner: Arc::new(Inner {
                ttl: self.ttl,
                capacity: self.capacity,
                state: Mutex::new(state),
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    fn guard(ttl: u64, max: usize) -> MemoryOrderingGuard {
        MemoryOrderingGuard::builder()
            .ttl(Duration::from_secs(ttl))
            .max_entries(max)
            .build()
            .unwrap()
    }

    #[test]
    fn newer_applies_older_is_stale_and_ids_break_ties() {
        let guard = guard(60, 10);
        let t = datetime!(2025-11-02 10:00 UTC);
        assert_eq!(guard.apply("e", t, "evt_b"), GuardDecision::Applied);
        assert_eq!(guard.apply("e", t, "evt_a"), GuardDecision::Stale);
        assert_eq!(
            guard.apply("e", t, "evt_b"),
            GuardDecision::Applied,
            "the same event again"
        );
        assert_eq!(guard.apply("e", t, "evt_c"), GuardDecision::Applied);
        assert_eq!(
            guard.apply("e", t - time::Duration::SECOND, "evt_z"),
            GuardDecision::Stale
        );
        assert_eq!(guard.newest("e").unwrap().event_id, "evt_c");
    }

    #[test]
    fn offsets_compare_as_instants() {
        let guard = guard(60, 10);
        assert_eq!(
            guard.apply("e", datetime!(2025-11-02 10:00 +02:00), "x"),
            GuardDecision::Applied
        );
        // 09:00 UTC is later than 10:00 +02:00 (08:00 UTC).
        assert_eq!(
            guard.apply("e", datetime!(2025-11-02 09:00 UTC), "a"),
            GuardDecision::Applied
        );
        assert_eq!(
            guard.apply("e", datetime!(2025-11-02 10:30 +02:00), "z"),
            GuardDecision::Stale
        );
    }

    #[tokio::test(start_paused = true)]
    async fn entries_expire_after_the_ttl_without_a_manual_call() {
        let guard = guard(60, 10);
        let t = datetime!(2025-11-02 10:00 UTC);
        guard.apply("a", t, "1");
        tokio::time::advance(Duration::from_secs(30)).await;
        guard.apply("b", t, "1");
        // Writing `a` again restarts its TTL.
        tokio::time::advance(Duration::from_secs(20)).await;
        guard.apply("a", t, "2");
        tokio::time::advance(Duration::from_secs(40)).await;
        // 90 s after `b` was written, 40 s after `a` was.
        assert_eq!(guard.len(), 1);
        assert!(guard.newest("b").is_none());
        assert_eq!(guard.newest("a").unwrap().event_id, "2");
        tokio::time::advance(Duration::from_secs(20)).await;
        assert!(guard.is_empty());
        // Forgotten: an old event is accepted again.
        assert_eq!(
            guard.apply("a", t - time::Duration::DAY, "0"),
            GuardDecision::Applied
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_stale_event_does_not_extend_the_ttl() {
        let guard = guard(60, 10);
        let t = datetime!(2025-11-02 10:00 UTC);
        guard.apply("a", t, "2");
        tokio::time::advance(Duration::from_secs(50)).await;
        assert_eq!(guard.apply("a", t, "1"), GuardDecision::Stale);
        tokio::time::advance(Duration::from_secs(10)).await;
        assert!(guard.newest("a").is_none());
    }

    #[test]
    fn a_guard_filling_up_and_churning_never_grows_its_table() {
        // A table that grows rehashes every entity under the lock, stalling every
        // event: it is allocated for twice the bound when the guard is built.
        let guard = guard(3600, 1000);
        let table = guard.lock().entries.capacity();
        assert!(table >= 2000, "{table}");
        let t = datetime!(2025-11-02 10:00 UTC);
        // Full after 1,000 payouts; then every new one forgets the oldest.
        for i in 0..20_000 {
            guard.apply(&format!("payout:pout_{i}"), t, "evt_1");
        }
        assert_eq!(guard.len(), 1000);
        // `capacity` counts the room left: tombstones lower it, growth would double it.
        assert!(guard.lock().entries.capacity() <= table);
        assert!(guard.newest("payout:pout_19999").is_some());
        assert!(guard.newest("payout:pout_0").is_none());
    }

    #[test]
    fn a_full_guard_forgets_the_least_recently_written_entity() {
        let guard = guard(60, 2);
        let t = datetime!(2025-11-02 10:00 UTC);
        guard.apply("a", t, "1");
        guard.apply("b", t, "1");
        guard.apply("a", t, "2");
        guard.apply("c", t, "1");
        assert_eq!(guard.len(), 2);
        assert!(guard.newest("b").is_none());
        assert!(guard.newest("a").is_some());
        assert!(guard.newest("c").is_some());
    }
}
