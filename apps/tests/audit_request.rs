//! `weinong audit verify` of request bundles, offline: a small ledger is written here with
//! the ledger store and contract payloads (as colluding members could certify anything, the
//! blocks are appended without the contracts, so stories the contracts would refuse can be
//! told), exported as `weinong-request-bundle/1`, and checked by the binary. A good story
//! verifies (exit 0); a dropped access, a consent for another grantee, a withdrawal before
//! the access, a result signed by a department, or a wrong receipt is FAILED naming why
//! (exit 1).

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;
use std::process::Output;

use serde_json::json;
use weinong_contracts::payload::model_id;
use weinong_contracts::{
    AccessRecord, Approval, AssessmentRequest, Call, CategorySet, Change, ConsentGrant, ConsentId,
    ConsentRevoke, DataCategory, EvidenceHash, FieldsHash, Genesis, Governance, MemberId, Purpose,
    RequestId, ResultCommitment, ResultRecord,
};
use weinong_keys::{KeyId, KeyPair, SubjectPseudonym};
use weinong_ledger::store::LedgerStore;
use weinong_ledger::{BlockHash, BlockHeader, CommitCertificate, Hash32, Transaction, TxBody};

mod common;

use common::{combined as text, exits, p, weinong_out as weinong};

const T0: u64 = 1_767_225_600_000;
const HOUR: u64 = 3_600_000;
const MODEL_SPEC: &[u8] = b"audit test model";
const REQUEST: [u8; 32] = [0x22; 32];
const SUBJECT: [u8; 32] = [7; 32];
const NONCE: [u8; 32] = [9; 32];
const OUTPUTS: [[i64; 2]; 1] = [[3, 1]];

/// The consortium's keys.
struct Cast {
    members: Vec<KeyPair>,
    admin: KeyPair,
    registrar: KeyPair,
    institution: KeyPair,
    other_institution: KeyPair,
}

/// A ledger store that takes whatever blocks a quorum of the cast's members signs.
struct Ledger {
    store: LedgerStore,
    genesis: Genesis,
    known: BTreeSet<KeyId>,
    nonce: u64,
    height: u64,
    previous: BlockHash,
}

impl Ledger {
    fn new(dir: &Path) -> (Ledger, Cast) {
        let cast = Cast {
            members: (0..3).map(|_| KeyPair::generate()).collect(),
            admin: KeyPair::generate(),
            registrar: KeyPair::generate(),
            institution: KeyPair::generate(),
            other_institution: KeyPair::generate(),
        };
        let genesis = Genesis {
            time_ms: T0,
            threshold: 1,
            members: cast
                .members
                .iter()
                .zip(1u16..)
                .map(|(k, i)| (MemberId(i), k.public_key().clone()))
                .collect(),
            admins: vec![cast.admin.public_key().clone()],
            auditors: vec![KeyPair::generate().public_key().clone()],
            registrars: vec![cast.registrar.public_key().clone()],
        };
        let set = genesis.member_set().expect("3 members");
        let ledger = Ledger {
            store: LedgerStore::create(dir, &set).expect("create store"),
            genesis,
            known: BTreeSet::new(),
            nonce: 0,
            height: 0,
            previous: BlockHash::default(),
        };
        (ledger, cast)
    }

    fn sign(&mut self, key: &KeyPair, call: &Call) -> Transaction {
        self.nonce += 1;
        let body = TxBody {
            kind: call.kind(),
            signer: key.key_id(),
            nonce: self.nonce,
            time_ms: T0,
            payload: call.encode().expect("encodes"),
        };
        Transaction::sign(body, key).expect("signs")
    }

