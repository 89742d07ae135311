//! Writer rules (hxe.md §6, §7.1): app names, duplicates, sorting, interning and
//! canonical JSON. Case tables live in `tests/cases/`.

mod common;

use common::cases;
use hsx_image::{
    CommandMeta, HEADER_V2, Image, ValueMeta, WriteError, WriteInput, canonical_json,
    normalize_app_name, write_hxe,
};
use serde_json::{Map, Value, json};

const RET: u32 = 0x2500_0000;

fn ret_image() -> WriteInput {
    WriteInput {
        code: vec![RET],
        ..WriteInput::default()
    }
}

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

fn value(group: u8, id: u8) -> ValueMeta {
    ValueMeta {
        group,
        id,
        ..ValueMeta::default()
    }
}

fn command(group: u8, id: u8) -> CommandMeta {
    CommandMeta {
        group,
        id,
        ..CommandMeta::default()
    }
}

fn be32(bytes: &[u8], at: usize) -> u32 {
    u32::from_be_bytes(bytes[at..at + 4].try_into().expect("4 bytes"))
}

fn be16(bytes: &[u8], at: usize) -> u16 {
    u16::from_be_bytes(bytes[at..at + 2].try_into().expect("2 bytes"))
}

/// The bytes of metadata section `index` of a written image.
fn section(bytes: &[u8], index: usize) -> &[u8] {
    let entry = be32(bytes, 0x40) as usize + 16 * index;
    let offset = be32(bytes, entry + 4) as usize;
    &bytes[offset..offset + be32(bytes, entry + 8) as usize]
}

