//! Watch expressions (`tools.md` §6): an address, a symbol name, or a local written
//! `local:NAME`, `FN::NAME` or `NAME@FN`, resolved against the symbols and the task's pc.

use crate::symbols::{LocalLocation, SymbolTable, parse_u32_text};

/// A parsed watch expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WatchExpr {
    /// A guest data address.
    Address(u32),
    /// A function, label or variable name.
    Symbol(String),
    /// A local variable, optionally qualified by its function.
    Local {
        /// Variable name.
        name: String,
        /// Function, if written.
        function: Option<String>,
    },
}

/// What a resolved watch observes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WatchTarget {
    /// `length` bytes of data memory at `address`.
    Memory {
        /// Guest address.
        address: u32,
        /// Symbol it came from, if any.
        symbol: Option<String>,
        /// `stack:R7-8`-style location text for locals.
        location: Option<String>,
    },
    /// A register (4 bytes).
    Register {
        /// Register number.
        reg: u8,
        /// `register:R3`-style location text.
        location: String,
    },
}

/// Parse an expression; `kind` is the request's `type` (`address`, `symbol`, `local`)
/// when given.
pub fn parse_expr(expr: &str, kind: Option<&str>) -> Result<WatchExpr, String> {
    let e = expr.trim();
    if e.is_empty() {
        return Err("watch expression is empty".into());
    }
    let local = |s: &str| -> WatchExpr {
        if let Some((f, n)) = s.split_once("::") {
            WatchExpr::Local {
                name: n.to_owned(),
                function: Some(f.to_owned()),
            }
        } else if let Some((n, f)) = s.split_once('@') {
            WatchExpr::Local {
                name: n.to_owned(),
                function: Some(f.to_owned()),
            }
        } else {
            WatchExpr::Local {
                name: s.to_owned(),
                function: None,
            }
        }
    };
    match kind {
        Some("address") => parse_u32_text(e)
            .map(WatchExpr::Address)
            .ok_or_else(|| format!("invalid watch address '{e}'")),
        Some("symbol") => Ok(WatchExpr::Symbol(e.to_owned())),
        Some("local") => Ok(local(e.strip_prefix("local:").unwrap_or(e))),
        Some(other) => Err(format!("unknown watch type '{other}'")),
        None => {
            if let Some(rest) = e.strip_prefix("local:") {
                Ok(local(rest))
            } else if e.contains("::") || e.contains('@') {
                Ok(local(e))
            } else if let Some(a) = parse_u32_text(e) {
                Ok(WatchExpr::Address(a))
            } else {
                Ok(WatchExpr::Symbol(e.to_owned()))
            }
        }
    }
}

