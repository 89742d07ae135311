//! Mailbox ping-pong: two tasks exchange a 32-byte message through two single-reader
//! mailboxes with blocking RECV (`mailbox.md`; target ≥ 5 million messages per
//! second). Every message is one SEND, one blocking RECV, one wake-up (the payload is
//! copied straight into the blocked receiver's buffer) and one context switch.
//!
//! `cargo bench -p hsx-exec --bench mailbox`. Criterion reports messages per second
//! through its element throughput; events are drained after every step call, as a host
//! does.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use hsx_exec::{ClockMode, Config, Executive, SpawnOptions};

/// Sends on `out`, then blocks in RECV on `inp`, forever. `first` decides who starts.
fn player(out: &str, inp: &str, first: bool) -> String {
    let start = if first { "send" } else { "recv" };
    format!(
        ".data
out_name: .asciz \"{out}\"
in_name:  .asciz \"{inp}\"
.text
.entry main
main:
    LDI32 R1, out_name
    LDI   R2, 0
    SVC   0x05, 0x00            ; OPEN out -> R1
    MOV   R8, R1
    LDI32 R1, in_name
    LDI   R2, 0
    SVC   0x05, 0x00            ; OPEN in -> R1
    MOV   R9, R1
    LDI32 R10, 0x1000           ; 32-byte buffer
    LDI   R11, 32
    LDI32 R12, 0xFFFF           ; infinite timeout
    LDI   R13, 0
    JMP   {start}
send:
    MOV   R1, R8
    MOV   R2, R10
    MOV   R3, R11
    MOV   R4, R13
    MOV   R5, R13
    SVC   0x05, 0x02            ; SEND 32 bytes
recv:
    MOV   R1, R9
    MOV   R2, R10
    MOV   R3, R11
    MOV   R4, R12
    MOV   R5, R13
    SVC   0x05, 0x03            ; RECV, blocks until the peer sends
    JMP   send
"
    )
}

fn image(name: &str, source: &str) -> Vec<u8> {
    hsx_asm::assemble_source_to_hxe(name, source, &hsx_asm::AsmOptions::default(), name)
        .expect("assembles")
}

/// Both tasks at one priority with `quantum` steps per turn.
fn setup(quantum: u32) -> Executive {
    let mut exec = Executive::new(Config {
        clock: ClockMode::Virtual,
        ..Config::default()
    });
    for (name, src) in [
        ("ping", player("app:ping", "app:pong", true)),
        ("pong", player("app:pong", "app:ping", false)),
    ] {
        exec.spawn_bytes(
            &image(name, &src),
            SpawnOptions {
                program: name.into(),
                quantum: Some(quantum),
                ..SpawnOptions::default()
            },
        )
        .expect("spawn");
    }
    exec.step(10_000);
    exec.drain_events().for_each(drop);
    exec
}

fn messages(exec: &Executive) -> u64 {
    let snap = exec.mailbox_snapshot();
    ["app:ping", "app:pong"]
        .iter()
        .map(|t| u64::from(snap.by_target(t).expect("mailbox").next_seq))
        .sum()
}

fn bench(c: &mut Criterion) {
    const STEPS: u64 = 1 << 16;
    let mut group = c.benchmark_group("mailbox");
    // A quantum longer than a loop iteration: each task runs until its RECV blocks, so
    // the exchange is driven by the mailboxes alone (the figure the target is about).
    // Quantum 1 (the default): the two tasks also alternate after every instruction
    // while both are runnable, which adds a scheduler turn per instruction.
    // Mailbox events are off as in `hsx run`; `_events` keeps them on (a server).
    for (label, quantum, events) in [
        ("ping_pong_32B_blocking_recv", 1_000, false),
        ("ping_pong_32B_blocking_recv_events", 1_000, true),
        ("ping_pong_32B_quantum_1", 1, false),
    ] {
        // The exchange is deterministic: count the messages STEPS instructions carry.
        let mut exec = setup(quantum);
        exec.set_mailbox_events(events);
        let before = messages(&exec);
        exec.step(STEPS);
        exec.drain_events().for_each(drop);
        let per_call = messages(&exec) - before;
        assert!(per_call > 0, "the tasks exchange messages");
        group.throughput(Throughput::Elements(per_call));
        group.bench_function(label, |b| {
            b.iter(|| {
                exec.step(STEPS);
                exec.drain_events().for_each(drop);
            })
        });
    }
    // Floor: one task looping on EXEC GETPID, the cheapest system call (no mailbox,
    // no block, no switch). Two of these per message bound any message rate.
    let mut exec = Executive::new(Config {
        clock: ClockMode::Virtual,
        ..Config::default()
    });
    let spin = ".text\n.entry main\nmain:\n    SVC 0x06, 0x02\n    JMP main\n";
    exec.spawn_bytes(&image("spin", spin), SpawnOptions::default())
        .expect("spawn");
    group.throughput(Throughput::Elements(STEPS / 2));
    group.bench_function("baseline_svc_getpid", |b| {
        b.iter(|| {
            exec.step(STEPS);
            exec.drain_events().for_each(drop);
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
