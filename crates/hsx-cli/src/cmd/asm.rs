//! `hsx asm` (being written).

use std::process::ExitCode;

/// Options of `hsx asm`.
#[derive(clap::Args)]
pub struct Args {}

/// Run `hsx asm`.
pub fn run(_args: Args) -> ExitCode {
    eprintln!("hsx asm: not available yet");
    ExitCode::from(1)
}
