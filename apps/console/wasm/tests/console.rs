//! The console's WebAssembly half, natively: a keystore opens only with its password and
//! wipes the password; signatures verify under the node's rule (and fail for anything
//! else); a real bundle's report equals the native audit's, and a changed byte fails the
//! same named check.

#![allow(clippy::unwrap_used, reason = "a test")]

use weinong_audit::{Check, Report};
use weinong_audit_wasm_test::{
    BUNDLE, GENESIS, NATIVE_REPORT, NATIVE_TAMPERED, RECEIPT, TAMPERED, tampered,
};
use weinong_console_wasm::{ConsoleError, ConsoleKey, verify_bundle};
use weinong_keys::{
    KDF_ITERATIONS_MIN, KeyId, KeyPair, RequestScope, RequestSignature,
    seal_keystore_with_iterations, verify_request,
};

fn keystore(password: &str) -> (KeyPair, String) {
    let key = KeyPair::generate();
    let text =
        seal_keystore_with_iterations(&key, password.as_bytes(), KDF_ITERATIONS_MIN).unwrap();
    (key, text)
}

#[test]
fn a_keystore_opens_with_its_password_only_and_the_password_is_wiped() {
    let (key, text) = keystore("correct horse");
    let mut password = b"correct horse".to_vec();
    let opened = ConsoleKey::open(&text, &mut password).unwrap();
    assert_eq!(opened.key_id(), key.key_id());
    assert!(
        password.iter().all(|&b| b == 0),
        "the password bytes are wiped"
    );

    let mut wrong = b"correct horsf".to_vec();
    let e = ConsoleKey::open(&text, &mut wrong).err().unwrap();
    assert!(matches!(e, ConsoleError::WrongPassword), "{e}");
    assert_eq!(e.code(), "wrong_password");
    assert!(wrong.iter().all(|&b| b == 0));

    for junk in ["", "{}", "not json", &text[..text.len() / 2]] {
        let e = ConsoleKey::open(junk, &mut b"x".to_vec()).err().unwrap();
        assert_eq!(e.code(), "not_a_keystore", "{junk:?}: {e}");
    }
}

#[test]
fn signatures_verify_under_the_nodes_rule_and_only_for_what_was_signed() {
    let (key, text) = keystore("pw");
    let opened = ConsoleKey::open(&text, &mut b"pw".to_vec()).unwrap();
    let scope = RequestScope {
        consortium: [7; 32],
        node: KeyId::from_bytes([9; 32]),
    };
    let headers = opened
        .sign(
            &hex::encode(scope.consortium),
            &scope.node.to_hex(),
            "POST",
            "/v1/transactions",
            b"{\"a\":1}",
            1_765_000_000_000,
        )
        .unwrap()
        .0;
    let value = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .unwrap()
    };
    let signature = RequestSignature::from_headers(
        value("x-weinong-key"),
        value("x-weinong-time"),
        value("x-weinong-signature"),
        value("x-weinong-consortium"),
        value("x-weinong-node"),
    )
    .unwrap();
    let public = key.public_key();
    verify_request(
        public,
        &scope,
        "POST",
        "/v1/transactions",
        b"{\"a\":1}",
        &signature,
    )
    .unwrap();
    // Another body, path or node: refused.
    assert!(
        verify_request(
            public,
            &scope,
            "POST",
            "/v1/transactions",
            b"{\"a\":2}",
            &signature
        )
        .is_err()
    );
    assert!(
        verify_request(
            public,
            &scope,
            "POST",
            "/v1/transaction",
            b"{\"a\":1}",
            &signature
        )
        .is_err()
    );
    let other = RequestScope {
        node: KeyId::from_bytes([8; 32]),
        ..scope
    };
    assert!(
        verify_request(
            public,
            &other,
            "POST",
            "/v1/transactions",
            b"{\"a\":1}",
            &signature
        )
        .is_err()
    );

    let e = opened
        .sign("zz", &scope.node.to_hex(), "GET", "/", b"", 1)
        .err()
        .unwrap();
    assert_eq!(e.code(), "bad_scope");
    assert!(e.to_string().contains("consortium"), "{e}");
}

