//! A single-transaction proof bundle (`weinong-proof-bundle/1` and `/2`, `weinong ledger
//! export-bundle`, `weinong tx bundle`): the ledger verifier's checks, and the lines the
//! CLIs print for what was proven.

use weinong_ledger::MemberSet;
use weinong_ledger::bundle::{self, BundleReport, CheckFailed, ProofBundle};

/// Verifies the proof bundle in `text`, against `pinned` members if given (else the
/// bundle's own, which the lines say to compare): the lines describing what is proven,
/// or the first failed check.
pub fn verify_proof_bundle(
    text: &str,
    pinned: Option<&MemberSet>,
) -> Result<Vec<String>, CheckFailed> {
    let parsed: ProofBundle = bundle::from_json(text)?;
    let report = parsed.verify(pinned)?;
    Ok(proven_lines(&report, pinned.is_some()))
}

/// The line printed for a failed check: `FAILED check `NAME`: REASON`.
pub fn failed_line(e: &CheckFailed) -> String {
    format!("FAILED check `{}`: {}", e.check, e.reason)
}

/// What a verified proof bundle proves, one printed line each.
pub fn proven_lines(report: &BundleReport, was_pinned: bool) -> Vec<String> {
    let body = report.transaction.body();
    let mut out = vec![
        format!("OK: transaction {} is proven.", report.tx_hash),
        format!(
            "  kind 0x{:04x}, nonce {}, payload {} bytes",
            body.kind.0,
            body.nonce,
            body.payload.len()
        ),
        format!("  signed (SM2) by key {}", body.signer),
        format!(
            "  leaf {} of the log of {} leaves with root {}",
            report.leaf_index, report.head.size, report.head.root
        ),
    ];
    if report.chain_len == 0 {
        out.push(format!(
            "  that log head is block {} ({}), committed by {} member signatures (quorum {})",
            report.header.height,
            report.block_hash,
            report.signatures,
            report.members.quorum()
        ));
    } else {
        out.push(format!(
            "  that log head is block {} ({}), linked by {} headers (hash chain) to block {} ({}), committed by {} member signatures (quorum {})",
            report.header.height,
            report.block_hash,
            report.chain_len,
            report.certified.height,
            report.certified.hash(),
            report.signatures,
            report.members.quorum()
        ));
    }
    if let Some(n) = report.tree_head_cosignatures {
        out.push(format!(
            "  block {}'s tree head ({} leaves, root {}) is co-signed by {n} members",
            report.certified.height, report.certified.log_size, report.certified.log_root
        ));
    }
    out.extend(member_lines(&report.members, was_pinned));
    out
}

/// The member set a proof rests on, one printed line each.
pub fn member_lines(members: &MemberSet, was_pinned: bool) -> Vec<String> {
    let how = if was_pinned {
        "pinned"
    } else {
        "taken from the file: compare with the consortium's keys"
    };
    let mut out = vec![format!(
        "member set ({how}), quorum {} of {}:",
        members.quorum(),
        members.keys().len()
    )];
    out.extend(members.keys().keys().map(|id| format!("  {id}")));
    out
}
