//! The shell's command set (`tools.md` §5.1): parsing words into requests, and help.

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::Duration;

use serde_json::{Value, json};

use super::Shell;
use super::client::Failure;
use super::print;
use crate::num::parse_u64;

/// One command of the table.
pub struct Cmd {
    /// Name typed by the user.
    pub name: &'static str,
    /// Usage line.
    pub usage: &'static str,
    /// One-line synopsis for the table.
    pub synopsis: &'static str,
    /// Details for `help CMD`.
    pub help: &'static str,
}

macro_rules! cmds {
    ($( $name:literal, $usage:literal, $syn:literal, $help:literal; )*) => {
        /// Every command.
        pub const COMMANDS: &[Cmd] = &[ $( Cmd { name: $name, usage: $usage, synopsis: $syn, help: $help }, )* ];
    };
}

cmds! {
    "help", "help [CMD]", "list commands, or explain one", "Without CMD: one synopsis line per command. With CMD: its usage and details.";
    "quit", "quit", "leave the shell (also: exit, EOF)", "Closes the session and exits.";
    "exit", "exit", "leave the shell", "Same as quit.";
    "pwd", "pwd", "print the shell's working directory", "Paths given to load/save are resolved against it.";
    "cd", "cd DIR", "change the shell's working directory", "Relative paths in later commands resolve against DIR.";
    "ls", "ls [DIR]", "list a directory", "Lists DIR (default: the working directory), directories first with a trailing '/'.";
    "notify", "notify on|off", "show or hide stop/exit notifications", "Notifications are one line per debug_break or task returned/faulted, printed before the next prompt.";
    "attach", "attach", "mark the executive attached", "Sends 'attach'; prints 'attached'.";
    "detach", "detach", "detach and stop the clock", "Sends 'detach'; the server clears the attached flag and stops the clock.";
    "info", "info [PID]", "status block, task table and clock", "With PID also that task's registers.";
    "ps", "ps", "task table", "One row per task; '*' marks the current task.";
    "load", "load PATH [--symbols F] [verbose]", "load an image (alias: exec)", "PATH may omit .hxe. A bundle (.txt listing one image per line, or savefiles/NAME.txt) loads each image. Symbols come from PATH with extension .sym unless --symbols names another file.";
    "exec", "exec PATH [--symbols F] [verbose]", "load an image (alias of load)", "See 'help load'.";
    "save", "save NAME", "save loaded image paths to savefiles/NAME.txt", "Writes the program paths of the loaded tasks, one per line, for 'load NAME'.";
    "pause", "pause PID", "pause a task", "Operator pause; prints 'pid N: paused'.";
    "resume", "resume PID", "resume a paused task", "The task runs when the clock runs or on global steps; prints its new state.";
    "kill", "kill PID", "kill or reap a task", "Frees everything the task holds; prints 'pid N: terminated'.";
    "reload", "reload PID [verbose]", "kill and load the same program again", "Breakpoints and watches are not carried over; a lock moves to the new pid.";
    "clock", "clock [status|start|stop|rate HZ|step [N] [-p PID]|advance MS]", "show or drive the auto clock", "start/stop run guests in the background; rate sets iterations per second (0 = unlimited); step runs N instructions now; advance moves a virtual clock.";
    "step", "step [N] [-p PID] [--source]", "execute N instructions now", "Without -p the scheduler runs runnable tasks; with -p only that task runs and keeps its state (a paused task stays paused). --source skips compiler-synthetic instructions.";
    "sched", "sched stats|trace [LIMIT] | sched PID [priority N] [quantum N]", "scheduler counters and trace, or set priority/quantum", "stats: counters per pid; trace: the scheduler trace, newest first.";
    "dumpregs", "dumpregs PID", "registers read through reg_base", "pc, sp, psw with decoded flags, reg_base, stack_base, stack_limit, stack_top, steps, state and R00..R15.";
    "peek", "peek PID ADDR [LEN]", "hex dump of data memory", "16 bytes per row with ASCII; LEN defaults to 16 (max 4096). ADDR may be a symbol.";
    "poke", "poke PID ADDR HEX", "write bytes to data memory", "HEX is an even-length hex string.";
    "mbox", "mbox [all|app|shared|svc|ns NAME] [pid N|owner N]", "mailbox summary and descriptor table", "Filters the descriptors by namespace and owner.";
    "list", "list PID", "a task's mailbox channels", "Table of descriptors the task has open.";
    "listen", "listen [PID] [LIMIT] [MAXLEN] [--err] [-f]", "read task output", "Prints stdout (or stderr with --err) text drained by the server; -f follows live output until Ctrl-C.";
    "send", "send PID [CHANNEL] DATA...", "send text to a task's stdin or a channel", "Default channel: svc:stdio.in@PID.";
    "stdio", "stdio [PID|default|all] [STREAM] [MODE]", "show or set stdio fan-out modes (alias: stdiofanout)", "STREAM: in out err both all; MODE: off fanout fanout_block.";
    "stdiofanout", "stdiofanout [PID|default|all] [STREAM] [MODE]", "alias of stdio", "See 'help stdio'.";
    "dmesg", "dmesg [LIMIT] [session ID|N]", "server log records", "The last LIMIT records (default 20), optionally of one session.";
    "session", "session [list|close ID|N]", "current session, list, or close one", "close sends session.terminate for an id or a number from 'session list'.";
    "events", "events [N] [--all] [--type T]... [--json]", "recent events from the local buffer", "The shell buffers the last 1000 events it received.";
    "trace", "trace PID [on|off] | trace PID records|export [N] | trace PID import FILE [--append] | trace config changed-regs on|off | trace config buffer N", "per-instruction trace", "on/off toggles trace_step events; records lists the trace buffer; export prints it as JSON; import loads records from a JSON file.";
    "bp", "bp list|set|clear|clearall PID [ADDR]", "breakpoints", "ADDR may be a symbol. A hit pauses the task before the instruction executes.";
    "watch", "watch list|add|remove PID [EXPR|ID] [--type T] [--length N] [--stop]", "watchpoints", "EXPR: an address, a symbol, or a local (local:NAME, FN::NAME, NAME@FN). --stop pauses the task when the value changes.";
    "stack", "stack PID [FRAMES]", "stack walk", "Frames from the frame pointer chain, with symbols and source lines.";
    "disasm", "disasm PID [ADDR] [COUNT] [--mode on-demand|cached|--cached]", "disassemble code memory", "Reads the task's code image; ADDR defaults to the pc, COUNT to 8.";
    "sym", "sym info|addr|name|line|load PID [ARG]", "symbol lookups", "info: the loaded .sym; addr ADDR; name NAME; line ADDR; load PATH.";
    "symbols", "symbols PID [--type T] [--offset N] [--limit N]", "list symbols", "T: functions, variables, all.";
    "memory", "memory regions PID", "memory regions of a task", "code, rodata, bss, registers and stack.";
    "dbg", "dbg attach|detach|regs|break PID | dbg cont PID [N] | dbg step PID [COUNT] | dbg bp list|add|remove PID [ADDR]", "debugger operations", "cont and step run only PID; break pauses it (async_break).";
    "restart", "restart [vm|exec|all]", "reset the executive", "vm kills every task and stops the clock; exec also closes all sessions.";
    "shutdown", "shutdown", "stop the server", "The server closes every connection and exits.";
    "raw", "raw JSON", "send a JSON request as given", "Prints the reply as JSON.";
}

