//! Unit tests of the mailbox table, one rule at a time.

use crate::*;

fn mb() -> Mailboxes {
    Mailboxes::new(Limits::HOST)
}

fn with_tasks(n: Pid) -> Mailboxes {
    let mut m = mb();
    for pid in 1..=n {
        m.add_task(pid, &[]).unwrap();
    }
    m.drain_events().for_each(drop);
    m
}

fn open(m: &mut Mailboxes, pid: Pid, target: &str, flags: u32) -> u16 {
    m.open(pid, Some(target.as_bytes()), flags).unwrap()
}

fn send(m: &mut Mailboxes, pid: Pid, h: u16, data: &[u8]) -> Result<Sent, Status> {
    m.send(pid, h, Some(data), data.len() as u16, 0, 0, 0)
}

fn poll(m: &mut Mailboxes, pid: Pid, h: u16, max: u16) -> Result<Received, Status> {
    match m.recv(pid, h, max, true, RecvWait::Poll)? {
        RecvOutcome::Message(r) => Ok(r),
        RecvOutcome::Blocked => panic!("a poll blocked"),
    }
}

fn block(m: &mut Mailboxes, pid: Pid, h: u16, deadline: Option<u64>) {
    block_max(m, pid, h, 64, deadline);
}

fn block_max(m: &mut Mailboxes, pid: Pid, h: u16, max: u16, deadline: Option<u64>) {
    let out = m.recv(
        pid,
        h,
        max,
        true,
        RecvWait::Block {
            timeout: 0xFFFF,
            deadline,
            tag: 0,
        },
    );
    assert_eq!(out, Ok(RecvOutcome::Blocked));
}

fn completions(m: &mut Mailboxes) -> Vec<Completion> {
    std::iter::from_fn(|| m.pop_completion()).collect()
}

fn events(m: &mut Mailboxes) -> Vec<MailboxEvent> {
    m.drain_events().collect()
}

fn count(events: &[MailboxEvent], name: &str) -> usize {
    events.iter().filter(|e| e.type_name() == name).count()
}

#[test]
fn default_channels_are_created_in_order_with_their_handles() {
    let mut m = mb();
    m.add_task(1, &[]).unwrap();
    m.add_task(2, &[]).unwrap();
    let snap = m.snapshot();
    let targets: Vec<_> = snap
        .descriptors
        .iter()
        .map(|d| (d.id, d.target.as_str()))
        .collect();
    assert_eq!(
        targets,
        [
            (1, "svc:stdio.in@1"),
            (2, "svc:stdio.out@1"),
            (3, "svc:stdio.err@1"),
            (4, "pid:1"),
            (5, "svc:stdio.in@2"),
            (6, "svc:stdio.out@2"),
            (7, "svc:stdio.err@2"),
            (8, "pid:2"),
        ]
    );
    assert_eq!(snap.descriptor(1).unwrap().capacity, 256);
    assert_eq!(snap.descriptor(4).unwrap().capacity, 64);
    let access: Vec<_> = snap.descriptors[..3]
        .iter()
        .map(|d| (d.handles[0].handle, d.handles[0].access))
        .collect();
    assert_eq!(access, [(1, 1), (2, 2), (3, 2)]);
    assert_eq!(count(&events(&mut m), "mailbox_created"), 8);
    assert_eq!(m.handles_of(1), [1, 2, 3]);
}

#[test]
fn first_open_gets_handle_4_and_freed_numbers_are_reused() {
    let mut m = with_tasks(1);
    assert_eq!(open(&mut m, 1, "app:a", 0), 4);
    assert_eq!(open(&mut m, 1, "app:b", 0), 5);
    m.close(1, 4).unwrap();
    assert_eq!(open(&mut m, 1, "app:c", 0), 4);
}

#[test]
fn same_key_same_descriptor_owner_qualified_names_differ() {
    let mut m = with_tasks(2);
    let a = open(&mut m, 1, "app:x", 0);
    let b = open(&mut m, 2, "app:x", 0);
    let c = open(&mut m, 1, "app:x@2", 0);
    let snap = m.snapshot();
    let desc = |pid, h| {
        snap.descriptors
            .iter()
            .find(|d| d.handles.iter().any(|v| v.pid == pid && v.handle == h))
            .unwrap()
            .id
    };
    assert_eq!(desc(1, a), desc(2, b));
    assert_ne!(desc(1, a), desc(1, c));
    assert_eq!(snap.descriptor(desc(1, c)).unwrap().owner, Some(2));
    assert_eq!(m.lookup(1, b"stdio.out"), Some(2));
    assert_eq!(m.lookup(2, b"svc:stdio.out@1"), Some(2));
}

