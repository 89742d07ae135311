//! `hsx serve` mailbox commands, mailbox events and the mailbox-backed stdio log
//! (`protocol.md` §5, §6.3, §8.2).

mod serve_support;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use serve_support::{Server, Workdir, error_of};

fn pid_of(load: &Value) -> u64 {
    load["image"]["pid"].as_u64().unwrap()
}

/// `send` → the task's blocking RECV on stdin wakes → its UART_WRITE reaches the
/// subscriber as `stdout` and the log as a `listen` message.
#[test]
fn send_wakes_a_receiving_task_and_its_output_is_streamed_and_logged() {
    let dir = Workdir::new("mbx-echo");
    let srv = Server::start(&["--clock", "virtual"]);
    let mut c = srv.conn();
    c.subscribe(json!({"categories": ["stdout", "mailbox_*", "task_state"]}));
    let pid = pid_of(&c.ok(json!({"cmd": "load", "path": dir.image("echo")})));
    c.ok(json!({"cmd": "clock", "op": "start"}));
    let wait = c
        .wait_event(Duration::from_secs(5), |e| e["type"] == "mailbox_wait")
        .expect("the task blocks in RECV");
    assert_eq!(wait["pid"], pid);
    assert_eq!(wait["data"]["handle"], 1);
    assert_eq!(wait["data"]["deadline"], Value::Null);
    let state = c
        .wait_event(Duration::from_secs(2), |e| {
            e["type"] == "task_state" && e["data"]["reason"] == "mailbox_wait"
        })
        .unwrap();
    assert_eq!(state["data"]["new_state"], "waiting_mbx");
    assert_eq!(
        state["data"]["details"]["descriptor"],
        wait["data"]["descriptor"]
    );
    let ps = c.ok(json!({"cmd": "ps"}));
    let task = &ps["tasks"]["tasks"][0];
    assert_eq!(
        task["wait_mailbox"],
        format!("svc:stdio.in@{pid}"),
        "{task}"
    );

    let r = c.ok(json!({"cmd": "send", "pid": pid, "data": "ping\n"}));
    assert_eq!(r["mbx_status"], 0, "{r}");
    assert_eq!(r["length"], 5);
    assert_eq!(r["target"], format!("svc:stdio.in@{pid}"));
    assert!(r.get("mbx_error").is_none());
    let sent = c
        .wait_event(Duration::from_secs(2), |e| {
            e["type"] == "mailbox_send" && e["data"]["source"] == "host"
        })
        .unwrap_or_else(|| panic!("{:#?}", c.events));
    assert_eq!(sent["pid"], 0);
    assert_eq!(sent["data"]["src_pid"], 0);
    assert_eq!(sent["data"]["descriptor"], r["descriptor"]);
    let wake = c
        .wait_event(Duration::from_secs(2), |e| e["type"] == "mailbox_wake")
        .unwrap();
    assert_eq!(wake["data"]["length"], 5);
    let out = c
        .wait_event(Duration::from_secs(5), |e| e["type"] == "stdout")
        .expect("echoed output");
    assert_eq!(out["pid"], pid);
    assert_eq!(out["data"]["text"], "ping\n");
    assert_eq!(out["data"]["data_hex"], "70696E670A");
    assert_eq!(out["data"]["length"], 5);

    let l = c.ok(json!({"cmd": "listen", "pid": pid}));
    let msgs = l["messages"].as_array().unwrap();
    assert_eq!(msgs.len(), 1, "{l}");
    assert_eq!(msgs[0]["text"], "ping\n");
    assert_eq!(msgs[0]["stream"], "out");
    assert_eq!(msgs[0]["flags"], 1, "STDOUT flag of a UART write");
    assert_eq!(msgs[0]["src_pid"], pid);
    assert_eq!(msgs[0]["target"], format!("svc:stdio.out@{pid}"));
    assert_eq!(
        c.ok(json!({"cmd": "listen", "pid": pid}))["messages"],
        json!([])
    );
}

