//! Transactions: an opaque contract call, signed by one SM2 key.
//!
//! # Encoding (format version 1)
//!
//! ```text
//! body = "WNTX" ‖ 0x01 ‖ kind:u16 ‖ signer:KeyId[32] ‖ nonce:u64 ‖ time_ms:u64
//!        ‖ payload_len:u32 ‖ payload[payload_len]
//! tx   = body ‖ signature[64]            (SM2 r‖s over `body`, ID 1234567812345678)
//! ```
//!
//! All integers big-endian. `payload_len <= TX_PAYLOAD_BYTES_MAX`. The log leaf is the
//! whole `tx` (so the log commits to the signature too) and a transaction is named by
//! `TxHash = SM3(tx)`.
//!
//! The ledger does not interpret `kind` or `payload`: the contracts crate defines them
//! (see [`TxKind`] for the registry of ranges). The payload must be canonical bytes of a
//! contract call and carry no personal data: subjects appear only as pseudonyms.

use weinong_keys::{KeyId, KeyPair, PublicKey, Signature, sm3_digest};

use crate::codec::{Reader, Writer};
use crate::error::{DecodeError, VerifyError};
use crate::hash::TxHash;
use crate::limits::{TX_BYTES_MAX, TX_PAYLOAD_BYTES_MAX};

const TAG: &[u8; 4] = b"WNTX";
/// The transaction format version this build writes and reads.
pub const TX_FORMAT_VERSION: u8 = 1;

/// What a transaction asks of the contracts: an opaque `u16`.
///
/// Registry of ranges (the contracts crate assigns values inside them):
///
/// | range | area |
/// |---|---|
/// | `0x0000` | reserved, never valid |
/// | `0x0001–0x00FF` | membership and RBAC (governance, key rotation, revocation) |
/// | `0x0100–0x01FF` | consent (grant, revoke) |
/// | `0x0200–0x02FF` | data access records |
/// | `0x0300–0x03FF` | assessment requests |
/// | `0x0400–0x04FF` | model registry |
/// | `0x0500–0x05FF` | policy runs (免申即享 matching) |
/// | `0x0600–0xEFFF` | unassigned |
/// | `0xF000–0xFFFF` | tests and benchmarks only; a production node refuses them |
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TxKind(pub u16);

impl TxKind {
    /// The first kind reserved for tests and benchmarks.
    pub const TEST_MIN: TxKind = TxKind(0xF000);
}

/// The signed part of a transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TxBody {
    /// What the transaction asks for.
    pub kind: TxKind,
    /// The signer's key id.
    pub signer: KeyId,
    /// A per-signer number the contracts use against replay.
    pub nonce: u64,
    /// The signer's clock, milliseconds since the Unix epoch (informative; contracts use
    /// block time).
    pub time_ms: u64,
    /// Canonical bytes of the contract call (at most [`TX_PAYLOAD_BYTES_MAX`]).
    pub payload: Vec<u8>,
}

/// A signed transaction, with its canonical bytes kept as decoded or signed, and its
/// hash computed once (when signed or decoded): the node names a transaction as it admits
/// it, so the block path need not hash it again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transaction {
    body: TxBody,
    signature: Signature,
    encoded: Vec<u8>,
    hash: TxHash,
}

/// A transaction that cannot be built: its payload is over the limit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("transaction payload is {len} bytes, over the limit {max}")]
pub struct PayloadTooLong {
    /// The payload length.
    pub len: u64,
    /// [`TX_PAYLOAD_BYTES_MAX`].
    pub max: u64,
}

impl TxBody {
    /// The canonical body bytes (what is signed).
    pub fn encode(&self) -> Result<Vec<u8>, PayloadTooLong> {
        let len = u32::try_from(self.payload.len())
            .ok()
            .filter(|len| *len <= TX_PAYLOAD_BYTES_MAX)
            .ok_or(PayloadTooLong {
                len: self.payload.len() as u64,
                max: u64::from(TX_PAYLOAD_BYTES_MAX),
            })?;
        let mut w = Writer::tagged(TAG, TX_FORMAT_VERSION);
        w.u16(self.kind.0);
        w.bytes(self.signer.as_bytes());
        w.u64(self.nonce);
        w.u64(self.time_ms);
        w.u32(len);
        w.bytes(&self.payload);
        Ok(w.finish())
    }
}

