//! The linker (`mvasm.md` §8): places modules, merges metadata, resolves exports,
//! imports and relocations, selects the entry and writes the v2 image.

use std::collections::BTreeMap;

use hsx_image::{CommandMeta, ValueMeta, WriteInput, write_hxe};

use crate::diag::{Diagnostic, Diagnostics, Location, MAX_ERRORS, Severity};
use crate::meta::{self, MetaKind};
use crate::object::{JsonObject, Object, RefKind, Reloc, RelocSection, RelocType, SymbolSection};
use crate::reloc::{self, FieldInput, RODATA_BASE, Resolved};

/// Largest code or rodata section of an image.
const SECTION_LIMIT: u64 = 0x10000;

/// One linker input: an object and the name diagnostics use for it.
#[derive(Clone, Debug)]
pub struct LinkInput {
    /// Name of the input in diagnostics (its path).
    pub path: String,
    /// The object.
    pub object: Object,
    /// Source lines by file name, for quoting relocation sources; files not listed are
    /// read from disk when a diagnostic needs them.
    sources: Vec<(String, Vec<String>)>,
}

impl LinkInput {
    /// An object read from `path`.
    pub fn new(path: impl Into<String>, object: Object) -> LinkInput {
        LinkInput {
            path: path.into(),
            object,
            sources: Vec::new(),
        }
    }

    pub(crate) fn with_sources(
        path: impl Into<String>,
        object: Object,
        sources: Vec<(String, Vec<String>)>,
    ) -> LinkInput {
        LinkInput {
            path: path.into(),
            object,
            sources,
        }
    }
}

/// Linker options (`mvasm.md` §8).
#[derive(Clone, Debug)]
pub struct LinkOptions {
    /// Application name written to the image (the writer trims it to 31 characters).
    pub app_name: String,
    /// Clear to build a single-instance image.
    pub allow_multiple: bool,
    /// Required-capability mask.
    pub req_caps: u32,
    /// Bytes of zeroed memory after rodata.
    pub bss_size: u32,
}

impl Default for LinkOptions {
    fn default() -> LinkOptions {
        LinkOptions {
            app_name: String::new(),
            allow_multiple: true,
            req_caps: 0,
            bss_size: 0,
        }
    }
}

/// Where one module landed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Placement {
    /// Byte offset of the module's code.
    pub code_base: u32,
    /// Byte offset of the module's rodata in the image's rodata.
    pub ro_base: u32,
}

/// A label at its final address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkedSymbol {
    /// Label name.
    pub name: String,
    /// Code address, or data address (0x4000 + rodata offset).
    pub address: u32,
    /// Section.
    pub section: SymbolSection,
    /// Whether the module exports it.
    pub exported: bool,
    /// Index of the module in the inputs.
    pub module: usize,
}

/// A linked image and how it was laid out.
#[derive(Clone, Debug)]
pub struct Linked {
    /// The `.hxe` bytes.
    pub image: Vec<u8>,
    /// Final code words.
    pub code: Vec<u32>,
    /// Final rodata.
    pub rodata: Vec<u8>,
    /// Entry byte offset.
    pub entry: u32,
    /// Placement of every module, in input order.
    pub placements: Vec<Placement>,
    /// Every label of every module at its final address.
    pub symbols: Vec<LinkedSymbol>,
}

impl Linked {
    /// The `.sym` document (`tools.md` §6) of an image linked from MVASM, which carries
    /// no debug info: the image CRC and every label, by address. Written by
    /// `hsx link --emit-sym`; `hsx run` and `hsx serve` use it for sources they assemble.
    pub fn symbol_file(&self) -> String {
        let crc = self
            .image
            .get(0x1C..0x20)
            .map_or(0, |b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]));
        let mut labels: BTreeMap<u32, Vec<&str>> = BTreeMap::new();
        for symbol in &self.symbols {
            labels.entry(symbol.address).or_default().push(&symbol.name);
        }
        let labels: serde_json::Map<String, serde_json::Value> = labels
            .into_iter()
            .map(|(addr, names)| (format!("0x{addr:04X}"), serde_json::json!(names)))
            .collect();
        let doc = serde_json::json!({
            "version": 1,
            "hxe_crc": crc,
            "symbols": {"functions": [], "variables": [], "labels": labels},
            "instructions": [],
        });
        let mut text = serde_json::to_string_pretty(&doc).unwrap_or_default();
        text.push('\n');
        text
    }
}

