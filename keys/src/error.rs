//! The one error type of `weinong-keys`.

use thiserror::Error;

/// What went wrong in a key, signature, cipher or identifier operation.
///
/// Messages name the thing that is wrong and, where it helps, what to do about it.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum KeyError {
    /// An SM2 signature did not verify against the message and public key.
    #[error("SM2 signature does not verify for this message and public key")]
    BadSignature,
    /// Signature bytes could not be parsed (wrong length, bad DER, zero scalar).
    #[error("malformed SM2 signature: {0}")]
    MalformedSignature(&'static str),
    /// Public key bytes are not a valid SM2 point.
    #[error("malformed SM2 public key: {0}")]
    MalformedPublicKey(&'static str),
    /// Secret key bytes are not a valid SM2 scalar.
    #[error("malformed SM2 secret key: {0}")]
    MalformedSecretKey(&'static str),
    /// A PEM or DER document could not be read as the expected key type.
    #[error("{what}: {reason}")]
    Pem {
        /// Which kind of document was expected.
        what: &'static str,
        /// Why it was refused.
        reason: String,
    },
    /// SM2 public-key encryption or decryption failed.
    #[error("SM2 {op} failed: {reason}")]
    Sm2Cipher {
        /// `encryption` or `decryption`.
        op: &'static str,
        /// Why.
        reason: &'static str,
    },
    /// An SM4-GCM ciphertext failed authentication or was malformed.
    #[error("SM4-GCM: {0}")]
    Sealed(&'static str),
    /// A keystore file was malformed, tampered with, or the password was wrong.
    #[error("keystore: {0}")]
    Keystore(String),
    /// A sealed-secrets file (data secrets, FHE client key) was malformed, tampered with,
    /// of another kind, or the password was wrong.
    #[error("sealed secrets: {0}")]
    Secrets(String),
    /// A plaintext secrets file from before secrets were sealed.
    #[error(
        "plaintext secrets file from an older weinong: secrets at rest are now sealed under a \
         password. Re-seal it with `weinong data reseal --in FILE --out NEW` (password from \
         --password-file or WEINONG_KEY_PASSWORD), point the config at NEW, then delete FILE"
    )]
    PlaintextSecrets,
    /// A password file is unsafe or unreadable.
    #[error("password file {path}: {reason}")]
    PasswordFile {
        /// The file.
        path: String,
        /// What is wrong and what to do.
        reason: String,
    },
    /// A hex string was malformed.
    #[error("bad hex for {what}: {reason}")]
    Hex {
        /// What was being parsed.
        what: &'static str,
        /// Why it was refused.
        reason: String,
    },
    /// An oblivious-PRF message (a blinded or evaluated element of a pseudonym request)
    /// was refused.
    #[error("pseudonym OPRF: {0}")]
    Oprf(&'static str),
    /// The operating system's random source failed.
    #[error("operating-system random source failed")]
    Rng,
}
