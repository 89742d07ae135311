//! The executive clock and the deadline structure (`executive.md` §5).

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Instant;

use crate::sched::Slot;

/// Clock kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClockMode {
    /// Real milliseconds.
    Wall,
    /// Stands still while anything can run; advanced explicitly or to the next deadline.
    Virtual,
}

/// Milliseconds since the executive started (wall), or virtual milliseconds.
#[derive(Debug)]
pub struct Clock {
    mode: ClockMode,
    virtual_ms: u64,
    start: Instant,
}

impl Clock {
    /// A clock at 0.
    pub fn new(mode: ClockMode) -> Clock {
        Clock {
            mode,
            virtual_ms: 0,
            start: Instant::now(),
        }
    }

    /// The mode.
    pub fn mode(&self) -> ClockMode {
        self.mode
    }

    /// Current time in ms.
    pub fn now_ms(&self) -> u64 {
        match self.mode {
            ClockMode::Virtual => self.virtual_ms,
            ClockMode::Wall => self.start.elapsed().as_millis() as u64,
        }
    }

    /// Advance a virtual clock (no effect on a wall clock, which advances by itself).
    pub fn advance_to(&mut self, ms: u64) {
        if self.mode == ClockMode::Virtual && ms > self.virtual_ms {
            self.virtual_ms = ms;
        }
    }
}

/// A timer entry: wake `slot` at `deadline` if its wait still carries `token`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Timer {
    /// Deadline in clock ms.
    pub deadline: u64,
    /// Unique, increasing: orders equal deadlines FIFO and identifies the wait.
    pub token: u64,
    /// The task slot.
    pub slot: Slot,
}

/// Deadlines ordered earliest first. Cancelled waits leave stale entries behind, which
/// are skipped when they surface (their token no longer matches the task's wait), so
/// cancellation is O(1) and checking for expiry is O(1) when nothing is due.
#[derive(Debug, Default)]
pub struct Timers {
    heap: BinaryHeap<Reverse<Timer>>,
}

impl Timers {
    /// Register a deadline.
    pub fn push(&mut self, timer: Timer) {
        self.heap.push(Reverse(timer));
    }

    /// Earliest registered deadline (possibly stale).
    pub fn next_deadline(&self) -> Option<u64> {
        self.heap.peek().map(|Reverse(t)| t.deadline)
    }

    /// The earliest entry (possibly stale).
    pub fn peek(&self) -> Option<Timer> {
        self.heap.peek().map(|Reverse(t)| *t)
    }

    /// Pop the earliest entry if it is due at `now`.
    pub fn pop_due(&mut self, now: u64) -> Option<Timer> {
        match self.heap.peek() {
            Some(Reverse(t)) if t.deadline <= now => self.heap.pop().map(|Reverse(t)| t),
            _ => None,
        }
    }

    /// Drop the earliest entry (a stale one).
    pub fn pop(&mut self) -> Option<Timer> {
        self.heap.pop().map(|Reverse(t)| t)
    }

    /// No entries.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_timers_come_out_in_deadline_then_fifo_order() {
        let mut t = Timers::default();
        t.push(Timer {
            deadline: 20,
            token: 1,
            slot: 1,
        });
        t.push(Timer {
            deadline: 10,
            token: 3,
            slot: 2,
        });
        t.push(Timer {
            deadline: 10,
            token: 2,
            slot: 3,
        });
        assert_eq!(t.next_deadline(), Some(10));
        assert_eq!(t.pop_due(5), None);
        assert_eq!(t.pop_due(10).map(|t| t.slot), Some(3));
        assert_eq!(t.pop_due(10).map(|t| t.slot), Some(2));
        assert_eq!(t.pop_due(10), None);
        assert_eq!(t.pop_due(25).map(|t| t.slot), Some(1));
    }

    #[test]
    fn virtual_time_moves_only_forward_when_told() {
        let mut c = Clock::new(ClockMode::Virtual);
        assert_eq!(c.now_ms(), 0);
        c.advance_to(50);
        c.advance_to(10);
        assert_eq!(c.now_ms(), 50);
    }
}
