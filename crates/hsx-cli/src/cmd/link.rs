//! `hsx link` (`tools.md` §3, `mvasm.md` §8): link `.hxo` objects and `.mvasm` sources
//! into a `.hxe` image, or copy a single `.hxe` unchanged.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use hsx_asm::{
    AsmOptions, Diagnostic, Diagnostics, LinkInput, LinkOptions, Object, assemble_unit, link,
};

use super::asm::{report, stem, write_outputs};
use crate::num::parse_u32;

/// Options of `hsx link`.
#[derive(clap::Args)]
pub struct Args {
    /// Output image.
    #[arg(short = 'o', long = "output", value_name = "OUT.hxe", required = true)]
    output: PathBuf,
    /// Application name written to the image (default: the output file stem).
    #[arg(long = "app-name", value_name = "N")]
    app_name: Option<String>,
    /// Also write a symbol file (`.sym` JSON) for the debugger.
    #[arg(long = "emit-sym", value_name = "F.sym")]
    emit_sym: Option<PathBuf>,
    /// Required-capability mask.
    #[arg(long = "req-cap", value_name = "MASK", value_parser = parse_u32, default_value = "0")]
    req_cap: u32,
    /// Build a single-instance image (clears ALLOW_MULTIPLE).
    #[arg(long = "single-instance")]
    single_instance: bool,
    /// Bytes of zeroed memory after rodata.
    #[arg(long = "bss-size", value_name = "N", value_parser = parse_u32, default_value = "0")]
    bss_size: u32,
    /// Objects (.hxo), sources (.mvasm), or a single image (.hxe).
    #[arg(value_name = "INPUT", required = true)]
    inputs: Vec<PathBuf>,
}

enum Kind {
    Image,
    Object,
    Source,
}

fn kind(path: &Path) -> Kind {
    match path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("hxe") => Kind::Image,
        Some("hxo" | "json") => Kind::Object,
        _ => Kind::Source,
    }
}

/// Run `hsx link`.
pub fn run(args: Args) -> ExitCode {
    let images = args
        .inputs
        .iter()
        .filter(|p| matches!(kind(p), Kind::Image))
        .count();
    let result = if images > 0 {
        copy_image(&args, images)
    } else {
        link_inputs(&args)
    };
    let outputs = match result {
        Ok(outputs) => outputs,
        Err(diags) => {
            report("link", &diags);
            return ExitCode::from(1);
        }
    };
    match write_outputs(&outputs) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("hsx link: error: {message}");
            ExitCode::from(1)
        }
    }
}

type Outputs = Vec<(PathBuf, Vec<u8>)>;

/// A single `.hxe` input is copied unchanged.
fn copy_image(args: &Args, images: usize) -> Result<Outputs, Diagnostics> {
    if images != args.inputs.len() {
        return Err(Diagnostic::error("Cannot mix .hxe and .hxo inputs").into());
    }
    if images > 1 {
        return Err(Diagnostic::error("Only a single .hxe input can be copied").into());
    }
    let input = &args.inputs[0];
    let bytes = std::fs::read(input).map_err(|e| {
        Diagnostic::file_error(input.display().to_string(), format!("cannot read: {e}"))
    })?;
    if args.emit_sym.is_some() {
        return Err(
            Diagnostic::error("--emit-sym needs objects or sources, not a linked .hxe").into(),
        );
    }
    Ok(vec![(args.output.clone(), bytes)])
}

fn link_inputs(args: &Args) -> Result<Outputs, Diagnostics> {
    let opts = AsmOptions::default();
    let mut inputs = Vec::new();
    let mut failed = Diagnostics::new();
    for path in &args.inputs {
        let name = path.display().to_string();
        let input = match kind(path) {
            Kind::Object => std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read: {e}"))
                .and_then(|text| Object::from_json(&text).map_err(|e| e.to_string()))
                .map(|object| LinkInput::new(name.clone(), object))
                .map_err(|message| Diagnostics::one(Diagnostic::file_error(name, message))),
            _ => assemble_unit(path, &opts).map(|unit| unit.into_link_input(name)),
        };
        match input {
            Ok(input) => inputs.push(input),
            Err(diags) => failed.0.extend(diags.0),
        }
    }
    if !failed.is_empty() {
        failed.0.truncate(hsx_asm::MAX_ERRORS);
        return Err(failed);
    }
    let link_opts = LinkOptions {
        app_name: args.app_name.clone().unwrap_or_else(|| stem(&args.output)),
        allow_multiple: !args.single_instance,
        req_caps: args.req_cap,
        bss_size: args.bss_size,
    };
    let linked = link(&inputs, &link_opts)?;
    let mut outputs = Vec::new();
    if let Some(sym) = &args.emit_sym {
        for input in &inputs {
            eprintln!(
                "hsx link: warning: {} has no debug info; it contributes its symbols and labels only",
                input.path
            );
        }
        outputs.push((sym.clone(), linked.symbol_file().into_bytes()));
    }
    outputs.push((args.output.clone(), linked.image));
    Ok(outputs)
}
