//! Instruction statements (`mvasm.md` §4): operand checks and canonical encoding.

use hsx_isa::{Form, Opcode, encode};

use super::{Assembler, Section, Target};
use crate::lex::{LexError, Operand};
use crate::object::RelocType;
use crate::operand::{self, Mem, Value};
use crate::source::Loc;

/// Operand syntax per form, for messages.
fn syntax(op: Opcode) -> &'static str {
    match op.form() {
        Form::Rrr => "Rd, Ra, Rb",
        Form::Rr => "Rd, Rs",
        Form::Cmp => "Ra, Rb",
        Form::Ldi | Form::Ldi32 => "Rd, value",
        Form::Load => "Rd, [Rn+off]",
        Form::Store => "[Rn+off], Rs",
        Form::Jump => "target",
        Form::Call => "target | Rb[, off]",
        Form::Ret => "no operands",
        Form::Svc => "mod, fn | MOD=m, FN=f | imm",
        Form::Push => "Rs",
        Form::Pop => "Rd",
        Form::Brk => "[n]",
    }
}

/// Require exactly `n` operands.
fn arity(op: Opcode, ops: &[Operand<'_>], n: usize, stmt_at: usize) -> Result<(), LexError> {
    let m = op.mnemonic();
    if ops.len() < n {
        return Err(LexError::new(
            stmt_at,
            format!("Missing operand: {m} expects {}", syntax(op)),
        ));
    }
    match ops.get(n) {
        Some(extra) => Err(LexError::new(
            extra.at,
            format!(
                "Unexpected operand '{}': {m} expects {}",
                extra.text,
                syntax(op)
            ),
        )),
        None => Ok(()),
    }
}

/// A value operand that must be a plain number.
pub(super) fn number(op: Operand<'_>, what: &str) -> Result<i64, LexError> {
    match operand::value(op)? {
        Value::Num(n) => Ok(n),
        Value::Ref(_) => Err(LexError::new(
            op.at,
            format!("{what} must be a number, found '{}'", op.text),
        )),
    }
}

impl Assembler<'_> {
    /// Assemble one instruction statement.
    pub(super) fn instruction(
        &mut self,
        head: &str,
        statement: &str,
        ops: &[Operand<'_>],
        loc: Loc,
    ) {
        let Some(op) = Opcode::from_mnemonic(head) else {
            return self.error(loc, format!("Unknown mnemonic: {head}"));
        };
        if self.section == Section::Data {
            return self.error(loc, format!("Unsupported directive in .data: {statement}"));
        }
        let words = (op.size() / 4) as usize;
        if !self.code_room(words, loc) {
            return;
        }
        let index = self.code.len() as u32;
        match self.encode(op, ops, loc, index) {
            Ok((word, literal)) => {
                self.code.push(word);
                if op == Opcode::Ldi32 {
                    self.code.push(literal);
                }
            }
            Err(e) => {
                self.lex_error(loc, e);
                // Keep later addresses right so that follow-on messages make sense.
                self.code.extend(std::iter::repeat_n(0, words));
            }
        }
    }

    /// The instruction's first word and LDI32's literal; references become fixups.
    fn encode(
        &mut self,
        op: Opcode,
        ops: &[Operand<'_>],
        loc: Loc,
        index: u32,
    ) -> Result<(u32, u32), LexError> {
        let at = loc.byte as usize;
        let pc = index * 4;
        let reg = |i: usize| operand::register(ops[i]);
        let word = match op.form() {
            Form::Rrr => {
                arity(op, ops, 3, at)?;
                encode::rrr(op, reg(0)?, reg(1)?, reg(2)?)
            }
            Form::Rr => {
                arity(op, ops, 2, at)?;
                encode::rr(op, reg(0)?, reg(1)?)
            }
            Form::Cmp => {
                arity(op, ops, 2, at)?;
                encode::rrr(op, 0, reg(0)?, reg(1)?)
            }
            Form::Push => {
                arity(op, ops, 1, at)?;
                encode::push(reg(0)?)
            }
            Form::Pop => {
                arity(op, ops, 1, at)?;
                encode::pop(reg(0)?)
            }
            Form::Ret => {
                arity(op, ops, 0, at)?;
                encode::ret()
            }
            Form::Ldi => {
                arity(op, ops, 2, at)?;
                let rd = reg(0)?;
                let imm = match operand::value(ops[1])? {
                    Value::Num(n) if (-2048..=2047).contains(&n) => n as i32,
                    Value::Num(n) => {
                        return Err(LexError::new(
                            ops[1].at,
                            format!("Immediate out of 12-bit signed range: {n}; use LDI32"),
                        ));
                    }
                    Value::Ref(r) => {
                        self.fixup(
                            RelocType::Imm12,
                            index,
                            None,
                            Target::Ref(r.clone()),
                            loc.at(r.at),
                        );
                        0
                    }
                };
                encode::ldi(rd, imm)
            }
            Form::Ldi32 => {
                arity(op, ops, 2, at)?;
                let rd = reg(0)?;
                let literal = match operand::value(ops[1])? {
                    Value::Num(n) if (-(1 << 31)..=0xFFFF_FFFF).contains(&n) => n as u32,
                    Value::Num(n) => {
                        return Err(LexError::new(
                            ops[1].at,
                            format!("Immediate out of 32-bit range: {n}"),
                        ));
                    }
                    Value::Ref(r) => {
                        self.fixup(
                            RelocType::Imm32,
                            index + 1,
                            None,
                            Target::Ref(r.clone()),
                            loc.at(r.at),
                        );
                        0
                    }
                };
                return Ok((encode::ldi32(rd), literal));
            }
            Form::Load => {
                arity(op, ops, 2, at)?;
                let rd = reg(0)?;
                let mem = operand::mem(ops[1])?;
                encode::load(op, rd, mem.base, self.mem_offset(&mem, index, loc))
            }
            Form::Store => {
                arity(op, ops, 2, at)?;
                let mem = operand::mem(ops[0])?;
                let rs = reg(1)?;
                encode::store(op, mem.base, self.mem_offset(&mem, index, loc), rs)
            }
            Form::Jump => {
                if op != Opcode::Jmp && ops.len() > 1 {
                    return Err(LexError::new(
                        at,
                        format!("{} takes a single target operand", op.mnemonic()),
                    ));
                }
                arity(op, ops, 1, at)?;
                let target = match operand::value(ops[0])? {
                    Value::Num(n) if (0..=0xFFFF).contains(&n) && n % 4 == 0 => n as u16,
                    Value::Num(n) => return Err(LexError::new(ops[0].at, jump_range(n))),
                    Value::Ref(r) => {
                        self.fixup(
                            RelocType::Jump,
                            index,
                            None,
                            Target::Ref(r.clone()),
                            loc.at(r.at),
                        );
                        0
                    }
                };
                encode::jump(op, target)
            }
            Form::Call => self.call(ops, loc, index, pc)?,
            Form::Svc => encode_svc(ops)?,
            Form::Brk => {
                if ops.len() > 1 {
                    return Err(LexError::new(ops[1].at, "BRK takes at most one operand"));
                }
                match ops.first() {
                    None => encode::brk(0),
                    Some(&o) => match number(o, "BRK immediate")? {
                        n @ 0..=255 => encode::brk(n as u8),
                        _ => {
                            return Err(LexError::new(
                                o.at,
                                "BRK immediate must be in range 0..255",
                            ));
                        }
                    },
                }
            }
        };
        Ok((word, 0))
    }

    fn mem_offset(&mut self, mem: &Mem, index: u32, loc: Loc) -> i32 {
        match &mem.offset {
            Value::Num(n) => *n as i32,
            Value::Ref(r) => {
                self.fixup(
                    RelocType::Mem,
                    index,
                    None,
                    Target::Ref(r.clone()),
                    loc.at(r.at),
                );
                0
            }
        }
    }

    /// `CALL target`, `CALL Rb`, `CALL Rb, off`.
    fn call(
        &mut self,
        ops: &[Operand<'_>],
        loc: Loc,
        index: u32,
        pc: u32,
    ) -> Result<u32, LexError> {
        let at = loc.byte as usize;
        let first = *ops.first().ok_or_else(|| {
            LexError::new(
                at,
                format!("Missing operand: CALL expects {}", syntax(Opcode::Call)),
            )
        })?;
        if crate::lex::register(first.text).is_some() {
            if ops.len() > 2 {
                arity(Opcode::Call, ops, 2, at)?;
            }
            let base = operand::register(first)?;
            if base == 0 {
                return Err(LexError::new(
                    first.at,
                    "CALL base register must be R1..R15 (R0 means pc-relative)",
                ));
            }
            let offset = match ops.get(1) {
                None => 0,
                Some(&o) => {
                    let n = number(o, "CALL offset")?;
                    if n % 4 != 0 || !(-8192..=8188).contains(&n) {
                        return Err(LexError::new(
                            o.at,
                            format!("CALL offset must be a multiple of 4 in -8192..8188: {n}"),
                        ));
                    }
                    (n / 4) as i32
                }
            };
            return Ok(encode::call(base, offset));
        }
        arity(Opcode::Call, ops, 1, at)?;
        match operand::value(first)? {
            Value::Num(n) if (0..=0xFFFF).contains(&n) && n % 4 == 0 => {
                self.fixup(
                    RelocType::Jump,
                    index,
                    Some(pc),
                    Target::Abs(n),
                    loc.at(first.at),
                );
            }
            Value::Num(n) => return Err(LexError::new(first.at, jump_range(n))),
            Value::Ref(r) => {
                self.fixup(
                    RelocType::Jump,
                    index,
                    Some(pc),
                    Target::Ref(r.clone()),
                    loc.at(r.at),
                );
            }
        }
        Ok(encode::call(0, 0))
    }
}

fn jump_range(n: i64) -> String {
    let text = if n < 0 {
        format!("-0x{:X}", n.unsigned_abs())
    } else {
        format!("0x{n:X}")
    };
    format!("jump target {text} out of range")
}

/// The SVC forms: `SVC`, `SVC imm`, `SVC mod, fn`, `SVC MOD=m, FN=f`.
fn encode_svc(ops: &[Operand<'_>]) -> Result<u32, LexError> {
    let keyed = ops.iter().filter(|o| o.text.contains('=')).count();
    if keyed > 0 {
        if keyed != ops.len() {
            let positional = ops
                .iter()
                .find(|o| !o.text.contains('='))
                .copied()
                .unwrap_or(ops[0]);
            return Err(LexError::new(
                positional.at,
                "Cannot mix positional and KEY= SVC operands",
            ));
        }
        let (mut module, mut function) = (None, None);
        for &o in ops {
            let (key, value) = o.text.split_once('=').unwrap_or((o.text, ""));
            let value_text = value.trim();
            let value_at =
                o.at + o.text.len() - value.len() + (value.len() - value.trim_start().len());
            let slot = match key.trim().to_ascii_lowercase().as_str() {
                "mod" => &mut module,
                "fn" => &mut function,
                _ => {
                    return Err(LexError::new(
                        o.at,
                        format!("Unknown SVC key '{}'", key.trim()),
                    ));
                }
            };
            if slot.is_some() {
                return Err(LexError::new(
                    o.at,
                    format!("Duplicate SVC key '{}'", key.trim()),
                ));
            }
            *slot = Some((
                number(
                    Operand {
                        text: value_text,
                        at: value_at,
                    },
                    "SVC operand",
                )?,
                value_at,
            ));
        }
        return svc_fields(module.unwrap_or((0, 0)), function.unwrap_or((0, 0)));
    }
    match ops {
        [] => Ok(encode::svc(0, 0)),
        [imm] => match number(*imm, "SVC operand")? {
            n @ 0..=0xFFF => Ok(encode::word(Opcode::Svc, 0, 0, 0, n as u32)),
            _ => Err(LexError::new(
                imm.at,
                "SVC immediate must be in range 0..0xFFF",
            )),
        },
        [m, f] => svc_fields(
            (number(*m, "SVC module")?, m.at),
            (number(*f, "SVC function")?, f.at),
        ),
        [_, _, extra, ..] => Err(LexError::new(
            extra.at,
            format!(
                "Unexpected operand '{}': SVC expects {}",
                extra.text,
                syntax(Opcode::Svc)
            ),
        )),
    }
}

fn svc_fields(
    (module, m_at): (i64, usize),
    (function, f_at): (i64, usize),
) -> Result<u32, LexError> {
    if !(0..=15).contains(&module) {
        return Err(LexError::new(
            m_at,
            format!("SVC module must be in range 0..15: {module}"),
        ));
    }
    if !(0..=255).contains(&function) {
        return Err(LexError::new(
            f_at,
            format!("SVC function must be in range 0..255: {function}"),
        ));
    }
    Ok(encode::svc(module as u8, function as u8))
}
