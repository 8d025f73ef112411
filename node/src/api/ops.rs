//! Unsigned operational routes: `/healthz`, `/metrics` (Prometheus text),
//! `/openapi.json` and `/v1/node` (what a client signs for). They reveal no ledger content
//! beyond the height.

use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;

use super::App;
use super::dto::{ErrorBody, HealthBody, NodeBody};
use super::error::ApiError;

/// Liveness and height.
#[utoipa::path(get, path = "/healthz", tag = "ops",
    responses((status = 200, body = HealthBody), (status = 503, body = ErrorBody)))]
pub(crate) async fn healthz(State(app): State<Arc<App>>) -> Result<Json<HealthBody>, ApiError> {
    let height = app.shared.ledger()?.store.tip().map(|t| t.height);
    Ok(Json(HealthBody {
        ok: true,
        name: app.shared.name.clone(),
        height,
    }))
}

/// This node's name, key id and consortium id: the scope a client signs its requests for.
/// Unsigned, as the client needs it before it can sign; a node that lies here only makes
/// the client's signatures good at the one node it named (see `weinong_keys::request_auth`).
#[utoipa::path(get, path = "/v1/node", tag = "ops",
    responses((status = 200, body = NodeBody)))]
pub(crate) async fn node(State(app): State<Arc<App>>) -> Json<NodeBody> {
    Json(NodeBody {
        name: app.shared.name.clone(),
        node_key: app.scope.node.to_hex(),
        consortium: hex::encode(app.scope.consortium),
        request_auth_version: weinong_keys::request_auth::REQUEST_AUTH_VERSION,
    })
}

/// Prometheus text exposition of the node's counters.
pub(crate) fn metrics_text(app: &App) -> String {
    let m = &app.shared.metrics;
    let height = app
        .shared
        .ledger()
        .ok()
        .and_then(|r| r.store.tip().map(|t| t.height));
    let mut out = String::new();
    let mut gauge = |name: &str, kind: &str, help: &str, value: &str| {
        // Writing to a String cannot fail.
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
        );
    };
    match height {
        Some(h) => gauge(
            "weinong_height",
            "gauge",
            "Height of the last certified block.",
            &h.to_string(),
        ),
        None => gauge(
            "weinong_height",
            "gauge",
            "Height of the last certified block (-1: none yet).",
            "-1",
        ),
    }
    gauge(
        "weinong_peers",
        "gauge",
        "Connected, authenticated peers.",
        &m.peers.load(Ordering::Relaxed).to_string(),
    );
    gauge(
        "weinong_leader",
        "gauge",
        "Raft leader's node id (0: none known).",
        &m.leader.load(Ordering::Relaxed).to_string(),
    );
    gauge(
        "weinong_raft_term",
        "gauge",
        "Current Raft term.",
        &m.term.load(Ordering::Relaxed).to_string(),
    );
    gauge(
        "weinong_raft_refused_total",
        "counter",
        "Raft RPCs refused before openraft saw them (sender not a voter, speaking for another node, a proposal from another than its leader or too far ahead in time).",
        &m.raft_refused.load(Ordering::Relaxed).to_string(),
    );
    gauge(
        "weinong_members",
        "gauge",
        "Keys in the member set that signs the next block (follows governance).",
        &m.members.load(Ordering::Relaxed).to_string(),
    );
    gauge(
        "weinong_raft_voters",
        "gauge",
        "Voters in the Raft membership this node last saw (the leader makes it follow the member set).",
        &m.raft_voters.load(Ordering::Relaxed).to_string(),
    );
    gauge(
        "weinong_committed_txs_total",
        "counter",
        "Transactions committed since start.",
        &m.committed_txs.load(Ordering::Relaxed).to_string(),
    );
    let c = &app.counters;
    gauge(
        "weinong_http_shed_total",
        "counter",
        "HTTP requests answered 503 overloaded (requests in flight at their limit).",
        &c.shed.load(Ordering::Relaxed).to_string(),
    );
    gauge(
        "weinong_http_connections_refused_total",
        "counter",
        "HTTP connections answered 503 and closed (open connections at their limit).",
        &c.connections_refused.load(Ordering::Relaxed).to_string(),
    );
    gauge(
        "weinong_http_timeouts_total",
        "counter",
        "HTTP requests cut off by the body-read or handler timeout.",
        &c.timeouts.load(Ordering::Relaxed).to_string(),
    );
    gauge(
        "weinong_http_replay_full_total",
        "counter",
        "Signed requests refused because the replay cache held the key's share or its limit of keys.",
        &c.replay_full.load(Ordering::Relaxed).to_string(),
    );
    gauge(
        "weinong_pseudonym_evaluations_total",
        "counter",
        "Blinded subject IDs evaluated (POST /v1/pseudonyms/evaluate) since start.",
        &app.pseudonyms
            .evaluations
            .load(Ordering::Relaxed)
            .to_string(),
    );
    gauge(
        "weinong_pseudonym_rate_limited_total",
        "counter",
        "Pseudonym evaluation requests refused by the per-key rate limit (429) since start.",
        &app.pseudonyms.refused.load(Ordering::Relaxed).to_string(),
    );
    let sum_us = m.commit_latency_us_sum.load(Ordering::Relaxed);
    let count = m.commit_latency_count.load(Ordering::Relaxed);
    let _ = writeln!(
        out,
        "# HELP weinong_commit_latency_seconds Submit-to-commit latency.\n# TYPE weinong_commit_latency_seconds summary\nweinong_commit_latency_seconds_sum {}.{:06}\nweinong_commit_latency_seconds_count {count}",
        sum_us / 1_000_000,
        sum_us % 1_000_000
    );
    out
}

/// Prometheus metrics.
#[utoipa::path(get, path = "/metrics", tag = "ops",
    responses((status = 200, content_type = "text/plain; version=0.0.4", body = String,
        description = "weinong_height, weinong_peers, weinong_leader, weinong_raft_term, weinong_raft_refused_total, weinong_members, weinong_raft_voters, weinong_committed_txs_total, weinong_http_shed_total, weinong_http_connections_refused_total, weinong_http_timeouts_total, weinong_http_replay_full_total, weinong_pseudonym_evaluations_total, weinong_pseudonym_rate_limited_total, weinong_commit_latency_seconds_{sum,count}")))]
pub(crate) async fn metrics(State(app): State<Arc<App>>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        metrics_text(&app),
    )
}

/// This document.
#[utoipa::path(get, path = "/openapi.json", tag = "ops",
    responses((status = 200, content_type = "application/json", body = Object, description = "the OpenAPI 3.1 document")))]
pub(crate) async fn openapi_json() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        super::openapi::document_json(),
    )
}