fn find(name: &str) -> Option<&'static Cmd> {
    COMMANDS.iter().find(|c| c.name == name)
}

/// Completion of command names for rustyline.
pub struct Completer;

impl rustyline::completion::Completer for Completer {
    type Candidate = String;
    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &rustyline::Context<'_>,
    ) -> rustyline::Result<(usize, Vec<String>)> {
        let head = &line[..pos];
        if head.contains(char::is_whitespace) {
            return Ok((pos, Vec::new()));
        }
        let list = COMMANDS
            .iter()
            .filter(|c| c.name.starts_with(head))
            .map(|c| c.name.to_owned())
            .collect();
        Ok((0, list))
    }
}
impl rustyline::hint::Hinter for Completer {
    type Hint = String;
}
impl rustyline::highlight::Highlighter for Completer {}
impl rustyline::validate::Validator for Completer {}
impl rustyline::Helper for Completer {}

/// Usage error: print the usage line and fail.
fn usage(name: &str) -> bool {
    if let Some(c) = find(name) {
        eprintln!("usage: {}", c.usage);
    }
    false
}

fn num(s: &str) -> Option<u64> {
    parse_u64(s).ok()
}

/// Send a request; print `--json` or run the printer; false on error.
fn call(sh: &mut Shell, req: Value, json: bool, printer: impl FnOnce(&mut Shell, &Value)) -> bool {
    match sh.client.request(req) {
        Ok(reply) => {
            if json {
                println!("{}", print::pretty(&reply));
            } else {
                printer(sh, &reply);
            }
            true
        }
        Err(Failure::Server(e)) => {
            eprintln!("error: {e}");
            false
        }
        Err(Failure::Io(e)) => {
            eprintln!("error: connection lost: {e}");
            false
        }
    }
}

/// A request value without printing.
fn fetch(sh: &mut Shell, req: Value) -> Result<Value, String> {
    sh.client.request(req).map_err(|f| match f {
        Failure::Server(e) => e,
        Failure::Io(e) => format!("connection lost: {e}"),
    })
}

/// An address: a number, or a symbol of `pid` resolved with `sym name`.
fn address(sh: &mut Shell, pid: u64, text: &str) -> Result<u64, String> {
    if let Some(n) = num(text) {
        return Ok(n);
    }
    let r = fetch(
        sh,
        json!({"cmd": "sym", "op": "name", "pid": pid, "name": text}),
    )?;
    r["symbol"]["address"]
        .as_u64()
        .ok_or_else(|| format!("unknown symbol '{text}'"))
}

fn absolute(p: &str) -> PathBuf {
    let path = Path::new(p);
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().unwrap_or_default().join(path)
    }
}

/// Split `--flag VALUE` options out of the words.
struct Opts {
    rest: Vec<String>,
    flags: Vec<(String, Option<String>)>,
}

