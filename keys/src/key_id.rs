//! `KeyId`: the SM3 digest of a public key's uncompressed SEC1 bytes.

crate::digest_id! {
    /// Identifies an SM2 public key: SM3 of its 65-byte uncompressed SEC1 encoding.
    ///
    /// Shown as 64 lower-case hex characters.
    pub struct KeyId([u8; 32]);
    parse_error(crate::KeyError, |e| crate::KeyError::Hex {
        what: "key id (64 hex characters)",
        reason: e.to_string(),
    });
}
