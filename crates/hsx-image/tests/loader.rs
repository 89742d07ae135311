//! Loader validation and metadata decoding, driven by `tests/cases/load_errors.txt` and
//! `tests/cases/metadata.txt`.

mod common;

use common::{Case, cases, fix_crc, golden, hex, v2_with_section};
use hsx_image::{CommandMeta, Image, LoadError, MailboxMeta, ValueMeta};
use serde_json::{Value, json};

/// Parse a number written in decimal or `0x` hex.
fn number(text: &str, at: &str) -> u64 {
    let parsed = match text.strip_prefix("0x") {
        Some(digits) => u64::from_str_radix(digits, 16),
        None => text.parse(),
    };
    parsed.unwrap_or_else(|_| panic!("{at}: bad number {text:?}"))
}

/// Apply the operations of a load_errors.txt case to its base image.
fn build(case: &Case) -> Vec<u8> {
    let mut words = case.input.split_whitespace();
    let base = words
        .next()
        .unwrap_or_else(|| panic!("{}: empty input", case.at));
    let mut image = golden(&format!("{base}.hxe"));
    for op in words {
        if op == "crc" {
            fix_crc(&mut image);
            continue;
        }
        let (name, arg) = op
            .split_once('=')
            .unwrap_or_else(|| panic!("{}: bad op {op}", case.at));
        match name {
            "append" => image.extend(hex(arg)),
            "truncate" => image.truncate(number(arg, &case.at) as usize),
            _ => {
                let (kind, offset) = name
                    .split_once('@')
                    .unwrap_or_else(|| panic!("{}: bad op {op}", case.at));
                let offset = match offset {
                    "last" => image.len() - 1,
                    _ => number(offset, &case.at) as usize,
                };
                let value = number(arg, &case.at);
                match kind {
                    "u8" => image[offset] = value as u8,
                    "u16" => {
                        image[offset..offset + 2].copy_from_slice(&(value as u16).to_be_bytes())
                    }
                    "u32" => {
                        image[offset..offset + 4].copy_from_slice(&(value as u32).to_be_bytes())
                    }
                    "xor" => image[offset] ^= value as u8,
                    _ => panic!("{}: unknown op {op}", case.at),
                }
            }
        }
    }
    image
}

fn outcome(result: &Result<Image, LoadError>) -> String {
    match result {
        Ok(_) => "OK".to_owned(),
        Err(error) => error.to_string(),
    }
}

