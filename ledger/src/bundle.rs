//! Proof bundles: what an auditor needs to check one transaction offline, as JSON.
//!
//! # Proof bundle (`weinong-proof-bundle/1`)
//!
//! ```json
//! {
//!   "format": "weinong-proof-bundle/1",
//!   "members": "<hex: canonical member set (block.rs), the keys the certificate rests on>",
//!   "signer_key": "<hex: 65-byte SEC1 public key of the transaction's signer>",
//!   "transaction": "<hex: canonical transaction (tx.rs)>",
//!   "leaf_index": 41,
//!   "inclusion_proof": ["<hex: 32-byte node>", "..."],
//!   "header": "<hex: canonical block header>",
//!   "certificate": "<hex: canonical commit certificate>"
//! }
//! ```
//!
//! The tree head is the header's `(log_size, log_root, time_ms)`. Checks, in this order (the
//! first failure is reported by name): `format`, `members`, `transaction`,
//! `signer_key`, `signature`, `header`, `certificate`, `quorum`, `inclusion`. Every other
//! field is informative; hex is lower or upper case; unknown JSON fields are refused.
//!
//! # Proof bundle against a later head (`weinong-proof-bundle/2`)
//!
//! Version 2 proves a transaction in the block that holds it and links that block to a
//! later certified head by the headers between them, so one certificate (the head's)
//! covers an older block. It adds two fields to version 1; every version-1 field keeps its
//! meaning, except that `certificate` certifies the *last* header (the head):
//!
//! ```json
//! {
//!   "format": "weinong-proof-bundle/2",
//!   "members": "…", "signer_key": "…", "transaction": "…", "leaf_index": 41,
//!   "inclusion_proof": ["…"],
//!   "header": "<hex: the header whose log the inclusion proof is against>",
//!   "chain": ["<hex: header at header.height + 1>", "…", "<hex: the certified head>"],
//!   "certificate": "<hex: commit certificate of the last header (of `header` if `chain` is empty)>",
//!   "tree_head": "<hex, optional: canonical signed tree head (block.rs) of the head's log>"
//! }
//! ```
//!
//! Checks, in order: `format`, `members`, `transaction`, `signer_key`, `signature`,
//! `header`, `chain` (at most [`BUNDLE_HEADERS_MAX`] headers; heights consecutive from
//! `header`, each `previous` the SM3 hash of the header before, log size and time never
//! going back), `certificate`, `quorum` (over the last header), `tree_head` (if present:
//! it is the head's `(log_size, log_root, time_ms)` and a quorum of members co-signed it),
//! `inclusion` (against `header`). The hash links make the head's certificate commit to
//! every header before it, so no other certificate is needed.
//!
//! Version 1 is version 2 with an empty `chain` and no `tree_head`. Writers emit version 1
//! whenever a bundle needs neither field, so verifiers that only read version 1 keep
//! working; given a version-2 bundle they refuse it at their `format` check (the unknown
//! fields `chain`/`tree_head`, or the format string). This build reads both and refuses any
//! other format string by name.
//!
//! # Bundle set (`weinong-bundle-set/1`)
//!
//! Several transactions, each with its proof bundle (version 1 or 2) and the header of the
//! block before the one that holds it:
//!
//! ```json
//! {
//!   "format": "weinong-bundle-set/1",
//!   "entries": [
//!     { "bundle": { "format": "weinong-proof-bundle/2", "…": "…" },
//!       "previous_header": "<hex: canonical header at bundle.header.height - 1; absent for block 0>" }
//!   ]
//! }
//! ```
//!
//! Checks, per entry in order (the first failure is reported as `entries[i].<check>`):
//! every check of the entry's bundle, then `previous_header`: it decodes, its height is one
//! below the bundle's header, its hash is that header's `previous`, and its log size is at
//! most the transaction's leaf index. With the inclusion proof (leaf index below the
//! header's log size) this pins the transaction to exactly that block, so the header's time
//! is the block time the contracts applied it at. Then `entries`: at most
//! [`BUNDLE_SET_ENTRIES_MAX`], no transaction twice, and every bundle rests on the same
//! member set. Bundles a store exports link to one head where they can (see
//! [`BUNDLE_SET_LINK_HEADERS_MAX`]); each is checked on its own, so a set may mix heads.
//!
//! # Certified head (`weinong-head/1`) and consistency proof (`weinong-consistency-proof/1`)
//!
//! ```json
//! { "format": "weinong-head/1", "members": "<hex>", "header": "<hex>", "certificate": "<hex>" }
//! { "format": "weinong-consistency-proof/1", "old_size": 10, "new_size": 25,
//!   "proof": ["<hex>", "..."] }
//! ```
//!
//! A bundle carries its own member set; an auditor who knows the consortium's keys pins
//! them (`--members`), and a bundle with any other set fails the `members` check.
//!
//! # Member changes (`member_changes`, optional, in `weinong-proof-bundle/2` and
//! `weinong-head/1`)
//!
//! Governance changes the member set (block.rs, "Member sets change by governance"). A
//! bundle certified under a later set than the pinned one carries the hand-overs from the
//! pinned set to its own, oldest first:
//!
//! ```json
//! "member_changes": [ { "header": "<hex: the block that changed the set>",
//!                       "certificate": "<hex: its certificate, by the set before>",
//!                       "members": "<hex: the set it hands over to>" } ]
//! ```
//!
//! The `members` check then follows them from the pinned set ([`follow_member_changes`]):
//! each certificate must verify under the set before it, each header must name the next
//! set, and the last set must be the bundle's `members`, which must be in force at the
//! certified block (its height after the last change). Without a pinned set the changes
//! are not consulted. What this cannot show alone: that no later change happened before
//! the certified block — an auditor that keeps the newest set it verified (or a recent
//! certified head) refuses a bundle signed by a set that was replaced.
//!
//! [`follow_member_changes`]: crate::follow_member_changes

