//! `hsx link` end to end: objects and sources linked by the real binary, outputs compared
//! with `tests/golden/link/` (set `HSX_BLESS=1` to rewrite them after a reviewed change).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

struct Sandbox(PathBuf);

impl Sandbox {
    fn new(test: &str) -> Sandbox {
        let dir = std::env::temp_dir().join(format!("hsx-link-cli-{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Sandbox(dir)
    }
    /// Copy `tests/golden/link/<rel>` into the sandbox at the same relative path.
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
        .join("tests/golden/link")
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
fn objects_then_link() {
    let sb = Sandbox::new("objects");
    sb.copy("main.mvasm");
    sb.copy("lib.mvasm");
    success(&sb.hsx(&["asm", "-c", "main.mvasm", "lib.mvasm"]));
    check_golden("main.hxo", &sb.read("main.hxo"));
    check_golden("lib.hxo", &sb.read("lib.hxo"));
    let out = sb.hsx(&[
        "link",
        "-o",
        "app.hxe",
        "main.hxo",
        "lib.hxo",
        "--req-cap",
        "0x10",
        "--bss-size",
        "0b100",
        "--single-instance",
        "--emit-sym",
        "app.sym",
    ]);
    success(&out);
    check_golden("app.hxe", &sb.read("app.hxe"));
    check_golden("app.sym", &sb.read("app.sym"));
    check_golden("emit_sym.stderr", &out.stderr);
}

#[test]
fn sources_link_like_objects() {
    let sb = Sandbox::new("sources");
    sb.copy("main.mvasm");
    sb.copy("lib.mvasm");
    let args = ["--req-cap", "16", "--bss-size", "4", "--single-instance"];
    let mut cmd = vec!["link", "-o", "app.hxe", "main.mvasm", "lib.mvasm"];
    cmd.extend(args);
    success(&sb.hsx(&cmd));
    check_golden("app.hxe", &sb.read("app.hxe"));
}

#[test]
fn asm_of_several_sources_links_them() {
    let sb = Sandbox::new("multi");
    sb.copy("main.mvasm");
    sb.copy("lib.mvasm");
    success(&sb.hsx(&["asm", "main.mvasm", "lib.mvasm"]));
    success(&sb.hsx(&[
        "link",
        "-o",
        "linked.hxe",
        "main.mvasm",
        "lib.mvasm",
        "--app-name",
        "main",
    ]));
    assert_eq!(sb.read("main.hxe"), sb.read("linked.hxe"));
}

#[test]
fn a_single_image_is_copied() {
    let sb = Sandbox::new("copy");
    sb.copy("main.mvasm");
    sb.copy("lib.mvasm");
    success(&sb.hsx(&["asm", "main.mvasm", "lib.mvasm", "-o", "app.hxe"]));
    success(&sb.hsx(&["link", "-o", "copy.hxe", "app.hxe", "--app-name", "ignored"]));
    assert_eq!(sb.read("copy.hxe"), sb.read("app.hxe"));
    success(&sb.hsx(&["asm", "-c", "main.mvasm"]));
    let out = sb.hsx(&["link", "-o", "mixed.hxe", "app.hxe", "main.hxo"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "hsx link: error: Cannot mix .hxe and .hxo inputs\n"
    );
    assert!(!sb.0.join("mixed.hxe").exists());
}

#[test]
fn link_errors_cite_sources_and_write_nothing() {
    let sb = Sandbox::new("errors");
    sb.copy("far.mvasm");
    sb.copy("far_lib.mvasm");
    sb.copy("main.mvasm");
    let out = sb.hsx(&["link", "-o", "far.hxe", "far.mvasm", "far_lib.mvasm"]);
    assert_eq!(out.status.code(), Some(1));
    check_golden("far.stderr", &out.stderr);
    let out = sb.hsx(&[
        "link",
        "-o",
        "main.hxe",
        "main.mvasm",
        "--emit-sym",
        "main.sym",
    ]);
    assert_eq!(out.status.code(), Some(1));
    check_golden("unresolved.stderr", &out.stderr);
    assert_eq!(sb.files(), ["far.mvasm", "far_lib.mvasm", "main.mvasm"]);
}

#[test]
fn usage_errors_exit_2() {
    let sb = Sandbox::new("usage");
    sb.copy("main.mvasm");
    assert_eq!(
        sb.hsx(&["link", "main.mvasm"]).status.code(),
        Some(2),
        "-o is required"
    );
    assert_eq!(
        sb.hsx(&["link", "-o", "x.hxe", "--req-cap", "0xZZ", "main.mvasm"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(sb.hsx(&["link", "-o", "x.hxe"]).status.code(), Some(2));
}
