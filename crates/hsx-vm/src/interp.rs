//! The interpreter: retire instructions of one context against VM RAM (`isa.md` §6-§9).
//!
//! Registers are read and written in the context's register bank in VM RAM. PC, PSW, SP
//! and the call depth live in locals while running and are written back to the context
//! record when `run` returns; nothing else is cached, so a debugger that writes the bank
//! between two calls is seen by the very next instruction.

use half::f16;
use hsx_isa::Fault;

use crate::context::{Checked, Context, Exit, REGISTERS, RunResult, split_ram};
use crate::program::{Kind, Program};

const NAN16: u16 = 0x7E00;

/// Execute up to `budget` instructions of `ctx`, stopping early at an SVC, BRK, exit or
/// fault. Retired instructions are added to `ctx.steps`.
///
/// `budget = 1` is the single step used by the executive for breakpoints, watches and
/// tracing; the result is identical to running the same instructions in one call.
pub fn run(ctx: &mut Context, ram: &mut [u32], program: &Program, budget: u64) -> RunResult {
    match split_ram(ctx, ram) {
        Ok((regs, mem)) => {
            let mut flags = Flags::explicit(ctx.psw);
            let result = run_turn(ctx, &mut flags, regs, mem, program, budget);
            ctx.psw = flags.psw();
            result
        }
        Err(e) => RunResult {
            exit: Exit::Layout(e),
            retired: 0,
        },
    }
}

/// Services system calls inside a run ([`run_checked`]), so a call that completes at
/// once costs no return to the caller and no new entry.
pub trait Supervisor {
    /// `SVC module, function` retired (the PC is past it); `regs` and `window` are the
    /// running context's, `left` the instructions the run may still retire. `None`: not
    /// serviced here, the run stops with [`Exit::Trap`] as it would without a supervisor
    /// (nothing may have changed). `Some(n)`: serviced, the run goes on with at most
    /// `n` more instructions (`Some(0)` ends it with [`Exit::Budget`]).
    fn svc(
        &mut self,
        module: u8,
        function: u8,
        regs: &mut [u32; REGISTERS],
        window: &mut [u8],
        left: u64,
    ) -> Option<u64>;
}

/// [`run`] for a record whose layout was checked once ([`Checked`]), without the
/// layout checks at entry, and with system calls offered to `supervisor` first: a
/// serviced call costs a return from the interpreter loop and a new entry, but no trip
/// through the caller. The supervisor is called outside the loop, so the loop compiles
/// as [`run`]'s does (with the call inside it, the executive's plain steps cost 10%
/// more host instructions). Never inlined: inside a large caller the loop would lose
/// the registers it keeps its state in.
#[inline(never)]
pub fn run_checked<S: Supervisor>(
    ctx: &mut Context,
    checked: &Checked,
    ram: &mut [u32],
    program: &Program,
    budget: u64,
    supervisor: &mut S,
) -> RunResult {
    match checked.carve(ram) {
        Ok((regs, mem)) => {
            let mut flags = Flags::explicit(ctx.psw);
            let (mut left, mut retired) = (budget, 0);
            let exit = loop {
                let r = run_turn(ctx, &mut flags, regs, mem, program, left);
                (left, retired) = (left - r.retired, retired + r.retired);
                if let Exit::Trap { module, function } = r.exit
                    && let Some(more) = supervisor.svc(module, function, regs, mem, left)
                {
                    // Serviced: go on past the SVC (the PC is there already).
                    left = left.min(more);
                    continue;
                }
                break r.exit;
            };
            ctx.psw = flags.psw();
            RunResult { exit, retired }
        }
        Err(e) => RunResult {
            exit: Exit::Layout(e),
            retired: 0,
        },
    }
}

/// Execute up to `budget` instructions of `ctx` whose bank and window are already
/// borrowed out of VM RAM, with its flags in `flags` (the caller writes the PSW back);
/// write PC and SP back and add the retired count to `ctx.steps`. Shared by [`run`] and
/// [`run_checked`], which calls it again after each system call its supervisor serviced.
#[inline(always)]
pub(crate) fn run_turn(
    ctx: &mut Context,
    flags: &mut Flags,
    regs: &mut [u32; REGISTERS],
    mem: &mut [u8],
    program: &Program,
    budget: u64,
) -> RunResult {
    let mut core = Core::new(regs, ctx.pc, *flags);
    let mut cold = Cold::new(mem, ctx);
    let mut left = budget;
    let exit = core.execute(&mut cold, &mut left, program);
    let retired = budget - left;
    *flags = core.flags;
    let (pc, sp) = (core.pc, cold.sp);
    let ctx = cold.stack;
    ctx.pc = pc;
    ctx.sp = sp;
    ctx.steps += retired;
    RunResult { exit, retired }
}

