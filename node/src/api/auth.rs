//! Request authentication: the signature headers checked against the key in the ledger
//! state, the clock window, the replay cache, then the route's roles.
//!
//! Order of checks (the first failure answers): no body on a GET or HEAD (400), headers
//! present and well formed (401), signed for this consortium and this node (401
//! `wrong_consortium`, `wrong_node`), time within the window (401 `stale_request`) and not
//! before this server started (401 `signed_before_start`), key known to the state (401),
//! body within [`BODY_BYTES_MAX`] (413) and sent within the body timeout (408), signature
//! (401), not seen before (401; 429 when the key has its share of the replay cache, 503
//! when the cache holds its limit of keys), roles (403). The body is read here, once,
//! because the signature covers it; the handler gets it back unchanged.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use weinong_api::ErrorCode;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use weinong_contracts::Role;
use weinong_keys::KeyId;
use weinong_keys::clock::now_ms;
use weinong_keys::request_auth::{
    HEADER_CONSORTIUM, HEADER_KEY, HEADER_NODE, HEADER_SIGNATURE, HEADER_TIME, RequestAuthError,
    RequestSignature, check_scope, verify_request,
};

use super::access::Access;
use super::error::ApiError;
use super::{App, BODY_BYTES_MAX};

/// The authenticated caller, put in the request's extensions for handlers.
#[derive(Clone, Debug)]
pub struct Caller {
    /// The caller's key.
    pub key: KeyId,
    /// Its roles at the tip's block time.
    pub roles: BTreeSet<Role>,
}

impl Caller {
    /// Request `id` if this caller may read it: any request for a caller holding one of
    /// `sees_all`, otherwise (an institution) only a request it made. "Not yours" and "no
    /// such request" get the same 403, so an institution cannot probe which request ids
    /// exist; the others get 404 for an unknown id. `what` names the read in the message.
    pub(crate) fn visible_request<'s>(
        &self,
        state: &'s weinong_contracts::State,
        id: weinong_contracts::RequestId,
        sees_all: &[Role],
        what: &str,
    ) -> Result<&'s weinong_contracts::state::Request, super::error::ApiError> {
        let request = state.request(&id);
        let all = sees_all.iter().any(|r| self.roles.contains(r));
        if !all && request.is_none_or(|r| r.requester != self.key) {
            return Err(super::error::ApiError::forbidden(
                ErrorCode::Forbidden,
                format!(
                    "an institution may {what} only of requests it made; key {} made no request {id}",
                    self.key
                ),
            ));
        }
        request.ok_or_else(|| {
            super::error::ApiError::not_found(
                ErrorCode::NoSuchRequest,
                format!("request {id} is not recorded on this ledger"),
            )
        })
    }
}

/// Why a signature was not admitted by the replay cache.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ReplayError {
    /// Seen within the window.
    Replayed,
    /// This key holds its limit of signatures still inside the window.
    KeyFull,
    /// The cache holds entries for its limit of keys, all still inside the window.
    Full,
}

/// Signatures seen within the clock window, per caller key, so each is accepted once.
///
/// A signature outside the window is refused by the clock check, so an entry is kept only
/// until its time leaves the window. Memory is bounded by `per_key` entries for each of at
/// most `keys` keys: one key flooding signatures fills only its own share, and other keys
/// are still served. Callers admit only verified signatures, so every key here is a ledger
/// key, and the entries held are also bounded by the rate at which the node verifies SM2
/// signatures times the window. Each admission costs O(log n), plus the expiry of older
/// entries (each once).
///
/// An entry is the signing time and the first 16 bytes of the signature's `r`, which
/// depends on the signed message: two different requests of one key share it with
/// probability about 2⁻¹²⁸, and a replay (the same signature, so the same time) always
/// matches.
pub struct ReplayCache {
    window_ms: u64,
    per_key: usize,
    keys: usize,
    /// Per key: (signing time, signature fingerprint), ordered by time.
    seen: HashMap<KeyId, BTreeSet<(u64, [u8; 16])>>,
    /// Each key in `seen` by the time of its oldest entry, for expiry.
    oldest: BTreeSet<(u64, KeyId)>,
    len: usize,
}

impl ReplayCache {
    /// A cache for a clock window of `window_ms`, at most `per_key` entries for each of at
    /// most `keys` keys.
    pub fn new(window_ms: u64, per_key: usize, keys: usize) -> Self {
        Self {
            window_ms,
            per_key,
            keys,
            seen: HashMap::new(),
            oldest: BTreeSet::new(),
            len: 0,
        }
    }

