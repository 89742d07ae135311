//! Helpers shared by the executive's integration tests.
#![allow(dead_code)]

use hsx_exec::{ClockMode, Config, Executive, Pid, SpawnOptions};

/// Assemble MVASM text into a `.hxe` image named `name`.
pub fn asm(name: &str, source: &str) -> Vec<u8> {
    hsx_asm::assemble_source_to_hxe(name, source, &hsx_asm::AsmOptions::default(), name)
        .unwrap_or_else(|d| panic!("{name} does not assemble:\n{d}"))
}

/// An executive with a virtual clock (deterministic) and default host profile.
pub fn executive() -> Executive {
    Executive::new(Config {
        clock: ClockMode::Virtual,
        ..Config::default()
    })
}

/// Spawn MVASM source with options.
pub fn spawn(exec: &mut Executive, name: &str, source: &str, opts: SpawnOptions) -> Pid {
    let bytes = asm(name, source);
    exec.spawn_bytes(
        &bytes,
        SpawnOptions {
            program: format!("{name}.mvasm"),
            ..opts
        },
    )
    .unwrap_or_else(|e| panic!("spawn {name}: {e}"))
}

/// Spawn with default options.
pub fn spawn_default(exec: &mut Executive, name: &str, source: &str) -> Pid {
    spawn(exec, name, source, SpawnOptions::default())
}

/// An endless loop that counts in R1.
pub const SPIN: &str = "
.text
.entry start
start:
    LDI R2, 1
loop:
    ADD R1, R1, R2
    JMP loop
";
