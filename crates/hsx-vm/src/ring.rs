//! Round robin inside the core (`executive.md` §5): several contexts that share one VM
//! RAM take turns of `quantum` instructions each, in ring order, without returning to
//! the caller between turns.
//!
//! A switch here is what the contract says it is and nothing more: the outgoing
//! member's PC, PSW and SP go back into its context record, the incoming member's
//! bank and window are carved out of VM RAM again (its record was checked when the run
//! started), and the PC of the outgoing member goes into a rotation log so that the
//! caller can write the scheduler trace afterwards. The caller (the executive) keeps
//! its ready queue, counters and trace; [`RingRun`] tells it what happened.
//!
//! At quantum 1 (a switch after every instruction, the default) the carving would be
//! most of the cost, so there the members run on *lanes* instead: their arenas are
//! split off VM RAM once per run (`lanes.rs`). Both ways give the same result.

use crate::context::{Context, Exit, LayoutError, Placement};
use half::f16;
use hsx_isa::Fault;

use crate::interp::{Cold, Core, Flags, dispatch, ea, f16_op, fault, fused, zn};
use crate::lanes::run_quantum_one;
use crate::program::Kind;
use crate::program::Program;

/// One context taking part in a round-robin run. It borrows the context record, which
/// the run updates in place (nothing is copied in or out), and the code.
#[derive(Debug)]
pub struct Member<'r, C> {
    /// The context record; PC, PSW, SP, call depth and steps are kept up to date.
    pub ctx: &'r mut Context,
    /// Instructions per turn (0 counts as 1).
    pub quantum: u32,
    /// The member's code.
    pub code: C,
    /// Where the bank and window are, checked when the run starts.
    pub(crate) placement: Placement,
    /// Why the record does not fit, if it does not.
    misfit: Option<LayoutError>,
    /// The flags, kept lazy between turns; the PSW is written back when the run ends.
    pub(crate) flags: Flags,
}

impl<'r, C: AsRef<Program>> Member<'r, C> {
    /// A member running `code` from the record `ctx`, `quantum` instructions a turn.
    pub fn new(ctx: &'r mut Context, quantum: u32, code: C) -> Member<'r, C> {
        Member {
            ctx,
            quantum,
            code,
            placement: Placement::NONE,
            misfit: None,
            flags: Flags::explicit(0),
        }
    }
}

/// How a [`run_ring`] call ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RingRun {
    /// Why it stopped: [`Exit::Budget`] when the budget ran out, otherwise the exit of
    /// member `at` (trap, break, exit, fault, or a context that does not fit VM RAM).
    pub exit: Exit,
    /// Instructions retired by all members together.
    pub retired: u64,
    /// Turns that ran to the end of their quantum (rotations), in ring order from `start`.
    pub turns: u64,
    /// The member whose turn is current: the one that stopped, or the next in line.
    pub at: usize,
    /// Instructions left in member `at`'s turn. With [`Exit::Budget`], 0 means member
    /// `at` has not begun its turn (the budget ran out exactly at a rotation).
    pub left: u32,
    /// The number of members.
    pub members: usize,
    /// The member whose turn the run started with.
    pub start: usize,
}

impl RingRun {
    /// How many turns each member began inside the run (its switches in), member 0
    /// first. Turn t is member `(start + t) % members`'s; the first turn, already
    /// running when the run started, is not a switch in, and neither is a turn the
    /// budget ran out before.
    pub fn switches_in(&self) -> impl ExactSizeIterator<Item = u64> + use<> {
        let k = self.members;
        let inside = self.exit != Exit::Budget || self.left > 0;
        let began = self.turns + u64::from(inside);
        // Member j is `p = (j - start) mod k` turns after the start.
        let mut p = (k - self.start) % k;
        (0..k).map(move |_| {
            let entered = turns_of(p, k, 1, began);
            p = if p + 1 == k { 0 } else { p + 1 };
            entered
        })
    }
}

