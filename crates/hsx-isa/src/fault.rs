//! Fault codes (`isa.md` §8.2).

/// Result code of an unknown SVC module or function; not a fault.
pub const ENOSYS: u32 = 0xFFFF_FF01;

/// A fault stops the task in the terminal FAULTED state with its code in R0.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Fault {
    /// POP, or RET with depth > 0, above the stack top.
    StackUnderflow = 0xFFFF_FF02,
    /// PUSH or CALL below the stack limit.
    StackOverflow = 0xFFFF_FF03,
    /// A load or store outside the task window.
    MemFault = 0xFFFF_FF04,
    /// DIV by zero.
    DivZero = 0xFFFF_FF05,
    /// An undefined opcode byte.
    IllegalOpcode = 0xFFFF_FF06,
    /// Fetch at an unaligned PC or past the code, or a truncated LDI32.
    PcOutOfRange = 0xFFFF_FF07,
}

impl Fault {
    /// Every fault, in code order.
    pub const ALL: [Fault; 6] = [
        Fault::StackUnderflow,
        Fault::StackOverflow,
        Fault::MemFault,
        Fault::DivZero,
        Fault::IllegalOpcode,
        Fault::PcOutOfRange,
    ];

    /// The value written to R0.
    #[inline]
    pub const fn code(self) -> u32 {
        self as u32
    }

    /// The spec name, e.g. `MEM_FAULT`.
    pub const fn name(self) -> &'static str {
        match self {
            Fault::StackUnderflow => "STACK_UNDERFLOW",
            Fault::StackOverflow => "STACK_OVERFLOW",
            Fault::MemFault => "MEM_FAULT",
            Fault::DivZero => "DIV_ZERO",
            Fault::IllegalOpcode => "ILLEGAL_OPCODE",
            Fault::PcOutOfRange => "PC_OUT_OF_RANGE",
        }
    }

    /// The fault with this R0 code.
    pub fn from_code(code: u32) -> Option<Fault> {
        Fault::ALL.into_iter().find(|f| f.code() == code)
    }
}

impl core::fmt::Display for Fault {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{} (0x{:08X})", self.name(), self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_names_follow_the_table() {
        let expected = [
            (0xFFFF_FF02, "STACK_UNDERFLOW"),
            (0xFFFF_FF03, "STACK_OVERFLOW"),
            (0xFFFF_FF04, "MEM_FAULT"),
            (0xFFFF_FF05, "DIV_ZERO"),
            (0xFFFF_FF06, "ILLEGAL_OPCODE"),
            (0xFFFF_FF07, "PC_OUT_OF_RANGE"),
        ];
        for (fault, (code, name)) in Fault::ALL.into_iter().zip(expected) {
            assert_eq!(fault.code(), code);
            assert_eq!(fault.name(), name);
            assert_eq!(Fault::from_code(code), Some(fault));
        }
        assert_eq!(Fault::from_code(ENOSYS), None);
    }
}
