//! Signed API requests against OpenSSL 3: a request signed here verifies with `openssl
//! pkeyutl` over the message written out by hand, and OpenSSL's signature over that message
//! verifies here. OpenSSL is told the GB/T 32918 default distinguishing ID explicitly.

use std::process::{Command, Output};

use weinong_keys::request_auth::{RequestScope, RequestSignature, request_message};
use weinong_keys::{KeyPair, Signature, sign_request, sm3_digest, verify_request};

const DISTID: &str = "distid:1234567812345678";

fn openssl(args: &[&str]) -> Output {
    Command::new("openssl")
        .args(args)
        .output()
        .expect("openssl 3 is installed (scripts/setup-system.sh)")
}

/// `openssl pkeyutl` over the raw message in file `msg`, hashed with SM3 under the default
/// distinguishing ID; `args` give the operation, the key and the signature file.
fn pkeyutl_sm3(msg: &str, args: &[&str]) -> Output {
    let mut all = vec![
        "pkeyutl", "-rawin", "-digest", "sm3", "-pkeyopt", DISTID, "-in", msg,
    ];
    all.extend_from_slice(args);
    openssl(&all)
}

fn ok(out: &Output) {
    assert!(
        out.status.success(),
        "status {:?}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The documented layout (format version 2), written independently of the library's
/// encoder.
fn message_by_hand(
    consortium: &[u8; 32],
    node: &[u8; 32],
    method: &str,
    target: &str,
    body: &[u8],
    time_ms: u64,
    key: &[u8; 32],
) -> Vec<u8> {
    let mut m = Vec::new();
    m.extend_from_slice(b"WNRQ");
    m.push(2);
    m.extend_from_slice(consortium);
    m.extend_from_slice(node);
    m.extend_from_slice(
        &u32::try_from(method.len())
            .expect("short method")
            .to_be_bytes(),
    );
    m.extend_from_slice(method.as_bytes());
    m.extend_from_slice(
        &u32::try_from(target.len())
            .expect("short target")
            .to_be_bytes(),
    );
    m.extend_from_slice(target.as_bytes());
    m.extend_from_slice(&sm3_digest(body));
    m.extend_from_slice(&time_ms.to_be_bytes());
    m.extend_from_slice(key);
    m
}

#[test]
fn request_signatures_interoperate_with_openssl() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_owned();
    let key = KeyPair::generate();
    let (method, target, body, t) = (
        "POST",
        "/v1/transactions?wait=1",
        br#"{"transactions":[]}"#,
        1_764_300_000_000u64,
    );
    let node = KeyPair::generate().key_id();
    let scope = RequestScope {
        consortium: [0x5c; 32],
        node,
    };
    let message = message_by_hand(
        &scope.consortium,
        node.as_bytes(),
        method,
        target,
        body,
        t,
        key.key_id().as_bytes(),
    );
    assert_eq!(
        request_message(&scope, method, target, body, t, &key.key_id()).unwrap(),
        message
    );
    std::fs::write(path("msg"), &message).unwrap();
    std::fs::write(path("pub.pem"), key.public_key().to_spki_pem().unwrap()).unwrap();
    std::fs::write(path("key.pem"), key.to_pkcs8_pem().unwrap().as_bytes()).unwrap();

    // Ours → OpenSSL.
    let sig = sign_request(&key, &scope, method, target, body, t).unwrap();
    std::fs::write(path("ours.sig"), sig.signature.to_der()).unwrap();
    let verify = |sig_file: &str| {
        pkeyutl_sm3(
            &path("msg"),
            &[
                "-verify",
                "-pubin",
                "-inkey",
                &path("pub.pem"),
                "-sigfile",
                sig_file,
            ],
        )
    };
    ok(&verify(&path("ours.sig")));
    // A signature over another body fails in OpenSSL too (the check can fail).
    let other = sign_request(&key, &scope, method, target, b"{}", t).unwrap();
    std::fs::write(path("other.sig"), other.signature.to_der()).unwrap();
    assert!(!verify(&path("other.sig")).status.success());

    // OpenSSL → ours.
    ok(&pkeyutl_sm3(
        &path("msg"),
        &[
            "-sign",
            "-inkey",
            &path("key.pem"),
            "-out",
            &path("theirs.sig"),
        ],
    ));
    let der = std::fs::read(path("theirs.sig")).unwrap();
    let theirs = RequestSignature {
        scope,
        key: key.key_id(),
        time_ms: t,
        signature: Signature::from_der(&der).unwrap(),
    };
    verify_request(key.public_key(), &scope, method, target, body, &theirs).unwrap();
    assert!(verify_request(key.public_key(), &scope, "GET", target, body, &theirs).is_err());
    // The same signature checked by another node of the consortium does not pass.
    let elsewhere = RequestScope {
        node: KeyPair::generate().key_id(),
        ..scope
    };
    let mut relabelled = theirs.clone();
    relabelled.scope = elsewhere;
    assert!(
        verify_request(
            key.public_key(),
            &elsewhere,
            method,
            target,
            body,
            &relabelled
        )
        .is_err()
    );
}
