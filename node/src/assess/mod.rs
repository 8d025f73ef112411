//! Assessments: what a department node does for a committed assessment request.
//!
//! `chain` announces every stored block ([`crate::shared::BlockNews`]) with the requests it
//! opened. For each, every department node with an `[assessment]` section:
//!
//! 1. looks on its own replica for a consent that covers the request's subject, requester
//!    and purpose and the data categories of the inputs this department contributes (each
//!    model input declares its category; see [`crate::categories`]); without one it
//!    records `FailRequest(consent missing)` and stops; a department that contributes no
//!    input records no access and only helps compute;
//! 2. records its `AccessRecord` and waits until it is committed: no input of this
//!    department leaves the node before its access is on the ledger;
//! 3. loads its inputs for the subject from the department store (connectors' features,
//!    mapped onto the model by [`inputs`]); without a record it fails the request with
//!    `data unavailable`;
//! 4. waits until the request is authorised (every department's access is committed);
//! 5. checks that the access committed on its replica covers the category of every input
//!    it contributes (else `FailRequest(consent missing)`, nothing sent), joins the MPC
//!    session named by the request id with the other two departments over p2p streams
//!    (`mpc_session`) and evaluates the model; the outputs stay secret-shared;
//! 6. binds its additive output share to the request (the request id and the digest of
//!    the subject list go inside the share's plaintext, `weinong_mpc::model::ShareBinding`),
//!    seals it to the requester's SM2 key, SM2-signs the sealed share with its ledger key
//!    (`"weinong-result-share-v1"` ‖ consortium id ‖ request id ‖ party ‖ model id ‖ SM3 of
//!    the ciphertext: `weinong_mpc::model::share_signature_message`), stores it with the
//!    signature ([`crate::results`]) and hands both to the other two nodes, so the requester can
//!    fetch all three from any node. Only the requester can open them; its client checks
//!    each signature against that department's key on the ledger and each binding against
//!    its request before it reconstructs, and it records the result commitment itself.
//!
//! A peer's sealed share ([`accept_peer_share`]) is written only when the request is
//! known and authorised on this node's replica, the sender's key is the configured key of
//! the party it names, an active department member key on the ledger, the member that
//! recorded the request's access for that party's department (where one is recorded),
//! and its signature over the share verifies; anything else is refused before a byte is
//! stored, so a member cannot make the others keep shares for requests that do not exist
//! or in another department's name.
//!
//! A batch request (many subjects, one request) starts once its last list part is
//! committed. Step 1–2 become one `BatchAccess` for the whole list: the contracts find
//! each subject's covering consent and record it (subjects without one are not
//! accessed). After authorisation every node reads the subjects that all departments'
//! accesses covered, loads their inputs, and in the session's first round the three agree
//! (publicly) on the subjects every department holds usable records of; the rest of the
//! session evaluates the model over those in one vectorised run, and the sealed share
//! names the rows it covers (`BatchShare`).
//!
//! Any failure after step 2 records `FailRequest(computation aborted)`; the first failure
//! recorded closes the request and the contracts refuse the others.
//!
//! No request is dropped, by construction: the work list is the ledger's set of open
//! requests, not the block notices. After every block notice (or a lagged one), after
//! each finished request and once at start, the driver sweeps the open requests of its
//! replica and starts each it is not already serving and has not finished (its own sealed
//! share is stored), at most [`ASSESSMENTS_IN_FLIGHT`] at once and at most
//! [`ASSESSMENTS_PER_REQUESTER_IN_FLIGHT`] of one requester (so one care home cannot take
//! every slot); the rest stay open on the ledger and start at a later sweep. A node that
//! restarts resumes the open requests it had not finished: an access it recorded before is
//! found committed and not recorded again; a session the others already gave up on fails
//! the request on the ledger with its reason.
//!
//! Must not know: HTTP or Raft. It reads the replica and submits through [`Shared`], and
//! talks to peers through the p2p layer and `mpc_session`.

pub mod inputs;
pub mod models;
pub mod policy;
#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::Context;
use serde_bytes::ByteBuf;
use tokio::sync::broadcast;
use weinong_connectors::features::load_features;
use weinong_connectors::store::Store;
use weinong_contracts::state::KeyStatus;
use weinong_contracts::{
    AccessRecord, BatchAccess, Call, CategorySet, ConsentId, Department, FailRequest,
    FailureReason, FieldsHash, RequestEvent, RequestId, RequestStatus, Role, State,
};
use weinong_keys::clock::now_ms;
use weinong_keys::{KeyId, KeyPair, Signature, SubjectPseudonym, sm3_digest};
use weinong_ledger::{Transaction, TxBody};
use weinong_mpc::model::{
    BatchShare, Holder, Model, ModelId as MpcModelId, OutputShare, PartyInputs, ShareBinding,
    evaluate_party_for_requester, share_signature_message, subjects_digest,
};
use weinong_mpc::{PartyId, SessionId};

use crate::config::AssessmentSection;
use crate::limits::{ASSESSMENTS_IN_FLIGHT, ASSESSMENTS_PER_REQUESTER_IN_FLIGHT, OWN_TX_ATTEMPTS};
use crate::metrics::AssessmentEnd;
use crate::mpc_session::{MpcSession, MpcStreams, SessionPlan};
use crate::p2p::{Message, P2p};
use crate::raft_network::NodeP2p;
use crate::results::SealedShare;
use crate::shared::{Shared, SubmitOutcome};
use crate::wire::{PeerRequest, PeerResponse};
use models::Models;

