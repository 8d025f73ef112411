//! The requester's checks on the three sealed output shares a node serves, before any is
//! used.
//!
//! SM2 encryption to the care home's key says nothing of who made a ciphertext, and the
//! node that serves the shares is one of the departments. So each share comes with its
//! department's SM2 signature over `weinong_contracts::share::share_signature_message`
//! (`"weinong-result-share-v1"` ‖ consortium id ‖ request id ‖ party ‖ model id ‖ SM3 of the
//! ciphertext), and its plaintext carries the request id and the subject-list digest
//! (`ShareBinding`). [`check_shares`] refuses, naming the reason ([`Refusal`]):
//!
//! - anything but exactly one share per party, and two shares with the same ciphertext
//!   (a replay);
//! - a signer the ledger does not know, whose served public key is not the key id, that
//!   is revoked, that was rotated out before the request was made, that is no department
//!   member's key, that is not the member which recorded the request's access for that
//!   party's department, or that signed two of the shares;
//! - a signature that does not verify (a forgery; when the ciphertext opens to a share of
//!   another request, that is named instead);
//! - a plaintext bound to another request, or to another subject list than the one the
//!   requester knows, or than the other shares.
//!
//! What the ledger says (consortium id, the request's model and history, each signer's
//! key record) comes from the node's state API ([`RequestFacts`], [`SignerFacts`]); the
//! checks themselves are pure, so each refusal is unit-tested here. No HTTP: the caller
//! fetches the answers and passes them in; opening is the SM2 decryption of
//! `weinong-keys` with the requester's key.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use base64::Engine;
use weinong_api::dto::{HistoryBody, KeyBody, SealedShareBody};
use weinong_contracts::DataCategory;
use weinong_contracts::share::{ShareBinding, share_signature_message};
use weinong_keys::{KeyId, KeyPair, PublicKey, Signature, sm3_digest};

/// One share as the node served it (`GET /v1/assessments/{id}`).
#[derive(Clone, Debug)]
pub struct ServedShare {
    /// The party the node says computed it.
    pub party: u8,
    /// The SM2 ciphertext.
    pub sealed: Vec<u8>,
    /// The key the node says signed it.
    pub signer: KeyId,
    /// The signature r‖s.
    pub signature: [u8; 64],
}

impl ServedShare {
    /// Reads one entry of the answer's `shares`.
    pub fn from_body(v: &SealedShareBody) -> Result<ServedShare, Refusal> {
        let party = v.party;
        let bad = |what: &str| Refusal::Malformed {
            party: Some(party),
            what: what.to_owned(),
        };
        let sealed = base64::engine::general_purpose::STANDARD
            .decode(&v.sealed)
            .map_err(|_| bad("its ciphertext is not base64"))?;
        let signer = v
            .signer
            .parse::<KeyId>()
            .map_err(|_| bad("it names no signer key id (a node of an older build?)"))?;
        let signature = hex::decode(&v.signature)
            .ok()
            .and_then(|b| <[u8; 64]>::try_from(b).ok())
            .ok_or_else(|| bad("it carries no 64-byte signature (a node of an older build?)"))?;
        Ok(ServedShare {
            party,
            sealed,
            signer,
            signature,
        })
    }
}

/// What the ledger says of the request.
#[derive(Clone, Debug)]
pub struct RequestFacts {
    /// The consortium id.
    pub consortium: [u8; 32],
    /// The request id.
    pub request: [u8; 32],
    /// The request's model id.
    pub model: [u8; 32],
    /// Block time the request was made, ms.
    pub requested_at_ms: u64,
    /// Per party, the member that recorded the request's access for that party's
    /// department, where one is recorded.
    pub accessed_by: [Option<u16>; 3],
}

impl RequestFacts {
    /// From the consortium id and the request's history (`GET /v1/requests/{id}/history`).
    pub fn from_history(
        consortium: [u8; 32],
        request: [u8; 32],
        history: &HistoryBody,
    ) -> Result<RequestFacts, String> {
        let model = hex32(&history.model).ok_or("the request's history names no model")?;
        let events = &history.events;
        let requested_at_ms = events
            .iter()
            .find(|e| e.event == "requested" || e.event == "listed")
            .map(|e| e.time_ms)
            .ok_or("the request's history does not say when it was made")?;
        let mut accessed_by = [None; 3];
        for e in events {
            if e.event != "accessed" && e.event != "batch accessed" {
                continue;
            }
            let Some(node) = e.node else {
                continue;
            };
            for label in e.categories.iter().flatten() {
                let category = DataCategory::ALL.iter().find(|c| c.label() == label);
                if let Some(c) = category {
                    accessed_by[crate::verify::party_of(c.holder())] = Some(node);
                }
            }
        }
        Ok(RequestFacts {
            consortium,
            request,
            model,
            requested_at_ms,
            accessed_by,
        })
    }
}