/// Execute exactly one instruction (or stop on it). Same as `run(.., 1)`.
pub fn step(ctx: &mut Context, ram: &mut [u32], program: &Program) -> RunResult {
    run(ctx, ram, program, 1)
}

/// Every op's semantics, written once and expanded into each driver loop
/// ([`Core::execute`] and the round-robin loops of `ring.rs` and `lanes.rs`), so each
/// driver keeps straight-line control flow from the handlers back to its loop head. The
/// driver passes its core, its [`Cold`] state (an expression, evaluated only by the
/// instructions that use it), the op, its index, the sentinel index and the place that
/// counts its budget down (a local; a driver running one instruction a turn keeps it
/// constant so the arithmetic folds away), and defines three local macros: `next!()`
/// continues at `$ip` (already updated), `far!(address)` continues at a byte address
/// that still has to be validated, `stop!(exit)` ends the run. An op that falls out of
/// the match has retired nothing yet: the driver retires it and continues at `$ip + 1`.
macro_rules! dispatch {
    ($core:ident, $cold:expr, $op:ident, $ip:ident, $end:ident, $left:expr) => {
        match $op.kind {
            Kind::Ldi => $core.set($op.rd, $op.imm),
            Kind::Ld => match $cold.load::<4>(ea!($core, $op)) {
                Some(b) => $core.set($op.rd, u32::from_le_bytes(b)),
                None => fault!($core, $ip, Fault::MemFault),
            },
            Kind::Ldb => match $cold.load::<1>(ea!($core, $op)) {
                Some(b) => $core.set($op.rd, b[0] as u32),
                None => fault!($core, $ip, Fault::MemFault),
            },
            Kind::Ldh => match $cold.load::<2>(ea!($core, $op)) {
                Some(b) => $core.set($op.rd, u16::from_le_bytes(b) as u32),
                None => fault!($core, $ip, Fault::MemFault),
            },
            Kind::St => {
                let v = $core.r($op.rs2);
                if !$cold.store(ea!($core, $op), v.to_le_bytes()) {
                    fault!($core, $ip, Fault::MemFault);
                }
            }
            Kind::Stb => {
                let v = $core.r($op.rs2) as u8;
                if !$cold.store(ea!($core, $op), [v]) {
                    fault!($core, $ip, Fault::MemFault);
                }
            }
            Kind::Sth => {
                let v = $core.r($op.rs2) as u16;
                if !$cold.store(ea!($core, $op), v.to_le_bytes()) {
                    fault!($core, $ip, Fault::MemFault);
                }
            }
            Kind::Mov => $core.set($op.rd, $core.r($op.rs1)),
            Kind::Add => {
                $core.add($op.rd, $op.rs1, $op.rs2);
            }
            Kind::Sub => {
                $core.sub($op.rd, $op.rs1, $op.rs2);
            }
            Kind::Cmp => {
                $core.cmp($op.rs1, $op.rs2);
            }
            Kind::And => {
                $core.and($op.rd, $op.rs1, $op.rs2);
            }
            Kind::Adc => {
                let (a, b) = ($core.r($op.rs1), $core.r($op.rs2));
                let cin = $core.flags.carry();
                let wide = a as u64 + b as u64 + cin as u64;
                let r = wide as u32;
                let v = ((a ^ r) & (b ^ r)) >> 31;
                $core.flags =
                    Flags::explicit_result(zn(r) | ((wide >> 32) as u32) << 1 | v << 3, r);
                $core.set($op.rd, r);
            }
            Kind::Sbc => {
                let (a, b) = ($core.r($op.rs1), $core.r($op.rs2));
                let borrow = 1 - $core.flags.carry();
                let r = a.wrapping_sub(b).wrapping_sub(borrow);
                let c = (a as u64 >= b as u64 + borrow as u64) as u32;
                let v = ((a ^ b) & (a ^ r)) >> 31;
                $core.flags = Flags::explicit_result(zn(r) | c << 1 | v << 3, r);
                $core.set($op.rd, r);
            }
            Kind::Mul => {
                let wide = $core.r($op.rs1) as u64 * $core.r($op.rs2) as u64;
                let r = wide as u32;
                let cv = ((wide >> 32) != 0) as u32;
                $core.flags = Flags::explicit_result(zn(r) | cv << 1 | cv << 3, r);
                $core.set($op.rd, r);
            }
            Kind::Div => {
                let (a, b) = ($core.r($op.rs1) as i32, $core.r($op.rs2) as i32);
                if b == 0 {
                    fault!($core, $ip, Fault::DivZero);
                }
                let r = a.wrapping_div(b) as u32;
                $core.flags = Flags::logic(r);
                $core.set($op.rd, r);
            }
            Kind::Or => {
                let r = $core.r($op.rs1) | $core.r($op.rs2);
                $core.flags = Flags::logic(r);
                $core.set($op.rd, r);
            }
            Kind::Xor => {
                let r = $core.r($op.rs1) ^ $core.r($op.rs2);
                $core.flags = Flags::logic(r);
                $core.set($op.rd, r);
            }
            Kind::Not => {
                let r = !$core.r($op.rs1);
                $core.flags = Flags::logic(r);
                $core.set($op.rd, r);
            }
            Kind::Lsl => {
                $core.shift($op.rd, $op.rs1, $op.rs2, |a, s| (a << s, (a >> (32 - s)) & 1))
            }
            Kind::Lsr => {
                $core.shift($op.rd, $op.rs1, $op.rs2, |a, s| (a >> s, (a >> (s - 1)) & 1))
            }
            Kind::Asr => $core.shift($op.rd, $op.rs1, $op.rs2, |a, s| {
                (((a as i32) >> s) as u32, (a >> (s - 1)) & 1)
            }),
            Kind::Jmp => {
                $left -= 1;
                $ip = $op.imm as usize;
                next!();
            }
            Kind::Jz => {
                $left -= 1;
                $ip = if $core.flags.zero() {
                    $op.imm as usize
                } else {
                    $ip + 1
                };
                next!();
            }
            Kind::Jnz => {
                $left -= 1;
                $ip = if $core.flags.zero() {
                    $ip + 1
                } else {
                    $op.imm as usize
                };
                next!();
            }
            Kind::JmpFar => {
                $left -= 1;
                far!($op.imm);
            }
            Kind::JzFar => {
                if $core.flags.zero() {
                    $left -= 1;
                    far!($op.imm);
                }
            }
            Kind::JnzFar => {
                if !$core.flags.zero() {
                    $left -= 1;
                    far!($op.imm);
                }
            }
            Kind::AddJz => fused!($core, $ip, $op.imm, $core.add($op.rd, $op.rs1, $op.rs2), ==, $left),
            Kind::AddJnz => fused!($core, $ip, $op.imm, $core.add($op.rd, $op.rs1, $op.rs2), !=, $left),
            Kind::SubJz => fused!($core, $ip, $op.imm, $core.sub($op.rd, $op.rs1, $op.rs2), ==, $left),
            Kind::SubJnz => fused!($core, $ip, $op.imm, $core.sub($op.rd, $op.rs1, $op.rs2), !=, $left),
            Kind::CmpJz => fused!($core, $ip, $op.imm, $core.cmp($op.rs1, $op.rs2), ==, $left),
            Kind::CmpJnz => fused!($core, $ip, $op.imm, $core.cmp($op.rs1, $op.rs2), !=, $left),
            Kind::AndJz => fused!($core, $ip, $op.imm, $core.and($op.rd, $op.rs1, $op.rs2), ==, $left),
            Kind::AndJnz => fused!($core, $ip, $op.imm, $core.and($op.rd, $op.rs1, $op.rs2), !=, $left),
            Kind::CallAbs | Kind::CallReg => {
                let target = if $op.kind == Kind::CallAbs {
                    $op.imm
                } else {
                    $core.r($op.rs1).wrapping_add($op.imm) & 0xFFFF
                };
                let Some(sp) = $cold
                    .sp
                    .checked_sub(4)
                    .filter(|&sp| sp >= $cold.stack.stack_limit)
                else {
                    fault!($core, $ip, Fault::StackOverflow);
                };
                let ret = (($ip as u32) << 2).wrapping_add(4);
                if !$cold.store(sp, ret.to_le_bytes()) {
                    fault!($core, $ip, Fault::MemFault);
                }
                $cold.sp = sp;
                $core.set(15, sp);
                $cold.stack.call_depth += 1;
                $left -= 1;
                if target & 3 == 0 && ((target >> 2) as usize) < $end {
                    $ip = (target >> 2) as usize;
                    next!();
                }
                far!(target);
            }
            Kind::Ret => {
                if $cold.stack.call_depth == 0 {
                    $core.pc = ($ip as u32) << 2;
                    stop!(Exit::Exit { status: $core.r(0) });
                }
                if $cold
                    .sp
                    .checked_add(4)
                    .is_none_or(|e| e > $cold.stack.stack_top)
                {
                    fault!($core, $ip, Fault::StackUnderflow);
                }
                let Some(b) = $cold.load::<4>($cold.sp) else {
                    fault!($core, $ip, Fault::MemFault);
                };
                $cold.sp += 4;
                $core.set(15, $cold.sp);
                $cold.stack.call_depth -= 1;
                $left -= 1;
                let target = u32::from_le_bytes(b);
                if target & 3 == 0 && ((target >> 2) as usize) < $end {
                    $ip = (target >> 2) as usize;
                    next!();
                }
                far!(target);
            }
            Kind::Push => {
                let v = $core.r($op.rs1);
                let Some(sp) = $cold
                    .sp
                    .checked_sub(4)
                    .filter(|&sp| sp >= $cold.stack.stack_limit)
                else {
                    fault!($core, $ip, Fault::StackOverflow);
                };
                if !$cold.store(sp, v.to_le_bytes()) {
                    fault!($core, $ip, Fault::MemFault);
                }
                $cold.sp = sp;
                $core.set(15, sp);
            }
            // POP and RET spell the pop out: a shared `Result`-returning helper measured
            // 2 host instructions slower per step on straight-line code and 12 per fib call.
            Kind::Pop => {
                if $cold
                    .sp
                    .checked_add(4)
                    .is_none_or(|e| e > $cold.stack.stack_top)
                {
                    fault!($core, $ip, Fault::StackUnderflow);
                }
                let Some(b) = $cold.load::<4>($cold.sp) else {
                    fault!($core, $ip, Fault::MemFault);
                };
                $cold.sp += 4;
                $core.set(15, $cold.sp);
                $core.set($op.rd, u32::from_le_bytes(b));
            }
            Kind::Svc => {
                $core.pc = (($ip as u32) << 2) + 4;
                $left -= 1;
                stop!(Exit::Trap {
                    module: ($op.imm >> 8) as u8 & 0xF,
                    function: $op.imm as u8,
                });
            }
            Kind::Brk => {
                let pc = ($ip as u32) << 2;
                $core.pc = pc + 4;
                $left -= 1;
                stop!(Exit::Break {
                    code: $op.imm as u8,
                    pc,
                });
            }
            Kind::Fadd | Kind::Fsub | Kind::Fmul | Kind::Fdiv => {
                let (a, b) = ($core.r($op.rs1), $core.r($op.rs2));
                let r = match $op.kind {
                    Kind::Fadd => f16_op(a, b, |x, y| x + y),
                    Kind::Fsub => f16_op(a, b, |x, y| x - y),
                    Kind::Fmul => f16_op(a, b, |x, y| x * y),
                    _ => f16_op(a, b, |x, y| x / y),
                };
                let d = $core.r($op.rd);
                $core.set($op.rd, (d & 0xFFFF_0000) | r as u32);
            }
            Kind::I2f => {
                let x = f16::from_f64($core.r($op.rs1) as i32 as f64);
                let d = $core.r($op.rd);
                $core.set($op.rd, (d & 0xFFFF_0000) | x.to_bits() as u32);
            }
            Kind::F2i => {
                let x = f16::from_bits($core.r($op.rs1) as u16).to_f32();
                $core.set($op.rd, x as i32 as u32);
            }
            Kind::Ldi32 => {
                $core.set($op.rd, $op.imm);
                $left -= 1;
                $ip += 2;
                next!();
            }
            Kind::Ldi32Truncated | Kind::End => fault!($core, $ip, Fault::PcOutOfRange),
            Kind::Illegal => fault!($core, $ip, Fault::IllegalOpcode),
        }
    };
}
pub(crate) use dispatch;

