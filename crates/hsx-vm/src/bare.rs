//! A single context with its own small VM RAM: the bare profile of `isa.md` §3
//! (W = 0x10000, T = 0x8000, L = 0 by default), used by conformance tests, benchmarks
//! and anything that wants to run one program without an executive.

use alloc::vec;
use alloc::vec::Vec;

use crate::context::{Context, Exit, Layout, REGISTERS, RunResult, read_registers};
use crate::interp;
use crate::program::Program;

/// Physical offset of the register bank inside a bare VM's RAM (past a null page).
const REG_BASE: u32 = 0x100;
/// Physical offset of the window.
const WINDOW_BASE: u32 = 0x1_0000;

/// One program, one context, one VM RAM.
#[derive(Clone, Debug)]
pub struct BareVm {
    /// The context record.
    pub ctx: Context,
    /// VM RAM (register bank at `ctx.reg_base`, window at `ctx.stack_base`).
    pub ram: Vec<u32>,
    /// The decoded code.
    pub program: Program,
}

impl BareVm {
    /// The bare profile: W = 0x10000, T = SP = 0x8000, L = 0.
    pub fn new(program: Program, entry: u32) -> BareVm {
        BareVm::with_stack(program, entry, 0x1_0000, 0x8000, 0)
    }

    /// A custom window and stack (`isa.md` §10 rows 54-55).
    pub fn with_stack(
        program: Program,
        entry: u32,
        window_size: u32,
        stack_top: u32,
        stack_limit: u32,
    ) -> BareVm {
        let layout = Layout {
            reg_base: REG_BASE,
            window_base: WINDOW_BASE,
            window_size,
            stack_top,
            stack_limit,
        };
        let ram = vec![0u32; ((WINDOW_BASE + window_size) / 4) as usize];
        BareVm {
            ctx: Context::new(entry, layout),
            ram,
            program,
        }
    }

    /// Copy `bytes` into the window at guest address `addr` (e.g. rodata at 0x4000).
    pub fn load_data(&mut self, addr: u32, bytes: &[u8]) {
        let window = self.window_mut();
        window[addr as usize..addr as usize + bytes.len()].copy_from_slice(bytes);
    }

    /// Run up to `budget` instructions.
    pub fn run(&mut self, budget: u64) -> RunResult {
        interp::run(&mut self.ctx, &mut self.ram, &self.program, budget)
    }

    /// Run until the program stops (anything but an exhausted budget) or `max_steps`
    /// instructions have retired.
    pub fn run_to_stop(&mut self, max_steps: u64) -> Exit {
        self.run(max_steps).exit
    }

    /// R0..R15, read through `reg_base`.
    pub fn regs(&self) -> [u32; REGISTERS] {
        read_registers(&self.ctx, &self.ram).expect("bare VM layout is valid")
    }

    /// Set register `n` in the bank.
    pub fn set_reg(&mut self, n: usize, value: u32) {
        crate::write_register(&self.ctx, &mut self.ram, n, value).expect("bare VM layout is valid");
    }

    /// The guest window.
    pub fn window(&self) -> &[u8] {
        let start = (self.ctx.stack_base / 4) as usize;
        let words = (self.ctx.window_size / 4) as usize;
        bytemuck::cast_slice(&self.ram[start..start + words])
    }

    /// The guest window, mutable.
    pub fn window_mut(&mut self) -> &mut [u8] {
        let start = (self.ctx.stack_base / 4) as usize;
        let words = (self.ctx.window_size / 4) as usize;
        bytemuck::cast_slice_mut(&mut self.ram[start..start + words])
    }

    /// Little-endian word at guest address `addr`.
    pub fn mem32(&self, addr: u32) -> u32 {
        let a = addr as usize;
        let w = self.window();
        u32::from_le_bytes([w[a], w[a + 1], w[a + 2], w[a + 3]])
    }
}
