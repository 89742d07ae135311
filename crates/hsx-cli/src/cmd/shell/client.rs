//! The shell's connection (pattern C, `tools.md` §5): one multiplexed connection with a
//! session and an event subscription; replies are matched in order, events are buffered.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// Events kept for `events`.
const EVENT_BUFFER: usize = 1000;
/// Categories the shell subscribes to.
const CATEGORIES: &[&str] = &[
    "task_state",
    "debug_break",
    "scheduler",
    "watch_update",
    "mailbox_wait",
    "mailbox_wake",
    "mailbox_timeout",
    "mailbox_error",
    "vm_error",
    "warning",
    "stdout",
    "stderr",
];

/// A connected client.
pub struct Client {
    addr: String,
    events_on: bool,
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    session: Option<String>,
    heartbeat: Duration,
    last_sent: Instant,
    /// Buffered events, oldest first.
    pub events: VecDeque<Value>,
    /// Events not yet shown as notifications or followed output.
    pub fresh: VecDeque<Value>,
    unacked: u64,
    last_seq: u64,
    last_ack: Instant,
}

/// Why a request failed.
pub enum Failure {
    /// The server answered with an error.
    Server(String),
    /// The connection is gone.
    Io(String),
}

impl Client {
    /// Connect, open a session and subscribe.
    pub fn connect(addr: &str, events: bool) -> Result<Client, String> {
        let target = addr
            .to_socket_addrs()
            .map_err(|e| e.to_string())?
            .next()
            .ok_or("no address")?;
        let stream = TcpStream::connect_timeout(&target, Duration::from_secs(5)).map_err(|e| {
            match e.kind() {
                std::io::ErrorKind::ConnectionRefused => "connection refused".to_string(),
                _ => e.to_string(),
            }
        })?;
        let _ = stream.set_nodelay(true);
        let writer = stream.try_clone().map_err(|e| e.to_string())?;
        let mut c = Client {
            addr: addr.to_owned(),
            events_on: events,
            reader: BufReader::new(stream),
            writer,
            session: None,
            heartbeat: Duration::from_secs(30),
            last_sent: Instant::now(),
            events: VecDeque::new(),
            fresh: VecDeque::new(),
            unacked: 0,
            last_seq: 0,
            last_ack: Instant::now(),
        };
        c.open_session().map_err(|f| match f {
            Failure::Server(e) | Failure::Io(e) => e,
        })?;
        Ok(c)
    }

    fn open_session(&mut self) -> Result<(), Failure> {
        let reply = self.raw_request(&json!({
            "cmd": "session.open", "client": "hsx-shell",
            "capabilities": {"features": ["events", "stack", "symbols", "memory", "watch", "disasm", "stdio"]},
        }))?;
        let session = &reply["session"];
        self.session = session["id"].as_str().map(str::to_owned);
        if let Some(hb) = session["heartbeat_s"].as_u64() {
            self.heartbeat = Duration::from_secs(hb.max(2));
        }
        if self.events_on {
            self.raw_request(&json!({
                "cmd": "events.subscribe", "session": self.session, "filters": {"categories": CATEGORIES},
            }))?;
        }
        Ok(())
    }

    /// Close the session (best effort).
    pub fn close(&mut self) {
        if self.session.is_some() {
            let _ = self.raw_request(&json!({"cmd": "session.close", "session": self.session}));
        }
    }

    /// Send a request (the session is added) and return the ok reply. On a lost
    /// connection, reconnect once and retry.
    pub fn request(&mut self, mut req: Value) -> Result<Value, Failure> {
        self.housekeeping();
        if let (Some(obj), Some(s)) = (req.as_object_mut(), &self.session)
            && !obj.contains_key("session")
        {
            obj.insert("session".into(), json!(s));
        }
        match self.raw_request(&req) {
            Err(Failure::Io(_)) => {
                self.reconnect()?;
                if let (Some(obj), Some(s)) = (req.as_object_mut(), &self.session) {
                    obj.insert("session".into(), json!(s));
                }
                self.raw_request(&req)
            }
            Err(Failure::Server(e)) if e.starts_with("session_required") => {
                self.open_session()?;
                if let (Some(obj), Some(s)) = (req.as_object_mut(), &self.session) {
                    obj.insert("session".into(), json!(s));
                }
                self.raw_request(&req)
            }
            other => other,
        }
    }

