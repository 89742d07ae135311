//! Status codes, mode bits, message flags, operations and profile limits
//! (`mailbox.md` §2, §3, §6, §8, §9).

use std::fmt;

/// MBX status codes (`mailbox.md` §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Status {
    /// Success.
    Ok = 0,
    /// No room (nothing enqueued), or reconfiguration refused.
    WouldBlock = 1,
    /// Handle not open in this task.
    InvalidHandle = 2,
    /// Poll found nothing.
    NoData = 3,
    /// Message can never fit the capacity.
    MsgTooLarge = 4,
    /// Descriptor pool or handle limit reached, or target owner does not exist.
    NoDescriptor = 5,
    /// Handle access mode forbids the operation.
    Permission = 6,
    /// Wait expired.
    Timeout = 7,
    /// Malformed argument (name, pointer, capacity) or internal error.
    Internal = 0xFF,
}

impl Status {
    /// The register value.
    pub fn code(self) -> u32 {
        self as u32
    }

    /// Upper-case name (`protocol.md` `mbx_error`).
    pub fn name(self) -> &'static str {
        match self {
            Status::Ok => "OK",
            Status::WouldBlock => "WOULDBLOCK",
            Status::InvalidHandle => "INVALID_HANDLE",
            Status::NoData => "NO_DATA",
            Status::MsgTooLarge => "MSG_TOO_LARGE",
            Status::NoDescriptor => "NO_DESCRIPTOR",
            Status::Permission => "PERMISSION",
            Status::Timeout => "TIMEOUT",
            Status::Internal => "INTERNAL",
        }
    }

    /// Statuses that emit `mailbox_error` (2, 4, 5, 6, 0xFF).
    pub fn is_error(self) -> bool {
        matches!(
            self,
            Status::InvalidHandle
                | Status::MsgTooLarge
                | Status::NoDescriptor
                | Status::Permission
                | Status::Internal
        )
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Mode bits of BIND (descriptor) and OPEN (handle) (`mailbox.md` §6).
pub mod mode {
    /// Read access.
    pub const RDONLY: u16 = 0x01;
    /// Write access.
    pub const WRONLY: u16 = 0x02;
    /// Both.
    pub const RDWR: u16 = 0x03;
    /// OPEN: open as a tap handle.
    pub const TAP: u16 = 0x04;
    /// BIND: fan-out delivery.
    pub const FANOUT: u16 = 0x08;
    /// BIND: fan-out, overflow drops the oldest message (default fan-out policy).
    pub const FANOUT_DROP: u16 = 0x10;
    /// BIND: fan-out, overflow refuses the send; wins over DROP.
    pub const FANOUT_BLOCK: u16 = 0x20;
    /// Any fan-out bit.
    pub const FANOUT_ANY: u16 = FANOUT | FANOUT_DROP | FANOUT_BLOCK;
}

/// Message flag bits (`mailbox.md` §8).
pub mod flags {
    /// Standard output.
    pub const STDOUT: u16 = 0x0001;
    /// Standard error.
    pub const STDERR: u16 = 0x0002;
    /// Out-of-band hint (no runtime meaning).
    pub const OOB: u16 = 0x0004;
    /// Runtime: the receiving handle lost messages before this one.
    pub const OVERRUN: u16 = 0x0008;
    /// Runtime: the receive buffer was shorter than the message.
    pub const TRUNCATED: u16 = 0x0010;
    /// Bits a sender cannot set.
    pub const RUNTIME: u16 = OVERRUN | TRUNCATED;
}

/// Per-message overhead in capacity accounting (`mailbox.md` §7).
pub const MESSAGE_OVERHEAD: u32 = 8;
/// Smallest capacity.
pub const MIN_CAPACITY: u32 = 8;
/// Largest capacity.
pub const MAX_CAPACITY: u32 = 0xFFFF;
/// RECV timeout: poll.
pub const TIMEOUT_POLL: u16 = 0x0000;
/// RECV timeout: wait forever.
pub const TIMEOUT_INFINITE: u16 = 0xFFFF;

/// MBX function numbers (`mailbox.md` §9).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Function {
    /// 0: OPEN.
    Open = 0,
    /// 1: BIND.
    Bind = 1,
    /// 2: SEND.
    Send = 2,
    /// 3: RECV.
    Recv = 3,
    /// 4: PEEK.
    Peek = 4,
    /// 5: TAP.
    Tap = 5,
    /// 6: CLOSE.
    Close = 6,
}

