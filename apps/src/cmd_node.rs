//! `weinong node run --config FILE`: runs one department (or auditor) node in the
//! foreground until Ctrl-C or SIGTERM.
//!
//! This is the only place the CLI links the node crate, and only its entry point
//! (`weinong_node::run` and its config type); every other command is an HTTP client.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};

use crate::Outcome;

/// Node commands.
#[derive(Subcommand)]
pub enum NodeCmd {
    /// Run a node from its TOML config (see deploy/README.md for every field).
    Run(RunArgs),
    /// Check a node config and print what it would run, without starting anything.
    Check(RunArgs),
}

/// `node run` / `node check`.
#[derive(Args)]
pub struct RunArgs {
    /// The node's TOML config file.
    #[arg(long)]
    config: PathBuf,
}

pub fn node(cmd: NodeCmd) -> Result<Outcome> {
    match cmd {
        NodeCmd::Run(args) => {
            let config = weinong_node::config::NodeConfig::load(&args.config)?;
            init_logging();
            let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
            runtime.block_on(weinong_node::run::run(config))?;
            Ok(Outcome::Ok)
        }
        NodeCmd::Check(args) => {
            let config = weinong_node::config::NodeConfig::load(&args.config)?;
            println!(
                "{}: {:?} node, data in {}, p2p {} ({} peers), http {}",
                config.name,
                config.role,
                config.data_dir.display(),
                config.p2p.listen,
                config.p2p.peers.len(),
                config.http.listen
            );
            Ok(Outcome::Ok)
        }
    }
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("WEINONG_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,libp2p=warn,openraft=error"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .try_init();
}