#[test]
fn malformed_targets_fail_with_internal_and_an_error_event() {
    let mut m = with_tasks(1);
    for bad in [&b"pid:abc"[..], b"", b"svc:", b"app:a b"] {
        assert_eq!(m.open(1, Some(bad), 0), Err(Status::Internal));
    }
    assert_eq!(m.open(1, None, 0), Err(Status::Internal));
    assert_eq!(m.bind(1, None, 0, 0), Err(Status::Internal));
    let ev = events(&mut m);
    assert_eq!(count(&ev, "mailbox_error"), 6);
    assert_eq!(count(&ev, "mailbox_created"), 0);
    assert_eq!(m.descriptor_count(), 4);
}

#[test]
fn unknown_owner_is_no_descriptor_but_existing_leftovers_resolve() {
    let mut m = with_tasks(1);
    assert_eq!(m.open(1, Some(b"svc:foo@99"), 0), Err(Status::NoDescriptor));
    assert_eq!(m.open(1, Some(b"pid:99"), 0), Err(Status::NoDescriptor));
    // Owner 0 (the host) always exists.
    assert!(m.open(1, Some(b"svc:foo@0"), 0).is_ok());
}

#[test]
fn capacity_accounting_and_too_large() {
    let mut m = with_tasks(1);
    assert_eq!(m.bind(1, Some(b"app:c"), 64, 0), Ok(5));
    let h = open(&mut m, 1, "app:c", 0);
    assert_eq!(send(&mut m, 1, h, &[7; 56]).map(|s| s.length), Ok(56));
    let p = m.peek(1, h).unwrap();
    assert_eq!(
        (p.depth, p.bytes_used, p.next_len, p.capacity),
        (1, 64, 56, 64)
    );
    events(&mut m);
    assert_eq!(send(&mut m, 1, h, b""), Err(Status::WouldBlock));
    let ev = events(&mut m);
    assert!(matches!(
        ev.as_slice(),
        [MailboxEvent::Backpressure {
            policy: Policy::Single,
            requested: 8,
            ..
        }]
    ));
    let h2 = open(&mut m, 1, "app:t", 0);
    assert_eq!(send(&mut m, 1, h2, &[0; 57]), Err(Status::MsgTooLarge));
    assert_eq!(m.peek(1, h2).unwrap().depth, 0);
    // MSG_TOO_LARGE is decided before the buffer is looked at.
    assert_eq!(m.send(1, h2, None, 57, 0, 0, 0), Err(Status::MsgTooLarge));
    assert_eq!(m.send(1, h2, None, 5, 0, 0, 0), Err(Status::Internal));
}

#[test]
fn zero_length_messages_cost_eight_and_wake_a_waiter() {
    let mut m = with_tasks(2);
    let a = open(&mut m, 1, "app:z", 0);
    let b = open(&mut m, 2, "app:z", 0);
    block(&mut m, 2, b, None);
    send(&mut m, 1, a, b"").unwrap();
    let c = completions(&mut m);
    assert_eq!(c.len(), 1);
    let WaitOutcome::Message(r) = &c[0].outcome else {
        panic!()
    };
    assert_eq!((r.copied(), r.flags, r.channel, r.src_pid), (0, 0, 0, 1));
    assert_eq!(m.peek(1, a).unwrap().bytes_used, 0);
}

#[test]
fn single_reader_wakes_the_longest_waiting_one_per_message() {
    let mut m = with_tasks(4);
    let a = open(&mut m, 1, "app:q", 0);
    let hs: Vec<_> = (2..=4).map(|p| (p, open(&mut m, p, "app:q", 0))).collect();
    for &(p, h) in &hs {
        block(&mut m, p, h, None);
    }
    events(&mut m);
    for (i, msg) in [b"m1", b"m2", b"m3"].iter().enumerate() {
        send(&mut m, 1, a, *msg).unwrap();
        let c = completions(&mut m);
        assert_eq!(c.len(), 1, "one wake per message");
        assert_eq!(c[0].pid, 2 + i as Pid);
        let WaitOutcome::Message(r) = &c[0].outcome else {
            panic!()
        };
        assert_eq!(r.data, *msg);
        assert_eq!(count(&events(&mut m), "mailbox_wake"), 1);
    }
}

