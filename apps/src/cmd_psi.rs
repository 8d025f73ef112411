//! `weinong psi …` and `weinong bench psi`: private set intersection of resident-ID lists
//! between two departments (`weinong_mpc::psi`: KKRT16 OPRF-PSI by default, ECDH-PSI on
//! ristretto255 for cardinality-only runs or on request).
//!
//! This module only parses arguments, opens files and sockets, draws progress bars and
//! prints summaries; the protocol lives in `weinong-mpc`.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand, ValueEnum};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use weinong_mpc::psi::{
    self, IdentifierReader, InputStats, Mode, Progress, Protocol, ReceiverReport, SenderReport,
    Shaped, Stage, Traffic, limits,
};

use crate::Outcome;

/// PSI between two departments' identifier lists.
#[derive(Subcommand)]
pub enum PsiCmd {
    /// One party of a PSI over TCP: the sender learns only set sizes; the receiver learns
    /// the intersection (or only its size with --cardinality-only).
    Run(RunArgs),
    /// Both parties in one process over loopback: A is the receiver, B the sender.
    Local(LocalArgs),
}

/// Which PSI protocol to run.
#[derive(Clone, Copy, ValueEnum)]
pub enum ProtocolArg {
    /// ECDH-PSI on ristretto255: the simplest; the only one with --cardinality-only.
    Ecdh,
    /// KKRT16 OPRF-based PSI (base OT, OT extension, AES): several times faster.
    Kkrt,
}

/// The protocol a run uses: the one asked for, or KKRT for intersections and ECDH for
/// cardinality-only runs. KKRT with --cardinality-only is refused before any network.
fn protocol_of(arg: Option<ProtocolArg>, mode: Mode) -> Result<Protocol> {
    let protocol = match arg {
        None => Protocol::default_for(mode),
        Some(ProtocolArg::Ecdh) => Protocol::Ecdh,
        Some(ProtocolArg::Kkrt) => Protocol::Kkrt,
    };
    if protocol == Protocol::Kkrt && mode == Mode::CardinalityOnly {
        bail!(
            "--protocol kkrt cannot run with --cardinality-only: the KKRT receiver learns which \
             of its rows match; use --protocol ecdh (the default for --cardinality-only)"
        );
    }
    Ok(protocol)
}

/// Which side this party plays.
#[derive(Clone, Copy, ValueEnum)]
pub enum RoleArg {
    /// Blinds its own and the receiver's points; learns only set sizes.
    Sender,
    /// Learns the intersection (or its size).
    Receiver,
}

/// `weinong psi run`.
#[derive(Args)]
pub struct RunArgs {
    /// This party's role.
    #[arg(long, value_enum)]
    role: RoleArg,
    /// CSV file with a header line.
    #[arg(long)]
    input: PathBuf,
    /// The column holding the resident ID numbers (GB 11643).
    #[arg(long)]
    column: String,
    /// The peer: HOST:PORT to connect to, or with --listen the host allowed to connect.
    #[arg(long)]
    peer: String,
    /// Listen on ADDR for the peer instead of connecting to it.
    #[arg(long)]
    listen: Option<String>,
    /// The receiver learns only the intersection's size.
    #[arg(long)]
    cardinality_only: bool,
    /// The protocol (both parties must agree): kkrt for intersections, ecdh for
    /// --cardinality-only, when not given.
    #[arg(long, value_enum)]
    protocol: Option<ProtocolArg>,
    /// Receiver: the intersection CSV (or its size); sender: a summary of counts.
    #[arg(long)]
    out: PathBuf,
    /// No progress bars.
    #[arg(long)]
    quiet: bool,
    /// Shape this party's sending to this many Mbit/s (a token bucket): a simulated
    /// wide-area link, for `weinong bench psi`.
    #[arg(long, hide = true)]
    link_mbit: Option<f64>,
}

/// `weinong psi local`.
#[derive(Args)]
pub struct LocalArgs {
    /// The receiver's CSV.
    #[arg(long)]
    a: PathBuf,
    /// The sender's CSV.
    #[arg(long)]
    b: PathBuf,
    /// The identifier column (the same name in both files).
    #[arg(long, default_value = "id")]
    column: String,
    /// Output only the intersection's size.
    #[arg(long)]
    cardinality_only: bool,
    /// The protocol: kkrt for intersections, ecdh for --cardinality-only, when not given.
    #[arg(long, value_enum)]
    protocol: Option<ProtocolArg>,
    /// Where the receiver's result goes.
    #[arg(long)]
    out: PathBuf,
    /// No progress bars.
    #[arg(long)]
    quiet: bool,
}

