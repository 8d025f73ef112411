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
//! Every `/v1` request but `GET /v1/node` carries `x-weinong-key`, `x-weinong-time`,
//! `x-weinong-signature`, `x-weinong-consortium` and `x-weinong-node` (see
//! `weinong_keys::request_auth` for the signed message, format version 2). The node
//! refuses with 401: a missing or malformed header, a request signed for another
//! consortium (`wrong_consortium`) or another node (`wrong_node`), a key the ledger state
//! does not know, a signature that does not verify, a time more than
//! [`ApiConfig::max_skew_ms`] (default [`MAX_CLOCK_SKEW_MS`], 30 s) from the node's clock,
//! a time before this server started (`signed_before_start`), or a signature it has seen
//! within that window. A known key whose roles at the tip's block time do not allow the
//! route gets 403 ([`access`] has the table). `/healthz`, `/readyz`, `/metrics`, `/openapi.json` and
//! `GET /v1/node` (the node's name, key id and consortium id, which a client signs for)
//! are unsigned.
//!
//! # Replays
//!
//! A signature is good at one node (its scope names the node and the consortium), inside
//! the clock window, once. The replay cache ([`auth::ReplayCache`]) remembers each
//! verified signature until its time leaves the window, at most
//! [`ApiConfig::replay_per_key`] per caller key (a key past it gets 429 until its entries
//! expire; other keys are unaffected) and for at most [`ApiConfig::replay_keys`] keys at
//! once (503 beyond). The cache lives in memory; instead of persisting it, the node
//! refuses every request signed before the server started: a signature captured before a
//! restart is worthless after it, and honest clients sign each request afresh, so this
//! costs them nothing (a client whose clock is behind the node's by more than the time
//! since start-up is refused for a moment after a restart, and its retry succeeds).
//!
//! # Limits
//!
//! Request bodies are at most [`BODY_BYTES_MAX`] (1 MiB; 413 beyond), and a submission
//! holds at most [`SUBMIT_TXS_MAX`] transactions. [`serve`] bounds the time to send a
//! request's headers (and the idle time of a kept-alive connection;
//! [`limits::HTTP_HEADER_READ_TIMEOUT`]: the connection is closed) and the open
//! connections ([`limits::HTTP_CONNECTIONS_MAX`]: a connection past it is answered 503 and
//! closed). The router bounds the time to send a body ([`limits::HTTP_BODY_READ_TIMEOUT`];
//! 408 `body_timeout`), the time a request may run ([`limits::HTTP_HANDLER_TIMEOUT`]; 503
//! `handler_timeout`) and the requests in flight ([`limits::HTTP_REQUESTS_IN_FLIGHT`]; 503
//! `overloaded` with `Retry-After`, never queued). `/metrics` counts each refusal. Errors
//! are always JSON `{"code": "snake_case", "number": n, "message": "..."}`
//! ([`weinong_api::ErrorBody`]; codes are the closed list [`weinong_api::ErrorCode`]).

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
mod policy_routes;
mod proposal_routes;
pub mod pseudonym_routes;
mod state_routes;
mod submit;
#[cfg(test)]
mod tests;
pub mod tls;

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use weinong_api::ErrorCode;

use axum::Router;
use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::sync::Semaphore;
use weinong_keys::RequestScope;

use crate::limits;
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
/// Seconds a client told `Retry-After` waits before retrying a shed request.
pub const RETRY_AFTER_S: u64 = 1;

