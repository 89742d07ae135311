//! `hsx`: one binary for every HSX tool (`tools.md`).
#![forbid(unsafe_code)]

mod cmd;
mod num;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// HSX: a 32-bit register VM and multitasking executive.
#[derive(Parser)]
#[command(name = "hsx", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Assemble MVASM sources into a .hxe image or .hxo objects.
    Asm(cmd::asm::Args),
    /// Link .hxo objects and .mvasm sources into a .hxe image.
    Link(cmd::link::Args),
    /// Disassemble a .hxe image into MVASM that assembles back to it.
    Disasm(cmd::disasm::Args),
    /// Describe a .hxe image: header, sections, metadata, CRC check.
    Inspect(cmd::inspect::Args),
    /// Run .hxe images (or .mvasm sources) in an in-process executive.
    Run(cmd::run::Args),
    /// Run the executive as a TCP server speaking the HSX protocol.
    Serve(cmd::serve::Args),
    /// Interactive client of `hsx serve`: tasks, clock, debugger, mailboxes.
    Shell(cmd::shell::Args),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            // clap exits 2 on usage errors and 0 for --help/--version, as tools.md §1 wants.
            err.exit();
        }
    };
    match cli.command {
        Command::Asm(args) => cmd::asm::run(args),
        Command::Link(args) => cmd::link::run(args),
        Command::Disasm(args) => cmd::disasm::run(args),
        Command::Inspect(args) => cmd::inspect::run(args),
        Command::Run(args) => cmd::run::run(args),
        Command::Serve(args) => cmd::serve::run(args),
        Command::Shell(args) => cmd::shell::run(args),
    }
}
