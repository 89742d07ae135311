//! The debugger model of `tools.md` §6, independent of the executive and the wire:
//!
//! * [`symbols`]: `.sym` files (functions, variables, labels, locals, the line table) and
//!   the lookups by address, name and line;
//! * [`stack`]: the frame-pointer stack walk;
//! * [`disasm`]: disassembly of a task's **code image** with symbol annotations;
//! * [`watch`]: parsing and resolving watch expressions.
//!
//! Everything here is a pure function of its inputs (memory is read through closures),
//! so it is unit-tested without a running executive.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod disasm;
pub mod stack;
pub mod symbols;
pub mod watch;

pub use disasm::{DisasmLine, Listing, disassemble};
pub use stack::{Frame, StackBounds, StackWalk, walk};
pub use symbols::{LineEntry, Local, LocalLocation, LocalRange, SymKind, Symbol, SymbolTable};
pub use watch::{WatchExpr, WatchTarget, parse_expr, resolve};
