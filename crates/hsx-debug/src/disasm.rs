//! Disassembly of a task's code image (`tools.md` §6): big-endian words decoded by the
//! decoder shared with `hsx disasm`, annotated with symbols and source lines.

use hsx_isa::{Form, Insn};
use serde_json::{Value, json};

use crate::symbols::SymbolTable;

/// One disassembled instruction (the protocol's `instructions[]` entry).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisasmLine {
    /// Position in the listing.
    pub index: usize,
    /// Code address.
    pub pc: u32,
    /// Bytes it occupies (8 for LDI32).
    pub size: u32,
    /// First word.
    pub word: u32,
    /// Mnemonic, or `.word` for an undecodable word.
    pub mnemonic: String,
    /// Operands as MVASM text.
    pub operands: String,
    /// Register fields.
    pub rd: u8,
    /// Register fields.
    pub rs1: u8,
    /// Register fields.
    pub rs2: u8,
    /// Sign-extended 12-bit immediate.
    pub imm: i32,
    /// Raw 12-bit immediate field.
    pub imm_raw: u32,
    /// LDI32's literal word.
    pub extended_word: Option<u32>,
    /// Branch target of JMP/JZ/JNZ and pc-relative CALL.
    pub target: Option<u32>,
    /// Symbol naming the target.
    pub target_symbol: Option<String>,
    /// Containing function (`name+0xOFF`).
    pub symbol: Option<String>,
    /// Exact label or function at this address.
    pub label: Option<String>,
    /// Source line `{address, file, line}`.
    pub line: Option<Value>,
}

impl DisasmLine {
    /// The instruction as `MNEMONIC operands`.
    pub fn text(&self) -> String {
        if self.operands.is_empty() {
            self.mnemonic.clone()
        } else {
            format!("{} {}", self.mnemonic, self.operands)
        }
    }

    /// The protocol object.
    pub fn to_json(&self) -> Value {
        let mut bytes = format!("{:08X}", self.word);
        if let Some(w) = self.extended_word {
            bytes.push_str(&format!("{w:08X}"));
        }
        let mut v = json!({
            "index": self.index,
            "pc": self.pc,
            "size": self.size,
            "word": self.word,
            "mnemonic": self.mnemonic,
            "rd": self.rd,
            "rs1": self.rs1,
            "rs2": self.rs2,
            "imm": self.imm,
            "imm_raw": self.imm_raw,
            "operands": self.operands,
            "text": self.text(),
            "bytes": bytes,
        });
        let obj = v.as_object_mut().expect("object literal");
        let mut put = |k: &str, val: Option<Value>| {
            if let Some(val) = val {
                obj.insert(k.into(), val);
            }
        };
        put("extended_word", self.extended_word.map(Value::from));
        put("target", self.target.map(Value::from));
        put("target_symbol", self.target_symbol.clone().map(Value::from));
        put("symbol", self.symbol.clone().map(Value::from));
        put("label", self.label.clone().map(Value::from));
        put("line", self.line.clone());
        v
    }
}

/// Result of [`disassemble`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Listing {
    /// The instructions.
    pub instructions: Vec<DisasmLine>,
    /// The listing stopped at the end of the code.
    pub truncated: bool,
    /// Code bytes consumed.
    pub bytes_read: u32,
}

