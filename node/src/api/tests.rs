//! The API against a real RocksDB ledger store in a temp dir and a contract state from a
//! genesis. The only test double is the task that drains the submission queue (it answers
//! every transaction `rejected` with its hash, in order), standing in for Raft.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_json::Value;
use tokio::sync::mpsc;
use tower::ServiceExt;
use weinong_contracts::{
    AccessRecord, Approval, AssessmentRequest, BlockTime, Call, CategorySet, Change, ConsentGrant,
    ConsentId, DataCategory, EvidenceHash, FieldsHash, Genesis, Governance, MemberId, Purpose,
    RequestId, ResultCommitment, ResultRecord, Role, State, VerifiedTx, apply, kinds,
};
use weinong_keys::request_auth::{HEADER_KEY, HEADER_SIGNATURE, HEADER_TIME};
use weinong_keys::{KeyPair, PublicKey, RequestScope, SubjectPseudonym, sign_request};
use weinong_ledger::bundle::{BundleSet, CertifiedHead, ConsistencyFile, ProofBundle};
use weinong_ledger::store::LedgerStore;
use weinong_ledger::{
    BlockHash, BlockHeader, CommitCertificate, LogDigest, MemberSet, Transaction, TxBody, TxKind,
    merkle,
};

use super::{ApiConfig, BODY_BYTES_MAX, router};
use crate::shared::{Replica, Shared, SubmitOutcome};
use weinong_keys::clock::now_ms;

mod hardening;
mod tls;

struct Fixture {
    router: Router,
    shared: Arc<Shared>,
    members: Vec<KeyPair>,
    set: MemberSet,
    admin: KeyPair,
    auditor: KeyPair,
    registrar: KeyPair,
    institution: KeyPair,
    /// The governance transaction in block 0.
    tx: Transaction,
    _dir: tempfile::TempDir,
}

fn signed_tx(key: &KeyPair, kind: TxKind, nonce: u64, payload: Vec<u8>) -> Transaction {
    let body = TxBody {
        kind,
        signer: key.key_id(),
        nonce,
        time_ms: nonce,
        payload,
    };
    Transaction::sign(body, key).unwrap()
}

/// Genesis (3 members, one admin with k = 1, an auditor, a registrar), then block 0: the
/// admin binds the institution role to a fourth key, certified by two members.
fn fixture() -> Fixture {
    fixture_with(false)
}

/// Appends blocks through the contracts and the store, as the chain does.
struct Chain<'a> {
    store: &'a mut LedgerStore,
    state: &'a mut State,
    members: &'a [KeyPair],
    previous: BlockHash,
}

impl Chain<'_> {
    fn append(&mut self, height: u64, time_ms: u64, txs: &[Transaction], new_keys: &[PublicKey]) {
        let at = BlockTime::new(height, time_ms);
        for tx in txs {
            let verified = VerifiedTx::verify(tx, self.state).unwrap();
            apply(self.state, &verified, at).unwrap();
        }
        let (log_size, log_root) = self.store.preview(txs);
        let header = BlockHeader {
            height,
            previous: self.previous,
            log_size,
            log_root,
            state_digest: self.state.digest(),
            time_ms,
            proposer: self.members[0].key_id(),
            members: self.store.members().digest(),
            next_members: self.store.members().digest(),
        };
        let cert = CommitCertificate::from_votes(
            &header,
            vec![header.vote(&self.members[0]), header.vote(&self.members[1])],
        );
        self.store
            .append_block(&header, &cert, txs, new_keys)
            .unwrap();
        self.previous = header.hash();
    }
}

/// The subject of the story's consent and request.
const SUBJECT: [u8; 32] = [7; 32];
/// The story's request id.
const REQUEST: [u8; 32] = [0x22; 32];

/// Blocks 1–4: a model is registered and a consent granted; the institution requests an
/// assessment; member 1 records its access; the institution records the result.
fn tell_story(
    chain: &mut Chain<'_>,
    genesis_ms: u64,
    admin: &KeyPair,
    registrar: &KeyPair,
    institution: &KeyPair,
) {
    let model_change = Change::RegisterModel {
        categories: CategorySet::of(&[DataCategory::VitalSigns]),
        spec: b"api test model".to_vec(),
    };
    let approved = Governance::approved_bytes(chain.state.consortium(), 1, &model_change);
    let model = Call::Governance(Governance {
        seq: 1,
        change: model_change,
        approvals: vec![Approval {
            admin: admin.key_id(),
            signature: admin.sign(&approved),
        }],
    });
    let model_id = weinong_contracts::payload::model_id(b"api test model");
    let grant = Call::ConsentGrant(ConsentGrant {
        consent: ConsentId::from_bytes([5; 32]),
        subject: SubjectPseudonym::from_bytes(SUBJECT),
        grantee: institution.key_id(),
        purpose: Purpose::AdmissionAssessment,
        categories: CategorySet::of(&[DataCategory::VitalSigns]),
        valid_from: genesis_ms,
        valid_until: genesis_ms + 365 * 86_400_000,
        evidence: EvidenceHash::from_bytes([6; 32]),
    });
    let request = Call::AssessmentRequest(AssessmentRequest {
        request: RequestId::from_bytes(REQUEST),
        subject: SubjectPseudonym::from_bytes(SUBJECT),
        purpose: Purpose::AdmissionAssessment,
        model: model_id,
    });
    let access = Call::AccessRecord(AccessRecord {
        request: RequestId::from_bytes(REQUEST),
        node: MemberId(1),
        subject: SubjectPseudonym::from_bytes(SUBJECT),
        categories: CategorySet::of(&[DataCategory::VitalSigns]),
        consent: ConsentId::from_bytes([5; 32]),
        fields: FieldsHash::from_bytes([8; 32]),
    });
    let result = Call::ResultRecord(ResultRecord {
        request: RequestId::from_bytes(REQUEST),
        model: model_id,
        commitment: ResultCommitment::of(
            &RequestId::from_bytes(REQUEST),
            &model_id,
            1,
            &[3],
            &[9; 32],
        ),
    });
    let tx = |key: &KeyPair, kind: TxKind, nonce: u64, call: &Call| {
        signed_tx(key, kind, nonce, call.encode().unwrap())
    };
    let t = genesis_ms + 2_000;
    chain.append(
        1,
        t,
        &[
            tx(admin, kinds::GOVERNANCE, 2, &model),
            tx(registrar, kinds::CONSENT_GRANT, 1, &grant),
        ],
        &[registrar.public_key().clone()],
    );
    chain.append(
        2,
        t + 1_000,
        &[tx(institution, kinds::ASSESSMENT_REQUEST, 1, &request)],
        &[institution.public_key().clone()],
    );
    let members = chain.members;
    chain.append(
        3,
        t + 2_000,
        &[tx(&members[0], kinds::ACCESS_RECORD, 1, &access)],
        &[members[0].public_key().clone()],
    );
    chain.append(
        4,
        t + 3_000,
        &[tx(institution, kinds::RESULT_RECORD, 2, &result)],
        &[],
    );
}

