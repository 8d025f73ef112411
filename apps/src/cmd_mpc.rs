//! `weinong mpc selftest` and `weinong bench mpc`: the three-party RSS engine run
//! in-process (three threads) over the in-process and the loopback-TCP transport.
//!
//! The self-test checks every operation against plain wrapping arithmetic on a small
//! batch with edge values. The benchmark runs the three workloads (10^6
//! multiplications, 10^6 comparisons with a public threshold, a 20-feature weighted sum
//! plus threshold over 10^5 rows) and prints time, throughput, rounds and bytes per party
//! per operation beside the protocol's analytical cost; with `--with-peer` it also runs
//! SecretFlow SPU (scripts/spu_bench.py in .venv-spu) and prints our speed-up.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand, ValueEnum};
use weinong_mpc::fixed::{decode, encode};
use weinong_mpc::{
    ArithShares, FRAC_BITS, MpcError, Party, PartyId, RangeTable, RevealTo, RunOptions, Stats,
    TransportKind, run_three_with,
};

use crate::Outcome;

/// `weinong mpc …`.
#[derive(Subcommand)]
pub enum MpcCmd {
    /// Run every MPC operation on three in-process parties and check it against plain
    /// arithmetic.
    Selftest(SelftestArgs),
}

/// Which transports to use.
#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum TransportChoice {
    /// In-process channels only.
    InProcess,
    /// Loopback TCP (HMAC-SM3 frames) only.
    Tcp,
    /// Both, one after the other.
    Both,
}

impl TransportChoice {
    fn kinds(self) -> Vec<TransportKind> {
        match self {
            TransportChoice::InProcess => vec![TransportKind::InProcess],
            TransportChoice::Tcp => vec![TransportKind::LoopbackTcp],
            TransportChoice::Both => vec![TransportKind::InProcess, TransportKind::LoopbackTcp],
        }
    }
}

fn kind_name(kind: TransportKind) -> &'static str {
    match kind {
        TransportKind::InProcess => "in-process",
        TransportKind::LoopbackTcp => "loopback-tcp",
    }
}

/// Arguments of `weinong mpc selftest`.
#[derive(Args)]
pub struct SelftestArgs {
    /// Transports to test.
    #[arg(long, value_enum, default_value_t = TransportChoice::Both)]
    transport: TransportChoice,
    /// Elements per operation (edge values first, then pseudo-random ones).
    #[arg(long, default_value_t = 257)]
    n: usize,
}

/// Arguments of `weinong bench mpc`.
#[derive(Args)]
pub struct BenchMpcArgs {
    /// Transports to measure.
    #[arg(long, value_enum, default_value_t = TransportChoice::Both)]
    transport: TransportChoice,
    /// Multiplications.
    #[arg(long, default_value_t = 1_000_000)]
    mul_n: usize,
    /// Comparisons with a public threshold.
    #[arg(long, default_value_t = 1_000_000)]
    cmp_n: usize,
    /// Rows of the weighted-sum workload.
    #[arg(long, default_value_t = 100_000)]
    rows: usize,
    /// Features (columns) of the weighted-sum workload.
    #[arg(long, default_value_t = 20)]
    features: usize,
    /// Runs per workload; the best is reported.
    #[arg(long, default_value_t = 3)]
    repeat: usize,
    /// Also run SecretFlow SPU on the same workloads (needs .venv-spu: scripts/spu-venv.sh).
    #[arg(long)]
    with_peer: bool,
}

/// Dispatches `weinong mpc`.
pub fn mpc(cmd: MpcCmd) -> Result<Outcome> {
    match cmd {
        MpcCmd::Selftest(args) => selftest(args),
    }
}

/// A deterministic pseudo-random sequence for test data (SplitMix64; not for secrets).
struct TestData(u64);

impl TestData {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A signed value in [-2^bits, 2^bits).
    fn signed(&mut self, bits: u32) -> u64 {
        let span = 1u64 << (bits + 1);
        (self.next() % span).wrapping_sub(1u64 << bits)
    }
}

