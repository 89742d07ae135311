//! Round robin at quantum 1 (the default quantum, `executive.md` §5): a switch after
//! every instruction.
//!
//! [`crate::run_ring`]'s general loop carves a member's bank and window out of VM RAM and
//! builds its core state at every switch; with one instruction per turn that set-up is
//! most of the cost. Here every member's bank and window are split off VM RAM **once**,
//! when the run starts, into disjoint borrows (safe Rust proves they cannot alias), and
//! what every instruction of a member may use (its bank, lazy flags, PC, code and next
//! op) lives in a 64-byte *lane*; its window, SP and context record, which only loads,
//! stores and stack instructions use, live in a [`Cold`] of a table of their own that
//! the lane points to. A switch is moving to the next lane; the instruction reads and
//! writes the lane's state in place. Nothing is copied: the registers are still the
//! words at `reg_base` in VM RAM.
//!
//! With thousands of members a round streams every lane and bank past the host's
//! caches, so the lane's size sets the speed there: the 88-byte lanes that held the
//! cold state too ran 10,000 tasks at 53-57 % of a lone task, the 64-byte ones at
//! 57-62 % (BENCHMARKS.md §2).
//!
//! Step counts and switch-in counts are not counted per step: with one instruction per
//! turn, the turns each member ran follow from the number of rotations; the steps are
//! added to the records when the run ends.

use alloc::vec::Vec;
use half::f16;
use hsx_isa::Fault;

use crate::context::{Exit, REGISTERS};
use crate::interp::{Cold, Core, Flags, dispatch, ea, f16_op, fault, fused, zn};
use crate::program::{Kind, Op, Program};
use crate::ring::{Member, RingRun, turns_of};

/// Marks a lane whose next PC is in `core.pc` and still has to be validated (after a
/// far branch, or at the start when the record's PC is not an op address).
const UNCHECKED: usize = usize::MAX;

/// How the rotation log holds an [`UNCHECKED`] op index while the run goes on (no
/// code has that many ops).
const MARK: u32 = UNCHECKED as u32;

/// The op index of `pc` in code whose sentinel op is at `end`, or [`UNCHECKED`] if `pc`
/// is not the address of an instruction (the lane faults when its turn comes).
#[inline(always)]
fn op_index(pc: u32, end: usize) -> usize {
    if pc & 3 == 0 && ((pc >> 2) as usize) < end {
        (pc >> 2) as usize
    } else {
        UNCHECKED
    }
}

/// The PC of a lane at op index `ip` whose core holds `pc`.
#[inline(always)]
fn pc_of(ip: usize, pc: u32) -> u32 {
    if ip == UNCHECKED {
        pc
    } else {
        (ip as u32) << 2
    }
}

/// What every instruction of one member may use, in 64 bytes. The window, SP and
/// context record are in a [`Cold`] in a table of their own, which only loads, stores
/// and stack instructions reach through `cold`, so a round of many members streams
/// little more than the lanes and the banks through the host's caches.
struct Lane<'r, 'c> {
    core: Core<'r>,
    ops: &'r [Op],
    /// Index of the next op, or [`UNCHECKED`].
    ip: usize,
    cold: &'c mut Cold<'r>,
}

// The size a round streams per member besides its bank (BENCHMARKS.md §2).
#[cfg(target_pointer_width = "64")]
const _: () = assert!(core::mem::size_of::<Lane<'static, 'static>>() == 64);

impl<'r, 'c> Lane<'r, 'c> {
    /// A lane on the bank `regs` running `ops` with `flags`, its cold state in `cold`.
    fn new(
        regs: &'r mut [u32; REGISTERS],
        ops: &'r [Op],
        flags: Flags,
        cold: &'c mut Cold<'r>,
    ) -> Lane<'r, 'c> {
        let core = Core::new(regs, cold.stack.pc, flags);
        let ip = op_index(core.pc, ops.len() - 1);
        Lane {
            core,
            ops,
            ip,
            cold,
        }
    }
}

/// Every member's hot parts (bank, code, flags) and cold state, in lane order.
type Parts<'r> = (
    Vec<(&'r mut [u32; REGISTERS], &'r [Op], Flags)>,
    Vec<Cold<'r>>,
);