/// [`fixture`], with [`tell_story`]'s blocks after block 0 when `story`.
fn fixture_with(story: bool) -> Fixture {
    fixture_full(story, ApiConfig::default())
}

fn fixture_full(story: bool, cfg: ApiConfig) -> Fixture {
    let members: Vec<KeyPair> = (0..3).map(|_| KeyPair::generate()).collect();
    let (admin, auditor, registrar, institution) = (
        KeyPair::generate(),
        KeyPair::generate(),
        KeyPair::generate(),
        KeyPair::generate(),
    );
    let genesis_ms = now_ms() - 3_600_000;
    let genesis = Genesis {
        time_ms: genesis_ms,
        threshold: 1,
        members: members
            .iter()
            .enumerate()
            .map(|(i, k)| {
                (
                    MemberId(u16::try_from(i).unwrap() + 1),
                    k.public_key().clone(),
                )
            })
            .collect(),
        admins: vec![admin.public_key().clone()],
        auditors: vec![auditor.public_key().clone()],
        registrars: vec![registrar.public_key().clone()],
    };
    let mut state = State::from_genesis(&genesis).unwrap();
    let change = Change::BindRole {
        key: institution.public_key().clone(),
        role: Role::Institution,
        valid_from: genesis_ms,
        valid_until: None,
    };
    let approved = Governance::approved_bytes(state.consortium(), 0, &change);
    let call = Call::Governance(Governance {
        seq: 0,
        change,
        approvals: vec![Approval {
            admin: admin.key_id(),
            signature: admin.sign(&approved),
        }],
    });
    let tx = signed_tx(&admin, kinds::GOVERNANCE, 1, call.encode().unwrap());
    let dir = tempfile::tempdir().unwrap();
    let set = MemberSet::new(members.iter().map(|k| k.public_key().clone()).collect(), 2).unwrap();
    let mut store = LedgerStore::create(dir.path(), &set).unwrap();
    let mut chain = Chain {
        store: &mut store,
        state: &mut state,
        members: &members,
        previous: BlockHash::default(),
    };
    chain.append(
        0,
        genesis_ms + 1_000,
        std::slice::from_ref(&tx),
        &[admin.public_key().clone()],
    );
    if story {
        tell_story(&mut chain, genesis_ms, &admin, &registrar, &institution);
    }

    let (submit, mut jobs) = mpsc::channel::<crate::shared::SubmitJob>(4);
    tokio::spawn(async move {
        while let Some(job) = jobs.recv().await {
            let outcomes = job
                .txs
                .iter()
                .map(|t| SubmitOutcome::Rejected {
                    tx: t.hash().to_hex(),
                    rejection: weinong_api::RejectionBody::node(
                        weinong_api::RejectionCode::Undecodable,
                        "test double",
                    ),
                })
                .collect();
            let _ = job.reply.send(outcomes);
        }
    });
    let results = crate::results::ResultStore::open(&dir.path().join("results")).unwrap();
    let replica = Replica { store, state };
    let key_id = members[0].key_id();
    let shared = Shared::new(
        "test-node".into(),
        key_id,
        genesis,
        replica,
        submit,
        results,
    );
    let shared = Arc::new(shared);
    Fixture {
        router: router(shared.clone(), cfg),
        shared,
        members,
        set,
        admin,
        auditor,
        registrar,
        institution,
        tx,
        _dir: dir,
    }
}

impl Fixture {
    /// The scope requests to this fixture's node are signed for.
    fn scope(&self) -> RequestScope {
        RequestScope {
            consortium: *self.shared.consortium.as_bytes(),
            node: self.shared.key_id,
        }
    }

    fn signed(&self, key: &KeyPair, method: Method, target: &str, body: Vec<u8>) -> Request<Body> {
        signed_for(&self.scope(), key, method, target, body, now_ms())
    }

    fn get(&self, key: &KeyPair, target: &str) -> Request<Body> {
        self.signed(key, Method::GET, target, Vec::new())
    }

    /// `key`'s GET of `target`, which must be answered 200.
    async fn get_ok(&self, key: &KeyPair, target: &str) -> Value {
        let (status, body) = send(&self.router, self.get(key, target)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }

    /// Expects `key`'s GET of `target` to be refused as `expect` says (see [`refused`]).
    async fn get_refused(&self, key: &KeyPair, target: &str, expect: &str) -> String {
        refused(&self.router, self.get(key, target), expect).await
    }
}

fn signed_for(
    scope: &RequestScope,
    key: &KeyPair,
    method: Method,
    target: &str,
    body: Vec<u8>,
    time_ms: u64,
) -> Request<Body> {
    let sig = sign_request(key, scope, method.as_str(), target, &body, time_ms).unwrap();
    let mut req = Request::builder().method(method).uri(target);
    for (name, value) in sig.headers() {
        req = req.header(name, value);
    }
    req.body(Body::from(body)).unwrap()
}

fn submit_body(txs: &[String]) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({ "transactions": txs })).unwrap()
}

/// An unsigned GET, as the open routes take it.
fn open(target: &str) -> Request<Body> {
    Request::get(target).body(Body::empty()).unwrap()
}

/// The `/metrics` text (the one answer that is not JSON).
async fn metrics(router: &Router) -> String {
    let res = router.clone().oneshot(open("/metrics")).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let bytes = axum::body::to_bytes(res.into_body(), usize::MAX)
        .await
        .unwrap();
    String::from_utf8(bytes.to_vec()).unwrap()
}

