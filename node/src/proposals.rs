//! Governance proposals waiting for approvals, off the ledger: where the admins who use
//! this node see the pending changes and add their approvals, so a proposal file need not
//! travel between them by hand. The board is a convenience, not a trust point: each
//! approval is an admin's SM2 signature over the change's approved bytes
//! (`Governance::approved_bytes`), checked by the caller before [`ProposalBoard::put`] and
//! again by the contracts when the change is submitted; a node that hid or dropped a
//! proposal could delay a change, never forge or alter one.
//!
//! Stored as one JSON file per proposal (`<id>.json`, the `weinong-governance-proposal/1`
//! format), written to a temporary name, synced and renamed, so a crash leaves the old or
//! the new file. A proposal whose sequence number the ledger has passed is stale: dropped
//! when the board is next read.
//!
//! Must not know: HTTP or the ledger's state (the caller checks signatures and roles).

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use weinong_api::proposal::{ApprovalEntry, Proposal, ProposalError};
use weinong_keys::sm3_digest;

/// Proposals pending at once; more are refused until some are submitted or go stale.
pub const PENDING_MAX: usize = 64;
/// Approvals one proposal may carry (more than any consortium's admins).
pub const APPROVALS_MAX: usize = 64;

/// Why the board refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum BoardError {
    /// The proposal file is unusable.
    #[error(transparent)]
    Proposal(#[from] ProposalError),
    /// The board holds [`PENDING_MAX`] proposals.
    #[error(
        "the node holds {PENDING_MAX} pending proposals already; submit or let some go stale first"
    )]
    Full,
    /// The proposal carries more than [`APPROVALS_MAX`] approvals.
    #[error("a proposal carries at most {APPROVALS_MAX} approvals")]
    TooManyApprovals,
    /// The file system failed.
    #[error("proposal store {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The failure.
        #[source]
        source: std::io::Error,
    },
}

/// The pending proposals, by id (SM3 of the approved bytes, hex).
pub struct ProposalBoard {
    dir: Option<PathBuf>,
    pending: Mutex<BTreeMap<String, Proposal>>,
}

impl std::fmt::Debug for ProposalBoard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProposalBoard")
            .field("dir", &self.dir)
            .field("pending", &self.lock().len())
            .finish()
    }
}

impl ProposalBoard {
    /// A board kept only in memory (tests).
    pub fn in_memory() -> Self {
        Self {
            dir: None,
            pending: Mutex::new(BTreeMap::new()),
        }
    }

    /// The board stored under `dir` (created if missing), with the proposals found there.
    /// A file that is not a proposal is left in place and skipped with a warning.
    pub fn open(dir: &Path) -> Result<Self, BoardError> {
        let io = |source| BoardError::Io {
            path: dir.to_path_buf(),
            source,
        };
        fs::create_dir_all(dir).map_err(io)?;
        let mut pending = BTreeMap::new();
        for entry in fs::read_dir(dir).map_err(io)? {
            let path = entry.map_err(io)?.path();
            if path.extension().and_then(|e| e.to_str()) != Some("json") {
                continue;
            }
            let loaded = fs::read_to_string(&path)
                .map_err(|e| e.to_string())
                .and_then(|text| Proposal::from_json(&text).map_err(|e| e.to_string()))
                .and_then(|p| id_of(&p).map(|id| (id, p)).map_err(|e| e.to_string()));
            match loaded {
                Ok((id, p)) => {
                    pending.insert(id, p);
                }
                Err(e) => tracing::warn!(path = %path.display(), "skipping a stored proposal: {e}"),
            }
        }
        Ok(Self {
            dir: Some(dir.to_path_buf()),
            pending: Mutex::new(pending),
        })
    }

    /// Adds `proposal` or, when the same change is pending, merges its approvals into the
    /// stored ones (one per admin; an admin's second signature is ignored). Every approval
    /// must already be checked by the caller. Returns the id and the proposal as stored.
    pub fn put(&self, proposal: Proposal) -> Result<(String, Proposal), BoardError> {
        let id = id_of(&proposal)?;
        let mut pending = self.lock();
        let stored = match pending.get(&id) {
            Some(old) => merge(old, &proposal.approvals),
            None => {
                if pending.len() >= PENDING_MAX {
                    return Err(BoardError::Full);
                }
                merge(
                    &Proposal {
                        approvals: Vec::new(),
                        ..proposal.clone()
                    },
                    &proposal.approvals,
                )
            }
        };
        if stored.approvals.len() > APPROVALS_MAX {
            return Err(BoardError::TooManyApprovals);
        }
        self.write(&id, &stored)?;
        pending.insert(id.clone(), stored.clone());
        Ok((id, stored))
    }

