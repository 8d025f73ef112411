//! Batch requests: the list in parts, one access per department with the consent found
//! per subject, the computable subset, and every refusal. Each per-subject decision is
//! cross-checked against the single-subject path: a single request for that subject, with
//! an access on the consent the batch found, must be accepted exactly when the batch
//! found one.

mod common;

use common::{DAY, HOUR, T0, Who, World};
use weinong_contracts::{
    AccessRecord, AssessmentRequest, BatchAccess, BatchRequest, BlockTime, Call, CategorySet,
    Change, ConsentGrant, ConsentId, ConsentRevoke, DataCategory as C, EvidenceHash, FailRequest,
    FailureReason, FieldsHash, MemberId, ModelId, Purpose, Receipt, Rejection, RequestId,
    RequestStatus, ResultCommitment, ResultRecord, kinds, payload::model_id,
};
use weinong_keys::SubjectPseudonym;

const CIVIL: Who = Who::Node(0);
const HEALTH: Who = Who::Node(1);
const INSURANCE: Who = Who::Node(2);
const BATCH: RequestId = RequestId::from_bytes([0xb0; 32]);

fn spec() -> Vec<u8> {
    b"periodic-v1 (batch test)".to_vec()
}
fn model() -> ModelId {
    model_id(&spec())
}
fn civil() -> CategorySet {
    CategorySet::of(&[C::AbilityAssessment])
}
fn health() -> CategorySet {
    CategorySet::of(&[C::VitalSigns, C::Diagnoses])
}
fn insurance() -> CategorySet {
    CategorySet::of(&[C::InsuranceClaims])
}
fn all() -> CategorySet {
    civil().union(health()).union(insurance())
}

/// Subjects `0..n`, ascending (pseudonyms are opaque 32-byte values here).
fn subjects(n: u8) -> Vec<SubjectPseudonym> {
    (0..n)
        .map(|i| SubjectPseudonym::from_bytes([i + 1; 32]))
        .collect()
}

struct Fixture {
    w: World,
    height: u64,
    time: u64,
}

impl Fixture {
    fn new() -> Fixture {
        let mut f = Fixture {
            w: World::new(3, 2),
            height: 1,
            time: T0,
        };
        let register = Change::RegisterModel {
            categories: all(),
            spec: spec(),
        };
        let tx = f.w.governance(0, &[0, 1], register);
        f.next(tx).expect("model registered");
        f
    }

    /// Submits `tx` in a new block a minute after the last.
    fn next(&mut self, tx: weinong_ledger::Transaction) -> Result<Receipt, Rejection> {
        self.height += 1;
        self.time += 60_000;
        self.w.submit_at(tx, BlockTime::new(self.height, self.time))
    }

    fn call(&mut self, who: Who, call: Call) -> Result<Receipt, Rejection> {
        let tx = self.w.sign(who, &call);
        self.next(tx)
    }

    fn grant(&mut self, consent: u8, subject: SubjectPseudonym, categories: CategorySet) {
        let call = Call::ConsentGrant(ConsentGrant {
            consent: ConsentId::from_bytes([consent; 32]),
            subject,
            grantee: self.w.institution.key_id(),
            purpose: Purpose::PeriodicAssessment,
            categories,
            valid_from: T0,
            valid_until: T0 + 30 * DAY,
            evidence: EvidenceHash::from_bytes([consent; 32]),
        });
        self.call(Who::Registrar, call).expect("consent granted");
    }

    fn part(
        &mut self,
        part: u32,
        parts: u32,
        list: &[SubjectPseudonym],
    ) -> Result<Receipt, Rejection> {
        self.call(Who::Institution, part_call(BATCH, part, parts, list))
    }

    fn access(
        &mut self,
        node: Who,
        member: u16,
        categories: CategorySet,
    ) -> Result<Receipt, Rejection> {
        let call = Call::BatchAccess(BatchAccess {
            request: BATCH,
            node: MemberId(member),
            categories,
            fields: FieldsHash::from_bytes([0xf0; 32]),
        });
        self.call(node, call)
    }
}

