//! `.sym` symbol tables (`tools.md` §6) and their lookups.
//!
//! The file is JSON written by `hsx link --emit-sym`. Every section is optional and
//! unknown keys are ignored. Addresses may be JSON integers or strings in any base
//! (`"0x003C"`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

/// What a symbol names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SymKind {
    /// A function (`symbols.functions`).
    Function,
    /// A data object (`symbols.variables`).
    Variable,
    /// A code label (`symbols.labels`).
    Label,
}

impl SymKind {
    /// Wire name (`function`, `variable`, `label`).
    pub fn name(self) -> &'static str {
        match self {
            SymKind::Function => "function",
            SymKind::Variable => "variable",
            SymKind::Label => "label",
        }
    }

    /// Rank for ties: a function wins over a label or a variable at the same place.
    fn rank(self) -> u8 {
        match self {
            SymKind::Function => 0,
            SymKind::Label => 1,
            SymKind::Variable => 2,
        }
    }
}

/// One named address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Symbol {
    /// The name.
    pub name: String,
    /// Its address (code for functions and labels, data for variables).
    pub address: u32,
    /// Size in bytes (0 when unknown, always 0 for labels).
    pub size: u32,
    /// What it names.
    pub kind: SymKind,
    /// Source file, if recorded.
    pub file: Option<String>,
    /// Source line, if recorded.
    pub line: Option<u32>,
}

impl Symbol {
    /// The protocol's *sym* object `{name, address, size, type, file, line}`.
    pub fn to_json(&self) -> Value {
        json!({
            "name": self.name,
            "address": self.address,
            "size": self.size,
            "type": self.kind.name(),
            "file": self.file,
            "line": self.line,
        })
    }

    fn contains(&self, addr: u32) -> bool {
        addr >= self.address && (addr as u64) < self.address as u64 + self.size as u64
    }
}

/// One line-table entry (`instructions[]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineEntry {
    /// Code address.
    pub pc: u32,
    /// Source file as recorded.
    pub file: String,
    /// Compilation directory, if recorded.
    pub directory: Option<String>,
    /// Source line.
    pub line: u32,
    /// Containing function, if recorded.
    pub function: Option<String>,
    /// `compiler` marks synthetic instructions that source stepping skips.
    pub source_kind: Option<String>,
}

/// Where a local variable lives over a pc range.
#[derive(Debug, Clone, PartialEq)]
pub enum LocalLocation {
    /// At `R7 + offset`.
    Stack {
        /// Byte offset from the frame pointer.
        offset: i32,
    },
    /// In a register (`R0`..`R15`).
    Register {
        /// Register number.
        reg: u8,
    },
    /// A global variable.
    Global {
        /// Its address, if given.
        address: Option<u32>,
        /// Its symbol, if given.
        symbol: Option<String>,
    },
    /// A constant (not watchable).
    Const {
        /// The value as recorded.
        value: Value,
    },
}

/// A pc range `[start, end)` and the location valid over it.
#[derive(Debug, Clone, PartialEq)]
pub struct LocalRange {
    /// First pc.
    pub start: u32,
    /// One past the last pc.
    pub end: u32,
    /// The location.
    pub location: LocalLocation,
}

/// A local variable of a function (`symbols.locals[]`).
#[derive(Debug, Clone, PartialEq)]
pub struct Local {
    /// Its name.
    pub name: String,
    /// The function it belongs to.
    pub function: String,
    /// Its locations by pc range.
    pub locations: Vec<LocalRange>,
}

/// A parsed `.sym` file.
#[derive(Debug, Clone, Default)]
pub struct SymbolTable {
    /// The image CRC the symbols were written for.
    pub hxe_crc: Option<u32>,
    /// Every symbol, sorted by (address, kind rank, name).
    symbols: Vec<Symbol>,
    by_name: HashMap<String, usize>,
    /// Line table sorted by pc.
    lines: Vec<LineEntry>,
    locals: Vec<Local>,
    /// Directory of the `.sym` file, for source path resolution.
    base_dir: PathBuf,
}

