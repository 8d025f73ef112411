//! Policy runs (免申即享): a run's ledger record and this node's progress, and the
//! receiver's result. A run is opened by a transaction the receiving department signs
//! (`POST /v1/transactions`, `weinong policy run`); the nodes take it from the ledger.

use std::sync::{Arc, OnceLock};

use axum::extract::State;
use axum::{Extension, Json};
use weinong_api::ErrorCode;
use weinong_contracts::policy_matches::MatchesTree;
use weinong_contracts::{LegalBasis, PolicyRunRecord, RunId, RunStatus};
use weinong_keys::SubjectPseudonym;

use super::App;
use super::auth::Caller;
use super::dto::{
    ErrorBody, PoliciesBody, PolicyBody, PolicyInclusionBody, PolicyResultBody, PolicyRunBody,
    PolicyRunSummaryBody, PolicyRunsBody, PolicyRunsQuery, RunAccessBody, RunTimingsBody,
    category_labels,
};
use super::error::ApiError;
use super::extract::{ApiPath, ApiQuery, hex32};
use crate::assess::policy::Policies;

fn shipped() -> Option<&'static Policies> {
    static SHIPPED: OnceLock<Option<Policies>> = OnceLock::new();
    SHIPPED.get_or_init(|| Policies::shipped().ok()).as_ref()
}

/// The completed runs whose matches this node holds and include `subject`, each with its
/// inclusion proof against the commitment on the ledger. Builds each run's tree (one SM3
/// per match): fine for the registrar's occasional question, not for bulk use.
pub(super) fn inclusions_of(
    app: &App,
    subject: &SubjectPseudonym,
) -> Result<Vec<PolicyInclusionBody>, ApiError> {
    let completed: Vec<(RunId, PolicyRunRecord, Option<LegalBasis>)> = {
        let replica = app.shared.ledger()?;
        replica
            .state
            .runs()
            .filter(|(_, r)| r.status == RunStatus::Completed && r.matches.is_some())
            .map(|(id, r)| {
                let basis = replica.state.policy(&r.policy).map(|p| p.legal_basis);
                (*id, r.clone(), basis)
            })
            .collect()
    };
    let results = &app.shared.assess.policy_results;
    let mut out = Vec::new();
    for (run, record, basis) in completed {
        let (Some(root), Some(ended)) = (record.matches, record.ended_at) else {
            continue;
        };
        let Some(result) = results.get(&run).ok().flatten() else {
            continue;
        };
        let Ok(position) = result.matches.binary_search(subject) else {
            continue;
        };
        let Some(tree) = MatchesTree::new(run, result.salt, &result.matches) else {
            continue;
        };
        // A stored result that does not give the recorded root is not shown as proven.
        if tree.root() != root {
            tracing::warn!(%run, "the stored matches do not give the run's recorded commitment");
            continue;
        }
        let Some(proof) = tree.proof(position as u64) else {
            continue;
        };
        let spec = shipped().and_then(|p| p.get(&record.policy));
        out.push(PolicyInclusionBody {
            run: run.to_hex(),
            policy: record.policy.to_hex(),
            policy_name: spec.map(|s| s.name().to_owned()),
            title_zh: spec.map(|s| s.title_zh().to_owned()),
            legal_basis: basis.map(|b| b.label().to_owned()).unwrap_or_default(),
            ended_at_height: ended.height,
            ended_at_ms: ended.time_ms,
            matches_root: root.to_hex(),
            salt: hex::encode(proof.salt.0),
            index: proof.index,
            size: proof.size,
            path: proof.path.iter().map(hex::encode).collect(),
        });
    }
    Ok(out)
}

/// The most runs one `GET /v1/policy-runs` lists.
const RUNS_LIST_MAX: u32 = 200;

/// `status` and `failure` of a run, as the API words them.
fn status_words(status: RunStatus) -> (&'static str, Option<String>) {
    match status {
        RunStatus::Open => ("open", None),
        RunStatus::Completed => ("completed", None),
        RunStatus::Failed(reason) => ("failed", Some(reason.label().to_owned())),
    }
}

