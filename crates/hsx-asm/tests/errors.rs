//! Every diagnostic the specification quotes, rendered in the `mvasm.md` §9 format
//! (file:line:col, source line, caret, include chain). Each `tests/data/errors/NAME.mvasm`
//! is built as a single unit; its diagnostics must equal `NAME.err`.
//!
//! Set `HSX_BLESS=1` to (re)write the `.err` files after reviewing a change.

use std::path::Path;

use hsx_asm::{AsmOptions, assemble_to_hxe};

#[test]
fn diagnostics_match_golden_files() {
    // Integration tests run in the package directory, so paths (and the file names in
    // the diagnostics) stay relative.
    let dir = Path::new("tests/data/errors");
    let mut cases: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "mvasm"))
        .collect();
    cases.sort();
    assert!(cases.len() >= 40, "error cases missing");
    let bless = std::env::var_os("HSX_BLESS").is_some();
    let mut failures = Vec::new();
    for case in &cases {
        let actual = match assemble_to_hxe(case, &AsmOptions::default(), "t") {
            Ok(_) => format!("unexpectedly assembled {}\n", case.display()),
            Err(diags) => diags.to_string(),
        };
        let golden = case.with_extension("err");
        if bless {
            std::fs::write(&golden, &actual).unwrap();
            continue;
        }
        let expected = std::fs::read_to_string(&golden).unwrap_or_default();
        if actual != expected {
            failures.push(format!(
                "{}:\n--- expected\n{expected}--- actual\n{actual}",
                case.display()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
