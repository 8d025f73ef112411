//! Named limits of the p2p layer: every queue, wait and message here has a bound.

use std::time::Duration;

/// How often the dial loop retries addresses from the config that are not connected.
pub const REDIAL_INTERVAL: Duration = Duration::from_secs(1);

/// How long a connected peer has to present a valid identity binding (and to answer ours)
/// before the connection is closed. Until then nothing from it is delivered.
pub const HELLO_TIMEOUT: Duration = Duration::from_secs(10);

/// Largest encoded hello message (binding or acknowledgement). A binding is ~200 bytes.
pub const HELLO_BYTES_MAX: u64 = 4 * 1024;

/// Inbound requests waiting for the consumer of [`super::P2p::start`]'s receiver. When it is
/// full, further requests are refused with [`super::Refusal::Busy`] instead of queueing.
pub const INBOUND_QUEUE_LEN: usize = 1024;

/// Commands (outbound requests, shutdown) waiting for the swarm task; senders wait when full.
pub const COMMAND_QUEUE_LEN: usize = 1024;

/// Authenticated incoming MPC streams waiting for their consumer; more are dropped (closed).
pub const INCOMING_STREAMS_QUEUE_LEN: usize = 64;

/// Concurrent request-response streams per connection and protocol (libp2p's default is 100).
pub const STREAMS_PER_CONNECTION_MAX: usize = 256;

/// A connection with no open stream is kept this long. Members stay connected between Raft
/// heartbeats; a dead peer is noticed when TCP closes or a request times out.
pub const IDLE_CONNECTION_TIMEOUT: Duration = Duration::from_secs(3600);

/// How long [`super::P2p::start`] waits for the listener to report its address.
pub const LISTEN_TIMEOUT: Duration = Duration::from_secs(10);

/// Smallest accepted `max_message_bytes`: a request or response envelope must fit.
pub const MESSAGE_BYTES_MIN: usize = 1024;

/// Incoming connections still in their handshake (TCP accepted, Noise not finished) at once;
/// more are refused until one completes.
pub const PENDING_INCOMING_MAX: u32 = 64;

/// Connections to one peer id at once (two members dial each other, and a restart may
/// briefly overlap the old connection).
pub const ESTABLISHED_PER_PEER_MAX: u32 = 4;

/// Connections of peers that have not (yet) presented an accepted identity binding. When
/// another arrives the oldest is closed: a flood of strangers holds at most this many, each
/// costing the node a Noise session, a Yamux session and 16 bytes per stream it opens (see
/// [`super::ticket`]).
pub const UNAUTHENTICATED_CONNECTIONS_MAX: usize = 64;
