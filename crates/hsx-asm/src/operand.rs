//! Operand parsing (`mvasm.md` §1.2, §3.2, §4): registers, values (numbers, character
//! literals, symbol references), and memory operands.

use crate::lex::{self, LexError, Operand};
use crate::object::RefKind;

/// A symbol reference as written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Ref {
    pub kind: RefKind,
    pub name: String,
    /// The operand text (`name`, `lo16(name)`…), for messages.
    pub text: String,
    /// Byte offset of the operand in its line.
    pub at: usize,
}

/// A value operand.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Value {
    Num(i64),
    Ref(Ref),
}

/// A memory operand `[Rn ± off]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Mem {
    pub base: u8,
    pub offset: Value,
}

/// A register operand: `R0`..`R15`, else `Bad register 'X'`.
pub(crate) fn register(op: Operand<'_>) -> Result<u8, LexError> {
    lex::register(op.text)
        .ok_or_else(|| LexError::new(op.at, format!("Bad register '{}'", op.text)))
}

/// A quoted operand's bytes.
pub(crate) fn quoted_bytes(op: Operand<'_>) -> Result<Vec<u8>, LexError> {
    let (bytes, end) =
        lex::quoted(op.text, 0).map_err(|e| LexError::new(op.at + e.at, e.message))?;
    if end != op.text.len() {
        return Err(LexError::new(
            op.at + end,
            format!("Unexpected text after literal: '{}'", &op.text[end..]),
        ));
    }
    Ok(bytes)
}

/// True if the operand is a quoted literal.
pub(crate) fn is_quoted(op: Operand<'_>) -> bool {
    op.text.starts_with(['"', '\''])
}

/// A value: number, character literal, `name`, `lo16(name)`, `hi16(name)`, `off16(name)`.
pub(crate) fn value(op: Operand<'_>) -> Result<Value, LexError> {
    let text = op.text;
    let err = |message: String| LexError::new(op.at, message);
    if text.starts_with('"') {
        return Err(err("A string literal is not allowed here".into()));
    }
    if text.starts_with('\'') {
        let bytes = quoted_bytes(op)?;
        return match bytes[..] {
            [b] => Ok(Value::Num(i64::from(b))),
            _ => Err(err(
                "A character literal must denote exactly one byte".into()
            )),
        };
    }
    if lex::looks_numeric(text) {
        return lex::parse_number(text).map(Value::Num).map_err(err);
    }
    if lex::register(text).is_some() {
        return Err(err(format!("Expected a value, found register '{text}'")));
    }
    let head = lex::symbol_len(text);
    if head == text.len() && head > 0 {
        return Ok(Value::Ref(Ref {
            kind: RefKind::Symbol,
            name: text.into(),
            text: text.into(),
            at: op.at,
        }));
    }
    if head > 0 && text[head..].starts_with('(') && text.ends_with(')') {
        let kind = match text[..head].to_ascii_lowercase().as_str() {
            "lo16" => RefKind::Lo16,
            "hi16" => RefKind::Hi16,
            "off16" => RefKind::Off16,
            _ => return Err(err(format!("Unknown function '{}'", &text[..head]))),
        };
        let name = text[head + 1..text.len() - 1].trim();
        if !lex::is_symbol(name) {
            return Err(err(format!(
                "Expected a symbol inside {}(), found '{name}'",
                &text[..head]
            )));
        }
        return Ok(Value::Ref(Ref {
            kind,
            name: name.into(),
            text: text.into(),
            at: op.at,
        }));
    }
    Err(err(format!("Invalid operand '{text}'")))
}

/// A memory operand: `[Rn]`, `[Rn + off]`, `[Rn - off]`, `[Rn + -off]`, `[Rn + ref]`.
/// Numeric offsets must end up in −2048..2047.
pub(crate) fn mem(op: Operand<'_>) -> Result<Mem, LexError> {
    let text = op.text;
    let Some(inner) = text.strip_prefix('[').and_then(|t| t.strip_suffix(']')) else {
        return Err(LexError::new(
            op.at,
            format!("Expected a memory operand [Rn+off], found '{text}'"),
        ));
    };
    let inner_at = op.at + 1;
    let lead = inner.len() - inner.trim_start().len();
    let reg_len = inner[lead..]
        .find(|c: char| c.is_whitespace() || c == '+' || c == '-')
        .unwrap_or(inner.len() - lead);
    let reg = Operand {
        text: &inner[lead..lead + reg_len],
        at: inner_at + lead,
    };
    let base = register(reg)?;
    let rest_start = lead + reg_len;
    let rest = inner[rest_start..].trim_start();
    let rest_at = inner_at + rest_start + (inner[rest_start..].len() - rest.len());
    if rest.is_empty() {
        return Ok(Mem {
            base,
            offset: Value::Num(0),
        });
    }
    let negative = match rest.as_bytes()[0] {
        b'+' => false,
        b'-' => true,
        _ => {
            return Err(LexError::new(
                rest_at,
                format!("Expected '+' or '-' in memory operand, found '{rest}'"),
            ));
        }
    };
    let term = rest[1..].trim_start();
    let term_at = rest_at + 1 + (rest[1..].len() - term.len());
    let term = term.trim_end();
    if term.is_empty() {
        return Err(LexError::new(rest_at, "Missing offset in memory operand"));
    }
    let offset = match value(Operand {
        text: term,
        at: term_at,
    })? {
        Value::Num(n) => {
            let n = if negative { -n } else { n };
            if !(-2048..=2047).contains(&n) {
                return Err(LexError::new(
                    term_at,
                    format!("Immediate out of 12-bit signed range: {n}"),
                ));
            }
            Value::Num(n)
        }
        Value::Ref(_) if negative => {
            return Err(LexError::new(term_at, "A reference cannot be subtracted"));
        }
        reference => reference,
    };
    Ok(Mem { base, offset })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(text: &str) -> Operand<'_> {
        Operand { text, at: 0 }
    }

    #[test]
    fn values() {
        assert_eq!(value(op("-0x10")), Ok(Value::Num(-16)));
        assert_eq!(value(op(r"'\n'")), Ok(Value::Num(10)));
        assert!(value(op("'ab'")).is_err());
        assert!(value(op("\"a\"")).is_err());
        assert!(value(op("R1")).is_err());
        let Value::Ref(r) = value(op("OFF16( target )")).unwrap() else {
            panic!()
        };
        assert_eq!((r.kind, r.name.as_str()), (RefKind::Off16, "target"));
        assert!(value(op("foo(x)")).is_err());
        assert!(value(op("lo16(R1)")).is_err());
        assert!(value(op("a+b")).is_err());
    }

    #[test]
    fn memory_operands() {
        for text in ["[R2 - 4]", "[R2+-4]", "[R2-4]", "[ R2 + -4 ]"] {
            assert_eq!(
                mem(op(text)),
                Ok(Mem {
                    base: 2,
                    offset: Value::Num(-4)
                }),
                "{text}"
            );
        }
        assert_eq!(
            mem(op("[R2]")),
            Ok(Mem {
                base: 2,
                offset: Value::Num(0)
            })
        );
        assert!(matches!(mem(op("[R7+x]")).unwrap().offset, Value::Ref(_)));
        assert_eq!(
            mem(op("[R1+2048]")).unwrap_err().message,
            "Immediate out of 12-bit signed range: 2048"
        );
        assert!(mem(op("[R1-x]")).is_err());
        assert!(mem(op("[R16]")).is_err());
        assert!(mem(op("[R1 4]")).is_err());
        assert!(mem(op("R1")).is_err());
    }
}
