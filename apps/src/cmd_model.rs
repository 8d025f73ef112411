//! `weinong model …` and `weinong bench assess`: assessment models as data (compile, check,
//! evaluate over department CSVs) through `weinong_mpc::model`.
//!
//! `model eval` reads `DIR/civil_affairs.csv`, `DIR/health.csv` and
//! `DIR/medical_insurance.csv` (only those the model's inputs need), joins them by subject
//! pseudonym and runs the plaintext reference or the three-party MPC backend in-process.

use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand, ValueEnum};
use weinong_mpc::model::inputs::{DepartmentTable, JoinPolicy, join};
use weinong_mpc::model::sample::random_batch;
use weinong_mpc::model::{
    ADMISSION_V1, Backend, Holder, InputSource, Model, Mpc, PERIODIC_V1, PERIODIC_V2, Plaintext,
    Recipient, canonical_form, compile,
};
use weinong_mpc::{RunOptions, TransportKind};

use crate::Outcome;

/// Model commands.
#[derive(Subcommand)]
pub enum ModelCmd {
    /// Validate a model spec and print its id (SM3 of the canonical spec).
    Check(CheckArgs),
    /// Evaluate a model over one CSV per holding department, joined by subject pseudonym.
    Eval(EvalArgs),
    /// Write random valid input CSVs for a model (one per holding department), for trials.
    Sample(SampleArgs),
}

/// `weinong model sample`.
#[derive(Args)]
pub struct SampleArgs {
    /// The model spec (TOML).
    file: PathBuf,
    /// Number of subjects.
    #[arg(long, default_value_t = 1000)]
    subjects: usize,
    /// Seed (the same seed writes the same files).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Output directory (created if missing).
    #[arg(long)]
    out: PathBuf,
}

/// `weinong model check`.
#[derive(Args)]
pub struct CheckArgs {
    /// The model spec (TOML).
    file: PathBuf,
    /// Also write the canonical form (what the id hashes) here, e.g. for `openssl dgst -sm3`.
    #[arg(long)]
    canonical: Option<PathBuf>,
}

/// Which backend evaluates.
#[derive(Clone, Copy, ValueEnum)]
pub enum BackendKind {
    /// The plaintext reference.
    Plain,
    /// Three-party MPC, the parties in this process.
    Mpc,
    /// TFHE: fresh requester keys, departments and one evaluator in this process (seconds
    /// per subject).
    Fhe,
}

/// What to do with a subject that some holding department does not list.
#[derive(Clone, Copy, ValueEnum)]
pub enum Incomplete {
    /// Stop with an error naming the first such subject.
    Error,
    /// Leave such subjects out and list them in OUT.skipped.csv.
    Skip,
}

/// `weinong model eval`.
#[derive(Args)]
pub struct EvalArgs {
    /// The model spec (TOML).
    file: PathBuf,
    /// Directory with civil_affairs.csv, health.csv, medical_insurance.csv.
    #[arg(long)]
    inputs: PathBuf,
    /// plain, mpc or fhe.
    #[arg(long, value_enum, default_value_t = BackendKind::Plain)]
    backend: BackendKind,
    /// Results CSV: subject, then the outputs the recipient may receive.
    #[arg(long)]
    out: PathBuf,
    /// Who receives the results: requester, civil_affairs, health or medical_insurance.
    #[arg(long, default_value = "requester")]
    recipient: String,
    /// A subject missing at one department: error (default) or skip and report.
    #[arg(long, value_enum, default_value_t = Incomplete::Error)]
    on_incomplete: Incomplete,
}

/// Dispatches `weinong model`.
pub fn model(cmd: ModelCmd) -> Result<Outcome> {
    match cmd {
        ModelCmd::Check(a) => check(a),
        ModelCmd::Eval(a) => eval(a),
        ModelCmd::Sample(a) => sample(a),
    }
}

fn load(file: &Path) -> Result<Model> {
    let source =
        std::fs::read_to_string(file).with_context(|| format!("read {}", file.display()))?;
    compile(&source).with_context(|| format!("{}", file.display()))
}