fn opts(words: &[String], with_value: &[&str]) -> Opts {
    let mut rest = Vec::new();
    let mut flags = Vec::new();
    let mut i = 0;
    while i < words.len() {
        let w = &words[i];
        if w.starts_with("--") || (w.starts_with('-') && w.len() == 2 && num(w).is_none()) {
            let (name, inline) = match w.split_once('=') {
                Some((n, v)) => (n.to_owned(), Some(v.to_owned())),
                None => (w.clone(), None),
            };
            if inline.is_none() && with_value.contains(&name.as_str()) && i + 1 < words.len() {
                flags.push((name, Some(words[i + 1].clone())));
                i += 2;
                continue;
            }
            flags.push((name, inline));
        } else {
            rest.push(w.clone());
        }
        i += 1;
    }
    Opts { rest, flags }
}

impl Opts {
    fn has(&self, f: &str) -> bool {
        self.flags.iter().any(|(n, _)| n == f)
    }
    fn value(&self, f: &str) -> Option<&str> {
        self.flags
            .iter()
            .find(|(n, _)| n == f)
            .and_then(|(_, v)| v.as_deref())
    }
    fn values(&self, f: &str) -> Vec<&str> {
        self.flags
            .iter()
            .filter(|(n, _)| n == f)
            .filter_map(|(_, v)| v.as_deref())
            .collect()
    }
}

