use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use tokio::time::Instant;

use super::{Claim, Completion, Store, StoreError, StoreErrorKind, StoredResponse, Token};

/// The default [`MemoryStore`] capacity: 100,000 entries (about 30 MB with short
/// responses; see the [`MemoryStore`] docs).
pub const DEFAULT_CAPACITY: usize = 100_000;

/// How many expired entries one operation removes at most, to keep each call short.
const PURGE_BATCH: usize = 64;

/// An in-process store: the default, zero setup, and bounded.
///
/// Clones share the same entries, so one store can back several layers in one process
/// (two processes need a shared store such as Redis). Time comes from
/// [`tokio::time::Instant`], so tests can pause and advance it.
///
/// # Bounded memory
///
/// - **Expiry without a manual call**: every operation first removes up to 64 entries
///   whose lease or retention has ended (from two indexes ordered by deadline, one for
///   claims and one for records, oldest first in each), and an expired entry found on
///   lookup counts as absent. An idle store
///   keeps its expired entries until the next call; the capacity bounds them anyway.
/// - **Capacity** (default [`DEFAULT_CAPACITY`]): when a new key arrives and the store
///   is full, the processed entry closest to the end of its retention is evicted first
///   (a duplicate of that event would then be processed again: size the capacity for
///   your volume over the retention period). Finding it does not depend on how many
///   claims are in flight (`cargo bench -p webhook-idempotency --features redis --bench
///   store`: with 256 claims in flight a full store took 1.5-2.0 µs per delivery for
///   claim and complete, a store with room 1.4 µs; scanning past the claims took 11 µs). Claims in flight are never evicted: if
///   every entry is a claim, the new claim fails with [`StoreErrorKind::Full`] and the
///   layer answers by its store-error policy (503 by default).
///
/// **Measured footprint**: about 280 bytes of heap per processed entry for a 40-byte
/// key and a stored response of status, `content-type: application/json` and a
/// 16-byte body (kept encoded: a 52-byte record), and about 230 bytes per claim in
/// flight. `tests/memory_footprint.rs` measured it by counting the bytes the allocator
/// handed out for 100,000 entries, spare capacity of the hash table and of the expiry
/// index included, and asserts an upper bound; the allocator's own overhead (about 16
/// bytes for each of the ~2 allocations per entry with glibc) comes on top. Longer keys
/// and bodies add their length. The default capacity thus holds about 30 MB.
///
/// ```
/// use std::time::Duration;
/// use webhook_idempotency::store::{Claim, MemoryStore, Store, Token};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let store = MemoryStore::with_capacity(10_000);
/// let lease = Duration::from_secs(60);
/// store.claim("stripe:evt_1", Token::generate(), lease).await.unwrap();
/// assert_eq!(store.len(), 1);
///
/// // The worker crashed: its claim expires with the lease.
/// tokio::time::advance(lease).await;
/// assert!(matches!(store.claim("stripe:evt_1", Token::generate(), lease).await, Ok(Claim::Acquired)));
/// # }
/// ```
#[derive(Clone)]
pub struct MemoryStore {
    shared: Arc<Shared>,
}

struct Shared {
    capacity: usize,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    entries: HashMap<Arc<str>, Entry>,
    /// Every claim once, ordered by deadline; the `u64` breaks ties.
    claims: Expiries,
    /// Every record once, ordered by deadline: the first is the one a full store
    /// evicts, found without passing the claims (which expire sooner by default: a
    /// lease of a minute against a retention of days).
    records: Expiries,
    next_seq: u64,
}

type Expiries = BTreeMap<(Instant, u64), Arc<str>>;

struct Entry {
    deadline: Instant,
    seq: u64,
    value: Value,
}

enum Value {
    Claimed(Token),
    /// The record, encoded with [`StoredResponse::to_bytes`]: one allocation, exact size.
    Done(Bytes),
}

impl MemoryStore {
    /// A store holding at most [`DEFAULT_CAPACITY`] entries.
    pub fn new() -> Self {
        Self::with_capacity(DEFAULT_CAPACITY)
    }

