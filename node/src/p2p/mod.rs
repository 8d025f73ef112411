//! `p2p`: the node's peer-to-peer layer over libp2p, where only consortium members talk.
//!
//! Owns: the libp2p swarm (TCP + Noise + Yamux), the binding of each peer's libp2p identity
//! to its SM2 ledger key, typed request-response between members addressed by [`KeyId`]
//! (protocol [`NODE_PROTOCOL`], CBOR), raw bidirectional streams for MPC sessions
//! (`/weinong/mpc/1`) and PSI steps (`/weinong/psi/1`), the dial loop, and the libp2p identity file.
//!
//! Must not know: what the messages mean (Raft RPCs, forwarded transactions and commit votes
//! are the caller's `Req`/`Resp`), the ledger's state (membership arrives through the
//! caller's [`PeerAuthority`]), or MPC protocols (streams are bytes).
//!
//! # How a peer is admitted
//!
//! 1. Noise authenticates the connection's libp2p peer id (an ed25519 key kept in a 0600
//!    file, [`load_or_create_identity`]).
//! 2. On the first connection to a peer each side sends a [`binding::Binding`] on
//!    `/weinong/hello/1`: its SM2 public key, its peer id, and an SM2 signature over
//!    `"weinong-p2p-binding-v1" ‖ consortium id ‖ peer id bytes`.
//! 3. The receiver accepts it only if the peer id in it is the connection's
//!    Noise-authenticated one (a copied binding is useless), the authority admits the key
//!    id, the ledger's key for that id is the presented key, and (checked last, being the
//!    costly part) the signature verifies. It answers
//!    `Accepted` or `Refused(reason)`; on refusal it closes the connection once the answer
//!    is sent. A peer that has not completed the exchange within
//!    [`limits::HELLO_TIMEOUT`] is closed.
//! 4. The acceptance carries a random ticket ([`ticket`]) that the peer puts in front of
//!    every request it sends here; the codec reads a request past its first 16 bytes only
//!    if they are a ticket this node issued, so a connection without an accepted binding
//!    never makes the node buffer a message body.
//! 5. Requests and MPC streams from a connection whose binding was not accepted are refused
//!    ([`Refusal::NotAuthenticated`]) and never delivered; each request re-checks
//!    `admits`, and every [`limits::REDIAL_INTERVAL`] the task closes peers whose key is no
//!    longer admitted. A peer counts in [`P2p::peers`] once both sides accepted each other,
//!    and only then does [`P2p::request`] or [`P2p::open_stream`] send to it, so the other
//!    side has always authenticated the sender before its first request arrives.
//!
//! # Delivery and limits
//!
//! Connections: at most [`limits::PENDING_INCOMING_MAX`] incoming handshakes at once, at
//! most [`limits::ESTABLISHED_PER_PEER_MAX`] connections per peer id, and at most
//! [`limits::UNAUTHENTICATED_CONNECTIONS_MAX`] connections without an accepted binding
//! (the oldest is closed when another arrives).
//!
//! Inbound requests go to a bounded queue ([`limits::INBOUND_QUEUE_LEN`]); when it is full
//! the requester is refused with [`Refusal::Busy`] instead of queueing without bound. A
//! handler that drops the reply sender makes the requester fail with [`Refusal::NoReply`];
//! one that does not answer within `request_timeout` with [`Refusal::ReplyTimeout`]. A
//! request over `max_message_bytes` fails before sending with [`P2pError::TooLarge`]; a
//! response over it is replaced by a refusal the requester reads as `TooLarge`. The dial
//! loop retries every configured address that is not connected every second, so a
//! restarted peer is reconnected without anyone asking.
//!
//! Invariants: nothing from a peer reaches [`Inbound`] or [`IncomingStreams`] unless its
//! binding was accepted on a connection whose Noise identity it names and its key is
//! admitted; every queue and message is bounded; a request always ends (reply, refusal,
//! timeout or error), never hangs.

