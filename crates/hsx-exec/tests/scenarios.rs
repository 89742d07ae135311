//! The required regression scenarios of `executive.md` §8, one test each (s1..s10; s8
//! also in its timer form, and the virtual clock's jump to the next deadline).

mod common;

use common::{SPIN, executive, spawn, spawn_default};
use hsx_exec::{Executive, Pid, SpawnOptions, Stop, TaskState};
use hsx_vm::Fault;

fn steps(exec: &Executive, pid: Pid) -> u64 {
    exec.task(pid).unwrap().ctx.steps
}

/// The bytes of a task's register bank, read straight from VM RAM at `reg_base`.
fn bank_bytes(exec: &Executive, pid: Pid) -> Vec<u8> {
    let t = exec.task(pid).unwrap();
    let words = &exec_words(exec)[(t.ctx.reg_base / 4) as usize..][..16];
    words.iter().flat_map(|w| w.to_le_bytes()).collect()
}

fn exec_words(exec: &Executive) -> &[u32] {
    exec.ram_words()
}

fn window_bytes(exec: &Executive, pid: Pid) -> Vec<u8> {
    let t = exec.task(pid).unwrap();
    exec.read_memory(pid, 0, t.ctx.window_size)
        .unwrap()
        .to_vec()
}

#[test]
fn s1_register_isolation() {
    let mut exec = executive();
    let writer = spawn_default(
        &mut exec,
        "writer",
        ".text\n LDI R3, 0x123\n LDI R3, 0x456\n RET\n",
    );
    let other = spawn_default(&mut exec, "other", ".text\n LDI R4, 7\n LDI R4, 8\n RET\n");
    exec.step(1); // writer: R3 = 0x123
    exec.step(1); // rotation: other runs
    assert_eq!(exec.registers(writer).unwrap()[3], 0x123);
    assert_eq!(
        exec.registers(other).unwrap()[3],
        0,
        "task 2's R3 is its own"
    );
    let (w, o) = (exec.task(writer).unwrap(), exec.task(other).unwrap());
    assert_ne!(w.ctx.reg_base, o.ctx.reg_base);
    // dumpregs-style reads come from VM RAM at each task's own reg_base.
    let bank = bank_bytes(&exec, writer);
    assert_eq!(&bank[12..16], &0x123u32.to_le_bytes());
    assert_eq!(&bank_bytes(&exec, other)[16..20], &7u32.to_le_bytes());
}

#[test]
fn s2_a_switch_copies_no_register_data() {
    let mut exec = executive();
    let a = spawn_default(&mut exec, "a", ".text\nloop:\n MOV R2, R1\n JMP loop\n");
    let b = spawn_default(&mut exec, "b", SPIN);
    exec.step(2); // a: MOV R2, R1 (R1 = 0); b: LDI
    // Change a's R1 directly in VM RAM, at its reg_base.
    let before = bank_bytes(&exec, a);
    assert!(exec.set_register(a, 1, 0xCAFE));
    exec.step(1); // a: JMP loop
    exec.step(1); // b runs: a is switched out and back in
    let mut expected = before.clone();
    expected[4..8].copy_from_slice(&0xCAFEu32.to_le_bytes());
    assert_eq!(
        bank_bytes(&exec, a),
        expected,
        "switches wrote nothing into the bank"
    );
    exec.step(1); // a: MOV R2, R1 sees the value with no flush step
    assert_eq!(exec.registers(a).unwrap()[2], 0xCAFE);
    assert_eq!(steps(&exec, b), 2);
}

