//! Sessions, subscriptions and event delivery (`protocol.md` §3, §4, §8).

use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};

use super::{Core, Reply, Subscription};
use crate::events::{Filter, Published};
use crate::net::ConnId;
use crate::sessions::payload;
use crate::wire::{Args, error_reply};

/// Slow-consumer warnings start this long after subscribing.
const SLOW_GRACE: Duration = Duration::from_secs(1);
/// Minimum interval between `slow_consumer` warnings.
const SLOW_EVERY: Duration = Duration::from_millis(500);

impl Core {
    pub(super) fn cmd_streams(
        &mut self,
        conn: ConnId,
        cmd: &str,
        a: &Args<'_>,
        session: Option<&str>,
    ) -> Reply {
        if cmd == "session.open" {
            let s = self.sessions.open(a)?;
            let v = s.to_json(false);
            let (id, client) = (s.id.clone(), s.client.clone());
            self.log(
                crate::config::LogLevel::Info,
                format!("session opened client={client}"),
                None,
                Some(&id),
            );
            return Ok(payload(vec![("session", v)]));
        }
        if cmd == "session.list" {
            return Ok(payload(vec![("sessions", self.sessions.list_json())]));
        }
        let Some(sid) = session else {
            return Err("session_required".into());
        };
        match cmd {
            "session.keepalive" => Ok(Map::new()),
            "session.close" => {
                self.close_session(sid, "closed");
                Ok(Map::new())
            }
            "session.current" => {
                let s = self.sessions.get(sid).ok_or("session_required")?;
                Ok(payload(vec![("session", s.to_json(true))]))
            }
            "session.terminate" => {
                let target = a
                    .str_opt(&["target", "id"])?
                    .ok_or_else(|| a.missing("target"))?
                    .to_owned();
                if self.sessions.get(&target).is_none() {
                    return Err("session_not_found".into());
                }
                self.close_session(&target, "admin_close");
                Ok(payload(vec![(
                    "closed",
                    json!({"id": target, "reason": "admin_close"}),
                )]))
            }
            "events.subscribe" => self.subscribe(conn, sid, a),
            "events.ack" => {
                let sub = self
                    .sessions
                    .get(sid)
                    .and_then(|s| s.subscription)
                    .ok_or("session_required")?;
                let seq = a.req_int_in(&["seq"], 0, i64::MAX)? as u64;
                let conn = self
                    .subs
                    .get(&sub)
                    .map(|s| s.conn)
                    .ok_or("session_required")?;
                let outbox = self.conns.get(&conn).map(|c| c.outbox.clone());
                let d = outbox
                    .and_then(|o| o.ack(sub, seq))
                    .ok_or("session_required")?;
                Ok(payload(vec![(
                    "events",
                    json!({"pending": d.pending, "high_water": d.high_water, "drops": d.drops, "last_ack": d.last_ack}),
                )]))
            }
            "events.unsubscribe" => {
                let sub = self.sessions.get(sid).and_then(|s| s.subscription);
                if let Some(sub) = sub {
                    self.end_subscription(sub, None);
                }
                Ok(payload(vec![("unsubscribed", json!(sub.is_some()))]))
            }
            _ => Err(format!("unknown_cmd:{cmd}")),
        }
    }

    fn subscribe(&mut self, conn: ConnId, sid: &str, a: &Args<'_>) -> Reply {
        let (filter, since, warnings) = Filter::parse(a.fields().get("filters"))?;
        let auto_ack = a.bool_opt(&["auto_ack"])?.unwrap_or(false);
        let max_events = self.sessions.get(sid).ok_or("session_required")?.max_events;
        // Replace the session's previous subscription, wherever it lives.
        if let Some(old) = self.sessions.get(sid).and_then(|s| s.subscription) {
            self.end_subscription(old, Some("subscription_replaced"));
        }
        // A connection carries one subscription.
        if let Some(old) = self.conns.get(&conn).and_then(|c| c.sub) {
            self.end_subscription(old, Some("subscription_replaced"));
        }
        let id = self.next_sub;
        self.next_sub += 1;
        let token = format!("{sid}:{}", uuid::Uuid::new_v4());
        let Some(c) = self.conns.get_mut(&conn) else {
            return Err("session_required".into());
        };
        c.sub = Some(id);
        c.closing_since = None;
        let heartbeat = c.multiplexed || filter.wants_heartbeat();
        c.outbox.attach(id, max_events, auto_ack, heartbeat);
        let outbox = c.outbox.clone();
        if let Some(s) = self.sessions.get_mut(sid) {
            s.subscription = Some(id);
        }
        let cursor = self.bus.last_seq();
        let mut ack = json!({
            "token": token, "max": max_events, "cursor": cursor, "retention_ms": 5000,
            "pending": 0, "high_water": 0, "drops": 0,
        });
        let obj = ack.as_object_mut().expect("object");
        if let Some(s) = since {
            obj.insert("since_seq".into(), json!(s));
        }
        if !warnings.is_empty() {
            obj.insert("warnings".into(), json!(warnings));
        }
        // The ack must be the first line of the subscription: write it now, then replay.
        outbox.push_reply(crate::wire::ok_reply(payload(vec![("events", ack)])));
        self.subs.insert(
            id,
            Subscription {
                token: token.clone(),
                session: sid.to_owned(),
                conn,
                filter: filter.clone(),
                created: Instant::now(),
                last_slow: None,
                coalesce_drop: false,
            },
        );
        if let Some(since) = since {
            if let Some(oldest) = self.bus.oldest()
                && since + 1 < oldest
            {
                self.warn_sub(
                    id,
                    "seq_evicted",
                    vec![("since_seq", json!(since)), ("oldest_seq", json!(oldest))],
                );
            }
            let replay: Vec<Published> = self
                .bus
                .since(since)
                .filter(|p| filter.accepts(&p.etype, p.pid))
                .cloned()
                .collect();
            for p in replay {
                self.deliver(id, &p);
            }
        }
        Err(ALREADY_REPLIED.into())
    }