/// How many of the turns `from..to` (turn t is the `t % k`-th after the first) are the
/// `j`-th's.
#[inline(always)]
pub(crate) fn turns_of(j: usize, k: usize, from: u64, to: u64) -> u64 {
    let (j, k) = (j as u64, k as u64);
    let upto = |n: u64| n / k + u64::from(j < n % k);
    upto(to.max(from)) - upto(from)
}

/// Run `members` in round robin against `ram`, starting with member `start`, which has
/// `first_left` instructions left in its turn (0: a whole quantum), until `budget`
/// instructions have retired or a member stops (SVC, BRK, exit, fault).
///
/// After every turn that used its whole quantum, the outgoing member's PC is written to
/// `rotations[turns % rotations.len()]` (the log keeps the newest rotations; it may be
/// empty). Every record is checked against `ram` when the run starts; a member whose
/// record does not fit stops the run with [`Exit::Layout`] when its turn comes, having
/// run nothing.
///
/// When every member has quantum 1 the run allocates a table of lanes (one per member)
/// for its duration.
///
/// # Panics
/// If `members` is empty, `start` is out of range or the length of `rotations` is
/// neither 0 nor a power of two.
#[inline(never)]
pub fn run_ring<C: AsRef<Program>>(
    members: &mut [Member<'_, C>],
    ram: &mut [u32],
    start: usize,
    first_left: u32,
    budget: u64,
    rotations: &mut [u32],
) -> RingRun {
    assert!(start < members.len(), "ring start out of range");
    assert!(
        rotations.is_empty() || rotations.len().is_power_of_two(),
        "rotation log length must be a power of two"
    );
    let log_mask = rotations.len().wrapping_sub(1);
    // At quantum 1 (the default), with every record fitting and no two members sharing
    // an arena, the members run on lanes split off VM RAM once (`lanes.rs`).
    let mut quantum_one = first_left <= 1;
    for m in members.iter_mut() {
        (m.placement, m.misfit) = match Placement::of(m.ctx, ram.len()) {
            Ok(p) => (p, None),
            Err(e) => (Placement::NONE, Some(e)),
        };
        m.flags = Flags::explicit(m.ctx.psw);
        quantum_one &= m.quantum <= 1 && m.misfit.is_none();
    }
    if quantum_one && let Some(run) = run_quantum_one(members, ram, start, budget, rotations) {
        return run;
    }
    let k = members.len();
    // Member `start` is already in its turn; every later turn is a switch in.
    let mut turn = if first_left == 0 {
        members[start].quantum.max(1)
    } else {
        first_left
    };
    let mut switch_in = false;
    let mut skip = start;
    let mut total = budget;
    let mut turns = 0u64;
    let (exit, left_in_turn, at) = 'run: loop {
        for (i, member) in members.iter_mut().enumerate().skip(skip) {
            if switch_in {
                turn = member.quantum.max(1);
            }
            switch_in = true;
            // Switch the member in: carve its bank and window, load its PC, flags, SP.
            let Member {
                ctx,
                flags,
                code,
                placement,
                misfit,
                ..
            } = member;
            let Some((regs, mem)) = placement.carve(ram) else {
                break 'run (
                    Exit::Layout(misfit.unwrap_or(LayoutError::OutOfRam)),
                    turn,
                    i,
                );
            };
            let ops = code.as_ref().ops();
            let end = ops.len() - 1;
            let this_turn = total.min(u64::from(turn));
            let mut core = Core::new(regs, ctx.pc, *flags);
            let mut cold = Cold::new(mem, ctx);
            let mut left = this_turn;
            // The turn: the loop of `Core::execute`, ending in `None` when the turn's budget
            // is used up or in the member's exit.
            let stopped: Option<Exit> = 'turn: {
                let mut ip = match core.enter(end) {
                    Ok(ip) => ip,
                    Err(exit) => break 'turn Some(exit),
                };
                macro_rules! next {
                    () => {
                        continue
                    };
                }
                macro_rules! far {
                    ($target:expr) => {{
                        core.pc = $target;
                        if left == 0 {
                            break 'turn None;
                        }
                        match core.enter(end) {
                            Ok(target) => {
                                ip = target;
                                continue;
                            }
                            Err(exit) => break 'turn Some(exit),
                        }
                    }};
                }
                macro_rules! stop {
                    ($exit:expr) => {
                        break 'turn Some($exit)
                    };
                }
                loop {
                    if left == 0 {
                        core.pc = (ip as u32) << 2;
                        break 'turn None;
                    }
                    let op = ops[ip];
                    dispatch!(core, cold, op, ip, end, left);
                    left -= 1;
                    ip += 1;
                }
            };
            // Switch it out: PC, SP and steps into its record, the flags stay lazy.
            let used = this_turn - left;
            *flags = core.flags;
            let (pc, sp) = (core.pc, cold.sp);
            let ctx = cold.stack;
            ctx.pc = pc;
            ctx.sp = sp;
            ctx.steps += used;
            total -= used;
            turn -= used as u32;
            if let Some(exit) = stopped {
                break 'run (exit, turn, i);
            }
            if turn != 0 {
                // The budget ran out inside the turn.
                break 'run (Exit::Budget, turn, i);
            }
            // Quantum used up: rotate.
            if let Some(slot) = rotations.get_mut(turns as usize & log_mask) {
                *slot = pc;
            }
            turns += 1;
            if total == 0 {
                break 'run (Exit::Budget, 0, (i + 1) % k);
            }
        }
        skip = 0;
    };
    for m in members.iter_mut() {
        m.ctx.psw = m.flags.psw();
    }
    RingRun {
        exit,
        retired: budget - total,
        turns,
        at,
        left: left_in_turn,
        members: k,
        start,
    }
}

