//! Input errors: what makes a bundle or a receipt unreadable (a failed check is not an
//! error: it is in the [`crate::Report`]).

use thiserror::Error;

/// Why the input could not be checked at all.
#[derive(Debug, Error)]
pub enum AuditError {
    /// The text is not a request bundle.
    #[error("not a {format} bundle: {reason}")]
    NotABundle {
        /// The format expected.
        format: &'static str,
        /// What the JSON parser said.
        reason: String,
    },
    /// A 32-byte hex field is not 64 hex characters.
    #[error("{what} must be 64 hex characters: {reason}")]
    Hex32 {
        /// Which field.
        what: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The bundle's genesis is not hex.
    #[error("the bundle's genesis is not hex: {0}")]
    GenesisHex(String),
    /// Neither the bundle nor the caller gives a genesis.
    #[error("the bundle carries no genesis: give the consortium's with --genesis FILE")]
    NoGenesis,
    /// The genesis bytes do not decode.
    #[error("the genesis is not a consortium genesis document: {0}")]
    GenesisDecode(String),
    /// The genesis does not encode again (its consortium id cannot be computed).
    #[error("the genesis does not encode: {0}")]
    GenesisEncode(String),
    /// The genesis member set cannot verify certificates.
    #[error("the genesis member set is not usable: {0}")]
    Members(String),
    /// The receipt is not a receipt.
    #[error("not a receipt: {0}")]
    Receipt(String),
}

/// `text` as 32 bytes of hex (surrounding white space ignored), or which field is wrong.
pub(crate) fn hex32(what: &'static str, text: &str) -> Result<[u8; 32], AuditError> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(text.trim(), &mut out).map_err(|e| AuditError::Hex32 {
        what,
        reason: e.to_string(),
    })?;
    Ok(out)
}
