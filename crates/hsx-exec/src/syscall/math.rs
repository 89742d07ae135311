//! MATH (module 0x0E, `syscalls.md` §12): sin, cos and exp of an f16, computed in f64
//! with the portable `libm` and rounded once to binary16 (nearest-even), so results are
//! identical on every host.
//!
//! The f64 → binary16 rounding is done here on the bits: `half::f16::from_f64` drops
//! the low 32 bits of the f64 significand before rounding, which loses the sticky bit
//! (e.g. exp(2^-11) = 1 + 2^-11 + 2^-23 + … would round down to 1.0 instead of up).

use half::f16;
use hsx_isa::ENOSYS;

use crate::executive::Executive;
use crate::sched::Slot;

/// SIN.
pub const SIN: u8 = 0;
/// COS.
pub const COS: u8 = 1;
/// EXP.
pub const EXP: u8 = 2;

/// Canonical NaN.
pub const NAN: u16 = 0x7E00;

/// The f16 result bits of `function` applied to the f16 `x`, or `None` for an unknown
/// function.
pub fn evaluate(function: u8, x: u16) -> Option<u16> {
    let f: fn(f64) -> f64 = match function {
        SIN => libm::sin,
        COS => libm::cos,
        EXP => libm::exp,
        _ => return None,
    };
    let x = f16::from_bits(x).to_f64();
    let y = f(x);
    // NaN in → NaN; sin/cos(±inf) → NaN (libm gives NaN); any NaN is canonical.
    Some(f64_to_f16_bits(y))
}

/// Round an f64 to binary16 bits once, nearest-even, with gradual underflow, overflow
/// to ±inf and canonical NaN 0x7E00.
pub fn f64_to_f16_bits(y: f64) -> u16 {
    let bits = y.to_bits();
    let sign = ((bits >> 48) & 0x8000) as u16;
    let exp = ((bits >> 52) & 0x7FF) as i32;
    let man = bits & 0x000F_FFFF_FFFF_FFFF;
    if exp == 0x7FF {
        return if man != 0 { NAN } else { sign | 0x7C00 };
    }
    if exp == 0 {
        // f64 subnormals are far below half the smallest f16 subnormal.
        return sign;
    }
    let e = exp - 1023;
    if e > 15 {
        return sign | 0x7C00;
    }
    let significand = man | (1u64 << 52);
    // Keep 11 significant bits for a normal result; fewer for a subnormal one, whose
    // unit is 2^-24.
    let shift = if e >= -14 { 42 } else { 42 + (-14 - e) } as u32;
    if shift > 53 {
        return sign;
    }
    let kept = significand >> shift;
    let rest = significand & ((1u64 << shift) - 1);
    let half = 1u64 << (shift - 1);
    let rounded = if rest > half || (rest == half && kept & 1 == 1) {
        kept + 1
    } else {
        kept
    };
    if e >= -14 {
        let (mut exponent, mut m) = (e + 15, rounded);
        if m == 2048 {
            m = 1024;
            exponent += 1;
        }
        if exponent >= 31 {
            return sign | 0x7C00;
        }
        sign | ((exponent as u16) << 10) | (m - 1024) as u16
    } else {
        // 1024 here is the smallest normal, whose encoding is exactly 0x0400.
        sign | rounded as u16
    }
}