impl Transaction {
    /// Signs `body` with `key`. The body's `signer` is set to the key's id.
    pub fn sign(mut body: TxBody, key: &KeyPair) -> Result<Self, PayloadTooLong> {
        body.signer = key.key_id();
        let mut encoded = body.encode()?;
        let signature = key.sign(&encoded);
        encoded.extend_from_slice(&signature.to_bytes());
        Ok(Self {
            body,
            signature,
            hash: TxHash(sm3_digest(&encoded)),
            encoded,
        })
    }

    /// Decodes canonical transaction bytes, refusing trailing bytes, unknown versions and
    /// oversize fields. Does not check the signature (see [`Self::verify`]).
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        const WHAT: &str = "transaction";
        if bytes.len() as u64 > u64::from(TX_BYTES_MAX) {
            return Err(DecodeError::TooLong {
                what: WHAT,
                field: "encoded length",
                len: bytes.len() as u64,
                max: u64::from(TX_BYTES_MAX),
            });
        }
        let mut r = Reader::tagged(WHAT, bytes, TAG, TX_FORMAT_VERSION)?;
        let kind = TxKind(r.u16()?);
        let signer = KeyId::from_bytes(r.array()?);
        let nonce = r.u64()?;
        let time_ms = r.u64()?;
        let payload = r
            .var_bytes("payload length", TX_PAYLOAD_BYTES_MAX)?
            .to_vec();
        let sig: [u8; 64] = r.array()?;
        r.finish()?;
        let signature = Signature::from_bytes(&sig)
            .map_err(|source| DecodeError::Key { what: WHAT, source })?;
        Ok(Self {
            body: TxBody {
                kind,
                signer,
                nonce,
                time_ms,
                payload,
            },
            signature,
            encoded: bytes.to_vec(),
            hash: TxHash(sm3_digest(bytes)),
        })
    }

    /// The signed fields.
    pub fn body(&self) -> &TxBody {
        &self.body
    }

    /// The SM2 signature over the body bytes.
    pub fn signature(&self) -> &Signature {
        &self.signature
    }

    /// The canonical bytes (the Merkle leaf data).
    pub fn as_bytes(&self) -> &[u8] {
        &self.encoded
    }

    /// The body bytes, i.e. the canonical bytes without the trailing signature.
    pub fn signed_bytes(&self) -> &[u8] {
        let end = self.encoded.len().saturating_sub(64);
        self.encoded.get(..end).unwrap_or_default()
    }

    /// `SM3(encoded transaction)`.
    pub fn hash(&self) -> TxHash {
        self.hash
    }

    /// Checks that `key` is the named signer and the signature verifies.
    pub fn verify(&self, key: &PublicKey) -> Result<(), VerifyError> {
        self.verify_with(key.key_id(), |msg, sig| key.verify(msg, sig).is_ok())
    }

    /// As [`Self::verify`], with a key prepared for repeated verification.
    pub fn verify_prepared(
        &self,
        key: &weinong_keys::PreparedPublicKey,
    ) -> Result<(), VerifyError> {
        self.verify_with(key.key_id(), |msg, sig| key.verify(msg, sig).is_ok())
    }

    /// The one signer check behind both key kinds: `key_id` must name the signer, and
    /// `verifies` must accept the signature over the signed bytes.
    fn verify_with(
        &self,
        key_id: KeyId,
        verifies: impl FnOnce(&[u8], &Signature) -> bool,
    ) -> Result<(), VerifyError> {
        const WHAT: &str = "transaction";
        if key_id != self.body.signer {
            return Err(VerifyError::WrongKey {
                what: WHAT,
                expected: self.body.signer,
                found: key_id,
            });
        }
        if verifies(self.signed_bytes(), &self.signature) {
            Ok(())
        } else {
            Err(VerifyError::BadSignature {
                what: WHAT,
                signer: self.body.signer,
            })
        }
    }
}
