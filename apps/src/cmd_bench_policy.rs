//! `weinong bench policy`: one 免申即享 policy run on a running devnet, end to end as the
//! receiving department sees it — the run committed on the ledger, each department's
//! access committed, the predicates evaluated over the department stores, PSI over the
//! nodes' authenticated libp2p streams, the matches stored and the run's end committed —
//! beside the same PSI over loopback TCP in this process, so the cost of the p2p path is
//! visible.
//!
//! The loopback figure uses the very lists the nodes use: this process evaluates the
//! receiver's and the sender's terms over the devnet's department stores (read-only, as
//! of today, the runs' block date) and checks that its intersection equals the count the
//! run stored. Policies of exactly two terms combined by ∩ are compared; others report the
//! run's time only.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, anyhow, bail};
use clap::Args;
use weinong_connectors::date::Date;
use weinong_connectors::policy::{Combine, PolicySpec, evaluate_term};
use weinong_connectors::{Department, Store};
use weinong_contracts::{Call, PolicyRun, RunId};
use weinong_mpc::psi::{self, IdentifierList, Mode, NoProgress, Protocol};

use crate::Outcome;
use crate::client::{Client, now_ms};
use crate::cmd_assess::submit_one;
use crate::cmd_bench_ledger::open_key;
use crate::cmd_devnet::{Manifest, read_manifest, read_password};
use crate::cmd_devnet_data::DATABASE_FILE;
use crate::cmd_policy::poll_until_end;

/// `weinong bench policy`.
#[derive(Args)]
pub struct BenchPolicyArgs {
    /// The running devnet's directory (`weinong devnet --people N --dir DIR`).
    #[arg(long, default_value = "devnet-data")]
    dir: PathBuf,
    /// The shipped policy to run (see `weinong policy list`).
    #[arg(long, default_value = "aged-80-alone-dementia")]
    policy: String,
    /// Longest wait for the run to end, in seconds.
    #[arg(long, default_value_t = 1_800)]
    wait_secs: u64,
}

/// Runs `weinong bench policy`.
pub fn bench_policy(args: BenchPolicyArgs) -> Result<Outcome> {
    crate::client::block_on(run(args))
}

async fn run(args: BenchPolicyArgs) -> Result<Outcome> {
    let (spec, policy) = crate::cmd_policy::find(&args.policy)?;
    let manifest = read_manifest(&args.dir)?;
    let password = read_password(&args.dir)?;
    let receiver = spec.receiver().party();
    let node = manifest
        .nodes
        .get(receiver)
        .ok_or_else(|| anyhow!("the devnet has no node {receiver} (the receiver)"))?;
    let client = Client::new(&node.url, open_key(&args.dir, &node.keystore, &password)?)?;
    println!(
        "bench policy {} on the devnet in {} ({} people per department)",
        spec.name(),
        args.dir.display(),
        manifest.people
    );

    // The run over p2p, end to end.
    let mut run = [0u8; 32];
    getrandom::fill(&mut run).map_err(|e| anyhow!("no randomness: {e}"))?;
    let run = RunId::from_bytes(run);
    let started = Instant::now();
    submit_one(
        &client,
        &Call::PolicyRun(PolicyRun { run, policy }),
        "the policy run",
    )
    .await?;
    let opened = started.elapsed();
    let wait = Duration::from_secs(args.wait_secs);
    let every = Duration::from_millis(100);
    let body = poll_until_end(&client, &run, wait, every, |stage| {
        println!("  {:>7.2} s      {stage}", started.elapsed().as_secs_f64());
    })
    .await
    .ok_or_else(|| {
        anyhow!(
            "run {run} is still open after {} s; see `weinong policy status --run {run}`",
            wait.as_secs()
        )
    })?;
    let total = started.elapsed();
    if body.status != "completed" {
        bail!(
            "run {run} ended {}{}; see the receiving node's log",
            body.status,
            body.failure.map(|f| format!(": {f}")).unwrap_or_default()
        );
    }
    let matched = body
        .matched
        .ok_or_else(|| anyhow!("the receiver's node reports no match count for run {run}"))?;
    println!(
        "  p2p run        {:.2} s end to end (run committed after {:.2} s), {matched} matched",
        total.as_secs_f64(),
        opened.as_secs_f64()
    );
    // The receiver node's own measurement of its phases.
    let timings = body
        .timings
        .ok_or_else(|| anyhow!("the receiver's node reports no timings for run {run}"))?;
    let secs = |ms: u64| Duration::from_millis(ms).as_secs_f64();
    println!(
        "  receiver       its predicate {:.2} s, PSI over libp2p {:.2} s, result stored and end committed {:.2} s",
        secs(timings.evaluate_ms),
        secs(timings.psi_ms),
        secs(timings.finish_ms)
    );
    let p2p_psi = Duration::from_millis(timings.psi_ms);

    // The same lists, PSI over loopback TCP.
    let [(first, Combine::And, other)] = terms_of_two(&spec)[..] else {
        println!("  loopback       not compared: the policy is not two terms joined by ∩");
        return Ok(Outcome::Ok);
    };
    let today = Date::from_days(i64::try_from(now_ms() / 86_400_000).unwrap_or(i64::MAX))
        .ok_or_else(|| anyhow!("today's date is out of range"))?;
    let evaluating = Instant::now();
    let own = term_list(&args.dir, &manifest, &spec, first, today).await?;
    let theirs = term_list(&args.dir, &manifest, &spec, other, today).await?;
    let predicates = evaluating.elapsed();
    let (own_len, their_len) = (own.items().len(), theirs.items().len());
    let psi_started = Instant::now();
    let intersection = loopback_psi(own, theirs)?;
    let psi_time = psi_started.elapsed();
    if intersection != matched {
        bail!(
            "the loopback PSI found {intersection} but the run stored {matched}: the lists differ (did the stores change?)"
        );
    }
    let local = predicates + psi_time;
    println!(
        "  loopback       {:.2} s: both predicates in this process {:.2} s ({own_len} and {their_len} people), ECDH-PSI over TCP {:.2} s, {intersection} matched",
        local.as_secs_f64(),
        predicates.as_secs_f64(),
        psi_time.as_secs_f64()
    );
    println!(
        "  ratio          p2p run / loopback = {:.2} end to end (the difference: ledger commits, access records, predicates on two nodes at once, streams over libp2p, storing the result)",
        total.as_secs_f64() / local.as_secs_f64().max(1e-9)
    );
    println!(
        "  ratio          PSI over libp2p / PSI over loopback TCP = {:.2}",
        p2p_psi.as_secs_f64() / psi_time.as_secs_f64().max(1e-9)
    );
    Ok(Outcome::Ok)
}

