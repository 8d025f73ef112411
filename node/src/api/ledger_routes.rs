//! Ledger reads: transactions, blocks, the certified head, proofs and bundles.

use std::sync::Arc;
use weinong_api::ErrorCode;

use axum::Json;
use axum::extract::State;
use weinong_ledger::TxHash;
use weinong_ledger::store::LedgerStore;

use super::App;
use super::dto::{
    BlockBody, BundleQuery, CertifiedHeadBody, ConsistencyBody, ConsistencyQuery, ErrorBody,
    InclusionBody, InclusionQuery, ProofBundleBody, TransactionBody,
};
use super::error::ApiError;
use super::extract::{ApiPath, ApiQuery, hex32};

fn tx_hash(s: &str) -> Result<TxHash, ApiError> {
    hex32("transaction hash", s).map(TxHash)
}

fn tip_height(store: &LedgerStore) -> Result<u64, ApiError> {
    store
        .tip()
        .map(|t| t.height)
        .ok_or_else(|| ApiError::not_found(ErrorCode::NoBlocks, "the ledger holds no block yet"))
}

fn height_param(s: &str) -> Result<u64, ApiError> {
    s.parse::<u64>().map_err(|_| {
        ApiError::bad_request(
            ErrorCode::BadHeight,
            format!("block height {s:?} is not a non-negative integer (or use /v1/blocks/latest)"),
        )
    })
}

/// A height at or below the tip, else 404 (the store reports a missing header as damage).
fn existing_height(store: &LedgerStore, height: u64) -> Result<u64, ApiError> {
    let tip = tip_height(store)?;
    if height > tip {
        return Err(ApiError::not_found(
            ErrorCode::NoSuchBlock,
            format!("block {height} does not exist; the tip is block {tip}"),
        ));
    }
    Ok(height)
}

fn block_at(store: &LedgerStore, height: u64) -> Result<BlockBody, ApiError> {
    let height = existing_height(store, height)?;
    let header = store.header(height)?;
    let certificate = store.certificate(height)?;
    Ok(BlockBody::new(&header, &certificate))
}

fn tx_not_found(hash: &TxHash) -> ApiError {
    ApiError::not_found(
        ErrorCode::NoSuchTransaction,
        format!(
            "transaction {hash} is not in this ledger (not submitted, refused, or not yet committed)"
        ),
    )
}

fn find(store: &LedgerStore, hash: &TxHash) -> Result<u64, ApiError> {
    store.find_transaction(hash).map_err(|e| match e {
        weinong_ledger::store::StoreError::NotFound(_) => tx_not_found(hash),
        other => other.into(),
    })
}

/// A committed transaction.
#[utoipa::path(get, path = "/v1/transactions/{hash}", tag = "ledger",
    params(("hash" = String, Path, description = "transaction hash, 64 hex characters")),
    responses(
        (status = 200, body = TransactionBody),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 503, body = ErrorBody)),
    security(("weinong_signature" = [])))]
pub(crate) async fn transaction(
    State(app): State<Arc<App>>,
    ApiPath(hash): ApiPath<String>,
) -> Result<Json<TransactionBody>, ApiError> {
    let hash = tx_hash(&hash)?;
    let replica = app.shared.ledger()?;
    let store = &replica.store;
    let index = find(store, &hash)?;
    let tx = store.transaction(index)?;
    let height = store.block_of(index)?;
    let body = tx.body();
    Ok(Json(TransactionBody {
        hash: hash.to_hex(),
        index,
        height,
        kind: body.kind.0,
        signer: body.signer.to_hex(),
        nonce: body.nonce,
        time_ms: body.time_ms,
        transaction: hex::encode(tx.as_bytes()),
    }))
}

/// A block's header and commit certificate.
#[utoipa::path(get, path = "/v1/blocks/{height}", tag = "ledger",
    params(("height" = u64, Path, description = "block height")),
    responses(
        (status = 200, body = BlockBody),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 503, body = ErrorBody)),
    security(("weinong_signature" = [])))]
pub(crate) async fn block(
    State(app): State<Arc<App>>,
    ApiPath(height): ApiPath<String>,
) -> Result<Json<BlockBody>, ApiError> {
    let height = height_param(&height)?;
    let replica = app.shared.ledger()?;
    block_at(&replica.store, height).map(Json)
}

/// The tip's header and commit certificate.
#[utoipa::path(get, path = "/v1/blocks/latest", tag = "ledger",
    responses(
        (status = 200, body = BlockBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "no block yet"),
        (status = 503, body = ErrorBody)),
    security(("weinong_signature" = [])))]
