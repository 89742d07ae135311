//! Source files of one unit, `.include` sites, and positions that turn into
//! [`Diagnostic`]s (`mvasm.md` §2.1, §9).

use std::path::{Path, PathBuf};

use crate::diag::{Diagnostic, Location, Severity};

/// Index of a file in a [`SourceMap`].
pub(crate) type FileId = u32;

/// One loaded source file.
pub(crate) struct SourceFile {
    /// Name used in diagnostics (the path as given or as joined for an include).
    pub name: String,
    /// Directory `.include` paths are relative to.
    pub dir: PathBuf,
    /// Canonical path for recursion detection (`None` for in-memory text).
    pub canonical: Option<PathBuf>,
    /// Lines without their endings.
    pub lines: Vec<String>,
}

/// The `.include` directive that loaded a file.
#[derive(Clone, Copy)]
struct IncludeSite {
    file: FileId,
    line: u32,
    parent: Option<u32>,
}

/// A position in the unit: file, 1-based line, byte offset in that line, the include
/// chain, and the statement's sequence number (source order across includes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Loc {
    pub file: FileId,
    pub line: u32,
    pub byte: u32,
    pub site: Option<u32>,
    pub seq: u32,
}

impl Loc {
    /// The same statement, at another byte offset of the line.
    pub fn at(self, byte: usize) -> Loc {
        Loc {
            byte: u32::try_from(byte).unwrap_or(u32::MAX),
            ..self
        }
    }
}

/// Every file of a unit plus the include tree.
#[derive(Default)]
pub(crate) struct SourceMap {
    files: Vec<SourceFile>,
    sites: Vec<IncludeSite>,
}

/// Split text into lines (LF or CRLF endings).
pub(crate) fn split_lines(text: &str) -> Vec<String> {
    if text.is_empty() {
        return Vec::new();
    }
    let body = text.strip_suffix('\n').unwrap_or(text);
    body.split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l).to_string())
        .collect()
}

impl SourceMap {
    /// Register a file; returns its id.
    pub fn add(&mut self, file: SourceFile) -> FileId {
        self.files.push(file);
        FileId::try_from(self.files.len() - 1).unwrap_or(FileId::MAX)
    }

    /// Every file, by id.
    pub fn files(&self) -> &[SourceFile] {
        &self.files
    }

    /// The file with this id.
    pub fn file(&self, id: FileId) -> &SourceFile {
        &self.files[id as usize]
    }

    /// Record that an `.include` at `line` of `file` (itself reached through `parent`) was
    /// followed; returns the site id for positions inside the included file.
    pub fn add_site(&mut self, file: FileId, line: u32, parent: Option<u32>) -> u32 {
        self.sites.push(IncludeSite { file, line, parent });
        u32::try_from(self.sites.len() - 1).unwrap_or(u32::MAX)
    }

    /// Canonical paths of the files on the include chain ending in `file` via `site`.
    pub fn chain_contains(&self, file: FileId, site: Option<u32>, canonical: &Path) -> bool {
        let mut current = Some(file);
        let mut next_site = site;
        while let Some(id) = current {
            if self.file(id).canonical.as_deref() == Some(canonical) {
                return true;
            }
            match next_site.map(|s| self.sites[s as usize]) {
                Some(s) => {
                    current = Some(s.file);
                    next_site = s.parent;
                }
                None => current = None,
            }
        }
        false
    }

    /// Character column (1-based) of a position.
    pub fn column(&self, loc: Loc) -> u32 {
        let text = self.line_text(loc).unwrap_or("");
        let byte = (loc.byte as usize).min(text.len());
        let byte = (0..=byte)
            .rev()
            .find(|&b| text.is_char_boundary(b))
            .unwrap_or(0);
        u32::try_from(text[..byte].chars().count() + 1).unwrap_or(u32::MAX)
    }

    fn line_text(&self, loc: Loc) -> Option<&str> {
        let file = self.files.get(loc.file as usize)?;
        file.lines
            .get((loc.line as usize).checked_sub(1)?)
            .map(String::as_str)
    }

    /// `file:line:col`, as stored in relocation `src`.
    pub fn src(&self, loc: Loc) -> String {
        format!(
            "{}:{}:{}",
            self.file(loc.file).name,
            loc.line,
            self.column(loc)
        )
    }

    /// An error diagnostic at `loc`.
    pub fn diagnostic(&self, loc: Loc, message: String) -> Diagnostic {
        let mut included_from = Vec::new();
        let mut site = loc.site;
        while let Some(s) = site.and_then(|s| self.sites.get(s as usize)) {
            included_from.push((self.file(s.file).name.clone(), s.line));
            site = s.parent;
        }
        Diagnostic {
            severity: Severity::Error,
            path: Some(self.file(loc.file).name.clone()),
            location: Some(Location {
                line: loc.line,
                column: self.column(loc),
                source_line: self.line_text(loc).map(str::to_string),
                included_from,
            }),
            message,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_accept_lf_and_crlf() {
        assert_eq!(split_lines("a\r\nb\nc"), ["a", "b", "c"]);
        assert_eq!(split_lines("a\n"), ["a"]);
        assert_eq!(split_lines("a\n\n"), ["a", ""]);
        assert_eq!(split_lines(""), Vec::<String>::new());
    }
}
