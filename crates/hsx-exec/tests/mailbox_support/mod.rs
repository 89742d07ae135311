//! Support for the mailbox tests: MVASM task scripts built from a list of system calls.
//!
//! A [`Script`] is a real MVASM program: every step loads R1..R5, executes one SVC and
//! stores R0..R4 into a result table at guest address 0x4000 (the start of .data), so
//! a test can read each call's outputs from the task's memory afterwards. `park` blocks
//! the task on its own stdin until the test sends it a message, which lets a test order
//! the steps of several tasks exactly.
#![allow(dead_code)]

use hsx_exec::mailbox::{MailboxEvent, Status};
use hsx_exec::{
    ClockMode, Config, Event, Executive, Pid, SpawnOptions, StdioSink, StdioStream, Stop, TaskState,
};

/// Guest address of the result table.
pub const RESULTS: u32 = 0x4000;
/// Result slots per script.
pub const MAX_STEPS: usize = 96;
/// A scratch buffer (guest address) for receives.
pub const BUF: u32 = 0x1000;
/// A second scratch buffer.
pub const BUF2: u32 = 0x1800;
/// Where `park` receives.
pub const PARK_BUF: u32 = 0x0F00;

/// A register argument.
#[derive(Debug, Clone)]
pub enum Arg {
    /// A number.
    N(u32),
    /// Pointer to a NUL-terminated copy of the text.
    Str(String),
    /// Pointer to a copy of the bytes (no terminator).
    Bytes(Vec<u8>),
    /// Register `reg` as returned by step `step` (e.g. the handle of an OPEN).
    Res(usize, usize),
}

/// Shorthand for [`Arg::N`].
pub fn n(v: u32) -> Arg {
    Arg::N(v)
}

/// Shorthand for the handle (R1) returned by step `step`.
pub fn h(step: usize) -> Arg {
    Arg::Res(step, 1)
}

/// An MVASM program made of system calls.
#[derive(Debug, Clone, Default)]
pub struct Script {
    text: String,
    data: String,
    steps: usize,
    consts: usize,
}

impl Script {
    /// An empty script.
    pub fn new() -> Script {
        Script::default()
    }

    /// Steps so far (the index the next step gets).
    pub fn len(&self) -> usize {
        self.steps
    }

    fn constant(&mut self, bytes: &[u8], nul: bool) -> String {
        let label = format!("k{}", self.consts);
        self.consts += 1;
        let mut list: Vec<String> = bytes.iter().map(|b| b.to_string()).collect();
        if nul {
            list.push("0".into());
        }
        if list.is_empty() {
            self.data.push_str(&format!("{label}:\n"));
        } else {
            self.data
                .push_str(&format!("{label}: .byte {}\n", list.join(", ")));
        }
        label
    }

    /// One SVC with arguments in R1..R5; R0 may be set with register index 0.
    pub fn svc(mut self, module: u8, function: u8, args: &[(usize, Arg)]) -> Script {
        assert!(self.steps < MAX_STEPS, "script too long");
        for (reg, arg) in args {
            let line = match arg {
                Arg::N(v) => format!("    LDI32 R{reg}, {v}\n"),
                Arg::Str(s) => {
                    let l = self.constant(s.as_bytes(), true);
                    format!("    LDI32 R{reg}, {l}\n")
                }
                Arg::Bytes(b) => {
                    let l = self.constant(b, false);
                    format!("    LDI32 R{reg}, {l}\n")
                }
                Arg::Res(step, r) => format!(
                    "    LDI32 R7, {}\n    LD R{reg}, [R7]\n",
                    RESULTS + 20 * *step as u32 + 4 * *r as u32
                ),
            };
            self.text.push_str(&line);
        }
        self.text
            .push_str(&format!("    SVC 0x{module:02X}, 0x{function:02X}\n"));
        self.text.push_str(&format!(
            "    LDI32 R7, {}\n    ST [R7], R0\n    ST [R7+4], R1\n    ST [R7+8], R2\n    ST [R7+12], R3\n    ST [R7+16], R4\n",
            RESULTS + 20 * self.steps as u32
        ));
        self.steps += 1;
        self
    }

    /// MBX OPEN.
    pub fn open(self, target: &str, flags: u32) -> Script {
        self.svc(5, 0, &[(1, Arg::Str(target.into())), (2, n(flags))])
    }

