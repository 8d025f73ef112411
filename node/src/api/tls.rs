//! TLS for the HTTP API (rustls, TLS 1.2 and 1.3 with the ring provider).
//!
//! The certificate chain and key are PEM files named in `[http]`; [`TlsFiles::reload`]
//! reads them again (the node calls it on SIGHUP) and swaps the configuration for new
//! connections only: connections already open keep the certificate they shook hands with.
//! A reload that fails keeps the old certificate and says why, so a half-copied renewal
//! never takes the API down.
//!
//! International algorithms on purpose: browsers and `curl` speak no TLCP (GB/T 38636), and
//! no audited Rust TLCP exists. What must be GM (signatures of requests, sealing of shares
//! and data) is SM2/SM3/SM4 at the application layer, inside this channel; see the threat
//! model in `ARCHITECTURE.md`.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;

/// The first byte of a TLS handshake record; anything else on a TLS port is not TLS.
const TLS_HANDSHAKE_RECORD: u8 = 0x16;

/// Why the node's certificate or key could not be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read.
    #[error("cannot read {what} {path}: {source}")]
    Read {
        /// `certificate` or `private key`.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
    /// A file holds no usable PEM object of the expected kind.
    #[error("{path} holds no {what} in PEM (expected {expected})")]
    Pem {
        /// `certificate` or `private key`.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// What the file should begin with.
        expected: &'static str,
    },
    /// rustls refused the pair (a key that does not match the certificate, an unsupported
    /// key type).
    #[error("the certificate {cert} and key {key} cannot be used together: {reason}")]
    Config {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
        /// rustls' reason.
        reason: String,
    },
}

/// The node's certificate files and the configuration made from them.
pub struct TlsFiles {
    cert: PathBuf,
    key: PathBuf,
    current: RwLock<Arc<ServerConfig>>,
}

impl std::fmt::Debug for TlsFiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsFiles")
            .field("cert", &self.cert)
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

impl TlsFiles {
    /// Reads the chain (leaf first) and the key (PKCS#8, SEC1 or PKCS#1 PEM).
    pub fn load(cert: &Path, key: &Path) -> Result<Self, TlsError> {
        let config = server_config(cert, key)?;
        Ok(Self {
            cert: cert.to_owned(),
            key: key.to_owned(),
            current: RwLock::new(Arc::new(config)),
        })
    }

    /// Reads the files again; on success new connections use them.
    pub fn reload(&self) -> Result<(), TlsError> {
        let config = Arc::new(server_config(&self.cert, &self.key)?);
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = config;
        Ok(())
    }

    /// An acceptor with the configuration in force now.
    pub fn acceptor(&self) -> TlsAcceptor {
        TlsAcceptor::from(
            self.current
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .clone(),
        )
    }
}

fn server_config(cert: &Path, key: &Path) -> Result<ServerConfig, TlsError> {
    let chain = read(cert, "certificate")?;
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&chain)
        .filter_map(Result::ok)
        .collect();
    if chain.is_empty() {
        return Err(TlsError::Pem {
            what: "certificate",
            path: cert.to_owned(),
            expected: "-----BEGIN CERTIFICATE-----",
        });
    }
    let key_pem = zeroize::Zeroizing::new(read(key, "private key")?);
    let private = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|_| TlsError::Pem {
        what: "private key",
        path: key.to_owned(),
        expected: "-----BEGIN PRIVATE KEY----- (or EC/RSA PRIVATE KEY)",
    })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .and_then(|b| b.with_no_client_auth().with_single_cert(chain, private))
        .map_err(|e| TlsError::Config {
            cert: cert.to_owned(),
            key: key.to_owned(),
            reason: e.to_string(),
        })?;
    // The server speaks HTTP/1.1 only.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

fn read(path: &Path, what: &'static str) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        what,
        path: path.to_owned(),
        source,
    })
}

/// Whether the first byte a client sent can begin a TLS handshake.
pub(crate) fn looks_like_tls(first: u8) -> bool {
    first == TLS_HANDSHAKE_RECORD
}

/// What a plain-HTTP client on the TLS port is told before the connection closes.
pub(crate) fn plain_http_refusal() -> Vec<u8> {
    let body = serde_json::to_string(&weinong_api::ErrorBody::new(
        weinong_api::ErrorCode::HttpsRequired,
        "this node serves HTTPS only: use https:// and the consortium's CA certificate (curl --cacert CA.pem, or WEINONG_CA_CERT for the weinong CLI)".to_owned(),
    ))
    .unwrap_or_default();
    format!(
        "HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}