/// Fault at op `$ip`: R0 = the fault code, PC on the instruction, nothing retired.
macro_rules! fault {
    ($core:ident, $ip:expr, $f:expr) => {{
        let f: Fault = $f;
        $core.pc = ($ip as u32) << 2;
        $core.set(0, f.code());
        stop!(Exit::Fault {
            fault: f,
            pc: $core.pc,
        })
    }};
}
pub(crate) use fault;

/// A fused `ALU; JZ/JNZ` pair: the ALU op always executes; the branch is taken in the
/// same dispatch only if the budget covers it too (JZ: `==`, JNZ: `!=` zero), otherwise
/// the op retires alone and the branch runs as its own op next time.
macro_rules! fused {
    ($core:ident, $ip:ident, $target:expr, $alu:expr, $cmp:tt, $left:expr) => {{
        let r = $alu;
        if $left >= 2 {
            $left -= 2;
            $ip = if r $cmp 0 { $target as usize } else { $ip + 2 };
            next!();
        }
    }};
}
pub(crate) use fused;

/// Effective address of a load or store: `(rs1 + imm) & 0xFFFF`.
macro_rules! ea {
    ($core:ident, $op:expr) => {
        $core.r($op.rs1).wrapping_add($op.imm) & 0xFFFF
    };
}
pub(crate) use ea;

