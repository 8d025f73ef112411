//! Policy-run results of the runs this node received: the matched subject pseudonyms (or,
//! in cardinality mode, only their count), and the progress of runs in flight.
//!
//! File format (`<run hex>.matches`, version 2): magic `WNPR`, version 2, mode (0 list,
//! 1 count only), count `u64` big-endian, the run's commitment salt (32 bytes,
//! `weinong_contracts::policy_matches`), then `count` × 32-byte pseudonyms, ascending (none
//! in count-only mode). Files are written to a temporary name, synced and renamed, so a
//! crash leaves either the whole result or none.
//!
//! Must not know: PSI, HTTP or the ledger. The lists are personal data of the receiving
//! department: they stay on its node and go only to its own authorised callers.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use weinong_contracts::RunId;
use weinong_contracts::policy_matches::MatchesSalt;
use weinong_keys::SubjectPseudonym;

const FILE_MAGIC: [u8; 4] = *b"WNPR";
const FILE_VERSION: u8 = 2;
const HEADER_BYTES: usize = 4 + 1 + 1 + 8 + 32;
/// Runs whose timings are kept in memory.
pub const TIMINGS_KEPT: usize = 1024;

/// A run's result as stored by its receiver.
#[derive(Clone, PartialEq, Eq)]
pub struct RunResult {
    /// How many subjects matched.
    pub count: u64,
    /// Who matched (ascending); empty in cardinality mode.
    pub matches: Vec<SubjectPseudonym>,
    /// Whether only the count was computed.
    pub count_only: bool,
    /// The salt of the commitment the run's end recorded (secret: it lets one test a
    /// guessed subject against the commitment).
    pub salt: MatchesSalt,
}

impl std::fmt::Debug for RunResult {
    // The list is personal data: never in a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunResult")
            .field("count", &self.count)
            .field("count_only", &self.count_only)
            .finish_non_exhaustive()
    }
}

/// An error reading or writing a stored result.
#[derive(Debug, thiserror::Error)]
pub enum PolicyResultError {
    /// The file system failed.
    #[error("policy result store {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The failure.
        #[source]
        source: std::io::Error,
    },
    /// A stored file is not a version 1 result.
    #[error("policy result {path} is corrupt: {reason}; run the policy again")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: &'static str,
    },
}

/// Where a run in flight stands, for status calls.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunProgress {
    /// What the node is doing (e.g. "evaluating the predicate", "PSI step 1 of 2").
    pub stage: String,
    /// Steps done and in all (one per department other than the receiver).
    pub steps_done: u32,
    /// Steps in all.
    pub steps: u32,
}

/// How long the receiver spent in each phase of a run it completed (kept in memory until
/// the node restarts: an operator's and the bench's figure, not a record).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunTimings {
    /// Evaluating its own term, in milliseconds.
    pub evaluate_ms: u64,
    /// All PSI steps, from the first dial to the last match, in milliseconds.
    pub psi_ms: u64,
    /// Storing the result and, once it committed, recording the run's end, in milliseconds.
    pub finish_ms: u64,
}

/// The receiver's results on disk, and the progress and timings of runs in memory.
pub struct PolicyResults {
    dir: PathBuf,
    progress: Mutex<BTreeMap<RunId, RunProgress>>,
    timings: Mutex<BTreeMap<RunId, RunTimings>>,
}

