//! Property tests over random transaction sequences, signed for real.
//!
//! A sequence mixes plausible and implausible calls from every kind of signer. An oracle
//! written here, fed only by what was accepted, checks after each transaction that:
//! - no access is accepted without a covering, unexpired, unrevoked consent;
//! - nothing signed (or approved) by a revoked or rotated key is accepted after that block,
//!   and no key acts in a role after it was unbound;
//! - governance with k-1 approvals, a repeated approver or an approval over other bytes is
//!   refused;
//! - a refused transaction leaves the state unchanged (whole state and digest);
//!
//! and at the end, that the same sequence applied again (with plain and with prepared-key
//! verification) gives the same answers and the same digest.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::{DAY, HOUR, T0, Who, World, replay};
use proptest::prelude::*;
use weinong_contracts::{
    AccessRecord, AssessmentRequest, BlockTime, Call, CategorySet, Change, ConsentGrant, ConsentId,
    ConsentRevoke, DataCategory, EvidenceHash, FailRequest, FailureReason, FieldsHash, Governance,
    MemberId, Outcome, Purpose, RequestId, RequestStatus, ResultCommitment, ResultRecord, Role,
    VerifiedTx, apply, expire_requests,
    payload::{model_id, rotation_bytes},
};
use weinong_keys::{KeyId, SubjectPseudonym};

const POOL: [Who; 15] = [
    Who::Admin(0),
    Who::Admin(1),
    Who::Admin(2),
    Who::Admin(3),
    Who::Node(0),
    Who::Node(1),
    Who::Node(2),
    Who::Registrar,
    Who::Institution,
    Who::Auditor,
    Who::Spare(0),
    Who::Spare(1),
    Who::Spare(2),
    Who::Spare(3),
    Who::Stranger,
];

#[derive(Clone, Copy, Debug)]
enum Defect {
    None,
    TooFew,
    Duplicate,
    WrongBytes,
}

#[derive(Clone, Debug)]
enum ChangeAction {
    Revoke(u8),
    Unbind(u8, u8),
    Bind(u8, u8),
    Threshold(u16),
    Rotate(u8, u8),
    RemoveMember(u16),
    Model(u16),
}

#[derive(Clone, Debug)]
enum Action {
    Grant {
        consent: u8,
        subject: u8,
        other_grantee: bool,
        purpose: u8,
        cats: u16,
        from_h: u16,
        len_h: u16,
    },
    Revoke {
        consent: u8,
    },
    Request {
        request: u8,
        subject: u8,
        purpose: u8,
        model: u8,
    },
    /// `coherent`: pick an existing request and one of its subject's consents.
    Access {
        coherent: bool,
        request: u8,
        node: u16,
        subject: u8,
        cats: u16,
        consent: u8,
    },
    Result {
        request: u8,
    },
    Fail {
        request: u8,
        reason: u8,
    },
    Gov {
        submitter: u8,
        approvers: u8,
        defect: Defect,
        change: ChangeAction,
    },
    Replay {
        back: u8,
    },
}

#[derive(Clone, Debug)]
struct Step {
    action: Action,
    /// `None`: the natural signer for the call; `Some(i)`: `POOL[i]`.
    signer: Option<u8>,
    new_block: bool,
    dt_min: u16,
    jump_days: u8,
}

fn cats() -> impl Strategy<Value = u16> {
    // Often exactly the model's categories (bits 3, 4, 7), often a part, sometimes anything.
    prop_oneof![
        3 => Just(0b1001_1000u16),
        4 => (1u16..8).prop_map(|m| ((m & 1) << 3) | ((m & 2) << 3) | ((m & 4) << 5)),
        1 => 0u16..0x800
    ]
}

fn purpose() -> impl Strategy<Value = u8> {
    prop_oneof![3 => Just(1u8), 1 => 1u8..4]
}