/// A key's standing, as the ledger records it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyStanding {
    /// It may sign.
    Active,
    /// Replaced at block time `at_ms`.
    Rotated {
        /// When.
        at_ms: u64,
    },
    /// Revoked at block time `at_ms`.
    Revoked {
        /// When.
        at_ms: u64,
    },
}

/// What the ledger says of a signer key (`GET /v1/keys/{id}`).
#[derive(Clone, Debug)]
pub struct SignerFacts {
    /// The public key served.
    pub public_key: PublicKey,
    /// The member it belongs to.
    pub member: Option<u16>,
    /// Its standing.
    pub standing: KeyStanding,
    /// Whether it holds the department role now (only an active key holds roles).
    pub department: bool,
}

impl SignerFacts {
    /// From the node's key answer.
    pub fn from_key(v: &KeyBody) -> Result<SignerFacts, String> {
        let public_key = hex::decode(&v.public_key)
            .ok()
            .and_then(|b| PublicKey::from_sec1_bytes(&b).ok())
            .ok_or("the key answer carries no public key (a node of an older build?)")?;
        let since = v.status_since_ms.unwrap_or(0);
        let standing = match v.status.as_str() {
            "active" => KeyStanding::Active,
            "rotated" => KeyStanding::Rotated { at_ms: since },
            "revoked" => KeyStanding::Revoked { at_ms: since },
            other => return Err(format!("the key answer has status {other:?}")),
        };
        Ok(SignerFacts {
            public_key,
            member: v.member,
            standing,
            department: v.roles.iter().any(|r| r == "department"),
        })
    }
}

