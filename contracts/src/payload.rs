//! Typed contract calls and their canonical payload bytes.
//!
//! # Kinds (inside the ledger's registry of ranges, see `weinong_ledger::TxKind`)
//!
//! | kind | call | signer must hold |
//! |---|---|---|
//! | `0x0001` | [`Governance`]: one [`Change`] with ≥ k admin approvals | admin |
//! | `0x0100` | [`ConsentGrant`] | registrar |
//! | `0x0101` | [`ConsentRevoke`] | registrar |
//! | `0x0200` | [`AccessRecord`] | department (the member node named) |
//! | `0x0300` | [`AssessmentRequest`] | institution |
//! | `0x0301` | [`ResultRecord`] | the request's requester (an institution) |
//! | `0x0302` | [`FailRequest`] | the requester, a department or a steward |
//! | `0x0202` | [`PolicyAccess`] | department (the member node named) |
//! | `0x0500` | [`PolicyRun`] | department (the policy's receiver) |
//! | `0x0501` | [`PolicyEnd`] | the run's receiver (completed or failed), or another department (failed) |
//!
//! Models are registered and retired by governance ([`Change::RegisterModel`]), so the
//! model-registry range `0x0400–0x04FF` has no kind of its own yet.
//!
//! # Encoding rules
//!
//! The ledger's canonical encoding ([`weinong_ledger::codec`]), applied to payloads:
//! - a payload starts with its format version byte ([`PAYLOAD_VERSION`]); the transaction
//!   kind (signed, outside the payload) says which payload it is. Structures signed on
//!   their own (governance changes, rotation statements) start with a 4-byte ASCII tag and
//!   the version, so a signature over one can never be read as another;
//! - integers are unsigned, fixed-width, big-endian; times are milliseconds of block time;
//! - hashes, key ids, pseudonyms and ids are 32 raw bytes, signatures 64 bytes `r‖s`,
//!   public keys 65-byte uncompressed SEC1;
//! - an optional value is a byte `0` (absent) or `1` followed by the value;
//! - enums are one byte (their documented code); sets of categories are a `u16` bit mask
//!   with no unknown bit set;
//! - variable-length bytes carry a `u32` length and lists a `u16` count, checked against a
//!   named limit before allocation; lists that are sets are strictly ascending;
//! - decoding consumes the whole input: trailing bytes are an error.
//!
//! # Payload encodings (format version 1)
//!
//! ```text
//! governance     = 0x01 ‖ seq:u64 ‖ change ‖ count:u16 ‖ (admin:KeyId[32] ‖ sig[64])*
//!                  approvals strictly ascending by admin key id (so no admin counts twice)
//! change         = code:u8 ‖ fields
//!   1 add member     member:u16 ‖ key:SEC1[65]
//!   2 remove member  member:u16
//!   3 bind role      key:SEC1[65] ‖ role:u8 ‖ valid_from:u64 ‖ valid_until:opt u64
//!   4 unbind role    key:KeyId[32] ‖ role:u8
//!   5 rotate key     old:KeyId[32] ‖ new:SEC1[65] ‖ old_sig[64]   (old key signs rotation)
//!   6 revoke key     key:KeyId[32]
//!   7 set threshold  k:u16
//!   8 register model categories:u16 ‖ spec_len:u32 ‖ spec     (id = SM3(spec))
//!   9 retire model   model:[32]
//!  10 register policy receiver:u16 ‖ legal_basis:u8 ‖ categories:u16 ‖ spec_len:u32 ‖ spec
//!                     (id = SM3(spec))
//! approved bytes = "WNGV" ‖ 0x01 ‖ consortium[32] ‖ seq:u64 ‖ change
//! rotation bytes = "WNRK" ‖ 0x01 ‖ consortium[32] ‖ old:KeyId[32] ‖ new:SEC1[65]
//! consent grant  = 0x01 ‖ consent[32] ‖ subject[32] ‖ grantee:KeyId[32] ‖ purpose:u8
//!                  ‖ categories:u16 ‖ valid_from:u64 ‖ valid_until:u64 ‖ evidence[32]
//! consent revoke = 0x01 ‖ consent[32] ‖ evidence[32]
//! access record  = 0x01 ‖ request[32] ‖ node:u16 ‖ subject[32] ‖ categories:u16
//!                  ‖ consent[32] ‖ fields[32]
//! request        = 0x01 ‖ request[32] ‖ subject[32] ‖ purpose:u8 ‖ model[32]
//! result         = 0x01 ‖ request[32] ‖ model[32] ‖ commitment[32]
//! fail           = 0x01 ‖ request[32] ‖ reason:u8          (never "timed out": only the
//!                                                            time-out sweep writes that)
//! policy run     = 0x01 ‖ run[32] ‖ policy[32]
//! policy access  = 0x01 ‖ run[32] ‖ node:u16 ‖ categories:u16
//! policy end     = 0x01 ‖ run[32] ‖ outcome:u8   (0 completed, else a failure reason code,
//!                                                 never "timed out")
//! ```
//!
//! The approved bytes bind the consortium (so approvals cannot move to another ledger) and
//! the governance sequence number (so one approval authorises one change, once).

