//! Per-task, per-stream stdio logs (`protocol.md` §5, `syscalls.md` §13): the messages
//! the executive's stdio sink took from a task's stdout/stderr descriptor, kept up to a
//! byte budget and removed by `listen`.
//!
//! The log never drops a message it has not delivered. The executive runs with the
//! credit-paced sink ([`hsx_exec::StdioSink::Credit`]): the sink may take only as many
//! payload bytes as [`StdioLog::credit`] grants, so undelivered messages always fit;
//! when they fill the log the credit is 0, the sink stops, messages stay queued in the
//! task's descriptor and the task's writes become short (back-pressure) until `listen`
//! frees room.

use std::collections::VecDeque;

use hsx_exec::mailbox::flags;

/// One message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Message {
    pub data: Vec<u8>,
    /// At least one subscription accepted its event.
    pub delivered: bool,
    pub flags: u16,
    pub channel: u16,
    pub src_pid: u32,
}

impl Message {
    /// A message reported without metadata (a plain `Stdout`/`Stderr` event): written
    /// by the task itself.
    pub fn plain(pid: u32, data: Vec<u8>, err: bool) -> Message {
        Message {
            data,
            delivered: false,
            flags: if err { flags::STDERR } else { flags::STDOUT },
            channel: 0,
            src_pid: pid,
        }
    }
}

/// One stream's log.
#[derive(Debug, Default)]
pub(crate) struct StdioLog {
    messages: VecDeque<Message>,
    bytes: usize,
    /// Payload bytes of undelivered messages.
    undelivered: usize,
}

impl StdioLog {
    /// Append a message, then evict the oldest delivered messages while the log holds
    /// more than `cap` bytes. Undelivered messages are never evicted (the sink credit
    /// keeps them within `cap`).
    pub fn push(&mut self, m: Message, cap: usize) {
        self.bytes += m.data.len();
        if !m.delivered {
            self.undelivered += m.data.len();
        }
        self.messages.push_back(m);
        while self.bytes > cap {
            let Some(pos) = self.messages.iter().position(|m| m.delivered) else {
                break;
            };
            if let Some(old) = self.messages.remove(pos) {
                self.bytes -= old.data.len();
            }
        }
    }

    /// Remove up to `limit` messages, oldest first, splitting one longer than `max_len`
    /// (the rest stays queued with the same metadata).
    pub fn take(&mut self, limit: usize, max_len: usize) -> Vec<Message> {
        let max_len = max_len.max(1);
        let mut out = Vec::new();
        while out.len() < limit {
            let Some(front) = self.messages.front_mut() else {
                break;
            };
            let m = if front.data.len() > max_len {
                let rest = front.data.split_off(max_len);
                let head = std::mem::replace(&mut front.data, rest);
                Message {
                    data: head,
                    ..front.clone()
                }
            } else {
                match self.messages.pop_front() {
                    Some(m) => m,
                    None => break,
                }
            };
            self.bytes -= m.data.len();
            if !m.delivered {
                self.undelivered -= m.data.len();
            }
            out.push(m);
        }
        out
    }

    /// Payload bytes the sink may take next: room not held by undelivered messages.
    /// With no undelivered message at least `largest` (the descriptor's largest
    /// message), so a message bigger than a small log can still pass.
    pub fn credit(&self, cap: usize, largest: usize) -> usize {
        if self.undelivered == 0 {
            cap.max(largest)
        } else {
            cap.saturating_sub(self.undelivered)
        }
    }

    /// Bytes held.
    #[cfg(test)]
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Messages held.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.messages.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(data: &[u8], delivered: bool) -> Message {
        Message {
            data: data.to_vec(),
            delivered,
            flags: 1,
            channel: 0,
            src_pid: 1,
        }
    }

    #[test]
    fn evicts_only_delivered_messages_and_splits_long_ones() {
        let mut log = StdioLog::default();
        log.push(msg(b"aaaa", true), 10);
        log.push(msg(b"bbbb", false), 10);
        assert_eq!(log.credit(10, 4), 6);
        log.push(msg(b"cccc", false), 10);
        // "aaaa" (delivered) went; the undelivered ones stay.
        assert_eq!(log.bytes(), 8);
        assert_eq!(log.len(), 2);
        assert_eq!(log.credit(10, 4), 2);
        let first = log.take(1, 3);
        assert_eq!(first[0].data, b"bbb");
        assert_eq!(first[0].flags, 1);
        assert_eq!(log.credit(10, 4), 5);
        let rest: Vec<Vec<u8>> = log.take(10, 100).into_iter().map(|m| m.data).collect();
        assert_eq!(rest, vec![b"b".to_vec(), b"cccc".to_vec()]);
        assert_eq!((log.bytes(), log.credit(10, 4)), (0, 10));
    }

    #[test]
    fn an_empty_log_grants_at_least_the_largest_message() {
        let log = StdioLog::default();
        assert_eq!(log.credit(16, 248), 248);
        let mut log = StdioLog::default();
        log.push(msg(&[0; 200], false), 16);
        assert_eq!((log.len(), log.credit(16, 248)), (1, 0));
    }
}
