//! Property tests of the interpreter against `isa.md`:
//!
//! * random code never panics and every stop is explained by the instruction at PC;
//! * a fault changes nothing but R0 and retires nothing;
//! * loads and stores fault exactly when `ea + width > W` (§3.1) and then change nothing;
//! * a context never touches VM RAM outside its own register bank and window;
//! * running N steps in one call equals N single steps and any other split of the budget
//!   (this guards the fused ALU+branch ops and the lazy flags);
//! * round robin inside the core (`run_ring`) ends exactly where running each member's
//!   turns one `run` call at a time ends: same exit, counts, records, log and VM RAM;
//! * stepped in lockstep with a reference model (a direct transcription of §3-§8 with no
//!   pre-decoding, fusion or lazy flags), the VM reaches the same outcome and state after
//!   every instruction; ALU flags and f16 results also have focused reference checks.

use hsx_isa::{Fault, Opcode, Word, encode, sext12};
use hsx_vm::{BareVm, Context, Exit, Layout, Member, Program, RingRun, RunResult};
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;

// ---------------------------------------------------------------------------------------
// Strategies

/// Register values: small numbers, flag-interesting edges, window addresses, anything.
fn reg_value() -> impl Strategy<Value = u32> {
    prop_oneof![
        2 => 0u32..8,
        2 => prop::sample::select(vec![
            0, 1, 2, 31, 32, 33, 0x7FFF_FFFF, 0x8000_0000, 0x8000_0001, 0xFFFF_FFFF,
            0xFFFF_FFFE, 0x3C00, 0x7C00, 0xFC00, 0x7E00, 0xFFFC, 0xFFFE, 0xFFFF, 0x1_0000,
        ]),
        2 => 0u32..0x1_0000,
        3 => any::<u32>(),
    ]
}

fn registers() -> impl Strategy<Value = [u32; 16]> {
    prop::array::uniform16(reg_value())
}

/// A word with a defined opcode and random fields; branch and CALL targets are biased
/// towards small (often valid) code addresses.
fn valid_word() -> impl Strategy<Value = u32> {
    let fields = (0u8..16, 0u8..16, 0u8..16, 0u32..0x1000);
    (
        prop::sample::select(Opcode::ALL),
        fields,
        any::<u16>(),
        0u32..64,
    )
        .prop_map(|(op, (rd, rs1, rs2, imm), raw_target, small)| match op {
            Opcode::Jmp | Opcode::Jz | Opcode::Jnz => {
                let target = if raw_target % 4 == 0 {
                    raw_target
                } else {
                    (small * 4) as u16
                };
                encode::jump(op, target)
            }
            Opcode::Call if rs1 % 2 == 0 => {
                // pc-relative, within a few words
                encode::call(0, (small as i32 % 16) - 8)
            }
            _ => encode::word(op, rd, rs1, rs2, imm),
        })
}

/// Code words: mostly defined opcodes, some fully random words.
fn code_word() -> impl Strategy<Value = u32> {
    prop_oneof![5 => valid_word(), 1 => any::<u32>()]
}

fn program() -> impl Strategy<Value = Vec<u32>> {
    prop::collection::vec(code_word(), 1..48)
}

/// W, T, L with 4 <= W <= 0x10000, L < T <= W, all multiples of 4.
fn profile() -> impl Strategy<Value = (u32, u32, u32)> {
    prop_oneof![
        Just((0x1_0000, 0x8000, 0)),
        // A stack of a few words that random PUSH/CALL loops run out of.
        (2u32..=0x4000, 1u32..=8).prop_map(|(w4, k)| {
            let t4 = if w4 % 3 < w4 { w4 - w4 % 3 } else { w4 };
            (w4 * 4, t4 * 4, t4.saturating_sub(k) * 4)
        }),
        (1u32..=0x4000).prop_flat_map(|w4| {
            (1u32..=w4)
                .prop_flat_map(move |t4| (0u32..t4).prop_map(move |l4| (w4 * 4, t4 * 4, l4 * 4)))
        }),
    ]
}

/// Pieces of flag-heavy code for the step-equivalence property. Branch targets are
/// indices resolved once the program length is known.
#[derive(Clone, Debug)]
enum Piece {
    /// ADD/SUB/CMP/AND, optionally followed by JZ/JNZ (fusable pairs).
    AluBranch {
        op: Opcode,
        rd: u8,
        ra: u8,
        rb: u8,
        branch: Option<(Opcode, u16)>,
    },
    /// ADC/SBC right after whatever set the flags.
    Carry {
        op: Opcode,
        rd: u8,
        ra: u8,
        rb: u8,
    },
    /// LSL/LSR/ASR, with the amount register often zero.
    Shift {
        op: Opcode,
        rd: u8,
        ra: u8,
        rb: u8,
    },
    Ldi {
        rd: u8,
        imm: i32,
    },
    Ldi32 {
        rd: u8,
        value: u32,
    },
    /// A branch on its own (reads flags set far away, or across a budget split).
    Branch {
        op: Opcode,
        target: u16,
    },
    /// PUSH, POP (often into R15), CALL of the next instruction, RET: loops over these
    /// walk the stack to its limit and top.
    Stack(u32),
    Any(u32),
}

fn small_reg() -> impl Strategy<Value = u8> {
    0u8..6
}

fn piece() -> impl Strategy<Value = Piece> {
    let alu = prop::sample::select(vec![Opcode::Add, Opcode::Sub, Opcode::Cmp, Opcode::And]);
    let cond = prop::sample::select(vec![Opcode::Jz, Opcode::Jnz]);
    prop_oneof![
        6 => (alu, small_reg(), small_reg(), small_reg(), prop::option::weighted(0.7, (cond.clone(), any::<u16>())))
            .prop_map(|(op, rd, ra, rb, branch)| Piece::AluBranch { op, rd, ra, rb, branch }),
        3 => (prop::sample::select(vec![Opcode::Adc, Opcode::Sbc]), small_reg(), small_reg(), small_reg())
            .prop_map(|(op, rd, ra, rb)| Piece::Carry { op, rd, ra, rb }),
        3 => (prop::sample::select(vec![Opcode::Lsl, Opcode::Lsr, Opcode::Asr]), small_reg(), small_reg(), small_reg())
            .prop_map(|(op, rd, ra, rb)| Piece::Shift { op, rd, ra, rb }),
        2 => (small_reg(), prop::sample::select(vec![0, 0, 1, -1, 2, 31, 32, 2047, -2048]))
            .prop_map(|(rd, imm)| Piece::Ldi { rd, imm }),
        1 => (small_reg(), reg_value()).prop_map(|(rd, value)| Piece::Ldi32 { rd, value }),
        2 => (prop::sample::select(vec![Opcode::Jmp, Opcode::Jz, Opcode::Jnz]), any::<u16>())
            .prop_map(|(op, target)| Piece::Branch { op, target }),
        2 => prop_oneof![
            small_reg().prop_map(encode::push),
            prop_oneof![Just(15u8), small_reg()].prop_map(encode::pop),
            Just(encode::call(0, 1)),
            Just(encode::ret()),
        ].prop_map(Piece::Stack),
        2 => code_word().prop_map(Piece::Any),
    ]
}

