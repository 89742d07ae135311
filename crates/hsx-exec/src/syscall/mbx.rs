//! MBX (module 0x05, `syscalls.md` §8, `mailbox.md` §9): the register ABI over the
//! [`hsx_mailbox::Mailboxes`] table. Blocking RECV parks the task in WAITING (mailbox)
//! on the executive clock; its results are written when the wait completes.

use hsx_isa::ENOSYS;
use hsx_mailbox::{
    Completion, Function, Received, RecvOutcome, RecvWait, Status, TIMEOUT_INFINITE, WaitOutcome,
};

use hsx_vm::Context;

use super::{ARGS, low16, window_range};
use crate::executive::Executive;
use crate::sched::Slot;
use crate::stdio::{PendingKind, PendingRecv};
use crate::task::{Pid, WaitKind};

/// Size of the RECV info record (`mailbox.md` §10.6).
pub const INFO_RECORD_BYTES: u32 = 20;

/// Service MBX function `function` for the task in `slot`. The task's pid and context
/// record are read once: a call reaches its registers and window through the copy.
pub(crate) fn dispatch(exec: &mut Executive, slot: Slot, function: u8) {
    let task = exec.t_mut(slot);
    task.counters.mailbox_steps += 1;
    let (pid, ctx) = (task.pid, task.ctx);
    let Some(f) = Function::from_u8(function) else {
        exec.set_reg(slot, 0, ENOSYS);
        return;
    };
    let regs = exec.args_in(&ctx);
    let now = exec.now_ms();
    let handle = low16(regs[1]) as u16;
    match f {
        Function::Open => {
            let target = exec.read_c_string(slot, low16(regs[1]), hsx_mailbox::MAX_NAME_BYTES);
            let r = exec.io.mbx.open(pid, target.as_deref(), regs[2]);
            set_pair(exec, &ctx, r.map(u32::from));
        }
        Function::Bind => {
            let target = exec.read_c_string(slot, low16(regs[1]), hsx_mailbox::MAX_NAME_BYTES);
            let r = exec.io.mbx.bind(pid, target.as_deref(), regs[2], regs[3]);
            set_pair(exec, &ctx, r.map(u32::from));
        }
        Function::Send => {
            let (ptr, len) = (low16(regs[2]), low16(regs[3]));
            let range = window_range(&ctx, ptr, len);
            let data = range.and_then(|(phys, len)| exec.ram.bytes(phys, len));
            let (flags, channel) = (low16(regs[4]) as u16, low16(regs[5]) as u16);
            let r = exec
                .io
                .mbx
                .send(pid, handle, data, len as u16, flags, channel, now);
            set_pair(exec, &ctx, r.map(|s| u32::from(s.length)));
            // The wake-up's events and completions come before the sink's output.
            if let Ok(sent) = r
                && sent.sink
            {
                exec.mbx_settle();
                exec.sink_drain(sent.descriptor);
            }
        }
        Function::Recv => recv(exec, Caller { slot, pid, ctx }, &regs, now),
        Function::Peek => match exec.io.mbx.peek(pid, handle) {
            Ok(p) => exec.set_results_in(
                &ctx,
                &[0, p.depth, p.bytes_used, u32::from(p.next_len), p.capacity],
            ),
            Err(s) => exec.set_results_in(&ctx, &[s.code(), 0, 0, 0, 0]),
        },
        Function::Tap => {
            let r = exec.io.mbx.tap(pid, handle, regs[2]);
            exec.set_reg(slot, 0, status(r));
        }
        Function::Close => {
            let r = exec.io.mbx.close(pid, handle);
            exec.set_reg(slot, 0, status(r));
        }
    }
    exec.mbx_settle();
}

/// The task making a call: its slot, pid and (a copy of) its context record.
struct Caller {
    slot: Slot,
    pid: Pid,
    ctx: Context,
}

fn recv(exec: &mut Executive, caller: Caller, regs: &[u32; ARGS], now: u64) {
    let Caller { slot, pid, ctx } = caller;
    let (handle, buf, max_len) = (low16(regs[1]) as u16, low16(regs[2]), low16(regs[3]));
    let (timeout, info) = (low16(regs[4]) as u16, low16(regs[5]));
    if info != 0 && window_range(&ctx, info, INFO_RECORD_BYTES).is_none() {
        exec.io.mbx.report(
            pid,
            Function::Recv,
            Status::Internal,
            "info record outside the window",
        );
        exec.set_results_in(&ctx, &[Status::Internal.code(), 0, 0, 0, 0]);
        return;
    }
    let buffer_ok = window_range(&ctx, buf, max_len).is_some();
    let wait = match timeout {
        0 => RecvWait::Poll,
        t => RecvWait::Block {
            timeout: t,
            deadline: (t != TIMEOUT_INFINITE).then(|| now + u64::from(t)),
        },
    };
    let r = exec
        .io
        .mbx
        .recv(pid, handle, max_len as u16, buffer_ok, wait);
    match r {
        Ok(RecvOutcome::Message(m)) => {
            let results = deliver(exec, &ctx, buf, &m);
            exec.set_results_in(&ctx, &results);
            write_info(exec, &ctx, info, &results);
            exec.io.mbx.recycle(m.data);
        }
        Ok(RecvOutcome::Blocked) => {
            let deadline = match wait {
                RecvWait::Block { deadline, .. } => deadline,
                RecvWait::Poll => None,
            };
            exec.io.set_pending(
                slot,
                PendingRecv {
                    buf,
                    kind: PendingKind::Recv { info },
                },
            );
            exec.block(slot, WaitKind::Mailbox, deadline, None);
        }
        Err(s) => {
            let results = [s.code(), 0, 0, 0, 0];
            exec.set_results_in(&ctx, &results);
            write_info(exec, &ctx, info, &results);
        }
    }
}

