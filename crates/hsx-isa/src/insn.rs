//! Decoding code for display and formatting instructions as MVASM text
//! (`mvasm.md` §10 rule 5). Shared by the disassembler, `--trace` and the debugger.

use core::fmt;

use crate::{Form, Opcode, Word};

/// One decoded instruction at a code address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Insn {
    /// The opcode.
    pub op: Opcode,
    /// The first (or only) word.
    pub word: Word,
    /// LDI32's literal word; 0 for every other opcode.
    pub literal: u32,
}

/// Why a code word cannot be shown as an instruction that assembles back to itself;
/// the disassembler writes such words as `.word 0xWWWWWWWW`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NotAnInsn {
    /// The opcode byte is undefined.
    IllegalOpcode,
    /// A field the opcode does not use is non-zero.
    NonCanonical,
    /// A JMP/JZ/JNZ target that is not a multiple of 4.
    UnalignedTarget,
    /// A pc-relative CALL whose target lies outside 0..0xFFFF.
    CallOutOfRange,
    /// LDI32 is the last word of the code.
    MissingLiteral,
}

impl Insn {
    /// Decode the instruction whose first word is `word`, at byte address `pc`; `next` is
    /// the following code word if there is one (LDI32's literal).
    pub fn decode(word: u32, next: Option<u32>, pc: u32) -> Result<Insn, NotAnInsn> {
        let w = Word(word);
        let op = w.opcode().ok_or(NotAnInsn::IllegalOpcode)?;
        if !w.is_canonical() {
            return Err(NotAnInsn::NonCanonical);
        }
        let mut literal = 0;
        match op.form() {
            Form::Jump if !w.target16().is_multiple_of(4) => {
                return Err(NotAnInsn::UnalignedTarget);
            }
            Form::Call if w.rs1() == 0 => {
                let target = pc as i64 + w.simm12() as i64 * 4;
                if !(0..=0xFFFF).contains(&target) {
                    return Err(NotAnInsn::CallOutOfRange);
                }
            }
            Form::Ldi32 => literal = next.ok_or(NotAnInsn::MissingLiteral)?,
            _ => {}
        }
        Ok(Insn {
            op,
            word: w,
            literal,
        })
    }

    /// Decode the instruction at `pc` in big-endian code bytes. `None` when `pc` is not a
    /// whole word inside the code.
    pub fn decode_in(code: &[u8], pc: u32) -> Option<Result<Insn, NotAnInsn>> {
        let word = read_be(code, pc)?;
        Some(Insn::decode(word, read_be(code, pc.checked_add(4)?), pc))
    }

    /// Bytes the instruction occupies (8 for LDI32).
    pub const fn size(&self) -> u32 {
        self.op.size()
    }

    /// Absolute target of JMP/JZ/JNZ and of a register-less CALL at `pc`.
    pub fn branch_target(&self, pc: u32) -> Option<u32> {
        match self.op.form() {
            Form::Jump => Some(self.word.target16()),
            Form::Call if self.word.rs1() == 0 => {
                Some((pc as i64 + self.word.simm12() as i64 * 4) as u32 & 0xFFFF)
            }
            _ => None,
        }
    }

    /// Display the instruction at `pc` with numeric branch targets.
    pub fn display(&self, pc: u32) -> InsnDisplay<'_, fn(u32) -> Option<&'static str>> {
        InsnDisplay {
            insn: self,
            pc,
            label: |_| None,
        }
    }

    /// Display the instruction at `pc`, printing branch targets through `label` when it
    /// names them.
    pub fn display_with<L, S>(&self, pc: u32, label: L) -> InsnDisplay<'_, L>
    where
        L: Fn(u32) -> Option<S>,
        S: fmt::Display,
    {
        InsnDisplay {
            insn: self,
            pc,
            label,
        }
    }
}

fn read_be(code: &[u8], at: u32) -> Option<u32> {
    let at = usize::try_from(at).ok()?;
    let bytes = code.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
}

/// `Display` adapter produced by [`Insn::display`] and [`Insn::display_with`].
pub struct InsnDisplay<'a, L> {
    insn: &'a Insn,
    pc: u32,
    label: L,
}

