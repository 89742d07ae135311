//! Timing probe for the two benchmark programs, sized by the command line:
//! `spin loop N` (counting loop, N iterations) or `spin fib N` (recursive fib(N)).
//! The criterion benches are the reference numbers; this probe exists for profilers
//! (`valgrind --tool=callgrind`) that want one plain run.
#[path = "../benches/programs/mod.rs"]
mod programs;

use hsx_vm::BareVm;

fn main() {
    let mut args = std::env::args().skip(1);
    let which = args.next().unwrap_or_else(|| "loop".into());
    let n: u32 = args
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100_000_000);
    let program = match which.as_str() {
        "fib" => programs::fibonacci(n as i32),
        _ => programs::counting_loop(n),
    };
    let mut vm = BareVm::new(program, 0);
    let t = std::time::Instant::now();
    let exit = vm.run_to_stop(u64::MAX);
    let s = t.elapsed().as_secs_f64();
    println!("{which} {n}: {exit:?} steps={} in {s:.3} s", vm.ctx.steps);
}
