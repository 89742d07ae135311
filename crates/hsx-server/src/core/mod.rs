//! The executive thread: it owns the [`Executive`], executes requests one at a time
//! (linearizable across connections), runs the auto clock in bounded batches between
//! requests, and publishes events to subscriptions.

mod clock;
mod debugger;
mod dmesg;
mod mailbox;
mod memory;
mod objects;
mod stdio;
mod streams;
mod tasks;
mod translate;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, TryRecvError};
use std::time::{Duration, Instant};

use hsx_debug::SymbolTable;
use hsx_exec::{Config, Executive, Pid, SpawnDefaults};
use serde_json::{Map, Value, json};

use crate::config::{LogLevel, ServerConfig};
use crate::events::{Bus, Filter, epoch_now};
use crate::net::{ConnId, ToCore};
use crate::outbox::Outbox;
use crate::sessions::Sessions;
use crate::wire::{Args, Request, error_reply, ok_reply};

pub(crate) use clock::AutoClock;
use dmesg::Dmesg;
use stdio::StdioLog;

/// A request handler's result: reply payload or error text.
pub(crate) type Reply = Result<Map<String, Value>, String>;

/// Symbols loaded for a task.
#[derive(Debug, Clone)]
pub(crate) struct SymInfo {
    pub path: PathBuf,
    pub table: Option<Arc<SymbolTable>>,
    pub error: Option<String>,
    pub stale: bool,
}

/// Server-side record of a task.
#[derive(Debug, Default)]
pub(crate) struct TaskInfo {
    pub program: PathBuf,
    pub symbols_override: Option<PathBuf>,
    pub symbols: Option<SymInfo>,
    pub trace_records: VecDeque<Value>,
    pub last_regs: Option<[u32; 16]>,
    pub disasm_cache: HashMap<(u32, usize), Value>,
    pub stdout: StdioLog,
    pub stderr: StdioLog,
    pub reported_state: Option<&'static str>,
}

/// Watch metadata the executive does not keep.
#[derive(Debug, Clone)]
pub(crate) struct WatchMeta {
    pub pid: Pid,
    pub expr: String,
    pub wtype: String,
    pub symbol: Option<String>,
    pub location: Option<String>,
}

/// A subscription.
#[derive(Debug)]
pub(crate) struct Subscription {
    pub token: String,
    pub session: String,
    pub conn: ConnId,
    pub filter: Filter,
    pub created: Instant,
    pub last_slow: Option<Instant>,
    pub coalesce_drop: bool,
}

/// A connection as the executive thread sees it.
#[derive(Debug)]
pub(crate) struct Conn {
    pub outbox: Arc<Outbox>,
    pub sub: Option<u64>,
    pub multiplexed: bool,
    pub closing_since: Option<Instant>,
}

/// Where the executed instructions came from (`scheduler.source`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    Manual,
    Auto,
}

/// The executive thread's state.
pub(crate) struct Core {
    pub exec: Executive,
    pub cfg: ServerConfig,
    pub sessions: Sessions,
    pub bus: Bus,
    pub conns: HashMap<ConnId, Conn>,
    pub subs: HashMap<u64, Subscription>,
    pub next_sub: u64,
    pub clock: AutoClock,
    pub tasks: BTreeMap<Pid, TaskInfo>,
    pub watch_meta: HashMap<u32, WatchMeta>,
    pub dmesg: Dmesg,
    pub attached: bool,
    pub trace_buffer: usize,
    pub trace_changed_regs: bool,
    pub shutting_down: bool,
    pub stopping: Arc<AtomicBool>,
    pub listen_addr: SocketAddr,
    /// Envelopes published during the current request (for `result.events`).
    pub collected: Option<Vec<Value>>,
    /// Last debug stop reason seen while pumping (for `stop_reason`).
    pub last_stop: Option<(&'static str, Value)>,
    pub epoch_base: f64,
    /// Sessions to close once a `restart exec` reply is queued.
    pub pending_exec_restart: Option<Vec<String>>,
    /// Mailbox waits (descriptor, handle, timeout, deadline) of the events being
    /// published, for the `task_state` `mailbox_wait` details.
    pub mbx_waits: HashMap<Pid, (u16, u16, u16, Option<u64>)>,
}

impl Core {
    pub fn new(cfg: ServerConfig, stopping: Arc<AtomicBool>, listen_addr: SocketAddr) -> Core {
        let exec = Executive::new(exec_config(&cfg));
        let epoch_base = epoch_now() - exec.now_ms() as f64 / 1000.0;
        Core {
            exec,
            sessions: Sessions::default(),
            bus: Bus::default(),
            conns: HashMap::new(),
            subs: HashMap::new(),
            next_sub: 1,
            clock: AutoClock::new(cfg.rate, cfg.step.max(1), cfg.run),
            tasks: BTreeMap::new(),
            watch_meta: HashMap::new(),
            dmesg: Dmesg::default(),
            attached: false,
            trace_buffer: 256,
            trace_changed_regs: true,
            shutting_down: false,
            stopping,
            listen_addr,
            collected: None,
            last_stop: None,
            epoch_base,
            pending_exec_restart: None,
            mbx_waits: HashMap::new(),
            cfg,
        }
    }

