//! 32-byte SM3 values with a meaning: log roots, transaction hashes, block hashes.
//!
//! Defined with the consortium's one id macro ([`weinong_keys::digest_id!`]); the bytes are
//! a public field, and a malformed hex string is a [`DecodeError::Invalid`] naming the type.

use crate::error::DecodeError;

/// Ledger hashes: public bytes, `Default` (all zero), and a parse error naming the type.
macro_rules! ledger_hashes {
    ($($(#[$meta:meta])* $name:ident;)+) => {$(
        weinong_keys::digest_id! {
            $(#[$meta])*
            pub struct $name(pub [u8; 32]);
            derive(Default);
            parse_error(DecodeError, |_| DecodeError::Invalid {
                what: stringify!($name),
                reason: "expected 64 hex characters",
            });
        }
    )+};
}

ledger_hashes! {
    /// A Merkle root or other SM3 digest (a state digest).
    Hash32;
    /// `SM3(encoded transaction)`: how a transaction is named.
    TxHash;
    /// `SM3(encoded block header)`: how a block is named, and what commit votes sign.
    BlockHash;
}
