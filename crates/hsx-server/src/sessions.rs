//! Sessions and PID locks (`protocol.md` §3).

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};

use crate::events::epoch_now;
use crate::wire::{Args, compact, int_value};

/// Most sessions open at once.
pub const MAX_SESSIONS: usize = 64;
/// Features echoed by `session.open`.
pub const FEATURES: &[&str] = &[
    "events", "stack", "disasm", "symbols", "memory", "watch", "stdio",
];

/// One session.
#[derive(Debug, Clone)]
pub struct Session {
    /// UUID-4 id.
    pub id: String,
    /// Client name.
    pub client: String,
    /// Heartbeat interval, seconds.
    pub heartbeat_s: u64,
    /// Accepted features.
    pub features: Vec<String>,
    /// Subscription queue size.
    pub max_events: usize,
    /// `pid_lock` as given.
    pub pid_lock: Value,
    /// Locked pids.
    pub locks: BTreeSet<u32>,
    /// Creation time (epoch s).
    pub created_at: f64,
    /// Last use (epoch s) and its monotonic twin.
    pub last_seen: f64,
    last_seen_at: Instant,
    created: Instant,
    /// Warnings of the open.
    pub warnings: Vec<String>,
    /// Active subscription id.
    pub subscription: Option<u64>,
}

impl Session {
    /// The `session` object.
    pub fn to_json(&self, with_locks: bool) -> Value {
        let mut v = json!({
            "id": self.id,
            "client": self.client,
            "heartbeat_s": self.heartbeat_s,
            "features": self.features,
            "max_events": self.max_events,
            "pid_lock": self.pid_lock,
            "created_at": self.created_at,
            "last_seen": self.last_seen,
        });
        let obj = v.as_object_mut().expect("object");
        if !self.warnings.is_empty() {
            obj.insert("warnings".into(), json!(self.warnings));
        }
        if with_locks {
            obj.insert("pid_locks".into(), json!(self.locks));
        }
        v
    }

    /// Seconds since creation.
    pub fn age_s(&self) -> f64 {
        self.created.elapsed().as_secs_f64()
    }

    /// Seconds since last use.
    pub fn idle_s(&self) -> f64 {
        self.last_seen_at.elapsed().as_secs_f64()
    }
}

/// The session table.
#[derive(Debug, Default)]
pub struct Sessions {
    map: HashMap<String, Session>,
}

impl Sessions {
    /// Open a session from a `session.open` request.
    pub fn open(&mut self, args: &Args<'_>) -> Result<&Session, String> {
        if self.map.len() >= MAX_SESSIONS {
            return Err("too_many_sessions".into());
        }
        let fields = args.fields();
        let mut warnings = Vec::new();
        let client = match fields.get("client") {
            Some(Value::String(s)) => s.clone(),
            _ => "unknown".into(),
        };
        let caps = fields.get("capabilities").and_then(Value::as_object);
        let mut features = Vec::new();
        if let Some(f) = caps
            .and_then(|c| c.get("features"))
            .filter(|v| !v.is_null())
        {
            let Some(list) = f.as_array() else {
                return Err("capabilities.features must be a list when provided".into());
            };
            for item in list {
                let name = item
                    .as_str()
                    .map(str::to_owned)
                    .unwrap_or_else(|| compact(item));
                if FEATURES.contains(&name.as_str()) {
                    if !features.contains(&name) {
                        features.push(name);
                    }
                } else {
                    warnings.push(format!("unsupported_feature:{name}"));
                }
            }
        }
        let mut max_events = 256i64;
        if let Some(v) = caps
            .and_then(|c| c.get("max_events"))
            .filter(|v| !v.is_null())
        {
            let n = int_value(v).ok_or_else(|| Args::invalid("max_events", v))?;
            if n <= 0 {
                return Err(format!("invalid value for 'max_events': {}", compact(v)));
            }
            max_events = n.clamp(2, 2048);
            if max_events != n {
                warnings.push(format!("max_events_clamped:{max_events}"));
            }
        }
        let mut heartbeat = 30i64;
        if let Some(v) = fields.get("heartbeat_s").filter(|v| !v.is_null()) {
            let n = int_value(v).ok_or_else(|| Args::invalid("heartbeat_s", v))?;
            heartbeat = n.clamp(5, 300);
            if heartbeat != n {
                warnings.push(format!("heartbeat_clamped:{heartbeat}"));
            }
        }
        let pid_lock = fields.get("pid_lock").cloned().unwrap_or(Value::Null);
        let mut locks = BTreeSet::new();
        let list: Vec<&Value> = match &pid_lock {
            Value::Null => Vec::new(),
            Value::Array(a) => a.iter().collect(),
            other => vec![other],
        };
        for v in list {
            match int_value(v) {
                Some(n) if n < 0 => return Err("pid_lock values must be non-negative".into()),
                Some(n) if n <= u32::MAX as i64 => {
                    locks.insert(n as u32);
                }
                _ => return Err(Args::invalid("pid_lock", v)),
            }
        }
        for &pid in &locks {
            if pid != 0 && self.holder(pid).is_some() {
                return Err(format!("pid_locked:{pid}"));
            }
        }
        let now = epoch_now();
        let id = uuid::Uuid::new_v4().to_string();
        let session = Session {
            id: id.clone(),
            client,
            heartbeat_s: heartbeat as u64,
            features,
            max_events: max_events as usize,
            pid_lock,
            locks,
            created_at: now,
            last_seen: now,
            last_seen_at: Instant::now(),
            created: Instant::now(),
            warnings,
            subscription: None,
        };
        self.map.insert(id.clone(), session);
        Ok(&self.map[&id])
    }

