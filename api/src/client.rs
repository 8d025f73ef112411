//! A typed, signed HTTP client for a node's API: every `/v1` request carries the caller's
//! SM2 signature under the rule of `weinong_keys::request_auth` (the same rule the node
//! checks; this crate links no node code), and every answer is parsed into this crate's
//! wire types.
//!
//! `http://` (loopback, or behind the department's TLS terminator) or `https://` to a node
//! serving TLS itself: the node's certificate must chain to the consortium CA the caller
//! names ([`NodeTrust`]; the CLI reads it from `WEINONG_CA_CERT`); the system's root store
//! is never consulted, so a certificate from any public CA is refused. The signature
//! authenticates the caller either way.
//! A refusal from the node is [`ClientError::Refused`] with the node's [`ErrorBody`]:
//! callers decide on its [`ErrorCode`], never on the message.
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
//!
//! # Transactions
//!
//! [`sign_call`] signs a contract call with a nonce, [`Client::next_nonce`] picks one above
//! the key's last on the ledger, [`Client::submit`] delivers signed transactions and
//! returns their fates, and [`Client::submit_until_fate`] keeps delivering one
//! transaction while the consortium cannot order it.

use std::time::{Duration, Instant};

use reqwest::{Method, Url};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::OnceCell;
use weinong_contracts::Call;
use weinong_keys::request_auth::REQUEST_AUTH_VERSION;
use weinong_keys::{KeyId, KeyPair, RequestScope, sign_request};
use weinong_ledger::{Transaction, TxBody};

use crate::bundle::RequestBundleBody;
use crate::dto::{
    AssessmentBody, BlockBody, CertifiedHeadBody, ConsentBody, ConsistencyBody, GovernanceBody,
    HistoryBody, KeyBody, NodeBody, ProofBundleBody, PseudonymEvaluateRequest,
    PseudonymEvaluateResponse, SubjectAccessesBody, SubmitRequest, SubmitResponse, TransactionBody,
};
use crate::error::{ErrorBody, ErrorCode};
use crate::outcome::SubmitOutcome;

/// How long one request may take, connection included.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// How many times a refusal with `Retry-After` is retried.
pub const RETRIES: usize = 5;
/// The longest `Retry-After` wait honoured; a longer one is shortened to this.
pub const RETRY_AFTER_MAX: Duration = Duration::from_secs(5);

/// What went wrong talking to a node.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The node address is not an `http://` URL.
    #[error("--node {node:?}: {why}")]
    BadNode {
        /// The address given.
        node: String,
        /// What is wrong and what to do.
        why: String,
    },
    /// The request path does not join the node's base URL.
    #[error("bad request path {0:?}")]
    BadPath(String),
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client: {0}")]
    Http(#[source] reqwest::Error),
    /// The node did not answer (connection refused, reset, timed out) or its answer was
    /// cut off.
    #[error("{method} {url}: no answer from the node: {source}")]
    NoAnswer {
        /// The method.
        method: String,
        /// The URL.
        url: String,
        /// The transport error.
        #[source]
        source: reqwest::Error,
    },
    /// The node refused the request with its error body.
    #[error("{method} {path}: node answered {status}: {}: {}", .body.code, .body.message)]
    Refused {
        /// The method.
        method: String,
        /// The path asked.
        path: String,
        /// The HTTP status.
        status: u16,
        /// The node's error.
        body: Box<ErrorBody>,
    },
    /// The node answered an error that is not an error body (e.g. a proxy's page).
    #[error("{method} {path}: node answered {status}: {text}")]
    RefusedUnreadable {
        /// The method.
        method: String,
        /// The path asked.
        path: String,
        /// The HTTP status.
        status: u16,
        /// The start of the answer.
        text: String,
    },
    /// A 2xx answer is not the JSON expected.
    #[error("{method} {path}: answer is not the JSON expected: {source}")]
    BadAnswer {
        /// The method.
        method: String,
        /// The path asked.
        path: String,
        /// The parse error.
        #[source]
        source: serde_json::Error,
    },
    /// The node is of another request-signing format, or names its scope badly.
    #[error("{0}")]
    Scope(String),
    /// A request could not be signed or encoded.
    #[error("cannot sign or encode the request: {0}")]
    Sign(String),
    /// The CA certificate file for https:// nodes is unusable.
    #[error("CA certificate {path}: {why}")]
    BadCa {
        /// The file.
        path: String,
        /// What is wrong with it.
        why: String,
    },
    /// A submission's answer does not hold one outcome per transaction.
    #[error("the node answered {got} outcomes for {sent} transactions")]
    OutcomeCount {
        /// Transactions sent.
        sent: usize,
        /// Outcomes received.
        got: usize,
    },
}

