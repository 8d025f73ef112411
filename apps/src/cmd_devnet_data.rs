//! `weinong devnet`'s department data, made once when a devnet is created: one consortium
//! pepper, one data key per department node (`weinong data secrets`' writer, sealed under
//! the devnet password that the node configs name as `password_file`), one synthetic
//! population (`weinong_connectors::synth`) imported into each department node's SQLite
//! store, the nodes' `[assessment]` config sections, and a subject to show in the example.
//!
//! Must not know: how nodes start or talk (`cmd_devnet`), the ledger, MPC. The pepper is
//! written nowhere but sealed inside the department nodes' data secrets: the registrar and
//! care-home CLIs get pseudonyms from a department node by oblivious PRF
//! (`POST /v1/pseudonyms/evaluate`), as in a deployment.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};
use weinong_connectors::synth::{input_file, mapping_file};
use weinong_connectors::{Department, ImportOptions, Mapping, Secrets, Store, SynthConfig};
use weinong_keys::{Pepper, ResidentId, SubjectPseudonym};

use crate::cmd_data::write_data_secrets;

/// Probability of each injected problem in the devnet's synthetic files: low, so almost
/// every person survives cleaning in every department, yet every cleaning rule still fires.
pub(crate) const SYNTH_DIRT: f64 = 0.01;
/// The synthetic files, under the devnet directory.
pub(crate) const SYNTH_DIR: &str = "synth";
/// A department node's data secrets, beside its config.
pub(crate) const SECRETS_FILE: &str = "data-secrets.json";
/// A department node's SQLite store, beside its config.
pub(crate) const DATABASE_FILE: &str = "department.db";

/// The person the printed example assesses: present in all three departments' data.
#[derive(Clone, Serialize, Deserialize)]
pub struct ExampleSubject {
    /// The synthetic resident ID number (`--subject` of the CLIs).
    pub id_number: String,
    /// Its pseudonym under the devnet's pepper, hex (what the ledger and stores hold).
    pub subject: String,
}

/// Makes the department data of a new devnet in `dir`: `node_dirs[i]` (relative to `dir`)
/// is department node i's directory, for the first three nodes; the data secrets are
/// sealed under `password`. Returns the example subject.
pub(crate) fn create_data(
    dir: &Path,
    node_dirs: &[&str; 3],
    people: u64,
    seed: u64,
    password: &str,
) -> Result<ExampleSubject> {
    let started = Instant::now();
    // The consortium pepper lives in memory here and, sealed, in the department nodes' data
    // secrets; no other devnet file holds it.
    let pepper = Pepper::generate()?;
    for node in node_dirs {
        write_data_secrets(
            &dir.join(node).join(SECRETS_FILE),
            &pepper,
            password.as_bytes(),
        )?;
    }

    let synth = dir.join(SYNTH_DIR);
    println!(
        "generating synthetic data for {people} people (seed {seed}, dirt {SYNTH_DIRT}) in {}",
        synth.display()
    );
    let summary = weinong_connectors::synthesize(&SynthConfig {
        people,
        seed,
        dirt: SYNTH_DIRT,
        out: synth.clone(),
    })?;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    // Node 0, 1 and 2 (member order) serve the departments in party order.
    for (department, node) in Department::ALL.into_iter().zip(node_dirs) {
        let rows = summary
            .departments
            .get(department.short_name())
            .map_or(0, |d| d.rows_dirty);
        let node_dir = dir.join(node);
        let secrets =
            crate::cmd_data::load_secrets(&node_dir.join(SECRETS_FILE), password.as_bytes())?;
        runtime.block_on(import_one(&synth, &node_dir, department, rows, &secrets))?;
    }
    let example = example_subject(&synth, &pepper)?;
    println!(
        "department data ready in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(example)
}

/// Imports `department`'s synthetic file into the store in `node_dir`, with a progress bar
/// (on a terminal) over the file's `rows`.
async fn import_one(
    synth: &Path,
    node_dir: &Path,
    department: Department,
    rows: u64,
    secrets: &Secrets,
) -> Result<()> {
    let mapping = match mapping_file(department) {
        Some(m) => Mapping::load(&synth.join(m))?,
        None => Mapping::default(),
    };
    let database = node_dir.join(DATABASE_FILE);
    let bar = ProgressBar::new(rows);
    if let Ok(style) =
        ProgressStyle::with_template("{msg:>10} [{bar:30}] {pos}/{len} rows, {elapsed}")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(department.short_name());
    let store = Store::open(&format!("sqlite://{}", database.display())).await?;
    let options = ImportOptions {
        progress: Some(bar.clone()),
        ..ImportOptions::default()
    };
    let report = weinong_connectors::import_file(
        &store,
        department,
        &synth.join(input_file(department)),
        &mapping,
        secrets,
        &options,
    )
    .await;
    store.close().await;
    bar.finish_and_clear();
    let r = report.with_context(|| format!("importing {} data", department.short_name()))?;
    // Health and insurance rows are sensitive personal information even under pseudonyms:
    // only the node's user reads the store.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&database, std::fs::Permissions::from_mode(0o600))
            .with_context(|| format!("cannot restrict {}", database.display()))?;
    }
    println!(
        "  {:<10} {:>8} rows read, {:>8} stored, {:>6} rejected, {:>6} duplicates -> {}",
        department.short_name(),
        r.rows_read,
        r.rows_stored,
        r.rows_rejected,
        r.rows_duplicate,
        database.display()
    );
    Ok(())
}