/// Execute one command line (already split); true on success.
pub fn execute(sh: &mut Shell, words: &[String], json: bool) -> bool {
    let Some(name) = words.first() else {
        return true;
    };
    let args = &words[1..];
    let pid_arg = |i: usize| args.get(i).and_then(|s| num(s));
    match name.as_str() {
        "help" => help(args.first().map(String::as_str)),
        "quit" | "exit" => {
            sh.quit = true;
            true
        }
        "pwd" => {
            println!("{}", std::env::current_dir().unwrap_or_default().display());
            true
        }
        "cd" => match args.first() {
            Some(d) => match std::env::set_current_dir(d) {
                Ok(()) => true,
                Err(e) => {
                    eprintln!("error: cannot cd to {d}: {e}");
                    false
                }
            },
            None => usage("cd"),
        },
        "ls" => {
            let dir = args.first().map(String::as_str).unwrap_or(".");
            match std::fs::read_dir(dir) {
                Ok(entries) => {
                    let mut names: Vec<(bool, String)> = entries
                        .filter_map(Result::ok)
                        .map(|e| {
                            let d = e.file_type().is_ok_and(|t| t.is_dir());
                            (!d, e.file_name().to_string_lossy().into_owned())
                        })
                        .collect();
                    names.sort();
                    for (file, n) in names {
                        println!("{n}{}", if file { "" } else { "/" });
                    }
                    true
                }
                Err(e) => {
                    eprintln!("error: cannot list {dir}: {e}");
                    false
                }
            }
        }
        "notify" => match args.first().map(String::as_str) {
            Some("on") => {
                sh.notify = true;
                println!("notifications on");
                true
            }
            Some("off") => {
                sh.notify = false;
                println!("notifications off");
                true
            }
            None => {
                println!("notifications {}", if sh.notify { "on" } else { "off" });
                true
            }
            _ => usage("notify"),
        },
        "attach" => call(sh, json!({"cmd": "attach"}), json, |_, _| {
            println!("attached")
        }),
        "detach" => call(sh, json!({"cmd": "detach"}), json, |_, _| {
            println!("detached (clock stopped)")
        }),
        "info" => {
            let mut req = json!({"cmd": "info"});
            if let Some(p) = pid_arg(0) {
                req["pid"] = json!(p);
            }
            call(sh, req, json, |_, r| print::info(r))
        }
        "ps" => call(sh, json!({"cmd": "ps"}), json, |_, r| print::ps(r)),
        "load" | "exec" => load(sh, args, json),
        "save" => save(sh, args),
        "pause" | "resume" | "kill" => match pid_arg(0) {
            Some(pid) => call(sh, json!({"cmd": name, "pid": pid}), json, |_, r| {
                println!("pid {pid}: {}", r["task"]["state"].as_str().unwrap_or("?"))
            }),
            None => usage(name),
        },
        "reload" => match pid_arg(0) {
            Some(pid) => {
                let verbose = args.iter().any(|a| a == "verbose");
                call(
                    sh,
                    json!({"cmd": "reload", "pid": pid, "verbose": verbose}),
                    json,
                    |_, r| {
                        let rl = &r["reload"];
                        println!(
                            "reloaded pid {} as pid {}: {}",
                            rl["old_pid"],
                            rl["new_pid"],
                            rl["program"].as_str().unwrap_or("")
                        )
                    },
                )
            }
            None => usage("reload"),
        },
        "clock" => clock(sh, args, json),
        "step" => step(sh, args, json, "step"),
        "sched" => sched(sh, args, json),
        "dumpregs" => match pid_arg(0) {
            Some(pid) => call(sh, json!({"cmd": "dumpregs", "pid": pid}), json, |_, r| {
                print::dumpregs(&r["registers"])
            }),
            None => usage("dumpregs"),
        },
        "peek" => {
            let Some(pid) = pid_arg(0) else {
                return usage("peek");
            };
            let Some(addr_text) = args.get(1) else {
                return usage("peek");
            };
            let addr = match address(sh, pid, addr_text) {
                Ok(a) => a,
                Err(e) => {
                    eprintln!("error: {e}");
                    return false;
                }
            };
            let len = match args.get(2) {
                Some(l) => match num(l) {
                    Some(n) => n,
                    None => return usage("peek"),
                },
                None => 16,
            };
            call(
                sh,
                json!({"cmd": "peek", "pid": pid, "addr": addr, "length": len}),
                json,
                |_, r| print::hexdump(addr, r["data"].as_str().unwrap_or("")),
            )
        }
        "poke" => {
            let (Some(pid), Some(addr_text), Some(hex)) = (pid_arg(0), args.get(1), args.get(2))
            else {
                return usage("poke");
            };
            let addr = match address(sh, pid, addr_text) {
                Ok(a) => a,
                Err(e) => {
                    eprintln!("error: {e}");
                    return false;
                }
            };
            call(
                sh,
                json!({"cmd": "poke", "pid": pid, "addr": addr, "data": hex}),
                json,
                |_, r| println!("wrote {} bytes at 0x{addr:04X} (pid {pid})", r["length"]),
            )
        }
        "mbox" => mbox(sh, args, json),
        "list" => match pid_arg(0) {
            Some(pid) => call(sh, json!({"cmd": "list", "pid": pid}), json, |_, r| {
                print::channels(r)
            }),
            None => usage("list"),
        },
        "listen" => listen(sh, args, json),
        "send" => send(sh, args, json),
        "stdio" | "stdiofanout" => {
            let mut req = json!({"cmd": "stdio_fanout"});
            let mut rest = args.iter();
            if let Some(scope) = rest.next() {
                req["pid"] = match num(scope) {
                    Some(n) => json!(n),
                    None => json!(scope),
                };
            }
            if let Some(stream) = rest.next() {
                req["stream"] = json!(stream);
            }
            if let Some(mode) = rest.next() {
                req["mode"] = json!(mode);
            }
            call(sh, req, json, |_, r| print::stdio_config(r))
        }
        "dmesg" => {
            let o = opts(args, &[]);
            let mut req = json!({"cmd": "dmesg", "limit": 20});
            let mut it = o.rest.iter();
            while let Some(w) = it.next() {
                if w == "session" {
                    if let Some(id) = it.next() {
                        req["filter_session"] = json!(resolve_session(sh, id));
                    }
                } else if let Some(n) = num(w) {
                    req["limit"] = json!(n);
                }
            }
            call(sh, req, json, |_, r| print::dmesg(r))
        }
        "session" => session(sh, args, json),
        "events" => {
            let o = opts(args, &["--type"]);
            let n = o.rest.first().and_then(|s| num(s)).unwrap_or(10) as usize;
            let types = o.values("--type");
            let all = o.has("--all");
            let list: Vec<&Value> = sh
                .client
                .events
                .iter()
                .filter(|e| types.is_empty() || types.iter().any(|t| e["type"] == *t))
                .collect();
            let skip = if all { 0 } else { list.len().saturating_sub(n) };
            if list.is_empty() {
                println!("(no events)");
            }
            for e in &list[skip..] {
                if json {
                    println!("{}", print::pretty(e));
                } else {
                    println!("{}", print::event_line(e));
                }
            }
            true
        }
        "trace" => trace(sh, args, json),
        "bp" => bp(sh, args, json, "bp"),
        "watch" => watch(sh, args, json),
        "stack" => match pid_arg(0) {
            Some(pid) => {
                let mut req = json!({"cmd": "stack", "pid": pid});
                if let Some(n) = args.get(1).and_then(|s| num(s)) {
                    req["max"] = json!(n);
                }
                call(sh, req, json, |_, r| print::stack(&r["stack"]))
            }
            None => usage("stack"),
        },
        "disasm" => disasm(sh, args, json),
        "sym" => sym(sh, args, json),
        "symbols" => {
            let o = opts(args, &["--type", "--offset", "--limit"]);
            let Some(pid) = o.rest.first().and_then(|s| num(s)) else {
                return usage("symbols");
            };
            let mut req = json!({"cmd": "symbols", "pid": pid});
            for (flag, key) in [
                ("--type", "type"),
                ("--offset", "offset"),
                ("--limit", "limit"),
            ] {
                if let Some(v) = o.value(flag) {
                    req[key] = num(v).map_or(json!(v), |n| json!(n));
                }
            }
            call(sh, req, json, |_, r| print::symbols(&r["symbols"]))
        }
        "memory" => {
            let rest: Vec<&String> = args.iter().filter(|a| *a != "regions").collect();
            match rest.first().and_then(|s| num(s)) {
                Some(pid) => call(
                    sh,
                    json!({"cmd": "memory", "pid": pid, "op": "regions"}),
                    json,
                    |_, r| print::regions(&r["memory"]),
                ),
                None => usage("memory"),
            }
        }
        "dbg" => dbg(sh, args, json),
        "restart" => {
            let target = args.first().map(String::as_str).unwrap_or("all");
            let targets = if target == "all" { "vm exec" } else { target };
            call(
                sh,
                json!({"cmd": "restart", "targets": targets}),
                json,
                |_, _| println!("restart: vm requested, exec scheduled"),
            )
        }
        "shutdown" => {
            let ok = call(sh, json!({"cmd": "shutdown"}), json, |_, _| {
                println!("executive shut down")
            });
            sh.quit = true;
            ok
        }
        "raw" => {
            let text = args.join(" ");
            match serde_json::from_str::<Value>(&text) {
                // The reply is printed as JSON, as `--json` does.
                Ok(v) if v.is_object() => call(sh, v, true, |_, _| {}),
                _ => usage("raw"),
            }
        }
        other if other.starts_with("val") || other.starts_with("cmd.") => {
            eprintln!(
                "error: '{other}' needs the value/command registry, which is not available yet"
            );
            false
        }
        other => {
            eprintln!("error: unknown command '{other}' (try 'help')");
            false
        }
    }
}

