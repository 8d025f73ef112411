//! The admins' governance in the page: a role binding proposed as a
//! `weinong-governance-proposal/1` file (the same file `weinong tx governance` reads and
//! writes, `weinong_api::proposal`), approved by each admin in their own browser, and
//! submitted as the governance transaction once k approvals are in it. The contracts
//! count the approvals; the page only collects them.

use serde::Serialize;
use weinong_api::proposal::Proposal;
use weinong_contracts::{Call, Change, Role};
use weinong_keys::{PublicKey, keystore_public_key};
use weinong_ledger::Hash32;

use crate::ConsoleError;
use crate::key::{ConsoleKey, hex32};
use crate::tx::SignedTx;

/// What an approver reads before approving.
#[derive(Debug, Serialize)]
pub struct ProposalView {
    /// The governance sequence number it is bound to.
    pub seq: u64,
    /// The consortium, hex.
    pub consortium: String,
    /// The change's name (`bind role`, …).
    pub change: String,
    /// The key the change is about, hex key id (where it names one).
    pub key: Option<String>,
    /// The role it binds or unbinds (label).
    pub role: Option<String>,
    /// Validity of a binding, ms.
    pub valid_from: Option<u64>,
    /// End of validity of a binding, ms (none: until unbound).
    pub valid_until: Option<u64>,
    /// The proposer's summary.
    pub summary: String,
    /// Admin key ids that approved, hex.
    pub approvals: Vec<String>,
}

/// A public key from a keystore file (its public part), an SPKI PEM or SEC1 hex.
pub fn public_key_of(text: &str) -> Result<PublicKey, ConsoleError> {
    let text = text.trim();
    let bad = |e: String| ConsoleError::Form(format!("not a public key: {e}"));
    if text.starts_with('{') {
        keystore_public_key(text).map_err(|e| bad(e.to_string()))
    } else if text.contains("-----BEGIN") {
        PublicKey::from_spki_pem(text).map_err(|e| bad(e.to_string()))
    } else {
        let bytes = hex::decode(text).map_err(|e| bad(e.to_string()))?;
        PublicKey::from_sec1_bytes(&bytes).map_err(|e| bad(e.to_string()))
    }
}

/// A proposal to bind `role` (label) to the key in `public` from `valid_from` (ms) until
/// `valid_until` (ms, or until unbound), as change `seq` of `consortium` (hex).
pub fn bind_role_proposal(
    consortium: &str,
    seq: u64,
    public: &str,
    role: &str,
    valid_from: u64,
    valid_until: Option<u64>,
) -> Result<Proposal, ConsoleError> {
    let wanted = role.trim().to_lowercase();
    let role = Role::ALL
        .iter()
        .copied()
        .find(|r| r.label() == wanted)
        .ok_or_else(|| ConsoleError::Form(format!("unknown role {role:?}")))?;
    if valid_until.is_some_and(|until| until <= valid_from) {
        return Err(ConsoleError::Form(
            "the binding must end after it starts".into(),
        ));
    }
    let change = Change::BindRole {
        key: public_key_of(public)?,
        role,
        valid_from,
        valid_until,
    };
    Proposal::new(&Hash32(hex32("consortium", consortium)?), seq, change)
        .map_err(|e| ConsoleError::Form(e.to_string()))
}

/// Reads a proposal file for its approvers.
pub fn view_proposal(text: &str) -> Result<ProposalView, ConsoleError> {
    let p = Proposal::from_json(text).map_err(|e| ConsoleError::Proposal(e.to_string()))?;
    let g = p
        .governance()
        .map_err(|e| ConsoleError::Proposal(e.to_string()))?;
    let mut view = ProposalView {
        seq: p.seq,
        consortium: p.consortium.clone(),
        change: g.change.name().to_owned(),
        key: None,
        role: None,
        valid_from: None,
        valid_until: None,
        summary: p.summary.clone(),
        approvals: p.approvals.iter().map(|a| a.admin.clone()).collect(),
    };
    match &g.change {
        Change::BindRole {
            key,
            role,
            valid_from,
            valid_until,
        } => {
            view.key = Some(key.key_id().to_hex());
            view.role = Some(role.label().to_owned());
            view.valid_from = Some(*valid_from);
            view.valid_until = *valid_until;
        }
        Change::UnbindRole { key, role } => {
            view.key = Some(key.to_hex());
            view.role = Some(role.label().to_owned());
        }
        _ => {}
    }
    Ok(view)
}

impl ConsoleKey {
    /// Adds this admin's approval to the proposal file `text`; the file with it, as JSON.
    pub fn approve_proposal(&self, text: &str) -> Result<String, ConsoleError> {
        let mut p = Proposal::from_json(text).map_err(|e| ConsoleError::Proposal(e.to_string()))?;
        p.approve(self.key_pair())
            .map_err(|e| ConsoleError::Proposal(e.to_string()))?;
        serde_json::to_string_pretty(&p).map_err(|e| ConsoleError::Proposal(e.to_string()))
    }

    /// The governance transaction of the proposal file `text` with the approvals it holds.
    pub fn governance_tx(
        &self,
        text: &str,
        nonce: u64,
        time_ms: u64,
    ) -> Result<SignedTx, ConsoleError> {
        let p = Proposal::from_json(text).map_err(|e| ConsoleError::Proposal(e.to_string()))?;
        let g = p
            .governance()
            .map_err(|e| ConsoleError::Proposal(e.to_string()))?;
        let seq = g.seq.to_string();
        self.sign_call(&Call::Governance(g), seq, nonce, time_ms)
    }
}
