//! `weinong tx` without a node: governance collected from files by two admins and signed
//! into a transaction file that `tx submit` would send, checked by decoding it as the
//! contracts do; and usage errors that name what is missing.

use std::process::Output;

use weinong_contracts::{Call, Change, Governance, kinds};
use weinong_keys::{keystore_public_key, sm3_digest};
use weinong_ledger::{Hash32, Transaction};

mod common;

use common::{input_error, ok};

const PASSWORD: &str = "correct horse battery staple";

fn weinong(args: &[&str]) -> Output {
    common::output(
        common::weinong()
            .args(args)
            .env("WEINONG_KEY_PASSWORD", PASSWORD)
            .env_remove("WEINONG_NODE"),
    )
}

/// `weinong tx --node <node> --key <key> <args>`.
fn tx(node: &str, key: &str, args: &[&str]) -> Output {
    let mut all = vec!["tx", "--node", node, "--key", key];
    all.extend_from_slice(args);
    weinong(&all)
}

#[test]
fn governance_from_files_signs_a_transaction_with_every_approval() {
    let dir = tempfile::tempdir().expect("temp dir");
    let p = |name: &str| -> String { dir.path().join(name).to_string_lossy().into_owned() };
    for name in ["a1", "a2", "target"] {
        ok(&weinong(&["keys", "new", "--out", &p(name)]));
    }
    let consortium = hex::encode(sm3_digest(b"a consortium"));
    let proposal = p("change.json");
    ok(&weinong(&[
        "tx",
        "governance",
        "propose",
        "--out",
        &proposal,
        "--consortium",
        &consortium,
        "--seq",
        "7",
        "bind-role",
        "--public",
        &p("target"),
        "--role",
        "institution",
        "--valid-from",
        "1000",
    ]));
    let approve =
        |admin: &str| weinong(&["tx", "--key", &p(admin), "governance", "approve", &proposal]);
    ok(&approve("a1"));
    input_error(&approve("a1"), "already approved");
    ok(&approve("a2"));
    let tx_file = p("gov.tx");
    ok(&weinong(&[
        "tx",
        "--key",
        &p("a1"),
        "governance",
        "submit",
        &proposal,
        "--out",
        &tx_file,
        "--nonce",
        "42",
    ]));

    let public = |name: &str| {
        keystore_public_key(&std::fs::read_to_string(p(name)).expect("keystore"))
            .expect("public key")
    };
    let hex_tx = std::fs::read_to_string(&tx_file).expect("tx file");
    let tx = Transaction::decode(&hex::decode(hex_tx.trim()).expect("hex")).expect("tx");
    tx.verify(&public("a1"))
        .expect("signed by the submitting admin");
    assert_eq!((tx.body().kind, tx.body().nonce), (kinds::GOVERNANCE, 42));
    let Call::Governance(g) = Call::decode(tx.body().kind, &tx.body().payload).expect("payload")
    else {
        panic!("not governance");
    };
    let expected = Change::BindRole {
        key: public("target"),
        role: weinong_contracts::Role::Institution,
        valid_from: 1000,
        valid_until: None,
    };
    assert_eq!((g.seq, &g.change), (7, &expected));
    let approved = Governance::approved_bytes(
        &Hash32(
            hex::decode(&consortium)
                .expect("hex")
                .try_into()
                .expect("32"),
        ),
        7,
        &expected,
    );
    let mut approvers: Vec<_> = g.approvals.iter().map(|a| a.admin).collect();
    let mut want = vec![public("a1").key_id(), public("a2").key_id()];
    want.sort();
    approvers.sort();
    assert_eq!(approvers, want);
    for a in &g.approvals {
        let key = [public("a1"), public("a2")]
            .into_iter()
            .find(|k| k.key_id() == a.admin)
            .expect("an approver");
        key.verify(&approved, &a.signature)
            .expect("approval verifies");
    }
}

#[test]
fn missing_node_key_and_bad_input_are_named() {
    let nowhere = "http://127.0.0.1:9";
    input_error(&weinong(&["tx", "head"]), "--node");
    input_error(&weinong(&["tx", "--node", nowhere, "head"]), "--key");
    let dir = tempfile::tempdir().expect("temp dir");
    let ks_path = dir.path().join("k");
    let ks = common::p(&ks_path);
    ok(&weinong(&["keys", "new", "--out", ks]));
    // https:// without the consortium CA is refused before any connection, naming the
    // variable that fixes it; another scheme is named.
    input_error(
        &tx("https://example.invalid", ks, &["head"]),
        "WEINONG_CA_CERT",
    );
    input_error(&tx("ftp://example.invalid", ks, &["head"]), "ftp://");
    for args in [
        &["get", "xyz"][..],
        &["consent", "status", "xyz"],
        &["history", "xyz"],
    ] {
        input_error(&tx(nowhere, ks, args), "64 hex");
    }
    // Nothing listens on port 9 (discard): the error says the node did not answer, and the
    // status is "could not answer now" (4), not an input error.
    let unreachable = tx(nowhere, ks, &["head"]);
    let err = String::from_utf8_lossy(&unreachable.stderr);
    assert_eq!(unreachable.status.code(), Some(4), "stderr: {err}");
    assert!(err.contains("no answer from the node"), "{err}");
    let junk = dir.path().join("junk.tx");
    std::fs::write(&junk, "00ff\n").expect("write");
    input_error(
        &tx(nowhere, ks, &["submit", common::p(&junk)]),
        "not a signed transaction",
    );
}

#[test]
fn a_model_registration_declares_exactly_its_inputs_categories() {
    let dir = tempfile::tempdir().expect("temp dir");
    let p = |name: &str| -> String { dir.path().join(name).to_string_lossy().into_owned() };
    let toml = format!(
        "{}/../mpc/models/admission-v1.toml",
        std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR")
    );
    let checked = ok(&weinong(&[
        "model",
        "check",
        &toml,
        "--canonical",
        &p("spec"),
    ]));
    assert!(
        checked.contains("health: vital_signs,falls,screens"),
        "{checked}"
    );
    let consortium = hex::encode(sm3_digest(b"a consortium"));
    let proposals = std::cell::Cell::new(0u32);
    let propose = |spec: &str, categories: Option<&str>| {
        proposals.set(proposals.get() + 1);
        let out = p(&format!("model-{}.json", proposals.get()));
        let mut args = vec![
            "tx",
            "governance",
            "propose",
            "--out",
            &out,
            "--consortium",
            &consortium,
            "--seq",
            "0",
            "register-model",
            "--spec",
            spec,
        ];
        if let Some(c) = categories {
            args.extend(["--categories", c]);
        }
        weinong(&args)
    };
    // Omitting a category an input reads (screens) is refused before anything is signed.
    input_error(
        &propose(
            &p("spec"),
            Some("ability_assessment,vital_signs,falls,insurance_claims"),
        ),
        "a registration must declare exactly its inputs' categories",
    );
    // So is adding one no input reads, and a spec that is not canonical bytes.
    input_error(
        &propose(
            &p("spec"),
            Some("ability_assessment,vital_signs,falls,screens,insurance_claims,medications"),
        ),
        "differ from the categories model admission-v1 reads",
    );
    input_error(&propose(&toml, None), "not a canonical model spec");
    // Exactly the inputs' categories, or none named: accepted, the derived set printed.
    let out = ok(&propose(
        &p("spec"),
        Some("ability_assessment,vital_signs,falls,screens,insurance_claims"),
    ));
    assert!(
        out.contains(
            "categories {ability assessment, vital signs, falls, screens, insurance claims}"
        ),
        "{out}"
    );
    ok(&propose(&p("spec"), None));
}
