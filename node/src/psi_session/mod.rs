//! `psi_session`: one two-party PSI step of a policy run over the node's libp2p streams.
//!
//! Owns: routing incoming `/weinong/psi/1` streams to the step waiting for them
//! ([`PsiStreams`]), the step handshake (the receiver dials; the hello names the run, the
//! step and both parties' ledger keys), and running the PSI engine (`weinong_mpc::psi`:
//! KKRT16 for intersections, ECDH for cardinality-only steps, both sides choosing by the
//! registered mode and checking each other's choice in the engine's greeting) on blocking
//! threads over the stream ([`connection`]).
//!
//! Must not know: what the identifiers are or where they come from (policy predicates,
//! the caller's), why the step runs (the ledger's policy run), or how peers are
//! authenticated (the p2p layer yields only streams of admitted members, tagged with their
//! [`KeyId`]; unauthenticated connections never reach this module).
//!
//! # Handshake
//!
//! The receiver of a step dials the sender and opens with (integers little-endian):
//!
//! ```text
//! magic "WNPS" | version u8 = 1 | step u8 | mode u8 | 0u8 | run id 32 | receiver key 32 | sender key 32
//! ```
//!
//! The sender's router hands the stream to the step registered for (run id, step) only if
//! the stream's authenticated key is the registered receiver's, the hello names that
//! receiver and this node as sender, and the mode is the registered one; otherwise the
//! stream is closed and the refusal logged. Another member, an auditor's node or a stale
//! stream for another run therefore cannot take part. The sender answers with the same
//! header under magic "WNPA"; then the engine's frames flow.
//!
//! Invariants: a step never runs over a stream whose authenticated key is not the other
//! named party's; every wait (dial, hello, acknowledgement, each read and write) is bounded.

pub mod connection;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::{AsyncReadExt as _, AsyncWriteExt as _};
use libp2p::Stream;
use tokio::sync::oneshot;
use weinong_keys::KeyId;
use weinong_mpc::psi::{
    self, IdentifierList, Mode, NoProgress, Protocol, PsiError, ReceiverReport, SenderReport,
};

use crate::p2p::{IncomingStreams, Message, P2p, P2pError, PSI_PROTOCOL};

pub use connection::P2pConnection;

const HELLO_MAGIC: [u8; 4] = *b"WNPS";
const ACK_MAGIC: [u8; 4] = *b"WNPA";
const VERSION: u8 = 1;
/// magic, version, step, mode, reserved, run id, receiver key, sender key.
const HELLO_BYTES: usize = 4 + 4 + 32 + 32 + 32;

/// How long an opener of an incoming PSI stream has to send its hello.
pub const HELLO_TIMEOUT: Duration = Duration::from_secs(10);
/// Streams that arrived before their step registered are kept this long.
pub const EARLY_STREAM_TTL: Duration = Duration::from_secs(60);
/// The most streams kept waiting for their step to register; more are closed.
pub const EARLY_STREAMS_MAX: usize = 16;
/// Pause between dial attempts while the sender has not registered the step yet.
const DIAL_RETRY_PAUSE: Duration = Duration::from_millis(200);
/// How often a waiting sender looks whether the receiver is still connected.
const PRESENCE_POLL: Duration = Duration::from_millis(500);

/// One step of a policy run: who receives, who sends, over which run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StepPlan {
    /// The policy run (its ledger id); both parties must use the same.
    pub run: [u8; 32],
    /// The step within the run (one per department other than the receiver).
    pub step: u8,
    /// The receiving department's ledger key: the only party that learns the matches.
    pub receiver: KeyId,
    /// The sending department's ledger key.
    pub sender: KeyId,
    /// Intersection or cardinality only.
    pub mode: Mode,
}