/// Why the shares were refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The node's answer is not a share.
    Malformed {
        /// The party it names, if any.
        party: Option<u8>,
        /// What is wrong.
        what: String,
    },
    /// Not one share from each of the three parties.
    Count {
        /// The parties present.
        parties: Vec<u8>,
    },
    /// Two shares name the same party.
    DuplicateParty {
        /// The party.
        party: u8,
    },
    /// Two shares carry the same ciphertext.
    Replayed {
        /// The later share's party.
        party: u8,
        /// The party whose ciphertext it repeats.
        first: u8,
    },
    /// The ledger does not know the signer.
    UnknownSigner {
        /// The share's party.
        party: u8,
        /// The key id named.
        signer: KeyId,
    },
    /// The public key served for the signer is not the key id named.
    KeyMismatch {
        /// The share's party.
        party: u8,
        /// The key id named.
        signer: KeyId,
    },
    /// The signer is revoked.
    RevokedSigner {
        /// The share's party.
        party: u8,
        /// The key.
        signer: KeyId,
        /// When, block time ms.
        at_ms: u64,
    },
    /// The signer was rotated out before the request was made.
    RotatedSigner {
        /// The share's party.
        party: u8,
        /// The key.
        signer: KeyId,
        /// When, block time ms.
        at_ms: u64,
    },
    /// The signer is no department member's key.
    NotDepartment {
        /// The share's party.
        party: u8,
        /// The key.
        signer: KeyId,
    },
    /// Another member recorded the request's access for the party's department.
    WrongDepartment {
        /// The share's party.
        party: u8,
        /// The signer's member.
        member: u16,
        /// The member that recorded the department's access.
        recorded: u16,
    },
    /// The signer's member recorded another party's department's access.
    OtherDepartment {
        /// The share's party.
        party: u8,
        /// The signer's member.
        member: u16,
        /// The party whose department's access that member recorded.
        other: u8,
    },
    /// One member signed two of the shares.
    SameSigner {
        /// The later share's party.
        party: u8,
        /// The party whose signer's member it shares.
        first: u8,
    },
    /// The signature does not verify.
    BadSignature {
        /// The share's party.
        party: u8,
        /// The key it was checked with.
        signer: KeyId,
    },
    /// The share is for another request.
    OtherRequest {
        /// The share's party.
        party: u8,
        /// The request it says it answers, hex.
        found: String,
        /// The request asked about, hex.
        expected: String,
    },
    /// The share is over another subject list.
    OtherSubjects {
        /// The share's party.
        party: u8,
        /// Against what: the requester's list or another party's share.
        against: String,
    },
    /// The ciphertext does not open with the requester's key.
    DoesNotOpen {
        /// The share's party.
        party: u8,
        /// Why.
        reason: String,
    },
    /// The plaintext is not a share.
    Decode {
        /// The share's party.
        party: u8,
        /// Why.
        reason: String,
    },
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Malformed {
                party: Some(p),
                what,
            } => {
                write!(f, "the share of party {p} is malformed: {what}")
            }
            Refusal::Malformed { party: None, what } => write!(f, "malformed share: {what}"),
            Refusal::Count { parties } => write!(
                f,
                "the node served shares of parties {parties:?}; one from each of 0, 1 and 2 is needed"
            ),
            Refusal::DuplicateParty { party } => {
                write!(f, "two shares name party {party}: a duplicate")
            }
            Refusal::Replayed { party, first } => write!(
                f,
                "replayed share: the share served as party {party}'s is the same ciphertext as party {first}'s"
            ),
            Refusal::UnknownSigner { party, signer } => write!(
                f,
                "party {party}'s share is signed by key {signer}, which the ledger does not know: a forged share"
            ),
            Refusal::KeyMismatch { party, signer } => write!(
                f,
                "the public key the node served for party {party}'s signer is not key {signer}"
            ),
            Refusal::RevokedSigner {
                party,
                signer,
                at_ms,
            } => write!(
                f,
                "party {party}'s share is signed by key {signer}, revoked at block time {at_ms} ms: a revoked key's signature is not trusted"
            ),
            Refusal::RotatedSigner {
                party,
                signer,
                at_ms,
            } => write!(
                f,
                "party {party}'s share is signed by key {signer}, rotated out at block time {at_ms} ms, before the request was made"
            ),
            Refusal::NotDepartment { party, signer } => write!(
                f,
                "party {party}'s share is signed by key {signer}, which is not a department member's key: a forged share"
            ),
            Refusal::WrongDepartment {
                party,
                member,
                recorded,
            } => write!(
                f,
                "party {party}'s share is signed by member {member}'s key, but member {recorded} recorded that department's access for this request: the share is not that department's"
            ),
            Refusal::OtherDepartment {
                party,
                member,
                other,
            } => write!(
                f,
                "party {party}'s share is signed by member {member}'s key, which recorded party {other}'s department access for this request: the share is not that department's"
            ),
            Refusal::SameSigner { party, first } => write!(
                f,
                "the shares of party {first} and party {party} are signed by the same member: one department cannot give two shares"
            ),
            Refusal::BadSignature { party, signer } => write!(
                f,
                "the signature on party {party}'s share does not verify with that department's key {signer} for this request: a forged or altered share"
            ),
            Refusal::OtherRequest {
                party,
                found,
                expected,
            } => write!(
                f,
                "party {party}'s share was made for request {found}, not for this request {expected}: a share of another request"
            ),
            Refusal::OtherSubjects { party, against } => write!(
                f,
                "party {party}'s share is over another subject list than {against}"
            ),
            Refusal::DoesNotOpen { party, reason } => write!(
                f,
                "the sealed share of party {party} does not open with this key: {reason}"
            ),
            Refusal::Decode { party, reason } => {
                write!(f, "the output share of party {party}: {reason}")
            }
        }
    }
}