    /// MBX OPEN with raw target bytes (NUL appended).
    pub fn open_raw(mut self, target: &[u8], flags: u32) -> Script {
        let l = self.constant(target, true);
        self.text.push_str(&format!("    LDI32 R1, {l}\n"));
        self.svc(5, 0, &[(2, n(flags))])
    }

    /// MBX BIND.
    pub fn bind(self, target: &str, capacity: u32, mode: u32) -> Script {
        self.svc(
            5,
            1,
            &[(1, Arg::Str(target.into())), (2, n(capacity)), (3, n(mode))],
        )
    }

    /// MBX SEND.
    pub fn send(self, handle: Arg, data: &[u8], flags: u32, channel: u32) -> Script {
        self.svc(
            5,
            2,
            &[
                (1, handle),
                (2, Arg::Bytes(data.to_vec())),
                (3, n(data.len() as u32)),
                (4, n(flags)),
                (5, n(channel)),
            ],
        )
    }

    /// MBX SEND with raw pointer/length registers.
    pub fn send_raw(self, handle: Arg, ptr: u32, len: u32) -> Script {
        self.svc(
            5,
            2,
            &[(1, handle), (2, n(ptr)), (3, n(len)), (4, n(0)), (5, n(0))],
        )
    }

    /// MBX RECV.
    pub fn recv(self, handle: Arg, buf: u32, max: u32, timeout: u32, info: u32) -> Script {
        self.svc(
            5,
            3,
            &[
                (1, handle),
                (2, n(buf)),
                (3, n(max)),
                (4, n(timeout)),
                (5, n(info)),
            ],
        )
    }

    /// MBX PEEK.
    pub fn peek(self, handle: Arg) -> Script {
        self.svc(5, 4, &[(1, handle)])
    }

    /// MBX TAP.
    pub fn tap(self, handle: Arg, enable: u32) -> Script {
        self.svc(5, 5, &[(1, handle), (2, n(enable))])
    }

    /// MBX CLOSE.
    pub fn close(self, handle: Arg) -> Script {
        self.svc(5, 6, &[(1, handle)])
    }

    /// TASK UART_WRITE of `data`.
    pub fn uart(self, data: &[u8]) -> Script {
        self.svc(
            1,
            1,
            &[(1, Arg::Bytes(data.to_vec())), (2, n(data.len() as u32))],
        )
    }

    /// FS WRITE.
    pub fn fs_write(self, fd: u32, data: &[u8]) -> Script {
        self.svc(
            4,
            2,
            &[
                (1, n(fd)),
                (2, Arg::Bytes(data.to_vec())),
                (3, n(data.len() as u32)),
            ],
        )
    }

    /// Block until the test sends this task a stdin message ([`Harness::release`]).
    pub fn park(self) -> Script {
        self.recv(n(1), PARK_BUF, 16, 0xFFFF, 0)
    }

    /// The program: the steps, then exit with status 0.
    pub fn source(&self) -> String {
        format!(
            ".data\nresults: .zero {}\n{}.text\n.entry main\nmain:\n{}    LDI R0, 0\n    RET\n",
            MAX_STEPS * 20,
            self.data,
            self.text
        )
    }
}

/// An executive plus helpers to run scripts and look at the results.
pub struct Harness {
    /// The executive.
    pub exec: Executive,
    /// Events drained so far.
    pub events: Vec<Event>,
}

/// Five result registers.
pub type Regs = [u32; 5];

impl Harness {
    /// Host profile, virtual clock, stdio sink with a 64 KiB log.
    pub fn new() -> Harness {
        Harness::with(Config::default())
    }

    /// With explicit mailbox limits (the embedded rows of `mailbox.md` §16).
    pub fn embedded() -> Harness {
        Harness::with(Config {
            mailbox_limits: Some(hsx_exec::mailbox::Limits::EMBEDDED),
            ..Config::default()
        })
    }

    /// With a configuration (the clock is forced virtual, the sink logs 64 KiB unless
    /// the configuration says otherwise).
    pub fn with(config: Config) -> Harness {
        let stdio_sink = match config.stdio_sink {
            StdioSink::Stream => StdioSink::Log {
                limit: 64 << 10,
                evict_delivered: true,
            },
            other => other,
        };
        Harness {
            exec: Executive::new(Config {
                clock: ClockMode::Virtual,
                stdio_sink,
                ..config
            }),
            events: Vec::new(),
        }
    }

