//! Read-only questions the node and auditors ask of the state, each answerable for any
//! past time the state still describes (the ledger keeps whole histories).

use std::collections::BTreeSet;

use weinong_keys::{KeyId, SubjectPseudonym};

use crate::state::{AccessEntry, Consent, ConsentStatus, HistoryEntry, KeyStatus, State};
use crate::types::{CategorySet, ConsentId, Purpose, RequestId, Role};

impl State {
    /// A consent's status at time `t_ms` (block time), or `None` if no such consent.
    /// Withdrawal counts from the block that recorded it.
    pub fn consent_status(&self, consent: &ConsentId, t_ms: u64) -> Option<ConsentStatus> {
        let c = self.consents.get(consent)?;
        Some(match c.revoked {
            Some(r) if r.at.time_ms <= t_ms => ConsentStatus::Revoked { at: r.at },
            _ if t_ms < c.valid_from || t_ms < c.granted_at.time_ms => ConsentStatus::NotYetValid,
            _ if t_ms >= c.valid_until => ConsentStatus::Expired,
            _ => ConsentStatus::Valid,
        })
    }

    /// Every consent recorded for `subject`, by consent id.
    pub fn consents_of(
        &self,
        subject: &SubjectPseudonym,
    ) -> impl Iterator<Item = (&ConsentId, &Consent)> {
        let from = (*subject, ConsentId::from_bytes([0; 32]));
        let to = (*subject, ConsentId::from_bytes([0xff; 32]));
        self.consents_by_subject
            .range(from..=to)
            .filter_map(|(_, id)| self.consents.get_key_value(id))
    }

    /// The roles `key` held at time `t_ms`: bindings valid then, of a key not yet revoked
    /// or rotated away then. Empty for an unknown key.
    pub fn roles_at(&self, key: &KeyId, t_ms: u64) -> BTreeSet<Role> {
        let Some(record) = self.keys.get(key) else {
            return BTreeSet::new();
        };
        let ended = match record.status {
            KeyStatus::Active => None,
            KeyStatus::Rotated { at, .. } | KeyStatus::Revoked { at } => Some(at.time_ms),
        };
        if ended.is_some_and(|end| end <= t_ms) {
            return BTreeSet::new();
        }
        record
            .bindings
            .iter()
            .filter(|b| b.valid_at(t_ms))
            .map(|b| b.role)
            .collect()
    }

    /// A request's history, oldest first.
    pub fn request_history(&self, request: &RequestId) -> Option<&[HistoryEntry]> {
        self.requests.get(request).map(|r| r.history.as_slice())
    }

    /// Every access to `subject`'s data, in ledger order (the subject's right to know who
    /// used their data, PIPL Art. 44–45).
    pub fn accesses_to(&self, subject: &SubjectPseudonym) -> impl Iterator<Item = &AccessEntry> {
        self.accesses
            .range((*subject, 0)..=(*subject, u64::MAX))
            .map(|(_, a)| a)
    }

    /// A consent on which a department may read `categories` for `request` at `t_ms`:
    /// recorded for the request's subject, granted to its requester for its purpose,
    /// covering every category, begun, not ended and not withdrawn then (the rule
    /// access records are checked by). The lowest such consent id; `None` if there is none
    /// or no such request.
    pub fn covering_consent(
        &self,
        request: &RequestId,
        categories: CategorySet,
        t_ms: u64,
    ) -> Option<ConsentId> {
        let r = self.requests.get(request)?;
        self.consent_covering(r.subject()?, r.requester, r.purpose, categories, t_ms)
    }

    /// The lowest id of a consent recorded for `subject`, granted to `grantee` for
    /// `purpose`, covering every category of `categories`, begun, not ended and not
    /// withdrawn at `t_ms`: the rule single and batch accesses are checked by.
    pub fn consent_covering(
        &self,
        subject: &SubjectPseudonym,
        grantee: KeyId,
        purpose: Purpose,
        categories: CategorySet,
        t_ms: u64,
    ) -> Option<ConsentId> {
        self.consents_of(subject).map(|(id, _)| *id).find(|id| {
            crate::consent::covering_consent(self, *id, subject, grantee, purpose, categories, t_ms)
                .is_ok()
        })
    }

    /// Every access to `subject`'s data — single-subject access records and the batch
    /// accesses that relied on a consent of theirs — in ledger order (block height, then
    /// recording order within the kind).
    pub fn all_accesses_to(&self, subject: &SubjectPseudonym) -> Vec<AccessEntry> {
        let mut all: Vec<AccessEntry> = self.accesses_to(subject).cloned().collect();
        let listed = self.batches_by_subject.range(
            (*subject, RequestId::from_bytes([0; 32]))
                ..=(*subject, RequestId::from_bytes([0xff; 32])),
        );
        for (_, request) in listed {
            let Some(batch) = self.requests.get(request).and_then(|r| r.batch()) else {
                continue;
            };
            let Some(index) = batch.index_of(subject) else {
                continue;
            };
            for a in batch.accesses() {
                if let Some(Some(consent)) = a.consents.get(index) {
                    all.push(AccessEntry {
                        at: a.at,
                        tx: a.tx,
                        node: a.node,
                        signer: a.signer,
                        request: *request,
                        categories: a.categories,
                        consent: *consent,
                        fields: a.fields,
                    });
                }
            }
        }
        all.sort_by_key(|a| a.at.height);
        all
    }
}