#[test]
fn s3_stack_guard_faults_only_the_recursing_task() {
    let mut exec = executive();
    let rec = spawn(
        &mut exec,
        "rec",
        ".text\nstart:\n CALL start\n",
        SpawnOptions {
            stack_size: Some(64),
            ..SpawnOptions::default()
        },
    );
    let spin = spawn_default(&mut exec, "spin", SPIN);
    exec.step(1000);
    let t = exec.task(rec).unwrap();
    assert_eq!(t.state, TaskState::Faulted);
    assert_eq!(t.fault(), Some((Fault::StackOverflow, 0)));
    assert_eq!(exec.registers(rec).unwrap()[0], 0xFFFF_FF03);
    assert_eq!(t.ctx.pc, 0, "pc stays on the CALL");
    assert_eq!(t.ctx.sp, t.ctx.stack_limit);
    assert_eq!(t.ctx.steps, 16, "64-byte stack holds 16 return addresses");
    assert_eq!(exec.task(spin).unwrap().state, TaskState::Running);
    let before = steps(&exec, spin);
    exec.step(10);
    assert_eq!(
        steps(&exec, spin),
        before + 10,
        "the other task keeps running"
    );

    let pop = spawn_default(&mut exec, "pop", ".text\n POP R1\n");
    exec.step(20);
    let t = exec.task(pop).unwrap();
    assert_eq!(t.fault(), Some((Fault::StackUnderflow, 0)));
    assert_eq!(exec.registers(pop).unwrap()[0], 0xFFFF_FF02);
}

#[test]
fn s4_fair_round_robin_in_pid_order() {
    let mut exec = executive();
    let pids: Vec<Pid> = (0..3)
        .map(|i| spawn_default(&mut exec, &format!("t{i}"), SPIN))
        .collect();
    let mut order = Vec::new();
    for _ in 0..9 {
        let before: Vec<u64> = pids.iter().map(|&p| steps(&exec, p)).collect();
        assert_eq!(exec.step(1).executed, 1);
        let ran: Vec<Pid> = pids
            .iter()
            .zip(&before)
            .filter(|&(&p, &b)| steps(&exec, p) == b + 1)
            .map(|(&p, _)| p)
            .collect();
        assert_eq!(ran.len(), 1);
        order.push(ran[0]);
    }
    assert_eq!(order, [1, 2, 3, 1, 2, 3, 1, 2, 3]);
    // And `clock step 9` in one call advances each by exactly 3.
    exec.step(9);
    for &p in &pids {
        assert_eq!(steps(&exec, p), 6);
    }
}

#[test]
fn s5_quantum_and_priority() {
    // Quantum 3 gives runs of 3.
    let mut exec = executive();
    let q = SpawnOptions {
        quantum: Some(3),
        ..SpawnOptions::default()
    };
    let a = spawn(&mut exec, "a", SPIN, q.clone());
    let b = spawn(&mut exec, "b", SPIN, q);
    let mut runs = Vec::new();
    for _ in 0..12 {
        let sa = steps(&exec, a);
        exec.step(1);
        runs.push(if steps(&exec, a) > sa { a } else { b });
    }
    assert_eq!(runs, [a, a, a, b, b, b, a, a, a, b, b, b]);

    // A higher-priority runnable task always runs before a lower one.
    let mut exec = executive();
    let low = spawn(
        &mut exec,
        "low",
        SPIN,
        SpawnOptions {
            priority: Some(20),
            ..SpawnOptions::default()
        },
    );
    let high = spawn(
        &mut exec,
        "high",
        ".text\n LDI R1, 1\n LDI R1, 2\n LDI R1, 3\n RET\n",
        SpawnOptions {
            priority: Some(5),
            ..SpawnOptions::default()
        },
    );
    exec.step(3);
    assert_eq!((steps(&exec, high), steps(&exec, low)), (3, 0));
    exec.step(5); // high exits on its RET, then low runs
    assert_eq!(exec.task(high).unwrap().state, TaskState::Exited);
    assert_eq!(steps(&exec, low), 5);

    // Equal priorities share.
    let mut exec = executive();
    let x = spawn_default(&mut exec, "x", SPIN);
    let y = spawn_default(&mut exec, "y", SPIN);
    exec.step(1000);
    assert_eq!((steps(&exec, x), steps(&exec, y)), (500, 500));
}