/// An integer from a JSON integer, an integral float or a string in any base.
pub fn json_u32(value: &Value) -> Option<u32> {
    match value {
        Value::Number(n) => n
            .as_u64()
            .or_else(|| {
                n.as_f64()
                    .filter(|f| f.fract() == 0.0 && *f >= 0.0)
                    .map(|f| f as u64)
            })
            .and_then(|v| u32::try_from(v).ok()),
        Value::String(s) => parse_u32_text(s),
        _ => None,
    }
}

fn json_i32(value: &Value) -> Option<i32> {
    match value {
        Value::Number(n) => n.as_i64().and_then(|v| i32::try_from(v).ok()),
        Value::String(s) => {
            let t = s.trim();
            match t.strip_prefix('-') {
                Some(rest) => parse_u32_text(rest)
                    .and_then(|v| i32::try_from(v).ok())
                    .map(|v| -v),
                None => parse_u32_text(t).and_then(|v| i32::try_from(v).ok()),
            }
        }
        _ => None,
    }
}

/// Parse `123`, `0x7B`, `0o173` or `0b1111011`.
pub fn parse_u32_text(text: &str) -> Option<u32> {
    let t = text.trim();
    let lower = t.get(..2).map(str::to_ascii_lowercase);
    let (digits, radix) = match lower.as_deref() {
        Some("0x") => (&t[2..], 16),
        Some("0o") => (&t[2..], 8),
        Some("0b") => (&t[2..], 2),
        _ => (t, 10),
    };
    if digits.is_empty() || digits.starts_with(['+', '-']) {
        return None;
    }
    u32::from_str_radix(digits, radix).ok()
}

fn string(obj: &Map<String, Value>, key: &str) -> Option<String> {
    obj.get(key).and_then(Value::as_str).map(str::to_owned)
}

fn register_number(name: &str) -> Option<u8> {
    let n = name.trim().strip_prefix(['R', 'r'])?;
    n.parse::<u8>().ok().filter(|&r| r < 16)
}

