//! End-to-end protocol tests against the real `hsx serve` (`protocol.md` §9).

mod serve_support;

use std::io::Read;
use std::time::{Duration, Instant};

use serde_json::json;
use serve_support::{Conn, Server, Workdir, error_of};

#[test]
fn ping_bad_input_and_long_lines_leave_the_connection_usable() {
    let srv = Server::start(&[]);
    let mut c = srv.conn();
    let mut other = srv.conn();
    let r = c.req(json!({"cmd": "ping"}));
    assert_eq!(r["status"], "ok");
    assert_eq!(r["version"], 1);
    assert_eq!(r["reply"], "pong");
    assert_eq!(r["protocol"], 1);
    assert!(r.get("seq").is_none() && r.get("type").is_none());
    c.send_raw(b"not json\n");
    assert_eq!(error_of(&c.reply()), "invalid_json");
    c.send_raw(b"[1,2]\n{}\n{\"cmd\": 7}\n");
    assert_eq!(error_of(&c.reply()), "invalid_request");
    assert_eq!(error_of(&c.reply()), "missing_cmd");
    assert_eq!(error_of(&c.reply()), "missing_cmd");
    c.send_raw(b"{\"cmd\":\"ping\",\"version\":2}\r\n\n   \n");
    assert_eq!(error_of(&c.reply()), "unsupported_version:2");
    let mut big = vec![b'x'; 2 << 20];
    big.push(b'\n');
    c.send_raw(&big);
    assert_eq!(error_of(&c.reply()), "line_too_long:1048576");
    c.send_raw(b"{\"cmd\": \" PING \"}\n");
    assert_eq!(c.reply()["reply"], "pong");
    assert_eq!(
        error_of(&c.req(json!({"cmd": "frobnicate"}))),
        "unknown_cmd:frobnicate"
    );
    assert_eq!(other.req(json!({"cmd": "ping"}))["reply"], "pong");
}

#[test]
fn integers_in_strings_equal_integers_and_smoke_test_flow() {
    let dir = Workdir::new("smoke");
    let srv = Server::start(&[]);
    let img = srv.once(json!({"cmd": "load", "path": dir.image("count")}));
    assert_eq!(img["status"], "ok", "{img}");
    let pid = img["image"]["pid"].as_u64().unwrap();
    assert_eq!(pid, 1);
    assert_eq!(img["image"]["symbols"]["loaded"], true);
    let a = srv.once(json!({"cmd": "peek", "pid": "1", "addr": "0xEFF0", "length": "4"}));
    let b = srv.once(json!({"cmd": "peek", "pid": 1, "addr": 61424, "length": 4}));
    assert_eq!(a["status"], "ok");
    assert_eq!(a, b);
    assert_eq!(
        error_of(&srv.once(json!({"cmd": "peek", "pid": 1, "addr": 65536}))),
        "invalid value for 'addr': 65536"
    );
    assert_eq!(
        srv.once(json!({"cmd": "pause", "pid": 1}))["task"]["state"],
        "paused"
    );
    let r = srv.once(json!({"cmd": "resume", "pid": 1}));
    assert!(
        matches!(r["task"]["state"].as_str(), Some("ready" | "running")),
        "{r}"
    );
    assert_eq!(
        srv.once(json!({"cmd": "kill", "pid": 1}))["task"]["state"],
        "terminated"
    );
    assert_eq!(
        error_of(&srv.once(json!({"cmd": "pause"}))),
        "pause requires 'pid'"
    );
    assert_eq!(
        error_of(&srv.once(json!({"cmd": "pause", "pid": 9}))),
        "unknown pid 9"
    );
    let missing = srv.once(json!({"cmd": "load", "path": "/nonexistent/x.hxe"}));
    assert!(
        error_of(&missing).starts_with("cannot open '/nonexistent/x.hxe'"),
        "{missing}"
    );
}