/// Lay pieces out as code. `target` values pick an instruction slot (mostly valid
/// addresses; one in 16 is used verbatim, usually a far or unaligned target).
fn assemble_pieces(pieces: &[Piece]) -> Vec<u32> {
    let len: usize = pieces
        .iter()
        .map(|p| match p {
            Piece::AluBranch {
                branch: Some(_), ..
            } => 2,
            Piece::Ldi32 { .. } => 2,
            _ => 1,
        })
        .sum();
    let resolve = |t: u16| -> u16 {
        if t % 16 == 15 {
            t
        } else {
            ((t as usize % len) * 4) as u16
        }
    };
    let mut words = Vec::with_capacity(len);
    for p in pieces {
        match *p {
            Piece::AluBranch {
                op,
                rd,
                ra,
                rb,
                branch,
            } => {
                words.push(encode::rrr(op, rd, ra, rb));
                if let Some((cond, t)) = branch {
                    words.push(encode::jump(cond, resolve(t)));
                }
            }
            Piece::Carry { op, rd, ra, rb } | Piece::Shift { op, rd, ra, rb } => {
                words.push(encode::rrr(op, rd, ra, rb))
            }
            Piece::Ldi { rd, imm } => words.push(encode::ldi(rd, imm)),
            Piece::Ldi32 { rd, value } => {
                words.push(encode::ldi32(rd));
                words.push(value);
            }
            Piece::Branch { op, target } => words.push(encode::jump(op, resolve(target))),
            Piece::Stack(w) | Piece::Any(w) => words.push(w),
        }
    }
    words
}

fn flag_program() -> impl Strategy<Value = Vec<u32>> {
    prop::collection::vec(piece(), 1..40).prop_map(|p| assemble_pieces(&p))
}

// ---------------------------------------------------------------------------------------
// Helpers

fn bare(words: &[u32], regs: &[u32; 16], (w, t, l): (u32, u32, u32)) -> BareVm {
    let mut vm = BareVm::with_stack(Program::from_words(words), 0, w, t, l);
    for (n, &v) in regs.iter().enumerate() {
        vm.set_reg(n, v);
    }
    vm
}

/// Fill bytes deterministically from a seed (xorshift64*).
fn fill(bytes: &mut [u8], mut seed: u64) {
    seed |= 1;
    for b in bytes {
        seed ^= seed >> 12;
        seed ^= seed << 25;
        seed ^= seed >> 27;
        *b = (seed.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 56) as u8;
    }
}

fn word_at(words: &[u32], pc: u32) -> Option<u32> {
    if pc.is_multiple_of(4) {
        words.get((pc / 4) as usize).copied()
    } else {
        None
    }
}

/// Everything observable about a bare VM.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Snapshot {
    ctx: Context,
    regs: [u32; 16],
    window: Vec<u8>,
}

fn snapshot(vm: &BareVm) -> Snapshot {
    Snapshot {
        ctx: vm.ctx,
        regs: vm.regs(),
        window: vm.window().to_vec(),
    }
}

/// Check that a stop is what the instruction at `before.ctx.pc` (the one that did not
/// retire, for faults and exits) or at the reported pc explains, per isa.md §6-§8.
fn check_stop(
    words: &[u32],
    before: &Snapshot,
    after: &Snapshot,
    result: RunResult,
) -> Result<(), TestCaseError> {
    let code_len = words.len() as u32 * 4;
    match result.exit {
        Exit::Budget => {}
        Exit::Layout(e) => return Err(TestCaseError::fail(format!("layout error {e:?}"))),
        Exit::Trap { module, function } => {
            let w = word_at(words, after.ctx.pc.wrapping_sub(4)).map(Word);
            prop_assert_eq!(w.and_then(|w| w.opcode()), Some(Opcode::Svc));
            let w = w.unwrap();
            prop_assert_eq!((module, function), (w.svc_module(), w.svc_function()));
            prop_assert!(result.retired >= 1);
        }
        Exit::Break { code, pc } => {
            let w = word_at(words, pc).map(Word);
            prop_assert_eq!(w.and_then(|w| w.opcode()), Some(Opcode::Brk));
            prop_assert_eq!(code as u32, w.unwrap().0 & 0xFF);
            prop_assert_eq!(after.ctx.pc, pc + 4);
            prop_assert!(result.retired >= 1);
        }
        Exit::Exit { status } => {
            let w = word_at(words, after.ctx.pc).map(Word);
            prop_assert_eq!(w.and_then(|w| w.opcode()), Some(Opcode::Ret));
            prop_assert_eq!(after.ctx.call_depth, 0);
            prop_assert_eq!(status, after.regs[0]);
        }
        Exit::Fault { fault, pc } => {
            prop_assert_eq!(after.regs[0], fault.code());
            prop_assert_eq!(Fault::from_code(after.regs[0]), Some(fault));
            prop_assert_eq!(after.ctx.pc, pc);
            let w = word_at(words, pc).map(Word);
            let op = w.and_then(|w| w.opcode());
            // Registers as the faulting instruction saw them: the fault overwrote R0,
            // whose earlier value is known only if nothing retired in this call.
            let mut regs = after.regs;
            regs[0] = before.regs[0];
            let known = |r: u8| r != 0 || result.retired == 0;
            match fault {
                Fault::PcOutOfRange => prop_assert!(
                    !pc.is_multiple_of(4)
                        || pc as u64 + 4 > code_len as u64
                        || (op == Some(Opcode::Ldi32) && pc as u64 + 8 > code_len as u64),
                    "PC_OUT_OF_RANGE at valid pc {:#X} (code_len {:#X})",
                    pc,
                    code_len
                ),
                Fault::IllegalOpcode => {
                    prop_assert!(w.is_some() && op.is_none(), "ILLEGAL_OPCODE on {:?}", w)
                }
                Fault::MemFault => {
                    prop_assert!(
                        matches!(
                            op,
                            Some(
                                Opcode::Ld
                                    | Opcode::Ldb
                                    | Opcode::Ldh
                                    | Opcode::St
                                    | Opcode::Stb
                                    | Opcode::Sth
                            )
                        ),
                        "MEM_FAULT on {:?}",
                        op
                    );
                    let w = w.unwrap();
                    if known(w.rs1()) {
                        let ea = regs[w.rs1() as usize].wrapping_add(w.simm12() as u32) & 0xFFFF;
                        let width = match op.unwrap() {
                            Opcode::Ld | Opcode::St => 4,
                            Opcode::Ldh | Opcode::Sth => 2,
                            _ => 1,
                        };
                        prop_assert!(ea + width > after.ctx.window_size);
                    }
                }
                Fault::DivZero => {
                    prop_assert_eq!(op, Some(Opcode::Div));
                    let rs2 = w.unwrap().rs2();
                    if known(rs2) {
                        prop_assert_eq!(regs[rs2 as usize], 0);
                    }
                }
                Fault::StackOverflow => {
                    prop_assert!(matches!(op, Some(Opcode::Push | Opcode::Call)));
                    prop_assert!((after.ctx.sp as u64) < after.ctx.stack_limit as u64 + 4);
                }
                Fault::StackUnderflow => {
                    prop_assert!(matches!(op, Some(Opcode::Pop | Opcode::Ret)));
                    prop_assert!(after.ctx.sp as u64 + 4 > after.ctx.stack_top as u64);
                    if op == Some(Opcode::Ret) {
                        prop_assert!(after.ctx.call_depth > 0);
                    }
                }
            }
        }
    }
    // Stack invariants (§3): L <= SP <= T, and R15 mirrors SP after a stack instruction
    // (not checked: the program may write R15 later).
    prop_assert!(after.ctx.stack_limit <= after.ctx.sp && after.ctx.sp <= after.ctx.stack_top);
    prop_assert_eq!(after.ctx.steps, before.ctx.steps + result.retired);
    Ok(())
}

