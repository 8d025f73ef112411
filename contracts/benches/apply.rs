//! Transactions applied per second, without signature checks (pre-verified) and with them
//! (plain SM2 verification, and `PreparedPublicKey` tables for recurring signers), plus the
//! cost of one state digest.
//!
//! The workload is the assessment path, per subject: consent grant, request, three
//! department accesses (the last authorises), result: six accepted transactions, 100 per
//! block. Run: `cargo bench -p weinong-contracts --bench apply`.

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use weinong_contracts::{
    AccessRecord, Approval, AssessmentRequest, BlockTime, Call, CategorySet, Change, ConsentGrant,
    ConsentId, DataCategory as C, EvidenceHash, FieldsHash, Genesis, Governance, MemberId,
    PreparedKeys, Purpose, RequestId, ResultCommitment, ResultRecord, Role, State, VerifiedTx,
    apply, payload::model_id,
};
use weinong_keys::{KeyPair, SubjectPseudonym};
use weinong_ledger::{Transaction, TxBody};

const T0: u64 = 1_767_225_600_000;
const TXS_PER_BLOCK: u64 = 100;

struct Workload {
    state: State,
    txs: Vec<(Transaction, BlockTime)>,
}

fn sign(key: &KeyPair, call: &Call, nonce: u64) -> Transaction {
    let body = TxBody {
        kind: call.kind(),
        signer: key.key_id(),
        nonce,
        time_ms: 0,
        payload: call.encode().expect("encodes"),
    };
    Transaction::sign(body, key).expect("fits")
}

fn workload(subjects: u32) -> Workload {
    let admins: Vec<KeyPair> = (0..3).map(|_| KeyPair::generate()).collect();
    let nodes: Vec<KeyPair> = (0..3).map(|_| KeyPair::generate()).collect();
    let registrar = KeyPair::generate();
    let institution = KeyPair::generate();
    let genesis = Genesis {
        time_ms: T0,
        threshold: 2,
        members: nodes
            .iter()
            .enumerate()
            .map(|(i, k)| (MemberId(i as u16 + 1), k.public_key().clone()))
            .collect(),
        admins: admins.iter().map(|k| k.public_key().clone()).collect(),
        auditors: vec![],
        registrars: vec![registrar.public_key().clone()],
    };
    let mut state = State::from_genesis(&genesis).expect("genesis");
    let spec = b"admission-v1".to_vec();
    let model = model_id(&spec);
    let needed = CategorySet::of(&[C::AbilityAssessment, C::VitalSigns, C::InsuranceClaims]);
    // Setup by governance (not measured): bind the institution, register the model.
    let changes = [
        Change::BindRole {
            key: institution.public_key().clone(),
            role: Role::Institution,
            valid_from: T0,
            valid_until: None,
        },
        Change::RegisterModel {
            categories: needed,
            spec,
        },
    ];
    for (seq, change) in changes.into_iter().enumerate() {
        let seq = seq as u64;
        let bytes = Governance::approved_bytes(state.consortium(), seq, &change);
        let mut approvals: Vec<Approval> = admins[..2]
            .iter()
            .map(|a| Approval {
                admin: a.key_id(),
                signature: a.sign(&bytes),
            })
            .collect();
        approvals.sort_by_key(|a| a.admin);
        let tx = sign(
            &admins[0],
            &Call::Governance(Governance {
                seq,
                change,
                approvals,
            }),
            seq + 1,
        );
        let v = VerifiedTx::verify(&tx, &state).expect("verifies");
        apply(&mut state, &v, BlockTime::new(1, T0)).expect("setup applies");
    }

    let mut txs = Vec::new();
    let mut nonce = [0u64; 5];
    let mut next = |who: usize| {
        nonce[who] += 1;
        nonce[who]
    };
    for s in 0..subjects {
        let mut id = [0u8; 32];
        id[..4].copy_from_slice(&s.to_be_bytes());
        let subject = SubjectPseudonym::from_bytes(id);
        let consent = ConsentId::from_bytes(id);
        let request = RequestId::from_bytes(id);
        let grant = Call::ConsentGrant(ConsentGrant {
            consent,
            subject,
            grantee: institution.key_id(),
            purpose: Purpose::AdmissionAssessment,
            categories: needed,
            valid_from: T0,
            valid_until: T0 + 365 * 24 * 3_600_000,
            evidence: EvidenceHash::from_bytes([1; 32]),
        });
        let ask = Call::AssessmentRequest(AssessmentRequest {
            request,
            subject,
            purpose: Purpose::AdmissionAssessment,
            model,
        });
        let access = |node: u16, c: C| {
            Call::AccessRecord(AccessRecord {
                request,
                node: MemberId(node),
                subject,
                categories: CategorySet::of(&[c]),
                consent,
                fields: FieldsHash::from_bytes([2; 32]),
            })
        };
        let done = Call::ResultRecord(ResultRecord {
            request,
            model,
            commitment: ResultCommitment::from_bytes([3; 32]),
        });
        txs.push(sign(&registrar, &grant, next(3)));
        txs.push(sign(&institution, &ask, next(4)));
        txs.push(sign(&nodes[0], &access(1, C::AbilityAssessment), next(0)));
        txs.push(sign(&nodes[1], &access(2, C::VitalSigns), next(1)));
        txs.push(sign(&nodes[2], &access(3, C::InsuranceClaims), next(2)));
        txs.push(sign(&nodes[0], &done, next(0)));
    }
    let txs = txs
        .into_iter()
        .enumerate()
        .map(|(i, tx)| {
            let block = i as u64 / TXS_PER_BLOCK;
            (tx, BlockTime::new(2 + block, T0 + 1000 * (block + 1)))
        })
        .collect();
    Workload { state, txs }
}

