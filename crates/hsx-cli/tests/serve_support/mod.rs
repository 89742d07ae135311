//! Helpers for end-to-end tests of `hsx serve` and `hsx shell`: start the real binary on
//! a free loopback port, talk JSON lines to it, run the shell against it.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

pub const HSX: &str = env!("CARGO_BIN_EXE_hsx");

/// A scratch directory with the example programs linked (`.hxe` + `.sym`).
pub struct Workdir {
    pub path: PathBuf,
}

impl Workdir {
    pub fn new(name: &str) -> Workdir {
        let path = std::env::temp_dir().join(format!("hsx-e2e-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
        let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/serve");
        let mut sources: Vec<PathBuf> = ["hello", "count", "fib", "stack_overflow"]
            .iter()
            .map(|n| examples.join(format!("{n}.mvasm")))
            .collect();
        for entry in std::fs::read_dir(&data).into_iter().flatten().flatten() {
            if entry.path().extension().is_some_and(|e| e == "mvasm") {
                sources.push(entry.path());
            }
        }
        for src in sources {
            let stem = src.file_stem().unwrap().to_string_lossy().into_owned();
            let out = Command::new(HSX)
                .arg("link")
                .arg("-o")
                .arg(path.join(format!("{stem}.hxe")))
                .arg("--emit-sym")
                .arg(path.join(format!("{stem}.sym")))
                .arg(&src)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "link {stem}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Workdir { path }
    }

    pub fn image(&self, name: &str) -> String {
        self.path.join(format!("{name}.hxe")).display().to_string()
    }
}

impl Drop for Workdir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// A running `hsx serve`.
pub struct Server {
    child: Child,
    pub port: u16,
}

impl Server {
    pub fn start(args: &[&str]) -> Server {
        let mut child = Command::new(HSX)
            .args(["serve", "--port", "0", "--log-level", "warn"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        // "hsx serve: listening on 127.0.0.1:PORT (protocol 1)"
        let port = line
            .split(':')
            .nth(2)
            .and_then(|s| s.split_whitespace().next())
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("unexpected banner {line:?}"));
        Server { child, port }
    }

    pub fn conn(&self) -> Conn {
        Conn::new(self.port)
    }

    /// One request over a fresh connection (pattern A).
    pub fn once(&self, req: Value) -> Value {
        self.conn().req(req)
    }

    /// Wait for the process to exit, up to `limit`.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let start = Instant::now();
        while start.elapsed() < limit {
            if let Ok(Some(s)) = self.child.try_wait() {
                return Some(s);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        None
    }

    /// Run `hsx shell` against this server.
    pub fn shell(&self, cwd: &Path, args: &[&str]) -> (String, String, i32) {
        let out = Command::new(HSX)
            .current_dir(cwd)
            .args(["shell", "--port", &self.port.to_string()])
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        (
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
            out.status.code().unwrap_or(-1),
        )
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One client connection.
pub struct Conn {
    pub stream: TcpStream,
    reader: BufReader<TcpStream>,
    /// Events seen while waiting for replies.
    pub events: Vec<Value>,
}

impl Conn {
    pub fn new(port: u16) -> Conn {
        let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let reader = BufReader::new(stream.try_clone().unwrap());
        Conn {
            stream,
            reader,
            events: Vec::new(),
        }
    }

    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).unwrap();
    }

    pub fn send(&mut self, req: &Value) {
        let mut line = serde_json::to_string(req).unwrap();
        line.push('\n');
        self.send_raw(line.as_bytes());
    }

    /// The next line, or None at EOF.
    pub fn line(&mut self) -> Option<Value> {
        let mut s = String::new();
        match self.reader.read_line(&mut s) {
            Ok(0) | Err(_) => None,
            Ok(_) => {
                Some(serde_json::from_str(&s).unwrap_or_else(|e| panic!("bad line {s:?}: {e}")))
            }
        }
    }

    /// Read until a reply (events are kept in `events`).
    pub fn reply(&mut self) -> Value {
        loop {
            let v = self.line().expect("connection closed before the reply");
            if v.get("status").is_some() {
                return v;
            }
            self.events.push(v);
        }
    }

    pub fn req(&mut self, req: Value) -> Value {
        self.send(&req);
        self.reply()
    }

    /// A request that must succeed.
    pub fn ok(&mut self, req: Value) -> Value {
        let r = self.req(req.clone());
        assert_eq!(r["status"], "ok", "{req} -> {r}");
        r
    }

    /// Open a session, subscribe on this connection (pattern C) and return the session id.
    pub fn subscribe(&mut self, filters: Value) -> String {
        let r = self.ok(json!({"cmd": "session.open", "client": "test"}));
        let id = r["session"]["id"].as_str().unwrap().to_owned();
        self.ok(json!({"cmd": "events.subscribe", "session": id, "filters": filters}));
        id
    }

    /// Read events until one matches, within `limit`.
    pub fn wait_event(&mut self, limit: Duration, pred: impl Fn(&Value) -> bool) -> Option<Value> {
        if let Some(e) = self.events.iter().find(|e| pred(e)) {
            return Some(e.clone());
        }
        let start = Instant::now();
        while start.elapsed() < limit {
            let v = self.line()?;
            let hit = pred(&v);
            self.events.push(v.clone());
            if hit {
                return Some(v);
            }
        }
        None
    }
}

pub fn error_of(r: &Value) -> &str {
    r["error"].as_str().unwrap_or("")
}

/// Compare with a golden file (set HSX_BLESS=1 to rewrite).
pub fn golden(name: &str, actual: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden/shell")
        .join(name);
    if std::env::var_os("HSX_BLESS").is_some() {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("missing golden {}: {e}", path.display()));
    assert_eq!(actual, expected, "golden {name} differs");
}