impl ClientError {
    /// The node's error code, when the node refused the request with one.
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            ClientError::Refused { body, .. } => Some(body.code),
            _ => None,
        }
    }

    /// The HTTP status of a refusal (readable or not).
    pub fn http_status(&self) -> Option<u16> {
        match self {
            ClientError::Refused { status, .. } | ClientError::RefusedUnreadable { status, .. } => {
                Some(*status)
            }
            _ => None,
        }
    }

    /// Whether the node said that what was asked for does not exist (HTTP 404: no such
    /// key, transaction, block, consent or request).
    pub fn is_not_found(&self) -> bool {
        matches!(self, ClientError::Refused { status: 404, .. })
    }
}

/// Results of this module.
pub type Result<T, E = ClientError> = std::result::Result<T, E>;

/// One attempt's outcome.
enum Answer {
    Done(Vec<u8>),
    RetryAfter(Duration, ClientError),
}

pub use weinong_keys::clock::now_ms;

/// The exact request target (path and query) the server sees for `url`, as signed.
pub fn request_target(url: &Url) -> String {
    match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_owned(),
    }
}

/// Signs `call` by `key` as a transaction with this nonce (the signer's clock as its time).
pub fn sign_call(key: &KeyPair, call: &Call, nonce: u64) -> Result<Transaction> {
    let payload = call
        .encode()
        .map_err(|e| ClientError::Sign(e.to_string()))?;
    let body = TxBody {
        kind: call.kind(),
        signer: key.key_id(),
        nonce,
        time_ms: now_ms(),
        payload,
    };
    Transaction::sign(body, key).map_err(|e| ClientError::Sign(e.to_string()))
}

/// The next nonce after the ledger's `last` (none if the key never signed): now in ms,
/// above `last`.
pub fn nonce_after(last: Option<u64>) -> u64 {
    last.map_or(now_ms(), |l| now_ms().max(l.saturating_add(1)))
}

/// Environment variable naming the consortium CA certificate (PEM) that https:// nodes'
/// certificates must chain to.
pub const CA_CERT_ENV: &str = "WEINONG_CA_CERT";

/// The certificates a client trusts for `https://` nodes: the consortium CA only.
#[derive(Clone, Default)]
pub struct NodeTrust {
    roots: Vec<reqwest::Certificate>,
    /// Where the roots came from, for errors.
    source: Option<String>,
}

impl NodeTrust {
    /// Trusts no certificate: `https://` nodes are refused before any connection.
    pub fn none() -> Self {
        Self::default()
    }

    /// The CA certificates (PEM, one or more) in `path`.
    pub fn from_pem_file(path: &std::path::Path) -> Result<Self> {
        let shown = path.display().to_string();
        let bad = |why: String| ClientError::BadCa {
            path: shown.clone(),
            why,
        };
        let pem = std::fs::read(path).map_err(|e| bad(format!("cannot read it: {e}")))?;
        let roots = reqwest::Certificate::from_pem_bundle(&pem)
            .map_err(|e| bad(format!("not PEM certificates: {e}")))?;
        if roots.is_empty() {
            return Err(bad("holds no -----BEGIN CERTIFICATE----- block".to_owned()));
        }
        Ok(Self {
            roots,
            source: Some(shown),
        })
    }

