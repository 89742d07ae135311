//! The HSX instruction set (`isa.md`): opcodes, instruction-word fields, canonical
//! encoding, fault codes, and MVASM formatting of decoded instructions.
//!
//! This crate is `no_std` and allocation-free. It is the single source of truth for
//! the encoding, shared by the VM core, the assembler, the disassembler and the
//! debugger.
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod fault;
mod insn;
mod opcode;
mod word;

pub use fault::{ENOSYS, Fault};
pub use insn::{Insn, InsnDisplay, NotAnInsn};
pub use opcode::{Form, Opcode, field};
pub use word::{Word, encode, sext12};

/// Processor status word flag bits (`isa.md` §1).
pub mod psw {
    /// Zero.
    pub const Z: u32 = 0x1;
    /// Carry (1 = no borrow for subtraction).
    pub const C: u32 = 0x2;
    /// Negative.
    pub const N: u32 = 0x4;
    /// Signed overflow.
    pub const V: u32 = 0x8;
    /// Bits a PSW may hold.
    pub const MASK: u32 = 0xF;

    /// Bracketed flag names as tools print them, e.g. `[Z C]`; `[]` when clear.
    pub fn names(psw: u32) -> FlagNames {
        FlagNames(psw & MASK)
    }

    /// Display adapter returned by [`names`].
    pub struct FlagNames(u32);

    impl core::fmt::Display for FlagNames {
        fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
            f.write_str("[")?;
            let mut first = true;
            for (bit, name) in [(Z, "Z"), (C, "C"), (N, "N"), (V, "V")] {
                if self.0 & bit != 0 {
                    if !first {
                        f.write_str(" ")?;
                    }
                    f.write_str(name)?;
                    first = false;
                }
            }
            f.write_str("]")
        }
    }
}

/// SVC module numbers (`syscalls.md` §2.1).
pub mod svc {
    /// CORE: GET_STEPS.
    pub const CORE: u8 = 0x00;
    /// TASK: EXIT, UART_WRITE.
    pub const TASK: u8 = 0x01;
    /// CAN: CAN_TX.
    pub const CAN: u8 = 0x02;
    /// FS: sandboxed file system.
    pub const FS: u8 = 0x04;
    /// MBX: mailboxes.
    pub const MBX: u8 = 0x05;
    /// EXEC: sleep, yield, tasks.
    pub const EXEC: u8 = 0x06;
    /// VAL: value registry.
    pub const VAL: u8 = 0x07;
    /// CMD: command registry.
    pub const CMD: u8 = 0x08;
    /// MATH: f16 sin/cos/exp.
    pub const MATH: u8 = 0x0E;
}
