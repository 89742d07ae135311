//! Metadata table and the value and command sections (`hxe.md` §5.1–§5.4).

use crate::error::{LoadError, MetadataError};
use crate::header::{be16, be32};
use crate::{
    COMMAND_ENTRY_SIZE, HEADER_V2, META_ENTRY_SIZE, VALUE_ENTRY_SIZE, mailbox, section_kind,
};

/// Everything the metadata table of an image declares.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Metadata {
    /// The table entries, in file order (including unknown kinds).
    pub sections: Vec<SectionEntry>,
    /// Values of every value section, in file order.
    pub values: Vec<ValueMeta>,
    /// Commands of every command section, in file order.
    pub commands: Vec<CommandMeta>,
    /// Mailboxes of every mailbox section, in file order.
    pub mailboxes: Vec<MailboxMeta>,
}

impl Metadata {
    /// True when the image declares no values, commands or mailboxes.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty() && self.commands.is_empty() && self.mailboxes.is_empty()
    }
}

/// One 16-byte metadata table entry (`hxe.md` §5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SectionEntry {
    /// Section type ([`section_kind`]); unknown kinds are kept and ignored.
    pub kind: u32,
    /// File offset of the section.
    pub offset: u32,
    /// Section size in bytes.
    pub size: u32,
    /// Number of entries (ignored by JSON mailbox sections).
    pub entry_count: u32,
}

/// A value declaration (`hxe.md` §5.3). The f16 fields hold raw binary16 bits.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ValueMeta {
    /// Group id.
    pub group: u8,
    /// Value id within the group.
    pub id: u8,
    /// Flag bits ([`value_flags`](crate::value_flags)).
    pub flags: u8,
    /// Authorisation level ([`auth`](crate::auth)).
    pub auth: u8,
    /// Initial value (f16 bits).
    pub init: u16,
    /// Change threshold (f16 bits).
    pub epsilon: u16,
    /// Lower bound (f16 bits).
    pub min: u16,
    /// Upper bound (f16 bits).
    pub max: u16,
    /// Persistence key.
    pub persist_key: u16,
    /// Name; `None` = absent (distinct from `Some("")`).
    pub name: Option<String>,
    /// Unit.
    pub unit: Option<String>,
    /// Group name.
    pub group_name: Option<String>,
}

/// A command declaration (`hxe.md` §5.4).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommandMeta {
    /// Group id.
    pub group: u8,
    /// Command id within the group.
    pub id: u8,
    /// Flag bits ([`command_flags`](crate::command_flags)).
    pub flags: u8,
    /// Authorisation level ([`auth`](crate::auth)).
    pub auth: u8,
    /// Code byte offset of the handler.
    pub handler_offset: u32,
    /// Name.
    pub name: Option<String>,
    /// Help text.
    pub help: Option<String>,
    /// Group name.
    pub group_name: Option<String>,
    /// Reserved field. The format stores its low 16 bits (the high half of the last
    /// entry word); loaded entries hold exactly those.
    pub reserved: u32,
}

/// A mailbox declaration (`hxe.md` §5.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailboxMeta {
    /// Target (e.g. `app:tel`): whitespace-trimmed for JSON entries, as stored for legacy
    /// binary entries.
    pub target: String,
    /// Capacity in bytes; `None` = the service default. JSON integers beyond `u32`
    /// saturate to `u32::MAX` (the mailbox service rejects them as out of range).
    pub capacity: Option<u32>,
    /// Mode bits ([`mode`](crate::mode)); 0x03 (RDWR) when unspecified.
    pub mode_mask: u16,
    /// Owning pid, if declared.
    pub owner_pid: Option<i64>,
    /// Bindings, in declaration order.
    pub bindings: Vec<MailboxBinding>,
    /// The stored JSON object, verbatim. Legacy binary entries synthesise
    /// `{"target", "capacity", "mode_mask"}` (capacity = the raw queue depth, 0 = default).
    pub source: serde_json::Map<String, serde_json::Value>,
}

/// One entry of a mailbox's `bindings` list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MailboxBinding {
    /// Bound pid.
    pub pid: i64,
    /// Binding flags (stored `& 0xFFFF`).
    pub flags: u16,
}

/// Parse the metadata table at `meta_offset` (checks 16–18 of `hxe.md` §4). The caller
/// has established that a table is present (`meta_offset` and `meta_count` non-zero)
/// and that `meta_offset` ≥ ro_end.
pub(crate) fn parse_table(
    bytes: &[u8],
    meta_offset: u32,
    meta_count: u32,
) -> Result<Metadata, LoadError> {
    let table_end = u64::from(meta_offset) + META_ENTRY_SIZE as u64 * u64::from(meta_count);
    if table_end > bytes.len() as u64 {
        return Err(LoadError::MetadataTableOutOfBounds);
    }
    let mut metadata = Metadata::default();
    // Each entry is bounds-checked (check 17) and then parsed (check 18) before the next.
    for index in 0..meta_count {
        let at = u64::from(meta_offset) + META_ENTRY_SIZE as u64 * u64::from(index);
        let raw: [u8; META_ENTRY_SIZE] = usize::try_from(at)
            .ok()
            .and_then(|at| bytes.get(at..at.checked_add(META_ENTRY_SIZE)?))
            .and_then(|slice| slice.try_into().ok())
            .ok_or(LoadError::MetadataTableOutOfBounds)?;
        let entry = SectionEntry {
            kind: be32(&raw, 0),
            offset: be32(&raw, 4),
            size: be32(&raw, 8),
            entry_count: be32(&raw, 12),
        };
        let section =
            section_bytes(bytes, &entry).ok_or(LoadError::SectionOutOfBounds { index })?;
        let wrap = |error| LoadError::Metadata { index, error };
        match entry.kind {
            section_kind::VALUE => {
                metadata
                    .values
                    .extend(parse_values(section, entry.entry_count).map_err(wrap)?);
            }
            section_kind::COMMAND => {
                metadata
                    .commands
                    .extend(parse_commands(section, entry.entry_count).map_err(wrap)?);
            }
            section_kind::MAILBOX => {
                metadata
                    .mailboxes
                    .extend(mailbox::parse(section, entry.entry_count).map_err(wrap)?);
            }
            _ => {}
        }
        metadata.sections.push(entry);
    }
    Ok(metadata)
}

