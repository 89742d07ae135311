//! `hsx run`: load images into an in-process executive and run them until every task
//! is terminal or a stop condition occurs (`tools.md` §2).

mod output;
mod report;
mod stdin;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::ValueEnum;
use hsx_exec::mailbox::{Limits, MAX_CAPACITY, MIN_CAPACITY};
use hsx_exec::{
    ClockMode, Config, Event, Executive, Pid, Profile, ReportedState, SchedParams, SpawnDefaults,
    SpawnError, SpawnOptions, Stop, TaskState, TraceEvent,
};

use crate::num::{parse_u32, parse_u64};
use hsx_debug::SymbolTable;
use output::{Stream, TaskOutput};
use report::{Reaped, RunStop};
use stdin::StdinFeed;

/// Exit codes of `hsx run` other than a task's own status (`tools.md` §2).
mod code {
    pub const FAULTED: u8 = 120;
    pub const BRK: u8 = 121;
    pub const DEADLOCK: u8 = 122;
    pub const LIMIT: u8 = 124;
    pub const LOAD: u8 = 125;
}

/// Options of `hsx run`.
#[derive(clap::Args)]
#[command(
    after_help = "Each IMAGE may carry per-task settings: app.hxe@priority=5,quantum=3,stack=8192,window=32768\n\
Exit status: pid 1's exit status & 0xFF when every task ended without a fault; 120 a task faulted; \
121 stopped at a BRK; 122 deadlock; 124 --max-steps or --timeout reached; 125 an image could not be loaded; 2 usage error."
)]
pub struct Args {
    /// Images to run as pids 1..n: .hxe files, or .mvasm sources assembled in memory.
    #[arg(required = true, value_name = "IMAGE[@SETTINGS]")]
    images: Vec<String>,
    /// Stop after N instructions in total, across all tasks (0 = unlimited).
    #[arg(long, value_name = "N", value_parser = parse_u64, default_value = "0")]
    max_steps: u64,
    /// Default quantum (consecutive steps per turn).
    #[arg(long, value_name = "N", value_parser = parse_u32, default_value = "1")]
    quantum: u32,
    /// Default priority (0 highest .. 255 lowest).
    #[arg(long, value_name = "P", value_parser = parse_priority, default_value = "10")]
    priority: u8,
    /// Default stack size in bytes (host 4096, embedded 1024).
    #[arg(long, value_name = "B", value_parser = parse_u32)]
    stack_size: Option<u32>,
    /// Default window size in bytes (host 65536; embedded: sized to fit).
    #[arg(long, value_name = "B", value_parser = parse_u32)]
    window_size: Option<u32>,
    /// Executive clock: real milliseconds, or virtual time that jumps to the next deadline.
    #[arg(long, value_enum, default_value = "wall")]
    clock: ClockArg,
    /// VM RAM and limit profile.
    #[arg(long, value_enum, default_value = "host")]
    profile: ProfileArg,
    /// VM RAM size in bytes (default: 64 MiB host, 64 KiB embedded).
    #[arg(long, value_name = "BYTES", value_parser = parse_u32)]
    ram: Option<u32>,
    /// Mailbox limits over the profile's (mailbox.md §2), as KEY=VALUE,...: max_descriptors,
    /// handle_limit_per_pid, default_capacity, stdio_capacity, tap_rate_limit. Every task
    /// takes four descriptors, so the host profile's 256 hold 64 tasks; 10,000 tasks need
    /// max_descriptors=40000 (and --ram 1073741824 with default windows).
    #[arg(long, value_name = "KEY=VALUE,...")]
    mailbox: Option<String>,
    /// Print a JSON document with every task's final record and the scheduler counters.
    #[arg(long)]
    json: bool,
    /// Write the --json document to this file instead of stdout.
    #[arg(long, value_name = "F")]
    report: Option<PathBuf>,
    /// Print scheduler trace entries (rotate, block, wake, exit, ...) to stderr as they happen.
    #[arg(long)]
    sched_trace: bool,
    /// Print every instruction to stderr: `[1] 0x003C: 0x01100010  LDI R1, 16`.
    #[arg(long)]
    trace: bool,
    /// Write the per-instruction trace as `hsx.trace/1` JSON lines to this file
    /// ({pid, pc, next_pc, opcode, regs, flags, steps} per line).
    #[arg(long, value_name = "F")]
    trace_file: Option<PathBuf>,
    /// Print one stderr line per SVC with its arguments and result.
    #[arg(long)]
    svc_trace: bool,
    /// Symbols (.sym) for pid 1 (default: `<image>.sym` next to each image; a .mvasm
    /// source brings its own labels).
    #[arg(long, value_name = "FILE")]
    sym: Option<PathBuf>,
    /// Stop after SEC seconds of wall time.
    #[arg(long, value_name = "SEC")]
    timeout: Option<f64>,
    /// What a BRK does: end the run, or get reported (with -v) and resumed.
    #[arg(long, value_enum, default_value = "stop")]
    brk: BrkArg,
    /// Host directory backing the FS calls and EXEC SPAWN paths (without it FS path
    /// calls return -19 ENODEV and SPAWN returns ENOENT).
    #[arg(long, value_name = "DIR")]
    fs_root: Option<PathBuf>,
    /// Do not connect host stdin to pid 1's svc:stdio.in.
    #[arg(long)]
    no_stdin: bool,
    /// Prefix each output line with `[pid:name] ` (default with more than one image).
    #[arg(long)]
    prefix: bool,
    /// Print each task's final registers to stderr.
    #[arg(long)]
    regs: bool,
    /// Summary per task and overall (steps, seconds, steps per second).
    #[arg(short, long)]
    verbose: bool,
    /// Suppress non-fatal diagnostics.
    #[arg(short, long)]
    quiet: bool,
}

