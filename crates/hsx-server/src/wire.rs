//! The wire format (`protocol.md` §1-§2): parsing request lines, typed access to request
//! fields with the protocol's coercion rules, and encoding replies.

use serde_json::{Map, Value, json};

/// Protocol version served.
pub const PROTOCOL_VERSION: u64 = 1;
/// Longest error text in a reply.
pub const MAX_ERROR_CHARS: usize = 512;

/// A parsed request: the lower-cased `cmd` and the whole object.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// `cmd`, trimmed and lower-cased.
    pub cmd: String,
    /// Every field of the request (unknown ones included).
    pub fields: Map<String, Value>,
}

/// Parse one request line (without its LF; a trailing CR is ignored). The error is the
/// protocol error text to reply with.
pub fn parse_request(line: &[u8]) -> Result<Request, String> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let value: Value = serde_json::from_slice(line).map_err(|_| "invalid_json".to_string())?;
    let Value::Object(fields) = value else {
        return Err("invalid_request".into());
    };
    let cmd = match fields.get("cmd") {
        Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_lowercase(),
        _ => return Err("missing_cmd".into()),
    };
    if let Some(v) = fields.get("version")
        && int_value(v) != Some(PROTOCOL_VERSION as i64)
    {
        return Err(format!("unsupported_version:{}", compact(v)));
    }
    Ok(Request { cmd, fields })
}

/// True for a line with nothing but JSON whitespace (ignored by the server).
pub fn is_blank(line: &[u8]) -> bool {
    line.iter()
        .all(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
}

/// Compact JSON text of a value.
pub fn compact(v: &Value) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "null".into())
}

/// An integer under the protocol's rules: a JSON integer, a number with zero fraction,
/// or a string with optional whitespace and sign and decimal, `0x`, `0o` or `0b` digits.
pub fn int_value(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64().or_else(|| {
            let f = n.as_f64()?;
            (f.fract() == 0.0 && f.abs() < 9.0e18).then_some(f as i64)
        }),
        Value::String(s) => parse_int_text(s),
        _ => None,
    }
}

/// Parse integer text: `200`, `-3`, `+0x1F`, `0o17`, `0b101` (leading zeros stay decimal).
pub fn parse_int_text(s: &str) -> Option<i64> {
    let t = s.trim();
    let (neg, rest) = match t.as_bytes().first()? {
        b'-' => (true, &t[1..]),
        b'+' => (false, &t[1..]),
        _ => (false, t),
    };
    let lower = rest.get(..2).map(str::to_ascii_lowercase);
    let (digits, radix) = match lower.as_deref() {
        Some("0x") => (&rest[2..], 16),
        Some("0o") => (&rest[2..], 8),
        Some("0b") => (&rest[2..], 2),
        _ => (rest, 10),
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let v = i64::from_str_radix(digits, radix).ok()?;
    Some(if neg { -v } else { v })
}

/// A boolean: `true`/`false`, `0`/`1`, or `true false on off yes no 1 0` in any case.
pub fn bool_value(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => match n.as_f64()? {
            0.0 => Some(false),
            1.0 => Some(true),
            _ => None,
        },
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "on" | "yes" | "1" => Some(true),
            "false" | "off" | "no" | "0" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// A float: a number or a numeric string.
pub fn float_value(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok().filter(|f| f.is_finite()),
        _ => None,
    }
}

/// Decode an even-length hex string.
pub fn hex_bytes(s: &str) -> Option<Vec<u8>> {
    let s = s.trim();
    if !s.len().is_multiple_of(2) || !s.is_ascii() {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok())
        .collect()
}

/// Upper-case hex of bytes.
pub fn to_hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02X}");
    }
    s
}

/// Typed access to a request's fields; errors are the protocol's error texts.
pub struct Args<'a> {
    cmd: &'a str,
    fields: &'a Map<String, Value>,
}

impl<'a> Args<'a> {
    /// Accessor over a request.
    pub fn new(req: &'a Request) -> Args<'a> {
        Args {
            cmd: &req.cmd,
            fields: &req.fields,
        }
    }

    /// Accessor over an arbitrary object (nested fields), errors naming `cmd`.
    pub fn of(cmd: &'a str, fields: &'a Map<String, Value>) -> Args<'a> {
        Args { cmd, fields }
    }

