//! `weinong audit …`: check ledger proofs offline, with the ledger's verifier only (no store,
//! no network). Exit 0 and print what was proven, or exit 1 naming the first failed check.
//! `verify` is the stand-alone verifier's code path (`weinong_audit_cli`: request bundles
//! and proof bundles); `request` fetches a request bundle (`cmd_audit_request`).

use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::{Args, Subcommand};
use weinong_audit_cli::{Verdict, VerifyArgs};
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
        AuditCmd::Verify(args) => verify(&args),
        AuditCmd::Request(args) => crate::cmd_audit_request::request(args),
        AuditCmd::Consistency(args) => consistency(args),
    }
}

fn read_text(path: &Path, what: &str) -> Result<String> {
    weinong_audit_cli::read_text(path, BUNDLE_BYTES_MAX, what)
}

fn failed(e: &CheckFailed) -> Outcome {
    match weinong_audit_cli::print_failed(e) {
        Verdict::Holds => Outcome::Ok,
        Verdict::Failed => Outcome::CheckFailed,
    }
}

/// The stand-alone verifier's code path (`weinong-audit verify`): the same lines, the
/// same verdict.
fn verify(args: &VerifyArgs) -> Result<Outcome> {
    Ok(match weinong_audit_cli::verify(args)? {
        Verdict::Holds => Outcome::Ok,
        Verdict::Failed => Outcome::CheckFailed,
    })
}

fn consistency(args: ConsistencyArgs) -> Result<Outcome> {
    let pin = weinong_audit_cli::read_members(args.members.as_deref())?;
    // A head that does not parse fails the check named for its place.
    let head = |path: &Path, check: &'static str| -> Result<Result<CertifiedHead, CheckFailed>> {
        Ok(
            bundle::from_json(&read_text(path, "head")?).map_err(|e| CheckFailed {
                check,
                reason: e.reason,
            }),
        )
    };
    let old = match head(&args.old_head, "old_head")? {
        Ok(h) => h,
        Err(e) => return Ok(failed(&e)),
    };
    let new = match head(&args.new_head, "new_head")? {
        Ok(h) => h,
        Err(e) => return Ok(failed(&e)),
    };
    let proof: ConsistencyFile = match bundle::from_json(&read_text(&args.proof, "proof")?) {
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
