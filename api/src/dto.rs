//! The API's wire types (JSON, with OpenAPI schemas). Each is built by hand from a domain
//! type, so changing a ledger or contract type never silently changes the wire; the
//! conversions that need only ledger or contract types live here, those that need the
//! node's own state stay in the node.
//! Hashes, ids and canonical encodings are lower-case hex.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use weinong_contracts::{CategorySet, ConsentStatus, HistoryEntry, RequestEvent};
use weinong_ledger::bundle::{CertifiedHead, ConsistencyFile, MemberChangeJson, ProofBundle};
use weinong_ledger::{BlockHeader, CommitCertificate};

/// `POST /v1/transactions` body.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubmitRequest {
    /// Canonical signed transactions (ledger `tx.rs` encoding), hex; 1 to 4096 of them.
    pub transactions: Vec<String>,
}

/// What happened to one transaction.
pub use crate::outcome::SubmitOutcome as OutcomeBody;

/// `POST /v1/transactions` answer: one outcome per transaction, in order.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SubmitResponse {
    /// Outcomes, in the order submitted.
    pub outcomes: Vec<OutcomeBody>,
}

/// A stored transaction.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TransactionBody {
    /// SM3 of the canonical bytes.
    pub hash: String,
    /// Log index.
    pub index: u64,
    /// Height of the block holding it.
    pub height: u64,
    /// Transaction kind (see contracts::payload::kinds).
    pub kind: u16,
    /// Signer's key id.
    pub signer: String,
    /// Signer's nonce.
    pub nonce: u64,
    /// Signer's clock, ms (informative).
    pub time_ms: u64,
    /// Canonical bytes, hex.
    pub transaction: String,
}

/// One member's signature in a commit certificate.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MemberSignatureBody {
    /// Member key id.
    pub signer: String,
    /// SM2 `r‖s`, hex.
    pub signature: String,
}

/// A certified block header.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct BlockBody {
    /// Height.
    pub height: u64,
    /// SM3 of the canonical header.
    pub hash: String,
    /// Previous block's hash.
    pub previous: String,
    /// Log size after this block.
    pub log_size: u64,
    /// Log root after this block.
    pub log_root: String,
    /// Contract state digest after this block.
    pub state_digest: String,
    /// Block time, ms.
    pub time_ms: u64,
    /// Proposer's key id.
    pub proposer: String,
    /// Canonical header, hex.
    pub header: String,
    /// Canonical commit certificate, hex.
    pub certificate: String,
    /// The certificate's signatures.
    pub signatures: Vec<MemberSignatureBody>,
}

impl BlockBody {
    /// From a header and its certificate.
    pub fn new(header: &BlockHeader, certificate: &CommitCertificate) -> Self {
        Self {
            height: header.height,
            hash: header.hash().to_hex(),
            previous: header.previous.to_hex(),
            log_size: header.log_size,
            log_root: header.log_root.to_hex(),
            state_digest: header.state_digest.to_hex(),
            time_ms: header.time_ms,
            proposer: header.proposer.to_hex(),
            header: hex::encode(header.encode()),
            certificate: hex::encode(certificate.encode()),
            signatures: certificate
                .signatures
                .iter()
                .map(|s| MemberSignatureBody {
                    signer: s.signer.to_hex(),
                    signature: hex::encode(s.signature.to_bytes()),
                })
                .collect(),
        }
    }
}

/// A certified head (`weinong-head/1`), as `weinong audit consistency` reads it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CertifiedHeadBody {
    /// `weinong-head/1`.
    pub format: String,
    /// Canonical member set, hex.
    pub members: String,
    /// Canonical header, hex.
    pub header: String,
    /// Canonical commit certificate, hex.
    pub certificate: String,
    /// The member-set hand-overs from the genesis set to `members` (ledger `bundle.rs`,
    /// "Member changes"); absent when the genesis set still signs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<Object>)]
    pub member_changes: Vec<MemberChangeJson>,
}

impl From<CertifiedHead> for CertifiedHeadBody {
    fn from(h: CertifiedHead) -> Self {
        Self {
            format: h.format,
            members: h.members,
            header: h.header,
            certificate: h.certificate,
            member_changes: h.member_changes,
        }
    }
}

/// An inclusion proof of one transaction in the log of `tree_size` leaves.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct InclusionBody {
    /// Transaction hash.
    pub tx: String,
    /// Log index.
    pub leaf_index: u64,
    /// Log size the proof is against.
    pub tree_size: u64,
    /// Log root at that size.
    pub root: String,
    /// Audit path (RFC 9162 §2.1.3), hex nodes.
    pub proof: Vec<String>,
}

