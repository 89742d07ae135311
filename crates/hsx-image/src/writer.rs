//! The image writer (`hxe.md` §6) and the application-name rule (§7.1).

use std::collections::{BTreeSet, HashMap};

use serde_json::{Map, Value};

use crate::error::WriteError;
use crate::header::compute_crc;
use crate::json::canonical_json;
use crate::metadata::{CommandMeta, ValueMeta};
use crate::{
    COMMAND_ENTRY_SIZE, HEADER_V1, HEADER_V2, MAGIC, META_ENTRY_SIZE, VALUE_ENTRY_SIZE, flags,
    section_kind,
};

/// Offset of the CRC field in the header.
const CRC_AT: usize = 0x1C;

/// Everything [`write_hxe`] needs to write a version-2 image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteInput {
    /// Code words (written big-endian).
    pub code: Vec<u32>,
    /// Byte offset of the first instruction.
    pub entry: u32,
    /// Rodata bytes (written unpadded).
    pub rodata: Vec<u8>,
    /// Bytes of zeroed memory after rodata.
    pub bss_size: u32,
    /// Required-capability mask (all 32 bits are stored).
    pub req_caps: u32,
    /// The requested application name; the writer applies `hxe.md` §7.1
    /// ([`normalize_app_name`]).
    pub app_name: String,
    /// Set the ALLOW_MULTIPLE flag (default `true`).
    pub allow_multiple: bool,
    /// Value declarations, in any order (written sorted by (group, id)).
    pub values: Vec<ValueMeta>,
    /// Command declarations, in any order (written sorted by (group, id)). Only the low
    /// 16 bits of `reserved` are stored.
    pub commands: Vec<CommandMeta>,
    /// Mailbox source objects. Each needs a non-empty `target` string (else `name`);
    /// the writer trims `target`, sorts the entries by target and keeps every other key.
    pub mailboxes: Vec<Map<String, Value>>,
}

impl Default for WriteInput {
    fn default() -> Self {
        WriteInput {
            code: Vec::new(),
            entry: 0,
            rodata: Vec::new(),
            bss_size: 0,
            req_caps: 0,
            app_name: String::new(),
            allow_multiple: true,
            values: Vec::new(),
            commands: Vec::new(),
            mailboxes: Vec::new(),
        }
    }
}

/// The 32-byte `app_name` field for a requested name (`hxe.md` §7.1): trim whitespace,
/// keep the first 31 characters, drop the non-ASCII ones, NUL-pad.
pub fn normalize_app_name(requested: &str) -> [u8; 32] {
    let mut field = [0u8; 32];
    let kept = requested.trim().chars().take(31).filter(char::is_ascii);
    for (slot, c) in field.iter_mut().zip(kept) {
        // ASCII characters are single bytes.
        *slot = c as u8;
    }
    field
}

/// Write a version-2 image per `hxe.md` §6.
///
/// The writer does not apply the loader's range checks (code size, entry inside code,
/// …): it faithfully writes what it is given and the loader reports such images. It
/// fails only for duplicate metadata and for input the format cannot represent.
pub fn write_hxe(input: &WriteInput) -> Result<Vec<u8>, WriteError> {
    let code_len = byte_len(input.code.len(), 4, "code")?;
    let ro_len = byte_len(input.rodata.len(), 1, "rodata")?;

    let mut sections: Vec<(u32, u32, Vec<u8>)> = Vec::new();
    if !input.values.is_empty() {
        let (count, bytes) = value_section(&input.values)?;
        sections.push((section_kind::VALUE, count, bytes));
    }
    if !input.commands.is_empty() {
        let (count, bytes) = command_section(&input.commands)?;
        sections.push((section_kind::COMMAND, count, bytes));
    }
    if !input.mailboxes.is_empty() {
        let (count, bytes) = mailbox_section(&input.mailboxes)?;
        sections.push((section_kind::MAILBOX, count, bytes));
    }

    // Offsets in u64: each one must fit its u32 field.
    let too_large = || WriteError::TooLarge { what: "metadata" };
    let field = |at: u64| u32::try_from(at).map_err(|_| too_large());
    let ro_end = HEADER_V2 as u64 + u64::from(code_len) + u64::from(ro_len);
    let (meta_offset, meta_count) = match sections.len() {
        0 => (0, 0),
        n => (field(ro_end)?, n as u32),
    };

    let mut out = header(2, flags_for(input.allow_multiple), input, code_len, ro_len);
    out[0x20..0x40].copy_from_slice(&normalize_app_name(&input.app_name));
    out[0x40..0x44].copy_from_slice(&meta_offset.to_be_bytes());
    out[0x44..0x48].copy_from_slice(&meta_count.to_be_bytes());
    // 0x48..0x60 stay zero (reserved).
    push_code(&mut out, &input.code, &input.rodata);

    let mut section_at = ro_end + (sections.len() * META_ENTRY_SIZE) as u64;
    for (kind, count, bytes) in &sections {
        let size = bytes.len() as u64;
        // The section must also end within the 32-bit range the loader checks against.
        field(section_at + size)?;
        out.extend_from_slice(&kind.to_be_bytes());
        out.extend_from_slice(&field(section_at)?.to_be_bytes());
        out.extend_from_slice(&field(size)?.to_be_bytes());
        out.extend_from_slice(&count.to_be_bytes());
        section_at += size;
    }
    for (_, _, bytes) in &sections {
        out.extend_from_slice(bytes);
    }

    finish(&mut out, HEADER_V2);
    Ok(out)
}

