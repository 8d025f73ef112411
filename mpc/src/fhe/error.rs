//! Errors of the FHE backend.

use crate::model::InputError;

/// What went wrong in key handling, encryption, evaluation or decryption under FHE.
#[derive(Debug, thiserror::Error)]
pub enum FheError {
    /// A blob longer than its limit was refused before it was parsed.
    #[error("{what} is {len} bytes, over the limit of {max}; refusing to parse it")]
    TooLarge {
        /// What the blob should have been (e.g. `compressed server key`).
        what: &'static str,
        /// Its length.
        len: u64,
        /// The limit (see `fhe::limits`).
        max: u64,
    },
    /// A blob that tfhe's safe deserializer rejected (bad header, wrong type, truncated,
    /// or a length inside it past the limit).
    #[error("{what} is malformed: {reason}")]
    Malformed {
        /// What the blob should have been.
        what: &'static str,
        /// The deserializer's message.
        reason: String,
    },
    /// A well-formed object made for other parameters than this deployment's pinned set.
    #[error(
        "{what} does not conform to the pinned TFHE parameter set ({expected}); it was made with other parameters or for another model"
    )]
    NotConformant {
        /// What the object is.
        what: &'static str,
        /// The parameter set or shape expected.
        expected: String,
    },
    /// Encrypted inputs or outputs whose count or value kinds do not match the model.
    #[error("{what}: {reason}")]
    Shape {
        /// What was read.
        what: &'static str,
        /// What does not match.
        reason: String,
    },
    /// The plaintext inputs do not fit the model.
    #[error(transparent)]
    Input(#[from] InputError),
    /// tfhe returned an error (expansion, serialization).
    #[error("tfhe: {0}")]
    Tfhe(String),
    /// The evaluator's worker pool could not start.
    #[error("cannot start the FHE worker pool: {0}")]
    Pool(String),
    /// A broken invariant of this backend (a bug): operand kinds that the plan rules out.
    #[error("FHE backend internal error: {0}")]
    Internal(String),
}
