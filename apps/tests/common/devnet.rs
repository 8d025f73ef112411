//! A devnet of real `weinong-node` processes on loopback, for the multi-process tests
//! (`consortium.rs`, `insiders.rs`): create, start and kill nodes, read metrics, send signed
//! HTTP requests.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Output, Stdio};
use std::time::{Duration, Instant};

use weinong_keys::{KeyPair, RequestScope, open_keystore, sign_request};

use super::{run, weinong, weinong_node};

pub struct Devnet {
    pub dir: PathBuf,
    pub manifest: serde_json::Value,
    pub children: Vec<Option<Child>>,
    pub auditor: Option<Child>,
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
    /// Creates a devnet (three department nodes, an auditor, load keys) and starts the
    /// three department nodes.
    pub fn create(dir: &Path, base_port: u16) -> Devnet {
        let mut net = Devnet::init(dir, base_port);
        for i in 0..net.children.len() {
            net.start(i);
        }
        net
    }

    /// Creates a devnet without starting anything (a test may change configs first).
    pub fn init(dir: &Path, base_port: u16) -> Devnet {
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
        Devnet {
            dir: dir.to_path_buf(),
            manifest,
            children: (0..n).map(|_| None).collect(),
            auditor: None,
        }
    }

    /// Node `i`'s config file.
    pub fn config_path(&self, i: usize) -> PathBuf {
        self.dir.join(
            self.manifest["nodes"][i]["config"]
                .as_str()
                .expect("config"),
        )
    }

    /// Node `i`'s p2p listen address, from its config.
    pub fn p2p_addr(&self, i: usize) -> String {
        let text = std::fs::read_to_string(self.config_path(i)).expect("node config");
        let config: toml::Value = toml::from_str(&text).expect("node config is TOML");
        config["p2p"]["listen"]
            .as_str()
            .expect("p2p.listen")
            .to_string()
    }

    /// Node `i`'s key id, hex.
    pub fn key_id(&self, i: usize) -> String {
        self.manifest["nodes"][i]["key_id"]
            .as_str()
            .expect("key id")
            .to_string()
    }

    /// Node `i`'s key pair (its keystore under the devnet password).
    pub fn node_key(&self, i: usize) -> KeyPair {
        let path = self.manifest["nodes"][i]["keystore"]
            .as_str()
            .expect("path");
        self.open(path)
    }

    fn open(&self, keystore: &str) -> KeyPair {
        let text = std::fs::read_to_string(self.dir.join(keystore)).expect("keystore");
        let password = std::fs::read_to_string(self.dir.join("password")).expect("password");
        open_keystore(&text, password.trim().as_bytes()).expect("open keystore")
    }

    pub fn spawn(&self, config: &str) -> Child {
        let config = self.dir.join(config);
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(config.with_file_name("node.log"))
            .expect("log file");
        weinong_node()
            // Only a config with a `[faults]` section (an adversarial test's) reads it.
            .env("WEINONG_ALLOW_FAULTS", "1")
            .args(["run", "--config"])
            .arg(&config)
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .stdin(Stdio::null())
            .spawn()
            .expect("start node")
    }

    pub fn start(&mut self, i: usize) {
        let config = self.manifest["nodes"][i]["config"]
            .as_str()
            .expect("config")
            .to_string();
        self.children[i] = Some(self.spawn(&config));
    }

    pub fn start_auditor(&mut self) {
        let config = self.manifest["auditor"]["config"]
            .as_str()
            .expect("config")
            .to_string();
        self.auditor = Some(self.spawn(&config));
    }

    pub fn kill9(&mut self, i: usize) {
        let mut child = self.children[i].take().expect("running");
        child.kill().expect("SIGKILL");
        child.wait().expect("reap");
    }

    pub fn url(&self, i: usize) -> String {
        self.manifest["nodes"][i]["url"]
            .as_str()
            .expect("url")
            .to_string()
    }