#[test]
fn a_message_is_assigned_at_enqueue() {
    let mut m = with_tasks(3);
    let a = open(&mut m, 1, "app:q", 0);
    let b = open(&mut m, 2, "app:q", 0);
    let c = open(&mut m, 3, "app:q", 0);
    block(&mut m, 2, b, None);
    send(&mut m, 1, a, b"m1").unwrap();
    assert_eq!(poll(&mut m, 3, c, 16), Err(Status::NoData));
    assert_eq!(completions(&mut m)[0].pid, 2);
}

#[test]
fn truncation_flag_and_runtime_flags_cannot_be_forged() {
    let mut m = with_tasks(2);
    let a = open(&mut m, 1, "app:m", 0);
    let b = open(&mut m, 2, "app:m", 0);
    send(&mut m, 1, a, b"0123456789").unwrap();
    let r = poll(&mut m, 2, b, 4).unwrap();
    assert_eq!(r.data, b"0123");
    assert_eq!(r.length, 10);
    assert_eq!(r.flags & flags::TRUNCATED, flags::TRUNCATED);
    assert_eq!(m.peek(2, b).unwrap().depth, 0);
    m.send(1, a, Some(b"x"), 1, 0x010C, 7, 0).unwrap();
    let r = poll(&mut m, 2, b, 4).unwrap();
    assert_eq!((r.flags, r.channel, r.src_pid), (0x0104, 7, 1));
}

#[test]
fn access_modes_are_enforced() {
    let mut m = with_tasks(1);
    let h1 = open(&mut m, 1, "app:r", 1);
    assert_eq!(send(&mut m, 1, h1, b"x"), Err(Status::Permission));
    let h2 = open(&mut m, 1, "app:r", 2);
    assert_eq!(poll(&mut m, 1, h2, 4), Err(Status::Permission));
    assert_eq!(m.tap(1, h2, 1), Err(Status::Permission));
    assert_eq!(send(&mut m, 1, 1, b"x"), Err(Status::Permission));
    assert_eq!(m.open(1, Some(b"app:r"), 0x06), Err(Status::Permission));
    assert_eq!(count(&events(&mut m), "mailbox_error"), 5);
    assert_eq!(m.peek(1, h1).unwrap().depth, 0);
    // Descriptor mode gives the default access.
    m.bind(1, Some(b"app:w"), 0, 2).unwrap();
    let w = open(&mut m, 1, "app:w", 0);
    assert_eq!(poll(&mut m, 1, w, 4), Err(Status::Permission));
    // PEEK and CLOSE are always allowed.
    assert!(m.peek(1, w).is_ok());
    assert_eq!(m.close(1, w), Ok(()));
}

#[test]
fn fanout_delivers_to_every_reader_and_reclaims() {
    let mut m = with_tasks(4);
    m.bind(1, Some(b"shared:t"), 64, 0x0B).unwrap();
    let b = open(&mut m, 2, "shared:t", 1);
    let c = open(&mut m, 3, "shared:t", 1);
    let a = open(&mut m, 1, "shared:t", 2);
    send(&mut m, 1, a, b"a").unwrap();
    let d = open(&mut m, 4, "shared:t", 1);
    assert_eq!(poll(&mut m, 2, b, 8).unwrap().data, b"a");
    assert_eq!(m.peek(1, a).unwrap().bytes_used, 9, "C has not read yet");
    assert_eq!(poll(&mut m, 3, c, 8).unwrap().data, b"a");
    assert_eq!(poll(&mut m, 4, d, 8), Err(Status::NoData));
    assert_eq!(m.peek(1, a).unwrap().bytes_used, 0, "reclaimed");
    // Blocked readers all wake.
    block(&mut m, 2, b, None);
    block(&mut m, 3, c, None);
    send(&mut m, 1, a, b"x").unwrap();
    let woke: Vec<_> = completions(&mut m).into_iter().map(|c| c.pid).collect();
    assert_eq!(woke, [2, 3]);
    assert_eq!(m.peek(1, a).unwrap().bytes_used, 9, "D has not read");
    assert_eq!(poll(&mut m, 4, d, 8).unwrap().data, b"x");
    assert_eq!(m.peek(1, a).unwrap().bytes_used, 0);
}

