//! `weinong-audit`: the offline verifier an auditor installs without the rest of the
//! system. `weinong-audit verify BUNDLE [--genesis FILE] [--receipt FILE] [--members
//! FILE]` checks a request bundle (`weinong-request-bundle/1`, from `weinong audit
//! request`) or a single-transaction proof bundle (`weinong ledger export-bundle`,
//! `weinong tx bundle`) and prints exactly what `weinong audit verify` prints, with the
//! same exit status: 0 when every check holds, 1 when one fails, 2 for unreadable input.
//!
//! Owns: reading the files and printing. The checks are `weinong-audit`'s; the proofs
//! the verifier build of `weinong-ledger`'s. Must not know: RocksDB, the network, an
//! async runtime (its `cargo tree` is checked by `tests/deps.rs`).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow, bail};
use clap::{Parser, Subcommand};
use weinong_audit::proof::{failed_line, verify_proof_bundle};
use weinong_audit::{PinnedGenesis, Receipt, is_request_bundle, verify_request_bundle};
use weinong_ledger::MemberSet;
use weinong_ledger::limits::BUNDLE_BYTES_MAX;

/// Largest receipt file read.
const RECEIPT_BYTES_MAX: u64 = 64 * 1024 * 1024;

/// The offline verifier of Weinong ledger bundles.
#[derive(Parser)]
#[command(name = "weinong-audit", version)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Verify a request bundle (the request's proofs, consent story, share signatures
    /// and, with --receipt, its result commitment) or a single-transaction proof bundle.
    Verify(VerifyArgs),
}

#[derive(clap::Args)]
struct VerifyArgs {
    /// Request bundle JSON (`weinong audit request`) or proof bundle JSON (`weinong
    /// ledger export-bundle`, `weinong tx bundle`).
    bundle: PathBuf,
    /// Request bundles: the consortium's genesis file (canonical bytes, as `weinong
    /// devnet` writes genesis.bin) to pin the member set; needed when the bundle carries
    /// none.
    #[arg(long)]
    genesis: Option<PathBuf>,
    /// Request bundles: the requester's receipt JSON (`weinong assess request`); its
    /// result and nonce must open the recorded result commitment.
    #[arg(long)]
    receipt: Option<PathBuf>,
    /// Proof bundles: pin the consortium's member set (hex file, `weinong ledger head
    /// --members-out`); without it the bundle's own set is used and printed to compare.
    #[arg(long)]
    members: Option<PathBuf>,
}

/// Whether every check held.
enum Outcome {
    Ok,
    CheckFailed,
}

fn main() -> ExitCode {
    let Cli { cmd } = Cli::parse();
    let result = match cmd {
        Cmd::Verify(args) => verify(&args),
    };
    match result {
        Ok(Outcome::Ok) => ExitCode::SUCCESS,
        Ok(Outcome::CheckFailed) => ExitCode::from(1),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// Reads a file of at most `max` bytes.
fn read_bounded(path: &Path, max: u64, what: &str) -> Result<Vec<u8>> {
    let len = fs::metadata(path)
        .with_context(|| format!("reading {}", path.display()))?
        .len();
    if len > max {
        bail!(
            "{} is {len} bytes, over the {max}-byte {what} limit",
            path.display()
        );
    }
    fs::read(path).with_context(|| format!("reading {}", path.display()))
}

fn read_text(path: &Path, max: u64, what: &str) -> Result<String> {
    String::from_utf8(read_bounded(path, max, what)?)
        .map_err(|_| anyhow!("{} is not UTF-8 text", path.display()))
}

fn verify(args: &VerifyArgs) -> Result<Outcome> {
    let text = read_text(&args.bundle, BUNDLE_BYTES_MAX, "bundle")?;
    if is_request_bundle(&text) {
        let receipt = match &args.receipt {
            Some(path) => Some(
                Receipt::from_json(&read_text(path, RECEIPT_BYTES_MAX, "receipt")?)
                    .map_err(|e| anyhow!("{}: {e}", path.display()))?,
            ),
            None => None,
        };
        let pinned = match &args.genesis {
            Some(path) => Some((
                read_bounded(path, BUNDLE_BYTES_MAX, "genesis")?,
                path.display().to_string(),
            )),
            None => None,
        };
        let report = verify_request_bundle(
            &text,
            pinned
                .as_ref()
                .map(|(bytes, name)| PinnedGenesis { bytes, name }),
            receipt.as_ref(),
        )?;
        for line in report.lines() {
            println!("{line}");
        }
        return Ok(if report.holds() {
            Outcome::Ok
        } else {
            Outcome::CheckFailed
        });
    }
    if args.genesis.is_some() || args.receipt.is_some() {
        bail!(
            "--genesis and --receipt apply to request bundles (`weinong audit request`); {} is a single-transaction bundle (pin it with --members)",
            args.bundle.display()
        );
    }
    let pin = match &args.members {
        Some(path) => {
            let text = read_text(path, BUNDLE_BYTES_MAX, "member set")?;
            let bytes =
                hex::decode(text.trim()).with_context(|| format!("{}: not hex", path.display()))?;
            Some(
                MemberSet::decode(&bytes)
                    .with_context(|| format!("{}: not a member set", path.display()))?,
            )
        }
        None => None,
    };
    match verify_proof_bundle(&text, pin.as_ref()) {
        Ok(lines) => {
            for line in lines {
                println!("{line}");
            }
            Ok(Outcome::Ok)
        }
        Err(e) => {
            println!("{}", failed_line(&e));
            Ok(Outcome::CheckFailed)
        }
    }
}
