//! The shared half of the WebAssembly tests: of `weinong-audit` (`tests/fixture.rs`: a
//! real request bundle, its genesis, the requester's receipt, the report a native build
//! made of it, and the tampering) and of the requester's protocol (`tests/requester.rs`:
//! three output shares the three MPC parties produced natively, reconstructed and committed
//! to), so the native run and the wasm run (`scripts/wasm-test.sh`, under Node) check the
//! same things.
//!
//! Owns nothing else; must not know files or the network (the fixture is compiled in).

#![forbid(unsafe_code)]

use weinong_audit::{PinnedGenesis, Receipt, Report, verify_request_bundle};
use weinong_contracts::{ModelId, RequestId};
use weinong_mpc::model::sample::random_batch;
use weinong_mpc::model::{
    ADMISSION_V1, Model, OutputBatch, OutputShare, compile, evaluate_plain, reconstruct,
};

/// The request bundle (`weinong-request-bundle/1`), exported from a ledger store of an
/// honest story (`apps/tests/audit_request.rs`, `write_the_wasm_fixture`).
pub const BUNDLE: &str = include_str!("../tests/fixtures/bundle.json");
/// The consortium's genesis, canonical bytes.
pub const GENESIS: &[u8] = include_bytes!("../tests/fixtures/genesis.bin");
/// The requester's receipt of the result the bundle records.
pub const RECEIPT: &str = include_str!("../tests/fixtures/receipt.json");
/// The report a native build made of [`BUNDLE`] with [`GENESIS`] and [`RECEIPT`].
pub const NATIVE_REPORT: &str = include_str!("../tests/fixtures/report.json");
/// The failed check a native build found in each [`TAMPERED`] copy, as a JSON list.
pub const NATIVE_TAMPERED: &str = include_str!("../tests/fixtures/tampered.json");
/// The transactions [`tampered`] changes, by index in the bundle.
pub const TAMPERED: [usize; 2] = [0, 3];

/// The report of `bundle` against the fixture's genesis and receipt.
pub fn report_of(bundle: &str) -> Report {
    let receipt = Receipt::from_json(RECEIPT).expect("the fixture receipt reads");
    verify_request_bundle(
        bundle,
        Some(PinnedGenesis {
            bytes: GENESIS,
            name: "genesis.bin",
        }),
        Some(&receipt),
    )
    .expect("the fixture bundle is readable")
}

/// [`BUNDLE`] with one byte of its `index`th transaction changed (a byte in the middle
/// of the canonical transaction, flipped).
pub fn tampered(index: usize) -> String {
    let mut bundle: serde_json::Value = serde_json::from_str(BUNDLE).expect("the fixture is JSON");
    let tx = &mut bundle["transactions"]["entries"][index]["bundle"]["transaction"];
    let mut bytes = hex::decode(tx.as_str().expect("a transaction")).expect("hex");
    let at = bytes.len() / 2;
    bytes[at] ^= 0x01;
    *tx = serde_json::Value::String(hex::encode(bytes));
    serde_json::to_string_pretty(&bundle).expect("serialises")
}

/// Three output shares of `admission-v1` over [`SHARES_LEN`] subjects of the seeded batch
/// ([`SHARES_SEED`]), hex, one per line in party order: what the three parties gave the
/// requester (written natively by `tests/requester.rs` with `WEINONG_WRITE_SHARES=1`).
pub const SHARES: &str = include_str!("../tests/fixtures/shares.txt");
/// The seed of the inputs behind [`SHARES`] (`weinong_mpc::model::sample::random_batch`).
pub const SHARES_SEED: u64 = 19;
/// Subjects behind [`SHARES`].
pub const SHARES_LEN: usize = 8;

/// The model of [`SHARES`].
pub fn shares_model() -> Model {
    compile(ADMISSION_V1).expect("the shipped model compiles")
}

/// The plaintext reference of [`SHARES`]: the model evaluated in the clear on the seeded
/// inputs.
pub fn reference_outputs(model: &Model) -> OutputBatch {
    let batch = random_batch(model, SHARES_LEN, SHARES_SEED).expect("seeded inputs");
    evaluate_plain(model, &batch)
}

/// What the requester does with the three shares it opened: decode each, sum them (each
/// checked against the model and the others), and commit to the result for the ledger;
/// the outputs and the receipt.
pub fn requester_result(model: &Model) -> (OutputBatch, Receipt) {
    let shares: Vec<OutputShare> = SHARES
        .lines()
        .map(|line| OutputShare::from_bytes(&hex::decode(line).expect("hex")).expect("a share"))
        .collect();
    let outputs = reconstruct(model, &shares).expect("the three shares reconstruct");
    let rows = (0..SHARES_LEN).map(|row| outputs.row(row)).collect();
    let names = model.outputs().iter().map(|o| o.name.clone()).collect();
    let (receipt, _) = Receipt::commit(
        &RequestId::from_bytes([0x19; 32]),
        &ModelId::from_bytes(model.id().0),
        names,
        rows,
        &[0x42; 32],
    )
    .expect("a few subjects");
    (outputs, receipt)
}
