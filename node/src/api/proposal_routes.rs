//! Pending governance proposals (off the ledger, [`crate::proposals`]): an admin posts a
//! proposal file with the approvals it carries; every admin using this node lists the
//! pending ones and posts them back with their own approval added; one submits the
//! governance transaction (`POST /v1/transactions`) once k approvals are in it. Each
//! approval is checked here as the contracts will check it, so the board never shows an
//! approval that would not count.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use weinong_api::ErrorCode;
use weinong_api::proposal::Proposal;
use weinong_contracts::Role;
use weinong_keys::{KeyId, Signature};

use super::App;
use super::dto::{ErrorBody, PendingProposalBody, ProposalPostRequest, ProposalsBody};
use super::error::ApiError;
use crate::proposals::{BoardError, id_of};

fn bad(message: impl Into<String>) -> ApiError {
    ApiError::bad_request(ErrorCode::BadProposal, message)
}

/// The pending proposal as the API shows it.
fn body(id: String, p: &Proposal) -> Result<PendingProposalBody, ApiError> {
    Ok(PendingProposalBody {
        id,
        seq: p.seq,
        summary: p.summary.clone(),
        approvals: p.approvals.iter().map(|a| a.admin.clone()).collect(),
        proposal: serde_json::to_string_pretty(p)
            .map_err(|e| bad(format!("cannot encode the proposal: {e}")))?,
    })
}

/// Checks `p` against the ledger as the contracts will: this consortium, the next
/// governance sequence number, and every approval an admin's valid signature.
fn check(app: &App, p: &Proposal) -> Result<(), ApiError> {
    let consortium = app.shared.consortium.to_hex();
    if !p.consortium.eq_ignore_ascii_case(&consortium) {
        return Err(bad(format!(
            "the proposal is for consortium {}, this node's is {consortium}",
            p.consortium
        )));
    }
    let replica = app.shared.ledger()?;
    let state = &replica.state;
    let next = state.governance_seq();
    if p.seq != next {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            ErrorCode::StaleProposal,
            format!(
                "the proposal is for governance change {}, the ledger expects change {next}: propose it again",
                p.seq
            ),
        ));
    }
    if p.approvals.is_empty() {
        return Err(bad(
            "the proposal carries no approval: the proposing admin approves it first",
        ));
    }
    let approved = p.approved_bytes().map_err(|e| bad(e.to_string()))?;
    let at = state.last_block().time_ms;
    for a in &p.approvals {
        let admin = hex::decode(&a.admin)
            .ok()
            .and_then(|b| <[u8; 32]>::try_from(b.as_slice()).ok())
            .map(KeyId::from_bytes)
            .ok_or_else(|| bad(format!("approval admin {:?} is not a key id", a.admin)))?;
        let Some(key) = state.key(&admin) else {
            return Err(bad(format!(
                "approval by {admin}: no such key on the ledger"
            )));
        };
        if !state.roles_at(&admin, at).contains(&Role::Admin) {
            return Err(bad(format!(
                "approval by {admin}: the key holds no admin role"
            )));
        }
        let signature = hex::decode(&a.signature)
            .ok()
            .and_then(|b| Signature::from_bytes(&b).ok())
            .ok_or_else(|| bad(format!("approval by {admin}: the signature is malformed")))?;
        key.public_key()
            .verify(&approved, &signature)
            .map_err(|_| {
                bad(format!(
                    "approval by {admin}: the signature does not verify over this change"
                ))
            })?;
    }
    Ok(())
}

/// The governance proposals pending on this node at the ledger's next sequence number,
/// with the approvals each holds and the number the consortium needs.
#[utoipa::path(get, path = "/v1/proposals", tag = "governance",
    responses(
        (status = 200, body = ProposalsBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 503, body = ErrorBody)),
    security(("weinong_signature" = [])))]
pub(crate) async fn list(State(app): State<Arc<App>>) -> Result<Json<ProposalsBody>, ApiError> {
    let (seq, threshold) = {
        let replica = app.shared.ledger()?;
        (replica.state.governance_seq(), replica.state.threshold())
    };
    let proposals = app
        .proposals
        .pending(seq)
        .into_iter()
        .map(|(id, p)| body(id, &p))
        .collect::<Result<_, _>>()?;
    Ok(Json(ProposalsBody {
        seq,
        threshold,
        proposals,
    }))
}

/// Posts a proposal file (new, or a pending one with approvals added): every approval is
/// checked, then merged with those the node holds for the same change.
#[utoipa::path(post, path = "/v1/proposals", tag = "governance",
    request_body = ProposalPostRequest,
    responses(
        (status = 200, body = PendingProposalBody),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 503, body = ErrorBody)),
    security(("weinong_signature" = [])))]
pub(crate) async fn post(
    State(app): State<Arc<App>>,
    body_bytes: axum::body::Bytes,
) -> Result<Json<PendingProposalBody>, ApiError> {
    let request: ProposalPostRequest = serde_json::from_slice(&body_bytes).map_err(|e| {
        ApiError::bad_request(
            ErrorCode::MalformedJson,
            format!("the body is not {{\"proposal\": \"<file text>\"}}: {e}"),
        )
    })?;
    let proposal = Proposal::from_json(&request.proposal).map_err(|e| bad(e.to_string()))?;
    check(&app, &proposal)?;
    id_of(&proposal).map_err(|e| bad(e.to_string()))?;
    let (id, stored) = app.proposals.put(proposal).map_err(|e| match e {
        BoardError::Proposal(e) => bad(e.to_string()),
        BoardError::Full | BoardError::TooManyApprovals => ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::ProposalBoardFull,
            e.to_string(),
        ),
        BoardError::Io { .. } => ApiError::unavailable(ErrorCode::ProposalStore, e.to_string()),
    })?;
    Ok(Json(body(id, &stored)?))
}
