//! `weinong devnet`: a whole consortium on this machine.
//!
//! The first run creates, under `--dir`: one SM2 keystore per actor (three departments —
//! civil affairs, health, medical insurance — two admins with a 2-of-2 threshold, an
//! auditor, a consent registrar, two sample care homes), the genesis document, one node
//! config per department, and the departments' synthetic data (`cmd_devnet_data`: each
//! department node's store, data secrets and `[assessment]` section); then it starts every
//! department node as its own process (the `weinong-node` daemon) on loopback, has the admins give
//! the care homes the institution role and register the shipped assessment models, and
//! prints the endpoints, keystore paths and a consent + assessment example to copy. A later
//! run on the same directory resumes the same chain. Ctrl-C stops the nodes cleanly.
//!
//! The keystores and the department nodes' sealed data secrets of a devnet share one random
//! password in `DIR/password` (0600; every node config names it as `password_file`): this
//! is a development network, not a deployment (see deploy/ for per-node keystores).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Args;
use serde::{Deserialize, Serialize};
use weinong_contracts::{Genesis, MemberId};
use weinong_keys::{KeyPair, seal_keystore};

use crate::Outcome;
use crate::cmd_devnet_data::{ExampleSubject, assessment_section, create_data};
use crate::cmd_keys::write_private;

/// `weinong devnet`.
#[derive(Args)]
pub struct DevnetArgs {
    /// Directory for keys, genesis, configs, node data and logs (created, or resumed).
    #[arg(long, default_value = "devnet-data")]
    pub dir: PathBuf,
    /// Department nodes (3 to 7; the first three are civil affairs, health and medical
    /// insurance).
    #[arg(long, default_value_t = 3)]
    pub nodes: u16,
    /// Port base: node i (from 0) listens on p2p BASE+1+i and HTTP BASE+101+i.
    #[arg(long, default_value_t = 7100)]
    pub base_port: u16,
    /// Also start the auditor as a non-voting learner node.
    #[arg(long)]
    pub with_auditor: bool,
    /// Create the keys, genesis, configs and department data, print them, and start nothing.
    #[arg(long)]
    pub init_only: bool,
    /// Leave a node that exits stopped (by default the devnet restarts it, so every node
    /// stays its child and stops with its Ctrl-C; tests that kill and restart nodes
    /// themselves pass this).
    #[arg(long)]
    pub no_restart: bool,
    /// People in the synthetic population loaded into the department nodes (0: no
    /// department data, the nodes only keep the ledger); only when the devnet is created.
    #[arg(long, default_value_t = 10_000)]
    pub people: u64,
    /// Seed of the synthetic population (same seed, same people).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Extra consent-registrar keys (`load-1` ...) for load generators such as
    /// `weinong bench ledger`; only when the devnet is created.
    #[arg(long, default_value_t = 0, hide = true)]
    pub load_keys: u16,
}

const DEPARTMENTS: [&str; 3] = ["civil-affairs", "health", "medical-insurance"];

/// What a devnet directory holds, written once at creation.
#[derive(Serialize, Deserialize)]
pub struct Manifest {
    /// Format tag.
    pub format: String,
    /// Department nodes, in member order.
    pub nodes: Vec<NodeEntry>,
    /// The auditor's learner node.
    pub auditor: NodeEntry,
    /// Other actors' keystores by name (admin-1, admin-2, registrar, care-home-1, ...).
    pub actors: Vec<Actor>,
    /// Consortium id (SM3 of the genesis), hex.
    pub consortium: String,
    /// People in the department nodes' synthetic data (0: none).
    #[serde(default)]
    pub people: u64,
    /// The person of the printed consent + assessment example (held by all three
    /// departments); absent without department data.
    #[serde(default)]
    pub example: Option<ExampleSubject>,
}

impl Manifest {
    /// What a request to department node `i` is signed for: the consortium and the node's
    /// key id, both from this manifest.
    pub fn scope(&self, i: usize) -> Result<weinong_keys::RequestScope> {
        let node = self.nodes.get(i).context("no such node in the manifest")?;
        let mut consortium = [0u8; 32];
        hex::decode_to_slice(&self.consortium, &mut consortium)
            .context("manifest consortium is not 64 hex characters")?;
        Ok(weinong_keys::RequestScope {
            consortium,
            node: node
                .key_id
                .parse()
                .map_err(|e| anyhow::anyhow!("manifest key id of {}: {e}", node.name))?,
        })
    }
}

