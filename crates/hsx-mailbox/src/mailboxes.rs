//! The mailbox table: descriptors, per-pid handle tables, delivery, taps, waiters and
//! cleanup (`mailbox.md` §1, §5-§13).

use std::collections::{HashMap, VecDeque};

use crate::Pid;
use crate::event::{Exhaustion, MailboxEvent, OverrunReason, Policy, Source, TapRef};
use crate::names::{Key, Namespace, parse_target};
use crate::slab::Slab;
use crate::types::{
    Function, Limits, MAX_CAPACITY, MESSAGE_OVERHEAD, MIN_CAPACITY, Status, StdioStream, flags,
    mode,
};

/// Events produced by the table; pushes are dropped while reporting is off.
#[derive(Debug)]
struct EventSink {
    on: bool,
    list: Vec<MailboxEvent>,
}

impl EventSink {
    /// Record the event `make` builds if reporting is on; with it off the event is
    /// never built.
    #[inline]
    fn push(&mut self, make: impl FnOnce() -> MailboxEvent) {
        if self.on {
            self.list.push(make());
        }
    }
}

/// A queued message: payload plus metadata (`mailbox.md` §8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Payload (may contain NUL).
    pub data: Vec<u8>,
    /// Flags as sent (runtime bits cleared).
    pub flags: u16,
    /// Channel (opaque to the runtime).
    pub channel: u16,
    /// Sending pid (0 = host).
    pub src_pid: Pid,
    seq: u64,
}

impl Message {
    /// The descriptor's sequence number at enqueue (wire form: u32, wrapping).
    pub fn seq(&self) -> u32 {
        self.seq as u32
    }

    /// Payload length.
    pub fn len(&self) -> u16 {
        self.data.len() as u16
    }

    /// True for a zero-length message.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    fn cost(&self) -> u32 {
        self.data.len() as u32 + MESSAGE_OVERHEAD
    }
}

/// A message handed to a receiver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// Descriptor id.
    pub descriptor: u16,
    /// Receiving handle.
    pub handle: u16,
    /// The copied part of the payload: `min(max_len, length)` bytes.
    pub data: Vec<u8>,
    /// Full payload length.
    pub length: u16,
    /// Flags with OVERRUN / TRUNCATED added by the runtime.
    pub flags: u16,
    /// Channel.
    pub channel: u16,
    /// Sending pid.
    pub src_pid: Pid,
}

impl Received {
    /// Bytes copied (R1 of RECV).
    pub fn copied(&self) -> u16 {
        self.data.len() as u16
    }
}

/// How a RECV that finds nothing behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecvWait {
    /// Timeout 0 (or inside a handler activation): NO_DATA.
    Poll,
    /// Register a waiter.
    Block {
        /// The timeout as given (1..0xFFFE ms, 0xFFFF infinite), for `mailbox_wait`.
        timeout: u16,
        /// Clock deadline; `None` = infinite.
        deadline: Option<u64>,
        /// Handed back in the wait's [`Completion`] (the executive passes the caller's
        /// task slot, so applying the completion needs no lookup by pid).
        tag: u32,
    },
}

/// Result of a RECV that did not fail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecvOutcome {
    /// A message was taken.
    Message(Received),
    /// The caller is now a waiter; its wait completes through [`Mailboxes::pop_completion`].
    Blocked,
}

/// How a registered wait ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WaitOutcome {
    /// A message was assigned to the waiter (R0 = OK).
    Message(Received),
    /// The deadline had passed when the wake-up ran (R0 = TIMEOUT).
    Timeout,
    /// The handle was closed (R0 = INVALID_HANDLE).
    InvalidHandle,
}

/// A completed wait, for the executive to write into the task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    /// The waiting pid.
    pub pid: Pid,
    /// Its handle.
    pub handle: u16,
    /// Descriptor id.
    pub descriptor: u16,
    /// The tag of the blocking RECV ([`RecvWait::Block`]).
    pub tag: u32,
    /// What happened.
    pub outcome: WaitOutcome,
}

/// A pid together with the place of its handle table in [`Mailboxes`]: SEND and RECV
/// made with it reach the caller's handles without a lookup by pid. Take one with
/// [`Mailboxes::actor`] once the pid was added; it stays valid until the pid is
/// reaped (afterwards it finds nothing, as the pid would).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Actor {
    /// The pid.
    pub pid: Pid,
    slot: u32,
}

/// PEEK results plus the extra fields of the host `peek` (`protocol.md` §6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeekInfo {
    /// Messages available to this handle (R1).
    pub depth: u32,
    /// Bytes used: the queue, or the tap buffer for a tap handle (R2).
    pub bytes_used: u32,
    /// Length of the next available message, 0 if none (R3).
    pub next_len: u16,
    /// Capacity (R4).
    pub capacity: u32,
    /// Sequence number of the queue head (`next_seq` when empty).
    pub head_seq: u32,
    /// Next sequence number.
    pub next_seq: u32,
    /// Descriptor mode bits.
    pub mode: u16,
}

/// A successful SEND.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sent {
    /// Bytes accepted (R1).
    pub length: u16,
    /// The descriptor written (so the caller can run the stdio sink).
    pub descriptor: u16,
    /// The descriptor has a stdio sink attached.
    pub sink: bool,
}

/// A `.mailbox` declaration applied as BIND at spawn (`mailbox.md` §5 step 3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindSpec {
    /// Target, resolved for the new task.
    pub target: String,
    /// Capacity (0 = default); values above 65535 are refused.
    pub capacity: u32,
    /// Mode bits (0 = RDWR).
    pub mode: u32,
}

/// Why [`Mailboxes::add_task`] refused a task; the task must not start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddTaskError {
    /// The pid already has a table.
    Exists(Pid),
    /// The descriptor pool cannot hold the default channels and declarations.
    PoolFull {
        /// Descriptors needed.
        needed: u32,
        /// Free descriptors.
        free: u32,
    },
    /// The handle limit is below the three stdio handles.
    HandleLimit(u32),
    /// A `.mailbox` declaration was refused by BIND.
    Bind {
        /// The declared target.
        target: String,
        /// BIND's status.
        status: Status,
    },
}

impl std::fmt::Display for AddTaskError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AddTaskError::Exists(pid) => write!(f, "pid {pid} already has mailboxes"),
            AddTaskError::PoolFull { needed, free } => write!(
                f,
                "mailbox descriptor pool full: the task needs {needed} descriptors, {free} free"
            ),
            AddTaskError::HandleLimit(limit) => write!(
                f,
                "mailbox handle limit {limit} cannot hold the three stdio handles"
            ),
            AddTaskError::Bind { target, status } => {
                write!(f, ".mailbox declaration '{target}' refused: {status}")
            }
        }
    }
}

impl std::error::Error for AddTaskError {}

/// Result of a stdio reconfiguration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StdioUpdate {
    /// Descriptors reconfigured.
    pub updated: Vec<u16>,
    /// Descriptors left alone because they held messages.
    pub skipped: Vec<u16>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Waiter {
    pid: Pid,
    /// The slot of the pid's handle table.
    slot: u32,
    handle: u16,
    deadline: Option<u64>,
    max_len: u16,
}

#[derive(Debug, Default)]
struct Tap {
    /// Copies; a copy that follows lost ones carries OVERRUN in its flags, so the mark
    /// stays at its place in the stream.
    buf: VecDeque<Message>,
    bytes: u32,
    /// Copies were skipped (rate limit) and no later copy carries the mark yet.
    lost: bool,
    window: u64,
    copies: u32,
    reported: bool,
}

#[derive(Debug)]
struct Handle {
    desc: u16,
    /// The descriptor's slot in the table (reached without a lookup by id).
    slot: u32,
    access: u16,
    tap: Option<Tap>,
    /// Fan-out: the first sequence number this reader has not consumed or skipped
    /// (`cursor + 1` of the specification).
    cursor_next: u64,
    overrun: bool,
}

impl Handle {
    fn can_read(&self) -> bool {
        self.access & mode::RDONLY != 0
    }

    fn can_write(&self) -> bool {
        self.access & mode::WRONLY != 0
    }

    fn is_reader(&self) -> bool {
        self.tap.is_none() && self.can_read()
    }
}

