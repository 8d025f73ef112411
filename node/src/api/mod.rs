//! The node's HTTP API: JSON over axum, every `/v1` request signed by the caller's SM2 key,
//! roles from the ledger state, an OpenAPI document at `/openapi.json`.
//!
//! Owns: the routes and their wire types ([`dto`]; converted by hand from domain types,
//! never serde on a ledger or contract type), request authentication ([`auth`]: the
//! signature rule itself is `weinong_keys::request_auth`, shared with the CLI), the one
//! table of which roles may call which routes ([`access`]), the JSON error shape
//! ([`error`]), and the OpenAPI document ([`openapi`]).
//!
//! Must not know: Raft, libp2p or how blocks are made. It reads the replica through
//! [`Shared::ledger`] and submits through [`Shared::submit`], nothing else.
//!
//! # Authentication
//!
//! Every `/v1` request carries `x-weinong-key`, `x-weinong-time` and
//! `x-weinong-signature` (see `weinong_keys::request_auth` for the signed message). The
//! node refuses with 401: a missing or malformed header, a key the ledger state does not
//! know, a signature that does not verify, a time more than [`ApiConfig::max_skew_ms`]
//! (default [`MAX_CLOCK_SKEW_MS`], 30 s) from the node's clock, or a signature it has seen
//! within that window (it keeps at most [`ApiConfig::replay_capacity`] of them, default
//! [`REPLAY_CACHE_MAX`]; when full of still-valid signatures it answers 503 rather than
//! forget one). A known key whose roles at the tip's block time do not allow the route gets
//! 403 ([`access`] has the table). `/healthz`, `/metrics` and `/openapi.json` are unsigned.
//!
//! # Limits
//!
//! Request bodies are at most [`BODY_BYTES_MAX`] (1 MiB; 413 beyond), and a submission
//! holds at most [`SUBMIT_TXS_MAX`] transactions. Errors are always JSON
//! `{"code": "snake_case", "message": "..."}`.

pub mod access;
mod assessment_routes;
mod audit_routes;
pub mod auth;
pub mod dto;
pub mod error;
mod extract;
mod ledger_routes;
pub mod openapi;
mod ops;
pub mod pseudonym_routes;
mod state_routes;
mod submit;
#[cfg(test)]
mod tests;

use std::future::Future;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::middleware;
use axum::routing::{get, post};

use crate::shared::Shared;
use access::Access;
use auth::ReplayCache;
use error::ApiError;

/// Largest request body accepted, in bytes (1 MiB): about 2,500 hex-encoded transactions.
pub const BODY_BYTES_MAX: usize = 1024 * 1024;
/// Most transactions one `POST /v1/transactions` may carry.
pub const SUBMIT_TXS_MAX: usize = 4096;
/// Most accesses one `GET /v1/subjects/{pseudonym}/accesses` answer lists.
pub const SUBJECT_ACCESSES_MAX: usize = 10_000;
/// Default for [`ApiConfig::max_skew_ms`]: how far a request's time may be from the
/// node's clock, either way.
pub const MAX_CLOCK_SKEW_MS: u64 = 30_000;
/// Default for [`ApiConfig::replay_capacity`]: request signatures remembered at once.
pub const REPLAY_CACHE_MAX: usize = 200_000;

/// Settings of the API.
#[derive(Clone, Debug)]
pub struct ApiConfig {
    /// How far a signed request's time may be from this node's clock, ms.
    pub max_skew_ms: u64,
    /// How many request signatures are remembered to refuse replays.
    pub replay_capacity: usize,
    /// The consortium's pseudonym key, on department nodes only: without it
    /// `POST /v1/pseudonyms/evaluate` answers 503.
    pub pseudonym_key: Option<Arc<weinong_keys::PseudonymKey>>,
    /// Each key's budget of pseudonym evaluations.
    pub pseudonym_rate: pseudonym_routes::PseudonymRate,
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            max_skew_ms: MAX_CLOCK_SKEW_MS,
            replay_capacity: REPLAY_CACHE_MAX,
            pseudonym_key: None,
            pseudonym_rate: pseudonym_routes::PseudonymRate::default(),
        }
    }
}