#[test]
fn snapshot_list_and_the_host_mailbox_api() {
    let dir = Workdir::new("mbx-api");
    let srv = Server::start(&["--clock", "virtual"]);
    let mut c = srv.conn();
    let pid = pid_of(&c.ok(json!({"cmd": "load", "path": dir.image("echo")})));

    let info = c.ok(json!({"cmd": "info"}));
    assert_eq!(
        info["info"]["mailbox_profile"]["config"],
        json!({"max_descriptors": 256, "handle_limit_per_pid": 64, "default_capacity": 64,
               "stdio_capacity": 256, "tap_rate_limit": 0})
    );
    let snap = c.ok(json!({"cmd": "mailbox_snapshot"}));
    let names: Vec<&str> = snap["descriptors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["target"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            format!("svc:stdio.in@{pid}"),
            format!("svc:stdio.out@{pid}"),
            format!("svc:stdio.err@{pid}"),
            format!("pid:{pid}"),
        ]
    );
    assert_eq!(snap["stats"]["active_descriptors"], 4);
    assert_eq!(snap["stats"]["handles_per_pid"][pid.to_string()], 3);
    assert_eq!(snap["descriptors"][0]["namespace"], 1);
    assert_eq!(snap["descriptors"][0]["capacity"], 256);

    // Host handles (pid 0): bind a shared fan-out mailbox, open it, send, recv, peek.
    let b = c.ok(json!({"cmd": "mailbox_bind", "pid": 0, "target": "shared:bus", "capacity": 64, "mode": 0x13}));
    assert_eq!(
        (
            b["mbx_status"].clone(),
            b["capacity"].clone(),
            b["mode"].clone()
        ),
        (json!(0), json!(64), json!(0x13))
    );
    let o = c.ok(json!({"cmd": "mailbox_open", "pid": 0, "target": "shared:bus"}));
    let h = o["handle"].as_u64().unwrap();
    assert_eq!(o["mbx_status"], 0);
    let s = c.ok(json!({"cmd": "mailbox_send", "pid": 0, "handle": h, "data_hex": "00ff41", "flags": 0x20, "channel": 7}));
    assert_eq!(
        (s["mbx_status"].clone(), s["length"].clone()),
        (json!(0), json!(3))
    );
    let p = c.ok(json!({"cmd": "mailbox_peek", "pid": 0, "handle": h}));
    assert_eq!(p["info"]["depth"], 1, "{p}");
    assert_eq!(p["info"]["next_len"], 3);
    assert_eq!(p["info"]["mode_mask"], 0x13);
    let r = c.ok(json!({"cmd": "mailbox_recv", "pid": 0, "handle": h, "max_len": 2}));
    assert_eq!(r["data_hex"], "00FF");
    assert_eq!(r["flags"], 0x20 | 0x10, "TRUNCATED added: {r}");
    assert_eq!(
        (r["channel"].clone(), r["src_pid"].clone()),
        (json!(7), json!(0))
    );
    let r = c.ok(json!({"cmd": "mailbox_recv", "pid": 0, "handle": h}));
    assert_eq!(
        (r["mbx_status"].clone(), r["mbx_error"].clone()),
        (json!(3), json!("NO_DATA"))
    );
    let bad = c.ok(json!({"cmd": "mailbox_send", "pid": 0, "target": "svc:x@abc", "data": "x"}));
    assert_eq!(bad["mbx_error"], "INTERNAL");
    assert_eq!(
        c.ok(json!({"cmd": "mailbox_close", "pid": 0, "handle": h}))["mbx_status"],
        0
    );
    assert_eq!(
        c.ok(json!({"cmd": "mailbox_close", "pid": 0, "handle": h}))["mbx_error"],
        "INVALID_HANDLE"
    );

    // A task's view: its stdio channels.
    let l = c.ok(json!({"cmd": "list", "pid": pid}));
    let chans = l["channels"]["channels"].as_array().unwrap();
    assert_eq!(chans.len(), 4, "{l}");
    assert_eq!(chans[1]["target"], format!("svc:stdio.out@{pid}"));
    assert_eq!(chans[1]["handles"], json!([2]));
    assert_eq!(
        error_of(&c.req(json!({"cmd": "list", "pid": 99}))),
        "unknown pid 99"
    );
    assert_eq!(
        error_of(&c.req(json!({"cmd": "send", "pid": pid}))),
        "send requires 'data'"
    );

    // stdio_fanout: a task's out stream, then the default.
    let f = c.ok(json!({"cmd": "stdio_fanout", "pid": pid, "stream": "stdout", "mode": "fanout"}));
    assert_eq!(f["config"]["scope"], "pid");
    assert_eq!(
        f["config"]["streams"],
        json!([{"stream": "out", "mode": "fanout", "mode_mask": 0x1B}])
    );
    assert_eq!(
        f["config"]["applied"]["updated"],
        json!([format!("svc:stdio.out@{pid}")])
    );
    let f = c.ok(json!({"cmd": "stdio_fanout"}));
    assert_eq!(f["config"]["scope"], "default");
    assert_eq!(
        f["config"]["default"][1],
        json!({"stream": "out", "mode": "off", "mode_mask": 3})
    );
    assert!(
        error_of(&c.req(json!({"cmd": "stdio_fanout", "mode": "sideways"})))
            .starts_with("invalid value for 'mode'")
    );
    let sum = c.ok(json!({"cmd": "mailbox_stdio_summary", "pid": pid, "stream": "out"}));
    assert_eq!(sum["summary"]["task"]["streams"][0]["mode"], "fanout");

    // Locks: a session holding the pid refuses sessionless sends.
    let mut other = srv.conn();
    other.ok(json!({"cmd": "session.open", "client": "locker", "pid_lock": pid}));
    assert_eq!(
        error_of(&c.req(json!({"cmd": "send", "pid": pid, "data": "x"}))),
        format!("pid_locked:{pid}")
    );
    assert_eq!(
        error_of(&c.req(json!({"cmd": "mailbox_recv", "pid": pid, "handle": 1}))),
        format!("pid_locked:{pid}")
    );
    assert_eq!(
        c.ok(json!({"cmd": "mailbox_peek", "pid": pid, "handle": 1}))["mbx_status"],
        0
    );
}

