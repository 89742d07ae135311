//! The ready structure (`executive.md` §5): 256 priority levels, each a FIFO of task
//! slots, and a bitmap that finds the highest non-empty level in O(1).

use std::collections::VecDeque;

/// Index of a task in the executive's task table.
pub type Slot = u32;

/// Priority-ordered ready queues.
#[derive(Debug)]
pub struct ReadyQueues {
    levels: Vec<VecDeque<Slot>>,
    bitmap: [u64; 4],
    len: usize,
}

impl Default for ReadyQueues {
    fn default() -> Self {
        ReadyQueues {
            levels: (0..256).map(|_| VecDeque::new()).collect(),
            bitmap: [0; 4],
            len: 0,
        }
    }
}

impl ReadyQueues {
    /// Append a slot at the tail of its level.
    #[inline]
    pub fn push_back(&mut self, priority: u8, slot: Slot) {
        self.levels[priority as usize].push_back(slot);
        self.bitmap[(priority >> 6) as usize] |= 1 << (priority & 63);
        self.len += 1;
    }

    /// The highest non-empty level, if any.
    #[inline]
    pub fn top_level(&self) -> Option<u8> {
        self.bitmap
            .iter()
            .enumerate()
            .find(|(_, w)| **w != 0)
            .map(|(i, w)| (i as u32 * 64 + w.trailing_zeros()) as u8)
    }

    /// Head of the highest non-empty level.
    #[inline]
    pub fn head(&self) -> Option<(u8, Slot)> {
        let level = self.top_level()?;
        Some((level, *self.levels[level as usize].front()?))
    }

    /// Number of slots queued at `priority`.
    #[inline]
    pub fn level_len(&self, priority: u8) -> usize {
        self.levels[priority as usize].len()
    }

    /// Move the head of `priority` to its tail (round-robin rotation).
    #[inline]
    pub fn rotate(&mut self, priority: u8) {
        let q = &mut self.levels[priority as usize];
        if let Some(s) = q.pop_front() {
            q.push_back(s);
        }
    }

    /// The slots queued at `priority`, head first.
    #[inline]
    pub fn level(&self, priority: u8) -> &VecDeque<Slot> {
        &self.levels[priority as usize]
    }

    /// Rotate `priority` by `n` places: the first `n` slots move to the tail in order,
    /// as `n` round-robin rotations would.
    pub fn rotate_by(&mut self, priority: u8, n: usize) {
        self.levels[priority as usize].rotate_left(n);
    }

    /// Remove a slot from its level (blocking, pausing, terminating). O(1) for the head
    /// (a running task blocking), else O(level length).
    /// Inlined for the head case; a slot further back is looked for out of line.
    #[inline]
    pub fn remove(&mut self, priority: u8, slot: Slot) -> bool {
        let q = &mut self.levels[priority as usize];
        if q.front() == Some(&slot) {
            q.pop_front();
        } else if !remove_behind_head(q, slot) {
            return false;
        }
        if q.is_empty() {
            self.bitmap[(priority >> 6) as usize] &= !(1 << (priority & 63));
        }
        self.len -= 1;
        true
    }

    /// Nothing is runnable.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// Remove `slot` from a level where it is not the head; false if it is not queued.
#[inline(never)]
fn remove_behind_head(q: &mut VecDeque<Slot>, slot: Slot) -> bool {
    match q.iter().position(|&s| s == slot) {
        Some(i) => q.remove(i).is_some(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_priority_then_fifo() {
        let mut q = ReadyQueues::default();
        q.push_back(10, 1);
        q.push_back(10, 2);
        q.push_back(200, 3);
        assert_eq!(q.head(), Some((10, 1)));
        q.rotate(10);
        assert_eq!(q.head(), Some((10, 2)));
        q.push_back(10, 5);
        q.rotate_by(10, 2);
        assert_eq!(
            q.level(10).iter().copied().collect::<Vec<_>>(),
            vec![5, 2, 1]
        );
        q.rotate_by(10, 1);
        assert!(q.remove(10, 5));
        q.push_back(0, 4);
        assert_eq!(q.head(), Some((0, 4)));
        assert!(q.remove(0, 4));
        assert!(q.remove(10, 2));
        assert!(q.remove(10, 1));
        assert_eq!(q.head(), Some((200, 3)));
        assert!(!q.remove(200, 9));
        assert!(!q.is_empty());
    }

    #[test]
    fn every_level_is_found() {
        for p in 0..=255u8 {
            let mut q = ReadyQueues::default();
            q.push_back(p, 7);
            assert_eq!(q.top_level(), Some(p));
        }
    }
}
