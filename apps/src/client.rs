//! A small signed HTTP client for a node's API: every `/v1` request carries the caller's
//! SM2 signature under the rule of `weinong_keys::request_auth` (the same rule the node
//! checks; this crate links no node code).
//!
//! Plain `http://` only: a node's API is meant to sit behind the department's TLS
//! terminator or on a private network; the signature authenticates the caller either way.
//! Errors from the node are its JSON `{code, message}`, shown as they come.
//!
//! # Which node and consortium a request is signed for
//!
//! Format version 2 signs the consortium id and the addressed node's key id
//! ([`RequestScope`]), so a signature is good at one node only. The client learns both
//! from the node itself: before its first signed request it asks the unsigned
//! `GET /v1/node` once and pins the answer for its lifetime (a node that answers another
//! node's key id later, or another format, is not asked again). This keeps the CLI's
//! `--node URL` the only thing a user names. Trusting that answer is sound for what the
//! scope protects: a node that lies can only make the client's signatures good at the
//! one node it named, never at two, so a captured request still cannot be replayed to a
//! second node of the consortium. A caller that knows the scope already (the devnet's
//! manifest lists the consortium and every node's key id) pins it with
//! [`Client::with_scope`] and nothing is asked.

use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use reqwest::{Method, Url};
use serde::de::DeserializeOwned;
use tokio::sync::OnceCell;
use weinong_keys::request_auth::REQUEST_AUTH_VERSION;
use weinong_keys::{KeyId, KeyPair, RequestScope, sign_request};

/// How long one request may take, connection included.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// How many times a refusal with `Retry-After` is retried.
pub const RETRIES: usize = 5;
/// The longest `Retry-After` wait honoured; a longer one is shortened to this.
pub const RETRY_AFTER_MAX: Duration = Duration::from_secs(5);

/// One attempt's outcome.
enum Answer {
    Done(Vec<u8>),
    RetryAfter(Duration, anyhow::Error),
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    weinong_keys::clock::now_ms()
}

/// A client bound to one node and one key.
pub struct Client {
    base: Url,
    key: KeyPair,
    http: reqwest::Client,
    /// The node and consortium requests are signed for, pinned once known.
    scope: OnceCell<RequestScope>,
}

