//! Mailbox ping-pong: two tasks exchange a 32-byte message through two single-reader
//! mailboxes with blocking RECV (`mailbox.md`; target ≥ 5 million messages per
//! second). Every message is one SEND, one blocking RECV, one wake-up (the payload is
//! copied straight into the blocked receiver's buffer) and one context switch.
//!
//! `cargo bench -p hsx-exec --bench mailbox`. Criterion reports messages per second
//! through its element throughput; events are drained after every step call, as a host
//! does.

mod ping_pong;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use hsx_exec::{ClockMode, Config, Executive, SpawnOptions};
use ping_pong::{image, setup};

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
