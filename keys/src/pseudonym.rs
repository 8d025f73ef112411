//! Subject pseudonyms: an oblivious PRF (RFC 9497, OPRF mode, ristretto255-SHA512) of the
//! normalised resident ID under a key derived from the consortium pepper.
//!
//! A plain hash of an 18-digit ID is brute-forceable (about 10^9 plausible IDs), so the
//! pseudonym is keyed. The key is the consortium's ([`PseudonymKey`], derived from the
//! [`Pepper`] by RFC 9497's `DeriveKeyPair` with [`OPRF_KEY_INFO`], so departments keep one
//! secret as before); only department nodes hold it. Everyone else (care homes, registrar
//! clients) gets a pseudonym obliviously: [`PseudonymBlinding::blind`] sends a
//! [`BlindedId`] to a department node, which answers [`PseudonymKey::evaluate_blinded`]
//! without learning the ID, and [`PseudonymBlinding::finish`] unblinds it without learning
//! the key. A department importing its data evaluates directly ([`PseudonymKey::derive`]);
//! both give the same [`SubjectPseudonym`]:
//!
//! ```text
//! input     = "weinong/subject-pseudonym/v2" ‖ 0x00 ‖ normalised ID (18 ASCII characters)
//! output    = RFC 9497 Finalize = SHA-512(len ‖ input ‖ len ‖ k·HashToGroup(input) ‖ "Finalize")
//! pseudonym = output[..32]
//! ```
//!
//! Truncating the 64-byte PRF output keeps it a PRF; 32 bytes is what the ledger carries.
//! Every group and hash operation is the `voprf` crate's (curve25519-dalek, sha2).

use std::fmt;

use subtle::ConstantTimeEq;
use voprf::{BlindedElement, EvaluationElement, OprfClient, OprfServer};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::{KeyError, ResidentId};

/// The RFC 9497 ciphersuite: ristretto255 with SHA-512 (identifier `ristretto255-SHA512`).
type Suite = voprf::Ristretto255;

/// Domain separation of the PRF input, so the key's outputs serve no other purpose.
const PSEUDONYM_DOMAIN: &[u8] = b"weinong/subject-pseudonym/v2\0";

/// The `info` of RFC 9497 `DeriveKeyPair(seed = pepper, info)`: the OPRF key is bound to
/// this use, and the pepper's other uses (none today) could not reproduce it.
pub const OPRF_KEY_INFO: &[u8] = b"weinong/subject-pseudonym/oprf-key/v2";

/// Bytes of a serialised ristretto255 element: a [`BlindedId`] or an [`EvaluatedId`].
pub const OPRF_ELEMENT_LEN: usize = 32;

/// The consortium pepper: 32 secret bytes shared by department nodes, never on the ledger.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct Pepper([u8; 32]);

impl Pepper {
    /// A fresh random pepper.
    pub fn generate() -> Result<Self, KeyError> {
        crate::sm4_gcm::random_bytes().map(Self)
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

crate::digest_id! {
    /// A subject's pseudonym: the first 32 bytes of the consortium's OPRF of the normalised
    /// ID (module doc), shown as hex.
    pub struct SubjectPseudonym([u8; 32]);
    parse_error(crate::KeyError, |e| crate::KeyError::Hex {
        what: "subject pseudonym (64 hex characters)",
        reason: e.to_string(),
    });
}

/// The PRF input of `id`: the domain, then the normalised ID. Wiped when dropped.
fn prf_input(id: &ResidentId) -> Zeroizing<Vec<u8>> {
    let mut input = Zeroizing::new(Vec::with_capacity(PSEUDONYM_DOMAIN.len() + 18));
    input.extend_from_slice(PSEUDONYM_DOMAIN);
    input.extend_from_slice(id.as_str().as_bytes());
    input
}

/// The pseudonym from an RFC 9497 output (64 bytes of SHA-512).
fn from_output(output: &[u8]) -> SubjectPseudonym {
    let mut p = [0u8; 32];
    p.copy_from_slice(&output[..32]);
    SubjectPseudonym(p)
}

/// The consortium's pseudonym key: the OPRF server key, derived from the [`Pepper`]. It
/// evaluates pseudonyms directly (a department's import) and blinded ones (a care home's
/// request through a node). As secret as the pepper: `Debug` shows nothing, the scalar is
/// wiped when dropped, and it is never serialised.
#[derive(Clone)]
pub struct PseudonymKey {
    server: OprfServer<Suite>,
}

impl PseudonymKey {
    /// Derives the key from `pepper` (RFC 9497 `DeriveKeyPair(pepper, OPRF_KEY_INFO)`).
    pub fn new(pepper: &Pepper) -> Self {
        // DeriveKeyPair fails only if seed and info exceed 2^16 bytes (they are 32 and a
        // constant) or 256 hash outputs in a row are zero scalars (probability ~2^-64000).
        let server = OprfServer::<Suite>::new_from_seed(&pepper.0, OPRF_KEY_INFO)
            .unwrap_or_else(|_| unreachable!("DeriveKeyPair of a 32-byte seed"));
        Self { server }
    }

    /// The pseudonym of a validated ID (RFC 9497 `Evaluate`, truncated).
    pub fn derive(&self, id: &ResidentId) -> SubjectPseudonym {
        // `Evaluate` fails only for inputs over 2^16 bytes (ours are 47) or one that hashes
        // to the identity element (probability ~2^-252).
        let output = self
            .server
            .evaluate(&prf_input(id))
            .unwrap_or_else(|_| unreachable!("RFC 9497 Evaluate of a 47-byte input"));
        from_output(&output)
    }

    /// RFC 9497 `BlindEvaluate`: the key times a client's blinded element. The node that
    /// answers learns nothing about the ID behind it.
    pub fn evaluate_blinded(&self, blinded: &BlindedId) -> EvaluatedId {
        let element = self.server.blind_evaluate(&blinded.element);
        let mut out = [0u8; OPRF_ELEMENT_LEN];
        out.copy_from_slice(&element.serialize());
        EvaluatedId(out)
    }
}

impl fmt::Debug for PseudonymKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PseudonymKey(<redacted>)")
    }
}

