//! Path and query extractors whose rejections are the API's JSON errors (axum's own answer
//! in plain text).

use axum::extract::{FromRequestParts, Path, Query};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use weinong_api::ErrorCode;

use super::error::ApiError;

/// `axum::extract::Path`, refusing with a JSON 400 `bad_path`.
pub(crate) struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(t)| ApiPath(t))
            .map_err(|e| ApiError::bad_request(ErrorCode::BadPath, e.body_text()))
    }
}

/// `axum::extract::Query`, refusing with a JSON 400 `bad_query`.
pub(crate) struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(t)| ApiQuery(t))
            .map_err(|e| ApiError::bad_request(ErrorCode::BadQuery, e.body_text()))
    }
}

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
