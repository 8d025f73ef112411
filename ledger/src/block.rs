//! Member sets, block headers, commit certificates, signed tree heads and equivocation
//! evidence: everything a quorum signs.
//!
//! # Encodings (format version 1, rules in `codec`)
//!
//! ```text
//! member set  = "WNMS" ‖ 0x01 ‖ quorum:u16 ‖ count:u16 ‖ (public key SEC1[65])*   sorted by KeyId
//! header      = "WNBH" ‖ 0x02 ‖ height:u64 ‖ previous:BlockHash[32] ‖ log_size:u64
//!               ‖ log_root[32] ‖ state_digest[32] ‖ time_ms:u64 ‖ proposer:KeyId[32]
//!               ‖ members[32] ‖ next_members[32]     (SM3 of member-set encodings)
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
//!
//! # Member sets change by governance
//!
//! Each header names the member set that signs it (`members`) and the one that signs the
//! next block (`next_members`). They differ only in the block whose transactions changed
//! the set (a governance change committed in it); the new set signs from the next height.
//! So the old set itself certifies the hand-over, and anyone holding the genesis set can
//! follow the chain of sets ([`MemberChange`]) to any later block without trusting a node.
//! A certificate verifies only under the set its header names.
//!
//! Format-1 headers (written before sets were named: no `members`, `next_members`) are
//! still read: they decode with both digests zero (no SM3 output is), encode back to their
//! format-1 bytes, and rest on the set the reader is given. Nodes write format 2 only.

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
/// The format version of certificates, member sets and tree heads.
pub const BLOCK_FORMAT_VERSION: u8 = 1;
/// The format version of block headers (2: the member sets are named).
pub const HEADER_FORMAT_VERSION: u8 = 2;

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

    /// A member set of `keys` whose quorum is a strict majority (what the genesis and
    /// every governance change give; 2 of 3, 3 of 4).
    pub fn majority(keys: Vec<PublicKey>) -> Result<Self, VerifyError> {
        let quorum = u16::try_from(keys.len() / 2 + 1).unwrap_or(u16::MAX);
        Self::new(keys, quorum)
    }

    /// `SM3(encoding)`: how headers name a member set.
    pub fn digest(&self) -> Hash32 {
        Hash32(sm3_digest(&self.encode()))
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
        let mut w = Writer::tagged(MEMBERS_TAG, BLOCK_FORMAT_VERSION);
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
        let mut r = Reader::tagged(WHAT, bytes, MEMBERS_TAG, BLOCK_FORMAT_VERSION)?;
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
    /// [`MemberSet::digest`] of the set that signs this block.
    pub members: Hash32,
    /// [`MemberSet::digest`] of the set that signs the next block: `members` unless this
    /// block's transactions changed the set.
    pub next_members: Hash32,
}

/// Canonical header length.
pub const HEADER_BYTES: usize = 4 + 1 + 8 + 32 + 8 + 32 + 32 + 8 + 32 + 32 + 32;

impl BlockHeader {
    /// Whether this is a format-1 header, which names no member set (both digests zero;
    /// see the module doc).
    pub fn is_format_1(&self) -> bool {
        self.members == Hash32::default() && self.next_members == Hash32::default()
    }

    /// The canonical bytes (format 1 for a format-1 header).
    pub fn encode(&self) -> Vec<u8> {
        if self.is_format_1() {
            let mut w = Writer::tagged(HEADER_TAG, 1);
            self.encode_common(&mut w);
            return w.finish();
        }
        let mut w = Writer::tagged(HEADER_TAG, HEADER_FORMAT_VERSION);
        self.encode_common(&mut w);
        w.bytes(&self.members.0);
        w.bytes(&self.next_members.0);
        w.finish()
    }

    fn encode_common(&self, w: &mut Writer) {
        w.u64(self.height);
        w.bytes(&self.previous.0);
        w.u64(self.log_size);
        w.bytes(&self.log_root.0);
        w.bytes(&self.state_digest.0);
        w.u64(self.time_ms);
        w.bytes(self.proposer.as_bytes());
    }