/// One node of the devnet.
#[derive(Clone, Serialize, Deserialize)]
pub struct NodeEntry {
    /// Node name.
    pub name: String,
    /// Config file, relative to the devnet directory.
    pub config: String,
    /// Keystore, relative to the devnet directory.
    pub keystore: String,
    /// Key id, hex.
    pub key_id: String,
    /// HTTP API URL.
    pub url: String,
}

/// A non-node actor.
#[derive(Clone, Serialize, Deserialize)]
pub struct Actor {
    /// Name.
    pub name: String,
    /// Keystore, relative to the devnet directory.
    pub keystore: String,
    /// Key id, hex.
    pub key_id: String,
}

const MANIFEST: &str = "devnet.json";

pub fn devnet(args: DevnetArgs) -> Result<Outcome> {
    if !(3..=7).contains(&args.nodes) {
        bail!("--nodes {} is outside 3..=7", args.nodes);
    }
    if args.base_port.checked_add(100 + args.nodes + 1).is_none() || args.base_port < 1024 {
        bail!(
            "--base-port {} leaves no room for the nodes' ports (use 1024..65000)",
            args.base_port
        );
    }
    let manifest_path = args.dir.join(MANIFEST);
    let manifest = if manifest_path.exists() {
        let text = fs::read_to_string(&manifest_path)
            .with_context(|| format!("cannot read {}", manifest_path.display()))?;
        let m: Manifest = serde_json::from_str(&text)
            .with_context(|| format!("{} is not a devnet manifest", manifest_path.display()))?;
        println!(
            "resuming the devnet in {} (consortium {})",
            args.dir.display(),
            m.consortium
        );
        m
    } else {
        let m = create(&args)?;
        println!(
            "created a devnet in {} (consortium {})",
            args.dir.display(),
            m.consortium
        );
        m
    };
    print_summary(&args.dir, &manifest);
    if args.init_only {
        print_example(&args.dir, &manifest);
        return Ok(Outcome::Ok);
    }
    run_nodes(&args, &manifest)
}

fn new_key(dir: &Path, name: &str, password: &str) -> Result<(KeyPair, String)> {
    let key = KeyPair::generate();
    let rel = format!("keys/{name}.keystore.json");
    let text = seal_keystore(&key, password.as_bytes())?;
    write_private(&dir.join(&rel), text.as_bytes())?;
    Ok((key, rel))
}