/// Dispatches `weinong psi`.
pub fn psi(cmd: PsiCmd) -> Result<Outcome> {
    match cmd {
        PsiCmd::Run(args) => run(args),
        PsiCmd::Local(args) => local(args),
    }
}

fn mode_of(cardinality_only: bool) -> Mode {
    if cardinality_only {
        Mode::CardinalityOnly
    } else {
        Mode::Intersection
    }
}

fn run(args: RunArgs) -> Result<Outcome> {
    let mode = mode_of(args.cardinality_only);
    let protocol = protocol_of(args.protocol, mode)?;
    if let Some(mbit) = args.link_mbit
        && !(mbit.is_finite() && mbit > 0.0)
    {
        bail!("--link-mbit must be a positive number of Mbit/s, got {mbit}");
    }
    // Input problems (missing file, column, empty file) are reported before any network.
    let input = IdentifierReader::open(&args.input, &args.column)?;
    let stream = match &args.listen {
        Some(listen) => {
            let listener = psi::listen(listen)?;
            let host = psi::peer_host(&args.peer)?;
            eprintln!("waiting for the peer from {host} on {listen}");
            psi::accept_from(&listener, host, limits::ACCEPT_TIMEOUT)?
        }
        None => psi::connect(&args.peer)?,
    };
    let bars = Bars::new(args.quiet);
    match args.link_mbit {
        Some(mbit) => run_role(
            &args,
            Shaped::new(stream, mbit),
            input,
            protocol,
            mode,
            &bars,
        ),
        None => run_role(&args, stream, input, protocol, mode, &bars),
    }
}

fn run_role(
    args: &RunArgs,
    stream: impl psi::Connection,
    input: IdentifierReader,
    protocol: Protocol,
    mode: Mode,
    bars: &Bars,
) -> Result<Outcome> {
    match args.role {
        RoleArg::Receiver => {
            let report = with_output_file(&args.out, |out| {
                Ok(psi::run_receiver_with(
                    stream, input, protocol, mode, out, bars,
                )?)
            })?;
            bars.clear();
            print_input("receiver", &args.input, &report.own);
            print_receiver(&report, &args.out);
            print_traffic(protocol, report.traffic);
        }
        RoleArg::Sender => {
            let report = psi::run_sender_with(stream, input, protocol, mode, bars)?;
            bars.clear();
            with_output_file(&args.out, |out| write_sender_summary(out, &report))?;
            print_input("sender", &args.input, &report.own);
            println!("receiver's distinct identifiers: {}", report.peer_distinct);
            print_traffic(protocol, report.traffic);
        }
    }
    Ok(Outcome::Ok)
}

/// The line `weinong bench psi` reads back: protocol and bytes each way.
fn print_traffic(protocol: Protocol, traffic: Traffic) {
    println!(
        "traffic: protocol={} sent={} received={}",
        protocol.name(),
        traffic.sent,
        traffic.received
    );
}

fn local(args: LocalArgs) -> Result<Outcome> {
    let a = IdentifierReader::open(&args.a, &args.column)?;
    let b = IdentifierReader::open(&args.b, &args.column)?;
    let mode = mode_of(args.cardinality_only);
    let protocol = protocol_of(args.protocol, mode)?;
    let bars = Bars::new(args.quiet);
    let (receiver, sender) = with_output_file(&args.out, |out| {
        Ok(psi::run_local_with(a, b, protocol, mode, out, &bars)?)
    })?;
    bars.clear();
    print_input("A (receiver)", &args.a, &receiver.own);
    print_input("B (sender)", &args.b, &sender.own);
    print_receiver(&receiver, &args.out);
    Ok(Outcome::Ok)
}