fn part_call(request: RequestId, part: u32, parts: u32, list: &[SubjectPseudonym]) -> Call {
    Call::BatchRequest(BatchRequest {
        request,
        purpose: Purpose::PeriodicAssessment,
        model: model(),
        part,
        parts,
        subjects: list.to_vec(),
    })
}

fn refused(answer: Result<Receipt, Rejection>, want: &str) {
    match answer {
        Ok(receipt) => panic!(
            "accepted {:?}; expected a refusal with {want:?}",
            receipt.outcome
        ),
        Err(e) => assert!(e.to_string().contains(want), "refusal {e} lacks {want:?}"),
    }
}

/// Five subjects in three parts; subject 2's consent lacks insurance claims, subject 4
/// has none; the three departments access; the computable subset is {0, 1, 3}; each
/// decision agrees with the single-subject path; the result closes the request.
#[test]
fn a_batch_goes_from_listed_to_computed_with_consents_found_per_subject() {
    let mut f = Fixture::new();
    let s = subjects(5);
    f.grant(10, s[0], all());
    f.grant(11, s[1], all());
    f.grant(12, s[2], civil().union(health()));
    f.grant(13, s[3], all());
    // A second, later-id consent for subject 0: the lowest covering id is the one used.
    f.grant(14, s[0], all());

    f.part(0, 3, &s[0..2]).expect("part 0 opens the batch");
    refused(f.access(CIVIL, 1, civil()), "has 1 of 3 parts");
    f.part(1, 3, &s[2..4]).expect("part 1");
    let last = f.part(2, 3, &s[4..5]).expect("part 2");
    assert!(format!("{:?}", last.outcome).contains("complete: true"));

    f.access(CIVIL, 1, civil()).expect("civil affairs accesses");
    f.access(HEALTH, 2, health()).expect("health accesses");
    let done = f
        .access(INSURANCE, 3, insurance())
        .expect("insurance accesses");
    assert!(format!("{:?}", done.outcome).contains("authorised: true"));

    let request = f.w.state.request(&BATCH).expect("on the ledger").clone();
    assert_eq!(request.status, RequestStatus::Authorised);
    let batch = request.batch().expect("a batch");
    assert_eq!(batch.subjects(), &s[..]);
    assert!(batch.is_complete());
    assert_eq!(batch.computable(), vec![0, 1, 3]);
    let covered: Vec<u32> = batch.accesses().iter().map(|a| a.covered).collect();
    assert_eq!(covered, vec![4, 4, 3]);
    assert_eq!(
        batch.accesses()[0].consents[0],
        Some(ConsentId::from_bytes([10; 32]))
    );

    // Cross-check each (subject, department) decision against the single-subject path.
    for (index, subject) in s.iter().enumerate() {
        for (a, (who, member)) in
            batch
                .accesses()
                .iter()
                .zip([(CIVIL, 1u16), (HEALTH, 2), (INSURANCE, 3)])
        {
            let single = RequestId::from_bytes([0x40 + index as u8; 32]);
            if f.w.state.request(&single).is_none() {
                let open = Call::AssessmentRequest(AssessmentRequest {
                    request: single,
                    subject: *subject,
                    purpose: Purpose::PeriodicAssessment,
                    model: model(),
                });
                f.call(Who::Institution, open).expect("single request");
            }
            let consent = a.consents[index].unwrap_or(ConsentId::from_bytes([10; 32]));
            let record = Call::AccessRecord(AccessRecord {
                request: single,
                node: MemberId(member),
                subject: *subject,
                categories: a.categories,
                consent,
                fields: FieldsHash::from_bytes([0xf0; 32]),
            });
            let answer = f.call(who, record);
            assert_eq!(
                answer.is_ok(),
                a.consents[index].is_some(),
                "subject {index}, member {member}: batch and single path disagree ({answer:?})"
            );
        }
    }

    // Every subject's access list shows the batch accesses that relied on its consent.
    let listed = f.w.state.all_accesses_to(&s[2]);
    let from_batch: Vec<u16> = listed
        .iter()
        .filter(|a| a.request == BATCH)
        .map(|a| a.node.0)
        .collect();
    assert_eq!(from_batch, vec![1, 2], "subject 2: no insurance access");
    assert!(
        f.w.state
            .all_accesses_to(&s[4])
            .iter()
            .all(|a| a.request != BATCH)
    );
    let heights: Vec<u64> =
        f.w.state
            .all_accesses_to(&s[0])
            .iter()
            .map(|a| a.at.height)
            .collect();
    assert!(heights.windows(2).all(|p| p[0] <= p[1]), "ledger order");

    let record = Call::ResultRecord(ResultRecord {
        request: BATCH,
        model: model(),
        commitment: ResultCommitment::from_bytes([0xcc; 32]),
    });
    f.call(Who::Institution, record).expect("result recorded");
    assert!(matches!(
        f.w.state.request(&BATCH).map(|r| r.status),
        Some(RequestStatus::Computed { .. })
    ));

    // Replay gives the same state and digest.
    let (again, _) = common::replay(&f.w.genesis, &f.w.log, true);
    assert_eq!(again.digest(), f.w.state.digest());
    assert!(again == f.w.state);
}