#[test]
fn returned_tasks_stay_listed_and_the_clock_keeps_working() {
    let dir = Workdir::new("returned");
    let srv = Server::start(&["--run"]);
    let mut c = srv.conn();
    c.ok(json!({"cmd": "load", "path": dir.image("count")}));
    let start = Instant::now();
    loop {
        let ps = c.ok(json!({"cmd": "ps"}));
        let t = &ps["tasks"]["tasks"][0];
        if t["state"] == "returned" {
            assert_eq!(t["exit_status"], 55);
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(5), "{ps}");
        std::thread::sleep(Duration::from_millis(10));
    }
    let r = c.ok(json!({"cmd": "load", "path": dir.image("fib")}));
    let pid = r["image"]["pid"].as_u64().unwrap();
    assert_eq!(pid, 2);
    c.ok(json!({"cmd": "clock", "op": "status"}));
    let fault = c.ok(json!({"cmd": "load", "path": dir.image("stack_overflow")}));
    let fpid = fault["image"]["pid"].as_u64().unwrap();
    let start = Instant::now();
    loop {
        let ps = c.ok(json!({"cmd": "ps"}));
        let t = ps["tasks"]["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["pid"] == fpid)
            .cloned()
            .unwrap();
        if t["state"] == "faulted" {
            assert_eq!(t["fault"]["name"], "STACK_OVERFLOW");
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(5));
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(c.ok(json!({"cmd": "clock"}))["clock"]["state"], "running");
}

#[test]
fn pattern_b_dedicated_event_connection() {
    let dir = Workdir::new("patb");
    let srv = Server::start(&[]);
    let sid = srv.once(json!({"cmd": "session.open", "client": "S"}))["session"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut events = srv.conn();
    events.send(&json!({"cmd": "events.subscribe", "session": sid}));
    let ack = events.line().unwrap();
    assert_eq!(ack["status"], "ok");
    assert!(
        ack["events"]["token"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{sid}:"))
    );
    srv.once(json!({"cmd": "load", "path": dir.image("count")}));
    // The spawn creates the task's default channels (stdio in/out/err, pid:1) first.
    let mut seq = ack["events"]["cursor"].as_u64().unwrap();
    let mut created = Vec::new();
    let ev = loop {
        let ev = events.line().unwrap();
        seq += 1;
        assert_eq!(ev["seq"].as_u64().unwrap(), seq, "{ev}");
        if ev["type"] != "mailbox_created" {
            break ev;
        }
        created.push(ev["data"]["name"].as_str().unwrap().to_owned());
    };
    assert_eq!(created, ["stdio.in", "stdio.out", "stdio.err", "1"]);
    assert_eq!(ev["type"], "task_state", "{ev}");
    assert_eq!(ev["data"]["reason"], "loaded");
    assert_eq!(ev["data"]["prev_state"], serde_json::Value::Null);
    let r = srv.once(json!({"cmd": "events.ack", "session": sid, "seq": ev["seq"]}));
    assert_eq!(r["events"]["pending"], 0, "{r}");
    // Replay from 0 on a second subscription replaces the first (dedicated: closed).
    let mut again = srv.conn();
    again.send(&json!({"cmd": "events.subscribe", "session": sid, "filters": {"since_seq": 0, "categories": ["task_state", "bogus"]}}));
    let ack2 = again.line().unwrap();
    assert_eq!(ack2["events"]["warnings"][0], "unknown_category:bogus");
    assert_eq!(again.line().unwrap()["data"]["reason"], "loaded");
    assert!(
        events.line().is_none(),
        "replaced dedicated connection is closed"
    );
}

#[test]
fn pattern_c_multiplexed_debug_session() {
    let dir = Workdir::new("patc");
    let srv = Server::start(&[]);
    let mut c = srv.conn();
    let sid = c.subscribe(json!({}));
    let start = Instant::now();
    c.ok(json!({"cmd": "load", "path": dir.image("count"), "session": sid}));
    let sym = c.ok(json!({"cmd": "sym", "pid": 1, "op": "name", "name": "loop", "session": sid}));
    let addr = sym["symbol"]["address"].as_u64().unwrap();
    c.ok(json!({"cmd": "bp.add", "pid": 1, "address": addr, "session": sid}));
    c.send(&json!({"cmd": "step", "pid": 1, "steps": 100, "session": sid}));
    let mut saw_break = false;
    let reply = loop {
        let v = c.line().unwrap();
        if v.get("status").is_some() {
            break v;
        }
        if v["type"] == "debug_break" {
            saw_break = true;
        }
    };
    assert!(saw_break, "debug_break is written before the step reply");
    assert!(start.elapsed() < Duration::from_millis(1500));
    let result = &reply["result"];
    assert_eq!(result["stop_reason"], "breakpoint", "{reply}");
    assert_eq!(result["pc"], addr);
    assert_eq!(result["paused"], true);
    assert_eq!(result["debug_event"]["data"]["reason"], "breakpoint");
    // The resume exemption: stepping again executes the instruction under the breakpoint.
    let r = c.ok(json!({"cmd": "step", "pid": 1, "steps": 1, "session": sid}));
    assert_eq!(r["result"]["executed"], 1);
    assert_eq!(r["result"]["stop_reason"], "budget");
    // Heartbeats while idle on a multiplexed connection.
    let hb = c.wait_event(Duration::from_secs(4), |e| e["type"] == "heartbeat");
    let hb = hb.expect("heartbeat within 4 s");
    assert_eq!(hb["seq"], serde_json::Value::Null);
}

#[test]
fn sessions_and_pid_locks() {
    let dir = Workdir::new("locks");
    let srv = Server::start(&[]);
    srv.once(json!({"cmd": "load", "path": dir.image("count")}));
    let mut owner = srv.conn();
    let s =
        owner.ok(json!({"cmd": "session.open", "client": "V", "pid_lock": 1, "heartbeat_s": 5}));
    let sid = s["session"]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        error_of(&srv.once(json!({"cmd": "pause", "pid": 1}))),
        "pid_locked:1"
    );
    assert_eq!(
        srv.once(json!({"cmd": "dumpregs", "pid": 1}))["status"],
        "ok"
    );
    let clash = srv.once(json!({"cmd": "session.open", "pid_lock": [1]}));
    assert_eq!(error_of(&clash), "pid_locked:1");
    owner.ok(json!({"cmd": "pause", "pid": 1, "session": sid}));
    let cur = owner.ok(json!({"cmd": "session.current", "session": sid}));
    assert_eq!(cur["session"]["pid_locks"], json!([1]));
    assert_eq!(
        error_of(&srv.once(json!({"cmd": "ps", "session": "nope"}))),
        "session_required"
    );
    assert_eq!(
        error_of(&srv.once(json!({"cmd": "events.ack", "seq": 1}))),
        "session_required"
    );
    // Idle past heartbeat_s with no subscription: the session expires, the lock is free.
    std::thread::sleep(Duration::from_millis(6500));
    assert_eq!(
        error_of(&owner.req(json!({"cmd": "ps", "session": sid}))),
        "session_required"
    );
    assert_eq!(srv.once(json!({"cmd": "resume", "pid": 1}))["status"], "ok");
}

#[test]
fn many_concurrent_connections_and_the_connection_limit() {
    let srv = Server::start(&["--max-connections", "256"]);
    let conns: Vec<Conn> = (0..200).map(|_| srv.conn()).collect();
    let handles: Vec<_> = conns
        .into_iter()
        .map(|mut c| std::thread::spawn(move || c.req(json!({"cmd": "ping"}))["reply"] == "pong"))
        .collect();
    assert!(handles.into_iter().all(|h| h.join().unwrap()));
    let limited = Server::start(&["--max-connections", "4"]);
    let keep: Vec<Conn> = (0..4).map(|_| limited.conn()).collect();
    // Let the acceptor register them.
    std::thread::sleep(Duration::from_millis(100));
    let mut extra = limited.conn();
    assert_eq!(error_of(&extra.line().unwrap()), "too_many_connections");
    assert!(extra.line().is_none());
    drop(keep);
}

#[test]
fn slow_consumer_is_dropped_without_disturbing_others() {
    let dir = Workdir::new("slow");
    let srv = Server::start(&[]);
    let mut ctl = srv.conn();
    ctl.ok(json!({"cmd": "load", "path": dir.image("fib")}));
    let mut slow = srv.conn();
    let s = slow.ok(json!({"cmd": "session.open", "capabilities": {"max_events": 2}}));
    let sid = s["session"]["id"].as_str().unwrap().to_owned();
    slow.ok(json!({"cmd": "events.subscribe", "session": sid}));
    ctl.ok(json!({"cmd": "trace", "pid": 1, "mode": true}));
    ctl.ok(json!({"cmd": "clock", "op": "start"}));
    // Read as fast as we can but never ack: pending grows past the thresholds.
    let mut reasons = Vec::new();
    let start = Instant::now();
    while let Some(v) = slow.line() {
        if v["type"] == "warning" {
            reasons.push(v["data"]["reason"].as_str().unwrap_or("").to_owned());
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "no drop: {reasons:?}"
        );
    }
    assert!(reasons.iter().any(|r| r == "slow_consumer"), "{reasons:?}");
    assert_eq!(
        reasons.last().map(String::as_str),
        Some("slow_consumer_drop")
    );
    let t0 = Instant::now();
    assert_eq!(ctl.req(json!({"cmd": "ping"}))["reply"], "pong");
    assert!(t0.elapsed() < Duration::from_millis(100));
    let r = srv.once(json!({"cmd": "events.ack", "session": sid, "seq": 1}));
    assert_eq!(error_of(&r), "session_required");
}

#[test]
fn restart_and_shutdown_complete_quickly_with_streams_open() {
    let dir = Workdir::new("restart");
    let mut srv = Server::start(&["--run"]);
    let mut c = srv.conn();
    c.subscribe(json!({}));
    srv.once(json!({"cmd": "load", "path": dir.image("fib")}));
    let t0 = Instant::now();
    let r = srv.once(json!({"cmd": "restart", "targets": "exec"}));
    assert_eq!(r["restart"]["exec"], "scheduled");
    assert!(t0.elapsed() < Duration::from_secs(1));
    assert_eq!(srv.once(json!({"cmd": "ps"}))["tasks"]["tasks"], json!([]));
    let mut d = srv.conn();
    d.subscribe(json!({}));
    let t0 = Instant::now();
    assert_eq!(srv.once(json!({"cmd": "shutdown"}))["status"], "ok");
    let status = srv.wait_exit(Duration::from_secs(2)).expect("server exits");
    assert!(status.success());
    assert!(t0.elapsed() < Duration::from_millis(1500));
    let mut rest = Vec::new();
    let _ = d.stream.read_to_end(&mut rest);
}

#[test]
fn load_assembles_mvasm_sources_and_reports_their_errors() {
    let srv = Server::start(&[]);
    let examples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let src = examples.join("count.mvasm").canonicalize().unwrap();
    let mut c = srv.conn();
    let loaded = c.ok(json!({"cmd": "load", "path": src.display().to_string()}));
    // The source's labels are its symbols (start, loop).
    assert_eq!(loaded["image"]["symbols"]["loaded"], true, "{loaded}");
    assert_eq!(loaded["image"]["symbols"]["count"], 2, "{loaded}");
    c.ok(json!({"cmd": "step", "steps": 1000}));
    let regs = c.ok(json!({"cmd": "dumpregs", "pid": 1}));
    assert_eq!(regs["registers"]["R0"], 55, "{regs}");
    let bad = std::env::temp_dir().join(format!("hsx-serve-bad-{}.mvasm", std::process::id()));
    std::fs::write(&bad, ".text\n    LDX R1, 5\n").unwrap();
    let r = srv.once(json!({"cmd": "load", "path": bad.display().to_string()}));
    assert!(
        error_of(&r).starts_with(&format!(
            "cannot assemble '{}': {}:2:5: error: Unknown mnemonic: LDX",
            bad.display(),
            bad.display()
        )),
        "{r}"
    );
    std::fs::remove_file(bad).unwrap();
}