    /// The file named by [`CA_CERT_ENV`], or [`NodeTrust::none`] when it is unset.
    pub fn from_env() -> Result<Self> {
        match std::env::var_os(CA_CERT_ENV) {
            Some(path) if !path.is_empty() => Self::from_pem_file(std::path::Path::new(&path)),
            _ => Ok(Self::none()),
        }
    }

    /// A reqwest client builder that trusts these roots and nothing else.
    pub fn builder(&self) -> reqwest::ClientBuilder {
        let mut builder = reqwest::Client::builder()
            .use_rustls_tls()
            .tls_built_in_root_certs(false)
            .https_only(false);
        for root in &self.roots {
            builder = builder.add_root_certificate(root.clone());
        }
        builder
    }

    fn is_empty(&self) -> bool {
        self.roots.is_empty()
    }
}

impl std::fmt::Debug for NodeTrust {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeTrust")
            .field("roots", &self.roots.len())
            .field("source", &self.source)
            .finish()
    }
}

/// Checks a node URL for [`Client`]: `http://` or `https://` (the latter only with a CA to
/// check the node against), with a trailing `/` on its path.
pub fn node_url(node: &str, trust: &NodeTrust) -> Result<Url> {
    let mut base = Url::parse(node).map_err(|e| ClientError::BadNode {
        node: node.to_owned(),
        why: format!("not a URL like http://127.0.0.1:8080 or https://node.example:8101 ({e})"),
    })?;
    match base.scheme() {
        "http" => {}
        "https" if trust.is_empty() => {
            return Err(ClientError::BadNode {
                node: node.to_owned(),
                why: format!(
                    "https:// needs the consortium's CA certificate to check the node against: set {CA_CERT_ENV}=PATH (PEM)"
                ),
            });
        }
        "https" => {}
        other => {
            return Err(ClientError::BadNode {
                node: node.to_owned(),
                why: format!("scheme {other}:// is neither http:// nor https://"),
            });
        }
    }
    if !base.path().ends_with('/') {
        let path = format!("{}/", base.path());
        base.set_path(&path);
    }
    Ok(base)
}

/// A client bound to one node and one key.
pub struct Client {
    base: Url,
    key: KeyPair,
    http: reqwest::Client,
    /// The node and consortium requests are signed for, pinned once known.
    scope: OnceCell<RequestScope>,
}

impl Client {
    /// A client for the node at `node` (e.g. `http://127.0.0.1:8080`), signing with `key`;
    /// `https://` nodes are checked against the CA named by [`CA_CERT_ENV`].
    pub fn new(node: &str, key: KeyPair) -> Result<Self> {
        Self::with_trust(node, key, &NodeTrust::from_env()?)
    }

