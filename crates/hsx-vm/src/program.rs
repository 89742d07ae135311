//! Code pre-decoded at load time.
//!
//! Code is immutable once loaded (`executive.md` §2), so every word is decoded once into
//! an 8-byte [`Op`] with its operands unpacked and, where the value depends only on the
//! word and its address, precomputed (sign-extended immediates, absolute CALL targets,
//! LDI32 literals). The interpreter then dispatches on a dense `u8` kind. Decoding never
//! fails: undefined opcodes and truncated LDI32s become ops that fault when executed, so
//! one-step-at-a-time semantics are identical to decoding at fetch.

use alloc::boxed::Box;
use alloc::vec::Vec;

use hsx_isa::{Opcode, Word};

/// Internal operation kinds (dense, so `match` compiles to a jump table).
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Illegal = 0,
    Ldi,
    Ld,
    St,
    Mov,
    Ldb,
    Ldh,
    Stb,
    Sth,
    Add,
    Sub,
    Mul,
    Div,
    And,
    Or,
    Xor,
    Not,
    Cmp,
    Lsl,
    Lsr,
    Asr,
    Adc,
    Sbc,
    Push,
    Pop,
    Fadd,
    Fsub,
    Fmul,
    Fdiv,
    I2f,
    F2i,
    /// LDI32 with its literal in `imm`.
    Ldi32,
    // The kinds from here on move the PC or stop (see [`Kind::moves_pc`]).
    Jmp,
    Jz,
    Jnz,
    /// CALL with rs1 = 0; `imm` holds the absolute target.
    CallAbs,
    /// CALL Rb, off; `imm` holds the byte offset.
    CallReg,
    Ret,
    Svc,
    /// LDI32 in the last code word: faults PC_OUT_OF_RANGE.
    Ldi32Truncated,
    Brk,
    /// JMP/JZ/JNZ whose target is not a valid instruction address: `imm` holds the
    /// target; taking the branch leaves the fast loop, and the next fetch faults.
    JmpFar,
    JzFar,
    JnzFar,
    /// Fused `ALU; JZ/JNZ` pairs (same registers as the ALU op, `imm` = target op index).
    /// They retire two instructions when the budget allows, else only the ALU op.
    AddJz,
    AddJnz,
    SubJz,
    SubJnz,
    CmpJz,
    CmpJnz,
    AndJz,
    AndJnz,
    /// The sentinel one past the last instruction: falling off the end of the code.
    End,
}

impl Kind {
    /// JMP and everything after it in the list: the kinds that move the PC (branches,
    /// calls, RET) or stop (SVC, BRK, the faulting LDI32 and the sentinel). One compare,
    /// so a driver can dispatch these and the others from separate copies of the
    /// dispatch (`lanes.rs`).
    #[inline(always)]
    pub(crate) fn moves_pc(self) -> bool {
        self as u8 >= Kind::Jmp as u8
    }
}

/// One pre-decoded instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C, align(8))]
pub(crate) struct Op {
    pub kind: Kind,
    pub rd: u8,
    pub rs1: u8,
    pub rs2: u8,
    /// Kind-specific operand: sign-extended immediate, absolute target, literal, SVC
    /// module/function, BRK code.
    pub imm: u32,
}

/// A code image decoded for execution. Cheap to share between every task running the
/// same image (wrap it in an `Arc` in the executive).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Program {
    ops: Box<[Op]>,
    code_len: u32,
}

impl AsRef<Program> for Program {
    fn as_ref(&self) -> &Program {
        self
    }
}

impl Program {
    /// Decode big-endian code bytes. A trailing partial word (not produced by a valid
    /// image) is ignored: fetching it faults PC_OUT_OF_RANGE as `code_len` says.
    pub fn from_code_bytes(code: &[u8]) -> Program {
        let words: Vec<u32> = code
            .chunks_exact(4)
            .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        Program::from_words(&words)
    }