/// `key` followed through its rotations on the ledger (bounded: a chain of rotations longer
/// than the member limit is not followed further).
fn current_key(state: &weinong_contracts::State, mut key: KeyId) -> KeyId {
    for _ in 0..64 {
        match state.key(&key).map(|k| k.status()) {
            Some(weinong_contracts::state::KeyStatus::Rotated { successor, .. }) => key = successor,
            _ => break,
        }
    }
    key
}

/// The assessment driver of one department node.
pub struct Assessor {
    shared: Arc<Shared>,
    key: Arc<KeyPair>,
    p2p: NodeP2p,
    streams: MpcStreams,
    me: PartyId,
    /// This node's department: the holder of the inputs it contributes, and whose data
    /// store it reads.
    holder: Holder,
    /// The departments' keys as configured; [`Assessor::parties`] follows the ledger's
    /// rotations from them.
    configured_parties: [KeyId; 3],
    store: Store,
    models: Models,
    timeout: Duration,
    last_nonce: AtomicU64,
    /// The work list's bookkeeping (see the module doc).
    work: std::sync::Mutex<WorkList>,
    /// Woken when a request finishes, so waiting ones start without the next block.
    finished: tokio::sync::Notify,
    /// Routes incoming PSI streams to the policy-run steps this node sends in.
    psi: crate::psi_session::PsiStreams,
    /// The policies this node ships, by ledger id.
    policies: policy::Policies,
    /// The policy runs being served or finished (see [`policy`]).
    runs: std::sync::Mutex<policy::RunBook>,
    /// Fault injection (`[faults] policy_pause_after_access_ms`): zero in production.
    policy_pause: Duration,
}

/// Which open requests this node is serving, and which it finished while they are still
/// open on the ledger (a failure recorded but not yet committed, or a computed request
/// waiting for its requester's result).
#[derive(Default)]
struct WorkList {
    serving: std::collections::BTreeMap<RequestId, KeyId>,
    done: std::collections::BTreeSet<RequestId>,
}

impl WorkList {
    /// Picks, in the ledger's order, the open requests to start now: not served, not done,
    /// within the global and per-requester bounds; marks them served.
    fn pick(
        &mut self,
        open: impl Iterator<Item = (RequestId, KeyId)>,
        is_done: impl Fn(&RequestId) -> bool,
    ) -> Vec<RequestId> {
        let mut still_open = std::collections::BTreeSet::new();
        let mut picked = Vec::new();
        for (request, requester) in open {
            still_open.insert(request);
            if self.serving.contains_key(&request) || self.done.contains(&request) {
                continue;
            }
            if self.serving.len() >= ASSESSMENTS_IN_FLIGHT {
                continue;
            }
            let theirs = self.serving.values().filter(|k| **k == requester).count();
            if theirs >= ASSESSMENTS_PER_REQUESTER_IN_FLIGHT {
                continue;
            }
            if is_done(&request) {
                self.done.insert(request);
                continue;
            }
            self.serving.insert(request, requester);
            picked.push(request);
        }
        // Closed requests never come back: forget them.
        self.done.retain(|r| still_open.contains(r));
        picked
    }

    fn finish(&mut self, request: &RequestId) {
        self.serving.remove(request);
        self.done.insert(*request);
    }
}

/// Why this node gave up on a request (what it records on the ledger, and the detail it
/// logs).
struct Failure {
    reason: FailureReason,
    detail: String,
}

impl Failure {
    fn new(reason: FailureReason, detail: impl Into<String>) -> Failure {
        Failure {
            reason,
            detail: detail.into(),
        }
    }
}

impl Assessor {
    /// Opens the department store and starts routing MPC streams; call [`Assessor::run`]
    /// next.
    pub async fn open(
        shared: Arc<Shared>,
        key: Arc<KeyPair>,
        p2p: NodeP2p,
        section: &AssessmentSection,
        policy_pause: Duration,
    ) -> anyhow::Result<Arc<Assessor>> {
        let parse = |field: &str, hex: &str| {
            hex.parse::<KeyId>()
                .with_context(|| format!("assessment.parties.{field}: not a key id"))
        };
        let parties = [
            parse("civil_affairs", &section.parties.civil_affairs)?,
            parse("health", &section.parties.health)?,
            parse("medical_insurance", &section.parties.medical_insurance)?,
        ];
        let me = PartyId::ALL[section.department.party()];
        let mine = match shared.ledger() {
            Ok(r) => current_key(&r.state, parties[me.index()]),
            Err(_) => parties[me.index()],
        };
        if mine != key.key_id() {
            // A key the replica does not know yet (a rotation it has not caught up with)
            // is let through: the node follows the ledger and takes part once it knows.
            let known = shared
                .ledger()
                .map(|r| r.state.key(&key.key_id()).is_some())
                .unwrap_or(true);
            if known {
                anyhow::bail!(
                    "assessment.parties names {} for {:?} (on the ledger now {mine}), but this node's key is {}",
                    parties[me.index()],
                    section.department,
                    key.key_id()
                );
            }
            tracing::warn!(
                key = %key.key_id(),
                "this node's key is not yet known to its replica; it takes part in assessments once the replica caught up with the rotation"
            );
        }
        if !section.data_secrets.exists() {
            anyhow::bail!(
                "assessment.data_secrets: {} does not exist (write it with `weinong data secrets`)",
                section.data_secrets.display()
            );
        }
        let store = Store::open(&section.database)
            .await
            .with_context(|| format!("assessment.database: cannot open {}", section.database))?;
        if let Some(report) = store.upgrade_report() {
            tracing::warn!(%report, "assessment.database upgraded");
        }
        let streams = MpcStreams::start(&p2p).context("starting the MPC stream router")?;
        let psi = crate::psi_session::PsiStreams::start(&p2p)
            .context("starting the PSI stream router")?;
        let policies = policy::Policies::shipped()
            .map_err(|e| anyhow::anyhow!("parsing the shipped policies: {e}"))?;
        Ok(Arc::new(Assessor {
            shared,
            key,
            p2p,
            streams,
            me,
            holder: section.department,
            configured_parties: parties,
            store,
            models: Models::shipped().context("compiling the shipped models")?,
            timeout: Duration::from_millis(section.session_timeout_ms),
            last_nonce: AtomicU64::new(0),
            work: std::sync::Mutex::new(WorkList::default()),
            finished: tokio::sync::Notify::new(),
            psi,
            policies,
            runs: std::sync::Mutex::new(policy::RunBook::default()),
            policy_pause,
        }))
    }

