//! Unsigned operational routes: `/healthz` (liveness), `/readyz` (caught up with the
//! leader), `/metrics` (Prometheus text),
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
use crate::metrics::HistogramSnapshot;
use crate::raft::node_id;

/// Liveness, height and readiness: 200 whenever the node answers and its replica is
/// readable, even while it catches up (`ready` says whether it has).
#[utoipa::path(get, path = "/healthz", tag = "ops",
    responses((status = 200, body = HealthBody), (status = 503, body = ErrorBody)))]
pub(crate) async fn healthz(State(app): State<Arc<App>>) -> Result<Json<HealthBody>, ApiError> {
    let height = app.shared.ledger()?.store.tip().map(|t| t.height);
    let readiness = app.shared.metrics.readiness();
    Ok(Json(HealthBody {
        ok: true,
        name: app.shared.name.clone(),
        height,
        ready: readiness.ready,
        lag: readiness.lag,
    }))
}

/// Readiness for a load balancer: 200 when a Raft leader is known and this node has
/// applied all but a few of the entries the leader announced committed; 503 `not_ready`
/// naming why (no leader, catching up with the lag) otherwise.
#[utoipa::path(get, path = "/readyz", tag = "ops",
    responses((status = 200, body = HealthBody), (status = 503, body = ErrorBody)))]
pub(crate) async fn readyz(State(app): State<Arc<App>>) -> Result<Json<HealthBody>, ApiError> {
    let readiness = app.shared.metrics.readiness();
    if !readiness.ready {
        return Err(ApiError::new(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            weinong_api::ErrorCode::NotReady,
            format!(
                "node {} is not ready: {}; retry later or use another node",
                app.shared.name, readiness.reason
            ),
        ));
    }
    healthz(State(app)).await
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
    // `value` is a sample value, or `{labels} value`.
    let mut gauge = |name: &str, kind: &str, help: &str, value: &str| {
        let sep = if value.starts_with('{') { "" } else { " " };
        // Writing to a String cannot fail.
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} {kind}\n{name}{sep}{value}"
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
    // Node ids are 64-bit and a Prometheus sample is a float: the leader is named by a
    // label (its ledger key id), never by a sample value.
    let leader = m.leader.load(Ordering::Relaxed);
    let leader_key = (leader != 0)
        .then(|| {
            app.shared
                .with_voters(|v| v.keys().keys().find(|k| node_id(k) == leader).copied())
        })
        .flatten();
    gauge(
        "weinong_leader",
        "gauge",
        "1 when a Raft leader is known, else 0 (its key id: weinong_leader_info).",
        if leader != 0 { "1" } else { "0" },
    );
    if let Some(key) = leader_key {
        gauge(
            "weinong_leader_info",
            "gauge",
            "The Raft leader this node follows, by ledger key id (label `key`).",
            &format!("{{key=\"{key}\"}} 1"),
        );
    }
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
    let readiness = m.readiness();
    gauge(
        "weinong_ready",
        "gauge",
        "1 when the node serves current state (a leader is known and it is caught up; /readyz), else 0.",
        if readiness.ready { "1" } else { "0" },
    );
    gauge(
        "weinong_raft_lag_entries",
        "gauge",
        "Committed Raft entries (blocks) the leader announced that this node has not applied yet.",
        &readiness.lag.to_string(),
    );
    gauge(
        "weinong_assessments_computed_total",
        "counter",
        "Assessment requests this node computed its sealed output share of, since start.",
        &m.assessments_computed.load(Ordering::Relaxed).to_string(),
    );
    gauge(
        "weinong_assessments_skipped_total",
        "counter",
        "Assessment requests with nothing for this node to do, since start.",
        &m.assessments_skipped.load(Ordering::Relaxed).to_string(),
    );
    gauge(
        "weinong_assessments_failed_total",
        "counter",
        "Assessment requests whose computation failed at this node (failure recorded on the ledger), since start.",
        &m.assessments_failed.load(Ordering::Relaxed).to_string(),
    );
    histogram(
        &mut out,
        "weinong_commit_latency_seconds",
        "Submit-to-commit latency of transactions submitted to this node.",
        &m.commit_latency.snapshot(),
    );
    histogram(
        &mut out,
        "weinong_assessment_seconds",
        "Time from taking up an assessment request to storing this node's sealed share.",
        &m.assessment_latency.snapshot(),
    );
    out
}

/// Renders a histogram in Prometheus text (seconds, cumulative `le` buckets, `+Inf`).
fn histogram(out: &mut String, name: &str, help: &str, h: &HistogramSnapshot) {
    let seconds = |us: u64| format!("{}.{:06}", us / 1_000_000, us % 1_000_000);
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
    for (bound, n) in &h.cumulative {
        let _ = writeln!(out, "{name}_bucket{{le=\"{}\"}} {n}", seconds(*bound));
    }
    let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {}", h.count);
    let _ = writeln!(out, "{name}_sum {}", seconds(h.sum_us));
    let _ = writeln!(out, "{name}_count {}", h.count);
}

/// Prometheus metrics.
#[utoipa::path(get, path = "/metrics", tag = "ops",
    responses((status = 200, content_type = "text/plain; version=0.0.4", body = String,
        description = "weinong_height, weinong_peers, weinong_leader, weinong_raft_term, weinong_raft_refused_total, weinong_members, weinong_raft_voters, weinong_committed_txs_total, weinong_http_shed_total, weinong_http_connections_refused_total, weinong_http_timeouts_total, weinong_http_replay_full_total, weinong_pseudonym_evaluations_total, weinong_pseudonym_rate_limited_total, weinong_leader, weinong_leader_info, weinong_ready, weinong_raft_lag_entries, weinong_assessments_{computed,skipped,failed}_total, weinong_commit_latency_seconds and weinong_assessment_seconds (histograms)")))]
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
