//! Real libp2p nodes on 127.0.0.1 run PSI steps over their streams: results against a plain
//! set intersection, and every party a step does not name trying to take part. Membership
//! is a fixed key list ([`FixedAuthority`]) standing in for the ledger state.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use libp2p::Multiaddr;
use libp2p::identity::Keypair;
use rand::Rng as _;
use tokio::sync::mpsc;
use weinong_keys::{KeyId, KeyPair};
use weinong_ledger::Hash32;

use super::*;
use crate::p2p::tests_support::FixedAuthority;
use crate::p2p::{Inbound, P2pConfig};

const WAIT: StepWaits = StepWaits {
    join: Duration::from_secs(20),
    absent: Duration::from_secs(20),
};
const SHORT: StepWaits = StepWaits {
    join: Duration::from_secs(3),
    absent: Duration::from_secs(3),
};
const CONSORTIUM: Hash32 = Hash32([9; 32]);

type Net = P2p<(), ()>;

struct Node {
    key: Arc<KeyPair>,
    net: Net,
    streams: PsiStreams,
    _inbound: mpsc::Receiver<Inbound<(), ()>>,
}

impl Node {
    fn id(&self) -> KeyId {
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

async fn start(key: Arc<KeyPair>, dial: Vec<Multiaddr>, authority: Arc<FixedAuthority>) -> Node {
    let cfg = P2pConfig {
        listen: "/ip4/127.0.0.1/tcp/0".parse().expect("multiaddr"),
        dial,
        identity: Keypair::generate_ed25519(),
        member_key: Arc::clone(&key),
        consortium: CONSORTIUM,
        max_message_bytes: 64 * 1024,
        request_timeout: Duration::from_secs(10),
    };
    let (net, inbound) = Net::start(cfg, authority).await.expect("starts");
    let streams = PsiStreams::start(&net).expect("first PSI stream consumer");
    Node {
        key,
        net,
        streams,
        _inbound: inbound,
    }
}

/// Three admitted members (receiver, sender, another member such as an auditor's node),
/// connected both ways.
async fn three_members() -> [Node; 3] {
    let keys: Vec<Arc<KeyPair>> = (0..3).map(|_| Arc::new(KeyPair::generate())).collect();
    let authority = Arc::new(FixedAuthority::new(
        keys.iter().map(|k| k.public_key().clone()),
    ));
    let mut nodes: Vec<Node> = Vec::new();
    for key in keys {
        let dial = nodes.iter().map(Node::addr).collect();
        nodes.push(start(key, dial, authority.clone()).await);
    }
    for a in &nodes {
        for b in nodes.iter().filter(|b| b.id() != a.id()) {
            a.net
                .wait_connected(&b.id(), WAIT.join)
                .await
                .expect("connected");
        }
    }
    nodes.try_into().ok().expect("three nodes")
}

fn pseudonyms(n: usize) -> Vec<Vec<u8>> {
    let mut rng = rand::rng();
    (0..n)
        .map(|_| {
            let mut p = vec![0u8; 32];
            rng.fill_bytes(&mut p);
            p
        })
        .collect()
}

fn plan(receiver: &Node, sender: &Node, run: u8, mode: Mode) -> StepPlan {
    StepPlan {
        run: [run; 32],
        step: 1,
        receiver: receiver.id(),
        sender: sender.id(),
        mode,
    }
}

fn list(items: &[Vec<u8>]) -> IdentifierList {
    IdentifierList::new(items.to_vec()).expect("valid list")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_step_over_p2p_equals_the_plain_intersection() {
    let [a, b, _c] = three_members().await;
    let universe = pseudonyms(6000);
    let receiver_items: Vec<Vec<u8>> = universe[..4000].to_vec();
    let sender_items: Vec<Vec<u8>> = universe[2500..].iter().step_by(2).cloned().collect();
    let held: HashSet<&Vec<u8>> = sender_items.iter().collect();
    let expected: Vec<u32> = (0..receiver_items.len())
        .filter(|&i| held.contains(&receiver_items[i]))
        .map(|i| u32::try_from(i).expect("small"))
        .collect();
    assert!(!expected.is_empty());
    for (run, mode) in [(1, Mode::Intersection), (2, Mode::CardinalityOnly)] {
        let p = plan(&a, &b, run, mode);
        // The sender registers late: the receiver's stream waits in its early queue.
        let (received, sent) = tokio::join!(
            run_receiver(&a.net, p, list(&receiver_items), WAIT),
            async {
                tokio::time::sleep(Duration::from_millis(300)).await;
                run_sender(&b.streams, &b.net, p, list(&sender_items), WAIT).await
            }
        );
        let (report, rows) = received.expect("receiver");
        let sent = sent.expect("sender");
        assert_eq!(report.intersection, expected.len() as u64);
        // The sender learns only the size of the receiver's set.
        assert_eq!(sent.peer_distinct, receiver_items.len() as u64);
        match mode {
            Mode::Intersection => assert_eq!(rows, expected),
            Mode::CardinalityOnly => assert!(rows.is_empty()),
        }
    }
}

/// Another member (say an auditor's node) opens a stream for the step: once naming the
/// real receiver, once naming itself. Both are refused; the real receiver still gets in.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn another_member_cannot_join_a_step() {
    let [a, b, c] = three_members().await;
    let items = pseudonyms(200);
    let p = plan(&a, &b, 3, Mode::Intersection);
    let sender = {
        let (streams, net) = (b.streams.clone(), b.net.clone());
        let items = items.clone();
        tokio::spawn(async move { run_sender(&streams, &net, p, list(&items), WAIT).await })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    // c posing as the receiver (the hello names a; the stream is c's), and c naming itself.
    let impostor = StepPlan {
        receiver: c.id(),
        ..p
    };
    for hello in [p.header(HELLO_MAGIC), impostor.header(HELLO_MAGIC)] {
        let mut stream = c
            .net
            .open_stream_on(&b.id(), PSI_PROTOCOL)
            .await
            .expect("a member may open a stream");
        stream.write_all(&hello).await.expect("hello sent");
        stream.flush().await.expect("flushed");
        let mut ack = [0u8; HELLO_BYTES];
        let answered =
            tokio::time::timeout(Duration::from_secs(3), stream.read_exact(&mut ack)).await;
        assert!(
            !matches!(answered, Ok(Ok(()))),
            "an impostor's stream was acknowledged"
        );
    }
    // c as the receiver of the step through the API: the sender never answers it.
    let refused = run_receiver(&c.net, impostor, list(&items), SHORT).await;
    assert!(
        matches!(refused, Err(PsiSessionError::NotJoined { .. })),
        "{refused:?}"
    );
    // The real receiver still completes the step.
    let (report, rows) = run_receiver(&a.net, p, list(&items), WAIT)
        .await
        .expect("receiver");
    sender.await.expect("task").expect("sender");
    assert_eq!(report.intersection, 200);
    assert_eq!(rows.len(), 200);
}

/// A key the consortium does not admit cannot even open a PSI stream to a member.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_key_outside_the_consortium_cannot_open_a_psi_stream() {
    let [a, b, _c] = three_members().await;
    let outsider_key = Arc::new(KeyPair::generate());
    // The outsider's own authority admits the members, theirs does not admit it.
    let its_authority = Arc::new(FixedAuthority::new([
        a.key.public_key().clone(),
        b.key.public_key().clone(),
        outsider_key.public_key().clone(),
    ]));
    let outsider = start(outsider_key, vec![b.addr()], its_authority).await;
    let p = plan(&a, &b, 4, Mode::Intersection);
    let _waiting = {
        let (streams, net) = (b.streams.clone(), b.net.clone());
        tokio::spawn(
            async move { run_sender(&streams, &net, p, list(&[vec![1u8; 32]]), WAIT).await },
        )
    };
    let opened = outsider.net.open_stream_on(&b.id(), PSI_PROTOCOL).await;
    assert!(opened.is_err(), "an outsider opened a PSI stream");
    let posing = StepPlan {
        receiver: outsider.id(),
        ..p
    };
    let refused = run_receiver(&outsider.net, posing, list(&[vec![1u8; 32]]), SHORT).await;
    assert!(refused.is_err());
}

/// The sender goes away mid-run: the receiver fails with an error naming the sender, and
/// a retry with a live sender succeeds.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_sender_that_stops_mid_run_fails_the_step_and_a_retry_succeeds() {
    let [a, b, _c] = three_members().await;
    let items = pseudonyms(300_000);
    let p = plan(&a, &b, 5, Mode::Intersection);
    let sender = {
        let (streams, net) = (b.streams.clone(), b.net.clone());
        let items = items.clone();
        tokio::spawn(async move { run_sender(&streams, &net, p, list(&items), WAIT).await })
    };
    let receiver = {
        let items = items.clone();
        let net = a.net.clone();
        tokio::spawn(async move { run_receiver(&net, p, list(&items), WAIT).await })
    };
    tokio::time::sleep(Duration::from_millis(700)).await;
    b.net.shutdown().await;
    let failed = receiver.await.expect("task");
    match failed {
        Err(PsiSessionError::Engine { key, .. }) => assert_eq!(key, b.id()),
        other => panic!("expected an engine error naming the sender, got {other:?}"),
    }
    let _ = sender.await;
    // The retry: a fresh sender node with the same key.
    let authority = Arc::new(FixedAuthority::new([
        a.key.public_key().clone(),
        b.key.public_key().clone(),
    ]));
    let b2 = start(Arc::clone(&b.key), vec![a.addr()], authority).await;
    a.net
        .wait_connected(&b2.id(), WAIT.join)
        .await
        .expect("reconnected");
    let retry = StepPlan { run: [6; 32], ..p };
    let small = &items[..1000];
    let (received, sent) = tokio::join!(
        run_receiver(&a.net, retry, list(small), WAIT),
        run_sender(&b2.streams, &b2.net, retry, list(small), WAIT)
    );
    assert_eq!(received.expect("retry receiver").0.intersection, 1000);
    sent.expect("retry sender");
}

/// A party whose node is gone before the step starts (killed, partitioned) fails the
/// other's wait within `absent`, naming it, instead of after `join`.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_party_that_is_gone_fails_the_step_within_the_absence_limit() {
    let [a, b, c] = three_members().await;
    let items = pseudonyms(10);
    let waits = StepWaits {
        join: Duration::from_secs(120),
        absent: Duration::from_secs(2),
    };
    // The receiver a is gone: b, waiting as sender, gives up.
    a.net.shutdown().await;
    let started = std::time::Instant::now();
    let sent = run_sender(
        &b.streams,
        &b.net,
        plan(&a, &b, 7, Mode::Intersection),
        list(&items),
        waits,
    )
    .await;
    assert_absent(&sent, "receiver", a.id());
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "waited out the join limit"
    );
    // The sender b is gone: c, as receiver, gives up.
    b.net.shutdown().await;
    let received = run_receiver(
        &c.net,
        plan(&c, &b, 8, Mode::Intersection),
        list(&items),
        waits,
    )
    .await;
    assert_absent(&received, "sender", b.id());
}

fn assert_absent<T: std::fmt::Debug>(outcome: &Result<T, PsiSessionError>, role: &str, key: KeyId) {
    match outcome {
        Err(PsiSessionError::PeerAbsent {
            role: named,
            key: whom,
            ..
        }) => assert_eq!((*named, *whom), (role, key)),
        other => panic!("expected the {role} to be named absent, got {other:?}"),
    }
}