    /// A client for the node at `node`, signing with `key`, trusting `trust` for https://.
    pub fn with_trust(node: &str, key: KeyPair, trust: &NodeTrust) -> Result<Self> {
        let base = node_url(node, trust)?;
        let http = trust
            .builder()
            .timeout(REQUEST_TIMEOUT)
            .build()
            .map_err(ClientError::Http)?;
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

    /// `GET /v1/node` (unsigned): the node's name, key id, consortium and signing format.
    pub async fn node(&self) -> Result<NodeBody> {
        let url = self.url("/v1/node")?;
        let no_answer = |source| ClientError::NoAnswer {
            method: "GET".into(),
            url: url.to_string(),
            source,
        };
        let res = self.http.get(url.clone()).send().await.map_err(no_answer)?;
        let status = res.status();
        if status == reqwest::StatusCode::NOT_FOUND {
            return Err(ClientError::Scope(format!(
                "GET {url}: node answered {status}; a node older than request format {REQUEST_AUTH_VERSION} has no /v1/node: upgrade it"
            )));
        }
        if !status.is_success() {
            // Overloaded, stopping, behind a proxy that failed: the node's refusal as is.
            let bytes = res.bytes().await.map_err(no_answer)?;
            return Err(refusal("GET", "/v1/node", status.as_u16(), &bytes));
        }
        let bytes = res.bytes().await.map_err(no_answer)?;
        parse("GET", "/v1/node", &bytes)
    }

    async fn discover_scope(&self) -> Result<RequestScope> {
        let answer = self.node().await?;
        if answer.request_auth_version != REQUEST_AUTH_VERSION {
            return Err(ClientError::Scope(format!(
                "the node checks request format {}, this client signs format {REQUEST_AUTH_VERSION}; use a matching weinong release",
                answer.request_auth_version
            )));
        }
        let node: KeyId = answer
            .node_key
            .parse()
            .map_err(|e| ClientError::Scope(format!("GET /v1/node: node_key: {e}")))?;
        let mut consortium = [0u8; 32];
        hex::decode_to_slice(&answer.consortium, &mut consortium).map_err(|e| {
            ClientError::Scope(format!(
                "GET /v1/node: consortium is not 64 hex characters: {e}"
            ))
        })?;
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
            .map_err(|_| ClientError::BadPath(path.to_owned()))
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
            .map_err(|e| ClientError::Sign(e.to_string()))?;
        let mut req = self.http.request(method.clone(), url.clone());
        for (name, value) in sig.headers() {
            req = req.header(name, value);
        }
        if !body.is_empty() {
            req = req
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.to_vec());
        }
        let no_answer = |source| ClientError::NoAnswer {
            method: method.to_string(),
            url: url.to_string(),
            source,
        };
        let res = req.send().await.map_err(no_answer)?;
        let status = res.status();
        let retry_after = res
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let bytes = res.bytes().await.map_err(no_answer)?;
        if status.is_success() {
            return Ok(Answer::Done(bytes.to_vec()));
        }
        let error = refusal(method.as_str(), path, status.as_u16(), &bytes);
        match retry_after {
            Some(wait) => Ok(Answer::RetryAfter(wait, error)),
            None => Err(error),
        }
    }

