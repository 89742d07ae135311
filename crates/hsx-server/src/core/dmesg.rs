//! The `dmesg` log ring (`protocol.md` §6.2): the server's log records, 512 entries.

use std::collections::VecDeque;

use serde_json::{Value, json};

use crate::config::LogLevel;
use crate::events::epoch_now;

/// Entries kept.
pub const CAPACITY: usize = 512;

#[derive(Debug, Clone)]
struct Entry {
    seq: u64,
    ts: f64,
    level: LogLevel,
    message: String,
    clock_steps: u64,
    pid: Option<u32>,
    session: Option<String>,
}

/// The ring.
#[derive(Debug, Default)]
pub(crate) struct Dmesg {
    entries: VecDeque<Entry>,
    next_seq: u64,
}

impl Dmesg {
    pub fn push(
        &mut self,
        level: LogLevel,
        message: String,
        clock_steps: u64,
        pid: Option<u32>,
        session: Option<&str>,
    ) {
        if self.entries.len() == CAPACITY {
            self.entries.pop_front();
        }
        self.next_seq += 1;
        self.entries.push_back(Entry {
            seq: self.next_seq,
            ts: epoch_now(),
            level,
            message,
            clock_steps,
            pid,
            session: session.map(str::to_owned),
        });
    }

    pub fn clear(&mut self) {
        self.entries.clear();
    }

    /// The last `limit` entries (oldest first), optionally of one session.
    pub fn list(&self, limit: usize, session: Option<&str>) -> Vec<Value> {
        let matching: Vec<&Entry> = self
            .entries
            .iter()
            .filter(|e| session.is_none_or(|s| e.session.as_deref() == Some(s)))
            .collect();
        let skip = matching.len().saturating_sub(limit);
        matching[skip..]
            .iter()
            .map(|e| {
                let mut v = json!({
                    "seq": e.seq, "ts": e.ts, "level": e.level.name(),
                    "message": e.message, "clock_steps": e.clock_steps,
                });
                if let Some(o) = v.as_object_mut() {
                    if let Some(p) = e.pid {
                        o.insert("pid".into(), json!(p));
                    }
                    if let Some(s) = &e.session {
                        o.insert("session".into(), json!(s));
                    }
                }
                v
            })
            .collect()
    }
}
