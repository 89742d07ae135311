//! Per-task, per-stream stdio logs (`protocol.md` §5): messages drained from a task's
//! stdout/stderr, kept up to a byte budget and removed by `listen`.

use std::collections::VecDeque;

/// One message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Message {
    pub data: Vec<u8>,
    /// At least one subscription accepted its event.
    pub delivered: bool,
}

/// One stream's log.
#[derive(Debug, Default)]
pub(crate) struct StdioLog {
    messages: VecDeque<Message>,
    bytes: usize,
    /// Messages evicted before they were delivered or listened to.
    pub lost: u64,
}

impl StdioLog {
    /// Append a message, evicting the oldest delivered messages to stay within `cap`
    /// bytes. If only undelivered messages remain, the oldest is evicted and counted in
    /// `lost` (reported in `dmesg`); returns the number evicted that way.
    pub fn push(&mut self, data: Vec<u8>, delivered: bool, cap: usize) -> u64 {
        self.bytes += data.len();
        self.messages.push_back(Message { data, delivered });
        let mut lost = 0;
        while self.bytes > cap && self.messages.len() > 1 {
            let pos = self.messages.iter().position(|m| m.delivered).unwrap_or(0);
            if let Some(m) = self.messages.remove(pos) {
                self.bytes -= m.data.len();
                if !m.delivered {
                    lost += 1;
                }
            }
        }
        self.lost += lost;
        lost
    }

    /// Remove up to `limit` messages, oldest first, splitting one longer than `max_len`
    /// (the rest stays queued).
    pub fn take(&mut self, limit: usize, max_len: usize) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        while out.len() < limit {
            let Some(front) = self.messages.front_mut() else {
                break;
            };
            if front.data.len() > max_len.max(1) {
                let rest = front.data.split_off(max_len.max(1));
                let head = std::mem::replace(&mut front.data, rest);
                self.bytes -= head.len();
                out.push(head);
            } else if let Some(m) = self.messages.pop_front() {
                self.bytes -= m.data.len();
                out.push(m.data);
            }
        }
        out
    }

    /// Bytes held.
    #[allow(dead_code)]
    pub fn bytes(&self) -> usize {
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evicts_delivered_first_and_splits_long_messages() {
        let mut log = StdioLog::default();
        log.push(b"aaaa".to_vec(), true, 10);
        log.push(b"bbbb".to_vec(), false, 10);
        assert_eq!(log.push(b"cccc".to_vec(), false, 10), 0);
        assert_eq!(log.bytes(), 8);
        assert_eq!(log.push(b"dddd".to_vec(), false, 10), 1);
        assert_eq!(log.take(1, 3), vec![b"ccc".to_vec()]);
        assert_eq!(log.take(10, 100), vec![b"c".to_vec(), b"dddd".to_vec()]);
        assert_eq!(log.bytes(), 0);
    }
}