fn check(a: CheckArgs) -> Result<Outcome> {
    let m = load(&a.file)?;
    println!("{} {}: valid", m.name(), m.version());
    println!("model id   {}", m.id());
    let per_holder: Vec<String> = Holder::ALL
        .iter()
        .map(|h| {
            format!(
                "{h} {}",
                m.inputs().iter().filter(|i| i.holder == *h).count()
            )
        })
        .collect();
    println!(
        "inputs     {} ({})",
        m.inputs().len(),
        per_holder.join(", ")
    );
    let per_category: Vec<String> = Holder::ALL
        .iter()
        .filter_map(|h| {
            let categories: Vec<&str> = m.categories_of(*h).iter().map(|c| c.as_str()).collect();
            (!categories.is_empty()).then(|| format!("{h}: {}", categories.join(",")))
        })
        .collect();
    // What a registration must declare and a consent must cover.
    println!("categories {}", per_category.join("; "));
    for p in m.params() {
        println!(
            "param      {} = {} (allowed {})",
            p.name, p.value, p.allowed
        );
    }
    for o in m.outputs() {
        let to: Vec<String> = o.recipients.iter().map(ToString::to_string).collect();
        println!("output     {} {} → {}", o.name, o.range, to.join(", "));
    }
    println!(
        "ir         {} nodes: {}",
        m.ir().nodes().len(),
        m.ir().op_counts()
    );
    if let Some(path) = &a.canonical {
        let source = std::fs::read_to_string(&a.file)
            .with_context(|| format!("read {}", a.file.display()))?;
        std::fs::write(path, canonical_form(&source)?)
            .with_context(|| format!("write {}", path.display()))?;
        println!("canonical  {}", path.display());
    }
    Ok(Outcome::Ok)
}

fn eval(a: EvalArgs) -> Result<Outcome> {
    let m = load(&a.file)?;
    let Some(recipient) = Recipient::parse(&a.recipient) else {
        bail!(
            "unknown recipient `{}`; use requester, civil_affairs, health or medical_insurance",
            a.recipient
        );
    };
    let mut tables = Vec::new();
    for holder in m.holders() {
        let path = a.inputs.join(format!("{holder}.csv"));
        let file = File::open(&path)
            .with_context(|| format!("open {} (the {holder} input table)", path.display()))?;
        tables.push(DepartmentTable::read_csv(
            &m,
            holder,
            &path.display().to_string(),
            BufReader::new(file),
        )?);
    }
    let policy = match a.on_incomplete {
        Incomplete::Error => JoinPolicy::Strict,
        Incomplete::Skip => JoinPolicy::SkipIncomplete,
    };
    let joined = join(&m, &tables, policy)?;
    let started = Instant::now();
    let backend: &dyn Backend = match a.backend {
        BackendKind::Plain => &Plaintext,
        BackendKind::Mpc => &Mpc::default(),
        BackendKind::Fhe => &crate::cmd_fhe::FheInProcess,
    };
    let outputs = backend.evaluate(&m, &joined.batch)?;
    let elapsed = started.elapsed();

    let allowed: Vec<usize> = (0..m.outputs().len())
        .filter(|i| m.outputs()[*i].recipients.contains(&recipient))
        .collect();
    if allowed.is_empty() {
        bail!("no output of {} may go to {recipient}", m.name());
    }
    let mut w = csv_writer(&a.out)?;
    let header: Vec<&str> = std::iter::once("subject")
        .chain(allowed.iter().map(|i| m.outputs()[*i].name.as_str()))
        .collect();
    writeln!(w, "{}", header.join(","))?;
    for (row, subject) in joined.subjects.iter().enumerate() {
        write!(w, "{subject}")?;
        for i in &allowed {
            write!(w, ",{}", outputs.column(*i)[row])?;
        }
        writeln!(w)?;
    }
    w.flush()?;
    eprintln!(
        "{} ({}) on {} subjects with the {} backend in {:.3} s; wrote {}",
        m.name(),
        m.id(),
        joined.subjects.len(),
        backend.name(),
        elapsed.as_secs_f64(),
        a.out.display()
    );
    if !joined.report.skipped.is_empty() {
        let path = skipped_path(&a.out);
        let mut w = csv_writer(&path)?;
        writeln!(w, "subject,missing_at")?;
        for s in &joined.report.skipped {
            let missing: Vec<&str> = s.missing_at.iter().map(|h| h.name()).collect();
            writeln!(w, "{},{}", s.subject, missing.join(";"))?;
        }
        w.flush()?;
        eprintln!(
            "skipped {} subjects missing at some department; listed in {}",
            joined.report.skipped.len(),
            path.display()
        );
    }
    for (holder, column) in &joined.report.ignored_columns {
        eprintln!("note: {holder} column `{column}` is not read by the model");
    }
    Ok(Outcome::Ok)
}

