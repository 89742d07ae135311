//! Storage addressed both by a stable public id and by a slot index: values live in a
//! vector whose slots are reused, and a map from id to slot serves lookups by id. A
//! holder that keeps the slot (a handle keeps its descriptor's) reaches the value with
//! an index instead of a hash lookup.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hash, Hasher};

/// Hasher for small integer keys (descriptor ids, pids): the key itself, spread by a
/// multiplication. The maps are looked up on every message; SipHash would cost more
/// than the rest of a lookup, and the keys are not attacker-chosen hash-flooding input
/// (ids and pids are allocated by the executive).
#[derive(Default)]
pub(crate) struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0.wrapping_mul(0x9E37_79B9_7F4A_7C15)
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u16(&mut self, v: u16) {
        self.0 = u64::from(v);
    }

    fn write_u32(&mut self, v: u32) {
        self.0 = u64::from(v);
    }
}

/// A map keyed by a descriptor id or a pid.
pub(crate) type IdMap<K, V> = HashMap<K, V, BuildHasherDefault<IdHasher>>;

/// Values of type `T` under ids of type `K`, each also reachable by its slot.
#[derive(Debug)]
pub(crate) struct Slab<K, T> {
    slots: Vec<Option<(K, T)>>,
    free: Vec<u32>,
    by_id: IdMap<K, u32>,
}

impl<K, T> Default for Slab<K, T> {
    fn default() -> Self {
        Slab {
            slots: Vec::new(),
            free: Vec::new(),
            by_id: IdMap::default(),
        }
    }
}

impl<K: Copy + Eq + Hash, T> Slab<K, T> {
    /// Number of values.
    pub(crate) fn len(&self) -> usize {
        self.by_id.len()
    }

    /// True if `id` is present.
    pub(crate) fn contains_key(&self, id: K) -> bool {
        self.by_id.contains_key(&id)
    }

    /// The slot of `id`.
    pub(crate) fn slot_of(&self, id: K) -> Option<u32> {
        self.by_id.get(&id).copied()
    }

    /// The value of `id`.
    pub(crate) fn get(&self, id: K) -> Option<&T> {
        let slot = self.slot_of(id)?;
        self.slots[slot as usize].as_ref().map(|(_, v)| v)
    }

    /// The value of `id`, mutably.
    pub(crate) fn get_mut(&mut self, id: K) -> Option<&mut T> {
        let slot = self.slot_of(id)?;
        self.slots[slot as usize].as_mut().map(|(_, v)| v)
    }

    /// The value in `slot`, if it is `id`'s (a slot kept past a removal finds nothing).
    #[inline]
    pub(crate) fn at(&self, slot: u32, id: K) -> Option<&T> {
        match self.slots.get(slot as usize)? {
            Some((k, v)) if *k == id => Some(v),
            _ => None,
        }
    }

    /// [`Slab::at`], mutably.
    #[inline]
    pub(crate) fn at_mut(&mut self, slot: u32, id: K) -> Option<&mut T> {
        match self.slots.get_mut(slot as usize)? {
            Some((k, v)) if *k == id => Some(v),
            _ => None,
        }
    }

    /// Insert a value under a new `id`; returns its slot.
    pub(crate) fn insert(&mut self, id: K, value: T) -> u32 {
        debug_assert!(!self.by_id.contains_key(&id));
        let slot = match self.free.pop() {
            Some(slot) => {
                self.slots[slot as usize] = Some((id, value));
                slot
            }
            None => {
                self.slots.push(Some((id, value)));
                (self.slots.len() - 1) as u32
            }
        };
        self.by_id.insert(id, slot);
        slot
    }

    /// Remove `id`'s value; its slot is reused by a later insert.
    pub(crate) fn remove(&mut self, id: K) -> Option<T> {
        let slot = self.by_id.remove(&id)?;
        let (_, value) = self.slots[slot as usize].take()?;
        self.free.push(slot);
        Some(value)
    }

    /// Every id, in no particular order.
    pub(crate) fn keys(&self) -> impl Iterator<Item = K> + '_ {
        self.by_id.keys().copied()
    }

    /// Every id with its value, in no particular order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (K, &T)> {
        self.slots.iter().flatten().map(|(k, v)| (*k, v))
    }

    /// Every value, in no particular order.
    pub(crate) fn values(&self) -> impl Iterator<Item = &T> {
        self.slots.iter().flatten().map(|(_, v)| v)
    }

    /// Every value, mutably, in no particular order.
    pub(crate) fn values_mut(&mut self) -> impl Iterator<Item = &mut T> {
        self.slots.iter_mut().flatten().map(|(_, v)| v)
    }
}

#[cfg(test)]
mod tests {
    use super::Slab;

    #[test]
    fn slots_are_reused_and_stale_slots_find_nothing() {
        let mut s: Slab<u16, &str> = Slab::default();
        let a = s.insert(7, "a");
        let b = s.insert(9, "b");
        assert_eq!((s.len(), s.get(9), s.slot_of(7)), (2, Some(&"b"), Some(a)));
        assert_eq!(s.remove(7), Some("a"));
        assert_eq!(s.at_mut(a, 7), None);
        let c = s.insert(11, "c");
        assert_eq!(c, a, "the freed slot is reused");
        assert_eq!(
            s.at_mut(c, 7),
            None,
            "a stale slot does not reach the new value"
        );
        assert_eq!(s.at_mut(c, 11), Some(&mut "c"));
        assert_eq!(s.at_mut(b, 9), Some(&mut "b"));
        assert!(s.contains_key(9) && !s.contains_key(7));
        let mut keys: Vec<u16> = s.keys().collect();
        keys.sort_unstable();
        assert_eq!(keys, [9, 11]);
        assert_eq!(s.values().count(), 2);
    }
}