    fn reconnect(&mut self) -> Result<(), Failure> {
        let fresh = Client::connect(&self.addr, self.events_on).map_err(Failure::Io)?;
        let events = std::mem::take(&mut self.events);
        *self = fresh;
        self.events = events;
        Ok(())
    }

    /// Keepalives and acks.
    fn housekeeping(&mut self) {
        if self.session.is_some() && self.last_sent.elapsed() >= self.heartbeat / 2 {
            let _ = self.raw_request(&json!({"cmd": "session.keepalive", "session": self.session}));
        }
        self.maybe_ack();
    }

    fn maybe_ack(&mut self) {
        if self.unacked > 0
            && (self.unacked >= 5 || self.last_ack.elapsed() >= Duration::from_millis(500))
        {
            self.unacked = 0;
            self.last_ack = Instant::now();
            let seq = self.last_seq;
            let _ = self
                .raw_request(&json!({"cmd": "events.ack", "session": self.session, "seq": seq}));
        }
    }

    /// Write one request and read lines until its reply; events are buffered.
    pub fn raw_request(&mut self, req: &Value) -> Result<Value, Failure> {
        let mut line = serde_json::to_string(req).map_err(|e| Failure::Io(e.to_string()))?;
        line.push('\n');
        self.writer
            .write_all(line.as_bytes())
            .map_err(|e| Failure::Io(e.to_string()))?;
        self.last_sent = Instant::now();
        let _ = self.reader.get_ref().set_read_timeout(None);
        loop {
            let v = self
                .read_value()?
                .ok_or_else(|| Failure::Io("connection closed".into()))?;
            if v.get("status").is_some() {
                return match v["status"].as_str() {
                    Some("ok") => Ok(v),
                    _ => Err(Failure::Server(
                        v["error"].as_str().unwrap_or("error").to_owned(),
                    )),
                };
            }
            self.take_event(v);
        }
    }

    fn read_value(&mut self) -> Result<Option<Value>, Failure> {
        let mut line = String::new();
        loop {
            line.clear();
            match self.reader.read_line(&mut line) {
                Ok(0) => return Ok(None),
                Ok(_) => {
                    if line.trim().is_empty() {
                        continue;
                    }
                    return serde_json::from_str(&line)
                        .map(Some)
                        .map_err(|e| Failure::Io(format!("bad line from server: {e}")));
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    return Err(Failure::Io("timeout".into()));
                }
                Err(e) => return Err(Failure::Io(e.to_string())),
            }
        }
    }

    fn take_event(&mut self, v: Value) {
        if v["type"] == "heartbeat" {
            return;
        }
        if let Some(seq) = v["seq"].as_u64() {
            self.last_seq = self.last_seq.max(seq);
            if v["type"] != "warning" {
                self.unacked += 1;
            }
        }
        if self.events.len() == EVENT_BUFFER {
            self.events.pop_front();
        }
        self.events.push_back(v.clone());
        self.fresh.push_back(v);
    }

    /// Read whatever events arrive within `wait`.
    pub fn poll_events(&mut self, wait: Duration) {
        let deadline = Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            let _ = self.reader.get_ref().set_read_timeout(Some(left));
            match self.read_value() {
                Ok(Some(v)) if v.get("status").is_none() => self.take_event(v),
                _ => break,
            }
        }
        let _ = self.reader.get_ref().set_read_timeout(None);
        self.maybe_ack();
    }
}
