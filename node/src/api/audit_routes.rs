//! What auditors, registrars and requesters read to check the consent story: one
//! assessment request's transactions with their proofs, and every access to one subject's
//! data. Times are the tip's block time: the state reads no clock.
//!
//! Must not know how bundles are proven: the ledger store builds and checks them
//! (`LedgerStore::export_bundle_set`); this module only chooses which transactions.

use std::sync::Arc;
use weinong_api::ErrorCode;

use axum::extract::State;
use axum::{Extension, Json};
use weinong_contracts::payload::model_id;
use weinong_contracts::{Call, Change, ModelId, RequestEvent, RequestId, Role, kinds};
use weinong_keys::{SubjectPseudonym, sm3_digest};
use weinong_ledger::TxHash;
use weinong_ledger::store::LedgerStore;

use super::assessment_routes::sealed_shares;
use super::auth::Caller;
use super::dto::{
    AccessBody, ErrorBody, REQUEST_BUNDLE_FORMAT, RequestBundleBody, ShareSignatureBody,
    SubjectAccessesBody, category_labels,
};
use super::error::ApiError;
use super::extract::{ApiPath, hex32};
use super::{App, SUBJECT_ACCESSES_MAX};

/// Every transaction of an assessment request's story with its proof
/// (`weinong-request-bundle/1`): the request, the governance transaction that registered
/// its model (the categories an authorisation needs), each access, the consent grant each
/// access cites and its withdrawal if recorded, and the result or failure. Institutions get only
/// requests they made. A time-out has no transaction, so it is not in the bundle. The
/// departments' signatures over the sealed shares this node holds ride along (`shares`),
/// so an auditor can check which ciphertext each department gave the requester.
#[utoipa::path(get, path = "/v1/requests/{id}/bundle", tag = "audit",
    params(("id" = String, Path, description = "request id, 64 hex characters")),
    responses(
        (status = 200, body = RequestBundleBody),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 503, body = ErrorBody)),
    security(("weinong_signature" = [])))]
pub(crate) async fn request_bundle(
    State(app): State<Arc<App>>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<RequestBundleBody>, ApiError> {
    let id = RequestId::from_bytes(hex32("request id", &id)?);
    let genesis = app.shared.genesis.encode().map_err(|e| {
        ApiError::unavailable(
            ErrorCode::GenesisUnusable,
            format!("the genesis cannot be encoded: {e}"),
        )
    })?;
    let replica = app.shared.ledger()?;
    let state = &replica.state;
    let request = caller.visible_request(
        state,
        id,
        &[Role::Auditor, Role::Admin],
        "fetch the bundles",
    )?;
    let mut hashes: Vec<TxHash> = Vec::new();
    for entry in &request.history {
        hashes.extend(entry.tx);
        if let RequestEvent::Accessed { consent, .. } = &entry.event
            && let Some(c) = state.consent(consent)
        {
            hashes.push(c.tx);
            hashes.extend(c.revoked.map(|r| r.tx));
        }
    }
    if let Some(model) = state.model(&request.model) {
        hashes.extend(model_registration(
            &replica.store,
            model.registered_at.height,
            &request.model,
        )?);
    }
    hashes.sort();
    hashes.dedup();
    let transactions = replica.store.export_bundle_set(&hashes)?;
    drop(replica);
    let shares = sealed_shares(&app, &id)?
        .into_iter()
        .map(|s| ShareSignatureBody {
            party: s.party,
            signer: s.signer.to_hex(),
            ciphertext_sm3: hex::encode(sm3_digest(&s.blob)),
            signature: hex::encode(s.signature),
        })
        .collect();
    Ok(Json(RequestBundleBody {
        format: REQUEST_BUNDLE_FORMAT.to_owned(),
        request: id.to_hex(),
        genesis: Some(hex::encode(genesis)),
        transactions,
        shares,
    }))
}

/// The governance transaction in block `height` that registered `model`, if the block
/// holds one (the state records the block, not the transaction).
fn model_registration(
    store: &LedgerStore,
    height: u64,
    model: &ModelId,
) -> Result<Option<TxHash>, ApiError> {
    let first = match height.checked_sub(1) {
        Some(before) => store.header(before)?.log_size,
        None => 0,
    };
    let end = store.header(height)?.log_size;
    for index in first..end {
        let tx = store.transaction(index)?;
        let body = tx.body();
        if body.kind != kinds::GOVERNANCE {
            continue;
        }
        // Stored transactions were accepted, so they decode; one that does not is skipped
        // here and the bundle's reader reports the model's registration as missing.
        if let Ok(Call::Governance(g)) = Call::decode(body.kind, &body.payload)
            && let Change::RegisterModel { spec, .. } = &g.change
            && model_id(spec) == *model
        {
            return Ok(Some(tx.hash()));
        }
    }
    Ok(None)
}

/// Every recorded access to one subject's data, in ledger order (PIPL Art. 44–45: the
/// subject's right to know who used their data), at most [`SUBJECT_ACCESSES_MAX`].
#[utoipa::path(get, path = "/v1/subjects/{pseudonym}/accesses", tag = "audit",
    params(("pseudonym" = String, Path, description = "subject pseudonym, 64 hex characters")),
    responses(
        (status = 200, body = SubjectAccessesBody),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 503, body = ErrorBody)),
    security(("weinong_signature" = [])))]
pub(crate) async fn subject_accesses(
    State(app): State<Arc<App>>,
    ApiPath(pseudonym): ApiPath<String>,
) -> Result<Json<SubjectAccessesBody>, ApiError> {
    let subject = SubjectPseudonym::from_bytes(hex32("subject pseudonym", &pseudonym)?);
    let replica = app.shared.ledger()?;
    let state = &replica.state;
    let all = state.all_accesses_to(&subject);
    let truncated = all.len() > SUBJECT_ACCESSES_MAX;
    let accesses: Vec<AccessBody> = all
        .iter()
        .take(SUBJECT_ACCESSES_MAX)
        .map(|a| AccessBody {
            height: a.at.height,
            time_ms: a.at.time_ms,
            tx: a.tx.to_hex(),
            node: a.node.0,
            signer: a.signer.to_hex(),
            request: a.request.to_hex(),
            categories: category_labels(a.categories),
            consent: a.consent.to_hex(),
            fields: a.fields.to_hex(),
        })
        .collect();
    let at_time_ms = state.last_block().time_ms;
    drop(replica);
    let policy_runs = super::policy_routes::inclusions_of(&app, &subject)?;
    Ok(Json(SubjectAccessesBody {
        subject: subject.to_hex(),
        at_time_ms,
        truncated,
        accesses,
        policy_runs,
    }))
}
