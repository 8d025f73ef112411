//! `weinong-ledger`: what auditors trust.
//!
//! Owns: the consortium's canonical encoding ([`codec`]: the one writer and reader, used by
//! the contracts' payloads too); signed [`Transaction`]s; the append-only Merkle log
//! hashed as RFC 9162 with SM3 ([`merkle`]); inclusion and consistency proofs; block
//! headers, [`CommitCertificate`]s, [`SignedTreeHead`]s and [`Equivocation`] evidence; the
//! RocksDB store (feature `store`, on by default); and the offline verifier with its JSON
//! proof [`bundle`].
//!
//! Must not know: what a transaction *means* (the contracts crate defines kinds and
//! payloads), networking, consensus, tokio, or the wall clock. With
//! `--no-default-features` this crate links no RocksDB, so an auditor's tool stays small.
//!
//! Invariant: every byte that is signed or hashed comes from the canonical encodings
//! documented in [`tx`] and [`block`] (type tag, version, big-endian fields, no trailing
//! bytes), never from serde.

#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::panic, clippy::cast_possible_truncation)
)]

pub mod block;
pub mod bundle;
pub mod codec;
pub mod error;
mod hash;
pub mod limits;
pub mod merkle;
#[cfg(feature = "store")]
pub mod store;
pub mod tx;

pub use block::{
    BlockHeader, CommitCertificate, Equivocation, MemberChange, MemberSet, MemberSignature,
    SignedTreeHead, TreeHead, follow_member_changes, verify_chain,
};
pub use error::{DecodeError, VerifyError};
pub use hash::{BlockHash, Hash32, TxHash};
pub use tx::{Transaction, TxBody, TxKind};

/// The ledger's log digest.
pub type LogDigest = merkle::Sm3;