#[test]
fn fanout_selected_by_any_fanout_bit() {
    let mut m = with_tasks(3);
    m.bind(1, Some(b"app:log"), 0, 0x13).unwrap();
    let b = open(&mut m, 2, "app:log", 0);
    let c = open(&mut m, 3, "app:log", 0);
    let a = open(&mut m, 1, "app:log", 2);
    send(&mut m, 1, a, b"one").unwrap();
    assert_eq!(poll(&mut m, 2, b, 8).unwrap().data, b"one");
    assert_eq!(poll(&mut m, 3, c, 8).unwrap().data, b"one");
}

#[test]
fn fanout_drop_and_block_policies() {
    let mut m = with_tasks(2);
    m.bind(1, Some(b"shared:d"), 16, 0x1B).unwrap();
    let b = open(&mut m, 2, "shared:d", 1);
    let a = open(&mut m, 1, "shared:d", 2);
    send(&mut m, 1, a, b"first").unwrap();
    events(&mut m);
    send(&mut m, 1, a, b"second").unwrap();
    let ev = events(&mut m);
    assert!(ev.iter().any(|e| matches!(
        e,
        MailboxEvent::Overrun {
            dropped_seq: 0,
            dropped_length: 5,
            reason: OverrunReason::FanoutDrop,
            ..
        }
    )));
    let r = poll(&mut m, 2, b, 16).unwrap();
    assert_eq!(r.data, b"second");
    assert_eq!(r.flags & flags::OVERRUN, flags::OVERRUN);

    let mut m = with_tasks(2);
    m.bind(1, Some(b"shared:d"), 16, 0x2B).unwrap();
    let b = open(&mut m, 2, "shared:d", 1);
    let a = open(&mut m, 1, "shared:d", 2);
    send(&mut m, 1, a, b"first").unwrap();
    assert_eq!(send(&mut m, 1, a, b"second"), Err(Status::WouldBlock));
    assert!(events(&mut m).iter().any(|e| matches!(
        e,
        MailboxEvent::Backpressure {
            policy: Policy::FanoutBlock,
            ..
        }
    )));
    assert_eq!(poll(&mut m, 2, b, 16).unwrap().data, b"first");
    assert!(send(&mut m, 1, a, b"second").is_ok());
}

#[test]
fn fanout_without_readers_keeps_nothing() {
    let mut m = with_tasks(1);
    m.bind(1, Some(b"shared:n"), 0, 0x0B).unwrap();
    let a = open(&mut m, 1, "shared:n", 2);
    send(&mut m, 1, a, b"z").unwrap();
    let p = m.peek(1, a).unwrap();
    assert_eq!((p.depth, p.bytes_used), (0, 0));
}

#[test]
fn taps_mirror_without_consuming_and_drop_oldest_when_full() {
    let mut m = with_tasks(3);
    m.bind(1, Some(b"app:m"), 32, 0).unwrap();
    let a = open(&mut m, 1, "app:m", 0);
    let t = open(&mut m, 2, "app:m", 0x05);
    let c = open(&mut m, 3, "app:m", 0);
    send(&mut m, 1, a, b"0123456789").unwrap(); // cost 18
    assert_eq!(poll(&mut m, 3, c, 32).unwrap().data, b"0123456789");
    send(&mut m, 1, a, b"abcdefghij").unwrap(); // tap: 18 + 18 > 32 → drop oldest
    let ev = events(&mut m);
    assert!(ev.iter().any(|e| matches!(
        e,
        MailboxEvent::Overrun {
            reason: OverrunReason::TapDrop,
            tap: Some(TapRef {
                tap_pid: 2,
                tap_handle: 4
            }),
            ..
        }
    )));
    let p = m.peek(2, t).unwrap();
    assert_eq!((p.depth, p.bytes_used), (1, 18));
    let r = poll(&mut m, 2, t, 32).unwrap();
    assert_eq!(r.data, b"abcdefghij");
    assert_eq!(r.flags & flags::OVERRUN, flags::OVERRUN);
    // The queue still holds the message for C.
    assert_eq!(poll(&mut m, 3, c, 32).unwrap().data, b"abcdefghij");
    // Disabling the tap makes it a normal handle again.
    m.tap(2, t, 0).unwrap();
    send(&mut m, 1, a, b"q").unwrap();
    assert_eq!(poll(&mut m, 2, t, 8).unwrap().data, b"q");
}

