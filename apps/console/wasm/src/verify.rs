//! A request bundle's verification in the browser: `weinong-audit`'s report, with the
//! lines `weinong audit verify` prints, so the page and the CLI can be compared.

use serde::Serialize;
use weinong_audit::{PinnedGenesis, Receipt, Report, verify_request_bundle};

use crate::ConsoleError;

/// The report of one bundle, as the page shows it.
#[derive(Debug, Serialize)]
pub struct BundleReport {
    /// Every check with its outcome and evidence.
    pub report: Report,
    /// [`Report::lines`]: exactly what `weinong audit verify` prints.
    pub lines: Vec<String>,
    /// Whether every check holds.
    pub holds: bool,
}

/// Verifies the request bundle `text` (`weinong-request-bundle/1`) against `genesis` (the
/// consortium's canonical genesis bytes, pinned by the auditor, and the name the report
/// gives them: the file's, as the CLI names its `--genesis`) or, without it, the
/// bundle's own genesis (which the report says to compare), and with the requester's
/// `receipt` (JSON) if given.
pub fn verify_bundle(
    text: &str,
    genesis: Option<(&[u8], &str)>,
    receipt: Option<&str>,
) -> Result<BundleReport, ConsoleError> {
    let receipt = receipt
        .map(Receipt::from_json)
        .transpose()
        .map_err(|e| ConsoleError::Bundle(format!("receipt: {e}")))?;
    let pinned = genesis.map(|(bytes, name)| PinnedGenesis { bytes, name });
    let report = verify_request_bundle(text, pinned, receipt.as_ref())
        .map_err(|e| ConsoleError::Bundle(e.to_string()))?;
    let lines = report.lines();
    let holds = report.holds();
    Ok(BundleReport {
        report,
        lines,
        holds,
    })
}
