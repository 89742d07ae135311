//! Debugger commands (`protocol.md` §6.4, `tools.md` §6): breakpoints, stack, disassembly,
//! symbols, watches, trace and `dbg`.

use std::path::PathBuf;
use std::sync::Arc;

use hsx_debug::{StackBounds, SymKind, SymbolTable, WatchTarget, disassemble, parse_expr, resolve};
use hsx_exec::Pid;
use hsx_exec::debug::{Watch, WatchError, WatchKind};
use serde_json::{Map, Value, json};

use super::tasks::{control_error, load_symbols};
use super::{Core, Reply, Source, WatchMeta};
use crate::sessions::payload;
use crate::wire::{Args, to_hex};

/// Most breakpoints per task.
const MAX_BREAKPOINTS: usize = 1024;

impl Core {
    /// The task's symbol table, if loaded.
    pub(crate) fn symbol_table(&self, pid: Pid) -> Option<Arc<SymbolTable>> {
        self.tasks.get(&pid)?.symbols.as_ref()?.table.clone()
    }

    /// `name+0xOFF` for a code address.
    pub(crate) fn describe_pc(&self, pid: Pid, pc: u32) -> Option<String> {
        self.symbol_table(pid)?.describe(pc)
    }

    /// `{pid, loaded, path?, count?, stale?, error?}`.
    pub(crate) fn symbols_status(&self, pid: Pid) -> Value {
        let s = self.tasks.get(&pid).and_then(|i| i.symbols.as_ref());
        let mut v = json!({"pid": pid, "loaded": s.is_some_and(|s| s.table.is_some())});
        let o = v.as_object_mut().expect("object");
        if let Some(s) = s {
            o.insert("path".into(), json!(s.path.display().to_string()));
            if let Some(t) = &s.table {
                o.insert("count".into(), json!(t.len()));
                o.insert("stale".into(), json!(s.stale));
            }
            if let Some(e) = &s.error {
                o.insert("error".into(), json!(e));
            }
        }
        v
    }

    fn breakpoints_payload(&self, pid: Pid) -> Map<String, Value> {
        let bps: Vec<u32> = self
            .exec
            .task(pid)
            .map(|t| t.breakpoints.iter().copied().collect())
            .unwrap_or_default();
        payload(vec![("pid", json!(pid)), ("breakpoints", json!(bps))])
    }

    pub(super) fn cmd_bp(
        &mut self,
        a: &Args<'_>,
        session: Option<&str>,
        fixed: Option<&str>,
    ) -> Reply {
        let pid = a.pid()?;
        let op = match fixed {
            Some(op) => op.to_owned(),
            None => a.word(&["op", "action"])?.unwrap_or_else(|| "list".into()),
        };
        self.breakpoint_op(pid, &op, a, session)?;
        Ok(self.breakpoints_payload(pid))
    }

    fn breakpoint_op(
        &mut self,
        pid: Pid,
        op: &str,
        a: &Args<'_>,
        session: Option<&str>,
    ) -> Result<(), String> {
        let t = self
            .exec
            .task(pid)
            .ok_or_else(|| format!("unknown pid {pid}"))?;
        let code_len = t.image.image.code.len() as u32;
        let count = t.breakpoints.len();
        match op {
            "list" | "ls" => Ok(()),
            "set" | "add" => {
                self.lock_check(pid, session)?;
                let addr = a.addr()?;
                if !addr.is_multiple_of(4) || addr >= code_len {
                    return Err(format!(
                        "invalid value for 'addr': {addr} (breakpoints must be 4-aligned and below code_len {code_len})"
                    ));
                }
                if count >= MAX_BREAKPOINTS && !t.breakpoints.contains(&addr) {
                    return Err(format!(
                        "too many breakpoints for pid {pid} (max {MAX_BREAKPOINTS})"
                    ));
                }
                self.exec
                    .set_breakpoint(pid, addr, true)
                    .map_err(control_error)
            }
            "clear" | "remove" | "rm" | "del" | "delete" => {
                self.lock_check(pid, session)?;
                let addr = a.addr()?;
                self.exec
                    .set_breakpoint(pid, addr, false)
                    .map_err(control_error)
            }
            "clear_all" | "clearall" | "reset" => {
                self.lock_check(pid, session)?;
                let all: Vec<u32> = t.breakpoints.iter().copied().collect();
                for addr in all {
                    self.exec
                        .set_breakpoint(pid, addr, false)
                        .map_err(control_error)?;
                }
                Ok(())
            }
            other => Err(format!("unknown bp op '{other}'")),
        }
    }

