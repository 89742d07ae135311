//! `hsx asm` end to end: the real binary in a scratch directory, outputs compared with
//! `tests/golden/asm/` (set `HSX_BLESS=1` to rewrite them after a reviewed change).

mod common;

use common::{Sandbox, check_golden, success};

const KIND: &str = "asm";

#[test]
fn one_source_to_image_with_listing() {
    let sb = Sandbox::new(KIND, "image");
    sb.copy("meta.mvasm");
    let out = sb.hsx(&["asm", "meta.mvasm", "--listing", "meta.lst", "--emit-hxe"]);
    success(&out);
    check_golden(KIND, "meta.hxe", &sb.read("meta.hxe"));
    check_golden(KIND, "meta.lst", &sb.read("meta.lst"));
    assert_eq!(
        sb.files(),
        ["meta.hxe", "meta.lst", "meta.mvasm"],
        "no temporary files left"
    );
}

#[test]
fn app_name_defaults_to_the_output_stem() {
    let sb = Sandbox::new(KIND, "stem");
    sb.copy("meta.mvasm");
    success(&sb.hsx(&["asm", "-o", "other.hxe", "meta.mvasm"]));
    let renamed = sb.read("other.hxe");
    success(&sb.hsx(&["asm", "meta.mvasm", "-o", "named.hxe", "--app-name", "meta"]));
    check_golden(KIND, "meta.hxe", &sb.read("named.hxe"));
    assert_eq!(&renamed[0x20..0x26], b"other\0");
}

#[test]
fn objects_with_dash_c() {
    let sb = Sandbox::new(KIND, "objects");
    sb.copy("meta.mvasm");
    success(&sb.hsx(&["asm", "-c", "meta.mvasm"]));
    check_golden(KIND, "meta.hxo", &sb.read("meta.hxo"));
    success(&sb.hsx(&["asm", "--object", "meta.mvasm", "-o", "x.hxo"]));
    assert_eq!(sb.read("x.hxo"), sb.read("meta.hxo"));
}

#[test]
fn include_directories() {
    let sb = Sandbox::new(KIND, "include");
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
    check_golden(KIND, "uses_lib.lst", &sb.read("uses_lib.lst"));
}

#[test]
fn errors_exit_1_and_write_nothing() {
    let sb = Sandbox::new(KIND, "errors");
    sb.copy("bad.mvasm");
    sb.copy("inc/broken.inc");
    let out = sb.hsx(&["asm", "bad.mvasm", "--listing", "bad.lst"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    check_golden(KIND, "bad.stderr", &out.stderr);
    assert_eq!(sb.files(), ["bad.mvasm", "inc"]);
}

#[test]
fn existing_output_is_untouched_on_failure() {
    let sb = Sandbox::new(KIND, "keep");
    sb.copy("bad.mvasm");
    sb.copy("inc/broken.inc");
    std::fs::write(sb.path().join("bad.hxe"), b"previous").unwrap();
    assert_eq!(sb.hsx(&["asm", "bad.mvasm"]).status.code(), Some(1));
    assert_eq!(sb.read("bad.hxe"), b"previous");
}

#[test]
fn usage_errors_exit_2() {
    let sb = Sandbox::new(KIND, "usage");
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
