//! System call dispatch (`syscalls.md` §1-§2). The VM core returns a trap after the SVC
//! retired; the executive services it here before the task executes anything else.

pub mod can;
pub mod core_mod;
pub mod exec;
pub mod fs;
pub mod math;
pub mod mbx;
pub mod task;

use hsx_isa::{ENOSYS, svc};
use hsx_vm::{Context, REGISTERS, read_registers, register_bank, register_bank_mut};

use crate::executive::Executive;
use crate::sched::Slot;

impl Executive {
    /// Service `SVC mod, fn` for the task in `slot`. The module dispatchers other than
    /// MBX are out of line (`#[inline(never)]`): the mailbox path, the hot one, keeps a
    /// small frame.
    pub(crate) fn dispatch_syscall(&mut self, slot: Slot, module: u8, function: u8) {
        let before = self
            .config
            .svc_events
            .then(|| (self.t(slot).pid, self.args(slot)));
        match module {
            svc::CORE => core_mod::dispatch(self, slot, function),
            svc::TASK => task::dispatch(self, slot, function),
            svc::EXEC => exec::dispatch(self, slot, function),
            svc::CAN => can::dispatch(self, slot, function),
            svc::FS => fs::dispatch(self, slot, function),
            svc::MBX => mbx::dispatch(self, slot, function),
            svc::MATH => math::dispatch(self, slot, function),
            _ => self.set_reg(slot, 0, ENOSYS),
        }
        if let Some((pid, args)) = before {
            let result = self.tasks[slot as usize]
                .as_ref()
                .filter(|t| t.pid == pid && t.state.is_runnable())
                .map(|_| self.args(slot)[0]);
            self.emit(crate::event::Event::Svc {
                pid,
                module,
                function,
                args,
                result,
            });
        }
    }

    /// The caller's registers, read through `reg_base`.
    pub(crate) fn regs(&self, slot: Slot) -> [u32; REGISTERS] {
        read_registers(&self.t(slot).ctx, self.ram.words()).unwrap_or([0; REGISTERS])
    }

    /// The argument registers R0..R5 of a call (`syscalls.md` §1.3), read through
    /// `reg_base`: only the words a call can use, not the whole bank.
    pub(crate) fn args(&self, slot: Slot) -> [u32; ARGS] {
        self.args_in(&self.t(slot).ctx)
    }

    /// [`Executive::args`] of the task whose context record is `ctx`.
    pub(crate) fn args_in(&self, ctx: &Context) -> [u32; ARGS] {
        match register_bank(ctx, self.ram.words()) {
            Ok(bank) => args_of(bank),
            Err(_) => [0; ARGS],
        }
    }

    /// Write one result register through `reg_base`.
    pub(crate) fn set_reg(&mut self, slot: Slot, index: usize, value: u32) {
        let ctx = &self.tasks[slot as usize].as_ref().expect("live slot").ctx;
        write_results(ctx, self.ram.words_mut(), index, &[value]);
    }

    /// Write results into R0, R1, ... of the task whose context record is `ctx`, through
    /// its `reg_base`, borrowing the bank once.
    pub(crate) fn set_results_in(&mut self, ctx: &Context, values: &[u32]) {
        write_results(ctx, self.ram.words_mut(), 0, values);
    }

    /// A guest buffer `(ptr, len)` of the task (`syscalls.md` §1.4: valid iff
    /// `ptr + len <= W`), as a physical byte range.
    pub(crate) fn guest_range(&self, slot: Slot, ptr: u32, len: u32) -> Option<(u32, u32)> {
        window_range(&self.t(slot).ctx, ptr, len)
    }

    /// Copy a guest buffer out.
    pub(crate) fn read_guest(&self, slot: Slot, ptr: u32, len: u32) -> Option<Vec<u8>> {
        let (phys, len) = self.guest_range(slot, ptr, len)?;
        self.ram.bytes(phys, len).map(<[u8]>::to_vec)
    }

    /// Read a NUL-terminated guest string of at most `max` bytes (excluding the NUL).
    pub(crate) fn read_c_string(&self, slot: Slot, ptr: u32, max: usize) -> Option<Vec<u8>> {
        let (base, size) = self.window_of(slot);
        if ptr >= size {
            return None;
        }
        let bytes = self.ram.bytes(base + ptr, size - ptr)?;
        let nul = bytes.iter().position(|&b| b == 0)?;
        (nul <= max).then(|| bytes[..nul].to_vec())
    }
}

/// Write `values` into R`first`, R`first+1`, ... (wrapping at R15) of the task whose
/// context record is `ctx`, through its `reg_base`.
pub(crate) fn write_results(ctx: &Context, ram: &mut [u32], first: usize, values: &[u32]) {
    if let Ok(bank) = register_bank_mut(ctx, ram) {
        for (i, &v) in values.iter().enumerate() {
            bank[(first + i) % REGISTERS] = v.to_le();
        }
    }
}

/// A guest buffer `(ptr, len)` of the task whose context record is `ctx`
/// (`syscalls.md` §1.4: valid iff `ptr + len <= W`), as a physical byte range.
pub(crate) fn window_range(ctx: &Context, ptr: u32, len: u32) -> Option<(u32, u32)> {
    let end = ptr.checked_add(len)?;
    (end <= ctx.window_size).then_some((ctx.stack_base + ptr, len))
}

/// Registers that carry system call arguments: R0..R5 (`syscalls.md` §1.3).
pub(crate) const ARGS: usize = 6;

/// The argument registers of a register bank (stored little-endian).
#[inline(always)]
pub(crate) fn args_of(bank: &[u32; hsx_vm::REGISTERS]) -> [u32; ARGS] {
    std::array::from_fn(|i| u32::from_le(bank[i]))
}

/// `R & 0xFFFF`: pointers, lengths, pids, timeouts (`syscalls.md` §1.4).
pub(crate) fn low16(r: u32) -> u32 {
    r & 0xFFFF
}