#[test]
fn s6_trap_resumes_at_the_next_instruction_one_per_turn() {
    let mut exec = executive();
    let t = spawn_default(
        &mut exec,
        "trap",
        ".text\n LDI R1, 1\n SVC 0x06, 0x02\n PUSH R1\n LDI R3, 3\n RET\n",
    );
    let other = spawn_default(&mut exec, "other", SPIN);
    exec.step(2); // trap: LDI; other
    let sp = exec.task(t).unwrap().ctx.sp;
    exec.step(1); // trap: SVC GETPID (retires, serviced, turn ends at quantum 1)
    let task = exec.task(t).unwrap();
    assert_eq!(task.ctx.pc, 8, "resumes after the SVC");
    assert_eq!(task.ctx.sp, sp);
    assert_eq!(exec.registers(t).unwrap()[0], t, "GETPID result in R0");
    assert_eq!(task.ctx.steps, 2);
    let o = steps(&exec, other);
    exec.step(1); // other runs: exactly one instruction per turn
    assert_eq!(steps(&exec, other), o + 1);
    assert_eq!(steps(&exec, t), 2);
    exec.step(1); // trap: PUSH R1
    let task = exec.task(t).unwrap();
    assert_eq!((task.ctx.pc, task.ctx.sp), (12, sp - 4));
}

#[test]
fn s8_timer_wake_at_the_expected_virtual_time_then_one_instruction_and_rotate() {
    let mut exec = executive();
    let sleeper = spawn_default(
        &mut exec,
        "sleeper",
        ".text\n LDI R0, 25\n SVC 0x06, 0x00\n LDI R5, 5\n LDI R6, 6\n RET\n",
    );
    let spin = spawn_default(&mut exec, "spin", SPIN);
    exec.step(2);
    exec.step(1); // SLEEP_MS(25): blocks
    assert_eq!(
        exec.task(sleeper).unwrap().state,
        TaskState::Waiting(hsx_exec::WaitKind::Timer)
    );
    // Virtual time stands still while `spin` can run.
    exec.step(100);
    assert_eq!(exec.now_ms(), 0);
    assert_eq!(exec.task(sleeper).unwrap().ctx.pc, 8);
    exec.advance_clock(24);
    exec.step(1);
    assert_eq!(
        exec.task(sleeper).unwrap().ctx.pc,
        8,
        "not before the deadline"
    );
    exec.advance_clock(1);
    let s = steps(&exec, spin);
    exec.step(2); // the woken task is queued at the tail; it runs one, then rotates
    let task = exec.task(sleeper).unwrap();
    assert_eq!(task.ctx.pc, 12, "one instruction after the wake");
    assert_eq!(exec.registers(sleeper).unwrap()[0], 0);
    assert_eq!(steps(&exec, spin), s + 1);
    assert_eq!(task.counters.wakes, 1);
}

#[test]
fn s8_virtual_clock_jumps_to_the_deadline_when_everyone_sleeps() {
    let mut exec = executive();
    let a = spawn_default(
        &mut exec,
        "a",
        ".text\n LDI R0, 40\n SVC 0x06, 0x00\n SVC 0x06, 0x00\n RET\n",
    );
    let out = exec.step(100);
    assert_eq!(out.stop, Stop::AllTerminal);
    assert_eq!(
        exec.now_ms(),
        40,
        "R0 = 0 after the first sleep: the second is a yield"
    );
    assert_eq!(exec.task(a).unwrap().exit_status(), Some(0));
}