/// Run `members` (all with quantum 1, every record already found to fit `ram`) in
/// round robin from `start` for up to `budget` instructions, as [`crate::run_ring`]
/// specifies. `None`, having run nothing, when two members' arenas overlap: the
/// general loop, which carves at every switch, handles that.
pub(crate) fn run_quantum_one<C: AsRef<Program>>(
    members: &mut [Member<'_, C>],
    ram: &mut [u32],
    start: usize,
    budget: u64,
    rotations: &mut [u32],
) -> Option<RingRun> {
    let k = members.len();
    let (mut banks, mut windows) = split_arenas(members, ram)?;
    // Lane j is member (start + j) % k: the run starts at lane 0.
    banks.rotate_left(start);
    windows.rotate_left(start);
    let (before, from_start) = members.split_at_mut(start);
    let (mut hot, mut colds): Parts<'_> = (Vec::with_capacity(k), Vec::with_capacity(k));
    for ((m, regs), mem) in from_start.iter_mut().chain(before).zip(banks).zip(windows) {
        let Member {
            ctx, code, flags, ..
        } = m;
        // Shared, and named by its type: `code.as_ref()` would borrow the local.
        let code: &C = code;
        hot.push((regs?, C::as_ref(code).ops(), *flags));
        colds.push(Cold::new(mem?, ctx));
    }
    let mut lanes: Vec<Lane<'_, '_>> = hot
        .into_iter()
        .zip(colds.iter_mut())
        .map(|((regs, ops, flags), cold)| Lane::new(regs, ops, flags, cold))
        .collect();

    let (exit, at, turns, left) = run_lanes(&mut lanes, budget, rotations);
    // The log holds op indices: make them PCs. A lane whose PC is unchecked after a
    // rotation faults at its next turn, so only its last rotation can hold MARK, and its
    // PC has not changed since.
    if !rotations.is_empty() {
        let mask = rotations.len() - 1;
        for r in turns.saturating_sub(rotations.len() as u64)..turns {
            let slot = &mut rotations[r as usize & mask];
            *slot = if *slot == MARK {
                lanes[(r % k as u64) as usize].core.pc
            } else {
                *slot << 2
            };
        }
    }

    // The turn that stopped the run (if one did) retired 0 or 1 instructions.
    let stopped = exit != Exit::Budget;
    let last = if stopped { 1 - left } else { 0 };
    // Turns 0..turns retired one instruction each (switches in follow from the turns,
    // `RingRun::switches_in`).
    for (j, lane) in lanes.iter_mut().enumerate() {
        let Lane { core, ip, cold, .. } = lane;
        let pc = pc_of(*ip, core.pc);
        let steps = turns_of(j, k, 0, turns) + if j == at { last } else { 0 };
        let (sp, psw) = (cold.sp, core.flags.psw());
        let ctx = &mut *cold.stack;
        ctx.pc = pc;
        ctx.sp = sp;
        ctx.psw = psw;
        ctx.steps += steps;
    }
    Some(RingRun {
        exit,
        retired: turns + last,
        turns,
        at: (start + at) % k,
        left: if stopped { 1 - last as u32 } else { 0 },
        members: k,
        start,
    })
}

/// One turn of `$lane`, whose next op index is in `$ip`: one instruction, or the stop on
/// it, which sets `core.pc` and then runs `$stopped!(exit, left)` with the instructions
/// left in the turn (0 or 1; it must leave the caller's loop). The turn's instruction
/// budget is a local constant 1, so the handlers' budget arithmetic folds away.
macro_rules! turn {
    ($lane:expr, $ip:expr, $stopped:ident) => {{
        let lane: &mut Lane<'_, '_> = $lane;
        let core = &mut lane.core;
        let ops = lane.ops;
        let end = ops.len() - 1;
        let mut ip: usize = $ip;
        let mut left = 1u64;
        'op: {
            macro_rules! next {
                () => {
                    break 'op
                };
            }
            macro_rules! far {
                ($target:expr) => {{
                    let target: u32 = $target;
                    core.pc = target;
                    ip = op_index(target, end);
                    break 'op;
                }};
            }
            macro_rules! stop {
                ($exit:expr) => {{
                    // Every stop has set `core.pc`.
                    let exit = $exit;
                    $stopped!(exit, left)
                }};
            }
            // Fields are read where the handler uses them.
            let op: &Op = match ops.get(ip) {
                Some(op) => op,
                None => match core.enter(end) {
                    Ok(checked) => {
                        ip = checked;
                        &ops[ip]
                    }
                    Err(exit) => stop!(exit),
                },
            };
            // The cold state is reached where a handler uses it: bound once per turn,
            // its pointer took a host register from every turn (1.3 more host
            // instructions a step with 1,000 lanes).
            if op.kind.moves_pc() {
                dispatch!(core, (*lane.cold), op, ip, end, left);
            } else {
                dispatch!(core, (*lane.cold), op, ip, end, left);
            }
            ip += 1;
        }
        $ip = ip;
    }};
}

