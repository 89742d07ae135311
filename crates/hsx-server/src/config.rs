//! Server configuration (`tools.md` §4).

use std::path::PathBuf;

use hsx_exec::{ClockMode, Profile};

/// stderr / `dmesg` log levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    /// Errors only.
    Error,
    /// Warnings and errors.
    Warn,
    /// Normal operation.
    Info,
    /// Everything, including each request.
    Debug,
}

impl LogLevel {
    /// Upper-case name as printed.
    pub fn name(self) -> &'static str {
        match self {
            LogLevel::Error => "ERROR",
            LogLevel::Warn => "WARN",
            LogLevel::Info => "INFO",
            LogLevel::Debug => "DEBUG",
        }
    }
}

/// Everything `hsx serve` can be told.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Bind address.
    pub host: String,
    /// TCP port (0 = any free port).
    pub port: u16,
    /// Start the auto clock at startup.
    pub run: bool,
    /// Clock rate in iterations per second (0 = unlimited).
    pub rate: f64,
    /// Instructions per clock iteration.
    pub step: u32,
    /// Base for relative `load` paths.
    pub root: PathBuf,
    /// Host directory for FS syscalls.
    pub fs_root: Option<PathBuf>,
    /// Executive profile.
    pub profile: Profile,
    /// Executive clock.
    pub clock: ClockMode,
    /// Images loaded at startup.
    pub load: Vec<PathBuf>,
    /// Longest request line.
    pub max_line_bytes: usize,
    /// Most concurrent connections.
    pub max_connections: usize,
    /// Per-task, per-stream stdio log size.
    pub stdio_log_bytes: usize,
    /// stderr log level.
    pub log_level: LogLevel,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            host: "127.0.0.1".into(),
            port: 9998,
            run: false,
            rate: 0.0,
            step: 1,
            root: std::env::current_dir().unwrap_or_default(),
            fs_root: None,
            profile: Profile::Host,
            clock: ClockMode::Wall,
            load: Vec::new(),
            max_line_bytes: 1 << 20,
            max_connections: 128,
            stdio_log_bytes: 64 << 10,
            log_level: LogLevel::Info,
        }
    }
}
