//! The request bundle (`weinong-request-bundle/1`, served by
//! `GET /v1/requests/{id}/bundle`): one definition, shared by the node that writes it, the
//! CLI that fetches it and every verifier that reads it (`weinong-audit` re-exports it).
//! The requester's receipt is not a wire type: it lives in `weinong-audit`.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use weinong_ledger::bundle::BundleSet;

/// Format string of `GET /v1/requests/{id}/bundle`'s answer.
pub const REQUEST_BUNDLE_FORMAT: &str = "weinong-request-bundle/1";

/// A department's signature over the sealed share it gave the requester, as a request
/// bundle carries it: enough for an auditor to check which ciphertext each department
/// produced for the request (the auditor cannot open it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShareSignatureBody {
    /// MPC party: 0 civil affairs, 1 health, 2 medical insurance.
    pub party: u8,
    /// Key id of the signing department key, hex.
    pub signer: String,
    /// SM3 of the ciphertext, hex.
    pub ciphertext_sm3: String,
    /// SM2 signature r‖s, hex, over the message of
    /// [`SealedShareBody::signature`](crate::dto::SealedShareBody::signature).
    pub signature: String,
}

/// `GET /v1/requests/{id}/bundle`: every transaction of one assessment request's story,
/// each with its proof, for `weinong audit verify` to check offline
/// ([`REQUEST_BUNDLE_FORMAT`]).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestBundleBody {
    /// `weinong-request-bundle/1`.
    pub format: String,
    /// The request id, hex.
    pub request: String,
    /// The consortium's canonical genesis document, hex: the member set the proofs rest
    /// on derives from it (an auditor compares its SM3, the consortium id, with the one
    /// they know, or pins their own copy). A node always writes it; a bundle without it
    /// is verified against a genesis the auditor gives.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub genesis: Option<String>,
    /// The transactions: the request, the governance transaction that registered its
    /// model, every access, each consent an access cites and its withdrawal if recorded,
    /// and the result or failure; a `weinong-bundle-set/1`
    /// (ledger `bundle.rs`): per transaction a proof bundle against the block holding it,
    /// linked where near to one certified head with its co-signed tree head, and the
    /// header before that block.
    #[schema(value_type = Object)]
    pub transactions: BundleSet,
    /// The departments' signatures over the sealed output shares this node holds for the
    /// request (none for a request without shares here). Optional: bundles written before
    /// shares were signed have no such field.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shares: Vec<ShareSignatureBody>,
}

impl RequestBundleBody {
    /// Whether `text` is a request bundle, by its `format` alone (a bundle that then fails
    /// to parse is reported as a broken request bundle, not as some other file).
    pub fn is_one(text: &str) -> bool {
        #[derive(Deserialize)]
        struct Format {
            format: Option<String>,
        }
        serde_json::from_str::<Format>(text)
            .ok()
            .and_then(|f| f.format)
            .is_some_and(|f| f == REQUEST_BUNDLE_FORMAT)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bundle_is_told_by_its_format() {
        assert!(RequestBundleBody::is_one(
            r#"{"format":"weinong-request-bundle/1","anything":1}"#
        ));
        assert!(!RequestBundleBody::is_one(
            r#"{"format":"weinong-proof-bundle/1"}"#
        ));
        assert!(!RequestBundleBody::is_one("not json"));
        assert!(!RequestBundleBody::is_one(r#"{"format":7}"#));
    }
}