/// The bytes of a section, or `None` if it starts inside the header or ends past the
/// file (check 17).
fn section_bytes<'a>(bytes: &'a [u8], entry: &SectionEntry) -> Option<&'a [u8]> {
    let start = usize::try_from(entry.offset).ok()?;
    let end = u64::from(entry.offset) + u64::from(entry.size);
    if start < HEADER_V2 || end > bytes.len() as u64 {
        return None;
    }
    bytes.get(start..usize::try_from(end).ok()?)
}

/// The fixed-size entries of a section: `count` × `size` bytes at its start, or `None`
/// if they do not fit.
pub(crate) fn entries<const N: usize>(
    section: &[u8],
    count: u32,
) -> Option<impl Iterator<Item = &[u8; N]>> {
    let total = u64::from(count).checked_mul(N as u64)?;
    let table = section.get(..usize::try_from(total).ok()?)?;
    Some(
        table
            .chunks_exact(N)
            .filter_map(|chunk| chunk.try_into().ok()),
    )
}

fn parse_values(section: &[u8], count: u32) -> Result<Vec<ValueMeta>, MetadataError> {
    let rows =
        entries::<VALUE_ENTRY_SIZE>(section, count).ok_or(MetadataError::ValueTableTruncated)?;
    rows.map(|e| {
        Ok(ValueMeta {
            group: e[0x00],
            id: e[0x01],
            flags: e[0x02],
            auth: e[0x03],
            init: be16(e, 0x04),
            name: section_string(section, u32::from(be16(e, 0x06)))?,
            unit: section_string(section, u32::from(be16(e, 0x08)))?,
            epsilon: be16(e, 0x0A),
            min: be16(e, 0x0C),
            max: be16(e, 0x0E),
            persist_key: be16(e, 0x10),
            group_name: section_string(section, u32::from(be16(e, 0x12)))?,
        })
    })
    .collect()
}

fn parse_commands(section: &[u8], count: u32) -> Result<Vec<CommandMeta>, MetadataError> {
    let rows = entries::<COMMAND_ENTRY_SIZE>(section, count)
        .ok_or(MetadataError::CommandTableTruncated)?;
    rows.map(|e| {
        let last = be32(e, 0x0C);
        Ok(CommandMeta {
            group: e[0x00],
            id: e[0x01],
            flags: e[0x02],
            auth: e[0x03],
            handler_offset: be32(e, 0x04),
            name: section_string(section, u32::from(be16(e, 0x08)))?,
            help: section_string(section, u32::from(be16(e, 0x0A)))?,
            group_name: section_string(section, last & 0xFFFF)?,
            reserved: last >> 16,
        })
    })
    .collect()
}

/// Resolve a string reference relative to the section start (`hxe.md` §5.2).
pub(crate) fn section_string(section: &[u8], offset: u32) -> Result<Option<String>, MetadataError> {
    if offset == 0 {
        return Ok(None);
    }
    let out_of_range = MetadataError::StringOffsetOutOfRange {
        offset,
        // Sections are at most u32::MAX bytes long (their size field is a u32).
        size: u32::try_from(section.len()).unwrap_or(u32::MAX),
    };
    let start = usize::try_from(offset).map_err(|_| out_of_range.clone())?;
    let tail = section
        .get(start..)
        .filter(|t| !t.is_empty())
        .ok_or(out_of_range)?;
    let len = tail
        .iter()
        .position(|&b| b == 0)
        .ok_or(MetadataError::StringNotTerminated)?;
    let text = std::str::from_utf8(&tail[..len]).map_err(|_| MetadataError::StringNotUtf8)?;
    Ok(Some(text.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_rules() {
        let section = b"\0\0ab\0\0\xff\0cd";
        assert_eq!(section_string(section, 0), Ok(None));
        assert_eq!(section_string(section, 2), Ok(Some("ab".into())));
        assert_eq!(section_string(section, 4), Ok(Some(String::new())));
        assert_eq!(
            section_string(section, 6),
            Err(MetadataError::StringNotUtf8)
        );
        assert_eq!(
            section_string(section, 8),
            Err(MetadataError::StringNotTerminated)
        );
        assert_eq!(
            section_string(section, 10),
            Err(MetadataError::StringOffsetOutOfRange {
                offset: 10,
                size: 10
            })
        );
        assert_eq!(
            section_string(section, u32::MAX),
            Err(MetadataError::StringOffsetOutOfRange {
                offset: u32::MAX,
                size: 10
            })
        );
    }

    #[test]
    fn entry_tables_need_room() {
        assert!(entries::<4>(&[0; 8], 2).is_some());
        assert!(entries::<4>(&[0; 7], 2).is_none());
        assert!(entries::<20>(&[0; 8], u32::MAX).is_none());
        assert_eq!(entries::<4>(&[], 0).map(Iterator::count), Some(0));
    }
}