/// Collects diagnostics, at most [`MAX_ERRORS`].
struct Sink<'a> {
    inputs: &'a [LinkInput],
    diags: Vec<Diagnostic>,
}

impl Sink<'_> {
    fn push(&mut self, diagnostic: Diagnostic) {
        if self.diags.len() < MAX_ERRORS {
            self.diags.push(diagnostic);
        }
    }

    fn file(&mut self, module: usize, message: String) {
        self.push(Diagnostic::file_error(
            self.inputs[module].path.clone(),
            message,
        ));
    }

    /// An error at a relocation: the assembler format when `src` is known.
    fn at(&mut self, module: usize, src: Option<&str>, message: String) {
        match src.and_then(|s| self.located(module, s, &message)) {
            Some(d) => self.push(d),
            None => self.file(module, message),
        }
    }

    fn located(&self, module: usize, src: &str, message: &str) -> Option<Diagnostic> {
        let mut parts = src.rsplitn(3, ':');
        let column: u32 = parts.next()?.parse().ok()?;
        let line: u32 = parts.next()?.parse().ok()?;
        let file = parts.next()?;
        let source_line = self.inputs[module]
            .sources
            .iter()
            .find(|(name, _)| name == file)
            .and_then(|(_, lines)| lines.get(line.checked_sub(1)? as usize).cloned())
            .or_else(|| read_line(file, line));
        Some(Diagnostic {
            severity: Severity::Error,
            path: Some(file.to_string()),
            location: Some(Location {
                line,
                column,
                source_line,
                included_from: Vec::new(),
            }),
            message: message.to_string(),
        })
    }
}

/// Line `line` of the file `path`, if it is a readable text file of sane size.
fn read_line(path: &str, line: u32) -> Option<String> {
    let meta = std::fs::metadata(path).ok()?;
    if !meta.is_file() || meta.len() > 16 << 20 {
        return None;
    }
    let text = std::fs::read_to_string(path).ok()?;
    let index = usize::try_from(line.checked_sub(1)?).ok()?;
    let raw = text.split('\n').nth(index)?;
    Some(raw.strip_suffix('\r').unwrap_or(raw).to_string())
}

/// A module's view of symbols: its own labels, then the global table.
struct Module<'a> {
    object: &'a Object,
    place: Placement,
}

impl Module<'_> {
    fn resolve(&self, section: SymbolSection, offset: u32) -> Resolved {
        let addr = match section {
            SymbolSection::Text => self.place.code_base.wrapping_add(offset),
            SymbolSection::Data => RODATA_BASE
                .wrapping_add(self.place.ro_base)
                .wrapping_add(offset),
        };
        Resolved { section, addr }
    }

    /// A label of this module (local symbols, then exports for objects without them).
    fn own(&self, name: &str) -> Option<Resolved> {
        if let Some(l) = self.object.local_symbols.get(name) {
            return Some(self.resolve(l.section, l.offset));
        }
        self.object
            .symbols
            .get(name)
            .map(|s| self.resolve(s.section, s.offset))
    }
}

