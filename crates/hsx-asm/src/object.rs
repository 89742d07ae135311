//! The `.hxo` object file (`mvasm.md` §7): JSON, compatible with the Python prototype in
//! both directions. Readers accept any layout and supply defaults for missing keys.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

/// A JSON object, as metadata entries are kept.
pub type JsonObject = Map<String, Value>;

/// One assembled unit.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Object {
    /// Format version (1).
    pub version: u32,
    /// Entry byte offset in this unit's .text (0 if none).
    pub entry: u32,
    /// The `.entry` symbol, if the entry was given by name.
    pub entry_symbol: Option<String>,
    /// Code words; every reference field is 0 (relocations fill them).
    pub code: Vec<u32>,
    /// Rodata bytes (lower-case hex in JSON); every reference field is 0.
    #[serde(serialize_with = "hex_out", deserialize_with = "hex_in")]
    pub rodata: Vec<u8>,
    /// `.extern` names, sorted.
    pub externs: Vec<String>,
    /// `.import` names, sorted.
    pub imports: Vec<String>,
    /// Every reference of the unit.
    pub relocs: Vec<Reloc>,
    /// Exported symbols.
    pub symbols: BTreeMap<String, Symbol>,
    /// Every label of the unit.
    pub local_symbols: BTreeMap<String, LocalSymbol>,
    /// Normalised metadata entries.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<ObjectMetadata>,
    /// Largest `.align` of the unit (1 when absent).
    #[serde(skip_serializing_if = "is_one")]
    pub rodata_align: u32,
}

impl Default for Object {
    fn default() -> Object {
        Object {
            version: 1,
            entry: 0,
            entry_symbol: None,
            code: Vec::new(),
            rodata: Vec::new(),
            externs: Vec::new(),
            imports: Vec::new(),
            relocs: Vec::new(),
            symbols: BTreeMap::new(),
            local_symbols: BTreeMap::new(),
            metadata: None,
            rodata_align: 1,
        }
    }
}

fn is_one(value: &u32) -> bool {
    *value == 1
}

fn is_false(value: &bool) -> bool {
    !*value
}

fn hex_out<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
    let text: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    serializer.serialize_str(&text)
}

fn hex_in<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
    let text = Option::<String>::deserialize(deserializer)?.unwrap_or_default();
    let text = text.trim();
    if text.len() % 2 != 0 || !text.is_ascii() {
        return Err(serde::de::Error::custom(
            "rodata must be an even number of hex digits",
        ));
    }
    (0..text.len())
        .step_by(2)
        .map(|i| {
            u8::from_str_radix(&text[i..i + 2], 16)
                .map_err(|_| serde::de::Error::custom("rodata must be hex digits"))
        })
        .collect()
}

/// Section of a symbol.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum SymbolSection {
    /// Code: address = code offset.
    #[default]
    Text,
    /// Rodata: address = 0x4000 + offset.
    Data,
}

/// An exported symbol.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct Symbol {
    /// Section.
    pub section: SymbolSection,
    /// Offset in the unit's section.
    pub offset: u32,
}

/// A label of the unit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct LocalSymbol {
    /// Section.
    pub section: SymbolSection,
    /// Offset in the unit's section.
    pub offset: u32,
    /// Unit-relative address (`offset`, or 0x4000 + `offset` for data).
    pub abs_addr: u32,
}

/// What a relocation patches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum RelocType {
    /// LDI immediate (imm12).
    #[default]
    Imm12,
    /// Load/store offset (imm12).
    Mem,
    /// JMP/JZ/JNZ target (bits 15..0), or CALL word offset when `pc_relative`.
    Jump,
    /// LDI32 literal word (`index` = the literal).
    Imm32,
    /// 32-bit little-endian rodata field.
    DataWord,
    /// 16-bit little-endian rodata field.
    DataHalf,
    /// 8-bit rodata field.
    DataByte,
}

impl RelocType {
    /// Whether the relocation points into code (`index`) or rodata (`offset`).
    pub fn section(self) -> RelocSection {
        match self {
            RelocType::DataWord | RelocType::DataHalf | RelocType::DataByte => RelocSection::Rodata,
            _ => RelocSection::Code,
        }
    }
}

/// The section a relocation patches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum RelocSection {
    /// Code words.
    #[default]
    Code,
    /// Rodata bytes.
    Rodata,
}