#[derive(Clone, Copy, ValueEnum)]
enum ClockArg {
    Wall,
    Virtual,
}

#[derive(Clone, Copy, ValueEnum)]
enum ProfileArg {
    Host,
    Embedded,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum BrkArg {
    Stop,
    Continue,
}

fn parse_priority(text: &str) -> Result<u8, String> {
    let v = parse_u32(text)?;
    u8::try_from(v).map_err(|_| format!("priority {v} is outside 0..=255"))
}

/// `base` with the `KEY=VALUE,...` settings of `--mailbox` applied, each checked against
/// the range the executive accepts.
fn mailbox_limits(base: Limits, settings: &str) -> Result<Limits, String> {
    let mut limits = base;
    for item in settings.split(',').filter(|s| !s.trim().is_empty()) {
        let (key, value) = item
            .split_once('=')
            .ok_or_else(|| format!("--mailbox setting '{item}' is not key=value"))?;
        let value = parse_u32(value.trim()).map_err(|e| format!("--mailbox {item}: {e}"))?;
        let (field, range) = match key.trim() {
            "max_descriptors" => (&mut limits.max_descriptors, 0..=0xFFFF),
            "handle_limit_per_pid" => (&mut limits.handle_limit_per_pid, 1..=0xFFFF),
            "default_capacity" => (&mut limits.default_capacity, MIN_CAPACITY..=MAX_CAPACITY),
            "stdio_capacity" => (&mut limits.stdio_capacity, MIN_CAPACITY..=MAX_CAPACITY),
            "tap_rate_limit" => (&mut limits.tap_rate_limit, 0..=u32::MAX),
            other => {
                return Err(format!(
                    "unknown --mailbox setting '{other}' (expected max_descriptors, \
                     handle_limit_per_pid, default_capacity, stdio_capacity, tap_rate_limit)"
                ));
            }
        };
        if !range.contains(&value) {
            return Err(format!(
                "--mailbox {}={value} is outside {}..={}",
                key.trim(),
                range.start(),
                range.end()
            ));
        }
        *field = value;
    }
    Ok(limits)
}

/// One IMAGE argument with its `@key=value,...` settings.
#[derive(Debug, Default, PartialEq, Eq)]
struct ImageSpec {
    path: String,
    priority: Option<u8>,
    quantum: Option<u32>,
    stack: Option<u32>,
    window: Option<u32>,
}

fn parse_image_spec(arg: &str) -> Result<ImageSpec, String> {
    let (path, settings) = match arg.rsplit_once('@') {
        Some((p, s)) if s.contains('=') => (p, s),
        _ => (arg, ""),
    };
    let mut spec = ImageSpec {
        path: path.to_string(),
        ..ImageSpec::default()
    };
    for item in settings.split(',').filter(|s| !s.trim().is_empty()) {
        let (key, value) = item
            .split_once('=')
            .ok_or_else(|| format!("setting '{item}' is not key=value"))?;
        let value = value.trim();
        match key.trim() {
            "priority" => spec.priority = Some(parse_priority(value)?),
            "quantum" => spec.quantum = Some(parse_u32(value)?),
            "stack" => spec.stack = Some(parse_u32(value)?),
            "window" => spec.window = Some(parse_u32(value)?),
            other => {
                return Err(format!(
                    "unknown setting '{other}' (expected priority, quantum, stack, window)"
                ));
            }
        }
    }
    Ok(spec)
}

/// Read an image argument: `.mvasm` is assembled in memory (its labels become its
/// symbols), anything else is read as a `.hxe` (with `<image>.sym` beside it, if any).
/// Errors name the file.
fn read_image(path: &Path) -> Result<(Vec<u8>, Option<SymbolTable>), String> {
    if path.extension().is_some_and(|e| e == "mvasm") {
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let opts = hsx_asm::AsmOptions {
            single_unit: true,
            ..hsx_asm::AsmOptions::default()
        };
        let unit = hsx_asm::assemble_unit(path, &opts)
            .map_err(|d| d.to_string().trim_end().to_string())?;
        let linked = hsx_asm::link(
            &[unit.into_link_input(path.display().to_string())],
            &hsx_asm::LinkOptions {
                app_name: stem,
                ..hsx_asm::LinkOptions::default()
            },
        )
        .map_err(|d| d.to_string().trim_end().to_string())?;
        let symbols = SymbolTable::parse(&linked.symbol_file(), path).ok();
        Ok((linked.image, symbols))
    } else {
        let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok((bytes, SymbolTable::load(&path.with_extension("sym")).ok()))
    }
}

/// Run `hsx run`.
pub fn run(args: Args) -> ExitCode {
    let specs: Vec<ImageSpec> = match args.images.iter().map(|a| parse_image_spec(a)).collect() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("hsx run: {e}");
            return ExitCode::from(2);
        }
    };
    let profile = match args.profile {
        ProfileArg::Host => Profile::Host,
        ProfileArg::Embedded => Profile::Embedded,
    };
    let mailbox = match args.mailbox.as_deref() {
        Some(settings) => match mailbox_limits(profile.mailbox_limits(), settings) {
            Ok(limits) => Some(limits),
            Err(e) => {
                eprintln!("hsx run: {e}");
                return ExitCode::from(2);
            }
        },
        None => None,
    };
    let config = Config {
        profile,
        ram_bytes: args.ram,
        mailbox_limits: mailbox,
        clock: match args.clock {
            ClockArg::Wall => ClockMode::Wall,
            ClockArg::Virtual => ClockMode::Virtual,
        },
        fs_root: args.fs_root.clone(),
        defaults: SpawnDefaults {
            sched: SchedParams {
                priority: args.priority,
                quantum: args.quantum.max(1),
            },
            stack_size: args.stack_size,
            window_size: args.window_size,
        },
        trace_events: args.sched_trace || args.trace || args.trace_file.is_some(),
        svc_events: args.svc_trace,
        ..Config::default()
    };
    let mut exec = Executive::new(config);
    // `hsx run` prints task output, not mailbox events.
    exec.set_mailbox_events(false);
    let mut symbols: BTreeMap<Pid, SymbolTable> = BTreeMap::new();
    for spec in &specs {
        let path = Path::new(&spec.path);
        let loaded = read_image(path).and_then(|(bytes, syms)| {
            let pid = exec
                .spawn_bytes(
                    &bytes,
                    SpawnOptions {
                        program: spec.path.clone(),
                        priority: spec.priority,
                        quantum: spec.quantum,
                        stack_size: spec.stack,
                        window_size: spec.window,
                        parent: 0,
                    },
                )
                .map_err(|e| match e {
                    SpawnError::Mailbox(_) => format!(
                        "{}: {e} (the pool is set with --mailbox max_descriptors=N)",
                        spec.path
                    ),
                    e => format!("{}: {e}", spec.path),
                })?;
            if let Some(table) = syms {
                symbols.insert(pid, table);
            }
            Ok(pid)
        });
        match loaded {
            Ok(pid) => {
                if args.trace || args.trace_file.is_some() {
                    let _ = exec.set_trace(pid, true);
                }
            }
            Err(e) => {
                eprintln!("hsx run: {e}");
                return ExitCode::from(code::LOAD);
            }
        }
    }
    if let Some(path) = &args.sym {
        match SymbolTable::load(path) {
            Ok(table) => {
                symbols.insert(1, table);
            }
            Err(e) => {
                eprintln!("hsx run: --sym {}: {e}", path.display());
                return ExitCode::from(code::LOAD);
            }
        }
    }
    let trace_file = match &args.trace_file {
        Some(path) => match std::fs::File::create(path) {
            Ok(f) => Some(std::io::BufWriter::new(f)),
            Err(e) => {
                eprintln!("hsx run: cannot write {}: {e}", path.display());
                return ExitCode::from(1);
            }
        },
        None => None,
    };
    let mut runner = Runner {
        symbols,
        trace_file,
        stdin: if args.no_stdin {
            StdinFeed::none()
        } else {
            StdinFeed::connect()
        },
        output: TaskOutput::new(args.prefix || specs.len() > 1),
        names: exec.tasks().map(|t| (t.pid, t.name.clone())).collect(),
        reaped: BTreeMap::new(),
        args: &args,
    };
    let started = Instant::now();
    let (stop, brk_pid) = runner.run_loop(&mut exec, started);
    let elapsed = started.elapsed().as_secs_f64();
    runner.output.finish();
    if let Some(mut f) = runner.trace_file.take() {
        let _ = f.flush();
    }
    runner.finish(&exec, stop, brk_pid, elapsed)
}

