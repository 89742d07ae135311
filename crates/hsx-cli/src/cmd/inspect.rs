//! `hsx inspect` (`tools.md` §3): describe a `.hxe` image — header, CRC, sizes and
//! metadata — as text or JSON, optionally with a code listing; or just verify it.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use hsx_image::{
    CommandMeta, HEADER_V1, HEADER_V2, Header, Image, MAGIC, MailboxMeta, RODATA_BASE,
    SectionEntry, ValueMeta, auth, command_flags, compute_crc, f16_to_f64, mode, section_kind,
    value_flags,
};
use hsx_isa::{Insn, Opcode};
use serde::Serialize;

/// Options of `hsx inspect`.
#[derive(clap::Args)]
pub struct Args {
    /// Print one JSON document instead of text.
    #[arg(long)]
    json: bool,
    /// Add a code listing (`0xAAAA  WWWWWWWW  TEXT` lines).
    #[arg(long)]
    disasm: bool,
    /// Only validate: print nothing on success, the error on failure (other output
    /// options are ignored).
    #[arg(long)]
    verify: bool,
    /// The file to describe (`.hxe`).
    #[arg(value_name = "FILE")]
    file: PathBuf,
}

/// Run `hsx inspect`.
pub fn run(args: Args) -> ExitCode {
    let name = args.file.display().to_string();
    if is_unsupported(&args.file) {
        eprintln!("hsx inspect: {name}: .hxo/.sym inspection is not supported yet");
        return ExitCode::from(1);
    }
    let bytes = match std::fs::read(&args.file) {
        Ok(bytes) => bytes,
        Err(e) => {
            eprintln!("hsx inspect: {name}: cannot read: {e}");
            return ExitCode::from(1);
        }
    };
    let parsed = Image::parse(&bytes);
    if !args.verify {
        let report = Report::new(&name, &bytes, &parsed, args.disasm);
        let text = if args.json {
            report.json()
        } else {
            report.text()
        };
        if let Err(e) = std::io::stdout().lock().write_all(text.as_bytes()) {
            eprintln!("hsx inspect: cannot write standard output: {e}");
            return ExitCode::from(1);
        }
    }
    match parsed {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hsx inspect: {name}: {e}");
            ExitCode::from(1)
        }
    }
}

/// `.hxo` objects and `.sym` files are not handled by this command yet.
fn is_unsupported(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("hxo") || e.eq_ignore_ascii_case("sym"))
}

/// Everything `inspect` reports, in output order. Serialised as the `--json` document.
#[derive(Serialize)]
struct Report {
    file: String,
    size: usize,
    valid: bool,
    error: Option<String>,
    /// Present once the magic, version and header length are valid (loader checks 1–4).
    header: Option<HeaderReport>,
    /// Present for valid images.
    metadata: Option<MetadataReport>,
    /// Present with `--disasm` for valid images.
    #[serde(skip_serializing_if = "Option::is_none")]
    disasm: Option<Vec<Line>>,
}

#[derive(Serialize)]
struct HeaderReport {
    version: u16,
    flags: u16,
    allow_multiple: bool,
    manifest_present: bool,
    app_name: Option<String>,
    entry: u32,
    code_len: u32,
    ro_len: u32,
    bss_size: u32,
    req_caps: u32,
    crc_stored: u32,
    crc_computed: u32,
    crc_ok: bool,
    meta_offset: u32,
    meta_count: u32,
}

#[derive(Serialize)]
struct MetadataReport {
    sections: Vec<SectionReport>,
    values: Vec<ValueReport>,
    commands: Vec<CommandReport>,
    mailboxes: Vec<MailboxReport>,
}

#[derive(Serialize)]
struct SectionReport {
    kind: u32,
    kind_name: Option<&'static str>,
    offset: u32,
    size: u32,
    entry_count: u32,
}

