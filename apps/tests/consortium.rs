//! Multi-process tests of the consortium: real `weinong node run` processes on loopback
//! (RocksDB, libp2p, openraft, axum), driven by `weinong devnet` and `weinong bench
//! ledger` (which checks agreement header by header and looks up acknowledged
//! transactions on every node).
//!
//! The tests run one at a time (a lock): each starts three or four nodes on a 2-core
//! machine.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Output, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use weinong_keys::{KeyPair, open_keystore, sign_request};

mod common;

use common::{run, weinong};

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

struct Devnet {
    dir: PathBuf,
    manifest: serde_json::Value,
    children: Vec<Option<Child>>,
    auditor: Option<Child>,
}

impl Drop for Devnet {
    fn drop(&mut self) {
        for child in self
            .children
            .iter_mut()
            .chain(std::iter::once(&mut self.auditor))
            .flatten()
        {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Devnet {
    fn create(dir: &Path, base_port: u16) -> Devnet {
        let out = run(weinong()
            .args(["devnet", "--init-only", "--load-keys", "4", "--base-port"])
            .arg(base_port.to_string())
            .arg("--dir")
            .arg(dir));
        assert!(out.status.success(), "devnet --init-only failed");
        let manifest: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(dir.join("devnet.json")).expect("manifest"),
        )
        .expect("manifest JSON");
        let n = manifest["nodes"].as_array().expect("nodes").len();
        let mut net = Devnet {
            dir: dir.to_path_buf(),
            manifest,
            children: (0..n).map(|_| None).collect(),
            auditor: None,
        };
        for i in 0..n {
            net.start(i);
        }
        net
    }

    fn spawn(&self, config: &str) -> Child {
        let config = self.dir.join(config);
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(config.with_file_name("node.log"))
            .expect("log file");
        weinong()
            .args(["node", "run", "--config"])
            .arg(&config)
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .stdin(Stdio::null())
            .spawn()
            .expect("start node")
    }

    fn start(&mut self, i: usize) {
        let config = self.manifest["nodes"][i]["config"]
            .as_str()
            .expect("config")
            .to_string();
        self.children[i] = Some(self.spawn(&config));
    }

    fn start_auditor(&mut self) {
        let config = self.manifest["auditor"]["config"]
            .as_str()
            .expect("config")
            .to_string();
        self.auditor = Some(self.spawn(&config));
    }

    fn kill9(&mut self, i: usize) {
        let mut child = self.children[i].take().expect("running");
        child.kill().expect("SIGKILL");
        child.wait().expect("reap");
    }

    fn url(&self, i: usize) -> String {
        self.manifest["nodes"][i]["url"]
            .as_str()
            .expect("url")
            .to_string()
    }

    fn addr(&self, i: usize) -> String {
        self.url(i).trim_start_matches("http://").to_string()
    }

    fn bench(&self, extra: &[&str]) -> Output {
        run(weinong()
            .args(["bench", "ledger", "--running", "--clients", "4", "--dir"])
            .arg(&self.dir)
            .args(extra))
    }

    fn key(&self, name: &str) -> KeyPair {
        let actors = self.manifest["actors"].as_array().expect("actors");
        let actor = actors.iter().find(|a| a["name"] == name).expect("actor");
        let text =
            std::fs::read_to_string(self.dir.join(actor["keystore"].as_str().expect("path")))
                .expect("keystore");
        let password = std::fs::read_to_string(self.dir.join("password")).expect("password");
        open_keystore(&text, password.trim().as_bytes()).expect("open keystore")
    }

    /// A metric's value from `/metrics` (unsigned), if the node answers.
    fn metric(&self, i: usize, name: &str) -> Option<String> {
        let (status, body) = http(&self.addr(i), "GET", "/metrics", &[], b"").ok()?;
        if status != 200 {
            return None;
        }
        body.lines()
            .find(|l| l.starts_with(&format!("{name} ")))
            .map(|l| l[name.len() + 1..].to_string())
    }

    /// The node the running nodes name as Raft leader, other than `not`.
    fn leader_index(&self, deadline: Duration, not: Option<usize>) -> usize {
        let start = Instant::now();
        while start.elapsed() < deadline {
            for i in 0..self.children.len() {
                if self.children[i].is_none() {
                    continue;
                }
                if let Some(id) = self
                    .metric(i, "weinong_leader")
                    .and_then(|v| v.parse::<u64>().ok())
                    && id != 0
                {
                    for (j, node) in self.manifest["nodes"]
                        .as_array()
                        .expect("nodes")
                        .iter()
                        .enumerate()
                    {
                        let key = node["key_id"].as_str().expect("key id");
                        if u64::from_str_radix(&key[..16], 16).expect("hex") == id && Some(j) != not
                        {
                            return j;
                        }
                    }
                }
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!("no leader within {deadline:?}");
    }
}

/// One HTTP/1.1 request over a fresh connection: (status, body).
fn http(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> std::io::Result<(u16, String)> {
    let mut s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    if !body.is_empty() {
        req.push_str("Content-Type: application/json\r\n");
    }
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes())?;
    s.write_all(body)?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw).to_string();
    let status = text.get(9..12).and_then(|c| c.parse().ok()).unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Ok((status, body))
}

fn signed(key: &KeyPair, method: &str, path: &str, body: &[u8]) -> Vec<(String, String)> {
    let now = u64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .as_millis(),
    )
    .expect("ms");
    let sig = sign_request(key, method, path, body, now).expect("sign");
    sig.headers()
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
}

fn text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).to_string()
}

