//! Why a transaction was refused: typed, carrying the offending values, and worded so a
//! reader (an operator, an auditor, a subject exercising the right to know) understands it.

use weinong_keys::{KeyId, SubjectPseudonym};
use weinong_ledger::{DecodeError, TxKind};

use crate::state::RequestStatus;
use crate::types::{
    BlockTime, CategorySet, ConsentId, MemberId, ModelId, PolicyId, Purpose, RequestId, Role, RunId,
};

/// A refused transaction. A refusal leaves the state exactly as it was.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    // ---- before the contracts run: decoding and signatures ----
    /// The payload is not a canonical call of its kind.
    #[error("malformed payload of kind {kind:#06x}: {source}")]
    Malformed {
        /// The transaction kind.
        kind: u16,
        /// Why decoding failed.
        source: DecodeError,
    },
    /// The signer's key is not registered in the state.
    #[error("signer {signer} is not a registered key; bind it a role through governance first")]
    UnknownSigner {
        /// The signer.
        signer: KeyId,
    },
    /// The transaction's SM2 signature does not verify.
    #[error("the SM2 signature of signer {signer} does not verify over the transaction body")]
    BadSignature {
        /// The signer.
        signer: KeyId,
    },
    /// An approval names a key the state does not know.
    #[error("approval by {admin}: not a registered key")]
    UnknownApprover {
        /// The approver.
        admin: KeyId,
    },
    /// An approval's signature is not over this exact change, sequence number and consortium.
    #[error(
        "approval by admin {admin} does not verify over this change (number {seq}); approvals sign the exact change bytes"
    )]
    BadApproval {
        /// The approver.
        admin: KeyId,
        /// The change number approved.
        seq: u64,
    },
    /// The old key's signature on a rotation does not verify.
    #[error(
        "rotation of key {old}: the old key's signature does not verify over the rotation statement"
    )]
    BadRotationSignature {
        /// The key being rotated.
        old: KeyId,
    },

    /// A genesis list is over its limit.
    #[error("genesis: {0}")]
    GenesisOverLimit(crate::payload::EncodeError),

    // ---- signer and replay ----
    /// The block time is earlier than one already applied.
    #[error("block time went back: {at} is before the last applied {last}")]
    BlockTimeWentBack {
        /// The block time given.
        at: BlockTime,
        /// The last block time applied.
        last: BlockTime,
    },
    /// The signer's key was revoked.
    #[error("key {key} was revoked at block {height}; nothing it signs is accepted since")]
    KeyRevoked {
        /// The key.
        key: KeyId,
        /// The revocation block.
        height: u64,
    },
    /// The signer's key was rotated away.
    #[error("key {key} was replaced by {successor} at block {height}; sign with the new key")]
    KeyRotated {
        /// The key.
        key: KeyId,
        /// Its replacement.
        successor: KeyId,
        /// The rotation block.
        height: u64,
    },
    /// The nonce was used already (or an older one): replay protection.
    #[error(
        "nonce {nonce} of signer {signer} is not above its last accepted nonce {last}: replayed or stale"
    )]
    NonceReused {
        /// The signer.
        signer: KeyId,
        /// The nonce given.
        nonce: u64,
        /// The signer's last accepted nonce.
        last: u64,
    },
    /// The signer lacks the role the call needs at this block time.
    #[error("key {key} holds no valid {role} role at {at}")]
    MissingRole {
        /// The key.
        key: KeyId,
        /// The role needed.
        role: Role,
        /// When.
        at: BlockTime,
    },

    // ---- governance ----
    /// The governance change number is not the next one.
    #[error(
        "governance change number {found} is not the next one ({expected}); re-collect approvals for {expected}"
    )]
    GovernanceOutOfSequence {
        /// The next change number.
        expected: u64,
        /// The one given.
        found: u64,
    },
    /// Too few distinct valid admin approvals.
    #[error("{found} valid admin approvals; governance needs {needed}")]
    TooFewApprovals {
        /// Valid distinct admin approvals.
        found: u64,
        /// k.
        needed: u16,
    },
    /// An approver holds no valid admin role.
    #[error("approval by {admin}: not an admin at {at}")]
    ApproverNotAdmin {
        /// The approver.
        admin: KeyId,
        /// When.
        at: BlockTime,
    },
    /// The threshold would be outside `1..=admins`.
    #[error("threshold {k} is outside 1..={admins} (the number of active admins)")]
    ThresholdOutOfRange {
        /// The threshold asked for.
        k: u16,
        /// Active admins.
        admins: u64,
    },
    /// The change would leave fewer active admins than the threshold.
    #[error("this change would leave {left} active admins, below the threshold {k}; lower k first")]
    TooFewAdminsLeft {
        /// Admins left.
        left: u64,
        /// k.
        k: u16,
    },
    /// A member number is taken (members are never renumbered).
    #[error("{member} exists already (member numbers are never reused)")]
    MemberExists {
        /// The member.
        member: MemberId,
    },
    /// No such member, or it was removed.
    #[error("{member} is not an active member")]
    UnknownMember {
        /// The member.
        member: MemberId,
    },
    /// The change would leave no member key to sign blocks.
    #[error(
        "this change would leave no active member key to sign blocks; add or rotate a member first"
    )]
    NoMembersLeft,
    /// The member count would exceed its limit.
    #[error("the consortium has {count} members, the limit")]
    TooManyMembers {
        /// Members now.
        count: u64,
    },
    /// The key already belongs to a member.
    #[error("key {key} already belongs to {member}")]
    KeyAlreadyMember {
        /// The key.
        key: KeyId,
        /// Its member.
        member: MemberId,
    },
    /// The key is registered already (a rotation needs a fresh key).
    #[error("key {key} is registered already; rotate to a fresh key")]
    KeyExists {
        /// The key.
        key: KeyId,
    },
    /// The key is not registered.
    #[error("key {key} is not registered")]
    UnknownKey {
        /// The key.
        key: KeyId,
    },
    /// The key is revoked or rotated away, so it cannot take part in a change.
    #[error("key {key} is no longer active (revoked or rotated)")]
    KeyInactive {
        /// The key.
        key: KeyId,
    },
    /// The key holds this role already.
    #[error("key {key} already holds the {role} role; unbind it before binding a new window")]
    RoleAlreadyBound {
        /// The key.
        key: KeyId,
        /// The role.
        role: Role,
    },
    /// The key does not hold this role.
    #[error("key {key} holds no current {role} binding to unbind")]
    RoleNotBound {
        /// The key.
        key: KeyId,
        /// The role.
        role: Role,
    },
    /// A key's binding history is full.
    #[error("key {key} has {count} role bindings recorded, the limit; use a fresh key")]
    TooManyBindings {
        /// The key.
        key: KeyId,
        /// Bindings recorded.
        count: u64,
    },
    /// A validity window is empty or too long.
    #[error("validity window [{from}, {until}) ms is empty or longer than allowed")]
    BadWindow {
        /// Start.
        from: u64,
        /// End (exclusive).
        until: u64,
    },
    /// The model is registered already.
    #[error("model {model} is registered already")]
    ModelExists {
        /// The model.
        model: ModelId,
    },
    /// The model is not registered.
    #[error("model {model} is not registered")]
    UnknownModel {
        /// The model.
        model: ModelId,
    },
    /// The policy is registered already.
    #[error("policy {policy} is registered already")]
    PolicyExists {
        /// The policy.
        policy: PolicyId,
    },
    /// The policy is not registered.
    #[error("policy {policy} is not registered; register it through governance first")]
    UnknownPolicy {
        /// The policy.
        policy: PolicyId,
    },
    /// A run with this id exists already.
    #[error("policy run {run} exists already; choose a fresh run id")]
    RunExists {
        /// The run.
        run: RunId,
    },
    /// No run with this id.
    #[error("policy run {run} does not exist")]
    UnknownRun {
        /// The run.
        run: RunId,
    },
    /// The run has ended.
    #[error("policy run {run} has ended; start a new run")]
    RunEnded {
        /// The run.
        run: RunId,
    },
    /// The signer may not do this for the run: it is not the policy's receiver.
    #[error(
        "key {key} is not the current key of {receiver}, the receiver of policy {policy}; only the receiving department opens and completes its runs"
    )]
    NotPolicyReceiver {
        /// The signer.
        key: KeyId,
        /// The policy's receiver.
        receiver: MemberId,
        /// The policy.
        policy: PolicyId,
    },
    /// A department recorded its access for the run already.
    #[error("{node} recorded its access for policy run {run} already")]
    RunAccessRepeated {
        /// The run.
        run: RunId,
        /// The department.
        node: MemberId,
    },
    /// The categories are not all among the policy's.
    #[error("categories {categories} are not all among policy {policy}'s {allowed}")]
    OutsidePolicyCategories {
        /// The policy.
        policy: PolicyId,
        /// What the access named.
        categories: CategorySet,
        /// What the policy allows.
        allowed: CategorySet,
    },
    /// The model was retired.
    #[error("model {model} was retired at block {height}")]
    ModelRetired {
        /// The model.
        model: ModelId,
        /// The retirement block.
        height: u64,
    },

    // ---- consent ----
    /// The consent id is taken.
    #[error("consent {consent} exists already")]
    ConsentExists {
        /// The consent.
        consent: ConsentId,
    },
    /// No such consent.
    #[error("no consent {consent} on the ledger")]
    UnknownConsent {
        /// The consent.
        consent: ConsentId,
    },
    /// The consent was withdrawn.
    #[error(
        "consent revoked at block {height} (consent {consent}): it can be neither used nor withdrawn again"
    )]
    ConsentRevoked {
        /// The consent.
        consent: ConsentId,
        /// The withdrawal block.
        height: u64,
    },
    /// The consent's window has not begun.
    #[error("consent {consent} is valid only from {valid_from} ms; block time is {now_ms} ms")]
    ConsentNotYetValid {
        /// The consent.
        consent: ConsentId,
        /// Its start.
        valid_from: u64,
        /// Block time.
        now_ms: u64,
    },
    /// The consent expired.
    #[error("consent {consent} expired at {valid_until} ms; block time is {now_ms} ms")]
    ConsentExpired {
        /// The consent.
        consent: ConsentId,
        /// Its end.
        valid_until: u64,
        /// Block time.
        now_ms: u64,
    },
    /// The consent is for another subject.
    #[error("consent {consent} is for subject {consent_subject}, not {subject}")]
    ConsentOtherSubject {
        /// The consent.
        consent: ConsentId,
        /// Its subject.
        consent_subject: SubjectPseudonym,
        /// The subject accessed.
        subject: SubjectPseudonym,
    },
    /// The consent names another grantee.
    #[error("consent {consent} grants {grantee}, not the requester {requester}")]
    ConsentOtherGrantee {
        /// The consent.
        consent: ConsentId,
        /// Its grantee.
        grantee: KeyId,
        /// The request's requester.
        requester: KeyId,
    },
    /// The consent is for another purpose.
    #[error("consent {consent} is for {granted}, not {asked}")]
    ConsentOtherPurpose {
        /// The consent.
        consent: ConsentId,
        /// Its purpose.
        granted: Purpose,
        /// The request's purpose.
        asked: Purpose,
    },
    /// The consent does not cover every category accessed.
    #[error("consent {consent} does not cover {missing}")]
    ConsentMissingCategories {
        /// The consent.
        consent: ConsentId,
        /// Categories accessed but not consented.
        missing: CategorySet,
    },

    // ---- access and requests ----
    /// The signer is not the named member's key.
    #[error("signer {signer} is not the key of {node}")]
    NotTheNode {
        /// The signer.
        signer: KeyId,
        /// The member named.
        node: MemberId,
    },
    /// Only the request's requester records its result commitment (it alone holds the
    /// result and the commitment's nonce).
    #[error(
        "signer {signer} is not the requester {requester} of request {request}; only the requester records its result commitment or the rest of its batch list"
    )]
    NotTheRequester {
        /// The signer.
        signer: KeyId,
        /// The request.
        request: RequestId,
        /// Its requester.
        requester: KeyId,
    },
    /// Categories the model does not need (PIPL Art. 6: minimum necessary).
    #[error("categories {extra} are not read by model {model} (minimum necessary data)")]
    NotNeeded {
        /// The model.
        model: ModelId,
        /// Categories not needed.
        extra: CategorySet,
    },
    /// The access's subject is not the request's.
    #[error("request {request} is about subject {expected}, not {found}")]
    OtherSubject {
        /// The request.
        request: RequestId,
        /// The request's subject.
        expected: SubjectPseudonym,
        /// The subject given.
        found: SubjectPseudonym,
    },
    /// The request id is taken.
    #[error("request {request} exists already")]
    RequestExists {
        /// The request.
        request: RequestId,
    },
    /// No such request.
    #[error("no request {request} on the ledger")]
    UnknownRequest {
        /// The request.
        request: RequestId,
    },
    /// The request is not in a state that allows this call.
    #[error("request {request} is {status}; this call needs it {needed}")]
    RequestState {
        /// The request.
        request: RequestId,
        /// Its status.
        status: RequestStatus,
        /// What the call needs.
        needed: &'static str,
    },
    /// The request is past its deadline.
    #[error("request {request} timed out at {deadline_ms} ms (block time {now_ms} ms)")]
    RequestTimedOut {
        /// The request.
        request: RequestId,
        /// Its deadline.
        deadline_ms: u64,
        /// Block time.
        now_ms: u64,
    },
    /// The request's access list is full.
    #[error("request {request} has {count} accesses recorded, the limit")]
    TooManyAccesses {
        /// The request.
        request: RequestId,
        /// Accesses recorded.
        count: u64,
    },
    /// The purpose is not an assessment purpose.
    #[error("{purpose} is not an assessment purpose")]
    NotAssessmentPurpose {
        /// The purpose given.
        purpose: Purpose,
    },
    /// The result names another model than the request.
    #[error("request {request} uses model {expected}, not {found}")]
    OtherModel {
        /// The request.
        request: RequestId,
        /// The request's model.
        expected: ModelId,
        /// The model given.
        found: ModelId,
    },
    /// Only the requester, a department or a steward may fail a request.
    #[error(
        "key {key} may not fail request {request}: only its requester, a department or a steward may"
    )]
    MayNotFail {
        /// The key.
        key: KeyId,
        /// The request.
        request: RequestId,
    },
    /// The call needs the other kind of request (single subject or batch).
    #[error("request {request} is {is}; use {use_instead}")]
    WrongRequestKind {
        /// The request.
        request: RequestId,
        /// What it is ("a batch request" or "a single-subject request").
        is: &'static str,
        /// The call to use instead.
        use_instead: &'static str,
    },
    /// A batch part out of order, or not matching the parts before it.
    #[error("batch request {request}: {reason}")]
    BatchPart {
        /// The request.
        request: RequestId,
        /// What is wrong.
        reason: String,
    },
    /// A batch access before the last part of the list is recorded.
    #[error(
        "batch request {request} has {received} of {parts} parts of its subject list; access only after the last"
    )]
    BatchIncomplete {
        /// The request.
        request: RequestId,
        /// Parts recorded.
        received: u32,
        /// Parts announced.
        parts: u32,
    },
    /// The node recorded its batch access already.
    #[error("node {node} recorded its access to batch request {request} already")]
    BatchAccessedAlready {
        /// The request.
        request: RequestId,
        /// The node.
        node: MemberId,
    },
    /// No subject of the batch has a consent covering the access.
    #[error("no subject of batch request {request} has a valid consent covering {categories}")]
    BatchNoConsent {
        /// The request.
        request: RequestId,
        /// The categories asked for.
        categories: CategorySet,
    },
    /// A deadline or window end overflowed `u64` milliseconds.
    #[error("time arithmetic overflowed (block time {now_ms} ms)")]
    TimeOverflow {
        /// Block time.
        now_ms: u64,
    },
}

impl Rejection {
    pub(crate) fn malformed(kind: TxKind, source: DecodeError) -> Self {
        Rejection::Malformed {
            kind: kind.0,
            source,
        }
    }
}
