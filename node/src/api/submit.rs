//! `POST /v1/transactions`: decode, check each transaction's kind and payload, hand them to
//! the node's submission queue and answer with their outcomes.
//!
//! Decoding here refuses what no node would accept before it costs consensus anything:
//! bad hex, a non-canonical transaction (trailing bytes, wrong version, oversize), a kind
//! the contracts do not define (422), or a payload that does not decode for its kind (400).
//! Signatures and the contracts' rules are checked by the node that orders them.

use std::sync::Arc;
use weinong_api::ErrorCode;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use weinong_contracts::Call;
use weinong_ledger::{DecodeError, Transaction};

use super::dto::{ErrorBody, SubmitRequest, SubmitResponse};
use super::error::ApiError;
use super::{App, SUBMIT_TXS_MAX};

/// Decodes one transaction of a submission, naming its index on failure.
pub(crate) fn decode_one(i: usize, hex_tx: &str) -> Result<Transaction, ApiError> {
    let bytes = hex::decode(hex_tx.trim()).map_err(|e| {
        ApiError::bad_request(
            ErrorCode::BadHex,
            format!("transactions[{i}] is not hex: {e}"),
        )
    })?;
    let tx = Transaction::decode(&bytes).map_err(|e| {
        ApiError::bad_request(
            ErrorCode::BadTransaction,
            format!("transactions[{i}] is not a canonical signed transaction: {e}"),
        )
    })?;
    let kind = tx.body().kind;
    Call::decode(kind, &tx.body().payload).map_err(|e| match e {
        DecodeError::Invalid {
            what: "transaction kind",
            ..
        } => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::UnknownKind,
            format!(
                "transactions[{i}] has kind {:#06x}, which the contracts do not define (see contracts::payload::kinds)",
                kind.0
            ),
        ),
        other => ApiError::bad_request(
            ErrorCode::BadPayload,
            format!(
                "transactions[{i}] (kind {:#06x}) has a payload that does not decode: {other}",
                kind.0
            ),
        ),
    })?;
    Ok(tx)
}

/// Submit signed transactions; answers when each is committed, refused or not orderable.
#[utoipa::path(post, path = "/v1/transactions", tag = "submit",
    request_body(content = SubmitRequest, description = "at most 1 MiB (BODY_BYTES_MAX) and 4096 transactions"),
    responses(
        (status = 200, body = SubmitResponse, description = "one outcome per transaction, in order"),
        (status = 400, body = ErrorBody, description = "malformed JSON, bad hex, non-canonical transaction or payload; the message names the index"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 413, body = ErrorBody, description = "body over 1 MiB"),
        (status = 422, body = ErrorBody, description = "a transaction kind the contracts do not define"),
        (status = 503, body = ErrorBody, description = "the node is stopping")),
    security(("weinong_signature" = [])))]
pub(crate) async fn submit(
    State(app): State<Arc<App>>,
    // At most BODY_BYTES_MAX: the authentication layer read and bounded it.
    body: Bytes,
) -> Result<Json<SubmitResponse>, ApiError> {
    let request: SubmitRequest = serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad_request(
            ErrorCode::MalformedJson,
            format!("body is not {{\"transactions\": [\"<hex>\", ...]}}: {e}"),
        )
    })?;
    if request.transactions.is_empty() {
        return Err(ApiError::bad_request(
            ErrorCode::NoTransactions,
            "`transactions` is empty; send 1 to 4096 hex transactions",
        ));
    }
    if request.transactions.len() > SUBMIT_TXS_MAX {
        return Err(ApiError::bad_request(
            ErrorCode::TooManyTransactions,
            format!(
                "{} transactions, over the limit of {SUBMIT_TXS_MAX} per request; split the submission",
                request.transactions.len()
            ),
        ));
    }
    let txs = request
        .transactions
        .iter()
        .enumerate()
        .map(|(i, t)| decode_one(i, t))
        .collect::<Result<Vec<_>, _>>()?;
    let outcomes = app.shared.submit(txs).await?;
    Ok(Json(SubmitResponse { outcomes }))
}
