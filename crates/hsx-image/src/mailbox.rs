//! Mailbox sections (`hxe.md` §5.5): the JSON form and the legacy binary form.

use serde_json::{Map, Value};

use crate::error::MetadataError;
use crate::header::{be16, be32};
use crate::metadata::{MailboxBinding, MailboxMeta, entries, section_string};
use crate::{LEGACY_MAILBOX_ENTRY_SIZE, mode};

/// Mailbox mode names accepted in JSON `mode_mask` strings (matched case-insensitively).
pub const MODE_NAMES: &[(&str, u16)] = &[
    ("RDONLY", mode::RDONLY),
    ("READONLY", mode::RDONLY),
    ("RO", mode::RDONLY),
    ("WRONLY", mode::WRONLY),
    ("WRITEONLY", mode::WRONLY),
    ("WO", mode::WRONLY),
    ("RDWR", mode::RDWR),
    ("RW", mode::RDWR),
    ("TAP", mode::TAP),
    ("FANOUT", mode::FANOUT),
    ("FANOUT_DROP", mode::FANOUT_DROP),
    ("FANOUT_BLOCK", mode::FANOUT_BLOCK),
];

/// Parse a mode string such as `"rdwr|fanout_drop|tap"` (`hxe.md` §5.5.1): names
/// separated by `|` or `,`, trimmed, case-insensitive, empty names skipped, OR-ed
/// together; no names at all gives 0x03 (RDWR).
pub fn parse_mode_names(text: &str) -> Result<u16, MetadataError> {
    let mut mask = 0;
    let mut any = false;
    for name in text
        .split(['|', ','])
        .map(str::trim)
        .filter(|n| !n.is_empty())
    {
        let bits = MODE_NAMES
            .iter()
            .find(|(known, _)| known.eq_ignore_ascii_case(name))
            .map(|(_, bits)| *bits)
            .ok_or_else(|| MetadataError::UnknownMode(name.to_owned()))?;
        mask |= bits;
        any = true;
    }
    Ok(if any { mask } else { mode::RDWR })
}

/// Parse a mailbox section. `section` is the whole section; `entry_count` is used by
/// the legacy form only.
pub(crate) fn parse(section: &[u8], entry_count: u32) -> Result<Vec<MailboxMeta>, MetadataError> {
    let content_len = section
        .iter()
        .rposition(|&b| b != 0)
        .map_or(0, |last| last + 1);
    let content = &section[..content_len];
    if content.is_empty() {
        return Ok(Vec::new());
    }
    // Python's `bytes.strip()` whitespace, as the prototype used.
    match content.iter().find(|b| !b" \t\n\r\x0b\x0c".contains(b)) {
        Some(b'{' | b'[') => parse_json(content),
        _ => parse_legacy(section, entry_count),
    }
}

fn parse_json(content: &[u8]) -> Result<Vec<MailboxMeta>, MetadataError> {
    let text = std::str::from_utf8(content).map_err(|_| MetadataError::MailboxJsonNotUtf8)?;
    let document: Value =
        serde_json::from_str(text).map_err(|_| MetadataError::MailboxJsonInvalid)?;
    let entries = match &document {
        Value::Object(object) => {
            match object.get("version") {
                None | Some(Value::Null) => {}
                Some(Value::Number(n)) if n.as_f64() == Some(1.0) => {}
                Some(_) => return Err(MetadataError::MailboxJsonVersion),
            }
            let list = ["mailboxes", "entries"]
                .iter()
                .filter_map(|key| object.get(*key))
                .find(|value| is_truthy(value));
            match list {
                None => return Ok(Vec::new()),
                Some(Value::Array(items)) => items,
                Some(_) => return Err(MetadataError::MailboxEntriesNotList),
            }
        }
        Value::Array(items) => items,
        _ => return Err(MetadataError::MailboxJsonNotContainer),
    };
    entries
        .iter()
        .enumerate()
        .map(|(index, entry)| parse_entry(index, entry))
        .collect()
}

fn parse_entry(index: usize, entry: &Value) -> Result<MailboxMeta, MetadataError> {
    let object = entry
        .as_object()
        .ok_or(MetadataError::MailboxEntryNotObject { index })?;
    let target = first_present(object, &["target", "name"])
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or(MetadataError::MailboxMissingTarget { index })?;

    let capacity = match first_present(object, &["capacity", "queue_depth"]) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.is_empty() => None,
        Some(value) => match integer(value).ok_or(MetadataError::CapacityNotInteger)? {
            n if n < 0 => return Err(MetadataError::CapacityNegative),
            0 => None,
            n => Some(u32::try_from(n).unwrap_or(u32::MAX)),
        },
    };

    let mode_mask = match first_present(object, &["mode_mask", "mode", "flags"]) {
        None | Some(Value::Null) => mode::RDWR,
        Some(Value::String(s)) if s.is_empty() => mode::RDWR,
        Some(Value::String(s)) => parse_mode_names(s)?,
        Some(value) => match integer(value).ok_or(MetadataError::ModeNotInteger)? {
            n if n < 0 => return Err(MetadataError::ModeNegative),
            0 => mode::RDWR,
            n => low16(n),
        },
    };

    let owner_pid = match object.get("owner_pid") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.is_empty() => None,
        Some(value) => Some(
            value
                .as_i64()
                .ok_or(MetadataError::OwnerPidNotInteger { index })?,
        ),
    };

    let bindings = match object.get("bindings") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items.iter().map(parse_binding).collect::<Result<_, _>>()?,
        Some(_) => return Err(MetadataError::BindingsNotList),
    };

    Ok(MailboxMeta {
        target: target.to_owned(),
        capacity,
        mode_mask,
        owner_pid,
        bindings,
        source: object.clone(),
    })
}

