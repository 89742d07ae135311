//! Lexical rules of `mvasm.md` §1: symbols, registers, numeric, character and string
//! literals, comments, labels and operand separation.
//!
//! Everything works on one physical line and reports positions as byte offsets into it;
//! diagnostics turn them into character columns.

/// A lexical error at byte offset `at` of the line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct LexError {
    pub at: usize,
    pub message: String,
}

impl LexError {
    pub fn new(at: usize, message: impl Into<String>) -> LexError {
        LexError {
            at,
            message: message.into(),
        }
    }
}

/// First character of a symbol: `[A-Za-z_.]`.
pub(crate) fn is_symbol_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_' || c == '.'
}

/// Later characters of a symbol: `[A-Za-z0-9_.$]`.
pub(crate) fn is_symbol_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '$'
}

/// Length in bytes of the symbol at the start of `text` (0 if none).
pub(crate) fn symbol_len(text: &str) -> usize {
    let mut chars = text.char_indices();
    match chars.next() {
        Some((_, c)) if is_symbol_start(c) => {}
        _ => return 0,
    }
    chars
        .find(|&(_, c)| !is_symbol_char(c))
        .map_or(text.len(), |(i, _)| i)
}

/// The register number of `R0`..`R15` (any case).
pub(crate) fn register(text: &str) -> Option<u8> {
    let digits = text.strip_prefix(['R', 'r'])?;
    if digits.is_empty() || digits.len() > 2 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if digits.len() == 2 && digits.starts_with('0') {
        return None;
    }
    digits.parse::<u8>().ok().filter(|&n| n < 16)
}

/// True if `text` is a valid symbol (`mvasm.md` §1): the syntax matches and it is not a
/// register name.
pub(crate) fn is_symbol(text: &str) -> bool {
    !text.is_empty() && symbol_len(text) == text.len() && register(text).is_none()
}

/// True if `text` starts like a number: a digit, or a sign followed by a digit.
pub(crate) fn looks_numeric(text: &str) -> bool {
    let unsigned = text.strip_prefix(['+', '-']).unwrap_or(text);
    unsigned.starts_with(|c: char| c.is_ascii_digit())
}

/// Parse a numeric literal (§1.1): optional sign, then decimal, `0x` hexadecimal or `0b`
/// binary digits, with `_` allowed between digits. `Err` carries the message.
pub(crate) fn parse_number(text: &str) -> Result<i64, String> {
    let invalid = || format!("Invalid number '{text}'");
    let (negative, unsigned) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let (digits, radix) = match unsigned.get(..2) {
        Some("0x" | "0X") => (&unsigned[2..], 16),
        Some("0b" | "0B") => (&unsigned[2..], 2),
        _ => (unsigned, 10),
    };
    if digits.is_empty()
        || digits.starts_with('_')
        || digits.ends_with('_')
        || digits.contains("__")
    {
        return Err(invalid());
    }
    let mut value: i128 = 0;
    for c in digits.chars().filter(|&c| c != '_') {
        let digit = c.to_digit(radix).ok_or_else(invalid)?;
        value = value * i128::from(radix) + i128::from(digit);
        if value > i128::from(u64::MAX) {
            return Err(format!("Number out of range: {text}"));
        }
    }
    let value = if negative { -value } else { value };
    i64::try_from(value).map_err(|_| format!("Number out of range: {text}"))
}