/// A blinded ID as a client sends it: a valid, non-identity ristretto255 element (RFC 9497
/// `BlindedElement`). Reveals nothing about the ID without the client's blind.
#[derive(Clone)]
pub struct BlindedId {
    element: BlindedElement<Suite>,
    bytes: [u8; OPRF_ELEMENT_LEN],
}

impl BlindedId {
    /// Parses 32 bytes; refuses a non-canonical encoding, a non-point and the identity.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, KeyError> {
        let bytes: [u8; OPRF_ELEMENT_LEN] = bytes
            .try_into()
            .map_err(|_| KeyError::Oprf("a blinded element is 32 bytes (64 hex characters)"))?;
        let element = BlindedElement::<Suite>::deserialize(&bytes).map_err(|_| {
            KeyError::Oprf("blinded element is not a ristretto255 point other than the identity")
        })?;
        Ok(Self { element, bytes })
    }

    /// The 32 bytes sent.
    pub fn to_bytes(&self) -> [u8; OPRF_ELEMENT_LEN] {
        self.bytes
    }
}

impl fmt::Debug for BlindedId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BlindedId({})", hex::encode(self.bytes))
    }
}

/// A department node's answer to one [`BlindedId`] (RFC 9497 `EvaluationElement`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct EvaluatedId([u8; OPRF_ELEMENT_LEN]);

impl EvaluatedId {
    /// Wraps 32 bytes as received; [`PseudonymBlinding::finish`] checks them.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, KeyError> {
        let bytes: [u8; OPRF_ELEMENT_LEN] = bytes
            .try_into()
            .map_err(|_| KeyError::Oprf("an evaluated element is 32 bytes (64 hex characters)"))?;
        Ok(Self(bytes))
    }

    /// The 32 bytes.
    pub fn to_bytes(&self) -> [u8; OPRF_ELEMENT_LEN] {
        self.0
    }
}

impl fmt::Debug for EvaluatedId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EvaluatedId({})", hex::encode(self.0))
    }
}

/// A client's state between blinding an ID and unblinding the node's answer: the blind
/// scalar and the PRF input (which holds the ID). Both are wiped when dropped; `Debug`
/// shows neither.
pub struct PseudonymBlinding {
    client: OprfClient<Suite>,
    input: Zeroizing<Vec<u8>>,
}

impl PseudonymBlinding {
    /// RFC 9497 `Blind` with a fresh random blind: the state to keep and the element to
    /// send to a department node.
    pub fn blind(id: &ResidentId) -> Result<(Self, BlindedId), KeyError> {
        let input = prf_input(id);
        let mut rng = rand_core_06::OsRng;
        let blinded = OprfClient::<Suite>::blind(&input, &mut rng)
            .map_err(|_| KeyError::Oprf("blinding the ID failed"))?;
        let mut bytes = [0u8; OPRF_ELEMENT_LEN];
        bytes.copy_from_slice(&blinded.message.serialize());
        Ok((
            Self {
                client: blinded.state,
                input,
            },
            BlindedId {
                element: blinded.message,
                bytes,
            },
        ))
    }

    /// RFC 9497 `Finalize`: unblinds the node's answer into the pseudonym. Refuses bytes
    /// that are not a ristretto255 point other than the identity. (OPRF mode is not
    /// verifiable: a node answering with another key gives a wrong pseudonym, which then
    /// matches no consent or record; it learns nothing from doing so.)
    pub fn finish(self, evaluated: &EvaluatedId) -> Result<SubjectPseudonym, KeyError> {
        let element = EvaluationElement::<Suite>::deserialize(&evaluated.0).map_err(|_| {
            KeyError::Oprf("evaluated element is not a ristretto255 point other than the identity")
        })?;
        let output = self
            .client
            .finalize(&self.input, &element)
            .map_err(|_| KeyError::Oprf("finalising the pseudonym failed"))?;
        Ok(from_output(&output))
    }
}

