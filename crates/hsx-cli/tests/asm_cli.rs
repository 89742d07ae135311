//! `hsx asm` end to end: the real binary in a scratch directory, outputs compared with
//! `tests/golden/asm/` (set `HSX_BLESS=1` to rewrite them after a reviewed change).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

struct Sandbox(PathBuf);

impl Sandbox {
    fn new(test: &str) -> Sandbox {
        let dir = std::env::temp_dir().join(format!("hsx-asm-cli-{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Sandbox(dir)
    }
    /// Copy `tests/golden/asm/<rel>` into the sandbox at the same relative path.
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
        .join("tests/golden/asm")
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
fn one_source_to_image_with_listing() {
    let sb = Sandbox::new("image");
    sb.copy("meta.mvasm");
    let out = sb.hsx(&["asm", "meta.mvasm", "--listing", "meta.lst", "--emit-hxe"]);
    success(&out);
    check_golden("meta.hxe", &sb.read("meta.hxe"));
    check_golden("meta.lst", &sb.read("meta.lst"));
    assert_eq!(
        sb.files(),
        ["meta.hxe", "meta.lst", "meta.mvasm"],
        "no temporary files left"
    );
}

#[test]
fn app_name_defaults_to_the_output_stem() {
    let sb = Sandbox::new("stem");
    sb.copy("meta.mvasm");
    success(&sb.hsx(&["asm", "-o", "other.hxe", "meta.mvasm"]));
    let renamed = sb.read("other.hxe");
    success(&sb.hsx(&["asm", "meta.mvasm", "-o", "named.hxe", "--app-name", "meta"]));
    check_golden("meta.hxe", &sb.read("named.hxe"));
    assert_eq!(&renamed[0x20..0x26], b"other\0");
}

#[test]
fn objects_with_dash_c() {
    let sb = Sandbox::new("objects");
    sb.copy("meta.mvasm");
    success(&sb.hsx(&["asm", "-c", "meta.mvasm"]));
    check_golden("meta.hxo", &sb.read("meta.hxo"));
    success(&sb.hsx(&["asm", "--object", "meta.mvasm", "-o", "x.hxo"]));
    assert_eq!(sb.read("x.hxo"), sb.read("meta.hxo"));
}

#[test]
fn include_directories() {
    let sb = Sandbox::new("include");
    sb.copy("uses_lib.mvasm");
    sb.copy("lib/macros.inc");
    let out = sb.hsx(&["asm", "uses_lib.mvasm"]);
    assert_eq!(out.status.code(), Some(1));
    success(&sb.hsx(&[
        "asm",
        "-I",
        "lib",
        "uses_lib.mvasm",
        "--listing",
        "uses_lib.lst",
    ]));
    check_golden("uses_lib.lst", &sb.read("uses_lib.lst"));
}

#[test]
fn errors_exit_1_and_write_nothing() {
    let sb = Sandbox::new("errors");
    sb.copy("bad.mvasm");
    sb.copy("inc/broken.inc");
    let out = sb.hsx(&["asm", "bad.mvasm", "--listing", "bad.lst"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    check_golden("bad.stderr", &out.stderr);
    assert_eq!(sb.files(), ["bad.mvasm", "inc"]);
}

#[test]
fn existing_output_is_untouched_on_failure() {
    let sb = Sandbox::new("keep");
    sb.copy("bad.mvasm");
    sb.copy("inc/broken.inc");
    std::fs::write(sb.0.join("bad.hxe"), b"previous").unwrap();
    assert_eq!(sb.hsx(&["asm", "bad.mvasm"]).status.code(), Some(1));
    assert_eq!(sb.read("bad.hxe"), b"previous");
}

#[test]
fn usage_errors_exit_2() {
    let sb = Sandbox::new("usage");
    sb.copy("meta.mvasm");
    assert_eq!(sb.hsx(&["asm"]).status.code(), Some(2));
    assert_eq!(
        sb.hsx(&["asm", "--bogus", "meta.mvasm"]).status.code(),
        Some(2)
    );
    let out = sb.hsx(&["asm", "-c", "-o", "x.hxo", "meta.mvasm", "meta.mvasm"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(sb.files(), ["meta.mvasm"]);
}
