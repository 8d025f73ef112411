//! The ledger explorer's checks, in the page: a co-signed tree head (`weinong-head/1`, its
//! commit certificate by a quorum of the members it names) and the consistency of a saved
//! head with today's (`weinong_ledger::bundle::verify_consistency`: the old log is a prefix
//! of the new one) — what `weinong tx head` and `weinong audit consistency` check.

use serde::Serialize;
use weinong_ledger::bundle::{self, CertifiedHead, ConsistencyFile};

use crate::ConsoleError;

/// A head that verified.
#[derive(Debug, Serialize)]
pub struct HeadView {
    /// Block height.
    pub height: u64,
    /// Log entries (transactions) up to and including this block.
    pub log_size: u64,
    /// The log's Merkle root, hex.
    pub log_root: String,
    /// Block time, ms.
    pub time_ms: u64,
}

/// The outcome of a consistency check: holds, or the named check that failed.
#[derive(Debug, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Consistency {
    /// The old head's log is a prefix of the new head's.
    Holds {
        /// The older head.
        old: HeadView,
        /// The newer head.
        new: HeadView,
    },
    /// A check failed.
    Failed {
        /// Which (`old_head`, `new_head`, `proof`, …).
        check: String,
        /// Why.
        reason: String,
    },
}

fn view(header: &weinong_ledger::BlockHeader) -> HeadView {
    HeadView {
        height: header.height,
        log_size: header.log_size,
        log_root: header.log_root.to_hex(),
        time_ms: header.time_ms,
    }
}

fn parse<T: for<'de> serde::Deserialize<'de>>(what: &str, text: &str) -> Result<T, ConsoleError> {
    bundle::from_json(text).map_err(|e| ConsoleError::Bundle(format!("{what}: {}", e.reason)))
}

/// Verifies a certified head (JSON) against the members it names.
pub fn verify_head(text: &str) -> Result<HeadView, ConsoleError> {
    let head: CertifiedHead = parse("head", text)?;
    head.verify(None)
        .map(|(header, _)| view(&header))
        .map_err(|e| ConsoleError::Bundle(format!("{}: {}", e.check, e.reason)))
}

/// Checks that the saved head `old`'s log is a prefix of `new`'s, with `proof` (all JSON).
pub fn check_consistency(old: &str, new: &str, proof: &str) -> Result<Consistency, ConsoleError> {
    let side =
        |what: &str, text: &str| -> Result<Result<CertifiedHead, Consistency>, ConsoleError> {
            Ok(
                bundle::from_json::<CertifiedHead>(text).map_err(|e| Consistency::Failed {
                    check: what.to_owned(),
                    reason: e.reason,
                }),
            )
        };
    let old = match side("old_head", old)? {
        Ok(h) => h,
        Err(failed) => return Ok(failed),
    };
    let new = match side("new_head", new)? {
        Ok(h) => h,
        Err(failed) => return Ok(failed),
    };
    let proof: ConsistencyFile = parse("proof", proof)?;
    Ok(match bundle::verify_consistency(&old, &new, &proof, None) {
        Ok(report) => Consistency::Holds {
            old: view(&report.old),
            new: view(&report.new),
        },
        Err(e) => Consistency::Failed {
            check: e.check.to_owned(),
            reason: e.reason,
        },
    })
}