/// Write through `write` into `path.partial`, renamed to `path` only on success, so a
/// failed run never leaves a result that looks complete.
fn with_output_file<T>(path: &Path, write: impl FnOnce(&mut dyn Write) -> Result<T>) -> Result<T> {
    let mut partial = path.as_os_str().to_owned();
    partial.push(".partial");
    let partial = PathBuf::from(partial);
    let file =
        File::create(&partial).with_context(|| format!("cannot create {}", partial.display()))?;
    let mut out = BufWriter::new(file);
    let result = write(&mut out).and_then(|v| {
        out.flush()
            .with_context(|| format!("cannot write {}", partial.display()))?;
        Ok(v)
    });
    match result {
        Ok(v) => {
            std::fs::rename(&partial, path)
                .with_context(|| format!("cannot rename to {}", path.display()))?;
            Ok(v)
        }
        Err(e) => {
            // The partial file is worthless; failing to remove it changes nothing.
            let _ = std::fs::remove_file(&partial);
            Err(e)
        }
    }
}

fn write_sender_summary(out: &mut dyn Write, report: &SenderReport) -> Result<()> {
    let own = &report.own;
    writeln!(out, "rows,valid,invalid,distinct,receiver_distinct")?;
    writeln!(
        out,
        "{},{},{},{},{}",
        own.rows, own.valid, own.invalid, own.distinct, report.peer_distinct
    )?;
    Ok(())
}

fn print_input(who: &str, path: &Path, stats: &InputStats) {
    println!(
        "{who}: {} rows in {}: {} valid ({} distinct), {} invalid (skipped)",
        stats.rows,
        path.display(),
        stats.valid,
        stats.distinct,
        stats.invalid
    );
    for row in &stats.invalid_rows {
        println!("  line {}: {}", row.line, row.reason);
    }
    let unlisted = stats
        .invalid
        .saturating_sub(u64::try_from(stats.invalid_rows.len()).unwrap_or(0));
    if unlisted > 0 {
        println!("  … and {unlisted} more invalid rows");
    }
}

fn print_receiver(report: &ReceiverReport, out: &Path) {
    println!("sender's distinct identifiers: {}", report.peer_distinct);
    match report.mode {
        Mode::Intersection => println!(
            "intersection: {} identifiers written to {}",
            report.intersection,
            out.display()
        ),
        Mode::CardinalityOnly => println!(
            "intersection size: {} (written to {})",
            report.intersection,
            out.display()
        ),
    }
}

/// indicatif bars, one per running stage; drawn only when stderr is a terminal.
struct Bars {
    multi: Option<MultiProgress>,
    bars: Mutex<Vec<(Stage, ProgressBar)>>,
}

impl Bars {
    fn new(quiet: bool) -> Self {
        Self {
            multi: (!quiet).then(MultiProgress::new),
            bars: Mutex::new(Vec::new()),
        }
    }

    fn clear(&self) {
        if let Some(multi) = &self.multi {
            // Only the terminal's bars go; a failed clear leaves stale bars, nothing more.
            let _ = multi.clear();
        }
    }

    fn with_bar(&self, stage: Stage, f: impl FnOnce(&ProgressBar)) {
        let bars = self
            .bars
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((_, bar)) = bars.iter().find(|(s, _)| *s == stage) {
            f(bar);
        }
    }
}

impl Progress for Bars {
    fn begin(&self, stage: Stage, total: u64) {
        let Some(multi) = &self.multi else { return };
        let (label, counts) = match stage {
            Stage::BlindOwn => (
                "hash + blind own IDs",
                "{binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec}",
            ),
            Stage::ReblindPeer => ("reblind peer points", "{human_pos}/{human_len} points"),
            Stage::Encode => ("OT extension", "{human_pos}/{human_len} chunks"),
            Stage::Match => ("match peer's stream", "{human_pos}/{human_len}"),
            Stage::WriteOutput => ("write intersection", "{human_pos}/{human_len} rows"),
        };
        let template = format!("{label:>22} [{{bar:30}}] {counts} eta {{eta}}");
        let style = ProgressStyle::with_template(&template)
            .unwrap_or_else(|_| ProgressStyle::default_bar());
        let bar = multi.add(ProgressBar::new(total).with_style(style));
        self.bars
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push((stage, bar));
    }

    fn advance(&self, stage: Stage, delta: u64) {
        self.with_bar(stage, |bar| bar.inc(delta));
    }

    fn end(&self, stage: Stage) {
        self.with_bar(stage, ProgressBar::finish);
    }
}

