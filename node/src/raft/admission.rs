//! Who may speak Raft to this node, and which entries a voter lets into its log.
//!
//! Raft RPCs arrive over p2p from every admitted peer, auditors included, and openraft
//! follows any higher vote: a learner that sent `AppendEntries` with a higher term would
//! become everyone's leader. So before an RPC reaches openraft:
//!
//! - its sender must be a current voter (a key of the store's member set), and the leader
//!   or candidate the RPC names must be the sender itself: no voter speaks for another, and
//!   a learner receives but never leads ([`check_sender`]);
//! - a voter takes entries only if each proposal is signed off by that entry's leader
//!   (the proposer is the leader of the entry's term) and its time is at most
//!   [`BLOCK_TIME_AHEAD_MAX`] ahead of this node's clock ([`check_entries`]).
//!
//! Honest voters refuse the whole RPC when one entry fails, so a leader that lies about
//! time commits nothing: the followers hear no valid heartbeat, elect another leader, and
//! that leader's log replaces the refused entries. Learners do not check times (they vote
//! on nothing and must follow what the voters committed).
//!
//! What a committed entry may still carry is decided deterministically by the state
//! machine ([`void_reason`]): every node computes the same header from the same entry.

use std::time::Duration;

use openraft::{Entry, EntryPayload};
use weinong_keys::KeyId;
use weinong_ledger::MemberSet;

use super::{NodeId, Proposal, TypeConfig, node_id};
use crate::limits::{BLOCK_TIME_AHEAD_MAX, BLOCK_TIME_BEHIND_MAX};

/// Why a Raft RPC or a proposal was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RaftRefusal {
    /// The sender is not a voter of the current member set (an auditor, or a revoked key).
    #[error("Raft RPCs are taken from voters only; key {0} is not a voter")]
    NotVoter(KeyId),
    /// The RPC names another node as its leader or candidate than the sender.
    #[error(
        "the RPC names node {named:016x} as leader or candidate, but was sent by node {sender:016x}"
    )]
    SpeaksForAnother {
        /// The sender's node id.
        sender: NodeId,
        /// The node id the RPC's vote names (0 if none).
        named: NodeId,
    },
    /// A proposal in the entry at `index` names a proposer that is not its term's leader.
    #[error("entry {index}: proposer node {proposer:016x} is not the entry's leader {leader:016x}")]
    ProposerNotLeader {
        /// Raft log index of the entry.
        index: u64,
        /// The proposal's proposer.
        proposer: NodeId,
        /// The leader of the entry's term.
        leader: NodeId,
    },
    /// A proposal's block time is too far ahead of this node's clock.
    #[error(
        "entry {index}: block time {time_ms} ms is {ahead_ms} ms ahead of this node's clock (at most {bound_ms} ms)"
    )]
    TimeAhead {
        /// Raft log index of the entry.
        index: u64,
        /// The proposed time, ms since the Unix epoch.
        time_ms: u64,
        /// How far ahead of this node's clock it is.
        ahead_ms: u64,
        /// [`BLOCK_TIME_AHEAD_MAX`] in ms.
        bound_ms: u64,
    },
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// This node's clock (the consortium's one clock helper, re-exported for the run loop).
pub use weinong_keys::clock::now_ms;

/// Checks that `from` may send a Raft RPC whose vote names `named` as leader or candidate.
pub fn check_sender(
    voters: &MemberSet,
    from: &KeyId,
    named: Option<NodeId>,
) -> Result<(), RaftRefusal> {
    if !voters.keys().contains_key(from) {
        return Err(RaftRefusal::NotVoter(*from));
    }
    let sender = node_id(from);
    if named != Some(sender) {
        return Err(RaftRefusal::SpeaksForAnother {
            sender,
            named: named.unwrap_or(0),
        });
    }
    Ok(())
}

/// Checks one proposal a leader sent in the entry at `index` of `leader`'s term, against
/// this node's clock `now_ms`.
pub fn check_proposal(
    proposal: &Proposal,
    index: u64,
    leader: NodeId,
    now_ms: u64,
) -> Result<(), RaftRefusal> {
    let proposer = node_id(&KeyId::from_bytes(proposal.proposer));
    if proposer != leader {
        return Err(RaftRefusal::ProposerNotLeader {
            index,
            proposer,
            leader,
        });
    }
    check_time(index, proposal.time_ms, now_ms)
}

/// Checks that `time_ms` (of the entry at `index`, or of a header a voter is about to
/// sign) is at most [`BLOCK_TIME_AHEAD_MAX`] ahead of `now_ms`.
pub fn check_time(index: u64, time_ms: u64, now_ms: u64) -> Result<(), RaftRefusal> {
    let bound_ms = millis(BLOCK_TIME_AHEAD_MAX);
    let ahead_ms = time_ms.saturating_sub(now_ms);
    if ahead_ms > bound_ms {
        return Err(RaftRefusal::TimeAhead {
            index,
            time_ms,
            ahead_ms,
            bound_ms,
        });
    }
    Ok(())
}

/// Checks every proposal among `entries` (a voter's check before appending them).
pub fn check_entries(entries: &[Entry<TypeConfig>], now_ms: u64) -> Result<(), RaftRefusal> {
    for entry in entries {
        if let EntryPayload::Normal(proposal) = &entry.payload {
            check_proposal(
                proposal,
                entry.log_id.index,
                entry.log_id.leader_id.node_id,
                now_ms,
            )?;
        }
    }
    Ok(())
}

