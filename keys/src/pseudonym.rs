//! Subject pseudonyms: HMAC-SM3 of a normalised resident ID under the consortium pepper.
//!
//! A plain hash of an 18-digit ID is brute-forceable (about 10^11 plausible IDs), so the
//! pseudonym is keyed: only holders of the pepper (department nodes) can compute it, and
//! the ledger, which never holds the pepper, sees only pseudonyms.

use std::fmt;

use hmac::{KeyInit, Mac};
use sm3::Sm3;
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::digest_id::digest_id;
use crate::{KeyError, ResidentId, hmac_sm3};

/// Domain separation so the pepper's HMAC is not reusable for another purpose.
const PSEUDONYM_DOMAIN: &[u8] = b"weinong/subject-pseudonym/v1\0";

/// The consortium pepper: 32 secret bytes shared by department nodes, never on the ledger.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct Pepper([u8; 32]);

impl Pepper {
    /// A fresh random pepper.
    pub fn generate() -> Result<Self, KeyError> {
        let mut p = [0u8; 32];
        getrandom::fill(&mut p).map_err(|_| KeyError::Rng)?;
        Ok(Self(p))
    }

    /// Wrap 32 bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// Read a pepper file: 64 hex characters (surrounding whitespace ignored).
    pub fn from_hex(text: &str) -> Result<Self, KeyError> {
        let mut p = [0u8; 32];
        hex::decode_to_slice(text.trim(), &mut p).map_err(|e| KeyError::Hex {
            what: "pepper (64 hex characters)",
            reason: e.to_string(),
        })?;
        Ok(Self(p))
    }

    /// The raw pepper bytes (for sealing in a secrets file). Handle with care.
    pub fn expose_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Hex form, for writing a pepper file. Handle with care.
    pub fn to_hex(&self) -> zeroize::Zeroizing<String> {
        zeroize::Zeroizing::new(hex::encode(self.0))
    }
}

impl ConstantTimeEq for Pepper {
    fn ct_eq(&self, other: &Self) -> subtle::Choice {
        self.0.ct_eq(&other.0)
    }
}

impl fmt::Debug for Pepper {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pepper(<redacted>)")
    }
}

digest_id!(
    /// A subject's pseudonym: `HMAC-SM3(pepper, domain ‖ normalised ID)`, shown as hex.
    SubjectPseudonym,
    "subject pseudonym"
);

/// The pepper keyed into HMAC-SM3 once, with the domain prefix absorbed, for deriving many
/// pseudonyms (an import): each derivation then compresses two SM3 blocks instead of four.
/// Gives the same pseudonyms as [`SubjectPseudonym::derive`]. The prepared state stands
/// for the pepper: keep it as private; `Debug` shows nothing, and its SM3 states are wiped
/// when it is dropped.
#[derive(Clone)]
pub struct PseudonymKey {
    keyed: hmac::Hmac<Sm3>,
}

impl PseudonymKey {
    /// Prepare `pepper`.
    pub fn new(pepper: &Pepper) -> Self {
        // HMAC accepts keys of any length, so this cannot fail.
        let mut keyed = <hmac::Hmac<Sm3> as KeyInit>::new_from_slice(&pepper.0)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        keyed.update(PSEUDONYM_DOMAIN);
        Self { keyed }
    }

    /// The pseudonym of a validated ID.
    pub fn derive(&self, id: &ResidentId) -> SubjectPseudonym {
        let mut mac = self.keyed.clone();
        mac.update(id.as_str().as_bytes());
        SubjectPseudonym(mac.finalize().into_bytes().into())
    }
}

// The keyed HMAC state is as secret as the pepper: both SM3 states inside it (inner and
// outer) must wipe themselves on drop, which `sm3`'s `zeroize` feature provides. This fails
// to compile if that feature is ever lost.
const _: fn(&sm3::Sm3Core) -> &dyn zeroize::ZeroizeOnDrop = |state| state;

impl fmt::Debug for PseudonymKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PseudonymKey(<redacted>)")
    }
}

impl SubjectPseudonym {
    /// Derive the pseudonym of a validated ID.
    pub fn derive(pepper: &Pepper, id: &ResidentId) -> Self {
        let mut msg = Vec::with_capacity(PSEUDONYM_DOMAIN.len() + 18);
        msg.extend_from_slice(PSEUDONYM_DOMAIN);
        msg.extend_from_slice(id.as_str().as_bytes());
        let out = hmac_sm3(&pepper.0, &msg);
        msg.zeroize();
        Self(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::hmac_sm3;

    #[test]
    fn pseudonym_is_keyed_hmac_of_normalised_id() {
        let pepper = Pepper::from_bytes([9; 32]);
        let a =
            SubjectPseudonym::derive(&pepper, &ResidentId::parse("11010519491231002x").unwrap());
        let b =
            SubjectPseudonym::derive(&pepper, &ResidentId::parse("11010519491231002X").unwrap());
        assert_eq!(a, b);
        let mut msg = PSEUDONYM_DOMAIN.to_vec();
        msg.extend_from_slice(b"11010519491231002X");
        assert_eq!(a.as_bytes(), &hmac_sm3(&[9; 32], &msg));
        let other = SubjectPseudonym::derive(
            &Pepper::from_bytes([8; 32]),
            &ResidentId::parse("11010519491231002X").unwrap(),
        );
        assert_ne!(a, other);
        assert_eq!(a.to_hex().parse::<SubjectPseudonym>().unwrap(), a);
    }

    #[test]
    fn prepared_key_derives_the_same_pseudonyms() {
        let pepper = Pepper::from_bytes([9; 32]);
        let key = PseudonymKey::new(&pepper);
        for body in [
            "11010519491231002",
            "31010119500101001",
            "31011519451212002",
        ] {
            let mut id = [b'0'; 18];
            id[..17].copy_from_slice(body.as_bytes());
            id[17] = crate::check_char(&id);
            let id = ResidentId::parse(std::str::from_utf8(&id).unwrap()).unwrap();
            assert_eq!(key.derive(&id), SubjectPseudonym::derive(&pepper, &id));
        }
        let id = ResidentId::parse("11010519491231002X").unwrap();
        assert_ne!(
            PseudonymKey::new(&Pepper::from_bytes([8; 32])).derive(&id),
            key.derive(&id)
        );
        assert_eq!(format!("{key:?}"), "PseudonymKey(<redacted>)");
    }
}
