//! The executive's mailbox runtime and per-task stdio routing (`mailbox.md`,
//! `syscalls.md` §13): the [`Mailboxes`] table, pending receives, the stdio sink and
//! its logs, and the host-side mailbox operations (`mailbox.md` §15).

use std::collections::{BTreeMap, VecDeque};

pub use hsx_mailbox::StdioStream;
use hsx_mailbox::{
    BindSpec, Limits, Mailboxes, PeekInfo, Received, RecvOutcome, RecvWait, Sent, Snapshot, Source,
    Status, StdioUpdate,
};

use crate::event::Event;
use crate::executive::Executive;
use crate::image::LoadedImage;
use crate::sched::Slot;
use crate::syscall::can::CanBus;
use crate::syscall::fs::FsState;
use crate::task::{Pid, WaitKind};

/// What the host layer does with task stdout and stderr (`syscalls.md` §13).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum StdioSink {
    /// No sink: messages stay queued in `svc:stdio.out/err@P` until something receives
    /// them (a full queue makes writes short).
    Detached,
    /// Every message is taken at once and reported as [`Event::Stdout`] /
    /// [`Event::Stderr`]; nothing is retained (`hsx run`: the sink never stops).
    #[default]
    Stream,
    /// Messages go to a bounded per-task, per-stream log (read with
    /// [`Executive::stdio_listen`]) and are reported as events. When a message does not
    /// fit, the oldest messages are evicted if `evict_delivered` (someone received the
    /// events), else the sink stops and the messages stay queued (back-pressure).
    Log {
        /// Log size in bytes per task and stream.
        limit: usize,
        /// Whether logged messages count as delivered and may be evicted.
        evict_delivered: bool,
    },
    /// Host-paced (the executive server): every message the sink takes is reported as
    /// [`Event::StdioMessage`] with its metadata, but each task stream may take only as
    /// many payload bytes as the host granted ([`Executive::set_stdio_credit`]; a new
    /// stream starts with `initial`). A message above the remaining credit stops the
    /// sink on that descriptor and stays queued (back-pressure) until the host grants
    /// more, which resumes the sink at once.
    Credit {
        /// Credit of a stream the host has not set yet, in bytes.
        initial: usize,
    },
}

/// The RECV a blocked task will complete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PendingKind {
    /// MBX RECV: R0..R4 and the info record (0 = none).
    Recv { info: u32 },
    /// FS READ fd 0: R0 = bytes copied.
    FsRead,
}

/// Where a blocked receive copies its message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PendingRecv {
    pub(crate) buf: u32,
    pub(crate) kind: PendingKind,
}

/// One task stream's log.
#[derive(Debug, Default)]
struct StreamLog {
    messages: VecDeque<Vec<u8>>,
    bytes: usize,
}

/// A task's pending mailbox wait, for diagnostics (`hsx run` deadlock report).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailboxWait {
    /// Canonical target of the descriptor (`svc:stdio.in@1`).
    pub target: String,
    /// Descriptor id.
    pub descriptor: u16,
    /// The handle.
    pub handle: u16,
    /// Clock deadline (`None` = infinite).
    pub deadline: Option<u64>,
}

/// Mailbox, stdio, FS and CAN state of the executive.
pub(crate) struct Io {
    pub(crate) mbx: Mailboxes,
    sink: StdioSink,
    logs: BTreeMap<(Pid, StdioStream), StreamLog>,
    /// Remaining sink credit per task stream ([`StdioSink::Credit`]).
    credits: BTreeMap<(Pid, StdioStream), usize>,
    pub(crate) fs: FsState,
    pub(crate) can: Option<Box<dyn CanBus>>,
}

impl Io {
    pub(crate) fn new(limits: Limits, sink: StdioSink) -> Io {
        let mut mbx = Mailboxes::new(limits);
        mbx.set_sink_attached(sink != StdioSink::Detached);
        Io {
            mbx,
            sink,
            logs: BTreeMap::new(),
            credits: BTreeMap::new(),
            fs: FsState::default(),
            can: None,
        }
    }
}

