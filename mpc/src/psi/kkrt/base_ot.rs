//! The base oblivious transfers that seed the OT extension: [`CODE_BITS`] random OTs on
//! ristretto255, after Chou and Orlandi, "The Simplest Protocol for Oblivious Transfer"
//! (LATINCRYPT 2015), with the known fix to its key derivation: each key hashes the whole
//! transcript of its OT (`A`, `B_j`) and the OT's index, as in Hauck and Loss ("Efficient
//! and Universally Composable Protocols for Oblivious Transfer from the CDH Assumption",
//! 2017), so that keys of different OTs and runs are independent random-oracle outputs.
//! Used semi-honestly, as KKRT16 assumes: security under CDH in ristretto255 with SHA-256 as
//! the random oracle.
//!
//! ```text
//! OT sender (PSI receiver)              OT receiver (PSI sender), choice bits c_j
//! a ← Z_ℓ, A = a·G        ── A ──▶
//!                                       b_j ← Z_ℓ, B_j = b_j·G + c_j·A
//!                         ◀── B_j ──
//! k0_j = H(j, A, B_j, a·B_j)            k_{c_j} = H(j, A, B_j, b_j·A)
//! k1_j = H(j, A, B_j, a·(B_j − A))
//! ```
//!
//! `B_j` is uniform whatever `c_j` is (`b_j·G` is), so the OT sender learns nothing of the
//! choices; computing `k_{1−c_j}` needs `a·b_j·G ± a²·G`, i.e. CDH. The choice enters as a
//! scalar multiplication by 0 or 1, not a branch, so its timing does not depend on it.
//! Group arithmetic is `curve25519-dalek`'s; nothing here is hand-written arithmetic.

use curve25519_dalek::ristretto::{CompressedRistretto, RistrettoPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::Identity;
use rayon::prelude::*;
use sha2::{Digest, Sha256};
use zeroize::{Zeroize, ZeroizeOnDrop};

use super::params::CODE_BITS;
use crate::psi::error::PsiError;
use crate::psi::group::PointBytes;

/// Domain separation of the key derivation: names Weinong, KKRT, the version and CO15.
pub const BASE_OT_DST: &[u8] = b"WEINONG-PSI-KKRT-V01-BASE-OT-CO15-SHA256";

/// One base-OT output: 32 bytes that key one column's PRG. Zeroized on drop, not `Debug`.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct OtKey(pub(crate) [u8; 32]);

/// A fresh uniformly random scalar from the operating system.
pub(crate) fn random_scalar() -> Result<Scalar, PsiError> {
    let mut wide = [0u8; 64];
    getrandom::fill(&mut wide).map_err(|e| PsiError::Randomness(e.to_string()))?;
    let scalar = Scalar::from_bytes_mod_order_wide(&wide);
    wide.zeroize();
    Ok(scalar)
}

fn derive(index: usize, a: &PointBytes, b: &PointBytes, shared: &RistrettoPoint) -> OtKey {
    let index = u32::try_from(index).unwrap_or(u32::MAX);
    let mut shared_bytes = shared.compress().to_bytes();
    let digest = Sha256::new()
        .chain_update(BASE_OT_DST)
        .chain_update(index.to_be_bytes())
        .chain_update(a)
        .chain_update(b)
        .chain_update(shared_bytes)
        .finalize();
    shared_bytes.zeroize();
    let mut key = [0u8; 32];
    key.copy_from_slice(&digest);
    OtKey(key)
}

fn decompress(bytes: &PointBytes, index: usize) -> Result<RistrettoPoint, PsiError> {
    CompressedRistretto(*bytes)
        .decompress()
        .ok_or(PsiError::InvalidPoint {
            index: u64::try_from(index).unwrap_or(u64::MAX),
        })
}

/// The OT sender's secret for one run. Zeroized on drop.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct OtSender {
    a: Scalar,
    #[zeroize(skip)]
    a_bytes: PointBytes,
}

