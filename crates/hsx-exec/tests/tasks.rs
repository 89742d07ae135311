//! Task syscalls between tasks (EXEC SPAWN / KILL / WAIT / SLEEP_MS), endless loops,
//! determinism, and isolation under random programs.

mod common;

use common::{SPIN, asm, executive, spawn_default};
use hsx_exec::{
    ClockMode, Config, Event, Executive, SpawnOptions, Stop, TaskState, TraceEvent, WaitKind,
};
use proptest::prelude::*;

const OK: u32 = 0;
const ENOENT: u32 = 1;
const EPERM: u32 = 2;
const EINVAL: u32 = 4;
const TIMEOUT: u32 = 7;

fn temp_root(tag: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("hsx-exec-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn spawn_then_wait_returns_the_child_status_and_reaps_it() {
    let root = temp_root("spawn");
    std::fs::create_dir(root.join("apps")).unwrap();
    std::fs::write(
        root.join("apps/child.hxe"),
        asm("child", ".text\n LDI R0, 9\n RET\n"),
    )
    .unwrap();
    let mut exec = Executive::new(Config {
        clock: ClockMode::Virtual,
        fs_root: Some(root.clone()),
        ..Config::default()
    });
    let parent = spawn_default(
        &mut exec,
        "parent",
        r#"
.data
path: .asciz "/apps/child.hxe"
.text
.entry start
start:
    LDI32 R1, path
    LDI   R2, 0
    SVC   0x06, 0x03        ; SPAWN -> R0 status, R1 pid
    MOV   R10, R0
    MOV   R11, R1
    LDI32 R2, 0xFFFF        ; infinite
    SVC   0x06, 0x05        ; WAIT(R1) -> R0 status, R1 exit status, R2 reason
    MOV   R12, R2
    MOV   R0, R1
    RET
"#,
    );
    assert_eq!(exec.step(10_000).stop, Stop::AllTerminal);
    let regs = exec.registers(parent).unwrap();
    assert_eq!(regs[10], OK, "SPAWN status");
    assert_eq!(regs[11], 2, "child pid");
    assert_eq!(regs[12], 0, "reason: exited");
    assert_eq!(exec.task(parent).unwrap().exit_status(), Some(9));
    assert!(exec.task(2).is_none(), "the child was reaped by the WAIT");
    std::fs::remove_dir_all(root).unwrap();
}

#[test]
fn spawn_refuses_escapes_and_missing_files() {
    let root = temp_root("escape");
    let mut exec = Executive::new(Config {
        clock: ClockMode::Virtual,
        fs_root: Some(root.clone()),
        ..Config::default()
    });
    let src = |path: &str| {
        format!(".data\np: .asciz \"{path}\"\n.text\n LDI32 R1, p\n SVC 0x06, 0x03\n RET\n")
    };
    for (path, status) in [
        ("../etc/passwd", EINVAL),
        ("a//b", EINVAL),
        ("nope.hxe", ENOENT),
    ] {
        let pid = spawn_default(&mut exec, "p", &src(path));
        exec.step(100);
        assert_eq!(
            exec.task(pid).unwrap().exit_status(),
            Some(status),
            "{path}"
        );
        exec.kill(pid).unwrap();
    }
    std::fs::write(root.join("junk.hxe"), b"not an image").unwrap();
    let pid = spawn_default(&mut exec, "p", &src("junk.hxe"));
    exec.step(100);
    assert_eq!(
        exec.task(pid).unwrap().exit_status(),
        Some(EINVAL),
        "loader rejects"
    );
    std::fs::remove_dir_all(root).unwrap();
}

#[test]
fn kill_status_codes_and_killing_a_spinner() {
    let mut exec = executive();
    let victim = spawn_default(&mut exec, "victim", SPIN);
    let killer = spawn_default(
        &mut exec,
        "killer",
        r#"
.text
    LDI   R1, 0
    SVC   0x06, 0x04        ; KILL(0) -> EPERM
    MOV   R10, R0
    LDI   R1, 99
    SVC   0x06, 0x04        ; KILL(99) -> ENOENT
    MOV   R11, R0
    LDI   R1, 1
    SVC   0x06, 0x04        ; KILL(1) -> OK
    MOV   R12, R0
    LDI   R1, 1
    LDI   R2, 0
    SVC   0x06, 0x05        ; WAIT(1) after the kill -> ENOENT (reaped)
    MOV   R13, R0
    RET
"#,
    );
    assert_eq!(victim, 1);
    exec.step(1000);
    let regs = exec.registers(killer).unwrap();
    assert_eq!(
        (regs[10], regs[11], regs[12], regs[13]),
        (EPERM, ENOENT, OK, ENOENT)
    );
    assert!(exec.task(victim).is_none());
}

#[test]
fn wait_poll_self_and_timeout() {
    let mut exec = executive();
    let spin = spawn_default(&mut exec, "spin", SPIN);
    let waiter = spawn_default(
        &mut exec,
        "waiter",
        r#"
.text
    LDI   R1, 1
    LDI   R2, 0
    SVC   0x06, 0x05        ; poll a live task -> TIMEOUT
    MOV   R10, R0
    SVC   0x06, 0x02        ; GETPID
    MOV   R1, R0
    SVC   0x06, 0x05        ; WAIT(self) -> EINVAL
    MOV   R11, R0
    LDI   R1, 1
    LDI   R2, 30
    SVC   0x06, 0x05        ; 30 ms on a spinner -> TIMEOUT at t = 30
    MOV   R12, R0
    RET
"#,
    );
    exec.step(100);
    assert_eq!(
        exec.task(waiter).unwrap().state,
        TaskState::Waiting(WaitKind::Task)
    );
    exec.advance_clock(29);
    exec.step(10);
    assert!(exec.task(waiter).unwrap().wait.is_some());
    exec.advance_clock(1);
    exec.step(100);
    let regs = exec.registers(waiter).unwrap();
    assert_eq!((regs[10], regs[11], regs[12]), (TIMEOUT, EINVAL, TIMEOUT));
    assert_eq!(exec.task(waiter).unwrap().counters.timeouts, 1);
    assert_eq!(exec.task(spin).unwrap().state, TaskState::Running);
}

#[test]
fn a_killed_target_completes_its_waiters_with_reason_2() {
    let mut exec = executive();
    let target = spawn_default(&mut exec, "target", SPIN);
    let waiter = spawn_default(
        &mut exec,
        "waiter",
        ".text\n LDI R1, 1\n LDI32 R2, 0xFFFF\n SVC 0x06, 0x05\n MOV R10, R0\n MOV R11, R1\n MOV R12, R2\n RET\n",
    );
    exec.step(50);
    exec.kill(target).unwrap();
    exec.step(50);
    let regs = exec.registers(waiter).unwrap();
    assert_eq!((regs[10], regs[11], regs[12]), (OK, 0, 2));
}

#[test]
fn a_faulted_target_reports_reason_1_and_its_code() {
    let mut exec = executive();
    let _target = spawn_default(&mut exec, "target", ".text\n LDI R1, 0\n DIV R1, R1, R1\n");
    let waiter = spawn_default(
        &mut exec,
        "waiter",
        ".text\n LDI R1, 1\n LDI32 R2, 0xFFFF\n SVC 0x06, 0x05\n MOV R10, R0\n MOV R11, R1\n MOV R12, R2\n RET\n",
    );
    exec.step(100);
    let regs = exec.registers(waiter).unwrap();
    assert_eq!((regs[10], regs[11], regs[12]), (OK, 0xFFFF_FF05, 1));
}

#[test]
fn an_endless_loop_does_not_starve_others_and_stops_at_the_budget() {
    let mut exec = executive();
    let spin = spawn_default(&mut exec, "spin", SPIN);
    let worker = spawn_default(
        &mut exec,
        "worker",
        ".text\n LDI R1, 1\n LDI R2, 2\n LDI R0, 3\n RET\n",
    );
    let out = exec.step(1_000_000);
    assert_eq!((out.executed, out.stop), (1_000_000, Stop::Budget));
    assert_eq!(exec.task(worker).unwrap().exit_status(), Some(3));
    assert_eq!(exec.task(spin).unwrap().ctx.steps, 1_000_000 - 3);
}

#[test]
fn sleep_emits_request_and_completion_at_the_right_time() {
    let mut exec = executive();
    let pid = spawn_default(
        &mut exec,
        "s",
        ".text\n LDI R0, 15\n SVC 0x06, 0x00\n RET\n",
    );
    exec.step(10);
    let events: Vec<Event> = exec.drain_events().collect();
    assert!(events.contains(&Event::SleepRequest {
        pid,
        ms: 15,
        deadline: 15
    }));
    assert!(events.contains(&Event::SleepComplete { pid }));
    assert_eq!(exec.now_ms(), 15);
}

/// Trace records `(ts, pid, event, pc)` and final task states `(pid, steps, pc)`.
type Trace = Vec<(u64, u32, TraceEvent, u32)>;
type Finals = Vec<(u32, u64, u32)>;

/// A workload with sleeps, yields, priorities and quanta.
fn run_workload() -> (Trace, Finals) {
    let mut exec = executive();
    let progs = [
        ".text\nloop:\n LDI R0, 3\n SVC 0x06, 0x00\n ADD R1, R1, R0\n JMP loop\n",
        ".text\nloop:\n SVC 0x06, 0x01\n LDI R2, 1\n ADD R1, R1, R2\n JMP loop\n",
        ".text\n LDI R0, 7\n SVC 0x06, 0x00\n LDI R0, 1\n RET\n",
    ];
    for (i, p) in progs.iter().enumerate() {
        common::spawn(
            &mut exec,
            &format!("w{i}"),
            p,
            SpawnOptions {
                quantum: Some(i as u32 + 1),
                priority: Some(10 + (i as u8 % 2)),
                ..SpawnOptions::default()
            },
        );
    }
    exec.step(5_000);
    let trace = exec
        .trace()
        .entries()
        .map(|e| (e.ts, e.pid, e.event, e.pc))
        .collect();
    let state = exec
        .tasks()
        .map(|t| (t.pid, t.ctx.steps, t.ctx.pc))
        .collect();
    (trace, state)
}

#[test]
fn virtual_clock_runs_are_deterministic() {
    let (trace_a, state_a) = run_workload();
    let (trace_b, state_b) = run_workload();
    assert!(trace_a.len() > 100);
    assert_eq!(trace_a, trace_b);
    assert_eq!(state_a, state_b);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Whatever random code one task runs (stores, pushes, faults), another task's
    /// register bank and window stay byte-for-byte the same.
    #[test]
    fn random_programs_never_touch_another_task(
        words in proptest::collection::vec(
            prop_oneof![
                any::<u32>(),
                (0x01u32..0x62, any::<u32>()).prop_map(|(op, rest)| (op << 24) | (rest & 0x00FF_FFFF)),
            ],
            1..64,
        ),
        window in (2usize..=16).prop_map(|k| k * 0x1000),
    ) {
        let mut exec = executive();
        let bytes = hsx_image::write_hxe_v1(&words, 0, &[], 0, 0);
        let Ok(random) = exec.spawn_bytes(&bytes, SpawnOptions {
            window_size: Some(window as u32 + 0x4000),
            stack_size: Some(0x800),
            ..SpawnOptions::default()
        }) else {
            return Ok(());
        };
        // The bystander only jumps: its registers and memory never change by itself.
        let bystander = spawn_default(&mut exec, "bystander", ".text\nloop:\n JMP loop\n");
        let t = exec.task(bystander).unwrap().ctx;
        let bank = |e: &Executive| e.ram_words()[(t.reg_base / 4) as usize..][..16].to_vec();
        let window_of = |e: &Executive| e.read_memory(bystander, 0, t.window_size).unwrap().to_vec();
        let (bank0, win0) = (bank(&exec), window_of(&exec));
        for _ in 0..50 {
            exec.step(40);
            let _ = exec.resume(random); // continue past BRKs
        }
        prop_assert_eq!(bank(&exec), bank0);
        prop_assert_eq!(window_of(&exec), win0);
        prop_assert!(exec.task(random).is_some());
    }
}

#[test]
fn embedded_profile_sizes_windows_to_fit_and_says_when_ram_is_full() {
    let mut exec = Executive::new(Config {
        profile: hsx_exec::Profile::Embedded,
        clock: ClockMode::Virtual,
        ..Config::default()
    });
    assert_eq!(exec.ram_size(), 64 * 1024);
    let bytes = asm("small", ".data\n .zero 16\n.text\n LDI R0, 1\n RET\n");
    let mut pids = Vec::new();
    for _ in 0..3 {
        pids.push(exec.spawn_bytes(&bytes, SpawnOptions::default()).unwrap());
    }
    let t = exec.task(pids[0]).unwrap().ctx;
    // 0x4000 + 16 bytes of rodata + a 1 KiB stack, rounded up to 1 KiB.
    assert_eq!(t.window_size, 0x4800);
    assert_eq!((t.stack_top, t.stack_limit), (0x4800, 0x4400));
    let err = exec
        .spawn_bytes(&bytes, SpawnOptions::default())
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "spawn failed: VM RAM exhausted: need 18432 bytes, largest free block 5952"
    );
    assert_eq!(exec.step(100).stop, Stop::AllTerminal);
    for pid in pids {
        assert_eq!(exec.task(pid).unwrap().exit_status(), Some(1));
    }
}

