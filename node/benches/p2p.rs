//! Request-response over the p2p layer between two members on 127.0.0.1 (TCP + Noise +
//! Yamux + CBOR, identity bindings checked once at connect):
//!
//! - one small request at a time (round-trip latency);
//! - 64 small requests in flight (requests per second the swarm tasks sustain);
//! - one 1 MiB request with a byte-string payload (a large Raft batch).
//!
//! Peer: the same round trips as bare length-prefixed frames on a tokio TCP socket over
//! loopback, the floor any transport on this machine pays.
//! Run: `cargo bench -p weinong-node --bench p2p`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, Throughput, criterion_group, criterion_main};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::Runtime;
use weinong_keys::{KeyId, KeyPair, PublicKey};
use weinong_ledger::Hash32;
use weinong_node::p2p::{Inbound, P2p, P2pConfig, PeerAuthority};

const SMALL_BYTES: usize = 64;
const LARGE_BYTES: usize = 1024 * 1024;
const IN_FLIGHT: usize = 64;

#[derive(Debug, Serialize, Deserialize)]
struct Payload(#[serde(with = "weinong_node::p2p::bytes")] Vec<u8>);

struct Members(BTreeMap<KeyId, PublicKey>);

impl PeerAuthority for Members {
    fn admits(&self, key: &KeyId) -> bool {
        self.0.contains_key(key)
    }
    fn public_key(&self, key: &KeyId) -> Option<PublicKey> {
        self.0.get(key).cloned()
    }
}

type Net = P2p<Payload, Payload>;

fn config(key: &Arc<KeyPair>, dial: Vec<libp2p::Multiaddr>) -> P2pConfig {
    P2pConfig {
        listen: "/ip4/127.0.0.1/tcp/0".parse().expect("multiaddr"),
        dial,
        identity: libp2p::identity::Keypair::generate_ed25519(),
        member_key: Arc::clone(key),
        consortium: Hash32([1; 32]),
        max_message_bytes: 4 * LARGE_BYTES,
        request_timeout: Duration::from_secs(30),
    }
}

/// Two members; the second echoes every request. Returns the requester and the echo's key.
async fn pair() -> (Net, Net, KeyId) {
    let (a, b) = (Arc::new(KeyPair::generate()), Arc::new(KeyPair::generate()));
    let members: Arc<dyn PeerAuthority> = Arc::new(Members(
        [a.public_key().clone(), b.public_key().clone()]
            .into_iter()
            .map(|k| (k.key_id(), k))
            .collect(),
    ));
    let (nb, mut inbound) = Net::start(config(&b, vec![]), Arc::clone(&members))
        .await
        .expect("b starts");
    tokio::spawn(async move {
        while let Some(Inbound { request, reply, .. }) = inbound.recv().await {
            reply.send(request).ok();
        }
    });
    let (na, _unused) = Net::start(config(&a, nb.listen_addrs()), members)
        .await
        .expect("a starts");
    na.wait_connected(&b.key_id(), Duration::from_secs(20))
        .await
        .expect("connected");
    (na, nb, b.key_id())
}

/// A length-prefixed echo server on loopback and a connected client.
async fn tcp_pair() -> TcpStream {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.expect("accept");
        socket.set_nodelay(true).expect("nodelay");
        let mut buf = Vec::new();
        while let Ok(len) = socket.read_u32().await {
            buf.resize(usize::try_from(len).expect("fits"), 0);
            socket.read_exact(&mut buf).await.expect("frame");
            socket.write_u32(len).await.expect("len");
            socket.write_all(&buf).await.expect("echo");
        }
    });
    let client = TcpStream::connect(addr).await.expect("connect");
    client.set_nodelay(true).expect("nodelay");
    client
}

async fn tcp_round_trip(socket: &mut TcpStream, frame: &[u8], back: &mut Vec<u8>) {
    socket
        .write_u32(u32::try_from(frame.len()).expect("fits"))
        .await
        .expect("len");
    socket.write_all(frame).await.expect("frame");
    let len = socket.read_u32().await.expect("len");
    back.resize(usize::try_from(len).expect("fits"), 0);
    socket.read_exact(back).await.expect("echo");
}

fn bench(c: &mut Criterion) {
    let runtime = Runtime::new().expect("tokio runtime");
    let (na, nb, to) = runtime.block_on(pair());
    let mut socket = runtime.block_on(tcp_pair());
    let mut group = c.benchmark_group("p2p");
    group.measurement_time(Duration::from_secs(5));

    // One request of `bytes` at a time, and the same bytes as a bare TCP frame (the floor).
    let mut round_trips = |group: &mut BenchmarkGroup<'_, WallTime>, label: &str, bytes: usize| {
        group.bench_function(format!("request_{label}"), |b| {
            b.iter(|| {
                runtime
                    .block_on(na.request(&to, Payload(vec![7; bytes])))
                    .expect("echo")
            })
        });
        let frame = vec![7; bytes];
        group.bench_function(format!("peer_tcp_frame_{label}"), |b| {
            let mut back = Vec::new();
            b.iter(|| runtime.block_on(tcp_round_trip(&mut socket, &frame, &mut back)))
        });
    };

    group.throughput(Throughput::Elements(1));
    round_trips(&mut group, "64B", SMALL_BYTES);

    group.throughput(Throughput::Elements(
        u64::try_from(IN_FLIGHT).expect("fits"),
    ));
    group.bench_function("requests_64B_64_in_flight", |b| {
        b.iter(|| {
            runtime.block_on(futures::future::join_all(
                (0..IN_FLIGHT).map(|_| na.request(&to, Payload(vec![7; SMALL_BYTES]))),
            ))
        })
    });

    group.sample_size(20);
    group.throughput(Throughput::Bytes(u64::try_from(LARGE_BYTES).expect("fits")));
    round_trips(&mut group, "1MiB", LARGE_BYTES);
    group.finish();
    runtime.block_on(async {
        na.shutdown().await;
        nb.shutdown().await;
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