#[derive(Serialize)]
struct ValueReport {
    group: u8,
    id: u8,
    name: Option<String>,
    unit: Option<String>,
    group_name: Option<String>,
    flags: u8,
    flag_names: String,
    auth: u8,
    auth_name: String,
    init_raw: u16,
    init: Option<f64>,
    epsilon_raw: u16,
    epsilon: Option<f64>,
    min_raw: u16,
    min: Option<f64>,
    max_raw: u16,
    max: Option<f64>,
    persist_key: u16,
}

#[derive(Serialize)]
struct CommandReport {
    group: u8,
    id: u8,
    name: Option<String>,
    help: Option<String>,
    group_name: Option<String>,
    flags: u8,
    flag_names: String,
    auth: u8,
    auth_name: String,
    handler_offset: u32,
    reserved: u32,
}

#[derive(Serialize)]
struct MailboxReport {
    target: String,
    capacity: Option<u32>,
    mode_mask: u16,
    mode_names: String,
    owner_pid: Option<i64>,
    bindings: Vec<BindingReport>,
    source: serde_json::Map<String, serde_json::Value>,
}

#[derive(Serialize)]
struct BindingReport {
    pid: i64,
    flags: u16,
}

/// One code listing line.
#[derive(Serialize)]
struct Line {
    addr: u32,
    words: Vec<u32>,
    text: String,
}

impl Report {
    fn new(
        name: &str,
        bytes: &[u8],
        parsed: &Result<Image, hsx_image::LoadError>,
        disasm: bool,
    ) -> Report {
        let image = parsed.as_ref().ok();
        Report {
            file: name.to_owned(),
            size: bytes.len(),
            valid: image.is_some(),
            error: parsed.as_ref().err().map(ToString::to_string),
            header: header_report(bytes),
            metadata: image.map(metadata_report),
            disasm: image.filter(|_| disasm).map(listing),
        }
    }

