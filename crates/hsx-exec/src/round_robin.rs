//! Round robin inside the VM core: when the highest ready level holds several tasks
//! and the step budget is large, the executive hands the whole level to
//! [`hsx_vm::run_ring`] instead of making one scheduling decision per turn.
//!
//! The result is exactly what the turn-by-turn loop in `executive.rs` produces (same
//! interleaving, states, counters, trace records; `tests/round_robin.rs` checks it
//! against runs that take the turn-by-turn path): the VM core rotates through the
//! level's context records and logs each rotation, and this module then brings the
//! scheduler's own bookkeeping up to date in one pass.

use hsx_vm::{Exit, Member};

use crate::executive::Executive;
use crate::sched::Slot;
use crate::task::{Task, TaskState};
use crate::trace::TraceEvent;

/// Budget a level needs per task before it runs inside the core: the set-up and the
/// write-back cost about as much as a few switches per task, so below this the
/// turn-by-turn loop is as fast.
const MIN_STEPS_PER_TASK: u64 = 16;

/// Buffers reused by every round-robin run.
#[derive(Debug, Default)]
pub(crate) struct RingScratch {
    /// The level's slots, head first (member j is slot j's task).
    slots: Vec<Slot>,
    rotations: Vec<u32>,
}

/// What a round-robin run did.
pub(crate) struct RingOutcome {
    /// Instructions retired.
    pub retired: u64,
    /// The task that stopped (trap, break, exit, fault) or is in the middle of its turn
    /// with the budget used up; `None` if the budget ran out exactly at a rotation.
    pub current: Option<Slot>,
    /// Why it stopped.
    pub exit: Exit,
}

impl Executive {
    /// Run the tasks of ready level `level`, whose head `head` is the running task, in
    /// round robin inside the VM core for up to `budget` instructions. `None` (nothing
    /// ran) when the level is not worth it or a task needs single steps (breakpoints,
    /// watches, step tracing).
    ///
    /// Never inlined into the scheduler loop: a round-robin run is long, and inlined its
    /// code would crowd the registers of the turn-by-turn path (the one a mailbox
    /// exchange takes).
    #[inline(never)]
    pub(crate) fn run_level_in_core(
        &mut self,
        level: u8,
        head: Slot,
        budget: u64,
    ) -> Option<RingOutcome> {
        let queue = self.ready.level(level);
        let k = queue.len();
        if k < 2 || budget < MIN_STEPS_PER_TASK * k as u64 || self.config.trace_events {
            return None;
        }
        debug_assert_eq!(queue.front(), Some(&head));
        let mut scratch = std::mem::take(&mut self.ring);
        scratch.slots.clear();
        scratch.slots.extend(queue.iter().copied());
        let first_left = self.t(head).turn_left;
        // The log keeps at least as many rotations as the trace ring can show.
        let log_len = self.trace.capacity().next_power_of_two();
        scratch.rotations.resize(log_len, 0);
        // The members borrow their tasks' context records and code in place: the run
        // updates the records, nothing is copied in or out. Every slot is borrowed once
        // (a queued slot is queued once), in queue order.
        let mut by_slot: Vec<Option<&mut Option<Task>>> = self.tasks.iter_mut().map(Some).collect();
        let mut members = Vec::with_capacity(k);
        for &slot in &scratch.slots {
            let t = by_slot[slot as usize]
                .take()
                .and_then(Option::as_mut)
                .expect("a queued slot is live and queued once");
            if t.needs_single_step() || self.debug.single_steps(t.pid) {
                self.ring = scratch;
                return None;
            }
            members.push(Member::new(&mut t.ctx, t.sched.quantum, &t.image.program));
        }
        let run = hsx_vm::run_ring(
            &mut members,
            self.ram.words_mut(),
            0,
            first_left,
            budget,
            &mut scratch.rotations,
        );
        drop(members);

        // Write back: counters, states; the head's turn continues.
        let started = !matches!(run.exit, Exit::Budget) || run.left > 0;
        let mut switches = 0u64;
        let queue = &scratch.slots;
        for (j, (&slot, entered)) in queue.iter().zip(run.switches_in()).enumerate() {
            let t = self.tasks[slot as usize]
                .as_mut()
                .expect("queued slot is live");
            t.counters.switches_in += entered;
            switches += entered;
            if j == run.at && started {
                t.state = TaskState::Running;
                t.turn_left = run.left;
            } else {
                t.state = TaskState::Ready;
                t.turn_left = 0;
            }
        }
        // Rotation r ended the turn of member r % k; only the newest ones fit the trace.
        let shown = run.turns.min(self.trace.capacity() as u64);
        self.trace.skip(run.turns - shown);
        let ts = self.clock.now_ms();
        for r in run.turns - shown..run.turns {
            let slot = queue[(r % k as u64) as usize];
            let pid = self.t(slot).pid;
            let pc = scratch.rotations[r as usize & (log_len - 1)];
            self.trace.record(ts, pid, TraceEvent::Rotate, pc);
        }
        let current = started.then(|| queue[run.at]);
        // The first `turns % k` tasks rotated once more than the others.
        let rotated = (run.turns % k as u64) as usize;
        if rotated > 0 {
            self.ready.rotate_after(level, queue[rotated - 1]);
        }
        self.counters.switches += switches;
        self.counters.steps += run.retired;
        self.counters.core_runs += 1;
        self.set_current(current);
        self.ring = scratch;
        Some(RingOutcome {
            retired: run.retired,
            current,
            exit: run.exit,
        })
    }
}