    /// Drops the entries whose time left the window at `now_ms`.
    fn expire(&mut self, now_ms: u64) {
        let live = |t: u64| t.saturating_add(self.window_ms) >= now_ms;
        while let Some(&(t, key)) = self.oldest.first() {
            if live(t) {
                break;
            }
            self.oldest.pop_first();
            let Some(entries) = self.seen.get_mut(&key) else {
                continue;
            };
            while entries.first().is_some_and(|&(t, _)| !live(t)) {
                entries.pop_first();
                self.len -= 1;
            }
            match entries.first() {
                Some(&(t, _)) => {
                    self.oldest.insert((t, key));
                }
                None => {
                    self.seen.remove(&key);
                }
            }
        }
    }

    /// Admits `(key, signature)` signed at `time_ms` once; `now_ms` drives expiry.
    pub(crate) fn admit(
        &mut self,
        key: &KeyId,
        signature: &[u8; 64],
        time_ms: u64,
        now_ms: u64,
    ) -> Result<(), ReplayError> {
        self.expire(now_ms);
        let mut fingerprint = [0u8; 16];
        fingerprint.copy_from_slice(&signature[..16]);
        // The signed time is part of the signed message, so a replay carries the same one.
        let entry = (time_ms, fingerprint);
        match self.seen.get_mut(key) {
            Some(entries) => {
                if entries.contains(&entry) {
                    return Err(ReplayError::Replayed);
                }
                if entries.len() >= self.per_key {
                    return Err(ReplayError::KeyFull);
                }
                if let Some(&(first, _)) = entries.first()
                    && time_ms < first
                {
                    self.oldest.remove(&(first, *key));
                    self.oldest.insert((time_ms, *key));
                }
                entries.insert(entry);
            }
            None => {
                if self.seen.len() >= self.keys || self.per_key == 0 {
                    return Err(ReplayError::Full);
                }
                self.seen.insert(*key, BTreeSet::from([entry]));
                self.oldest.insert((time_ms, *key));
            }
        }
        self.len += 1;
        Ok(())
    }

    /// Entries held, all keys together.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no entry is held.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Keys with entries.
    pub fn keys(&self) -> usize {
        self.seen.len()
    }
}

/// The middleware: authenticates, checks the roles of `access`, then runs the handler.
pub(crate) async fn authenticate(
    State((app, access)): State<(Arc<App>, Access)>,
    request: Request,
    next: Next,
) -> Response {
    match check(&app, access, request).await {
        Ok(request) => next.run(request).await,
        Err(e) => e.into_response(),
    }
}

fn header_value<'a>(headers: &'a HeaderMap, name: &'static str) -> Result<&'a str, ApiError> {
    let value = headers.get(name).ok_or_else(|| {
        ApiError::unauthorized(
            ErrorCode::MissingSignature,
            format!(
                "header {name} is missing; sign every /v1 request with {HEADER_KEY}, {HEADER_TIME} and {HEADER_SIGNATURE} (see weinong_keys::request_auth)"
            ),
        )
    })?;
    value.to_str().map_err(|_| {
        ApiError::unauthorized(
            ErrorCode::MalformedSignature,
            format!("header {name} is not visible ASCII"),
        )
    })
}

fn auth_error(e: RequestAuthError) -> ApiError {
    match e {
        RequestAuthError::BadSignature | RequestAuthError::WrongKey { .. } => {
            ApiError::unauthorized(ErrorCode::BadSignature, e.to_string())
        }
        RequestAuthError::MalformedHeader { .. } | RequestAuthError::TooLong(_) => {
            ApiError::unauthorized(ErrorCode::MalformedSignature, e.to_string())
        }
        RequestAuthError::WrongConsortium { .. } => {
            ApiError::unauthorized(ErrorCode::WrongConsortium, e.to_string())
        }
        RequestAuthError::WrongNode { .. } => {
            ApiError::unauthorized(ErrorCode::WrongNode, e.to_string())
        }
    }
}

fn too_large() -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        ErrorCode::BodyTooLarge,
        format!("request body is over {BODY_BYTES_MAX} bytes; split the submission"),
    )
}

/// Reads the whole body within `limit`, refusing more than [`BODY_BYTES_MAX`] bytes
/// without reading on (413) and a body still arriving after `limit` (408).
async fn read_body(app: &App, headers: &HeaderMap, body: Body) -> Result<Bytes, ApiError> {
    let limit = app.config.body_read_timeout;
    match tokio::time::timeout(limit, read_body_unbounded(headers, body)).await {
        Ok(read) => read,
        Err(_) => {
            app.counters.timeouts.fetch_add(1, Ordering::Relaxed);
            Err(ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                ErrorCode::BodyTimeout,
                format!(
                    "the request body did not arrive within this node's limit of {} ms (HTTP_BODY_READ_TIMEOUT); send the body at once",
                    limit.as_millis()
                ),
            ))
        }
    }
}