struct Runner<'a> {
    symbols: BTreeMap<Pid, SymbolTable>,
    trace_file: Option<std::io::BufWriter<std::fs::File>>,
    stdin: StdinFeed,
    output: TaskOutput,
    names: BTreeMap<Pid, String>,
    reaped: BTreeMap<Pid, Reaped>,
    args: &'a Args,
}

impl Runner<'_> {
    fn run_loop(&mut self, exec: &mut Executive, started: Instant) -> (RunStop, Option<Pid>) {
        const CHUNK: u64 = 1 << 20;
        let mut total = 0u64;
        loop {
            if let Some(limit) = self.args.timeout
                && started.elapsed().as_secs_f64() >= limit
            {
                return (RunStop::Timeout, None);
            }
            // A trace file records each instruction's resulting state, so it steps one
            // instruction per call and drains events in between.
            let chunk = if self.trace_file.is_some() { 1 } else { CHUNK };
            let budget = match self.args.max_steps {
                0 => chunk,
                max if total >= max => return (RunStop::MaxSteps, None),
                max => (max - total).min(chunk),
            };
            self.stdin.pump(exec);
            let outcome = exec.step(budget);
            total += outcome.executed;
            self.drain(exec);
            match outcome.stop {
                Stop::Budget => {}
                Stop::AllTerminal => return (RunStop::Exit, None),
                // Only `step_task` reports a single task's end; `step` never does.
                Stop::Ended { .. } => {}
                Stop::Break { pid } => {
                    let Some(task) = exec.task(pid) else { continue };
                    if task.state != TaskState::Paused {
                        continue;
                    }
                    if self.args.brk == BrkArg::Stop {
                        return (RunStop::Brk, Some(pid));
                    }
                    if self.args.verbose {
                        eprintln!(
                            "hsx run: pid {pid} ({}) BRK at pc 0x{:04X}, resuming",
                            task.name,
                            task.ctx.pc.wrapping_sub(4)
                        );
                    }
                    let _ = exec.resume(pid);
                }
                Stop::Idle { next_deadline } => {
                    // Nothing can run. Wait for the next deadline (wall clock) or for host
                    // input that can wake a task; neither can come: deadlock.
                    let stdin_helps = self.stdin.can_wake(exec);
                    if next_deadline.is_none() && !stdin_helps {
                        return (RunStop::Deadlock, None);
                    }
                    // Wake often enough to honour --timeout.
                    let wait =
                        next_deadline.map_or(50, |d| d.saturating_sub(exec.now_ms()).clamp(1, 50));
                    if stdin_helps {
                        self.stdin.wait(Duration::from_millis(wait));
                    } else {
                        std::thread::sleep(Duration::from_millis(wait));
                    }
                }
            }
        }
    }

    fn drain(&mut self, exec: &mut Executive) {
        let events: Vec<Event> = exec.drain_events().collect();
        for event in events {
            match event {
                Event::Stdout { pid, data } => {
                    let name = self.name(pid);
                    self.output.write(pid, &name, Stream::Out, &data);
                }
                Event::Stderr { pid, data } => {
                    let name = self.name(pid);
                    self.output.write(pid, &name, Stream::Err, &data);
                }
                Event::Trace(entry) if entry.event == TraceEvent::Step => {
                    if let Some(task) = exec.task(entry.pid) {
                        if self.args.trace {
                            eprintln!(
                                "[{}] {}",
                                entry.pid,
                                report::instruction_line(task, entry.pc)
                            );
                        }
                        if let Some(f) = self.trace_file.as_mut() {
                            let code = &task.image.image.code;
                            let opcode = code
                                .get(entry.pc as usize..entry.pc as usize + 4)
                                .map_or(0, |b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]));
                            let record = serde_json::json!({
                                "pid": entry.pid,
                                "pc": entry.pc,
                                "next_pc": task.ctx.pc,
                                "opcode": opcode,
                                "regs": exec.registers(entry.pid).unwrap_or_default(),
                                "flags": task.ctx.psw,
                                "steps": task.ctx.steps,
                            });
                            let _ = writeln!(f, "{record}");
                        }
                    }
                }
                Event::Trace(entry) => {
                    if self.args.sched_trace {
                        eprintln!(
                            "hsx run: sched seq={} ts={} pid={} {} pc=0x{:04X}",
                            entry.seq,
                            entry.ts,
                            entry.pid,
                            entry.event.name(),
                            entry.pc
                        );
                    }
                }
                Event::Svc {
                    pid,
                    module,
                    function,
                    args,
                    result,
                } => {
                    let result = match result {
                        Some(r0) => format!("R0=0x{r0:08X}"),
                        None => "blocked".to_string(),
                    };
                    eprintln!(
                        "[{pid}] svc 0x{module:02X}:0x{function:02X} R0=0x{:08X} R1=0x{:08X} R2=0x{:08X} R3=0x{:08X} R4=0x{:08X} R5=0x{:08X} -> {result}",
                        args[0], args[1], args[2], args[3], args[4], args[5]
                    );
                }
                Event::TaskState {
                    pid,
                    new: ReportedState::State(state),
                    ..
                } if state.is_terminal() => {
                    if let Some(t) = exec.task(pid) {
                        self.reaped.insert(
                            pid,
                            Reaped {
                                program: t.program.clone(),
                                state: state.wire_name(),
                                exit_status: t.exit_status(),
                            },
                        );
                    }
                }
                Event::CanTx { pid, id, data } => {
                    if self.args.verbose {
                        let bytes: Vec<String> = data.iter().map(|b| format!("{b:02X}")).collect();
                        eprintln!(
                            "hsx run: can_tx pid={pid} id=0x{id:03X} data={}",
                            bytes.join(" ")
                        );
                    }
                }
                Event::InternalError { message, .. } => {
                    eprintln!("hsx run: internal error: {message}")
                }
                Event::TaskState { .. }
                | Event::DebugBreak { .. }
                | Event::VmError { .. }
                | Event::SleepRequest { .. }
                | Event::SleepComplete { .. }
                | Event::Debug(_)
                | Event::Mailbox(_)
                // Only the credit sink (the server's) reports these.
                | Event::StdioMessage { .. } => {}
            }
        }
        for t in exec.tasks() {
            self.names.entry(t.pid).or_insert_with(|| t.name.clone());
        }
    }

    fn name(&self, pid: Pid) -> String {
        self.names
            .get(&pid)
            .cloned()
            .unwrap_or_else(|| format!("task_{pid}"))
    }

    fn finish(
        &self,
        exec: &Executive,
        stop: RunStop,
        brk_pid: Option<Pid>,
        elapsed: f64,
    ) -> ExitCode {
        let args = self.args;
        let steps = exec.counters().steps;
        let say = |line: &str| eprintln!("hsx run: {line}");
        let faulted: Vec<_> = exec.tasks().filter(|t| t.fault().is_some()).collect();
        for t in &faulted {
            for line in report::fault_diagnostic(exec, t, self.symbols.get(&t.pid)) {
                say(&line);
            }
        }
        let exit = match stop {
            RunStop::Exit if !faulted.is_empty() => code::FAULTED,
            RunStop::Exit => {
                let status = exec
                    .task(1)
                    .and_then(|t| t.exit_status())
                    .or_else(|| self.reaped.get(&1).and_then(|r| r.exit_status))
                    .unwrap_or(0);
                (status & 0xFF) as u8
            }
            RunStop::Brk => {
                if let Some(t) = brk_pid.and_then(|p| exec.task(p)) {
                    let pc = t.ctx.pc.wrapping_sub(4);
                    let code = t
                        .image
                        .image
                        .code
                        .get(pc as usize + 3)
                        .copied()
                        .unwrap_or(0);
                    say(&format!(
                        "pid {} ({}) stopped at BRK {code}, pc 0x{pc:04X}; use --brk continue to resume",
                        t.pid, t.name
                    ));
                }
                code::BRK
            }
            RunStop::Deadlock => {
                for line in report::deadlock_diagnostic(exec, self.stdin.exhausted()) {
                    say(&line);
                }
                code::DEADLOCK
            }
            RunStop::MaxSteps => {
                if !args.quiet {
                    say(&format!(
                        "stopped after --max-steps {} instructions",
                        args.max_steps
                    ));
                }
                code::LIMIT
            }
            RunStop::Timeout => {
                if !args.quiet {
                    say(&format!(
                        "stopped after --timeout {} s",
                        args.timeout.unwrap_or(0.0)
                    ));
                }
                code::LIMIT
            }
        };
        if args.regs {
            for t in exec.tasks() {
                say(&format!(
                    "pid {} ({}) {}:",
                    t.pid,
                    t.name,
                    t.state.wire_name()
                ));
                for line in report::register_dump(exec, t) {
                    say(&format!("  {line}"));
                }
            }
        }
        if args.verbose {
            for t in exec.tasks() {
                let what = match (t.exit_status(), t.fault()) {
                    (Some(s), _) => format!("returned {s} (0x{s:08X})"),
                    (None, Some((f, pc))) => format!("faulted {} at pc 0x{pc:04X}", f.name()),
                    _ => format!("is {}", t.state.wire_name()),
                };
                say(&format!(
                    "pid {} ({}) {what} after {} steps in {elapsed:.3} s",
                    t.pid, t.name, t.ctx.steps
                ));
            }
            let rate = if elapsed > 0.0 {
                steps as f64 / elapsed / 1e6
            } else {
                0.0
            };
            say(&format!(
                "{steps} steps in {elapsed:.3} s ({rate:.1} M steps/s, {:.2} ns/step), {} context switches",
                if steps > 0 {
                    elapsed * 1e9 / steps as f64
                } else {
                    0.0
                },
                exec.counters().switches
            ));
        }
        if args.json || args.report.is_some() {
            let doc = report::json_report(exec, stop, steps, elapsed, &self.reaped);
            let text = serde_json::to_string_pretty(&doc).expect("JSON values serialise");
            match &args.report {
                Some(path) => {
                    if let Err(e) = super::asm::write_outputs(&[(
                        path.clone(),
                        format!("{text}\n").into_bytes(),
                    )]) {
                        say(&e);
                    }
                }
                None => {
                    let mut out = std::io::stdout().lock();
                    let _ = writeln!(out, "{text}");
                }
            }
        }
        ExitCode::from(exit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_settings_parse() {
        assert_eq!(
            parse_image_spec("a.hxe@priority=5,quantum=3,stack=0x2000,window=32768"),
            Ok(ImageSpec {
                path: "a.hxe".into(),
                priority: Some(5),
                quantum: Some(3),
                stack: Some(0x2000),
                window: Some(32768),
            })
        );
        assert_eq!(
            parse_image_spec("me@host/a.hxe").unwrap().path,
            "me@host/a.hxe"
        );
        assert!(parse_image_spec("a.hxe@speed=9").is_err());
        assert!(parse_image_spec("a.hxe@priority=300").is_err());
    }

    #[test]
    fn mailbox_settings_apply_over_the_profile_and_are_range_checked() {
        let host = Limits::HOST;
        let limits = mailbox_limits(host, "max_descriptors=40000, stdio_capacity=0x400").unwrap();
        assert_eq!(
            limits,
            Limits {
                max_descriptors: 40000,
                stdio_capacity: 0x400,
                ..host
            }
        );
        assert_eq!(mailbox_limits(host, ""), Ok(host));
        let refused = [
            ("colour=1", "unknown --mailbox setting 'colour'"),
            ("max_descriptors", "is not key=value"),
            (
                "max_descriptors=70000",
                "max_descriptors=70000 is outside 0..=65535",
            ),
            ("handle_limit_per_pid=0", "outside 1..=65535"),
            ("default_capacity=4", "outside 8..=65535"),
            ("tap_rate_limit=lots", "--mailbox tap_rate_limit=lots"),
        ];
        for (settings, message) in refused {
            let err = mailbox_limits(host, settings).unwrap_err();
            assert!(err.contains(message), "{settings}: {err}");
        }
    }
}
