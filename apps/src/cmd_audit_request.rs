//! `weinong audit request`: fetch one assessment request's whole story from a node as a
//! request bundle (`weinong-request-bundle/1`, `GET /v1/requests/{id}/bundle`), for
//! `weinong audit verify` to check offline. What the checks are is `weinong-audit`'s crate
//! documentation; the verification's front end (files in, one line per check out) is
//! `weinong_audit_cli`, shared with the stand-alone `weinong-audit` binary.
//!
//! Must not know node internals: the bundle arrives over HTTP, typed by `weinong-api`.

use std::fs;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use weinong_contracts::RequestId;

use crate::Outcome;
use crate::client::Client;
use crate::cmd_keys::open_keystore_file;
use crate::cmd_tx::hex32;

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
    let bundle = crate::client::block_on(async { Ok(client.request_bundle(&id.to_hex()).await?) })?;
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