/// Interpreter state every instruction may use: the bank, the flags and the PC. What
/// only some instructions use (the window, SP and the context record) is in [`Cold`],
/// and the budget is the driver's own, so that a driver keeping many cores (the lanes)
/// streams only these few bytes per instruction.
pub(crate) struct Core<'r> {
    pub(crate) regs: &'r mut [u32; REGISTERS],
    pub(crate) flags: Flags,
    pub(crate) pc: u32,
}

/// Interpreter state only loads, stores and stack instructions use: the window, SP
/// (kept out of the register file between instructions) and the context record (call
/// depth and stack bounds).
pub(crate) struct Cold<'r> {
    pub(crate) mem: &'r mut [u8],
    pub(crate) sp: u32,
    pub(crate) stack: &'r mut Context,
}

impl<'r> Cold<'r> {
    /// The window `mem` of `ctx`, with its SP.
    #[inline(always)]
    pub(crate) fn new(mem: &'r mut [u8], ctx: &'r mut Context) -> Cold<'r> {
        Cold {
            mem,
            sp: ctx.sp,
            stack: ctx,
        }
    }

    #[inline(always)]
    pub(crate) fn load<const N: usize>(&self, ea: u32) -> Option<[u8; N]> {
        let ea = ea as usize;
        self.mem.get(ea..ea + N).map(|s| {
            let mut b = [0; N];
            b.copy_from_slice(s);
            b
        })
    }

    #[inline(always)]
    pub(crate) fn store<const N: usize>(&mut self, ea: u32, bytes: [u8; N]) -> bool {
        let ea = ea as usize;
        match self.mem.get_mut(ea..ea + N) {
            Some(s) => {
                s.copy_from_slice(&bytes);
                true
            }
            None => false,
        }
    }
}

