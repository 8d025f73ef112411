//! Member sets, block headers, commit certificates, signed tree heads and equivocation
//! evidence: everything a quorum signs.
//!
//! # Encodings (format version 1, rules in `codec`)
//!
//! ```text
//! member set  = "WNMS" ‖ 0x01 ‖ quorum:u16 ‖ count:u16 ‖ (public key SEC1[65])*   sorted by KeyId
//! header      = "WNBH" ‖ 0x01 ‖ height:u64 ‖ previous:BlockHash[32] ‖ log_size:u64
//!               ‖ log_root[32] ‖ state_digest[32] ‖ time_ms:u64 ‖ proposer:KeyId[32]
//! commit vote = "WNCV" ‖ 0x01 ‖ block_hash[32]            (what each member signs)
//! certificate = "WNCC" ‖ 0x01 ‖ block_hash[32] ‖ count:u16 ‖ (signer[32] ‖ sig[64])*
//!               signers strictly ascending
//! tree head   = "WNTH" ‖ 0x01 ‖ size:u64 ‖ root[32] ‖ time_ms:u64   (what co-signers sign)
//! signed head = "WNSH" ‖ 0x01 ‖ size:u64 ‖ root[32] ‖ time_ms:u64 ‖ count:u16
//!               ‖ (signer[32] ‖ sig[64])*                 signers strictly ascending
//! ```
//!
//! `BlockHash = SM3(header)`. The first block has height 0 and `previous` all zero. A block
//! is final when members holding at least `quorum` keys have signed its commit vote. The
//! quorum must exceed half the members, so two certificates at one height always share a
//! signer, and [`Equivocation`] names that signer with two valid signatures.

use std::collections::BTreeMap;

use weinong_keys::{KeyId, KeyPair, PublicKey, Signature, sm3_digest};

use crate::codec::{Reader, Writer};
use crate::error::{DecodeError, VerifyError};
use crate::hash::{BlockHash, Hash32};
use crate::limits::MEMBERS_MAX;

const MEMBERS_TAG: &[u8; 4] = b"WNMS";
const HEADER_TAG: &[u8; 4] = b"WNBH";
const VOTE_TAG: &[u8; 4] = b"WNCV";
const CERT_TAG: &[u8; 4] = b"WNCC";
const HEAD_TAG: &[u8; 4] = b"WNTH";
const SIGNED_HEAD_TAG: &[u8; 4] = b"WNSH";
/// The format version of headers, certificates, member sets and tree heads.
pub const BLOCK_FORMAT_VERSION: u8 = 1;

/// One member's signature over something the quorum signs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberSignature {
    /// The member's key id.
    pub signer: KeyId,
    /// SM2 `r‖s`.
    pub signature: Signature,
}

/// The voting keys of the consortium and the quorum a block needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberSet {
    quorum: u16,
    keys: BTreeMap<KeyId, PublicKey>,
}

impl MemberSet {
    /// A member set; the quorum must be more than half the members (so quorums
    /// intersect) and at most all of them.
    pub fn new(keys: Vec<PublicKey>, quorum: u16) -> Result<Self, VerifyError> {
        let count = keys.len();
        if count == 0 || count > usize::from(MEMBERS_MAX) {
            return Err(VerifyError::MemberSet(format!(
                "{count} members; need 1..={MEMBERS_MAX}"
            )));
        }
        let map: BTreeMap<KeyId, PublicKey> = keys.into_iter().map(|k| (k.key_id(), k)).collect();
        if map.len() != count {
            return Err(VerifyError::MemberSet("a key is listed twice".into()));
        }
        let quorum_min = count / 2 + 1;
        if usize::from(quorum) < quorum_min || usize::from(quorum) > count {
            return Err(VerifyError::MemberSet(format!(
                "quorum {quorum} of {count} members; need {quorum_min}..={count} so quorums intersect"
            )));
        }
        Ok(Self { quorum, keys: map })
    }

    /// Signatures needed.
    pub fn quorum(&self) -> u16 {
        self.quorum
    }

    /// The member keys, by key id.
    pub fn keys(&self) -> &BTreeMap<KeyId, PublicKey> {
        &self.keys
    }