    /// A signed GET, parsed as `T`.
    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        let bytes = self.send(Method::GET, path, Vec::new()).await?;
        parse("GET", path, &bytes)
    }

    /// A signed POST of `body` as JSON, answer parsed as `T`.
    pub async fn post<T: DeserializeOwned, B: Serialize + ?Sized>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T> {
        let body = serde_json::to_vec(body).map_err(|e| ClientError::Sign(e.to_string()))?;
        let bytes = self.send(Method::POST, path, body).await?;
        parse("POST", path, &bytes)
    }

    // ---- typed routes ----

    /// `GET /v1/keys/{id}`: a key as the ledger state knows it.
    pub async fn key_info(&self, key: &KeyId) -> Result<KeyBody> {
        self.get(&format!("/v1/keys/{key}")).await
    }

    /// `GET /v1/governance`: the consortium id, next change number and threshold.
    pub async fn governance(&self) -> Result<GovernanceBody> {
        self.get("/v1/governance").await
    }

    /// `GET /v1/transactions/{hash}`: a stored transaction.
    pub async fn transaction(&self, hash: &str) -> Result<TransactionBody> {
        self.get(&format!("/v1/transactions/{hash}")).await
    }

    /// `GET /v1/blocks/{height}`: a certified block header.
    pub async fn block(&self, height: u64) -> Result<BlockBody> {
        self.get(&format!("/v1/blocks/{height}")).await
    }

    /// `GET /v1/blocks/latest`: the tip.
    pub async fn latest_block(&self) -> Result<BlockBody> {
        self.get("/v1/blocks/latest").await
    }

    /// `GET /v1/tree-head`: the certified head.
    pub async fn tree_head(&self) -> Result<CertifiedHeadBody> {
        self.get("/v1/tree-head").await
    }

    /// `GET /v1/proofs/consistency`: from one block's log to a later one's (default the
    /// tip).
    pub async fn consistency(
        &self,
        from_height: u64,
        to_height: Option<u64>,
    ) -> Result<ConsistencyBody> {
        let mut path = format!("/v1/proofs/consistency?from_height={from_height}");
        if let Some(to) = to_height {
            path.push_str(&format!("&to_height={to}"));
        }
        self.get(&path).await
    }

    /// `GET /v1/bundles/{hash}`: a transaction's proof bundle.
    pub async fn proof_bundle(&self, hash: &str) -> Result<ProofBundleBody> {
        self.get(&format!("/v1/bundles/{hash}")).await
    }

    /// `GET /v1/consents/{id}`: a consent's status.
    pub async fn consent(&self, id: &str) -> Result<ConsentBody> {
        self.get(&format!("/v1/consents/{id}")).await
    }

    /// `GET /v1/requests/{id}/history`: an assessment request's history.
    pub async fn history(&self, request: &str) -> Result<HistoryBody> {
        self.get(&format!("/v1/requests/{request}/history")).await
    }

    /// `GET /v1/assessments/{id}`: a request as its requester follows it, with the sealed
    /// shares this node holds for the caller.
    pub async fn assessment(&self, request: &str) -> Result<AssessmentBody> {
        self.get(&format!("/v1/assessments/{request}")).await
    }

    /// `GET /v1/requests/{id}/bundle`: a request's whole story with proofs.
    pub async fn request_bundle(&self, request: &str) -> Result<RequestBundleBody> {
        self.get(&format!("/v1/requests/{request}/bundle")).await
    }

    /// `GET /v1/subjects/{pseudonym}/accesses`: every access to a subject's data.
    pub async fn subject_accesses(&self, pseudonym: &str) -> Result<SubjectAccessesBody> {
        self.get(&format!("/v1/subjects/{pseudonym}/accesses"))
            .await
    }

    /// `POST /v1/pseudonyms/evaluate`: the node's OPRF over blinded elements (hex).
    pub async fn evaluate_pseudonyms(
        &self,
        blinded: Vec<String>,
    ) -> Result<PseudonymEvaluateResponse> {
        self.post(
            "/v1/pseudonyms/evaluate",
            &PseudonymEvaluateRequest { blinded },
        )
        .await
    }

    // ---- transactions ----

    /// The nonce to sign with: `chosen` if given, else now in ms, above this client's key's
    /// last nonce on the ledger.
    pub async fn next_nonce(&self, chosen: Option<u64>) -> Result<u64> {
        if let Some(n) = chosen {
            return Ok(n);
        }
        let info = self.key_info(&self.key.key_id()).await?;
        Ok(nonce_after(info.last_nonce))
    }

    /// `POST /v1/transactions`: submits signed transactions (hex) and returns their
    /// outcomes, one per transaction, in order.
    pub async fn submit(&self, transactions: Vec<String>) -> Result<Vec<SubmitOutcome>> {
        let sent = transactions.len();
        let answer: SubmitResponse = self
            .post("/v1/transactions", &SubmitRequest { transactions })
            .await?;
        if answer.outcomes.len() != sent {
            return Err(ClientError::OutcomeCount {
                sent,
                got: answer.outcomes.len(),
            });
        }
        Ok(answer.outcomes)
    }

    /// Submits one signed transaction until it has a fate: committed or rejected. While
    /// the consortium cannot order it (no leader for a moment, e.g. after a node failed),
    /// the same transaction is submitted again every `every` until `retry_for` has passed;
    /// before each retry, and after a refusal that may be a replay of an earlier attempt,
    /// it is looked up, so one that did commit counts once (as committed, with its index).
    pub async fn submit_until_fate(
        &self,
        tx: &Transaction,
        retry_for: Duration,
        every: Duration,
    ) -> Result<SubmitOutcome> {
        let hex_tx = hex::encode(tx.as_bytes());
        let hash = tx.hash().to_hex();
        let give_up = Instant::now() + retry_for;
        loop {
            let mut outcomes = self.submit(vec![hex_tx.clone()]).await?;
            let outcome = outcomes
                .pop()
                .ok_or(ClientError::OutcomeCount { sent: 1, got: 0 })?;
            match &outcome {
                SubmitOutcome::Committed { .. } => return Ok(outcome),
                _ if outcome.is_retryable() && Instant::now() < give_up => {
                    if let Some(done) = self.committed(&hash).await {
                        return Ok(done);
                    }
                    tokio::time::sleep(every).await;
                }
                _ => {
                    return Ok(self.committed(&hash).await.unwrap_or(outcome));
                }
            }
        }
    }

    /// The transaction `hash` as committed, if the node holds it.
    async fn committed(&self, hash: &str) -> Option<SubmitOutcome> {
        let t = self.transaction(hash).await.ok()?;
        Some(SubmitOutcome::Committed {
            tx: t.hash,
            height: t.height,
            index: t.index,
        })
    }
}

