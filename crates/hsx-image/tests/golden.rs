//! The golden vectors of hxe.md §8 (`tests/golden/{a,b,c}.hxe`), in both directions.

mod common;

use common::golden;
use hsx_image::{
    CommandMeta, Image, MailboxMeta, Metadata, SectionEntry, ValueMeta, WriteInput, auth,
    command_flags, f16_from_f64, mode, value_flags, write_hxe, write_hxe_v1,
};
use serde_json::{Map, Value, json};

const RET: u32 = 0x2500_0000;
const LDI_R0_1: u32 = 0x0100_0001;

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

/// Vector C's value, as decoded in hxe.md §8.
fn c_value() -> ValueMeta {
    ValueMeta {
        group: 1,
        id: 2,
        flags: value_flags::PERSIST,
        auth: auth::USER,
        init: f16_from_f64(12.5),
        epsilon: f16_from_f64(0.5),
        min: f16_from_f64(-40.0),
        max: f16_from_f64(125.0),
        persist_key: 17,
        name: Some("temp".into()),
        unit: Some("C".into()),
        group_name: None,
    }
}

/// Vector C's command, as decoded in hxe.md §8.
fn c_command() -> CommandMeta {
    CommandMeta {
        group: 1,
        id: 7,
        flags: command_flags::PIN,
        auth: auth::ADMIN,
        handler_offset: 8,
        name: Some("reset".into()),
        help: Some("Soft reset".into()),
        group_name: None,
        reserved: 0,
    }
}

fn c_mailbox_source() -> Map<String, Value> {
    object(json!({"target": "app:tel", "capacity": 96, "mode_mask": 15}))
}

fn c_input() -> WriteInput {
    WriteInput {
        code: vec![LDI_R0_1, RET, RET],
        entry: 0,
        rodata: vec![0xAA, 0xBB],
        app_name: "meta".into(),
        values: vec![c_value()],
        commands: vec![c_command()],
        mailboxes: vec![c_mailbox_source()],
        ..WriteInput::default()
    }
}

#[test]
fn a_parses() {
    let image = Image::parse(&golden("a.hxe")).expect("vector A is valid");
    let expected = Image {
        version: 1,
        flags: 0,
        entry: 0,
        bss_size: 0,
        req_caps: 0,
        crc32: 0xE5DE_6416,
        app_name: None,
        code: RET.to_be_bytes().to_vec(),
        rodata: Vec::new(),
        metadata: Metadata::default(),
        file_len: 36,
    };
    assert_eq!(image, expected);
    assert!(image.allow_multiple());
    assert_eq!(image.code_words().collect::<Vec<_>>(), [RET]);
}

#[test]
fn a_is_written() {
    assert_eq!(write_hxe_v1(&[RET], 0, &[], 0, 0), golden("a.hxe"));
}

#[test]
fn b_parses() {
    let image = Image::parse(&golden("b.hxe")).expect("vector B is valid");
    let expected = Image {
        version: 2,
        flags: 0x0002,
        entry: 0,
        bss_size: 0,
        req_caps: 0,
        crc32: 0xC62C_6F88,
        app_name: Some("ret".into()),
        code: RET.to_be_bytes().to_vec(),
        rodata: Vec::new(),
        metadata: Metadata::default(),
        file_len: 100,
    };
    assert_eq!(image, expected);
    assert!(image.allow_multiple());
    assert!(!image.manifest_present());
}

#[test]
fn b_is_written() {
    let input = WriteInput {
        code: vec![RET],
        app_name: "ret".into(),
        ..WriteInput::default()
    };
    assert_eq!(write_hxe(&input), Ok(golden("b.hxe")));
}

#[test]
fn b_crc_ignores_the_app_name() {
    let input = WriteInput {
        code: vec![RET],
        app_name: "another name".into(),
        ..WriteInput::default()
    };
    let bytes = write_hxe(&input).expect("writable");
    assert_eq!(bytes[0x1C..0x20], golden("b.hxe")[0x1C..0x20]);
    assert_eq!(
        Image::parse(&bytes).expect("valid").app_name.as_deref(),
        Some("another name")
    );
}

#[test]
fn c_parses() {
    let image = Image::parse(&golden("c.hxe")).expect("vector C is valid");
    let expected = Image {
        version: 2,
        flags: 0x0002,
        entry: 0,
        bss_size: 0,
        req_caps: 0,
        crc32: 0x6781_4251,
        app_name: Some("meta".into()),
        code: [LDI_R0_1, RET, RET]
            .iter()
            .flat_map(|w| w.to_be_bytes())
            .collect(),
        rodata: vec![0xAA, 0xBB],
        metadata: Metadata {
            sections: vec![
                SectionEntry {
                    kind: 1,
                    offset: 0x9E,
                    size: 0x1B,
                    entry_count: 1,
                },
                SectionEntry {
                    kind: 2,
                    offset: 0xB9,
                    size: 0x21,
                    entry_count: 1,
                },
                SectionEntry {
                    kind: 3,
                    offset: 0xDA,
                    size: 0x4D,
                    entry_count: 1,
                },
            ],
            values: vec![c_value()],
            commands: vec![c_command()],
            mailboxes: vec![MailboxMeta {
                target: "app:tel".into(),
                capacity: Some(96),
                mode_mask: mode::RDWR | mode::TAP | mode::FANOUT,
                owner_pid: None,
                bindings: Vec::new(),
                source: c_mailbox_source(),
            }],
        },
        file_len: 295,
    };
    assert_eq!(image, expected);
    // The decoded f16 bits of hxe.md §8.
    let v = &image.metadata.values[0];
    assert_eq!(
        [v.init, v.epsilon, v.min, v.max],
        [0x4A40, 0x3800, 0xD100, 0x57D0]
    );
}

#[test]
fn c_is_written() {
    assert_eq!(write_hxe(&c_input()), Ok(golden("c.hxe")));
}

#[test]
fn c_is_written_from_an_untrimmed_target() {
    // The writer trims `target` before sorting and serialising.
    let mut input = c_input();
    input.mailboxes = vec![object(
        json!({"target": "  app:tel\t", "capacity": 96, "mode_mask": 15}),
    )];
    assert_eq!(write_hxe(&input), Ok(golden("c.hxe")));
}

#[test]
fn written_images_parse_back() {
    for input in [
        c_input(),
        WriteInput {
            code: vec![RET],
            ..WriteInput::default()
        },
    ] {
        let bytes = write_hxe(&input).expect("writable");
        let image = Image::parse(&bytes).expect("loadable");
        assert_eq!(image.code_words().collect::<Vec<_>>(), input.code);
        assert_eq!(image.rodata, input.rodata);
        assert_eq!(image.metadata.values, input.values);
        assert_eq!(image.metadata.commands, input.commands);
        let sources: Vec<_> = image
            .metadata
            .mailboxes
            .iter()
            .map(|m| m.source.clone())
            .collect();
        assert_eq!(sources, input.mailboxes);
    }
}
