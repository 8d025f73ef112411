//! Stories told as a reader would tell them: who submits what, at which block, and what the
//! ledger answers. Every step goes through one `check`.

mod common;

use common::{DAY, HOUR, T0, Who, World, sign_with_nonce};
use weinong_contracts::{
    AccessRecord, Approval, AssessmentRequest, BlockTime, Call, CategorySet, Change, ConsentGrant,
    ConsentId, ConsentRevoke, ConsentStatus, DataCategory as C, EvidenceHash, FailRequest,
    FailureReason, FieldsHash, HistoryEntry, MemberId, ModelId, Purpose, RequestEvent, RequestId,
    ResultCommitment, ResultRecord, Role,
    payload::{model_id, rotation_bytes},
};
use weinong_keys::{KeyPair, Pepper, ResidentId, SubjectPseudonym};
use weinong_ledger::Transaction;

/// What one step submits.
enum Step {
    /// `who` signs `call` with its next nonce.
    Call(Who, Call),
    /// Admin `by` submits `change` with approvals by the admins listed.
    Gov {
        by: usize,
        approvals: Vec<usize>,
        change: Change,
    },
    /// A transaction exactly as given (replays, tampering).
    Tx(Transaction),
}

/// Submits `step` at block `height`, `time_ms`, and checks the answer: `"accepted"`,
/// `"accepted: <text in the receipt's outcome>"`, or `"refused: <text in the reason>"`.
/// Returns the transaction submitted.
fn check(w: &mut World, (height, time_ms): (u64, u64), step: Step, expect: &str) -> Transaction {
    let tx = match step {
        Step::Call(who, call) => w.sign(who, &call),
        Step::Gov {
            by,
            approvals,
            change,
        } => w.governance(by, &approvals, change),
        Step::Tx(tx) => tx,
    };
    let before = w.state.clone();
    let answer = w.submit_at(tx.clone(), BlockTime::new(height, time_ms));
    match (
        expect.strip_prefix("accepted"),
        expect.strip_prefix("refused: "),
        &answer,
    ) {
        (Some(rest), _, Ok(receipt)) => {
            let outcome = format!("{:?}", receipt.outcome);
            let want = rest.trim_start_matches(": ");
            assert!(
                outcome.contains(want),
                "block {height}: outcome {outcome} lacks {want:?}"
            );
        }
        (_, Some(want), Err(rejection)) => {
            let text = rejection.to_string();
            assert!(
                text.contains(want),
                "block {height}: refusal {text:?} lacks {want:?}"
            );
            // A refusal leaves the state as it was (apart from the block's time-out sweep).
            let mut swept = before;
            if height > swept.last_block().height {
                weinong_contracts::expire_requests(&mut swept, BlockTime::new(height, time_ms))
                    .expect("sweep");
            }
            assert_eq!(
                w.state.digest(),
                swept.digest(),
                "block {height}: refusal changed the state"
            );
        }
        _ => panic!("block {height}: expected {expect:?}, got {answer:?}"),
    }
    tx
}

/// A [`World`] telling its story block by block: `at` picks the block, and each step then
/// goes through [`check`] at it, so a story reads one line a step.
struct Story {
    w: World,
    block: (u64, u64),
}

impl Story {
    fn new(n_admins: usize, k: u16) -> Story {
        Story {
            w: World::new(n_admins, k),
            block: (0, T0),
        }
    }

    /// The block at `height`, `time_ms`, for the next steps.
    fn at(&mut self, height: u64, time_ms: u64) -> &mut Story {
        self.block = (height, time_ms);
        self
    }

    /// `who` signs `call` with its next nonce.
    fn call(&mut self, who: Who, call: Call, expect: &str) -> Transaction {
        check(&mut self.w, self.block, Step::Call(who, call), expect)
    }

    /// Admin `by` submits `change` with approvals by the admins listed.
    fn gov(&mut self, by: usize, approvals: &[usize], change: Change, expect: &str) -> Transaction {
        let approvals = approvals.to_vec();
        let step = Step::Gov {
            by,
            approvals,
            change,
        };
        check(&mut self.w, self.block, step, expect)
    }

