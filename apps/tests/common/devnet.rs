//! A devnet of real `weinong-node` processes on loopback, for the multi-process tests
//! (`consortium.rs`, `insiders.rs`): create, start and kill nodes, read metrics, send signed
//! HTTP requests. Or a whole `weinong devnet` run as one process ([`DevnetProcess`], for
//! `assess_e2e.rs` and `pseudonyms_e2e.rs`), with the actors' CLIs.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use weinong_keys::{DataSecrets, KeyPair, RequestScope, open_keystore, sign_request};

use super::{run, weinong, weinong_node};

/// `weinong-node run --config <config>`, its output appended to `node.log` beside the
/// config; the caller spawns it.
pub fn node_run(config: &Path) -> Command {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(config.with_file_name("node.log"))
        .expect("log file");
    let mut cmd = weinong_node();
    cmd.args(["run", "--config"])
        .arg(config)
        .stdout(log.try_clone().expect("log"))
        .stderr(log)
        .stdin(Stdio::null());
    cmd
}

/// Field `field` (a string) of node `i` in a devnet manifest.
fn node_str(manifest: &serde_json::Value, i: usize, field: &str) -> String {
    manifest["nodes"][i][field]
        .as_str()
        .unwrap_or_else(|| panic!("no {field} of node {i} in the manifest"))
        .to_owned()
}

/// The manifest (`devnet.json`) `weinong devnet` wrote in `dir`.
fn read_manifest(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("devnet.json")).expect("manifest"))
        .expect("manifest JSON")
}

/// A running `weinong devnet` (one process that starts the department nodes), its
/// manifest and password; stopped with SIGINT (it stops its nodes), else SIGKILL and
/// every process named after its directory.
pub struct DevnetProcess {
    pub dir: PathBuf,
    pub devnet: Child,
    pub manifest: serde_json::Value,
    pub password: String,
}

impl Drop for DevnetProcess {
    fn drop(&mut self) {
        if !super::stop(&mut self.devnet, "-INT", Duration::from_secs(20)) {
            let _ = Command::new("pkill")
                .args(["-9", "-f", &self.dir.display().to_string()])
                .status();
        }
    }
}

impl DevnetProcess {
    /// Runs `weinong devnet <args> --base-port <base_port> --dir <dir>`, its log beside
    /// `dir`, and waits (up to 5 minutes) until it says it is running.
    pub fn start(dir: &Path, base_port: u16, args: &[&str]) -> DevnetProcess {
        let log_path = dir.with_extension("devnet.log");
        let log = std::fs::File::create(&log_path).expect("log");
        let mut devnet = weinong()
            .arg("devnet")
            .args(args)
            .arg("--base-port")
            .arg(base_port.to_string())
            .arg("--dir")
            .arg(dir)
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .stdin(Stdio::null())
            .spawn()
            .expect("start devnet");
        let ready = Instant::now() + Duration::from_secs(300);
        loop {
            let text = std::fs::read_to_string(&log_path).unwrap_or_default();
            if text.contains("the devnet is running") {
                break;
            }
            assert!(
                Instant::now() < ready,
                "the devnet did not come up in time:\n{text}"
            );
            assert!(
                !matches!(devnet.try_wait(), Ok(Some(_))),
                "the devnet exited:\n{text}"
            );
            std::thread::sleep(Duration::from_millis(250));
        }
        let password = std::fs::read_to_string(dir.join("password"))
            .expect("password")
            .trim()
            .to_owned();
        DevnetProcess {
            dir: dir.to_path_buf(),
            devnet,
            manifest: read_manifest(dir),
            password,
        }
    }

    pub fn url(&self, i: usize) -> String {
        node_str(&self.manifest, i, "url")
    }

    pub fn addr(&self, i: usize) -> String {
        self.url(i).trim_start_matches("http://").to_owned()
    }

    /// Node `i`'s config file.
    pub fn node_config(&self, i: usize) -> PathBuf {
        self.dir.join(node_str(&self.manifest, i, "config"))
    }

    /// Kills node `i` (a child of the devnet, started with `--no-restart`) with SIGKILL.
    pub fn kill9(&self, i: usize) {
        let config = self.node_config(i).display().to_string();
        let status = Command::new("pkill")
            .args(["-9", "-f", &format!("node run --config {config}")])
            .status()
            .expect("pkill");
        assert!(status.success(), "no node process for {config}");
        std::thread::sleep(Duration::from_millis(500));
    }

