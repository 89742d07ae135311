//! The assembler: one unit (a file and its `.include`s) to an [`Object`].
//!
//! A single pass emits code words and rodata bytes with every reference field zero and
//! records a fixup per reference; once every label is known, the fixups become the
//! object's relocations after the checks of `mvasm.md` §3.3 that do not depend on link
//! placement (all of them for a single-unit build).

mod directive;
mod instr;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::AsmOptions;
use crate::diag::{Diagnostics, MAX_ERRORS};
use crate::lex::{self, LexError};
use crate::listing::{Emitted, Listing, ListingEntry};
use crate::meta::MetaKind;
use crate::object::{
    LocalSymbol, Object, ObjectMetadata, RefKind, Reloc, RelocType, Symbol, SymbolSection,
};
use crate::operand::Ref;
use crate::reloc::{self, FieldInput, RODATA_BASE, Resolved};
use crate::source::{FileId, Loc, SourceFile, SourceMap, split_lines};

/// Largest code or rodata size of an image (64 KiB).
const SECTION_LIMIT: usize = 0x10000;
/// Deepest `.include` nesting.
const MAX_INCLUDE_DEPTH: usize = 64;
/// Largest source file read.
const MAX_FILE_BYTES: u64 = 16 << 20;

/// The unit's input.
pub(crate) enum Input<'a> {
    /// A file on disk.
    File(&'a Path),
    /// In-memory text named `name`; includes resolve against `dir`.
    Text {
        name: &'a str,
        text: &'a str,
        dir: PathBuf,
    },
}

/// The result of assembling a unit.
pub(crate) struct Assembled {
    pub object: Object,
    pub listing: Listing,
    /// Source lines of every file, by name (linker diagnostics quote them).
    pub sources: Vec<(String, Vec<String>)>,
}

/// Current section.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Section {
    Text,
    Data,
}

struct Label {
    section: SymbolSection,
    offset: u32,
}

/// A reference to resolve once every label is known.
struct Fixup {
    ty: RelocType,
    /// Code word index or rodata byte offset.
    at: u32,
    /// Address of the CALL in the unit (pc-relative jump relocations only).
    call_pc: Option<u32>,
    target: Target,
    loc: Loc,
}

enum Target {
    Ref(Ref),
    /// Numeric CALL target (an absolute address).
    Abs(i64),
}

enum EntrySpec {
    Offset(u32),
    Symbol(String, Loc),
}

/// Names declared by `.extern`, `.import` or `.export`, with where.
#[derive(Default)]
struct Declarations {
    externs: BTreeMap<String, Loc>,
    imports: BTreeMap<String, Loc>,
    exports: Vec<(String, Loc)>,
}

pub(crate) struct Assembler<'o> {
    opts: &'o AsmOptions,
    map: SourceMap,
    errors: Vec<(Loc, String)>,
    seq: u32,
    section: Section,
    code: Vec<u32>,
    rodata: Vec<u8>,
    labels: BTreeMap<String, Label>,
    fixups: Vec<Fixup>,
    decls: Declarations,
    entry: Option<(EntrySpec, Loc)>,
    metadata: ObjectMetadata,
    command_locs: Vec<Loc>,
    rodata_align: u32,
    listing: Vec<ListingEntry>,
    overflow_reported: [bool; 2],
}