/// Sends `req`; every answer, success or error, must be JSON (metrics aside).
async fn send(router: &Router, req: Request<Body>) -> (StatusCode, Value) {
    let res = router.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let bytes = axum::body::to_bytes(res.into_body(), usize::MAX)
        .await
        .unwrap();
    let json: Value = serde_json::from_slice(&bytes)
        .unwrap_or_else(|e| panic!("status {status}: body is not JSON ({e}): {bytes:?}"));
    (status, json)
}

/// Expects an error answer `expect`, written `"<status> <code>"` (`"403 forbidden"`) so a
/// test's refusals read as a list.
async fn refused(router: &Router, req: Request<Body>, expect: &str) -> String {
    let (status, code) = expect
        .split_once(' ')
        .expect("an expectation reads \"<status> <code>\"");
    let (got, body) = send(router, req).await;
    assert_eq!(
        (got.as_str(), body["code"].as_str()),
        (status, Some(code)),
        "{body}"
    );
    let message = body["message"].as_str().unwrap().to_owned();
    assert!(!message.is_empty());
    message
}

#[tokio::test]
async fn unsigned_wrong_stale_replayed_and_unknown_requests_get_401() {
    let f = fixture();
    let r = &f.router;
    let unsigned = Request::get("/v1/blocks/latest")
        .body(Body::empty())
        .unwrap();
    let m = refused(r, unsigned, "401 missing_signature").await;
    assert!(m.contains(HEADER_KEY), "{m}");

    // Signed by another key while naming the auditor's.
    let forged = {
        let mut req = f.get(&KeyPair::generate(), "/v1/blocks/latest");
        req.headers_mut()
            .insert(HEADER_KEY, f.auditor.key_id().to_hex().parse().unwrap());
        req
    };
    refused(r, forged, "401 bad_signature").await;
    // Signed for one path, sent to another.
    let moved = {
        let mut req = f.get(&f.auditor, "/v1/blocks/0");
        *req.uri_mut() = "/v1/blocks/latest".parse().unwrap();
        req
    };
    refused(r, moved, "401 bad_signature").await;
    // Body changed after signing.
    let body_swapped = {
        let req = f.signed(&f.admin, Method::POST, "/v1/transactions", submit_body(&[]));
        let (parts, _) = req.into_parts();
        Request::from_parts(parts, Body::from(submit_body(&["00".into()])))
    };
    refused(r, body_swapped, "401 bad_signature").await;

    // Signed a minute too early, then a minute too late.
    for time_ms in [now_ms() - 60_000, now_ms() + 60_000] {
        let at = signed_for(
            &f.scope(),
            &f.auditor,
            Method::GET,
            "/v1/blocks/latest",
            vec![],
            time_ms,
        );
        refused(r, at, "401 stale_request").await;
    }

    let once = f.get(&f.auditor, "/v1/blocks/latest");
    let (parts, _) = once.into_parts();
    let again = Request::from_parts(parts.clone(), Body::empty());
    assert_eq!(
        send(r, Request::from_parts(parts, Body::empty())).await.0,
        StatusCode::OK
    );
    refused(r, again, "401 replayed_request").await;

    f.get_refused(&KeyPair::generate(), "/v1/blocks/latest", "401 unknown_key")
        .await;

    for (header, value) in [(HEADER_TIME, "soon"), (HEADER_SIGNATURE, "abcd")] {
        let mut bad = f.get(&f.auditor, "/v1/blocks/latest");
        bad.headers_mut().insert(header, value.parse().unwrap());
        refused(r, bad, "401 malformed_signature").await;
    }
}

