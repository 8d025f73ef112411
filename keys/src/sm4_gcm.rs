//! SM4 (GB/T 32907) in GCM mode for data at rest and payloads.
//!
//! The sealed form is `version (1 byte) ‖ nonce (12) ‖ ciphertext ‖ tag (16)`; the version
//! byte is authenticated as part of the associated data, so a downgrade is detected.
//!
//! Nonces are 96 random bits. [`DataKey::seal`] draws each from the operating system;
//! a [`Sealer`], for sealing many records (an import), prepares the cipher once and draws
//! its nonces from a ChaCha20 generator seeded once from the operating system. Either way
//! a nonce repeats with probability about n²/2⁹⁷ after n seals under one key (NIST SP
//! 800-38D's bound for random nonces allows 2³² seals per key).

use std::fmt;

use aes_gcm::aead::{Aead, AeadInOut, KeyInit, Payload};
use aes_gcm::{AesGcm, Nonce};
use rand_chacha::ChaCha20Rng;
use rand_core::{Rng, SeedableRng};
use sm4::Sm4;
use sm4::cipher::consts::U12;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::KeyError;

type Sm4Gcm = AesGcm<Sm4, U12>;

/// Format version of [`DataKey::seal`] output.
pub const SEALED_VERSION: u8 = 1;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
/// Bytes that sealing adds to a plaintext.
pub const SEAL_OVERHEAD: usize = 1 + NONCE_LEN + TAG_LEN;

/// `N` bytes from the operating system's generator (keys, salts, nonces).
pub(crate) fn random_bytes<const N: usize>() -> Result<[u8; N], KeyError> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|_| KeyError::Rng)?;
    Ok(bytes)
}

/// A 128-bit SM4 key for authenticated encryption; zeroized on drop, never printed.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct DataKey([u8; 16]);

impl DataKey {
    /// A fresh random key.
    pub fn generate() -> Result<Self, KeyError> {
        random_bytes().map(Self)
    }

    /// Wrap 16 key bytes.
    pub fn from_bytes(bytes: [u8; 16]) -> Self {
        Self(bytes)
    }

    /// The raw key bytes (for wrapping in a keystore). Handle with care.
    pub fn expose_bytes(&self) -> &[u8; 16] {
        &self.0
    }

    fn cipher(&self) -> Sm4Gcm {
        Sm4Gcm::new(&self.0.into())
    }

    /// A [`Sealer`] under this key, for sealing many records.
    pub fn sealer(&self) -> Result<Sealer, KeyError> {
        let mut seed = Zeroizing::new([0u8; 32]);
        getrandom::fill(&mut *seed).map_err(|_| KeyError::Rng)?;
        Ok(Sealer {
            cipher: self.cipher(),
            nonces: ChaCha20Rng::from_seed(*seed),
            aad: Vec::new(),
        })
    }

