//! MVASM toolchain (`mvasm.md`): the assembler, `.hxo` objects, the linker, the
//! disassembler and listings.
//!
//! Pipeline: a source unit (a file plus its `.include`s) assembles to an [`Object`];
//! [`link`] combines objects into a version-2 `.hxe`. Assembling one unit straight to an
//! image ([`assemble_to_hxe`]) is exactly "assemble, then link that one object".
//!
//! ```
//! let opts = hsx_asm::AsmOptions::default();
//! let object = hsx_asm::assemble_source("demo.mvasm", "start: LDI R0, 7\n RET\n", &opts).unwrap();
//! assert_eq!(object.code, [0x0100_0007, 0x2500_0000]);
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod assembler;
mod diag;
mod disasm;
mod lex;
mod link;
mod listing;
mod meta;
mod object;
mod operand;
mod reloc;
mod source;

use std::path::{Path, PathBuf};

pub use diag::{Diagnostic, Diagnostics, Location, MAX_ERRORS, Severity};
pub use disasm::{disassemble, disassemble_listing};
pub use link::{LinkInput, LinkOptions, Linked, LinkedSymbol, Placement, link};
pub use listing::Listing;
pub use object::{
    JsonObject, LocalSymbol, Object, ObjectError, ObjectMetadata, RefKind, Reloc, RelocSection,
    RelocType, Symbol, SymbolSection,
};

use assembler::{Assembler, Input};

/// Assembler options.
#[derive(Clone, Debug, Default)]
pub struct AsmOptions {
    /// Directories searched, in order, for `.include` paths not found next to the
    /// including file (`-I`).
    pub include_dirs: Vec<PathBuf>,
    /// The unit will be linked alone: every check of `mvasm.md` §3.3 is reported by the
    /// assembler, with its source excerpt, as if the unit were placed at code and rodata
    /// offset 0. Without it, only checks that no placement can change are made here and
    /// the linker does the rest.
    pub single_unit: bool,
}

/// One assembled unit: its object, its listing, and the source lines the linker quotes
/// in diagnostics.
#[derive(Clone, Debug)]
pub struct Unit {
    /// The object.
    pub object: Object,
    /// Listing of the unit, to render against the final code.
    pub listing: Listing,
    sources: Vec<(String, Vec<String>)>,
}

impl Unit {
    /// A link input for this unit, named `path` in diagnostics.
    pub fn into_link_input(self, path: impl Into<String>) -> LinkInput {
        LinkInput::with_sources(path, self.object, self.sources)
    }
}

fn unit(input: Input<'_>, opts: &AsmOptions) -> Result<Unit, Diagnostics> {
    let assembled = Assembler::new(opts).run(input)?;
    Ok(Unit {
        object: assembled.object,
        listing: assembled.listing,
        sources: assembled.sources,
    })
}

/// Assemble the unit rooted at the file `path`.
pub fn assemble_unit(path: &Path, opts: &AsmOptions) -> Result<Unit, Diagnostics> {
    unit(Input::File(path), opts)
}

/// Assemble in-memory text named `name` (used in diagnostics); `.include` paths resolve
/// against `include_base` (standard input: the current directory), then `include_dirs`.
pub fn assemble_unit_source(
    name: &str,
    text: &str,
    include_base: &Path,
    opts: &AsmOptions,
) -> Result<Unit, Diagnostics> {
    unit(
        Input::Text {
            name,
            text,
            dir: include_base.to_path_buf(),
        },
        opts,
    )
}

/// Assemble the unit rooted at the file `path` to an object.
pub fn assemble_file(path: &Path, opts: &AsmOptions) -> Result<Object, Diagnostics> {
    assemble_unit(path, opts).map(|u| u.object)
}

/// Assemble in-memory text to an object; `.include` paths resolve against the current
/// directory, then `include_dirs`.
pub fn assemble_source(name: &str, text: &str, opts: &AsmOptions) -> Result<Object, Diagnostics> {
    assemble_unit_source(name, text, Path::new(""), opts).map(|u| u.object)
}

/// Link options for a single-unit build named `app_name` with every other option at its
/// default.
fn single_link(app_name: &str) -> LinkOptions {
    LinkOptions {
        app_name: app_name.to_string(),
        ..LinkOptions::default()
    }
}

/// Assemble the file `path` and link it alone into a v2 image named `app_name`.
pub fn assemble_to_hxe(
    path: &Path,
    opts: &AsmOptions,
    app_name: &str,
) -> Result<Vec<u8>, Diagnostics> {
    let opts = AsmOptions {
        single_unit: true,
        ..opts.clone()
    };
    let unit = assemble_unit(path, &opts)?;
    let input = unit.into_link_input(path.display().to_string());
    link(&[input], &single_link(app_name)).map(|l| l.image)
}

/// Assemble in-memory text and link it alone into a v2 image named `app_name` (how
/// `hsx run` loads a `.mvasm` source).
pub fn assemble_source_to_hxe(
    name: &str,
    text: &str,
    opts: &AsmOptions,
    app_name: &str,
) -> Result<Vec<u8>, Diagnostics> {
    let opts = AsmOptions {
        single_unit: true,
        ..opts.clone()
    };
    let unit = assemble_unit_source(name, text, Path::new(""), &opts)?;
    link(&[unit.into_link_input(name)], &single_link(app_name)).map(|l| l.image)
}
