//! Policy runs on the ledger: registration by governance, who may open, access and end a
//! run, and that a refusal leaves the state (and its digest) unchanged.

mod common;

use common::{T0, Who, World};
use weinong_contracts::{
    BlockTime, Call, CategorySet, Change, DataCategory as C, FailureReason, LegalBasis,
    MatchesRoot, MemberId, Outcome, PolicyAccess, PolicyEnd, PolicyRun, Rejection, RunId,
    RunOutcome, RunStatus, expire_requests, policy_id,
};

const SPEC: &[u8] = b"canonical policy bytes (opaque to the contracts)";

fn categories() -> CategorySet {
    CategorySet::of(&[C::AbilityAssessment, C::Diagnoses, C::InsuranceClaims])
}

/// A world with the policy registered, receiver civil affairs (member 1, node 0).
fn world() -> World {
    let mut w = World::new(3, 2);
    let tx = w.governance(
        0,
        &[0, 1],
        Change::RegisterPolicy {
            receiver: MemberId(1),
            legal_basis: LegalBasis::PublicInterest,
            categories: categories(),
            spec: SPEC.to_vec(),
        },
    );
    w.submit_at(tx, BlockTime::new(2, T0 + 2000))
        .expect("registered");
    w
}

fn at(h: u64) -> BlockTime {
    BlockTime::new(h, T0 + h * 1000)
}

fn open(run: u8) -> Call {
    Call::PolicyRun(PolicyRun {
        run: RunId::from_bytes([run; 32]),
        policy: policy_id(SPEC),
    })
}

fn access(run: u8, node: u16, categories: CategorySet) -> Call {
    Call::PolicyAccess(PolicyAccess {
        run: RunId::from_bytes([run; 32]),
        node: MemberId(node),
        categories,
    })
}

fn end(run: u8, outcome: RunOutcome) -> Call {
    Call::PolicyEnd(PolicyEnd {
        run: RunId::from_bytes([run; 32]),
        outcome,
    })
}

/// Submits `call` as `who` and checks a refusal left the state digest as it was.
fn try_call(w: &mut World, who: Who, call: &Call, h: u64) -> Result<Outcome, Rejection> {
    // The block's time-out sweep moves the state's clock; compare after it.
    if at(h).height > w.at.height {
        expire_requests(&mut w.state, at(h)).expect("time moves forward");
        w.at = at(h);
    }
    let before = w.state.digest();
    let tx = w.sign(who, call);
    let result = w.submit_at(tx, at(h)).map(|r| r.outcome);
    if result.is_err() {
        assert_eq!(w.state.digest(), before, "a refusal changed the state");
    }
    result
}

/// A receiver's commitment to its matches (opaque to the contracts).
const ROOT: MatchesRoot = MatchesRoot::from_bytes([0x5a; 32]);