/// Why a committed proposal becomes an empty block at the previous block's time, if it
/// does: its proposer is not its entry's leader, or its time is more than
/// [`BLOCK_TIME_BEHIND_MAX`] behind the previous block's. Deterministic: every node
/// decides the same from the entry and the chain, so the chain continues past it.
pub fn void_reason(proposal: &Proposal, leader: NodeId, previous_time_ms: u64) -> Option<String> {
    let proposer = node_id(&KeyId::from_bytes(proposal.proposer));
    if proposer != leader {
        return Some(format!(
            "void proposal: proposer node {proposer:016x} is not the entry's leader {leader:016x}"
        ));
    }
    let behind = previous_time_ms.saturating_sub(proposal.time_ms);
    if behind > millis(BLOCK_TIME_BEHIND_MAX) {
        return Some(format!(
            "void proposal: its time is {behind} ms behind the previous block's (at most {} ms)",
            millis(BLOCK_TIME_BEHIND_MAX)
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use openraft::{CommittedLeaderId, LogId};
    use weinong_keys::KeyPair;

    use super::*;

    fn members(n: usize) -> (Vec<KeyPair>, MemberSet) {
        let keys: Vec<KeyPair> = (0..n).map(|_| KeyPair::generate()).collect();
        let set = MemberSet::new(keys.iter().map(|k| k.public_key().clone()).collect(), 2)
            .expect("member set");
        (keys, set)
    }

    fn proposal(by: &KeyId, time_ms: u64) -> Proposal {
        Proposal {
            time_ms,
            proposer: *by.as_bytes(),
            txs: Vec::new(),
        }
    }

    #[test]
    fn only_voters_speaking_for_themselves_pass() {
        let (keys, set) = members(3);
        let a = keys[0].key_id();
        let b = keys[1].key_id();
        assert_eq!(check_sender(&set, &a, Some(node_id(&a))), Ok(()));
        assert_eq!(
            check_sender(&set, &a, Some(node_id(&b))),
            Err(RaftRefusal::SpeaksForAnother {
                sender: node_id(&a),
                named: node_id(&b)
            })
        );
        assert!(matches!(
            check_sender(&set, &a, None),
            Err(RaftRefusal::SpeaksForAnother { named: 0, .. })
        ));
        let auditor = KeyPair::generate().key_id();
        assert_eq!(
            check_sender(&set, &auditor, Some(node_id(&auditor))),
            Err(RaftRefusal::NotVoter(auditor))
        );
    }

    #[test]
    fn block_time_is_bounded_at_the_edge() {
        let leader = KeyPair::generate().key_id();
        let now = 1_800_000_000_000;
        let bound = millis(BLOCK_TIME_AHEAD_MAX);
        let at_edge = proposal(&leader, now + bound);
        assert_eq!(check_proposal(&at_edge, 7, node_id(&leader), now), Ok(()));
        let past_edge = proposal(&leader, now + bound + 1);
        assert_eq!(
            check_proposal(&past_edge, 7, node_id(&leader), now),
            Err(RaftRefusal::TimeAhead {
                index: 7,
                time_ms: now + bound + 1,
                ahead_ms: bound + 1,
                bound_ms: bound
            })
        );
        let hour_ahead = proposal(&leader, now + 3_600_000);
        let refusal = check_proposal(&hour_ahead, 7, node_id(&leader), now)
            .expect_err("an hour ahead is refused");
        assert!(refusal.to_string().contains("ahead of this node's clock"));
        // Behind the clock is the follower's own lag, not the leader's lie.
        let behind = proposal(&leader, now - 3_600_000);
        assert_eq!(check_proposal(&behind, 7, node_id(&leader), now), Ok(()));
    }

    #[test]
    fn a_proposal_by_another_than_the_leader_is_refused_and_void() {
        let leader = KeyPair::generate().key_id();
        let other = KeyPair::generate().key_id();
        let p = proposal(&other, 1_000);
        assert!(matches!(
            check_proposal(&p, 3, node_id(&leader), 1_000),
            Err(RaftRefusal::ProposerNotLeader { index: 3, .. })
        ));
        assert!(
            void_reason(&p, node_id(&leader), 1_000)
                .expect("void")
                .contains("not the entry's leader")
        );
        assert_eq!(
            void_reason(&proposal(&leader, 1_000), node_id(&leader), 1_000),
            None
        );
    }

    #[test]
    fn a_proposal_too_far_behind_the_previous_block_is_void_at_the_edge() {
        let leader = KeyPair::generate().key_id();
        let previous = 1_800_000_000_000;
        let bound = millis(BLOCK_TIME_BEHIND_MAX);
        assert_eq!(
            void_reason(
                &proposal(&leader, previous - bound),
                node_id(&leader),
                previous
            ),
            None
        );
        assert!(
            void_reason(
                &proposal(&leader, previous - bound - 1),
                node_id(&leader),
                previous
            )
            .expect("void")
            .contains("behind the previous block")
        );
    }

    #[test]
    fn entries_are_checked_one_by_one() {
        let leader = KeyPair::generate().key_id();
        let id = node_id(&leader);
        let now = 1_800_000_000_000;
        let entry = |index: u64, time_ms: u64| Entry::<TypeConfig> {
            log_id: LogId::new(CommittedLeaderId::new(5, id), index),
            payload: EntryPayload::Normal(proposal(&leader, time_ms)),
        };
        let blank = Entry::<TypeConfig> {
            log_id: LogId::new(CommittedLeaderId::new(5, id), 9),
            payload: EntryPayload::Blank,
        };
        assert_eq!(
            check_entries(&[blank.clone(), entry(10, now), entry(11, now + 1)], now),
            Ok(())
        );
        assert!(matches!(
            check_entries(&[blank, entry(10, now), entry(11, now + 3_600_000)], now),
            Err(RaftRefusal::TimeAhead { index: 11, .. })
        ));
    }
}
