//! VM RAM and its arena allocator (`executive.md` §1).
//!
//! One contiguous, zero-initialised array of 32-bit words that starts on a host cache
//! line (so register banks are naturally aligned, one line each; guest windows are
//! viewed as bytes). Arenas are carved at spawn and returned at reap. Free space is kept
//! in two ordered maps, by offset (for coalescing with neighbours) and by size (for best
//! fit), so allocation and release are O(log n) and adjacent free blocks always merge,
//! which keeps spawn/exit churn from fragmenting RAM.

use std::collections::{BTreeMap, BTreeSet};

/// Allocation granule and alignment: every arena starts on a 64-byte boundary.
pub const GRANULE: u32 = 64;
/// Bytes at physical address 0 that are never allocated, so no arena has offset 0.
pub const NULL_PAGE: u32 = 4096;

/// Why an allocation failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("VM RAM exhausted: need {need} bytes, largest free block {largest}")]
pub struct Exhausted {
    /// Bytes requested (rounded to the granule).
    pub need: u32,
    /// Largest free block at the time.
    pub largest: u32,
}

/// A carved-out region of VM RAM.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Arena {
    /// Physical byte offset.
    pub offset: u32,
    /// Size in bytes (a multiple of [`GRANULE`]).
    pub size: u32,
}

/// The executive's VM RAM.
#[derive(Debug)]
pub struct VmRam {
    /// The words, with up to a granule of slack in front: VM RAM is `storage[start..]`,
    /// which starts on a 64-byte host boundary, so that every arena (a register bank
    /// above all) starts a host cache line. A plain allocation of this size is only
    /// 16-byte aligned, which put every bank across two cache lines.
    storage: Vec<u32>,
    start: usize,
    free_by_offset: BTreeMap<u32, u32>,
    free_by_size: BTreeSet<(u32, u32)>,
    used: u64,
    /// `dirty_end..clean_end` has never been allocated, so it is still the zeroed memory
    /// the array started with; only reused memory needs clearing. With a lazily zeroed
    /// allocation this also means untouched RAM costs no host memory. Arenas carved
    /// from the bottom ([`VmRam::alloc`]) move `dirty_end` up, arenas carved from the
    /// top ([`VmRam::alloc_high`]) move `clean_end` down.
    dirty_end: u32,
    clean_end: u32,
}

impl VmRam {
    /// A VM RAM of `bytes` bytes (rounded down to the granule; at least the null page
    /// plus one granule).
    pub fn new(bytes: u32) -> VmRam {
        let size = (bytes / GRANULE * GRANULE).max(NULL_PAGE + GRANULE);
        let len = (size / 4) as usize;
        let mut storage = vec![0u32; len + (GRANULE / 4) as usize];
        let misalign = storage.as_ptr() as usize % GRANULE as usize;
        let start = (GRANULE as usize - misalign) % GRANULE as usize / 4;
        // VM RAM is the storage from `start` on: one bound to check per access.
        storage.truncate(start + len);
        let mut ram = VmRam {
            storage,
            start,
            free_by_offset: BTreeMap::new(),
            free_by_size: BTreeSet::new(),
            used: 0,
            dirty_end: NULL_PAGE,
            clean_end: size,
        };
        ram.insert_free(NULL_PAGE, size - NULL_PAGE);
        ram
    }

    /// Total size in bytes.
    pub fn size(&self) -> u32 {
        ((self.storage.len() - self.start) * 4) as u32
    }

    /// Bytes currently allocated to arenas.
    pub fn used(&self) -> u64 {
        self.used
    }

    /// Largest free block in bytes.
    pub fn largest_free(&self) -> u32 {
        self.free_by_size.last().map_or(0, |&(size, _)| size)
    }

    /// The words, for the interpreter.
    pub fn words_mut(&mut self) -> &mut [u32] {
        &mut self.storage[self.start..]
    }

    /// The words, for tools.
    pub fn words(&self) -> &[u32] {
        &self.storage[self.start..]
    }

    /// Bytes of an arena-relative range, for tools (peek) and syscalls.
    pub fn bytes(&self, offset: u32, len: u32) -> Option<&[u8]> {
        let all: &[u8] = bytemuck::cast_slice(self.words());
        all.get(offset as usize..offset as usize + len as usize)
    }

