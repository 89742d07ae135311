//! The acceptance scenarios of `mailbox.md` §16, one test each, driving real MVASM
//! programs (scripts of system calls, see `mailbox_support`) through the executive.
//! A, B, C, D are pids 1, 2, 3, 4 loaded in that order; host profile, virtual clock and
//! an attached stdio sink unless stated.

mod mailbox_support;

use hsx_exec::mailbox::{
    Exhaustion, MailboxEvent, Namespace, OverrunReason, Policy, Source, flags,
};
use hsx_exec::{Config, Event, ReportedState, StdioSink, StdioStream, TaskState, WaitKind};
use mailbox_support::*;

const WAITING_MBX: TaskState = TaskState::Waiting(WaitKind::Mailbox);
const INTERNAL: u32 = 0xFF;

/// A task that only parks (keeps its pid alive).
fn idle() -> Script {
    Script::new().park()
}

fn freed_ids(events: &[MailboxEvent]) -> Vec<u16> {
    events
        .iter()
        .filter_map(|e| match e {
            MailboxEvent::Freed { descriptor, .. } => Some(*descriptor),
            _ => None,
        })
        .collect()
}

#[test]
fn s01_default_channels_of_a_loaded_task() {
    let mut t = Harness::new();
    let a = t.spawn(&idle());
    let snap = t.exec.mailbox_snapshot();
    let rows: Vec<_> = snap
        .descriptors
        .iter()
        .map(|d| {
            (
                d.id,
                d.namespace,
                d.name.as_str(),
                d.owner,
                d.capacity,
                d.mode,
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            (1, Namespace::Svc, "stdio.in", Some(1), 256, 3),
            (2, Namespace::Svc, "stdio.out", Some(1), 256, 3),
            (3, Namespace::Svc, "stdio.err", Some(1), 256, 3),
            (4, Namespace::Pid, "1", Some(1), 64, 3),
        ]
    );
    let handles: Vec<_> = snap
        .descriptors
        .iter()
        .flat_map(|d| {
            d.handles
                .iter()
                .map(move |h| (d.id, h.pid, h.handle, h.access))
        })
        .collect();
    assert_eq!(handles, [(1, a, 1, 1), (2, a, 2, 2), (3, a, 3, 2)]);
    assert_eq!(t.count("mailbox_created"), 4);
}

#[test]
fn s02_first_open_of_the_second_task() {
    let mut t = Harness::new();
    t.spawn(&idle());
    let b = t.spawn(&Script::new().open("app:x", 0).park());
    t.run_task(b);
    assert_eq!(t.result(b, 0)[..2], [OK, 4]);
    let snap = t.exec.mailbox_snapshot();
    let owned: Vec<u16> = snap
        .descriptors
        .iter()
        .filter(|d| d.owner == Some(b))
        .map(|d| d.id)
        .collect();
    assert_eq!(owned, [5, 6, 7, 8]);
    let x = snap.descriptor(9).unwrap();
    assert_eq!(
        (x.namespace, x.name.as_str(), x.owner),
        (Namespace::App, "x", None)
    );
}

#[test]
fn s03_name_resolution_maps_to_the_same_or_new_descriptors() {
    let mut t = Harness::new();
    let a_script = Script::new()
        .open("svc:stdio.out@1", 0) // 0
        .open("stdio.out", 0) // 1
        .open("pid:", 0) // 2
        .open("app:x", 0) // 3
        .park() // 4
        .open("app:x@2", 0) // 5
        .park();
    let a = t.spawn(&a_script);
    let b = t.spawn(&Script::new().open("app:x", 0).park());
    t.run_task(a);
    t.run_task(b);
    t.release(a);
    let snap = t.exec.mailbox_snapshot();
    let desc_of = |pid, handle| {
        snap.descriptors
            .iter()
            .find(|d| d.handles.iter().any(|h| h.pid == pid && h.handle == handle))
            .map(|d| d.id)
    };
    let ha: Vec<u16> = (0..4).map(|s| t.result(a, s)[1] as u16).collect();
    assert_eq!(desc_of(a, ha[0]), Some(2));
    assert_eq!(desc_of(a, ha[1]), Some(2));
    assert_eq!(desc_of(a, ha[2]), Some(4));
    let hb = t.result(b, 0)[1] as u16;
    assert_eq!(desc_of(a, ha[3]), desc_of(b, hb));
    let x2 = desc_of(a, t.result(a, 5)[1] as u16).unwrap();
    assert_ne!(Some(x2), desc_of(a, ha[3]));
    assert_eq!(snap.descriptor(x2).unwrap().owner, Some(b));
}

#[test]
fn s04_malformed_targets_give_internal_and_nothing_is_created() {
    let mut t = Harness::new();
    let long = "a".repeat(33);
    let bad: Vec<&[u8]> = vec![
        b"pid:abc",
        b"svc:x@abc",
        b"",
        long.as_bytes(),
        b"svc:",
        b"app:a b",
        b"pid:1@2",
    ];
    let mut script = Script::new();
    for target in &bad {
        script = script.open_raw(target, 0);
    }
    let a = t.spawn(&script.uart(b"still running\n"));
    t.clear_events();
    t.run_task(a);
    for step in 0..bad.len() {
        assert_eq!(t.result(a, step)[..2], [INTERNAL, 0], "target {step}");
    }
    assert_eq!(t.count("mailbox_error"), bad.len());
    assert_eq!(t.count("mailbox_created"), 0);
    assert_eq!(t.exec.mailbox_snapshot().descriptors.len(), 4);
    assert_eq!(t.state(a), TaskState::Exited);
    assert_eq!(t.stdout(a), "still running\n");
}

#[test]
fn s05_unknown_owner_is_no_descriptor() {
    let mut t = Harness::new();
    let a = t.spawn(&Script::new().open("svc:foo@99", 0));
    t.run_task(a);
    assert_eq!(t.result(a, 0)[..2], [5, 0]);
}

#[test]
fn s06_capacity_accounting_and_single_reader_backpressure() {
    let mut t = Harness::new();
    let a = t.spawn(
        &Script::new()
            .bind("app:c", 64, 0) // 0
            .open("app:c", 0) // 1
            .send(h(1), &[0x55; 56], 0, 0) // 2
            .peek(h(1)) // 3
            .send(h(1), b"", 0, 0), // 4
    );
    t.run_task(a);
    assert_eq!(t.result(a, 2)[..2], [OK, 56]);
    assert_eq!(t.result(a, 3), [OK, 1, 64, 56, 64]);
    assert_eq!(t.result(a, 4)[..2], [1, 0]);
    let bp: Vec<_> = t
        .mailbox_events()
        .into_iter()
        .filter(|e| matches!(e, MailboxEvent::Backpressure { .. }))
        .collect();
    assert!(matches!(
        bp.as_slice(),
        [MailboxEvent::Backpressure {
            policy: Policy::Single,
            requested: 8,
            ..
        }]
    ));
}

#[test]
fn s07_message_larger_than_capacity() {
    let mut t = Harness::new();
    let a = t.spawn(
        &Script::new()
            .open("app:t", 0)
            .send(h(0), &[1; 57], 0, 0)
            .peek(h(0)),
    );
    t.run_task(a);
    assert_eq!(t.result(a, 1)[..2], [4, 0]);
    assert_eq!(t.result(a, 2)[1], 0);
}

#[test]
fn s08_zero_length_send_wakes_a_blocked_receiver() {
    let mut t = Harness::new();
    let a = t.spawn(&Script::new().park().open("app:z", 0).send(h(1), b"", 0, 0));
    let b = t.spawn(
        &Script::new()
            .open("app:z", 0)
            .recv(h(0), BUF, 16, 0xFFFF, 0)
            .park(),
    );
    t.run_task(a);
    t.run_task(b);
    assert_eq!(t.state(b), WAITING_MBX);
    t.release(a);
    assert_eq!(t.result(a, 2)[..2], [OK, 0]);
    t.run();
    assert_eq!(t.result(b, 1), [OK, 0, 0, 0, 1]);
    let z = t.exec.mailbox_snapshot();
    assert_eq!(z.by_target("app:z").unwrap().bytes_used, 0);
}

#[test]
fn s09_single_reader_wakes_waiters_in_fifo_order_one_per_message() {
    let mut t = Harness::new();
    let a = t.spawn(
        &Script::new()
            .park() // 0
            .open("app:q", 0) // 1
            .send(h(1), b"m1", 0, 0) // 2
            .park() // 3
            .send(h(1), b"m2", 0, 0) // 4
            .send(h(1), b"m3", 0, 0), // 5
    );
    let receiver = Script::new()
        .open("app:q", 0)
        .recv(h(0), BUF, 16, 0xFFFF, 0);
    let bcd: Vec<_> = (0..3).map(|_| t.spawn(&receiver)).collect();
    t.run_task(a);
    for &p in &bcd {
        t.run_task(p);
        assert_eq!(t.state(p), WAITING_MBX);
    }
    t.clear_events();
    t.release(a);
    let woken: Vec<u32> = t
        .mailbox_events()
        .iter()
        .filter_map(|e| match e {
            MailboxEvent::Wake { pid, .. } => Some(*pid),
            _ => None,
        })
        .collect();
    assert_eq!(woken, [2], "m1 wakes only B");
    assert_eq!(t.state(3), WAITING_MBX);
    t.release(a);
    t.run();
    for (p, m) in bcd.iter().zip([b"m1", b"m2", b"m3"]) {
        assert_eq!(t.result(*p, 1)[..2], [OK, 2]);
        assert_eq!(t.memory(*p, BUF, 2), m);
    }
}

#[test]
fn s10_a_message_is_assigned_at_enqueue() {
    let mut t = Harness::new();
    let a = t.spawn(
        &Script::new()
            .open("app:q", 0)
            .park()
            .send(h(0), b"m1", 0, 0),
    );
    let b = t.spawn(
        &Script::new()
            .open("app:q", 0)
            .recv(h(0), BUF, 16, 0xFFFF, 0),
    );
    let c = t.spawn(
        &Script::new()
            .open("app:q", 0)
            .park()
            .recv(h(0), BUF, 16, 0, 0),
    );
    t.run_task(a);
    t.run_task(b);
    t.run_task(c);
    t.release(a); // B is READY now but has not run
    assert_eq!(t.state(b), TaskState::Ready);
    t.release(c);
    assert_eq!(t.status(c, 2), 3);
    t.run();
    assert_eq!(t.result(b, 1)[..2], [OK, 2]);
    assert_eq!(t.memory(b, BUF, 2), b"m1");
}

#[test]
fn s11_poll_on_an_empty_mailbox_writes_the_info_record() {
    let mut t = Harness::new();
    const I: u32 = 0x2000;
    let a = t.spawn(
        &Script::new()
            .park()
            .open("app:q", 0)
            .recv(h(1), BUF, 16, 0, I),
    );
    t.run_task(a);
    assert!(t.exec.write_memory(a, I, &[0xAA; 20]));
    t.release(a);
    assert_eq!(t.result(a, 2), [3, 0, 0, 0, 0]);
    let mut want = vec![3, 0, 0, 0];
    want.extend([0; 16]);
    assert_eq!(t.memory(a, I, 20), want);
}

#[test]
fn s12_finite_timeout_expires_at_the_deadline() {
    let mut t = Harness::new();
    const I: u32 = 0x2000;
    let a = t.spawn(
        &Script::new()
            .park()
            .open("app:q", 0)
            .recv(h(1), BUF, 16, 20, I)
            .uart(b"after\n"),
    );
    t.run_task(a);
    assert!(t.exec.write_memory(a, BUF, b"untouched"));
    let start = t.exec.now_ms();
    t.release(a);
    assert_eq!(t.state(a), WAITING_MBX);
    t.exec.advance_clock(19);
    t.drain();
    assert_eq!(t.state(a), WAITING_MBX, "t+19: still waiting");
    assert_eq!(t.exec.now_ms(), start + 19);
    t.exec.advance_clock(1);
    t.drain();
    assert_eq!(t.state(a), TaskState::Ready);
    assert_eq!(t.count("mailbox_timeout"), 1);
    assert_eq!(t.exec.task(a).unwrap().counters.mailbox_timeouts, 1);
    t.run();
    assert_eq!(t.result(a, 2), [7, 0, 0, 0, 0]);
    let mut want = vec![7, 0, 0, 0];
    want.extend([0; 16]);
    assert_eq!(t.memory(a, I, 20), want);
    assert_eq!(t.memory(a, BUF, 9), b"untouched");
    assert_eq!(t.stdout(a), "after\n", "A resumes after the SVC");
}

#[test]
fn s13_all_ones_timeout_is_infinite() {
    let mut t = Harness::new();
    let a = t.spawn(
        &Script::new()
            .open("app:q", 0)
            .recv(h(0), BUF, 16, 0xFFFF_FFFF, 0),
    );
    t.run_task(a);
    t.exec.advance_clock(600_000);
    t.drain();
    assert_eq!(t.state(a), WAITING_MBX);
    assert_eq!(t.exec.mailbox_wait(a).unwrap().deadline, None);
}

#[test]
fn s14_truncation() {
    let mut t = Harness::new();
    let a = t.spawn(
        &Script::new()
            .open("app:q", 0)
            .send(h(0), b"0123456789", 0, 0)
            .park()
            .recv(h(0), BUF, 4, 0, 0)
            .peek(h(0)),
    );
    t.run_task(a);
    assert!(t.exec.write_memory(a, BUF, b"########"));
    t.release(a);
    let r = t.result(a, 3);
    assert_eq!(r[1], 4);
    assert_eq!(r[2] & 0x10, 0x10);
    assert_eq!(t.memory(a, BUF, 5), b"0123#");
    assert_eq!(t.result(a, 4)[1], 0);
}

#[test]
fn s15_metadata_reaches_the_receiver_without_forged_runtime_bits() {
    let mut t = Harness::new();
    let a = t.spawn(
        &Script::new()
            .park()
            .open("app:m", 0)
            .send(h(1), b"x", 0x010C, 7),
    );
    let b = t.spawn(
        &Script::new()
            .open("app:m", 0)
            .recv(h(0), BUF, 16, 0xFFFF, 0),
    );
    t.run_task(a);
    t.run_task(b);
    t.release(a);
    t.run();
    assert_eq!(t.result(b, 1)[2..], [0x0104, 7, 1]);
}

#[test]
fn s16_access_modes_are_enforced() {
    let mut t = Harness::new();
    let a = t.spawn(
        &Script::new()
            .open("app:r", 1) // 0
            .send(h(0), b"x", 0, 0) // 1
            .open("app:r", 2) // 2
            .recv(h(2), BUF, 16, 0, 0) // 3
            .tap(h(2), 1) // 4
            .send(n(1), b"x", 0, 0) // 5: stdin handle is read-only
            .peek(h(0)), // 6
    );
    t.clear_events();
    t.run_task(a);
    for step in [1, 3, 4, 5] {
        assert_eq!(t.status(a, step), 6, "step {step}");
    }
    assert_eq!(t.count("mailbox_error"), 4);
    assert_eq!(t.result(a, 6)[1], 0, "nothing enqueued");
    assert_eq!(t.count("mailbox_send"), 0);
}

#[test]
fn s17_descriptor_mode_gives_the_default_access() {
    let mut t = Harness::new();
    let a = t.spawn(&Script::new().bind("app:w", 0, 0x02).open("app:w", 0).recv(
        h(1),
        BUF,
        16,
        0,
        0,
    ));
    t.run_task(a);
    assert_eq!(t.status(a, 2), 6);
}

#[test]
fn s18_fanout_delivers_to_every_reader_present_at_send() {
    let mut t = Harness::new();
    let a = t.spawn(
        &Script::new()
            .bind("shared:t", 64, 0x0B)
            .park()
            .open("shared:t", 2)
            .send(h(2), b"a", 0, 0),
    );
    let reader = Script::new()
        .open("shared:t", 1)
        .park()
        .recv(h(0), BUF, 16, 0, 0);
    let b = t.spawn(&reader);
    let c = t.spawn(&reader);
    let d = t.spawn(
        &Script::new()
            .park()
            .open("shared:t", 1)
            .recv(h(1), BUF, 16, 0, 0),
    );
    t.run_task(a);
    t.run_task(b);
    t.run_task(c);
    t.run_task(d);
    t.release(a);
    for p in [b, c] {
        t.release(p);
        assert_eq!(t.result(p, 2)[..2], [OK, 1]);
        assert_eq!(t.memory(p, BUF, 1), b"a");
    }
    t.release(d);
    assert_eq!(t.status(d, 2), 3);
}

#[test]
fn s19_fanout_drop_mode_is_fanout() {
    let mut t = Harness::new();
    let a = t.spawn(
        &Script::new()
            .bind("app:log", 0, 0x13)
            .park()
            .open("app:log", 2)
            .send(h(2), b"one", 0, 0),
    );
    let reader = Script::new()
        .open("app:log", 0)
        .recv(h(0), BUF, 16, 0xFFFF, 0);
    t.run_task(a);
    let b = t.spawn(&reader);
    let c = t.spawn(&reader);
    t.run_task(b);
    t.run_task(c);
    t.release(a);
    t.run();
    for p in [b, c] {
        assert_eq!(t.result(p, 1)[..2], [OK, 3]);
        assert_eq!(t.memory(p, BUF, 3), b"one");
    }
}

#[test]
fn s20_blocked_fanout_readers_all_wake_and_the_message_is_reclaimed() {
    let mut t = Harness::new();
    let a = t.spawn(
        &Script::new()
            .bind("shared:t", 64, 0x0B)
            .park()
            .open("shared:t", 2)
            .send(h(2), b"x", 0, 0)
            .peek(h(2)),
    );
    t.run_task(a);
    let reader = Script::new()
        .open("shared:t", 1)
        .recv(h(0), BUF, 16, 0xFFFF, 0);
    let b = t.spawn(&reader);
    let c = t.spawn(&reader);
    t.run_task(b);
    t.run_task(c);
    t.clear_events();
    t.release(a);
    assert_eq!(t.count("mailbox_wake"), 2);
    assert_eq!(t.result(a, 4)[2], 0, "PEEK R2 = 0 afterwards");
    t.run();
    for p in [b, c] {
        assert_eq!(t.memory(p, BUF, 1), b"x");
    }
}

#[test]
fn s21_fanout_drop_overruns_the_slow_reader() {
    let mut t = Harness::new();
    let a = t.spawn(
        &Script::new()
            .bind("shared:d", 16, 0x1B)
            .park()
            .open("shared:d", 2)
            .send(h(2), b"first", 0, 0)
            .send(h(2), b"second", 0, 0),
    );
    t.run_task(a);
    let b = t.spawn(
        &Script::new()
            .open("shared:d", 1)
            .park()
            .recv(h(0), BUF, 16, 0, 0),
    );
    t.run_task(b);
    t.clear_events();
    t.release(a);
    assert_eq!(t.status(a, 3), OK);
    assert_eq!(t.status(a, 4), OK);
    t.release(b);
    let r = t.result(b, 2);
    assert_eq!(r[1], 6);
    assert_eq!(t.memory(b, BUF, 6), b"second");
    assert_eq!(r[2] & 0x08, 0x08);
    assert!(t.mailbox_events().iter().any(|e| matches!(
        e,
        MailboxEvent::Overrun {
            dropped_seq: 0,
            dropped_length: 5,
            reason: OverrunReason::FanoutDrop,
            ..
        }
    )));
}

#[test]
fn s22_fanout_block_refuses_then_accepts_after_the_read() {
    let mut t = Harness::new();
    let a = t.spawn(
        &Script::new()
            .bind("shared:d", 16, 0x2B)
            .park()
            .open("shared:d", 2)
            .send(h(2), b"first", 0, 0)
            .send(h(2), b"second", 0, 0)
            .park()
            .send(h(2), b"second", 0, 0),
    );
    t.run_task(a);
    let b = t.spawn(
        &Script::new()
            .open("shared:d", 1)
            .park()
            .recv(h(0), BUF, 16, 0, 0),
    );
    t.run_task(b);
    t.release(a);
    assert_eq!(t.status(a, 4), 1);
    t.release(b);
    assert_eq!(t.memory(b, BUF, 5), b"first");
    t.release(a);
    assert_eq!(t.status(a, 6), OK);
}

#[test]
fn s23_fanout_without_readers_reclaims_at_once() {
    let mut t = Harness::new();
    let a = t.spawn(
        &Script::new()
            .bind("shared:n", 0, 0x0B)
            .open("shared:n", 2)
            .send(h(1), b"z", 0, 0)
            .peek(h(1)),
    );
    t.run_task(a);
    assert_eq!(t.status(a, 2), OK);
    assert_eq!(t.result(a, 3)[1..3], [0, 0]);
}

#[test]
fn s24_a_tap_on_stdout_sees_uart_output_and_the_log_gets_it_too() {
    let mut t = Harness::new();
    let a = t.spawn(&Script::new().park().uart(b"hi"));
    let b = t.spawn(
        &Script::new()
            .open("svc:stdio.out@1", 0x05)
            .park()
            .recv(h(0), BUF, 16, 0, 0),
    );
    t.run_task(a);
    t.run_task(b);
    t.release(a);
    assert_eq!(t.status(a, 1), 2);
    assert_eq!(t.stdout(a), "hi");
    t.release(b);
    assert_eq!(t.result(b, 2)[..3], [OK, 2, 0x0001]);
    assert_eq!(t.memory(b, BUF, 2), b"hi");
}

#[test]
fn s25_tap_rate_limit_embedded() {
    let mut t = Harness::embedded();
    let mut sends = Script::new().bind("app:m", 1024, 0).open("app:m", 0).park();
    for _ in 0..25 {
        sends = sends.send(h(1), b"", 0, 0);
    }
    let a = t.spawn(&sends.park().send(h(1), b"", 0, 0));
    let mut polls = Script::new().open("app:m", 0x05).park();
    for _ in 0..21 {
        polls = polls.recv(h(0), BUF, 8, 0, 0);
    }
    let b = t.spawn(&polls.park().recv(h(0), BUF, 8, 0, 0));
    let mut reads = Script::new().open("app:m", 0).park();
    for _ in 0..27 {
        reads = reads.recv(h(0), BUF, 8, 0, 0);
    }
    let c = t.spawn(&reads);
    t.run_task(a);
    t.run_task(b);
    t.run_task(c);
    t.clear_events();
    t.release(a); // 25 sends inside clock second 0
    t.release(b); // 21 polls
    let polled: Vec<u32> = (2..23).map(|s| t.status(b, s)).collect();
    assert_eq!(polled[..20], [OK; 20]);
    assert_eq!(polled[20], 3);
    let limit_events: Vec<_> = t
        .mailbox_events()
        .into_iter()
        .filter(|e| {
            matches!(
                e,
                MailboxEvent::Backpressure {
                    policy: Policy::TapRateLimit,
                    limit: Some(20),
                    ..
                }
            )
        })
        .collect();
    assert_eq!(limit_events.len(), 1);
    t.exec.advance_clock(1000);
    t.release(a);
    t.release(b);
    let last = t.result(b, 24);
    assert_eq!(last[0], OK);
    assert_eq!(last[2] & 0x08, 0x08, "the last message carries OVERRUN");
    t.release(c);
    let got = (2..29).filter(|&s| t.status(c, s) == OK).count();
    assert_eq!(got, 26, "C received all 26");
}

#[test]
fn s26_closed_handle_numbers_are_reused() {
    let mut t = Harness::new();
    let a = t.spawn(
        &Script::new()
            .open("app:a", 0)
            .open("app:b", 0)
            .close(n(4))
            .open("app:c", 0),
    );
    t.run_task(a);
    assert_eq!(t.result(a, 0)[1], 4);
    assert_eq!(t.result(a, 1)[1], 5);
    assert_eq!(t.result(a, 3)[1], 4);
}

#[test]
fn s27_handle_limit_embedded() {
    let mut t = Harness::embedded();
    let mut s = Script::new();
    for i in 0..6 {
        s = s.open(&format!("app:h{i}"), 0);
    }
    let a = t.spawn(&s);
    t.run_task(a);
    let handles: Vec<u32> = (0..5).map(|i| t.result(a, i)[1]).collect();
    assert_eq!(handles, [4, 5, 6, 7, 8]);
    assert_eq!(t.result(a, 5)[..2], [5, 0]);
    assert!(t.mailbox_events().iter().any(|e| matches!(
        e,
        MailboxEvent::Exhausted {
            what: Exhaustion::HandleLimit { .. },
            ..
        }
    )));
}

#[test]
fn s28_descriptor_pool_embedded() {
    let mut t = Harness::embedded();
    let mut s = Script::new();
    for i in 1..=5 {
        s = s.bind(&format!("app:d{i}"), 0, 0);
    }
    let a = t.spawn(&s);
    t.spawn(&idle());
    t.spawn(&idle());
    assert_eq!(t.exec.mailbox_snapshot().descriptors.len(), 12);
    t.run_task(a);
    let st: Vec<u32> = (0..5).map(|i| t.status(a, i)).collect();
    assert_eq!(st, [0, 0, 0, 0, 5]);
    assert!(t.mailbox_events().iter().any(|e| matches!(
        e,
        MailboxEvent::Exhausted {
            what: Exhaustion::DescriptorPoolFull { .. },
            ..
        }
    )));
}

#[test]
fn s29_close_and_invalid_handles() {
    let mut t = Harness::new();
    let a = t.spawn(
        &Script::new()
            .open("app:x", 0)
            .close(n(99))
            .close(h(0))
            .close(h(0))
            .send(h(0), b"m", 0, 0),
    );
    t.run_task(a);
    let st: Vec<u32> = (1..5).map(|i| t.status(a, i)).collect();
    assert_eq!(st, [2, 0, 2, 2]);
}

#[test]
fn s30_killed_waiter_never_consumes() {
    let mut t = Harness::new();
    let a = t.spawn(
        &Script::new()
            .open("app:q", 0)
            .park()
            .send(h(0), b"m", 0, 0)
            .peek(h(0)),
    );
    let b = t.spawn(
        &Script::new()
            .open("app:q", 0)
            .recv(h(0), BUF, 16, 0xFFFF, 0),
    );
    t.run_task(a);
    t.run_task(b);
    t.clear_events();
    t.exec.kill(b).unwrap();
    t.drain();
    assert_eq!(freed_ids(&t.mailbox_events()), [5, 6, 7, 8]);
    t.clear_events();
    t.release(a);
    assert_eq!(t.status(a, 2), OK);
    assert_eq!(t.count("mailbox_wake"), 0);
    assert_eq!(t.result(a, 3)[1], 1);
}

#[test]
fn s31_holders_keep_a_descriptor_until_reaped() {
    let mut t = Harness::new();
    let a = t.spawn(&Script::new().bind("app:z", 0, 0));
    t.run_task(a);
    assert_eq!(t.state(a), TaskState::Exited);
    assert!(t.exec.mailbox_snapshot().by_target("app:z").is_some());
    t.clear_events();
    t.exec.kill(a).unwrap(); // reaps the terminal task
    t.drain();
    let mut freed = freed_ids(&t.mailbox_events());
    freed.sort();
    assert_eq!(freed, [1, 2, 3, 4, 5]);
    assert!(t.exec.mailbox_snapshot().descriptors.is_empty());
}

#[test]
fn s32_ownerless_leftovers_survive_their_sender() {
    let mut t = Harness::new();
    let a = t.spawn(
        &Script::new()
            .open("app:drop", 0)
            .send(h(0), b"m", 0, 0)
            .close(h(0)),
    );
    let b = t.spawn(
        &Script::new()
            .park()
            .open("app:drop", 0)
            .recv(h(1), BUF, 16, 0, 0)
            .close(h(1)),
    );
    t.run_task(a);
    t.run_task(b);
    t.exec.kill(a).unwrap();
    assert!(t.exec.mailbox_snapshot().by_target("app:drop").is_some());
    t.clear_events();
    t.release(b);
    assert_eq!(t.result(b, 2)[..2], [OK, 1]);
    assert_eq!(t.result(b, 2)[4], 1);
    assert_eq!(t.memory(b, BUF, 1), b"m");
    assert_eq!(freed_ids(&t.mailbox_events()).len(), 1, "freed after CLOSE");
    assert!(t.exec.mailbox_snapshot().by_target("app:drop").is_none());
}

#[test]
fn s33_bind_reconfigures_only_an_empty_descriptor() {
    let mut t = Harness::new();
    let a = t.spawn(
        &Script::new()
            .bind("app:c", 64, 0) // 0
            .open("app:c", 0) // 1
            .send(h(1), b"x", 0, 0) // 2
            .bind("app:c", 128, 0) // 3
            .recv(h(1), BUF, 16, 0, 0) // 4
            .bind("app:c", 128, 0) // 5
            .peek(h(1)) // 6
            .bind("app:c", 0, 0) // 7
            .bind("app:c", 5, 0), // 8
    );
    t.run_task(a);
    assert_eq!(t.status(a, 3), 1);
    assert_eq!(t.status(a, 5), 0);
    assert_eq!(t.result(a, 6)[4], 128);
    assert_eq!(t.status(a, 7), 0);
    assert_eq!(t.status(a, 8), INTERNAL);
}

#[test]
fn s34_host_stdin_send_wakes_the_reader_with_src_pid_0() {
    let mut t = Harness::new();
    const I: u32 = 0x2000;
    t.spawn(&idle());
    let b = t.spawn(&Script::new().recv(n(1), BUF, 64, 0xFFFF, I));
    t.run_task(b);
    t.exec
        .mailbox_send_to(0, "svc:stdio.in@2", b"hi", 0, 0)
        .unwrap();
    t.run();
    assert_eq!(t.result(b, 0), [OK, 2, 0, 0, 0]);
    let mut want = vec![0, 0, 0, 0, 2, 0, 0, 0];
    want.extend([0; 12]);
    assert_eq!(t.memory(b, I, 20), want);
}

#[test]
fn s35_value_notification_delivery_wakes_the_subscriber() {
    // VAL itself is a later issue; this checks the mailbox half of the scenario: a
    // notification is an internal enqueue (6 bytes: oid, old, new; src_pid = setter)
    // that runs the wake-up like any other path.
    let mut t = Harness::new();
    let a = t.spawn(&idle());
    let b = t.spawn(
        &Script::new()
            .open("app:n", 0)
            .recv(h(0), BUF, 16, 0xFFFF, 0)
            .peek(h(0)),
    );
    t.run_task(a);
    t.run_task(b);
    let desc = t.exec.mailboxes().lookup(b, b"app:n").unwrap();
    let payload = [0x01, 0x01, 0x00, 0x00, 0x00, 0x3C]; // oid 0x0101, 0.0 -> 1.0
    t.exec
        .mailbox_deliver(a, desc, &payload, 0, 0, a, Source::Value)
        .unwrap();
    t.run();
    let r = t.result(b, 1);
    assert_eq!((r[0], r[1], r[4]), (OK, 6, a));
    assert_eq!(t.memory(b, BUF, 6), payload);
    assert_eq!(t.result(b, 2)[1], 0);
    assert!(t.mailbox_events().iter().any(|e| matches!(
        e,
        MailboxEvent::Send {
            source: Source::Value,
            ..
        }
    )));
}

#[test]
fn s36_stdout_back_pressure_with_a_full_log() {
    let mut t = Harness::with(Config {
        stdio_sink: StdioSink::Log {
            limit: 256,
            evict_delivered: false,
        },
        ..Config::default()
    });
    let a = t.spawn(&Script::new().fs_write(1, &[b'o'; 600]).park());
    t.run_task(a);
    assert_eq!(t.status(a, 0), 496);
    assert_eq!(t.exec.stdio_log(a, StdioStream::Out).len(), 248);
    let out = t.exec.mailbox_snapshot();
    assert_eq!(out.by_target("svc:stdio.out@1").unwrap().bytes_used, 256);
    let first = t.exec.stdio_listen(a, StdioStream::Out, 64, 512);
    assert_eq!(first.concat().len(), 248);
    assert_eq!(
        t.exec.stdio_log(a, StdioStream::Out).len(),
        248,
        "the queued 248 moved in"
    );
    assert_eq!(
        t.exec
            .mailbox_snapshot()
            .by_target("svc:stdio.out@1")
            .unwrap()
            .bytes_used,
        0
    );
}

#[test]
fn s37_a_paused_waiter_gets_its_message_and_stays_paused() {
    let mut t = Harness::new();
    let a = t.spawn(&Script::new().open("app:q", 0).park().send(h(0), b"m", 0, 0));
    let b = t.spawn(
        &Script::new()
            .open("app:q", 0)
            .recv(h(0), BUF, 16, 0xFFFF, 0),
    );
    t.run_task(a);
    t.run_task(b);
    t.exec.pause(b).unwrap();
    t.clear_events();
    t.release(a);
    assert_eq!(t.count("mailbox_wake"), 1);
    assert_eq!(t.state(b), TaskState::Paused);
    t.exec.resume(b).unwrap();
    t.run();
    assert_eq!(t.result(b, 1)[..2], [OK, 1]);
    assert_eq!(t.state(b), TaskState::Exited);
}

#[test]
fn s38_receive_buffer_outside_the_window() {
    let mut t = Harness::new();
    let a = t.spawn(
        &Script::new()
            .open("app:q", 0)
            .send(h(0), b"m", 0, 0)
            .recv(h(0), 0xFFF0, 0x40, 0, 0)
            .peek(h(0)),
    );
    t.run_task(a);
    assert_eq!(t.status(a, 2), INTERNAL);
    assert_eq!(t.result(a, 3)[1], 1);
}

#[test]
fn s39_producer_consumer_demo() {
    let mut t = Harness::new();
    let consumer = assemble_repo_file("examples/demo/consumer.mvasm");
    let producer = assemble_repo_file("examples/demo/producer.mvasm");
    let c = t.exec.spawn_bytes(&consumer, Default::default()).unwrap();
    let p = t.exec.spawn_bytes(&producer, Default::default()).unwrap();
    assert_eq!((c, p), (1, 2));
    t.run();
    // a
    assert_eq!(t.state(c), WAITING_MBX);
    assert_eq!(t.state(p), WAITING_MBX);
    let snap = t.exec.mailbox_snapshot();
    let procon = snap.descriptor(9).unwrap();
    assert_eq!(
        (
            procon.target.as_str(),
            procon.owner,
            procon.capacity,
            procon.mode
        ),
        ("app:procon", None, 64, 3)
    );
    let handles_of = |pid, desc: u16| -> Vec<u16> {
        snap.descriptor(desc)
            .unwrap()
            .handles
            .iter()
            .filter(|h| h.pid == pid)
            .map(|h| h.handle)
            .collect()
    };
    assert_eq!(handles_of(c, 9), [4]);
    assert_eq!(
        handles_of(p, 5),
        [1, 4],
        "P's stdin: handle 1 and the OPEN's 4"
    );
    assert_eq!(handles_of(p, 9), [5]);
    assert_eq!(t.stdout(c), "mailbox consumer listening on app:procon\n");
    assert_eq!(
        t.stdout(p),
        "mailbox producer ready: send data via shell stdin\n"
    );
    // b
    t.clear_events();
    t.exec.send_stdin(p, b"hello").unwrap();
    t.run();
    let key: Vec<(String, u32, u16, u16, u16)> = t
        .mailbox_events()
        .iter()
        .filter_map(|e| match e {
            MailboxEvent::Wake {
                pid,
                descriptor,
                handle,
                length,
                src_pid,
                ..
            } => Some((
                "wake".into(),
                *pid,
                *descriptor,
                *handle,
                *length + 100 * *src_pid as u16,
            )),
            MailboxEvent::Send {
                pid,
                descriptor: 9,
                handle,
                length,
                ..
            } => Some(("send".into(), *pid, 9, *handle, *length)),
            _ => None,
        })
        .collect();
    assert_eq!(
        key,
        [
            ("wake".to_string(), 2, 5, 4, 5),
            ("send".to_string(), 2, 9, 5, 5),
            ("wake".to_string(), 1, 9, 4, 205),
        ]
    );
    assert!(t.stdout(c).ends_with("hello\n"));
    assert_eq!(t.state(c), WAITING_MBX);
    assert_eq!(t.state(p), WAITING_MBX);
    // c
    t.exec.send_stdin(p, b"hello world\n").unwrap();
    t.run();
    assert!(t.stdout(c).ends_with("hello\nhello world\n"));
    assert!(t.mailbox_events().iter().any(|e| matches!(
        e,
        MailboxEvent::Send {
            pid: 2,
            descriptor: 9,
            length: 11,
            ..
        }
    )));
    // d
    t.exec.send_stdin(p, b"exit").unwrap();
    t.run();
    assert_eq!(
        t.stdout(c),
        "mailbox consumer listening on app:procon\nhello\nhello world\nexit\nmailbox consumer: exit requested\n"
    );
    assert_eq!(
        t.stdout(p),
        "mailbox producer ready: send data via shell stdin\nmailbox producer: exit requested\n"
    );
    for pid in [c, p] {
        assert_eq!(t.state(pid), TaskState::Exited);
        assert_eq!(t.exec.task(pid).unwrap().exit_status(), Some(0));
    }
    // e
    t.clear_events();
    t.exec.kill(c).unwrap();
    t.exec.kill(p).unwrap();
    t.drain();
    let mut freed = freed_ids(&t.mailbox_events());
    freed.sort();
    assert_eq!(freed, (1..=9).collect::<Vec<u16>>());
    assert_eq!(t.exec.mailbox_snapshot().stats.active_descriptors, 0);
    assert!(t.events.iter().any(|e| matches!(
        e,
        Event::TaskState {
            new: ReportedState::Terminated,
            ..
        }
    )));
    let _ = flags::STDOUT;
}
