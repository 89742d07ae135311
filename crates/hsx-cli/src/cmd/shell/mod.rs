//! `hsx shell` (`tools.md` §5): interactive, one-shot and script client of `hsx serve`.

mod client;
mod commands;
mod print;

use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use client::Client;

/// Options of `hsx shell`.
#[derive(clap::Args)]
#[command(
    after_help = "Commands: run `hsx shell help` for the table, `help CMD` for details.\n\
Exit status: 0 every command succeeded; 1 a command failed; 3 the server is unreachable."
)]
pub struct Args {
    /// Server address.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// Server port.
    #[arg(long, value_parser = crate::num::parse_u32, default_value = "9998")]
    port: u32,
    /// Print raw replies as indented JSON with sorted keys.
    #[arg(long)]
    json: bool,
    /// Run this command line (repeatable), then exit.
    #[arg(short = 'c', value_name = "LINE")]
    command: Vec<String>,
    /// Run the command lines of FILE, then exit.
    #[arg(short = 'f', value_name = "FILE")]
    file: Option<PathBuf>,
    /// In scripts, stop at the first failing command.
    #[arg(long)]
    stop_on_error: bool,
    /// Do not subscribe to events.
    #[arg(long)]
    no_events: bool,
    /// A single command given as words (`hsx shell ps`).
    #[arg(
        value_name = "WORD",
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    words: Vec<String>,
}

/// Shell state shared by the commands.
pub struct Shell {
    client: Client,
    json: bool,
    notify: bool,
    interrupted: Arc<AtomicBool>,
    quit: bool,
}

/// Run `hsx shell`.
pub fn run(args: Args) -> ExitCode {
    let addr = format!("{}:{}", args.host, args.port);
    let interactive = args.command.is_empty()
        && args.file.is_none()
        && args.words.is_empty()
        && std::io::stdin().is_terminal();
    if interactive {
        print!("Connecting to executive at {addr} ... ");
    }
    let client = match Client::connect(&addr, !args.no_events) {
        Ok(c) => c,
        Err(e) => {
            if interactive {
                println!();
            }
            eprintln!("hsx shell: cannot connect to {addr}: {e}");
            return ExitCode::from(3);
        }
    };
    let interrupted = Arc::new(AtomicBool::new(false));
    let flag = interrupted.clone();
    let _ = ctrlc::set_handler(move || flag.store(true, Ordering::SeqCst));
    let mut shell = Shell {
        client,
        json: args.json,
        notify: true,
        interrupted,
        quit: false,
    };
    let ok = if !args.words.is_empty() {
        let line = shell_words::join(&args.words);
        shell.run_lines(std::iter::once(line), false)
    } else if !args.command.is_empty() {
        shell.run_lines(args.command.clone().into_iter(), args.stop_on_error)
    } else if let Some(file) = &args.file {
        match std::fs::read_to_string(file) {
            Ok(text) => shell.run_lines(
                text.lines()
                    .map(str::to_owned)
                    .collect::<Vec<_>>()
                    .into_iter(),
                args.stop_on_error,
            ),
            Err(e) => {
                eprintln!("hsx shell: cannot read {}: {e}", file.display());
                false
            }
        }
    } else if interactive {
        println!("connected.");
        println!("Type 'help' for commands or 'help <command>' for details.");
        shell.interactive()
    } else {
        let lines: Vec<String> = std::io::stdin()
            .lock()
            .lines()
            .map_while(Result::ok)
            .collect();
        shell.run_lines(lines.into_iter(), args.stop_on_error)
    };
    shell.client.close();
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

impl Shell {
    /// Run lines in order; returns true if all succeeded.
    fn run_lines(&mut self, lines: impl Iterator<Item = String>, stop_on_error: bool) -> bool {
        let mut ok = true;
        for line in lines {
            if !self.run_line(&line) {
                ok = false;
                if stop_on_error {
                    break;
                }
            }
            if self.quit {
                break;
            }
        }
        self.client.poll_events(Duration::from_millis(50));
        self.print_notifications();
        ok
    }

    /// Run one line; true on success (comments and blank lines succeed).
    fn run_line(&mut self, line: &str) -> bool {
        let text = line.trim();
        if text.is_empty() || text.starts_with('#') {
            return true;
        }
        let mut words = match shell_words::split(text) {
            Ok(w) => w,
            Err(e) => {
                eprintln!("error: {e}");
                return false;
            }
        };
        let json = match words.iter().position(|w| w == "--json") {
            Some(i) => {
                words.remove(i);
                true
            }
            None => self.json,
        };
        let ok = commands::execute(self, &words, json);
        self.client.poll_events(Duration::from_millis(20));
        self.print_notifications();
        ok
    }

    fn interactive(&mut self) -> bool {
        use rustyline::error::ReadlineError;
        let history = std::env::var_os("HOME")
            .map(PathBuf::from)
            .map(|h| h.join(".hsx_history"));
        let mut editor = match rustyline::Editor::<commands::Completer, _>::new() {
            Ok(e) => e,
            Err(e) => {
                eprintln!("hsx shell: cannot start line editor: {e}");
                return false;
            }
        };
        editor.set_helper(Some(commands::Completer));
        if let Some(h) = &history {
            let _ = editor.load_history(h);
        }
        let mut ok = true;
        loop {
            match editor.readline("hsx> ") {
                Ok(line) => {
                    if !line.trim().is_empty() {
                        let _ = editor.add_history_entry(line.as_str());
                    }
                    ok &= self.run_line(&line);
                    if self.quit {
                        break;
                    }
                }
                Err(ReadlineError::Interrupted) => continue,
                Err(_) => break,
            }
        }
        if let Some(h) = &history {
            let _ = editor.save_history(h);
        }
        ok
    }

    /// Print one line per new `debug_break` or terminal `task_state`.
    fn print_notifications(&mut self) {
        while let Some(ev) = self.client.fresh.pop_front() {
            if !self.notify {
                continue;
            }
            if let Some(line) = print::notification(&ev) {
                println!("{line}");
            }
        }
    }
}