async fn read_body_unbounded(headers: &HeaderMap, body: Body) -> Result<Bytes, ApiError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > BODY_BYTES_MAX as u64) {
        return Err(too_large());
    }
    let mut stream = body.into_data_stream();
    let mut out = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| {
            ApiError::bad_request(
                ErrorCode::BodyUnreadable,
                format!("could not read the body: {e}"),
            )
        })?;
        if out.len().saturating_add(chunk.len()) > BODY_BYTES_MAX {
            return Err(too_large());
        }
        out.extend_from_slice(&chunk);
    }
    Ok(Bytes::from(out))
}

fn replay_error(e: ReplayError, key: &KeyId, cfg: &super::ApiConfig) -> ApiError {
    let retry = |mut response: ApiError| {
        response.retry_after = Some(super::RETRY_AFTER_S);
        response
    };
    match e {
        ReplayError::Replayed => ApiError::unauthorized(
            ErrorCode::ReplayedRequest,
            "this request signature was already used; sign each request afresh",
        ),
        ReplayError::KeyFull => retry(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::TooManyRequests,
            format!(
                "key {key} made {} signed requests within the {} ms clock window, its limit at this node (REPLAY_ENTRIES_PER_KEY); slow down and retry",
                cfg.replay_per_key, cfg.max_skew_ms
            ),
        )),
        ReplayError::Full => retry(ApiError::unavailable(
            ErrorCode::Busy,
            format!(
                "{} keys made signed requests within the clock window, this node's limit (REPLAY_KEYS_MAX); retry shortly",
                cfg.replay_keys
            ),
        )),
    }
}

