//! `hsx shell` against a real server: a full session and a debugger session, compared
//! with golden outputs (tests/golden/shell; HSX_BLESS=1 rewrites them).

mod serve_support;

use serve_support::{HSX, Server, Workdir, golden};

fn normalize(text: &str, dir: &Workdir) -> String {
    text.replace(&dir.path.display().to_string(), "$DIR")
}

#[test]
fn full_shell_session() {
    let dir = Workdir::new("shell");
    let srv = Server::start(&[]);
    let (out, err, code) = srv.shell(
        &dir.path,
        &[
            "-c",
            "load count",
            "-c",
            "load hello.hxe",
            "-c",
            "ps",
            "-c",
            "step 5 -p 1",
            "-c",
            "dumpregs 1",
            "-c",
            "pause 2",
            "-c",
            "resume 2",
            "-c",
            "clock step 20 -p 2",
            "-c",
            "listen 2",
            "-c",
            "listen 2",
            "-c",
            "kill 2",
            "-c",
            "sched 1 priority 5 quantum 3",
            "-c",
            "clock rate 0",
            "-c",
            "clock start",
            "-c",
            "clock stop",
            "-c",
            "peek 1 0xEFF0 20",
            "-c",
            "poke 1 0xEFF0 48656C6C6F",
            "-c",
            "peek 1 0xEFF0 5",
            "-c",
            "memory regions 1",
            "-c",
            "ps",
            // Mailboxes and mailbox-backed stdio: echo.hxe (pid 3) echoes stdin.
            "-c",
            "load echo",
            "-c",
            "list 3",
            "-c",
            "send 3 hello there",
            "-c",
            "clock step 40 -p 3",
            "-c",
            "listen 3",
            "-c",
            "listen 3",
            "-c",
            "mbox svc owner 3",
            "-c",
            "stdio 3 out fanout",
            "-c",
            "stdio",
            "-c",
            "send 3 svc:nope@99 x",
        ],
    );
    assert_eq!(code, 0, "stderr: {err}");
    golden("session.txt", &normalize(&out, &dir));
    assert_eq!(err, "");
}

#[test]
fn debugger_shell_session() {
    let dir = Workdir::new("shell-dbg");
    let srv = Server::start(&[]);
    let (out, err, code) = srv.shell(
        &dir.path,
        &[
            "-c",
            "load frames.hxe",
            "-c",
            "bp set 1 0x24",
            "-c",
            "bp list 1",
            "-c",
            "step 100 -p 1",
            "-c",
            "stack 1",
            "-c",
            "disasm 1 leaf 4",
            "-c",
            "sym name 1 counter",
            "-c",
            "sym addr 1 0x30",
            "-c",
            "symbols 1",
            "-c",
            "watch add 1 counter --stop",
            "-c",
            "watch list 1",
            "-c",
            "step 1 -p 1",
            "-c",
            "dbg cont 1 100",
            "-c",
            "watch remove 1 1",
            "-c",
            "bp clearall 1",
            "-c",
            "dbg step 1",
            "-c",
            "resume 1",
            "-c",
            "clock start",
        ],
    );
    assert_eq!(code, 0, "stderr: {err}");
    golden("debugger.txt", &normalize(&out, &dir));
}

#[test]
fn exit_codes_and_errors() {
    let dir = Workdir::new("shell-err");
    let srv = Server::start(&[]);
    let (out, err, code) = srv.shell(&dir.path, &["-c", "pause 42", "-c", "ps"]);
    assert_eq!(code, 1);
    assert_eq!(err, "error: unknown pid 42\n");
    assert!(out.contains("ps:"), "execution continues after an error");
    let (_, err, code) = srv.shell(&dir.path, &["frobnicate"]);
    assert_eq!(code, 1);
    assert_eq!(err, "error: unknown command 'frobnicate' (try 'help')\n");
    let (_, err, code) = srv.shell(&dir.path, &["--stop-on-error", "-c", "peek", "-c", "ps"]);
    assert_eq!(code, 1);
    assert_eq!(err, "usage: peek PID ADDR [LEN]\n");
    let (out, _, code) = srv.shell(&dir.path, &["--json", "ping-not-a-command"]);
    assert_eq!((out.as_str(), code), ("", 1));
    let (out, _, code) = srv.shell(&dir.path, &["raw", r#"{"cmd":"ping"}"#]);
    assert_eq!(code, 0);
    assert!(out.contains("\"reply\": \"pong\""), "{out}");
    let (out, _, code) = srv.shell(&dir.path, &["help"]);
    assert_eq!(code, 0);
    assert!(out.lines().count() > 40);
    for line in out.lines().skip(1) {
        if let Some(name) = line
            .split_whitespace()
            .next()
            .filter(|n| !n.starts_with("Add"))
        {
            let (h, _, c) = srv.shell(&dir.path, &["help", name]);
            assert_eq!(c, 0, "help {name}");
            assert!(h.starts_with("usage: "), "help {name}: {h}");
        }
    }
    // Unreachable server: exit 3.
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = free.local_addr().unwrap().port();
    drop(free);
    let out = std::process::Command::new(HSX)
        .args(["shell", "--port", &port.to_string(), "ps"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!("hsx shell: cannot connect to 127.0.0.1:{port}: connection refused\n")
    );
}

#[test]
fn script_from_stdin_prints_no_prompt() {
    use std::io::Write;
    let dir = Workdir::new("shell-stdin");
    let srv = Server::start(&[]);
    let mut child = std::process::Command::new(HSX)
        .current_dir(&dir.path)
        .args(["shell", "--port", &srv.port.to_string()])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"# a comment\nload count.hxe\npause 1\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let text = normalize(&String::from_utf8_lossy(&out.stdout), &dir);
    assert_eq!(
        text,
        "loaded pid 1: $DIR/count.hxe entry=0x0000 code=32 ro=0 bss=0 symbols=2\npid 1: paused\n"
    );
}
