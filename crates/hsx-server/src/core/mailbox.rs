//! Mailbox and stdio commands (`protocol.md` §6.3) over the executive's host-side
//! mailbox API (`mailbox.md` §15), and the wire form of mailbox events (§8.2).

use hsx_exec::mailbox::{
    DescriptorView, Exhaustion, MailboxEvent, Snapshot, Source, Status, StdioStream, mode,
};
use hsx_exec::{Pid, StdioSink};
use serde_json::{Map, Value, json};

use super::stdio::StdioLog;
use super::{Core, Reply};
use crate::sessions::payload;
use crate::wire::{Args, hex_bytes, int_value, to_hex};

/// Mailbox commands of the protocol table (`listen` is dispatched separately).
const MAILBOX_CMDS: &[&str] = &[
    "mbox",
    "mailbox_snapshot",
    "list",
    "send",
    "stdio_fanout",
    "mailbox_open",
    "mailbox_close",
    "mailbox_bind",
    "mailbox_send",
    "mailbox_recv",
    "mailbox_peek",
    "mailbox_tap",
    "mailbox_config_stdio",
    "mailbox_stdio_summary",
];

/// True for the commands this module serves.
pub(crate) fn handles(cmd: &str) -> bool {
    MAILBOX_CMDS.contains(&cmd)
}

/// The executive's stdio sink for a server whose logs hold `log_bytes` per stream.
pub(crate) fn server_sink(log_bytes: usize) -> StdioSink {
    StdioSink::Credit { initial: log_bytes }
}

/// `off` / `fanout` / `fanout_block` for a descriptor mode.
fn fanout_name(mask: u16) -> &'static str {
    if mask & mode::FANOUT_BLOCK != 0 {
        "fanout_block"
    } else if mask & mode::FANOUT_ANY != 0 {
        "fanout"
    } else {
        "off"
    }
}

fn stream_name(s: StdioStream) -> &'static str {
    match s {
        StdioStream::In => "in",
        StdioStream::Out => "out",
        StdioStream::Err => "err",
    }
}

/// `in out err both all`, optionally prefixed with `std`.
fn parse_streams(word: &str) -> Option<Vec<StdioStream>> {
    let w = word.strip_prefix("std").unwrap_or(word);
    Some(match w {
        "in" => vec![StdioStream::In],
        "out" => vec![StdioStream::Out],
        "err" => vec![StdioStream::Err],
        "both" => vec![StdioStream::Out, StdioStream::Err],
        "all" => StdioStream::ALL.to_vec(),
        _ => return None,
    })
}

/// Stdio mode names: `off`, `fanout`/`drop`, `fanout_block`/`block`.
fn parse_fanout_mode(word: &str) -> Option<u16> {
    Some(match word {
        "off" | "single" | "none" => mode::RDWR,
        "fanout" | "drop" | "fanout_drop" => mode::RDWR | mode::FANOUT | mode::FANOUT_DROP,
        "fanout_block" | "block" => mode::RDWR | mode::FANOUT | mode::FANOUT_BLOCK,
        _ => return None,
    })
}

/// `mbx_status` (+ `mbx_error` when not OK).
fn status_fields(out: &mut Map<String, Value>, status: Status) {
    out.insert("mbx_status".into(), json!(status.code()));
    if status != Status::Ok {
        out.insert("mbx_error".into(), json!(status.name()));
    }
}

fn descriptor_json(d: &DescriptorView, epoch: impl Fn(u64) -> f64) -> Value {
    json!({
        "descriptor_id": d.id,
        "namespace": d.namespace.number(),
        "name": d.name,
        "owner_pid": d.owner,
        "target": d.target,
        "capacity": d.capacity,
        "bytes_used": d.bytes_used,
        "queue_depth": d.depth,
        "head_seq": d.head_seq,
        "next_seq": d.next_seq,
        "mode_mask": d.mode,
        "holders": d.holders,
        "waiters": d.waiters.iter().map(|w| json!({
            "pid": w.pid, "handle": w.handle, "deadline": w.deadline.map(&epoch),
        })).collect::<Vec<_>>(),
        "taps": d.taps,
        "handles": d.handles.iter().map(|h| json!({
            "pid": h.pid, "handle": h.handle, "access": h.access, "tap": h.tap,
            "cursor": h.cursor, "overrun_pending": h.overrun_pending,
        })).collect::<Vec<_>>(),
    })
}