/// `weinong bench psi`.
#[derive(Args)]
pub struct BenchPsiArgs {
    /// Rows in each party's set.
    #[arg(long, default_value_t = 1 << 20)]
    n: u64,
    /// Percentage of each set that is in the other.
    #[arg(long, default_value_t = 50)]
    overlap_percent: u64,
    /// Weinong's protocol to measure.
    #[arg(long, value_enum, default_value = "kkrt")]
    protocol: ProtocolArg,
    /// Also run over a simulated link of this many Mbit/s each way (0: skip).
    #[arg(long, default_value_t = 100.0)]
    link_mbit: f64,
    /// Python of the SecretFlow virtual environment (scripts/spu-venv.sh creates it).
    #[arg(long, default_value = ".venv-spu/bin/python")]
    peer_python: PathBuf,
    /// The SecretFlow PSI driver.
    #[arg(long, default_value = "scripts/psi_secretflow_bench.py")]
    peer_script: PathBuf,
    /// Do not run the SecretFlow peer.
    #[arg(long)]
    no_peer: bool,
}

/// Linux's user-space clock tick (`getconf CLK_TCK`), the unit of /proc CPU times.
const CLOCK_TICKS_PER_SECOND: f64 = 100.0;

/// One measured run of two `weinong psi run` processes.
struct Measured {
    wall: f64,
    cpu: f64,
    found: u64,
    receiver: Traffic,
    sender: Traffic,
}

/// Runs `weinong bench psi`: two `weinong psi run` processes over loopback (and over a
/// shaped link), then SecretFlow's ECDH-PSI and RR22 on the same files.
pub fn bench_psi(args: BenchPsiArgs) -> Result<Outcome> {
    if args.n == 0 || args.n > limits::INPUT_ROWS_MAX / 2 || args.overlap_percent > 100 {
        bail!(
            "--n must be 1..={} and --overlap-percent 0..=100",
            limits::INPUT_ROWS_MAX / 2
        );
    }
    if !(args.link_mbit.is_finite() && args.link_mbit >= 0.0) {
        bail!("--link-mbit must be 0 (skip) or a positive number of Mbit/s");
    }
    let protocol = protocol_of(Some(args.protocol), Mode::Intersection)?;
    let dir = tempfile::tempdir().context("cannot create a temporary directory")?;
    let (a, b) = (dir.path().join("a.csv"), dir.path().join("b.csv"));
    let overlap = args.n * args.overlap_percent / 100;
    eprintln!(
        "generating 2 × {} synthetic resident IDs ({overlap} shared) in {}",
        args.n,
        dir.path().display()
    );
    write_ids(&a, 0, args.n)?;
    write_ids(&b, args.n - overlap, 2 * args.n - overlap)?;

    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let loopback = measure(dir.path(), &a, &b, protocol, None)?;
    let mib = |bytes: u64| bytes as f64 / (1024.0 * 1024.0);
    println!(
        "Weinong {}-PSI, {} × {} rows, two processes over loopback:",
        protocol.name().to_uppercase(),
        args.n,
        args.n
    );
    println!(
        "  wall time           {:.2} s  (intersection {}, expected {overlap})",
        loopback.wall, loopback.found
    );
    println!(
        "  CPU time (both)     {:.2} s on {cores} cores",
        loopback.cpu
    );
    println!(
        "  receiver sent       {:.1} MiB, received {:.1} MiB",
        mib(loopback.receiver.sent),
        mib(loopback.receiver.received)
    );
    println!(
        "  sender sent         {:.1} MiB, received {:.1} MiB",
        mib(loopback.sender.sent),
        mib(loopback.sender.received)
    );
    let shaped = if args.link_mbit > 0.0 {
        let m = measure(dir.path(), &a, &b, protocol, Some(args.link_mbit))?;
        println!(
            "  over {} Mbit/s each way (token bucket): {:.2} s wall (intersection {})",
            args.link_mbit, m.wall, m.found
        );
        Some(m)
    } else {
        None
    };
    let mut peers = Vec::new();
    for peer_protocol in ["ECDH", "RR22"] {
        let Some((seconds, intersection)) = run_peer(&args, &a, &b, peer_protocol)? else {
            continue;
        };
        println!(
            "SecretFlow {peer_protocol}-PSI (spu) on the same files: {seconds:.2} s (intersection {intersection})"
        );
        println!(
            "  ratio SecretFlow {peer_protocol} / Weinong {} = {:.2} ({} is faster)",
            protocol.name(),
            seconds / loopback.wall,
            if loopback.wall <= seconds {
                "Weinong"
            } else {
                "SecretFlow"
            }
        );
        peers.push((peer_protocol, seconds, intersection));
    }
    if peers.is_empty() && !args.no_peer {
        println!(
            "peer not installed: run scripts/spu-venv.sh (creates .venv-spu with spu 0.9.5), then rerun"
        );
    }
    let peer_json = |name: &str| {
        peers
            .iter()
            .find(|(p, _, _)| *p == name)
            .map_or("null".to_owned(), |(_, s, _)| format!("{s:.3}"))
    };
    println!(
        "{{\"bench\":\"psi\",\"protocol\":\"{}\",\"n\":{},\"seconds\":{:.3},\"cpu_seconds\":{:.3},\"intersection\":{},\"receiver_sent\":{},\"sender_sent\":{},\"link_mbit\":{},\"link_seconds\":{},\"secretflow_ecdh_seconds\":{},\"secretflow_rr22_seconds\":{}}}",
        protocol.name(),
        args.n,
        loopback.wall,
        loopback.cpu,
        loopback.found,
        loopback.receiver.sent,
        loopback.sender.sent,
        args.link_mbit,
        shaped
            .as_ref()
            .map_or("null".to_owned(), |m| format!("{:.3}", m.wall)),
        peer_json("ECDH"),
        peer_json("RR22"),
    );
    let wrong = loopback.found != overlap
        || shaped.is_some_and(|m| m.found != overlap)
        || peers.iter().any(|(_, _, i)| *i != overlap);
    if wrong {
        println!("CHECK FAILED: intersection sizes disagree with the generated overlap");
        return Ok(Outcome::CheckFailed);
    }
    Ok(Outcome::Ok)
}

