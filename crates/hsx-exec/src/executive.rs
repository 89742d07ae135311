//! The executive: tasks in one VM RAM, the scheduler loop, waits and termination
//! (`executive.md`).

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;

use hsx_image::Image;
use hsx_vm::{Checked, Context, Exit, Fault, Layout, REGISTERS, read_registers, write_register};

use crate::clock::{Clock, ClockMode, Timer, Timers};
use crate::event::{Event, ReportedState};
use crate::image::{ImageCache, LoadedImage};
use crate::ram::{Exhausted, VmRam};
use crate::sched::{ReadyQueues, Slot};
use crate::stdio::PendingRecv;
use crate::syscall::mbx::{Others, SendInRun};
use crate::task::{Counters, Pid, SchedParams, Task, TaskState, Termination, Wait, WaitKind};
use crate::trace::{DEFAULT_CAPACITY, TraceEvent, TraceRing};

/// Instructions a task alone at its priority level runs per VM call (~0.1-0.3 ms).
const SLICE: u64 = 1 << 16;

/// Memory and limit profile (`executive.md` §1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// 64 MiB VM RAM by default, 64 KiB windows, 4 KiB stacks.
    Host,
    /// 64 KiB VM RAM, windows sized to fit, 1 KiB stacks.
    Embedded,
}

impl Profile {
    /// Default VM RAM size.
    pub fn default_ram(self) -> u32 {
        match self {
            Profile::Host => 64 << 20,
            Profile::Embedded => 64 << 10,
        }
    }

    /// Mailbox limits of the profile (`mailbox.md` §2).
    pub fn mailbox_limits(self) -> hsx_mailbox::Limits {
        match self {
            Profile::Host => hsx_mailbox::Limits::HOST,
            Profile::Embedded => hsx_mailbox::Limits::EMBEDDED,
        }
    }

    /// Default stack size.
    pub fn default_stack(self) -> u32 {
        match self {
            Profile::Host => 4096,
            Profile::Embedded => 1024,
        }
    }
}

/// Executive configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Profile.
    pub profile: Profile,
    /// VM RAM size (default: the profile's).
    pub ram_bytes: Option<u32>,
    /// Clock kind.
    pub clock: ClockMode,
    /// Scheduler trace ring size.
    pub trace_capacity: usize,
    /// Host directory for FS calls and EXEC SPAWN (none: SPAWN returns ENOENT).
    pub fs_root: Option<PathBuf>,
    /// Defaults for spawned tasks.
    pub defaults: SpawnDefaults,
    /// Emit a [`Event::Trace`] for every trace record (for `--sched-trace`).
    pub trace_events: bool,
    /// Emit a [`Event::Svc`] for every system call (for `--svc-trace`).
    pub svc_events: bool,
    /// Mailbox limits (`mailbox.md` §2); `None`: the profile's.
    pub mailbox_limits: Option<hsx_mailbox::Limits>,
    /// What happens to task stdout/stderr (`syscalls.md` §13).
    pub stdio_sink: crate::stdio::StdioSink,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            profile: Profile::Host,
            ram_bytes: None,
            clock: ClockMode::Virtual,
            trace_capacity: DEFAULT_CAPACITY,
            fs_root: None,
            defaults: SpawnDefaults::default(),
            trace_events: false,
            svc_events: false,
            mailbox_limits: None,
            stdio_sink: crate::stdio::StdioSink::default(),
        }
    }
}

/// Defaults applied to every spawn unless the spawn overrides them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SpawnDefaults {
    /// Priority and quantum.
    pub sched: SchedParams,
    /// Stack size (None: the profile's).
    pub stack_size: Option<u32>,
    /// Window size (None: 64 KiB on host, sized to fit on embedded).
    pub window_size: Option<u32>,
}

/// Per-spawn settings.
#[derive(Debug, Clone, Default)]
pub struct SpawnOptions {
    /// Where the image came from (for `ps`, naming and diagnostics).
    pub program: String,
    /// Priority override.
    pub priority: Option<u8>,
    /// Quantum override.
    pub quantum: Option<u32>,
    /// Stack size override.
    pub stack_size: Option<u32>,
    /// Window size override.
    pub window_size: Option<u32>,
    /// Parent pid (0 = host).
    pub parent: Pid,
}

/// Why a spawn failed. The display text is what users see.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpawnError {
    /// The image bytes were rejected by the loader.
    #[error("{0}")]
    Load(#[from] hsx_image::LoadError),
    /// The image does not fit the requested window.
    #[error(
        "Image does not fit the task memory window: rodata+bss end at 0x{need:X}, stack_limit is 0x{limit:X}"
    )]
    DoesNotFit {
        /// 0x4000 + ro_len + bss_size.
        need: u64,
        /// The stack limit of the window.
        limit: u32,
    },
    /// Window or stack settings out of range.
    #[error("invalid task layout: {0}")]
    BadLayout(String),
    /// VM RAM cannot hold the arenas.
    #[error("spawn failed: {0}")]
    Ram(#[from] Exhausted),
    /// A single-instance image is already loaded.
    #[error("app_exists:{name}")]
    AppExists {
        /// The instance name in use.
        name: String,
        /// The pid using it.
        pid: Pid,
    },
    /// The PID space is exhausted.
    #[error("no task slot left")]
    NoPid,
    /// The mailbox pool cannot hold the task's channels or `.mailbox` declarations.
    #[error("spawn failed: {0}")]
    Mailbox(String),
}