/// Checks the three served shares (see the module doc) and returns them opened and
/// decoded, in party order. `signers` holds what the ledger says of each signer key the
/// node could answer for; `subjects` is the subject-list digest the requester knows, if it
/// knows the list (otherwise the three shares must only agree).
pub fn check_shares<T>(
    shares: &[ServedShare],
    facts: &RequestFacts,
    signers: &BTreeMap<KeyId, SignerFacts>,
    key: &KeyPair,
    subjects: Option<[u8; 32]>,
    decode: impl Fn(&[u8]) -> Result<T, String>,
    binding: impl Fn(&T) -> ShareBinding,
) -> Result<Vec<T>, Refusal> {
    // One per party, none repeated.
    let mut by_party: [Option<&ServedShare>; 3] = [None; 3];
    for share in shares {
        let slot =
            by_party
                .get_mut(usize::from(share.party))
                .ok_or_else(|| Refusal::Malformed {
                    party: Some(share.party),
                    what: "parties are 0, 1 and 2".into(),
                })?;
        if slot.replace(share).is_some() {
            return Err(Refusal::DuplicateParty { party: share.party });
        }
    }
    let [Some(s0), Some(s1), Some(s2)] = by_party else {
        return Err(Refusal::Count {
            parties: shares.iter().map(|s| s.party).collect(),
        });
    };
    let ordered = [s0, s1, s2];
    let digests: Vec<[u8; 32]> = ordered.iter().map(|s| sm3_digest(&s.sealed)).collect();
    for (i, d) in digests.iter().enumerate() {
        if let Some(first) = digests[..i].iter().position(|e| e == d) {
            return Err(Refusal::Replayed {
                party: ordered[i].party,
                first: ordered[first].party,
            });
        }
    }

    // Who signed, and is it that department's key.
    let mut members: BTreeMap<u16, u8> = BTreeMap::new();
    for (share, digest) in ordered.iter().zip(&digests) {
        let party = share.party;
        let signer = share.signer;
        let who = signers
            .get(&signer)
            .ok_or(Refusal::UnknownSigner { party, signer })?;
        if who.public_key.key_id() != signer {
            return Err(Refusal::KeyMismatch { party, signer });
        }
        match who.standing {
            KeyStanding::Revoked { at_ms } => {
                return Err(Refusal::RevokedSigner {
                    party,
                    signer,
                    at_ms,
                });
            }
            KeyStanding::Rotated { at_ms } if at_ms < facts.requested_at_ms => {
                return Err(Refusal::RotatedSigner {
                    party,
                    signer,
                    at_ms,
                });
            }
            KeyStanding::Active if !who.department => {
                return Err(Refusal::NotDepartment { party, signer });
            }
            KeyStanding::Active | KeyStanding::Rotated { .. } => {}
        }
        let member = who.member.ok_or(Refusal::NotDepartment { party, signer })?;
        if let Some(recorded) = facts.accessed_by[usize::from(party)]
            && recorded != member
        {
            return Err(Refusal::WrongDepartment {
                party,
                member,
                recorded,
            });
        }
        if let Some(other) =
            (0u8..3).find(|&q| q != party && facts.accessed_by[usize::from(q)] == Some(member))
        {
            return Err(Refusal::OtherDepartment {
                party,
                member,
                other,
            });
        }
        if let Some(first) = members.insert(member, party) {
            return Err(Refusal::SameSigner { party, first });
        }
        let message = share_signature_message(
            &facts.consortium,
            &facts.request,
            party,
            &facts.model,
            digest,
        );
        let verified = Signature::from_bytes(&share.signature)
            .ok()
            .is_some_and(|sig| who.public_key.verify(&message, &sig).is_ok());
        if !verified {
            // Name a share of another request as such when it opens to one.
            if let Ok(plain) = key.decrypt(&share.sealed)
                && let Ok(decoded) = decode(&plain)
                && binding(&decoded).request != facts.request
            {
                return Err(other_request(party, &binding(&decoded), facts));
            }
            return Err(Refusal::BadSignature { party, signer });
        }
    }

    // Open, decode, and check what each share says it answers.
    let mut out = Vec::with_capacity(3);
    let mut first_subjects: Option<(u8, [u8; 32])> = None;
    for share in ordered {
        let party = share.party;
        let plain = key
            .decrypt(&share.sealed)
            .map_err(|e| Refusal::DoesNotOpen {
                party,
                reason: e.to_string(),
            })?;
        let decoded = decode(&plain).map_err(|reason| Refusal::Decode { party, reason })?;
        let bound = binding(&decoded);
        if bound.request != facts.request {
            return Err(other_request(party, &bound, facts));
        }
        if let Some(expected) = subjects
            && bound.subjects != expected
        {
            return Err(Refusal::OtherSubjects {
                party,
                against: "the list this request was made for".into(),
            });
        }
        match first_subjects {
            Some((first, digest)) if digest != bound.subjects => {
                return Err(Refusal::OtherSubjects {
                    party,
                    against: format!("party {first}'s share"),
                });
            }
            Some(_) => {}
            None => first_subjects = Some((party, bound.subjects)),
        }
        out.push(decoded);
    }
    Ok(out)
}