fn stats_json(s: &Snapshot) -> Value {
    let st = &s.stats;
    let per_pid: Map<String, Value> = st
        .handles_per_pid
        .iter()
        .map(|(p, n)| (p.to_string(), json!(n)))
        .collect();
    json!({
        "max_descriptors": st.max_descriptors,
        "active_descriptors": st.active_descriptors,
        "free_descriptors": st.free_descriptors,
        "total_capacity": st.total_capacity,
        "bytes_used": st.bytes_used,
        "bytes_available": st.bytes_available,
        "queue_depth": st.queue_depth,
        "handles_total": st.handles_total,
        "handles_per_pid": per_pid,
        "handle_limit_per_pid": st.handle_limit_per_pid,
        "tap_rate_limit": st.tap_rate_limit,
        "descriptor_pool_exhausted": st.descriptor_pool_exhausted,
        "tap_count": st.tap_count,
        "tap_queue_depth": st.tap_queue_depth,
        "waiter_count": st.waiter_count,
        "fanout_descriptors": st.fanout_descriptors,
    })
}

/// Message payload from `data` (UTF-8) or `data_hex`.
fn data_arg(a: &Args<'_>) -> Result<Vec<u8>, String> {
    if let Some(text) = a.str_opt(&["data"])? {
        return Ok(text.as_bytes().to_vec());
    }
    match a.raw(&["data_hex"]) {
        Some((k, v)) => v
            .as_str()
            .and_then(hex_bytes)
            .ok_or_else(|| Args::invalid(k, v)),
        None => Err(a.missing("data")),
    }
}

impl Core {
    pub(super) fn cmd_mailbox(&mut self, cmd: &str, a: &Args<'_>, session: Option<&str>) -> Reply {
        match cmd {
            "mbox" | "mailbox_snapshot" => Ok(self.snapshot_payload()),
            "list" => self.cmd_list(a),
            "send" => self.cmd_send(a, session),
            "stdio_fanout" => self.cmd_stdio_fanout(a),
            "mailbox_config_stdio" => self.cmd_config_stdio(a),
            "mailbox_stdio_summary" => self.cmd_stdio_summary(a),
            _ => self.cmd_mailbox_op(cmd, a, session),
        }
    }

    /// `mailbox_profile.config` of `info`.
    pub(super) fn mailbox_profile_config(&self) -> Value {
        let l = self.exec.mailbox_limits();
        json!({
            "max_descriptors": l.max_descriptors,
            "handle_limit_per_pid": l.handle_limit_per_pid,
            "default_capacity": l.default_capacity,
            "stdio_capacity": l.stdio_capacity,
            "tap_rate_limit": l.tap_rate_limit,
        })
    }

    fn snapshot_payload(&self) -> Map<String, Value> {
        let s = self.exec.mailbox_snapshot();
        let base = self.epoch_base;
        let epoch = |ms: u64| base + ms as f64 / 1000.0;
        let descriptors: Vec<Value> = s
            .descriptors
            .iter()
            .map(|d| descriptor_json(d, epoch))
            .collect();
        payload(vec![
            ("descriptors", json!(descriptors)),
            ("stats", stats_json(&s)),
        ])
    }

    /// A pid the executive knows (live or terminal, not reaped).
    fn known_pid(&self, pid: Pid) -> Result<Pid, String> {
        match self.exec.task(pid) {
            Some(_) => Ok(pid),
            None => Err(format!("unknown pid {pid}")),
        }
    }

    fn cmd_list(&mut self, a: &Args<'_>) -> Reply {
        let pid = self.known_pid(a.pid()?)?;
        let s = self.exec.mailbox_snapshot();
        let channels: Vec<Value> = s
            .descriptors
            .iter()
            .filter(|d| {
                d.owner == Some(pid)
                    || d.holders.contains(&pid)
                    || d.handles.iter().any(|h| h.pid == pid)
            })
            .map(|d| {
                json!({
                    "descriptor_id": d.id,
                    "target": d.target,
                    "name": d.name,
                    "namespace": d.namespace.number(),
                    "mode_mask": d.mode,
                    "capacity": d.capacity,
                    "bytes_used": d.bytes_used,
                    "queue_depth": d.depth,
                    "subscriber_count": d.handles.len(),
                    "handles": d.handles.iter().filter(|h| h.pid == pid)
                        .map(|h| h.handle).collect::<Vec<_>>(),
                })
            })
            .collect();
        Ok(payload(vec![(
            "channels",
            json!({"pid": pid, "channels": channels}),
        )]))
    }

