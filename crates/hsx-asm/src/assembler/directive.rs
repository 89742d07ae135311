//! Directives (`mvasm.md` §2, §2.1, §6).

use std::path::PathBuf;

use super::instr::number;
use super::{Assembler, EntrySpec, MAX_INCLUDE_DEPTH, Section, Target, read_source};
use crate::lex::{self, LexError, Operand};
use crate::meta::{self, MetaKind};
use crate::object::RelocType;
use crate::operand::{self, Value};
use crate::source::{FileId, Loc, SourceFile, split_lines};

/// Require exactly `n` operands of directive `name`.
fn arity(name: &str, ops: &[Operand<'_>], n: usize, stmt_at: usize) -> Result<(), LexError> {
    if ops.len() < n {
        return Err(LexError::new(
            stmt_at,
            format!("Missing operand: {name} expects {n}"),
        ));
    }
    match ops.get(n) {
        Some(extra) => Err(LexError::new(
            extra.at,
            format!("Unexpected operand '{}' for {name}", extra.text),
        )),
        None => Ok(()),
    }
}

impl Assembler<'_> {
    /// Assemble one directive statement (everything but the metadata directives).
    pub(super) fn directive(
        &mut self,
        head: &str,
        ops: &[Operand<'_>],
        loc: Loc,
        file: FileId,
        depth: usize,
    ) {
        let name = head.to_ascii_lowercase();
        let at = loc.byte as usize;
        let result = match name.as_str() {
            ".text" | ".data" => arity(&name, ops, 0, at).map(|()| {
                self.section = if name == ".text" {
                    Section::Text
                } else {
                    Section::Data
                };
            }),
            ".entry" => self.entry(ops, loc),
            ".org" => self.org(ops, loc),
            ".word" if self.section == Section::Text => self.text_words(ops, loc),
            ".word" | ".half" | ".hword" | ".byte" | ".ascii" | ".asciz" | ".string" | ".align"
            | ".zero"
                if self.section == Section::Text =>
            {
                Err(LexError::new(at, format!("{name} is only valid in .data")))
            }
            ".word" => self.data_values(4, &name, ops, loc),
            ".half" | ".hword" => self.data_values(2, &name, ops, loc),
            ".byte" => self.data_values(1, &name, ops, loc),
            ".ascii" | ".asciz" | ".string" => self.string(&name, ops, loc),
            ".align" => self.align(ops, loc),
            ".zero" => self.zero(ops, loc),
            ".extern" | ".export" | ".import" => self.declare(&name, ops, loc),
            ".include" => self.include(ops, loc, file, depth),
            _ => Err(LexError::new(at, format!("Unknown directive: {head}"))),
        };
        if let Err(e) = result {
            self.lex_error(loc, e);
        }
    }

    fn entry(&mut self, ops: &[Operand<'_>], loc: Loc) -> Result<(), LexError> {
        let at = loc.byte as usize;
        if self.section != Section::Text {
            return Err(LexError::new(at, ".entry is only valid in .text"));
        }
        if self.entry.is_some() {
            return Err(LexError::new(at, "More than one .entry in this unit"));
        }
        if ops.len() > 1 {
            arity(".entry", ops, 1, at)?;
        }
        let spec = match ops.first() {
            None => EntrySpec::Offset(self.text_offset()),
            Some(&o) => match operand::value(o)? {
                Value::Num(n) if (0..=0xFFFF).contains(&n) && n % 4 == 0 => {
                    EntrySpec::Offset(n as u32)
                }
                Value::Num(n) => {
                    return Err(LexError::new(
                        o.at,
                        format!(".entry offset must be a multiple of 4 in 0..0xFFFC: {n}"),
                    ));
                }
                Value::Ref(r) if r.kind == crate::object::RefKind::Symbol => {
                    EntrySpec::Symbol(r.name, loc.at(o.at))
                }
                Value::Ref(_) => {
                    return Err(LexError::new(
                        o.at,
                        ".entry expects an offset or a .text label",
                    ));
                }
            },
        };
        self.entry = Some((spec, loc));
        Ok(())
    }

    fn org(&mut self, ops: &[Operand<'_>], loc: Loc) -> Result<(), LexError> {
        let at = loc.byte as usize;
        if self.section != Section::Text {
            return Err(LexError::new(at, ".org is only valid in .text"));
        }
        arity(".org", ops, 1, at)?;
        let n = number(ops[0], ".org offset")?;
        let current = i64::from(self.text_offset());
        if n % 4 != 0 || n < 0 {
            return Err(LexError::new(
                ops[0].at,
                format!(".org offset must be a multiple of 4: {n}"),
            ));
        }
        if n < current {
            return Err(LexError::new(
                ops[0].at,
                format!(".org offset 0x{n:X} is below the current offset 0x{current:X}"),
            ));
        }
        let words = usize::try_from((n - current) / 4).unwrap_or(usize::MAX);
        if self.code_room(words, loc) {
            self.code.resize(self.code.len() + words, 0);
        }
        Ok(())
    }

    /// `.word N, …` in .text: raw code words.
    fn text_words(&mut self, ops: &[Operand<'_>], loc: Loc) -> Result<(), LexError> {
        if ops.is_empty() {
            arity(".word", ops, 1, loc.byte as usize)?;
        }
        for &o in ops {
            if operand::is_quoted(o) && o.text.starts_with('"') {
                return Err(LexError::new(o.at, ".word in .text takes numbers only"));
            }
            let n = match operand::value(o)? {
                Value::Num(n) => n,
                Value::Ref(_) => {
                    return Err(LexError::new(o.at, ".word in .text takes numbers only"));
                }
            };
            if !(-(1i64 << 31)..=0xFFFF_FFFF).contains(&n) {
                return Err(LexError::new(
                    o.at,
                    format!("Value out of range for .word: {n}"),
                ));
            }
            if self.code_room(1, loc) {
                self.code.push(n as u32);
            }
        }
        Ok(())
    }

    /// `.byte`/`.half`/`.word` in .data.
    fn data_values(
        &mut self,
        width: usize,
        name: &str,
        ops: &[Operand<'_>],
        loc: Loc,
    ) -> Result<(), LexError> {
        if ops.is_empty() {
            arity(name, ops, 1, loc.byte as usize)?;
        }
        let (min, max): (i64, i64) = match width {
            1 => (-128, 255),
            2 => (-32768, 65535),
            _ => (-(1 << 31), 0xFFFF_FFFF),
        };
        for &o in ops {
            if width == 1 && operand::is_quoted(o) {
                let bytes = operand::quoted_bytes(o)?;
                if self.data_room(bytes.len() as u64, loc) {
                    self.rodata.extend_from_slice(&bytes);
                }
                continue;
            }
            let value = operand::value(o)?;
            if !self.data_room(width as u64, loc) {
                return Ok(());
            }
            match value {
                Value::Num(n) if (min..=max).contains(&n) => {
                    self.rodata
                        .extend_from_slice(&(n as u32).to_le_bytes()[..width]);
                }
                Value::Num(n) => {
                    return Err(LexError::new(
                        o.at,
                        format!("Value out of range for {name}: {n}"),
                    ));
                }
                Value::Ref(r) => {
                    let ty = match width {
                        1 => RelocType::DataByte,
                        2 => RelocType::DataHalf,
                        _ => RelocType::DataWord,
                    };
                    let offset = self.data_offset();
                    self.fixup(ty, offset, None, Target::Ref(r.clone()), loc.at(r.at));
                    self.rodata.extend(std::iter::repeat_n(0, width));
                }
            }
        }
        Ok(())
    }

    fn string(&mut self, name: &str, ops: &[Operand<'_>], loc: Loc) -> Result<(), LexError> {
        arity(name, ops, 1, loc.byte as usize)?;
        if !operand::is_quoted(ops[0]) {
            return Err(LexError::new(
                ops[0].at,
                format!("{name} expects a string literal"),
            ));
        }
        let mut bytes = operand::quoted_bytes(ops[0])?;
        if name != ".ascii" {
            bytes.push(0);
        }
        if self.data_room(bytes.len() as u64, loc) {
            self.rodata.extend_from_slice(&bytes);
        }
        Ok(())
    }

    fn align(&mut self, ops: &[Operand<'_>], loc: Loc) -> Result<(), LexError> {
        arity(".align", ops, 1, loc.byte as usize)?;
        let n = number(ops[0], ".align")?;
        if !(1..=0x4000).contains(&n) || n & (n - 1) != 0 {
            return Err(LexError::new(
                ops[0].at,
                format!(".align expects a power of two in 1..0x4000: {n}"),
            ));
        }
        let n = n as usize;
        let pad = (n - self.rodata.len() % n) % n;
        if self.data_room(pad as u64, loc) {
            self.rodata.resize(self.rodata.len() + pad, 0);
        }
        self.rodata_align = self.rodata_align.max(n as u32);
        Ok(())
    }

    fn zero(&mut self, ops: &[Operand<'_>], loc: Loc) -> Result<(), LexError> {
        arity(".zero", ops, 1, loc.byte as usize)?;
        let n = number(ops[0], ".zero count")?;
        let Ok(n) = u64::try_from(n) else {
            return Err(LexError::new(
                ops[0].at,
                format!(".zero expects a non-negative count: {n}"),
            ));
        };
        if self.data_room(n, loc) {
            self.rodata.resize(self.rodata.len() + n as usize, 0);
        }
        Ok(())
    }

    fn declare(&mut self, name: &str, ops: &[Operand<'_>], loc: Loc) -> Result<(), LexError> {
        if ops.is_empty() {
            arity(name, ops, 1, loc.byte as usize)?;
        }
        for &o in ops {
            if !lex::is_symbol(o.text) {
                return Err(LexError::new(
                    o.at,
                    format!("Invalid symbol name '{}'", o.text),
                ));
            }
            let at = loc.at(o.at);
            match name {
                ".extern" => {
                    self.decls.externs.entry(o.text.to_string()).or_insert(at);
                }
                ".import" => {
                    self.decls.imports.entry(o.text.to_string()).or_insert(at);
                }
                _ => self.decls.exports.push((o.text.to_string(), at)),
            }
        }
        Ok(())
    }

    fn include(
        &mut self,
        ops: &[Operand<'_>],
        loc: Loc,
        file: FileId,
        depth: usize,
    ) -> Result<(), LexError> {
        arity(".include", ops, 1, loc.byte as usize)?;
        let o = ops[0];
        let path = if operand::is_quoted(o) {
            String::from_utf8(operand::quoted_bytes(o)?)
                .map_err(|_| LexError::new(o.at, "Include path is not valid UTF-8"))?
        } else {
            o.text.to_string()
        };
        let err = |message: String| LexError::new(o.at, message);
        let dir = self.map.file(file).dir.clone();
        let found = std::iter::once(dir.join(&path))
            .chain(self.opts.include_dirs.iter().map(|d| d.join(&path)))
            .find(|candidate| candidate.is_file())
            .ok_or_else(|| err(format!("Included file not found: {path}")))?;
        let canonical = std::fs::canonicalize(&found).unwrap_or_else(|_| found.clone());
        if self.map.chain_contains(file, loc.site, &canonical) {
            return Err(err(format!("Recursive .include detected for {path}")));
        }
        if depth + 1 >= MAX_INCLUDE_DEPTH {
            return Err(err(format!(
                ".include nesting deeper than {MAX_INCLUDE_DEPTH} at {path}"
            )));
        }
        let text = read_source(&found).map_err(|e| err(format!("Included file {path}: {e}")))?;
        let id = self.map.add(SourceFile {
            name: found.display().to_string(),
            dir: found.parent().map(PathBuf::from).unwrap_or_default(),
            canonical: Some(canonical),
            lines: split_lines(&text),
        });
        let site = self.map.add_site(file, loc.line, loc.site);
        self.run_file(id, Some(site), depth + 1);
        Ok(())
    }

    /// `.value J` / `.cmd J` / `.mailbox J`: J starts at byte `start` of line `index` and
    /// may span lines until its outermost bracket closes. Returns the next line's index.
    pub(super) fn metadata_directive(
        &mut self,
        kind: MetaKind,
        file: FileId,
        index: usize,
        start: usize,
        loc: Loc,
    ) -> usize {
        let (payload, next) = match gather_json(&self.map.file(file).lines, index, start) {
            Ok(found) => found,
            Err(e) => {
                self.lex_error(loc, e);
                return index + 1;
            }
        };
        match meta::parse_payload(kind, &payload) {
            Ok(entries) => {
                for entry in entries {
                    if let Err(message) = self.add_metadata(kind, entry, loc) {
                        self.error(loc, message);
                    }
                }
            }
            Err(message) => self.error(loc, message),
        }
        next
    }

    fn add_metadata(
        &mut self,
        kind: MetaKind,
        entry: crate::object::JsonObject,
        loc: Loc,
    ) -> Result<(), String> {
        let md = &mut self.metadata;
        match kind {
            MetaKind::Value => {
                let key = meta::value_key(&entry);
                if md.values.iter().any(|v| meta::value_key(v) == key) {
                    return Err(format!(
                        "duplicate value metadata entry for ({},{})",
                        key.0, key.1
                    ));
                }
                md.values.push(entry);
            }
            MetaKind::Command => {
                let key = meta::command_key(&entry);
                if md.commands.iter().any(|v| meta::command_key(v) == key) {
                    return Err(format!(
                        "duplicate command metadata entry for ({},{})",
                        key.0, key.1
                    ));
                }
                md.commands.push(entry);
                self.command_locs.push(loc);
            }
            MetaKind::Mailbox => {
                let target = meta::mailbox_target(&entry).to_string();
                if md
                    .mailboxes
                    .iter()
                    .any(|m| meta::mailbox_target(m) == target)
                {
                    return Err(format!("duplicate mailbox target '{target}'"));
                }
                md.mailboxes.push(entry);
            }
        }
        Ok(())
    }
}

/// Collect a JSON payload from `lines[index][start..]` on: a bracketed value may span
/// lines (`;` outside JSON strings starts a comment); anything else ends at the line's
/// comment. Returns the text and the index of the line after the payload.
fn gather_json(lines: &[String], index: usize, start: usize) -> Result<(String, usize), LexError> {
    let first = &lines[index];
    let rest = first[start..].trim_start();
    if !rest.starts_with(['{', '[']) {
        let end = first[start..].find(';').map_or(first.len(), |i| start + i);
        return Ok((first[start..end].trim().to_string(), index + 1));
    }
    let mut text = String::new();
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    let mut line_index = index;
    let mut from = start;
    while let Some(line) = lines.get(line_index) {
        for (i, c) in line[from..].char_indices() {
            if in_string {
                text.push(c);
                match (escaped, c) {
                    (true, _) => escaped = false,
                    (false, '\\') => escaped = true,
                    (false, '"') => in_string = false,
                    _ => {}
                }
                continue;
            }
            match c {
                ';' => break,
                '"' => in_string = true,
                '{' | '[' => depth += 1,
                '}' | ']' => depth = depth.saturating_sub(1),
                _ => {}
            }
            text.push(c);
            if depth == 0 && matches!(c, '}' | ']') {
                let after = from + i + 1;
                let tail = line[after..].trim_start();
                if !(tail.is_empty() || tail.starts_with(';')) {
                    let at = if line_index == index {
                        line.len() - tail.len()
                    } else {
                        start
                    };
                    return Err(LexError::new(
                        at,
                        format!("Unexpected text after JSON payload: '{}'", tail.trim_end()),
                    ));
                }
                return Ok((text, line_index + 1));
            }
        }
        // A string cannot continue on the next line; JSON will report it.
        in_string = false;
        escaped = false;
        text.push('\n');
        line_index += 1;
        from = 0;
    }
    Ok((text, line_index))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str) -> Vec<String> {
        split_lines(text)
    }

    #[test]
    fn json_spans_lines_and_skips_comments() {
        let src = lines(".value { ; c\n \"a\": \"x;]}\" ,\n \"b\": [1] } ; done\nRET");
        let (text, next) = gather_json(&src, 0, 6).unwrap();
        assert_eq!(next, 3);
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v, serde_json::json!({"a":"x;]}","b":[1]}));
    }

    #[test]
    fn json_trailing_text_is_an_error() {
        let src = lines(".cmd {} x");
        assert!(gather_json(&src, 0, 4).is_err());
        let src = lines(".cmd 5 ; c");
        assert_eq!(gather_json(&src, 0, 4).unwrap().0, "5");
    }

    #[test]
    fn unterminated_json_runs_to_the_end() {
        let src = lines(".cmd {\n\"a\":1\n");
        let (text, next) = gather_json(&src, 0, 4).unwrap();
        assert_eq!(next, 2);
        assert!(serde_json::from_str::<serde_json::Value>(&text).is_err());
    }
}