/// Write a version-1 image (header, code, rodata, CRC) — for tests and compatibility
/// checks; the toolchain writes version 2 only. Lengths beyond the 32-bit header fields
/// saturate, giving a file the loader rejects.
pub fn write_hxe_v1(
    code: &[u32],
    entry: u32,
    rodata: &[u8],
    bss_size: u32,
    req_caps: u32,
) -> Vec<u8> {
    let fields = WriteInput {
        entry,
        bss_size,
        req_caps,
        ..WriteInput::default()
    };
    let code_len = byte_len(code.len(), 4, "code").unwrap_or(u32::MAX);
    let ro_len = byte_len(rodata.len(), 1, "rodata").unwrap_or(u32::MAX);
    let mut out = header(1, 0, &fields, code_len, ro_len);
    push_code(&mut out, code, rodata);
    finish(&mut out, HEADER_V1);
    out
}

fn flags_for(allow_multiple: bool) -> u16 {
    if allow_multiple {
        flags::ALLOW_MULTIPLE
    } else {
        0
    }
}

/// `count × unit` as a u32 header field.
fn byte_len(count: usize, unit: usize, what: &'static str) -> Result<u32, WriteError> {
    count
        .checked_mul(unit)
        .and_then(|n| u32::try_from(n).ok())
        .ok_or(WriteError::TooLarge { what })
}

/// A zeroed header of the version's size with the fixed fields filled in (CRC still 0).
fn header(version: u16, flags: u16, input: &WriteInput, code_len: u32, ro_len: u32) -> Vec<u8> {
    let size = if version == 2 { HEADER_V2 } else { HEADER_V1 };
    let mut out = vec![0u8; size];
    out[0x00..0x04].copy_from_slice(&MAGIC.to_be_bytes());
    out[0x04..0x06].copy_from_slice(&version.to_be_bytes());
    out[0x06..0x08].copy_from_slice(&flags.to_be_bytes());
    out[0x08..0x0C].copy_from_slice(&input.entry.to_be_bytes());
    out[0x0C..0x10].copy_from_slice(&code_len.to_be_bytes());
    out[0x10..0x14].copy_from_slice(&ro_len.to_be_bytes());
    out[0x14..0x18].copy_from_slice(&input.bss_size.to_be_bytes());
    out[0x18..0x1C].copy_from_slice(&input.req_caps.to_be_bytes());
    out
}

fn push_code(out: &mut Vec<u8>, code: &[u32], rodata: &[u8]) {
    out.reserve(code.len() * 4 + rodata.len());
    for word in code {
        out.extend_from_slice(&word.to_be_bytes());
    }
    out.extend_from_slice(rodata);
}

/// Store the CRC (`hxe.md` §3), last.
fn finish(out: &mut [u8], header_size: usize) {
    let crc = compute_crc(out, header_size);
    out[CRC_AT..CRC_AT + 4].copy_from_slice(&crc.to_be_bytes());
}

/// The string area of one section (`hxe.md` §6 rule 6).
struct Strings {
    /// Section offset of the first string byte (the size of the entry table).
    base: usize,
    area: Vec<u8>,
    offsets: HashMap<String, u16>,
    section: &'static str,
}

impl Strings {
    fn new(base: usize, section: &'static str) -> Strings {
        Strings {
            base,
            area: Vec::new(),
            offsets: HashMap::new(),
            section,
        }
    }

    /// Offset of `text` relative to the section start; 0 when absent. Present strings
    /// never get offset 0 because `base` (the entry table) is never empty.
    fn intern(&mut self, text: Option<&str>) -> Result<u16, WriteError> {
        let Some(text) = text else { return Ok(0) };
        if let Some(&offset) = self.offsets.get(text) {
            return Ok(offset);
        }
        let section = self.section;
        if text.contains('\0') {
            return Err(WriteError::NulInString { section });
        }
        let offset = self
            .base
            .checked_add(self.area.len())
            .and_then(|at| u16::try_from(at).ok())
            .ok_or(WriteError::StringAreaOverflow { section })?;
        self.area.extend_from_slice(text.as_bytes());
        self.area.push(0);
        self.offsets.insert(text.to_owned(), offset);
        Ok(offset)
    }
}

/// Entry count as a u32 table field.
fn entry_count(count: usize) -> Result<u32, WriteError> {
    u32::try_from(count).map_err(|_| WriteError::TooLarge { what: "metadata" })
}

