//! `weinong audit …`: check ledger proofs offline, with the ledger's verifier only (no store,
//! no network). Exit 0 and print what was proven, or exit 1 naming the first failed check.
//! A request bundle (`weinong audit request`) is checked by `cmd_audit_request`.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use weinong_ledger::MemberSet;
use weinong_ledger::bundle::{self, CertifiedHead, CheckFailed, ConsistencyFile};
use weinong_ledger::limits::BUNDLE_BYTES_MAX;

use crate::Outcome;

/// `weinong audit` subcommands.
#[derive(Subcommand)]
pub enum AuditCmd {
    /// Verify a proof bundle: the transaction's signature, its inclusion in the log, and
    /// the commit certificate of the head it is included in. Given a request bundle
    /// (`weinong audit request`), also the request's consent story and, with --receipt,
    /// its result commitment.
    Verify(VerifyArgs),
    /// Fetch the proof bundle of an assessment request's whole story from a node.
    Request(crate::cmd_audit_request::RequestArgs),
    /// Verify that one certified head's log is a prefix of another's.
    Consistency(ConsistencyArgs),
}

/// `weinong audit verify`.
#[derive(Args)]
pub struct VerifyArgs {
    /// Proof bundle JSON (`weinong ledger export-bundle`, `weinong tx bundle`) or request
    /// bundle JSON (`weinong audit request`).
    bundle: PathBuf,
    /// Request bundles: the consortium's genesis file (canonical bytes, as `weinong
    /// devnet` writes genesis.bin) to pin the member set; needed when the bundle carries
    /// none.
    #[arg(long)]
    genesis: Option<PathBuf>,
    /// Request bundles: the requester's receipt JSON (`weinong assess request`); its result
    /// and nonce must open the recorded result commitment.
    #[arg(long)]
    receipt: Option<PathBuf>,
    /// Pin the consortium's member set (hex file, `weinong ledger head --members-out`);
    /// without it the bundle's own set is used and printed for you to compare.
    #[arg(long)]
    members: Option<PathBuf>,
}

/// `weinong audit consistency`.
#[derive(Args)]
pub struct ConsistencyArgs {
    /// The older certified head JSON.
    old_head: PathBuf,
    /// The newer certified head JSON.
    new_head: PathBuf,
    /// Consistency proof JSON.
    proof: PathBuf,
    /// Pin the consortium's member set (hex file).
    #[arg(long)]
    members: Option<PathBuf>,
}

/// Dispatches `weinong audit`.
pub fn audit(cmd: AuditCmd) -> Result<Outcome> {
    match cmd {
        AuditCmd::Verify(args) => verify(args),
        AuditCmd::Request(args) => crate::cmd_audit_request::request(args),
        AuditCmd::Consistency(args) => consistency(args),
    }
}

fn read_text(path: &Path) -> Result<String> {
    let len = fs::metadata(path)
        .with_context(|| format!("reading {}", path.display()))?
        .len();
    if len > BUNDLE_BYTES_MAX {
        anyhow::bail!(
            "{} is {len} bytes, over the {BUNDLE_BYTES_MAX}-byte limit",
            path.display()
        );
    }
    fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
}

fn pinned(path: Option<&PathBuf>) -> Result<Option<MemberSet>> {
    let Some(path) = path else { return Ok(None) };
    let text = read_text(path)?;
    let bytes = hex::decode(text.trim()).with_context(|| format!("{}: not hex", path.display()))?;
    Ok(Some(MemberSet::decode(&bytes).with_context(|| {
        format!("{}: not a member set", path.display())
    })?))
}

fn failed(e: &CheckFailed) -> Outcome {
    println!("{}", weinong_audit::proof::failed_line(e));
    Outcome::CheckFailed
}

fn verify(args: VerifyArgs) -> Result<Outcome> {
    let text = read_text(&args.bundle)?;
    if crate::cmd_audit_request::is_request_bundle(&text) {
        return crate::cmd_audit_request::verify(
            &text,
            args.genesis.as_deref(),
            args.receipt.as_deref(),
        );
    }
    if args.genesis.is_some() || args.receipt.is_some() {
        anyhow::bail!(
            "--genesis and --receipt apply to request bundles (`weinong audit request`); {} is a single-transaction bundle (pin it with --members)",
            args.bundle.display()
        );
    }
    let pin = pinned(args.members.as_ref())?;
    match weinong_audit::proof::verify_proof_bundle(&text, pin.as_ref()) {
        Ok(lines) => {
            for line in lines {
                println!("{line}");
            }
            Ok(Outcome::Ok)
        }
        Err(e) => Ok(failed(&e)),
    }
}

fn consistency(args: ConsistencyArgs) -> Result<Outcome> {
    let pin = pinned(args.members.as_ref())?;
    let old: CertifiedHead = match bundle::from_json(&read_text(&args.old_head)?) {
        Ok(h) => h,
        Err(e) => {
            return Ok(failed(&CheckFailed {
                check: "old_head",
                reason: e.reason,
            }));
        }
    };
    let new: CertifiedHead = match bundle::from_json(&read_text(&args.new_head)?) {
        Ok(h) => h,
        Err(e) => {
            return Ok(failed(&CheckFailed {
                check: "new_head",
                reason: e.reason,
            }));
        }
    };
    let proof: ConsistencyFile = match bundle::from_json(&read_text(&args.proof)?) {
        Ok(p) => p,
        Err(e) => return Ok(failed(&e)),
    };
    match bundle::verify_consistency(&old, &new, &proof, pin.as_ref()) {
        Ok(report) => {
            println!(
                "OK: the log of block {} ({} leaves, root {}) is a prefix of the log of block {} ({} leaves, root {}).",
                report.old.height,
                report.old.log_size,
                report.old.log_root,
                report.new.height,
                report.new.log_size,
                report.new.log_root
            );
            println!("  both heads carry a valid commit certificate");
            Ok(Outcome::Ok)
        }
        Err(e) => Ok(failed(&e)),
    }
}
