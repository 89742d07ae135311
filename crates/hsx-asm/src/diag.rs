//! Diagnostics in the format of `mvasm.md` §9:
//!
//! ```text
//! FILE:LINE:COL: error: MESSAGE
//! <the source line, verbatim>
//! <spaces, tabs copied from the source prefix>^
//!   included from FILE:LINE
//! ```
//!
//! or, without a source location, `PATH: error: MESSAGE`.

use std::fmt;

/// Most errors one run reports (`tools.md` §3).
pub const MAX_ERRORS: usize = 50;

/// How serious a diagnostic is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    /// The operation fails.
    Error,
    /// Reported; the operation still succeeds.
    Warning,
}

/// A position inside a source file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    /// 1-based line number.
    pub line: u32,
    /// 1-based column, counted in characters.
    pub column: u32,
    /// The source line, verbatim (without its line ending), when it is known.
    pub source_line: Option<String>,
    /// `(file, line)` of each `.include` directive that led here, innermost first.
    pub included_from: Vec<(String, u32)>,
}

/// One error or warning.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// The file (or object) the message is about; `None` for whole-run messages.
    pub path: Option<String>,
    /// Where in `path`, for source diagnostics.
    pub location: Option<Location>,
    /// The message text.
    pub message: String,
}

impl Diagnostic {
    /// An error about a whole file: `PATH: error: MESSAGE`.
    pub fn file_error(path: impl Into<String>, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            path: Some(path.into()),
            location: None,
            message: message.into(),
        }
    }

    /// An error not tied to one file: `error: MESSAGE`.
    pub fn error(message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            path: None,
            location: None,
            message: message.into(),
        }
    }

    /// True for errors.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let severity = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        match (&self.path, &self.location) {
            (Some(path), Some(loc)) => write!(f, "{path}:{}:{}: ", loc.line, loc.column)?,
            (Some(path), None) => write!(f, "{path}: ")?,
            (None, _) => {}
        }
        writeln!(f, "{severity}: {}", self.message)?;
        if let Some(loc) = &self.location {
            if let Some(line) = &loc.source_line {
                writeln!(f, "{line}")?;
                writeln!(f, "{}^", caret_prefix(line, loc.column))?;
            }
            for (file, line) in &loc.included_from {
                writeln!(f, "  included from {file}:{line}")?;
            }
        }
        Ok(())
    }
}

/// The indentation that puts a caret under character `column` (1-based) of `line`: tabs
/// of the prefix are copied, every other character becomes a space.
fn caret_prefix(line: &str, column: u32) -> String {
    let width = usize::try_from(column.saturating_sub(1)).unwrap_or(usize::MAX);
    let mut prefix: String = line
        .chars()
        .take(width)
        .map(|c| if c == '\t' { '\t' } else { ' ' })
        .collect();
    let missing = width.saturating_sub(line.chars().count());
    prefix.extend(std::iter::repeat_n(' ', missing.min(4096)));
    prefix
}

/// Every diagnostic of one failed (or warned) operation, in report order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    /// No diagnostics.
    pub fn new() -> Diagnostics {
        Diagnostics(Vec::new())
    }

    /// A single diagnostic.
    pub fn one(diagnostic: Diagnostic) -> Diagnostics {
        Diagnostics(vec![diagnostic])
    }

    /// True if any diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.0.iter().any(Diagnostic::is_error)
    }

    /// The diagnostics, in report order.
    pub fn iter(&self) -> std::slice::Iter<'_, Diagnostic> {
        self.0.iter()
    }

    /// Number of diagnostics.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for diagnostic in &self.0 {
            write!(f, "{diagnostic}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostics {}

impl From<Diagnostic> for Diagnostics {
    fn from(diagnostic: Diagnostic) -> Diagnostics {
        Diagnostics::one(diagnostic)
    }
}

impl<'a> IntoIterator for &'a Diagnostics {
    type Item = &'a Diagnostic;
    type IntoIter = std::slice::Iter<'a, Diagnostic>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caret_copies_tabs_and_pads_past_the_end() {
        assert_eq!(caret_prefix("\tLDI R1, x", 10), "\t        ");
        assert_eq!(caret_prefix("ab", 5), "    ");
        assert_eq!(caret_prefix("", 1), "");
    }

    #[test]
    fn renders_source_form_with_include_chain() {
        let d = Diagnostic {
            severity: Severity::Error,
            path: Some("inc.mvasm".into()),
            location: Some(Location {
                line: 3,
                column: 5,
                source_line: Some("    NOP".into()),
                included_from: vec![("main.mvasm".into(), 7)],
            }),
            message: "Unknown mnemonic: NOP".into(),
        };
        assert_eq!(
            d.to_string(),
            "inc.mvasm:3:5: error: Unknown mnemonic: NOP\n    NOP\n    ^\n  included from main.mvasm:7\n"
        );
        assert_eq!(
            Diagnostic::file_error("a.hxo", "boom").to_string(),
            "a.hxo: error: boom\n"
        );
    }
}
