//! Property tests: the loader never panics, written images load back, the encoders are
//! exact.

mod common;

use std::collections::BTreeMap;

use common::{check_invariants, fix_crc, golden};
use hsx_image::{
    CommandMeta, Image, MAGIC, ValueMeta, WriteInput, canonical_json, f16_from_f64, f16_to_f64,
    write_hxe, write_hxe_v1,
};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

fn parse_checked(bytes: &[u8]) {
    if let Ok(image) = Image::parse(bytes) {
        check_invariants(bytes, &image);
    }
}

/// Bytes that pass the first loader checks often: magic, version 1 or 2, small sizes.
fn header_shaped() -> impl Strategy<Value = Vec<u8>> {
    (
        prop_oneof![Just(1u16), Just(2u16)],
        0u32..64,
        0u32..64,
        0u32..64,
        0u32..400,
        0u32..4,
        proptest::collection::vec(any::<u8>(), 0..400),
        any::<bool>(),
    )
        .prop_map(
            |(version, entry, code_len, ro_len, meta_offset, meta_count, tail, crc)| {
                let mut bytes = vec![0u8; if version == 2 { 96 } else { 32 }];
                bytes[0..4].copy_from_slice(&MAGIC.to_be_bytes());
                bytes[4..6].copy_from_slice(&version.to_be_bytes());
                bytes[8..12].copy_from_slice(&(entry * 4).to_be_bytes());
                bytes[12..16].copy_from_slice(&(code_len * 4).to_be_bytes());
                bytes[16..20].copy_from_slice(&ro_len.to_be_bytes());
                if version == 2 {
                    bytes[0x40..0x44].copy_from_slice(&meta_offset.to_be_bytes());
                    bytes[0x44..0x48].copy_from_slice(&meta_count.to_be_bytes());
                }
                bytes.extend(tail);
                if crc {
                    fix_crc(&mut bytes);
                }
                bytes
            },
        )
}

/// A golden image with byte mutations, maybe truncated or extended, maybe re-CRC'd.
fn mutated_golden() -> impl Strategy<Value = Vec<u8>> {
    (
        prop_oneof![Just("a.hxe"), Just("b.hxe"), Just("c.hxe")],
        proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        proptest::option::of(any::<prop::sample::Index>()),
        proptest::collection::vec(any::<u8>(), 0..4),
        any::<bool>(),
    )
        .prop_map(|(name, edits, cut, extra, crc)| {
            let mut bytes = golden(name);
            for (at, value) in edits {
                let at = at.index(bytes.len());
                bytes[at] = value;
            }
            if let Some(cut) = cut {
                bytes.truncate(cut.index(bytes.len() + 1));
            }
            bytes.extend(extra);
            if crc && bytes.len() >= 32 {
                fix_crc(&mut bytes);
            }
            bytes
        })
}

fn value_meta() -> impl Strategy<Value = ValueMeta> {
    let text = proptest::option::of("[a-zA-Z0-9 é°]{0,8}");
    (
        any::<[u8; 4]>(),
        any::<[u16; 5]>(),
        text.clone(),
        text.clone(),
        text,
    )
        .prop_map(
            |(
                [group, id, flags, auth],
                [init, epsilon, min, max, persist_key],
                name,
                unit,
                group_name,
            )| ValueMeta {
                group,
                id,
                flags,
                auth,
                init,
                epsilon,
                min,
                max,
                persist_key,
                name,
                unit,
                group_name,
            },
        )
}

fn command_meta() -> impl Strategy<Value = CommandMeta> {
    let text = proptest::option::of("[a-z ]{0,6}");
    (
        any::<[u8; 4]>(),
        any::<u32>(),
        0u32..0x1_0000,
        text.clone(),
        text.clone(),
        text,
    )
        .prop_map(
            |([group, id, flags, auth], handler_offset, reserved, name, help, group_name)| {
                CommandMeta {
                    group,
                    id,
                    flags,
                    auth,
                    handler_offset,
                    name,
                    help,
                    group_name,
                    reserved,
                }
            },
        )
}