#[derive(Debug)]
struct PidEntry {
    /// In the task table (terminated-but-unreaped included). The host is always present.
    present: bool,
    handles: Vec<Option<Handle>>,
    open: u32,
    /// The handle of the pending RECV, if any.
    wait: Option<u16>,
    /// The tag of the pending RECV.
    wait_tag: u32,
    stdio: [Option<u16>; 3],
}

impl PidEntry {
    fn new() -> PidEntry {
        PidEntry {
            present: true,
            handles: Vec::new(),
            open: 0,
            wait: None,
            wait_tag: 0,
            stdio: [None; 3],
        }
    }

    fn handle(&self, number: u16) -> Option<&Handle> {
        let index = usize::from(number).checked_sub(1)?;
        self.handles.get(index)?.as_ref()
    }

    fn handle_mut(&mut self, number: u16) -> Option<&mut Handle> {
        let index = usize::from(number).checked_sub(1)?;
        self.handles.get_mut(index)?.as_mut()
    }

    fn lowest_free(&self) -> u16 {
        let index = self
            .handles
            .iter()
            .position(Option::is_none)
            .unwrap_or(self.handles.len());
        (index + 1) as u16
    }

    fn insert(&mut self, number: u16, handle: Handle) {
        let index = usize::from(number) - 1;
        if index >= self.handles.len() {
            self.handles.resize_with(index + 1, || None);
        }
        self.handles[index] = Some(handle);
        self.open += 1;
    }

    fn remove(&mut self, number: u16) -> Option<Handle> {
        let index = usize::from(number).checked_sub(1)?;
        let handle = self.handles.get_mut(index)?.take()?;
        self.open -= 1;
        while self.handles.last().is_some_and(Option::is_none) {
            self.handles.pop();
        }
        Some(handle)
    }

    fn numbers(&self) -> Vec<u16> {
        (0..self.handles.len())
            .filter(|&i| self.handles[i].is_some())
            .map(|i| (i + 1) as u16)
            .collect()
    }
}

#[derive(Debug)]
struct Descriptor {
    id: u16,
    key: Key,
    capacity: u32,
    mode: u16,
    queue: VecDeque<Message>,
    bytes_used: u32,
    next_seq: u64,
    waiters: VecDeque<Waiter>,
    holders: Vec<Pid>,
    /// Every handle (pid, number) referring to this descriptor.
    refs: Vec<(Pid, u16)>,
    taps: u32,
    /// The stdio sink as a reader: the first sequence number it has not taken.
    sink: Option<u64>,
    stdio: Option<(Pid, StdioStream)>,
}

impl Descriptor {
    fn is_fanout(&self) -> bool {
        self.mode & mode::FANOUT_ANY != 0
    }

    fn blocks_when_full(&self) -> bool {
        self.mode & mode::FANOUT_BLOCK != 0
    }

    fn fits(&self, cost: u32) -> bool {
        self.bytes_used + cost <= self.capacity
    }

    /// Index in the queue of the oldest message with seq ≥ `from`.
    fn index_from(&self, from: u64) -> Option<usize> {
        let head = self.queue.front()?.seq;
        let index = usize::try_from(from.saturating_sub(head)).ok()?;
        (index < self.queue.len()).then_some(index)
    }

    fn head_seq(&self) -> u64 {
        self.queue.front().map_or(self.next_seq, |m| m.seq)
    }
}

/// Which message is available to a handle (`mailbox.md` §10.1).
enum Avail {
    Tap,
    Queue(usize),
}

#[inline]
fn available(desc: &Descriptor, h: &Handle) -> Option<Avail> {
    if let Some(tap) = &h.tap {
        return (!tap.buf.is_empty()).then_some(Avail::Tap);
    }
    if desc.is_fanout() {
        desc.index_from(h.cursor_next).map(Avail::Queue)
    } else {
        (!desc.queue.is_empty()).then_some(Avail::Queue(0))
    }
}

/// Take the available message for `h` (tap buffer pop, fan-out cursor move or queue
/// pop) and build the receiver's view of it. The caller reclaims fan-out queues.
/// Inlined for the check: a RECV that finds nothing (and blocks) returns at once.
#[inline]
fn take(desc: &mut Descriptor, h: &mut Handle, number: u16, max_len: u16) -> Option<Received> {
    let avail = available(desc, h)?;
    take_available(desc, h, avail, number, max_len)
}

/// [`take`] once a message is known to be available.
fn take_available(
    desc: &mut Descriptor,
    h: &mut Handle,
    avail: Avail,
    number: u16,
    max_len: u16,
) -> Option<Received> {
    let message = match avail {
        Avail::Tap => {
            let tap = h.tap.as_mut()?;
            let m = tap.buf.pop_front()?;
            tap.bytes -= m.cost();
            m
        }
        Avail::Queue(index) if desc.is_fanout() => {
            let m = desc.queue.get(index)?.clone();
            h.cursor_next = m.seq + 1;
            m
        }
        Avail::Queue(_) => {
            let m = desc.queue.pop_front()?;
            desc.bytes_used -= m.cost();
            m
        }
    };
    Some(receive(desc.id, h, number, max_len, message))
}

/// The receiver's view of a message taken for handle `number` (`h`) of descriptor `id`:
/// the handle's pending OVERRUN mark, truncation to `max_len`.
#[inline]
fn receive(id: u16, h: &mut Handle, number: u16, max_len: u16, message: Message) -> Received {
    let length = message.len();
    let mut flags = message.flags;
    if std::mem::take(&mut h.overrun) {
        flags |= flags::OVERRUN;
    }
    let mut data = message.data;
    if max_len < length {
        flags |= flags::TRUNCATED;
        data.truncate(usize::from(max_len));
    }
    Received {
        descriptor: id,
        handle: number,
        data,
        length,
        flags,
        channel: message.channel,
        src_pid: message.src_pid,
    }
}

/// Remove waiter `i` (almost always the head).
#[inline]
fn remove_waiter(desc: &mut Descriptor, i: usize) {
    if i == 0 {
        desc.waiters.pop_front();
    } else {
        desc.waiters.remove(i);
    }
}

/// Fan-out reclaim (`mailbox.md` §11): drop messages every reader (and the sink) has
/// consumed; with no reader at all, everything queued goes. The check is inline: after
/// most enqueues and receives there is nothing to reclaim.
#[inline(always)]
fn reclaim(desc: &mut Descriptor, pids: &Slab<Pid, PidEntry>) {
    if desc.is_fanout() && !desc.queue.is_empty() {
        reclaim_consumed(desc, pids);
    }
}

/// [`reclaim`] of a non-empty fan-out queue.
#[inline(never)]
fn reclaim_consumed(desc: &mut Descriptor, pids: &Slab<Pid, PidEntry>) {
    let mut min = desc.sink.unwrap_or(u64::MAX);
    for &(pid, number) in &desc.refs {
        if let Some(h) = pids.get(pid).and_then(|e| e.handle(number))
            && h.is_reader()
        {
            min = min.min(h.cursor_next);
        }
    }
    while desc.queue.front().is_some_and(|m| m.seq < min) {
        if let Some(m) = desc.queue.pop_front() {
            desc.bytes_used -= m.cost();
        }
    }
}

/// A message about to be enqueued, and who enqueues it.
struct Outgoing<'a> {
    data: &'a [u8],
    /// Flags with the runtime bits cleared.
    flags: u16,
    channel: u16,
    src_pid: Pid,
    /// The acting pid (events).
    actor: Pid,
    /// The sending handle, 0 if none.
    handle: u16,
    source: Source,
}

/// Everything an enqueue touches besides the descriptor itself: pids (readers, taps,
/// waiters), events, completed waits and recycled payload buffers.
struct Delivery<'a> {
    pids: &'a mut Slab<Pid, PidEntry>,
    events: &'a mut EventSink,
    completions: &'a mut VecDeque<Completion>,
    spare: &'a mut Vec<Vec<u8>>,
    /// [`Limits::tap_rate_limit`] (the only limit an enqueue applies).
    tap_rate_limit: u32,
}