    /// Serves the open requests of the ledger, now and after every block, until the node
    /// stops (see the module doc).
    pub async fn run(self: Arc<Self>) {
        let mut news = self.shared.assess.blocks.subscribe();
        loop {
            self.sweep();
            self.sweep_policy_runs();
            tokio::select! {
                notice = news.recv() => match notice {
                    // A lagged receiver missed notices, not requests: the sweep reads
                    // the ledger itself.
                    Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                    Err(broadcast::error::RecvError::Closed) => return,
                },
                () = self.finished.notified() => {}
            }
        }
    }

    /// Starts every open request that [`WorkList::pick`] picks.
    fn sweep(self: &Arc<Self>) {
        let open: Vec<(RequestId, KeyId)> = match self.shared.ledger() {
            Ok(replica) => replica
                .state
                .open_requests()
                // A batch starts once its whole list is on the ledger.
                .filter(|(_, r)| r.batch().is_none_or(|b| b.is_complete()))
                .map(|(id, r)| (*id, r.requester))
                .collect(),
            Err(e) => {
                tracing::error!(error = %e, "assessment driver cannot read the replica");
                return;
            }
        };
        let picked = match self.work.lock() {
            Ok(mut work) => work.pick(open.into_iter(), |r| self.has_own_share(r)),
            Err(_) => {
                tracing::error!("assessment work list poisoned; restart the node");
                return;
            }
        };
        for request in picked {
            let this = self.clone();
            tokio::spawn(async move {
                this.serve(request).await;
                if let Ok(mut work) = this.work.lock() {
                    work.finish(&request);
                }
                this.finished.notify_one();
            });
        }
    }

    /// Whether this node's own sealed share of `request` is stored (it computed it before,
    /// perhaps before a restart).
    fn has_own_share(&self, request: &RequestId) -> bool {
        self.shared
            .assess
            .results
            .get(request)
            .is_ok_and(|shares| shares.iter().any(|s| s.party == self.me.as_u8()))
    }

    /// Takes one request through the steps of the module doc; records a failure if a step
    /// fails.
    async fn serve(self: &Arc<Self>, request: RequestId) {
        let started = std::time::Instant::now();
        let outcome = self.assess(request).await;
        let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
        let end = match &outcome {
            Ok(true) => AssessmentEnd::Computed,
            Ok(false) => AssessmentEnd::Skipped,
            Err(_) => AssessmentEnd::Failed,
        };
        self.shared.metrics.record_assessment(end, micros);
        match outcome {
            Ok(true) => tracing::info!(%request, "assessment computed; sealed output share stored"),
            Ok(false) => tracing::info!(%request, "nothing to do for this request"),
            Err(failure) => {
                tracing::warn!(%request, reason = %failure.reason, detail = %failure.detail, "assessment failed");
                let call = Call::FailRequest(FailRequest {
                    request,
                    reason: failure.reason,
                });
                match self.record(&call).await {
                    Ok(_) => {}
                    Err(e) => {
                        tracing::debug!(%request, error = %e, "failure not recorded (the request is probably closed already)")
                    }
                }
            }
        }
    }

    async fn assess(self: &Arc<Self>, request: RequestId) -> Result<bool, Failure> {
        let Some(job) = self.job(&request)? else {
            return Ok(false);
        };
        let plaintext = match job.subject {
            Some(subject) => self.assess_single(request, &job, subject).await?,
            None => self.assess_batch(request, &job).await?,
        };
        // 6: sealed to the requester, signed, kept here and handed to the peers.
        let blob = job.requester_key.encrypt(&plaintext).map_err(|e| {
            Failure::new(
                FailureReason::ComputationAborted,
                format!("sealing the output share: {e}"),
            )
        })?;
        let message = share_signature_message(
            &job.consortium,
            request.as_bytes(),
            self.me,
            &job.model.id(),
            &sm3_digest(&blob),
        );
        let sealed = SealedShare {
            party: self.me.as_u8(),
            signer: self.key.key_id(),
            signature: self.key.sign(&message).to_bytes(),
            blob,
        };
        self.shared
            .assess
            .results
            .put(&request, &sealed)
            .map_err(|e| Failure::new(FailureReason::ComputationAborted, e.to_string()))?;
        self.hand_to_peers(&request, &sealed).await;
        Ok(true)
    }

