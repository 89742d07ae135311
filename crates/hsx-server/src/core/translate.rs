//! Executive events → protocol events (`protocol.md` §8.2, `tools.md` §6 event orders).

use std::collections::{BTreeSet, HashMap};

use hsx_exec::debug::DebugEvent;
use hsx_exec::{Event, Pid, ReportedState, StdioStream, TaskState};
use serde_json::{Map, Value, json};

use super::stdio::Message;
use super::{Core, Source};
use crate::config::LogLevel;
use crate::sessions::payload;
use crate::wire::to_hex;

/// The wire reason for an executive reason.
fn wire_reason(reason: &str) -> &str {
    match reason {
        "paused" => "user_pause",
        "resumed" => "resume",
        "exit" => "returned",
        "fault" => "faulted",
        other => other,
    }
}

fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

impl Core {
    /// Drain the executive's events and publish them.
    ///
    /// Stdio messages refill the sink credit of their stream afterwards; the sink may
    /// then take more (new events), so this repeats until the executive is quiet.
    pub(crate) fn pump(&mut self, source: Source) {
        loop {
            let events: Vec<Event> = self.exec.drain_events().collect();
            if events.is_empty() {
                return;
            }
            let mut stdio_touched = BTreeSet::new();
            for e in &events {
                if let Event::StdioMessage { pid, stream, .. } = e {
                    stdio_touched.insert((*pid, *stream));
                }
            }
            self.publish_events(events, source);
            for (pid, stream) in stdio_touched {
                self.refill_stdio_credit(pid, stream);
            }
        }
    }

    fn publish_events(&mut self, events: Vec<Event>, source: Source) {
        // BRK codes and stopping watches, by pid, for the debug_stop preceding task_state.
        let mut brk: HashMap<Pid, (u32, Option<u8>)> = HashMap::new();
        let mut watch_breaks: HashMap<Pid, (u32, u32, u32)> = HashMap::new();
        for e in &events {
            match e {
                Event::DebugBreak {
                    pid,
                    reason: "brk",
                    pc,
                    code,
                } => {
                    brk.insert(*pid, (*pc, *code));
                }
                Event::Mailbox(hsx_exec::mailbox::MailboxEvent::Wait {
                    pid,
                    descriptor,
                    handle,
                    timeout,
                    deadline,
                }) => {
                    self.mbx_waits
                        .insert(*pid, (*descriptor, *handle, *timeout, *deadline));
                }
                Event::Debug(d) => {
                    if let DebugEvent::WatchBreak {
                        pid,
                        watch_id,
                        pc,
                        next_pc,
                    } = **d
                    {
                        watch_breaks.insert(pid, (watch_id, pc, next_pc));
                    }
                }
                _ => {}
            }
        }
        // The executive reports a BRK before the pause; the protocol wants the pause's
        // task_state before debug_break, so hold the BRK's debug_break until then.
        let mut held_brk: HashMap<Pid, (u32, Option<u8>)> = HashMap::new();
        for e in events {
            match e {
                Event::TaskState {
                    pid,
                    prev,
                    new,
                    reason,
                } => {
                    self.on_task_state(pid, prev, new, reason, source, &brk, &watch_breaks);
                    if reason == "brk"
                        && let Some((pc, code)) = held_brk.remove(&pid)
                    {
                        self.publish_debug_break(pid, pc, "post", "brk", code, None);
                    }
                }
                Event::DebugBreak {
                    pid,
                    reason,
                    pc,
                    code,
                } => {
                    if reason == "brk" {
                        held_brk.insert(pid, (pc, code));
                    } else {
                        self.publish_debug_break(pid, pc, "pre", reason, code, None);
                    }
                }
                Event::VmError { pid, fault, pc } => {
                    self.publish(
                        "vm_error",
                        Some(pid),
                        payload(vec![
                            ("error", json!(fault.name())),
                            ("code", json!(fault.code())),
                            ("pc", json!(pc)),
                        ]),
                    );
                }
                Event::StdioMessage {
                    pid,
                    stream,
                    data,
                    flags,
                    channel,
                    src_pid,
                } => self.on_stdio(
                    pid,
                    stream == StdioStream::Err,
                    Message {
                        data,
                        delivered: false,
                        flags,
                        channel,
                        src_pid,
                    },
                ),
                // The server runs the credit sink; these come only from other sinks.
                Event::Stdout { pid, data } => {
                    self.on_stdio(pid, false, Message::plain(pid, data, false))
                }
                Event::Stderr { pid, data } => {
                    self.on_stdio(pid, true, Message::plain(pid, data, true))
                }
                Event::Mailbox(m) => self.on_mailbox_event(m),
                Event::CanTx { pid, id, data } => {
                    self.publish(
                        "can_tx",
                        Some(pid),
                        payload(vec![
                            ("id", json!(id)),
                            ("length", json!(data.len())),
                            ("data_hex", json!(to_hex(&data))),
                        ]),
                    );
                }
                Event::SleepRequest { pid, ms, deadline } => {
                    let deadline = self.epoch_of(deadline);
                    self.publish(
                        "sleep_request",
                        Some(pid),
                        payload(vec![("ms", json!(ms)), ("deadline", json!(deadline))]),
                    );
                }
                Event::SleepComplete { pid } => {
                    self.publish("sleep_complete", Some(pid), Map::new());
                }
                Event::InternalError { pid, message } => {
                    self.log(LogLevel::Error, message, Some(pid), None);
                }
                Event::Debug(d) => self.on_debug_event(*d),
                // Scheduler trace records and SVC traces are not streamed (§8.2).
                Event::Trace(_) | Event::Svc { .. } => {}
            }
        }
        for (pid, (pc, code)) in held_brk {
            self.publish_debug_break(pid, pc, "post", "brk", code, None);
        }
    }