    /// Encrypt and authenticate `plaintext`, binding `aad` (e.g. a table and column name).
    pub fn seal(&self, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, KeyError> {
        self.seal_with_nonce(aad, plaintext, random_bytes()?)
    }

    fn seal_with_nonce(
        &self,
        aad: &[u8],
        plaintext: &[u8],
        nonce: [u8; NONCE_LEN],
    ) -> Result<Vec<u8>, KeyError> {
        let full_aad = versioned_aad(aad);
        let ct = self
            .cipher()
            .encrypt(
                &Nonce::<U12>::from(nonce),
                Payload {
                    msg: plaintext,
                    aad: &full_aad,
                },
            )
            .map_err(|_| KeyError::Sealed("plaintext too long"))?;
        let mut out = Vec::with_capacity(1 + NONCE_LEN + ct.len());
        out.push(SEALED_VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        Ok(out)
    }

    /// Check and decrypt the output of [`Self::seal`] under the same `aad`.
    pub fn open(&self, aad: &[u8], sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeyError> {
        if sealed.len() < SEAL_OVERHEAD {
            return Err(KeyError::Sealed(
                "ciphertext shorter than version, nonce and tag",
            ));
        }
        let (version, rest) = sealed.split_at(1);
        if version[0] != SEALED_VERSION {
            return Err(KeyError::Sealed("unknown sealed-data version"));
        }
        let (nonce, ct) = rest.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce
            .try_into()
            .map_err(|_| KeyError::Sealed("bad nonce"))?;
        let full_aad = versioned_aad(aad);
        self.cipher()
            .decrypt(
                &Nonce::<U12>::from(nonce),
                Payload {
                    msg: ct,
                    aad: &full_aad,
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| {
                KeyError::Sealed(
                    "authentication failed: wrong key, wrong context, or tampered data",
                )
            })
    }
}

/// Seals many records under one [`DataKey`], in the same format as [`DataKey::seal`]:
/// the SM4 key schedule and the GCM hash key are computed once, and nonces come from a
/// ChaCha20 generator seeded from the operating system when the sealer is made, not from
/// one system call per record (the two were most of the time to seal a short record).
/// One sealer per thread; never share its state across processes (a copied generator
/// would repeat nonces), which is why it is not `Clone`.
pub struct Sealer {
    cipher: Sm4Gcm,
    nonces: ChaCha20Rng,
    /// Scratch for the versioned associated data.
    aad: Vec<u8>,
}

impl Sealer {
    /// Encrypt and authenticate `plaintext`, binding `aad`; opens with [`DataKey::open`].
    pub fn seal(&mut self, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, KeyError> {
        let mut nonce = [0u8; NONCE_LEN];
        self.nonces.fill_bytes(&mut nonce);
        self.aad.clear();
        self.aad.push(SEALED_VERSION);
        self.aad.extend_from_slice(aad);
        seal_into(&self.cipher, &self.aad, plaintext, nonce)
    }
}

impl fmt::Debug for Sealer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Sealer(<redacted>)")
    }
}

/// `version ‖ nonce ‖ ciphertext ‖ tag`, encrypting in place in the output buffer.
fn seal_into(
    cipher: &Sm4Gcm,
    versioned_aad: &[u8],
    plaintext: &[u8],
    nonce: [u8; NONCE_LEN],
) -> Result<Vec<u8>, KeyError> {
    let mut out = Vec::with_capacity(SEAL_OVERHEAD + plaintext.len());
    out.push(SEALED_VERSION);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(plaintext);
    let tag = cipher
        .encrypt_inout_detached(
            &Nonce::<U12>::from(nonce),
            versioned_aad,
            (&mut out[1 + NONCE_LEN..]).into(),
        )
        .map_err(|_| KeyError::Sealed("plaintext too long"))?;
    out.extend_from_slice(&tag);
    Ok(out)
}

fn versioned_aad(aad: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(aad.len() + 1);
    v.push(SEALED_VERSION);
    v.extend_from_slice(aad);
    v
}

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DataKey(<redacted>)")
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn round_trip_and_tamper() {
        let k = DataKey::generate().unwrap();
        let sealed = k.seal(b"ctx", b"hello").unwrap();
        assert_eq!(&*k.open(b"ctx", &sealed).unwrap(), b"hello");
        assert!(k.open(b"other", &sealed).is_err());
        for i in 0..sealed.len() {
            for bit in 0..8 {
                let mut t = sealed.clone();
                t[i] ^= 1 << bit;
                assert!(k.open(b"ctx", &t).is_err(), "flip byte {i} bit {bit}");
            }
        }
        assert!(k.open(b"ctx", &sealed[..SEAL_OVERHEAD - 1]).is_err());
        let other = DataKey::generate().unwrap();
        assert!(other.open(b"ctx", &sealed).is_err());
    }

    #[test]
    fn sealer_output_is_seal_output() {
        let k = DataKey::from_bytes([7; 16]);
        let mut sealer = k.sealer().unwrap();
        let mut nonces = std::collections::HashSet::new();
        for len in [0usize, 1, 15, 16, 17, 100, 1000] {
            let plain: Vec<u8> = (0..len).map(|i| (i * 7) as u8).collect();
            let sealed = sealer.seal(b"ctx", &plain).unwrap();
            assert_eq!(&*k.open(b"ctx", &sealed).unwrap(), &plain[..]);
            assert!(k.open(b"other", &sealed).is_err());
            // Same bytes as the one-shot path with the same nonce.
            let nonce: [u8; NONCE_LEN] = sealed[1..1 + NONCE_LEN].try_into().unwrap();
            assert_eq!(sealed, k.seal_with_nonce(b"ctx", &plain, nonce).unwrap());
            assert!(nonces.insert(nonce));
        }
        // Two sealers are seeded apart.
        let a = k.sealer().unwrap().seal(b"", b"x").unwrap();
        let b = k.sealer().unwrap().seal(b"", b"x").unwrap();
        assert_ne!(a[1..1 + NONCE_LEN], b[1..1 + NONCE_LEN]);
        assert!(!format!("{sealer:?}").contains('7'));
    }

    #[test]
    fn deterministic_with_fixed_nonce() {
        let k = DataKey::from_bytes([7; 16]);
        let a = k.seal_with_nonce(b"", b"abc", [1; 12]).unwrap();
        let b = k.seal_with_nonce(b"", b"abc", [1; 12]).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.len(), 3 + SEAL_OVERHEAD);
    }
}
