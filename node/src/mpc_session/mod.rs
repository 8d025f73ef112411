//! `mpc_session`: joins one three-party MPC session over the node's libp2p streams.
//!
//! Owns: routing incoming `/weinong/mpc/1` streams to the session waiting for them
//! ([`MpcStreams`]), the session handshake (who dials whom, the hello naming the session and
//! the dialer, the pair secrets), and running the engine on a blocking thread
//! ([`MpcSession::run`]) over [`P2pTransport`].
//!
//! Must not know: what is computed (the caller's closure over a [`Party`]), why the
//! session exists (requests, consents, the ledger), or how peers are authenticated (the
//! p2p layer hands out only streams of admitted members, tagged with their [`KeyId`]).
//!
//! # Handshake
//!
//! The parties are the three members' ledger keys in party order. For each pair the lower
//! party dials the higher one and opens with a hello (all integers little-endian):
//!
//! ```text
//! magic "WNMS" | version u8 = 1 | dialer u8 | acceptor u8 | 0u8 | session id 32 | pair secret 32
//! ```
//!
//! The acceptor's router reads the hello (within [`limits::HELLO_TIMEOUT`]) and hands the
//! stream to the session registered for (session id, dialer) only if the stream's
//! authenticated key is the key of that party and the acceptor is this node's party;
//! otherwise the stream is closed. The acceptor answers with the same 40-byte header under
//! magic "WNMA", after which frames flow ([`transport`]).
//!
//! The pair secret of the two parties (the seed of their common PRG, see
//! `weinong_mpc::secrets`) is chosen by the dialer from the OS random source and travels
//! only inside the Noise-encrypted stream between the two members; the third party never
//! sees it.
//!
//! Invariants: no session uses a stream whose authenticated key is not the expected party's;
//! every wait (connect, hello, acknowledgement, each frame) is bounded; a peer that stops
//! mid-session turns into an error naming its party and key, never a hang.

pub mod limits;
#[cfg(test)]
pub(crate) mod tests;
pub mod transport;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::{AsyncReadExt as _, AsyncWriteExt as _};
use libp2p::Stream;
use tokio::sync::oneshot;
use weinong_keys::KeyId;
use weinong_mpc::{MpcError, PairSecret, Party, PartyId, PartySecrets, SessionId};
use zeroize::Zeroizing;

use crate::p2p::{IncomingStreams, Message, P2p, P2pError};

pub use transport::P2pTransport;

const HELLO_MAGIC: [u8; 4] = *b"WNMS";
const ACK_MAGIC: [u8; 4] = *b"WNMA";
const VERSION: u8 = 1;
/// magic, version, dialer, acceptor, reserved, session id.
const HEADER_BYTES: usize = 4 + 1 + 1 + 1 + 1 + 32;
const HELLO_BYTES: usize = HEADER_BYTES + 32;