impl Executive {
    // ------------------------------------------------------------ lifecycle hooks

    /// Spawn hook: default channels and `.mailbox` declarations for `pid` (`mailbox.md`
    /// §5), before its first instruction.
    pub(crate) fn io_spawn(&mut self, pid: Pid, image: &LoadedImage) -> Result<(), String> {
        let binds: Vec<BindSpec> = image
            .image
            .metadata
            .mailboxes
            .iter()
            .map(|m| BindSpec {
                target: m.target.clone(),
                capacity: m.capacity.unwrap_or(0),
                mode: u32::from(m.mode_mask),
            })
            .collect();
        let result = self.io.mbx.add_task(pid, &binds).map_err(|e| e.to_string());
        self.mbx_settle();
        result
    }

    /// Termination hook (`mailbox.md` §13, `syscalls.md` §9): the pending wait is
    /// discarded (the task's went with its [`crate::task::Wait`]), handles and files
    /// are closed, the sink drains stdout and stderr.
    pub(crate) fn io_task_ended(&mut self, slot: Slot) {
        let pid = self.t(slot).pid;
        self.io.mbx.task_terminated(pid);
        self.io.fs.task_ended(pid);
        self.mbx_settle();
        for stream in [StdioStream::Out, StdioStream::Err] {
            if let Some(d) = self.io.mbx.stdio_descriptor(pid, stream) {
                self.sink_drain(d);
            }
        }
    }

    /// Reap hook: descriptors the task owned or held go (unless others still use them);
    /// its stdio logs are dropped.
    pub(crate) fn io_task_reaped(&mut self, pid: Pid) {
        self.io.mbx.task_reaped(pid);
        self.io.fs.task_ended(pid);
        self.io.logs.retain(|&(p, _), _| p != pid);
        self.io.credits.retain(|&(p, _), _| p != pid);
        self.mbx_settle();
    }

    // ------------------------------------------------------------ settling

    /// Forward mailbox events and apply completed waits (in wake order). Inlined: most
    /// calls find nothing to do.
    #[inline]
    pub(crate) fn mbx_settle(&mut self) {
        if self.io.mbx.has_events() || self.io.mbx.has_completions() {
            self.mbx_settle_pending();
        }
    }

    fn mbx_settle_pending(&mut self) {
        if self.io.mbx.has_events() {
            for e in self.io.mbx.drain_events() {
                self.events.push(Event::Mailbox(e));
            }
        }
        while let Some(c) = self.io.mbx.pop_completion() {
            crate::syscall::mbx::apply_completion(self, c);
        }
    }

    /// Run the stdio sink on a descriptor if it has one (`syscalls.md` §13 step 1).
    pub(crate) fn sink_drain(&mut self, descriptor: u16) {
        let Some((pid, stream)) = self.io.mbx.sink_of(descriptor) else {
            return;
        };
        let sink = self.io.sink;
        let logs = &mut self.io.logs;
        let credits = &mut self.io.credits;
        let events = &mut self.events;
        self.io.mbx.sink_drain(descriptor, |m| {
            if sink == StdioSink::Detached {
                return false;
            }
            if let StdioSink::Credit { initial } = sink {
                let credit = credits.entry((pid, stream)).or_insert(initial);
                if m.data.len() > *credit {
                    return false;
                }
                *credit -= m.data.len();
                events.push(Event::StdioMessage {
                    pid,
                    stream,
                    data: m.data.clone(),
                    flags: m.flags,
                    channel: m.channel,
                    src_pid: m.src_pid,
                });
                return true;
            }
            if let StdioSink::Log {
                limit,
                evict_delivered,
            } = sink
            {
                let log = logs.entry((pid, stream)).or_default();
                let need = m.data.len();
                if log.bytes + need > limit {
                    if !evict_delivered || need > limit {
                        return false;
                    }
                    while log.bytes + need > limit {
                        match log.messages.pop_front() {
                            Some(old) => log.bytes -= old.len(),
                            None => break,
                        }
                    }
                }
                log.bytes += need;
                log.messages.push_back(m.data.clone());
            }
            let data = m.data.clone();
            events.push(match stream {
                StdioStream::Err => Event::Stderr { pid, data },
                _ => Event::Stdout { pid, data },
            });
            true
        });
    }

