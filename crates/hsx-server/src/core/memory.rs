//! Registers and memory (`protocol.md` §6.3).

use serde_json::{Value, json};

use super::{Core, Reply};
use crate::sessions::payload;
use crate::wire::{Args, hex_bytes, to_hex};

/// Largest `peek`/`poke`.
const MAX_MEM: i64 = 4096;

impl Core {
    /// The pid of a request, or the current task when omitted.
    fn pid_or_current(&self, a: &Args<'_>) -> Result<u32, String> {
        match a.pid_opt()? {
            Some(p) => Ok(p),
            None => self
                .current_pid()
                .or_else(|| self.exec.tasks().next().map(|t| t.pid))
                .ok_or_else(|| a.missing("pid")),
        }
    }

    pub(super) fn cmd_dumpregs(&mut self, a: &Args<'_>) -> Reply {
        let pid = self.pid_or_current(a)?;
        let regs = self
            .registers_json(pid)
            .ok_or_else(|| format!("unknown pid {pid}"))?;
        Ok(payload(vec![("registers", regs)]))
    }

    pub(super) fn cmd_vm_reg(&mut self, cmd: &str, a: &Args<'_>, session: Option<&str>) -> Reply {
        let pid = self.pid_or_current(a)?;
        let reg = match a.raw(&["reg", "register"]) {
            None => return Err(a.missing("reg")),
            Some((k, v)) => parse_reg(v).ok_or_else(|| Args::invalid(k, v))?,
        };
        if cmd == "vm_reg_set" {
            self.lock_check(pid, session)?;
            let value = a.req_int_in(&["value"], -(1i64 << 31), u32::MAX as i64)?;
            if !self.exec.set_register(pid, reg, value as u32) {
                return Err(format!("unknown pid {pid}"));
            }
        }
        let regs = self
            .exec
            .registers(pid)
            .ok_or_else(|| format!("unknown pid {pid}"))?;
        Ok(payload(vec![
            ("pid", json!(pid)),
            ("reg", json!(reg)),
            ("value", json!(regs[reg])),
        ]))
    }

    pub(super) fn cmd_vm_trace_last(&mut self, a: &Args<'_>) -> Reply {
        let pid = self.pid_or_current(a)?;
        let last = self
            .tasks
            .get(&pid)
            .and_then(|i| i.trace_records.back())
            .cloned()
            .unwrap_or(Value::Null);
        Ok(payload(vec![("trace", last)]))
    }

    pub(super) fn cmd_peek(&mut self, a: &Args<'_>) -> Reply {
        let pid = a.pid()?;
        let addr = a.addr()?;
        let len = a.int_in(&["length", "len"], 1, MAX_MEM)?.unwrap_or(16) as u32;
        let t = self
            .exec
            .task(pid)
            .ok_or_else(|| format!("unknown pid {pid}"))?;
        let _ = t;
        let data = self
            .exec
            .read_memory(pid, addr, len)
            .ok_or_else(|| out_of_range(pid, addr, len))?;
        Ok(payload(vec![
            ("pid", json!(pid)),
            ("addr", json!(addr)),
            ("length", json!(len)),
            ("data", json!(to_hex(data))),
        ]))
    }

    pub(super) fn cmd_poke(&mut self, a: &Args<'_>, session: Option<&str>) -> Reply {
        let pid = a.pid()?;
        self.lock_check(pid, session)?;
        let addr = a.addr()?;
        let (k, v) = a.raw(&["data"]).ok_or_else(|| a.missing("data"))?;
        let bytes = v
            .as_str()
            .and_then(hex_bytes)
            .filter(|b| !b.is_empty() && b.len() <= MAX_MEM as usize)
            .ok_or_else(|| Args::invalid(k, v))?;
        self.exec
            .task(pid)
            .ok_or_else(|| format!("unknown pid {pid}"))?;
        if !self.exec.write_memory(pid, addr, &bytes) {
            return Err(out_of_range(pid, addr, bytes.len() as u32));
        }
        self.exec.check_memory_watches(pid);
        Ok(payload(vec![
            ("pid", json!(pid)),
            ("addr", json!(addr)),
            ("length", json!(bytes.len())),
        ]))
    }

    pub(super) fn cmd_memory(&mut self, a: &Args<'_>) -> Reply {
        let pid = a.pid()?;
        if let Some(op) = a.word(&["op"])?
            && op != "regions"
        {
            return Err(format!("unknown memory op '{op}'"));
        }
        let t = self
            .exec
            .task(pid)
            .ok_or_else(|| format!("unknown pid {pid}"))?;
        let img = &t.image.image;
        let ctx = &t.ctx;
        let region = |name: &str, ty: &str, start: u64, end: u64, perm: &str, source: Value| {
            json!({
                "name": name, "type": ty, "start": start, "end": end, "length": end - start,
                "permissions": perm, "source": source,
            })
        };
        let code_len = img.code.len() as u64;
        let ro_start = 0x4000u64;
        let ro_end = ro_start + img.rodata.len() as u64;
        let bss_end = ro_end + img.bss_size as u64;
        let regions = vec![
            region(
                "code",
                "code",
                0,
                code_len,
                "rx",
                json!({"kind": "hxe", "entry": img.entry, "space": "code"}),
            ),
            region(
                "rodata",
                "rodata",
                ro_start,
                ro_end,
                "r",
                json!({"kind": "hxe"}),
            ),
            region(
                "bss",
                "bss",
                ro_end,
                bss_end,
                "rw",
                json!({"kind": "zeroed"}),
            ),
            region(
                "registers",
                "registers",
                ctx.reg_base as u64,
                ctx.reg_base as u64 + 64,
                "rw",
                json!({"kind": "register_bank", "physical": true, "guest_addressable": false}),
            ),
            region(
                "stack",
                "stack",
                ctx.stack_limit as u64,
                ctx.stack_top as u64,
                "rw",
                json!({"kind": "stack", "sp": ctx.sp, "stack_base": ctx.stack_base}),
            ),
        ];
        Ok(payload(vec![(
            "memory",
            json!({
                "pid": pid, "program": t.program, "regions": regions,
                "layout": {
                    "entry": img.entry, "code_len": code_len, "ro_len": img.rodata.len(),
                    "bss": img.bss_size, "app_name": t.name,
                    "app_name_base": super::objects::app_name_base(&t.image, &t.program),
                    "meta_count": img.metadata.sections.len(),
                    "allow_multiple": img.allow_multiple(), "version": img.version,
                    "window_size": ctx.window_size,
                },
            }),
        )]))
    }
}

/// `0..15`, `"R3"`, `"r15"`, `"3"`.
fn parse_reg(v: &Value) -> Option<usize> {
    let n = match v {
        Value::String(s) => {
            let t = s.trim();
            match t.strip_prefix(['R', 'r']) {
                Some(d) => d.parse::<i64>().ok(),
                None => crate::wire::int_value(v),
            }
        }
        other => crate::wire::int_value(other),
    }?;
    (0..16).contains(&n).then_some(n as usize)
}

pub(crate) fn out_of_range(pid: u32, addr: u32, len: u32) -> String {
    format!("memory access out of range: pid {pid} addr 0x{addr:X} len {len}")
}