    /// A session by id.
    pub fn get(&self, id: &str) -> Option<&Session> {
        self.map.get(id)
    }

    /// A session by id, mutably.
    pub fn get_mut(&mut self, id: &str) -> Option<&mut Session> {
        self.map.get_mut(id)
    }

    /// Refresh `last_seen`.
    pub fn touch(&mut self, id: &str) -> bool {
        match self.map.get_mut(id) {
            Some(s) => {
                s.last_seen = epoch_now();
                s.last_seen_at = Instant::now();
                true
            }
            None => false,
        }
    }

    /// Remove a session.
    pub fn remove(&mut self, id: &str) -> Option<Session> {
        self.map.remove(id)
    }

    /// The session locking `pid`.
    pub fn holder(&self, pid: u32) -> Option<&str> {
        self.map
            .values()
            .find(|s| s.locks.contains(&pid))
            .map(|s| s.id.as_str())
    }

    /// `pid_locked:<pid>` if another session (or any, when sessionless) holds `pid`.
    pub fn check_lock(&self, pid: u32, session: Option<&str>) -> Result<(), String> {
        match self.holder(pid) {
            Some(h) if Some(h) != session => Err(format!("pid_locked:{pid}")),
            _ => Ok(()),
        }
    }

    /// Move a lock from `old` to `new` (`reload`).
    pub fn move_lock(&mut self, old: u32, new: u32) {
        for s in self.map.values_mut() {
            if s.locks.remove(&old) {
                s.locks.insert(new);
            }
        }
    }

    /// Sessions past their heartbeat with no subscription.
    pub fn expired(&self) -> Vec<String> {
        self.map
            .values()
            .filter(|s| {
                s.subscription.is_none()
                    && s.last_seen_at.elapsed() > Duration::from_secs(s.heartbeat_s)
            })
            .map(|s| s.id.clone())
            .collect()
    }

    /// All sessions sorted by creation.
    pub fn sorted(&self) -> Vec<&Session> {
        let mut v: Vec<&Session> = self.map.values().collect();
        v.sort_by_key(|s| s.created);
        v
    }

    /// Remove every session.
    pub fn drain(&mut self) -> Vec<Session> {
        self.map.drain().map(|(_, s)| s).collect()
    }

    /// Payload helper for `session.list`.
    pub fn list_json(&self) -> Value {
        let list: Vec<Value> = self
            .sorted()
            .into_iter()
            .map(|s| {
                let mut v = s.to_json(true);
                if let Some(o) = v.as_object_mut() {
                    o.insert("age_s".into(), json!(s.age_s()));
                    o.insert("idle_s".into(), json!(s.idle_s()));
                }
                v
            })
            .collect();
        Value::Array(list)
    }
}

/// Build a payload map from pairs.
pub fn payload(pairs: Vec<(&str, Value)>) -> Map<String, Value> {
    pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}