    fn cmd_send(&mut self, a: &Args<'_>, session: Option<&str>) -> Reply {
        let pid = a.pid()?;
        self.lock_check(pid, session)?;
        self.known_pid(pid)?;
        let data = data_arg(a)?;
        let target = match a.str_opt(&["channel", "target"])? {
            Some(t) => t.trim().to_string(),
            None => format!("svc:stdio.in@{pid}"),
        };
        let r = self.exec.mailbox_send_to(0, &target, &data, 0, 0);
        let mut out = Map::new();
        match r {
            Ok(sent) => {
                status_fields(&mut out, Status::Ok);
                out.insert("length".into(), json!(sent.length));
                out.insert("descriptor".into(), json!(sent.descriptor));
            }
            Err(status) => {
                status_fields(&mut out, status);
                out.insert("length".into(), json!(0));
                out.insert(
                    "descriptor".into(),
                    json!(self.exec.mailboxes().lookup(0, target.as_bytes())),
                );
            }
        }
        out.insert("target".into(), json!(target));
        Ok(out)
    }

    /// Mode of an existing stdio descriptor.
    fn stdio_desc_mode(&self, snap: &Snapshot, pid: Pid, s: StdioStream) -> Option<(u16, u16)> {
        let d = self.exec.mailboxes().stdio_descriptor(pid, s)?;
        Some((d, snap.descriptor(d)?.mode))
    }

    fn streams_json(modes: impl Iterator<Item = (StdioStream, u16)>) -> Value {
        json!(
            modes
                .map(|(s, m)| json!({"stream": stream_name(s), "mode_mask": m, "mode": fanout_name(m)}))
                .collect::<Vec<_>>()
        )
    }

    fn default_streams_json(&self) -> Value {
        let mbx = self.exec.mailboxes();
        Self::streams_json(StdioStream::ALL.iter().map(|&s| (s, mbx.stdio_mode(s))))
    }

    /// [`Self::task_streams_json`] of every task, keyed by pid.
    fn all_task_streams_json(&self, snap: &Snapshot, streams: &[StdioStream]) -> Value {
        Value::Object(
            self.exec
                .tasks()
                .map(|t| {
                    (
                        t.pid.to_string(),
                        self.task_streams_json(snap, t.pid, streams),
                    )
                })
                .collect(),
        )
    }

    fn task_streams_json(&self, snap: &Snapshot, pid: Pid, streams: &[StdioStream]) -> Value {
        Self::streams_json(
            streams
                .iter()
                .filter_map(|&s| self.stdio_desc_mode(snap, pid, s).map(|(_, m)| (s, m))),
        )
    }