impl SymbolTable {
    /// Parse the text of a `.sym` file located at `path` (its directory resolves
    /// relative source paths).
    pub fn parse(text: &str, path: &Path) -> Result<SymbolTable, String> {
        let doc: Value = serde_json::from_str(text).map_err(|e| format!("invalid JSON: {e}"))?;
        let root = doc
            .as_object()
            .ok_or("the symbol file is not a JSON object")?;
        let mut table = SymbolTable {
            hxe_crc: root.get("hxe_crc").and_then(json_u32),
            base_dir: path.parent().map(Path::to_path_buf).unwrap_or_default(),
            ..SymbolTable::default()
        };
        let empty = Map::new();
        let syms = root
            .get("symbols")
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        for (key, kind) in [
            ("functions", SymKind::Function),
            ("variables", SymKind::Variable),
        ] {
            for entry in syms
                .get(key)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let Some(obj) = entry.as_object() else {
                    continue;
                };
                let (Some(name), Some(address)) =
                    (string(obj, "name"), obj.get("address").and_then(json_u32))
                else {
                    continue;
                };
                table.symbols.push(Symbol {
                    name,
                    address,
                    size: obj.get("size").and_then(json_u32).unwrap_or(0),
                    kind,
                    file: string(obj, "file"),
                    line: obj.get("line").and_then(json_u32),
                });
            }
        }
        if let Some(labels) = syms.get("labels").and_then(Value::as_object) {
            for (addr, names) in labels {
                let Some(address) = parse_u32_text(addr) else {
                    continue;
                };
                let names: Vec<&str> = match names {
                    Value::Array(list) => list.iter().filter_map(Value::as_str).collect(),
                    Value::String(s) => vec![s.as_str()],
                    _ => Vec::new(),
                };
                for name in names {
                    table.symbols.push(Symbol {
                        name: name.to_owned(),
                        address,
                        size: 0,
                        kind: SymKind::Label,
                        file: None,
                        line: None,
                    });
                }
            }
        }
        for entry in syms
            .get("locals")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(local) = parse_local(entry) {
                table.locals.push(local);
            }
        }
        for entry in root
            .get("instructions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let Some(obj) = entry.as_object() else {
                continue;
            };
            let (Some(pc), Some(line)) = (
                obj.get("pc").and_then(json_u32),
                obj.get("line").and_then(json_u32),
            ) else {
                continue;
            };
            table.lines.push(LineEntry {
                pc,
                file: string(obj, "file").unwrap_or_default(),
                directory: string(obj, "directory"),
                line,
                function: string(obj, "function"),
                source_kind: string(obj, "source_kind"),
            });
        }
        table.symbols.sort_by(|a, b| {
            (a.address, a.kind.rank(), &a.name).cmp(&(b.address, b.kind.rank(), &b.name))
        });
        table
            .symbols
            .dedup_by(|a, b| a.name == b.name && a.address == b.address);
        for (i, s) in table.symbols.iter().enumerate() {
            match table.by_name.get(&s.name) {
                Some(&j) if table.symbols[j].kind.rank() <= s.kind.rank() => {}
                _ => {
                    table.by_name.insert(s.name.clone(), i);
                }
            }
        }
        table.lines.sort_by_key(|l| l.pc);
        Ok(table)
    }

    /// Read and parse a `.sym` file.
    pub fn load(path: &Path) -> Result<SymbolTable, String> {
        let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
        SymbolTable::parse(&text, path)
    }

    /// Number of symbols (functions, variables and labels).
    pub fn len(&self) -> usize {
        self.symbols.len()
    }

    /// True when there is no symbol.
    pub fn is_empty(&self) -> bool {
        self.symbols.is_empty()
    }

    /// Every symbol in address order.
    pub fn symbols(&self) -> &[Symbol] {
        &self.symbols
    }

    /// The line table in pc order.
    pub fn lines(&self) -> &[LineEntry] {
        &self.lines
    }

    /// Counts of (functions, variables, labels).
    pub fn counts(&self) -> (usize, usize, usize) {
        let count = |k| self.symbols.iter().filter(|s| s.kind == k).count();
        (
            count(SymKind::Function),
            count(SymKind::Variable),
            count(SymKind::Label),
        )
    }

    /// Exact lookup by name (a function wins over a label or a variable of that name).
    pub fn by_name(&self, name: &str) -> Option<&Symbol> {
        self.by_name.get(name).map(|&i| &self.symbols[i])
    }

    /// The symbol containing `addr` (a function wins a tie), else the nearest symbol at
    /// or below it; with the offset of `addr` from it.
    pub fn by_address(&self, addr: u32) -> Option<(&Symbol, u32)> {
        let upto = self.symbols.partition_point(|s| s.address <= addr);
        let below = &self.symbols[..upto];
        let containing = below
            .iter()
            .filter(|s| s.contains(addr))
            .min_by_key(|s| (s.kind.rank(), u32::MAX - s.address));
        let found = containing.or_else(|| {
            let top = below.last()?.address;
            below
                .iter()
                .rev()
                .take_while(|s| s.address == top)
                .min_by_key(|s| s.kind.rank())
        })?;
        Some((found, addr - found.address))
    }

    /// The code symbol (function or label) that starts exactly at `addr`.
    pub fn label_at(&self, addr: u32) -> Option<&Symbol> {
        let start = self.symbols.partition_point(|s| s.address < addr);
        self.symbols[start..]
            .iter()
            .take_while(|s| s.address == addr)
            .filter(|s| s.kind != SymKind::Variable)
            .min_by_key(|s| s.kind.rank())
    }

    /// The function containing `addr`, else the nearest code symbol at or below it.
    pub fn function_at(&self, addr: u32) -> Option<(&Symbol, u32)> {
        let upto = self.symbols.partition_point(|s| s.address <= addr);
        let code = self.symbols[..upto]
            .iter()
            .filter(|s| s.kind != SymKind::Variable);
        let containing = code
            .clone()
            .filter(|s| s.kind == SymKind::Function && s.contains(addr))
            .max_by_key(|s| s.address);
        let found = containing.or_else(|| {
            let top = code.clone().map(|s| s.address).max()?;
            code.filter(|s| s.address == top)
                .min_by_key(|s| s.kind.rank())
        })?;
        Some((found, addr - found.address))
    }

    /// `name+0xOFF` (or `name` at offset 0) for the symbol at or containing `addr`.
    pub fn describe(&self, addr: u32) -> Option<String> {
        let (sym, off) = self.function_at(addr)?;
        Some(if off == 0 {
            sym.name.clone()
        } else {
            format!("{}+0x{off:X}", sym.name)
        })
    }

    /// The line-table entry with the greatest pc ≤ `addr`.
    pub fn line_at(&self, addr: u32) -> Option<&LineEntry> {
        let upto = self.lines.partition_point(|l| l.pc <= addr);
        upto.checked_sub(1).map(|i| &self.lines[i])
    }

    /// The exact line-table entry at `addr`.
    pub fn line_exact(&self, addr: u32) -> Option<&LineEntry> {
        self.line_at(addr).filter(|l| l.pc == addr)
    }

    /// Resolve a line entry's source path (`tools.md` §6): the recorded path if absolute,
    /// else joined with its directory, else with the `.sym` file's directory; the first
    /// that exists wins, otherwise the recorded string.
    pub fn resolve_file(&self, entry: &LineEntry) -> String {
        self.resolve_path(&entry.file, entry.directory.as_deref())
    }

    /// Source path resolution for a recorded file name (see [`Self::resolve_file`]).
    pub fn resolve_path(&self, file: &str, directory: Option<&str>) -> String {
        let recorded = Path::new(file);
        let mut candidates = Vec::new();
        if recorded.is_absolute() {
            candidates.push(recorded.to_path_buf());
        } else {
            if let Some(dir) = directory {
                candidates.push(Path::new(dir).join(recorded));
            }
            candidates.push(self.base_dir.join(recorded));
        }
        candidates
            .into_iter()
            .find(|p| p.exists())
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| file.to_owned())
    }

    /// The `{address, file, line}` object of the protocol for a line entry.
    pub fn line_json(entry: &LineEntry) -> Value {
        json!({"address": entry.pc, "file": entry.file, "line": entry.line})
    }

    /// A local by name, optionally restricted to one function.
    pub fn locals_named<'a>(
        &'a self,
        name: &'a str,
        function: Option<&'a str>,
    ) -> impl Iterator<Item = &'a Local> + 'a {
        self.locals
            .iter()
            .filter(move |l| l.name == name && function.is_none_or(|f| l.function == f))
    }
}