/// One CSV of the generator's truth (what cleaning stored): rows as string cells.
fn truth_rows(synth: &Path, department: Department) -> Result<(Vec<String>, Vec<Vec<String>>)> {
    let path = synth
        .join("truth")
        .join(format!("{}.csv", department.short_name()));
    let mut reader =
        csv::Reader::from_path(&path).with_context(|| format!("cannot read {}", path.display()))?;
    let header = reader.headers()?.iter().map(String::from).collect();
    let rows = reader
        .records()
        .map(|r| Ok(r?.iter().map(String::from).collect()))
        .collect::<Result<Vec<Vec<String>>>>()
        .with_context(|| format!("{} is not CSV", path.display()))?;
    Ok((header, rows))
}

/// A person stored by all three departments, found in the generator's truth files (keyed
/// by the generator's own pseudonyms; the civil file also holds the ID number). The first,
/// in file order, whose civil and health rows have no empty field (so every model input is
/// present), else the first at all three.
fn example_subject(synth: &Path, pepper: &Pepper) -> Result<ExampleSubject> {
    let (civil_header, civil) = truth_rows(synth, Department::CivilAffairs)?;
    let (_, health) = truth_rows(synth, Department::Health)?;
    let (_, insurance) = truth_rows(synth, Department::MedicalInsurance)?;
    let id_col = civil_header
        .iter()
        .position(|h| h == "id_number")
        .context("the civil truth file has no id_number column")?;
    let mut health_complete: HashMap<&str, bool> = HashMap::new();
    for row in &health {
        let complete = row.iter().all(|c| !c.is_empty());
        let entry = health_complete
            .entry(row.first().map_or("", String::as_str))
            .or_insert(true);
        *entry &= complete;
    }
    let insured: HashSet<&str> = insurance
        .iter()
        .filter_map(|r| r.first().map(String::as_str))
        .collect();
    let at_all_three = civil.iter().filter(|r| {
        let subject = r.first().map_or("", String::as_str);
        health_complete.contains_key(subject) && insured.contains(subject)
    });
    let complete = at_all_three.clone().find(|r| {
        r.iter().all(|c| !c.is_empty())
            && health_complete
                .get(r.first().map_or("", String::as_str))
                .copied()
                .unwrap_or(false)
    });
    let Some(row) = complete.or_else(|| at_all_three.clone().next()) else {
        bail!("no person is held by all three departments; generate more people (--people)");
    };
    let id_number = row.get(id_col).cloned().unwrap_or_default();
    let id = ResidentId::parse(&id_number)
        .with_context(|| format!("the truth file's ID number {id_number:?} is not valid"))?;
    Ok(ExampleSubject {
        subject: SubjectPseudonym::derive(pepper, &id).to_hex(),
        id_number,
    })
}

/// The `[assessment]` section of department node `index`'s config (0 civil affairs, 1
/// health, 2 medical insurance); `parties` are the three nodes' key ids in that order.
pub(crate) fn assessment_section(index: usize, parties: &[String; 3]) -> Option<String> {
    let name = Department::of_party(index)?.name();
    Some(format!(
        "\n[assessment]\ndepartment = {name:?}\ndatabase = \"sqlite://{DATABASE_FILE}\"\n\
         data_secrets = {SECRETS_FILE:?}\nsession_timeout_ms = 15000\n\n\
         [assessment.parties]\ncivil_affairs = {:?}\nhealth = {:?}\nmedical_insurance = {:?}\n",
        parties[0], parties[1], parties[2]
    ))
}