fn change() -> impl Strategy<Value = ChangeAction> {
    prop_oneof![
        1 => (0u8..15).prop_map(ChangeAction::Revoke),
        1 => ((0u8..15), (1u8..7)).prop_map(|(k, r)| ChangeAction::Unbind(k, r)),
        3 => ((0u8..15), (1u8..7)).prop_map(|(k, r)| ChangeAction::Bind(k, r)),
        2 => (0u16..6).prop_map(ChangeAction::Threshold),
        1 => ((0u8..15), (0u8..4)).prop_map(|(k, s)| ChangeAction::Rotate(k, s)),
        1 => (1u16..5).prop_map(ChangeAction::RemoveMember),
        2 => cats().prop_map(ChangeAction::Model),
    ]
}

fn action() -> impl Strategy<Value = Action> {
    let defect = prop_oneof![
        3 => Just(Defect::None),
        1 => Just(Defect::TooFew),
        1 => Just(Defect::Duplicate),
        1 => Just(Defect::WrongBytes)
    ];
    prop_oneof![
        4 => (0u8..6, 0u8..3, prop::bool::weighted(0.1), purpose(), cats(), 0u16..72, 1u16..400).prop_map(
            |(consent, subject, other_grantee, purpose, cats, from_h, len_h)| Action::Grant {
                consent, subject, other_grantee, purpose, cats, from_h, len_h
            }
        ),
        2 => (0u8..6).prop_map(|consent| Action::Revoke { consent }),
        3 => (0u8..16, 0u8..3, purpose(), prop_oneof![3 => Just(0u8), 1 => 0u8..3]).prop_map(|(request, subject, purpose, model)| Action::Request {
            request, subject, purpose, model
        }),
        6 => (prop::bool::weighted(0.7), 0u8..5, 1u16..4, 0u8..3, cats(), 0u8..6).prop_map(
            |(coherent, request, node, subject, cats, consent)| Action::Access { coherent, request, node, subject, cats, consent }
        ),
        2 => (0u8..16).prop_map(|request| Action::Result { request }),
        1 => (0u8..16, 1u8..5).prop_map(|(request, reason)| Action::Fail { request, reason }),
        2 => (0u8..4, 0u8..16, defect, change()).prop_map(|(submitter, approvers, defect, change)| Action::Gov {
            submitter, approvers, defect, change
        }),
        1 => (0u8..8).prop_map(|back| Action::Replay { back }),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    (
        action(),
        prop::option::weighted(0.2, 0u8..15),
        prop::bool::weighted(0.7),
        0u16..120,
        prop_oneof![15 => Just(0u8), 1 => 1u8..3],
    )
        .prop_map(|(action, signer, new_block, dt_min, jump_days)| Step {
            action,
            signer,
            new_block,
            dt_min,
            jump_days,
        })
}

fn subject(i: u8) -> SubjectPseudonym {
    SubjectPseudonym::from_bytes([0x50 + i; 32])
}
fn spec(i: u8) -> Vec<u8> {
    format!("model spec {i}").into_bytes()
}
/// Model 0 is registered in setup and reads vital signs, diagnoses and insurance claims.
fn model_cats() -> CategorySet {
    CategorySet::of(&[
        DataCategory::VitalSigns,
        DataCategory::Diagnoses,
        DataCategory::InsuranceClaims,
    ])
}

/// What the oracle knows, from accepted transactions only.
#[derive(Default)]
struct Oracle {
    consents: BTreeMap<ConsentId, ConsentGrant>,
    withdrawn: BTreeSet<ConsentId>,
    requests: BTreeMap<RequestId, (KeyId, AssessmentRequest)>,
    dead_keys: BTreeSet<KeyId>,
    unbound: BTreeSet<(KeyId, Role)>,
}

fn build(
    w: &mut World,
    step: &Step,
    history: &[weinong_ledger::Transaction],
) -> (weinong_ledger::Transaction, Defect) {
    let natural = |_: &World, who: Who| {
        step.signer
            .map_or(who, |i| POOL[usize::from(i) % POOL.len()])
    };
    let mut defect = Defect::None;
    let tx = match &step.action {
        Action::Grant {
            consent,
            subject: s,
            other_grantee,
            purpose,
            cats,
            from_h,
            len_h,
        } => {
            let grantee = if *other_grantee {
                w.stranger.key_id()
            } else {
                w.institution.key_id()
            };
            let from = w.at.time_ms.saturating_sub(48 * HOUR) + u64::from(*from_h) * HOUR;
            let call = Call::ConsentGrant(ConsentGrant {
                consent: ConsentId::from_bytes([*consent; 32]),
                subject: subject(*s),
                grantee,
                purpose: Purpose::from_code(*purpose).expect("1..4"),
                categories: CategorySet::from_bits(*cats)
                    .filter(|c| !c.is_empty())
                    .unwrap_or(model_cats()),
                valid_from: from,
                valid_until: from + u64::from(*len_h) * HOUR,
                evidence: EvidenceHash::from_bytes([0xee; 32]),
            });
            let who = natural(w, Who::Registrar);
            w.sign(who, &call)
        }
        Action::Revoke { consent } => {
            let call = Call::ConsentRevoke(ConsentRevoke {
                consent: ConsentId::from_bytes([*consent; 32]),
                evidence: EvidenceHash::from_bytes([0xdd; 32]),
            });
            let who = natural(w, Who::Registrar);
            w.sign(who, &call)
        }
        Action::Request {
            request,
            subject: s,
            purpose,
            model,
        } => {
            let call = Call::AssessmentRequest(AssessmentRequest {
                request: RequestId::from_bytes([*request; 32]),
                subject: subject(*s),
                purpose: Purpose::from_code(*purpose).expect("1..4"),
                model: model_id(&spec(*model)),
            });
            let who = natural(w, Who::Institution);
            w.sign(who, &call)
        }
        Action::Access {
            coherent,
            request,
            node,
            subject: s,
            cats,
            consent,
        } => {
            let mut record = AccessRecord {
                request: RequestId::from_bytes([*request; 32]),
                node: MemberId(*node),
                subject: subject(*s),
                categories: CategorySet::from_bits(*cats)
                    .filter(|c| !c.is_empty())
                    .unwrap_or(model_cats()),
                consent: ConsentId::from_bytes([*consent; 32]),
                fields: FieldsHash::from_bytes([0xff; 32]),
            };
            if *coherent {
                let open: Vec<RequestId> = (0..16u8)
                    .map(|i| RequestId::from_bytes([i; 32]))
                    .filter(|id| w.state.request(id).is_some_and(|r| r.status.is_open()))
                    .collect();
                if let Some(id) = open.get(usize::from(*request) % open.len().max(1)) {
                    let subject = *w
                        .state
                        .request(id)
                        .and_then(|r| r.subject())
                        .expect("the generator opens single-subject requests only");
                    record.request = *id;
                    record.subject = subject;
                    let consents: Vec<ConsentId> =
                        w.state.consents_of(&subject).map(|(c, _)| *c).collect();
                    if let Some(c) = consents.get(usize::from(*consent) % consents.len().max(1)) {
                        record.consent = *c;
                    }
                }
            }
            let call = Call::AccessRecord(record);
            let who = natural(w, Who::Node(usize::from(*node) - 1));
            w.sign(who, &call)
        }
        Action::Result { request } => {
            // Prefer an authorised request, so the computed path is reached.
            let authorised: Vec<RequestId> = (0..16u8)
                .map(|i| RequestId::from_bytes([i; 32]))
                .filter(|id| {
                    w.state
                        .request(id)
                        .is_some_and(|r| r.status == RequestStatus::Authorised)
                })
                .collect();
            let id = authorised
                .get(usize::from(*request) % authorised.len().max(1))
                .copied();
            let call = Call::ResultRecord(ResultRecord {
                request: id.unwrap_or(RequestId::from_bytes([*request; 32])),
                model: model_id(&spec(0)),
                commitment: ResultCommitment::from_bytes([0xcc; 32]),
            });
            // The requester records the result (other keys try through `step.signer`).
            let who = natural(w, Who::Institution);
            w.sign(who, &call)
        }
        Action::Fail { request, reason } => {
            let call = Call::FailRequest(FailRequest {
                request: RequestId::from_bytes([*request; 32]),
                reason: FailureReason::from_code(*reason).expect("1..5"),
            });
            let who = natural(w, Who::Institution);
            w.sign(who, &call)
        }
        Action::Gov {
            submitter,
            approvers,
            defect: d,
            change,
        } => {
            defect = *d;
            let change = change_of(w, change);
            let seq = w.state.governance_seq();
            // A bound Admin role on a pool key can raise the threshold above the four
            // admins this world signs with: then every approval set is short, still defective.
            let k = usize::from(w.state.threshold()).min(w.admins.len());
            let chosen: Vec<usize> = match d {
                Defect::None => (0..w.admins.len())
                    .filter(|i| approvers & (1 << i) != 0)
                    .collect(),
                Defect::TooFew => (0..k.saturating_sub(1)).collect(),
                Defect::Duplicate | Defect::WrongBytes => (0..k).collect(),
            };
            let consortium = *w.state.consortium();
            let mut approvals = common::approve(
                &consortium,
                seq,
                &change,
                chosen.iter().map(|&i| &w.admins[i]),
            );
            match d {
                Defect::Duplicate => {
                    // k entries, k-1 distinct: the first admin counted twice (for k = 1,
                    // two entries by one admin: not canonical either).
                    if approvals.len() >= 2 {
                        approvals.pop();
                    }
                    if let Some(first) = approvals.first().cloned() {
                        approvals.insert(0, first);
                    }
                }
                Defect::WrongBytes => {
                    // The last approver signed the next change number instead.
                    if let Some(last) = approvals.last_mut() {
                        let admin = w
                            .admins
                            .iter()
                            .find(|a| a.key_id() == last.admin)
                            .expect("an admin");
                        last.signature =
                            admin.sign(&Governance::approved_bytes(&consortium, seq + 1, &change));
                    }
                }
                _ => {}
            }
            let call = Call::Governance(Governance {
                seq,
                change,
                approvals,
            });
            let who = natural(w, Who::Admin(usize::from(*submitter)));
            w.sign(who, &call)
        }
        Action::Replay { back } => {
            match history
                .len()
                .checked_sub(1 + usize::from(*back))
                .and_then(|i| history.get(i))
            {
                Some(tx) => tx.clone(),
                None => {
                    let call = Call::ConsentRevoke(ConsentRevoke {
                        consent: ConsentId::from_bytes([9; 32]),
                        evidence: EvidenceHash::from_bytes([0; 32]),
                    });
                    w.sign(Who::Registrar, &call)
                }
            }
        }
    };
    (tx, defect)
}

fn change_of(w: &World, c: &ChangeAction) -> Change {
    let pool_key = |i: u8| w.key(POOL[usize::from(i) % POOL.len()]);
    match c {
        ChangeAction::Revoke(i) => Change::RevokeKey {
            key: pool_key(*i).key_id(),
        },
        ChangeAction::Unbind(i, r) => Change::UnbindRole {
            key: pool_key(*i).key_id(),
            role: Role::from_code(*r).expect("1..7"),
        },
        ChangeAction::Bind(i, r) => Change::BindRole {
            key: pool_key(*i).public_key().clone(),
            role: Role::from_code(*r).expect("1..7"),
            valid_from: w.at.time_ms,
            valid_until: None,
        },
        ChangeAction::Threshold(k) => Change::SetThreshold { k: *k },
        ChangeAction::Rotate(i, s) => {
            let old = pool_key(*i);
            let new = w.spare[usize::from(*s)].public_key().clone();
            let old_signature =
                old.sign(&rotation_bytes(w.state.consortium(), &old.key_id(), &new));
            Change::RotateKey {
                old: old.key_id(),
                new,
                old_signature,
            }
        }
        ChangeAction::RemoveMember(m) => Change::RemoveMember {
            member: MemberId(*m),
        },
        ChangeAction::Model(bits) => Change::RegisterModel {
            categories: CategorySet::from_bits(*bits)
                .filter(|c| !c.is_empty())
                .unwrap_or(model_cats()),
            spec: spec((*bits % 3) as u8),
        },
    }
}

/// The role a call needs of its signer (failing a request has several ways in).
fn role_needed(call: &Call) -> Option<Role> {
    match call {
        Call::Governance(_) => Some(Role::Admin),
        Call::ConsentGrant(_) | Call::ConsentRevoke(_) => Some(Role::Registrar),
        Call::AccessRecord(_)
        | Call::BatchAccess(_)
        | Call::PolicyRun(_)
        | Call::PolicyAccess(_)
        | Call::PolicyEnd(_) => Some(Role::Department),
        Call::AssessmentRequest(_) | Call::ResultRecord(_) | Call::BatchRequest(_) => {
            Some(Role::Institution)
        }
        Call::FailRequest(_) => None,
    }
}

fn run(steps: &[Step]) -> Result<(), TestCaseError> {
    let mut w = World::new(4, 2);
    let register = Change::RegisterModel {
        categories: model_cats(),
        spec: spec(0),
    };
    let tx = w.governance(0, &[0, 1], register);
    w.submit_at(tx, BlockTime::new(2, T0))
        .map_err(|e| TestCaseError::fail(format!("setup: {e}")))?;
    let mut oracle = Oracle::default();
    let mut sent: Vec<weinong_ledger::Transaction> = Vec::new();
    let mut accepted = 0u32;

    for step in steps {
        let mut at = w.at;
        if step.new_block {
            at.height += 1;
        }
        at.time_ms += u64::from(step.dt_min) * 60_000 + u64::from(step.jump_days) * DAY;
        let (tx, defect) = build(&mut w, step, &sent);
        sent.push(tx.clone());

        // The block's sweep, then the transaction against a snapshot.
        if at.height > w.at.height {
            expire_requests(&mut w.state, at).map_err(|e| TestCaseError::fail(e.to_string()))?;
        }
        w.at = at;
        w.log.push((tx.clone(), at));
        let before = w.state.clone();
        let answer = VerifiedTx::verify(&tx, &w.state)
            .and_then(|v| apply(&mut w.state, &v, at).map(|r| (v, r)));
        let (verified, receipt) = match answer {
            Err(rejection) => {
                prop_assert!(w.state == before, "refusal {rejection} changed the state");
                prop_assert_eq!(w.state.digest(), before.digest());
                continue;
            }
            Ok(ok) => ok,
        };
        accepted += 1;
        let call = verified.call().clone();
        let signer = verified.signer();

        // Nothing from a revoked or rotated key, nothing in a role after it was unbound.
        prop_assert!(
            !oracle.dead_keys.contains(&signer),
            "accepted from dead key: {call:?}"
        );
        if let Some(role) = role_needed(&call) {
            prop_assert!(
                !oracle.unbound.contains(&(signer, role)),
                "accepted after unbinding {role}: {call:?}"
            );
        }
        match &call {
            Call::Governance(g) => {
                prop_assert!(
                    matches!(defect, Defect::None),
                    "defective governance accepted: {defect:?}"
                );
                let distinct: BTreeSet<KeyId> = g.approvals.iter().map(|a| a.admin).collect();
                prop_assert_eq!(distinct.len(), g.approvals.len());
                prop_assert!(distinct.len() >= usize::from(before.threshold()));
                for admin in &distinct {
                    prop_assert!(!oracle.dead_keys.contains(admin));
                    prop_assert!(!oracle.unbound.contains(&(*admin, Role::Admin)));
                }
                match &g.change {
                    Change::RevokeKey { key } => {
                        oracle.dead_keys.insert(*key);
                    }
                    Change::RotateKey { old, .. } => {
                        oracle.dead_keys.insert(*old);
                    }
                    Change::UnbindRole { key, role } => {
                        oracle.unbound.insert((*key, *role));
                    }
                    Change::BindRole { key, role, .. } => {
                        oracle.unbound.remove(&(key.key_id(), *role));
                    }
                    Change::RemoveMember { member } => {
                        let key = before
                            .member(*member)
                            .expect("removed an existing member")
                            .key;
                        oracle.unbound.insert((key, Role::Department));
                    }
                    _ => {}
                }
            }
            Call::ConsentGrant(c) => {
                oracle.consents.insert(c.consent, c.clone());
            }
            Call::ConsentRevoke(c) => {
                prop_assert!(
                    oracle.withdrawn.insert(c.consent),
                    "consent withdrawn twice"
                );
            }
            Call::AssessmentRequest(q) => {
                oracle.requests.insert(q.request, (signer, q.clone()));
            }
            Call::AccessRecord(a) => {
                let consent = oracle.consents.get(&a.consent);
                prop_assert!(consent.is_some(), "access on a consent never granted");
                let consent = consent.expect("checked");
                let (requester, request) = oracle
                    .requests
                    .get(&a.request)
                    .expect("access for a request never made");
                prop_assert!(
                    !oracle.withdrawn.contains(&a.consent),
                    "access on a withdrawn consent"
                );
                prop_assert!(
                    consent.valid_from <= at.time_ms && at.time_ms < consent.valid_until,
                    "consent not valid now"
                );
                prop_assert_eq!(consent.subject, a.subject);
                prop_assert_eq!(request.subject, a.subject);
                prop_assert_eq!(consent.grantee, *requester);
                prop_assert_eq!(consent.purpose, request.purpose);
                prop_assert!(
                    consent.categories.covers(a.categories),
                    "categories not covered"
                );
                let recorded = matches!(receipt.outcome, Outcome::AccessRecorded { .. });
                prop_assert!(recorded, "receipt is not an access record");
            }
            Call::ResultRecord(q) => {
                let (requester, _) = oracle
                    .requests
                    .get(&q.request)
                    .expect("result for a request never made");
                prop_assert_eq!(*requester, signer, "result not signed by the requester");
            }
            Call::FailRequest(_) => {}
            // Batch requests have their own tests (tests/batch.rs).
            // Batch requests and policy runs have their own tests (tests/batch.rs,
            // tests/policy_runs.rs).
            Call::BatchRequest(_)
            | Call::BatchAccess(_)
            | Call::PolicyRun(_)
            | Call::PolicyAccess(_)
            | Call::PolicyEnd(_) => {
                prop_assert!(false, "the generator makes no batch or policy calls")
            }
        }
    }

    // Replay: the same sequence gives the same answers and digest, with either verifier.
    let (again, answers) = replay(&w.genesis, &w.log, false);
    let (prepared, answers_prepared) = replay(&w.genesis, &w.log, true);
    prop_assert_eq!(again.digest(), w.state.digest());
    prop_assert_eq!(prepared.digest(), w.state.digest());
    prop_assert!(again == w.state);
    prop_assert_eq!(answers, answers_prepared);
    let _ = accepted;
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn random_sequences_keep_the_contract_invariants(steps in prop::collection::vec(step(), 1..48)) {
        run(&steps)?;
    }
}

/// The generator is not so hostile that nothing passes: a fixed long sequence accepts a
/// fair share of every kind of call (guards the property test against vacuity).
#[test]
fn the_generator_reaches_accepting_paths() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let mut kinds_accepted: BTreeSet<u16> = BTreeSet::new();
    for _ in 0..10 {
        let steps = prop::collection::vec(step(), 80)
            .new_tree(&mut runner)
            .expect("tree")
            .current();
        let mut w = World::new(4, 2);
        let register = Change::RegisterModel {
            categories: model_cats(),
            spec: spec(0),
        };
        let tx = w.governance(0, &[0, 1], register);
        w.submit_at(tx, BlockTime::new(2, T0)).expect("setup");
        let mut sent = Vec::new();
        for step in &steps {
            let mut at = w.at;
            at.height += 1;
            at.time_ms += u64::from(step.dt_min) * 60_000;
            let (tx, _) = build(&mut w, step, &sent);
            sent.push(tx.clone());
            match w.submit_at(tx.clone(), at) {
                Ok(_) => {
                    kinds_accepted.insert(tx.body().kind.0);
                }
                Err(e) if std::env::var_os("SHOW_REFUSALS").is_some() => {
                    eprintln!("{:#06x}: {e}", tx.body().kind.0)
                }
                Err(_) => {}
            }
        }
    }
    for kind in [0x0001u16, 0x0100, 0x0101, 0x0200, 0x0300, 0x0301, 0x0302] {
        assert!(
            kinds_accepted.contains(&kind),
            "no accepted transaction of kind {kind:#06x}: {kinds_accepted:?}"
        );
    }
}
