//! Helpers shared by the integration tests: golden files, case files, image surgery.
#![allow(dead_code)] // each test binary uses a subset

use std::path::PathBuf;

use hsx_image::{HEADER_V1, HEADER_V2, compute_crc};

/// Directory of this crate's test data.
pub fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests")
}

/// The bytes of `tests/golden/<name>`.
pub fn golden(name: &str) -> Vec<u8> {
    let path = data_dir().join("golden").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// One line of a case file.
pub struct Case {
    /// `file:line`, for failure messages.
    pub at: String,
    /// The text before ` => `.
    pub input: String,
    /// The text after ` => `.
    pub expected: String,
}

/// The cases of `tests/cases/<name>`: every non-empty line not starting with `#`, split
/// at its last ` => `.
pub fn cases(name: &str) -> Vec<Case> {
    let path = data_dir().join("cases").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let cases: Vec<Case> = text
        .lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty() && !line.starts_with('#'))
        .map(|(n, line)| {
            let at = format!("{name}:{}", n + 1);
            let (input, expected) = line
                .rsplit_once(" => ")
                .unwrap_or_else(|| panic!("{at}: missing ' => '"));
            Case {
                at,
                input: input.trim().to_owned(),
                expected: expected.trim().to_owned(),
            }
        })
        .collect();
    assert!(!cases.is_empty(), "{name} holds no cases");
    cases
}

/// Header size implied by the version field of `image`.
pub fn header_size(image: &[u8]) -> usize {
    if image.get(4..6) == Some(&[0, 2]) {
        HEADER_V2
    } else {
        HEADER_V1
    }
}

/// Recompute and store the CRC of `image` (hxe.md §3).
pub fn fix_crc(image: &mut [u8]) {
    let crc = compute_crc(image, header_size(image));
    image[0x1C..0x20].copy_from_slice(&crc.to_be_bytes());
}

/// Store a big-endian u32 at `at`.
pub fn put32(image: &mut [u8], at: usize, value: u32) {
    image[at..at + 4].copy_from_slice(&value.to_be_bytes());
}

/// Decode lower- or upper-case hex, ignoring spaces.
pub fn hex(text: &str) -> Vec<u8> {
    let digits: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    assert!(digits.len().is_multiple_of(2), "odd hex length: {text}");
    digits
        .chunks(2)
        .map(|pair| {
            let pair = std::str::from_utf8(pair).expect("ASCII hex");
            u8::from_str_radix(pair, 16).unwrap_or_else(|_| panic!("bad hex {pair:?}"))
        })
        .collect()
}

/// Golden image B (v2, single RET) with a metadata table of one entry appended:
/// `(kind, entry_count, payload)`, table right after rodata, section right after it,
/// CRC recomputed. Built by hand so loader tests do not depend on the writer.
pub fn v2_with_section(kind: u32, entry_count: u32, payload: &[u8]) -> Vec<u8> {
    let mut image = golden("b.hxe");
    let table_at = image.len() as u32;
    put32(&mut image, 0x40, table_at);
    put32(&mut image, 0x44, 1);
    for field in [kind, table_at + 16, payload.len() as u32, entry_count] {
        image.extend_from_slice(&field.to_be_bytes());
    }
    image.extend_from_slice(payload);
    fix_crc(&mut image);
    image
}

/// Properties every successfully loaded image has (hxe.md §4).
pub fn check_invariants(bytes: &[u8], image: &hsx_image::Image) {
    assert_eq!(image.file_len, bytes.len());
    assert!(matches!(image.version, 1 | 2));
    assert_eq!(
        image.header_size(),
        if image.version == 2 {
            HEADER_V2
        } else {
            HEADER_V1
        }
    );
    assert!(image.code.len() <= 0x1_0000 && image.code.len().is_multiple_of(4));
    assert!((image.entry as usize) < image.code.len() && image.entry.is_multiple_of(4));
    assert!(image.rodata.len() <= 0x1_0000 && image.bss_size <= 0x1_0000);
    assert!(image.header_size() + image.code.len() + image.rodata.len() <= bytes.len());
    assert_eq!(image.code_words().count() * 4, image.code.len());
    assert_eq!(image.crc32, compute_crc(bytes, image.header_size()));
    if let Some(name) = &image.app_name {
        assert!(image.version == 2 && name.is_ascii() && !name.is_empty());
        assert_eq!(name.trim(), name);
    }
    if image.version == 1 {
        assert!(image.allow_multiple() && image.metadata.sections.is_empty());
    }
    for section in &image.metadata.sections {
        assert!(section.offset as usize >= HEADER_V2);
        assert!(u64::from(section.offset) + u64::from(section.size) <= bytes.len() as u64);
    }
    for mailbox in &image.metadata.mailboxes {
        assert!(!mailbox.target.is_empty());
        assert_ne!(mailbox.capacity, Some(0));
        assert_ne!(mailbox.mode_mask, 0);
    }
}