    fn json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).unwrap_or_default();
        text.push('\n');
        text
    }

    fn text(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = self.write_text(&mut out);
        out
    }

    fn write_text(&self, out: &mut String) -> std::fmt::Result {
        writeln!(out, "file      : {} ({} bytes)", self.file, self.size)?;
        let Some(h) = &self.header else { return Ok(()) };
        let crc = if h.crc_ok {
            format!("CRC 0x{:08X} ok", h.crc_stored)
        } else {
            format!(
                "CRC 0x{:08X} MISMATCH (computed 0x{:08X})",
                h.crc_stored, h.crc_computed
            )
        };
        writeln!(out, "format    : HXE v{}, {crc}", h.version)?;
        let app = match (&h.app_name, h.version) {
            (Some(name), _) => printable(name),
            (None, 1) => "(none, v1 image)".to_owned(),
            (None, _) => "(none)".to_owned(),
        };
        let instances = if h.allow_multiple {
            "multiple instances allowed"
        } else {
            "single instance"
        };
        let manifest = if h.manifest_present {
            ", manifest present"
        } else {
            ""
        };
        writeln!(
            out,
            "app       : {app} ({instances}{manifest}), req_caps 0x{:08X}",
            h.req_caps
        )?;
        writeln!(out, "entry     : 0x{:04X}", h.entry)?;
        if h.code_len % 4 == 0 {
            writeln!(
                out,
                "code      : {} bytes ({})",
                h.code_len,
                count(h.code_len as usize / 4, "word", "words")
            )?;
        } else {
            writeln!(
                out,
                "code      : {} bytes (not a whole number of words)",
                h.code_len
            )?;
        }
        writeln!(
            out,
            "rodata    : {} bytes at 0x{RODATA_BASE:04X}   bss: {} bytes",
            h.ro_len, h.bss_size
        )?;
        let Some(m) = &self.metadata else {
            // Not loaded (the image is invalid): show where the table claims to be.
            if h.version == 2 && h.meta_offset != 0 && h.meta_count != 0 {
                writeln!(
                    out,
                    "metadata  : table at 0x{:04X}, {} (not loaded)",
                    h.meta_offset,
                    count(h.meta_count as usize, "section", "sections")
                )?;
            }
            return Ok(());
        };
        writeln!(
            out,
            "metadata  : {}, {}, {}",
            count(m.values.len(), "value", "values"),
            count(m.commands.len(), "command", "commands"),
            count(m.mailboxes.len(), "mailbox", "mailboxes")
        )?;
        if !m.sections.is_empty() {
            writeln!(
                out,
                "sections  : {} at 0x{:04X}",
                m.sections.len(),
                h.meta_offset
            )?;
            for (i, s) in m.sections.iter().enumerate() {
                let kind = s
                    .kind_name
                    .map_or_else(|| format!("type {}", s.kind), str::to_owned);
                writeln!(
                    out,
                    "  [{i}] {kind:<8} at 0x{:04X}, {} bytes, {}",
                    s.offset,
                    s.size,
                    count(s.entry_count as usize, "entry", "entries")
                )?;
            }
        }
        for v in &m.values {
            write!(out, "value     : ({},{})", v.group, v.id)?;
            write_strings(
                out,
                &[
                    ("name", &v.name),
                    ("unit", &v.unit),
                    ("group", &v.group_name),
                ],
            )?;
            write!(out, " flags {} auth {}", v.flag_names, v.auth_name)?;
            for (label, raw) in [
                ("init", v.init_raw),
                ("epsilon", v.epsilon_raw),
                ("min", v.min_raw),
                ("max", v.max_raw),
            ] {
                write!(out, " {label} {} (0x{raw:04X})", f16_text(raw))?;
            }
            writeln!(out, " persist_key {}", v.persist_key)?;
        }
        for c in &m.commands {
            write!(out, "command   : ({},{})", c.group, c.id)?;
            write_strings(
                out,
                &[
                    ("name", &c.name),
                    ("help", &c.help),
                    ("group", &c.group_name),
                ],
            )?;
            write!(
                out,
                " flags {} auth {} handler 0x{:04X}",
                c.flag_names, c.auth_name, c.handler_offset
            )?;
            if c.reserved != 0 {
                write!(out, " reserved 0x{:04X}", c.reserved)?;
            }
            writeln!(out)?;
        }
        for b in &m.mailboxes {
            write!(out, "mailbox   : {}", quoted(&b.target))?;
            match b.capacity {
                Some(capacity) => write!(out, " capacity {capacity}")?,
                None => write!(out, " capacity default")?,
            }
            write!(out, " mode 0x{:04X} ({})", b.mode_mask, b.mode_names)?;
            if let Some(pid) = b.owner_pid {
                write!(out, " owner_pid {pid}")?;
            }
            if !b.bindings.is_empty() {
                let list: Vec<String> = b
                    .bindings
                    .iter()
                    .map(|b| format!("pid {} flags 0x{:04X}", b.pid, b.flags))
                    .collect();
                write!(out, " bindings [{}]", list.join(", "))?;
            }
            writeln!(out)?;
        }
        if let Some(lines) = &self.disasm {
            writeln!(out, "disassembly:")?;
            for line in lines {
                writeln!(
                    out,
                    "0x{:04X}  {:08X}  {}",
                    line.addr, line.words[0], line.text
                )?;
                for (i, word) in line.words.iter().enumerate().skip(1) {
                    writeln!(out, "0x{:04X}  {word:08X}", line.addr as usize + 4 * i)?;
                }
            }
        }
        Ok(())
    }
}

