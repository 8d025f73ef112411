//! Assessment requests: requested → authorised (every category the model reads has been
//! accessed under consent) → computed (result commitment) | failed (reason); requests
//! still open at their deadline are failed by the time-out sweep
//! ([`crate::expire_requests`]).
//!
//! The result commitment ([`crate::ResultCommitment::of`]) is recorded by the request's
//! requester, still holding its institution role: it alone reconstructs the result from
//! the nodes' output shares and holds the commitment's nonce, so it alone can later open
//! the commitment to an auditor. Every history entry carries the hash of the transaction
//! that caused it.

use weinong_keys::KeyId;
use weinong_ledger::TxHash;

use crate::apply::{Context, Outcome, live_model, require_role};
use crate::limits::REQUEST_TIMEOUT_MS;
use crate::payload::{AssessmentRequest, FailRequest, ResultRecord};
use crate::rejection::Rejection;
use crate::state::{HistoryEntry, Request, RequestEvent, RequestStatus, State, Target};
use crate::types::{BlockTime, CategorySet, MemberId, ModelId, Purpose, RequestId, Role};

/// The checks every new request passes (single or batch): an institution asks, for an
/// assessment purpose, under a fresh id, with a live model. Returns its deadline.
pub(crate) fn check_new(
    state: &State,
    signer: KeyId,
    (request, purpose, model): (RequestId, Purpose, ModelId),
    at: BlockTime,
) -> Result<u64, Rejection> {
    require_role(state, signer, Role::Institution, at)?;
    if !purpose.is_assessment() {
        return Err(Rejection::NotAssessmentPurpose { purpose });
    }
    if state.requests.contains_key(&request) {
        return Err(Rejection::RequestExists { request });
    }
    live_model(state, model)?;
    at.time_ms
        .checked_add(REQUEST_TIMEOUT_MS)
        .ok_or(Rejection::TimeOverflow { now_ms: at.time_ms })
}

/// The signer is a department key of member `node` (who may record accesses for it).
pub(crate) fn require_node(
    state: &State,
    signer: KeyId,
    node: MemberId,
    at: BlockTime,
) -> Result<(), Rejection> {
    require_role(state, signer, Role::Department, at)?;
    if crate::apply::member_of(state, signer) != Some(node) {
        return Err(Rejection::NotTheNode { signer, node });
    }
    Ok(())
}

/// The categories `request`'s model reads, refusing an access that reads any other
/// (minimum necessary).
pub(crate) fn needed_categories(
    state: &State,
    request: &Request,
    reads: CategorySet,
) -> Result<CategorySet, Rejection> {
    let model = state
        .models
        .get(&request.model)
        .ok_or(Rejection::UnknownModel {
            model: request.model,
        })?;
    let extra = reads.minus(model.categories);
    if !extra.is_empty() {
        return Err(Rejection::NotNeeded {
            model: request.model,
            extra,
        });
    }
    Ok(model.categories)
}

/// After an access is recorded: adds its categories and moves the request to authorised
/// when every category the model reads is covered. Returns whether it did.
pub(crate) fn note_access(
    request: &mut Request,
    categories: CategorySet,
    needed: CategorySet,
    tx: TxHash,
    at: BlockTime,
) -> bool {
    request.accessed = request.accessed.union(categories);
    let authorised = request.status == RequestStatus::Requested && request.accessed.covers(needed);
    if authorised {
        request.status = RequestStatus::Authorised;
        request.history.push(HistoryEntry {
            at,
            tx: Some(tx),
            event: RequestEvent::Authorised,
        });
    }
    authorised
}

pub(crate) fn open(cx: Context<'_>, q: &AssessmentRequest) -> Result<Outcome, Rejection> {
    let Context(state, signer, tx, at) = cx;
    let deadline_ms = check_new(state, signer, (q.request, q.purpose, q.model), at)?;
    state.requests.insert(
        q.request,
        Request {
            requester: signer,
            target: Target::Subject(q.subject),
            purpose: q.purpose,
            model: q.model,
            deadline_ms,
            status: RequestStatus::Requested,
            accessed: CategorySet::EMPTY,
            history: vec![HistoryEntry {
                at,
                tx: Some(tx),
                event: RequestEvent::Requested { by: signer },
            }],
        },
    );
    state.open_deadlines.insert((deadline_ms, q.request));
    Ok(Outcome::Requested {
        request: q.request,
        deadline_ms,
    })
}

pub(crate) fn compute(cx: Context<'_>, q: &ResultRecord) -> Result<Outcome, Rejection> {
    let Context(state, signer, tx, at) = cx;
    let request = requesters_open_request(state, signer, q.request, at)?;
    // The requester must still hold its institution role, as when it asked.
    require_role(state, signer, Role::Institution, at)?;
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
        HistoryEntry {
            at,
            tx: Some(tx),
            event: RequestEvent::Computed {
                by: signer,
                commitment: q.commitment,
            },
        },
    );
    Ok(Outcome::Computed { request: q.request })
}

pub(crate) fn fail(cx: Context<'_>, f: &FailRequest) -> Result<Outcome, Rejection> {
    let Context(state, signer, tx, at) = cx;
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
        HistoryEntry {
            at,
            tx: Some(tx),
            event: RequestEvent::Failed {
                by: Some(signer),
                reason,
            },
        },
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

/// As [`open_request`], and `signer` is the key that made the request (who alone records
/// its result or the rest of its batch list).
pub(crate) fn requesters_open_request(
    state: &State,
    signer: KeyId,
    id: RequestId,
    at: BlockTime,
) -> Result<&Request, Rejection> {
    let request = open_request(state, id, at)?;
    if request.requester != signer {
        return Err(Rejection::NotTheRequester {
            signer,
            request: id,
            requester: request.requester,
        });
    }
    Ok(request)
}

fn close(
    state: &mut State,
    id: RequestId,
    deadline: u64,
    status: RequestStatus,
    entry: HistoryEntry,
) {
    state.open_deadlines.remove(&(deadline, id));
    if let Some(request) = state.requests.get_mut(&id) {
        request.status = status;
        request.history.push(entry);
    }
}
