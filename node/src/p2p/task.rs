//! The swarm task: owns the libp2p `Swarm`, runs the hello (identity binding) exchange,
//! gates every inbound request on an accepted binding, redials the configured addresses
//! and publishes who is connected.
//!
//! Must not know: what requests mean (Raft, transactions, votes), the ledger, or MPC.
//! Everything it learns about membership comes through [`PeerAuthority`].

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt as _;
use futures::future::BoxFuture;
use futures::stream::FuturesUnordered;
use libp2p::multiaddr::Protocol;
use libp2p::request_response::{
    self, InboundFailure, OutboundFailure, OutboundRequestId, ProtocolSupport, ResponseChannel,
};
use libp2p::swarm::dial_opts::{DialOpts, PeerCondition};
use libp2p::swarm::{ConnectionId, DialError, NetworkBehaviour, SwarmEvent};
use libp2p::{Multiaddr, PeerId, StreamProtocol, Swarm};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::{mpsc, oneshot, watch};
use weinong_keys::KeyId;
use weinong_ledger::Hash32;

use super::binding::{Binding, HelloAck};
use super::codec::{CborCodec, Oversize, Ticketed, TicketedCodec, WireResponse};
use super::error::{P2pError, Refusal};
use super::limits::{
    ESTABLISHED_PER_PEER_MAX, HELLO_BYTES_MAX, HELLO_TIMEOUT, IDLE_CONNECTION_TIMEOUT,
    PENDING_INCOMING_MAX, REDIAL_INTERVAL, STREAMS_PER_CONNECTION_MAX,
    UNAUTHENTICATED_CONNECTIONS_MAX,
};
use super::ticket::{Ticket, TicketBook};
use super::{HELLO_PROTOCOL, Inbound, NODE_PROTOCOL, PeerAuthority};

/// Bounds the task's message types need.
pub trait Message: Serialize + DeserializeOwned + Send + std::fmt::Debug + 'static {}
impl<T: Serialize + DeserializeOwned + Send + std::fmt::Debug + 'static> Message for T {}

/// The protocols of one node.
#[derive(NetworkBehaviour)]
pub struct Behaviour<Req: Message, Resp: Message> {
    limits: libp2p::connection_limits::Behaviour,
    hello: request_response::Behaviour<CborCodec<Binding, HelloAck>>,
    node: request_response::Behaviour<TicketedCodec<Req, WireResponse<Resp>>>,
    streams: libp2p_stream::Behaviour,
}

impl<Req: Message, Resp: Message> Behaviour<Req, Resp> {
    pub fn new(message_bytes_max: u64, request_timeout: Duration, book: TicketBook) -> Self {
        // Handshakes in progress and connections per peer id are bounded here; connections
        // that never authenticate are bounded by the task (oldest closed first).
        let limits = libp2p::connection_limits::Behaviour::new(
            libp2p::connection_limits::ConnectionLimits::default()
                .with_max_pending_incoming(Some(PENDING_INCOMING_MAX))
                .with_max_established_per_peer(Some(ESTABLISHED_PER_PEER_MAX)),
        );
        let hello = request_response::Behaviour::with_codec(
            CborCodec::new(HELLO_BYTES_MAX),
            [(StreamProtocol::new(HELLO_PROTOCOL), ProtocolSupport::Full)],
            request_response::Config::default().with_request_timeout(HELLO_TIMEOUT),
        );
        let node = request_response::Behaviour::with_codec(
            TicketedCodec::new(message_bytes_max, book),
            [(StreamProtocol::new(NODE_PROTOCOL), ProtocolSupport::Full)],
            request_response::Config::default()
                .with_request_timeout(request_timeout)
                .with_max_concurrent_streams(STREAMS_PER_CONNECTION_MAX),
        );
        Self {
            limits,
            hello,
            node,
            streams: libp2p_stream::Behaviour::new(),
        }
    }

    pub fn stream_control(&self) -> libp2p_stream::Control {
        self.streams.new_control()
    }
}