/// Settings of the API. [`Default`] takes every bound from [`crate::limits`]; tests shrink
/// them.
#[derive(Clone, Debug)]
pub struct ApiConfig {
    /// How far a signed request's time may be from this node's clock, ms.
    pub max_skew_ms: u64,
    /// Request signatures remembered per caller key to refuse replays.
    pub replay_per_key: usize,
    /// Caller keys the replay cache holds entries for at once.
    pub replay_keys: usize,
    /// Time to send a request's headers, and idle time of a kept-alive connection.
    pub header_read_timeout: Duration,
    /// Time to send a request's body.
    pub body_read_timeout: Duration,
    /// Time one request may run, body read included.
    pub handler_timeout: Duration,
    /// Requests handled at once.
    pub requests_in_flight: usize,
    /// Connections open at once.
    pub connections_max: usize,
    /// The consortium's pseudonym key, on department nodes only: without it
    /// `POST /v1/pseudonyms/evaluate` answers 503.
    pub pseudonym_key: Option<Arc<weinong_keys::PseudonymKey>>,
    /// Each key's budget of pseudonym evaluations.
    pub pseudonym_rate: pseudonym_routes::PseudonymRate,
    /// Pending governance proposals (`DATA_DIR/proposals` on a node; in memory by
    /// default).
    pub proposals: Arc<crate::proposals::ProposalBoard>,
    /// The certificate and key when the API serves HTTPS (plain HTTP is then refused with
    /// a 400 naming https); `None` serves plain HTTP.
    pub tls: Option<Arc<tls::TlsFiles>>,
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            max_skew_ms: MAX_CLOCK_SKEW_MS,
            replay_per_key: limits::REPLAY_ENTRIES_PER_KEY,
            replay_keys: limits::REPLAY_KEYS_MAX,
            header_read_timeout: limits::HTTP_HEADER_READ_TIMEOUT,
            body_read_timeout: limits::HTTP_BODY_READ_TIMEOUT,
            handler_timeout: limits::HTTP_HANDLER_TIMEOUT,
            requests_in_flight: limits::HTTP_REQUESTS_IN_FLIGHT,
            connections_max: limits::HTTP_CONNECTIONS_MAX,
            pseudonym_key: None,
            pseudonym_rate: pseudonym_routes::PseudonymRate::default(),
            proposals: Arc::new(crate::proposals::ProposalBoard::in_memory()),
            tls: None,
        }
    }
}

/// Refusals the API counts for `/metrics`.
#[derive(Default)]
pub(crate) struct HttpCounters {
    /// Requests answered 503 `overloaded` (too many in flight).
    pub(crate) shed: AtomicU64,
    /// Connections answered 503 and closed (too many open).
    pub(crate) connections_refused: AtomicU64,
    /// Requests cut off by the handler or body timeout.
    pub(crate) timeouts: AtomicU64,
    /// Requests refused by the replay cache's per-key or key bound.
    pub(crate) replay_full: AtomicU64,
}

/// What every handler shares.
pub(crate) struct App {
    pub(crate) shared: Arc<Shared>,
    pub(crate) config: ApiConfig,
    pub(crate) replay: Mutex<ReplayCache>,
    /// This node's request scope: a request signed for another is refused.
    pub(crate) scope: RequestScope,
    /// When this API instance started, ms since the Unix epoch: requests signed earlier are
    /// refused, so a signature captured before a restart is useless after it.
    pub(crate) started_ms: u64,
    in_flight: Arc<Semaphore>,
    pub(crate) counters: HttpCounters,
    pub(crate) pseudonyms: pseudonym_routes::PseudonymMeter,
    /// Pending governance proposals.
    pub(crate) proposals: Arc<crate::proposals::ProposalBoard>,
}

impl App {
    fn new(shared: Arc<Shared>, cfg: ApiConfig) -> Arc<Self> {
        Arc::new(App {
            replay: Mutex::new(ReplayCache::new(
                cfg.max_skew_ms,
                cfg.replay_per_key,
                cfg.replay_keys,
            )),
            scope: RequestScope {
                consortium: *shared.consortium.as_bytes(),
                node: shared.key_id,
            },
            started_ms: weinong_keys::clock::now_ms(),
            in_flight: Arc::new(Semaphore::new(cfg.requests_in_flight)),
            counters: HttpCounters::default(),
            pseudonyms: pseudonym_routes::PseudonymMeter::default(),
            proposals: cfg.proposals.clone(),
            shared,
            config: cfg,
        })
    }
}

/// The outermost layer: at most [`ApiConfig::requests_in_flight`] requests run; the others
/// are answered at once (503 `overloaded`, `Retry-After`), never queued.
async fn shed(State(app): State<Arc<App>>, request: Request, next: Next) -> Response {
    let Ok(_permit) = app.in_flight.clone().try_acquire_owned() else {
        app.counters.shed.fetch_add(1, Ordering::Relaxed);
        let mut refusal = ApiError::unavailable(
            ErrorCode::Overloaded,
            format!(
                "this node is handling its limit of {} requests at once (HTTP_REQUESTS_IN_FLIGHT); retry after {RETRY_AFTER_S} s",
                app.config.requests_in_flight
            ),
        );
        refusal.retry_after = Some(RETRY_AFTER_S);
        return refusal.into_response();
    };
    next.run(request).await
}

