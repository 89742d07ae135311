//! Soak: several producer and consumer tasks (real MVASM programs, quantum 1, so they
//! interleave instruction by instruction) exchange hundreds of messages. Every accepted
//! message must be received exactly once (single-reader), or by every reader unless the
//! runtime reported it dropped (fan-out DROP).

mod mailbox_support;

use std::collections::{BTreeMap, BTreeSet};

use hsx_exec::mailbox::{MailboxEvent, OverrunReason, flags};
use hsx_exec::{Pid, Stop, TaskState};
use mailbox_support::*;

/// Where a consumer logs what it received: 6 bytes per message (src_pid, channel,
/// flags as u16); the end pointer is stored at `LOG_END`.
const LOG: u32 = 0x0100;
const LOG_END: u32 = 0x00F0;

/// Sends `count` 8-byte messages to `target`; the channel and the first payload
/// half-word carry a per-producer counter. With `retry`, WOULDBLOCK yields and retries.
fn producer(target: &str, count: u32, retry: bool) -> String {
    let on_full = if retry {
        "    LDI   R6, 1\n    CMP   R0, R6\n    JNZ   sent\n    SVC   0x06, 0x01\n    JMP   again\n"
    } else {
        ""
    };
    format!(
        ".data
name: .asciz \"{target}\"
.text
.entry main
main:
    LDI32 R1, name
    LDI   R2, 2
    SVC   0x05, 0x00
    MOV   R8, R1
    LDI   R9, 0
    LDI32 R10, {count}
    LDI32 R11, 0x1000
loop:
    STH   [R11], R9
again:
    MOV   R1, R8
    MOV   R2, R11
    LDI   R3, 8
    LDI   R4, 0
    MOV   R5, R9
    SVC   0x05, 0x02
{on_full}sent:
    LDI   R6, 0
    CMP   R0, R6
    JNZ   fail
    LDI   R6, 1
    ADD   R9, R9, R6
    CMP   R9, R10
    JNZ   loop
    LDI   R0, 0
    RET
fail:
    LDI   R0, 1
    RET
"
    )
}

/// Receives from `target` (opened read-only) until a 300 ms timeout, logging each
/// message; a payload that does not match its channel is logged with channel 0xFFFF.
fn consumer(target: &str) -> String {
    format!(
        ".data
name: .asciz \"{target}\"
.text
.entry main
main:
    LDI32 R1, name
    LDI   R2, 1
    SVC   0x05, 0x00
    MOV   R8, R1
    LDI32 R9, {LOG}
    LDI32 R11, 0x3F00
loop:
    MOV   R1, R8
    MOV   R2, R11
    LDI   R3, 16
    LDI32 R4, 300
    LDI   R5, 0
    SVC   0x05, 0x03
    LDI   R6, 7
    CMP   R0, R6
    JZ    done
    LDI   R6, 0
    CMP   R0, R6
    JNZ   fail
    LDH   R6, [R11]
    CMP   R6, R3
    JZ    good
    LDI32 R3, 0xFFFF
good:
    STH   [R9], R4
    STH   [R9+2], R3
    STH   [R9+4], R2
    LDI   R6, 6
    ADD   R9, R9, R6
    JMP   loop
done:
    LDI32 R6, {LOG_END}
    ST    [R6], R9
    LDI   R0, 0
    RET
fail:
    LDI   R0, 2
    RET
"
    )
}

/// (src_pid, channel, flags) of every message a consumer logged, in order.
fn received(t: &Harness, pid: Pid) -> Vec<(u32, u16, u16)> {
    let end = u32::from_le_bytes(t.memory(pid, LOG_END, 4).try_into().unwrap());
    t.memory(pid, LOG, end - LOG)
        .chunks_exact(6)
        .map(|c| {
            let h = |i: usize| u16::from_le_bytes([c[i], c[i + 1]]);
            (u32::from(h(0)), h(2), h(4))
        })
        .collect()
}

fn run_to_end(t: &mut Harness) {
    loop {
        let out = t.exec.step(1 << 20);
        t.drain();
        if out.stop == Stop::AllTerminal {
            break;
        }
    }
}