fn help(cmd: Option<&str>) -> bool {
    match cmd {
        None => {
            println!("Commands:");
            for c in COMMANDS {
                println!("  {:<12} {}", c.name, c.synopsis);
            }
            println!("Add --json to any command for the raw reply.");
            true
        }
        Some(name) => match find(name) {
            Some(c) => {
                println!("usage: {}", c.usage);
                println!("  {}", c.synopsis);
                println!("  {}", c.help);
                true
            }
            None => {
                eprintln!("error: unknown command '{name}' (try 'help')");
                false
            }
        },
    }
}

fn load(sh: &mut Shell, args: &[String], json: bool) -> bool {
    let o = opts(args, &["--symbols"]);
    let verbose = o.rest.iter().any(|w| w == "verbose");
    let Some(path) = o.rest.iter().find(|w| *w != "verbose") else {
        return usage("load");
    };
    let mut target = absolute(path);
    let bundle = Path::new("savefiles").join(format!("{path}.txt"));
    let images: Vec<PathBuf> = if target.extension().is_some_and(|e| e == "txt")
        || (!target.exists() && bundle.exists())
    {
        let file = if target.exists() {
            target.clone()
        } else {
            absolute(&bundle.display().to_string())
        };
        match std::fs::read_to_string(&file) {
            Ok(text) => text
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(absolute)
                .collect(),
            Err(e) => {
                eprintln!("error: cannot read {}: {e}", file.display());
                return false;
            }
        }
    } else {
        if !target.exists() && target.extension().is_none() {
            target.set_extension("hxe");
        }
        vec![target]
    };
    let mut ok = true;
    for image in images {
        let mut req =
            json!({"cmd": "load", "path": image.display().to_string(), "verbose": verbose});
        if let Some(s) = o.value("--symbols") {
            req["symbols"] = json!(absolute(s).display().to_string());
        }
        ok &= call(sh, req, json, |_, r| print::loaded(&r["image"]));
    }
    ok
}

fn save(sh: &mut Shell, args: &[String]) -> bool {
    let Some(name) = args.first() else {
        return usage("save");
    };
    let r = match fetch(sh, json!({"cmd": "ps"})) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return false;
        }
    };
    let mut text = String::new();
    for t in r["tasks"]["tasks"].as_array().into_iter().flatten() {
        if let Some(p) = t["program"].as_str() {
            text.push_str(p);
            text.push('\n');
        }
    }
    let path = Path::new("savefiles").join(format!("{name}.txt"));
    let tmp = path.with_extension("txt.tmp");
    let result = std::fs::create_dir_all("savefiles")
        .and_then(|_| std::fs::write(&tmp, &text))
        .and_then(|_| std::fs::rename(&tmp, &path));
    match result {
        Ok(()) => {
            println!(
                "saved {} image(s) to {}",
                text.lines().count(),
                path.display()
            );
            true
        }
        Err(e) => {
            eprintln!("error: cannot write {}: {e}", path.display());
            false
        }
    }
}

fn clock(sh: &mut Shell, args: &[String], json: bool) -> bool {
    match args.first().map(String::as_str) {
        None | Some("status") => call(sh, json!({"cmd": "clock", "op": "status"}), json, |_, r| {
            print::clock(&r["clock"], None)
        }),
        Some(op @ ("start" | "stop")) => {
            call(sh, json!({"cmd": "clock", "op": op}), json, |_, r| {
                print::clock(&r["clock"], None)
            })
        }
        Some("rate") => match args.get(1).and_then(|s| s.parse::<f64>().ok()) {
            Some(rate) => call(
                sh,
                json!({"cmd": "clock", "op": "rate", "rate": rate}),
                json,
                |_, r| print::clock(&r["clock"], None),
            ),
            None => usage("clock"),
        },
        Some("advance") => match args.get(1).and_then(|s| num(s)) {
            Some(ms) => call(
                sh,
                json!({"cmd": "clock", "op": "advance", "ms": ms}),
                json,
                |_, r| print::clock(&r["clock"], None),
            ),
            None => usage("clock"),
        },
        Some("step") => step(sh, &args[1..], json, "clock"),
        Some(_) => usage("clock"),
    }
}

fn step(sh: &mut Shell, args: &[String], json: bool, name: &str) -> bool {
    let o = opts(args, &["-p", "--pid"]);
    let mut req = json!({"cmd": "step"});
    if let Some(n) = o.rest.first() {
        match num(n) {
            Some(n) => req["steps"] = json!(n),
            None => return usage(name),
        }
    }
    if let Some(p) = o.value("-p").or(o.value("--pid")) {
        match num(p) {
            Some(p) => req["pid"] = json!(p),
            None => return usage(name),
        }
    }
    if o.has("--source") {
        req["source_only"] = json!(true);
    }
    call(sh, req, json, |_, r| {
        print::clock(&r["clock"], Some(&r["result"]))
    })
}