/// `?size=` of `GET /v1/proofs/inclusion/{hash}`.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InclusionQuery {
    /// Log size to prove against (default: the current log size); must exceed the leaf's
    /// index.
    pub size: Option<u64>,
}

/// `?from_height=&to_height=` of `GET /v1/proofs/consistency`.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ConsistencyQuery {
    /// The older block.
    pub from_height: u64,
    /// The newer block (default: the tip).
    pub to_height: Option<u64>,
}

/// A consistency proof (`weinong-consistency-proof/1`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsistencyBody {
    /// `weinong-consistency-proof/1`.
    pub format: String,
    /// Older log size.
    pub old_size: u64,
    /// Newer log size.
    pub new_size: u64,
    /// Proof nodes (RFC 9162 §2.1.4), hex.
    pub proof: Vec<String>,
}

impl From<CertifiedHeadBody> for CertifiedHead {
    fn from(h: CertifiedHeadBody) -> Self {
        Self {
            format: h.format,
            members: h.members,
            header: h.header,
            certificate: h.certificate,
            member_changes: h.member_changes,
        }
    }
}

impl From<ConsistencyBody> for ConsistencyFile {
    fn from(c: ConsistencyBody) -> Self {
        Self {
            format: c.format,
            old_size: c.old_size,
            new_size: c.new_size,
            proof: c.proof,
        }
    }
}

impl From<ConsistencyFile> for ConsistencyBody {
    fn from(c: ConsistencyFile) -> Self {
        Self {
            format: c.format,
            old_size: c.old_size,
            new_size: c.new_size,
            proof: c.proof,
        }
    }
}

/// `?at_height=` of `GET /v1/bundles/{hash}`.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BundleQuery {
    /// Prove against this later block's head (default: the block holding the transaction).
    pub at_height: Option<u64>,
}

/// A proof bundle (`weinong-proof-bundle/1`), as `weinong audit verify` reads it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProofBundleBody {
    /// `weinong-proof-bundle/1`.
    pub format: String,
    /// Canonical member set, hex.
    pub members: String,
    /// Signer's SEC1 public key, hex.
    pub signer_key: String,
    /// Canonical transaction, hex.
    pub transaction: String,
    /// Log index.
    pub leaf_index: u64,
    /// Audit path, hex nodes.
    pub inclusion_proof: Vec<String>,
    /// Canonical header, hex.
    pub header: String,
    /// Version 2: canonical headers after `header`, up to the certified head, hex.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub chain: Vec<String>,
    /// Canonical commit certificate of the last header, hex.
    pub certificate: String,
    /// Version 2: canonical signed tree head of the certified head's log, hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tree_head: Option<String>,
    /// Version 2: the member-set hand-overs from the genesis set to `members`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<Object>)]
    pub member_changes: Vec<MemberChangeJson>,
}

impl From<ProofBundle> for ProofBundleBody {
    fn from(b: ProofBundle) -> Self {
        Self {
            format: b.format,
            members: b.members,
            signer_key: b.signer_key,
            transaction: b.transaction,
            leaf_index: b.leaf_index,
            inclusion_proof: b.inclusion_proof,
            header: b.header,
            chain: b.chain,
            certificate: b.certificate,
            tree_head: b.tree_head,
            member_changes: b.member_changes,
        }
    }
}

impl From<ProofBundleBody> for ProofBundle {
    fn from(b: ProofBundleBody) -> Self {
        Self {
            format: b.format,
            members: b.members,
            signer_key: b.signer_key,
            transaction: b.transaction,
            leaf_index: b.leaf_index,
            inclusion_proof: b.inclusion_proof,
            header: b.header,
            chain: b.chain,
            certificate: b.certificate,
            tree_head: b.tree_head,
            member_changes: b.member_changes,
        }
    }
}

/// A consent's status at the tip's block time.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ConsentBody {
    /// Consent id.
    pub consent: String,
    /// `valid`, `not_yet_valid`, `expired` or `revoked`.
    pub status: String,
    /// The time the status holds at (the tip's block time), ms.
    pub at_time_ms: u64,
    /// Who may receive results (key id).
    pub grantee: String,
    /// Purpose label.
    pub purpose: String,
    /// Data category labels.
    pub categories: Vec<String>,
    /// Start of validity, ms.
    pub valid_from: u64,
    /// End of validity (exclusive), ms.
    pub valid_until: u64,
    /// Block that recorded it.
    pub granted_at_height: u64,
    /// Block that recorded its withdrawal, if withdrawn.
    pub revoked_at_height: Option<u64>,
}