use serde::{Deserialize, Serialize};
use weinong_keys::PublicKey;

use crate::LogDigest;
use crate::block::{
    BlockHeader, CommitCertificate, MemberChange, MemberSet, SignedTreeHead, TreeHead,
    follow_member_changes,
};
use crate::hash::{BlockHash, Hash32, TxHash};
#[cfg(doc)]
use crate::limits::BUNDLE_SET_LINK_HEADERS_MAX;
use crate::limits::{
    BUNDLE_BYTES_MAX, BUNDLE_HEADERS_MAX, BUNDLE_SET_ENTRIES_MAX, MEMBER_CHANGES_MAX, MEMBERS_MAX,
    TX_BYTES_MAX,
};
use crate::merkle::{self, NodeHash};
use crate::tx::Transaction;

/// Format string of a proof bundle proven against the header of one certified block.
pub const BUNDLE_FORMAT: &str = "weinong-proof-bundle/1";
/// Format string of a proof bundle that may link its block to a later certified head.
pub const BUNDLE_FORMAT_V2: &str = "weinong-proof-bundle/2";
/// Format string of a set of proof bundles, each pinned to its block.
pub const BUNDLE_SET_FORMAT: &str = "weinong-bundle-set/1";
/// Format string of a certified head.
pub const HEAD_FORMAT: &str = "weinong-head/1";
/// Format string of a consistency proof file.
pub const CONSISTENCY_FORMAT: &str = "weinong-consistency-proof/1";

/// The first check that failed, by name, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("check `{check}` failed: {reason}")]
pub struct CheckFailed {
    /// The check's name (see the module doc).
    pub check: &'static str,
    /// Why it failed.
    pub reason: String,
}

fn fail(check: &'static str, reason: impl ToString) -> CheckFailed {
    CheckFailed {
        check,
        reason: reason.to_string(),
    }
}

