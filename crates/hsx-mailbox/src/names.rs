//! Target names and their resolution to descriptor keys (`mailbox.md` §4).

use std::fmt;

use crate::Pid;

/// Longest target string, NUL excluded (`mailbox.md` §2).
pub const MAX_NAME_BYTES: usize = 32;

/// Descriptor namespaces with their wire numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Namespace {
    /// `pid:N`, a task's general-purpose inbox.
    Pid = 0,
    /// `svc:X@N`, per-task service channels (stdio lives here).
    Svc = 1,
    /// `app:X` (global) or `app:X@N` (owned).
    App = 2,
    /// `shared:X`, always ownerless.
    Shared = 3,
}

impl Namespace {
    /// Wire number (0 pid, 1 svc, 2 app, 3 shared).
    pub fn number(self) -> u8 {
        self as u8
    }

    /// Prefix without the colon (`pid`, `svc`, `app`, `shared`).
    pub fn prefix(self) -> &'static str {
        match self {
            Namespace::Pid => "pid",
            Namespace::Svc => "svc",
            Namespace::App => "app",
            Namespace::Shared => "shared",
        }
    }
}

/// The identity of a descriptor: (namespace, name, owner).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    /// Namespace.
    pub namespace: Namespace,
    /// Name (for `pid:` the decimal owner pid).
    pub name: String,
    /// Owning pid; `None` for global `app:` and every `shared:` descriptor.
    pub owner: Option<Pid>,
}

impl Key {
    /// A key.
    pub fn new(namespace: Namespace, name: impl Into<String>, owner: Option<Pid>) -> Key {
        Key {
            namespace,
            name: name.into(),
            owner,
        }
    }
}

/// Canonical target text: `pid:N`, `svc:name@pid`, `app:name[@pid]`, `shared:name`
/// (`protocol.md` §6.3).
impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.namespace, self.owner) {
            (Namespace::Pid, _) => write!(f, "pid:{}", self.name),
            (ns, Some(owner)) => write!(f, "{}:{}@{}", ns.prefix(), self.name, owner),
            (ns, None) => write!(f, "{}:{}", ns.prefix(), self.name),
        }
    }
}

/// Why a target string is malformed; the text goes into `mailbox_error`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameError(pub &'static str);

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

/// `X`: one or more bytes in 0x21..0x7E other than `:` and `@`.
fn valid_name(x: &[u8]) -> bool {
    !x.is_empty()
        && x.iter()
            .all(|&b| (0x21..=0x7E).contains(&b) && b != b':' && b != b'@')
}

/// `N`: 1..5 decimal digits with value ≤ 65535.
fn parse_pid(n: &[u8]) -> Option<Pid> {
    if n.is_empty() || n.len() > 5 || !n.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let value = n
        .iter()
        .fold(0u32, |acc, &d| acc * 10 + u32::from(d - b'0'));
    (value <= 0xFFFF).then_some(value)
}

/// Split `X`, `X@` or `X@N` into the name and the owner suffix: `None` for no `@`,
/// `Some(None)` for a bare `@`, `Some(Some(n))` for `@N`.
fn split_owner(rest: &[u8]) -> Result<(&[u8], Option<Option<Pid>>), NameError> {
    match rest.iter().position(|&b| b == b'@') {
        None => Ok((rest, None)),
        Some(at) => {
            let (name, suffix) = (&rest[..at], &rest[at + 1..]);
            if suffix.is_empty() {
                Ok((name, Some(None)))
            } else {
                let pid = parse_pid(suffix).ok_or(NameError("owner after '@' is not a pid"))?;
                Ok((name, Some(Some(pid))))
            }
        }
    }
}

