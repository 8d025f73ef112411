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

use serde::{Deserialize, Serialize};
use weinong_keys::PublicKey;

use crate::LogDigest;
use crate::block::{BlockHeader, CommitCertificate, MemberSet, TreeHead};
use crate::hash::{BlockHash, TxHash};
use crate::limits::{BUNDLE_BYTES_MAX, TX_BYTES_MAX};
use crate::merkle::{self, NodeHash};
use crate::tx::Transaction;

/// Format string of a proof bundle.
pub const BUNDLE_FORMAT: &str = "weinong-proof-bundle/1";
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

/// A proof bundle as JSON (the wire form).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProofBundle {
    /// Always [`BUNDLE_FORMAT`].
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
    /// Hex canonical commit certificate of that header.
    pub certificate: String,
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
    /// The committing block.
    pub header: BlockHeader,
    /// Its hash.
    pub block_hash: BlockHash,
    /// How many member signatures the certificate carries.
    pub signatures: u64,
    /// The member set checked against.
    pub members: MemberSet,
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

fn parse_members(hex_members: &str, pinned: Option<&MemberSet>) -> Result<MemberSet, CheckFailed> {
    let members = MemberSet::decode(&unhex("members", hex_members, 8 * 1024)?)
        .map_err(|e| fail("members", e))?;
    if pinned.is_some_and(|p| p != &members) {
        return Err(fail(
            "members",
            "the bundle's member set is not the pinned one",
        ));
    }
    Ok(members)
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
    /// Builds a bundle from its parts.
    pub fn new(
        members: &MemberSet,
        signer_key: &PublicKey,
        tx: &Transaction,
        leaf_index: u64,
        proof: &[NodeHash],
        header: &BlockHeader,
        certificate: &CommitCertificate,
    ) -> Self {
        Self {
            format: BUNDLE_FORMAT.into(),
            members: hex::encode(members.encode()),
            signer_key: hex::encode(signer_key.to_sec1_bytes()),
            transaction: hex::encode(tx.as_bytes()),
            leaf_index,
            inclusion_proof: proof.iter().map(hex::encode).collect(),
            header: hex::encode(header.encode()),
            certificate: hex::encode(certificate.encode()),
        }
    }

    /// Runs every check in order; the first failure is returned by name.
    pub fn verify(&self, pinned: Option<&MemberSet>) -> Result<BundleReport, CheckFailed> {
        if self.format != BUNDLE_FORMAT {
            return Err(fail(
                "format",
                format!("format {:?} is not {BUNDLE_FORMAT:?}", self.format),
            ));
        }
        let members = parse_members(&self.members, pinned)?;
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
        let (header, cert) = parse_certified(&self.header, &self.certificate, &members)?;
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
            signatures: cert.signatures.len() as u64,
            members,
        })
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
}

impl CertifiedHead {
    /// Builds one from its parts.
    pub fn new(members: &MemberSet, header: &BlockHeader, certificate: &CommitCertificate) -> Self {
        Self {
            format: HEAD_FORMAT.into(),
            members: hex::encode(members.encode()),
            header: hex::encode(header.encode()),
            certificate: hex::encode(certificate.encode()),
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
        let members = parse_members(&self.members, pinned)?;
        let (header, _) = parse_certified(&self.header, &self.certificate, &members)?;
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
/// order: `old_head.*`, `new_head.*` (as [`CertifiedHead::verify`]), `members` (both heads
/// rest on one set), `sizes` (the proof is for the heads' sizes), `consistency`.
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
    if old_members != new_members {
        return Err(fail(
            "members",
            "the two heads rest on different member sets",
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
