//! Error types of the ledger core (the store has its own, in `store`).

use weinong_keys::{KeyError, KeyId};

/// A 4-byte type tag as people read it: `"WNGN"` when it is printable ASCII, else hex
/// (a tag of random bytes is not pasted into a terminal raw).
fn tag_text(tag: &[u8; 4]) -> String {
    if tag.iter().all(|b| b.is_ascii_graphic()) {
        format!("{:?}", String::from_utf8_lossy(tag))
    } else {
        format!("0x{}", hex::encode(tag))
    }
}

/// Canonical bytes that could not be decoded. Each variant names the structure.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The input ended inside a field.
    #[error("{what}: input ends inside a field")]
    Truncated {
        /// The structure being decoded.
        what: &'static str,
    },
    /// The type tag is not the one this structure carries.
    #[error(
        "{what}: type tag {} is not {}; is this the right kind of record?",
        tag_text(found),
        tag_text(expected)
    )]
    WrongTag {
        /// The structure being decoded.
        what: &'static str,
        /// Its tag.
        expected: [u8; 4],
        /// The tag found.
        found: [u8; 4],
    },
    /// The format version is not one this build reads.
    #[error("{what}: format version {found} is unknown (this build reads version {supported})")]
    UnknownVersion {
        /// The structure being decoded.
        what: &'static str,
        /// The version this build reads.
        supported: u8,
        /// The version found.
        found: u8,
    },
    /// A length or count exceeds its limit.
    #[error("{what}: {field} is {len}, over the limit {max}")]
    TooLong {
        /// The structure being decoded.
        what: &'static str,
        /// The field.
        field: &'static str,
        /// Its declared length.
        len: u64,
        /// The limit.
        max: u64,
    },
    /// Bytes remain after the structure.
    #[error("{what}: {count} trailing bytes after the end")]
    TrailingBytes {
        /// The structure being decoded.
        what: &'static str,
        /// How many bytes remain.
        count: u64,
    },
    /// A field holds a value the format forbids.
    #[error("{what}: {reason}")]
    Invalid {
        /// The structure being decoded.
        what: &'static str,
        /// What is wrong.
        reason: &'static str,
    },
    /// A signature or public key field is not a valid SM2 value.
    #[error("{what}: {source}")]
    Key {
        /// The structure being decoded.
        what: &'static str,
        /// The key crate's reason.
        source: KeyError,
    },
}

/// A check of signed ledger data that failed. Each variant names what was checked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// A signature does not verify.
    #[error("{what}: SM2 signature by key {signer} does not verify")]
    BadSignature {
        /// What was signed.
        what: &'static str,
        /// The signer.
        signer: KeyId,
    },
    /// The given public key is not the signer named.
    #[error("{what}: public key {found} is not the named signer {expected}")]
    WrongKey {
        /// What was signed.
        what: &'static str,
        /// The key id named by the data.
        expected: KeyId,
        /// The key id of the public key given.
        found: KeyId,
    },
    /// A signer is not in the member set.
    #[error("{what}: signer {signer} is not a member")]
    NotMember {
        /// What was signed.
        what: &'static str,
        /// The signer.
        signer: KeyId,
    },
    /// Too few distinct member signatures.
    #[error("{what}: {found} valid member signatures, the quorum is {quorum}")]
    NoQuorum {
        /// What was signed.
        what: &'static str,
        /// Valid distinct member signatures.
        found: u64,
        /// Needed.
        quorum: u64,
    },
    /// A certificate signs a different header than the one given.
    #[error("certificate is for block {found}, not block {expected}")]
    CertificateMismatch {
        /// The header's hash.
        expected: crate::BlockHash,
        /// The hash the certificate signs.
        found: crate::BlockHash,
    },
    /// A header names another member set than the one it is checked under.
    #[error(
        "block {height} names member set {named}, not the one given ({given}); take the set in force at that height (follow the member changes from genesis)"
    )]
    WrongMemberSet {
        /// The header's height.
        height: u64,
        /// The digest the header names.
        named: crate::Hash32,
        /// The digest of the set given.
        given: crate::Hash32,
    },
    /// Signatures are repeated or not sorted by signer.
    #[error("{what}: signer {signer} repeated or out of order")]
    SignersNotCanonical {
        /// What was signed.
        what: &'static str,
        /// The signer out of place.
        signer: KeyId,
    },
    /// A header chain is broken.
    #[error("header at height {height}: {reason}")]
    Chain {
        /// The height of the bad header.
        height: u64,
        /// What is wrong.
        reason: String,
    },
    /// A member set is malformed.
    #[error("member set: {0}")]
    MemberSet(String),
    /// Evidence does not show equivocation.
    #[error("not equivocation: {0}")]
    NotEquivocation(&'static str),
}