    /// What the replica says of an open request this node can compute; `None` if there is
    /// nothing to do (unknown or closed).
    fn job(&self, request: &RequestId) -> Result<Option<Job>, Failure> {
        let replica = self.shared.ledger().map_err(|e| {
            Failure::new(FailureReason::ComputationAborted, format!("replica: {e}"))
        })?;
        let state = &replica.state;
        let Some(r) = state.request(request) else {
            return Ok(None);
        };
        if !r.status.is_open() {
            return Ok(None);
        }
        let model = self.models.get(r.model.as_bytes()).ok_or_else(|| {
            Failure::new(
                FailureReason::ComputationAborted,
                format!("model {} is not one this node can compute", r.model),
            )
        })?;
        if state.model(&r.model).is_none() {
            return Err(Failure::new(
                FailureReason::ComputationAborted,
                format!("model {} is not registered", r.model),
            ));
        }
        // The categories of the inputs this department contributes, from the compiled
        // model itself, never from what the registration declared.
        let categories = crate::categories::contributed(&model, self.holder).ok_or_else(|| {
            Failure::new(
                FailureReason::ComputationAborted,
                format!(
                    "model {} names a data category the ledger does not know",
                    r.model
                ),
            )
        })?;
        let requester_key = state
            .key(&r.requester)
            .map(|k| k.public_key().clone())
            .ok_or_else(|| {
                Failure::new(
                    FailureReason::ComputationAborted,
                    format!("requester key {} is unknown", r.requester),
                )
            })?;
        // Every node reads the data as of the request's own block time, so all three
        // agree on ages and windows whenever they run.
        let as_of_ms = r
            .history
            .first()
            .map_or(state.last_block().time_ms, |e| e.at.time_ms);
        // The subject list as the ledger holds it (a batch starts only once complete).
        let subjects = match (r.subject(), r.batch()) {
            (Some(subject), _) => subjects_digest(std::iter::once(subject.as_bytes())),
            (None, Some(batch)) => {
                subjects_digest(batch.subjects().iter().map(SubjectPseudonym::as_bytes))
            }
            (None, None) => subjects_digest(std::iter::empty()),
        };
        Ok(Some(Job {
            model,
            categories,
            subject: r.subject().copied(),
            as_of_ms,
            requester_key,
            binding: ShareBinding {
                request: *request.as_bytes(),
                subjects,
            },
            consortium: state.consortium().0,
        }))
    }

    /// Steps 1–5 for one subject; returns the encoded output share.
    async fn assess_single(
        self: &Arc<Self>,
        request: RequestId,
        job: &Job,
        subject: SubjectPseudonym,
    ) -> Result<Vec<u8>, Failure> {
        // 1–2: consent, then the access record, committed before any input is read.
        if !job.categories.is_empty() {
            let consent = self.find_consent(&request, job.categories)?;
            let call = Call::AccessRecord(AccessRecord {
                request,
                node: self.member()?,
                subject,
                categories: job.categories,
                consent,
                fields: fields_hash(&job.model, self.holder),
            });
            self.commit_access(&call).await?;
        }

        // 3: this department's inputs.
        let table = self.load_inputs(&[subject], job).await?;
        let columns = inputs::department_columns(&job.model, self.holder, &table)
            .map_err(|gap| Failure::new(FailureReason::DataUnavailable, gap.to_string()))?;

        // 4: every department's access is on the ledger.
        self.wait_authorised(&request).await?;

        // 5: the joint computation, only with inputs the committed access covers.
        let session = self.session(&request, job, Some(&subject)).await?;
        let holder = self.holder;
        let model = job.model.clone();
        let mut share = session
            .run(move |party| evaluate_one(party, &model, holder, columns))
            .await
            .map_err(|e| Failure::new(FailureReason::ComputationAborted, e.to_string()))?;
        share.bind(job.binding);
        Ok(share.to_bytes())
    }

    /// Steps 1–5 for a batch: one access for the whole list (the contracts find each
    /// subject's consent), then the subjects every department's access covered, less those
    /// some department holds no usable record of (agreed in the session's first round),
    /// in one vectorised session. Returns the encoded [`BatchShare`].
    async fn assess_batch(
        self: &Arc<Self>,
        request: RequestId,
        job: &Job,
    ) -> Result<Vec<u8>, Failure> {
        if !job.categories.is_empty() {
            let call = Call::BatchAccess(BatchAccess {
                request,
                node: self.member()?,
                categories: job.categories,
                fields: fields_hash(&job.model, self.holder),
            });
            self.commit_access(&call).await?;
        }
        self.wait_authorised(&request).await?;

        let (rows, subjects) = {
            let replica = self.shared.ledger().map_err(|e| {
                Failure::new(FailureReason::ComputationAborted, format!("replica: {e}"))
            })?;
            let batch = replica
                .state
                .request(&request)
                .and_then(|r| r.batch())
                .ok_or_else(|| {
                    Failure::new(FailureReason::ComputationAborted, "batch request vanished")
                })?;
            let rows = batch.computable();
            let subjects: Vec<SubjectPseudonym> = rows
                .iter()
                .filter_map(|&i| batch.subjects().get(usize::try_from(i).ok()?).copied())
                .collect();
            (rows, subjects)
        };
        if subjects.is_empty() {
            return Err(Failure::new(
                FailureReason::ConsentMissing,
                "no subject of the batch has a consent covering every department's access",
            ));
        }
        let table = self.load_inputs(&subjects, job).await?;
        let have = inputs::usable_rows(&job.model, self.holder, &table);
        tracing::info!(
            %request,
            consented = subjects.len(),
            usable = have.iter().filter(|h| **h).count(),
            "batch inputs loaded"
        );

        let session = self.session(&request, job, None).await?;
        let holder = self.holder;
        let model = job.model.clone();
        let mut share = session
            .run(move |party| {
                let agreed = party.agree_on_rows(&have)?;
                let positions: Vec<usize> = agreed
                    .iter()
                    .enumerate()
                    .filter_map(|(i, a)| a.then_some(i))
                    .collect();
                if positions.is_empty() {
                    return Err(weinong_mpc::MpcError::Setup {
                        reason: "no consented subject has records at every department".into(),
                    });
                }
                let setup = |e: String| weinong_mpc::MpcError::Setup { reason: e };
                let columns = inputs::department_columns_of(&model, holder, &table, &positions)
                    .map_err(|e| setup(format!("inputs: {e}")))?;
                let own = PartyInputs::from_columns(&model, holder, positions.len(), columns)
                    .map_err(|e| setup(format!("inputs: {e}")))?;
                let share = evaluate_party_for_requester(party, &model, positions.len(), &own)?;
                Ok(BatchShare {
                    rows: positions.iter().map(|&p| rows[p]).collect(),
                    share,
                })
            })
            .await
            .map_err(|e| Failure::new(FailureReason::ComputationAborted, e.to_string()))?;
        share.share.bind(job.binding);
        Ok(share.to_bytes())
    }

