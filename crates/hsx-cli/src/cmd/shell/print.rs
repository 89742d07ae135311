//! Concise printers for the shell (`tools.md` §5.2).

use std::io::Write;

use serde_json::Value;

/// Python-style scalar text (`True`, `False`, `None`, `0.0`), as the prototype printed.
pub fn py(v: &Value) -> String {
    match v {
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Null => "None".into(),
        Value::String(s) => s.clone(),
        Value::Number(n) if n.is_f64() => {
            let f = n.as_f64().unwrap_or(0.0);
            format!("{f:?}")
        }
        other => other.to_string(),
    }
}

fn u(v: &Value) -> u64 {
    v.as_u64().unwrap_or(0)
}

/// Indented JSON with sorted keys.
pub fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default()
}

/// `HH:MM:SS` (UTC) of an epoch timestamp.
fn clock_time(ts: &Value) -> String {
    let secs = ts.as_f64().unwrap_or(0.0) as u64;
    let day = secs % 86400;
    format!("{:02}:{:02}:{:02}", day / 3600, day % 3600 / 60, day % 60)
}

/// The notification line for an event, if it is one.
pub fn notification(e: &Value) -> Option<String> {
    let pid = &e["pid"];
    let d = &e["data"];
    match e["type"].as_str()? {
        "debug_break" => {
            let mut line = format!(
                "[pid {pid}] stopped: {} at 0x{:04X}",
                d["reason"].as_str().unwrap_or("?"),
                u(&d["pc"])
            );
            if let Some(s) = d["symbol"].as_str() {
                line.push(' ');
                line.push_str(s);
            }
            if let Some(c) = d["code"].as_u64() {
                line.push_str(&format!(" (code {c})"));
            }
            Some(line)
        }
        "task_state" => match d["new_state"].as_str()? {
            "returned" => Some(format!(
                "[pid {pid}] returned: exit status {}",
                py(&d["details"]["exit_status"])
            )),
            "faulted" => Some(format!(
                "[pid {pid}] faulted: {} at 0x{:04X}",
                d["details"]["name"].as_str().unwrap_or("?"),
                u(&d["details"]["pc"])
            )),
            _ => None,
        },
        _ => None,
    }
}

/// `loaded pid 3: /abs/app.hxe entry=0x003C code=364 ro=0 bss=0 symbols=3`.
pub fn loaded(img: &Value) {
    let symbols = match img["symbols"]["count"].as_u64() {
        Some(n) => n.to_string(),
        None => "none".into(),
    };
    println!(
        "loaded pid {}: {} entry=0x{:04X} code={} ro={} bss={} symbols={}",
        img["pid"],
        img["program"].as_str().unwrap_or(""),
        u(&img["entry"]),
        u(&img["code_len"]),
        u(&img["ro_len"]),
        u(&img["bss"]),
        symbols
    );
    for w in img["warnings"].as_array().into_iter().flatten() {
        println!("  warning: {}", w.as_str().unwrap_or(""));
    }
}

/// The task table.
pub fn ps(r: &Value) {
    let t = &r["tasks"];
    println!("ps:");
    println!(
        "  status    : ok  version: {}  current_pid: {}",
        r["version"],
        py(&t["current_pid"])
    );
    task_table(
        t["tasks"].as_array().map(Vec::as_slice).unwrap_or(&[]),
        &t["current_pid"],
    );
}

fn task_table(tasks: &[Value], current: &Value) {
    println!("    PID   State         Prio  Quantum  Steps     Sleep     Exit  Trace  Program");
    println!("    {}", "-".repeat(75));
    for t in tasks {
        let mark = if t["pid"] == *current { "*" } else { " " };
        let exit = match &t["exit_status"] {
            Value::Null => "-".to_string(),
            v => v.to_string(),
        };
        println!(
            "  {mark}{:>5}  {:<12}  {:>4}  {:>7}  {:>8}  {:<5}  {:>7}  {:>5}  {}",
            t["pid"].to_string(),
            t["state"].as_str().unwrap_or(""),
            t["priority"].to_string(),
            t["quantum"].to_string(),
            t["accounted_steps"].to_string(),
            py(&t["sleep_pending"]),
            exit,
            if t["trace"] == true { "on" } else { "off" },
            t["program"].as_str().unwrap_or("")
        );
    }
    if tasks.is_empty() {
        println!("    (no tasks)");
    }
}

