//! `hsx disasm` (being written).

use std::process::ExitCode;

/// Options of `hsx disasm`.
#[derive(clap::Args)]
pub struct Args {}

/// Run `hsx disasm`.
pub fn run(_args: Args) -> ExitCode {
    eprintln!("hsx disasm: not available yet");
    ExitCode::from(1)
}
