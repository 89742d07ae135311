//! Profiling probe: N spawn + run-to-exit + reap cycles of a tiny image
//! (`valgrind --tool=callgrind target/release/examples/lifecycle 10000`).
use hsx_exec::{ClockMode, Config, Executive, SpawnOptions, Stop};

fn main() {
    let n: u32 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(100_000);
    let bytes =
        hsx_asm::assemble_source_to_hxe("t", ".text\n LDI R0, 1\n RET\n", &Default::default(), "t")
            .expect("assembles");
    let mut exec = Executive::new(Config {
        clock: ClockMode::Virtual,
        ..Config::default()
    });
    let image = exec.load_image(&bytes).expect("loads");
    let t = std::time::Instant::now();
    for _ in 0..n {
        let pid = exec
            .spawn(image.clone(), SpawnOptions::default())
            .expect("spawns");
        assert_eq!(exec.step(10).stop, Stop::AllTerminal);
        exec.kill(pid).expect("reaps");
        exec.drain_events().for_each(drop);
    }
    let s = t.elapsed().as_secs_f64();
    println!(
        "{n} spawn+exit+reap in {s:.3} s: {:.0} per second",
        n as f64 / s
    );
}
