//! `weinong-audit`: the offline verifier an auditor installs without the rest of the
//! system. `weinong-audit verify BUNDLE [--genesis FILE] [--receipt FILE] [--members
//! FILE]` checks a request bundle (`weinong-request-bundle/1`, from `weinong audit
//! request`) or a single-transaction proof bundle (`weinong ledger export-bundle`,
//! `weinong tx bundle`) and prints exactly what `weinong audit verify` prints (the same
//! code: this crate's library), with the same exit status: 0 when every check holds, 1
//! when one fails, 2 for unreadable input.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use weinong_audit_cli::{Verdict, VerifyArgs, verify};

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

fn main() -> ExitCode {
    let Cli { cmd } = Cli::parse();
    let result = match cmd {
        Cmd::Verify(args) => verify(&args),
    };
    match result {
        Ok(Verdict::Holds) => ExitCode::SUCCESS,
        Ok(Verdict::Failed) => ExitCode::from(1),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