impl StepPlan {
    fn header(&self, magic: [u8; 4]) -> [u8; HELLO_BYTES] {
        let mut out = [0u8; HELLO_BYTES];
        out[..4].copy_from_slice(&magic);
        out[4] = VERSION;
        out[5] = self.step;
        out[6] = mode_byte(self.mode);
        out[8..40].copy_from_slice(&self.run);
        out[40..72].copy_from_slice(self.receiver.as_bytes());
        out[72..].copy_from_slice(self.sender.as_bytes());
        out
    }
}

fn mode_byte(mode: Mode) -> u8 {
    match mode {
        Mode::Intersection => 0,
        Mode::CardinalityOnly => 1,
    }
}

/// An error of one PSI step; each names the other party.
#[derive(Debug, thiserror::Error)]
pub enum PsiSessionError {
    /// The p2p layer could not reach the other party.
    #[error("cannot reach the {role} (key {key}): {source}")]
    Connect {
        /// "sender" or "receiver".
        role: &'static str,
        /// Its ledger key.
        key: KeyId,
        /// The p2p failure.
        #[source]
        source: P2pError,
    },
    /// The other party did not take part within the time-out.
    #[error("the {role} (key {key}) did not join PSI step {step} within {waited_ms} ms")]
    NotJoined {
        /// "sender" or "receiver".
        role: &'static str,
        /// Its ledger key.
        key: KeyId,
        /// The step.
        step: u8,
        /// How long this node waited.
        waited_ms: u64,
    },
    /// The other party's node has not been connected to this one for `absent_ms` (killed,
    /// partitioned, restarting): the step is given up rather than waited out.
    #[error(
        "the {role} (key {key}) has not been connected for {absent_ms} ms; PSI step {step} given up"
    )]
    PeerAbsent {
        /// "sender" or "receiver".
        role: &'static str,
        /// Its ledger key.
        key: KeyId,
        /// The step.
        step: u8,
        /// How long it has been away.
        absent_ms: u64,
    },
    /// The handshake failed.
    #[error("PSI handshake with {key} failed: {reason}")]
    Handshake {
        /// The other party's key.
        key: KeyId,
        /// What went wrong.
        reason: String,
    },
    /// Another step with this run id and step number is already waiting here.
    #[error("PSI step {step} of run {run} is already waiting on this node")]
    Duplicate {
        /// The run (hex).
        run: String,
        /// The step.
        step: u8,
    },
    /// The plan names this node as neither or both parties.
    #[error("invalid PSI step plan: {0}")]
    Plan(&'static str),
    /// The PSI engine failed (the peer's reason, a time-out, bad frames).
    #[error("PSI with {key} failed: {source}")]
    Engine {
        /// The other party's key.
        key: KeyId,
        /// The engine's error.
        #[source]
        source: PsiError,
    },
    /// The stream router stopped (the p2p layer shut down).
    #[error("the PSI stream router stopped")]
    RouterStopped,
    /// The engine's thread panicked (a bug).
    #[error("the PSI engine's thread failed: {0}")]
    Panicked(String),
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

struct Arrival {
    from: KeyId,
    hello: [u8; HELLO_BYTES],
    stream: Stream,
    at: Instant,
}

struct Waiter {
    plan: StepPlan,
    deliver: oneshot::Sender<Stream>,
}

#[derive(Default)]
struct Registry {
    waiting: HashMap<([u8; 32], u8), Waiter>,
    early: Vec<Arrival>,
}

/// Routes incoming PSI streams to the steps this node sends in; one per node (it consumes
/// the p2p layer's `/weinong/psi/1` streams).
#[derive(Clone)]
pub struct PsiStreams {
    registry: Arc<Mutex<Registry>>,
}

/// Whether `arrival` is the stream `plan`'s receiver opened for it; the reason if not.
fn check_arrival(plan: &StepPlan, arrival: &Arrival) -> Result<(), &'static str> {
    if arrival.from != plan.receiver {
        return Err("the stream's authenticated key is not the step's receiver");
    }
    if arrival.hello != plan.header(HELLO_MAGIC) {
        return Err("the hello does not name this step's parties and mode");
    }
    Ok(())
}

