//! A contract's refusal on the wire, typed: [`RejectionCode`] names which of
//! [`Rejection`]'s variants (or the node's own refusals before the contracts run), with the
//! values it carries and the contracts' message. Clients decide on the code and the
//! fields, never on the message.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use weinong_contracts::Rejection;

/// Declares [`RejectionCode`]: the contracts' refusals (one per [`Rejection`] variant), then
/// the node's own refusals before the contracts run.
macro_rules! rejection_codes {
    ($($(#[doc = $doc:literal])* $variant:ident = $name:literal;)*) => {
        /// Why a transaction was refused, as a closed list of snake_case names.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum RejectionCode {
            $($(#[doc = $doc])* $variant,)*
        }

        impl RejectionCode {
            /// Every code.
            pub const ALL: &'static [RejectionCode] = &[$(RejectionCode::$variant,)*];

            /// The snake_case name (as serialised).
            pub const fn name(self) -> &'static str {
                match self {
                    $(RejectionCode::$variant => $name,)*
                }
            }
        }
    };
}

rejection_codes! {
    /// The payload is not a canonical call of its kind.
    Malformed = "malformed";
    /// The signer's key is not registered in the state.
    UnknownSigner = "unknown_signer";
    /// The transaction's SM2 signature does not verify.
    BadSignature = "bad_signature";
    /// An approval names a key the state does not know.
    UnknownApprover = "unknown_approver";
    /// An approval's signature is not over this exact change, sequence number and consortium.
    BadApproval = "bad_approval";
    /// The old key's signature on a rotation does not verify.
    BadRotationSignature = "bad_rotation_signature";
    /// A genesis list is over its limit.
    GenesisOverLimit = "genesis_over_limit";
    /// The block time is earlier than one already applied.
    BlockTimeWentBack = "block_time_went_back";
    /// The signer's key was revoked.
    KeyRevoked = "key_revoked";
    /// The signer's key was rotated away.
    KeyRotated = "key_rotated";
    /// The nonce was used already (or an older one): replay protection.
    NonceReused = "nonce_reused";
    /// The signer lacks the role the call needs at this block time.
    MissingRole = "missing_role";
    /// The governance change number is not the next one.
    GovernanceOutOfSequence = "governance_out_of_sequence";
    /// Too few distinct valid admin approvals.
    TooFewApprovals = "too_few_approvals";
    /// An approver holds no valid admin role.
    ApproverNotAdmin = "approver_not_admin";
    /// The threshold would be outside `1..=admins`.
    ThresholdOutOfRange = "threshold_out_of_range";
    /// The change would leave fewer active admins than the threshold.
    TooFewAdminsLeft = "too_few_admins_left";
    /// A member number is taken (members are never renumbered).
    MemberExists = "member_exists";
    /// No such member, or it was removed.
    UnknownMember = "unknown_member";
    /// The change would leave no member key to sign blocks.
    NoMembersLeft = "no_members_left";
    /// The member count would exceed its limit.
    TooManyMembers = "too_many_members";
    /// The key already belongs to a member.
    KeyAlreadyMember = "key_already_member";
    /// The key is registered already (a rotation needs a fresh key).
    KeyExists = "key_exists";
    /// The key is not registered.
    UnknownKey = "unknown_key";
    /// The key is revoked or rotated away, so it cannot take part in a change.
    KeyInactive = "key_inactive";
    /// The key holds this role already.
    RoleAlreadyBound = "role_already_bound";
    /// The key does not hold this role.
    RoleNotBound = "role_not_bound";
    /// A key's binding history is full.
    TooManyBindings = "too_many_bindings";
    /// A validity window is empty or too long.
    BadWindow = "bad_window";
    /// The model is registered already.
    ModelExists = "model_exists";
    /// The model is not registered.
    UnknownModel = "unknown_model";
    /// The model was retired.
    ModelRetired = "model_retired";
    /// The policy is registered already.
    PolicyExists = "policy_exists";
    /// The policy is not registered.
    UnknownPolicy = "unknown_policy";
    /// The policy run id is taken.
    RunExists = "run_exists";
    /// No such policy run.
    UnknownRun = "unknown_run";
    /// The policy run has ended.
    RunEnded = "run_ended";
    /// Only the policy's receiver opens or completes its runs.
    NotPolicyReceiver = "not_policy_receiver";
    /// The department recorded its access for the run already.
    RunAccessRepeated = "run_access_repeated";
    /// Categories the policy did not register.
    OutsidePolicyCategories = "outside_policy_categories";
    /// The consent id is taken.
    ConsentExists = "consent_exists";
    /// No such consent.
    UnknownConsent = "unknown_consent";
    /// The consent was withdrawn.
    ConsentRevoked = "consent_revoked";
    /// The consent's window has not begun.
    ConsentNotYetValid = "consent_not_yet_valid";
    /// The consent expired.
    ConsentExpired = "consent_expired";
    /// The consent is for another subject.
    ConsentOtherSubject = "consent_other_subject";
    /// The consent names another grantee.
    ConsentOtherGrantee = "consent_other_grantee";
    /// The consent is for another purpose.
    ConsentOtherPurpose = "consent_other_purpose";
    /// The consent does not cover every category accessed.
    ConsentMissingCategories = "consent_missing_categories";
    /// The signer is not the named member's key.
    NotTheNode = "not_the_node";
    /// Only the request's requester records its result commitment (it alone holds the result and the commitment's nonce).
    NotTheRequester = "not_the_requester";
    /// Categories the model does not need (PIPL Art. 6: minimum necessary).
    NotNeeded = "not_needed";
    /// The access's subject is not the request's.
    OtherSubject = "other_subject";
    /// The request id is taken.
    RequestExists = "request_exists";
    /// No such request.
    UnknownRequest = "unknown_request";
    /// The request is not in a state that allows this call.
    RequestState = "request_state";
    /// The request is past its deadline.
    RequestTimedOut = "request_timed_out";
    /// The request's access list is full.
    TooManyAccesses = "too_many_accesses";
    /// The purpose is not an assessment purpose.
    NotAssessmentPurpose = "not_assessment_purpose";
    /// The result names another model than the request.
    OtherModel = "other_model";
    /// Only the requester, a department or a steward may fail a request.
    MayNotFail = "may_not_fail";
    /// The call needs the other kind of request (single subject or batch).
    WrongRequestKind = "wrong_request_kind";
    /// A batch part out of order, or not matching the parts before it.
    BatchPart = "batch_part";
    /// A batch access before the last part of the list is recorded.
    BatchIncomplete = "batch_incomplete";
    /// The node recorded its batch access already.
    BatchAccessedAlready = "batch_accessed_already";
    /// No subject of the batch has a consent covering the access.
    BatchNoConsent = "batch_no_consent";
    /// A deadline or window end overflowed `u64` milliseconds.
    TimeOverflow = "time_overflow";
    // ---- the node's own refusals, before the contracts run ----
    /// The transaction does not decode (the node refuses it before the contracts run).
    Undecodable = "undecodable";
    /// A model registration whose spec does not compile or does not declare exactly its inputs' data categories (checked by every node before the contracts run).
    ModelCategories = "model_categories";
    /// The block was void (its proposal broke an admission rule): no transaction entered it; submit again.
    VoidBlock = "void_block";
    /// Not in the stored block: it was refused when the block was first applied.
    NotInBlock = "not_in_block";
}

impl fmt::Display for RejectionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A refused transaction, typed: the refusal's code, the values it names, and the
/// contracts' message (for people; decide on `code` and `fields`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RejectionBody {
    /// Which refusal.
    pub code: RejectionCode,
    /// The values the refusal names (key ids, nonces, heights, …), by field name: numbers
    /// as JSON numbers, everything else as its display text.
    #[schema(value_type = Object)]
    pub fields: BTreeMap<String, serde_json::Value>,
    /// What is wrong and what to do, in English.
    pub message: String,
}

impl RejectionBody {
    /// A refusal the node makes itself (before or beside the contracts), with its message.
    pub fn node(code: RejectionCode, message: impl Into<String>) -> RejectionBody {
        RejectionBody {
            code,
            fields: BTreeMap::new(),
            message: message.into(),
        }
    }

    /// Whether the refusal is about the signer's nonce (replayed or stale): a fresh nonce
    /// may pass.
    pub fn is_stale_nonce(&self) -> bool {
        self.code == RejectionCode::NonceReused
    }

    /// Whether the refusal says the thing registered exists already (a key, member,
    /// model, consent or request): repeating a registration is then done, not failed.
    pub fn is_already_registered(&self) -> bool {
        matches!(
            self.code,
            RejectionCode::KeyExists
                | RejectionCode::KeyAlreadyMember
                | RejectionCode::MemberExists
                | RejectionCode::ModelExists
                | RejectionCode::PolicyExists
                | RejectionCode::ConsentExists
                | RejectionCode::RequestExists
                | RejectionCode::RoleAlreadyBound
        )
    }
}

impl fmt::Display for RejectionBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// A field's wire value: numbers stay numbers.
trait FieldValue {
    fn value(&self) -> serde_json::Value;
}

macro_rules! number_fields {
    ($($t:ty),*) => {$(
        impl FieldValue for $t {
            fn value(&self) -> serde_json::Value {
                serde_json::Value::from(*self)
            }
        }
    )*};
}
number_fields!(u16, u32, u64);

/// Everything else: its display text.
macro_rules! text_fields {
    ($($t:ty),*) => {$(
        impl FieldValue for $t {
            fn value(&self) -> serde_json::Value {
                serde_json::Value::String(self.to_string())
            }
        }
    )*};
}
text_fields!(
    String,
    &'static str,
    weinong_keys::KeyId,
    weinong_keys::SubjectPseudonym,
    weinong_ledger::DecodeError,
    weinong_contracts::payload::EncodeError,
    weinong_contracts::BlockTime,
    weinong_contracts::Role,
    weinong_contracts::MemberId,
    weinong_contracts::ModelId,
    weinong_contracts::PolicyId,
    weinong_contracts::RunId,
    weinong_contracts::ConsentId,
    weinong_contracts::RequestId,
    weinong_contracts::Purpose,
    weinong_contracts::CategorySet,
    weinong_contracts::RequestStatus
);

/// `(name, value)` pairs as a field map.
fn fields<const N: usize>(
    pairs: [(&str, serde_json::Value); N],
) -> BTreeMap<String, serde_json::Value> {
    pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

impl From<&Rejection> for RejectionBody {
    fn from(r: &Rejection) -> RejectionBody {
        let (code, fields) = match r {
            Rejection::Malformed { kind, source } => (
                RejectionCode::Malformed,
                fields([("kind", kind.value()), ("source", source.value())]),
            ),
            Rejection::UnknownSigner { signer } => (
                RejectionCode::UnknownSigner,
                fields([("signer", signer.value())]),
            ),
            Rejection::BadSignature { signer } => (
                RejectionCode::BadSignature,
                fields([("signer", signer.value())]),
            ),
            Rejection::UnknownApprover { admin } => (
                RejectionCode::UnknownApprover,
                fields([("admin", admin.value())]),
            ),
            Rejection::BadApproval { admin, seq } => (
                RejectionCode::BadApproval,
                fields([("admin", admin.value()), ("seq", seq.value())]),
            ),
            Rejection::BadRotationSignature { old } => (
                RejectionCode::BadRotationSignature,
                fields([("old", old.value())]),
            ),
            Rejection::GenesisOverLimit(error) => (
                RejectionCode::GenesisOverLimit,
                fields([("error", error.value())]),
            ),
            Rejection::BlockTimeWentBack { at, last } => (
                RejectionCode::BlockTimeWentBack,
                fields([("at", at.value()), ("last", last.value())]),
            ),
            Rejection::KeyRevoked { key, height } => (
                RejectionCode::KeyRevoked,
                fields([("key", key.value()), ("height", height.value())]),
            ),
            Rejection::KeyRotated {
                key,
                successor,
                height,
            } => (
                RejectionCode::KeyRotated,
                fields([
                    ("key", key.value()),
                    ("successor", successor.value()),
                    ("height", height.value()),
                ]),
            ),
            Rejection::NonceReused {
                signer,
                nonce,
                last,
            } => (
                RejectionCode::NonceReused,
                fields([
                    ("signer", signer.value()),
                    ("nonce", nonce.value()),
                    ("last", last.value()),
                ]),
            ),
            Rejection::MissingRole { key, role, at } => (
                RejectionCode::MissingRole,
                fields([
                    ("key", key.value()),
                    ("role", role.value()),
                    ("at", at.value()),
                ]),
            ),
            Rejection::GovernanceOutOfSequence { expected, found } => (
                RejectionCode::GovernanceOutOfSequence,
                fields([("expected", expected.value()), ("found", found.value())]),
            ),
            Rejection::TooFewApprovals { found, needed } => (
                RejectionCode::TooFewApprovals,
                fields([("found", found.value()), ("needed", needed.value())]),
            ),
            Rejection::ApproverNotAdmin { admin, at } => (
                RejectionCode::ApproverNotAdmin,
                fields([("admin", admin.value()), ("at", at.value())]),
            ),
            Rejection::ThresholdOutOfRange { k, admins } => (
                RejectionCode::ThresholdOutOfRange,
                fields([("k", k.value()), ("admins", admins.value())]),
            ),
            Rejection::TooFewAdminsLeft { left, k } => (
                RejectionCode::TooFewAdminsLeft,
                fields([("left", left.value()), ("k", k.value())]),
            ),
            Rejection::MemberExists { member } => (
                RejectionCode::MemberExists,
                fields([("member", member.value())]),
            ),
            Rejection::UnknownMember { member } => (
                RejectionCode::UnknownMember,
                fields([("member", member.value())]),
            ),
            Rejection::NoMembersLeft => (RejectionCode::NoMembersLeft, fields([])),
            Rejection::TooManyMembers { count } => (
                RejectionCode::TooManyMembers,
                fields([("count", count.value())]),
            ),
            Rejection::KeyAlreadyMember { key, member } => (
                RejectionCode::KeyAlreadyMember,
                fields([("key", key.value()), ("member", member.value())]),
            ),
            Rejection::KeyExists { key } => {
                (RejectionCode::KeyExists, fields([("key", key.value())]))
            }
            Rejection::UnknownKey { key } => {
                (RejectionCode::UnknownKey, fields([("key", key.value())]))
            }
            Rejection::KeyInactive { key } => {
                (RejectionCode::KeyInactive, fields([("key", key.value())]))
            }
            Rejection::RoleAlreadyBound { key, role } => (
                RejectionCode::RoleAlreadyBound,
                fields([("key", key.value()), ("role", role.value())]),
            ),
            Rejection::RoleNotBound { key, role } => (
                RejectionCode::RoleNotBound,
                fields([("key", key.value()), ("role", role.value())]),
            ),
            Rejection::TooManyBindings { key, count } => (
                RejectionCode::TooManyBindings,
                fields([("key", key.value()), ("count", count.value())]),
            ),
            Rejection::BadWindow { from, until } => (
                RejectionCode::BadWindow,
                fields([("from", from.value()), ("until", until.value())]),
            ),
            Rejection::ModelExists { model } => (
                RejectionCode::ModelExists,
                fields([("model", model.value())]),
            ),
            Rejection::UnknownModel { model } => (
                RejectionCode::UnknownModel,
                fields([("model", model.value())]),
            ),
            Rejection::PolicyExists { policy } => (
                RejectionCode::PolicyExists,
                fields([("policy", policy.value())]),
            ),
            Rejection::UnknownPolicy { policy } => (
                RejectionCode::UnknownPolicy,
                fields([("policy", policy.value())]),
            ),
            Rejection::RunExists { run } => {
                (RejectionCode::RunExists, fields([("run", run.value())]))
            }
            Rejection::UnknownRun { run } => {
                (RejectionCode::UnknownRun, fields([("run", run.value())]))
            }
            Rejection::RunEnded { run } => {
                (RejectionCode::RunEnded, fields([("run", run.value())]))
            }
            Rejection::NotPolicyReceiver {
                key,
                receiver,
                policy,
            } => (
                RejectionCode::NotPolicyReceiver,
                fields([
                    ("key", key.value()),
                    ("receiver", receiver.value()),
                    ("policy", policy.value()),
                ]),
            ),
            Rejection::RunAccessRepeated { run, node } => (
                RejectionCode::RunAccessRepeated,
                fields([("run", run.value()), ("node", node.value())]),
            ),
            Rejection::OutsidePolicyCategories {
                policy,
                categories,
                allowed,
            } => (
                RejectionCode::OutsidePolicyCategories,
                fields([
                    ("policy", policy.value()),
                    ("categories", categories.value()),
                    ("allowed", allowed.value()),
                ]),
            ),
            Rejection::ModelRetired { model, height } => (
                RejectionCode::ModelRetired,
                fields([("model", model.value()), ("height", height.value())]),
            ),
            Rejection::ConsentExists { consent } => (
                RejectionCode::ConsentExists,
                fields([("consent", consent.value())]),
            ),
            Rejection::UnknownConsent { consent } => (
                RejectionCode::UnknownConsent,
                fields([("consent", consent.value())]),
            ),
            Rejection::ConsentRevoked { consent, height } => (
                RejectionCode::ConsentRevoked,
                fields([("consent", consent.value()), ("height", height.value())]),
            ),
            Rejection::ConsentNotYetValid {
                consent,
                valid_from,
                now_ms,
            } => (
                RejectionCode::ConsentNotYetValid,
                fields([
                    ("consent", consent.value()),
                    ("valid_from", valid_from.value()),
                    ("now_ms", now_ms.value()),
                ]),
            ),
            Rejection::ConsentExpired {
                consent,
                valid_until,
                now_ms,
            } => (
                RejectionCode::ConsentExpired,
                fields([
                    ("consent", consent.value()),
                    ("valid_until", valid_until.value()),
                    ("now_ms", now_ms.value()),
                ]),
            ),
            Rejection::ConsentOtherSubject {
                consent,
                consent_subject,
                subject,
            } => (
                RejectionCode::ConsentOtherSubject,
                fields([
                    ("consent", consent.value()),
                    ("consent_subject", consent_subject.value()),
                    ("subject", subject.value()),
                ]),
            ),
            Rejection::ConsentOtherGrantee {
                consent,
                grantee,
                requester,
            } => (
                RejectionCode::ConsentOtherGrantee,
                fields([
                    ("consent", consent.value()),
                    ("grantee", grantee.value()),
                    ("requester", requester.value()),
                ]),
            ),
            Rejection::ConsentOtherPurpose {
                consent,
                granted,
                asked,
            } => (
                RejectionCode::ConsentOtherPurpose,
                fields([
                    ("consent", consent.value()),
                    ("granted", granted.value()),
                    ("asked", asked.value()),
                ]),
            ),
            Rejection::ConsentMissingCategories { consent, missing } => (
                RejectionCode::ConsentMissingCategories,
                fields([("consent", consent.value()), ("missing", missing.value())]),
            ),
            Rejection::NotTheNode { signer, node } => (
                RejectionCode::NotTheNode,
                fields([("signer", signer.value()), ("node", node.value())]),
            ),
            Rejection::NotTheRequester {
                signer,
                request,
                requester,
            } => (
                RejectionCode::NotTheRequester,
                fields([
                    ("signer", signer.value()),
                    ("request", request.value()),
                    ("requester", requester.value()),
                ]),
            ),
            Rejection::NotNeeded { model, extra } => (
                RejectionCode::NotNeeded,
                fields([("model", model.value()), ("extra", extra.value())]),
            ),
            Rejection::OtherSubject {
                request,
                expected,
                found,
            } => (
                RejectionCode::OtherSubject,
                fields([
                    ("request", request.value()),
                    ("expected", expected.value()),
                    ("found", found.value()),
                ]),
            ),
            Rejection::RequestExists { request } => (
                RejectionCode::RequestExists,
                fields([("request", request.value())]),
            ),
            Rejection::UnknownRequest { request } => (
                RejectionCode::UnknownRequest,
                fields([("request", request.value())]),
            ),
            Rejection::RequestState {
                request,
                status,
                needed,
            } => (
                RejectionCode::RequestState,
                fields([
                    ("request", request.value()),
                    ("status", status.value()),
                    ("needed", needed.value()),
                ]),
            ),
            Rejection::RequestTimedOut {
                request,
                deadline_ms,
                now_ms,
            } => (
                RejectionCode::RequestTimedOut,
                fields([
                    ("request", request.value()),
                    ("deadline_ms", deadline_ms.value()),
                    ("now_ms", now_ms.value()),
                ]),
            ),
            Rejection::TooManyAccesses { request, count } => (
                RejectionCode::TooManyAccesses,
                fields([("request", request.value()), ("count", count.value())]),
            ),
            Rejection::NotAssessmentPurpose { purpose } => (
                RejectionCode::NotAssessmentPurpose,
                fields([("purpose", purpose.value())]),
            ),
            Rejection::OtherModel {
                request,
                expected,
                found,
            } => (
                RejectionCode::OtherModel,
                fields([
                    ("request", request.value()),
                    ("expected", expected.value()),
                    ("found", found.value()),
                ]),
            ),
            Rejection::MayNotFail { key, request } => (
                RejectionCode::MayNotFail,
                fields([("key", key.value()), ("request", request.value())]),
            ),
            Rejection::WrongRequestKind {
                request,
                is,
                use_instead,
            } => (
                RejectionCode::WrongRequestKind,
                fields([
                    ("request", request.value()),
                    ("is", is.value()),
                    ("use_instead", use_instead.value()),
                ]),
            ),
            Rejection::BatchPart { request, reason } => (
                RejectionCode::BatchPart,
                fields([("request", request.value()), ("reason", reason.value())]),
            ),
            Rejection::BatchIncomplete {
                request,
                received,
                parts,
            } => (
                RejectionCode::BatchIncomplete,
                fields([
                    ("request", request.value()),
                    ("received", received.value()),
                    ("parts", parts.value()),
                ]),
            ),
            Rejection::BatchAccessedAlready { request, node } => (
                RejectionCode::BatchAccessedAlready,
                fields([("request", request.value()), ("node", node.value())]),
            ),
            Rejection::BatchNoConsent {
                request,
                categories,
            } => (
                RejectionCode::BatchNoConsent,
                fields([
                    ("request", request.value()),
                    ("categories", categories.value()),
                ]),
            ),
            Rejection::TimeOverflow { now_ms } => (
                RejectionCode::TimeOverflow,
                fields([("now_ms", now_ms.value())]),
            ),
        };
        RejectionBody {
            code,
            fields,
            message: r.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::SubmitOutcome;
    use std::collections::BTreeSet;
    use weinong_keys::KeyId;

    fn nonce_reused() -> Rejection {
        Rejection::NonceReused {
            signer: KeyId::from_bytes([7; 32]),
            nonce: 5,
            last: 9,
        }
    }

    #[test]
    fn codes_are_unique_and_serialise_as_their_names() {
        let mut names = BTreeSet::new();
        for &code in RejectionCode::ALL {
            assert!(names.insert(code.name()), "{} twice", code.name());
            let json = serde_json::to_string(&code).unwrap();
            assert_eq!(json, format!("\"{}\"", code.name()));
            assert_eq!(serde_json::from_str::<RejectionCode>(&json).unwrap(), code);
        }
    }

    #[test]
    fn a_rejection_keeps_its_code_and_values() {
        let r = nonce_reused();
        let body = RejectionBody::from(&r);
        assert_eq!(body.code, RejectionCode::NonceReused);
        assert_eq!(body.fields["nonce"], 5);
        assert_eq!(body.fields["last"], 9);
        assert_eq!(
            body.fields["signer"],
            KeyId::from_bytes([7; 32]).to_string()
        );
        assert_eq!(body.message, r.to_string());
        let exists = RejectionBody::from(&Rejection::KeyExists {
            key: KeyId::from_bytes([1; 32]),
        });
        assert_eq!(exists.code, RejectionCode::KeyExists);
        assert!(exists.is_already_registered() && !exists.is_stale_nonce());
        assert_eq!(
            RejectionBody::from(&Rejection::NoMembersLeft).code,
            RejectionCode::NoMembersLeft
        );
    }

    /// Clients decide on the code: rewording every message changes no decision (the
    /// nonce retry of the assessment driver, the devnet's "registered already").
    #[test]
    fn rewording_a_message_changes_no_decision() {
        for r in [
            nonce_reused(),
            Rejection::KeyExists {
                key: KeyId::from_bytes([1; 32]),
            },
            Rejection::UnknownSigner {
                signer: KeyId::from_bytes([2; 32]),
            },
        ] {
            let original = SubmitOutcome::Rejected {
                tx: "ab".into(),
                rejection: RejectionBody::from(&r),
            };
            let mut wire = serde_json::to_value(&original).unwrap();
            // A message that names none of the words a text match would look for.
            wire["rejection"]["message"] = serde_json::Value::from("refused (reworded)");
            let reworded: SubmitOutcome = serde_json::from_value(wire).unwrap();
            assert_eq!(reworded.reason(), "refused (reworded)");
            assert_eq!(reworded.is_stale_nonce(), original.is_stale_nonce(), "{r}");
            assert_eq!(reworded.rejection_code(), original.rejection_code(), "{r}");
            let SubmitOutcome::Rejected { rejection, .. } = &reworded else {
                panic!("not rejected");
            };
            assert_eq!(
                rejection.is_already_registered(),
                RejectionBody::from(&r).is_already_registered()
            );
        }
        let stale = SubmitOutcome::Rejected {
            tx: "ab".into(),
            rejection: RejectionBody {
                message: "nothing about it here".into(),
                ..RejectionBody::from(&nonce_reused())
            },
        };
        assert!(stale.is_stale_nonce());
        // And a message that names a nonce does not make another refusal one.
        let other = SubmitOutcome::Rejected {
            tx: "ab".into(),
            rejection: RejectionBody::node(RejectionCode::Undecodable, "bad nonce field"),
        };
        assert!(!other.is_stale_nonce());
    }

    #[test]
    fn only_a_void_block_or_unavailability_is_worth_submitting_again() {
        let rejected = |code| SubmitOutcome::Rejected {
            tx: "ab".into(),
            // The message says "submit again" for both: only the code decides.
            rejection: RejectionBody::node(code, "submit again"),
        };
        assert!(rejected(RejectionCode::VoidBlock).is_retryable());
        assert!(!rejected(RejectionCode::NotInBlock).is_retryable());
        assert!(!rejected(RejectionCode::Undecodable).is_retryable());
        let unavailable = SubmitOutcome::Unavailable {
            tx: "ab".into(),
            reason: "no leader".into(),
        };
        assert!(unavailable.is_retryable());
        let committed = SubmitOutcome::Committed {
            tx: "ab".into(),
            height: 1,
            index: 0,
        };
        assert!(!committed.is_retryable());
    }
}
