//! `weinong bench ledger`: committed transactions per second and commit latency of a
//! devnet under load from several signed clients, beside the bound this machine's cores
//! set (every node verifies every SM2 signature: cores ÷ (nodes × one verify)), then a
//! check that every node holds the same chain and every acknowledged transaction.
//!
//! Transactions are consent grants by load registrar keys (`weinong devnet --load-keys`),
//! signed before the clock starts so the figure is the consortium's, not the client's.
//! Each client submits its batches in nonce order, one at a time, to the nodes in turn
//! (followers forward to the leader); a batch the consortium could not order is retried
//! on the next node, so killing a node under load (as the tests do) loses nothing.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Args;
use weinong_api::SubmitOutcome;
use weinong_api::dto::{SubmitRequest, SubmitResponse};
use weinong_contracts::{
    Call, CategorySet, ConsentGrant, ConsentId, DataCategory, EvidenceHash, Purpose,
};
use weinong_keys::{KeyId, KeyPair, SubjectPseudonym, open_keystore};
use weinong_ledger::{Transaction, TxBody};

use crate::Outcome;
use crate::client::{Client, now_ms};
use crate::cmd_devnet::{self, DevnetArgs, Manifest};

/// `weinong bench ledger`.
#[derive(Args)]
pub struct BenchLedgerArgs {
    /// Department nodes of the devnet this bench creates.
    #[arg(long, default_value_t = 3)]
    nodes: u16,
    /// Transactions to submit.
    #[arg(long, default_value_t = 100_000)]
    txs: usize,
    /// Concurrent clients, each with its own key.
    #[arg(long, default_value_t = 8)]
    clients: u16,
    /// Transactions per HTTP request.
    #[arg(long, default_value_t = 100)]
    batch: usize,
    /// Devnet directory: created if absent (default: a temporary one).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// The devnet in --dir is already running: load it, start nothing.
    #[arg(long)]
    running: bool,
    /// Port base of a devnet this bench creates (see `weinong devnet --base-port`).
    #[arg(long, default_value_t = 17100)]
    base_port: u16,
    /// Append every acknowledged transaction hash here, one per line.
    #[arg(long)]
    acks: Option<PathBuf>,
    /// After the load, look up this many acknowledged transactions on every node (0: all).
    #[arg(long, default_value_t = 1_000)]
    check: usize,
    /// No load: only check the nodes against the hashes in --acks.
    #[arg(long)]
    check_only: bool,
    /// Load only, no check (e.g. while a node is down).
    #[arg(long, conflicts_with = "check_only")]
    no_check: bool,
    /// The check also covers the auditor's learner node (it must be running).
    #[arg(long)]
    include_auditor: bool,
}

struct Nodes {
    children: Vec<(String, std::process::Child)>,
}

impl Drop for Nodes {
    fn drop(&mut self) {
        cmd_devnet::stop(&mut self.children);
    }
}

/// Opens the devnet keystore at `rel` under `dir` with the devnet's password.
pub(crate) fn open_key(dir: &std::path::Path, rel: &str, password: &str) -> Result<KeyPair> {
    let path = dir.join(rel);
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    open_keystore(&text, password.as_bytes())
        .with_context(|| format!("cannot open {}", path.display()))
}

fn clone_key(key: &KeyPair) -> Result<KeyPair> {
    Ok(KeyPair::from_secret_bytes(&*key.secret_bytes())?)
}

