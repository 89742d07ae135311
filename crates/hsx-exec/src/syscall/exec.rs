//! EXEC (module 0x06, `syscalls.md` §7): sleep, yield, getpid, spawn, kill, wait.

use hsx_isa::ENOSYS;

use super::low16;
use crate::event::Event;
use crate::executive::{Executive, SpawnError, SpawnOptions};
use crate::sandbox;
use crate::sched::Slot;
use crate::task::{TaskState, WaitKind};

/// Functions.
pub const SLEEP_MS: u8 = 0;
/// YIELD.
pub const YIELD: u8 = 1;
/// GETPID.
pub const GETPID: u8 = 2;
/// SPAWN.
pub const SPAWN: u8 = 3;
/// KILL.
pub const KILL: u8 = 4;
/// WAIT.
pub const WAIT: u8 = 5;

/// Status codes.
pub const OK: u32 = 0;
/// No such file or PID.
pub const ENOENT: u32 = 1;
/// Not allowed (PID 0).
pub const EPERM: u32 = 2;
/// No task slot or VM RAM.
pub const ENOSPC: u32 = 3;
/// Malformed argument or invalid image.
pub const EINVAL: u32 = 4;
/// WAIT: target still running.
pub const TIMEOUT: u32 = 7;

/// WAIT timeout meaning "forever".
pub const INFINITE: u32 = 0xFFFF;

#[inline(never)]
pub(crate) fn dispatch(exec: &mut Executive, slot: Slot, function: u8) {
    let regs = exec.args(slot);
    let me = exec.t(slot).pid;
    match function {
        SLEEP_MS => {
            let ms = regs[0];
            exec.set_reg(slot, 0, 0);
            if ms == 0 {
                exec.yield_slot(slot);
            } else {
                let deadline = exec.now_ms().saturating_add(ms as u64);
                exec.emit(Event::SleepRequest {
                    pid: me,
                    ms,
                    deadline,
                });
                exec.block(slot, WaitKind::Timer, Some(deadline), None, None);
            }
        }
        YIELD => {
            exec.set_reg(slot, 0, 0);
            exec.yield_slot(slot);
        }
        GETPID => exec.set_reg(slot, 0, me),
        SPAWN => {
            let (status, pid) = spawn(exec, slot, low16(regs[1]));
            exec.set_reg(slot, 0, status);
            exec.set_reg(slot, 1, pid);
        }
        KILL => {
            let target = low16(regs[1]);
            if target == 0 {
                exec.set_reg(slot, 0, EPERM);
            } else if exec.slot_of(target).is_none() {
                exec.set_reg(slot, 0, ENOENT);
            } else {
                // Killing oneself does not return; otherwise report OK.
                if target != me {
                    exec.set_reg(slot, 0, OK);
                }
                let _ = exec.kill(target);
            }
        }
        WAIT => wait(exec, slot, low16(regs[1]), low16(regs[2])),
        _ => exec.set_reg(slot, 0, ENOSYS),
    }
}

fn spawn(exec: &mut Executive, slot: Slot, path_ptr: u32) -> (u32, u32) {
    let Some(path) = exec.read_c_string(slot, path_ptr, 255) else {
        return (EINVAL, 0);
    };
    let Some(root) = exec.config().fs_root.clone() else {
        return (ENOENT, 0);
    };
    let parts = match sandbox::components(&path, false) {
        Ok(p) => p,
        Err(_) => return (EINVAL, 0),
    };
    let host_path = match sandbox::resolve(&root, &parts, true) {
        Ok(p) => p,
        Err(sandbox::PathError::Missing) => return (ENOENT, 0),
        Err(_) => return (EINVAL, 0),
    };
    let Ok(bytes) = std::fs::read(&host_path) else {
        return (ENOENT, 0);
    };
    let opts = SpawnOptions {
        program: String::from_utf8_lossy(&path).into_owned(),
        parent: exec.t(slot).pid,
        ..SpawnOptions::default()
    };
    match exec.spawn_bytes(&bytes, opts) {
        Ok(pid) => (OK, pid),
        Err(SpawnError::Ram(_)) | Err(SpawnError::NoPid) => (ENOSPC, 0),
        Err(_) => (EINVAL, 0),
    }
}

fn wait(exec: &mut Executive, slot: Slot, target: u32, timeout: u32) {
    let me = exec.t(slot).pid;
    if target == 0 || target == me {
        return set3(exec, slot, EINVAL, 0, 0);
    }
    let Some(tslot) = exec.slot_of(target) else {
        return set3(exec, slot, ENOENT, 0, 0);
    };
    let t = exec.t(tslot);
    if t.state.is_terminal() {
        let (reason, status) = match (t.exit_status(), t.fault()) {
            (Some(s), _) => (0, s),
            (None, Some((f, _))) => (1, f.code()),
            (None, None) => (2, 0),
        };
        set3(exec, slot, OK, status, reason);
        // No other WAIT can be pending on a target that is already terminal.
        exec.reap(tslot);
        return;
    }
    if timeout == 0 {
        return set3(exec, slot, TIMEOUT, 0, 0);
    }
    let deadline = (timeout != INFINITE).then(|| exec.now_ms() + timeout as u64);
    exec.block(slot, WaitKind::Task, deadline, Some(target), None);
    debug_assert_eq!(exec.t(slot).state, TaskState::Waiting(WaitKind::Task));
}

fn set3(exec: &mut Executive, slot: Slot, r0: u32, r1: u32, r2: u32) {
    exec.set_reg(slot, 0, r0);
    exec.set_reg(slot, 1, r1);
    exec.set_reg(slot, 2, r2);
}
