//! `weinong fhe …` and `weinong bench fhe`: the FHE backend of `weinong_mpc::fhe` from the
//! command line: requester key generation, in-process evaluation for `model eval --backend
//! fhe`, and the benchmark.
//!
//! The client key is written as a sealed-secrets file (kind [`CLIENT_KEY_KIND`], secret
//! [`CLIENT_KEY_NAME`]: SM4-GCM under a PBKDF2-HMAC-SM3 key from the password), never as
//! plaintext; `NamedSecrets::open(text, CLIENT_KEY_KIND, password)` and
//! `RequesterKeys::from_bytes` read it back.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use weinong_mpc::fhe::{FheSession, Plan, RequesterKeys, encrypt_inputs};
use weinong_mpc::model::sample::random_batch;
use weinong_mpc::model::{
    ADMISSION_V1, Backend, EvalError, InputBatch, Model, OutputBatch, Plaintext, compile,
};

use crate::Outcome;

/// FHE commands.
#[derive(Subcommand)]
pub enum FheCmd {
    /// Generate a requester's TFHE keys: client key (secret), compact public key and
    /// compressed server key.
    Keygen(KeygenArgs),
}

/// `weinong fhe keygen`.
#[derive(Args)]
pub struct KeygenArgs {
    /// Output directory (created if missing): client.key (sealed under the password, mode
    /// 0600, keep it), and compact-public.key and server.key (publish both with the
    /// request).
    #[arg(long)]
    out: PathBuf,
    /// File whose first line is the password to seal the client key under (mode 0600);
    /// else WEINONG_KEY_PASSWORD, else asked twice.
    #[arg(long, env = "WEINONG_PASSWORD_FILE")]
    password_file: Option<PathBuf>,
}

/// The kind of a sealed FHE client-key file ([`weinong_keys::NamedSecrets`]).
pub const CLIENT_KEY_KIND: &str = "fhe-client-key";
/// The name of the client key inside it (tfhe's safe serialization).
pub const CLIENT_KEY_NAME: &str = "client_key";

/// Dispatches `weinong fhe`.
pub fn fhe(cmd: FheCmd) -> Result<Outcome> {
    match cmd {
        FheCmd::Keygen(a) => keygen(a),
    }
}

fn keygen(a: KeygenArgs) -> Result<Outcome> {
    std::fs::create_dir_all(&a.out).with_context(|| format!("create {}", a.out.display()))?;
    let client_path = a.out.join("client.key");
    if client_path.exists() {
        bail!(
            "{} exists; refusing to overwrite a client key (move it away first)",
            client_path.display()
        );
    }
    let password = crate::cmd_keys::sealing_password(a.password_file.as_deref())?;
    let started = Instant::now();
    let keys = RequesterKeys::generate();
    let encryption = keys.encryption_key().to_bytes()?;
    let evaluation = keys.evaluation_key().to_bytes()?;
    let client = keys.to_bytes()?;
    let took = started.elapsed();
    let mut sealed = weinong_keys::NamedSecrets::new(CLIENT_KEY_KIND)?;
    sealed.insert(CLIENT_KEY_NAME, &client)?;
    let sealed = sealed.seal(password.as_bytes())?;
    write_secret(&client_path, sealed.as_bytes())?;
    write_file(&a.out.join("compact-public.key"), &encryption)?;
    write_file(&a.out.join("server.key"), &evaluation)?;
    println!(
        "generated TFHE keys in {:.1} s under {}",
        took.as_secs_f64(),
        weinong_mpc::fhe::params::PARAMETER_SET_NAME
    );
    println!(
        "client key          {} ({}, sealed under the password; secret, keep it)",
        client_path.display(),
        size(client.len())
    );
    println!(
        "compact public key  {} ({}; departments encrypt under it)",
        a.out.join("compact-public.key").display(),
        size(encryption.len())
    );
    println!(
        "server key          {} ({}, compressed; the evaluator computes with it)",
        a.out.join("server.key").display(),
        size(evaluation.len())
    );
    Ok(Outcome::Ok)
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut f = File::create(path).with_context(|| format!("create {}", path.display()))?;
    f.write_all(bytes)
        .with_context(|| format!("write {}", path.display()))?;
    f.sync_all()
        .with_context(|| format!("sync {}", path.display()))
}

