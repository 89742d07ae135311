//! Profiling probe: N tasks running a 3-instruction loop in round robin with quantum 1
//! (a context switch after every instruction): `round_robin N STEPS [phased]`.
//! (`valgrind --tool=callgrind target/release/examples/round_robin 1000 400000`).
//!
//! By default every task runs the same loop in lockstep, so consecutive switches
//! dispatch the same instruction kind (easy for the host's branch predictor once there
//! are more than a few tasks). `phased` starts task k with k % 3 extra instructions, so
//! neighbours are at different points of the loop.
//!
//! `round_robin N STEPS [phased] ratio [ROUNDS]` measures the N tasks against a lone task
//! in another executive, alternately: ROUNDS (default 40) times, STEPS of the lone task,
//! then STEPS of the N tasks. It prints the median of the per-round throughput ratios and
//! their spread; both halves of a round run within milliseconds of each other, so the
//! host's changes of speed cancel out.
use hsx_exec::{ClockMode, Config, Executive, SpawnOptions};

#[path = "../../hsx-vm/benches/ratio/mod.rs"]
mod ratio;

fn main() {
    let mut args = std::env::args().skip(1);
    let n: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(2);
    let steps: u64 = args
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000_000);
    let rest: Vec<String> = args.collect();
    let phased = rest.iter().any(|a| a == "phased");
    let ratio = rest.iter().any(|a| a == "ratio");
    let rounds: usize = rest.iter().find_map(|a| a.parse().ok()).unwrap_or(40);
    let images: Vec<Vec<u8>> = (0..3)
        .map(|phase| {
            let source = format!(
                ".text\n LDI R3, 1\n{}loop:\n ADD R2, R2, R1\n SUB R1, R1, R3\n JMP loop\n",
                " MOV R0, R0\n".repeat(phase)
            );
            hsx_asm::assemble_source_to_hxe("b", &source, &Default::default(), "b")
                .expect("assembles")
        })
        .collect();
    let executive = || {
        Executive::new(Config {
            clock: ClockMode::Virtual,
            ram_bytes: Some(1 << 30),
            mailbox_limits: Some(hsx_exec::mailbox::Limits {
                max_descriptors: 40_960,
                ..hsx_exec::mailbox::Limits::HOST
            }),
            ..Config::default()
        })
    };
    let mut exec = executive();
    for k in 0..n {
        let image = if phased {
            &images[(k % 3) as usize]
        } else {
            &images[0]
        };
        exec.spawn_bytes(image, SpawnOptions::default())
            .expect("spawns");
    }
    if ratio {
        let mut alone = executive();
        alone
            .spawn_bytes(&images[0], SpawnOptions::default())
            .expect("spawns");
        let per_step = |exec: &mut Executive| {
            let t = std::time::Instant::now();
            let out = exec.step(steps);
            t.elapsed().as_secs_f64() / out.executed as f64
        };
        let ratios: Vec<f64> = (0..rounds)
            .map(|_| per_step(&mut alone) / per_step(&mut exec))
            .collect();
        println!(
            "{n} tasks{}: {}",
            if phased { " (phased)" } else { "" },
            ratio::summary(ratios, "a lone task's throughput")
        );
        return;
    }
    let t = std::time::Instant::now();
    let out = exec.step(steps);
    let s = t.elapsed().as_secs_f64();
    println!(
        "{n} tasks{}: {} steps in {s:.3} s, {:.2} ns/step",
        if phased { " (phased)" } else { "" },
        out.executed,
        s * 1e9 / out.executed as f64
    );
}
