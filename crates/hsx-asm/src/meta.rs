//! Metadata directives `.value`, `.cmd`, `.mailbox` (`mvasm.md` §6): normalisation of the
//! JSON entries, and conversion of normalised entries into the image writer's records.
//!
//! Normalisation is idempotent (every normalised key is also a source key), so the linker
//! re-validates entries read from objects with the same code.

use serde_json::{Map, Number, Value};

use crate::lex::parse_number;
use crate::object::JsonObject;

/// The three metadata directives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum MetaKind {
    /// `.value`
    Value,
    /// `.cmd`
    Command,
    /// `.mailbox`
    Mailbox,
}

impl MetaKind {
    /// The directive as written.
    pub fn directive(self) -> &'static str {
        match self {
            MetaKind::Value => ".value",
            MetaKind::Command => ".cmd",
            MetaKind::Mailbox => ".mailbox",
        }
    }

    /// The directive for a (lower-case) name.
    pub fn from_directive(name: &str) -> Option<MetaKind> {
        match name {
            ".value" => Some(MetaKind::Value),
            ".cmd" => Some(MetaKind::Command),
            ".mailbox" => Some(MetaKind::Mailbox),
            _ => None,
        }
    }

    fn prefix(self) -> &'static str {
        match self {
            MetaKind::Value => "value metadata",
            MetaKind::Command => "command metadata",
            MetaKind::Mailbox => "mailbox metadata",
        }
    }
}

/// Parse a directive payload `J` (an object or a non-empty array of objects) and normalise
/// every entry.
pub(crate) fn parse_payload(kind: MetaKind, text: &str) -> Result<Vec<JsonObject>, String> {
    let directive = kind.directive();
    let value: Value =
        serde_json::from_str(text).map_err(|e| format!("Invalid {directive} payload: {e}"))?;
    let entries = match value {
        Value::Array(items) if items.is_empty() => {
            return Err(format!(
                "{directive} JSON array must contain at least one entry"
            ));
        }
        Value::Array(items) => items,
        object @ Value::Object(_) => vec![object],
        _ => {
            return Err(format!(
                "Invalid {directive} payload: expected a JSON object or an array of objects"
            ));
        }
    };
    entries
        .into_iter()
        .map(|entry| match entry {
            Value::Object(map) => normalise(kind, &map),
            _ => Err(format!("{directive} entry must be a JSON object")),
        })
        .collect()
}

/// Normalise one entry (§6): known keys take their normalised names and types; unknown
/// keys are kept verbatim.
pub(crate) fn normalise(kind: MetaKind, entry: &JsonObject) -> Result<JsonObject, String> {
    match kind {
        MetaKind::Value => normalise_value(entry),
        MetaKind::Command => normalise_command(entry),
        MetaKind::Mailbox => normalise_mailbox(entry),
    }
}

/// Reads keys of one entry and remembers which it consumed.
struct Entry<'a> {
    kind: MetaKind,
    source: &'a JsonObject,
    known: Vec<&'static str>,
    out: JsonObject,
}