/// Fails `check` when a bundle holds more `items` than its format allows.
fn within_limit(
    check: &'static str,
    items: &str,
    count: usize,
    max: usize,
) -> Result<(), CheckFailed> {
    if count > max {
        return Err(fail(
            check,
            format!("{count} {items}, over the limit {max}"),
        ));
    }
    Ok(())
}

/// A proof bundle as JSON (the wire form).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProofBundle {
    /// [`BUNDLE_FORMAT`] or [`BUNDLE_FORMAT_V2`].
    pub format: String,
    /// Hex canonical member set.
    pub members: String,
    /// Hex SEC1 public key of the signer.
    pub signer_key: String,
    /// Hex canonical transaction.
    pub transaction: String,
    /// The transaction's index in the log.
    pub leaf_index: u64,
    /// Hex nodes of the audit path, leaf side first.
    pub inclusion_proof: Vec<String>,
    /// Hex canonical block header whose log root includes the transaction.
    pub header: String,
    /// Version 2: hex canonical headers after `header`, up to the certified head.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub chain: Vec<String>,
    /// Hex canonical commit certificate of the last header (`header` when `chain` is
    /// empty).
    pub certificate: String,
    /// Version 2: hex canonical signed tree head of the certified head's log.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tree_head: Option<String>,
    /// Version 2: the hand-overs from the genesis set to `members` (module doc).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub member_changes: Vec<MemberChangeJson>,
}

/// One member-set hand-over as JSON (module doc, "Member changes").
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemberChangeJson {
    /// Hex canonical header of the block that changed the set.
    pub header: String,
    /// Hex canonical certificate of that block, by the set before.
    pub certificate: String,
    /// Hex canonical member set it hands over to.
    pub members: String,
}

impl MemberChangeJson {
    /// The JSON form of `change`.
    pub fn new(change: &MemberChange) -> Self {
        Self {
            header: hex::encode(change.header.encode()),
            certificate: hex::encode(change.certificate.encode()),
            members: hex::encode(change.next.encode()),
        }
    }

    fn parse(&self) -> Result<MemberChange, CheckFailed> {
        let header = BlockHeader::decode(&unhex("members", &self.header, 1024)?)
            .map_err(|e| fail("members", format!("a member change's header: {e}")))?;
        let certificate =
            CommitCertificate::decode(&unhex("members", &self.certificate, 16 * 1024)?)
                .map_err(|e| fail("members", format!("a member change's certificate: {e}")))?;
        let next = MemberSet::decode(&unhex("members", &self.members, 8 * 1024)?)
            .map_err(|e| fail("members", format!("a member change's set: {e}")))?;
        Ok(MemberChange {
            header,
            certificate,
            next,
        })
    }
}

/// The hex-JSON forms of `changes`.
pub fn member_changes_json(changes: &[MemberChange]) -> Vec<MemberChangeJson> {
    changes.iter().map(MemberChangeJson::new).collect()
}

/// What a bundle proved.
#[derive(Debug, Clone)]
pub struct BundleReport {
    /// The transaction.
    pub transaction: Transaction,
    /// Its hash.
    pub tx_hash: TxHash,
    /// Its log index.
    pub leaf_index: u64,
    /// The tree head it is included in.
    pub head: TreeHead,
    /// The block whose log the inclusion is proven against.
    pub header: BlockHeader,
    /// Its hash.
    pub block_hash: BlockHash,
    /// The certified block: `header` itself, or the last header of the chain.
    pub certified: BlockHeader,
    /// Headers linking `header` to `certified` (0 when they are the same).
    pub chain_len: u64,
    /// How many member signatures the certificate carries.
    pub signatures: u64,
    /// How many members co-signed the certified head's tree head, if the bundle has one.
    pub tree_head_cosignatures: Option<u64>,
    /// The member set checked against.
    pub members: MemberSet,
    /// The set the check is rooted in: the pinned set's digest (the changes lead from it to
    /// `members`), or `members`' own when nothing was pinned.
    pub root: Hash32,
}