/// Writes the sealed client key readable by its owner only (it decrypts every input
/// ciphertext made under the matching public key).
fn write_secret(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options
        .open(path)
        .with_context(|| format!("create {}", path.display()))?;
    f.write_all(bytes)
        .with_context(|| format!("write {}", path.display()))?;
    f.sync_all()
        .with_context(|| format!("sync {}", path.display()))
}

fn size(bytes: usize) -> String {
    let b = bytes as f64;
    if b >= 1024.0 * 1024.0 {
        format!("{:.1} MiB", b / (1024.0 * 1024.0))
    } else {
        format!("{:.1} KiB", b / 1024.0)
    }
}

/// `model eval --backend fhe`: requester, departments and evaluator in this process, with
/// fresh keys.
pub struct FheInProcess;

impl Backend for FheInProcess {
    fn name(&self) -> &'static str {
        "fhe"
    }

    fn evaluate(&self, model: &Model, inputs: &InputBatch) -> Result<OutputBatch, EvalError> {
        let started = Instant::now();
        // `EvalError` has no FHE variant yet (requested from the models module's owner);
        // until then FHE failures travel in the engine-failure variant, prefixed.
        let session = FheSession::generate(0).map_err(|e| EvalError::Mpc(format!("FHE: {e}")))?;
        eprintln!(
            "fhe: keys generated and evaluator started in {:.1} s; {} subjects, one after another",
            started.elapsed().as_secs_f64(),
            inputs.len()
        );
        session
            .evaluate_batch(model, inputs)
            .map_err(|e| EvalError::Mpc(format!("FHE: {e}")))
    }
}

/// `weinong bench fhe`.
#[derive(Args)]
pub struct BenchFheArgs {
    /// Single-subject admission-v1 runs (the median is reported).
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Worker threads of the evaluator (0: one per core).
    #[arg(long, default_value_t = 0)]
    threads: usize,
}

