//! Interpreter throughput on the two programs of BENCHMARKS.md: the counting loop
//! (`ADD; SUB; JNZ`) and naive recursive fibonacci (CALL/RET/PUSH/POP).
//!
//! `cargo bench -p hsx-vm --bench interpreter`. Criterion reports time per iteration
//! (loop) and per call (fib) through its element throughput.

mod programs;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use hsx_vm::{BareVm, Exit};
use programs::{counting_loop, fibonacci};

/// Calls made by fib(n): 2 * fib(n + 1) - 1, plus the call from main.
fn fib_calls(n: u32) -> u64 {
    let (mut a, mut b) = (0u64, 1u64);
    for _ in 0..=n {
        (a, b) = (b, a + b);
    }
    2 * a - 1
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("interpreter");
    group.sample_size(20);

    const LOOP_N: u32 = 1_000_000;
    let program = counting_loop(LOOP_N);
    group.throughput(Throughput::Elements(LOOP_N as u64));
    group.bench_function("counting_loop_1e6_iterations", |b| {
        b.iter(|| {
            let mut vm = BareVm::new(program.clone(), 0);
            let exit = vm.run_to_stop(u64::MAX);
            assert_eq!(exit, Exit::Exit { status: 0 });
            vm.ctx.steps
        })
    });

    const FIB_N: u32 = 25;
    let program = fibonacci(FIB_N as i32);
    group.throughput(Throughput::Elements(fib_calls(FIB_N)));
    group.bench_function("fib25_per_call", |b| {
        b.iter(|| {
            let mut vm = BareVm::new(program.clone(), 0);
            let exit = vm.run_to_stop(u64::MAX);
            assert_eq!(exit, Exit::Exit { status: 75025 });
            vm.ctx.steps
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
