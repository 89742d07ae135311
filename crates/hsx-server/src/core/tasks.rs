//! Task and execution commands (`protocol.md` §6.2).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use hsx_exec::{ClockMode, ControlError, Pid, SpawnError, SpawnOptions, Stop, TaskState};
use serde_json::{Map, Value, json};

use super::{Core, Reply, Source, SymInfo, TaskInfo};
use crate::sessions::payload;
use crate::wire::Args;

/// Largest `step` budget.
pub const MAX_STEPS: i64 = 10_000_000;
/// Wall-time limit of one step request.
const STEP_TIME_LIMIT: Duration = Duration::from_secs(2);
/// Instructions per executive call within a step request.
const STEP_CHUNK: u64 = 50_000;
/// Most envelopes in `result.events`.
const RESULT_EVENTS: usize = 64;

/// How a step request ended.
pub(crate) struct StepReport {
    pub executed: u64,
    pub stop_reason: &'static str,
    pub pid: Option<Pid>,
    pub events: Vec<Value>,
    pub debug_event: Value,
}

impl Core {
    pub(super) fn cmd_info(&mut self, a: &Args<'_>) -> Reply {
        let tasks: Vec<Value> = self.exec.tasks().map(|t| self.task_json(t)).collect();
        let live: Vec<_> = self
            .exec
            .tasks()
            .filter(|t| !t.state.is_terminal())
            .collect();
        let current = self.current_pid();
        let first = self.exec.tasks().next();
        let trace: Vec<Value> = self.sched_trace(32);
        let mut info = json!({
            "loaded": first.is_some(),
            "program": first.map(|t| t.program.clone()),
            "running": self.exec.has_runnable(),
            "pc": current.and_then(|p| self.exec.task(p)).map(|t| t.ctx.pc),
            "attached": self.attached,
            "paused": !live.is_empty() && live.iter().all(|t| t.state == TaskState::Paused),
            "sleep_pending": live.iter().any(|t| t.state == TaskState::Waiting(hsx_exec::WaitKind::Timer)),
            "current_pid": current,
            "active_context": current.and_then(|p| self.registers_json(p)),
            "tasks": tasks,
            "scheduler": {
                "trace": trace,
                "counters": self.sched_counters(),
                "mailbox_counters": self.mailbox_counters(),
            },
            "mailbox_profile": {
                "name": match self.cfg.profile { hsx_exec::Profile::Host => "host", hsx_exec::Profile::Embedded => "embedded" },
                "config": self.mailbox_profile_config(),
            },
            "auto": self.clock.running,
            "clock": self.clock_json(),
        });
        if let Some(pid) = a.pid_opt()? {
            let o = info.as_object_mut().expect("object");
            o.insert("selected_pid".into(), json!(pid));
            match self.registers_json(pid) {
                Some(r) => {
                    o.insert("selected_registers".into(), r);
                }
                None => {
                    o.insert("selected_error".into(), json!(format!("unknown pid {pid}")));
                }
            }
        }
        Ok(payload(vec![("info", info)]))
    }

    fn sched_counters(&self) -> Value {
        let mut m = Map::new();
        for t in self.exec.tasks() {
            m.insert(
                t.pid.to_string(),
                json!({
                    "step": t.ctx.steps, "rotate": t.counters.switches_in,
                    "block": t.counters.blocks, "wake": t.counters.wakes,
                    "timeout": t.counters.timeouts,
                }),
            );
        }
        Value::Object(m)
    }

    fn mailbox_counters(&self) -> Value {
        let mut m = Map::new();
        for t in self.exec.tasks() {
            m.insert(
                t.pid.to_string(),
                json!({
                    "MAILBOX_STEP": t.counters.mailbox_steps,
                    "MAILBOX_WAKE": t.counters.mailbox_wakes,
                    "MAILBOX_TIMEOUT": t.counters.mailbox_timeouts,
                }),
            );
        }
        Value::Object(m)
    }

