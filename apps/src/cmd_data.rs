//! `weinong data …` and `weinong bench data`: department data through `weinong-connectors`:
//! synthetic data, node data secrets, imports with quality reports, reports, pseudonymous
//! exports for the models, and the throughput benchmark against pandas.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, anyhow, bail};
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use weinong_connectors::store::{create_scratch_database, drop_scratch_database};
use weinong_connectors::synth::{input_file, mapping_file};
use weinong_connectors::{
    Department, ImportOptions, Mapping, QualityReport, Secrets, Store, SynthConfig, TableSpec,
    to_html,
};
use weinong_keys::{DataSecrets, NamedSecrets, Pepper, Zeroizing};

use crate::Outcome;
use crate::cmd_keys::{existing_password, sealing_password, write_private};

/// Department data commands.
#[derive(Subcommand)]
pub enum DataCmd {
    /// Generate synthetic Shanghai data for all three departments (dirty inputs + clean truth).
    Synth(SynthArgs),
    /// Create a node data-secrets file (SM4 data key + pseudonym pepper), sealed under a
    /// password (SM4-GCM, PBKDF2-HMAC-SM3), mode 0600.
    #[command(name = "secrets", alias = "keygen")]
    Secrets(SecretsArgs),
    /// Seal a plaintext data-secrets file of an older weinong into a new sealed one.
    Reseal(ResealArgs),
    /// Import, clean and store one department file; prints the quality report summary.
    Import(ImportArgs),
    /// Show the import jobs and quality reports stored in a database.
    Report(ReportArgs),
    /// Export a department's cleaned rows keyed by pseudonym (no identifying fields).
    Export(ExportArgs),
    /// Print the canonical schemas (fields, labels, data-element codes, kinds, missing policy).
    Schema,
    /// Open a store, migrating it to the current schema version, and print what the
    /// upgrade changed in meaning (e.g. care-risk flags now read as "once").
    Upgrade(UpgradeArgs),
}

/// `weinong data upgrade`.
#[derive(Args)]
pub struct UpgradeArgs {
    /// Database URL: sqlite:PATH or postgres://…
    #[arg(long = "store", alias = "db", env = "WEINONG_DATA_DB")]
    store: String,
}

/// `weinong data synth`.
#[derive(Args)]
pub struct SynthArgs {
    /// Number of people.
    #[arg(long)]
    people: u64,
    /// Seed (same seed, same files).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Probability of each injected problem (0 to 0.5).
    #[arg(long, default_value_t = 0.05)]
    dirt: f64,
    /// Output directory.
    #[arg(long)]
    out: PathBuf,
}

/// `weinong data secrets`.
#[derive(Args)]
pub struct SecretsArgs {
    /// Where to write the secrets file (must not exist).
    #[arg(long)]
    out: PathBuf,
    /// The consortium's pepper (64 hex characters), when another department created it;
    /// without it a new pepper is generated (the first department of a consortium).
    #[arg(long)]
    pepper_file: Option<PathBuf>,
    /// File whose first line is the password to seal under (mode 0600; a node uses its
    /// keystore's `password_file`); else WEINONG_KEY_PASSWORD, else asked twice.
    #[arg(long, env = "WEINONG_PASSWORD_FILE")]
    password_file: Option<PathBuf>,
}

/// `weinong data reseal`.
#[derive(Args)]
pub struct ResealArgs {
    /// The plaintext data-secrets file (JSON with data_key and pepper) of an older weinong.
    #[arg(long = "in")]
    input: PathBuf,
    /// Where to write the sealed file (must not exist).
    #[arg(long)]
    out: PathBuf,
    /// File whose first line is the password to seal under (mode 0600); else
    /// WEINONG_KEY_PASSWORD, else asked twice.
    #[arg(long, env = "WEINONG_PASSWORD_FILE")]
    password_file: Option<PathBuf>,
}

/// `weinong data import`.
#[derive(Args)]
pub struct ImportArgs {
    /// civil, health or insurance.
    #[arg(long)]
    department: String,
    /// Input file: .csv, .xlsx or .jsonl.
    #[arg(long = "in")]
    input: PathBuf,
    /// Column mapping file (.toml or .json).
    #[arg(long)]
    mapping: Option<PathBuf>,
    /// Database URL: sqlite:PATH or postgres://…
    #[arg(long, env = "WEINONG_DATA_DB")]
    db: String,
    /// Node data-secrets file (`weinong data secrets`; a synth directory has secrets.json).
    #[arg(long, env = "WEINONG_DATA_SECRETS")]
    secrets: PathBuf,
    /// File whose first line is the secrets' password (mode 0600); else
    /// WEINONG_KEY_PASSWORD, else asked.
    #[arg(long, env = "WEINONG_PASSWORD_FILE")]
    password_file: Option<PathBuf>,
    /// Also write the quality report as JSON here.
    #[arg(long)]
    report_json: Option<PathBuf>,
    /// Also write the quality report as HTML here.
    #[arg(long)]
    report_html: Option<PathBuf>,
}

