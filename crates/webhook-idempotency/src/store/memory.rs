use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use tokio::time::Instant;
use webhook_core::table::{SlabTable, SlotId};

use super::{Claim, Completion, Store, StoreError, StoreErrorKind, StoredResponse, Token};

/// The default [`MemoryStore`] capacity: 100,000 entries (about 23 MB with short
/// responses; see the [`MemoryStore`] docs).
pub const DEFAULT_CAPACITY: usize = 100_000;

/// How many expired entries one operation removes at most, to keep each call short.
const PURGE_BATCH: usize = 64;

/// How many stale record slots may pile up beyond the live records before they are
/// dropped in one pass.
const COMPACT_SLACK: usize = 1024;

/// An in-process store: the default, zero setup, and bounded.
///
/// Clones share the same entries, so one store can back several layers in one process
/// (two processes need a shared store such as Redis). Time comes from
/// [`tokio::time::Instant`], so tests can pause and advance it.
///
/// # Bounded memory
///
/// - **Expiry without a manual call**: every operation first removes up to 64 entries
///   whose lease or retention has ended, oldest first (claims are kept in deadline
///   order; records in the order they were written, which is their expiry order when
///   they share one retention period), and an expired entry found on lookup counts as
///   absent. An idle store keeps its expired entries until the next call; the
///   capacity bounds them anyway. With several retention periods in one store, a
///   record is removed after every record written before it: until then it only
///   counts as absent.
/// - **Capacity** (default [`DEFAULT_CAPACITY`]): when a new key arrives and the store
///   is full, the oldest record (the first written) is evicted first: with one
///   retention period, the one closest to its end (a duplicate of that event would
///   then be processed again: size the capacity for your volume over the retention
///   period). Finding it does not depend on how many claims are in flight. Claims in
///   flight are never evicted: if every entry is a claim, the new claim fails with
///   [`StoreErrorKind::Full`] and the layer answers by its store-error policy (503 by
///   default).
///
/// `cargo bench -p webhook-idempotency --features redis --bench store` times claim and
/// complete per delivery, in a store with room and in a full one with 256 claims in
/// flight (figures in BENCHMARKS.md, "Other figures").
///
/// **Footprint**: one allocation per entry (the key, then the encoded record), in a
/// [`SlabTable`] (the entries in a slab sized to the capacity, found through an index
/// of 5 bytes per bucket with room for twice the capacity, small enough to be found
/// in the CPU's caches most of the time) and an expiry index sized to the capacity, all allocated when the store is
/// built: a table that grows moves every entry while every delivery waits on the
/// lock, and a full store's evictions leave tombstones that would make an index with
/// less room grow once more.
/// `tests/memory_footprint.rs` counts the bytes the allocator hands out for a store of
/// 100,000 entries, from its construction, and asserts an upper bound per entry; the
/// figures are in BENCHMARKS.md ("Other figures"). Longer keys and bodies add their
/// length.
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

struct State {
    /// The entries, found by their key's hash; an index refers to one by its
    /// [`SlotId`] and `seq`, so removing an old entry reads no key.
    entries: SlabTable<Entry>,
    /// Every claim once, ordered by deadline; the `u64` (its `seq`) breaks ties. Few
    /// at a time (the deliveries in flight), so the tree stays small and warm.
    claims: BTreeMap<(Instant, u64), SlotId>,
    /// Records in the order they were written, oldest first: with one retention
    /// period, also the order they expire in. A slot whose entry has since been
    /// removed or claimed again is stale and skipped when it comes up.
    records: VecDeque<Slot>,
    next_seq: u64,
}

/// A record's place in [`State::records`].
struct Slot {
    deadline: Instant,
    seq: u64,
    id: SlotId,
}

struct Entry {
    /// The key, then for a record the response encoded as by
    /// [`StoredResponse::to_bytes`]: one allocation per entry, exact size.
    data: Box<[u8]>,
    key_len: usize,
    deadline: Instant,
    /// Unique to this entry (and to this value of it): what an index refers to.
    seq: u64,
    value: Value,
}

impl Entry {
    fn key(&self) -> &[u8] {
        &self.data[..self.key_len]
    }
}

enum Value {
    Claimed(Token),
    /// The record follows the key in [`Entry::data`].
    Done,
}