#[inline(never)]
pub(crate) fn dispatch(exec: &mut Executive, slot: Slot, function: u8) {
    let regs = exec.args(slot);
    match evaluate(function, (regs[1] & 0xFFFF) as u16) {
        Some(bits) => {
            let r0 = (regs[0] & 0xFFFF_0000) | u32::from(bits);
            exec.set_reg(slot, 0, r0);
        }
        None => exec.set_reg(slot, 0, ENOSYS),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference rounding of an f64 to binary16 bits, nearest-even, written out from
    /// the format definition (independent of `half`).
    fn round_to_f16(y: f64) -> u16 {
        if y.is_nan() {
            return NAN;
        }
        let sign = if y.is_sign_negative() { 0x8000 } else { 0 };
        let a = y.abs();
        if a >= 65520.0 {
            return sign | 0x7C00;
        }
        // Quantum: 2^-24 for subnormals, else 2^(e-10) for the binade [2^e, 2^(e+1)).
        let e = if a < 2f64.powi(-14) {
            -14
        } else {
            a.log2().floor() as i32
        };
        let q = 2f64.powi(e - 10);
        let n = a / q;
        let mut r = n.floor();
        let frac = n - r;
        if frac > 0.5 || (frac == 0.5 && r % 2.0 == 1.0) {
            r += 1.0;
        }
        let v = r * q;
        // v is exactly representable: convert it exactly.
        if v >= 65520.0 {
            return sign | 0x7C00;
        }
        sign | f64_to_f16_bits(v)
    }

    #[test]
    fn conversion_of_exact_values_matches_half() {
        for bits in 0..=u16::MAX {
            let v = f16::from_bits(bits);
            if v.is_nan() {
                continue;
            }
            assert_eq!(f64_to_f16_bits(v.to_f64()), bits, "0x{bits:04X}");
        }
    }

    #[test]
    fn sticky_bits_below_the_f32_range_are_honoured() {
        // exp(2^-11) = 1 + 2^-11 + 2^-23 + ...: just above the midpoint.
        assert_eq!(evaluate(EXP, 0x1000), Some(0x3C01));
        assert_eq!(f64_to_f16_bits(1.0 + 2f64.powi(-11)), 0x3C00, "tie to even");
        assert_eq!(
            f64_to_f16_bits(1.0 + 2f64.powi(-11) + 2f64.powi(-40)),
            0x3C01
        );
        assert_eq!(f64_to_f16_bits(65519.99), 0x7BFF);
        assert_eq!(f64_to_f16_bits(65520.0), 0x7C00);
        assert_eq!(f64_to_f16_bits(2f64.powi(-25)), 0x0000, "tie to even zero");
        assert_eq!(f64_to_f16_bits(2f64.powi(-25) * 1.0001), 0x0001);
        assert_eq!(f64_to_f16_bits(-2f64.powi(-14)), 0x8400);
    }

    #[test]
    fn special_values() {
        let inf = 0x7C00;
        let ninf = 0xFC00;
        for f in [SIN, COS, EXP] {
            assert_eq!(evaluate(f, 0x7E00), Some(NAN));
            assert_eq!(evaluate(f, 0x7C01), Some(NAN), "signalling NaN");
            assert_eq!(evaluate(f, 0xFE00), Some(NAN));
        }
        assert_eq!(evaluate(SIN, inf), Some(NAN));
        assert_eq!(evaluate(COS, ninf), Some(NAN));
        assert_eq!(evaluate(EXP, 0x4C00), Some(inf), "exp(16) overflows");
        assert_eq!(evaluate(EXP, ninf), Some(0));
        assert_eq!(evaluate(EXP, inf), Some(inf));
        assert_eq!(evaluate(SIN, 0x0000), Some(0x0000));
        assert_eq!(evaluate(SIN, 0x8000), Some(0x8000), "sin(-0) = -0");
        assert_eq!(evaluate(COS, 0x0000), Some(0x3C00));
        assert_eq!(evaluate(EXP, 0x0000), Some(0x3C00));
        assert_eq!(evaluate(3, 0), None);
    }

    #[test]
    fn every_input_is_rounded_once_from_f64() {
        for bits in 0..=u16::MAX {
            let x = f16::from_bits(bits).to_f64();
            for (f, g) in [
                (SIN, libm::sin as fn(f64) -> f64),
                (COS, libm::cos),
                (EXP, libm::exp),
            ] {
                assert_eq!(
                    evaluate(f, bits),
                    Some(round_to_f16(g(x))),
                    "fn {f} x 0x{bits:04X}"
                );
            }
        }
    }
}