#[tokio::test]
async fn a_get_with_a_body_is_refused_before_it_is_read() {
    let f = fixture();
    let m = refused(
        &f.router,
        f.signed(&f.auditor, Method::GET, "/v1/blocks/latest", b"{}".to_vec()),
        "400 body_on_get",
    )
    .await;
    assert!(m.contains("GET"), "{m}");
    // The same read without a body is answered.
    let (status, _) = send(&f.router, f.get(&f.auditor, "/v1/blocks/latest")).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn keys_without_the_routes_role_get_403() {
    let f = fixture();
    let r = &f.router;
    let body = submit_body(&[hex::encode(f.tx.as_bytes())]);
    let m = refused(
        r,
        f.signed(&f.auditor, Method::POST, "/v1/transactions", body),
        "403 forbidden",
    )
    .await;
    assert!(
        m.contains("auditor") && m.contains("registrar"),
        "names held and needed roles: {m}"
    );
    f.get_refused(&f.registrar, "/v1/blocks/0", "403 forbidden")
        .await;
    let consent = format!("/v1/consents/{}", "11".repeat(32));
    f.get_refused(&f.institution, &consent, "403 forbidden")
        .await;
    f.get_refused(
        &f.admin,
        &format!("/v1/requests/{}/history", "22".repeat(32)),
        "403 forbidden",
    )
    .await;
    // An institution may not probe others' (or missing) requests; a department gets 404.
    let history = format!("/v1/requests/{}/history", "22".repeat(32));
    f.get_refused(&f.institution, &history, "403 forbidden")
        .await;
    f.get_refused(&f.members[0], &history, "404 no_such_request")
        .await;
    // The same keys pass where their role allows.
    assert_eq!(
        send(r, f.get(&f.registrar, &consent)).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        send(r, f.get(&f.institution, "/v1/blocks/0")).await.0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn bad_submissions_get_400_413_and_422_naming_the_index() {
    let f = fixture();
    let r = &f.router;
    let post = |body: Vec<u8>| f.signed(&f.admin, Method::POST, "/v1/transactions", body);
    refused(
        r,
        post(b"{\"transactions\": [".to_vec()),
        "400 malformed_json",
    )
    .await;
    refused(r, post(b"{\"txs\": []}".to_vec()), "400 malformed_json").await;
    refused(r, post(submit_body(&[])), "400 no_transactions").await;
    let good = hex::encode(f.tx.as_bytes());
    let m = refused(
        r,
        post(submit_body(&[good.clone(), "zz".into()])),
        "400 bad_hex",
    )
    .await;
    assert!(m.contains("transactions[1]"), "{m}");
    let trailing = format!("{good}00");
    let m = refused(r, post(submit_body(&[trailing])), "400 bad_transaction").await;
    assert!(
        m.contains("transactions[0]") && m.contains("trailing"),
        "{m}"
    );
    let unknown = signed_tx(&f.admin, TxKind(0x0600), 9, vec![1, 2, 3]);
    let m = refused(
        r,
        post(submit_body(&[
            good.clone(),
            hex::encode(unknown.as_bytes()),
        ])),
        "422 unknown_kind",
    )
    .await;
    assert!(m.contains("transactions[1]") && m.contains("0x0600"), "{m}");
    let garbled = signed_tx(&f.admin, kinds::CONSENT_REVOKE, 9, vec![1, 2, 3]);
    refused(
        r,
        post(submit_body(&[hex::encode(garbled.as_bytes())])),
        "400 bad_payload",
    )
    .await;
    let huge = vec![b' '; BODY_BYTES_MAX + 1];
    refused(r, post(huge), "413 body_too_large").await;
    // Exactly at the limit is read (and then refused as JSON, not as size).
    let mut at_limit = submit_body(&[]);
    at_limit.resize(BODY_BYTES_MAX, b' ');
    refused(r, post(at_limit), "400 no_transactions").await;
}

#[tokio::test]
async fn a_valid_submission_reaches_the_queue_in_order() {
    let f = fixture();
    let second = signed_tx(&f.registrar, kinds::CONSENT_REVOKE, 5, {
        let mut p = vec![1u8];
        p.extend_from_slice(&[7; 64]);
        p
    });
    let txs = [f.tx.clone(), second];
    let body = submit_body(
        &txs.iter()
            .map(|t| hex::encode(t.as_bytes()))
            .collect::<Vec<_>>(),
    );
    let (status, json) = send(
        &f.router,
        f.signed(&f.registrar, Method::POST, "/v1/transactions", body),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{json}");
    let outcomes = json["outcomes"].as_array().unwrap();
    assert_eq!(outcomes.len(), 2);
    for (o, t) in outcomes.iter().zip(&txs) {
        assert_eq!(o["status"], "rejected");
        assert_eq!(o["tx"], t.hash().to_hex());
    }
}

#[tokio::test]
async fn ledger_reads_return_what_the_store_holds_and_proofs_verify() {
    let f = fixture();
    let r = &f.router;
    let hash = f.tx.hash().to_hex();

    let block = f.get_ok(&f.auditor, "/v1/blocks/0").await;
    let header =
        BlockHeader::decode(&hex::decode(block["header"].as_str().unwrap()).unwrap()).unwrap();
    let cert =
        CommitCertificate::decode(&hex::decode(block["certificate"].as_str().unwrap()).unwrap())
            .unwrap();
    cert.verify(&header, &f.set).unwrap();
    assert_eq!(block["hash"], header.hash().to_hex());
    assert_eq!(block["height"], 0);
    assert_eq!(block["log_size"], 1);
    assert_eq!(block["signatures"].as_array().unwrap().len(), 2);
    let (_, latest) = send(r, f.get(&f.auditor, "/v1/blocks/latest")).await;
    assert_eq!(latest, block);
    f.get_refused(&f.auditor, "/v1/blocks/1", "404 no_such_block")
        .await;
    f.get_refused(&f.auditor, "/v1/blocks/-1", "400 bad_height")
        .await;

    let tx = f
        .get_ok(&f.auditor, &format!("/v1/transactions/{hash}"))
        .await;
    assert_eq!(tx["transaction"], hex::encode(f.tx.as_bytes()));
    assert_eq!(
        (tx["index"].as_u64(), tx["height"].as_u64()),
        (Some(0), Some(0))
    );
    assert_eq!(tx["signer"], f.admin.key_id().to_hex());
    let missing = format!("/v1/transactions/{}", "ab".repeat(32));
    f.get_refused(&f.auditor, &missing, "404 no_such_transaction")
        .await;
    f.get_refused(&f.auditor, "/v1/transactions/xyz", "400 bad_id")
        .await;

    let bundle = f.get_ok(&f.auditor, &format!("/v1/bundles/{hash}")).await;
    let bundle: ProofBundle = serde_json::from_value(bundle).unwrap();
    let report = bundle.verify(Some(&f.set)).unwrap();
    assert_eq!(report.tx_hash, f.tx.hash());
    f.get_refused(
        &f.auditor,
        &format!("/v1/bundles/{}", "ab".repeat(32)),
        "404 no_such_transaction",
    )
    .await;

    let (_, head) = send(r, f.get(&f.auditor, "/v1/tree-head")).await;
    let head: CertifiedHead = serde_json::from_value(head).unwrap();
    assert_eq!(head.verify(Some(&f.set)).unwrap().0, header);

    let (_, proof) = send(
        r,
        f.get(&f.auditor, &format!("/v1/proofs/inclusion/{hash}?size=1")),
    )
    .await;
    let nodes: Vec<[u8; 32]> = proof["proof"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            hex::decode(n.as_str().unwrap())
                .unwrap()
                .try_into()
                .unwrap()
        })
        .collect();
    merkle::verify_inclusion::<LogDigest>(f.tx.as_bytes(), 0, 1, &header.log_root.0, &nodes)
        .unwrap();
    f.get_refused(
        &f.auditor,
        &format!("/v1/proofs/inclusion/{hash}?size=2"),
        "400 bad_size",
    )
    .await;
    f.get_refused(
        &f.auditor,
        &format!("/v1/proofs/inclusion/{hash}?size=x"),
        "400 bad_query",
    )
    .await;

    let consistency = f
        .get_ok(
            &f.auditor,
            "/v1/proofs/consistency?from_height=0&to_height=0",
        )
        .await;
    let consistency: ConsistencyFile = serde_json::from_value(consistency).unwrap();
    assert_eq!((consistency.old_size, consistency.new_size), (1, 1));
    f.get_refused(&f.auditor, "/v1/proofs/consistency", "400 bad_query")
        .await;
    f.get_refused(
        &f.auditor,
        "/v1/proofs/consistency?from_height=0&to_height=3",
        "404 no_such_block",
    )
    .await;
}

#[tokio::test]
async fn state_reads_answer_from_the_contract_state() {
    let f = fixture();
    let r = &f.router;
    let key = f
        .get_ok(&f.institution, &format!("/v1/keys/{}", f.admin.key_id()))
        .await;
    assert_eq!(key["roles"], serde_json::json!(["admin"]));
    assert_eq!(key["last_nonce"], 1);
    let (_, me) = send(
        r,
        f.get(
            &f.institution,
            &format!("/v1/keys/{}", f.institution.key_id()),
        ),
    )
    .await;
    assert_eq!(me["roles"], serde_json::json!(["institution"]));
    assert_eq!(me["last_nonce"], Value::Null);
    let (_, gov) = send(r, f.get(&f.admin, "/v1/governance")).await;
    assert_eq!(
        (
            gov["seq"].as_u64(),
            gov["threshold"].as_u64(),
            gov["height"].as_u64()
        ),
        (Some(1), Some(1), Some(0))
    );
}

#[tokio::test]
async fn open_routes_health_metrics_and_json_errors_for_unknown_routes() {
    let f = fixture();
    let r = &f.router;
    let (status, health) = send(r, open("/healthz")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (health["ok"].as_bool(), health["height"].as_u64()),
        (Some(true), Some(0))
    );
    let text = metrics(r).await;
    for line in [
        "weinong_height 0",
        "weinong_peers 0",
        "weinong_leader 0",
        "weinong_committed_txs_total 0",
        "weinong_commit_latency_seconds_sum 0.000000",
        "weinong_commit_latency_seconds_count 0",
        "weinong_commit_latency_seconds_bucket{le=\"+Inf\"} 0",
        "weinong_assessment_seconds_count 0",
        "weinong_assessments_failed_total 0",
        "weinong_ready 0",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "{line:?} missing in\n{text}"
        );
    }
    assert!(
        !text.lines().any(|l| l.starts_with("weinong_leader_info{")),
        "no leader is known"
    );

    // Alive but not ready: no Raft leader is known to this router's node.
    assert_eq!(health["ready"].as_bool(), Some(false));
    let why = refused(r, open("/readyz"), "503 not_ready").await;
    assert!(why.contains("no Raft leader known"), "{why}");
    // A follower that heard of commits it has not applied yet says how far behind it is.
    let m = &f.shared.metrics;
    let leader = f.set.keys().keys().next().copied().unwrap();
    m.leader.store(
        crate::raft::node_id(&leader),
        std::sync::atomic::Ordering::Relaxed,
    );
    m.note_leader_commit(Some(99));
    m.applied.store(10, std::sync::atomic::Ordering::Relaxed);
    let why = refused(r, open("/readyz"), "503 not_ready").await;
    assert!(why.contains("90 committed Raft entries"), "{why}");
    m.applied.store(100, std::sync::atomic::Ordering::Relaxed);
    let (status, ready) = send(r, open("/readyz")).await;
    assert_eq!(status, StatusCode::OK, "{ready}");
    assert_eq!(
        (ready["ready"].as_bool(), ready["lag"].as_u64()),
        (Some(true), Some(0))
    );
    // The leader is named by its key id in a label: a 64-bit node id is no float sample.
    let text = metrics(r).await;
    let info = format!("weinong_leader_info{{key=\"{leader}\"}} 1");
    assert!(
        text.lines().any(|l| l == info),
        "{info:?} missing in\n{text}"
    );
    assert!(text.lines().any(|l| l == "weinong_leader 1"), "{text}");
    refused(r, open("/v2/nothing"), "404 no_such_route").await;
    let delete = Request::delete("/healthz").body(Body::empty()).unwrap();
    refused(r, delete, "405 method_not_allowed").await;
}

/// Every route the router serves, by method and OpenAPI path.
const ROUTES: &[(&str, &str)] = &[
    ("post", "/v1/transactions"),
    ("get", "/v1/transactions/{hash}"),
    ("get", "/v1/blocks/{height}"),
    ("get", "/v1/blocks/latest"),
    ("get", "/v1/tree-head"),
    ("get", "/v1/proofs/inclusion/{hash}"),
    ("get", "/v1/proofs/consistency"),
    ("get", "/v1/bundles/{hash}"),
    ("get", "/v1/consents/{id}"),
    ("get", "/v1/requests/{id}/history"),
    ("get", "/v1/requests/{id}/bundle"),
    ("get", "/v1/assessments/{id}"),
    ("get", "/v1/subjects/{pseudonym}/accesses"),
    ("get", "/v1/subjects/{pseudonym}/consents"),
    ("get", "/v1/keys/{id}"),
    ("get", "/v1/governance"),
    ("post", "/v1/pseudonyms/evaluate"),
    ("get", "/v1/policies"),
    ("get", "/v1/policy-runs"),
    ("get", "/v1/policy-runs/{run}"),
    ("get", "/v1/policy-runs/{run}/result"),
    ("get", "/v1/proposals"),
    ("post", "/v1/proposals"),
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/metrics"),
    ("get", "/openapi.json"),
    ("get", "/v1/node"),
];

/// Every schema the document refers to is in it: the wire types come from `weinong-api`,
/// error codes and contract refusals included.
#[test]
fn openapi_refers_only_to_schemas_it_holds() {
    fn refs(v: &serde_json::Value, out: &mut Vec<String>) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, v) in m {
                    match (k.as_str(), v.as_str()) {
                        ("$ref", Some(r)) => out.push(r.to_owned()),
                        _ => refs(v, out),
                    }
                }
            }
            serde_json::Value::Array(a) => a.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }
    let doc: serde_json::Value = serde_json::from_str(&super::openapi::document_json()).unwrap();
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for name in [
        "ErrorBody",
        "ErrorCode",
        "RejectionBody",
        "RejectionCode",
        "SubmitOutcome",
    ] {
        assert!(schemas.contains_key(name), "{name} missing");
    }
    let codes = doc["components"]["schemas"]["ErrorCode"]["enum"]
        .as_array()
        .unwrap();
    assert_eq!(codes.len(), weinong_api::ErrorCode::ALL.len());
    let mut found = Vec::new();
    refs(&doc, &mut found);
    assert!(!found.is_empty());
    for r in found {
        let name = r.strip_prefix("#/components/schemas/").unwrap_or(&r);
        assert!(schemas.contains_key(name), "dangling reference {r}");
    }
}

