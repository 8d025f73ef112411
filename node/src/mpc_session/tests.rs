//! Three real libp2p nodes on 127.0.0.1 run MPC sessions over their streams. Membership is a
//! fixed key list ([`FixedAuthority`]) standing in for the ledger state. Results are checked
//! against the plaintext computation and the engine's in-process run.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use libp2p::Multiaddr;
use libp2p::identity::Keypair;
use tokio::sync::mpsc;
use weinong_keys::{KeyId, KeyPair};
use weinong_ledger::Hash32;
use weinong_mpc::{Peer, RevealTo, Transport, run_three};

use super::*;
use crate::p2p::tests_support::FixedAuthority;
use crate::p2p::{Inbound, P2pConfig};

/// Upper bound of every wait in these tests; below [`SLOW`], so a test that only ends by a
/// receive time-out fails instead of passing late.
const WAIT: Duration = Duration::from_secs(15);
/// Frame time-out of sessions that must end by a disconnect, not by waiting.
const SLOW: Duration = Duration::from_secs(60);
const CONSORTIUM: Hash32 = Hash32([7; 32]);

pub(crate) type Net = P2p<(), ()>;

pub(crate) struct Node {
    key: Arc<KeyPair>,
    pub(crate) net: Net,
    pub(crate) streams: MpcStreams,
    _inbound: mpsc::Receiver<Inbound<(), ()>>,
}

impl Node {
    pub(crate) fn id(&self) -> KeyId {
        self.key.key_id()
    }

    fn addr(&self) -> Multiaddr {
        self.net
            .listen_addrs()
            .into_iter()
            .next()
            .expect("listening")
    }
}

/// Three members, each dialing the ones started before it, connected both ways.
pub(crate) async fn three_nodes() -> [Node; 3] {
    let keys: Vec<Arc<KeyPair>> = (0..3).map(|_| Arc::new(KeyPair::generate())).collect();
    let authority = Arc::new(FixedAuthority::new(
        keys.iter().map(|k| k.public_key().clone()),
    ));
    let mut nodes: Vec<Node> = Vec::new();
    for key in keys {
        let cfg = P2pConfig {
            listen: "/ip4/127.0.0.1/tcp/0".parse().expect("multiaddr"),
            dial: nodes.iter().map(Node::addr).collect(),
            identity: Keypair::generate_ed25519(),
            member_key: Arc::clone(&key),
            consortium: CONSORTIUM,
            max_message_bytes: 64 * 1024,
            request_timeout: Duration::from_secs(10),
        };
        let (net, inbound) = Net::start(cfg, authority.clone()).await.expect("starts");
        let streams = MpcStreams::start(&net).expect("first stream consumer");
        nodes.push(Node {
            key,
            net,
            streams,
            _inbound: inbound,
        });
    }
    for a in &nodes {
        for b in nodes.iter().filter(|b| b.id() != a.id()) {
            a.net
                .wait_connected(&b.id(), WAIT)
                .await
                .expect("connected");
        }
    }
    nodes.try_into().ok().expect("three nodes")
}

pub(crate) fn plans(nodes: &[Node; 3], session: u8) -> [SessionPlan; 3] {
    let parties = [nodes[0].id(), nodes[1].id(), nodes[2].id()];
    PartyId::ALL.map(|me| SessionPlan {
        parties,
        me,
        session: SessionId::from_bytes([session; 32]),
    })
}

/// Joins all three nodes to one session.
async fn establish_all(nodes: &[Node; 3], session: u8, timeout: Duration) -> [MpcSession; 3] {
    let [p0, p1, p2] = plans(nodes, session);
    let (s0, s1, s2) = tokio::join!(
        MpcSession::establish(&nodes[0].net, &nodes[0].streams, p0, timeout),
        MpcSession::establish(&nodes[1].net, &nodes[1].streams, p1, timeout),
        MpcSession::establish(&nodes[2].net, &nodes[2].streams, p2, timeout),
    );
    [
        s0.expect("P0 joins"),
        s1.expect("P1 joins"),
        s2.expect("P2 joins"),
    ]
}

const N: usize = 3000;

fn inputs() -> (Vec<u64>, Vec<u64>) {
    // Mixed signs and magnitudes around the comparison's constant.
    let x = (0..N as u64)
        .map(|i| i.wrapping_mul(0x9e37_79b9).wrapping_sub(1 << 30) % 400)
        .map(|v| v.wrapping_sub(150))
        .collect();
    let y = (0..N as u64)
        .map(|i| (i.wrapping_mul(7919) % 1000).wrapping_sub(500))
        .collect();
    (x, y)
}

type Outputs = (Option<Vec<u64>>, Option<Vec<bool>>);