pub(crate) fn create(args: &DevnetArgs) -> Result<Manifest> {
    let dir = &args.dir;
    if dir.exists() && fs::read_dir(dir)?.next().is_some() {
        bail!(
            "{} exists, is not empty and holds no {MANIFEST}: choose another --dir",
            dir.display()
        );
    }
    fs::create_dir_all(dir.join("keys"))
        .with_context(|| format!("cannot create {}", dir.display()))?;
    let mut secret = [0u8; 16];
    getrandom::fill(&mut secret).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    let password = weinong_keys::Zeroizing::new(hex::encode(secret));
    write_private(
        &dir.join("password"),
        weinong_keys::Zeroizing::new(format!("{}\n", password.as_str())).as_bytes(),
    )?;

    let names: Vec<String> = (0..args.nodes)
        .map(|i| {
            DEPARTMENTS
                .get(usize::from(i))
                .map_or_else(|| format!("department-{}", i + 1), |s| (*s).to_string())
        })
        .collect();
    let mut members = Vec::new();
    let mut node_keys = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let (key, rel) = new_key(dir, name, &password)?;
        members.push((MemberId(u16::try_from(i + 1)?), key.public_key().clone()));
        node_keys.push((name.clone(), key.key_id().to_hex(), rel));
    }
    let mut actors = Vec::new();
    let mut admins = Vec::new();
    let mut auditors = Vec::new();
    let mut registrars = Vec::new();
    let fixed = [
        "admin-1",
        "admin-2",
        "auditor",
        "registrar",
        "care-home-1",
        "care-home-2",
    ]
    .map(String::from);
    let load = (1..=args.load_keys).map(|i| format!("load-{i}"));
    for name in fixed.into_iter().chain(load) {
        let (key, rel) = new_key(dir, &name, &password)?;
        match name.as_str() {
            "admin-1" | "admin-2" => admins.push(key.public_key().clone()),
            "auditor" => auditors.push(key.public_key().clone()),
            n if n == "registrar" || n.starts_with("load-") => {
                registrars.push(key.public_key().clone())
            }
            _ => {}
        }
        actors.push(Actor {
            name,
            keystore: rel,
            key_id: key.key_id().to_hex(),
        });
    }
    let genesis = Genesis {
        time_ms: weinong_keys::clock::now_ms(),
        threshold: 2,
        members,
        admins,
        auditors,
        registrars,
    };
    let bytes = genesis.encode()?;
    fs::write(dir.join("genesis.bin"), &bytes)?;
    let consortium = genesis.consortium()?.to_hex();

    let p2p = |i: u16| format!("/ip4/127.0.0.1/tcp/{}", args.base_port + 1 + i);
    let http = |i: u16| format!("127.0.0.1:{}", args.base_port + 101 + i);
    let all_p2p: Vec<String> = (0..args.nodes).map(p2p).collect();
    let with_data = args.people > 0;
    let parties: [String; 3] = [0, 1, 2].map(|i: usize| node_keys[i].1.clone());
    let mut nodes = Vec::new();
    for (i, (name, key_id, keystore)) in (0u16..).zip(node_keys) {
        let peers: Vec<&String> = all_p2p
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != usize::from(i))
            .map(|(_, p)| p)
            .collect();
        let mut config = node_config(name.as_str(), "voter", &keystore, &p2p(i), &peers, &http(i));
        if with_data && let Some(section) = assessment_section(usize::from(i), &parties) {
            config.push_str(&section);
        }
        let rel = format!("nodes/{name}/node.toml");
        fs::create_dir_all(dir.join(format!("nodes/{name}")))?;
        fs::write(dir.join(&rel), config)?;
        nodes.push(NodeEntry {
            name,
            config: rel,
            keystore,
            key_id,
            url: format!("http://{}", http(i)),
        });
    }
    let auditor_actor = actors
        .iter()
        .find(|a| a.name == "auditor")
        .cloned()
        .context("auditor key")?;
    let peers: Vec<&String> = all_p2p.iter().collect();
    let a = args.nodes;
    let config = node_config(
        "auditor",
        "learner",
        &auditor_actor.keystore,
        &p2p(a),
        &peers,
        &http(a),
    );
    fs::create_dir_all(dir.join("nodes/auditor"))?;
    fs::write(dir.join("nodes/auditor/node.toml"), config)?;
    let auditor = NodeEntry {
        name: "auditor".into(),
        config: "nodes/auditor/node.toml".into(),
        keystore: auditor_actor.keystore,
        key_id: auditor_actor.key_id,
        url: format!("http://{}", http(a)),
    };
    let example = if with_data {
        let node_dirs = [0, 1, 2].map(|i: usize| format!("nodes/{}", nodes[i].name));
        let dirs = [0, 1, 2].map(|i| node_dirs[i].as_str());
        Some(create_data(dir, &dirs, args.people, args.seed, &password)?)
    } else {
        None
    };
    let manifest = Manifest {
        format: "weinong-devnet-1".into(),
        nodes,
        auditor,
        actors,
        consortium,
        people: args.people,
        example,
    };
    fs::write(dir.join(MANIFEST), serde_json::to_string_pretty(&manifest)?)?;
    Ok(manifest)
}

fn node_config(
    name: &str,
    role: &str,
    keystore: &str,
    p2p: &str,
    peers: &[&String],
    http: &str,
) -> String {
    let peers = peers
        .iter()
        .map(|p| format!("{p:?}"))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "# Generated by `weinong devnet`; every field is described in deploy/README.md.\n\
         name = {name:?}\nrole = {role:?}\ndata_dir = \"data\"\n\
         keystore = \"../../{keystore}\"\npassword_file = \"../../password\"\n\
         genesis = \"../../genesis.bin\"\n\n[p2p]\nlisten = {p2p:?}\npeers = [{peers}]\n\n\
         [http]\nlisten = {http:?}\n\n[batch]\nmax_txs = 1000\ninterval_ms = 10\n"
    )
}

