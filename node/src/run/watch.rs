//! The node's background watch on Raft, every half second: metrics (peers, leader, term,
//! voters) for everyone; on the leader, the Raft voters follow the ledger's member set and
//! connected auditors join as learners.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use crate::raft::{NodeId, PeerNode, Raft, node_id};
use crate::raft_network::NodeP2p;
use crate::shared::Shared;

/// Runs forever (until the runtime stops).
pub(super) async fn watch_raft(raft: Raft, shared: Arc<Shared>, p2p: NodeP2p, me: NodeId) {
    let mut added: BTreeSet<NodeId> = BTreeSet::new();
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let m = raft.metrics().borrow().clone();
        let peers = p2p.peers();
        let metrics = &shared.metrics;
        metrics.peers.store(peers.len() as u64, Relaxed);
        metrics.leader.store(m.current_leader.unwrap_or(0), Relaxed);
        metrics
            .is_leader
            .store(m.current_leader == Some(me), Relaxed);
        metrics.term.store(m.current_term, Relaxed);
        metrics.raft_voters.store(
            m.membership_config.membership().voter_ids().count() as u64,
            Relaxed,
        );
        metrics.applied.store(
            m.last_applied.map_or(0, |id| id.index.saturating_add(1)),
            Relaxed,
        );
        if m.current_leader != Some(me) {
            continue;
        }
        // A membership change waits for a quorum: a leader cut off from it (say, one whose
        // own key governance just revoked) would wait for ever, and with it this loop and
        // the metrics above. The change is proposed again on a later tick.
        let duties = leader_duties(&raft, &shared, &m, peers, &mut added);
        if tokio::time::timeout(LEADER_DUTY_WAIT, duties)
            .await
            .is_err()
        {
            tracing::warn!("Raft membership change not committed in time (no quorum?); retrying");
        }
    }
}

/// The longest one tick waits for the leader's membership changes to commit.
const LEADER_DUTY_WAIT: Duration = Duration::from_secs(5);

/// On the leader: the Raft voters follow the ledger's member set; connected auditors join
/// as learners (each once, `added`).
async fn leader_duties(
    raft: &Raft,
    shared: &Shared,
    m: &openraft::RaftMetrics<NodeId, PeerNode>,
    peers: Vec<weinong_keys::KeyId>,
    added: &mut BTreeSet<NodeId>,
) {
    follow_member_set(raft, shared, m).await;
    for peer in peers {
        let id = node_id(&peer);
        let known = m.membership_config.nodes().any(|(n, _)| *n == id);
        let is_member = shared.is_voter(&peer);
        if known || is_member || added.contains(&id) {
            continue;
        }
        match raft
            .add_learner(id, PeerNode { key: peer.to_hex() }, false)
            .await
        {
            Ok(_) => {
                tracing::info!(%peer, "auditor added as a Raft learner");
                added.insert(id);
            }
            Err(e) => {
                tracing::warn!(%peer, error = %e, "adding the auditor as a learner failed")
            }
        }
    }
}

/// On the leader: if the Raft voters are not the keys of the member set the ledger handed
/// over to, changes them (new keys join as learners first, then one joint-consensus
/// change; keys that left are dropped). openraft runs one membership change at a time; a
/// change refused because another is under way is tried again on the next tick.
async fn follow_member_set(
    raft: &Raft,
    shared: &Shared,
    m: &openraft::RaftMetrics<NodeId, PeerNode>,
) {
    let members = shared.voters();
    let wanted: BTreeSet<NodeId> = members.keys().keys().map(node_id).collect();
    let config = m.membership_config.membership();
    let voters: BTreeSet<NodeId> = config.voter_ids().collect();
    if voters == wanted {
        return;
    }
    for key in members.keys().keys() {
        let id = node_id(key);
        if config.nodes().any(|(n, _)| *n == id) {
            continue;
        }
        if let Err(e) = raft
            .add_learner(id, PeerNode { key: key.to_hex() }, false)
            .await
        {
            tracing::warn!(%key, error = %e, "adding a new member as a Raft learner failed; retrying");
            return;
        }
    }
    tracing::info!(from = ?voters, to = ?wanted, "Raft voters follow the ledger's member set");
    if let Err(e) = raft.change_membership(wanted, false).await {
        tracing::warn!(error = %e, "changing the Raft voters failed; retrying");
    }
}
