//! FS (sandboxed), CAN, MATH and stdio system calls driven by MVASM scripts, and
//! malformed names, handles and pointers: every bad argument gives a status code, never
//! a crash (`syscalls.md` §1.4, §5, §6, §12, §13; `mailbox.md` §3, §4).

mod mailbox_support;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use hsx_exec::mailbox::Status;
use hsx_exec::{CanBus, Config, Event, StdioStream, TaskState};
use mailbox_support::*;

const ENOENT: u32 = -2i32 as u32;
const EBADF: u32 = -9i32 as u32;
const EACCES: u32 = -13i32 as u32;
const EBUSY: u32 = -16i32 as u32;
const EEXIST: u32 = -17i32 as u32;
const ENODEV: u32 = -19i32 as u32;
const ENOTDIR: u32 = -20i32 as u32;
const EISDIR: u32 = -21i32 as u32;
const EINVAL: u32 = -22i32 as u32;
const EMFILE: u32 = -24i32 as u32;
const ENOTEMPTY: u32 = -39i32 as u32;
const ENOSYS: u32 = 0xFFFF_FF01;

/// A fresh directory tree: `<tmp>/root` is the FS root, `<tmp>/outside.txt` a file
/// next to it that no guest path may reach.
struct Sandbox {
    base: PathBuf,
}

impl Sandbox {
    fn new(tag: &str) -> Sandbox {
        let base = std::env::temp_dir().join(format!("hsx-fs-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        std::fs::create_dir_all(base.join("root/sub")).unwrap();
        std::fs::write(base.join("outside.txt"), b"secret").unwrap();
        std::fs::write(base.join("root/sub/inner.txt"), b"inner").unwrap();
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(&base, base.join("root/up")).unwrap();
            std::os::unix::fs::symlink(base.join("outside.txt"), base.join("root/out.txt"))
                .unwrap();
            std::os::unix::fs::symlink("sub/inner.txt", base.join("root/in.txt")).unwrap();
        }
        Sandbox { base }
    }

    fn root(&self) -> PathBuf {
        self.base.join("root")
    }

    fn harness(&self) -> Harness {
        Harness::with(Config {
            fs_root: Some(self.root()),
            ..Config::default()
        })
    }

    /// Everything outside the root is as it was.
    fn assert_outside_untouched(&self) {
        let mut names: Vec<String> = std::fs::read_dir(&self.base)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["outside.txt", "root"]);
        assert_eq!(
            std::fs::read(self.base.join("outside.txt")).unwrap(),
            b"secret"
        );
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.base);
    }
}

fn fs_open(s: Script, path: &str, flags: u32) -> Script {
    s.svc(4, 0, &[(1, Arg::Str(path.into())), (2, n(flags))])
}

fn fs_read(s: Script, fd: u32, dst: u32, len: u32) -> Script {
    s.svc(4, 1, &[(1, n(fd)), (2, n(dst)), (3, n(len))])
}

fn fs_close(s: Script, fd: u32) -> Script {
    s.svc(4, 3, &[(1, n(fd))])
}

fn fs_path(s: Script, function: u8, path: &str) -> Script {
    s.svc(4, function, &[(1, Arg::Str(path.into()))])
}

fn fs_listdir(s: Script, path: &str, dst: u32, max: u32) -> Script {
    s.svc(
        4,
        10,
        &[(1, Arg::Str(path.into())), (2, n(dst)), (3, n(max))],
    )
}

fn fs_rename(s: Script, from: &str, to: &str) -> Script {
    s.svc(
        4,
        12,
        &[(1, Arg::Str(from.into())), (2, Arg::Str(to.into()))],
    )
}

fn statuses(t: &Harness, pid: u32, steps: std::ops::Range<usize>) -> Vec<u32> {
    steps.map(|s| t.status(pid, s)).collect()
}

#[test]
fn fs_without_a_root_is_enodev_but_stdio_works() {
    let mut t = Harness::new();
    let s = fs_open(Script::new(), "a.txt", 0);
    let s = fs_listdir(s, "/", BUF, 64);
    let s = fs_path(s, 11, "a.txt");
    let s = fs_rename(s, "a", "b");
    let s = fs_path(s, 13, "d");
    let a = t.spawn(&s.fs_write(1, b"out\n").fs_write(2, b"err\n"));
    t.run_task(a);
    assert_eq!(statuses(&t, a, 0..5), [ENODEV; 5]);
    assert_eq!(statuses(&t, a, 5..7), [4, 4]);
    assert_eq!(t.stdout(a), "out\n");
    assert_eq!(t.exec.stdio_log(a, StdioStream::Err), b"err\n");
    assert!(
        t.events
            .iter()
            .any(|e| matches!(e, Event::Stderr { data, .. } if data == b"err\n"))
    );
}

