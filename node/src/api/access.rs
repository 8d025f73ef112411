//! Which roles may call which routes: the one table, used by the authentication layer and
//! shown in the OpenAPI document.
//!
//! | access class | routes | roles (at the tip's block time) |
//! |---|---|---|
//! | [`Access::Submit`] | `POST /v1/transactions` | admin, department, institution, steward, registrar (auditors submit nothing) |
//! | [`Access::Ledger`] | `GET /v1/transactions/{hash}`, `/v1/blocks/{height}`, `/v1/blocks/latest`, `/v1/tree-head`, `/v1/proofs/…`, `/v1/bundles/{hash}` | department, auditor, admin, institution |
//! | [`Access::Consents`] | `GET /v1/consents/{id}` | registrar, department, auditor, admin |
//! | [`Access::RequestHistory`] | `GET /v1/requests/{id}/history`, `GET /v1/assessments/{id}` | department, auditor; an institution only for requests it made (and only it gets the sealed shares) |
//! | [`Access::RequestBundle`] | `GET /v1/requests/{id}/bundle` | auditor, admin; an institution only for requests it made |
//! | [`Access::SubjectAccesses`] | `GET /v1/subjects/{pseudonym}/accesses` | registrar, auditor, admin |
//! | [`Access::SubjectConsents`] | `GET /v1/subjects/{pseudonym}/consents` | institution (its own consents only), registrar, auditor, admin |
//! | [`Access::Pseudonyms`] | `POST /v1/pseudonyms/evaluate` | institution, registrar (rate-limited per key) |
//! | [`Access::PolicyRuns`] | `GET /v1/policies`, `GET /v1/policy-runs`, `GET /v1/policy-runs/{run}`, `GET /v1/policy-runs/{run}/result` | department, auditor, admin, steward; the result only to the node's own key |
//! | [`Access::Proposals`] | `GET /v1/proposals`, `POST /v1/proposals` | admin |
//! | [`Access::Account`] | `GET /v1/keys/{id}`, `GET /v1/governance` | any role |
//!
//! A key that holds none of a class's roles gets 403 naming the roles needed.

use std::collections::BTreeSet;

use weinong_contracts::Role;

/// A class of routes with the same roles.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Submitting transactions.
    Submit,
    /// Reading the ledger: transactions, blocks, heads, proofs, bundles.
    Ledger,
    /// Reading consent status.
    Consents,
    /// Reading an assessment request's history.
    RequestHistory,
    /// Fetching the proof bundle of an assessment request's whole story.
    RequestBundle,
    /// Listing every access to one subject's data.
    SubjectAccesses,
    /// Listing the consents recorded for one subject (an institution: only those granted
    /// to it, to see before it requests).
    SubjectConsents,
    /// Evaluating blinded subject IDs (the pseudonym OPRF).
    Pseudonyms,
    /// Reading a key's roles and nonce, and the governance sequence (what a client needs
    /// to build its next transaction).
    Account,
    /// Reading policy runs (and, on the receiver's node with its own key, their results).
    PolicyRuns,
    /// Listing and posting pending governance proposals.
    Proposals,
}

impl Access {
    /// The roles that may call this class of routes.
    pub const fn roles(self) -> &'static [Role] {
        match self {
            Access::Submit => &[
                Role::Admin,
                Role::Department,
                Role::Institution,
                Role::Steward,
                Role::Registrar,
            ],
            Access::Ledger => &[
                Role::Department,
                Role::Auditor,
                Role::Admin,
                Role::Institution,
            ],
            Access::Consents => &[
                Role::Registrar,
                Role::Department,
                Role::Auditor,
                Role::Admin,
            ],
            // Institutions are further limited to their own requests by the handler.
            Access::RequestHistory => &[Role::Institution, Role::Department, Role::Auditor],
            // Institutions are further limited to their own requests by the handler.
            Access::RequestBundle => &[Role::Auditor, Role::Admin, Role::Institution],
            Access::SubjectAccesses => &[Role::Registrar, Role::Auditor, Role::Admin],
            // Institutions are further limited to consents granted to them by the handler.
            Access::SubjectConsents => &[
                Role::Institution,
                Role::Registrar,
                Role::Auditor,
                Role::Admin,
            ],
            Access::Pseudonyms => &[Role::Institution, Role::Registrar],
            Access::Account => Role::ALL,
            // The result is further limited to the node's own key by the handler.
            Access::PolicyRuns => &[Role::Department, Role::Auditor, Role::Admin, Role::Steward],
            Access::Proposals => &[Role::Admin],
        }
    }

    /// A short name for messages.
    pub const fn name(self) -> &'static str {
        match self {
            Access::Submit => "submitting transactions",
            Access::Ledger => "reading the ledger",
            Access::Consents => "reading consents",
            Access::RequestHistory => "reading request histories",
            Access::RequestBundle => "fetching request proof bundles",
            Access::SubjectAccesses => "listing the accesses to a subject's data",
            Access::SubjectConsents => "listing a subject's consents",
            Access::Pseudonyms => "evaluating blinded subject IDs",
            Access::Account => "reading keys and governance",
            Access::PolicyRuns => "reading policy runs",
            Access::Proposals => "reading and posting governance proposals",
        }
    }

    /// Whether a key holding `roles` may call this class.
    pub fn allows(self, roles: &BTreeSet<Role>) -> bool {
        self.roles().iter().any(|r| roles.contains(r))
    }

    /// The roles, as labels joined for a message or a document.
    pub fn role_list(self) -> String {
        self.roles()
            .iter()
            .map(|r| r.label())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_class_admits_exactly_its_roles() {
        for access in [
            Access::Submit,
            Access::Ledger,
            Access::Consents,
            Access::RequestHistory,
            Access::RequestBundle,
            Access::SubjectAccesses,
            Access::Pseudonyms,
            Access::Account,
        ] {
            assert!(
                !access.allows(&BTreeSet::new()),
                "{access:?} admits no role"
            );
            for role in Role::ALL {
                let one = BTreeSet::from([*role]);
                assert_eq!(access.allows(&one), access.roles().contains(role));
            }
        }
        assert!(!Access::Submit.allows(&BTreeSet::from([Role::Auditor])));
        assert!(!Access::Consents.allows(&BTreeSet::from([Role::Institution])));
        assert!(!Access::RequestBundle.allows(&BTreeSet::from([Role::Department])));
        assert!(!Access::SubjectAccesses.allows(&BTreeSet::from([Role::Institution])));
        assert!(!Access::SubjectAccesses.allows(&BTreeSet::from([Role::Department])));
        assert!(!Access::Pseudonyms.allows(&BTreeSet::from([Role::Department])));
        assert!(!Access::Pseudonyms.allows(&BTreeSet::from([Role::Auditor])));
    }
}
