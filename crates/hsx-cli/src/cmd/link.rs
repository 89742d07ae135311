//! `hsx link` (being written).

use std::process::ExitCode;

/// Options of `hsx link`.
#[derive(clap::Args)]
pub struct Args {}

/// Run `hsx link`.
pub fn run(_args: Args) -> ExitCode {
    eprintln!("hsx link: not available yet");
    ExitCode::from(1)
}