#[test]
fn fs_escape_attempts_are_refused() {
    let sb = Sandbox::new("escape");
    let mut t = sb.harness();
    let mut s = Script::new();
    let attempts: &[(&str, u32)] = &[
        ("../outside.txt", EINVAL),
        ("/../outside.txt", EINVAL),
        ("sub/../../outside.txt", EINVAL),
        ("./sub/inner.txt", EINVAL),
        ("sub//inner.txt", EINVAL),
        ("sub/", EINVAL),
        ("sub\\inner.txt", EINVAL),
        ("c:outside.txt", EINVAL),
        (".", EINVAL),
        ("/", EINVAL),
        ("/outside.txt", ENOENT), // absolute paths are root-relative
        ("up/outside.txt", EACCES),
        ("up", EACCES),
        ("out.txt", EACCES),
        ("in.txt", EACCES), // even a link that stays inside is never followed
        ("sub/inner.txt/x", ENOTDIR),
    ];
    for (path, _) in attempts {
        s = fs_open(s, path, 0x01);
    }
    let first = s.len();
    s = fs_open(s, "../escape.txt", 0x06);
    s = fs_path(s, 13, "up/newdir");
    s = fs_path(s, 11, "out.txt");
    s = fs_path(s, 11, "up");
    s = fs_rename(s, "sub/inner.txt", "../stolen.txt");
    s = fs_rename(s, "out.txt", "moved.txt");
    s = fs_listdir(s, "up", BUF, 64);
    s = fs_listdir(s, "..", BUF, 64);
    let long = "a".repeat(256);
    s = fs_open(s, &long, 0x06);
    let a = t.spawn(&s);
    t.run_task(a);
    for (i, (path, want)) in attempts.iter().enumerate() {
        assert_eq!(t.status(a, i), *want, "OPEN {path:?}");
    }
    assert_eq!(
        statuses(&t, a, first..first + 9),
        [
            EINVAL, EACCES, EACCES, EACCES, EINVAL, EACCES, EACCES, EINVAL, EINVAL
        ]
    );
    sb.assert_outside_untouched();
    assert!(
        sb.root().join("out.txt").symlink_metadata().is_ok(),
        "links are not deleted"
    );
}