    pub(super) fn cmd_stack(&mut self, a: &Args<'_>) -> Reply {
        let pid = a.pid()?;
        let max = a.int_in(&["max", "limit", "frames"], 1, 64)?.unwrap_or(16) as usize;
        Ok(payload(vec![("stack", self.stack_json(pid, max)?)]))
    }

    fn stack_json(&self, pid: Pid, max: usize) -> Result<Value, String> {
        let t = self
            .exec
            .task(pid)
            .ok_or_else(|| format!("unknown pid {pid}"))?;
        let regs = self
            .exec
            .registers(pid)
            .ok_or_else(|| format!("unknown pid {pid}"))?;
        let ctx = t.ctx;
        let bounds = StackBounds {
            stack_limit: ctx.stack_limit,
            stack_top: ctx.stack_top,
        };
        let walk = hsx_debug::walk(ctx.pc, ctx.sp, regs[7], bounds, max, |addr| {
            self.exec
                .read_memory(pid, addr, 4)
                .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        });
        let table = self.symbol_table(pid);
        let frames: Vec<Value> = walk
            .frames
            .iter()
            .map(|f| {
                let mut v = json!({
                    "index": f.index, "pc": f.pc, "sp": f.sp, "fp": f.fp, "return_pc": f.return_pc,
                });
                let o = v.as_object_mut().expect("object");
                if let Some(table) = &table {
                    if let Some((sym, off)) = table.function_at(f.pc) {
                        o.insert("symbol".into(), json!(table.describe(f.pc)));
                        o.insert("func_name".into(), json!(sym.name));
                        o.insert("func_addr".into(), json!(sym.address));
                        o.insert("func_offset".into(), json!(off));
                    }
                    if let Some(line) = table.line_at(f.pc) {
                        o.insert("line".into(), SymbolTable::line_json(line));
                        o.insert("line_num".into(), json!(line.line));
                        o.insert("file".into(), json!(table.resolve_file(line)));
                    }
                }
                v
            })
            .collect();
        Ok(json!({
            "pid": pid, "frames": frames, "truncated": walk.truncated, "errors": walk.errors,
            "stack_base": ctx.stack_base, "stack_limit": ctx.stack_limit,
            "stack_low": ctx.stack_limit, "stack_high": ctx.stack_top,
            "initial_sp": ctx.sp, "initial_fp": regs[7],
        }))
    }

    pub(super) fn cmd_disasm(&mut self, a: &Args<'_>) -> Reply {
        let pid = a.pid()?;
        let t = self
            .exec
            .task(pid)
            .ok_or_else(|| format!("unknown pid {pid}"))?;
        let addr = a.addr_opt()?.unwrap_or(t.ctx.pc);
        let count = a.int_in(&["count"], 1, 64)?.unwrap_or(8) as usize;
        let mode = a.word(&["mode"])?.unwrap_or_else(|| "on-demand".into());
        let cached_mode = match mode.as_str() {
            "on-demand" | "on_demand" | "ondemand" => false,
            "cached" => true,
            other => return Err(format!("invalid value for 'mode': \"{other}\"")),
        };
        if cached_mode
            && let Some(hit) = self
                .tasks
                .get(&pid)
                .and_then(|i| i.disasm_cache.get(&(addr, count)))
        {
            let mut v = hit.clone();
            v["cached"] = json!(true);
            return Ok(payload(vec![("disasm", v)]));
        }
        let table = self.symbol_table(pid);
        let listing = disassemble(&t.image.image.code, addr, count, table.as_deref());
        let data: String = listing
            .instructions
            .iter()
            .map(|i| match i.extended_word {
                Some(w) => format!("{:08X}{w:08X}", i.word),
                None => format!("{:08X}", i.word),
            })
            .collect();
        let v = json!({
            "pid": pid, "address": addr, "count": listing.instructions.len(), "requested": count,
            "mode": if cached_mode { "cached" } else { "on-demand" }, "cached": false,
            "truncated": listing.truncated, "bytes_read": listing.bytes_read, "data": data,
            "instructions": listing.instructions.iter().map(|i| i.to_json()).collect::<Vec<_>>(),
        });
        if cached_mode && let Some(info) = self.tasks.get_mut(&pid) {
            info.disasm_cache.insert((addr, count), v.clone());
        }
        Ok(payload(vec![("disasm", v)]))
    }

