//! The interpreter: retire instructions of one context against VM RAM (`isa.md` §6-§9).
//!
//! Registers are read and written in the context's register bank in VM RAM. PC, PSW, SP
//! and the call depth live in locals while running and are written back to the context
//! record when `run` returns; nothing else is cached, so a debugger that writes the bank
//! between two calls is seen by the very next instruction.

use half::f16;
use hsx_isa::Fault;

use crate::context::{Context, Exit, REGISTERS, RunResult, split_ram};
use crate::program::{Kind, Program};

const NAN16: u16 = 0x7E00;

/// Execute up to `budget` instructions of `ctx`, stopping early at an SVC, BRK, exit or
/// fault. Retired instructions are added to `ctx.steps`.
///
/// `budget = 1` is the single step used by the executive for breakpoints, watches and
/// tracing; the result is identical to running the same instructions in one call.
pub fn run(ctx: &mut Context, ram: &mut [u32], program: &Program, budget: u64) -> RunResult {
    let (regs, mem) = match split_ram(ctx, ram) {
        Ok(parts) => parts,
        Err(e) => {
            return RunResult {
                exit: Exit::Layout(e),
                retired: 0,
            };
        }
    };
    let mut core = Core {
        regs,
        mem,
        pc: ctx.pc,
        flags: Flags::explicit(ctx.psw),
        sp: ctx.sp,
        stack: ctx,
        left: budget,
    };
    let exit = core.execute(program);
    let retired = budget - core.left;
    let (pc, psw, sp) = (core.pc, core.flags.psw(), core.sp);
    ctx.pc = pc;
    ctx.psw = psw;
    ctx.sp = sp;
    ctx.steps += retired;
    RunResult { exit, retired }
}

/// Execute exactly one instruction (or stop on it). Same as `run(.., 1)`.
pub fn step(ctx: &mut Context, ram: &mut [u32], program: &Program) -> RunResult {
    run(ctx, ram, program, 1)
}

/// Interpreter state. PC, flags, SP and the budget stay in host registers; the call
/// depth and the stack bounds are used only by stack instructions and stay in the
/// context record, which keeps register pressure off the dispatch loop.
struct Core<'r> {
    regs: &'r mut [u32; REGISTERS],
    mem: &'r mut [u8],
    pc: u32,
    flags: Flags,
    sp: u32,
    stack: &'r mut Context,
    left: u64,
}

/// Flags are evaluated lazily: ADD, SUB/CMP and logic ops record their operands and
/// result, and the PSW is computed only when something reads it (ADC/SBC and shifts by
/// zero read C, JZ/JNZ read Z, and `run` writes the PSW back into the context on every
/// exit). Z and N always follow the last result.
#[derive(Clone, Copy)]
struct Flags {
    kind: FlagKind,
    a: u32,
    b: u32,
    r: u32,
}