#[test]
fn fs_file_lifecycle_and_errno_codes() {
    let sb = Sandbox::new("files");
    let mut t = sb.harness();
    let mut s = Script::new();
    s = fs_open(s, "data.txt", 0x07); // 0: RDWR|CREAT -> 3
    s = s.fs_write(3, b"hello"); // 1
    s = fs_close(s, 3); // 2
    s = fs_open(s, "data.txt", 0x01); // 3: RDONLY -> 3
    s = fs_read(s, 3, BUF, 16); // 4: 5
    s = fs_read(s, 3, BUF, 16); // 5: 0 (EOF)
    s = s.fs_write(3, b"x"); // 6: EBADF (read-only)
    s = fs_open(s, "data.txt", 0x12); // 7: WRONLY|APPEND -> 4
    s = s.fs_write(4, b" world"); // 8
    s = fs_open(s, "data.txt", 0x09); // 9: RDONLY|TRUNC -> EINVAL
    s = fs_open(s, "missing.txt", 0x01); // 10: ENOENT
    s = fs_open(s, "sub", 0x01); // 11: EISDIR
    s = fs_path(s, 13, "d"); // 12: MKDIR 0
    s = fs_path(s, 13, "d"); // 13: EEXIST
    s = fs_path(s, 13, "x/y"); // 14: ENOENT
    s = fs_listdir(s, "/", BUF2, 256); // 15
    s = fs_path(s, 11, "data.txt"); // 16: open in this task -> EBUSY
    s = fs_close(s, 3); // 17
    s = fs_close(s, 4); // 18
    s = fs_close(s, 4); // 19: EBADF
    s = fs_close(s, 1); // 20: stdio: 0, no effect
    s = fs_rename(s, "data.txt", "sub/inner.txt"); // 21: EEXIST
    s = fs_rename(s, "data.txt", "d/moved.txt"); // 22: 0
    s = fs_path(s, 11, "d"); // 23: ENOTEMPTY
    s = fs_path(s, 11, "d/moved.txt"); // 24: 0
    s = fs_path(s, 11, "d"); // 25: 0
    s = fs_read(s, 1, BUF, 4); // 26: EBADF
    s = s.fs_write(0, b"x"); // 27: EBADF
    s = fs_read(s, 9, BUF, 4); // 28: EBADF
    s = fs_listdir(s, "sub/inner.txt", BUF, 64); // 29: ENOTDIR
    s = fs_listdir(s, "/", 0x2800, 4); // 30: "sub/\n" does not fit in 4 bytes
    s = s.svc(4, 9, &[]); // 31: unknown function
    s = fs_path(s, 13, "a"); // 32
    s = fs_listdir(s, "/", 0x2800, 7); // 33: "a/\n" fits, "sub/\n" does not
    let a = t.spawn(&s);
    t.run_task(a);
    let want: &[(usize, u32)] = &[
        (0, 3),
        (1, 5),
        (2, 0),
        (3, 3),
        (4, 5),
        (5, 0),
        (6, EBADF),
        (7, 4),
        (8, 6),
        (9, EINVAL),
        (10, ENOENT),
        (11, EISDIR),
        (12, 0),
        (13, EEXIST),
        (14, ENOENT),
        (16, EBUSY),
        (17, 0),
        (18, 0),
        (19, EBADF),
        (20, 0),
        (21, EEXIST),
        (22, 0),
        (23, ENOTEMPTY),
        (24, 0),
        (25, 0),
        (26, EBADF),
        (27, EBADF),
        (28, EBADF),
        (29, ENOTDIR),
        (31, ENOSYS),
    ];
    for &(step, status) in want {
        assert_eq!(t.status(a, step), status, "step {step}");
    }
    assert_eq!(t.memory(a, BUF, 5), b"hello");
    // Symlinks are omitted; entries sorted; directories end in '/'.
    let listing = t.status(a, 15);
    assert_eq!(
        String::from_utf8(t.memory(a, BUF2, listing)).unwrap(),
        "d/\ndata.txt\nsub/\n"
    );
    assert_eq!(t.status(a, 30), 0);
    assert_eq!(t.status(a, 33), 3);
    assert_eq!(t.memory(a, 0x2800, 3), b"a/\n");
    assert!(!sb.root().join("data.txt").exists());
    sb.assert_outside_untouched();
}

#[test]
fn fs_open_files_are_limited_and_closed_at_exit() {
    let sb = Sandbox::new("limit");
    let mut t = sb.harness();
    let mut s = Script::new();
    for i in 0..17 {
        s = fs_open(s, &format!("f{i}"), 0);
    }
    let a = t.spawn(&s.park());
    t.run_task(a);
    let fds: Vec<u32> = (0..16).map(|i| t.status(a, i)).collect();
    assert_eq!(fds, (3..19).collect::<Vec<u32>>());
    assert_eq!(t.status(a, 16), EMFILE);
    // Another task cannot delete a file pid 1 has open; after pid 1 ends it can.
    let b = t.spawn(&fs_path(Script::new().park(), 11, "f0").park().svc(
        4,
        11,
        &[(1, Arg::Str("f0".into()))],
    ));
    t.run_task(b);
    t.release(b);
    assert_eq!(t.status(b, 1), EBUSY);
    t.exec.kill(a).unwrap();
    t.release(b);
    assert_eq!(t.status(b, 3), 0);
}

#[test]
fn fs_read_of_fd_0_blocks_on_stdin() {
    let sb = Sandbox::new("stdin");
    let mut t = sb.harness();
    let a = t.spawn(&fs_read(Script::new(), 0, BUF, 4));
    t.run_task(a);
    assert_eq!(t.state(a), TaskState::Waiting(hsx_exec::WaitKind::Mailbox));
    t.exec.send_stdin(a, b"abcdef").unwrap();
    t.run();
    assert_eq!(t.status(a, 0), 4, "the rest of the message is discarded");
    assert_eq!(t.memory(a, BUF, 4), b"abcd");
}

/// (pid, id, data) of a transmitted frame.
type Frame = (u32, u16, Vec<u8>);

#[derive(Clone, Default)]
struct Bus(Arc<Mutex<Vec<Frame>>>);

impl CanBus for Bus {
    fn transmit(&mut self, pid: u32, id: u16, data: &[u8]) {
        self.0.lock().unwrap().push((pid, id, data.to_vec()));
    }
}

