//! The node's TOML configuration. Every field is documented in `deploy/README.md`, with an
//! example per department under `deploy/`. Unknown fields are refused (a typo must not
//! silently fall back to a default); errors name the file and the field.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// A node's configuration file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeConfig {
    /// A name for logs and `/healthz`, e.g. `civil-affairs-1`.
    pub name: String,
    /// `voter` (a department node: votes in Raft, signs block headers) or `learner` (an
    /// auditor: replicates and verifies everything, votes on nothing).
    pub role: NodeRole,
    /// Where the ledger store, the Raft log and the p2p identity live (created if absent).
    pub data_dir: PathBuf,
    /// The node's SM2 keystore (`weinong keys new`); its key must be a member's (voter)
    /// or an auditor's (learner) key in the genesis or later governance.
    pub keystore: PathBuf,
    /// A file holding the keystore password (first line; only its owner may read it: mode
    /// 0600 or 0400). The same password opens the assessment's data secrets. If absent,
    /// the password is read from the environment variable `WEINONG_KEY_PASSWORD`.
    #[serde(default)]
    pub password_file: Option<PathBuf>,
    /// The consortium's genesis document (canonical bytes, as `weinong devnet` writes it).
    pub genesis: PathBuf,
    /// Peer-to-peer settings.
    pub p2p: P2pSection,
    /// HTTP API settings.
    pub http: HttpSection,
    /// Block batching.
    #[serde(default)]
    pub batch: BatchSection,
    /// Assessments: the department's data and its place in MPC sessions. A voter without
    /// it records and relays but computes nothing; learners must not have it.
    #[serde(default)]
    pub assessment: Option<AssessmentSection>,
    /// Deliberate misbehaviour, for the adversarial tests only (`e2e/tests/insiders.rs`):
    /// refused unless the environment sets [`FAULTS_ENV`] to `1`.
    #[serde(default)]
    pub faults: Option<FaultSection>,
}

/// Environment variable that must be `1` for a config with a `[faults]` section to load.
pub const FAULTS_ENV: &str = "WEINONG_ALLOW_FAULTS";

/// `[faults]`: how this node misbehaves in an adversarial test. A production config has
/// none; the node refuses to start with one unless [`FAULTS_ENV`] is `1`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultSection {
    /// Added to this node's clock when it proposes a block as leader, in milliseconds
    /// (a leader lying about block time).
    #[serde(default)]
    pub proposal_time_offset_ms: i64,
    /// Pause this long after recording a policy run's access, before evaluating the
    /// predicate, in milliseconds (a node stalled mid-run, so a test can kill it there).
    #[serde(default)]
    pub policy_pause_after_access_ms: u64,
    /// This node's shortest Raft election time-out in milliseconds (the longest is twice
    /// that; default 1,500): a test slows the others' campaigns so one node surely leads.
    #[serde(default)]
    pub election_timeout_min_ms: Option<u64>,
}

/// `[assessment]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssessmentSection {
    /// Which department's data this node holds: its party in every MPC session.
    pub department: DepartmentName,
    /// The department data store (`weinong data import`): `sqlite://PATH` or
    /// `postgres://...`. A relative SQLite path is taken relative to the config file.
    pub database: String,
    /// The node's data secrets (`weinong data secrets`: SM4 data key and the consortium's
    /// pseudonym pepper), sealed under the keystore password, mode 0600; opened at start.
    pub data_secrets: PathBuf,
    /// The three departments' node keys (key ids, hex), which fix the MPC parties.
    pub parties: PartiesSection,
    /// Longest wait for a peer in an MPC session (connect, each message), in milliseconds
    /// (1000 ..= 600000; default 15000).
    #[serde(default = "default_session_timeout_ms")]
    pub session_timeout_ms: u64,
}

/// A department, as config files name it (`civil_affairs`, `health`,
/// `medical_insurance`): the workspace's one department type, `weinong_keys::Department`,
/// whose [`party`](weinong_keys::Department::party) is the MPC party this node plays.
pub type DepartmentName = weinong_keys::Department;

/// `[assessment.parties]`: each department's node key id (64 hex characters).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartiesSection {
    /// The civil-affairs node's key id.
    pub civil_affairs: String,
    /// The health node's key id.
    pub health: String,
    /// The medical-insurance node's key id.
    pub medical_insurance: String,
}

