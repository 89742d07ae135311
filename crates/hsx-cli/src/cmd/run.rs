//! `hsx run` (being written).

use std::process::ExitCode;

/// Options of `hsx run`.
#[derive(clap::Args)]
pub struct Args {}

/// Run `hsx run`.
pub fn run(_args: Args) -> ExitCode {
    eprintln!("hsx run: not available yet");
    ExitCode::from(1)
}
