//! MBX (module 0x05, `syscalls.md` §8, `mailbox.md` §9): the register ABI over the
//! [`hsx_mailbox::Mailboxes`] table. Blocking RECV parks the task in WAITING (mailbox)
//! on the executive clock; its results are written when the wait completes.

use std::cmp::Ordering;

use hsx_isa::{ENOSYS, svc};
use hsx_mailbox::{
    Actor, Completion, Function, Mailboxes, Received, RecvOutcome, RecvWait, Sent, Status,
    TIMEOUT_INFINITE, WaitOutcome,
};

use hsx_vm::{Context, REGISTERS};

use super::{ARGS, args_of, low16, window_range};
use crate::clock::Clock;
use crate::executive::Executive;
use crate::sched::Slot;
use crate::stdio::{PendingKind, PendingRecv};
use crate::task::{Task, WaitKind};

/// Size of the RECV info record (`mailbox.md` §10.6).
pub const INFO_RECORD_BYTES: u32 = 20;

/// Service MBX function `function` for the task in `slot`. The task's pid and context
/// record are read once: a call reaches its registers and window through the copy.
pub(crate) fn dispatch(exec: &mut Executive, slot: Slot, function: u8) {
    let task = exec.t_mut(slot);
    task.counters.mailbox_steps += 1;
    let (pid, actor, ctx) = (task.pid, task.mbx, task.ctx);
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
            let (r, results) = send(&mut exec.io.mbx, actor, &regs, data, now);
            exec.set_results_in(&ctx, &results);
            // The wake-up's events and completions come before the sink's output.
            if let Ok(sent) = r
                && sent.sink
            {
                exec.mbx_settle();
                exec.sink_drain(sent.descriptor);
            }
        }
        Function::Recv => recv(exec, Caller { slot, actor, ctx }, &regs, now),
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

/// SEND (`mailbox.md` §9) with the caller's argument registers and its payload (`None`
/// when the buffer is not inside the window): what happened and R0, R1.
#[inline(always)]
fn send(
    mbx: &mut Mailboxes,
    actor: Actor,
    regs: &[u32; ARGS],
    data: Option<&[u8]>,
    now: u64,
) -> (Result<Sent, Status>, [u32; 2]) {
    let (handle, len) = (low16(regs[1]) as u16, low16(regs[3]) as u16);
    let (flags, channel) = (low16(regs[4]) as u16, low16(regs[5]) as u16);
    let r = mbx.send_as(actor, handle, data, len, flags, channel, now);
    (r, pair(r.map(|sent| u32::from(sent.length))))
}

/// Services MBX SEND inside a VM run ([`hsx_vm::Supervisor`]): a SEND completes at once,
/// so the running task goes on without leaving the VM and entering it again. What the
/// trap path does after the call is left to the caller once the run returns: settling
/// the mailbox table (events, then the completions of the waits it woke, in order), the
/// stdio sink, the task's `mailbox_steps`. Nothing else happens in between, so the
/// events and trace records come out as on the trap path.
///
/// The scheduling decision the trap path would make after the call is kept: a woken
/// task of a higher priority ends the run (it preempts at once), one of the running
/// task's level ends the run when the turn is used up (the task was alone at its level
/// and ran on a slice; now the quantum counts again).
pub(crate) struct SendInRun<'a> {
    /// Off: every call traps (single-stepping, SVC events).
    pub on: bool,
    /// The running task.
    pub actor: Actor,
    /// Its priority level.
    pub level: u8,
    /// Its turn left when the run started, and the run's budget.
    pub turn_left: u32,
    pub budget: u64,
    pub mbx: &'a mut Mailboxes,
    pub clock: &'a Clock,
    /// The other tasks (for the priority of a woken one).
    pub others: Others<'a>,
    /// SENDs serviced.
    pub serviced: u64,
    /// A SEND wrote a descriptor with a stdio sink (the run ended there).
    pub sink: Option<u16>,
}

impl hsx_vm::Supervisor for SendInRun<'_> {
    #[inline(always)]
    fn svc(
        &mut self,
        module: u8,
        function: u8,
        regs: &mut [u32; REGISTERS],
        window: &mut [u8],
        left: u64,
    ) -> Option<u64> {
        if !self.on || module != svc::MBX || function != Function::Send as u8 {
            return None;
        }
        self.send(regs, window, left)
    }
}

