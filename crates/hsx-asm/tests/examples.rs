//! The encoding examples of `mvasm.md` §11 (` / ` separates source lines), plus the
//! forms §1–§4 accept.

use hsx_asm::{AsmOptions, Object, SymbolSection, assemble_source, assemble_source_to_hxe};
use hsx_image::Image;

fn source(text: &str) -> String {
    text.split(" / ").collect::<Vec<_>>().join("\n")
}

/// Assemble and link a single unit; returns the image.
fn build(text: &str) -> Image {
    let bytes = assemble_source_to_hxe("t.mvasm", &source(text), &AsmOptions::default(), "t")
        .unwrap_or_else(|d| panic!("{text}:\n{d}"));
    Image::parse(&bytes).unwrap()
}

fn object(text: &str) -> Object {
    assemble_source("t.mvasm", &source(text), &AsmOptions::default())
        .unwrap_or_else(|d| panic!("{text}:\n{d}"))
}

fn words(text: &str) -> Vec<u32> {
    build(text).code_words().collect()
}

fn fails(text: &str) -> String {
    match assemble_source_to_hxe("t.mvasm", &source(text), &AsmOptions::default(), "t") {
        Ok(_) => panic!("{text} assembled"),
        Err(d) => d.to_string(),
    }
}

#[test]
fn instruction_encodings() {
    let cases: &[(&str, &[u32])] = &[
        (
            "ADC R2, R3, R4 / SBC R5, R6, R7",
            &[0x3423_4000, 0x3556_7000],
        ),
        ("BRK / BRK 5", &[0x7F00_0000, 0x7F00_0005]),
        ("PUSH R1 / POP R2", &[0x4001_0000, 0x4120_0000]),
        ("SVC 0x05, 0x02", &[0x3000_0502]),
        ("SVC MOD=0x5, FN=0x2", &[0x3000_0502]),
        ("SVC mod=5 fn=2", &[0x3000_0502]),
        ("SVC FN=2 MOD = 5", &[0x3000_0502]),
        ("SVC 0x502", &[0x3000_0502]),
        ("SVC / SVC fn=3", &[0x3000_0000, 0x3000_0003]),
        ("main: LDI R1, 5", &[0x0110_0005]),
        (
            "LD R1, [R2 - 4] / LD R1, [R2+-4] / LD R1,[R2-4]",
            &[0x0212_0FFC; 3],
        ),
        ("LD R1, [R2]", &[0x0212_0000]),
        ("JMP 0x1004", &[0x2100_1004]),
        ("ADD R1 R2 R3 / add r1, r2, r3", &[0x1012_3000; 2]),
        (
            "loop: a: ADD R1, R1, R2 / JNZ loop / JZ a",
            &[0x1011_2000, 0x2300_0000, 0x2200_0000],
        ),
        (
            "ST [R7+-4], R3 / STB [R1 + 4], R3 / STH [R1], R2",
            &[0x0307_3FFC, 0x0801_3004, 0x0901_2000],
        ),
        (
            "CMP R1, R2 / MOV R4, R5 / NOT R2, R1 / I2F R3, R1 / F2I R3, R1",
            &[
                0x2001_2000,
                0x0445_0000,
                0x1721_0000,
                0x5431_0000,
                0x5531_0000,
            ],
        ),
        (
            "LDI R6, -2048 / LDI R5, 0x7FF / LDI R1, 'A'",
            &[0x0160_0800, 0x0150_07FF, 0x0110_0041],
        ),
        (
            "LDI32 R1, -1 / LDI32 R2, 0xFFFFFFFF",
            &[0x6010_0000, 0xFFFF_FFFF, 0x6020_0000, 0xFFFF_FFFF],
        ),
        (
            "LDI R3, 8 / CALL R3, 4 / CALL R3 / CALL R1, -8192",
            &[0x0130_0008, 0x2403_0001, 0x2403_0000, 0x2401_0800],
        ),
        (
            "prologue: LDI R2, 7 / RET / .entry main / main: CALL prologue / RET",
            &[0x0120_0007, 0x2500_0000, 0x2400_0FFE, 0x2500_0000],
        ),
        (
            "CALL 0x8 / RET / RET",
            &[0x2400_0002, 0x2500_0000, 0x2500_0000],
        ),
        (
            "RET / .org 0x10 / RET",
            &[0x2500_0000, 0, 0, 0, 0x2500_0000],
        ),
        (
            ".word 0x05000000, -1 / RET",
            &[0x0500_0000, 0xFFFF_FFFF, 0x2500_0000],
        ),
        (
            "x: LDI R1, lo16(x) / LDI R2, hi16(x) / LDI R3, x ; c",
            &[0x0110_0000, 0x0120_0000, 0x0130_0000],
        ),
    ];
    for (text, expected) in cases {
        assert_eq!(&words(text), expected, "{text}");
    }
}

