//! `hsx disasm` end to end: the real binary on golden image C (`hxe.md` §8), outputs
//! compared with `tests/golden/disasm/` (set `HSX_BLESS=1` to rewrite them).

mod common;

use common::{Sandbox, check_golden, success};

const KIND: &str = "disasm";

#[test]
fn disassembly_matches_the_spec_example() {
    let sb = Sandbox::new(KIND, "text");
    sb.copy("meta.hxe");
    let out = sb.hsx(&["disasm", "meta.hxe"]);
    success(&out);
    check_golden(KIND, "meta.dis", &out.stdout);
    success(&sb.hsx(&["disasm", "-o", "meta.mvasm", "meta.hxe"]));
    check_golden(KIND, "meta.dis", &sb.read("meta.mvasm"));
}

#[test]
fn disassembly_reassembles_to_the_same_image() {
    let sb = Sandbox::new(KIND, "again");
    sb.copy("meta.hxe");
    success(&sb.hsx(&["disasm", "meta.hxe", "-o", "meta.mvasm"]));
    success(&sb.hsx(&["asm", "meta.mvasm", "-o", "again.hxe", "--app-name", "meta"]));
    assert_eq!(sb.read("again.hxe"), sb.read("meta.hxe"));
}

#[test]
fn listing_mode() {
    let sb = Sandbox::new(KIND, "listing");
    sb.copy("meta.hxe");
    let out = sb.hsx(&["disasm", "--listing", "meta.hxe"]);
    success(&out);
    check_golden(KIND, "meta.listing", &out.stdout);
}

#[test]
fn invalid_images_report_the_loader_error() {
    let sb = Sandbox::new(KIND, "invalid");
    sb.copy("meta.hxe");
    let mut bytes = sb.read("meta.hxe");
    *bytes.last_mut().unwrap() ^= 1;
    std::fs::write(sb.path().join("broken.hxe"), bytes).unwrap();
    let out = sb.hsx(&["disasm", "broken.hxe", "-o", "broken.mvasm"]);
    assert_eq!(out.status.code(), Some(1));
    check_golden(KIND, "broken.stderr", &out.stderr);
    assert_eq!(sb.files(), ["broken.hxe", "meta.hxe"]);
    assert_eq!(sb.hsx(&["disasm"]).status.code(), Some(2));
}
