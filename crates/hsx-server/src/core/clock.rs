//! The auto clock (`protocol.md` §5, `executive.md` §7): runs guests in the background
//! in bounded batches so requests are served promptly however busy the guests are.

use std::time::{Duration, Instant};

use hsx_exec::{ClockMode, TaskState, WaitKind};
use serde_json::{Map, Value, json};

use super::{Core, Source};
use crate::sessions::payload;

/// Wall time one auto batch aims for; requests wait at most about this long.
const BATCH_TARGET: Duration = Duration::from_micros(200);
/// Largest batch in instructions.
const MAX_BATCH: u64 = 1 << 22;

/// Auto-clock settings and counters.
#[derive(Debug)]
pub(crate) struct AutoClock {
    pub running: bool,
    pub rate_hz: f64,
    pub step_size: u32,
    /// Iterations run by the auto clock.
    pub auto_iters: u64,
    /// Instructions retired by the auto clock.
    pub auto_total: u64,
    /// Manual step requests.
    pub manual_reqs: u64,
    /// Instructions retired by manual steps.
    pub manual_total: u64,
    pub last_wait_s: f64,
    rate_epoch: Instant,
    rate_iters: u64,
    batch: u64,
}

impl AutoClock {
    pub fn new(rate_hz: f64, step_size: u32, running: bool) -> AutoClock {
        AutoClock {
            running,
            rate_hz: rate_hz.max(0.0),
            step_size: step_size.max(1),
            auto_iters: 0,
            auto_total: 0,
            manual_reqs: 0,
            manual_total: 0,
            last_wait_s: 0.0,
            rate_epoch: Instant::now(),
            rate_iters: 0,
            batch: 1024,
        }
    }

    pub fn start(&mut self) {
        if !self.running {
            self.running = true;
            self.rate_epoch = Instant::now();
            self.rate_iters = 0;
        }
    }

    pub fn stop(&mut self) {
        self.running = false;
    }

    pub fn set_rate(&mut self, rate: f64) {
        self.rate_hz = rate;
        self.rate_epoch = Instant::now();
        self.rate_iters = 0;
    }

    /// Iterations to run now and the delay until the next one is due.
    fn due(&mut self) -> (u64, Duration) {
        if self.rate_hz <= 0.0 {
            return ((self.batch / self.step_size as u64).max(1), Duration::ZERO);
        }
        let elapsed = self.rate_epoch.elapsed().as_secs_f64();
        let mut target = (elapsed * self.rate_hz) as u64;
        if target.saturating_sub(self.rate_iters) as f64 > self.rate_hz.max(1.0) {
            // Fell more than a second behind (a long request): do not burst.
            self.rate_epoch = Instant::now();
            self.rate_iters = 0;
            target = 1;
        }
        let due = target.saturating_sub(self.rate_iters);
        let next = (self.rate_iters + due + 1) as f64 / self.rate_hz;
        let wait =
            Duration::from_secs_f64((next - self.rate_epoch.elapsed().as_secs_f64()).max(0.0));
        (due.min((self.batch / self.step_size as u64).max(1)), wait)
    }

    fn adapt(&mut self, took: Duration, executed: u64, budget: u64) {
        if executed < budget {
            return;
        }
        if took < BATCH_TARGET / 2 {
            self.batch = (self.batch * 2).min(MAX_BATCH);
        } else if took > BATCH_TARGET * 2 {
            self.batch = (self.batch / 2).max(self.step_size as u64);
        }
    }
}

impl Core {
    /// One auto-clock turn; returns how long to wait for requests before the next (None:
    /// run again right away).
    pub(super) fn clock_tick(&mut self) -> Option<Duration> {
        if !self.exec.has_runnable() {
            let Some(deadline) = self.exec.next_deadline() else {
                return Some(Duration::from_millis(100));
            };
            let now = self.exec.now_ms();
            if self.exec.config().clock == ClockMode::Wall && deadline > now {
                let wait = Duration::from_millis((deadline - now).min(10));
                self.clock.last_wait_s = wait.as_secs_f64();
                return Some(wait);
            }
        }
        let (iterations, wait) = self.clock.due();
        if iterations == 0 {
            self.clock.last_wait_s = wait.as_secs_f64();
            return Some(wait);
        }
        let budget = iterations * self.clock.step_size as u64;
        let started = Instant::now();
        let out = self.exec.step(budget);
        let took = started.elapsed();
        self.clock.adapt(took, out.executed, budget);
        self.clock.auto_total += out.executed;
        let iters = out.executed.div_ceil(self.clock.step_size as u64);
        self.clock.auto_iters += iters;
        self.clock.rate_iters += iterations;
        self.exec.check_register_watches();
        self.pump(Source::Auto);
        if self.clock.rate_hz > 0.0 {
            Some(wait)
        } else {
            None
        }
    }

    /// States of the tasks that are not terminal.
    pub(crate) fn live_states(&self) -> Vec<TaskState> {
        self.exec
            .tasks()
            .map(|t| t.state)
            .filter(|s| !s.is_terminal())
            .collect()
    }

    /// The clock mode (`protocol.md` §7 *clock*).
    pub(crate) fn clock_mode(&self) -> &'static str {
        if !self.clock.running {
            return "stopped";
        }
        let live = self.live_states();
        if live.is_empty() {
            return "idle";
        }
        if live.iter().all(|s| *s == TaskState::Paused) {
            return "paused";
        }
        if live.iter().any(|s| s.is_runnable()) {
            return if self.clock.rate_hz > 0.0 {
                "rate"
            } else {
                "active"
            };
        }
        if live.contains(&TaskState::Waiting(WaitKind::Timer)) {
            return "sleep";
        }
        if live.contains(&TaskState::Waiting(WaitKind::Mailbox)) {
            return "wait_mbx";
        }
        "idle"
    }

    /// The *clock* object.
    pub(crate) fn clock_json(&self) -> Value {
        let mode = self.clock_mode();
        let throttled = matches!(mode, "throttled" | "sleep");
        json!({
            "state": if self.clock.running { "running" } else { "stopped" },
            "running": self.clock.running,
            "mode": mode,
            "throttled": throttled,
            "throttle_reason": if throttled { Value::from(mode) } else { Value::Null },
            "last_wait_s": self.clock.last_wait_s,
            "rate_hz": self.clock.rate_hz,
            "step_size": self.clock.step_size,
            "auto_steps": self.clock.auto_iters,
            "auto_total_steps": self.clock.auto_total,
            "manual_steps": self.clock.manual_reqs,
            "manual_total_steps": self.clock.manual_total,
        })
    }

    pub(crate) fn clock_payload(&self) -> Map<String, Value> {
        payload(vec![("clock", self.clock_json())])
    }
}