/// The distinct signer key ids of `shares` (to look up on the ledger).
pub fn signer_ids(shares: &[ServedShare]) -> BTreeSet<KeyId> {
    shares.iter().map(|s| s.signer).collect()
}

fn other_request(party: u8, bound: &ShareBinding, facts: &RequestFacts) -> Refusal {
    Refusal::OtherRequest {
        party,
        found: hex::encode(bound.request),
        expected: hex::encode(facts.request),
    }
}

fn hex32(text: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(text, &mut out).ok()?;
    Some(out)
}

#[cfg(test)]
mod tests {
    use weinong_mpc::PartyId;
    use weinong_mpc::model::OutputShare;

    use super::*;

    const REQUEST: [u8; 32] = [0x22; 32];
    const CONSORTIUM: [u8; 32] = [0x33; 32];
    const MODEL: [u8; 32] = [0x44; 32];
    const SUBJECTS: [u8; 32] = [0x55; 32];

    /// Three departments (members 1, 2, 3 playing parties 0, 1, 2), the requester, and a
    /// consortium whose ledger records each department's access.
    struct World {
        departments: Vec<KeyPair>,
        requester: KeyPair,
        signers: BTreeMap<KeyId, SignerFacts>,
        facts: RequestFacts,
    }

    fn world() -> World {
        let departments: Vec<KeyPair> = (0..3).map(|_| KeyPair::generate()).collect();
        let signers = departments
            .iter()
            .enumerate()
            .map(|(i, k)| {
                (
                    k.key_id(),
                    SignerFacts {
                        public_key: k.public_key().clone(),
                        member: Some(u16::try_from(i).unwrap() + 1),
                        standing: KeyStanding::Active,
                        department: true,
                    },
                )
            })
            .collect();
        World {
            departments,
            requester: KeyPair::generate(),
            signers,
            facts: RequestFacts {
                consortium: CONSORTIUM,
                request: REQUEST,
                model: MODEL,
                requested_at_ms: 1_000,
                accessed_by: [Some(1), Some(2), Some(3)],
            },
        }
    }

    /// Party `party`'s share for `request`, sealed to the requester and signed by `signer`
    /// for `signed_request`.
    fn share(
        w: &World,
        party: u8,
        request: [u8; 32],
        signed_request: [u8; 32],
        signer: &KeyPair,
    ) -> ServedShare {
        let share = shares_for(request)[usize::from(party)].clone();
        let sealed = w.requester.public_key().encrypt(&share.to_bytes()).unwrap();
        let message = share_signature_message(
            &CONSORTIUM,
            &signed_request,
            party,
            &MODEL,
            &sm3_digest(&sealed),
        );
        ServedShare {
            party,
            sealed,
            signer: signer.key_id(),
            signature: signer.sign(&message).to_bytes(),
        }
    }

    /// Three additive shares of the value 5 (bound to `request`).
    fn shares_for(request: [u8; 32]) -> Vec<OutputShare> {
        let values = [7u64, 3, 5u64.wrapping_sub(10)];
        (0..3u8)
            .map(|p| {
                let bytes = test_share_bytes(p, values[usize::from(p)], request);
                OutputShare::from_bytes(&bytes).unwrap()
            })
            .collect()
    }

    /// A version-2 share encoding with one subject and one output.
    fn test_share_bytes(party: u8, value: u64, request: [u8; 32]) -> Vec<u8> {
        let mut out = b"WNOS".to_vec();
        out.push(2);
        out.push(party);
        out.extend_from_slice(&MODEL);
        out.extend_from_slice(&request);
        out.extend_from_slice(&SUBJECTS);
        out.extend_from_slice(&1u32.to_be_bytes());
        out.extend_from_slice(&1u32.to_be_bytes());
        out.extend_from_slice(&value.to_be_bytes());
        out
    }

    fn honest(w: &World) -> Vec<ServedShare> {
        (0..3u8)
            .map(|p| share(w, p, REQUEST, REQUEST, &w.departments[usize::from(p)]))
            .collect()
    }