fn sample(a: SampleArgs) -> Result<Outcome> {
    let m = load(&a.file)?;
    let batch = random_batch(&m, a.subjects, a.seed)?;
    std::fs::create_dir_all(&a.out).with_context(|| format!("create {}", a.out.display()))?;
    // Format-valid pseudonyms (64 hex digits), not derived from any resident ID.
    let subjects: Vec<String> = (0..a.subjects as u64)
        .map(|i| {
            hex::encode(weinong_keys::sm3_digest(
                format!("weinong model sample {} {i}", a.seed).as_bytes(),
            ))
        })
        .collect();
    for holder in m.holders() {
        // (column header, value column, decimals, known-flag column for optional inputs)
        let mut columns = Vec::new();
        for (index, input) in m.inputs().iter().enumerate() {
            if input.holder != holder {
                continue;
            }
            if let InputSource::Column {
                column,
                decimals,
                optional,
            } = &input.source
            {
                columns.push((
                    column.as_str(),
                    index,
                    *decimals,
                    optional.map(|(_, flag)| flag.index()),
                ));
            }
        }
        let path = a.out.join(format!("{holder}.csv"));
        let mut w = csv_writer(&path)?;
        let header: Vec<&str> = std::iter::once("subject")
            .chain(columns.iter().map(|c| c.0))
            .collect();
        writeln!(w, "{}", header.join(","))?;
        for (row, subject) in subjects.iter().enumerate() {
            write!(w, "{subject}")?;
            for (_, index, decimals, flag) in &columns {
                let known = flag.is_none_or(|f| batch.column(f)[row] == 1);
                if known {
                    write!(w, ",{}", decimal(batch.column(*index)[row], *decimals))?;
                } else {
                    write!(w, ",")?;
                }
            }
            writeln!(w)?;
        }
        w.flush()?;
        println!(
            "wrote {} ({} subjects, {} columns)",
            path.display(),
            a.subjects,
            columns.len()
        );
    }
    Ok(Outcome::Ok)
}

/// `value` in units of 10^-decimals, written as a decimal number.
fn decimal(value: i64, decimals: u8) -> String {
    if decimals == 0 {
        return value.to_string();
    }
    let scale = 10i64.pow(u32::from(decimals));
    let sign = if value < 0 { "-" } else { "" };
    let magnitude = value.unsigned_abs();
    let scale = scale.unsigned_abs();
    format!(
        "{sign}{}.{:0width$}",
        magnitude / scale,
        magnitude % scale,
        width = usize::from(decimals)
    )
}

fn csv_writer(path: &Path) -> Result<BufWriter<File>> {
    let file = File::create(path).with_context(|| format!("create {}", path.display()))?;
    Ok(BufWriter::new(file))
}

fn skipped_path(out: &Path) -> PathBuf {
    let mut name = out
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".skipped.csv");
    out.with_file_name(name)
}

/// `weinong bench assess`.
#[derive(Args)]
pub struct BenchAssessArgs {
    /// Subjects in the periodic-v1 and periodic-v2 throughput runs (Shanghai's care-home
    /// residents).
    #[arg(long, default_value_t = 360_000)]
    subjects: usize,
    /// Single-subject admission-v1 runs for the latency figures.
    #[arg(long, default_value_t = 50)]
    latency_runs: usize,
}