fn unhex(check: &'static str, s: &str, max: usize) -> Result<Vec<u8>, CheckFailed> {
    if s.len() > max.saturating_mul(2) {
        return Err(fail(check, format!("hex longer than {max} bytes")));
    }
    hex::decode(s.trim()).map_err(|e| fail(check, format!("bad hex: {e}")))
}

fn unhex_nodes(check: &'static str, nodes: &[String]) -> Result<Vec<NodeHash>, CheckFailed> {
    if nodes.len() > 128 {
        return Err(fail(check, "more than 128 proof nodes"));
    }
    nodes
        .iter()
        .map(|s| {
            let mut out = [0u8; 32];
            hex::decode_to_slice(s.trim(), &mut out)
                .map_err(|_| fail(check, "a proof node is not 64 hex characters"))?;
            Ok(out)
        })
        .collect()
}

/// The bundle's member set, checked against the pinned one through `changes`; also the
/// height from which that set is in force and the root digest (see [`BundleReport::root`]).
fn parse_members(
    hex_members: &str,
    pinned: Option<&MemberSet>,
    changes: &[MemberChangeJson],
) -> Result<(MemberSet, u64, Hash32), CheckFailed> {
    let members = MemberSet::decode(&unhex("members", hex_members, 8 * 1024)?)
        .map_err(|e| fail("members", e))?;
    within_limit(
        "members",
        "member changes",
        changes.len(),
        MEMBER_CHANGES_MAX,
    )?;
    let Some(pinned) = pinned else {
        let root = members.digest();
        return Ok((members, 0, root));
    };
    let changes: Vec<MemberChange> = changes
        .iter()
        .map(MemberChangeJson::parse)
        .collect::<Result<_, _>>()?;
    let (reached, from_height) =
        follow_member_changes(pinned, &changes).map_err(|e| fail("members", e))?;
    if reached != members {
        return Err(fail(
            "members",
            if changes.is_empty() {
                "the bundle's member set is not the pinned one (and it carries no member changes leading to it)".to_owned()
            } else {
                "the member changes from the pinned set do not lead to the bundle's member set"
                    .to_owned()
            },
        ));
    }
    Ok((members, from_height, pinned.digest()))
}

fn check_in_force(certified: &BlockHeader, from_height: u64) -> Result<(), CheckFailed> {
    if certified.height < from_height {
        return Err(fail(
            "members",
            format!(
                "the certified block {} is before the member set's hand-over (in force from block {from_height})",
                certified.height
            ),
        ));
    }
    Ok(())
}

fn parse_certified(
    header: &str,
    certificate: &str,
    members: &MemberSet,
) -> Result<(BlockHeader, CommitCertificate), CheckFailed> {
    let header =
        BlockHeader::decode(&unhex("header", header, 1024)?).map_err(|e| fail("header", e))?;
    let cert = CommitCertificate::decode(&unhex("certificate", certificate, 16 * 1024)?)
        .map_err(|e| fail("certificate", e))?;
    cert.verify(&header, members)
        .map_err(|e| fail("quorum", e))?;
    Ok((header, cert))
}

/// Reads JSON of at most [`BUNDLE_BYTES_MAX`] bytes.
pub fn from_json<T: for<'de> Deserialize<'de>>(text: &str) -> Result<T, CheckFailed> {
    if text.len() as u64 > BUNDLE_BYTES_MAX {
        return Err(fail(
            "format",
            format!("file over {BUNDLE_BYTES_MAX} bytes"),
        ));
    }
    serde_json::from_str(text)
        .map_err(|e| fail("format", format!("not valid JSON of this format: {e}")))
}