pub fn bench_ledger(args: BenchLedgerArgs) -> Result<Outcome> {
    if args.batch == 0 || args.clients == 0 {
        bail!("--batch and --clients must be at least 1");
    }
    let temp;
    let dir = match &args.dir {
        Some(d) => d.clone(),
        None => {
            temp = tempfile::tempdir()?;
            temp.path().join("devnet")
        }
    };
    let manifest: Manifest = if dir.join("devnet.json").exists() {
        cmd_devnet::read_manifest(&dir)?
    } else {
        if args.running {
            bail!("--running but {} holds no devnet", dir.display());
        }
        println!(
            "creating a devnet of {} nodes with {} load keys in {}",
            args.nodes,
            args.clients,
            dir.display()
        );
        cmd_devnet::create(&DevnetArgs {
            dir: dir.clone(),
            nodes: args.nodes,
            base_port: args.base_port,
            with_auditor: false,
            init_only: true,
            no_restart: true,
            load_keys: args.clients,
            // The ledger benchmark reads no department data.
            people: 0,
            seed: 1,
        })?
    };
    let password = cmd_devnet::read_password(&dir)?;
    let mut nodes = Nodes {
        children: Vec::new(),
    };
    if !args.running {
        for node in &manifest.nodes {
            nodes
                .children
                .push((node.name.clone(), cmd_devnet::spawn(&dir, node)?));
        }
    }
    let urls: Vec<String> = manifest.nodes.iter().map(|n| n.url.clone()).collect();
    for url in &urls {
        if !cmd_devnet::wait_listening(url, Duration::from_secs(120)) {
            bail!(
                "{url} did not come up; see the node logs under {}",
                dir.join("nodes").display()
            );
        }
    }
    let auditor_entry = manifest
        .actors
        .iter()
        .find(|a| a.name == "auditor")
        .context("no auditor in the manifest")?;
    let auditor = open_key(&dir, &auditor_entry.keystore, &password)?;
    let runtime = tokio::runtime::Runtime::new()?;
    let ok = runtime.block_on(async {
        wait_for_leader(&urls).await?;
        let acked = if args.check_only {
            let path = args
                .acks
                .as_ref()
                .context("--check-only needs --acks FILE")?;
            std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(|l| l.trim().to_string())
                .collect()
        } else {
            load(&args, &dir, &manifest, &password, &urls, &auditor).await?
        };
        if args.no_check {
            return Ok(true);
        }
        let mut checked = urls.clone();
        if args.include_auditor {
            checked.push(manifest.auditor.url.clone());
        }
        check(&checked, &auditor, &acked, args.check).await
    })?;
    drop(nodes);
    Ok(if ok {
        Outcome::Ok
    } else {
        Outcome::CheckFailed
    })
}

