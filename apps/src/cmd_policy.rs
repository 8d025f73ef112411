//! `weinong policy`: 免申即享 policy matching between department nodes.
//!
//! `list` shows the shipped policies (id, receiver, legal basis, terms); `registered` the
//! ones the ledger holds, with their run counts; `runs` the newest runs; `run` opens a run
//! as the receiving department (a `PolicyRun` transaction signed with its node key), waits
//! for it to end and prints the count; `status` shows a run as the ledger records it and
//! where the node is; `fetch` writes the receiver's matched pseudonyms to a CSV for the
//! street offices (the department maps them to its own people locally).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, anyhow, bail};
use clap::{Args, Subcommand};
use weinong_api::dto::{PoliciesBody, PolicyResultBody, PolicyRunBody, PolicyRunsBody};
use weinong_connectors::policy::{PolicySpec, SHIPPED};
use weinong_contracts::{Call, PolicyRun, RunId};

use crate::Outcome;
use crate::cmd_tx::{Ctx, Delivery, deliver, hex32};

/// `weinong policy`: the node and the key, then what to do.
#[derive(Args)]
pub struct PolicyArgs {
    /// The node's API, e.g. http://127.0.0.1:8080.
    #[arg(long, env = "WEINONG_NODE", global = true)]
    node: Option<String>,
    /// The receiving department's node keystore (password from WEINONG_KEY_PASSWORD or
    /// asked); `status` also takes an auditor's or admin's.
    #[arg(long, global = true)]
    key: Option<PathBuf>,
    #[command(subcommand)]
    cmd: PolicyCmd,
}

/// What to do.
#[derive(Subcommand)]
pub enum PolicyCmd {
    /// List the shipped policies with their ids.
    List,
    /// List the policies registered on the ledger (the node's view), with their run counts.
    Registered,
    /// List the newest runs on the ledger (status, heights; no people).
    Runs {
        /// How many of the newest runs (1 to 200).
        #[arg(long, default_value_t = 20)]
        limit: u32,
    },
    /// Open a run of a policy as its receiving department and wait for its end.
    Run {
        /// The policy's name (see `weinong policy list`) or id (64 hex characters).
        #[arg(long)]
        policy: String,
        /// Longest wait for the run to end, in seconds (0: do not wait).
        #[arg(long, default_value_t = 600)]
        wait_secs: u64,
        #[command(flatten)]
        delivery: Delivery,
    },
    /// Show a run: policy, legal basis, status, each department's access, progress.
    Status {
        /// The run id (64 hex characters).
        #[arg(long)]
        run: String,
    },
    /// Write the receiver's matched subject pseudonyms to a CSV (header `subject`).
    Fetch {
        /// The run id (64 hex characters).
        #[arg(long)]
        run: String,
        /// Where to write the CSV (must not exist).
        #[arg(long)]
        out: PathBuf,
    },
}

/// Dispatches `weinong policy`.
pub fn policy(args: PolicyArgs) -> Result<Outcome> {
    let ctx = Ctx {
        node: args.node,
        key: args.key,
    };
    crate::client::block_on(run(&ctx, args.cmd))
}

fn shipped() -> Result<Vec<PolicySpec>> {
    SHIPPED
        .iter()
        .map(|t| PolicySpec::from_toml(t).map_err(|e| anyhow!("a shipped policy: {e}")))
        .collect()
}

/// The ledger categories `spec`'s terms read (the connectors classify each feature; the
/// nodes admit a registration only with exactly these).
pub(crate) fn policy_categories(spec: &PolicySpec) -> weinong_contracts::CategorySet {
    let list: Vec<weinong_contracts::DataCategory> =
        weinong_connectors::policy::policy_category_codes(spec)
            .into_iter()
            .filter_map(weinong_contracts::DataCategory::from_code)
            .collect();
    weinong_contracts::CategorySet::of(&list)
}

/// The shipped policy named (or with id) `which`, and its ledger id.
pub(crate) fn find(which: &str) -> Result<(PolicySpec, weinong_contracts::PolicyId)> {
    let all = shipped()?;
    let names: Vec<String> = all.iter().map(|s| s.name().to_owned()).collect();
    for spec in all {
        let id = weinong_contracts::policy_id(&spec.canonical_bytes());
        if spec.name() == which || id.to_hex() == which.trim().to_lowercase() {
            return Ok((spec, id));
        }
    }
    bail!(
        "no shipped policy is named or has id {which:?}; choose one of {}",
        names.join(", ")
    )
}