fn default_session_timeout_ms() -> u64 {
    15_000
}

/// What a node does in consensus.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeRole {
    /// A voting department node.
    Voter,
    /// A non-voting learner (auditor).
    Learner,
}

/// `[p2p]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct P2pSection {
    /// libp2p listen address, e.g. `/ip4/0.0.0.0/tcp/7101`.
    pub listen: String,
    /// Other nodes' addresses to dial, e.g. `["/ip4/10.0.0.2/tcp/7101"]`.
    #[serde(default)]
    pub peers: Vec<String>,
}

/// `[http]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSection {
    /// Listen address of the HTTP API, e.g. `127.0.0.1:8101`.
    pub listen: SocketAddr,
    /// The node's TLS certificate chain (PEM, leaf first). With `tls_key`, the API serves
    /// HTTPS only; SIGHUP reloads both files.
    #[serde(default)]
    pub tls_cert: Option<PathBuf>,
    /// The private key of `tls_cert` (PEM: PKCS#8, SEC1 or PKCS#1; mode 0600).
    #[serde(default)]
    pub tls_key: Option<PathBuf>,
    /// Serve plain HTTP on an address other than loopback (default false: such a config is
    /// refused). Only behind a TLS-terminating proxy on the same host or network segment.
    #[serde(default)]
    pub allow_plain_http: bool,
}

impl HttpSection {
    /// The certificate and key files when the API serves HTTPS.
    pub fn tls_files(&self) -> Option<(&Path, &Path)> {
        Some((self.tls_cert.as_deref()?, self.tls_key.as_deref()?))
    }
}

/// `[batch]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchSection {
    /// Most transactions in one block (1 ..= 2000; default 1000).
    #[serde(default = "default_max_txs")]
    pub max_txs: usize,
    /// How long the leader waits to fill a block, in milliseconds (default 10).
    #[serde(default = "default_interval_ms")]
    pub interval_ms: u64,
}

fn default_max_txs() -> usize {
    1_000
}
fn default_interval_ms() -> u64 {
    10
}

impl Default for BatchSection {
    fn default() -> Self {
        Self {
            max_txs: default_max_txs(),
            interval_ms: default_interval_ms(),
        }
    }
}

/// A configuration that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file cannot be read.
    #[error("cannot read the node config {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// TOML syntax, a missing or unknown field, or a wrong type (toml names the field).
    #[error("node config {path}: {message}")]
    Parse {
        /// The file.
        path: String,
        /// toml's message, naming the field and line.
        message: String,
    },
    /// A field's value is out of range.
    #[error("node config {path}: field `{field}`: {reason}")]
    Field {
        /// The file.
        path: String,
        /// The field, dotted (`batch.max_txs`).
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
}