impl Delivery<'_> {
    /// Space handling, enqueue, taps and wake-up (`mailbox.md` §9 SEND, §10.3, §11,
    /// §12). Returns whether the descriptor has a stdio sink attached.
    fn enqueue(mut self, desc: &mut Descriptor, out: &Outgoing, now: u64) -> Result<bool, Status> {
        let cost = out.data.len() as u32 + MESSAGE_OVERHEAD;
        if !desc.fits(cost) {
            self.make_room(desc, out.actor, cost)?;
        }
        let seq = desc.next_seq;
        desc.next_seq += 1;
        desc.bytes_used += cost;
        let mut buf = self.spare.pop().unwrap_or_default();
        buf.clear();
        buf.extend_from_slice(out.data);
        let message = Message {
            data: buf,
            flags: out.flags,
            channel: out.channel,
            src_pid: out.src_pid,
            seq,
        };
        self.events.push(|| MailboxEvent::Send {
            pid: out.actor,
            descriptor: desc.id,
            handle: out.handle,
            length: message.len(),
            flags: out.flags,
            channel: out.channel,
            src_pid: out.src_pid,
            source: out.source,
        });
        if desc.taps > 0 {
            self.copy_to_taps(desc, out.actor, &message, now);
        }
        // A message that would be alone in a single-reader queue without taps is what the
        // wake-up would pop at once: it is handed to the waiter without the round trip.
        let fresh = if desc.queue.is_empty() && !desc.is_fanout() && desc.taps == 0 {
            Some(message)
        } else {
            desc.queue.push_back(message);
            None
        };
        self.wake_up(desc, now, fresh);
        Ok(desc.sink.is_some())
    }

    /// A message of `cost` does not fit: fan-out reclaim, then WOULDBLOCK (single
    /// reader, fan-out BLOCK) or dropping the oldest messages (fan-out DROP). Out of
    /// line, like the tap copies: the common enqueue has room and no tap.
    #[inline(never)]
    fn make_room(&mut self, desc: &mut Descriptor, actor: Pid, cost: u32) -> Result<(), Status> {
        if desc.is_fanout() {
            reclaim(desc, self.pids);
            if desc.fits(cost) {
                return Ok(());
            }
        }
        if desc.is_fanout() && !desc.blocks_when_full() {
            self.drop_for(desc, actor, cost);
            return Ok(());
        }
        let policy = if desc.is_fanout() {
            Policy::FanoutBlock
        } else {
            Policy::Single
        };
        self.events.push(|| MailboxEvent::Backpressure {
            pid: actor,
            descriptor: desc.id,
            policy,
            capacity: desc.capacity,
            bytes_used: desc.bytes_used,
            requested: cost,
            tap: None,
            limit: None,
        });
        Err(Status::WouldBlock)
    }

    /// Fan-out DROP: drop oldest messages until `cost` fits; readers that had not
    /// consumed a dropped message skip it and get OVERRUN.
    fn drop_for(&mut self, desc: &mut Descriptor, actor: Pid, cost: u32) {
        while !desc.fits(cost) {
            let Some(m) = desc.queue.pop_front() else {
                break;
            };
            desc.bytes_used -= m.cost();
            for &(pid, n) in &desc.refs {
                if let Some(h) = self.pids.get_mut(pid).and_then(|e| e.handle_mut(n))
                    && h.is_reader()
                    && h.cursor_next <= m.seq
                {
                    h.cursor_next = m.seq + 1;
                    h.overrun = true;
                }
            }
            if let Some(sink) = desc.sink.as_mut() {
                *sink = (*sink).max(m.seq + 1);
            }
            self.events.push(|| MailboxEvent::Overrun {
                pid: actor,
                descriptor: desc.id,
                src_pid: m.src_pid,
                dropped_seq: m.seq(),
                dropped_length: m.len(),
                dropped_flags: m.flags,
                channel: m.channel,
                reason: OverrunReason::FanoutDrop,
                queue_depth: desc.queue.len() as u32,
                tap: None,
            });
        }
    }

    /// Copy an enqueued message into every tap buffer (`mailbox.md` §12).
    #[inline(never)]
    fn copy_to_taps(&mut self, desc: &Descriptor, actor: Pid, message: &Message, now: u64) {
        let cost = message.cost();
        let rate_limit = self.tap_rate_limit;
        for &(pid, n) in &desc.refs {
            let Some(h) = self.pids.get_mut(pid).and_then(|e| e.handle_mut(n)) else {
                continue;
            };
            let Some(tap) = h.tap.as_mut() else { continue };
            let tap_ref = TapRef {
                tap_pid: pid,
                tap_handle: n,
            };
            if rate_limit > 0 {
                let window = now / 1000;
                if tap.window != window {
                    tap.window = window;
                    tap.copies = 0;
                    tap.reported = false;
                }
                if tap.copies >= rate_limit {
                    tap.lost = true;
                    if !tap.reported {
                        tap.reported = true;
                        self.events.push(|| MailboxEvent::Backpressure {
                            pid: actor,
                            descriptor: desc.id,
                            policy: Policy::TapRateLimit,
                            capacity: desc.capacity,
                            bytes_used: tap.bytes,
                            requested: cost,
                            tap: Some(tap_ref),
                            limit: Some(rate_limit),
                        });
                    }
                    continue;
                }
                tap.copies += 1;
            }
            let mut copy = message.clone();
            let mut dropped = false;
            while tap.bytes + cost > desc.capacity {
                let Some(old) = tap.buf.pop_front() else {
                    break;
                };
                tap.bytes -= old.cost();
                dropped = true;
                self.events.push(|| MailboxEvent::Overrun {
                    pid: actor,
                    descriptor: desc.id,
                    src_pid: old.src_pid,
                    dropped_seq: old.seq(),
                    dropped_length: old.len(),
                    dropped_flags: old.flags,
                    channel: old.channel,
                    reason: OverrunReason::TapDrop,
                    queue_depth: tap.buf.len() as u32,
                    tap: Some(tap_ref),
                });
            }
            if dropped {
                match tap.buf.front_mut() {
                    Some(head) => head.flags |= flags::OVERRUN,
                    None => tap.lost = true,
                }
            }
            if std::mem::take(&mut tap.lost) {
                copy.flags |= flags::OVERRUN;
            }
            tap.bytes += cost;
            tap.buf.push_back(copy);
        }
    }

    /// The wake-up procedure (`mailbox.md` §10.3), then fan-out reclaim. `fresh`: a
    /// message just enqueued in an otherwise empty single-reader queue and kept out of
    /// it, the head the first waiter takes; queued if no waiter takes it.
    fn wake_up(&mut self, desc: &mut Descriptor, now: u64, mut fresh: Option<Message>) {
        let id = desc.id;
        let mut i = 0;
        while i < desc.waiters.len() {
            let w = desc.waiters[i];
            let Some(entry) = self.pids.at_mut(w.slot, w.pid) else {
                remove_waiter(desc, i);
                continue;
            };
            if w.deadline.is_some_and(|d| d <= now) {
                remove_waiter(desc, i);
                entry.wait = None;
                self.events.push(|| MailboxEvent::Timeout {
                    pid: w.pid,
                    descriptor: id,
                    handle: w.handle,
                });
                self.completions.push_back(Completion {
                    pid: w.pid,
                    handle: w.handle,
                    descriptor: id,
                    tag: entry.wait_tag,
                    outcome: WaitOutcome::Timeout,
                });
                continue;
            }
            let Some(h) = entry.handle_mut(w.handle) else {
                remove_waiter(desc, i);
                entry.wait = None;
                continue;
            };
            // A tap handle (of another descriptor, its number reused) reads its buffer.
            let received = match fresh.take_if(|_| h.tap.is_none()) {
                Some(m) => {
                    desc.bytes_used -= m.cost();
                    Some(receive(id, h, w.handle, w.max_len, m))
                }
                None => take(desc, h, w.handle, w.max_len),
            };
            match received {
                Some(received) => {
                    remove_waiter(desc, i);
                    entry.wait = None;
                    self.events.push(|| MailboxEvent::Wake {
                        pid: w.pid,
                        descriptor: id,
                        handle: w.handle,
                        length: received.copied(),
                        flags: received.flags,
                        channel: received.channel,
                        src_pid: received.src_pid,
                    });
                    self.completions.push_back(Completion {
                        pid: w.pid,
                        handle: w.handle,
                        descriptor: id,
                        tag: entry.wait_tag,
                        outcome: WaitOutcome::Message(received),
                    });
                }
                None => i += 1,
            }
        }
        if let Some(m) = fresh {
            desc.queue.push_back(m);
        }
        reclaim(desc, self.pids);
    }
}