/// `GET /v1/subjects/{pseudonym}/consents`: the consents recorded for one subject, each
/// with its status at the tip's block time (for an institution, only those granted to it).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SubjectConsentsBody {
    /// The subject's pseudonym, hex.
    pub subject: String,
    /// The time the statuses hold at (the tip's block time), ms.
    pub at_time_ms: u64,
    /// The consents, oldest grant first.
    pub consents: Vec<ConsentBody>,
}

/// The wire name of a consent status.
pub fn consent_status_name(s: ConsentStatus) -> &'static str {
    match s {
        ConsentStatus::NotYetValid => "not_yet_valid",
        ConsentStatus::Valid => "valid",
        ConsentStatus::Expired => "expired",
        ConsentStatus::Revoked { .. } => "revoked",
    }
}

/// Category labels.
pub fn category_labels(c: CategorySet) -> Vec<String> {
    c.iter().map(|c| c.label().to_owned()).collect()
}

/// One step of a request's history.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RequestEventBody {
    /// Block height.
    pub height: u64,
    /// Block time, ms.
    pub time_ms: u64,
    /// The transaction that caused it, hex; absent only for the block's time-out sweep.
    pub tx: Option<String>,
    /// `requested`, `listed`, `accessed`, `batch accessed`, `authorised`, `computed` or
    /// `failed`.
    pub event: String,
    /// Key that acted, if any.
    pub by: Option<String>,
    /// Member number of the node that accessed data.
    pub node: Option<u16>,
    /// Data categories accessed.
    pub categories: Option<Vec<String>>,
    /// Consent the access rested on.
    pub consent: Option<String>,
    /// Result commitment.
    pub commitment: Option<String>,
    /// Failure reason label.
    pub reason: Option<String>,
    /// Batch requests: the part of the subject list recorded (`listed`).
    pub part: Option<u32>,
    /// Batch requests: subjects in the part (`listed`), or subjects with a covering
    /// consent (`batch accessed`).
    pub subjects: Option<u32>,
}

impl RequestEventBody {
    /// From a contract history entry.
    pub fn new(h: &HistoryEntry) -> Self {
        let mut out = Self {
            height: h.at.height,
            time_ms: h.at.time_ms,
            tx: h.tx.map(|t| t.to_hex()),
            event: String::new(),
            by: None,
            node: None,
            categories: None,
            consent: None,
            commitment: None,
            reason: None,
            part: None,
            subjects: None,
        };
        match &h.event {
            RequestEvent::Requested { by } => {
                out.event = "requested".into();
                out.by = Some(by.to_hex());
            }
            RequestEvent::Accessed {
                node,
                categories,
                consent,
            } => {
                out.event = "accessed".into();
                out.node = Some(node.0);
                out.categories = Some(category_labels(*categories));
                out.consent = Some(consent.to_hex());
            }
            RequestEvent::Authorised => out.event = "authorised".into(),
            RequestEvent::Computed { by, commitment } => {
                out.event = "computed".into();
                out.by = Some(by.to_hex());
                out.commitment = Some(commitment.to_hex());
            }
            RequestEvent::Listed { part, count } => {
                out.event = "listed".into();
                out.part = Some(*part);
                out.subjects = Some(*count);
            }
            RequestEvent::BatchAccessed {
                node,
                categories,
                covered,
            } => {
                out.event = "batch accessed".into();
                out.node = Some(node.0);
                out.categories = Some(category_labels(*categories));
                out.subjects = Some(*covered);
            }
            RequestEvent::Failed { by, reason } => {
                out.event = "failed".into();
                out.by = by.map(|k| k.to_hex());
                out.reason = Some(reason.label().to_owned());
            }
        }
        out
    }
}

/// An assessment request's history.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct HistoryBody {
    /// Request id.
    pub request: String,
    /// Where it stands (`requested`, `authorised`, `computed`, `failed (…)`).
    pub status: String,
    /// Requesting institution's key id.
    pub requester: String,
    /// Model id.
    pub model: String,
    /// Purpose label.
    pub purpose: String,
    /// Deadline, block time ms.
    pub deadline_ms: u64,
    /// Batch requests: the subject list and who may be computed.
    pub batch: Option<BatchBody>,
    /// Every step, oldest first.
    pub events: Vec<RequestEventBody>,
}

