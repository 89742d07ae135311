//! The assembler never panics (`mvasm.md` §9): the fuzz corpus, arbitrary text, and
//! mutations of valid sources all give an object/image or diagnostics.

use std::path::{Path, PathBuf};

use hsx_asm::{AsmOptions, assemble_source, assemble_source_to_hxe, disassemble};
use hsx_image::Image;
use proptest::prelude::*;

fn corpus() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/assembler");
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
}

/// Everything the fuzz target does, minus libFuzzer.
fn exercise(text: &str) -> bool {
    let opts = AsmOptions::default();
    let object_ok = assemble_source("t.mvasm", text, &opts).is_ok();
    let image = assemble_source_to_hxe("t.mvasm", text, &opts, "t")
        .ok()
        .and_then(|bytes| Image::parse(&bytes).ok());
    if let Some(image) = image {
        let listing = disassemble(&image);
        if let Err(d) = assemble_source("t.dis", &listing, &opts) {
            panic!("disassembly does not reassemble:\n{d}\n{listing}");
        }
    }
    object_ok
}

#[test]
fn fuzz_corpus_replays() {
    let files = corpus();
    assert!(files.len() >= 20, "corpus seeds missing");
    let mut assembled = 0;
    for file in &files {
        let bytes = std::fs::read(file).unwrap();
        if let Ok(text) = std::str::from_utf8(&bytes) {
            assembled += usize::from(exercise(text));
        }
    }
    assert!(
        assembled >= 5 && assembled < files.len(),
        "corpus should hold good and broken sources"
    );
}

/// Tokens that make mutations likely to reach deep parser states.
const TOKENS: &[&str] = &[
    "\n",
    " ",
    ",",
    ";",
    ":",
    "[",
    "]",
    "(",
    ")",
    "\"",
    "'",
    "\\",
    "=",
    "+",
    "-",
    "{",
    "}",
    "R",
    "R1",
    "R16",
    "0x",
    "0b",
    "_",
    ".data",
    ".text",
    ".entry",
    ".org 8",
    ".word",
    ".byte",
    ".include",
    ".value {",
    "\"group\":1",
    "lo16(",
    "off16(",
    "LDI",
    "LDI32",
    "CALL",
    "JMP",
    "SVC",
    "BRK",
    "x:",
    "x",
    "é",
    "\r\n",
    "\t",
];

fn seeds() -> Vec<String> {
    corpus()
        .into_iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .collect()
}

#[derive(Clone, Debug)]
enum Edit {
    Insert(usize, usize),
    Delete(usize, usize),
}

fn mutate(seed: &str, edits: &[Edit]) -> String {
    let mut chars: Vec<char> = seed.chars().collect();
    for edit in edits {
        match *edit {
            Edit::Insert(at, token) => {
                let at = at % (chars.len() + 1);
                let token = TOKENS[token % TOKENS.len()];
                chars.splice(at..at, token.chars());
            }
            Edit::Delete(at, len) if !chars.is_empty() => {
                let at = at % chars.len();
                let end = (at + len % 8).min(chars.len());
                chars.drain(at..end);
            }
            Edit::Delete(..) => {}
        }
    }
    chars.into_iter().collect()
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), any::<usize>()).prop_map(|(a, t)| Edit::Insert(a, t)),
        (any::<usize>(), any::<usize>()).prop_map(|(a, l)| Edit::Delete(a, l)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,200}") {
        exercise(&text);
    }

    #[test]
    fn token_soup_never_panics(tokens in prop::collection::vec(0..TOKENS.len(), 0..60)) {
        let text: String = tokens.into_iter().map(|i| TOKENS[i]).collect();
        exercise(&text);
    }

    #[test]
    fn mutated_sources_never_panic(seed in any::<prop::sample::Index>(), edits in prop::collection::vec(edit(), 1..6)) {
        let seeds = seeds();
        let text = mutate(seeds[seed.index(seeds.len())].as_str(), &edits);
        exercise(&text);
    }
}