impl Function {
    /// Decode an SVC function number (7..255 → `None`, ENOSYS).
    pub fn from_u8(f: u8) -> Option<Function> {
        Some(match f {
            0 => Function::Open,
            1 => Function::Bind,
            2 => Function::Send,
            3 => Function::Recv,
            4 => Function::Peek,
            5 => Function::Tap,
            6 => Function::Close,
            _ => return None,
        })
    }

    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            Function::Open => "open",
            Function::Bind => "bind",
            Function::Send => "send",
            Function::Recv => "recv",
            Function::Peek => "peek",
            Function::Tap => "tap",
            Function::Close => "close",
        }
    }
}

/// Profile limits (`mailbox.md` §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Descriptors alive at once.
    pub max_descriptors: u32,
    /// Handles open at once per pid (stdio included); the host (pid 0) too.
    pub handle_limit_per_pid: u32,
    /// Capacity of descriptors created by OPEN, BIND with capacity 0, and `pid:P`.
    pub default_capacity: u32,
    /// Capacity of the stdio descriptors.
    pub stdio_capacity: u32,
    /// Copies per tap per clock second (0 = unlimited).
    pub tap_rate_limit: u32,
}

impl Limits {
    /// The `host` profile (default).
    pub const HOST: Limits = Limits {
        max_descriptors: 256,
        handle_limit_per_pid: 64,
        default_capacity: 64,
        stdio_capacity: 256,
        tap_rate_limit: 0,
    };

    /// The `embedded` profile.
    pub const EMBEDDED: Limits = Limits {
        max_descriptors: 16,
        handle_limit_per_pid: 8,
        default_capacity: 64,
        stdio_capacity: 64,
        tap_rate_limit: 20,
    };

    /// Clamp capacities into 8..=65535 and the handle limit to 1..=65535 (a handle number
    /// is 16 bits), so no configuration can make the executive misbehave.
    pub fn sanitized(self) -> Limits {
        Limits {
            max_descriptors: self.max_descriptors.min(0xFFFF),
            handle_limit_per_pid: self.handle_limit_per_pid.clamp(1, 0xFFFF),
            default_capacity: self.default_capacity.clamp(MIN_CAPACITY, MAX_CAPACITY),
            stdio_capacity: self.stdio_capacity.clamp(MIN_CAPACITY, MAX_CAPACITY),
            tap_rate_limit: self.tap_rate_limit,
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits::HOST
    }
}

/// The three stdio streams of a task (`syscalls.md` §13).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum StdioStream {
    /// `svc:stdio.in@P`, fd 0, handle 1.
    In = 0,
    /// `svc:stdio.out@P`, fd 1, handle 2.
    Out = 1,
    /// `svc:stdio.err@P`, fd 2, handle 3.
    Err = 2,
}

impl StdioStream {
    /// All three, in creation order.
    pub const ALL: [StdioStream; 3] = [StdioStream::In, StdioStream::Out, StdioStream::Err];

    /// The descriptor name in the `svc:` namespace.
    pub fn name(self) -> &'static str {
        match self {
            StdioStream::In => "stdio.in",
            StdioStream::Out => "stdio.out",
            StdioStream::Err => "stdio.err",
        }
    }

    /// The handle number a task gets at spawn.
    pub fn handle(self) -> u16 {
        self as u16 + 1
    }

    /// Access of the spawn-time handle.
    pub fn access(self) -> u16 {
        match self {
            StdioStream::In => mode::RDONLY,
            StdioStream::Out | StdioStream::Err => mode::WRONLY,
        }
    }

    /// Flags stamped on FS/UART writes to this stream (none for stdin).
    pub fn write_flags(self) -> u16 {
        match self {
            StdioStream::In => 0,
            StdioStream::Out => flags::STDOUT,
            StdioStream::Err => flags::STDERR,
        }
    }
}
