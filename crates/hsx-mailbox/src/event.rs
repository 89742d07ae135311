//! Mailbox events (`mailbox.md` §14, `protocol.md` §8.2). Every event carries the acting
//! pid (0 for the host and for internal actions); wait/wake/timeout carry the waiting
//! task.

use crate::Pid;
use crate::names::Namespace;
use crate::types::{Function, Status};

/// Which path enqueued a message (`mailbox_send.source`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    /// MBX SEND by a task.
    Svc,
    /// FS WRITE fd 1/2 or UART_WRITE.
    Stdio,
    /// A host send.
    Host,
    /// A value notification.
    Value,
    /// A command reply.
    Cmd,
}

impl Source {
    /// Wire name.
    pub fn name(self) -> &'static str {
        match self {
            Source::Svc => "svc",
            Source::Stdio => "stdio",
            Source::Host => "host",
            Source::Value => "value",
            Source::Cmd => "cmd",
        }
    }
}

/// `mailbox_backpressure.policy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Policy {
    /// Single-reader descriptor full.
    Single,
    /// Fan-out descriptor with the BLOCK policy full.
    FanoutBlock,
    /// A tap exceeded its copies per second.
    TapRateLimit,
}

impl Policy {
    /// Wire name.
    pub fn name(self) -> &'static str {
        match self {
            Policy::Single => "single",
            Policy::FanoutBlock => "fanout_block",
            Policy::TapRateLimit => "tap_rate_limit",
        }
    }
}

/// `mailbox_overrun.reason`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OverrunReason {
    /// A fan-out DROP descriptor dropped its oldest message.
    FanoutDrop,
    /// A tap buffer dropped its oldest copy.
    TapDrop,
}

impl OverrunReason {
    /// Wire name.
    pub fn name(self) -> &'static str {
        match self {
            OverrunReason::FanoutDrop => "fanout_drop",
            OverrunReason::TapDrop => "tap_drop",
        }
    }
}

/// `mailbox_exhausted` details.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exhaustion {
    /// The pid has `handles` handles open, the limit.
    HandleLimit {
        /// The limit.
        handle_limit: u32,
        /// Handles open.
        handles: u32,
    },
    /// The descriptor pool is full.
    DescriptorPoolFull {
        /// The pool size.
        max_descriptors: u32,
        /// Namespace of the descriptor that could not be created.
        namespace: Namespace,
        /// Its name.
        name: String,
        /// Its owner.
        owner: Option<Pid>,
    },
}

impl Exhaustion {
    /// Wire `reason`.
    pub fn reason(&self) -> &'static str {
        match self {
            Exhaustion::HandleLimit { .. } => "handle_limit",
            Exhaustion::DescriptorPoolFull { .. } => "descriptor_pool_full",
        }
    }
}

/// The tap a back-pressure or overrun event is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TapRef {
    /// The tap's pid.
    pub tap_pid: Pid,
    /// The tap handle.
    pub tap_handle: u16,
}