#[test]
fn tap_rate_limit_per_aligned_second() {
    let limits = Limits {
        tap_rate_limit: 20,
        ..Limits::EMBEDDED
    };
    let mut m = Mailboxes::new(limits);
    for pid in 1..=3 {
        m.add_task(pid, &[]).unwrap();
    }
    m.bind(1, Some(b"app:m"), 1024, 0).unwrap();
    let t = open(&mut m, 2, "app:m", 0x05);
    let c = open(&mut m, 3, "app:m", 0);
    let a = open(&mut m, 1, "app:m", 0);
    events(&mut m);
    for _ in 0..25 {
        m.send(1, a, Some(b""), 0, 0, 0, 500).unwrap();
    }
    let ev = events(&mut m);
    let bp: Vec<_> = ev
        .iter()
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
    assert_eq!(bp.len(), 1);
    let got = (0..21).filter(|_| poll(&mut m, 2, t, 8).is_ok()).count();
    assert_eq!(got, 20);
    m.send(1, a, Some(b""), 0, 0, 0, 1500).unwrap();
    let r = poll(&mut m, 2, t, 8).unwrap();
    assert_eq!(r.flags & flags::OVERRUN, flags::OVERRUN);
    assert_eq!(
        (0..30).filter(|_| poll(&mut m, 3, c, 8).is_ok()).count(),
        26
    );
}

#[test]
fn handle_and_pool_limits() {
    let mut m = Mailboxes::new(Limits::EMBEDDED);
    m.add_task(1, &[]).unwrap();
    let hs: Vec<_> = (0..5)
        .map(|i| open(&mut m, 1, &format!("app:h{i}"), 0))
        .collect();
    assert_eq!(hs, [4, 5, 6, 7, 8]);
    events(&mut m);
    assert_eq!(m.open(1, Some(b"app:h9"), 0), Err(Status::NoDescriptor));
    let ev = events(&mut m);
    assert!(ev.iter().any(|e| matches!(
        e,
        MailboxEvent::Exhausted {
            what: Exhaustion::HandleLimit {
                handle_limit: 8,
                handles: 8
            },
            ..
        }
    )));

    let mut m = Mailboxes::new(Limits::EMBEDDED);
    for pid in 1..=3 {
        m.add_task(pid, &[]).unwrap();
    }
    let st: Vec<_> = (1..=5)
        .map(|i| {
            m.bind(1, Some(format!("app:d{i}").as_bytes()), 0, 0)
                .map(|_| ())
        })
        .collect();
    assert_eq!(
        st,
        [Ok(()), Ok(()), Ok(()), Ok(()), Err(Status::NoDescriptor)]
    );
    assert!(events(&mut m).iter().any(|e| matches!(
        e,
        MailboxEvent::Exhausted {
            what: Exhaustion::DescriptorPoolFull {
                max_descriptors: 16,
                ..
            },
            ..
        }
    )));
    // A fourth task cannot even get its default channels.
    assert!(matches!(
        m.add_task(4, &[]),
        Err(AddTaskError::PoolFull { needed: 4, free: 0 })
    ));
    assert!(m.handles_of(4).is_empty());
}

#[test]
fn close_rules_and_invalid_handles() {
    let mut m = with_tasks(1);
    let h = open(&mut m, 1, "app:x", 0);
    assert_eq!(m.close(1, 99), Err(Status::InvalidHandle));
    assert_eq!(m.close(1, 0), Err(Status::InvalidHandle));
    assert_eq!(m.close(1, h), Ok(()));
    assert_eq!(m.close(1, h), Err(Status::InvalidHandle));
    assert_eq!(send(&mut m, 1, h, b"x"), Err(Status::InvalidHandle));
    assert_eq!(m.peek(1, 0xFFFF), Err(Status::InvalidHandle));
    assert_eq!(m.tap(1, 0, 1), Err(Status::InvalidHandle));
    assert_eq!(poll(&mut m, 1, 77, 4), Err(Status::InvalidHandle));
    // An unknown pid has no handles.
    assert_eq!(m.close(42, 1), Err(Status::InvalidHandle));
}

#[test]
fn closing_a_handle_with_a_pending_wait_completes_it() {
    let mut m = with_tasks(1);
    let h = open(&mut m, 1, "app:q", 0);
    block(&mut m, 1, h, None);
    m.close(1, h).unwrap();
    let c = completions(&mut m);
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].outcome, WaitOutcome::InvalidHandle);
    assert_eq!(m.pending_wait(1), None);
}