    /// This department's feature rows of `subjects` as of the job's date.
    async fn load_inputs(
        &self,
        subjects: &[SubjectPseudonym],
        job: &Job,
    ) -> Result<weinong_connectors::features::FeatureTable, Failure> {
        load_features(
            &self.store,
            self.holder,
            subjects,
            as_of_date(job.as_of_ms)?,
        )
        .await
        .map_err(|e| {
            Failure::new(
                FailureReason::DataUnavailable,
                format!("department store: {e}"),
            )
        })
    }

    /// Records this node's access and waits until it is committed: no input leaves the
    /// node before that.
    async fn commit_access(&self, call: &Call) -> Result<(), Failure> {
        if self.access_committed(call)? {
            // Recorded before a restart: the ledger already says what this node reads.
            return Ok(());
        }
        match self.record(call).await {
            Ok(SubmitOutcome::Committed { .. }) => Ok(()),
            Ok(SubmitOutcome::Rejected { rejection, .. }) => Err(Failure::new(
                FailureReason::ConsentMissing,
                format!("access record refused: {rejection}"),
            )),
            Ok(SubmitOutcome::Unavailable { reason, .. }) => Err(Failure::new(
                FailureReason::ComputationAborted,
                format!("access record not committed: {reason}"),
            )),
            Err(e) => Err(Failure::new(FailureReason::ComputationAborted, e)),
        }
    }

    /// Whether the ledger already holds this node's access for the request `call` names.
    fn access_committed(&self, call: &Call) -> Result<bool, Failure> {
        let request = match call {
            Call::AccessRecord(a) => a.request,
            Call::BatchAccess(b) => b.request,
            Call::PolicyAccess(a) => {
                let me = self.member()?;
                let replica = self.shared.ledger().map_err(|e| {
                    Failure::new(FailureReason::ComputationAborted, format!("replica: {e}"))
                })?;
                return Ok(replica
                    .state
                    .run(&a.run)
                    .is_some_and(|r| r.accesses.iter().any(|x| x.node == me)));
            }
            _ => return Ok(false),
        };
        let me = self.member()?;
        let replica = self.shared.ledger().map_err(|e| {
            Failure::new(FailureReason::ComputationAborted, format!("replica: {e}"))
        })?;
        Ok(replica.state.request(&request).is_some_and(|r| {
            r.history.iter().any(|h| {
                matches!(
                    h.event,
                    RequestEvent::Accessed { node, .. } | RequestEvent::BatchAccessed { node, .. }
                        if node == me
                )
            })
        }))
    }

    /// The MPC session named by the request id, with the other two departments; joined
    /// only if the access this node has committed for `request` (its `AccessRecord` for
    /// `subject`, or its `BatchAccess`), read off the replica rather than taken from what
    /// it meant to record, covers the category of every input it contributes
    /// ([`join_covered`]).
    async fn session(
        &self,
        request: &RequestId,
        job: &Job,
        subject: Option<&SubjectPseudonym>,
    ) -> Result<MpcSession, Failure> {
        let committed = if job.categories.is_empty() {
            CategorySet::EMPTY
        } else {
            let me = self.member()?;
            let replica = self.shared.ledger().map_err(|e| {
                Failure::new(FailureReason::ComputationAborted, format!("replica: {e}"))
            })?;
            committed_access(&replica.state, request, subject, me)
        };
        let plan = SessionPlan {
            parties: self.parties(),
            me: self.me,
            session: SessionId::from_bytes(*request.as_bytes()),
        };
        let coverage = Coverage {
            model: &job.model,
            holder: self.holder,
            committed,
        };
        join_covered(&self.p2p, &self.streams, plan, self.timeout, &coverage).await
    }

    fn find_consent(
        &self,
        request: &RequestId,
        categories: CategorySet,
    ) -> Result<ConsentId, Failure> {
        let replica = self.shared.ledger().map_err(|e| {
            Failure::new(FailureReason::ComputationAborted, format!("replica: {e}"))
        })?;
        let now = replica.state.last_block().time_ms;
        replica
            .state
            .covering_consent(request, categories, now)
            .ok_or_else(|| {
                Failure::new(
                    FailureReason::ConsentMissing,
                    format!("no valid consent covers {categories} for this request"),
                )
            })
    }

    fn member(&self) -> Result<weinong_contracts::MemberId, Failure> {
        let replica = self.shared.ledger().map_err(|e| {
            Failure::new(FailureReason::ComputationAborted, format!("replica: {e}"))
        })?;
        replica
            .state
            .key(&self.key.key_id())
            .and_then(|k| k.member())
            .ok_or_else(|| {
                Failure::new(
                    FailureReason::ComputationAborted,
                    format!("this node's key {} is not a member", self.key.key_id()),
                )
            })
    }