fn sched(sh: &mut Shell, args: &[String], json: bool) -> bool {
    match args.first().map(String::as_str) {
        None | Some("stats") | Some("trace") => {
            let limit = args.get(1).and_then(|s| num(s)).unwrap_or(20);
            let trace = args.first().is_some_and(|a| a == "trace");
            call(sh, json!({"cmd": "sched", "limit": limit}), json, |_, r| {
                print::sched(&r["scheduler"], trace)
            })
        }
        Some(p) => {
            let Some(pid) = num(p) else {
                return usage("sched");
            };
            let mut req = json!({"cmd": "sched", "pid": pid});
            let mut it = args[1..].iter();
            while let Some(k) = it.next() {
                match (k.as_str(), it.next().and_then(|v| num(v))) {
                    ("priority", Some(v)) => req["priority"] = json!(v),
                    ("quantum", Some(v)) => req["quantum"] = json!(v),
                    _ => return usage("sched"),
                }
            }
            call(sh, req, json, |_, r| {
                let t = &r["task"];
                println!(
                    "pid {pid}: priority {} quantum {}",
                    t["priority"], t["quantum"]
                )
            })
        }
    }
}

fn mbox(sh: &mut Shell, args: &[String], json: bool) -> bool {
    let mut ns: Option<String> = None;
    let mut owner: Option<u64> = None;
    let mut it = args.iter();
    while let Some(w) = it.next() {
        match w.as_str() {
            "all" => ns = None,
            "app" | "shared" | "svc" => ns = Some(w.clone()),
            "ns" => ns = it.next().cloned(),
            "pid" | "owner" => owner = it.next().and_then(|v| num(v)),
            other => {
                if let Some(v) = other.strip_prefix("pid=").or(other.strip_prefix("owner=")) {
                    owner = num(v);
                } else {
                    return usage("mbox");
                }
            }
        }
    }
    call(sh, json!({"cmd": "mailbox_snapshot"}), json, |_, r| {
        print::mbox(r, ns.as_deref(), owner)
    })
}

fn listen(sh: &mut Shell, args: &[String], json: bool) -> bool {
    let o = opts(args, &[]);
    let nums: Vec<u64> = o.rest.iter().filter_map(|s| num(s)).collect();
    let stream = if o.has("--err") { "err" } else { "out" };
    let mut req = json!({"cmd": "listen", "stream": stream});
    if let Some(p) = nums.first() {
        req["pid"] = json!(p);
    }
    if let Some(l) = nums.get(1) {
        req["limit"] = json!(l);
    }
    if let Some(m) = nums.get(2) {
        req["max_len"] = json!(m);
    }
    let ok = call(sh, req, json, |_, r| print::messages(r));
    if !ok || !o.has("-f") {
        return ok;
    }
    let pid = nums.first().copied();
    let wanted = if stream == "err" { "stderr" } else { "stdout" };
    sh.interrupted.store(false, Ordering::SeqCst);
    // Live output arrives as events; keep the notifications for the prompt.
    while !sh.interrupted.load(Ordering::SeqCst) {
        sh.client.poll_events(Duration::from_millis(100));
        let mut keep = std::collections::VecDeque::new();
        while let Some(e) = sh.client.fresh.pop_front() {
            let pid_ok = pid.is_none_or(|p| e["pid"] == p);
            if e["type"] == wanted && pid_ok {
                print::raw_text(e["data"]["text"].as_str().unwrap_or(""));
            } else {
                keep.push_back(e);
            }
        }
        sh.client.fresh = keep;
    }
    sh.interrupted.store(false, Ordering::SeqCst);
    true
}

fn send(sh: &mut Shell, args: &[String], json: bool) -> bool {
    let Some(pid) = args.first().and_then(|s| num(s)) else {
        return usage("send");
    };
    let mut rest = &args[1..];
    let mut req = json!({"cmd": "send", "pid": pid});
    if rest.len() > 1 && rest[0].contains(':') {
        req["channel"] = json!(rest[0]);
        rest = &rest[1..];
    }
    if rest.is_empty() {
        return usage("send");
    }
    let data = rest.join(" ");
    req["data"] = json!(data);
    call(sh, req, json, |_, r| {
        let status = r["mbx_status"].as_i64().unwrap_or(0);
        if status == 0 {
            let target = r["target"].as_str().unwrap_or("");
            let what = if target.starts_with("svc:stdio.in") {
                "stdin".to_string()
            } else {
                target.to_string()
            };
            println!("{} bytes sent to {what} on pid {pid}", r["length"]);
        } else {
            let name = r["mbx_error"].as_str().unwrap_or("error");
            let why = match name {
                "WOULDBLOCK" => " (mailbox full)",
                "MSG_TOO_LARGE" => " (message larger than the mailbox)",
                "NO_DESCRIPTOR" => " (no such mailbox)",
                "INTERNAL" => " (malformed target)",
                _ => "",
            };
            println!("send failed: {name}{why}");
        }
    })
}

fn resolve_session(sh: &mut Shell, id: &str) -> String {
    if let Some(n) = num(id)
        && let Ok(r) = fetch(sh, json!({"cmd": "session.list"}))
        && let Some(s) = r["sessions"]
            .as_array()
            .and_then(|l| l.get((n as usize).saturating_sub(1)))
    {
        return s["id"].as_str().unwrap_or(id).to_owned();
    }
    id.to_owned()
}