#[derive(Clone, Copy, PartialEq, Eq)]
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
    fn explicit(psw: u32) -> Flags {
        Flags::explicit_result(psw & hsx_isa::psw::MASK, (psw & 1 == 0) as u32)
    }

    #[inline(always)]
    fn explicit_result(psw: u32, r: u32) -> Flags {
        Flags {
            kind: FlagKind::Explicit,
            a: psw,
            b: 0,
            r,
        }
    }

    #[inline(always)]
    fn logic(r: u32) -> Flags {
        Flags {
            kind: FlagKind::Logic,
            a: 0,
            b: 0,
            r,
        }
    }

    #[inline(always)]
    fn zero(&self) -> bool {
        self.r == 0
    }

    #[inline(always)]
    fn carry(&self) -> u32 {
        (self.psw() >> 1) & 1
    }

    #[inline(always)]
    fn psw(&self) -> u32 {
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
fn zn(r: u32) -> u32 {
    ((r == 0) as u32) | ((r >> 31) << 2)
}

#[inline(always)]
fn f16_op(a: u32, b: u32, f: impl Fn(f32, f32) -> f32) -> u16 {
    let x = f16::from_bits(a as u16).to_f32();
    let y = f16::from_bits(b as u16).to_f32();
    let r = f16::from_f32(f(x, y));
    if r.is_nan() { NAN16 } else { r.to_bits() }
}

impl Core<'_> {
    #[inline(always)]
    fn r(&self, n: u8) -> u32 {
        u32::from_le(self.regs[(n & 15) as usize])
    }

    #[inline(always)]
    fn set(&mut self, n: u8, v: u32) {
        self.regs[(n & 15) as usize] = v.to_le();
    }

    #[inline(always)]
    fn load<const N: usize>(&self, ea: u32) -> Option<[u8; N]> {
        let ea = ea as usize;
        self.mem.get(ea..ea + N).map(|s| {
            let mut b = [0; N];
            b.copy_from_slice(s);
            b
        })
    }

    #[inline(always)]
    fn store<const N: usize>(&mut self, ea: u32, bytes: [u8; N]) -> bool {
        let ea = ea as usize;
        match self.mem.get_mut(ea..ea + N) {
            Some(s) => {
                s.copy_from_slice(&bytes);
                true
            }
            None => false,
        }
    }

    /// The main loop. `self.left` counts down the budget; an instruction that retires
    /// decrements it, one that faults or exits does not.
    ///
    /// The inner loop runs on an op index: sequential flow needs no fetch check because
    /// the program ends with a sentinel op, and near branch targets were validated at
    /// decode. Anything that moves the PC elsewhere (far branch, RET to an arbitrary
    /// address) leaves the inner loop and the outer loop re-validates the PC.
    #[inline(always)]
    fn execute(&mut self, program: &Program) -> Exit {
        let ops = program.ops();
        let end = ops.len() - 1;
        macro_rules! fault {
            ($ip:expr, $f:expr) => {{
                let f: Fault = $f;
                self.pc = ($ip as u32) << 2;
                self.set(0, f.code());
                return Exit::Fault {
                    fault: f,
                    pc: self.pc,
                };
            }};
        }
        // A fused `ALU; JZ/JNZ` pair: the ALU op always executes; the branch is taken in
        // the same dispatch only if the budget covers it too (JZ: `==`, JNZ: `!=` zero),
        // otherwise the op retires alone and the branch runs as its own op next time.
        macro_rules! fused {
            ($ip:ident, $target:expr, $alu:expr, $cmp:tt) => {{
                let r = $alu;
                if self.left >= 2 {
                    self.left -= 2;
                    $ip = if r $cmp 0 { $target as usize } else { $ip + 2 };
                    continue;
                }
            }};
        }
        macro_rules! ea {
            ($op:expr) => {
                self.r($op.rs1).wrapping_add($op.imm) & 0xFFFF
            };
        }
        loop {
            if self.left == 0 {
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
            // Leaves with the (retired) far target of a branch or RET.
            let far: u32 = loop {
                if self.left == 0 {
                    self.pc = (ip as u32) << 2;
                    return Exit::Budget;
                }
                let op = ops[ip];
                match op.kind {
                    Kind::Ldi => self.set(op.rd, op.imm),
                    Kind::Ld => match self.load::<4>(ea!(op)) {
                        Some(b) => self.set(op.rd, u32::from_le_bytes(b)),
                        None => fault!(ip, Fault::MemFault),
                    },
                    Kind::Ldb => match self.load::<1>(ea!(op)) {
                        Some(b) => self.set(op.rd, b[0] as u32),
                        None => fault!(ip, Fault::MemFault),
                    },
                    Kind::Ldh => match self.load::<2>(ea!(op)) {
                        Some(b) => self.set(op.rd, u16::from_le_bytes(b) as u32),
                        None => fault!(ip, Fault::MemFault),
                    },
                    Kind::St => {
                        let v = self.r(op.rs2);
                        if !self.store(ea!(op), v.to_le_bytes()) {
                            fault!(ip, Fault::MemFault);
                        }
                    }
                    Kind::Stb => {
                        let v = self.r(op.rs2) as u8;
                        if !self.store(ea!(op), [v]) {
                            fault!(ip, Fault::MemFault);
                        }
                    }
                    Kind::Sth => {
                        let v = self.r(op.rs2) as u16;
                        if !self.store(ea!(op), v.to_le_bytes()) {
                            fault!(ip, Fault::MemFault);
                        }
                    }
                    Kind::Mov => self.set(op.rd, self.r(op.rs1)),
                    Kind::Add => {
                        self.add(op.rd, op.rs1, op.rs2);
                    }
                    Kind::Sub => {
                        self.sub(op.rd, op.rs1, op.rs2);
                    }
                    Kind::Cmp => {
                        self.cmp(op.rs1, op.rs2);
                    }
                    Kind::And => {
                        self.and(op.rd, op.rs1, op.rs2);
                    }
                    Kind::Adc => {
                        let (a, b) = (self.r(op.rs1), self.r(op.rs2));
                        let cin = self.flags.carry();
                        let wide = a as u64 + b as u64 + cin as u64;
                        let r = wide as u32;
                        let v = ((a ^ r) & (b ^ r)) >> 31;
                        self.flags =
                            Flags::explicit_result(zn(r) | ((wide >> 32) as u32) << 1 | v << 3, r);
                        self.set(op.rd, r);
                    }
                    Kind::Sbc => {
                        let (a, b) = (self.r(op.rs1), self.r(op.rs2));
                        let borrow = 1 - self.flags.carry();
                        let r = a.wrapping_sub(b).wrapping_sub(borrow);
                        let c = (a as u64 >= b as u64 + borrow as u64) as u32;
                        let v = ((a ^ b) & (a ^ r)) >> 31;
                        self.flags = Flags::explicit_result(zn(r) | c << 1 | v << 3, r);
                        self.set(op.rd, r);
                    }
                    Kind::Mul => {
                        let wide = self.r(op.rs1) as u64 * self.r(op.rs2) as u64;
                        let r = wide as u32;
                        let cv = ((wide >> 32) != 0) as u32;
                        self.flags = Flags::explicit_result(zn(r) | cv << 1 | cv << 3, r);
                        self.set(op.rd, r);
                    }
                    Kind::Div => {
                        let (a, b) = (self.r(op.rs1) as i32, self.r(op.rs2) as i32);
                        if b == 0 {
                            fault!(ip, Fault::DivZero);
                        }
                        let r = a.wrapping_div(b) as u32;
                        self.flags = Flags::logic(r);
                        self.set(op.rd, r);
                    }
                    Kind::Or => {
                        let r = self.r(op.rs1) | self.r(op.rs2);
                        self.flags = Flags::logic(r);
                        self.set(op.rd, r);
                    }
                    Kind::Xor => {
                        let r = self.r(op.rs1) ^ self.r(op.rs2);
                        self.flags = Flags::logic(r);
                        self.set(op.rd, r);
                    }
                    Kind::Not => {
                        let r = !self.r(op.rs1);
                        self.flags = Flags::logic(r);
                        self.set(op.rd, r);
                    }
                    Kind::Lsl => {
                        self.shift(op.rd, op.rs1, op.rs2, |a, s| (a << s, (a >> (32 - s)) & 1))
                    }
                    Kind::Lsr => {
                        self.shift(op.rd, op.rs1, op.rs2, |a, s| (a >> s, (a >> (s - 1)) & 1))
                    }
                    Kind::Asr => self.shift(op.rd, op.rs1, op.rs2, |a, s| {
                        (((a as i32) >> s) as u32, (a >> (s - 1)) & 1)
                    }),
                    Kind::Jmp => {
                        self.left -= 1;
                        ip = op.imm as usize;
                        continue;
                    }
                    Kind::Jz => {
                        self.left -= 1;
                        ip = if self.flags.zero() {
                            op.imm as usize
                        } else {
                            ip + 1
                        };
                        continue;
                    }
                    Kind::Jnz => {
                        self.left -= 1;
                        ip = if self.flags.zero() {
                            ip + 1
                        } else {
                            op.imm as usize
                        };
                        continue;
                    }
                    Kind::JmpFar => {
                        self.left -= 1;
                        break op.imm;
                    }
                    Kind::JzFar => {
                        if self.flags.zero() {
                            self.left -= 1;
                            break op.imm;
                        }
                    }
                    Kind::JnzFar => {
                        if !self.flags.zero() {
                            self.left -= 1;
                            break op.imm;
                        }
                    }
                    Kind::AddJz => fused!(ip, op.imm, self.add(op.rd, op.rs1, op.rs2), ==),
                    Kind::AddJnz => fused!(ip, op.imm, self.add(op.rd, op.rs1, op.rs2), !=),
                    Kind::SubJz => fused!(ip, op.imm, self.sub(op.rd, op.rs1, op.rs2), ==),
                    Kind::SubJnz => fused!(ip, op.imm, self.sub(op.rd, op.rs1, op.rs2), !=),
                    Kind::CmpJz => fused!(ip, op.imm, self.cmp(op.rs1, op.rs2), ==),
                    Kind::CmpJnz => fused!(ip, op.imm, self.cmp(op.rs1, op.rs2), !=),
                    Kind::AndJz => fused!(ip, op.imm, self.and(op.rd, op.rs1, op.rs2), ==),
                    Kind::AndJnz => fused!(ip, op.imm, self.and(op.rd, op.rs1, op.rs2), !=),
                    Kind::CallAbs | Kind::CallReg => {
                        let target = if op.kind == Kind::CallAbs {
                            op.imm
                        } else {
                            self.r(op.rs1).wrapping_add(op.imm) & 0xFFFF
                        };
                        let Some(sp) = self
                            .sp
                            .checked_sub(4)
                            .filter(|&sp| sp >= self.stack.stack_limit)
                        else {
                            fault!(ip, Fault::StackOverflow);
                        };
                        let ret = ((ip as u32) << 2).wrapping_add(4);
                        if !self.store(sp, ret.to_le_bytes()) {
                            fault!(ip, Fault::MemFault);
                        }
                        self.sp = sp;
                        self.set(15, sp);
                        self.stack.call_depth += 1;
                        self.left -= 1;
                        if target & 3 == 0 && ((target >> 2) as usize) < end {
                            ip = (target >> 2) as usize;
                            continue;
                        }
                        break target;
                    }
                    Kind::Ret => {
                        if self.stack.call_depth == 0 {
                            self.pc = (ip as u32) << 2;
                            return Exit::Exit { status: self.r(0) };
                        }
                        if self
                            .sp
                            .checked_add(4)
                            .is_none_or(|end| end > self.stack.stack_top)
                        {
                            fault!(ip, Fault::StackUnderflow);
                        }
                        let Some(b) = self.load::<4>(self.sp) else {
                            fault!(ip, Fault::MemFault);
                        };
                        self.sp += 4;
                        self.set(15, self.sp);
                        self.stack.call_depth -= 1;
                        self.left -= 1;
                        let target = u32::from_le_bytes(b);
                        if target & 3 == 0 && ((target >> 2) as usize) < end {
                            ip = (target >> 2) as usize;
                            continue;
                        }
                        break target;
                    }
                    Kind::Push => {
                        let v = self.r(op.rs1);
                        let Some(sp) = self
                            .sp
                            .checked_sub(4)
                            .filter(|&sp| sp >= self.stack.stack_limit)
                        else {
                            fault!(ip, Fault::StackOverflow);
                        };
                        if !self.store(sp, v.to_le_bytes()) {
                            fault!(ip, Fault::MemFault);
                        }
                        self.sp = sp;
                        self.set(15, sp);
                    }
                    Kind::Pop => {
                        if self
                            .sp
                            .checked_add(4)
                            .is_none_or(|end| end > self.stack.stack_top)
                        {
                            fault!(ip, Fault::StackUnderflow);
                        }
                        let Some(b) = self.load::<4>(self.sp) else {
                            fault!(ip, Fault::MemFault);
                        };
                        self.sp += 4;
                        self.set(15, self.sp);
                        self.set(op.rd, u32::from_le_bytes(b));
                    }
                    Kind::Svc => {
                        self.pc = ((ip as u32) << 2) + 4;
                        self.left -= 1;
                        return Exit::Trap {
                            module: (op.imm >> 8) as u8 & 0xF,
                            function: op.imm as u8,
                        };
                    }
                    Kind::Brk => {
                        let pc = (ip as u32) << 2;
                        self.pc = pc + 4;
                        self.left -= 1;
                        return Exit::Break {
                            code: op.imm as u8,
                            pc,
                        };
                    }
                    Kind::Fadd | Kind::Fsub | Kind::Fmul | Kind::Fdiv => {
                        let (a, b) = (self.r(op.rs1), self.r(op.rs2));
                        let r = match op.kind {
                            Kind::Fadd => f16_op(a, b, |x, y| x + y),
                            Kind::Fsub => f16_op(a, b, |x, y| x - y),
                            Kind::Fmul => f16_op(a, b, |x, y| x * y),
                            _ => f16_op(a, b, |x, y| x / y),
                        };
                        let d = self.r(op.rd);
                        self.set(op.rd, (d & 0xFFFF_0000) | r as u32);
                    }
                    Kind::I2f => {
                        let x = f16::from_f64(self.r(op.rs1) as i32 as f64);
                        let d = self.r(op.rd);
                        self.set(op.rd, (d & 0xFFFF_0000) | x.to_bits() as u32);
                    }
                    Kind::F2i => {
                        let x = f16::from_bits(self.r(op.rs1) as u16).to_f32();
                        self.set(op.rd, x as i32 as u32);
                    }
                    Kind::Ldi32 => {
                        self.set(op.rd, op.imm);
                        self.left -= 1;
                        ip += 2;
                        continue;
                    }
                    Kind::Ldi32Truncated | Kind::End => fault!(ip, Fault::PcOutOfRange),
                    Kind::Illegal => fault!(ip, Fault::IllegalOpcode),
                }
                self.left -= 1;
                ip += 1;
            };
            self.pc = far;
        }
    }

    #[inline(always)]
    fn add(&mut self, rd: u8, rs1: u8, rs2: u8) -> u32 {
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
    fn cmp(&mut self, rs1: u8, rs2: u8) -> u32 {
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
    fn sub(&mut self, rd: u8, rs1: u8, rs2: u8) -> u32 {
        let r = self.cmp(rs1, rs2);
        self.set(rd, r);
        r
    }

    /// LSL/LSR/ASR: `f(a, s)` gives (result, carry out) for s in 1..=31; s = 0 keeps
    /// the value and C.
    #[inline(always)]
    fn shift(&mut self, rd: u8, rs1: u8, rs2: u8, f: impl Fn(u32, u32) -> (u32, u32)) {
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
    fn and(&mut self, rd: u8, rs1: u8, rs2: u8) -> u32 {
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
