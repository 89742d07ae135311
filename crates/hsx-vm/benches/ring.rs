//! Round robin at quantum 1 straight on `run_ring` (no executive), per instruction mix:
//! one context through `run`, then 2, 10 and 1,000 contexts switching after every
//! instruction (BENCHMARKS.md §2). `cargo bench -p hsx-vm --bench ring`.

mod programs;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use hsx_vm::Exit;

const STEPS: u64 = 1_000_000;
fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("ring_quantum1");
    group.sample_size(20);
    group.throughput(Throughput::Elements(STEPS));
    for name in ["loop", "mov", "ldst", "fib"] {
        let program = programs::mix(name).expect("a known mix");
        let (mut ram, mut records) = programs::ring(1);
        group.bench_function(BenchmarkId::new(name, "single"), |b| {
            b.iter(|| {
                let r = hsx_vm::run(&mut records[0], &mut ram, &program, STEPS);
                assert_eq!((r.exit, r.retired), (Exit::Budget, STEPS));
            })
        });
        for k in [2u32, 10, 1_000] {
            let (mut ram, mut records) = programs::ring(k);
            let mut members = programs::members(&mut records, &program);
            let mut log = vec![0u32; 1024];
            group.bench_function(BenchmarkId::new(name, k), |b| {
                b.iter(|| {
                    let r = hsx_vm::run_ring(&mut members, &mut ram, 0, 0, STEPS, &mut log);
                    assert_eq!((r.exit, r.retired), (Exit::Budget, STEPS));
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