fn apply_all(c: &mut Criterion) {
    let w = workload(2_000);
    // Pre-verified: the signature checks happen here, outside the measurement.
    let verified: Vec<(VerifiedTx, BlockTime)> = w
        .txs
        .iter()
        .map(|(tx, at)| (VerifiedTx::verify(tx, &w.state).expect("verifies"), *at))
        .collect();
    {
        let mut s = w.state.clone();
        for (v, at) in &verified {
            apply(&mut s, v, *at).expect("every workload transaction is accepted");
        }
    }
    let mut g = c.benchmark_group("contracts");
    g.sample_size(10);
    g.throughput(Throughput::Elements(verified.len() as u64));
    g.bench_function("apply_without_signatures", |b| {
        b.iter_batched(
            || w.state.clone(),
            |mut s| {
                for (v, at) in &verified {
                    let _ = apply(&mut s, v, *at);
                }
                s
            },
            BatchSize::LargeInput,
        )
    });

    let small = workload(100);
    let mut prepared = PreparedKeys::new();
    g.throughput(Throughput::Elements(small.txs.len() as u64));
    g.bench_function("verify_prepared_and_apply", |b| {
        b.iter_batched(
            || small.state.clone(),
            |mut s| {
                for (tx, at) in &small.txs {
                    let v = VerifiedTx::verify_prepared(tx, &s, &mut prepared).expect("verifies");
                    let _ = apply(&mut s, &v, *at);
                }
                s
            },
            BatchSize::LargeInput,
        )
    });
    g.bench_function("verify_plain_and_apply", |b| {
        b.iter_batched(
            || small.state.clone(),
            |mut s| {
                for (tx, at) in &small.txs {
                    let v = VerifiedTx::verify(tx, &s).expect("verifies");
                    let _ = apply(&mut s, &v, *at);
                }
                s
            },
            BatchSize::LargeInput,
        )
    });

    let mut full = w.state.clone();
    for (v, at) in &verified {
        let _ = apply(&mut full, v, *at);
    }
    g.throughput(Throughput::Elements(1));
    g.bench_function("state_digest_2000_subjects", |b| b.iter(|| full.digest()));
    g.finish();
}

criterion_group!(benches, apply_all);
criterion_main!(benches);