async fn check(app: &App, access: Access, request: Request) -> Result<Request, ApiError> {
    let (mut parts, body) = request.into_parts();
    // A read carries no body: refused before anything is read or verified, so a GET
    // cannot make the node buffer and hash a megabyte.
    if matches!(parts.method, Method::GET | Method::HEAD) {
        let declared = parts
            .headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        let chunked = parts.headers.contains_key(header::TRANSFER_ENCODING);
        if chunked
            || declared.is_some_and(|n| n > 0)
            || axum::body::HttpBody::size_hint(&body).lower() > 0
        {
            return Err(ApiError::bad_request(
                ErrorCode::BodyOnGet,
                format!(
                    "a {} request carries no body; send the request without one",
                    parts.method
                ),
            ));
        }
    }
    let signature = RequestSignature::from_headers(
        header_value(&parts.headers, HEADER_KEY)?,
        header_value(&parts.headers, HEADER_TIME)?,
        header_value(&parts.headers, HEADER_SIGNATURE)?,
        header_value(&parts.headers, HEADER_CONSORTIUM)?,
        header_value(&parts.headers, HEADER_NODE)?,
    )
    .map_err(auth_error)?;
    check_scope(&app.scope, &signature).map_err(auth_error)?;
    let now = now_ms();
    let skew = now.abs_diff(signature.time_ms);
    if skew > app.config.max_skew_ms {
        return Err(ApiError::unauthorized(
            ErrorCode::StaleRequest,
            format!(
                "request time {} ms is {skew} ms from this node's clock ({now} ms), over the {} ms window; check the client's clock and sign each request afresh",
                signature.time_ms, app.config.max_skew_ms
            ),
        ));
    }
    // The replay cache does not survive a restart; a signature made before this server
    // started could be one it saw, so none is accepted.
    if signature.time_ms < app.started_ms {
        return Err(ApiError::unauthorized(
            ErrorCode::SignedBeforeStart,
            format!(
                "request time {} ms is before this node's API started ({} ms); sign the request afresh",
                signature.time_ms, app.started_ms
            ),
        ));
    }
    let (public, roles) = {
        let replica = app.shared.ledger()?;
        let record = replica.state.key(&signature.key).ok_or_else(|| {
            ApiError::unauthorized(
                ErrorCode::UnknownKey,
                format!(
                    "key {} is not registered on this ledger; an admin must bind it a role by governance",
                    signature.key
                ),
            )
        })?;
        let at = replica.state.last_block().time_ms;
        (
            record.public_key().clone(),
            replica.state.roles_at(&signature.key, at),
        )
    };
    let body = read_body(app, &parts.headers, body).await?;
    let target = parts
        .uri
        .path_and_query()
        .map_or_else(|| parts.uri.path(), |pq| pq.as_str());
    verify_request(
        &public,
        &app.scope,
        parts.method.as_str(),
        target,
        &body,
        &signature,
    )
    .map_err(auth_error)?;
    {
        let mut replay = app.replay.lock().map_err(|_| {
            ApiError::unavailable(ErrorCode::ReplayCacheUnavailable, "restart the node")
        })?;
        replay
            .admit(
                &signature.key,
                &signature.signature.to_bytes(),
                signature.time_ms,
                now,
            )
            .map_err(|e| {
                if e != ReplayError::Replayed {
                    app.counters.replay_full.fetch_add(1, Ordering::Relaxed);
                }
                replay_error(e, &signature.key, &app.config)
            })?;
    }
    if !access.allows(&roles) {
        let held = if roles.is_empty() {
            "none".to_owned()
        } else {
            roles
                .iter()
                .map(|r| r.label())
                .collect::<Vec<_>>()
                .join(", ")
        };
        return Err(ApiError::forbidden(
            ErrorCode::Forbidden,
            format!(
                "key {} may not call this route: {} needs one of the roles {}; the key holds {held}",
                signature.key,
                access.name(),
                access.role_list()
            ),
        ));
    }
    parts.extensions.insert(Caller {
        key: signature.key,
        roles,
    });
    Ok(Request::from_parts(parts, Body::from(body)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replay_cache_admits_once_and_expires() {
        let key = KeyId::from_bytes([1; 32]);
        let mut cache = ReplayCache::new(1_000, 3, 4);
        assert_eq!(cache.admit(&key, &[1; 64], 100, 100), Ok(()));
        assert_eq!(
            cache.admit(&key, &[1; 64], 100, 500),
            Err(ReplayError::Replayed)
        );
        // Another key with the same bytes is another entry.
        let other = KeyId::from_bytes([2; 32]);
        assert_eq!(cache.admit(&other, &[1; 64], 100, 500), Ok(()));
        assert_eq!(cache.admit(&key, &[2; 64], 900, 900), Ok(()));
        // At 1,101 the two entries signed at 100 leave the window, and `other` with them.
        assert_eq!(cache.admit(&key, &[3; 64], 1_101, 1_101), Ok(()));
        assert_eq!((cache.len(), cache.keys()), (2, 1));
        assert_eq!(
            cache.admit(&key, &[2; 64], 900, 1_200),
            Err(ReplayError::Replayed)
        );
    }

    #[test]
    fn one_key_at_its_bound_does_not_stop_another_and_expiry_frees_it() {
        let (flooder, other) = (KeyId::from_bytes([1; 32]), KeyId::from_bytes([2; 32]));
        let mut cache = ReplayCache::new(1_000, 3, 2);
        for i in 0..3u8 {
            assert_eq!(cache.admit(&flooder, &[i; 64], 100, 100), Ok(()));
        }
        assert_eq!(
            cache.admit(&flooder, &[9; 64], 100, 100),
            Err(ReplayError::KeyFull)
        );
        // The other key is served while the flooder is at its bound.
        assert_eq!(cache.admit(&other, &[9; 64], 100, 100), Ok(()));
        // A third key finds the cache at its limit of keys.
        let third = KeyId::from_bytes([3; 32]);
        assert_eq!(
            cache.admit(&third, &[9; 64], 100, 100),
            Err(ReplayError::Full)
        );
        // Once the flooder's entries leave the window, it is admitted again, as is the
        // third key.
        assert_eq!(cache.admit(&flooder, &[9; 64], 1_200, 1_200), Ok(()));
        assert_eq!(cache.admit(&third, &[9; 64], 1_200, 1_200), Ok(()));
        assert_eq!((cache.len(), cache.keys()), (2, 2));
    }

    #[test]
    fn entries_signed_out_of_order_expire_by_their_own_time() {
        let key = KeyId::from_bytes([1; 32]);
        let mut cache = ReplayCache::new(1_000, 10, 10);
        assert_eq!(cache.admit(&key, &[1; 64], 500, 500), Ok(()));
        // Signed earlier than the entry already held (a client clock behind).
        assert_eq!(cache.admit(&key, &[2; 64], 100, 500), Ok(()));
        // At 1,200 only the entry signed at 100 has left the window.
        assert_eq!(cache.admit(&key, &[3; 64], 1_200, 1_200), Ok(()));
        assert_eq!(cache.len(), 2);
        assert_eq!(
            cache.admit(&key, &[1; 64], 500, 1_200),
            Err(ReplayError::Replayed)
        );
        assert_eq!(cache.admit(&key, &[4; 64], 1_600, 2_700), Ok(()));
        assert_eq!((cache.len(), cache.keys()), (1, 1));
        assert!(!cache.is_empty());
    }
}
