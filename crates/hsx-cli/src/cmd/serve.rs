//! `hsx serve` (`tools.md` §4): run the executive and serve the wire protocol.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::ValueEnum;
use hsx_exec::{ClockMode, Profile};
use hsx_server::{LogLevel, Server, ServerConfig};

use crate::num::{parse_u32, parse_u64};

/// Options of `hsx serve`.
#[derive(clap::Args)]
#[command(
    after_help = "Serves protocol 1 (JSON lines over TCP) until `shutdown`, SIGINT or SIGTERM.\n\
The protocol has no authentication: bind beyond loopback only on trusted networks."
)]
pub struct Args {
    /// Bind address.
    #[arg(
        long,
        visible_alias = "listen-host",
        value_name = "H",
        default_value = "127.0.0.1"
    )]
    host: String,
    /// TCP port (0 picks a free one).
    #[arg(long, visible_alias = "listen", value_name = "P", value_parser = parse_port, default_value = "9998")]
    port: u16,
    /// Start the auto clock at startup.
    #[arg(long)]
    run: bool,
    /// Clock rate in iterations per second (0 = unlimited).
    #[arg(long, value_name = "HZ", default_value = "0")]
    rate: f64,
    /// Instructions per clock iteration.
    #[arg(long, value_name = "N", value_parser = parse_u32, default_value = "1")]
    step: u32,
    /// Base directory for relative `load` paths (default: the working directory).
    #[arg(long, value_name = "DIR")]
    root: Option<PathBuf>,
    /// Host directory backing the FS syscalls.
    #[arg(long, value_name = "DIR")]
    fs_root: Option<PathBuf>,
    /// VM RAM and limit profile.
    #[arg(long, value_enum, default_value = "host")]
    profile: ProfileArg,
    /// Executive clock.
    #[arg(long, value_enum, default_value = "wall")]
    clock: ClockArg,
    /// Load an image at startup (repeatable).
    #[arg(long, value_name = "IMAGE")]
    load: Vec<PathBuf>,
    /// Longest request line in bytes.
    #[arg(long, value_name = "N", value_parser = parse_u64, default_value = "1048576")]
    max_line_bytes: u64,
    /// Most concurrent connections.
    #[arg(long, value_name = "N", value_parser = parse_u32, default_value = "128")]
    max_connections: u32,
    /// Per-task, per-stream stdio log size in bytes.
    #[arg(long, value_name = "N", value_parser = parse_u64, default_value = "65536")]
    stdio_log_bytes: u64,
    /// stderr log level (the same records feed `dmesg`).
    #[arg(long, value_enum, default_value = "info")]
    log_level: LevelArg,
}

#[derive(Clone, Copy, ValueEnum)]
enum ProfileArg {
    Host,
    Embedded,
}

#[derive(Clone, Copy, ValueEnum)]
enum ClockArg {
    Wall,
    Virtual,
}

#[derive(Clone, Copy, ValueEnum)]
enum LevelArg {
    Error,
    Warn,
    Info,
    Debug,
}

fn parse_port(text: &str) -> Result<u16, String> {
    let v = parse_u32(text)?;
    u16::try_from(v).map_err(|_| format!("port {v} is outside 0..=65535"))
}

/// Run `hsx serve`.
pub fn run(args: Args) -> ExitCode {
    if !(args.rate.is_finite() && args.rate >= 0.0) {
        eprintln!("hsx serve: --rate must be a non-negative number");
        return ExitCode::from(2);
    }
    let config = ServerConfig {
        host: args.host.clone(),
        port: args.port,
        run: args.run,
        rate: args.rate,
        step: args.step.max(1),
        root: args
            .root
            .or_else(|| std::env::current_dir().ok())
            .unwrap_or_default(),
        fs_root: args.fs_root,
        profile: match args.profile {
            ProfileArg::Host => Profile::Host,
            ProfileArg::Embedded => Profile::Embedded,
        },
        clock: match args.clock {
            ClockArg::Wall => ClockMode::Wall,
            ClockArg::Virtual => ClockMode::Virtual,
        },
        load: args.load,
        max_line_bytes: usize::try_from(args.max_line_bytes).unwrap_or(usize::MAX),
        max_connections: args.max_connections as usize,
        stdio_log_bytes: usize::try_from(args.stdio_log_bytes).unwrap_or(usize::MAX),
        log_level: match args.log_level {
            LevelArg::Error => LogLevel::Error,
            LevelArg::Warn => LogLevel::Warn,
            LevelArg::Info => LogLevel::Info,
            LevelArg::Debug => LogLevel::Debug,
        },
    };
    let shown = format!("{}:{}", args.host, args.port);
    let server = match Server::bind(config) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("hsx serve: cannot bind {shown}: {e}");
            return ExitCode::from(1);
        }
    };
    let addr = server.local_addr();
    if !addr.ip().is_loopback() {
        eprintln!("hsx serve: WARNING: no authentication: the protocol is reachable on {addr}");
    }
    let handle = server.shutdown_handle();
    let _ = ctrlc::set_handler(move || handle.shutdown());
    println!("hsx serve: listening on {addr} (protocol 1)");
    use std::io::Write;
    let _ = std::io::stdout().flush();
    match server.run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hsx serve: {e}");
            ExitCode::from(1)
        }
    }
}