/// `weinong data report`.
#[derive(Args)]
pub struct ReportArgs {
    /// Database URL.
    #[arg(long, env = "WEINONG_DATA_DB")]
    db: String,
    /// Print the latest report's full JSON.
    #[arg(long)]
    json: bool,
    /// Write the latest report as HTML here.
    #[arg(long)]
    html: Option<PathBuf>,
}

/// `weinong data export`.
#[derive(Args)]
pub struct ExportArgs {
    /// Database URL.
    #[arg(long, env = "WEINONG_DATA_DB")]
    db: String,
    /// civil, health or insurance.
    #[arg(long)]
    department: String,
    /// Node data-secrets file (to open rows; identities are not exported).
    #[arg(long, env = "WEINONG_DATA_SECRETS")]
    secrets: PathBuf,
    /// File whose first line is the secrets' password (mode 0600); else
    /// WEINONG_KEY_PASSWORD, else asked.
    #[arg(long, env = "WEINONG_PASSWORD_FILE")]
    password_file: Option<PathBuf>,
    /// Output CSV.
    #[arg(long)]
    out: PathBuf,
}

/// `weinong bench data`.
#[derive(Args)]
pub struct BenchDataArgs {
    /// Number of people.
    #[arg(long, default_value_t = 1_000_000)]
    people: u64,
    /// Seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Dirt rate.
    #[arg(long, default_value_t = 0.05)]
    dirt: f64,
    /// PostgreSQL server for the PostgreSQL run (a scratch database is created and dropped).
    #[arg(long, env = "WEINONG_TEST_PG_URL")]
    pg_url: Option<String>,
    /// Work directory (default: a temporary one, removed afterwards).
    #[arg(long)]
    work: Option<PathBuf>,
    /// Python with pandas (default: .venv-pandas/bin/python, from scripts/pandas-setup.sh).
    #[arg(
        long,
        env = "WEINONG_PANDAS_PYTHON",
        default_value = ".venv-pandas/bin/python"
    )]
    pandas_python: PathBuf,
    /// The pandas cleaning script.
    #[arg(long, default_value = "scripts/pandas-clean.py")]
    pandas_script: PathBuf,
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("start async runtime")
}

/// Dispatches `weinong data`.
pub fn data(cmd: DataCmd) -> Result<Outcome> {
    match cmd {
        DataCmd::Synth(a) => synth(a),
        DataCmd::Secrets(a) => secrets(a),
        DataCmd::Reseal(a) => reseal(a),
        DataCmd::Import(a) => import(a),
        DataCmd::Report(a) => report(a),
        DataCmd::Export(a) => export(a),
        DataCmd::Schema => schema(),
        DataCmd::Upgrade(a) => upgrade(a),
    }
}

fn upgrade(a: UpgradeArgs) -> Result<Outcome> {
    let rt = runtime()?;
    let report = rt.block_on(async {
        let store = Store::open(&a.store).await?;
        let report = store.upgrade_report().cloned();
        store.close().await;
        Ok::<_, weinong_connectors::ConnectorError>(report)
    })?;
    match report {
        Some(r) => println!("{r}"),
        None => println!(
            "already at schema version {} (or new): nothing to report",
            weinong_connectors::store::SCHEMA_VERSION
        ),
    }
    Ok(Outcome::Ok)
}

/// Warns on stderr when opening the store upgraded it in a way that changes what stored
/// values mean (the other data commands upgrade as a side effect).
fn warn_upgrade(store: &Store) {
    if let Some(r) = store.upgrade_report() {
        eprintln!("warning: {r}");
    }
}

