//! KKRT16's OT extension (its §3, the IKNP matrix with codewords in place of choice bits),
//! streamed a chunk of [`CHUNK_BINS`] bins at a time.
//!
//! The PSI receiver holds both keys `(k0_i, k1_i)` of each of the [`CODE_BITS`] base OTs,
//! the PSI sender one key `k_{s_i}` of each, for random secret bits `s`. Column `i` of a
//! chunk is the next [`CHUNK_COLUMN_BYTES`] of the PRG keyed by the base-OT key (AES-128 in
//! counter mode from RustCrypto's `ctr` and `aes`, AES-NI when the CPU has it):
//!
//! ```text
//! receiver:  t0_i = G(k0_i),  t1_i = G(k1_i),  u_i = t0_i ⊕ t1_i ⊕ c_i     (c = codewords)
//! sender:    q_i  = G(k_{s_i}) ⊕ s_i·u_i  =  t0_i ⊕ s_i·c_i
//! rows:      q_j  = t0_j ⊕ (c_j ∧ s)
//! ```
//!
//! so for the receiver's element in bin `j` the OPRF value is `H(j, t0_j)`, and the sender
//! gets the same from `H(j, q_j ⊕ (C(y) ∧ s))` exactly when `C(y) = c_j`. The sender's view,
//! `u`, is one-time padded by `t1`; the receiver never sees anything that depends on `s`
//! but the base-OT points (uniform, see [`super::base_ot`]).

use aes::Aes128;
use ctr::cipher::{KeyIvInit, StreamCipher};
use rayon::prelude::*;
use zeroize::Zeroize;

use super::base_ot::OtKey;
use super::params::{CHUNK_BINS, CHUNK_COLUMN_BYTES, CODE_BITS, CODE_BYTES, CODE_WORDS, Row};
use super::transpose::transpose;

type ColumnPrg = ctr::Ctr64LE<Aes128>;

fn column_prg(key: &OtKey) -> ColumnPrg {
    let mut aes_key = [0u8; 16];
    let mut iv = [0u8; 16];
    aes_key.copy_from_slice(&key.0[..16]);
    iv.copy_from_slice(&key.0[16..]);
    let prg = ColumnPrg::new(&aes_key.into(), &iv.into());
    aes_key.zeroize();
    iv.zeroize();
    prg
}

/// Rows (one per bin) as the row-major bit matrix that [`transpose`] takes.
fn rows_to_bytes(rows: &[Row], out: &mut [u8]) {
    for (row, bytes) in rows.iter().zip(out.chunks_exact_mut(CODE_BYTES)) {
        for (word, b) in row.iter().zip(bytes.chunks_exact_mut(8)) {
            b.copy_from_slice(&word.to_le_bytes());
        }
    }
}

fn bytes_to_rows(bytes: &[u8], rows: &mut [Row]) {
    for (row, b) in rows.iter_mut().zip(bytes.chunks_exact(CODE_BYTES)) {
        for (word, w) in row.iter_mut().zip(b.chunks_exact(8)) {
            let mut le = [0u8; 8];
            le.copy_from_slice(w);
            *word = u64::from_le_bytes(le);
        }
    }
}

/// Transposes a chunk's columns into rows.
fn columns_to_rows(columns: &[u8], rows: &mut [Row]) {
    let mut bytes = vec![0u8; CHUNK_BINS * CODE_BYTES];
    transpose(columns, CODE_BITS, CHUNK_BINS, &mut bytes);
    bytes_to_rows(&bytes, rows);
    bytes.zeroize();
}

/// The PSI receiver's side of the extension.
pub struct ExtReceiver {
    t0: Vec<ColumnPrg>,
    t1: Vec<ColumnPrg>,
}

impl ExtReceiver {
    /// From both keys of each of the [`CODE_BITS`] base OTs.
    pub fn new(keys: &[(OtKey, OtKey)]) -> Self {
        Self {
            t0: keys.iter().map(|(k0, _)| column_prg(k0)).collect(),
            t1: keys.iter().map(|(_, k1)| column_prg(k1)).collect(),
        }
    }

    /// The next chunk: `codewords` has one row per bin of the chunk ([`CHUNK_BINS`];
    /// zero rows for empty bins). Writes the columns `u` to send into `u`
    /// (`CODE_BITS × CHUNK_COLUMN_BYTES` bytes, column-major) and the receiver's own rows
    /// `t0_j` into `t0_rows`.
    pub fn chunk(&mut self, codewords: &[Row], u: &mut [u8], t0_rows: &mut [Row]) {
        assert_eq!(codewords.len(), CHUNK_BINS);
        assert_eq!(t0_rows.len(), CHUNK_BINS);
        let mut c_rows = vec![0u8; CHUNK_BINS * CODE_BYTES];
        rows_to_bytes(codewords, &mut c_rows);
        let mut c_columns = vec![0u8; CHUNK_BINS * CODE_BYTES];
        transpose(&c_rows, CHUNK_BINS, CODE_BITS, &mut c_columns);
        let mut t0_columns = vec![0u8; CHUNK_BINS * CODE_BYTES];
        self.t0
            .par_iter_mut()
            .zip(self.t1.par_iter_mut())
            .zip(u.par_chunks_mut(CHUNK_COLUMN_BYTES))
            .zip(t0_columns.par_chunks_mut(CHUNK_COLUMN_BYTES))
            .zip(c_columns.par_chunks(CHUNK_COLUMN_BYTES))
            .for_each(|((((g0, g1), u_i), t0_i), c_i)| {
                g0.apply_keystream(t0_i);
                u_i.copy_from_slice(t0_i);
                g1.apply_keystream(u_i);
                for (u_byte, c_byte) in u_i.iter_mut().zip(c_i) {
                    *u_byte ^= c_byte;
                }
            });
        columns_to_rows(&t0_columns, t0_rows);
        c_rows.zeroize();
        c_columns.zeroize();
        t0_columns.zeroize();
    }
}