    fn check(w: &World, shares: &[ServedShare]) -> Result<Vec<OutputShare>, Refusal> {
        check_shares(
            shares,
            &w.facts,
            &w.signers,
            &w.requester,
            Some(SUBJECTS),
            |b| OutputShare::from_bytes(b).map_err(|e| e.to_string()),
            OutputShare::binding,
        )
    }

    #[test]
    fn honest_shares_pass_and_sum_to_the_value() {
        let w = world();
        let opened = check(&w, &honest(&w)).expect("honest shares");
        let sum = opened
            .iter()
            .fold(0u64, |a, s| a.wrapping_add(s.columns()[0][0]));
        assert_eq!(sum, 5);
        assert_eq!(opened[1].party(), PartyId::P1);
    }

    #[test]
    fn a_forged_share_is_refused() {
        let w = world();
        let outsider = KeyPair::generate();
        // Valid encryption, signed by a key the ledger does not know.
        let mut shares = honest(&w);
        shares[1] = share(&w, 1, REQUEST, REQUEST, &outsider);
        let err = check(&w, &shares).unwrap_err();
        assert!(
            matches!(err, Refusal::UnknownSigner { party: 1, .. }),
            "{err}"
        );
        assert!(err.to_string().contains("forged"), "{err}");
        // The same, but naming the department's key id: the signature does not verify.
        shares[1].signer = w.departments[1].key_id();
        let err = check(&w, &shares).unwrap_err();
        assert!(
            matches!(err, Refusal::BadSignature { party: 1, .. }),
            "{err}"
        );
        assert!(err.to_string().contains("forged"), "{err}");
        // Another department signing in health's name.
        shares[1] = share(&w, 1, REQUEST, REQUEST, &w.departments[2]);
        let err = check(&w, &shares).unwrap_err();
        assert_eq!(
            err,
            Refusal::WrongDepartment {
                party: 1,
                member: 3,
                recorded: 2
            }
        );
        // With no access recorded for health, a member that recorded insurance's access
        // cannot sign as health.
        let mut w2 = world();
        w2.facts.accessed_by[1] = None;
        let mut shares = honest(&w2);
        shares[1] = share(&w2, 1, REQUEST, REQUEST, &w2.departments[2]);
        let err = check(&w2, &shares).unwrap_err();
        assert_eq!(
            err,
            Refusal::OtherDepartment {
                party: 1,
                member: 3,
                other: 2
            }
        );
        // With no access recorded for either, the same member still cannot sign twice.
        w2.facts.accessed_by[2] = None;
        let mut shares = honest(&w2);
        shares[1] = share(&w2, 1, REQUEST, REQUEST, &w2.departments[2]);
        let err = check(&w2, &shares).unwrap_err();
        assert!(matches!(err, Refusal::SameSigner { .. }), "{err}");
    }

    #[test]
    fn a_share_of_another_request_is_refused() {
        let w = world();
        let other = [0x99; 32];
        // Request A's genuine share, served for request B.
        let mut shares = honest(&w);
        shares[2] = share(&w, 2, other, other, &w.departments[2]);
        let err = check(&w, &shares).unwrap_err();
        assert_eq!(
            err,
            Refusal::OtherRequest {
                party: 2,
                found: hex::encode(other),
                expected: hex::encode(REQUEST)
            }
        );
        assert!(err.to_string().contains("another request"), "{err}");
        // A department signing, for this request, a share it made for another.
        shares[2] = share(&w, 2, other, REQUEST, &w.departments[2]);
        let err = check(&w, &shares).unwrap_err();
        assert!(
            matches!(err, Refusal::OtherRequest { party: 2, .. }),
            "{err}"
        );
    }

    #[test]
    fn a_replayed_or_duplicate_share_is_refused() {
        let w = world();
        let mut shares = honest(&w);
        // Party 0's share served again in party 2's place.
        shares[2] = ServedShare {
            party: 2,
            ..shares[0].clone()
        };
        let err = check(&w, &shares).unwrap_err();
        assert_eq!(err, Refusal::Replayed { party: 2, first: 0 });
        assert!(err.to_string().contains("replayed"), "{err}");
        // The same party twice.
        let mut shares = honest(&w);
        shares[2] = shares[0].clone();
        let err = check(&w, &shares).unwrap_err();
        assert_eq!(err, Refusal::DuplicateParty { party: 0 });
        // Two of three.
        let err = check(&w, &honest(&w)[..2]).unwrap_err();
        assert!(matches!(err, Refusal::Count { .. }), "{err}");
    }

