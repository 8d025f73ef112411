//! `weinong-audit` on a real request bundle: natively (`cargo test`) and under WebAssembly
//! (`scripts/wasm-test.sh`: wasm-bindgen-test-runner under Node) the report must equal
//! the committed native report, and a bundle with one byte of a transaction changed must
//! fail the same named check, with the same reason, as natively.
//!
//! Regenerate the native reports (`fixtures/report.json`, `fixtures/tampered.json`) after
//! a deliberate change of the report with
//! `WEINONG_WRITE_REPORT=1 cargo test --release --workspace --test fixture` (native only).

#![allow(
    unsafe_code,
    reason = "wasm_bindgen_test exports each test with #[unsafe(no_mangle)]"
)]
#![allow(clippy::unwrap_used, reason = "a test")]

use weinong_audit::{Check, Report};
use weinong_audit_wasm_test::{
    BUNDLE, NATIVE_REPORT, NATIVE_TAMPERED, TAMPERED, report_of, tampered,
};

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

/// The first failed check of each tampered copy.
fn tampered_failures() -> Vec<Check> {
    TAMPERED
        .iter()
        .map(|&i| report_of(&tampered(i)).first_failed().unwrap().clone())
        .collect()
}

#[cfg(not(target_arch = "wasm32"))]
#[test]
fn write_the_native_reports_when_asked() {
    if std::env::var_os("WEINONG_WRITE_REPORT").is_none() {
        return;
    }
    let dir = format!(
        "{}/tests/fixtures",
        std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR")
    );
    let report = serde_json::to_string_pretty(&report_of(BUNDLE)).unwrap() + "\n";
    std::fs::write(format!("{dir}/report.json"), report).unwrap();
    let failures = serde_json::to_string_pretty(&tampered_failures()).unwrap() + "\n";
    std::fs::write(format!("{dir}/tampered.json"), failures).unwrap();
}

#[test]
fn the_report_is_the_native_one() {
    let report = report_of(BUNDLE);
    let native: Report = serde_json::from_str(NATIVE_REPORT).unwrap();
    assert_eq!(report, native);
    assert!(report.holds(), "{:#?}", report.first_failed());
    // The whole story is there: proofs, the request, its accesses, the result, the receipt.
    for name in [
        "genesis",
        "proofs",
        "request",
        "model",
        "authorisation",
        "result",
        "receipt",
    ] {
        assert!(report.find(name).is_some(), "no {name} check");
    }
    assert_eq!(
        report
            .checks
            .iter()
            .filter(|c| c.name.starts_with("access "))
            .count(),
        2
    );
}

#[test]
fn a_changed_transaction_byte_fails_the_same_check() {
    let native: Vec<Check> = serde_json::from_str(NATIVE_TAMPERED).unwrap();
    let found = tampered_failures();
    assert_eq!(found, native);
    for failed in &found {
        assert_eq!(failed.name, "proofs", "{failed:?}");
        assert!(
            failed.line().starts_with("FAILED  proofs: check `"),
            "{}",
            failed.line()
        );
    }
}