/// Flags are evaluated lazily: ADD, SUB/CMP and logic ops record their operands and
/// result, and the PSW is computed only when something reads it (ADC/SBC and shifts by
/// zero read C, JZ/JNZ read Z, and `run` writes the PSW back into the context on every
/// exit). Z and N always follow the last result.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Flags {
    kind: FlagKind,
    a: u32,
    b: u32,
    r: u32,
}

/// `u32`-sized so that [`Flags`] is four plain words (no padding to copy at a switch).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
enum FlagKind {
    /// `a` holds the whole PSW; `r` is 0 iff Z is set.
    Explicit,
    Add,
    Sub,
    /// Z and N from `r`, C = V = 0.
    Logic,
}

impl Flags {
    #[inline(always)]
    pub(crate) fn explicit(psw: u32) -> Flags {
        Flags::explicit_result(psw & hsx_isa::psw::MASK, (psw & 1 == 0) as u32)
    }

    #[inline(always)]
    pub(crate) fn explicit_result(psw: u32, r: u32) -> Flags {
        Flags {
            kind: FlagKind::Explicit,
            a: psw,
            b: 0,
            r,
        }
    }

    #[inline(always)]
    pub(crate) fn logic(r: u32) -> Flags {
        Flags {
            kind: FlagKind::Logic,
            a: 0,
            b: 0,
            r,
        }
    }

    #[inline(always)]
    pub(crate) fn zero(&self) -> bool {
        self.r == 0
    }