    /// One block holding `calls`, each signed by its key, at `T0 + height hours`,
    /// certified by two members; returns the transactions.
    fn commit(&mut self, cast: &Cast, calls: &[(&KeyPair, Call)]) -> Vec<Transaction> {
        let txs: Vec<Transaction> = calls.iter().map(|(k, c)| self.sign(k, c)).collect();
        let mut new_keys = Vec::new();
        for (key, _) in calls {
            if self.known.insert(key.key_id()) {
                new_keys.push(key.public_key().clone());
            }
        }
        let (log_size, log_root) = self.store.preview(&txs);
        let header = BlockHeader {
            height: self.height,
            previous: self.previous,
            log_size,
            log_root,
            state_digest: Hash32([0; 32]),
            time_ms: T0 + self.height * HOUR,
            proposer: cast.members[0].key_id(),
            members: self.store.members().digest(),
            next_members: self.store.members().digest(),
        };
        let cert = CommitCertificate::from_votes(
            &header,
            vec![header.vote(&cast.members[0]), header.vote(&cast.members[1])],
        );
        self.store
            .append_block(&header, &cert, &txs, &new_keys)
            .expect("append");
        self.previous = header.hash();
        self.height += 1;
        txs
    }

    /// The request bundle of these transactions, as the node writes it.
    fn bundle(&self, txs: &[Transaction], genesis: bool) -> serde_json::Value {
        let hashes: Vec<_> = txs.iter().map(Transaction::hash).collect();
        let set = self.store.export_bundle_set(&hashes).expect("export");
        let mut out = json!({
            "format": "weinong-request-bundle/1",
            "request": hex::encode(REQUEST),
            "transactions": serde_json::to_value(&set).expect("json"),
        });
        if genesis {
            out["genesis"] = json!(hex::encode(self.genesis.encode().expect("encodes")));
        }
        out
    }
}

fn cats(c: &[DataCategory]) -> CategorySet {
    CategorySet::of(c)
}

fn model() -> weinong_contracts::ModelId {
    model_id(MODEL_SPEC)
}

fn commitment(outputs: &[i64]) -> ResultCommitment {
    ResultCommitment::of(
        &RequestId::from_bytes(REQUEST),
        &model(),
        1,
        outputs,
        &NONCE,
    )
}

/// How a story departs from the honest one.
#[derive(Clone, Copy, PartialEq)]
enum Twist {
    None,
    /// The consent is granted to another institution.
    OtherGrantee,
    /// The consent is withdrawn in a block before the health node's access.
    RevokedBefore,
    /// The result commitment is signed by a department, not the requester.
    DepartmentResult,
}

/// The story: model registered, consent granted (block 1); request (2); civil-affairs and
/// health accesses (3, 4); result (5). Returns the transactions in order.
fn story(l: &mut Ledger, c: &Cast, twist: Twist) -> Vec<Transaction> {
    let (m0, m1, m2) = (&c.members[0], &c.members[1], &c.members[2]);
    let model_change = Change::RegisterModel {
        categories: cats(&[DataCategory::AbilityAssessment, DataCategory::VitalSigns]),
        spec: MODEL_SPEC.to_vec(),
    };
    let consortium = l.genesis.consortium().expect("id");
    let approved = Governance::approved_bytes(&consortium, 0, &model_change);
    let register = Call::Governance(Governance {
        seq: 0,
        change: model_change,
        approvals: vec![Approval {
            admin: c.admin.key_id(),
            signature: c.admin.sign(&approved),
        }],
    });
    let consent = ConsentId::from_bytes([5; 32]);
    let grantee = if twist == Twist::OtherGrantee {
        c.other_institution.key_id()
    } else {
        c.institution.key_id()
    };
    let grant = Call::ConsentGrant(ConsentGrant {
        consent,
        subject: SubjectPseudonym::from_bytes(SUBJECT),
        grantee,
        purpose: Purpose::AdmissionAssessment,
        categories: cats(&[DataCategory::AbilityAssessment, DataCategory::VitalSigns]),
        valid_from: T0,
        valid_until: T0 + 1_000 * HOUR,
        evidence: EvidenceHash::from_bytes([6; 32]),
    });
    let access = |node: u16, c: DataCategory| {
        Call::AccessRecord(AccessRecord {
            request: RequestId::from_bytes(REQUEST),
            node: MemberId(node),
            subject: SubjectPseudonym::from_bytes(SUBJECT),
            categories: cats(&[c]),
            consent,
            fields: FieldsHash::from_bytes([8; 32]),
        })
    };
    let result = Call::ResultRecord(ResultRecord {
        request: RequestId::from_bytes(REQUEST),
        model: model(),
        commitment: commitment(OUTPUTS.as_flattened()),
    });
    let mut txs = Vec::new();
    l.commit(c, &[]); // block 0: nothing yet
    txs.extend(l.commit(c, &[(&c.admin, register), (&c.registrar, grant)]));
    let request = Call::AssessmentRequest(AssessmentRequest {
        request: RequestId::from_bytes(REQUEST),
        subject: SubjectPseudonym::from_bytes(SUBJECT),
        purpose: Purpose::AdmissionAssessment,
        model: model(),
    });
    txs.extend(l.commit(c, &[(&c.institution, request)]));
    txs.extend(l.commit(c, &[(m0, access(1, DataCategory::AbilityAssessment))]));
    if twist == Twist::RevokedBefore {
        let revoke = Call::ConsentRevoke(ConsentRevoke {
            consent,
            evidence: EvidenceHash::from_bytes([4; 32]),
        });
        txs.extend(l.commit(c, &[(&c.registrar, revoke)]));
    }
    txs.extend(l.commit(c, &[(m1, access(2, DataCategory::VitalSigns))]));
    let result_signer = if twist == Twist::DepartmentResult {
        m2
    } else {
        &c.institution
    };
    txs.extend(l.commit(c, &[(result_signer, result)]));
    txs
}

