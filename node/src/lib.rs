//! `weinong-node`: the department node.
//!
//! Owns: the node's TOML configuration ([`config`]); the peer-to-peer layer over libp2p
//! (TCP + Noise + Yamux) where only consortium members and auditors, each bound to its
//! ledger key, may connect ([`p2p`]); Raft ordering with openraft among the voting
//! department nodes, its RocksDB log ([`raft`]) and its RPCs over p2p ([`raft_network`]);
//! the replicated state machine that turns
//! committed proposals into blocks through `weinong-contracts`, collects every member's
//! signature on each header and stores the commit certificate ([`chain`]); the HTTP API
//! with its OpenAPI document and signed requests ([`api`]); three-party MPC sessions over
//! the p2p layer's streams, running `weinong-mpc`'s engine on a blocking thread
//! ([`mpc_session`]); the assessment driver that takes each committed request through
//! consent, access record, inputs, MPC and sealed output shares ([`assess`]), kept on disk
//! until fetched ([`results`]); the admins' pending governance proposals, off the ledger
//! ([`proposals`]); counters, latency histograms and readiness ([`metrics`]);
//! and [`run`], which wires them. Modules import only from lower layers
//! (`tests/layers.rs`).
//!
//! Must not know: how models are evaluated (that is `weinong-mpc`), how department rows
//! become features (`weinong-connectors`), or anything about the CLI: clients speak HTTP
//! only and link nothing of this crate. The daemon is this crate's own binary,
//! `weinong-node` (`src/main.rs`), which `weinong devnet` spawns per node.
//!
//! Invariants: a transaction is acknowledged only after the block holding it is committed
//! by Raft (durable on a majority) and applied here; only transactions the contracts
//! accept enter a block; every block a node stores carries a commit certificate from a
//! quorum of members over the header it computed itself.

#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::panic, clippy::cast_possible_truncation)
)]

pub mod api;
pub mod assess;
pub mod backup;
pub mod categories;
pub mod chain;
pub mod config;
pub mod limits;
pub mod metrics;
pub mod mpc_session;
pub mod p2p;
pub mod policy_results;
pub mod proposals;
pub mod psi_session;
pub mod raft;
pub mod raft_network;
pub mod results;
pub mod run;
pub mod shared;
pub mod submit;
pub mod wire;
