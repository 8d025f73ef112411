//! What nodes say to each other over the p2p request-response protocol.
//!
//! Raft RPCs (openraft's own serde types), transactions a follower forwards to the leader,
//! commit votes (each member's signature over a block header and its tree head), and
//! requests for a stored certificate (a node catching up, or a learner, pulls them), and
//! assessment output shares sealed to their requester.

use openraft::error::{InstallSnapshotError, RaftError};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};
use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;

use crate::raft::{NodeId, TypeConfig};
use crate::shared::SubmitOutcome;

/// A request from one node to another.
#[derive(Debug, Serialize, Deserialize)]
pub enum PeerRequest {
    /// Raft: replicate entries / heartbeat.
    AppendEntries(AppendEntriesRequest<TypeConfig>),
    /// Raft: request a vote.
    Vote(VoteRequest<NodeId>),
    /// Raft: snapshot chunk (refused: logs are never purged, see `chain`).
    InstallSnapshot(InstallSnapshotRequest<TypeConfig>),
    /// A follower forwards canonical transactions it received to the leader.
    Forward(Vec<ByteBuf>),
    /// A member's vote on a block it computed.
    CommitVote(CommitVote),
    /// Asks for the stored (or collected) certificate of a block.
    GetCertificate {
        /// Block height.
        height: u64,
    },
    /// A department's output share of an assessment, sealed to the requester, for this
    /// node to keep and serve (see `assess`).
    SealedShare {
        /// The request id.
        request: [u8; 32],
        /// The sender's MPC party (must be the sender's own).
        party: u8,
        /// The sender's SM2 signature (r‖s, 64 bytes) over
        /// `weinong_mpc::model::share_signature_message` of the share.
        signature: ByteBuf,
        /// SM2 ciphertext only the requester can open.
        blob: ByteBuf,
    },
}

/// A member's signatures on the block it computed at `height`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CommitVote {
    /// Block height.
    pub height: u64,
    /// SM3 hash of the canonical header.
    pub header_hash: [u8; 32],
    /// The voter's key id.
    pub voter: [u8; 32],
    /// SM2 signature (r‖s) over the commit vote message of the header hash.
    pub header_signature: ByteBuf,
    /// SM2 co-signature (r‖s) of the header's tree head.
    pub tree_head_signature: ByteBuf,
}

/// A certificate for one block as stored: canonical header and certificate bytes, and the
/// co-signatures of its tree head.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CertifiedBlock {
    /// Canonical header bytes.
    pub header: ByteBuf,
    /// Canonical commit certificate bytes.
    pub certificate: ByteBuf,
    /// (voter key id, r‖s) co-signatures of the tree head.
    pub tree_head_signatures: Vec<([u8; 32], ByteBuf)>,
}

/// A reply.
#[derive(Debug, Serialize, Deserialize)]
pub enum PeerResponse {
    /// Raft append-entries reply.
    AppendEntries(Result<AppendEntriesResponse<NodeId>, RaftError<NodeId>>),
    /// Raft vote reply.
    Vote(Result<VoteResponse<NodeId>, RaftError<NodeId>>),
    /// Raft snapshot reply.
    InstallSnapshot(
        Result<InstallSnapshotResponse<NodeId>, RaftError<NodeId, InstallSnapshotError>>,
    ),
    /// Outcomes of forwarded transactions, in order.
    Forwarded(Vec<SubmitOutcome>),
    /// A vote was received.
    Ack,
    /// The certificate asked for, if this node has it.
    Certificate(Option<CertifiedBlock>),
    /// The request was refused; names why.
    Refused(String),
}
