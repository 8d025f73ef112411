//! The offline verifier's front end, shared by the stand-alone `weinong-audit` binary
//! (`src/main.rs`) and `weinong audit verify`: one code path reads the files, recognises the
//! bundle, runs `weinong-audit`'s checks and prints one line per check, so both print the
//! same thing with the same exit status.
//!
//! Owns: reading the files (each bounded) and printing. The checks are `weinong-audit`'s;
//! the proofs the verifier build of `weinong-ledger`'s. Must not know: RocksDB, the
//! network, an async runtime (its `cargo tree` is checked by `tests/deps.rs`).

#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::panic, clippy::cast_possible_truncation)
)]

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use weinong_audit::proof::{failed_line, verify_proof_bundle};
use weinong_audit::{PinnedGenesis, Receipt, is_request_bundle, verify_request_bundle};
use weinong_ledger::MemberSet;
use weinong_ledger::bundle::CheckFailed;
use weinong_ledger::limits::BUNDLE_BYTES_MAX;

/// Largest receipt file read.
const RECEIPT_BYTES_MAX: u64 = 64 * 1024 * 1024;

/// `verify`'s arguments (the same flags in `weinong-audit verify` and `weinong audit
/// verify`).
#[derive(clap::Args)]
pub struct VerifyArgs {
    /// Request bundle JSON (`weinong audit request`) or proof bundle JSON (`weinong
    /// ledger export-bundle`, `weinong tx bundle`).
    pub bundle: PathBuf,
    /// Request bundles: the consortium's genesis file (canonical bytes, as `weinong
    /// devnet` writes genesis.bin) to pin the member set; needed when the bundle carries
    /// none.
    #[arg(long)]
    pub genesis: Option<PathBuf>,
    /// Request bundles: the requester's receipt JSON (`weinong assess request`); its
    /// result and nonce must open the recorded result commitment.
    #[arg(long)]
    pub receipt: Option<PathBuf>,
    /// Proof bundles: pin the consortium's member set (hex file, `weinong ledger head
    /// --members-out`); without it the bundle's own set is used and printed to compare.
    #[arg(long)]
    pub members: Option<PathBuf>,
}

/// Whether every check held (exit 0) or one failed (exit 1); unreadable input is an
/// error (exit 2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Every check held.
    Holds,
    /// A check failed; the printed lines say which.
    Failed,
}

/// Reads a file of at most `max` bytes (`what` names the limit in the error).
pub fn read_bounded(path: &Path, max: u64, what: &str) -> Result<Vec<u8>> {
    let len = fs::metadata(path)
        .with_context(|| format!("cannot read {what} {}", path.display()))?
        .len();
    if len > max {
        bail!(
            "{} is {len} bytes, over the {max}-byte {what} limit",
            path.display()
        );
    }
    fs::read(path).with_context(|| format!("cannot read {what} {}", path.display()))
}

/// Reads a UTF-8 text file of at most `max` bytes.
pub fn read_text(path: &Path, max: u64, what: &str) -> Result<String> {
    String::from_utf8(read_bounded(path, max, what)?)
        .map_err(|_| anyhow!("{} is not UTF-8 text", path.display()))
}

/// The member set pinned in the hex file at `path`, if given.
pub fn read_members(path: Option<&Path>) -> Result<Option<MemberSet>> {
    let Some(path) = path else { return Ok(None) };
    let text = read_text(path, BUNDLE_BYTES_MAX, "member set")?;
    let bytes = hex::decode(text.trim()).with_context(|| format!("{}: not hex", path.display()))?;
    Ok(Some(MemberSet::decode(&bytes).with_context(|| {
        format!("{}: not a member set", path.display())
    })?))
}

/// Prints the failed check's line; a failed verdict.
pub fn print_failed(e: &CheckFailed) -> Verdict {
    println!("{}", failed_line(e));
    Verdict::Failed
}

/// Verifies the bundle of `args`: a request bundle's report, one line per check, or a
/// proof bundle's proven lines (or its first failed check).
pub fn verify(args: &VerifyArgs) -> Result<Verdict> {
    let text = read_text(&args.bundle, BUNDLE_BYTES_MAX, "bundle")?;
    if is_request_bundle(&text) {
        return verify_request(&text, args);
    }
    if args.genesis.is_some() || args.receipt.is_some() {
        bail!(
            "--genesis and --receipt apply to request bundles (`weinong audit request`); {} is a single-transaction bundle (pin it with --members)",
            args.bundle.display()
        );
    }
    let pin = read_members(args.members.as_deref())?;
    match verify_proof_bundle(&text, pin.as_ref()) {
        Ok(lines) => {
            for line in lines {
                println!("{line}");
            }
            Ok(Verdict::Holds)
        }
        Err(e) => Ok(print_failed(&e)),
    }
}

/// A request bundle's checks against the pinned genesis and the receipt, if given.
fn verify_request(text: &str, args: &VerifyArgs) -> Result<Verdict> {
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
        text,
        pinned
            .as_ref()
            .map(|(bytes, name)| PinnedGenesis { bytes, name }),
        receipt.as_ref(),
    )?;
    for line in report.lines() {
        println!("{line}");
    }
    Ok(if report.holds() {
        Verdict::Holds
    } else {
        Verdict::Failed
    })
}