    /// The canonical bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new(MEMBERS_TAG, BLOCK_FORMAT_VERSION);
        w.u16(self.quorum);
        // `new` bounds the count by MEMBERS_MAX (u16).
        w.u16(u16::try_from(self.keys.len()).unwrap_or(u16::MAX));
        for key in self.keys.values() {
            w.bytes(&key.to_sec1_bytes());
        }
        w.finish()
    }

    /// Decodes a member set; keys must be sorted by key id without repeats.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        const WHAT: &str = "member set";
        let mut r = Reader::open(WHAT, bytes, MEMBERS_TAG, BLOCK_FORMAT_VERSION)?;
        let quorum = r.u16()?;
        let count = r.u16()?;
        if count > MEMBERS_MAX {
            return Err(DecodeError::TooLong {
                what: WHAT,
                field: "member count",
                len: u64::from(count),
                max: u64::from(MEMBERS_MAX),
            });
        }
        let mut keys = Vec::with_capacity(usize::from(count));
        for _ in 0..count {
            let sec1: [u8; 65] = r.array()?;
            let key = PublicKey::from_sec1_bytes(&sec1)
                .map_err(|source| DecodeError::Key { what: WHAT, source })?;
            if keys
                .last()
                .is_some_and(|prev: &PublicKey| prev.key_id() >= key.key_id())
            {
                return Err(DecodeError::Invalid {
                    what: WHAT,
                    reason: "keys not strictly ascending by key id",
                });
            }
            keys.push(key);
        }
        r.finish()?;
        Self::new(keys, quorum).map_err(|_| DecodeError::Invalid {
            what: WHAT,
            reason: "quorum out of range for the member count",
        })
    }

    /// Checks a quorum of distinct member signatures over `message`. Every listed signature
    /// must come from a member and verify; signers must be strictly ascending.
    pub fn check_quorum(
        &self,
        what: &'static str,
        message: &[u8],
        signatures: &[MemberSignature],
    ) -> Result<(), VerifyError> {
        self.check_quorum_by(what, message, signatures, |key, _, msg, sig| {
            key.verify(msg, sig).is_ok()
        })
    }

    /// As [`Self::check_quorum`], with `verify(key, signer, message, signature)` doing the
    /// SM2 verification (the store passes one that uses prepared member keys). Membership,
    /// order and the count are checked here.
    pub(crate) fn check_quorum_by(
        &self,
        what: &'static str,
        message: &[u8],
        signatures: &[MemberSignature],
        verify: impl Fn(&PublicKey, &KeyId, &[u8], &Signature) -> bool,
    ) -> Result<(), VerifyError> {
        let mut previous: Option<KeyId> = None;
        for s in signatures {
            if previous.is_some_and(|p| p >= s.signer) {
                return Err(VerifyError::SignersNotCanonical {
                    what,
                    signer: s.signer,
                });
            }
            previous = Some(s.signer);
            let key = self.keys.get(&s.signer).ok_or(VerifyError::NotMember {
                what,
                signer: s.signer,
            })?;
            if !verify(key, &s.signer, message, &s.signature) {
                return Err(VerifyError::BadSignature {
                    what,
                    signer: s.signer,
                });
            }
        }
        let found = signatures.len() as u64;
        if found < u64::from(self.quorum) {
            return Err(VerifyError::NoQuorum {
                what,
                found,
                quorum: u64::from(self.quorum),
            });
        }
        Ok(())
    }
}

/// A block header: the chain link, the log after the block, and the state after it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockHeader {
    /// 0 for the first block.
    pub height: u64,
    /// The previous header's hash; all zero at height 0.
    pub previous: BlockHash,
    /// Log leaves after this block's transactions.
    pub log_size: u64,
    /// Log root after this block's transactions.
    pub log_root: Hash32,
    /// The contracts' state digest after this block.
    pub state_digest: Hash32,
    /// Block time, milliseconds since the Unix epoch (the only clock contracts see).
    pub time_ms: u64,
    /// The proposing member.
    pub proposer: KeyId,
}

/// Canonical header length.
pub const HEADER_BYTES: usize = 4 + 1 + 8 + 32 + 8 + 32 + 32 + 8 + 32;