/// Builds the swarm: TCP, Noise (authenticates the libp2p identity), Yamux.
pub fn build_swarm<Req: Message, Resp: Message>(
    identity: libp2p::identity::Keypair,
    behaviour: Behaviour<Req, Resp>,
) -> Result<Swarm<Behaviour<Req, Resp>>, P2pError> {
    let swarm = libp2p::SwarmBuilder::with_existing_identity(identity)
        .with_tokio()
        .with_tcp(
            // Raft heartbeats are small and latency-bound: no Nagle delay.
            libp2p::tcp::Config::default().nodelay(true),
            libp2p::noise::Config::new,
            libp2p::yamux::Config::default,
        )
        .map_err(|e| P2pError::Transport(e.to_string()))?
        .with_behaviour(|_| behaviour)
        .map_err(|e| P2pError::Transport(e.to_string()))?
        .with_swarm_config(|c| {
            c.with_idle_connection_timeout(IDLE_CONNECTION_TIMEOUT)
                // Every request opens a Yamux stream; lazy multistream-select sends the
                // request with the protocol proposal instead of waiting a round trip for
                // the answer (halves a small request's latency, see benches/p2p.rs). Both
                // ends are ours and speak the same fixed protocols.
                .with_substream_upgrade_protocol_override(libp2p::core::upgrade::Version::V1Lazy)
        })
        .build();
    Ok(swarm)
}

/// What the handle asks of the task.
pub enum Command<Req, Resp> {
    /// Send a request to an authenticated peer.
    Request {
        to: KeyId,
        request: Req,
        reply: oneshot::Sender<Result<Resp, P2pError>>,
    },
    /// Stop: close every connection and the listener, then answer.
    Shutdown { done: oneshot::Sender<()> },
}

/// What the task publishes for the handles (read through a `watch`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NetStatus {
    /// Addresses the listener reported.
    pub listen_addrs: Vec<Multiaddr>,
    /// Peers whose binding this node accepted: their requests and streams are delivered.
    pub authenticated: BTreeMap<PeerId, KeyId>,
    /// Peers authenticated both ways (we accepted theirs, they accepted ours): requests
    /// and streams can go to them.
    pub ready: BTreeMap<KeyId, PeerId>,
    /// The last refusal each peer sent us, until it accepts us.
    pub refused: BTreeMap<KeyId, Refusal>,
}

/// One connected peer (any number of connections).
struct PeerState {
    connected_at: Instant,
    /// Set once its binding is accepted here.
    key: Option<KeyId>,
    /// It accepted our binding.
    accepted_by_remote: bool,
    /// It refused our binding before we knew its key.
    refused_by_remote: Option<Refusal>,
    /// We refused its binding: close once the refusal is sent and our own hello is
    /// answered (so the peer has learnt who refused it).
    refused_here: bool,
    /// Our refusal has been sent (or could not be).
    refusal_sent: bool,
    /// Our hello to it awaits its answer.
    hello_outstanding: bool,
    /// The ticket it issued us with its acceptance: our requests to it start with it.
    their_ticket: Option<Ticket>,
}

/// One configured address and what the dial loop knows of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum DialState {
    Idle,
    Dialing(ConnectionId),
    Connected(PeerId),
    /// Our own address (a config listing every node): never dialed again.
    Local,
}

/// An outbound request waiting for its response.
struct Pending<Resp> {
    to: KeyId,
    reply: oneshot::Sender<Result<Resp, P2pError>>,
}

type ReplyFuture<Resp> =
    BoxFuture<'static, (ResponseChannel<WireResponse<Resp>>, WireResponse<Resp>)>;

/// Settings of the task that the handle does not need.
pub struct TaskSettings {
    pub consortium: Hash32,
    /// Tickets this node issues (shared with the node protocol's codec).
    pub book: TicketBook,
    pub binding: Binding,
    pub dial: Vec<Multiaddr>,
    pub request_timeout: Duration,
}

