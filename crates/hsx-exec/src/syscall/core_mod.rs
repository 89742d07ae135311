//! CORE (module 0x00, `syscalls.md` §3).

use hsx_isa::ENOSYS;

use crate::executive::Executive;
use crate::sched::Slot;

/// GET_STEPS.
pub const GET_STEPS: u8 = 0;

#[inline(never)]
pub(crate) fn dispatch(exec: &mut Executive, slot: Slot, function: u8) {
    match function {
        GET_STEPS => {
            // The SVC itself has retired and is counted: report the steps before it.
            let before = exec.t(slot).ctx.steps.saturating_sub(1);
            exec.set_reg(slot, 0, before as u32);
        }
        _ => exec.set_reg(slot, 0, ENOSYS),
    }
}