/// Decode a quoted literal starting at byte `start` of `line` (which holds `'` or `"`).
/// Returns the bytes and the offset just past the closing quote.
pub(crate) fn quoted(line: &str, start: usize) -> Result<(Vec<u8>, usize), LexError> {
    let quote = line[start..].chars().next().unwrap_or('"');
    let mut bytes = Vec::new();
    let mut iter = line[start + quote.len_utf8()..].char_indices();
    let base = start + quote.len_utf8();
    while let Some((i, c)) = iter.next() {
        if c == quote {
            return Ok((bytes, base + i + c.len_utf8()));
        }
        if c != '\\' {
            let mut buf = [0u8; 4];
            bytes.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            continue;
        }
        let Some((_, e)) = iter.next() else {
            return Err(LexError::new(start, "Unterminated string literal"));
        };
        let byte = match e {
            'n' => b'\n',
            'r' => b'\r',
            't' => b'\t',
            '0' => 0,
            '\\' => b'\\',
            '"' => b'"',
            '\'' => b'\'',
            'x' => {
                let hex: String = iter.clone().take(2).map(|(_, c)| c).collect();
                match (hex.len(), u8::from_str_radix(&hex, 16)) {
                    (2, Ok(v)) if hex.chars().all(|c| c.is_ascii_hexdigit()) => {
                        iter.next();
                        iter.next();
                        v
                    }
                    _ => {
                        return Err(LexError::new(
                            base + i,
                            "Invalid escape: \\x needs exactly two hex digits",
                        ));
                    }
                }
            }
            other => {
                return Err(LexError::new(
                    base + i,
                    format!("Invalid escape sequence '\\{other}'"),
                ));
            }
        };
        bytes.push(byte);
    }
    Err(LexError::new(start, "Unterminated string literal"))
}

/// End (byte offset) of the code part of `line` from `from` on: the position of a `;`
/// outside string and character literals, or the line length.
pub(crate) fn code_end(line: &str, from: usize) -> Result<usize, LexError> {
    let mut i = from;
    while let Some(c) = line[i..].chars().next() {
        match c {
            ';' => return Ok(i),
            '"' | '\'' => i = quoted(line, i)?.1,
            _ => i += c.len_utf8(),
        }
    }
    Ok(line.len())
}

/// One operand as written: its text and its byte offset in the line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Operand<'a> {
    pub text: &'a str,
    pub at: usize,
}

/// Split `line[start..end]` into operands (§1): commas and/or whitespace separate, except
/// whitespace inside `[ ]`, `( )` and around `=`. Literals are kept whole.
pub(crate) fn split_operands<'a>(
    line: &'a str,
    start: usize,
    end: usize,
) -> Result<Vec<Operand<'a>>, LexError> {
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut current: Option<usize> = None; // start of the operand being read
    let mut expect_operand_at: Option<usize> = None; // a comma was read, an operand must follow
    let mut i = start;
    let finish = |out: &mut Vec<Operand<'a>>, from: usize, to: usize| {
        let text = line[from..to].trim_end();
        out.push(Operand { text, at: from });
    };
    while i < end {
        let c = line[i..].chars().next().unwrap_or(' ');
        match c {
            '"' | '\'' => {
                current.get_or_insert(i);
                expect_operand_at = None;
                i = quoted(line, i)?.1.min(end);
                continue;
            }
            '[' | '(' => depth += 1,
            ']' | ')' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                match current.take() {
                    Some(from) => finish(&mut out, from, i),
                    None => return Err(LexError::new(i, "Missing operand before ','")),
                }
                expect_operand_at = Some(i);
                i += 1;
                continue;
            }
            c if c.is_whitespace() && depth == 0 => {
                if let Some(from) = current {
                    let rest = line[i..end].trim_start();
                    let glued = line[from..i].ends_with('=') || rest.starts_with('=');
                    if !glued {
                        finish(&mut out, from, i);
                        current = None;
                    }
                }
                i += c.len_utf8();
                continue;
            }
            _ => {}
        }
        current.get_or_insert(i);
        expect_operand_at = None;
        i += c.len_utf8();
    }
    if let Some(from) = current {
        finish(&mut out, from, end);
    } else if let Some(at) = expect_operand_at {
        return Err(LexError::new(at, "Missing operand after ','"));
    }
    Ok(out)
}

/// Labels at the start of a line (§1): `{symbol ":"}*` after indentation. Returns the
/// labels (name, byte offset) and the offset where the statement starts.
pub(crate) fn labels(line: &str) -> (Vec<(&str, usize)>, usize) {
    let mut found = Vec::new();
    let mut i = line.len() - line.trim_start().len();
    loop {
        let len = symbol_len(&line[i..]);
        if len == 0 {
            break;
        }
        let after = &line[i + len..];
        let spaces = after.len() - after.trim_start_matches([' ', '\t']).len();
        if !after[spaces..].starts_with(':') {
            break;
        }
        found.push((&line[i..i + len], i));
        let next = i + len + spaces + 1;
        i = next + (line[next..].len() - line[next..].trim_start().len());
    }
    (found, i)
}