    /// A transaction exactly as given (replays, tampering).
    fn tx(&mut self, tx: Transaction, expect: &str) -> Transaction {
        check(&mut self.w, self.block, Step::Tx(tx), expect)
    }
}

impl std::ops::Deref for Story {
    type Target = World;
    fn deref(&self) -> &World {
        &self.w
    }
}

fn subject(id: &str) -> SubjectPseudonym {
    let pepper = Pepper::from_bytes([7; 32]);
    SubjectPseudonym::derive(&pepper, &ResidentId::parse(id).expect("valid test ID"))
}

const ZHANG: &str = "11010519491231002X";
const LI: &str = "310101194805200011";

fn spec() -> Vec<u8> {
    b"admission-v1: ability grade, Morse, Charlson, screens -> care level".to_vec()
}
fn model() -> ModelId {
    model_id(&spec())
}
/// Every category the admission model reads.
const ADMISSION: [C; 4] = [
    C::AbilityAssessment,
    C::VitalSigns,
    C::Diagnoses,
    C::InsuranceClaims,
];
fn admission_categories() -> CategorySet {
    CategorySet::of(&ADMISSION)
}
fn register_model() -> Change {
    Change::RegisterModel {
        categories: admission_categories(),
        spec: spec(),
    }
}

fn grant(w: &World, consent: u8, who: &str, categories: &[C], from: u64, until: u64) -> Call {
    Call::ConsentGrant(ConsentGrant {
        consent: ConsentId::from_bytes([consent; 32]),
        subject: subject(who),
        grantee: w.institution.key_id(),
        purpose: Purpose::AdmissionAssessment,
        categories: CategorySet::of(categories),
        valid_from: from,
        valid_until: until,
        evidence: EvidenceHash::from_bytes([0xe0 | consent; 32]),
    })
}
fn revoke(consent: u8) -> Call {
    Call::ConsentRevoke(ConsentRevoke {
        consent: ConsentId::from_bytes([consent; 32]),
        evidence: EvidenceHash::from_bytes([0xd0; 32]),
    })
}
fn request(request: u8, who: &str) -> Call {
    Call::AssessmentRequest(AssessmentRequest {
        request: RequestId::from_bytes([request; 32]),
        subject: subject(who),
        purpose: Purpose::AdmissionAssessment,
        model: model(),
    })
}
fn access(request: u8, node: u16, who: &str, categories: &[C], consent: u8) -> Call {
    Call::AccessRecord(AccessRecord {
        request: RequestId::from_bytes([request; 32]),
        node: MemberId(node),
        subject: subject(who),
        categories: CategorySet::of(categories),
        consent: ConsentId::from_bytes([consent; 32]),
        fields: FieldsHash::from_bytes([0xf0; 32]),
    })
}
fn result(request: u8) -> Call {
    Call::ResultRecord(ResultRecord {
        request: RequestId::from_bytes([request; 32]),
        model: model(),
        commitment: ResultCommitment::from_bytes([0xcc; 32]),
    })
}

/// Approvals of `change` by `admins` at the state's next governance sequence number.
fn approve(w: &World, change: &Change, admins: &[&KeyPair]) -> Vec<Approval> {
    let seq = w.state.governance_seq();
    common::approve(w.state.consortium(), seq, change, admins.iter().copied())
}

/// A governance call registering the model, carrying `approvals` exactly as given.
fn register_with(w: &World, approvals: Vec<Approval>) -> Call {
    Call::Governance(weinong_contracts::Governance {
        seq: w.state.governance_seq(),
        change: register_model(),
        approvals,
    })
}

const CIVIL: Who = Who::Node(0);
const HEALTH: Who = Who::Node(1);
const INSURANCE: Who = Who::Node(2);

