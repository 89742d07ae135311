//! What `hsx run` prints at the end: the `--json` document, `-v` summaries, and the
//! one-stop diagnostics for faults, BRK stops and deadlocks (`tools.md` §2).

use std::collections::BTreeMap;

use hsx_debug::{StackBounds, SymbolTable};
use hsx_exec::{Executive, Pid, StdioStream, Task, TaskState};
use hsx_isa::{Insn, psw};
use serde_json::{Value, json};

/// What ended the run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunStop {
    /// Every task is terminal.
    Exit,
    /// A BRK with `--brk stop`.
    Brk,
    /// Nothing can run and nothing can wake.
    Deadlock,
    /// `--max-steps` reached.
    MaxSteps,
    /// `--timeout` reached.
    Timeout,
}

impl RunStop {
    pub fn name(self) -> &'static str {
        match self {
            RunStop::Exit => "exit",
            RunStop::Brk => "brk",
            RunStop::Deadlock => "deadlock",
            RunStop::MaxSteps => "max_steps",
            RunStop::Timeout => "timeout",
        }
    }
}

/// A task that left the table before the end (reaped by WAIT or KILL).
#[derive(Clone, Debug)]
pub struct Reaped {
    pub program: String,
    pub state: &'static str,
    pub exit_status: Option<u32>,
}

/// The `--json` document.
pub fn json_report(
    exec: &Executive,
    stop: RunStop,
    steps: u64,
    elapsed_s: f64,
    reaped: &BTreeMap<Pid, Reaped>,
) -> Value {
    let mut tasks: Vec<(Pid, Value)> = exec.tasks().map(|t| (t.pid, task_json(exec, t))).collect();
    for (&pid, r) in reaped {
        if exec.task(pid).is_none() {
            tasks.push((
                pid,
                json!({"pid": pid, "program": r.program, "state": r.state, "exit_status": r.exit_status, "reaped": true}),
            ));
        }
    }
    tasks.sort_by_key(|(pid, _)| *pid);
    let per_pid: serde_json::Map<String, Value> = exec
        .tasks()
        .map(|t| {
            let c = t.counters;
            (
                t.pid.to_string(),
                json!({
                    "steps": t.ctx.steps,
                    "switches_in": c.switches_in,
                    "blocks": c.blocks,
                    "wakes": c.wakes,
                    "timeouts": c.timeouts,
                    "mailbox_steps": c.mailbox_steps,
                    "mailbox_wakes": c.mailbox_wakes,
                    "mailbox_timeouts": c.mailbox_timeouts,
                }),
            )
        })
        .collect();
    let totals = exec.counters();
    json!({
        "stop": stop.name(),
        "steps": steps,
        "elapsed_s": elapsed_s,
        "tasks": tasks.into_iter().map(|(_, v)| v).collect::<Vec<_>>(),
        "scheduler": {
            "switches": totals.switches,
            "steps": totals.steps,
            "spawned": totals.spawned,
            "reaped": totals.reaped,
            "core_runs": totals.core_runs,
            "calls_in_run": totals.calls_in_run,
            "pids": per_pid,
        },
    })
}

fn task_json(exec: &Executive, t: &Task) -> Value {
    let regs = exec.registers(t.pid).unwrap_or_default();
    let (fault, fault_code) = match t.fault() {
        Some((f, _)) => (Some(f.name()), Some(f.code())),
        None => (None, None),
    };
    json!({
        "pid": t.pid,
        "name": t.name,
        "program": t.program,
        "state": t.state.wire_name(),
        "exit_status": t.exit_status(),
        "fault": fault,
        "fault_code": fault_code,
        "pc": t.ctx.pc,
        "sp": t.ctx.sp,
        "psw": t.ctx.psw,
        "call_depth": t.ctx.call_depth,
        "regs": regs.to_vec(),
        "steps": t.ctx.steps,
        "priority": t.sched.priority,
        "quantum": t.sched.quantum,
        "reg_base": t.ctx.reg_base,
        "stack_base": t.ctx.stack_base,
        "stack_limit": t.ctx.stack_limit,
        "stack_top": t.ctx.stack_top,
        "window_size": t.ctx.window_size,
    })
}

/// `0x0048: 0x02340000  LD R3, [R4+0]` for the instruction at `pc` of a task's code.
pub fn instruction_line(t: &Task, pc: u32) -> String {
    let code = &t.image.image.code;
    match Insn::decode_in(code, pc) {
        Some(Ok(insn)) => format!("0x{pc:04X}: 0x{:08X}  {}", insn.word.0, insn.display(pc)),
        Some(Err(_)) => {
            let w = u32::from_be_bytes(code[pc as usize..pc as usize + 4].try_into().unwrap());
            format!("0x{pc:04X}: 0x{w:08X}  .word 0x{w:08X}")
        }
        None => format!("0x{pc:04X}: (outside the code, {} bytes)", code.len()),
    }
}