/// The policy's terms as (receiver's term index, combine, other term index) when it has
/// exactly two.
fn terms_of_two(spec: &PolicySpec) -> Vec<(usize, Combine, usize)> {
    let others: Vec<Combine> = spec.other_terms().map(|(c, _)| c).collect();
    match others[..] {
        [combine] if spec.terms().len() == 2 => vec![(0, combine, 1)],
        _ => Vec::new(),
    }
}

/// Term `index` of `spec` evaluated over its department's devnet store, as PSI items.
async fn term_list(
    dir: &Path,
    manifest: &Manifest,
    spec: &PolicySpec,
    index: usize,
    as_of: Date,
) -> Result<IdentifierList> {
    let term = &spec.terms()[index];
    let department: Department = term.department();
    let node = manifest
        .nodes
        .get(department.party())
        .ok_or_else(|| anyhow!("the devnet has no {department:?} node"))?;
    let store = Store::open(&store_url(&dir.join(&node.config))).await?;
    let people = evaluate_term(&store, department, term, as_of)
        .await
        .map_err(|e| anyhow!("evaluating the {department:?} term: {e}"))?;
    IdentifierList::new(people.iter().map(|p| p.as_bytes().to_vec()).collect())
        .map_err(|e| anyhow!("the {department:?} list: {e}"))
}

/// The devnet's SQLite store beside a node's config (`weinong devnet` writes it there).
fn store_url(config: &Path) -> String {
    let dir = config.parent().unwrap_or(Path::new("."));
    format!("sqlite://{}", dir.join(DATABASE_FILE).display())
}

/// The PSI a policy step runs (KKRT for intersections), between two threads of this process
/// over loopback TCP; the intersection size.
fn loopback_psi(receiver: IdentifierList, sender: IdentifierList) -> Result<u64> {
    let listener = psi::listen("127.0.0.1:0")?;
    let addr = listener
        .local_addr()
        .context("the loopback listener's address")?;
    let sending = std::thread::spawn(move || -> Result<()> {
        let stream = psi::connect(&addr.to_string())?;
        let protocol = Protocol::default_for(Mode::Intersection);
        psi::run_sender_with(stream, sender, protocol, Mode::Intersection, &NoProgress)?;
        Ok(())
    });
    let (stream, _) = listener.accept().context("accepting the loopback sender")?;
    let mut receiver = receiver;
    let protocol = Protocol::default_for(Mode::Intersection);
    let (report, _rows) = psi::run_receiver_rows_with(
        stream,
        &mut receiver,
        protocol,
        Mode::Intersection,
        &NoProgress,
    )?;
    sending
        .join()
        .map_err(|_| anyhow!("the loopback sender's thread panicked"))??;
    Ok(report.intersection)
}