/// A batch request's list as the ledger holds it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct BatchBody {
    /// Parts announced.
    pub parts: u32,
    /// Whether every part is recorded.
    pub complete: bool,
    /// Subjects listed so far.
    pub subjects: u64,
    /// Subjects every department's access covered with a consent (computable).
    pub computable: u64,
    /// The hash chain over the parts, hex.
    pub list_hash: String,
}

impl BatchBody {
    /// From the contracts' batch.
    pub fn new(b: &weinong_contracts::Batch) -> Self {
        Self {
            parts: b.parts(),
            complete: b.is_complete(),
            subjects: b.subjects().len() as u64,
            computable: b.computable().len() as u64,
            list_hash: b.list_hash().to_hex(),
        }
    }
}

/// An assessment request as its requester follows it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AssessmentBody {
    /// Request id.
    pub request: String,
    /// `requested`, `authorised`, `computed` or `failed`.
    pub status: String,
    /// Why it failed (a failure-reason label), when it did.
    pub failure: Option<String>,
    /// Model id.
    pub model: String,
    /// Requesting institution's key id.
    pub requester: String,
    /// Deadline, block time ms.
    pub deadline_ms: u64,
    /// The output shares this node holds, each sealed to the requester's SM2 key (empty
    /// for any caller but the requester). All three are needed to open the result.
    pub shares: Vec<SealedShareBody>,
}

/// One department's output share, sealed to the requester and signed by the department.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SealedShareBody {
    /// MPC party: 0 civil affairs, 1 health, 2 medical insurance.
    pub party: u8,
    /// SM2 ciphertext (DER, C1C3C2), base64.
    pub sealed: String,
    /// Key id of the department key that signed it, hex (empty from a node of an older
    /// build, which a client refuses by name).
    #[serde(default)]
    pub signer: String,
    /// SM2 signature r‖s, hex (128 characters), over `"weinong-result-share-v1"` ‖
    /// consortium id ‖ request id ‖ party ‖ model id ‖ SM3 of the ciphertext (empty from a
    /// node of an older build).
    #[serde(default)]
    pub signature: String,
}

pub use crate::bundle::{REQUEST_BUNDLE_FORMAT, RequestBundleBody, ShareSignatureBody};

/// One recorded access to a subject's data.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AccessBody {
    /// Block height.
    pub height: u64,
    /// Block time, ms.
    pub time_ms: u64,
    /// The access record's transaction hash.
    pub tx: String,
    /// Member number of the node that read.
    pub node: u16,
    /// The node's key id.
    pub signer: String,
    /// The assessment request.
    pub request: String,
    /// Data category labels read.
    pub categories: Vec<String>,
    /// The consent it rested on.
    pub consent: String,
    /// SM3 of the fields read (kept off the ledger).
    pub fields: String,
}

/// `GET /v1/subjects/{pseudonym}/accesses`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SubjectAccessesBody {
    /// The subject's pseudonym, hex.
    pub subject: String,
    /// The tip's block time the list holds at, ms.
    pub at_time_ms: u64,
    /// Every access, in ledger order (at most the route's limit; see `truncated`).
    pub accesses: Vec<AccessBody>,
    /// True when more accesses are recorded than one answer carries.
    pub truncated: bool,
    /// The completed policy runs whose matches include the subject, with proofs against
    /// the commitments their ends recorded. Only the receiving department's node holds
    /// the matches, so only it lists them; runs the subject did not match never appear.
    #[serde(default)]
    pub policy_runs: Vec<PolicyInclusionBody>,
}

/// One policy run that included a subject: "included in policy run X", with the proof.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PolicyInclusionBody {
    /// The run id, hex.
    pub run: String,
    /// The policy id, hex.
    pub policy: String,
    /// The policy's name, when this node ships it.
    pub policy_name: Option<String>,
    /// The policy's Chinese title, when this node ships it.
    pub title_zh: Option<String>,
    /// The legal basis the policy was registered with.
    pub legal_basis: String,
    /// The block that ended the run.
    pub ended_at_height: u64,
    /// That block's time, ms.
    pub ended_at_ms: u64,
    /// The commitment the run's end recorded on the ledger, hex.
    pub matches_root: String,
    /// The run's commitment salt, hex.
    pub salt: String,
    /// The subject's leaf in the commitment's tree.
    pub index: u64,
    /// Leaves in the tree.
    pub size: u64,
    /// The audit path, leaf to root, hex.
    pub path: Vec<String>,
}

