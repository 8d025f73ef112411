//! The OpenAPI document: every route, its parameters, bodies and the error shape, and the
//! request-signature scheme.

use std::sync::OnceLock;

use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::access::Access;
use super::{
    BODY_BYTES_MAX, MAX_CLOCK_SKEW_MS, SUBMIT_TXS_MAX, assessment_routes, audit_routes, dto,
    ledger_routes, ops, policy_routes, proposal_routes, pseudonym_routes, state_routes, submit,
};

/// The document's source.
#[derive(OpenApi)]
#[openapi(
    info(title = "Weinong node API", version = "1"),
    paths(
        submit::submit,
        ledger_routes::transaction,
        ledger_routes::block,
        ledger_routes::latest_block,
        ledger_routes::tree_head,
        ledger_routes::inclusion_proof,
        ledger_routes::consistency_proof,
        ledger_routes::bundle,
        state_routes::consent,
        state_routes::history,
        assessment_routes::assessment,
        audit_routes::request_bundle,
        audit_routes::subject_accesses,
        state_routes::subject_consents,
        state_routes::key,
        state_routes::governance,
        pseudonym_routes::evaluate,
        policy_routes::policies,
        policy_routes::runs,
        policy_routes::run,
        policy_routes::result,
        proposal_routes::list,
        proposal_routes::post,
        ops::healthz,
        ops::readyz,
        ops::metrics,
        ops::openapi_json,
        ops::node,
    ),
    components(schemas(
        dto::ErrorBody, weinong_api::ErrorCode, weinong_api::RejectionBody,
        weinong_api::RejectionCode, dto::SubmitRequest, dto::SubmitResponse, dto::OutcomeBody,
        dto::TransactionBody, dto::BlockBody, dto::MemberSignatureBody,
        dto::CertifiedHeadBody, dto::InclusionBody, dto::ConsistencyBody,
        dto::ProofBundleBody, dto::ConsentBody, dto::HistoryBody, dto::RequestEventBody, dto::BatchBody,
        dto::KeyBody, dto::GovernanceBody, dto::HealthBody, dto::AssessmentBody,
        dto::SealedShareBody,
        dto::ShareSignatureBody,
        dto::RequestBundleBody,
        dto::SubjectAccessesBody, dto::SubjectConsentsBody, dto::AccessBody, dto::NodeBody,
        dto::PseudonymEvaluateRequest, dto::PseudonymEvaluateResponse,
        dto::ProposalPostRequest, dto::PendingProposalBody, dto::ProposalsBody,
        dto::PoliciesBody, dto::PolicyBody, dto::PolicyRunsBody, dto::PolicyRunSummaryBody,
        dto::PolicyRunBody, dto::RunAccessBody, dto::RunTimingsBody, dto::PolicyInclusionBody, dto::PolicyResultBody,
    )),
    modifiers(&Signing),
)]
struct ApiDoc;

/// Adds the signature scheme, the limits and the role table to the document.
struct Signing;

impl Modify for Signing {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "weinong_signature",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "x-weinong-signature",
                "SM2 signature r‖s (hex) over \"WNRQ\" ‖ 0x02 ‖ consortium[32] ‖ node_key_id[32] ‖ len:u32 ‖ method ‖ len:u32 ‖ path_and_query ‖ SM3(body) ‖ time_ms:u64 ‖ key_id[32] (big-endian), with headers x-weinong-key (key id hex), x-weinong-time (ms since the Unix epoch), x-weinong-consortium and x-weinong-node (the consortium id and node key id signed for, hex; GET /v1/node names them)",
            ))),
        );
        let roles = [
            (Access::Submit, "POST /v1/transactions"),
            (
                Access::Ledger,
                "GET /v1/transactions, /v1/blocks, /v1/tree-head, /v1/proofs, /v1/bundles",
            ),
            (Access::Consents, "GET /v1/consents"),
            (
                Access::RequestHistory,
                "GET /v1/requests/{id}/history, /v1/assessments/{id} (institutions: own requests only)",
            ),
            (
                Access::RequestBundle,
                "GET /v1/requests/{id}/bundle (institutions: own requests only)",
            ),
            (
                Access::SubjectAccesses,
                "GET /v1/subjects/{pseudonym}/accesses",
            ),
            (
                Access::SubjectConsents,
                "GET /v1/subjects/{pseudonym}/consents (an institution: its own consents only)",
            ),
            (
                Access::Pseudonyms,
                "POST /v1/pseudonyms/evaluate (rate-limited per key; 429 with Retry-After)",
            ),
            (Access::Account, "GET /v1/keys, /v1/governance"),
            (Access::Proposals, "GET /v1/proposals, POST /v1/proposals"),
            (
                Access::PolicyRuns,
                "GET /v1/policies, /v1/policy-runs, /v1/policy-runs/{run} (and /result: the receiving node's own key only)",
            ),
        ]
        .iter()
        .map(|(a, routes)| format!("- {routes}: {}", a.role_list()))
        .collect::<Vec<_>>()
        .join("\n");
        doc.info.description = Some(format!(
            "Every /v1 request but GET /v1/node is signed (security scheme `weinong_signature`) for this node and consortium; 401 for a missing, malformed, unknown-key, wrong, other-node, other-consortium, stale (over {MAX_CLOCK_SKEW_MS} ms from the node's clock, or before the node started) or replayed signature; 429 when a key has its share of the replay cache; 503 overloaded (with Retry-After) when the node handles its limit of requests at once; 403 when the key's roles at the tip's block time do not allow the route.\n\nRoles per route:\n{roles}\n\nRequest bodies are limited to {BODY_BYTES_MAX} bytes (413) and {SUBMIT_TXS_MAX} transactions per submission. Every error is JSON {{\"code\": \"snake_case\", \"number\": n, \"message\": \"...\"}} (schema ErrorBody): decide on the code (schema ErrorCode: stable names and numbers), never on the message; a contract's refusal of a submitted transaction is typed (schema RejectionBody: code, fields, message)."
        ));
    }
}

/// The document as a JSON value.
pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// The document as JSON text, built once.
pub fn document_json() -> String {
    static TEXT: OnceLock<String> = OnceLock::new();
    TEXT.get_or_init(|| {
        document()
            .to_json()
            .unwrap_or_else(|e| format!("{{\"error\":\"openapi serialisation failed: {e}\"}}"))
    })
    .clone()
}