mod binding;
pub mod bytes;
mod codec;
mod error;
mod identity;
pub mod limits;
mod task;
#[cfg(test)]
mod tests;
#[cfg(test)]
pub(crate) mod tests_support;
pub mod ticket;

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures::StreamExt as _;
use libp2p::{Multiaddr, PeerId, Stream, StreamProtocol};
use tokio::sync::{mpsc, oneshot, watch};
use weinong_keys::{KeyId, KeyPair, PublicKey};
use weinong_ledger::Hash32;

pub use binding::{BINDING_DOMAIN, Binding, HelloAck, binding_message};
pub use error::{BindingFault, P2pError, Refusal};
pub use identity::load_or_create_identity;
pub use task::Message;

use task::{Behaviour, Command, NetStatus, Task, TaskSettings};

/// Protocol of the identity-binding exchange (2: the acceptance carries a ticket).
pub const HELLO_PROTOCOL: &str = "/weinong/hello/2";
/// Protocol of typed requests between nodes (2: each request starts with its ticket; 3: a
/// forwarded batch's rejections are typed, `weinong_api::RejectionBody`, so a node of
/// version 2 and one of 3 do not talk past each other during a rolling upgrade).
pub const NODE_PROTOCOL: &str = "/weinong/node/3";
/// Protocol of raw MPC streams.
pub const MPC_PROTOCOL: &str = "/weinong/mpc/1";
/// Protocol of raw PSI streams (one two-party step of a policy run).
pub const PSI_PROTOCOL: &str = "/weinong/psi/1";

/// How to run the p2p layer.
pub struct P2pConfig {
    /// Listen address, e.g. `/ip4/127.0.0.1/tcp/7101` (`tcp/0` picks a free port).
    pub listen: Multiaddr,
    /// Peers' addresses; each is redialed every second while not connected. An address may
    /// end in `/p2p/<peer id>`; this node's own address is skipped.
    pub dial: Vec<Multiaddr>,
    /// The libp2p identity (ed25519), persisted by the caller ([`load_or_create_identity`]).
    pub identity: libp2p::identity::Keypair,
    /// This node's SM2 ledger key; it signs the identity binding.
    pub member_key: Arc<KeyPair>,
    /// The consortium id; bindings are valid in this consortium only.
    pub consortium: Hash32,
    /// Largest encoded request or response in bytes (Raft batches can be several MiB).
    pub max_message_bytes: usize,
    /// How long a request may wait for its response (also the responder's handler limit).
    pub request_timeout: Duration,
}

/// Who may connect, decided from the ledger state by the caller.
pub trait PeerAuthority: Send + Sync + 'static {
    /// Whether the key may connect now (asked on connect, on every request, every second).
    fn admits(&self, key: &KeyId) -> bool;
    /// The ledger's public key for `key`, if it knows one.
    fn public_key(&self, key: &KeyId) -> Option<PublicKey>;
}

/// One request from an authenticated peer. Answer through `reply`; dropping it makes the
/// requester fail with [`Refusal::NoReply`].
pub struct Inbound<Req, Resp> {
    /// The requester's ledger key id (its binding was accepted and the key is admitted).
    pub from: KeyId,
    /// The request.
    pub request: Req,
    /// Where the response goes.
    pub reply: oneshot::Sender<Resp>,
}

/// Authenticated incoming MPC streams, each tagged with the opener's ledger key id.
pub struct IncomingStreams {
    streams: mpsc::Receiver<(KeyId, Stream)>,
}

impl IncomingStreams {
    /// The next stream; `None` once the p2p layer stopped.
    pub async fn next(&mut self) -> Option<(KeyId, Stream)> {
        self.streams.recv().await
    }
}

impl futures::Stream for IncomingStreams {
    type Item = (KeyId, Stream);

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.streams.poll_recv(cx)
    }
}

/// A handle to the p2p task; clones share it.
pub struct P2p<Req, Resp> {
    inner: Arc<Handle<Req, Resp>>,
}

impl<Req, Resp> Clone for P2p<Req, Resp> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

struct Handle<Req, Resp> {
    commands: mpsc::Sender<Command<Req, Resp>>,
    status: watch::Receiver<NetStatus>,
    control: libp2p_stream::Control,
    local_peer_id: PeerId,
    request_timeout: Duration,
}