use weinong_keys::{KeyId, PublicKey, Signature, SubjectPseudonym, sm3_digest};
use weinong_ledger::codec::{Reader, Sink, Writer};
use weinong_ledger::{DecodeError, Hash32, TxKind};

use crate::limits::{
    APPROVALS_MAX, BATCH_PART_SUBJECTS_MAX, BATCH_PARTS_MAX, MODEL_SPEC_BYTES_MAX,
    POLICY_SPEC_BYTES_MAX,
};
use crate::types::{
    CategorySet, ConsentId, EvidenceHash, FailureReason, FieldsHash, LegalBasis, MatchesRoot,
    MemberId, ModelId, PolicyId, Purpose, RequestId, ResultCommitment, Role, RunId,
};

/// The payload format version this build writes and reads.
pub const PAYLOAD_VERSION: u8 = 1;

/// The transaction kinds the contracts define.
pub mod kinds {
    use weinong_ledger::TxKind;

    /// A governance change with admin approvals.
    pub const GOVERNANCE: TxKind = TxKind(0x0001);
    /// A consent grant.
    pub const CONSENT_GRANT: TxKind = TxKind(0x0100);
    /// A consent withdrawal.
    pub const CONSENT_REVOKE: TxKind = TxKind(0x0101);
    /// A data access record.
    pub const ACCESS_RECORD: TxKind = TxKind(0x0200);
    /// An assessment request.
    pub const ASSESSMENT_REQUEST: TxKind = TxKind(0x0300);
    /// An assessment result commitment.
    pub const RESULT_RECORD: TxKind = TxKind(0x0301);
    /// An assessment request's failure.
    pub const FAIL_REQUEST: TxKind = TxKind(0x0302);
    /// One part of a batch assessment request's subject list (part 0 opens the request).
    pub const BATCH_REQUEST: TxKind = TxKind(0x0303);
    /// A department node's record that it read the data of a batch request's subjects.
    pub const BATCH_ACCESS: TxKind = TxKind(0x0201);
    /// A department node's record that it evaluated its predicate of a policy run.
    pub const POLICY_ACCESS: TxKind = TxKind(0x0202);
    /// A policy run opened by the policy's receiving department.
    pub const POLICY_RUN: TxKind = TxKind(0x0500);
    /// A policy run's end: completed, or failed with the reason.
    pub const POLICY_END: TxKind = TxKind(0x0501);
}

const CHANGE_TAG: &[u8; 4] = b"WNGV";
const ROTATION_TAG: &[u8; 4] = b"WNRK";

/// One admin's SM2 signature over a change's approved bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Approval {
    /// The approving admin's key id.
    pub admin: KeyId,
    /// SM2 signature over [`Governance::approved_bytes`].
    pub signature: Signature,
}