#[test]
fn s9_isolation_fault_changes_no_other_task() {
    let mut exec = executive();
    let victim = spawn_default(&mut exec, "victim", SPIN);
    let bad = spawn(
        &mut exec,
        "bad",
        ".text\n LDI32 R1, 0x7FFE\n LDI R2, -1\n ST [R1+0], R2\n ST [R1+4], R2\n",
        SpawnOptions {
            window_size: Some(0x8000),
            stack_size: Some(0x1000),
            ..SpawnOptions::default()
        },
    );
    exec.step(2);
    let (vb, vw) = (bank_bytes(&exec, victim), window_bytes(&exec, victim));
    exec.step(100);
    let t = exec.task(bad).unwrap();
    assert_eq!(t.fault(), Some((Fault::MemFault, 12)));
    assert_eq!(exec.registers(bad).unwrap()[0], 0xFFFF_FF04);
    // The victim kept running (its R1 grew) but nothing else of it changed.
    let mut vb_now = bank_bytes(&exec, victim);
    vb_now[4..8].copy_from_slice(&vb[4..8]);
    assert_eq!(vb_now, vb);
    assert_eq!(window_bytes(&exec, victim), vw);
}

#[test]
fn s10_scale_thousand_tasks_twice_ram_returns() {
    // 1,000 live tasks need 4,000 mailbox descriptors (stdio and pid:P each), far
    // beyond the host profile's default pool of 256 (`mailbox.md` §2, §5).
    let mut exec = Executive::new(hsx_exec::Config {
        clock: hsx_exec::ClockMode::Virtual,
        mailbox_limits: Some(hsx_exec::mailbox::Limits {
            max_descriptors: 4096,
            ..hsx_exec::mailbox::Limits::HOST
        }),
        ..hsx_exec::Config::default()
    });
    let image = exec
        .load_image(&common::asm(
            "tiny",
            ".text\n LDI R1, 1\n LDI R0, 7\n RET\n",
        ))
        .unwrap();
    let start = exec.ram_used();
    for round in 0..2 {
        let pids: Vec<Pid> = (0..1000)
            .map(|_| {
                exec.spawn(
                    image.clone(),
                    SpawnOptions {
                        window_size: Some(0x4000 + 0x400),
                        stack_size: Some(0x400),
                        ..SpawnOptions::default()
                    },
                )
                .unwrap()
            })
            .collect();
        assert_eq!(exec.step(u64::MAX).stop, Stop::AllTerminal, "round {round}");
        for &pid in &pids {
            assert_eq!(exec.task(pid).unwrap().exit_status(), Some(7));
            exec.kill(pid).unwrap();
        }
        assert_eq!(
            exec.ram_used(),
            start,
            "round {round}: VM RAM back to the start"
        );
        assert_eq!(exec.tasks().count(), 0);
    }
}

/// Consumer: bind and open `app:s7`, then block in RECV (infinite) with a word pushed,
/// so SP differs from the stack top. `after` is the instruction after the SVC.
const S7_CONSUMER: &str = r#"
.data
buf:  .zero 32
name: .asciz "app:s7"
.text
.entry start
start:
    LDI32 R1, name
    LDI   R2, 0
    LDI   R3, 0
    SVC   0x05, 0x01        ; BIND (default capacity, RDWR)
    LDI32 R1, name
    LDI   R2, 0
    SVC   0x05, 0x00        ; OPEN -> R1 handle
    LDI   R7, 0x77
    PUSH  R7
    LDI32 R2, buf
    LDI   R3, 32
    LDI32 R4, 0xFFFF        ; infinite
    LDI   R5, 0
    SVC   0x05, 0x03        ; RECV -> R0 status, R1 len, R2 flags, R3 channel, R4 src
after:
    RET
"#;