#[test]
fn spawn_reports_images_that_do_not_fit_their_window() {
    let mut exec = executive();
    // 0x4000 + 0x3001 bytes of rodata end one byte into the 4 KiB stack of a 32 KiB window.
    let bytes = asm("big", ".data\n .zero 0x3001\n.text\n RET\n");
    let err = exec
        .spawn_bytes(
            &bytes,
            SpawnOptions {
                window_size: Some(0x8000),
                ..SpawnOptions::default()
            },
        )
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "Image does not fit the task memory window: rodata+bss end at 0x7001, stack_limit is 0x7000"
    );
}

#[test]
fn stepping_one_task_that_exits_and_is_reaped_by_a_waiter_stops_cleanly() {
    let mut exec = executive();
    let child = spawn_default(&mut exec, "child", ".text\n LDI R0, 5\n RET\n");
    let waiter = spawn_default(
        &mut exec,
        "waiter",
        ".text\n LDI R1, 1\n LDI32 R2, 0xFFFF\n SVC 0x06, 0x05\n RET\n",
    );
    exec.step_task(waiter, 3).unwrap(); // blocks in WAIT on the child
    let out = exec.step_task(child, 10).unwrap();
    assert_eq!(
        out,
        hsx_exec::StepOutcome {
            executed: 1,
            stop: Stop::Ended { pid: child }
        }
    );
    assert!(exec.task(child).is_none(), "reaped by the WAIT");
    assert_eq!(exec.registers(waiter).unwrap()[1], 5);
    // Stepping a task that has already ended says so too.
    let out = exec.step_task(waiter, 10).unwrap();
    assert_eq!(out.stop, Stop::Ended { pid: waiter });
}

#[test]
fn instance_names_take_the_first_free_suffix() {
    let mut exec = executive();
    let image = exec.load_image(&asm("demo", SPIN)).unwrap();
    let spawn = |exec: &mut Executive| {
        let pid = exec.spawn(image.clone(), SpawnOptions::default()).unwrap();
        exec.task(pid).unwrap().name.clone()
    };
    let names: Vec<String> = (0..4).map(|_| spawn(&mut exec)).collect();
    assert_eq!(names, ["demo", "demo_#0", "demo_#1", "demo_#2"]);
    exec.kill(3).unwrap(); // demo_#1
    assert_eq!(
        spawn(&mut exec),
        "demo_#1",
        "a freed suffix is reused first"
    );
    assert_eq!(spawn(&mut exec), "demo_#3");
    exec.kill(1).unwrap(); // demo
    assert_eq!(spawn(&mut exec), "demo");
}
