//! The p2p layer's errors ([`P2pError`]) and the refusals a peer sends back ([`Refusal`]).
//!
//! Every error names the peer (by ledger key id) or the file it concerns and what to do.

use std::path::PathBuf;

use libp2p::Multiaddr;
use serde::{Deserialize, Serialize};
use weinong_keys::KeyId;

/// Why a peer's identity binding was rejected (sent back in [`Refusal::Binding`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum BindingFault {
    /// The SM2 public key is not a point on the curve.
    #[error("the SM2 public key in the binding is malformed")]
    MalformedKey,
    /// The binding names a different libp2p peer id than the one Noise authenticated.
    #[error("the binding names another libp2p peer id than this connection's")]
    PeerIdMismatch,
    /// The signature is not 64 bytes `r‖s`.
    #[error("the binding signature is malformed")]
    MalformedSignature,
    /// The signature does not verify under the presented key (or another consortium).
    #[error("the binding signature does not verify (wrong key or another consortium)")]
    BadSignature,
    /// The ledger's membership knows this key id with another public key.
    #[error("the presented SM2 key differs from the ledger's key for that key id")]
    KeyMismatch,
}

/// Why a peer refused a hello or a request; travels on the wire.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum Refusal {
    /// The request came on a connection whose identity binding was not (yet) accepted.
    #[error("this connection has not presented an accepted identity binding")]
    NotAuthenticated,
    /// The key is not (or no longer) admitted by the ledger's membership.
    #[error("the ledger key is not admitted by the consortium's membership")]
    NotAdmitted,
    /// The identity binding was rejected.
    #[error("identity binding rejected: {0}")]
    Binding(BindingFault),
    /// The peer's inbound queue is full; retry later.
    #[error("the peer is busy (its inbound queue is full); retry later")]
    Busy,
    /// The peer's request consumer has stopped (it is shutting down).
    #[error("the peer is not serving requests (it is shutting down)")]
    NotServing,
    /// The peer's handler dropped the request without replying.
    #[error("the peer's handler dropped the request without replying")]
    NoReply,
    /// The peer's handler did not reply within its request timeout.
    #[error("the peer's handler did not reply in time")]
    ReplyTimeout,
    /// The response would exceed the responder's message limit.
    #[error("the response of {len} bytes exceeds the peer's limit of {max} bytes")]
    ResponseTooLarge {
        /// Encoded response length in bytes.
        len: u64,
        /// The responder's limit in bytes.
        max: u64,
    },
}

/// Errors of the p2p layer.
#[derive(Debug, thiserror::Error)]
pub enum P2pError {
    /// The peer is not connected and authenticated (yet).
    #[error(
        "peer {0} is not connected and authenticated; check that it runs, that its address \
         is among the dialed peers and that its key is a member"
    )]
    NotConnected(KeyId),
    /// No response within the request timeout.
    #[error("peer {peer} did not respond within {after_ms} ms")]
    Timeout {
        /// The peer asked.
        peer: KeyId,
        /// The timeout in milliseconds.
        after_ms: u64,
    },
    /// The peer refused (see [`Refusal`]).
    #[error("peer {peer} refused: {reason}")]
    Refused {
        /// The refusing peer.
        peer: KeyId,
        /// Its reason.
        reason: Refusal,
    },
    /// A request or response over `max_message_bytes`.
    #[error("the {what} for peer {peer} is {len} bytes, over the limit of {max} bytes")]
    TooLarge {
        /// The peer concerned.
        peer: KeyId,
        /// `"request"` or `"response"`.
        what: &'static str,
        /// Encoded length in bytes (at least `max + 1` when read off the wire).
        len: u64,
        /// The limit in bytes.
        max: u64,
    },
    /// The connection closed before the response arrived; the peer may or may not have
    /// processed the request.
    #[error("the connection to peer {peer} closed before its response arrived")]
    ConnectionClosed {
        /// The peer.
        peer: KeyId,
    },
    /// The peer does not speak the protocol.
    #[error("peer {peer} does not support protocol {protocol}")]
    UnsupportedProtocol {
        /// The peer.
        peer: KeyId,
        /// The protocol name.
        protocol: &'static str,
    },
    /// Input/output failure on a stream with the peer.
    #[error("i/o with peer {peer} failed: {source}")]
    Io {
        /// The peer.
        peer: KeyId,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {reason}")]
    Listen {
        /// The configured address.
        addr: Multiaddr,
        /// Why.
        reason: String,
    },
    /// The libp2p identity file could not be read, created or decoded.
    #[error("libp2p identity file {}: {reason}", path.display())]
    Identity {
        /// The file.
        path: PathBuf,
        /// What is wrong and what to do.
        reason: String,
    },
    /// The configuration is unusable.
    #[error("invalid p2p configuration: {0}")]
    Config(String),
    /// The transport could not be built.
    #[error("cannot build the libp2p transport: {0}")]
    Transport(String),
    /// Incoming MPC streams were already taken by another consumer.
    #[error(
        "incoming streams of this protocol are already being consumed; accept each protocol once"
    )]
    StreamsTaken,
    /// The p2p task has stopped.
    #[error("the p2p layer has stopped (the node is shutting down)")]
    Stopped,
}
