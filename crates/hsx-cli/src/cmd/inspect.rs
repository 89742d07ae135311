//! `hsx inspect` (being written).

use std::process::ExitCode;

/// Options of `hsx inspect`.
#[derive(clap::Args)]
pub struct Args {}

/// Run `hsx inspect`.
pub fn run(_args: Args) -> ExitCode {
    eprintln!("hsx inspect: not available yet");
    ExitCode::from(1)
}