    pub(super) fn cmd_sym(&mut self, a: &Args<'_>, session: Option<&str>) -> Reply {
        let pid = a.pid()?;
        let t = self
            .exec
            .task(pid)
            .ok_or_else(|| format!("unknown pid {pid}"))?;
        let crc = t.image.image.crc32;
        let program = PathBuf::from(&t.program);
        let op = a.word(&["op"])?.unwrap_or_else(|| "info".into());
        let need = |core: &Core| {
            core.symbol_table(pid)
                .ok_or_else(|| format!("no symbols loaded for pid {pid}"))
        };
        match op.as_str() {
            "info" => Ok(payload(vec![("symbols", self.symbols_status(pid))])),
            "load" | "set" => {
                self.lock_check(pid, session)?;
                let path = a.str_opt(&["path"])?.ok_or_else(|| a.missing("path"))?;
                let p = PathBuf::from(path);
                let p = if p.is_absolute() {
                    p
                } else {
                    program.parent().map(|d| d.join(&p)).unwrap_or(p)
                };
                let mut warnings = Vec::new();
                let info = load_symbols(&p, Some(crc), &mut warnings);
                let error = info.error.clone();
                if let Some(ti) = self.tasks.get_mut(&pid) {
                    ti.symbols = Some(info);
                    ti.symbols_override = Some(p.clone());
                    ti.disasm_cache.clear();
                }
                if let Some(e) = error {
                    return Err(format!("cannot open '{}': {e}", p.display()));
                }
                let mut status = self.symbols_status(pid);
                if !warnings.is_empty() {
                    status["warnings"] = json!(warnings);
                }
                Ok(payload(vec![("symbols", status)]))
            }
            "name" | "lookup" | "lookup_name" => {
                let table = need(self)?;
                let name = a.str_opt(&["name"])?.ok_or_else(|| a.missing("name"))?;
                let sym = table.by_name(name).map(|s| s.to_json());
                Ok(payload(vec![
                    ("symbol", sym.unwrap_or(Value::Null)),
                    ("pid", json!(pid)),
                    ("name", json!(name)),
                ]))
            }
            "addr" | "lookup_addr" => {
                let table = need(self)?;
                let addr = a
                    .int_in(&["address", "addr"], 0, 0xFFFF)?
                    .ok_or_else(|| a.missing("address"))? as u32;
                let sym = table.by_address(addr).map(|(s, off)| {
                    let mut v = s.to_json();
                    v["offset"] = json!(off);
                    v
                });
                Ok(payload(vec![
                    ("symbol", sym.unwrap_or(Value::Null)),
                    ("pid", json!(pid)),
                    ("address", json!(addr)),
                ]))
            }
            "line" | "lookup_line" => {
                let table = need(self)?;
                let addr = a
                    .int_in(&["address", "addr"], 0, 0xFFFF)?
                    .ok_or_else(|| a.missing("address"))? as u32;
                let line = table.line_at(addr).map(
                    |l| json!({"address": l.pc, "file": table.resolve_file(l), "line": l.line}),
                );
                Ok(payload(vec![
                    ("line", line.unwrap_or(Value::Null)),
                    ("pid", json!(pid)),
                    ("address", json!(addr)),
                ]))
            }
            other => Err(format!("unknown sym op '{other}'")),
        }
    }

