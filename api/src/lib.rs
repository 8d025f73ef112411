//! The one typed contract between a Weinong node and its clients: the HTTP API's wire
//! types, its error codes, and (feature `client`) a typed, signed async client.
//!
//! # What it owns
//!
//! - [`dto`]: every JSON body a route takes or answers, with its OpenAPI schema (the node's
//!   OpenAPI document is generated from these types), and the conversions from ledger and
//!   contract types that need nothing else.
//! - [`bundle`]: the request bundle, with its format string
//!   (one definition, shared by the node, the CLI and every offline verifier).
//! - [`error`]: the closed list of error codes ([`ErrorCode`], stable names and numbers)
//!   and the error body; [`rejection`]: a contract refusal as code, fields and message;
//!   [`outcome`]: what happened to a submitted transaction.
//! - [`client`] (feature `client`, on by default): requests signed under
//!   `weinong_keys::request_auth` for one node, retries on `Retry-After`, typed methods for
//!   the routes, and signing, nonces and submission of contract calls.
//!
//! # What it must not know
//!
//! The node's internals: no Raft, libp2p, HTTP server, RocksDB store or node state. It
//! depends on `weinong-keys`, `weinong-ledger` (the verifier build, without its store) and
//! `weinong-contracts` only, so its wire types build for WebAssembly without the client
//! (`--no-default-features`). Conversions that need the node's state stay in the node.

#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::panic, clippy::cast_possible_truncation)
)]

pub mod bundle;
#[cfg(feature = "client")]
pub mod client;
pub mod dto;
pub mod error;
pub mod outcome;
pub mod proposal;
pub mod rejection;

pub use bundle::{REQUEST_BUNDLE_FORMAT, RequestBundleBody, ShareSignatureBody};
pub use error::{ErrorBody, ErrorCode};
pub use outcome::SubmitOutcome;
pub use rejection::{RejectionBody, RejectionCode};