/// Turn after turn, lane 0 first, until `budget` turns have begun or a lane stops (how
/// it ended: [`Stopped`]). Its own function, so that the loop has the host registers to
/// itself.
///
/// Rings of two to four lanes run whole rounds in [`unrolled`] loops first. Larger rings
/// run whole rounds in blocks of four lanes, unrolled, and then the lanes that are
/// left one by one, so the budget is checked once a round and a lane is found at a
/// fixed offset; the last, partial round runs its lanes one by one. A lane's op index
/// goes through the lane from one of its turns to the next (with five lanes or more,
/// that round trip overlaps the other lanes' turns). The log takes op indices, made PCs
/// when the run ends.
///
/// A turn reads the fields of its op where the handler uses them, not all at once at
/// the fetch: that took 1,000 lanes from 45 to 33 host instructions a step.
///
/// Two copies of the dispatch, for kinds that move the PC or stop and the others, serve
/// every lane: the host predicts the branch that picks one from its history, and each
/// indirect jump then picks among fewer handlers. With one copy, how well the host
/// predicted the next lane's handler depended on where the compiler had placed the
/// handlers: MOV; JMP in two to ten lanes ran at 11-14 ns a step against 3.1-3.8 ns with
/// two copies, and ST/LD/ADD/CMP/JNZ at 7-8 ns against 4-5 ns (`examples/ring.rs`,
/// BENCHMARKS.md §2).
// Handlers count the budget down on paths that end the turn: those counts are dead
// unless the turn stops.
#[allow(unused_assignments)]
#[inline(never)]
fn run_lanes(lanes: &mut [Lane<'_, '_>], budget: u64, rotations: &mut [u32]) -> Stopped {
    let k = lanes.len();
    // With no log to keep, every rotation goes to one spare slot.
    let mut spare = [0u32; 1];
    let log: &mut [u32] = if rotations.is_empty() {
        &mut spare
    } else {
        rotations
    };
    let log_len = log.len();
    let whole_rounds = match lanes {
        [a, b] => unrolled::two([a, b], budget, log),
        [a, b, c] => unrolled::three([a, b, c], budget, log),
        [a, b, c, d] => unrolled::four([a, b, c, d], budget, log),
        _ => Ok(0),
    };
    // Turns begun before the current round; turn t runs lane t % k and logs at
    // t % log_len. Every turn but a stopping one ends in a rotation, so when the run
    // ends this is the number of rotations. The unrolled loops end at a round's end.
    let mut turns = match whole_rounds {
        Ok(turns) => turns,
        Err(stopped) => return stopped,
    };
    let mask = log_len - 1;
    let (exit, at, left) = 'run: loop {
        let unspent = budget - turns;
        // A whole round runs blocks of four lanes unrolled, then the lanes that are left
        // one by one; the last, partial round runs its lanes one by one.
        let whole = unspent >= k as u64;
        let singles = if whole {
            let (blocks, _) = lanes.as_chunks_mut::<4>();
            for (b, block) in blocks.iter_mut().enumerate() {
                let first = 4 * b;
                macro_rules! block_turn {
                    ($j:literal) => {{
                        let lane = &mut block[$j];
                        let mut ip = lane.ip;
                        macro_rules! stopped {
                            ($exit:expr, $left:expr) => {{
                                lane.ip = UNCHECKED;
                                turns += (first + $j) as u64;
                                break 'run ($exit, first + $j, $left);
                            }};
                        }
                        turn!(&mut *lane, ip, stopped);
                        lane.ip = ip;
                        // An unchecked PC is logged as MARK and looked up when the run
                        // ends.
                        log[(turns as usize + first + $j) & mask] = ip as u32;
                    }};
                }
                block_turn!(0);
                block_turn!(1);
                block_turn!(2);
                block_turn!(3);
            }
            k / 4 * 4..k
        } else {
            0..unspent as usize
        };
        for j in singles.clone() {
            let lane = &mut lanes[j];
            let mut ip = lane.ip;
            macro_rules! stopped {
                ($exit:expr, $left:expr) => {{
                    lane.ip = UNCHECKED;
                    turns += j as u64;
                    break 'run ($exit, j, $left);
                }};
            }
            turn!(&mut *lane, ip, stopped);
            lane.ip = ip;
            log[(turns as usize + j) & mask] = ip as u32;
        }
        if !whole {
            turns += singles.end as u64;
            break (Exit::Budget, singles.end % k, 0);
        }
        turns += k as u64;
    };
    (exit, at, turns, left)
}