async fn run(ctx: &Ctx, cmd: PolicyCmd) -> Result<Outcome> {
    match cmd {
        PolicyCmd::List => {
            for spec in shipped()? {
                let id = weinong_contracts::policy_id(&spec.canonical_bytes());
                println!("{}  {}", spec.name(), id);
                println!("  {} / {}", spec.title_zh(), spec.title_en());
                println!(
                    "  receiver {:?}, legal basis {}, mode {}, reads {}",
                    spec.receiver(),
                    spec.legal_basis().as_str(),
                    spec.mode().as_str(),
                    policy_categories(&spec)
                );
            }
            Ok(Outcome::Ok)
        }
        PolicyCmd::Registered => {
            let body: PoliciesBody = ctx.client()?.get("/v1/policies").await?;
            if body.policies.is_empty() {
                println!("no policy is registered on this ledger");
            }
            for p in &body.policies {
                println!(
                    "{}  {}",
                    p.name.as_deref().unwrap_or("(not shipped by this node)"),
                    p.policy
                );
                println!(
                    "  receiver member {}{}, legal basis {}, reads {}, registered at block {}, {} run(s)",
                    p.receiver,
                    p.receiver_department
                        .as_deref()
                        .map(|d| format!(" ({d})"))
                        .unwrap_or_default(),
                    p.legal_basis,
                    p.categories.join(", "),
                    p.registered_at_height,
                    p.runs
                );
            }
            Ok(Outcome::Ok)
        }
        PolicyCmd::Runs { limit } => {
            let body: PolicyRunsBody = ctx
                .client()?
                .get(&format!("/v1/policy-runs?limit={limit}"))
                .await?;
            println!("{} run(s) on the ledger; newest first:", body.total);
            for r in &body.runs {
                println!(
                    "  {}  {}  {}{}  opened at block {}{}, {} access(es)",
                    r.run,
                    r.policy_name.as_deref().unwrap_or(&r.policy),
                    r.status,
                    r.failure
                        .as_deref()
                        .map(|f| format!(" ({f})"))
                        .unwrap_or_default(),
                    r.opened_at_height,
                    r.ended_at_height
                        .map(|h| format!(", ended at block {h}"))
                        .unwrap_or_default(),
                    r.accesses
                );
            }
            Ok(Outcome::Ok)
        }
        PolicyCmd::Run {
            policy,
            wait_secs,
            delivery,
        } => {
            let (spec, id) = find(&policy)?;
            let mut run = [0u8; 32];
            getrandom::fill(&mut run).map_err(|e| anyhow!("no randomness: {e}"))?;
            let run = RunId::from_bytes(run);
            println!("policy {} ({id}): opening run {run}", spec.name());
            let call = Call::PolicyRun(PolicyRun { run, policy: id });
            let submitted = deliver(ctx, &call, delivery).await?;
            if !matches!(submitted, Outcome::Ok) || wait_secs == 0 {
                return Ok(submitted);
            }
            wait_for_end(ctx, &run, Duration::from_secs(wait_secs)).await
        }
        PolicyCmd::Status { run } => {
            let run = RunId::from_bytes(hex32("--run", &run)?);
            let body: PolicyRunBody = ctx.client()?.get(&format!("/v1/policy-runs/{run}")).await?;
            print_run(&body);
            Ok(Outcome::Ok)
        }
        PolicyCmd::Fetch { run, out } => {
            let run = RunId::from_bytes(hex32("--run", &run)?);
            let body: PolicyResultBody = ctx
                .client()?
                .get(&format!("/v1/policy-runs/{run}/result"))
                .await?;
            let mut text = String::from("subject\n");
            for s in &body.subjects {
                text.push_str(s);
                text.push('\n');
            }
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&out)
                .with_context(|| format!("cannot create {} (it must not exist)", out.display()))?;
            std::io::Write::write_all(&mut file, text.as_bytes())
                .with_context(|| format!("writing {}", out.display()))?;
            if body.count_only {
                println!("run {run}: {} matched (count only; no list)", body.count);
            } else {
                println!(
                    "run {run}: {} matched subjects written to {}",
                    body.count,
                    out.display()
                );
            }
            Ok(Outcome::Ok)
        }
    }
}

/// Polls the run until it ends, printing its stage as it changes.
async fn wait_for_end(ctx: &Ctx, run: &RunId, wait: Duration) -> Result<Outcome> {
    let client = ctx.client()?;
    let ended = poll_until_end(&client, run, wait, Duration::from_millis(300), |stage| {
        println!("  {stage}");
    })
    .await;
    let Some(body) = ended else {
        println!(
            "run {run} is still open after {} s; see `weinong policy status --run {run}`",
            wait.as_secs()
        );
        return Ok(Outcome::Unavailable);
    };
    print_run(&body);
    Ok(if body.status == "completed" {
        Outcome::Ok
    } else {
        Outcome::Refused
    })
}

/// Polls `run` every `every` until it is no longer open (its body), calling `on_stage` with
/// the receiver node's stage each time it changes; `None` once `wait` has passed.
pub(crate) async fn poll_until_end(
    client: &crate::client::Client,
    run: &RunId,
    wait: Duration,
    every: Duration,
    mut on_stage: impl FnMut(&str),
) -> Option<PolicyRunBody> {
    let started = Instant::now();
    let mut last_stage = None;
    loop {
        match client
            .get::<PolicyRunBody>(&format!("/v1/policy-runs/{run}"))
            .await
        {
            Ok(body) if body.status != "open" => return Some(body),
            Ok(body) => {
                if body.stage != last_stage {
                    if let Some(stage) = &body.stage {
                        on_stage(stage);
                    }
                    last_stage = body.stage;
                }
            }
            // Not on this node's replica yet (404): the next poll sees it. Other errors
            // repeat until the wait ends, which then names the run to look at.
            Err(_) => {}
        }
        if started.elapsed() > wait {
            return None;
        }
        tokio::time::sleep(every).await;
    }
}

fn print_run(b: &PolicyRunBody) {
    println!(
        "run {}: {} — policy {} {}",
        b.run,
        b.status,
        b.policy_name.as_deref().unwrap_or(&b.policy),
        b.title_zh.as_deref().unwrap_or("")
    );
    println!(
        "  legal basis {}, receiver member {}, opened at block {}{}",
        b.legal_basis,
        b.receiver,
        b.opened_at_height,
        b.ended_at_height
            .map(|h| format!(", ended at block {h}"))
            .unwrap_or_default()
    );
    if let Some(f) = &b.failure {
        println!("  failed: {f}");
    }
    if let Some(root) = &b.matches_root {
        println!("  matches commitment (salted; shows no one): {root}");
    }
    for a in &b.accesses {
        println!(
            "  access by member {} at block {}: {}",
            a.node,
            a.height,
            a.categories.join(", ")
        );
    }
    if let Some(stage) = &b.stage {
        println!("  now: {stage}");
    }
    if let Some(n) = b.matched {
        println!("  matched: {n}");
    }
}