#[test]
fn single_reader_every_accepted_message_is_received_exactly_once() {
    const PER_PRODUCER: u32 = 400;
    let mut t = Harness::new();
    let consumers: Vec<Pid> = (0..3)
        .map(|i| t.spawn_source(&format!("consumer{i}"), &consumer("app:soak")))
        .collect();
    let producers: Vec<Pid> = (0..3)
        .map(|i| {
            t.spawn_source(
                &format!("producer{i}"),
                &producer("app:soak", PER_PRODUCER, true),
            )
        })
        .collect();
    run_to_end(&mut t);
    for &p in producers.iter().chain(&consumers) {
        assert_eq!(t.exec.task(p).unwrap().exit_status(), Some(0), "pid {p}");
    }
    let mut seen = BTreeMap::new();
    for &c in &consumers {
        let got = received(&t, c);
        assert!(!got.is_empty(), "consumer {c} received something");
        let mut last = BTreeMap::new();
        for (src, channel, _) in got {
            assert_ne!(channel, 0xFFFF, "payload matches its channel");
            *seen.entry((src, channel)).or_insert(0) += 1;
            // Per producer, one consumer sees increasing channels (FIFO queue).
            if let Some(prev) = last.insert(src, channel) {
                assert!(channel > prev, "FIFO per producer");
            }
        }
    }
    let expected: BTreeSet<(u32, u16)> = producers
        .iter()
        .flat_map(|&p| (0..PER_PRODUCER as u16).map(move |c| (p, c)))
        .collect();
    assert_eq!(seen.keys().copied().collect::<BTreeSet<_>>(), expected);
    assert!(seen.values().all(|&n| n == 1), "exactly once");
    // Back-pressure happened and was reported, never a silent loss.
    assert!(t.count("mailbox_backpressure") > 0);
    assert_eq!(t.count("mailbox_overrun"), 0);
}

#[test]
fn fanout_drop_every_message_is_received_or_reported_dropped() {
    const PER_PRODUCER: u32 = 300;
    let mut t = Harness::new();
    let owner = t.spawn(&Script::new().bind("shared:soak", 64, 0x1B).park());
    t.run_task(owner);
    let readers: Vec<Pid> = (0..3)
        .map(|i| t.spawn_source(&format!("reader{i}"), &consumer("shared:soak")))
        .collect();
    for &r in &readers {
        t.run_task(r);
    }
    let producers: Vec<Pid> = (0..2)
        .map(|i| {
            t.spawn_source(
                &format!("producer{i}"),
                &producer("shared:soak", PER_PRODUCER, false),
            )
        })
        .collect();
    t.exec.kill(owner).unwrap();
    run_to_end(&mut t);
    for &p in producers.iter().chain(&readers) {
        assert_eq!(t.state(p), TaskState::Exited);
        assert_eq!(t.exec.task(p).unwrap().exit_status(), Some(0), "pid {p}");
    }
    let dropped: BTreeSet<(u32, u16)> = t
        .mailbox_events()
        .iter()
        .filter_map(|e| match e {
            MailboxEvent::Overrun {
                reason: OverrunReason::FanoutDrop,
                src_pid,
                channel,
                ..
            } => Some((*src_pid, *channel)),
            _ => None,
        })
        .collect();
    assert!(!dropped.is_empty(), "the small queue overflowed");
    let all: BTreeSet<(u32, u16)> = producers
        .iter()
        .flat_map(|&p| (0..PER_PRODUCER as u16).map(move |c| (p, c)))
        .collect();
    for &r in &readers {
        let got = received(&t, r);
        let ids: Vec<(u32, u16)> = got.iter().map(|&(s, c, _)| (s, c)).collect();
        let unique: BTreeSet<_> = ids.iter().copied().collect();
        assert_eq!(unique.len(), ids.len(), "reader {r}: no duplicates");
        for id in &all {
            assert!(
                unique.contains(id) || dropped.contains(id),
                "reader {r}: {id:?} neither received nor reported dropped"
            );
        }
        let missed = all.difference(&unique).count();
        let overrun_flags = got.iter().filter(|m| m.2 & flags::OVERRUN != 0).count();
        if missed > 0 {
            assert!(overrun_flags > 0, "reader {r} lost messages and was told");
        }
    }
}