/// The task's state.
pub struct Task<Req: Message, Resp: Message> {
    swarm: Swarm<Behaviour<Req, Resp>>,
    settings: TaskSettings,
    authority: Arc<dyn PeerAuthority>,
    peers: HashMap<PeerId, PeerState>,
    dials: Vec<(Multiaddr, DialState)>,
    outbound: HashMap<OutboundRequestId, Pending<Resp>>,
    replies: FuturesUnordered<ReplyFuture<Resp>>,
    inbound: mpsc::Sender<Inbound<Req, Resp>>,
    refused: BTreeMap<KeyId, Refusal>,
    listen_addrs: Vec<Multiaddr>,
    status: watch::Sender<NetStatus>,
    /// Answered once the listener reports its first address (or fails).
    started: Option<oneshot::Sender<Result<(), P2pError>>>,
    listen: Multiaddr,
    dirty: bool,
    /// Connections of peers without an accepted binding, oldest first.
    unauthenticated: VecDeque<(ConnectionId, PeerId)>,
}

impl<Req: Message, Resp: Message> Task<Req, Resp> {
    pub fn new(
        swarm: Swarm<Behaviour<Req, Resp>>,
        settings: TaskSettings,
        authority: Arc<dyn PeerAuthority>,
        inbound: mpsc::Sender<Inbound<Req, Resp>>,
        status: watch::Sender<NetStatus>,
        started: oneshot::Sender<Result<(), P2pError>>,
        listen: Multiaddr,
    ) -> Self {
        let dials = settings
            .dial
            .iter()
            .map(|addr| (addr.clone(), DialState::Idle))
            .collect();
        Self {
            swarm,
            settings,
            authority,
            peers: HashMap::new(),
            dials,
            outbound: HashMap::new(),
            replies: FuturesUnordered::new(),
            inbound,
            refused: BTreeMap::new(),
            listen_addrs: Vec::new(),
            status,
            started: Some(started),
            listen,
            dirty: false,
            unauthenticated: VecDeque::new(),
        }
    }