/// Test-only changes to how a node behaves (a misbehaving peer, a tiny queue).
pub(crate) struct Hooks {
    /// Present this binding instead of our own.
    pub binding: Option<Binding>,
    /// Inbound queue length instead of [`limits::INBOUND_QUEUE_LEN`].
    pub inbound_queue_len: usize,
}

impl Default for Hooks {
    fn default() -> Self {
        Self {
            binding: None,
            inbound_queue_len: limits::INBOUND_QUEUE_LEN,
        }
    }
}

impl<Req: Message, Resp: Message> P2p<Req, Resp> {
    /// Starts listening and dialing; returns the handle and the inbound request queue.
    ///
    /// Returns once the listener has its address (so [`Self::listen_addrs`] is known).
    /// Must be called within a tokio runtime.
    pub async fn start(
        cfg: P2pConfig,
        authority: Arc<dyn PeerAuthority>,
    ) -> Result<(Self, mpsc::Receiver<Inbound<Req, Resp>>), P2pError> {
        Self::start_with(cfg, authority, Hooks::default()).await
    }

    pub(crate) async fn start_with(
        cfg: P2pConfig,
        authority: Arc<dyn PeerAuthority>,
        hooks: Hooks,
    ) -> Result<(Self, mpsc::Receiver<Inbound<Req, Resp>>), P2pError> {
        if cfg.max_message_bytes < limits::MESSAGE_BYTES_MIN {
            return Err(P2pError::Config(format!(
                "max_message_bytes is {}, below the minimum of {}",
                cfg.max_message_bytes,
                limits::MESSAGE_BYTES_MIN
            )));
        }
        if cfg.request_timeout.is_zero() {
            return Err(P2pError::Config("request_timeout must not be zero".into()));
        }
        let message_bytes_max = u64::try_from(cfg.max_message_bytes)
            .map_err(|_| P2pError::Config("max_message_bytes does not fit in 64 bits".into()))?;
        let local_peer_id = cfg.identity.public().to_peer_id();
        let binding = hooks
            .binding
            .unwrap_or_else(|| Binding::sign(&cfg.member_key, &cfg.consortium, &local_peer_id));
        check_port_free(&cfg.listen)?;
        let book = ticket::TicketBook::default();
        let behaviour = Behaviour::new(message_bytes_max, cfg.request_timeout, book.clone());
        let control = behaviour.stream_control();
        let mut swarm = task::build_swarm(cfg.identity, behaviour)?;
        swarm
            .listen_on(cfg.listen.clone())
            .map_err(|e| P2pError::Listen {
                addr: cfg.listen.clone(),
                reason: e.to_string(),
            })?;

        let (commands_tx, commands_rx) = mpsc::channel(limits::COMMAND_QUEUE_LEN);
        let (inbound_tx, inbound_rx) = mpsc::channel(hooks.inbound_queue_len.max(1));
        let (status_tx, status_rx) = watch::channel(NetStatus::default());
        let (started_tx, started_rx) = oneshot::channel();
        let settings = TaskSettings {
            consortium: cfg.consortium,
            book,
            binding,
            dial: cfg.dial,
            request_timeout: cfg.request_timeout,
        };
        let task = Task::new(
            swarm,
            settings,
            authority,
            inbound_tx,
            status_tx,
            started_tx,
            cfg.listen.clone(),
        );
        tokio::spawn(task.run(commands_rx));

        let listening = tokio::time::timeout(limits::LISTEN_TIMEOUT, started_rx).await;
        let handle = Self {
            inner: Arc::new(Handle {
                commands: commands_tx,
                status: status_rx,
                control,
                local_peer_id,
                request_timeout: cfg.request_timeout,
            }),
        };
        let failure = match listening {
            Ok(Ok(Ok(()))) => return Ok((handle, inbound_rx)),
            Ok(Ok(Err(error))) => error,
            Ok(Err(_)) => P2pError::Stopped,
            Err(_) => P2pError::Listen {
                addr: cfg.listen,
                reason: format!(
                    "no listen address within {} s",
                    limits::LISTEN_TIMEOUT.as_secs()
                ),
            },
        };
        handle.shutdown().await;
        Err(failure)
    }

