//! Pseudonyms without handing out the pepper, on real processes: `weinong devnet` (three
//! department nodes with synthetic data) and the registrar's and care home's CLIs.
//!
//! The registrar records a consent and the care home requests an admission assessment,
//! both naming the resident by ID number: each CLI gets the subject pseudonym from a
//! department node by oblivious PRF (`POST /v1/pseudonyms/evaluate`), and the request
//! succeeds (the result is fetched, opened and committed). The same exchange done by hand
//! with the care home's key gives the manifest's pseudonym. Then the devnet directory,
//! every file of it (keystores, password, manifest, genesis, synthetic files, node
//! configs, ledgers, stores), is searched for the consortium pepper and for the OPRF key
//! derived from it, raw, hex (either case) and base64: neither is anywhere, so a care home
//! that copies any of the devnet's files still cannot compute a pseudonym itself. Last,
//! the care home's key is hammered with full batches until the node answers 429 with
//! `Retry-After`, and `/metrics` counts exactly the evaluations answered and the refusal.

mod common;

use base64::Engine as _;
use common::devnet::{DevnetProcess as Net, signed};
use common::{contains, files_under};
use weinong_keys::{
    EvaluatedId, KeyPair, OPRF_KEY_INFO, PseudonymBlinding, ResidentId, SubjectPseudonym,
    open_keystore,
};

const BASE_PORT: u16 = 19_100;

/// Actor `name`'s key pair, opened with the devnet password.
fn actor_key(net: &Net, name: &str) -> KeyPair {
    let text = std::fs::read_to_string(net.actor_keystore(name)).expect("keystore");
    open_keystore(&text, net.password.as_bytes()).expect("the devnet password opens it")
}

/// A counter of node `i`'s `/metrics`, which must answer.
fn metric(net: &Net, i: usize, name: &str) -> u64 {
    let (status, _, body) = http(&net.addr(i), "GET", "/metrics", &[], b"");
    assert_eq!(status, 200, "{body}");
    body.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {name} in /metrics:\n{body}"))
}

