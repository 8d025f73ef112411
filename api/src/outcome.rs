//! What happened to one submitted transaction (`POST /v1/transactions`), as the node
//! reports it and its clients read it.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::rejection::{RejectionBody, RejectionCode};

/// What happened to one submitted transaction.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum SubmitOutcome {
    /// In a committed, certified block.
    Committed {
        /// Transaction hash, hex.
        tx: String,
        /// Block height.
        height: u64,
        /// Index in the log.
        index: u64,
    },
    /// The contracts (or the node's checks before them) refused it; nothing was recorded.
    Rejected {
        /// Transaction hash, hex.
        tx: String,
        /// Why: the typed refusal.
        rejection: RejectionBody,
    },
    /// The consortium could not order it now (no leader, leader unreachable, timeout);
    /// it may or may not commit later: resubmitting is safe (nonces refuse a replay).
    Unavailable {
        /// Transaction hash, hex.
        tx: String,
        /// Why.
        reason: String,
    },
}

impl SubmitOutcome {
    /// The transaction's hash, hex.
    pub fn tx(&self) -> &str {
        match self {
            SubmitOutcome::Committed { tx, .. }
            | SubmitOutcome::Rejected { tx, .. }
            | SubmitOutcome::Unavailable { tx, .. } => tx,
        }
    }

    /// The wire name of the status: `committed`, `rejected` or `unavailable`.
    pub fn status(&self) -> &'static str {
        match self {
            SubmitOutcome::Committed { .. } => "committed",
            SubmitOutcome::Rejected { .. } => "rejected",
            SubmitOutcome::Unavailable { .. } => "unavailable",
        }
    }

    /// Why it did not commit, for people (empty when it committed).
    pub fn reason(&self) -> &str {
        match self {
            SubmitOutcome::Committed { .. } => "",
            SubmitOutcome::Rejected { rejection, .. } => &rejection.message,
            SubmitOutcome::Unavailable { reason, .. } => reason,
        }
    }

    /// The refusal's code, when the transaction was refused.
    pub fn rejection_code(&self) -> Option<RejectionCode> {
        match self {
            SubmitOutcome::Rejected { rejection, .. } => Some(rejection.code),
            _ => None,
        }
    }

    /// Whether submitting the very same transaction again may commit it: the consortium
    /// could not order it now, or its block was void (nothing entered it).
    pub fn is_retryable(&self) -> bool {
        match self {
            SubmitOutcome::Unavailable { .. } => true,
            SubmitOutcome::Rejected { rejection, .. } => rejection.code == RejectionCode::VoidBlock,
            SubmitOutcome::Committed { .. } => false,
        }
    }

    /// Whether it was refused for a stale or replayed nonce: signed again with a fresh
    /// nonce it may pass.
    pub fn is_stale_nonce(&self) -> bool {
        matches!(self, SubmitOutcome::Rejected { rejection, .. } if rejection.is_stale_nonce())
    }
}