#[test]
fn parts_must_come_in_order_from_the_requester_and_continue_the_list() {
    let mut f = Fixture::new();
    let s = subjects(6);
    refused(f.part(1, 2, &s[0..2]), "no request");
    f.part(0, 3, &s[2..4]).expect("opened");
    refused(f.part(0, 3, &s[4..6]), "exists already");
    refused(f.part(2, 3, &s[4..6]), "part 2 arrived; part 1 is next");
    refused(f.part(1, 4, &s[4..6]), "must repeat");
    refused(
        f.part(1, 3, &s[0..2]),
        "does not continue the ascending list",
    );
    refused(
        f.part(1, 3, &s[3..5]),
        "does not continue the ascending list",
    );
    let stranger = part_call(BATCH, 1, 3, &s[4..6]);
    refused(f.call(Who::Stranger, stranger), "is not a registered key");
    // A registered key that did not open the request cannot continue its list.
    refused(
        f.call(CIVIL, part_call(BATCH, 1, 3, &s[4..6])),
        "is not the requester",
    );
    let mut other_model = part_call(BATCH, 1, 3, &s[4..6]);
    if let Call::BatchRequest(b) = &mut other_model {
        b.purpose = Purpose::AdmissionAssessment;
    }
    refused(f.call(Who::Institution, other_model), "must repeat");
    f.part(1, 3, &s[4..6]).expect("part 1 continues the list");
    // A single-subject access record has no place in a batch, and vice versa.
    let record = Call::AccessRecord(AccessRecord {
        request: BATCH,
        node: MemberId(1),
        subject: s[2],
        categories: civil(),
        consent: ConsentId::from_bytes([1; 32]),
        fields: FieldsHash::from_bytes([0; 32]),
    });
    refused(
        f.call(CIVIL, record),
        "is a batch request; use a batch access",
    );
    let single = RequestId::from_bytes([0x51; 32]);
    let open = Call::AssessmentRequest(AssessmentRequest {
        request: single,
        subject: s[0],
        purpose: Purpose::PeriodicAssessment,
        model: model(),
    });
    f.call(Who::Institution, open).expect("single request");
    refused(
        f.call(Who::Institution, part_call(single, 1, 3, &s[0..1])),
        "is a single-subject request",
    );
}

