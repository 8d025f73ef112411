//! The contracts' state: keys and their role bindings, members, consents, accesses,
//! assessment requests and models, in ordered maps only, so that iteration (and so the
//! digest) is the same on every node.
//!
//! # State digest (format version 1)
//!
//! `digest = SM3("WNST" ‖ 0x01 ‖ consortium[32] ‖ last block height:u64 ‖ time:u64
//! ‖ threshold:u16 ‖ governance seq:u64 ‖ members ‖ keys ‖ nonces ‖ models ‖ consents
//! ‖ requests ‖ accesses)`, each map as `count:u64` then its entries in ascending key
//! order, each entry's fields in declaration order with the payload rules of
//! [`crate::payload`].
//! A consent ends with its grant's transaction hash (and its withdrawal, if any, with the
//! withdrawal's); each request history entry is `block time ‖ tx: opt [32] ‖ event`.
//! `requests` holds the single-subject requests only. When batch requests exist, the
//! digest continues with `"WNBT" ‖ count:u64` and each batch request (by id) as a request
//! whose subject slot is its list hash, then `parts:u32 ‖ received:u32 ‖ subjects:u64 ‖
//! accesses:u64` and per access `block time ‖ tx ‖ node ‖ signer ‖ categories ‖ fields ‖
//! covered:u32 ‖ consents hash` (list and consents enter through hashes made when they were
//! recorded, so a batch costs O(1) per later digest); states without batches keep the
//! digests they had. Indexes derived from other maps (consents by subject, open deadlines,
//! batches by subject) are not hashed:
//! they are functions of what is. When policies exist, the digest continues with
//! `"WNPO" ‖ count:u64` and per policy (by id) `receiver:u16 ‖ legal basis:u8 ‖
//! categories:u16 ‖ registered at`, then `count:u64` runs (by id) as `policy[32] ‖
//! receiver:u16 ‖ opened at ‖ tx[32] ‖ status:u8 (0 open, 1 completed, 2 + reason code
//! failed) ‖ ended: opt block time ‖ matches root: 0, or 1 ‖ root[32] ‖ count:u16` accesses as `node:u16 ‖ signer[32] ‖
//! categories:u16 ‖ block time ‖ tx[32]`. Computing it walks the whole state: 7–10 ms for
//! 2,000 subjects' consents, requests and 6,000 accesses on the 2-core dev machine (bench
//! `state_digest_2000_subjects`), so roughly 1 µs per record. At city scale (millions of
//! consents) a per-block digest needs an incremental structure (a Merkle map updated per
//! changed entry); that is the next step, not done yet.

use std::collections::{BTreeMap, BTreeSet};

use weinong_keys::{KeyId, PublicKey, Sm3, SubjectPseudonym};
use weinong_ledger::codec::{Sink, Writer};
use weinong_ledger::{Hash32, MemberSet, TxHash, VerifyError};

use crate::payload::PAYLOAD_VERSION;
use crate::types::{
    BlockTime, CategorySet, ConsentId, EvidenceHash, FailureReason, FieldsHash, LegalBasis,
    MatchesRoot, MemberId, ModelId, PolicyId, Purpose, RequestId, ResultCommitment, Role, RunId,
};

const STATE_TAG: &[u8; 4] = b"WNST";
const BATCH_TAG: &[u8; 4] = b"WNBT";
const POLICY_TAG: &[u8; 4] = b"WNPO";

/// A registered policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyRecord {
    /// The member that runs it and alone learns its matches.
    pub receiver: MemberId,
    /// The legal basis of every run.
    pub legal_basis: LegalBasis,
    /// The data categories its predicates read.
    pub categories: CategorySet,
    /// When it was registered.
    pub registered_at: BlockTime,
}

/// Where a policy run stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunStatus {
    /// Opened; departments record their accesses and run PSI with the receiver.
    Open,
    /// The receiver holds the result.
    Completed,
    /// Failed, with the reason.
    Failed(FailureReason),
}

/// One department's access for a policy run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunAccess {
    /// The member node.
    pub node: MemberId,
    /// Its key that signed.
    pub signer: KeyId,
    /// Which data.
    pub categories: CategorySet,
    /// When.
    pub at: BlockTime,
    /// The access transaction.
    pub tx: TxHash,
}

