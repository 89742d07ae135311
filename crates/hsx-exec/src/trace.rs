//! The bounded scheduler trace ring (`executive.md` §6).

use crate::task::Pid;

/// Default number of entries kept.
pub const DEFAULT_CAPACITY: usize = 1024;

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TraceEvent {
    /// Quantum used or yield: the task went to the tail of its level.
    Rotate,
    /// The task blocked.
    Block,
    /// The task was woken.
    Wake,
    /// A wait timed out.
    Timeout,
    /// The task exited.
    Exit,
    /// The task faulted.
    Fault,
    /// The task was spawned.
    Spawn,
    /// The task was killed.
    Kill,
    /// The task was paused.
    Pause,
    /// The task was resumed.
    Resume,
    /// One instruction (only while tracing is on for the task).
    Step,
}

impl TraceEvent {
    /// Lower-case name, as printed and sent on the wire.
    pub fn name(self) -> &'static str {
        match self {
            TraceEvent::Rotate => "rotate",
            TraceEvent::Block => "block",
            TraceEvent::Wake => "wake",
            TraceEvent::Timeout => "timeout",
            TraceEvent::Exit => "exit",
            TraceEvent::Fault => "fault",
            TraceEvent::Spawn => "spawn",
            TraceEvent::Kill => "kill",
            TraceEvent::Pause => "pause",
            TraceEvent::Resume => "resume",
            TraceEvent::Step => "step",
        }
    }
}

/// One trace record `{seq, ts, pid, event, pc}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceEntry {
    /// Monotonic sequence number.
    pub seq: u64,
    /// Clock ms.
    pub ts: u64,
    /// The task.
    pub pid: Pid,
    /// What happened.
    pub event: TraceEvent,
    /// The task's pc at that moment.
    pub pc: u32,
}

/// A ring of the most recent entries: a fixed array written round-robin, so recording
/// (on every rotation, on the hot path) is a store and an index bump.
#[derive(Debug)]
pub struct TraceRing {
    slots: Vec<TraceEntry>,
    capacity: usize,
    /// Slot the next entry goes to.
    head: usize,
    next_seq: u64,
}

impl TraceRing {
    /// A ring keeping `capacity` entries.
    pub fn new(capacity: usize) -> TraceRing {
        let capacity = capacity.max(1);
        TraceRing {
            slots: Vec::with_capacity(capacity),
            capacity,
            head: 0,
            next_seq: 0,
        }
    }

    /// Record an entry, evicting the oldest when full. Returns the recorded entry.
    #[inline]
    pub fn record(&mut self, ts: u64, pid: Pid, event: TraceEvent, pc: u32) -> TraceEntry {
        let entry = TraceEntry {
            seq: self.next_seq,
            ts,
            pid,
            event,
            pc,
        };
        if self.head < self.slots.len() {
            self.slots[self.head] = entry;
        } else {
            self.slots.push(entry);
        }
        self.head += 1;
        if self.head == self.capacity {
            self.head = 0;
        }
        self.next_seq += 1;
        entry
    }

    /// Account for `n` records that were made but are already too old to keep (a
    /// round-robin run inside the VM core writes only the newest `capacity`).
    pub fn skip(&mut self, n: u64) {
        self.next_seq += n;
    }

    /// Entries, oldest first.
    pub fn entries(&self) -> impl DoubleEndedIterator<Item = &TraceEntry> {
        let split = if self.slots.len() < self.capacity {
            0
        } else {
            self.head
        };
        self.slots[split..].iter().chain(self.slots[..split].iter())
    }

    /// Capacity.
    pub fn capacity(&self) -> usize {
        self.capacity
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_newest_entries() {
        let mut r = TraceRing::new(2);
        r.record(0, 1, TraceEvent::Spawn, 0);
        r.record(0, 1, TraceEvent::Rotate, 4);
        r.record(1, 2, TraceEvent::Exit, 8);
        let seqs: Vec<u64> = r.entries().map(|e| e.seq).collect();
        assert_eq!(seqs, vec![1, 2]);
        r.record(2, 2, TraceEvent::Exit, 8);
        let seqs: Vec<u64> = r.entries().map(|e| e.seq).collect();
        assert_eq!(seqs, vec![2, 3]);
        let newest: Vec<u64> = r.entries().rev().map(|e| e.seq).collect();
        assert_eq!(newest, vec![3, 2]);
    }
}