/// The `info` block.
pub fn info(r: &Value) {
    let i = &r["info"];
    println!("info:");
    println!(
        "  loaded  : {}  attached: {}  paused: {}  auto: {}",
        py(&i["loaded"]),
        py(&i["attached"]),
        py(&i["paused"]),
        py(&i["auto"])
    );
    println!(
        "  running : {}  current_pid: {}  sleep_pending: {}",
        py(&i["running"]),
        py(&i["current_pid"]),
        py(&i["sleep_pending"])
    );
    task_table(
        i["tasks"].as_array().map(Vec::as_slice).unwrap_or(&[]),
        &i["current_pid"],
    );
    clock(&i["clock"], None);
    if i["selected_registers"].is_object() {
        dumpregs(&i["selected_registers"]);
    }
    if let Some(e) = i["selected_error"].as_str() {
        println!("  selected: {e}");
    }
}

/// The clock block, with a `last_step` block for steps.
pub fn clock(c: &Value, result: Option<&Value>) {
    println!("clock:");
    println!(
        "  state       : {}  mode: {}  running: {}",
        py(&c["state"]),
        py(&c["mode"]),
        py(&c["running"])
    );
    println!(
        "  rate_hz     : {}  step_size: {}",
        py(&c["rate_hz"]),
        c["step_size"]
    );
    println!(
        "  throttle    : {} ({})  last_wait_s: {}",
        py(&c["throttled"]),
        py(&c["throttle_reason"]),
        py(&c["last_wait_s"])
    );
    println!(
        "  auto        : steps={}  total={}",
        c["auto_steps"], c["auto_total_steps"]
    );
    println!(
        "  manual      : steps={}  total={}",
        c["manual_steps"], c["manual_total_steps"]
    );
    if let Some(r) = result {
        last_step_at(r, "  ");
    }
}

/// The `last_step` block alone (dbg cont/step/break).
pub fn last_step(r: &Value) {
    last_step_at(r, "");
}

/// The `last_step` block, indented by `indent`.
fn last_step_at(r: &Value, indent: &str) {
    println!("{indent}last_step:");
    println!(
        "{indent}  executed : {}   stop_reason: {}",
        r["executed"],
        py(&r["stop_reason"])
    );
    println!(
        "{indent}  pc       : {}  current_pid: {}  paused: {}",
        hex4(&r["pc"]),
        py(&r["current_pid"]),
        py(&r["paused"])
    );
}

fn hex4(v: &Value) -> String {
    match v.as_u64() {
        Some(n) => format!("0x{n:04X}"),
        None => "None".into(),
    }
}

/// `dumpregs`.
pub fn dumpregs(r: &Value) {
    let psw = u(&r["psw"]) as u32;
    println!(
        "dumpregs: pid {} ({}) state={}",
        r["pid"],
        r["app_name"].as_str().unwrap_or(""),
        r["state"].as_str().unwrap_or("")
    );
    println!(
        "  pc      : 0x{:08X}  sp: 0x{:08X}  psw: 0x{psw:02X} {}  steps: {}",
        u(&r["pc"]),
        u(&r["sp"]),
        hsx_isa::psw::names(psw),
        r["steps"]
    );
    println!(
        "  reg_base: 0x{:X}  stack_base: 0x{:X}  stack_limit: 0x{:X}  stack_top: 0x{:X}",
        u(&r["reg_base"]),
        u(&r["stack_base"]),
        u(&r["stack_limit"]),
        u(&r["stack_top"])
    );
    let regs: Vec<u64> = r["regs"]
        .as_array()
        .map(|a| a.iter().map(u).collect())
        .unwrap_or_default();
    for row in regs.chunks(4).enumerate() {
        let (i, chunk) = row;
        let cells: Vec<String> = chunk
            .iter()
            .enumerate()
            .map(|(j, v)| format!("R{:02}: 0x{v:08X}", i * 4 + j))
            .collect();
        println!("  {}", cells.join("  "));
    }
}