#[test]
fn call_and_data_program() {
    let text = ".data / msg: .asciz \"hi\" / table: .word msg / .text / .entry start / start: LDI32 R1, msg / CALL foo / JMP start / foo: RET";
    let image = build(text);
    assert_eq!(
        image.code_words().collect::<Vec<_>>(),
        [
            0x6010_0000,
            0x0000_4000,
            0x2400_0002,
            0x2100_0000,
            0x2500_0000
        ]
    );
    assert_eq!(image.rodata, [0x68, 0x69, 0x00, 0x00, 0x40, 0x00, 0x00]);
    assert_eq!(image.entry, 0);
}

#[test]
fn data_examples() {
    let cases: &[(&str, &[u8])] = &[
        (
            ".data / prefix: .byte 0 / label: .word label",
            &[0x00, 0x01, 0x40, 0x00, 0x00],
        ),
        (".data / .half 0x3C00, 0x0001", &[0x00, 0x3C, 0x01, 0x00]),
        (".data / .hword -1", &[0xFF, 0xFF]),
        (
            ".data / .asciz \"a\\nb;c\"",
            &[0x61, 0x0A, 0x62, 0x3B, 0x63, 0x00],
        ),
        (".data / .byte '\\n', \"\\x41Z\"", &[0x0A, 0x41, 0x5A]),
        (".data / .byte ';', -128 ; comment", &[0x3B, 0x80]),
        (".data / .ascii 'é' / .string \"\"", &[0xC3, 0xA9, 0x00]),
        (
            ".data / .byte 1 / .align 4 / .zero 2 / .word -2147483648",
            &[1, 0, 0, 0, 0, 0, 0, 0, 0, 0x80],
        ),
        (
            ".data / a: .byte 1 / b: .half lo16(b), off16(b) / .byte a",
            &[1, 1, 0x40, 1, 0, 0],
        ),
    ];
    for (text, expected) in cases {
        assert_eq!(
            &build(&format!(".text / RET / {text}")).rodata,
            expected,
            "{text}"
        );
    }
}

#[test]
fn off16_gives_the_rodata_offset() {
    let image = build(".data / .byte 0xAA / target: .byte 0xBB / .text / LDI R4, off16(target)");
    assert_eq!(image.code_words().collect::<Vec<_>>(), [0x0140_0001]);
}

#[test]
fn labels_and_symbols_in_objects() {
    let o = object("main: LDI R1, 5 / .data / d: .byte 1 / .export d");
    assert_eq!(o.local_symbols["main"].offset, 0);
    assert_eq!(o.local_symbols["d"].abs_addr, 0x4000);
    assert_eq!(o.symbols["d"].section, SymbolSection::Data);
    assert!(!o.symbols.contains_key("main"));
    let o = object(".extern a, b / .import c / a: RET / .entry a / JMP b / CALL c");
    assert_eq!(o.externs, ["a", "b"]);
    assert_eq!(o.imports, ["c"]);
    assert_eq!(o.entry_symbol.as_deref(), Some("a"));
    assert!(o.symbols.contains_key("a"));
    assert_eq!(o.relocs.len(), 2);
    assert!(o.relocs.iter().all(|r| r.src.is_some()));
    assert_eq!(
        o.code,
        [0x2500_0000, 0x2100_0000, 0x2400_0000],
        "reference fields are zero"
    );
}

