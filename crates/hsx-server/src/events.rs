//! The event stream (`protocol.md` §8): envelopes with a global seq, the retention ring
//! for `since_seq` replay, and subscription filters.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value, json};

use crate::wire::{compact, int_value};

/// Events retained for replay (warnings and heartbeats excluded).
pub const RETAINED: usize = 4096;

/// Event types the server can emit (for `unknown_category` warnings).
pub const KNOWN_TYPES: &[&str] = &[
    "task_state",
    "scheduler",
    "trace_step",
    "debug_break",
    "debug_stop",
    "watch_update",
    "stdout",
    "stderr",
    "mailbox_created",
    "mailbox_freed",
    "mailbox_send",
    "mailbox_recv",
    "mailbox_wait",
    "mailbox_wake",
    "mailbox_timeout",
    "mailbox_error",
    "mailbox_exhausted",
    "mailbox_backpressure",
    "mailbox_overrun",
    "value_registered",
    "value_changed",
    "cmd_registered",
    "cmd_invoked",
    "cmd_completed",
    "value_unregistered",
    "cmd_unregistered",
    "value_notify_dropped",
    "value_persist_failed",
    "cmd_reply_dropped",
    "sleep_request",
    "sleep_complete",
    "vm_error",
    "can_tx",
    "warning",
    "heartbeat",
];

/// Seconds since the epoch.
pub fn epoch_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// A published event.
#[derive(Debug, Clone)]
pub struct Published {
    /// Its seq.
    pub seq: u64,
    /// Its type.
    pub etype: Arc<str>,
    /// Its pid.
    pub pid: Option<u32>,
    /// The serialized envelope.
    pub line: Arc<str>,
    /// The envelope as a value.
    pub envelope: Arc<Value>,
}

/// Sequence numbers, timestamps and the retention ring.
#[derive(Debug)]
pub struct Bus {
    last_seq: Arc<AtomicU64>,
    last_ts: f64,
    retained: VecDeque<Published>,
}

impl Default for Bus {
    fn default() -> Self {
        Bus {
            last_seq: Arc::new(AtomicU64::new(0)),
            last_ts: 0.0,
            retained: VecDeque::with_capacity(RETAINED),
        }
    }
}

impl Bus {
    /// The last assigned seq, shared with writers for heartbeat cursors.
    pub fn cursor(&self) -> Arc<AtomicU64> {
        self.last_seq.clone()
    }

    /// Last assigned seq (0 if none).
    pub fn last_seq(&self) -> u64 {
        self.last_seq.load(Ordering::Relaxed)
    }

    /// Build an envelope with the next seq. Warnings are not retained.
    pub fn publish(
        &mut self,
        etype: &str,
        pid: Option<u32>,
        data: Map<String, Value>,
    ) -> Published {
        let seq = self.last_seq.fetch_add(1, Ordering::Relaxed) + 1;
        let ts = epoch_now().max(self.last_ts);
        self.last_ts = ts;
        let envelope = json!({"seq": seq, "ts": ts, "type": etype, "pid": pid, "data": data});
        let p = Published {
            seq,
            etype: Arc::from(etype),
            pid,
            line: Arc::from(compact(&envelope)),
            envelope: Arc::new(envelope),
        };
        if etype != "warning" {
            if self.retained.len() == RETAINED {
                self.retained.pop_front();
            }
            self.retained.push_back(p.clone());
        }
        p
    }

    /// Oldest retained seq.
    pub fn oldest(&self) -> Option<u64> {
        self.retained.front().map(|p| p.seq)
    }

    /// Retained events with seq above `since`.
    pub fn since(&self, since: u64) -> impl Iterator<Item = &Published> {
        let start = self.retained.partition_point(|p| p.seq <= since);
        self.retained.range(start..)
    }
}

/// A subscription's filter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// Only these pids (events with a null pid are excluded).
    pub pids: Option<Vec<u32>>,
    /// Exact type names or `prefix*` patterns.
    pub categories: Option<Vec<String>>,
}

