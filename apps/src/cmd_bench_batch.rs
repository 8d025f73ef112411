//! `weinong bench e2e --batch N`: one periodic-v1 batch request over N residents of a
//! running devnet, timed end to end as the care home sees it.
//!
//! Set-up (not timed): the first N residents of the synthetic civil-affairs register
//! (`DIR/synth/truth/civil.csv`) become pseudonyms under the devnet's pepper, read (as the
//! devnet's operator, with its password) from the civil-affairs node's sealed data secrets,
//! not through the rate-limited OPRF; the
//! registrar records one periodic-assessment consent per resident for care-home-1, in
//! bulk. Timed: the list recorded part by part, the departments' accesses (the contracts
//! look up every resident's consent), one vectorised MPC session, the three sealed shares
//! fetched and opened, the result commitment recorded.

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result, anyhow, bail};
use weinong_contracts::Purpose;
use weinong_keys::{PseudonymKey, ResidentId, SubjectPseudonym};

use crate::Outcome;
use crate::client::sign_call;
use crate::client::{Client, now_ms};
use crate::cmd_assess::{FetchOptions, Opened, load_model};
use crate::cmd_assess_batch::{BatchList, fetch_and_open_batch, submit_batch};
use crate::cmd_bench_e2e::day_consent;
use crate::cmd_devnet_data::{SECRETS_FILE, SYNTH_DIR};
use weinong_api::SubmitOutcome;

/// Transactions per bulk submission (well under the API's 1 MiB body limit).
const BULK_TXS: usize = 500;

/// Runs the batch bench against the devnet in `dir`.
pub async fn run(
    dir: &Path,
    registrar: &Client,
    home: &Client,
    n: usize,
    node: &str,
) -> Result<Outcome> {
    if n == 0 {
        bail!("--batch must be at least 1");
    }
    let manifest = crate::cmd_devnet::read_manifest(dir)?;
    let civil = manifest
        .nodes
        .first()
        .context("the devnet has no department node")?;
    let secrets_path = dir
        .join(&civil.config)
        .parent()
        .map(|node_dir| node_dir.join(SECRETS_FILE))
        .context("the civil-affairs node's config has no directory")?;
    let password = crate::cmd_devnet::read_password(dir)?;
    let secrets = crate::cmd_data::load_secrets(&secrets_path, password.as_bytes())?;
    drop(password);
    let key = PseudonymKey::new(&secrets.pepper);
    drop(secrets);
    let register = dir.join(SYNTH_DIR).join("truth").join("civil.csv");
    let mut reader = csv::Reader::from_path(&register)
        .with_context(|| format!("cannot read {}", register.display()))?;
    let id_col = reader
        .headers()?
        .iter()
        .position(|h| h == "id_number")
        .context("the civil truth file has no id_number column")?;
    let mut subjects = Vec::with_capacity(n);
    let mut last: Option<String> = None;
    for record in reader.records() {
        if subjects.len() == n {
            break;
        }
        let record = record.with_context(|| format!("{} is not CSV", register.display()))?;
        // One row per assessment: a person's rows are next to each other.
        let text = record.get(id_col).unwrap_or("");
        if last.as_deref() == Some(text) {
            continue;
        }
        last = Some(text.to_owned());
        let id = ResidentId::parse(text).map_err(|e| anyhow!("{}: {e}", register.display()))?;
        subjects.push(key.derive(&id));
    }
    if subjects.len() < n {
        bail!(
            "the devnet holds {} residents; make one with `weinong devnet --people {n}` or more",
            subjects.len()
        );
    }
    let list = BatchList::from_subjects(subjects);

    let started = Instant::now();
    grant_all(registrar, home, list.sorted()).await?;
    println!(
        "set-up: {n} periodic-assessment consents recorded in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let model = load_model("periodic-v1")?;
    let receipts = tempfile::tempdir().context("cannot create a temporary directory")?;
    let t = Instant::now();
    let request = submit_batch(home, &model, Purpose::PeriodicAssessment, list.sorted()).await?;
    let listed = t.elapsed().as_secs_f64();
    let options = FetchOptions {
        receipt: Some(receipts.path().join("batch.json")),
        timeout_s: 600,
    };
    let result = fetch_and_open_batch(home, request, &model, &list, &options).await?;
    let total = t.elapsed().as_secs_f64();
    let computed = match &result.opened {
        Opened::Result { receipt, .. } => receipt.outputs.len(),
        Opened::Failed(reason) => bail!("the batch request {request} failed: {reason}"),
        Opened::Refused(refusal) => bail!("the batch request {request}: refused: {refusal}"),
    };
    println!(
        "bench e2e --batch: one periodic-v1 request over {n} residents via {node}: {total:.1} s end to end ({:.0} residents/s; list recorded in {listed:.1} s, {} parts); {computed} computed (the rest lack a record at some department); aim 100,000 residents < 60 s",
        n as f64 / total,
        list.parts()
    );
    Ok(Outcome::Ok)
}

/// Records one consent per subject (periodic assessment, every category, one day) for
/// `home`, signed by `registrar`, in bulk submissions; all must commit.
async fn grant_all(registrar: &Client, home: &Client, subjects: &[SubjectPseudonym]) -> Result<()> {
    let first_nonce = registrar.next_nonce(None).await?;
    let now = now_ms();
    let bar = indicatif::ProgressBar::new(subjects.len() as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("recording consents {bar:30} {pos}/{len}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    for (chunk_index, chunk) in subjects.chunks(BULK_TXS).enumerate() {
        let mut txs = Vec::with_capacity(chunk.len());
        for (i, subject) in chunk.iter().enumerate() {
            let call = day_consent(home, *subject, Purpose::PeriodicAssessment, now)?;
            let nonce = first_nonce + (chunk_index * BULK_TXS + i) as u64;
            txs.push(hex::encode(
                sign_call(registrar.key(), &call, nonce)?.as_bytes(),
            ));
        }
        // One outcome per consent, or an error saying how many came back.
        let outcomes = registrar.submit(txs).await?;
        if let Some(bad) = outcomes
            .iter()
            .find(|o| !matches!(o, SubmitOutcome::Committed { .. }))
        {
            bail!(
                "a bench consent was not committed: {} {}: {}",
                bad.status(),
                bad.tx(),
                bad.reason()
            );
        }
        bar.inc(chunk.len() as u64);
    }
    bar.finish_and_clear();
    Ok(())
}