/// Runs both parties of `protocol` as processes over loopback (optionally shaped) and
/// measures them.
fn measure(
    dir: &Path,
    a: &Path,
    b: &Path,
    protocol: Protocol,
    link_mbit: Option<f64>,
) -> Result<Measured> {
    let cpu_before = children_cpu_seconds()?;
    let started = Instant::now();
    let out = dir.join("intersection.csv");
    let port = free_port()?;
    let exe = std::env::current_exe().context("cannot find the weinong executable")?;
    let mut common = vec!["--protocol".to_owned(), protocol.name().to_owned()];
    if let Some(mbit) = link_mbit {
        common.extend(["--link-mbit".to_owned(), mbit.to_string()]);
    }
    let listen = format!("127.0.0.1:{port}");
    let mut receiver_args = vec!["--listen", &listen, "--peer", "127.0.0.1"];
    receiver_args.extend(common.iter().map(String::as_str));
    let mut receiver = spawn_party(&exe, "receiver", a, &out, &receiver_args, false)?;
    let mut sender_args = vec!["--peer", &listen];
    sender_args.extend(common.iter().map(String::as_str));
    let mut sender = spawn_party(
        &exe,
        "sender",
        b,
        &dir.join("sender.csv"),
        &sender_args,
        true,
    )?;
    let receiver_out = wait_party(&mut receiver, "receiver")?;
    let sender_out = wait_party(&mut sender, "sender")?;
    let wall = started.elapsed().as_secs_f64();
    let cpu = children_cpu_seconds()? - cpu_before;
    let (Some(receiver_out), Some(sender_out)) = (receiver_out, sender_out) else {
        bail!("a PSI party failed (its error is above)");
    };
    Ok(Measured {
        wall,
        cpu,
        found: count_data_rows(&out)?,
        receiver: parse_traffic(&receiver_out)?,
        sender: parse_traffic(&sender_out)?,
    })
}

/// The `traffic:` line a party prints.
fn parse_traffic(stdout: &str) -> Result<Traffic> {
    let line = stdout
        .lines()
        .find(|l| l.starts_with("traffic:"))
        .context("a PSI party printed no traffic line")?;
    let field = |name: &str| -> Result<u64> {
        line.split_whitespace()
            .find_map(|w| w.strip_prefix(name))
            .and_then(|v| v.parse().ok())
            .with_context(|| format!("the traffic line has no {name}: {line}"))
    };
    Ok(Traffic {
        sent: field("sent=")?,
        received: field("received=")?,
    })
}