/// A policy run: which policy, who opened it, who read what, how it ended. Holds no list
/// of people: the matches stay with the receiver.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyRunRecord {
    /// The policy.
    pub policy: PolicyId,
    /// The receiving member.
    pub receiver: MemberId,
    /// When it was opened.
    pub opened_at: BlockTime,
    /// The opening transaction.
    pub tx: TxHash,
    /// Its status.
    pub status: RunStatus,
    /// When it ended.
    pub ended_at: Option<BlockTime>,
    /// The receiver's commitment to the matches, once completed.
    pub matches: Option<MatchesRoot>,
    /// The departments' accesses, in block order.
    pub accesses: Vec<RunAccess>,
}

/// Whether a key may still sign.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyStatus {
    /// It may sign (within its role bindings).
    Active,
    /// Replaced by `successor` at block `at`.
    Rotated {
        /// The new key.
        successor: KeyId,
        /// When.
        at: BlockTime,
    },
    /// Revoked at block `at`.
    Revoked {
        /// When.
        at: BlockTime,
    },
}

/// A role bound to a key for `[valid_from, valid_until)`, until unbound.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Binding {
    /// The role.
    pub role: Role,
    /// Start of validity, block time ms.
    pub valid_from: u64,
    /// End of validity (exclusive); `None`: until unbound.
    pub valid_until: Option<u64>,
    /// The block that bound it.
    pub bound_at: BlockTime,
    /// The block that unbound it, if any.
    pub unbound_at: Option<BlockTime>,
}

impl Binding {
    /// Whether the binding grants its role at time `t_ms`.
    pub fn valid_at(&self, t_ms: u64) -> bool {
        self.valid_from <= t_ms
            && self.bound_at.time_ms <= t_ms
            && self.valid_until.is_none_or(|until| t_ms < until)
            && self.unbound_at.is_none_or(|at| t_ms < at.time_ms)
    }

    /// Whether the binding still holds (or will hold) its role: not unbound, not ended.
    pub(crate) fn current(&self, now_ms: u64) -> bool {
        self.unbound_at.is_none() && self.valid_until.is_none_or(|until| now_ms < until)
    }
}

/// A registered key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyRecord {
    pub(crate) public: PublicKey,
    pub(crate) sec1: [u8; 65],
    pub(crate) member: Option<MemberId>,
    pub(crate) registered_at: BlockTime,
    pub(crate) status: KeyStatus,
    pub(crate) bindings: Vec<Binding>,
}

impl KeyRecord {
    pub(crate) fn new(public: PublicKey, at: BlockTime) -> Self {
        let mut sec1 = [0u8; 65];
        sec1.copy_from_slice(&public.to_sec1_bytes());
        Self {
            public,
            sec1,
            member: None,
            registered_at: at,
            status: KeyStatus::Active,
            bindings: Vec::new(),
        }
    }
    /// The public key.
    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }
    /// The member the key belongs to, if any.
    pub fn member(&self) -> Option<MemberId> {
        self.member
    }
    /// Whether it may still sign.
    pub fn status(&self) -> KeyStatus {
        self.status
    }
    /// Every binding ever made, oldest first.
    pub fn bindings(&self) -> &[Binding] {
        &self.bindings
    }
    /// Whether the key is active and holds `role` at `t_ms`.
    pub(crate) fn has_role(&self, role: Role, t_ms: u64) -> bool {
        self.status == KeyStatus::Active
            && self
                .bindings
                .iter()
                .any(|b| b.role == role && b.valid_at(t_ms))
    }
}

/// A consortium member (a department node).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberRecord {
    /// Its current key.
    pub key: KeyId,
    /// When it was admitted.
    pub added_at: BlockTime,
    /// When it was removed, if it was.
    pub removed_at: Option<BlockTime>,
}

/// A registered model.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelRecord {
    /// The categories it reads.
    pub categories: CategorySet,
    /// When it was registered.
    pub registered_at: BlockTime,
    /// When it was retired, if it was.
    pub retired_at: Option<BlockTime>,
}

/// A consent on the ledger.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Consent {
    /// Whose data.
    pub subject: SubjectPseudonym,
    /// Who may receive results.
    pub grantee: KeyId,
    /// For what.
    pub purpose: Purpose,
    /// Which data.
    pub categories: CategorySet,
    /// Start of validity, ms.
    pub valid_from: u64,
    /// End of validity (exclusive), ms.
    pub valid_until: u64,
    /// SM3 of the consent form.
    pub evidence: EvidenceHash,
    /// The registrar that recorded it.
    pub registrar: KeyId,
    /// When it was recorded.
    pub granted_at: BlockTime,
    /// The transaction that recorded it (the grant).
    pub tx: TxHash,
    /// Its withdrawal, if withdrawn.
    pub revoked: Option<Revocation>,
}

