//! The ready structure (`executive.md` §5): 256 priority levels, each a FIFO of task
//! slots, and a bitmap that finds the highest non-empty level in O(1).
//!
//! The FIFOs are linked through the slots: a slot is queued at one level at most, so
//! one link per slot (`next`) chains every level, and a level is its head, tail and
//! length. Taking the head (a running task blocking) and appending (a wake-up) are a
//! few loads and stores, without a ring buffer's index arithmetic.

/// Index of a task in the executive's task table.
pub type Slot = u32;

/// `next` of the tail of a level.
const END: Slot = Slot::MAX;
/// `next` of a slot that is not queued.
const OUT: Slot = Slot::MAX - 1;

/// One priority level: head and tail slots (`END` when empty) and length.
#[derive(Debug, Clone, Copy)]
struct Fifo {
    head: Slot,
    tail: Slot,
    len: u32,
}

/// Priority-ordered ready queues.
#[derive(Debug)]
pub struct ReadyQueues {
    levels: Box<[Fifo; 256]>,
    /// Per slot: the slot after it in its level, `END` at the tail, `OUT` if not queued.
    next: Vec<Slot>,
    bitmap: [u64; 4],
    len: usize,
}

impl Default for ReadyQueues {
    fn default() -> Self {
        ReadyQueues {
            levels: Box::new(
                [Fifo {
                    head: END,
                    tail: END,
                    len: 0,
                }; 256],
            ),
            next: Vec::new(),
            bitmap: [0; 4],
            len: 0,
        }
    }
}

impl ReadyQueues {
    /// Append a slot at the tail of its level. The slot must not be queued.
    #[inline]
    pub fn push_back(&mut self, priority: u8, slot: Slot) {
        let i = slot as usize;
        if i >= self.next.len() {
            self.next.resize(i + 1, OUT);
        }
        debug_assert_eq!(self.next[i], OUT, "slot {slot} queued twice");
        self.next[i] = END;
        let level = &mut self.levels[priority as usize];
        match self.next.get_mut(level.tail as usize) {
            Some(link) => *link = slot,
            None => level.head = slot,
        }
        level.tail = slot;
        level.len += 1;
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
        Some((level, self.levels[level as usize].head))
    }

    /// Number of slots queued at `priority`.
    #[inline]
    pub fn level_len(&self, priority: u8) -> usize {
        self.levels[priority as usize].len as usize
    }

    /// Move the head of `priority` to its tail (round-robin rotation).
    #[inline]
    pub fn rotate(&mut self, priority: u8) {
        let level = &mut self.levels[priority as usize];
        if level.len < 2 {
            return;
        }
        let (head, tail) = (level.head as usize, level.tail as usize);
        level.head = self.next[head];
        level.tail = head as Slot;
        self.next[tail] = head as Slot;
        self.next[head] = END;
    }

    /// The slots queued at `priority`, head first.
    #[inline]
    pub fn level(&self, priority: u8) -> Level<'_> {
        Level {
            queues: self,
            priority,
        }
    }

    /// Rotate `priority` so that `tail` and the slots before it move behind the others,
    /// in order: `tail` becomes the tail and the slot after it the head, as that many
    /// round-robin rotations would leave the level, in O(1). Nothing changes if `tail`
    /// is the tail already. `tail` must be queued at `priority`.
    #[inline]
    pub fn rotate_after(&mut self, priority: u8, tail: Slot) {
        let head = self.next[tail as usize];
        debug_assert_ne!(head, OUT, "slot {tail} is not queued");
        if head == END {
            return;
        }
        let level = &mut self.levels[priority as usize];
        // Close the ring, then open it after `tail`.
        self.next[level.tail as usize] = level.head;
        level.head = head;
        level.tail = tail;
        self.next[tail as usize] = END;
    }

    /// Remove a slot from its level (blocking, pausing, terminating). O(1) for the head
    /// (a running task blocking), else O(level length).
    /// Inlined for the head case; a slot further back is looked for out of line.
    #[inline]
    pub fn remove(&mut self, priority: u8, slot: Slot) -> bool {
        let level = &mut self.levels[priority as usize];
        if level.head == slot {
            level.head = self.next[slot as usize];
            if level.head == END {
                level.tail = END;
            }
        } else if !unlink_behind_head(level, &mut self.next, slot) {
            return false;
        }
        self.next[slot as usize] = OUT;
        level.len -= 1;
        if level.len == 0 {
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

/// Unlink `slot` from `level` where it is not the head; false if it is not queued there.
#[inline(never)]
fn unlink_behind_head(level: &mut Fifo, next: &mut [Slot], slot: Slot) -> bool {
    let mut prev = level.head;
    while prev != END {
        let after = next[prev as usize];
        if after == slot {
            next[prev as usize] = next[slot as usize];
            if level.tail == slot {
                level.tail = prev;
            }
            return true;
        }
        prev = after;
    }
    false
}

/// The slots queued at one level, head first ([`ReadyQueues::level`]).
pub struct Level<'a> {
    queues: &'a ReadyQueues,
    priority: u8,
}

impl<'a> Level<'a> {
    /// Number of slots queued.
    pub fn len(&self) -> usize {
        self.queues.level_len(self.priority)
    }

    /// Nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The head.
    pub fn front(&self) -> Option<&'a Slot> {
        if self.is_empty() {
            return None;
        }
        self.iter().next()
    }

    /// The slots, head first.
    pub fn iter(&self) -> LevelIter<'a> {
        LevelIter {
            next: &self.queues.next,
            cell: Some(&self.queues.levels[self.priority as usize].head),
        }
    }
}

