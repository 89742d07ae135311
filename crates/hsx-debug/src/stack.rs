//! The frame-pointer stack walk (`tools.md` §6).
//!
//! Frame 0 is `(pc, SP, R7)`. CALL pushes the return pc and the C prologue
//! `PUSH R7; MOV R7, R15` saves the caller's fp, so at `fp` sits the saved fp and at
//! `fp + 4` the return pc (both little-endian words).

/// Guest bounds of the stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StackBounds {
    /// Lowest valid stack address.
    pub stack_limit: u32,
    /// Initial SP (one past the highest stack word).
    pub stack_top: u32,
}

/// One frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame {
    /// Position, 0 = innermost.
    pub index: usize,
    /// Code address executing in this frame.
    pub pc: u32,
    /// Stack pointer of the frame.
    pub sp: u32,
    /// Frame pointer.
    pub fp: u32,
    /// Where this frame returns to; `None` for the last frame.
    pub return_pc: Option<u32>,
}

/// Result of [`walk`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StackWalk {
    /// Frames, innermost first.
    pub frames: Vec<Frame>,
    /// The walk stopped on an error or at the frame limit.
    pub truncated: bool,
    /// `fp_out_of_range:0x…`, `fp_unaligned:0x…`, `fp_cycle:0x…`,
    /// `stack_read_failed:0x…`, `frame_limit_reached`.
    pub errors: Vec<String>,
}

/// Walk the stack from `(pc, sp, fp)`, reading little-endian words through `read_word`
/// (guest addresses), for at most `max_frames` frames (at least 1).
pub fn walk(
    pc: u32,
    sp: u32,
    fp: u32,
    bounds: StackBounds,
    max_frames: usize,
    read_word: impl Fn(u32) -> Option<u32>,
) -> StackWalk {
    let max_frames = max_frames.max(1);
    let mut out = StackWalk::default();
    let (mut pc, mut sp, mut fp) = (pc, sp, fp);
    loop {
        let index = out.frames.len();
        let mut frame = Frame {
            index,
            pc,
            sp,
            fp,
            return_pc: None,
        };
        let fail = |out: &mut StackWalk, frame: Frame, error: String| {
            out.frames.push(frame);
            out.errors.push(error);
            out.truncated = true;
        };
        if fp == 0 || fp == bounds.stack_top.wrapping_sub(4) {
            out.frames.push(frame);
            break;
        }
        if !fp.is_multiple_of(4) {
            fail(&mut out, frame, format!("fp_unaligned:0x{fp:X}"));
            break;
        }
        if fp < bounds.stack_limit || fp as u64 + 8 > bounds.stack_top as u64 {
            fail(&mut out, frame, format!("fp_out_of_range:0x{fp:X}"));
            break;
        }
        let Some(saved_fp) = read_word(fp) else {
            fail(&mut out, frame, format!("stack_read_failed:0x{fp:X}"));
            break;
        };
        let Some(ret) = read_word(fp + 4) else {
            fail(&mut out, frame, format!("stack_read_failed:0x{:X}", fp + 4));
            break;
        };
        if saved_fp == 0 && ret == 0 {
            out.frames.push(frame);
            break;
        }
        frame.return_pc = Some(ret);
        out.frames.push(frame);
        if saved_fp != 0 && saved_fp <= fp {
            out.errors.push(format!("fp_cycle:0x{saved_fp:X}"));
            out.truncated = true;
            break;
        }
        if out.frames.len() >= max_frames {
            out.errors.push("frame_limit_reached".into());
            out.truncated = true;
            break;
        }
        pc = ret;
        sp = fp + 8;
        fp = saved_fp;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    const B: StackBounds = StackBounds {
        stack_limit: 0xF000,
        stack_top: 0x10000,
    };

    fn mem(words: &[(u32, u32)]) -> impl Fn(u32) -> Option<u32> {
        let m: HashMap<u32, u32> = words.iter().copied().collect();
        move |a| {
            (0xF000..0x10000)
                .contains(&a)
                .then(|| *m.get(&a).unwrap_or(&0))
        }
    }

    #[test]
    fn walks_the_documented_example() {
        // Frame 0 at phi_select: fp=FFEC holds saved fp FFFC and return 0x94.
        let w = walk(
            0xD0,
            0xFFE4,
            0xFFEC,
            B,
            16,
            mem(&[(0xFFEC, 0xFFFC), (0xFFF0, 0x94)]),
        );
        assert!(w.errors.is_empty(), "{:?}", w.errors);
        assert_eq!(w.frames.len(), 2);
        assert_eq!(w.frames[0].return_pc, Some(0x94));
        assert_eq!(
            w.frames[1],
            Frame {
                index: 1,
                pc: 0x94,
                sp: 0xFFF4,
                fp: 0xFFFC,
                return_pc: None
            }
        );
        assert!(!w.truncated);
    }

    #[test]
    fn fp_zero_is_a_normal_end() {
        let w = walk(0x10, 0xFFF0, 0, B, 16, mem(&[]));
        assert_eq!(w.frames.len(), 1);
        assert!(!w.truncated && w.errors.is_empty());
    }

    #[test]
    fn errors_are_recorded() {
        let w = walk(0, 0xFFF0, 2, B, 16, mem(&[]));
        assert_eq!(w.errors, vec!["fp_unaligned:0x2"]);
        assert!(w.truncated);
        let w = walk(0, 0xFFF0, 0x100, B, 16, mem(&[]));
        assert_eq!(w.errors, vec!["fp_out_of_range:0x100"]);
        let w = walk(0, 0xFFF0, 0x10000, B, 16, mem(&[]));
        assert_eq!(w.errors, vec!["fp_out_of_range:0x10000"]);
        let w = walk(
            0,
            0xFFE0,
            0xFFE8,
            B,
            16,
            mem(&[(0xFFE8, 0xFFE0), (0xFFEC, 4)]),
        );
        assert_eq!(w.errors, vec!["fp_cycle:0xFFE0"]);
        let w = walk(0, 0xFFE0, 0xF000, B, 16, |_| None);
        assert_eq!(w.errors, vec!["stack_read_failed:0xF000"]);
    }

    #[test]
    fn frame_limit() {
        let w = walk(
            0,
            0xFFD0,
            0xFFD8,
            B,
            1,
            mem(&[(0xFFD8, 0xFFEC), (0xFFDC, 0x40)]),
        );
        assert_eq!(w.frames.len(), 1);
        assert_eq!(w.errors, vec!["frame_limit_reached"]);
    }
}