/// The raw header, once loader checks 1–4 pass (magic, version, header length), so the
/// fields mean what they say even if a later check fails.
fn header_report(bytes: &[u8]) -> Option<HeaderReport> {
    let header = Header::read(bytes)?;
    if header.magic != MAGIC || !matches!(header.version, 1 | 2) {
        return None;
    }
    let (app_name, meta_offset, meta_count, allow_multiple) = match (&header.v2, header.version) {
        (Some(v2), _) => {
            let raw = v2.app_name.split(|&b| b == 0).next().unwrap_or(&[]);
            let name = String::from_utf8_lossy(raw).trim().to_owned();
            let allow = header.flags & hsx_image::flags::ALLOW_MULTIPLE != 0;
            (
                (!name.is_empty()).then_some(name),
                v2.meta_offset,
                v2.meta_count,
                allow,
            )
        }
        (None, 1) => (None, 0, 0, true),
        (None, _) => return None, // a truncated v2 header
    };
    let header_size = if header.version == 2 {
        HEADER_V2
    } else {
        HEADER_V1
    };
    let crc_computed = compute_crc(bytes, header_size);
    Some(HeaderReport {
        version: header.version,
        flags: header.flags,
        allow_multiple,
        manifest_present: header.flags & hsx_image::flags::MANIFEST_PRESENT != 0,
        app_name,
        entry: header.entry,
        code_len: header.code_len,
        ro_len: header.ro_len,
        bss_size: header.bss_size,
        req_caps: header.req_caps,
        crc_stored: header.crc32,
        crc_computed,
        crc_ok: crc_computed == header.crc32,
        meta_offset,
        meta_count,
    })
}

fn metadata_report(image: &Image) -> MetadataReport {
    let m = &image.metadata;
    MetadataReport {
        sections: m.sections.iter().map(section_report).collect(),
        values: m.values.iter().map(value_report).collect(),
        commands: m.commands.iter().map(command_report).collect(),
        mailboxes: m.mailboxes.iter().map(mailbox_report).collect(),
    }
}

fn section_report(s: &SectionEntry) -> SectionReport {
    SectionReport {
        kind: s.kind,
        kind_name: section_kind::name(s.kind),
        offset: s.offset,
        size: s.size,
        entry_count: s.entry_count,
    }
}

fn value_report(v: &ValueMeta) -> ValueReport {
    let finite = |bits| Some(f16_to_f64(bits)).filter(|f| f.is_finite());
    ValueReport {
        group: v.group,
        id: v.id,
        name: v.name.clone(),
        unit: v.unit.clone(),
        group_name: v.group_name.clone(),
        flags: v.flags,
        flag_names: flag_names(
            u16::from(v.flags),
            value_flags::NAMES.iter().map(|&(b, n)| (u16::from(b), n)),
        ),
        auth: v.auth,
        auth_name: auth_name(v.auth),
        init_raw: v.init,
        init: finite(v.init),
        epsilon_raw: v.epsilon,
        epsilon: finite(v.epsilon),
        min_raw: v.min,
        min: finite(v.min),
        max_raw: v.max,
        max: finite(v.max),
        persist_key: v.persist_key,
    }
}

fn command_report(c: &CommandMeta) -> CommandReport {
    CommandReport {
        group: c.group,
        id: c.id,
        name: c.name.clone(),
        help: c.help.clone(),
        group_name: c.group_name.clone(),
        flags: c.flags,
        flag_names: flag_names(
            u16::from(c.flags),
            command_flags::NAMES.iter().map(|&(b, n)| (u16::from(b), n)),
        ),
        auth: c.auth,
        auth_name: auth_name(c.auth),
        handler_offset: c.handler_offset,
        reserved: c.reserved,
    }
}

fn mailbox_report(m: &MailboxMeta) -> MailboxReport {
    MailboxReport {
        target: m.target.clone(),
        capacity: m.capacity,
        mode_mask: m.mode_mask,
        mode_names: mode_names(m.mode_mask),
        owner_pid: m.owner_pid,
        bindings: m
            .bindings
            .iter()
            .map(|b| BindingReport {
                pid: b.pid,
                flags: b.flags,
            })
            .collect(),
        source: m.source.clone(),
    }
}

/// The code, one instruction (or undecodable word) per line.
fn listing(image: &Image) -> Vec<Line> {
    let words: Vec<u32> = image.code_words().collect();
    let mut lines = Vec::new();
    let mut pc = 0u32;
    while let Some(decoded) = Insn::decode_in(&image.code, pc) {
        let line = match decoded {
            Ok(insn) => {
                let mut words = vec![insn.word.0];
                if insn.op == Opcode::Ldi32 {
                    words.push(insn.literal);
                }
                Line {
                    addr: pc,
                    words,
                    text: insn.display(pc).to_string(),
                }
            }
            Err(_) => {
                let word = words.get(pc as usize / 4).copied().unwrap_or_default();
                Line {
                    addr: pc,
                    words: vec![word],
                    text: format!(".word 0x{word:08X}"),
                }
            }
        };
        let Some(next) = pc.checked_add(4 * line.words.len() as u32) else {
            break;
        };
        lines.push(line);
        pc = next;
    }
    lines
}