/// The mailbox subsystem: every descriptor, every pid's handle table, pending waits
/// and the events they produce. Independent of the VM: the executive feeds it guest
/// bytes and clock readings and applies the [`Completion`]s it reports.
#[derive(Debug)]
pub struct Mailboxes {
    limits: Limits,
    descs: Slab<u16, Descriptor>,
    by_key: HashMap<Key, u16>,
    next_id: u16,
    pids: Slab<Pid, PidEntry>,
    events: EventSink,
    completions: VecDeque<Completion>,
    stdio_modes: [u16; 3],
    sink_attached: bool,
    pool_exhausted: u64,
    /// Payload buffers handed back by receivers, reused by the next enqueues.
    spare: Vec<Vec<u8>>,
}

/// Payload buffers kept for reuse.
const SPARE_BUFFERS: usize = 64;
/// Largest buffer kept for reuse.
const SPARE_CAPACITY: usize = 4096;

impl Mailboxes {
    /// An empty table with these limits (sanitised). The host (pid 0) has a handle table.
    pub fn new(limits: Limits) -> Mailboxes {
        let mut pids = Slab::default();
        pids.insert(0, PidEntry::new());
        Mailboxes {
            limits: limits.sanitized(),
            descs: Slab::default(),
            by_key: HashMap::new(),
            next_id: 1,
            pids,
            events: EventSink {
                on: true,
                list: Vec::new(),
            },
            completions: VecDeque::new(),
            stdio_modes: [mode::RDWR; 3],
            sink_attached: false,
            pool_exhausted: 0,
            spare: Vec::new(),
        }
    }

    /// The limits in force.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Attach a stdio sink to the stdout/stderr descriptors of tasks added from now on
    /// (`syscalls.md` §13); without one their messages stay queued.
    pub fn set_sink_attached(&mut self, attached: bool) {
        self.sink_attached = attached;
    }

    // ------------------------------------------------------------ events, waits

