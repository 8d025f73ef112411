//! A small signed HTTP client for a node's API: every `/v1` request carries the caller's
//! SM2 signature under the rule of `weinong_keys::request_auth` (the same rule the node
//! checks; this crate links no node code).
//!
//! Plain `http://` only: a node's API is meant to sit behind the department's TLS
//! terminator or on a private network; the signature authenticates the caller either way.
//! Errors from the node are its JSON `{code, message}`, shown as they come.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, anyhow, bail};
use reqwest::{Method, Url};
use serde::de::DeserializeOwned;
use weinong_keys::{KeyPair, sign_request};

/// How long one request may take, connection included.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// A client bound to one node and one key.
pub struct Client {
    base: Url,
    key: KeyPair,
    http: reqwest::Client,
}

/// The exact request target (path and query) the server sees for `url`, as signed.
pub fn request_target(url: &Url) -> String {
    match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_owned(),
    }
}

impl Client {
    /// A client for the node at `node` (e.g. `http://127.0.0.1:8080`), signing with `key`.
    pub fn new(node: &str, key: KeyPair) -> Result<Self> {
        let mut base = Url::parse(node)
            .with_context(|| format!("--node {node:?} is not a URL like http://127.0.0.1:8080"))?;
        if base.scheme() != "http" {
            bail!(
                "--node {node:?}: only http:// is supported (put the node behind a TLS terminator and point at its plain address)"
            );
        }
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .build()
            .context("cannot build the HTTP client")?;
        Ok(Self { base, key, http })
    }

    /// The signing key.
    pub fn key(&self) -> &KeyPair {
        &self.key
    }

    /// The absolute URL of `path` (`/v1/...`, query included) under the node's base.
    pub fn url(&self, path: &str) -> Result<Url> {
        self.base
            .join(path.trim_start_matches('/'))
            .with_context(|| format!("bad request path {path:?}"))
    }

    /// Sends a signed request and returns the body of a 2xx answer.
    pub async fn send(&self, method: Method, path: &str, body: Vec<u8>) -> Result<Vec<u8>> {
        let url = self.url(path)?;
        let target = request_target(&url);
        let sig = sign_request(&self.key, method.as_str(), &target, &body, now_ms())
            .map_err(|e| anyhow!("cannot sign the request: {e}"))?;
        let mut req = self.http.request(method.clone(), url.clone());
        for (name, value) in sig.headers() {
            req = req.header(name, value);
        }
        if !body.is_empty() {
            req = req
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body);
        }
        let res = req
            .send()
            .await
            .with_context(|| format!("{method} {url}: no answer from the node"))?;
        let status = res.status();
        let bytes = res
            .bytes()
            .await
            .with_context(|| format!("{method} {url}: answer cut off"))?;
        if status.is_success() {
            return Ok(bytes.to_vec());
        }
        let detail = match serde_json::from_slice::<serde_json::Value>(&bytes) {
            Ok(v) if v["code"].is_string() => format!(
                "{}: {}",
                v["code"].as_str().unwrap_or_default(),
                v["message"].as_str().unwrap_or_default()
            ),
            _ => String::from_utf8_lossy(&bytes).chars().take(500).collect(),
        };
        bail!("{method} {path}: node answered {status}: {detail}")
    }

    /// A signed GET, parsed as JSON.
    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        let bytes = self.send(Method::GET, path, Vec::new()).await?;
        serde_json::from_slice(&bytes)
            .with_context(|| format!("GET {path}: answer is not the JSON expected"))
    }

    /// A signed POST of JSON, answer parsed as JSON.
    pub async fn post<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &serde_json::Value,
    ) -> Result<T> {
        let body = serde_json::to_vec(body).context("cannot encode the request")?;
        let bytes = self.send(Method::POST, path, body).await?;
        serde_json::from_slice(&bytes)
            .with_context(|| format!("POST {path}: answer is not the JSON expected"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use weinong_keys::request_auth::{RequestSignature, verify_request};

    #[test]
    fn targets_keep_the_base_path_and_query() {
        let c = Client::new("http://127.0.0.1:1/prefix", KeyPair::generate()).unwrap();
        let url = c
            .url("/v1/proofs/consistency?from_height=1&to_height=2")
            .unwrap();
        assert_eq!(
            request_target(&url),
            "/prefix/v1/proofs/consistency?from_height=1&to_height=2"
        );
        assert!(Client::new("https://example.invalid", KeyPair::generate()).is_err());
        assert!(Client::new("not a url", KeyPair::generate()).is_err());
    }

    /// A raw socket stands in for the node: what arrives on the wire must verify under the
    /// shared rule, for the target and body bytes as received.
    #[tokio::test]
    async fn what_goes_on_the_wire_verifies() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let key = KeyPair::generate();
        let public = key.public_key().clone();
        let server = tokio::spawn(async move {
            let (mut sock, _) = listener.accept().await.unwrap();
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            let (head, body) = loop {
                let n = sock.read(&mut chunk).await.unwrap();
                buf.extend_from_slice(&chunk[..n]);
                if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                    let head = String::from_utf8(buf[..end].to_vec()).unwrap();
                    let len: usize = head
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse().unwrap())
                        })
                        .unwrap_or(0);
                    while buf.len() < end + 4 + len {
                        let n = sock.read(&mut chunk).await.unwrap();
                        buf.extend_from_slice(&chunk[..n]);
                    }
                    break (head, buf[end + 4..end + 4 + len].to_vec());
                }
            };
            let mut lines = head.lines();
            let mut request_line = lines.next().unwrap().split(' ');
            let (method, target) = (
                request_line.next().unwrap().to_owned(),
                request_line.next().unwrap().to_owned(),
            );
            let header = |name: &str| {
                head.lines()
                    .find_map(|l| {
                        l.split_once(':')
                            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
                            .map(|(_, v)| v.trim().to_owned())
                    })
                    .unwrap()
            };
            let sig = RequestSignature::from_headers(
                &header("x-weinong-key"),
                &header("x-weinong-time"),
                &header("x-weinong-signature"),
            )
            .unwrap();
            let verdict = verify_request(&public, &method, &target, &body, &sig);
            let reply = "{\"ok\":true}";
            sock.write_all(format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{reply}", reply.len()).as_bytes()).await.unwrap();
            (method, target, verdict)
        });
        let client = Client::new(&format!("http://{addr}"), key).unwrap();
        let answer: serde_json::Value = client
            .post(
                "/v1/transactions?wait=1",
                &serde_json::json!({"transactions": ["00"]}),
            )
            .await
            .unwrap();
        assert_eq!(answer["ok"], true);
        let (method, target, verdict) = server.await.unwrap();
        assert_eq!(
            (method.as_str(), target.as_str()),
            ("POST", "/v1/transactions?wait=1")
        );
        verdict.unwrap();
    }
}
