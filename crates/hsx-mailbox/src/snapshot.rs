//! The host `snapshot` view (`mailbox.md` §15, `protocol.md` §6.3 `mailbox_snapshot`).

use crate::Pid;
use crate::mailboxes::Mailboxes;
use crate::names::Namespace;
use crate::types::{Limits, StdioStream, mode};

/// A pending wait.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaiterView {
    /// Waiting pid.
    pub pid: Pid,
    /// Its handle.
    pub handle: u16,
    /// Clock deadline (`None` = infinite).
    pub deadline: Option<u64>,
}

/// A handle on a descriptor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandleView {
    /// Owning pid.
    pub pid: Pid,
    /// Handle number.
    pub handle: u16,
    /// Access bits (R 1, W 2).
    pub access: u16,
    /// Tap handle.
    pub tap: bool,
    /// Fan-out cursor: seq of the last message consumed or skipped (wrapping).
    pub cursor: u32,
    /// Lost messages not yet reported.
    pub overrun_pending: bool,
    /// Messages in the tap buffer.
    pub tap_depth: u32,
    /// Bytes in the tap buffer.
    pub tap_bytes: u32,
}

/// A descriptor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescriptorView {
    /// Id.
    pub id: u16,
    /// Namespace.
    pub namespace: Namespace,
    /// Name.
    pub name: String,
    /// Owner.
    pub owner: Option<Pid>,
    /// Canonical target text.
    pub target: String,
    /// Capacity in bytes.
    pub capacity: u32,
    /// Mode bits.
    pub mode: u16,
    /// Queued messages.
    pub depth: u32,
    /// Bytes used (Σ length + 8).
    pub bytes_used: u32,
    /// Sequence number of the queue head.
    pub head_seq: u32,
    /// Next sequence number.
    pub next_seq: u32,
    /// Pids that BIND-ed it.
    pub holders: Vec<Pid>,
    /// Waiters in FIFO order.
    pub waiters: Vec<WaiterView>,
    /// Tap handles.
    pub taps: u32,
    /// Every handle.
    pub handles: Vec<HandleView>,
    /// The task and stream, for a stdio descriptor.
    pub stdio: Option<(Pid, StdioStream)>,
}

/// Totals (`protocol.md` `mailbox_snapshot.stats`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stats {
    /// Pool size.
    pub max_descriptors: u32,
    /// Live descriptors.
    pub active_descriptors: u32,
    /// Free descriptors.
    pub free_descriptors: u32,
    /// Σ capacity.
    pub total_capacity: u64,
    /// Σ bytes used.
    pub bytes_used: u64,
    /// Σ (capacity − bytes used).
    pub bytes_available: u64,
    /// Σ queued messages.
    pub queue_depth: u64,
    /// Handles open (host included).
    pub handles_total: u32,
    /// Handles per pid, ascending pid.
    pub handles_per_pid: Vec<(Pid, u32)>,
    /// The per-pid handle limit.
    pub handle_limit_per_pid: u32,
    /// Copies per tap per second (0 = unlimited).
    pub tap_rate_limit: u32,
    /// Times a creation failed because the pool was full.
    pub descriptor_pool_exhausted: u64,
    /// Tap handles.
    pub tap_count: u32,
    /// Messages in tap buffers.
    pub tap_queue_depth: u64,
    /// Pending waits.
    pub waiter_count: u32,
    /// Fan-out descriptors.
    pub fanout_descriptors: u32,
}

/// Every descriptor, ascending id, plus totals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// Descriptors.
    pub descriptors: Vec<DescriptorView>,
    /// Totals.
    pub stats: Stats,
}

impl Snapshot {
    /// A descriptor by id.
    pub fn descriptor(&self, id: u16) -> Option<&DescriptorView> {
        self.descriptors.iter().find(|d| d.id == id)
    }

    /// A descriptor by canonical target text (`app:x`, `svc:stdio.out@1`, `pid:4`).
    pub fn by_target(&self, target: &str) -> Option<&DescriptorView> {
        self.descriptors.iter().find(|d| d.target == target)
    }
}

pub(crate) fn build(m: &Mailboxes) -> Snapshot {
    let (limits, exhausted, views): (Limits, u64, _) = m.snapshot_parts();
    let descriptors: Vec<DescriptorView> = views.collect();
    let mut per_pid = std::collections::BTreeMap::<Pid, u32>::new();
    for h in descriptors.iter().flat_map(|d| &d.handles) {
        *per_pid.entry(h.pid).or_default() += 1;
    }
    let sum = |f: &dyn Fn(&DescriptorView) -> u64| descriptors.iter().map(f).sum::<u64>();
    let stats = Stats {
        max_descriptors: limits.max_descriptors,
        active_descriptors: descriptors.len() as u32,
        free_descriptors: limits
            .max_descriptors
            .saturating_sub(descriptors.len() as u32),
        total_capacity: sum(&|d| u64::from(d.capacity)),
        bytes_used: sum(&|d| u64::from(d.bytes_used)),
        bytes_available: sum(&|d| u64::from(d.capacity.saturating_sub(d.bytes_used))),
        queue_depth: sum(&|d| u64::from(d.depth)),
        handles_total: per_pid.values().sum(),
        handles_per_pid: per_pid.into_iter().collect(),
        handle_limit_per_pid: limits.handle_limit_per_pid,
        tap_rate_limit: limits.tap_rate_limit,
        descriptor_pool_exhausted: exhausted,
        tap_count: descriptors.iter().map(|d| d.taps).sum(),
        tap_queue_depth: sum(&|d| d.handles.iter().map(|h| u64::from(h.tap_depth)).sum()),
        waiter_count: descriptors.iter().map(|d| d.waiters.len() as u32).sum(),
        fanout_descriptors: descriptors
            .iter()
            .filter(|d| d.mode & mode::FANOUT_ANY != 0)
            .count() as u32,
    };
    Snapshot { descriptors, stats }
}
