//! `hsx inspect` end to end: the real binary on the images in `tests/golden/inspect/`,
//! stdout and stderr compared with the `<case>.stdout` / `<case>.stderr` files there
//! (absent = empty; set `HSX_BLESS=1` to rewrite them).
//!
//! Images: `a`, `b`, `c` are the golden vectors of hxe.md §8; `rich.hxe` has every kind
//! of metadata, LDI32, an undecodable word and an unknown section; `bad-crc.hxe`,
//! `value-truncated.hxe` and `short.hxe` are rejected by the loader.

use std::path::{Path, PathBuf};
use std::process::Command;

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/inspect")
}

/// Compare `actual` with the golden file `name`; empty output has no file. With
/// `HSX_BLESS` set, rewrite (or remove) the file instead.
fn check_golden(name: &str, actual: &[u8]) -> Result<(), String> {
    let path = dir().join(name);
    if std::env::var_os("HSX_BLESS").is_some() {
        let result = if actual.is_empty() {
            std::fs::remove_file(&path).or_else(|e| match e.kind() {
                std::io::ErrorKind::NotFound => Ok(()),
                _ => Err(e),
            })
        } else {
            std::fs::write(&path, actual)
        };
        return result.map_err(|e| format!("{}: {e}", path.display()));
    }
    let expected = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    if expected == actual {
        Ok(())
    } else {
        Err(format!(
            "{name} differs\n--- expected\n{}\n--- actual\n{}",
            String::from_utf8_lossy(&expected),
            String::from_utf8_lossy(actual)
        ))
    }
}

/// Run `hsx inspect ARGS` in the golden directory; check the exit code and both streams
/// against `<case>.stdout` / `<case>.stderr`.
fn case(name: &str, args: &[&str], code: i32) -> Result<(), String> {
    let output = Command::new(env!("CARGO_BIN_EXE_hsx"))
        .arg("inspect")
        .args(args)
        .current_dir(dir())
        .output()
        .map_err(|e| format!("cannot run hsx: {e}"))?;
    let mut problems = Vec::new();
    if output.status.code() != Some(code) {
        problems.push(format!(
            "exit status {:?}, expected {code}",
            output.status.code()
        ));
    }
    for (stream, bytes) in [("stdout", &output.stdout), ("stderr", &output.stderr)] {
        if let Err(e) = check_golden(&format!("{name}.{stream}"), bytes) {
            problems.push(e);
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "case {name} (hsx inspect {}):\n{}",
            args.join(" "),
            problems.join("\n")
        ))
    }
}

fn run_cases(cases: &[(&str, &[&str], i32)]) {
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|(name, args, code)| case(name, args, *code).err())
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn describes_valid_images() {
    run_cases(&[
        ("a", &["a.hxe"], 0),
        ("b", &["b.hxe"], 0),
        ("c", &["c.hxe"], 0),
        ("rich", &["rich.hxe"], 0),
    ]);
}

#[test]
fn json_documents() {
    run_cases(&[
        ("c-json", &["--json", "c.hxe"], 0),
        ("rich-json-disasm", &["rich.hxe", "--disasm", "--json"], 0),
        ("bad-crc-json", &["--json", "bad-crc.hxe"], 1),
    ]);
}

#[test]
fn code_listings() {
    run_cases(&[
        ("a-disasm", &["--disasm", "a.hxe"], 0),
        ("c-disasm", &["--disasm", "c.hxe"], 0),
        ("rich-disasm", &["--disasm", "rich.hxe"], 0),
    ]);
}

#[test]
fn invalid_images_report_what_parsed_and_the_loader_error() {
    run_cases(&[
        ("bad-crc", &["bad-crc.hxe"], 1),
        ("value-truncated", &["value-truncated.hxe"], 1),
        ("short", &["short.hxe"], 1),
    ]);
}

#[test]
fn verify_is_silent_on_success() {
    run_cases(&[
        ("verify-ok", &["--verify", "c.hxe"], 0),
        ("verify-bad", &["--verify", "--json", "bad-crc.hxe"], 1),
    ]);
}

#[test]
fn other_files_are_errors() {
    run_cases(&[
        ("hxo", &["app.hxo"], 1),
        ("sym", &["APP.SYM"], 1),
        ("missing", &["missing.hxe"], 1),
    ]);
}

#[test]
fn usage_errors_exit_2() {
    let output = Command::new(env!("CARGO_BIN_EXE_hsx"))
        .args(["inspect", "--bogus", "c.hxe"])
        .current_dir(dir())
        .output()
        .expect("run hsx");
    assert_eq!(output.status.code(), Some(2));
    assert!(output.stdout.is_empty());
}