/// A governance change: what k of n admins approve.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    /// Admit a department node with its key (the key is bound the department role).
    AddMember {
        /// The new member's number (never reused).
        member: MemberId,
        /// The node's key.
        key: PublicKey,
    },
    /// Remove a member; its key loses the department role from this block.
    RemoveMember {
        /// The member.
        member: MemberId,
    },
    /// Bind a role to a key (registering the key if new) for `[valid_from, valid_until)`.
    BindRole {
        /// The key.
        key: PublicKey,
        /// The role.
        role: Role,
        /// Start of validity, block time ms.
        valid_from: u64,
        /// End of validity (exclusive), block time ms; `None`: until unbound.
        valid_until: Option<u64>,
    },
    /// End a key's current binding of a role, from this block.
    UnbindRole {
        /// The key.
        key: KeyId,
        /// The role.
        role: Role,
    },
    /// Replace a key: the new key takes over its membership and current bindings, and the
    /// old key signs nothing valid from this block.
    RotateKey {
        /// The key being replaced.
        old: KeyId,
        /// Its replacement.
        new: PublicKey,
        /// The old key's signature over [`rotation_bytes`] (proof the holder agrees).
        old_signature: Signature,
    },
    /// Revoke a key from this block: nothing it signs is accepted afterwards.
    RevokeKey {
        /// The key.
        key: KeyId,
    },
    /// Change the number of admin approvals governance needs.
    SetThreshold {
        /// The new k (1 ≤ k ≤ active admins).
        k: u16,
    },
    /// Register an assessment model; its id is the SM3 of `spec`.
    RegisterModel {
        /// The data categories the model reads (what each request must access). Nodes admit
        /// a registration only if these are exactly the categories the spec's inputs
        /// declare (`weinong-node`'s `categories`; this crate cannot compile a spec).
        categories: CategorySet,
        /// The canonical model spec bytes (defined by `weinong-mpc`, opaque here).
        spec: Vec<u8>,
    },
    /// Retire a model: new requests may no longer cite it.
    RetireModel {
        /// The model.
        model: ModelId,
    },
    /// Register a 免申即享 policy; its id is the SM3 of `spec`.
    RegisterPolicy {
        /// The member that runs the policy and alone learns its matches.
        receiver: MemberId,
        /// The legal basis every run relies on.
        legal_basis: LegalBasis,
        /// The data categories the departments' predicates read (each category's holder
        /// is the department that reads it).
        categories: CategorySet,
        /// The canonical policy spec bytes (defined by `weinong-connectors`, opaque here).
        spec: Vec<u8>,
    },
}

impl Change {
    /// A short name for messages.
    pub fn name(&self) -> &'static str {
        match self {
            Change::AddMember { .. } => "add member",
            Change::RemoveMember { .. } => "remove member",
            Change::BindRole { .. } => "bind role",
            Change::UnbindRole { .. } => "unbind role",
            Change::RotateKey { .. } => "rotate key",
            Change::RevokeKey { .. } => "revoke key",
            Change::SetThreshold { .. } => "set threshold",
            Change::RegisterModel { .. } => "register model",
            Change::RetireModel { .. } => "retire model",
            Change::RegisterPolicy { .. } => "register policy",
        }
    }

    fn encode_into<S: Sink>(&self, w: &mut Writer<S>) {
        match self {
            Change::AddMember { member, key } => {
                w.u8(1);
                w.u16(member.0);
                w.bytes(&key.to_sec1_bytes());
            }
            Change::RemoveMember { member } => {
                w.u8(2);
                w.u16(member.0);
            }
            Change::BindRole {
                key,
                role,
                valid_from,
                valid_until,
            } => {
                w.u8(3);
                w.bytes(&key.to_sec1_bytes());
                w.u8(role.code());
                w.u64(*valid_from);
                w.opt_u64(*valid_until);
            }
            Change::UnbindRole { key, role } => {
                w.u8(4);
                w.bytes(key.as_bytes());
                w.u8(role.code());
            }
            Change::RotateKey {
                old,
                new,
                old_signature,
            } => {
                w.u8(5);
                w.bytes(old.as_bytes());
                w.bytes(&new.to_sec1_bytes());
                w.bytes(&old_signature.to_bytes());
            }
            Change::RevokeKey { key } => {
                w.u8(6);
                w.bytes(key.as_bytes());
            }
            Change::SetThreshold { k } => {
                w.u8(7);
                w.u16(*k);
            }
            Change::RegisterModel { categories, spec } => {
                w.u8(8);
                w.u16(categories.bits());
                // The limit is checked when building the payload (`encode` refuses longer).
                w.u32(u32::try_from(spec.len()).unwrap_or(u32::MAX));
                w.bytes(spec);
            }
            Change::RetireModel { model } => {
                w.u8(9);
                w.bytes(model.as_bytes());
            }
            Change::RegisterPolicy {
                receiver,
                legal_basis,
                categories,
                spec,
            } => {
                w.u8(10);
                w.u16(receiver.0);
                w.u8(legal_basis.code());
                w.u16(categories.bits());
                // The limit is checked when building the payload (`encode` refuses longer).
                w.u32(u32::try_from(spec.len()).unwrap_or(u32::MAX));
                w.bytes(spec);
            }
        }
    }

    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(match r.u8()? {
            1 => Change::AddMember {
                member: MemberId(r.u16()?),
                key: public_key(r)?,
            },
            2 => Change::RemoveMember {
                member: MemberId(r.u16()?),
            },
            3 => {
                let key = public_key(r)?;
                let role = Role::decode(r)?;
                let valid_from = r.u64()?;
                let valid_until = r.opt_u64()?;
                Change::BindRole {
                    key,
                    role,
                    valid_from,
                    valid_until,
                }
            }
            4 => Change::UnbindRole {
                key: KeyId::from_bytes(r.array()?),
                role: Role::decode(r)?,
            },
            5 => {
                let old = KeyId::from_bytes(r.array()?);
                let new = public_key(r)?;
                let old_signature = signature(r)?;
                Change::RotateKey {
                    old,
                    new,
                    old_signature,
                }
            }
            6 => Change::RevokeKey {
                key: KeyId::from_bytes(r.array()?),
            },
            7 => Change::SetThreshold { k: r.u16()? },
            8 => {
                let categories = CategorySet::decode_nonempty(r)?;
                let spec = r
                    .var_bytes("model spec length", MODEL_SPEC_BYTES_MAX)?
                    .to_vec();
                Change::RegisterModel { categories, spec }
            }
            9 => Change::RetireModel {
                model: ModelId::from_bytes(r.array()?),
            },
            10 => Change::RegisterPolicy {
                receiver: MemberId(r.u16()?),
                legal_basis: LegalBasis::decode(r)?,
                categories: CategorySet::decode_nonempty(r)?,
                spec: r
                    .var_bytes("policy spec length", POLICY_SPEC_BYTES_MAX)?
                    .to_vec(),
            },
            _ => return Err(r.invalid("unknown governance change code")),
        })
    }

    /// The change's own canonical bytes (`change` in the module docs).
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new(Vec::new());
        self.encode_into(&mut w);
        w.finish()
    }
}