#[test]
fn can_tx_checks_length_and_buffer_and_reaches_the_bus() {
    let mut t = Harness::new();
    let bus = Bus::default();
    t.exec.attach_can_bus(Box::new(bus.clone()));
    let can = |s: Script, id: u32, data: Arg, len: u32| {
        s.svc(2, 0, &[(1, n(id)), (2, data), (3, n(len))])
    };
    let mut s = can(Script::new(), 0x123, Arg::Bytes(vec![1, 2]), 2);
    s = can(s, 0xFFFF, Arg::Bytes(vec![9; 8]), 8);
    s = can(s, 0x1, Arg::Bytes(vec![0; 9]), 9);
    s = can(s, 0x1, n(0xFFFC), 8);
    s = can(s, 0x1, n(0), 0x1_0000_0000u64 as u32 | 0x8000_0000);
    s = s.svc(2, 1, &[]);
    let a = t.spawn(&s);
    t.run_task(a);
    assert_eq!(
        statuses(&t, a, 0..6),
        [0, 0, EINVAL, EINVAL, EINVAL, ENOSYS]
    );
    let frames = bus.0.lock().unwrap().clone();
    assert_eq!(frames, [(a, 0x123, vec![1, 2]), (a, 0x7FF, vec![9; 8])]);
    let events: Vec<_> = t
        .events
        .iter()
        .filter_map(|e| match e {
            Event::CanTx { id, data, .. } => Some((*id, data.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(events, [(0x123, vec![1, 2]), (0x7FF, vec![9; 8])]);
}

#[test]
fn math_results_keep_the_high_half_of_r0() {
    let mut t = Harness::new();
    let math = |s: Script, f: u8, x: u32| s.svc(14, f, &[(0, n(0xABCD_0000)), (1, n(x))]);
    let mut s = math(Script::new(), 0, 0x3C00); // sin(1)
    s = math(s, 1, 0x0000); // cos(0)
    s = math(s, 2, 0xFC00); // exp(-inf)
    s = math(s, 0, 0x7C00); // sin(inf)
    s = math(s, 2, 0x4C00); // exp(16)
    s = math(s, 3, 0);
    let a = t.spawn(&s);
    t.run_task(a);
    let sin1 = hsx_exec::syscall::math::evaluate(0, 0x3C00).unwrap();
    assert_eq!(sin1, 0x3ABB, "sin(1) = 0.8413 → 0x3ABB");
    assert_eq!(
        statuses(&t, a, 0..6),
        [
            0xABCD_0000 | 0x3ABB,
            0xABCD_3C00,
            0xABCD_0000,
            0xABCD_7E00,
            0xABCD_7C00,
            ENOSYS
        ]
    );
}

#[test]
fn stdio_writes_split_flag_and_reject_bad_buffers() {
    let mut t = Harness::new();
    let a = t.spawn(
        &Script::new()
            .park()
            .svc(1, 1, &[(1, n(0xFFFF)), (2, n(2))]) // UART_WRITE past the window
            .svc(4, 2, &[(1, n(2)), (2, n(0xFFF0)), (3, n(0x20))]) // FS WRITE past it
            .fs_write(1, b"") // 0 bytes: nothing enqueued
            .fs_write(2, b"oops")
            .fs_write(1, &[b'z'; 600]), // split into 248-byte messages
    );
    let tap = t.spawn(&Script::new().open("svc:stdio.err@1", 0x05).park().recv(
        h(0),
        BUF,
        16,
        0,
        0,
    ));
    t.run_task(a);
    t.run_task(tap);
    t.clear_events();
    t.release(a);
    assert_eq!(statuses(&t, a, 1..6), [EINVAL, EINVAL, 0, 4, 600]);
    let sizes: Vec<usize> = t
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Stdout { data, .. } => Some(data.len()),
            _ => None,
        })
        .collect();
    assert_eq!(sizes, [248, 248, 104]);
    t.release(tap);
    assert_eq!(t.result(tap, 2)[..3], [0, 4, 0x0002], "STDERR flag");
}

#[test]
fn names_not_terminated_inside_the_window_are_internal() {
    let mut t = Harness::new();
    let a = t.spawn(
        &Script::new()
            .park()
            .svc(5, 0, &[(1, n(0xFFF0)), (2, n(0))]) // no NUL before the window end
            .svc(5, 1, &[(1, n(0xFFF0)), (2, n(0)), (3, n(0))])
            .svc(5, 0, &[(1, n(0x1_0000)), (2, n(0))]) // masked to 0: empty string
            .svc(5, 7, &[])
            .svc(5, 0xFF, &[]),
    );
    t.run_task(a);
    assert!(t.exec.write_memory(a, 0xFFF0, &[b'a'; 16]));
    assert!(t.exec.write_memory(a, 0, &[0]));
    t.release(a);
    assert_eq!(statuses(&t, a, 1..6), [0xFF, 0xFF, 0xFF, ENOSYS, ENOSYS]);
}

#[test]
fn malformed_handles_and_pointers_give_statuses() {
    let mut t = Harness::new();
    let bad_handles = [0u32, 9, 0xFFFF, 0x1_0000, 0xFFFF_FFFF];
    let mut s = Script::new().open("app:ok", 0); // handle 4 (0x1_0000 masks to 0)
    for &hd in &bad_handles {
        s = s
            .send(n(hd), b"x", 0, 0)
            .recv(n(hd), BUF, 4, 0, 0)
            .peek(n(hd))
            .tap(n(hd), 1)
            .close(n(hd));
    }
    let tail = s.len();
    s = s
        .send_raw(n(4), 0xFFFF, 2) // buffer past the window end
        .recv(n(4), BUF, 4, 0, 0xFFF0) // info record past the end
        .recv(n(4), 0xFFFF, 0xFFFF, 0, 0) // wrapping buffer
        .svc(
            5,
            1,
            &[(1, Arg::Str("app:cap".into())), (2, n(7)), (3, n(0))],
        );
    let a = t.spawn(&s);
    t.run_task(a);
    for (i, handle) in bad_handles.iter().enumerate() {
        let base = 1 + 5 * i;
        assert_eq!(
            statuses(&t, a, base..base + 5),
            [2; 5],
            "handle {:#x}",
            handle
        );
        assert_eq!(
            t.result(a, base + 2)[1..],
            [0, 0, 0, 0],
            "PEEK outputs zeroed"
        );
    }
    assert_eq!(statuses(&t, a, tail..tail + 4), [0xFF; 4]);
    assert_eq!(t.state(a), TaskState::Exited);
    assert_eq!(Status::InvalidHandle as u32, 2);
}

/// xorshift64*: deterministic pseudo-random numbers for the fuzz below.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u32 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 32) as u32
    }

    fn pick(&mut self, values: &[u32]) -> u32 {
        values[self.next() as usize % values.len()]
    }
}

