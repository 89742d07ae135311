//! The conformance cases of `isa.md` §10, table-driven from `tests/conformance/cases.txt`
//! (its header documents the format). Every row 1..=64 must be present; every failure
//! names its row and case.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use hsx_asm::{AsmOptions, assemble_source_to_hxe};
use hsx_image::Image;
use hsx_isa::{ENOSYS, Fault, svc};
use hsx_vm::{BareVm, Exit, Program};

const CASES: &str = include_str!("conformance/cases.txt");

/// Instructions one `run` directive may retire before it gives up (row 5 needs 8192).
const RUN_LIMIT: u64 = 1_000_000;

/// What the last run/step ended in, as the table writes it.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Outcome {
    Running,
    Exited(u32),
    Faulted(&'static str),
    Paused {
        code: u32,
        pc: u32,
    },
    /// Only from `step` (the harness services SVCs during `run`).
    Trap {
        module: u8,
        function: u8,
    },
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Outcome::Running => write!(f, "RUNNING"),
            Outcome::Exited(n) => write!(f, "EXITED({n})"),
            Outcome::Faulted(name) => write!(f, "FAULTED({name})"),
            Outcome::Paused { code, pc } => write!(f, "PAUSED(brk {code}@0x{pc:X})"),
            Outcome::Trap { module, function } => write!(f, "TRAP({module}, {function})"),
        }
    }
}

#[derive(Clone, Debug)]
enum Directive {
    Run,
    Step(u64),
    Expect(Vec<String>),
}

#[derive(Clone, Debug)]
enum Source {
    Asm(String),
    Raw(Vec<u32>),
}

#[derive(Clone, Debug)]
struct Case {
    id: String,
    row: u32,
    line: usize,
    source: Option<Source>,
    /// W, T, L.
    profile: (u32, u32, u32),
    init: Vec<(usize, u32)>,
    code: Vec<(u32, Vec<u32>)>,
    directives: Vec<(usize, Directive)>,
}

fn num(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let (neg, t) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t),
    };
    let v = match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => t.parse(),
    }
    .map_err(|e| format!("bad number {text:?}: {e}"))?;
    Ok(if neg { v.wrapping_neg() } else { v })
}

fn num32(text: &str) -> Result<u32, String> {
    let v = num(text)?;
    if text.trim().starts_with('-') {
        Ok(v as u32)
    } else {
        u32::try_from(v).map_err(|_| format!("{text:?} does not fit in 32 bits"))
    }
}

fn hex_word(text: &str) -> Result<u32, String> {
    u32::from_str_radix(text, 16).map_err(|e| format!("bad code word {text:?}: {e}"))
}

fn reg(text: &str) -> Result<usize, String> {
    let n: usize = text
        .strip_prefix('R')
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| format!("bad register {text:?}"))?;
    if n < 16 {
        Ok(n)
    } else {
        Err(format!("bad register {text:?}"))
    }
}