    /// The raw value of the first present, non-null key.
    pub fn raw(&self, keys: &[&str]) -> Option<(&'a str, &'a Value)> {
        keys.iter().find_map(|k| {
            self.fields
                .get_key_value(*k)
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.as_str(), v))
        })
    }

    /// `invalid value for '<field>': <json>`.
    pub fn invalid(field: &str, v: &Value) -> String {
        format!("invalid value for '{field}': {}", compact(v))
    }

    /// `<cmd> requires '<field>'`.
    pub fn missing(&self, field: &str) -> String {
        format!("{} requires '{field}'", self.cmd)
    }

    /// An optional integer within `lo..=hi`.
    pub fn int_in(&self, keys: &[&str], lo: i64, hi: i64) -> Result<Option<i64>, String> {
        match self.raw(keys) {
            None => Ok(None),
            Some((k, v)) => match int_value(v) {
                Some(n) if (lo..=hi).contains(&n) => Ok(Some(n)),
                _ => Err(Self::invalid(k, v)),
            },
        }
    }

    /// A required integer within `lo..=hi`.
    pub fn req_int_in(&self, keys: &[&str], lo: i64, hi: i64) -> Result<i64, String> {
        self.int_in(keys, lo, hi)?
            .ok_or_else(|| self.missing(keys[0]))
    }

    /// Optional pid (≥ 1).
    pub fn pid_opt(&self) -> Result<Option<u32>, String> {
        Ok(self.int_in(&["pid"], 1, u32::MAX as i64)?.map(|v| v as u32))
    }

    /// Required pid (≥ 1).
    pub fn pid(&self) -> Result<u32, String> {
        self.pid_opt()?.ok_or_else(|| self.missing("pid"))
    }

    /// Optional guest address (0..=0xFFFF) under `addr` or `address`.
    pub fn addr_opt(&self) -> Result<Option<u32>, String> {
        Ok(self
            .int_in(&["addr", "address"], 0, 0xFFFF)?
            .map(|v| v as u32))
    }

    /// Required guest address.
    pub fn addr(&self) -> Result<u32, String> {
        self.addr_opt()?.ok_or_else(|| self.missing("addr"))
    }

    /// Optional string.
    pub fn str_opt(&self, keys: &[&str]) -> Result<Option<&'a str>, String> {
        match self.raw(keys) {
            None => Ok(None),
            Some((_, Value::String(s))) => Ok(Some(s.as_str())),
            Some((k, v)) => Err(Self::invalid(k, v)),
        }
    }

    /// Optional lower-cased, trimmed `op`-like word.
    pub fn word(&self, keys: &[&str]) -> Result<Option<String>, String> {
        Ok(self
            .str_opt(keys)?
            .map(|s| s.trim().to_ascii_lowercase())
            .filter(|s| !s.is_empty()))
    }

    /// Optional boolean.
    pub fn bool_opt(&self, keys: &[&str]) -> Result<Option<bool>, String> {
        match self.raw(keys) {
            None => Ok(None),
            Some((k, v)) => bool_value(v).map(Some).ok_or_else(|| Self::invalid(k, v)),
        }
    }

    /// Optional float.
    pub fn float_opt(&self, keys: &[&str]) -> Result<Option<f64>, String> {
        match self.raw(keys) {
            None => Ok(None),
            Some((k, v)) => float_value(v).map(Some).ok_or_else(|| Self::invalid(k, v)),
        }
    }

    /// The field map.
    pub fn fields(&self) -> &'a Map<String, Value> {
        self.fields
    }
}

/// An ok reply with the given payload keys.
pub fn ok_reply(payload: Map<String, Value>) -> String {
    let mut obj = Map::with_capacity(payload.len() + 2);
    obj.insert("version".into(), json!(PROTOCOL_VERSION));
    obj.insert("status".into(), json!("ok"));
    for (k, v) in payload {
        if k != "seq" && k != "type" && k != "version" && k != "status" {
            obj.insert(k, v);
        }
    }
    compact(&Value::Object(obj))
}

/// An error reply: one line of at most [`MAX_ERROR_CHARS`] characters.
pub fn error_reply(error: &str) -> String {
    let one_line: String = error
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MAX_ERROR_CHARS)
        .collect();
    compact(&json!({"version": PROTOCOL_VERSION, "status": "error", "error": one_line}))
}