fn parse_binding(binding: &Value) -> Result<MailboxBinding, MetadataError> {
    let object = binding.as_object().ok_or(MetadataError::BindingNotObject)?;
    let pid = object.get("pid").ok_or(MetadataError::BindingMissingPid)?;
    let pid = pid.as_i64().ok_or(MetadataError::BindingPidNotInteger)?;
    let flags = match object.get("flags") {
        None => 0,
        Some(value) => low16(integer(value).ok_or(MetadataError::BindingFlagsNotInteger)?),
    };
    Ok(MailboxBinding { pid, flags })
}

fn parse_legacy(section: &[u8], entry_count: u32) -> Result<Vec<MailboxMeta>, MetadataError> {
    let rows = entries::<LEGACY_MAILBOX_ENTRY_SIZE>(section, entry_count)
        .ok_or(MetadataError::MailboxTableTruncated)?;
    rows.map(|row| {
        let target = section_string(section, be32(row, 0))?
            .filter(|name| !name.is_empty())
            .ok_or(MetadataError::MailboxMissingName)?;
        let queue_depth = be16(row, 4);
        let mode_mask = match be16(row, 6) {
            0 => mode::RDWR,
            bits => bits,
        };
        let mut source = Map::new();
        source.insert("target".into(), Value::from(target.as_str()));
        source.insert("capacity".into(), Value::from(queue_depth));
        source.insert("mode_mask".into(), Value::from(mode_mask));
        Ok(MailboxMeta {
            target,
            capacity: (queue_depth != 0).then_some(u32::from(queue_depth)),
            mode_mask,
            owner_pid: None,
            bindings: Vec::new(),
            source,
        })
    })
    .collect()
}

/// The value of the first of `keys` present in `object` (even if it is null).
fn first_present<'a>(object: &'a Map<String, Value>, keys: &[&str]) -> Option<&'a Value> {
    keys.iter().find_map(|key| object.get(*key))
}

/// A JSON integer: a number written without fraction or exponent. (serde_json keeps
/// exactly those as 64-bit integers; `1.0` and `1e2` are floats and therefore not
/// integers, nor are integers beyond the 64-bit range.)
fn integer(value: &Value) -> Option<i128> {
    let Value::Number(n) = value else { return None };
    n.as_i64()
        .map(i128::from)
        .or_else(|| n.as_u64().map(i128::from))
}

/// `n & 0xFFFF`, two's complement for negative `n` (as Python's `&` does).
fn low16(n: i128) -> u16 {
    (n & 0xFFFF) as u16
}

/// Python truthiness: null, false, 0, "", [] and {} are false.
fn is_truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64() != Some(0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mode_name_examples() {
        assert_eq!(parse_mode_names("rdwr|fanout_drop|tap"), Ok(0x17));
        assert_eq!(parse_mode_names("rw | tap"), Ok(0x07));
        assert_eq!(parse_mode_names("RO,WO"), Ok(0x03));
        assert_eq!(parse_mode_names(" | , "), Ok(0x03));
        assert_eq!(parse_mode_names("Fanout_Block"), Ok(0x20));
        assert_eq!(
            parse_mode_names("rdwr|SLOW"),
            Err(MetadataError::UnknownMode("SLOW".into()))
        );
        assert_eq!(
            parse_mode_names("tap| slow io "),
            Err(MetadataError::UnknownMode("slow io".into()))
        );
    }

    #[test]
    fn integers_are_json_integers() {
        assert_eq!(integer(&serde_json::json!(96)), Some(96));
        assert_eq!(integer(&serde_json::json!(-3)), Some(-3));
        assert_eq!(
            integer(&serde_json::json!(u64::MAX)),
            Some(i128::from(u64::MAX))
        );
        assert_eq!(integer(&serde_json::json!(96.0)), None);
        assert_eq!(integer(&serde_json::json!("96")), None);
        assert_eq!(integer(&serde_json::json!(true)), None);
    }

    #[test]
    fn truthiness() {
        use serde_json::json;
        for falsy in [
            json!(null),
            json!(false),
            json!(0),
            json!(0.0),
            json!(""),
            json!([]),
            json!({}),
        ] {
            assert!(!is_truthy(&falsy), "{falsy}");
        }
        for truthy in [
            json!(true),
            json!(-1),
            json!(" "),
            json!([0]),
            json!({"a": null}),
        ] {
            assert!(is_truthy(&truthy), "{truthy}");
        }
    }

    #[test]
    fn low16_wraps_like_python() {
        assert_eq!(low16(-1), 0xFFFF);
        assert_eq!(low16(0x1_2345), 0x2345);
    }
}