#[test]
fn expired_waiters_time_out_in_the_wake_up() {
    let mut m = with_tasks(2);
    let a = open(&mut m, 1, "app:q", 0);
    let b = open(&mut m, 2, "app:q", 0);
    block(&mut m, 2, b, Some(100));
    m.send(1, a, Some(b"late"), 4, 0, 0, 100).unwrap();
    let c = completions(&mut m);
    assert_eq!(c[0].outcome, WaitOutcome::Timeout);
    assert_eq!(m.peek(1, a).unwrap().depth, 1, "the message stays queued");
    assert!(
        events(&mut m)
            .iter()
            .any(|e| e.type_name() == "mailbox_timeout")
    );
    // The message is there now: a later RECV takes it at once, nothing blocks.
    let out = m.recv(
        2,
        b,
        64,
        true,
        RecvWait::Block {
            timeout: 10,
            deadline: Some(300),
            tag: 0,
        },
    );
    assert!(matches!(out, Ok(RecvOutcome::Message(_))));
    assert_eq!(m.timeout(2), None);
}

#[test]
fn a_waiter_takes_a_message_sent_into_an_empty_queue_as_if_it_was_queued() {
    let mut m = with_tasks(3);
    let a = open(&mut m, 1, "app:q", 0);
    let b = open(&mut m, 2, "app:q", 0);
    let c = open(&mut m, 3, "app:q", 0);
    // Waiter 2 has timed out when the message comes, waiter 3 takes it (truncated).
    block(&mut m, 2, b, Some(50));
    block_max(&mut m, 3, c, 3, None);
    m.send(1, a, Some(b"hello"), 5, 0, 7, 60).unwrap();
    let done = completions(&mut m);
    assert_eq!(done.len(), 2);
    assert_eq!((done[0].pid, &done[0].outcome), (2, &WaitOutcome::Timeout));
    let WaitOutcome::Message(r) = &done[1].outcome else {
        panic!("waiter 3 gets the message");
    };
    assert_eq!(
        (r.data.as_slice(), r.length, r.channel),
        (&b"hel"[..], 5, 7)
    );
    assert_eq!(r.flags & flags::TRUNCATED, flags::TRUNCATED);
    let p = m.peek(1, a).unwrap();
    assert_eq!((p.depth, p.bytes_used), (0, 0), "nothing stays queued");
    let ev = events(&mut m);
    assert_eq!(
        (count(&ev, "mailbox_send"), count(&ev, "mailbox_wake")),
        (1, 1)
    );
    // With nobody waiting the next message is queued, with the next sequence number.
    send(&mut m, 1, a, b"again").unwrap();
    assert_eq!(m.peek(1, a).unwrap().depth, 1);
    assert_eq!(m.snapshot().by_target("app:q").unwrap().next_seq, 2);
}

#[test]
fn timer_timeout_removes_the_waiter() {
    let mut m = with_tasks(2);
    let b = open(&mut m, 2, "app:q", 0);
    block(&mut m, 2, b, Some(20));
    assert_eq!(m.pending_wait(2).map(|w| w.2), Some(Some(20)));
    assert!(m.timeout(2).is_some());
    assert_eq!(m.snapshot().stats.waiter_count, 0);
    assert_eq!(m.timeout(2), None);
}

#[test]
fn termination_discards_waits_and_reap_frees_owned_descriptors() {
    let mut m = with_tasks(2);
    let b = open(&mut m, 2, "app:q", 0);
    let a = open(&mut m, 1, "app:q", 0);
    block(&mut m, 2, b, None);
    m.task_terminated(2);
    m.task_reaped(2);
    assert!(completions(&mut m).is_empty());
    send(&mut m, 1, a, b"m").unwrap();
    assert!(completions(&mut m).is_empty());
    assert_eq!(m.peek(1, a).unwrap().depth, 1);
    let freed: Vec<u16> = events(&mut m)
        .into_iter()
        .filter_map(|e| match e {
            MailboxEvent::Freed { descriptor, .. } => Some(descriptor),
            _ => None,
        })
        .collect();
    assert_eq!(freed, [5, 6, 7, 8]);
}

#[test]
fn holders_keep_descriptors_until_reaped_and_ownerless_leftovers_survive() {
    let mut m = with_tasks(2);
    m.bind(1, Some(b"app:z"), 0, 0).unwrap();
    m.task_terminated(1);
    assert!(m.lookup(1, b"app:z").is_some());
    events(&mut m);
    m.task_reaped(1);
    let freed = count(&events(&mut m), "mailbox_freed");
    assert_eq!(freed, 5);
    assert_eq!(m.lookup(2, b"app:z"), None);

    let mut m = with_tasks(2);
    let h = open(&mut m, 1, "app:drop", 0);
    send(&mut m, 1, h, b"m").unwrap();
    m.close(1, h).unwrap();
    m.task_terminated(1);
    m.task_reaped(1);
    let b = open(&mut m, 2, "app:drop", 0);
    let r = poll(&mut m, 2, b, 8).unwrap();
    assert_eq!((r.data.as_slice(), r.src_pid), (&b"m"[..], 1));
    events(&mut m);
    m.close(2, b).unwrap();
    assert_eq!(count(&events(&mut m), "mailbox_freed"), 1);
}