impl fmt::Debug for PseudonymBlinding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PseudonymBlinding(<redacted>)")
    }
}

impl SubjectPseudonym {
    /// Derive the pseudonym of a validated ID. Deriving many: prepare a [`PseudonymKey`]
    /// once and call [`PseudonymKey::derive`].
    pub fn derive(pepper: &Pepper, id: &ResidentId) -> Self {
        PseudonymKey::new(pepper).derive(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(text: &str) -> ResidentId {
        ResidentId::parse(text).unwrap()
    }

    #[test]
    fn pseudonym_is_the_truncated_oprf_of_the_normalised_id() {
        let pepper = Pepper::from_bytes([9; 32]);
        let a = SubjectPseudonym::derive(&pepper, &id("11010519491231002x"));
        let b = SubjectPseudonym::derive(&pepper, &id("11010519491231002X"));
        assert_eq!(a, b);
        // Recomputed from voprf's own server with the documented seed, info and input.
        let server = OprfServer::<Suite>::new_from_seed(&[9; 32], OPRF_KEY_INFO).unwrap();
        let mut input = PSEUDONYM_DOMAIN.to_vec();
        input.extend_from_slice(b"11010519491231002X");
        assert_eq!(a.as_bytes(), &server.evaluate(&input).unwrap()[..32]);
        let other =
            SubjectPseudonym::derive(&Pepper::from_bytes([8; 32]), &id("11010519491231002X"));
        assert_ne!(a, other);
        let mut body = *b"31010119500101001_";
        body[17] = crate::check_char(&body);
        let third = id(std::str::from_utf8(&body).unwrap());
        assert_ne!(a, SubjectPseudonym::derive(&pepper, &third));
        assert_eq!(a.to_hex().parse::<SubjectPseudonym>().unwrap(), a);
    }

    #[test]
    fn the_oblivious_round_trip_gives_the_departments_pseudonym() {
        let key = PseudonymKey::new(&Pepper::from_bytes([9; 32]));
        let subject = id("11010519491231002X");
        let (state, blinded) = PseudonymBlinding::blind(&subject).unwrap();
        // What travels: the blinded element, then the evaluated one, as bytes.
        let blinded = BlindedId::from_bytes(&blinded.to_bytes()).unwrap();
        let evaluated =
            EvaluatedId::from_bytes(&key.evaluate_blinded(&blinded).to_bytes()).unwrap();
        assert_eq!(state.finish(&evaluated).unwrap(), key.derive(&subject));
        // Two blindings of one ID look unrelated.
        let (_, again) = PseudonymBlinding::blind(&subject).unwrap();
        assert_ne!(again.to_bytes(), blinded.to_bytes());
        // Another key's answer gives another pseudonym.
        let (state, blinded) = PseudonymBlinding::blind(&subject).unwrap();
        let wrong = PseudonymKey::new(&Pepper::from_bytes([8; 32])).evaluate_blinded(&blinded);
        assert_ne!(state.finish(&wrong).unwrap(), key.derive(&subject));
    }

    #[test]
    fn malformed_elements_are_refused_by_name() {
        let e = BlindedId::from_bytes(&[1; 31]).unwrap_err().to_string();
        assert!(e.contains("32 bytes"), "{e}");
        // The identity, and bytes that decode to no point.
        for bad in [[0u8; 32], [0xff; 32]] {
            let e = BlindedId::from_bytes(&bad).unwrap_err().to_string();
            assert!(e.contains("not a ristretto255 point"), "{e}");
        }
        let (state, _) = PseudonymBlinding::blind(&id("11010519491231002X")).unwrap();
        let e = state
            .finish(&EvaluatedId::from_bytes(&[0xff; 32]).unwrap())
            .unwrap_err()
            .to_string();
        assert!(e.contains("evaluated element"), "{e}");
        assert!(EvaluatedId::from_bytes(&[0; 33]).is_err());
    }

    #[test]
    fn secrets_are_redacted() {
        let key = PseudonymKey::new(&Pepper::from_bytes([9; 32]));
        assert_eq!(format!("{key:?}"), "PseudonymKey(<redacted>)");
        let (state, _) = PseudonymBlinding::blind(&id("11010519491231002X")).unwrap();
        assert_eq!(format!("{state:?}"), "PseudonymBlinding(<redacted>)");
        assert_eq!(
            format!("{:?}", Pepper::from_bytes([9; 32])),
            "Pepper(<redacted>)"
        );
    }
}