    /// End a subscription; `warning` is sent to a multiplexed connection first. A
    /// dedicated connection is closed once flushed.
    pub(crate) fn end_subscription(&mut self, sub: u64, warning: Option<&str>) {
        let Some(s) = self.subs.remove(&sub) else {
            return;
        };
        if let Some(sess) = self.sessions.get_mut(&s.session)
            && sess.subscription == Some(sub)
        {
            sess.subscription = None;
        }
        if let Some(c) = self.conns.get_mut(&s.conn) {
            c.outbox.detach(sub);
            if c.sub == Some(sub) {
                c.sub = None;
            }
            let multiplexed = c.multiplexed;
            if multiplexed {
                if let Some(reason) = warning {
                    let p = self.bus.publish(
                        "warning",
                        None,
                        payload(vec![
                            ("reason", json!(reason)),
                            ("subscription", json!(s.token)),
                        ]),
                    );
                    if let Some(c) = self.conns.get(&s.conn) {
                        c.outbox.push_warning(p.line.to_string());
                    }
                }
            } else if let Some(c) = self.conns.get_mut(&s.conn) {
                c.outbox.close_after_flush();
                c.closing_since = Some(Instant::now());
            }
        }
    }

    /// Close a session: release its locks, end its subscription.
    pub(crate) fn close_session(&mut self, id: &str, reason: &str) {
        let sub = self.sessions.get(id).and_then(|s| s.subscription);
        if let Some(sub) = sub {
            let warn = (reason == "session_expired").then_some("session_expired");
            self.end_subscription(sub, warn);
        }
        if self.sessions.remove(id).is_some() {
            self.log(
                crate::config::LogLevel::Info,
                format!("session closed reason={reason}"),
                None,
                Some(id),
            );
        }
    }

    /// Publish an event to the retention ring and every subscription that accepts it.
    /// Returns true if at least one subscription took it.
    pub(crate) fn publish(
        &mut self,
        etype: &str,
        pid: Option<u32>,
        data: Map<String, Value>,
    ) -> bool {
        let p = self.bus.publish(etype, pid, data);
        if let Some(c) = &mut self.collected
            && etype != "trace_step"
        {
            c.push((*p.envelope).clone());
        }
        let targets: Vec<u64> = self
            .subs
            .iter()
            .filter(|(_, s)| s.filter.accepts(&p.etype, p.pid))
            .map(|(&id, _)| id)
            .collect();
        let delivered = !targets.is_empty();
        for id in targets {
            self.deliver(id, &p);
        }
        delivered
    }

    fn deliver(&mut self, sub: u64, p: &Published) {
        let Some(s) = self.subs.get(&sub) else {
            return;
        };
        let Some(c) = self.conns.get(&s.conn) else {
            return;
        };
        if let Some(dropped) = c.outbox.push_event(sub, p.seq, p.line.clone()) {
            let drops = c.outbox.delivery().drops;
            // One queued event_dropped warning at a time per subscription.
            let coalesce = self.subs.get(&sub).is_some_and(|s| s.coalesce_drop);
            if !coalesce {
                if let Some(s) = self.subs.get_mut(&sub) {
                    s.coalesce_drop = true;
                }
                self.warn_sub(
                    sub,
                    "event_dropped",
                    vec![("dropped_seq", json!(dropped)), ("drops", json!(drops))],
                );
            }
        }
    }

    /// Send a warning to one subscription.
    pub(crate) fn warn_sub(&mut self, sub: u64, reason: &str, fields: Vec<(&str, Value)>) {
        let Some(s) = self.subs.get(&sub) else {
            return;
        };
        let mut data = payload(vec![
            ("reason", json!(reason)),
            ("subscription", json!(s.token)),
        ]);
        for (k, v) in fields {
            data.insert(k.into(), v);
        }
        let p = self.bus.publish("warning", None, data);
        if let Some(c) = self.conns.get(&s.conn) {
            c.outbox.push_warning(p.line.to_string());
        }
    }