    fn cmd_stdio_fanout(&mut self, a: &Args<'_>) -> Reply {
        // Scope: a pid, `default` (future tasks) or `all` (future and existing tasks).
        let scope: Option<Pid> = match a.raw(&["pid"]) {
            None => None,
            Some((_, Value::String(s)))
                if matches!(
                    s.trim().to_ascii_lowercase().as_str(),
                    "default" | "global" | "template"
                ) =>
            {
                None
            }
            Some((_, Value::String(s))) if s.trim().eq_ignore_ascii_case("all") => Some(0),
            Some((k, v)) => match int_value(v) {
                Some(p) if p >= 1 && p <= i64::from(u32::MAX) => Some(p as Pid),
                _ => return Err(Args::invalid(k, v)),
            },
        };
        if let Some(p) = scope.filter(|&p| p != 0) {
            self.known_pid(p)?;
        }
        let streams = match a.word(&["stream"])? {
            None => vec![StdioStream::Out, StdioStream::Err],
            Some(w) => parse_streams(&w).ok_or_else(|| Args::invalid("stream", &json!(w)))?,
        };
        let new_mode = match a.word(&["mode"])? {
            None => None,
            Some(w) => Some(parse_fanout_mode(&w).ok_or_else(|| Args::invalid("mode", &json!(w)))?),
        };
        let applied = new_mode.map(|m| match scope {
            None => self.exec.mailbox_config_stdio(&streams, m, false, None),
            Some(0) => self.exec.mailbox_config_stdio(&streams, m, true, None),
            Some(p) => self.exec.mailbox_config_stdio(&streams, m, true, Some(p)),
        });
        let snap = self.exec.mailbox_snapshot();
        let mut config = Map::new();
        match scope {
            None => {
                config.insert("scope".into(), json!("default"));
                let mbx = self.exec.mailboxes();
                config.insert(
                    "streams".into(),
                    Self::streams_json(streams.iter().map(|&s| (s, mbx.stdio_mode(s)))),
                );
            }
            Some(0) => {
                config.insert("scope".into(), json!("all"));
                let mbx = self.exec.mailboxes();
                config.insert(
                    "streams".into(),
                    Self::streams_json(streams.iter().map(|&s| (s, mbx.stdio_mode(s)))),
                );
                config.insert("tasks".into(), self.all_task_streams_json(&snap, &streams));
            }
            Some(p) => {
                config.insert("scope".into(), json!("pid"));
                config.insert("pid".into(), json!(p));
                config.insert("streams".into(), self.task_streams_json(&snap, p, &streams));
            }
        }
        config.insert("default".into(), self.default_streams_json());
        if let (Some(m), Some(u)) = (new_mode, applied) {
            config.insert("mode".into(), json!(fanout_name(m)));
            config.insert("mode_mask".into(), json!(m));
            let target = |d: &u16| self.exec.mailboxes().target_of(*d);
            config.insert(
                "applied".into(),
                json!({
                    "updated": u.updated.iter().filter_map(target).collect::<Vec<_>>(),
                    "skipped": u.skipped.iter().filter_map(target).collect::<Vec<_>>(),
                }),
            );
        }
        Ok(payload(vec![("config", Value::Object(config))]))
    }

    fn cmd_config_stdio(&mut self, a: &Args<'_>) -> Reply {
        let word = a.word(&["stream"])?.ok_or_else(|| a.missing("stream"))?;
        let streams = parse_streams(&word).ok_or_else(|| Args::invalid("stream", &json!(word)))?;
        let mode_bits = match a.raw(&["mode"]) {
            None => return Err(a.missing("mode")),
            Some((k, v)) => match (int_value(v), v.as_str()) {
                (Some(n), _) if (0..=0xFFFF).contains(&n) => n as u16,
                (None, Some(w)) => parse_fanout_mode(&w.trim().to_ascii_lowercase())
                    .ok_or_else(|| Args::invalid(k, v))?,
                _ => return Err(Args::invalid(k, v)),
            },
        };
        let update_existing = a.bool_opt(&["update_existing"])?.unwrap_or(false);
        let pid = a.pid_opt()?;
        if let Some(p) = pid {
            self.known_pid(p)?;
        }
        let u = self
            .exec
            .mailbox_config_stdio(&streams, mode_bits, update_existing, pid);
        let status = if u.skipped.is_empty() {
            Status::Ok
        } else {
            Status::WouldBlock
        };
        let mut out = Map::new();
        status_fields(&mut out, status);
        out.insert(
            "mode".into(),
            json!(if mode_bits == 0 {
                mode::RDWR
            } else {
                mode_bits
            }),
        );
        out.insert("stream".into(), json!(word));
        out.insert("updated_descriptors".into(), json!(u.updated));
        out.insert("skipped_descriptors".into(), json!(u.skipped));
        Ok(out)
    }

    fn cmd_stdio_summary(&mut self, a: &Args<'_>) -> Reply {
        let streams = match a.word(&["stream"])? {
            None => StdioStream::ALL.to_vec(),
            Some(w) => parse_streams(&w).ok_or_else(|| Args::invalid("stream", &json!(w)))?,
        };
        let default_only = a.bool_opt(&["default_only"])?.unwrap_or(false);
        let pid = a.pid_opt()?;
        if let Some(p) = pid {
            self.known_pid(p)?;
        }
        let snap = self.exec.mailbox_snapshot();
        let mut summary = Map::new();
        summary.insert(
            "streams".into(),
            json!(streams.iter().map(|&s| stream_name(s)).collect::<Vec<_>>()),
        );
        summary.insert("default".into(), self.default_streams_json());
        if !default_only {
            match pid {
                Some(p) => {
                    summary.insert(
                        "task".into(),
                        json!({"pid": p, "streams": self.task_streams_json(&snap, p, &streams)}),
                    );
                }
                None => {
                    summary.insert("tasks".into(), self.all_task_streams_json(&snap, &streams));
                }
            }
        }
        Ok(payload(vec![("summary", Value::Object(summary))]))
    }

