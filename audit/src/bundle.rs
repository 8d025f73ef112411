//! The request bundle as a node writes it (`GET /v1/requests/{id}/bundle`,
//! `weinong-request-bundle/1`): the request id, the genesis (optional), the proofs of
//! every transaction of the request's story (`weinong-bundle-set/1`) and the departments'
//! share signatures. The one definition is the wire type in `weinong-api` (its wire types
//! only, which build for wasm32); this module names it for verifiers.

pub use weinong_api::bundle::{
    REQUEST_BUNDLE_FORMAT, RequestBundleBody as RequestBundle, ShareSignatureBody as ShareSignature,
};

/// Whether `text` is a request bundle (by its `format`).
pub fn is_request_bundle(text: &str) -> bool {
    RequestBundle::is_one(text)
}