fn print_summary(dir: &Path, m: &Manifest) {
    println!("nodes:");
    for n in &m.nodes {
        println!(
            "  {:<18} {}  key {}  keystore {}",
            n.name,
            n.url,
            &n.key_id[..16],
            dir.join(&n.keystore).display()
        );
    }
    println!(
        "  {:<18} {}  key {}  (learner; started with --with-auditor)",
        m.auditor.name,
        m.auditor.url,
        &m.auditor.key_id[..16]
    );
    println!(
        "actors (keystore password in {}):",
        dir.join("password").display()
    );
    for a in &m.actors {
        println!(
            "  {:<18} key {}  keystore {}",
            a.name,
            &a.key_id[..16],
            dir.join(&a.keystore).display()
        );
    }
    if m.example.is_some() {
        println!(
            "department data: {} synthetic people in each department node's {} (files in {}); the consortium pepper only inside the department nodes' sealed {}",
            m.people,
            crate::cmd_devnet_data::DATABASE_FILE,
            dir.join(crate::cmd_devnet_data::SYNTH_DIR).display(),
            crate::cmd_devnet_data::SECRETS_FILE
        );
    }
    if let Some(first) = m.nodes.first() {
        println!("try:  curl {}/healthz", first.url);
        println!(
            "      WEINONG_KEY_PASSWORD=$(cat {pw}) {weinong} tx --node {url} --key {ks} head",
            weinong = this_exe(),
            pw = dir.join("password").display(),
            url = first.url,
            ks = dir.join("keys/auditor.keystore.json").display()
        );
    }
}

/// Prints a consent grant and an assessment request for the example subject, with this
/// devnet's keystores, password and node: the product's main path, ready to copy. The
/// pseudonym of the ID comes from the node by oblivious PRF; no client holds the pepper.
fn print_example(dir: &Path, m: &Manifest) {
    let (Some(example), Some(node), Some(home)) = (
        &m.example,
        m.nodes.first(),
        m.actors.iter().find(|a| a.name == "care-home-1"),
    ) else {
        return;
    };
    let Some(registrar) = m.actors.iter().find(|a| a.name == "registrar") else {
        return;
    };
    let Ok(models) = shipped_models() else {
        return;
    };
    let Some((_, admission)) = models.first() else {
        return;
    };
    let categories: Vec<String> = admission
        .iter()
        .map(|c| c.label().replace(' ', "_"))
        .collect();
    let Some(auditor) = m.actors.iter().find(|a| a.name == "auditor") else {
        return;
    };
    let batch = dir.join(EXAMPLE_BATCH);
    if let Err(e) = write_example_batch(&batch, &example.id_number) {
        println!("(no batch example: {e:#})");
    }
    let weinong = this_exe();
    let bin_dir = Path::new(&weinong)
        .parent()
        .map_or_else(|| ".".to_owned(), |d| d.display().to_string());
    println!(
        "example: person {} is held by all three departments; as the registrar, record their consent for care-home-1, then request an admission assessment as care-home-1, audit it, list the accesses and run a batch request:",
        example.id_number
    );
    println!("  export PATH=\"{bin_dir}:$PATH\"   # `weinong` is {weinong}");
    println!(
        "  export WEINONG_KEY_PASSWORD=$(cat {})",
        dir.join("password").display()
    );
    println!(
        "  weinong consent grant --subject {id} --grantee {grantee} --purpose admission_assessment --categories {cats} --days 30 --key {key} --node {url}",
        id = example.id_number,
        grantee = home.key_id,
        cats = categories.join(","),
        key = dir.join(&registrar.keystore).display(),
        url = node.url,
    );
    println!(
        "  weinong assess request --subject {id} --model admission-v1 --key {key} --node {url} --wait --receipt receipt.json",
        id = example.id_number,
        key = dir.join(&home.keystore).display(),
        url = node.url,
    );
    println!("  # REQUEST_ID: the request id the line above prints");
    println!(
        "  weinong audit request REQUEST_ID --key {key} --node {url} --out bundle.json",
        key = dir.join(&auditor.keystore).display(),
        url = node.url,
    );
    println!("  weinong audit verify bundle.json --receipt receipt.json");
    println!(
        "  weinong consent history --subject {id} --key {key} --node {url}",
        id = example.id_number,
        key = dir.join(&registrar.keystore).display(),
        url = node.url,
    );
    println!(
        "  weinong assess request --batch {batch} --model admission-v1 --key {key} --node {url} --wait --out batch-results.csv",
        batch = batch.display(),
        key = dir.join(&home.keystore).display(),
        url = node.url,
    );
}

/// The batch file of the printed example, in the devnet directory.
const EXAMPLE_BATCH: &str = "example-batch.csv";

