//! Timing probe for the two benchmark programs, sized by the command line:
//! `spin loop N` (counting loop, N iterations) or `spin fib N` (recursive fib(N)).
//! The criterion benches are the reference numbers; this probe exists for profilers
//! (`valgrind --tool=callgrind`) that want one plain run.
use hsx_isa::{Opcode, encode};
use hsx_vm::{BareVm, Program};

fn main() {
    let mut args = std::env::args().skip(1);
    let which = args.next().unwrap_or_else(|| "loop".into());
    let n: u32 = args
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100_000_000);
    let words: Vec<u32> = match which.as_str() {
        "fib" => vec![
            encode::ldi(1, n as i32),          // 0x00 main: R1 = n
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
        ],
        _ => vec![
            encode::ldi32(1),
            n,
            encode::ldi(2, 0),
            encode::ldi(3, 1),
            encode::rrr(Opcode::Add, 2, 2, 1),
            encode::rrr(Opcode::Sub, 1, 1, 3),
            encode::jump(Opcode::Jnz, 0x10),
            encode::ret(),
        ],
    };
    let mut vm = BareVm::new(Program::from_words(&words), 0);
    let t = std::time::Instant::now();
    let exit = vm.run_to_stop(u64::MAX);
    let s = t.elapsed().as_secs_f64();
    println!("{which} {n}: {exit:?} steps={} in {s:.3} s", vm.ctx.steps);
}
