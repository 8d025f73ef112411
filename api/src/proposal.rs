//! The governance proposal file (`weinong-governance-proposal/1`): a change bound to a
//! consortium and governance sequence number, and the admins' approvals collected so far.
//! Admins pass it between them — `weinong tx governance propose|approve|submit`, or the
//! console's 治理 page, which read and write the same file — until k approvals exist and
//! one of them submits the governance transaction.

use serde::{Deserialize, Serialize};
use weinong_contracts::{Approval, Call, Change, Governance, kinds};
use weinong_keys::{KeyId, KeyPair, Signature};
use weinong_ledger::Hash32;

/// The format tag of a proposal file.
pub const PROPOSAL_FORMAT: &str = "weinong-governance-proposal/1";

/// A proposal file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Proposal {
    /// [`PROPOSAL_FORMAT`].
    pub format: String,
    /// Consortium id, hex.
    pub consortium: String,
    /// Governance sequence number.
    pub seq: u64,
    /// What the change does, for the approvers to read.
    pub summary: String,
    /// Canonical governance payload without approvals, hex (carries the change).
    pub payload: String,
    /// Approvals so far.
    pub approvals: Vec<ApprovalEntry>,
}

/// One admin's approval in a proposal file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApprovalEntry {
    /// Admin key id, hex.
    pub admin: String,
    /// SM2 signature `r‖s` over the approved bytes, hex.
    pub signature: String,
}

/// Why a proposal file is unusable or an approval refused.
#[derive(Debug, thiserror::Error)]
pub enum ProposalError {
    /// Not a proposal file of this format, or a field is malformed.
    #[error("not a governance proposal: {0}")]
    Malformed(String),
    /// The change cannot be encoded.
    #[error("the change cannot be encoded: {0}")]
    Encode(String),
    /// This admin approved already.
    #[error("key {0} already approved this change")]
    AlreadyApproved(String),
}

impl Proposal {
    /// A proposal with no approvals yet.
    pub fn new(consortium: &Hash32, seq: u64, change: Change) -> Result<Self, ProposalError> {
        let summary = format!("{}: {change:?}", change.name());
        let payload = Call::Governance(Governance {
            seq,
            change,
            approvals: Vec::new(),
        })
        .encode()
        .map_err(|e| ProposalError::Encode(e.to_string()))?;
        Ok(Self {
            format: PROPOSAL_FORMAT.into(),
            consortium: consortium.to_hex(),
            seq,
            summary,
            payload: hex::encode(payload),
            approvals: Vec::new(),
        })
    }

    /// Parses and checks a proposal file's text.
    pub fn from_json(text: &str) -> Result<Self, ProposalError> {
        let p: Proposal =
            serde_json::from_str(text).map_err(|e| ProposalError::Malformed(e.to_string()))?;
        if p.format != PROPOSAL_FORMAT {
            return Err(ProposalError::Malformed(format!(
                "format {:?} is not {PROPOSAL_FORMAT:?}",
                p.format
            )));
        }
        p.governance()?;
        Ok(p)
    }

    fn consortium(&self) -> Result<Hash32, ProposalError> {
        Ok(Hash32(hex32("consortium", &self.consortium)?))
    }

    /// The governance call with the approvals collected, sorted by admin key id.
    pub fn governance(&self) -> Result<Governance, ProposalError> {
        let bytes = hex::decode(&self.payload)
            .map_err(|e| ProposalError::Malformed(format!("payload is not hex: {e}")))?;
        let Call::Governance(mut g) = Call::decode(kinds::GOVERNANCE, &bytes)
            .map_err(|e| ProposalError::Malformed(format!("payload: {e}")))?
        else {
            return Err(ProposalError::Malformed(
                "payload is not a governance call".into(),
            ));
        };
        if g.seq != self.seq || !g.approvals.is_empty() {
            return Err(ProposalError::Malformed(
                "payload does not match the file's seq, or already carries approvals".into(),
            ));
        }
        for a in &self.approvals {
            let signature = hex::decode(&a.signature)
                .ok()
                .and_then(|b| Signature::from_bytes(&b).ok())
                .ok_or_else(|| {
                    ProposalError::Malformed(format!(
                        "the approval of {} carries no signature",
                        a.admin
                    ))
                })?;
            g.approvals.push(Approval {
                admin: KeyId::from_bytes(hex32("approval admin", &a.admin)?),
                signature,
            });
        }
        g.approvals.sort_by_key(|a| a.admin);
        Ok(g)
    }

    /// The bytes each admin signs.
    pub fn approved_bytes(&self) -> Result<Vec<u8>, ProposalError> {
        let g = self.governance()?;
        Ok(Governance::approved_bytes(
            &self.consortium()?,
            g.seq,
            &g.change,
        ))
    }

    /// Adds `key`'s approval; refuses a second one from the same admin.
    pub fn approve(&mut self, key: &KeyPair) -> Result<(), ProposalError> {
        let id = key.key_id().to_hex();
        if self
            .approvals
            .iter()
            .any(|a| a.admin.eq_ignore_ascii_case(&id))
        {
            return Err(ProposalError::AlreadyApproved(id));
        }
        let signature = key.sign(&self.approved_bytes()?);
        self.approvals.push(ApprovalEntry {
            admin: id,
            signature: hex::encode(signature.to_bytes()),
        });
        Ok(())
    }
}

fn hex32(what: &str, text: &str) -> Result<[u8; 32], ProposalError> {
    hex::decode(text)
        .ok()
        .and_then(|b| <[u8; 32]>::try_from(b.as_slice()).ok())
        .ok_or_else(|| ProposalError::Malformed(format!("{what} is not 64 hex characters")))
}

#[cfg(test)]
mod tests {
    use weinong_contracts::Role;

    use super::*;

    #[test]
    fn proposals_collect_sorted_approvals_that_verify() {
        let consortium = Hash32([9; 32]);
        let target = KeyPair::generate();
        let change = Change::BindRole {
            key: target.public_key().clone(),
            role: Role::Institution,
            valid_from: 5,
            valid_until: None,
        };
        let mut p = Proposal::new(&consortium, 3, change.clone()).unwrap();
        let admins: Vec<KeyPair> = (0..3).map(|_| KeyPair::generate()).collect();
        for a in &admins {
            p.approve(a).unwrap();
        }
        assert!(p.approve(&admins[1]).is_err(), "one approval per admin");
        // Through the file format and back.
        let p: Proposal = serde_json::from_str(&serde_json::to_string(&p).unwrap()).unwrap();
        let g = p.governance().unwrap();
        assert_eq!((g.seq, &g.change), (3, &change));
        let ids: Vec<KeyId> = g.approvals.iter().map(|a| a.admin).collect();
        let mut sorted = ids.clone();
        sorted.sort();
        assert_eq!(ids, sorted);
        let approved = Governance::approved_bytes(&consortium, 3, &change);
        for a in &g.approvals {
            let key = admins.iter().find(|k| k.key_id() == a.admin).unwrap();
            key.public_key().verify(&approved, &a.signature).unwrap();
        }
        // The submitted payload decodes as the contracts read it.
        let bytes = Call::Governance(g.clone()).encode().unwrap();
        assert_eq!(
            Call::decode(kinds::GOVERNANCE, &bytes).unwrap(),
            Call::Governance(g)
        );
    }
}