#[test]
fn random_system_calls_never_crash_the_executive() {
    let sb = Sandbox::new("fuzz");
    let mut t = sb.harness();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let interesting = [
        0,
        1,
        2,
        3,
        4,
        5,
        7,
        8,
        0x10,
        0x3F,
        0x40,
        0xFF,
        0x100,
        0x3FFF,
        0x4000,
        0x4010,
        0x8000,
        0xFFF0,
        0xFFFF,
        0x1_0000,
        0x7FFF_FFFF,
        0xFFFF_FFFF,
    ];
    for task in 0..24 {
        let mut s = Script::new().open("app:fuzz", 0).bind("shared:fz", 0, 0x1B);
        for _ in 0..40 {
            let module = rng.pick(&[2, 4, 5, 5, 5, 14, 1]) as u8;
            let function = match module {
                5 => rng.pick(&[0, 1, 2, 3, 4, 5, 6, 9]),
                4 => rng.pick(&[0, 1, 2, 3, 10, 11, 12, 13]),
                _ => rng.pick(&[0, 1, 2]),
            } as u8;
            let mut args: Vec<(usize, Arg)> = (1..=5)
                .map(|r| {
                    (
                        r,
                        n(if rng.next().is_multiple_of(3) {
                            rng.next()
                        } else {
                            rng.pick(&interesting)
                        }),
                    )
                })
                .collect();
            if module == 5 && function == 3 {
                // Never block: poll or a short timeout.
                args[3] = (4, n(rng.pick(&[0, 1, 5])));
            }
            if module == 4 && function == 1 {
                args[0] = (1, n(rng.pick(&[1, 2, 3, 4, 5, 40])));
            }
            s = s.svc(module, function, &args);
        }
        let pid = t.spawn(&s);
        if task % 3 == 0 {
            t.exec.kill(pid).unwrap();
        }
        t.run();
        t.exec.advance_clock(10);
        t.run();
    }
    t.exec.advance_clock(1000);
    t.run();
    for task in t.exec.tasks() {
        assert!(
            task.state.is_terminal(),
            "pid {} is {:?}: system calls never fault a task",
            task.pid,
            task.state
        );
        assert!(task.fault().is_none(), "no fault from an SVC");
    }
    let snap = t.exec.mailbox_snapshot();
    assert_eq!(snap.stats.waiter_count, 0);
    sb.assert_outside_untouched();
    let _ = Path::new("");
}
