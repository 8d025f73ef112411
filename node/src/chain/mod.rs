//! The replicated state machine: committed Raft entries become certified blocks.
//!
//! For each committed [`Proposal`] every node, voter or learner, does the same thing:
//! decode the transactions, verify them against the contract state, refuse a model
//! registration whose declared data categories are not its inputs' (`crate::categories`;
//! the contracts cannot compile a spec), apply the accepted ones at the block time
//! (`max(proposal time, previous block time)`), and build the header (height, previous
//! hash, log size and root, state digest, time, proposer). A voting member
//! then signs the header and its tree head and pushes the vote to every peer; the block is
//! stored once a quorum of members signed the very header this node computed, so a node
//! that computed something else never stores it (and the others' certificate proves what
//! the quorum computed). Votes that do not arrive are pulled as stored certificates.
//!
//! Member sets: the header names the set that signs it (the store's current one) and the
//! set the contract state holds after the block's transactions (`next_members`); when a
//! governance change altered it, the store records the new set from the next height and
//! [`Shared::set_voters`] hands p2p admission, Raft admission and the leader's Raft
//! membership change (`run.rs`) over to it. A node signs only blocks whose set holds its
//! key, so a revoked key signs nothing from the block after its revocation.
//!
//! Block time and proposer: a proposal whose proposer is not its entry's Raft leader, or
//! whose time is more than [`crate::limits::BLOCK_TIME_BEHIND_MAX`] behind the previous
//! block's, becomes a void block (no transaction, the previous block's time) on every node
//! alike ([`admission::void_reason`]). Time too far ahead is refused before the entry is
//! appended ([`admission`]); a voter also signs no header whose time is more than
//! [`crate::limits::BLOCK_TIME_AHEAD_MAX`] ahead of its own clock.
//!
//! Must not know: Raft's internals beyond the storage traits, HTTP, or how peers are
//! reached (it calls [`NodeP2p`]).
//!
//! Crash safety: the block goes to the ledger store (one synced write) before the applied
//! log id is recorded (another synced write). After a crash between the two, the entry is
//! applied again; its height is already stored, so the node re-derives the outcome from the
//! store instead of applying twice. The contract state is rebuilt from the store on start
//! ([`replay`]).
//!
//! Snapshots are not used: the Raft log is never purged, so a learner or a node that was
//! down replicates from the log. Snapshot requests are refused with a reason.

#![allow(
    clippy::result_large_err,
    reason = "openraft's storage traits fix the error type (StorageError)"
)]

pub mod replay;
pub mod votes;

use std::io::Cursor;
use std::sync::Arc;

use openraft::storage::{RaftStateMachine, Snapshot};
use openraft::{
    Entry, EntryPayload, LogId, OptionalSend, RaftSnapshotBuilder, SnapshotMeta, StorageError,
    StorageIOError, StoredMembership,
};
use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;
use weinong_api::{RejectionBody, RejectionCode};
use weinong_contracts::{
    BlockTime, Outcome, PreparedKeys, RequestId, VerifiedTx, apply, expire_requests,
};
use weinong_keys::{KeyId, KeyPair, PublicKey, Signature};
use weinong_ledger::store::PreparedBlock;
use weinong_ledger::{
    BlockHash, BlockHeader, CommitCertificate, MemberSet, MemberSignature, SignedTreeHead,
    Transaction, TreeHead,
};

use crate::limits::CERTIFICATE_PULL_AFTER;
use crate::raft::log_store::LogStore;
use crate::raft::{BlockResult, NodeId, PeerNode, Proposal, TxFate, TypeConfig, admission};
use crate::raft_network::NodeP2p;
use crate::shared::{BlockNews, Shared};
use crate::wire::{CertifiedBlock, CommitVote, PeerRequest, PeerResponse};
use votes::VotePool;

type StoreResult<T> = Result<T, StorageError<NodeId>>;

fn sm_error(msg: impl Into<String>) -> StorageError<NodeId> {
    StorageIOError::write_state_machine(openraft::AnyError::error(msg.into())).into()
}

/// What the state machine records after each entry (synced, in the Raft database).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Applied {
    /// The last applied log id.
    pub log_id: Option<LogId<NodeId>>,
    /// The membership in force.
    pub membership: StoredMembership<NodeId, PeerNode>,
    /// The height the next proposal becomes.
    pub next_height: u64,
}

const META_APPLIED: &[u8] = b"applied";