/// Every policy registered on the ledger: receiver, legal basis, the categories its
/// predicates read and how many runs it has had; name, titles and mode where this node
/// ships the policy's text.
#[utoipa::path(get, path = "/v1/policies", tag = "policy",
    responses(
        (status = 200, body = PoliciesBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 503, body = ErrorBody)),
    security(("weinong_signature" = [])))]
pub(crate) async fn policies(State(app): State<Arc<App>>) -> Result<Json<PoliciesBody>, ApiError> {
    let replica = app.shared.ledger()?;
    let state = &replica.state;
    let mut runs = std::collections::BTreeMap::<_, u64>::new();
    for (_, r) in state.runs() {
        *runs.entry(r.policy).or_default() += 1;
    }
    let policies = state
        .policies()
        .map(|(id, p)| {
            let spec = shipped().and_then(|s| s.get(id));
            PolicyBody {
                policy: id.to_hex(),
                name: spec.map(|s| s.name().to_owned()),
                title_zh: spec.map(|s| s.title_zh().to_owned()),
                title_en: spec.map(|s| s.title_en().to_owned()),
                receiver: p.receiver.0,
                receiver_department: spec.map(|s| s.receiver().short_name().to_owned()),
                legal_basis: p.legal_basis.label().to_owned(),
                mode: spec.map(|s| s.mode().as_str().to_owned()),
                categories: category_labels(p.categories),
                registered_at_height: p.registered_at.height,
                runs: runs.get(id).copied().unwrap_or(0),
            }
        })
        .collect();
    Ok(Json(PoliciesBody { policies }))
}

/// The newest policy runs (by opening block), without the accesses' details: for a
/// console's list. Holds no list of people.
#[utoipa::path(get, path = "/v1/policy-runs", tag = "policy",
    params(PolicyRunsQuery),
    responses(
        (status = 200, body = PolicyRunsBody),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 503, body = ErrorBody)),
    security(("weinong_signature" = [])))]
pub(crate) async fn runs(
    State(app): State<Arc<App>>,
    ApiQuery(query): ApiQuery<PolicyRunsQuery>,
) -> Result<Json<PolicyRunsBody>, ApiError> {
    let limit = query.limit.unwrap_or(50);
    if !(1..=RUNS_LIST_MAX).contains(&limit) {
        return Err(ApiError::bad_request(
            ErrorCode::BadQuery,
            format!("limit {limit} is out of range: give 1 to {RUNS_LIST_MAX}"),
        ));
    }
    let replica = app.shared.ledger()?;
    let state = &replica.state;
    let mut all: Vec<(&RunId, &PolicyRunRecord)> = state.runs().collect();
    // Newest first; the id breaks ties within a block so the order is stable.
    all.sort_by(|a, b| {
        (b.1.opened_at.height, b.0.as_bytes()).cmp(&(a.1.opened_at.height, a.0.as_bytes()))
    });
    let total = all.len() as u64;
    let runs = all
        .into_iter()
        .take(limit as usize)
        .map(|(id, r)| {
            let (status, failure) = status_words(r.status);
            PolicyRunSummaryBody {
                run: id.to_hex(),
                policy: r.policy.to_hex(),
                policy_name: shipped()
                    .and_then(|s| s.get(&r.policy))
                    .map(|s| s.name().to_owned()),
                receiver: r.receiver.0,
                status: status.to_owned(),
                failure,
                opened_at_height: r.opened_at.height,
                ended_at_height: r.ended_at.map(|t| t.height),
                accesses: u32::try_from(r.accesses.len()).unwrap_or(u32::MAX),
            }
        })
        .collect();
    Ok(Json(PolicyRunsBody { total, runs }))
}

fn run_id(hex: &str) -> Result<RunId, ApiError> {
    Ok(RunId::from_bytes(hex32("policy run id", hex)?))
}

/// Whether `caller` may see the receiver's result on this node: only the node's own key
/// (the department's operator), since the list is that department's personal data.
fn may_see_result(app: &App, caller: &Caller) -> bool {
    caller.key == app.shared.key_id
}

/// A policy run: policy, legal basis, status, each department's access, and this node's
/// progress while the run is in flight here. Holds no list of people.
#[utoipa::path(get, path = "/v1/policy-runs/{run}", tag = "policy",
    params(("run" = String, Path, description = "policy run id, 64 hex characters")),
    responses(
        (status = 200, body = PolicyRunBody),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 503, body = ErrorBody)),
    security(("weinong_signature" = [])))]
