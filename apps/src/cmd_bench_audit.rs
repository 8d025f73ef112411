//! `weinong bench audit BUNDLE`: a request bundle's verification (`weinong-audit`, what
//! `weinong audit verify` runs), timed natively over several runs — the native side of the
//! console's in-browser figure (`scripts/console-bench.sh` prints both and their ratio).

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Result, bail};
use clap::Args;
use weinong_audit::verify_request_bundle;
use weinong_ledger::limits::BUNDLE_BYTES_MAX;

use crate::Outcome;

/// `weinong bench audit`.
#[derive(Args)]
pub struct BenchAuditArgs {
    /// A request bundle (`weinong audit request … --out F`).
    bundle: PathBuf,
    /// Verifications to time.
    #[arg(long, default_value_t = 20)]
    iterations: u32,
}

/// Verifies the bundle `iterations` times and prints the median and the range.
pub fn bench_audit(args: BenchAuditArgs) -> Result<Outcome> {
    if args.iterations == 0 {
        bail!("--iterations must be at least 1");
    }
    let text = weinong_audit_cli::read_text(&args.bundle, BUNDLE_BYTES_MAX, "bundle")?;
    let mut millis = Vec::with_capacity(args.iterations as usize);
    let mut checks = 0;
    for _ in 0..args.iterations {
        let start = Instant::now();
        let report = verify_request_bundle(&text, None, None)?;
        millis.push(start.elapsed().as_secs_f64() * 1e3);
        if !report.holds() {
            bail!(
                "{} does not verify: {}",
                args.bundle.display(),
                report.first_failed().map_or_else(String::new, |c| c.line())
            );
        }
        checks = report.checks.len();
    }
    millis.sort_by(f64::total_cmp);
    let median = millis[millis.len() / 2];
    println!(
        "bundle verification ({checks} checks, {} bytes): median {median:.2} ms over {} runs (min {:.2}, max {:.2}), natively",
        text.len(),
        millis.len(),
        millis[0],
        millis[millis.len() - 1]
    );
    Ok(Outcome::Ok)
}