    /// Sends `request` to the member with ledger key `to` and waits for its response.
    ///
    /// Fails at once with [`P2pError::NotConnected`] (or the peer's last
    /// [`P2pError::Refused`]) unless the peer is in [`Self::peers`].
    pub async fn request(&self, to: &KeyId, request: Req) -> Result<Resp, P2pError> {
        let (reply, response) = oneshot::channel();
        self.inner
            .commands
            .send(Command::Request {
                to: *to,
                request,
                reply,
            })
            .await
            .map_err(|_| P2pError::Stopped)?;
        response.await.map_err(|_| P2pError::Stopped)?
    }

    /// Ledger key ids of the peers connected and authenticated both ways.
    pub fn peers(&self) -> Vec<KeyId> {
        self.inner.status.borrow().ready.keys().copied().collect()
    }

    /// Waits until `key` is in [`Self::peers`]; fails with its refusal if it refused us,
    /// or with [`P2pError::NotConnected`] after `timeout`.
    pub async fn wait_connected(&self, key: &KeyId, timeout: Duration) -> Result<(), P2pError> {
        let mut status = self.inner.status.clone();
        let outcome = tokio::time::timeout(
            timeout,
            status.wait_for(|s| s.ready.contains_key(key) || s.refused.contains_key(key)),
        )
        .await;
        match outcome {
            Err(_) => Err(P2pError::NotConnected(*key)),
            Ok(Err(_)) => Err(P2pError::Stopped),
            Ok(Ok(s)) => match s.refused.get(key) {
                Some(reason) if !s.ready.contains_key(key) => Err(P2pError::Refused {
                    peer: *key,
                    reason: reason.clone(),
                }),
                _ => Ok(()),
            },
        }
    }

    /// This node's libp2p peer id.
    pub fn local_peer_id(&self) -> PeerId {
        self.inner.local_peer_id
    }

    /// The addresses the listener has (with the real port when the config said `tcp/0`).
    pub fn listen_addrs(&self) -> Vec<Multiaddr> {
        self.inner.status.borrow().listen_addrs.clone()
    }

    /// Stops the task: closes the listener and every connection. Pending and later requests
    /// fail with [`P2pError::Stopped`]. Returns once the swarm is gone.
    pub async fn shutdown(&self) {
        let (done, stopped) = oneshot::channel();
        if self
            .inner
            .commands
            .send(Command::Shutdown { done })
            .await
            .is_ok()
        {
            // An error means the task already ended, which is what we wait for.
            stopped.await.ok();
        }
    }

    /// Opens a raw bidirectional stream to `to` on [`MPC_PROTOCOL`].
    pub async fn open_stream(&self, to: &KeyId) -> Result<Stream, P2pError> {
        self.open_stream_on(to, MPC_PROTOCOL).await
    }

    /// Opens a raw bidirectional stream to `to` on `protocol` ([`MPC_PROTOCOL`] or
    /// [`PSI_PROTOCOL`]).
    pub async fn open_stream_on(
        &self,
        to: &KeyId,
        protocol: &'static str,
    ) -> Result<Stream, P2pError> {
        let peer = self.ready_peer(to)?;
        let mut control = self.inner.control.clone();
        let opened = tokio::time::timeout(
            self.inner.request_timeout,
            control.open_stream(peer, StreamProtocol::new(protocol)),
        )
        .await;
        match opened {
            Ok(Ok(stream)) => Ok(stream),
            Ok(Err(libp2p_stream::OpenStreamError::UnsupportedProtocol(_))) => {
                Err(P2pError::UnsupportedProtocol {
                    peer: *to,
                    protocol,
                })
            }
            Ok(Err(libp2p_stream::OpenStreamError::Io(source))) => {
                Err(P2pError::Io { peer: *to, source })
            }
            Ok(Err(other)) => Err(P2pError::Io {
                peer: *to,
                source: std::io::Error::other(other.to_string()),
            }),
            Err(_) => Err(P2pError::Timeout {
                peer: *to,
                after_ms: u64::try_from(self.inner.request_timeout.as_millis()).unwrap_or(u64::MAX),
            }),
        }
    }