/// One HTTP/1.1 request over a fresh connection: (status, head, body).
fn http(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> (u16, String, String) {
    common::devnet::http_with_head(addr, method, path, headers, body).expect("HTTP request")
}

/// A signed `POST /v1/pseudonyms/evaluate` of `blinded` (hex elements) by `key`.
fn evaluate(net: &Net, key: &KeyPair, blinded: &[String]) -> (u16, String, String) {
    let body = serde_json::to_vec(&serde_json::json!({ "blinded": blinded })).expect("JSON");
    let path = "/v1/pseudonyms/evaluate";
    http(
        &net.addr(0),
        "POST",
        path,
        &signed(&net.addr(0), key, "POST", path, &body),
        &body,
    )
}

/// The ways a 32-byte secret could be written down: raw, hex in either case, base64.
fn spellings(secret: &[u8]) -> Vec<Vec<u8>> {
    let hex = hex::encode(secret);
    vec![
        secret.to_vec(),
        hex.clone().into_bytes(),
        hex.to_uppercase().into_bytes(),
        base64::engine::general_purpose::STANDARD
            .encode(secret)
            .into_bytes(),
    ]
}

#[test]
fn a_care_home_gets_pseudonyms_by_oprf_and_no_devnet_file_holds_the_pepper_or_key() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path().join("devnet");
    let net = Net::start(&dir, BASE_PORT, &["--people", "300"]);
    let (id, subject) = net.example();
    let receipt = tmp.path().join("receipt.json");
    let before = metric(&net, 0, "weinong_pseudonym_evaluations_total");

    // The registrar records the consent and the care home requests the assessment, each
    // naming the resident by ID number only (no --pepper-file: there is none to give).
    let grant = net.cli_as(
        "registrar",
        0,
        &[
            "consent",
            "grant",
            "--subject",
            &id,
            "--grantee",
            net.actor("care-home-1")["key_id"].as_str().expect("key id"),
            "--purpose",
            "admission_assessment",
            "--categories",
            "ability_assessment,vital_signs,falls,screens,insurance_claims",
            "--days",
            "30",
        ],
    );
    assert!(grant.status.success(), "consent grant failed");
    let request = net.cli_as(
        "care-home-1",
        0,
        &[
            "assess",
            "request",
            "--subject",
            &id,
            "--model",
            "admission-v1",
            "--wait",
            "--timeout-s",
            "120",
            "--receipt",
            &receipt.display().to_string(),
        ],
    );
    assert!(
        request.status.success(),
        "the care home's assessment request failed"
    );
    let receipt: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&receipt).expect("receipt"))
            .expect("receipt JSON");
    assert_eq!(receipt["len"], 1, "{receipt}");
    let outputs = receipt["outputs"][0]
        .as_array()
        .expect("one row of outputs");
    assert!(
        !outputs.is_empty()
            && outputs.len() == receipt["output_names"].as_array().map_or(0, Vec::len),
        "no result in the receipt: {receipt}"
    );
    // Both CLIs asked the node: one evaluation each.
    assert_eq!(
        metric(&net, 0, "weinong_pseudonym_evaluations_total"),
        before + 2
    );
    // The consent the registrar recorded is under the manifest's pseudonym.
    let history = net.cli_as(
        "registrar",
        0,
        &["consent", "history", "--subject-pseudonym", &subject],
    );
    assert!(history.status.success(), "consent history failed");
    assert!(
        String::from_utf8_lossy(&history.stdout).contains("recorded accesses"),
        "no history"
    );

    // The exchange by hand, as the care home: blind, ask the node, unblind.
    let home = actor_key(&net, "care-home-1");
    let rid = ResidentId::parse(&id).expect("valid ID");
    let (state, blinded) = PseudonymBlinding::blind(&rid).expect("blind");
    let (status, _, body) = evaluate(&net, &home, &[hex::encode(blinded.to_bytes())]);
    assert_eq!(status, 200, "{body}");
    let answer: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    let evaluated = hex::decode(answer["evaluated"][0].as_str().expect("element")).expect("hex");
    let pseudonym: SubjectPseudonym = state
        .finish(&EvaluatedId::from_bytes(&evaluated).expect("32 bytes"))
        .expect("unblind");
    assert_eq!(pseudonym.to_hex(), subject);

    // The pepper and the OPRF key are in no file of the devnet but sealed.
    let secrets = net.data_secrets(0);
    for i in 1..3 {
        assert_eq!(
            net.data_secrets(i).pepper.expose_bytes(),
            secrets.pepper.expose_bytes(),
            "one consortium pepper"
        );
    }
    let oprf_key = voprf::OprfServer::<voprf::Ristretto255>::new_from_seed(
        secrets.pepper.expose_bytes(),
        OPRF_KEY_INFO,
    )
    .expect("derive the key")
    .serialize();
    let mut needles = spellings(secrets.pepper.expose_bytes());
    needles.extend(spellings(&oprf_key));
    let files = files_under(&dir);
    assert!(!dir.join("pepper.hex").exists());
    assert!(
        files
            .iter()
            .any(|(p, _)| p.ends_with("keys/care-home-1.keystore.json")),
        "the care home's keystore is among the files searched"
    );
    // The search can find what is there: the manifest holds the example's pseudonym.
    assert!(
        files
            .iter()
            .any(|(p, b)| p.ends_with("devnet.json") && contains(b, subject.as_bytes())),
        "the search finds a known value"
    );
    assert!(files.len() > 20, "{} files", files.len());
    for (path, bytes) in &files {
        for needle in &needles {
            assert!(
                !contains(bytes, needle),
                "{} holds the consortium pepper or the OPRF key",
                path.display()
            );
        }
    }

    // The care home's evaluation budget: full batches pass until the bucket is spent, then
    // 429 with Retry-After, and /metrics counts what was answered and the refusal.
    let evaluations = metric(&net, 0, "weinong_pseudonym_evaluations_total");
    let refused = metric(&net, 0, "weinong_pseudonym_rate_limited_total");
    let batch = vec![hex::encode(blinded.to_bytes()); 1000];
    let mut answered = 0u64;
    let mut limited = None;
    for _ in 0..20 {
        let (status, head, body) = evaluate(&net, &home, &batch);
        match status {
            200 => answered += 1000,
            429 => {
                limited = Some((head, body));
                break;
            }
            other => panic!("unexpected status {other}: {body}"),
        }
    }
    let (head, body) = limited.expect("the node never answered 429");
    assert!(answered >= 1000, "{answered} evaluations before the limit");
    let retry: u64 = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("retry-after")
                .then(|| v.trim().parse().ok())
                .flatten()
        })
        .unwrap_or_else(|| panic!("no Retry-After:\n{head}"));
    assert!(retry >= 1, "Retry-After {retry}");
    let body: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(body["code"], "rate_limited", "{body}");
    assert_eq!(
        metric(&net, 0, "weinong_pseudonym_evaluations_total"),
        evaluations + answered
    );
    assert_eq!(
        metric(&net, 0, "weinong_pseudonym_rate_limited_total"),
        refused + 1
    );
    // Another key's budget is its own: the registrar is still answered.
    let (status, _, body) = evaluate(
        &net,
        &actor_key(&net, "registrar"),
        &[hex::encode(blinded.to_bytes())],
    );
    assert_eq!(status, 200, "{body}");
}
