//! The HSX VM core: decode and execute instructions of one *context record* against
//! *VM RAM* (`executive.md` §2-§3, `isa.md`).
//!
//! * [`Program`]: code pre-decoded once at load, shared by every task running it.
//! * [`Context`]: the small fixed record a context switch selects (pc, psw, sp, depth,
//!   `reg_base`, `stack_base`, stack bounds, window size, steps).
//! * VM RAM is a `&mut [u32]` owned by the caller. A task's registers are the 16 words at
//!   `reg_base`; its guest window is the bytes at `stack_base`. [`run`] borrows both
//!   straight out of VM RAM and executes in place: nothing is copied in or out.
//! * [`run`] returns an [`Exit`]: budget used up, SVC trap, BRK, exit, fault. The core
//!   knows no system call; the executive services traps.
//! * [`run_ring`] runs several contexts in round robin (a quantum each) inside the core,
//!   so a switch costs a few stores and loads instead of a trip through the scheduler.
//!
//! `no_std`, no `unsafe`; the only allocations after [`Program`] construction are the
//! lane tables of a quantum-1 [`run_ring`], per call.
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

extern crate alloc;

mod bare;
mod context;
mod interp;
mod lanes;
mod program;
mod ring;

pub use bare::BareVm;
pub use context::{
    BANK_BYTES, Checked, Context, Exit, Layout, LayoutError, REGISTERS, RunResult, read_registers,
    register_bank, register_bank_mut, split_ram, write_register,
};
pub use hsx_isa::Fault;
pub use interp::{Supervisor, run, run_checked, step};
pub use program::Program;
pub use ring::{Member, RingRun, run_ring};