    /// Waits until `request` is authorised; fails if it closes, or if the other
    /// departments have not recorded their accesses within the session time-out (a
    /// department that is down fails the request quickly, with a reason, instead of
    /// leaving it open until the contracts' day-long deadline).
    async fn wait_authorised(&self, request: &RequestId) -> Result<(), Failure> {
        let mut news = self.shared.assess.blocks.subscribe();
        let give_up_ms = now_ms().saturating_add(millis(self.timeout));
        loop {
            let deadline_ms = {
                let replica = self.shared.ledger().map_err(|e| {
                    Failure::new(FailureReason::ComputationAborted, format!("replica: {e}"))
                })?;
                let r = replica.state.request(request).ok_or_else(|| {
                    Failure::new(FailureReason::ComputationAborted, "request vanished")
                })?;
                match r.status {
                    RequestStatus::Authorised => return Ok(()),
                    RequestStatus::Requested => r.deadline_ms,
                    other => {
                        return Err(Failure::new(
                            FailureReason::ComputationAborted,
                            format!("request closed while waiting for the other accesses: {other}"),
                        ));
                    }
                }
            };
            let left = deadline_ms.min(give_up_ms).saturating_sub(now_ms());
            match tokio::time::timeout(Duration::from_millis(left.max(1)), news.recv()).await {
                Ok(Ok(_)) | Ok(Err(broadcast::error::RecvError::Lagged(_))) => {}
                Ok(Err(broadcast::error::RecvError::Closed)) | Err(_) => {
                    return Err(Failure::new(
                        FailureReason::ComputationAborted,
                        format!(
                            "the other departments did not record their accesses within {} ms",
                            millis(self.timeout)
                        ),
                    ));
                }
            }
        }
    }

    async fn hand_to_peers(&self, request: &RequestId, sealed: &SealedShare) {
        for (index, peer) in self.parties().iter().enumerate() {
            if index == self.me.index() {
                continue;
            }
            let message = PeerRequest::SealedShare {
                request: *request.as_bytes(),
                party: sealed.party,
                signature: ByteBuf::from(sealed.signature.to_vec()),
                blob: ByteBuf::from(sealed.blob.clone()),
            };
            match self.p2p.request(peer, message).await {
                Ok(PeerResponse::Ack) => {}
                Ok(other) => {
                    tracing::warn!(%request, %peer, response = ?other, "peer did not take the sealed share")
                }
                Err(e) => {
                    tracing::warn!(%request, %peer, error = %e, "cannot hand the sealed share to a peer")
                }
            }
        }
    }

    /// Signs `call` with the node's key and submits it; retries with a fresh nonce when a
    /// concurrent transaction of this node took a higher one first.
    async fn record(&self, call: &Call) -> Result<SubmitOutcome, String> {
        let payload = call.encode().map_err(|e| e.to_string())?;
        let mut outcome = None;
        for _ in 0..OWN_TX_ATTEMPTS {
            let nonce = self.next_nonce();
            let body = TxBody {
                kind: call.kind(),
                signer: self.key.key_id(),
                nonce,
                time_ms: now_ms(),
                payload: payload.clone(),
            };
            let tx = Transaction::sign(body, &self.key).map_err(|e| e.to_string())?;
            let result = self
                .shared
                .submit(vec![tx])
                .await
                .map_err(|e| e.to_string())?
                .pop()
                .ok_or("no outcome for the transaction")?;
            // Decided on the refusal's code, never its wording.
            let stale_nonce = result.is_stale_nonce();
            outcome = Some(result);
            if !stale_nonce {
                break;
            }
        }
        outcome.ok_or_else(|| "no attempt made".to_owned())
    }

    /// Above both the clock and every nonce this node used or the ledger holds.
    fn next_nonce(&self) -> u64 {
        let on_ledger = self
            .shared
            .ledger()
            .ok()
            .and_then(|r| r.state.last_nonce(&self.key.key_id()))
            .unwrap_or(0);
        let floor = now_ms().max(on_ledger.saturating_add(1));
        let mut current = self.last_nonce.load(Ordering::SeqCst);
        loop {
            let next = floor.max(current.saturating_add(1));
            match self.last_nonce.compare_exchange(
                current,
                next,
                Ordering::SeqCst,
                Ordering::SeqCst,
            ) {
                Ok(_) => return next,
                Err(seen) => current = seen,
            }
        }
    }

    /// The departments' keys now: each configured key followed through the ledger's
    /// rotations, so a department that rotated its key stays a party under the new one.
    fn parties(&self) -> [KeyId; 3] {
        match self.shared.ledger() {
            Ok(r) => self.configured_parties.map(|k| current_key(&r.state, k)),
            Err(_) => self.configured_parties,
        }
    }

    /// Stores a peer's sealed share after [`accept_peer_share`]'s checks.
    pub fn accept_sealed(
        &self,
        from: &KeyId,
        request: [u8; 32],
        party: u8,
        signature: &[u8],
        blob: Vec<u8>,
    ) -> PeerResponse {
        accept_peer_share(
            &self.shared,
            &self.parties(),
            from,
            RequestId::from_bytes(request),
            party,
            signature,
            blob,
        )
    }
}

