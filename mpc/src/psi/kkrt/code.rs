//! What KKRT16 computes on an element, besides the OT extension: the item hash (which bins an
//! element may occupy, and the 128 bits that stand for it), the pseudorandom code (the
//! 512-bit codeword that the OPRF is keyed on), and the output hash that turns a matrix row
//! into the OPRF value.
//!
//! - Item hash: SHA-512 over a tag, the run's salt and the normalised identifier. The salt
//!   comes from both parties' seeds, so neither can aim elements at chosen bins, and hashes
//!   of one run say nothing about another's.
//! - Pseudorandom code: `C(x, h) = AES_k(x ⊕ (h, 0)) ‖ … ‖ AES_k(x ⊕ (h, 3))` with a key `k`
//!   drawn for the run from both seeds: AES as a PRF, which is what KKRT16 §3 requires of
//!   the code (the element's hash function index `h` is part of the input, so an element
//!   placed in a bin by `h1` and one seen there by `h2` never share a codeword).
//! - Output hash: SHA-256 over a tag, the bin index and the row, cut to
//!   [`VALUE_BYTES`]. KKRT16 proves the protocol with this hash as a random oracle; a
//!   fixed-key-AES correlation-robust hash is proven only for 128-bit inputs, and widening
//!   it to 512-bit rows would be our own construction, so the audited SHA-256 (SHA-NI on
//!   this machine) is used instead.

use aes::Aes128;
use aes::cipher::{BlockCipherEncrypt, KeyInit};
use sha2::{Digest, Sha256, Sha512};

use super::params::{CODE_WORDS, HASHES, Row, VALUE_BYTES, Value};

/// Domain separation of the item hash.
pub const ITEM_DST: &[u8] = b"WEINONG-PSI-KKRT-V01-ITEM-SHA512";
/// Domain separation of the output hash.
pub const VALUE_DST: &[u8] = b"WEINONG-PSI-KKRT-V01-OPRF-SHA256";

/// An element as both parties see it in one run.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct ItemHash {
    /// The 128 bits that stand for the element in the code.
    pub key: [u8; 16],
    /// One 64-bit word per hash function; [`bin_of`] maps it to a bin.
    pub spots: [u64; HASHES],
}

/// The item hash of `id` under the run's `salt`.
pub fn hash_item(salt: &[u8; 32], id: &[u8]) -> ItemHash {
    let digest = Sha512::new()
        .chain_update(ITEM_DST)
        .chain_update(salt)
        .chain_update(id)
        .finalize();
    let mut key = [0u8; 16];
    key.copy_from_slice(&digest[..16]);
    let mut spots = [0u64; HASHES];
    for (h, spot) in spots.iter_mut().enumerate() {
        let mut le = [0u8; 8];
        le.copy_from_slice(&digest[16 + 8 * h..24 + 8 * h]);
        *spot = u64::from_le_bytes(le);
    }
    ItemHash { key, spots }
}

/// The bin of a 64-bit spot in a table of `bins`: the high word of `spot · bins`, uniform
/// up to a bias of `bins / 2^64`.
pub fn bin_of(spot: u64, bins: u64) -> u64 {
    let wide = u128::from(spot) * u128::from(bins);
    // The high half of a product with a u64 factor below `bins` always fits.
    u64::try_from(wide >> 64).unwrap_or(u64::MAX)
}

/// The run's pseudorandom code.
pub struct Code {
    cipher: Aes128,
}

impl Code {
    /// The code under the run's 16-byte key.
    pub fn new(key: [u8; 16]) -> Self {
        Self {
            cipher: Aes128::new(&key.into()),
        }
    }

    /// The codeword of an element's key placed by hash function `hash_index`.
    pub fn encode(&self, key: &[u8; 16], hash_index: u8) -> Row {
        let mut blocks = [aes::Block::default(); CODE_WORDS / 2];
        for (w, block) in blocks.iter_mut().enumerate() {
            block.copy_from_slice(key);
            // Distinct inputs per (hash function, block): the low bits of the last byte.
            block[15] ^= (hash_index << 2) | u8::try_from(w).unwrap_or(0);
        }
        self.cipher.encrypt_blocks(&mut blocks);
        let mut row = [0u64; CODE_WORDS];
        for (w, block) in blocks.iter().enumerate() {
            let mut lo = [0u8; 8];
            let mut hi = [0u8; 8];
            lo.copy_from_slice(&block[..8]);
            hi.copy_from_slice(&block[8..]);
            row[2 * w] = u64::from_le_bytes(lo);
            row[2 * w + 1] = u64::from_le_bytes(hi);
        }
        row
    }
}