/// A consent's withdrawal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Revocation {
    /// When.
    pub at: BlockTime,
    /// The registrar that recorded it.
    pub registrar: KeyId,
    /// SM3 of the withdrawal request.
    pub evidence: EvidenceHash,
    /// The transaction that recorded it.
    pub tx: TxHash,
}

/// A consent's status at a given time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConsentStatus {
    /// Its window has not begun (or it was not yet recorded).
    NotYetValid,
    /// Valid.
    Valid,
    /// Its window ended.
    Expired,
    /// Withdrawn at that block.
    Revoked {
        /// When.
        at: BlockTime,
    },
}

/// One recorded access to a subject's data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessEntry {
    /// When.
    pub at: BlockTime,
    /// The transaction that recorded it.
    pub tx: TxHash,
    /// Which node read.
    pub node: MemberId,
    /// With which key.
    pub signer: KeyId,
    /// For which request.
    pub request: RequestId,
    /// Which data.
    pub categories: CategorySet,
    /// On which consent.
    pub consent: ConsentId,
    /// SM3 of the fields read.
    pub fields: FieldsHash,
}

/// Where an assessment request stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequestStatus {
    /// Waiting for the departments' accesses.
    Requested,
    /// Every category the model reads has been accessed.
    Authorised,
    /// Computed; the result is committed.
    Computed {
        /// The commitment.
        commitment: ResultCommitment,
    },
    /// Failed.
    Failed {
        /// Why.
        reason: FailureReason,
    },
}

impl RequestStatus {
    /// Whether the request can still move (requested or authorised).
    pub fn is_open(self) -> bool {
        matches!(self, RequestStatus::Requested | RequestStatus::Authorised)
    }
}

impl std::fmt::Display for RequestStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RequestStatus::Requested => f.write_str("requested"),
            RequestStatus::Authorised => f.write_str("authorised"),
            RequestStatus::Computed { .. } => f.write_str("computed"),
            RequestStatus::Failed { reason } => write!(f, "failed ({reason})"),
        }
    }
}

/// One step in a request's history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RequestEvent {
    /// Requested by an institution key.
    Requested {
        /// The requester.
        by: KeyId,
    },
    /// A node recorded an access.
    Accessed {
        /// The node.
        node: MemberId,
        /// Which data.
        categories: CategorySet,
        /// On which consent.
        consent: ConsentId,
    },
    /// All needed accesses are recorded.
    Authorised,
    /// A part of a batch request's subject list was recorded (part 0 also opens it).
    Listed {
        /// The part's number.
        part: u32,
        /// Subjects in it.
        count: u32,
    },
    /// A node recorded its access to a batch request's subjects.
    BatchAccessed {
        /// The node.
        node: MemberId,
        /// Which data.
        categories: CategorySet,
        /// Subjects with a covering consent (the others were not accessed).
        covered: u32,
    },
    /// The result was committed.
    Computed {
        /// By which key.
        by: KeyId,
        /// The commitment.
        commitment: ResultCommitment,
    },
    /// The request failed (`by` is `None` for the time-out).
    Failed {
        /// By which key.
        by: Option<KeyId>,
        /// Why.
        reason: FailureReason,
    },
}

/// One entry of a request's history: when, which transaction, what happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistoryEntry {
    /// The block it happened in.
    pub at: BlockTime,
    /// The transaction that caused it; `None` only for the block's time-out sweep
    /// ([`crate::expire_requests`]), which no transaction causes. An access that completes
    /// the authorisation gives two entries (accessed, authorised) with the same hash.
    pub tx: Option<TxHash>,
    /// What happened.
    pub event: RequestEvent,
}

/// Whom a request assesses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// One subject.
    Subject(SubjectPseudonym),
    /// A list of subjects under one request ([`crate::payload::BatchRequest`]).
    Batch(Box<Batch>),
}

/// A batch request's subjects and the departments' accesses to them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Batch {
    pub(crate) parts: u32,
    pub(crate) received: u32,
    pub(crate) subjects: Vec<SubjectPseudonym>,
    /// `SM3("WNBL" ‖ previous ‖ part:u32 ‖ the part's subjects)` over the parts so far,
    /// from 32 zero bytes: the digest covers the list through it.
    pub(crate) list_hash: Hash32,
    pub(crate) accesses: Vec<BatchAccessEntry>,
}

