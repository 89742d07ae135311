//! Reference values (`mvasm.md` §3.2) and field checks (§3.3), shared by the assembler
//! (placement-independent and single-unit checks) and the linker.

use crate::object::{RefKind, RelocType, SymbolSection};

/// Base of rodata in the data window.
pub(crate) const RODATA_BASE: u32 = 0x4000;

/// A symbol's final (or unit-relative) address and section.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Resolved {
    pub section: SymbolSection,
    pub addr: u32,
}

/// The value of `kind(name)` for a symbol at `sym` (§3.2).
pub(crate) fn ref_value(kind: RefKind, name: &str, sym: Resolved) -> Result<i64, String> {
    let addr = i64::from(sym.addr);
    Ok(match kind {
        RefKind::Symbol | RefKind::Abs => addr,
        RefKind::Lo16 => addr & 0xFFFF,
        RefKind::Hi16 => (addr >> 16) & 0xFFFF,
        RefKind::Off16 if sym.section == SymbolSection::Data => addr - i64::from(RODATA_BASE),
        RefKind::Off16 => return Err(format!("off16() expects .data symbol: {name}")),
    })
}

fn hex(value: i64) -> String {
    if value < 0 {
        format!("-0x{:X}", value.unsigned_abs())
    } else {
        format!("0x{value:X}")
    }
}

/// Bits of the code word a code relocation replaces.
pub(crate) fn code_mask(ty: RelocType, pc_relative: bool) -> u32 {
    match ty {
        RelocType::Jump if !pc_relative => 0xFFFF,
        RelocType::Imm32 => 0xFFFF_FFFF,
        _ => 0xFFF,
    }
}

/// What a reference resolves to, as far as the field check cares.
#[derive(Clone, Copy, Debug)]
pub(crate) struct FieldInput<'a> {
    pub ty: RelocType,
    pub pc_relative: bool,
    /// The reference's value.
    pub value: i64,
    /// Address of the instruction (CALL).
    pub pc: u32,
    /// The reference as written, for messages.
    pub reference: &'a str,
    /// A plain `name` that is not a .text label (jumps and CALLs reject it).
    pub plain_non_text: bool,
}

/// Check a value against its use site (§3.3) and return the field bits: masked by
/// [`code_mask`] for code, or the (truncated) little-endian value for rodata.
pub(crate) fn field_bits(input: FieldInput<'_>) -> Result<u32, String> {
    let FieldInput {
        ty,
        pc_relative,
        value,
        pc,
        reference,
        plain_non_text,
    } = input;
    let fits12 = (-2048..=2047).contains(&value);
    match ty {
        RelocType::Imm12 if !fits12 => Err(format!(
            "value {} of '{reference}' does not fit LDI's signed 12-bit immediate; use LDI32",
            hex(value)
        )),
        RelocType::Mem if !fits12 => Err(format!(
            "offset {} of '{reference}' does not fit a signed 12-bit offset",
            hex(value)
        )),
        RelocType::Imm12 | RelocType::Mem => Ok(value as u32 & 0xFFF),
        RelocType::Jump if plain_non_text => Err("jump target must be a .text label".into()),
        RelocType::Jump if pc_relative => {
            let diff = value - i64::from(pc);
            let words = diff / 4;
            if diff % 4 != 0 || !(-2048..=2047).contains(&words) {
                return Err("CALL target out of range (±8 KiB)".into());
            }
            Ok(words as u32 & 0xFFF)
        }
        RelocType::Jump => {
            if !(0..=0xFFFF).contains(&value) || value % 4 != 0 {
                return Err(format!("jump target {} out of range", hex(value)));
            }
            Ok(value as u32)
        }
        RelocType::Imm32 | RelocType::DataWord => Ok(value as u32),
        RelocType::DataHalf => Ok(value as u32 & 0xFFFF),
        RelocType::DataByte => Ok(value as u32 & 0xFF),
    }
}

/// Width in bytes of a rodata relocation field.
pub(crate) fn data_width(ty: RelocType) -> usize {
    match ty {
        RelocType::DataByte => 1,
        RelocType::DataHalf => 2,
        _ => 4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(ty: RelocType, value: i64) -> FieldInput<'static> {
        FieldInput {
            ty,
            pc_relative: false,
            value,
            pc: 0,
            reference: "x",
            plain_non_text: false,
        }
    }

    #[test]
    fn values_per_kind() {
        let data = Resolved {
            section: SymbolSection::Data,
            addr: 0x4001,
        };
        let text = Resolved {
            section: SymbolSection::Text,
            addr: 0x10,
        };
        assert_eq!(ref_value(RefKind::Off16, "t", data), Ok(1));
        assert_eq!(ref_value(RefKind::Lo16, "t", data), Ok(0x4001));
        assert_eq!(ref_value(RefKind::Hi16, "t", data), Ok(0));
        assert_eq!(
            ref_value(RefKind::Off16, "f", text),
            Err("off16() expects .data symbol: f".into())
        );
    }

    #[test]
    fn field_checks() {
        assert_eq!(field_bits(input(RelocType::Imm12, -1)), Ok(0xFFF));
        assert_eq!(
            field_bits(input(RelocType::Imm12, 0x4000)),
            Err("value 0x4000 of 'x' does not fit LDI's signed 12-bit immediate; use LDI32".into())
        );
        assert!(field_bits(input(RelocType::Mem, 2048)).is_err());
        assert_eq!(field_bits(input(RelocType::Jump, 0x1004)), Ok(0x1004));
        assert!(field_bits(input(RelocType::Jump, 0x1002)).is_err());
        assert!(field_bits(input(RelocType::Jump, 0x10000)).is_err());
        let call = |value, pc| FieldInput {
            pc_relative: true,
            pc,
            ..input(RelocType::Jump, value)
        };
        assert_eq!(field_bits(call(0x10, 0x8)), Ok(2));
        assert_eq!(field_bits(call(0x0, 0x8)), Ok(0xFFE));
        assert!(field_bits(call(0x2000, 0)).is_err());
        assert_eq!(field_bits(call(0x1FFC, 0)), Ok(0x7FF));
        assert_eq!(field_bits(input(RelocType::DataHalf, 0x12345)), Ok(0x2345));
    }
}