/// Parses a 2xx answer.
fn parse<T: DeserializeOwned>(method: &str, path: &str, bytes: &[u8]) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|source| ClientError::BadAnswer {
        method: method.to_owned(),
        path: path.to_owned(),
        source,
    })
}

/// The error of a non-2xx answer: the node's error body when it is one.
fn refusal(method: &str, path: &str, status: u16, bytes: &[u8]) -> ClientError {
    match serde_json::from_slice::<ErrorBody>(bytes) {
        Ok(body) => ClientError::Refused {
            method: method.to_owned(),
            path: path.to_owned(),
            status,
            body: Box::new(body),
        },
        Err(_) => ClientError::RefusedUnreadable {
            method: method.to_owned(),
            path: path.to_owned(),
            status,
            text: String::from_utf8_lossy(bytes).chars().take(500).collect(),
        },
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

    #[test]
    fn refusals_are_read_by_code() {
        // The original wording and a rewording: the same code, the same decision.
        for message in ["key 00 is not registered", "unheard of"] {
            let body = ErrorBody::new(ErrorCode::NoSuchKey, message);
            let e = refusal(
                "GET",
                "/v1/keys/00",
                404,
                &serde_json::to_vec(&body).unwrap(),
            );
            assert_eq!(e.code(), Some(ErrorCode::NoSuchKey), "{message}");
            assert!(e.is_not_found(), "{message}");
        }
        let e = refusal("GET", "/x", 502, b"<html>bad gateway</html>");
        assert_eq!(e.code(), None);
        assert!(e.to_string().contains("bad gateway"), "{e}");
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
                &serde_json::to_string(&NodeBody {
                    name: "n".into(),
                    node_key: here.node.to_hex(),
                    consortium: hex::encode(here.consortium),
                    request_auth_version: REQUEST_AUTH_VERSION,
                })
                .unwrap(),
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
            reply(&mut sock, "{\"outcomes\":[{\"status\":\"unavailable\",\"tx\":\"00\",\"reason\":\"no leader\"}]}").await;
            (method, target, verdict)
        });
        let client = Client::new(&format!("http://{addr}"), key).unwrap();
        let outcomes = client.submit(vec!["00".into()]).await.unwrap();
        assert_eq!(
            outcomes,
            vec![SubmitOutcome::Unavailable {
                tx: "00".into(),
                reason: "no leader".into()
            }]
        );
        assert_eq!(client.scope().await.unwrap(), here);
        let (method, target, verdict) = server.await.unwrap();
        assert_eq!(
            (method.as_str(), target.as_str()),
            ("POST", "/v1/transactions")
        );
        verdict.unwrap();
    }
}