/// P0 inputs x, P1 inputs y; everyone learns x·y, only P2 learns x < 100 (signed).
fn compute(party: &mut Party) -> Result<Outputs, MpcError> {
    let (x_plain, y_plain) = inputs();
    let me = party.id();
    let x = party.input(PartyId::P0, (me == PartyId::P0).then_some(&x_plain[..]), N)?;
    let y = party.input(PartyId::P1, (me == PartyId::P1).then_some(&y_plain[..]), N)?;
    let product = party.mul(&x, &y)?;
    let small = party.lt_public(&x, &vec![100; N])?;
    Ok((
        party.reveal(&product, RevealTo::All)?,
        party.reveal_bits(&small, RevealTo::Party(PartyId::P2))?,
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_over_p2p_streams_matches_plaintext_and_the_local_engine() {
    let nodes = three_nodes().await;
    let [s0, s1, s2] = establish_all(&nodes, 1, WAIT).await;
    let (r0, r1, r2) = tokio::join!(s0.run(compute), s1.run(compute), s2.run(compute));
    let over_p2p = [r0.expect("P0"), r1.expect("P1"), r2.expect("P2")];

    let (x, y) = inputs();
    let product: Vec<u64> = x.iter().zip(&y).map(|(a, b)| a.wrapping_mul(*b)).collect();
    let small: Vec<bool> = x.iter().map(|&a| (a as i64) < 100).collect();
    assert!(small.iter().any(|&b| b) && small.iter().any(|&b| !b));
    for (i, (p, s)) in over_p2p.iter().enumerate() {
        assert_eq!(p.as_ref(), Some(&product), "P{i}'s product");
        assert_eq!(s.is_some(), i == 2, "only P2 learns the comparison");
    }
    assert_eq!(over_p2p[2].1.as_ref(), Some(&small));
    let local = run_three(compute).expect("in-process run");
    assert_eq!(local, over_p2p);
    for node in &nodes {
        node.net.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_peer_times_out_and_a_wrong_key_is_refused() {
    let nodes = three_nodes().await;
    // A live party that never sends: the receive ends with a time-out naming it.
    let [s0, _s1, _s2] = establish_all(&nodes, 2, Duration::from_millis(300)).await;
    let (mut transport, _) = s0.into_parts();
    let error = tokio::task::spawn_blocking(move || transport.recv(Peer::Next, 4))
        .await
        .expect("joins")
        .expect_err("nobody sends");
    assert!(
        matches!(error, MpcError::Timeout { peer, .. } if peer == PartyId::P1),
        "{error}"
    );

    // P2 believes P0 is node 1's key: node 0's stream, which says "dialer P0", is refused
    // and P2 never joins with it.
    let [mut p0, _, mut p2] = plans(&nodes, 3);
    p2.parties = [nodes[1].id(), nodes[0].id(), nodes[2].id()];
    p0.parties = [nodes[0].id(), nodes[1].id(), nodes[2].id()];
    let short = Duration::from_millis(1500);
    let (r0, r2) = tokio::join!(
        MpcSession::establish(&nodes[0].net, &nodes[0].streams, p0, short),
        MpcSession::establish(&nodes[2].net, &nodes[2].streams, p2, short),
    );
    let e2 = r2.err().expect("P2 refuses the stream");
    assert!(
        matches!(&e2, MpcSessionError::NotJoined { party, key, .. }
            if *party == PartyId::P0 && *key == nodes[1].id()),
        "{e2}"
    );
    let e0 = r0.err().expect("P0 gets no acknowledgement");
    assert!(matches!(e0, MpcSessionError::NotJoined { .. }), "{e0}");
    for node in &nodes {
        node.net.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_stopped_mid_session_fails_the_others_naming_it() {
    let nodes = three_nodes().await;

    // Transport level: both neighbours blocked on P2 see it leave, named, well before SLOW.
    let [s0, s1, _s2] = establish_all(&nodes, 4, SLOW).await;
    let (mut t0, _) = s0.into_parts();
    let (mut t1, _) = s1.into_parts();
    let w0 = tokio::task::spawn_blocking(move || t0.recv(Peer::Prev, 8));
    let w1 = tokio::task::spawn_blocking(move || t1.recv(Peer::Next, 8));
    nodes[2].net.shutdown().await;
    for (who, waiting) in [("P0", w0), ("P1", w1)] {
        let error = tokio::time::timeout(WAIT, waiting)
            .await
            .expect("no hang")
            .expect("joins")
            .expect_err("P2 is gone");
        assert!(
            matches!(
                error,
                MpcError::PeerClosed { peer } | MpcError::Io { peer, .. } if peer == PartyId::P2
            ),
            "{who}: {error}"
        );
    }
    for node in &nodes {
        node.net.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_engine_run_fails_cleanly_when_a_node_stops() {
    let nodes = three_nodes().await;
    let p2_key = nodes[2].id();
    let [s0, s1, s2] = establish_all(&nodes, 5, SLOW).await;
    let rounds = Arc::new(AtomicU64::new(0));
    // Many one-round multiplications; P0 counts them so the test stops P2 mid-run.
    let many = |count: Option<Arc<AtomicU64>>| {
        move |party: &mut Party| -> Result<(), MpcError> {
            let x = party.public(&[3, 5]);
            let mut acc = x.clone();
            for _ in 0..1_000_000 {
                acc = party.mul(&acc, &x)?;
                if let Some(c) = &count {
                    c.fetch_add(1, Ordering::Relaxed);
                }
            }
            Ok(())
        }
    };
    let r0 = tokio::spawn(s0.run(many(Some(rounds.clone()))));
    let r1 = tokio::spawn(s1.run(many(None)));
    let r2 = tokio::spawn(s2.run(many(None)));
    tokio::time::timeout(WAIT, async {
        while rounds.load(Ordering::Relaxed) < 20 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("the session makes progress");
    nodes[2].net.shutdown().await;

    let mut keys = Vec::new();
    for (who, run) in [("P0", r0), ("P1", r1)] {
        let error = tokio::time::timeout(WAIT, run)
            .await
            .expect("no hang")
            .expect("joins")
            .expect_err("the run fails");
        let MpcSessionError::Engine { source, key } = &error else {
            panic!("{who}: {error}");
        };
        assert!(
            !matches!(source, MpcError::Timeout { .. }),
            "{who}: {error}"
        );
        keys.push(key.expect("names a peer"));
        assert!(error.to_string().contains("peer key"), "{error}");
    }
    assert!(keys.contains(&p2_key), "someone names P2: {keys:?}");
    // P2's own engine ends too (its streams died with its node).
    tokio::time::timeout(WAIT, r2)
        .await
        .expect("no hang")
        .expect("joins")
        .expect_err("P2's run fails");
    for node in &nodes {
        node.net.shutdown().await;
    }
}
