//! Per-connection output queue and its writer thread (`protocol.md` §1, §4, §8.4).
//!
//! The executive thread pushes replies and events; a writer thread drains them to the
//! socket one whole line per write, so lines never interleave and a slow client never
//! blocks the executive. Events of the connection's subscription are capped at
//! `max_events` queued (oldest dropped); written events are remembered until acked so
//! the executive can compute `pending`.

use std::collections::VecDeque;
use std::io::Write;
use std::net::{Shutdown, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::events::epoch_now;

/// Silence after which a heartbeat is written on subscribed connections.
pub const HEARTBEAT_AFTER: Duration = Duration::from_secs(2);

#[derive(Debug)]
enum Item {
    Reply(String),
    Event { seq: u64, sub: u64, line: Arc<str> },
    Warning(String),
}

/// Delivery counters of the connection's current subscription.
#[derive(Debug, Default)]
pub struct Delivery {
    /// Subscription id these counters belong to (0 = none).
    pub sub: u64,
    /// Seqs written and not yet acknowledged, oldest first.
    pub written: VecDeque<u64>,
    /// Largest pending seen.
    pub high_water: usize,
    /// Events dropped on overflow.
    pub drops: u64,
    /// Last acknowledged seq.
    pub last_ack: u64,
    /// Written events count as acknowledged.
    pub auto_ack: bool,
    /// Events queued, not yet written.
    pub queued: usize,
    /// Queue cap.
    pub max_events: usize,
    /// Seq of the last event written.
    pub last_written: u64,
    /// Written events with seq above the last ack (snapshots only).
    pub pending: usize,
}

#[derive(Debug, Default)]
struct State {
    queue: VecDeque<Item>,
    delivery: Delivery,
    heartbeat: bool,
    closing: bool,
    dead: bool,
}

/// The output side of one connection.
#[derive(Debug)]
pub struct Outbox {
    state: Mutex<State>,
    cond: Condvar,
    stream: TcpStream,
}

impl Outbox {
    /// An outbox writing to (a clone of) `stream`.
    pub fn new(stream: TcpStream) -> Outbox {
        Outbox {
            state: Mutex::new(State::default()),
            cond: Condvar::new(),
            stream,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queue a reply line.
    pub fn push_reply(&self, line: String) {
        let mut s = self.lock();
        if s.dead {
            return;
        }
        s.queue.push_back(Item::Reply(line));
        self.cond.notify_one();
    }

    /// Queue a warning line (bypasses the event cap).
    pub fn push_warning(&self, line: String) {
        let mut s = self.lock();
        if s.dead {
            return;
        }
        s.queue.push_back(Item::Warning(line));
        self.cond.notify_one();
    }

    /// Queue an event of subscription `sub`. If the cap is reached the oldest queued
    /// event of it is dropped and its seq returned.
    pub fn push_event(&self, sub: u64, seq: u64, line: Arc<str>) -> Option<u64> {
        let mut s = self.lock();
        if s.dead || s.delivery.sub != sub {
            return None;
        }
        let mut dropped = None;
        if s.delivery.queued >= s.delivery.max_events.max(1) {
            let pos = s
                .queue
                .iter()
                .position(|i| matches!(i, Item::Event { sub: x, .. } if *x == sub));
            if let Some(pos) = pos
                && let Some(Item::Event { seq, .. }) = s.queue.remove(pos)
            {
                s.delivery.queued -= 1;
                s.delivery.drops += 1;
                dropped = Some(seq);
            }
        }
        s.queue.push_back(Item::Event { seq, sub, line });
        s.delivery.queued += 1;
        self.cond.notify_one();
        dropped
    }

    /// Start delivering for a new subscription (resets the counters, purges events of the
    /// previous one).
    pub fn attach(&self, sub: u64, max_events: usize, auto_ack: bool, heartbeat: bool) {
        let mut s = self.lock();
        s.queue.retain(|i| !matches!(i, Item::Event { .. }));
        s.delivery = Delivery {
            sub,
            max_events,
            auto_ack,
            ..Delivery::default()
        };
        s.heartbeat = heartbeat;
    }

    /// Stop delivering events of subscription `sub` (queued ones are discarded).
    pub fn detach(&self, sub: u64) {
        let mut s = self.lock();
        if s.delivery.sub == sub {
            s.queue
                .retain(|i| !matches!(i, Item::Event { sub: x, .. } if *x == sub));
            s.delivery = Delivery::default();
            s.heartbeat = false;
        }
    }

    /// Heartbeats on or off (multiplexed connections, or a `heartbeat` filter).
    pub fn set_heartbeat(&self, on: bool) {
        self.lock().heartbeat = on;
        self.cond.notify_one();
    }

    /// Acknowledge up to `seq`; returns the counters afterwards.
    pub fn ack(&self, sub: u64, seq: u64) -> Option<Delivery> {
        let mut s = self.lock();
        if s.delivery.sub != sub {
            return None;
        }
        let d = &mut s.delivery;
        let seq = seq.min(d.last_written);
        if seq > d.last_ack {
            d.last_ack = seq;
        }
        while d.written.front().is_some_and(|&w| w <= d.last_ack) {
            d.written.pop_front();
        }
        Some(d.snapshot())
    }

    /// The delivery counters (without the written list).
    pub fn delivery(&self) -> Delivery {
        self.lock().delivery.snapshot()
    }

    /// Close once everything queued is written.
    pub fn close_after_flush(&self) {
        self.lock().closing = true;
        self.cond.notify_one();
    }

    /// True once the writer has finished.
    pub fn is_dead(&self) -> bool {
        self.lock().dead
    }

    /// Shut the socket down now (a writer blocked on a client that does not read wakes).
    pub fn kill(&self) {
        {
            let mut s = self.lock();
            s.closing = true;
            s.queue.clear();
        }
        let _ = self.stream.shutdown(Shutdown::Both);
        self.cond.notify_one();
    }

    /// The writer loop; returns when the connection is closed.
    pub fn run_writer(&self, mut stream: TcpStream, cursor: Arc<AtomicU64>) {
        let mut last_write = Instant::now();
        loop {
            let item = {
                let mut s = self.lock();
                loop {
                    if let Some(item) = s.queue.pop_front() {
                        if let Item::Event { .. } = item {
                            s.delivery.queued = s.delivery.queued.saturating_sub(1);
                        }
                        break Some(item);
                    }
                    if s.closing || s.dead {
                        break None;
                    }
                    let idle = last_write.elapsed();
                    if s.heartbeat && idle >= HEARTBEAT_AFTER {
                        break Some(Item::Warning(heartbeat_line(
                            cursor.load(Ordering::Relaxed),
                        )));
                    }
                    let wait = if s.heartbeat {
                        HEARTBEAT_AFTER.saturating_sub(idle)
                    } else {
                        Duration::from_secs(3600)
                    };
                    s = self
                        .cond
                        .wait_timeout(s, wait)
                        .unwrap_or_else(|p| p.into_inner())
                        .0;
                }
            };
            let Some(item) = item else {
                break;
            };
            let (line, event_seq) = match &item {
                Item::Reply(l) | Item::Warning(l) => (l.as_bytes(), None),
                Item::Event { seq, line, .. } => (line.as_bytes(), Some(*seq)),
            };
            let mut buf = Vec::with_capacity(line.len() + 1);
            buf.extend_from_slice(line);
            buf.push(b'\n');
            if stream.write_all(&buf).is_err() {
                break;
            }
            last_write = Instant::now();
            if let (Some(seq), Item::Event { sub, .. }) = (event_seq, &item) {
                let mut s = self.lock();
                let d = &mut s.delivery;
                if d.sub == *sub {
                    d.last_written = seq;
                    if d.auto_ack {
                        d.last_ack = seq;
                    } else {
                        d.written.push_back(seq);
                        d.high_water = d.high_water.max(d.written.len());
                    }
                }
            }
        }
        let mut s = self.lock();
        s.dead = true;
        s.queue.clear();
        drop(s);
        let _ = stream.flush();
        let _ = stream.shutdown(Shutdown::Both);
    }
}

impl Delivery {
    /// A snapshot without the written list; `pending` is computed.
    fn snapshot(&self) -> Delivery {
        Delivery {
            written: VecDeque::new(),
            pending: if self.auto_ack { 0 } else { self.written.len() },
            ..*self
        }
    }
}

/// The heartbeat line (never stored, counted or acked).
pub fn heartbeat_line(cursor: u64) -> String {
    format!(
        "{{\"seq\":null,\"ts\":{},\"type\":\"heartbeat\",\"pid\":null,\"data\":{{\"cursor\":{cursor}}}}}",
        serde_json::Value::from(epoch_now())
    )
}