/// The id a model spec registers as: SM3 of the canonical spec bytes.
pub fn model_id(spec: &[u8]) -> ModelId {
    ModelId::from_bytes(sm3_digest(spec))
}

/// The id of a policy registered with `spec`: SM3 of the spec bytes.
pub fn policy_id(spec: &[u8]) -> PolicyId {
    PolicyId::from_bytes(sm3_digest(spec))
}

/// The bytes an old key signs to agree to its rotation to `new`.
pub fn rotation_bytes(consortium: &Hash32, old: &KeyId, new: &PublicKey) -> Vec<u8> {
    let mut w = Writer::new(Vec::with_capacity(140));
    w.bytes(ROTATION_TAG);
    w.u8(PAYLOAD_VERSION);
    w.bytes(consortium.as_bytes());
    w.bytes(old.as_bytes());
    w.bytes(&new.to_sec1_bytes());
    w.finish()
}

/// A governance transaction's payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Governance {
    /// Must equal the state's governance sequence number (one approval, one change).
    pub seq: u64,
    /// The change.
    pub change: Change,
    /// Admin approvals, strictly ascending by admin key id.
    pub approvals: Vec<Approval>,
}

impl Governance {
    /// The bytes each admin signs to approve `change` as change number `seq` of the
    /// consortium `consortium`.
    pub fn approved_bytes(consortium: &Hash32, seq: u64, change: &Change) -> Vec<u8> {
        let mut w = Writer::new(Vec::with_capacity(128));
        w.bytes(CHANGE_TAG);
        w.u8(PAYLOAD_VERSION);
        w.bytes(consortium.as_bytes());
        w.u64(seq);
        change.encode_into(&mut w);
        w.finish()
    }
}

/// A consent grant (PIPL Art. 23 and 29: names recipient, purpose and data; separate
/// consent for sensitive data). Signed by a registrar, whose transaction signature is the
/// registrar signature.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsentGrant {
    /// The consent's id (unique).
    pub consent: ConsentId,
    /// Whose data.
    pub subject: SubjectPseudonym,
    /// Who may receive results computed from it (an institution key).
    pub grantee: KeyId,
    /// For what.
    pub purpose: Purpose,
    /// Which data.
    pub categories: CategorySet,
    /// Start of validity (block time ms).
    pub valid_from: u64,
    /// End of validity, exclusive (block time ms).
    pub valid_until: u64,
    /// SM3 of the signed consent form (kept off the ledger).
    pub evidence: EvidenceHash,
}

/// A consent's withdrawal, recorded by a registrar on the subject's request. Not
/// retroactive (PIPL Art. 15): accesses before it stay valid.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsentRevoke {
    /// The consent.
    pub consent: ConsentId,
    /// SM3 of the withdrawal request (kept off the ledger).
    pub evidence: EvidenceHash,
}

/// A department node's record that it read a subject's data for a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessRecord {
    /// The request served.
    pub request: RequestId,
    /// The member node reading (its key signs).
    pub node: MemberId,
    /// Whose data.
    pub subject: SubjectPseudonym,
    /// Which data.
    pub categories: CategorySet,
    /// The consent relied on.
    pub consent: ConsentId,
    /// SM3 of the fields read.
    pub fields: FieldsHash,
}