/// Run until `total` instructions retired or the task exits/faults, resuming after SVC
/// and BRK; `chunk(i)` gives the budget of the i-th call. Returns the stops seen.
fn drive(
    vm: &mut BareVm,
    words: &[u32],
    total: u64,
    mut chunk: impl FnMut(usize) -> u64,
) -> Result<Vec<Exit>, TestCaseError> {
    let mut used = 0;
    let mut stops = Vec::new();
    let mut calls = 0;
    while used < total {
        let budget = chunk(calls).clamp(1, total - used);
        calls += 1;
        let before = snapshot(vm);
        let r = vm.run(budget);
        let after = snapshot(vm);
        check_stop(words, &before, &after, r)?;
        prop_assert!(r.retired <= budget);
        used += r.retired;
        match r.exit {
            Exit::Budget => prop_assert_eq!(r.retired, budget),
            Exit::Trap { .. } | Exit::Break { .. } => stops.push(r.exit),
            Exit::Exit { .. } | Exit::Fault { .. } | Exit::Layout(_) => {
                stops.push(r.exit);
                break;
            }
        }
    }
    Ok(stops)
}

// ---------------------------------------------------------------------------------------
// Reference model: a direct, unoptimised transcription of isa.md §3-§8, used as the
// oracle for the VM (which pre-decodes, fuses and evaluates flags lazily).

fn bit(x: u32, n: u32) -> u32 {
    (x >> n) & 1
}

/// The ALU ops of §6 with the flag rules of §6.1: (result, new PSW), or `None` for DIV
/// by zero. For CMP the result is not written anywhere.
fn ref_alu(op: Opcode, a: u32, b: u32, psw: u32) -> Option<(u32, u32)> {
    let (c_in, wa, wb) = ((psw >> 1) & 1, a as u64, b as u64);
    let s = b & 31;
    // (result, C, V); C = None keeps the incoming C.
    let (res, c, v): (u32, Option<u32>, u32) = match op {
        Opcode::Add => {
            let r = (wa + wb) as u32;
            (
                r,
                Some((wa + wb >= 1 << 32) as u32),
                bit((a ^ r) & (b ^ r), 31),
            )
        }
        Opcode::Sub | Opcode::Cmp => {
            let r = a.wrapping_sub(b);
            (r, Some((wa >= wb) as u32), bit((a ^ b) & (a ^ r), 31))
        }
        Opcode::Adc => {
            let wide = wa + wb + c_in as u64;
            let r = wide as u32;
            (
                r,
                Some((wide >= 1 << 32) as u32),
                bit((a ^ r) & (b ^ r), 31),
            )
        }
        Opcode::Sbc => {
            let borrow = 1 - c_in as i64;
            let exact = a as i64 - b as i64 - borrow;
            let r = exact as u32;
            let c = (a as i64 >= b as i64 + borrow) as u32;
            (r, Some(c), bit((a ^ b) & (a ^ r), 31))
        }
        Opcode::Mul => {
            let wide = wa * wb;
            let hi = ((wide >> 32) != 0) as u32;
            (wide as u32, Some(hi), hi)
        }
        Opcode::Div => {
            if b == 0 {
                return None;
            }
            let q = (a as i32 as i64) / (b as i32 as i64);
            (q as u32, Some(0), 0)
        }
        Opcode::And => (a & b, Some(0), 0),
        Opcode::Or => (a | b, Some(0), 0),
        Opcode::Xor => (a ^ b, Some(0), 0),
        Opcode::Not => (!a, Some(0), 0),
        Opcode::Lsl | Opcode::Lsr | Opcode::Asr if s == 0 => (a, None, 0),
        Opcode::Lsl => (((wa << s) & 0xFFFF_FFFF) as u32, Some(bit(a, 32 - s)), 0),
        Opcode::Lsr => (a >> s, Some(bit(a, s - 1)), 0),
        Opcode::Asr => (((a as i32 as i64) >> s) as u32, Some(bit(a, s - 1)), 0),
        _ => unreachable!("{op:?} is not an ALU op"),
    };
    let c = c.unwrap_or(c_in);
    Some((res, (res == 0) as u32 | c << 1 | bit(res, 31) << 2 | v << 3))
}