    /// FS WRITE fd 1/2 and UART_WRITE (`syscalls.md` §13): split into messages of at
    /// most capacity − 8 bytes, enqueue in order, stop at the first that does not fit.
    /// Returns the bytes enqueued, or `None` if the buffer is outside the window.
    pub(crate) fn stdio_write(
        &mut self,
        slot: Slot,
        stream: StdioStream,
        ptr: u32,
        len: u32,
    ) -> Option<u32> {
        let data = self.read_guest(slot, ptr, len)?;
        let pid = self.t(slot).pid;
        let Some(desc) = self.io.mbx.stdio_descriptor(pid, stream) else {
            return Some(0);
        };
        let max = self.io.mbx.max_payload(desc).unwrap_or(1).max(1) as usize;
        let now = self.clock.now_ms();
        let mut written = 0u32;
        for chunk in data.chunks(max) {
            let sent = self.io.mbx.enqueue_internal(
                pid,
                desc,
                chunk,
                stream.write_flags(),
                0,
                pid,
                Source::Stdio,
                now,
            );
            self.mbx_settle();
            if sent.is_err() {
                break;
            }
            written += chunk.len() as u32;
            self.sink_drain(desc);
        }
        Some(written)
    }

    // ------------------------------------------------------------ host API

    /// The mailbox table (read-only).
    pub fn mailboxes(&self) -> &Mailboxes {
        &self.io.mbx
    }

    /// Every descriptor and the totals (`mailbox_snapshot`).
    pub fn mailbox_snapshot(&self) -> Snapshot {
        self.io.mbx.snapshot()
    }

    /// The mailbox limits in force.
    pub fn mailbox_limits(&self) -> Limits {
        self.io.mbx.limits()
    }

    fn host_done<T>(
        &mut self,
        result: Result<T, Status>,
        descriptor: Option<u16>,
    ) -> Result<T, Status> {
        self.mbx_settle();
        if let Some(d) = descriptor {
            self.sink_drain(d);
        }
        result
    }

    /// Host `open` for `actor` (0 = the host's own handle table).
    pub fn mailbox_open(&mut self, actor: Pid, target: &str, flags: u32) -> Result<u16, Status> {
        let r = self.io.mbx.open(actor, Some(target.as_bytes()), flags);
        self.host_done(r, None)
    }

    /// Host `bind` (holder = `actor`).
    pub fn mailbox_bind(
        &mut self,
        actor: Pid,
        target: &str,
        capacity: u32,
        mode: u32,
    ) -> Result<u16, Status> {
        let r = self
            .io
            .mbx
            .bind(actor, Some(target.as_bytes()), capacity, mode);
        self.host_done(r, None)
    }

    /// Host `unbind`: removes the host's hold on a descriptor.
    pub fn mailbox_unbind(&mut self, descriptor: u16) -> Result<(), Status> {
        let r = self.io.mbx.unbind(descriptor);
        self.host_done(r, None)
    }

    /// Host `close`.
    pub fn mailbox_close(&mut self, actor: Pid, handle: u16) -> Result<(), Status> {
        let r = self.io.mbx.close(actor, handle);
        self.host_done(r, None)
    }

