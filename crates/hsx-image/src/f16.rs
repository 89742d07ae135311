//! IEEE 754 binary16 conversions for value metadata (`hxe.md` §6 rule 4).
//!
//! The encoder is written out here rather than taken from `half::f16::from_f64`:
//! on x86 hosts with F16C (selected at run time when `half/std` is enabled anywhere in
//! the build) `half` converts through `f32`, which rounds twice and can be off by one
//! ulp for ties. Decoding is exact either way and uses `half`.

/// Quiet NaN produced for every NaN input.
const NAN: u16 = 0x7E00;
/// +infinity.
const INF: u16 = 0x7C00;

/// Round `x` to binary16 bits: round to nearest, ties to even; values beyond the finite
/// range (|x| ≥ 65520) become ±infinity (0x7C00 / 0xFC00); NaN becomes 0x7E00.
pub fn f16_from_f64(x: f64) -> u16 {
    if x.is_nan() {
        return NAN;
    }
    let bits = x.to_bits();
    let sign = if bits >> 63 == 1 { 0x8000 } else { 0 };
    let biased = ((bits >> 52) & 0x7FF) as i32;
    if biased == 0 {
        // Zero or an f64 subnormal: far below half the smallest f16 subnormal.
        return sign;
    }
    let exp = biased - 1023; // |x| in [2^exp, 2^(exp+1)); infinity lands here too
    if exp > 15 {
        return sign | INF;
    }
    // |x| = mant * 2^(exp - 52). The binary16 spacing around |x| is 2^(max(exp, -14) - 10),
    // so |x| / spacing = mant >> shift with shift = max(exp, -14) - exp + 42 (≥ 42).
    let mant = (bits & ((1 << 52) - 1)) | (1 << 52);
    let shift = exp.max(-14) - exp + 42;
    if shift > 53 {
        // mant < 2^53 ≤ 2^(shift - 1): below half a spacing, rounds to zero.
        return sign;
    }
    let mut count = mant >> shift;
    let rest = mant & ((1u64 << shift) - 1);
    let half = 1u64 << (shift - 1);
    if rest > half || (rest == half && count & 1 == 1) {
        count += 1;
    }
    // Binary16 bit patterns are contiguous: the bits of `count` spacings in the binade of
    // `exp` are ((max(exp, -14) + 14) << 10) + count. A carry to 2048 moves to the next
    // binade, and past 65504 it yields exactly 0x7C00 (infinity).
    let binade = (exp.max(-14) + 14) as u64;
    sign | ((binade << 10) + count) as u16
}

/// The exact value of binary16 bits.
pub fn f16_to_f64(bits: u16) -> f64 {
    half::f16::from_bits(bits).to_f64()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn golden_c_values() {
        assert_eq!(f16_from_f64(12.5), 0x4A40);
        assert_eq!(f16_from_f64(0.5), 0x3800);
        assert_eq!(f16_from_f64(-40.0), 0xD100);
        assert_eq!(f16_from_f64(125.0), 0x57D0);
    }

    #[test]
    fn special_values() {
        assert_eq!(f16_from_f64(0.0), 0x0000);
        assert_eq!(f16_from_f64(-0.0), 0x8000);
        assert_eq!(f16_from_f64(f64::NAN), 0x7E00);
        assert_eq!(f16_from_f64(-f64::NAN), 0x7E00);
        assert_eq!(f16_from_f64(f64::INFINITY), 0x7C00);
        assert_eq!(f16_from_f64(f64::NEG_INFINITY), 0xFC00);
        assert_eq!(f16_from_f64(f64::MIN_POSITIVE / 4.0), 0x0000);
        assert_eq!(f16_from_f64(1e300), 0x7C00);
    }

    #[test]
    fn range_limits() {
        assert_eq!(f16_from_f64(65504.0), 0x7BFF);
        assert_eq!(f16_from_f64(65519.99), 0x7BFF);
        assert_eq!(f16_from_f64(65520.0), 0x7C00); // tie between 65504 (odd) and 2^16
        assert_eq!(f16_from_f64(-65520.0), 0xFC00);
        let min_sub = 2f64.powi(-24);
        assert_eq!(f16_from_f64(min_sub), 0x0001);
        assert_eq!(f16_from_f64(min_sub / 2.0), 0x0000); // tie to even (0)
        assert_eq!(f16_from_f64(min_sub * 0.5000001), 0x0001);
        assert_eq!(f16_from_f64(min_sub * 1.5), 0x0002); // tie to even (2)
        assert_eq!(f16_from_f64(2f64.powi(-14)), 0x0400); // smallest normal
        assert_eq!(f16_from_f64(2f64.powi(-14) - min_sub), 0x03FF); // largest subnormal
    }

    #[test]
    fn ties_round_to_even() {
        let ulp = 2f64.powi(-10);
        assert_eq!(f16_from_f64(1.0 + ulp / 2.0), 0x3C00);
        assert_eq!(f16_from_f64(1.0 + 1.5 * ulp), 0x3C02);
        // Just above the tie: a conversion through f32 would lose the extra bit and
        // round down; the direct conversion rounds up.
        assert_eq!(f16_from_f64(1.0 + ulp / 2.0 + 2f64.powi(-40)), 0x3C01);
        assert_eq!(f16_from_f64(2047.5), 0x6800); // 2048
        assert_eq!(f16_from_f64(2049.0), 0x6800); // tie between 2048 and 2050
    }

    #[test]
    fn decodes_exactly() {
        assert_eq!(f16_to_f64(0x4A40), 12.5);
        assert_eq!(f16_to_f64(0xD100), -40.0);
        assert_eq!(f16_to_f64(0x0001), 2f64.powi(-24));
        assert!(f16_to_f64(0x7E00).is_nan());
        assert_eq!(f16_to_f64(0xFC00), f64::NEG_INFINITY);
    }

    #[test]
    fn every_finite_f16_round_trips() {
        for bits in 0..=u16::MAX {
            let value = f16_to_f64(bits);
            if value.is_nan() {
                continue;
            }
            assert_eq!(f16_from_f64(value), bits, "bits 0x{bits:04X}");
        }
    }
}