/// How the value is derived from the symbol's address (`mvasm.md` §3.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum RefKind {
    /// The address.
    #[default]
    Symbol,
    /// address & 0xFFFF.
    Lo16,
    /// (address >> 16) & 0xFFFF.
    Hi16,
    /// address − 0x4000 (a .data symbol's offset in the final rodata).
    Off16,
    /// No symbol: the absolute address `value` (a numeric `CALL` target, which is
    /// pc-relative and so depends on where the module is placed). Not in the prototype.
    Abs,
}

/// One reference to patch at link time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct Reloc {
    /// Field kind.
    #[serde(rename = "type")]
    pub ty: RelocType,
    /// `code` or `rodata`.
    pub section: RelocSection,
    /// Word index in code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index: Option<u32>,
    /// Byte offset in rodata.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offset: Option<u32>,
    /// Referenced symbol (empty for `kind: abs`).
    pub symbol: String,
    /// Value form.
    pub kind: RefKind,
    /// CALL: the field holds (value − address of the CALL) / 4.
    #[serde(skip_serializing_if = "is_false")]
    pub pc_relative: bool,
    /// The absolute target of a `kind: abs` relocation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<i64>,
    /// Source location `file:line:col`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub src: Option<String>,
}

impl Reloc {
    /// The reference as written in the source, for messages: `name` or `lo16(name)`.
    pub fn reference_text(&self) -> String {
        match self.kind {
            RefKind::Symbol => self.symbol.clone(),
            RefKind::Lo16 => format!("lo16({})", self.symbol),
            RefKind::Hi16 => format!("hi16({})", self.symbol),
            RefKind::Off16 => format!("off16({})", self.symbol),
            RefKind::Abs => format!("0x{:X}", self.value.unwrap_or(0)),
        }
    }
}

/// Normalised metadata entries of a unit (`mvasm.md` §6).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct ObjectMetadata {
    /// `.value` entries.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<JsonObject>,
    /// `.cmd` entries.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub commands: Vec<JsonObject>,
    /// `.mailbox` entries.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub mailboxes: Vec<JsonObject>,
}

impl ObjectMetadata {
    /// True when there is no entry of any kind.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty() && self.commands.is_empty() && self.mailboxes.is_empty()
    }
}

/// A `.hxo` file that cannot be read.
#[derive(Debug, thiserror::Error)]
#[error("invalid object file: {0}")]
pub struct ObjectError(#[from] serde_json::Error);

impl Object {
    /// The object as `.hxo` text: JSON with 2-space indentation and a final newline.
    pub fn to_json(&self) -> String {
        // Serialising plain data with string keys cannot fail.
        let mut text = serde_json::to_string_pretty(self).unwrap_or_default();
        text.push('\n');
        text
    }

    /// Read `.hxo` text (any JSON layout; missing keys take their defaults).
    pub fn from_json(text: &str) -> Result<Object, ObjectError> {
        Ok(serde_json::from_str(text)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_keys_take_defaults() {
        let object = Object::from_json(r#"{"code":[620756992]}"#).unwrap();
        assert_eq!(object.code, [0x2500_0000]);
        assert_eq!(object.version, 1);
        assert_eq!(object.rodata_align, 1);
        assert!(object.relocs.is_empty());
    }

    #[test]
    fn round_trips_through_json() {
        let mut object = Object {
            code: vec![1, 2],
            rodata: vec![0xAB, 0x01],
            ..Object::default()
        };
        object.relocs.push(Reloc {
            ty: RelocType::DataHalf,
            section: RelocSection::Rodata,
            offset: Some(0),
            symbol: "x".into(),
            src: Some("a.mvasm:1:7".into()),
            ..Reloc::default()
        });
        let text = object.to_json();
        assert!(text.contains("\"rodata\": \"ab01\""));
        assert!(text.ends_with("}\n"));
        assert!(!text.contains("pc_relative"));
        assert_eq!(Object::from_json(&text).unwrap(), object);
    }

    #[test]
    fn bad_hex_is_an_error() {
        assert!(Object::from_json(r#"{"rodata":"abc"}"#).is_err());
        assert!(Object::from_json(r#"{"rodata":"zz"}"#).is_err());
    }
}