    /// `mailbox_open/close/bind/send/recv/peek/tap`: the VM-level API for `pid` (0 =
    /// the host's own handles).
    fn cmd_mailbox_op(&mut self, cmd: &str, a: &Args<'_>, session: Option<&str>) -> Reply {
        let pid = a.int_in(&["pid"], 0, i64::from(u32::MAX))?.unwrap_or(0) as Pid;
        if pid != 0 {
            self.known_pid(pid)?;
            if matches!(
                cmd,
                "mailbox_send" | "mailbox_recv" | "mailbox_close" | "mailbox_tap"
            ) {
                self.lock_check(pid, session)?;
            }
        }
        let handle = || -> Result<u16, String> { Ok(a.req_int_in(&["handle"], 0, 0xFFFF)? as u16) };
        let target = || -> Result<String, String> {
            a.str_opt(&["target"])?
                .map(str::to_string)
                .ok_or_else(|| a.missing("target"))
        };
        let mut out = Map::new();
        match cmd {
            "mailbox_open" => {
                let t = target()?;
                let flags = a.int_in(&["flags"], 0, 0xFFFF)?.unwrap_or(0) as u32;
                let r = self.exec.mailbox_open(pid, &t, flags);
                status_fields(&mut out, r.err().unwrap_or(Status::Ok));
                out.insert("handle".into(), json!(r.unwrap_or(0)));
                out.insert("target".into(), json!(t));
                out.insert("pid".into(), json!(pid));
            }
            "mailbox_close" => {
                let r = self.exec.mailbox_close(pid, handle()?);
                status_fields(&mut out, r.err().unwrap_or(Status::Ok));
            }
            "mailbox_bind" => {
                let t = target()?;
                let capacity = a.int_in(&["capacity"], 0, 0xFFFF)?.unwrap_or(0) as u32;
                let mode_bits = a.int_in(&["mode"], 0, 0xFFFF)?.unwrap_or(0) as u32;
                let r = self.exec.mailbox_bind(pid, &t, capacity, mode_bits);
                status_fields(&mut out, r.err().unwrap_or(Status::Ok));
                let view = r
                    .ok()
                    .and_then(|d| self.exec.mailbox_snapshot().descriptor(d).cloned());
                out.insert("descriptor".into(), json!(r.unwrap_or(0)));
                out.insert(
                    "capacity".into(),
                    json!(view.as_ref().map_or(0, |v| v.capacity)),
                );
                out.insert("mode".into(), json!(view.as_ref().map_or(0, |v| v.mode)));
            }
            "mailbox_send" => {
                let data = data_arg(a)?;
                let flags = a.int_in(&["flags"], 0, 0xFFFF)?.unwrap_or(0) as u16;
                let channel = a.int_in(&["channel"], 0, 0xFFFF)?.unwrap_or(0) as u16;
                let r = match a.raw(&["handle"]) {
                    Some(_) => self
                        .exec
                        .mailbox_send(pid, handle()?, &data, flags, channel),
                    None => self
                        .exec
                        .mailbox_send_to(pid, &target()?, &data, flags, channel),
                };
                status_fields(&mut out, r.err().unwrap_or(Status::Ok));
                out.insert("length".into(), json!(r.map_or(0, |s| s.length)));
                out.insert("descriptor".into(), json!(r.map_or(0, |s| s.descriptor)));
            }
            "mailbox_recv" => {
                let h = handle()?;
                let max_len = a.int_in(&["max_len"], 0, 0xFFFF)?.unwrap_or(512) as u16;
                match self.exec.mailbox_recv(pid, h, max_len) {
                    Ok(m) => {
                        status_fields(&mut out, Status::Ok);
                        out.insert("length".into(), json!(m.copied()));
                        out.insert("flags".into(), json!(m.flags));
                        out.insert("channel".into(), json!(m.channel));
                        out.insert("src_pid".into(), json!(m.src_pid));
                        out.insert("data_hex".into(), json!(to_hex(&m.data)));
                        out.insert("text".into(), json!(String::from_utf8_lossy(&m.data)));
                    }
                    Err(s) => {
                        status_fields(&mut out, s);
                        for k in ["length", "flags", "channel", "src_pid"] {
                            out.insert(k.into(), json!(0));
                        }
                        out.insert("data_hex".into(), json!(""));
                        out.insert("text".into(), json!(""));
                    }
                }
            }
            "mailbox_peek" => match self.exec.mailbox_peek(pid, handle()?) {
                Ok(p) => {
                    status_fields(&mut out, Status::Ok);
                    out.insert(
                        "info".into(),
                        json!({
                            "depth": p.depth, "bytes_used": p.bytes_used, "capacity": p.capacity,
                            "next_len": p.next_len, "head_seq": p.head_seq,
                            "next_seq": p.next_seq, "mode_mask": p.mode,
                        }),
                    );
                }
                Err(s) => {
                    status_fields(&mut out, s);
                    out.insert("info".into(), Value::Null);
                }
            },
            "mailbox_tap" => {
                let h = handle()?;
                let enable = a
                    .bool_opt(&["enable"])?
                    .ok_or_else(|| a.missing("enable"))?;
                let r = self.exec.mailbox_tap(pid, h, enable);
                status_fields(&mut out, r.err().unwrap_or(Status::Ok));
            }
            other => return Err(format!("unknown_cmd:{other}")),
        }
        Ok(out)
    }