    /// Decode code words (word `i` at byte address `4 * i`).
    ///
    /// # Panics
    /// If there are more than 2^30 words (the loader caps code at 64 KiB).
    pub fn from_words(words: &[u32]) -> Program {
        assert!(words.len() < 1 << 30, "code too large");
        let n = words.len() as u32;
        let mut ops: Vec<Op> = words
            .iter()
            .enumerate()
            .map(|(i, &w)| decode(w, words.get(i + 1).copied(), (i as u32) * 4, n))
            .collect();
        // Fuse flag-setting ALU ops with a following near JZ/JNZ. The branch keeps its own
        // op, so jumping straight to it still works.
        for i in 1..ops.len() {
            let (alu, br) = (ops[i - 1], ops[i]);
            let fused = match (alu.kind, br.kind) {
                (Kind::Add, Kind::Jz) => Kind::AddJz,
                (Kind::Add, Kind::Jnz) => Kind::AddJnz,
                (Kind::Sub, Kind::Jz) => Kind::SubJz,
                (Kind::Sub, Kind::Jnz) => Kind::SubJnz,
                (Kind::Cmp, Kind::Jz) => Kind::CmpJz,
                (Kind::Cmp, Kind::Jnz) => Kind::CmpJnz,
                (Kind::And, Kind::Jz) => Kind::AndJz,
                (Kind::And, Kind::Jnz) => Kind::AndJnz,
                _ => continue,
            };
            ops[i - 1] = Op {
                kind: fused,
                imm: br.imm,
                ..alu
            };
        }
        ops.push(Op {
            kind: Kind::End,
            rd: 0,
            rs1: 0,
            rs2: 0,
            imm: 0,
        });
        Program {
            ops: ops.into_boxed_slice(),
            code_len: n * 4,
        }
    }

    /// Code length in bytes.
    #[inline]
    pub fn code_len(&self) -> u32 {
        self.code_len
    }

    /// The decoded ops, one per code word, plus the [`Kind::End`] sentinel.
    #[inline(always)]
    pub(crate) fn ops(&self) -> &[Op] {
        &self.ops
    }
}