/// Resolve a target string for `caller` (0 = the host) into a key (`mailbox.md` §4).
/// The string excludes its NUL terminator.
pub fn parse_target(target: &[u8], caller: Pid) -> Result<Key, NameError> {
    if target.is_empty() {
        return Err(NameError("empty target"));
    }
    if target.len() > MAX_NAME_BYTES {
        return Err(NameError("target longer than 32 bytes"));
    }
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    if let Some(rest) = target.strip_prefix(b"pid:") {
        if rest.is_empty() {
            return Ok(Key::new(Namespace::Pid, caller.to_string(), Some(caller)));
        }
        let pid = parse_pid(rest).ok_or(NameError("pid: target needs a decimal pid"))?;
        return Ok(Key::new(Namespace::Pid, pid.to_string(), Some(pid)));
    }
    let (namespace, rest) = if let Some(rest) = target.strip_prefix(b"svc:") {
        (Namespace::Svc, rest)
    } else if let Some(rest) = target.strip_prefix(b"app:") {
        (Namespace::App, rest)
    } else if let Some(rest) = target.strip_prefix(b"shared:") {
        (Namespace::Shared, rest)
    } else {
        (Namespace::Svc, target)
    };
    let (name, suffix) = split_owner(rest)?;
    if !valid_name(name) {
        return Err(
            if namespace == Namespace::Svc && rest.len() == target.len() {
                NameError("unknown namespace prefix or invalid name")
            } else {
                NameError("name must be 1+ printable bytes without ':' or '@'")
            },
        );
    }
    let owner = match (namespace, suffix) {
        (Namespace::Shared, _) => None,
        (Namespace::App, None) => None,
        (_, None) | (_, Some(None)) => Some(caller),
        (_, Some(Some(pid))) => Some(pid),
    };
    Ok(Key::new(namespace, text(name), owner))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(ns: Namespace, name: &str, owner: Option<Pid>) -> Key {
        Key::new(ns, name, owner)
    }

    #[test]
    fn every_form_of_the_table_resolves() {
        use Namespace::*;
        let c = 5;
        let cases: &[(&str, Key)] = &[
            ("pid:", key(Pid, "5", Some(5))),
            ("pid:7", key(Pid, "7", Some(7))),
            ("pid:007", key(Pid, "7", Some(7))),
            ("svc:x", key(Svc, "x", Some(c))),
            ("svc:x@", key(Svc, "x", Some(c))),
            ("x", key(Svc, "x", Some(c))),
            ("x@", key(Svc, "x", Some(c))),
            ("svc:x@9", key(Svc, "x", Some(9))),
            ("x@9", key(Svc, "x", Some(9))),
            ("app:x", key(App, "x", None)),
            ("app:x@", key(App, "x", Some(c))),
            ("app:x@3", key(App, "x", Some(3))),
            ("shared:x", key(Shared, "x", None)),
            ("shared:x@3", key(Shared, "x", None)),
            ("svc:stdio.out@65535", key(Svc, "stdio.out", Some(65535))),
        ];
        for (text, want) in cases {
            assert_eq!(
                parse_target(text.as_bytes(), c).as_ref(),
                Ok(want),
                "{text}"
            );
        }
        assert_eq!(parse_target(b"pid:", 0), Ok(key(Pid, "0", Some(0))));
    }

    #[test]
    fn malformed_targets_are_refused() {
        let long = "a".repeat(33);
        for bad in [
            "",
            "pid:abc",
            "pid:1@2",
            "pid:123456",
            "pid:65536",
            "svc:x@abc",
            "svc:",
            "app:a b",
            "ap:x",
            "app:",
            "shared:",
            "@5",
            "svc:@5",
            "x@123456",
            "x@1@2",
            "svc:a:b",
            "a\u{7f}",
            long.as_str(),
        ] {
            assert!(parse_target(bad.as_bytes(), 1).is_err(), "{bad:?} accepted");
        }
        assert!(parse_target(&[b'a'; 32], 1).is_ok());
        assert!(parse_target(b"a\xff", 1).is_err());
    }

    #[test]
    fn display_is_the_canonical_wire_form() {
        assert_eq!(key(Namespace::Pid, "4", Some(4)).to_string(), "pid:4");
        assert_eq!(
            key(Namespace::Svc, "stdio.in", Some(2)).to_string(),
            "svc:stdio.in@2"
        );
        assert_eq!(key(Namespace::App, "x", None).to_string(), "app:x");
        assert_eq!(key(Namespace::Shared, "t", None).to_string(), "shared:t");
    }
}