/// An institution's request for an assessment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AssessmentRequest {
    /// The request's id (unique).
    pub request: RequestId,
    /// Whom to assess.
    pub subject: SubjectPseudonym,
    /// Why (an assessment purpose).
    pub purpose: Purpose,
    /// Which registered model.
    pub model: ModelId,
}

/// One part of a batch assessment request: many subjects assessed by one model under one
/// request (a care home's periodic re-assessment of its residents), one MPC session.
///
/// The subject list is too long for one transaction, so it travels in `parts` parts of at
/// most [`crate::limits::BATCH_PART_SUBJECTS_MAX`] subjects, each signed by the requester
/// and recorded in order; part 0 opens the request. Subjects are strictly ascending across
/// the whole list (so it holds no subject twice). Nodes start once the last part is on the
/// ledger. Every part repeats purpose and model, which must match part 0's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchRequest {
    /// The request's id (unique).
    pub request: RequestId,
    /// Why (an assessment purpose).
    pub purpose: Purpose,
    /// Which registered model.
    pub model: ModelId,
    /// This part's number, from 0.
    pub part: u32,
    /// How many parts the list has.
    pub parts: u32,
    /// This part's subjects, strictly ascending.
    pub subjects: Vec<SubjectPseudonym>,
}

/// A department node's record that it read its data for a batch request. The contracts
/// find, for each subject of the list, the consent that covers this access at block time
/// (the lowest covering consent id, the rule of [`crate::State::covering_consent`]) and
/// record it; subjects without one are not accessed and stay out of the computation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchAccess {
    /// The batch request served.
    pub request: RequestId,
    /// The member node reading (its key signs).
    pub node: MemberId,
    /// Which data.
    pub categories: CategorySet,
    /// SM3 of the fields read.
    pub fields: FieldsHash,
}

/// The requester's record that an authorised request was computed: a commitment to the
/// result it reconstructed ([`ResultCommitment::of`]), signed by the request's requester,
/// who alone holds the result and the nonce and so can open the commitment to an auditor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResultRecord {
    /// The request.
    pub request: RequestId,
    /// The model computed (must be the request's).
    pub model: ModelId,
    /// Commitment to the result ([`ResultCommitment::of`]).
    pub commitment: ResultCommitment,
}

/// A request's failure, with the reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FailRequest {
    /// The request.
    pub request: RequestId,
    /// Why (never [`FailureReason::TimedOut`]).
    pub reason: FailureReason,
}

/// A policy run: the receiving department asks the departments a registered policy names
/// to evaluate their predicates and run PSI with it. No list of people is on the ledger.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyRun {
    /// The run's id (unique).
    pub run: RunId,
    /// Which registered policy.
    pub policy: PolicyId,
}

/// A department node's record that it read its data for a policy run (before it evaluates
/// its predicate). The run's policy gives the legal basis.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyAccess {
    /// The run served.
    pub run: RunId,
    /// The member node reading (its key signs).
    pub node: MemberId,
    /// Which data (within the policy's categories).
    pub categories: CategorySet,
}

/// How a policy run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunOutcome {
    /// The receiver holds the result and commits to its matches.
    Completed(MatchesRoot),
    /// The run failed (never [`FailureReason::TimedOut`]).
    Failed(FailureReason),
}

/// A policy run's end.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyEnd {
    /// The run.
    pub run: RunId,
    /// Completed or failed.
    pub outcome: RunOutcome,
}

/// A typed contract call: what a transaction's kind and payload mean.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Call {
    /// Kind `0x0001`.
    Governance(Governance),
    /// Kind `0x0100`.
    ConsentGrant(ConsentGrant),
    /// Kind `0x0101`.
    ConsentRevoke(ConsentRevoke),
    /// Kind `0x0200`.
    AccessRecord(AccessRecord),
    /// Kind `0x0300`.
    AssessmentRequest(AssessmentRequest),
    /// Kind `0x0301`.
    ResultRecord(ResultRecord),
    /// Kind `0x0302`.
    FailRequest(FailRequest),
    /// Kind `0x0303`.
    BatchRequest(BatchRequest),
    /// Kind `0x0201`.
    BatchAccess(BatchAccess),
    /// Kind `0x0500`.
    PolicyRun(PolicyRun),
    /// Kind `0x0202`.
    PolicyAccess(PolicyAccess),
    /// Kind `0x0501`.
    PolicyEnd(PolicyEnd),
}