/// Writes the example's batch file (the example person's ID number under an `id_number`
/// header) unless it exists.
fn write_example_batch(path: &Path, id_number: &str) -> Result<()> {
    if path.exists() {
        return Ok(());
    }
    fs::write(path, format!("id_number\n{id_number}\n"))
        .with_context(|| format!("cannot write {}", path.display()))
}

/// This executable's path as a runnable command (`weinong` when it cannot be found).
fn this_exe() -> String {
    std::env::current_exe().map_or_else(|_| "weinong".to_owned(), |p| p.display().to_string())
}

pub(crate) fn spawn(dir: &Path, node: &NodeEntry) -> Result<Child> {
    let exe = crate::cmd_node::node_binary()?;
    let config = dir.join(&node.config);
    let log_path = config.with_file_name("node.log");
    let log = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .with_context(|| format!("cannot open {}", log_path.display()))?;
    let child = Command::new(exe)
        .args(["run", "--config"])
        .arg(&config)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .with_context(|| format!("cannot start node {}", node.name))?;
    Ok(child)
}

pub(crate) fn wait_listening(url: &str, timeout: Duration) -> bool {
    let addr = url.trim_start_matches("http://");
    let start = Instant::now();
    while start.elapsed() < timeout {
        if std::net::TcpStream::connect(addr).is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

fn run_nodes(args: &DevnetArgs, m: &Manifest) -> Result<Outcome> {
    let mut to_run: Vec<&NodeEntry> = m.nodes.iter().collect();
    if args.with_auditor {
        to_run.push(&m.auditor);
    }
    let mut children: Vec<(String, Child)> = Vec::new();
    let mut restarts = Restarts::default();
    for node in &to_run {
        match spawn(&args.dir, node) {
            Ok(c) => children.push((node.name.clone(), c)),
            Err(e) => {
                stop(&mut children);
                return Err(e);
            }
        }
    }
    for node in &to_run {
        if wait_listening(&node.url, Duration::from_secs(60)) {
            println!("{} is up at {}", node.name, node.url);
        } else {
            println!(
                "{} did not open {} within 60 s; see {}",
                node.name,
                node.url,
                args.dir
                    .join(&node.config)
                    .with_file_name("node.log")
                    .display()
            );
        }
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let admins = match Admins::open(&args.dir, m) {
            Ok(a) => a,
            Err(e) => {
                println!("cannot act as the devnet's admins: {e:#}");
                return;
            }
        };
        if let Err(e) = bind_care_homes(&args.dir, m, &admins).await {
            println!("could not bind the sample care homes' institution role yet: {e:#}");
        }
        if let Err(e) = register_models(&admins).await {
            println!("could not register the shipped models yet: {e:#}");
        }
        if let Err(e) = register_policies(&admins).await {
            println!("could not register the shipped policies yet: {e:#}");
        }
    });
    print_example(&args.dir, m);
    runtime.block_on(start_console(&args.dir, m));
    println!(
        "the devnet is running; Ctrl-C stops it (logs: {}/nodes/*/node.log)",
        args.dir.display()
    );
    let stopped_by_user = runtime.block_on(async {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        let mut tick = tokio::time::interval(Duration::from_millis(500));
        loop {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => return true,
                _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending::<()>().await } } => return true,
                _ = tick.tick() => {
                    for (name, child) in children.iter_mut() {
                        let Ok(Some(status)) = child.try_wait() else {
                            continue;
                        };
                        let node = to_run.iter().find(|n| &n.name == name);
                        match node {
                            Some(node) if !args.no_restart && restarts.allow(name) => {
                                println!("node {name} exited ({status}); restarting it (its log: {})", node_log(&args.dir, node).display());
                                match spawn(&args.dir, node) {
                                    Ok(c) => *child = c,
                                    Err(e) => println!("cannot restart node {name}: {e:#}"),
                                }
                            }
                            _ => println!(
                                "node {name} exited ({status}) and stays stopped; see its node.log (Ctrl-C and `weinong devnet --dir {}` start every node again)",
                                args.dir.display()
                            ),
                        }
                    }
                    children.retain_mut(|(_, c)| !matches!(c.try_wait(), Ok(Some(_))));
                    if children.is_empty() {
                        return false;
                    }
                }
            }
        }
    });
    stop(&mut children);
    if stopped_by_user {
        println!(
            "stopped; `weinong devnet --dir {}` resumes the same chain",
            args.dir.display()
        );
        Ok(Outcome::Ok)
    } else {
        bail!(
            "every node exited; see the node.log files under {}",
            args.dir.join("nodes").display()
        )
    }
}