/// An error setting up or running an MPC session; each names the party and key concerned.
#[derive(Debug, thiserror::Error)]
pub enum MpcSessionError {
    /// The party list is unusable (a key twice).
    #[error("invalid session parties: {0}")]
    Parties(&'static str),
    /// The p2p layer could not reach a party.
    #[error("cannot reach {party} (key {key}): {source}")]
    Connect {
        /// The party.
        party: PartyId,
        /// Its ledger key.
        key: KeyId,
        /// The p2p failure.
        #[source]
        source: P2pError,
    },
    /// The session handshake with a party failed.
    #[error("session handshake with {party} (key {key}) failed: {reason}")]
    Handshake {
        /// The party.
        party: PartyId,
        /// Its ledger key.
        key: KeyId,
        /// What went wrong.
        reason: String,
    },
    /// A party did not join the session in time.
    #[error("{party} (key {key}) did not join the session within {waited_ms} ms")]
    NotJoined {
        /// The party.
        party: PartyId,
        /// Its ledger key.
        key: KeyId,
        /// How long this node waited.
        waited_ms: u64,
    },
    /// Another session with this id and dialer is already waiting here.
    #[error("session {0} is already being set up on this node")]
    Duplicate(String),
    /// The stream router stopped (the p2p layer shut down).
    #[error("the MPC stream router stopped")]
    RouterStopped,
    /// The computation failed; `key` is the ledger key of the party the engine names.
    #[error("MPC computation failed: {source}{}", key_suffix(.key))]
    Engine {
        /// The engine's error.
        #[source]
        source: MpcError,
        /// The key of the peer the error names, if it names one.
        key: Option<KeyId>,
    },
    /// The OS random source failed.
    #[error("the OS random source failed: {0}")]
    Random(getrandom::Error),
    /// The engine's thread panicked (a bug).
    #[error("the MPC engine's thread failed: {0}")]
    Panicked(String),
}

fn key_suffix(key: &Option<KeyId>) -> String {
    key.map(|k| format!(" (peer key {k})")).unwrap_or_default()
}

/// The party an engine error blames, if any.
pub fn blamed_party(error: &MpcError) -> Option<PartyId> {
    match error {
        MpcError::FrameLength { peer, .. }
        | MpcError::PeerClosed { peer }
        | MpcError::Timeout { peer, .. }
        | MpcError::Malformed { peer, .. }
        | MpcError::BadTag { peer }
        | MpcError::OutOfOrder { peer, .. }
        | MpcError::Io { peer, .. } => Some(*peer),
        _ => None,
    }
}

/// Who takes part in a session and as which party.
#[derive(Clone, Copy, Debug)]
pub struct SessionPlan {
    /// The three members' ledger keys in party order (P0, P1, P2).
    pub parties: [KeyId; 3],
    /// This node's party.
    pub me: PartyId,
    /// The session id (e.g. the request id); all three parties must use the same.
    pub session: SessionId,
}

impl SessionPlan {
    fn key(&self, party: PartyId) -> KeyId {
        self.parties[party.index()]
    }
}

/// A stream that arrived with a valid hello: who sent it and the pair secret it carries.
struct Arrival {
    from: KeyId,
    acceptor: u8,
    stream: Stream,
    secret: Zeroizing<[u8; 32]>,
    at: Instant,
}

struct Waiter {
    expected: KeyId,
    acceptor: u8,
    deliver: oneshot::Sender<Arrival>,
}

/// Sessions waiting for a dialer's stream, and streams that arrived before their session
/// registered (the dialer may be faster than this node's own request handling).
#[derive(Default)]
struct Registry {
    waiting: HashMap<([u8; 32], u8), Waiter>,
    early: Vec<([u8; 32], u8, Arrival)>,
}

/// Routes incoming MPC streams to sessions; one per node (it consumes
/// [`P2p::incoming_streams`]).
#[derive(Clone)]
pub struct MpcStreams {
    registry: Arc<Mutex<Registry>>,
}

impl MpcStreams {
    /// Starts routing `p2p`'s incoming MPC streams. Must be called within a tokio runtime.
    pub fn start<Req: Message, Resp: Message>(p2p: &P2p<Req, Resp>) -> Result<Self, P2pError> {
        let incoming = p2p.incoming_streams()?;
        let streams = MpcStreams {
            registry: Arc::new(Mutex::new(Registry::default())),
        };
        tokio::spawn(route(incoming, streams.clone()));
        Ok(streams)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Registry> {
        // A poisoned lock only means a routing task panicked; the map is still consistent
        // because every update is a single insert or remove.
        self.registry
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Registers interest in the stream `dialer` opens for `session`; an early arrival
    /// from the expected key is delivered at once, others for the slot are closed.
    fn register(
        &self,
        session: &SessionId,
        dialer: PartyId,
        expected: KeyId,
        acceptor: PartyId,
    ) -> Result<oneshot::Receiver<Arrival>, MpcSessionError> {
        let slot = (*session.as_bytes(), dialer.as_u8());
        let (deliver, receive) = oneshot::channel();
        let mut registry = self.lock();
        if registry.waiting.contains_key(&slot) {
            return Err(MpcSessionError::Duplicate(hex::encode(session.as_bytes())));
        }
        let mut found = None;
        let early = std::mem::take(&mut registry.early);
        for (s, d, arrival) in early {
            if (s, d) != slot {
                registry.early.push((s, d, arrival));
            } else if arrival.from == expected && arrival.acceptor == acceptor.as_u8() {
                found = Some(arrival);
            } else {
                tracing::warn!(from = %arrival.from, %dialer, "refusing an MPC stream from a key that is not the session's party");
            }
        }
        match found {
            Some(arrival) => {
                // The receiver is alive: we hold it.
                deliver.send(arrival).ok();
            }
            None => {
                registry.waiting.insert(
                    slot,
                    Waiter {
                        expected,
                        acceptor: acceptor.as_u8(),
                        deliver,
                    },
                );
            }
        }
        Ok(receive)
    }

    fn unregister(&self, session: &SessionId, dialer: PartyId) {
        self.lock()
            .waiting
            .remove(&(*session.as_bytes(), dialer.as_u8()));
    }

    fn arrived(&self, session: [u8; 32], dialer: u8, arrival: Arrival) {
        let mut registry = self.lock();
        match registry.waiting.remove(&(session, dialer)) {
            Some(waiter) => {
                if waiter.expected == arrival.from && waiter.acceptor == arrival.acceptor {
                    // A session that gave up dropped its receiver; the stream then closes.
                    waiter.deliver.send(arrival).ok();
                } else {
                    tracing::warn!(from = %arrival.from, dialer, "refusing an MPC stream from a key that is not the session's party");
                    registry.waiting.insert((session, dialer), waiter);
                }
            }
            None => {
                let now = Instant::now();
                registry
                    .early
                    .retain(|(_, _, a)| now.duration_since(a.at) < limits::EARLY_STREAM_TTL);
                if registry.early.len() >= limits::EARLY_STREAMS_MAX {
                    tracing::warn!(from = %arrival.from, "too many MPC streams without a session; closing one");
                } else {
                    registry.early.push((session, dialer, arrival));
                }
            }
        }
    }
}

async fn route(mut incoming: IncomingStreams, streams: MpcStreams) {
    while let Some((from, stream)) = incoming.next().await {
        let streams = streams.clone();
        // Each hello is read in its own task, bounded by HELLO_TIMEOUT, so a silent opener
        // cannot hold up the others.
        tokio::spawn(async move {
            match tokio::time::timeout(limits::HELLO_TIMEOUT, read_hello(stream)).await {
                Ok(Ok((session, dialer, acceptor, secret, stream))) => streams.arrived(
                    session,
                    dialer,
                    Arrival {
                        from,
                        acceptor,
                        stream,
                        secret,
                        at: Instant::now(),
                    },
                ),
                Ok(Err(reason)) => {
                    tracing::warn!(%from, reason, "refusing an MPC stream with a bad hello");
                }
                Err(_) => tracing::warn!(%from, "an MPC stream sent no hello in time"),
            }
        });
    }
}

type Hello = ([u8; 32], u8, u8, Zeroizing<[u8; 32]>, Stream);

async fn read_hello(mut stream: Stream) -> Result<Hello, &'static str> {
    let mut hello = Zeroizing::new([0u8; HELLO_BYTES]);
    stream
        .read_exact(&mut hello[..])
        .await
        .map_err(|_| "stream ended before the hello")?;
    if hello[..4] != HELLO_MAGIC || hello[4] != VERSION || hello[7] != 0 {
        return Err("not a version 1 session hello");
    }
    let (dialer, acceptor) = (hello[5], hello[6]);
    if dialer >= acceptor || acceptor > 2 {
        return Err("the dialer must be the lower party of the pair");
    }
    let mut session = [0u8; 32];
    session.copy_from_slice(&hello[8..HEADER_BYTES]);
    let mut secret = Zeroizing::new([0u8; 32]);
    secret.copy_from_slice(&hello[HEADER_BYTES..]);
    Ok((session, dialer, acceptor, secret, stream))
}

fn header(magic: [u8; 4], dialer: PartyId, acceptor: PartyId, session: &SessionId) -> Vec<u8> {
    let mut out = Vec::with_capacity(HELLO_BYTES);
    out.extend_from_slice(&magic);
    out.extend_from_slice(&[VERSION, dialer.as_u8(), acceptor.as_u8(), 0]);
    out.extend_from_slice(session.as_bytes());
    out
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// An established session: this party's transport and pair secrets.
pub struct MpcSession {
    plan: SessionPlan,
    transport: P2pTransport,
    secrets: PartySecrets,
}

impl MpcSession {
    /// Joins `plan`'s session: dials the higher parties, accepts the lower ones (through
    /// `streams`, which must route `p2p`'s incoming streams), and agrees the pair secrets.
    /// Every wait is bounded by `timeout`, which also bounds each frame's send and receive.
    pub async fn establish<Req: Message, Resp: Message>(
        p2p: &P2p<Req, Resp>,
        streams: &MpcStreams,
        plan: SessionPlan,
        timeout: Duration,
    ) -> Result<Self, MpcSessionError> {
        let [a, b, c] = plan.parties;
        if a == b || b == c || a == c {
            return Err(MpcSessionError::Parties("a key appears twice"));
        }
        let me = plan.me;
        let (next, prev) = tokio::join!(
            link(p2p, streams, &plan, me.next(), timeout),
            link(p2p, streams, &plan, me.prev(), timeout)
        );
        let (next_stream, with_next) = next?;
        let (prev_stream, with_prev) = prev?;
        Ok(MpcSession {
            plan,
            transport: P2pTransport::new(me, next_stream, prev_stream, timeout),
            secrets: PartySecrets {
                with_next,
                with_prev,
            },
        })
    }

    /// Runs `compute` as this session's party on a blocking thread and returns its result.
    /// The transport closes when `compute` returns, so peers still waiting see the party
    /// leave instead of timing out.
    pub async fn run<T, F>(self, compute: F) -> Result<T, MpcSessionError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Party) -> Result<T, MpcError> + Send + 'static,
    {
        let MpcSession {
            plan,
            transport,
            secrets,
        } = self;
        let joined = tokio::task::spawn_blocking(move || {
            let mut party = Party::new(&plan.session, &secrets, Box::new(transport));
            compute(&mut party)
        })
        .await;
        match joined {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(source)) => Err(MpcSessionError::Engine {
                key: blamed_party(&source).map(|p| plan.key(p)),
                source,
            }),
            Err(e) => Err(MpcSessionError::Panicked(e.to_string())),
        }
    }