/// A call that cannot be encoded: a field is over its limit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field} is {len}, over the limit {max}")]
pub struct EncodeError {
    /// The field.
    pub field: &'static str,
    /// Its length or count.
    pub len: u64,
    /// The limit.
    pub max: u64,
}

impl Call {
    /// The transaction kind that carries this call.
    pub fn kind(&self) -> TxKind {
        match self {
            Call::Governance(_) => kinds::GOVERNANCE,
            Call::ConsentGrant(_) => kinds::CONSENT_GRANT,
            Call::ConsentRevoke(_) => kinds::CONSENT_REVOKE,
            Call::AccessRecord(_) => kinds::ACCESS_RECORD,
            Call::AssessmentRequest(_) => kinds::ASSESSMENT_REQUEST,
            Call::ResultRecord(_) => kinds::RESULT_RECORD,
            Call::FailRequest(_) => kinds::FAIL_REQUEST,
            Call::BatchRequest(_) => kinds::BATCH_REQUEST,
            Call::BatchAccess(_) => kinds::BATCH_ACCESS,
            Call::PolicyRun(_) => kinds::POLICY_RUN,
            Call::PolicyAccess(_) => kinds::POLICY_ACCESS,
            Call::PolicyEnd(_) => kinds::POLICY_END,
        }
    }

    /// The canonical payload bytes. Refuses fields over their limits (so every encoded
    /// payload decodes). Approvals are written in the order given: a caller that lists an
    /// admin twice gets bytes that [`Call::decode`] refuses.
    pub fn encode(&self) -> Result<Vec<u8>, EncodeError> {
        let mut w = Writer::new(Vec::with_capacity(160));
        w.u8(PAYLOAD_VERSION);
        match self {
            Call::Governance(g) => {
                if let Change::RegisterModel { spec, .. } = &g.change
                    && spec.len() as u64 > u64::from(MODEL_SPEC_BYTES_MAX)
                {
                    return Err(EncodeError {
                        field: "model spec length",
                        len: spec.len() as u64,
                        max: u64::from(MODEL_SPEC_BYTES_MAX),
                    });
                }
                if let Change::RegisterPolicy { spec, .. } = &g.change
                    && spec.len() as u64 > u64::from(POLICY_SPEC_BYTES_MAX)
                {
                    return Err(EncodeError {
                        field: "policy spec length",
                        len: spec.len() as u64,
                        max: u64::from(POLICY_SPEC_BYTES_MAX),
                    });
                }
                if g.approvals.len() > usize::from(APPROVALS_MAX) {
                    return Err(EncodeError {
                        field: "approval count",
                        len: g.approvals.len() as u64,
                        max: u64::from(APPROVALS_MAX),
                    });
                }
                w.u64(g.seq);
                g.change.encode_into(&mut w);
                w.count(g.approvals.len());
                for a in &g.approvals {
                    w.bytes(a.admin.as_bytes());
                    w.bytes(&a.signature.to_bytes());
                }
            }
            Call::ConsentGrant(c) => {
                w.bytes(c.consent.as_bytes());
                w.bytes(c.subject.as_bytes());
                w.bytes(c.grantee.as_bytes());
                w.u8(c.purpose.code());
                w.u16(c.categories.bits());
                w.u64(c.valid_from);
                w.u64(c.valid_until);
                w.bytes(c.evidence.as_bytes());
            }
            Call::ConsentRevoke(c) => {
                w.bytes(c.consent.as_bytes());
                w.bytes(c.evidence.as_bytes());
            }
            Call::AccessRecord(a) => {
                w.bytes(a.request.as_bytes());
                w.u16(a.node.0);
                w.bytes(a.subject.as_bytes());
                w.u16(a.categories.bits());
                w.bytes(a.consent.as_bytes());
                w.bytes(a.fields.as_bytes());
            }
            Call::AssessmentRequest(q) => {
                w.bytes(q.request.as_bytes());
                w.bytes(q.subject.as_bytes());
                w.u8(q.purpose.code());
                w.bytes(q.model.as_bytes());
            }
            Call::ResultRecord(q) => {
                w.bytes(q.request.as_bytes());
                w.bytes(q.model.as_bytes());
                w.bytes(q.commitment.as_bytes());
            }
            Call::FailRequest(f) => {
                w.bytes(f.request.as_bytes());
                w.u8(f.reason.code());
            }
            Call::BatchRequest(b) => {
                if b.subjects.len() > usize::from(BATCH_PART_SUBJECTS_MAX) {
                    return Err(EncodeError {
                        field: "batch part subject count",
                        len: b.subjects.len() as u64,
                        max: u64::from(BATCH_PART_SUBJECTS_MAX),
                    });
                }
                w.bytes(b.request.as_bytes());
                w.u8(b.purpose.code());
                w.bytes(b.model.as_bytes());
                w.u32(b.part);
                w.u32(b.parts);
                w.count(b.subjects.len());
                for s in &b.subjects {
                    w.bytes(s.as_bytes());
                }
            }
            Call::BatchAccess(a) => {
                w.bytes(a.request.as_bytes());
                w.u16(a.node.0);
                w.u16(a.categories.bits());
                w.bytes(a.fields.as_bytes());
            }
            Call::PolicyRun(p) => {
                w.bytes(p.run.as_bytes());
                w.bytes(p.policy.as_bytes());
            }
            Call::PolicyAccess(a) => {
                w.bytes(a.run.as_bytes());
                w.u16(a.node.0);
                w.u16(a.categories.bits());
            }
            Call::PolicyEnd(e) => {
                w.bytes(e.run.as_bytes());
                match e.outcome {
                    RunOutcome::Completed(matches) => {
                        w.u8(0);
                        w.bytes(matches.as_bytes());
                    }
                    RunOutcome::Failed(reason) => w.u8(reason.code()),
                }
            }
        }
        Ok(w.finish())
    }