/// Iterator over a level's slots: each is read from the link that points at it (the
/// level's head, then the `next` of the slot before).
pub struct LevelIter<'a> {
    next: &'a [Slot],
    cell: Option<&'a Slot>,
}

impl<'a> Iterator for LevelIter<'a> {
    type Item = &'a Slot;

    fn next(&mut self) -> Option<&'a Slot> {
        let cell = self.cell.filter(|&&s| s != END)?;
        self.cell = self.next.get(*cell as usize);
        Some(cell)
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
        q.rotate_after(10, 1);
        assert_eq!(
            q.level(10).iter().copied().collect::<Vec<_>>(),
            vec![5, 2, 1]
        );
        q.rotate_after(10, 5);
        assert!(q.remove(10, 5));
        q.push_back(0, 4);
        assert_eq!(q.head(), Some((0, 4)));
        assert!(q.remove(0, 4));
        assert!(q.remove(10, 2));
        assert!(q.remove(10, 1));
        assert_eq!(q.head(), Some((200, 3)));
        assert!(!q.remove(200, 9));
        assert!(!q.is_empty());
        assert_eq!(q.level_len(200), 1);
        assert!(q.remove(200, 3));
        assert!(q.is_empty() && q.head().is_none());
    }

    #[test]
    fn links_follow_pushes_removals_and_rotations() {
        let mut q = ReadyQueues::default();
        for s in [4, 0, 9, 2] {
            q.push_back(7, s);
        }
        let at = |q: &ReadyQueues| q.level(7).iter().copied().collect::<Vec<_>>();
        assert_eq!(at(&q), vec![4, 0, 9, 2]);
        assert!(q.remove(7, 2), "the tail");
        q.push_back(7, 5);
        assert_eq!(at(&q), vec![4, 0, 9, 5]);
        assert!(q.remove(7, 0), "in the middle");
        assert!(!q.remove(7, 0));
        q.rotate(7);
        assert_eq!(at(&q), vec![9, 5, 4]);
        q.rotate_after(7, 5);
        assert_eq!(at(&q), vec![4, 9, 5]);
        q.rotate_after(7, 5);
        assert_eq!(at(&q), vec![4, 9, 5], "after the tail: no change");
        assert_eq!(q.level(7).front(), Some(&4));
        q.push_back(7, 0);
        assert_eq!((at(&q), q.level(7).len()), (vec![4, 9, 5, 0], 4));
        for s in [4, 9, 5, 0] {
            assert_eq!(q.head(), Some((7, s)));
            assert!(q.remove(7, s));
        }
        assert!(q.is_empty() && q.level(7).is_empty() && q.level(7).front().is_none());
    }

    #[test]
    fn rotating_after_a_slot_is_that_many_single_rotations() {
        let order = [3u32, 8, 1, 6, 0, 5];
        for n in 1..=order.len() {
            let (mut once, mut stepwise) = (ReadyQueues::default(), ReadyQueues::default());
            for s in order {
                once.push_back(4, s);
                stepwise.push_back(4, s);
            }
            once.rotate_after(4, order[n - 1]);
            for _ in 0..n {
                stepwise.rotate(4);
            }
            let at = |q: &ReadyQueues| q.level(4).iter().copied().collect::<Vec<_>>();
            assert_eq!(at(&once), at(&stepwise), "after {n} slots");
            // The links stay sound: the new tail takes a push.
            once.push_back(4, 9);
            assert_eq!(at(&once).last(), Some(&9));
            assert_eq!(once.level_len(4), order.len() + 1);
        }
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
