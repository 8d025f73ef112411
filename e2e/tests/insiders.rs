//! Insiders who misbehave, against real `weinong-node` processes on loopback: an
//! auditor's learner that tries to lead, and a department leader that lies about block
//! time. Each test is a "cannot" of the threat model in ARCHITECTURE.md.
//!
//! The tests run one at a time (a lock): each starts three nodes on a 2-core machine.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a failed step is the test's failure"
)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use openraft::Vote;
use openraft::raft::{AppendEntriesRequest, VoteRequest};
use weinong_keys::{KeyId, PublicKey};
use weinong_node::p2p::{P2p, P2pConfig, PeerAuthority};
use weinong_node::raft::node_id;
use weinong_node::wire::{PeerRequest, PeerResponse};

#[path = "../../apps/tests/common/mod.rs"]
mod common;

use common::devnet::{Devnet, finish_load, text};

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// The attacker's view of who may connect: the department nodes it wants to talk to.
struct Known(BTreeMap<KeyId, PublicKey>);

impl PeerAuthority for Known {
    fn admits(&self, key: &KeyId) -> bool {
        self.0.contains_key(key)
    }
    fn public_key(&self, key: &KeyId) -> Option<PublicKey> {
        self.0.get(key).cloned()
    }
}

fn metric_u64(net: &Devnet, i: usize, name: &str) -> u64 {
    net.metric(i, name)
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("node {i} reports no {name}"))
}

/// Why the node refused `what`; a failure if it took it.
fn refusal(what: &str, response: PeerResponse) -> String {
    match response {
        PeerResponse::Refused(why) => why,
        other => panic!("the node took {what}: {other:?}"),
    }
}

#[test]
fn a_learner_cannot_lead_vote_or_forward() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(learner_tries_to_lead());
}

