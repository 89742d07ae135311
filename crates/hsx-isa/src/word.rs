//! Instruction-word fields and encoding (`isa.md` §5).
//!
//! ```text
//!  31      24 23  20 19  16 15  12 11          0
//! +----------+------+------+------+-------------+
//! |  opcode  |  rd  | rs1  | rs2  |    imm12    |
//! +----------+------+------+------+-------------+
//! ```

use crate::Opcode;

/// Sign-extend a 12-bit field (bit 11 = sign).
#[inline(always)]
pub const fn sext12(value: u32) -> i32 {
    ((value << 20) as i32) >> 20
}

/// One 32-bit instruction word with typed field accessors.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Word(pub u32);

impl Word {
    /// Opcode byte (bits 31..24), whether defined or not.
    #[inline(always)]
    pub const fn opcode_byte(self) -> u8 {
        (self.0 >> 24) as u8
    }
    /// The decoded opcode, or `None` for an ILLEGAL_OPCODE byte.
    #[inline(always)]
    pub const fn opcode(self) -> Option<Opcode> {
        Opcode::from_u8(self.opcode_byte())
    }
    /// Destination register number.
    #[inline(always)]
    pub const fn rd(self) -> u8 {
        ((self.0 >> 20) & 0xF) as u8
    }
    /// First source register number.
    #[inline(always)]
    pub const fn rs1(self) -> u8 {
        ((self.0 >> 16) & 0xF) as u8
    }
    /// Second source register number.
    #[inline(always)]
    pub const fn rs2(self) -> u8 {
        ((self.0 >> 12) & 0xF) as u8
    }
    /// Raw 12-bit immediate.
    #[inline(always)]
    pub const fn imm12(self) -> u32 {
        self.0 & 0xFFF
    }
    /// Sign-extended 12-bit immediate.
    #[inline(always)]
    pub const fn simm12(self) -> i32 {
        sext12(self.0)
    }
    /// 16-bit absolute target of JMP/JZ/JNZ.
    #[inline(always)]
    pub const fn target16(self) -> u32 {
        self.0 & 0xFFFF
    }
    /// SVC module number (imm bits 11..8).
    #[inline(always)]
    pub const fn svc_module(self) -> u8 {
        ((self.0 >> 8) & 0xF) as u8
    }
    /// SVC function number (imm bits 7..0).
    #[inline(always)]
    pub const fn svc_function(self) -> u8 {
        self.0 as u8
    }
    /// True when every field this opcode does not use is zero.
    pub const fn is_canonical(self) -> bool {
        match self.opcode() {
            Some(op) => self.0 & 0x00FF_FFFF & !op.used_fields() == 0,
            None => false,
        }
    }
}

/// Encoders producing canonical words (unused fields zero).
pub mod encode {
    use super::Opcode;

    /// A register-form word; `imm` is masked to 12 bits.
    #[inline]
    pub const fn word(op: Opcode, rd: u8, rs1: u8, rs2: u8, imm: u32) -> u32 {
        (op as u32) << 24
            | ((rd as u32) & 0xF) << 20
            | ((rs1 as u32) & 0xF) << 16
            | ((rs2 as u32) & 0xF) << 12
            | (imm & 0xFFF)
    }
    /// `OP Rd, Ra, Rb`.
    pub const fn rrr(op: Opcode, rd: u8, ra: u8, rb: u8) -> u32 {
        word(op, rd, ra, rb, 0)
    }
    /// `OP Rd, Rs` (MOV, NOT, I2F, F2I).
    pub const fn rr(op: Opcode, rd: u8, rs: u8) -> u32 {
        word(op, rd, rs, 0, 0)
    }
    /// `LDI Rd, imm` (imm in -2048..2047).
    pub const fn ldi(rd: u8, imm: i32) -> u32 {
        word(Opcode::Ldi, rd, 0, 0, imm as u32)
    }
    /// `LDI32 Rd, lit`: the first of the two words.
    pub const fn ldi32(rd: u8) -> u32 {
        word(Opcode::Ldi32, rd, 0, 0, 0)
    }
    /// Load `OP Rd, [Rs+off]`.
    pub const fn load(op: Opcode, rd: u8, base: u8, off: i32) -> u32 {
        word(op, rd, base, 0, off as u32)
    }
    /// Store `OP [Rs+off], Rt`.
    pub const fn store(op: Opcode, base: u8, off: i32, src: u8) -> u32 {
        word(op, 0, base, src, off as u32)
    }
    /// `JMP/JZ/JNZ target`.
    pub const fn jump(op: Opcode, target: u16) -> u32 {
        (op as u32) << 24 | target as u32
    }
    /// `CALL` with a word offset relative to `base` (rs1 = 0: the CALL's own address).
    pub const fn call(base: u8, word_offset: i32) -> u32 {
        word(Opcode::Call, 0, base, 0, word_offset as u32)
    }
    /// `SVC mod, fn`.
    pub const fn svc(module: u8, function: u8) -> u32 {
        (Opcode::Svc as u32) << 24 | ((module as u32) & 0xF) << 8 | function as u32
    }
    /// `BRK n`.
    pub const fn brk(code: u8) -> u32 {
        (Opcode::Brk as u32) << 24 | code as u32
    }
    /// `PUSH Rs`.
    pub const fn push(rs: u8) -> u32 {
        word(Opcode::Push, 0, rs, 0, 0)
    }
    /// `POP Rd`.
    pub const fn pop(rd: u8) -> u32 {
        word(Opcode::Pop, rd, 0, 0, 0)
    }
    /// `RET`.
    pub const fn ret() -> u32 {
        (Opcode::Ret as u32) << 24
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sext12_covers_the_range() {
        assert_eq!(sext12(0x7FF), 2047);
        assert_eq!(sext12(0x800), -2048);
        assert_eq!(sext12(0xFFF), -1);
        assert_eq!(sext12(0x12345FFF), -1);
    }

    #[test]
    fn encodings_match_the_spec_examples() {
        // mvasm.md §11 and isa.md §10 #1
        assert_eq!(encode::rrr(Opcode::Adc, 2, 3, 4), 0x3423_4000);
        assert_eq!(encode::rrr(Opcode::Sbc, 5, 6, 7), 0x3556_7000);
        assert_eq!(encode::brk(5), 0x7F00_0005);
        assert_eq!(encode::push(1), 0x4001_0000);
        assert_eq!(encode::pop(2), 0x4120_0000);
        assert_eq!(encode::svc(5, 2), 0x3000_0502);
        assert_eq!(encode::load(Opcode::Ld, 1, 2, -4), 0x0212_0FFC);
        assert_eq!(encode::ldi(5, 0), 0x0150_0000);
        assert_eq!(encode::call(0, 3), 0x2400_0003);
        assert_eq!(encode::call(0, -2), 0x2400_0FFE);
        assert_eq!(encode::rrr(Opcode::Add, 5, 5, 13), 0x1055_D000);
        assert_eq!(encode::jump(Opcode::Jmp, 0x1004), 0x2100_1004);
        assert_eq!(encode::ret(), 0x2500_0000);
    }

    #[test]
    fn canonical_words_have_unused_fields_zero() {
        assert!(Word(0x2500_0000).is_canonical());
        assert!(!Word(0x2500_0001).is_canonical());
        assert!(Word(0x7F00_00FF).is_canonical());
        assert!(!Word(0x7F00_0100).is_canonical());
        assert!(!Word(0x0500_0000).is_canonical());
        assert!(Word(0x3000_0FFF).is_canonical());
        assert!(!Word(0x6010_0001).is_canonical());
    }
}
