//! Path and query extractors whose rejections are the API's JSON errors (axum's own answer
//! in plain text).

use axum::extract::{FromRequestParts, Path, Query};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use weinong_api::ErrorCode;

use super::error::ApiError;

/// Declares `$name`, the axum extractor `$inner` whose rejection is a JSON 400 `$code`
/// (the message is axum's own text).
macro_rules! json_rejecting {
    ($(#[$doc:meta])* $name:ident($inner:ident), $code:expr) => {
        $(#[$doc])*
        pub(crate) struct $name<T>(pub T);

        impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for $name<T> {
            type Rejection = ApiError;

            async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
                $inner::<T>::from_request_parts(parts, state)
                    .await
                    .map(|$inner(t)| $name(t))
                    .map_err(|e| ApiError::bad_request($code, e.body_text()))
            }
        }
    };
}

json_rejecting!(
    /// `axum::extract::Path`, refusing with a JSON 400 `bad_path`.
    ApiPath(Path),
    ErrorCode::BadPath
);

json_rejecting!(
    /// `axum::extract::Query`, refusing with a JSON 400 `bad_query`.
    ApiQuery(Query),
    ErrorCode::BadQuery
);

/// A 32-byte id from its 64 hex characters, or 400 naming `what`.
pub(crate) fn hex32(what: &'static str, s: &str) -> Result<[u8; 32], ApiError> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(s, &mut out).map_err(|e| {
        ApiError::bad_request(
            ErrorCode::BadId,
            format!("{what} must be 64 hex characters: {e}"),
        )
    })?;
    Ok(out)
}
