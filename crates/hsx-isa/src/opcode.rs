//! The 38 opcodes of `isa.md` §6 and their static properties.

/// Assembly operand shape of an instruction (`mvasm.md` §4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Form {
    /// `OP Rd, Ra, Rb`
    Rrr,
    /// `OP Rd, Rs`
    Rr,
    /// `CMP Ra, Rb`
    Cmp,
    /// `LDI Rd, imm12`
    Ldi,
    /// `LDI32 Rd, imm32` (two words)
    Ldi32,
    /// `OP Rd, [Rs+off]`
    Load,
    /// `OP [Rs+off], Rt`
    Store,
    /// `JMP/JZ/JNZ target16`
    Jump,
    /// `CALL target` or `CALL Rb[, off]`
    Call,
    /// `RET`
    Ret,
    /// `SVC mod, fn`
    Svc,
    /// `PUSH Rs`
    Push,
    /// `POP Rd`
    Pop,
    /// `BRK [n]`
    Brk,
}

/// Field masks inside the low 24 bits of an instruction word.
pub mod field {
    /// Destination register, bits 23..20.
    pub const RD: u32 = 0x00F0_0000;
    /// First source register, bits 19..16.
    pub const RS1: u32 = 0x000F_0000;
    /// Second source register, bits 15..12.
    pub const RS2: u32 = 0x0000_F000;
    /// 12-bit immediate, bits 11..0.
    pub const IMM12: u32 = 0x0000_0FFF;
    /// 16-bit absolute jump target, bits 15..0.
    pub const T16: u32 = 0x0000_FFFF;
}

macro_rules! opcodes {
    ($( $variant:ident = $value:literal, $mnemonic:literal, $form:ident, $fields:expr; )*) => {
        /// An HSX opcode (the top byte of an instruction word).
        #[repr(u8)]
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Opcode {
            $( #[doc = $mnemonic] $variant = $value, )*
        }

        impl Opcode {
            /// Every opcode, in numeric order.
            pub const ALL: &'static [Opcode] = &[ $( Opcode::$variant, )* ];

            /// The opcode with this byte value, or `None` (ILLEGAL_OPCODE).
            #[inline]
            pub const fn from_u8(byte: u8) -> Option<Opcode> {
                match byte {
                    $( $value => Some(Opcode::$variant), )*
                    _ => None,
                }
            }

            /// Upper-case mnemonic, as the disassembler prints it.
            pub const fn mnemonic(self) -> &'static str {
                match self { $( Opcode::$variant => $mnemonic, )* }
            }

            /// Operand shape.
            pub const fn form(self) -> Form {
                match self { $( Opcode::$variant => Form::$form, )* }
            }

            /// Bits of the low 24 that this opcode uses; the canonical encoding has all
            /// other bits zero (`isa.md` §5).
            pub const fn used_fields(self) -> u32 {
                match self { $( Opcode::$variant => $fields, )* }
            }
        }
    };
}

use field::*;

