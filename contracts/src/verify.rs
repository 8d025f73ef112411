//! From a signed ledger [`Transaction`] to a [`VerifiedTx`]: decode the payload and check
//! every signature it carries (the transaction's, each governance approval, a rotation's
//! old-key signature) against keys registered in the state.
//!
//! [`VerifiedTx`] has private fields and no other constructor, so [`crate::apply`] only
//! ever sees calls whose signatures were checked. Which keys may do what is decided later,
//! by `apply`, at block time.

use std::collections::BTreeMap;

use weinong_keys::{KeyId, PreparedPublicKey, PublicKey, Signature};
use weinong_ledger::{Transaction, TxHash};

use crate::limits::PREPARED_KEYS_MAX;
use crate::payload::{Call, Change, Governance, rotation_bytes};
use crate::rejection::Rejection;
use crate::state::State;

/// A transaction whose payload decoded and whose signatures all verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedTx {
    signer: KeyId,
    nonce: u64,
    hash: TxHash,
    call: Call,
}

impl VerifiedTx {
    /// Decodes `tx` and verifies its signatures with the public keys registered in `state`.
    pub fn verify(tx: &Transaction, state: &State) -> Result<Self, Rejection> {
        Self::verify_with(tx, state, &mut |key, msg, sig| key.verify(msg, sig).is_ok())
    }

    /// As [`Self::verify`], with per-key tables for recurring signers (see
    /// [`PreparedKeys`]).
    pub fn verify_prepared(
        tx: &Transaction,
        state: &State,
        prepared: &mut PreparedKeys,
    ) -> Result<Self, Rejection> {
        Self::verify_with(tx, state, &mut |key, msg, sig| {
            prepared.verify(key, msg, sig)
        })
    }

    fn verify_with(
        tx: &Transaction,
        state: &State,
        check: &mut dyn FnMut(&PublicKey, &[u8], &Signature) -> bool,
    ) -> Result<Self, Rejection> {
        let body = tx.body();
        let call = Call::decode(body.kind, &body.payload)
            .map_err(|e| Rejection::malformed(body.kind, e))?;
        let signer = body.signer;
        let record = state
            .key(&signer)
            .ok_or(Rejection::UnknownSigner { signer })?;
        if !check(record.public_key(), tx.signed_bytes(), tx.signature()) {
            return Err(Rejection::BadSignature { signer });
        }
        if let Call::Governance(g) = &call {
            verify_governance(g, state, check)?;
        }
        Ok(Self {
            signer,
            nonce: body.nonce,
            hash: tx.hash(),
            call,
        })
    }

    /// The signer's key id.
    pub fn signer(&self) -> KeyId {
        self.signer
    }
    /// The signer's nonce.
    pub fn nonce(&self) -> u64 {
        self.nonce
    }
    /// The transaction's hash (SM3 of its canonical bytes).
    pub fn hash(&self) -> TxHash {
        self.hash
    }
    /// The decoded call.
    pub fn call(&self) -> &Call {
        &self.call
    }
}

fn verify_governance(
    g: &Governance,
    state: &State,
    check: &mut dyn FnMut(&PublicKey, &[u8], &Signature) -> bool,
) -> Result<(), Rejection> {
    let approved = Governance::approved_bytes(state.consortium(), g.seq, &g.change);
    for a in &g.approvals {
        let key = state
            .key(&a.admin)
            .ok_or(Rejection::UnknownApprover { admin: a.admin })?;
        if !check(key.public_key(), &approved, &a.signature) {
            return Err(Rejection::BadApproval {
                admin: a.admin,
                seq: g.seq,
            });
        }
    }
    if let Change::RotateKey {
        old,
        new,
        old_signature,
    } = &g.change
    {
        let key = state.key(old).ok_or(Rejection::UnknownKey { key: *old })?;
        if !check(
            key.public_key(),
            &rotation_bytes(state.consortium(), old, new),
            old_signature,
        ) {
            return Err(Rejection::BadRotationSignature { old: *old });
        }
    }
    Ok(())
}

/// Verification tables for recurring signers (about 25 KiB each), built on first use and
/// kept for up to [`PREPARED_KEYS_MAX`] keys; past that, keys verify the plain way.
#[derive(Default)]
pub struct PreparedKeys {
    tables: BTreeMap<KeyId, PreparedPublicKey>,
}

impl PreparedKeys {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// Keys with a table.
    pub fn len(&self) -> usize {
        self.tables.len()
    }

    /// Whether no table was built yet.
    pub fn is_empty(&self) -> bool {
        self.tables.is_empty()
    }

    fn verify(&mut self, key: &PublicKey, msg: &[u8], sig: &Signature) -> bool {
        let id = key.key_id();
        if !self.tables.contains_key(&id) && self.tables.len() < PREPARED_KEYS_MAX {
            self.tables.insert(id, PreparedPublicKey::new(key));
        }
        match self.tables.get(&id) {
            Some(table) => table.verify(msg, sig).is_ok(),
            None => key.verify(msg, sig).is_ok(),
        }
    }
}
