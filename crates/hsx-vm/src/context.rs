//! The context record (`executive.md` §3) and its view into VM RAM.

use hsx_isa::Fault;

/// Everything the VM needs to run a task, besides its code: a small fixed record.
/// A context switch selects another record; it copies no registers and no memory.
///
/// Registers are **not** here: R0..R15 are the 16 little-endian words at `reg_base` in VM
/// RAM, read and written there by the interpreter and by every tool.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Context {
    /// Byte address of the next instruction in code.
    pub pc: u32,
    /// Flags Z C N V (bits 0..3).
    pub psw: u32,
    /// Guest address of the top stack word.
    pub sp: u32,
    /// CALL/RET nesting; RET at depth 0 exits the task.
    pub call_depth: u32,
    /// Physical byte offset of the register bank in VM RAM (multiple of 4).
    pub reg_base: u32,
    /// Physical byte offset of the task window (= the stack relocation base, multiple of 4).
    pub stack_base: u32,
    /// Lowest valid stack address (guest); PUSH/CALL below it overflow.
    pub stack_limit: u32,
    /// Highest stack address (guest); POP/RET above it underflow. Initial SP.
    pub stack_top: u32,
    /// Size of the guest window in bytes (multiple of 4, at most 0x10000).
    pub window_size: u32,
    /// Instructions retired by this context.
    pub steps: u64,
}

/// Number of architectural registers.
pub const REGISTERS: usize = 16;
/// Bytes of one register bank.
pub const BANK_BYTES: u32 = 4 * REGISTERS as u32;

/// Why a context cannot run against a given VM RAM. These are executive bugs or corrupt
/// debugger input, never guest behaviour; the interpreter reports them instead of
/// panicking.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LayoutError {
    /// `reg_base` or `stack_base` is not a multiple of 4.
    Misaligned,
    /// The register bank or the window extends past the end of VM RAM.
    OutOfRam,
    /// The register bank overlaps the window.
    Overlap,
    /// The window is larger than 64 KiB or not a multiple of 4, or the stack bounds break
    /// `stack_limit < stack_top <= window_size`.
    BadBounds,
}

impl core::fmt::Display for LayoutError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            LayoutError::Misaligned => "register bank or window base not 4-byte aligned",
            LayoutError::OutOfRam => "register bank or window outside VM RAM",
            LayoutError::Overlap => "register bank overlaps the task window",
            LayoutError::BadBounds => "window or stack bounds invalid",
        })
    }
}

impl Context {
    /// A fresh context (`hxe.md` §4.2): registers are the caller's to zero.
    pub fn new(entry: u32, layout: Layout) -> Context {
        Context {
            pc: entry,
            psw: 0,
            sp: layout.stack_top,
            call_depth: 0,
            reg_base: layout.reg_base,
            stack_base: layout.window_base,
            stack_limit: layout.stack_limit,
            stack_top: layout.stack_top,
            window_size: layout.window_size,
            steps: 0,
        }
    }

    /// Check the record against a VM RAM of `ram_bytes` bytes.
    pub fn validate(&self, ram_bytes: usize) -> Result<(), LayoutError> {
        if !self.reg_base.is_multiple_of(4) || !self.stack_base.is_multiple_of(4) {
            return Err(LayoutError::Misaligned);
        }
        if self.window_size > 0x1_0000
            || !self.window_size.is_multiple_of(4)
            || self.stack_limit >= self.stack_top
            || self.stack_top > self.window_size
        {
            return Err(LayoutError::BadBounds);
        }
        let bank = self.reg_base as usize..self.reg_base as usize + BANK_BYTES as usize;
        let window = self.stack_base as usize..self.stack_base as usize + self.window_size as usize;
        if bank.end > ram_bytes || window.end > ram_bytes {
            return Err(LayoutError::OutOfRam);
        }
        if bank.start < window.end && window.start < bank.end {
            return Err(LayoutError::Overlap);
        }
        Ok(())
    }
}

