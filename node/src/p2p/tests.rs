//! Real libp2p nodes on 127.0.0.1 (port 0) in one tokio runtime. The membership is a
//! fixed key list ([`FixedAuthority`]), standing in for the ledger state.
//!
//! Every wait is bounded ([`WAIT`]) and ends on an observed state, never on a sleep.

use std::sync::Arc;
use std::time::Duration;

use futures::{AsyncReadExt as _, AsyncWriteExt as _, StreamExt as _};
use libp2p::identity::Keypair;
use libp2p::request_response::{self, ProtocolSupport};
use libp2p::{Multiaddr, StreamProtocol};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use weinong_keys::{KeyId, KeyPair};
use weinong_ledger::Hash32;

use super::codec::{CborCodec, WireResponse};
use super::tests_support::FixedAuthority;
use super::*;

/// Upper bound of every wait for a connection or a state change.
const WAIT: Duration = Duration::from_secs(20);
const CONSORTIUM: Hash32 = Hash32([9; 32]);
const MESSAGE_BYTES_MAX: usize = 16 * 1024;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
enum Ask {
    /// Answered with `Answer::Echo`.
    Echo(String),
    /// Answered with the same bytes.
    Blob(Vec<u8>),
    /// Answered with this many bytes.
    BigReply(u32),
    /// The handler drops the reply sender.
    Ignore,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
enum Answer {
    Echo {
        /// The answering node's name.
        by: String,
        /// The requester's key id as the answering node saw it, hex.
        from: String,
        text: String,
    },
    Blob(Vec<u8>),
}

type Net = P2p<Ask, Answer>;

/// A member: its keys and the requests its handler saw (from, request).
struct Member {
    name: &'static str,
    key: Arc<KeyPair>,
    identity: Keypair,
}

impl Member {
    fn new(name: &'static str) -> Self {
        Self {
            name,
            key: Arc::new(KeyPair::generate()),
            identity: Keypair::generate_ed25519(),
        }
    }

    fn id(&self) -> KeyId {
        self.key.key_id()
    }

    fn config(&self, listen: Multiaddr, dial: Vec<Multiaddr>) -> P2pConfig {
        P2pConfig {
            listen,
            dial,
            identity: self.identity.clone(),
            member_key: Arc::clone(&self.key),
            consortium: CONSORTIUM,
            max_message_bytes: MESSAGE_BYTES_MAX,
            request_timeout: Duration::from_secs(10),
        }
    }
}

fn any_port() -> Multiaddr {
    "/ip4/127.0.0.1/tcp/0".parse().expect("valid multiaddr")
}

fn authority(members: &[&Member]) -> Arc<FixedAuthority> {
    Arc::new(FixedAuthority::new(
        members.iter().map(|m| m.key.public_key().clone()),
    ))
}

/// Members `a` and `b`, and an authority that knows both.
fn two_members() -> (Member, Member, Arc<FixedAuthority>) {
    let (a, b) = (Member::new("a"), Member::new("b"));
    let auth = authority(&[&a, &b]);
    (a, b, auth)
}

/// A running node and the log of what its handler received.
struct Running {
    net: Net,
    seen: mpsc::UnboundedReceiver<(KeyId, Ask)>,
    handler: JoinHandle<()>,
}

impl Running {
    fn addr(&self) -> Multiaddr {
        self.net
            .listen_addrs()
            .into_iter()
            .next()
            .expect("a started node has a listen address")
    }

    /// Everything the handler has received so far.
    fn seen_now(&mut self) -> Vec<(KeyId, Ask)> {
        let mut out = Vec::new();
        while let Ok(item) = self.seen.try_recv() {
            out.push(item);
        }
        out
    }