/// FS READ fd 0 = RECV(handle 1, dst, len, infinite) returning the bytes copied
/// (`syscalls.md` §13): `Some(R0)` when the call completed, `None` when it blocked.
pub(crate) fn read_stdin(exec: &mut Executive, slot: Slot, dst: u32, len: u32) -> Option<u32> {
    let pid = exec.t(slot).pid;
    let buffer_ok = exec.guest_range(slot, dst, len).is_some();
    let wait = RecvWait::Block {
        timeout: TIMEOUT_INFINITE,
        deadline: None,
    };
    let r = exec.io.mbx.recv(pid, 1, len as u16, buffer_ok, wait);
    let out = match r {
        Ok(RecvOutcome::Message(m)) => {
            let ctx = exec.t(slot).ctx;
            deliver(exec, &ctx, dst, &m);
            Some(u32::from(m.copied()))
        }
        Ok(RecvOutcome::Blocked) => {
            exec.io.set_pending(
                slot,
                PendingRecv {
                    buf: dst,
                    kind: PendingKind::FsRead,
                },
            );
            exec.block(slot, WaitKind::Mailbox, None, None);
            None
        }
        Err(Status::Internal) => Some(super::fs::EINVAL),
        Err(_) => Some(super::fs::EBADF),
    };
    exec.mbx_settle();
    out
}

/// Copy a received payload into the guest buffer of the task whose context record is
/// `ctx`; returns R0..R4.
fn deliver(exec: &mut Executive, ctx: &Context, buf: u32, m: &Received) -> [u32; 5] {
    if let Some((phys, len)) = window_range(ctx, buf, m.data.len() as u32)
        && let Some(dst) = exec.ram.bytes_mut(phys, len)
    {
        dst.copy_from_slice(&m.data);
    }
    [
        0,
        u32::from(m.copied()),
        u32::from(m.flags),
        u32::from(m.channel),
        m.src_pid,
    ]
}

/// Write the 20-byte receive-info record mirroring R0..R4 (`mailbox.md` §10.6).
fn write_info(exec: &mut Executive, ctx: &Context, info: u32, results: &[u32; 5]) {
    if info == 0 {
        return;
    }
    let mut record = [0u8; INFO_RECORD_BYTES as usize];
    for (chunk, v) in record.chunks_exact_mut(4).zip(results) {
        chunk.copy_from_slice(&v.to_le_bytes());
    }
    if let Some((phys, len)) = window_range(ctx, info, INFO_RECORD_BYTES)
        && let Some(dst) = exec.ram.bytes_mut(phys, len)
    {
        dst.copy_from_slice(&record);
    }
}

/// Finish a blocked receive reported by the wake-up procedure or a CLOSE.
pub(crate) fn apply_completion(exec: &mut Executive, c: Completion) {
    let Some(slot) = exec.slot_of(c.pid) else {
        return;
    };
    let task = exec.t(slot);
    if task.wait.as_ref().map(|w| w.kind) != Some(WaitKind::Mailbox) {
        return;
    }
    let ctx = task.ctx;
    let Some(pending) = exec.io.take_pending(slot) else {
        return;
    };
    let (results, timed_out) = match c.outcome {
        WaitOutcome::Message(m) => {
            let results = deliver(exec, &ctx, pending.buf, &m);
            exec.io.mbx.recycle(m.data);
            (results, false)
        }
        WaitOutcome::Timeout => ([Status::Timeout.code(), 0, 0, 0, 0], true),
        WaitOutcome::InvalidHandle => ([Status::InvalidHandle.code(), 0, 0, 0, 0], false),
    };
    finish(exec, (slot, &ctx), pending, results, timed_out);
}

/// Complete the wait of the task in `slot` (context record `ctx`) with R0..R4.
/// Always inlined: with it, [`Executive::complete_wait`] joins the wake-up path.
#[inline(always)]
fn finish(
    exec: &mut Executive,
    (slot, ctx): (Slot, &Context),
    pending: PendingRecv,
    results: [u32; 5],
    timed_out: bool,
) {
    match pending.kind {
        PendingKind::Recv { info } => {
            write_info(exec, ctx, info, &results);
            exec.complete_wait(slot, &results, timed_out);
        }
        PendingKind::FsRead => {
            let r0 = match results[0] {
                0 => results[1],
                2 => super::fs::EBADF,
                _ => 0,
            };
            exec.complete_wait(slot, &[r0], timed_out);
        }
    }
}

/// The deadline of a blocked RECV was reached (timer expiry, `mailbox.md` §10.4).
pub(crate) fn expire(exec: &mut Executive, slot: Slot) {
    let task = exec.t(slot);
    let (pid, ctx) = (task.pid, task.ctx);
    exec.io.mbx.timeout(pid);
    let pending = exec.io.take_pending(slot).unwrap_or(PendingRecv {
        buf: 0,
        kind: PendingKind::Recv { info: 0 },
    });
    exec.mbx_settle();
    finish(
        exec,
        (slot, &ctx),
        pending,
        [Status::Timeout.code(), 0, 0, 0, 0],
        true,
    );
}

fn status(r: Result<(), Status>) -> u32 {
    r.err().unwrap_or(Status::Ok).code()
}

fn set_pair(exec: &mut Executive, ctx: &Context, r: Result<u32, Status>) {
    match r {
        Ok(v) => exec.set_results_in(ctx, &[0, v]),
        Err(s) => exec.set_results_in(ctx, &[s.code(), 0]),
    }
}
