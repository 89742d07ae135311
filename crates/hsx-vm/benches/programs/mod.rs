//! The benchmark programs of BENCHMARKS.md as code words, shared by the criterion benches
//! (`benches/interpreter.rs`, `benches/ring.rs`) and the probes (`examples/spin.rs`,
//! `examples/ring.rs`); each of them uses some of the programs.
#![allow(dead_code)]

use hsx_isa::{Opcode, encode};
use hsx_vm::{Context, Layout, Member, Program};

/// `R1 = n; loop: ADD R2,R2,R1; SUB R1,R1,R3; JNZ loop; RET`.
pub fn counting_loop(n: u32) -> Program {
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
pub fn fibonacci(n: i32) -> Program {
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

/// The instruction mixes of the round-robin benchmarks (BENCHMARKS.md §2), by name:
/// `loop` (ADD; SUB; JMP), `mov` (MOV; JMP), `alu` (five ALU ops; JMP), `ldst` (ST; LD;
/// ADD; CMP; JNZ), `count` ([`counting_loop`] without end) and `fib` (fib(40)). All run
/// far longer than a benchmark's steps.
pub fn mix(name: &str) -> Option<Program> {
    Some(match name {
        "loop" => Program::from_words(&[
            encode::ldi(3, 1),
            encode::rrr(Opcode::Add, 2, 2, 1),
            encode::rrr(Opcode::Sub, 1, 1, 3),
            encode::jump(Opcode::Jmp, 4),
        ]),
        "mov" => Program::from_words(&[
            encode::ldi(3, 1),
            encode::rr(Opcode::Mov, 5, 6),
            encode::jump(Opcode::Jmp, 4),
        ]),
        "alu" => Program::from_words(&[
            encode::ldi(3, 1),
            encode::rrr(Opcode::Add, 2, 2, 1),
            encode::rr(Opcode::Mov, 5, 2),
            encode::rrr(Opcode::Sub, 1, 1, 3),
            encode::rrr(Opcode::And, 6, 5, 3),
            encode::rrr(Opcode::Xor, 7, 7, 5),
            encode::jump(Opcode::Jmp, 4),
        ]),
        "ldst" => Program::from_words(&[
            encode::ldi(3, 1),
            encode::store(Opcode::St, 4, 0x10, 2),
            encode::load(Opcode::Ld, 5, 4, 0x10),
            encode::rrr(Opcode::Add, 2, 2, 5),
            encode::rrr(Opcode::Cmp, 0, 2, 3),
            encode::jump(Opcode::Jnz, 4),
            encode::jump(Opcode::Jmp, 4),
        ]),
        "count" => counting_loop(u32::MAX),
        "fib" => fibonacci(40),
        _ => return None,
    })
}

/// VM RAM and the records of `k` quantum-1 ring members (see [`members`]): banks first,
/// then 4 KiB windows, each a cache line further into its page than the one before:
/// windows 4 KiB apart put every member's data at the same page offset, and the host
/// then holds a load back until an earlier store of another member to the same offset
/// is done (4K aliasing; it took `ldst` with 4 contexts from 47 % to 31 % of one
/// context's throughput).
pub fn ring(k: u32) -> (Vec<u32>, Vec<Context>) {
    const WINDOW: u32 = 0x1000;
    const STRIDE: u32 = WINDOW + 0x40;
    let windows = 0x100 + 64 * k;
    let ram = vec![0u32; ((windows + STRIDE * k) / 4) as usize];
    let records = (0..k)
        .map(|j| {
            let layout = Layout {
                reg_base: 0x100 + 64 * j,
                window_base: windows + STRIDE * j,
                window_size: WINDOW,
                stack_top: WINDOW,
                stack_limit: WINDOW / 2,
            };
            Context::new(0, layout)
        })
        .collect();
    (ram, records)
}

/// Quantum-1 ring members running `program` from `records`.
pub fn members<'a>(
    records: &'a mut [Context],
    program: &'a Program,
) -> Vec<Member<'a, &'a Program>> {
    records
        .iter_mut()
        .map(|ctx| Member::new(ctx, 1, program))
        .collect()
}
