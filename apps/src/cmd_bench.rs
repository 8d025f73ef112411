//! `weinong bench …`: throughput benchmarks that print figures and the ratio to a peer
//! implementation. Each area adds its variant here and keeps its code in its own module.

use anyhow::Result;
use clap::Subcommand;

use crate::Outcome;

/// Benchmarks.
#[derive(Subcommand)]
pub enum BenchCmd {
    /// SM2 sign/verify, SM3 and SM4-GCM beside `openssl speed`.
    Crypto(crate::cmd_bench_crypto::BenchCryptoArgs),
    /// Department data: synth, import + clean into SQLite and PostgreSQL, and pandas.
    Data(crate::cmd_data::BenchDataArgs),
    /// Assessment models: admission-v1 latency for one subject, periodic-v1 throughput (MPC).
    Assess(crate::cmd_model::BenchAssessArgs),
    /// FHE backend: key generation and sizes, encrypted input sizes, admission-v1 for one
    /// subject with the operations by kind.
    Fhe(crate::cmd_fhe::BenchFheArgs),
    /// MPC engine: 10^6 multiplications, 10^6 comparisons, a weighted sum + threshold.
    Mpc(crate::cmd_mpc::BenchMpcArgs),
    /// PSI: 2^20 × 2^20 ECDH-PSI as two processes over loopback, beside SecretFlow's.
    Psi(crate::cmd_psi::BenchPsiArgs),
    /// Ledger: committed tx/s and commit latency of a devnet under signed load, beside the
    /// SM2-verify bound of this machine; then checks every node holds the same chain.
    Ledger(crate::cmd_bench_ledger::BenchLedgerArgs),
    /// End to end on a running devnet: p50/p99 latency of single-subject admission
    /// assessments (ledger commits, MPC, sealed shares, result commitment).
    E2e(crate::cmd_bench_e2e::BenchE2eArgs),
    /// Policy matching on a running devnet: one 免申即享 run end to end (ledger, predicates,
    /// PSI over libp2p, result stored), beside the same PSI over loopback TCP.
    Policy(crate::cmd_bench_policy::BenchPolicyArgs),
    /// A request bundle's verification, natively (the console's in-browser figure's peer).
    Audit(crate::cmd_bench_audit::BenchAuditArgs),
}

/// Dispatches `weinong bench`.
pub fn bench(cmd: BenchCmd) -> Result<Outcome> {
    match cmd {
        BenchCmd::Crypto(args) => crate::cmd_bench_crypto::bench_crypto(args),
        BenchCmd::Data(args) => crate::cmd_data::bench_data(args),
        BenchCmd::Assess(args) => crate::cmd_model::bench_assess(args),
        BenchCmd::Mpc(args) => crate::cmd_mpc::bench_mpc(args),
        BenchCmd::Fhe(args) => crate::cmd_fhe::bench_fhe(args),
        BenchCmd::Psi(args) => crate::cmd_psi::bench_psi(args),
        BenchCmd::Ledger(args) => crate::cmd_bench_ledger::bench_ledger(args),
        BenchCmd::E2e(args) => crate::cmd_bench_e2e::bench_e2e(args),
        BenchCmd::Policy(args) => crate::cmd_bench_policy::bench_policy(args),
        BenchCmd::Audit(args) => crate::cmd_bench_audit::bench_audit(args),
    }
}

/// A peer's benchmark script's standard output, or an error with the last line of its
/// standard error (where a Python traceback names what went wrong).
pub(crate) fn peer_stdout(out: &std::process::Output, script: &str) -> Result<String> {
    if !out.status.success() {
        anyhow::bail!(
            "{script} failed: {}",
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .last()
                .unwrap_or("")
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}