fn input_pair(p: &mut Party, x: &[u64], y: &[u64]) -> Result<(ArithShares, ArithShares), MpcError> {
    let xs = p.input(PartyId::P0, (p.id() == PartyId::P0).then_some(x), x.len())?;
    let ys = p.input(PartyId::P1, (p.id() == PartyId::P1).then_some(y), y.len())?;
    Ok((xs, ys))
}

/// One self-test case: a name, the MPC computation and the plain reference.
type Case = (
    &'static str,
    fn(&mut Party, &ArithShares, &ArithShares) -> Result<ArithShares, MpcError>,
    fn(i64, i64) -> i64,
);

fn bit(p: &mut Party, b: &weinong_mpc::BitShares) -> Result<ArithShares, MpcError> {
    p.bit_to_arith(b)
}

const CASES: &[Case] = &[
    ("add", |_, x, y| x.add(y), |a, b| a.wrapping_add(b)),
    ("sub", |_, x, y| x.sub(y), |a, b| a.wrapping_sub(b)),
    ("neg", |_, x, _| Ok(x.neg()), |a, _| a.wrapping_neg()),
    (
        "add_const",
        |p, x, _| Ok(p.add_const(x, 12345)),
        |a, _| a.wrapping_add(12345),
    ),
    (
        "mul_const",
        |_, x, _| Ok(x.mul_const(77)),
        |a, _| a.wrapping_mul(77),
    ),
    ("mul", |p, x, y| p.mul(x, y), |a, b| a.wrapping_mul(b)),
    (
        "dot (3 terms)",
        |p, x, y| p.dot(&[x, y, x], &[y, y, x]),
        |a, b| {
            a.wrapping_mul(b)
                .wrapping_add(b.wrapping_mul(b))
                .wrapping_add(a.wrapping_mul(a))
        },
    ),
    ("trunc 8 (±1)", |p, x, _| p.trunc(x, 8), |a, _| a >> 8),
    (
        "mul_fixed (±1)",
        |p, x, y| p.mul_fixed(x, y, FRAC_BITS),
        |a, b| a.wrapping_mul(b) >> FRAC_BITS,
    ),
    (
        "msb",
        |p, x, _| {
            let b = p.msb(x)?;
            bit(p, &b)
        },
        |a, _| i64::from(a < 0),
    ),
    (
        "lt",
        |p, x, y| {
            let b = p.lt(x, y)?;
            bit(p, &b)
        },
        |a, b| i64::from(a < b),
    ),
    (
        "ge",
        |p, x, y| {
            let b = p.ge(x, y)?;
            bit(p, &b)
        },
        |a, b| i64::from(a >= b),
    ),
    (
        "lt_const 1000",
        |p, x, _| {
            let b = p.lt_const(x, 1000)?;
            bit(p, &b)
        },
        |a, _| i64::from(a < 1000),
    ),
    (
        "gt_const -7",
        |p, x, _| {
            let b = p.gt_const(x, (-7i64) as u64)?;
            bit(p, &b)
        },
        |a, _| i64::from(a > -7),
    ),
    (
        "eq",
        |p, x, y| {
            let b = p.eq(x, y)?;
            bit(p, &b)
        },
        |a, b| i64::from(a == b),
    ),
    (
        "and/or/not/xor",
        |p, x, y| {
            let l = p.lt(x, y)?;
            let e = p.eq(x, y)?;
            let both = p.and(&l, &e)?;
            let either = p.or(&l, &e)?;
            let mixed = both.xor(&p.not(&either))?;
            bit(p, &mixed)
        },
        |a, b| i64::from(((a < b) & (a == b)) ^ !((a < b) | (a == b))),
    ),
    (
        "select",
        |p, x, y| {
            let c = p.lt(x, y)?;
            p.select(&c, x, y)
        },
        |a, b| if a < b { a } else { b },
    ),
    (
        "a2b then b2a",
        |p, x, _| {
            let b = p.a2b(x)?;
            p.b2a(&b)
        },
        |a, _| a,
    ),
    (
        "range_lookup",
        |p, x, _| {
            let table = RangeTable::new(vec![-100, 0, 1000], vec![1, 2, 3, 4])?;
            p.range_lookup(x, &table)
        },
        |a, _| match a {
            a if a < -100 => 1,
            a if a < 0 => 2,
            a if a < 1000 => 3,
            _ => 4,
        },
    ),
    (
        "max_elementwise",
        |p, x, y| p.max_elementwise(x, y),
        |a, b| a.max(b),
    ),
];

