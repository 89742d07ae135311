//! `hsx disasm` end to end: the real binary on golden image C (`hxe.md` §8), outputs
//! compared with `tests/golden/disasm/` (set `HSX_BLESS=1` to rewrite them).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

struct Sandbox(PathBuf);

impl Sandbox {
    fn new(test: &str) -> Sandbox {
        let dir =
            std::env::temp_dir().join(format!("hsx-disasm-cli-{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Sandbox(dir)
    }
    /// Copy `tests/golden/disasm/<rel>` into the sandbox at the same relative path.
    fn copy(&self, rel: &str) {
        let to = self.0.join(rel);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(golden(rel), to).unwrap();
    }
    fn hsx(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_hsx"))
            .args(args)
            .current_dir(&self.0)
            .output()
            .unwrap()
    }
    fn read(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.0.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
    }
    fn files(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(&self.0)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn golden(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden/disasm")
        .join(rel)
}

fn check_golden(rel: &str, actual: &[u8]) {
    if std::env::var_os("HSX_BLESS").is_some() {
        std::fs::write(golden(rel), actual).unwrap();
        return;
    }
    let expected = std::fs::read(golden(rel)).unwrap_or_default();
    assert!(
        expected == actual,
        "{rel} differs:\n--- expected\n{}--- actual\n{}",
        String::from_utf8_lossy(&expected),
        String::from_utf8_lossy(actual)
    );
}

fn success(out: &Output) {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn disassembly_matches_the_spec_example() {
    let sb = Sandbox::new("text");
    sb.copy("meta.hxe");
    let out = sb.hsx(&["disasm", "meta.hxe"]);
    success(&out);
    check_golden("meta.dis", &out.stdout);
    success(&sb.hsx(&["disasm", "-o", "meta.mvasm", "meta.hxe"]));
    check_golden("meta.dis", &sb.read("meta.mvasm"));
}

#[test]
fn disassembly_reassembles_to_the_same_image() {
    let sb = Sandbox::new("again");
    sb.copy("meta.hxe");
    success(&sb.hsx(&["disasm", "meta.hxe", "-o", "meta.mvasm"]));
    success(&sb.hsx(&["asm", "meta.mvasm", "-o", "again.hxe", "--app-name", "meta"]));
    assert_eq!(sb.read("again.hxe"), sb.read("meta.hxe"));
}

#[test]
fn listing_mode() {
    let sb = Sandbox::new("listing");
    sb.copy("meta.hxe");
    let out = sb.hsx(&["disasm", "--listing", "meta.hxe"]);
    success(&out);
    check_golden("meta.listing", &out.stdout);
}

#[test]
fn invalid_images_report_the_loader_error() {
    let sb = Sandbox::new("invalid");
    sb.copy("meta.hxe");
    let mut bytes = sb.read("meta.hxe");
    *bytes.last_mut().unwrap() ^= 1;
    std::fs::write(sb.0.join("broken.hxe"), bytes).unwrap();
    let out = sb.hsx(&["disasm", "broken.hxe", "-o", "broken.mvasm"]);
    assert_eq!(out.status.code(), Some(1));
    check_golden("broken.stderr", &out.stderr);
    assert_eq!(sb.files(), ["broken.hxe", "meta.hxe"]);
    assert_eq!(sb.hsx(&["disasm"]).status.code(), Some(2));
}
