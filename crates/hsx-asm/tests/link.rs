//! Linker behaviour (`mvasm.md` §8).

use std::path::Path;

use hsx_asm::{AsmOptions, LinkInput, LinkOptions, Object, assemble_unit_source, link};
use hsx_image::Image;

fn unit(name: &str, text: &str) -> LinkInput {
    let text = text.split(" / ").collect::<Vec<_>>().join("\n");
    assemble_unit_source(name, &text, Path::new(""), &AsmOptions::default())
        .unwrap_or_else(|d| panic!("{name}:\n{d}"))
        .into_link_input(name)
}

fn linked(inputs: &[LinkInput]) -> Image {
    let opts = LinkOptions {
        app_name: "t".into(),
        ..LinkOptions::default()
    };
    let bytes = link(inputs, &opts).unwrap_or_else(|d| panic!("{d}")).image;
    Image::parse(&bytes).unwrap()
}

fn link_error(inputs: &[LinkInput]) -> String {
    match link(inputs, &LinkOptions::default()) {
        Ok(_) => panic!("linked"),
        Err(d) => d.to_string(),
    }
}

#[test]
fn cross_module_references() {
    let a = unit(
        "a.mvasm",
        ".import helper, msg2 / .entry start / start: CALL helper / LDI32 R1, msg2 / JMP helper / RET / .data / msg: .byte 1 / .word msg2",
    );
    let b = unit(
        "b.mvasm",
        ".export helper, msg2 / helper: LDI R0, 3 / RET / .data / msg2: .asciz \"x\"",
    );
    let image = linked(&[a, b]);
    assert_eq!(
        image.code_words().collect::<Vec<_>>(),
        [
            0x2400_0005,
            0x6010_0000,
            0x0000_4005,
            0x2100_0014,
            0x2500_0000,
            0x0100_0003,
            0x2500_0000
        ]
    );
    assert_eq!(image.rodata, [1, 0x05, 0x40, 0, 0, b'x', 0]);
    assert_eq!(image.entry, 0);
}

#[test]
fn off16_honours_rodata_align() {
    let a = unit("a.mvasm", "RET / .data / .byte 1, 2, 3");
    let b = unit(
        "b.mvasm",
        "LDI R1, off16(t) / LDI32 R2, t / .data / .align 8 / .byte 7 / t: .byte 9",
    );
    assert_eq!(b.object.rodata_align, 8);
    let image = linked(&[a, b]);
    assert_eq!(
        image.code_words().collect::<Vec<_>>(),
        [0x2500_0000, 0x0110_0009, 0x6020_0000, 0x4009]
    );
    assert_eq!(image.rodata, [1, 2, 3, 0, 0, 0, 0, 0, 7, 9]);
}

#[test]
fn own_labels_win_over_other_exports() {
    let a = unit("a.mvasm", ".export x / x: RET / RET");
    let b = unit("b.mvasm", "JMP x / x: RET");
    let image = linked(&[a, b]);
    assert_eq!(image.code_words().nth(2), Some(0x2100_000C));
}

#[test]
fn entry_selection() {
    let plain = || unit("p.mvasm", "RET / .entry / RET");
    let named = || unit("n.mvasm", "RET / .entry e / e: RET");
    let start = || unit("s.mvasm", ".export _start / RET / _start: RET");
    assert_eq!(
        linked(&[plain(), named()]).entry,
        12,
        "first module with an entry symbol"
    );
    assert_eq!(
        linked(&[plain(), named(), start()]).entry,
        20,
        "_start wins"
    );
    assert_eq!(
        linked(&[plain(), unit("q.mvasm", "RET")]).entry,
        4,
        "code_base_0 + entry_0"
    );
}

#[test]
fn duplicate_and_unresolved_symbols() {
    let cases: Vec<(Vec<LinkInput>, &str)> = vec![
        (
            vec![
                unit("a.mvasm", ".export dup / dup: RET"),
                unit("b.mvasm", ".export dup / dup: RET"),
            ],
            "a.mvasm: error: Duplicate symbol 'dup' exported by b.mvasm\n",
        ),
        (
            vec![unit("a.mvasm", ".import ext, abc / RET")],
            "a.mvasm: error: Unresolved imports in a.mvasm: abc, ext\n",
        ),
        (
            vec![
                unit("a.mvasm", ".value {\"group\":1,\"id\":2} / RET"),
                unit("b.mvasm", ".value {\"group\":1,\"value\":2} / RET"),
            ],
            "b.mvasm: error: Duplicate value metadata (1,2) defined in a.mvasm and b.mvasm\n",
        ),
        (
            vec![
                unit("a.mvasm", ".cmd {\"group\":1,\"id\":2} / RET"),
                unit("b.mvasm", ".cmd {\"group\":1,\"cmd\":2} / RET"),
            ],
            "b.mvasm: error: Duplicate command metadata (1,2) defined in a.mvasm and b.mvasm\n",
        ),
        (
            vec![
                unit("a.mvasm", ".mailbox {\"target\":\"app:x\"} / RET"),
                unit("b.mvasm", ".mailbox {\"name\":\" app:x \"} / RET"),
            ],
            "b.mvasm: error: Duplicate mailbox target 'app:x' defined in a.mvasm and b.mvasm\n",
        ),
        (
            vec![unit(
                "a.mvasm",
                ".extern h / .cmd {\"group\":1,\"id\":1,\"handler\":\"h\"} / RET",
            )],
            "a.mvasm: error: command handler symbol 'h' not found in linked objects\n",
        ),
        (
            vec![
                unit(
                    "a.mvasm",
                    ".extern h / .cmd {\"group\":1,\"id\":1,\"handler\":\"h\"} / RET",
                ),
                unit("b.mvasm", ".export h / RET / .data / h: .byte 0"),
            ],
            "a.mvasm: error: command handler 'h' must reference .text symbol\n",
        ),
    ];
    for (inputs, expected) in cases {
        assert_eq!(link_error(&inputs), expected);
    }
}