async fn learner_tries_to_lead() {
    let tmp = tempfile::tempdir().unwrap();
    let net = Devnet::create(&tmp.path().join("devnet"), 17500);
    let leader = net.leader_index(Duration::from_secs(60), None);
    let target = (leader + 1) % 3;
    // Some blocks first, so the chain has a history to protect.
    let out = net.bench(&["--txs", "200", "--batch", "50", "--check", "0"]);
    assert!(out.status.success(), "bench ledger failed: {}", text(&out));
    let term = metric_u64(&net, target, "weinong_raft_term");
    let leader_key = net.leader_key(target).expect("the target follows a leader");
    let leader_id = node_id(&leader_key.parse::<KeyId>().unwrap());

    // The auditor's key is admitted to p2p (learners replicate); it now speaks Raft.
    let auditor = Arc::new(net.key("auditor"));
    let known = Known(
        (0..3)
            .map(|i| {
                let key = net.node_key(i).public_key().clone();
                (key.key_id(), key)
            })
            .collect(),
    );
    let target_key: KeyId = net.key_id(target).parse().unwrap();
    let consortium: [u8; 32] = hex::decode(net.manifest["consortium"].as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap();
    let (p2p, _inbound) = P2p::<PeerRequest, PeerResponse>::start(
        P2pConfig {
            listen: "/ip4/127.0.0.1/tcp/0".parse().unwrap(),
            dial: vec![net.p2p_addr(target).parse().unwrap()],
            identity: weinong_node::p2p::load_or_create_identity(&tmp.path().join("rogue.key"))
                .unwrap(),
            member_key: auditor.clone(),
            consortium: weinong_ledger::Hash32(consortium),
            max_message_bytes: 1 << 20,
            request_timeout: Duration::from_secs(10),
        },
        Arc::new(known),
    )
    .await
    .unwrap();
    p2p.wait_connected(&target_key, Duration::from_secs(30))
        .await
        .expect("the auditor is admitted to p2p");
    let me = node_id(&auditor.key_id());
    let higher = term + 100;

    let append_entries = |leader| {
        PeerRequest::AppendEntries(AppendEntriesRequest {
            vote: Vote::new_committed(higher, leader),
            prev_log_id: None,
            entries: Vec::new(),
            leader_commit: None,
        })
    };
    for (what, request) in [
        // Before the fix openraft followed it.
        (
            "AppendEntries as itself, with a higher term",
            append_entries(me),
        ),
        (
            "AppendEntries in the name of the real leader",
            append_entries(leader_id),
        ),
        (
            "a vote request as a candidate with a higher term",
            PeerRequest::Vote(VoteRequest::new(Vote::new(higher, me), None)),
        ),
        (
            "transactions forwarded as if it were a follower",
            PeerRequest::Forward(Vec::new()),
        ),
    ] {
        let why = refusal(what, p2p.request(&target_key, request).await.unwrap());
        assert!(why.contains("voters only"), "{what}: {why}");
    }
    p2p.shutdown().await;

    // Nothing changed: same term, same leader, and the refusals were counted.
    assert_eq!(metric_u64(&net, target, "weinong_raft_term"), term);
    assert_eq!(net.leader_key(target), Some(leader_key));
    assert!(metric_u64(&net, target, "weinong_raft_refused_total") >= 3);
    // And the consortium keeps committing under the same leader.
    let out = net.bench(&["--txs", "200", "--batch", "50", "--check", "0"]);
    assert!(out.status.success(), "bench ledger failed: {}", text(&out));
    assert_eq!(net.leader_index(Duration::from_secs(10), None), leader);
}

#[test]
fn a_leader_lying_about_block_time_gets_no_certificate_and_the_chain_goes_on() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let tmp = tempfile::tempdir().unwrap();
    let mut net = Devnet::init(&tmp.path().join("devnet"), 17600);
    // Node 0 proposes every block one hour ahead of its clock.
    let hour_ms: u64 = 3_600_000;
    let config = net.config_path(0);
    let mut text0 = std::fs::read_to_string(&config).unwrap();
    text0.push_str(&format!(
        "\n[faults]\nproposal_time_offset_ms = {hour_ms}\n"
    ));
    std::fs::write(&config, text0).unwrap();
    // The others campaign only after 8–16 s without a leader (node 0: 1.5–3 s), so node 0
    // is elected first even on a loaded machine; they still take over once they refuse it.
    for i in 1..3 {
        let config = net.config_path(i);
        let mut text = std::fs::read_to_string(&config).unwrap();
        text.push_str("\n[faults]\nelection_timeout_min_ms = 8000\n");
        std::fs::write(&config, text).unwrap();
    }
    // Make node 0 the leader: it starts alone and, once it stops waiting for peers
    // (`PEERS_AT_START_WAIT`), campaigns (raising its term) before the others start, so they
    // grant it their votes; retried if another node still wins.
    let start = Instant::now();
    loop {
        net.start(0);
        std::thread::sleep(weinong_node::limits::PEERS_AT_START_WAIT + Duration::from_secs(4));
        net.start(1);
        net.start(2);
        if net.leader_index(Duration::from_secs(60), None) == 0 {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(240),
            "node 0 never became leader"
        );
        for i in 0..3 {
            net.kill9(i);
        }
    }

    // Load while the liar leads: its proposals reach the followers, which refuse them.
    let acks = tmp.path().join("acks.txt");
    let load = net.spawn_load(2, 300, 10, &acks);
    let refused_at = Instant::now();
    loop {
        let refused: u64 = (1..3)
            .filter_map(|i| net.metric(i, "weinong_raft_refused_total"))
            .filter_map(|v| v.parse::<u64>().ok())
            .sum();
        if refused > 0 {
            break;
        }
        assert!(
            refused_at.elapsed() < Duration::from_secs(60),
            "no follower refused the lying leader's entries"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // Another leader takes over.
    let next = net.leader_index(Duration::from_secs(60), Some(0));
    assert_ne!(next, 0);

    finish_load(load, 300);

    // No certified block carries the lie: the newest block's time (block time never goes
    // backwards) is within the bound of the wall clock, on every node.
    let now_ms = u64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap();
    let bound_ms = u64::try_from(weinong_node::limits::BLOCK_TIME_AHEAD_MAX.as_millis()).unwrap();
    net.check_acks(&acks, "after the lying leader");
    let auditor = net.key("auditor");
    for i in 0..3 {
        let block = net.latest_block(i, &auditor);
        let time_ms = block["time_ms"]
            .as_u64()
            .unwrap_or_else(|| panic!("no time_ms in {block}"));
        assert!(
            time_ms <= now_ms + bound_ms,
            "node {i}'s newest block is {} ms ahead of the clock",
            time_ms - now_ms
        );
    }
}

/// Peak and current resident memory of a process, bytes (Linux `/proc`).
fn memory_of(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let field = |name: &str| -> u64 {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<u64>().ok())
            .unwrap_or_else(|| panic!("no {name} in /proc/{pid}/status"))
            * 1024
    };
    (field("VmHWM:"), field("VmRSS:"))
}

/// What the flood achieved.
#[derive(Default, Debug)]
struct Flood {
    connected: usize,
    refused: usize,
    streams: usize,
    bytes_sent: u64,
}

impl std::ops::AddAssign for Flood {
    fn add_assign(&mut self, one: Flood) {
        self.connected += one.connected;
        self.refused += one.refused;
        self.streams += one.streams;
        self.bytes_sent += one.bytes_sent;
    }
}

/// One stranger (a fresh libp2p identity, never a member): connects to `addr`, opens a
/// stream on the node protocol and tries to send `frame` through it.
async fn stranger(addr: libp2p::Multiaddr, frame: Arc<Vec<u8>>) -> Flood {
    use futures::{AsyncWriteExt as _, StreamExt as _};
    let mut report = Flood::default();
    let Ok(builder) = libp2p::SwarmBuilder::with_new_identity()
        .with_tokio()
        .with_tcp(
            libp2p::tcp::Config::default(),
            libp2p::noise::Config::new,
            libp2p::yamux::Config::default,
        )
    else {
        return report;
    };
    let Ok(builder) = builder.with_behaviour(|_| libp2p_stream::Behaviour::new());
    let mut swarm = builder
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(5)))
        .build();
    let mut control = swarm.behaviour().new_control();
    if swarm.dial(addr).is_err() {
        report.refused += 1;
        return report;
    }
    let peer = loop {
        match tokio::time::timeout(Duration::from_secs(10), swarm.select_next_some()).await {
            Ok(libp2p::swarm::SwarmEvent::ConnectionEstablished { peer_id, .. }) => {
                break peer_id;
            }
            Ok(libp2p::swarm::SwarmEvent::OutgoingConnectionError { .. }) | Err(_) => {
                report.refused += 1;
                return report;
            }
            Ok(_) => {}
        }
    };
    report.connected += 1;
    // Drive the swarm while the stream is written.
    let driver = tokio::spawn(async move {
        loop {
            swarm.select_next_some().await;
        }
    });
    let protocol = libp2p::StreamProtocol::new(weinong_node::p2p::NODE_PROTOCOL);
    if let Ok(Ok(mut stream)) =
        tokio::time::timeout(Duration::from_secs(5), control.open_stream(peer, protocol)).await
    {
        report.streams += 1;
        // The frame goes out in 64 KiB writes; count what the node let through.
        for chunk in frame.chunks(64 * 1024) {
            match tokio::time::timeout(Duration::from_secs(2), stream.write_all(chunk)).await {
                Ok(Ok(())) => report.bytes_sent += chunk.len() as u64,
                _ => break,
            }
        }
    }
    driver.abort();
    report
}

