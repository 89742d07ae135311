//! Two tasks ping-ponging a 32-byte message with blocking RECV: the programs and the
//! executive set-up shared by the criterion bench (`benches/mailbox.rs`) and the
//! profiling probe (`examples/ping_pong.rs`).
#![allow(dead_code)]

use hsx_exec::{ClockMode, Config, Executive, SpawnOptions};

/// Sends on `out`, then blocks in RECV on `inp`, forever. `first` decides who starts.
pub fn player(out: &str, inp: &str, first: bool) -> String {
    let start = if first { "send" } else { "recv" };
    format!(
        ".data
out_name: .asciz \"{out}\"
in_name:  .asciz \"{inp}\"
.text
.entry main
main:
    LDI32 R1, out_name
    LDI   R2, 0
    SVC   0x05, 0x00            ; OPEN out -> R1
    MOV   R8, R1
    LDI32 R1, in_name
    LDI   R2, 0
    SVC   0x05, 0x00            ; OPEN in -> R1
    MOV   R9, R1
    LDI32 R10, 0x1000           ; 32-byte buffer
    LDI   R11, 32
    LDI32 R12, 0xFFFF           ; infinite timeout
    LDI   R13, 0
    JMP   {start}
send:
    MOV   R1, R8
    MOV   R2, R10
    MOV   R3, R11
    MOV   R4, R13
    MOV   R5, R13
    SVC   0x05, 0x02            ; SEND 32 bytes
recv:
    MOV   R1, R9
    MOV   R2, R10
    MOV   R3, R11
    MOV   R4, R12
    MOV   R5, R13
    SVC   0x05, 0x03            ; RECV, blocks until the peer sends
    JMP   send
"
    )
}

pub fn image(name: &str, source: &str) -> Vec<u8> {
    hsx_asm::assemble_source_to_hxe(name, source, &hsx_asm::AsmOptions::default(), name)
        .expect("assembles")
}

/// Both tasks at one priority with `quantum` steps per turn.
pub fn setup(quantum: u32) -> Executive {
    let mut exec = Executive::new(Config {
        clock: ClockMode::Virtual,
        ..Config::default()
    });
    for (name, src) in [
        ("ping", player("app:ping", "app:pong", true)),
        ("pong", player("app:pong", "app:ping", false)),
    ] {
        exec.spawn_bytes(
            &image(name, &src),
            SpawnOptions {
                program: name.into(),
                quantum: Some(quantum),
                ..SpawnOptions::default()
            },
        )
        .expect("spawn");
    }
    exec.step(10_000);
    exec.drain_events().for_each(drop);
    exec
}
