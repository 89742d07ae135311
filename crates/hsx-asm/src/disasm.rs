//! The disassembler (`mvasm.md` §10): MVASM text that assembles and links back to the
//! image, and the non-reassemblable `--listing` form.

use std::collections::BTreeSet;
use std::fmt::Write;

use hsx_image::{CommandMeta, Image, ValueMeta, canonical_json};
use hsx_isa::{Insn, NotAnInsn, Opcode};
use serde_json::{Map, Value};

/// Column (1-based) where instruction comments start.
const COMMENT_COLUMN: usize = 33;

/// One decoded position of the code.
struct Decoded {
    pc: u32,
    word: u32,
    insn: Result<Insn, NotAnInsn>,
}

/// Decode the code words in order; LDI32 takes its literal, undecodable words take one.
fn decode(words: &[u32]) -> Vec<Decoded> {
    let mut out = Vec::with_capacity(words.len());
    let mut i = 0;
    while i < words.len() {
        let pc = (i * 4) as u32;
        let insn = Insn::decode(words[i], words.get(i + 1).copied(), pc);
        let size = match &insn {
            Ok(insn) => (insn.size() / 4) as usize,
            Err(_) => 1,
        };
        out.push(Decoded {
            pc,
            word: words[i],
            insn,
        });
        i += size;
    }
    out
}

/// `text` padded so that `comment` starts in column 33 (one space if `text` is longer).
fn with_comment(out: &mut String, text: &str, comment: &str) {
    let width = text.chars().count();
    let pad = if width < COMMENT_COLUMN - 1 {
        COMMENT_COLUMN - 1 - width
    } else {
        1
    };
    let _ = writeln!(out, "{text}{:pad$}{comment}", "");
}

fn label(addr: u32) -> String {
    format!("L_{addr:04X}")
}

/// Disassemble a loaded image into MVASM that reproduces it (`mvasm.md` §10).
pub fn disassemble(image: &Image) -> String {
    let words: Vec<u32> = image.code_words().collect();
    let decoded = decode(&words);
    let starts: BTreeSet<u32> = decoded.iter().map(|d| d.pc).collect();
    let mut labels: BTreeSet<u32> = BTreeSet::new();
    if starts.contains(&image.entry) {
        labels.insert(image.entry);
    }
    for d in &decoded {
        let target = d.insn.as_ref().ok().and_then(|i| i.branch_target(d.pc));
        if let Some(target) = target.filter(|t| starts.contains(t)) {
            labels.insert(target);
        }
    }

    let mut out = String::new();
    let app_name = canonical_json(&Value::from(image.app_name.clone().unwrap_or_default()));
    let _ = writeln!(
        out,
        "; hsx disassembly version={} entry=0x{:08X} code_len={} ro_len={} bss_size={} flags=0x{:04X} req_caps=0x{:08X} app_name={} crc=0x{:08X}",
        image.version,
        image.entry,
        image.code.len(),
        image.rodata.len(),
        image.bss_size,
        image.flags,
        image.req_caps,
        app_name,
        image.crc32
    );
    out.push_str(".text\n");
    if labels.contains(&image.entry) {
        let _ = writeln!(out, ".entry {}", label(image.entry));
    } else {
        let _ = writeln!(out, ".entry 0x{:04X}", image.entry);
    }
    for d in &decoded {
        if labels.contains(&d.pc) {
            let _ = writeln!(out, "{}:", label(d.pc));
        }
        let (text, comment) = match &d.insn {
            Ok(insn) => {
                let name = |t: u32| labels.contains(&t).then(|| label(t));
                let text = insn.display_with(d.pc, name).to_string();
                let comment = if insn.op == Opcode::Ldi32 {
                    format!("; {:04X}: {:08X} {:08X}", d.pc, d.word, insn.literal)
                } else {
                    format!("; {:04X}: {:08X}", d.pc, d.word)
                };
                (text, comment)
            }
            Err(_) => (
                format!(".word 0x{:08X}", d.word),
                format!("; {:04X}: {:08X}", d.pc, d.word),
            ),
        };
        with_comment(&mut out, &format!("    {text}"), &comment);
    }
    if !image.rodata.is_empty() {
        out.push_str(".data\n");
        for (row, chunk) in image.rodata.chunks(16).enumerate() {
            let bytes: Vec<String> = chunk.iter().map(|b| format!("0x{b:02X}")).collect();
            let text = format!("    .byte {}", bytes.join(", "));
            with_comment(&mut out, &text, &format!("; 0x{:04X}", 0x4000 + row * 16));
        }
    }
    for v in &image.metadata.values {
        let _ = writeln!(out, ".value {}", canonical_json(&value_json(v)));
    }
    for c in &image.metadata.commands {
        let _ = writeln!(out, ".cmd {}", canonical_json(&command_json(c)));
    }
    for m in &image.metadata.mailboxes {
        let _ = writeln!(
            out,
            ".mailbox {}",
            canonical_json(&Value::Object(m.source.clone()))
        );
    }
    out
}

fn put_text(map: &mut Map<String, Value>, key: &str, text: &Option<String>) {
    if let Some(text) = text {
        map.insert(key.into(), Value::from(text.as_str()));
    }
}

fn value_json(v: &ValueMeta) -> Value {
    let mut map = Map::new();
    for (key, n) in [
        ("group", u32::from(v.group)),
        ("id", u32::from(v.id)),
        ("flags", u32::from(v.flags)),
        ("auth", u32::from(v.auth)),
        ("init_raw", u32::from(v.init)),
        ("epsilon_raw", u32::from(v.epsilon)),
        ("min_raw", u32::from(v.min)),
        ("max_raw", u32::from(v.max)),
        ("persist_key", u32::from(v.persist_key)),
    ] {
        map.insert(key.into(), Value::from(n));
    }
    put_text(&mut map, "name", &v.name);
    put_text(&mut map, "unit", &v.unit);
    put_text(&mut map, "group_name", &v.group_name);
    Value::Object(map)
}

fn command_json(c: &CommandMeta) -> Value {
    let mut map = Map::new();
    for (key, n) in [
        ("group", u32::from(c.group)),
        ("id", u32::from(c.id)),
        ("flags", u32::from(c.flags)),
        ("auth", u32::from(c.auth)),
        ("handler_offset", c.handler_offset),
    ] {
        map.insert(key.into(), Value::from(n));
    }
    put_text(&mut map, "name", &c.name);
    put_text(&mut map, "help", &c.help);
    put_text(&mut map, "group_name", &c.group_name);
    if c.reserved != 0 {
        map.insert("reserved".into(), Value::from(c.reserved));
    }
    Value::Object(map)
}

/// The `--listing` form: `0x003C  01100010  LDI R1, 16` per instruction (LDI32's
/// literal on its own line), numeric targets, undecodable words as `.word`. Not meant to
/// be reassembled.
pub fn disassemble_listing(image: &Image) -> String {
    let words: Vec<u32> = image.code_words().collect();
    let mut out = String::new();
    for d in decode(&words) {
        match &d.insn {
            Ok(insn) => {
                let _ = writeln!(
                    out,
                    "0x{:04X}  {:08X}  {}",
                    d.pc,
                    d.word,
                    insn.display(d.pc)
                );
                if insn.op == Opcode::Ldi32 {
                    let _ = writeln!(out, "0x{:04X}  {:08X}", d.pc + 4, insn.literal);
                }
            }
            Err(_) => {
                let _ = writeln!(
                    out,
                    "0x{:04X}  {:08X}  .word 0x{:08X}",
                    d.pc, d.word, d.word
                );
            }
        }
    }
    out
}