    pub fn addr(&self, i: usize) -> String {
        self.url(i).trim_start_matches("http://").to_string()
    }

    pub fn bench(&self, extra: &[&str]) -> Output {
        run(weinong()
            .args(["bench", "ledger", "--running", "--clients", "4", "--dir"])
            .arg(&self.dir)
            .args(extra))
    }

    pub fn key(&self, name: &str) -> KeyPair {
        let actors = self.manifest["actors"].as_array().expect("actors");
        let actor = actors.iter().find(|a| a["name"] == name).expect("actor");
        self.open(actor["keystore"].as_str().expect("path"))
    }

    /// A metric's value from `/metrics` (unsigned), if the node answers.
    pub fn metric(&self, i: usize, name: &str) -> Option<String> {
        let (status, body) = http(&self.addr(i), "GET", "/metrics", &[], b"").ok()?;
        if status != 200 {
            return None;
        }
        body.lines()
            .find(|l| l.starts_with(&format!("{name} ")))
            .map(|l| l[name.len() + 1..].to_string())
    }

    /// The key id of the Raft leader node `i` follows (`weinong_leader_info{key="…"}`).
    pub fn leader_key(&self, i: usize) -> Option<String> {
        let (status, body) = http(&self.addr(i), "GET", "/metrics", &[], b"").ok()?;
        if status != 200 {
            return None;
        }
        leader_key_in(&body)
    }

    /// The node the running nodes name as Raft leader, other than `not`.
    pub fn leader_index(&self, deadline: Duration, not: Option<usize>) -> usize {
        let start = Instant::now();
        while start.elapsed() < deadline {
            for i in 0..self.children.len() {
                if self.children[i].is_none() {
                    continue;
                }
                if let Some(leader) = self.leader_key(i) {
                    for (j, node) in self.manifest["nodes"]
                        .as_array()
                        .expect("nodes")
                        .iter()
                        .enumerate()
                    {
                        if node["key_id"].as_str() == Some(leader.as_str()) && Some(j) != not {
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

/// The leader's key id in a `/metrics` text, if one is known.
pub fn leader_key_in(metrics: &str) -> Option<String> {
    let line = metrics
        .lines()
        .find(|l| l.starts_with("weinong_leader_info{"))?;
    let start = line.find("key=\"")? + "key=\"".len();
    let end = start + line[start..].find('"')?;
    Some(line[start..end].to_owned())
}

/// One HTTP/1.1 request over a fresh connection: (status, body).
pub fn http(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> std::io::Result<(u16, String)> {
    http_with_head(addr, method, path, headers, body).map(|(status, _, body)| (status, body))
}

/// As [`http`], with the response head too: (status, head, body).
pub fn http_with_head(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> std::io::Result<(u16, String, String)> {
    let mut s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(60)))?;
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
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    Ok((status, head.to_owned(), body.to_owned()))
}

/// Signature headers for a request to the node at `addr`, signed for that node and its
/// consortium (asked of the node's unsigned `GET /v1/node`).
pub fn signed(
    addr: &str,
    key: &KeyPair,
    method: &str,
    path: &str,
    body: &[u8],
) -> Vec<(String, String)> {
    let (status, node) = http(addr, "GET", "/v1/node", &[], b"").expect("GET /v1/node");
    assert_eq!(status, 200, "GET /v1/node: {node}");
    let node: serde_json::Value = serde_json::from_str(&node).expect("node JSON");
    let mut consortium = [0u8; 32];
    hex::decode_to_slice(
        node["consortium"].as_str().expect("consortium"),
        &mut consortium,
    )
    .expect("consortium hex");
    let scope = RequestScope {
        consortium,
        node: node["node_key"]
            .as_str()
            .expect("node_key")
            .parse()
            .expect("node key id"),
    };
    let now = u64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .as_millis(),
    )
    .expect("ms");
    let sig = sign_request(key, &scope, method, path, body, now).expect("sign");
    sig.headers()
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
}

pub fn text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).to_string()
}