impl PsiStreams {
    /// Starts routing `p2p`'s incoming PSI streams. Must be called within a tokio runtime.
    pub fn start<Req: Message, Resp: Message>(p2p: &P2p<Req, Resp>) -> Result<Self, P2pError> {
        let incoming = p2p.incoming_streams_on(PSI_PROTOCOL)?;
        let streams = PsiStreams {
            registry: Arc::new(Mutex::new(Registry::default())),
        };
        tokio::spawn(route(incoming, streams.clone()));
        Ok(streams)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Registry> {
        // Every update is a single insert or remove, so a poisoned map is still consistent.
        self.registry
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn register(&self, plan: StepPlan) -> Result<oneshot::Receiver<Stream>, PsiSessionError> {
        let slot = (plan.run, plan.step);
        let (deliver, receive) = oneshot::channel();
        let mut registry = self.lock();
        if registry.waiting.contains_key(&slot) {
            return Err(PsiSessionError::Duplicate {
                run: hex::encode(plan.run),
                step: plan.step,
            });
        }
        let mut found = None;
        for arrival in std::mem::take(&mut registry.early) {
            if (run_of(&arrival.hello), arrival.hello[5]) != slot || found.is_some() {
                registry.early.push(arrival);
                continue;
            }
            match check_arrival(&plan, &arrival) {
                Ok(()) => found = Some(arrival.stream),
                Err(reason) => {
                    tracing::warn!(from = %arrival.from, reason, "refusing a PSI stream");
                }
            }
        }
        match found {
            Some(stream) => {
                deliver.send(stream).ok();
            }
            None => {
                registry.waiting.insert(slot, Waiter { plan, deliver });
            }
        }
        Ok(receive)
    }

    fn unregister(&self, plan: &StepPlan) {
        self.lock().waiting.remove(&(plan.run, plan.step));
    }

    fn arrived(&self, arrival: Arrival) {
        let slot = (run_of(&arrival.hello), arrival.hello[5]);
        let mut registry = self.lock();
        match registry.waiting.remove(&slot) {
            Some(waiter) => match check_arrival(&waiter.plan, &arrival) {
                Ok(()) => {
                    // A step that gave up dropped its receiver; the stream then closes.
                    waiter.deliver.send(arrival.stream).ok();
                }
                Err(reason) => {
                    tracing::warn!(from = %arrival.from, reason, "refusing a PSI stream");
                    registry.waiting.insert(slot, waiter);
                }
            },
            None => {
                let now = Instant::now();
                registry
                    .early
                    .retain(|a| now.duration_since(a.at) < EARLY_STREAM_TTL);
                if registry.early.len() >= EARLY_STREAMS_MAX {
                    tracing::warn!(from = %arrival.from, "too many PSI streams without a step; closing one");
                } else {
                    registry.early.push(arrival);
                }
            }
        }
    }
}

fn run_of(hello: &[u8; HELLO_BYTES]) -> [u8; 32] {
    let mut run = [0u8; 32];
    run.copy_from_slice(&hello[8..40]);
    run
}

async fn route(mut incoming: IncomingStreams, streams: PsiStreams) {
    while let Some((from, stream)) = incoming.next().await {
        let streams = streams.clone();
        // Each hello is read in its own task, bounded, so a silent opener holds up nobody.
        tokio::spawn(async move {
            match tokio::time::timeout(HELLO_TIMEOUT, read_hello(stream)).await {
                Ok(Ok((hello, stream))) => streams.arrived(Arrival {
                    from,
                    hello,
                    stream,
                    at: Instant::now(),
                }),
                Ok(Err(reason)) => {
                    tracing::warn!(%from, reason, "refusing a PSI stream with a bad hello");
                }
                Err(_) => tracing::warn!(%from, "a PSI stream sent no hello in time"),
            }
        });
    }
}

async fn read_hello(mut stream: Stream) -> Result<([u8; HELLO_BYTES], Stream), &'static str> {
    let mut hello = [0u8; HELLO_BYTES];
    stream
        .read_exact(&mut hello)
        .await
        .map_err(|_| "stream ended before the hello")?;
    if hello[..4] != HELLO_MAGIC || hello[4] != VERSION || hello[7] != 0 || hello[6] > 1 {
        return Err("not a version 1 PSI hello");
    }
    Ok((hello, stream))
}

/// How long each party of a step waits for the other.
#[derive(Clone, Copy, Debug)]
pub struct StepWaits {
    /// The longest wait for the other party to join while it is connected (it may still be
    /// evaluating its predicate over millions of people).
    pub join: Duration,
    /// The longest the other party's node may be disconnected from this one before the
    /// step is given up ([`PsiSessionError::PeerAbsent`]): a killed node fails the run in
    /// seconds, not after `join`.
    pub absent: Duration,
}

/// Runs `plan` as its sender: waits for the receiver's stream (see [`StepWaits`]), then
/// the engine's sender role over `items`. Learns only the size of the receiver's set.
pub async fn run_sender<Req: Message, Resp: Message>(
    streams: &PsiStreams,
    p2p: &P2p<Req, Resp>,
    plan: StepPlan,
    items: IdentifierList,
    waits: StepWaits,
) -> Result<SenderReport, PsiSessionError> {
    if plan.receiver == plan.sender {
        return Err(PsiSessionError::Plan(
            "the receiver and the sender are the same key",
        ));
    }
    let mut arrival = streams.register(plan)?;
    let started = Instant::now();
    let mut last_seen = started;
    let mut stream = loop {
        match tokio::time::timeout(PRESENCE_POLL, &mut arrival).await {
            Ok(Ok(stream)) => break stream,
            Ok(Err(_)) => return Err(PsiSessionError::RouterStopped),
            Err(_) => {}
        }
        let now = Instant::now();
        if p2p.peers().contains(&plan.receiver) {
            last_seen = now;
        }
        let gone = now.duration_since(last_seen);
        let failure = if gone >= waits.absent {
            PsiSessionError::PeerAbsent {
                role: "receiver",
                key: plan.receiver,
                step: plan.step,
                absent_ms: millis(gone),
            }
        } else if now.duration_since(started) >= waits.join {
            PsiSessionError::NotJoined {
                role: "receiver",
                key: plan.receiver,
                step: plan.step,
                waited_ms: millis(waits.join),
            }
        } else {
            continue;
        };
        streams.unregister(&plan);
        return Err(failure);
    };
    let ack = plan.header(ACK_MAGIC);
    let answered = async {
        stream.write_all(&ack).await?;
        stream.flush().await
    };
    match tokio::time::timeout(HELLO_TIMEOUT, answered).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return Err(handshake(plan.receiver, &format!("acknowledgement: {e}"))),
        Err(_) => return Err(handshake(plan.receiver, "acknowledgement not sent in time")),
    }
    let connection = P2pConnection::new(stream, tokio::runtime::Handle::current());
    let joined = tokio::task::spawn_blocking(move || {
        let protocol = Protocol::default_for(plan.mode);
        psi::run_sender_with(connection, items, protocol, plan.mode, &NoProgress)
    })
    .await;
    settle(joined, plan.receiver)
}