/// FADD/FSUB/FMUL/FDIV/I2F/F2I (§7) through f64, a different route from the VM's f32:
/// sums, differences and products of two binary16 values are exact in f64, and one
/// rounding of an f64 quotient to binary16 is correct (53 >= 2 x 11 + 2).
/// `d` is the old destination value.
fn ref_f16(op: Opcode, a: u32, b: u32, d: u32) -> u32 {
    use half::f16;
    let x = f16::from_bits(a as u16).to_f64();
    let y = f16::from_bits(b as u16).to_f64();
    // Correctly rounded (ties to even, canonical NaN). Not `f16::from_f64`: without
    // `half/std` its software path drops low bits before rounding, e.g. FDIV 0xB3B6 /
    // 0x4406 is 0xABAB, and `from_f64` says 0xABAA.
    let round = |v: f64| u32::from(hsx_image::f16_from_f64(v));
    let high = d & 0xFFFF_0000;
    match op {
        Opcode::Fadd => high | round(x + y),
        Opcode::Fsub => high | round(x - y),
        Opcode::Fmul => high | round(x * y),
        Opcode::Fdiv => high | round(x / y),
        Opcode::I2f => high | round(a as i32 as f64),
        Opcode::F2i => {
            if x.is_nan() {
                0
            } else if x >= i32::MAX as f64 {
                0x7FFF_FFFF
            } else if x <= i32::MIN as f64 {
                0x8000_0000
            } else {
                x.trunc() as i64 as i32 as u32
            }
        }
        _ => unreachable!("{op:?} is not an f16 op"),
    }
}

/// Outcome of one reference step (§8.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RefStep {
    Retired,
    Trap(u8, u8),
    Break(u8, u32),
    Exit(u32),
    Fault(Fault),
}

#[derive(Clone, Debug)]
struct RefVm {
    code: Vec<u32>,
    regs: [u32; 16],
    psw: u32,
    pc: u32,
    sp: u32,
    depth: u32,
    steps: u64,
    mem: Vec<u8>,
    top: u32,
    limit: u32,
}

impl RefVm {
    fn new(code: &[u32], regs: [u32; 16], (w, t, l): (u32, u32, u32), mem: Vec<u8>) -> RefVm {
        assert_eq!(mem.len(), w as usize);
        RefVm {
            code: code.to_vec(),
            regs,
            psw: 0,
            pc: 0,
            sp: t,
            depth: 0,
            steps: 0,
            mem,
            top: t,
            limit: l,
        }
    }

    fn read(&self, ea: u32, width: u32) -> u32 {
        (0..width)
            .rev()
            .fold(0, |acc, i| (acc << 8) | self.mem[(ea + i) as usize] as u32)
    }

    fn write(&mut self, ea: u32, width: u32, v: u32) {
        for i in 0..width {
            self.mem[(ea + i) as usize] = (v >> (8 * i)) as u8;
        }
    }

    fn step(&mut self) -> RefStep {
        match self.execute() {
            Ok(RefStep::Exit(status)) => RefStep::Exit(status),
            Ok(outcome) => {
                self.steps += 1;
                outcome
            }
            Err(fault) => {
                self.regs[0] = fault.code();
                RefStep::Fault(fault)
            }
        }
    }

    /// Execute the instruction at PC; on `Err` nothing has been changed.
    fn execute(&mut self) -> Result<RefStep, Fault> {
        let code_len = self.code.len() as u64 * 4;
        let pc = self.pc;
        if !pc.is_multiple_of(4) || pc as u64 + 4 > code_len {
            return Err(Fault::PcOutOfRange);
        }
        let w = Word(self.code[(pc / 4) as usize]);
        let op = w.opcode().ok_or(Fault::IllegalOpcode)?;
        let (rd, rs1, rs2) = (w.rd() as usize, w.rs1() as usize, w.rs2() as usize);
        let (a, b) = (self.regs[rs1], self.regs[rs2]);
        let imm = w.simm12() as u32;
        let ea = a.wrapping_add(imm) & 0xFFFF;
        let window = self.mem.len() as u32;
        let width = match op {
            Opcode::Ld | Opcode::St => 4,
            Opcode::Ldh | Opcode::Sth => 2,
            _ => 1,
        };
        let mut next = pc.wrapping_add(4);
        let mut outcome = RefStep::Retired;
        match op {
            Opcode::Ldi => self.regs[rd] = imm,
            Opcode::Ld | Opcode::Ldb | Opcode::Ldh | Opcode::St | Opcode::Stb | Opcode::Sth => {
                if ea + width > window {
                    return Err(Fault::MemFault);
                }
                match op {
                    Opcode::Ld | Opcode::Ldb | Opcode::Ldh => self.regs[rd] = self.read(ea, width),
                    _ => self.write(ea, width, b),
                }
            }
            Opcode::Mov => self.regs[rd] = a,
            Opcode::Add
            | Opcode::Sub
            | Opcode::Mul
            | Opcode::Div
            | Opcode::And
            | Opcode::Or
            | Opcode::Xor
            | Opcode::Not
            | Opcode::Cmp
            | Opcode::Lsl
            | Opcode::Lsr
            | Opcode::Asr
            | Opcode::Adc
            | Opcode::Sbc => {
                let (r, psw) = ref_alu(op, a, b, self.psw).ok_or(Fault::DivZero)?;
                self.psw = psw;
                if op != Opcode::Cmp {
                    self.regs[rd] = r;
                }
            }
            Opcode::Jmp => next = w.target16(),
            Opcode::Jz if self.psw & 1 == 1 => next = w.target16(),
            Opcode::Jnz if self.psw & 1 == 0 => next = w.target16(),
            Opcode::Jz | Opcode::Jnz => {}
            Opcode::Call => {
                let base = if rs1 != 0 { a } else { pc };
                let target = base.wrapping_add(imm.wrapping_mul(4)) & 0xFFFF;
                if (self.sp as i64) - 4 < self.limit as i64 {
                    return Err(Fault::StackOverflow);
                }
                self.sp -= 4;
                self.write(self.sp, 4, pc.wrapping_add(4));
                self.regs[15] = self.sp;
                self.depth += 1;
                next = target;
            }
            Opcode::Ret => {
                if self.depth == 0 {
                    return Ok(RefStep::Exit(self.regs[0]));
                }
                if self.sp as u64 + 4 > self.top as u64 {
                    return Err(Fault::StackUnderflow);
                }
                next = self.read(self.sp, 4);
                self.sp += 4;
                self.regs[15] = self.sp;
                self.depth -= 1;
            }
            Opcode::Svc => outcome = RefStep::Trap(w.svc_module(), w.svc_function()),
            Opcode::Push => {
                if (self.sp as i64) - 4 < self.limit as i64 {
                    return Err(Fault::StackOverflow);
                }
                self.sp -= 4;
                self.write(self.sp, 4, a);
                self.regs[15] = self.sp;
            }
            Opcode::Pop => {
                if self.sp as u64 + 4 > self.top as u64 {
                    return Err(Fault::StackUnderflow);
                }
                let v = self.read(self.sp, 4);
                self.sp += 4;
                self.regs[15] = self.sp;
                self.regs[rd] = v;
            }
            Opcode::Fadd
            | Opcode::Fsub
            | Opcode::Fmul
            | Opcode::Fdiv
            | Opcode::I2f
            | Opcode::F2i => self.regs[rd] = ref_f16(op, a, b, self.regs[rd]),
            Opcode::Ldi32 => {
                if pc as u64 + 8 > code_len {
                    return Err(Fault::PcOutOfRange);
                }
                self.regs[rd] = self.code[(pc / 4) as usize + 1];
                next = pc + 8;
            }
            Opcode::Brk => outcome = RefStep::Break((w.0 & 0xFF) as u8, pc),
        }
        self.pc = next;
        Ok(outcome)
    }
}