fn selftest(args: SelftestArgs) -> Result<Outcome> {
    if args.n == 0 {
        bail!("--n must be at least 1");
    }
    let mut data = TestData(0x5EED);
    let edges: [i64; 8] = [0, 1, -1, 1 << 30, -(1 << 30), 999, 1000, 1001];
    // Small magnitudes keep every case inside its documented domain: signed comparisons
    // need |x - y| < 2^63, and probabilistic truncation of a product p fails with
    // probability about |p|/2^63 (here below 2^-17 per element).
    let x: Vec<u64> = (0..args.n)
        .map(|k| edges.get(k).map_or_else(|| data.signed(24), |&e| e as u64))
        .collect();
    let mut y: Vec<u64> = (0..args.n).map(|_| data.signed(16)).collect();
    for k in (0..args.n).step_by(3) {
        y[k] = x[k]; // exercise equality
    }
    let mut failed = 0usize;
    for kind in args.transport.kinds() {
        let options = RunOptions {
            transport: kind,
            ..RunOptions::default()
        };
        let results = run_three_with(&options, |p| {
            let (xs, ys) = input_pair(p, &x, &y)?;
            let mut opened = Vec::with_capacity(CASES.len() + 2);
            for (_, run, _) in CASES {
                let z = run(p, &xs, &ys)?;
                opened.push(p.reveal(&z, RevealTo::All)?);
            }
            let total = p.reveal(&xs.sum(), RevealTo::Party(PartyId::P2))?;
            let max = p.max(&xs)?;
            let max = p.reveal(&max, RevealTo::Party(PartyId::P2))?;
            Ok((opened, total, max))
        })
        .with_context(|| format!("setting up the {} session", kind_name(kind)))?;
        let [r0, r1, r2] = results;
        r0.context("party P0")?;
        r1.context("party P1")?;
        let (opened, total, max) = r2.context("party P2")?;
        println!(
            "mpc selftest over {} ({} elements):",
            kind_name(kind),
            args.n
        );
        for ((name, _, reference), got) in CASES.iter().zip(&opened) {
            let got = got.as_deref().unwrap_or_default();
            let tolerance = if name.ends_with("(±1)") { 1 } else { 0 };
            let bad = x
                .iter()
                .zip(&y)
                .zip(got)
                .filter(|((a, b), g)| {
                    let want = reference(**a as i64, **b as i64);
                    let diff = (**g as i64).wrapping_sub(want);
                    !(0..=tolerance).contains(&diff)
                })
                .count();
            let ok = got.len() == x.len() && bad == 0;
            failed += usize::from(!ok);
            println!(
                "  {:<18} {}",
                name,
                if ok {
                    "ok".to_string()
                } else {
                    format!("FAILED ({bad} wrong)")
                }
            );
        }
        let want_sum = x.iter().fold(0u64, |s, v| s.wrapping_add(*v));
        let want_max = x.iter().map(|v| *v as i64).max().unwrap_or(0) as u64;
        for (name, got, want) in [("sum", total, want_sum), ("max", max, want_max)] {
            let ok = got.as_deref() == Some(&[want][..]);
            failed += usize::from(!ok);
            println!("  {:<18} {}", name, if ok { "ok" } else { "FAILED" });
        }
    }
    Ok(if failed == 0 {
        Outcome::Ok
    } else {
        Outcome::CheckFailed
    })
}

/// One measured run: the wall time from the first party starting to the last finishing,
/// and the three parties' counters over the timed section.
struct Measured {
    seconds: f64,
    rounds: u64,
    bytes_per_party: f64,
}

