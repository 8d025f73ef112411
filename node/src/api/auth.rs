//! Request authentication: the signature headers checked against the key in the ledger
//! state, the clock window, the replay cache, then the route's roles.
//!
//! Order of checks (the first failure answers): no body on a GET or HEAD (400), headers
//! present and well formed (401),
//! time within the window (401), key known to the state (401), body within
//! [`BODY_BYTES_MAX`] (413), signature (401), not seen before (401; 503 if the cache is
//! full), roles (403). The body is read here, once, because the signature covers it; the
//! handler gets it back unchanged.

use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use weinong_contracts::Role;
use weinong_keys::KeyId;
use weinong_keys::request_auth::{
    HEADER_KEY, HEADER_SIGNATURE, HEADER_TIME, RequestAuthError, RequestSignature, verify_request,
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
                "forbidden",
                format!(
                    "an institution may {what} only of requests it made; key {} made no request {id}",
                    self.key
                ),
            ));
        }
        request.ok_or_else(|| {
            super::error::ApiError::not_found(
                "no_such_request",
                format!("request {id} is not recorded on this ledger"),
            )
        })
    }
}

/// Milliseconds since the Unix epoch on this node's clock.
pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// Why a signature was not admitted by the replay cache.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ReplayError {
    /// Seen within the window.
    Replayed,
    /// The cache is full of signatures still inside the window.
    Full,
}

/// Signatures seen within the clock window, so each is accepted once.
///
/// A signature outside the window is refused by the clock check, so an entry is kept only
/// until its time leaves the window: memory is bounded by the request rate times twice the
/// window, and by `capacity` absolutely.
pub(crate) struct ReplayCache {
    window_ms: u64,
    capacity: usize,
    seen: HashSet<[u8; 96]>,
    by_time: BTreeSet<(u64, [u8; 96])>,
}

impl ReplayCache {
    pub(crate) fn new(window_ms: u64, capacity: usize) -> Self {
        Self {
            window_ms,
            capacity,
            seen: HashSet::new(),
            by_time: BTreeSet::new(),
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
        while let Some(&(t, entry)) = self.by_time.first() {
            if t.saturating_add(self.window_ms) >= now_ms {
                break;
            }
            self.by_time.pop_first();
            self.seen.remove(&entry);
        }
        let mut entry = [0u8; 96];
        entry[..32].copy_from_slice(key.as_bytes());
        entry[32..].copy_from_slice(signature);
        if self.seen.contains(&entry) {
            return Err(ReplayError::Replayed);
        }
        if self.seen.len() >= self.capacity {
            return Err(ReplayError::Full);
        }
        self.seen.insert(entry);
        self.by_time.insert((time_ms, entry));
        Ok(())
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
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
            "missing_signature",
            format!(
                "header {name} is missing; sign every /v1 request with {HEADER_KEY}, {HEADER_TIME} and {HEADER_SIGNATURE} (see weinong_keys::request_auth)"
            ),
        )
    })?;
    value.to_str().map_err(|_| {
        ApiError::unauthorized(
            "malformed_signature",
            format!("header {name} is not visible ASCII"),
        )
    })
}

fn auth_error(e: RequestAuthError) -> ApiError {
    match e {
        RequestAuthError::BadSignature | RequestAuthError::WrongKey { .. } => {
            ApiError::unauthorized("bad_signature", e.to_string())
        }
        RequestAuthError::MalformedHeader { .. } | RequestAuthError::TooLong(_) => {
            ApiError::unauthorized("malformed_signature", e.to_string())
        }
    }
}

fn too_large() -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "body_too_large",
        format!("request body is over {BODY_BYTES_MAX} bytes; split the submission"),
    )
}

/// Reads the whole body, refusing more than [`BODY_BYTES_MAX`] bytes without reading on.
async fn read_body(headers: &HeaderMap, body: Body) -> Result<Bytes, ApiError> {
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
            ApiError::bad_request("body_unreadable", format!("could not read the body: {e}"))
        })?;
        if out.len().saturating_add(chunk.len()) > BODY_BYTES_MAX {
            return Err(too_large());
        }
        out.extend_from_slice(&chunk);
    }
    Ok(Bytes::from(out))
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
                "body_on_get",
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
    )
    .map_err(auth_error)?;
    let now = now_ms();
    let skew = now.abs_diff(signature.time_ms);
    if skew > app.config.max_skew_ms {
        return Err(ApiError::unauthorized(
            "stale_request",
            format!(
                "request time {} ms is {skew} ms from this node's clock ({now} ms), over the {} ms window; check the client's clock and sign each request afresh",
                signature.time_ms, app.config.max_skew_ms
            ),
        ));
    }
    let (public, roles) = {
        let replica = app.shared.ledger()?;
        let record = replica.state.key(&signature.key).ok_or_else(|| {
            ApiError::unauthorized(
                "unknown_key",
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
    let body = read_body(&parts.headers, body).await?;
    let target = parts
        .uri
        .path_and_query()
        .map_or_else(|| parts.uri.path(), |pq| pq.as_str());
    verify_request(&public, parts.method.as_str(), target, &body, &signature)
        .map_err(auth_error)?;
    {
        let mut replay = app
            .replay
            .lock()
            .map_err(|_| ApiError::unavailable("replay_cache_unavailable", "restart the node"))?;
        replay
            .admit(
                &signature.key,
                &signature.signature.to_bytes(),
                signature.time_ms,
                now,
            )
            .map_err(|e| match e {
                ReplayError::Replayed => ApiError::unauthorized(
                    "replayed_request",
                    "this request signature was already used; sign each request afresh",
                ),
                ReplayError::Full => ApiError::unavailable(
                    "busy",
                    "too many signed requests within the clock window; retry shortly",
                ),
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
            "forbidden",
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
    fn replay_cache_admits_once_expires_and_bounds() {
        let key = KeyId::from_bytes([1; 32]);
        let mut cache = ReplayCache::new(1_000, 3);
        assert_eq!(cache.admit(&key, &[1; 64], 100, 100), Ok(()));
        assert_eq!(
            cache.admit(&key, &[1; 64], 100, 500),
            Err(ReplayError::Replayed)
        );
        // Another key with the same bytes is another entry.
        let other = KeyId::from_bytes([2; 32]);
        assert_eq!(cache.admit(&other, &[1; 64], 100, 500), Ok(()));
        assert_eq!(cache.admit(&key, &[2; 64], 900, 900), Ok(()));
        assert_eq!(
            cache.admit(&key, &[3; 64], 900, 900),
            Err(ReplayError::Full)
        );
        // At 1,101 the two entries signed at 100 leave the window.
        assert_eq!(cache.admit(&key, &[3; 64], 1_101, 1_101), Ok(()));
        assert_eq!(cache.len(), 2);
        assert_eq!(
            cache.admit(&key, &[2; 64], 900, 1_200),
            Err(ReplayError::Replayed)
        );
    }
}
