//! The request bundle as a node writes it (`GET /v1/requests/{id}/bundle`,
//! `weinong-request-bundle/1`): the request id, the genesis (optional), the proofs of
//! every transaction of the request's story (`weinong-bundle-set/1`) and the departments'
//! share signatures.

use serde::Deserialize;
use serde_json::Value;
use weinong_ledger::bundle::BundleSet;

/// Format string of a request bundle.
pub const REQUEST_BUNDLE_FORMAT: &str = "weinong-request-bundle/1";

/// A request bundle as the node writes it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestBundle {
    /// [`REQUEST_BUNDLE_FORMAT`].
    pub format: String,
    /// The request id, hex.
    pub request: String,
    /// The consortium's genesis, hex canonical bytes (absent when the node leaves it out).
    pub genesis: Option<String>,
    /// The proofs of the story's transactions.
    pub transactions: BundleSet,
    /// The departments' share signatures (absent in bundles of older nodes).
    #[serde(default)]
    pub shares: Vec<ShareSignature>,
}

/// One department's signature over the sealed share it gave the requester.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShareSignature {
    /// The MPC party, 0, 1 or 2.
    pub party: u8,
    /// The signer's key id, hex.
    pub signer: String,
    /// SM3 of the sealed share, hex.
    pub ciphertext_sm3: String,
    /// The SM2 signature r‖s, hex.
    pub signature: String,
}

/// Whether `text` is a request bundle (by its `format`).
pub fn is_request_bundle(text: &str) -> bool {
    serde_json::from_str::<Value>(text)
        .ok()
        .is_some_and(|v| v["format"] == REQUEST_BUNDLE_FORMAT)
}