fn schema() -> Result<Outcome> {
    use weinong_connectors::schema::{FieldKind, Imputation, MissingPolicy};
    for d in Department::ALL {
        let spec = TableSpec::of(d);
        println!("## {} (table `{}`)\n", d.short_name(), spec.table);
        println!("| field | 中文 | data element | kind | when missing |");
        println!("|---|---|---|---|---|");
        for f in spec.fields {
            let kind = match f.kind {
                FieldKind::IdNumber => "ID number (sealed)".to_string(),
                FieldKind::Name => "name (sealed)".to_string(),
                FieldKind::Phone => "phone (sealed)".to_string(),
                FieldKind::Address => "address (sealed)".to_string(),
                FieldKind::Date => "date YYYY-MM-DD".to_string(),
                FieldKind::Int { min, max } => format!("integer {min}..={max}"),
                FieldKind::Choice(set) => format!("one of {set:?}"),
                FieldKind::Decimal {
                    unit,
                    min_x10,
                    max_x10,
                } => {
                    format!(
                        "{unit:?} {}..={} (1 decimal)",
                        min_x10 as f64 / 10.0,
                        max_x10 as f64 / 10.0
                    )
                }
                FieldKind::Icd10List => "ICD-10 codes, `;`-separated".to_string(),
                FieldKind::Code(set) if set.len() > 4 => format!("code ({} values)", set.len()),
                FieldKind::Code(set) => format!("code {set:?}"),
                FieldKind::Text => "identifier".to_string(),
            };
            let missing = match f.missing {
                MissingPolicy::Reject => "reject row",
                MissingPolicy::Null => "keep NULL",
                MissingPolicy::Impute(Imputation::Zero) => "impute 0",
                MissingPolicy::Impute(Imputation::SexFromId) => "impute from ID",
                MissingPolicy::Impute(Imputation::BirthDateFromId) => "impute from ID",
            };
            println!(
                "| `{}` | {} | {} | {kind} | {missing} |",
                f.name,
                f.label_zh,
                f.element.unwrap_or("")
            );
        }
        println!();
    }
    Ok(Outcome::Ok)
}

fn synth(a: SynthArgs) -> Result<Outcome> {
    let cfg = SynthConfig {
        people: a.people,
        seed: a.seed,
        dirt: a.dirt,
        out: a.out.clone(),
    };
    let s = weinong_connectors::synthesize(&cfg)?;
    println!(
        "wrote {} people ({} rows) to {} in {:.1} s; injected problems in dirt.json",
        s.people,
        s.rows_dirty(),
        a.out.display(),
        s.duration_ms as f64 / 1000.0
    );
    Ok(Outcome::Ok)
}

fn secrets(a: SecretsArgs) -> Result<Outcome> {
    let pepper = match &a.pepper_file {
        Some(p) => read_pepper(p)?,
        None => Pepper::generate()?,
    };
    if a.out.exists() {
        bail!(
            "{} already exists; refusing to overwrite secrets",
            a.out.display()
        );
    }
    let password = sealing_password(a.password_file.as_deref())?;
    write_data_secrets(&a.out, &pepper, password.as_bytes())?;
    println!(
        "wrote node data secrets to {}, sealed under the password (keep it with the keystore; the pepper must be the consortium's)",
        a.out.display()
    );
    Ok(Outcome::Ok)
}

fn reseal(a: ResealArgs) -> Result<Outcome> {
    let text = read_secrets_text(&a.input)?;
    if NamedSecrets::peek(&text).is_ok() {
        bail!("{} is already sealed; nothing to do", a.input.display());
    }
    let secrets = DataSecrets::from_plaintext_json(&text)
        .with_context(|| format!("{}", a.input.display()))?;
    if a.out.exists() {
        bail!(
            "{} already exists; refusing to overwrite secrets",
            a.out.display()
        );
    }
    let password = sealing_password(a.password_file.as_deref())?;
    let sealed = secrets.seal(password.as_bytes())?;
    write_private(&a.out, sealed.as_bytes())?;
    // Read back: the new file must open to the same secrets before the old one goes.
    let back = load_secrets(&a.out, password.as_bytes())?;
    if back.data_key.expose_bytes() != secrets.data_key.expose_bytes()
        || back.pepper.expose_bytes() != secrets.pepper.expose_bytes()
    {
        bail!("{} does not read back the same secrets", a.out.display());
    }
    println!(
        "sealed the data secrets of {} into {}; point the node config (assessment.data_secrets) \
         and --secrets at the new file, then delete the plaintext one (e.g. `shred -u {}`)",
        a.input.display(),
        a.out.display(),
        a.input.display()
    );
    Ok(Outcome::Ok)
}

/// Reads a pepper file (64 hex characters).
pub(crate) fn read_pepper(path: &Path) -> Result<Pepper> {
    let text = Zeroizing::new(
        std::fs::read_to_string(path).with_context(|| format!("read {}", path.display()))?,
    );
    Pepper::from_hex(&text).with_context(|| format!("{}", path.display()))
}

