//! The two benchmark programs of BENCHMARKS.md as code words, shared by the criterion
//! bench (`benches/interpreter.rs`) and the profiling probe (`examples/spin.rs`).

use hsx_isa::{Opcode, encode};
use hsx_vm::Program;

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