/// The console's roles and the actors who log in with them, as printed.
const CONSOLE_LOGINS: [(&str, &str); 4] = [
    ("auditor", "审计员 auditor"),
    ("admin-1", "管理员 admin"),
    ("registrar", "登记员 registrar"),
    ("care-home-1", "养老机构 care home"),
];

/// Serves the web console in front of node 0 on the port just below node 0's API (the
/// devnet's runtime drives it until the devnet stops), and prints its URL and the keystore
/// each role logs in with. Without a built console it says how to build one.
async fn start_console(dir: &Path, m: &Manifest) {
    let dist = Path::new(crate::cmd_console::DEFAULT_DIST);
    let Some(node) = m.nodes.first() else {
        return;
    };
    if !dist.join("index.html").is_file() {
        println!(
            "console: not built (`bash scripts/console-build.sh` builds it; then restart the devnet)"
        );
        return;
    }
    let port = node
        .url
        .rsplit(':')
        .next()
        .and_then(|p| p.parse::<u16>().ok())
        .and_then(|p| p.checked_sub(1));
    let Some(port) = port else {
        println!("console: node 0's URL {} names no port", node.url);
        return;
    };
    let listener = match tokio::net::TcpListener::bind(("127.0.0.1", port)).await {
        Ok(l) => l,
        Err(e) => {
            println!("console: cannot listen on 127.0.0.1:{port}: {e}");
            return;
        }
    };
    let url = node.url.clone();
    tokio::spawn(async move {
        let served = crate::cmd_console::serve(
            listener,
            Path::new(crate::cmd_console::DEFAULT_DIST),
            url,
            std::future::pending(),
        );
        if let Err(e) = served.await {
            println!("console: {e:#}");
        }
    });
    println!(
        "console (为侬控制台): http://127.0.0.1:{port} — log in with a keystore and the password in {}:",
        dir.join("password").display()
    );
    for (name, role) in CONSOLE_LOGINS {
        if let Some(actor) = m.actors.iter().find(|a| a.name == name) {
            println!("  {role}: {}", dir.join(&actor.keystore).display());
        }
    }
    // The console fronts node 0 (civil affairs), whose own key opens its policy runs and
    // reads their results (免申即享), as `weinong policy run --key` does.
    println!(
        "  民政部门节点运维 civil affairs node operator: {}",
        dir.join(&node.keystore).display()
    );
}

/// How often the devnet restarts a node that exited: at most [`Restarts::MAX`] times in
/// [`Restarts::WINDOW`] per node, so a node that cannot start (a broken config, a port in
/// use) is left stopped with its log named instead of restarted forever.
#[derive(Default)]
struct Restarts(std::collections::HashMap<String, Vec<Instant>>);

impl Restarts {
    const MAX: usize = 3;
    const WINDOW: Duration = Duration::from_secs(60);

    fn allow(&mut self, name: &str) -> bool {
        let now = Instant::now();
        let times = self.0.entry(name.to_owned()).or_default();
        times.retain(|t| now.duration_since(*t) < Self::WINDOW);
        if times.len() >= Self::MAX {
            return false;
        }
        times.push(now);
        true
    }
}

fn node_log(dir: &Path, node: &NodeEntry) -> PathBuf {
    dir.join(&node.config).with_file_name("node.log")
}