#[test]
fn a_run_is_opened_accessed_and_completed_by_the_right_parties() {
    let mut w = world();
    let policy = w
        .state
        .policy(&policy_id(SPEC))
        .expect("registered")
        .clone();
    assert_eq!(policy.receiver, MemberId(1));
    assert_eq!(policy.legal_basis, LegalBasis::PublicInterest);
    // Only the receiver opens; not another department, the auditor or an institution.
    for who in [Who::Node(1), Who::Auditor, Who::Institution, Who::Registrar] {
        assert!(
            try_call(&mut w, who, &open(1), 3).is_err(),
            "{who:?} opened a run"
        );
    }
    assert!(matches!(
        try_call(&mut w, Who::Node(0), &open(1), 3),
        Ok(Outcome::RunOpened { .. })
    ));
    assert!(matches!(
        try_call(&mut w, Who::Node(0), &open(1), 4),
        Err(Rejection::RunExists { .. })
    ));
    let open_ids: Vec<RunId> = w.state.open_runs().copied().collect();
    assert_eq!(
        open_ids,
        [RunId::from_bytes([1; 32])],
        "the open index lists the run"
    );
    // Accesses: each department once, as itself, within the policy's categories.
    let civil = CategorySet::of(&[C::AbilityAssessment]);
    let insurance = CategorySet::of(&[C::InsuranceClaims]);
    assert!(matches!(
        try_call(&mut w, Who::Node(1), &access(1, 3, insurance), 5),
        Err(Rejection::NotTheNode { .. })
    ));
    assert!(matches!(
        try_call(
            &mut w,
            Who::Node(2),
            &access(1, 3, CategorySet::of(&[C::Medications])),
            5
        ),
        Err(Rejection::OutsidePolicyCategories { .. })
    ));
    try_call(&mut w, Who::Node(0), &access(1, 1, civil), 5).expect("civil access");
    try_call(&mut w, Who::Node(2), &access(1, 3, insurance), 6).expect("insurance access");
    assert!(matches!(
        try_call(&mut w, Who::Node(2), &access(1, 3, insurance), 7),
        Err(Rejection::RunAccessRepeated { .. })
    ));
    // Only the receiver completes.
    assert!(matches!(
        try_call(
            &mut w,
            Who::Node(2),
            &end(1, RunOutcome::Completed(ROOT)),
            8
        ),
        Err(Rejection::NotPolicyReceiver { .. })
    ));
    try_call(
        &mut w,
        Who::Node(0),
        &end(1, RunOutcome::Completed(ROOT)),
        8,
    )
    .expect("completed");
    let run = w.state.run(&RunId::from_bytes([1; 32])).expect("run");
    assert_eq!(run.status, RunStatus::Completed);
    assert_eq!(
        run.matches,
        Some(ROOT),
        "the receiver's commitment is recorded"
    );
    let nodes: Vec<MemberId> = run.accesses.iter().map(|a| a.node).collect();
    assert_eq!(nodes, [MemberId(1), MemberId(3)]);
    // An ended run takes no more accesses or ends.
    assert!(matches!(
        try_call(
            &mut w,
            Who::Node(1),
            &access(1, 2, CategorySet::of(&[C::Diagnoses])),
            9
        ),
        Err(Rejection::RunEnded { .. })
    ));
}

#[test]
fn a_sender_may_fail_a_run_and_unknown_policies_and_runs_are_refused() {
    let mut w = world();
    try_call(&mut w, Who::Node(0), &open(2), 3).expect("opened");
    try_call(
        &mut w,
        Who::Node(1),
        &end(2, RunOutcome::Failed(FailureReason::ComputationAborted)),
        4,
    )
    .expect("a department may fail a run");
    assert_eq!(
        w.state
            .run(&RunId::from_bytes([2; 32]))
            .expect("run")
            .status,
        RunStatus::Failed(FailureReason::ComputationAborted)
    );
    let unknown = Call::PolicyRun(PolicyRun {
        run: RunId::from_bytes([3; 32]),
        policy: policy_id(b"never registered"),
    });
    assert!(matches!(
        try_call(&mut w, Who::Node(0), &unknown, 5),
        Err(Rejection::UnknownPolicy { .. })
    ));
    assert!(matches!(
        try_call(
            &mut w,
            Who::Node(0),
            &access(9, 1, CategorySet::of(&[C::AbilityAssessment])),
            5
        ),
        Err(Rejection::UnknownRun { .. })
    ));
    // Registering the same spec twice is refused; a receiver that is no member too.
    for (receiver, spec) in [(MemberId(1), SPEC), (MemberId(9), b"another".as_slice())] {
        let tx = w.governance(
            0,
            &[0, 1],
            Change::RegisterPolicy {
                receiver,
                legal_basis: LegalBasis::StatutoryDuty,
                categories: categories(),
                spec: spec.to_vec(),
            },
        );
        assert!(w.submit_at(tx, at(6)).is_err());
    }
}

#[test]
fn policy_calls_round_trip_and_timed_out_is_not_an_outcome() {
    for call in [
        open(1),
        access(1, 2, categories()),
        end(1, RunOutcome::Completed(ROOT)),
        end(1, RunOutcome::Failed(FailureReason::DataUnavailable)),
    ] {
        let bytes = call.encode().expect("encodes");
        assert_eq!(Call::decode(call.kind(), &bytes).expect("decodes"), call);
    }
    let mut bytes = end(1, RunOutcome::Failed(FailureReason::DataUnavailable))
        .encode()
        .expect("encodes");
    *bytes.last_mut().expect("outcome byte") = FailureReason::TimedOut.code();
    let kind = end(1, RunOutcome::Completed(ROOT)).kind();
    assert!(Call::decode(kind, &bytes).is_err());
    *bytes.last_mut().expect("outcome byte") = 0x7f;
    assert!(Call::decode(kind, &bytes).is_err());
}