/// Resolve an expression for a task at `pc` whose frame pointer (R7) is `fp`.
pub fn resolve(
    expr: &WatchExpr,
    symbols: Option<&SymbolTable>,
    pc: u32,
    fp: u32,
) -> Result<WatchTarget, String> {
    match expr {
        WatchExpr::Address(a) => Ok(WatchTarget::Memory {
            address: *a,
            symbol: None,
            location: None,
        }),
        WatchExpr::Symbol(name) => {
            let sym = symbols
                .and_then(|s| s.by_name(name))
                .ok_or_else(|| format!("unknown symbol '{name}'"))?;
            Ok(WatchTarget::Memory {
                address: sym.address,
                symbol: Some(sym.name.clone()),
                location: None,
            })
        }
        WatchExpr::Local { name, function } => {
            let table = symbols.ok_or_else(|| format!("unknown symbol '{name}'"))?;
            let fn_name = match function {
                Some(f) => f.clone(),
                None => table
                    .function_at(pc)
                    .map(|(s, _)| s.name.clone())
                    .unwrap_or_default(),
            };
            let mut known = false;
            for local in table.locals_named(name, Some(&fn_name)) {
                known = true;
                for range in &local.locations {
                    if !(range.start <= pc && pc < range.end) {
                        continue;
                    }
                    return match &range.location {
                        LocalLocation::Stack { offset } => Ok(WatchTarget::Memory {
                            address: (fp as i64 + *offset as i64) as u32 & 0xFFFF,
                            symbol: Some(name.clone()),
                            location: Some(format!("stack:R7{offset:+}")),
                        }),
                        LocalLocation::Register { reg } => Ok(WatchTarget::Register {
                            reg: *reg,
                            location: format!("register:R{reg}"),
                        }),
                        LocalLocation::Global { address, symbol } => {
                            let addr = address
                                .or_else(|| {
                                    symbol
                                        .as_deref()
                                        .and_then(|s| table.by_name(s))
                                        .map(|s| s.address)
                                })
                                .ok_or_else(|| format!("unknown symbol '{name}'"))?;
                            Ok(WatchTarget::Memory {
                                address: addr,
                                symbol: Some(name.clone()),
                                location: Some("global".into()),
                            })
                        }
                        LocalLocation::Const { .. } => Err(format!(
                            "local '{name}' is a constant in function '{fn_name}' and cannot be watched"
                        )),
                    };
                }
            }
            if known {
                Err(format!(
                    "local '{name}' is not live in function '{fn_name}' at current PC"
                ))
            } else {
                Err(format!("unknown symbol '{name}'"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn table() -> SymbolTable {
        SymbolTable::parse(
            r#"{"symbols": {
                "functions": [{"name": "f", "address": 0, "size": 64}],
                "variables": [{"name": "g", "address": "0x4000", "size": 4}],
                "locals": [
                  {"name": "x", "function": "f", "locations": [
                    {"start": 0, "end": 16, "location": {"kind": "stack", "offset": -8}},
                    {"start": 16, "end": 32, "location": {"kind": "register", "name": "R3"}},
                    {"start": 32, "end": 48, "location": {"kind": "const", "value": 3}},
                    {"start": 48, "end": 56, "location": {"kind": "global", "symbol": "g"}}
                  ]}
                ]}}"#,
            Path::new("t.sym"),
        )
        .unwrap()
    }

    #[test]
    fn parses_every_form() {
        assert_eq!(parse_expr("0xEFF0", None), Ok(WatchExpr::Address(0xEFF0)));
        assert_eq!(parse_expr("61424", None), Ok(WatchExpr::Address(0xEFF0)));
        assert_eq!(parse_expr("g", None), Ok(WatchExpr::Symbol("g".into())));
        let local = |n: &str, f: Option<&str>| WatchExpr::Local {
            name: n.into(),
            function: f.map(Into::into),
        };
        assert_eq!(parse_expr("local:x", None), Ok(local("x", None)));
        assert_eq!(parse_expr("f::x", None), Ok(local("x", Some("f"))));
        assert_eq!(parse_expr("x@f", None), Ok(local("x", Some("f"))));
        assert!(parse_expr("zz", Some("address")).is_err());
        assert!(parse_expr(" ", None).is_err());
    }

    #[test]
    fn resolves_locals_by_pc() {
        let t = table();
        let x = parse_expr("local:x", None).unwrap();
        assert_eq!(
            resolve(&x, Some(&t), 4, 0xFFEC),
            Ok(WatchTarget::Memory {
                address: 0xFFE4,
                symbol: Some("x".into()),
                location: Some("stack:R7-8".into())
            })
        );
        assert_eq!(
            resolve(&x, Some(&t), 20, 0),
            Ok(WatchTarget::Register {
                reg: 3,
                location: "register:R3".into()
            })
        );
        assert!(
            resolve(&x, Some(&t), 40, 0)
                .unwrap_err()
                .contains("constant")
        );
        assert!(matches!(
            resolve(&x, Some(&t), 50, 0),
            Ok(WatchTarget::Memory {
                address: 0x4000,
                ..
            })
        ));
        assert_eq!(
            resolve(&x, Some(&t), 60, 0),
            Err("local 'x' is not live in function 'f' at current PC".into())
        );
        assert_eq!(
            resolve(&parse_expr("nope", None).unwrap(), Some(&t), 0, 0),
            Err("unknown symbol 'nope'".into())
        );
    }
}
