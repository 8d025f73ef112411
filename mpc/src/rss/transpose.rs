//! Conversion between element-major `u64` values and bit planes (bit-slicing), by 64×64
//! bit-matrix transposition with the recursive block-swap method (Hacker's Delight §7-3).

/// Transposes a 64×64 bit matrix in place: afterwards bit r of `m[c]` is what bit c of
/// `m[r]` was.
fn transpose64(m: &mut [u64; 64]) {
    const MASKS: [(usize, u64); 6] = [
        (32, 0x0000_0000_FFFF_FFFF),
        (16, 0x0000_FFFF_0000_FFFF),
        (8, 0x00FF_00FF_00FF_00FF),
        (4, 0x0F0F_0F0F_0F0F_0F0F),
        (2, 0x3333_3333_3333_3333),
        (1, 0x5555_5555_5555_5555),
    ];
    for (j, mask) in MASKS {
        let mut r = 0;
        while r < 64 {
            for k in r..r + j {
                // Swap the high-column block of row k with the low-column block of row k+j.
                let t = ((m[k] >> j) ^ m[k + j]) & mask;
                m[k + j] ^= t;
                m[k] ^= t << j;
            }
            r += 2 * j;
        }
    }
}

/// The first `planes` bit planes of `values`: plane j, word w holds bit j of elements
/// 64w..64w+64. Returns `planes × values.len().div_ceil(64)` words, plane-major.
pub(crate) fn to_planes(values: &[u64], planes: usize) -> Vec<u64> {
    debug_assert!(planes <= 64);
    let w = values.len().div_ceil(64);
    let mut out = vec![0u64; planes * w];
    let mut block = [0u64; 64];
    for (word, chunk) in values.chunks(64).enumerate() {
        block[..chunk.len()].copy_from_slice(chunk);
        block[chunk.len()..].fill(0);
        transpose64(&mut block);
        for (j, &plane_word) in block.iter().take(planes).enumerate() {
            out[j * w + word] = plane_word;
        }
    }
    out
}

/// The inverse of [`to_planes`] with 64 planes: `len` values from `64 × len.div_ceil(64)`
/// plane-major words.
pub(crate) fn from_planes(planes: &[u64], len: usize) -> Vec<u64> {
    let w = len.div_ceil(64);
    debug_assert_eq!(planes.len(), 64 * w);
    let mut out = Vec::with_capacity(w * 64);
    let mut block = [0u64; 64];
    for word in 0..w {
        for (j, slot) in block.iter_mut().enumerate() {
            *slot = planes[j * w + word];
        }
        transpose64(&mut block);
        out.extend_from_slice(&block);
    }
    out.truncate(len);
    out
}

/// Unpacks the first `len` bits of packed words into 0/1 values.
pub(crate) fn unpack_bits(words: &[u64], len: usize) -> Vec<u64> {
    (0..len).map(|k| (words[k / 64] >> (k % 64)) & 1).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn planes_round_trip_and_match_bits() {
        let values: Vec<u64> = (0..150u64)
            .map(|i| i.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (i << 7))
            .collect();
        let planes = to_planes(&values, 64);
        let w = values.len().div_ceil(64);
        for (k, v) in values.iter().enumerate() {
            for j in 0..64 {
                assert_eq!((planes[j * w + k / 64] >> (k % 64)) & 1, (v >> j) & 1);
            }
        }
        assert_eq!(from_planes(&planes, values.len()), values);
    }
}
