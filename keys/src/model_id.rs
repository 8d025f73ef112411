//! `ModelId`: the one name of a registered assessment model, shared by the model compiler
//! (`weinong-mpc`, which computes it) and the contracts (`weinong-contracts`, which
//! register, retire and check it). It lives here, below both, so that both name one type.

crate::digest_id! {
    /// A model id: SM3 of the model's canonical spec bytes. `weinong-mpc` computes it when
    /// it compiles a spec; the ledger's model registry is keyed by it.
    ///
    /// Shown as 64 lower-case hex characters.
    pub struct ModelId(pub [u8; 32]);
    parse_error(crate::KeyError, |e| crate::KeyError::Hex {
        what: "model id (64 hex characters)",
        reason: e.to_string(),
    });
}
