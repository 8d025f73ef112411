//! `weinong-audit verify` on the real request bundle of `audit/wasm-test/tests/fixtures`:
//! the lines `weinong-audit`'s report gives, exit 0; with one transaction byte changed,
//! a `FAILED  proofs` line and exit 1; unreadable input, exit 2.

#![allow(clippy::unwrap_used, reason = "a test")]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use weinong_audit::{PinnedGenesis, Receipt, verify_request_bundle};

fn fixture(name: &str) -> PathBuf {
    Path::new(&std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"))
        .join("../audit/wasm-test/tests/fixtures")
        .join(name)
}

fn verify(bundle: &Path, extra: &[&Path]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_weinong-audit"));
    cmd.arg("verify").arg(bundle);
    if let [genesis, receipt] = extra {
        cmd.arg("--genesis")
            .arg(genesis)
            .arg("--receipt")
            .arg(receipt);
    }
    cmd.output().unwrap()
}

#[test]
fn a_real_bundle_prints_the_reports_lines() {
    let (bundle, genesis, receipt) = (
        fixture("bundle.json"),
        fixture("genesis.bin"),
        fixture("receipt.json"),
    );
    let out = verify(&bundle, &[&genesis, &receipt]);
    let printed = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{printed}");
    let name = genesis.display().to_string();
    let bytes = std::fs::read(&genesis).unwrap();
    let report = verify_request_bundle(
        &std::fs::read_to_string(&bundle).unwrap(),
        Some(PinnedGenesis {
            bytes: &bytes,
            name: &name,
        }),
        Some(&Receipt::from_json(&std::fs::read_to_string(&receipt).unwrap()).unwrap()),
    )
    .unwrap();
    assert_eq!(printed.lines().collect::<Vec<_>>(), report.lines());
    assert!(printed.contains("ok      receipt"), "{printed}");
}

#[test]
fn a_changed_transaction_fails_and_bad_input_is_an_input_error() {
    let tmp = tempfile::tempdir().unwrap();
    let changed = tmp.path().join("changed.json");
    std::fs::write(&changed, weinong_audit_wasm_test::tampered(3)).unwrap();
    let out = verify(&changed, &[]);
    let printed = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(1), "{printed}");
    assert!(printed.contains("FAILED  proofs: check `"), "{printed}");
    assert!(
        printed.ends_with("result: FAILED (a check above failed)\n"),
        "{printed}"
    );
    let missing = verify(&tmp.path().join("nope.json"), &[]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("nope.json"));
}