    /// A store holding at most `capacity` entries (at least 1).
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            shared: Arc::new(Shared {
                capacity: capacity.max(1),
                state: Mutex::new(State::default()),
            }),
        }
    }

    /// The most entries the store holds.
    pub fn capacity(&self) -> usize {
        self.shared.capacity
    }

    /// How many entries the store holds now, counting expired ones not yet removed.
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    /// Whether the store holds no entry.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave an entry half-written: every
        // change below is a single insert or remove per map.
        self.shared
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn claim_now(&self, key: &str, token: Token, lease: Duration) -> Result<Claim, StoreError> {
        let now = Instant::now();
        let mut state = self.lock();
        state.purge(now);
        if let Some(entry) = state.entries.get(key) {
            if entry.deadline > now {
                return match &entry.value {
                    Value::Claimed(_) => Ok(Claim::InFlight {
                        remaining: entry.deadline - now,
                    }),
                    Value::Done(record) => StoredResponse::from_bytes(record).map(Claim::Done),
                };
            }
            state.remove(key);
        }
        state.make_room(self.shared.capacity)?;
        state.insert(key, deadline(now, lease), Value::Claimed(token));
        Ok(Claim::Acquired)
    }

    fn complete_now(
        &self,
        key: &str,
        token: Token,
        record: Bytes,
        retention: Duration,
    ) -> Result<Completion, StoreError> {
        let now = Instant::now();
        let mut state = self.lock();
        state.purge(now);
        let deadline = deadline(now, retention);
        if let Some(entry) = state.entries.get(key) {
            let live = entry.deadline > now;
            let ours = matches!(entry.value, Value::Claimed(held) if held == token);
            if live && !ours {
                return Ok(Completion::Fenced);
            }
            state.replace(key, deadline, Value::Done(record));
        } else {
            state.make_room(self.shared.capacity)?;
            state.insert(key, deadline, Value::Done(record));
        }
        Ok(Completion::Recorded)
    }

    fn release_now(&self, key: &str, token: Token) -> bool {
        let now = Instant::now();
        let mut state = self.lock();
        state.purge(now);
        let held = state.entries.get(key).is_some_and(|entry| {
            entry.deadline > now && matches!(entry.value, Value::Claimed(held) if held == token)
        });
        if held {
            state.remove(key);
        }
        held
    }
}

fn deadline(now: Instant, ttl: Duration) -> Instant {
    now.checked_add(ttl)
        .unwrap_or_else(|| now + Duration::from_secs(100 * 365 * 24 * 3600))
}

impl State {
    fn purge(&mut self, now: Instant) {
        let mut budget = PURGE_BATCH;
        for index in [&mut self.claims, &mut self.records] {
            while budget > 0 {
                let Some(entry) = index.first_entry() else {
                    break;
                };
                if entry.key().0 > now {
                    break;
                }
                self.entries.remove(&entry.remove());
                budget -= 1;
            }
        }
    }

    /// The expiry index that holds an entry with this value.
    fn index(&mut self, value: &Value) -> &mut Expiries {
        match value {
            Value::Claimed(_) => &mut self.claims,
            Value::Done(_) => &mut self.records,
        }
    }

    fn remove(&mut self, key: &str) {
        if let Some(entry) = self.entries.remove(key) {
            self.index(&entry.value)
                .remove(&(entry.deadline, entry.seq));
        }
    }

    /// Gives the entry at `key` a new deadline and value; an existing key stays (no
    /// allocation), only its place in the expiry order moves.
    fn replace(&mut self, key: &str, deadline: Instant, value: Value) {
        let Some((shared_key, entry)) = self.entries.remove_entry(key) else {
            return self.insert(key, deadline, value);
        };
        self.index(&entry.value)
            .remove(&(entry.deadline, entry.seq));
        self.insert_shared(shared_key, deadline, value);
    }

    fn insert(&mut self, key: &str, deadline: Instant, value: Value) {
        self.insert_shared(Arc::from(key), deadline, value);
    }

    fn insert_shared(&mut self, key: Arc<str>, deadline: Instant, value: Value) {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.index(&value).insert((deadline, seq), key.clone());
        self.entries.insert(
            key,
            Entry {
                deadline,
                seq,
                value,
            },
        );
    }

    /// Frees one slot if the store is full, by evicting the processed entry that
    /// expires first; claims are never evicted.
    fn make_room(&mut self, capacity: usize) -> Result<(), StoreError> {
        if self.entries.len() < capacity {
            return Ok(());
        }
        match self.records.values().next().cloned() {
            Some(key) => {
                tracing::debug!(capacity, "memory store full: evicting the oldest record");
                self.remove(&key);
                Ok(())
            }
            None => Err(StoreError::new(
                StoreErrorKind::Full,
                format!("all {capacity} entries are claims in flight"),
            )),
        }
    }
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryStore")
            .field("len", &self.len())
            .field("capacity", &self.shared.capacity)
            .finish()
    }
}