/// A key as the ledger state knows it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct KeyBody {
    /// Key id.
    pub key_id: String,
    /// The public key, uncompressed SEC1 (65 bytes), hex: its SM3 is the key id.
    pub public_key: String,
    /// Member number of the member the key belongs to, if any.
    pub member: Option<u16>,
    /// `active`, `rotated` or `revoked`.
    pub status: String,
    /// Block time (ms) of the rotation or revocation, when the key is not active.
    pub status_since_ms: Option<u64>,
    /// Role labels held at `at_time_ms`.
    pub roles: Vec<String>,
    /// The tip's block time, ms.
    pub at_time_ms: u64,
    /// Last nonce the key used, if it signed anything; the next transaction needs a
    /// larger one.
    pub last_nonce: Option<u64>,
}

/// `POST /v1/proposals` body: a `weinong-governance-proposal/1` file, as text.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProposalPostRequest {
    /// The proposal file's JSON text (what `weinong tx governance propose|approve` writes).
    pub proposal: String,
}

/// A governance proposal pending on the node.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PendingProposalBody {
    /// SM3 of the bytes its admins sign (consortium, sequence number, change), hex.
    pub id: String,
    /// The governance sequence number it is bound to.
    pub seq: u64,
    /// What the change does.
    pub summary: String,
    /// Admin key ids whose approvals it carries (each checked), hex, ascending.
    pub approvals: Vec<String>,
    /// The proposal file with those approvals, as text: approve it and post it back, or
    /// submit its governance transaction once it holds enough.
    pub proposal: String,
}

/// `GET /v1/proposals`: the governance proposals pending on this node.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ProposalsBody {
    /// The sequence number the ledger expects next (older proposals are dropped).
    pub seq: u64,
    /// Admin approvals a change needs.
    pub threshold: u16,
    /// The pending proposals.
    pub proposals: Vec<PendingProposalBody>,
}

/// What a governance proposal must bind.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct GovernanceBody {
    /// Consortium id (SM3 of the genesis bytes), hex.
    pub consortium: String,
    /// Sequence number the next governance change must carry.
    pub seq: u64,
    /// Admin approvals a change needs.
    pub threshold: u16,
    /// Tip height, if any block exists.
    pub height: Option<u64>,
}

/// One department's access for a policy run.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RunAccessBody {
    /// The member number.
    pub node: u16,
    /// The signing key, hex.
    pub signer: String,
    /// The data categories read (English labels).
    pub categories: Vec<String>,
    /// Block height of the access.
    pub height: u64,
    /// The access transaction, hex.
    pub tx: String,
}

/// `GET /v1/policy-runs/{run}`: a policy run as the ledger records it, with this node's
/// progress while it is in flight here. Never a list of people.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PolicyRunBody {
    /// The run id, hex.
    pub run: String,
    /// The policy id, hex.
    pub policy: String,
    /// The policy's name, if this node ships it.
    pub policy_name: Option<String>,
    /// The policy's title in Chinese, if this node ships it.
    pub title_zh: Option<String>,
    /// The legal basis (English label).
    pub legal_basis: String,
    /// The receiving member's number.
    pub receiver: u16,
    /// `open`, `completed` or `failed`.
    pub status: String,
    /// Why it failed (English label), when it did.
    pub failure: Option<String>,
    /// Height of the opening block.
    pub opened_at_height: u64,
    /// Height of the ending block, when it ended.
    pub ended_at_height: Option<u64>,
    /// The departments' accesses, in block order.
    pub accesses: Vec<RunAccessBody>,
    /// What this node is doing for the run now, if it is in flight here.
    pub stage: Option<String>,
    /// PSI steps done and in all, while in flight on the receiver.
    pub steps_done: Option<u32>,
    /// PSI steps in all.
    pub steps: Option<u32>,
    /// Matches, when this node is the receiver, holds the result and the caller may see it.
    pub matched: Option<u64>,
    /// The receiver's commitment to the matches, once completed, hex.
    #[serde(default)]
    pub matches_root: Option<String>,
    /// How long the receiver's phases took, when this node completed the run since it
    /// started (an operator's figure, not a ledger record).
    #[serde(default)]
    pub timings: Option<RunTimingsBody>,
}