    /// Host `send` on a handle of `actor`; the wake-up and the stdio sink run.
    pub fn mailbox_send(
        &mut self,
        actor: Pid,
        handle: u16,
        data: &[u8],
        flags: u16,
        channel: u16,
    ) -> Result<Sent, Status> {
        if data.len() > 0xFFFF {
            self.io.mbx.report(
                actor,
                hsx_mailbox::Function::Send,
                Status::MsgTooLarge,
                "payload above 65535 bytes",
            );
            return self.host_done(Err(Status::MsgTooLarge), None);
        }
        let now = self.clock.now_ms();
        let r = self.io.mbx.send(
            actor,
            handle,
            Some(data),
            data.len() as u16,
            flags,
            channel,
            now,
        );
        let d = r.ok().map(|s| s.descriptor);
        self.host_done(r, d)
    }

    /// Host `send` by target (a temporary WRONLY handle of `actor`).
    pub fn mailbox_send_to(
        &mut self,
        actor: Pid,
        target: &str,
        data: &[u8],
        flags: u16,
        channel: u16,
    ) -> Result<Sent, Status> {
        let now = self.clock.now_ms();
        let r = self
            .io
            .mbx
            .send_to_target(actor, target.as_bytes(), data, flags, channel, now);
        let d = r.ok().map(|s| s.descriptor);
        self.host_done(r, d)
    }

    /// Host `recv`: always a poll.
    pub fn mailbox_recv(
        &mut self,
        actor: Pid,
        handle: u16,
        max_len: u16,
    ) -> Result<Received, Status> {
        let r = match self
            .io
            .mbx
            .recv(actor, handle, max_len, true, RecvWait::Poll)
        {
            Ok(RecvOutcome::Message(m)) => Ok(m),
            Ok(RecvOutcome::Blocked) => Err(Status::Internal),
            Err(s) => Err(s),
        };
        self.host_done(r, None)
    }

    /// Host `peek`.
    pub fn mailbox_peek(&mut self, actor: Pid, handle: u16) -> Result<PeekInfo, Status> {
        let r = self.io.mbx.peek(actor, handle);
        self.host_done(r, None)
    }

    /// Host `tap`.
    pub fn mailbox_tap(&mut self, actor: Pid, handle: u16, enable: bool) -> Result<(), Status> {
        let r = self.io.mbx.tap(actor, handle, u32::from(enable));
        self.host_done(r, None)
    }

    /// Host `config_stdio` (`mailbox.md` §15).
    pub fn mailbox_config_stdio(
        &mut self,
        streams: &[StdioStream],
        mode: u16,
        update_existing: bool,
        pid: Option<Pid>,
    ) -> StdioUpdate {
        let r = self
            .io
            .mbx
            .config_stdio(streams, mode, update_existing, pid);
        self.mbx_settle();
        r
    }

    /// Internal enqueue (`mailbox.md` §9-§10: value notifications, command replies):
    /// no handle and no access check; the space rules, taps, the wake-up and the stdio
    /// sink run as for a SEND. `src_pid` is the message's source, `actor` the acting pid.
    #[allow(clippy::too_many_arguments)]
    pub fn mailbox_deliver(
        &mut self,
        actor: Pid,
        descriptor: u16,
        data: &[u8],
        flags: u16,
        channel: u16,
        src_pid: Pid,
        source: hsx_mailbox::Source,
    ) -> Result<(), Status> {
        let now = self.clock.now_ms();
        let r = self.io.mbx.enqueue_internal(
            actor, descriptor, data, flags, channel, src_pid, source, now,
        );
        self.host_done(r, r.is_ok().then_some(descriptor))
    }

    /// Send `data` to a task's stdin (`svc:stdio.in@pid`, src_pid 0) as one message.
    pub fn send_stdin(&mut self, pid: Pid, data: &[u8]) -> Result<Sent, Status> {
        self.mailbox_send_to(0, &format!("svc:stdio.in@{pid}"), data, 0, 0)
    }

    /// Largest message a task's stdin accepts (capacity − 8), if the task exists.
    pub fn stdin_max_payload(&self, pid: Pid) -> Option<u32> {
        let d = self.io.mbx.stdio_descriptor(pid, StdioStream::In)?;
        self.io.mbx.max_payload(d)
    }