fn session(sh: &mut Shell, args: &[String], json: bool) -> bool {
    match args.first().map(String::as_str) {
        None | Some("current") => call(sh, json!({"cmd": "session.current"}), json, |_, r| {
            print::session(&r["session"])
        }),
        Some("list") => call(sh, json!({"cmd": "session.list"}), json, |_, r| {
            print::sessions(r)
        }),
        Some("close") => match args.get(1) {
            Some(id) => {
                let target = resolve_session(sh, id);
                call(
                    sh,
                    json!({"cmd": "session.terminate", "target": target}),
                    json,
                    |_, r| {
                        println!(
                            "session closed: {} ({})",
                            r["closed"]["id"].as_str().unwrap_or(""),
                            r["closed"]["reason"].as_str().unwrap_or("")
                        )
                    },
                )
            }
            None => usage("session"),
        },
        Some(_) => usage("session"),
    }
}

fn trace(sh: &mut Shell, args: &[String], json: bool) -> bool {
    if args.first().is_some_and(|a| a == "config") {
        let req = match (args.get(1).map(String::as_str), args.get(2)) {
            (Some("changed-regs" | "changed_regs"), Some(v)) => {
                json!({"cmd": "trace", "op": "config", "changed_regs": v})
            }
            (Some("buffer" | "buffer_size"), Some(v)) => match num(v) {
                Some(n) => json!({"cmd": "trace", "op": "config", "buffer_size": n}),
                None => return usage("trace"),
            },
            _ => return usage("trace"),
        };
        return call(sh, req, json, |_, r| {
            let t = &r["trace"];
            for (k, v) in t.as_object().into_iter().flatten() {
                println!("trace config: {k}={}", print::py(v));
            }
        });
    }
    let Some(pid) = args.first().and_then(|s| num(s)) else {
        return usage("trace");
    };
    match args.get(1).map(String::as_str) {
        None | Some("on") | Some("off") => {
            let mut req = json!({"cmd": "trace", "pid": pid});
            if let Some(m) = args.get(1) {
                req["mode"] = json!(m == "on");
            }
            call(sh, req, json, |_, r| {
                let t = &r["trace"];
                println!("trace:");
                println!("  pid        : {}", t["pid"]);
                println!("  enabled    : {}", print::py(&t["enabled"]));
                println!("  buffer_size: {}", t["buffer_size"]);
            })
        }
        Some(op @ ("records" | "export")) => {
            let mut req = json!({"cmd": "trace", "pid": pid, "op": "records"});
            if let Some(n) = args.get(2).and_then(|s| num(s)) {
                req["limit"] = json!(n);
            }
            let export = op == "export";
            call(sh, req, json, |_, r| {
                if export {
                    println!("{}", print::pretty(&r["trace"]));
                } else {
                    print::trace_records(&r["trace"]);
                }
            })
        }
        Some("import") => {
            let Some(file) = args.get(2) else {
                return usage("trace");
            };
            let text = match std::fs::read_to_string(file) {
                Ok(t) => t,
                Err(e) => {
                    eprintln!("error: cannot read {file}: {e}");
                    return false;
                }
            };
            let records = match serde_json::from_str::<Value>(&text) {
                Ok(Value::Array(a)) => Value::Array(a),
                Ok(v) if v["records"].is_array() => v["records"].clone(),
                Ok(v) if v["trace"]["records"].is_array() => v["trace"]["records"].clone(),
                _ => {
                    eprintln!("error: {file} holds no trace records");
                    return false;
                }
            };
            let replace = !args.iter().any(|a| a == "--append");
            call(
                sh,
                json!({"cmd": "trace", "op": "import", "pid": pid, "records": records, "replace": replace}),
                json,
                |_, r| {
                    println!(
                        "trace import: pid={} count={}",
                        r["trace"]["pid"], r["trace"]["count"]
                    )
                },
            )
        }
        Some(_) => usage("trace"),
    }
}

fn bp(sh: &mut Shell, args: &[String], json: bool, name: &str) -> bool {
    let (Some(op), Some(pid)) = (args.first(), args.get(1).and_then(|s| num(s))) else {
        return usage(name);
    };
    let op = match op.as_str() {
        "list" | "ls" => "list",
        "set" | "add" => "set",
        "clear" | "remove" | "rm" | "del" => "clear",
        "clearall" | "clear_all" | "reset" => "clear_all",
        _ => return usage(name),
    };
    let mut req = json!({"cmd": "bp", "pid": pid, "op": op});
    if matches!(op, "set" | "clear") {
        let Some(text) = args.get(2) else {
            return usage(name);
        };
        match address(sh, pid, text) {
            Ok(a) => req["addr"] = json!(a),
            Err(e) => {
                eprintln!("error: {e}");
                return false;
            }
        }
    }
    let r = match fetch(sh, req) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return false;
        }
    };
    if json {
        println!("{}", print::pretty(&r));
        return true;
    }
    let mut names = Vec::new();
    for a in r["breakpoints"].as_array().into_iter().flatten() {
        let addr = a.as_u64().unwrap_or(0);
        let sym = fetch(
            sh,
            json!({"cmd": "sym", "op": "addr", "pid": pid, "address": addr}),
        )
        .ok()
        .and_then(|s| print::sym_offset(&s["symbol"]));
        names.push((addr, sym));
    }
    print::breakpoints(pid, &names);
    true
}

