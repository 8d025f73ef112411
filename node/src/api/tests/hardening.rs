//! Attacks on the real server ([`super::super::serve`] on a loopback socket, over the
//! fixture's real RocksDB ledger): slowloris headers and bodies, idle connections, a flood
//! of requests and of connections, one key flooding the replay cache, requests signed for
//! another node or consortium, and a request captured before a restart.
//!
//! Bounds are shrunk to fractions of a second through [`ApiConfig`]; each test asserts what
//! the server does (closes, answers 408/429/503/401), never how fast: the waits below are
//! generous upper bounds so a slow machine cannot fail them.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use weinong_keys::request_auth::HEADER_NODE;

use super::*;

/// Far above every bound the tests set: a server that has not acted by then never will.
const PATIENCE: Duration = Duration::from_secs(20);

/// A server over the fixture's ledger with `cfg`; dropping the handle's sender stops it.
pub(super) struct Server {
    pub(super) addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Server {
    pub(super) async fn start(f: &Fixture, cfg: ApiConfig) -> Server {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(super::super::serve(
            listener,
            f.shared.clone(),
            cfg,
            async {
                let _ = stopped.await;
            },
        ));
        Server {
            addr,
            stop: Some(stop),
            task,
        }
    }

    pub(super) async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        tokio::time::timeout(PATIENCE, &mut self.task)
            .await
            .expect("the server stops")
            .unwrap()
            .unwrap();
    }
}

/// The request head (and body) of `req`, as bytes on the wire.
fn wire(req: &Request<Body>, body: &[u8], close: bool) -> Vec<u8> {
    let mut head = format!(
        "{} {} HTTP/1.1\r\nhost: test\r\ncontent-length: {}\r\n",
        req.method(),
        req.uri(),
        body.len()
    );
    if close {
        head.push_str("connection: close\r\n");
    }
    for (name, value) in req.headers() {
        head.push_str(&format!("{name}: {}\r\n", value.to_str().unwrap()));
    }
    head.push_str("\r\n");
    let mut out = head.into_bytes();
    out.extend_from_slice(body);
    out
}

/// An answer: status, the `retry-after` header if any, JSON body.
struct Answer {
    status: u16,
    retry_after: Option<String>,
    body: Value,
}

impl Answer {
    /// Expects an error answer with this status and code; returns its message.
    fn refused(&self, status: u16, code: &str) -> &str {
        assert_eq!(
            (self.status, self.body["code"].as_str()),
            (status, Some(code)),
            "{}",
            self.body
        );
        self.body["message"].as_str().unwrap()
    }
}

fn parse_answer(raw: &[u8]) -> Answer {
    let text = String::from_utf8_lossy(raw);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no HTTP answer: {text:?}"));
    let status = head
        .get(9..12)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no status: {head:?}"));
    let retry_after = head.lines().find_map(|l| {
        l.split_once(':')
            .filter(|(n, _)| n.eq_ignore_ascii_case("retry-after"))
            .map(|(_, v)| v.trim().to_owned())
    });
    let body = serde_json::from_str(body).unwrap_or(Value::Null);
    Answer {
        status,
        retry_after,
        body,
    }
}

/// Sends `req` over a fresh connection and reads the whole answer.
async fn call(addr: SocketAddr, req: Request<Body>) -> Answer {
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX).await.unwrap();
    let req = Request::from_parts(parts, Body::empty());
    let mut sock = TcpStream::connect(addr).await.unwrap();
    sock.write_all(&wire(&req, &body, true)).await.unwrap();
    let mut raw = Vec::new();
    tokio::time::timeout(PATIENCE, sock.read_to_end(&mut raw))
        .await
        .expect("an answer")
        .unwrap();
    parse_answer(&raw)
}

