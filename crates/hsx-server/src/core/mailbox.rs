//! Mailbox and stdio commands (`protocol.md` §6.3).
//!
//! `listen` reads the per-task stdio logs the server fills from the executive's stdout
//! and stderr events. The mailbox commands are adapters over the executive's mailbox
//! API; until the executive provides mailboxes they answer with an `unsupported` error
//! (a substring the prototype clients test for).

use serde_json::{Value, json};

use super::{Core, Reply};
use crate::sessions::payload;
use crate::wire::{Args, to_hex};

/// Mailbox commands of the protocol table.
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

impl Core {
    pub(super) fn cmd_mailbox(
        &mut self,
        cmd: &str,
        _a: &Args<'_>,
        _session: Option<&str>,
    ) -> Reply {
        Err(format!(
            "unsupported: '{cmd}' needs the executive's mailbox subsystem, which this build does not include yet"
        ))
    }

    /// `mailbox_profile.config` of `info`.
    pub(super) fn mailbox_profile_config(&self) -> Value {
        Value::Null
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
        for p in pids {
            let Some(info) = self.tasks.get_mut(&p) else {
                continue;
            };
            for (take, name, log) in [
                (out, "out", &mut info.stdout),
                (err, "err", &mut info.stderr),
            ] {
                if !take || messages.len() >= limit {
                    continue;
                }
                for data in log.take(limit - messages.len(), max_len) {
                    messages.push(json!({
                        "pid": p, "stream": name, "target": format!("svc:stdio.{name}@{p}"),
                        "text": String::from_utf8_lossy(&data), "data_hex": to_hex(&data),
                        "flags": 0, "channel": 0, "length": data.len(), "src_pid": p,
                    }));
                }
            }
        }
        Ok(payload(vec![("messages", json!(messages))]))
    }
}