#[test]
fn a_real_bundle_reports_as_natively_and_a_changed_byte_fails_the_named_check() {
    let native: Report = serde_json::from_str(NATIVE_REPORT).unwrap();
    let ours = verify_bundle(BUNDLE, Some((GENESIS, "genesis.bin")), Some(RECEIPT)).unwrap();
    assert_eq!(ours.report, native);
    assert!(ours.holds);
    assert_eq!(ours.lines, native.lines());

    let failures: Vec<Check> = serde_json::from_str(NATIVE_TAMPERED).unwrap();
    for (&index, expected) in TAMPERED.iter().zip(&failures) {
        let report = verify_bundle(
            &tampered(index),
            Some((GENESIS, "genesis.bin")),
            Some(RECEIPT),
        )
        .unwrap();
        assert!(!report.holds, "transaction {index} changed");
        assert_eq!(report.report.first_failed(), Some(expected));
    }

    for junk in ["", "{}", "[1,2]"] {
        let e = verify_bundle(junk, None, None).err().unwrap();
        assert_eq!(e.code(), "not_a_bundle", "{junk:?}: {e}");
    }
    let e = verify_bundle(BUNDLE, None, Some("{")).err().unwrap();
    assert!(e.to_string().starts_with("receipt"), "{e}");
}

#[test]
fn consent_transactions_decode_to_what_the_form_said() {
    use weinong_contracts::{Call, DataCategory, Purpose};
    use weinong_ledger::Transaction;
    let (key, text) = keystore("pw");
    let opened = ConsoleKey::open(&text, &mut b"pw".to_vec()).unwrap();
    let form = weinong_console_wasm::GrantForm {
        subject: hex::encode([3; 32]),
        grantee: hex::encode([4; 32]),
        purpose: "admission_assessment".into(),
        categories: vec!["ability assessment".into(), "Falls".into()],
        valid_from: 1_000,
        valid_until: 2_000,
    };
    let signed = opened.consent_grant(&form, 77, 1_500).unwrap();
    let tx = Transaction::decode(&hex::decode(&signed.hex).unwrap()).unwrap();
    assert_eq!(tx.hash().to_string(), signed.hash);
    assert_eq!(tx.body().signer, key.key_id());
    assert_eq!((tx.body().nonce, tx.body().time_ms), (77, 1_500));
    let Call::ConsentGrant(grant) = Call::decode(tx.body().kind, &tx.body().payload).unwrap()
    else {
        panic!("not a grant");
    };
    assert_eq!(grant.consent.to_hex(), signed.id);
    assert_eq!(grant.subject.to_hex(), form.subject);
    assert_eq!(grant.grantee.to_hex(), form.grantee);
    assert_eq!(grant.purpose, Purpose::AdmissionAssessment);
    assert!(grant.categories.contains(DataCategory::AbilityAssessment));
    assert!(grant.categories.contains(DataCategory::Falls));
    assert!(!grant.categories.contains(DataCategory::VitalSigns));
    assert_eq!((grant.valid_from, grant.valid_until), (1_000, 2_000));
    // A second grant gets another consent id.
    assert_ne!(
        opened.consent_grant(&form, 78, 1_500).unwrap().id,
        signed.id
    );

    let withdrawn = opened.consent_withdraw(&signed.id, 79, 1_600).unwrap();
    let tx = Transaction::decode(&hex::decode(&withdrawn.hex).unwrap()).unwrap();
    let Call::ConsentRevoke(revoke) = Call::decode(tx.body().kind, &tx.body().payload).unwrap()
    else {
        panic!("not a withdrawal");
    };
    assert_eq!(revoke.consent.to_hex(), signed.id);

    // A policy run's opening names the policy and a fresh run id; a bad id is refused.
    let policy = hex::encode([5; 32]);
    let run = opened.policy_run(&policy, 80, 1_700).unwrap();
    let tx = Transaction::decode(&hex::decode(&run.hex).unwrap()).unwrap();
    let Call::PolicyRun(opening) = Call::decode(tx.body().kind, &tx.body().payload).unwrap() else {
        panic!("not a policy run");
    };
    assert_eq!(opening.policy.to_hex(), policy);
    assert_eq!(opening.run.to_hex(), run.id);
    assert_ne!(opened.policy_run(&policy, 81, 1_700).unwrap().id, run.id);
    let e = opened.policy_run("zz", 82, 1_700).unwrap_err();
    assert!(e.to_string().contains("policy id"), "{e}");

    // Bad forms are refused by name.
    for (bad, what) in [
        (
            weinong_console_wasm::GrantForm {
                purpose: "lunch".into(),
                ..clone(&form)
            },
            "purpose",
        ),
        (
            weinong_console_wasm::GrantForm {
                categories: vec!["diet".into()],
                ..clone(&form)
            },
            "data category",
        ),
        (
            weinong_console_wasm::GrantForm {
                categories: vec![],
                ..clone(&form)
            },
            "at least one",
        ),
        (
            weinong_console_wasm::GrantForm {
                valid_until: 1_000,
                ..clone(&form)
            },
            "end after",
        ),
        (
            weinong_console_wasm::GrantForm {
                grantee: "ab".into(),
                ..clone(&form)
            },
            "grantee",
        ),
    ] {
        let e = opened.consent_grant(&bad, 1, 1).err().unwrap();
        assert!(e.to_string().contains(what), "{e}");
    }
}