    async fn stop(self) {
        self.net.shutdown().await;
        self.handler.abort();
    }
}

async fn start(
    member: &Member,
    listen: Multiaddr,
    dial: Vec<Multiaddr>,
    authority: Arc<FixedAuthority>,
    hooks: Hooks,
) -> Running {
    let (net, inbound) = Net::start_with(member.config(listen, dial), authority, hooks)
        .await
        .expect("node starts");
    let (log, seen) = mpsc::unbounded_channel();
    let handler = tokio::spawn(serve(member.name, inbound, log));
    Running { net, seen, handler }
}

/// The test handler: answers as [`Ask`] says and logs each request.
async fn serve(
    name: &'static str,
    mut inbound: mpsc::Receiver<Inbound<Ask, Answer>>,
    log: mpsc::UnboundedSender<(KeyId, Ask)>,
) {
    while let Some(Inbound {
        from,
        request,
        reply,
    }) = inbound.recv().await
    {
        log.send((from, request.clone()))
            .expect("test keeps the log");
        let answer = match request {
            Ask::Echo(text) => Answer::Echo {
                by: name.to_string(),
                from: from.to_hex(),
                text,
            },
            Ask::Blob(bytes) => Answer::Blob(bytes),
            Ask::BigReply(len) => Answer::Blob(vec![0xee; usize::try_from(len).expect("small")]),
            Ask::Ignore => continue,
        };
        // The requester may have given up; the test checks its side.
        reply.send(answer).ok();
    }
}

/// `member`'s node on any port with the default hooks, dialing `dial`.
async fn plain(member: &Member, dial: Vec<Multiaddr>, authority: Arc<FixedAuthority>) -> Running {
    start(member, any_port(), dial, authority, Hooks::default()).await
}

async fn connected(a: &Running, b: &Member) {
    a.net
        .wait_connected(&b.id(), WAIT)
        .await
        .unwrap_or_else(|e| panic!("{} never connected: {e}", b.name));
}

/// Waits until `net`'s published status satisfies `done`.
async fn until(net: &Net, what: &str, done: impl FnMut(&NetStatus) -> bool) {
    let mut status = net.inner.status.clone();
    tokio::time::timeout(WAIT, status.wait_for(done))
        .await
        .unwrap_or_else(|_| panic!("timed out waiting until {what}"))
        .expect("p2p task running");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_members_exchange_requests_both_ways_by_key_id() {
    let members = [Member::new("a"), Member::new("b"), Member::new("c")];
    let [a, b, c] = &members;
    let auth = authority(&[a, b, c]);
    let na = start(a, any_port(), vec![], auth.clone(), Hooks::default()).await;
    let nb = start(
        b,
        any_port(),
        vec![na.addr()],
        auth.clone(),
        Hooks::default(),
    )
    .await;
    let nc = start(
        c,
        any_port(),
        vec![na.addr(), nb.addr()],
        auth,
        Hooks::default(),
    )
    .await;
    let nodes = [&na, &nb, &nc];
    for (node, me) in nodes.iter().zip(&members) {
        for other in members.iter().filter(|m| m.name != me.name) {
            connected(node, other).await;
        }
        let mut expected: Vec<KeyId> = members
            .iter()
            .filter(|m| m.name != me.name)
            .map(Member::id)
            .collect();
        expected.sort();
        assert_eq!(node.net.peers(), expected, "{}'s peers", me.name);
    }

    // Every ordered pair at once: 6 requests in flight.
    let mut calls = Vec::new();
    for (node, from) in nodes.iter().zip(&members) {
        for to in members.iter().filter(|m| m.name != from.name) {
            let text = format!("{} to {}", from.name, to.name);
            let net = node.net.clone();
            let (to_id, to_name, from_id) = (to.id(), to.name, from.id());
            calls.push(async move {
                let answer = net.request(&to_id, Ask::Echo(text.clone())).await;
                (answer.expect("request answered"), to_name, from_id, text)
            });
        }
    }
    for (answer, to_name, from_id, text) in futures::future::join_all(calls).await {
        assert_eq!(
            answer,
            Answer::Echo {
                by: to_name.to_string(),
                from: from_id.to_hex(),
                text
            }
        );
    }
    for node in [na, nb, nc] {
        node.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_not_admitted_is_refused_and_reaches_no_one() {
    let (a, b, outsider) = (Member::new("a"), Member::new("b"), Member::new("outsider"));
    let members = authority(&[&a, &b]);
    let mut na = plain(&a, vec![], members.clone()).await;
    // The outsider believes everyone is a member; the members do not list it.
    let no = plain(&outsider, vec![na.addr()], authority(&[&a, &b, &outsider])).await;
    let nb = plain(&b, vec![na.addr()], members).await;

    let refusal = no.net.wait_connected(&a.id(), WAIT).await;
    assert!(
        matches!(
            refusal,
            Err(P2pError::Refused { peer, reason: Refusal::NotAdmitted }) if peer == a.id()
        ),
        "{refusal:?}"
    );
    let request = no.net.request(&a.id(), Ask::Echo("let me in".into())).await;
    assert!(
        matches!(
            request,
            Err(P2pError::Refused {
                reason: Refusal::NotAdmitted,
                ..
            })
        ),
        "{request:?}"
    );
    let message = request.expect_err("refused").to_string();
    assert!(message.contains("not admitted"), "{message}");

    // The member next to it works, and only its request reached a's handler.
    connected(&nb, &a).await;
    nb.net
        .request(&a.id(), Ask::Echo("member".into()))
        .await
        .expect("member's request answered");
    assert_eq!(na.net.peers(), vec![b.id()]);
    assert_eq!(
        na.seen_now(),
        vec![(b.id(), Ask::Echo("member".into()))],
        "nothing from the outsider may be delivered"
    );
    for node in [na, no, nb] {
        node.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_binding_copied_from_another_peer_id_is_refused() {
    let (a, b, auth) = two_members();
    let mut na = plain(&a, vec![], auth.clone()).await;
    // An impostor with its own libp2p identity replays b's genuine binding (as seen on the
    // wire), which names b's peer id.
    let impostor = Member::new("impostor");
    let copied = Binding::sign(&b.key, &CONSORTIUM, &b.identity.public().to_peer_id());
    let hooks = Hooks {
        binding: Some(copied),
        ..Hooks::default()
    };
    let ni = start(&impostor, any_port(), vec![na.addr()], auth, hooks).await;

    let refusal = ni.net.wait_connected(&a.id(), WAIT).await;
    assert!(
        matches!(
            refusal,
            Err(P2pError::Refused {
                reason: Refusal::Binding(BindingFault::PeerIdMismatch),
                ..
            })
        ),
        "{refusal:?}"
    );
    let request = ni.net.request(&a.id(), Ask::Echo("as b".into())).await;
    assert!(request.is_err(), "{request:?}");
    assert!(na.net.peers().is_empty());
    assert!(na.seen_now().is_empty());
    for node in [na, ni] {
        node.stop().await;
    }
}

/// A client speaking only the node protocol (no hello) gets no request delivered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_without_a_binding_is_refused() {
    let a = Member::new("a");
    let mut na = plain(&a, vec![], authority(&[&a])).await;
    let behaviour = request_response::Behaviour::with_codec(
        CborCodec::<Ask, WireResponse<Answer>>::new(64 * 1024),
        [(StreamProtocol::new(NODE_PROTOCOL), ProtocolSupport::Full)],
        request_response::Config::default().with_request_timeout(WAIT),
    );
    let mut raw = libp2p::SwarmBuilder::with_new_identity()
        .with_tokio()
        .with_tcp(
            libp2p::tcp::Config::default(),
            libp2p::noise::Config::new,
            libp2p::yamux::Config::default,
        )
        .expect("tcp")
        .with_behaviour(|_| behaviour)
        .expect("behaviour")
        .build();
    raw.behaviour_mut().send_request_with_addresses(
        &na.net.local_peer_id(),
        Ask::Echo("no binding".into()),
        vec![na.addr()],
    );
    let outcome = tokio::time::timeout(WAIT, async {
        loop {
            if let libp2p::swarm::SwarmEvent::Behaviour(event) = raw.select_next_some().await {
                match event {
                    request_response::Event::Message {
                        message: request_response::Message::Response { response, .. },
                        ..
                    } => break Ok(response),
                    request_response::Event::OutboundFailure { error, .. } => break Err(error),
                    _ => {}
                }
            }
        }
    })
    .await
    .expect("the raw request ends");
    // Either a's refusal arrives first, or a closes the connection (the client cannot
    // answer the hello); a reply is the one wrong outcome.
    match outcome {
        Ok(WireResponse::Refused(Refusal::NotAuthenticated)) | Err(_) => {}
        Ok(other) => panic!("unauthenticated request answered: {other:?}"),
    }
    assert!(na.seen_now().is_empty());
    na.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_peer_is_redialed_and_reconnected() {
    let (a, b, auth) = two_members();
    let nb = plain(&b, vec![], auth.clone()).await;
    let b_addr = nb.addr();
    let na = plain(&a, vec![b_addr.clone()], auth.clone()).await;
    connected(&na, &b).await;
    na.net
        .request(&b.id(), Ask::Echo("before".into()))
        .await
        .expect("answered before the restart");

    let b_peer = nb.net.local_peer_id();
    nb.stop().await;
    until(&na.net, "a notices b is gone", |s| {
        !s.ready.contains_key(&b.id())
    })
    .await;
    let gone = na
        .net
        .request(&b.id(), Ask::Echo("while down".into()))
        .await;
    assert!(
        matches!(gone, Err(P2pError::NotConnected(peer)) if peer == b.id()),
        "{gone:?}"
    );

    // Same identity, same address: a's dial loop finds it again without being asked.
    let nb = start(&b, b_addr, vec![], auth, Hooks::default()).await;
    assert_eq!(nb.net.local_peer_id(), b_peer);
    connected(&na, &b).await;
    let answer = na
        .net
        .request(&b.id(), Ask::Echo("after".into()))
        .await
        .expect("answered after the restart");
    assert!(matches!(answer, Answer::Echo { text, .. } if text == "after"));
    for node in [na, nb] {
        node.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversize_messages_and_missing_replies_fail_clearly() {
    let (a, b, auth) = two_members();
    let mut nb = plain(&b, vec![], auth.clone()).await;
    let na = plain(&a, vec![nb.addr()], auth).await;
    connected(&na, &b).await;
    let max = u64::try_from(MESSAGE_BYTES_MAX).expect("small");

    let too_big = na.net.request(&b.id(), Ask::Blob(vec![0xab; 40_000])).await;
    assert!(
        matches!(too_big, Err(P2pError::TooLarge { what: "request", len, max: m, .. }) if len > max && m == max),
        "{too_big:?}"
    );
    let big_reply = na.net.request(&b.id(), Ask::BigReply(40_000)).await;
    assert!(
        matches!(big_reply, Err(P2pError::TooLarge { what: "response", max: m, .. }) if m == max),
        "{big_reply:?}"
    );
    let dropped = na.net.request(&b.id(), Ask::Ignore).await;
    assert!(
        matches!(
            dropped,
            Err(P2pError::Refused {
                reason: Refusal::NoReply,
                ..
            })
        ),
        "{dropped:?}"
    );
    // Just under the limit still goes through.
    let fits = na.net.request(&b.id(), Ask::Blob(vec![0x01; 8_000])).await;
    assert_eq!(fits.expect("fits"), Answer::Blob(vec![0x01; 8_000]));

    let seen: Vec<Ask> = nb.seen_now().into_iter().map(|(_, ask)| ask).collect();
    assert_eq!(
        seen,
        vec![
            Ask::BigReply(40_000),
            Ask::Ignore,
            Ask::Blob(vec![0x01; 8_000])
        ],
        "the oversize request never reached b's handler"
    );
    for node in [na, nb] {
        node.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_inbound_queue_refuses_with_busy() {
    let (a, b, auth) = two_members();
    // b's consumer is stalled: its queue holds one request.
    let (nb, mut inbound) = Net::start_with(
        b.config(any_port(), vec![]),
        auth.clone(),
        Hooks {
            inbound_queue_len: 1,
            ..Hooks::default()
        },
    )
    .await
    .expect("b starts");
    let na = plain(&a, nb.listen_addrs(), auth).await;
    connected(&na, &b).await;

    let first = tokio::spawn({
        let net = na.net.clone();
        let to = b.id();
        async move { net.request(&to, Ask::Echo("first".into())).await }
    });
    tokio::time::timeout(WAIT, async {
        while inbound.is_empty() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("the first request is queued");
    let second = na.net.request(&b.id(), Ask::Echo("second".into())).await;
    assert!(
        matches!(
            second,
            Err(P2pError::Refused {
                reason: Refusal::Busy,
                ..
            })
        ),
        "{second:?}"
    );

    let queued = inbound.recv().await.expect("first request");
    assert_eq!(queued.request, Ask::Echo("first".into()));
    queued
        .reply
        .send(Answer::Blob(vec![1]))
        .expect("requester waiting");
    assert_eq!(
        first.await.expect("task").expect("first answered"),
        Answer::Blob(vec![1])
    );
    na.stop().await;
    nb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_key_loses_access() {
    let (a, b, a_view) = two_members();
    let mut na = plain(&a, vec![], a_view.clone()).await;
    let nb = plain(&b, vec![na.addr()], authority(&[&a, &b])).await;
    connected(&nb, &a).await;
    nb.net
        .request(&a.id(), Ask::Echo("while admitted".into()))
        .await
        .expect("answered while admitted");

    a_view.revoke(b.id());
    let after = nb
        .net
        .request(&a.id(), Ask::Echo("after revocation".into()))
        .await;
    // The request is refused, or a already closed the connection on its periodic check.
    assert!(
        matches!(
            after,
            Err(P2pError::Refused {
                reason: Refusal::NotAdmitted,
                ..
            }) | Err(P2pError::NotConnected(_))
                | Err(P2pError::ConnectionClosed { .. })
        ),
        "{after:?}"
    );
    until(&na.net, "a drops b", |s| s.authenticated.is_empty()).await;
    assert_eq!(
        na.seen_now(),
        vec![(b.id(), Ask::Echo("while admitted".into()))]
    );
    for node in [na, nb] {
        node.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_mpc_stream_carries_bytes_both_ways() {
    let (a, b, auth) = two_members();
    let nb = plain(&b, vec![], auth.clone()).await;
    let mut incoming = nb.net.incoming_streams().expect("first consumer");
    assert!(matches!(
        nb.net.incoming_streams(),
        Err(P2pError::StreamsTaken)
    ));
    let na = plain(&a, vec![nb.addr()], auth).await;
    connected(&na, &b).await;

    let responder = tokio::spawn(async move {
        let (from, mut stream) = tokio::time::timeout(WAIT, incoming.next())
            .await
            .expect("a stream arrives")
            .expect("p2p running");
        let mut received = Vec::new();
        stream.read_to_end(&mut received).await.expect("read");
        stream.write_all(b"pong from b").await.expect("write");
        stream.close().await.expect("close");
        (from, received)
    });

    let mut stream = na.net.open_stream(&b.id()).await.expect("stream opens");
    let ping = vec![0x5a_u8; 300_000];
    stream.write_all(&ping).await.expect("write");
    stream.close().await.expect("half-close");
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.expect("read");
    assert_eq!(answer, b"pong from b");
    let (from, received) = responder.await.expect("responder");
    assert_eq!(from, a.id());
    assert_eq!(received, ping);
    for node in [na, nb] {
        node.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_configuration_is_refused() {
    let a = Member::new("a");
    let mut tiny = a.config(any_port(), vec![]);
    tiny.max_message_bytes = 10;
    let error = Net::start(tiny, authority(&[&a]))
        .await
        .err()
        .expect("tiny limit refused");
    assert!(error.to_string().contains("max_message_bytes"), "{error}");

    let first = plain(&a, vec![], authority(&[&a])).await;
    let taken = a.config(first.addr(), vec![]);
    let error = Net::start(taken, authority(&[&a]))
        .await
        .err()
        .expect("address in use refused");
    assert!(matches!(error, P2pError::Listen { .. }), "{error}");
    first.stop().await;
}
