//! The HTTP API's cost per request, through the router in process (no sockets): a signed
//! `GET /v1/blocks/latest` against an unsigned `/healthz` and against one SM2 request
//! verification alone, its floor (the signature check is most of a signed request).
//!
//! `cargo bench -p weinong-node --bench api`

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use criterion::{Criterion, criterion_group, criterion_main};
use tokio::sync::mpsc;
use tower::ServiceExt;
use weinong_contracts::{Genesis, MemberId, State};
use weinong_keys::clock::now_ms;
use weinong_keys::request_auth::verify_request;
use weinong_keys::{KeyPair, RequestScope, sign_request};
use weinong_ledger::store::LedgerStore;
use weinong_ledger::{BlockHash, BlockHeader, CommitCertificate, MemberSet};
use weinong_node::api::{ApiConfig, router};
use weinong_node::shared::{Replica, Shared};

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let members: Vec<KeyPair> = (0..3).map(|_| KeyPair::generate()).collect();
    let auditor = KeyPair::generate();
    let genesis = Genesis {
        time_ms: now_ms() - 60_000,
        threshold: 1,
        members: members
            .iter()
            .zip(1..)
            .map(|(k, i)| (MemberId(i), k.public_key().clone()))
            .collect(),
        admins: vec![members[0].public_key().clone()],
        auditors: vec![auditor.public_key().clone()],
        registrars: vec![],
    };
    let state = State::from_genesis(&genesis).expect("genesis");
    let dir = tempfile::tempdir().expect("temp dir");
    let set = MemberSet::new(members.iter().map(|k| k.public_key().clone()).collect(), 2)
        .expect("2 of 3");
    let mut store = LedgerStore::create(dir.path(), &set).expect("store");
    let (log_size, log_root) = store.preview(&[]);
    let header = BlockHeader {
        height: 0,
        previous: BlockHash::default(),
        log_size,
        log_root,
        state_digest: state.digest(),
        time_ms: genesis.time_ms + 1,
        proposer: members[0].key_id(),
        members: set.digest(),
        next_members: set.digest(),
    };
    let cert = CommitCertificate::from_votes(
        &header,
        vec![header.vote(&members[0]), header.vote(&members[1])],
    );
    store
        .append_block(&header, &cert, &[], &[])
        .expect("block 0");
    let (submit, _jobs) = mpsc::channel(1);
    let results = weinong_node::results::ResultStore::open(&dir.path().join("results"))
        .expect("result store");
    let replica = Replica { store, state };
    let key_id = members[0].key_id();
    let shared = Shared::new("bench".into(), key_id, genesis, replica, submit, results);
    let shared = Arc::new(shared);
    let scope = RequestScope {
        consortium: *shared.consortium.as_bytes(),
        node: shared.key_id,
    };
    // One key signs every iteration, far past the replay cache's per-key share in the
    // clock window: the bench measures authentication, so it lifts that bound.
    let app = router(
        shared,
        ApiConfig {
            replay_per_key: usize::MAX,
            ..ApiConfig::default()
        },
    );

    let target = "/v1/blocks/latest";
    c.bench_function("api signed GET /v1/blocks/latest", |b| {
        b.iter_batched(
            || {
                // Signing is the client's cost: outside the measurement.
                let sig =
                    sign_request(&auditor, &scope, "GET", target, b"", now_ms()).expect("sign");
                let mut req = Request::get(target);
                for (name, value) in sig.headers() {
                    req = req.header(name, value);
                }
                req.body(Body::empty()).expect("request")
            },
            |req| {
                let res = rt.block_on(app.clone().oneshot(req)).expect("infallible");
                assert_eq!(res.status(), StatusCode::OK);
            },
            criterion::BatchSize::SmallInput,
        );
    });
    c.bench_function("api unsigned GET /healthz", |b| {
        b.iter(|| {
            let req = Request::get("/healthz")
                .body(Body::empty())
                .expect("request");
            let res = rt.block_on(app.clone().oneshot(req)).expect("infallible");
            assert_eq!(res.status(), StatusCode::OK);
        });
    });
    let sig = sign_request(&auditor, &scope, "GET", target, b"", now_ms()).expect("sign");
    c.bench_function("verify_request alone (SM2 verify + SM3)", |b| {
        b.iter(|| {
            verify_request(auditor.public_key(), &scope, "GET", target, b"", &sig).expect("valid")
        });
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30);
    targets = bench
}
criterion_main!(benches);