    /// Log to stderr (by level) and to `dmesg`.
    pub fn log(
        &mut self,
        level: LogLevel,
        message: String,
        pid: Option<Pid>,
        session: Option<&str>,
    ) {
        if level <= self.cfg.log_level {
            eprintln!(
                "hsx serve: {}: {message}",
                level.name().to_ascii_lowercase()
            );
        }
        let steps = self.exec.counters().steps;
        self.dmesg.push(level, message, steps, pid, session);
    }

    /// Load the startup images.
    pub fn preload(&mut self) {
        for path in self.cfg.load.clone() {
            let req = Request {
                cmd: "load".into(),
                fields: crate::sessions::payload(vec![("path", json!(path.display().to_string()))]),
            };
            match self.dispatch(0, &req, None) {
                Ok(p) => {
                    let pid = p.get("image").and_then(|i| i.get("pid")).cloned();
                    self.log(
                        LogLevel::Info,
                        format!(
                            "loaded {} as pid {}",
                            path.display(),
                            pid.unwrap_or_default()
                        ),
                        None,
                        None,
                    );
                }
                Err(e) => self.log(LogLevel::Error, e, None, None),
            }
            self.pump(Source::Manual);
        }
    }

    /// The executive thread's loop.
    pub fn run(mut self, rx: Receiver<ToCore>) {
        let mut last_housekeeping = Instant::now();
        loop {
            loop {
                match rx.try_recv() {
                    Ok(msg) => self.on_message(msg),
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Disconnected) => return,
                }
                if self.shutting_down {
                    break;
                }
            }
            if self.shutting_down {
                self.finish_shutdown();
                return;
            }
            if last_housekeeping.elapsed() >= Duration::from_millis(100) {
                self.housekeeping();
                last_housekeeping = Instant::now();
            }
            let wait = if self.clock.running {
                self.clock_tick()
            } else {
                Some(Duration::from_millis(100))
            };
            if let Some(wait) = wait {
                match rx.recv_timeout(wait.min(Duration::from_millis(100))) {
                    Ok(msg) => self.on_message(msg),
                    Err(RecvTimeoutError::Timeout) => {}
                    Err(RecvTimeoutError::Disconnected) => return,
                }
            }
        }
    }

    fn on_message(&mut self, msg: ToCore) {
        match msg {
            ToCore::Open { conn, outbox } => {
                self.conns.insert(
                    conn,
                    Conn {
                        outbox,
                        sub: None,
                        multiplexed: false,
                        closing_since: None,
                    },
                );
            }
            ToCore::Closed { conn } => {
                if let Some(sub) = self.conns.get(&conn).and_then(|c| c.sub) {
                    self.end_subscription(sub, None);
                }
                if let Some(c) = self.conns.remove(&conn) {
                    c.outbox.close_after_flush();
                }
            }
            ToCore::Request { conn, req } => self.on_request(conn, req),
            ToCore::Shutdown => self.shutting_down = true,
        }
    }

