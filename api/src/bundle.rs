//! What an auditor checks offline: the request bundle (`weinong-request-bundle/1`, served
//! by `GET /v1/requests/{id}/bundle`) and the requester's receipt
//! (`weinong-assessment-receipt/1`, written by `weinong assess`). One definition each,
//! shared by the node that writes a bundle, the CLI that writes a receipt, and every
//! verifier that reads them.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use weinong_ledger::bundle::BundleSet;

/// Format string of `GET /v1/requests/{id}/bundle`'s answer.
pub const REQUEST_BUNDLE_FORMAT: &str = "weinong-request-bundle/1";

/// Format string of a receipt file.
pub const RECEIPT_FORMAT: &str = "weinong-assessment-receipt/1";

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

/// What a receipt file holds (`weinong assess` writes it for the requester, mode 0600: it
/// is health data): enough to recompute the result commitment on the ledger, so the care
/// home can later prove to an auditor what it was told
/// (`weinong audit verify BUNDLE --receipt FILE`).
///
/// Read leniently (a verifier accepts a receipt without `format`, and ignores fields it
/// does not know: only the values that open the commitment matter).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    /// [`RECEIPT_FORMAT`] (absent in hand-written receipts).
    #[serde(default)]
    pub format: String,
    /// Request id, hex.
    pub request: String,
    /// Model id, hex.
    pub model: String,
    /// Subjects in the result.
    pub len: u32,
    /// The model's output names, in order.
    pub output_names: Vec<String>,
    /// One row of outputs per subject, each in the order of `output_names`.
    pub outputs: Vec<Vec<i64>>,
    /// The commitment nonce, hex (keep it secret: with it the result can be confirmed).
    pub nonce: String,
    /// The commitment recorded on the ledger, hex.
    pub commitment: String,
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

    #[test]
    fn a_receipt_round_trips_and_needs_its_values_only() {
        let r = Receipt {
            format: RECEIPT_FORMAT.to_owned(),
            request: "ab".repeat(32),
            model: "cd".repeat(32),
            len: 1,
            output_names: vec!["score".into()],
            outputs: vec![vec![-3]],
            nonce: "00".repeat(32),
            commitment: "11".repeat(32),
        };
        let text = serde_json::to_string(&r).unwrap();
        assert_eq!(serde_json::from_str::<Receipt>(&text).unwrap(), r);
        let bare = text.replacen(&format!(r#""format":"{RECEIPT_FORMAT}","#), "", 1);
        assert_ne!(bare, text);
        assert_eq!(serde_json::from_str::<Receipt>(&bare).unwrap().format, "");
        let no_nonce = text.replacen(r#""nonce":"#, r#""other":"#, 1);
        assert!(serde_json::from_str::<Receipt>(&no_nonce).is_err());
    }
}