impl Filter {
    /// Parse `filters` of `events.subscribe`; returns the filter, `since_seq` and the
    /// `unknown_category:<c>` warnings.
    pub fn parse(filters: Option<&Value>) -> Result<(Filter, Option<u64>, Vec<String>), String> {
        let mut f = Filter::default();
        let mut warnings = Vec::new();
        let Some(filters) = filters.filter(|v| !v.is_null()) else {
            return Ok((f, None, warnings));
        };
        let Some(obj) = filters.as_object() else {
            return Err(format!("invalid value for 'filters': {}", compact(filters)));
        };
        if let Some(p) = obj.get("pid").filter(|v| !v.is_null()) {
            let list: Vec<&Value> = match p {
                Value::Array(a) => a.iter().collect(),
                other => vec![other],
            };
            let mut pids = Vec::new();
            for v in list {
                match int_value(v) {
                    Some(n) if (0..=u32::MAX as i64).contains(&n) => pids.push(n as u32),
                    _ => return Err(format!("invalid value for 'filters.pid': {}", compact(p))),
                }
            }
            f.pids = Some(pids);
        }
        if let Some(c) = obj.get("categories").filter(|v| !v.is_null()) {
            let list: Vec<String> = match c {
                Value::String(s) => s
                    .split([',', ' '])
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect(),
                Value::Array(a) => a
                    .iter()
                    .map(|v| v.as_str().map(str::to_owned))
                    .collect::<Option<_>>()
                    .ok_or_else(|| {
                        format!("invalid value for 'filters.categories': {}", compact(c))
                    })?,
                other => {
                    return Err(format!(
                        "invalid value for 'filters.categories': {}",
                        compact(other)
                    ));
                }
            };
            for cat in &list {
                let known = match cat.strip_suffix('*') {
                    Some(prefix) => KNOWN_TYPES.iter().any(|t| t.starts_with(prefix)),
                    None => KNOWN_TYPES.contains(&cat.as_str()),
                };
                if !known {
                    warnings.push(format!("unknown_category:{cat}"));
                }
            }
            f.categories = Some(list);
        }
        let since = match obj.get("since_seq").filter(|v| !v.is_null()) {
            None => None,
            Some(v) => match int_value(v) {
                Some(n) if n >= 0 => Some(n as u64),
                Some(_) => return Err("filters.since_seq must be non-negative".into()),
                None => {
                    return Err(format!(
                        "invalid value for 'filters.since_seq': {}",
                        compact(v)
                    ));
                }
            },
        };
        Ok((f, since, warnings))
    }

    /// Does an event pass? Warnings and heartbeats always do.
    pub fn accepts(&self, etype: &str, pid: Option<u32>) -> bool {
        if etype == "warning" || etype == "heartbeat" {
            return true;
        }
        if let Some(pids) = &self.pids {
            match pid {
                Some(p) if pids.contains(&p) => {}
                _ => return false,
            }
        }
        if let Some(cats) = &self.categories {
            return cats.iter().any(|c| match c.strip_suffix('*') {
                Some(prefix) => etype.starts_with(prefix),
                None => c == etype,
            });
        }
        true
    }

    /// True if the filter asks for heartbeats.
    pub fn wants_heartbeat(&self) -> bool {
        self.categories
            .as_ref()
            .is_some_and(|c| c.iter().any(|c| c == "heartbeat"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seq_and_retention() {
        let mut bus = Bus::default();
        for _ in 0..RETAINED + 10 {
            bus.publish("task_state", Some(1), Map::new());
        }
        let w = bus.publish("warning", None, Map::new());
        assert_eq!(w.seq, RETAINED as u64 + 11);
        assert_eq!(bus.oldest(), Some(11));
        assert_eq!(bus.since(RETAINED as u64 + 8).count(), 2);
        assert_eq!(bus.last_seq(), RETAINED as u64 + 11);
    }

    #[test]
    fn filters() {
        let (f, since, warnings) = Filter::parse(Some(&json!({
            "pid": [1, "2"], "categories": ["task_state", "mailbox_*", "bogus"], "since_seq": "5"
        })))
        .unwrap();
        assert_eq!(since, Some(5));
        assert_eq!(warnings, vec!["unknown_category:bogus"]);
        assert!(f.accepts("task_state", Some(2)));
        assert!(f.accepts("mailbox_wait", Some(1)));
        assert!(!f.accepts("task_state", Some(3)));
        assert!(!f.accepts("task_state", None));
        assert!(!f.accepts("stdout", Some(1)));
        assert!(f.accepts("warning", None));
        assert_eq!(
            Filter::parse(Some(&json!({"since_seq": -1}))).unwrap_err(),
            "filters.since_seq must be non-negative"
        );
        let (f, _, _) = Filter::parse(Some(&json!({"categories": "stdout stderr"}))).unwrap();
        assert!(f.accepts("stderr", Some(9)));
    }
}
