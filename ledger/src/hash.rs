//! 32-byte SM3 values with a meaning: log roots, transaction hashes, block hashes.
//!
//! Defined with the consortium's one id macro ([`weinong_keys::digest_id!`]); the bytes are
//! a public field, and a malformed hex string is a [`DecodeError::Invalid`] naming the type.

use crate::error::DecodeError;

weinong_keys::digest_id! {
    /// A Merkle root or other SM3 digest (a state digest).
    pub struct Hash32(pub [u8; 32]);
    derive(Default);
    parse_error(DecodeError, |_| DecodeError::Invalid {
        what: "Hash32",
        reason: "expected 64 hex characters",
    });
}

weinong_keys::digest_id! {
    /// `SM3(encoded transaction)`: how a transaction is named.
    pub struct TxHash(pub [u8; 32]);
    derive(Default);
    parse_error(DecodeError, |_| DecodeError::Invalid {
        what: "TxHash",
        reason: "expected 64 hex characters",
    });
}

weinong_keys::digest_id! {
    /// `SM3(encoded block header)`: how a block is named, and what commit votes sign.
    pub struct BlockHash(pub [u8; 32]);
    derive(Default);
    parse_error(DecodeError, |_| DecodeError::Invalid {
        what: "BlockHash",
        reason: "expected 64 hex characters",
    });
}
