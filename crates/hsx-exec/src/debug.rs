//! Debugger support inside the executive (`tools.md` §6): watchpoints, per-instruction
//! trace records for traced tasks, and stepping a paused task with the resume exemption.
//!
//! The step loop calls `Executive::debug_after_instruction` after every instruction of
//! a task that runs one instruction at a time (breakpoints, trace, memory watches).

use std::collections::BTreeMap;

use hsx_vm::REGISTERS;

use crate::event::Event;
use crate::executive::{ControlError, Executive, StepOutcome, Stop};
use crate::sched::Slot;
use crate::task::{Pid, TaskState};

/// Global watch identifier, from 1.
pub type WatchId = u32;

/// Largest watch length in bytes.
pub const MAX_WATCH_LEN: u32 = 64;

/// What a watch observes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WatchKind {
    /// `length` bytes of the task's data memory at guest `address`; checked after every
    /// instruction of the task and after host writes.
    Memory {
        /// Guest address.
        address: u32,
        /// 1..=64 bytes.
        length: u32,
    },
    /// One register (4 bytes, little-endian); checked after each step request or clock
    /// batch that ran the task.
    Register {
        /// 0..=15.
        reg: u8,
    },
}

/// A watchpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Watch {
    /// Global id.
    pub id: WatchId,
    /// The task.
    pub pid: Pid,
    /// What is observed.
    pub kind: WatchKind,
    /// Pause the task after an instruction that changed the value.
    pub stop: bool,
    /// The last reported bytes.
    pub last: Vec<u8>,
}

/// Debugger events, in order with the executive's other events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DebugEvent {
    /// Watched bytes differ from the last report.
    WatchUpdate {
        /// The task.
        pid: Pid,
        /// The watch.
        watch_id: WatchId,
        /// Previously reported bytes.
        old: Vec<u8>,
        /// Current bytes.
        new: Vec<u8>,
    },
    /// A stopping watch paused its task after the writing instruction (emitted after the
    /// task's `paused` state change).
    WatchBreak {
        /// The task.
        pid: Pid,
        /// The watch.
        watch_id: WatchId,
        /// Address of the instruction that wrote.
        pc: u32,
        /// The task's pc now.
        next_pc: u32,
    },
    /// One retired instruction of a traced task.
    TraceStep {
        /// The task.
        pid: Pid,
        /// Address of the instruction.
        pc: u32,
        /// The pc after it.
        next_pc: u32,
        /// Its first code word.
        opcode: u32,
        /// R0..R15 after it, read through `reg_base`.
        regs: [u32; REGISTERS],
        /// PSW after it.
        psw: u32,
        /// The task's retired-instruction count.
        steps: u64,
    },
}

/// Watch table (lives in the executive).
#[derive(Debug)]
pub struct DebugState {
    watches: BTreeMap<WatchId, Watch>,
    next_id: WatchId,
}

impl Default for DebugState {
    fn default() -> Self {
        DebugState {
            watches: BTreeMap::new(),
            next_id: 1,
        }
    }
}

impl DebugState {
    /// True when the task has memory watches, so it must run one instruction at a time.
    /// Inlined: at every turn the scheduler asks, and almost always there is no watch.
    #[inline]
    pub(crate) fn single_steps(&self, pid: Pid) -> bool {
        !self.watches.is_empty() && self.watches_memory(pid)
    }

    fn watches_memory(&self, pid: Pid) -> bool {
        self.watches
            .values()
            .any(|w| w.pid == pid && matches!(w.kind, WatchKind::Memory { .. }))
    }
}

/// Why a watch cannot be added.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WatchError {
    /// The task does not exist or is terminal.
    #[error("{0}")]
    Control(#[from] ControlError),
    /// Length outside 1..=64.
    #[error("watch length must be 1..64, got {0}")]
    Length(u32),
    /// Register outside 0..=15.
    #[error("register must be 0..15, got {0}")]
    Register(u8),
    /// The range is outside the task's window.
    #[error("memory access out of range: pid {pid} addr 0x{address:X} len {length}")]
    OutOfRange {
        /// The task.
        pid: Pid,
        /// Guest address.
        address: u32,
        /// Length.
        length: u32,
    },
}

impl Executive {
    /// Add a watch on a task; its current bytes become the last reported value.
    pub fn add_watch(
        &mut self,
        pid: Pid,
        kind: WatchKind,
        stop: bool,
    ) -> Result<Watch, WatchError> {
        self.task(pid).ok_or(ControlError::NoSuchTask(pid))?;
        match kind {
            WatchKind::Memory { length, .. } if !(1..=MAX_WATCH_LEN).contains(&length) => {
                return Err(WatchError::Length(length));
            }
            WatchKind::Register { reg } if reg as usize >= REGISTERS => {
                return Err(WatchError::Register(reg));
            }
            _ => {}
        }
        let last = self.watch_bytes(pid, kind).ok_or(match kind {
            WatchKind::Memory { address, length } => WatchError::OutOfRange {
                pid,
                address,
                length,
            },
            WatchKind::Register { reg } => WatchError::Register(reg),
        })?;
        self.purge_watches();
        let id = self.debug.next_id;
        self.debug.next_id += 1;
        let watch = Watch {
            id,
            pid,
            kind,
            stop,
            last,
        };
        self.debug.watches.insert(id, watch.clone());
        Ok(watch)
    }

    /// Remove a watch of `pid`; `None` if there is no such watch on that task.
    pub fn remove_watch(&mut self, pid: Pid, id: WatchId) -> Option<Watch> {
        match self.debug.watches.get(&id) {
            Some(w) if w.pid == pid => self.debug.watches.remove(&id),
            _ => None,
        }
    }