/// What every handler shares.
pub(crate) struct App {
    pub(crate) shared: Arc<Shared>,
    pub(crate) config: ApiConfig,
    pub(crate) replay: Mutex<ReplayCache>,
    pub(crate) pseudonyms: pseudonym_routes::PseudonymMeter,
}

/// The API's router over `shared`. Serve it with [`serve`].
pub fn router(shared: Arc<Shared>, cfg: ApiConfig) -> Router {
    let app = Arc::new(App {
        replay: Mutex::new(ReplayCache::new(cfg.max_skew_ms, cfg.replay_capacity)),
        pseudonyms: pseudonym_routes::PseudonymMeter::default(),
        shared,
        config: cfg,
    });
    let guarded = |access: Access, routes: Router<Arc<App>>| {
        routes.route_layer(middleware::from_fn_with_state(
            (app.clone(), access),
            auth::authenticate,
        ))
    };
    let submit = guarded(
        Access::Submit,
        Router::new().route("/v1/transactions", post(submit::submit)),
    );
    let ledger = guarded(
        Access::Ledger,
        Router::new()
            .route("/v1/transactions/{hash}", get(ledger_routes::transaction))
            .route("/v1/blocks/latest", get(ledger_routes::latest_block))
            .route("/v1/blocks/{height}", get(ledger_routes::block))
            .route("/v1/tree-head", get(ledger_routes::tree_head))
            .route(
                "/v1/proofs/inclusion/{hash}",
                get(ledger_routes::inclusion_proof),
            )
            .route(
                "/v1/proofs/consistency",
                get(ledger_routes::consistency_proof),
            )
            .route("/v1/bundles/{hash}", get(ledger_routes::bundle)),
    );
    let consents = guarded(
        Access::Consents,
        Router::new().route("/v1/consents/{id}", get(state_routes::consent)),
    );
    let history = guarded(
        Access::RequestHistory,
        Router::new()
            .route("/v1/requests/{id}/history", get(state_routes::history))
            .route("/v1/assessments/{id}", get(assessment_routes::assessment)),
    );
    let request_bundle = guarded(
        Access::RequestBundle,
        Router::new().route(
            "/v1/requests/{id}/bundle",
            get(audit_routes::request_bundle),
        ),
    );
    let subject_accesses = guarded(
        Access::SubjectAccesses,
        Router::new().route(
            "/v1/subjects/{pseudonym}/accesses",
            get(audit_routes::subject_accesses),
        ),
    );
    let pseudonyms = guarded(
        Access::Pseudonyms,
        Router::new().route("/v1/pseudonyms/evaluate", post(pseudonym_routes::evaluate)),
    );
    let account = guarded(
        Access::Account,
        Router::new()
            .route("/v1/keys/{id}", get(state_routes::key))
            .route("/v1/governance", get(state_routes::governance)),
    );
    let open = Router::new()
        .route("/healthz", get(ops::healthz))
        .route("/metrics", get(ops::metrics))
        .route("/openapi.json", get(ops::openapi_json));
    Router::new()
        .merge(submit)
        .merge(ledger)
        .merge(consents)
        .merge(history)
        .merge(request_bundle)
        .merge(subject_accesses)
        .merge(account)
        .merge(pseudonyms)
        .merge(open)
        .fallback(|| async {
            ApiError::not_found(
                "no_such_route",
                "no such route; GET /openapi.json lists every route",
            )
        })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                axum::http::StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "this route does not take that method; GET /openapi.json lists each route's method",
            )
        })
        .with_state(app)
}

/// Serves `router` on `listener` until `shutdown` completes, then finishes the requests in
/// flight.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
}