/// Prints key generation time and sizes, encrypted input sizes per department, and the
/// admission-v1 evaluation time for one subject with the operations by kind.
pub fn bench_fhe(a: BenchFheArgs) -> Result<Outcome> {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    println!(
        "FHE backend, tfhe 1.8 on {}, {} worker threads on {cores} cores; parameters {}",
        weinong_mpc::fhe::Device::available().name(),
        if a.threads == 0 { cores } else { a.threads },
        weinong_mpc::fhe::params::PARAMETER_SET_NAME
    );
    let started = Instant::now();
    let requester = RequesterKeys::generate();
    let client_time = started.elapsed();
    let started = Instant::now();
    let encryption = requester.encryption_key();
    let cpk_time = started.elapsed();
    let started = Instant::now();
    let evaluation = requester.evaluation_key();
    let server_time = started.elapsed();
    let client_bytes = requester.to_bytes()?.len();
    let cpk_bytes = encryption.to_bytes()?.len();
    let server_bytes = evaluation.to_bytes()?.len();
    println!(
        "keygen: client {:.2} s, compact public {:.2} s, compressed server {:.2} s",
        client_time.as_secs_f64(),
        cpk_time.as_secs_f64(),
        server_time.as_secs_f64()
    );
    println!(
        "key sizes: client {}, compact public {} (compressed), server {} (compressed)",
        size(client_bytes),
        size(cpk_bytes),
        size(server_bytes)
    );
    let started = Instant::now();
    let session = FheSession::from_keys(requester, encryption, &evaluation, a.threads)?;
    println!(
        "evaluator start (server key decompression, worker pool): {:.2} s",
        started.elapsed().as_secs_f64()
    );

    let model = compile(ADMISSION_V1)?;
    let plan = Plan::new(&model);
    println!("admission-v1 IR: {}", model.ir().op_counts());
    for holder in model.holders() {
        let count = Plan::holder_inputs(&model, holder).len();
        let one = random_batch(&model, 1, 3)?;
        let values: Vec<i64> = Plan::holder_inputs(&model, holder)
            .iter()
            .map(|i| one.column(*i)[0])
            .collect();
        let bytes = encrypt_inputs(&model, &plan, holder, &values, session.encryption_key())?;
        println!(
            "encrypted inputs per subject, {holder}: {} for {count} values",
            size(bytes.len())
        );
    }

    let mut runs = Vec::new();
    for run in 0..a.runs.max(1) {
        let batch = random_batch(&model, 1, 1000 + run as u64)?;
        let expected = Plaintext.evaluate(&model, &batch)?;
        let started = Instant::now();
        let cpu_before = process_cpu_seconds();
        let (got, reports) = session.evaluate_batch_with_reports(&model, &batch)?;
        let cpu = process_cpu_seconds()
            .zip(cpu_before)
            .map(|(after, before)| after - before);
        let total = started.elapsed();
        if got != expected {
            bail!("FHE result differs from the plaintext reference");
        }
        let Some(report) = reports.into_iter().next() else {
            bail!("no report for the subject");
        };
        runs.push((total, report, cpu));
    }
    runs.sort_by_key(|(t, _, _)| *t);
    let (total, report, cpu) = &runs[runs.len() / 2];
    println!(
        "admission-v1, 1 subject, median of {} runs: {:.2} s end to end (aim < 10 s); results equal the plaintext backend",
        runs.len(),
        total.as_secs_f64()
    );
    if let Some(cpu) = cpu {
        // CPU time is what the machine's load cannot inflate: on an idle machine with
        // `cores` cores the wall clock approaches CPU time / cores when the pool is busy.
        println!(
            "  process CPU time for that subject {cpu:.2} s (≈ {:.2} s wall on {cores} idle cores at full parallelism); load average now {}",
            cpu / cores as f64,
            load_average().unwrap_or_else(|| "unknown".into())
        );
    }
    println!(
        "  departments encrypt {:.3} s; evaluator: input checks + expansion {:.2} s, IR {:.2} s; outputs {} to the requester, decrypt {:.3} s",
        report.encrypt.as_secs_f64(),
        report.eval.expand.as_secs_f64(),
        report.eval.evaluate.as_secs_f64(),
        size(report.output_bytes),
        report.decrypt.as_secs_f64()
    );
    let busy: Duration = report.eval.by_kind.values().map(|(_, d)| *d).sum();
    println!(
        "  where the IR time goes (encrypted nodes by kind; node times overlap across the pool, {} nodes folded to constants):",
        report.eval.folded
    );
    let mut kinds: Vec<_> = report.eval.by_kind.iter().collect();
    kinds.sort_by_key(|(_, (_, d))| std::cmp::Reverse(*d));
    for (kind, (count, took)) in kinds {
        println!(
            "    {kind:<13} {count:>3} nodes  {:>7.2} s  {:>5.1} %",
            took.as_secs_f64(),
            100.0 * took.as_secs_f64() / busy.as_secs_f64().max(1e-9)
        );
    }
    Ok(Outcome::Ok)
}

/// User + system CPU seconds of this process so far (Linux `/proc/self/stat`, at the usual
/// 100 clock ticks per second); `None` elsewhere.
fn process_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesised command name: state is the first, utime the 12th and
    // stime the 13th.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

/// The 1-minute load average (Linux `/proc/loadavg`).
fn load_average() -> Option<String> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    text.split_whitespace().next().map(str::to_owned)
}