#[test]
fn entry_forms() {
    assert_eq!(build("RET / .entry / RET").entry, 4);
    assert_eq!(build(".entry 8 / RET / RET / RET").entry, 8);
    assert_eq!(build("RET / .entry s / s: RET").entry, 4);
}

#[test]
fn multi_line_metadata() {
    let text = ".value [ ; values\n {\"group\": 1, \"id\": 1, \"name\": \"a;b\"},\n {\"group\": 1, \"id\": 0} ] ; done\nRET";
    let o = assemble_source("t.mvasm", text, &AsmOptions::default()).unwrap();
    let values = &o.metadata.unwrap().values;
    assert_eq!(values.len(), 2);
    assert_eq!(values[0]["name"], "a;b");
    assert_eq!(o.code, [0x2500_0000]);
}

#[test]
fn spec_error_examples() {
    let cases = [
        ("BRK 300", "BRK immediate must be in range 0..255"),
        (
            ".data / msg: .byte 1 / .text / LDI R2, msg",
            "value 0x4000 of 'msg' does not fit LDI's signed 12-bit immediate; use LDI32",
        ),
        ("JZ R1, x / x: RET", "JZ takes a single target operand"),
        ("ADD R1, R16, R2", "Bad register 'R16'"),
        ("dup: RET / dup: RET", "Duplicate label: dup"),
        ("NOP", "Unknown mnemonic: NOP"),
        (".textual", "Unknown directive: .textual"),
        ("RET / .entry 2", ".entry offset must be a multiple of 4"),
        (".org 6", ".org offset must be a multiple of 4: 6"),
        ("LDI32 R1, 0x100000000", "Immediate out of 32-bit range"),
        (".data / .byte 256", "Value out of range for .byte: 256"),
        (".data / .half 65536", "Value out of range for .half: 65536"),
        (".data / .align 3", ".align expects a power of two"),
        (
            ".data / .ascii \"a\", \"b\"",
            "Unexpected operand '\"b\"' for .ascii",
        ),
        ("CALL R0", "CALL base register must be R1..R15"),
        ("CALL R1, 6", "CALL offset must be a multiple of 4"),
        ("SVC 16, 0", "SVC module must be in range 0..15: 16"),
        ("SVC 1, 256", "SVC function must be in range 0..255: 256"),
        ("SVC 0x1000", "SVC immediate must be in range 0..0xFFF"),
        ("SVC mod=1 mod=2", "Duplicate SVC key 'mod'"),
        ("LD R1, [R2-x] / x: RET", "A reference cannot be subtracted"),
        ("R1: RET", "Bad label name 'R1'"),
        (".text extra", "Unexpected operand 'extra' for .text"),
        (".word x / x: RET", ".word in .text takes numbers only"),
        (".data / .zero -1", ".zero expects a non-negative count: -1"),
        (".data / .entry", ".entry is only valid in .text"),
        ("LDI R1, 1_", "Invalid number '1_'"),
        ("ADD R1,,R2, R3", "Missing operand before ','"),
        (
            ".value {\"group\":1,\"id\":1} x",
            "Unexpected text after JSON payload: 'x'",
        ),
        (
            ".value {\"group\":1,\"id\":1} / .value {\"group\":1,\"value\":1}",
            "duplicate value metadata entry for (1,1)",
        ),
    ];
    for (text, message) in cases {
        let rendered = fails(text);
        assert!(rendered.contains(message), "{text}: {rendered}");
        assert!(rendered.starts_with("t.mvasm:"), "{rendered}");
    }
}

#[test]
fn errors_are_reported_in_source_order_up_to_fifty() {
    let text: String = (0..80).map(|i| format!("NOP{i}\n")).collect();
    let diags = assemble_source("t.mvasm", &text, &AsmOptions::default()).unwrap_err();
    assert_eq!(diags.len(), 50);
    let lines: Vec<u32> = diags
        .iter()
        .map(|d| d.location.as_ref().unwrap().line)
        .collect();
    assert!(lines.windows(2).all(|w| w[0] < w[1]));
}