impl MemoryStore {
    /// A store holding at most [`DEFAULT_CAPACITY`] entries.
    pub fn new() -> Self {
        Self::with_capacity(DEFAULT_CAPACITY)
    }

    /// A store holding at most `capacity` entries (at least 1, at most
    /// [`SlabTable::MAX_CAPACITY`]).
    pub fn with_capacity(capacity: usize) -> Self {
        let capacity = capacity.clamp(1, SlabTable::<Entry>::MAX_CAPACITY);
        Self {
            shared: Arc::new(Shared {
                capacity,
                state: Mutex::new(State::sized_for(capacity)),
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
        let hash = state.entries.hash(key.as_bytes());
        if let Some((id, entry)) = state.find(hash, key) {
            if entry.deadline > now {
                return match &entry.value {
                    Value::Claimed(_) => Ok(Claim::InFlight {
                        remaining: entry.deadline - now,
                    }),
                    Value::Done => {
                        let record = Bytes::copy_from_slice(&entry.data[entry.key_len..]);
                        StoredResponse::from_bytes(&record).map(Claim::Done)
                    }
                };
            }
            let seq = entry.seq;
            state.remove(id, seq);
        }
        state.make_room(self.shared.capacity)?;
        let data = key.as_bytes().into();
        state.insert(
            hash,
            data,
            key.len(),
            deadline(now, lease),
            Value::Claimed(token),
        );
        Ok(Claim::Acquired)
    }

    /// Moves the claim's deadline to `lease` from now, in place, if `token` holds it.
    fn extend_now(&self, key: &str, token: Token, lease: Duration) -> bool {
        let now = Instant::now();
        let mut state = self.lock();
        state.purge(now);
        let Some((id, _)) = state.find(state.entries.hash(key.as_bytes()), key) else {
            return false;
        };
        let State {
            entries, claims, ..
        } = &mut *state;
        let Some(entry) = entries.get_mut(id) else {
            return false;
        };
        let held =
            entry.deadline > now && matches!(entry.value, Value::Claimed(held) if held == token);
        if held {
            claims.remove(&(entry.deadline, entry.seq));
            entry.deadline = deadline(now, lease);
            claims.insert((entry.deadline, entry.seq), id);
        }
        held
    }

    /// Records `data`: the key, then the encoded response.
    fn complete_now(
        &self,
        key: &str,
        token: Token,
        data: Box<[u8]>,
        retention: Duration,
    ) -> Result<Completion, StoreError> {
        let now = Instant::now();
        let mut state = self.lock();
        state.purge(now);
        let deadline = deadline(now, retention);
        let hash = state.entries.hash(key.as_bytes());
        let Some((id, _)) = state.find(hash, key) else {
            state.make_room(self.shared.capacity)?;
            state.insert(hash, data, key.len(), deadline, Value::Done);
            return Ok(Completion::Recorded);
        };
        let seq = state.next_seq;
        state.next_seq += 1;
        let State {
            entries,
            claims,
            records,
            ..
        } = &mut *state;
        let entry = entries.get_mut(id).expect("found just now");
        let live = entry.deadline > now;
        let ours = matches!(entry.value, Value::Claimed(held) if held == token);
        if live && !ours {
            return Ok(Completion::Fenced);
        }
        // In place: the entry keeps its slot; an expired record's place in the queue
        // goes stale.
        if let Value::Claimed(_) = entry.value {
            claims.remove(&(entry.deadline, entry.seq));
        }
        entry.data = data;
        entry.deadline = deadline;
        entry.seq = seq;
        entry.value = Value::Done;
        records.push_back(Slot { deadline, seq, id });
        state.compact_records();
        Ok(Completion::Recorded)
    }

    fn release_now(&self, key: &str, token: Token) -> bool {
        let now = Instant::now();
        let mut state = self.lock();
        state.purge(now);
        let held = state
            .find(state.entries.hash(key.as_bytes()), key)
            .and_then(|(id, entry)| {
                let held = entry.deadline > now
                    && matches!(entry.value, Value::Claimed(held) if held == token);
                held.then_some((id, entry.seq))
            });
        if let Some((id, seq)) = held {
            state.remove(id, seq);
        }
        held.is_some()
    }
}

fn deadline(now: Instant, ttl: Duration) -> Instant {
    now.checked_add(ttl)
        .unwrap_or_else(|| now + Duration::from_secs(100 * 365 * 24 * 3600))
}

impl State {
    /// Empty, its tables allocated for `capacity` entries (see "Footprint" on
    /// [`MemoryStore`]); when the allocator refuses that much, they grow on demand.
    fn sized_for(capacity: usize) -> Self {
        let mut records = VecDeque::new();
        let _ = records.try_reserve(capacity);
        Self {
            entries: SlabTable::with_capacity(capacity),
            claims: BTreeMap::new(),
            records,
            next_seq: 0,
        }
    }

    fn find(&self, hash: u64, key: &str) -> Option<(SlotId, &Entry)> {
        let id = self
            .entries
            .find(hash, |entry| entry.key() == key.as_bytes())?;
        Some((id, self.entries.get(id)?))
    }

    fn purge(&mut self, now: Instant) {
        let mut budget = PURGE_BATCH;
        while budget > 0 {
            let Some(claim) = self.claims.first_entry() else {
                break;
            };
            if claim.key().0 > now {
                break;
            }
            let seq = claim.key().1;
            let id = claim.remove();
            self.take(id, seq);
            budget -= 1;
        }
        while budget > 0 {
            let Some(slot) = self.records.front() else {
                break;
            };
            if slot.deadline > now {
                break;
            }
            self.pop_record();
            budget -= 1;
        }
    }

    /// Removes the oldest record slot and its entry, if the slot is not stale.
    /// Returns whether an entry went.
    fn pop_record(&mut self) -> bool {
        let Some(slot) = self.records.pop_front() else {
            return false;
        };
        self.take(slot.id, slot.seq).is_some()
    }

    /// Whether `id` holds the entry `seq`: an index entry that does not is stale.
    fn holds(entries: &SlabTable<Entry>, id: SlotId, seq: u64) -> bool {
        entries.get(id).is_some_and(|entry| entry.seq == seq)
    }

    /// Takes the entry `seq` out of the table, leaving the indexes as they are.
    fn take(&mut self, id: SlotId, seq: u64) -> Option<Entry> {
        if !Self::holds(&self.entries, id, seq) {
            return None;
        }
        self.entries.remove(id)
    }

    /// Removes the entry `seq` (in `id`), and its claim if it is one; a record's slot
    /// goes stale.
    fn remove(&mut self, id: SlotId, seq: u64) {
        if let Some(entry) = self.take(id, seq) {
            if let Value::Claimed(_) = entry.value {
                self.claims.remove(&(entry.deadline, entry.seq));
            }
        }
    }

    /// Inserts the entry of `data` (its key is the first `key_len` bytes, hashing to
    /// `hash`, and not in the table) with a new `seq`, and indexes it.
    fn insert(
        &mut self,
        hash: u64,
        data: Box<[u8]>,
        key_len: usize,
        deadline: Instant,
        value: Value,
    ) {
        let seq = self.next_seq;
        self.next_seq += 1;
        let claimed = matches!(value, Value::Claimed(_));
        let entry = Entry {
            data,
            key_len,
            deadline,
            seq,
            value,
        };
        let id = self.entries.insert(hash, entry);
        if claimed {
            self.claims.insert((deadline, seq), id);
        } else {
            self.records.push_back(Slot { deadline, seq, id });
        }
        self.compact_records();
    }

    /// Drops the stale record slots once they outnumber the live records (plus some
    /// slack), so that they cannot pile up behind a record that outlives them:
    /// amortized, a constant cost per write.
    fn compact_records(&mut self) {
        let live = self.entries.len() - self.claims.len();
        if self.records.len() <= 2 * live + COMPACT_SLACK {
            return;
        }
        let entries = &self.entries;
        self.records
            .retain(|slot| Self::holds(entries, slot.id, slot.seq));
    }

    /// Frees one slot if the store is full, by evicting the oldest record; claims
    /// are never evicted.
    fn make_room(&mut self, capacity: usize) -> Result<(), StoreError> {
        if self.entries.len() < capacity {
            return Ok(());
        }
        while !self.records.is_empty() {
            if self.pop_record() {
                tracing::debug!(capacity, "memory store full: evicting the oldest record");
                return Ok(());
            }
        }
        Err(StoreError::new(
            StoreErrorKind::Full,
            format!("all {capacity} entries are claims in flight"),
        ))
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

    async fn extend(&self, key: &str, token: Token, lease: Duration) -> Result<bool, StoreError> {
        Ok(self.extend_now(key, token, lease))
    }

    async fn complete(
        &self,
        key: &str,
        token: Token,
        response: &StoredResponse,
        retention: Duration,
    ) -> Result<Completion, StoreError> {
        let mut data = Vec::with_capacity(key.len() + response.encoded_len());
        data.extend_from_slice(key.as_bytes());
        response.encode_into(&mut data);
        self.complete_now(key, token, data.into_boxed_slice(), retention)
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

    /// Claims `key` for a new worker.
    async fn claim(store: &MemoryStore, key: &str) -> Claim {
        store.claim(key, Token::generate(), LEASE).await.unwrap()
    }

    /// Processes `key` once: claim, then record with `retention`.
    async fn process(store: &MemoryStore, key: &str, retention: Duration) {
        let token = Token::generate();
        store.claim(key, token, LEASE).await.unwrap();
        assert_eq!(
            store.complete(key, token, &ok(), retention).await.unwrap(),
            Completion::Recorded
        );
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
        match claim(&store, "k").await {
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
    async fn extend_moves_only_the_holders_live_claim() {
        let store = MemoryStore::new();
        let (a, b) = (Token::generate(), Token::generate());
        store.claim("k", a, LEASE).await.unwrap();
        tokio::time::advance(Duration::from_secs(40)).await;
        assert!(!store.extend("k", b, LEASE).await.unwrap());
        assert!(store.extend("k", a, LEASE).await.unwrap());
        // 40 s past the first lease's end, the claim holds with 20 s left.
        tokio::time::advance(Duration::from_secs(40)).await;
        match store.claim("k", b, LEASE).await.unwrap() {
            Claim::InFlight { remaining } => assert_eq!(remaining, Duration::from_secs(20)),
            other => panic!("{other:?}"),
        }
        // The expiry index moved with it: purged at the new deadline, not the old one.
        tokio::time::advance(Duration::from_secs(20)).await;
        assert!(!store.extend("k", a, LEASE).await.unwrap());
        assert!(matches!(claim(&store, "k").await, Claim::Acquired));
        assert_eq!(store.len(), 1);

        assert!(!store.extend("absent", a, LEASE).await.unwrap());
        process(&store, "done", RETENTION).await;
        assert!(!store.extend("done", a, LEASE).await.unwrap());
        assert!(matches!(claim(&store, "done").await, Claim::Done(_)));
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
            process(&store, &format!("old-{i}"), RETENTION).await;
        }
        assert_eq!(store.len(), 100);
        tokio::time::advance(RETENTION).await;
        // Each call removes up to 64 expired entries.
        claim(&store, "new-1").await;
        assert_eq!(store.len(), 100 - 64 + 1);
        claim(&store, "new-2").await;
        assert_eq!(store.len(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn expired_claims_and_records_are_both_purged() {
        let store = MemoryStore::new();
        // 40 claims abandoned at 0 s (they expire at 60 s), then 40 records made at
        // 10 s and kept 30 s (they expire at 40 s).
        for i in 0..40 {
            claim(&store, &format!("claim-{i}")).await;
        }
        tokio::time::advance(Duration::from_secs(10)).await;
        for i in 0..40 {
            process(&store, &format!("record-{i}"), Duration::from_secs(30)).await;
        }
        assert_eq!(store.len(), 80);
        // At 45 s only the records have expired.
        tokio::time::advance(Duration::from_secs(35)).await;
        claim(&store, "new-1").await;
        assert_eq!(store.len(), 40 + 1);
        assert!(matches!(
            claim(&store, "claim-0").await,
            Claim::InFlight { .. }
        ));
        // At 61 s the abandoned claims have too; `new-1` holds until 105 s.
        tokio::time::advance(Duration::from_secs(16)).await;
        claim(&store, "new-2").await;
        assert_eq!(store.len(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn a_record_behind_a_longer_kept_one_counts_as_absent_until_removed() {
        let store = MemoryStore::new();
        process(&store, "long", RETENTION).await;
        process(&store, "short", Duration::from_secs(1)).await;
        tokio::time::advance(Duration::from_secs(2)).await;
        // `short` expired but sits behind `long`: still held, yet free to claim.
        assert!(matches!(claim(&store, "short").await, Claim::Acquired));
        match claim(&store, "long").await {
            Claim::Done(stored) => assert_eq!(stored, ok()),
            other => panic!("{other:?}"),
        }
        tokio::time::advance(RETENTION).await;
        claim(&store, "new").await;
        // `long` and the claim on `short` expired and went; the new claim stays.
        assert_eq!(store.len(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn stale_record_slots_do_not_pile_up_behind_a_long_kept_record() {
        let store = MemoryStore::new();
        process(&store, "long", RETENTION).await;
        // One key processed again and again with a short retention: each round leaves
        // the previous record's slot stale, behind `long`.
        for _ in 0..10_000 {
            process(&store, "churn", Duration::from_secs(1)).await;
            tokio::time::advance(Duration::from_secs(2)).await;
        }
        assert_eq!(store.len(), 2);
        let slots = store.lock().records.len();
        assert!(slots <= 2 * 2 + COMPACT_SLACK + 1, "{slots} record slots");
    }

    #[tokio::test(start_paused = true)]
    async fn a_full_store_skips_stale_slots_to_find_a_record_to_evict() {
        let store = MemoryStore::with_capacity(3);
        process(&store, "long", RETENTION).await;
        process(&store, "a", Duration::from_secs(1)).await;
        tokio::time::advance(Duration::from_secs(2)).await;
        // `a` expired behind `long`: processed again, its first record slot is stale.
        process(&store, "a", RETENTION).await;
        process(&store, "b", RETENTION).await;
        // Full: `long` goes, then (past the stale slot) `a`.
        process(&store, "c", RETENTION).await;
        process(&store, "d", RETENTION).await;
        assert_eq!(store.len(), 3);
        for key in ["b", "c", "d"] {
            let claim = store.claim(key, Token::generate(), LEASE).await;
            assert!(matches!(claim, Ok(Claim::Done(_))), "{key}");
        }
        // (Claiming an absent key evicts again: check those last.)
        let claim = store.claim("a", Token::generate(), LEASE).await;
        assert!(matches!(claim, Ok(Claim::Acquired)));
    }

    #[tokio::test(start_paused = true)]
    async fn a_store_filling_up_and_churning_never_grows_its_tables() {
        // A table that grows rehashes every entry under the lock, stalling every
        // delivery: the tables are allocated for the capacity when the store is built.
        let store = MemoryStore::with_capacity(1000);
        let sizes = |store: &MemoryStore| {
            let state = store.lock();
            (state.entries.capacity(), state.records.capacity())
        };
        let (table, records) = sizes(&store);
        assert!(table >= 1000 && records >= 1000, "{table} {records}");
        // Full after 1,000 deliveries; then every delivery evicts the oldest record.
        for i in 0..20_000 {
            process(&store, &format!("hopnow:evt_{i}"), RETENTION).await;
        }
        assert_eq!(store.len(), 1000);
        let (table_now, records_now) = sizes(&store);
        assert!(
            table_now == table && records_now == records,
            "{table_now} {records_now}"
        );
        assert!(matches!(
            claim(&store, "hopnow:evt_19999").await,
            Claim::Done(_)
        ));
    }

    #[tokio::test(start_paused = true)]
    async fn a_full_store_evicts_the_oldest_record_and_never_a_claim() {
        let store = MemoryStore::with_capacity(3);
        let holder = Token::generate();
        store.claim("in-flight", holder, LEASE).await.unwrap();
        for key in ["done-1", "done-2"] {
            process(&store, key, RETENTION).await;
            tokio::time::advance(Duration::from_secs(1)).await;
        }
        assert!(matches!(claim(&store, "new").await, Claim::Acquired));
        assert_eq!(store.len(), 3);
        // done-1 was the oldest record: it went; done-2 and the claim stay.
        assert!(matches!(claim(&store, "done-2").await, Claim::Done(_)));
        assert!(matches!(
            claim(&store, "in-flight").await,
            Claim::InFlight { .. }
        ));
        assert!(matches!(claim(&store, "done-1").await, Claim::Acquired));

        let full = MemoryStore::with_capacity(2);
        claim(&full, "a").await;
        claim(&full, "b").await;
        let error = full.claim("c", Token::generate(), LEASE).await.unwrap_err();
        assert_eq!(error.kind(), StoreErrorKind::Full);
    }
}