/// `work` borrows the prepared inputs and returns its outputs, so that freeing (and
/// wiping) inputs and outputs happens after the clock stops, as in SPU's `rt.run`.
fn measure<T: Send, U>(
    kind: TransportKind,
    setup: impl Fn(&mut Party) -> Result<T, MpcError> + Sync,
    work: impl Fn(&mut Party, &T) -> Result<U, MpcError> + Sync,
) -> Result<Measured> {
    let options = RunOptions {
        transport: kind,
        ..RunOptions::default()
    };
    let results = run_three_with(&options, |p| {
        let prepared = setup(p)?;
        // A one-word round lines the parties up before the clock starts.
        let one = p.public(&[1]);
        p.reveal(&one, RevealTo::All)?;
        let before: Stats = p.stats();
        let start = Instant::now();
        let output = work(p, &prepared)?;
        let end = Instant::now();
        drop(std::hint::black_box(output));
        let after = p.stats();
        Ok((
            start,
            end,
            after.rounds - before.rounds,
            after.bytes_sent - before.bytes_sent,
        ))
    })?;
    let mut runs = Vec::with_capacity(3);
    for r in results {
        runs.push(r?);
    }
    let start = runs.iter().map(|r| r.0).min().context("three parties")?;
    let end = runs.iter().map(|r| r.1).max().context("three parties")?;
    let bytes: u64 = runs.iter().map(|r| r.3).sum();
    Ok(Measured {
        seconds: (end - start).as_secs_f64(),
        rounds: runs[0].2,
        bytes_per_party: bytes as f64 / 3.0,
    })
}

fn best(repeat: usize, mut f: impl FnMut() -> Result<Measured>) -> Result<Measured> {
    let mut best: Option<Measured> = None;
    for _ in 0..repeat.max(1) {
        let m = f()?;
        if best.as_ref().is_none_or(|b| m.seconds < b.seconds) {
            best = Some(m);
        }
    }
    best.context("at least one run")
}

/// Analytical per-party cost of our protocols: (rounds, bytes per element per party).
/// MSB: 63 + 118 AND gates (1 bit each) plus P1's 64-bit input (one party of three).
const CMP_BYTES: f64 = (63.0 + 118.0) / 8.0 + 8.0 / 3.0;
const MUL_BYTES: f64 = 8.0;
const TRUNC_BYTES: f64 = 8.0 / 3.0;

struct Row {
    workload: &'static str,
    n: usize,
    measured: Measured,
    min_rounds: u64,
    min_bytes: f64,
    peer_key: &'static str,
}

