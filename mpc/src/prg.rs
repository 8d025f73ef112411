//! The engine's pseudo-random generator: AES-128 in counter mode from RustCrypto's `aes`
//! and `ctr` crates, keyed by a 16-byte seed derived with HMAC-SM3 from a pair secret.
//!
//! Why AES-CTR and not ChaCha: comparison circuits draw two PRG words per AND gate per
//! party (about 45 MB per party for 10^6 comparisons), and `aes` uses AES-NI with eight
//! blocks in flight when the CPU has it (detected at run time), which is several times
//! faster per byte than ChaCha20 in software on this machine's cores. The keystream is
//! consumed strictly in order, so both holders of a seed must draw the same number of words
//! in the same order; every protocol in `rss` is written to keep that invariant.

use aes::Aes128;
use ctr::cipher::{KeyIvInit, StreamCipher};

use crate::secrets::DerivedKey;

type Aes128Ctr = ctr::Ctr64LE<Aes128>;

/// Words produced per keystream call; sized to stay in L1 cache.
const SCRATCH_WORDS: usize = 512;

/// A deterministic stream of pseudo-random `u64` words.
pub(crate) struct Prg {
    cipher: Aes128Ctr,
    scratch: Box<[u8; SCRATCH_WORDS * 8]>,
}

impl Prg {
    /// A PRG keyed by the first 16 bytes of `key`, with the next 16 as the CTR nonce.
    pub(crate) fn new(key: &DerivedKey) -> Prg {
        let mut aes_key = [0u8; 16];
        let mut iv = [0u8; 16];
        aes_key.copy_from_slice(&key.0[..16]);
        iv[..8].copy_from_slice(&key.0[16..24]);
        let cipher = Aes128Ctr::new(&aes_key.into(), &iv.into());
        zeroize::Zeroize::zeroize(&mut aes_key);
        Prg {
            cipher,
            scratch: Box::new([0u8; SCRATCH_WORDS * 8]),
        }
    }

    /// Fills `out` with the next words of the stream.
    pub(crate) fn fill(&mut self, out: &mut [u64]) {
        for chunk in out.chunks_mut(SCRATCH_WORDS) {
            let bytes = &mut self.scratch[..chunk.len() * 8];
            bytes.fill(0);
            self.cipher.apply_keystream(bytes);
            for (word, b) in chunk.iter_mut().zip(bytes.chunks_exact(8)) {
                let mut le = [0u8; 8];
                le.copy_from_slice(b);
                *word = u64::from_le_bytes(le);
            }
        }
    }

    /// A vector of `len` fresh words.
    pub(crate) fn vec(&mut self, len: usize) -> Vec<u64> {
        let mut out = vec![0u64; len];
        self.fill(&mut out);
        out
    }
}

impl Drop for Prg {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.scratch[..]);
    }
}