/// How the lanes stopped: the exit, the lane whose turn is current (stopped, or next in
/// line), the number of rotations and the instructions left in a stopped turn (0 or
/// 1; 0 when the budget ran out).
type Stopped = (Exit, usize, u64, u64);

/// Whole rounds of rings of two, three and four lanes, with the round unrolled and each
/// lane's next op index in a local. In the general loop a lane's index goes through
/// memory from one of its turns to the next; with few lanes that store and load are
/// most of the time between its turns, and two lanes ran at 46-52 % of one context's
/// throughput against 77-112 % with the indices held in host registers
/// (`examples/ring.rs K STEPS PROGRAM ratio`).
///
/// Each function runs rounds while the budget covers a whole one. `Ok(turns)`: it ran
/// `turns` (whole rounds; the lanes' indices are back in the lanes) and the general loop
/// goes on from there. `Err(result)`: a lane stopped, the run is over.
mod unrolled {
    use super::*;

    /// What a stop or the end of the whole rounds leaves: see the module.
    type Rounds = Result<u64, Stopped>;

    macro_rules! rounds {
        ($name:ident, $n:literal, $($j:literal)+) => {
            #[allow(unused_assignments)]
            #[inline(never)]
            pub(super) fn $name(
                mut lanes: [&mut Lane<'_, '_>; $n],
                budget: u64,
                log: &mut [u32],
            ) -> Rounds {
                let mask = log.len() - 1;
                let mut ips = [$(lanes[$j].ip),+];
                let mut turns = 0u64;
                while budget - turns >= $n {
                    $(
                        macro_rules! stopped {
                            ($exit:expr, $left:expr) => {{
                                ips[$j] = UNCHECKED;
                                for (lane, ip) in lanes.iter_mut().zip(ips) {
                                    lane.ip = ip;
                                }
                                return Err(($exit, $j, turns + $j, $left));
                            }};
                        }
                        turn!(&mut *lanes[$j], ips[$j], stopped);
                        // An unchecked PC is logged as MARK and looked up when the run ends.
                        log[(turns as usize + $j) & mask] = ips[$j] as u32;
                    )+
                    turns += $n;
                }
                for (lane, ip) in lanes.iter_mut().zip(ips) {
                    lane.ip = ip;
                }
                Ok(turns)
            }
        };
    }

    rounds!(two, 2, 0 1);
    rounds!(three, 3, 0 1 2);
    rounds!(four, 4, 0 1 2 3);
}

/// Every member's bank and window, borrowed from VM RAM, in member order (each is
/// `Some` unless the caller's records did not fit, which it has ruled out).
type Arenas<'r> = (
    Vec<Option<&'r mut [u32; REGISTERS]>>,
    Vec<Option<&'r mut [u8]>>,
);

/// An arena as one integer that sorts by address: its first word, its member, its
/// length in words and whether it is the window.
#[inline(always)]
fn span(first: usize, member: usize, words: usize, is_window: bool) -> u128 {
    (first as u128) << 96 | (member as u128) << 64 | (words as u128) << 1 | is_window as u128
}