/// Runs the benchmark workloads on one transport.
fn bench_transport(kind: TransportKind, args: &BenchMpcArgs) -> Result<Vec<Row>> {
    let mut data = TestData(0xBE7C);
    let mul_x: Vec<u64> = (0..args.mul_n).map(|_| data.signed(20)).collect();
    let mul_y: Vec<u64> = (0..args.mul_n).map(|_| data.signed(20)).collect();
    let cmp_x: Vec<u64> = (0..args.cmp_n).map(|_| data.signed(20)).collect();
    let frac = FRAC_BITS;
    let mut columns: Vec<Vec<u64>> = Vec::with_capacity(args.features);
    for _ in 0..args.features {
        let col: Result<Vec<u64>, MpcError> = (0..args.rows)
            .map(|_| encode((data.next() % 1_000_000) as f64 / 1_000_000.0, frac))
            .collect();
        columns.push(col?);
    }
    let weights: Result<Vec<u64>, MpcError> = (0..args.features)
        .map(|_| {
            let w = ((data.next() % 2_000_001) as f64 / 1_000_000.0 - 1.0) / args.features as f64;
            encode(w, frac)
        })
        .collect();
    let weights = weights?;
    let flat: Vec<u64> = columns.concat();

    let mut rows = Vec::new();
    let (mx, my) = (&mul_x, &mul_y);
    let m = best(args.repeat, || {
        measure(kind, |p| input_pair(p, mx, my), |p, (x, y)| p.mul(x, y))
    })?;
    rows.push(Row {
        workload: "mul (Z_2^64)",
        n: args.mul_n,
        measured: m,
        min_rounds: 1,
        min_bytes: MUL_BYTES,
        peer_key: "mul",
    });
    let m = best(args.repeat, || {
        measure(
            kind,
            |p| input_pair(p, mx, my),
            |p, (x, y)| p.mul_fixed(x, y, frac),
        )
    })?;
    rows.push(Row {
        workload: "mul fixed-point",
        n: args.mul_n,
        measured: m,
        min_rounds: 2,
        min_bytes: MUL_BYTES + TRUNC_BYTES,
        peer_key: "mul_fxp",
    });
    let cx = &cmp_x;
    let m = best(args.repeat, || {
        measure(
            kind,
            |p| {
                p.input(
                    PartyId::P0,
                    (p.id() == PartyId::P0).then_some(&cx[..]),
                    cx.len(),
                )
            },
            |p, x| p.lt_const(x, 1000),
        )
    })?;
    rows.push(Row {
        workload: "x < 1000 (public)",
        n: args.cmp_n,
        measured: m,
        min_rounds: 8,
        min_bytes: CMP_BYTES,
        peer_key: "cmp",
    });
    let (flat_ref, w_ref, features, n_rows) = (&flat, &weights, args.features, args.rows);
    let m = best(args.repeat, || {
        measure(
            kind,
            |p| {
                let x = p.input(
                    PartyId::P0,
                    (p.id() == PartyId::P0).then_some(&flat_ref[..]),
                    flat_ref.len(),
                )?;
                let w = p.input(
                    PartyId::P1,
                    (p.id() == PartyId::P1).then_some(&w_ref[..]),
                    features,
                )?;
                let cols: Result<Vec<ArithShares>, MpcError> = (0..features)
                    .map(|j| x.slice(j * n_rows..(j + 1) * n_rows))
                    .collect();
                Ok((cols?, w))
            },
            |p, (cols, w)| {
                let refs: Vec<&ArithShares> = cols.iter().collect();
                let score = p.weighted_sum_fixed(&refs, w, frac)?;
                p.gt_const(&score, 0)
            },
        )
    })?;
    rows.push(Row {
        workload: "20-feature wsum > t",
        n: args.rows,
        measured: m,
        min_rounds: 10,
        min_bytes: MUL_BYTES + TRUNC_BYTES + CMP_BYTES,
        peer_key: "wsum",
    });
    // One correctness check of the weighted-sum workload against f64 arithmetic.
    check_wsum(kind, &columns, &weights, frac)?;
    Ok(rows)
}

fn check_wsum(kind: TransportKind, columns: &[Vec<u64>], weights: &[u64], frac: u32) -> Result<()> {
    let rows = columns.first().map_or(0, Vec::len).min(2000);
    let cols: Vec<Vec<u64>> = columns.iter().map(|c| c[..rows].to_vec()).collect();
    let flat = cols.concat();
    let features = cols.len();
    let options = RunOptions {
        transport: kind,
        ..RunOptions::default()
    };
    let results = run_three_with(&options, |p| {
        let x = p.input(
            PartyId::P0,
            (p.id() == PartyId::P0).then_some(&flat[..]),
            flat.len(),
        )?;
        let w = p.input(
            PartyId::P1,
            (p.id() == PartyId::P1).then_some(weights),
            features,
        )?;
        let c: Result<Vec<ArithShares>, MpcError> = (0..features)
            .map(|j| x.slice(j * rows..(j + 1) * rows))
            .collect();
        let c = c?;
        let refs: Vec<&ArithShares> = c.iter().collect();
        let score = p.weighted_sum_fixed(&refs, &w, frac)?;
        let flag = p.gt_const(&score, 0)?;
        Ok((
            p.reveal(&score, RevealTo::All)?,
            p.reveal_bits(&flag, RevealTo::All)?,
        ))
    })?;
    let [_, _, r2] = results;
    let (score, flag) = r2?;
    let (score, flag) = (score.context("revealed")?, flag.context("revealed")?);
    for r in 0..rows {
        let want: f64 = (0..features)
            .map(|j| decode(cols[j][r], frac) * decode(weights[j], frac))
            .sum();
        let got = decode(score[r], frac);
        if (got - want).abs() > 1e-3 || (flag[r] != (score[r] as i64 > 0)) {
            bail!("weighted-sum check failed at row {r}: {got} vs {want}");
        }
    }
    Ok(())
}