    /// Node `i`'s certified height, from `/healthz`; `None` while it does not answer.
    pub fn height(&self, i: usize) -> Option<u64> {
        let (status, body) = http(&self.addr(i), "GET", "/healthz", &[], b"").ok()?;
        if status != 200 {
            return None;
        }
        let v: serde_json::Value = serde_json::from_str(&body).ok()?;
        v["height"].as_u64()
    }

    /// Waits (up to a minute) until node `i` answers with the same height as another node.
    pub fn wait_caught_up(&self, i: usize) {
        let until = Instant::now() + Duration::from_secs(60);
        let other = if i == 0 { 1 } else { 0 };
        loop {
            let (a, b) = (self.height(other), self.height(i));
            if a.is_some() && a == b {
                return;
            }
            assert!(Instant::now() < until, "node {i} did not catch up");
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// Node `i`'s config, parsed.
    pub fn node_config_toml(&self, i: usize) -> toml::Value {
        toml::from_str(&std::fs::read_to_string(self.node_config(i)).expect("config"))
            .expect("config TOML")
    }

    /// The database URL of node `i`'s department store, from its config (a relative SQLite
    /// path is taken relative to the config file, as the node does).
    pub fn store_url(&self, i: usize) -> String {
        let config = self.node_config_toml(i);
        let database = config["assessment"]["database"].as_str().expect("database");
        match database.strip_prefix("sqlite://") {
            Some(path) if Path::new(path).is_relative() => format!(
                "sqlite://{}",
                self.node_config(i)
                    .parent()
                    .expect("dir")
                    .join(path)
                    .display()
            ),
            _ => database.to_owned(),
        }
    }

    /// The actor (or the auditor) called `name` in the manifest.
    pub fn actor(&self, name: &str) -> &serde_json::Value {
        self.manifest["actors"]
            .as_array()
            .expect("actors")
            .iter()
            .chain(std::iter::once(&self.manifest["auditor"]))
            .find(|a| a["name"] == name)
            .unwrap_or_else(|| panic!("no actor {name}"))
    }

    /// The path of actor `name`'s keystore, as an argument.
    pub fn actor_keystore(&self, name: &str) -> String {
        self.dir
            .join(self.actor(name)["keystore"].as_str().expect("keystore"))
            .display()
            .to_string()
    }

    /// The manifest's example resident: (ID number, subject pseudonym, hex).
    pub fn example(&self) -> (String, String) {
        let field = |name: &str| {
            self.manifest["example"][name]
                .as_str()
                .unwrap_or_else(|| panic!("no example {name}"))
                .to_owned()
        };
        (field("id_number"), field("subject"))
    }

    /// Runs the CLI under the devnet's password.
    pub fn cli(&self, args: &[&str]) -> Output {
        run(weinong()
            .args(args)
            .env("WEINONG_KEY_PASSWORD", &self.password))
    }

    /// Runs the CLI as actor `actor` against node `node`: `args` then `--key <its
    /// keystore> --node <node's URL>`.
    pub fn cli_as(&self, actor: &str, node: usize, args: &[&str]) -> Output {
        let (key, url) = (self.actor_keystore(actor), self.url(node));
        let mut all = args.to_vec();
        all.extend(["--key", &key, "--node", &url]);
        self.cli(&all)
    }

    /// Department node `i`'s data secrets (only the department nodes hold them, sealed
    /// under the devnet password).
    pub fn data_secrets(&self, i: usize) -> DataSecrets {
        let text = std::fs::read_to_string(self.node_config(i).with_file_name("data-secrets.json"))
            .expect("data secrets");
        DataSecrets::open(&text, self.password.as_bytes()).expect("sealed under the password")
    }
}

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
        let manifest = read_manifest(dir);
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
        self.dir.join(node_str(&self.manifest, i, "config"))
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
        node_str(&self.manifest, i, "key_id")
    }

    /// Node `i`'s key pair (its keystore under the devnet password).
    pub fn node_key(&self, i: usize) -> KeyPair {
        self.open(&node_str(&self.manifest, i, "keystore"))
    }