/// Why [`Executive::step`] returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// The requested number of instructions retired.
    Budget,
    /// A task paused at a BRK or a breakpoint.
    Break {
        /// The task.
        pid: Pid,
    },
    /// Nothing can run. `next_deadline` is the earliest pending timer (wall clock: sleep
    /// until then; virtual clock: only when no deadline is pending).
    Idle {
        /// Earliest deadline in clock ms.
        next_deadline: Option<u64>,
    },
    /// Every task is terminal (or there are none).
    AllTerminal,
    /// [`Executive::step_task`]: the task ended (it may already have been reaped).
    Ended {
        /// The task.
        pid: Pid,
    },
}

/// Result of [`Executive::step`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StepOutcome {
    /// Instructions retired.
    pub executed: u64,
    /// Why stepping stopped.
    pub stop: Stop,
}

/// Scheduler-wide counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SchedCounters {
    /// Context switches (a different task was selected).
    pub switches: u64,
    /// Instructions retired by all tasks.
    pub steps: u64,
    /// Tasks spawned.
    pub spawned: u64,
    /// Tasks reaped.
    pub reaped: u64,
    /// Times a ready level was run in round robin inside the VM core (diagnostic: the
    /// result is the same as running it turn by turn).
    pub core_runs: u64,
    /// System calls serviced inside a VM run without leaving it (diagnostic: the result
    /// is the same as trapping them).
    pub calls_in_run: u64,
}

/// The executive.
pub struct Executive {
    pub(crate) config: Config,
    pub(crate) ram: VmRam,
    pub(crate) tasks: Vec<Option<Task>>,
    free_slots: Vec<Slot>,
    pub(crate) pids: BTreeMap<Pid, Slot>,
    /// Instance names in the table (`hxe.md` §7.2 counts terminal tasks until reaped).
    names: HashMap<String, Pid>,
    /// Per base name: every `base_#N` with N below the hint is taken, so instance naming
    /// starts its search for the first free suffix there.
    name_hints: HashMap<String, u32>,
    /// Tasks blocked in EXEC WAIT, by awaited pid (entries are checked when used).
    task_waiters: HashMap<Pid, Vec<Slot>>,
    next_pid: Pid,
    pub(crate) ready: ReadyQueues,
    current: Option<Slot>,
    pub(crate) clock: Clock,
    pub(crate) timers: Timers,
    next_token: u64,
    images: ImageCache,
    pub(crate) trace: TraceRing,
    /// Pending events, oldest first (only ever appended to and drained whole).
    pub(crate) events: Vec<Event>,
    pub(crate) counters: SchedCounters,
    pub(crate) debug: crate::debug::DebugState,
    /// Mailboxes, stdio, files, CAN.
    pub(crate) io: crate::stdio::Io,
    /// Buffers of the round-robin runs inside the VM core.
    pub(crate) ring: crate::round_robin::RingScratch,
}