/// Decode the message numbers of `listen` messages (bytes 0..3, little-endian).
fn numbers(messages: &[Value]) -> Vec<u32> {
    messages
        .iter()
        .map(|m| {
            let hex = m["data_hex"].as_str().unwrap();
            assert_eq!(m["length"], 200, "whole messages: {m}");
            u32::from_str_radix(
                &format!("{}{}{}{}", &hex[6..8], &hex[4..6], &hex[2..4], &hex[0..2]),
                16,
            )
            .unwrap()
        })
        .collect()
}

/// No subscriber and no `listen`: the log fills with undelivered output, the sink
/// stops, the stdout descriptor fills and the task's writes come back short; nothing
/// is evicted or lost. `listen` frees room and the task finishes.
#[test]
fn a_host_that_never_reads_back_pressures_the_task_without_losing_output() {
    let dir = Workdir::new("mbx-flood");
    let srv = Server::start(&["--clock", "virtual", "--stdio-log-bytes", "4096"]);
    let mut c = srv.conn();
    let pid = pid_of(&c.ok(json!({"cmd": "load", "path": dir.image("flood")})));
    c.ok(json!({"cmd": "clock", "op": "start"}));
    // Wait until the task is stalled: its stdout descriptor is full.
    let start = Instant::now();
    let out_target = format!("svc:stdio.out@{pid}");
    loop {
        let snap = c.ok(json!({"cmd": "mailbox_snapshot"}));
        let d = snap["descriptors"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["target"] == out_target.as_str())
            .cloned()
            .unwrap();
        if d["queue_depth"] == 1 {
            // 256-byte descriptor: one 200-byte message (cost 208) fills it.
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "never stalled: {d}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(200));
    let regs = c.ok(json!({"cmd": "dumpregs", "pid": pid}));
    let sent_so_far = regs["registers"]["R8"].as_u64().unwrap();
    assert!(
        regs["registers"]["R9"].as_u64().unwrap() > 0,
        "writes were short: {regs}"
    );
    // 4096-byte log = 20 messages of 200 bytes, plus one queued in the descriptor.
    assert_eq!(sent_so_far, 21, "{regs}");
    assert_eq!(
        c.ok(json!({"cmd": "ps"}))["tasks"]["tasks"][0]["state"]
            .as_str()
            .map(|s| s == "running" || s == "ready"),
        Some(true)
    );

    // Drain everything in order; each listen lets the sink resume.
    let mut seen = Vec::new();
    let start = Instant::now();
    while seen.len() < 1000 {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "stuck at {}",
            seen.len()
        );
        let l = c.ok(json!({"cmd": "listen", "pid": pid, "stream": "out", "limit": 4096}));
        let got = numbers(l["messages"].as_array().unwrap());
        if got.is_empty() {
            std::thread::sleep(Duration::from_millis(5));
        }
        seen.extend(got);
    }
    assert_eq!(seen, (0..1000).collect::<Vec<u32>>());
    let start = Instant::now();
    loop {
        let t = &c.ok(json!({"cmd": "ps"}))["tasks"]["tasks"][0];
        if t["state"] == "returned" {
            assert_eq!(t["exit_status"], 0);
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(5), "{t}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A subscriber receives the output: delivered messages are evicted from the full
/// log, so the task never stalls and the subscriber sees every message in order.
#[test]
fn delivered_output_is_evicted_so_a_subscribed_host_never_stalls_the_task() {
    let dir = Workdir::new("mbx-flood-sub");
    let srv = Server::start(&["--clock", "virtual", "--stdio-log-bytes", "4096"]);
    let mut c = srv.conn();
    // auto_ack keeps pending at 0 and max_events holds every event, so the
    // subscription never drops anything however the test thread is scheduled.
    let sid = c.ok(json!({"cmd": "session.open", "client": "t",
                          "capabilities": {"max_events": 2048}}))["session"]["id"]
        .clone();
    c.ok(
        json!({"cmd": "events.subscribe", "session": sid, "auto_ack": true,
                "filters": {"categories": ["stdout", "task_state"]}}),
    );
    let pid = pid_of(&c.ok(json!({"cmd": "load", "path": dir.image("flood")})));
    c.ok(json!({"cmd": "clock", "op": "start"}));
    c.wait_event(Duration::from_secs(30), |e| {
        e["type"] == "task_state" && e["data"]["new_state"] == "returned"
    })
    .expect("the task finishes without anyone calling listen");
    let hex: Vec<String> = c
        .events
        .iter()
        .filter(|e| e["type"] == "stdout")
        .map(|e| e["data"]["data_hex"].as_str().unwrap()[..8].to_owned())
        .collect();
    let nums: Vec<u32> = hex
        .iter()
        .map(|h| {
            u32::from_str_radix(
                &format!("{}{}{}{}", &h[6..8], &h[4..6], &h[2..4], &h[0..2]),
                16,
            )
            .unwrap()
        })
        .collect();
    assert_eq!(nums, (0..1000).collect::<Vec<u32>>());
    // The log kept only the newest 4096 bytes (20 messages).
    let l = c.ok(json!({"cmd": "listen", "pid": pid, "limit": 4096}));
    assert_eq!(
        numbers(l["messages"].as_array().unwrap()),
        (980..1000).collect::<Vec<u32>>()
    );
}
