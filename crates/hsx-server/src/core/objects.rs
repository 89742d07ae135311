//! The shared objects of `protocol.md` §7: *task*, *registers*, *image*.

use std::path::Path;

use hsx_exec::{LoadedImage, Pid, Task, TaskState, WaitKind};
use hsx_image::Metadata;
use serde_json::{Value, json};

use super::Core;

/// Metadata lists `{sections, values, commands, mailboxes}`.
pub(crate) fn metadata_json(m: &Metadata) -> Value {
    json!({
        "sections": m.sections.iter().map(|s| json!({
            "kind": s.kind, "offset": s.offset, "size": s.size, "entry_count": s.entry_count,
        })).collect::<Vec<_>>(),
        "values": m.values.iter().map(|v| json!({
            "group_id": v.group, "value_id": v.id, "oid": (v.group as u32) << 8 | v.id as u32,
            "flags": v.flags, "auth_level": v.auth, "init": v.init, "name": v.name,
            "unit": v.unit, "group_name": v.group_name,
        })).collect::<Vec<_>>(),
        "commands": m.commands.iter().map(|c| json!({
            "group_id": c.group, "cmd_id": c.id, "oid": (c.group as u32) << 8 | c.id as u32,
            "flags": c.flags, "auth_level": c.auth, "name": c.name, "help": c.help,
        })).collect::<Vec<_>>(),
        "mailboxes": m.mailboxes.iter().map(|b| json!({
            "target": b.target, "capacity": b.capacity, "mode_mask": b.mode_mask,
            "owner_pid": b.owner_pid,
        })).collect::<Vec<_>>(),
    })
}

/// The image's own app name, or the program's file stem.
pub(crate) fn app_name_base(image: &LoadedImage, program: &str) -> String {
    image.image.app_name.clone().unwrap_or_else(|| {
        Path::new(program)
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default()
    })
}

impl Core {
    /// The *task* object.
    pub(crate) fn task_json(&self, t: &Task) -> Value {
        let ctx = &t.ctx;
        let now = self.exec.now_ms();
        let sleeping = t.state == TaskState::Waiting(WaitKind::Timer);
        let deadline = t.wait.as_ref().and_then(|w| w.deadline);
        let mut v = json!({
            "pid": t.pid,
            "program": t.program,
            "state": t.state.wire_name(),
            "app_name": t.name,
            "app_name_base": app_name_base(&t.image, &t.program),
            "pc": ctx.pc,
            "priority": t.sched.priority,
            "quantum": t.sched.quantum,
            "accounted_steps": ctx.steps,
            "accounted_cycles": ctx.steps,
            "sleep_pending": sleeping,
            "sleep_pending_ms": if sleeping { deadline.map(|d| d.saturating_sub(now)) } else { None },
            "sleep_deadline": if sleeping { deadline.map(|d| self.epoch_of(d)) } else { None },
            "exit_status": t.exit_status().or_else(|| t.fault().map(|(f, _)| f.code())),
            "trace": t.trace,
            "metadata": metadata_json(&t.image.image.metadata),
            "reg_base": ctx.reg_base,
            "stack_base": ctx.stack_base,
            "stack_limit": ctx.stack_limit,
            "stack_size": ctx.stack_top - ctx.stack_limit,
            "stack_top": ctx.stack_top,
        });
        let o = v.as_object_mut().expect("object");
        if let Some(info) = self.tasks.get(&t.pid)
            && let Some(s) = &info.symbols
            && let Some(table) = &s.table
        {
            o.insert(
                "symbols".into(),
                json!({"path": s.path.display().to_string(), "count": table.len()}),
            );
        }
        if !t.breakpoints.is_empty() {
            o.insert("breakpoints".into(), json!(t.breakpoints));
        }
        if let Some(w) = &t.wait {
            match w.kind {
                WaitKind::Mailbox => {
                    let mw = self.exec.mailbox_wait(t.pid);
                    o.insert(
                        "wait_mailbox".into(),
                        json!(mw.as_ref().map(|w| w.target.clone())),
                    );
                    o.insert("wait_handle".into(), json!(mw.as_ref().map(|w| w.handle)));
                    o.insert(
                        "wait_timeout".into(),
                        json!(w.deadline.map(|d| d.saturating_sub(now))),
                    );
                    o.insert(
                        "wait_deadline".into(),
                        json!(w.deadline.map(|d| self.epoch_of(d))),
                    );
                }
                WaitKind::Task => {
                    o.insert("wait_pid".into(), json!(w.target));
                }
                _ => {}
            }
        }
        if let Some((fault, pc)) = t.fault() {
            o.insert(
                "fault".into(),
                json!({"code": fault.code(), "name": fault.name(), "pc": pc}),
            );
        }
        v
    }