opcodes! {
    Ldi = 0x01, "LDI", Ldi, RD | IMM12;
    Ld = 0x02, "LD", Load, RD | RS1 | IMM12;
    St = 0x03, "ST", Store, RS1 | RS2 | IMM12;
    Mov = 0x04, "MOV", Rr, RD | RS1;
    Ldb = 0x06, "LDB", Load, RD | RS1 | IMM12;
    Ldh = 0x07, "LDH", Load, RD | RS1 | IMM12;
    Stb = 0x08, "STB", Store, RS1 | RS2 | IMM12;
    Sth = 0x09, "STH", Store, RS1 | RS2 | IMM12;
    Add = 0x10, "ADD", Rrr, RD | RS1 | RS2;
    Sub = 0x11, "SUB", Rrr, RD | RS1 | RS2;
    Mul = 0x12, "MUL", Rrr, RD | RS1 | RS2;
    Div = 0x13, "DIV", Rrr, RD | RS1 | RS2;
    And = 0x14, "AND", Rrr, RD | RS1 | RS2;
    Or = 0x15, "OR", Rrr, RD | RS1 | RS2;
    Xor = 0x16, "XOR", Rrr, RD | RS1 | RS2;
    Not = 0x17, "NOT", Rr, RD | RS1;
    Cmp = 0x20, "CMP", Cmp, RS1 | RS2;
    Jmp = 0x21, "JMP", Jump, T16;
    Jz = 0x22, "JZ", Jump, T16;
    Jnz = 0x23, "JNZ", Jump, T16;
    Call = 0x24, "CALL", Call, RS1 | IMM12;
    Ret = 0x25, "RET", Ret, 0;
    Svc = 0x30, "SVC", Svc, IMM12;
    Lsl = 0x31, "LSL", Rrr, RD | RS1 | RS2;
    Lsr = 0x32, "LSR", Rrr, RD | RS1 | RS2;
    Asr = 0x33, "ASR", Rrr, RD | RS1 | RS2;
    Adc = 0x34, "ADC", Rrr, RD | RS1 | RS2;
    Sbc = 0x35, "SBC", Rrr, RD | RS1 | RS2;
    Push = 0x40, "PUSH", Push, RS1;
    Pop = 0x41, "POP", Pop, RD;
    Fadd = 0x50, "FADD", Rrr, RD | RS1 | RS2;
    Fsub = 0x51, "FSUB", Rrr, RD | RS1 | RS2;
    Fmul = 0x52, "FMUL", Rrr, RD | RS1 | RS2;
    Fdiv = 0x53, "FDIV", Rrr, RD | RS1 | RS2;
    I2f = 0x54, "I2F", Rr, RD | RS1;
    F2i = 0x55, "F2I", Rr, RD | RS1;
    Ldi32 = 0x60, "LDI32", Ldi32, RD;
    Brk = 0x7F, "BRK", Brk, 0xFF;
}

impl Opcode {
    /// Look a mnemonic up, case-insensitively (`mvasm.md` §1).
    pub fn from_mnemonic(text: &str) -> Option<Opcode> {
        Opcode::ALL
            .iter()
            .copied()
            .find(|op| op.mnemonic().eq_ignore_ascii_case(text))
    }

    /// Size in bytes of the instruction in code (8 for LDI32, else 4).
    #[inline]
    pub const fn size(self) -> u32 {
        match self {
            Opcode::Ldi32 => 8,
            _ => 4,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_has_38_unique_opcodes_that_round_trip() {
        assert_eq!(Opcode::ALL.len(), 38);
        for &op in Opcode::ALL {
            assert_eq!(Opcode::from_u8(op as u8), Some(op));
            assert_eq!(Opcode::from_mnemonic(op.mnemonic()), Some(op));
            assert_eq!(
                Opcode::from_mnemonic(&op.mnemonic().to_ascii_lowercase_string()),
                Some(op)
            );
        }
    }

    #[test]
    fn undefined_bytes_are_illegal() {
        let defined = Opcode::ALL
            .iter()
            .filter(|op| Opcode::from_u8(**op as u8).is_some());
        assert_eq!(defined.count(), 38);
        assert_eq!(Opcode::from_u8(0x00), None);
        assert_eq!(Opcode::from_u8(0x05), None);
        assert_eq!((0..=255u8).filter_map(Opcode::from_u8).count(), 38);
    }

    trait Lower {
        fn to_ascii_lowercase_string(&self) -> LowerBuf;
    }
    struct LowerBuf([u8; 8], usize);
    impl core::ops::Deref for LowerBuf {
        type Target = str;
        fn deref(&self) -> &str {
            core::str::from_utf8(&self.0[..self.1]).unwrap()
        }
    }
    impl Lower for str {
        fn to_ascii_lowercase_string(&self) -> LowerBuf {
            let mut buf = [0u8; 8];
            for (dst, src) in buf.iter_mut().zip(self.bytes()) {
                *dst = src.to_ascii_lowercase();
            }
            LowerBuf(buf, self.len())
        }
    }
}