/// Prints admission-v1 latency for one subject and periodic-v1 and periodic-v2 throughput
/// (periodic-v2 with K = 4 visits and check-ups), MPC beside the plaintext reference.
pub fn bench_assess(a: BenchAssessArgs) -> Result<Outcome> {
    let admission = compile(ADMISSION_V1)?;
    let periodic = compile(PERIODIC_V1)?;
    let periodic_v2 = compile(PERIODIC_V2)?;
    println!(
        "admission-v1 {}: {}",
        admission.id(),
        admission.ir().op_counts()
    );
    for model in [&periodic, &periodic_v2] {
        println!(
            "{:12} {}: {}",
            model.name(),
            model.id(),
            model.ir().op_counts()
        );
    }

    let one = random_batch(&admission, 1, 7)?;
    let expected = Plaintext.evaluate(&admission, &one)?;
    let mut times = Vec::with_capacity(a.latency_runs);
    let mut one_stats = None;
    for _ in 0..a.latency_runs.max(1) {
        let started = Instant::now();
        let (got, stats) = Mpc::default().evaluate_with_stats(&admission, &one)?;
        times.push(started.elapsed());
        if got != expected {
            bail!("MPC result differs from the plaintext reference");
        }
        one_stats = Some(stats);
    }
    times.sort();
    let pick = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
    println!(
        "admission-v1, 1 subject, MPC in-process (3 threads, session setup included): median {:.2} ms, min {:.2} ms, p95 {:.2} ms over {} runs (aim < 20 ms)",
        ms(pick(0.5)),
        ms(times[0]),
        ms(pick(0.95)),
        times.len()
    );
    if let Some(stats) = one_stats {
        println!("  {}", traffic(&stats, 1));
    }
    // The same over loopback TCP with HMAC-SM3 frames: what the in-process figure leaves out
    // of a deployment, short of the network itself.
    let tcp = Mpc {
        options: RunOptions {
            transport: TransportKind::LoopbackTcp,
            ..RunOptions::default()
        },
        ..Mpc::default()
    };
    let mut tcp_times = Vec::new();
    for _ in 0..a.latency_runs.clamp(1, 10) {
        let started = Instant::now();
        if tcp.evaluate(&admission, &one)? != expected {
            bail!("MPC result over TCP differs from the plaintext reference");
        }
        tcp_times.push(started.elapsed());
    }
    tcp_times.sort();
    println!(
        "admission-v1, 1 subject, MPC over loopback TCP (connection setup included): median {:.2} ms over {} runs",
        ms(tcp_times[tcp_times.len() / 2]),
        tcp_times.len()
    );

    for (model, seed, aim) in [(&periodic, 11, 60), (&periodic_v2, 12, 120)] {
        throughput(model, a.subjects, seed, aim)?;
    }
    Ok(Outcome::Ok)
}

/// One model over `subjects` random subjects: MPC in-process against the plaintext
/// reference, with the rounds and the bytes each party sends per subject.
fn throughput(model: &Model, subjects: usize, seed: u64, aim_s: u32) -> Result<()> {
    let batch = random_batch(model, subjects, seed)?;
    let started = Instant::now();
    let plain = Plaintext.evaluate(model, &batch)?;
    let plain_time = started.elapsed();
    let started = Instant::now();
    let (secure, stats) = Mpc::default().evaluate_with_stats(model, &batch)?;
    let mpc_time = started.elapsed();
    if plain != secure {
        bail!(
            "{}: MPC result differs from the plaintext reference",
            model.name()
        );
    }
    let rate = |d: Duration| subjects as f64 / d.as_secs_f64().max(1e-9);
    println!(
        "{}, {subjects} subjects: MPC in-process {:.2} s ({:.0} subjects/s, aim < {aim_s} s); plaintext {:.3} s ({:.0} subjects/s); MPC/plaintext time ratio {:.0}x; results equal",
        model.name(),
        mpc_time.as_secs_f64(),
        rate(mpc_time),
        plain_time.as_secs_f64(),
        rate(plain_time),
        mpc_time.as_secs_f64() / plain_time.as_secs_f64().max(1e-9)
    );
    println!("  {}", traffic(&stats, subjects));
    Ok(())
}

fn traffic(stats: &[weinong_mpc::Stats; 3], subjects: usize) -> String {
    let per_party: Vec<String> = stats
        .iter()
        .enumerate()
        .map(|(i, s)| format!("P{i} {:.1}", s.bytes_sent as f64 / subjects.max(1) as f64))
        .collect();
    format!(
        "{} rounds; bytes sent per subject: {}",
        stats[0].rounds,
        per_party.join(", ")
    )
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}