/// Runs `plan` as its receiver: dials the sender (retrying while the sender has not
/// registered the step, see [`StepWaits`]), then the engine's receiver role over `items`.
/// Returns the report and the rows of `items` (ascending) the sender also holds.
pub async fn run_receiver<Req: Message, Resp: Message>(
    p2p: &P2p<Req, Resp>,
    plan: StepPlan,
    mut items: IdentifierList,
    waits: StepWaits,
) -> Result<(ReceiverReport, Vec<u32>), PsiSessionError> {
    if plan.receiver == plan.sender {
        return Err(PsiSessionError::Plan(
            "the receiver and the sender are the same key",
        ));
    }
    let timeout = waits.join;
    let deadline = Instant::now() + timeout;
    let stream = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match dial_once(p2p, &plan, left, waits.absent).await {
            Ok(stream) => break stream,
            Err(e @ PsiSessionError::PeerAbsent { .. }) => return Err(e),
            Err(e) if deadline.saturating_duration_since(Instant::now()) > DIAL_RETRY_PAUSE => {
                tracing::debug!(error = %e, "retrying a PSI dial");
                tokio::time::sleep(DIAL_RETRY_PAUSE).await;
            }
            Err(PsiSessionError::Handshake { .. }) | Err(PsiSessionError::Connect { .. }) => {
                return Err(PsiSessionError::NotJoined {
                    role: "sender",
                    key: plan.sender,
                    step: plan.step,
                    waited_ms: millis(timeout),
                });
            }
            Err(e) => return Err(e),
        }
    };
    let connection = P2pConnection::new(stream, tokio::runtime::Handle::current());
    let joined = tokio::task::spawn_blocking(move || {
        let protocol = Protocol::default_for(plan.mode);
        psi::run_receiver_rows_with(connection, &mut items, protocol, plan.mode, &NoProgress)
    })
    .await;
    settle(joined, plan.sender)
}