/// Writes a node's data-secrets file (mode 0600, never overwriting): a new random SM4 data
/// key of its own and the consortium's `pepper`, sealed under `password`
/// ([`DataSecrets::seal`]). `weinong data secrets` and `weinong devnet` both write them
/// here, so the format has one writer and one reader (`load_secrets`).
pub(crate) fn write_data_secrets(path: &Path, pepper: &Pepper, password: &[u8]) -> Result<()> {
    let text = DataSecrets::generate(pepper.clone())?.seal(password)?;
    write_private(path, text.as_bytes())
}

fn read_secrets_text(path: &Path) -> Result<Zeroizing<String>> {
    let meta =
        std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
    if meta.len() > weinong_keys::SEALED_SECRETS_BYTES_MAX as u64 {
        bail!("{} is too large for a secrets file", path.display());
    }
    Ok(Zeroizing::new(
        std::fs::read_to_string(path).with_context(|| format!("read {}", path.display()))?,
    ))
}

/// Opens a node's data-secrets file (`write_data_secrets`' format) with `password`; a
/// plaintext file of an older weinong is refused with how to re-seal it.
pub(crate) fn load_secrets(path: &Path, password: &[u8]) -> Result<Secrets> {
    let text = read_secrets_text(path)?;
    DataSecrets::open(&text, password).with_context(|| format!("{}", path.display()))
}

/// As [`load_secrets`], with the password from `password_file`, `WEINONG_KEY_PASSWORD` or
/// the terminal.
fn load_secrets_asking(path: &Path, password_file: Option<&Path>) -> Result<Secrets> {
    let password = existing_password(password_file)?;
    load_secrets(path, password.as_bytes())
}

fn progress() -> ProgressBar {
    let bar = ProgressBar::new_spinner();
    if let Ok(style) =
        ProgressStyle::with_template("{spinner} {pos} rows read ({per_sec}) {elapsed}")
    {
        bar.set_style(style);
    }
    bar
}

fn import(a: ImportArgs) -> Result<Outcome> {
    let department: Department = a.department.parse()?;
    let mapping = match &a.mapping {
        Some(p) => Mapping::load(p)?,
        None => Mapping::default(),
    };
    let secrets = load_secrets_asking(&a.secrets, a.password_file.as_deref())?;
    let rt = runtime()?;
    let bar = progress();
    let report = rt.block_on(async {
        let store = Store::open(&a.db).await?;
        warn_upgrade(&store);
        let options = ImportOptions {
            progress: Some(bar.clone()),
            ..ImportOptions::default()
        };
        let r = weinong_connectors::import_file(
            &store, department, &a.input, &mapping, &secrets, &options,
        )
        .await;
        store.close().await;
        r
    });
    bar.finish_and_clear();
    let report = report?;
    print_summary(&report);
    if let Some(p) = &a.report_json {
        std::fs::write(p, serde_json::to_string_pretty(&report)?)
            .with_context(|| format!("write {}", p.display()))?;
    }
    if let Some(p) = &a.report_html {
        std::fs::write(p, to_html(&report)).with_context(|| format!("write {}", p.display()))?;
    }
    Ok(Outcome::Ok)
}

fn print_summary(r: &QualityReport) {
    println!(
        "{}: {} rows read, {} stored, {} rejected, {} duplicates ({} {}, {} ms)",
        r.department,
        r.rows_read,
        r.rows_stored,
        r.rows_rejected,
        r.rows_duplicate,
        r.format,
        r.encoding,
        r.duration_ms
    );
    for rule in &r.rules {
        if rule.count > 0 {
            println!("  {:<20} {:>10} {}", rule.rule, rule.count, rule.counts);
        }
    }
}

fn report(a: ReportArgs) -> Result<Outcome> {
    let rt = runtime()?;
    let (jobs, counts) = rt.block_on(async {
        let store = Store::open(&a.db).await?;
        warn_upgrade(&store);
        let jobs = store.jobs().await?;
        let mut counts = Vec::new();
        for d in Department::ALL {
            counts.push((
                d,
                store.count_rows(d).await?,
                store.count_subjects(d).await?,
            ));
        }
        store.close().await;
        Ok::<_, weinong_connectors::ConnectorError>((jobs, counts))
    })?;
    for (d, rows, subjects) in counts {
        println!("{}: {rows} rows, {subjects} subjects", d.short_name());
    }
    for j in &jobs {
        println!(
            "job {} {} {} rows from {}",
            j.id, j.department, j.rows_stored, j.source
        );
    }
    let Some(latest) = jobs.first() else {
        println!("no imports yet");
        return Ok(Outcome::Ok);
    };
    let r: QualityReport = serde_json::from_str(&latest.report_json)
        .context("stored report is not a quality report")?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&r)?);
    } else {
        print_summary(&r);
    }
    if let Some(p) = &a.html {
        std::fs::write(p, to_html(&r)).with_context(|| format!("write {}", p.display()))?;
    }
    Ok(Outcome::Ok)
}