/// Drive the whole request path with arbitrary bytes (the fuzz target and its corpus
/// replay): frame into lines, parse each, read every field with every accessor, parse
/// event filters, and encode the reply. Panics only if an invariant breaks.
pub fn fuzz_one(data: &[u8]) {
    let mut reader = crate::framing::LineReader::new(data, 4096);
    while let Ok(Some(frame)) = reader.next_frame() {
        let crate::framing::Frame::Line(line) = frame else {
            continue;
        };
        let reply = match parse_request(&line) {
            Err(e) => {
                assert!(
                    e == "invalid_json"
                        || e == "invalid_request"
                        || e == "missing_cmd"
                        || e.starts_with("unsupported_version:"),
                    "unexpected error {e}"
                );
                error_reply(&e)
            }
            Ok(req) => {
                assert_eq!(req.cmd, req.cmd.trim().to_lowercase());
                let a = Args::new(&req);
                let mut out = Map::new();
                for key in req.fields.keys() {
                    let k = [key.as_str()];
                    let _ = a.int_in(&k, i64::MIN, i64::MAX);
                    let _ = a.bool_opt(&k);
                    let _ = a.float_opt(&k);
                    let _ = a.str_opt(&k);
                    let _ = a.word(&k);
                    if let Some(Value::String(s)) = req.fields.get(key) {
                        let _ = hex_bytes(s);
                    }
                }
                let _ = a.pid_opt();
                let _ = a.addr_opt();
                if let Err(e) = a.pid() {
                    out.insert("pid_error".into(), json!(e));
                }
                let _ = crate::events::Filter::parse(req.fields.get("filters"));
                ok_reply(out)
            }
        };
        assert!(!reply.contains('\n'));
        let v: Value = serde_json::from_str(&reply).expect("replies are JSON");
        assert!(v.get("seq").is_none() && v.get("type").is_none());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_errors() {
        assert_eq!(parse_request(b"not json"), Err("invalid_json".into()));
        assert_eq!(parse_request(b"[1]"), Err("invalid_request".into()));
        assert_eq!(parse_request(b"{}"), Err("missing_cmd".into()));
        assert_eq!(parse_request(br#"{"cmd":" "}"#), Err("missing_cmd".into()));
        assert_eq!(parse_request(br#"{"cmd":3}"#), Err("missing_cmd".into()));
        assert_eq!(
            parse_request(br#"{"cmd":"ps","version":2}"#),
            Err("unsupported_version:2".into())
        );
        assert_eq!(
            parse_request(br#"{"cmd":"ps","version":"x"}"#),
            Err("unsupported_version:\"x\"".into())
        );
        assert_eq!(parse_request(b"\xff\xfe"), Err("invalid_json".into()));
        let r = parse_request(b"{\"cmd\": \" PING \", \"version\": 1.0}\r").unwrap();
        assert_eq!(r.cmd, "ping");
    }

    #[test]
    fn integers_in_every_form() {
        for v in [
            json!(200),
            json!(200.0),
            json!("200"),
            json!(" 0xC8 "),
            json!("0b11001000"),
            json!("0o310"),
            json!("+200"),
        ] {
            assert_eq!(int_value(&v), Some(200), "{v}");
        }
        assert_eq!(int_value(&json!("0200")), Some(200));
        assert_eq!(int_value(&json!("-5")), Some(-5));
        for v in [
            json!(true),
            json!(""),
            json!("0x"),
            json!(1.5),
            json!("1e3"),
            json!(null),
        ] {
            assert_eq!(int_value(&v), None, "{v}");
        }
    }

    #[test]
    fn booleans_floats_hex() {
        assert_eq!(bool_value(&json!("On")), Some(true));
        assert_eq!(bool_value(&json!(0)), Some(false));
        assert_eq!(bool_value(&json!("maybe")), None);
        assert_eq!(float_value(&json!("2.5")), Some(2.5));
        assert_eq!(hex_bytes("0aFF"), Some(vec![10, 255]));
        assert_eq!(hex_bytes("abc"), None);
        assert_eq!(to_hex(&[1, 0xAB]), "01AB");
    }

    #[test]
    fn replies_never_carry_seq_or_type_and_errors_are_one_line() {
        let mut m = Map::new();
        m.insert("seq".into(), json!(1));
        m.insert("reply".into(), json!("pong"));
        let v: Value = serde_json::from_str(&ok_reply(m)).unwrap();
        assert_eq!(v, json!({"version": 1, "status": "ok", "reply": "pong"}));
        let long = "x\n".repeat(600);
        let e = error_reply(&long);
        assert!(!e.contains('\n'));
        let v: Value = serde_json::from_str(&e).unwrap();
        assert_eq!(v["error"].as_str().unwrap().chars().count(), 512);
    }

    #[test]
    fn args_accessors() {
        let r = parse_request(br#"{"cmd":"peek","pid":"2","addr":"0xEFF0","length":"4"}"#).unwrap();
        let a = Args::new(&r);
        assert_eq!(a.pid(), Ok(2));
        assert_eq!(a.addr(), Ok(0xEFF0));
        assert_eq!(a.int_in(&["length"], 1, 4096), Ok(Some(4)));
        let r = parse_request(br#"{"cmd":"peek","pid":0,"addr":65536}"#).unwrap();
        let a = Args::new(&r);
        assert_eq!(a.pid(), Err("invalid value for 'pid': 0".into()));
        assert_eq!(a.addr(), Err("invalid value for 'addr': 65536".into()));
        let r = parse_request(br#"{"cmd":"pause"}"#).unwrap();
        assert_eq!(Args::new(&r).pid(), Err("pause requires 'pid'".into()));
    }
}
