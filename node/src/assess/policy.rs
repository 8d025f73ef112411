//! Policy runs (免申即享): what a department node does for an open policy run.
//!
//! The ledger's open runs are the work list, swept like the assessment requests. For a
//! run of a policy this node ships (`weinong_connectors::policy::SHIPPED`, by id) whose
//! terms name this node's department:
//!
//! 1. the registered receiver must be the member whose key is the configured key of the
//!    spec's receiving department (else the run fails: a registration naming the wrong
//!    member must not make this node send to it);
//! 2. the node records its `PolicyAccess` (the categories its term reads; the legal basis is
//!    the policy's) and waits until it is committed: nothing is read before;
//! 3. it evaluates its term over its own store as of the run's block date;
//! 4. the receiver runs one PSI step per other department (step *i* with the department of
//!    term *i*), always over its whole own set, so each sender learns only that set's size;
//!    it combines the steps locally (∩ keeps, \ drops), stores the result
//!    ([`crate::policy_results`]) and records `PolicyEnd(completed)`. A sender answers its
//!    one step. Any failure records `PolicyEnd(failed, reason)`; the first end recorded
//!    closes the run and the contracts refuse the others.
//!
//! No list of people reaches the ledger or a sender: senders see blinded points only.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use weinong_connectors::policy::{Combine, Mode as PolicyMode, PolicySpec, evaluate_term};
use weinong_contracts::policy_matches::{MatchesSalt, MatchesTree};
use weinong_contracts::{
    Call, FailureReason, PolicyAccess, PolicyEnd, PolicyId, RunId, RunOutcome,
};
use weinong_keys::SubjectPseudonym;
use weinong_mpc::psi::{IdentifierList, Mode};

use super::{Assessor, Failure, as_of_date};
use crate::policy_results::{RunProgress, RunResult, RunTimings};
use crate::psi_session::{self, StepPlan, StepWaits};

/// How long a party of a PSI step waits for the other (which evaluates its own predicate
/// over up to millions of people first).
pub const PSI_STEP_WAIT: Duration = Duration::from_secs(300);

/// The policies this node can run, by ledger id.
pub struct Policies(BTreeMap<PolicyId, PolicySpec>);

impl Policies {
    /// The shipped policies.
    pub fn shipped() -> Result<Policies, String> {
        weinong_connectors::policy::SHIPPED
            .iter()
            .map(|text| {
                let spec = PolicySpec::from_toml(text).map_err(|e| e.to_string())?;
                let id = weinong_contracts::policy_id(&spec.canonical_bytes());
                Ok((id, spec))
            })
            .collect::<Result<_, String>>()
            .map(Policies)
    }

    /// The spec registered as `id`, if this node ships it.
    pub fn get(&self, id: &PolicyId) -> Option<&PolicySpec> {
        self.0.get(id)
    }

    /// Every shipped policy with its id.
    pub fn iter(&self) -> impl Iterator<Item = (&PolicyId, &PolicySpec)> {
        self.0.iter()
    }
}

/// Which runs this node is serving or has finished (a failure recorded, not yet committed).
#[derive(Default)]
pub(super) struct RunBook {
    serving: BTreeSet<RunId>,
    done: BTreeSet<RunId>,
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn aborted(detail: impl Into<String>) -> Failure {
    Failure::new(FailureReason::ComputationAborted, detail)
}

impl Assessor {
    /// Starts every open policy run this node is not serving yet.
    pub(super) fn sweep_policy_runs(self: &Arc<Self>) {
        let open: Vec<RunId> = match self.shared.ledger() {
            Ok(replica) => replica.state.open_runs().copied().collect(),
            Err(e) => {
                tracing::error!(error = %e, "policy driver cannot read the replica");
                return;
            }
        };
        let picked: Vec<RunId> = {
            let Ok(mut book) = self.runs.lock() else {
                tracing::error!("policy run book poisoned; restart the node");
                return;
            };
            let still_open: BTreeSet<RunId> = open.iter().copied().collect();
            book.done.retain(|r| still_open.contains(r));
            let picked: Vec<RunId> = open
                .into_iter()
                .filter(|r| !book.serving.contains(r) && !book.done.contains(r))
                .collect();
            book.serving.extend(picked.iter().copied());
            picked
        };
        for run in picked {
            let this = self.clone();
            tokio::spawn(async move {
                this.serve_run(run).await;
                if let Ok(mut book) = this.runs.lock() {
                    book.serving.remove(&run);
                    book.done.insert(run);
                }
                this.shared.assess.policy_results.set_progress(&run, None);
                this.finished.notify_one();
            });
        }
    }

