//! Number arguments: decimal, `0x` hex, `0o` octal, `0b` binary (`tools.md` §1).

/// Parse an unsigned number in any of the accepted bases; for clap `value_parser`.
pub fn parse_u64(text: &str) -> Result<u64, String> {
    let t = text.trim().replace('_', "");
    let (digits, radix) = match t.get(..2).map(|p| p.to_ascii_lowercase()) {
        Some(p) if p == "0x" => (&t[2..], 16),
        Some(p) if p == "0o" => (&t[2..], 8),
        Some(p) if p == "0b" => (&t[2..], 2),
        _ => (&t[..], 10),
    };
    u64::from_str_radix(digits, radix).map_err(|_| format!("invalid number '{text}'"))
}

/// Parse a number that must fit in a u32.
pub fn parse_u32(text: &str) -> Result<u32, String> {
    let v = parse_u64(text)?;
    u32::try_from(v).map_err(|_| format!("number '{text}' exceeds 32 bits"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_every_base() {
        assert_eq!(parse_u64("42"), Ok(42));
        assert_eq!(parse_u64("0x2A"), Ok(42));
        assert_eq!(parse_u64("0o52"), Ok(42));
        assert_eq!(parse_u64("0b101010"), Ok(42));
        assert_eq!(parse_u64("1_000"), Ok(1000));
        assert!(parse_u64("0xZZ").is_err());
        assert!(parse_u32("0x1_0000_0000").is_err());
    }
}