    pub(super) fn cmd_listen(&mut self, a: &Args<'_>) -> Reply {
        let pid = a.pid_opt()?;
        let limit = a.int_in(&["limit"], 1, 4096)?.unwrap_or(64) as usize;
        let max_len = a.int_in(&["max_len"], 1, 1 << 20)?.unwrap_or(512) as usize;
        let stream = a.word(&["stream"])?.unwrap_or_else(|| "both".into());
        let (out, err) = match stream.as_str() {
            "out" | "stdout" => (true, false),
            "err" | "stderr" => (false, true),
            "both" | "all" => (true, true),
            other => return Err(format!("invalid value for 'stream': \"{other}\"")),
        };
        if let Some(p) = pid
            && !self.tasks.contains_key(&p)
            && self.exec.task(p).is_none()
        {
            return Err(format!("unknown pid {p}"));
        }
        let pids: Vec<u32> = match pid {
            Some(p) => vec![p],
            None => self.tasks.keys().copied().collect(),
        };
        let mut messages = Vec::new();
        let mut freed = Vec::new();
        for p in pids {
            let Some(info) = self.tasks.get_mut(&p) else {
                continue;
            };
            for (take, stream, log) in [
                (out, StdioStream::Out, &mut info.stdout),
                (err, StdioStream::Err, &mut info.stderr),
            ] {
                if !take || messages.len() >= limit {
                    continue;
                }
                let name = stream_name(stream);
                let taken = log.take(limit - messages.len(), max_len);
                if !taken.is_empty() {
                    freed.push((p, stream));
                }
                for m in taken {
                    messages.push(json!({
                        "pid": p, "stream": name, "target": format!("svc:stdio.{name}@{p}"),
                        "text": String::from_utf8_lossy(&m.data), "data_hex": to_hex(&m.data),
                        "flags": m.flags, "channel": m.channel, "length": m.data.len(),
                        "src_pid": m.src_pid,
                    }));
                }
            }
        }
        // Room was freed: the sink resumes at once on those streams.
        for (p, s) in freed {
            self.refill_stdio_credit(p, s);
        }
        Ok(payload(vec![("messages", json!(messages))]))
    }

    /// Grant the executive's sink the room the stream's log has for undelivered output.
    pub(crate) fn refill_stdio_credit(&mut self, pid: Pid, stream: StdioStream) {
        let largest = self
            .exec
            .mailboxes()
            .stdio_descriptor(pid, stream)
            .and_then(|d| self.exec.mailboxes().max_payload(d))
            .unwrap_or(0) as usize;
        let cap = self.cfg.stdio_log_bytes;
        let empty = StdioLog::default();
        let log = match (self.tasks.get(&pid), stream) {
            (Some(i), StdioStream::Err) => &i.stderr,
            (Some(i), _) => &i.stdout,
            (None, _) => &empty,
        };
        let credit = log.credit(cap, largest);
        self.exec.set_stdio_credit(pid, stream, credit);
    }