fn mailbox_source() -> impl Strategy<Value = Map<String, Value>> {
    (
        "[ ]{0,2}[a-z:]{1,6}[ ]{0,2}",
        proptest::option::of(1u32..0x1_0000),
        1u16..0x40,
    )
        .prop_map(|(target, capacity, mode)| {
            let mut source = Map::new();
            source.insert("target".into(), json!(target));
            if let Some(capacity) = capacity {
                source.insert("capacity".into(), json!(capacity));
            }
            source.insert("mode_mask".into(), json!(mode));
            source
        })
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_filter_map("finite", |f| serde_json::Number::from_f64(f)
            .map(Value::Number)),
        any::<String>().prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map(any::<String>(), inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        parse_checked(&bytes);
    }

    #[test]
    fn parse_never_panics_on_header_shaped_input(bytes in header_shaped()) {
        parse_checked(&bytes);
    }

    #[test]
    fn parse_never_panics_on_mutated_images(bytes in mutated_golden()) {
        parse_checked(&bytes);
    }

    #[test]
    fn v2_round_trip(
        code in proptest::collection::vec(any::<u32>(), 1..64),
        entry in any::<prop::sample::Index>(),
        rodata in proptest::collection::vec(any::<u8>(), 0..300),
        bss_size in 0u32..=0x1_0000,
        req_caps in any::<u32>(),
        app_name in "[ -~]{0,40}",
        allow_multiple in any::<bool>(),
        values in proptest::collection::vec(value_meta(), 0..6),
        commands in proptest::collection::vec(command_meta(), 0..6),
        mailboxes in proptest::collection::vec(mailbox_source(), 0..4),
    ) {
        // Unique keys, in the writer's sorted order.
        let values: BTreeMap<(u8, u8), ValueMeta> = values.into_iter().map(|v| ((v.group, v.id), v)).collect();
        let commands: BTreeMap<(u8, u8), CommandMeta> = commands.into_iter().map(|c| ((c.group, c.id), c)).collect();
        let entry = entry.index(code.len()) as u32 * 4;
        let input = WriteInput {
            code,
            entry,
            rodata,
            bss_size,
            req_caps,
            app_name: app_name.clone(),
            allow_multiple,
            values: values.values().rev().cloned().collect(),
            commands: commands.values().rev().cloned().collect(),
            mailboxes: mailboxes.clone(),
        };
        let bytes = write_hxe(&input).expect("writable");
        let image = Image::parse(&bytes).expect("written images load");
        check_invariants(&bytes, &image);
        prop_assert_eq!(image.version, 2);
        prop_assert_eq!(image.code_words().collect::<Vec<_>>(), input.code);
        prop_assert_eq!(image.entry, entry);
        prop_assert_eq!(&image.rodata, &input.rodata);
        prop_assert_eq!((image.bss_size, image.req_caps), (bss_size, req_caps));
        prop_assert_eq!(image.allow_multiple(), allow_multiple);
        let name: String = app_name.trim().chars().take(31).collect();
        let name = name.trim();
        prop_assert_eq!(image.app_name.as_deref(), (!name.is_empty()).then_some(name));
        prop_assert_eq!(image.metadata.values, values.into_values().collect::<Vec<_>>());
        prop_assert_eq!(image.metadata.commands, commands.into_values().collect::<Vec<_>>());
        let mut targets: Vec<String> = mailboxes.iter().map(|m| m["target"].as_str().unwrap_or_default().trim().to_owned()).collect();
        targets.sort();
        let loaded: Vec<String> = image.metadata.mailboxes.iter().map(|m| m.target.clone()).collect();
        prop_assert_eq!(loaded, targets);
        for mailbox in &image.metadata.mailboxes {
            prop_assert_eq!(mailbox.capacity, mailbox.source.get("capacity").and_then(Value::as_u64).map(|c| c as u32));
            prop_assert_eq!(Some(u64::from(mailbox.mode_mask)), mailbox.source["mode_mask"].as_u64());
        }
    }

    #[test]
    fn v1_round_trip(
        code in proptest::collection::vec(any::<u32>(), 1..64),
        entry in any::<prop::sample::Index>(),
        rodata in proptest::collection::vec(any::<u8>(), 0..300),
        bss_size in 0u32..=0x1_0000,
        req_caps in any::<u32>(),
    ) {
        let entry = entry.index(code.len()) as u32 * 4;
        let bytes = write_hxe_v1(&code, entry, &rodata, bss_size, req_caps);
        let image = Image::parse(&bytes).expect("written images load");
        check_invariants(&bytes, &image);
        prop_assert_eq!(image.code_words().collect::<Vec<_>>(), code);
        prop_assert_eq!((image.entry, image.bss_size, image.req_caps), (entry, bss_size, req_caps));
        prop_assert_eq!(image.rodata, rodata);
    }

    #[test]
    fn f16_rounds_to_nearest_even(x in any::<f64>()) {
        let bits = f16_from_f64(x);
        if x.is_nan() {
            prop_assert_eq!(bits, 0x7E00);
        } else if x.abs() >= 65520.0 {
            prop_assert_eq!(bits, if x > 0.0 { 0x7C00 } else { 0xFC00 });
        } else {
            // No other finite f16 of the same sign is closer; ties go to the even pattern.
            let got = f16_to_f64(bits);
            prop_assert_eq!(got.is_sign_negative(), x.is_sign_negative());
            let magnitude = bits & 0x7FFF;
            for neighbour in [magnitude.wrapping_sub(1), magnitude + 1] {
                if neighbour > 0x7BFF {
                    continue;
                }
                let other = f16_to_f64(neighbour | (bits & 0x8000));
                let (d_got, d_other) = ((x - got).abs(), (x - other).abs());
                prop_assert!(d_got <= d_other, "{x:e}: 0x{bits:04X} vs 0x{neighbour:04X}");
                if d_got == d_other {
                    prop_assert_eq!(magnitude & 1, 0);
                }
            }
        }
    }

    #[test]
    fn f16_matches_half_on_exact_f32_values(x in any::<f32>()) {
        // f32 → f16 rounds once, so `half` is an exact oracle here.
        prop_assume!(!x.is_nan());
        prop_assert_eq!(f16_from_f64(f64::from(x)), half::f16::from_f32(x).to_bits());
    }

    #[test]
    fn canonical_json_is_ascii_json_for_the_same_value(value in json_value()) {
        let text = canonical_json(&value);
        prop_assert!(text.is_ascii());
        prop_assert!(!text.contains(['\n', '\r', '\t']));
        let back: Value = serde_json::from_str(&text).expect("canonical output parses");
        prop_assert_eq!(&back, &value);
        prop_assert_eq!(canonical_json(&back), text);
    }
}