/// SPU's best time per workload, from scripts/spu_bench.py in .venv-spu.
fn run_peer(args: &BenchMpcArgs) -> Result<Option<Vec<(String, f64)>>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let python = root.join(".venv-spu/bin/python");
    let script = root.join("scripts/spu_bench.py");
    if !python.exists() {
        println!(
            "peer: skipped, {} is missing; install SPU with scripts/spu-venv.sh (or run scripts/spu_bench.sh)",
            python.display()
        );
        return Ok(None);
    }
    println!(
        "peer: running SecretFlow SPU (ABY3, FM64, simulator) via {} ...",
        script.display()
    );
    let out = Command::new(&python)
        .arg(&script)
        .args([
            "--mul-n",
            &args.mul_n.to_string(),
            "--cmp-n",
            &args.cmp_n.to_string(),
        ])
        .args([
            "--rows",
            &args.rows.to_string(),
            "--features",
            &args.features.to_string(),
        ])
        .args(["--repeat", &args.repeat.to_string()])
        .output()
        .context("running scripts/spu_bench.py")?;
    let stdout = crate::cmd_bench::peer_stdout(&out, "spu_bench.py")?;
    /// One timing line of spu_bench.py (other lines are its log).
    #[derive(serde::Deserialize)]
    struct Timing {
        workload: String,
        seconds: f64,
    }
    let times = stdout
        .lines()
        .filter_map(|line| serde_json::from_str::<Timing>(line).ok())
        .map(|t| (t.workload, t.seconds))
        .collect();
    Ok(Some(times))
}

/// `weinong bench mpc`.
pub fn bench_mpc(args: BenchMpcArgs) -> Result<Outcome> {
    if args.mul_n == 0 || args.cmp_n == 0 || args.rows == 0 || args.features == 0 {
        bail!("sizes must be at least 1");
    }
    let peer = if args.with_peer {
        run_peer(&args)?
    } else {
        None
    };
    if !args.with_peer {
        println!("peer: not run (add --with-peer to run SecretFlow SPU from .venv-spu)");
    }
    println!(
        "{:<13} {:<20} {:>9} {:>9} {:>11} {:>7} {:>14} {:>9} {:>8}",
        "transport",
        "workload",
        "n",
        "seconds",
        "ops/s",
        "rounds",
        "B/op/party",
        "SPU s",
        "speedup"
    );
    println!(
        "{:<13} {:<20} {:>9} {:>9} {:>11} {:>7} {:>14}",
        "", "", "", "", "", "(min)", "(protocol)"
    );
    for kind in args.transport.kinds() {
        for row in bench_transport(kind, &args)? {
            let m = &row.measured;
            let peer_s = peer
                .as_ref()
                .and_then(|p| p.iter().find(|(w, _)| w == row.peer_key).map(|(_, s)| *s));
            println!(
                "{:<13} {:<20} {:>9} {:>9.4} {:>11} {:>7} {:>14} {:>9} {:>8}",
                kind_name(kind),
                row.workload,
                row.n,
                m.seconds,
                si(row.n as f64 / m.seconds),
                format!("{} ({})", m.rounds, row.min_rounds),
                format!(
                    "{:.2} ({:.2})",
                    m.bytes_per_party / row.n as f64,
                    row.min_bytes
                ),
                peer_s.map_or("-".to_string(), |s| format!("{s:.3}")),
                peer_s.map_or("-".to_string(), |s| format!("{:.1}x", s / m.seconds)),
            );
        }
    }
    println!(
        "rounds: measured (protocol minimum per chunk; comparisons run in chunks of {} elements); \
         B/op/party: payload bytes each party sends per element, measured (analytical); \
         SPU per the issue: 36 MB and 8 rounds per party for 10^6 comparisons",
        weinong_mpc::limits::CHUNK_LEN
    );
    Ok(Outcome::Ok)
}

fn si(rate: f64) -> String {
    if rate >= 1e6 {
        format!("{:.2} M", rate / 1e6)
    } else if rate >= 1e3 {
        format!("{:.1} k", rate / 1e3)
    } else {
        format!("{rate:.1}")
    }
}