#[test]
fn load_errors() {
    let mut failures = Vec::new();
    for case in cases("load_errors.txt") {
        let image = build(&case);
        let result = Image::parse(&image);
        let got = outcome(&result);
        if got != case.expected {
            failures.push(format!(
                "{}: {}\n  expected: {}\n  got:      {got}",
                case.at, case.input, case.expected
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} case(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn value_json(v: &ValueMeta) -> Value {
    json!({
        "value": [v.group, v.id, v.flags, v.auth],
        "f16": [v.init, v.epsilon, v.min, v.max],
        "persist_key": v.persist_key,
        "strings": [v.name, v.unit, v.group_name],
    })
}

fn command_json(c: &CommandMeta) -> Value {
    json!({
        "command": [c.group, c.id, c.flags, c.auth],
        "handler": c.handler_offset,
        "strings": [c.name, c.help, c.group_name],
        "reserved": c.reserved,
    })
}

fn mailbox_json(m: &MailboxMeta) -> Value {
    let bindings: Vec<Value> = m.bindings.iter().map(|b| json!([b.pid, b.flags])).collect();
    json!({
        "target": m.target,
        "capacity": m.capacity,
        "mode_mask": m.mode_mask,
        "owner_pid": m.owner_pid,
        "bindings": bindings,
    })
}

#[test]
fn metadata_sections() {
    let mut failures = Vec::new();
    for case in cases("metadata.txt") {
        let mut fields = case.input.splitn(3, ' ');
        let (Some(kind), Some(count), Some(payload)) =
            (fields.next(), fields.next(), fields.next())
        else {
            panic!("{}: expected KIND COUNT PAYLOAD", case.at);
        };
        let payload = if let Some(text) = payload.strip_prefix("text:") {
            text.as_bytes().to_vec()
        } else if let Some(digits) = payload.strip_prefix("hex:") {
            hex(digits)
        } else {
            panic!("{}: payload must start with text: or hex:", case.at);
        };
        let image = v2_with_section(
            number(kind, &case.at) as u32,
            number(count, &case.at) as u32,
            &payload,
        );
        let result = Image::parse(&image);
        let ok = match (&result, case.expected.strip_prefix("= ")) {
            (Ok(image), Some(expected)) => {
                let expected: Value = serde_json::from_str(expected)
                    .unwrap_or_else(|e| panic!("{}: expected JSON: {e}", case.at));
                let metadata = &image.metadata;
                let got: Vec<Value> = (metadata.values.iter().map(value_json))
                    .chain(metadata.commands.iter().map(command_json))
                    .chain(metadata.mailboxes.iter().map(mailbox_json))
                    .collect();
                assert_eq!(metadata.sections.len(), 1, "{}", case.at);
                Value::Array(got) == expected
            }
            (Err(LoadError::Metadata { index: 0, error }), None) => {
                error.to_string() == case.expected
            }
            _ => false,
        };
        if !ok {
            let got = match &result {
                Ok(image) => format!("{:?}", image.metadata),
                Err(error) => format!("{error:?}: {error}"),
            };
            failures.push(format!(
                "{}: {}\n  expected: {}\n  got:      {got}",
                case.at, case.input, case.expected
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} case(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn metadata_errors_carry_the_section_index() {
    let mut image = golden("c.hxe");
    common::put32(&mut image, 0x9A, 0); // mailbox entry_count: ignored by JSON sections
    common::put32(&mut image, 0x8A, 3); // command entry_count: 3 × 16 > 33
    fix_crc(&mut image);
    let error = Image::parse(&image).expect_err("truncated command table");
    assert!(
        matches!(error, LoadError::Metadata { index: 1, .. }),
        "{error:?}"
    );
    assert_eq!(error.to_string(), "command metadata table truncated");
}

#[test]
fn json_mailbox_source_is_the_stored_object() {
    let text = r#"[{"target":" a ","capacity":8,"note":{"x":[1,2]},"name":"n"}]"#;
    let image = Image::parse(&v2_with_section(3, 0, text.as_bytes())).expect("valid");
    let mailbox = &image.metadata.mailboxes[0];
    assert_eq!(mailbox.target, "a");
    let expected: Value = serde_json::from_str(text).expect("json");
    assert_eq!(Value::Object(mailbox.source.clone()), expected[0]);
}

#[test]
fn legacy_mailbox_source_is_synthesised() {
    let section = hex("0000 0010 0000 0000 0000 0000 0000 0000 6D 62 00");
    let image = Image::parse(&v2_with_section(3, 1, &section)).expect("valid");
    let source = Value::Object(image.metadata.mailboxes[0].source.clone());
    assert_eq!(
        source,
        json!({"target": "mb", "capacity": 0, "mode_mask": 3})
    );
}

#[test]
fn unknown_sections_are_listed() {
    let image = Image::parse(&v2_with_section(7, 3, b"xyz")).expect("valid");
    let section = image.metadata.sections[0];
    assert_eq!((section.kind, section.size, section.entry_count), (7, 3, 3));
    assert_eq!(section.offset as usize, image.file_len - 3);
    assert!(image.metadata.is_empty());
}

#[test]
fn v1_images_have_no_name_and_allow_multiple_instances() {
    let mut bytes = golden("a.hxe");
    bytes[7] = 0; // flags 0: ALLOW_MULTIPLE clear, ignored for v1
    let image = Image::parse(&bytes).expect("valid");
    assert!(image.allow_multiple());
    assert!(!image.manifest_present());
    assert_eq!(image.app_name, None);
    assert_eq!(image.header_size(), 32);
}

#[test]
fn v2_flags_and_app_name() {
    let mut bytes = golden("b.hxe");
    bytes[7] = 0x01; // MANIFEST_PRESENT only
    bytes[0x20..0x26].copy_from_slice(b" a b \0");
    fix_crc(&mut bytes);
    let image = Image::parse(&bytes).expect("valid");
    assert!(!image.allow_multiple());
    assert!(image.manifest_present());
    assert_eq!(image.app_name.as_deref(), Some("a b"));
    assert_eq!(image.header_size(), 96);

    bytes[6..8].copy_from_slice(&0xFFFCu16.to_be_bytes()); // reserved bits kept, ignored
    bytes[0x20..0x24].copy_from_slice(b"   \0");
    fix_crc(&mut bytes);
    let image = Image::parse(&bytes).expect("valid");
    assert_eq!(image.flags, 0xFFFC);
    assert!(!image.allow_multiple());
    assert_eq!(image.app_name, None);
}

#[test]
fn placement_check() {
    let mut bytes = golden("a.hxe");
    common::put32(&mut bytes, 0x10, 4); // ro_len 4
    common::put32(&mut bytes, 0x14, 0x100); // bss 256
    bytes.extend([1, 2, 3, 4]);
    fix_crc(&mut bytes);
    let image = Image::parse(&bytes).expect("valid");
    assert_eq!(image.rodata, [1, 2, 3, 4]);
    assert_eq!(image.check_fits(0x4104), Ok(()));
    let error = image.check_fits(0x4103).expect_err("one byte short");
    assert_eq!(
        error.to_string(),
        "Image does not fit the task memory window"
    );
    assert_eq!((error.required, error.limit), (0x4104, 0x4103));
    assert!(image.check_fits(0).is_err());
}

#[test]
fn app_name_may_fill_the_whole_field() {
    // No NUL in the 32 bytes: the loader takes all of them (hxe.md §7.1); the field is
    // outside the CRC.
    let mut bytes = golden("b.hxe");
    bytes[0x20..0x40].copy_from_slice(b" abcdefghijklmnopqrstuvwxyz01234");
    let image = Image::parse(&bytes).expect("valid");
    assert_eq!(
        image.app_name.as_deref(),
        Some("abcdefghijklmnopqrstuvwxyz01234")
    );
    bytes[0x20..0x40].copy_from_slice(b"abcdefghijklmnopqrstuvwxyz012345");
    let image = Image::parse(&bytes).expect("valid");
    assert_eq!(image.app_name.map(|n| n.len()), Some(32));
}