    /// The *registers* object, read through `reg_base`.
    pub(crate) fn registers_json(&self, pid: Pid) -> Option<Value> {
        let t = self.exec.task(pid)?;
        let regs = self.exec.registers(pid)?;
        let ctx = &t.ctx;
        let wait = t.wait.as_ref();
        let mut v = json!({
            "pid": pid,
            "app_name": t.name,
            "pc": ctx.pc,
            "regs": regs,
            "sp": ctx.sp,
            "flags": ctx.psw,
            "psw": ctx.psw,
            "running": t.state.is_runnable(),
            "state": t.state.wire_name(),
            "steps": ctx.steps,
            "cycles": ctx.steps,
            "call_depth": ctx.call_depth,
            "reg_base": ctx.reg_base,
            "stack_base": ctx.stack_base,
            "stack_limit": ctx.stack_limit,
            "stack_size": ctx.stack_top - ctx.stack_limit,
            "stack_top": ctx.stack_top,
            "sp_effective": ctx.stack_base as u64 + ctx.sp as u64,
            "context": {
                "pid": pid,
                "state": t.state.wire_name(),
                "priority": t.sched.priority,
                "time_slice_steps": t.sched.quantum,
                "accounted_steps": ctx.steps,
                "time_slice_cycles": t.sched.quantum,
                "accounted_cycles": ctx.steps,
                "regs": regs,
                "pc": ctx.pc,
                "sp": ctx.sp,
                "psw": ctx.psw,
                "reg_base": ctx.reg_base,
                "stack_base": ctx.stack_base,
                "stack_limit": ctx.stack_limit,
                "stack_size": ctx.stack_top - ctx.stack_limit,
                "wait_kind": wait.map(|w| match w.kind {
                    WaitKind::Mailbox => "mailbox",
                    WaitKind::Timer => "timer",
                    WaitKind::Task => "task",
                    WaitKind::Command => "cmd",
                }),
                "wait_mailbox": self.exec.mailbox_wait(t.pid).map(|w| w.target),
                "wait_handle": self.exec.mailbox_wait(t.pid).map(|w| w.handle),
                "wait_deadline": wait.and_then(|w| w.deadline).map(|d| self.epoch_of(d)),
                "fd_table": Value::Null,
                "exit_status": t.exit_status().or_else(|| t.fault().map(|(f, _)| f.code())),
            },
        });
        let o = v.as_object_mut().expect("object");
        for (i, r) in regs.iter().enumerate() {
            o.insert(format!("R{i}"), json!(r));
        }
        Some(v)
    }

    /// The *image* object of a loaded task.
    pub(crate) fn image_json(&self, pid: Pid, warnings: &[String], verbose: bool) -> Value {
        let Some(t) = self.exec.task(pid) else {
            return Value::Null;
        };
        let img = &t.image.image;
        let mut v = json!({
            "pid": pid,
            "program": t.program,
            "entry": img.entry,
            "code_len": img.code.len(),
            "ro_len": img.rodata.len(),
            "bss": img.bss_size,
            "version": img.version,
            "flags": img.flags,
            "req_caps": img.req_caps,
            "app_name": t.name,
            "app_name_base": app_name_base(&t.image, &t.program),
            "allow_multiple_instances": img.allow_multiple(),
            "metadata": metadata_json(&img.metadata),
            "meta_count": img.metadata.sections.len(),
            "manifest_present": img.manifest_present(),
            "mailbox_creation": Vec::<Value>::new(),
            "symbols": self.symbols_status(pid),
        });
        let o = v.as_object_mut().expect("object");
        if !warnings.is_empty() {
            o.insert("warnings".into(), json!(warnings));
        }
        if verbose {
            o.insert(
                "header".into(),
                json!({
                    "version": img.version, "flags": img.flags, "entry": img.entry,
                    "code_len": img.code.len(), "ro_len": img.rodata.len(),
                    "bss_size": img.bss_size, "req_caps": img.req_caps,
                    "crc32": img.crc32, "app_name": img.app_name, "file_len": img.file_len,
                }),
            );
        }
        v
    }
}
