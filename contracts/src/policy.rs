//! `policy`: 免申即享 policy runs — opened by the policy's receiving department, one access
//! record per department that evaluates its predicate, and the run's end.
//!
//! Rules:
//! - a run cites a registered policy and is opened by the current key of the policy's
//!   receiver; run ids are unique;
//! - an access is signed by the member it names, for an open run, reading only categories
//!   the policy registered, once per member and run; the legal basis is the policy's;
//! - the receiver ends a run (completed or failed); any other department may only fail it
//!   (its node could not take part), so a run never stays open because a sender is down.
//!
//! The ledger never holds a list of people for a run: the matches stay with the receiver,
//! whose completing end records only a salted commitment to them
//! ([`crate::policy_matches`]), against which a matched person's history is proven.

use crate::apply::{Context, Outcome, member_of, require_role};
use crate::payload::{PolicyAccess, PolicyEnd, PolicyRun, RunOutcome};
use crate::rejection::Rejection;
use crate::state::{PolicyRunRecord, RunAccess, RunStatus, State};
use crate::types::{Role, RunId};

fn open_run(state: &State, run: RunId) -> Result<&PolicyRunRecord, Rejection> {
    let record = state.runs.get(&run).ok_or(Rejection::UnknownRun { run })?;
    if record.status != RunStatus::Open {
        return Err(Rejection::RunEnded { run });
    }
    Ok(record)
}

pub(crate) fn open(cx: Context<'_>, p: &PolicyRun) -> Result<Outcome, Rejection> {
    let Context(state, signer, tx, at) = cx;
    require_role(state, signer, Role::Department, at)?;
    let policy = state
        .policies
        .get(&p.policy)
        .ok_or(Rejection::UnknownPolicy { policy: p.policy })?;
    if member_of(state, signer) != Some(policy.receiver) {
        return Err(Rejection::NotPolicyReceiver {
            key: signer,
            receiver: policy.receiver,
            policy: p.policy,
        });
    }
    if state.runs.contains_key(&p.run) {
        return Err(Rejection::RunExists { run: p.run });
    }
    let receiver = policy.receiver;
    state.open_runs.insert(p.run);
    state.runs.insert(
        p.run,
        PolicyRunRecord {
            policy: p.policy,
            receiver,
            opened_at: at,
            tx,
            status: RunStatus::Open,
            ended_at: None,
            matches: None,
            accesses: Vec::new(),
        },
    );
    Ok(Outcome::RunOpened { run: p.run })
}

pub(crate) fn access(cx: Context<'_>, a: &PolicyAccess) -> Result<Outcome, Rejection> {
    let Context(state, signer, tx, at) = cx;
    crate::requests::require_node(state, signer, a.node, at)?;
    let run = open_run(state, a.run)?;
    let allowed = state
        .policies
        .get(&run.policy)
        .map(|p| p.categories)
        .ok_or(Rejection::UnknownPolicy { policy: run.policy })?;
    if !allowed.covers(a.categories) {
        return Err(Rejection::OutsidePolicyCategories {
            policy: run.policy,
            categories: a.categories,
            allowed,
        });
    }
    if run.accesses.iter().any(|e| e.node == a.node) {
        return Err(Rejection::RunAccessRepeated {
            run: a.run,
            node: a.node,
        });
    }
    if let Some(run) = state.runs.get_mut(&a.run) {
        run.accesses.push(RunAccess {
            node: a.node,
            signer,
            categories: a.categories,
            at,
            tx,
        });
    }
    Ok(Outcome::RunAccessed {
        run: a.run,
        node: a.node,
    })
}

pub(crate) fn end(cx: Context<'_>, e: &PolicyEnd) -> Result<Outcome, Rejection> {
    let Context(state, signer, _tx, at) = cx;
    require_role(state, signer, Role::Department, at)?;
    let run = open_run(state, e.run)?;
    let is_receiver = member_of(state, signer) == Some(run.receiver);
    let completed = matches!(e.outcome, RunOutcome::Completed(_));
    if !is_receiver && (completed || member_of(state, signer).is_none()) {
        return Err(Rejection::NotPolicyReceiver {
            key: signer,
            receiver: run.receiver,
            policy: run.policy,
        });
    }
    let (status, matches) = match e.outcome {
        RunOutcome::Completed(root) => (RunStatus::Completed, Some(root)),
        RunOutcome::Failed(reason) => (RunStatus::Failed(reason), None),
    };
    if let Some(run) = state.runs.get_mut(&e.run) {
        run.status = status;
        run.ended_at = Some(at);
        run.matches = matches;
    }
    state.open_runs.remove(&e.run);
    Ok(Outcome::RunEnded { run: e.run, status })
}
