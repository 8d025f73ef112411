//! Ledger store figures: appends per second (blocks of 1,000 leaves), proof generation and
//! verification at 10^6 and 10^7 leaves, and fsck time per million transactions beside the
//! bound SM2 verification sets on this machine's cores.
//!
//! Run: `cargo bench -p weinong-ledger --bench ledger_store` (the 10^7-leaf store takes a
//! few minutes and ~3 GB in the temp dir; `LEDGER_BENCH_MAX_LEAVES=1000000` skips it).
//! `LEDGER_BENCH_APPEND_BLOCKS=N` appends N blocks (default 50) for the append figure;
//! `LEDGER_BENCH_FSCK=0` skips fsck (for profiling appends alone); `LEDGER_BENCH_MAX_LEAVES=0`
//! skips the proof stores.
//!
//! Every store holds distinct transactions (each signed once, on all cores, block by
//! block; the signing time is reported apart from the store's), so each is a valid ledger
//! that fsck would pass; the sampled proofs also check the transaction index.

use std::hint::black_box;
use std::time::{Duration, Instant};

use rayon::prelude::*;
use weinong_keys::KeyPair;
use weinong_ledger::merkle::{self, Sm3};
use weinong_ledger::store::LedgerStore;
use weinong_ledger::{
    BlockHeader, CommitCertificate, Hash32, MemberSet, Transaction, TxBody, TxKind,
};

const BLOCK_LEAVES: usize = 1_000;
/// RustCrypto SM2 verification on this machine, as DESIGN.md measured it.
const SM2_VERIFY_US_REFERENCE: f64 = 176.0;

struct Setup {
    members: Vec<KeyPair>,
    set: MemberSet,
    signer: KeyPair,
}

fn setup() -> Setup {
    let members: Vec<KeyPair> = (0..3).map(|_| KeyPair::generate()).collect();
    let set = MemberSet::new(members.iter().map(|k| k.public_key().clone()).collect(), 2)
        .expect("2 of 3");
    Setup {
        members,
        set,
        signer: KeyPair::generate(),
    }
}

fn sign_txs(s: &Setup, first_nonce: u64, n: usize) -> Vec<Transaction> {
    (0..n as u64)
        .into_par_iter()
        .map(|i| {
            let nonce = first_nonce + i;
            let body = TxBody {
                kind: TxKind(0xF000),
                signer: s.signer.key_id(),
                nonce,
                time_ms: nonce,
                payload: nonce.to_be_bytes().repeat(4),
            };
            Transaction::sign(body, &s.signer).expect("small payload")
        })
        .collect()
}

/// CPU time of this process so far (all threads, user + system), from /proc/self/stat;
/// `None` where there is no such file. Ticks are 10 ms, so figures are averaged over many
/// blocks. Unlike wall time it barely moves with other work on the machine (and does not
/// count waiting for the disk).
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which ends with the last ')'): utime is the 12th.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split(' ').collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

thread_local! {
    static STORE_CPU: std::cell::Cell<f64> = const { std::cell::Cell::new(0.0) };
}

/// Appends one block; returns the time spent in the store (prepare + append, the
/// certificate check included), not the members' signing of their votes.
fn append(s: &Setup, store: &mut LedgerStore, txs: &[Transaction]) -> Duration {
    let cpu_started = cpu_seconds().unwrap_or(0.0);
    let started = Instant::now();
    let prepared = store.prepare(txs.to_vec());
    let mut in_store = started.elapsed();
    let mut cpu = cpu_seconds().unwrap_or(0.0) - cpu_started;
    let (height, previous) = match store.tip() {
        Some(t) => (t.height + 1, t.hash()),
        None => (0, Default::default()),
    };
    let header = BlockHeader {
        height,
        previous,
        log_size: prepared.log_size(),
        log_root: prepared.log_root(),
        state_digest: Hash32::default(),
        time_ms: height,
        proposer: s.members[0].key_id(),
        members: store.members().digest(),
        next_members: store.members().digest(),
    };
    let cert = CommitCertificate::from_votes(
        &header,
        vec![header.vote(&s.members[0]), header.vote(&s.members[1])],
    );
    let keys = if height == 0 {
        vec![s.signer.public_key().clone()]
    } else {
        vec![]
    };
    let cpu_started = cpu_seconds().unwrap_or(0.0);
    let started = Instant::now();
    store
        .append_prepared(&header, &cert, prepared, &keys)
        .expect("append");
    in_store += started.elapsed();
    cpu += cpu_seconds().unwrap_or(0.0) - cpu_started;
    STORE_CPU.with(|c| c.set(c.get() + cpu));
    in_store
}