fn export(a: ExportArgs) -> Result<Outcome> {
    let department: Department = a.department.parse()?;
    let secrets = load_secrets_asking(&a.secrets, a.password_file.as_deref())?;
    let rt = runtime()?;
    let rows = rt.block_on(async {
        let store = Store::open(&a.db).await?;
        warn_upgrade(&store);
        let rows = store.dump(department, &secrets.data_key).await;
        store.close().await;
        rows
    })?;
    let spec = TableSpec::of(department);
    let keep: Vec<usize> = std::iter::once(0)
        .chain(
            spec.fields
                .iter()
                .enumerate()
                .filter(|(_, f)| !f.kind.is_identifying())
                .map(|(i, _)| i + 1),
        )
        .collect();
    let mut w =
        csv::Writer::from_path(&a.out).with_context(|| format!("create {}", a.out.display()))?;
    let header: Vec<&str> = std::iter::once("subject")
        .chain(spec.fields.iter().map(|f| f.name))
        .collect();
    w.write_record(keep.iter().map(|&i| header[i]))?;
    for row in &rows {
        w.write_record(keep.iter().map(|&i| row[i].as_str()))?;
    }
    w.flush()?;
    println!(
        "wrote {} {} rows keyed by pseudonym to {}",
        rows.len(),
        department.short_name(),
        a.out.display()
    );
    Ok(Outcome::Ok)
}

struct Run {
    rows: u64,
    seconds: f64,
}

impl Run {
    fn rate(&self) -> f64 {
        self.rows as f64 / self.seconds.max(1e-9)
    }
}

async fn import_all(url: &str, dir: &Path, secrets: &Secrets) -> Result<Run> {
    let store = Store::open(url).await?;
    let started = Instant::now();
    let mut rows = 0;
    for d in Department::ALL {
        let mapping = match mapping_file(d) {
            Some(m) => Mapping::load(&dir.join(m))?,
            None => Mapping::default(),
        };
        let r = weinong_connectors::import_file(
            &store,
            d,
            &dir.join(input_file(d)),
            &mapping,
            secrets,
            &ImportOptions::default(),
        )
        .await?;
        let st = &r.stages;
        println!(
            "  {:<9} {:>9} rows in {:>7.2} s with its commit; ms: open {} read {} clean {} seal {} encode {} write {} (writer idle {}) index {} commit {}",
            d.short_name(),
            r.rows_read,
            // The report's duration stops before the commit (the job record carries it).
            r.duration_ms.saturating_add(st.commit_ms) as f64 / 1000.0,
            st.open_ms,
            st.read_ms,
            st.clean_ms,
            st.seal_ms,
            st.encode_ms,
            st.write_ms,
            st.wait_ms,
            st.index_ms,
            st.commit_ms
        );
        rows += r.rows_read;
    }
    let seconds = started.elapsed().as_secs_f64();
    store.close().await;
    Ok(Run { rows, seconds })
}

