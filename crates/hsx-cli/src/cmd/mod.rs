//! One module per subcommand; each has `Args` (clap) and `run(Args) -> ExitCode`.

pub mod asm;
pub mod disasm;
pub mod inspect;
pub mod link;
pub mod run;
pub mod serve;
pub mod shell;