fn be_word(code: &[u8], at: u32) -> Option<u32> {
    let at = usize::try_from(at).ok()?;
    let b = code.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

/// Disassemble up to `count` instructions of `code` (big-endian words) from `start`,
/// annotating with `symbols` when given. An unaligned start or reading past the end of
/// the code sets `truncated`.
pub fn disassemble(
    code: &[u8],
    start: u32,
    count: usize,
    symbols: Option<&SymbolTable>,
) -> Listing {
    let mut out = Listing::default();
    let mut pc = start;
    if !start.is_multiple_of(4) {
        out.truncated = true;
        return out;
    }
    while out.instructions.len() < count {
        let Some(word) = be_word(code, pc) else {
            out.truncated = true;
            break;
        };
        let w = hsx_isa::Word(word);
        let mut line = DisasmLine {
            index: out.instructions.len(),
            pc,
            size: 4,
            word,
            mnemonic: ".word".into(),
            operands: format!("0x{word:08X}"),
            rd: w.rd(),
            rs1: w.rs1(),
            rs2: w.rs2(),
            imm: w.simm12(),
            imm_raw: w.imm12(),
            extended_word: None,
            target: None,
            target_symbol: None,
            symbol: None,
            label: None,
            line: None,
        };
        if let Some(Ok(insn)) = Insn::decode_in(code, pc) {
            let label = |t: u32| symbols.and_then(|s| s.label_at(t)).map(|s| s.name.clone());
            let text = insn.display_with(pc, label).to_string();
            let (mnemonic, operands) = text.split_once(' ').unwrap_or((text.as_str(), ""));
            line.mnemonic = mnemonic.to_owned();
            line.operands = operands.to_owned();
            line.size = insn.size();
            if insn.op.form() == Form::Ldi32 {
                line.extended_word = Some(insn.literal);
            }
            line.target = insn.branch_target(pc);
            line.target_symbol = line
                .target
                .and_then(|t| symbols.and_then(|s| s.describe(t)));
        }
        if let Some(s) = symbols {
            line.symbol = s.describe(pc);
            line.label = s.label_at(pc).map(|l| l.name.clone());
            line.line = s.line_at(pc).map(SymbolTable::line_json);
        }
        out.bytes_read += line.size;
        pc = pc.saturating_add(line.size);
        out.instructions.push(line);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use hsx_isa::encode;
    use std::path::Path;

    fn code(words: &[u32]) -> Vec<u8> {
        words.iter().flat_map(|w| w.to_be_bytes()).collect()
    }

    #[test]
    fn decodes_with_ldi32_spanning_two_words() {
        let c = code(&[encode::ldi32(1), 0x4000, 0x0110_0010, 0x0500_0000]);
        let l = disassemble(&c, 0, 8, None);
        assert_eq!(l.instructions.len(), 3);
        assert!(l.truncated);
        assert_eq!(l.instructions[0].size, 8);
        assert_eq!(l.instructions[0].extended_word, Some(0x4000));
        assert_eq!(l.instructions[0].text(), "LDI32 R1, 0x00004000");
        assert_eq!(l.instructions[1].pc, 8);
        assert_eq!(l.instructions[1].text(), "LDI R1, 16");
        assert_eq!(l.instructions[2].mnemonic, ".word");
        assert_eq!(l.bytes_read, 16);
    }

    #[test]
    fn annotates_targets_and_labels() {
        let sym = SymbolTable::parse(
            r#"{"symbols": {"labels": {"0x0000": ["start"], "0x0004": ["loop"]}},
                "instructions": [{"pc": 4, "file": "a.mvasm", "line": 3}]}"#,
            Path::new("a.sym"),
        )
        .unwrap();
        let c = code(&[0x0110_0010, 0x2300_0004]);
        let l = disassemble(&c, 4, 1, Some(&sym));
        let i = &l.instructions[0];
        assert_eq!(i.text(), "JNZ loop");
        assert_eq!(i.target, Some(4));
        assert_eq!(i.target_symbol.as_deref(), Some("loop"));
        assert_eq!(i.label.as_deref(), Some("loop"));
        assert_eq!(i.line.as_ref().unwrap()["line"], 3);
        assert!(!l.truncated);
    }

    #[test]
    fn unaligned_or_past_end_is_truncated() {
        let c = code(&[0x0110_0010]);
        assert!(disassemble(&c, 2, 1, None).truncated);
        assert!(disassemble(&c, 4, 1, None).truncated);
        assert!(disassemble(&c, u32::MAX - 3, 1, None).truncated);
    }
}