impl<L, S> fmt::Display for InsnDisplay<'_, L>
where
    L: Fn(u32) -> Option<S>,
    S: fmt::Display,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Insn {
            op,
            word: w,
            literal,
        } = *self.insn;
        let m = op.mnemonic();
        let target = |f: &mut fmt::Formatter<'_>, t: u32| match (self.label)(t) {
            Some(name) => write!(f, "{name}"),
            None => write!(f, "0x{t:04X}"),
        };
        let mem = |f: &mut fmt::Formatter<'_>, base: u8, off: i32| {
            if off < 0 {
                write!(f, "[R{base}-{}]", -off)
            } else {
                write!(f, "[R{base}+{off}]")
            }
        };
        match op.form() {
            Form::Rrr => write!(f, "{m} R{}, R{}, R{}", w.rd(), w.rs1(), w.rs2()),
            Form::Rr => write!(f, "{m} R{}, R{}", w.rd(), w.rs1()),
            Form::Cmp => write!(f, "{m} R{}, R{}", w.rs1(), w.rs2()),
            Form::Ldi => write!(f, "{m} R{}, {}", w.rd(), w.simm12()),
            Form::Ldi32 => write!(f, "{m} R{}, 0x{literal:08X}", w.rd()),
            Form::Load => {
                write!(f, "{m} R{}, ", w.rd())?;
                mem(f, w.rs1(), w.simm12())
            }
            Form::Store => {
                write!(f, "{m} ")?;
                mem(f, w.rs1(), w.simm12())?;
                write!(f, ", R{}", w.rs2())
            }
            Form::Jump => {
                write!(f, "{m} ")?;
                target(f, w.target16())
            }
            Form::Call if w.rs1() == 0 => {
                write!(f, "{m} ")?;
                target(f, self.insn.branch_target(self.pc).unwrap_or(0))
            }
            Form::Call => match w.simm12() {
                0 => write!(f, "{m} R{}", w.rs1()),
                off => write!(f, "{m} R{}, {}", w.rs1(), off * 4),
            },
            Form::Ret => write!(f, "{m}"),
            Form::Svc => write!(f, "{m} 0x{:X}, 0x{:02X}", w.svc_module(), w.svc_function()),
            Form::Push => write!(f, "{m} R{}", w.rs1()),
            Form::Pop => write!(f, "{m} R{}", w.rd()),
            Form::Brk => match w.0 & 0xFF {
                0 => write!(f, "{m}"),
                n => write!(f, "{m} {n}"),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use std::string::{String, ToString};

    use super::*;
    use crate::encode;

    fn show(word: u32, next: Option<u32>, pc: u32) -> String {
        Insn::decode(word, next, pc)
            .unwrap()
            .display(pc)
            .to_string()
    }

    #[test]
    fn formats_every_form() {
        let cases: &[(u32, Option<u32>, u32, &str)] = &[
            (0x0110_0010, None, 0, "LDI R1, 16"),
            (encode::ldi(6, -2048), None, 0, "LDI R6, -2048"),
            (encode::ldi32(1), Some(0xFFFE), 0, "LDI32 R1, 0x0000FFFE"),
            (0x0212_0FFC, None, 0, "LD R1, [R2-4]"),
            (0x0212_0000, None, 0, "LD R1, [R2+0]"),
            (
                encode::store(Opcode::Stb, 1, 4, 3),
                None,
                0,
                "STB [R1+4], R3",
            ),
            (
                encode::rrr(Opcode::Add, 5, 5, 13),
                None,
                0,
                "ADD R5, R5, R13",
            ),
            (encode::rr(Opcode::Not, 2, 1), None, 0, "NOT R2, R1"),
            (encode::rrr(Opcode::Cmp, 0, 1, 2), None, 0, "CMP R1, R2"),
            (0x2100_1004, None, 0, "JMP 0x1004"),
            (0x2400_0FFE, None, 0xC, "CALL 0x0004"),
            (0x2403_0001, None, 4, "CALL R3, 4"),
            (0x2403_0000, None, 4, "CALL R3"),
            (0x2500_0000, None, 0, "RET"),
            (0x3000_0502, None, 0, "SVC 0x5, 0x02"),
            (0x3000_0F7F, None, 0, "SVC 0xF, 0x7F"),
            (0x4001_0000, None, 0, "PUSH R1"),
            (0x4120_0000, None, 0, "POP R2"),
            (0x7F00_0000, None, 0, "BRK"),
            (0x7F00_0009, None, 0, "BRK 9"),
            (encode::rr(Opcode::F2i, 3, 1), None, 0, "F2I R3, R1"),
        ];
        for &(word, next, pc, text) in cases {
            assert_eq!(show(word, next, pc), text, "word {word:08X}");
        }
    }

    #[test]
    fn labels_replace_targets() {
        let insn = Insn::decode(0x2300_0010, None, 0).unwrap();
        let text = insn
            .display_with(0, |t| (t == 0x10).then_some("loop"))
            .to_string();
        assert_eq!(text, "JNZ loop");
    }

    #[test]
    fn undecodable_words_say_why() {
        assert_eq!(
            Insn::decode(0x0500_0000, None, 0),
            Err(NotAnInsn::IllegalOpcode)
        );
        assert_eq!(
            Insn::decode(0x2500_0001, None, 0),
            Err(NotAnInsn::NonCanonical)
        );
        assert_eq!(
            Insn::decode(0x2100_0002, None, 0),
            Err(NotAnInsn::UnalignedTarget)
        );
        assert_eq!(
            Insn::decode(0x2400_0FFF, None, 0),
            Err(NotAnInsn::CallOutOfRange)
        );
        assert_eq!(
            Insn::decode(0x6010_0000, None, 0),
            Err(NotAnInsn::MissingLiteral)
        );
    }

    #[test]
    fn decode_in_reads_big_endian_code() {
        let code = [0x60, 0x10, 0, 0, 0, 0, 0x12, 0x34];
        let insn = Insn::decode_in(&code, 0).unwrap().unwrap();
        assert_eq!(insn.literal, 0x1234);
        assert_eq!(Insn::decode_in(&code, 6), None);
        assert_eq!(
            Insn::decode_in(&code, 4).unwrap(),
            Err(NotAnInsn::IllegalOpcode)
        );
    }
}
