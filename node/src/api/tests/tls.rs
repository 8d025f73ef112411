//! The API over TLS on a real loopback socket, with certificates made by
//! `scripts/tls-certs.sh` (the commands `deploy/README.md` documents): the signed client
//! and `curl --cacert` reach a node whose certificate chains to their CA; a client that
//! trusts another CA refuses the node; plain HTTP on the TLS port is answered 400
//! `https_required` and never served; a renewed certificate is picked up by a reload.

use std::path::{Path, PathBuf};
use std::process::Command;

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use weinong_api::client::{Client, ClientError, NodeTrust};

use super::hardening::Server;
use super::*;
use crate::api::tls::TlsFiles;

/// Runs `scripts/tls-certs.sh` with `args`.
fn certs(args: &[&str]) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/tls-certs.sh");
    let out = Command::new("bash")
        .arg(&script)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "tls-certs.sh {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA in `dir` and a certificate for 127.0.0.1 signed by it.
fn ca_and_node(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let d = dir.to_str().unwrap();
    certs(&["ca", d]);
    certs(&["node", d, "node", "DNS:localhost", "IP:127.0.0.1"]);
    (
        dir.join("ca.pem"),
        dir.join("node.tls.crt"),
        dir.join("node.tls.key"),
    )
}

fn tls_config(cert: &Path, key: &Path) -> ApiConfig {
    ApiConfig {
        tls: Some(Arc::new(TlsFiles::load(cert, key).unwrap())),
        ..ApiConfig::default()
    }
}

fn client(f: &Fixture, url: &str, ca: &Path) -> Client {
    let key = KeyPair::from_secret_bytes(&*f.auditor.secret_bytes()).unwrap();
    Client::with_trust(url, key, &NodeTrust::from_pem_file(ca).unwrap()).unwrap()
}

#[tokio::test]
async fn clients_reach_a_tls_node_through_its_ca_and_refuse_another_ca() {
    let f = fixture();
    let ours = tempfile::tempdir().unwrap();
    let theirs = tempfile::tempdir().unwrap();
    let (ca, cert, key) = ca_and_node(ours.path());
    let (other_ca, _, _) = ca_and_node(theirs.path());
    let server = Server::start(&f, tls_config(&cert, &key)).await;
    let url = format!("https://127.0.0.1:{}", server.addr.port());

    // The signed client, through the consortium CA: an unsigned and a signed call.
    let good = client(&f, &url, &ca);
    assert_eq!(good.node().await.unwrap().name, f.shared.name);
    assert_eq!(good.latest_block().await.unwrap().height, 0);

    // A client trusting another CA refuses the node before sending anything.
    let refused = client(&f, &url, &other_ca).node().await.unwrap_err();
    assert!(
        matches!(refused, ClientError::NoAnswer { .. }),
        "{refused:?}"
    );
    let chain = format!("{:?}", std::error::Error::source(&refused));
    assert!(
        chain.contains("InvalidCertificate") || chain.contains("UnknownIssuer"),
        "the refusal names the certificate: {chain}"
    );

    // https:// without any CA is refused before any connection, naming the variable.
    let key = KeyPair::from_secret_bytes(&*f.auditor.secret_bytes()).unwrap();
    let err = Client::with_trust(&url, key, &NodeTrust::none())
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("WEINONG_CA_CERT"), "{err}");

    // curl, as deploy/README.md documents it.
    // Async: the server runs on this test's thread.
    let out = tokio::process::Command::new("curl")
        .args(["-sS", "--fail", "--max-time", "20", "--cacert"])
        .arg(&ca)
        .arg(format!("{url}/healthz"))
        .output()
        .await
        .expect("curl is installed by scripts/setup-system.sh");
    assert!(
        out.status.success(),
        "curl --cacert: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("ready"));
    // curl with another CA fails verification.
    let out = tokio::process::Command::new("curl")
        .args(["-sS", "--max-time", "20", "--cacert"])
        .arg(&other_ca)
        .arg(format!("{url}/healthz"))
        .output()
        .await
        .unwrap();
    assert!(!out.status.success(), "curl trusted a foreign CA");
    server.stop().await;
}

#[tokio::test]
async fn plain_http_on_the_tls_port_is_told_to_use_https_and_never_served() {
    let f = fixture();
    let dir = tempfile::tempdir().unwrap();
    let (_, cert, key) = ca_and_node(dir.path());
    let server = Server::start(&f, tls_config(&cert, &key)).await;
    let mut sock = TcpStream::connect(server.addr).await.unwrap();
    sock.write_all(b"GET /healthz HTTP/1.1\r\nhost: test\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(20), sock.read_to_end(&mut answer))
        .await
        .expect("the server closes the connection")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 400 "), "{answer}");
    assert!(answer.contains("https_required"), "{answer}");
    assert!(
        !answer.contains("ready"),
        "served over plain HTTP: {answer}"
    );
    // The signed client over http:// to the TLS port gets the same refusal, by its code.
    let client = Client::with_trust(
        &format!("http://127.0.0.1:{}", server.addr.port()),
        KeyPair::generate(),
        &NodeTrust::none(),
    )
    .unwrap();
    let err = client.node().await.unwrap_err();
    assert_eq!(
        err.code(),
        Some(weinong_api::ErrorCode::HttpsRequired),
        "{err:?}"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_renewed_certificate_is_served_after_a_reload_and_a_bad_one_is_not() {
    let f = fixture();
    let first = tempfile::tempdir().unwrap();
    let second = tempfile::tempdir().unwrap();
    let (ca1, cert, key) = ca_and_node(first.path());
    let (ca2, cert2, key2) = ca_and_node(second.path());
    let files = Arc::new(TlsFiles::load(&cert, &key).unwrap());
    let cfg = ApiConfig {
        tls: Some(files.clone()),
        ..ApiConfig::default()
    };
    let server = Server::start(&f, cfg).await;
    let url = format!("https://127.0.0.1:{}", server.addr.port());
    client(&f, &url, &ca1).node().await.unwrap();

    // A half-written renewal: the reload fails, naming the file, and the old one stays.
    std::fs::write(&cert, b"-----BEGIN CERT").unwrap();
    let err = files.reload().unwrap_err().to_string();
    assert!(err.contains("node.tls.crt"), "{err}");
    client(&f, &url, &ca1).node().await.unwrap();

    // The renewal in place (here from another CA, to tell them apart): new connections
    // get it.
    std::fs::copy(&cert2, &cert).unwrap();
    std::fs::copy(&key2, &key).unwrap();
    files.reload().unwrap();
    client(&f, &url, &ca2).node().await.unwrap();
    assert!(client(&f, &url, &ca1).node().await.is_err());
    server.stop().await;
}

#[test]
fn unusable_certificate_files_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let (_, cert, key) = ca_and_node(dir.path());
    let missing = dir.path().join("absent.crt");
    let err = TlsFiles::load(&missing, &key).unwrap_err().to_string();
    assert!(err.contains("absent.crt"), "{err}");
    // The key given as the certificate, and the certificate as the key.
    let err = TlsFiles::load(&key, &key).unwrap_err().to_string();
    assert!(err.contains("BEGIN CERTIFICATE"), "{err}");
    let err = TlsFiles::load(&cert, &cert).unwrap_err().to_string();
    assert!(err.contains("private key"), "{err}");
    // A key of another certificate.
    let other = tempfile::tempdir().unwrap();
    let (_, _, other_key) = ca_and_node(other.path());
    let err = TlsFiles::load(&cert, &other_key).unwrap_err().to_string();
    assert!(err.contains("cannot be used together"), "{err}");
}