    /// The transport and pair secrets, for callers that build the [`Party`] themselves
    /// (the transport must then be used on a blocking thread).
    pub fn into_parts(self) -> (P2pTransport, PartySecrets) {
        (self.transport, self.secrets)
    }
}

/// Opens (lower party) or accepts (higher party) the stream to `peer` and returns it with
/// the pair secret. A connection that closes during the handshake (libp2p drops one of two
/// connections that two peers dialed at once, with its streams) is retried until `timeout`.
async fn link<Req: Message, Resp: Message>(
    p2p: &P2p<Req, Resp>,
    streams: &MpcStreams,
    plan: &SessionPlan,
    peer: PartyId,
    timeout: Duration,
) -> Result<(Stream, PairSecret), MpcSessionError> {
    let deadline = Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match link_once(p2p, streams, plan, peer, left).await {
            Ok(linked) => return Ok(linked),
            Err((error, true))
                if deadline.saturating_duration_since(Instant::now())
                    > limits::LINK_RETRY_PAUSE =>
            {
                tracing::debug!(%error, "retrying an MPC session link");
                tokio::time::sleep(limits::LINK_RETRY_PAUSE).await;
            }
            Err((error, _)) => return Err(error),
        }
    }
}

/// One attempt of [`link`]; the flag says whether the failure is worth a retry.
async fn link_once<Req: Message, Resp: Message>(
    p2p: &P2p<Req, Resp>,
    streams: &MpcStreams,
    plan: &SessionPlan,
    peer: PartyId,
    timeout: Duration,
) -> Result<(Stream, PairSecret), (MpcSessionError, bool)> {
    let key = plan.key(peer);
    let me = plan.me;
    let handshake = |reason: &str| MpcSessionError::Handshake {
        party: peer,
        key,
        reason: reason.to_string(),
    };
    // The peer did not show up in time: final, not worth a retry.
    let not_joined = || {
        (
            MpcSessionError::NotJoined {
                party: peer,
                key,
                waited_ms: millis(timeout),
            },
            false,
        )
    };
    if me < peer {
        let connect = |source| MpcSessionError::Connect {
            party: peer,
            key,
            source,
        };
        p2p.wait_connected(&key, timeout)
            .await
            .map_err(|e| (connect(e), true))?;
        let mut stream = p2p
            .open_stream(&key)
            .await
            .map_err(|e| (connect(e), true))?;
        let mut secret = Zeroizing::new([0u8; 32]);
        getrandom::fill(&mut secret[..]).map_err(|e| (MpcSessionError::Random(e), false))?;
        let mut hello = Zeroizing::new(header(HELLO_MAGIC, me, peer, &plan.session));
        hello.extend_from_slice(&secret[..]);
        let expected_ack = header(ACK_MAGIC, me, peer, &plan.session);
        let exchange = async {
            stream.write_all(&hello).await?;
            stream.flush().await?;
            let mut ack = vec![0u8; HEADER_BYTES];
            stream.read_exact(&mut ack).await?;
            Ok::<_, std::io::Error>(ack)
        };
        let ack = match tokio::time::timeout(timeout, exchange).await {
            Err(_) => return Err(not_joined()),
            Ok(Err(e)) => return Err((handshake(&format!("hello exchange: {e}")), true)),
            Ok(Ok(ack)) => ack,
        };
        if ack != expected_ack {
            return Err((
                handshake("the acknowledgement does not match the hello"),
                false,
            ));
        }
        Ok((stream, PairSecret::from_bytes(*secret)))
    } else {
        let arrival = streams
            .register(&plan.session, peer, key, me)
            .map_err(|e| (e, false))?;
        let arrival = match tokio::time::timeout(timeout, arrival).await {
            Ok(Ok(arrival)) => arrival,
            Ok(Err(_)) => return Err((MpcSessionError::RouterStopped, false)),
            Err(_) => {
                streams.unregister(&plan.session, peer);
                return Err(not_joined());
            }
        };
        let mut stream = arrival.stream;
        let ack = header(ACK_MAGIC, peer, me, &plan.session);
        let answered = async {
            stream.write_all(&ack).await?;
            stream.flush().await
        };
        match tokio::time::timeout(timeout, answered).await {
            Ok(Ok(())) => Ok((stream, PairSecret::from_bytes(*arrival.secret))),
            Ok(Err(e)) => Err((handshake(&format!("acknowledgement: {e}")), true)),
            Err(_) => Err((handshake("acknowledgement not sent in time"), false)),
        }
    }
}