#[test]
fn a_withdrawn_consent_refuses_later_access_but_not_earlier_access() {
    let mut w = Story::new(3, 2);
    let g = grant(&w, 1, ZHANG, &ADMISSION, T0, T0 + 365 * DAY);
    let granted = w
        .at(2, T0 + HOUR)
        .call(Who::Registrar, g, "accepted: ConsentGranted");
    w.at(3, T0 + 2 * HOUR)
        .gov(0, &[0, 1], register_model(), "accepted");
    w.at(4, T0 + 3 * HOUR)
        .call(Who::Institution, request(1, ZHANG), "accepted: Requested");
    let health = access(1, 2, ZHANG, &[C::VitalSigns, C::Diagnoses], 1);
    w.at(5, T0 + 4 * HOUR)
        .call(HEALTH, health, "accepted: authorised: false");
    // Mr Zhang withdraws his consent through the portal; the registrar records it.
    let revoked =
        w.at(6, T0 + 5 * HOUR)
            .call(Who::Registrar, revoke(1), "accepted: ConsentRevoked");
    let insurance = access(1, 3, ZHANG, &[C::InsuranceClaims], 1);
    w.at(7, T0 + 6 * HOUR)
        .call(INSURANCE, insurance, "refused: consent revoked at block 6");
    // Withdrawing twice is refused with the same reason.
    w.at(8, T0 + 7 * HOUR).call(
        Who::Registrar,
        revoke(1),
        "refused: consent revoked at block 6",
    );

    let c = ConsentId::from_bytes([1; 32]);
    // The consent names the transactions that granted and withdrew it.
    let recorded = w.state.consent(&c).expect("consent on the ledger");
    assert_eq!(recorded.tx, granted.hash());
    assert_eq!(recorded.revoked.map(|r| r.tx), Some(revoked.hash()));
    assert_ne!(granted.hash(), revoked.hash());
    assert_eq!(
        w.state.consent_status(&c, T0 + 4 * HOUR),
        Some(ConsentStatus::Valid)
    );
    assert!(
        matches!(w.state.consent_status(&c, T0 + 5 * HOUR), Some(ConsentStatus::Revoked { at }) if at.height == 6)
    );
    assert_eq!(
        w.state.consent_status(&c, T0 - 1),
        Some(ConsentStatus::NotYetValid)
    );
    // Not retroactive: the health node's access stays on record, and Mr Zhang can see it.
    let seen: Vec<(u64, MemberId)> = w
        .state
        .accesses_to(&subject(ZHANG))
        .map(|a| (a.at.height, a.node))
        .collect();
    assert_eq!(seen, vec![(5, MemberId(2))]);
    assert_eq!(w.state.accesses_to(&subject(LI)).count(), 0);
    // The subject's consents, withdrawn ones included; none for another person.
    let of_zhang: Vec<ConsentId> = w
        .state
        .consents_of(&subject(ZHANG))
        .map(|(id, _)| *id)
        .collect();
    assert_eq!(of_zhang, vec![c]);
    assert_eq!(w.state.consents_of(&subject(LI)).count(), 0);
}