    /// Starts accepting MPC streams; only streams from peers whose binding this node
    /// accepted are yielded, tagged with their key id (others are closed). May be called
    /// once; must be called within a tokio runtime. Until it is called, a peer's stream
    /// fails at its first read or write (protocol negotiation is lazy).
    pub fn incoming_streams(&self) -> Result<IncomingStreams, P2pError> {
        self.incoming_streams_on(MPC_PROTOCOL)
    }

    /// As [`Self::incoming_streams`], for `protocol`; may be called once per protocol.
    pub fn incoming_streams_on(&self, protocol: &'static str) -> Result<IncomingStreams, P2pError> {
        let mut control = self.inner.control.clone();
        let raw = control
            .accept(StreamProtocol::new(protocol))
            .map_err(|_| P2pError::StreamsTaken)?;
        let (streams_tx, streams_rx) = mpsc::channel(limits::INCOMING_STREAMS_QUEUE_LEN);
        tokio::spawn(forward_streams(raw, self.inner.status.clone(), streams_tx));
        Ok(IncomingStreams {
            streams: streams_rx,
        })
    }

    fn ready_peer(&self, to: &KeyId) -> Result<PeerId, P2pError> {
        let status = self.inner.status.borrow();
        if let Some(peer) = status.ready.get(to) {
            return Ok(*peer);
        }
        Err(match status.refused.get(to) {
            Some(reason) => P2pError::Refused {
                peer: *to,
                reason: reason.clone(),
            },
            None => P2pError::NotConnected(*to),
        })
    }
}

/// Fails if another socket listens on `listen`'s TCP port. libp2p listens with
/// `SO_REUSEPORT`, so a second node configured on the same port would otherwise share it
/// silently with the first.
fn check_port_free(listen: &Multiaddr) -> Result<(), P2pError> {
    use libp2p::multiaddr::Protocol;
    let mut ip = None;
    let mut port = None;
    for component in listen.iter() {
        match component {
            Protocol::Ip4(v4) => ip = Some(std::net::IpAddr::V4(v4)),
            Protocol::Ip6(v6) => ip = Some(std::net::IpAddr::V6(v6)),
            Protocol::Tcp(p) => port = Some(p),
            _ => {}
        }
    }
    let (Some(ip), Some(port)) = (ip, port) else {
        return Ok(());
    };
    if port == 0 {
        return Ok(());
    }
    // The probe closes at once; libp2p binds right after it.
    std::net::TcpListener::bind((ip, port))
        .map(drop)
        .map_err(|e| P2pError::Listen {
            addr: listen.clone(),
            reason: format!("{e} (is another node using this port?)"),
        })
}

/// Passes on streams from authenticated peers until the consumer or the p2p task stops.
async fn forward_streams(
    mut raw: libp2p_stream::IncomingStreams,
    mut status: watch::Receiver<NetStatus>,
    streams: mpsc::Sender<(KeyId, Stream)>,
) {
    loop {
        tokio::select! {
            () = streams.closed() => break,
            changed = status.changed() => if changed.is_err() { break },
            next = raw.next() => {
                let Some((peer, stream)) = next else { break };
                let key = status.borrow().authenticated.get(&peer).copied();
                let Some(key) = key else {
                    // Dropping the stream closes it: nothing reaches the consumer.
                    tracing::warn!(%peer, "refusing an MPC stream from an unauthenticated peer");
                    continue;
                };
                match streams.try_send((key, stream)) {
                    Ok(()) => {}
                    Err(mpsc::error::TrySendError::Full(_)) => {
                        tracing::warn!(%key, "incoming MPC stream queue full; closing the stream");
                    }
                    Err(mpsc::error::TrySendError::Closed(_)) => break,
                }
            }
        }
    }
}
