//! Harness shared by the CLI end-to-end tests: a scratch directory to run the real `hsx`
//! binary in, and golden files under `tests/golden/<kind>/` (set `HSX_BLESS=1` to rewrite
//! them after a reviewed change).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A scratch directory, removed when dropped.
pub struct Sandbox {
    dir: PathBuf,
    kind: &'static str,
}

impl Sandbox {
    /// A fresh directory for test `test` of the `kind` suite (`asm`, `link`, ...).
    pub fn new(kind: &'static str, test: &str) -> Sandbox {
        let dir =
            std::env::temp_dir().join(format!("hsx-{kind}-cli-{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Sandbox { dir, kind }
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Copy `tests/golden/<kind>/<rel>` into the sandbox at the same relative path.
    pub fn copy(&self, rel: &str) {
        let to = self.dir.join(rel);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(golden(self.kind, rel), to).unwrap();
    }

    /// Run `hsx ARGS` in the sandbox.
    pub fn hsx(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_hsx"))
            .args(args)
            .current_dir(&self.dir)
            .output()
            .unwrap()
    }

    /// Read a file of the sandbox.
    pub fn read(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
    }

    /// The sandbox's file names, sorted.
    pub fn files(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(&self.dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `tests/golden/<kind>/<rel>`.
pub fn golden(kind: &str, rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(kind)
        .join(rel)
}

/// Compare `actual` with the golden file, or rewrite it under `HSX_BLESS=1`.
pub fn check_golden(kind: &str, rel: &str, actual: &[u8]) {
    let path = golden(kind, rel);
    if std::env::var_os("HSX_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read(&path).unwrap_or_default();
    assert!(
        expected == actual,
        "{kind}/{rel} differs:\n--- expected\n{}--- actual\n{}",
        String::from_utf8_lossy(&expected),
        String::from_utf8_lossy(actual)
    );
}

/// Assert the command succeeded, showing its stderr if not.
pub fn success(out: &Output) {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