    /// Runs until shutdown or until every handle is dropped.
    pub async fn run(mut self, mut commands: mpsc::Receiver<Command<Req, Resp>>) {
        let mut tick = tokio::time::interval(REDIAL_INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let done = loop {
            tokio::select! {
                event = self.swarm.select_next_some() => self.on_swarm_event(event),
                command = commands.recv() => match command {
                    Some(Command::Request { to, request, reply }) => {
                        self.on_request_command(to, request, reply);
                    }
                    Some(Command::Shutdown { done }) => break Some(done),
                    None => break None,
                },
                Some((channel, response)) = self.replies.next(), if !self.replies.is_empty() => {
                    self.respond(channel, response);
                }
                _ = tick.tick() => self.on_tick(),
            }
            if self.dirty {
                self.publish();
            }
        };
        tracing::info!(peer_id = %self.swarm.local_peer_id(), "p2p stopping");
        // Dropping the swarm closes the listener and every connection; pending requesters
        // see their reply senders dropped and get `P2pError::Stopped`.
        let Self { swarm, status, .. } = self;
        drop(swarm);
        status.send_replace(NetStatus::default());
        if let Some(done) = done {
            // The caller may have stopped waiting; there is nobody else to tell.
            done.send(()).ok();
        }
    }

    fn publish(&mut self) {
        self.dirty = false;
        let mut next = NetStatus {
            listen_addrs: self.listen_addrs.clone(),
            refused: self.refused.clone(),
            ..NetStatus::default()
        };
        for (peer, state) in &self.peers {
            if let Some(key) = state.key {
                next.authenticated.insert(*peer, key);
                if state.accepted_by_remote {
                    next.ready.insert(key, *peer);
                }
            }
        }
        self.status.send_if_modified(|current| {
            let changed = *current != next;
            if changed {
                *current = next;
            }
            changed
        });
    }

    fn ready_peer(&self, key: &KeyId) -> Option<PeerId> {
        self.peers
            .iter()
            .find(|(_, s)| s.key.as_ref() == Some(key) && s.accepted_by_remote)
            .map(|(peer, _)| *peer)
    }

    fn key_of(&self, peer: &PeerId) -> Option<KeyId> {
        self.peers.get(peer).and_then(|s| s.key)
    }

    /// Closes every connection to `peer` and forgets its binding at once, so nothing more
    /// from it is delivered even before the close completes.
    fn drop_peer(&mut self, peer: PeerId) {
        if let Some(state) = self.peers.get_mut(&peer) {
            state.key = None;
            state.accepted_by_remote = false;
            state.their_ticket = None;
        }
        self.settings.book.revoke(&peer);
        // At once, so the stream filter stops accepting its streams too.
        self.publish();
        if self.swarm.disconnect_peer_id(peer).is_err() {
            tracing::debug!(%peer, "already disconnected");
        }
    }

    // ----- commands -----

    fn on_request_command(
        &mut self,
        to: KeyId,
        request: Req,
        reply: oneshot::Sender<Result<Resp, P2pError>>,
    ) {
        let ready = self.ready_peer(&to).and_then(|peer| {
            let ticket = self.peers.get(&peer).and_then(|s| s.their_ticket)?;
            Some((peer, ticket))
        });
        let Some((peer, ticket)) = ready else {
            let error = match self.refused.get(&to) {
                Some(reason) => P2pError::Refused {
                    peer: to,
                    reason: reason.clone(),
                },
                None => P2pError::NotConnected(to),
            };
            // The requester may have given up; nobody else needs the error.
            reply.send(Err(error)).ok();
            return;
        };
        let id = self
            .swarm
            .behaviour_mut()
            .node
            .send_request(&peer, Ticketed { ticket, request });
        self.outbound.insert(id, Pending { to, reply });
    }

    // ----- swarm events -----

    fn on_swarm_event(&mut self, event: SwarmEvent<BehaviourEvent<Req, Resp>>) {
        match event {
            SwarmEvent::Behaviour(BehaviourEvent::Hello(event)) => self.on_hello_event(event),
            SwarmEvent::Behaviour(BehaviourEvent::Node(event)) => self.on_node_event(event),
            SwarmEvent::Behaviour(BehaviourEvent::Streams(())) => {}
            SwarmEvent::Behaviour(BehaviourEvent::Limits(never)) => match never {},
            SwarmEvent::ConnectionEstablished {
                peer_id,
                connection_id,
                num_established,
                ..
            } => self.on_connected(peer_id, connection_id, num_established.get()),
            SwarmEvent::ConnectionClosed {
                peer_id,
                connection_id,
                num_established,
                cause,
                ..
            } => {
                self.unauthenticated.retain(|(c, _)| *c != connection_id);
                // Other connections to the peer remain: its state stays.
                if num_established == 0 {
                    self.on_disconnected(peer_id, cause.map(|c| c.to_string()));
                }
            }
            SwarmEvent::OutgoingConnectionError {
                connection_id,
                peer_id,
                error,
            } => self.on_dial_failed(connection_id, peer_id, &error),
            SwarmEvent::IncomingConnectionError {
                send_back_addr,
                error,
                ..
            } => {
                tracing::debug!(from = %send_back_addr, %error, "incoming connection failed");
            }
            SwarmEvent::NewListenAddr { address, .. } => {
                tracing::info!(%address, peer_id = %self.swarm.local_peer_id(), "p2p listening");
                self.listen_addrs.push(address);
                // Published before `start` returns, so `listen_addrs` is never empty then.
                self.publish();
                if let Some(started) = self.started.take() {
                    // `start` may have been cancelled; then nobody waits for this.
                    started.send(Ok(())).ok();
                }
            }
            SwarmEvent::ExpiredListenAddr { address, .. } => {
                self.listen_addrs.retain(|a| *a != address);
                self.dirty = true;
            }
            SwarmEvent::ListenerClosed { reason, .. } => {
                let reason = match reason {
                    Ok(()) => "the listener closed".to_string(),
                    Err(e) => e.to_string(),
                };
                self.on_listener_failed(reason);
            }
            SwarmEvent::ListenerError { error, .. } => self.on_listener_failed(error.to_string()),
            _ => {}
        }
    }

    fn on_listener_failed(&mut self, reason: String) {
        tracing::error!(addr = %self.listen, %reason, "p2p listener failed");
        if let Some(started) = self.started.take() {
            let error = P2pError::Listen {
                addr: self.listen.clone(),
                reason,
            };
            // `start` may have been cancelled; then nobody waits for this.
            started.send(Err(error)).ok();
        }
    }

    fn on_connected(&mut self, peer: PeerId, connection: ConnectionId, established: u32) {
        for (_, state) in &mut self.dials {
            if *state == DialState::Dialing(connection) {
                *state = DialState::Connected(peer);
            }
        }
        if self.key_of(&peer).is_none() {
            self.bound_unauthenticated(connection, peer);
        }
        if established != 1 {
            // Already authenticating (or authenticated) over an earlier connection; the
            // binding is about the peer id, which Noise proved for this one too.
            return;
        }
        tracing::debug!(%peer, "connected; exchanging identity bindings");
        self.peers.insert(
            peer,
            PeerState {
                connected_at: Instant::now(),
                key: None,
                accepted_by_remote: false,
                refused_by_remote: None,
                refused_here: false,
                refusal_sent: false,
                hello_outstanding: true,
                their_ticket: None,
            },
        );
        let binding = self.settings.binding.clone();
        self.swarm
            .behaviour_mut()
            .hello
            .send_request(&peer, binding);
    }

    /// Keeps at most [`UNAUTHENTICATED_CONNECTIONS_MAX`] connections of peers without an
    /// accepted binding, closing the oldest: a flood of strangers cannot hold more, and a
    /// member's new connection authenticates within a round trip, long before it is the
    /// oldest.
    fn bound_unauthenticated(&mut self, connection: ConnectionId, peer: PeerId) {
        self.unauthenticated.push_back((connection, peer));
        while self.unauthenticated.len() > UNAUTHENTICATED_CONNECTIONS_MAX {
            let Some((oldest, who)) = self.unauthenticated.pop_front() else {
                break;
            };
            tracing::debug!(peer = %who, "too many unauthenticated connections; closing the oldest");
            self.swarm.close_connection(oldest);
        }
    }

    fn on_disconnected(&mut self, peer: PeerId, cause: Option<String>) {
        self.settings.book.revoke(&peer);
        if let Some(state) = self.peers.remove(&peer) {
            match state.key {
                Some(key) => tracing::info!(%peer, %key, ?cause, "peer disconnected"),
                None => tracing::debug!(%peer, ?cause, "unauthenticated peer disconnected"),
            }
        }
        for (_, state) in &mut self.dials {
            if *state == DialState::Connected(peer) {
                *state = DialState::Idle;
            }
        }
        self.dirty = true;
    }

    fn on_dial_failed(
        &mut self,
        connection: ConnectionId,
        peer: Option<PeerId>,
        error: &DialError,
    ) {
        let local = matches!(error, DialError::LocalPeerId { .. });
        for (addr, state) in &mut self.dials {
            if *state == DialState::Dialing(connection) {
                if local {
                    tracing::info!(%addr, "configured peer address is this node; not dialing it");
                    *state = DialState::Local;
                } else {
                    tracing::debug!(%addr, ?peer, %error, "dial failed; retrying");
                    *state = DialState::Idle;
                }
            }
        }
    }

    // ----- hello protocol -----

    fn on_hello_event(&mut self, event: request_response::Event<Binding, HelloAck>) {
        match event {
            request_response::Event::Message { peer, message, .. } => match message {
                request_response::Message::Request {
                    request, channel, ..
                } => self.on_binding(peer, &request, channel),
                request_response::Message::Response { response, .. } => {
                    self.on_hello_ack(peer, response);
                }
            },
            request_response::Event::OutboundFailure { peer, error, .. } => {
                tracing::warn!(%peer, %error, "peer did not answer our identity binding; closing");
                self.drop_peer(peer);
            }
            request_response::Event::InboundFailure { peer, error, .. } => {
                tracing::debug!(%peer, %error, "inbound hello failed");
                if let Some(state) = self.peers.get_mut(&peer) {
                    state.refusal_sent = state.refused_here;
                }
                self.close_if_refused(peer);
            }
            request_response::Event::ResponseSent { peer, .. } => {
                if let Some(state) = self.peers.get_mut(&peer) {
                    state.refusal_sent = state.refused_here;
                }
                self.close_if_refused(peer);
            }
        }
    }

    fn on_binding(&mut self, peer: PeerId, binding: &Binding, channel: ResponseChannel<HelloAck>) {
        let verdict = binding.verify(&self.settings.consortium, &peer, self.authority.as_ref());
        let verdict = verdict.and_then(|key| match self.settings.book.issue(peer) {
            Some(ticket) => Ok((key, ticket)),
            None => Err(Refusal::NotServing),
        });
        let ack = match verdict {
            Ok((key, ticket)) => {
                self.forget_other_bindings_of(key, peer);
                self.unauthenticated.retain(|(_, p)| *p != peer);
                if let Some(state) = self.peers.get_mut(&peer) {
                    state.key = Some(key);
                    state.refused_here = false;
                    if let Some(reason) = state.refused_by_remote.take() {
                        self.refused.insert(key, reason);
                    }
                    tracing::info!(%peer, %key, "peer authenticated");
                }
                HelloAck::Accepted { ticket }
            }
            Err(reason) => {
                // The reason names a check, never key material.
                tracing::warn!(%peer, %reason, "refusing peer: identity binding not accepted");
                if let Some(state) = self.peers.get_mut(&peer) {
                    state.key = None;
                    state.refused_here = true;
                }
                HelloAck::Refused(reason)
            }
        };
        // Publish before answering: once the peer reads `Accepted` it may open an MPC
        // stream at once, and the stream filter reads the published status.
        self.publish();
        if self
            .swarm
            .behaviour_mut()
            .hello
            .send_response(channel, ack)
            .is_err()
        {
            tracing::debug!(%peer, "hello answer not sent: the connection is gone");
        }
    }

    /// One key, one peer id: a node restarted with a new libp2p identity replaces its old
    /// connection rather than holding two.
    fn forget_other_bindings_of(&mut self, key: KeyId, peer: PeerId) {
        let stale: Vec<PeerId> = self
            .peers
            .iter()
            .filter(|(other, s)| **other != peer && s.key == Some(key))
            .map(|(other, _)| *other)
            .collect();
        for other in stale {
            tracing::warn!(%key, old = %other, new = %peer, "key now bound to another peer id; closing the old one");
            self.drop_peer(other);
        }
    }

    /// Closes a refused peer once it has our refusal and has answered our hello.
    fn close_if_refused(&mut self, peer: PeerId) {
        if self
            .peers
            .get(&peer)
            .is_some_and(|s| s.refused_here && s.refusal_sent && !s.hello_outstanding)
        {
            self.drop_peer(peer);
        }
    }

    fn on_hello_ack(&mut self, peer: PeerId, ack: HelloAck) {
        let Some(state) = self.peers.get_mut(&peer) else {
            return;
        };
        state.hello_outstanding = false;
        match ack {
            HelloAck::Accepted { ticket } => {
                state.accepted_by_remote = true;
                state.their_ticket = Some(ticket);
                if let Some(key) = state.key {
                    self.refused.remove(&key);
                }
            }
            HelloAck::Refused(reason) => {
                tracing::warn!(%peer, %reason, "peer refused our identity binding");
                state.accepted_by_remote = false;
                match state.key {
                    Some(key) => {
                        self.refused.insert(key, reason);
                    }
                    None => state.refused_by_remote = Some(reason),
                }
            }
        }
        self.dirty = true;
        self.close_if_refused(peer);
    }

    // ----- node protocol -----

    fn on_node_event(&mut self, event: request_response::Event<Ticketed<Req>, WireResponse<Resp>>) {
        match event {
            request_response::Event::Message { peer, message, .. } => match message {
                request_response::Message::Request {
                    request, channel, ..
                } => self.on_node_request(peer, request, channel),
                request_response::Message::Response {
                    request_id,
                    response,
                } => self.on_node_response(request_id, response),
            },
            request_response::Event::OutboundFailure {
                request_id, error, ..
            } => self.on_node_failure(request_id, error),
            request_response::Event::InboundFailure { peer, error, .. } => {
                // A request that could not be read or answered; the requester sees its own
                // failure. Undecodable or oversize requests land here.
                match error {
                    InboundFailure::Io(e) => {
                        tracing::warn!(%peer, error = %e, "inbound request failed")
                    }
                    other => tracing::debug!(%peer, error = %other, "inbound request failed"),
                }
            }
            request_response::Event::ResponseSent { .. } => {}
        }
    }

    fn on_node_request(
        &mut self,
        peer: PeerId,
        request: Ticketed<Req>,
        channel: ResponseChannel<WireResponse<Resp>>,
    ) {
        let Ticketed { ticket, request } = request;
        // The codec let in a ticket this node issued; it must be this very peer's.
        let key = self
            .key_of(&peer)
            .filter(|_| self.settings.book.holder(&ticket) == Some(peer));
        let Some(key) = key else {
            tracing::warn!(%peer, "refusing a request from a connection without an accepted binding");
            self.respond(channel, WireResponse::Refused(Refusal::NotAuthenticated));
            return;
        };
        // Membership can change between the hello and now (a revoked key loses access).
        if !self.authority.admits(&key) {
            tracing::warn!(%peer, %key, "refusing a request: key no longer admitted; closing");
            self.respond(channel, WireResponse::Refused(Refusal::NotAdmitted));
            self.drop_peer(peer);
            return;
        }
        let (reply, replied) = oneshot::channel();
        let delivered = self.inbound.try_send(Inbound {
            from: key,
            request,
            reply,
        });
        match delivered {
            Ok(()) => {
                let timeout = self.settings.request_timeout;
                self.replies.push(Box::pin(async move {
                    let response = match tokio::time::timeout(timeout, replied).await {
                        Ok(Ok(response)) => WireResponse::Reply(response),
                        Ok(Err(_)) => WireResponse::Refused(Refusal::NoReply),
                        Err(_) => WireResponse::Refused(Refusal::ReplyTimeout),
                    };
                    (channel, response)
                }));
            }
            Err(mpsc::error::TrySendError::Full(_)) => {
                tracing::warn!(%key, "inbound queue full; refusing request");
                self.respond(channel, WireResponse::Refused(Refusal::Busy));
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {
                self.respond(channel, WireResponse::Refused(Refusal::NotServing));
            }
        }
    }

    fn respond(
        &mut self,
        channel: ResponseChannel<WireResponse<Resp>>,
        response: WireResponse<Resp>,
    ) {
        if self
            .swarm
            .behaviour_mut()
            .node
            .send_response(channel, response)
            .is_err()
        {
            // The requester is gone (closed connection or its timeout); it was told so.
            tracing::debug!("response not sent: the requester's stream is gone");
        }
    }

    fn on_node_response(&mut self, id: OutboundRequestId, response: WireResponse<Resp>) {
        let Some(Pending { to, reply }) = self.outbound.remove(&id) else {
            return;
        };
        let result = match response {
            WireResponse::Reply(response) => Ok(response),
            WireResponse::Refused(Refusal::ResponseTooLarge { len, max }) => {
                Err(P2pError::TooLarge {
                    peer: to,
                    what: "response",
                    len,
                    max,
                })
            }
            WireResponse::Refused(reason) => Err(P2pError::Refused { peer: to, reason }),
        };
        // The requester may have given up waiting.
        reply.send(result).ok();
    }

    fn on_node_failure(&mut self, id: OutboundRequestId, error: OutboundFailure) {
        let Some(Pending { to, reply }) = self.outbound.remove(&id) else {
            return;
        };
        let peer = to;
        let error = match error {
            OutboundFailure::DialFailure => P2pError::NotConnected(peer),
            OutboundFailure::Timeout => P2pError::Timeout {
                peer,
                after_ms: u64::try_from(self.settings.request_timeout.as_millis())
                    .unwrap_or(u64::MAX),
            },
            OutboundFailure::ConnectionClosed => P2pError::ConnectionClosed { peer },
            OutboundFailure::UnsupportedProtocols => P2pError::UnsupportedProtocol {
                peer,
                protocol: NODE_PROTOCOL,
            },
            OutboundFailure::Io(source) => match Oversize::find(&source) {
                Some(o) => P2pError::TooLarge {
                    peer,
                    what: o.what,
                    len: o.len,
                    max: o.max,
                },
                None => P2pError::Io { peer, source },
            },
        };
        // The requester may have given up waiting.
        reply.send(Err(error)).ok();
    }

    // ----- periodic work -----

    fn on_tick(&mut self) {
        self.redial();
        self.close_unauthenticated();
        self.recheck_admission();
    }

    fn redial(&mut self) {
        for index in 0..self.dials.len() {
            let Some((addr, DialState::Idle)) = self.dials.get(index).cloned() else {
                continue;
            };
            let opts = match peer_id_of(&addr) {
                Some(peer) if self.swarm.is_connected(&peer) => {
                    self.set_dial_state(index, DialState::Connected(peer));
                    continue;
                }
                Some(peer) => DialOpts::peer_id(peer)
                    .addresses(vec![addr.clone()])
                    .condition(PeerCondition::DisconnectedAndNotDialing)
                    .build(),
                None => DialOpts::unknown_peer_id().address(addr.clone()).build(),
            };
            let connection = opts.connection_id();
            match self.swarm.dial(opts) {
                Ok(()) => self.set_dial_state(index, DialState::Dialing(connection)),
                Err(DialError::LocalPeerId { .. }) => self.set_dial_state(index, DialState::Local),
                Err(error) => tracing::debug!(%addr, %error, "dial not started; retrying"),
            }
        }
    }

    fn set_dial_state(&mut self, index: usize, state: DialState) {
        if let Some(entry) = self.dials.get_mut(index) {
            entry.1 = state;
        }
    }

    /// A peer that has not completed the binding exchange in time is closed.
    fn close_unauthenticated(&mut self) {
        let late: Vec<PeerId> = self
            .peers
            .iter()
            .filter(|(_, s)| {
                (s.key.is_none() || !s.accepted_by_remote)
                    && s.connected_at.elapsed() > HELLO_TIMEOUT
            })
            .map(|(peer, _)| *peer)
            .collect();
        for peer in late {
            tracing::warn!(%peer, "identity bindings not exchanged in time; closing");
            // Restart the clock so the close is not repeated every tick while it completes.
            if let Some(state) = self.peers.get_mut(&peer) {
                state.connected_at = Instant::now();
            }
            self.drop_peer(peer);
        }
    }

    /// Membership changes (revocation) close peers whose key is no longer admitted.
    fn recheck_admission(&mut self) {
        let revoked: Vec<(PeerId, KeyId)> = self
            .peers
            .iter()
            .filter_map(|(peer, s)| s.key.map(|key| (*peer, key)))
            .filter(|(_, key)| !self.authority.admits(key))
            .collect();
        for (peer, key) in revoked {
            tracing::warn!(%peer, %key, "key no longer admitted; closing");
            self.drop_peer(peer);
        }
    }
}

/// The peer id at the end of an address (`…/p2p/<peer id>`), if any.
fn peer_id_of(addr: &Multiaddr) -> Option<PeerId> {
    match addr.iter().last() {
        Some(Protocol::P2p(peer)) => Some(peer),
        _ => None,
    }
}