impl<'o> Assembler<'o> {
    pub(crate) fn new(opts: &'o AsmOptions) -> Assembler<'o> {
        Assembler {
            opts,
            map: SourceMap::default(),
            errors: Vec::new(),
            seq: 0,
            section: Section::Text,
            code: Vec::new(),
            rodata: Vec::new(),
            labels: BTreeMap::new(),
            fixups: Vec::new(),
            decls: Declarations::default(),
            entry: None,
            metadata: ObjectMetadata::default(),
            command_locs: Vec::new(),
            rodata_align: 1,
            listing: Vec::new(),
            overflow_reported: [false; 2],
        }
    }

    /// Assemble the unit.
    pub(crate) fn run(mut self, input: Input<'_>) -> Result<Assembled, Diagnostics> {
        let root = match input {
            Input::File(path) => {
                let name = path.display().to_string();
                match read_source(path) {
                    Ok(text) => self.map.add(SourceFile {
                        name,
                        dir: parent_dir(path),
                        canonical: std::fs::canonicalize(path).ok(),
                        lines: split_lines(&text),
                    }),
                    Err(message) => {
                        return Err(crate::diag::Diagnostic::file_error(name, message).into());
                    }
                }
            }
            Input::Text { name, text, dir } => self.map.add(SourceFile {
                name: name.to_string(),
                dir,
                canonical: None,
                lines: split_lines(text),
            }),
        };
        self.run_file(root, None, 0);
        self.finish()
    }

    fn error(&mut self, loc: Loc, message: impl Into<String>) {
        self.errors.push((loc, message.into()));
    }

    fn lex_error(&mut self, loc: Loc, err: LexError) {
        self.error(loc.at(err.at), err.message);
    }

    fn too_many_errors(&self) -> bool {
        self.errors.len() >= MAX_ERRORS
    }

    fn run_file(&mut self, file: FileId, site: Option<u32>, depth: usize) {
        let count = self.map.file(file).lines.len();
        let mut index = 0;
        while index < count && !self.too_many_errors() {
            index = self.statement(file, site, index, depth);
        }
    }

    /// Assemble the statement starting at line `index`; returns the next line's index.
    fn statement(&mut self, file: FileId, site: Option<u32>, index: usize, depth: usize) -> usize {
        let line = self.map.file(file).lines[index].clone();
        self.seq += 1;
        let loc = Loc {
            file,
            line: u32::try_from(index + 1).unwrap_or(u32::MAX),
            byte: 0,
            site,
            seq: self.seq,
        };
        let (labels, start) = lex::labels(&line);
        for (name, at) in labels {
            self.define_label(name, loc.at(at));
        }
        let loc = loc.at(start);
        let (section_before, start_offset) = self.position();
        let head = lex::head(&line, start);
        let mut next = index + 1;
        // An `.include` is listed before the included lines, which list themselves.
        let include = head.eq_ignore_ascii_case(".include");
        if include {
            let emitted = Emitted::Nothing;
            self.listing.push(ListingEntry {
                file,
                lines: index..next,
                emitted,
            });
        }
        if head.is_empty() {
            match lex::code_end(&line, start) {
                Ok(end) if line[start..end].trim().is_empty() => {}
                Ok(_) => self.error(loc, format!("Unexpected '{}'", line[start..].trim_end())),
                Err(e) => self.lex_error(loc, e),
            }
        } else if let Some(kind) = MetaKind::from_directive(&head.to_ascii_lowercase()) {
            next = self.metadata_directive(kind, file, index, start + head.len(), loc);
        } else {
            let after_head = start + head.len();
            match lex::code_end(&line, after_head)
                .and_then(|end| Ok((end, lex::split_operands(&line, after_head, end)?)))
            {
                Err(e) => self.lex_error(loc, e),
                Ok((end, operands)) => {
                    let statement = line[start..end].trim_end();
                    if head.starts_with('.') {
                        self.directive(head, &operands, loc, file, depth);
                    } else {
                        self.instruction(head, statement, &operands, loc);
                    }
                }
            }
        }
        if include {
            return next;
        }
        let (section_after, end_offset) = self.position();
        let emitted = match (section_before == section_after, section_after) {
            (false, _) => Emitted::Nothing,
            (true, Section::Text) => Emitted::Code(start_offset..end_offset),
            (true, Section::Data) => Emitted::Data(start_offset..end_offset),
        };
        self.listing.push(ListingEntry {
            file,
            lines: index..next,
            emitted,
        });
        next
    }

    fn position(&self) -> (Section, u32) {
        match self.section {
            Section::Text => (Section::Text, self.text_offset()),
            Section::Data => (Section::Data, self.data_offset()),
        }
    }

    fn text_offset(&self) -> u32 {
        (self.code.len() * 4) as u32
    }

    fn data_offset(&self) -> u32 {
        self.rodata.len() as u32
    }

    fn define_label(&mut self, name: &str, loc: Loc) {
        if lex::register(name).is_some() {
            self.error(
                loc,
                format!("Bad label name '{name}': registers are reserved"),
            );
            return;
        }
        if self.labels.contains_key(name) {
            self.error(loc, format!("Duplicate label: {name}"));
            return;
        }
        let (section, offset) = match self.section {
            Section::Text => (SymbolSection::Text, self.text_offset()),
            Section::Data => (SymbolSection::Data, self.data_offset()),
        };
        self.labels
            .insert(name.to_string(), Label { section, offset });
    }

    /// Room for `words` more code words? Reports the overflow once.
    fn code_room(&mut self, words: usize, loc: Loc) -> bool {
        if self.code.len() + words <= SECTION_LIMIT / 4 {
            return true;
        }
        if !self.overflow_reported[0] {
            self.overflow_reported[0] = true;
            self.error(loc, "Code exceeds the 64 KiB code space");
        }
        false
    }

    /// Room for `bytes` more rodata bytes? Reports the overflow once.
    fn data_room(&mut self, bytes: u64, loc: Loc) -> bool {
        if self.rodata.len() as u64 + bytes <= SECTION_LIMIT as u64 {
            return true;
        }
        if !self.overflow_reported[1] {
            self.overflow_reported[1] = true;
            self.error(loc, "Rodata exceeds 64 KiB");
        }
        false
    }

    fn fixup(&mut self, ty: RelocType, at: u32, call_pc: Option<u32>, target: Target, loc: Loc) {
        self.fixups.push(Fixup {
            ty,
            at,
            call_pc,
            target,
            loc,
        });
    }

    /// Resolve fixups and declarations, then build the object.
    fn finish(mut self) -> Result<Assembled, Diagnostics> {
        let externs: BTreeSet<String> = self.decls.externs.keys().cloned().collect();
        let imports: BTreeSet<String> = self.decls.imports.keys().cloned().collect();
        let mut exports: BTreeSet<String> = BTreeSet::new();
        for (name, loc) in std::mem::take(&mut self.decls.exports) {
            if self.labels.contains_key(&name) {
                exports.insert(name);
            } else {
                self.error(loc, format!("exported symbol '{name}' is not defined"));
            }
        }
        for name in &externs {
            if self.labels.contains_key(name) {
                exports.insert(name.clone());
            }
        }
        for (name, loc) in std::mem::take(&mut self.decls.imports) {
            if self.labels.contains_key(&name) {
                self.error(loc, format!("symbol '{name}' is both imported and defined"));
            }
        }
        let (entry, entry_symbol) = match self.entry.take() {
            None => (0, None),
            Some((EntrySpec::Offset(offset), _)) => (offset, None),
            Some((EntrySpec::Symbol(name, loc), _)) => match self.labels.get(&name) {
                Some(l) if l.section == SymbolSection::Text => {
                    exports.insert(name.clone());
                    (l.offset, Some(name))
                }
                Some(_) => {
                    self.error(loc, format!(".entry symbol '{name}' must be a .text label"));
                    (0, None)
                }
                None => {
                    self.error(loc, format!("Unknown label {name}"));
                    (0, None)
                }
            },
        };
        let relocs = self.resolve_fixups(&externs, &imports);
        self.check_handlers(&externs, &imports);

        if !self.errors.is_empty() {
            self.errors.sort_by_key(|(loc, _)| (loc.seq, loc.byte));
            let diags = self
                .errors
                .iter()
                .take(MAX_ERRORS)
                .map(|(loc, message)| self.map.diagnostic(*loc, message.clone()))
                .collect();
            return Err(Diagnostics(diags));
        }

        let symbol = |l: &Label| Symbol {
            section: l.section,
            offset: l.offset,
        };
        let object = Object {
            version: 1,
            entry,
            entry_symbol,
            code: std::mem::take(&mut self.code),
            rodata: std::mem::take(&mut self.rodata),
            externs: externs.into_iter().collect(),
            imports: imports.into_iter().collect(),
            relocs,
            symbols: exports
                .iter()
                .map(|n| (n.clone(), symbol(&self.labels[n])))
                .collect(),
            local_symbols: self
                .labels
                .iter()
                .map(|(n, l)| {
                    let abs_addr = match l.section {
                        SymbolSection::Text => l.offset,
                        SymbolSection::Data => RODATA_BASE + l.offset,
                    };
                    (
                        n.clone(),
                        LocalSymbol {
                            section: l.section,
                            offset: l.offset,
                            abs_addr,
                        },
                    )
                })
                .collect(),
            metadata: (!self.metadata.is_empty()).then(|| std::mem::take(&mut self.metadata)),
            rodata_align: self.rodata_align,
        };
        let sources: Vec<(String, Vec<String>)> = self
            .map
            .files()
            .iter()
            .map(|f| (f.name.clone(), f.lines.clone()))
            .collect();
        let listing = Listing::new(
            std::mem::take(&mut self.listing),
            sources.iter().map(|(_, lines)| lines.clone()).collect(),
        );
        Ok(Assembled {
            object,
            listing,
            sources,
        })
    }

    /// Unit-relative resolution of a local label.
    fn local(&self, name: &str) -> Option<Resolved> {
        self.labels.get(name).map(|l| Resolved {
            section: l.section,
            addr: match l.section {
                SymbolSection::Text => l.offset,
                SymbolSection::Data => RODATA_BASE + l.offset,
            },
        })
    }

    fn resolve_fixups(
        &mut self,
        externs: &BTreeSet<String>,
        imports: &BTreeSet<String>,
    ) -> Vec<Reloc> {
        let fixups = std::mem::take(&mut self.fixups);
        let mut relocs = Vec::with_capacity(fixups.len());
        for fixup in fixups {
            let src = Some(self.map.src(fixup.loc));
            let (index, offset) = match fixup.ty.section() {
                crate::object::RelocSection::Code => (Some(fixup.at), None),
                crate::object::RelocSection::Rodata => (None, Some(fixup.at)),
            };
            let pc_relative = fixup.call_pc.is_some();
            let base = Reloc {
                ty: fixup.ty,
                section: fixup.ty.section(),
                index,
                offset,
                pc_relative,
                src,
                ..Reloc::default()
            };
            match &fixup.target {
                Target::Abs(n) => {
                    if self.opts.single_unit {
                        self.check_field(&fixup, *n, "", false);
                    }
                    relocs.push(Reloc {
                        kind: RefKind::Abs,
                        value: Some(*n),
                        ..base
                    });
                }
                Target::Ref(r) => {
                    match self.local(&r.name) {
                        Some(resolved) => self.check_local(&fixup, r, resolved),
                        None if externs.contains(&r.name) || imports.contains(&r.name) => {}
                        None => {
                            self.error(fixup.loc, format!("Unknown label {}", r.name));
                            continue;
                        }
                    }
                    relocs.push(Reloc {
                        symbol: r.name.clone(),
                        kind: r.kind,
                        ..base
                    });
                }
            }
        }
        relocs
    }

    /// Checks for a reference to a label of this unit: all of §3.3 in a single-unit build,
    /// else only those whose outcome does not depend on placement.
    fn check_local(&mut self, fixup: &Fixup, r: &Ref, resolved: Resolved) {
        let value = match reloc::ref_value(r.kind, &r.name, resolved) {
            Ok(v) => v,
            Err(message) => return self.error(fixup.loc, message),
        };
        let plain = r.kind == RefKind::Symbol;
        let plain_non_text = plain && resolved.section != SymbolSection::Text;
        // A plain .data address is at least 0x4000 and never a jump target, and the
        // distance from a CALL to a .text label of its own unit is fixed, wherever the
        // linker places the unit.
        let placement_free = match fixup.ty {
            RelocType::Imm12 | RelocType::Mem | RelocType::Jump if plain_non_text => true,
            RelocType::Jump => plain && fixup.call_pc.is_some(),
            _ => false,
        };
        if self.opts.single_unit || placement_free {
            self.check_field(fixup, value, &r.text, plain_non_text);
        }
    }

    fn check_field(&mut self, fixup: &Fixup, value: i64, reference: &str, plain_non_text: bool) {
        let input = FieldInput {
            ty: fixup.ty,
            pc_relative: fixup.call_pc.is_some(),
            value,
            pc: fixup.call_pc.unwrap_or(0),
            reference,
            plain_non_text: plain_non_text && fixup.ty == RelocType::Jump,
        };
        if let Err(message) = reloc::field_bits(input) {
            self.error(fixup.loc, message);
        }
    }

    /// Symbolic command handlers: a .data label is always wrong; in a single-unit build the
    /// name must be a label of the unit.
    fn check_handlers(&mut self, externs: &BTreeSet<String>, imports: &BTreeSet<String>) {
        let commands = self.metadata.commands.clone();
        let locs = self.command_locs.clone();
        for (entry, loc) in commands.iter().zip(&locs) {
            let Some(name) = crate::meta::command_handler(entry) else {
                continue;
            };
            match self.local(name) {
                Some(r) if r.section != SymbolSection::Text => {
                    self.error(
                        *loc,
                        format!("command handler '{name}' must reference .text symbol"),
                    );
                }
                Some(_) => {}
                None if self.opts.single_unit
                    || !(externs.contains(name) || imports.contains(name)) =>
                {
                    self.error(
                        *loc,
                        format!("command handler symbol '{name}' not found in linked objects"),
                    );
                }
                None => {}
            }
        }
    }
}

fn parent_dir(path: &Path) -> PathBuf {
    path.parent().map(Path::to_path_buf).unwrap_or_default()
}

/// Read a source file: a regular file of at most 16 MiB, UTF-8.
fn read_source(path: &Path) -> Result<String, String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot read source: {e}"))?;
    if !meta.is_file() {
        return Err("cannot read source: not a regular file".into());
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err("cannot read source: file too large".into());
    }
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read source: {e}"))?;
    String::from_utf8(bytes).map_err(|_| "source is not valid UTF-8".to_string())
}