    #[inline(always)]
    pub(crate) fn carry(&self) -> u32 {
        (self.psw() >> 1) & 1
    }

    #[inline(always)]
    pub(crate) fn psw(&self) -> u32 {
        let Flags { kind, a, b, r } = *self;
        match kind {
            FlagKind::Explicit => a,
            FlagKind::Add => zn(r) | ((r < a) as u32) << 1 | (((a ^ r) & (b ^ r)) >> 31) << 3,
            FlagKind::Sub => zn(r) | ((a >= b) as u32) << 1 | (((a ^ b) & (a ^ r)) >> 31) << 3,
            FlagKind::Logic => zn(r),
        }
    }
}

#[inline(always)]
pub(crate) fn zn(r: u32) -> u32 {
    ((r == 0) as u32) | ((r >> 31) << 2)
}

#[inline(always)]
pub(crate) fn f16_op(a: u32, b: u32, f: impl Fn(f32, f32) -> f32) -> u16 {
    let x = f16::from_bits(a as u16).to_f32();
    let y = f16::from_bits(b as u16).to_f32();
    let r = f16::from_f32(f(x, y));
    if r.is_nan() { NAN16 } else { r.to_bits() }
}

impl<'r> Core<'r> {
    /// A core on the bank `regs`, at `pc`, with `flags`.
    #[inline(always)]
    pub(crate) fn new(regs: &'r mut [u32; REGISTERS], pc: u32, flags: Flags) -> Core<'r> {
        Core { regs, flags, pc }
    }

    #[inline(always)]
    pub(crate) fn r(&self, n: u8) -> u32 {
        u32::from_le(self.regs[(n & 15) as usize])
    }

    #[inline(always)]
    pub(crate) fn set(&mut self, n: u8, v: u32) {
        self.regs[(n & 15) as usize] = v.to_le();
    }

    /// The main loop. `left` counts down the budget; an instruction that retires
    /// decrements it, one that faults or exits does not.
    ///
    /// The inner loop runs on an op index: sequential flow needs no fetch check because
    /// the program ends with a sentinel op, and near branch targets were validated at
    /// decode. Anything that moves the PC elsewhere (far branch, RET to an arbitrary
    /// address) leaves the inner loop and the outer loop re-validates the PC.
    #[inline(always)]
    pub(crate) fn execute(
        &mut self,
        cold: &mut Cold<'_>,
        left: &mut u64,
        program: &Program,
    ) -> Exit {
        let ops = program.ops();
        let end = ops.len() - 1;
        loop {
            if *left == 0 {
                return Exit::Budget;
            }
            if self.pc & 3 != 0 || (self.pc >> 2) as usize >= end {
                let f = Fault::PcOutOfRange;
                self.set(0, f.code());
                return Exit::Fault {
                    fault: f,
                    pc: self.pc,
                };
            }
            let mut ip = (self.pc >> 2) as usize;
            macro_rules! next {
                () => {
                    continue
                };
            }
            macro_rules! far {
                ($target:expr) => {
                    break $target
                };
            }
            macro_rules! stop {
                ($exit:expr) => {
                    return $exit
                };
            }
            // Leaves with the (retired) far target of a branch or RET.
            let far: u32 = loop {
                if *left == 0 {
                    self.pc = (ip as u32) << 2;
                    return Exit::Budget;
                }
                let op = ops[ip];
                dispatch!(self, cold, op, ip, end, *left);
                *left -= 1;
                ip += 1;
            };
            self.pc = far;
        }
    }

    /// The op index of `self.pc`, or a PC_OUT_OF_RANGE fault (R0 set) if it is not the
    /// address of an instruction; `end` is the index of the sentinel op.
    #[inline(always)]
    pub(crate) fn enter(&mut self, end: usize) -> Result<usize, Exit> {
        if self.pc & 3 != 0 || (self.pc >> 2) as usize >= end {
            let f = Fault::PcOutOfRange;
            self.set(0, f.code());
            return Err(Exit::Fault {
                fault: f,
                pc: self.pc,
            });
        }
        Ok((self.pc >> 2) as usize)
    }

    #[inline(always)]
    pub(crate) fn add(&mut self, rd: u8, rs1: u8, rs2: u8) -> u32 {
        let (a, b) = (self.r(rs1), self.r(rs2));
        let r = a.wrapping_add(b);
        self.flags = Flags {
            kind: FlagKind::Add,
            a,
            b,
            r,
        };
        self.set(rd, r);
        r
    }

    #[inline(always)]
    pub(crate) fn cmp(&mut self, rs1: u8, rs2: u8) -> u32 {
        let (a, b) = (self.r(rs1), self.r(rs2));
        let r = a.wrapping_sub(b);
        self.flags = Flags {
            kind: FlagKind::Sub,
            a,
            b,
            r,
        };
        r
    }

    #[inline(always)]
    pub(crate) fn sub(&mut self, rd: u8, rs1: u8, rs2: u8) -> u32 {
        let r = self.cmp(rs1, rs2);
        self.set(rd, r);
        r
    }

    /// LSL/LSR/ASR: `f(a, s)` gives (result, carry out) for s in 1..=31; s = 0 keeps
    /// the value and C.
    #[inline(always)]
    pub(crate) fn shift(&mut self, rd: u8, rs1: u8, rs2: u8, f: impl Fn(u32, u32) -> (u32, u32)) {
        let a = self.r(rs1);
        let s = self.r(rs2) & 31;
        let (r, c) = if s == 0 {
            (a, self.flags.carry())
        } else {
            f(a, s)
        };
        self.flags = Flags::explicit_result(zn(r) | c << 1, r);
        self.set(rd, r);
    }

    #[inline(always)]
    pub(crate) fn and(&mut self, rd: u8, rs1: u8, rs2: u8) -> u32 {
        let r = self.r(rs1) & self.r(rs2);
        self.flags = Flags::logic(r);
        self.set(rd, r);
        r
    }
}

#[cfg(test)]
mod tests {
    use hsx_isa::{Fault, Opcode, encode};