impl ProofBundle {
    /// This bundle carrying the hand-overs from the genesis set to its `members` (version
    /// 2 when there is any).
    pub fn with_member_changes(mut self, changes: &[MemberChange]) -> Self {
        if !changes.is_empty() {
            self.format = BUNDLE_FORMAT_V2.into();
            self.member_changes = member_changes_json(changes);
        }
        self
    }

    /// Builds a bundle whose `header` is linked by `chain` (the headers after it, up to
    /// the certified head) to `certificate`, optionally with the head's co-signed tree
    /// head. Version 1 when `chain` is empty and there is no tree head, else version 2.
    #[allow(
        clippy::too_many_arguments,
        reason = "the parts of the documented JSON format, in its order"
    )]
    pub fn linked(
        members: &MemberSet,
        signer_key: &PublicKey,
        tx: &Transaction,
        leaf_index: u64,
        proof: &[NodeHash],
        header: &BlockHeader,
        chain: &[BlockHeader],
        certificate: &CommitCertificate,
        tree_head: Option<&SignedTreeHead>,
    ) -> Self {
        let linked = !chain.is_empty() || tree_head.is_some();
        Self {
            format: if linked {
                BUNDLE_FORMAT_V2
            } else {
                BUNDLE_FORMAT
            }
            .into(),
            members: hex::encode(members.encode()),
            signer_key: hex::encode(signer_key.to_sec1_bytes()),
            transaction: hex::encode(tx.as_bytes()),
            leaf_index,
            inclusion_proof: proof.iter().map(hex::encode).collect(),
            header: hex::encode(header.encode()),
            chain: chain.iter().map(|h| hex::encode(h.encode())).collect(),
            certificate: hex::encode(certificate.encode()),
            tree_head: tree_head.map(|t| hex::encode(t.encode())),
            member_changes: Vec::new(),
        }
    }

    /// Runs every check in order; the first failure is returned by name.
    pub fn verify(&self, pinned: Option<&MemberSet>) -> Result<BundleReport, CheckFailed> {
        match self.format.as_str() {
            BUNDLE_FORMAT => {
                if !self.chain.is_empty()
                    || self.tree_head.is_some()
                    || !self.member_changes.is_empty()
                {
                    return Err(fail(
                        "format",
                        format!(
                            "a {BUNDLE_FORMAT:?} bundle has no `chain`, `tree_head` or `member_changes` (they came with {BUNDLE_FORMAT_V2:?})"
                        ),
                    ));
                }
            }
            BUNDLE_FORMAT_V2 => {}
            other => {
                return Err(fail(
                    "format",
                    format!(
                        "format {other:?} is not one this build reads ({BUNDLE_FORMAT:?}, {BUNDLE_FORMAT_V2:?})"
                    ),
                ));
            }
        }
        let (members, in_force_from, root) =
            parse_members(&self.members, pinned, &self.member_changes)?;
        let tx_bytes = unhex("transaction", &self.transaction, TX_BYTES_MAX as usize)?;
        let tx = Transaction::decode(&tx_bytes).map_err(|e| fail("transaction", e))?;
        let key = PublicKey::from_sec1_bytes(&unhex("signer_key", &self.signer_key, 65)?)
            .map_err(|e| fail("signer_key", e))?;
        if key.key_id() != tx.body().signer {
            return Err(fail(
                "signer_key",
                format!(
                    "key {} is not the transaction's signer {}",
                    key.key_id(),
                    tx.body().signer
                ),
            ));
        }
        tx.verify(&key).map_err(|e| fail("signature", e))?;
        let header = BlockHeader::decode(&unhex("header", &self.header, 1024)?)
            .map_err(|e| fail("header", e))?;
        let certified = check_chain(&header, &self.chain)?;
        check_in_force(&certified, in_force_from)?;
        let cert = CommitCertificate::decode(&unhex("certificate", &self.certificate, 16 * 1024)?)
            .map_err(|e| fail("certificate", e))?;
        cert.verify(&certified, &members)
            .map_err(|e| fail("quorum", e))?;
        let tree_head_cosignatures = match &self.tree_head {
            None => None,
            Some(text) => Some(check_tree_head(text, &certified, &members)?),
        };
        let proof = unhex_nodes("inclusion", &self.inclusion_proof)?;
        merkle::verify_inclusion::<LogDigest>(
            tx.as_bytes(),
            self.leaf_index,
            header.log_size,
            &header.log_root.0,
            &proof,
        )
        .map_err(|e| fail("inclusion", e))?;
        Ok(BundleReport {
            tx_hash: tx.hash(),
            transaction: tx,
            leaf_index: self.leaf_index,
            head: TreeHead::of_header(&header),
            block_hash: header.hash(),
            header,
            certified,
            chain_len: self.chain.len() as u64,
            signatures: cert.signatures.len() as u64,
            tree_head_cosignatures,
            members,
            root,
        })
    }
}