/// The PSI sender's side of the extension.
pub struct ExtSender {
    prgs: Vec<ColumnPrg>,
    /// `s` as one byte mask per column (0x00 or 0xFF): multiplies `u_i` without a branch.
    masks: Vec<u8>,
    s: Row,
}

impl Drop for ExtSender {
    fn drop(&mut self) {
        self.masks.zeroize();
        self.s.zeroize();
    }
}

impl ExtSender {
    /// From the chosen key of each base OT and the choice bits `s`.
    pub fn new(keys: &[OtKey], choices: &[bool]) -> Self {
        let mut s = [0u64; CODE_WORDS];
        for (i, &c) in choices.iter().enumerate() {
            s[i / 64] |= u64::from(c) << (i % 64);
        }
        Self {
            prgs: keys.iter().map(column_prg).collect(),
            masks: choices
                .iter()
                .map(|&c| 0u8.wrapping_sub(u8::from(c)))
                .collect(),
            s,
        }
    }

    /// The choice bits as a row, for `q_j ⊕ (C(y) ∧ s)`.
    pub fn s(&self) -> &Row {
        &self.s
    }

    /// The next chunk: from the receiver's columns `u`, the rows `q_j` of its bins.
    pub fn chunk(&mut self, u: &[u8], q_rows: &mut [Row]) {
        assert_eq!(u.len(), CODE_BITS * CHUNK_COLUMN_BYTES);
        assert_eq!(q_rows.len(), CHUNK_BINS);
        let mut q_columns = vec![0u8; CHUNK_BINS * CODE_BYTES];
        self.prgs
            .par_iter_mut()
            .zip(self.masks.par_iter())
            .zip(q_columns.par_chunks_mut(CHUNK_COLUMN_BYTES))
            .zip(u.par_chunks(CHUNK_COLUMN_BYTES))
            .for_each(|(((g, &mask), q_i), u_i)| {
                for (q, &u_byte) in q_i.iter_mut().zip(u_i) {
                    *q = u_byte & mask;
                }
                g.apply_keystream(q_i);
            });
        columns_to_rows(&q_columns, q_rows);
        q_columns.zeroize();
    }
}

/// `q ⊕ (c ∧ s)`: the sender's row for a candidate codeword `c`.
pub fn masked(q: &Row, c: &Row, s: &Row) -> Row {
    core::array::from_fn(|w| q[w] ^ (c[w] & s[w]))
}

#[cfg(test)]
mod tests {
    use super::super::base_ot::{OtSender, receive};
    use super::*;

    /// A fresh extension pair over real base OTs, with random choice bits.
    fn pair() -> (ExtReceiver, ExtSender) {
        let ot = OtSender::new().expect("randomness");
        let mut bits = [0u8; CODE_BITS / 8];
        getrandom::fill(&mut bits).expect("randomness");
        let choices: Vec<bool> = (0..CODE_BITS)
            .map(|i| bits[i / 8] >> (i % 8) & 1 == 1)
            .collect();
        let (points, chosen) = receive(&ot.message(), &choices).expect("receive");
        let keys = ot.keys(&points).expect("keys");
        (ExtReceiver::new(&keys), ExtSender::new(&chosen, &choices))
    }