fn decode(word: u32, next: Option<u32>, pc: u32, code_words: u32) -> Op {
    let w = Word(word);
    let (rd, rs1, rs2) = (w.rd(), w.rs1(), w.rs2());
    let simm = w.simm12() as u32;
    let op = |kind, imm| Op {
        kind,
        rd,
        rs1,
        rs2,
        imm,
    };
    let Some(opcode) = w.opcode() else {
        return op(Kind::Illegal, 0);
    };
    match opcode {
        Opcode::Ldi => op(Kind::Ldi, simm),
        Opcode::Ld => op(Kind::Ld, simm),
        Opcode::St => op(Kind::St, simm),
        Opcode::Mov => op(Kind::Mov, 0),
        Opcode::Ldb => op(Kind::Ldb, simm),
        Opcode::Ldh => op(Kind::Ldh, simm),
        Opcode::Stb => op(Kind::Stb, simm),
        Opcode::Sth => op(Kind::Sth, simm),
        Opcode::Add => op(Kind::Add, 0),
        Opcode::Sub => op(Kind::Sub, 0),
        Opcode::Mul => op(Kind::Mul, 0),
        Opcode::Div => op(Kind::Div, 0),
        Opcode::And => op(Kind::And, 0),
        Opcode::Or => op(Kind::Or, 0),
        Opcode::Xor => op(Kind::Xor, 0),
        Opcode::Not => op(Kind::Not, 0),
        Opcode::Cmp => op(Kind::Cmp, 0),
        Opcode::Jmp | Opcode::Jz | Opcode::Jnz => {
            let target = w.target16();
            let near = target.is_multiple_of(4) && target / 4 < code_words;
            let kind = match (opcode, near) {
                (Opcode::Jmp, true) => Kind::Jmp,
                (Opcode::Jz, true) => Kind::Jz,
                (Opcode::Jnz, true) => Kind::Jnz,
                (Opcode::Jmp, false) => Kind::JmpFar,
                (Opcode::Jz, false) => Kind::JzFar,
                _ => Kind::JnzFar,
            };
            op(kind, if near { target / 4 } else { target })
        }
        Opcode::Call if rs1 == 0 => op(
            Kind::CallAbs,
            pc.wrapping_add(simm.wrapping_mul(4)) & 0xFFFF,
        ),
        Opcode::Call => op(Kind::CallReg, simm.wrapping_mul(4)),
        Opcode::Ret => op(Kind::Ret, 0),
        Opcode::Svc => op(Kind::Svc, w.imm12()),
        Opcode::Lsl => op(Kind::Lsl, 0),
        Opcode::Lsr => op(Kind::Lsr, 0),
        Opcode::Asr => op(Kind::Asr, 0),
        Opcode::Adc => op(Kind::Adc, 0),
        Opcode::Sbc => op(Kind::Sbc, 0),
        Opcode::Push => op(Kind::Push, 0),
        Opcode::Pop => op(Kind::Pop, 0),
        Opcode::Fadd => op(Kind::Fadd, 0),
        Opcode::Fsub => op(Kind::Fsub, 0),
        Opcode::Fmul => op(Kind::Fmul, 0),
        Opcode::Fdiv => op(Kind::Fdiv, 0),
        Opcode::I2f => op(Kind::I2f, 0),
        Opcode::F2i => op(Kind::F2i, 0),
        Opcode::Ldi32 => match next {
            Some(literal) => op(Kind::Ldi32, literal),
            None => op(Kind::Ldi32Truncated, 0),
        },
        Opcode::Brk => op(Kind::Brk, word & 0xFF),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hsx_isa::encode;

    #[test]
    fn op_is_eight_bytes() {
        assert_eq!(core::mem::size_of::<Op>(), 8);
    }

    #[test]
    fn precomputes_operands() {
        let p = Program::from_words(&[
            encode::ldi(6, -2048),
            0x2400_0FFE, // CALL at 4 with offset -2 words -> 0xFFFC (wraps to 16 bits)
            encode::ldi32(1),
            0xDEAD_BEEF,
            encode::ldi32(2),
        ]);
        let ops = p.ops();
        assert_eq!(ops.len(), 6);
        assert_eq!(ops[5].kind, Kind::End);
        assert_eq!((ops[0].kind, ops[0].imm), (Kind::Ldi, 0xFFFF_F800));
        assert_eq!((ops[1].kind, ops[1].imm), (Kind::CallAbs, 0xFFFC));
        assert_eq!((ops[2].kind, ops[2].imm), (Kind::Ldi32, 0xDEAD_BEEF));
        assert_eq!(ops[4].kind, Kind::Ldi32Truncated);
        assert_eq!(p.code_len(), 20);
    }

    #[test]
    fn undefined_opcodes_decode_to_illegal() {
        let p = Program::from_words(&[0x0500_0000, 0x0000_0000]);
        assert!(p.ops()[..2].iter().all(|op| op.kind == Kind::Illegal));
    }

    #[test]
    fn branches_are_near_or_far_and_alu_branch_pairs_fuse() {
        use hsx_isa::Opcode;
        let p = Program::from_words(&[
            encode::rrr(Opcode::Sub, 1, 1, 3),
            encode::jump(Opcode::Jnz, 0),
            encode::jump(Opcode::Jmp, 2),
            encode::jump(Opcode::Jz, 0x100),
        ]);
        let ops = p.ops();
        assert_eq!((ops[0].kind, ops[0].imm, ops[0].rd), (Kind::SubJnz, 0, 1));
        assert_eq!((ops[1].kind, ops[1].imm), (Kind::Jnz, 0));
        assert_eq!((ops[2].kind, ops[2].imm), (Kind::JmpFar, 2));
        assert_eq!((ops[3].kind, ops[3].imm), (Kind::JzFar, 0x100));
    }
}
