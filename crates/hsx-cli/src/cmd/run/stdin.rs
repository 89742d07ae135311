//! Host stdin → pid 1's `svc:stdio.in` (`tools.md` §2 "Task input"): each line
//! (including its LF) is one message, a final partial line at EOF is one message, a
//! line longer than the mailbox's message limit is split, and when the mailbox is full
//! the runner keeps the rest and retries later: input is never dropped.

use std::collections::VecDeque;
use std::io::BufRead;
use std::sync::mpsc::{Receiver, RecvTimeoutError, TryRecvError, sync_channel};
use std::time::Duration;

use hsx_exec::mailbox::Status;
use hsx_exec::{Executive, Pid, StdioStream, TaskState};

/// The task whose stdin is fed.
const PID: Pid = 1;
/// Lines buffered between the reader thread and the runner.
const CHANNEL_LINES: usize = 64;

/// Input waiting to be delivered, and where it comes from.
pub struct StdinFeed {
    rx: Option<Receiver<Vec<u8>>>,
    /// Lines read but not yet split.
    lines: VecDeque<Vec<u8>>,
    /// Messages ready to send, oldest first.
    pending: VecDeque<Vec<u8>>,
    eof: bool,
}

impl StdinFeed {
    /// Read host stdin on a thread, line by line.
    pub fn connect() -> StdinFeed {
        let (tx, rx) = sync_channel::<Vec<u8>>(CHANNEL_LINES);
        let spawned = std::thread::Builder::new()
            .name("hsx-run-stdin".into())
            .spawn(move || {
                let stdin = std::io::stdin();
                let mut input = stdin.lock();
                loop {
                    let mut line = Vec::new();
                    match input.read_until(b'\n', &mut line) {
                        Ok(0) => break,
                        Ok(_) => {
                            if tx.send(line).is_err() {
                                break;
                            }
                        }
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                        Err(_) => break,
                    }
                }
            });
        StdinFeed {
            rx: spawned.ok().map(|_| rx),
            lines: VecDeque::new(),
            pending: VecDeque::new(),
            eof: false,
        }
        .settled()
    }

    /// `--no-stdin`: nothing will ever arrive.
    pub fn none() -> StdinFeed {
        StdinFeed {
            rx: None,
            lines: VecDeque::new(),
            pending: VecDeque::new(),
            eof: true,
        }
    }

    fn settled(mut self) -> StdinFeed {
        if self.rx.is_none() {
            self.eof = true;
        }
        self
    }

    /// True once host stdin is closed and everything read was delivered.
    pub fn exhausted(&self) -> bool {
        self.eof && self.lines.is_empty() && self.pending.is_empty()
    }

    fn take_available(&mut self) {
        let Some(rx) = &self.rx else { return };
        loop {
            match rx.try_recv() {
                Ok(line) => self.lines.push_back(line),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    self.eof = true;
                    self.rx = None;
                    break;
                }
            }
        }
    }

    /// Deliver what can be delivered now.
    pub fn pump(&mut self, exec: &mut Executive) {
        self.take_available();
        if self.lines.is_empty() && self.pending.is_empty() {
            return;
        }
        let live = exec.task(PID).is_some_and(|t| !t.state.is_terminal());
        if !live {
            // Nobody will ever read it: stop accepting input.
            self.lines.clear();
            self.pending.clear();
            self.eof = true;
            self.rx = None;
            return;
        }
        let max = exec.stdin_max_payload(PID).unwrap_or(1).max(1) as usize;
        while let Some(line) = self.lines.pop_front() {
            self.pending.extend(line.chunks(max).map(<[u8]>::to_vec));
        }
        while let Some(message) = self.pending.front() {
            match exec.send_stdin(PID, message) {
                Ok(_) => {
                    self.pending.pop_front();
                }
                Err(Status::WouldBlock) => break,
                Err(_) => {
                    self.pending.clear();
                    self.eof = true;
                    self.rx = None;
                    break;
                }
            }
        }
    }

    /// Wait up to `timeout` for more input (or EOF).
    pub fn wait(&mut self, timeout: Duration) {
        let Some(rx) = &self.rx else {
            std::thread::sleep(timeout);
            return;
        };
        match rx.recv_timeout(timeout) {
            Ok(line) => self.lines.push_back(line),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => {
                self.eof = true;
                self.rx = None;
            }
        }
    }

    /// True if input that may still arrive could wake a task: some live task is blocked
    /// on pid 1's stdin descriptor and host stdin is not exhausted. Input to a stdin
    /// nobody waits on cannot end an all-blocked state.
    pub fn can_wake(&self, exec: &Executive) -> bool {
        if self.exhausted() {
            return false;
        }
        let Some(stdin) = exec.mailboxes().stdio_descriptor(PID, StdioStream::In) else {
            return false;
        };
        exec.tasks().any(|t| {
            t.state != TaskState::Paused
                && exec
                    .mailbox_wait(t.pid)
                    .is_some_and(|w| w.descriptor == stdin)
        })
    }
}