impl Batch {
    /// How many parts the list has.
    pub fn parts(&self) -> u32 {
        self.parts
    }
    /// Whether every part is on the ledger (nodes start only then).
    pub fn is_complete(&self) -> bool {
        self.received == self.parts
    }
    /// The subjects listed so far, strictly ascending.
    pub fn subjects(&self) -> &[SubjectPseudonym] {
        &self.subjects
    }
    /// The hash chain over the parts recorded so far.
    pub fn list_hash(&self) -> Hash32 {
        self.list_hash
    }
    /// The departments' accesses, in ledger order.
    pub fn accesses(&self) -> &[BatchAccessEntry] {
        &self.accesses
    }
    /// Indices (into [`Batch::subjects`]) of the subjects every recorded access covered
    /// with a consent: the subjects a computation may use once the request is authorised.
    pub fn computable(&self) -> Vec<u32> {
        (0..self.subjects.len())
            .filter(|&i| {
                self.accesses
                    .iter()
                    .all(|a| a.consents.get(i).is_some_and(Option::is_some))
            })
            .filter_map(|i| u32::try_from(i).ok())
            .collect()
    }
    /// The subject's index in the list, if listed.
    pub fn index_of(&self, subject: &SubjectPseudonym) -> Option<usize> {
        self.subjects.binary_search(subject).ok()
    }
}

/// One department's access to a batch request's subjects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchAccessEntry {
    /// When.
    pub at: BlockTime,
    /// The transaction that recorded it.
    pub tx: TxHash,
    /// Which node read.
    pub node: MemberId,
    /// With which key.
    pub signer: KeyId,
    /// Which data.
    pub categories: CategorySet,
    /// SM3 of the fields read.
    pub fields: FieldsHash,
    /// Per subject of the list, the consent relied on; `None`: no covering consent, not
    /// accessed.
    pub consents: Vec<Option<ConsentId>>,
    /// How many subjects had a consent.
    pub covered: u32,
    /// SM3 over `consents` (the digest covers them through it).
    pub consents_hash: Hash32,
}

/// An assessment request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// The requesting institution's key.
    pub requester: KeyId,
    /// Whom it assesses.
    pub target: Target,
    /// Why.
    pub purpose: Purpose,
    /// Which model.
    pub model: ModelId,
    /// When it times out, block time ms.
    pub deadline_ms: u64,
    /// Where it stands.
    pub status: RequestStatus,
    /// Categories accessed so far.
    pub accessed: CategorySet,
    /// Every step, oldest first.
    pub history: Vec<HistoryEntry>,
}

impl Request {
    /// The subject of a single-subject request.
    pub fn subject(&self) -> Option<&SubjectPseudonym> {
        match &self.target {
            Target::Subject(s) => Some(s),
            Target::Batch(_) => None,
        }
    }
    /// The list of a batch request.
    pub fn batch(&self) -> Option<&Batch> {
        match &self.target {
            Target::Subject(_) => None,
            Target::Batch(b) => Some(b),
        }
    }
}

/// The whole contract state. Cloning is a deep copy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct State {
    pub(crate) consortium: Hash32,
    pub(crate) last: BlockTime,
    pub(crate) threshold: u16,
    pub(crate) governance_seq: u64,
    pub(crate) members: BTreeMap<MemberId, MemberRecord>,
    pub(crate) keys: BTreeMap<KeyId, KeyRecord>,
    pub(crate) nonces: BTreeMap<KeyId, u64>,
    pub(crate) models: BTreeMap<ModelId, ModelRecord>,
    pub(crate) consents: BTreeMap<ConsentId, Consent>,
    pub(crate) consents_by_subject: BTreeSet<(SubjectPseudonym, ConsentId)>,
    pub(crate) requests: BTreeMap<RequestId, Request>,
    pub(crate) open_deadlines: BTreeSet<(u64, RequestId)>,
    /// Keyed by subject, then a ledger-wide access counter (so order is block order).
    pub(crate) accesses: BTreeMap<(SubjectPseudonym, u64), AccessEntry>,
    /// Which batch requests list a subject (an index of `requests`, not hashed).
    pub(crate) batches_by_subject: BTreeSet<(SubjectPseudonym, RequestId)>,
    pub(crate) policies: BTreeMap<PolicyId, PolicyRecord>,
    pub(crate) runs: BTreeMap<RunId, PolicyRunRecord>,
    /// The runs still open (an index of `runs`, not hashed): the nodes' work list.
    pub(crate) open_runs: BTreeSet<RunId>,
}