    /// Clock ms → epoch seconds.
    pub(crate) fn epoch_of(&self, ms: u64) -> f64 {
        self.epoch_base + ms as f64 / 1000.0
    }

    #[allow(clippy::too_many_arguments)]
    fn on_task_state(
        &mut self,
        pid: Pid,
        prev: TaskState,
        new: ReportedState,
        reason: &'static str,
        source: Source,
        brk: &HashMap<Pid, (u32, Option<u8>)>,
        watch_breaks: &HashMap<Pid, (u32, u32, u32)>,
    ) {
        let new_name = new.wire_name();
        let info = self.tasks.get(&pid);
        let prev_name: Value = match (reason, info.and_then(|i| i.reported_state)) {
            ("spawn", _) => Value::Null,
            (_, Some(p)) => json!(p),
            (_, None) => json!(prev.wire_name()),
        };
        let runnable = |s: &str| matches!(s, "ready" | "running");
        let debug_reason = matches!(reason, "debug_break" | "brk" | "watch");
        if let Some(p) = prev_name.as_str()
            && runnable(p)
            && runnable(new_name)
            && !debug_reason
        {
            return;
        }
        let task = self.exec.task(pid);
        let pc = task.map_or(0, |t| t.ctx.pc);
        let steps = task.map_or(0, |t| t.ctx.steps);
        let parent = task.map_or(0, |t| t.parent);
        let exit_status = task.and_then(|t| t.exit_status());
        let fault = task.and_then(|t| t.fault());
        let sleep_deadline = task.and_then(|t| t.wait.as_ref()).and_then(|w| w.deadline);
        let mut details = Map::new();
        let wire = match reason {
            "spawn" => {
                if parent == 0 {
                    "loaded"
                } else {
                    details.insert("parent_pid".into(), json!(parent));
                    "spawned"
                }
            }
            other => wire_reason(other),
        };
        // debug_stop precedes the task_state of a debugger stop.
        match reason {
            "debug_break" => {
                details.insert("pc".into(), json!(pc));
                details.insert("phase".into(), json!("pre"));
                self.publish_debug_stop(pid, "breakpoint", pc, pc, steps, None, None);
            }
            "brk" => {
                let (bpc, code) = brk.get(&pid).copied().unwrap_or((pc.wrapping_sub(4), None));
                details.insert("pc".into(), json!(bpc));
                details.insert("code".into(), json!(code));
                self.publish_debug_stop(pid, "brk", bpc, pc, steps, code, None);
            }
            "watch" => {
                let (id, wpc, next) = watch_breaks.get(&pid).copied().unwrap_or((0, pc, pc));
                details.insert("watch_id".into(), json!(id));
                self.publish_debug_stop(pid, "watch", wpc, next, steps, None, None);
            }
            _ => {}
        }
        match new {
            ReportedState::State(TaskState::Exited) => {
                details.insert("exit_status".into(), json!(exit_status));
            }
            ReportedState::State(TaskState::Faulted) => {
                if let Some((fault, fpc)) = fault {
                    details.insert("code".into(), json!(fault.code()));
                    details.insert("name".into(), json!(fault.name()));
                    details.insert("pc".into(), json!(fpc));
                }
            }
            _ => {}
        }
        if wire == "mailbox_wait"
            && let Some((descriptor, handle, timeout, deadline)) = self.mbx_waits.remove(&pid)
        {
            details.insert("descriptor".into(), json!(descriptor));
            details.insert("handle".into(), json!(handle));
            details.insert("timeout".into(), json!(timeout));
            details.insert("deadline".into(), json!(deadline.map(|d| self.epoch_of(d))));
        }
        if reason == "sleep" {
            details.insert(
                "deadline".into(),
                json!(sleep_deadline.map(|d| self.epoch_of(d))),
            );
        }
        let mut data = payload(vec![
            ("prev_state", prev_name.clone()),
            ("new_state", json!(new_name)),
            ("reason", json!(wire)),
        ]);
        if !details.is_empty() {
            data.insert("details".into(), Value::Object(details));
        }
        self.publish("task_state", Some(pid), data);
        if let Some(info) = self.tasks.get_mut(&pid) {
            info.reported_state = Some(new_name);
        }
        if let ReportedState::State(TaskState::Faulted) = new {
            let fault = self.exec.task(pid).and_then(|t| t.fault());
            if let Some((fault, fpc)) = fault {
                self.publish_debug_break(pid, fpc, "pre", "fault", None, None);
                let mut d = obj(json!({
                    "reason": "fault", "pc": fpc, "next_pc": fpc, "steps": steps, "cycles": steps,
                    "code": fault.code(), "error": fault.name(),
                }));
                d.insert("opcode".into(), json!(self.code_word(pid, fpc)));
                self.publish("debug_stop", Some(pid), d.clone());
                self.last_stop = Some(("fault", Value::Object(d)));
            }
        }
        // A switch caused by a block, pause or termination of the running task.
        if prev == TaskState::Running || prev_name.as_str() == Some("running") {
            let sched_reason = match wire {
                "sleep" => Some("sleep"),
                "mailbox_wait" => Some("wait_mbx"),
                "task_wait" => Some("wait_task"),
                "cmd_wait" => Some("wait_cmd"),
                "user_pause" | "debug_break" | "brk" | "watch" => Some("paused"),
                "killed" => Some("killed"),
                "returned" => Some("returned"),
                "faulted" => Some("faulted"),
                _ => None,
            };
            if let Some(r) = sched_reason {
                let next = self.current_pid();
                self.publish(
                    "scheduler",
                    next,
                    payload(vec![
                        ("state", json!("switch")),
                        ("prev_pid", json!(pid)),
                        ("next_pid", json!(next)),
                        ("reason", json!(r)),
                        ("prev_state", json!("running")),
                        ("post_state", json!(new_name)),
                        (
                            "source",
                            json!(if source == Source::Auto {
                                "auto"
                            } else {
                                "manual"
                            }),
                        ),
                    ]),
                );
            }
        }
    }