/// Resident IDs `start..end` of a deterministic synthetic series: Shanghai area code,
/// distinct birth date and sequence per index, valid check character.
fn write_ids(path: &Path, start: u64, end: u64) -> Result<()> {
    let mut out = BufWriter::new(
        File::create(path).with_context(|| format!("cannot create {}", path.display()))?,
    );
    writeln!(out, "id")?;
    for i in start..end {
        let (seq, day) = (i % 1000, i / 1000);
        let (year, month, dom) = (1920 + day / 336 % 80, day % 336 / 28 + 1, day % 28 + 1);
        let area = 310_101 + i / (1000 * 336 * 80);
        let first17 = format!("{area:06}{year:04}{month:02}{dom:02}{seq:03}");
        let mut id = [0u8; 18];
        id[..17].copy_from_slice(first17.as_bytes());
        id[17] = weinong_keys::check_char(&id);
        out.write_all(&id)?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(())
}

fn free_port() -> Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("cannot bind a loopback port")?;
    Ok(listener.local_addr()?.port())
}

fn spawn_party(
    exe: &Path,
    role: &str,
    input: &Path,
    out: &Path,
    net: &[&str],
    quiet: bool,
) -> Result<Child> {
    let mut cmd = Command::new(exe);
    cmd.args(["psi", "run", "--role", role, "--column", "id", "--input"])
        .arg(input)
        .arg("--out")
        .arg(out)
        .args(net);
    if quiet {
        cmd.arg("--quiet").stderr(Stdio::piped());
    }
    cmd.stdout(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot start the {role}"))
}

/// Waits for a party; its standard output if it succeeded, `None` (its error printed) if
/// not.
fn wait_party(child: &mut Child, role: &str) -> Result<Option<String>> {
    // Read stdout before waiting, so a chatty child cannot block on a full pipe.
    let mut stdout = String::new();
    if let Some(mut out) = child.stdout.take() {
        std::io::Read::read_to_string(&mut out, &mut stdout)
            .with_context(|| format!("reading the {role}'s output"))?;
    }
    let status = child
        .wait()
        .with_context(|| format!("waiting for the {role}"))?;
    if !status.success() {
        if let Some(mut err) = child.stderr.take() {
            let mut text = String::new();
            // Best effort: the exit status is the failure; the text only explains it.
            let _ = std::io::Read::read_to_string(&mut err, &mut text);
            eprintln!("{role}: {}", text.trim());
        }
        return Ok(None);
    }
    Ok(Some(stdout))
}

/// CPU seconds (user + system) of this process's waited-for children, from /proc.
fn children_cpu_seconds() -> Result<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").context("cannot read /proc/self/stat")?;
    // Fields after the command name "(…)": state is field 3; cutime and cstime are 16, 17.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or_default();
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    Ok((ticks(13) + ticks(14)) / CLOCK_TICKS_PER_SECOND)
}

fn count_data_rows(path: &Path) -> Result<u64> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(u64::try_from(text.lines().count().saturating_sub(1)).unwrap_or(0))
}

/// Runs SecretFlow's PSI (`ECDH` or `RR22`) on the same files; `None` if it is not
/// installed.
fn run_peer(args: &BenchPsiArgs, a: &Path, b: &Path, protocol: &str) -> Result<Option<(f64, u64)>> {
    if args.no_peer || !args.peer_python.exists() || !args.peer_script.exists() {
        return Ok(None);
    }
    eprintln!("running SecretFlow {protocol}-PSI on the same files …");
    let output = Command::new(&args.peer_python)
        .arg(&args.peer_script)
        .arg("--a")
        .arg(a)
        .arg("--b")
        .arg(b)
        .args(["--column", "id", "--protocol", protocol])
        .stderr(Stdio::null())
        .output()
        .context("cannot start the SecretFlow driver")?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.trim_start().starts_with('{'))
        .unwrap_or_default();
    /// The driver's result line.
    #[derive(serde::Deserialize)]
    struct Driven {
        seconds: f64,
        intersection: u64,
    }
    let result: Driven = serde_json::from_str(line).with_context(|| {
        format!(
            "the SecretFlow driver printed no result with \"seconds\" and \"intersection\" (exit {:?})",
            output.status.code()
        )
    })?;
    Ok(Some((result.seconds, result.intersection)))
}