/// Where a task's arenas sit in VM RAM and how its stack is bounded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    /// Physical offset of the register bank.
    pub reg_base: u32,
    /// Physical offset of the window.
    pub window_base: u32,
    /// Window size in bytes.
    pub window_size: u32,
    /// Stack top (initial SP).
    pub stack_top: u32,
    /// Stack limit.
    pub stack_limit: u32,
}

/// Borrow a context's register bank and window out of VM RAM, disjointly.
///
/// This is the only way the interpreter and tools reach registers: through `reg_base`.
/// It runs at every [`crate::run`] call: `Placement::of` checks the record, `Placement::carve`
/// borrows the two arenas.
#[inline]
pub fn split_ram<'r>(
    ctx: &Context,
    ram: &'r mut [u32],
) -> Result<(&'r mut [u32; REGISTERS], &'r mut [u8]), LayoutError> {
    Placement::of(ctx, ram.len())?
        .carve(ram)
        .ok_or(LayoutError::OutOfRam)
}

/// A context record's layout checked once against a VM RAM, for [`crate::run_checked`]:
/// running it then only borrows the bank and the window, without the checks
/// [`split_ram`] repeats at every call. An executive makes one per task when it lays
/// the task out, since the layout fields (`reg_base`, `stack_base`, `window_size`,
/// `stack_limit`, `stack_top`) and the RAM size never change afterwards. A record that
/// does not fit keeps its [`LayoutError`], reported by every run.
///
/// A check made for another record (or before its layout changed) stays memory safe:
/// the run borrows the arenas the check was made for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Checked(Result<Placement, LayoutError>);

impl Checked {
    /// Check `ctx` against `ram`, the VM RAM it will run in (only its length is used).
    pub fn new(ctx: &Context, ram: &[u32]) -> Checked {
        Checked(Placement::of(ctx, ram.len()))
    }

    /// Borrow the bank and the window out of `ram`.
    #[inline(always)]
    pub(crate) fn carve<'r>(
        &self,
        ram: &'r mut [u32],
    ) -> Result<(&'r mut [u32; REGISTERS], &'r mut [u8]), LayoutError> {
        self.0?.carve(ram).ok_or(LayoutError::OutOfRam)
    }
}

/// A context's register bank and window as word ranges of VM RAM, checked once.
///
/// The round-robin loop ([`crate::run_ring`]) checks every member's record when it
/// starts and then, at each switch, only carves the two arenas out of VM RAM again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Placement {
    bank: usize,
    win: usize,
    win_words: usize,
}

impl Placement {
    /// Check `ctx` against a VM RAM of `ram_words` words. The checks are folded into one
    /// branch-free predicate; the precise [`LayoutError`] is worked out only on failure.
    #[inline]
    pub(crate) fn of(ctx: &Context, ram_words: usize) -> Result<Placement, LayoutError> {
        let (bank, win, win_words) = (
            (ctx.reg_base / 4) as usize,
            (ctx.stack_base / 4) as usize,
            (ctx.window_size / 4) as usize,
        );
        let bad_bounds = ((ctx.reg_base | ctx.stack_base | ctx.window_size) & 3 != 0)
            | (ctx.window_size > 0x1_0000)
            | (ctx.stack_limit >= ctx.stack_top)
            | (ctx.stack_top > ctx.window_size);
        let fits = (bank + REGISTERS <= ram_words) & (win + win_words <= ram_words);
        let disjoint = (bank + REGISTERS <= win) | (win + win_words <= bank);
        if bad_bounds | !fits | !disjoint {
            return Err(ctx
                .validate(ram_words * 4)
                .err()
                .unwrap_or(LayoutError::OutOfRam));
        }
        Ok(Placement {
            bank,
            win,
            win_words,
        })
    }

    /// First word of the bank, first word of the window, words of the window.
    #[inline]
    pub(crate) fn spans(self) -> (usize, usize, usize) {
        (self.bank, self.win, self.win_words)
    }

    /// A placement that never carves: stands for a record that does not fit.
    pub(crate) const NONE: Placement = Placement {
        bank: usize::MAX,
        win: 0,
        win_words: 0,
    };