impl State {
    /// The consortium id (SM3 of the genesis bytes).
    pub fn consortium(&self) -> &Hash32 {
        &self.consortium
    }
    /// The last block time applied.
    pub fn last_block(&self) -> BlockTime {
        self.last
    }
    /// Admin approvals a governance change needs.
    pub fn threshold(&self) -> u16 {
        self.threshold
    }
    /// The number the next governance change must carry.
    pub fn governance_seq(&self) -> u64 {
        self.governance_seq
    }
    /// A registered key.
    pub fn key(&self, key: &KeyId) -> Option<&KeyRecord> {
        self.keys.get(key)
    }
    /// A member.
    pub fn member(&self, member: MemberId) -> Option<&MemberRecord> {
        self.members.get(&member)
    }
    /// The signer's last accepted nonce.
    pub fn last_nonce(&self, signer: &KeyId) -> Option<u64> {
        self.nonces.get(signer).copied()
    }
    /// A registered policy.
    pub fn policy(&self, policy: &PolicyId) -> Option<&PolicyRecord> {
        self.policies.get(policy)
    }
    /// Every registered policy, by id.
    pub fn policies(&self) -> impl Iterator<Item = (&PolicyId, &PolicyRecord)> {
        self.policies.iter()
    }
    /// A policy run.
    pub fn run(&self, run: &RunId) -> Option<&PolicyRunRecord> {
        self.runs.get(run)
    }
    /// Every policy run, by id.
    pub fn runs(&self) -> impl Iterator<Item = (&RunId, &PolicyRunRecord)> {
        self.runs.iter()
    }
    /// The policy runs still open, by id: without walking the ended ones.
    pub fn open_runs(&self) -> impl Iterator<Item = &RunId> {
        self.open_runs.iter()
    }
    /// A model.
    pub fn model(&self, model: &ModelId) -> Option<&ModelRecord> {
        self.models.get(model)
    }
    /// A consent.
    pub fn consent(&self, consent: &ConsentId) -> Option<&Consent> {
        self.consents.get(consent)
    }
    /// A request.
    pub fn request(&self, request: &RequestId) -> Option<&Request> {
        self.requests.get(request)
    }

    /// Every open request (requested or authorised), soonest deadline first.
    pub fn open_requests(&self) -> impl Iterator<Item = (&RequestId, &Request)> {
        self.open_deadlines
            .iter()
            .filter_map(|(_, id)| self.requests.get(id).map(|r| (id, r)))
    }

    /// The member set that signs blocks: the key of every member not removed whose key is
    /// active (not revoked, not rotated away), quorum a strict majority — the genesis rule.
    /// The chain hands over to it after each block whose governance changed it. Fails only
    /// if no member is left, which governance refuses.
    pub fn member_set(&self) -> Result<MemberSet, VerifyError> {
        MemberSet::majority(self.voting_keys().cloned().collect())
    }

    /// The keys [`Self::member_set`] holds.
    pub(crate) fn voting_keys(&self) -> impl Iterator<Item = &PublicKey> {
        self.members
            .values()
            .filter(|m| m.removed_at.is_none())
            .filter_map(|m| self.keys.get(&m.key))
            .filter(|k| k.status == KeyStatus::Active)
            .map(|k| &k.public)
    }

    /// Keys holding an active admin binding at `t_ms`.
    pub(crate) fn admin_count(&self, t_ms: u64) -> u64 {
        self.keys
            .values()
            .filter(|k| k.has_role(Role::Admin, t_ms))
            .count() as u64
    }