impl Store for MemoryStore {
    async fn claim(&self, key: &str, token: Token, lease: Duration) -> Result<Claim, StoreError> {
        self.claim_now(key, token, lease)
    }

    async fn complete(
        &self,
        key: &str,
        token: Token,
        response: &StoredResponse,
        retention: Duration,
    ) -> Result<Completion, StoreError> {
        let record = response.to_bytes();
        self.complete_now(key, token, record, retention)
    }

    async fn release(&self, key: &str, token: Token) -> Result<bool, StoreError> {
        Ok(self.release_now(key, token))
    }
}

#[cfg(test)]
mod tests {
    use http::StatusCode;

    use super::*;

    const LEASE: Duration = Duration::from_secs(60);
    const RETENTION: Duration = Duration::from_secs(72 * 3600);

    fn ok() -> StoredResponse {
        StoredResponse::new(StatusCode::OK).with_body(Bytes::from_static(b"done"))
    }

    #[tokio::test(start_paused = true)]
    async fn a_claim_is_exclusive_until_its_lease_ends() {
        let store = MemoryStore::new();
        let (a, b) = (Token::generate(), Token::generate());
        assert!(matches!(
            store.claim("k", a, LEASE).await.unwrap(),
            Claim::Acquired
        ));
        tokio::time::advance(Duration::from_secs(20)).await;
        match store.claim("k", b, LEASE).await.unwrap() {
            Claim::InFlight { remaining } => assert_eq!(remaining, Duration::from_secs(40)),
            other => panic!("{other:?}"),
        }
        // The holder asking again is in flight too: a claim is not re-entrant.
        assert!(matches!(
            store.claim("k", a, LEASE).await.unwrap(),
            Claim::InFlight { .. }
        ));
        tokio::time::advance(Duration::from_secs(40)).await;
        assert!(matches!(
            store.claim("k", b, LEASE).await.unwrap(),
            Claim::Acquired
        ));
        // The first worker's lease ended and the second holds the key: fenced.
        assert_eq!(
            store.complete("k", a, &ok(), RETENTION).await.unwrap(),
            Completion::Fenced
        );
        assert!(!store.release("k", a).await.unwrap());
        assert!(matches!(
            store.claim("k", a, LEASE).await.unwrap(),
            Claim::InFlight { .. }
        ));
    }

    #[tokio::test(start_paused = true)]
    async fn a_record_is_replayed_until_retention_ends_then_the_key_is_free() {
        let store = MemoryStore::new();
        let a = Token::generate();
        store.claim("k", a, LEASE).await.unwrap();
        assert_eq!(
            store.complete("k", a, &ok(), RETENTION).await.unwrap(),
            Completion::Recorded
        );
        // A late release by the holder does not delete the record.
        assert!(!store.release("k", a).await.unwrap());
        tokio::time::advance(RETENTION - Duration::from_secs(1)).await;
        match store.claim("k", Token::generate(), LEASE).await.unwrap() {
            Claim::Done(stored) => assert_eq!(stored, ok()),
            other => panic!("{other:?}"),
        }
        // A second completion never overwrites the record.
        let b = Token::generate();
        let other = StoredResponse::new(StatusCode::ACCEPTED);
        assert_eq!(
            store.complete("k", b, &other, RETENTION).await.unwrap(),
            Completion::Fenced
        );
        tokio::time::advance(Duration::from_secs(1)).await;
        assert!(matches!(
            store.claim("k", b, LEASE).await.unwrap(),
            Claim::Acquired
        ));
    }

    #[tokio::test(start_paused = true)]
    async fn release_frees_only_the_holders_claim() {
        let store = MemoryStore::new();
        let (a, b) = (Token::generate(), Token::generate());
        store.claim("k", a, LEASE).await.unwrap();
        assert!(!store.release("k", b).await.unwrap());
        assert!(store.release("k", a).await.unwrap());
        assert!(store.is_empty());
        assert!(matches!(
            store.claim("k", b, LEASE).await.unwrap(),
            Claim::Acquired
        ));
    }