impl NodeConfig {
    /// Reads and checks a config file. Relative paths inside it are taken relative to the
    /// file's directory.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: shown.clone(),
            source,
        })?;
        let mut config = Self::parse(&text, &shown)?;
        let base = path.parent().unwrap_or(Path::new("."));
        for p in [
            &mut config.data_dir,
            &mut config.keystore,
            &mut config.genesis,
        ] {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        }
        for p in [
            config.password_file.as_mut(),
            config.http.tls_cert.as_mut(),
            config.http.tls_key.as_mut(),
        ]
        .into_iter()
        .flatten()
        {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        }
        if let Some(a) = config.assessment.as_mut() {
            if a.data_secrets.is_relative() {
                a.data_secrets = base.join(&a.data_secrets);
            }
            if let Some(path) = a.database.strip_prefix("sqlite://")
                && Path::new(path).is_relative()
            {
                a.database = format!("sqlite://{}", base.join(path).display());
            }
        }
        Ok(config)
    }

    /// Parses and checks config text; `shown` names it in errors.
    pub fn parse(text: &str, shown: &str) -> Result<Self, ConfigError> {
        let config: Self = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: shown.to_string(),
            message: e.to_string().trim().replace('\n', " "),
        })?;
        let field = |field, reason: String| ConfigError::Field {
            path: shown.to_string(),
            field,
            reason,
        };
        if config.name.trim().is_empty() {
            return Err(field("name", "must not be empty".into()));
        }
        if config.faults.is_some() && std::env::var(FAULTS_ENV).as_deref() != Ok("1") {
            return Err(field(
                "faults",
                format!(
                    "this section makes the node misbehave on purpose (adversarial tests); remove it, or set {FAULTS_ENV}=1 in a test"
                ),
            ));
        }
        if !(1..=crate::limits::BLOCK_TXS_MAX).contains(&config.batch.max_txs) {
            return Err(field(
                "batch.max_txs",
                format!(
                    "{} is outside 1..={}",
                    config.batch.max_txs,
                    crate::limits::BLOCK_TXS_MAX
                ),
            ));
        }
        if !(1..=10_000).contains(&config.batch.interval_ms) {
            return Err(field(
                "batch.interval_ms",
                format!("{} is outside 1..=10000", config.batch.interval_ms),
            ));
        }
        match (&config.http.tls_cert, &config.http.tls_key) {
            (Some(_), None) => {
                return Err(field(
                    "http.tls_key",
                    "tls_cert is set, so the certificate's private key (PEM) is needed too".into(),
                ));
            }
            (None, Some(_)) => {
                return Err(field(
                    "http.tls_cert",
                    "tls_key is set, so its certificate chain (PEM) is needed too".into(),
                ));
            }
            (None, None)
                if !config.http.listen.ip().is_loopback() && !config.http.allow_plain_http =>
            {
                return Err(field(
                    "http.listen",
                    format!(
                        "{} is not a loopback address and the API has no TLS: set tls_cert and tls_key, or allow_plain_http = true behind a TLS-terminating proxy",
                        config.http.listen
                    ),
                ));
            }
            _ => {}
        }
        config
            .p2p
            .listen
            .parse::<libp2p::Multiaddr>()
            .map_err(|e| {
                field(
                    "p2p.listen",
                    format!("{:?} is not a multiaddr: {e}", config.p2p.listen),
                )
            })?;
        for peer in &config.p2p.peers {
            peer.parse::<libp2p::Multiaddr>()
                .map_err(|e| field("p2p.peers", format!("{peer:?} is not a multiaddr: {e}")))?;
        }
        if let Some(a) = &config.assessment {
            if config.role == NodeRole::Learner {
                return Err(field(
                    "assessment",
                    "a learner computes nothing: remove the section".into(),
                ));
            }
            if !(a.database.starts_with("sqlite://") || a.database.starts_with("postgres://")) {
                return Err(field(
                    "assessment.database",
                    format!(
                        "{:?} is neither sqlite://PATH nor postgres://...",
                        a.database
                    ),
                ));
            }
            for (name, value) in [
                ("assessment.parties.civil_affairs", &a.parties.civil_affairs),
                ("assessment.parties.health", &a.parties.health),
                (
                    "assessment.parties.medical_insurance",
                    &a.parties.medical_insurance,
                ),
            ] {
                value
                    .parse::<weinong_keys::KeyId>()
                    .map_err(|e| field(name, format!("{value:?} is not a key id: {e}")))?;
            }
            if !(1_000..=600_000).contains(&a.session_timeout_ms) {
                return Err(field(
                    "assessment.session_timeout_ms",
                    format!("{} is outside 1000..=600000", a.session_timeout_ms),
                ));
            }
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
name = "health-1"
role = "voter"
data_dir = "data/health"
keystore = "keys/health.json"
genesis = "genesis.bin"
[p2p]
listen = "/ip4/127.0.0.1/tcp/7102"
peers = ["/ip4/127.0.0.1/tcp/7101"]
[http]
listen = "127.0.0.1:8102"
"#;

    #[test]
    fn a_full_config_parses_with_default_batching() {
        let c = NodeConfig::parse(GOOD, "t.toml").unwrap();
        assert_eq!(c.role, NodeRole::Voter);
        assert_eq!(c.batch.max_txs, 1_000);
        assert_eq!(c.p2p.peers.len(), 1);
    }

    #[test]
    fn a_missing_field_is_named() {
        let text = GOOD.replace("keystore = \"keys/health.json\"\n", "");
        let e = NodeConfig::parse(&text, "t.toml").unwrap_err().to_string();
        assert!(e.contains("keystore"), "{e}");
    }

    #[test]
    fn an_unknown_field_is_refused() {
        let text = GOOD.replace("[http]", "[http]\nlisten_adress = \"x\"");
        let e = NodeConfig::parse(&text, "t.toml").unwrap_err().to_string();
        assert!(e.contains("listen_adress"), "{e}");
    }

    #[test]
    fn out_of_range_values_name_their_field() {
        let text = format!("{GOOD}[batch]\nmax_txs = 0\n");
        let e = NodeConfig::parse(&text, "t.toml").unwrap_err().to_string();
        assert!(e.contains("batch.max_txs"), "{e}");
        let text = GOOD.replace("/ip4/127.0.0.1/tcp/7101", "not-an-address");
        let e = NodeConfig::parse(&text, "t.toml").unwrap_err().to_string();
        assert!(e.contains("p2p.peers"), "{e}");
        let text = GOOD.replace("role = \"voter\"", "role = \"king\"");
        let e = NodeConfig::parse(&text, "t.toml").unwrap_err().to_string();
        assert!(e.contains("role") || e.contains("king"), "{e}");
    }

    #[test]
    fn the_api_serves_plain_http_only_on_loopback_or_when_told() {
        let http = |section: &str| GOOD.replace("listen = \"127.0.0.1:8102\"", section);
        let public = http("listen = \"10.20.0.2:8101\"");
        let e = NodeConfig::parse(&public, "t.toml")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("http.listen") && e.contains("tls_cert"),
            "plain HTTP on a public address is refused, naming the fix: {e}"
        );
        let allowed = http("listen = \"10.20.0.2:8101\"\nallow_plain_http = true");
        assert!(NodeConfig::parse(&allowed, "t.toml").is_ok());
        let tls = http("listen = \"10.20.0.2:8101\"\ntls_cert = \"n.crt\"\ntls_key = \"n.key\"");
        let c = NodeConfig::parse(&tls, "t.toml").unwrap();
        assert_eq!(
            c.http.tls_files(),
            Some((Path::new("n.crt"), Path::new("n.key")))
        );
        let half = http("listen = \"10.20.0.2:8101\"\ntls_cert = \"n.crt\"");
        let e = NodeConfig::parse(&half, "t.toml").unwrap_err().to_string();
        assert!(e.contains("http.tls_key"), "{e}");
        let half = http("listen = \"127.0.0.1:8101\"\ntls_key = \"n.key\"");
        let e = NodeConfig::parse(&half, "t.toml").unwrap_err().to_string();
        assert!(e.contains("http.tls_cert"), "{e}");
    }

    const PARTIES: &str = r#"