/// One dial: open the stream, send the hello, read the acknowledgement. A sender not
/// connected within `absent` is [`PsiSessionError::PeerAbsent`].
async fn dial_once<Req: Message, Resp: Message>(
    p2p: &P2p<Req, Resp>,
    plan: &StepPlan,
    timeout: Duration,
    absent: Duration,
) -> Result<Stream, PsiSessionError> {
    let connect = |source| PsiSessionError::Connect {
        role: "sender",
        key: plan.sender,
        source,
    };
    let presence = timeout.min(absent);
    match p2p.wait_connected(&plan.sender, presence).await {
        Ok(()) => {}
        Err(P2pError::NotConnected(_)) if presence == absent => {
            return Err(PsiSessionError::PeerAbsent {
                role: "sender",
                key: plan.sender,
                step: plan.step,
                absent_ms: millis(absent),
            });
        }
        Err(e) => return Err(connect(e)),
    }
    let mut stream = p2p
        .open_stream_on(&plan.sender, PSI_PROTOCOL)
        .await
        .map_err(connect)?;
    let hello = plan.header(HELLO_MAGIC);
    let exchange = async {
        stream.write_all(&hello).await?;
        stream.flush().await?;
        let mut ack = [0u8; HELLO_BYTES];
        stream.read_exact(&mut ack).await?;
        Ok::<_, std::io::Error>(ack)
    };
    // The sender answers only once its step is registered; until then (the ledger reaches
    // nodes at slightly different times) the stream waits in its early queue.
    match tokio::time::timeout(timeout.min(EARLY_STREAM_TTL), exchange).await {
        Err(_) => Err(handshake(plan.sender, "no acknowledgement in time")),
        Ok(Err(e)) => Err(handshake(plan.sender, &format!("hello exchange: {e}"))),
        Ok(Ok(ack)) if ack == plan.header(ACK_MAGIC) => Ok(stream),
        Ok(Ok(_)) => Err(handshake(
            plan.sender,
            "the acknowledgement does not match the hello",
        )),
    }
}

fn handshake(key: KeyId, reason: &str) -> PsiSessionError {
    PsiSessionError::Handshake {
        key,
        reason: reason.to_owned(),
    }
}

fn settle<T>(
    joined: Result<Result<T, PsiError>, tokio::task::JoinError>,
    peer: KeyId,
) -> Result<T, PsiSessionError> {
    match joined {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(source)) => Err(PsiSessionError::Engine { key: peer, source }),
        Err(e) => Err(PsiSessionError::Panicked(e.to_string())),
    }
}
