//! Profiling probe: two tasks ping-ponging a 32-byte message with blocking RECV, the
//! program of `benches/mailbox.rs` (`valgrind --tool=callgrind
//! target/release/examples/ping_pong 200000`).
#[path = "../benches/ping_pong/mod.rs"]
mod ping_pong;

use ping_pong::setup;

fn main() {
    let steps: u64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000_000);
    let mut exec = setup(1_000);
    exec.set_mailbox_events(false);
    let t = std::time::Instant::now();
    exec.step(steps);
    exec.drain_events().for_each(drop);
    println!("{steps} steps in {:.3} s", t.elapsed().as_secs_f64());
}