    /// The first code word at `pc` of a task's image.
    pub(crate) fn code_word(&self, pid: Pid, pc: u32) -> Option<u32> {
        let t = self.exec.task(pid)?;
        let code = &t.image.image.code;
        let b = code.get(pc as usize..pc as usize + 4)?;
        Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// The pid of the RUNNING task.
    pub(crate) fn current_pid(&self) -> Option<Pid> {
        self.exec
            .tasks()
            .find(|t| t.state == TaskState::Running)
            .map(|t| t.pid)
    }

    #[allow(clippy::too_many_arguments)]
    fn publish_debug_stop(
        &mut self,
        pid: Pid,
        reason: &'static str,
        pc: u32,
        next_pc: u32,
        steps: u64,
        code: Option<u8>,
        error: Option<&str>,
    ) {
        let mut d = obj(json!({
            "reason": reason, "pc": pc, "next_pc": next_pc, "steps": steps, "cycles": steps,
        }));
        if let Some(op) = self.code_word(pid, pc) {
            d.insert("opcode".into(), json!(op));
        }
        if let Some(c) = code {
            d.insert("code".into(), json!(c));
        }
        if let Some(e) = error {
            d.insert("error".into(), json!(e));
        }
        self.publish("debug_stop", Some(pid), d.clone());
        self.last_stop = Some((reason, Value::Object(d)));
    }

    /// Publish a `debug_stop` for `dbg step` / `dbg break` (reason `step`/`async_break`).
    pub(crate) fn publish_plain_stop(&mut self, pid: Pid, reason: &'static str, pc: u32) {
        let (next, steps) = self
            .exec
            .task(pid)
            .map_or((pc, 0), |t| (t.ctx.pc, t.ctx.steps));
        self.publish_debug_stop(pid, reason, pc, next, steps, None, None);
    }

    fn publish_debug_break(
        &mut self,
        pid: Pid,
        pc: u32,
        phase: &str,
        reason: &str,
        code: Option<u8>,
        watch_id: Option<u32>,
    ) {
        let mut d = payload(vec![
            ("pc", json!(pc)),
            ("phase", json!(phase)),
            ("reason", json!(reason)),
        ]);
        if let Some(c) = code {
            d.insert("code".into(), json!(c));
        }
        if let Some(w) = watch_id {
            d.insert("watch_id".into(), json!(w));
        }
        if let Some(sym) = self.describe_pc(pid, pc) {
            d.insert("symbol".into(), json!(sym));
        }
        self.publish("debug_break", Some(pid), d);
    }

    fn on_stdio(&mut self, pid: Pid, err: bool, mut m: Message) {
        let etype = if err { "stderr" } else { "stdout" };
        m.delivered = self.publish(
            etype,
            Some(pid),
            payload(vec![
                ("text", json!(String::from_utf8_lossy(&m.data))),
                ("data_hex", json!(to_hex(&m.data))),
                ("length", json!(m.data.len())),
            ]),
        );
        let cap = self.cfg.stdio_log_bytes;
        let info = self.tasks.entry(pid).or_default();
        let log = if err {
            &mut info.stderr
        } else {
            &mut info.stdout
        };
        log.push(m, cap);
    }

    fn on_debug_event(&mut self, d: DebugEvent) {
        match d {
            DebugEvent::WatchUpdate {
                pid,
                watch_id,
                old,
                new,
            } => {
                let meta = self.watch_meta.get(&watch_id).cloned();
                let watch = self.exec.watches(pid).find(|w| w.id == watch_id).cloned();
                let (address, length) = match watch.map(|w| w.kind) {
                    Some(hsx_exec::debug::WatchKind::Memory { address, length }) => {
                        (json!(address), length)
                    }
                    _ => (Value::Null, 4),
                };
                let mut data = payload(vec![
                    ("watch_id", json!(watch_id)),
                    ("address", address),
                    ("expr", json!(meta.as_ref().map(|m| m.expr.clone()))),
                    ("type", json!(meta.as_ref().map(|m| m.wtype.clone()))),
                    ("length", json!(length)),
                    ("old", json!(to_hex(&old))),
                    ("new", json!(to_hex(&new))),
                ]);
                if let Some(m) = meta {
                    if let Some(s) = m.symbol {
                        data.insert("symbol".into(), json!(s));
                    }
                    if let Some(l) = m.location {
                        data.insert("location".into(), json!(l));
                    }
                }
                self.publish("watch_update", Some(pid), data);
            }
            DebugEvent::WatchBreak {
                pid, watch_id, pc, ..
            } => {
                self.publish_debug_break(pid, pc, "post", "watch", None, Some(watch_id));
            }
            DebugEvent::TraceStep {
                pid,
                pc,
                next_pc,
                opcode,
                regs,
                psw,
                steps,
            } => {
                let record = self.trace_record(pid, pc, next_pc, opcode, regs, psw, steps, false);
                self.publish("trace_step", Some(pid), obj(record));
            }
        }
    }

    /// Build a trace record, remember it in the task's trace buffer and return it.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn trace_record(
        &mut self,
        pid: Pid,
        pc: u32,
        next_pc: u32,
        opcode: u32,
        regs: [u32; 16],
        psw: u32,
        steps: u64,
        sampled: bool,
    ) -> Value {
        let with_changes = self.trace_changed_regs;
        let cap = self.trace_buffer;
        let info = self.tasks.entry(pid).or_default();
        let mut rec = obj(json!({
            "pc": pc, "next_pc": next_pc, "opcode": opcode, "regs": regs,
            "flags": psw, "steps": steps,
        }));
        if with_changes {
            let mut changed: Vec<String> = Vec::new();
            match &info.last_regs {
                Some(last) => {
                    for (i, (a, b)) in last.iter().zip(regs.iter()).enumerate() {
                        if a != b {
                            changed.push(format!("R{i}"));
                        }
                    }
                }
                None => {
                    changed = (0..16).map(|i| format!("R{i}")).collect();
                    changed.push("PSW".into());
                }
            }
            rec.insert("changed_regs".into(), json!(changed));
        }
        info.last_regs = Some(regs);
        if sampled {
            rec.insert("sampled".into(), json!(true));
        }
        let mut stored = rec.clone();
        stored.insert("pid".into(), json!(pid));
        stored.insert("ts".into(), json!(crate::events::epoch_now()));
        if cap > 0 {
            while info.trace_records.len() >= cap {
                info.trace_records.pop_front();
            }
            info.trace_records.push_back(Value::Object(stored));
        }
        Value::Object(rec)
    }
}