    /// The state digest (see the module docs).
    pub fn digest(&self) -> Hash32 {
        let mut w = Writer::new(Sm3::default());
        w.bytes(STATE_TAG);
        w.u8(PAYLOAD_VERSION);
        w.bytes(self.consortium.as_bytes());
        block_time(&mut w, self.last);
        w.u16(self.threshold);
        w.u64(self.governance_seq);
        w.count64(self.members.len());
        for (id, m) in &self.members {
            w.u16(id.0);
            w.bytes(m.key.as_bytes());
            block_time(&mut w, m.added_at);
            opt_block_time(&mut w, m.removed_at);
        }
        w.count64(self.keys.len());
        for (id, k) in &self.keys {
            w.bytes(id.as_bytes());
            w.bytes(&k.sec1);
            match k.member {
                None => w.u8(0),
                Some(m) => {
                    w.u8(1);
                    w.u16(m.0);
                }
            }
            block_time(&mut w, k.registered_at);
            match k.status {
                KeyStatus::Active => w.u8(0),
                KeyStatus::Rotated { successor, at } => {
                    w.u8(1);
                    w.bytes(successor.as_bytes());
                    block_time(&mut w, at);
                }
                KeyStatus::Revoked { at } => {
                    w.u8(2);
                    block_time(&mut w, at);
                }
            }
            w.count64(k.bindings.len());
            for b in &k.bindings {
                w.u8(b.role.code());
                w.u64(b.valid_from);
                w.opt_u64(b.valid_until);
                block_time(&mut w, b.bound_at);
                opt_block_time(&mut w, b.unbound_at);
            }
        }
        w.count64(self.nonces.len());
        for (id, n) in &self.nonces {
            w.bytes(id.as_bytes());
            w.u64(*n);
        }
        w.count64(self.models.len());
        for (id, m) in &self.models {
            w.bytes(id.as_bytes());
            w.u16(m.categories.bits());
            block_time(&mut w, m.registered_at);
            opt_block_time(&mut w, m.retired_at);
        }
        w.count64(self.consents.len());
        for (id, c) in &self.consents {
            consent(&mut w, id, c);
        }
        let singles = self.requests.iter().filter_map(|(id, r)| match &r.target {
            Target::Subject(subject) => Some((id, r, subject)),
            Target::Batch(_) => None,
        });
        w.count64(singles.clone().count());
        for (id, r, subject) in singles {
            request(&mut w, id, r, subject);
        }
        w.count64(self.accesses.len());
        for ((subject, n), a) in &self.accesses {
            w.bytes(subject.as_bytes());
            w.u64(*n);
            access(&mut w, a);
        }
        // Batch requests (format 1 of the digest predates them): a section appended only
        // when one exists, so states without batches keep their digests.
        let batches: Vec<(&RequestId, &Request, &Batch)> = self
            .requests
            .iter()
            .filter_map(|(id, r)| r.batch().map(|b| (id, r, b)))
            .collect();
        if !batches.is_empty() {
            w.bytes(BATCH_TAG);
            w.count64(batches.len());
            for (id, r, b) in batches {
                request(
                    &mut w,
                    id,
                    r,
                    &SubjectPseudonym::from_bytes(*b.list_hash.as_bytes()),
                );
                w.u32(b.parts);
                w.u32(b.received);
                w.count64(b.subjects.len());
                w.count64(b.accesses.len());
                for a in &b.accesses {
                    block_time(&mut w, a.at);
                    w.bytes(a.tx.as_bytes());
                    w.u16(a.node.0);
                    w.bytes(a.signer.as_bytes());
                    w.u16(a.categories.bits());
                    w.bytes(a.fields.as_bytes());
                    w.u32(a.covered);
                    w.bytes(a.consents_hash.as_bytes());
                }
            }
        }
        if !self.policies.is_empty() {
            w.bytes(POLICY_TAG);
            w.count64(self.policies.len());
            for (id, p) in &self.policies {
                w.bytes(id.as_bytes());
                w.u16(p.receiver.0);
                w.u8(p.legal_basis.code());
                w.u16(p.categories.bits());
                block_time(&mut w, p.registered_at);
            }
            w.count64(self.runs.len());
            for (id, r) in &self.runs {
                w.bytes(id.as_bytes());
                w.bytes(r.policy.as_bytes());
                w.u16(r.receiver.0);
                block_time(&mut w, r.opened_at);
                w.bytes(r.tx.as_bytes());
                w.u8(match r.status {
                    RunStatus::Open => 0,
                    RunStatus::Completed => 1,
                    RunStatus::Failed(reason) => 2 + reason.code(),
                });
                opt_block_time(&mut w, r.ended_at);
                match r.matches {
                    Some(root) => {
                        w.u8(1);
                        w.bytes(root.as_bytes());
                    }
                    None => w.u8(0),
                }
                w.count(r.accesses.len());
                for a in &r.accesses {
                    w.u16(a.node.0);
                    w.bytes(a.signer.as_bytes());
                    w.u16(a.categories.bits());
                    block_time(&mut w, a.at);
                    w.bytes(a.tx.as_bytes());
                }
            }
        }
        Hash32(w.finish().finalize().into())
    }
}