    /// The newest `limit` scheduler trace entries, oldest first.
    fn sched_trace(&self, limit: usize) -> Vec<Value> {
        let entries: Vec<_> = self.exec.trace().entries().collect();
        let skip = entries.len().saturating_sub(limit);
        entries[skip..]
            .iter()
            .map(|e| {
                json!({"seq": e.seq, "ts": self.epoch_of(e.ts), "pid": e.pid, "event": e.event.name(), "pc": e.pc})
            })
            .collect()
    }

    fn resolve_path(&self, path: &str) -> PathBuf {
        let p = Path::new(path);
        let p = if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.cfg.root.join(p)
        };
        std::fs::canonicalize(&p).unwrap_or(p)
    }

    pub(super) fn cmd_load(&mut self, a: &Args<'_>, _session: Option<&str>) -> Reply {
        let path = a.str_opt(&["path"])?.ok_or_else(|| a.missing("path"))?;
        let verbose = a.bool_opt(&["verbose"])?.unwrap_or(false);
        let symbols = a.str_opt(&["symbols"])?.map(PathBuf::from);
        let abs = self.resolve_path(path);
        let (pid, warnings) = self.load_program(&abs, symbols)?;
        Ok(payload(vec![(
            "image",
            self.image_json(pid, &warnings, verbose),
        )]))
    }

    /// Spawn an image file with its symbols; returns the pid and load warnings.
    pub(crate) fn load_program(
        &mut self,
        abs: &Path,
        symbols: Option<PathBuf>,
    ) -> Result<(Pid, Vec<String>), String> {
        let shown = abs.display().to_string();
        // A source is assembled and linked in memory, as `hsx run` does; its labels are
        // its symbols unless a `.sym` is given or lies beside it.
        let mut source_symbols = None;
        let bytes = if abs.extension().is_some_and(|e| e == "mvasm") {
            let linked = assemble_source_file(abs)
                .map_err(|first| format!("cannot assemble '{shown}': {first}"))?;
            source_symbols = Some(linked.symbol_file());
            linked.image
        } else {
            std::fs::read(abs).map_err(|e| format!("cannot open '{shown}': {}", io_reason(&e)))?
        };
        let opts = SpawnOptions {
            program: shown.clone(),
            ..SpawnOptions::default()
        };
        let pid = self.exec.spawn_bytes(&bytes, opts).map_err(|e| match e {
            SpawnError::Load(err) => format!("invalid image '{shown}': {err}"),
            SpawnError::AppExists { name, pid } => {
                format!("app '{name}' already running as pid {pid}")
            }
            other => format!("invalid image '{shown}': {other}"),
        })?;
        let mut info = TaskInfo {
            program: abs.to_path_buf(),
            symbols_override: symbols.clone(),
            ..TaskInfo::default()
        };
        let explicit = symbols.is_some();
        let sym_path = match symbols {
            Some(s) if s.is_absolute() => s,
            Some(s) => abs.parent().map(|d| d.join(&s)).unwrap_or(s),
            None => abs.with_extension("sym"),
        };
        let mut warnings = Vec::new();
        let crc = self.exec.task(pid).map(|t| t.image.image.crc32);
        info.symbols = Some(match source_symbols {
            Some(text) if !explicit && !sym_path.exists() => {
                match hsx_debug::SymbolTable::parse(&text, abs) {
                    Ok(table) => SymInfo {
                        path: abs.to_path_buf(),
                        table: Some(std::sync::Arc::new(table)),
                        error: None,
                        stale: false,
                    },
                    Err(e) => {
                        warnings.push(format!("symbols_failed:{e}"));
                        load_symbols(&sym_path, crc, &mut warnings)
                    }
                }
            }
            _ => load_symbols(&sym_path, crc, &mut warnings),
        });
        self.tasks.insert(pid, info);
        self.log(
            crate::config::LogLevel::Info,
            format!("load {shown} -> pid {pid}"),
            Some(pid),
            None,
        );
        Ok((pid, warnings))
    }

    pub(super) fn cmd_ps(&mut self) -> Reply {
        let tasks: Vec<Value> = self.exec.tasks().map(|t| self.task_json(t)).collect();
        Ok(payload(vec![(
            "tasks",
            json!({"tasks": tasks, "current_pid": self.current_pid()}),
        )]))
    }

    /// The task or the protocol's errors for a pid.
    pub(crate) fn live_task(&self, pid: Pid) -> Result<&hsx_exec::Task, String> {
        let t = self
            .exec
            .task(pid)
            .ok_or_else(|| format!("unknown pid {pid}"))?;
        if t.state.is_terminal() {
            return Err(format!(
                "task {pid} is not live (state {})",
                t.state.wire_name()
            ));
        }
        Ok(t)
    }

    pub(super) fn cmd_control(&mut self, cmd: &str, a: &Args<'_>, session: Option<&str>) -> Reply {
        let pid = a.pid()?;
        self.lock_check(pid, session)?;
        if self.exec.task(pid).is_none() {
            return Err(format!("unknown pid {pid}"));
        }
        match cmd {
            "pause" => self.exec.pause(pid).map_err(control_error)?,
            "resume" => self.exec.resume(pid).map_err(control_error)?,
            _ => {
                self.exec.kill(pid).map_err(control_error)?;
                self.forget_task(pid);
                return Ok(payload(vec![(
                    "task",
                    json!({"pid": pid, "state": "terminated"}),
                )]));
            }
        }
        let t = self
            .exec
            .task(pid)
            .ok_or_else(|| format!("unknown pid {pid}"))?;
        Ok(payload(vec![("task", self.task_json(t))]))
    }

    /// Drop the server-side state of a reaped task.
    pub(crate) fn forget_task(&mut self, pid: Pid) {
        self.pump(Source::Manual);
        self.exec.clear_watches(pid);
        self.watch_meta.retain(|_, m| m.pid != pid);
        self.tasks.remove(&pid);
    }

    pub(super) fn cmd_reload(&mut self, a: &Args<'_>, session: Option<&str>) -> Reply {
        let pid = a.pid()?;
        self.lock_check(pid, session)?;
        let verbose = a.bool_opt(&["verbose"])?.unwrap_or(false);
        let info = self
            .tasks
            .get(&pid)
            .filter(|_| self.exec.task(pid).is_some())
            .ok_or_else(|| format!("unknown pid {pid}"))?;
        let (program, symbols) = (info.program.clone(), info.symbols_override.clone());
        self.exec.kill(pid).map_err(control_error)?;
        self.forget_task(pid);
        let (new_pid, warnings) = self.load_program(&program, symbols)?;
        self.sessions.move_lock(pid, new_pid);
        let task = self
            .exec
            .task(new_pid)
            .map(|t| self.task_json(t))
            .unwrap_or(Value::Null);
        Ok(payload(vec![(
            "reload",
            json!({
                "old_pid": pid, "new_pid": new_pid, "program": program.display().to_string(),
                "image": self.image_json(new_pid, &warnings, verbose), "task": task,
            }),
        )]))
    }

    pub(super) fn cmd_step(&mut self, a: &Args<'_>, session: Option<&str>) -> Reply {
        let steps = a
            .int_in(&["steps", "count"], i64::MIN, i64::MAX)?
            .unwrap_or(self.clock.step_size as i64);
        if steps <= 0 {
            return Err("clock step steps must be positive".into());
        }
        if steps > MAX_STEPS {
            return Err(format!("invalid value for 'steps': {steps}"));
        }
        let pid = a.pid_opt()?;
        if let Some(pid) = pid {
            self.lock_check(pid, session)?;
        }
        let source_only = a.bool_opt(&["source_only", "source"])?.unwrap_or(false);
        let report = self.run_step(steps as u64, pid, source_only)?;
        let mut p = self.result_payload(&report);
        p.insert("clock".into(), self.clock_json());
        Ok(p)
    }

    /// Run a manual step request.
    pub(crate) fn run_step(
        &mut self,
        budget: u64,
        pid: Option<Pid>,
        source_only: bool,
    ) -> Result<StepReport, String> {
        if let Some(pid) = pid {
            let t = self.live_task(pid)?;
            let _ = t;
        }
        self.pump(Source::Manual);
        let before: HashMap<Pid, u64> = self.exec.tasks().map(|t| (t.pid, t.ctx.steps)).collect();
        let current_before = self.current_pid();
        self.collected = Some(Vec::new());
        self.last_stop = None;
        let started = Instant::now();
        let mut executed = 0u64;
        let mut stop_reason = "budget";
        let limit = if source_only {
            budget.clamp(1, 100_000)
        } else {
            budget
        };
        loop {
            let remaining = limit - executed;
            if remaining == 0 {
                break;
            }
            let chunk = if source_only {
                1
            } else {
                remaining.min(STEP_CHUNK)
            };
            let out = match pid {
                Some(p) => self
                    .exec
                    .step_debug(p, chunk)
                    .ok_or_else(|| format!("unknown pid {p}"))?,
                None => self.exec.step(chunk),
            };
            executed += out.executed;
            self.exec.check_register_watches();
            self.pump(Source::Manual);
            if let Some(r) = self.classify(out.stop, pid) {
                stop_reason = r;
                break;
            }
            if source_only && executed > 0 && self.at_source_line(pid) {
                break;
            }
            if started.elapsed() >= STEP_TIME_LIMIT {
                stop_reason = "time_limit";
                break;
            }
            if out.executed == 0 {
                stop_reason = "no_runnable";
                break;
            }
        }
        // One sampled trace record per task that ran (traced tasks already emitted theirs).
        let ran: Vec<Pid> = self
            .exec
            .tasks()
            .filter(|t| before.get(&t.pid).is_some_and(|&s| s != t.ctx.steps) && !t.trace)
            .map(|t| t.pid)
            .collect();
        for p in ran {
            if let (Some(t), Some(regs)) = (self.exec.task(p), self.exec.registers(p)) {
                let (pc, psw, steps) = (t.ctx.pc, t.ctx.psw, t.ctx.steps);
                let op = self.code_word(p, pc).unwrap_or(0);
                let rec = self.trace_record(p, pc, pc, op, regs, psw, steps, true);
                if let Value::Object(m) = rec {
                    self.publish("trace_step", Some(p), m);
                }
            }
        }
        let current_after = self.current_pid();
        if pid.is_none() && current_before != current_after && current_after.is_some() {
            self.publish(
                "scheduler",
                current_after,
                payload(vec![
                    ("state", json!("switch")),
                    ("prev_pid", json!(current_before)),
                    ("next_pid", json!(current_after)),
                    ("reason", json!("quantum_expired")),
                    ("executed", json!(executed)),
                    ("source", json!("manual")),
                ]),
            );
        }
        self.clock.manual_reqs += 1;
        self.clock.manual_total += executed;
        let events = self.collected.take().unwrap_or_default();
        let debug_event = events
            .iter()
            .rev()
            .find(|e| e.get("type").and_then(Value::as_str) == Some("debug_stop"))
            .cloned()
            .unwrap_or(Value::Null);
        Ok(StepReport {
            executed,
            stop_reason,
            pid,
            events,
            debug_event,
        })
    }

    fn at_source_line(&self, pid: Option<Pid>) -> bool {
        let Some(pid) = pid.or_else(|| self.current_pid()) else {
            return true;
        };
        let Some(pc) = self.exec.task(pid).map(|t| t.ctx.pc) else {
            return true;
        };
        match self.symbol_table(pid) {
            Some(t) => t
                .line_exact(pc)
                .is_some_and(|l| l.source_kind.as_deref() != Some("compiler")),
            None => true,
        }
    }

    /// Map an executive stop to a `stop_reason`, or None to keep stepping.
    fn classify(&mut self, stop: Stop, pid: Option<Pid>) -> Option<&'static str> {
        if let Some(p) = pid {
            match self.exec.task(p).map(|t| t.state) {
                None | Some(TaskState::Exited) => return Some("exited"),
                Some(TaskState::Faulted) => return Some("fault"),
                Some(TaskState::Waiting(_)) => return Some("blocked"),
                _ => {}
            }
        }
        match stop {
            Stop::Budget => None,
            Stop::Break { .. } => Some(match self.last_stop.as_ref().map(|s| s.0) {
                Some("brk") => "brk",
                Some("watch") => "watch",
                Some("fault") => "fault",
                _ => "breakpoint",
            }),
            Stop::Ended { .. } | Stop::AllTerminal => {
                Some(if self.last_stop.as_ref().is_some_and(|s| s.0 == "fault") {
                    "fault"
                } else {
                    "exited"
                })
            }
            Stop::Idle { .. } => {
                let live = self.live_states();
                Some(
                    if !live.is_empty() && live.iter().all(|s| *s == TaskState::Paused) {
                        "paused"
                    } else if live.iter().any(|s| matches!(s, TaskState::Waiting(_))) {
                        "blocked"
                    } else {
                        "no_runnable"
                    },
                )
            }
        }
    }

    /// The *result* object.
    pub(crate) fn result_json(&self, r: &StepReport) -> Value {
        let focus = r
            .pid
            .or_else(|| self.current_pid())
            .or_else(|| self.exec.tasks().max_by_key(|t| t.ctx.steps).map(|t| t.pid));
        let t = focus.and_then(|p| self.exec.task(p));
        let live: Vec<_> = self
            .exec
            .tasks()
            .filter(|t| !t.state.is_terminal())
            .collect();
        let paused = match r.pid {
            Some(p) => self
                .exec
                .task(p)
                .is_some_and(|t| t.state == TaskState::Paused),
            None => !live.is_empty() && live.iter().all(|t| t.state == TaskState::Paused),
        };
        let truncated = r.events.len() > RESULT_EVENTS;
        let events: Vec<&Value> = r.events.iter().take(RESULT_EVENTS).collect();
        let mut v = json!({
            "executed": r.executed,
            "running": self.exec.has_runnable(),
            "pc": t.map(|t| t.ctx.pc),
            "steps": t.map(|t| t.ctx.steps),
            "cycles": t.map(|t| t.ctx.steps),
            "sleep_pending": live.iter().any(|t| t.state == TaskState::Waiting(hsx_exec::WaitKind::Timer)),
            "paused": paused,
            "current_pid": self.current_pid(),
            "next_pid": self.next_pid(),
            "stop_reason": r.stop_reason,
            "events": events,
            "debug_event": r.debug_event,
        });
        if truncated {
            v.as_object_mut()
                .expect("object")
                .insert("events_truncated".into(), json!(true));
        }
        v
    }

    pub(crate) fn result_payload(&self, r: &StepReport) -> Map<String, Value> {
        payload(vec![("result", self.result_json(r))])
    }

    /// The task that would run next (the current one, else the first runnable).
    fn next_pid(&self) -> Option<Pid> {
        self.current_pid().or_else(|| {
            self.exec
                .tasks()
                .filter(|t| t.state.is_runnable())
                .min_by_key(|t| (t.sched.priority, t.pid))
                .map(|t| t.pid)
        })
    }

    pub(super) fn cmd_clock(&mut self, a: &Args<'_>, session: Option<&str>) -> Reply {
        let op = a
            .word(&["op", "action"])?
            .unwrap_or_else(|| "status".into());
        match op.as_str() {
            "status" => {}
            "start" | "run" => self.clock.start(),
            "stop" | "halt" => self.clock.stop(),
            "rate" => {
                let v = a.raw(&["rate", "value", "hz"]);
                let Some((k, v)) = v else {
                    return Err("clock rate requires 'rate' value".into());
                };
                let rate = crate::wire::float_value(v).ok_or_else(|| Args::invalid(k, v))?;
                if rate < 0.0 {
                    return Err("clock rate must be non-negative".into());
                }
                self.clock.set_rate(rate);
            }
            "step" => {
                let mut p = self.cmd_step(a, session)?;
                p.insert("clock".into(), self.clock_json());
                return Ok(p);
            }
            "advance" => {
                let ms = a.req_int_in(&["ms"], 0, i64::MAX)?;
                if self.exec.config().clock != ClockMode::Virtual {
                    return Err("clock_not_virtual".into());
                }
                self.exec.advance_clock(ms as u64);
            }
            other => return Err(format!("unknown clock op '{other}'")),
        }
        Ok(self.clock_payload())
    }

    pub(super) fn cmd_sched(&mut self, a: &Args<'_>, session: Option<&str>) -> Reply {
        match a.pid_opt()? {
            Some(pid) => {
                self.lock_check(pid, session)?;
                let priority = a.int_in(&["priority"], 0, 255)?.map(|v| v as u8);
                let quantum = a
                    .int_in(&["quantum"], 1, u32::MAX as i64)?
                    .map(|v| v as u32);
                self.exec
                    .set_sched(pid, priority, quantum)
                    .map_err(control_error)?;
                let t = self
                    .exec
                    .task(pid)
                    .ok_or_else(|| format!("unknown pid {pid}"))?;
                Ok(payload(vec![("task", self.task_json(t))]))
            }
            None => {
                let limit = a.int_in(&["limit"], 0, 1 << 20)?.unwrap_or(64) as usize;
                Ok(payload(vec![(
                    "scheduler",
                    json!({"counters": self.sched_counters(), "trace": self.sched_trace(limit)}),
                )]))
            }
        }
    }

    pub(super) fn cmd_dmesg(&mut self, a: &Args<'_>) -> Reply {
        let limit = a.int_in(&["limit"], 0, 4096)?.unwrap_or(64) as usize;
        let session = a.str_opt(&["filter_session"])?;
        Ok(payload(vec![(
            "logs",
            json!(self.dmesg.list(limit, session)),
        )]))
    }
}