[assessment]
department = "health"
database = "sqlite://health.db"
data_secrets = "secrets/health-data.json"
[assessment.parties]
civil_affairs = "0000000000000000000000000000000000000000000000000000000000000001"
health = "0000000000000000000000000000000000000000000000000000000000000002"
medical_insurance = "0000000000000000000000000000000000000000000000000000000000000003"
"#;

    #[test]
    fn the_assessment_section_is_checked() {
        let c = NodeConfig::parse(&format!("{GOOD}{PARTIES}"), "t.toml").unwrap();
        let a = c.assessment.unwrap();
        assert_eq!(a.department, DepartmentName::Health);
        assert_eq!(a.session_timeout_ms, 15_000);
        let bad = PARTIES.replace("health = \"00", "health = \"zz");
        let e = NodeConfig::parse(&format!("{GOOD}{bad}"), "t.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("assessment.parties.health"), "{e}");
        let bad = PARTIES.replace("sqlite://health.db", "mysql://x");
        let e = NodeConfig::parse(&format!("{GOOD}{bad}"), "t.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("assessment.database"), "{e}");
        let learner = GOOD.replace("role = \"voter\"", "role = \"learner\"");
        let e = NodeConfig::parse(&format!("{learner}{PARTIES}"), "t.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("assessment"), "{e}");
    }

    #[test]
    fn every_example_in_deploy_parses() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../deploy");
        let mut seen = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "toml") {
                let text = std::fs::read_to_string(&path).unwrap();
                NodeConfig::parse(&text, &path.display().to_string()).unwrap();
                seen += 1;
            }
        }
        assert_eq!(seen, 4, "one example per department and the auditor");
    }
}
