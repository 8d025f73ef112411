//! The requester's protocol under WebAssembly: three output shares that the three MPC
//! parties produced natively are decoded, summed and committed to, natively (`cargo test`)
//! and under wasm (`scripts/wasm-test.sh`); the result must equal the plaintext backend's
//! on the same inputs, and the receipt's commitment must be the one the native build
//! computes (pinned in `fixtures/shares-receipt.json`).
//!
//! Regenerate the shares after a deliberate change of the share format with
//! `WEINONG_WRITE_SHARES=1 cargo test --release --workspace --test requester` (native
//! only: it runs the three parties on threads).

#![allow(
    unsafe_code,
    reason = "wasm_bindgen_test exports each test with #[unsafe(no_mangle)]"
)]
#![allow(clippy::unwrap_used, reason = "a test")]

use weinong_audit::Receipt;
use weinong_audit_wasm_test::{reference_outputs, requester_result, shares_model};

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

/// The receipt a native build made of the fixture shares.
const NATIVE_RECEIPT: &str = include_str!("fixtures/shares-receipt.json");

#[cfg(not(target_arch = "wasm32"))]
#[test]
fn write_the_shares_when_asked() {
    use weinong_audit_wasm_test::{SHARES_LEN, SHARES_SEED};
    use weinong_mpc::model::sample::random_batch;
    use weinong_mpc::model::{Holder, PartyInputs, evaluate_party_for_requester};

    if std::env::var_os("WEINONG_WRITE_SHARES").is_none() {
        return;
    }
    let model = shares_model();
    let batch = random_batch(&model, SHARES_LEN, SHARES_SEED).unwrap();
    let shares = weinong_mpc::run_three(|party| {
        let own = PartyInputs::of(&model, &batch, Holder::ALL[party.id().index()]);
        evaluate_party_for_requester(party, &model, SHARES_LEN, &own)
    })
    .unwrap();
    let dir = format!(
        "{}/tests/fixtures",
        std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR")
    );
    let lines: Vec<String> = shares.iter().map(|s| hex::encode(s.to_bytes())).collect();
    std::fs::write(format!("{dir}/shares.txt"), lines.join("\n") + "\n").unwrap();
    // The receipt of the shares just written (the committed file must be regenerated too).
    let receipt = serde_json::to_string_pretty(&requester_result_of(&lines)).unwrap() + "\n";
    std::fs::write(format!("{dir}/shares-receipt.json"), receipt).unwrap();
}

/// [`requester_result`]'s receipt for shares not yet compiled in (the writer's).
#[cfg(not(target_arch = "wasm32"))]
fn requester_result_of(lines: &[String]) -> Receipt {
    use weinong_mpc::model::{OutputShare, reconstruct};
    let model = shares_model();
    let shares: Vec<OutputShare> = lines
        .iter()
        .map(|l| OutputShare::from_bytes(&hex::decode(l).unwrap()).unwrap())
        .collect();
    let outputs = reconstruct(&model, &shares).unwrap();
    assert_eq!(outputs, reference_outputs(&model));
    let names = model.outputs().iter().map(|o| o.name.clone()).collect();
    let rows = (0..weinong_audit_wasm_test::SHARES_LEN)
        .map(|r| outputs.row(r))
        .collect();
    Receipt::commit(
        &weinong_contracts::RequestId::from_bytes([0x19; 32]),
        &weinong_contracts::ModelId::from_bytes(model.id().0),
        names,
        rows,
        &[0x42; 32],
    )
    .unwrap()
    .0
}

#[test]
fn the_reconstruction_is_the_plaintext_result_and_the_commitment_the_native_one() {
    let model = shares_model();
    let (outputs, receipt) = requester_result(&model);
    assert_eq!(outputs, reference_outputs(&model));
    // Not all zeros: the fixture holds a real result.
    assert!(outputs.columns().iter().flatten().any(|v| *v != 0));
    let native: Receipt = serde_json::from_str(NATIVE_RECEIPT).unwrap();
    assert_eq!(receipt.commitment, native.commitment);
    assert_eq!(receipt.outputs, native.outputs);
}