/// Stores the sealed share a peer (`from`, as the p2p layer authenticated it) hands this
/// node, only if [`check_peer_share`] finds nothing wrong; otherwise refuses, naming why,
/// before anything is written.
pub fn accept_peer_share(
    shared: &Shared,
    parties: &[KeyId; 3],
    from: &KeyId,
    request: RequestId,
    party: u8,
    signature: &[u8],
    blob: Vec<u8>,
) -> PeerResponse {
    let Ok(signature) = <[u8; 64]>::try_from(signature) else {
        return PeerResponse::Refused(format!(
            "the signature of a sealed share is 64 bytes (r‖s), not {}",
            signature.len()
        ));
    };
    let share = SealedShare {
        party,
        signer: *from,
        signature,
        blob,
    };
    let checked = match shared.ledger() {
        Ok(replica) => check_peer_share(&replica.state, parties, &request, &share),
        Err(e) => Err(format!("the replica cannot be read: {e}")),
    };
    if let Err(reason) = checked {
        tracing::warn!(%request, peer = %from, party, %reason, "peer's sealed share refused");
        return PeerResponse::Refused(reason);
    }
    match shared.assess.results.put(&request, &share) {
        Ok(()) => PeerResponse::Ack,
        Err(e) => PeerResponse::Refused(e.to_string()),
    }
}

/// Why a peer's sealed share for `request` must not be stored, if it must not: the party
/// is not 0–2 or `share.signer` is not the key configured for it; the request is unknown
/// or not authorised (or computed) on `state`; the signer is not an active department
/// member key; another member recorded the request's access for that party's department,
/// or the signer's member recorded another department's; or the signature does not verify over the share's message.
pub fn check_peer_share(
    state: &State,
    parties: &[KeyId; 3],
    request: &RequestId,
    share: &SealedShare,
) -> Result<(), String> {
    let from = &share.signer;
    let party =
        PartyId::new(share.party).map_err(|_| format!("party {} is not 0, 1 or 2", share.party))?;
    if parties[party.index()] != *from {
        return Err(format!(
            "key {from} is not party {} of assessment sessions (that is {})",
            share.party,
            parties[party.index()]
        ));
    }
    let r = state
        .request(request)
        .ok_or_else(|| format!("request {request} is not on this node's ledger"))?;
    match r.status {
        RequestStatus::Authorised | RequestStatus::Computed { .. } => {}
        other => {
            return Err(format!(
                "request {request} is {other}: shares are taken only for authorised requests"
            ));
        }
    }
    let key = state
        .key(from)
        .ok_or_else(|| format!("key {from} is not registered on the ledger"))?;
    if key.status() != KeyStatus::Active {
        return Err(format!(
            "key {from} may no longer sign (status {:?})",
            key.status()
        ));
    }
    let now = state.last_block().time_ms;
    let member = key
        .member()
        .filter(|_| state.roles_at(from, now).contains(&Role::Department))
        .ok_or_else(|| format!("key {from} is not a department member's key"))?;
    let department = Department::ALL[party.index()];
    for entry in &r.history {
        let (node, categories) = match &entry.event {
            RequestEvent::Accessed {
                node, categories, ..
            }
            | RequestEvent::BatchAccessed {
                node, categories, ..
            } => (*node, *categories),
            _ => continue,
        };
        if categories.iter().any(|c| c.holder() == department) && node != member {
            return Err(format!(
                "member {} recorded this request's {department:?} access, not member {} (key {from}): the share is not that department's",
                node.0, member.0
            ));
        }
        if let Some(other) = categories
            .iter()
            .map(|c| c.holder())
            .find(|d| *d != department)
            && node == member
        {
            return Err(format!(
                "member {} (key {from}) recorded this request's {other:?} access, so it is not {department:?}: the share is not that department's",
                member.0
            ));
        }
    }
    let model = MpcModelId(*r.model.as_bytes());
    let message = share_signature_message(
        &state.consortium().0,
        request.as_bytes(),
        party,
        &model,
        &sm3_digest(&share.blob),
    );
    let signature = Signature::from_bytes(&share.signature)
        .map_err(|e| format!("the share's signature is malformed: {e}"))?;
    key.public_key().verify(&message, &signature).map_err(|_| {
        format!(
            "the signature of party {}'s share does not verify with key {from}",
            share.party
        )
    })
}

/// What a request asks of this node, read off the replica once.
struct Job {
    model: Arc<Model>,
    /// The categories of the inputs this department contributes, derived from the
    /// compiled model (empty: it contributes none and records no access).
    categories: CategorySet,
    /// The subject of a single request; `None` for a batch.
    subject: Option<SubjectPseudonym>,
    /// The request's block time: the date the data is read as of.
    as_of_ms: u64,
    requester_key: weinong_keys::PublicKey,
    /// What the share is computed for: request id and subject-list digest.
    binding: ShareBinding,
    /// The consortium id, for the share's signature.
    consortium: [u8; 32],
}

/// What a node may contribute to a session: the inputs `holder` holds in `model`, if
/// `committed` (the categories of its access as committed on the ledger) covers them.
struct Coverage<'a> {
    model: &'a Model,
    holder: Holder,
    committed: CategorySet,
}

/// Joins `plan`'s session, but only if `coverage.committed` covers the category of every
/// input `coverage.holder` contributes: otherwise it fails before opening any stream, so
/// not one byte (let alone an input share) reaches the peers. A holder that contributes
/// no input needs no access.
async fn join_covered<Req: Message, Resp: Message>(
    p2p: &P2p<Req, Resp>,
    streams: &MpcStreams,
    plan: SessionPlan,
    timeout: Duration,
    coverage: &Coverage<'_>,
) -> Result<MpcSession, Failure> {
    let uncovered =
        crate::categories::uncovered(coverage.model, coverage.holder, coverage.committed);
    if !uncovered.is_empty() {
        return Err(Failure::new(
            FailureReason::ConsentMissing,
            format!(
                "this node's committed access covers {}, not the inputs {} it would contribute; it joins no session",
                coverage.committed,
                uncovered.join(", ")
            ),
        ));
    }
    MpcSession::establish(p2p, streams, plan, timeout)
        .await
        .map_err(|e| Failure::new(FailureReason::ComputationAborted, e.to_string()))
}