impl BlockHeader {
    /// The canonical bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new(HEADER_TAG, BLOCK_FORMAT_VERSION);
        w.u64(self.height);
        w.bytes(&self.previous.0);
        w.u64(self.log_size);
        w.bytes(&self.log_root.0);
        w.bytes(&self.state_digest.0);
        w.u64(self.time_ms);
        w.bytes(self.proposer.as_bytes());
        w.finish()
    }

    /// Decodes canonical header bytes.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::open("block header", bytes, HEADER_TAG, BLOCK_FORMAT_VERSION)?;
        let h = Self {
            height: r.u64()?,
            previous: BlockHash(r.array()?),
            log_size: r.u64()?,
            log_root: Hash32(r.array()?),
            state_digest: Hash32(r.array()?),
            time_ms: r.u64()?,
            proposer: KeyId::from_bytes(r.array()?),
        };
        r.finish()?;
        Ok(h)
    }

    /// `SM3(header)`.
    pub fn hash(&self) -> BlockHash {
        BlockHash(sm3_digest(&self.encode()))
    }

    /// A member's commit vote for this header.
    pub fn vote(&self, key: &KeyPair) -> MemberSignature {
        MemberSignature {
            signer: key.key_id(),
            signature: key.sign(&commit_vote_message(&self.hash())),
        }
    }
}

/// What a member signs to commit a block: `"WNCV" ‖ 0x01 ‖ block_hash`.
pub fn commit_vote_message(block: &BlockHash) -> Vec<u8> {
    let mut w = Writer::new(VOTE_TAG, BLOCK_FORMAT_VERSION);
    w.bytes(&block.0);
    w.finish()
}

/// A quorum of member signatures over one header's commit vote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommitCertificate {
    /// The header signed.
    pub block: BlockHash,
    /// The signatures, signers strictly ascending.
    pub signatures: Vec<MemberSignature>,
}

impl CommitCertificate {
    /// Collects votes for `header` into a certificate (sorted, as the encoding requires).
    pub fn from_votes(header: &BlockHeader, mut votes: Vec<MemberSignature>) -> Self {
        votes.sort_by_key(|v| v.signer);
        votes.dedup_by_key(|v| v.signer);
        Self {
            block: header.hash(),
            signatures: votes,
        }
    }

    /// The canonical bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new(CERT_TAG, BLOCK_FORMAT_VERSION);
        w.bytes(&self.block.0);
        encode_signatures(&mut w, &self.signatures);
        w.finish()
    }

    /// Decodes canonical certificate bytes.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::open("commit certificate", bytes, CERT_TAG, BLOCK_FORMAT_VERSION)?;
        let block = BlockHash(r.array()?);
        let signatures = decode_signatures(&mut r)?;
        r.finish()?;
        Ok(Self { block, signatures })
    }

    /// Checks that this certificate commits `header` under `members`.
    pub fn verify(&self, header: &BlockHeader, members: &MemberSet) -> Result<(), VerifyError> {
        self.verify_by(header, members, |key, _, msg, sig| {
            key.verify(msg, sig).is_ok()
        })
    }

    /// As [`Self::verify`], with the SM2 verification done by `verify` (see
    /// [`MemberSet::check_quorum_by`]).
    #[cfg_attr(not(feature = "store"), allow(dead_code))]
    pub(crate) fn verify_by(
        &self,
        header: &BlockHeader,
        members: &MemberSet,
        verify: impl Fn(&PublicKey, &KeyId, &[u8], &Signature) -> bool,
    ) -> Result<(), VerifyError> {
        let expected = header.hash();
        if self.block != expected {
            return Err(VerifyError::CertificateMismatch {
                expected,
                found: self.block,
            });
        }
        members.check_quorum_by(
            "commit certificate",
            &commit_vote_message(&expected),
            &self.signatures,
            verify,
        )
    }
}

fn encode_signatures(w: &mut Writer, signatures: &[MemberSignature]) {
    // Callers build certificates from member sets, bounded by MEMBERS_MAX.
    w.u16(u16::try_from(signatures.len()).unwrap_or(u16::MAX));
    for s in signatures {
        w.bytes(s.signer.as_bytes());
        w.bytes(&s.signature.to_bytes());
    }
}