use weinong_keys::Digest as _;

fn block_time<S: Sink>(w: &mut Writer<S>, t: BlockTime) {
    w.u64(t.height);
    w.u64(t.time_ms);
}

fn opt_block_time<S: Sink>(w: &mut Writer<S>, t: Option<BlockTime>) {
    match t {
        None => w.u8(0),
        Some(t) => {
            w.u8(1);
            block_time(w, t);
        }
    }
}

fn consent<S: Sink>(w: &mut Writer<S>, id: &ConsentId, c: &Consent) {
    w.bytes(id.as_bytes());
    w.bytes(c.subject.as_bytes());
    w.bytes(c.grantee.as_bytes());
    w.u8(c.purpose.code());
    w.u16(c.categories.bits());
    w.u64(c.valid_from);
    w.u64(c.valid_until);
    w.bytes(c.evidence.as_bytes());
    w.bytes(c.registrar.as_bytes());
    block_time(w, c.granted_at);
    w.bytes(c.tx.as_bytes());
    match &c.revoked {
        None => w.u8(0),
        Some(r) => {
            w.u8(1);
            block_time(w, r.at);
            w.bytes(r.registrar.as_bytes());
            w.bytes(r.evidence.as_bytes());
            w.bytes(r.tx.as_bytes());
        }
    }
}

fn request<S: Sink>(w: &mut Writer<S>, id: &RequestId, r: &Request, subject: &SubjectPseudonym) {
    w.bytes(id.as_bytes());
    w.bytes(r.requester.as_bytes());
    w.bytes(subject.as_bytes());
    w.u8(r.purpose.code());
    w.bytes(r.model.as_bytes());
    w.u64(r.deadline_ms);
    status(w, r.status);
    w.u16(r.accessed.bits());
    w.count64(r.history.len());
    for entry in &r.history {
        block_time(w, entry.at);
        match &entry.tx {
            None => w.u8(0),
            Some(tx) => {
                w.u8(1);
                w.bytes(tx.as_bytes());
            }
        }
        match &entry.event {
            RequestEvent::Requested { by } => {
                w.u8(1);
                w.bytes(by.as_bytes());
            }
            RequestEvent::Accessed {
                node,
                categories,
                consent,
            } => {
                w.u8(2);
                w.u16(node.0);
                w.u16(categories.bits());
                w.bytes(consent.as_bytes());
            }
            RequestEvent::Authorised => w.u8(3),
            RequestEvent::Computed { by, commitment } => {
                w.u8(4);
                w.bytes(by.as_bytes());
                w.bytes(commitment.as_bytes());
            }
            RequestEvent::Listed { part, count } => {
                w.u8(6);
                w.u32(*part);
                w.u32(*count);
            }
            RequestEvent::BatchAccessed {
                node,
                categories,
                covered,
            } => {
                w.u8(7);
                w.u16(node.0);
                w.u16(categories.bits());
                w.u32(*covered);
            }
            RequestEvent::Failed { by, reason } => {
                w.u8(5);
                match by {
                    None => w.u8(0),
                    Some(by) => {
                        w.u8(1);
                        w.bytes(by.as_bytes());
                    }
                }
                w.u8(reason.code());
            }
        }
    }
}

fn status<S: Sink>(w: &mut Writer<S>, s: RequestStatus) {
    match s {
        RequestStatus::Requested => w.u8(1),
        RequestStatus::Authorised => w.u8(2),
        RequestStatus::Computed { commitment } => {
            w.u8(3);
            w.bytes(commitment.as_bytes());
        }
        RequestStatus::Failed { reason } => {
            w.u8(4);
            w.u8(reason.code());
        }
    }
}

fn access<S: Sink>(w: &mut Writer<S>, a: &AccessEntry) {
    block_time(w, a.at);
    w.bytes(a.tx.as_bytes());
    w.u16(a.node.0);
    w.bytes(a.signer.as_bytes());
    w.bytes(a.request.as_bytes());
    w.u16(a.categories.bits());
    w.bytes(a.consent.as_bytes());
    w.bytes(a.fields.as_bytes());
}
