//! Replays the fuzz corpus (`fuzz/corpus/hxe_loader/`) through the loader.

mod common;

use std::path::PathBuf;

use common::check_invariants;
use hsx_image::Image;

#[test]
fn fuzz_corpus_replays() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/hxe_loader");
    let mut entries: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .collect();
    entries.sort();
    let (mut valid, mut invalid) = (0, 0);
    for path in &entries {
        let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        match Image::parse(&bytes) {
            Ok(image) => {
                check_invariants(&bytes, &image);
                valid += 1;
            }
            Err(error) => {
                assert!(!error.to_string().is_empty(), "{}", path.display());
                invalid += 1;
            }
        }
        // Parsing is deterministic.
        assert_eq!(
            Image::parse(&bytes),
            Image::parse(&bytes),
            "{}",
            path.display()
        );
    }
    // The seeds include the golden vectors and rejected files.
    assert!(
        valid >= 3 && invalid >= 3,
        "{valid} valid, {invalid} invalid in {}",
        dir.display()
    );
}
