//! Tasks: the record the executive keeps per task (`executive.md` §2-§4, §6).

use std::sync::Arc;

use hsx_vm::{Checked, Context, Fault};

use crate::image::LoadedImage;
use crate::ram::Arena;

/// Task identifier. PIDs start at 1, grow monotonically and are never reused; 0 is the
/// host (`syscalls.md` §9).
pub type Pid = u32;

/// What a WAITING task waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WaitKind {
    /// MBX RECV (or FS READ of stdin) found nothing.
    Mailbox,
    /// EXEC SLEEP_MS.
    Timer,
    /// EXEC WAIT on a live task.
    Task,
    /// Synchronous CMD CALL.
    Command,
}

impl WaitKind {
    /// `task_state` reason when a task blocks (`protocol.md` §8.2).
    pub fn block_reason(self) -> &'static str {
        match self {
            WaitKind::Mailbox => "mailbox_wait",
            WaitKind::Timer => "sleep",
            WaitKind::Task => "task_wait",
            WaitKind::Command => "cmd_wait",
        }
    }

    /// `task_state` reason when the wait completes (not by timeout).
    pub fn wake_reason(self) -> &'static str {
        match self {
            WaitKind::Mailbox => "mailbox_wake",
            WaitKind::Timer => "sleep_wake",
            WaitKind::Task => "task_wake",
            WaitKind::Command => "cmd_wake",
        }
    }
}

/// Task states with their wire names (`executive.md` §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TaskState {
    /// Runnable, queued.
    Ready,
    /// Runnable, executing now.
    Running,
    /// Blocked.
    Waiting(WaitKind),
    /// Stopped by BRK, breakpoint, watch or operator pause.
    Paused,
    /// Terminal: TASK EXIT or RET at depth 0.
    Exited,
    /// Terminal: fault.
    Faulted,
}

impl TaskState {
    /// The wire name (`protocol.md` §5).
    pub fn wire_name(self) -> &'static str {
        match self {
            TaskState::Ready => "ready",
            TaskState::Running => "running",
            TaskState::Waiting(WaitKind::Mailbox) => "waiting_mbx",
            TaskState::Waiting(WaitKind::Timer) => "sleeping",
            TaskState::Waiting(WaitKind::Task) => "waiting_task",
            TaskState::Waiting(WaitKind::Command) => "waiting_cmd",
            TaskState::Paused => "paused",
            TaskState::Exited => "returned",
            TaskState::Faulted => "faulted",
        }
    }

    /// EXITED or FAULTED.
    pub fn is_terminal(self) -> bool {
        matches!(self, TaskState::Exited | TaskState::Faulted)
    }

    /// READY or RUNNING.
    pub fn is_runnable(self) -> bool {
        matches!(self, TaskState::Ready | TaskState::Running)
    }
}

/// A pending blocking call, registered until it completes (`syscalls.md` §1.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wait {
    /// What is awaited.
    pub kind: WaitKind,
    /// Clock deadline in ms, if the wait can time out.
    pub deadline: Option<u64>,
    /// Token matching the timer-heap entry, so stale entries are ignored.
    pub token: u64,
    /// EXEC WAIT: the awaited pid.
    pub target: Option<Pid>,
    /// MBX RECV, FS READ of stdin: where the message goes.
    pub(crate) recv: Option<crate::stdio::PendingRecv>,
}

/// Per-task counters, always on (`executive.md` §6).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    /// Times the task was switched in.
    pub switches_in: u64,
    /// Times it blocked.
    pub blocks: u64,
    /// Times it was woken.
    pub wakes: u64,
    /// Waits that ended by timeout.
    pub timeouts: u64,
    /// Mailbox steps (MBX calls).
    pub mailbox_steps: u64,
    /// Mailbox wakes.
    pub mailbox_wakes: u64,
    /// Mailbox timeouts.
    pub mailbox_timeouts: u64,
}

/// How a terminated task ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Termination {
    /// EXIT / RET at depth 0 with this status.
    Exited(u32),
    /// A fault at this pc.
    Faulted {
        /// Which fault.
        fault: Fault,
        /// Faulting pc.
        pc: u32,
    },
}

/// Per-task scheduling settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SchedParams {
    /// 0 (highest) .. 255 (lowest).
    pub priority: u8,
    /// Consecutive steps per turn (>= 1).
    pub quantum: u32,
}

impl Default for SchedParams {
    fn default() -> Self {
        SchedParams {
            priority: 10,
            quantum: 1,
        }
    }
}

/// One task.
#[derive(Debug)]
pub struct Task {
    /// Its pid.
    pub pid: Pid,
    /// Instance name (`hxe.md` §7.2).
    pub name: String,
    /// Where the image came from (path, or a description).
    pub program: String,
    /// The shared image and its decoded code.
    pub image: Arc<LoadedImage>,
    /// The context record: a switch selects this record, nothing is copied.
    pub ctx: Context,
    /// The record's layout, checked against VM RAM when the task was laid out (it never
    /// changes afterwards): entering the VM only borrows the bank and the window.
    pub(crate) checked: Checked,
    /// The task's pid with the place of its handle table in the mailbox table.
    pub(crate) mbx: hsx_mailbox::Actor,
    /// Current state.
    pub state: TaskState,
    /// Priority and quantum.
    pub sched: SchedParams,
    /// Steps left in the current turn.
    pub turn_left: u32,
    /// Pending blocking call.
    pub wait: Option<Wait>,
    /// Exit status or fault, once terminal.
    pub termination: Option<Termination>,
    /// Parent pid (0 = host).
    pub parent: Pid,
    /// The register bank arena.
    pub bank: Arena,
    /// The window arena.
    pub window: Arena,
    /// Counters.
    pub counters: Counters,
    /// Breakpoint addresses (checked before fetch).
    pub breakpoints: std::collections::BTreeSet<u32>,
    /// The next instruction skips the breakpoint check (resume exemption, `tools.md` §6).
    pub resume_exempt: bool,
    /// Record per-instruction `step` entries in the scheduler trace.
    pub trace: bool,
}

impl Task {
    /// The exit status if EXITED.
    pub fn exit_status(&self) -> Option<u32> {
        match self.termination {
            Some(Termination::Exited(s)) => Some(s),
            _ => None,
        }
    }

    /// The fault if FAULTED.
    pub fn fault(&self) -> Option<(Fault, u32)> {
        match self.termination {
            Some(Termination::Faulted { fault, pc }) => Some((fault, pc)),
            _ => None,
        }
    }

    /// True when the task must run one instruction at a time (breakpoints, tracing).
    pub fn needs_single_step(&self) -> bool {
        !self.breakpoints.is_empty() || self.trace
    }
}