#[test]
fn accesses_need_consents_once_per_node_and_a_withdrawal_between_them_excludes_the_subject() {
    let mut f = Fixture::new();
    let s = subjects(3);
    f.part(0, 1, &s).expect("one part");
    refused(f.access(CIVIL, 1, civil()), "no subject of batch request");
    f.grant(20, s[0], all());
    f.grant(21, s[1], all());
    refused(f.access(CIVIL, 2, civil()), "");
    refused(
        f.access(
            CIVIL,
            1,
            civil().union(CategorySet::of(&[C::HouseholdIncome])),
        ),
        "",
    );
    f.access(CIVIL, 1, civil()).expect("civil affairs");
    refused(
        f.access(CIVIL, 1, civil()),
        "recorded its access to batch request",
    );
    // Subject 1 withdraws before health reads: health does not access subject 1.
    let withdraw = Call::ConsentRevoke(ConsentRevoke {
        consent: ConsentId::from_bytes([21; 32]),
        evidence: EvidenceHash::from_bytes([0xd0; 32]),
    });
    f.call(Who::Registrar, withdraw).expect("withdrawn");
    f.access(HEALTH, 2, health()).expect("health");
    f.access(INSURANCE, 3, insurance()).expect("insurance");
    let batch =
        f.w.state
            .request(&BATCH)
            .and_then(|r| r.batch())
            .expect("batch")
            .clone();
    assert_eq!(batch.computable(), vec![0]);
    assert_eq!(batch.accesses()[1].consents[1], None);
    // Subject 1's history keeps the civil-affairs access made while the consent held.
    let nodes: Vec<u16> =
        f.w.state
            .all_accesses_to(&s[1])
            .iter()
            .map(|a| a.node.0)
            .collect();
    assert_eq!(nodes, vec![1]);
    // A department may fail the batch; then nothing more is recorded.
    let fail = Call::FailRequest(FailRequest {
        request: BATCH,
        reason: FailureReason::ComputationAborted,
    });
    f.call(HEALTH, fail).expect("failed");
    refused(f.part(1, 2, &s), "");
}

#[test]
fn batches_time_out_like_single_requests() {
    let mut f = Fixture::new();
    let s = subjects(2);
    f.part(0, 2, &s[0..1]).expect("opened");
    f.height += 1;
    f.time += DAY + HOUR;
    let tx =
        f.w.sign(Who::Institution, &part_call(BATCH, 1, 2, &s[1..2]));
    let answer = f.w.submit_at(tx, BlockTime::new(f.height, f.time));
    refused(answer, "");
    assert!(matches!(
        f.w.state.request(&BATCH).map(|r| r.status),
        Some(RequestStatus::Failed {
            reason: FailureReason::TimedOut
        })
    ));
}

#[test]
fn batch_payloads_refuse_bad_numbering_order_and_size() {
    let s = subjects(3);
    let encode = |part: u32, parts: u32, list: Vec<SubjectPseudonym>| {
        Call::BatchRequest(BatchRequest {
            request: BATCH,
            purpose: Purpose::PeriodicAssessment,
            model: model(),
            part,
            parts,
            subjects: list,
        })
        .encode()
    };
    let good = encode(1, 2, s.clone()).expect("encodes");
    assert!(Call::decode(kinds::BATCH_REQUEST, &good).is_ok());
    for (part, parts, list, why) in [
        (2, 2, s.clone(), "numbering"),
        (0, 0, s.clone(), "numbering"),
        (0, 501, s.clone(), "numbering"),
        (0, 1, vec![], "no subject"),
        (0, 1, vec![s[1], s[0]], "ascending"),
        (0, 1, vec![s[0], s[0]], "ascending"),
    ] {
        let bytes = encode(part, parts, list).expect("the encoder does not check order");
        let e = Call::decode(kinds::BATCH_REQUEST, &bytes).expect_err(why);
        assert!(e.to_string().contains(why), "{e} lacks {why}");
    }
    let too_many: Vec<SubjectPseudonym> = (0..2_001u32)
        .map(|i| {
            let mut b = [0u8; 32];
            b[..4].copy_from_slice(&i.to_be_bytes());
            SubjectPseudonym::from_bytes(b)
        })
        .collect();
    assert!(encode(0, 1, too_many).is_err());
    let mut trailing = good.clone();
    trailing.push(0);
    assert!(Call::decode(kinds::BATCH_REQUEST, &trailing).is_err());
    let access = Call::BatchAccess(BatchAccess {
        request: BATCH,
        node: MemberId(1),
        categories: civil(),
        fields: FieldsHash::from_bytes([1; 32]),
    });
    let bytes = access.encode().expect("encodes");
    assert_eq!(
        Call::decode(kinds::BATCH_ACCESS, &bytes).expect("decodes"),
        access
    );
}
