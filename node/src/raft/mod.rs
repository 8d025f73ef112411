//! Raft ordering (openraft 0.9) among the voting department nodes.
//!
//! Owns: the type configuration ([`TypeConfig`]): what a log entry carries ([`Proposal`]:
//! a batch of canonical transaction bytes, the leader's clock and its key) and what
//! applying one returns ([`BlockResult`]); the RocksDB log store ([`log_store`]); and
//! who may send those RPCs and which entries a voter appends ([`admission`]).
//!
//! Must not know: what transactions mean or how blocks are built and certified (that is
//! [`crate::chain`], the state machine; Raft orders bytes, the chain decides), nor how
//! RPCs travel (that is [`crate::raft_network`], over the p2p layer and the peer wire).
//!
//! Node ids: the first eight bytes (big-endian) of the node's ledger [`KeyId`], so a node's
//! Raft identity follows from the key the ledger binds it to. The [`PeerNode`] carries the
//! full key id, which the network layer uses to address the peer.

pub mod admission;
pub mod log_store;

use std::fmt;
use std::io::Cursor;

use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;
use weinong_keys::KeyId;

/// A Raft node id.
pub type NodeId = u64;

/// The Raft node id of a ledger key.
pub fn node_id(key: &KeyId) -> NodeId {
    let b = key.as_bytes();
    u64::from_be_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
}

/// What Raft knows of a node: its ledger key id (the p2p layer maps it to a connection).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerNode {
    /// Ledger key id, 64 hex characters.
    pub key: String,
}

impl fmt::Display for PeerNode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "node {}", self.key.get(..16).unwrap_or(&self.key))
    }
}

/// One Raft log entry's application data: a batch the leader proposes as the next block.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proposal {
    /// The leader's clock when it proposed, ms since the Unix epoch. The block's time is
    /// `max(this, previous block time)`, so a slow clock cannot move time backwards.
    pub time_ms: u64,
    /// The proposing member's ledger key id.
    pub proposer: [u8; 32],
    /// Canonical transaction bytes, in the order the leader received them.
    pub txs: Vec<ByteBuf>,
}

impl fmt::Display for Proposal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "proposal of {} txs at {}", self.txs.len(), self.time_ms)
    }
}

/// What applying one entry gave: the block it became and each transaction's fate.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockResult {
    /// The block height, `None` for entries that are not proposals (membership, blank).
    pub height: Option<u64>,
    /// One per proposed transaction, in order.
    pub txs: Vec<TxFate>,
}

/// What became of one proposed transaction.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TxFate {
    /// Accepted at this log index.
    Committed {
        /// Index in the ledger's log.
        index: u64,
    },
    /// Refused by decoding, verification or the contracts; not recorded.
    Rejected {
        /// Why, typed (the API's wire form of the refusal).
        reason: weinong_api::RejectionBody,
    },
}

openraft::declare_raft_types!(
    /// The node's Raft types.
    pub TypeConfig:
        D = Proposal,
        R = BlockResult,
        NodeId = NodeId,
        Node = PeerNode,
        Entry = openraft::Entry<TypeConfig>,
        SnapshotData = Cursor<Vec<u8>>,
        AsyncRuntime = openraft::TokioRuntime,
);

/// The node's Raft handle.
pub type Raft = openraft::Raft<TypeConfig>;