impl<'a> Entry<'a> {
    fn new(kind: MetaKind, source: &'a JsonObject) -> Entry<'a> {
        Entry {
            kind,
            source,
            known: Vec::new(),
            out: Map::new(),
        }
    }

    /// The first present (non-null) key of `keys`.
    fn first(&mut self, keys: &[&'static str]) -> Option<(&'static str, &'a Value)> {
        self.known.extend_from_slice(keys);
        let source = self.source;
        keys.iter()
            .find_map(|&k| source.get(k).filter(|v| !v.is_null()).map(|v| (k, v)))
    }

    fn error(&self, key: &str, what: &str) -> String {
        format!("{} '{key}' {what}", self.kind.prefix())
    }

    fn int(&self, key: &str, value: &Value, max: u64) -> Result<u64, String> {
        let n = match value {
            Value::Number(n) => n.as_i64().map(i128::from).or(n.as_u64().map(i128::from)),
            Value::String(s) => parse_number(s.trim()).ok().map(i128::from),
            _ => None,
        }
        .ok_or_else(|| self.error(key, "must be an integer"))?;
        u64::try_from(n)
            .ok()
            .filter(|&v| v <= max)
            .ok_or_else(|| self.error(key, &format!("out of range 0..{max}: {n}")))
    }

    fn float(&self, key: &str, value: &Value) -> Result<f64, String> {
        match value {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => {
                let s = s.trim();
                s.parse::<f64>()
                    .ok()
                    .or_else(|| parse_number(s).ok().map(|v| v as f64))
            }
            _ => None,
        }
        .ok_or_else(|| self.error(key, "must be a number"))
    }

    /// Integer field `name` from the first of `keys`, 0..=max.
    fn put_int(
        &mut self,
        name: &str,
        keys: &[&'static str],
        max: u64,
    ) -> Result<Option<u64>, String> {
        match self.first(keys) {
            Some((k, v)) => {
                let n = self.int(k, v, max)?;
                self.out.insert(name.into(), Value::from(n));
                Ok(Some(n))
            }
            None => Ok(None),
        }
    }

    fn put_float(&mut self, name: &str, keys: &[&'static str]) -> Result<(), String> {
        if let Some((k, v)) = self.first(keys) {
            let x = self.float(k, v)?;
            let number = Number::from_f64(x).ok_or_else(|| self.error(k, "must be finite"))?;
            self.out.insert(name.into(), Value::Number(number));
        }
        Ok(())
    }

    fn put_string(&mut self, name: &str, keys: &[&'static str]) -> Result<(), String> {
        if let Some((k, v)) = self.first(keys) {
            let s = v
                .as_str()
                .ok_or_else(|| self.error(k, "must be a string"))?;
            self.out.insert(name.into(), Value::from(s));
        }
        Ok(())
    }

    /// An integer, or names from `table` separated by `|` (case-insensitive).
    fn put_named(
        &mut self,
        name: &str,
        keys: &[&'static str],
        table: &[(&str, u64)],
        max: u64,
    ) -> Result<(), String> {
        let Some((k, v)) = self.first(keys) else {
            return Ok(());
        };
        let numeric = match v {
            Value::String(s) => parse_number(s.trim()).is_ok(),
            _ => true,
        };
        let n = match v.as_str() {
            Some(s) if !numeric => {
                let mut bits = 0;
                for part in s.split('|').map(str::trim).filter(|p| !p.is_empty()) {
                    let (_, value) = table
                        .iter()
                        .find(|(n, _)| n.eq_ignore_ascii_case(part))
                        .ok_or_else(|| self.error(k, &format!("has unknown name '{part}'")))?;
                    bits |= value;
                }
                bits
            }
            _ => self.int(k, v, max)?,
        };
        self.out.insert(name.into(), Value::from(n));
        Ok(())
    }

    /// Keep every key no rule consumed.
    fn finish(mut self) -> JsonObject {
        for (k, v) in self.source {
            if !self.known.contains(&k.as_str()) {
                self.out.insert(k.clone(), v.clone());
            }
        }
        self.out
    }
}

const AUTH: &[(&str, u64)] = &[("PUBLIC", 0), ("USER", 1), ("ADMIN", 2), ("FACTORY", 3)];
const VALUE_FLAGS: &[(&str, u64)] = &[
    ("RO", 0x01),
    ("READONLY", 0x01),
    ("READ_ONLY", 0x01),
    ("PERSIST", 0x02),
    ("STICKY", 0x04),
    ("PIN", 0x08),
    ("BOOL", 0x10),
];
const COMMAND_FLAGS: &[(&str, u64)] = &[("PIN", 0x01), ("ASYNC", 0x02)];

fn normalise_value(source: &JsonObject) -> Result<JsonObject, String> {
    let mut e = Entry::new(MetaKind::Value, source);
    e.put_int("group", &["group", "group_id", "groupId"], 255)?
        .ok_or(".value entry requires group/group_id")?;
    e.put_int("value", &["id", "value", "value_id", "valueId"], 255)?
        .ok_or(".value entry requires id/value")?;
    e.put_string("group_name", &["group_name", "groupName"])?;
    e.put_string("name", &["name"])?;
    e.put_string("unit", &["unit", "unit_name", "unitName"])?;
    e.put_named("flags", &["flags"], VALUE_FLAGS, 255)?;
    e.put_named("auth", &["auth", "auth_level", "authLevel"], AUTH, 255)?;
    e.put_int("persist_key", &["persist_key", "persist"], 0xFFFF)?;
    for raw in ["init_raw", "epsilon_raw", "min_raw", "max_raw"] {
        e.put_int(raw, &[raw], 0xFFFF)?;
    }
    e.put_float("init", &["init", "init_value"])?;
    for float in ["epsilon", "min", "max"] {
        e.put_float(float, &[float])?;
    }
    e.put_int("rate_ms", &["rate_ms", "rateMs"], u64::from(u32::MAX))?;
    Ok(e.finish())
}

fn normalise_command(source: &JsonObject) -> Result<JsonObject, String> {
    let mut e = Entry::new(MetaKind::Command, source);
    e.put_int("group", &["group", "group_id", "groupId"], 255)?
        .ok_or(".cmd entry requires group/group_id")?;
    e.put_int(
        "cmd",
        &["id", "cmd", "cmd_id", "command_id", "commandId"],
        255,
    )?
    .ok_or(".cmd entry requires id/cmd")?;
    e.put_string("group_name", &["group_name", "groupName"])?;
    e.put_string("name", &["name"])?;
    e.put_string("help", &["help"])?;
    e.put_named("flags", &["flags"], COMMAND_FLAGS, 255)?;
    e.put_named("auth", &["auth", "auth_level", "authLevel"], AUTH, 255)?;
    e.put_int("handler_offset", &["handler_offset"], u64::from(u32::MAX))?;
    match e.first(&["handler"]) {
        Some((k, Value::String(name))) => {
            if name.trim().is_empty() {
                return Err(e.error(k, "must not be empty"));
            }
            e.out.insert("handler".into(), Value::from(name.trim()));
        }
        Some((k, v)) => {
            let offset = e.int(k, v, u64::from(u32::MAX))?;
            e.out.insert("handler_offset".into(), Value::from(offset));
        }
        None => {}
    }
    e.put_int("reserved", &["reserved"], u64::from(u32::MAX))?;
    Ok(e.finish())
}

fn normalise_mailbox(source: &JsonObject) -> Result<JsonObject, String> {
    let target = ["target", "name"]
        .iter()
        .find_map(|k| source.get(*k).filter(|v| !v.is_null()))
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or(".mailbox entry requires a non-empty 'target'")?;
    let mut out = source.clone();
    out.insert("target".into(), Value::from(target));
    Ok(out)
}

/// `(group, id)` of a normalised value entry.
pub(crate) fn value_key(entry: &JsonObject) -> (u8, u8) {
    (get_u64(entry, "group") as u8, get_u64(entry, "value") as u8)
}

/// `(group, cmd)` of a normalised command entry.
pub(crate) fn command_key(entry: &JsonObject) -> (u8, u8) {
    (get_u64(entry, "group") as u8, get_u64(entry, "cmd") as u8)
}

/// The target of a normalised mailbox entry.
pub(crate) fn mailbox_target(entry: &JsonObject) -> &str {
    entry.get("target").and_then(Value::as_str).unwrap_or("")
}

fn get_u64(entry: &JsonObject, key: &str) -> u64 {
    entry.get(key).and_then(Value::as_u64).unwrap_or(0)
}

fn get_string(entry: &JsonObject, key: &str) -> Option<String> {
    entry.get(key).and_then(Value::as_str).map(str::to_string)
}

fn f16_field(entry: &JsonObject, name: &str) -> u16 {
    match entry.get(&format!("{name}_raw")).and_then(Value::as_u64) {
        Some(raw) => raw as u16,
        None => hsx_image::f16_from_f64(entry.get(name).and_then(Value::as_f64).unwrap_or(0.0)),
    }
}

/// The writer's record for a normalised value entry.
pub(crate) fn to_value_meta(entry: &JsonObject) -> hsx_image::ValueMeta {
    let (group, id) = value_key(entry);
    hsx_image::ValueMeta {
        group,
        id,
        flags: get_u64(entry, "flags") as u8,
        auth: get_u64(entry, "auth") as u8,
        init: f16_field(entry, "init"),
        epsilon: f16_field(entry, "epsilon"),
        min: f16_field(entry, "min"),
        max: f16_field(entry, "max"),
        persist_key: get_u64(entry, "persist_key") as u16,
        name: get_string(entry, "name"),
        unit: get_string(entry, "unit"),
        group_name: get_string(entry, "group_name"),
    }
}

/// The symbolic handler of a normalised command entry, if any.
pub(crate) fn command_handler(entry: &JsonObject) -> Option<&str> {
    entry.get("handler").and_then(Value::as_str)
}

/// The writer's record for a normalised command entry, with the resolved handler offset.
pub(crate) fn to_command_meta(entry: &JsonObject, handler_offset: u32) -> hsx_image::CommandMeta {
    let (group, id) = command_key(entry);
    hsx_image::CommandMeta {
        group,
        id,
        flags: get_u64(entry, "flags") as u8,
        auth: get_u64(entry, "auth") as u8,
        handler_offset,
        name: get_string(entry, "name"),
        help: get_string(entry, "help"),
        group_name: get_string(entry, "group_name"),
        reserved: get_u64(entry, "reserved") as u32,
    }
}

/// The handler offset given numerically (0 when absent).
pub(crate) fn command_handler_offset(entry: &JsonObject) -> u32 {
    get_u64(entry, "handler_offset") as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(kind: MetaKind, text: &str) -> Result<JsonObject, String> {
        parse_payload(kind, text).map(|mut v| v.remove(0))
    }

    #[test]
    fn value_entries_normalise() {
        let e = one(
            MetaKind::Value,
            r#"{"groupId":"0x1","valueId":2,"flags":"ro|Persist","authLevel":"admin","init":"12.5","extra":[1]}"#,
        )
        .unwrap();
        assert_eq!(
            Value::Object(e.clone()),
            serde_json::json!({"group":1,"value":2,"flags":3,"auth":2,"init":12.5,"extra":[1]})
        );
        assert_eq!(normalise(MetaKind::Value, &e).unwrap(), e, "idempotent");
        let meta = to_value_meta(&e);
        assert_eq!((meta.group, meta.id, meta.init), (1, 2, 0x4A40));
    }

    #[test]
    fn value_errors() {
        let cases = [
            (r#"{"id":1}"#, ".value entry requires group/group_id"),
            (r#"{"group":1}"#, ".value entry requires id/value"),
            (
                r#"{"group":256,"id":1}"#,
                "value metadata 'group' out of range 0..255: 256",
            ),
            (
                r#"{"group":1,"id":1,"flags":"FAST"}"#,
                "value metadata 'flags' has unknown name 'FAST'",
            ),
            (
                r#"{"group":1.5,"id":1}"#,
                "value metadata 'group' must be an integer",
            ),
            ("[]", ".value JSON array must contain at least one entry"),
            ("[1]", ".value entry must be a JSON object"),
        ];
        for (text, message) in cases {
            assert_eq!(
                one(MetaKind::Value, text),
                Err(message.to_string()),
                "{text}"
            );
        }
        assert!(
            one(MetaKind::Value, "{")
                .unwrap_err()
                .starts_with("Invalid .value payload: ")
        );
    }

    #[test]
    fn command_handlers() {
        let e = one(
            MetaKind::Command,
            r#"{"group":1,"cmd_id":7,"handler":" h ","flags":"PIN|async"}"#,
        )
        .unwrap();
        assert_eq!(command_handler(&e), Some("h"));
        assert_eq!(e.get("flags"), Some(&Value::from(3)));
        let e = one(MetaKind::Command, r#"{"group":1,"id":7,"handler":12}"#).unwrap();
        assert_eq!(command_handler_offset(&e), 12);
        assert!(one(MetaKind::Command, r#"{"group":1,"id":7,"handler":""}"#).is_err());
        assert_eq!(
            one(MetaKind::Command, r#"{"group":1}"#),
            Err(".cmd entry requires id/cmd".into())
        );
    }

    #[test]
    fn mailbox_targets_are_trimmed() {
        let e = one(MetaKind::Mailbox, r#"{"name":" app:x ","capacity":4}"#).unwrap();
        assert_eq!(mailbox_target(&e), "app:x");
        assert_eq!(e.get("name"), Some(&Value::from(" app:x ")));
        assert_eq!(
            one(MetaKind::Mailbox, r#"{"target":"  "}"#),
            Err(".mailbox entry requires a non-empty 'target'".into())
        );
    }
}