fn receipt(outputs: &[[i64; 2]]) -> serde_json::Value {
    let flat: Vec<i64> = outputs.iter().flatten().copied().collect();
    json!({
        "request": hex::encode(REQUEST),
        "model": model().to_hex(),
        "len": outputs.len(),
        "outputs": outputs,
        "output_names": ["care_level", "fall_risk"],
        "nonce": hex::encode(NONCE),
        "commitment": ResultCommitment::of(
            &RequestId::from_bytes(REQUEST), &model(),
            u32::try_from(outputs.len()).expect("small"), &flat, &NONCE).to_hex(),
    })
}

/// Writes `bundle` (and `receipt`) and runs `weinong audit verify` on them.
fn verify(
    dir: &Path,
    bundle: &serde_json::Value,
    receipt: Option<&serde_json::Value>,
    genesis: Option<&Genesis>,
) -> Output {
    let path = dir.join("bundle.json");
    fs::write(&path, serde_json::to_vec_pretty(bundle).expect("json")).expect("write");
    let mut args = vec!["audit".to_owned(), "verify".to_owned(), p(&path).to_owned()];
    if let Some(r) = receipt {
        let rp = dir.join("receipt.json");
        fs::write(&rp, serde_json::to_vec(r).expect("json")).expect("write");
        args.extend(["--receipt".to_owned(), p(&rp).to_owned()]);
    }
    if let Some(g) = genesis {
        let gp = dir.join("genesis.bin");
        fs::write(&gp, g.encode().expect("encodes")).expect("write");
        args.extend(["--genesis".to_owned(), p(&gp).to_owned()]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    weinong(&args)
}

fn told(twist: Twist) -> (tempfile::TempDir, Ledger, Vec<Transaction>) {
    let tmp = tempfile::tempdir().expect("temp dir");
    let (mut l, cast) = Ledger::new(&tmp.path().join("ledger"));
    let txs = story(&mut l, &cast, twist);
    (tmp, l, txs)
}

fn failed_with(out: &Output, check: &str, reason: &str) {
    let t = text(out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(
        t.lines()
            .any(|l| l.starts_with("FAILED") && l.contains(check) && l.contains(reason)),
        "no FAILED {check} line with {reason:?}:\n{t}"
    );
}

#[test]
fn an_honest_story_verifies_with_its_receipt() {
    let (tmp, l, txs) = told(Twist::None);
    let bundle = l.bundle(&txs, true);
    let good = receipt(&OUTPUTS);
    let out = verify(tmp.path(), &bundle, Some(&good), None);
    let t = exits(
        &out,
        0,
        &[
            "ok      proofs: 6 transactions",
            "ok      authorisation",
            "ok      receipt",
        ],
    );
    assert!(!t.contains("FAILED"), "{t}");
    assert_eq!(t.matches("ok      access ").count(), 2, "{t}");
    // Without the genesis in the bundle, --genesis pins it; without either, input error.
    let mut bare = l.bundle(&txs, false);
    let out = verify(tmp.path(), &bare, None, Some(&l.genesis));
    exits(&out, 0, &["pinned from"]);
    let out = verify(tmp.path(), &bare, None, None);
    exits(&out, 2, &["--genesis"]);
    // A genesis that is not the bundle's is refused; so are proofs it does not certify.
    let (_, other, _) = told(Twist::None);
    let out = verify(tmp.path(), &bundle, None, Some(&other.genesis));
    failed_with(&out, "genesis", "not the pinned one");
    bare["genesis"] = json!(hex::encode(other.genesis.encode().expect("encodes")));
    let out = verify(tmp.path(), &bare, None, None);
    failed_with(&out, "proofs", "members");
}

#[test]
fn a_dropped_access_is_found_by_the_models_categories() {
    let (tmp, l, txs) = told(Twist::None);
    let mut bundle = l.bundle(&txs, true);
    let entries = bundle["transactions"]["entries"]
        .as_array_mut()
        .expect("entries");
    // Entries are in log order: register, grant, request, access, access, result.
    entries.remove(4);
    let out = verify(tmp.path(), &bundle, None, None);
    failed_with(&out, "authorisation", "vital signs");
}

/// The story told with `twist`, verified without a receipt: FAILED at `check` for
/// `reason`. Returns what the verifier printed.
fn twisted_story_fails(twist: Twist, check: &str, reason: &str) -> String {
    let (tmp, l, txs) = told(twist);
    let out = verify(tmp.path(), &l.bundle(&txs, true), None, None);
    failed_with(&out, check, reason);
    text(&out)
}

#[test]
fn a_consent_for_another_grantee_is_failed() {
    twisted_story_fails(Twist::OtherGrantee, "access", "not to the requester");
}

#[test]
fn a_withdrawal_before_the_access_is_failed() {
    let t = twisted_story_fails(Twist::RevokedBefore, "access", "withdrawn at block 4");
    // The access before the withdrawal still holds.
    assert!(t.contains("ok      access"), "{t}");
}

#[test]
fn a_result_not_signed_by_the_requester_is_failed() {
    twisted_story_fails(Twist::DepartmentResult, "result", "not by the requester");
}

#[test]
fn a_wrong_receipt_is_failed() {
    let (tmp, l, txs) = told(Twist::None);
    let bundle = l.bundle(&txs, true);
    // A self-consistent receipt for another result: it does not open the ledger's.
    let other = receipt(&[[4, 1]]);
    let out = verify(tmp.path(), &bundle, Some(&other), None);
    failed_with(&out, "receipt", "the ledger records");
    // A receipt whose outputs were changed after the fact does not even open itself.
    let mut edited = receipt(&OUTPUTS);
    edited["outputs"] = json!([[2, 1]]);
    let out = verify(tmp.path(), &bundle, Some(&edited), None);
    failed_with(&out, "receipt", "not its own commitment");
}

/// Writes the honest story's bundle, genesis and receipt as the fixture of the WebAssembly
/// test of `weinong-audit` (`audit/wasm-test`). Run by hand when the bundle format changes:
/// `cargo test --release --workspace --test audit_request -- --ignored write_the_wasm_fixture`,
/// then regenerate the native reports there (see `audit/wasm-test/tests/fixture.rs`).
#[test]
#[ignore = "writes the committed fixture of audit/wasm-test"]
fn write_the_wasm_fixture() {
    let (_tmp, l, txs) = told(Twist::None);
    let dir =
        Path::new(&std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"))
            .join("../audit/wasm-test/tests/fixtures");
    fs::create_dir_all(&dir).expect("fixture dir");
    let bundle = serde_json::to_string_pretty(&l.bundle(&txs, true)).expect("json") + "\n";
    fs::write(dir.join("bundle.json"), bundle).expect("write");
    fs::write(
        dir.join("genesis.bin"),
        l.genesis.encode().expect("encodes"),
    )
    .expect("write");
    let receipt = serde_json::to_string_pretty(&receipt(&OUTPUTS)).expect("json") + "\n";
    fs::write(dir.join("receipt.json"), receipt).expect("write");
}
