//! `weinong console`: serves the web console (`apps/console`, built into `dist/`) and
//! passes its `/v1` calls through to one node, so the page and the API share an origin.
//!
//! The proxy is deliberately dumb: it forwards the method, the path and query, the body
//! and the signature headers unchanged and returns the node's answer. It holds no key and
//! signs nothing — the page signs every request with the key it opened itself — so a
//! compromised console server can drop or delay calls but cannot forge one; it never logs
//! a body. Static files carry a Content-Security-Policy that allows only this origin's
//! scripts and WebAssembly, so an injected script cannot load from elsewhere or send the
//! opened key out.
//!
//! Must not know the node's internals or the API's types: bytes in, bytes out.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use clap::Args;
use tower_http::compression::Compression;
use tower_http::services::{ServeDir, ServeFile};
use tower_http::set_header::SetResponseHeaderLayer;

use crate::Outcome;

/// `weinong console`.
#[derive(Args)]
pub struct ConsoleArgs {
    /// The node whose API the console talks to, e.g. http://127.0.0.1:8101, or
    /// https://node:8101 with the consortium CA in WEINONG_CA_CERT.
    #[arg(long, env = "WEINONG_NODE")]
    pub node: String,
    /// Address to serve on (loopback by default; put TLS in front for anything else).
    #[arg(long, default_value = "127.0.0.1:8088")]
    pub listen: SocketAddr,
    /// The built console (`scripts/console-build.sh` writes apps/console/dist).
    #[arg(long, default_value = DEFAULT_DIST)]
    pub dist: PathBuf,
}

/// Where `scripts/console-build.sh` puts the bundle, in this source tree.
pub const DEFAULT_DIST: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/console/dist");

/// The largest request body passed through (the node's own limit is lower; this only
/// stops the proxy from buffering without bound).
const BODY_MAX: usize = 16 << 20;
/// How long one call to the node may take before the page is told it is unreachable.
const NODE_TIMEOUT: Duration = Duration::from_secs(60);
/// Request headers passed to the node: the signature headers and the body's type.
const FORWARDED: [&str; 7] = [
    "content-type",
    "accept",
    "x-weinong-key",
    "x-weinong-time",
    "x-weinong-signature",
    "x-weinong-consortium",
    "x-weinong-node",
];
/// Response headers passed back to the page.
const RETURNED: [&str; 2] = ["content-type", "retry-after"];
/// Only this origin's scripts, styles, images and WebAssembly; Element Plus sets inline
/// styles, hence `'unsafe-inline'` for styles (not scripts).
const CSP: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; worker-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

struct Upstream {
    node: String,
    http: reqwest::Client,
}

/// Serves until Ctrl-C.
pub fn console(args: ConsoleArgs) -> Result<Outcome> {
    let index = args.dist.join("index.html");
    if !index.is_file() {
        bail!(
            "{} is missing: build the console first with `bash scripts/console-build.sh` (or pass --dist)",
            index.display()
        );
    }
    let node = args.node.trim_end_matches('/').to_owned();
    // Checks the scheme, and that an https:// node comes with a CA to check it against.
    weinong_api::client::node_url(&node, &weinong_api::client::NodeTrust::from_env()?)
        .map_err(|e| anyhow::anyhow!("--node: {e}"))?;
    crate::client::block_on(async move {
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("cannot listen on {}", args.listen))?;
        println!(
            "console: http://{} (node {node}, files {})",
            listener.local_addr()?,
            args.dist.display()
        );
        serve(listener, &args.dist, node, async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
        Ok(Outcome::Ok)
    })
}

/// Serves the console from `dist` on `listener`, passing API calls to `node`, until
/// `shutdown` completes (`weinong devnet` runs it beside its nodes).
pub async fn serve(
    listener: tokio::net::TcpListener,
    dist: &std::path::Path,
    node: String,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<()> {
    let app = router(dist, node)?;
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
        .context("the console server stopped")
}

/// The static files (any unknown path answers `index.html`, the page routes itself)
/// and the pass-through of the node's routes.
fn router(dist: &std::path::Path, node: String) -> Result<Router> {
    let http = weinong_api::client::NodeTrust::from_env()?
        .builder()
        .timeout(NODE_TIMEOUT)
        .build()
        .context("cannot build the HTTP client")?;
    let upstream = Arc::new(Upstream { node, http });
    let files = ServeDir::new(dist).fallback(ServeFile::new(dist.join("index.html")));
    let header = |name: &'static str, value: &'static str| {
        SetResponseHeaderLayer::overriding(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        )
    };
    Ok(Router::new()
        .route("/v1/{*rest}", axum::routing::any(pass))
        .route("/healthz", axum::routing::get(pass))
        .route("/readyz", axum::routing::get(pass))
        .route("/metrics", axum::routing::get(pass))
        .route("/openapi.json", axum::routing::get(pass))
        .with_state(upstream)
        // The bundle (JS, WebAssembly, CSS) compresses to about a third. API answers are
        // passed as they are: compressing secrets beside reflected input invites BREACH.
        .fallback_service(Compression::new(files))
        .layer(header("content-security-policy", CSP))
        .layer(header("x-content-type-options", "nosniff"))
        .layer(header("referrer-policy", "no-referrer"))
        .layer(header("x-frame-options", "DENY")))
}

/// One call passed through to the node.
async fn pass(State(up): State<Arc<Upstream>>, request: Request) -> Response {
    let method = request.method().clone();
    let target = request.uri().path_and_query().map_or_else(
        || request.uri().path().to_owned(),
        |p| p.as_str().to_owned(),
    );
    let mut headers = HeaderMap::new();
    for name in FORWARDED {
        if let Some(value) = request.headers().get(name) {
            headers.insert(HeaderName::from_static(name), value.clone());
        }
    }
    let body = match axum::body::to_bytes(request.into_body(), BODY_MAX).await {
        Ok(body) => body,
        Err(_) => {
            return refusal(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
                format!("the request body is over {BODY_MAX} bytes"),
            );
        }
    };
    let url = format!("{}{target}", up.node);
    let answer = up
        .http
        .request(method, &url)
        .headers(headers)
        .body(body)
        .send()
        .await;
    let answer = match answer {
        Ok(answer) => answer,
        Err(e) => {
            return refusal(
                StatusCode::BAD_GATEWAY,
                "node_unreachable",
                format!("the node at {} did not answer: {e}", up.node),
            );
        }
    };
    let status = answer.status();
    let mut back = HeaderMap::new();
    for name in RETURNED {
        if let Some(value) = answer.headers().get(name) {
            back.insert(HeaderName::from_static(name), value.clone());
        }
    }
    let bytes: Bytes = match answer.bytes().await {
        Ok(bytes) => bytes,
        Err(e) => {
            return refusal(
                StatusCode::BAD_GATEWAY,
                "node_unreachable",
                format!("the node at {} broke off its answer: {e}", up.node),
            );
        }
    };
    let mut response = Response::new(Body::from(bytes));
    *response.status_mut() = status;
    *response.headers_mut() = back;
    response
}

/// An error of the console server itself, in the node's error shape.
fn refusal(status: StatusCode, code: &str, message: String) -> Response {
    let body = serde_json::json!({ "code": code, "number": 0, "message": message });
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}