#[tokio::test]
async fn openapi_lists_every_route_the_router_serves() {
    let f = fixture();
    let (status, doc) = send(
        &f.router,
        Request::get("/openapi.json").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let paths = doc["paths"].as_object().unwrap();
    let documented: usize = paths.values().map(|p| p.as_object().unwrap().len()).sum();
    assert_eq!(
        documented,
        ROUTES.len(),
        "{:?}",
        paths.keys().collect::<Vec<_>>()
    );
    for (method, path) in ROUTES {
        let op = &paths[*path][*method];
        assert!(op.is_object(), "{method} {path} not documented");
        let responses = op["responses"].as_object().unwrap();
        if path.starts_with("/v1") && *path != "/v1/node" {
            assert!(
                responses.contains_key("401") && responses.contains_key("403"),
                "{path}"
            );
            assert_eq!(
                responses["401"]["content"]["application/json"]["schema"]["$ref"],
                "#/components/schemas/ErrorBody"
            );
        }
        // The router serves it: an unsigned call is never the fallback's 404.
        let concrete = path
            .replace("{hash}", "00")
            .replace("{height}", "0")
            .replace("{id}", "00")
            .replace("{pseudonym}", "00");
        let req = Request::builder()
            .method(method.to_uppercase().as_str())
            .uri(concrete.as_str())
            .body(Body::empty())
            .unwrap();
        let res = f.router.clone().oneshot(req).await.unwrap();
        assert_ne!(
            res.status(),
            StatusCode::NOT_FOUND,
            "{method} {path} not routed"
        );
        assert_ne!(
            res.status(),
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path} not routed"
        );
    }
    let description = doc["info"]["description"].as_str().unwrap();
    assert!(
        description.contains(&BODY_BYTES_MAX.to_string()),
        "{description}"
    );
    assert!(doc["components"]["securitySchemes"]["weinong_signature"].is_object());
}

