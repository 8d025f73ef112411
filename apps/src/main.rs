//! `weinong`: the command line of the Weinong consortium.
//!
//! A client only: it links `weinong-keys`, `weinong-ledger` (verifier), `weinong-contracts`,
//! `weinong-mpc` and `weinong-connectors`, never node internals (`weinong tx` speaks HTTP).
//! Each area lives in its own `cmd_*` module; this file only parses arguments and
//! dispatches. Exit codes ([`exit`]): 0 success, 1 a check failed (invalid signature,
//! failed audit), 2 usage or input error, 3 the consortium refused, 4 the consortium could
//! not answer now, 141 its output's reader went away (see
//! [`exit_quietly_when_stdout_closes`]).

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod client;
mod cmd_assess;
mod cmd_assess_batch;
mod cmd_audit;
mod cmd_audit_request;
mod cmd_bench;
mod cmd_bench_audit;
mod cmd_bench_batch;
mod cmd_bench_crypto;
mod cmd_bench_e2e;
mod cmd_bench_ledger;
mod cmd_bench_policy;
mod cmd_consent;
mod cmd_console;
mod cmd_data;
mod cmd_devnet;
mod cmd_devnet_data;
mod cmd_fhe;
mod cmd_keys;
mod cmd_ledger;
mod cmd_model;
mod cmd_mpc;
mod cmd_node;
mod cmd_policy;
mod cmd_psi;
mod cmd_tx;
mod exit;
mod trend_report;

#[derive(Parser)]
#[command(name = "weinong", version, about = "Weinong consortium command line")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create, inspect, import and export SM2 keystores.
    #[command(subcommand)]
    Keys(cmd_keys::KeysCmd),
    /// Sign a file with an SM2 keystore (DER signature, as OpenSSL writes it).
    Sign(cmd_keys::SignArgs),
    /// Verify an SM2 signature: exit 0 valid, 1 invalid, 2 usage or input error.
    Verify(cmd_keys::VerifyArgs),
    /// Print the SM3 digest of each file, like `sha256sum`.
    Sm3(cmd_keys::Sm3Args),
    /// Compute the subject pseudonym of a resident ID number.
    Pseudonym(cmd_keys::PseudonymArgs),
    /// Department data: synthetic data, imports with cleaning and quality reports, exports.
    #[command(subcommand)]
    Data(cmd_data::DataCmd),
    /// Throughput benchmarks with peer ratios.
    #[command(subcommand)]
    Bench(cmd_bench::BenchCmd),
    /// FHE: generate a requester's TFHE keys.
    #[command(subcommand)]
    Fhe(cmd_fhe::FheCmd),
    /// Assessment models: check a spec, evaluate it over department CSVs.
    #[command(subcommand)]
    Model(cmd_model::ModelCmd),
    /// Three-party MPC engine: self-test.
    #[command(subcommand)]
    Mpc(cmd_mpc::MpcCmd),
    /// Private set intersection of resident-ID lists (ECDH-PSI on ristretto255).
    #[command(subcommand)]
    Psi(cmd_psi::PsiCmd),
    /// Read a ledger store on disk: fsck, head, export proof bundles.
    #[command(subcommand)]
    Ledger(cmd_ledger::LedgerCmd),
    /// Verify ledger proofs offline: exit 0 proven, 1 naming the first failed check.
    #[command(subcommand)]
    Audit(cmd_audit::AuditCmd),
    /// Run a node: hands over to the `weinong-node` daemon beside this binary.
    #[command(subcommand)]
    Node(cmd_node::NodeCmd),
    /// Serve the web console (为侬控制台) and pass its API calls through to a node.
    Console(cmd_console::ConsoleArgs),
    /// Run a whole consortium locally: three department nodes on loopback.
    Devnet(cmd_devnet::DevnetArgs),
    /// Registrar: grant and withdraw consents, list every access to a subject's data.
    Consent(cmd_consent::ConsentArgs),
    /// 免申即享 policies: list them, run one as its receiving department, see a run, fetch
    /// its matches.
    Policy(cmd_policy::PolicyArgs),
    /// Talk to a node: submit transactions (consent, governance), fetch heads and bundles.
    Tx(cmd_tx::TxArgs),
    /// A care home's assessments: request one, fetch and open the result.
    Assess(cmd_assess::AssessArgs),
}

pub use exit::Outcome;

/// Exit status of a command whose reader closed its standard output (`weinong … | head`):
/// 128 + SIGPIPE, what a shell reports for a process the signal ended, so a caller never
/// mistakes a cut-short check for a passed one.
const EXIT_STDOUT_CLOSED: u8 = 141;

/// Rust ignores SIGPIPE, so `println!` to a closed pipe panics ("failed printing to stdout:
/// Broken pipe"). Restoring the signal's default needs `unsafe` (libc), which this workspace
/// forbids; so a panic hook turns exactly that panic into a quiet exit with
/// [`EXIT_STDOUT_CLOSED`], the outcome the default signal would give. Every other panic
/// keeps the standard report.
fn exit_quietly_when_stdout_closes() {
    let standard = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or_default();
        // std's message: "failed printing to stdout: Broken pipe (os error 32)" (EPIPE).
        if message.starts_with("failed printing to stdout")
            && (message.contains("(os error 32)")
                || message.to_ascii_lowercase().contains("broken pipe"))
        {
            std::process::exit(i32::from(EXIT_STDOUT_CLOSED));
        }
        standard(info);
    }));
}

/// mimalloc instead of glibc malloc: imports and PSI allocate many small values on
/// several threads, where glibc spent up to a third of the CPU in its own bookkeeping.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    exit_quietly_when_stdout_closes();
    // clap exits 2 on a usage error and 0 after --help or --version.
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Keys(cmd) => cmd_keys::keys(cmd),
        Command::Sign(args) => cmd_keys::sign(args),
        Command::Verify(args) => cmd_keys::verify(args),
        Command::Sm3(args) => cmd_keys::sm3(args),
        Command::Pseudonym(args) => cmd_keys::pseudonym(args),
        Command::Data(cmd) => cmd_data::data(cmd),
        Command::Bench(cmd) => cmd_bench::bench(cmd),
        Command::Model(cmd) => cmd_model::model(cmd),
        Command::Fhe(cmd) => cmd_fhe::fhe(cmd),
        Command::Mpc(cmd) => cmd_mpc::mpc(cmd),
        Command::Psi(cmd) => cmd_psi::psi(cmd),
        Command::Ledger(cmd) => cmd_ledger::ledger(cmd),
        Command::Audit(cmd) => cmd_audit::audit(cmd),
        Command::Node(cmd) => cmd_node::node(cmd),
        Command::Console(args) => cmd_console::console(args),
        Command::Devnet(args) => cmd_devnet::devnet(args),
        Command::Tx(args) => cmd_tx::tx(args),
        Command::Assess(args) => cmd_assess::assess(args),
        Command::Consent(args) => cmd_consent::consent(args),
        Command::Policy(args) => cmd_policy::policy(args),
    };
    match result {
        Ok(outcome) => ExitCode::from(outcome.code()),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(exit::code_of_error(&e))
        }
    }
}