    #[tokio::test(start_paused = true)]
    async fn completing_after_the_lease_ran_out_records_when_nobody_else_holds_the_key() {
        let store = MemoryStore::new();
        let a = Token::generate();
        store.claim("k", a, LEASE).await.unwrap();
        tokio::time::advance(LEASE * 2).await;
        assert_eq!(
            store.complete("k", a, &ok(), RETENTION).await.unwrap(),
            Completion::Recorded
        );
        assert!(matches!(
            store.claim("k", a, LEASE).await.unwrap(),
            Claim::Done(_)
        ));
    }

    #[tokio::test(start_paused = true)]
    async fn expired_entries_are_removed_by_later_calls_without_a_manual_sweep() {
        let store = MemoryStore::new();
        for i in 0..100 {
            let token = Token::generate();
            store
                .claim(&format!("old-{i}"), token, LEASE)
                .await
                .unwrap();
            store
                .complete(&format!("old-{i}"), token, &ok(), RETENTION)
                .await
                .unwrap();
        }
        assert_eq!(store.len(), 100);
        tokio::time::advance(RETENTION).await;
        // Each call removes up to 64 expired entries.
        store
            .claim("new-1", Token::generate(), LEASE)
            .await
            .unwrap();
        assert_eq!(store.len(), 100 - 64 + 1);
        store
            .claim("new-2", Token::generate(), LEASE)
            .await
            .unwrap();
        assert_eq!(store.len(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn expired_claims_and_records_are_both_purged() {
        let store = MemoryStore::new();
        // 40 claims abandoned at 0 s (they expire at 60 s), then 40 records made at
        // 10 s and kept 30 s (they expire at 40 s).
        for i in 0..40 {
            store
                .claim(&format!("claim-{i}"), Token::generate(), LEASE)
                .await
                .unwrap();
        }
        tokio::time::advance(Duration::from_secs(10)).await;
        for i in 0..40 {
            let token = Token::generate();
            let key = format!("record-{i}");
            store.claim(&key, token, LEASE).await.unwrap();
            store
                .complete(&key, token, &ok(), Duration::from_secs(30))
                .await
                .unwrap();
        }
        assert_eq!(store.len(), 80);
        // At 45 s only the records have expired.
        tokio::time::advance(Duration::from_secs(35)).await;
        store
            .claim("new-1", Token::generate(), LEASE)
            .await
            .unwrap();
        assert_eq!(store.len(), 40 + 1);
        assert!(matches!(
            store
                .claim("claim-0", Token::generate(), LEASE)
                .await
                .unwrap(),
            Claim::InFlight { .. }
        ));
        // At 61 s the abandoned claims have too; `new-1` holds until 105 s.
        tokio::time::advance(Duration::from_secs(16)).await;
        store
            .claim("new-2", Token::generate(), LEASE)
            .await
            .unwrap();
        assert_eq!(store.len(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn a_full_store_evicts_the_oldest_record_and_never_a_claim() {
        let store = MemoryStore::with_capacity(3);
        let claim = Token::generate();
        store.claim("in-flight", claim, LEASE).await.unwrap();
        for key in ["done-1", "done-2"] {
            let token = Token::generate();
            store.claim(key, token, LEASE).await.unwrap();
            store.complete(key, token, &ok(), RETENTION).await.unwrap();
            tokio::time::advance(Duration::from_secs(1)).await;
        }
        assert!(matches!(
            store.claim("new", Token::generate(), LEASE).await.unwrap(),
            Claim::Acquired
        ));
        assert_eq!(store.len(), 3);
        // done-1 was the record closest to its end: it went; done-2 and the claim stay.
        assert!(matches!(
            store
                .claim("done-2", Token::generate(), LEASE)
                .await
                .unwrap(),
            Claim::Done(_)
        ));
        assert!(matches!(
            store
                .claim("in-flight", Token::generate(), LEASE)
                .await
                .unwrap(),
            Claim::InFlight { .. }
        ));
        assert!(matches!(
            store
                .claim("done-1", Token::generate(), LEASE)
                .await
                .unwrap(),
            Claim::Acquired
        ));

        let full = MemoryStore::with_capacity(2);
        full.claim("a", Token::generate(), LEASE).await.unwrap();
        full.claim("b", Token::generate(), LEASE).await.unwrap();
        let error = full.claim("c", Token::generate(), LEASE).await.unwrap_err();
        assert_eq!(error.kind(), StoreErrorKind::Full);
    }
}