    /// Mutable bytes of a physical range.
    pub fn bytes_mut(&mut self, offset: u32, len: u32) -> Option<&mut [u8]> {
        let all: &mut [u8] = bytemuck::cast_slice_mut(self.words_mut());
        all.get_mut(offset as usize..offset as usize + len as usize)
    }

    /// Carve `bytes` (rounded up to the granule) with best fit, zero-filled.
    pub fn alloc(&mut self, bytes: u32) -> Result<Arena, Exhausted> {
        let need = Self::granules(bytes);
        let Some(&(size, offset)) = self.free_by_size.range((need, 0)..).next() else {
            return Err(self.exhausted(need));
        };
        Ok(self.carve(offset, size, offset, need))
    }

    /// Carve `bytes` (rounded up to the granule), zero-filled, from the top of the
    /// highest free block that fits. Register banks come from here: they pack together
    /// at the top of VM RAM, away from the windows, so a context switch among thousands
    /// of tasks touches a few dense pages of banks instead of one page per task.
    /// A bank-sized request fits the highest block at once (every block is at least a
    /// granule), so this is O(log n) for banks.
    pub fn alloc_high(&mut self, bytes: u32) -> Result<Arena, Exhausted> {
        let need = Self::granules(bytes);
        let Some((&offset, &size)) = self.free_by_offset.iter().rev().find(|(_, s)| **s >= need)
        else {
            return Err(self.exhausted(need));
        };
        Ok(self.carve(offset, size, offset + size - need, need))
    }

    fn granules(bytes: u32) -> u32 {
        bytes.div_ceil(GRANULE).max(1) * GRANULE
    }

    fn exhausted(&self, need: u32) -> Exhausted {
        Exhausted {
            need,
            largest: self.largest_free(),
        }
    }

    /// Take `at..at + need` out of the free block `offset..offset + size` and zero
    /// what of it was used before.
    fn carve(&mut self, offset: u32, size: u32, at: u32, need: u32) -> Arena {
        self.remove_free(offset, size);
        if at > offset {
            self.insert_free(offset, at - offset);
        }
        if at + need < offset + size {
            self.insert_free(at + need, offset + size - at - need);
        }
        self.used += u64::from(need);
        let (start, end) = (at, at + need);
        for (from, to) in [
            (start, end.min(self.dirty_end)),
            (start.max(self.clean_end), end),
        ] {
            if to > from
                && let Some(b) = self.bytes_mut(from, to - from)
            {
                b.fill(0);
            }
        }
        if start <= self.dirty_end && end > self.dirty_end {
            self.dirty_end = end.min(self.clean_end);
        }
        if end >= self.clean_end && start < self.clean_end {
            self.clean_end = start.max(self.dirty_end);
        }
        Arena {
            offset: at,
            size: need,
        }
    }

    /// Return an arena, merging it with free neighbours.
    pub fn free(&mut self, arena: Arena) {
        let (mut offset, mut size) = (arena.offset, arena.size);
        debug_assert!(!self.free_by_offset.contains_key(&offset), "double free");
        self.used -= size as u64;
        if let Some((&prev, &prev_size)) = self.free_by_offset.range(..offset).next_back()
            && prev + prev_size == offset
        {
            self.remove_free(prev, prev_size);
            offset = prev;
            size += prev_size;
        }
        if let Some(&next_size) = self.free_by_offset.get(&(offset + size)) {
            self.remove_free(offset + size, next_size);
            size += next_size;
        }
        self.insert_free(offset, size);
    }

    fn insert_free(&mut self, offset: u32, size: u32) {
        self.free_by_offset.insert(offset, size);
        self.free_by_size.insert((size, offset));
    }

