//! `weinong-contracts`: the consortium's system contracts, as one pure, deterministic state
//! machine: [`apply`]`(&mut State, &VerifiedTx, BlockTime) -> Result<Receipt, Rejection>`.
//!
//! Owns: the typed payloads of the ledger's transaction kinds ([`payload`]) and their
//! canonical encoding (written and read with the ledger's [`weinong_ledger::codec`]); the [`Genesis`] document; membership and RBAC with k-of-n admin
//! governance, key rotation and revocation; consent grant and withdrawal; data access
//! records; the assessment request lifecycle with time-outs; the model registry; the
//! state digest; and the queries a node, an auditor or a subject asks.
//!
//! Must not know: storage, networking, consensus, tokio, the wall clock, randomness or
//! floating point. Time is the block time handed in; every map is ordered (`BTreeMap`), so
//! the digest is the same on every node. Depends only on `weinong-keys` and the
//! verifier-only build of `weinong-ledger` (no RocksDB); `tests/architecture.rs` checks it.
//!
//! Flow: a node decodes a ledger [`weinong_ledger::Transaction`], turns it into a
//! [`VerifiedTx`] ([`VerifiedTx::verify`]: payload decoded, every signature checked
//! against keys in the state), calls [`expire_requests`] once per block, then [`apply`]
//! per transaction, and puts [`State::digest`] in the block header.
//!
//! Legal frame (PIPL): subjects appear only as pseudonyms; consent names recipient,
//! purpose and data categories (Art. 23, 29 for sensitive health data); withdrawal is
//! effective from its block and not retroactive (Art. 15); access is limited to the
//! categories the registered model reads (Art. 6); every access is recorded and listed by
//! subject ([`State::accesses_to`]).

#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::panic, clippy::cast_possible_truncation)
)]

mod apply;
mod batch;
mod consent;
pub mod genesis;
mod governance;
pub mod limits;
pub mod payload;
pub(crate) mod policy;
pub mod policy_matches;
mod query;
pub mod rejection;
mod requests;
pub mod share;
pub mod state;
pub mod types;
mod verify;

pub use apply::{Outcome, Receipt, apply, expire_requests};
pub use genesis::Genesis;
pub use payload::{
    AccessRecord, Approval, AssessmentRequest, BatchAccess, BatchRequest, Call, Change,
    ConsentGrant, ConsentRevoke, FailRequest, Governance, PAYLOAD_VERSION, PolicyAccess, PolicyEnd,
    PolicyRun, ResultRecord, RunOutcome, kinds, policy_id,
};
pub use rejection::Rejection;
pub use state::{
    Batch, BatchAccessEntry, ConsentStatus, HistoryEntry, PolicyRecord, PolicyRunRecord,
    RequestEvent, RequestStatus, RunAccess, RunStatus, State, Target,
};
pub use types::{
    BlockTime, CategorySet, ConsentId, DataCategory, Department, EvidenceHash, FailureReason,
    FieldsHash, LegalBasis, MatchesRoot, MemberId, ModelId, PolicyId, Purpose, RequestId,
    ResultCommitment, Role, RunId,
};
pub use verify::{PreparedKeys, VerifiedTx};