/// Link objects, in order, into a v2 image.
pub fn link(inputs: &[LinkInput], opts: &LinkOptions) -> Result<Linked, Diagnostics> {
    if inputs.is_empty() {
        return Err(Diagnostic::error("no input files").into());
    }
    let mut sink = Sink {
        inputs,
        diags: Vec::new(),
    };

    // 1. Placement.
    let mut code: Vec<u32> = Vec::new();
    let mut rodata: Vec<u8> = Vec::new();
    let mut placements = Vec::with_capacity(inputs.len());
    for (k, input) in inputs.iter().enumerate() {
        let object = &input.object;
        let align = object.rodata_align.max(1);
        if !align.is_power_of_two() || align > 0x4000 {
            sink.file(
                k,
                format!("invalid rodata_align {align} (a power of two in 1..0x4000)"),
            );
        }
        let code_total = (code.len() as u64 + object.code.len() as u64) * 4;
        let ro_base = (rodata.len() as u64).next_multiple_of(u64::from(align.clamp(1, 0x4000)));
        if code_total > SECTION_LIMIT || ro_base + object.rodata.len() as u64 > SECTION_LIMIT {
            sink.file(k, "linked code or rodata exceeds 64 KiB".into());
            return Err(Diagnostics(sink.diags));
        }
        let place = Placement {
            code_base: (code.len() * 4) as u32,
            ro_base: ro_base as u32,
        };
        rodata.resize(ro_base as usize, 0);
        code.extend_from_slice(&object.code);
        rodata.extend_from_slice(&object.rodata);
        placements.push(place);
    }
    let modules: Vec<Module<'_>> = inputs
        .iter()
        .zip(&placements)
        .map(|(input, &place)| Module {
            object: &input.object,
            place,
        })
        .collect();

    // 2. Metadata.
    let merged = merge_metadata(&mut sink, inputs);

    // 3. Global table.
    let mut global: BTreeMap<&str, (Resolved, usize)> = BTreeMap::new();
    for (k, module) in modules.iter().enumerate() {
        for (name, symbol) in &module.object.symbols {
            let resolved = module.resolve(symbol.section, symbol.offset);
            if let Some((_, first)) = global.get(name.as_str()) {
                let (first, second) = (inputs[*first].path.clone(), inputs[k].path.clone());
                sink.push(Diagnostic::file_error(
                    first,
                    format!("Duplicate symbol '{name}' exported by {second}"),
                ));
            } else {
                global.insert(name, (resolved, k));
            }
        }
    }
    let lookup = |k: usize, name: &str| -> Option<Resolved> {
        modules[k]
            .own(name)
            .or_else(|| global.get(name).map(|(r, _)| *r))
    };

    // 4. Imports.
    for (k, input) in inputs.iter().enumerate() {
        let mut missing: Vec<&str> = input
            .object
            .imports
            .iter()
            .map(String::as_str)
            .filter(|name| !global.contains_key(name))
            .collect();
        if !missing.is_empty() {
            missing.sort_unstable();
            missing.dedup();
            sink.file(
                k,
                format!(
                    "Unresolved imports in {}: {}",
                    input.path,
                    missing.join(", ")
                ),
            );
        }
    }

    // 5. Relocations.
    for (k, module) in modules.iter().enumerate() {
        for r in &module.object.relocs {
            let path = inputs[k].path.as_str();
            if let Err(message) = apply(module, r, &lookup, (k, path), &mut code, &mut rodata) {
                sink.at(k, r.src.as_deref(), message);
            }
        }
    }

    // 6. Command handlers.
    let mut commands: Vec<CommandMeta> = Vec::new();
    for (k, entry) in &merged.commands {
        let offset = match meta::command_handler(entry) {
            None => meta::command_handler_offset(entry),
            Some(name) => match lookup(*k, name) {
                Some(r) if r.section == SymbolSection::Text => r.addr,
                Some(_) => {
                    sink.file(
                        *k,
                        format!("command handler '{name}' must reference .text symbol"),
                    );
                    0
                }
                None => {
                    sink.file(
                        *k,
                        format!("command handler symbol '{name}' not found in linked objects"),
                    );
                    0
                }
            },
        };
        commands.push(meta::to_command_meta(entry, offset));
    }

    // 7. Entry.
    let entry = select_entry(&mut sink, &modules, &global, &lookup);

    if !sink.diags.is_empty() {
        return Err(Diagnostics(sink.diags));
    }

    // 8. Write.
    let values: Vec<ValueMeta> = merged
        .values
        .iter()
        .map(|(_, v)| meta::to_value_meta(v))
        .collect();
    let write = WriteInput {
        code: code.clone(),
        entry,
        rodata: rodata.clone(),
        bss_size: opts.bss_size,
        req_caps: opts.req_caps,
        app_name: opts.app_name.clone(),
        allow_multiple: opts.allow_multiple,
        values,
        commands,
        mailboxes: merged.mailboxes.into_iter().map(|(_, m)| m).collect(),
    };
    let image =
        write_hxe(&write).map_err(|e| Diagnostics::one(Diagnostic::error(e.to_string())))?;
    let symbols = modules
        .iter()
        .enumerate()
        .flat_map(|(k, m)| {
            m.object
                .local_symbols
                .iter()
                .map(move |(name, l)| LinkedSymbol {
                    name: name.clone(),
                    address: m.resolve(l.section, l.offset).addr,
                    section: l.section,
                    exported: m.object.symbols.contains_key(name),
                    module: k,
                })
        })
        .collect();
    Ok(Linked {
        image,
        code,
        rodata,
        entry,
        placements,
        symbols,
    })
}

