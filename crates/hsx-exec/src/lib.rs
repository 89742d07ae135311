//! The HSX executive (`executive.md`, `syscalls.md`): many tasks in one VM RAM, each
//! with its own register bank and guarded window; a context switch selects another
//! context record and copies nothing. Priority scheduling with per-task quanta, one
//! step = one retired instruction; a virtual or wall clock with a deadline heap; the
//! CORE, TASK, EXEC, MBX, FS, CAN and MATH system calls with per-task stdio routed
//! through mailboxes; events for the host.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod clock;
pub mod debug;
mod event;
mod executive;
mod image;
pub mod ram;
mod round_robin;
pub mod sandbox;
mod sched;
pub mod stdio;
pub mod syscall;
mod task;
mod trace;

/// The mailbox subsystem the executive uses (`mailbox.md`).
pub use hsx_mailbox as mailbox;

pub use clock::{ClockMode, Timer};
pub use event::{Event, ReportedState};
pub use executive::{
    Config, ControlError, Executive, Profile, SchedCounters, SpawnDefaults, SpawnError,
    SpawnOptions, StepOutcome, Stop,
};
pub use image::LoadedImage;
pub use sched::Slot;
pub use stdio::{MailboxWait, StdioSink, StdioStream};
pub use syscall::can::CanBus;
pub use task::{Counters, Pid, SchedParams, Task, TaskState, Termination, Wait, WaitKind};
pub use trace::{TraceEntry, TraceEvent, TraceRing};