    /// Slow-consumer detection (`protocol.md` §8.4).
    pub(crate) fn check_slow_consumers(&mut self) {
        let ids: Vec<u64> = self.subs.keys().copied().collect();
        for id in ids {
            let Some(s) = self.subs.get_mut(&id) else {
                continue;
            };
            s.coalesce_drop = false;
            if s.created.elapsed() < SLOW_GRACE {
                continue;
            }
            let Some(c) = self.conns.get(&s.conn) else {
                continue;
            };
            let d = c.outbox.delivery();
            let max = d.max_events.max(1);
            let (warn_at, drop_at) = ((2 * max).max(64), (4 * max).max(256));
            let fields = vec![
                ("pending", json!(d.pending)),
                ("high_water", json!(d.high_water)),
                ("drops", json!(d.drops)),
            ];
            let due = s.last_slow.is_none_or(|t| t.elapsed() >= SLOW_EVERY);
            if d.pending >= warn_at && due {
                s.last_slow = Some(Instant::now());
                self.warn_sub(id, "slow_consumer", fields.clone());
            }
            if d.pending >= drop_at {
                let conn = self.subs.get(&id).map(|s| s.conn);
                self.warn_sub(id, "slow_consumer_drop", fields);
                self.end_subscription(id, None);
                if let Some(c) = conn.and_then(|conn| self.conns.get_mut(&conn)) {
                    c.outbox.close_after_flush();
                    c.closing_since = Some(Instant::now());
                }
            }
        }
    }

    /// Executive-wide warning to every subscription.
    #[allow(dead_code)]
    pub(crate) fn warn_all(&mut self, reason: &str, fields: Vec<(&str, Value)>) {
        let mut data = payload(vec![("reason", json!(reason))]);
        for (k, v) in fields {
            data.insert(k.into(), v);
        }
        let p = self.bus.publish("warning", None, data);
        for s in self.subs.values() {
            if let Some(c) = self.conns.get(&s.conn) {
                c.outbox.push_warning(p.line.to_string());
            }
        }
    }

    /// `restart` (`protocol.md` §6.1).
    pub(super) fn cmd_restart(&mut self, a: &Args<'_>) -> Reply {
        let targets: Vec<String> = match a.raw(&["targets", "target"]) {
            None => vec!["vm".into(), "exec".into()],
            Some((_, Value::String(s))) => {
                s.split_whitespace().map(str::to_ascii_lowercase).collect()
            }
            Some((_, Value::Array(list))) => list
                .iter()
                .map(|v| v.as_str().map(str::to_ascii_lowercase))
                .collect::<Option<_>>()
                .ok_or_else(|| Args::invalid("targets", &Value::Array(list.clone())))?,
            Some((k, v)) => return Err(Args::invalid(k, v)),
        };
        let mut vm = false;
        let mut exec = false;
        for t in &targets {
            match t.as_str() {
                "vm" => vm = true,
                "exec" => exec = true,
                "all" => {
                    vm = true;
                    exec = true;
                }
                other => return Err(format!("invalid value for 'targets': \"{other}\"")),
            }
        }
        if targets.is_empty() {
            vm = true;
            exec = true;
        }
        if vm || exec {
            self.reset_vm();
        }
        if exec {
            // Reply first: queue it on the requesting connection before closing sessions.
            let ids: Vec<String> = self
                .sessions
                .sorted()
                .iter()
                .map(|s| s.id.clone())
                .collect();
            self.pending_exec_restart = Some(ids);
            self.dmesg.clear();
        }
        Ok(payload(vec![(
            "restart",
            json!({"vm": "requested", "exec": "scheduled"}),
        )]))
    }

    /// Close the sessions a `restart exec` scheduled (after its reply was queued).
    pub(crate) fn finish_exec_restart(&mut self) {
        if let Some(ids) = self.pending_exec_restart.take() {
            for id in ids {
                self.close_session(&id, "restart");
            }
        }
    }

    /// Kill every task and clear debugger state; stop the clock.
    fn reset_vm(&mut self) {
        let pids: Vec<u32> = self.exec.tasks().map(|t| t.pid).collect();
        for pid in pids {
            let _ = self.exec.kill(pid);
            self.exec.clear_watches(pid);
        }
        self.pump(super::Source::Manual);
        self.tasks.clear();
        self.watch_meta.clear();
        self.clock.stop();
    }
}

/// Marker error: the handler already queued its reply (subscribe writes its ack itself).
pub(crate) const ALREADY_REPLIED: &str = "\u{0}already_replied";

/// Reply with an error line on a connection (used outside the request path).
#[allow(dead_code)]
pub(crate) fn send_error(core: &Core, conn: ConnId, text: &str) {
    if let Some(c) = core.conns.get(&conn) {
        c.outbox.push_reply(error_reply(text));
    }
}