/// Inside [`shed`]: a request running past [`ApiConfig::handler_timeout`] is answered 503
/// `handler_timeout` (its work is dropped; a submission may still commit, as for any
/// `unavailable` outcome).
async fn deadline(State(app): State<Arc<App>>, request: Request, next: Next) -> Response {
    let limit = app.config.handler_timeout;
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            app.counters.timeouts.fetch_add(1, Ordering::Relaxed);
            ApiError::unavailable(
                ErrorCode::HandlerTimeout,
                format!(
                    "the request ran past this node's limit of {} ms (HTTP_HANDLER_TIMEOUT); retry, or ask another node",
                    limit.as_millis()
                ),
            )
            .into_response()
        }
    }
}

/// The API's router over `shared`, without the connection bounds of [`serve`] (for tests
/// and benchmarks that drive it in memory).
pub fn router(shared: Arc<Shared>, cfg: ApiConfig) -> Router {
    routes(App::new(shared, cfg))
}

fn routes(app: Arc<App>) -> Router {
    // Each group of routes behind the access rule its callers must meet.
    let groups = [
        (
            Access::Submit,
            Router::new().route("/v1/transactions", post(submit::submit)),
        ),
        (
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
        ),
        (
            Access::Consents,
            Router::new().route("/v1/consents/{id}", get(state_routes::consent)),
        ),
        (
            Access::RequestHistory,
            Router::new()
                .route("/v1/requests/{id}/history", get(state_routes::history))
                .route("/v1/assessments/{id}", get(assessment_routes::assessment)),
        ),
        (
            Access::RequestBundle,
            Router::new().route(
                "/v1/requests/{id}/bundle",
                get(audit_routes::request_bundle),
            ),
        ),
        (
            Access::SubjectAccesses,
            Router::new().route(
                "/v1/subjects/{pseudonym}/accesses",
                get(audit_routes::subject_accesses),
            ),
        ),
        (
            Access::Account,
            Router::new()
                .route("/v1/keys/{id}", get(state_routes::key))
                .route("/v1/governance", get(state_routes::governance)),
        ),
        (
            Access::SubjectConsents,
            Router::new().route(
                "/v1/subjects/{pseudonym}/consents",
                get(state_routes::subject_consents),
            ),
        ),
        (
            Access::Pseudonyms,
            Router::new().route("/v1/pseudonyms/evaluate", post(pseudonym_routes::evaluate)),
        ),
        (
            Access::PolicyRuns,
            Router::new()
                .route("/v1/policies", get(policy_routes::policies))
                .route("/v1/policy-runs", get(policy_routes::runs))
                .route("/v1/policy-runs/{run}", get(policy_routes::run))
                .route("/v1/policy-runs/{run}/result", get(policy_routes::result)),
        ),
        (
            Access::Proposals,
            Router::new().route(
                "/v1/proposals",
                get(proposal_routes::list).post(proposal_routes::post),
            ),
        ),
    ];
    let guarded = groups
        .into_iter()
        .fold(Router::new(), |router, (access, routes)| {
            router.merge(routes.route_layer(middleware::from_fn_with_state(
                (app.clone(), access),
                auth::authenticate,
            )))
        });
    let open = Router::new()
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
        .route("/openapi.json", get(ops::openapi_json))
        .route("/v1/node", get(ops::node));
    guarded
        .merge(open)
        .fallback(|| async {
            ApiError::not_found(
                ErrorCode::NoSuchRoute,
                "no such route; GET /openapi.json lists every route",
            )
        })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                axum::http::StatusCode::METHOD_NOT_ALLOWED,
                ErrorCode::MethodNotAllowed,
                "this route does not take that method; GET /openapi.json lists each route's method",
            )
        })
        .layer(middleware::from_fn_with_state(app.clone(), deadline))
        .layer(middleware::from_fn_with_state(app.clone(), shed))
        .with_state(app)
}