#[test]
fn three_nodes_agree_a_learner_catches_up_and_bad_requests_are_refused() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let tmp = tempfile::tempdir().unwrap();
    let mut net = Devnet::create(&tmp.path().join("devnet"), 17300);

    // 10,000 transactions from four signed clients, round-robin over all three nodes;
    // then every header of every height is compared and every acknowledged transaction
    // looked up on every node.
    let out = net.bench(&["--txs", "10000", "--batch", "100", "--check", "0"]);
    assert!(out.status.success(), "bench ledger failed");
    let report = text(&out);
    assert!(
        report.contains("committed       10000 of 10000"),
        "{report}"
    );
    assert!(
        report.contains("agree on every header") && report.contains(": yes"),
        "{report}"
    );
    assert!(report.contains("all present"), "{report}");

    // An auditor's learner node starts from nothing and reaches the same headers.
    net.start_auditor();
    let out = net.bench(&["--check-only", "--include-auditor", "--acks", "/dev/null"]);
    assert!(
        out.status.success(),
        "the learner did not catch up: {}",
        text(&out)
    );
    assert!(
        text(&out).contains("4 nodes agree on every header"),
        "{}",
        text(&out)
    );

    // Unsigned, wrongly signed, unknown-key and wrong-role requests.
    let addr = net.addr(1);
    let (status, body) = http(&addr, "GET", "/v1/blocks/latest", &[], b"").unwrap();
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("\"code\""), "{body}");
    let auditor = net.key("auditor");
    let mut headers = signed(&auditor, "GET", "/v1/blocks/latest", b"");
    let good = headers.clone();
    let (status, _) = http(&addr, "GET", "/v1/blocks/latest", &good, b"").unwrap();
    assert_eq!(status, 200);
    let (status, _) = http(&addr, "GET", "/v1/blocks/latest", &good, b"").unwrap();
    assert_eq!(status, 401, "a replayed signature is refused");
    headers = signed(&auditor, "GET", "/v1/blocks/0", b"");
    let (status, _) = http(&addr, "GET", "/v1/blocks/latest", &headers, b"").unwrap();
    assert_eq!(status, 401, "a signature over another path is refused");
    let stranger = KeyPair::generate();
    let (status, _) = http(
        &addr,
        "GET",
        "/v1/blocks/latest",
        &signed(&stranger, "GET", "/v1/blocks/latest", b""),
        b"",
    )
    .unwrap();
    assert_eq!(status, 401, "an unknown key is refused");
    let registrar = net.key("registrar");
    let (status, body) = http(
        &addr,
        "GET",
        "/v1/blocks/latest",
        &signed(&registrar, "GET", "/v1/blocks/latest", b""),
        b"",
    )
    .unwrap();
    assert_eq!(status, 403, "a registrar may not read blocks: {body}");

    // Malformed and oversize bodies get JSON errors; the node keeps serving.
    let bad = b"{\"transactions\": [";
    let (status, body) = http(
        &addr,
        "POST",
        "/v1/transactions",
        &signed(&registrar, "POST", "/v1/transactions", bad),
        bad,
    )
    .unwrap();
    assert_eq!(status, 400, "{body}");
    let junk = br#"{"transactions": ["00ff"]}"#;
    let (status, body) = http(
        &addr,
        "POST",
        "/v1/transactions",
        &signed(&registrar, "POST", "/v1/transactions", junk),
        junk,
    )
    .unwrap();
    assert_eq!(status, 400, "{body}");
    assert!(
        body.contains("0"),
        "the error names the transaction: {body}"
    );
    let big = vec![b' '; 2 * 1024 * 1024];
    let (status, _) = http(
        &addr,
        "POST",
        "/v1/transactions",
        &signed(&registrar, "POST", "/v1/transactions", &big),
        &big,
    )
    .unwrap_or((413, String::new()));
    assert_eq!(status, 413);
    let (status, body) = http(&addr, "GET", "/healthz", &[], b"").unwrap();
    assert_eq!(status, 200, "{body}");
}

#[test]
fn killing_the_leader_under_load_loses_no_acknowledged_transaction() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let tmp = tempfile::tempdir().unwrap();
    let mut net = Devnet::create(&tmp.path().join("devnet"), 17400);
    let acks = tmp.path().join("acks.txt");
    let leader = net.leader_index(Duration::from_secs(60), None);

    let mut load = weinong()
        .args([
            "bench",
            "ledger",
            "--running",
            "--no-check",
            "--clients",
            "4",
            "--txs",
            "6000",
            "--batch",
            "50",
            "--dir",
        ])
        .arg(&net.dir)
        .arg("--acks")
        .arg(&acks)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the load is committing, then kill -9 the leader.
    let start = Instant::now();
    loop {
        let committed: u64 = net
            .metric(leader, "weinong_committed_txs_total")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        if committed >= 1_000 {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "the load never started committing"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    net.kill9(leader);
    let new_leader = net.leader_index(Duration::from_secs(60), Some(leader));
    assert_ne!(
        new_leader, leader,
        "a new leader is elected among the survivors"
    );

    let status = load.wait().unwrap();
    let mut report = String::new();
    load.stdout
        .take()
        .unwrap()
        .read_to_string(&mut report)
        .unwrap();
    eprintln!("{report}");
    assert!(status.success(), "the load failed: {report}");
    assert!(report.contains("committed       6000 of 6000"), "{report}");

    // The killed node restarts, catches up, and every acknowledged transaction is on every
    // node, under identical headers.
    net.start(leader);
    let out = net.bench(&[
        "--check-only",
        "--acks",
        acks.to_str().unwrap(),
        "--check",
        "0",
    ]);
    assert!(out.status.success(), "after the restart: {}", text(&out));
    assert!(text(&out).contains("all present"), "{}", text(&out));
}
