//! Timing probe for round robin at quantum 1 straight on `run_ring`, without an
//! executive: `ring K STEPS PROGRAM` runs K contexts in lockstep, switching after every
//! instruction; `ring 1 STEPS PROGRAM single` runs one context with `run` instead.
//! PROGRAM is `loop` (ADD; SUB; JMP), `mov` (MOV; JMP), `alu` (five ALU ops; JMP),
//! `ldst` (ST; LD; ADD; CMP; JNZ), `count` (the counting loop of BENCHMARKS.md §1) or
//! `fib` (recursive fib(40)). BENCHMARKS.md §2 uses it to show how much the time per step
//! depends on the instruction mix.
//!
//! `ring K STEPS PROGRAM ratio [ROUNDS]` measures round robin against one context
//! alternately: ROUNDS (default 40) times, STEPS on one context then STEPS round the K
//! contexts, each continuing where it stopped. It prints the median of the per-round
//! throughput ratios and their spread. Because both halves of a round run within a
//! few milliseconds of each other, the host's changes of speed cancel out.
#[path = "../benches/programs/mod.rs"]
mod programs;
#[path = "../benches/ratio/mod.rs"]
mod ratio;

fn main() {
    let mut args = std::env::args().skip(1);
    let k: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(2);
    let steps: u64 = args
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000_000);
    let which = args.next().unwrap_or_else(|| "loop".into());
    let mode = args.next();
    let single = mode.as_deref() == Some("single");
    let rounds: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(40);
    let Some(program) = programs::mix(&which) else {
        eprintln!("unknown program {which}: loop, mov, alu, ldst, count or fib");
        std::process::exit(2);
    };
    let (mut ram, mut records) = programs::ring(k as u32);
    let mut members = programs::members(&mut records, &program);
    let mut log = vec![0u32; 1024];
    if mode.as_deref() == Some("ratio") {
        let (mut one_ram, mut one) = programs::ring(1);
        let ratios: Vec<f64> = (0..rounds)
            .map(|_| {
                let t = std::time::Instant::now();
                let r = hsx_vm::run(&mut one[0], &mut one_ram, &program, steps);
                let alone = t.elapsed().as_secs_f64() / r.retired as f64;
                let t = std::time::Instant::now();
                let r = hsx_vm::run_ring(&mut members, &mut ram, 0, 0, steps, &mut log);
                let shared = t.elapsed().as_secs_f64() / r.retired as f64;
                alone / shared
            })
            .collect();
        println!(
            "{which}, {k} contexts: {}",
            ratio::summary(ratios, "one context's throughput")
        );
        return;
    }
    let t = std::time::Instant::now();
    let (exit, retired) = if single {
        let r = hsx_vm::run(&mut *members[0].ctx, &mut ram, &program, steps);
        (r.exit, r.retired)
    } else {
        let r = hsx_vm::run_ring(&mut members, &mut ram, 0, 0, steps, &mut log);
        (r.exit, r.retired)
    };
    let s = t.elapsed().as_secs_f64();
    println!(
        "{which}, {}: {exit:?} after {retired} steps, {:.2} ns/step",
        if single {
            "one context".to_string()
        } else {
            format!("{k} contexts")
        },
        s * 1e9 / retired as f64
    );
}