fn clone(f: &weinong_console_wasm::GrantForm) -> weinong_console_wasm::GrantForm {
    weinong_console_wasm::GrantForm {
        subject: f.subject.clone(),
        grantee: f.grantee.clone(),
        purpose: f.purpose.clone(),
        categories: f.categories.clone(),
        valid_from: f.valid_from,
        valid_until: f.valid_until,
    }
}

#[test]
fn the_oprf_pseudonym_equals_the_peppered_one() {
    use weinong_console_wasm::Blinding;
    use weinong_keys::{BlindedId, Pepper, PseudonymKey, ResidentId, SubjectPseudonym};
    let pepper = Pepper::from_hex(&"5a".repeat(32)).unwrap();
    let id = "11010519491231002X";
    let blinding = Blinding::blind(id).unwrap();
    // The department node's side: evaluate under the key derived from the pepper.
    let key = PseudonymKey::new(&pepper);
    let blinded = BlindedId::from_bytes(&hex::decode(blinding.blinded()).unwrap()).unwrap();
    let evaluated = hex::encode(key.evaluate_blinded(&blinded).to_bytes());
    let pseudonym = blinding.finish(&evaluated).unwrap();
    assert_eq!(
        pseudonym,
        SubjectPseudonym::derive(&pepper, &ResidentId::parse(id).unwrap()).to_hex()
    );

    let e = Blinding::blind("11010519491231002Y").err().unwrap();
    assert_eq!(e.code(), "bad_id");
    let e = Blinding::blind(id).unwrap().finish("zz").err().unwrap();
    assert_eq!(e.code(), "oprf");
}

