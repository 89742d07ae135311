//! Events the executive emits for its host (the runner, the server) to drain.

use hsx_vm::Fault;

use crate::task::{Pid, TaskState};
use crate::trace::TraceEntry;

/// A task's new state as reported in `task_state`; `Terminated` is only reported for
/// kills (`executive.md` §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportedState {
    /// A live or terminal state.
    State(TaskState),
    /// Killed and reaped.
    Terminated,
}

impl ReportedState {
    /// Wire name.
    pub fn wire_name(self) -> &'static str {
        match self {
            ReportedState::State(s) => s.wire_name(),
            ReportedState::Terminated => "terminated",
        }
    }
}

/// Something the host may want to know, in the order it happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A task changed state.
    TaskState {
        /// The task.
        pid: Pid,
        /// Previous state.
        prev: TaskState,
        /// New state.
        new: ReportedState,
        /// Why (`spawn`, `brk`, `exit`, `fault`, `killed`, `paused`, `resumed`, ...).
        reason: &'static str,
    },
    /// Bytes written to a task's stdout.
    Stdout {
        /// The task.
        pid: Pid,
        /// The message.
        data: Vec<u8>,
    },
    /// Bytes written to a task's stderr.
    Stderr {
        /// The task.
        pid: Pid,
        /// The message.
        data: Vec<u8>,
    },
    /// A message the [`crate::StdioSink::Credit`] sink took from a task's stdout or
    /// stderr descriptor (that sink reports this instead of `Stdout`/`Stderr`).
    StdioMessage {
        /// The task.
        pid: Pid,
        /// `Out` or `Err`.
        stream: crate::StdioStream,
        /// The payload.
        data: Vec<u8>,
        /// Message flags.
        flags: u16,
        /// Channel.
        channel: u16,
        /// Sending pid (0 = host).
        src_pid: Pid,
    },
    /// A task stopped for the debugger: BRK (after it retired) or a breakpoint (before).
    DebugBreak {
        /// The task.
        pid: Pid,
        /// `brk` or `breakpoint`.
        reason: &'static str,
        /// Address of the BRK or of the breakpoint.
        pc: u32,
        /// BRK code.
        code: Option<u8>,
    },
    /// A task faulted.
    VmError {
        /// The task.
        pid: Pid,
        /// The fault.
        fault: Fault,
        /// Faulting pc.
        pc: u32,
    },
    /// An executive-level error in a task's context (an invariant broke); the task was
    /// faulted.
    InternalError {
        /// The task.
        pid: Pid,
        /// What broke.
        message: String,
    },
    /// EXEC SLEEP_MS started.
    SleepRequest {
        /// The task.
        pid: Pid,
        /// Requested ms.
        ms: u32,
        /// Clock deadline.
        deadline: u64,
    },
    /// A sleep ended.
    SleepComplete {
        /// The task.
        pid: Pid,
    },
    /// A scheduler trace record.
    Trace(TraceEntry),
    /// Debugger: watch updates and stops, per-instruction trace records. Boxed: a trace
    /// record carries all registers, and rare large variants would make every event
    /// (two per mailbox message) as large.
    Debug(Box<crate::debug::DebugEvent>),
    /// A mailbox event (`mailbox.md` §14): created, freed, send, recv, wait, wake,
    /// timeout, error, back-pressure, overrun, exhausted.
    Mailbox(hsx_mailbox::MailboxEvent),
    /// CAN_TX (`syscalls.md` §5).
    CanTx {
        /// The task.
        pid: Pid,
        /// 11-bit identifier.
        id: u16,
        /// Frame data (0..8 bytes).
        data: Vec<u8>,
    },
    /// An SVC was serviced (only with `Config::svc_events`).
    Svc {
        /// The task.
        pid: Pid,
        /// Module.
        module: u8,
        /// Function.
        function: u8,
        /// R0..R5 at the trap.
        args: [u32; 6],
        /// R0 after the call, or `None` if the call blocked or ended the task.
        result: Option<u32>,
    },
}