    /// The mailbox a task is blocked on, if it is in WAITING (mailbox).
    pub fn mailbox_wait(&self, pid: Pid) -> Option<MailboxWait> {
        let task = self.task(pid)?;
        if task.wait.as_ref().map(|w| w.kind) != Some(WaitKind::Mailbox) {
            return None;
        }
        let (descriptor, handle, deadline) = self.io.mbx.pending_wait(pid)?;
        Some(MailboxWait {
            target: self.io.mbx.target_of(descriptor)?,
            descriptor,
            handle,
            deadline,
        })
    }

    /// Change what happens to task output from now on (stdio descriptors created later
    /// get a sink only when it is not [`StdioSink::Detached`]).
    pub fn set_stdio_sink(&mut self, sink: StdioSink) {
        self.io.sink = sink;
        self.io.mbx.set_sink_attached(sink != StdioSink::Detached);
        self.resume_sinks();
    }

    /// Everything in a task's stdio log (messages concatenated), without removing it.
    pub fn stdio_log(&self, pid: Pid, stream: StdioStream) -> Vec<u8> {
        self.io
            .logs
            .get(&(pid, stream))
            .map(|l| l.messages.iter().flatten().copied().collect())
            .unwrap_or_default()
    }

    /// Host `listen`: remove up to `limit` messages from a task's log, oldest first;
    /// a message longer than `max_len` is split (the rest stays). The sink then resumes
    /// on that task's descriptors, so queued output moves into the freed room.
    pub fn stdio_listen(
        &mut self,
        pid: Pid,
        stream: StdioStream,
        limit: usize,
        max_len: usize,
    ) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        if let Some(log) = self.io.logs.get_mut(&(pid, stream)) {
            while out.len() < limit {
                let Some(front) = log.messages.front_mut() else {
                    break;
                };
                if front.len() > max_len.max(1) {
                    let rest = front.split_off(max_len.max(1));
                    let head = std::mem::replace(front, rest);
                    log.bytes -= head.len();
                    out.push(head);
                } else if let Some(m) = log.messages.pop_front() {
                    log.bytes -= m.len();
                    out.push(m);
                }
            }
        }
        if let Some(d) = self.io.mbx.stdio_descriptor(pid, stream) {
            self.sink_drain(d);
            self.mbx_settle();
        }
        out
    }

    /// [`StdioSink::Credit`]: set how many more payload bytes the sink may take from a
    /// task stream; the sink resumes on that descriptor at once (its events follow).
    pub fn set_stdio_credit(&mut self, pid: Pid, stream: StdioStream, bytes: usize) {
        if self.task(pid).is_none() {
            return;
        }
        self.io.credits.insert((pid, stream), bytes);
        if let Some(d) = self.io.mbx.stdio_descriptor(pid, stream) {
            self.sink_drain(d);
            self.mbx_settle();
        }
    }

    fn resume_sinks(&mut self) {
        let descs: Vec<u16> = self
            .pids
            .keys()
            .flat_map(|&p| [StdioStream::Out, StdioStream::Err].map(|s| (p, s)))
            .filter_map(|(p, s)| self.io.mbx.stdio_descriptor(p, s))
            .collect();
        for d in descs {
            self.sink_drain(d);
        }
        self.mbx_settle();
    }

    /// Report mailbox events ([`Event::Mailbox`], the default) or not: a host that
    /// does not look at them (`hsx run`) saves their cost.
    pub fn set_mailbox_events(&mut self, on: bool) {
        self.io.mbx.set_events(on);
    }

    /// Attach a virtual CAN bus: CAN_TX frames are forwarded to it (`syscalls.md` §5).
    pub fn attach_can_bus(&mut self, bus: Box<dyn CanBus>) {
        self.io.can = Some(bus);
    }
}