#[tokio::test]
async fn serve_answers_on_a_socket_and_stops_on_shutdown() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let f = fixture();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(super::serve(
        listener,
        f.shared.clone(),
        ApiConfig::default(),
        async {
            let _ = stopped.await;
        },
    ));
    let target = "/v1/blocks/latest";
    let sig = sign_request(&f.auditor, &f.scope(), "GET", target, b"", now_ms()).unwrap();
    let mut request = format!("GET {target} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n");
    for (name, value) in sig.headers() {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    let mut sock = tokio::net::TcpStream::connect(addr).await.unwrap();
    sock.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    sock.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("\"height\":0"), "{answer}");
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
}

#[tokio::test]
async fn a_request_bundle_holds_the_whole_story_and_verifies_offline() {
    let f = fixture_with(true);
    let target = format!("/v1/requests/{}/bundle", hex::encode(REQUEST));
    for key in [&f.auditor, &f.admin, &f.institution] {
        let body = f.get_ok(key, &target).await;
        assert_eq!(body["format"], "weinong-request-bundle/1");
        assert_eq!(body["request"], hex::encode(REQUEST));
        let genesis = hex::decode(body["genesis"].as_str().unwrap()).unwrap();
        let genesis = Genesis::decode(&genesis).unwrap();
        assert_eq!(genesis.member_set().unwrap(), f.set);
        let set: BundleSet = serde_json::from_value(body["transactions"].clone()).unwrap();
        let reports = set.verify(Some(&f.set)).unwrap();
        // The model's registration, the consent, the request, the access, the result; in
        // log order.
        let kinds: Vec<u16> = reports
            .iter()
            .map(|r| r.transaction.body().kind.0)
            .collect();
        assert_eq!(kinds, vec![0x0001, 0x0100, 0x0300, 0x0200, 0x0301]);
        let heights: Vec<u64> = reports.iter().map(|r| r.header.height).collect();
        assert_eq!(heights, vec![1, 1, 2, 3, 4]);
    }
    // Not the requester, not a role that reads bundles, unknown, malformed.
    let other = KeyPair::generate();
    f.get_refused(&f.registrar, &target, "403 forbidden").await;
    f.get_refused(&f.members[1], &target, "403 forbidden").await;
    f.get_refused(&other, &target, "401 unknown_key").await;
    let unknown = format!("/v1/requests/{}/bundle", "33".repeat(32));
    f.get_refused(&f.auditor, &unknown, "404 no_such_request")
        .await;
    f.get_refused(&f.institution, &unknown, "403 forbidden")
        .await;
    f.get_refused(&f.auditor, "/v1/requests/xyz/bundle", "400 bad_id")
        .await;
}

#[tokio::test]
async fn a_subjects_accesses_are_listed_to_registrars_auditors_and_admins() {
    let f = fixture_with(true);
    let target = format!("/v1/subjects/{}/accesses", hex::encode(SUBJECT));
    for key in [&f.registrar, &f.auditor, &f.admin] {
        let body = f.get_ok(key, &target).await;
        assert_eq!(body["subject"], hex::encode(SUBJECT));
        assert_eq!(body["truncated"], false);
        let accesses = body["accesses"].as_array().unwrap();
        assert_eq!(accesses.len(), 1, "{body}");
        let a = &accesses[0];
        assert_eq!(a["height"], 3);
        assert_eq!(a["node"], 1);
        assert_eq!(a["request"], hex::encode(REQUEST));
        assert_eq!(a["consent"], hex::encode([5u8; 32]));
        assert_eq!(a["categories"], serde_json::json!(["vital signs"]));
        assert_eq!(a["signer"], f.members[0].key_id().to_hex());
        // The listed hash is the access record's transaction.
        let tx = format!("/v1/transactions/{}", a["tx"].as_str().unwrap());
        let found = f.get_ok(&f.auditor, &tx).await;
        assert_eq!(found["kind"].as_u64(), Some(0x0200));
    }
    let nobody = format!("/v1/subjects/{}/accesses", "44".repeat(32));
    let body = f.get_ok(&f.auditor, &nobody).await;
    assert_eq!(body["accesses"], serde_json::json!([]));
    f.get_refused(&f.institution, &target, "403 forbidden")
        .await;
    f.get_refused(&f.members[0], &target, "403 forbidden").await;
    f.get_refused(&f.auditor, "/v1/subjects/0123/accesses", "400 bad_id")
        .await;
}