    /// Decodes canonical header bytes, format 2 or 1.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        const WHAT: &str = "block header";
        let format_1 = bytes.get(4) == Some(&1);
        let version = if format_1 { 1 } else { HEADER_FORMAT_VERSION };
        let mut r = Reader::tagged(WHAT, bytes, HEADER_TAG, version)?;
        let mut h = Self {
            height: r.u64()?,
            previous: BlockHash(r.array()?),
            log_size: r.u64()?,
            log_root: Hash32(r.array()?),
            state_digest: Hash32(r.array()?),
            time_ms: r.u64()?,
            proposer: KeyId::from_bytes(r.array()?),
            members: Hash32::default(),
            next_members: Hash32::default(),
        };
        if !format_1 {
            h.members = Hash32(r.array()?);
            h.next_members = Hash32(r.array()?);
            if h.is_format_1() {
                return Err(DecodeError::Invalid {
                    what: WHAT,
                    reason: "format 2 names no member set (both digests zero)",
                });
            }
        }
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
    let mut w = Writer::tagged(VOTE_TAG, BLOCK_FORMAT_VERSION);
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
        let mut w = Writer::tagged(CERT_TAG, BLOCK_FORMAT_VERSION);
        w.bytes(&self.block.0);
        encode_signatures(&mut w, &self.signatures);
        w.finish()
    }

    /// Decodes canonical certificate bytes.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::tagged("commit certificate", bytes, CERT_TAG, BLOCK_FORMAT_VERSION)?;
        let block = BlockHash(r.array()?);
        let signatures = decode_signatures(&mut r)?;
        r.finish()?;
        Ok(Self { block, signatures })
    }

    /// Checks that this certificate commits `header` under `members`, the set the header
    /// names.
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
        let named = members.digest();
        if !header.is_format_1() && header.members != named {
            return Err(VerifyError::WrongMemberSet {
                height: header.height,
                named: header.members,
                given: named,
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
        let mut w = Writer::tagged(HEAD_TAG, BLOCK_FORMAT_VERSION);
        w.u64(self.size);
        w.bytes(&self.root.0);
        w.u64(self.time_ms);
        w.finish()
    }

    /// Decodes canonical tree-head bytes.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::tagged("tree head", bytes, HEAD_TAG, BLOCK_FORMAT_VERSION)?;
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
        let mut w = Writer::tagged(SIGNED_HEAD_TAG, BLOCK_FORMAT_VERSION);
        w.u64(self.head.size);
        w.bytes(&self.head.root.0);
        w.u64(self.head.time_ms);
        encode_signatures(&mut w, &self.cosignatures);
        w.finish()
    }

    /// Decodes canonical signed-tree-head bytes.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::tagged(
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

/// Checks a chain of certified headers: each certificate against the member set its header
/// names (the first is `members`; a header that hands over to another set must find it in
/// `later_sets`), each header's `members` the `next_members` of the one before, heights
/// consecutive, each `previous` the hash of the header before, log size and time never
/// going back. Returns the last header's hash.
pub fn verify_chain(
    chain: &[(BlockHeader, CommitCertificate)],
    members: &MemberSet,
    later_sets: &[MemberSet],
) -> Result<Option<BlockHash>, VerifyError> {
    let mut prev: Option<&BlockHeader> = None;
    let mut current = members;
    for (header, cert) in chain {
        let fail = |reason: String| VerifyError::Chain {
            height: header.height,
            reason,
        };
        if let Some(p) = prev {
            if Some(header.height) != p.height.checked_add(1) {
                return Err(fail("height does not follow the previous header".into()));
            }
            if header.previous != p.hash() {
                return Err(fail(
                    "previous hash is not the hash of the header before".into(),
                ));
            }
            if header.log_size < p.log_size {
                return Err(fail("log size goes back".into()));
            }
            if header.time_ms < p.time_ms {
                return Err(fail("block time goes back".into()));
            }
            if !p.is_format_1() && header.members != p.next_members {
                return Err(fail(
                    "names another member set than the header before handed over to".into(),
                ));
            }
            if p.next_members != p.members {
                current = later_sets
                    .iter()
                    .find(|s| s.digest() == p.next_members)
                    .ok_or_else(|| {
                        fail(format!(
                            "member set {} (handed over at height {}) was not supplied",
                            p.next_members, p.height
                        ))
                    })?;
            }
        } else if header.height == 0 && header.previous != BlockHash::default() {
            return Err(fail("the first block's previous hash is not zero".into()));
        }
        cert.verify(header, current)
            .map_err(|e| fail(e.to_string()))?;
        prev = Some(header);
    }
    Ok(prev.map(BlockHeader::hash))
}

/// A hand-over from one member set to the next: the certified header of the block whose
/// governance change altered the set, and the set it names as `next_members`. Checked
/// against the set before, so the old quorum vouches for the new one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberChange {
    /// The block that changed the set (`members` the old set, `next_members` the new).
    pub header: BlockHeader,
    /// Its certificate, by the old set.
    pub certificate: CommitCertificate,
    /// The new set, in force from `header.height + 1`.
    pub next: MemberSet,
}

impl MemberChange {
    /// Checks the hand-over from `from`; returns the new set.
    pub fn verify(&self, from: &MemberSet) -> Result<&MemberSet, VerifyError> {
        self.certificate.verify(&self.header, from)?;
        let next = self.next.digest();
        if self.header.next_members != next || self.header.members == next {
            return Err(VerifyError::Chain {
                height: self.header.height,
                reason: format!(
                    "the header hands over to member set {}, not to the one given ({next})",
                    self.header.next_members
                ),
            });
        }
        Ok(&self.next)
    }
}

/// Follows `changes` (heights strictly ascending) from `genesis`; returns the set in force
/// after the last, with the height it takes effect from (0 if there is no change).
pub fn follow_member_changes(
    genesis: &MemberSet,
    changes: &[MemberChange],
) -> Result<(MemberSet, u64), VerifyError> {
    let mut current = genesis;
    let mut from_height = 0u64;
    for change in changes {
        if change.header.height < from_height {
            return Err(VerifyError::Chain {
                height: change.header.height,
                reason: "member changes are not in ascending height order".into(),
            });
        }
        current = change.verify(current)?;
        from_height = change.header.height.saturating_add(1);
    }
    Ok((current.clone(), from_height))
}