impl PolicyResults {
    /// Keeps results in `dir` (created if missing).
    pub fn open(dir: &Path) -> Result<PolicyResults, PolicyResultError> {
        fs::create_dir_all(dir).map_err(|source| PolicyResultError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        Ok(PolicyResults {
            dir: dir.to_path_buf(),
            progress: Mutex::new(BTreeMap::new()),
            timings: Mutex::new(BTreeMap::new()),
        })
    }

    /// A store over `dir` that could not be created: every write fails with the reason.
    pub fn unavailable(dir: &Path) -> PolicyResults {
        PolicyResults {
            dir: dir.to_path_buf(),
            progress: Mutex::new(BTreeMap::new()),
            timings: Mutex::new(BTreeMap::new()),
        }
    }

    fn path(&self, run: &RunId) -> PathBuf {
        self.dir.join(format!("{}.matches", run.to_hex()))
    }

    /// Stores `result` for `run`, replacing any earlier one.
    pub fn put(&self, run: &RunId, result: &RunResult) -> Result<(), PolicyResultError> {
        let path = self.path(run);
        let tmp = path.with_extension("tmp");
        let io = |source| PolicyResultError::Io {
            path: tmp.clone(),
            source,
        };
        let mut bytes = Vec::with_capacity(HEADER_BYTES + result.matches.len() * 32);
        bytes.extend_from_slice(&FILE_MAGIC);
        bytes.push(FILE_VERSION);
        bytes.push(u8::from(result.count_only));
        bytes.extend_from_slice(&result.count.to_be_bytes());
        bytes.extend_from_slice(&result.salt.0);
        for m in &result.matches {
            bytes.extend_from_slice(m.as_bytes());
        }
        let mut file = fs::File::create(&tmp).map_err(io)?;
        file.write_all(&bytes).map_err(io)?;
        file.sync_all().map_err(io)?;
        fs::rename(&tmp, &path).map_err(|source| PolicyResultError::Io {
            path: path.clone(),
            source,
        })
    }

    /// The stored result of `run`, if this node holds one.
    pub fn get(&self, run: &RunId) -> Result<Option<RunResult>, PolicyResultError> {
        let path = self.path(run);
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(PolicyResultError::Io { path, source }),
        };
        let corrupt = |reason| PolicyResultError::Corrupt {
            path: path.clone(),
            reason,
        };
        if bytes.len() < HEADER_BYTES || bytes[..4] != FILE_MAGIC || bytes[4] != FILE_VERSION {
            return Err(corrupt(
                "not a version 2 policy result (version 1 was written by an older build)",
            ));
        }
        let count_only = match bytes[5] {
            0 => false,
            1 => true,
            _ => return Err(corrupt("unknown mode byte")),
        };
        let mut count = [0u8; 8];
        count.copy_from_slice(&bytes[6..14]);
        let count = u64::from_be_bytes(count);
        let mut salt = [0u8; 32];
        salt.copy_from_slice(&bytes[14..HEADER_BYTES]);
        let body = &bytes[HEADER_BYTES..];
        if body.len() % 32 != 0 || (!count_only && body.len() as u64 != count * 32) {
            return Err(corrupt("the list's length does not match its count"));
        }
        let matches = body
            .chunks_exact(32)
            .map(|c| {
                let mut p = [0u8; 32];
                p.copy_from_slice(c);
                SubjectPseudonym::from_bytes(p)
            })
            .collect();
        Ok(Some(RunResult {
            count,
            matches,
            count_only,
            salt: MatchesSalt(salt),
        }))
    }

    /// Sets (or, with `None`, clears) the progress of `run`.
    pub fn set_progress(&self, run: &RunId, progress: Option<RunProgress>) {
        let mut map = self
            .progress
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match progress {
            Some(p) => {
                map.insert(*run, p);
            }
            None => {
                map.remove(run);
            }
        }
    }

    /// Records (or updates) how long the phases of `run` took (the most recent
    /// [`TIMINGS_KEPT`] runs are kept).
    pub fn set_timings(&self, run: &RunId, timings: RunTimings) {
        let mut map = self
            .timings
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if map.len() >= TIMINGS_KEPT && !map.contains_key(run) {
            // Run ids are random: dropping the smallest drops an arbitrary old one.
            map.pop_first();
        }
        map.insert(*run, timings);
    }

    /// How long the phases of `run` took, if this node completed it since it started.
    pub fn timings(&self, run: &RunId) -> Option<RunTimings> {
        self.timings
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(run)
            .copied()
    }

    /// The progress of `run`, while it is in flight on this node.
    pub fn progress(&self, run: &RunId) -> Option<RunProgress> {
        self.progress
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(run)
            .cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_round_trip_and_corrupt_files_are_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = PolicyResults::open(dir.path()).expect("opens");
        let run = RunId::from_bytes([3; 32]);
        assert!(store.get(&run).expect("reads").is_none());
        let result = RunResult {
            count: 2,
            matches: vec![
                SubjectPseudonym::from_bytes([1; 32]),
                SubjectPseudonym::from_bytes([2; 32]),
            ],
            count_only: false,
            salt: MatchesSalt([4; 32]),
        };
        store.put(&run, &result).expect("writes");
        assert_eq!(store.get(&run).expect("reads"), Some(result));
        fs::write(store.path(&run), b"WNPR\x01\x00\0\0\0\0\0\0\0\x05short").expect("write");
        assert!(matches!(
            store.get(&run),
            Err(PolicyResultError::Corrupt { .. })
        ));
    }
}
