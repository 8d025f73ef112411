//! The shared half of the WebAssembly test of `weinong-audit` (`tests/fixture.rs`): the
//! fixture (a real request bundle, its genesis, the requester's receipt, and the report a
//! native build made of it) and the tampering, so the native run and the wasm run
//! (`scripts/wasm-test.sh`, under Node) check the same things.
//!
//! Owns nothing else; must not know files or the network (the fixture is compiled in).

#![forbid(unsafe_code)]

use weinong_audit::{PinnedGenesis, Receipt, Report, verify_request_bundle};

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
