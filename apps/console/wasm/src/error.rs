//! Refusals, each with a closed code the page translates.

/// Why the console's WebAssembly refused.
#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    /// The file is not a Weinong keystore (or is damaged beyond parsing).
    #[error("not a keystore: {0}")]
    NotAKeystore(String),
    /// The keystore parses but does not open with this password (or was tampered with).
    #[error("the keystore does not open with this password (or it was altered)")]
    WrongPassword,
    /// A scope field (consortium or node key id) is not 64 hex characters.
    #[error("{what} must be 64 hex characters: {reason}")]
    Scope {
        /// Which field.
        what: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The request could not be signed (e.g. a method or path too long to encode).
    #[error("cannot sign the request: {0}")]
    Sign(String),
    /// A form field is wrong (a label, a period).
    #[error("{0}")]
    Form(String),
    /// The ID number is not a valid resident ID (GB 11643).
    #[error("not a valid resident ID number: {0}")]
    BadId(String),
    /// The node's pseudonym answer does not unblind.
    #[error("the node's pseudonym answer is unusable: {0}")]
    Oprf(String),
    /// A governance proposal file is unusable, or this admin approved it already.
    #[error("{0}")]
    Proposal(String),
    /// The text is not a request bundle, or a genesis or receipt given with it is unreadable.
    #[error("{0}")]
    Bundle(String),
}

impl ConsoleError {
    /// A closed code for the page: `not_a_keystore`, `wrong_password`, `bad_scope`,
    /// `sign`, `bad_form`, `bad_id`, `oprf`, `proposal`, `not_a_bundle`.
    pub fn code(&self) -> &'static str {
        match self {
            ConsoleError::NotAKeystore(_) => "not_a_keystore",
            ConsoleError::WrongPassword => "wrong_password",
            ConsoleError::Scope { .. } => "bad_scope",
            ConsoleError::Sign(_) => "sign",
            ConsoleError::Form(_) => "bad_form",
            ConsoleError::BadId(_) => "bad_id",
            ConsoleError::Oprf(_) => "oprf",
            ConsoleError::Proposal(_) => "proposal",
            ConsoleError::Bundle(_) => "not_a_bundle",
        }
    }
}