/// The answer to a connection over [`ApiConfig::connections_max`], written without
/// reading the request.
fn connection_refused_response() -> Vec<u8> {
    let body = serde_json::to_string(&weinong_api::ErrorBody::new(
        ErrorCode::TooManyConnections,
        format!("this node has its limit of connections open; retry after {RETRY_AFTER_S} s, and reuse one connection for many requests"),
    ))
    .unwrap_or_default();
    format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\nretry-after: {RETRY_AFTER_S}\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Serves the API over `shared` on `listener` until `shutdown` completes, then finishes
/// the requests in flight. HTTP/1.1 only, with the bounds of `cfg`: a client that does not
/// send its headers within [`ApiConfig::header_read_timeout`] (or leaves a kept-alive
/// connection idle that long) is disconnected, and a connection past
/// [`ApiConfig::connections_max`] is answered 503 and closed at once.
///
/// The server's start time (before which no signed request is accepted) is taken when
/// this is called, not when the future is first polled.
pub fn serve(
    listener: tokio::net::TcpListener,
    shared: Arc<Shared>,
    cfg: ApiConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> impl Future<Output = std::io::Result<()>> + Send + 'static {
    serve_app(listener, App::new(shared, cfg), shutdown)
}

async fn serve_app(
    listener: tokio::net::TcpListener,
    app: Arc<App>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let router = routes(app.clone());
    let connections = Arc::new(Semaphore::new(app.config.connections_max));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(app.config.header_read_timeout)
        .keep_alive(true);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of descriptors or a connection reset before accept: wait a
                    // moment rather than spin, and keep serving.
                    tracing::warn!(error = %e, "HTTP accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Ok(permit) = connections.clone().try_acquire_owned() else {
            app.counters
                .connections_refused
                .fetch_add(1, Ordering::Relaxed);
            // Best effort, never waiting: the socket buffer takes these few bytes, and the
            // connection is closed when `stream` drops.
            let _ = stream.try_write(&connection_refused_response());
            continue;
        };
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(router.clone());
        let watcher = graceful.watcher();
        let builder = builder.clone();
        let tls = app.config.tls.as_ref().map(|t| t.acceptor());
        let handshake_timeout = app.config.header_read_timeout;
        tokio::spawn(async move {
            let ended = match tls {
                None => {
                    watcher
                        .watch(builder.serve_connection(TokioIo::new(stream), service))
                        .await
                }
                Some(acceptor) => {
                    // The handshake is bounded like the headers it stands before, and runs
                    // here, not in the accept loop, so a slow client holds only its permit.
                    let Some(stream) = accept_tls(stream, acceptor, handshake_timeout).await else {
                        drop(permit);
                        return;
                    };
                    watcher
                        .watch(builder.serve_connection(TokioIo::new(stream), service))
                        .await
                }
            };
            if let Err(e) = ended {
                tracing::debug!(error = %e, "HTTP connection ended");
            }
            drop(permit);
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// Shakes hands with a client on the TLS port. A client that speaks plain HTTP is told to
/// use https (a 400 `https_required`) and disconnected; one that fails or stalls the
/// handshake is disconnected. `None` when the connection is over.
async fn accept_tls(
    stream: tokio::net::TcpStream,
    acceptor: tokio_rustls::TlsAcceptor,
    timeout: Duration,
) -> Option<tokio_rustls::server::TlsStream<tokio::net::TcpStream>> {
    use tokio::io::AsyncWriteExt;
    let mut first = [0u8; 1];
    let peeked = tokio::time::timeout(timeout, stream.peek(&mut first)).await;
    match peeked {
        Ok(Ok(1)) if tls::looks_like_tls(first[0]) => {}
        Ok(Ok(1)) => {
            let mut stream = stream;
            let _ = tokio::time::timeout(timeout, async {
                let _ = stream.write_all(&tls::plain_http_refusal()).await;
                let _ = stream.shutdown().await;
            })
            .await;
            return None;
        }
        _ => return None,
    }
    match tokio::time::timeout(timeout, acceptor.accept(stream)).await {
        Ok(Ok(stream)) => Some(stream),
        Ok(Err(e)) => {
            tracing::debug!(error = %e, "TLS handshake failed");
            None
        }
        Err(_) => None,
    }
}
