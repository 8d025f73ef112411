//! Fixed-point encoding of public constants over Z_2^64: a real r is the integer
//! round(r · 2^frac_bits) in two's complement. Secrets are encoded by their owners the same
//! way before input; products carry 2·frac_bits fractional bits until [`crate::Party::trunc`].

use crate::MpcError;

/// Fractional bits used by default (as SecretFlow SPU's FM64 does).
pub const FRAC_BITS: u32 = 18;

/// Encodes `value` with `frac_bits` fractional bits; values whose encoding leaves
/// [-2^62, 2^62) are refused so a later product still has headroom.
pub fn encode(value: f64, frac_bits: u32) -> Result<u64, MpcError> {
    let limit = (1u64 << 62) as f64;
    let scaled = (value * (1u64 << frac_bits.min(62)) as f64).round();
    if frac_bits > 62 || !scaled.is_finite() || scaled >= limit || scaled < -limit {
        return Err(MpcError::FixedPointRange { value, frac_bits });
    }
    // In range by the check above, so the cast is exact.
    #[expect(clippy::cast_possible_truncation, reason = "range checked above")]
    let integer = scaled as i64;
    Ok(integer as u64)
}

/// Decodes a revealed fixed-point ring element.
pub fn decode(ring: u64, frac_bits: u32) -> f64 {
    (ring as i64) as f64 / (1u64 << frac_bits.min(62)) as f64
}