    /// The watches of a task, in id order.
    pub fn watches(&self, pid: Pid) -> impl Iterator<Item = &Watch> {
        self.debug.watches.values().filter(move |w| w.pid == pid)
    }

    /// Drop every watch of a task (it was reaped or reloaded).
    pub fn clear_watches(&mut self, pid: Pid) {
        self.debug.watches.retain(|_, w| w.pid != pid);
    }

    /// Drop watches whose task no longer exists (pids are never reused).
    fn purge_watches(&mut self) {
        let pids = &self.pids;
        self.debug.watches.retain(|_, w| pids.contains_key(&w.pid));
    }

    /// The bytes a watch observes now.
    pub fn watch_bytes(&self, pid: Pid, kind: WatchKind) -> Option<Vec<u8>> {
        match kind {
            WatchKind::Memory { address, length } => {
                self.read_memory(pid, address, length).map(<[u8]>::to_vec)
            }
            WatchKind::Register { reg } => self
                .registers(pid)
                .and_then(|r| r.get(reg as usize).copied())
                .map(|v| v.to_le_bytes().to_vec()),
        }
    }

    /// Compare watches with their last report and emit `WatchUpdate` for each change.
    /// `registers` selects register watches (true) or memory watches (false); `only`
    /// restricts to one task. Returns the ids of changed watches with `stop`.
    fn compare_watches(&mut self, only: Option<Pid>, registers: bool) -> Vec<(Pid, WatchId)> {
        let mut changed = Vec::new();
        let ids: Vec<WatchId> = self
            .debug
            .watches
            .values()
            .filter(|w| only.is_none_or(|p| w.pid == p))
            .filter(|w| matches!(w.kind, WatchKind::Register { .. }) == registers)
            .map(|w| w.id)
            .collect();
        for id in ids {
            let (pid, kind) = {
                let w = &self.debug.watches[&id];
                (w.pid, w.kind)
            };
            let Some(now) = self.watch_bytes(pid, kind) else {
                continue;
            };
            let w = self.debug.watches.get_mut(&id).expect("listed id");
            if w.last != now {
                let old = std::mem::replace(&mut w.last, now.clone());
                if w.stop {
                    changed.push((pid, id));
                }
                self.events
                    .push(Event::Debug(Box::new(DebugEvent::WatchUpdate {
                        pid,
                        watch_id: id,
                        old,
                        new: now,
                    })));
            }
        }
        changed
    }

    /// Check the memory watches of a task after a host write (`poke`). Host writes never
    /// pause the task.
    pub fn check_memory_watches(&mut self, pid: Pid) {
        self.compare_watches(Some(pid), false);
    }

    /// Check every register watch (after a step request or a clock batch); a changed
    /// stopping watch pauses its task. Returns the pids that were paused.
    pub fn check_register_watches(&mut self) -> Vec<Pid> {
        if self.debug.watches.is_empty() {
            return Vec::new();
        }
        let mut paused = Vec::new();
        for (pid, id) in self.compare_watches(None, true) {
            if self.watch_stop(pid, id, None) {
                paused.push(pid);
            }
        }
        paused
    }

    /// Pause `pid` for a stopping watch; true if it was paused now.
    fn watch_stop(&mut self, pid: Pid, id: WatchId, pc: Option<u32>) -> bool {
        let Some(slot) = self.slot_of(pid) else {
            return false;
        };
        let task = self.t(slot);
        if task.state.is_terminal() {
            return false;
        }
        let next_pc = task.ctx.pc;
        self.pause_slot(slot, "watch");
        self.events
            .push(Event::Debug(Box::new(DebugEvent::WatchBreak {
                pid,
                watch_id: id,
                pc: pc.unwrap_or(next_pc),
                next_pc,
            })));
        true
    }

    /// Step hook: called after each single-stepped instruction of the task in `slot`
    /// that started at `pc_before`. Emits trace records and watch updates; a changed
    /// stopping memory watch pauses the task and ends the step call.
    pub(crate) fn debug_after_instruction(&mut self, slot: Slot, pc_before: u32) -> Option<Stop> {
        let task = self.tasks.get(slot as usize)?.as_ref()?;
        if task.state.is_terminal() {
            return None;
        }
        let pid = task.pid;
        if task.trace {
            let opcode = task
                .image
                .image
                .code
                .get(pc_before as usize..pc_before as usize + 4)
                .map_or(0, |b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]));
            let (next_pc, psw, steps) = (task.ctx.pc, task.ctx.psw, task.ctx.steps);
            let regs = self.regs(slot);
            self.events
                .push(Event::Debug(Box::new(DebugEvent::TraceStep {
                    pid,
                    pc: pc_before,
                    next_pc,
                    opcode,
                    regs,
                    psw,
                    steps,
                })));
        }
        if !self.debug.single_steps(pid) {
            return None;
        }
        let (pid, id) = *self.compare_watches(Some(pid), false).first()?;
        self.watch_stop(pid, id, Some(pc_before))
            .then_some(Stop::Break { pid })
    }

    /// Step one task for up to `max` instructions like [`Executive::step_task`]; a paused
    /// task executes its first instruction without the breakpoint check (resume
    /// exemption) and stays paused.
    pub fn step_debug(&mut self, pid: Pid, max: u64) -> Option<StepOutcome> {
        let slot = self.slot_of(pid)?;
        if self.t(slot).state == TaskState::Paused && max > 0 {
            self.t_mut(slot).resume_exempt = true;
        }
        self.step_task(pid, max)
    }
}