fn evaluate_body(blinded: &[String]) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({ "blinded": blinded })).unwrap()
}

fn evaluate(f: &Fixture, key: &KeyPair, blinded: &[String]) -> Request<Body> {
    f.signed(
        key,
        Method::POST,
        "/v1/pseudonyms/evaluate",
        evaluate_body(blinded),
    )
}

#[tokio::test]
async fn pseudonyms_are_evaluated_obliviously_for_institutions_and_registrars_only() {
    use weinong_keys::{EvaluatedId, Pepper, PseudonymBlinding, PseudonymKey, ResidentId};
    let pepper = Pepper::from_bytes([5; 32]);
    let key = PseudonymKey::new(&pepper);
    let f = fixture_full(
        false,
        ApiConfig {
            pseudonym_key: Some(Arc::new(PseudonymKey::new(&pepper))),
            pseudonym_rate: super::pseudonym_routes::PseudonymRate {
                burst: 3,
                per_second: 1,
            },
            ..ApiConfig::default()
        },
    );
    let r = &f.router;
    let id = ResidentId::parse("11010519491231002X").unwrap();
    let (state, blinded) = PseudonymBlinding::blind(&id).unwrap();
    let (status, body) = send(
        r,
        evaluate(&f, &f.institution, &[hex::encode(blinded.to_bytes())]),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let answer = hex::decode(body["evaluated"][0].as_str().unwrap()).unwrap();
    let pseudonym = state
        .finish(&EvaluatedId::from_bytes(&answer).unwrap())
        .unwrap();
    // The department's direct evaluation at import gives the same pseudonym.
    assert_eq!(pseudonym, key.derive(&id));

    // Roles: a registrar may, a department, an auditor and an admin may not.
    let (_, b2) = PseudonymBlinding::blind(&id).unwrap();
    let one = [hex::encode(b2.to_bytes())];
    assert_eq!(
        send(r, evaluate(&f, &f.registrar, &one)).await.0,
        StatusCode::OK
    );
    for k in [&f.members[0], &f.auditor, &f.admin] {
        refused(r, evaluate(&f, k, &one), "403 forbidden").await;
    }

    // A malformed element is named by its index; nothing is evaluated or charged.
    let not_a_point = [one[0].clone(), "ff".repeat(32)];
    let m = refused(
        r,
        evaluate(&f, &f.registrar, &not_a_point),
        "400 bad_blinded_element",
    )
    .await;
    assert!(
        m.contains("blinded[1]") && m.contains("ristretto255"),
        "{m}"
    );
    let m = refused(
        r,
        evaluate(&f, &f.registrar, &["abc".into()]),
        "400 bad_blinded_element",
    )
    .await;
    assert!(m.contains("blinded[0]"), "{m}");
    refused(r, evaluate(&f, &f.registrar, &[]), "400 bad_batch_size").await;

    // The institution has 2 of its 3 tokens left: 2 more pass, the next is 429 with
    // Retry-After, and another key's bucket is its own.
    let two = [one[0].clone(), one[0].clone()];
    assert_eq!(
        send(r, evaluate(&f, &f.institution, &two)).await.0,
        StatusCode::OK
    );
    let res = r
        .clone()
        .oneshot(evaluate(&f, &f.institution, &one))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=3).contains(&retry), "{retry}");
    let bytes = axum::body::to_bytes(res.into_body(), usize::MAX)
        .await
        .unwrap();
    let body: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(body["code"], "rate_limited");
    // More than the whole bucket at once can never pass.
    let four = vec![one[0].clone(); 4];
    refused(r, evaluate(&f, &f.registrar, &four), "429 rate_limited").await;

    // /metrics counts the 4 evaluations and the 2 refusals.
    let res = r
        .clone()
        .oneshot(Request::get("/metrics").body(Body::empty()).unwrap())
        .await
        .unwrap();
    let text = axum::body::to_bytes(res.into_body(), usize::MAX)
        .await
        .unwrap();
    let text = String::from_utf8(text.to_vec()).unwrap();
    assert!(
        text.contains("weinong_pseudonym_evaluations_total 4"),
        "{text}"
    );
    assert!(
        text.contains("weinong_pseudonym_rate_limited_total 2"),
        "{text}"
    );
}

#[tokio::test]
async fn a_node_without_the_pseudonym_key_says_so() {
    let f = fixture();
    let m = refused(
        &f.router,
        evaluate(&f, &f.institution, &["00".repeat(32)]),
        "503 no_pseudonym_key",
    )
    .await;
    assert!(m.contains("department node"), "{m}");
}

