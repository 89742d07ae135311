//! TASK (module 0x01, `syscalls.md` §4).

use hsx_isa::ENOSYS;

use super::low16;
use crate::executive::Executive;
use crate::sched::Slot;
use crate::task::Termination;

/// EXIT: status in R0.
pub const EXIT: u8 = 0;
/// UART_WRITE: R1 ptr, R2 len.
pub const UART_WRITE: u8 = 1;
/// Invalid-argument result of TASK calls.
pub const EINVAL: u32 = (-22i32) as u32;

#[inline(never)]
pub(crate) fn dispatch(exec: &mut Executive, slot: Slot, function: u8) {
    let regs = exec.args(slot);
    match function {
        EXIT => exec.terminate(slot, Termination::Exited(regs[0])),
        UART_WRITE => {
            // Through the task's stdout descriptor (`syscalls.md` §13).
            let (ptr, len) = (low16(regs[1]), low16(regs[2]));
            let stream = crate::stdio::StdioStream::Out;
            let r0 = exec.stdio_write(slot, stream, ptr, len).unwrap_or(EINVAL);
            exec.set_reg(slot, 0, r0);
        }
        _ => exec.set_reg(slot, 0, ENOSYS),
    }
}