/// Every member's bank and window as disjoint borrows of `ram`, in member order; `None`
/// if two arenas overlap (or one does not fit, which the caller has ruled out).
fn split_arenas<'r, C>(members: &[Member<'_, C>], ram: &'r mut [u32]) -> Option<Arenas<'r>> {
    if u32::try_from(members.len()).is_err() {
        return None;
    }
    let (mut bank_spans, mut window_spans): (Vec<u128>, Vec<u128>) = members
        .iter()
        .enumerate()
        .map(|(j, m)| {
            let (bank, win, win_words) = m.placement.spans();
            (
                span(bank, j, REGISTERS, false),
                span(win, j, win_words, true),
            )
        })
        .unzip();
    address_order(&mut bank_spans);
    address_order(&mut window_spans);
    let mut banks: Vec<Option<&'r mut [u32; REGISTERS]>> = Vec::with_capacity(members.len());
    let mut windows: Vec<Option<&'r mut [u8]>> = Vec::with_capacity(members.len());
    banks.resize_with(members.len(), || None);
    windows.resize_with(members.len(), || None);
    let mut rest: &'r mut [u32] = ram;
    let mut at = 0usize;
    for span in merge(&bank_spans, &window_spans) {
        let (first, j, words, is_window) = (
            (span >> 96) as usize,
            (span >> 64) as u32 as usize,
            (span as u64 >> 1) as usize,
            span & 1 == 1,
        );
        let gap = first.checked_sub(at)?;
        let (_, tail) = rest.split_at_mut_checked(gap)?;
        let (arena, tail) = tail.split_at_mut_checked(words)?;
        rest = tail;
        at = first + words;
        if is_window {
            windows[j] = Some(bytemuck::cast_slice_mut(arena));
        } else {
            banks[j] = Some(arena.try_into().ok()?);
        }
    }
    Some((banks, windows))
}

/// Sort `spans`. An executive's arenas usually come in order up to a rotation (the
/// ring starts at the head of a ready queue whose tasks were laid out in spawn order,
/// windows upwards and banks downwards), which is put right in linear time; anything
/// else is sorted.
fn address_order<T: Ord + Copy>(spans: &mut [T]) {
    if let Some(turn) = rotation_point(spans) {
        spans.rotate_left(turn);
        return;
    }
    spans.reverse();
    if let Some(turn) = rotation_point(spans) {
        spans.rotate_left(turn);
        return;
    }
    spans.sort_unstable();
}

/// If `spans` is an ascending sequence rotated left by some amount, the index where it
/// has to be split to undo that.
fn rotation_point<T: Ord + Copy>(spans: &[T]) -> Option<usize> {
    let mut descents = spans.windows(2).enumerate().filter(|(_, w)| w[0] > w[1]);
    match (descents.next(), descents.next()) {
        (None, _) => Some(0),
        (Some((i, _)), None) if spans[spans.len() - 1] <= spans[0] => Some(i + 1),
        _ => None,
    }
}

/// Two ascending sequences as one.
fn merge<T: Ord + Copy>(a: &[T], b: &[T]) -> Vec<T> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        if a[i] <= b[j] {
            out.push(a[i]);
            i += 1;
        } else {
            out.push(b[j]);
            j += 1;
        }
    }
    out.extend_from_slice(&a[i..]);
    out.extend_from_slice(&b[j..]);
    out
}

#[cfg(test)]
mod tests {
    use super::address_order;
    use crate::ring::turns_of;
    use alloc::vec::Vec;

    /// Two members running `ADD; JMP` (banks at 0x100 and 0x140, windows from 0x200).
    fn pair(windows: [u32; 2]) -> (Vec<u32>, [crate::Context; 2], crate::Program) {
        use hsx_isa::{Opcode, encode};
        let program = crate::Program::from_words(&[
            encode::rrr(Opcode::Add, 2, 2, 1),
            encode::jump(Opcode::Jmp, 0),
        ]);
        let ctx = |j: u32| {
            crate::Context::new(
                0,
                crate::Layout {
                    reg_base: 0x100 + 0x40 * j,
                    window_base: windows[j as usize],
                    window_size: 0x100,
                    stack_top: 0x100,
                    stack_limit: 0x80,
                },
            )
        };
        (alloc::vec![0u32; 0x400 / 4], [ctx(0), ctx(1)], program)
    }

    fn lanes_run(windows: [u32; 2]) -> Option<crate::RingRun> {
        let (mut ram, mut ctxs, program) = pair(windows);
        let mut members = ctxs.each_mut().map(|c| {
            let placement = crate::context::Placement::of(c, ram.len()).unwrap();
            let mut m = crate::Member::new(c, 1, &program);
            m.placement = placement;
            m
        });
        super::run_quantum_one(&mut members, &mut ram, 0, 10, &mut [])
    }

