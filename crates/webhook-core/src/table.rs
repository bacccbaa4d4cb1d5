//! [`SlabTable`]: the hash table behind the in-memory stores (the idempotency
//! `MemoryStore`, the `MemoryOrderingGuard`), for anyone writing another.

use std::fmt;
use std::hash::BuildHasher;

use foldhash::fast::RandomState;
use hashbrown::HashTable;

/// Where an entry of a [`SlabTable`] lives: valid until that entry is removed, then
/// given to a later entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SlotId(u32);

/// A hash table whose entries stay in one place (a slab) and are found through a
/// compact index of 4-byte slot numbers.
///
/// Built for a bounded store under load that evicts its oldest entry for each new
/// one. The index (5 bytes per bucket, with room for twice the capacity: 1.3 MB for
/// 100,000 entries) is a fourteenth of a table of the 70-byte entries themselves
/// (19 MB), so it is found in the CPU's caches far more often: finding a key reads
/// the index, and an entry only when its hash matches.
/// Removing an entry by its [`SlotId`] reads no key. A removed entry's slot is the
/// next one filled, so a store that evicts in the order it inserted walks the slab
/// in order.
///
/// Both the index and the slab are allocated for `capacity` entries up front: a
/// table that grows moves every entry while every caller waits.
///
/// ```
/// use webhook_core::table::SlabTable;
///
/// let mut table = SlabTable::with_capacity(2);
/// let hash = table.hash(b"stripe:evt_1");
/// let slot = table.insert(hash, ("stripe:evt_1".to_owned(), 200));
/// assert_eq!(table.find(hash, |(key, _)| key == "stripe:evt_1"), Some(slot));
/// assert_eq!(table.remove(slot), Some(("stripe:evt_1".to_owned(), 200)));
/// assert!(table.is_empty());
/// ```
pub struct SlabTable<E> {
    index: HashTable<SlotId>,
    slots: Vec<Slot<E>>,
    /// Empty slots, the last freed on top.
    free: Vec<SlotId>,
    hasher: RandomState,
}

struct Slot<E> {
    hash: u64,
    entry: Option<E>,
}

impl<E> SlabTable<E> {
    /// The most entries a table holds: slot numbers are 32 bits.
    pub const MAX_CAPACITY: usize = u32::MAX as usize;

    /// An empty table with room for `capacity` entries (at most
    /// [`MAX_CAPACITY`](Self::MAX_CAPACITY)) and an index of twice as many buckets,
    /// so that churn (tombstones) never makes it grow. When the allocator refuses
    /// that much, they grow on demand.
    pub fn with_capacity(capacity: usize) -> Self {
        let capacity = capacity.min(Self::MAX_CAPACITY);
        let mut table = Self {
            index: HashTable::new(),
            slots: Vec::new(),
            free: Vec::new(),
            hasher: RandomState::default(),
        };
        // Nothing to rehash in an empty index.
        let _ = table
            .index
            .try_reserve(capacity.saturating_mul(2), |_| unreachable!());
        let _ = table.slots.try_reserve_exact(capacity);
        table
    }

    /// The hash of `key`, with this table's random seed.
    pub fn hash(&self, key: &[u8]) -> u64 {
        self.hasher.hash_one(key)
    }

    /// How many entries the table holds.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// How many entries the slab holds before it allocates again.
    pub fn capacity(&self) -> usize {
        self.slots.capacity()
    }

    /// Whether the table holds no entry.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// The slot of an entry inserted with `hash` for which `is_match` holds.
    pub fn find(&self, hash: u64, mut is_match: impl FnMut(&E) -> bool) -> Option<SlotId> {
        let slots = &self.slots;
        self.index
            .find(hash, |&id| {
                slots[id.0 as usize]
                    .entry
                    .as_ref()
                    .is_some_and(&mut is_match)
            })
            .copied()
    }

    /// The entry in `slot`, if there is one.
    pub fn get(&self, slot: SlotId) -> Option<&E> {
        self.slots.get(slot.0 as usize)?.entry.as_ref()
    }

    /// The entry in `slot`, mutably, if there is one.
    pub fn get_mut(&mut self, slot: SlotId) -> Option<&mut E> {
        self.slots.get_mut(slot.0 as usize)?.entry.as_mut()
    }