#[test]
fn an_assessment_request_names_the_model_and_subject_and_bad_shares_are_refused() {
    use weinong_console_wasm::{OpenInput, Opened, shipped_model};
    use weinong_contracts::{Call, Purpose};
    use weinong_ledger::Transaction;
    let (_, text) = keystore("pw");
    let opened = ConsoleKey::open(&text, &mut b"pw".to_vec()).unwrap();
    let subject = hex::encode([5; 32]);
    for (name, purpose) in [
        ("admission-v1", Purpose::AdmissionAssessment),
        ("periodic-v2", Purpose::PeriodicAssessment),
    ] {
        let signed = opened.assessment_request(name, &subject, 5, 6).unwrap();
        let tx = Transaction::decode(&hex::decode(&signed.hex).unwrap()).unwrap();
        let Call::AssessmentRequest(r) = Call::decode(tx.body().kind, &tx.body().payload).unwrap()
        else {
            panic!("not a request");
        };
        assert_eq!(r.request.to_hex(), signed.id);
        assert_eq!(r.subject.to_hex(), subject);
        assert_eq!(r.purpose, purpose);
        assert_eq!(r.model.as_bytes(), &shipped_model(name).unwrap().id().0);
    }
    let e = opened
        .assessment_request("lunch-v1", &subject, 5, 6)
        .err()
        .unwrap();
    assert!(e.to_string().contains("admission-v1"), "{e}");

    // A served share that is not even base64 is refused by name; nothing is opened.
    let input: OpenInput = serde_json::from_value(serde_json::json!({
        "request": hex::encode([1; 32]), "model": "admission-v1", "subject": subject,
        "consortium": hex::encode([2; 32]),
        "history": { "request": hex::encode([1; 32]), "status": "authorised", "requester": "",
            "model": "", "purpose": "admission assessment", "deadline_ms": 0, "batch": null, "events": [] },
        "shares": [{ "party": 0, "sealed": "***", "signer": "", "signature": "" }],
        "signers": [],
    }))
    .unwrap();
    match opened.open_result(&input) {
        Ok(Opened::Refused { reason }) => assert!(reason.contains("base64"), "{reason}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_role_binding_collects_one_approval_per_admin_and_submits_them_all() {
    use weinong_console_wasm::{bind_role_proposal, view_proposal};
    use weinong_contracts::{Call, Change, Governance, Role};
    use weinong_ledger::{Hash32, Transaction};
    let admins: Vec<(KeyPair, ConsoleKey)> = (0..2)
        .map(|_| {
            let (key, text) = keystore("pw");
            let opened = ConsoleKey::open(&text, &mut b"pw".to_vec()).unwrap();
            (key, opened)
        })
        .collect();
    let (target, target_store) = keystore("other");
    let consortium = hex::encode([6; 32]);
    let p = bind_role_proposal(&consortium, 4, &target_store, "institution", 10, None).unwrap();
    let mut text = serde_json::to_string(&p).unwrap();
    for (_, admin) in &admins {
        text = admin.approve_proposal(&text).unwrap();
    }
    let e = admins[0].1.approve_proposal(&text).err().unwrap();
    assert!(e.to_string().contains("already approved"), "{e}");

    let view = view_proposal(&text).unwrap();
    assert_eq!(view.seq, 4);
    assert_eq!(view.key.as_deref(), Some(target.key_id().to_hex().as_str()));
    assert_eq!(view.role.as_deref(), Some("institution"));
    assert_eq!(view.approvals.len(), 2);

    let signed = admins[1].1.governance_tx(&text, 9, 9).unwrap();
    let tx = Transaction::decode(&hex::decode(&signed.hex).unwrap()).unwrap();
    let Call::Governance(g) = Call::decode(tx.body().kind, &tx.body().payload).unwrap() else {
        panic!("not governance");
    };
    let change = Change::BindRole {
        key: target.public_key().clone(),
        role: Role::Institution,
        valid_from: 10,
        valid_until: None,
    };
    assert_eq!((g.seq, &g.change), (4, &change));
    let approved = Governance::approved_bytes(&Hash32([6; 32]), 4, &change);
    assert_eq!(g.approvals.len(), 2);
    for a in &g.approvals {
        let (key, _) = admins.iter().find(|(k, _)| k.key_id() == a.admin).unwrap();
        key.public_key().verify(&approved, &a.signature).unwrap();
    }

    for (public, role, what) in [
        ("nonsense", "institution", "not a public key"),
        (target_store.as_str(), "emperor", "unknown role"),
    ] {
        let e = bind_role_proposal(&consortium, 4, public, role, 10, None)
            .err()
            .unwrap();
        assert!(e.to_string().contains(what), "{e}");
    }
    assert_eq!(view_proposal("{}").err().unwrap().code(), "proposal");
}

#[test]
fn heads_that_do_not_parse_or_verify_are_refused_by_name() {
    use weinong_console_wasm::{Consistency, check_consistency, verify_head};
    assert_eq!(verify_head("{}").err().unwrap().code(), "not_a_bundle");
    let head = r#"{"format":"weinong-head/1","members":"00","header":"00","certificate":"00"}"#;
    let e = verify_head(head).err().unwrap();
    assert_eq!(e.code(), "not_a_bundle");
    match check_consistency("[]", head, "{}").unwrap() {
        Consistency::Failed { check, .. } => assert_eq!(check, "old_head"),
        other => panic!("{other:?}"),
    }
}