    use crate::{BareVm, Exit, Program};

    fn vm(words: &[u32]) -> BareVm {
        BareVm::new(Program::from_words(words), 0)
    }

    #[test]
    fn registers_live_in_vm_ram_and_are_seen_without_a_flush() {
        // MOV R2, R1; MOV R3, R1; RET
        let mut vm = vm(&[
            encode::rr(Opcode::Mov, 2, 1),
            encode::rr(Opcode::Mov, 3, 1),
            encode::ret(),
        ]);
        vm.ram[(vm.ctx.reg_base / 4) as usize + 1] = 0x1234u32.to_le();
        assert_eq!(vm.run(1).exit, Exit::Budget);
        assert_eq!(vm.regs()[2], 0x1234);
        // Change R1 in the bank between two steps: the next instruction sees it.
        vm.ram[(vm.ctx.reg_base / 4) as usize + 1] = 0x5678u32.to_le();
        vm.run(1);
        assert_eq!(vm.regs()[3], 0x5678);
    }

    #[test]
    fn a_fault_changes_only_r0() {
        let mut vm = vm(&[
            encode::push(1),
            encode::ldi(2, 5),
            encode::store(Opcode::St, 3, 0, 2),
        ]);
        vm.set_reg(3, 0xFFFE);
        vm.run(2);
        let before = (vm.ctx, vm.window().to_vec());
        let exit = vm.run(10).exit;
        assert_eq!(
            exit,
            Exit::Fault {
                fault: Fault::MemFault,
                pc: 8
            }
        );
        assert_eq!(vm.regs()[0], Fault::MemFault.code());
        assert_eq!(vm.ctx, before.0);
        assert_eq!(vm.window(), &before.1[..]);
    }

    #[test]
    fn stack_guards_fire_in_both_directions() {
        let mut over = BareVm::with_stack(
            Program::from_words(&[encode::push(0), encode::jump(Opcode::Jmp, 0)]),
            0,
            0x1_0000,
            0x100,
            0xF8,
        );
        assert_eq!(
            over.run_to_stop(100),
            Exit::Fault {
                fault: Fault::StackOverflow,
                pc: 0
            }
        );
        assert_eq!(over.ctx.sp, 0xF8);
        let mut under = vm(&[encode::pop(1)]);
        assert_eq!(
            under.run_to_stop(100),
            Exit::Fault {
                fault: Fault::StackUnderflow,
                pc: 0
            }
        );
        assert_eq!(under.ctx.steps, 0);
    }

