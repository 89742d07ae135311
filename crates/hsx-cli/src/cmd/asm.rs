//! `hsx asm` (`tools.md` §3): assemble MVASM sources into a `.hxe` image or `.hxo`
//! objects.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use hsx_asm::{AsmOptions, Diagnostics, LinkOptions, Unit, assemble_unit, link};

/// Options of `hsx asm`.
#[derive(clap::Args)]
pub struct Args {
    /// Output file (default: the first source with its extension replaced).
    #[arg(short = 'o', long = "output", value_name = "OUT")]
    output: Option<PathBuf>,
    /// Write one .hxo object per source instead of linking a .hxe.
    #[arg(short = 'c', long = "object")]
    object: bool,
    /// Accepted and ignored (compatibility with the prototype).
    #[arg(long = "emit-hxe")]
    emit_hxe: bool,
    /// Directory searched for `.include` files after the including file's directory.
    #[arg(short = 'I', value_name = "DIR")]
    include: Vec<PathBuf>,
    /// Application name written to the image (default: the output file stem).
    #[arg(long = "app-name", value_name = "N")]
    app_name: Option<String>,
    /// Write an `addr word source-line` listing to F.
    #[arg(long = "listing", value_name = "F")]
    listing: Option<PathBuf>,
    /// MVASM sources.
    #[arg(value_name = "SRC.mvasm", required = true)]
    sources: Vec<PathBuf>,
}

/// Run `hsx asm`.
pub fn run(args: Args) -> ExitCode {
    // `--emit-hxe` only exists so that prototype build scripts keep working.
    let _ = args.emit_hxe;
    if args.object && args.output.is_some() && args.sources.len() > 1 {
        eprintln!("hsx asm: -o can only be used with one source when writing objects (-c)");
        return ExitCode::from(2);
    }
    let opts = AsmOptions {
        include_dirs: args.include.clone(),
        // A lone source linked straight to an image gets every check with its excerpt.
        single_unit: !args.object && args.sources.len() == 1,
    };
    match build(&args, &opts) {
        Ok(outputs) => match write_outputs(&outputs) {
            Ok(()) => ExitCode::SUCCESS,
            Err(message) => {
                eprintln!("hsx asm: error: {message}");
                ExitCode::from(1)
            }
        },
        Err(diags) => {
            report("asm", &diags);
            ExitCode::from(1)
        }
    }
}

/// Assemble (and link) everything; returns the files to write.
fn build(args: &Args, opts: &AsmOptions) -> Result<Vec<(PathBuf, Vec<u8>)>, Diagnostics> {
    let mut units: Vec<(PathBuf, Unit)> = Vec::new();
    let mut failed = Diagnostics::new();
    for source in &args.sources {
        match assemble_unit(source, opts) {
            Ok(unit) => units.push((source.clone(), unit)),
            Err(diags) => failed.0.extend(diags.0),
        }
    }
    if !failed.is_empty() {
        failed.0.truncate(hsx_asm::MAX_ERRORS);
        return Err(failed);
    }
    let mut outputs = Vec::new();
    let mut listing = String::new();
    if args.object {
        for (source, unit) in &units {
            let out = args
                .output
                .clone()
                .unwrap_or_else(|| source.with_extension("hxo"));
            let object = &unit.object;
            listing.push_str(&unit.listing.render(&object.code, &object.rodata, 0, 0));
            outputs.push((out, object.to_json().into_bytes()));
        }
    } else {
        let out = args
            .output
            .clone()
            .unwrap_or_else(|| args.sources[0].with_extension("hxe"));
        let link_opts = LinkOptions {
            app_name: args.app_name.clone().unwrap_or_else(|| stem(&out)),
            ..LinkOptions::default()
        };
        let listings: Vec<_> = units.iter().map(|(_, u)| u.listing.clone()).collect();
        let inputs: Vec<_> = units
            .into_iter()
            .map(|(source, unit)| unit.into_link_input(source.display().to_string()))
            .collect();
        let linked = link(&inputs, &link_opts)?;
        for (unit_listing, place) in listings.iter().zip(&linked.placements) {
            listing.push_str(&unit_listing.render(
                &linked.code,
                &linked.rodata,
                place.code_base,
                place.ro_base,
            ));
        }
        outputs.push((out, linked.image));
    }
    if let Some(path) = &args.listing {
        outputs.push((path.clone(), listing.into_bytes()));
    }
    Ok(outputs)
}

/// The file stem of `path`, as the default application name.
pub(crate) fn stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Print diagnostics to stderr; those not tied to a file get the `hsx SUB: ` prefix.
pub(crate) fn report(sub: &str, diags: &Diagnostics) {
    for d in diags {
        if d.path.is_some() {
            eprint!("{d}");
        } else {
            eprint!("hsx {sub}: {d}");
        }
    }
}

/// Write every file atomically: all contents go to `<path>.tmp` first, then each is
/// renamed into place. On failure the temporary files are removed and no output file is
/// created or truncated by a partial write.
pub(crate) fn write_outputs(files: &[(PathBuf, Vec<u8>)]) -> Result<(), String> {
    let temp = |path: &Path| {
        let mut name = path.as_os_str().to_owned();
        name.push(".tmp");
        PathBuf::from(name)
    };
    let cleanup = |upto: usize| {
        for (path, _) in &files[..upto] {
            let _ = std::fs::remove_file(temp(path));
        }
    };
    for (i, (path, bytes)) in files.iter().enumerate() {
        if let Err(e) = std::fs::write(temp(path), bytes) {
            cleanup(i + 1);
            return Err(format!("cannot write {}: {e}", path.display()));
        }
    }
    for (path, _) in files {
        if let Err(e) = std::fs::rename(temp(path), path) {
            cleanup(files.len());
            return Err(format!("cannot write {}: {e}", path.display()));
        }
    }
    Ok(())
}