    /// Take the events produced so far, oldest first.
    pub fn drain_events(&mut self) -> std::vec::Drain<'_, MailboxEvent> {
        self.events.list.drain(..)
    }

    /// True if events are pending.
    pub fn has_events(&self) -> bool {
        !self.events.list.is_empty()
    }

    /// Turn event reporting on (the default) or off. With it off nothing is recorded,
    /// which saves a host that does not look at mailbox events their cost.
    pub fn set_events(&mut self, on: bool) {
        self.events.on = on;
        if !on {
            self.events.list.clear();
        }
    }

    /// Whether events are reported.
    pub fn events_enabled(&self) -> bool {
        self.events.on
    }

    /// Hand a received payload buffer back for reuse (saves an allocation per message
    /// on busy mailboxes).
    pub fn recycle(&mut self, data: Vec<u8>) {
        if self.spare.len() < SPARE_BUFFERS && data.capacity() <= SPARE_CAPACITY {
            self.spare.push(data);
        }
    }

    /// True if completed waits are pending.
    pub fn has_completions(&self) -> bool {
        !self.completions.is_empty()
    }

    /// The completed waits not taken yet, oldest first.
    pub fn completions(&self) -> impl Iterator<Item = &Completion> {
        self.completions.iter()
    }

    /// Number of completed waits not taken yet.
    #[inline]
    pub fn completion_count(&self) -> usize {
        self.completions.len()
    }

    /// The completed waits not taken yet from the `from`-th on, oldest first: with
    /// `from` the [`Mailboxes::completion_count`] before a call, the waits it completed.
    #[inline]
    pub fn completions_from(&self, from: usize) -> impl Iterator<Item = &Completion> {
        (from..self.completions.len()).filter_map(|i| self.completions.get(i))
    }

    /// Take the oldest completed wait (in wake order).
    pub fn pop_completion(&mut self) -> Option<Completion> {
        self.completions.pop_front()
    }

    /// Report a failure found by the caller before the mailbox table was consulted (an
    /// unreadable info record, for instance): emits `mailbox_error` for error statuses.
    pub fn report(&mut self, actor: Pid, function: Function, status: Status, error: &str) {
        if status.is_error() {
            self.events.push(|| MailboxEvent::Error {
                pid: actor,
                function,
                status,
                error: error.to_string(),
            });
        }
    }

    /// Report a failed call (an event for error statuses) and return the status. Cold:
    /// kept out of the success paths it is called from.
    #[cold]
    #[inline(never)]
    fn fail<T>(
        &mut self,
        actor: Pid,
        function: Function,
        status: Status,
        error: impl Into<String>,
    ) -> Result<T, Status> {
        if status.is_error() {
            self.events.push(|| MailboxEvent::Error {
                pid: actor,
                function,
                status,
                error: error.into(),
            });
        }
        Err(status)
    }

    // ------------------------------------------------------------ lookup helpers

    /// `pid` with the place of its handle table, for [`Mailboxes::send_as`] and
    /// [`Mailboxes::recv_as`]. A pid without a handle table gets an actor that finds
    /// none (its calls fail as with the pid).
    pub fn actor(&self, pid: Pid) -> Actor {
        Actor {
            pid,
            slot: self.pids.slot_of(pid).unwrap_or(u32::MAX),
        }
    }

    fn present(&self, pid: Pid) -> bool {
        pid == 0 || self.pids.get(pid).is_some_and(|e| e.present)
    }

    fn resolve(
        &mut self,
        actor: Pid,
        function: Function,
        target: Option<&[u8]>,
    ) -> Result<(Key, Option<u16>), Status> {
        let key = match target.map(|t| parse_target(t, actor)) {
            None => {
                return self.fail(
                    actor,
                    function,
                    Status::Internal,
                    "target is not a NUL-terminated string of 1..32 bytes inside the window",
                );
            }
            Some(Err(e)) => {
                let text = format!("malformed target: {e}");
                return self.fail(actor, function, Status::Internal, text);
            }
            Some(Ok(key)) => key,
        };
        let existing = self.by_key.get(&key).copied();
        if existing.is_none()
            && let Some(owner) = key.owner
            && !self.present(owner)
        {
            let text = format!("{key}: owner pid {owner} does not exist");
            return self.fail(actor, function, Status::NoDescriptor, text);
        }
        Ok((key, existing))
    }

    fn alloc_id(&mut self) -> u16 {
        loop {
            let id = self.next_id;
            self.next_id = match self.next_id.wrapping_add(1) {
                0 => 1,
                n => n,
            };
            if !self.descs.contains_key(id) {
                return id;
            }
        }
    }

    fn pool_full(&self) -> bool {
        self.descs.len() as u32 >= self.limits.max_descriptors
    }

    fn exhausted_pool(&mut self, actor: Pid, function: Function, key: &Key) -> Status {
        self.pool_exhausted += 1;
        self.events.push(|| MailboxEvent::Exhausted {
            pid: actor,
            what: Exhaustion::DescriptorPoolFull {
                max_descriptors: self.limits.max_descriptors,
                namespace: key.namespace,
                name: key.name.clone(),
                owner: key.owner,
            },
        });
        let text = format!(
            "descriptor pool full ({} descriptors)",
            self.limits.max_descriptors
        );
        let _: Result<(), _> = self.fail(actor, function, Status::NoDescriptor, text);
        Status::NoDescriptor
    }

    /// Create a descriptor (pool checked by the caller).
    fn create(&mut self, actor: Pid, key: Key, capacity: u32, mode_bits: u16) -> u16 {
        let id = self.alloc_id();
        self.events.push(|| MailboxEvent::Created {
            pid: actor,
            descriptor: id,
            namespace: key.namespace,
            name: key.name.clone(),
            owner: key.owner,
            capacity,
            mode: mode_bits,
        });
        self.by_key.insert(key.clone(), id);
        self.descs.insert(
            id,
            Descriptor {
                id,
                key,
                capacity,
                mode: mode_bits,
                queue: VecDeque::new(),
                bytes_used: 0,
                next_seq: 0,
                waiters: VecDeque::new(),
                holders: Vec::new(),
                refs: Vec::new(),
                taps: 0,
                sink: None,
                stdio: None,
            },
        );
        id
    }

    fn add_holder(&mut self, id: u16, pid: Pid) {
        if let Some(d) = self.descs.get_mut(id)
            && let Err(at) = d.holders.binary_search(&pid)
        {
            d.holders.insert(at, pid);
        }
    }

    /// Allocate a handle for `pid` on descriptor `id` (limits checked by the caller).
    fn attach_handle(&mut self, pid: Pid, id: u16, access: u16, tap: bool) -> Option<u16> {
        let slot = self.descs.slot_of(id)?;
        let desc = self.descs.get_mut(id)?;
        let entry = self.pids.get_mut(pid)?;
        let number = entry.lowest_free();
        entry.insert(
            number,
            Handle {
                desc: id,
                slot,
                access,
                tap: tap.then(Tap::default),
                cursor_next: desc.next_seq,
                overrun: false,
            },
        );
        desc.refs.push((pid, number));
        if tap {
            desc.taps += 1;
        }
        Some(number)
    }

    /// The descriptor id a handle refers to.
    fn handle_desc(&self, pid: Pid, number: u16) -> Option<u16> {
        Some(self.pids.get(pid)?.handle(number)?.desc)
    }

    // ------------------------------------------------------------ OPEN

    /// OPEN (`mailbox.md` §9): `target` is the string without its NUL (`None` when it is
    /// not a valid C string of 1..32 bytes inside the caller's window); `flags` = R2.
    pub fn open(&mut self, actor: Pid, target: Option<&[u8]>, flags: u32) -> Result<u16, Status> {
        let f = Function::Open;
        let (key, existing) = self.resolve(actor, f, target)?;
        let Some(entry) = self.pids.get(actor) else {
            return self.fail(
                actor,
                f,
                Status::Internal,
                format!("pid {actor} has no handle table"),
            );
        };
        if entry.open >= self.limits.handle_limit_per_pid {
            let handles = entry.open;
            self.events.push(|| MailboxEvent::Exhausted {
                pid: actor,
                what: Exhaustion::HandleLimit {
                    handle_limit: self.limits.handle_limit_per_pid,
                    handles,
                },
            });
            let text = format!("handle limit {} reached", self.limits.handle_limit_per_pid);
            return self.fail(actor, f, Status::NoDescriptor, text);
        }
        let flags = (flags & 0xFFFF) as u16;
        let desc_access = existing
            .and_then(|id| self.descs.get(id))
            .map_or(0, |d| d.mode & mode::RDWR);
        let access = match (flags & mode::RDWR, desc_access) {
            (0, 0) => mode::RDWR,
            (0, d) => d,
            (a, _) => a,
        };
        let tap = flags & mode::TAP != 0;
        if tap && access & mode::RDONLY == 0 {
            return self.fail(
                actor,
                f,
                Status::Permission,
                "a tap handle needs read access",
            );
        }
        let id = match existing {
            Some(id) => id,
            None => {
                if self.pool_full() {
                    return Err(self.exhausted_pool(actor, f, &key));
                }
                let capacity = self.limits.default_capacity;
                self.create(actor, key, capacity, mode::RDWR)
            }
        };
        match self.attach_handle(actor, id, access, tap) {
            Some(number) => Ok(number),
            None => self.fail(actor, f, Status::Internal, "handle allocation failed"),
        }
    }

    // ------------------------------------------------------------ BIND

    /// BIND (`mailbox.md` §9): `capacity` = R2, `mode` = R3 (both masked to 16 bits).
    pub fn bind(
        &mut self,
        actor: Pid,
        target: Option<&[u8]>,
        capacity: u32,
        mode_bits: u32,
    ) -> Result<u16, Status> {
        let f = Function::Bind;
        let (key, existing) = self.resolve(actor, f, target)?;
        let capacity = capacity & 0xFFFF;
        if (1..MIN_CAPACITY).contains(&capacity) {
            let text = format!("capacity {capacity} is below {MIN_CAPACITY}");
            return self.fail(actor, f, Status::Internal, text);
        }
        let mode_bits = (mode_bits & 0xFFFF) as u16;
        let id = match existing {
            None => {
                if self.pool_full() {
                    return Err(self.exhausted_pool(actor, f, &key));
                }
                let capacity = if capacity == 0 {
                    self.limits.default_capacity
                } else {
                    capacity
                };
                let mode_bits = if mode_bits == 0 {
                    mode::RDWR
                } else {
                    mode_bits
                };
                self.create(actor, key, capacity, mode_bits)
            }
            Some(id) => {
                if !self.reconfigure(id, capacity, mode_bits) {
                    return Err(Status::WouldBlock);
                }
                id
            }
        };
        self.add_holder(id, actor);
        Ok(id)
    }

    /// Apply capacity/mode (0 = keep) to an existing descriptor under the BIND rule:
    /// only when nothing is queued anywhere. Returns false (WOULDBLOCK) otherwise.
    fn reconfigure(&mut self, id: u16, capacity: u32, mode_bits: u16) -> bool {
        let Some(desc) = self.descs.get(id) else {
            return false;
        };
        let capacity = if capacity == 0 {
            desc.capacity
        } else {
            capacity
        };
        let mode_bits = if mode_bits == 0 { desc.mode } else { mode_bits };
        if capacity == desc.capacity && mode_bits == desc.mode {
            return true;
        }
        let taps_empty = desc.refs.iter().all(|&(pid, n)| {
            self.pids
                .get(pid)
                .and_then(|e| e.handle(n))
                .and_then(|h| h.tap.as_ref())
                .is_none_or(|t| t.buf.is_empty())
        });
        if !desc.queue.is_empty() || !taps_empty {
            return false;
        }
        let refs = desc.refs.clone();
        let Some(desc) = self.descs.get_mut(id) else {
            return false;
        };
        desc.capacity = capacity;
        desc.mode = mode_bits;
        let next = desc.next_seq;
        if desc.sink.is_some() {
            desc.sink = Some(next);
        }
        for (pid, n) in refs {
            if let Some(h) = self.pids.get_mut(pid).and_then(|e| e.handle_mut(n)) {
                h.cursor_next = next;
            }
        }
        true
    }

    /// Host `unbind`: removes the host (pid 0) as a holder of descriptor `id`, then runs
    /// the free check.
    pub fn unbind(&mut self, id: u16) -> Result<(), Status> {
        let Some(desc) = self.descs.get_mut(id) else {
            return self.fail(
                0,
                Function::Bind,
                Status::NoDescriptor,
                format!("no descriptor {id}"),
            );
        };
        desc.holders.retain(|&p| p != 0);
        self.maybe_free(id, 0);
        Ok(())
    }

    // ------------------------------------------------------------ SEND

    /// The descriptor `id` and the rest of the table an enqueue touches, borrowed apart
    /// so a message looks its descriptor up once.
    fn delivery(&mut self, id: u16) -> Option<(&mut Descriptor, Delivery<'_>)> {
        let slot = self.descs.slot_of(id)?;
        self.delivery_at(slot, id)
    }

    /// [`Mailboxes::delivery`] for a descriptor whose slot the caller has (a handle's).
    fn delivery_at(&mut self, slot: u32, id: u16) -> Option<(&mut Descriptor, Delivery<'_>)> {
        let desc = self.descs.at_mut(slot, id)?;
        Some((
            desc,
            Delivery {
                pids: &mut self.pids,
                events: &mut self.events,
                completions: &mut self.completions,
                spare: &mut self.spare,
                tap_rate_limit: self.limits.tap_rate_limit,
            },
        ))
    }

    /// SEND (`mailbox.md` §9). `data` is the payload, `None` when the buffer
    /// `(ptr, length)` is not inside the caller's window; `length` = R3 & 0xFFFF.
    ///
    /// Always inlined, like [`Mailboxes::recv`]: a mailbox exchange is a handful of
    /// checks and moves, and a call's frame and spills cost a sizeable part of it. Every
    /// failure leaves through the out-of-line `fail`.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    pub fn send(
        &mut self,
        actor: Pid,
        handle: u16,
        data: Option<&[u8]>,
        length: u16,
        msg_flags: u16,
        channel: u16,
        now: u64,
    ) -> Result<Sent, Status> {
        let actor = self.actor(actor);
        self.send_as(actor, handle, data, length, msg_flags, channel, now)
    }

    /// [`Mailboxes::send`] by an [`Actor`].
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    pub fn send_as(
        &mut self,
        Actor { pid: actor, slot }: Actor,
        handle: u16,
        data: Option<&[u8]>,
        length: u16,
        msg_flags: u16,
        channel: u16,
        now: u64,
    ) -> Result<Sent, Status> {
        let f = Function::Send;
        let Some(h) = self.pids.at(slot, actor).and_then(|e| e.handle(handle)) else {
            return self.fail(
                actor,
                f,
                Status::InvalidHandle,
                format!("handle {handle} is not open"),
            );
        };
        if !h.can_write() {
            return self.fail(
                actor,
                f,
                Status::Permission,
                format!("handle {handle} is read-only"),
            );
        }
        let (id, slot) = (h.desc, h.slot);
        let cost = u32::from(length) + MESSAGE_OVERHEAD;
        let Some((desc, delivery)) = self
            .delivery_at(slot, id)
            .filter(|(d, _)| cost <= d.capacity)
        else {
            let capacity = self.descs.get(id).map_or(0, |d| d.capacity);
            let text = format!("message of {length} bytes can never fit capacity {capacity}");
            return self.fail(actor, f, Status::MsgTooLarge, text);
        };
        let Some(data) = data else {
            return self.fail(actor, f, Status::Internal, "buffer outside the window");
        };
        let data = data.get(..usize::from(length)).unwrap_or(data);
        let message = Outgoing {
            data,
            flags: msg_flags & !flags::RUNTIME,
            channel,
            src_pid: actor,
            actor,
            handle,
            source: Source::Svc,
        };
        let sink = delivery.enqueue(desc, &message, now)?;
        Ok(Sent {
            length: data.len() as u16,
            descriptor: id,
            sink,
        })
    }

    /// Internal enqueue (stdio writes, value notifications, command replies, host
    /// sends by target): no handle, no access check; space rules, taps, the wake-up and
    /// events as for SEND. `src_pid` is the message's source, `actor` the acting pid.
    #[allow(clippy::too_many_arguments)]
    pub fn enqueue_internal(
        &mut self,
        actor: Pid,
        descriptor: u16,
        data: &[u8],
        msg_flags: u16,
        channel: u16,
        src_pid: Pid,
        source: Source,
        now: u64,
    ) -> Result<(), Status> {
        let Some((desc, delivery)) = self.delivery(descriptor) else {
            return Err(Status::NoDescriptor);
        };
        if data.len() as u32 + MESSAGE_OVERHEAD > desc.capacity || data.len() > 0xFFFF {
            return Err(Status::MsgTooLarge);
        }
        let message = Outgoing {
            data,
            flags: msg_flags & !flags::RUNTIME,
            channel,
            src_pid,
            actor,
            handle: 0,
            source,
        };
        delivery.enqueue(desc, &message, now).map(|_| ())
    }

    // ------------------------------------------------------------ RECV

    /// RECV (`mailbox.md` §9) after the caller validated the info record. `buffer_ok` is
    /// false when `(buffer, max_len)` is not inside the window. Always inlined (see
    /// [`Mailboxes::send`]).
    #[inline(always)]
    pub fn recv(
        &mut self,
        actor: Pid,
        handle: u16,
        max_len: u16,
        buffer_ok: bool,
        wait: RecvWait,
    ) -> Result<RecvOutcome, Status> {
        let actor = self.actor(actor);
        self.recv_as(actor, handle, max_len, buffer_ok, wait)
    }

    /// [`Mailboxes::recv`] by an [`Actor`].
    #[inline(always)]
    pub fn recv_as(
        &mut self,
        Actor { pid: actor, slot }: Actor,
        handle: u16,
        max_len: u16,
        buffer_ok: bool,
        wait: RecvWait,
    ) -> Result<RecvOutcome, Status> {
        let f = Function::Recv;
        let Some(entry) = self.pids.at_mut(slot, actor) else {
            return self.fail(
                actor,
                f,
                Status::InvalidHandle,
                format!("handle {handle} is not open"),
            );
        };
        let pending = entry.wait.is_some();
        let Some(h) = entry.handle_mut(handle) else {
            return self.fail(
                actor,
                f,
                Status::InvalidHandle,
                format!("handle {handle} is not open"),
            );
        };
        if !h.can_read() {
            return self.fail(
                actor,
                f,
                Status::Permission,
                format!("handle {handle} is write-only"),
            );
        }
        if !buffer_ok {
            return self.fail(actor, f, Status::Internal, "buffer outside the window");
        }
        let id = h.desc;
        let Some(desc) = self.descs.at_mut(h.slot, id) else {
            return self.fail(
                actor,
                f,
                Status::Internal,
                "handle refers to a freed descriptor",
            );
        };
        if let Some(received) = take(desc, h, handle, max_len) {
            self.events.push(|| MailboxEvent::Recv {
                pid: actor,
                descriptor: id,
                handle,
                length: received.copied(),
                flags: received.flags,
                channel: received.channel,
                src_pid: received.src_pid,
            });
            reclaim(desc, &self.pids);
            if desc.key.owner.is_none() {
                self.maybe_free(id, actor);
            }
            return Ok(RecvOutcome::Message(received));
        }
        match wait {
            RecvWait::Poll => Err(Status::NoData),
            RecvWait::Block { .. } if pending => {
                self.fail(actor, f, Status::Internal, "a receive is already pending")
            }
            RecvWait::Block {
                timeout,
                deadline,
                tag,
            } => {
                desc.waiters.push_back(Waiter {
                    pid: actor,
                    slot,
                    handle,
                    deadline,
                    max_len,
                });
                entry.wait = Some(handle);
                entry.wait_tag = tag;
                self.events.push(|| MailboxEvent::Wait {
                    pid: actor,
                    descriptor: id,
                    handle,
                    timeout,
                    deadline,
                });
                Ok(RecvOutcome::Blocked)
            }
        }
    }

    /// Remove `pid`'s pending wait, if any: `(descriptor, handle)`.
    fn remove_wait(&mut self, pid: Pid) -> Option<(u16, u16)> {
        let entry = self.pids.get_mut(pid)?;
        let handle = entry.wait.take()?;
        let id = entry.handle(handle).map(|h| h.desc);
        let id = match id {
            Some(id) => id,
            // The handle is gone: find the waiter by scanning.
            None => {
                self.descs
                    .values()
                    .find(|d| d.waiters.iter().any(|w| w.pid == pid))?
                    .id
            }
        };
        if let Some(desc) = self.descs.get_mut(id) {
            desc.waiters.retain(|w| w.pid != pid);
        }
        Some((id, handle))
    }

    /// The deadline of `pid`'s wait was reached: the waiter leaves and `mailbox_timeout`
    /// is emitted. Returns `(descriptor, handle)` if a wait was pending.
    pub fn timeout(&mut self, pid: Pid) -> Option<(u16, u16)> {
        let (id, handle) = self.remove_wait(pid)?;
        self.events.push(|| MailboxEvent::Timeout {
            pid,
            descriptor: id,
            handle,
        });
        Some((id, handle))
    }

    /// The pending wait of `pid`: `(descriptor, handle, deadline)`.
    pub fn pending_wait(&self, pid: Pid) -> Option<(u16, u16, Option<u64>)> {
        let handle = self.pids.get(pid)?.wait?;
        self.descs.values().find_map(|d| {
            d.waiters
                .iter()
                .find(|w| w.pid == pid)
                .map(|w| (d.id, handle, w.deadline))
        })
    }

    // ------------------------------------------------------------ PEEK, TAP, CLOSE

    /// PEEK (`mailbox.md` §9).
    pub fn peek(&mut self, actor: Pid, handle: u16) -> Result<PeekInfo, Status> {
        let f = Function::Peek;
        let Some(h) = self.pids.get(actor).and_then(|e| e.handle(handle)) else {
            return self.fail(
                actor,
                f,
                Status::InvalidHandle,
                format!("handle {handle} is not open"),
            );
        };
        let Some(desc) = self.descs.get(h.desc) else {
            return self.fail(
                actor,
                f,
                Status::Internal,
                "handle refers to a freed descriptor",
            );
        };
        let (depth, bytes_used, next_len) = match &h.tap {
            Some(tap) => (
                tap.buf.len() as u32,
                tap.bytes,
                tap.buf.front().map_or(0, Message::len),
            ),
            None if desc.is_fanout() => {
                let from = desc.index_from(h.cursor_next);
                let depth = from.map_or(0, |i| desc.queue.len() - i) as u32;
                let next = from.and_then(|i| desc.queue.get(i)).map_or(0, Message::len);
                (depth, desc.bytes_used, next)
            }
            None => (
                desc.queue.len() as u32,
                desc.bytes_used,
                desc.queue.front().map_or(0, Message::len),
            ),
        };
        Ok(PeekInfo {
            depth,
            bytes_used,
            next_len,
            capacity: desc.capacity,
            head_seq: desc.head_seq() as u32,
            next_seq: desc.next_seq as u32,
            mode: desc.mode,
        })
    }

    /// TAP (`mailbox.md` §9): bit 0 of `enable` turns the handle into a tap (needs read
    /// access) or back into a normal handle.
    pub fn tap(&mut self, actor: Pid, handle: u16, enable: u32) -> Result<(), Status> {
        let f = Function::Tap;
        let Some(h) = self.pids.get_mut(actor).and_then(|e| e.handle_mut(handle)) else {
            return self.fail(
                actor,
                f,
                Status::InvalidHandle,
                format!("handle {handle} is not open"),
            );
        };
        let id = h.desc;
        let Some(desc) = self.descs.get_mut(id) else {
            return self.fail(
                actor,
                f,
                Status::Internal,
                "handle refers to a freed descriptor",
            );
        };
        if enable & 1 == 1 {
            if !h.can_read() {
                return self.fail(
                    actor,
                    f,
                    Status::Permission,
                    "a tap handle needs read access",
                );
            }
            if h.tap.is_none() {
                h.tap = Some(Tap::default());
                desc.taps += 1;
                // It no longer holds fan-out messages back.
                reclaim(desc, &self.pids);
            }
        } else if h.tap.take().is_some() {
            desc.taps -= 1;
            h.cursor_next = desc.next_seq;
        }
        Ok(())
    }

    /// CLOSE (`mailbox.md` §9): a wait pending on the handle completes with
    /// INVALID_HANDLE; reclaim and the free check follow.
    pub fn close(&mut self, actor: Pid, handle: u16) -> Result<(), Status> {
        if self.handle_desc(actor, handle).is_none() {
            let text = format!("handle {handle} is not open");
            return self.fail(actor, Function::Close, Status::InvalidHandle, text);
        }
        let entry = self.pids.get(actor);
        let tag = entry.map_or(0, |e| e.wait_tag);
        if entry.and_then(|e| e.wait) == Some(handle)
            && let Some((id, _)) = self.remove_wait(actor)
        {
            self.completions.push_back(Completion {
                pid: actor,
                handle,
                descriptor: id,
                tag,
                outcome: WaitOutcome::InvalidHandle,
            });
        }
        self.detach_handle(actor, handle);
        Ok(())
    }

    fn detach_handle(&mut self, pid: Pid, number: u16) {
        let Some(h) = self.pids.get_mut(pid).and_then(|e| e.remove(number)) else {
            return;
        };
        let id = h.desc;
        if let Some(desc) = self.descs.get_mut(id) {
            desc.refs.retain(|&r| r != (pid, number));
            if h.tap.is_some() {
                desc.taps -= 1;
            }
            reclaim(desc, &self.pids);
        }
        self.maybe_free(id, pid);
    }

    /// The free check (`mailbox.md` §13).
    fn maybe_free(&mut self, id: u16, actor: Pid) {
        let Some(desc) = self.descs.get(id) else {
            return;
        };
        let holders_gone = desc.holders.iter().all(|&p| p != 0 && !self.present(p));
        let owner_gone = match desc.key.owner {
            Some(owner) => !self.present(owner),
            None => desc.queue.is_empty(),
        };
        if desc.refs.is_empty() && holders_gone && owner_gone {
            self.free(id, actor);
        }
    }

    fn free(&mut self, id: u16, actor: Pid) {
        if let Some(desc) = self.descs.remove(id) {
            self.by_key.remove(&desc.key);
            if let Some((pid, stream)) = desc.stdio
                && let Some(entry) = self.pids.get_mut(pid)
                && entry.stdio[stream as usize] == Some(id)
            {
                entry.stdio[stream as usize] = None;
            }
            self.events.push(|| MailboxEvent::Freed {
                pid: actor,
                descriptor: id,
                discarded: desc.queue.len() as u32,
            });
        }
    }

    // ------------------------------------------------------------ task lifecycle

    /// Set up a new task (`mailbox.md` §5): its stdio and `pid:P` descriptors, handles
    /// 1-3, then its `.mailbox` declarations as BIND by the task. All or nothing: on
    /// error nothing of the task remains.
    pub fn add_task(&mut self, pid: Pid, binds: &[BindSpec]) -> Result<(), AddTaskError> {
        if self.pids.contains_key(pid) || pid == 0 {
            return Err(AddTaskError::Exists(pid));
        }
        if self.limits.handle_limit_per_pid < 3 {
            return Err(AddTaskError::HandleLimit(self.limits.handle_limit_per_pid));
        }
        // Count the descriptors that must be created.
        let mut new_keys: Vec<Key> = Vec::new();
        for stream in StdioStream::ALL {
            new_keys.push(Key::new(Namespace::Svc, stream.name(), Some(pid)));
        }
        new_keys.push(Key::new(Namespace::Pid, pid.to_string(), Some(pid)));
        for bind in binds {
            if let Ok(key) = parse_target(bind.target.as_bytes(), pid)
                && !self.by_key.contains_key(&key)
                && !new_keys.contains(&key)
            {
                new_keys.push(key);
            }
        }
        let free = self
            .limits
            .max_descriptors
            .saturating_sub(self.descs.len() as u32);
        let needed = new_keys.len() as u32;
        if needed > free {
            self.pool_exhausted += 1;
            let key = &new_keys[(free as usize).min(new_keys.len() - 1)];
            self.events.push(|| MailboxEvent::Exhausted {
                pid: 0,
                what: Exhaustion::DescriptorPoolFull {
                    max_descriptors: self.limits.max_descriptors,
                    namespace: key.namespace,
                    name: key.name.clone(),
                    owner: key.owner,
                },
            });
            return Err(AddTaskError::PoolFull { needed, free });
        }
        self.pids.insert(pid, PidEntry::new());
        for stream in StdioStream::ALL {
            let key = Key::new(Namespace::Svc, stream.name(), Some(pid));
            let capacity = self.limits.stdio_capacity;
            let id = match self.by_key.get(&key) {
                Some(&id) => id,
                None => self.create(0, key, capacity, self.stdio_modes[stream as usize]),
            };
            if let Some(desc) = self.descs.get_mut(id) {
                desc.stdio = Some((pid, stream));
                if self.sink_attached && stream != StdioStream::In {
                    desc.sink = Some(desc.next_seq);
                }
            }
            if let Some(entry) = self.pids.get_mut(pid) {
                entry.stdio[stream as usize] = Some(id);
            }
        }
        let inbox = Key::new(Namespace::Pid, pid.to_string(), Some(pid));
        if !self.by_key.contains_key(&inbox) {
            let capacity = self.limits.default_capacity;
            self.create(0, inbox, capacity, mode::RDWR);
        }
        for stream in StdioStream::ALL {
            let id = self.pids.get(pid).and_then(|e| e.stdio[stream as usize]);
            if let Some(id) = id {
                self.attach_handle(pid, id, stream.access(), false);
            }
        }
        for bind in binds {
            let status = if bind.capacity > MAX_CAPACITY {
                self.report(
                    pid,
                    Function::Bind,
                    Status::Internal,
                    "capacity above 65535",
                );
                Err(Status::Internal)
            } else {
                self.bind(pid, Some(bind.target.as_bytes()), bind.capacity, bind.mode)
            };
            if let Err(status) = status {
                self.remove_task(pid);
                return Err(AddTaskError::Bind {
                    target: bind.target.clone(),
                    status,
                });
            }
        }
        Ok(())
    }

    /// Task `pid` terminated (EXIT, fault, kill): its wait is discarded (nothing
    /// consumed) and its handles are closed in ascending order (`mailbox.md` §13). It
    /// stays in the task table, holding and owning, until [`Mailboxes::task_reaped`].
    pub fn task_terminated(&mut self, pid: Pid) {
        self.remove_wait(pid);
        let numbers = self
            .pids
            .get(pid)
            .map(PidEntry::numbers)
            .unwrap_or_default();
        for number in numbers {
            self.detach_handle(pid, number);
        }
    }

    /// Task `pid` left the task table: descriptors it owned or held are freed unless
    /// another pid still has a handle on them or holds them.
    pub fn task_reaped(&mut self, pid: Pid) {
        if pid == 0 {
            return;
        }
        self.task_terminated(pid);
        self.pids.remove(pid);
        let mut affected: Vec<u16> = self
            .descs
            .values_mut()
            .filter_map(|d| {
                let held = d.holders.contains(&pid);
                d.holders.retain(|&p| p != pid);
                (held || d.key.owner == Some(pid)).then_some(d.id)
            })
            .collect();
        affected.sort_unstable();
        for id in affected {
            self.maybe_free(id, 0);
        }
    }

    /// Roll back a partly added task.
    fn remove_task(&mut self, pid: Pid) {
        self.task_reaped(pid);
    }

    // ------------------------------------------------------------ stdio

    /// The descriptor id of a task's stdio stream.
    pub fn stdio_descriptor(&self, pid: Pid, stream: StdioStream) -> Option<u16> {
        self.pids.get(pid)?.stdio[stream as usize]
    }

    /// Largest payload one message can carry on a descriptor (capacity − 8).
    pub fn max_payload(&self, descriptor: u16) -> Option<u32> {
        Some(self.descs.get(descriptor)?.capacity - MESSAGE_OVERHEAD)
    }

    /// The stdio stream a descriptor belongs to, if it has a sink attached.
    pub fn sink_of(&self, descriptor: u16) -> Option<(Pid, StdioStream)> {
        let d = self.descs.get(descriptor)?;
        d.sink.and(d.stdio)
    }

    /// Run the stdio sink on a descriptor (`syscalls.md` §13): offer it every message
    /// left for it, oldest first; `accept` returns false to stop (the message stays
    /// queued). Returns the number taken.
    pub fn sink_drain(
        &mut self,
        descriptor: u16,
        mut accept: impl FnMut(&Message) -> bool,
    ) -> usize {
        let Some(desc) = self.descs.get_mut(descriptor) else {
            return 0;
        };
        let Some(mut cursor) = desc.sink else {
            return 0;
        };
        let mut taken = 0;
        if desc.is_fanout() {
            while let Some(i) = desc.index_from(cursor) {
                let m = &desc.queue[i];
                if !accept(m) {
                    break;
                }
                cursor = m.seq + 1;
                taken += 1;
            }
            desc.sink = Some(cursor);
            reclaim(desc, &self.pids);
        } else {
            while let Some(m) = desc.queue.front() {
                if !accept(m) {
                    break;
                }
                if let Some(m) = desc.queue.pop_front() {
                    desc.bytes_used -= m.cost();
                }
                taken += 1;
            }
        }
        taken
    }

    /// Mode given to stdio descriptors created from now on.
    pub fn stdio_mode(&self, stream: StdioStream) -> u16 {
        self.stdio_modes[stream as usize]
    }

    /// Host `config_stdio` (`mailbox.md` §15): set the mode of future stdio descriptors
    /// of `streams` (or, with `pid`, reconfigure that task's existing ones); with
    /// `update_existing`, existing ones are reconfigured under the BIND rule.
    pub fn config_stdio(
        &mut self,
        streams: &[StdioStream],
        mode_bits: u16,
        update_existing: bool,
        pid: Option<Pid>,
    ) -> StdioUpdate {
        let mode_bits = if mode_bits == 0 {
            mode::RDWR
        } else {
            mode_bits
        };
        if pid.is_none() {
            for &s in streams {
                self.stdio_modes[s as usize] = mode_bits;
            }
        }
        let mut update = StdioUpdate::default();
        if !update_existing && pid.is_none() {
            return update;
        }
        let mut targets: Vec<u16> = self
            .pids
            .iter()
            .filter(|(p, _)| pid.is_none_or(|want| want == *p))
            .flat_map(|(_, e)| streams.iter().filter_map(|&s| e.stdio[s as usize]))
            .collect();
        targets.sort_unstable();
        for id in targets {
            if self.reconfigure(id, 0, mode_bits) {
                update.updated.push(id);
            } else {
                update.skipped.push(id);
            }
        }
        update
    }

    // ------------------------------------------------------------ host helpers

    /// Host send by target (`mailbox.md` §15): a temporary WRONLY handle of `actor` is
    /// opened, used and closed. Returns the descriptor and bytes accepted.
    #[allow(clippy::too_many_arguments)]
    pub fn send_to_target(
        &mut self,
        actor: Pid,
        target: &[u8],
        data: &[u8],
        msg_flags: u16,
        channel: u16,
        now: u64,
    ) -> Result<Sent, Status> {
        if data.len() > 0xFFFF {
            return self.fail(
                actor,
                Function::Send,
                Status::MsgTooLarge,
                "payload above 65535 bytes",
            );
        }
        let handle = self.open(actor, Some(target), u32::from(mode::WRONLY))?;
        let sent = self.send(
            actor,
            handle,
            Some(data),
            data.len() as u16,
            msg_flags,
            channel,
            now,
        );
        let _ = self.close(actor, handle);
        sent
    }

    /// Look a target up for `actor` without creating anything.
    pub fn lookup(&self, actor: Pid, target: &[u8]) -> Option<u16> {
        let key = parse_target(target, actor).ok()?;
        self.by_key.get(&key).copied()
    }

    /// Canonical target text of a descriptor.
    pub fn target_of(&self, descriptor: u16) -> Option<String> {
        Some(self.descs.get(descriptor)?.key.to_string())
    }

    /// Number of live descriptors.
    pub fn descriptor_count(&self) -> usize {
        self.descs.len()
    }

    /// Handles `pid` has open, ascending.
    pub fn handles_of(&self, pid: Pid) -> Vec<u16> {
        self.pids
            .get(pid)
            .map(PidEntry::numbers)
            .unwrap_or_default()
    }

    /// The full state, for `mailbox_snapshot` and tests.
    pub fn snapshot(&self) -> crate::snapshot::Snapshot {
        crate::snapshot::build(self)
    }

    pub(crate) fn snapshot_parts(
        &self,
    ) -> (
        Limits,
        u64,
        impl Iterator<Item = crate::snapshot::DescriptorView> + '_,
    ) {
        let mut ids: Vec<u16> = self.descs.keys().collect();
        ids.sort_unstable();
        let views = ids
            .into_iter()
            .filter_map(|id| self.descs.get(id))
            .map(move |d| {
                let handles = d
                    .refs
                    .iter()
                    .filter_map(|&(pid, n)| {
                        let h = self.pids.get(pid)?.handle(n)?;
                        Some(crate::snapshot::HandleView {
                            pid,
                            handle: n,
                            access: h.access,
                            tap: h.tap.is_some(),
                            cursor: h.cursor_next.wrapping_sub(1) as u32,
                            overrun_pending: h.overrun
                                || h.tap.as_ref().is_some_and(|t| {
                                    t.lost
                                        || t.buf
                                            .front()
                                            .is_some_and(|m| m.flags & flags::OVERRUN != 0)
                                }),
                            tap_depth: h.tap.as_ref().map_or(0, |t| t.buf.len() as u32),
                            tap_bytes: h.tap.as_ref().map_or(0, |t| t.bytes),
                        })
                    })
                    .collect();
                crate::snapshot::DescriptorView {
                    id: d.id,
                    namespace: d.key.namespace,
                    name: d.key.name.clone(),
                    owner: d.key.owner,
                    target: d.key.to_string(),
                    capacity: d.capacity,
                    mode: d.mode,
                    depth: d.queue.len() as u32,
                    bytes_used: d.bytes_used,
                    head_seq: d.head_seq() as u32,
                    next_seq: d.next_seq as u32,
                    holders: d.holders.clone(),
                    waiters: d
                        .waiters
                        .iter()
                        .map(|w| crate::snapshot::WaiterView {
                            pid: w.pid,
                            handle: w.handle,
                            deadline: w.deadline,
                        })
                        .collect(),
                    taps: d.taps,
                    handles,
                    stdio: d.stdio,
                }
            });
        (self.limits, self.pool_exhausted, views)
    }
}

impl Default for Mailboxes {
    fn default() -> Self {
        Mailboxes::new(Limits::HOST)
    }
}