    /// The proposals pending at governance sequence number `seq`, by id; those the ledger
    /// has passed (a smaller `seq`) are dropped, from the disk too.
    pub fn pending(&self, seq: u64) -> Vec<(String, Proposal)> {
        let mut pending = self.lock();
        let stale: Vec<String> = pending
            .iter()
            .filter(|(_, p)| p.seq < seq)
            .map(|(id, _)| id.clone())
            .collect();
        for id in stale {
            pending.remove(&id);
            if let Some(dir) = &self.dir {
                let path = dir.join(format!("{id}.json"));
                if let Err(e) = fs::remove_file(&path) {
                    tracing::warn!(path = %path.display(), "cannot remove a stale proposal: {e}");
                }
            }
        }
        pending
            .iter()
            .map(|(id, p)| (id.clone(), p.clone()))
            .collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Proposal>> {
        // A panic while holding the lock leaves a consistent map (every write is whole).
        self.pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self, id: &str, p: &Proposal) -> Result<(), BoardError> {
        let Some(dir) = &self.dir else {
            return Ok(());
        };
        let path = dir.join(format!("{id}.json"));
        let tmp = dir.join(format!("{id}.json.tmp"));
        let io = |source| BoardError::Io {
            path: path.clone(),
            source,
        };
        let text = serde_json::to_vec_pretty(p)
            .map_err(|e| ProposalError::Malformed(format!("cannot encode the proposal: {e}")))?;
        let mut file = fs::File::create(&tmp).map_err(io)?;
        file.write_all(&text).map_err(io)?;
        file.sync_all().map_err(io)?;
        fs::rename(&tmp, &path).map_err(io)
    }
}

/// A proposal's id: SM3 of the bytes its admins sign (consortium, sequence number and
/// change), hex. Two files with the same change are the same proposal.
pub fn id_of(p: &Proposal) -> Result<String, ProposalError> {
    Ok(hex::encode(sm3_digest(&p.approved_bytes()?)))
}

/// `base` with `extra`'s approvals of admins it lacks, sorted by admin key id.
fn merge(base: &Proposal, extra: &[ApprovalEntry]) -> Proposal {
    let mut out = base.clone();
    for a in extra {
        if !out
            .approvals
            .iter()
            .any(|b| b.admin.eq_ignore_ascii_case(&a.admin))
        {
            out.approvals.push(ApprovalEntry {
                admin: a.admin.to_ascii_lowercase(),
                signature: a.signature.clone(),
            });
        }
    }
    out.approvals.sort_by(|a, b| a.admin.cmp(&b.admin));
    out
}

#[cfg(test)]
mod tests {
    use weinong_contracts::{Change, Role};
    use weinong_keys::KeyPair;
    use weinong_ledger::Hash32;

    use super::*;

    fn proposal(seq: u64) -> Proposal {
        let change = Change::BindRole {
            key: KeyPair::generate().public_key().clone(),
            role: Role::Institution,
            valid_from: 1,
            valid_until: None,
        };
        Proposal::new(&Hash32([4; 32]), seq, change).expect("proposal")
    }

    #[test]
    fn approvals_merge_once_per_admin_and_survive_a_restart() {
        let dir = tempfile::tempdir().expect("tempdir");
        let board = ProposalBoard::open(dir.path()).expect("open");
        let (a, b) = (KeyPair::generate(), KeyPair::generate());
        let mut first = proposal(7);
        first.approve(&a).expect("approve");
        let (id, stored) = board.put(first.clone()).expect("put");
        assert_eq!(stored.approvals.len(), 1);
        // The same change with another admin's approval (and a's again): merged.
        let mut second = first.clone();
        second.approve(&b).expect("approve");
        let (again, stored) = board.put(second).expect("merge");
        assert_eq!(again, id);
        assert_eq!(stored.approvals.len(), 2);
        assert!(stored.approvals.windows(2).all(|w| w[0].admin < w[1].admin));
        // Another change is another proposal.
        board.put(proposal(7)).expect("another");
        assert_eq!(board.pending(7).len(), 2);

        let reopened = ProposalBoard::open(dir.path()).expect("reopen");
        let listed = reopened.pending(7);
        assert_eq!(listed.len(), 2);
        let kept = listed.iter().find(|(i, _)| *i == id).expect("kept");
        assert_eq!(kept.1.approvals.len(), 2);
        // The ledger moved on: both are stale and gone, from the disk too.
        assert!(reopened.pending(8).is_empty());
        assert!(
            ProposalBoard::open(dir.path())
                .expect("open")
                .pending(0)
                .is_empty()
        );
    }

    #[test]
    fn the_board_is_bounded_and_skips_corrupt_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        fs::write(dir.path().join("junk.json"), b"{not json").expect("junk");
        let board = ProposalBoard::open(dir.path()).expect("a corrupt file is skipped");
        for _ in 0..PENDING_MAX {
            board.put(proposal(1)).expect("put");
        }
        assert!(matches!(board.put(proposal(1)), Err(BoardError::Full)));
    }
}