async fn wait_for_leader(urls: &[String]) -> Result<()> {
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        for url in urls {
            if let Ok(r) = http.get(format!("{url}/metrics")).send().await
                && let Ok(text) = r.text().await
                && text
                    .lines()
                    .any(|l| l.starts_with("weinong_leader ") && !l.ends_with(" 0"))
            {
                return Ok(());
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    bail!("no Raft leader was elected within 60 s")
}

fn sign_grants(
    key: &KeyPair,
    grantee: KeyId,
    count: usize,
    nonce_base: u64,
) -> Result<Vec<Transaction>> {
    let now = now_ms();
    let categories = CategorySet::of(&DataCategory::ALL[..2]);
    (0..count)
        .map(|i| {
            let mut random = [0u8; 96];
            getrandom::fill(&mut random).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
            let part = |k: usize| -> [u8; 32] {
                let mut out = [0u8; 32];
                out.copy_from_slice(&random[k * 32..k * 32 + 32]);
                out
            };
            let call = Call::ConsentGrant(ConsentGrant {
                consent: ConsentId::from_bytes(part(0)),
                subject: SubjectPseudonym::from_bytes(part(1)),
                grantee,
                purpose: Purpose::AdmissionAssessment,
                categories,
                valid_from: now,
                valid_until: now + 86_400_000,
                evidence: EvidenceHash::from_bytes(part(2)),
            });
            let body = TxBody {
                kind: call.kind(),
                signer: key.key_id(),
                nonce: nonce_base + i as u64,
                time_ms: now,
                payload: call.encode()?,
            };
            Ok(Transaction::sign(body, key)?)
        })
        .collect()
}

fn measure_verify_us() -> f64 {
    let key = KeyPair::generate();
    let msg = b"weinong bench ledger: one SM2 verification";
    let sig = key.sign(msg);
    let rounds = 300;
    let start = Instant::now();
    for _ in 0..rounds {
        let _ = key.public_key().verify(msg, &sig);
    }
    start.elapsed().as_secs_f64() * 1e6 / f64::from(rounds)
}

struct ClientReport {
    latencies_ms: Vec<f64>,
    acked: Vec<String>,
    rejected: Vec<String>,
}

async fn load(
    args: &BenchLedgerArgs,
    dir: &std::path::Path,
    manifest: &Manifest,
    password: &str,
    urls: &[String],
    auditor: &KeyPair,
) -> Result<Vec<String>> {
    let load_keys: Vec<&cmd_devnet::Actor> = manifest
        .actors
        .iter()
        .filter(|a| a.name.starts_with("load-"))
        .collect();
    if load_keys.len() < usize::from(args.clients) {
        bail!(
            "the devnet has {} load keys, --clients asks for {}",
            load_keys.len(),
            args.clients
        );
    }
    let verify_us = measure_verify_us();
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1) as f64;
    let bound = cores / (urls.len() as f64 * verify_us * 1e-6);
    println!(
        "signing {} transactions for {} clients ...",
        args.txs, args.clients
    );
    let grantee = auditor.key_id();
    let nonce_base = now_ms().saturating_mul(1_000);
    let mut per_client = Vec::new();
    let clients = usize::from(args.clients);
    for (c, actor) in load_keys.iter().take(clients).enumerate() {
        let key = open_key(dir, &actor.keystore, password)?;
        let count = args.txs / clients + usize::from(c < args.txs % clients);
        let txs = tokio::task::spawn_blocking({
            let key = clone_key(&key)?;
            move || sign_grants(&key, grantee, count, nonce_base)
        });
        per_client.push((key, txs));
    }
    let mut signed = Vec::new();
    for (key, txs) in per_client {
        signed.push((key, txs.await??));
    }
    let committed = Arc::new(AtomicU64::new(0));
    let bar = indicatif::ProgressBar::new(args.txs as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{bar:40} {pos}/{len} committed  {per_sec}  eta {eta}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let start = Instant::now();
    let mut tasks = Vec::new();
    for (c, (key, txs)) in signed.into_iter().enumerate() {
        let urls = urls.to_vec();
        let batch = args.batch;
        let (committed, bar) = (committed.clone(), bar.clone());
        let reader = clone_key(auditor)?;
        tasks.push(tokio::spawn(async move {
            run_client(c, key, reader, txs, urls, batch, committed, bar).await
        }));
    }
    let mut latencies = Vec::new();
    let mut acked = Vec::new();
    let mut rejected = Vec::new();
    for t in tasks {
        let r = t.await??;
        latencies.extend(r.latencies_ms);
        acked.extend(r.acked);
        rejected.extend(r.rejected);
    }
    let wall = start.elapsed().as_secs_f64();
    bar.finish_and_clear();
    latencies.sort_by(f64::total_cmp);
    let pct = |p: f64| {
        latencies
            .get(((latencies.len() as f64 - 1.0) * p).round() as usize)
            .copied()
            .unwrap_or(f64::NAN)
    };
    let tps = acked.len() as f64 / wall;
    println!(
        "bench ledger: {} nodes, {} clients, batches of {}",
        urls.len(),
        args.clients,
        args.batch
    );
    println!(
        "  committed       {} of {} transactions in {:.1} s ({} rejected)",
        acked.len(),
        args.txs,
        wall,
        rejected.len()
    );
    println!("  throughput      {tps:.0} committed tx/s");
    println!(
        "  commit latency  p50 {:.0} ms, p99 {:.0} ms (submit to acknowledged, per transaction)",
        pct(0.5),
        pct(0.99)
    );
    println!(
        "  machine bound   {bound:.0} tx/s = {cores} cores / ({} nodes x {verify_us:.0} us per SM2 verify, measured now)",
        urls.len()
    );
    println!(
        "  ratio           {:.0} % of the bound (aim: >= 70 % with p99 < 500 ms)",
        100.0 * tps / bound
    );
    for r in rejected.iter().take(3) {
        println!("  rejected e.g.   {r}");
    }
    if let Some(path) = &args.acks {
        let mut text = acked.join("\n");
        text.push('\n');
        std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(acked)
}

#[allow(clippy::too_many_arguments)]
async fn run_client(
    c: usize,
    key: KeyPair,
    reader: KeyPair,
    txs: Vec<Transaction>,
    urls: Vec<String>,
    batch: usize,
    committed: Arc<AtomicU64>,
    bar: indicatif::ProgressBar,
) -> Result<ClientReport> {
    let mut submitters = Vec::new();
    let mut readers = Vec::new();
    for url in &urls {
        submitters.push(Client::new(url, clone_key(&key)?)?);
        readers.push(Client::new(url, clone_key(&reader)?)?);
    }
    let mut report = ClientReport {
        latencies_ms: Vec::new(),
        acked: Vec::new(),
        rejected: Vec::new(),
    };
    let mut turn = c;
    for chunk in txs.chunks(batch) {
        let mut pending: Vec<&Transaction> = chunk.iter().collect();
        let mut attempts = 0;
        let t0 = Instant::now();
        while !pending.is_empty() {
            attempts += 1;
            if attempts > 200 {
                bail!(
                    "client {c}: {} transactions still not ordered after 200 attempts",
                    pending.len()
                );
            }
            let node = turn % urls.len();
            turn += 1;
            let body = SubmitRequest {
                transactions: pending.iter().map(|t| hex::encode(t.as_bytes())).collect(),
            };
            let answer: SubmitResponse =
                match submitters[node].post("/v1/transactions", &body).await {
                    Ok(v) => v,
                    Err(_) => {
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
            let mut retry = Vec::new();
            // A transaction without an outcome is tried again.
            for (tx, o) in pending.iter().zip(
                answer
                    .outcomes
                    .iter()
                    .map(Some)
                    .chain(std::iter::repeat(None)),
            ) {
                let hash = tx.hash().to_hex();
                match o {
                    Some(SubmitOutcome::Committed { .. }) => {
                        report.latencies_ms.push(t0.elapsed().as_secs_f64() * 1e3);
                        report.acked.push(hash);
                    }
                    Some(rejected @ SubmitOutcome::Rejected { .. }) => {
                        // A retry of a transaction that did commit meets its own nonce.
                        let found = readers[node].transaction(&hash).await.is_ok();
                        if found {
                            report.acked.push(hash);
                        } else {
                            report
                                .rejected
                                .push(format!("{hash}: {}", rejected.reason()));
                        }
                    }
                    _ => retry.push(*tx),
                }
            }
            let done = (pending.len() - retry.len()) as u64;
            committed.fetch_add(done, Ordering::Relaxed);
            bar.inc(done);
            pending = retry;
            if !pending.is_empty() {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
    Ok(report)
}

/// Every node at one height with identical headers, and the acknowledged transactions on
/// every node. Prints what it found; false if anything differs or is missing.
async fn check(urls: &[String], reader: &KeyPair, acked: &[String], sample: usize) -> Result<bool> {
    let mut clients = Vec::new();
    for url in urls {
        clients.push(Client::new(url, clone_key(reader)?)?);
    }
    let deadline = Instant::now() + Duration::from_secs(120);
    let heights = loop {
        let mut heights = Vec::new();
        for c in &clients {
            let h = c.latest_block().await.ok().map(|b| b.height);
            heights.push(h);
        }
        let first = heights[0];
        if first.is_some() && heights.iter().all(|h| *h == first) {
            break heights;
        }
        if Instant::now() > deadline {
            println!("check: the nodes did not reach one height within 120 s: {heights:?}");
            return Ok(false);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    let top = heights[0].unwrap_or(0);
    let mut ok = true;
    for h in 0..=top {
        let mut hashes = BTreeMap::new();
        for (i, c) in clients.iter().enumerate() {
            hashes.insert(i, c.block(h).await?.hash);
        }
        let distinct: std::collections::BTreeSet<&String> = hashes.values().collect();
        if distinct.len() != 1 {
            println!("check: nodes disagree at height {h}: {hashes:?}");
            ok = false;
        }
    }
    println!(
        "check: {} nodes agree on every header of heights 0..={top}: {}",
        urls.len(),
        if ok { "yes" } else { "NO" }
    );
    let take = if sample == 0 {
        acked.len()
    } else {
        sample.min(acked.len())
    };
    let step = (acked.len() / take.max(1)).max(1);
    let mut missing = 0usize;
    for hash in acked.iter().step_by(step).take(take) {
        for c in &clients {
            if c.transaction(hash).await.is_err() {
                missing += 1;
                if missing <= 3 {
                    println!(
                        "check: acknowledged transaction {hash} is missing on {}",
                        c.url("/")?
                    );
                }
            }
        }
    }
    println!(
        "check: {take} of {} acknowledged transactions looked up on every node: {}",
        acked.len(),
        if missing == 0 {
            "all present".to_string()
        } else {
            format!("{missing} missing")
        }
    );
    Ok(ok && missing == 0)
}