fn decode_signatures(r: &mut Reader<'_>) -> Result<Vec<MemberSignature>, DecodeError> {
    let what = r.what();
    let count = r.u16()?;
    if count > MEMBERS_MAX {
        return Err(DecodeError::TooLong {
            what,
            field: "signature count",
            len: u64::from(count),
            max: u64::from(MEMBERS_MAX),
        });
    }
    let mut out: Vec<MemberSignature> = Vec::with_capacity(usize::from(count));
    for _ in 0..count {
        let signer = KeyId::from_bytes(r.array()?);
        let sig: [u8; 64] = r.array()?;
        let signature =
            Signature::from_bytes(&sig).map_err(|source| DecodeError::Key { what, source })?;
        if out.last().is_some_and(|p| p.signer >= signer) {
            return Err(DecodeError::Invalid {
                what,
                reason: "signers not strictly ascending",
            });
        }
        out.push(MemberSignature { signer, signature });
    }
    Ok(out)
}

/// A log tree head: size, root and time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TreeHead {
    /// Leaves in the log.
    pub size: u64,
    /// The RFC 9162 root (SM3).
    pub root: Hash32,
    /// When the head was taken, milliseconds since the Unix epoch.
    pub time_ms: u64,
}

impl TreeHead {
    /// The canonical bytes (what co-signers sign).
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new(HEAD_TAG, BLOCK_FORMAT_VERSION);
        w.u64(self.size);
        w.bytes(&self.root.0);
        w.u64(self.time_ms);
        w.finish()
    }

    /// Decodes canonical tree-head bytes.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::open("tree head", bytes, HEAD_TAG, BLOCK_FORMAT_VERSION)?;
        let head = Self {
            size: r.u64()?,
            root: Hash32(r.array()?),
            time_ms: r.u64()?,
        };
        r.finish()?;
        Ok(head)
    }

    /// A member's co-signature of this head.
    pub fn cosign(&self, key: &KeyPair) -> MemberSignature {
        MemberSignature {
            signer: key.key_id(),
            signature: key.sign(&self.encode()),
        }
    }

    /// The tree head a block header commits to.
    pub fn of_header(header: &BlockHeader) -> Self {
        Self {
            size: header.log_size,
            root: header.log_root,
            time_ms: header.time_ms,
        }
    }
}

/// A tree head co-signed by members.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedTreeHead {
    /// The head.
    pub head: TreeHead,
    /// Co-signatures, signers strictly ascending.
    pub cosignatures: Vec<MemberSignature>,
}

impl SignedTreeHead {
    /// Collects co-signatures of `head` (sorted, as the encoding requires).
    pub fn from_cosignatures(head: TreeHead, mut cosignatures: Vec<MemberSignature>) -> Self {
        cosignatures.sort_by_key(|s| s.signer);
        cosignatures.dedup_by_key(|s| s.signer);
        Self { head, cosignatures }
    }

    /// The canonical bytes (how the store and proof bundles hold it).
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new(SIGNED_HEAD_TAG, BLOCK_FORMAT_VERSION);
        w.u64(self.head.size);
        w.bytes(&self.head.root.0);
        w.u64(self.head.time_ms);
        encode_signatures(&mut w, &self.cosignatures);
        w.finish()
    }

    /// Decodes canonical signed-tree-head bytes.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::open(
            "signed tree head",
            bytes,
            SIGNED_HEAD_TAG,
            BLOCK_FORMAT_VERSION,
        )?;
        let head = TreeHead {
            size: r.u64()?,
            root: Hash32(r.array()?),
            time_ms: r.u64()?,
        };
        let cosignatures = decode_signatures(&mut r)?;
        r.finish()?;
        Ok(Self { head, cosignatures })
    }

    /// Checks a quorum of member co-signatures.
    pub fn verify(&self, members: &MemberSet) -> Result<(), VerifyError> {
        members.check_quorum("signed tree head", &self.head.encode(), &self.cosignatures)
    }

    /// As [`Self::verify`], with the SM2 verification done by `verify` (see
    /// [`MemberSet::check_quorum_by`]).
    #[cfg_attr(not(feature = "store"), allow(dead_code))]
    pub(crate) fn verify_by(
        &self,
        members: &MemberSet,
        verify: impl Fn(&PublicKey, &KeyId, &[u8], &Signature) -> bool,
    ) -> Result<(), VerifyError> {
        members.check_quorum_by(
            "signed tree head",
            &self.head.encode(),
            &self.cosignatures,
            verify,
        )
    }
}

