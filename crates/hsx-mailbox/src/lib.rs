//! The HSX mailbox subsystem (`mailbox.md`), as a VM-independent data structure.
//!
//! [`Mailboxes`] owns every descriptor (an executive-owned queue with a delivery
//! policy), every pid's handle table, the registry of blocked receivers and the events
//! all of this produces. The executive translates MBX system calls into calls here,
//! passing guest bytes it has already read and the current clock; blocked RECVs come
//! back as [`Completion`]s (in wake order) that the executive writes into the waiting
//! task. Nothing here knows about registers or VM memory, so every rule of the
//! specification can be tested directly.
//!
//! * Names and resolution: [`parse_target`], [`Key`] (§4).
//! * Default channels and `.mailbox` declarations: [`Mailboxes::add_task`] (§5).
//! * Operations: [`Mailboxes::open`], [`bind`](Mailboxes::bind),
//!   [`send`](Mailboxes::send), [`recv`](Mailboxes::recv), [`peek`](Mailboxes::peek),
//!   [`tap`](Mailboxes::tap), [`close`](Mailboxes::close) (§9).
//! * Cleanup: [`Mailboxes::task_terminated`], [`Mailboxes::task_reaped`] (§13).
//! * The stdio sink: [`Mailboxes::sink_drain`] (`syscalls.md` §13).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod event;
mod mailboxes;
mod names;
mod slab;
mod snapshot;
mod types;

#[cfg(test)]
mod tests;

/// Task identifier; 0 is the host.
pub type Pid = u32;

pub use event::{Exhaustion, MailboxEvent, OverrunReason, Policy, Source, TapRef};
pub use mailboxes::{
    Actor, AddTaskError, BindSpec, Completion, Mailboxes, Message, PeekInfo, Received, RecvOutcome,
    RecvWait, Sent, StdioUpdate, WaitOutcome,
};
pub use names::{Key, MAX_NAME_BYTES, NameError, Namespace, parse_target};
pub use snapshot::{DescriptorView, HandleView, Snapshot, Stats, WaiterView};
pub use types::{
    Function, Limits, MAX_CAPACITY, MESSAGE_OVERHEAD, MIN_CAPACITY, Status, StdioStream,
    TIMEOUT_INFINITE, TIMEOUT_POLL, flags, mode,
};