impl OtSender {
    /// A fresh sender and its first message `A`.
    pub fn new() -> Result<Self, PsiError> {
        let a = random_scalar()?;
        let a_bytes = RistrettoPoint::mul_base(&a).compress().to_bytes();
        Ok(Self { a, a_bytes })
    }

    /// The first message, `A = a·G`.
    pub fn message(&self) -> PointBytes {
        self.a_bytes
    }

    /// Both keys of every OT, from the receiver's [`CODE_BITS`] points `B_j`.
    pub fn keys(&self, b: &[PointBytes]) -> Result<Vec<(OtKey, OtKey)>, PsiError> {
        if b.len() != CODE_BITS {
            return Err(PsiError::Protocol {
                phase: "the base OTs",
                reason: format!("{} base-OT points, expected {CODE_BITS}", b.len()),
            });
        }
        let big_a = decompress(&self.a_bytes, 0)?;
        b.par_iter()
            .enumerate()
            .map(|(j, bj)| {
                let point = decompress(bj, j)?;
                let k0 = derive(j, &self.a_bytes, bj, &(point * self.a));
                let k1 = derive(j, &self.a_bytes, bj, &((point - big_a) * self.a));
                Ok((k0, k1))
            })
            .collect()
    }
}

/// The OT receiver's side: given `A` and the choice bits, its points `B_j` (to send) and
/// the chosen keys `k_{c_j}`.
pub fn receive(
    a: &PointBytes,
    choices: &[bool],
) -> Result<(Vec<PointBytes>, Vec<OtKey>), PsiError> {
    let big_a = decompress(a, 0)?;
    if big_a == RistrettoPoint::identity() {
        // With A = identity every key would be public.
        return Err(PsiError::Protocol {
            phase: "the base OTs",
            reason: "the base-OT point A is the identity".to_owned(),
        });
    }
    let results: Vec<Result<(PointBytes, OtKey), PsiError>> = choices
        .par_iter()
        .enumerate()
        .map(|(j, &choice)| {
            let mut b = random_scalar()?;
            let c = Scalar::from(u8::from(choice));
            let bj = (RistrettoPoint::mul_base(&b) + big_a * c)
                .compress()
                .to_bytes();
            let key = derive(j, a, &bj, &(big_a * b));
            b.zeroize();
            Ok((bj, key))
        })
        .collect();
    let mut points = Vec::with_capacity(choices.len());
    let mut keys = Vec::with_capacity(choices.len());
    for r in results {
        let (p, k) = r?;
        points.push(p);
        keys.push(k);
    }
    Ok((points, keys))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_receiver_gets_exactly_the_chosen_key() {
        let sender = OtSender::new().expect("randomness");
        let choices: Vec<bool> = (0..CODE_BITS).map(|i| i % 3 == 1).collect();
        let (points, chosen) = receive(&sender.message(), &choices).expect("receive");
        let keys = sender.keys(&points).expect("keys");
        for (j, ((k0, k1), kc)) in keys.iter().zip(&chosen).enumerate() {
            let (want, other) = if choices[j] { (k1, k0) } else { (k0, k1) };
            assert_eq!(kc.0, want.0, "OT {j}: the chosen key");
            assert_ne!(kc.0, other.0, "OT {j}: not the other key");
            assert_ne!(k0.0, k1.0);
        }
        // Keys of different OTs differ even for equal choices.
        assert_ne!(chosen[0].0, chosen[3].0);
    }

    #[test]
    fn malformed_points_are_named() {
        let sender = OtSender::new().expect("randomness");
        let mut points =
            vec![RistrettoPoint::mul_base(&Scalar::ONE).compress().to_bytes(); CODE_BITS];
        points[7] = [0xFF; 32];
        assert!(matches!(
            sender.keys(&points),
            Err(PsiError::InvalidPoint { index: 7 })
        ));
        assert!(matches!(
            sender.keys(&points[..10]),
            Err(PsiError::Protocol { .. })
        ));
        let identity = RistrettoPoint::identity().compress().to_bytes();
        assert!(matches!(
            receive(&identity, &[false; 4]),
            Err(PsiError::Protocol { .. })
        ));
    }
}