/// Evidence that one member signed commit votes for two different headers at one height.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Equivocation {
    /// One header.
    pub first: BlockHeader,
    /// The member's vote for it.
    pub first_vote: MemberSignature,
    /// The other header, at the same height.
    pub second: BlockHeader,
    /// The same member's vote for it.
    pub second_vote: MemberSignature,
}

impl Equivocation {
    /// Checks the evidence: same height, different headers, one member, two valid votes.
    /// Returns the member who equivocated.
    pub fn verify(&self, members: &MemberSet) -> Result<KeyId, VerifyError> {
        if self.first.height != self.second.height {
            return Err(VerifyError::NotEquivocation(
                "the headers are at different heights",
            ));
        }
        if self.first.hash() == self.second.hash() {
            return Err(VerifyError::NotEquivocation("the two headers are the same"));
        }
        if self.first_vote.signer != self.second_vote.signer {
            return Err(VerifyError::NotEquivocation(
                "the votes are by different members",
            ));
        }
        for (header, vote) in [
            (&self.first, &self.first_vote),
            (&self.second, &self.second_vote),
        ] {
            members.check_quorum_of_one(&commit_vote_message(&header.hash()), vote)?;
        }
        Ok(self.first_vote.signer)
    }

    /// All equivocations two conflicting certificates at one height prove: one per member
    /// who signed both. Empty if the headers are not in conflict.
    pub fn from_certificates(
        first: (&BlockHeader, &CommitCertificate),
        second: (&BlockHeader, &CommitCertificate),
    ) -> Vec<Self> {
        if first.0.height != second.0.height || first.0.hash() == second.0.hash() {
            return Vec::new();
        }
        let by_signer: BTreeMap<KeyId, &MemberSignature> =
            second.1.signatures.iter().map(|s| (s.signer, s)).collect();
        first
            .1
            .signatures
            .iter()
            .filter_map(|s| {
                by_signer.get(&s.signer).map(|other| Self {
                    first: *first.0,
                    first_vote: s.clone(),
                    second: *second.0,
                    second_vote: (*other).clone(),
                })
            })
            .collect()
    }
}

impl MemberSet {
    fn check_quorum_of_one(
        &self,
        message: &[u8],
        vote: &MemberSignature,
    ) -> Result<(), VerifyError> {
        const WHAT: &str = "commit vote";
        let key = self.keys.get(&vote.signer).ok_or(VerifyError::NotMember {
            what: WHAT,
            signer: vote.signer,
        })?;
        key.verify(message, &vote.signature)
            .map_err(|_| VerifyError::BadSignature {
                what: WHAT,
                signer: vote.signer,
            })
    }
}

/// Checks a chain of certified headers: each certificate against `members`, heights
/// consecutive, each `previous` the hash of the header before, log size and time never
/// going back. Returns the last header's hash.
pub fn verify_chain(
    chain: &[(BlockHeader, CommitCertificate)],
    members: &MemberSet,
) -> Result<Option<BlockHash>, VerifyError> {
    let mut prev: Option<&BlockHeader> = None;
    for (header, cert) in chain {
        cert.verify(header, members)
            .map_err(|e| VerifyError::Chain {
                height: header.height,
                reason: e.to_string(),
            })?;
        if let Some(p) = prev {
            let fail = |reason: &str| VerifyError::Chain {
                height: header.height,
                reason: reason.to_string(),
            };
            if Some(header.height) != p.height.checked_add(1) {
                return Err(fail("height does not follow the previous header"));
            }
            if header.previous != p.hash() {
                return Err(fail("previous hash is not the hash of the header before"));
            }
            if header.log_size < p.log_size {
                return Err(fail("log size goes back"));
            }
            if header.time_ms < p.time_ms {
                return Err(fail("block time goes back"));
            }
        } else if header.height == 0 && header.previous != BlockHash::default() {
            return Err(VerifyError::Chain {
                height: 0,
                reason: "the first block's previous hash is not zero".into(),
            });
        }
        prev = Some(header);
    }
    Ok(prev.map(BlockHeader::hash))
}