/// A peer's sealed share (`PeerRequest::SealedShare`) is written only for a request on the
/// ledger, from the key configured for its party, that is that request's department on
/// the ledger, under a signature that verifies; every other one is refused before anything
/// is stored.
#[tokio::test]
async fn a_peers_sealed_share_is_refused_unless_it_is_that_departments_for_a_known_request() {
    use crate::assess::accept_peer_share;
    use crate::wire::PeerResponse;
    use weinong_keys::{KeyId, sm3_digest};
    use weinong_mpc::PartyId;
    use weinong_mpc::model::{ModelId as MpcModelId, share_signature_message};

    let f = fixture_with(true);
    let m = &f.members;
    // The story: member 1 (members[0]) recorded the request's vital-signs (health) access.
    let parties = [m[1].key_id(), m[0].key_id(), m[2].key_id()];
    let request = RequestId::from_bytes(REQUEST);
    let unknown = RequestId::from_bytes([0x99; 32]);
    let consortium = f.shared.consortium.0;
    let model = MpcModelId(*weinong_contracts::payload::model_id(b"api test model").as_bytes());
    let blob = vec![7u8; 40];
    let sign = |key: &KeyPair, request: &RequestId, party: u8| {
        let message = share_signature_message(
            &consortium,
            request.as_bytes(),
            PartyId::new(party).unwrap(),
            &model,
            &sm3_digest(&blob),
        );
        key.sign(&message).to_bytes()
    };
    let offer = |from: &KeyPair, request: RequestId, party: u8, sig: [u8; 64], cfg: &[KeyId; 3]| {
        accept_peer_share(
            &f.shared,
            cfg,
            &from.key_id(),
            request,
            party,
            &sig,
            blob.clone(),
        )
    };
    let refused = |response: PeerResponse, why: &str| match response {
        PeerResponse::Refused(reason) => assert!(reason.contains(why), "{reason}"),
        other => panic!("accepted ({other:?}); expected a refusal naming {why:?}"),
    };

    // A request the ledger does not know.
    refused(
        offer(&m[0], unknown, 1, sign(&m[0], &unknown, 1), &parties),
        "not on this node's ledger",
    );
    // A member whose node claims to play civil affairs, but the ledger says it recorded the
    // request's health access.
    let swapped = [m[0].key_id(), m[1].key_id(), m[2].key_id()];
    refused(
        offer(&m[0], request, 0, sign(&m[0], &request, 0), &swapped),
        "not that department's",
    );
    // A key configured for a party that is no department member's.
    let outsider = [f.institution.key_id(), m[0].key_id(), m[2].key_id()];
    refused(
        offer(
            &f.institution,
            request,
            0,
            sign(&f.institution, &request, 0),
            &outsider,
        ),
        "not a department member's key",
    );
    // Another member naming health's party.
    refused(
        offer(&m[2], request, 1, sign(&m[2], &request, 1), &parties),
        "is not party 1",
    );
    // Health's key, but signed for another request.
    refused(
        offer(&m[0], request, 1, sign(&m[0], &unknown, 1), &parties),
        "does not verify",
    );
    let store = &f.shared.assess.results;
    assert!(store.get(&unknown).unwrap().is_empty(), "nothing written");
    assert!(store.get(&request).unwrap().is_empty(), "nothing written");

    // Health's own share, signed for this request: stored.
    let response = offer(&m[0], request, 1, sign(&m[0], &request, 1), &parties);
    assert!(matches!(response, PeerResponse::Ack), "{response:?}");
    let stored = store.get(&request).unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!((stored[0].party, stored[0].signer), (1, m[0].key_id()));
}

/// `POST /v1/proposals` with `proposal`'s file text, signed by `key`.
fn post_proposal(
    f: &Fixture,
    key: &KeyPair,
    proposal: &weinong_api::proposal::Proposal,
) -> Request<Body> {
    let text = serde_json::to_string(proposal).unwrap();
    let body = serde_json::to_vec(&serde_json::json!({ "proposal": text })).unwrap();
    f.signed(key, Method::POST, "/v1/proposals", body)
}

#[tokio::test]
async fn pending_proposals_hold_only_approvals_that_count_and_only_admins_see_them() {
    use weinong_api::proposal::Proposal;
    let f = fixture();
    let r = &f.router;
    let consortium = f.shared.consortium;
    let change = || Change::BindRole {
        key: KeyPair::generate().public_key().clone(),
        role: Role::Auditor,
        valid_from: 1,
        valid_until: None,
    };
    // The ledger expects governance change 1 next (block 0 used 0).
    let mut good = Proposal::new(&consortium, 1, change()).unwrap();
    good.approve(&f.admin).unwrap();
    let (status, stored) = send(r, post_proposal(&f, &f.admin, &good)).await;
    assert_eq!(status, StatusCode::OK, "{stored}");
    assert_eq!(
        stored["approvals"],
        serde_json::json!([f.admin.key_id().to_hex()])
    );
    let listed = f.get_ok(&f.admin, "/v1/proposals").await;
    assert_eq!(
        (listed["seq"].as_u64(), listed["threshold"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(listed["proposals"][0]["id"], stored["id"]);
    // Posting it again adds nothing.
    let (_, again) = send(r, post_proposal(&f, &f.admin, &good)).await;
    assert_eq!(again["approvals"].as_array().unwrap().len(), 1);

    // What the board refuses, by name: no approval, a non-admin's approval, a forged one,
    // another consortium, a stale or future sequence number.
    let empty = Proposal::new(&consortium, 1, change()).unwrap();
    refused(r, post_proposal(&f, &f.admin, &empty), "400 bad_proposal").await;
    let mut by_auditor = Proposal::new(&consortium, 1, change()).unwrap();
    by_auditor.approve(&f.auditor).unwrap();
    let said = refused(
        r,
        post_proposal(&f, &f.admin, &by_auditor),
        "400 bad_proposal",
    )
    .await;
    assert!(said.contains("no admin role"), "{said}");
    let mut forged = Proposal::new(&consortium, 1, change()).unwrap();
    forged.approve(&f.admin).unwrap();
    forged.approvals[0].signature = good.approvals[0].signature.clone();
    let said = refused(r, post_proposal(&f, &f.admin, &forged), "400 bad_proposal").await;
    assert!(said.contains("does not verify"), "{said}");
    let mut elsewhere = Proposal::new(&weinong_ledger::Hash32([1; 32]), 1, change()).unwrap();
    elsewhere.approve(&f.admin).unwrap();
    refused(
        r,
        post_proposal(&f, &f.admin, &elsewhere),
        "400 bad_proposal",
    )
    .await;
    for seq in [0, 2] {
        let mut p = Proposal::new(&consortium, seq, change()).unwrap();
        p.approve(&f.admin).unwrap();
        refused(r, post_proposal(&f, &f.admin, &p), "409 stale_proposal").await;
    }
    let junk = f.signed(
        &f.admin,
        Method::POST,
        "/v1/proposals",
        b"{\"proposal\": \"{}\"}".to_vec(),
    );
    refused(r, junk, "400 bad_proposal").await;
    // Only admins read or post them.
    for key in [&f.auditor, &f.registrar, &f.institution, &f.members[0]] {
        f.get_refused(key, "/v1/proposals", "403 forbidden").await;
        refused(r, post_proposal(&f, key, &good), "403 forbidden").await;
    }
    let listed = f.get_ok(&f.admin, "/v1/proposals").await;
    assert_eq!(listed["proposals"].as_array().unwrap().len(), 1, "{listed}");
}