    #[test]
    fn budget_splits_do_not_change_results() {
        let words = [
            encode::ldi(1, 10),
            encode::ldi(3, 1),
            encode::rrr(Opcode::Add, 2, 2, 1),
            encode::rrr(Opcode::Sub, 1, 1, 3),
            encode::jump(Opcode::Jnz, 8),
            encode::rr(Opcode::Mov, 0, 2),
            encode::ret(),
        ];
        let mut whole = vm(&words);
        let mut stepped = vm(&words);
        let a = whole.run_to_stop(1000);
        let b = loop {
            match stepped.run(1).exit {
                Exit::Budget => continue,
                other => break other,
            }
        };
        assert_eq!(a, Exit::Exit { status: 55 });
        assert_eq!(a, b);
        assert_eq!(whole.ctx, stepped.ctx);
        assert_eq!(whole.regs(), stepped.regs());
    }

    #[test]
    fn a_broken_layout_is_reported_not_a_panic() {
        let mut vm = vm(&[encode::ret()]);
        vm.ctx.reg_base = vm.ctx.stack_base; // bank inside the window
        assert!(matches!(
            vm.run(1).exit,
            Exit::Layout(crate::LayoutError::Overlap)
        ));
        vm.ctx.reg_base = 0x7FFF_FFFC;
        assert!(matches!(
            vm.run(1).exit,
            Exit::Layout(crate::LayoutError::OutOfRam)
        ));
        vm.ctx.reg_base = 2;
        assert!(matches!(
            vm.run(1).exit,
            Exit::Layout(crate::LayoutError::Misaligned)
        ));
    }

    /// Services MBX SEND (module 5, function 2) by writing 99 to R0 and leaves `more`
    /// instructions to the run; every other call traps.
    struct SendTo99 {
        more: u64,
        calls: u32,
    }

    impl crate::Supervisor for SendTo99 {
        fn svc(
            &mut self,
            module: u8,
            function: u8,
            regs: &mut [u32; 16],
            _: &mut [u8],
            _: u64,
        ) -> Option<u64> {
            self.calls += 1;
            ((module, function) == (5, 2)).then(|| {
                regs[0] = 99u32.to_le();
                self.more
            })
        }
    }

    #[test]
    fn a_serviced_call_goes_on_in_the_run_and_others_trap() {
        let words = [
            encode::svc(5, 2),
            encode::ldi(1, 7),
            encode::svc(6, 1),
            encode::ret(),
        ];
        let mut vm = vm(&words);
        let checked = crate::Checked::new(&vm.ctx, &vm.ram);
        let program = Program::from_words(&words);
        let mut sup = SendTo99 {
            more: 100,
            calls: 0,
        };
        let r = crate::run_checked(&mut vm.ctx, &checked, &mut vm.ram, &program, 10, &mut sup);
        // SEND serviced in the run, LDI, then YIELD (6, 1) traps.
        assert_eq!(
            (r.exit, r.retired, sup.calls),
            (
                Exit::Trap {
                    module: 6,
                    function: 1
                },
                3,
                2
            )
        );
        assert_eq!(
            (vm.regs()[0], vm.regs()[1], vm.ctx.pc, vm.ctx.steps),
            (99, 7, 12, 3)
        );

        // A supervisor that leaves nothing ends the run with the budget.
        let mut vm2 = self::vm(&words);
        let mut sup = SendTo99 { more: 0, calls: 0 };
        let r = crate::run_checked(&mut vm2.ctx, &checked, &mut vm2.ram, &program, 10, &mut sup);
        assert_eq!((r.exit, r.retired, vm2.ctx.pc), (Exit::Budget, 1, 4));

        // A record checked as not fitting reports its layout error and runs nothing.
        let mut bad = vm2.ctx;
        bad.reg_base = bad.stack_base;
        let checked = crate::Checked::new(&bad, &vm2.ram);
        let r = crate::run_checked(&mut bad, &checked, &mut vm2.ram, &program, 10, &mut sup);
        assert_eq!(
            (r.exit, r.retired),
            (Exit::Layout(crate::LayoutError::Overlap), 0)
        );
    }

    #[test]
    fn svc_and_brk_retire_before_returning() {
        let mut vm = vm(&[encode::svc(5, 2), encode::brk(7), encode::ret()]);
        assert_eq!(
            vm.run(10).exit,
            Exit::Trap {
                module: 5,
                function: 2
            }
        );
        assert_eq!((vm.ctx.pc, vm.ctx.steps), (4, 1));
        assert_eq!(vm.run(10).exit, Exit::Break { code: 7, pc: 4 });
        assert_eq!((vm.ctx.pc, vm.ctx.steps), (8, 2));
    }
}