#[test]
fn canonical_json_cases() {
    let mut failures = Vec::new();
    for case in cases("canonical_json.txt") {
        let input: Value = serde_json::from_str(&case.input)
            .unwrap_or_else(|e| panic!("{}: input is not JSON: {e}", case.at));
        let got = canonical_json(&input);
        if got != case.expected {
            failures.push(format!(
                "{}\n  expected: {}\n  got:      {got}",
                case.at, case.expected
            ));
        }
        // Canonical output is JSON for the same value.
        let reparsed: Value = serde_json::from_str(&got).expect("canonical output parses");
        assert_eq!(reparsed, input, "{}", case.at);
    }
    assert!(
        failures.is_empty(),
        "{} case(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn app_name_cases() {
    for case in cases("app_names.txt") {
        let requested: String = serde_json::from_str(&case.input).expect("JSON string");
        let expected: String = serde_json::from_str(&case.expected).expect("JSON string");
        let field = normalize_app_name(&requested);
        let mut padded = expected.as_bytes().to_vec();
        padded.resize(32, 0);
        assert_eq!(field.to_vec(), padded, "{}", case.at);

        let input = WriteInput {
            app_name: requested,
            ..ret_image()
        };
        let bytes = write_hxe(&input).expect("writable");
        assert_eq!(bytes[0x20..0x40], field, "{}", case.at);
        let loaded = Image::parse(&bytes).expect("loadable").app_name;
        let trimmed = expected.trim();
        assert_eq!(
            loaded.as_deref(),
            (!trimmed.is_empty()).then_some(trimmed),
            "{}",
            case.at
        );
    }
}

#[test]
fn header_fields() {
    let input = WriteInput {
        code: vec![RET, RET],
        entry: 4,
        rodata: vec![1, 2, 3],
        bss_size: 0x1234,
        req_caps: 0xDEAD_BEEF,
        allow_multiple: false,
        ..WriteInput::default()
    };
    let bytes = write_hxe(&input).expect("writable");
    assert_eq!(be16(&bytes, 0x04), 2);
    assert_eq!(be16(&bytes, 0x06), 0x0000);
    assert_eq!(be32(&bytes, 0x08), 4);
    assert_eq!(be32(&bytes, 0x0C), 8);
    assert_eq!(be32(&bytes, 0x10), 3); // unpadded
    assert_eq!(be32(&bytes, 0x14), 0x1234);
    assert_eq!(be32(&bytes, 0x18), 0xDEAD_BEEF); // all 32 bits (hxe.md §9)
    assert_eq!([be32(&bytes, 0x40), be32(&bytes, 0x44)], [0, 0]); // no metadata
    assert!(bytes[0x48..0x60].iter().all(|&b| b == 0));
    assert_eq!(bytes.len(), HEADER_V2 + 8 + 3); // ends at ro_end
    let image = Image::parse(&bytes).expect("loadable");
    assert!(!image.allow_multiple());
    assert_eq!(
        (image.entry, image.bss_size, image.req_caps),
        (4, 0x1234, 0xDEAD_BEEF)
    );
}

#[test]
fn metadata_layout_without_padding() {
    // Odd-sized rodata: the table still starts right at ro_end and sections follow it.
    let input = WriteInput {
        rodata: vec![9; 3],
        commands: vec![command(1, 1)],
        mailboxes: vec![object(json!({"target": "x"}))],
        ..ret_image()
    };
    let bytes = write_hxe(&input).expect("writable");
    let ro_end = HEADER_V2 + 4 + 3;
    assert_eq!(be32(&bytes, 0x40) as usize, ro_end);
    assert_eq!(be32(&bytes, 0x44), 2);
    let table: Vec<[u32; 4]> = (0..2)
        .map(|i| {
            let at = ro_end + 16 * i;
            [
                be32(&bytes, at),
                be32(&bytes, at + 4),
                be32(&bytes, at + 8),
                be32(&bytes, at + 12),
            ]
        })
        .collect();
    let mailbox_json = br#"{"mailboxes":[{"target":"x"}],"version":1}"#;
    assert_eq!(table[0], [2, (ro_end + 32) as u32, 16, 1]);
    assert_eq!(
        table[1],
        [3, (ro_end + 48) as u32, mailbox_json.len() as u32, 1]
    );
    assert_eq!(section(&bytes, 1), mailbox_json);
    assert_eq!(bytes.len(), ro_end + 48 + mailbox_json.len());
}

#[test]
fn duplicate_values_are_rejected() {
    let input = WriteInput {
        values: vec![value(1, 2), value(1, 3), value(1, 2)],
        ..ret_image()
    };
    let error = write_hxe(&input).expect_err("duplicate");
    assert_eq!(error, WriteError::DuplicateValue { group: 1, id: 2 });
    assert_eq!(
        error.to_string(),
        "duplicate value metadata entry for (1,2)"
    );
    // The first duplicate in declaration order is reported.
    let input = WriteInput {
        values: vec![
            value(9, 9),
            value(2, 1),
            value(2, 1),
            value(1, 1),
            value(1, 1),
        ],
        ..ret_image()
    };
    assert_eq!(
        write_hxe(&input),
        Err(WriteError::DuplicateValue { group: 2, id: 1 })
    );
    // Same id in another group is fine.
    let input = WriteInput {
        values: vec![value(1, 2), value(2, 2)],
        ..ret_image()
    };
    assert!(write_hxe(&input).is_ok());
}

#[test]
fn duplicate_commands_are_rejected() {
    let mut second = command(3, 200);
    second.name = Some("other".into());
    let input = WriteInput {
        commands: vec![command(3, 200), second],
        ..ret_image()
    };
    let error = write_hxe(&input).expect_err("duplicate");
    assert_eq!(
        error.to_string(),
        "duplicate command metadata entry for (3,200)"
    );
    // A value and a command may share (group, id).
    let input = WriteInput {
        values: vec![value(3, 200)],
        commands: vec![command(3, 200)],
        ..ret_image()
    };
    assert!(write_hxe(&input).is_ok());
}

#[test]
fn entries_are_sorted() {
    let keys = [(2, 0), (1, 5), (1, 2), (0, 255)];
    let input = WriteInput {
        values: keys.iter().map(|&(g, i)| value(g, i)).collect(),
        commands: keys.iter().map(|&(g, i)| command(g, i)).collect(),
        mailboxes: ["b", "a", "Z", "é", "aa", "a"]
            .iter()
            .enumerate()
            .map(|(n, t)| object(json!({"target": t, "n": n})))
            .collect(),
        ..ret_image()
    };
    let image = Image::parse(&write_hxe(&input).expect("writable")).expect("loadable");
    let sorted = [(0, 255), (1, 2), (1, 5), (2, 0)];
    let values: Vec<_> = image
        .metadata
        .values
        .iter()
        .map(|v| (v.group, v.id))
        .collect();
    let commands: Vec<_> = image
        .metadata
        .commands
        .iter()
        .map(|c| (c.group, c.id))
        .collect();
    assert_eq!(values, sorted);
    assert_eq!(commands, sorted);
    // Code-point order; equal targets keep their declaration order.
    let mailboxes: Vec<_> = image
        .metadata
        .mailboxes
        .iter()
        .map(|m| (m.target.as_str(), m.source["n"].as_u64()))
        .collect();
    assert_eq!(
        mailboxes,
        [
            ("Z", Some(2)),
            ("a", Some(1)),
            ("a", Some(5)),
            ("aa", Some(4)),
            ("b", Some(0)),
            ("é", Some(3))
        ]
    );
}

#[test]
fn value_strings_are_interned() {
    let named = |group, name: &str, unit: Option<&str>, group_name: Option<&str>| ValueMeta {
        name: Some(name.into()),
        unit: unit.map(Into::into),
        group_name: group_name.map(Into::into),
        ..value(group, 0)
    };
    let input = WriteInput {
        values: vec![
            named(2, "C", Some("temp"), None),
            named(1, "temp", Some("C"), Some("")),
            named(3, "", None, Some("temp")),
        ],
        ..ret_image()
    };
    let bytes = write_hxe(&input).expect("writable");
    let section = section(&bytes, 0);
    // Sorted order (1, 2, 3); per entry name, unit, group_name; the area starts at 3 × 20.
    assert_eq!(&section[60..], b"temp\0C\0\0");
    let offsets = |entry: usize| {
        let at = entry * 20;
        [
            be16(section, at + 6),
            be16(section, at + 8),
            be16(section, at + 0x12),
        ]
    };
    assert_eq!(offsets(0), [60, 65, 67]); // "temp", "C", "" (non-zero offset)
    assert_eq!(offsets(1), [65, 60, 0]); // reused "C" and "temp", absent group_name
    assert_eq!(offsets(2), [67, 0, 60]); // reused "" and "temp"
    let image = Image::parse(&bytes).expect("loadable");
    assert_eq!(image.metadata.values[0].group_name.as_deref(), Some(""));
    assert_eq!(image.metadata.values[2].unit, None);
}

#[test]
fn command_strings_and_reserved_word() {
    let input = WriteInput {
        commands: vec![CommandMeta {
            name: Some("go".into()),
            help: Some("go".into()),
            group_name: Some("grp".into()),
            reserved: 0x0012_3456,
            handler_offset: 0x0102_0304,
            ..command(4, 5)
        }],
        ..ret_image()
    };
    let bytes = write_hxe(&input).expect("writable");
    let section = section(&bytes, 0);
    assert_eq!(&section[16..], b"go\0grp\0");
    assert_eq!(be32(section, 4), 0x0102_0304);
    assert_eq!([be16(section, 8), be16(section, 10)], [16, 16]);
    assert_eq!(be32(section, 12), 0x3456_0000 | 19); // (reserved & 0xFFFF) << 16 | group_name
    let loaded = &Image::parse(&bytes).expect("loadable").metadata.commands[0];
    assert_eq!(loaded.reserved, 0x3456);
    assert_eq!(loaded.group_name.as_deref(), Some("grp"));
}

#[test]
fn mailbox_sources_are_kept() {
    let input = WriteInput {
        mailboxes: vec![
            object(json!({"name": " by-name ", "note": ["é", 1.5]})),
            object(json!({"target": " t ", "name": " kept ", "mode": "tap"})),
        ],
        ..ret_image()
    };
    let bytes = write_hxe(&input).expect("writable");
    let expected = concat!(
        r#"{"mailboxes":[{"name":" by-name ","note":["\u00e9",1.5]},"#,
        r#"{"mode":"tap","name":" kept ","target":"t"}],"version":1}"#
    );
    assert_eq!(section(&bytes, 0), expected.as_bytes());
    let image = Image::parse(&bytes).expect("loadable");
    let targets: Vec<_> = image
        .metadata
        .mailboxes
        .iter()
        .map(|m| m.target.as_str())
        .collect();
    assert_eq!(targets, ["by-name", "t"]);
}

#[test]
fn mailboxes_need_a_target() {
    for (index, bad) in [
        json!({}),
        json!({"target": "  "}),
        json!({"target": 5, "name": "x"}),
    ]
    .into_iter()
    .enumerate()
    {
        let mut mailboxes = vec![object(json!({"target": "ok"}))];
        mailboxes.push(object(bad));
        let input = WriteInput {
            mailboxes,
            ..ret_image()
        };
        let error = write_hxe(&input).expect_err("no target");
        assert_eq!(
            error,
            WriteError::MailboxMissingTarget { index: 1 },
            "case {index}"
        );
        assert_eq!(error.to_string(), "mailbox metadata entry 1 missing target");
    }
}

#[test]
fn strings_with_nul_are_rejected() {
    let input = WriteInput {
        values: vec![ValueMeta {
            unit: Some("a\0b".into()),
            ..value(0, 0)
        }],
        ..ret_image()
    };
    let error = write_hxe(&input).expect_err("NUL");
    assert_eq!(
        error.to_string(),
        "value metadata string contains a NUL character"
    );
}

#[test]
fn string_area_overflow_is_an_error() {
    let long = "x".repeat(0xFFF0);
    let input = WriteInput {
        commands: vec![
            CommandMeta {
                name: Some(long),
                ..command(0, 0)
            },
            CommandMeta {
                name: Some("late".into()),
                ..command(0, 1)
            },
        ],
        ..ret_image()
    };
    let error = write_hxe(&input).expect_err("offset beyond 0xFFFF");
    assert_eq!(error, WriteError::StringAreaOverflow { section: "command" });
}

#[test]
fn the_writer_does_not_apply_loader_limits() {
    // The writer records what it is given; the loader reports the problem.
    let input = WriteInput {
        code: Vec::new(),
        ..WriteInput::default()
    };
    let bytes = write_hxe(&input).expect("writable");
    assert_eq!(
        Image::parse(&bytes).map(|_| ()).unwrap_err().to_string(),
        "Entry point outside code section"
    );
}
