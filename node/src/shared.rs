//! What the node's tasks share: the ledger replica (store and contract state) behind one
//! lock, the submission queue, and the counters `/metrics` reports.
//!
//! The HTTP API reads the ledger through [`Shared::ledger`] and submits through
//! [`Shared::submit`]; it never touches Raft or libp2p directly.

use std::sync::atomic::Ordering;
use std::sync::{Arc, RwLock, RwLockReadGuard};

use tokio::sync::{broadcast, mpsc, oneshot};
use weinong_contracts::{Genesis, RequestId, State};
use weinong_keys::KeyId;
use weinong_ledger::store::LedgerStore;
use weinong_ledger::{Hash32, Transaction};

/// The replica: the certified blocks and the contract state after the last of them.
pub struct Replica {
    /// Certified blocks, transactions, proofs.
    pub store: LedgerStore,
    /// Contract state after the store's tip.
    pub state: State,
}

/// What happened to one submitted transaction (the API's wire type).
pub use weinong_api::SubmitOutcome;

/// One submission: transactions and where to send their outcomes (same order).
pub struct SubmitJob {
    /// The transactions, decoded (so canonical) but not yet verified.
    pub txs: Vec<Transaction>,
    /// Outcomes, one per transaction, in order.
    pub reply: oneshot::Sender<Vec<SubmitOutcome>>,
    /// Forwarded by a follower: the leader must not forward it again.
    pub forwarded: bool,
}

pub use crate::metrics::Metrics;

/// The shared handle.
pub struct Shared {
    /// This node's name from its config.
    pub name: String,
    /// The member set that signs the next block (the store's, updated by the chain after
    /// each hand-over), readable without the replica's lock: Raft admission reads it on
    /// every heartbeat while a block being applied holds that lock.
    pub voters: RwLock<weinong_ledger::MemberSet>,
    /// This node's ledger key.
    pub key_id: KeyId,
    /// The consortium id (SM3 of the genesis bytes).
    pub consortium: Hash32,
    /// The genesis document.
    pub genesis: Genesis,
    /// The replica.
    pub replica: RwLock<Replica>,
    /// Submission queue (the batcher, or the forwarder to the leader).
    pub submit: mpsc::Sender<SubmitJob>,
    /// Counters.
    pub metrics: Metrics,
    /// Block notices for the assessment driver, and the sealed output shares it keeps.
    pub assess: AssessHub,
}

/// What the chain tells the assessment driver after each stored block.
#[derive(Clone, Debug)]
pub struct BlockNews {
    /// The block's height.
    pub height: u64,
    /// Its block time, ms.
    pub time_ms: u64,
    /// Assessment requests ready in it: single requests opened, batch requests whose
    /// last part was recorded.
    pub opened: Vec<RequestId>,
}

/// The assessment side of [`Shared`].
pub struct AssessHub {
    /// One notice per stored block (subscribe for a receiver).
    pub blocks: broadcast::Sender<BlockNews>,
    /// Sealed output shares held by this node.
    pub results: crate::results::ResultStore,
    /// Results of the policy runs this node received, and runs in flight.
    pub policy_results: crate::policy_results::PolicyResults,
}

impl AssessHub {
    /// A hub keeping sealed shares in `results` and policy-run results beside them
    /// (`<results>/policy-runs`).
    pub fn new(results: crate::results::ResultStore) -> AssessHub {
        let (blocks, _) = broadcast::channel(crate::limits::BLOCK_NEWS_BUFFER);
        let policy_dir = results.dir().join("policy-runs");
        let policy_results = crate::policy_results::PolicyResults::open(&policy_dir)
            .unwrap_or_else(|e| {
                // The share store's own directory was just created, so this only fails if
                // the disk does; runs then fail with the reason when they store a result.
                tracing::error!(error = %e, "cannot create the policy result directory");
                crate::policy_results::PolicyResults::unavailable(&policy_dir)
            });
        AssessHub {
            blocks,
            results,
            policy_results,
        }
    }
}

/// Errors of [`Shared`]'s helpers.
#[derive(Debug, thiserror::Error)]
pub enum SharedError {
    /// The replica lock was poisoned by a panicking writer.
    #[error("the ledger replica is unavailable (a writer failed); restart the node")]
    Poisoned,
    /// The submission queue is closed (the node is stopping).
    #[error("the node is shutting down; submit to another node")]
    Stopping,
}

impl Shared {
    /// A node's shared state over `replica` (built from `genesis`): the voters start as its
    /// store's member set, the counters at zero, and sealed shares are kept in `results`.
    pub fn new(
        name: String,
        key_id: KeyId,
        genesis: Genesis,
        replica: Replica,
        submit: mpsc::Sender<SubmitJob>,
        results: crate::results::ResultStore,
    ) -> Shared {
        Shared {
            name,
            voters: RwLock::new(replica.store.members().clone()),
            key_id,
            // The state is built from `genesis`, so this is its id.
            consortium: *replica.state.consortium(),
            genesis,
            replica: RwLock::new(replica),
            submit,
            metrics: Metrics::default(),
            assess: AssessHub::new(results),
        }
    }

    /// Runs `f` on the member set that signs the next block, without copying it. A
    /// poisoned lock still holds a whole set (a writer only swaps it), so it is read.
    pub fn with_voters<R>(&self, f: impl FnOnce(&weinong_ledger::MemberSet) -> R) -> R {
        match self.voters.read() {
            Ok(v) => f(&v),
            Err(poisoned) => f(&poisoned.into_inner()),
        }
    }

    /// The member set that signs the next block (a copy).
    pub fn voters(&self) -> weinong_ledger::MemberSet {
        self.with_voters(Clone::clone)
    }

    /// Whether `key` is in the member set that signs the next block.
    pub fn is_voter(&self, key: &KeyId) -> bool {
        self.with_voters(|v| v.keys().contains_key(key))
    }

    /// Replaces the member set after a hand-over.
    pub(crate) fn set_voters(&self, members: weinong_ledger::MemberSet) {
        self.metrics
            .members
            .store(members.keys().len() as u64, Ordering::Relaxed);
        match self.voters.write() {
            Ok(mut v) => *v = members,
            Err(poisoned) => *poisoned.into_inner() = members,
        }
    }

    /// Reads the replica.
    pub fn ledger(&self) -> Result<RwLockReadGuard<'_, Replica>, SharedError> {
        self.replica.read().map_err(|_| SharedError::Poisoned)
    }

    /// Submits transactions and waits for their outcomes.
    pub async fn submit(
        self: &Arc<Self>,
        txs: Vec<Transaction>,
    ) -> Result<Vec<SubmitOutcome>, SharedError> {
        let (reply, outcome) = oneshot::channel();
        self.submit
            .send(SubmitJob {
                txs,
                reply,
                forwarded: false,
            })
            .await
            .map_err(|_| SharedError::Stopping)?;
        outcome.await.map_err(|_| SharedError::Stopping)
    }
}
