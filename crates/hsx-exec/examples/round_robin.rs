//! Profiling probe: N tasks running a 3-instruction loop in round robin with quantum 1
//! (a context switch after every instruction): `round_robin N STEPS`.
//! (`valgrind --tool=callgrind target/release/examples/round_robin 1000 400000`).
use hsx_exec::{ClockMode, Config, Executive, SpawnOptions};

fn main() {
    let mut args = std::env::args().skip(1).map(|s| s.parse::<u64>().ok());
    let n = args.next().flatten().unwrap_or(2);
    let steps = args.next().flatten().unwrap_or(10_000_000);
    let bytes = hsx_asm::assemble_source_to_hxe(
        "b",
        ".text\n LDI R3, 1\nloop:\n ADD R2, R2, R1\n SUB R1, R1, R3\n JMP loop\n",
        &Default::default(),
        "b",
    )
    .expect("assembles");
    let mut exec = Executive::new(Config {
        clock: ClockMode::Virtual,
        ram_bytes: Some(1 << 30),
        mailbox_limits: Some(hsx_exec::mailbox::Limits {
            max_descriptors: 40_960,
            ..hsx_exec::mailbox::Limits::HOST
        }),
        ..Config::default()
    });
    for _ in 0..n {
        exec.spawn_bytes(&bytes, SpawnOptions::default())
            .expect("spawns");
    }
    let t = std::time::Instant::now();
    let out = exec.step(steps);
    let s = t.elapsed().as_secs_f64();
    println!(
        "{n} tasks: {} steps in {s:.3} s, {:.2} ns/step",
        out.executed,
        s * 1e9 / out.executed as f64
    );
}