impl SendInRun<'_> {
    /// Service a SEND. Out of line: the interpreter loop keeps its state in registers
    /// around the call.
    #[inline(never)]
    fn send(&mut self, regs: &mut [u32; REGISTERS], window: &[u8], left: u64) -> Option<u64> {
        let args = args_of(regs);
        let (ptr, len) = (low16(args[2]) as usize, low16(args[3]) as usize);
        let now = self.clock.now_ms();
        let woken_before = self.mbx.completion_count();
        let (r, results) = send(self.mbx, self.actor, &args, window.get(ptr..ptr + len), now);
        regs[0] = results[0].to_le();
        regs[1] = results[1].to_le();
        self.serviced += 1;
        if let Ok(sent) = r
            && sent.sink
        {
            self.sink = Some(sent.descriptor);
            return Some(0);
        }
        Some(self.after_wakeups(left, woken_before))
    }

    /// How far the run may go on once the waits this SEND woke (the completions from
    /// the `from`-th on) are READY. Those of earlier SENDs in the run have limited it
    /// already, and none is pending when a run starts (the executive settles the table
    /// after every call).
    #[inline(always)]
    fn after_wakeups(&self, left: u64, from: usize) -> u64 {
        let mut left = left;
        for c in self.mbx.completions_from(from) {
            let Some(task) = self.others.get(c.tag).filter(|t| t.pid == c.pid) else {
                continue;
            };
            match task.sched.priority.cmp(&self.level) {
                Ordering::Less => return 0,
                Ordering::Equal => {
                    let retired = self.budget - left;
                    left = left.min(u64::from(self.turn_left).saturating_sub(retired));
                }
                Ordering::Greater => {}
            }
        }
        left
    }
}

/// The task table without the running task's entry, borrowed around it.
pub(crate) struct Others<'a> {
    pub before: &'a [Option<Task>],
    pub slot: Slot,
    pub after: &'a [Option<Task>],
}

impl Others<'_> {
    fn get(&self, slot: Slot) -> Option<&Task> {
        let entry = match slot.cmp(&self.slot) {
            Ordering::Less => self.before.get(slot as usize),
            Ordering::Equal => None,
            Ordering::Greater => self.after.get((slot - self.slot - 1) as usize),
        };
        entry?.as_ref()
    }
}

/// The task making a call: its slot, pid (with its place in the mailbox table) and (a
/// copy of) its context record.
struct Caller {
    slot: Slot,
    actor: Actor,
    ctx: Context,
}

fn recv(exec: &mut Executive, caller: Caller, regs: &[u32; ARGS], now: u64) {
    let Caller { slot, actor, ctx } = caller;
    let pid = actor.pid;
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
            tag: slot,
        },
    };
    let r = exec
        .io
        .mbx
        .recv_as(actor, handle, max_len as u16, buffer_ok, wait);
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
            let recv = PendingRecv {
                buf,
                kind: PendingKind::Recv { info },
            };
            exec.block(slot, WaitKind::Mailbox, deadline, None, Some(recv));
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
    let actor = exec.t(slot).mbx;
    let buffer_ok = exec.guest_range(slot, dst, len).is_some();
    let wait = RecvWait::Block {
        timeout: TIMEOUT_INFINITE,
        deadline: None,
        tag: slot,
    };
    let r = exec.io.mbx.recv_as(actor, 1, len as u16, buffer_ok, wait);
    let out = match r {
        Ok(RecvOutcome::Message(m)) => {
            let ctx = exec.t(slot).ctx;
            deliver(exec, &ctx, dst, &m);
            Some(u32::from(m.copied()))
        }
        Ok(RecvOutcome::Blocked) => {
            let recv = PendingRecv {
                buf: dst,
                kind: PendingKind::FsRead,
            };
            exec.block(slot, WaitKind::Mailbox, None, None, Some(recv));
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
    // The tag is the slot the task blocked in; a task that ended since is not there.
    let slot = c.tag;
    let Some(task) = exec.tasks.get(slot as usize).and_then(Option::as_ref) else {
        return;
    };
    let pending = match &task.wait {
        Some(w) if w.kind == WaitKind::Mailbox && task.pid == c.pid => w.recv,
        _ => None,
    };
    let Some(pending) = pending else {
        return;
    };
    let ctx = task.ctx;
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
    let pending = task.wait.as_ref().and_then(|w| w.recv);
    exec.io.mbx.timeout(pid);
    let pending = pending.unwrap_or(PendingRecv {
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
    exec.set_results_in(ctx, &pair(r));
}

/// R0 and R1 of a call that returns one value: `(0, value)` or `(status, 0)`.
#[inline(always)]
fn pair(r: Result<u32, Status>) -> [u32; 2] {
    match r {
        Ok(v) => [0, v],
        Err(s) => [s.code(), 0],
    }
}