fn watch(sh: &mut Shell, args: &[String], json: bool) -> bool {
    let o = opts(args, &["--type", "--length"]);
    let (Some(op), Some(pid)) = (o.rest.first(), o.rest.get(1).and_then(|s| num(s))) else {
        return usage("watch");
    };
    let req = match op.as_str() {
        "list" | "ls" => json!({"cmd": "watch", "op": "list", "pid": pid}),
        "add" => {
            let Some(expr) = o.rest.get(2) else {
                return usage("watch");
            };
            let mut req = json!({"cmd": "watch", "op": "add", "pid": pid, "expr": expr, "stop": o.has("--stop")});
            if let Some(t) = o.value("--type") {
                req["type"] = json!(t);
            }
            if let Some(l) = o.value("--length") {
                match num(l) {
                    Some(n) => req["length"] = json!(n),
                    None => return usage("watch"),
                }
            }
            req
        }
        "remove" | "del" | "rm" => match o.rest.get(2).and_then(|s| num(s)) {
            Some(id) => json!({"cmd": "watch", "op": "remove", "pid": pid, "id": id}),
            None => return usage("watch"),
        },
        _ => return usage("watch"),
    };
    let removing = op == "remove" || op == "del" || op == "rm";
    call(sh, req, json, |_, r| print::watch(&r["watch"], removing))
}

fn disasm(sh: &mut Shell, args: &[String], json: bool) -> bool {
    let o = opts(args, &["--mode"]);
    let Some(pid) = o.rest.first().and_then(|s| num(s)) else {
        return usage("disasm");
    };
    let mut req = json!({"cmd": "disasm", "pid": pid});
    if let Some(a) = o.rest.get(1) {
        match address(sh, pid, a) {
            Ok(a) => req["addr"] = json!(a),
            Err(e) => {
                eprintln!("error: {e}");
                return false;
            }
        }
    }
    if let Some(c) = o.rest.get(2) {
        match num(c) {
            Some(n) => req["count"] = json!(n),
            None => return usage("disasm"),
        }
    }
    if o.has("--cached") {
        req["mode"] = json!("cached");
    } else if let Some(m) = o.value("--mode") {
        req["mode"] = json!(m);
    }
    call(sh, req, json, |_, r| print::disasm(&r["disasm"]))
}

fn sym(sh: &mut Shell, args: &[String], json: bool) -> bool {
    let (Some(op), Some(pid)) = (args.first(), args.get(1).and_then(|s| num(s))) else {
        return usage("sym");
    };
    let arg = args.get(2);
    let req = match (op.as_str(), arg) {
        ("info", _) => json!({"cmd": "sym", "op": "info", "pid": pid}),
        ("name", Some(n)) => json!({"cmd": "sym", "op": "name", "pid": pid, "name": n}),
        ("addr", Some(a)) => match num(a) {
            Some(a) => json!({"cmd": "sym", "op": "addr", "pid": pid, "address": a}),
            None => return usage("sym"),
        },
        ("line", Some(a)) => match address(sh, pid, a) {
            Ok(a) => json!({"cmd": "sym", "op": "line", "pid": pid, "address": a}),
            Err(e) => {
                eprintln!("error: {e}");
                return false;
            }
        },
        ("load", Some(p)) => {
            json!({"cmd": "sym", "op": "load", "pid": pid, "path": absolute(p).display().to_string()})
        }
        _ => return usage("sym"),
    };
    let op = op.clone();
    call(sh, req, json, |_, r| print::sym(&op, r))
}

fn dbg(sh: &mut Shell, args: &[String], json: bool) -> bool {
    let Some(op) = args.first().map(String::as_str) else {
        return usage("dbg");
    };
    if op == "bp" {
        let (Some(action), Some(pid)) = (args.get(1), args.get(2).and_then(|s| num(s))) else {
            return usage("dbg");
        };
        let mut req = json!({"cmd": "dbg", "op": "bp", "pid": pid, "action": action});
        if let Some(a) = args.get(3) {
            match address(sh, pid, a) {
                Ok(a) => req["addr"] = json!(a),
                Err(e) => {
                    eprintln!("error: {e}");
                    return false;
                }
            }
        }
        return call(sh, req, json, |_, r| {
            let bps: Vec<(u64, Option<String>)> = r["debug"]["breakpoints"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|a| (a.as_u64().unwrap_or(0), None))
                .collect();
            print::breakpoints(pid, &bps);
        });
    }
    let Some(pid) = args.get(1).and_then(|s| num(s)) else {
        return usage("dbg");
    };
    let mut req = json!({"cmd": "dbg", "op": op, "pid": pid});
    match op {
        "attach" | "detach" | "regs" | "break" => {}
        "cont" => {
            if let Some(n) = args.get(2).and_then(|s| num(s)) {
                req["cycles"] = json!(n);
            }
        }
        "step" => {
            if let Some(n) = args.get(2).and_then(|s| num(s)) {
                req["count"] = json!(n);
            }
        }
        _ => return usage("dbg"),
    }
    call(sh, req, json, |_, r| {
        let d = &r["debug"];
        match op {
            "regs" | "attach" if d["registers"].is_object() => {
                if op == "attach" {
                    println!("attached to pid {pid}");
                }
                print::dumpregs(&d["registers"])
            }
            "detach" => println!("detached from pid {pid}"),
            _ => print::last_step(&d["result"]),
        }
    })
}