/// Decodes `chain` and checks it links `first` to its last header (returned; `first` if
/// the chain is empty): heights consecutive, hash links, log size and time never going back.
fn check_chain(first: &BlockHeader, chain: &[String]) -> Result<BlockHeader, CheckFailed> {
    within_limit("chain", "headers", chain.len(), BUNDLE_HEADERS_MAX)?;
    let mut prev = *first;
    for (i, text) in chain.iter().enumerate() {
        let at = |reason: &str| fail("chain", format!("header {i} of the chain: {reason}"));
        let header =
            BlockHeader::decode(&unhex("chain", text, 1024)?).map_err(|e| at(&e.to_string()))?;
        if Some(header.height) != prev.height.checked_add(1) {
            return Err(at(&format!(
                "height {} does not follow {}",
                header.height, prev.height
            )));
        }
        if header.previous != prev.hash() {
            return Err(at("previous hash is not the hash of the header before"));
        }
        if header.log_size < prev.log_size {
            return Err(at("log size goes back"));
        }
        if header.time_ms < prev.time_ms {
            return Err(at("block time goes back"));
        }
        if !prev.is_format_1() && header.members != prev.next_members {
            return Err(at(
                "names another member set than the header before hands over to",
            ));
        }
        prev = header;
    }
    Ok(prev)
}

/// Checks a signed tree head is the certified head's and carries a quorum of member
/// co-signatures; returns how many.
fn check_tree_head(
    text: &str,
    certified: &BlockHeader,
    members: &MemberSet,
) -> Result<u64, CheckFailed> {
    let max = 4 + 1 + 8 + 32 + 8 + 2 + usize::from(MEMBERS_MAX) * (32 + 64);
    let sth = SignedTreeHead::decode(&unhex("tree_head", text, max)?)
        .map_err(|e| fail("tree_head", e))?;
    if sth.head != TreeHead::of_header(certified) {
        return Err(fail(
            "tree_head",
            format!(
                "it signs size {} root {} time {}, not the certified head's log",
                sth.head.size, sth.head.root, sth.head.time_ms
            ),
        ));
    }
    sth.verify(members).map_err(|e| fail("tree_head", e))?;
    Ok(sth.cosignatures.len() as u64)
}

/// One transaction of a [`BundleSet`]: its proof bundle and the header before its block.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundleSetEntry {
    /// The transaction's proof bundle, against the block that holds it.
    pub bundle: ProofBundle,
    /// Hex canonical header of the block before the bundle's `header`; absent when that
    /// header is block 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_header: Option<String>,
}

/// Several transactions' proof bundles, each pinned to the block that holds it
/// (`weinong-bundle-set/1`, see the module doc).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundleSet {
    /// Always [`BUNDLE_SET_FORMAT`].
    pub format: String,
    /// The transactions, in log order.
    pub entries: Vec<BundleSetEntry>,
}

impl BundleSet {
    /// A set of these entries.
    pub fn new(entries: Vec<BundleSetEntry>) -> Self {
        Self {
            format: BUNDLE_SET_FORMAT.into(),
            entries,
        }
    }