/// One mailbox event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MailboxEvent {
    /// `mailbox_created`.
    Created {
        /// Acting pid.
        pid: Pid,
        /// Descriptor id.
        descriptor: u16,
        /// Namespace.
        namespace: Namespace,
        /// Name.
        name: String,
        /// Owner (null if none).
        owner: Option<Pid>,
        /// Capacity in bytes.
        capacity: u32,
        /// Mode bits.
        mode: u16,
    },
    /// `mailbox_freed`.
    Freed {
        /// Acting pid.
        pid: Pid,
        /// Descriptor id.
        descriptor: u16,
        /// Queued messages discarded.
        discarded: u32,
    },
    /// `mailbox_send`: any successful enqueue.
    Send {
        /// Acting pid.
        pid: Pid,
        /// Descriptor id.
        descriptor: u16,
        /// Sending handle (0 if none).
        handle: u16,
        /// Payload length.
        length: u16,
        /// Message flags.
        flags: u16,
        /// Channel.
        channel: u16,
        /// Source pid of the message.
        src_pid: Pid,
        /// Enqueue path.
        source: Source,
    },
    /// `mailbox_recv`: an immediate RECV succeeded.
    Recv {
        /// Acting pid.
        pid: Pid,
        /// Descriptor id.
        descriptor: u16,
        /// Receiving handle.
        handle: u16,
        /// Bytes copied.
        length: u16,
        /// Returned flags.
        flags: u16,
        /// Channel.
        channel: u16,
        /// Source pid.
        src_pid: Pid,
    },
    /// `mailbox_wait`: a RECV blocked.
    Wait {
        /// The waiting task.
        pid: Pid,
        /// Descriptor id.
        descriptor: u16,
        /// Handle.
        handle: u16,
        /// Timeout in ms (0xFFFF = infinite).
        timeout: u16,
        /// Clock deadline in ms; `None` if infinite.
        deadline: Option<u64>,
    },
    /// `mailbox_wake`: a wait completed with a message (status 0).
    Wake {
        /// The woken task.
        pid: Pid,
        /// Descriptor id.
        descriptor: u16,
        /// Handle.
        handle: u16,
        /// Bytes copied.
        length: u16,
        /// Returned flags.
        flags: u16,
        /// Channel.
        channel: u16,
        /// Source pid.
        src_pid: Pid,
    },
    /// `mailbox_timeout`: a wait expired (status 7; length, flags, channel, src_pid 0).
    Timeout {
        /// The waiting task.
        pid: Pid,
        /// Descriptor id.
        descriptor: u16,
        /// Handle.
        handle: u16,
    },
    /// `mailbox_error`: status 2, 4, 5, 6 or 0xFF.
    Error {
        /// Acting pid.
        pid: Pid,
        /// The operation.
        function: Function,
        /// The status.
        status: Status,
        /// What went wrong.
        error: String,
    },
    /// `mailbox_backpressure`.
    Backpressure {
        /// Acting pid.
        pid: Pid,
        /// Descriptor id.
        descriptor: u16,
        /// Which limit.
        policy: Policy,
        /// Descriptor capacity.
        capacity: u32,
        /// Bytes used (queue, or the tap buffer for a tap).
        bytes_used: u32,
        /// Cost of the refused message.
        requested: u32,
        /// The tap, for `tap_rate_limit`.
        tap: Option<TapRef>,
        /// The rate limit, for `tap_rate_limit`.
        limit: Option<u32>,
    },
    /// `mailbox_overrun`: a message was dropped.
    Overrun {
        /// Acting pid.
        pid: Pid,
        /// Descriptor id.
        descriptor: u16,
        /// Source pid of the dropped message.
        src_pid: Pid,
        /// Its sequence number.
        dropped_seq: u32,
        /// Its length.
        dropped_length: u16,
        /// Its flags.
        dropped_flags: u16,
        /// Its channel.
        channel: u16,
        /// Why it was dropped.
        reason: OverrunReason,
        /// Messages left in the queue (tap: in the tap buffer).
        queue_depth: u32,
        /// The tap, for `tap_drop`.
        tap: Option<TapRef>,
    },
    /// `mailbox_exhausted`.
    Exhausted {
        /// Acting pid.
        pid: Pid,
        /// Which limit and its details.
        what: Exhaustion,
    },
}

impl MailboxEvent {
    /// Wire type name (`mailbox_send`, ...).
    pub fn type_name(&self) -> &'static str {
        match self {
            MailboxEvent::Created { .. } => "mailbox_created",
            MailboxEvent::Freed { .. } => "mailbox_freed",
            MailboxEvent::Send { .. } => "mailbox_send",
            MailboxEvent::Recv { .. } => "mailbox_recv",
            MailboxEvent::Wait { .. } => "mailbox_wait",
            MailboxEvent::Wake { .. } => "mailbox_wake",
            MailboxEvent::Timeout { .. } => "mailbox_timeout",
            MailboxEvent::Error { .. } => "mailbox_error",
            MailboxEvent::Backpressure { .. } => "mailbox_backpressure",
            MailboxEvent::Overrun { .. } => "mailbox_overrun",
            MailboxEvent::Exhausted { .. } => "mailbox_exhausted",
        }
    }

    /// The pid the event is attributed to.
    pub fn pid(&self) -> Pid {
        match self {
            MailboxEvent::Created { pid, .. }
            | MailboxEvent::Freed { pid, .. }
            | MailboxEvent::Send { pid, .. }
            | MailboxEvent::Recv { pid, .. }
            | MailboxEvent::Wait { pid, .. }
            | MailboxEvent::Wake { pid, .. }
            | MailboxEvent::Timeout { pid, .. }
            | MailboxEvent::Error { pid, .. }
            | MailboxEvent::Backpressure { pid, .. }
            | MailboxEvent::Overrun { pid, .. }
            | MailboxEvent::Exhausted { pid, .. } => *pid,
        }
    }
}
