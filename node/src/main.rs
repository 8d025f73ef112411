//! `weinong-node`: the department (or auditor) node daemon.
//!
//! `weinong-node run --config FILE` runs one node in the foreground until Ctrl-C or
//! SIGTERM; `weinong-node check --config FILE` reads a config and says what it would run;
//! `weinong-node backup --config FILE --to DIR` asks the running node for an online backup;
//! `weinong-node restore --config FILE --from DIR` verifies a backup and restores it into
//! the (stopped) node's empty data_dir.
//! `weinong devnet` spawns this binary once per node. The CLI (`weinong`) links nothing of
//! this crate: clients reach a node only over HTTP.
//!
//! Exit codes: 0 stopped cleanly, 1 the node failed while running, 2 usage or config error.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// The node keeps many small, short-lived values on several threads (p2p frames, Raft
/// entries, MPC messages): mimalloc, as the CLI.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "weinong-node", version, about = "Weinong department node")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a node from its TOML config (see deploy/README.md for every field).
    Run(ConfigArg),
    /// Check a node config and print what it would run, without starting anything.
    Check(ConfigArg),
    /// Ask the running node for an online, signed backup into a new directory.
    Backup(BackupArg),
    /// Verify a backup and restore it into the stopped node's empty data_dir.
    Restore(RestoreArg),
}

#[derive(clap::Args)]
struct BackupArg {
    /// The node's TOML config file.
    #[arg(long)]
    config: PathBuf,
    /// The backup directory to create (must not exist; the node's user must be able to
    /// write its parent).
    #[arg(long)]
    to: PathBuf,
}

#[derive(clap::Args)]
struct RestoreArg {
    /// The node's TOML config file.
    #[arg(long)]
    config: PathBuf,
    /// The backup directory (`weinong-node backup --to`).
    #[arg(long)]
    from: PathBuf,
}

#[derive(clap::Args)]
struct ConfigArg {
    /// The node's TOML config file.
    #[arg(long)]
    config: PathBuf,
}

fn main() -> ExitCode {
    // clap exits 2 on a usage error and 0 after --help or --version.
    let cli = Cli::parse();
    let path = match &cli.command {
        Command::Run(arg) | Command::Check(arg) => &arg.config,
        Command::Backup(arg) => &arg.config,
        Command::Restore(arg) => &arg.config,
    };
    let config = match weinong_node::config::NodeConfig::load(path) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::from(2);
        }
    };
    match cli.command {
        Command::Check(_) => {
            println!(
                "{}: {:?} node, data in {}, p2p {} ({} peers), http {}",
                config.name,
                config.role,
                config.data_dir.display(),
                config.p2p.listen,
                config.p2p.peers.len(),
                config.http.listen
            );
            ExitCode::SUCCESS
        }
        Command::Backup(arg) => backup(&config, &arg.to),
        Command::Restore(arg) => restore(&config, &arg.from),
        Command::Run(_) => {
            init_logging();
            let runtime = match tokio::runtime::Runtime::new() {
                Ok(runtime) => runtime,
                Err(e) => {
                    eprintln!("error: cannot start the async runtime: {e}");
                    return ExitCode::FAILURE;
                }
            };
            match runtime.block_on(weinong_node::run::run(config)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("error: {e:#}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

fn backup(config: &weinong_node::config::NodeConfig, to: &std::path::Path) -> ExitCode {
    use weinong_node::run::control::{ControlRequest, ControlResponse, ask};
    let to = match std::path::absolute(to) {
        Ok(to) => to,
        Err(e) => {
            eprintln!("error: --to {}: {e}", to.display());
            return ExitCode::from(2);
        }
    };
    match ask(&config.data_dir, &ControlRequest::Backup { to }) {
        Ok(ControlResponse::BackedUp {
            dir,
            blocks,
            files,
            bytes,
        }) => {
            println!(
                "backup of {}: {} ({blocks} certified blocks, {files} files, {bytes} bytes, manifest signed by the node key)",
                config.name,
                dir.display()
            );
            ExitCode::SUCCESS
        }
        Ok(ControlResponse::Failed { message }) => {
            eprintln!("error: the node did not back up: {message}");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn restore(config: &weinong_node::config::NodeConfig, from: &std::path::Path) -> ExitCode {
    match weinong_node::backup::restore(config, from) {
        Ok(report) => {
            println!(
                "verified: {} files match the manifest signed by {} (key {})",
                report.manifest.files.len(),
                report.manifest.node,
                report.manifest.key_id
            );
            println!(
                "verified: ledger fsck and replay of {} blocks, {} transactions against the genesis",
                report.blocks, report.transactions
            );
            for note in &report.notes {
                println!("{note}");
            }
            println!(
                "restored into {}: start the node; it catches up from its peers before /readyz answers 200",
                config.data_dir.display()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Logs go to stderr; `WEINONG_LOG` takes a tracing filter (`info` by default, libp2p and
/// openraft quieter).
fn init_logging() {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::try_from_env("WEINONG_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,libp2p=warn,openraft=error"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .try_init();
}
