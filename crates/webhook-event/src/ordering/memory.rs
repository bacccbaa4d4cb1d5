use std::collections::VecDeque;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use time::OffsetDateTime;
use tokio::time::Instant;
use webhook_core::table::{SlabTable, SlotId};

use super::{
    DEFAULT_RETENTION, GuardConfigError, GuardDecision, GuardFuture, Newest, OrderingGuard,
    is_older,
};

/// The default largest number of entities a [`MemoryOrderingGuard`] remembers.
const DEFAULT_CAPACITY: usize = 100_000;

/// How many stale write slots may pile up beyond the entities before they are
/// dropped in one pass.
const COMPACT_SLACK: usize = 1024;

/// An [`OrderingGuard`] in this process's memory: for one replica, tests and local
/// tools.
///
/// Bounded: it holds at most `max_entries` entities. Each call first drops the
/// entries whose TTL has passed (no background task, no manual call); when it is
/// still full, it forgets the entity written least recently, which then accepts any
/// event as newest again. Cheap to clone; clones share the state.
///
/// Its table, a [`SlabTable`], is allocated when the guard is built: a slab of
/// `max_entries` entities, found through a compact index with room for twice as many,
/// small enough to be found in the CPU's caches most of the time. A table that grows moves every entity while every event
/// waits on the lock, and a full guard's evictions leave tombstones that would make
/// an index with less room grow once more. An entity costs one allocation for its name and one for its
/// newest event id; every entity shares the one TTL, so the order of writes is the
/// order of expiry, and a queue of writes (not a sorted index) finds the next to
/// expire or to evict.
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

struct State {
    /// The entities, found by their name's hash; a write slot refers to one by its
    /// [`SlotId`] and `seq`.
    entries: SlabTable<Entry>,
    /// Every write in order, oldest first: with one TTL, also the order of expiry.
    /// A slot whose entity was written again since, or forgotten, is stale and
    /// skipped when it comes up.
    writes: VecDeque<Slot>,
    next_seq: u64,
}

/// A write's place in [`State::writes`].
struct Slot {
    expiry: Instant,
    seq: u64,
    id: SlotId,
}

struct Entry {
    entity: Box<str>,
    newest: Newest,
    /// The entity's last write: what a live slot refers to (its expiry is there).
    seq: u64,
}

impl State {
    fn find(&self, hash: u64, entity: &str) -> Option<SlotId> {
        self.entries.find(hash, |entry| &*entry.entity == entity)
    }

    /// Whether `slot` refers to its entity's last write.
    fn is_live(entries: &SlabTable<Entry>, slot: &Slot) -> bool {
        entries
            .get(slot.id)
            .is_some_and(|entry| entry.seq == slot.seq)
    }

    fn purge_expired(&mut self, now: Instant) {
        while let Some(slot) = self.writes.front() {
            if slot.expiry > now {
                break;
            }
            self.pop_write();
        }
    }

    /// Removes the oldest write slot and its entity, if the slot is not stale.
    /// Returns the entity that went.
    fn pop_write(&mut self) -> Option<Entry> {
        let slot = self.writes.pop_front()?;
        if !Self::is_live(&self.entries, &slot) {
            return None;
        }
        self.entries.remove(slot.id)
    }

    fn evict_oldest(&mut self) {
        while !self.writes.is_empty() {
            if let Some(entry) = self.pop_write() {
                tracing::debug!(
                    entity = &*entry.entity,
                    "ordering guard full: forgetting the least recently written entity"
                );
                return;
            }
        }
    }

    /// Queues the write `seq` of the entity in `id`.
    fn push_write(&mut self, expiry: Instant, seq: u64, id: SlotId) {
        self.writes.push_back(Slot { expiry, seq, id });
        // Drops the stale slots once they outnumber the entities (plus some slack):
        // amortized, a constant cost per write.
        if self.writes.len() > 2 * self.entries.len() + COMPACT_SLACK {
            let entries = &self.entries;
            self.writes.retain(|slot| Self::is_live(entries, slot));
        }
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
        let hash = state.entries.hash(entity.as_bytes());
        let id = state.find(hash, entity)?;
        state.entries.get(id).map(|entry| entry.newest.clone())
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
        // A TTL too long for the clock: remembered for a century.
        let expiry = now
            .checked_add(self.inner.ttl)
            .unwrap_or_else(|| now + Duration::from_secs(100 * 365 * 24 * 3600));
        let mut state = self.lock();
        state.purge_expired(now);
        let hash = state.entries.hash(entity.as_bytes());
        let seq = state.next_seq;
        let id = match state.find(hash, entity) {
            Some(id) => {
                let entry = state.entries.get_mut(id).expect("found just now");
                if is_older(created, event_id, &entry.newest) {
                    return GuardDecision::Stale;
                }
                entry.newest.created = created;
                // The old id's buffer, reused.
                entry.newest.event_id.clear();
                entry.newest.event_id.push_str(event_id);
                entry.seq = seq;
                id
            }
            None => {
                if state.entries.len() >= self.inner.capacity {
                    state.evict_oldest();
                }
                let entry = Entry {
                    entity: entity.into(),
                    newest: Newest {
                        created,
                        event_id: event_id.to_owned(),
                    },
                    seq,
                };
                state.entries.insert(hash, entry)
            }
        };
        state.next_seq += 1;
        state.push_write(expiry, seq, id);
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
        let capacity = self.capacity.min(SlabTable::<Entry>::MAX_CAPACITY);
        // When the allocator refuses that much, the tables grow on demand.
        let mut writes = VecDeque::new();
        let _ = writes.try_reserve(capacity);
        let state = State {
            entries: SlabTable::with_capacity(capacity),
            writes,
            next_seq: 0,
        };
        Ok(MemoryOrderingGuard {
            inner: Arc::new(Inner {
                ttl: self.ttl,
                capacity,
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
        // event: it is allocated for the bound when the guard is built.
        let guard = guard(3600, 1000);
        let table = guard.lock().entries.capacity();
        assert!(table >= 1000, "{table}");
        let t = datetime!(2025-11-02 10:00 UTC);
        // Full after 1,000 payouts; then every new one forgets the oldest.
        for i in 0..20_000 {
            guard.apply(&format!("payout:pout_{i}"), t, "evt_1");
        }
        assert_eq!(guard.len(), 1000);
        assert_eq!(guard.lock().entries.capacity(), table);
        assert!(guard.newest("payout:pout_19999").is_some());
        assert!(guard.newest("payout:pout_0").is_none());
    }

    #[test]
    fn rewriting_one_entity_does_not_pile_up_write_slots() {
        // Each write of a known entity leaves its previous slot stale; they are
        // dropped once they outnumber the entities, so the queue stays bounded.
        let guard = guard(3600, 10);
        let t = datetime!(2025-11-02 10:00 UTC);
        for i in 0..20_000 {
            let id = format!("evt_{i:05}");
            assert_eq!(guard.apply("payout:1", t, &id), GuardDecision::Applied);
        }
        assert!(guard.lock().writes.len() <= 2 + COMPACT_SLACK + 1);
        assert_eq!(guard.newest("payout:1").unwrap().event_id, "evt_19999");
        assert_eq!(guard.len(), 1);
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