/// Check for duplicate (group, id) keys in declaration order, then sort by key.
fn sorted_unique<T>(
    items: &[T],
    key: impl Fn(&T) -> (u8, u8),
    duplicate: impl Fn(u8, u8) -> WriteError,
) -> Result<Vec<&T>, WriteError> {
    let mut seen = BTreeSet::new();
    for item in items {
        let (group, id) = key(item);
        if !seen.insert((group, id)) {
            return Err(duplicate(group, id));
        }
    }
    let mut sorted: Vec<&T> = items.iter().collect();
    sorted.sort_by_key(|item| key(item));
    Ok(sorted)
}

fn value_section(values: &[ValueMeta]) -> Result<(u32, Vec<u8>), WriteError> {
    let sorted = sorted_unique(
        values,
        |v| (v.group, v.id),
        |group, id| WriteError::DuplicateValue { group, id },
    )?;
    let table_len = sorted.len() * VALUE_ENTRY_SIZE;
    let mut strings = Strings::new(table_len, "value");
    let mut table = Vec::with_capacity(table_len);
    for v in sorted {
        let name = strings.intern(v.name.as_deref())?;
        let unit = strings.intern(v.unit.as_deref())?;
        let group_name = strings.intern(v.group_name.as_deref())?;
        table.extend_from_slice(&[v.group, v.id, v.flags, v.auth]);
        for field in [
            v.init,
            name,
            unit,
            v.epsilon,
            v.min,
            v.max,
            v.persist_key,
            group_name,
        ] {
            table.extend_from_slice(&field.to_be_bytes());
        }
    }
    table.extend_from_slice(&strings.area);
    Ok((entry_count(values.len())?, table))
}

fn command_section(commands: &[CommandMeta]) -> Result<(u32, Vec<u8>), WriteError> {
    let sorted = sorted_unique(
        commands,
        |c| (c.group, c.id),
        |group, id| WriteError::DuplicateCommand { group, id },
    )?;
    let table_len = sorted.len() * COMMAND_ENTRY_SIZE;
    let mut strings = Strings::new(table_len, "command");
    let mut table = Vec::with_capacity(table_len);
    for c in sorted {
        let name = strings.intern(c.name.as_deref())?;
        let help = strings.intern(c.help.as_deref())?;
        let group_name = strings.intern(c.group_name.as_deref())?;
        table.extend_from_slice(&[c.group, c.id, c.flags, c.auth]);
        table.extend_from_slice(&c.handler_offset.to_be_bytes());
        table.extend_from_slice(&name.to_be_bytes());
        table.extend_from_slice(&help.to_be_bytes());
        let last = (c.reserved & 0xFFFF) << 16 | u32::from(group_name);
        table.extend_from_slice(&last.to_be_bytes());
    }
    table.extend_from_slice(&strings.area);
    Ok((entry_count(commands.len())?, table))
}

fn mailbox_section(sources: &[Map<String, Value>]) -> Result<(u32, Vec<u8>), WriteError> {
    let mut entries = Vec::with_capacity(sources.len());
    for (index, source) in sources.iter().enumerate() {
        let target = ["target", "name"]
            .iter()
            .find_map(|key| source.get(*key))
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or(WriteError::MailboxMissingTarget { index })?
            .to_owned();
        let mut entry = source.clone();
        if entry.contains_key("target") {
            entry.insert("target".into(), Value::String(target.clone()));
        }
        entries.push((target, Value::Object(entry)));
    }
    // Stable: entries with equal targets keep their declaration order.
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    let mut document = Map::new();
    document.insert(
        "mailboxes".into(),
        Value::Array(entries.into_iter().map(|(_, e)| e).collect()),
    );
    document.insert("version".into(), Value::from(1));
    let text = canonical_json(&Value::Object(document));
    Ok((entry_count(sources.len())?, text.into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interning_reuses_offsets_and_gives_empty_strings_a_place() {
        let mut strings = Strings::new(20, "value");
        assert_eq!(strings.intern(None), Ok(0));
        assert_eq!(strings.intern(Some("")), Ok(20));
        assert_eq!(strings.intern(Some("temp")), Ok(21));
        assert_eq!(strings.intern(Some("")), Ok(20));
        assert_eq!(strings.intern(Some("temp")), Ok(21));
        assert_eq!(strings.intern(Some("te")), Ok(26));
        assert_eq!(strings.area, b"\0temp\0te\0");
    }

    #[test]
    fn interning_stops_at_the_16_bit_limit() {
        let mut strings = Strings::new(0xFFF0, "command");
        assert_eq!(strings.intern(Some("0123456789abcd")), Ok(0xFFF0));
        assert_eq!(strings.intern(Some("x")), Ok(0xFFFF));
        assert_eq!(
            strings.intern(Some("y")),
            Err(WriteError::StringAreaOverflow { section: "command" })
        );
        assert_eq!(strings.intern(Some("x")), Ok(0xFFFF));
    }

    #[test]
    fn interning_rejects_nul() {
        let mut strings = Strings::new(16, "command");
        assert_eq!(
            strings.intern(Some("a\0b")),
            Err(WriteError::NulInString { section: "command" })
        );
    }
}