    /// Spawn a script; returns its pid.
    pub fn spawn(&mut self, script: &Script) -> Pid {
        self.spawn_source("script", &script.source())
    }

    /// Spawn MVASM source.
    pub fn spawn_source(&mut self, name: &str, source: &str) -> Pid {
        let bytes = assemble(name, source);
        let pid = self
            .exec
            .spawn_bytes(
                &bytes,
                SpawnOptions {
                    program: format!("{name}.mvasm"),
                    ..SpawnOptions::default()
                },
            )
            .expect("spawn");
        self.drain();
        pid
    }

    /// Run only `pid` until it blocks, exits or parks.
    pub fn run_task(&mut self, pid: Pid) {
        let out = self.exec.step_task(pid, 1_000_000).expect("task exists");
        assert_ne!(out.stop, Stop::Budget, "pid {pid} did not stop");
        self.drain();
    }

    /// Run everything until nothing can run (the virtual clock does not jump: only
    /// runnable tasks run).
    pub fn run(&mut self) {
        while self.exec.has_runnable() {
            self.exec.step(100_000);
        }
        self.drain();
    }

    /// Wake a parked task (sends it one stdin message) and run it until it stops again.
    pub fn release(&mut self, pid: Pid) {
        self.drain();
        self.exec.send_stdin(pid, b"go").expect("stdin");
        // The release's own send and wake are harness noise, not part of the scenario.
        let _ = self.exec.drain_events().count();
        self.run_task(pid);
    }

    /// Move new events into `events`; returns them.
    pub fn drain(&mut self) -> Vec<Event> {
        let new: Vec<Event> = self.exec.drain_events().collect();
        self.events.extend(new.iter().cloned());
        new
    }

    /// Mailbox events seen so far.
    pub fn mailbox_events(&self) -> Vec<MailboxEvent> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::Mailbox(m) => Some(m.clone()),
                _ => None,
            })
            .collect()
    }

    /// Count mailbox events of a wire type.
    pub fn count(&self, type_name: &str) -> usize {
        self.mailbox_events()
            .iter()
            .filter(|e| e.type_name() == type_name)
            .count()
    }

    /// Forget the events seen so far.
    pub fn clear_events(&mut self) {
        self.drain();
        self.events.clear();
    }

    /// R0..R4 stored by step `step` of task `pid`.
    pub fn result(&self, pid: Pid, step: usize) -> Regs {
        let bytes = self
            .exec
            .read_memory(pid, RESULTS + 20 * step as u32, 20)
            .expect("result slot");
        let mut out = [0u32; 5];
        for (i, chunk) in bytes.chunks_exact(4).enumerate() {
            out[i] = u32::from_le_bytes(chunk.try_into().unwrap());
        }
        out
    }

    /// R0 of step `step` as a status.
    pub fn status(&self, pid: Pid, step: usize) -> u32 {
        self.result(pid, step)[0]
    }

    /// Guest bytes of a task.
    pub fn memory(&self, pid: Pid, addr: u32, len: u32) -> Vec<u8> {
        self.exec
            .read_memory(pid, addr, len)
            .expect("inside the window")
            .to_vec()
    }

    /// The task's state.
    pub fn state(&self, pid: Pid) -> TaskState {
        self.exec.task(pid).expect("task").state
    }

    /// A task's stdout log.
    pub fn stdout(&self, pid: Pid) -> String {
        String::from_utf8_lossy(&self.exec.stdio_log(pid, StdioStream::Out)).into_owned()
    }
}

/// OK as a register value.
pub const OK: u32 = Status::Ok as u32;

/// Assemble MVASM source to an image.
pub fn assemble(name: &str, source: &str) -> Vec<u8> {
    hsx_asm::assemble_source_to_hxe(name, source, &hsx_asm::AsmOptions::default(), name)
        .unwrap_or_else(|d| panic!("{name} does not assemble:\n{d}\n{source}"))
}

/// Assemble an MVASM file of the repository (its `.include`s resolve next to it).
pub fn assemble_repo_file(relative: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(relative);
    let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
    hsx_asm::assemble_to_hxe(&path, &hsx_asm::AsmOptions::default(), &stem)
        .unwrap_or_else(|d| panic!("{relative} does not assemble:\n{d}"))
}
