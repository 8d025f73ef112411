//! `weinong audit request` and `weinong audit verify` of a request bundle
//! (`weinong-request-bundle/1`, served by `GET /v1/requests/{id}/bundle`): fetch one
//! assessment request's whole story, then check it offline.
//!
//! Verification has two layers. The proofs: the ledger verifier checks every transaction's
//! signature, its inclusion in the log of the block that holds it, that block's header
//! chain to a head certified by a quorum of the genesis members, and the co-signed tree
//! head (`weinong-bundle-set/1`). The story: each payload is decoded with the contracts'
//! codec and the consent rules are replayed: one request with that id; the model's
//! registration; every access names the request and its subject, under a consent in the
//! bundle granted to the requester for the request's purpose and categories, valid at the
//! access's block time and not withdrawn before it in the log; the accesses cover every
//! category the model reads before a result; the result is signed by the requester and, with
//! a receipt, opens to the recorded commitment. A batch request's bundle holds its list
//! parts (checked: every part, in order, one signer, one ascending list) and the
//! departments' batch accesses; the per-subject consent grants the contracts found are not
//! in it (a batch may list a million subjects). The bundle's optional `shares` section holds
//! the departments' signatures over the sealed output shares the node holds (party, signer
//! key id, SM3 of the ciphertext, signature): each is checked against the signer's key
//! (a genesis member's, or the proven signer of an access in the bundle), the signer must
//! be the key that recorded that party's department's access where one is in the bundle,
//! no key signs twice, and the signature must verify over the share message for this
//! consortium, request and model; so an auditor can tell which ciphertexts the departments
//! gave the care home. A bundle without the section (older nodes) says so and passes.
//! Every check prints one line, `ok` or `FAILED` with the reason; exit 0 when all hold, 1
//! when one fails, 2 for unreadable input.
//!
//! The checks themselves are `weinong_audit::verify_request_bundle` (a library that also
//! builds for WebAssembly); this module reads the files, prints the report's lines and
//! turns it into the exit status.
//!
//! Must not know node internals: the bundle arrives over HTTP and is checked with
//! `weinong-audit` (over `weinong-ledger` and `weinong-contracts`) only.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use clap::Args;
use weinong_audit::{PinnedGenesis, Receipt, verify_request_bundle};
use weinong_contracts::RequestId;

use crate::Outcome;
use crate::client::Client;
use crate::cmd_keys::open_keystore_file;
use crate::cmd_tx::hex32;

pub use weinong_audit::is_request_bundle;

/// Largest receipt file read.
const RECEIPT_BYTES_MAX: u64 = 64 * 1024 * 1024;

/// `weinong audit request`.
#[derive(Args)]
pub struct RequestArgs {
    /// The assessment request id (64 hex characters).
    request: String,
    /// The node's API, e.g. http://127.0.0.1:8080.
    #[arg(long, env = "WEINONG_NODE")]
    node: String,
    /// Keystore that signs the API request (an auditor, an admin, or the requester;
    /// password from WEINONG_KEY_PASSWORD or asked).
    #[arg(long)]
    key: PathBuf,
    /// Where to write the bundle JSON.
    #[arg(long)]
    out: PathBuf,
}

/// Fetches the bundle and writes it.
pub fn request(args: RequestArgs) -> Result<Outcome> {
    let id = RequestId::from_bytes(hex32("request id", &args.request)?);
    let client = Client::new(&args.node, open_keystore_file(&args.key)?)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let bundle = runtime.block_on(client.request_bundle(&id.to_hex()))?;
    let count = bundle.transactions.entries.len();
    let text = serde_json::to_string_pretty(&bundle)?;
    fs::write(&args.out, text.as_bytes())
        .with_context(|| format!("writing {}", args.out.display()))?;
    println!(
        "wrote {} ({count} transactions of request {id}); check it offline with `weinong audit verify {}`",
        args.out.display(),
        args.out.display()
    );
    Ok(Outcome::Ok)
}

/// Verifies a request bundle read from `text`: prints one line per check, then the result.
pub fn verify(text: &str, genesis: Option<&Path>, receipt: Option<&Path>) -> Result<Outcome> {
    let receipt = receipt.map(read_receipt).transpose()?;
    let pinned = genesis
        .map(|path| {
            fs::read(path)
                .with_context(|| format!("reading {}", path.display()))
                .map(|bytes| (bytes, path.display().to_string()))
        })
        .transpose()?;
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
        Outcome::Ok
    } else {
        Outcome::CheckFailed
    })
}

fn read_receipt(path: &Path) -> Result<Receipt> {
    let len = fs::metadata(path)
        .with_context(|| format!("reading {}", path.display()))?
        .len();
    if len > RECEIPT_BYTES_MAX {
        bail!("{} is {len} bytes, over the receipt limit", path.display());
    }
    let text = fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    Receipt::from_json(&text).map_err(|e| anyhow!("{}: {e}", path.display()))
}