/// Patch one relocation of module `k`.
fn apply(
    module: &Module<'_>,
    r: &Reloc,
    lookup: &dyn Fn(usize, &str) -> Option<Resolved>,
    (k, path): (usize, &str),
    code: &mut [u32],
    rodata: &mut [u8],
) -> Result<(), String> {
    let (value, plain_non_text) = match r.kind {
        RefKind::Abs => (r.value.unwrap_or(0), false),
        kind => {
            let resolved = lookup(k, &r.symbol).ok_or_else(|| {
                format!(
                    "Relocation references unknown symbol '{}' in {path}",
                    r.symbol
                )
            })?;
            let value = reloc::ref_value(kind, &r.symbol, resolved)?;
            (
                value,
                kind == RefKind::Symbol && resolved.section != SymbolSection::Text,
            )
        }
    };
    let object = module.object;
    let place = module.place;
    let section = r.ty.section();
    let pc_relative = r.pc_relative && r.ty == RelocType::Jump;
    let position = match section {
        RelocSection::Code => r.index,
        RelocSection::Rodata => r.offset.or(r.index),
    }
    .ok_or_else(|| format!("relocation of '{}' has no position", r.symbol))?;
    let text = r.reference_text();
    let input = FieldInput {
        ty: r.ty,
        pc_relative,
        value,
        pc: place.code_base.wrapping_add(position.wrapping_mul(4)),
        reference: &text,
        plain_non_text: plain_non_text && r.ty == RelocType::Jump,
    };
    match section {
        RelocSection::Code => {
            if position as usize >= object.code.len() {
                return Err(format!(
                    "relocation index {position} is outside the module's code"
                ));
            }
            let bits = reloc::field_bits(input)?;
            let mask = reloc::code_mask(r.ty, pc_relative);
            let word = &mut code[(place.code_base / 4 + position) as usize];
            *word = (*word & !mask) | (bits & mask);
        }
        RelocSection::Rodata => {
            let width = reloc::data_width(r.ty);
            if position as usize + width > object.rodata.len() {
                return Err(format!(
                    "relocation offset {position} is outside the module's rodata"
                ));
            }
            let bits = reloc::field_bits(input)?;
            let at = (place.ro_base + position) as usize;
            rodata[at..at + width].copy_from_slice(&bits.to_le_bytes()[..width]);
        }
    }
    Ok(())
}