    /// Runs every entry's checks (see the module doc); returns each entry's report, in
    /// order. `report.header` is the block that holds the transaction.
    pub fn verify(&self, pinned: Option<&MemberSet>) -> Result<Vec<BundleReport>, CheckFailed> {
        if self.format != BUNDLE_SET_FORMAT {
            return Err(fail(
                "format",
                format!("format {:?} is not {BUNDLE_SET_FORMAT:?}", self.format),
            ));
        }
        within_limit(
            "entries",
            "entries",
            self.entries.len(),
            BUNDLE_SET_ENTRIES_MAX,
        )?;
        let mut reports: Vec<BundleReport> = Vec::with_capacity(self.entries.len());
        for (i, entry) in self.entries.iter().enumerate() {
            let report = entry.verify(pinned).map_err(|e| CheckFailed {
                check: "entries",
                reason: format!("entry {i}: check `{}` failed: {}", e.check, e.reason),
            })?;
            if let Some(first) = reports.first()
                && first.root != report.root
            {
                return Err(fail(
                    "entries",
                    format!("entry {i} rests on another member set than entry 0"),
                ));
            }
            if reports.iter().any(|r| r.tx_hash == report.tx_hash) {
                return Err(fail(
                    "entries",
                    format!(
                        "entry {i}: transaction {} is in the set twice",
                        report.tx_hash
                    ),
                ));
            }
            reports.push(report);
        }
        Ok(reports)
    }
}

impl BundleSetEntry {
    /// The bundle's checks, then `previous_header`.
    pub fn verify(&self, pinned: Option<&MemberSet>) -> Result<BundleReport, CheckFailed> {
        let report = self.bundle.verify(pinned)?;
        let check = "previous_header";
        match (&self.previous_header, report.header.height.checked_sub(1)) {
            (None, None) => {}
            (None, Some(_)) => {
                return Err(fail(
                    check,
                    format!(
                        "missing: block {} is not block 0, so the header before it must show the transaction is not in an earlier block",
                        report.header.height
                    ),
                ));
            }
            (Some(_), None) => return Err(fail(check, "block 0 has no header before it")),
            (Some(text), Some(height)) => {
                let previous =
                    BlockHeader::decode(&unhex(check, text, 1024)?).map_err(|e| fail(check, e))?;
                if previous.height != height {
                    return Err(fail(
                        check,
                        format!("it is block {}, not block {height}", previous.height),
                    ));
                }
                if previous.hash() != report.header.previous {
                    return Err(fail(
                        check,
                        format!(
                            "its hash is not block {}'s previous hash",
                            report.header.height
                        ),
                    ));
                }
                if previous.log_size > report.leaf_index {
                    return Err(fail(
                        check,
                        format!(
                            "block {height}'s log already holds leaf {} ({} leaves): the transaction is in an earlier block than the bundle says",
                            report.leaf_index, previous.log_size
                        ),
                    ));
                }
            }
        }
        Ok(report)
    }
}

/// A block header with its certificate and the member set, as JSON.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CertifiedHead {
    /// Always [`HEAD_FORMAT`].
    pub format: String,
    /// Hex canonical member set.
    pub members: String,
    /// Hex canonical block header.
    pub header: String,
    /// Hex canonical commit certificate.
    pub certificate: String,
    /// The hand-overs from the genesis set to `members` (module doc, "Member changes").
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub member_changes: Vec<MemberChangeJson>,
}

impl CertifiedHead {
    /// Builds one from its parts; `changes` lead from the genesis set to `members`.
    pub fn new(
        members: &MemberSet,
        header: &BlockHeader,
        certificate: &CommitCertificate,
        changes: &[MemberChange],
    ) -> Self {
        Self {
            format: HEAD_FORMAT.into(),
            members: hex::encode(members.encode()),
            header: hex::encode(header.encode()),
            certificate: hex::encode(certificate.encode()),
            member_changes: member_changes_json(changes),
        }
    }

