//! Assessment results as the requester fetches them: where the request stands and, for
//! its own requester only, the three departments' output shares sealed to its key, each
//! with its department's signature. The node cannot open them; it serves what `assess`
//! stored, and the requester's client checks the signatures.

use std::sync::Arc;
use weinong_api::ErrorCode;

use axum::extract::State;
use axum::{Extension, Json};
use base64::Engine;
use weinong_contracts::{RequestId, RequestStatus, Role};

use super::App;
use super::auth::Caller;
use super::dto::{AssessmentBody, ErrorBody, SealedShareBody};
use super::error::ApiError;
use super::extract::{ApiPath, hex32};
use crate::results::SealedShare;

/// An assessment request's status and, for its requester, the sealed output shares.
#[utoipa::path(get, path = "/v1/assessments/{id}", tag = "assessments",
    params(("id" = String, Path, description = "request id, 64 hex characters")),
    responses(
        (status = 200, body = AssessmentBody),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 503, body = ErrorBody)),
    security(("weinong_signature" = [])))]
pub(crate) async fn assessment(
    State(app): State<Arc<App>>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<AssessmentBody>, ApiError> {
    let id = RequestId::from_bytes(hex32("request id", &id)?);
    let (mut body, requester) = {
        let replica = app.shared.ledger()?;
        let request = caller.visible_request(
            &replica.state,
            id,
            &[Role::Department, Role::Auditor],
            "read the results",
        )?;
        let (status, reason) = match request.status {
            RequestStatus::Requested => ("requested", None),
            RequestStatus::Authorised => ("authorised", None),
            RequestStatus::Computed { .. } => ("computed", None),
            RequestStatus::Failed { reason } => ("failed", Some(reason.label().to_owned())),
        };
        (
            AssessmentBody {
                request: id.to_hex(),
                status: status.to_owned(),
                failure: reason,
                model: request.model.to_hex(),
                requester: request.requester.to_hex(),
                deadline_ms: request.deadline_ms,
                shares: Vec::new(),
            },
            request.requester,
        )
    };
    if caller.key == requester {
        body.shares = sealed_shares(&app, &id)?
            .into_iter()
            .map(|s| SealedShareBody {
                party: s.party,
                sealed: base64::engine::general_purpose::STANDARD.encode(&s.blob),
                signer: s.signer.to_hex(),
                signature: hex::encode(s.signature),
            })
            .collect();
    }
    Ok(Json(body))
}

/// The sealed output shares this node holds for `request`, or 503 `result_store`.
pub(super) fn sealed_shares(app: &App, request: &RequestId) -> Result<Vec<SealedShare>, ApiError> {
    app.shared.assess.results.get(request).map_err(|e| {
        ApiError::unavailable(
            ErrorCode::ResultStore,
            format!("sealed shares cannot be read: {e}"),
        )
    })
}