/// Hex dump, 16 bytes per row with ASCII.
pub fn hexdump(addr: u64, hex: &str) {
    let bytes: Vec<u8> = (0..hex.len() / 2)
        .filter_map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok())
        .collect();
    for (row, chunk) in bytes.chunks(16).enumerate() {
        let hexes: Vec<String> = chunk.iter().map(|b| format!("{b:02X}")).collect();
        let ascii: String = chunk
            .iter()
            .map(|&b| {
                if (0x20..0x7F).contains(&b) {
                    b as char
                } else {
                    '.'
                }
            })
            .collect();
        println!(
            "  0x{:04X}: {:<47}  |{ascii}|",
            addr + row as u64 * 16,
            hexes.join(" ")
        );
    }
}

/// `name+0xOFF` from a sym reply object.
pub fn sym_offset(s: &Value) -> Option<String> {
    let name = s["name"].as_str()?;
    Some(match s["offset"].as_u64() {
        Some(0) | None => name.to_owned(),
        Some(o) => format!("{name}+0x{o:X}"),
    })
}

/// `breakpoints for pid 5:` and rows.
pub fn breakpoints(pid: u64, list: &[(u64, Option<String>)]) {
    println!("breakpoints for pid {pid}:");
    if list.is_empty() {
        println!("  (none)");
    }
    for (a, name) in list {
        match name {
            Some(n) => println!("  0x{a:04X} ({a})  {n}"),
            None => println!("  0x{a:04X} ({a})"),
        }
    }
}

fn watch_row(w: &Value) -> String {
    let mut line = format!(
        "  id={} pid={} type={}",
        w["id"],
        w["pid"],
        w["type"].as_str().unwrap_or("?")
    );
    match w["address"].as_u64() {
        Some(a) => line.push_str(&format!(" addr=0x{a:04X}")),
        None => line.push_str(&format!(" reg={}", w["register"].as_str().unwrap_or("?"))),
    }
    line.push_str(&format!(
        " len={} value={} expr={}",
        w["length"],
        w["value"].as_str().unwrap_or(""),
        w["expr"].as_str().unwrap_or("")
    ));
    if w["stop"] == true {
        line.push_str(" stop");
    }
    line
}

/// `watch` replies.
pub fn watch(w: &Value, removed: bool) {
    if let Some(list) = w["watches"].as_array() {
        println!("watches for pid {}:", w["pid"]);
        if list.is_empty() {
            println!("  (none)");
        }
        for item in list {
            println!("{}", watch_row(item));
        }
    } else {
        println!(
            "{}",
            if removed {
                "watch removed:"
            } else {
                "watch added:"
            }
        );
        println!("{}", watch_row(w));
    }
}

/// The stack block.
pub fn stack(s: &Value) {
    println!("stack:");
    println!(
        "  stack_base : 0x{:08X}  stack_limit: 0x{:08X}",
        u(&s["stack_base"]),
        u(&s["stack_limit"])
    );
    println!(
        "  stack_low  : 0x{:08X}  stack_high : 0x{:08X}",
        u(&s["stack_low"]),
        u(&s["stack_high"])
    );
    println!(
        "  initial_sp : 0x{:08X}  initial_fp : 0x{:08X}",
        u(&s["initial_sp"]),
        u(&s["initial_fp"])
    );
    for f in s["frames"].as_array().into_iter().flatten() {
        let mut line = format!(
            "[{:02}] pc=0x{:08X} sp=0x{:08X} fp=0x{:08X}",
            u(&f["index"]),
            u(&f["pc"]),
            u(&f["sp"]),
            u(&f["fp"])
        );
        if let Some(sym) = f["symbol"].as_str() {
            line.push(' ');
            line.push_str(sym);
        }
        println!("{line}");
        if let (Some(file), Some(n)) = (f["line"]["file"].as_str(), f["line_num"].as_u64()) {
            println!("       {file}:{n}");
        }
        if let Some(r) = f["return_pc"].as_u64() {
            println!("       return -> 0x{r:08X}");
        }
    }
    for e in s["errors"].as_array().into_iter().flatten() {
        println!("  error: {}", e.as_str().unwrap_or(""));
    }
    if s["truncated"] == true {
        println!("  (truncated)");
    }
}

