//! Replays the protocol fuzz corpus (fuzz/corpus/protocol) through the request path,
//! plus generated inputs: nothing may panic and every reply must be one JSON line.

use std::path::Path;

#[test]
fn fuzz_corpus_replays() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/protocol");
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).expect("corpus directory") {
        let data = std::fs::read(entry.unwrap().path()).unwrap();
        hsx_server::wire::fuzz_one(&data);
        count += 1;
    }
    assert!(count >= 8, "corpus has {count} files");
}

#[test]
fn generated_inputs_never_panic() {
    // A small deterministic generator over JSON-ish fragments.
    let pieces: &[&[u8]] = &[
        b"{",
        b"}",
        b"[",
        b"]",
        b"\"cmd\"",
        b":",
        b",",
        b"\"ping\"",
        b"\"pid\"",
        b"\"0x1F\"",
        b"-7",
        b"1e400",
        b"null",
        b"true",
        b"\"version\"",
        b"2",
        b"\n",
        b"\r",
        b" ",
        b"\xff",
        b"\"filters\"",
        b"{\"since_seq\":-3}",
        b"\"0b\"",
        b"\"\\u0000\"",
    ];
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    for _ in 0..20_000 {
        let mut line = Vec::new();
        for _ in 0..(state % 12) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            line.extend_from_slice(pieces[(state % pieces.len() as u64) as usize]);
        }
        hsx_server::wire::fuzz_one(&line);
    }
}
