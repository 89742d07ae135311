//! End-to-end tests of the producer/consumer demo (`mailbox.md` §16 scenario 39) run by
//! the real `hsx` binary, as the README's main command does. Expected output is in
//! golden files under tests/golden/demo/ (regenerate with HSX_BLESS=1).
//!
//! Lines of one task always come out in order, but how the two tasks' lines interleave
//! depends on when host stdin delivers each line, so stdout is compared task by task
//! (lines grouped by their `[pid:name]` prefix, in pid order).

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

const PRODUCER: &str = "examples/demo/producer.mvasm";
const CONSUMER: &str = "examples/demo/consumer.mvasm";

/// Run `hsx` with `input` on its stdin (`None`: stdin closed at once).
fn hsx(args: &[&str], input: Option<&[u8]>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_hsx"))
        .args(args)
        .current_dir(root())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run hsx");
    let mut stdin = child.stdin.take().expect("piped stdin");
    if let Some(input) = input
        && let Err(e) = stdin.write_all(input)
    {
        // hsx may end (or, with --no-stdin, never read) before it has taken the input.
        assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "write stdin: {e}");
    }
    drop(stdin);
    child.wait_with_output().expect("wait for hsx")
}

fn golden(name: &str, actual: &str) {
    common::check_golden("demo", name, actual.as_bytes());
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Stdout lines grouped by task, in pid order; each line keeps its prefix.
fn by_task(stdout: &str) -> String {
    let mut lines: Vec<(u32, usize, &str)> = stdout
        .lines()
        .enumerate()
        .map(|(i, line)| {
            let pid = line
                .strip_prefix('[')
                .and_then(|l| l.split(':').next())
                .and_then(|p| p.parse().ok())
                .unwrap_or(u32::MAX);
            (pid, i, line)
        })
        .collect();
    lines.sort();
    lines.iter().map(|(_, _, l)| format!("{l}\n")).collect()
}

#[test]
fn demo_exchanges_stdin_lines_and_exits_0() {
    let input = b"hello\nhello world\r\n\nexit\n";
    let out = hsx(&["run", PRODUCER, CONSUMER], Some(input));
    assert_eq!(text(&out.stderr), "");
    assert_eq!(out.status.code(), Some(0));
    golden("exchange.stdout", &by_task(&text(&out.stdout)));
}

#[test]
fn demo_is_the_same_on_the_virtual_clock() {
    let input = b"hello\nhello world\r\n\nexit\n";
    let out = hsx(
        &["run", "--clock", "virtual", PRODUCER, CONSUMER],
        Some(input),
    );
    assert_eq!(out.status.code(), Some(0));
    golden("exchange.stdout", &by_task(&text(&out.stdout)));
}

#[test]
fn a_line_longer_than_the_procon_limit_is_reported_not_lost_silently() {
    let long = "x".repeat(60);
    let input = format!("{long}\nexit\n");
    let out = hsx(&["run", PRODUCER, CONSUMER], Some(input.as_bytes()));
    assert_eq!(out.status.code(), Some(0));
    golden("too_long.stderr", &text(&out.stderr));
    golden("too_long.stdout", &by_task(&text(&out.stdout)));
}

#[test]
fn stdin_closed_before_exit_is_a_deadlock_naming_the_mailboxes() {
    let out = hsx(&["run", PRODUCER, CONSUMER], Some(b"hello\n"));
    assert_eq!(out.status.code(), Some(122));
    golden("eof.stdout", &by_task(&text(&out.stdout)));
    golden("eof.stderr", &text(&out.stderr));
}

#[test]
fn no_stdin_deadlocks_at_once() {
    let out = hsx(&["run", "--no-stdin", PRODUCER, CONSUMER], Some(b"exit\n"));
    assert_eq!(out.status.code(), Some(122));
    golden("eof.stderr", &text(&out.stderr));
}

#[test]
fn a_long_input_line_is_split_into_stdin_messages() {
    // 300 bytes: the host stdin descriptor holds 248-byte messages, so the producer
    // receives 248 bytes (its buffer keeps 191, TRUNCATED) and then the rest.
    let mut input = "y".repeat(300);
    input.push_str("\nexit\n");
    let out = hsx(&["run", PRODUCER, CONSUMER], Some(input.as_bytes()));
    assert_eq!(out.status.code(), Some(0));
    golden("split.stderr", &text(&out.stderr));
    golden("split.stdout", &by_task(&text(&out.stdout)));
}