// ---------------------------------------------------------------------------------------
// Properties

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 512,
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("regressions"))),
        ..ProptestConfig::default()
    })]

    /// The VM, stepped one instruction at a time, against the reference model on random
    /// code, registers, profiles and window contents: same outcome and same state
    /// (registers, PSW, PC, SP, depth, steps, window) after every step. SVCs and BRKs
    /// are resumed. Then the same program in one `run` call must end identically.
    #[test]
    fn vm_matches_the_reference_model(
        words in prop_oneof![2 => program(), 1 => flag_program()],
        regs in registers(),
        profile in prop_oneof![
            3 => Just((0x1_0000, 0x8000, 0)),
            2 => profile(),
        ],
        psw in 0u32..16,
        seed in any::<u64>(),
    ) {
        let mut vm = bare(&words, &regs, profile);
        fill(vm.window_mut(), seed);
        vm.ctx.psw = psw;
        let mut model = RefVm::new(&words, regs, profile, vm.window().to_vec());
        model.psw = psw;
        let mut whole = vm.clone();
        let mut stops = Vec::new();
        for i in 0..500 {
            let r = vm.run(1);
            let expected = model.step();
            let got = match r.exit {
                Exit::Budget => RefStep::Retired,
                Exit::Trap { module, function } => RefStep::Trap(module, function),
                Exit::Break { code, pc } => RefStep::Break(code, pc),
                Exit::Exit { status } => RefStep::Exit(status),
                Exit::Fault { fault, pc } => {
                    prop_assert_eq!(pc, model.pc);
                    RefStep::Fault(fault)
                }
                Exit::Layout(e) => return Err(TestCaseError::fail(format!("layout {e:?}"))),
            };
            let at = format!("step {i}, pc {:#X}", vm.ctx.pc);
            prop_assert_eq!(got, expected, "outcome at {}", at);
            prop_assert_eq!(vm.regs(), model.regs, "registers at {}", at);
            prop_assert_eq!(
                (vm.ctx.psw, vm.ctx.pc, vm.ctx.sp, vm.ctx.call_depth, vm.ctx.steps),
                (model.psw, model.pc, model.sp, model.depth, model.steps),
                "psw, pc, sp, depth, steps at {}", at
            );
            prop_assert!(vm.window() == &model.mem[..], "window differs at {}", at);
            match got {
                RefStep::Retired => {}
                RefStep::Trap(..) | RefStep::Break(..) => stops.push(r.exit),
                RefStep::Exit(_) | RefStep::Fault(_) => {
                    stops.push(r.exit);
                    break;
                }
            }
        }
        // The same execution with the largest budgets the stops allow.
        let total = vm.ctx.steps;
        let whole_stops = drive(&mut whole, &words, total.max(1), |_| u64::MAX)?;
        if total > 0 {
            prop_assert_eq!(&whole_stops[..], &stops[..whole_stops.len()]);
            prop_assert_eq!(snapshot(&whole).ctx.steps, total);
        }
    }

    /// Random code with random registers runs without a panic; every stop is explained
    /// by the instruction at PC, and the step count is the sum of the retired counts.
    #[test]
    fn random_code_runs_and_every_stop_is_explained(
        words in program(),
        regs in registers(),
        profile in profile(),
        seed in any::<u64>(),
    ) {
        let mut vm = bare(&words, &regs, profile);
        fill(vm.window_mut(), seed);
        let stops = drive(&mut vm, &words, 2000, |_| 2000)?;
        let _ = stops;
    }

    /// Single-stepping random code: a faulting or exiting step retires nothing and
    /// changes nothing but R0 (faults) or nothing at all (exit).
    #[test]
    fn faults_change_only_r0_and_retire_nothing(
        words in program(),
        regs in registers(),
        profile in profile(),
    ) {
        let mut vm = bare(&words, &regs, profile);
        for _ in 0..300 {
            let before = snapshot(&vm);
            let r = vm.run(1);
            let after = snapshot(&vm);
            check_stop(&words, &before, &after, r)?;
            match r.exit {
                Exit::Fault { fault, .. } => {
                    prop_assert_eq!(r.retired, 0);
                    let mut expected = before.clone();
                    expected.regs[0] = fault.code();
                    prop_assert_eq!(&after, &expected);
                    // (FAULTED is terminal in the executive; the core itself would run the
                    // instruction again, now with R0 = the fault code.)
                    break;
                }
                Exit::Exit { .. } => {
                    prop_assert_eq!(r.retired, 0);
                    prop_assert_eq!(&after, &before);
                    break;
                }
                _ => prop_assert_eq!(r.retired, 1),
            }
        }
    }

    /// §3.1: a load or store faults MEM_FAULT iff `ea + width > W`, and then changes
    /// nothing but R0; otherwise it accesses exactly bytes ea..ea+width-1, little-endian.
    #[test]
    fn memory_accesses_are_bounded_by_the_window(
        w4 in prop_oneof![1u32..=16, 1u32..=0x4000, Just(0x4000u32)],
        op in prop::sample::select(vec![
            Opcode::Ld, Opcode::Ldb, Opcode::Ldh, Opcode::St, Opcode::Stb, Opcode::Sth,
        ]),
        rd in 0u8..16,
        rs1 in 0u8..16,
        rs2 in 0u8..16,
        imm in 0u32..0x1000,
        near_top in -8i64..8,
        base_kind in 0u8..4,
        regs in registers(),
        seed in any::<u64>(),
    ) {
        let w = w4 * 4;
        let mut regs = regs;
        // Aim the base so that the address lands near W or the 64 KiB wrap point.
        let off = sext12(imm) as i64;
        match base_kind {
            0 => regs[rs1 as usize] = (w as i64 + near_top - off) as u32,
            1 => regs[rs1 as usize] = (0x1_0000 + near_top - off) as u32,
            2 => regs[rs1 as usize] = ((0x1_0000 + near_top - off) as u32) | 0xABCD_0000,
            _ => {}
        }
        let word = if matches!(op, Opcode::St | Opcode::Stb | Opcode::Sth) {
            encode::word(op, 0, rs1, rs2, imm)
        } else {
            encode::word(op, rd, rs1, 0, imm)
        };
        let mut vm = bare(&[word], &regs, (w, w, 0));
        fill(vm.window_mut(), seed);
        let before = snapshot(&vm);
        let r = vm.run(1);
        let after = snapshot(&vm);

        let ea = regs[rs1 as usize].wrapping_add(sext12(imm) as u32) & 0xFFFF;
        let width: u32 = match op {
            Opcode::Ld | Opcode::St => 4,
            Opcode::Ldh | Opcode::Sth => 2,
            _ => 1,
        };
        if ea + width > w {
            prop_assert_eq!(r.exit, Exit::Fault { fault: Fault::MemFault, pc: 0 });
            prop_assert_eq!(r.retired, 0);
            let mut expected = before;
            expected.regs[0] = Fault::MemFault.code();
            prop_assert_eq!(after, expected);
        } else {
            prop_assert_eq!(r.exit, Exit::Budget);
            prop_assert_eq!(r.retired, 1);
            let mut expected = before.clone();
            expected.ctx.pc = 4;
            expected.ctx.steps = 1;
            let range = ea as usize..(ea + width) as usize;
            match op {
                Opcode::Ld | Opcode::Ldb | Opcode::Ldh => {
                    let v = before.window[range]
                        .iter()
                        .rev()
                        .fold(0u32, |acc, &b| (acc << 8) | b as u32);
                    expected.regs[rd as usize] = v;
                }
                _ => {
                    let v = regs[rs2 as usize].to_le_bytes();
                    expected.window[range].copy_from_slice(&v[..width as usize]);
                }
            }
            prop_assert_eq!(after, expected);
        }
    }

    /// Two contexts in one VM RAM: running A never changes anything outside A's register
    /// bank and window (in particular B's bank and window).
    #[test]
    fn contexts_are_isolated_in_vm_ram(
        words in program(),
        regs in registers(),
        wa4 in prop_oneof![1u32..=64, 1u32..=0x4000],
        wb4 in 1u32..=0x400,
        a_first in any::<bool>(),
        banks_swapped in any::<bool>(),
        seed in any::<u64>(),
        stack in (0u32..=100, 0u32..=100),
    ) {
        let (wa, wb) = (wa4 * 4, wb4 * 4);
        let (bank_a, bank_b) = if banks_swapped { (0x80, 0x40) } else { (0x40, 0x80) };
        let (win_a, win_b) = if a_first { (0x100, 0x100 + wa) } else { (0x100 + wb, 0x100) };
        let ram_words = ((0x100 + wa + wb) / 4 + 16) as usize;
        // A's stack: T and L inside its window, L < T.
        let t = (wa4 - (stack.0 * wa4 / 101).min(wa4 - 1)) * 4;
        let l = (stack.1 * (t / 4) / 101) * 4;
        let mut a = Context::new(0, Layout {
            reg_base: bank_a, window_base: win_a, window_size: wa, stack_top: t, stack_limit: l,
        });
        let b = Context::new(0, Layout {
            reg_base: bank_b, window_base: win_b, window_size: wb, stack_top: wb, stack_limit: 0,
        });
        let mut ram = vec![0u32; ram_words];
        fill_words(&mut ram, seed);
        for (n, &v) in regs.iter().enumerate() {
            hsx_vm::write_register(&a, &mut ram, n, v).unwrap();
        }
        let original = ram.clone();
        let b_regs = hsx_vm::read_registers(&b, &ram).unwrap();
        let program = Program::from_words(&words);
        let mut left = 2000u64;
        while left > 0 {
            let r = hsx_vm::run(&mut a, &mut ram, &program, left);
            prop_assert!(!matches!(r.exit, Exit::Layout(_)), "{:?}", r.exit);
            left -= r.retired;
            if matches!(r.exit, Exit::Exit { .. } | Exit::Fault { .. }) {
                break;
            }
        }
        let a_bank = (bank_a / 4) as usize..(bank_a / 4) as usize + 16;
        let a_win = (win_a / 4) as usize..((win_a + wa) / 4) as usize;
        for (i, (now, then)) in ram.iter().zip(&original).enumerate() {
            if !a_bank.contains(&i) && !a_win.contains(&i) {
                prop_assert_eq!(now, then, "VM RAM word {} (byte 0x{:X}) outside A changed", i, i * 4);
            }
        }
        prop_assert_eq!(hsx_vm::read_registers(&b, &ram).unwrap(), b_regs);
    }

    /// One ALU instruction against the formulas of isa.md §6 / §6.1, written
    /// independently with wide integers: result, Z N C V, and the untouched flags.
    #[test]
    fn alu_results_and_flags_follow_the_spec(
        op in prop::sample::select(vec![
            Opcode::Add, Opcode::Sub, Opcode::Cmp, Opcode::Mul, Opcode::Div, Opcode::And,
            Opcode::Or, Opcode::Xor, Opcode::Not, Opcode::Lsl, Opcode::Lsr, Opcode::Asr,
            Opcode::Adc, Opcode::Sbc,
        ]),
        a in reg_value(),
        b in prop_oneof![reg_value(), 0u32..34, (0u32..4).prop_map(|k| k * 32)],
        related in 0u8..6,
        psw in 0u32..16,
    ) {
        // Operands near each other exercise the carry/borrow edges (a = b with borrow).
        let b = match related {
            0 => a,
            1 => a.wrapping_add(1),
            2 => a.wrapping_sub(1),
            _ => b,
        };
        // R1 = a, R2 = b, R3 = destination (preset to a marker).
        let mut regs = [0u32; 16];
        regs[1] = a;
        regs[2] = b;
        regs[3] = 0x5EED_5EED;
        let word = encode::rrr(op, 3, 1, 2);
        let mut vm = bare(&[word], &regs, (0x1_0000, 0x8000, 0));
        vm.ctx.psw = psw;
        let r = vm.run(1);
        if op == Opcode::Div && b == 0 {
            prop_assert_eq!(r.exit, Exit::Fault { fault: Fault::DivZero, pc: 0 });
            prop_assert_eq!(vm.ctx.psw, psw);
            prop_assert_eq!(vm.regs()[3], 0x5EED_5EED);
            return Ok(());
        }
        prop_assert_eq!(r.exit, Exit::Budget);
        let (res, expected_psw) = ref_alu(op, a, b, psw).expect("not DIV by 0");
        prop_assert_eq!(vm.ctx.psw, expected_psw, "{:?} a={:#X} b={:#X} psw_in={:#X}", op, a, b, psw);
        let got = vm.regs();
        let d = if op == Opcode::Cmp { 0x5EED_5EED } else { res };
        prop_assert_eq!(got[3], d, "{:?} a={:#X} b={:#X}", op, a, b);
        prop_assert_eq!((got[1], got[2]), (a, b));
    }

    /// FADD/FSUB/FMUL/FDIV/I2F/F2I against an f64 reference (exact for +, -, x of two
    /// binary16 values; rounding f64 to binary16 once is correct for / as well, since
    /// 53 >= 2 x 11 + 2), with canonical NaN, the high half kept, and PSW untouched.
    #[test]
    fn f16_ops_match_an_f64_reference(
        op in prop::sample::select(vec![
            Opcode::Fadd, Opcode::Fsub, Opcode::Fmul, Opcode::Fdiv, Opcode::I2f, Opcode::F2i,
        ]),
        a in prop_oneof![any::<u32>(), any::<u16>().prop_map(u32::from), (-70000i32..70000).prop_map(|x| x as u32)],
        b in any::<u32>(),
        d in any::<u32>(),
        psw in 0u32..16,
    ) {
        let mut regs = [0u32; 16];
        regs[1] = a;
        regs[2] = b;
        regs[3] = d;
        let word = if matches!(op, Opcode::I2f | Opcode::F2i) {
            encode::rr(op, 3, 1)
        } else {
            encode::rrr(op, 3, 1, 2)
        };
        let mut vm = bare(&[word], &regs, (0x1_0000, 0x8000, 0));
        vm.ctx.psw = psw;
        prop_assert_eq!(vm.run(1).exit, Exit::Budget);
        let expected = ref_f16(op, a, b, d);
        prop_assert_eq!(vm.regs()[3], expected, "{:?} a={:#X} b={:#X} d={:#X}", op, a, b, d);
        prop_assert_eq!(vm.ctx.psw, psw);
    }

    /// N steps in one call == N calls of one step == any other split of the budget, for
    /// flag-heavy code (fusable ALU+JZ/JNZ pairs, ADC/SBC after them, shifts by zero).
    #[test]
    fn budget_splits_do_not_change_execution(
        words in prop_oneof![3 => flag_program(), 1 => program()],
        regs in prop::array::uniform16(prop_oneof![
            3 => prop::sample::select(vec![0u32, 1, 2, 0xFFFF_FFFF, 0x8000_0000, 0x7FFF_FFFF]),
            1 => any::<u32>(),
        ]),
        psw in 0u32..16,
        n in 1u64..400,
        chunks in prop::collection::vec(1u64..7, 1..16),
    ) {
        let start = |psw| {
            let mut vm = bare(&words, &regs, (0x1_0000, 0x8000, 0));
            vm.ctx.psw = psw;
            vm
        };
        let mut whole = start(psw);
        let mut single = start(psw);
        let mut split = start(psw);
        let whole_stops = drive(&mut whole, &words, n, |_| n)?;
        let single_stops = drive(&mut single, &words, n, |_| 1)?;
        let split_stops = drive(&mut split, &words, n, |i| chunks[i % chunks.len()])?;
        prop_assert_eq!(&whole_stops, &single_stops);
        prop_assert_eq!(&whole_stops, &split_stops);
        let s = snapshot(&whole);
        prop_assert_eq!(&s, &snapshot(&single));
        prop_assert_eq!(&s, &snapshot(&split));
        // `step` is `run(.., 1)`.
        let mut a = start(psw);
        let mut b = start(psw);
        for _ in 0..n.min(50) {
            let ra = a.run(1);
            let rb = hsx_vm::step(&mut b.ctx, &mut b.ram, &b.program);
            prop_assert_eq!(ra, rb);
            if ra.exit != Exit::Budget {
                break;
            }
        }
        prop_assert_eq!(snapshot(&a), snapshot(&b));
    }
}