    fn codeword(i: usize) -> Row {
        core::array::from_fn(|w| (i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ w as u64)
    }

    #[test]
    fn sender_rows_are_t0_xor_codeword_and_s() {
        let (mut receiver, mut sender) = pair();
        // Three chunks, so the column PRGs' streams advance in step on both sides.
        for chunk in 0..3 {
            let codewords: Vec<Row> = (0..CHUNK_BINS)
                .map(|j| {
                    if j % 5 == 0 {
                        [0; CODE_WORDS]
                    } else {
                        codeword(chunk * CHUNK_BINS + j)
                    }
                })
                .collect();
            let mut u = vec![0u8; CODE_BITS * CHUNK_COLUMN_BYTES];
            let mut t0 = vec![[0u64; CODE_WORDS]; CHUNK_BINS];
            receiver.chunk(&codewords, &mut u, &mut t0);
            let mut q = vec![[0u64; CODE_WORDS]; CHUNK_BINS];
            sender.chunk(&u, &mut q);
            for j in 0..CHUNK_BINS {
                // The OPRF identity: the sender's row for the receiver's own codeword is t0.
                assert_eq!(masked(&q[j], &codewords[j], sender.s()), t0[j], "bin {j}");
                // For any other codeword it is not.
                let other = codeword(usize::MAX / 2 - j);
                assert_ne!(masked(&q[j], &other, sender.s()), t0[j], "bin {j}");
            }
        }
    }

    /// Pearson's χ² of the byte histogram of `bytes` against the uniform distribution
    /// (255 degrees of freedom: mean 255, standard deviation 22.6).
    fn chi_square(bytes: &[u8]) -> f64 {
        let mut counts = [0f64; 256];
        for &b in bytes {
            counts[usize::from(b)] += 1.0;
        }
        let expected = bytes.len() as f64 / 256.0;
        counts
            .iter()
            .map(|c| (c - expected).powi(2) / expected)
            .sum()
    }

    /// χ² above this (≈ 6.5 standard deviations) is rejected: an honest implementation
    /// fails with probability below 10^-9, the biased controls pass it never.
    const CHI_SQUARE_MAX: f64 = 400.0;

    #[test]
    fn the_senders_view_is_independent_of_the_receivers_codewords() {
        // The sender sees only u. With all-zero and all-one codewords, u must look uniform
        // either way; a broken receiver that pads with the same stream twice (t1 = t0)
        // sends the codewords themselves and is caught.
        for fill in [0u64, u64::MAX] {
            let (mut receiver, _) = pair();
            let codewords = vec![[fill; CODE_WORDS]; CHUNK_BINS];
            let mut u = vec![0u8; CODE_BITS * CHUNK_COLUMN_BYTES];
            let mut t0 = vec![[0u64; CODE_WORDS]; CHUNK_BINS];
            receiver.chunk(&codewords, &mut u, &mut t0);
            let chi = chi_square(&u);
            assert!(chi < CHI_SQUARE_MAX, "codewords {fill:#x}: χ² = {chi}");
        }
        // Control: the same key for both columns of each base OT.
        let ot = OtSender::new().expect("randomness");
        let (points, _) = receive(&ot.message(), &[false; CODE_BITS]).expect("receive");
        let keys = ot.keys(&points).expect("keys");
        let broken: Vec<(OtKey, OtKey)> = keys
            .iter()
            .map(|(k0, _)| (k0.clone(), k0.clone()))
            .collect();
        let mut receiver = ExtReceiver::new(&broken);
        let codewords = vec![[0x0F0F_0F0F_0F0F_0F0F; CODE_WORDS]; CHUNK_BINS];
        let mut u = vec![0u8; CODE_BITS * CHUNK_COLUMN_BYTES];
        let mut t0 = vec![[0u64; CODE_WORDS]; CHUNK_BINS];
        receiver.chunk(&codewords, &mut u, &mut t0);
        let chi = chi_square(&u);
        assert!(
            chi > 10.0 * CHI_SQUARE_MAX,
            "the control must be caught: χ² = {chi}"
        );
    }

    #[test]
    fn the_receivers_view_is_independent_of_the_senders_choice_bits() {
        // The receiver sees the base-OT points B_j. Collect them under all-zero and
        // all-one choices: both must look uniform.
        let mut views = Vec::new();
        for choice in [false, true] {
            let mut bytes = Vec::new();
            for _ in 0..16 {
                let ot = OtSender::new().expect("randomness");
                let (points, _) = receive(&ot.message(), &[choice; CODE_BITS]).expect("receive");
                // Bytes 1 and 30: a ristretto255 encoding is non-negative (byte 0 even) and
                // below 2^255 (byte 31 under 0x80), so only inner bytes are uniform.
                for p in points {
                    bytes.push(p[1]);
                    bytes.push(p[30]);
                }
            }
            let chi = chi_square(&bytes);
            assert!(chi < CHI_SQUARE_MAX, "choice {choice}: χ² = {chi}");
            views.push(bytes);
        }
        // Control: a receiver whose randomness is drawn from a tiny range when it chooses 1
        // (B_j = b_j·G + A with b_j < 16) shows its choices in the histogram.
        let ot = OtSender::new().expect("randomness");
        let a = curve25519_dalek::ristretto::CompressedRistretto(ot.message())
            .decompress()
            .expect("valid");
        let mut biased = Vec::new();
        for j in 0..views[1].len() / 2 {
            let b = curve25519_dalek::scalar::Scalar::from(u8::try_from(j % 16).expect("small"));
            let p = (curve25519_dalek::ristretto::RistrettoPoint::mul_base(&b) + a)
                .compress()
                .to_bytes();
            biased.push(p[1]);
            biased.push(p[30]);
        }
        let chi = chi_square(&biased);
        assert!(
            chi > 10.0 * CHI_SQUARE_MAX,
            "the control must be caught: χ² = {chi}"
        );
    }
}
