//! Task output: stdout/stderr messages copied to the host as they arrive, byte-exact,
//! flushed per message, with an optional per-line prefix naming the task.

use std::collections::HashMap;
use std::io::Write;

/// Which host stream.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stream {
    Out,
    Err,
}

/// Writes task messages, remembering per task and stream whether the next byte starts
/// a line (so a prefix goes exactly at line starts, even across messages).
pub struct TaskOutput {
    prefix: bool,
    at_line_start: HashMap<(u32, Stream), bool>,
}

impl TaskOutput {
    pub fn new(prefix: bool) -> TaskOutput {
        TaskOutput {
            prefix,
            at_line_start: HashMap::new(),
        }
    }

    /// Copy one message of task `pid` (named `name`) to the host stream.
    pub fn write(&mut self, pid: u32, name: &str, stream: Stream, data: &[u8]) {
        let mut buf = Vec::with_capacity(data.len() + 16);
        if self.prefix {
            let start = self.at_line_start.entry((pid, stream)).or_insert(true);
            for line in data.split_inclusive(|&b| b == b'\n') {
                if *start {
                    buf.extend_from_slice(format!("[{pid}:{name}] ").as_bytes());
                }
                buf.extend_from_slice(line);
                *start = line.ends_with(b"\n");
            }
        } else {
            buf.extend_from_slice(data);
        }
        // A closed host pipe must not take the executive down: output is best effort.
        let _ = match stream {
            Stream::Out => {
                let mut out = std::io::stdout().lock();
                out.write_all(&buf).and_then(|_| out.flush())
            }
            Stream::Err => {
                let mut err = std::io::stderr().lock();
                err.write_all(&buf).and_then(|_| err.flush())
            }
        };
    }

    /// End a task's unterminated lines so the next prefix starts on a fresh line.
    pub fn finish(&mut self) {
        if !self.prefix {
            return;
        }
        for ((_, stream), start) in self.at_line_start.iter_mut() {
            if !*start {
                match stream {
                    Stream::Out => println!(),
                    Stream::Err => eprintln!(),
                }
                *start = true;
            }
        }
    }
}