// ---------------------------------------------------------------------------------------
// Round robin inside the core

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 256,
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("regressions"))),
        ..ProptestConfig::default()
    })]

    /// `run_ring` against the turn-by-turn schedule it replaces (one `run` call per
    /// turn, rotating when a quantum is used up): the same exit, retired count, rotations,
    /// current member and turn left, the same context records and switch-in counts, the
    /// same rotation log, and the same VM RAM byte for byte. Members run random code
    /// (stops of every kind end the run), have random quanta and stacks, and one may have
    /// a record that does not fit VM RAM.
    #[test]
    fn round_robin_in_the_core_equals_turn_by_turn_runs(
        members in prop::collection::vec(
            (prop_oneof![1 => program(), 2 => flag_program()], registers(), 1u32..4, 0u32..=8),
            1..5,
        ),
        start_pick in any::<prop::sample::Index>(),
        first_left in 0u32..3,
        budget in 1u64..3000,
        log_len in prop::sample::select(vec![0usize, 1, 4, 16]),
        misfit in prop::option::weighted(0.1, any::<prop::sample::Index>()),
        seed in any::<u64>(),
    ) {
        let quanta: Vec<u32> = members.iter().map(|m| m.2).collect();
        let members: Vec<_> = members.into_iter().map(|m| (m.0, m.1, m.3)).collect();
        check_ring(&members, &quanta, start_pick, first_left, budget, log_len, misfit, false, seed)?;
    }

    /// The same at quantum 1 (the default), which `run_ring` runs on lanes split off VM
    /// RAM once; with `shared`, two members share a window and the run falls back to
    /// carving at every switch. Up to 10 members: rings of two to four run unrolled
    /// rounds, larger ones one or two blocks of four and the lanes left over.
    #[test]
    fn round_robin_at_quantum_one_equals_turn_by_turn_runs(
        members in prop::collection::vec(
            (prop_oneof![1 => program(), 2 => flag_program()], registers(), 0u32..=8),
            1..11,
        ),
        start_pick in any::<prop::sample::Index>(),
        first_left in 0u32..2,
        budget in 1u64..3000,
        log_len in prop::sample::select(vec![0usize, 1, 4, 16]),
        misfit in prop::option::weighted(0.05, any::<prop::sample::Index>()),
        shared in prop::bool::weighted(0.1),
        seed in any::<u64>(),
    ) {
        let quanta = vec![1; members.len()];
        check_ring(&members, &quanta, start_pick, first_left, budget, log_len, misfit, shared, seed)?;
    }
}

