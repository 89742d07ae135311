//! End-to-end tests of `hsx run`: the real binary on real programs; expected output in
//! golden files under tests/golden/run/ (regenerate with HSX_BLESS=1).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn hsx(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hsx"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("run hsx")
}

fn golden(name: &str, actual: &str) {
    common::check_golden("run", name, actual.as_bytes());
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

const DATA: &str = "crates/hsx-cli/tests/data/run";

#[test]
fn hello_prints_its_greeting_and_exits_0() {
    let out = hsx(&["run", "examples/hello.mvasm"]);
    assert_eq!(out.status.code(), Some(0));
    golden("hello.stdout", &text(&out.stdout));
    assert_eq!(text(&out.stderr), "");
}

#[test]
fn the_exit_status_of_pid_1_is_the_process_status() {
    assert_eq!(hsx(&["run", "examples/fib.mvasm"]).status.code(), Some(55));
    assert_eq!(
        hsx(&["run", "examples/count.mvasm"]).status.code(),
        Some(55)
    );
}

#[test]
fn a_fault_prints_one_diagnostic_block_and_exits_120() {
    let out = hsx(&["run", "examples/stack_overflow.mvasm"]);
    assert_eq!(out.status.code(), Some(120));
    golden("stack_overflow.stderr", &text(&out.stderr));
}

#[test]
fn brk_stops_the_run_or_continues() {
    let out = hsx(&["run", &format!("{DATA}/brk.mvasm")]);
    assert_eq!(out.status.code(), Some(121));
    golden("brk.stderr", &text(&out.stderr));
    let out = hsx(&["run", "--brk", "continue", &format!("{DATA}/brk.mvasm")]);
    assert_eq!(out.status.code(), Some(7));
}

#[test]
fn max_steps_stops_an_endless_loop_with_124() {
    let out = hsx(&[
        "run",
        "--max-steps",
        "0x1000",
        &format!("{DATA}/spin.mvasm"),
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(124));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["stop"], "max_steps");
    assert_eq!(doc["steps"], 0x1000);
    assert_eq!(doc["tasks"][0]["state"], "running");
}

#[test]
fn endless_tasks_at_quantum_one_share_the_steps_in_core_level_runs() {
    let spin = format!("{DATA}/spin.mvasm");
    let out = hsx(&[
        "run",
        "--clock",
        "virtual",
        "--max-steps",
        "100000",
        "--json",
        &spin,
        &spin,
    ]);
    assert_eq!(out.status.code(), Some(124));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let scheduler = &doc["scheduler"];
    assert_eq!(scheduler["steps"], 100_000);
    // The level was handed to the VM core, which switched after every instruction.
    assert!(scheduler["core_runs"].as_u64().unwrap() > 0, "{scheduler}");
    assert!(
        scheduler["switches"].as_u64().unwrap() >= 99_000,
        "{scheduler}"
    );
    for task in doc["tasks"].as_array().unwrap() {
        assert_eq!(task["steps"], 50_000, "{task}");
    }
}

#[test]
fn tasks_waiting_on_each_other_deadlock_with_122() {
    let out = hsx(&[
        "run",
        &format!("{DATA}/deadlock_a.mvasm"),
        &format!("{DATA}/deadlock_b.mvasm"),
    ]);
    assert_eq!(out.status.code(), Some(122));
    golden("deadlock.stderr", &text(&out.stderr));
}

#[test]
fn several_tasks_prefix_their_lines_and_json_shows_each_tasks_bases() {
    let out = hsx(&[
        "run",
        "--clock",
        "virtual",
        "--json",
        &format!("{DATA}/two_a.mvasm"),
        &format!("{DATA}/two_b.mvasm@priority=5,quantum=2"),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let (lines, json) = stdout.split_at(stdout.find('{').unwrap());
    golden("two_tasks.stdout", lines);
    let mut doc: serde_json::Value = serde_json::from_str(json).unwrap();
    let tasks = doc["tasks"].as_array().unwrap();
    assert_eq!(tasks.len(), 2);
    assert_ne!(tasks[0]["reg_base"], tasks[1]["reg_base"]);
    assert_ne!(tasks[0]["stack_base"], tasks[1]["stack_base"]);
    assert_eq!(tasks[1]["priority"], 5);
    assert_eq!(tasks[1]["quantum"], 2);
    assert_eq!(tasks[1]["exit_status"], 4);
    doc["elapsed_s"] = serde_json::Value::Null;
    golden(
        "two_tasks.json",
        &format!("{}\n", serde_json::to_string_pretty(&doc).unwrap()),
    );
}

#[test]
fn load_errors_exit_125_and_name_the_file() {
    let out = hsx(&["run", "no/such/file.hxe"]);
    assert_eq!(out.status.code(), Some(125));
    assert!(text(&out.stderr).starts_with("hsx run: no/such/file.hxe: "));
    let bad = std::env::temp_dir().join(format!("hsx-run-bad-{}.mvasm", std::process::id()));
    std::fs::write(&bad, ".text\n    LDX R1, 5\n").unwrap();
    let out = hsx(&["run", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(125));
    assert!(text(&out.stderr).contains(":2:5: error: Unknown mnemonic: LDX"));
    std::fs::remove_file(bad).unwrap();
}

#[test]
fn more_tasks_than_the_mailbox_pool_holds_run_with_a_bigger_pool() {
    // Every task takes four descriptors: the host profile's 256 hold 64 tasks.
    let image = format!("{DATA}/countdown.mvasm");
    let mut args = vec!["run"];
    args.extend(std::iter::repeat_n(image.as_str(), 100));
    let out = hsx(&args);
    assert_eq!(out.status.code(), Some(125));
    let err = text(&out.stderr);
    assert!(err.contains("mailbox descriptor pool full"), "{err}");
    assert!(err.contains("--mailbox max_descriptors=N"), "{err}");

    let mut args = vec!["run", "--mailbox", "max_descriptors=400", "--json"];
    args.extend(std::iter::repeat_n(image.as_str(), 100));
    let out = hsx(&args);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let tasks = doc["tasks"].as_array().unwrap();
    assert_eq!(tasks.len(), 100);
    assert!(
        tasks
            .iter()
            .all(|t| t["state"] == "returned" && t["exit_status"] == 0)
    );
    assert_eq!(doc["scheduler"]["spawned"], 100);
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(hsx(&["run"]).status.code(), Some(2));
    assert_eq!(hsx(&["run", "x.hxe@colour=red"]).status.code(), Some(2));
    assert_eq!(
        hsx(&["run", "--quantum", "many", "x.hxe"]).status.code(),
        Some(2)
    );
    let out = hsx(&["run", "--mailbox", "max_descriptors=70000", "x.hxe"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        text(&out.stderr),
        "hsx run: --mailbox max_descriptors=70000 is outside 0..=65535\n"
    );
}

#[test]
fn trace_prints_one_line_per_instruction() {
    let out = hsx(&["run", "--trace", "examples/count.mvasm"]);
    assert_eq!(out.status.code(), Some(55));
    let stderr = text(&out.stderr);
    assert_eq!(stderr.lines().count(), 34);
    golden(
        "count.trace",
        &stderr.lines().take(8).collect::<Vec<_>>().join("\n"),
    );
}

#[test]
fn fault_diagnostics_name_functions_and_walk_the_stack() {
    // A .mvasm source brings its labels as symbols; a .hxe uses the .sym beside it.
    let out = hsx(&["run", &format!("{DATA}/symfault.mvasm")]);
    assert_eq!(out.status.code(), Some(120));
    golden("symfault.stderr", &text(&out.stderr));
    let dir = std::env::temp_dir().join(format!("hsx-run-sym-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (hxe, sym) = (dir.join("f.hxe"), dir.join("f.sym"));
    let link = hsx(&[
        "link",
        "-o",
        hxe.to_str().unwrap(),
        "--emit-sym",
        sym.to_str().unwrap(),
        &format!("{DATA}/symfault.mvasm"),
    ]);
    assert!(link.status.success(), "{}", text(&link.stderr));
    let out = hsx(&["run", hxe.to_str().unwrap()]);
    assert!(text(&out.stderr).contains("LD R2, [R1+0]    ; helper+0x10"));
    assert!(text(&out.stderr).contains("#1 0x000C main+0xC"));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn trace_file_holds_one_json_record_per_instruction() {
    let path = std::env::temp_dir().join(format!("hsx-run-trace-{}.jsonl", std::process::id()));
    let out = hsx(&[
        "run",
        "--trace-file",
        path.to_str().unwrap(),
        "examples/count.mvasm",
    ]);
    assert_eq!(out.status.code(), Some(55));
    let text = std::fs::read_to_string(&path).unwrap();
    let records: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records.len(), 34);
    let first = &records[0];
    assert_eq!(
        (first["pid"].as_u64(), first["pc"].as_u64()),
        (Some(1), Some(0))
    );
    assert_eq!(first["next_pc"], 4);
    assert_eq!(first["opcode"], 0x0110_000A);
    assert_eq!(first["regs"][1], 10);
    assert_eq!(records[33]["steps"], 34);
    std::fs::remove_file(path).unwrap();
}