/// The OPRF value of a matrix row in bin `bin`.
pub fn value(bin: u64, row: &Row) -> Value {
    let mut hasher = Sha256::new();
    hasher.update(VALUE_DST);
    hasher.update(bin.to_le_bytes());
    for word in row {
        hasher.update(word.to_le_bytes());
    }
    let digest = hasher.finalize();
    let mut out = [0u8; VALUE_BYTES];
    out.copy_from_slice(&digest[..VALUE_BYTES]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codewords_depend_on_key_hash_index_and_code_key() {
        let code = Code::new([1; 16]);
        let a = code.encode(&[5; 16], 0);
        assert_eq!(a, code.encode(&[5; 16], 0), "deterministic");
        assert_ne!(a, code.encode(&[5; 16], 1));
        assert_ne!(a, code.encode(&[6; 16], 0));
        assert_ne!(a, Code::new([2; 16]).encode(&[5; 16], 0));
        // The four AES blocks differ: no block is repeated inside a codeword.
        assert!(a[0..2] != a[2..4] && a[2..4] != a[4..6] && a[4..6] != a[6..8]);
    }

    #[test]
    fn the_code_is_aes_128_of_the_tweaked_key() {
        // FIPS 197 Appendix C.1: AES-128 of 00112233…ff under 000102…0f is 69c4e0d8….
        let key: [u8; 16] = core::array::from_fn(|i| u8::try_from(i).unwrap_or(0));
        let mut plain: [u8; 16] = core::array::from_fn(|i| u8::try_from(i * 0x11).unwrap_or(0));
        // Block 0 of hash function 0 has no tweak.
        let row = Code::new(key).encode(&plain, 0);
        let mut first = row[0].to_le_bytes().to_vec();
        first.extend(row[1].to_le_bytes());
        assert_eq!(hex::encode(first), "69c4e0d86a7b0430d8cdb78070b4c55a");
        plain[15] ^= 1;
        assert_ne!(Code::new(key).encode(&plain, 0), row);
    }

    #[test]
    fn bins_cover_the_table_evenly() {
        let bins = 1000u64;
        let mut counts = vec![0u32; 1000];
        for i in 0..100_000u64 {
            let spot = hash_item(&[0; 32], &i.to_le_bytes()).spots[1];
            let b = bin_of(spot, bins);
            assert!(b < bins);
            counts[usize::try_from(b).expect("small")] += 1;
        }
        // 100 a bin expected; a uniform hash puts every bin within ±50 with overwhelming
        // probability (Chernoff).
        assert!(
            counts.iter().all(|&c| (50..=150).contains(&c)),
            "{counts:?}"
        );
        assert_eq!(bin_of(u64::MAX, bins), bins - 1);
        assert_eq!(bin_of(0, bins), 0);
    }

    /// Known answers computed with Python's `hashlib` (an independent SHA-2), so the
    /// byte layout of both hashes is pinned: `sha256(VALUE_DST ‖ 9u64 LE ‖ 8 × 3u64 LE)[:12]`
    /// and `sha512(ITEM_DST ‖ [7; 32] ‖ id)`, key = bytes 0..16, spots = LE words 16..40.
    #[test]
    fn hashes_match_an_independent_implementation() {
        assert_eq!(
            hex::encode(value(9, &[3u64; CODE_WORDS])),
            "e620cc62014976c1166a08a7"
        );
        let item = hash_item(&[7; 32], b"310104193001010012");
        assert_eq!(hex::encode(item.key), "4b85dde7806e7faaebca0cdad5d98ab4");
        assert_eq!(
            item.spots,
            [
                11_567_003_253_755_553_278,
                17_409_690_533_188_025_178,
                14_810_360_092_875_645_084
            ]
        );
    }

    #[test]
    fn values_bind_the_bin() {
        let row = [3u64; CODE_WORDS];
        assert_ne!(value(0, &row), value(1, &row));
        assert_eq!(value(9, &row), value(9, &row));
    }
}