    fn remove_free(&mut self, offset: u32, size: u32) {
        self.free_by_offset.remove(&offset);
        self.free_by_size.remove(&(size, offset));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn allocations_skip_the_null_page_and_are_aligned() {
        let mut ram = VmRam::new(64 * 1024);
        let a = ram.alloc(64).unwrap();
        let b = ram.alloc(100).unwrap();
        assert_eq!(a.offset, NULL_PAGE);
        assert_eq!(b.offset % GRANULE, 0);
        assert_eq!(b.size, 128);
        assert_eq!(ram.used(), 192);
    }

    #[test]
    fn vm_ram_starts_on_a_host_cache_line() {
        // Small RAMs come from the heap, large ones from their own mapping: both start
        // 16 bytes into a line unless the start is moved.
        for bytes in [NULL_PAGE + GRANULE, 64 * 1024, 1 << 20, 64 << 20] {
            let mut ram = VmRam::new(bytes);
            assert_eq!(
                ram.words().as_ptr() as usize % GRANULE as usize,
                0,
                "{bytes}"
            );
            assert_eq!(ram.words_mut().len() * 4, ram.size() as usize);
            let arena = ram.alloc_high(64).unwrap();
            let bank = ram.bytes(arena.offset, 64).unwrap();
            assert_eq!(bank.as_ptr() as usize % GRANULE as usize, 0, "{bytes}");
        }
    }

    #[test]
    fn exhaustion_names_the_need_and_the_largest_block() {
        let mut ram = VmRam::new(NULL_PAGE + 4096);
        let err = ram.alloc(8192).unwrap_err();
        assert_eq!(
            err.to_string(),
            "VM RAM exhausted: need 8192 bytes, largest free block 4096"
        );
    }

    #[test]
    fn freed_neighbours_coalesce() {
        let mut ram = VmRam::new(NULL_PAGE + 3 * 1024);
        let a = ram.alloc(1024).unwrap();
        let b = ram.alloc(1024).unwrap();
        let c = ram.alloc(1024).unwrap();
        ram.free(a);
        ram.free(c);
        ram.free(b);
        assert_eq!(ram.largest_free(), 3 * 1024);
        assert_eq!(ram.used(), 0);
    }

    #[test]
    fn reused_memory_is_zeroed() {
        let mut ram = VmRam::new(NULL_PAGE + 1024);
        let a = ram.alloc(1024).unwrap();
        ram.bytes_mut(a.offset, 4)
            .unwrap()
            .copy_from_slice(&[1, 2, 3, 4]);
        ram.free(a);
        let b = ram.alloc(1024).unwrap();
        assert_eq!(ram.bytes(b.offset, 4).unwrap(), &[0, 0, 0, 0]);
    }

    #[test]
    fn high_arenas_pack_at_the_top_and_reused_ones_are_zeroed() {
        let mut ram = VmRam::new(NULL_PAGE + 64 * 1024);
        let top = ram.size();
        let a = ram.alloc_high(64).unwrap();
        let b = ram.alloc_high(64).unwrap();
        let w = ram.alloc(1024).unwrap();
        assert_eq!((a.offset, b.offset), (top - 64, top - 128));
        assert_eq!(w.offset, NULL_PAGE);
        ram.bytes_mut(b.offset, 4)
            .unwrap()
            .copy_from_slice(&[9, 9, 9, 9]);
        ram.free(b);
        let c = ram.alloc_high(64).unwrap();
        assert_eq!(c.offset, b.offset);
        assert_eq!(ram.bytes(c.offset, 4).unwrap(), &[0, 0, 0, 0]);
    }

    proptest! {
        /// Whichever end arenas come from, they never overlap, every one starts zeroed
        /// (the test dirties each arena it gets), and freeing all returns all memory.
        #[test]
        fn arenas_never_overlap_and_churn_returns_all_memory(
            ops in proptest::collection::vec((1u32..20_000, any::<bool>(), any::<bool>()), 1..200)
        ) {
            let mut ram = VmRam::new(1 << 20);
            let total = ram.largest_free();
            let mut live: Vec<Arena> = Vec::new();
            for (size, free_one, high) in ops {
                if free_one && !live.is_empty() {
                    let a = live.swap_remove(size as usize % live.len());
                    ram.free(a);
                } else if let Ok(a) = if high { ram.alloc_high(size) } else { ram.alloc(size) } {
                    let bytes = ram.bytes_mut(a.offset, a.size).unwrap();
                    prop_assert!(bytes.iter().all(|&b| b == 0), "arena {:?} not zeroed", a);
                    bytes.fill(0xA5);
                    prop_assert!(a.offset >= NULL_PAGE);
                    prop_assert!(a.offset + a.size <= ram.size());
                    for b in &live {
                        prop_assert!(a.offset + a.size <= b.offset || b.offset + b.size <= a.offset);
                    }
                    live.push(a);
                }
            }
            for a in live.drain(..) {
                ram.free(a);
            }
            prop_assert_eq!(ram.used(), 0);
            prop_assert_eq!(ram.largest_free(), total);
        }
    }
}
