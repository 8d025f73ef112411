//! Contract-state reads: consent status (one consent, or a subject's), request histories,
//! keys and the governance sequence. Times are the tip's block time: the state reads no
//! clock.

use std::sync::Arc;
use weinong_api::ErrorCode;

use axum::extract::State;
use axum::{Extension, Json};
use weinong_contracts::state::KeyStatus;
use weinong_contracts::{ConsentId, RequestId, Role};
use weinong_keys::{KeyId, SubjectPseudonym};

use super::App;
use super::auth::Caller;
use super::dto::{
    BatchBody, ConsentBody, ErrorBody, GovernanceBody, HistoryBody, KeyBody, RequestEventBody,
    SubjectConsentsBody, category_labels, consent_status_name,
};
use super::error::ApiError;
use super::extract::{ApiPath, hex32};

/// A consent's status at the tip's block time.
#[utoipa::path(get, path = "/v1/consents/{id}", tag = "state",
    params(("id" = String, Path, description = "consent id, 64 hex characters")),
    responses(
        (status = 200, body = ConsentBody),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 503, body = ErrorBody)),
    security(("weinong_signature" = [])))]
pub(crate) async fn consent(
    State(app): State<Arc<App>>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<ConsentBody>, ApiError> {
    let id = ConsentId::from_bytes(hex32("consent id", &id)?);
    let replica = app.shared.ledger()?;
    let state = &replica.state;
    let at = state.last_block().time_ms;
    let (Some(c), Some(status)) = (state.consent(&id), state.consent_status(&id, at)) else {
        return Err(ApiError::not_found(
            ErrorCode::NoSuchConsent,
            format!("consent {id} is not recorded on this ledger"),
        ));
    };
    Ok(Json(consent_body(&id, c, status, at)))
}

/// A consent as the API shows it, with its status at `at` (ms).
fn consent_body(
    id: &ConsentId,
    c: &weinong_contracts::state::Consent,
    status: weinong_contracts::ConsentStatus,
    at: u64,
) -> ConsentBody {
    ConsentBody {
        consent: id.to_hex(),
        status: consent_status_name(status).to_owned(),
        at_time_ms: at,
        grantee: c.grantee.to_hex(),
        purpose: c.purpose.label().to_owned(),
        categories: category_labels(c.categories),
        valid_from: c.valid_from,
        valid_until: c.valid_until,
        granted_at_height: c.granted_at.height,
        revoked_at_height: c.revoked.map(|r| r.at.height),
    }
}

/// The consents recorded for one subject, each with its status at the tip's block time.
/// An institution sees only consents granted to it (what it may rely on when it requests);
/// registrars, auditors and admins see all. No consent is not an error: the list is empty.
#[utoipa::path(get, path = "/v1/subjects/{pseudonym}/consents", tag = "state",
    params(("pseudonym" = String, Path, description = "subject pseudonym, 64 hex characters")),
    responses(
        (status = 200, body = SubjectConsentsBody),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 503, body = ErrorBody)),
    security(("weinong_signature" = [])))]
pub(crate) async fn subject_consents(
    State(app): State<Arc<App>>,
    Extension(caller): Extension<Caller>,
    ApiPath(pseudonym): ApiPath<String>,
) -> Result<Json<SubjectConsentsBody>, ApiError> {
    let subject = SubjectPseudonym::from_bytes(hex32("subject pseudonym", &pseudonym)?);
    let sees_all = [Role::Registrar, Role::Auditor, Role::Admin]
        .iter()
        .any(|r| caller.roles.contains(r));
    let replica = app.shared.ledger()?;
    let state = &replica.state;
    let at = state.last_block().time_ms;
    let mut consents: Vec<ConsentBody> = state
        .consents_of(&subject)
        .filter(|(_, c)| sees_all || c.grantee == caller.key)
        .filter_map(|(id, c)| Some(consent_body(id, c, state.consent_status(id, at)?, at)))
        .collect();
    consents
        .sort_by(|a, b| (a.granted_at_height, &a.consent).cmp(&(b.granted_at_height, &b.consent)));
    Ok(Json(SubjectConsentsBody {
        subject: subject.to_hex(),
        at_time_ms: at,
        consents,
    }))
}

/// An assessment request's history. Institutions see only requests they made.
#[utoipa::path(get, path = "/v1/requests/{id}/history", tag = "state",
    params(("id" = String, Path, description = "request id, 64 hex characters")),
    responses(
        (status = 200, body = HistoryBody),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 503, body = ErrorBody)),
    security(("weinong_signature" = [])))]
pub(crate) async fn history(
    State(app): State<Arc<App>>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<HistoryBody>, ApiError> {
    let id = RequestId::from_bytes(hex32("request id", &id)?);
    let replica = app.shared.ledger()?;
    let request = caller.visible_request(
        &replica.state,
        id,
        &[Role::Department, Role::Auditor],
        "read the histories",
    )?;
    Ok(Json(HistoryBody {
        request: id.to_hex(),
        status: request.status.to_string(),
        requester: request.requester.to_hex(),
        model: request.model.to_hex(),
        purpose: request.purpose.label().to_owned(),
        deadline_ms: request.deadline_ms,
        batch: request.batch().map(BatchBody::new),
        events: request.history.iter().map(RequestEventBody::new).collect(),
    }))
}

/// A key's status, roles at the tip's block time and last nonce.
#[utoipa::path(get, path = "/v1/keys/{id}", tag = "state",
    params(("id" = String, Path, description = "key id, 64 hex characters")),
    responses(
        (status = 200, body = KeyBody),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 503, body = ErrorBody)),
    security(("weinong_signature" = [])))]
pub(crate) async fn key(
    State(app): State<Arc<App>>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<KeyBody>, ApiError> {
    let id = KeyId::from_bytes(hex32("key id", &id)?);
    let replica = app.shared.ledger()?;
    let state = &replica.state;
    let record = state.key(&id).ok_or_else(|| {
        ApiError::not_found(
            ErrorCode::NoSuchKey,
            format!("key {id} is not registered on this ledger"),
        )
    })?;
    let at = state.last_block().time_ms;
    let (status, since) = match record.status() {
        KeyStatus::Active => ("active", None),
        KeyStatus::Rotated { at, .. } => ("rotated", Some(at.time_ms)),
        KeyStatus::Revoked { at } => ("revoked", Some(at.time_ms)),
    };
    Ok(Json(KeyBody {
        key_id: id.to_hex(),
        public_key: hex::encode(record.public_key().to_sec1_bytes()),
        member: record.member().map(|m| m.0),
        status: status.to_owned(),
        status_since_ms: since,
        roles: state
            .roles_at(&id, at)
            .iter()
            .map(|r| r.label().to_owned())
            .collect(),
        at_time_ms: at,
        last_nonce: state.last_nonce(&id),
    }))
}

/// The consortium id, governance sequence number and threshold a proposal must use.
#[utoipa::path(get, path = "/v1/governance", tag = "state",
    responses(
        (status = 200, body = GovernanceBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 503, body = ErrorBody)),
    security(("weinong_signature" = [])))]
pub(crate) async fn governance(
    State(app): State<Arc<App>>,
) -> Result<Json<GovernanceBody>, ApiError> {
    let replica = app.shared.ledger()?;
    Ok(Json(GovernanceBody {
        consortium: replica.state.consortium().to_hex(),
        seq: replica.state.governance_seq(),
        threshold: replica.state.threshold(),
        height: replica.store.tip().map(|t| t.height),
    }))
}