    /// Publish a mailbox event (`protocol.md` §8.2).
    pub(crate) fn on_mailbox_event(&mut self, e: MailboxEvent) {
        let etype = e.type_name();
        let pid = e.pid();
        let data = match e {
            MailboxEvent::Created {
                descriptor,
                namespace,
                name,
                owner,
                capacity,
                mode,
                ..
            } => json!({
                "descriptor": descriptor, "namespace": namespace.number(), "name": name,
                "owner": owner, "capacity": capacity, "mode": mode,
            }),
            MailboxEvent::Freed {
                descriptor,
                discarded,
                ..
            } => json!({"descriptor": descriptor, "discarded": discarded}),
            MailboxEvent::Send {
                descriptor,
                handle,
                length,
                flags,
                channel,
                src_pid,
                source,
                ..
            } => json!({
                "descriptor": descriptor, "handle": handle, "length": length, "flags": flags,
                "channel": channel, "src_pid": src_pid,
                // A handle send by pid 0 is a host send (hsx-mailbox reports `svc`
                // for every handle send).
                "source": if pid == 0 && source == Source::Svc { "host" } else { source.name() },
            }),
            MailboxEvent::Recv {
                descriptor,
                handle,
                length,
                flags,
                channel,
                src_pid,
                ..
            } => json!({
                "descriptor": descriptor, "handle": handle, "length": length, "flags": flags,
                "channel": channel, "src_pid": src_pid,
            }),
            MailboxEvent::Wait {
                descriptor,
                handle,
                timeout,
                deadline,
                ..
            } => json!({
                "descriptor": descriptor, "handle": handle, "timeout": timeout,
                "deadline": deadline.map(|d| self.epoch_of(d)),
            }),
            MailboxEvent::Wake {
                descriptor,
                handle,
                length,
                flags,
                channel,
                src_pid,
                ..
            } => json!({
                "descriptor": descriptor, "handle": handle, "status": 0, "length": length,
                "flags": flags, "channel": channel, "src_pid": src_pid,
            }),
            MailboxEvent::Timeout {
                descriptor, handle, ..
            } => json!({
                "descriptor": descriptor, "handle": handle, "status": Status::Timeout.code(),
                "length": 0, "flags": 0, "channel": 0, "src_pid": 0,
            }),
            MailboxEvent::Error {
                function,
                status,
                error,
                ..
            } => json!({"fn": function.name(), "status": status.code(), "error": error}),
            MailboxEvent::Backpressure {
                descriptor,
                policy,
                capacity,
                bytes_used,
                requested,
                tap,
                limit,
                ..
            } => {
                let mut d = json!({
                    "descriptor": descriptor, "policy": policy.name(), "capacity": capacity,
                    "bytes_used": bytes_used, "requested": requested,
                });
                if let Some(t) = tap {
                    d["tap_pid"] = json!(t.tap_pid);
                    d["tap_handle"] = json!(t.tap_handle);
                }
                if let Some(l) = limit {
                    d["limit"] = json!(l);
                }
                d
            }
            MailboxEvent::Overrun {
                descriptor,
                src_pid,
                dropped_seq,
                dropped_length,
                dropped_flags,
                channel,
                reason,
                queue_depth,
                tap,
                ..
            } => {
                let mut d = json!({
                    "descriptor": descriptor, "src_pid": src_pid, "dropped_seq": dropped_seq,
                    "dropped_length": dropped_length, "dropped_flags": dropped_flags,
                    "channel": channel, "reason": reason.name(), "queue_depth": queue_depth,
                });
                if let Some(t) = tap {
                    d["tap_pid"] = json!(t.tap_pid);
                    d["tap_handle"] = json!(t.tap_handle);
                }
                d
            }
            MailboxEvent::Exhausted { what, .. } => {
                let reason = what.reason();
                match what {
                    Exhaustion::HandleLimit {
                        handle_limit,
                        handles,
                    } => {
                        json!({"reason": reason, "handle_limit": handle_limit, "handles": handles})
                    }
                    Exhaustion::DescriptorPoolFull {
                        max_descriptors,
                        namespace,
                        name,
                        owner,
                    } => json!({
                        "reason": reason, "max_descriptors": max_descriptors,
                        "namespace": namespace.number(), "name": name, "owner": owner,
                    }),
                }
            }
        };
        let data = match data {
            Value::Object(m) => m,
            _ => Map::new(),
        };
        self.publish(etype, Some(pid), data);
    }
}