/// What `f` returns, and how long it took per each of `ops` operations (us).
fn timed<T>(ops: u64, f: impl FnOnce() -> T) -> (T, f64) {
    let started = Instant::now();
    let out = f();
    (out, per_op(started.elapsed(), ops))
}

fn per_op(total: Duration, ops: u64) -> f64 {
    total.as_secs_f64() * 1e6 / ops as f64
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn bench_appends(s: &Setup) {
    let blocks: usize = env_or("LEDGER_BENCH_APPEND_BLOCKS", 50);
    let txs = sign_txs(s, 0, blocks * BLOCK_LEAVES);
    let dir = tempfile::tempdir().expect("temp dir");
    let mut store = LedgerStore::create(dir.path(), &s.set).expect("create");
    let mut elapsed = Duration::ZERO;
    STORE_CPU.with(|c| c.set(0.0));
    for chunk in txs.chunks(BLOCK_LEAVES) {
        elapsed += append(s, &mut store, chunk);
    }
    let cpu = STORE_CPU.with(std::cell::Cell::get);
    let leaves = (blocks * BLOCK_LEAVES) as f64;
    println!(
        "append: {blocks} blocks x {BLOCK_LEAVES} leaves in {:.3} s = {:.0} leaf appends/s ({:.2} ms per synced block, certificate check included; aim >= 200,000/s)",
        elapsed.as_secs_f64(),
        leaves / elapsed.as_secs_f64(),
        elapsed.as_secs_f64() * 1e3 / blocks as f64
    );
    println!(
        "  CPU time in the store (all threads): {:.2} ms per block = {:.0} leaf appends per CPU-second",
        cpu * 1e3 / blocks as f64,
        leaves / cpu.max(f64::MIN_POSITIVE)
    );

    if env_or("LEDGER_BENCH_FSCK", 1u8) == 0 {
        return;
    }
    // fsck of the same store: every signature, every node.
    let started = Instant::now();
    let report = store.fsck().expect("clean");
    let fsck = started.elapsed();
    let fsck_s_per_million = fsck.as_secs_f64() * 1e6 / report.transactions as f64;

    let key = s.signer.public_key();
    let probe = &txs[0];
    let n = 2_000u64;
    let started = Instant::now();
    for _ in 0..n {
        black_box(probe.verify(black_box(key))).expect("valid");
    }
    let verify_us = per_op(started.elapsed(), n);
    let prepared = weinong_keys::PreparedPublicKey::new(key);
    let started = Instant::now();
    for _ in 0..n {
        black_box(probe.verify_prepared(black_box(&prepared))).expect("valid");
    }
    let prepared_us = per_op(started.elapsed(), n);
    let cores = rayon::current_num_threads() as f64;
    let bound_s = |us: f64| us * 1e6 / 1e6 / cores;
    println!(
        "fsck: {} tx in {:.2} s = {:.1} s per million transactions",
        report.transactions,
        fsck.as_secs_f64(),
        fsck_s_per_million
    );
    println!(
        "  SM2 bound on {cores} cores: {:.1} s per million at the reference {SM2_VERIFY_US_REFERENCE} us/verify \
         (fsck at {:.0} % of it); measured here: plain verify {verify_us:.0} us -> {:.1} s/million (fsck at {:.0} %), \
         prepared-key verify {prepared_us:.0} us -> {:.1} s/million (fsck at {:.0} %)",
        bound_s(SM2_VERIFY_US_REFERENCE),
        100.0 * bound_s(SM2_VERIFY_US_REFERENCE) / fsck_s_per_million,
        bound_s(verify_us),
        100.0 * bound_s(verify_us) / fsck_s_per_million,
        bound_s(prepared_us),
        100.0 * bound_s(prepared_us) / fsck_s_per_million,
    );
}

fn bench_proofs(s: &Setup, leaves_max: u64) {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut store = LedgerStore::create(dir.path(), &s.set).expect("create");
    let mut target = 1_000_000u64;
    let started = Instant::now();
    let mut signing = Duration::ZERO;
    let mut in_store = Duration::ZERO;
    STORE_CPU.with(|c| c.set(0.0));
    while target <= leaves_max {
        while store.log_size() < target {
            let sign_started = Instant::now();
            let txs = sign_txs(s, (1 << 40) + store.log_size(), BLOCK_LEAVES);
            signing += sign_started.elapsed();
            in_store += append(s, &mut store, &txs);
        }
        let build = started.elapsed();
        // Every block of the build, so memtable flushes and compactions are in it (their
        // CPU only where it overlaps an append: the signing between blocks hides the rest).
        let blocks = store.log_size() as f64 / BLOCK_LEAVES as f64;
        let cpu = STORE_CPU.with(std::cell::Cell::get);
        println!(
            "append, all {} blocks of the {}-leaf store (flushes and compactions included): {:.0} leaf appends/s ({:.2} ms per synced block), store CPU {:.2} ms per block",
            blocks,
            store.log_size(),
            store.log_size() as f64 / in_store.as_secs_f64(),
            in_store.as_secs_f64() * 1e3 / blocks,
            cpu * 1e3 / blocks
        );
        let n = store.log_size();
        let root = store.log_root();
        let samples = 2_000u64;
        let mut rng_state = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move || {
            rng_state ^= rng_state << 13;
            rng_state ^= rng_state >> 7;
            rng_state ^= rng_state << 17;
            rng_state
        };
        let indexes: Vec<u64> = (0..samples).map(|_| next() % n).collect();
        let (proofs, gen_us) = timed(samples, || {
            indexes
                .iter()
                .map(|&i| store.inclusion_proof(i, n).expect("proof"))
                .collect::<Vec<_>>()
        });
        let data: Vec<Vec<u8>> = indexes
            .iter()
            .map(|&i| {
                let tx = store.transaction(i).expect("stored");
                // Distinct transactions: the index finds each one where it is.
                assert_eq!(store.find_transaction(&tx.hash()).expect("indexed"), i);
                tx.as_bytes().to_vec()
            })
            .collect();
        let ((), verify_us) = timed(samples, || {
            for ((i, proof), d) in indexes.iter().zip(&proofs).zip(&data) {
                merkle::verify_inclusion::<Sm3>(d, *i, n, &root.0, proof).expect("verifies");
            }
        });
        let olds: Vec<u64> = (0..samples).map(|_| 1 + next() % n).collect();
        let (cproofs, cgen_us) = timed(samples, || {
            olds.iter()
                .map(|&o| store.consistency_proof(o, n).expect("proof"))
                .collect::<Vec<_>>()
        });
        let old_roots: Vec<Hash32> = olds
            .iter()
            .map(|&o| store.root_at(o).expect("root"))
            .collect();
        let ((), cver_us) = timed(samples, || {
            for ((o, p), r) in olds.iter().zip(&cproofs).zip(&old_roots) {
                merkle::verify_consistency::<Sm3>(*o, &r.0, n, &root.0, p).expect("verifies");
            }
        });
        println!(
            "proofs at {n} leaves (store built in {:.0} s, {:.0} s of it signing distinct transactions): inclusion gen {gen_us:.1} us, verify {verify_us:.1} us (aim < 100 us); \
             consistency gen {cgen_us:.1} us, verify {cver_us:.1} us",
            build.as_secs_f64(),
            signing.as_secs_f64()
        );
        target *= 10;
    }
}

fn main() {
    // `cargo bench` passes `--bench`; any other argument is a filter we do not support.
    let leaves_max = env_or("LEDGER_BENCH_MAX_LEAVES", 10_000_000u64);
    let s = setup();
    bench_appends(&s);
    bench_proofs(&s, leaves_max);
}