/// The disasm block.
pub fn disasm(d: &Value) {
    println!("disasm:");
    println!(
        "  pid={}; base=0x{:08X}; count={}; mode={}",
        d["pid"],
        u(&d["address"]),
        d["count"],
        d["mode"].as_str().unwrap_or("")
    );
    for i in d["instructions"].as_array().into_iter().flatten() {
        let mut line = format!(
            "  [{:02}] 0x{:08X}: {}",
            u(&i["index"]),
            u(&i["pc"]),
            i["text"].as_str().unwrap_or("")
        );
        if let Some(s) = i["symbol"].as_str() {
            line.push_str(&format!("    ; {s}"));
        }
        println!("{line}");
        if let (Some(file), Some(n)) = (i["line"]["file"].as_str(), i["line"]["line"].as_u64()) {
            println!("       src={file}:{n}");
        }
    }
    if d["truncated"] == true {
        println!("  (end of code)");
    }
}

/// `sym` replies.
pub fn sym(op: &str, r: &Value) {
    match op {
        "info" | "load" => {
            let s = &r["symbols"];
            println!("symbols for pid {}:", s["pid"]);
            println!("  loaded: {}", py(&s["loaded"]));
            if let Some(p) = s["path"].as_str() {
                println!("  path  : {p}");
            }
            if let Some(c) = s["count"].as_u64() {
                println!("  count : {c}");
            }
            if s["stale"] == true {
                println!("  stale : True (hxe_crc mismatch)");
            }
            if let Some(e) = s["error"].as_str() {
                println!("  error : {e}");
            }
        }
        "line" => {
            let l = &r["line"];
            if l.is_null() {
                println!("line mapping: (none)");
                return;
            }
            println!("line mapping:");
            println!("  file: {}", l["file"].as_str().unwrap_or(""));
            println!("  line: {}", l["line"]);
            println!("  addr: 0x{:04X}", u(&l["address"]));
        }
        _ => {
            let s = &r["symbol"];
            if s.is_null() {
                println!("symbol: (none)");
                return;
            }
            println!("symbol:");
            println!("  name   : {}", s["name"].as_str().unwrap_or(""));
            println!("  address: 0x{:04X}", u(&s["address"]));
            if let Some(o) = s["offset"].as_u64() {
                println!("  offset : 0x{o:X}");
            }
            println!("  size   : {}", s["size"]);
            println!("  type   : {}", s["type"].as_str().unwrap_or(""));
            println!("  file   : {}", py(&s["file"]));
            println!("  line   : {}", py(&s["line"]));
        }
    }
}

/// `symbols` listing.
pub fn symbols(s: &Value) {
    let limit = match &s["limit"] {
        Value::Null => "inf".to_string(),
        v => v.to_string(),
    };
    println!(
        "symbols pid={} type={} count={} offset={} limit={limit}",
        s["pid"],
        s["type"].as_str().unwrap_or(""),
        s["count"],
        s["offset"]
    );
    for sym in s["symbols"].as_array().into_iter().flatten() {
        let mut line = format!(
            "0x{:08X} {:>5}  {:<9}  {}",
            u(&sym["address"]),
            u(&sym["size"]),
            sym["type"].as_str().unwrap_or(""),
            sym["name"].as_str().unwrap_or("")
        );
        if let (Some(f), Some(l)) = (sym["file"].as_str(), sym["line"].as_u64()) {
            line.push_str(&format!(" ({f}, line {l})"));
        }
        println!("{line}");
    }
}