    #[test]
    fn disjoint_members_run_on_lanes_and_a_shared_window_falls_back() {
        let run = lanes_run([0x200, 0x300]).expect("disjoint arenas run on lanes");
        assert_eq!(
            (run.exit, run.retired, run.turns),
            (crate::Exit::Budget, 10, 10)
        );
        assert!(lanes_run([0x200, 0x200]).is_none());
    }

    #[test]
    fn unrolled_rounds_end_at_a_whole_round_or_at_the_lane_that_stops() {
        use super::{Cold, Lane, UNCHECKED, split_arenas, unrolled};
        let (mut ram, mut ctxs, program) = pair([0x200, 0x300]);
        // The second member's PC is not an instruction address: it faults at its turn.
        ctxs[1].pc = 2;
        for stopping in [false, true] {
            let mut records = ctxs;
            let mut members = records.each_mut().map(|c| {
                if !stopping {
                    c.pc = 0;
                }
                let placement = crate::context::Placement::of(c, ram.len()).unwrap();
                let mut m = crate::Member::new(c, 1, &program);
                m.placement = placement;
                m
            });
            let (banks, windows) = split_arenas(&members, &mut ram).unwrap();
            let (hot, mut colds): (Vec<_>, Vec<_>) = members
                .iter_mut()
                .zip(banks)
                .zip(windows)
                .map(|((m, regs), mem)| {
                    let crate::Member {
                        ctx, code, flags, ..
                    } = m;
                    let hot = (regs.unwrap(), code.ops(), *flags);
                    (hot, Cold::new(mem.unwrap(), ctx))
                })
                .unzip();
            let mut lanes: Vec<Lane<'_, '_>> = hot
                .into_iter()
                .zip(colds.iter_mut())
                .map(|((regs, ops, flags), cold)| Lane::new(regs, ops, flags, cold))
                .collect();
            let [a, b] = &mut lanes[..] else {
                unreachable!()
            };
            let mut log = [u32::MAX; 8];
            let rounds = unrolled::two([a, b], 7, &mut log);
            if stopping {
                // Turn 1 (the second lane's first) stops, after one rotation.
                let fault = crate::Exit::Fault {
                    fault: hsx_isa::Fault::PcOutOfRange,
                    pc: 2,
                };
                assert_eq!(rounds, Err((fault, 1, 1, 1)));
                assert_eq!((a.ip, b.ip), (1, UNCHECKED));
                assert_eq!(log[..2], [1, u32::MAX]);
            } else {
                // Budget for 7 turns: three whole rounds; the 7th is the general loop's.
                assert_eq!(rounds, Ok(6));
                assert_eq!((a.ip, b.ip), (1, 1));
                assert_eq!(log[..7], [1, 1, 0, 0, 1, 1, u32::MAX]);
            }
        }
    }

    #[test]
    fn arenas_come_in_address_order_however_they_arrive() {
        let sorted: Vec<u64> = (0..8).map(|n| n * 10).collect();
        let arrivals: [&[u64]; 6] = [
            &[0, 10, 20, 30, 40, 50, 60, 70],
            &[30, 40, 50, 60, 70, 0, 10, 20],
            &[70, 60, 50, 40, 30, 20, 10, 0],
            &[20, 10, 0, 70, 60, 50, 40, 30],
            &[40, 0, 70, 10, 60, 20, 50, 30],
            &[10, 0, 20, 30, 40, 50, 60, 70],
        ];
        for arrival in arrivals {
            let mut spans = arrival.to_vec();
            address_order(&mut spans);
            assert_eq!(spans, sorted, "from {arrival:?}");
        }
        let mut one = [5];
        address_order(&mut one);
        assert_eq!(one, [5]);
        address_order::<u64>(&mut []);
    }

    #[test]
    fn turns_are_dealt_round_the_ring() {
        // 3 lanes: turns 0..7 run 0 1 2 0 1 2 0.
        let counts = [0, 1, 2].map(|j| turns_of(j, 3, 0, 7));
        assert_eq!(counts, [3, 2, 2]);
        // Turns 1..7 leave out lane 0's first turn.
        let counts = [0, 1, 2].map(|j| turns_of(j, 3, 1, 7));
        assert_eq!(counts, [2, 2, 2]);
        assert_eq!(turns_of(0, 1, 1, 1), 0);
        assert_eq!(turns_of(0, 1, 1, 0), 0);
    }
}