    /// Checks format, members and certificate; returns the header.
    pub fn verify(
        &self,
        pinned: Option<&MemberSet>,
    ) -> Result<(BlockHeader, MemberSet), CheckFailed> {
        if self.format != HEAD_FORMAT {
            return Err(fail(
                "format",
                format!("format {:?} is not {HEAD_FORMAT:?}", self.format),
            ));
        }
        let (members, in_force_from, _) =
            parse_members(&self.members, pinned, &self.member_changes)?;
        let (header, _) = parse_certified(&self.header, &self.certificate, &members)?;
        check_in_force(&header, in_force_from)?;
        Ok((header, members))
    }
}

/// A consistency proof between two log sizes, as JSON.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsistencyFile {
    /// Always [`CONSISTENCY_FORMAT`].
    pub format: String,
    /// The older log size.
    pub old_size: u64,
    /// The newer log size.
    pub new_size: u64,
    /// Hex nodes (RFC 9162 §2.1.4).
    pub proof: Vec<String>,
}

impl ConsistencyFile {
    /// Builds one from its parts.
    pub fn new(old_size: u64, new_size: u64, proof: &[NodeHash]) -> Self {
        Self {
            format: CONSISTENCY_FORMAT.into(),
            old_size,
            new_size,
            proof: proof.iter().map(hex::encode).collect(),
        }
    }
}

/// What a consistency check proved: the old log is a prefix of the new one.
#[derive(Debug, Clone)]
pub struct ConsistencyReport {
    /// The older certified header.
    pub old: BlockHeader,
    /// The newer certified header.
    pub new: BlockHeader,
}

/// Checks two certified heads and a consistency proof between their logs. Checks, in
/// order: `old_head.*`, `new_head.*` (as [`CertifiedHead::verify`]), `members` (without a
/// pinned set, both heads rest on one set), `sizes` (the proof is for the heads' sizes), `consistency`.
pub fn verify_consistency(
    old: &CertifiedHead,
    new: &CertifiedHead,
    proof: &ConsistencyFile,
    pinned: Option<&MemberSet>,
) -> Result<ConsistencyReport, CheckFailed> {
    let prefix = |side: &'static str, e: CheckFailed| CheckFailed {
        check: side,
        reason: format!("{}: {}", e.check, e.reason),
    };
    let (old_header, old_members) = old.verify(pinned).map_err(|e| prefix("old_head", e))?;
    let (new_header, new_members) = new.verify(pinned).map_err(|e| prefix("new_head", e))?;
    // With a pinned set both heads were followed from it; without, they must share one.
    if pinned.is_none() && old_members != new_members {
        return Err(fail(
            "members",
            "the two heads rest on different member sets (pin the genesis set to follow member changes)",
        ));
    }
    if proof.format != CONSISTENCY_FORMAT {
        return Err(fail(
            "format",
            format!(
                "proof format {:?} is not {CONSISTENCY_FORMAT:?}",
                proof.format
            ),
        ));
    }
    if proof.old_size != old_header.log_size || proof.new_size != new_header.log_size {
        return Err(fail(
            "sizes",
            format!(
                "proof is for sizes {} -> {}, the heads have {} -> {}",
                proof.old_size, proof.new_size, old_header.log_size, new_header.log_size
            ),
        ));
    }
    let nodes = unhex_nodes("consistency", &proof.proof)?;
    let same =
        old_header.log_size == new_header.log_size && old_header.log_root == new_header.log_root;
    if !same {
        merkle::verify_consistency::<LogDigest>(
            old_header.log_size,
            &old_header.log_root.0,
            new_header.log_size,
            &new_header.log_root.0,
            &nodes,
        )
        .map_err(|e| fail("consistency", e))?;
    }
    Ok(ConsistencyReport {
        old: old_header,
        new: new_header,
    })
}
