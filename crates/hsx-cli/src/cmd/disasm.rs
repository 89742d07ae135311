//! `hsx disasm` (`tools.md` §3, `mvasm.md` §10): MVASM text of a `.hxe` image that
//! assembles back to it, or a `--listing`.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use hsx_image::Image;

use super::asm::write_outputs;

/// Options of `hsx disasm`.
#[derive(clap::Args)]
pub struct Args {
    /// Write the text to OUT instead of standard output.
    #[arg(short = 'o', long = "output", value_name = "OUT")]
    output: Option<PathBuf>,
    /// Print `0x003C  01100010  LDI R1, 16` lines instead (not reassemblable).
    #[arg(long = "listing")]
    listing: bool,
    /// The image.
    #[arg(value_name = "FILE.hxe")]
    file: PathBuf,
}

/// Run `hsx disasm`.
pub fn run(args: Args) -> ExitCode {
    let name = args.file.display();
    let bytes = match std::fs::read(&args.file) {
        Ok(bytes) => bytes,
        Err(e) => {
            eprintln!("hsx disasm: {name}: error: cannot read: {e}");
            return ExitCode::from(1);
        }
    };
    let image = match Image::parse(&bytes) {
        Ok(image) => image,
        Err(e) => {
            eprintln!("hsx disasm: {name}: error: {e}");
            return ExitCode::from(1);
        }
    };
    let text = if args.listing {
        hsx_asm::disassemble_listing(&image)
    } else {
        hsx_asm::disassemble(&image)
    };
    let result = match &args.output {
        Some(out) => write_outputs(&[(out.clone(), text.into_bytes())]),
        None => std::io::stdout()
            .lock()
            .write_all(text.as_bytes())
            .map_err(|e| format!("cannot write standard output: {e}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("hsx disasm: error: {message}");
            ExitCode::from(1)
        }
    }
}