/// `A|B` names of the set bits, unknown bits in hex, `-` for none.
fn flag_names(bits: u16, names: impl Iterator<Item = (u16, &'static str)>) -> String {
    let mut parts = Vec::new();
    let mut rest = bits;
    for (bit, name) in names {
        if bits & bit == bit && bit != 0 {
            parts.push(name.to_owned());
            rest &= !bit;
        }
    }
    if rest != 0 {
        parts.push(format!("0x{rest:X}"));
    }
    if parts.is_empty() {
        "-".to_owned()
    } else {
        parts.join("|")
    }
}

/// Mailbox mode names: the access pair (RDONLY, WRONLY or RDWR), then the other bits.
fn mode_names(mask: u16) -> String {
    let access = match mask & mode::RDWR {
        mode::RDWR => Some((mode::RDWR, "RDWR")),
        mode::RDONLY => Some((mode::RDONLY, "RDONLY")),
        mode::WRONLY => Some((mode::WRONLY, "WRONLY")),
        _ => None,
    };
    let others = [
        (mode::TAP, "TAP"),
        (mode::FANOUT, "FANOUT"),
        (mode::FANOUT_DROP, "FANOUT_DROP"),
        (mode::FANOUT_BLOCK, "FANOUT_BLOCK"),
    ];
    flag_names(mask, access.into_iter().chain(others))
}

fn auth_name(level: u8) -> String {
    auth::name(level).map_or_else(|| level.to_string(), str::to_owned)
}

/// `N thing(s)`.
fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// An f16 value as text: shortest decimal, `inf`, `-inf` or `NaN`.
fn f16_text(bits: u16) -> String {
    f16_to_f64(bits).to_string()
}

/// ` label "text"` for each present string.
fn write_strings(out: &mut String, strings: &[(&str, &Option<String>)]) -> std::fmt::Result {
    for (label, text) in strings {
        if let Some(text) = text {
            write!(out, " {label} {}", quoted(text))?;
        }
    }
    Ok(())
}

/// A string in JSON quotes, so empty strings and escapes are visible.
fn quoted(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_default()
}

/// Text with anything outside printable ASCII escaped (for header fields).
fn printable(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            let plain = (' '..='~').contains(&c);
            let escaped: Vec<char> = if plain {
                vec![c]
            } else {
                c.escape_default().collect()
            };
            escaped
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mode_names_split_access_and_delivery_bits() {
        assert_eq!(mode_names(0x0F), "RDWR|TAP|FANOUT");
        assert_eq!(mode_names(0x01), "RDONLY");
        assert_eq!(mode_names(0x32), "WRONLY|FANOUT_DROP|FANOUT_BLOCK");
        assert_eq!(mode_names(0x104), "TAP|0x100");
        assert_eq!(mode_names(0), "-");
    }

    #[test]
    fn flag_names_report_unknown_bits() {
        let names = || value_flags::NAMES.iter().map(|&(b, n)| (u16::from(b), n));
        assert_eq!(flag_names(0x03, names()), "RO|PERSIST");
        assert_eq!(flag_names(0x82, names()), "PERSIST|0x80");
    }

    #[test]
    fn listing_marks_undecodable_words() {
        let image = Image::parse(&hsx_image::write_hxe_v1(
            &[0x2500_0000, 0xFF00_0000, 0x6010_0000],
            0,
            &[],
            0,
            0,
        ))
        .expect("valid image");
        let lines = listing(&image);
        let texts: Vec<&str> = lines.iter().map(|l| l.text.as_str()).collect();
        assert_eq!(texts, ["RET", ".word 0xFF000000", ".word 0x60100000"]);
    }
}