fn parse_local(entry: &Value) -> Option<Local> {
    let obj = entry.as_object()?;
    let name = string(obj, "name")?;
    let function = string(obj, "function").unwrap_or_default();
    let mut locations = Vec::new();
    for loc in obj
        .get("locations")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let Some(l) = loc.as_object() else {
            continue;
        };
        let (Some(start), Some(end)) = (
            l.get("start").and_then(json_u32),
            l.get("end").and_then(json_u32),
        ) else {
            continue;
        };
        let Some(place) = l.get("location").and_then(Value::as_object) else {
            continue;
        };
        let location = match place.get("kind").and_then(Value::as_str) {
            Some("stack") => LocalLocation::Stack {
                offset: place.get("offset").and_then(json_i32).unwrap_or(0),
            },
            Some("register") => LocalLocation::Register {
                reg: place
                    .get("name")
                    .and_then(Value::as_str)
                    .and_then(register_number)?,
            },
            Some("global") => LocalLocation::Global {
                address: place.get("address").and_then(json_u32),
                symbol: string(place, "symbol"),
            },
            Some("const") => LocalLocation::Const {
                value: place.get("value").cloned().unwrap_or(Value::Null),
            },
            _ => continue,
        };
        locations.push(LocalRange {
            start,
            end,
            location,
        });
    }
    Some(Local {
        name,
        function,
        locations,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> SymbolTable {
        let text = r#"{
          "version": 1, "hxe_crc": "0x1234",
          "symbols": {
            "functions": [
              {"name": "main", "address": 60, "size": 40, "file": "main.c", "line": 9},
              {"name": "phi_select", "address": "0xC8", "size": 16, "file": "main.c", "line": 5}
            ],
            "variables": [{"name": "counter", "address": "0x4000", "size": 4, "type": "int"}],
            "labels": {"0x003C": ["main", "start"], "0x0050": ["loop"]},
            "locals": [
              {"name": "x", "function": "main", "locations": [
                {"start": 60, "end": 80, "location": {"kind": "stack", "offset": -8}},
                {"start": 80, "end": 100, "location": {"kind": "register", "name": "R3"}}
              ]}
            ]
          },
          "instructions": [
            {"pc": 60, "file": "main.c", "line": 9},
            {"pc": 64, "file": "main.c", "line": 10, "source_kind": "compiler"},
            {"pc": 200, "file": "main.c", "line": 5}
          ]
        }"#;
        SymbolTable::parse(text, Path::new("/nonexistent/app.sym")).unwrap()
    }

    #[test]
    fn labels_map_is_not_a_symbol() {
        let t = table();
        assert!(t.by_name("labels").is_none());
        assert_eq!(t.by_name("loop").unwrap().address, 0x50);
        assert_eq!(t.by_name("main").unwrap().kind, SymKind::Function);
        assert_eq!(t.hxe_crc, Some(0x1234));
        assert_eq!(t.counts(), (2, 1, 2));
    }

    #[test]
    fn address_lookup_prefers_containing_function() {
        let t = table();
        let (s, off) = t.by_address(0x54).unwrap();
        assert_eq!((s.name.as_str(), off), ("main", 0x18));
        let (s, off) = t.by_address(0xD0).unwrap();
        assert_eq!((s.name.as_str(), off), ("phi_select", 8));
        // Past the end of phi_select: nearest at or below.
        let (s, off) = t.by_address(0xE0).unwrap();
        assert_eq!((s.name.as_str(), off), ("phi_select", 0x18));
        assert!(t.by_address(0x10).is_none());
        assert_eq!(t.by_address(0x4002).unwrap().0.name, "counter");
        assert_eq!(t.describe(0xD0).as_deref(), Some("phi_select+0x8"));
        assert_eq!(t.label_at(0x3C).unwrap().name, "main");
    }

    #[test]
    fn line_lookup_takes_greatest_pc_at_or_below() {
        let t = table();
        assert_eq!(t.line_at(0x40).unwrap().line, 10);
        assert_eq!(t.line_at(0x80).unwrap().line, 10);
        assert_eq!(t.line_at(200).unwrap().line, 5);
        assert!(t.line_at(0).is_none());
        assert!(t.line_exact(0x44).is_none());
    }

    #[test]
    fn locals_parse_every_kind() {
        let t = table();
        let x: Vec<_> = t.locals_named("x", Some("main")).collect();
        assert_eq!(x.len(), 1);
        assert_eq!(
            x[0].locations[0].location,
            LocalLocation::Stack { offset: -8 }
        );
        assert_eq!(
            x[0].locations[1].location,
            LocalLocation::Register { reg: 3 }
        );
    }

    #[test]
    fn bad_documents_are_errors_not_panics() {
        let p = Path::new("x.sym");
        assert!(SymbolTable::parse("[]", p).is_err());
        assert!(SymbolTable::parse("{", p).is_err());
        let t = SymbolTable::parse(
            r#"{"symbols": {"functions": [1, {"name": 3}], "labels": 7}}"#,
            p,
        )
        .unwrap();
        assert!(t.is_empty());
    }

    #[test]
    fn relative_paths_fall_back_to_the_recorded_string() {
        let t = table();
        let e = t.line_at(60).unwrap();
        assert_eq!(t.resolve_file(e), "main.c");
    }
}
