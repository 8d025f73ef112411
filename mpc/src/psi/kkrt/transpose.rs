//! Bit-matrix transpose: the OT extension produces its matrix column by column (one PRG
//! stream per base OT) and uses it row by row (one row per cuckoo bin).
//!
//! Layout: a matrix of `rows × cols` bits is stored row-major, each row `cols / 8` bytes,
//! bit `c` of a row in byte `c / 8` at bit `c % 8` (least significant first), so a row of
//! 64 bits read as a little-endian `u64` has column `c` at bit `c`. Both dimensions are
//! multiples of 64.
//!
//! Method: the matrix is cut into 64 × 64 blocks; each block is transposed in registers
//! by the recursive block swap (Hacker's Delight §7-3, widened to 64 bits: six rounds that
//! swap 32-, 16-, …, 1-bit sub-blocks with shifts and masks over all 64 words at once),
//! and blocks of output rows are spread over all cores. Safe Rust only: the word-parallel
//! (SWAR) rounds are straight-line `u64` code that the compiler keeps in vector registers.

use rayon::prelude::*;

/// Transposes a 64 × 64 bit block in place: afterwards bit `r` of `a[c]` is what bit `c`
/// of `a[r]` was.
pub fn transpose_64x64(a: &mut [u64; 64]) {
    let mut width = 32;
    let mut mask: u64 = 0x0000_0000_FFFF_FFFF;
    while width != 0 {
        let mut k = 0;
        while k < 64 {
            // Swap the high `width` bits of each `2·width` group of row k with the low
            // bits of row k + width: the off-diagonal sub-blocks trade places.
            let t = ((a[k] >> width) ^ a[k + width]) & mask;
            a[k] ^= t << width;
            a[k + width] ^= t;
            k = (k + width + 1) & !width;
        }
        width >>= 1;
        mask ^= mask << width;
    }
}

/// Transposes a `rows × cols` bit matrix (layout in the module doc) into `out`, a
/// `cols × rows` matrix.
///
/// # Panics
/// If a dimension is not a multiple of 64 or a buffer has the wrong length: the callers
/// use fixed, checked sizes, so either is a bug here.
pub fn transpose(input: &[u8], rows: usize, cols: usize, out: &mut [u8]) {
    assert!(rows.is_multiple_of(64) && cols.is_multiple_of(64));
    assert_eq!(input.len(), rows * cols / 8);
    assert_eq!(out.len(), rows * cols / 8);
    let in_row_bytes = cols / 8;
    let out_row_bytes = rows / 8;
    // One task per band of 64 output rows, i.e. 64 input columns.
    out.par_chunks_mut(64 * out_row_bytes)
        .enumerate()
        .for_each(|(col_block, band)| {
            let mut block = [0u64; 64];
            for row_block in 0..rows / 64 {
                for (r, word) in block.iter_mut().enumerate() {
                    let at = (row_block * 64 + r) * in_row_bytes + col_block * 8;
                    let mut le = [0u8; 8];
                    le.copy_from_slice(&input[at..at + 8]);
                    *word = u64::from_le_bytes(le);
                }
                transpose_64x64(&mut block);
                for (c, word) in block.iter().enumerate() {
                    let at = c * out_row_bytes + row_block * 8;
                    band[at..at + 8].copy_from_slice(&word.to_le_bytes());
                }
            }
        });
}

#[cfg(test)]
mod tests {
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha20Rng;

    use super::*;

    fn bit(m: &[u8], row_bytes: usize, r: usize, c: usize) -> bool {
        m[r * row_bytes + c / 8] >> (c % 8) & 1 == 1
    }

    #[test]
    fn equals_the_naive_transpose() {
        let mut rng = ChaCha20Rng::seed_from_u64(7);
        for (rows, cols) in [(64, 64), (128, 512), (2048, 512), (512, 2048), (192, 64)] {
            let mut input = vec![0u8; rows * cols / 8];
            rng.fill_bytes(&mut input);
            let mut out = vec![0u8; rows * cols / 8];
            transpose(&input, rows, cols, &mut out);
            for r in 0..rows {
                for c in 0..cols {
                    assert_eq!(
                        bit(&input, cols / 8, r, c),
                        bit(&out, rows / 8, c, r),
                        "{rows}x{cols} at ({r}, {c})"
                    );
                }
            }
            // Transposing twice is the identity.
            let mut back = vec![0u8; rows * cols / 8];
            transpose(&out, cols, rows, &mut back);
            assert_eq!(back, input);
        }
    }

    #[test]
    fn a_single_bit_moves_to_its_mirror_position() {
        for (r, c) in [(0, 0), (0, 63), (63, 0), (5, 40), (62, 1)] {
            let mut a = [0u64; 64];
            a[r] = 1 << c;
            transpose_64x64(&mut a);
            let mut want = [0u64; 64];
            want[c] = 1 << r;
            assert_eq!(a, want, "bit ({r}, {c})");
        }
    }
}
