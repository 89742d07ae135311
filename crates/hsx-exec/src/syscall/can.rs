//! CAN (module 0x02, `syscalls.md` §5): CAN_TX of standard 11-bit frames.

use hsx_isa::ENOSYS;

use super::low16;
use crate::event::Event;
use crate::executive::Executive;
use crate::sched::Slot;

/// CAN_TX.
pub const CAN_TX: u8 = 0;
/// Invalid argument (−22).
pub const EINVAL: u32 = (-22i32) as u32;
/// Largest payload of a classic CAN frame.
pub const MAX_DATA: u32 = 8;

/// A virtual CAN bus adapter that receives the frames tasks transmit.
pub trait CanBus: Send {
    /// Transmit one standard frame (`id` ≤ 0x7FF, at most 8 data bytes).
    fn transmit(&mut self, pid: u32, id: u16, data: &[u8]);
}

#[inline(never)]
pub(crate) fn dispatch(exec: &mut Executive, slot: Slot, function: u8) {
    if function != CAN_TX {
        exec.set_reg(slot, 0, ENOSYS);
        return;
    }
    let regs = exec.args(slot);
    let id = (regs[1] & 0x7FF) as u16;
    // The length is the full register (a "negative" length is simply too long).
    let len = regs[3];
    let data = (len <= MAX_DATA)
        .then(|| exec.read_guest(slot, low16(regs[2]), len))
        .flatten();
    let Some(data) = data else {
        exec.set_reg(slot, 0, EINVAL);
        return;
    };
    let pid = exec.t(slot).pid;
    if let Some(bus) = exec.io.can.as_mut() {
        bus.transmit(pid, id, &data);
    }
    exec.emit(Event::CanTx { pid, id, data });
    exec.set_reg(slot, 0, 0);
}
