//! SENDs are serviced inside the VM run (the executive's supervisor) unless SVC events
//! are on, when every call traps. Both paths must schedule identically: same trace
//! records, same `task_state` events, same registers and counters, for senders that
//! wake receivers of a higher, the same and a lower priority, alone at their level or
//! not, with small and large quanta.

mod common;

use common::{executive, spawn};
use hsx_exec::{Config, Event, Executive, SpawnOptions};

/// Sends `count` messages of 8 bytes on `out` (then spins), or, with `count` 0, receives
/// on `inp` forever (blocking) and counts in R7. `work` ADDs after each call.
fn program(out: &str, inp: &str, count: u32, work: u32) -> String {
    let pad = "    ADD R6, R6, R13\n".repeat(work as usize);
    let body = if count > 0 {
        format!(
            "    LDI32 R7, {count}
send:
    MOV   R1, R8
    MOV   R2, R10
    LDI   R3, 8
    LDI   R4, 0
    LDI   R5, 0
    SVC   0x05, 0x02
{pad}    SUB   R7, R7, R13
    JNZ   send
spin:
    ADD   R6, R6, R13
    JMP   spin
"
        )
    } else {
        format!(
            "recv:
    MOV   R1, R9
    MOV   R2, R10
    LDI   R3, 32
    LDI32 R4, 0xFFFF
    LDI   R5, 0
    SVC   0x05, 0x03
    ADD   R7, R7, R13
{pad}    JMP   recv
"
        )
    };
    format!(
        ".data
out_name: .asciz \"{out}\"
in_name:  .asciz \"{inp}\"
.text
.entry main
main:
    LDI   R13, 1
    LDI32 R1, out_name
    LDI   R2, 0
    SVC   0x05, 0x00
    MOV   R8, R1
    LDI32 R1, in_name
    LDI   R2, 0
    SVC   0x05, 0x00
    MOV   R9, R1
    LDI32 R10, 0x1000
{body}"
    )
}

/// Everything scheduling decides, as seen from outside, and the number of calls
/// serviced inside VM runs.
type Observed = (
    Vec<(u64, u32, String, u32)>,
    Vec<String>,
    Vec<(u32, Option<[u32; 16]>, String)>,
    u64,
);

/// Spawn `tasks` (source, priority, quantum), step in chunks of `chunk` up to `total`.
fn observe(svc_events: bool, tasks: &[(String, u8, u32)], chunk: u64, total: u64) -> Observed {
    let mut exec = Executive::new(Config {
        svc_events,
        ..executive().config().clone()
    });
    for (i, (src, priority, quantum)) in tasks.iter().enumerate() {
        spawn(
            &mut exec,
            &format!("t{i}"),
            src,
            SpawnOptions {
                priority: Some(*priority),
                quantum: Some(*quantum),
                ..SpawnOptions::default()
            },
        );
    }
    let mut states = Vec::new();
    let mut done = 0;
    while done < total {
        let out = exec.step(chunk.min(total - done));
        done += out.executed;
        for e in exec.drain_events() {
            if let Event::TaskState { .. } = e {
                states.push(format!("{e:?}"));
            }
        }
        if out.executed == 0 {
            break;
        }
    }
    let trace = exec
        .trace()
        .entries()
        .map(|e| (e.seq, e.pid, e.event.name().to_string(), e.pc))
        .collect();
    let tasks = exec
        .tasks()
        .map(|t| {
            (
                t.pid,
                exec.registers(t.pid),
                format!("{:?} {:?} {:?}", t.state, t.counters, t.ctx),
            )
        })
        .collect();
    (trace, states, tasks, exec.counters().calls_in_run)
}

fn same_both_ways(tasks: &[(String, u8, u32)]) {
    for (chunk, total) in [(1, 400), (7, 3000), (1000, 20_000), (u64::MAX, 20_000)] {
        let trapped = observe(true, tasks, chunk, total);
        let in_run = observe(false, tasks, chunk, total);
        // Only the second run serviced SENDs in the VM run.
        assert_eq!(trapped.3, 0, "chunk {chunk}");
        assert!(in_run.3 > 0, "no SEND was serviced in a run, chunk {chunk}");
        assert_eq!(in_run.0, trapped.0, "trace, chunk {chunk}");
        assert_eq!(in_run.1, trapped.1, "task_state events, chunk {chunk}");
        assert_eq!(in_run.2, trapped.2, "tasks, chunk {chunk}");
    }
}

#[test]
fn ping_pong_at_one_level() {
    for quantum in [1, 2, 3, 5, 1000] {
        for work in [0, 3] {
            same_both_ways(&[
                (program("app:a", "app:b", 0, work), 10, quantum),
                (program("app:b", "app:a", 0, work), 10, quantum),
                (program("app:a", "app:c", 400, work), 10, quantum),
            ]);
        }
    }
}

#[test]
fn a_woken_task_of_a_higher_priority_preempts_the_sender() {
    for quantum in [1, 4, 1000] {
        same_both_ways(&[
            (program("app:x", "app:hi", 0, 2), 5, quantum),
            (program("app:hi", "app:y", 300, 1), 20, quantum),
        ]);
    }
}

#[test]
fn a_sender_alone_at_its_level_keeps_its_quantum_once_a_peer_wakes() {
    for quantum in [1, 2, 3, 7, 1000] {
        same_both_ways(&[
            (program("app:x", "app:peer", 0, 5), 10, quantum),
            (program("app:peer", "app:y", 500, 2), 10, quantum),
            (program("app:x", "app:lo", 0, 0), 30, quantum),
            (program("app:lo", "app:z", 200, 0), 30, quantum),
        ]);
    }
}