/// Run `members` (code, registers, stack depth in 16-byte units) with `quanta` through
/// `run_ring` and through one `run` per turn, and compare everything.
#[allow(clippy::too_many_arguments)]
fn check_ring(
    members: &[(Vec<u32>, [u32; 16], u32)],
    quanta: &[u32],
    start_pick: prop::sample::Index,
    first_left: u32,
    budget: u64,
    log_len: usize,
    misfit: Option<prop::sample::Index>,
    shared: bool,
    seed: u64,
) -> Result<(), TestCaseError> {
    const WINDOW: u32 = 0x400;
    let k = members.len();
    let start = start_pick.index(k);
    // Banks first, then the windows, all in one VM RAM.
    let window_base = |j: u32| 0x100 + 0x40 * 8 + j * WINDOW;
    let ram_words = (window_base(k as u32) / 4) as usize;
    let mut ram = vec![0u32; ram_words];
    fill_words(&mut ram, seed);
    let programs: Vec<Program> = members.iter().map(|m| Program::from_words(&m.0)).collect();
    let mut ctxs = Vec::new();
    // Banks in member order, reversed, or either of them rotated (as an executive's come).
    let bank_slot = |j: usize| {
        let j = if seed & 1 == 1 { k - 1 - j } else { j };
        (j + (seed >> 1) as usize % k) % k
    };
    for (j, (_, regs, stack)) in members.iter().enumerate() {
        let top = WINDOW - stack * 0x10;
        let ctx = Context::new(
            0,
            Layout {
                reg_base: 0x100 + 0x40 * bank_slot(j) as u32,
                window_base: window_base(j as u32),
                window_size: WINDOW,
                stack_top: top,
                stack_limit: top.saturating_sub(0x20),
            },
        );
        for (n, &v) in regs.iter().enumerate() {
            hsx_vm::write_register(&ctx, &mut ram, n, v).unwrap();
        }
        ctxs.push(ctx);
    }
    if let Some(pick) = misfit {
        // Bank inside its own window.
        let c = &mut ctxs[pick.index(k)];
        c.reg_base = c.stack_base;
    }
    if shared && k > 1 {
        // Member 1 runs in member 0's window (an executive would never do this).
        ctxs[1].stack_base = ctxs[0].stack_base;
    }

    // Turn by turn.
    let mut ref_ram = ram.clone();
    let mut ref_ctxs = ctxs.clone();
    let mut ref_entered = vec![0u64; k];
    let mut ref_log = Vec::new();
    let (mut i, mut total, mut turns) = (start, budget, 0u64);
    let mut turn = if first_left == 0 {
        quanta[start]
    } else {
        first_left
    };
    let expected = loop {
        let r = hsx_vm::run(
            &mut ref_ctxs[i],
            &mut ref_ram,
            &programs[i],
            total.min(turn.into()),
        );
        total -= r.retired;
        turn -= r.retired as u32;
        if r.exit != Exit::Budget || turn != 0 {
            break RingRun {
                exit: r.exit,
                retired: budget - total,
                turns,
                at: i,
                left: turn,
                members: k,
                start,
            };
        }
        ref_log.push(ref_ctxs[i].pc);
        turns += 1;
        i = (i + 1) % k;
        if total == 0 {
            break RingRun {
                exit: Exit::Budget,
                retired: budget,
                turns,
                at: i,
                left: 0,
                members: k,
                start,
            };
        }
        ref_entered[i] += 1;
        turn = quanta[i];
    };

    // In the core.
    let mut records = ctxs.clone();
    let mut ring: Vec<Member<&Program>> = records
        .iter_mut()
        .zip(quanta)
        .zip(&programs)
        .map(|((ctx, &q), p)| Member::new(ctx, q, p))
        .collect();
    let mut log = vec![0u32; log_len];
    let run = hsx_vm::run_ring(&mut ring, &mut ram, start, first_left, budget, &mut log);
    drop(ring);

    prop_assert_eq!(run, expected);
    prop_assert_eq!(run.switches_in().len(), k);
    for ((j, ctx), entered) in records.iter().enumerate().zip(run.switches_in()) {
        prop_assert_eq!(*ctx, ref_ctxs[j], "member {} record", j);
        prop_assert_eq!(entered, ref_entered[j], "member {} switches in", j);
    }
    let kept = ref_log.len().min(log_len);
    for (r, &pc) in ref_log.iter().enumerate().skip(ref_log.len() - kept) {
        prop_assert_eq!(log[r & (log_len - 1)], pc, "rotation {}", r);
    }
    prop_assert!(ram == ref_ram, "VM RAM differs");
    Ok(())
}

/// Fill VM RAM words with bytes from `fill`.
fn fill_words(words: &mut [u32], seed: u64) {
    let mut bytes = vec![0u8; words.len() * 4];
    fill(&mut bytes, seed);
    for (w, b) in words.iter_mut().zip(bytes.chunks_exact(4)) {
        *w = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
    }
}

/// A quotient just past a binary16 midpoint: the one input proptest found where a
/// reference built on `half::f16::from_f64` (no `std`) rounded the wrong way.
#[test]
fn f16_division_rounds_to_nearest_past_a_midpoint() {
    let mut regs = [0u32; 16];
    regs[1] = 0xB3B6; // -0.240966796875
    regs[2] = 0x4406; // 4.0234375
    let mut vm = bare(
        &[encode::rrr(Opcode::Fdiv, 3, 1, 2)],
        &regs,
        (0x1_0000, 0x8000, 0),
    );
    assert_eq!(vm.run(1).exit, Exit::Budget);
    assert_eq!(vm.regs()[3], 0xABAB); // -0.059906005859375, the nearer neighbour
    assert_eq!(ref_f16(Opcode::Fdiv, 0xB3B6, 0x4406, 0), 0xABAB);
}
