//! `POST /v1/pseudonyms/evaluate`: the node's half of the subject-pseudonym OPRF (RFC 9497,
//! ristretto255-SHA512; `weinong_keys::PseudonymKey`). A care home or registrar client
//! blinds an ID, sends the blinded elements here and unblinds the answers itself: this node
//! never sees an ID and the client never sees the key.
//!
//! Only a node that holds the consortium's pseudonym key (a department node whose
//! `[assessment]` section names its data secrets) answers; others answer 503
//! `no_pseudonym_key`. Each caller key has a token bucket of evaluations
//! ([`PseudonymRate`], defaults [`PSEUDONYM_EVALUATIONS_BURST`] and
//! [`PSEUDONYM_EVALUATIONS_PER_SECOND`]): one element costs one token, and a request that
//! would overdraw it is refused whole with 429 and `Retry-After`, because each evaluation
//! is one guess at an ID and the pepper's protection is that guessing stays slow.
//! `/metrics` counts evaluations and refusals.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;
use weinong_api::ErrorCode;

use axum::Extension;
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use weinong_keys::{BlindedId, KeyId};

use super::App;
use super::auth::Caller;
use super::dto::{ErrorBody, PseudonymEvaluateRequest, PseudonymEvaluateResponse};
use super::error::ApiError;
pub use crate::limits::{
    PSEUDONYM_BATCH_MAX, PSEUDONYM_EVALUATIONS_BURST, PSEUDONYM_EVALUATIONS_PER_SECOND,
};

/// The per-key evaluation budget: a bucket of `burst` tokens refilled at `per_second`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PseudonymRate {
    /// Tokens a key starts with and can save up (most evaluations at once).
    pub burst: u32,
    /// Tokens added per second (sustained evaluations per second).
    pub per_second: u32,
}

impl Default for PseudonymRate {
    fn default() -> Self {
        Self {
            burst: PSEUDONYM_EVALUATIONS_BURST,
            per_second: PSEUDONYM_EVALUATIONS_PER_SECOND,
        }
    }
}

/// A key's bucket, in thousandths of a token so that refills need no floats.
struct Bucket {
    milli_tokens: u64,
    at: Instant,
}

/// Buckets per caller key and the counters `/metrics` shows. Keys are ledger-registered
/// (authentication admits no other), so the map is bounded by the membership.
#[derive(Default)]
pub(crate) struct PseudonymMeter {
    buckets: Mutex<HashMap<KeyId, Bucket>>,
    /// Blinded elements evaluated since start.
    pub(crate) evaluations: AtomicU64,
    /// Requests refused by the rate limit since start.
    pub(crate) refused: AtomicU64,
}

impl PseudonymMeter {
    /// Takes `n` tokens from `key`'s bucket, or says in how many whole seconds there will
    /// be enough (`None` when `n` is over the burst and never will).
    fn take(&self, key: &KeyId, n: u32, rate: PseudonymRate) -> Result<(), Option<u64>> {
        let now = Instant::now();
        let full = u64::from(rate.burst) * 1_000;
        let Ok(mut buckets) = self.buckets.lock() else {
            return Err(Some(1));
        };
        let bucket = buckets.entry(*key).or_insert(Bucket {
            milli_tokens: full,
            at: now,
        });
        let elapsed_ms =
            u64::try_from(now.duration_since(bucket.at).as_millis()).unwrap_or(u64::MAX);
        let refill = elapsed_ms.saturating_mul(u64::from(rate.per_second));
        bucket.milli_tokens = bucket.milli_tokens.saturating_add(refill).min(full);
        bucket.at = now;
        let need = u64::from(n) * 1_000;
        if need <= bucket.milli_tokens {
            bucket.milli_tokens -= need;
            return Ok(());
        }
        if n > rate.burst || rate.per_second == 0 {
            return Err(None);
        }
        let missing = need - bucket.milli_tokens;
        let per_second = u64::from(rate.per_second) * 1_000;
        Err(Some(missing.div_ceil(per_second).max(1)))
    }
}

fn too_many(message: String, retry_after_s: u64) -> Response {
    (
        StatusCode::TOO_MANY_REQUESTS,
        [(header::RETRY_AFTER, retry_after_s.to_string())],
        Json(ErrorBody::new(ErrorCode::RateLimited, message)),
    )
        .into_response()
}