#[test]
fn command_handlers_resolve_across_modules() {
    let a = unit(
        "a.mvasm",
        ".extern h / .cmd {\"group\":1,\"id\":1,\"handler\":\"h\"} / RET",
    );
    let b = unit("b.mvasm", ".export h / RET / h: RET");
    assert_eq!(linked(&[a, b]).metadata.commands[0].handler_offset, 8);
}

#[test]
fn out_of_range_call_cites_the_source() {
    let a = unit(
        "a.mvasm",
        ".extern far, data / start:\n    CALL far / JMP data",
    );
    let b = unit(
        "b.mvasm",
        ".export far, data / .org 0x2000 / far: RET / .data / data: .byte 1",
    );
    let expected = std::fs::read_to_string("tests/data/link_call_range.err").unwrap();
    assert_eq!(link_error(&[a, b]), expected);
}

#[test]
fn objects_survive_json() {
    let a = unit(
        "a.mvasm",
        ".import f / .value {\"group\":1,\"id\":1,\"init\":1.5} / CALL f / RET",
    );
    let b = unit(
        "b.mvasm",
        ".export f / f: RET / .data / .align 4 / .ascii \"ok\"",
    );
    let direct = link(&[a.clone(), b.clone()], &LinkOptions::default())
        .unwrap()
        .image;
    let reread = |i: &LinkInput| {
        LinkInput::new(
            i.path.clone(),
            Object::from_json(&i.object.to_json()).unwrap(),
        )
    };
    let via_json = link(&[reread(&a), reread(&b)], &LinkOptions::default())
        .unwrap()
        .image;
    assert_eq!(direct, via_json);
}

#[test]
fn link_options_reach_the_header() {
    let opts = LinkOptions {
        app_name: "  demo  ".into(),
        allow_multiple: false,
        req_caps: 0x8000_0001,
        bss_size: 64,
    };
    let bytes = link(&[unit("a.mvasm", "RET")], &opts).unwrap().image;
    let image = Image::parse(&bytes).unwrap();
    assert_eq!(
        (image.app_name.as_deref(), image.allow_multiple()),
        (Some("demo"), false)
    );
    assert_eq!((image.req_caps, image.bss_size), (0x8000_0001, 64));
}

#[test]
fn prototype_objects_link() {
    // A prototype-style object: no local_symbols, no src, no rodata_align.
    let text = r#"{"version":1,"entry":0,"code":[16777216,620756992],
        "rodata":"","externs":[],"imports":[],
        "relocs":[{"type":"imm12","section":"code","index":0,"symbol":"end","kind":"symbol"}],
        "symbols":{"end":{"section":"text","offset":4}}}"#;
    let object = Object::from_json(text).unwrap();
    let image = linked(&[LinkInput::new("proto.hxo", object)]);
    assert_eq!(
        image.code_words().collect::<Vec<_>>(),
        [0x0100_0004, 0x2500_0000]
    );
}

mod arbitrary_objects {
    use hsx_asm::{LinkInput, LinkOptions, Object, RefKind, Reloc, RelocSection, RelocType, link};
    use proptest::prelude::*;

    fn reloc() -> impl Strategy<Value = Reloc> {
        let ty = prop::sample::select(vec![
            RelocType::Imm12,
            RelocType::Mem,
            RelocType::Jump,
            RelocType::Imm32,
            RelocType::DataWord,
            RelocType::DataHalf,
            RelocType::DataByte,
        ]);
        let kind = prop::sample::select(vec![
            RefKind::Symbol,
            RefKind::Lo16,
            RefKind::Hi16,
            RefKind::Off16,
            RefKind::Abs,
        ]);
        (
            ty,
            kind,
            any::<u32>(),
            "[ab]",
            any::<bool>(),
            any::<i64>(),
            any::<bool>(),
        )
            .prop_map(|(ty, kind, at, symbol, pc_relative, value, src)| Reloc {
                ty,
                section: if ty.section() == RelocSection::Code {
                    RelocSection::Code
                } else {
                    RelocSection::Rodata
                },
                index: Some(at % 24),
                offset: Some(at % 24),
                symbol,
                kind,
                pc_relative,
                value: Some(value),
                src: src.then(|| format!("x.mvasm:{}:{}", at % 5, at % 7)),
            })
    }

    fn object() -> impl Strategy<Value = Object> {
        (
            prop::collection::vec(any::<u32>(), 0..20),
            prop::collection::vec(any::<u8>(), 0..20),
            prop::collection::vec(reloc(), 0..6),
            any::<u32>(),
            0..3u32,
        )
            .prop_map(|(code, rodata, relocs, align, exports)| {
                let mut object = Object {
                    code,
                    rodata,
                    relocs,
                    rodata_align: align % 40,
                    ..Object::default()
                };
                for (i, name) in ["a", "b"].iter().take(exports as usize).enumerate() {
                    let symbol = hsx_asm::Symbol {
                        offset: i as u32 * 4,
                        ..Default::default()
                    };
                    object.symbols.insert(name.to_string(), symbol);
                }
                object
            })
    }

    proptest! {
        #[test]
        fn linking_arbitrary_objects_never_panics(objects in prop::collection::vec(object(), 1..4)) {
            let inputs: Vec<LinkInput> = objects
                .into_iter()
                .enumerate()
                .map(|(i, o)| LinkInput::new(format!("m{i}.hxo"), o))
                .collect();
            let _ = link(&inputs, &LinkOptions::default());
        }
    }
}
