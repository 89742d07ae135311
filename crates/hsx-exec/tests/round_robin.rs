//! Round robin inside the VM core (`src/round_robin.rs`) must be invisible: an executive
//! stepped with large budgets (levels handed to the core) ends in exactly the state of
//! one stepped an instruction at a time (every turn scheduled by the executive): same
//! task records, registers, states, counters, scheduler trace and events.

mod common;

use common::{asm, executive};
use hsx_exec::{Executive, SpawnOptions, Stop};

/// CMP/JNZ flags live across switches, CALL/RET move SP and the call depth.
const SPINNER: &str = "
.text
.entry start
start:
    LDI R3, 1
    LDI R4, 7
loop:
    ADD R2, R2, R3
    CMP R2, R4
    JNZ skip
    LDI R2, 0
    CALL bump
skip:
    SUB R1, R1, R3
    JMP loop
bump:
    ADD R5, R5, R3
    RET
";

/// Every 25 iterations reads GET_STEPS and yields; exits with 3 after 300 iterations.
const YIELDER: &str = "
.text
.entry start
start:
    LDI R3, 1
    LDI R4, 25
    LDI32 R8, 300
loop:
    ADD R1, R1, R3
    ADD R7, R7, R3
    CMP R1, R4
    JNZ loop
    LDI R1, 0
    SVC 0x00, 0x00          ; GET_STEPS
    MOV R6, R0
    SVC 0x06, 0x01          ; YIELD
    CMP R7, R8
    JNZ loop
    LDI R0, 3
    SVC 0x01, 0x00          ; EXIT
";

/// Counts down from 150, then divides by zero.
const FAULTER: &str = "
.text
.entry start
start:
    LDI R1, 150
    LDI R3, 1
loop:
    SUB R1, R1, R3
    JNZ loop
    DIV R2, R3, R1
";

/// Runs 40 iterations, sleeps 5 ms, three times, then returns 1.
const SLEEPER: &str = "
.text
.entry start
start:
    LDI R3, 1
    LDI R4, 3
outer:
    LDI R1, 40
inner:
    SUB R1, R1, R3
    JNZ inner
    LDI R0, 5
    SVC 0x06, 0x00          ; SLEEP_MS
    SUB R4, R4, R3
    JNZ outer
    LDI R0, 1
    RET
";

/// (source, quantum, priority) per task.
type Cast = &'static [(&'static str, u32, u8)];

const CASTS: &[(&str, Cast)] = &[
    ("two spinners", &[(SPINNER, 1, 10), (SPINNER, 1, 10)]),
    (
        "mixed quanta",
        &[(SPINNER, 1, 10), (SPINNER, 3, 10), (YIELDER, 2, 10)],
    ),
    (
        "stops of every kind",
        &[
            (YIELDER, 1, 10),
            (FAULTER, 1, 10),
            (SPINNER, 2, 10),
            (SLEEPER, 1, 10),
            (YIELDER, 4, 10),
        ],
    ),
    (
        "levels",
        &[
            (SLEEPER, 1, 5),
            (SLEEPER, 2, 5),
            (FAULTER, 1, 5),
            (SPINNER, 1, 20),
            (SPINNER, 1, 20),
        ],
    ),
    // Quantum 1 everywhere: rings of three, four, six and nine lanes (see hsx-vm
    // `lanes.rs`: two to four run unrolled rounds, more run blocks of four and then the
    // lanes left over).
    (
        "quantum one, three",
        &[(YIELDER, 1, 10), (SPINNER, 1, 10), (FAULTER, 1, 10)],
    ),
    (
        "quantum one, four",
        &[
            (SPINNER, 1, 10),
            (SLEEPER, 1, 10),
            (YIELDER, 1, 10),
            (SPINNER, 1, 10),
        ],
    ),
    (
        "quantum one, six",
        &[
            (SPINNER, 1, 10),
            (FAULTER, 1, 10),
            (SPINNER, 1, 10),
            (YIELDER, 1, 10),
            (SLEEPER, 1, 10),
            (SPINNER, 1, 10),
        ],
    ),
    (
        "quantum one, nine",
        &[
            (SPINNER, 1, 10),
            (SPINNER, 1, 10),
            (YIELDER, 1, 10),
            (SPINNER, 1, 10),
            (SPINNER, 1, 10),
            (FAULTER, 1, 10),
            (SPINNER, 1, 10),
            (SLEEPER, 1, 10),
            (SPINNER, 1, 10),
        ],
    ),
    (
        "all end",
        &[(YIELDER, 1, 10), (SLEEPER, 1, 10), (FAULTER, 3, 10)],
    ),
];

fn start(cast: Cast) -> Executive {
    let mut exec = executive();
    for (n, &(source, quantum, priority)) in cast.iter().enumerate() {
        exec.spawn_bytes(
            &asm(&format!("t{n}"), source),
            SpawnOptions {
                program: format!("t{n}"),
                quantum: Some(quantum),
                priority: Some(priority),
                ..SpawnOptions::default()
            },
        )
        .expect("spawns");
    }
    exec
}

/// Retire up to `total` instructions in calls of `chunk`; returns how many retired.
fn drive(exec: &mut Executive, total: u64, chunk: u64) -> u64 {
    let mut done = 0;
    while done < total {
        let out = exec.step(chunk.min(total - done));
        done += out.executed;
        if out.stop != Stop::Budget {
            // Idle with a deadline on the virtual clock is handled inside `step`; any
            // other stop ends the run.
            break;
        }
    }
    done
}

/// Everything observable about an executive, as text.
fn observe(exec: &mut Executive) -> String {
    let mut out = String::new();
    for t in exec.tasks() {
        let regs = exec.registers(t.pid).expect("live task");
        out += &format!(
            "pid {} {:?} ctx {:?} turn_left {} counters {:?} wait {:?} end {:?}\n  regs {regs:08X?}\n",
            t.pid, t.state, t.ctx, t.turn_left, t.counters, t.wait, t.termination
        );
    }
    let c = exec.counters();
    out += &format!(
        "switches {} steps {} spawned {} reaped {} now {}\n",
        c.switches,
        c.steps,
        c.spawned,
        c.reaped,
        exec.now_ms()
    );
    for e in exec.trace().entries() {
        out += &format!("{e:?}\n");
    }
    for e in exec.drain_events() {
        out += &format!("{e:?}\n");
    }
    out
}

#[test]
fn a_level_run_in_the_core_ends_exactly_where_turn_by_turn_scheduling_does() {
    for &(name, cast) in CASTS {
        for total in [1_000u64, 5_000, 20_011] {
            let mut reference = start(cast);
            let reference_done = drive(&mut reference, total, 1);
            assert_eq!(reference.counters().core_runs, 0);
            let expected = observe(&mut reference);
            for chunk in [total, 97, 4_096] {
                let mut exec = start(cast);
                let done = drive(&mut exec, total, chunk);
                assert_eq!(done, reference_done, "{name}: {total} in chunks of {chunk}");
                let got = observe(&mut exec);
                if got != expected {
                    let line = got
                        .lines()
                        .zip(expected.lines())
                        .position(|(a, b)| a != b)
                        .unwrap_or(0);
                    panic!(
                        "{name}: {total} steps in chunks of {chunk} differ from single steps \
                         at line {line}:\n  got:  {}\n  want: {}",
                        got.lines().nth(line).unwrap_or(""),
                        expected.lines().nth(line).unwrap_or("")
                    );
                }
                if chunk == total && total >= 5_000 {
                    assert!(
                        exec.counters().core_runs > 0,
                        "{name}: the core never ran a level"
                    );
                }
            }
        }
    }
}