/// Asks for the latest block until it is served (200), as a client after an attack
/// would; `None` if it never is within about five seconds.
async fn served_again(f: &Fixture, addr: SocketAddr) -> Option<Answer> {
    for _ in 0..100 {
        let answer = call(addr, f.get(&f.auditor, "/v1/blocks/latest")).await;
        if answer.status == 200 {
            return Some(answer);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    None
}

async fn unsigned(addr: SocketAddr, path: &str) -> Answer {
    call(addr, Request::get(path).body(Body::empty()).unwrap()).await
}

/// Reads until the server closes the connection; fails if it does not within [`PATIENCE`].
async fn closed_by_server(sock: &mut TcpStream) -> Vec<u8> {
    let mut raw = Vec::new();
    let mut chunk = [0u8; 1024];
    tokio::time::timeout(PATIENCE, async {
        loop {
            match sock.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => raw.extend_from_slice(&chunk[..n]),
            }
        }
    })
    .await
    .expect("the server closes the connection");
    raw
}

fn quick(cfg: ApiConfig) -> ApiConfig {
    ApiConfig {
        header_read_timeout: Duration::from_millis(500),
        ..cfg
    }
}

fn metric(text: &str, name: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {name} in {text}"))
}

async fn metrics(addr: SocketAddr) -> String {
    let mut sock = TcpStream::connect(addr).await.unwrap();
    sock.write_all(b"GET /metrics HTTP/1.1\r\nhost: t\r\nconnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut raw = Vec::new();
    sock.read_to_end(&mut raw).await.unwrap();
    String::from_utf8(raw).unwrap()
}

#[tokio::test]
async fn slowloris_headers_and_idle_connections_are_closed_while_others_are_served() {
    let f = fixture();
    let server = Server::start(&f, quick(ApiConfig::default())).await;
    // Headers trickled a byte at a time, never finished.
    let mut slow = TcpStream::connect(server.addr).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\n").await.unwrap();
    let trickle = tokio::spawn(async move {
        let mut sent = 0usize;
        for _ in 0..200 {
            tokio::time::sleep(Duration::from_millis(50)).await;
            if slow.write_all(b"x").await.is_err() {
                break;
            }
            sent += 1;
        }
        let rest = closed_by_server(&mut slow).await;
        (sent, rest)
    });
    // An idle kept-alive connection after one answered request.
    let mut idle = TcpStream::connect(server.addr).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nhost: t\r\n\r\n")
        .await
        .unwrap();
    // A normal client is served meanwhile.
    let answer = call(server.addr, f.get(&f.auditor, "/v1/blocks/latest")).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let idle_raw = closed_by_server(&mut idle).await;
    assert!(
        String::from_utf8_lossy(&idle_raw).starts_with("HTTP/1.1 200"),
        "the idle connection had its first answer"
    );
    let (sent, rest) = trickle.await.unwrap();
    // Cut off long before the 200 bytes it would have trickled, with no answer sent.
    assert!(sent < 200, "the slow connection was never closed");
    assert!(
        rest.is_empty() || !String::from_utf8_lossy(&rest).contains("200 OK"),
        "{rest:?}"
    );
    let answer = call(server.addr, f.get(&f.auditor, "/v1/blocks/latest")).await;
    assert_eq!(answer.status, 200);
    server.stop().await;
}

#[tokio::test]
async fn a_trickled_body_gets_408_and_a_slow_request_503_naming_the_limit() {
    let f = fixture();
    let body = submit_body(&[]);
    let trickled = |server: SocketAddr| {
        let req = f.signed(&f.admin, Method::POST, "/v1/transactions", body.clone());
        let bytes = wire(&req, &body, true);
        let body_len = body.len();
        async move {
            let sock = TcpStream::connect(server).await.unwrap();
            let (mut read, mut write) = sock.into_split();
            // The answer is read while the body trickles: it comes before the body ends.
            let reader = tokio::spawn(async move {
                let mut raw = Vec::new();
                let _ = tokio::time::timeout(PATIENCE, read.read_to_end(&mut raw)).await;
                raw
            });
            let (head, rest) = bytes.split_at(bytes.len() - body_len);
            write.write_all(head).await.unwrap();
            for b in rest {
                tokio::time::sleep(Duration::from_millis(100)).await;
                if reader.is_finished() || write.write_all(&[*b]).await.is_err() {
                    break;
                }
            }
            parse_answer(&reader.await.unwrap())
        }
    };
    let bound = Duration::from_millis(300);
    let body_bound = ApiConfig {
        body_read_timeout: bound,
        ..ApiConfig::default()
    };
    let handler_bound = ApiConfig {
        handler_timeout: bound,
        ..ApiConfig::default()
    };
    let server = Server::start(&f, body_bound).await;
    let answer = trickled(server.addr).await;
    let message = answer.refused(408, "body_timeout");
    assert!(message.contains("300 ms"), "{}", answer.body);
    server.stop().await;

    let server = Server::start(&f, handler_bound).await;
    let answer = trickled(server.addr).await;
    let message = answer.refused(503, "handler_timeout");
    assert!(message.contains("HTTP_HANDLER_TIMEOUT"), "{message}");
    assert!(metric(&metrics(server.addr).await, "weinong_http_timeouts_total") >= 1);
    server.stop().await;
}

#[tokio::test]
async fn a_request_flood_is_shed_with_503_and_the_node_serves_after_it() {
    let f = fixture();
    let server = Server::start(
        &f,
        ApiConfig {
            requests_in_flight: 2,
            body_read_timeout: Duration::from_secs(3),
            ..ApiConfig::default()
        },
    )
    .await;
    // Two requests whose bodies never finish hold both slots.
    let body = submit_body(&[]);
    let mut holders = Vec::new();
    for _ in 0..2 {
        let req = f.signed(&f.admin, Method::POST, "/v1/transactions", body.clone());
        let bytes = wire(&req, &body, true);
        let mut sock = TcpStream::connect(server.addr).await.unwrap();
        sock.write_all(&bytes[..bytes.len() - 1]).await.unwrap();
        holders.push(sock);
    }
    // Let both reach the handler, then flood.
    let mut shed = 0;
    for _ in 0..100 {
        let answer = call(server.addr, f.get(&f.auditor, "/v1/blocks/latest")).await;
        if answer.status == 503 {
            assert_eq!(answer.body["code"], "overloaded", "{}", answer.body);
            assert_eq!(answer.retry_after.as_deref(), Some("1"));
            shed += 1;
            if shed == 20 {
                break;
            }
        } else {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    assert_eq!(shed, 20, "requests beyond the limit are shed");
    let text = metrics(server.addr).await;
    // /metrics may itself have been shed; then ask again once the holders are gone.
    drop(holders);
    assert!(
        served_again(&f, server.addr).await.is_some(),
        "the node serves again after the flood"
    );
    let text = if text.contains("weinong_http_shed_total") {
        text
    } else {
        metrics(server.addr).await
    };
    assert!(metric(&text, "weinong_http_shed_total") >= 20, "{text}");
    server.stop().await;
}

#[tokio::test]
async fn connections_past_the_limit_get_503_and_idle_ones_are_dropped() {
    let f = fixture();
    let server = Server::start(
        &f,
        quick(ApiConfig {
            connections_max: 3,
            ..ApiConfig::default()
        }),
    )
    .await;
    let mut idle = Vec::new();
    for _ in 0..3 {
        idle.push(TcpStream::connect(server.addr).await.unwrap());
    }
    // Accepted in order: by the time the fourth is accepted, the three hold the slots.
    let mut extra = TcpStream::connect(server.addr).await.unwrap();
    let raw = closed_by_server(&mut extra).await;
    let answer = parse_answer(&raw);
    assert_eq!(answer.status, 503);
    assert_eq!(answer.body["code"], "too_many_connections");
    assert_eq!(answer.retry_after.as_deref(), Some("1"));
    // The idle connections send nothing and are closed after the header-read bound.
    for sock in &mut idle {
        closed_by_server(sock).await;
    }
    assert!(served_again(&f, server.addr).await.is_some());
    let text = metrics(server.addr).await;
    assert!(
        metric(&text, "weinong_http_connections_refused_total") >= 1,
        "{text}"
    );
    server.stop().await;
}

#[tokio::test]
async fn one_key_flooding_the_replay_cache_gets_429_while_another_key_is_served() {
    let f = fixture();
    let server = Server::start(
        &f,
        ApiConfig {
            replay_per_key: 3,
            replay_keys: 2,
            ..ApiConfig::default()
        },
    )
    .await;
    for _ in 0..3 {
        let answer = call(server.addr, f.get(&f.auditor, "/v1/blocks/latest")).await;
        assert_eq!(answer.status, 200, "{}", answer.body);
    }
    let answer = call(server.addr, f.get(&f.auditor, "/v1/blocks/latest")).await;
    assert_eq!(answer.status, 429, "{}", answer.body);
    assert_eq!(answer.body["code"], "too_many_requests");
    assert_eq!(answer.retry_after.as_deref(), Some("1"));
    // Another key still gets its answers.
    for _ in 0..3 {
        let answer = call(server.addr, f.get(&f.admin, "/v1/blocks/latest")).await;
        assert_eq!(answer.status, 200, "{}", answer.body);
    }
    // A third key finds the cache at its limit of keys.
    let answer = call(server.addr, f.get(&f.registrar, "/v1/governance")).await;
    assert_eq!(answer.status, 503, "{}", answer.body);
    assert_eq!(answer.body["code"], "busy");
    let text = metrics(server.addr).await;
    assert_eq!(metric(&text, "weinong_http_replay_full_total"), 2, "{text}");
    server.stop().await;
}

#[tokio::test]
async fn a_request_for_another_node_or_consortium_is_refused_naming_the_field() {
    let f = fixture();
    let server = Server::start(&f, ApiConfig::default()).await;
    let node = unsigned(server.addr, "/v1/node").await;
    assert_eq!(node.status, 200);
    assert_eq!(node.body["node_key"], f.shared.key_id.to_hex());
    assert_eq!(node.body["consortium"], f.shared.consortium.to_hex());
    assert_eq!(node.body["request_auth_version"], 2);

    // The auditor's read of the latest block, signed for `scope`.
    let latest_for = |scope: &RequestScope| {
        signed_for(
            scope,
            &f.auditor,
            Method::GET,
            "/v1/blocks/latest",
            vec![],
            now_ms(),
        )
    };
    // Signed for member 1's node, sent to this one (member 0's).
    let for_b = RequestScope {
        node: f.members[1].key_id(),
        ..f.scope()
    };
    let answer = call(server.addr, latest_for(&for_b)).await;
    let message = answer.refused(401, "wrong_node");
    assert!(
        message.contains(&f.members[1].key_id().to_hex())
            && message.contains(&f.shared.key_id.to_hex()),
        "{message}"
    );
    // The same request with its node header rewritten to this node: the signature (made
    // for the other node) does not verify here.
    let mut relabelled = latest_for(&for_b);
    relabelled
        .headers_mut()
        .insert(HEADER_NODE, f.shared.key_id.to_hex().parse().unwrap());
    let answer = call(server.addr, relabelled).await;
    assert_eq!(answer.body["code"], "bad_signature", "{}", answer.body);

    let other_consortium = RequestScope {
        consortium: [0xee; 32],
        ..f.scope()
    };
    let answer = call(server.addr, latest_for(&other_consortium)).await;
    let message = answer.refused(401, "wrong_consortium");
    assert!(message.contains(&"ee".repeat(32)), "{message}");
    // Signed for this node: served.
    let answer = call(server.addr, f.get(&f.auditor, "/v1/blocks/latest")).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    server.stop().await;
}

#[tokio::test]
async fn a_request_captured_before_a_restart_is_refused_after_it() {
    let f = fixture();
    let server = Server::start(&f, ApiConfig::default()).await;
    tokio::time::sleep(Duration::from_millis(5)).await;
    // One request is used before the restart, one only captured.
    let used = f.get(&f.auditor, "/v1/blocks/latest");
    let (parts, _) = used.into_parts();
    let replay = Request::from_parts(parts.clone(), Body::empty());
    let captured = f.get(&f.admin, "/v1/governance");
    let answer = call(server.addr, Request::from_parts(parts, Body::empty())).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    server.stop().await;

    // The restart: a new server on the same ledger, started after both were signed.
    tokio::time::sleep(Duration::from_millis(5)).await;
    let server = Server::start(&f, ApiConfig::default()).await;
    for req in [replay, captured] {
        call(server.addr, req)
            .await
            .refused(401, "signed_before_start");
    }
    // A request signed afresh is served.
    let answer = call(server.addr, f.get(&f.admin, "/v1/governance")).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    server.stop().await;
}
