//! The consortium's founding document: members, admins and their threshold, auditors and
//! consent registrars. Its SM3 digest names the consortium and is bound into every
//! governance approval.
//!
//! # Encoding (format version 1)
//!
//! ```text
//! genesis = "WNGN" ‖ 0x01 ‖ time_ms:u64 ‖ threshold:u16
//!           ‖ count:u16 ‖ (member:u16 ‖ key:SEC1[65])*   strictly ascending by member
//!           ‖ admins ‖ auditors ‖ registrars             each: count:u16 ‖ (key:SEC1[65])*
//!                                                        strictly ascending by key id
//! ```

use weinong_keys::{KeyId, PublicKey, sm3_digest};
use weinong_ledger::codec::{Reader, Writer};
use weinong_ledger::{DecodeError, Hash32, MemberSet, VerifyError};

use crate::limits::{GENESIS_KEYS_MAX, MEMBERS_MAX};
use crate::payload::{EncodeError, PAYLOAD_VERSION, public_key};
use crate::types::MemberId;

const GENESIS_TAG: &[u8; 4] = b"WNGN";

/// The founding document. Every role bound here is valid from `time_ms` without end.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Genesis {
    /// Block time of the genesis block, ms.
    pub time_ms: u64,
    /// Admin approvals a governance change needs (k of the n admins).
    pub threshold: u16,
    /// Department nodes and their keys (bound the department role).
    pub members: Vec<(MemberId, PublicKey)>,
    /// Admin keys.
    pub admins: Vec<PublicKey>,
    /// Auditor keys.
    pub auditors: Vec<PublicKey>,
    /// Consent registrar keys.
    pub registrars: Vec<PublicKey>,
}

impl Genesis {
    /// The canonical bytes, with every list sorted (members by number, keys by key id).
    /// Fails if a list is over its limit.
    pub fn encode(&self) -> Result<Vec<u8>, EncodeError> {
        let mut members = self.members.clone();
        members.sort_by_key(|(m, _)| *m);
        if members.len() > usize::from(MEMBERS_MAX) {
            return Err(EncodeError {
                field: "genesis member count",
                len: members.len() as u64,
                max: u64::from(MEMBERS_MAX),
            });
        }
        let mut w = Writer::new(Vec::with_capacity(512));
        w.bytes(GENESIS_TAG);
        w.u8(PAYLOAD_VERSION);
        w.u64(self.time_ms);
        w.u16(self.threshold);
        w.count(members.len());
        for (member, key) in &members {
            w.u16(member.0);
            w.bytes(&key.to_sec1_bytes());
        }
        for (field, list) in [
            ("admin count", &self.admins),
            ("auditor count", &self.auditors),
            ("registrar count", &self.registrars),
        ] {
            if list.len() > usize::from(GENESIS_KEYS_MAX) {
                return Err(EncodeError {
                    field,
                    len: list.len() as u64,
                    max: u64::from(GENESIS_KEYS_MAX),
                });
            }
            let mut keys: Vec<&PublicKey> = list.iter().collect();
            keys.sort_by_key(|k| k.key_id());
            w.count(keys.len());
            for key in keys {
                w.bytes(&key.to_sec1_bytes());
            }
        }
        Ok(w.finish())
    }

    /// Decodes canonical genesis bytes (sorted lists, no repeats, no trailing bytes).
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::tagged("genesis", bytes, GENESIS_TAG, PAYLOAD_VERSION)?;
        let time_ms = r.u64()?;
        let threshold = r.u16()?;
        let count = r.count("member count", MEMBERS_MAX)?;
        let mut members: Vec<(MemberId, PublicKey)> = Vec::with_capacity(usize::from(count));
        for _ in 0..count {
            let member = MemberId(r.u16()?);
            let key = public_key(&mut r)?;
            if members.last().is_some_and(|(prev, _)| *prev >= member) {
                return Err(r.invalid("members not strictly ascending by number"));
            }
            members.push((member, key));
        }
        let admins = key_list(&mut r, "admin count")?;
        let auditors = key_list(&mut r, "auditor count")?;
        let registrars = key_list(&mut r, "registrar count")?;
        r.finish()?;
        Ok(Self {
            time_ms,
            threshold,
            members,
            admins,
            auditors,
            registrars,
        })
    }

    /// The consortium id: SM3 of the canonical genesis bytes.
    pub fn consortium(&self) -> Result<Hash32, EncodeError> {
        Ok(Hash32(sm3_digest(&self.encode()?)))
    }

    /// The member set that certifies blocks: every genesis member's key, quorum a strict
    /// majority (2 of 3). Nodes certify with it and auditors pin it, so both take it from
    /// here. Fails if the genesis has no member or more than the ledger's limit.
    pub fn member_set(&self) -> Result<MemberSet, VerifyError> {
        MemberSet::majority(self.members.iter().map(|(_, k)| k.clone()).collect())
    }
}

fn key_list(r: &mut Reader<'_>, field: &'static str) -> Result<Vec<PublicKey>, DecodeError> {
    let count = r.count(field, GENESIS_KEYS_MAX)?;
    let mut keys: Vec<PublicKey> = Vec::with_capacity(usize::from(count));
    for _ in 0..count {
        let key = public_key(r)?;
        let prev: Option<KeyId> = keys.last().map(PublicKey::key_id);
        if prev.is_some_and(|prev| prev >= key.key_id()) {
            return Err(r.invalid("keys not strictly ascending by key id"));
        }
        keys.push(key);
    }
    Ok(keys)
}