#[test]
fn a_flood_of_strangers_stays_within_memory_and_the_chain_commits() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let tmp = tempfile::tempdir().unwrap();
    let net = Devnet::create(&tmp.path().join("devnet"), 17700);
    let target = 1;
    net.leader_index(Duration::from_secs(60), None);
    let pid = net.children[target].as_ref().unwrap().id();
    let (_, before) = memory_of(pid);

    // Honest load through the whole flood.
    let acks = tmp.path().join("acks.txt");
    let load = net.spawn_load(2, 2000, 20, &acks);

    // 10,000 connections (WEINONG_FLOOD_CONNECTIONS to change), 64 at a time, each trying
    // to push a 64 MiB frame (the largest p2p message) at the node.
    let total: usize = std::env::var("WEINONG_FLOOD_CONNECTIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let frame = Arc::new(vec![0xa5_u8; weinong_node::limits::P2P_MESSAGE_BYTES_MAX]);
    let addr: libp2p::Multiaddr = net.p2p_addr(target).parse().unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let started = Instant::now();
    let flood = runtime.block_on(async {
        let mut all = Flood::default();
        let mut waves = tokio::task::JoinSet::<Flood>::new();
        for n in 0..total {
            if waves.len() >= 64
                && let Some(Ok(one)) = waves.join_next().await
            {
                all += one;
            }
            waves.spawn(stranger(addr.clone(), frame.clone()));
            if n % 1000 == 999 {
                eprintln!("flood: {} connections in {:?}", n + 1, started.elapsed());
            }
        }
        while let Some(Ok(one)) = waves.join_next().await {
            all += one;
        }
        all
    });
    let (peak, after) = memory_of(pid);
    eprintln!(
        "flood of {total} in {:?}: {flood:?}; node memory {} MiB before, {} MiB after, peak {} MiB",
        started.elapsed(),
        before >> 20,
        after >> 20,
        peak >> 20
    );
    assert!(
        flood.connected > total / 2,
        "the flood did not reach the node: {flood:?}"
    );
    // Each stranger got at most a Yamux window through before its stream was reset; a
    // node that buffered bodies would have taken the whole 64 MiB of each.
    let per_stream = flood.bytes_sent / flood.streams.max(1) as u64;
    assert!(
        per_stream < 4 << 20,
        "the node read {per_stream} bytes per unauthenticated stream"
    );
    assert!(
        peak < before + FLOOD_MEMORY_GROWTH_MAX,
        "node memory peaked at {} MiB (was {} MiB; bound +{} MiB)",
        peak >> 20,
        before >> 20,
        FLOOD_MEMORY_GROWTH_MAX >> 20
    );

    finish_load(load, 2000);
}

/// How much a flood of strangers may grow a node's resident memory: the 64 unauthenticated
/// connections it keeps (`p2p::limits::UNAUTHENTICATED_CONNECTIONS_MAX`), each a Noise and
/// a Yamux session with at most one receive window buffered per stream, far under it.
const FLOOD_MEMORY_GROWTH_MAX: u64 = 256 << 20;