#[cfg(test)]
mod tests {
    use super::RingRun;
    use crate::Exit;
    use alloc::vec::Vec;

    /// A run of `members` that started with member `start`, rotated `turns` times and
    /// ended with `exit`, `left` instructions left in the current turn.
    fn run(members: usize, start: usize, turns: u64, exit: Exit, left: u32) -> RingRun {
        RingRun {
            exit,
            retired: 0,
            turns,
            at: (start + turns as usize) % members,
            left,
            members,
            start,
        }
    }

    #[test]
    fn switches_in_count_the_turns_each_member_began() {
        let trap = Exit::Trap {
            module: 0,
            function: 1,
        };
        // Members, start, rotations, exit, left in the current turn, switches in.
        type Case = (usize, usize, u64, Exit, u32, &'static [u64]);
        let cases: [Case; 8] = [
            // Turns 1..7 of a ring started at member 1: members 2 0 1 2 0 1.
            (3, 1, 7, Exit::Budget, 0, &[2, 2, 2]),
            // The budget ran out inside turn 7 (member 2's): it began.
            (3, 1, 7, Exit::Budget, 1, &[2, 2, 3]),
            // Turn 7 stopped on a trap: it began as well.
            (3, 1, 7, trap, 0, &[2, 2, 3]),
            // Nothing rotated: the first turn is not a switch in.
            (3, 0, 0, Exit::Budget, 2, &[0, 0, 0]),
            (2, 1, 0, trap, 0, &[0, 0]),
            // No budget at all.
            (2, 0, 0, Exit::Budget, 0, &[0, 0]),
            // One member switches in at every turn but the first.
            (1, 0, 5, Exit::Budget, 0, &[4]),
            (1, 0, 5, trap, 0, &[5]),
        ];
        for (members, start, turns, exit, left, expected) in cases {
            let run = run(members, start, turns, exit, left);
            let counts: Vec<u64> = run.switches_in().collect();
            assert_eq!(counts, expected, "{run:?}");
        }
    }
}
