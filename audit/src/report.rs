//! The typed result of a verification: one [`Check`] per fact, each with its outcome and
//! the evidence (transaction hashes, block heights, key ids, hashes) it rests on. The
//! report is data (serde, comparable), so a native build and a WebAssembly build can be
//! compared byte for byte; [`Check::line`] is the one-line text the CLIs print.

use serde::{Deserialize, Serialize};

/// The outcome of one check.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum CheckOutcome {
    /// It holds; what was found.
    Ok {
        /// What holds.
        detail: String,
    },
    /// It does not hold; why.
    Failed {
        /// What is wrong.
        reason: String,
    },
    /// Nothing to check (e.g. a bundle without share signatures); why. Counts as holding.
    NotApplicable {
        /// Why there is nothing to check.
        detail: String,
    },
}

/// What a check rests on, for a reader to look up: empty lists are left out of the JSON.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    /// Transaction hashes (hex).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub transactions: Vec<String>,
    /// Block heights.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub heights: Vec<u64>,
    /// Key ids (hex).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keys: Vec<String>,
    /// Other ids and hashes (consortium, consent, model, commitment, ciphertext SM3; hex).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hashes: Vec<String>,
}

impl Evidence {
    /// No evidence.
    pub fn none() -> Evidence {
        Evidence::default()
    }

    /// One transaction at one height.
    pub fn tx(hash: impl ToString, height: u64) -> Evidence {
        Evidence {
            transactions: vec![hash.to_string()],
            heights: vec![height],
            ..Evidence::default()
        }
    }

    /// Adds a key id.
    pub fn key(mut self, key: impl ToString) -> Evidence {
        self.keys.push(key.to_string());
        self
    }

    /// Adds an id or hash.
    pub fn hash(mut self, hash: impl ToString) -> Evidence {
        self.hashes.push(hash.to_string());
        self
    }
}

/// One check: its name (`format`, `genesis`, `proofs`, `request`, `access …`, `ending`,
/// `receipt`, `shares`, …), its outcome and its evidence.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    /// The check's name as printed.
    pub name: String,
    /// Whether it holds.
    pub outcome: CheckOutcome,
    /// What it rests on.
    pub evidence: Evidence,
}

impl Check {
    /// Whether it failed.
    pub fn failed(&self) -> bool {
        matches!(self.outcome, CheckOutcome::Failed { .. })
    }

    /// The printed line: `ok      NAME: DETAIL` or `FAILED  NAME: REASON` (a check with
    /// nothing to check prints as `ok`).
    pub fn line(&self) -> String {
        match &self.outcome {
            CheckOutcome::Ok { detail } | CheckOutcome::NotApplicable { detail } => {
                format!("ok      {}: {detail}", self.name)
            }
            CheckOutcome::Failed { reason } => format!("FAILED  {}: {reason}", self.name),
        }
    }
}

/// Every check of one request bundle, in the order they were made.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// The request id the bundle is for (hex).
    pub request: String,
    /// The checks.
    pub checks: Vec<Check>,
}

impl Report {
    /// A report with no checks yet.
    pub(crate) fn new(request: String) -> Report {
        Report {
            request,
            checks: Vec::new(),
        }
    }

    /// Whether every check holds.
    pub fn holds(&self) -> bool {
        !self.checks.iter().any(Check::failed)
    }

    /// The first failed check, if any.
    pub fn first_failed(&self) -> Option<&Check> {
        self.checks.iter().find(|c| c.failed())
    }

    /// The check named `name`, if one was made (the first of that name).
    pub fn find(&self, name: &str) -> Option<&Check> {
        self.checks.iter().find(|c| c.name == name)
    }

    /// The closing line: `result: every check holds` or `result: FAILED (a check above
    /// failed)`.
    pub fn result_line(&self) -> &'static str {
        if self.holds() {
            "result: every check holds"
        } else {
            "result: FAILED (a check above failed)"
        }
    }

    /// Every printed line: `request ID`, one per check, the result.
    pub fn lines(&self) -> Vec<String> {
        let mut out = Vec::with_capacity(self.checks.len() + 2);
        out.push(format!("request {}", self.request));
        out.extend(self.checks.iter().map(Check::line));
        out.push(self.result_line().to_owned());
        out
    }

    pub(crate) fn ok(&mut self, name: &str, detail: impl Into<String>, evidence: Evidence) {
        self.push(
            name,
            CheckOutcome::Ok {
                detail: detail.into(),
            },
            evidence,
        );
    }

    pub(crate) fn fail(&mut self, name: &str, reason: impl Into<String>, evidence: Evidence) {
        self.push(
            name,
            CheckOutcome::Failed {
                reason: reason.into(),
            },
            evidence,
        );
    }

    pub(crate) fn not_applicable(&mut self, name: &str, detail: impl Into<String>) {
        self.push(
            name,
            CheckOutcome::NotApplicable {
                detail: detail.into(),
            },
            Evidence::none(),
        );
    }

    pub(crate) fn check(
        &mut self,
        name: &str,
        holds: bool,
        ok: impl Into<String>,
        failed: impl Into<String>,
        evidence: Evidence,
    ) {
        if holds {
            self.ok(name, ok, evidence);
        } else {
            self.fail(name, failed, evidence);
        }
    }

    fn push(&mut self, name: &str, outcome: CheckOutcome, evidence: Evidence) {
        self.checks.push(Check {
            name: name.to_owned(),
            outcome,
            evidence,
        });
    }
}