/// `GET /v1/node`, the part the client reads.
#[derive(serde::Deserialize)]
struct NodeAnswer {
    node_key: String,
    consortium: String,
    request_auth_version: u8,
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
        Ok(Self {
            base,
            key,
            http,
            scope: OnceCell::new(),
        })
    }

    /// Pins the node and consortium requests are signed for, so `GET /v1/node` is not asked.
    pub fn with_scope(self, scope: RequestScope) -> Self {
        Self {
            scope: OnceCell::new_with(Some(scope)),
            ..self
        }
    }

    /// The node and consortium requests are signed for: pinned, or asked of the node once.
    pub async fn scope(&self) -> Result<RequestScope> {
        self.scope
            .get_or_try_init(|| self.discover_scope())
            .await
            .copied()
    }

    async fn discover_scope(&self) -> Result<RequestScope> {
        let url = self.url("/v1/node")?;
        let res = self
            .http
            .get(url.clone())
            .send()
            .await
            .with_context(|| format!("GET {url}: no answer from the node"))?;
        let status = res.status();
        if !status.is_success() {
            bail!(
                "GET {url}: node answered {status}; a node older than request format {REQUEST_AUTH_VERSION} has no /v1/node: upgrade it"
            );
        }
        let bytes = res
            .bytes()
            .await
            .with_context(|| format!("GET {url}: answer cut off"))?;
        let answer: NodeAnswer = serde_json::from_slice(&bytes)
            .with_context(|| format!("GET {url}: answer is not the node description expected"))?;
        if answer.request_auth_version != REQUEST_AUTH_VERSION {
            bail!(
                "the node checks request format {}, this client signs format {REQUEST_AUTH_VERSION}; use a matching weinong release",
                answer.request_auth_version
            );
        }
        let node: KeyId = answer
            .node_key
            .parse()
            .map_err(|e| anyhow!("GET {url}: node_key: {e}"))?;
        let mut consortium = [0u8; 32];
        hex::decode_to_slice(&answer.consortium, &mut consortium)
            .map_err(|e| anyhow!("GET {url}: consortium is not 64 hex characters: {e}"))?;
        Ok(RequestScope { consortium, node })
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

    /// Sends a signed request and returns the body of a 2xx answer. A refusal the node
    /// marks with `Retry-After` (429: the key's share of the replay cache is full; 503: the
    /// node is at its limit of requests or connections) is retried after that many seconds
    /// (at most [`RETRY_AFTER_MAX`]), signed afresh, up to [`RETRIES`] times.
    pub async fn send(&self, method: Method, path: &str, body: Vec<u8>) -> Result<Vec<u8>> {
        let mut attempt = 0;
        loop {
            match self.send_once(&method, path, &body).await? {
                Answer::Done(bytes) => return Ok(bytes),
                Answer::RetryAfter(wait, error) => {
                    attempt += 1;
                    if attempt > RETRIES {
                        return Err(error);
                    }
                    tokio::time::sleep(wait.min(RETRY_AFTER_MAX)).await;
                }
            }
        }
    }

    async fn send_once(&self, method: &Method, path: &str, body: &[u8]) -> Result<Answer> {
        let url = self.url(path)?;
        let target = request_target(&url);
        let scope = self.scope().await?;
        let sig = sign_request(&self.key, &scope, method.as_str(), &target, body, now_ms())
            .map_err(|e| anyhow!("cannot sign the request: {e}"))?;
        let mut req = self.http.request(method.clone(), url.clone());
        for (name, value) in sig.headers() {
            req = req.header(name, value);
        }
        if !body.is_empty() {
            req = req
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.to_vec());
        }
        let res = req
            .send()
            .await
            .with_context(|| format!("{method} {url}: no answer from the node"))?;
        let status = res.status();
        let retry_after = res
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let bytes = res
            .bytes()
            .await
            .with_context(|| format!("{method} {url}: answer cut off"))?;
        if status.is_success() {
            return Ok(Answer::Done(bytes.to_vec()));
        }
        let detail = match serde_json::from_slice::<serde_json::Value>(&bytes) {
            Ok(v) if v["code"].is_string() => format!(
                "{}: {}",
                v["code"].as_str().unwrap_or_default(),
                v["message"].as_str().unwrap_or_default()
            ),
            _ => String::from_utf8_lossy(&bytes).chars().take(500).collect(),
        };
        let error = anyhow!("{method} {path}: node answered {status}: {detail}");
        match retry_after {
            Some(wait) => Ok(Answer::RetryAfter(wait, error)),
            None => Err(error),
        }
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

    /// Reads one request from `sock`: its head and its body.
    async fn read_request(sock: &mut tokio::net::TcpStream) -> (String, Vec<u8>) {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            let n = sock.read(&mut chunk).await.unwrap();
            assert!(n > 0, "connection closed before a request");
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
                return (head, buf[end + 4..end + 4 + len].to_vec());
            }
        }
    }

    async fn reply(sock: &mut tokio::net::TcpStream, json: &str) {
        sock.write_all(format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{json}", json.len()).as_bytes()).await.unwrap();
    }

    /// A raw socket stands in for the node: the client asks `/v1/node` first, and what
    /// then arrives on the wire must verify under the shared rule, for the scope the node
    /// named and the target and body bytes as received.
    #[tokio::test]
    async fn what_goes_on_the_wire_verifies() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let key = KeyPair::generate();
        let public = key.public_key().clone();
        let here = RequestScope {
            consortium: [0x42; 32],
            node: KeyPair::generate().key_id(),
        };
        let server = tokio::spawn(async move {
            let (mut sock, _) = listener.accept().await.unwrap();
            let (head, _) = read_request(&mut sock).await;
            assert!(head.starts_with("GET /v1/node "), "{head}");
            reply(
                &mut sock,
                &serde_json::json!({
                    "name": "n",
                    "node_key": here.node.to_hex(),
                    "consortium": hex::encode(here.consortium),
                    "request_auth_version": REQUEST_AUTH_VERSION,
                })
                .to_string(),
            )
            .await;
            drop(sock);
            let (mut sock, _) = listener.accept().await.unwrap();
            let (head, body) = read_request(&mut sock).await;
            let mut request_line = head.lines().next().unwrap().split(' ');
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
                &header("x-weinong-consortium"),
                &header("x-weinong-node"),
            )
            .unwrap();
            let verdict = verify_request(&public, &here, &method, &target, &body, &sig);
            reply(&mut sock, "{\"ok\":true}").await;
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
        assert_eq!(client.scope().await.unwrap(), here);
        let (method, target, verdict) = server.await.unwrap();
        assert_eq!(
            (method.as_str(), target.as_str()),
            ("POST", "/v1/transactions?wait=1")
        );
        verdict.unwrap();
    }
}