/// Registers and stack lines, each prefixed `hsx run:   `.
pub fn register_dump(exec: &Executive, t: &Task) -> Vec<String> {
    let regs = exec.registers(t.pid).unwrap_or_default();
    let mut lines: Vec<String> = regs
        .chunks(4)
        .enumerate()
        .map(|(row, r)| {
            r.iter()
                .enumerate()
                .map(|(i, v)| format!("R{:02}={v:08X}", row * 4 + i))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    lines.push(format!(
        "sp=0x{:04X} psw=0x{:02X} {} stack=0x{:X}..0x{:X} reg_base=0x{:X} stack_base=0x{:X}",
        t.ctx.sp,
        t.ctx.psw,
        psw::names(t.ctx.psw),
        t.ctx.stack_limit,
        t.ctx.stack_top,
        t.ctx.reg_base,
        t.ctx.stack_base,
    ));
    lines
}

/// `main+0xC  main.c:7` for an address, from the task's symbols (empty without).
pub fn where_is(symbols: Option<&SymbolTable>, pc: u32) -> String {
    let Some(table) = symbols else {
        return String::new();
    };
    let name = table.describe(pc);
    let line = table
        .line_at(pc)
        .map(|l| format!("{}:{}", table.resolve_file(l), l.line));
    match (name, line) {
        (Some(n), Some(l)) => format!("{n}  {l}"),
        (Some(n), None) => n,
        (None, Some(l)) => l,
        (None, None) => String::new(),
    }
}

/// The fault diagnostic block; with symbols it names the function and source line and
/// walks the frame-pointer stack (`tools.md` §2, §6).
pub fn fault_diagnostic(exec: &Executive, t: &Task, symbols: Option<&SymbolTable>) -> Vec<String> {
    let Some((fault, pc)) = t.fault() else {
        return Vec::new();
    };
    let mut insn = format!("  {}", instruction_line(t, pc));
    let at = where_is(symbols, pc);
    if !at.is_empty() {
        insn = format!("{insn}    ; {at}");
    }
    let mut lines = vec![
        format!(
            "pid {} ({}) faulted: {} (0x{:08X}) at pc 0x{pc:04X} after {} steps",
            t.pid,
            t.name,
            fault.name(),
            fault.code(),
            t.ctx.steps
        ),
        insn,
    ];
    lines.extend(register_dump(exec, t).into_iter().map(|l| format!("  {l}")));
    if let Some(table) = symbols {
        let regs = exec.registers(t.pid).unwrap_or_default();
        let walk = hsx_debug::walk(
            pc,
            t.ctx.sp,
            regs[7],
            StackBounds {
                stack_limit: t.ctx.stack_limit,
                stack_top: t.ctx.stack_top,
            },
            16,
            |addr| {
                exec.read_memory(t.pid, addr, 4)
                    .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            },
        );
        for frame in &walk.frames {
            let name = table.describe(frame.pc).unwrap_or_else(|| "?".into());
            let line = table
                .line_at(frame.pc)
                .map(|l| format!(" ({}:{})", table.resolve_file(l), l.line))
                .unwrap_or_default();
            lines.push(format!(
                "  #{} 0x{:04X} {name}{line}",
                frame.index, frame.pc
            ));
        }
    }
    lines
}

/// The deadlock diagnostic: who waits on what.
pub fn deadlock_diagnostic(exec: &Executive, stdin_closed: bool) -> Vec<String> {
    let stdin = exec.mailboxes().stdio_descriptor(1, StdioStream::In);
    exec.tasks()
        .filter(|t| matches!(t.state, TaskState::Waiting(_) | TaskState::Paused))
        .map(|t| {
            let mailbox = exec.mailbox_wait(t.pid);
            let on = match (&mailbox, t.wait.as_ref().and_then(|w| w.target)) {
                (Some(m), _) => format!(" on {}", m.target),
                (None, Some(p)) => format!(" on pid {p}"),
                (None, None) => String::new(),
            };
            let timeout = match t.wait.as_ref().and_then(|w| w.deadline) {
                Some(d) => format!("deadline {d} ms"),
                None => "timeout infinite".into(),
            };
            let note = match &mailbox {
                Some(m) if Some(m.descriptor) == stdin && stdin_closed => ", stdin closed",
                Some(m) if m.target.starts_with("svc:stdio.in@") && Some(m.descriptor) != stdin => {
                    ", stdin not connected"
                }
                _ => "",
            };
            format!(
                "deadlock: pid {} ({}) {}{on} ({timeout}){note}",
                t.pid,
                t.name,
                t.state.wire_name()
            )
        })
        .collect()
}