    #[test]
    fn a_share_signed_by_a_revoked_or_non_department_key_is_refused() {
        let mut w = world();
        let id = w.departments[0].key_id();
        w.signers.get_mut(&id).unwrap().standing = KeyStanding::Revoked { at_ms: 5_000 };
        let err = check(&w, &honest(&w)).unwrap_err();
        assert!(
            matches!(
                err,
                Refusal::RevokedSigner {
                    party: 0,
                    at_ms: 5_000,
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("revoked"), "{err}");
        // Rotated after the request: still that department's key then.
        w.signers.get_mut(&id).unwrap().standing = KeyStanding::Rotated { at_ms: 5_000 };
        check(&w, &honest(&w)).expect("rotated after the request");
        // Rotated before it: not.
        w.signers.get_mut(&id).unwrap().standing = KeyStanding::Rotated { at_ms: 500 };
        let err = check(&w, &honest(&w)).unwrap_err();
        assert!(
            matches!(err, Refusal::RotatedSigner { party: 0, .. }),
            "{err}"
        );
        // An active key without the department role.
        let facts = w.signers.get_mut(&id).unwrap();
        facts.standing = KeyStanding::Active;
        facts.department = false;
        let err = check(&w, &honest(&w)).unwrap_err();
        assert!(
            matches!(err, Refusal::NotDepartment { party: 0, .. }),
            "{err}"
        );
        // A served public key that is not the key id.
        let facts = w.signers.get_mut(&id).unwrap();
        facts.department = true;
        facts.public_key = KeyPair::generate().public_key().clone();
        let err = check(&w, &honest(&w)).unwrap_err();
        assert!(
            matches!(err, Refusal::KeyMismatch { party: 0, .. }),
            "{err}"
        );
    }

    #[test]
    fn a_share_over_other_subjects_is_refused() {
        let w = world();
        let err = check_shares(
            &honest(&w),
            &w.facts,
            &w.signers,
            &w.requester,
            Some([0x56; 32]),
            |b| OutputShare::from_bytes(b).map_err(|e| e.to_string()),
            OutputShare::binding,
        )
        .unwrap_err();
        assert!(
            matches!(err, Refusal::OtherSubjects { party: 0, .. }),
            "{err}"
        );
    }

    #[test]
    fn served_json_is_read_or_refused_by_name() {
        let w = world();
        let s = &honest(&w)[0];
        let v = SealedShareBody {
            party: 0,
            sealed: base64::engine::general_purpose::STANDARD.encode(&s.sealed),
            signer: s.signer.to_hex(),
            signature: hex::encode(s.signature),
        };
        let back = ServedShare::from_body(&v).unwrap();
        assert_eq!(back.sealed, s.sealed);
        // A node of an older build served no signer and no signature.
        let old: SealedShareBody = serde_json::from_value(serde_json::json!({
            "party": 0, "sealed": v.sealed,
        }))
        .unwrap();
        let err = ServedShare::from_body(&old).unwrap_err();
        assert!(err.to_string().contains("signer"), "{err}");
    }

    #[test]
    fn facts_come_from_the_history() {
        let history: HistoryBody = serde_json::from_value(serde_json::json!({
            "request": hex::encode(REQUEST),
            "status": "requested",
            "requester": hex::encode([0x55; 32]),
            "model": hex::encode([0x44; 32]),
            "purpose": "admission assessment",
            "deadline_ms": 1000,
            "events": [
                { "event": "requested", "height": 1, "time_ms": 77 },
                { "event": "accessed", "height": 2, "time_ms": 78, "node": 3, "categories": ["vital signs"] },
                { "event": "accessed", "height": 3, "time_ms": 79, "node": 1, "categories": ["insurance claims"] },
            ]
        }))
        .unwrap();
        let facts = RequestFacts::from_history(CONSORTIUM, REQUEST, &history).unwrap();
        assert_eq!(facts.requested_at_ms, 77);
        assert_eq!(facts.accessed_by, [None, Some(3), Some(1)]);
        assert_eq!(facts.model, MODEL);
    }
}