/// `memory regions` rows.
pub fn regions(m: &Value) {
    for r in m["regions"].as_array().into_iter().flatten() {
        let mut detail = r["name"].as_str().unwrap_or("").to_string();
        if r["name"] == "code" {
            detail = format!("code (hxe, entry=0x{:04X})", u(&m["layout"]["entry"]));
        }
        println!(
            "0x{:04X}-0x{:04X} len={:>5} {:<3} {:<9} {detail}",
            u(&r["start"]),
            u(&r["end"]),
            u(&r["length"]),
            r["permissions"].as_str().unwrap_or(""),
            r["type"].as_str().unwrap_or("")
        );
    }
}

/// Scheduler counters and trace.
pub fn sched(s: &Value, trace: bool) {
    if trace {
        println!("scheduler trace (newest first):");
        let list: Vec<&Value> = s["trace"].as_array().into_iter().flatten().collect();
        for e in list.iter().rev() {
            println!(
                "  [{:>6}] {}  pid={:<4} {:<8} pc=0x{:04X}",
                u(&e["seq"]),
                clock_time(&e["ts"]),
                e["pid"],
                e["event"].as_str().unwrap_or(""),
                u(&e["pc"])
            );
        }
        return;
    }
    println!("scheduler counters:");
    println!("    PID      Steps   Rotate    Block     Wake  Timeout");
    for (pid, c) in s["counters"].as_object().into_iter().flatten() {
        println!(
            "  {pid:>5}  {:>9}  {:>7}  {:>7}  {:>7}  {:>7}",
            c["step"], c["rotate"], c["block"], c["wake"], c["timeout"]
        );
    }
}

/// `dmesg` rows.
pub fn dmesg(r: &Value) {
    for l in r["logs"].as_array().into_iter().flatten() {
        println!(
            "[{}] {} {} pid={} session={} clock={} msg={}",
            l["seq"],
            clock_time(&l["ts"]),
            l["level"].as_str().unwrap_or(""),
            l.get("pid").map_or("-".into(), |p| p.to_string()),
            l["session"]
                .as_str()
                .map_or("-".into(), |s| s.chars().take(8).collect::<String>()),
            l["clock_steps"],
            l["message"].as_str().unwrap_or("")
        );
    }
}

/// Current session.
pub fn session(s: &Value) {
    println!("session:");
    println!("  id     : {}", s["id"].as_str().unwrap_or(""));
    println!("  client : {}", s["client"].as_str().unwrap_or(""));
    println!("  locks  : {}", s["pid_locks"]);
    println!(
        "  heartbeat_s: {}  max_events: {}",
        s["heartbeat_s"], s["max_events"]
    );
}

/// Numbered session list.
pub fn sessions(r: &Value) {
    println!("sessions:");
    for (i, s) in r["sessions"].as_array().into_iter().flatten().enumerate() {
        println!(
            "  {:>2}. {}  client={}  locks={}  idle={:.1}s  age={:.1}s",
            i + 1,
            s["id"].as_str().unwrap_or(""),
            s["client"].as_str().unwrap_or(""),
            s["pid_locks"],
            s["idle_s"].as_f64().unwrap_or(0.0),
            s["age_s"].as_f64().unwrap_or(0.0)
        );
    }
}

/// One buffered event.
pub fn event_line(e: &Value) -> String {
    let d = &e["data"];
    let detail = match e["type"].as_str() {
        Some("task_state") => format!(
            "{} -> {} reason={}",
            py(&d["prev_state"]),
            py(&d["new_state"]),
            py(&d["reason"])
        ),
        _ => d
            .as_object()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| format!("{k}={}", py(v)))
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default(),
    };
    format!(
        "[{:>6}] {}  {:<16} pid={:<6} {detail}",
        py(&e["seq"]),
        clock_time(&e["ts"]),
        e["type"].as_str().unwrap_or(""),
        py(&e["pid"])
    )
}