/// Metadata entries of every module, tagged with their module.
#[derive(Default)]
struct Merged {
    values: Vec<(usize, JsonObject)>,
    commands: Vec<(usize, JsonObject)>,
    mailboxes: Vec<(usize, JsonObject)>,
}

fn merge_metadata(sink: &mut Sink<'_>, inputs: &[LinkInput]) -> Merged {
    let mut merged = Merged::default();
    for (k, input) in inputs.iter().enumerate() {
        let Some(md) = &input.object.metadata else {
            continue;
        };
        let kinds = [
            (MetaKind::Value, &md.values),
            (MetaKind::Command, &md.commands),
            (MetaKind::Mailbox, &md.mailboxes),
        ];
        for (kind, entries) in kinds {
            for entry in entries {
                let entry = match meta::normalise(kind, entry) {
                    Ok(e) => e,
                    Err(message) => {
                        sink.file(k, message);
                        continue;
                    }
                };
                let path = |j: usize| inputs[j].path.as_str();
                match kind {
                    MetaKind::Value => {
                        let key = meta::value_key(&entry);
                        if let Some((j, _)) = merged
                            .values
                            .iter()
                            .find(|(_, e)| meta::value_key(e) == key)
                        {
                            let message = format!(
                                "Duplicate value metadata ({},{}) defined in {} and {}",
                                key.0,
                                key.1,
                                path(*j),
                                path(k)
                            );
                            sink.file(k, message);
                            continue;
                        }
                        merged.values.push((k, entry));
                    }
                    MetaKind::Command => {
                        let key = meta::command_key(&entry);
                        if let Some((j, _)) = merged
                            .commands
                            .iter()
                            .find(|(_, e)| meta::command_key(e) == key)
                        {
                            let message = format!(
                                "Duplicate command metadata ({},{}) defined in {} and {}",
                                key.0,
                                key.1,
                                path(*j),
                                path(k)
                            );
                            sink.file(k, message);
                            continue;
                        }
                        merged.commands.push((k, entry));
                    }
                    MetaKind::Mailbox => {
                        let target = meta::mailbox_target(&entry).to_string();
                        if let Some((j, _)) = merged
                            .mailboxes
                            .iter()
                            .find(|(_, e)| meta::mailbox_target(e) == target)
                        {
                            let message = format!(
                                "Duplicate mailbox target '{target}' defined in {} and {}",
                                path(*j),
                                path(k)
                            );
                            sink.file(k, message);
                            continue;
                        }
                        merged.mailboxes.push((k, entry));
                    }
                }
            }
        }
    }
    merged.values.sort_by_key(|(_, e)| meta::value_key(e));
    merged.commands.sort_by_key(|(_, e)| meta::command_key(e));
    merged
        .mailboxes
        .sort_by(|(_, a), (_, b)| meta::mailbox_target(a).cmp(meta::mailbox_target(b)));
    merged
}

/// Entry: the exported `_start`; else the first module with an entry symbol; else
/// `code_base_0 + entry_0`.
fn select_entry(
    sink: &mut Sink<'_>,
    modules: &[Module<'_>],
    global: &BTreeMap<&str, (Resolved, usize)>,
    lookup: &dyn Fn(usize, &str) -> Option<Resolved>,
) -> u32 {
    if let Some((resolved, k)) = global.get("_start") {
        if resolved.section != SymbolSection::Text {
            sink.file(*k, "entry symbol '_start' must be a .text label".into());
        }
        return resolved.addr;
    }
    for (k, module) in modules.iter().enumerate() {
        if let Some(name) = &module.object.entry_symbol {
            return match lookup(k, name) {
                Some(r) if r.section == SymbolSection::Text => r.addr,
                _ => {
                    sink.file(
                        k,
                        format!("entry symbol '{name}' is not a .text label of the linked objects"),
                    );
                    0
                }
            };
        }
    }
    modules[0]
        .place
        .code_base
        .wrapping_add(modules[0].object.entry)
}
