//! Interpreter throughput on the two programs of BENCHMARKS.md: the counting loop
//! (`ADD; SUB; JNZ`) and naive recursive fibonacci (CALL/RET/PUSH/POP).
//!
//! `cargo bench -p hsx-vm --bench interpreter`. Criterion reports time per iteration
//! (loop) and per call (fib) through its element throughput.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use hsx_isa::{Opcode, encode};
use hsx_vm::{BareVm, Exit, Program};

/// `R1 = n; loop: ADD R2,R2,R1; SUB R1,R1,R3; JNZ loop; RET`.
fn counting_loop(n: u32) -> Program {
    Program::from_words(&[
        encode::ldi32(1),
        n,
        encode::ldi(2, 0),
        encode::ldi(3, 1),
        encode::rrr(Opcode::Add, 2, 2, 1), // 0x10
        encode::rrr(Opcode::Sub, 1, 1, 3),
        encode::jump(Opcode::Jnz, 0x10),
        encode::ret(),
    ])
}

/// Recursive fib(n) with the calling convention of examples/bench/fib.mvasm.
fn fibonacci(n: i32) -> Program {
    Program::from_words(&[
        encode::ldi(1, n),                 // 0x00 main: R1 = n
        encode::ldi(4, -2),                // 0x04 R4 = !1 (mask for n < 2)
        encode::ldi(6, 1),                 // 0x08
        encode::ldi(7, 2),                 // 0x0C
        encode::call(0, 2),                // 0x10 CALL fib (0x18)
        encode::ret(),                     // 0x14 exit with R0 = fib(n)
        encode::rrr(Opcode::And, 5, 1, 4), // 0x18 fib: Z iff n < 2
        encode::jump(Opcode::Jnz, 0x28),   // 0x1C
        encode::rr(Opcode::Mov, 0, 1),     // 0x20 fib(0|1) = n
        encode::ret(),                     // 0x24
        encode::push(1),                   // 0x28 recurse: save n
        encode::rrr(Opcode::Sub, 1, 1, 6), // 0x2C n - 1
        encode::call(0, -6),               // 0x30 CALL fib (0x18)
        encode::pop(1),                    // 0x34
        encode::push(0),                   // 0x38 save fib(n - 1)
        encode::rrr(Opcode::Sub, 1, 1, 7), // 0x3C n - 2
        encode::call(0, -10),              // 0x40 CALL fib (0x18)
        encode::pop(2),                    // 0x44
        encode::rrr(Opcode::Add, 0, 0, 2), // 0x48
        encode::ret(),                     // 0x4C
    ])
}

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
