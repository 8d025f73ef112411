//! `weinong-audit`: the checks an auditor and a requester make on what the consortium
//! serves, as libraries with typed results; they build natively and for
//! `wasm32-unknown-unknown` (a browser or Node checks a bundle with the same code).
//!
//! Owns:
//! - the lines a single-transaction proof bundle's verification prints ([`proof`]);
//! - the request bundle's parsing types ([`bundle`], `weinong-request-bundle/1`) and its
//!   verification ([`verify_request_bundle`]) into a [`Report`]: one [`Check`] per fact,
//!   each with its outcome and evidence (transaction hashes, heights, key ids, hashes);
//! - the requester's receipt ([`receipt`], `weinong-assessment-receipt/1`): the
//!   commitment to a result and its opening;
//! - the requester's checks on the three sealed output shares before any is used
//!   ([`requester`]: signatures, standing of the signers, bindings; then SM2 opening).
//!
//! Must not know: files, the network, HTTP, the terminal, the clock or a database. The
//! callers (`weinong audit verify`, `weinong assess`, the `weinong-audit` verifier binary,
//! a WebAssembly page) read the files or fetch the answers, pass the bytes in, and print
//! the report ([`Check::line`]). Depends only on `weinong-keys`, the verifier build of
//! `weinong-ledger` (no RocksDB) and `weinong-contracts`; `apps/tests/architecture.rs`
//! holds it to that.
//!
//! # What a request bundle's verification checks
//!
//! Two layers. The proofs: the ledger verifier checks every transaction's signature, its
//! inclusion in the log of the block that holds it, that block's header chain to a head
//! certified by a quorum of the genesis members, and the co-signed tree head
//! (`weinong-bundle-set/1`). The story: each payload is decoded with the contracts' codec
//! and the consent rules are replayed: one request with that id; the model's
//! registration; every access names the request and its subject, under a consent in the
//! bundle granted to the requester for the request's purpose and categories, valid at
//! the access's block time and not withdrawn before it in the log; the accesses cover
//! every category the model reads before a result; the result is signed by the requester
//! and, with a receipt, opens to the recorded commitment. A batch request's bundle holds
//! its list parts (checked: every part, in order, one signer, one ascending list) and the
//! departments' batch accesses; the per-subject consent grants the contracts found are
//! not in it (a batch may list a million subjects). The bundle's optional `shares`
//! section holds the departments' signatures over the sealed output shares the node holds
//! (party, signer key id, SM3 of the ciphertext, signature): each is checked against the
//! signer's key (a genesis member's, or the proven signer of an access in the bundle),
//! the signer must be the key that recorded that party's department's access where one is
//! in the bundle, no key signs twice, and the signature must verify over the share
//! message for this consortium, request and model. A bundle without the section (older
//! nodes) says so and passes (the check is not applicable).

#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::panic, clippy::cast_possible_truncation)
)]

pub mod bundle;
mod error;
pub mod proof;
pub mod receipt;
pub mod report;
pub mod requester;
mod verify;

pub use bundle::{REQUEST_BUNDLE_FORMAT, RequestBundle, ShareSignature, is_request_bundle};
pub use error::AuditError;
pub use receipt::{RECEIPT_FORMAT, Receipt};
pub use report::{Check, CheckOutcome, Evidence, Report};
pub use verify::{PinnedGenesis, verify_request_bundle};
