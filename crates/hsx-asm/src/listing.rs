//! The assembler listing (`hsx asm --listing F`): one line per source line, prefixed with
//! the address and the code word (or up to four rodata bytes) it produced:
//!
//! ```text
//! 0x0000  01100005  main: LDI R1, 5
//! 0x4000  68690000      .asciz "hi"
//!                   ; a comment
//! ```

use std::fmt::Write;
use std::ops::Range;

use crate::source::FileId;

/// What one statement emitted, as offsets in its unit's sections.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Emitted {
    Nothing,
    Code(Range<u32>),
    Data(Range<u32>),
}

/// One statement: its source lines and what it emitted.
#[derive(Clone, Debug)]
pub(crate) struct ListingEntry {
    pub file: FileId,
    pub lines: Range<usize>,
    pub emitted: Emitted,
}

/// The statements of one assembled unit, ready to be rendered against final code.
#[derive(Clone, Debug, Default)]
pub struct Listing {
    entries: Vec<ListingEntry>,
    files: Vec<Vec<String>>,
}

const BLANK: &str = "                  ";

impl Listing {
    pub(crate) fn new(entries: Vec<ListingEntry>, files: Vec<Vec<String>>) -> Listing {
        Listing { entries, files }
    }

    /// Render with the unit's code words and rodata bytes (`code` and `rodata` are the
    /// whole image's; the unit starts at `code_base` and `ro_base`).
    pub fn render(&self, code: &[u32], rodata: &[u8], code_base: u32, ro_base: u32) -> String {
        let mut out = String::new();
        for entry in &self.entries {
            let lines = self
                .files
                .get(entry.file as usize)
                .map(Vec::as_slice)
                .unwrap_or(&[]);
            let mut source = lines.get(entry.lines.clone()).unwrap_or(&[]).iter();
            let mut next_source = || source.next().map(String::as_str);
            let mut rows: Vec<String> = Vec::new();
            match &entry.emitted {
                Emitted::Code(range) => {
                    for offset in range.clone().step_by(4) {
                        let addr = code_base.wrapping_add(offset);
                        let word = code.get((addr / 4) as usize).copied().unwrap_or(0);
                        rows.push(format!("0x{addr:04X}  {word:08X}  "));
                    }
                }
                Emitted::Data(range) => {
                    for offset in range.clone().step_by(4) {
                        let start = ro_base.wrapping_add(offset) as usize;
                        let end = ro_base.wrapping_add(range.end.min(offset + 4)) as usize;
                        let bytes = rodata.get(start..end).unwrap_or(&[]);
                        let hex: String = bytes.iter().map(|b| format!("{b:02X}")).collect();
                        rows.push(format!("0x{:04X}  {hex:<8}  ", 0x4000 + start));
                    }
                }
                Emitted::Nothing => {}
            }
            let count = rows.len().max(entry.lines.len());
            for i in 0..count {
                let prefix = rows.get(i).map_or(BLANK, String::as_str);
                let line = format!("{prefix}{}", next_source().unwrap_or(""));
                let _ = writeln!(out, "{}", line.trim_end());
            }
        }
        out
    }
}
