//! Scheduler benchmarks (BENCHMARKS.md): single-task throughput, round robin with
//! quantum 1 (a context switch after every instruction) for 2..10,000 tasks, and
//! spawn + exit + reap of a small image.
//!
//! `cargo bench -p hsx-exec --bench scheduler`

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use hsx_exec::{ClockMode, Config, Executive, SpawnOptions, Stop};

fn image(source: &str) -> Vec<u8> {
    hsx_asm::assemble_source_to_hxe("bench", source, &hsx_asm::AsmOptions::default(), "bench")
        .expect("bench program assembles")
}

/// Three instructions per iteration, forever.
const LOOP: &str = ".text\n LDI R3, 1\nloop:\n ADD R2, R2, R1\n SUB R1, R1, R3\n JMP loop\n";

fn executive(ram: u32) -> Executive {
    Executive::new(Config {
        clock: ClockMode::Virtual,
        ram_bytes: Some(ram),
        // Up to 10,000 live tasks: 4 mailbox descriptors each (`mailbox.md` §5).
        mailbox_limits: Some(hsx_exec::mailbox::Limits {
            max_descriptors: 0xFFFF,
            ..hsx_exec::mailbox::Limits::HOST
        }),
        ..Config::default()
    })
}

fn bench(c: &mut Criterion) {
    const STEPS: u64 = 1_000_000;
    let bytes = image(LOOP);
    let mut group = c.benchmark_group("scheduler");
    group.sample_size(20);
    group.throughput(Throughput::Elements(STEPS));

    let mut exec = executive(64 << 20);
    exec.spawn_bytes(&bytes, SpawnOptions::default()).unwrap();
    group.bench_function("single_task_steps", |b| {
        b.iter(|| assert_eq!(exec.step(STEPS).executed, STEPS))
    });

    for tasks in [2u32, 10, 100, 1_000, 10_000] {
        // Default 64 KiB windows: 10,000 tasks need about 640 MiB of VM RAM.
        let mut exec = executive(1 << 30);
        for _ in 0..tasks {
            exec.spawn_bytes(&bytes, SpawnOptions::default()).unwrap();
        }
        group.bench_with_input(
            BenchmarkId::new("round_robin_quantum1_steps", tasks),
            &tasks,
            |b, _| b.iter(|| assert_eq!(exec.step(STEPS).executed, STEPS)),
        );
    }
    group.finish();

    let mut group = c.benchmark_group("lifecycle");
    group.sample_size(20);
    const SPAWNS: u64 = 10_000;
    group.throughput(Throughput::Elements(SPAWNS));
    let mut exec = executive(64 << 20);
    let tiny = exec
        .load_image(&image(".text\n LDI R0, 1\n RET\n"))
        .unwrap();
    group.bench_function("spawn_exit_reap", |b| {
        b.iter(|| {
            for _ in 0..SPAWNS {
                let pid = exec.spawn(tiny.clone(), SpawnOptions::default()).unwrap();
                assert_eq!(exec.step(10).stop, Stop::AllTerminal);
                exec.kill(pid).unwrap();
            }
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