/// Assemble and link one MVASM file alone (app name = file stem); the error is the first
/// diagnostic line (`file:line:col: error: ...`).
fn assemble_source_file(path: &Path) -> Result<hsx_asm::Linked, String> {
    let first_line = |d: hsx_asm::Diagnostics| {
        let text = d.to_string();
        text.lines().next().unwrap_or("assembly failed").to_string()
    };
    let opts = hsx_asm::AsmOptions {
        single_unit: true,
        ..hsx_asm::AsmOptions::default()
    };
    let unit = hsx_asm::assemble_unit(path, &opts).map_err(first_line)?;
    let app_name = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    hsx_asm::link(
        &[unit.into_link_input(path.display().to_string())],
        &hsx_asm::LinkOptions {
            app_name,
            ..hsx_asm::LinkOptions::default()
        },
    )
    .map_err(first_line)
}

/// Read and check a `.sym` file; warnings are appended for the `load` reply.
pub(crate) fn load_symbols(path: &Path, crc: Option<u32>, warnings: &mut Vec<String>) -> SymInfo {
    let shown = path.display().to_string();
    if !path.exists() {
        warnings.push(format!("symbols_missing:{shown}"));
        return SymInfo {
            path: path.to_path_buf(),
            table: None,
            error: Some("missing".into()),
            stale: false,
        };
    }
    match hsx_debug::SymbolTable::load(path) {
        Ok(table) => {
            let stale = matches!((table.hxe_crc, crc), (Some(a), Some(b)) if a != b);
            if stale {
                warnings.push(format!("symbols_stale:{shown}"));
            }
            SymInfo {
                path: std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf()),
                table: Some(std::sync::Arc::new(table)),
                error: None,
                stale,
            }
        }
        Err(e) => {
            warnings.push(format!("symbols_failed:{e}"));
            SymInfo {
                path: path.to_path_buf(),
                table: None,
                error: Some(e),
                stale: false,
            }
        }
    }
}

pub(crate) fn control_error(e: ControlError) -> String {
    match e {
        ControlError::NoSuchTask(pid) => format!("unknown pid {pid}"),
        ControlError::Terminal(pid, s) => {
            format!("task {pid} is not live (state {})", s.wire_name())
        }
    }
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "No such file or directory".into(),
        std::io::ErrorKind::PermissionDenied => "Permission denied".into(),
        _ => e.to_string(),
    }
}
