//! `KeyId`: the SM3 digest of a public key's uncompressed SEC1 bytes.

use crate::digest_id::digest_id;

digest_id!(
    /// Identifies an SM2 public key: SM3 of its 65-byte uncompressed SEC1 encoding.
    ///
    /// Shown as 64 lower-case hex characters.
    KeyId,
    "key id"
);