/// The parts of the chain the node's tasks share.
pub struct Chain {
    /// Replica, metrics, genesis.
    pub shared: Arc<Shared>,
    /// This node's ledger key.
    pub key: Arc<KeyPair>,
    /// Whether this node votes (a department member) or only follows (a learner).
    pub voter: bool,
    /// Votes on their way to certificates.
    pub votes: VotePool,
    /// The p2p layer.
    pub p2p: NodeP2p,
}

impl Chain {
    /// The next height this node's store expects.
    pub fn next_height(&self) -> u64 {
        self.shared
            .ledger()
            .ok()
            .and_then(|r| r.store.tip().map(|t| t.height + 1))
            .unwrap_or(0)
    }

    /// The replica, for writing.
    fn replica_mut(&self) -> StoreResult<std::sync::RwLockWriteGuard<'_, crate::shared::Replica>> {
        self.shared
            .replica
            .write()
            .map_err(|_| sm_error("ledger replica poisoned"))
    }

    /// Handles a peer's vote.
    pub fn on_vote(&self, vote: &CommitVote) -> PeerResponse {
        let members = match self.shared.ledger() {
            Ok(r) => r.store.members().clone(),
            Err(e) => return PeerResponse::Refused(e.to_string()),
        };
        match self.votes.add(vote, &members, self.next_height()) {
            Ok(()) => PeerResponse::Ack,
            Err(e) => PeerResponse::Refused(e.to_string()),
        }
    }

    /// A stored block's certificate, for a peer that asks.
    pub fn certificate_of(&self, height: u64) -> PeerResponse {
        let Ok(replica) = self.shared.ledger() else {
            return PeerResponse::Certificate(None);
        };
        let (Ok(header), Ok(cert)) = (
            replica.store.header(height),
            replica.store.certificate(height),
        ) else {
            return PeerResponse::Certificate(None);
        };
        let head_sigs = replica
            .store
            .tree_head(height)
            .map(|sth| {
                sth.cosignatures
                    .iter()
                    .map(|s| {
                        (
                            *s.signer.as_bytes(),
                            ByteBuf::from(s.signature.to_bytes().to_vec()),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        PeerResponse::Certificate(Some(CertifiedBlock {
            header: ByteBuf::from(header.encode()),
            certificate: ByteBuf::from(cert.encode()),
            tree_head_signatures: head_sigs,
        }))
    }

    /// Signs `header` and pushes the vote to every connected peer (without waiting).
    fn vote_on(&self, header: &BlockHeader) {
        let hash = header.hash();
        let vote = CommitVote {
            height: header.height,
            header_hash: hash.0,
            voter: *self.key.key_id().as_bytes(),
            header_signature: ByteBuf::from(header.vote(&self.key).signature.to_bytes().to_vec()),
            tree_head_signature: ByteBuf::from(
                TreeHead::of_header(header)
                    .cosign(&self.key)
                    .signature
                    .to_bytes()
                    .to_vec(),
            ),
        };
        if let Ok(replica) = self.shared.ledger() {
            let members = replica.store.members().clone();
            drop(replica);
            if let Err(e) = self.votes.add(&vote, &members, header.height) {
                tracing::error!(error = %e, "own vote refused");
            }
        }
        for peer in self.p2p.peers() {
            let p2p = self.p2p.clone();
            let vote = vote.clone();
            tokio::spawn(async move {
                if let Err(e) = p2p.request(&peer, PeerRequest::CommitVote(vote)).await {
                    tracing::debug!(%peer, error = %e, "vote not delivered; the peer will pull");
                }
            });
        }
    }

    /// Waits for a certificate of `header`: pushed votes first, then stored certificates
    /// pulled from peers. Retries until it has one (Raft committed the entry, so a quorum
    /// of members will compute and sign this header).
    async fn certify(&self, header: &BlockHeader) -> (CommitCertificate, SignedTreeHead) {
        let members = self.shared.ledger().map(|r| r.store.members().clone());
        let Ok(members) = members else {
            return self.certify_forever(header).await;
        };
        let deadline = tokio::time::Instant::now() + CERTIFICATE_PULL_AFTER;
        loop {
            let arrival = self.votes.arrival();
            if let Some(done) = self.votes.certify(header, &members) {
                return done;
            }
            if tokio::time::timeout_at(deadline, arrival).await.is_err() {
                break;
            }
        }
        loop {
            if let Some(done) = self.votes.certify(header, &members) {
                return done;
            }
            if let Some(done) = self.pull(header, &members).await {
                return done;
            }
            let arrival = self.votes.arrival();
            let _ = tokio::time::timeout(CERTIFICATE_PULL_AFTER, arrival).await;
        }
    }

    async fn certify_forever(&self, header: &BlockHeader) -> (CommitCertificate, SignedTreeHead) {
        loop {
            tracing::error!(
                height = header.height,
                "ledger replica unavailable while certifying"
            );
            tokio::time::sleep(CERTIFICATE_PULL_AFTER).await;
            let members = self.shared.ledger().map(|r| r.store.members().clone());
            if let Ok(members) = members
                && let Some(done) = self.pull(header, &members).await
            {
                return done;
            }
        }
    }

    async fn pull(
        &self,
        header: &BlockHeader,
        members: &weinong_ledger::MemberSet,
    ) -> Option<(CommitCertificate, SignedTreeHead)> {
        for peer in self.p2p.peers() {
            let Ok(PeerResponse::Certificate(Some(block))) = self
                .p2p
                .request(
                    &peer,
                    PeerRequest::GetCertificate {
                        height: header.height,
                    },
                )
                .await
            else {
                continue;
            };
            let Ok(theirs) = BlockHeader::decode(&block.header) else {
                continue;
            };
            if theirs != *header {
                tracing::error!(
                    height = header.height,
                    %peer,
                    ours = %header.hash(),
                    theirs = %theirs.hash(),
                    "a peer certified a different header at this height; not storing ours"
                );
                continue;
            }
            let Ok(cert) = CommitCertificate::decode(&block.certificate) else {
                continue;
            };
            if cert.verify(header, members).is_err() {
                continue;
            }
            let head = TreeHead::of_header(header);
            let cosignatures = block
                .tree_head_signatures
                .iter()
                .filter_map(|(k, s)| {
                    Some(MemberSignature {
                        signer: KeyId::from_bytes(*k),
                        signature: Signature::from_bytes(s).ok()?,
                    })
                })
                .collect();
            return Some((cert, SignedTreeHead { head, cosignatures }));
        }
        None
    }
}

/// The openraft state machine over [`Chain`].
pub struct StateMachine {
    chain: Arc<Chain>,
    log: LogStore,
    applied: Applied,
    prepared: PreparedKeys,
}

impl StateMachine {
    /// Opens the state machine: reads what was applied and checks it against the store.
    pub fn open(chain: Arc<Chain>, log: LogStore) -> Result<Self, String> {
        let applied: Applied = log
            .get_meta(META_APPLIED)
            .map_err(|e| format!("reading the applied log id: {e}"))?
            .unwrap_or_default();
        let stored_next = chain.next_height();
        if applied.next_height > stored_next {
            return Err(format!(
                "the Raft state says {} blocks were applied but the ledger store holds {stored_next}: \
                 the ledger store was replaced or damaged",
                applied.next_height
            ));
        }
        Ok(Self {
            chain,
            log,
            applied,
            prepared: PreparedKeys::new(),
        })
    }

    fn save_applied(&self) -> StoreResult<()> {
        self.log.put_meta(META_APPLIED, &self.applied)
    }

    /// Executes one proposal into a block, certifies and stores it.
    async fn apply_proposal(
        &mut self,
        proposal: &Proposal,
        leader: NodeId,
    ) -> StoreResult<BlockResult> {
        let height = self.applied.next_height;
        if height < self.chain.next_height() {
            return self.already_stored(height, proposal);
        }
        let decoded: Vec<Result<Transaction, String>> = proposal
            .txs
            .iter()
            .map(|b| {
                Transaction::decode(b).map_err(|e| format!("transaction does not decode: {e}"))
            })
            .collect();
        let (header, prepared, new_keys, fates, opened, next_members) =
            self.execute(height, proposal, leader, decoded)?;
        let member = self.chain.shared.is_voter(&self.chain.key.key_id());
        if self.chain.voter && member {
            // Admission refused entries too far ahead already; a header that is still
            // ahead of this node's clock (its clock disagrees with the followers' that let
            // the entry in) gets no signature from it.
            match admission::check_time(height, header.time_ms, admission::now_ms()) {
                Ok(()) => self.chain.vote_on(&header),
                Err(refusal) => {
                    tracing::error!(height, reason = %refusal, "not signing the block header")
                }
            }
        }
        let (certificate, tree_head) = self.chain.certify(&header).await;
        {
            let mut replica = self.chain.replica_mut()?;
            let changed = replica.store.members() != &next_members;
            replica
                .store
                .append_with_members(&header, &certificate, prepared, &new_keys, &next_members)
                .map_err(|e| sm_error(format!("storing block {height}: {e}")))?;
            if changed {
                tracing::info!(
                    height,
                    members = next_members.keys().len(),
                    quorum = next_members.quorum(),
                    "the member set changed by governance; the new set signs from the next block"
                );
                self.chain.shared.set_voters(next_members);
            }
            if let Err(e) = replica.store.record_tree_head(&tree_head) {
                tracing::warn!(height, error = %e, "tree head not stored (too few co-signatures yet)");
            }
        }
        self.chain.votes.prune(height + 1);
        // No listener (a node that computes nothing) is not an error.
        let _ = self.chain.shared.assess.blocks.send(BlockNews {
            height,
            time_ms: header.time_ms,
            opened,
        });
        let metrics = &self.chain.shared.metrics;
        metrics
            .blocks
            .store(height + 1, std::sync::atomic::Ordering::Relaxed);
        let committed = fates
            .iter()
            .filter(|f| matches!(f, TxFate::Committed { .. }))
            .count();
        metrics
            .committed_txs
            .fetch_add(committed as u64, std::sync::atomic::Ordering::Relaxed);
        Ok(BlockResult {
            height: Some(height),
            txs: fates,
        })
    }

    #[allow(clippy::type_complexity)]
    fn execute(
        &mut self,
        height: u64,
        proposal: &Proposal,
        leader: NodeId,
        decoded: Vec<Result<Transaction, String>>,
    ) -> StoreResult<(
        BlockHeader,
        PreparedBlock,
        Vec<PublicKey>,
        Vec<TxFate>,
        Vec<RequestId>,
        MemberSet,
    )> {
        // Signatures are checked against the keys known when the block starts, under a
        // shared lock, so peers' requests (which read the replica) are not held up by the
        // block's SM2 verifications. A key registered inside a block signs from the next
        // block on; every node applies this same rule, and keys are never removed from the
        // state, so replaying the stored block verifies each transaction alike.
        let verified: Vec<Result<(Transaction, VerifiedTx), RejectionBody>> = {
            let replica = self
                .chain
                .shared
                .replica
                .read()
                .map_err(|_| sm_error("ledger replica poisoned"))?;
            decoded
                .into_iter()
                .map(|tx| {
                    let tx = tx.map_err(|m| RejectionBody::node(RejectionCode::Undecodable, m))?;
                    let v = VerifiedTx::verify_prepared(&tx, &replica.state, &mut self.prepared)
                        .map_err(|r| RejectionBody::from(&r))?;
                    Ok((tx, v))
                })
                .collect()
        };
        let mut replica = self.chain.replica_mut()?;
        let replica = &mut *replica;
        let previous_time = replica.state.last_block().time_ms;
        let void = admission::void_reason(proposal, leader, previous_time);
        let verified = match &void {
            Some(reason) => {
                tracing::warn!(height, %reason, "the block is void: no transaction enters it");
                verified
                    .into_iter()
                    .map(|_| {
                        Err(RejectionBody::node(
                            RejectionCode::VoidBlock,
                            reason.clone(),
                        ))
                    })
                    .collect()
            }
            None => verified,
        };
        let time_ms = if void.is_some() {
            previous_time
        } else {
            proposal.time_ms.max(previous_time)
        };
        let at = BlockTime::new(height, time_ms);
        expire_requests(&mut replica.state, at)
            .map_err(|e| sm_error(format!("block {height}: {e}")))?;
        let base = replica.store.log_size();
        let mut accepted = Vec::new();
        let mut fates = Vec::with_capacity(verified.len());
        let mut new_keys: Vec<PublicKey> = Vec::new();
        let mut opened = Vec::new();
        for item in verified {
            let (tx, v) = match item {
                Ok(pair) => pair,
                Err(reason) => {
                    fates.push(TxFate::Rejected { reason });
                    continue;
                }
            };
            // Model registrations must declare their inputs' data categories
            // (`crate::categories`); the contracts cannot compile a spec, so every node
            // checks it here, alike, before they apply.
            if let Err(reason) = crate::categories::check_registration(v.call()) {
                fates.push(TxFate::Rejected {
                    reason: RejectionBody::node(RejectionCode::ModelCategories, reason),
                });
                continue;
            }
            match apply(&mut replica.state, &v, at) {
                Ok(receipt) => {
                    match receipt.outcome {
                        Outcome::Requested { request, .. }
                        | Outcome::BatchListed {
                            request,
                            complete: true,
                            ..
                        } => opened.push(request),
                        _ => {}
                    }
                    let signer = tx.body().signer;
                    if replica.store.key(&signer).is_err()
                        && !new_keys.iter().any(|k| k.key_id() == signer)
                        && let Some(record) = replica.state.key(&signer)
                    {
                        new_keys.push(record.public_key().clone());
                    }
                    fates.push(TxFate::Committed {
                        index: base + accepted.len() as u64,
                    });
                    accepted.push(tx);
                }
                Err(rejection) => fates.push(TxFate::Rejected {
                    reason: RejectionBody::from(&rejection),
                }),
            }
        }
        let prepared = replica.store.prepare(accepted);
        let previous = replica
            .store
            .tip()
            .map(|t| t.hash())
            .unwrap_or(BlockHash([0; 32]));
        let members = replica.store.members().clone();
        // Governance refuses a change that leaves no member; were the state to give no set
        // anyway, the current one keeps signing rather than the chain stopping.
        let next_members = match replica.state.member_set() {
            Ok(set) => set,
            Err(e) => {
                tracing::error!(height, error = %e, "the state gives no member set; keeping the current one");
                members.clone()
            }
        };
        let header = BlockHeader {
            height,
            previous,
            log_size: prepared.log_size(),
            log_root: prepared.log_root(),
            state_digest: replica.state.digest(),
            time_ms: at.time_ms,
            proposer: KeyId::from_bytes(proposal.proposer),
            members: members.digest(),
            next_members: next_members.digest(),
        };
        Ok((header, prepared, new_keys, fates, opened, next_members))
    }

    /// After a crash between storing block `height` and recording it as applied: the
    /// outcome comes from the store, nothing is applied twice.
    fn already_stored(&self, height: u64, proposal: &Proposal) -> StoreResult<BlockResult> {
        let replica = self
            .chain
            .shared
            .ledger()
            .map_err(|e| sm_error(e.to_string()))?;
        let txs = proposal
            .txs
            .iter()
            .map(|b| {
                let found = Transaction::decode(b)
                    .ok()
                    .and_then(|tx| replica.store.find_transaction(&tx.hash()).ok());
                match found {
                    Some(index) => TxFate::Committed { index },
                    None => TxFate::Rejected {
                        reason: RejectionBody::node(
                            RejectionCode::NotInBlock,
                            "not in the block (refused when first applied)",
                        ),
                    },
                }
            })
            .collect();
        Ok(BlockResult {
            height: Some(height),
            txs,
        })
    }
}

impl RaftStateMachine<TypeConfig> for StateMachine {
    type SnapshotBuilder = NoSnapshots;

    async fn applied_state(
        &mut self,
    ) -> StoreResult<(Option<LogId<NodeId>>, StoredMembership<NodeId, PeerNode>)> {
        Ok((self.applied.log_id, self.applied.membership.clone()))
    }

    async fn apply<I>(&mut self, entries: I) -> StoreResult<Vec<BlockResult>>
    where
        I: IntoIterator<Item = Entry<TypeConfig>> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let mut results = Vec::new();
        for entry in entries {
            let result = match &entry.payload {
                EntryPayload::Blank => BlockResult::default(),
                EntryPayload::Normal(proposal) => {
                    let r = self
                        .apply_proposal(proposal, entry.log_id.leader_id.node_id)
                        .await?;
                    self.applied.next_height += 1;
                    r
                }
                EntryPayload::Membership(m) => {
                    self.applied.membership = StoredMembership::new(Some(entry.log_id), m.clone());
                    BlockResult::default()
                }
            };
            self.applied.log_id = Some(entry.log_id);
            self.save_applied()?;
            results.push(result);
        }
        Ok(results)
    }

    async fn get_snapshot_builder(&mut self) -> NoSnapshots {
        NoSnapshots
    }

    async fn begin_receiving_snapshot(&mut self) -> StoreResult<Box<Cursor<Vec<u8>>>> {
        Err(no_snapshots())
    }

    async fn install_snapshot(
        &mut self,
        _meta: &SnapshotMeta<NodeId, PeerNode>,
        _snapshot: Box<Cursor<Vec<u8>>>,
    ) -> StoreResult<()> {
        Err(no_snapshots())
    }

    async fn get_current_snapshot(&mut self) -> StoreResult<Option<Snapshot<TypeConfig>>> {
        Ok(None)
    }
}

fn no_snapshots() -> StorageError<NodeId> {
    StorageIOError::read_snapshot(
        None,
        openraft::AnyError::error(
            "this node does not use snapshots: the Raft log is never purged, replicate from the log",
        ),
    )
    .into()
}

/// The snapshot builder of a node that does not snapshot (the log is never purged; see the
/// module doc). It refuses with a reason instead of building something partial.
pub struct NoSnapshots;

impl RaftSnapshotBuilder<TypeConfig> for NoSnapshots {
    async fn build_snapshot(&mut self) -> StoreResult<Snapshot<TypeConfig>> {
        Err(no_snapshots())
    }
}