    /// Borrow the bank and the window. `None` only if `ram` is not the VM RAM the
    /// placement was checked against (shorter).
    #[inline(always)]
    pub(crate) fn carve(self, ram: &mut [u32]) -> Option<(&mut [u32; REGISTERS], &mut [u8])> {
        let Placement {
            bank,
            win,
            win_words,
        } = self;
        let (regs, window) = if bank < win {
            let (lo, hi) = ram.split_at_mut_checked(win)?;
            (
                lo.get_mut(bank..bank + REGISTERS)?,
                hi.get_mut(..win_words)?,
            )
        } else {
            let (lo, hi) = ram.split_at_mut_checked(bank)?;
            (hi.get_mut(..REGISTERS)?, lo.get_mut(win..win + win_words)?)
        };
        let regs: &mut [u32; REGISTERS] = regs.try_into().ok()?;
        Some((regs, bytemuck::cast_slice_mut(window)))
    }
}

/// A context's register bank in VM RAM, read-only: R0..R15 as stored (little-endian
/// words). For tools and the executive's system calls, which read a few registers.
#[inline]
pub fn register_bank<'r>(
    ctx: &Context,
    ram: &'r [u32],
) -> Result<&'r [u32; REGISTERS], LayoutError> {
    let start = bank_start(ctx)?;
    ram.get(start..start + REGISTERS)
        .and_then(|bank| bank.try_into().ok())
        .ok_or(LayoutError::OutOfRam)
}

/// A context's register bank in VM RAM, writable (words stored little-endian): one
/// borrow for writing several syscall results.
#[inline]
pub fn register_bank_mut<'r>(
    ctx: &Context,
    ram: &'r mut [u32],
) -> Result<&'r mut [u32; REGISTERS], LayoutError> {
    let start = bank_start(ctx)?;
    ram.get_mut(start..start + REGISTERS)
        .and_then(|bank| bank.try_into().ok())
        .ok_or(LayoutError::OutOfRam)
}

/// Word index of the register bank in VM RAM.
#[inline(always)]
fn bank_start(ctx: &Context) -> Result<usize, LayoutError> {
    if !ctx.reg_base.is_multiple_of(4) {
        return Err(LayoutError::Misaligned);
    }
    Ok((ctx.reg_base / 4) as usize)
}

/// Read a context's registers from VM RAM (for tools: dumpregs, debugger, `--json`).
pub fn read_registers(ctx: &Context, ram: &[u32]) -> Result<[u32; REGISTERS], LayoutError> {
    Ok(register_bank(ctx, ram)?.map(u32::from_le))
}

/// Write one register of a context in VM RAM (for tools and syscall results).
pub fn write_register(
    ctx: &Context,
    ram: &mut [u32],
    index: usize,
    value: u32,
) -> Result<(), LayoutError> {
    register_bank_mut(ctx, ram)?[index % REGISTERS] = value.to_le();
    Ok(())
}

/// How a call to [`crate::run`] ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// The step budget ran out; every executed instruction retired.
    Budget,
    /// An SVC retired; the executive services it before the task runs again.
    Trap {
        /// Module number (imm bits 11..8).
        module: u8,
        /// Function number (imm bits 7..0).
        function: u8,
    },
    /// A BRK retired; the task pauses.
    Break {
        /// `imm & 0xFF`.
        code: u8,
        /// Address of the BRK (PC is now `pc + 4`).
        pc: u32,
    },
    /// RET at call depth 0: the task exits with R0 (not retired, PC stays on the RET).
    Exit {
        /// R0.
        status: u32,
    },
    /// A fault: R0 holds the code, nothing else changed, PC stays on the instruction.
    Fault {
        /// Which fault.
        fault: Fault,
        /// The faulting PC.
        pc: u32,
    },
    /// The context record does not fit the VM RAM (an executive bug, not a guest fault).
    Layout(LayoutError),
}

/// Result of [`crate::run`]: why it stopped and how many instructions retired.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunResult {
    /// Why execution stopped.
    pub exit: Exit,
    /// Instructions retired during this call (already added to `Context::steps`).
    pub retired: u64,
}
