//! The summary line of the probes' `ratio` mode, shared by `examples/ring.rs` and
//! `hsx-exec/examples/round_robin.rs` (BENCHMARKS.md §2).

/// `"M % of {what} (median of N rounds; quartiles A-B %, range C-D %)"` for per-round
/// throughput ratios (round robin against one context or task).
pub fn summary(mut ratios: Vec<f64>, what: &str) -> String {
    assert!(!ratios.is_empty(), "at least one round");
    ratios.sort_by(f64::total_cmp);
    let pct = |q: usize| 100.0 * ratios[(ratios.len() - 1) * q / 100];
    format!(
        "{:.0} % of {what} (median of {} rounds; quartiles {:.0}-{:.0} %, range {:.0}-{:.0} %)",
        pct(50),
        ratios.len(),
        pct(25),
        pct(75),
        pct(0),
        pct(100)
    )
}