pub(crate) async fn latest_block(State(app): State<Arc<App>>) -> Result<Json<BlockBody>, ApiError> {
    let replica = app.shared.ledger()?;
    let tip = tip_height(&replica.store)?;
    block_at(&replica.store, tip).map(Json)
}

/// The latest certified head (`weinong-head/1`).
#[utoipa::path(get, path = "/v1/tree-head", tag = "ledger",
    responses(
        (status = 200, body = CertifiedHeadBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "no block yet"),
        (status = 503, body = ErrorBody)),
    security(("weinong_signature" = [])))]
pub(crate) async fn tree_head(
    State(app): State<Arc<App>>,
) -> Result<Json<CertifiedHeadBody>, ApiError> {
    let replica = app.shared.ledger()?;
    let tip = tip_height(&replica.store)?;
    Ok(Json(replica.store.certified_head(tip)?.into()))
}

/// A transaction's inclusion proof.
#[utoipa::path(get, path = "/v1/proofs/inclusion/{hash}", tag = "ledger",
    params(("hash" = String, Path, description = "transaction hash, 64 hex characters"), InclusionQuery),
    responses(
        (status = 200, body = InclusionBody),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 503, body = ErrorBody)),
    security(("weinong_signature" = [])))]
pub(crate) async fn inclusion_proof(
    State(app): State<Arc<App>>,
    ApiPath(hash): ApiPath<String>,
    ApiQuery(query): ApiQuery<InclusionQuery>,
) -> Result<Json<InclusionBody>, ApiError> {
    let hash = tx_hash(&hash)?;
    let replica = app.shared.ledger()?;
    let store = &replica.store;
    let index = find(store, &hash)?;
    let size = query.size.unwrap_or_else(|| store.log_size());
    if size <= index || size > store.log_size() {
        return Err(ApiError::bad_request(
            ErrorCode::BadSize,
            format!(
                "size {size} must be above the leaf index {index} and at most the log size {}",
                store.log_size()
            ),
        ));
    }
    let proof = store.inclusion_proof(index, size)?;
    Ok(Json(InclusionBody {
        tx: hash.to_hex(),
        leaf_index: index,
        tree_size: size,
        root: store.root_at(size)?.to_hex(),
        proof: proof.iter().map(hex::encode).collect(),
    }))
}

/// A consistency proof between two blocks' logs (`weinong-consistency-proof/1`).
#[utoipa::path(get, path = "/v1/proofs/consistency", tag = "ledger",
    params(ConsistencyQuery),
    responses(
        (status = 200, body = ConsistencyBody),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 503, body = ErrorBody)),
    security(("weinong_signature" = [])))]
pub(crate) async fn consistency_proof(
    State(app): State<Arc<App>>,
    ApiQuery(query): ApiQuery<ConsistencyQuery>,
) -> Result<Json<ConsistencyBody>, ApiError> {
    let replica = app.shared.ledger()?;
    let store = &replica.store;
    let to = match query.to_height {
        Some(h) => existing_height(store, h)?,
        None => tip_height(store)?,
    };
    if query.from_height > to {
        return Err(ApiError::bad_request(
            ErrorCode::BadRange,
            format!("from_height {} is above to_height {to}", query.from_height),
        ));
    }
    Ok(Json(
        store.consistency_between(query.from_height, to)?.into(),
    ))
}

/// A transaction's proof bundle (`weinong-proof-bundle/1`), checked before it is sent;
/// `weinong audit verify` checks it offline.
#[utoipa::path(get, path = "/v1/bundles/{hash}", tag = "ledger",
    params(("hash" = String, Path, description = "transaction hash, 64 hex characters"), BundleQuery),
    responses(
        (status = 200, body = ProofBundleBody),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 503, body = ErrorBody)),
    security(("weinong_signature" = [])))]
pub(crate) async fn bundle(
    State(app): State<Arc<App>>,
    ApiPath(hash): ApiPath<String>,
    ApiQuery(query): ApiQuery<BundleQuery>,
) -> Result<Json<ProofBundleBody>, ApiError> {
    let hash = tx_hash(&hash)?;
    let replica = app.shared.ledger()?;
    let store = &replica.store;
    find(store, &hash)?;
    let at = query
        .at_height
        .map(|h| existing_height(store, h))
        .transpose()?;
    Ok(Json(store.export_bundle(&hash, at)?.into()))
}