    fn open(&self, keystore: &str) -> KeyPair {
        let text = std::fs::read_to_string(self.dir.join(keystore)).expect("keystore");
        let password = std::fs::read_to_string(self.dir.join("password")).expect("password");
        open_keystore(&text, password.trim().as_bytes()).expect("open keystore")
    }

    pub fn spawn(&self, config: &str) -> Child {
        node_run(&self.dir.join(config))
            // Only a config with a `[faults]` section (an adversarial test's) reads it.
            .env("WEINONG_ALLOW_FAULTS", "1")
            .spawn()
            .expect("start node")
    }

    pub fn start(&mut self, i: usize) {
        self.children[i] = Some(self.spawn(&node_str(&self.manifest, i, "config")));
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
        node_str(&self.manifest, i, "url")
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

    /// Starts `weinong bench ledger --running --no-check` in the background: `txs`
    /// transactions in batches of `batch` from `clients` clients, each acknowledged one
    /// written to `acks`. [`finish_load`] waits for it.
    pub fn spawn_load(&self, clients: u32, txs: u32, batch: u32, acks: &Path) -> Child {
        weinong()
            .args(["bench", "ledger", "--running", "--no-check", "--clients"])
            .arg(clients.to_string())
            .arg("--txs")
            .arg(txs.to_string())
            .arg("--batch")
            .arg(batch.to_string())
            .arg("--dir")
            .arg(&self.dir)
            .arg("--acks")
            .arg(acks)
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the load")
    }

    /// Every transaction acknowledged in `acks` is on every node, under identical headers
    /// (`bench ledger --check-only`); `when` names the moment in a failure.
    pub fn check_acks(&self, acks: &Path, when: &str) {
        let acks = acks.to_str().expect("utf-8 path");
        let out = self.bench(&["--check-only", "--acks", acks, "--check", "0"]);
        assert!(out.status.success(), "{when}: {}", super::combined(&out));
        assert!(
            text(&out).contains("all present"),
            "{}",
            super::combined(&out)
        );
    }

    /// Node `i`'s newest block, read with `key`'s signature.
    pub fn latest_block(&self, i: usize, key: &KeyPair) -> serde_json::Value {
        let (status, body) = signed_get(&self.addr(i), key, "/v1/blocks/latest");
        assert_eq!(status, 200, "{body}");
        serde_json::from_str(&body).expect("block JSON")
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

    /// What a failed wait should print: each node's `metrics` and the last lines of its
    /// log, so a flaky failure in CI can be read without rerunning it.
    pub fn diagnose(&self, metrics: &[&str]) -> String {
        let mut out = String::new();
        for i in 0..self.children.len() {
            let values: Vec<String> = metrics
                .iter()
                .map(|m| format!("{m}={}", self.metric(i, m).unwrap_or_else(|| "?".into())))
                .collect();
            out.push_str(&format!("--- node {i}: {}\n", values.join(" ")));
            let log = self.config_path(i).with_file_name("node.log");
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            for line in &lines[lines.len().saturating_sub(25)..] {
                out.push_str(line);
                out.push('\n');
            }
        }
        out
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

/// Waits for a load from [`Devnet::spawn_load`] to end; it must have committed all `txs`
/// transactions. Returns its report.
pub fn finish_load(mut load: Child, txs: u32) -> String {
    let status = load.wait().expect("wait for the load");
    let mut report = String::new();
    load.stdout
        .take()
        .expect("piped stdout")
        .read_to_string(&mut report)
        .expect("the load's report");
    eprintln!("{report}");
    assert!(status.success(), "the load failed: {report}");
    let committed = format!("committed       {txs} of {txs}");
    assert!(report.contains(&committed), "{report}");
    report
}

/// A GET of `path` from the node at `addr`, signed by `key`: (status, body).
pub fn signed_get(addr: &str, key: &KeyPair, path: &str) -> (u16, String) {
    http(addr, "GET", path, &signed(addr, key, "GET", path, b""), b"").expect("GET")
}

/// A POST of `body` to `path` at the node at `addr`, signed by `key`: (status, body).
pub fn signed_post(
    addr: &str,
    key: &KeyPair,
    path: &str,
    body: &[u8],
) -> std::io::Result<(u16, String)> {
    http(
        addr,
        "POST",
        path,
        &signed(addr, key, "POST", path, body),
        body,
    )
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
