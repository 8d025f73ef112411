//! The API's one error shape: `{"code": "snake_case", "number": n, "message": "..."}` with
//! its status ([`weinong_api::ErrorBody`]).
//!
//! Codes are the closed list [`ErrorCode`] (stable names and numbers) a client decides on;
//! messages name what is wrong and what to do, in English, and never carry secrets or
//! personal data.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use weinong_ledger::store::StoreError;

use crate::shared::SharedError;

use weinong_api::{ErrorBody, ErrorCode};

/// An error answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable code.
    pub code: ErrorCode,
    /// What is wrong and what to do.
    pub message: String,
    /// Seconds to send as `Retry-After`, for a refusal that a later retry may pass.
    pub retry_after: Option<u64>,
}

impl ApiError {
    /// An error with this status, code and message.
    pub fn new(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    /// 400.
    pub fn bad_request(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// 401.
    pub fn unauthorized(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, code, message)
    }

    /// 403.
    pub fn forbidden(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, code, message)
    }

    /// 404.
    pub fn not_found(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, code, message)
    }

    /// 503.
    pub fn unavailable(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, code, message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody::new(self.code, self.message);
        let mut response = (self.status, Json(body)).into_response();
        if let Some(seconds) = self.retry_after {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(seconds),
            );
        }
        response
    }
}

impl From<SharedError> for ApiError {
    fn from(e: SharedError) -> Self {
        let code = match e {
            SharedError::Poisoned => ErrorCode::ReplicaUnavailable,
            SharedError::Stopping => ErrorCode::NodeStopping,
        };
        Self::unavailable(code, e.to_string())
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(_) => Self::not_found(ErrorCode::NotFound, e.to_string()),
            // Corruption and RocksDB failures: the node cannot answer now; another node can.
            other => Self::unavailable(
                ErrorCode::LedgerUnavailable,
                format!("{other}; ask another node, and have this node's operator run fsck"),
            ),
        }
    }
}