/// Trace records.
pub fn trace_records(t: &Value) {
    println!(
        "trace records: pid={} returned={}/{} capacity={} enabled={}",
        t["pid"],
        t["returned"],
        t["count"],
        t["capacity"],
        py(&t["enabled"])
    );
    for r in t["records"].as_array().into_iter().flatten() {
        println!(
            "  0x{:04X}: 0x{:08X} -> 0x{:04X}  steps={}",
            u(&r["pc"]),
            u(&r["opcode"]),
            u(&r["next_pc"]),
            r["steps"]
        );
    }
}

/// Raw task text, newline added if missing.
pub fn raw_text(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    if !text.ends_with('\n') {
        let _ = out.write_all(b"\n");
    }
    let _ = out.flush();
}

/// `listen` messages.
pub fn messages(r: &Value) {
    let list = r["messages"].as_array().map(Vec::as_slice).unwrap_or(&[]);
    if list.is_empty() {
        println!("(no messages)");
    }
    for m in list {
        raw_text(m["text"].as_str().unwrap_or(""));
    }
}

/// `mbox` summary and table.
pub fn mbox(r: &Value, ns: Option<&str>, owner: Option<u64>) {
    let s = &r["stats"];
    println!(
        "mailboxes: {}/{} descriptors  bytes {}/{}  handles {}",
        s["active_descriptors"],
        s["max_descriptors"],
        s["bytes_used"],
        s["total_capacity"],
        s["handles_total"]
    );
    println!("  ID  Namespace  Owner  Depth  Bytes  Mode    Name");
    for d in r["descriptors"].as_array().into_iter().flatten() {
        let namespace = match &d["namespace"] {
            Value::String(s) => s.clone(),
            n => match n.as_u64() {
                Some(0) => "pid".to_owned(),
                Some(1) => "svc".to_owned(),
                Some(2) => "app".to_owned(),
                Some(3) => "shared".to_owned(),
                _ => n.to_string(),
            },
        };
        if ns.is_some_and(|n| n != namespace) || owner.is_some_and(|o| d["owner_pid"] != o) {
            continue;
        }
        println!(
            "  {:>2}  {:<9}  {:>5}  {:>5}  {:>5}  0x{:04X}  {}",
            u(&d["descriptor_id"]),
            namespace,
            py(&d["owner_pid"]),
            u(&d["queue_depth"]),
            u(&d["bytes_used"]),
            u(&d["mode_mask"]),
            d["name"].as_str().unwrap_or("")
        );
    }
}

/// `list` table.
pub fn channels(r: &Value) {
    println!("  Descriptor  Target                    Mode    Capacity  Depth  Bytes  Subs");
    for c in r["channels"]["channels"].as_array().into_iter().flatten() {
        println!(
            "  {:>10}  {:<24}  0x{:04X}  {:>8}  {:>5}  {:>5}  {:>4}",
            u(&c["descriptor_id"]),
            c["target"].as_str().unwrap_or(""),
            u(&c["mode_mask"]),
            u(&c["capacity"]),
            u(&c["queue_depth"]),
            u(&c["bytes_used"]),
            u(&c["subscriber_count"])
        );
    }
}

/// `stdio` configuration.
pub fn stdio_config(r: &Value) {
    let c = &r["config"];
    println!("stdio: scope={}", py(&c["scope"]));
    for s in c["streams"].as_array().into_iter().flatten() {
        println!(
            "  {:<3} : {} (0x{:04X})",
            s["stream"].as_str().unwrap_or(""),
            s["mode"].as_str().unwrap_or(""),
            u(&s["mode_mask"])
        );
    }
    let applied = &c["applied"];
    for (key, label) in [("updated", "applied"), ("skipped", "skipped (not empty)")] {
        let list: Vec<&str> = applied[key]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        if !list.is_empty() {
            println!("  {label}: {}", list.join(", "));
        }
    }
}
