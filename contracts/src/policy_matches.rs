//! `policy_matches`: the receiver's commitment to a completed policy run's matches, and the
//! proof that one subject is among them — so a person's access history can show "included
//! in policy run X", checked against the ledger, without the ledger holding a list of
//! people.
//!
//! The tree is the ledger's RFC 9162 Merkle tree over SM3 ([`weinong_ledger::merkle`]).
//! Leaf 0 is `"WNPS" ‖ run ‖ salt`; leaves 1.. are `"WNPM" ‖ run ‖ salt ‖ subject` for the
//! matched subjects in ascending order. The salt is 32 random bytes the receiver keeps with
//! the result: without it nobody can test a guessed list against the root, and because leaf
//! 0 is always there, even an empty result has an unpredictable root — the root says
//! nothing of who or how many matched.
//!
//! A proof given to whoever may see one subject's history reveals the salt and the
//! O(log n) sibling hashes on its path; with the salt, a guessed subject can be tested
//! only against the one leaf hash beside it. That is the receiver's own department
//! (its registrars) or an auditor, never a sender.

use weinong_keys::SubjectPseudonym;
use weinong_ledger::merkle::{self, MemoryLog, NodeHash, Sm3};

use crate::types::{MatchesRoot, RunId};

const SALT_TAG: &[u8; 4] = b"WNPS";
const MATCH_TAG: &[u8; 4] = b"WNPM";

/// The receiver's secret salt of one run's commitment.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct MatchesSalt(pub [u8; 32]);

impl std::fmt::Debug for MatchesSalt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MatchesSalt(..)")
    }
}

fn salt_leaf(run: &RunId, salt: &MatchesSalt) -> Vec<u8> {
    let mut leaf = Vec::with_capacity(4 + 64);
    leaf.extend_from_slice(SALT_TAG);
    leaf.extend_from_slice(run.as_bytes());
    leaf.extend_from_slice(&salt.0);
    leaf
}

fn match_leaf(run: &RunId, salt: &MatchesSalt, subject: &SubjectPseudonym) -> Vec<u8> {
    let mut leaf = Vec::with_capacity(4 + 96);
    leaf.extend_from_slice(MATCH_TAG);
    leaf.extend_from_slice(run.as_bytes());
    leaf.extend_from_slice(&salt.0);
    leaf.extend_from_slice(subject.as_bytes());
    leaf
}

/// The tree over a run's matches, from which the root and proofs are read.
pub struct MatchesTree {
    log: MemoryLog,
    run: RunId,
    salt: MatchesSalt,
}

impl MatchesTree {
    /// The tree of `run` over `matches`, which must be ascending and distinct (a stored
    /// result is); `None` otherwise.
    pub fn new(run: RunId, salt: MatchesSalt, matches: &[SubjectPseudonym]) -> Option<Self> {
        if matches.windows(2).any(|w| w[0] >= w[1]) {
            return None;
        }
        let mut log = MemoryLog::new();
        log.push::<Sm3>(&salt_leaf(&run, &salt));
        for subject in matches {
            log.push::<Sm3>(&match_leaf(&run, &salt, subject));
        }
        Some(MatchesTree { log, run, salt })
    }

    /// The commitment the receiver records in the run's end.
    pub fn root(&self) -> MatchesRoot {
        MatchesRoot::from_bytes(self.log.root::<Sm3>())
    }

    /// The proof that the subject at `position` of the ascending matches is among them.
    pub fn proof(&self, position: u64) -> Option<MatchProof> {
        let index = position.checked_add(1)?;
        let size = self.log.size();
        let path = merkle::inclusion_proof::<Sm3, _>(&self.log, size, index).ok()?;
        Some(MatchProof {
            salt: self.salt,
            index,
            size,
            path,
        })
    }

    /// The run.
    pub fn run(&self) -> RunId {
        self.run
    }
}

/// A proof that one subject is among a run's matches.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MatchProof {
    /// The run's salt.
    pub salt: MatchesSalt,
    /// The subject's leaf (1-based: leaf 0 is the salt's).
    pub index: u64,
    /// Leaves in the tree (matches + 1).
    pub size: u64,
    /// Sibling hashes, leaf to root (RFC 9162 §2.1.3).
    pub path: Vec<NodeHash>,
}

impl MatchProof {
    /// Whether this proof shows `subject` among the matches `root` commits to for `run`.
    pub fn verify(&self, root: &MatchesRoot, run: &RunId, subject: &SubjectPseudonym) -> bool {
        if self.index == 0 {
            return false;
        }
        let leaf = match_leaf(run, &self.salt, subject);
        merkle::verify_inclusion::<Sm3>(&leaf, self.index, self.size, root.as_bytes(), &self.path)
            .is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subjects(n: u8) -> Vec<SubjectPseudonym> {
        (0..n)
            .map(|i| SubjectPseudonym::from_bytes([i; 32]))
            .collect()
    }

    #[test]
    fn every_match_proves_and_nothing_else_does() {
        let run = RunId::from_bytes([7; 32]);
        let salt = MatchesSalt([9; 32]);
        let all = subjects(12);
        let matched: Vec<SubjectPseudonym> = all.iter().step_by(3).copied().collect();
        let tree = MatchesTree::new(run, salt, &matched).expect("ascending");
        let root = tree.root();
        for (i, s) in matched.iter().enumerate() {
            let proof = tree.proof(i as u64).expect("proof");
            assert!(proof.verify(&root, &run, s));
            // Not for another subject, another run or another root.
            let other = all[1];
            assert!(!proof.verify(&root, &run, &other));
            assert!(!proof.verify(&root, &RunId::from_bytes([8; 32]), s));
            assert!(!proof.verify(&MatchesRoot::from_bytes([0; 32]), &run, s));
            // Nor with a salt other than the run's.
            let mut salted = proof.clone();
            salted.salt = MatchesSalt([1; 32]);
            assert!(!salted.verify(&root, &run, s));
        }
        assert!(tree.proof(matched.len() as u64).is_none());
    }

    #[test]
    fn the_root_hides_the_count_and_needs_the_salt() {
        let run = RunId::from_bytes([7; 32]);
        let empty_a = MatchesTree::new(run, MatchesSalt([1; 32]), &[]).expect("empty");
        let empty_b = MatchesTree::new(run, MatchesSalt([2; 32]), &[]).expect("empty");
        assert_ne!(
            empty_a.root(),
            empty_b.root(),
            "an empty result has no fixed root"
        );
        assert_ne!(
            empty_a.root(),
            MatchesRoot::from_bytes(merkle::empty_root::<Sm3>())
        );
        // The salt's leaf cannot be passed off as a match.
        let proof = empty_a.proof(0);
        assert!(proof.is_none(), "position 0 of no matches");
    }

    #[test]
    fn unsorted_or_repeated_matches_are_refused() {
        let run = RunId::from_bytes([7; 32]);
        let mut s = subjects(3);
        s.swap(0, 1);
        assert!(MatchesTree::new(run, MatchesSalt([1; 32]), &s).is_none());
        let twice = [s[2], s[2]];
        assert!(MatchesTree::new(run, MatchesSalt([1; 32]), &twice).is_none());
    }
}