#[test]
fn an_admission_request_goes_from_requested_to_computed() {
    let mut w = Story::new(3, 2);
    let g = grant(&w, 1, ZHANG, &ADMISSION, T0, T0 + 30 * DAY);
    w.at(2, T0 + HOUR).call(Who::Registrar, g, "accepted");
    // A request citing an unregistered model is refused; register it, then request.
    w.at(3, T0 + HOUR).call(
        Who::Institution,
        request(1, ZHANG),
        "refused: is not registered",
    );
    w.at(3, T0 + HOUR)
        .gov(1, &[1, 2], register_model(), "accepted");
    let requested = w
        .at(4, T0 + 2 * HOUR)
        .call(Who::Institution, request(1, ZHANG), "accepted");
    // Computing before every category is accessed is refused.
    w.at(5, T0 + 2 * HOUR).call(
        Who::Institution,
        result(1),
        "refused: is requested; this call needs it authorised",
    );
    let civil = w.at(5, T0 + 2 * HOUR).call(
        CIVIL,
        access(1, 1, ZHANG, &[C::AbilityAssessment], 1),
        "accepted: authorised: false",
    );
    // A node reading data the model does not use is refused (minimum necessary).
    w.at(6, T0 + 3 * HOUR).call(
        HEALTH,
        access(1, 2, ZHANG, &[C::VitalSigns, C::Falls], 1),
        "refused: are not read by model",
    );
    // A node signing for another node is refused.
    w.at(6, T0 + 3 * HOUR).call(
        HEALTH,
        access(1, 3, ZHANG, &[C::InsuranceClaims], 1),
        "refused: is not the key of member 3",
    );
    let health = w.at(6, T0 + 3 * HOUR).call(
        HEALTH,
        access(1, 2, ZHANG, &[C::VitalSigns, C::Diagnoses], 1),
        "accepted: authorised: false",
    );
    let insurance = w.at(7, T0 + 4 * HOUR).call(
        INSURANCE,
        access(1, 3, ZHANG, &[C::InsuranceClaims], 1),
        "accepted: authorised: true",
    );
    // Only the requester records the result commitment; a department cannot.
    w.at(8, T0 + 5 * HOUR)
        .call(CIVIL, result(1), "refused: is not the requester");
    w.at(8, T0 + 5 * HOUR)
        .call(Who::Stranger, result(1), "refused: is not a registered key");
    let computed = w
        .at(8, T0 + 5 * HOUR)
        .call(Who::Institution, result(1), "accepted: Computed");
    w.at(9, T0 + 6 * HOUR)
        .call(Who::Institution, result(1), "refused: is computed");

    let history: Vec<(u64, &'static str)> = w
        .state
        .request_history(&RequestId::from_bytes([1; 32]))
        .expect("request on the ledger")
        .iter()
        .map(|h| {
            let name = match h.event {
                RequestEvent::Requested { .. } => "requested",
                RequestEvent::Accessed { .. } => "accessed",
                RequestEvent::Authorised => "authorised",
                RequestEvent::Computed { .. } => "computed",
                RequestEvent::Failed { .. } => "failed",
                RequestEvent::Listed { .. } | RequestEvent::BatchAccessed { .. } => "batch",
            };
            (h.at.height, name)
        })
        .collect();
    assert_eq!(
        history,
        vec![
            (4, "requested"),
            (5, "accessed"),
            (6, "accessed"),
            (7, "accessed"),
            (7, "authorised"),
            (8, "computed")
        ]
    );
    // Each entry names the transaction that caused it; authorisation is the access's.
    let txs: Vec<_> = w
        .state
        .request_history(&RequestId::from_bytes([1; 32]))
        .expect("request on the ledger")
        .iter()
        .map(|h| h.tx)
        .collect();
    let hashes = [
        &requested, &civil, &health, &insurance, &insurance, &computed,
    ]
    .map(|tx| Some(tx.hash()))
    .to_vec();
    assert_eq!(txs, hashes);
    assert_eq!(w.state.accesses_to(&subject(ZHANG)).count(), 3);
}

#[test]
fn consent_must_cover_requester_purpose_categories_and_time() {
    let mut w = Story::new(3, 2);
    w.at(2, T0).gov(0, &[0, 2], register_model(), "accepted");
    // Consent 1 covers health data only, from tomorrow, for 10 days.
    let g = grant(
        &w,
        1,
        ZHANG,
        &[C::VitalSigns, C::Diagnoses],
        T0 + DAY,
        T0 + 11 * DAY,
    );
    w.at(3, T0 + HOUR).call(Who::Registrar, g, "accepted");
    // Consent 2 is Mr Li's.
    let g = grant(&w, 2, LI, &[C::InsuranceClaims], T0, T0 + 11 * DAY);
    w.at(3, T0 + HOUR).call(Who::Registrar, g, "accepted");
    // The same consent id again is refused; so is a window that ends before it starts.
    let g = grant(&w, 1, LI, &[C::Falls], T0, T0 + DAY);
    w.at(3, T0 + HOUR)
        .call(Who::Registrar, g, "refused: exists already");
    let g = grant(&w, 3, LI, &[C::Falls], T0 + DAY, T0 + DAY);
    w.at(3, T0 + HOUR)
        .call(Who::Registrar, g, "refused: is empty or longer");
    // Only a registrar records consent.
    let g = grant(&w, 4, ZHANG, &[C::Falls], T0, T0 + DAY);
    w.at(3, T0 + HOUR)
        .call(HEALTH, g, "refused: holds no valid registrar role");

    w.at(4, T0 + 2 * HOUR)
        .call(Who::Institution, request(1, ZHANG), "accepted");
    let a = access(1, 2, ZHANG, &[C::VitalSigns], 1);
    w.at(5, T0 + 3 * HOUR)
        .call(HEALTH, a, "refused: is valid only from");
    let a = access(1, 3, ZHANG, &[C::InsuranceClaims], 2);
    w.at(5, T0 + 3 * HOUR)
        .call(INSURANCE, a, "refused: is for subject");
    w.at(6, T0 + DAY + HOUR)
        .call(Who::Institution, request(2, ZHANG), "accepted");
    let a = access(2, 3, ZHANG, &[C::InsuranceClaims], 1);
    w.at(7, T0 + DAY + 2 * HOUR)
        .call(INSURANCE, a, "refused: does not cover {insurance claims}");
    let a = access(2, 2, ZHANG, &[C::VitalSigns, C::Diagnoses], 1);
    w.at(7, T0 + DAY + 2 * HOUR).call(HEALTH, a, "accepted");
    // After the window ends, the same access is refused: the request is fresh, the consent is not.
    w.at(8, T0 + 11 * DAY)
        .call(Who::Institution, request(3, ZHANG), "accepted");
    let a = access(3, 2, ZHANG, &[C::VitalSigns], 1);
    w.at(9, T0 + 11 * DAY + HOUR)
        .call(HEALTH, a, "refused: expired at");
}

#[test]
fn governance_needs_k_distinct_admins_over_the_exact_change() {
    let mut w = Story::new(4, 3);
    // Two approvals when three are needed.
    w.at(2, T0).gov(
        0,
        &[0, 1],
        register_model(),
        "refused: 2 valid admin approvals; governance needs 3",
    );
    // One admin listed three times: the payload itself is refused.
    let mut approvals = approve(&w, &register_model(), &[&w.admins[0]]);
    approvals.push(approvals[0].clone());
    approvals.push(approvals[0].clone());
    let call = register_with(&w, approvals);
    w.at(2, T0)
        .call(Who::Admin(0), call, "refused: approvals repeat an admin");
    // Three approvals, but one was given for a different change.
    let other = Change::SetThreshold { k: 2 };
    let mut approvals = approve(&w, &register_model(), &[&w.admins[0], &w.admins[1]]);
    approvals.extend(approve(&w, &other, &[&w.admins[2]]));
    approvals.sort_by_key(|a| a.admin);
    let call = register_with(&w, approvals);
    w.at(2, T0).call(
        Who::Admin(0),
        call,
        "refused: does not verify over this change",
    );
    // A non-admin's approval, or a non-admin submitter.
    let by = [&w.admins[0], &w.admins[1], &w.registrar];
    let call = register_with(&w, approve(&w, &register_model(), &by));
    w.at(2, T0)
        .call(Who::Admin(0), call, "refused: approval by");
    let by = [&w.admins[0], &w.admins[1], &w.admins[2]];
    let call = register_with(&w, approve(&w, &register_model(), &by));
    w.at(2, T0)
        .call(Who::Registrar, call, "refused: holds no valid admin role");
    // The same approvals submitted by an admin are accepted once, and not again.
    w.at(3, T0)
        .gov(3, &[0, 1, 2], register_model(), "accepted: Governed");
    w.at(4, T0).gov(
        3,
        &[0, 1, 2],
        register_model(),
        "refused: is registered already",
    );
    // Lowering k below… nothing: k must stay within 1..=admins, and cannot strand governance.
    w.at(5, T0).gov(
        0,
        &[0, 1, 2],
        Change::SetThreshold { k: 5 },
        "refused: threshold 5 is outside 1..=4",
    );
    let (admin2, admin3) = (w.admins[2].key_id(), w.admins[3].key_id());
    w.at(5, T0)
        .gov(0, &[0, 1, 2], Change::RevokeKey { key: admin3 }, "accepted");
    w.at(6, T0).gov(
        0,
        &[0, 1, 2],
        Change::RevokeKey { key: admin2 },
        "refused: would leave 2 active admins, below the threshold 3",
    );
    w.at(6, T0).gov(
        3,
        &[0, 1, 2],
        Change::SetThreshold { k: 2 },
        "refused: was revoked at block 5",
    );
}

#[test]
fn rotated_and_revoked_keys_sign_nothing_afterwards() {
    let mut w = Story::new(3, 2);
    // The health node rotates its key: the old key signs the rotation, two admins approve.
    let old = w.node(1).key_id();
    let new = w.spare[0].public_key().clone();
    let statement = rotation_bytes(w.state.consortium(), &old, &new);
    let old_signature = w.node(1).sign(&statement);
    let rotate = Change::RotateKey {
        old,
        new: new.clone(),
        old_signature,
    };
    w.at(2, T0 + HOUR)
        .gov(0, &[0, 1], rotate, "accepted: rotate key");
    w.at(3, T0 + 2 * HOUR)
        .gov(0, &[0, 1], register_model(), "accepted");
    let g = grant(&w, 1, ZHANG, &[C::VitalSigns], T0, T0 + DAY);
    w.at(3, T0 + 2 * HOUR).call(Who::Registrar, g, "accepted");
    w.at(3, T0 + 2 * HOUR)
        .call(Who::Institution, request(1, ZHANG), "accepted");
    let a = access(1, 2, ZHANG, &[C::VitalSigns], 1);
    w.at(4, T0 + 3 * HOUR)
        .call(HEALTH, a.clone(), "refused: was replaced by");
    w.at(4, T0 + 3 * HOUR).call(Who::Spare(0), a, "accepted");
    // A rotation the old key did not sign is refused.
    let forged = Change::RotateKey {
        old: w.node(2).key_id(),
        new: w.spare[1].public_key().clone(),
        old_signature: w.spare[1].sign(b"not the statement"),
    };
    w.at(5, T0 + 4 * HOUR).gov(
        0,
        &[0, 1],
        forged,
        "refused: the old key's signature does not verify",
    );
    // The registrar's key is revoked: from that block on, nothing it signs is accepted.
    let registrar = w.registrar.key_id();
    w.at(5, T0 + 4 * HOUR)
        .gov(1, &[1, 2], Change::RevokeKey { key: registrar }, "accepted");
    let g = grant(&w, 2, LI, &[C::VitalSigns], T0, T0 + DAY);
    w.at(5, T0 + 4 * HOUR)
        .call(Who::Registrar, g, "refused: was revoked at block 5");
    assert!(
        w.state
            .roles_at(&w.registrar.key_id(), T0 + 4 * HOUR)
            .is_empty()
    );
    assert_eq!(
        w.state
            .roles_at(&w.registrar.key_id(), T0 + 3 * HOUR)
            .into_iter()
            .collect::<Vec<_>>(),
        vec![Role::Registrar]
    );
    // The old health key held the department role before the rotation, the new one after.
    assert!(w.state.roles_at(&old, T0).contains(&Role::Department));
    assert!(w.state.roles_at(&old, T0 + HOUR).is_empty());
    assert!(
        w.state
            .roles_at(&new.key_id(), T0 + HOUR)
            .contains(&Role::Department)
    );
}

#[test]
fn roles_hold_inside_their_window_and_until_unbound() {
    let mut w = Story::new(3, 2);
    let steward = w.spare[2].public_key().clone();
    let bind = Change::BindRole {
        key: steward.clone(),
        role: Role::Steward,
        valid_from: T0 + DAY,
        valid_until: Some(T0 + 3 * DAY),
    };
    w.at(2, T0).gov(0, &[0, 1], bind.clone(), "accepted");
    w.at(3, T0)
        .gov(0, &[0, 1], bind, "refused: already holds the steward role");
    let id = steward.key_id();
    assert!(w.state.roles_at(&id, T0).is_empty());
    assert!(w.state.roles_at(&id, T0 + DAY).contains(&Role::Steward));
    assert!(w.state.roles_at(&id, T0 + 3 * DAY).is_empty());
    let unbind = Change::UnbindRole {
        key: id,
        role: Role::Steward,
    };
    w.at(4, T0 + 2 * DAY)
        .gov(0, &[0, 2], unbind.clone(), "accepted");
    assert!(w.state.roles_at(&id, T0 + DAY).contains(&Role::Steward));
    assert!(w.state.roles_at(&id, T0 + 2 * DAY).is_empty());
    let again = "refused: holds no current steward binding";
    w.at(5, T0 + 2 * DAY).gov(0, &[0, 2], unbind, again);
    // Removing the civil-affairs member takes its department role from that block.
    w.at(6, T0 + 2 * DAY).gov(
        1,
        &[1, 2],
        Change::RemoveMember {
            member: MemberId(1),
        },
        "accepted",
    );
    assert!(
        w.state
            .roles_at(&w.node(0).key_id(), T0 + DAY)
            .contains(&Role::Department)
    );
    assert!(
        w.state
            .roles_at(&w.node(0).key_id(), T0 + 2 * DAY)
            .is_empty()
    );
    let spare = w.spare[3].public_key().clone();
    w.at(7, T0 + 2 * DAY).gov(
        1,
        &[1, 2],
        Change::AddMember {
            member: MemberId(1),
            key: spare.clone(),
        },
        "refused: member 1 exists already",
    );
    w.at(7, T0 + 2 * DAY).gov(
        1,
        &[1, 2],
        Change::AddMember {
            member: MemberId(4),
            key: spare,
        },
        "accepted",
    );
    assert!(
        w.state
            .roles_at(&w.spare[3].key_id(), T0 + 2 * DAY)
            .contains(&Role::Department)
    );
}

#[test]
fn stale_requests_time_out_and_the_institution_may_cancel() {
    let mut w = Story::new(3, 2);
    w.at(2, T0).gov(0, &[0, 1], register_model(), "accepted");
    let g = grant(&w, 1, ZHANG, &[C::VitalSigns], T0, T0 + 30 * DAY);
    w.at(2, T0).call(Who::Registrar, g, "accepted");
    w.at(3, T0 + HOUR).call(
        Who::Institution,
        request(1, ZHANG),
        "accepted: deadline_ms: 1767315600000",
    );
    w.at(3, T0 + HOUR).call(
        Who::Institution,
        request(1, ZHANG),
        "refused: exists already",
    );
    w.at(3, T0 + HOUR)
        .call(Who::Institution, request(2, ZHANG), "accepted");
    // Request 2 is cancelled by its requester; an auditor may not fail requests.
    let fail = |reason| {
        Call::FailRequest(FailRequest {
            request: RequestId::from_bytes([2; 32]),
            reason,
        })
    };
    w.at(4, T0 + 2 * HOUR).call(
        Who::Auditor,
        fail(FailureReason::Cancelled),
        "refused: may not fail request",
    );
    w.at(4, T0 + 2 * HOUR).call(
        Who::Institution,
        fail(FailureReason::Cancelled),
        "accepted: Cancelled",
    );
    // A day after request 1, the block's sweep fails it; late accesses are refused.
    let a = access(1, 2, ZHANG, &[C::VitalSigns], 1);
    w.at(5, T0 + DAY + HOUR)
        .call(HEALTH, a, "refused: is failed (timed out)");
    let last = w
        .state
        .request_history(&RequestId::from_bytes([1; 32]))
        .and_then(|h| h.last().cloned());
    assert_eq!(
        last,
        Some(HistoryEntry {
            at: BlockTime::new(5, T0 + DAY + HOUR),
            tx: None,
            event: RequestEvent::Failed {
                by: None,
                reason: FailureReason::TimedOut
            }
        })
    );
}

#[test]
fn replayed_nonces_and_unknown_signers_are_refused() {
    let mut w = Story::new(3, 2);
    let g = grant(&w, 1, ZHANG, &[C::VitalSigns], T0, T0 + DAY);
    let tx = w.at(2, T0).call(Who::Registrar, g, "accepted");
    w.at(3, T0)
        .tx(tx, "refused: is not above its last accepted nonce");
    let stale = sign_with_nonce(
        &w.registrar,
        &grant(&w, 2, ZHANG, &[C::VitalSigns], T0, T0 + DAY),
        1,
    );
    w.at(3, T0).tx(stale, "refused: nonce 1 of signer");
    let g = grant(&w, 3, ZHANG, &[C::VitalSigns], T0, T0 + DAY);
    w.at(3, T0)
        .call(Who::Stranger, g, "refused: is not a registered key");
    // A tampered payload no longer matches the registrar's signature.
    let g = grant(&w, 4, ZHANG, &[C::VitalSigns], T0, T0 + DAY);
    let good = w.w.sign(Who::Registrar, &g);
    let mut bytes = good.as_bytes().to_vec();
    let flip = bytes.len() - 64 - 40;
    bytes[flip] ^= 1;
    let bad = Transaction::decode(&bytes).expect("still well-formed");
    w.at(3, T0).tx(bad, "refused: the SM2 signature of signer");
    // Block time never goes back.
    let g = grant(&w, 5, ZHANG, &[C::VitalSigns], T0, T0 + DAY);
    w.at(3, T0 - 1)
        .call(Who::Registrar, g, "refused: block time went back");
}

#[test]
fn the_member_set_follows_governance_and_is_never_left_empty() {
    let mut w = Story::new(3, 2);
    assert_eq!(
        w.state.member_set().expect("genesis set"),
        w.genesis.member_set().expect("genesis set"),
        "the state's member set starts as the genesis one"
    );
    let ids = |w: &World| -> Vec<weinong_keys::KeyId> {
        w.state
            .member_set()
            .expect("a set")
            .keys()
            .keys()
            .copied()
            .collect()
    };
    // Rotating a member's key swaps it in the set; the quorum stays 2 of 3.
    let old = w.node(2).key_id();
    let new = w.spare[0].public_key().clone();
    let old_signature = w
        .node(2)
        .sign(&rotation_bytes(w.state.consortium(), &old, &new));
    let rotate = Change::RotateKey {
        old,
        new: new.clone(),
        old_signature,
    };
    w.at(2, T0 + HOUR).gov(0, &[0, 1], rotate, "accepted");
    let after_rotation = ids(&w);
    assert!(after_rotation.contains(&new.key_id()) && !after_rotation.contains(&old));
    assert_eq!(w.state.member_set().expect("a set").quorum(), 2);
    // Revoking a member's key takes it out: 2 left, both needed.
    let civil = w.node(0).key_id();
    w.at(3, T0 + 2 * HOUR)
        .gov(0, &[0, 1], Change::RevokeKey { key: civil }, "accepted");
    let set = w.state.member_set().expect("a set");
    assert_eq!(set.keys().len(), 2);
    assert_eq!(set.quorum(), 2);
    assert!(!set.keys().contains_key(&civil));
    // Removing a member takes it out: one left.
    w.at(4, T0 + 3 * HOUR).gov(
        0,
        &[0, 1],
        Change::RemoveMember {
            member: MemberId(2),
        },
        "accepted",
    );
    // Left: the insurance member's rotated key.
    let last = new.key_id();
    assert_eq!(ids(&w), vec![last]);
    // The last member key can be neither revoked nor removed.
    w.at(5, T0 + 4 * HOUR).gov(
        0,
        &[0, 1],
        Change::RevokeKey { key: last },
        "refused: would leave no active member key",
    );
    w.at(5, T0 + 4 * HOUR).gov(
        0,
        &[0, 1],
        Change::RemoveMember {
            member: MemberId(3),
        },
        "refused: would leave no active member key",
    );
    // Adding a member brings the set to two, both needed.
    let joining = w.spare[1].public_key().clone();
    w.at(6, T0 + 5 * HOUR).gov(
        0,
        &[0, 1],
        Change::AddMember {
            member: MemberId(4),
            key: joining,
        },
        "accepted",
    );
    let set = w.state.member_set().expect("a set");
    assert_eq!(set.keys().len(), 2);
    assert_eq!(set.quorum(), 2);
}