/// Evaluate blinded IDs under the consortium's pseudonym key (RFC 9497 `BlindEvaluate`).
#[utoipa::path(post, path = "/v1/pseudonyms/evaluate", tag = "pseudonyms",
    request_body(content = PseudonymEvaluateRequest, description = "1 to PSEUDONYM_BATCH_MAX (1000) blinded elements"),
    responses(
        (status = 200, body = PseudonymEvaluateResponse, description = "one evaluated element per blinded one, in order"),
        (status = 400, body = ErrorBody, description = "malformed JSON, no or too many elements, or an element that is not a ristretto255 point (the message names its index)"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 429, body = ErrorBody, description = "the key's evaluation budget is spent; retry after Retry-After seconds"),
        (status = 503, body = ErrorBody, description = "this node holds no pseudonym key; ask a department node")),
    security(("weinong_signature" = [])))]
pub(crate) async fn evaluate(
    State(app): State<Arc<App>>,
    Extension(caller): Extension<Caller>,
    // At most BODY_BYTES_MAX: the authentication layer read and bounded it.
    body: Bytes,
) -> Response {
    // Up to PSEUDONYM_BATCH_MAX scalar multiplications (~25 µs each): off the async
    // workers, so a full batch does not hold up other requests.
    let answer = tokio::task::spawn_blocking(move || evaluate_inner(&app, &caller, &body)).await;
    match answer {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => e.into_response(),
        Err(_) => ApiError::unavailable(
            ErrorCode::EvaluationFailed,
            "the pseudonym evaluation did not finish; retry the request",
        )
        .into_response(),
    }
}

fn evaluate_inner(app: &App, caller: &Caller, body: &[u8]) -> Result<Response, ApiError> {
    let Some(key) = app.config.pseudonym_key.as_deref() else {
        return Err(ApiError::unavailable(
            ErrorCode::NoPseudonymKey,
            "this node holds no pseudonym key (only department nodes with an [assessment] section and data secrets do); send the request to a department node",
        ));
    };
    let request: PseudonymEvaluateRequest = serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_request(
            ErrorCode::MalformedJson,
            format!("body is not {{\"blinded\": [\"<64 hex>\", ...]}}: {e}"),
        )
    })?;
    let n = request.blinded.len();
    if n == 0 || n > PSEUDONYM_BATCH_MAX {
        return Err(ApiError::bad_request(
            ErrorCode::BadBatchSize,
            format!(
                "{n} blinded elements; send 1 to {PSEUDONYM_BATCH_MAX} per request and split larger batches"
            ),
        ));
    }
    let blinded = request
        .blinded
        .iter()
        .enumerate()
        .map(|(i, text)| {
            let mut bytes = [0u8; 32];
            hex::decode_to_slice(text.trim(), &mut bytes).map_err(|e| {
                ApiError::bad_request(
                    ErrorCode::BadBlindedElement,
                    format!("blinded[{i}] must be 64 hex characters: {e}"),
                )
            })?;
            BlindedId::from_bytes(&bytes).map_err(|e| {
                ApiError::bad_request(ErrorCode::BadBlindedElement, format!("blinded[{i}]: {e}"))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let rate = app.config.pseudonym_rate;
    // n <= PSEUDONYM_BATCH_MAX, far below u32::MAX.
    let cost = u32::try_from(n).unwrap_or(u32::MAX);
    if let Err(wait) = app.pseudonyms.take(&caller.key, cost, rate) {
        app.pseudonyms.refused.fetch_add(1, Ordering::Relaxed);
        let message = match wait {
            Some(s) => format!(
                "key {} has spent its pseudonym evaluations ({} at once, {} per second); retry in {s} s",
                caller.key, rate.burst, rate.per_second
            ),
            None => format!(
                "{n} elements are over this node's per-key budget of {} at once; send smaller requests",
                rate.burst
            ),
        };
        return Ok(too_many(message, wait.unwrap_or(60)));
    }
    let evaluated = blinded
        .iter()
        .map(|b| hex::encode(key.evaluate_blinded(b).to_bytes()))
        .collect();
    app.pseudonyms
        .evaluations
        .fetch_add(u64::try_from(n).unwrap_or(u64::MAX), Ordering::Relaxed);
    Ok(Json(PseudonymEvaluateResponse { evaluated }).into_response())
}
