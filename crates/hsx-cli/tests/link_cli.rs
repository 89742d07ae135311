//! `hsx link` end to end: objects and sources linked by the real binary, outputs compared
//! with `tests/golden/link/` (set `HSX_BLESS=1` to rewrite them after a reviewed change).

mod common;

use common::{Sandbox, check_golden, success};

const KIND: &str = "link";

#[test]
fn objects_then_link() {
    let sb = Sandbox::new(KIND, "objects");
    sb.copy("main.mvasm");
    sb.copy("lib.mvasm");
    success(&sb.hsx(&["asm", "-c", "main.mvasm", "lib.mvasm"]));
    check_golden(KIND, "main.hxo", &sb.read("main.hxo"));
    check_golden(KIND, "lib.hxo", &sb.read("lib.hxo"));
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
    check_golden(KIND, "app.hxe", &sb.read("app.hxe"));
    check_golden(KIND, "app.sym", &sb.read("app.sym"));
    check_golden(KIND, "emit_sym.stderr", &out.stderr);
}

#[test]
fn sources_link_like_objects() {
    let sb = Sandbox::new(KIND, "sources");
    sb.copy("main.mvasm");
    sb.copy("lib.mvasm");
    let args = ["--req-cap", "16", "--bss-size", "4", "--single-instance"];
    let mut cmd = vec!["link", "-o", "app.hxe", "main.mvasm", "lib.mvasm"];
    cmd.extend(args);
    success(&sb.hsx(&cmd));
    check_golden(KIND, "app.hxe", &sb.read("app.hxe"));
}

#[test]
fn asm_of_several_sources_links_them() {
    let sb = Sandbox::new(KIND, "multi");
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
    let sb = Sandbox::new(KIND, "copy");
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
    assert!(!sb.path().join("mixed.hxe").exists());
}

#[test]
fn link_errors_cite_sources_and_write_nothing() {
    let sb = Sandbox::new(KIND, "errors");
    sb.copy("far.mvasm");
    sb.copy("far_lib.mvasm");
    sb.copy("main.mvasm");
    let out = sb.hsx(&["link", "-o", "far.hxe", "far.mvasm", "far_lib.mvasm"]);
    assert_eq!(out.status.code(), Some(1));
    check_golden(KIND, "far.stderr", &out.stderr);
    let out = sb.hsx(&[
        "link",
        "-o",
        "main.hxe",
        "main.mvasm",
        "--emit-sym",
        "main.sym",
    ]);
    assert_eq!(out.status.code(), Some(1));
    check_golden(KIND, "unresolved.stderr", &out.stderr);
    assert_eq!(sb.files(), ["far.mvasm", "far_lib.mvasm", "main.mvasm"]);
}

#[test]
fn usage_errors_exit_2() {
    let sb = Sandbox::new(KIND, "usage");
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
