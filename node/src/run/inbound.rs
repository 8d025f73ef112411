//! The inbound peer dispatcher: every request a connected, authenticated peer sends
//! (Raft RPCs, forwarded transactions, commit votes, certificate queries, sealed shares)
//! goes to its handler here, after the checks of who may send it.
//!
//! Raft RPCs reach openraft only from current voters that speak for themselves, and a
//! voter appends no entry too far ahead of its clock ([`admit_raft`]); forwarded
//! transactions are taken from voters only.

use std::sync::Arc;

use tokio::sync::mpsc;
use weinong_contracts::Role;
use weinong_keys::{KeyId, PublicKey};

use crate::assess::Assessor;
use crate::chain::Chain;
use crate::p2p::{Inbound as InboundMessage, PeerAuthority};
use crate::raft::{NodeId, Raft, admission};
use crate::shared::Shared;
use crate::submit::accept_forward;
use crate::wire::{PeerRequest, PeerResponse};

/// Peers admitted to connect: the member set that signs the next block (it follows
/// governance: a revoked or rotated-away key drops out, a new member's key comes in) and
/// keys with the auditor role in the current state.
pub(super) struct LedgerAuthority {
    pub(super) shared: Arc<Shared>,
}

impl PeerAuthority for LedgerAuthority {
    fn admits(&self, key: &KeyId) -> bool {
        if self.shared.is_voter(key) {
            return true;
        }
        let Ok(r) = self.shared.ledger() else {
            return false;
        };
        let now = r.state.last_block().time_ms;
        r.state.roles_at(key, now).contains(&Role::Auditor)
    }

    fn public_key(&self, key: &KeyId) -> Option<PublicKey> {
        if let Some(k) = self.shared.with_voters(|v| v.keys().get(key).cloned()) {
            return Some(k);
        }
        let r = self.shared.ledger().ok()?;
        r.state.key(key).map(|rec| rec.public_key().clone())
    }
}

/// Whether a Raft RPC from `from`, naming `named` as leader or candidate (and carrying
/// `entries`, which a voter checks), may reach openraft: `None` if so, else the refusal to
/// answer.
fn admit_raft(
    shared: &Shared,
    from: &KeyId,
    named: Option<NodeId>,
    entries: Option<&[openraft::Entry<crate::raft::TypeConfig>]>,
) -> Option<PeerResponse> {
    // The voters, not the replica: a block being applied holds the replica's write lock,
    // and heartbeats must not wait for it.
    let sender = shared.with_voters(|voters| admission::check_sender(voters, from, named));
    let checked = sender.and_then(|()| match entries {
        Some(entries) => admission::check_entries(entries, admission::now_ms()),
        None => Ok(()),
    });
    checked.err().map(|refusal| {
        shared
            .metrics
            .raft_refused
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        tracing::warn!(peer = %from, reason = %refusal, "Raft RPC refused");
        PeerResponse::Refused(refusal.to_string())
    })
}

/// What the dispatcher hands requests to.
pub(super) struct Inbound {
    pub(super) raft: Raft,
    pub(super) chain: Arc<Chain>,
    pub(super) shared: Arc<Shared>,
    /// `None` on a node that computes no assessments (an auditor's).
    pub(super) assessor: Option<Arc<Assessor>>,
    /// Whether this node votes (a learner does not check proposals' entries).
    pub(super) voter: bool,
}

impl Inbound {
    /// Answers each inbound request on its own task, until the p2p layer stops.
    pub(super) async fn serve(
        self,
        mut inbound: mpsc::Receiver<InboundMessage<PeerRequest, PeerResponse>>,
    ) {
        let this = Arc::new(self);
        while let Some(msg) = inbound.recv().await {
            let this = this.clone();
            tokio::spawn(async move {
                let response = this.dispatch(msg.from, msg.request).await;
                let _ = msg.reply.send(response);
            });
        }
    }

    /// One request's answer.
    async fn dispatch(&self, from: KeyId, request: PeerRequest) -> PeerResponse {
        match request {
            PeerRequest::AppendEntries(rpc) => {
                let named = rpc.vote.leader_id().voted_for();
                let entries = self.voter.then_some(rpc.entries.as_slice());
                match admit_raft(&self.shared, &from, named, entries) {
                    None => {
                        let commit = rpc.leader_commit.map(|id| id.index);
                        let response = self.raft.append_entries(rpc).await;
                        // Readiness compares this with what the node applied.
                        self.shared.metrics.note_leader_commit(commit);
                        PeerResponse::AppendEntries(response)
                    }
                    Some(refused) => refused,
                }
            }
            PeerRequest::Vote(rpc) => {
                match admit_raft(&self.shared, &from, rpc.vote.leader_id().voted_for(), None) {
                    None => PeerResponse::Vote(self.raft.vote(rpc).await),
                    Some(refused) => refused,
                }
            }
            PeerRequest::InstallSnapshot(rpc) => {
                match admit_raft(&self.shared, &from, rpc.vote.leader_id().voted_for(), None) {
                    None => PeerResponse::InstallSnapshot(self.raft.install_snapshot(rpc).await),
                    Some(refused) => refused,
                }
            }
            PeerRequest::Forward(txs) => {
                if self.shared.is_voter(&from) {
                    accept_forward(&self.shared, txs).await
                } else {
                    PeerResponse::Refused(format!(
                        "forwarded transactions are taken from voters only; key {from} is not a voter (submit over HTTP instead)"
                    ))
                }
            }
            PeerRequest::CommitVote(vote) => self.chain.on_vote(&vote),
            PeerRequest::GetCertificate { height } => self.chain.certificate_of(height),
            PeerRequest::SealedShare {
                request,
                party,
                signature,
                blob,
            } => match &self.assessor {
                Some(a) => a.accept_sealed(&from, request, party, &signature, blob.into_vec()),
                None => PeerResponse::Refused("this node computes no assessments".to_owned()),
            },
        }
    }
}