#[test]
fn bind_reconfigures_only_when_empty() {
    let mut m = with_tasks(1);
    let id = m.bind(1, Some(b"app:c"), 64, 0).unwrap();
    let h = open(&mut m, 1, "app:c", 0);
    send(&mut m, 1, h, b"x").unwrap();
    assert_eq!(m.bind(1, Some(b"app:c"), 128, 0), Err(Status::WouldBlock));
    assert_eq!(
        m.bind(1, Some(b"app:c"), 64, 3),
        Ok(id),
        "same config is fine"
    );
    poll(&mut m, 1, h, 8).unwrap();
    assert_eq!(m.bind(1, Some(b"app:c"), 128, 0), Ok(id));
    assert_eq!(m.peek(1, h).unwrap().capacity, 128);
    assert_eq!(m.bind(1, Some(b"app:c"), 0, 0), Ok(id));
    assert_eq!(m.peek(1, h).unwrap().capacity, 128);
    assert_eq!(m.bind(1, Some(b"app:c"), 5, 0), Err(Status::Internal));
    assert_eq!(
        m.bind(1, Some(b"app:c"), 0x1_0005, 0),
        Err(Status::Internal),
        "masked to 5"
    );
}

#[test]
fn add_task_applies_declarations_and_rolls_back_on_failure() {
    let mut m = mb();
    let decl = |t: &str, capacity| BindSpec {
        target: t.into(),
        capacity,
        mode: 0,
    };
    m.add_task(1, &[decl("app:tel", 96), decl("svc:mine", 0)])
        .unwrap();
    let snap = m.snapshot();
    assert_eq!(snap.by_target("app:tel").unwrap().capacity, 96);
    assert_eq!(snap.by_target("app:tel").unwrap().holders, [1]);
    assert_eq!(snap.by_target("svc:mine@1").unwrap().id, 6);
    assert_eq!(m.handles_of(1), [1, 2, 3]);
    let before = m.descriptor_count();
    assert!(matches!(
        m.add_task(2, &[decl("app:ok", 0), decl("app:bad name", 0)]),
        Err(AddTaskError::Bind {
            status: Status::Internal,
            ..
        })
    ));
    assert!(matches!(
        m.add_task(3, &[decl("app:big", 70000)]),
        Err(AddTaskError::Bind {
            status: Status::Internal,
            ..
        })
    ));
    assert_eq!(
        m.descriptor_count(),
        before,
        "nothing of pids 2 and 3 remains"
    );
    assert!(m.handles_of(2).is_empty());
}

#[test]
fn stdio_sink_takes_single_reader_messages_and_reads_fanout_as_a_reader() {
    let mut m = mb();
    m.set_sink_attached(true);
    m.add_task(1, &[]).unwrap();
    let out = m.stdio_descriptor(1, StdioStream::Out).unwrap();
    m.enqueue_internal(1, out, b"hi", flags::STDOUT, 0, 1, Source::Stdio, 0)
        .unwrap();
    let mut log = Vec::new();
    assert_eq!(
        m.sink_drain(out, |msg| {
            log.extend_from_slice(&msg.data);
            true
        }),
        1
    );
    assert_eq!(log, b"hi");
    assert_eq!(m.snapshot().descriptor(out).unwrap().depth, 0);
    // A sink that refuses leaves the message queued.
    m.enqueue_internal(1, out, b"xx", flags::STDOUT, 0, 1, Source::Stdio, 0)
        .unwrap();
    assert_eq!(m.sink_drain(out, |_| false), 0);
    assert_eq!(m.snapshot().descriptor(out).unwrap().depth, 1);
    assert_eq!(m.sink_drain(out, |_| true), 1);

    // Fan-out stdout: the sink is one more reader.
    m.config_stdio(&[StdioStream::Out], 0x13, false, None);
    m.add_task(2, &[]).unwrap();
    let out2 = m.stdio_descriptor(2, StdioStream::Out).unwrap();
    let r = open(&mut m, 1, "svc:stdio.out@2", 1);
    m.enqueue_internal(2, out2, b"fan", flags::STDOUT, 0, 2, Source::Stdio, 0)
        .unwrap();
    assert_eq!(m.sink_drain(out2, |_| true), 1);
    assert_eq!(
        m.snapshot().descriptor(out2).unwrap().depth,
        1,
        "the reader has not read"
    );
    assert_eq!(poll(&mut m, 1, r, 8).unwrap().data, b"fan");
    assert_eq!(m.snapshot().descriptor(out2).unwrap().depth, 0);
}