/// One registered 免申即享 policy (`GET /v1/policies`): what it reads and who receives it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PolicyBody {
    /// The policy id (SM3 of its canonical form), hex.
    pub policy: String,
    /// The policy's name, if this node ships it.
    pub name: Option<String>,
    /// The title in Chinese, if this node ships it.
    pub title_zh: Option<String>,
    /// The title in English, if this node ships it.
    pub title_en: Option<String>,
    /// The receiving member's number.
    pub receiver: u16,
    /// The receiving department (`civil`, `health`, `insurance`), if this node ships it.
    pub receiver_department: Option<String>,
    /// The legal basis of every run (English label).
    pub legal_basis: String,
    /// `intersection` or `cardinality` (count only), if this node ships it.
    pub mode: Option<String>,
    /// The data categories its predicates read (English labels).
    pub categories: Vec<String>,
    /// Height of the block that registered it.
    pub registered_at_height: u64,
    /// Runs recorded on the ledger, open and ended.
    pub runs: u64,
}

/// `GET /v1/policies`: every policy registered on the ledger, by id.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PoliciesBody {
    /// The policies.
    pub policies: Vec<PolicyBody>,
}

/// One policy run in a list (`GET /v1/policy-runs`): its ledger record without the
/// accesses' details. Never a list of people.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PolicyRunSummaryBody {
    /// The run id, hex.
    pub run: String,
    /// The policy id, hex.
    pub policy: String,
    /// The policy's name, if this node ships it.
    pub policy_name: Option<String>,
    /// The receiving member's number.
    pub receiver: u16,
    /// `open`, `completed` or `failed`.
    pub status: String,
    /// Why it failed (English label), when it did.
    pub failure: Option<String>,
    /// Height of the opening block.
    pub opened_at_height: u64,
    /// Height of the ending block, when it ended.
    pub ended_at_height: Option<u64>,
    /// Departments' accesses recorded for it.
    pub accesses: u32,
}

/// `?limit=` of `GET /v1/policy-runs`.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PolicyRunsQuery {
    /// How many of the newest runs to list: 1 to 200 (default 50).
    pub limit: Option<u32>,
}

/// `GET /v1/policy-runs`: the newest runs first.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PolicyRunsBody {
    /// Runs recorded on the ledger in all.
    pub total: u64,
    /// The newest ones (by opening block), at most the query's `limit`.
    pub runs: Vec<PolicyRunSummaryBody>,
}

/// The receiver's phases of a completed policy run, in milliseconds.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
pub struct RunTimingsBody {
    /// Evaluating its own term.
    pub evaluate_ms: u64,
    /// All PSI steps over the nodes' p2p streams.
    pub psi_ms: u64,
    /// Storing the result and, once it committed, recording the run's end.
    pub finish_ms: u64,
}

/// `GET /v1/policy-runs/{run}/result`: the receiver's result.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PolicyResultBody {
    /// The run id, hex.
    pub run: String,
    /// How many subjects matched.
    pub count: u64,
    /// Whether only the count was computed (cardinality mode).
    pub count_only: bool,
    /// The matched subject pseudonyms, hex, ascending (empty in cardinality mode).
    pub subjects: Vec<String>,
}

/// `GET /healthz`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct HealthBody {
    /// Always true when the node answers and its replica is readable (liveness).
    pub ok: bool,
    /// Node name.
    pub name: String,
    /// Tip height, if any block exists.
    pub height: Option<u64>,
    /// Serving current state: a Raft leader is known and this node is caught up (what
    /// `/readyz` answers 200 for).
    #[serde(default)]
    pub ready: bool,
    /// Committed Raft entries (blocks) not yet applied here.
    #[serde(default)]
    pub lag: u64,
}

/// `GET /v1/node`: what a client signs its requests for (see `weinong_keys::request_auth`).
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct NodeBody {
    /// Node name.
    pub name: String,
    /// This node's SM2 member key id, hex: the `node` of a request signed for it.
    pub node_key: String,
    /// The consortium id (SM3 of the genesis bytes), hex.
    pub consortium: String,
    /// The signed-request format version this node checks.
    pub request_auth_version: u8,
}

/// `POST /v1/pseudonyms/evaluate` body.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PseudonymEvaluateRequest {
    /// RFC 9497 blinded elements (ristretto255, 64 hex characters each); 1 to 1000.
    pub blinded: Vec<String>,
}

/// `POST /v1/pseudonyms/evaluate` answer.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PseudonymEvaluateResponse {
    /// RFC 9497 evaluated elements, one per blinded element, in order (64 hex characters).
    pub evaluated: Vec<String>,
}
