//! `weinong node run|check|backup|restore --config FILE`: hands over to the `weinong-node`
//! daemon.
//!
//! The CLI links nothing of the node: the daemon is its own binary, built beside this one
//! (`cargo build --release` builds both). These commands replace this process with it
//! (`exec`), so signals, exit status and logs are the daemon's own.

use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};

use crate::Outcome;

/// The daemon's file name.
pub const NODE_BINARY: &str = "weinong-node";

/// Node commands.
#[derive(Subcommand)]
pub enum NodeCmd {
    /// Run a node from its TOML config (see deploy/README.md for every field).
    Run(RunArgs),
    /// Check a node config and print what it would run, without starting anything.
    Check(RunArgs),
    /// Ask the running node for an online backup (ledger and Raft checkpoints, result and
    /// proposal stores, p2p identity, sealed secrets, SQLite department store) into a new
    /// directory, listed with SM3 digests in a manifest the node signs.
    Backup(BackupArgs),
    /// Verify a backup (every file's digest, the manifest signature, ledger fsck and replay
    /// against the genesis) and only then restore it into the stopped node's empty data_dir.
    Restore(RestoreArgs),
}

/// `node backup`.
#[derive(Args)]
pub struct BackupArgs {
    /// The node's TOML config file.
    #[arg(long)]
    config: PathBuf,
    /// The backup directory to create (must not exist).
    #[arg(long)]
    to: PathBuf,
}

/// `node restore`.
#[derive(Args)]
pub struct RestoreArgs {
    /// The node's TOML config file.
    #[arg(long)]
    config: PathBuf,
    /// The backup directory.
    #[arg(long)]
    from: PathBuf,
}

/// `node run` / `node check`.
#[derive(Args)]
pub struct RunArgs {
    /// The node's TOML config file.
    #[arg(long)]
    config: PathBuf,
}

pub fn node(cmd: NodeCmd) -> Result<Outcome> {
    let args: Vec<OsString> = match cmd {
        NodeCmd::Run(a) => vec!["run".into(), "--config".into(), a.config.into()],
        NodeCmd::Check(a) => vec!["check".into(), "--config".into(), a.config.into()],
        NodeCmd::Backup(a) => vec![
            "backup".into(),
            "--config".into(),
            a.config.into(),
            "--to".into(),
            a.to.into(),
        ],
        NodeCmd::Restore(a) => vec![
            "restore".into(),
            "--config".into(),
            a.config.into(),
            "--from".into(),
            a.from.into(),
        ],
    };
    let binary = node_binary()?;
    let err = Command::new(&binary).args(args).exec();
    bail!("cannot start {}: {err}", binary.display())
}

/// The `weinong-node` executable beside this one, or an error saying how to build it.
pub fn node_binary() -> Result<PathBuf> {
    let exe = std::env::current_exe().context("cannot find the weinong executable")?;
    let dir = exe
        .parent()
        .context("the weinong executable has no directory")?;
    let binary = dir.join(format!("{NODE_BINARY}{}", std::env::consts::EXE_SUFFIX));
    if !binary.is_file() {
        bail!(
            "the node daemon {} is missing: build it with `cargo build --release` in the \
             source tree (it builds `weinong` and `{NODE_BINARY}` side by side), or install \
             `{NODE_BINARY}` in the same directory as `weinong`",
            binary.display()
        );
    }
    Ok(binary)
}