/// The categories of `node`'s committed accesses for `request`: its `AccessRecord`s for
/// `subject`, or, for a batch (`subject` = `None`), its `BatchAccess`es.
fn committed_access(
    state: &weinong_contracts::State,
    request: &RequestId,
    subject: Option<&SubjectPseudonym>,
    node: weinong_contracts::MemberId,
) -> CategorySet {
    match subject {
        Some(subject) => state
            .accesses_to(subject)
            .filter(|a| a.request == *request && a.node == node)
            .fold(CategorySet::EMPTY, |all, a| all.union(a.categories)),
        None => state
            .request(request)
            .and_then(|r| r.batch())
            .map_or(CategorySet::EMPTY, |b| {
                b.accesses()
                    .iter()
                    .filter(|a| a.node == node)
                    .fold(CategorySet::EMPTY, |all, a| all.union(a.categories))
            }),
    }
}

/// One subject's step 5 inside the session: `holder`'s own columns in, the requester's
/// share out.
fn evaluate_one(
    party: &mut weinong_mpc::Party,
    model: &Model,
    holder: Holder,
    columns: Vec<(usize, Vec<i64>)>,
) -> Result<OutputShare, weinong_mpc::MpcError> {
    let own = PartyInputs::from_columns(model, holder, 1, columns).map_err(|e| {
        weinong_mpc::MpcError::Setup {
            reason: format!("inputs: {e}"),
        }
    })?;
    evaluate_party_for_requester(party, model, 1, &own)
}

/// The calendar date of block time `ms`.
fn as_of_date(ms: u64) -> Result<weinong_connectors::date::Date, Failure> {
    weinong_connectors::date::Date::from_days(i64::try_from(ms / 86_400_000).unwrap_or(i64::MAX))
        .ok_or_else(|| {
            Failure::new(
                FailureReason::ComputationAborted,
                format!("block time {ms} ms is outside the calendar the data uses"),
            )
        })
}

/// What an access record says was read: SM3 over the model id and the names of the
/// inputs this department supplies (never their values, which would be guessable).
fn fields_hash(model: &Model, holder: Holder) -> FieldsHash {
    let mut bytes = b"weinong-fields-v1".to_vec();
    bytes.extend_from_slice(&model.id().0);
    let mut names: Vec<&str> = model
        .inputs()
        .iter()
        .filter(|i| i.holder == holder)
        .map(|i| i.name.as_str())
        .collect();
    names.sort_unstable();
    for name in names {
        bytes.extend_from_slice(&u32::try_from(name.len()).unwrap_or(u32::MAX).to_be_bytes());
        bytes.extend_from_slice(name.as_bytes());
    }
    FieldsHash::from_bytes(sm3_digest(&bytes))
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod work_list_tests {
    use super::*;

    fn id(n: u8) -> RequestId {
        RequestId::from_bytes([n; 32])
    }

    fn key(n: u8) -> KeyId {
        KeyId::from_bytes([n; 32])
    }

    #[test]
    fn one_requester_gets_a_bounded_share_of_the_slots_and_nothing_is_lost() {
        let mut work = WorkList::default();
        // Twenty requests of care home 1, then two of care home 2.
        let open: Vec<(RequestId, KeyId)> = (0..20)
            .map(|n| (id(n), key(1)))
            .chain([(id(100), key(2)), (id(101), key(2))])
            .collect();
        let picked = work.pick(open.iter().copied(), |_| false);
        assert_eq!(picked.len(), ASSESSMENTS_PER_REQUESTER_IN_FLIGHT + 2);
        assert!(picked.contains(&id(100)) && picked.contains(&id(101)));
        // Nothing new while they run.
        assert!(work.pick(open.iter().copied(), |_| false).is_empty());
        // One finishes: the next of care home 1 starts; the finished one never again.
        work.finish(&id(0));
        let next = work.pick(open.iter().copied(), |_| false);
        assert_eq!(
            next,
            vec![id(
                u8::try_from(ASSESSMENTS_PER_REQUESTER_IN_FLIGHT).unwrap()
            )]
        );
        // Every request is eventually picked exactly once.
        let mut seen: std::collections::BTreeSet<RequestId> = picked.into_iter().collect();
        seen.extend(next);
        for _ in 0..100 {
            let serving: Vec<RequestId> = work.serving.keys().copied().collect();
            for r in serving {
                work.finish(&r);
            }
            for r in work.pick(open.iter().copied(), |_| false) {
                assert!(seen.insert(r), "{r} picked twice");
            }
        }
        assert_eq!(seen.len(), open.len());
    }

    #[test]
    fn requests_with_a_stored_share_are_not_served_again_and_closed_ones_are_forgotten() {
        let mut work = WorkList::default();
        let open = [(id(1), key(1)), (id(2), key(1))];
        let picked = work.pick(open.iter().copied(), |r| *r == id(1));
        assert_eq!(picked, vec![id(2)]);
        assert!(work.done.contains(&id(1)));
        // Request 1 closes on the ledger: the bookkeeping forgets it.
        let picked = work.pick(open[1..].iter().copied(), |_| false);
        assert!(picked.is_empty());
        assert!(!work.done.contains(&id(1)));
    }

    #[test]
    fn the_global_bound_holds() {
        let mut work = WorkList::default();
        let open: Vec<(RequestId, KeyId)> = (0..=255u8).map(|n| (id(n), key(n))).collect();
        let picked = work.pick(open.iter().copied(), |_| false);
        assert_eq!(picked.len(), ASSESSMENTS_IN_FLIGHT);
    }
}