    /// Inserts `entry`, found later by `hash`, in the slot freed last (else a new
    /// one). The caller makes sure no entry of the same key is there already.
    ///
    /// # Panics
    ///
    /// When the table already holds [`MAX_CAPACITY`](Self::MAX_CAPACITY) entries.
    pub fn insert(&mut self, hash: u64, entry: E) -> SlotId {
        let id = match self.free.pop() {
            Some(id) => {
                self.slots[id.0 as usize] = Slot {
                    hash,
                    entry: Some(entry),
                };
                id
            }
            None => {
                let id = u32::try_from(self.slots.len())
                    .expect("a table holds at most MAX_CAPACITY entries");
                self.slots.push(Slot {
                    hash,
                    entry: Some(entry),
                });
                SlotId(id)
            }
        };
        let slots = &self.slots;
        self.index
            .insert_unique(hash, id, |&id| slots[id.0 as usize].hash);
        id
    }

    /// Removes the entry in `slot` and frees the slot.
    pub fn remove(&mut self, slot: SlotId) -> Option<E> {
        let place = self.slots.get_mut(slot.0 as usize)?;
        let entry = place.entry.take()?;
        if let Ok(found) = self.index.find_entry(place.hash, |&id| id == slot) {
            found.remove();
        }
        self.free.push(slot);
        Some(entry)
    }
}

impl<E> Default for SlabTable<E> {
    fn default() -> Self {
        Self::with_capacity(0)
    }
}

impl<E> fmt::Debug for SlabTable<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SlabTable")
            .field("len", &self.len())
            .field("slots", &self.slots.len())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(table: &SlabTable<String>, key: &str) -> Option<SlotId> {
        table.find(table.hash(key.as_bytes()), |entry| entry == key)
    }

    #[test]
    fn finds_entries_by_key_and_frees_slots_for_reuse() {
        let mut table = SlabTable::with_capacity(4);
        let a = table.insert(table.hash(b"a"), "a".to_owned());
        let b = table.insert(table.hash(b"b"), "b".to_owned());
        assert_ne!(a, b);
        assert_eq!(key(&table, "a"), Some(a));
        assert_eq!(key(&table, "b"), Some(b));
        assert_eq!(key(&table, "c"), None);

        assert_eq!(table.remove(a).as_deref(), Some("a"));
        assert_eq!(table.remove(a), None, "a slot is removed once");
        assert_eq!(table.get(a), None);
        assert_eq!(key(&table, "a"), None);
        assert_eq!(table.len(), 1);

        let c = table.insert(table.hash(b"c"), "c".to_owned());
        assert_eq!(c, a, "the freed slot is filled next");
        assert_eq!(key(&table, "c"), Some(c));
        assert_eq!(key(&table, "b"), Some(b));
        table.get_mut(b).unwrap().push('!');
        assert_eq!(table.get(b).map(String::as_str), Some("b!"));
    }

    #[test]
    fn churn_at_capacity_keeps_every_key_findable_and_never_grows_the_slab() {
        let capacity = 1000;
        let mut table = SlabTable::with_capacity(capacity);
        let (slab, buckets) = (table.capacity(), table.index.capacity());
        assert!(slab >= capacity && buckets >= 2 * capacity);
        let mut order = std::collections::VecDeque::new();
        for n in 0..50 * capacity {
            if table.len() == capacity {
                let oldest = order.pop_front().unwrap();
                assert!(table.remove(oldest).is_some());
            }
            let name = n.to_string();
            order.push_back(table.insert(table.hash(name.as_bytes()), name));
        }
        assert_eq!(table.len(), capacity);
        assert_eq!(table.slots.len(), capacity);
        // The index's `capacity` counts the room left: tombstones lower it, growth
        // would double it.
        assert!(table.capacity() == slab && table.index.capacity() <= buckets);
        for n in 49 * capacity..50 * capacity {
            assert!(key(&table, &n.to_string()).is_some(), "{n} is kept");
        }
        assert_eq!(key(&table, &(49 * capacity - 1).to_string()), None);
    }
}