/// SIGTERM to every child, then up to 10 s for them to stop, then SIGKILL.
pub(crate) fn stop(children: &mut Vec<(String, Child)>) {
    for (_, child) in children.iter() {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status();
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    for (name, child) in children.iter_mut() {
        loop {
            match child.try_wait() {
                Ok(Some(_)) => break,
                _ if Instant::now() > deadline => {
                    println!("node {name} did not stop in time; killing it");
                    let _ = child.kill();
                    let _ = child.wait();
                    break;
                }
                _ => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    }
    children.clear();
}

/// Reads a devnet's manifest (for `weinong bench ledger` and tests).
pub fn read_manifest(dir: &Path) -> Result<Manifest> {
    let path = dir.join(MANIFEST);
    let text =
        fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_str(&text)
        .with_context(|| format!("{} is not a devnet manifest", path.display()))
}

/// The devnet password (`DIR/password`, which must be its owner's alone).
pub fn read_password(dir: &Path) -> Result<weinong_keys::Zeroizing<String>> {
    Ok(weinong_keys::read_password_file(&dir.join("password"))?)
}

fn open_actor(dir: &Path, m: &Manifest, name: &str, password: &str) -> Result<KeyPair> {
    let actor = m
        .actors
        .iter()
        .find(|a| a.name == name)
        .with_context(|| format!("no {name} in the manifest"))?;
    let text = fs::read_to_string(dir.join(&actor.keystore))?;
    weinong_keys::open_keystore(&text, password.as_bytes())
        .with_context(|| format!("cannot open {name}'s keystore"))
}

/// Signs and submits governance changes with the devnet's two admins (2-of-2).
struct Admins {
    keys: [KeyPair; 2],
    client: crate::client::Client,
}

/// How a governance change ended.
enum Applied {
    /// Committed now.
    Committed,
    /// Refused because the ledger already holds what it would make.
    Already,
}

/// Longest a governance change is retried while the nodes elect a leader.
const GOVERNANCE_WAIT: Duration = Duration::from_secs(60);

impl Admins {
    fn open(dir: &Path, m: &Manifest) -> Result<Self> {
        let password = read_password(dir)?;
        let url = &m.nodes.first().context("no nodes")?.url;
        let keys = [
            open_actor(dir, m, "admin-1", &password)?,
            open_actor(dir, m, "admin-2", &password)?,
        ];
        let client =
            crate::client::Client::new(url, KeyPair::from_secret_bytes(&*keys[0].secret_bytes())?)?
                .with_scope(m.scope(0)?);
        Ok(Self { keys, client })
    }

    /// Approves `change` by both admins at the current governance sequence number and
    /// submits it, retrying (new sequence number, new nonce) until it commits, the
    /// contracts refuse it with a reason that `already` recognises, or [`GOVERNANCE_WAIT`]
    /// passes.
    async fn apply(
        &self,
        change: &weinong_contracts::Change,
        what: &str,
        already: impl Fn(&weinong_api::RejectionBody) -> bool,
    ) -> Result<Applied> {
        use weinong_contracts::{Approval, Call, Governance};
        use weinong_ledger::{Transaction, TxBody};

        let deadline = Instant::now() + GOVERNANCE_WAIT;
        loop {
            let gov = self.client.governance().await?;
            let seq = gov.seq;
            let consortium = weinong_ledger::Hash32(
                hex::decode(&gov.consortium)?
                    .try_into()
                    .map_err(|_| anyhow::anyhow!("consortium id is not 32 bytes"))?,
            );
            let bytes = Governance::approved_bytes(&consortium, seq, change);
            let mut approvals: Vec<Approval> = self
                .keys
                .iter()
                .map(|a| Approval {
                    admin: a.key_id(),
                    signature: a.sign(&bytes),
                })
                .collect();
            approvals.sort_by_key(|a| a.admin);
            let call = Call::Governance(Governance {
                seq,
                change: change.clone(),
                approvals,
            });
            let body = TxBody {
                kind: call.kind(),
                signer: self.keys[0].key_id(),
                nonce: weinong_keys::clock::now_ms(),
                time_ms: weinong_keys::clock::now_ms(),
                payload: call.encode()?,
            };
            let tx = Transaction::sign(body, &self.keys[0])?;
            let outcome = self
                .client
                .submit(vec![hex::encode(tx.as_bytes())])
                .await?
                .pop()
                .context("the node's answer has no outcome")?;
            match &outcome {
                weinong_api::SubmitOutcome::Committed { .. } => return Ok(Applied::Committed),
                weinong_api::SubmitOutcome::Rejected { rejection, .. } if already(rejection) => {
                    return Ok(Applied::Already);
                }
                _ if Instant::now() > deadline => bail!(
                    "{what}: {} {}: {}",
                    outcome.status(),
                    outcome.tx(),
                    outcome.reason()
                ),
                _ => tokio::time::sleep(Duration::from_millis(500)).await,
            }
        }
    }
}

/// Gives the sample care homes the institution role (a 2-of-2 admin governance change
/// each), once: keys that already hold it are left alone.
async fn bind_care_homes(dir: &Path, m: &Manifest, admins: &Admins) -> Result<()> {
    use weinong_contracts::{Change, Role};

    let password = read_password(dir)?;
    for name in ["care-home-1", "care-home-2"] {
        let home = open_actor(dir, m, name, &password)?;
        let key = admins.client.key_info(&home.key_id()).await.ok();
        if key.is_some_and(|k| k.roles.iter().any(|x| x == "institution")) {
            continue;
        }
        let change = Change::BindRole {
            key: home.public_key().clone(),
            role: Role::Institution,
            valid_from: weinong_keys::clock::now_ms().saturating_sub(60_000),
            valid_until: None,
        };
        admins
            .apply(&change, &format!("binding {name}"), |_| false)
            .await?;
        println!(
            "{name} ({}) now holds the institution role",
            &home.key_id().to_hex()[..16]
        );
    }
    Ok(())
}

/// The shipped assessment models and the data categories each reads (what a consent must
/// cover for a request citing it): those its inputs declare in the spec, the only ones a
/// registration may declare.
fn shipped_models() -> Result<Vec<(&'static str, Vec<weinong_contracts::DataCategory>)>> {
    let with_categories = |source: &'static str| -> Result<_> {
        let model = weinong_mpc::model::compile(source)?;
        Ok((
            source,
            crate::cmd_tx::model_categories(&model)?.iter().collect(),
        ))
    };
    weinong_mpc::model::SHIPPED
        .into_iter()
        .map(with_categories)
        .collect()
}

/// The ledger's legal basis for a policy spec's.
pub(crate) fn ledger_legal_basis(
    basis: weinong_connectors::policy::LegalBasis,
) -> weinong_contracts::LegalBasis {
    use weinong_connectors::policy::LegalBasis as Spec;
    use weinong_contracts::LegalBasis as Ledger;
    match basis {
        Spec::StatutoryDuty => Ledger::StatutoryDuty,
        Spec::PublicInterest => Ledger::PublicInterest,
        Spec::Consent => Ledger::Consent,
    }
}

/// Registers the shipped 免申即享 policies (a 2-of-2 admin governance change each), each
/// received by its department's member (the devnet numbers members in department order),
/// declaring the categories its terms read. Idempotent like [`register_models`].
async fn register_policies(admins: &Admins) -> Result<()> {
    use weinong_connectors::policy::{PolicySpec, SHIPPED};
    use weinong_contracts::{Change, MemberId};

    for source in SHIPPED {
        let spec = PolicySpec::from_toml(source)?;
        let bytes = spec.canonical_bytes();
        let id = weinong_contracts::policy_id(&bytes);
        let categories = crate::cmd_policy::policy_categories(&spec);
        let change = Change::RegisterPolicy {
            receiver: MemberId(u16::try_from(spec.receiver().party() + 1)?),
            legal_basis: ledger_legal_basis(spec.legal_basis()),
            categories,
            spec: bytes,
        };
        let what = format!("registering policy {}", spec.name());
        let short = &id.to_hex()[..16];
        match admins
            .apply(&change, &what, |rejection| {
                rejection.code == weinong_api::RejectionCode::PolicyExists
            })
            .await?
        {
            Applied::Committed => println!(
                "policy {} ({short}) registered, reading {categories}",
                spec.name()
            ),
            Applied::Already => println!("policy {} ({short}) is registered", spec.name()),
        }
    }
    Ok(())
}

/// Registers the shipped models (a 2-of-2 admin governance change each). Idempotent: the
/// node API has no model lookup, so the ledger answers instead: the contracts refuse a
/// model that is registered already (`ModelExists`), and nothing is recorded then.
async fn register_models(admins: &Admins) -> Result<()> {
    use weinong_contracts::{CategorySet, Change};

    for (source, categories) in shipped_models()? {
        let model = weinong_mpc::model::compile(source)?;
        let spec = weinong_mpc::model::canonical_form(source)?;
        let id = weinong_contracts::payload::model_id(&spec);
        if id.as_bytes() != &model.id().0 {
            bail!(
                "{}: the ledger's model id {id} differs from the engine's {}",
                model.name(),
                model.id()
            );
        }
        let change = Change::RegisterModel {
            categories: CategorySet::of(&categories),
            spec,
        };
        let what = format!("registering model {}", model.name());
        let labels: Vec<&str> = categories.iter().map(|c| c.label()).collect();
        match admins
            .apply(&change, &what, |rejection| {
                rejection.code == weinong_api::RejectionCode::ModelExists
            })
            .await?
        {
            Applied::Committed => println!(
                "model {} ({}) registered, reading {}",
                model.name(),
                &id.to_hex()[..16],
                labels.join(", ")
            ),
            Applied::Already => println!(
                "model {} ({}) is registered",
                model.name(),
                &id.to_hex()[..16]
            ),
        }
    }
    Ok(())
}
