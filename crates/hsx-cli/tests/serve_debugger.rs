//! Debugger over the wire: breakpoints, BRK-free stepping, watches, stack, disassembly.

mod serve_support;

use std::time::Duration;

use serde_json::json;
use serve_support::{Server, Workdir, error_of};

#[test]
fn break_step_watch_stack_continue() {
    let dir = Workdir::new("dbg");
    let srv = Server::start(&[]);
    let mut c = srv.conn();
    let sid = c.subscribe(json!({"pid": 1}));
    c.ok(json!({"cmd": "load", "path": dir.image("frames"), "session": sid}));
    let leaf =
        c.ok(json!({"cmd": "sym", "pid": 1, "op": "name", "name": "leaf"}))["symbol"]["address"]
            .as_u64()
            .unwrap();
    // Break in leaf after its prologue (PUSH R7; MOV R7, R15).
    c.ok(json!({"cmd": "bp", "op": "set", "pid": 1, "addr": leaf + 8}));
    assert_eq!(
        c.ok(json!({"cmd": "bp", "pid": 1}))["breakpoints"],
        json!([leaf + 8])
    );
    let r = c.ok(json!({"cmd": "step", "pid": 1, "steps": 1000}));
    assert_eq!(r["result"]["stop_reason"], "breakpoint");
    let order: Vec<String> = c
        .events
        .iter()
        .filter(|e| {
            matches!(
                e["type"].as_str(),
                Some("debug_stop" | "task_state" | "debug_break")
            )
        })
        .map(|e| e["type"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        order[order.len() - 3..],
        ["debug_stop", "task_state", "debug_break"]
    );
    let stack = c.ok(json!({"cmd": "stack", "pid": 1}))["stack"].clone();
    assert_eq!(stack["errors"], json!([]), "{stack}");
    let frames = stack["frames"].as_array().unwrap();
    assert_eq!(frames.len(), 2, "{stack}");
    assert_eq!(frames[0]["func_name"], "leaf");
    assert_eq!(frames[0]["return_pc"], 0x10);
    assert_eq!(frames[1]["pc"], 0x10);
    assert_eq!(frames[1]["func_name"], "main");
    assert_eq!(frames[1]["return_pc"], serde_json::Value::Null);
    // Disassembly comes from code memory.
    let d = c.ok(json!({"cmd": "disasm", "pid": 1, "addr": leaf, "count": 3}))["disasm"].clone();
    let ins = d["instructions"].as_array().unwrap();
    assert_eq!(ins[0]["mnemonic"], "PUSH");
    assert_eq!(ins[0]["label"], "leaf");
    assert_eq!(ins[2]["mnemonic"], "LDI32");
    assert_eq!(ins[2]["size"], 8);
    // A stopping watch on the counter.
    let counter = c.ok(json!({"cmd": "sym", "pid": 1, "op": "name", "name": "counter"}))["symbol"]
        ["address"]
        .as_u64()
        .unwrap();
    let w = c.ok(json!({"cmd": "watch", "op": "add", "pid": 1, "expr": "counter", "stop": true}));
    assert_eq!(w["watch"]["address"], counter);
    assert_eq!(w["watch"]["type"], "symbol");
    let r = c.ok(json!({"cmd": "step", "pid": 1, "steps": 100}));
    assert_eq!(r["result"]["stop_reason"], "watch", "{r}");
    let upd = c
        .wait_event(Duration::from_secs(1), |e| e["type"] == "watch_update")
        .expect("watch_update");
    assert_eq!(upd["data"]["old"], "00000000");
    assert_eq!(upd["data"]["new"], "03000000");
    let r = c.ok(json!({"cmd": "dbg", "op": "cont", "pid": 1, "cycles": 100}));
    assert_eq!(r["debug"]["result"]["stop_reason"], "watch");
    assert_eq!(
        c.ok(json!({"cmd": "peek", "pid": 1, "addr": counter, "length": 4}))["data"],
        "06000000"
    );
    let id = w["watch"]["id"].as_u64().unwrap();
    c.ok(json!({"cmd": "watch", "op": "remove", "pid": 1, "id": id}));
    assert_eq!(
        error_of(&c.req(json!({"cmd": "watch", "op": "remove", "pid": 1, "id": id}))),
        format!("unknown watch {id} for pid 1")
    );
    c.ok(json!({"cmd": "bp.clear_all", "pid": 1}));
    c.ok(json!({"cmd": "resume", "pid": 1}));
    let r = c.ok(json!({"cmd": "step", "steps": 1000}));
    assert_eq!(r["result"]["stop_reason"], "exited", "{r}");
    let ret = c
        .wait_event(Duration::from_secs(1), |e| {
            e["type"] == "task_state" && e["data"]["new_state"] == "returned"
        })
        .expect("returned");
    assert_eq!(ret["data"]["details"]["exit_status"], 7);
    let regs = c.ok(json!({"cmd": "dumpregs", "pid": 1}))["registers"].clone();
    assert_eq!(regs["R0"], 7);
    assert_eq!(
        regs["sp_effective"],
        regs["stack_base"].as_u64().unwrap() + regs["sp"].as_u64().unwrap()
    );
}

#[test]
fn brk_and_fault_events() {
    let dir = Workdir::new("brk");
    let srv = Server::start(&[]);
    let mut c = srv.conn();
    c.subscribe(json!({"categories": ["vm_error", "debug_*", "task_state"]}));
    c.ok(json!({"cmd": "load", "path": dir.image("brk")}));
    let r = c.ok(json!({"cmd": "step", "pid": 1, "steps": 10}));
    assert_eq!(r["result"]["stop_reason"], "brk", "{r}");
    assert_eq!(r["result"]["debug_event"]["data"]["code"], 3);
    let r = c.ok(json!({"cmd": "step", "pid": 1, "steps": 10}));
    assert_eq!(r["result"]["stop_reason"], "exited", "{r}");
    c.ok(json!({"cmd": "load", "path": dir.image("stack_overflow")}));
    let r = c.ok(json!({"cmd": "step", "pid": 2, "steps": 100000}));
    assert_eq!(r["result"]["stop_reason"], "fault", "{r}");
    let types: Vec<&str> = c
        .events
        .iter()
        .filter(|e| e["pid"] == 2)
        .filter_map(|e| e["type"].as_str())
        .collect();
    let tail = &types[types.len() - 4..];
    assert_eq!(
        tail,
        ["vm_error", "task_state", "debug_break", "debug_stop"]
    );
}