impl Executive {
    /// A new executive with an empty task table.
    pub fn new(config: Config) -> Executive {
        let ram = VmRam::new(config.ram_bytes.unwrap_or(config.profile.default_ram()));
        Executive {
            ram,
            tasks: Vec::new(),
            free_slots: Vec::new(),
            pids: BTreeMap::new(),
            names: HashMap::new(),
            name_hints: HashMap::new(),
            task_waiters: HashMap::new(),
            next_pid: 1,
            ready: ReadyQueues::default(),
            current: None,
            clock: Clock::new(config.clock),
            timers: Timers::default(),
            next_token: 1,
            images: ImageCache::default(),
            trace: TraceRing::new(config.trace_capacity),
            events: Vec::new(),
            counters: SchedCounters::default(),
            debug: crate::debug::DebugState::default(),
            io: crate::stdio::Io::new(
                config
                    .mailbox_limits
                    .unwrap_or(config.profile.mailbox_limits()),
                config.stdio_sink,
            ),
            ring: Default::default(),
            config,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    // ---------------------------------------------------------------- loading

    /// Parse image bytes and intern them (instances share the decoded code).
    pub fn load_image(&mut self, bytes: &[u8]) -> Result<Arc<LoadedImage>, hsx_image::LoadError> {
        Ok(self.images.intern(Image::parse(bytes)?))
    }

    /// Parse, intern and spawn an image.
    pub fn spawn_bytes(&mut self, bytes: &[u8], opts: SpawnOptions) -> Result<Pid, SpawnError> {
        let image = self.load_image(bytes)?;
        self.spawn(image, opts)
    }

    /// Spawn a READY task from a loaded image (`hxe.md` §4.2, `executive.md` §2).
    pub fn spawn(
        &mut self,
        image: Arc<LoadedImage>,
        opts: SpawnOptions,
    ) -> Result<Pid, SpawnError> {
        let (name, suffix) = self.instance_name(&image, &opts)?;
        let profile = self.config.profile;
        let defaults = self.config.defaults;
        let stack_size = opts
            .stack_size
            .or(defaults.stack_size)
            .unwrap_or(profile.default_stack());
        let data_end = 0x4000u64 + image.image.rodata.len() as u64 + image.image.bss_size as u64;
        let window_size = match (opts.window_size.or(defaults.window_size), profile) {
            (Some(w), _) => w,
            (None, Profile::Host) => 0x1_0000,
            (None, Profile::Embedded) => {
                let need = data_end + stack_size as u64;
                (need.div_ceil(1024) * 1024).min(0x1_0000) as u32
            }
        };
        if window_size == 0 || window_size > 0x1_0000 || !window_size.is_multiple_of(4) {
            return Err(SpawnError::BadLayout(format!(
                "window size {window_size} must be a multiple of 4 in 4..=65536"
            )));
        }
        if stack_size == 0 || !stack_size.is_multiple_of(4) || stack_size >= window_size {
            return Err(SpawnError::BadLayout(format!(
                "stack size {stack_size} must be a non-zero multiple of 4 below the window size {window_size}"
            )));
        }
        let stack_top = window_size;
        let stack_limit = window_size - stack_size;
        if data_end > stack_limit as u64 {
            return Err(SpawnError::DoesNotFit {
                need: data_end,
                limit: stack_limit,
            });
        }
        if self.next_pid == Pid::MAX {
            return Err(SpawnError::NoPid);
        }
        // The window first: if it does not fit, the error reports the RAM as it is.
        // Banks pack at the top of VM RAM (`VmRam::alloc_high`).
        let window = self.ram.alloc(window_size)?;
        let bank = match self.ram.alloc_high(hsx_vm::BANK_BYTES) {
            Ok(b) => b,
            Err(e) => {
                self.ram.free(window);
                return Err(e.into());
            }
        };
        if let Some(dst) = self
            .ram
            .bytes_mut(window.offset + 0x4000, image.image.rodata.len() as u32)
        {
            dst.copy_from_slice(&image.image.rodata);
        }
        let ctx = Context::new(
            image.image.entry,
            Layout {
                reg_base: bank.offset,
                window_base: window.offset,
                window_size,
                stack_top,
                stack_limit,
            },
        );
        debug_assert_eq!(ctx.validate(self.ram.size() as usize), Ok(()));
        let pid = self.next_pid;
        if let Err(e) = self.io_spawn(pid, &image) {
            self.ram.free(bank);
            self.ram.free(window);
            return Err(SpawnError::Mailbox(e));
        }
        self.next_pid += 1;
        let sched = SchedParams {
            priority: opts.priority.unwrap_or(defaults.sched.priority),
            quantum: opts.quantum.unwrap_or(defaults.sched.quantum).max(1),
        };
        let task = Task {
            pid,
            name: name.clone(),
            program: opts.program,
            image,
            checked: Checked::new(&ctx, self.ram.words()),
            mbx: self.io.mbx.actor(pid),
            ctx,
            state: TaskState::Ready,
            sched,
            turn_left: 0,
            wait: None,
            termination: None,
            parent: opts.parent,
            bank,
            window,
            counters: Counters::default(),
            breakpoints: Default::default(),
            resume_exempt: false,
            trace: false,
        };
        self.names.insert(name.clone(), pid);
        if let Some((base, n)) = suffix {
            // Every suffix below n was taken (the search started at the old hint).
            self.name_hints.insert(base, n + 1);
        }
        let slot = match self.free_slots.pop() {
            Some(s) => {
                self.tasks[s as usize] = Some(task);
                s
            }
            None => {
                self.tasks.push(Some(task));
                (self.tasks.len() - 1) as Slot
            }
        };
        self.pids.insert(pid, slot);
        self.ready.push_back(sched.priority, slot);
        self.counters.spawned += 1;
        self.record(slot, TraceEvent::Spawn);
        self.events.push(Event::TaskState {
            pid,
            prev: TaskState::Ready,
            new: ReportedState::State(TaskState::Ready),
            reason: "spawn",
        });
        Ok(pid)
    }

    /// Instance naming (`hxe.md` §7.2).
    fn instance_name(
        &self,
        image: &LoadedImage,
        opts: &SpawnOptions,
    ) -> Result<(String, Option<(String, u32)>), SpawnError> {
        let cut = |s: &str| -> String {
            s.trim()
                .chars()
                .take(31)
                .collect::<String>()
                .trim()
                .to_string()
        };
        let stem = std::path::Path::new(&opts.program)
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut base = match &image.image.app_name {
            Some(n) => cut(n),
            None => cut(&stem),
        };
        if base.is_empty() {
            base = cut(&format!("task_{}", self.next_pid));
        }
        if base.is_empty() {
            base = "app".into();
        }
        let taken = |n: &str| self.names.get(n).copied();
        let Some(pid) = taken(&base) else {
            return Ok((base, None));
        };
        if !image.image.allow_multiple() {
            return Err(SpawnError::AppExists { name: base, pid });
        }
        // Every suffix below the hint is taken (see `name_hints`), so the search for the
        // first free one starts there: naming stays O(1) amortised with many instances.
        let start = self.name_hints.get(&base).copied().unwrap_or(0);
        for n in start.. {
            let candidate = suffixed_name(&base, n);
            if taken(&candidate).is_none() {
                return Ok((candidate, Some((base, n))));
            }
        }
        unreachable!("u32 range of instance suffixes exhausted")
    }

    /// After `name` was freed: if it is some base's `base_#n`, that base's first free
    /// suffix is at most n.
    fn note_name_freed(&mut self, name: &str) {
        if let Some(n) = split_suffix(name) {
            for (base, hint) in self.name_hints.iter_mut() {
                if n < *hint && suffixed_name(base, n) == name {
                    *hint = n;
                }
            }
        }
    }

    // ---------------------------------------------------------------- queries

    /// All tasks in the table (live and terminal), in pid order.
    pub fn tasks(&self) -> impl Iterator<Item = &Task> {
        self.pids
            .values()
            .filter_map(|&s| self.tasks[s as usize].as_ref())
    }

    /// A task by pid.
    pub fn task(&self, pid: Pid) -> Option<&Task> {
        let slot = *self.pids.get(&pid)?;
        self.tasks[slot as usize].as_ref()
    }

    pub(crate) fn slot_of(&self, pid: Pid) -> Option<Slot> {
        self.pids.get(&pid).copied()
    }

    pub(crate) fn t(&self, slot: Slot) -> &Task {
        self.tasks[slot as usize].as_ref().expect("live slot")
    }

    pub(crate) fn t_mut(&mut self, slot: Slot) -> &mut Task {
        self.tasks[slot as usize].as_mut().expect("live slot")
    }

    /// R0..R15 of a task, read from VM RAM through its `reg_base`.
    pub fn registers(&self, pid: Pid) -> Option<[u32; REGISTERS]> {
        let task = self.task(pid)?;
        read_registers(&task.ctx, self.ram.words()).ok()
    }

    /// Write one register of a task in VM RAM (debugger).
    pub fn set_register(&mut self, pid: Pid, index: usize, value: u32) -> bool {
        let Some(slot) = self.slot_of(pid) else {
            return false;
        };
        let ctx = self.t(slot).ctx;
        write_register(&ctx, self.ram.words_mut(), index, value).is_ok()
    }

    /// A task's guest window bytes `[addr, addr+len)`, if inside the window.
    pub fn read_memory(&self, pid: Pid, addr: u32, len: u32) -> Option<&[u8]> {
        let task = self.task(pid)?;
        let end = addr.checked_add(len)?;
        if end > task.ctx.window_size {
            return None;
        }
        self.ram.bytes(task.ctx.stack_base + addr, len)
    }

    /// Write into a task's window; false if out of bounds.
    pub fn write_memory(&mut self, pid: Pid, addr: u32, data: &[u8]) -> bool {
        let Some(task) = self.task(pid) else {
            return false;
        };
        let (base, size) = (task.ctx.stack_base, task.ctx.window_size);
        let Some(end) = addr.checked_add(data.len() as u32) else {
            return false;
        };
        if end > size {
            return false;
        }
        match self.ram.bytes_mut(base + addr, data.len() as u32) {
            Some(dst) => {
                dst.copy_from_slice(data);
                true
            }
            None => false,
        }
    }

    /// The whole VM RAM as words, read-only: what a tool sees when it reads a register
    /// bank or window through the bases in a task's context record.
    pub fn ram_words(&self) -> &[u32] {
        self.ram.words()
    }

    /// Bytes of VM RAM in use by arenas.
    pub fn ram_used(&self) -> u64 {
        self.ram.used()
    }

    /// VM RAM size.
    pub fn ram_size(&self) -> u32 {
        self.ram.size()
    }

    /// Current clock time in ms.
    pub fn now_ms(&self) -> u64 {
        self.clock.now_ms()
    }

    /// Advance a virtual clock by `ms` (protocol `clock advance`); due timers fire on the
    /// next step.
    pub fn advance_clock(&mut self, ms: u64) {
        let to = self.clock.now_ms().saturating_add(ms);
        self.clock.advance_to(to);
        self.expire_timers();
    }

    /// Scheduler-wide counters.
    pub fn counters(&self) -> SchedCounters {
        self.counters
    }

    /// The scheduler trace ring.
    pub fn trace(&self) -> &TraceRing {
        &self.trace
    }

    /// Take the pending events, oldest first.
    pub fn drain_events(&mut self) -> impl Iterator<Item = Event> + '_ {
        self.events.drain(..)
    }

    /// True if any task is READY or RUNNING.
    pub fn has_runnable(&self) -> bool {
        !self.ready.is_empty()
    }

    /// True if every task in the table is terminal.
    pub fn all_terminal(&self) -> bool {
        self.tasks().all(|t| t.state.is_terminal())
    }

    /// Earliest pending deadline of a live wait.
    pub fn next_deadline(&mut self) -> Option<u64> {
        self.drop_stale_timers();
        self.timers.next_deadline()
    }

    // ---------------------------------------------------------------- stepping

    /// Retire up to `max` instructions across the runnable tasks, following the
    /// scheduling contract (`executive.md` §5). Returns early when a task stops at a BRK
    /// or breakpoint, or when nothing can run.
    pub fn step(&mut self, max: u64) -> StepOutcome {
        self.step_inner(max, None)
    }

    /// Retire up to `max` instructions of one task only (`clock step N -p PID`); other
    /// tasks do not run. A PAUSED task is stepped without being resumed.
    pub fn step_task(&mut self, pid: Pid, max: u64) -> Option<StepOutcome> {
        let slot = self.slot_of(pid)?;
        Some(self.step_inner(max, Some((slot, pid))))
    }

    /// `only`: step just this task, named by slot *and* pid, because a task that ends
    /// can be reaped (by a WAIT) and its slot reused (by a SPAWN) within one call.
    fn step_inner(&mut self, max: u64, only: Option<(Slot, Pid)>) -> StepOutcome {
        let mut executed = 0u64;
        let mut after_rotation = false;
        'steps: while executed < max {
            self.expire_timers();
            let (level, slot) = match only {
                Some((slot, pid)) => {
                    let Some(t) = self.tasks[slot as usize].as_ref().filter(|t| t.pid == pid)
                    else {
                        return self.outcome(executed, Stop::Ended { pid });
                    };
                    if t.state.is_terminal() {
                        return self.outcome(executed, Stop::Ended { pid });
                    }
                    if !(t.state.is_runnable() || t.state == TaskState::Paused) {
                        {
                            let stop = self.idle_stop();
                            return self.outcome(executed, stop);
                        }
                    }
                    (t.sched.priority, slot)
                }
                None => match self.ready.head() {
                    Some(head) => head,
                    None => {
                        if self.clock.mode() == ClockMode::Virtual
                            && let Some(deadline) = self.next_deadline()
                        {
                            self.clock.advance_to(deadline);
                            continue;
                        }
                        {
                            let stop = self.idle_stop();
                            return self.outcome(executed, stop);
                        }
                    }
                },
            };
            if self.current != Some(slot) {
                self.switch_to(slot);
            }
            let task = self.tasks[slot as usize].as_mut().expect("live slot");
            // A task alone at its level would rotate to itself at every quantum end,
            // so it runs a whole slice per VM call; the slice bounds how late a due
            // wall-clock timer is noticed.
            let alone = only.is_some() || self.ready.level_len(level) == 1;
            let mut budget = if alone {
                (max - executed).min(SLICE)
            } else {
                (task.turn_left as u64).min(max - executed)
            };
            let single = task.needs_single_step() || self.debug.single_steps(task.pid);
            if single {
                budget = 1;
                if !task.resume_exempt && task.breakpoints.contains(&task.ctx.pc) {
                    let (pid, pc) = (task.pid, task.ctx.pc);
                    self.pause_slot(slot, "debug_break");
                    self.events.push(Event::DebugBreak {
                        pid,
                        reason: "breakpoint",
                        pc,
                        code: None,
                    });
                    return self.outcome(executed, Stop::Break { pid });
                }
            }
            task.resume_exempt = false;
            let pc_before = task.ctx.pc;
            // The previous turn used its whole quantum, several tasks share the level
            // and the budget is large: the VM core runs the level's turns itself (same
            // interleaving, see `round_robin.rs`). Turns that end in traps (a task that
            // soon blocks in RECV) stay on this path, which costs less for one turn.
            let (slot, exit) = 'turn: {
                if after_rotation && only.is_none() && !alone && !single {
                    let wall_timers =
                        self.clock.mode() == ClockMode::Wall && !self.timers.is_empty();
                    let budget = if wall_timers {
                        (max - executed).min(SLICE)
                    } else {
                        max - executed
                    };
                    if let Some(run) = self.run_level_in_core(level, slot, budget) {
                        executed += run.retired;
                        match run.current {
                            Some(current) => break 'turn (current, run.exit),
                            // The budget ran out exactly at a rotation.
                            None => continue 'steps,
                        }
                    }
                }
                // One turn of the task; SENDs are serviced without leaving the VM. The
                // supervisor looks only at the waits each SEND completes: none is pending
                // when a run starts.
                debug_assert!(!self.io.mbx.has_completions());
                let (before, rest) = self.tasks.split_at_mut(slot as usize);
                let (task, after) = rest.split_first_mut().expect("live slot");
                let task = task.as_mut().expect("live slot");
                let mut supervisor = SendInRun {
                    on: !single && !self.config.svc_events,
                    actor: task.mbx,
                    level,
                    turn_left: task.turn_left,
                    budget,
                    mbx: &mut self.io.mbx,
                    clock: &self.clock,
                    others: Others {
                        before,
                        slot,
                        after,
                    },
                    serviced: 0,
                    sink: None,
                };
                let result = hsx_vm::run_checked(
                    &mut task.ctx,
                    &task.checked,
                    self.ram.words_mut(),
                    &task.image.program,
                    budget,
                    &mut supervisor,
                );
                let (serviced, sink) = (supervisor.serviced, supervisor.sink);
                let retired = result.retired;
                task.turn_left = task.turn_left.saturating_sub(retired as u32);
                task.counters.mailbox_steps += serviced;
                self.counters.calls_in_run += serviced;
                let tracing = task.trace;
                executed += retired;
                self.counters.steps += retired;
                if tracing && retired > 0 {
                    self.record_at(slot, TraceEvent::Step, pc_before);
                }
                if serviced > 0 {
                    self.mbx_settle();
                    if let Some(descriptor) = sink {
                        self.sink_drain(descriptor);
                        self.mbx_settle();
                    }
                }
                (slot, result.exit)
            };
            match exit {
                Exit::Budget => {}
                Exit::Trap { module, function } => self.dispatch_syscall(slot, module, function),
                exit => {
                    if let Some(pid) = self.end_of_run(slot, exit) {
                        return self.outcome(executed, Stop::Break { pid });
                    }
                }
            }
            if single && let Some(stop) = self.debug_after_instruction(slot, pc_before) {
                return self.outcome(executed, stop);
            }
            // End of turn: rotate within the level if the quantum is used up.
            after_rotation = false;
            if let Some(task) = self.tasks[slot as usize].as_mut()
                && task.state == TaskState::Running
                && task.turn_left == 0
            {
                if only.is_some() || self.ready.level_len(level) <= 1 {
                    task.turn_left = task.sched.quantum;
                } else {
                    task.state = TaskState::Ready;
                    self.ready.rotate(level);
                    self.current = None;
                    self.record(slot, TraceEvent::Rotate);
                    after_rotation = true;
                }
            }
        }
        self.outcome(executed, Stop::Budget)
    }

    /// A run that ended in a BRK, the task's exit or a fault: out of line, like the
    /// round-robin run. `Some(pid)`: the task paused at a BRK.
    #[inline(never)]
    fn end_of_run(&mut self, slot: Slot, exit: Exit) -> Option<Pid> {
        match exit {
            Exit::Budget | Exit::Trap { .. } => {}
            Exit::Break { code, pc } => {
                let pid = self.t(slot).pid;
                self.events.push(Event::DebugBreak {
                    pid,
                    reason: "brk",
                    pc,
                    code: Some(code),
                });
                self.pause_slot(slot, "brk");
                return Some(pid);
            }
            Exit::Exit { status } => self.terminate(slot, Termination::Exited(status)),
            Exit::Fault { fault, pc } => {
                let pid = self.t(slot).pid;
                self.events.push(Event::VmError { pid, fault, pc });
                self.terminate(slot, Termination::Faulted { fault, pc });
            }
            Exit::Layout(e) => {
                let task = self.t_mut(slot);
                let (pid, pc) = (task.pid, task.ctx.pc);
                self.events.push(Event::InternalError {
                    pid,
                    message: format!("context of pid {pid} is invalid: {e}"),
                });
                self.terminate(
                    slot,
                    Termination::Faulted {
                        fault: Fault::MemFault,
                        pc,
                    },
                );
            }
        }
        None
    }

    fn outcome(&self, executed: u64, stop: Stop) -> StepOutcome {
        StepOutcome { executed, stop }
    }

    fn idle_stop(&mut self) -> Stop {
        if self.all_terminal() {
            Stop::AllTerminal
        } else {
            Stop::Idle {
                next_deadline: self.next_deadline(),
            }
        }
    }

    /// Select `slot` as the running task. Writes only scheduler bookkeeping: the
    /// context records stay where they are.
    fn switch_to(&mut self, slot: Slot) {
        if let Some(prev) = self.current.take()
            && let Some(t) = self.tasks[prev as usize].as_mut()
            && t.state == TaskState::Running
        {
            t.state = TaskState::Ready;
        }
        let task = self.t_mut(slot);
        if task.state == TaskState::Ready {
            task.state = TaskState::Running;
        }
        task.counters.switches_in += 1;
        if task.turn_left == 0 {
            task.turn_left = task.sched.quantum;
        }
        self.current = Some(slot);
        self.counters.switches += 1;
    }

    /// Record which task is running (scheduler bookkeeping only).
    pub(crate) fn set_current(&mut self, slot: Option<Slot>) {
        self.current = slot;
    }

    /// End the running task's turn and put it at the tail of its level (YIELD).
    pub(crate) fn yield_slot(&mut self, slot: Slot) {
        let task = self.t_mut(slot);
        if task.state != TaskState::Running {
            return;
        }
        task.state = TaskState::Ready;
        task.turn_left = 0;
        let prio = task.sched.priority;
        self.ready.remove(prio, slot);
        self.ready.push_back(prio, slot);
        if self.current == Some(slot) {
            self.current = None;
        }
        self.record(slot, TraceEvent::Rotate);
    }

    // ---------------------------------------------------------------- waits

    /// Park the task in WAITING(kind). Its registers are untouched until the wait ends.
    ///
    /// Always inlined, like [`Executive::complete_wait`]: a blocking RECV and its wake-up
    /// are on every mailbox exchange, and there a call's frame and spills cost a sizeable
    /// part of the work (a few call sites each).
    #[inline(always)]
    pub(crate) fn block(
        &mut self,
        slot: Slot,
        kind: WaitKind,
        deadline: Option<u64>,
        target: Option<Pid>,
        recv: Option<PendingRecv>,
    ) {
        let token = self.next_token;
        self.next_token += 1;
        let task = self.t_mut(slot);
        task.wait = Some(Wait {
            kind,
            deadline,
            token,
            target,
            recv,
        });
        task.counters.blocks += 1;
        task.turn_left = 0;
        let (pid, prev, prio, pc) = (task.pid, task.state, task.sched.priority, task.ctx.pc);
        if prev.is_runnable() {
            task.state = TaskState::Waiting(kind);
            self.ready.remove(prio, slot);
            self.events.push(Event::TaskState {
                pid,
                prev,
                new: ReportedState::State(TaskState::Waiting(kind)),
                reason: kind.block_reason(),
            });
        }
        if self.current == Some(slot) {
            self.current = None;
        }
        if kind == WaitKind::Task
            && let Some(t) = target
        {
            self.task_waiters.entry(t).or_default().push(slot);
        }
        if let Some(deadline) = deadline {
            self.timers.push(Timer {
                deadline,
                token,
                slot,
            });
        }
        self.record_entry(pid, TraceEvent::Block, pc);
    }

    /// Complete a pending wait: write results into R0.. and make the task READY (or
    /// leave it PAUSED with the results written).
    #[inline(always)]
    pub(crate) fn complete_wait(&mut self, slot: Slot, results: &[u32], timed_out: bool) {
        let task = self.tasks[slot as usize].as_mut().expect("live slot");
        crate::syscall::write_results(&task.ctx, self.ram.words_mut(), 0, results);
        let wait = task.wait.take();
        task.counters.wakes += 1;
        if timed_out {
            task.counters.timeouts += 1;
        }
        if wait.is_some_and(|w| w.kind == WaitKind::Mailbox) {
            if timed_out {
                task.counters.mailbox_timeouts += 1;
            } else {
                task.counters.mailbox_wakes += 1;
            }
        }
        let (pid, pc) = (task.pid, task.ctx.pc);
        if let TaskState::Waiting(kind) = task.state {
            task.state = TaskState::Ready;
            self.ready.push_back(task.sched.priority, slot);
            self.events.push(Event::TaskState {
                pid,
                prev: TaskState::Waiting(kind),
                new: ReportedState::State(TaskState::Ready),
                reason: if timed_out {
                    "timeout"
                } else {
                    kind.wake_reason()
                },
            });
        }
        let event = if timed_out {
            TraceEvent::Timeout
        } else {
            TraceEvent::Wake
        };
        self.record_entry(pid, event, pc);
    }

    fn drop_stale_timers(&mut self) {
        while let Some(top) = self.timers.peek() {
            if self.timer_is_live(top) {
                break;
            }
            self.timers.pop();
        }
    }

    fn timer_is_live(&self, timer: Timer) -> bool {
        self.tasks
            .get(timer.slot as usize)
            .and_then(|t| t.as_ref())
            .and_then(|t| t.wait.as_ref())
            .is_some_and(|w| w.token == timer.token)
    }

    /// Fire every due timer.
    pub(crate) fn expire_timers(&mut self) {
        if self.timers.is_empty() {
            return;
        }
        let now = self.clock.now_ms();
        while let Some(timer) = self.timers.pop_due(now) {
            if !self.timer_is_live(timer) {
                continue;
            }
            let kind = self.t(timer.slot).wait.as_ref().map(|w| w.kind);
            match kind {
                Some(WaitKind::Timer) => {
                    let pid = self.t(timer.slot).pid;
                    self.complete_wait(timer.slot, &[0], false);
                    self.events.push(Event::SleepComplete { pid });
                }
                Some(WaitKind::Task) => {
                    // EXEC WAIT timeout: R0 = TIMEOUT, R1 = R2 = 0.
                    self.complete_wait(timer.slot, &[crate::syscall::exec::TIMEOUT, 0, 0], true);
                }
                Some(WaitKind::Mailbox) => crate::syscall::mbx::expire(self, timer.slot),
                Some(WaitKind::Command) | None => {}
            }
        }
    }

    // ---------------------------------------------------------------- control

    /// Pause a task (operator pause). Works on READY, RUNNING and WAITING tasks.
    pub fn pause(&mut self, pid: Pid) -> Result<(), ControlError> {
        let slot = self.slot_of(pid).ok_or(ControlError::NoSuchTask(pid))?;
        match self.t(slot).state {
            s if s.is_terminal() => Err(ControlError::Terminal(pid, s)),
            TaskState::Paused => Ok(()),
            _ => {
                self.pause_slot(slot, "paused");
                Ok(())
            }
        }
    }

    pub(crate) fn pause_slot(&mut self, slot: Slot, reason: &'static str) {
        let task = self.t_mut(slot);
        let prev = task.state;
        let prio = task.sched.priority;
        let pid = task.pid;
        task.state = TaskState::Paused;
        task.turn_left = 0;
        if prev.is_runnable() {
            self.ready.remove(prio, slot);
        }
        if self.current == Some(slot) {
            self.current = None;
        }
        self.record(slot, TraceEvent::Pause);
        self.events.push(Event::TaskState {
            pid,
            prev,
            new: ReportedState::State(TaskState::Paused),
            reason,
        });
    }

    /// Resume a PAUSED task: READY, or WAITING again if its wait is still pending. The
    /// first instruction it executes skips the breakpoint check.
    pub fn resume(&mut self, pid: Pid) -> Result<(), ControlError> {
        let slot = self.slot_of(pid).ok_or(ControlError::NoSuchTask(pid))?;
        let task = self.t_mut(slot);
        match task.state {
            TaskState::Paused => {}
            s if s.is_terminal() => return Err(ControlError::Terminal(pid, s)),
            _ => return Ok(()),
        }
        task.resume_exempt = true;
        let new = match &task.wait {
            Some(w) => TaskState::Waiting(w.kind),
            None => TaskState::Ready,
        };
        task.state = new;
        let prio = task.sched.priority;
        if new == TaskState::Ready {
            self.ready.push_back(prio, slot);
        }
        self.record(slot, TraceEvent::Resume);
        self.events.push(Event::TaskState {
            pid,
            prev: TaskState::Paused,
            new: ReportedState::State(new),
            reason: "resumed",
        });
        Ok(())
    }

    /// Kill a task in any state and reap it, freeing everything it holds.
    pub fn kill(&mut self, pid: Pid) -> Result<(), ControlError> {
        let slot = self.slot_of(pid).ok_or(ControlError::NoSuchTask(pid))?;
        let prev = self.t(slot).state;
        if !prev.is_terminal() {
            self.end_task(slot, None);
        }
        self.record(slot, TraceEvent::Kill);
        self.complete_waiters(slot, 2, 0);
        self.reap(slot);
        self.events.push(Event::TaskState {
            pid,
            prev,
            new: ReportedState::Terminated,
            reason: "killed",
        });
        Ok(())
    }

    /// Change a task's priority and/or quantum.
    pub fn set_sched(
        &mut self,
        pid: Pid,
        priority: Option<u8>,
        quantum: Option<u32>,
    ) -> Result<SchedParams, ControlError> {
        let slot = self.slot_of(pid).ok_or(ControlError::NoSuchTask(pid))?;
        let task = self.t(slot);
        let old = task.sched.priority;
        let queued = task.state.is_runnable();
        let new_prio = priority.unwrap_or(old);
        if queued && new_prio != old {
            self.ready.remove(old, slot);
            self.ready.push_back(new_prio, slot);
            if self.current == Some(slot) {
                self.current = None;
            }
        }
        let task = self.t_mut(slot);
        task.sched.priority = new_prio;
        if let Some(q) = quantum {
            task.sched.quantum = q.max(1);
            task.turn_left = task.turn_left.min(task.sched.quantum);
        }
        Ok(task.sched)
    }

    /// Turn per-instruction tracing of a task on or off.
    pub fn set_trace(&mut self, pid: Pid, on: bool) -> Result<(), ControlError> {
        let slot = self.slot_of(pid).ok_or(ControlError::NoSuchTask(pid))?;
        self.t_mut(slot).trace = on;
        Ok(())
    }

    /// Add or remove a breakpoint.
    pub fn set_breakpoint(&mut self, pid: Pid, addr: u32, on: bool) -> Result<(), ControlError> {
        let slot = self.slot_of(pid).ok_or(ControlError::NoSuchTask(pid))?;
        let bps = &mut self.t_mut(slot).breakpoints;
        if on {
            bps.insert(addr);
        } else {
            bps.remove(&addr);
        }
        Ok(())
    }

    // ---------------------------------------------------------------- termination

    /// A task exits or faults: it becomes terminal, leaves every queue, and WAITers on it
    /// complete (then it is reaped once they have).
    pub(crate) fn terminate(&mut self, slot: Slot, how: Termination) {
        self.end_task(slot, Some(how));
        let (reason, status) = match how {
            Termination::Exited(s) => (0, s),
            Termination::Faulted { fault, .. } => (1, fault.code()),
        };
        if self.complete_waiters(slot, reason, status) {
            self.reap(slot);
        }
    }

    /// Remove a live task from the scheduler and its waits; set its terminal state.
    fn end_task(&mut self, slot: Slot, how: Option<Termination>) {
        let task = self.t_mut(slot);
        let prev = task.state;
        let prio = task.sched.priority;
        let pid = task.pid;
        task.wait = None;
        task.turn_left = 0;
        if let Some(how) = how {
            task.termination = Some(how);
            task.state = match how {
                Termination::Exited(_) => TaskState::Exited,
                Termination::Faulted { .. } => TaskState::Faulted,
            };
        }
        if prev.is_runnable() {
            self.ready.remove(prio, slot);
        }
        if self.current == Some(slot) {
            self.current = None;
        }
        if let Some(how) = how {
            let (event, reason) = match how {
                Termination::Exited(_) => (TraceEvent::Exit, "exit"),
                Termination::Faulted { .. } => (TraceEvent::Fault, "fault"),
            };
            self.record(slot, event);
            let new = self.t(slot).state;
            self.events.push(Event::TaskState {
                pid,
                prev,
                new: ReportedState::State(new),
                reason,
            });
        }
        self.io_task_ended(slot);
    }

    /// Complete every EXEC WAIT on the task in `slot` with (OK, status, reason).
    /// Returns true if there were waiters (so the target must now be reaped).
    fn complete_waiters(&mut self, slot: Slot, reason: u32, status: u32) -> bool {
        let pid = self.t(slot).pid;
        let candidates = self.task_waiters.remove(&pid).unwrap_or_default();
        let waiters: Vec<Slot> = candidates
            .into_iter()
            .filter(|&s| {
                self.tasks[s as usize].as_ref().is_some_and(|t| {
                    t.wait
                        .as_ref()
                        .is_some_and(|w| w.kind == WaitKind::Task && w.target == Some(pid))
                })
            })
            .collect();
        for &w in &waiters {
            self.complete_wait(w, &[crate::syscall::exec::OK, status, reason], false);
        }
        !waiters.is_empty()
    }

    /// Free a task's arenas and remove it from the table.
    pub(crate) fn reap(&mut self, slot: Slot) {
        let Some(task) = self.tasks[slot as usize].take() else {
            return;
        };
        self.ram.free(task.bank);
        self.ram.free(task.window);
        self.pids.remove(&task.pid);
        self.io_task_reaped(task.pid);
        self.names.remove(&task.name);
        self.note_name_freed(&task.name);
        self.task_waiters.remove(&task.pid);
        self.free_slots.push(slot);
        if self.current == Some(slot) {
            self.current = None;
        }
        self.counters.reaped += 1;
    }

    // ---------------------------------------------------------------- trace

    pub(crate) fn record(&mut self, slot: Slot, event: TraceEvent) {
        let task = self.t(slot);
        let (pid, pc) = (task.pid, task.ctx.pc);
        self.record_entry(pid, event, pc);
    }

    fn record_at(&mut self, slot: Slot, event: TraceEvent, pc: u32) {
        let pid = self.t(slot).pid;
        self.record_entry(pid, event, pc);
    }

    /// Append a trace record (and its event with `trace_events`) for a task whose pid
    /// and pc the caller already has.
    #[inline(always)]
    fn record_entry(&mut self, pid: Pid, event: TraceEvent, pc: u32) {
        let entry = self.trace.record(self.clock.now_ms(), pid, event, pc);
        if self.config.trace_events {
            self.events.push(Event::Trace(entry));
        }
    }

    /// Emit an event (for syscall modules).
    pub(crate) fn emit(&mut self, event: Event) {
        self.events.push(event);
    }

    /// Window bounds of a task: (physical base, size).
    pub(crate) fn window_of(&self, slot: Slot) -> (u32, u32) {
        let ctx = &self.t(slot).ctx;
        (ctx.stack_base, ctx.window_size)
    }
}

/// Why a host control request failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ControlError {
    /// No task with that pid.
    #[error("no such task: pid {0}")]
    NoSuchTask(Pid),
    /// The task is terminal.
    #[error("pid {0} is {state} (terminal)", state = .1.wire_name())]
    Terminal(Pid, TaskState),
}

/// `base_#n`, with `base` cut so the whole name fits 31 characters (`hxe.md` §7.2).
fn suffixed_name(base: &str, n: u32) -> String {
    let suffix = format!("_#{n}");
    let keep = 31usize.saturating_sub(suffix.len());
    let mut b: String = base.chars().take(keep).collect();
    if b.is_empty() {
        b = "app".into();
    }
    format!("{b}{suffix}")
}

/// The n of a name of the form `x_#n`.
fn split_suffix(name: &str) -> Option<u32> {
    let (_, digits) = name.rsplit_once("_#")?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}
