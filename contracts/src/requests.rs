//! Assessment requests: requested → authorised (every category the model reads has been
//! accessed under consent) → computed (result commitment) | failed (reason); requests
//! still open at their deadline are failed by the time-out sweep
//! ([`crate::expire_requests`]).

use weinong_keys::KeyId;

use crate::apply::{Outcome, live_model, member_of, require_role};
use crate::limits::REQUEST_TIMEOUT_MS;
use crate::payload::{AssessmentRequest, FailRequest, ResultRecord};
use crate::rejection::Rejection;
use crate::state::{Request, RequestEvent, RequestStatus, State};
use crate::types::{BlockTime, CategorySet, RequestId, Role};

pub(crate) fn open(
    state: &mut State,
    signer: KeyId,
    q: &AssessmentRequest,
    at: BlockTime,
) -> Result<Outcome, Rejection> {
    require_role(state, signer, Role::Institution, at)?;
    if !q.purpose.is_assessment() {
        return Err(Rejection::NotAssessmentPurpose { purpose: q.purpose });
    }
    if state.requests.contains_key(&q.request) {
        return Err(Rejection::RequestExists { request: q.request });
    }
    live_model(state, q.model)?;
    let deadline_ms = at
        .time_ms
        .checked_add(REQUEST_TIMEOUT_MS)
        .ok_or(Rejection::TimeOverflow { now_ms: at.time_ms })?;
    state.requests.insert(
        q.request,
        Request {
            requester: signer,
            subject: q.subject,
            purpose: q.purpose,
            model: q.model,
            deadline_ms,
            status: RequestStatus::Requested,
            accessed: CategorySet::EMPTY,
            history: vec![(at, RequestEvent::Requested { by: signer })],
        },
    );
    state.open_deadlines.insert((deadline_ms, q.request));
    Ok(Outcome::Requested {
        request: q.request,
        deadline_ms,
    })
}

pub(crate) fn compute(
    state: &mut State,
    signer: KeyId,
    q: &ResultRecord,
    at: BlockTime,
) -> Result<Outcome, Rejection> {
    require_role(state, signer, Role::Department, at)?;
    if member_of(state, signer).is_none() {
        return Err(Rejection::NotAMember { signer });
    }
    let request = open_request(state, q.request, at)?;
    if request.status != RequestStatus::Authorised {
        return Err(Rejection::RequestState {
            request: q.request,
            status: request.status,
            needed: "authorised",
        });
    }
    if request.model != q.model {
        return Err(Rejection::OtherModel {
            request: q.request,
            expected: request.model,
            found: q.model,
        });
    }
    let deadline = request.deadline_ms;
    close(
        state,
        q.request,
        deadline,
        RequestStatus::Computed {
            commitment: q.commitment,
        },
        RequestEvent::Computed {
            by: signer,
            commitment: q.commitment,
        },
        at,
    );
    Ok(Outcome::Computed { request: q.request })
}

pub(crate) fn fail(
    state: &mut State,
    signer: KeyId,
    f: &FailRequest,
    at: BlockTime,
) -> Result<Outcome, Rejection> {
    let request = open_request(state, f.request, at)?;
    let allowed = request.requester == signer
        || require_role(state, signer, Role::Department, at).is_ok()
        || require_role(state, signer, Role::Steward, at).is_ok();
    if !allowed {
        return Err(Rejection::MayNotFail {
            key: signer,
            request: f.request,
        });
    }
    let deadline = request.deadline_ms;
    let reason = f.reason;
    close(
        state,
        f.request,
        deadline,
        RequestStatus::Failed { reason },
        RequestEvent::Failed {
            by: Some(signer),
            reason,
        },
        at,
    );
    Ok(Outcome::Failed {
        request: f.request,
        reason,
    })
}

/// The request, if it exists, is open, and has not reached its deadline at `at`.
pub(crate) fn open_request(
    state: &State,
    id: RequestId,
    at: BlockTime,
) -> Result<&Request, Rejection> {
    let request = state
        .requests
        .get(&id)
        .ok_or(Rejection::UnknownRequest { request: id })?;
    if !request.status.is_open() {
        return Err(Rejection::RequestState {
            request: id,
            status: request.status,
            needed: "requested or authorised",
        });
    }
    if at.time_ms >= request.deadline_ms {
        return Err(Rejection::RequestTimedOut {
            request: id,
            deadline_ms: request.deadline_ms,
            now_ms: at.time_ms,
        });
    }
    Ok(request)
}

fn close(
    state: &mut State,
    id: RequestId,
    deadline: u64,
    status: RequestStatus,
    event: RequestEvent,
    at: BlockTime,
) {
    state.open_deadlines.remove(&(deadline, id));
    if let Some(request) = state.requests.get_mut(&id) {
        request.status = status;
        request.history.push((at, event));
    }
}