    pub(super) fn cmd_symbols(&mut self, a: &Args<'_>) -> Reply {
        let pid = a.pid()?;
        self.exec
            .task(pid)
            .ok_or_else(|| format!("unknown pid {pid}"))?;
        let table = self
            .symbol_table(pid)
            .ok_or_else(|| format!("no symbols loaded for pid {pid}"))?;
        let kind = a.word(&["type", "kind"])?.unwrap_or_else(|| "all".into());
        let filter: fn(SymKind) -> bool = match kind.as_str() {
            "functions" | "function" => |k| k == SymKind::Function,
            "variables" | "variable" => |k| k == SymKind::Variable,
            "labels" | "label" => |k| k == SymKind::Label,
            "all" => |_| true,
            other => return Err(format!("invalid value for 'type': \"{other}\"")),
        };
        let offset = a.int_in(&["offset"], 0, i64::MAX)?.unwrap_or(0) as usize;
        let limit = a.int_in(&["limit", "count"], 1, 256)?;
        let all: Vec<Value> = table
            .symbols()
            .iter()
            .filter(|s| filter(s.kind))
            .map(|s| s.to_json())
            .collect();
        let page: Vec<Value> = all
            .iter()
            .skip(offset)
            .take(limit.unwrap_or(256) as usize)
            .cloned()
            .collect();
        Ok(payload(vec![(
            "symbols",
            json!({
                "pid": pid, "count": all.len(), "offset": offset, "limit": limit,
                "type": kind, "symbols": page,
            }),
        )]))
    }

    fn watch_json(&self, w: &Watch) -> Value {
        let meta = self.watch_meta.get(&w.id);
        let value = self
            .exec
            .watch_bytes(w.pid, w.kind)
            .map(|b| to_hex(&b))
            .unwrap_or_default();
        let mut v = json!({
            "id": w.id, "pid": w.pid, "expr": meta.map(|m| m.expr.clone()),
            "type": meta.map(|m| m.wtype.clone()), "stop": w.stop, "value": value,
        });
        let o = v.as_object_mut().expect("object");
        match w.kind {
            WatchKind::Memory { address, length } => {
                o.insert("mode".into(), json!("memory"));
                o.insert("address".into(), json!(address));
                o.insert("length".into(), json!(length));
            }
            WatchKind::Register { reg } => {
                o.insert("mode".into(), json!("register"));
                o.insert("length".into(), json!(4));
                o.insert("register".into(), json!(format!("R{reg}")));
            }
        }
        if let Some(m) = meta {
            if let Some(s) = &m.symbol {
                o.insert("symbol".into(), json!(s));
            }
            if let Some(l) = &m.location {
                o.insert("location".into(), json!(l));
            }
            o.insert(
                "description".into(),
                json!(match &m.symbol {
                    Some(s) => format!("{} ({s})", m.expr),
                    None => m.expr.clone(),
                }),
            );
        }
        v
    }

    pub(super) fn cmd_watch(&mut self, a: &Args<'_>, session: Option<&str>) -> Reply {
        let pid = a.pid()?;
        let op = a.word(&["op", "action"])?.unwrap_or_else(|| "list".into());
        match op.as_str() {
            "list" | "ls" => {
                self.exec
                    .task(pid)
                    .ok_or_else(|| format!("unknown pid {pid}"))?;
                let watches: Vec<Value> =
                    self.exec.watches(pid).map(|w| self.watch_json(w)).collect();
                Ok(payload(vec![(
                    "watch",
                    json!({"pid": pid, "count": watches.len(), "watches": watches}),
                )]))
            }
            "add" | "create" => {
                self.lock_check(pid, session)?;
                let t = self.live_task(pid)?;
                let (pc, _) = (t.ctx.pc, ());
                let fp = self.exec.registers(pid).map_or(0, |r| r[7]);
                let expr = a
                    .str_opt(&["expr", "expression"])?
                    .ok_or_else(|| a.missing("expr"))?
                    .to_owned();
                let kind = a.word(&["type", "kind"])?;
                let length = a.int_in(&["length", "size"], 1, 64)?.unwrap_or(4) as u32;
                let stop = a.bool_opt(&["stop"])?.unwrap_or(false);
                let parsed = parse_expr(&expr, kind.as_deref())?;
                let wtype = match &parsed {
                    hsx_debug::WatchExpr::Address(_) => "address",
                    hsx_debug::WatchExpr::Symbol(_) => "symbol",
                    hsx_debug::WatchExpr::Local { .. } => "local",
                };
                let table = self.symbol_table(pid);
                let target = resolve(&parsed, table.as_deref(), pc, fp)?;
                let (wkind, symbol, location) = match target {
                    WatchTarget::Memory {
                        address,
                        symbol,
                        location,
                    } => (WatchKind::Memory { address, length }, symbol, location),
                    WatchTarget::Register { reg, location } => (
                        WatchKind::Register { reg },
                        Some(expr.clone()),
                        Some(location),
                    ),
                };
                let w = self.exec.add_watch(pid, wkind, stop).map_err(|e| match e {
                    WatchError::Control(c) => control_error(c),
                    other => other.to_string(),
                })?;
                self.watch_meta.insert(
                    w.id,
                    WatchMeta {
                        pid,
                        expr,
                        wtype: wtype.into(),
                        symbol,
                        location,
                    },
                );
                Ok(payload(vec![("watch", self.watch_json(&w))]))
            }
            "remove" | "del" | "delete" => {
                self.lock_check(pid, session)?;
                let id = a.req_int_in(&["id", "watch"], 0, u32::MAX as i64)? as u32;
                let v = self
                    .exec
                    .watches(pid)
                    .find(|w| w.id == id)
                    .map(|w| self.watch_json(w))
                    .ok_or_else(|| format!("unknown watch {id} for pid {pid}"))?;
                self.exec.remove_watch(pid, id);
                self.watch_meta.remove(&id);
                Ok(payload(vec![("watch", v)]))
            }
            other => Err(format!("unknown watch op '{other}'")),
        }
    }