/// Split on whitespace, keeping parenthesised groups (`PAUSED(brk 9@4)`) whole.
fn tokens(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut depth = 0usize;
    for ch in text.chars() {
        match ch {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            _ => {}
        }
        if ch.is_whitespace() && depth == 0 {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
        } else {
            cur.push(ch);
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn parse_cases(text: &str) -> Result<Vec<Case>, String> {
    let mut cases: Vec<Case> = Vec::new();
    for (i, raw_line) in text.lines().enumerate() {
        let line_no = i + 1;
        let line = raw_line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (word, rest) = line.split_once(' ').unwrap_or((line, ""));
        let rest = rest.trim();
        let err = |m: String| format!("cases.txt:{line_no}: {m}");
        if word == "case" {
            let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
            let row = digits
                .parse()
                .map_err(|_| err(format!("case id {rest:?} does not start with a row number")))?;
            cases.push(Case {
                id: rest.to_string(),
                row,
                line: line_no,
                source: None,
                profile: (0x1_0000, 0x8000, 0),
                init: Vec::new(),
                code: Vec::new(),
                directives: Vec::new(),
            });
            continue;
        }
        let case = cases
            .last_mut()
            .ok_or_else(|| err("directive before the first case".into()))?;
        match word {
            "asm" => case.source = Some(Source::Asm(rest.to_string())),
            "raw" => {
                let words = rest
                    .split_whitespace()
                    .map(hex_word)
                    .collect::<Result<_, _>>()
                    .map_err(err)?;
                case.source = Some(Source::Raw(words));
            }
            "profile" => {
                for t in rest.split_whitespace() {
                    let (k, v) = t
                        .split_once('=')
                        .ok_or_else(|| err(format!("bad profile item {t:?}")))?;
                    let v = num32(v).map_err(err)?;
                    match k {
                        "W" => case.profile.0 = v,
                        "T" => case.profile.1 = v,
                        "L" => case.profile.2 = v,
                        _ => return Err(err(format!("unknown profile key {k:?}"))),
                    }
                }
            }
            "init" => {
                for t in rest.split_whitespace() {
                    let (k, v) = t
                        .split_once('=')
                        .ok_or_else(|| err(format!("bad init item {t:?}")))?;
                    case.init
                        .push((reg(k).map_err(err)?, num32(v).map_err(err)?));
                }
            }
            "code" => {
                let mut items = rest.split_whitespace().peekable();
                let mut addr = 0;
                if let Some(a) = items.peek().and_then(|t| t.strip_prefix('@')) {
                    addr = num32(a).map_err(err)?;
                    items.next();
                }
                let words = items.map(hex_word).collect::<Result<_, _>>().map_err(err)?;
                case.code.push((addr, words));
            }
            "run" => case.directives.push((line_no, Directive::Run)),
            "step" => {
                let n = num(rest).map_err(err)?;
                case.directives.push((line_no, Directive::Step(n)));
            }
            "expect" => case
                .directives
                .push((line_no, Directive::Expect(tokens(rest)))),
            _ => return Err(err(format!("unknown directive {word:?}"))),
        }
    }
    Ok(cases)
}

/// Assemble `text` (` / ` separates lines) and link it alone, as `hsx run` would.
fn build(text: &str) -> Result<Image, String> {
    let source = text.split(" / ").collect::<Vec<_>>().join("\n") + "\n";
    let bytes = assemble_source_to_hxe("case.mvasm", &source, &AsmOptions::default(), "conf")
        .map_err(|d| format!("assembly failed:\n{d}"))?;
    Image::parse(&bytes).map_err(|e| format!("image does not load: {e}"))
}

struct Runner {
    vm: BareVm,
    outcome: Option<Outcome>,
}

impl Runner {
    fn new(case: &Case) -> Result<(Runner, Vec<u32>), String> {
        let (code_words, entry, rodata) = match &case.source {
            Some(Source::Asm(text)) => {
                let image = build(text)?;
                (
                    image.code_words().collect::<Vec<_>>(),
                    image.entry,
                    image.rodata.clone(),
                )
            }
            Some(Source::Raw(words)) => (words.clone(), 0, Vec::new()),
            None => return Err("case has no program".into()),
        };
        let (w, t, l) = case.profile;
        let mut vm = BareVm::with_stack(Program::from_words(&code_words), entry, w, t, l);
        if !rodata.is_empty() {
            vm.load_data(0x4000, &rodata);
        }
        for &(r, v) in &case.init {
            vm.set_reg(r, v);
        }
        Ok((Runner { vm, outcome: None }, code_words))
    }

    /// Map a stopping exit to its outcome; checks what the exit implies on the state.
    fn outcome_of(&self, exit: Exit, errors: &mut Vec<String>) -> Outcome {
        let regs = self.vm.regs();
        match exit {
            Exit::Budget => Outcome::Running,
            Exit::Trap { module, function } => Outcome::Trap { module, function },
            Exit::Break { code, pc } => {
                if self.vm.ctx.pc != pc.wrapping_add(4) {
                    errors.push(format!(
                        "BRK at 0x{pc:X} left PC=0x{:X}, not the next instruction",
                        self.vm.ctx.pc
                    ));
                }
                Outcome::Paused {
                    code: code as u32,
                    pc,
                }
            }
            Exit::Exit { status } => {
                if status != regs[0] {
                    errors.push(format!("exit status {status:#X} but R0={:#X}", regs[0]));
                }
                Outcome::Exited(status)
            }
            Exit::Fault { fault, pc } => {
                if regs[0] != fault.code() {
                    errors.push(format!("{} fault but R0=0x{:08X}", fault.name(), regs[0]));
                }
                if self.vm.ctx.pc != pc {
                    errors.push(format!(
                        "fault reported at 0x{pc:X} but PC=0x{:X}",
                        self.vm.ctx.pc
                    ));
                }
                Outcome::Faulted(fault.name())
            }
            Exit::Layout(e) => {
                errors.push(format!("layout error {e:?}"));
                Outcome::Faulted("LAYOUT")
            }
        }
    }

    /// One `vm.run` call; checks the step accounting.
    fn call(&mut self, budget: u64, errors: &mut Vec<String>) -> Exit {
        let before = self.vm.ctx.steps;
        let r = self.vm.run(budget);
        if self.vm.ctx.steps != before + r.retired {
            errors.push(format!(
                "steps went {before} -> {} but run reported {} retired",
                self.vm.ctx.steps, r.retired
            ));
        }
        if r.retired > budget {
            errors.push(format!("retired {} with budget {budget}", r.retired));
        }
        r.exit
    }

    /// Run until the task stops, servicing SVCs per isa.md §8.4.
    fn run(&mut self, errors: &mut Vec<String>) {
        let start = self.vm.ctx.steps;
        let outcome = loop {
            let used = self.vm.ctx.steps - start;
            if used >= RUN_LIMIT {
                break Outcome::Running;
            }
            let exit = self.call(RUN_LIMIT - used, errors);
            match exit {
                Exit::Budget => continue,
                Exit::Trap { module, function } => {
                    match (module, function) {
                        (svc::CORE, 0) => {
                            // GET_STEPS: instructions retired before this SVC.
                            let before = self.vm.ctx.steps - 1;
                            self.vm.set_reg(0, before as u32);
                        }
                        (svc::TASK, 0) => break Outcome::Exited(self.vm.regs()[0]),
                        _ => self.vm.set_reg(0, ENOSYS),
                    }
                }
                other => break self.outcome_of(other, errors),
            }
        };
        self.outcome = Some(outcome);
    }

    fn step(&mut self, n: u64, errors: &mut Vec<String>) {
        let exit = self.call(n, errors);
        self.outcome = Some(self.outcome_of(exit, errors));
    }

    fn check(&self, token: &str) -> Result<(), String> {
        let vm = &self.vm;
        let outcome = self
            .outcome
            .as_ref()
            .ok_or("expect before any run or step")?;
        // Outcomes.
        let expected_outcome = if token == "RUNNING" {
            Some(Outcome::Running)
        } else if let Some(n) = token
            .strip_prefix("EXITED(")
            .and_then(|t| t.strip_suffix(')'))
        {
            Some(Outcome::Exited(num32(n)?))
        } else if let Some(name) = token
            .strip_prefix("FAULTED(")
            .and_then(|t| t.strip_suffix(')'))
        {
            let fault = Fault::ALL
                .into_iter()
                .find(|f| f.name() == name)
                .ok_or_else(|| format!("unknown fault name {name:?}"))?;
            Some(Outcome::Faulted(fault.name()))
        } else if let Some(inner) = token
            .strip_prefix("PAUSED(brk ")
            .and_then(|t| t.strip_suffix(')'))
        {
            let (code, pc) = inner
                .split_once('@')
                .ok_or_else(|| format!("bad PAUSED token {token:?}"))?;
            Some(Outcome::Paused {
                code: num32(code)?,
                pc: num32(pc)?,
            })
        } else {
            None
        };
        if let Some(expected) = expected_outcome {
            return if *outcome == expected {
                Ok(())
            } else {
                Err(format!("expected {expected}, got {outcome}"))
            };
        }
        let (key, value) = token
            .split_once('=')
            .ok_or_else(|| format!("bad expectation {token:?}"))?;
        if let Some(addr) = key.strip_prefix("bytes[").and_then(|k| k.strip_suffix(']')) {
            let addr = num32(addr)? as usize;
            let want: Vec<u8> = value
                .trim_start_matches('(')
                .trim_end_matches(')')
                .split_whitespace()
                .map(|b| u8::from_str_radix(b, 16).map_err(|e| format!("bad byte {b:?}: {e}")))
                .collect::<Result<_, _>>()?;
            let got = vm
                .window()
                .get(addr..addr + want.len())
                .ok_or_else(|| format!("{key} outside the window"))?;
            return if got == want.as_slice() {
                Ok(())
            } else {
                Err(format!("{key}: expected {want:02X?}, got {got:02X?}"))
            };
        }
        let want = num32(value)? as u64;
        let got: u64 = match key {
            "PSW" => vm.ctx.psw as u64,
            "PC" => vm.ctx.pc as u64,
            "SP" => vm.ctx.sp as u64,
            "depth" => vm.ctx.call_depth as u64,
            "steps" => vm.ctx.steps,
            k if k.starts_with('R') => vm.regs()[reg(k)?] as u64,
            k => {
                let (width, addr) = k
                    .strip_suffix(']')
                    .and_then(|k| k.split_once('['))
                    .ok_or_else(|| format!("unknown expectation key {k:?}"))?;
                let width = match width {
                    "mem8" => 1,
                    "mem16" => 2,
                    "mem32" => 4,
                    _ => return Err(format!("unknown expectation key {k:?}")),
                };
                let addr = num32(addr)? as usize;
                let bytes = vm
                    .window()
                    .get(addr..addr + width)
                    .ok_or_else(|| format!("{k} outside the window"))?;
                bytes
                    .iter()
                    .rev()
                    .fold(0u64, |acc, &b| (acc << 8) | b as u64)
            }
        };
        if got == want {
            Ok(())
        } else {
            Err(format!(
                "{key}: expected 0x{want:X} ({want}), got 0x{got:X} ({got})"
            ))
        }
    }
}

/// Run one case; returns its failures (empty = pass).
fn run_case(case: &Case) -> Vec<String> {
    let mut failures = Vec::new();
    let tag = |line: usize| format!("row {} (case {}, cases.txt:{line})", case.row, case.id);
    let (mut runner, code) = match Runner::new(case) {
        Ok(r) => r,
        Err(e) => return vec![format!("{}: {e}", tag(case.line))],
    };
    for (addr, words) in &case.code {
        let start = (*addr / 4) as usize;
        let got = code.get(start..start + words.len());
        if got != Some(words.as_slice()) {
            failures.push(format!(
                "{}: code at 0x{addr:X}: expected {:08X?}, got {:08X?}",
                tag(case.line),
                words,
                got.unwrap_or(&[])
            ));
        }
    }
    if case.directives.is_empty() {
        failures.push(format!("{}: no run/step directive", tag(case.line)));
    }
    for (line, directive) in &case.directives {
        let mut errors = Vec::new();
        match directive {
            Directive::Run => runner.run(&mut errors),
            Directive::Step(n) => runner.step(*n, &mut errors),
            Directive::Expect(tokens) => {
                if tokens.is_empty() {
                    errors.push("empty expect".into());
                }
                for t in tokens {
                    if let Err(e) = runner.check(t) {
                        errors.push(e);
                    }
                }
            }
        }
        for e in errors {
            failures.push(format!("{}: {e}", tag(*line)));
        }
    }
    failures
}

#[test]
fn isa_section_10_conformance_cases() {
    let cases = parse_cases(CASES).unwrap_or_else(|e| panic!("{e}"));
    let rows: BTreeSet<u32> = cases.iter().map(|c| c.row).collect();
    let missing: Vec<u32> = (1..=64).filter(|r| !rows.contains(r)).collect();
    assert!(
        missing.is_empty(),
        "rows missing from cases.txt: {missing:?}"
    );
    assert!(
        rows.iter().all(|r| (1..=64).contains(r)),
        "unknown rows: {rows:?}"
    );
    let mut ids = BTreeSet::new();
    for c in &cases {
        assert!(ids.insert(c.id.clone()), "duplicate case id {}", c.id);
    }

    let mut report = String::new();
    let mut failed = 0;
    for case in &cases {
        let failures = run_case(case);
        if !failures.is_empty() {
            failed += 1;
            for f in failures {
                writeln!(report, "{f}").unwrap();
            }
        }
    }
    assert!(
        failed == 0,
        "{failed} of {} conformance cases failed:\n{report}",
        cases.len()
    );
}

/// The harness itself must be able to fail: wrong expectations are reported with the row.
#[test]
fn harness_reports_wrong_expectations_with_the_row() {
    let text = "case 13\n\
                asm LDI R1,-1 / LDI R2,1 / ADD R3,R1,R2 / BRK\n\
                code 01100FFF 01200001 10312000 7F000001\n\
                run\n\
                expect PAUSED(brk 1@0xC) EXITED(0) R3=1 PSW=0x2 PC=0xC steps=3 mem8[0x10]=1 bytes[0]=(01)\n";
    let cases = parse_cases(text).unwrap();
    let failures = run_case(&cases[0]);
    // The code word for BRK differs, and each of the 8 expectations is wrong.
    assert_eq!(failures.len(), 9, "{failures:#?}");
    assert!(failures.iter().all(|f| f.starts_with("row 13 (case 13,")));
}

#[test]
fn format_errors_are_reported() {
    assert!(parse_cases("asm RET\n").is_err());
    assert!(parse_cases("case x\n").is_err());
    assert!(parse_cases("case 1\nfrobnicate\n").is_err());
    assert!(parse_cases("case 1\ninit R16=1\n").is_err());
}