pub(crate) async fn run(
    State(app): State<Arc<App>>,
    Extension(caller): Extension<Caller>,
    ApiPath(run): ApiPath<String>,
) -> Result<Json<PolicyRunBody>, ApiError> {
    let id = run_id(&run)?;
    let replica = app.shared.ledger()?;
    let state = &replica.state;
    let Some(record) = state.run(&id) else {
        return Err(ApiError::not_found(
            ErrorCode::NoSuchRun,
            format!(
                "policy run {id} is not recorded on this ledger (yet); check the id, or retry after the next block"
            ),
        ));
    };
    let policy = state.policy(&record.policy);
    let spec = shipped().and_then(|p| p.get(&record.policy));
    let (status, failure) = status_words(record.status);
    let progress = app.shared.assess.policy_results.progress(&id);
    let results = &app.shared.assess.policy_results;
    let (matched, timings) = if may_see_result(&app, &caller) {
        let timings = results.timings(&id).map(|t| RunTimingsBody {
            evaluate_ms: t.evaluate_ms,
            psi_ms: t.psi_ms,
            finish_ms: t.finish_ms,
        });
        (results.get(&id).ok().flatten().map(|r| r.count), timings)
    } else {
        (None, None)
    };
    Ok(Json(PolicyRunBody {
        run: id.to_hex(),
        policy: record.policy.to_hex(),
        policy_name: spec.map(|s| s.name().to_owned()),
        title_zh: spec.map(|s| s.title_zh().to_owned()),
        legal_basis: policy
            .map(|p| p.legal_basis.label().to_owned())
            .unwrap_or_default(),
        receiver: record.receiver.0,
        status: status.to_owned(),
        failure,
        opened_at_height: record.opened_at.height,
        ended_at_height: record.ended_at.map(|t| t.height),
        accesses: record
            .accesses
            .iter()
            .map(|a| RunAccessBody {
                node: a.node.0,
                signer: a.signer.to_hex(),
                categories: category_labels(a.categories),
                height: a.at.height,
                tx: a.tx.to_hex(),
            })
            .collect(),
        stage: progress.as_ref().map(|p| p.stage.clone()),
        steps_done: progress.as_ref().map(|p| p.steps_done),
        steps: progress.as_ref().map(|p| p.steps),
        matched,
        matches_root: record.matches.map(|m| m.to_hex()),
        timings,
    }))
}

/// The receiver's result of a run: the matched subject pseudonyms (or only their count).
/// Only on the receiving department's node, and only to its own key.
#[utoipa::path(get, path = "/v1/policy-runs/{run}/result", tag = "policy",
    params(("run" = String, Path, description = "policy run id, 64 hex characters")),
    responses(
        (status = 200, body = PolicyResultBody),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 503, body = ErrorBody)),
    security(("weinong_signature" = [])))]
pub(crate) async fn result(
    State(app): State<Arc<App>>,
    Extension(caller): Extension<Caller>,
    ApiPath(run): ApiPath<String>,
) -> Result<Json<PolicyResultBody>, ApiError> {
    let id = run_id(&run)?;
    if !may_see_result(&app, &caller) {
        return Err(ApiError::forbidden(
            ErrorCode::Forbidden,
            "only this node's own key reads a policy result here; sign with the receiving department's node key",
        ));
    }
    let stored = app.shared.assess.policy_results.get(&id).map_err(|e| {
        ApiError::unavailable(ErrorCode::ResultStore, format!("policy result store: {e}"))
    })?;
    let Some(result) = stored else {
        return Err(ApiError::not_found(
            ErrorCode::NoRunResult,
            format!(
                "this node holds no result for policy run {id}: it is not the run's receiver, or the run has not completed (see GET /v1/policy-runs/{id})"
            ),
        ));
    };
    Ok(Json(PolicyResultBody {
        run: id.to_hex(),
        count: result.count,
        count_only: result.count_only,
        subjects: result.matches.iter().map(|p| p.to_hex()).collect(),
    }))
}