    async fn serve_run(self: &Arc<Self>, run: RunId) {
        match self.run_policy(run).await {
            Ok(Some(count)) => tracing::info!(%run, matched = count, "policy run completed"),
            Ok(None) => tracing::debug!(%run, "policy run: nothing for this node to do"),
            Err(failure) => {
                tracing::warn!(%run, reason = %failure.reason, detail = %failure.detail, "policy run failed");
                let call = Call::PolicyEnd(PolicyEnd {
                    run,
                    outcome: RunOutcome::Failed(failure.reason),
                });
                if let Err(e) = self.record(&call).await {
                    tracing::debug!(%run, error = %e, "failure not recorded (the run is probably closed already)");
                }
            }
        }
    }

    fn progress(&self, run: &RunId, stage: &str, steps_done: u32, steps: u32) {
        self.shared.assess.policy_results.set_progress(
            run,
            Some(RunProgress {
                stage: stage.to_owned(),
                steps_done,
                steps,
            }),
        );
    }

    /// One run, steps 1–4 of the module doc. `Ok(Some(n))`: this node received `n`
    /// matches; `Ok(None)`: it sent its step, or has no part in the run.
    async fn run_policy(self: &Arc<Self>, run: RunId) -> Result<Option<u64>, Failure> {
        let (record, receiver_key) = {
            let replica = self
                .shared
                .ledger()
                .map_err(|e| aborted(format!("replica: {e}")))?;
            let record = replica
                .state
                .run(&run)
                .cloned()
                .ok_or_else(|| aborted("the run is not on this replica"))?;
            let receiver_key = replica.state.member(record.receiver).map(|m| m.key);
            (record, receiver_key)
        };
        let me = self.member()?;
        let Some(spec) = self.policies.get(&record.policy) else {
            if record.receiver == me {
                return Err(Failure::new(
                    FailureReason::DataUnavailable,
                    format!(
                        "policy {} is not one this node ships; upgrade the node",
                        record.policy
                    ),
                ));
            }
            return Ok(None);
        };
        let department = self.holder;
        let Some(index) = spec
            .terms()
            .iter()
            .position(|t| t.department() == department)
        else {
            return Ok(None);
        };
        let parties = self.parties();
        let spec_receiver = parties[spec.receiver().party()];
        if receiver_key != Some(spec_receiver) {
            return Err(aborted(format!(
                "the run's receiver ({}) is not the configured {:?} node ({spec_receiver})",
                record.receiver,
                spec.receiver()
            )));
        }
        let term = &spec.terms()[index];
        let steps = u32::try_from(spec.terms().len() - 1).unwrap_or(u32::MAX);
        let call = Call::PolicyAccess(PolicyAccess {
            run,
            node: me,
            categories: crate::categories::term_categories(term),
        });
        self.progress(&run, "recording the access", 0, steps);
        self.commit_access(&call).await?;
        if !self.policy_pause.is_zero() {
            // An adversarial test's fault: a node stalled mid-run, to be killed there.
            tracing::warn!(%run, pause_ms = ?self.policy_pause, "fault: pausing after the access");
            tokio::time::sleep(self.policy_pause).await;
        }
        self.progress(&run, "evaluating the predicate", 0, steps);
        let evaluating = std::time::Instant::now();
        let as_of = as_of_date(record.opened_at.time_ms)?;
        let own: Vec<SubjectPseudonym> = evaluate_term(&self.store, department, term, as_of)
            .await
            .map_err(|e| Failure::new(FailureReason::DataUnavailable, e.to_string()))?;
        let list = || {
            IdentifierList::new(own.iter().map(|p| p.as_bytes().to_vec()).collect())
                .map_err(|e| aborted(e.to_string()))
        };
        let mode = match spec.mode() {
            PolicyMode::Intersection => Mode::Intersection,
            PolicyMode::Cardinality => Mode::CardinalityOnly,
        };
        let plan = |step: usize, sender| StepPlan {
            run: *run.as_bytes(),
            step: u8::try_from(step).unwrap_or(u8::MAX),
            receiver: spec_receiver,
            sender,
            mode,
        };
        // A party still evaluating is waited for; one whose node is gone fails the run after
        // the session time-out, as an MPC session would.
        let waits = StepWaits {
            join: PSI_STEP_WAIT,
            absent: self.timeout,
        };
        if index != 0 {
            self.progress(&run, "PSI with the receiver", 0, steps);
            psi_session::run_sender(
                &self.psi,
                &self.p2p,
                plan(index, self.key.key_id()),
                list()?,
                waits,
            )
            .await
            .map_err(|e| aborted(e.to_string()))?;
            return Ok(None);
        }
        // The receiver: one step per other term, each over the whole own set.
        let evaluate_ms = millis(evaluating.elapsed());
        let psi_started = std::time::Instant::now();
        let mut keep = vec![true; own.len()];
        let mut count_only = None;
        for (i, (combine, other)) in spec.other_terms().enumerate() {
            let step = i + 1;
            self.progress(
                &run,
                &format!("PSI step {step} of {steps} ({:?})", other.department()),
                u32::try_from(i).unwrap_or(u32::MAX),
                steps,
            );
            let sender = parties[other.department().party()];
            let (report, rows) =
                psi_session::run_receiver(&self.p2p, plan(step, sender), list()?, waits)
                    .await
                    .map_err(|e| aborted(e.to_string()))?;
            if mode == Mode::CardinalityOnly {
                // The spec allows cardinality mode with exactly one other department.
                let own_distinct = u64::try_from(own.len()).unwrap_or(u64::MAX);
                count_only = Some(match combine {
                    Combine::And => report.intersection,
                    Combine::AndNot => own_distinct.saturating_sub(report.intersection),
                });
                continue;
            }
            let mut matched = vec![false; own.len()];
            for row in rows {
                if let Some(m) = matched.get_mut(row as usize) {
                    *m = true;
                }
            }
            for (k, m) in keep.iter_mut().zip(&matched) {
                *k &= match combine {
                    Combine::And => *m,
                    Combine::AndNot => !*m,
                };
            }
        }
        let psi_ms = millis(psi_started.elapsed());
        let finishing = std::time::Instant::now();
        let mut salt = [0u8; 32];
        getrandom::fill(&mut salt).map_err(|e| aborted(format!("no randomness: {e}")))?;
        let salt = MatchesSalt(salt);
        let result = match count_only {
            Some(count) => RunResult {
                count,
                matches: Vec::new(),
                count_only: true,
                salt,
            },
            None => {
                let matches: Vec<SubjectPseudonym> = own
                    .iter()
                    .zip(&keep)
                    .filter(|(_, k)| **k)
                    .map(|(p, _)| *p)
                    .collect();
                RunResult {
                    count: u64::try_from(matches.len()).unwrap_or(u64::MAX),
                    matches,
                    count_only: false,
                    salt,
                }
            }
        };
        self.shared
            .assess
            .policy_results
            .put(&run, &result)
            .map_err(|e| aborted(e.to_string()))?;
        // The ledger gets a salted commitment to the matches (own set is ascending and
        // distinct, and so are the kept ones), so a matched person's history can show the
        // run with a proof, while the root says nothing of who or how many.
        let tree = MatchesTree::new(run, salt, &result.matches)
            .ok_or_else(|| aborted("the matches are not ascending and distinct"))?;
        let end = Call::PolicyEnd(PolicyEnd {
            run,
            outcome: RunOutcome::Completed(tree.root()),
        });
        // Timings are in place before the end can be seen on the ledger (a caller that sees
        // the run completed finds them), then updated with the commit's time.
        let results = &self.shared.assess.policy_results;
        let mut timings = RunTimings {
            evaluate_ms,
            psi_ms,
            finish_ms: millis(finishing.elapsed()),
        };
        results.set_timings(&run, timings);
        match self.record(&end).await {
            Ok(crate::shared::SubmitOutcome::Committed { .. }) => {
                timings.finish_ms = millis(finishing.elapsed());
                results.set_timings(&run, timings);
                Ok(Some(result.count))
            }
            Ok(other) => Err(aborted(format!("run end not committed: {other:?}"))),
            Err(e) => Err(aborted(e)),
        }
    }
}