    pub(super) fn cmd_trace(&mut self, a: &Args<'_>, session: Option<&str>) -> Reply {
        let op = a.word(&["op"])?;
        if op.as_deref() == Some("config") {
            if let Some(b) = a.bool_opt(&["changed_regs"])? {
                self.trace_changed_regs = b;
                return Ok(payload(vec![("trace", json!({"changed_regs": b}))]));
            }
            if let Some(n) = a.int_in(&["buffer_size"], 0, 4096)? {
                self.trace_buffer = n as usize;
                for info in self.tasks.values_mut() {
                    while info.trace_records.len() > self.trace_buffer {
                        info.trace_records.pop_front();
                    }
                }
                return Ok(payload(vec![("trace", json!({"buffer_size": n}))]));
            }
            return Err("trace config requires 'changed_regs' or 'buffer_size'".into());
        }
        let pid = a.pid()?;
        let t = self
            .exec
            .task(pid)
            .ok_or_else(|| format!("unknown pid {pid}"))?;
        let enabled = t.trace;
        match op.as_deref() {
            None | Some("toggle") | Some("set") | Some("mode") => {
                self.lock_check(pid, session)?;
                let on = a
                    .bool_opt(&["mode", "enabled", "enable"])?
                    .unwrap_or(!enabled);
                self.exec.set_trace(pid, on).map_err(control_error)?;
                Ok(payload(vec![(
                    "trace",
                    json!({"pid": pid, "enabled": on, "buffer_size": self.trace_buffer}),
                )]))
            }
            Some("records" | "history" | "export") => {
                let limit = a.int_in(&["limit"], 0, 4096)?;
                let records: Vec<Value> = self
                    .tasks
                    .get(&pid)
                    .map(|i| i.trace_records.iter().cloned().collect())
                    .unwrap_or_default();
                let count = records.len();
                let skip = limit.map_or(0, |l| count.saturating_sub(l as usize));
                let out: Vec<Value> = records.into_iter().skip(skip).collect();
                Ok(payload(vec![(
                    "trace",
                    json!({
                        "pid": pid, "capacity": self.trace_buffer, "count": count,
                        "returned": out.len(), "enabled": enabled, "format": "hsx.trace/1",
                        "records": out,
                    }),
                )]))
            }
            Some("import") => {
                self.lock_check(pid, session)?;
                if session.is_none() {
                    return Err("session_required".into());
                }
                let (k, v) = a.raw(&["records"]).ok_or_else(|| a.missing("records"))?;
                let list = v.as_array().ok_or_else(|| Args::invalid(k, v))?.clone();
                let replace = a.bool_opt(&["replace"])?.unwrap_or(true);
                let cap = self.trace_buffer;
                let info = self.tasks.entry(pid).or_default();
                if replace {
                    info.trace_records.clear();
                }
                for r in list.into_iter().filter(Value::is_object) {
                    if info.trace_records.len() >= cap.max(1) {
                        info.trace_records.pop_front();
                    }
                    info.trace_records.push_back(r);
                }
                let count = info.trace_records.len();
                Ok(payload(vec![(
                    "trace",
                    json!({"pid": pid, "count": count}),
                )]))
            }
            Some(other) => Err(format!("unknown trace op '{other}'")),
        }
    }

