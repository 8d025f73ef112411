//! Transactions the console signs: consent grants and withdrawals (the registrar's), the
//! opening of a 免申即享 policy run (the receiving department's operator's), built
//! with the contracts' codec and signed as `weinong-api`'s `sign_call` signs them. The page
//! passes the nonce (above the key's last, from `GET /v1/keys/{id}`) and the time.

use weinong_contracts::{
    Call, CategorySet, ConsentGrant, ConsentId, ConsentRevoke, DataCategory, EvidenceHash,
    PolicyId, PolicyRun, Purpose, RunId,
};
use weinong_keys::{KeyId, SubjectPseudonym};
use weinong_ledger::{Transaction, TxBody};

use crate::ConsoleError;
use crate::key::{ConsoleKey, hex32};

/// A consent grant as the registrar's form gives it.
#[derive(Debug, serde::Deserialize)]
pub struct GrantForm {
    /// The subject's pseudonym, hex (from the node by OPRF, see [`crate::Blinding`]).
    pub subject: String,
    /// The grantee's key id, hex (a care home).
    pub grantee: String,
    /// The purpose's label (`admission assessment` or `admission_assessment`).
    pub purpose: String,
    /// Data category labels.
    pub categories: Vec<String>,
    /// Valid from, ms since the Unix epoch.
    pub valid_from: u64,
    /// Valid until, ms since the Unix epoch (after `valid_from`).
    pub valid_until: u64,
}

/// A signed transaction for `POST /v1/transactions`.
#[derive(Debug, serde::Serialize)]
pub struct SignedTx {
    /// The canonical signed transaction, hex.
    pub hex: String,
    /// Its hash, hex.
    pub hash: String,
    /// The id it is about (the consent granted or withdrawn, the request made or
    /// answered), hex.
    pub id: String,
}

impl ConsoleKey {
    /// A consent grant with a fresh random consent id.
    pub fn consent_grant(
        &self,
        form: &GrantForm,
        nonce: u64,
        time_ms: u64,
    ) -> Result<SignedTx, ConsoleError> {
        if form.valid_until <= form.valid_from {
            return Err(ConsoleError::Form(
                "the consent must end after it starts".into(),
            ));
        }
        let categories = form
            .categories
            .iter()
            .map(|c| by_label("data category", DataCategory::ALL, DataCategory::label, c))
            .collect::<Result<Vec<_>, _>>()?;
        if categories.is_empty() {
            return Err(ConsoleError::Form("name at least one data category".into()));
        }
        let consent = ConsentId::from_bytes(random32()?);
        let call = Call::ConsentGrant(ConsentGrant {
            consent,
            subject: SubjectPseudonym::from_bytes(hex32("subject pseudonym", &form.subject)?),
            grantee: KeyId::from_bytes(hex32("grantee key id", &form.grantee)?),
            purpose: by_label("purpose", Purpose::ALL, Purpose::label, &form.purpose)?,
            categories: CategorySet::of(&categories),
            valid_from: form.valid_from,
            valid_until: form.valid_until,
            evidence: EvidenceHash::from_bytes([0; 32]),
        });
        self.sign_call(&call, consent.to_hex(), nonce, time_ms)
    }

    /// The withdrawal of consent `consent` (hex).
    pub fn consent_withdraw(
        &self,
        consent: &str,
        nonce: u64,
        time_ms: u64,
    ) -> Result<SignedTx, ConsoleError> {
        let consent = ConsentId::from_bytes(hex32("consent id", consent)?);
        let call = Call::ConsentRevoke(ConsentRevoke {
            consent,
            evidence: EvidenceHash::from_bytes([0; 32]),
        });
        self.sign_call(&call, consent.to_hex(), nonce, time_ms)
    }

    /// The opening of a run of policy `policy` (hex id) with a fresh random run id: signed
    /// with the receiving department's node key, as `weinong policy run` signs it.
    pub fn policy_run(
        &self,
        policy: &str,
        nonce: u64,
        time_ms: u64,
    ) -> Result<SignedTx, ConsoleError> {
        let policy = PolicyId::from_bytes(hex32("policy id", policy)?);
        let run = RunId::from_bytes(random32()?);
        let call = Call::PolicyRun(PolicyRun { run, policy });
        self.sign_call(&call, run.to_hex(), nonce, time_ms)
    }

    pub(crate) fn sign_call(
        &self,
        call: &Call,
        id: String,
        nonce: u64,
        time_ms: u64,
    ) -> Result<SignedTx, ConsoleError> {
        let payload = call
            .encode()
            .map_err(|e| ConsoleError::Sign(e.to_string()))?;
        let body = TxBody {
            kind: call.kind(),
            signer: self.key_id(),
            nonce,
            time_ms,
            payload,
        };
        let tx = Transaction::sign(body, self.key_pair())
            .map_err(|e| ConsoleError::Sign(e.to_string()))?;
        Ok(SignedTx {
            hex: hex::encode(tx.as_bytes()),
            hash: tx.hash().to_string(),
            id,
        })
    }
}

/// The value whose label is `text`, ignoring case and reading `_` as a space.
fn by_label<T: Copy>(
    what: &'static str,
    all: &[T],
    label: fn(T) -> &'static str,
    text: &str,
) -> Result<T, ConsoleError> {
    let wanted = text.trim().to_lowercase().replace('_', " ");
    all.iter()
        .copied()
        .find(|v| label(*v) == wanted)
        .ok_or_else(|| ConsoleError::Form(format!("unknown {what} {text:?}")))
}

/// 32 fresh random bytes (ids, nonces): the JS host's `crypto.getRandomValues` in a page.
pub(crate) fn random32() -> Result<[u8; 32], ConsoleError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| ConsoleError::Form(format!("no randomness: {e}")))?;
    Ok(bytes)
}
