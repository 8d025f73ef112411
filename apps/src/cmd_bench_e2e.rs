//! `weinong bench e2e`: latency of single-subject admission assessments on a running
//! devnet, end to end as a care home sees it: the request committed on the ledger, the
//! three departments' consent checks and access records committed, the MPC session over
//! libp2p, the sealed shares fetched and opened, and the result commitment committed.
//!
//! Requests go one after another from care-home-1 for the devnet's example person, under
//! one consent the bench records first; each writes its receipt into a temporary
//! directory. There is no peer system to compare with; the figure is set against the
//! issue's aim (p50 under 200 ms).
//!
//! `--batch N` instead times one periodic-v1 batch request over the first N residents of
//! the devnet's synthetic population (civil-affairs register order), each given a consent
//! first (not timed): list recorded in parts, accesses with per-subject consent lookups,
//! one vectorised MPC session, shares opened and the commitment recorded. Aim: 100,000
//! residents in under 60 s.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result, anyhow, bail};
use clap::Args;
use weinong_contracts::{
    Call, CategorySet, ConsentGrant, ConsentId, DataCategory, EvidenceHash, Purpose,
};
use weinong_keys::SubjectPseudonym;

use crate::Outcome;
use crate::client::{Client, now_ms};
use crate::cmd_assess::{
    FetchOptions, Opened, fetch_and_open, load_model, submit_one, submit_request,
};
use crate::cmd_bench_ledger::open_key;
use crate::cmd_devnet::{read_manifest, read_password};

/// `weinong bench e2e`.
#[derive(Args)]
pub struct BenchE2eArgs {
    /// The running devnet's directory.
    #[arg(long, default_value = "devnet-data")]
    dir: PathBuf,
    /// Requests to time.
    #[arg(long, default_value_t = 1_000)]
    requests: usize,
    /// Which department node the care home talks to (0, 1 or 2).
    #[arg(long, default_value_t = 0)]
    node: usize,
    /// Time one batch periodic-v1 request over this many residents instead.
    #[arg(long)]
    batch: Option<usize>,
}

/// Runs `weinong bench e2e`.
pub fn bench_e2e(args: BenchE2eArgs) -> Result<Outcome> {
    crate::client::block_on(run(args))
}

/// A consent for `home` to read every category of `subject`'s data for `purpose`, valid
/// for one day from `now` (ms), under a fresh random id: what the benches record before
/// they time anything.
pub(crate) fn day_consent(
    home: &Client,
    subject: SubjectPseudonym,
    purpose: Purpose,
    now: u64,
) -> Result<Call> {
    let mut consent = [0u8; 32];
    getrandom::fill(&mut consent).map_err(|e| anyhow!("the OS random source failed: {e}"))?;
    Ok(Call::ConsentGrant(ConsentGrant {
        consent: ConsentId::from_bytes(consent),
        subject,
        grantee: home.key().key_id(),
        purpose,
        categories: CategorySet::of(DataCategory::ALL),
        valid_from: now,
        valid_until: now + 24 * 3600 * 1000,
        evidence: EvidenceHash::from_bytes([0; 32]),
    }))
}

async fn run(args: BenchE2eArgs) -> Result<Outcome> {
    if args.requests == 0 {
        bail!("--requests must be at least 1");
    }
    let manifest = read_manifest(&args.dir)?;
    let password = read_password(&args.dir)?;
    let example = manifest.example.as_ref().ok_or_else(|| {
        anyhow!(
            "the devnet in {} has no department data (created with --people 0?)",
            args.dir.display()
        )
    })?;
    let subject: SubjectPseudonym = example
        .subject
        .parse()
        .map_err(|e| anyhow!("the manifest's example subject: {e}"))?;
    let node = manifest.nodes.get(args.node).ok_or_else(|| {
        anyhow!(
            "--node {}: the devnet has {} nodes",
            args.node,
            manifest.nodes.len()
        )
    })?;
    let open = |name: &str| -> Result<Client> {
        let actor = manifest
            .actors
            .iter()
            .find(|a| a.name == name)
            .ok_or_else(|| anyhow!("no {name} in the devnet manifest"))?;
        Ok(Client::new(
            &node.url,
            open_key(&args.dir, &actor.keystore, &password)?,
        )?)
    };
    let registrar = open("registrar")?;
    let home = open("care-home-1")?;
    if let Some(n) = args.batch {
        return crate::cmd_bench_batch::run(&args.dir, &registrar, &home, n, &node.name).await;
    }
    let model = load_model("admission-v1")?;

    // One consent covering every request of the run.
    let call = day_consent(&home, subject, Purpose::AdmissionAssessment, now_ms())?;
    submit_one(&registrar, &call, "the bench's consent").await?;

    let receipts = tempfile::tempdir().context("cannot create a temporary directory")?;
    let mut latencies_ms = Vec::with_capacity(args.requests);
    let started = Instant::now();
    for i in 0..args.requests {
        let t = Instant::now();
        let request = submit_request(&home, &model, subject, Purpose::AdmissionAssessment).await?;
        let options = FetchOptions {
            receipt: Some(receipts.path().join(format!("{i}.json"))),
            timeout_s: 60,
        };
        let subjects = weinong_mpc::model::subjects_digest(std::iter::once(subject.as_bytes()));
        match fetch_and_open(&home, request, &model, Some(subjects), &options).await? {
            Opened::Result { .. } => {}
            Opened::Failed(reason) => bail!("request {i} ({request}) failed: {reason}"),
            Opened::Refused(refusal) => bail!("request {i} ({request}): refused: {refusal}"),
        }
        latencies_ms.push(t.elapsed().as_secs_f64() * 1e3);
    }
    let total = started.elapsed().as_secs_f64();
    latencies_ms.sort_by(f64::total_cmp);
    let at = |q: f64| {
        let i = ((latencies_ms.len() as f64 - 1.0) * q).round() as usize;
        latencies_ms[i.min(latencies_ms.len() - 1)]
    };
    println!(
        "bench e2e: {} admission-v1 requests one after another via {} ({:.1} requests/s)",
        args.requests,
        node.name,
        args.requests as f64 / total
    );
    println!(
        "latency per request (request commit → accesses → MPC → shares opened → commitment committed): p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms; aim p50 < 200 ms",
        at(0.5),
        at(0.99),
        at(1.0)
    );
    Ok(Outcome::Ok)
}