    /// Decodes the payload of a transaction of kind `kind`. Refuses unknown kinds and
    /// versions, unknown enum codes, oversize fields, non-canonical sets and trailing bytes.
    pub fn decode(kind: TxKind, payload: &[u8]) -> Result<Self, DecodeError> {
        let what = match kind {
            kinds::GOVERNANCE => "governance payload",
            kinds::CONSENT_GRANT => "consent grant payload",
            kinds::CONSENT_REVOKE => "consent revoke payload",
            kinds::ACCESS_RECORD => "access record payload",
            kinds::ASSESSMENT_REQUEST => "assessment request payload",
            kinds::RESULT_RECORD => "result record payload",
            kinds::FAIL_REQUEST => "fail request payload",
            kinds::BATCH_REQUEST => "batch request payload",
            kinds::BATCH_ACCESS => "batch access payload",
            kinds::POLICY_RUN => "policy run payload",
            kinds::POLICY_ACCESS => "policy access payload",
            kinds::POLICY_END => "policy end payload",
            _ => return Err(unknown_kind()),
        };
        let mut r = Reader::payload(what, payload, PAYLOAD_VERSION)?;
        let call = match kind {
            kinds::GOVERNANCE => {
                let seq = r.u64()?;
                let change = Change::decode_from(&mut r)?;
                let count = r.count("approval count", APPROVALS_MAX)?;
                let mut approvals: Vec<Approval> = Vec::with_capacity(usize::from(count));
                for _ in 0..count {
                    let admin = KeyId::from_bytes(r.array()?);
                    let signature = signature(&mut r)?;
                    if approvals.last().is_some_and(|prev| prev.admin >= admin) {
                        return Err(r.invalid(
                            "approvals repeat an admin or are not ascending by admin key id; each admin approves once",
                        ));
                    }
                    approvals.push(Approval { admin, signature });
                }
                Call::Governance(Governance {
                    seq,
                    change,
                    approvals,
                })
            }
            kinds::CONSENT_GRANT => Call::ConsentGrant(ConsentGrant {
                consent: ConsentId::from_bytes(r.array()?),
                subject: SubjectPseudonym::from_bytes(r.array()?),
                grantee: KeyId::from_bytes(r.array()?),
                purpose: Purpose::decode(&mut r)?,
                categories: CategorySet::decode_nonempty(&mut r)?,
                valid_from: r.u64()?,
                valid_until: r.u64()?,
                evidence: EvidenceHash::from_bytes(r.array()?),
            }),
            kinds::CONSENT_REVOKE => Call::ConsentRevoke(ConsentRevoke {
                consent: ConsentId::from_bytes(r.array()?),
                evidence: EvidenceHash::from_bytes(r.array()?),
            }),
            kinds::ACCESS_RECORD => Call::AccessRecord(AccessRecord {
                request: RequestId::from_bytes(r.array()?),
                node: MemberId(r.u16()?),
                subject: SubjectPseudonym::from_bytes(r.array()?),
                categories: CategorySet::decode_nonempty(&mut r)?,
                consent: ConsentId::from_bytes(r.array()?),
                fields: FieldsHash::from_bytes(r.array()?),
            }),
            kinds::ASSESSMENT_REQUEST => Call::AssessmentRequest(AssessmentRequest {
                request: RequestId::from_bytes(r.array()?),
                subject: SubjectPseudonym::from_bytes(r.array()?),
                purpose: Purpose::decode(&mut r)?,
                model: ModelId::from_bytes(r.array()?),
            }),
            kinds::RESULT_RECORD => Call::ResultRecord(ResultRecord {
                request: RequestId::from_bytes(r.array()?),
                model: ModelId::from_bytes(r.array()?),
                commitment: ResultCommitment::from_bytes(r.array()?),
            }),
            kinds::FAIL_REQUEST => {
                let request = RequestId::from_bytes(r.array()?);
                let reason = FailureReason::decode(&mut r)?;
                if reason == FailureReason::TimedOut {
                    return Err(r.invalid(
                        "\"timed out\" is written by the time-out sweep, not by a transaction",
                    ));
                }
                Call::FailRequest(FailRequest { request, reason })
            }
            kinds::BATCH_REQUEST => {
                let request = RequestId::from_bytes(r.array()?);
                let purpose = Purpose::decode(&mut r)?;
                let model = ModelId::from_bytes(r.array()?);
                let part = r.u32()?;
                let parts = r.u32()?;
                if parts == 0 || part >= parts || parts > BATCH_PARTS_MAX {
                    return Err(r.invalid(
                        "batch part numbering: need 0 <= part < parts <= the most parts a batch may have",
                    ));
                }
                let count = r.count("batch part subject count", BATCH_PART_SUBJECTS_MAX)?;
                if count == 0 {
                    return Err(r.invalid("a batch part names no subject"));
                }
                let mut subjects: Vec<SubjectPseudonym> = Vec::with_capacity(usize::from(count));
                for _ in 0..count {
                    let s = SubjectPseudonym::from_bytes(r.array()?);
                    if subjects.last().is_some_and(|prev| *prev >= s) {
                        return Err(r.invalid(
                            "batch subjects repeat or are not strictly ascending by pseudonym",
                        ));
                    }
                    subjects.push(s);
                }
                Call::BatchRequest(BatchRequest {
                    request,
                    purpose,
                    model,
                    part,
                    parts,
                    subjects,
                })
            }
            kinds::BATCH_ACCESS => Call::BatchAccess(BatchAccess {
                request: RequestId::from_bytes(r.array()?),
                node: MemberId(r.u16()?),
                categories: CategorySet::decode_nonempty(&mut r)?,
                fields: FieldsHash::from_bytes(r.array()?),
            }),
            kinds::POLICY_RUN => Call::PolicyRun(PolicyRun {
                run: RunId::from_bytes(r.array()?),
                policy: PolicyId::from_bytes(r.array()?),
            }),
            kinds::POLICY_ACCESS => Call::PolicyAccess(PolicyAccess {
                run: RunId::from_bytes(r.array()?),
                node: MemberId(r.u16()?),
                categories: CategorySet::decode_nonempty(&mut r)?,
            }),
            kinds::POLICY_END => {
                let run = RunId::from_bytes(r.array()?);
                let outcome = match r.u8()? {
                    0 => RunOutcome::Completed(MatchesRoot::from_bytes(r.array()?)),
                    code => match FailureReason::from_code(code) {
                        Some(FailureReason::TimedOut) | None => {
                            return Err(r.invalid(
                                "unknown policy run outcome (0 completed, or a failure reason other than timed out)",
                            ));
                        }
                        Some(reason) => RunOutcome::Failed(reason),
                    },
                };
                Call::PolicyEnd(PolicyEnd { run, outcome })
            }
            _ => return Err(unknown_kind()),
        };
        r.finish()?;
        Ok(call)
    }
}

/// A kind the contracts do not define. `Call::decode` refuses it when it names the payload,
/// so its second match never gets one; that arm returns this too rather than panic.
fn unknown_kind() -> DecodeError {
    DecodeError::Invalid {
        what: "transaction kind",
        reason: "not a kind the contracts define (see contracts::payload::kinds)",
    }
}

pub(crate) fn public_key(r: &mut Reader<'_>) -> Result<PublicKey, DecodeError> {
    let sec1: [u8; 65] = r.array()?;
    if sec1[0] != 0x04 {
        return Err(r.invalid("public key is not in uncompressed SEC1 form (0x04 ‖ x ‖ y)"));
    }
    PublicKey::from_sec1_bytes(&sec1).map_err(|source| DecodeError::Key {
        what: r.what(),
        source,
    })
}

fn signature(r: &mut Reader<'_>) -> Result<Signature, DecodeError> {
    let bytes: [u8; 64] = r.array()?;
    Signature::from_bytes(&bytes).map_err(|source| DecodeError::Key {
        what: r.what(),
        source,
    })
}