    pub(super) fn cmd_dbg(&mut self, a: &Args<'_>, session: Option<&str>) -> Reply {
        let pid = a.pid()?;
        let op = a.word(&["op", "action"])?.ok_or_else(|| a.missing("op"))?;
        let debug = |mut m: Map<String, Value>| {
            m.insert("op".into(), json!(op));
            m.insert("pid".into(), json!(pid));
            Ok(payload(vec![("debug", Value::Object(m))]))
        };
        match op.as_str() {
            "attach" => {
                self.lock_check(pid, session)?;
                let t = self
                    .exec
                    .task(pid)
                    .ok_or_else(|| format!("unknown pid {pid}"))?;
                let halted = t.state == hsx_exec::TaskState::Paused;
                let bps: Vec<u32> = t.breakpoints.iter().copied().collect();
                let regs = self.registers_json(pid).unwrap_or(Value::Null);
                debug(payload(vec![
                    ("attached", json!(true)),
                    ("breakpoints", json!(bps)),
                    ("halted", json!(halted)),
                    ("stop", Value::Null),
                    ("registers", regs),
                ]))
            }
            "detach" => {
                self.lock_check(pid, session)?;
                self.breakpoint_op(pid, "clear_all", a, session)?;
                debug(payload(vec![
                    ("attached", json!(false)),
                    ("breakpoints", json!([])),
                ]))
            }
            "regs" => {
                let regs = self
                    .registers_json(pid)
                    .ok_or_else(|| format!("unknown pid {pid}"))?;
                debug(payload(vec![("registers", regs)]))
            }
            "cont" | "continue" | "step" => {
                self.lock_check(pid, session)?;
                let (keys, default): (&[&str], i64) = if op == "step" {
                    (&["count", "steps"], 1)
                } else {
                    (&["cycles", "steps", "count"], 1000)
                };
                let n = a
                    .int_in(keys, 1, super::tasks::MAX_STEPS)?
                    .unwrap_or(default);
                let pc_before = self.live_task(pid)?.ctx.pc;
                let mut report = self.run_step(n as u64, Some(pid), false)?;
                if op == "step" && report.debug_event.is_null() {
                    self.collected = Some(Vec::new());
                    self.publish_plain_stop(pid, "step", pc_before);
                    let extra = self.collected.take().unwrap_or_default();
                    report.debug_event = extra.last().cloned().unwrap_or(Value::Null);
                    report.events.extend(extra);
                }
                debug(payload(vec![("result", self.result_json(&report))]))
            }
            "break" => {
                self.lock_check(pid, session)?;
                let pc = self.live_task(pid)?.ctx.pc;
                self.exec.pause(pid).map_err(control_error)?;
                self.pump(Source::Manual);
                self.collected = Some(Vec::new());
                self.publish_plain_stop(pid, "async_break", pc);
                let events = self.collected.take().unwrap_or_default();
                let report = super::tasks::StepReport {
                    executed: 0,
                    stop_reason: "paused",
                    pid: Some(pid),
                    debug_event: events.last().cloned().unwrap_or(Value::Null),
                    events,
                };
                debug(payload(vec![("result", self.result_json(&report))]))
            }
            "bp" => {
                let action = a.word(&["action", "bp_op"])?;
                let action = match action.as_deref() {
                    None | Some("bp") => "list".to_owned(),
                    Some(x) => x.to_owned(),
                };
                self.breakpoint_op(pid, &action, a, session)?;
                let mut m = self.breakpoints_payload(pid);
                m.insert("action".into(), json!(action));
                debug(m)
            }
            other => Err(format!("unknown dbg op '{other}'")),
        }
    }
}