#[test]
fn s7_mailbox_wait_and_wake_deliver_payload_and_registers() {
    let mut exec = executive();
    let consumer = spawn_default(&mut exec, "consumer", S7_CONSUMER);
    let producer = spawn_default(
        &mut exec,
        "producer",
        r#"
.data
msg:  .ascii "hello"
name: .asciz "app:s7"
.text
    LDI32 R1, name
    LDI   R2, 0
    SVC   0x05, 0x00        ; OPEN -> R1 handle
    LDI32 R2, msg
    LDI   R3, 5
    LDI   R4, 0             ; flags
    LDI   R5, 3             ; channel
    SVC   0x05, 0x02        ; SEND
    RET
"#,
    );
    // The consumer runs alone until its RECV finds nothing and blocks.
    exec.step_task(consumer, 100).unwrap();
    let t = exec.task(consumer).unwrap();
    assert_eq!(t.state, TaskState::Waiting(hsx_exec::WaitKind::Mailbox));
    let (pc_blocked, sp_blocked) = (t.ctx.pc, t.ctx.sp);
    assert_eq!(
        sp_blocked,
        t.ctx.stack_top - 4,
        "the pushed word is still there"
    );
    let before = exec.registers(consumer).unwrap();
    // Its registers are untouched while it waits.
    exec.step_task(producer, 6).unwrap();
    assert_eq!(exec.registers(consumer).unwrap(), before);
    exec.step_task(producer, 100).unwrap(); // SEND wakes the consumer
    let t = exec.task(consumer).unwrap();
    assert_eq!(t.state, TaskState::Ready);
    assert_eq!(
        (t.ctx.pc, t.ctx.sp),
        (pc_blocked, sp_blocked),
        "resumes after the SVC"
    );
    let regs = exec.registers(consumer).unwrap();
    assert_eq!(
        &regs[..5],
        &[0, 5, 0, 3, producer],
        "R0 OK, R1 length, R2 flags, R3 channel, R4 src_pid"
    );
    assert_eq!(
        regs[7], 0x77,
        "registers not listed as outputs are preserved"
    );
    assert_eq!(exec.read_memory(consumer, 0x4000, 5).unwrap(), b"hello");
    assert_eq!(t.counters.mailbox_wakes, 1);
    exec.step(10);
    assert_eq!(exec.task(consumer).unwrap().exit_status(), Some(0));
}

#[test]
fn s8_recv_timeout_wakes_at_the_deadline_then_runs_one_instruction_and_rotates() {
    let mut exec = executive();
    let waiter = spawn_default(
        &mut exec,
        "waiter",
        r#"
.data
buf:  .zero 8
name: .asciz "app:s8"
.text
    LDI32 R1, name
    LDI   R2, 0
    LDI   R3, 0
    SVC   0x05, 0x01        ; BIND
    LDI32 R1, name
    LDI   R2, 0
    SVC   0x05, 0x00        ; OPEN -> R1 handle
    LDI32 R2, buf
    LDI   R3, 8
    LDI   R4, 25            ; 25 ms
    LDI   R5, 0
    SVC   0x05, 0x03        ; RECV: nothing will come
    LDI   R9, 9
    LDI   R10, 10
    RET
"#,
    );
    exec.step_task(waiter, 100).unwrap();
    let blocked_pc = exec.task(waiter).unwrap().ctx.pc;
    let spin = spawn_default(&mut exec, "spin", SPIN);
    exec.step(50);
    exec.advance_clock(24);
    exec.step(5);
    assert!(
        exec.task(waiter).unwrap().wait.is_some(),
        "not before 25 ms"
    );
    exec.advance_clock(1);
    let s = steps(&exec, spin);
    exec.step(2); // spin finishes its turn, then the woken waiter runs exactly one
    let t = exec.task(waiter).unwrap();
    assert_eq!(exec.registers(waiter).unwrap()[0], 7, "R0 = TIMEOUT");
    assert_eq!(t.ctx.pc, blocked_pc + 4, "one instruction after the wake");
    assert_eq!(exec.registers(waiter).unwrap()[9], 9);
    assert_eq!(steps(&exec, spin), s + 1);
    assert_eq!(t.counters.mailbox_timeouts, 1);
    exec.step(1); // it rotated: the spinner runs next
    assert_eq!(steps(&exec, spin), s + 2);
}