/// The statement head (mnemonic or directive) at `start`: up to whitespace, `,`, `;`,
/// `[`, or a quote.
pub(crate) fn head(line: &str, start: usize) -> &str {
    let rest = &line[start..];
    let len = rest
        .find(|c: char| c.is_whitespace() || matches!(c, ',' | ';' | '[' | '"' | '\''))
        .unwrap_or(rest.len());
    &rest[..len]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        let ok: &[(&str, i64)] = &[
            ("42", 42),
            ("-7", -7),
            ("+5", 5),
            ("1_000", 1000),
            ("0x7FF", 0x7FF),
            ("-0x5", -5),
            ("0b1010", 10),
            ("0XfF", 255),
            ("0xFFFFFFFF", 0xFFFF_FFFF),
        ];
        for &(text, value) in ok {
            assert_eq!(parse_number(text), Ok(value), "{text}");
        }
        for bad in [
            "0x",
            "1__0",
            "_1",
            "1_",
            "12ab",
            "0b102",
            "-",
            "0x1_",
            "99999999999999999999999",
        ] {
            assert!(parse_number(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn registers_and_symbols() {
        assert_eq!(register("R0"), Some(0));
        assert_eq!(register("r15"), Some(15));
        assert_eq!(register("R16"), None);
        assert_eq!(register("R01"), None);
        assert!(!is_symbol("R3"));
        assert!(is_symbol("R16"));
        assert!(is_symbol(".L1$x"));
        assert!(!is_symbol("1abc"));
    }

    #[test]
    fn quoted_literals_produce_one_byte_per_escape() {
        let line = r#""a\nb;c" 'x'"#;
        assert_eq!(quoted(line, 0), Ok((b"a\nb;c".to_vec(), 8)));
        assert_eq!(quoted(r"'\x41Z'", 0).map(|r| r.0), Ok(b"AZ".to_vec()));
        assert_eq!(quoted("\"é\"", 0).map(|r| r.0), Ok("é".as_bytes().to_vec()));
        assert!(quoted(r#""\q""#, 0).is_err());
        assert!(quoted(r#""\x4""#, 0).is_err());
        assert!(quoted(r#""abc"#, 0).is_err());
        assert!(quoted(r#""abc\"#, 0).is_err());
    }

    #[test]
    fn comments_skip_literals() {
        assert_eq!(code_end(".byte ';', 1 ; c", 0), Ok(13));
        assert_eq!(code_end(r#".asciz "a;b""#, 0), Ok(12));
        assert!(code_end(".byte 'x", 0).is_err());
    }

    #[test]
    fn operand_separation() {
        let texts = |line: &str| -> Vec<String> {
            split_operands(line, 0, line.len())
                .unwrap()
                .iter()
                .map(|o| o.text.to_string())
                .collect()
        };
        assert_eq!(texts("R1 R2 R3"), ["R1", "R2", "R3"]);
        assert_eq!(texts("R1, [R2 + -4]"), ["R1", "[R2 + -4]"]);
        assert_eq!(texts("mod = 5 fn=2"), ["mod = 5", "fn=2"]);
        assert_eq!(texts("MOD=0x5, FN=0x2"), ["MOD=0x5", "FN=0x2"]);
        assert_eq!(texts("'a b', \"c d\""), ["'a b'", "\"c d\""]);
        assert_eq!(texts("lo16( x )"), ["lo16( x )"]);
        assert!(split_operands("R1,,R2", 0, 6).is_err());
        assert!(split_operands("R1,", 0, 3).is_err());
        assert!(split_operands(",R1", 0, 3).is_err());
    }

    #[test]
    fn labels_share_lines() {
        let (found, at) = labels("  a: b : ADD R1, R1, R2");
        assert_eq!(found, [("a", 2), ("b", 5)]);
        assert_eq!(at, 9);
        assert_eq!(labels(".byte 1").0, []);
        assert_eq!(labels("x:").1, 2);
    }
}