/// `weinong bench data`: synth, import + clean into SQLite and PostgreSQL, pandas.
pub fn bench_data(a: BenchDataArgs) -> Result<Outcome> {
    let temp;
    let dir = match &a.work {
        Some(d) => d.clone(),
        None => {
            temp = tempfile::tempdir().context("create work directory")?;
            temp.path().to_path_buf()
        }
    };
    let people = a.people as f64;
    println!(
        "weinong bench data: {} people, seed {}, dirt {} ({} cores)",
        a.people,
        a.seed,
        a.dirt,
        rayon_threads()
    );
    let started = Instant::now();
    let s = weinong_connectors::synthesize(&SynthConfig {
        people: a.people,
        seed: a.seed,
        dirt: a.dirt,
        out: dir.clone(),
    })?;
    let synth = Run {
        rows: s.rows_dirty(),
        seconds: started.elapsed().as_secs_f64(),
    };
    println!(
        "synth:            {:>9} rows in {:>7.2} s = {:>10.0} rows/s ({:.0} people/s)",
        synth.rows,
        synth.seconds,
        synth.rate(),
        people / synth.seconds
    );
    // The generator's files are flushed to disk before anything else is timed: otherwise
    // the kernel writes them back during the first import, which then pays for the
    // generator's I/O (the pandas run, last, would start from flushed files).
    let flushed = Instant::now();
    flush_dir(&dir)?;
    println!(
        "  (synth output flushed to disk in {:.2} s, not timed)",
        flushed.elapsed().as_secs_f64()
    );
    let secrets = weinong_connectors::synth::synthetic_secrets(a.seed);
    let rt = runtime()?;
    let db = dir.join("bench.db");
    for suffix in ["", "-wal", "-shm"] {
        let p = PathBuf::from(format!("{}{suffix}", db.display()));
        if p.exists() {
            std::fs::remove_file(&p).with_context(|| format!("remove {}", p.display()))?;
        }
    }
    let sqlite = rt.block_on(import_all(
        &format!("sqlite://{}", db.display()),
        &dir,
        &secrets,
    ))?;
    println!(
        "import+clean SQLite:     {:>9} rows in {:>7.2} s = {:>10.0} rows/s ({:.0} people/s; target 10^6 people < 60 s)",
        sqlite.rows,
        sqlite.seconds,
        sqlite.rate(),
        people / sqlite.seconds
    );
    match &a.pg_url {
        Some(url) => {
            let pg = rt.block_on(async {
                let (scratch, name) = create_scratch_database(url, "weinong_bench").await?;
                let r = import_all(&scratch, &dir, &secrets).await;
                drop_scratch_database(url, &name).await?;
                r
            })?;
            println!(
                "import+clean PostgreSQL: {:>9} rows in {:>7.2} s = {:>10.0} rows/s ({:.0} people/s)",
                pg.rows,
                pg.seconds,
                pg.rate(),
                people / pg.seconds
            );
        }
        None => println!(
            "import+clean PostgreSQL: skipped (set WEINONG_TEST_PG_URL or --pg-url; scripts/pg-test-setup.sh)"
        ),
    }
    match run_pandas(&a, &dir)? {
        Some(p) => {
            println!(
                "pandas clean+SQLite:     {:>9} rows in {:>7.2} s = {:>10.0} rows/s ({:.0} people/s)",
                p.rows,
                p.seconds,
                p.rate(),
                people / p.seconds
            );
            println!(
                "ratio weinong SQLite / pandas: {:.1}x (aim: >= 5x)",
                sqlite.rate() / p.rate()
            );
        }
        None => println!(
            "pandas: skipped ({} not found; run scripts/pandas-setup.sh)",
            a.pandas_python.display()
        ),
    }
    Ok(Outcome::Ok)
}

/// `fsync` of every file in `dir` and its subdirectories.
fn flush_dir(dir: &Path) -> Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("read {}", dir.display()))? {
        let path = entry?.path();
        if path.is_dir() {
            flush_dir(&path)?;
        } else {
            std::fs::File::open(&path)
                .and_then(|f| f.sync_all())
                .with_context(|| format!("flush {}", path.display()))?;
        }
    }
    Ok(())
}

fn rayon_threads() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

fn run_pandas(a: &BenchDataArgs, dir: &Path) -> Result<Option<Run>> {
    if !a.pandas_python.exists() {
        return Ok(None);
    }
    let out = Command::new(&a.pandas_python)
        .arg(&a.pandas_script)
        .arg("--dir")
        .arg(dir)
        .arg("--db")
        .arg(dir.join("pandas.db"))
        .output()
        .with_context(|| format!("run {}", a.pandas_python.display()))?;
    let stdout = crate::cmd_bench::peer_stdout(&out, "pandas script")?;
    let line = stdout
        .lines()
        .last()
        .ok_or_else(|| anyhow!("pandas script printed nothing"))?;
    /// The script's last line.
    #[derive(serde::Deserialize)]
    struct Pandas {
        rows_read: u64,
        seconds: f64,
        matches_injected: Option<bool>,
    }
    let result: Pandas = serde_json::from_str(line)
        .context("pandas script output is not JSON with rows_read and seconds")?;
    if let Some(m) = result.matches_injected {
        println!(
            "pandas counts equal the injected dirt: {}",
            if m { "yes" } else { "NO" }
        );
    }
    Ok(Some(Run {
        rows: result.rows_read,
        seconds: result.seconds,
    }))
}