#[test]
fn config_stdio_updates_existing_empty_descriptors_only() {
    let mut m = with_tasks(2);
    let in1 = m.stdio_descriptor(1, StdioStream::In).unwrap();
    m.enqueue_internal(0, in1, b"x", 0, 0, 0, Source::Host, 0)
        .unwrap();
    let up = m.config_stdio(&[StdioStream::In], 0x13, true, None);
    assert_eq!(up.skipped, [in1]);
    assert_eq!(
        up.updated,
        [m.stdio_descriptor(2, StdioStream::In).unwrap()]
    );
    assert_eq!(m.stdio_mode(StdioStream::In), 0x13);
}

#[test]
fn host_send_by_target_uses_a_temporary_handle() {
    let mut m = with_tasks(2);
    let sent = m
        .send_to_target(0, b"svc:stdio.in@2", b"hi", 0, 0, 0)
        .unwrap();
    assert_eq!((sent.length, sent.descriptor, sent.sink), (2, 5, false));
    assert!(m.handles_of(0).is_empty());
    let r = poll(&mut m, 2, 1, 64).unwrap();
    assert_eq!((r.data.as_slice(), r.flags, r.src_pid), (&b"hi"[..], 0, 0));
    assert_eq!(
        m.send_to_target(0, b"bad name", b"x", 0, 0, 0),
        Err(Status::Internal)
    );
    // The host cannot write into a task's stdin through a read-only handle.
    let h = m.open(0, Some(b"svc:stdio.in@2"), 1).unwrap();
    assert_eq!(
        m.send(0, h, Some(b"x"), 1, 0, 0, 0),
        Err(Status::Permission)
    );
}

#[test]
fn unbind_releases_the_host_hold() {
    let mut m = with_tasks(1);
    let id = m.bind(0, Some(b"app:hostbox"), 0, 0).unwrap();
    assert!(m.lookup(0, b"app:hostbox").is_some());
    m.unbind(id).unwrap();
    assert_eq!(m.lookup(0, b"app:hostbox"), None);
    assert_eq!(m.unbind(id), Err(Status::NoDescriptor));
}

#[test]
fn descriptor_ids_wrap_skipping_zero_and_ids_in_use() {
    let mut m = with_tasks(1);
    let h = open(&mut m, 1, "app:keep", 0); // id 5
    for i in 0..70_000u32 {
        let t = format!("app:t{i}");
        let x = open(&mut m, 1, &t, 0);
        m.close(1, x).unwrap();
    }
    let snap = m.snapshot();
    let ids: Vec<u16> = snap.descriptors.iter().map(|d| d.id).collect();
    assert_eq!(ids, [1, 2, 3, 4, 5]);
    assert_eq!(m.close(1, h), Ok(()));
    let again = open(&mut m, 1, "app:new", 0);
    let id = m.snapshot().by_target("app:new").unwrap().id;
    assert!(id != 0 && !(1..=4).contains(&id), "{id}");
    let _ = again;
}

#[test]
fn snapshot_stats_add_up() {
    let mut m = with_tasks(2);
    let h = open(&mut m, 1, "app:s", 0x05);
    let a = open(&mut m, 2, "app:s", 0);
    send(&mut m, 2, a, b"abc").unwrap();
    block(&mut m, 1, 1, None);
    let s = m.snapshot().stats;
    assert_eq!(s.active_descriptors, 9);
    assert_eq!(s.free_descriptors, 256 - 9);
    assert_eq!(s.handles_total, 8);
    assert_eq!(s.handles_per_pid, [(1, 4), (2, 4)]);
    assert_eq!(s.tap_count, 1);
    assert_eq!(s.tap_queue_depth, 1);
    assert_eq!(s.waiter_count, 1);
    assert_eq!(s.queue_depth, 1);
    assert_eq!(s.bytes_used, 11);
    let _ = h;
}