    fn on_request(&mut self, conn: ConnId, req: Result<Request, String>) {
        let Some(outbox) = self.conns.get(&conn).map(|c| c.outbox.clone()) else {
            return;
        };
        let req = match req {
            Ok(r) => r,
            Err(e) => {
                outbox.push_reply(error_reply(&e));
                return;
            }
        };
        if self.cfg.log_level >= LogLevel::Debug {
            self.log(LogLevel::Debug, format!("request {}", req.cmd), None, None);
        }
        // A subscribed connection that sends another request becomes multiplexed.
        if let Some(c) = self.conns.get_mut(&conn)
            && c.sub.is_some()
            && !c.multiplexed
            && req.cmd != "events.subscribe"
        {
            c.multiplexed = true;
            c.outbox.set_heartbeat(true);
        }
        let session = match req.fields.get("session") {
            Some(Value::String(s)) if req.cmd != "session.open" => {
                if !self.sessions.touch(s) {
                    outbox.push_reply(error_reply("session_required"));
                    return;
                }
                Some(s.clone())
            }
            _ => None,
        };
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            self.dispatch(conn, &req, session.as_deref())
        }));
        let result = match result {
            Ok(r) => r,
            Err(panic) => {
                let detail = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "panic".into());
                Err(format!("internal_error: {detail}"))
            }
        };
        // Events caused by the request are published before its reply.
        self.pump(Source::Manual);
        match result {
            Ok(payload) => outbox.push_reply(ok_reply(payload)),
            Err(e) if e == streams::ALREADY_REPLIED => {}
            Err(e) => outbox.push_reply(error_reply(&e)),
        }
        self.finish_exec_restart();
    }

    /// Execute one request.
    pub fn dispatch(&mut self, conn: ConnId, req: &Request, session: Option<&str>) -> Reply {
        let a = Args::new(req);
        let cmd = req.cmd.as_str();
        match cmd {
            "ping" => Ok(crate::sessions::payload(vec![
                ("reply", json!("pong")),
                ("protocol", json!(1)),
                (
                    "server",
                    json!(format!("hsx/{}", env!("CARGO_PKG_VERSION"))),
                ),
            ])),
            "session.open" | "session.keepalive" | "session.close" | "session.current"
            | "session.list" | "session.terminate" | "events.subscribe" | "events.ack"
            | "events.unsubscribe" => self.cmd_streams(conn, cmd, &a, session),
            "restart" => self.cmd_restart(&a),
            "shutdown" => {
                self.shutting_down = true;
                Ok(Map::new())
            }
            "info" => self.cmd_info(&a),
            "attach" => {
                self.attached = true;
                self.cmd_info(&a)
            }
            "detach" => {
                self.attached = false;
                self.clock.stop();
                self.cmd_info(&a)
            }
            "load" | "exec" => self.cmd_load(&a, session),
            "ps" => self.cmd_ps(),
            "pause" | "resume" | "kill" => self.cmd_control(cmd, &a, session),
            "reload" => self.cmd_reload(&a, session),
            "step" => self.cmd_step(&a, session),
            "clock" => self.cmd_clock(&a, session),
            "start_auto" => {
                self.clock.start();
                Ok(self.clock_payload())
            }
            "stop_auto" => {
                self.clock.stop();
                Ok(self.clock_payload())
            }
            "sched" => self.cmd_sched(&a, session),
            "dmesg" => self.cmd_dmesg(&a),
            "dumpregs" | "read_regs" => self.cmd_dumpregs(&a),
            "vm_reg_get" | "vm_reg_set" => self.cmd_vm_reg(cmd, &a, session),
            "vm_trace_last" => self.cmd_vm_trace_last(&a),
            "peek" | "read_mem" => self.cmd_peek(&a),
            "poke" | "write_mem" => self.cmd_poke(&a, session),
            "memory" => self.cmd_memory(&a),
            "bp" => self.cmd_bp(&a, session, None),
            "bp.add" | "bp.set" => self.cmd_bp(&a, session, Some("add")),
            "bp.remove" | "bp.clear" => self.cmd_bp(&a, session, Some("remove")),
            "bp.list" => self.cmd_bp(&a, session, Some("list")),
            "bp.clear_all" => self.cmd_bp(&a, session, Some("clear_all")),
            "stack" => self.cmd_stack(&a),
            "disasm" => self.cmd_disasm(&a),
            "sym" => self.cmd_sym(&a, session),
            "symbols" => self.cmd_symbols(&a),
            "watch" => self.cmd_watch(&a, session),
            "trace" => self.cmd_trace(&a, session),
            "dbg" => self.cmd_dbg(&a, session),
            "listen" => self.cmd_listen(&a),
            c if mailbox::handles(c) => self.cmd_mailbox(c, &a, session),
            c if c.starts_with("val.")
                || c.starts_with("val_")
                || c.starts_with("cmd.")
                || c.starts_with("cmd_") =>
            {
                Err(format!(
                    "unsupported: '{c}' needs the value/command registry, which this server does not provide yet"
                ))
            }
            other => Err(format!("unknown_cmd:{other}")),
        }
    }

    /// `pid_locked:<pid>` unless the caller may act on `pid`.
    pub fn lock_check(&self, pid: Pid, session: Option<&str>) -> Result<(), String> {
        self.sessions.check_lock(pid, session)
    }

    /// Periodic work: session expiry, slow consumers, closing connections.
    fn housekeeping(&mut self) {
        for id in self.sessions.expired() {
            self.close_session(&id, "session_expired");
        }
        self.check_slow_consumers();
        let now = Instant::now();
        let mut dead = Vec::new();
        for (&id, c) in &self.conns {
            if let Some(since) = c.closing_since
                && now.duration_since(since) > Duration::from_secs(1)
            {
                c.outbox.kill();
                dead.push(id);
            } else if c.outbox.is_dead() {
                dead.push(id);
            }
        }
        for id in dead {
            if let Some(sub) = self.conns.get(&id).and_then(|c| c.sub) {
                self.end_subscription(sub, None);
            }
            self.conns.remove(&id);
        }
    }

    fn finish_shutdown(&mut self) {
        self.stopping.store(true, Ordering::SeqCst);
        // Wake the acceptor.
        let _ = std::net::TcpStream::connect_timeout(&self.listen_addr, Duration::from_millis(200));
        for c in self.conns.values() {
            c.outbox.close_after_flush();
        }
        let deadline = Instant::now() + Duration::from_millis(700);
        while Instant::now() < deadline && self.conns.values().any(|c| !c.outbox.is_dead()) {
            std::thread::sleep(Duration::from_millis(5));
        }
        for c in self.conns.values() {
            c.outbox.kill();
        }
    }
}

fn exec_config(cfg: &ServerConfig) -> Config {
    Config {
        profile: cfg.profile,
        clock: cfg.clock,
        fs_root: cfg.fs_root.clone(),
        defaults: SpawnDefaults::default(),
        stdio_sink: mailbox::server_sink(cfg.stdio_log_bytes),
        ..Config::default()
    }
}
