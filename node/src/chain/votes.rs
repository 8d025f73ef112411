//! Commit votes on their way to a certificate.
//!
//! Members push their vote on each block they compute to every peer; the pool keeps the
//! valid ones by height and header hash until a quorum agrees on one header. Votes are
//! checked on arrival (a member key, a valid signature over the hash), so a certificate
//! built here always verifies. Two valid votes by one member for two hashes at one height
//! are equivocation: logged as evidence, never counted twice.

use std::collections::BTreeMap;
use std::sync::Mutex;

use tokio::sync::Notify;
use weinong_keys::{KeyId, Signature};
use weinong_ledger::block::commit_vote_message;
use weinong_ledger::{
    BlockHash, BlockHeader, CommitCertificate, MemberSet, MemberSignature, SignedTreeHead, TreeHead,
};

use crate::limits::VOTE_HEIGHTS_AHEAD;
use crate::wire::CommitVote;

/// One member's checked vote.
#[derive(Clone)]
struct Checked {
    header: Signature,
    tree_head: Signature,
}

type ByHash = BTreeMap<[u8; 32], BTreeMap<KeyId, Checked>>;

/// Votes by height, then header hash, then voter.
#[derive(Default)]
pub struct VotePool {
    inner: Mutex<BTreeMap<u64, ByHash>>,
    arrived: Notify,
}

/// Why a vote was not taken.
#[derive(Debug, thiserror::Error)]
pub enum VoteError {
    /// The voter is not in the member set.
    #[error("vote by {0}, which is not a voting member")]
    NotMember(KeyId),
    /// A signature does not decode or does not verify.
    #[error("vote by {voter} at height {height}: {what} does not verify")]
    BadSignature {
        /// The voter.
        voter: KeyId,
        /// Block height.
        height: u64,
        /// Which signature.
        what: &'static str,
    },
    /// The height is too far ahead of this node's tip.
    #[error(
        "vote at height {height} is more than {VOTE_HEIGHTS_AHEAD} blocks past this node's tip {tip}"
    )]
    TooFarAhead {
        /// Vote height.
        height: u64,
        /// This node's next height.
        tip: u64,
    },
    /// The pool's lock was poisoned.
    #[error("the vote pool is unavailable")]
    Poisoned,
}

impl VotePool {
    /// Checks and keeps a vote. `next` is this node's next block height: older votes are
    /// dropped silently, votes far ahead are refused.
    pub fn add(&self, vote: &CommitVote, members: &MemberSet, next: u64) -> Result<(), VoteError> {
        let voter = KeyId::from_bytes(vote.voter);
        let key = members
            .keys()
            .get(&voter)
            .ok_or(VoteError::NotMember(voter))?;
        if vote.height < next {
            return Ok(());
        }
        if vote.height > next.saturating_add(VOTE_HEIGHTS_AHEAD) {
            return Err(VoteError::TooFarAhead {
                height: vote.height,
                tip: next,
            });
        }
        let bad = |what| VoteError::BadSignature {
            voter,
            height: vote.height,
            what,
        };
        let header =
            Signature::from_bytes(&vote.header_signature).map_err(|_| bad("header signature"))?;
        let tree_head = Signature::from_bytes(&vote.tree_head_signature)
            .map_err(|_| bad("tree-head signature"))?;
        key.verify(&commit_vote_message(&BlockHash(vote.header_hash)), &header)
            .map_err(|_| bad("header signature"))?;
        let mut inner = self.inner.lock().map_err(|_| VoteError::Poisoned)?;
        let at_height = inner.entry(vote.height).or_default();
        for (hash, voters) in at_height.iter() {
            if *hash != vote.header_hash && voters.contains_key(&voter) {
                tracing::error!(
                    height = vote.height,
                    %voter,
                    first = %hex::encode(hash),
                    second = %hex::encode(vote.header_hash),
                    "equivocation: one member signed two headers at one height"
                );
            }
        }
        at_height
            .entry(vote.header_hash)
            .or_default()
            .insert(voter, Checked { header, tree_head });
        drop(inner);
        self.arrived.notify_waiters();
        Ok(())
    }

    /// A certificate and a signed tree head for `header`, if a quorum voted for it. Tree-head
    /// co-signatures are checked here (the head is known only once the header is).
    pub fn certify(
        &self,
        header: &BlockHeader,
        members: &MemberSet,
    ) -> Option<(CommitCertificate, SignedTreeHead)> {
        let hash = header.hash();
        let inner = self.inner.lock().ok()?;
        let voters = inner.get(&header.height)?.get(&hash.0)?;
        if voters.len() < usize::from(members.quorum()) {
            return None;
        }
        let head = TreeHead::of_header(header);
        let head_bytes = head.encode();
        let mut votes = Vec::with_capacity(voters.len());
        let mut cosignatures = Vec::with_capacity(voters.len());
        for (voter, checked) in voters {
            votes.push(MemberSignature {
                signer: *voter,
                signature: checked.header.clone(),
            });
            let good = members
                .keys()
                .get(voter)
                .is_some_and(|k| k.verify(&head_bytes, &checked.tree_head).is_ok());
            if good {
                cosignatures.push(MemberSignature {
                    signer: *voter,
                    signature: checked.tree_head.clone(),
                });
            }
        }
        let certificate = CommitCertificate::from_votes(header, votes);
        certificate.verify(header, members).ok()?;
        Some((certificate, SignedTreeHead { head, cosignatures }))
    }

    /// Forgets every height below `next`.
    pub fn prune(&self, next: u64) {
        if let Ok(mut inner) = self.inner.lock() {
            *inner = inner.split_off(&next);
        }
    }

    /// A future that completes at the next arriving vote; create it before checking
    /// [`Self::certify`] so that no vote slips between the check and the wait.
    pub fn arrival(&self) -> tokio::sync::futures::Notified<'_> {
        self.arrived.notified()
    }
}
