//! The identity binding: a member's SM2 ledger key vouching for its libp2p peer id.
//!
//! Noise authenticates the libp2p identity (ed25519) of each connection; the binding ties
//! that identity to a ledger key: `SM2-sign(member key, BINDING_DOMAIN ‖ consortium ‖
//! peer id bytes)`. A verifier accepts a binding only when the signature verifies, the
//! peer id it names is the connection's Noise-authenticated one (so a copied binding is
//! useless without the matching ed25519 secret), the ledger admits the key id and the
//! ledger's key for that id is the presented key.
//!
//! Must not know: swarm events or connections; this is pure data and checks.

use libp2p::PeerId;
use serde::{Deserialize, Serialize};
use weinong_keys::{KeyId, KeyPair, PublicKey, Signature};
use weinong_ledger::Hash32;

use super::PeerAuthority;
use super::codec::Oversized;
use super::error::{BindingFault, Refusal};
use super::ticket::Ticket;

/// Domain separation for binding signatures: never valid as any other signed message.
pub const BINDING_DOMAIN: &[u8] = b"weinong-p2p-binding-v1";

/// What a peer presents on the hello protocol. Public data only.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Binding {
    /// The member's SM2 public key, 65-byte uncompressed SEC1.
    pub public_key: Vec<u8>,
    /// The libp2p peer id the key vouches for (its multihash bytes).
    pub peer_id: Vec<u8>,
    /// SM2 signature `r‖s` (64 bytes) over [`binding_message`].
    pub signature: Vec<u8>,
}

/// The answer to a [`Binding`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum HelloAck {
    /// The binding was accepted: requests and streams from this connection are delivered.
    /// Every request the peer sends here starts with this ticket ([`super::ticket`]).
    Accepted {
        /// The ticket this node issued to the peer.
        ticket: Ticket,
    },
    /// The binding was refused; the refusing side closes the connection.
    Refused(Refusal),
}

impl Oversized for HelloAck {
    fn oversized(len: u64, max: u64) -> Self {
        Self::Refused(Refusal::ResponseTooLarge { len, max })
    }
}

/// The signed bytes: domain ‖ consortium (32 bytes) ‖ peer id bytes. The peer id comes last,
/// after fixed-length fields, so the concatenation is unambiguous.
pub fn binding_message(consortium: &Hash32, peer_id: &[u8]) -> Vec<u8> {
    let mut message = Vec::with_capacity(BINDING_DOMAIN.len() + 32 + peer_id.len());
    message.extend_from_slice(BINDING_DOMAIN);
    message.extend_from_slice(consortium.as_bytes());
    message.extend_from_slice(peer_id);
    message
}

impl Binding {
    /// Binds `peer` to `key` within `consortium`.
    pub fn sign(key: &KeyPair, consortium: &Hash32, peer: &PeerId) -> Self {
        let peer_id = peer.to_bytes();
        let signature = key.sign(&binding_message(consortium, &peer_id));
        Self {
            public_key: key.public_key().to_sec1_bytes(),
            peer_id,
            signature: signature.to_bytes().to_vec(),
        }
    }

    /// Checks this binding for a connection whose Noise-authenticated peer id is `remote`;
    /// returns the ledger key id it proves.
    pub fn verify(
        &self,
        consortium: &Hash32,
        remote: &PeerId,
        authority: &dyn PeerAuthority,
    ) -> Result<KeyId, Refusal> {
        let fault = Refusal::Binding;
        let key = PublicKey::from_sec1_bytes(&self.public_key)
            .map_err(|_| fault(BindingFault::MalformedKey))?;
        if self.peer_id != remote.to_bytes() {
            return Err(fault(BindingFault::PeerIdMismatch));
        }
        let signature = Signature::from_bytes(&self.signature)
            .map_err(|_| fault(BindingFault::MalformedSignature))?;
        // Membership before the SM2 verification: a stranger costs a hash and a map
        // look-up, not a signature check.
        let key_id = key.key_id();
        if !authority.admits(&key_id) {
            return Err(Refusal::NotAdmitted);
        }
        match authority.public_key(&key_id) {
            Some(ledger_key) if ledger_key == key => {}
            _ => return Err(fault(BindingFault::KeyMismatch)),
        }
        key.verify(&binding_message(consortium, &self.peer_id), &signature)
            .map_err(|_| fault(BindingFault::BadSignature))?;
        Ok(key_id)
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests_support::FixedAuthority;
    use super::*;

    struct Case {
        name: &'static str,
        mutate: fn(&mut Binding, &Fixture),
        expected: Result<(), Refusal>,
    }

    struct Fixture {
        member: KeyPair,
        stranger: KeyPair,
        consortium: Hash32,
        peer: PeerId,
        other_peer: PeerId,
    }

    fn fixture() -> Fixture {
        Fixture {
            member: KeyPair::generate(),
            stranger: KeyPair::generate(),
            consortium: Hash32([7; 32]),
            peer: libp2p::identity::Keypair::generate_ed25519()
                .public()
                .to_peer_id(),
            other_peer: libp2p::identity::Keypair::generate_ed25519()
                .public()
                .to_peer_id(),
        }
    }

    fn check(case: &Case) {
        let f = fixture();
        let authority = FixedAuthority::new([f.member.public_key().clone()]);
        let mut binding = Binding::sign(&f.member, &f.consortium, &f.peer);
        (case.mutate)(&mut binding, &f);
        let got = binding
            .verify(&f.consortium, &f.peer, &authority)
            .map(|key_id| assert_eq!(key_id, f.member.key_id(), "{}", case.name));
        assert_eq!(got, case.expected, "{}", case.name);
    }

    #[test]
    fn binding_checks() {
        let cases = [
            Case {
                name: "honest binding",
                mutate: |_, _| {},
                expected: Ok(()),
            },
            Case {
                name: "binding made for another peer id (copied from a member)",
                mutate: |b, f| *b = Binding::sign(&f.member, &f.consortium, &f.other_peer),
                expected: Err(Refusal::Binding(BindingFault::PeerIdMismatch)),
            },
            Case {
                name: "peer id rewritten, signature kept",
                mutate: |b, f| b.peer_id = f.other_peer.to_bytes(),
                expected: Err(Refusal::Binding(BindingFault::PeerIdMismatch)),
            },
            Case {
                name: "signed for another consortium",
                mutate: |b, f| *b = Binding::sign(&f.member, &Hash32([8; 32]), &f.peer),
                expected: Err(Refusal::Binding(BindingFault::BadSignature)),
            },
            Case {
                name: "one signature bit flipped",
                mutate: |b, _| b.signature[10] ^= 0x01,
                expected: Err(Refusal::Binding(BindingFault::BadSignature)),
            },
            Case {
                name: "member's key with a stranger's signature",
                mutate: |b, f| {
                    b.signature = Binding::sign(&f.stranger, &f.consortium, &f.peer).signature
                },
                expected: Err(Refusal::Binding(BindingFault::BadSignature)),
            },
            Case {
                name: "stranger's own valid binding",
                mutate: |b, f| *b = Binding::sign(&f.stranger, &f.consortium, &f.peer),
                expected: Err(Refusal::NotAdmitted),
            },
            Case {
                // Refused by membership before any SM2 work: the bad signature is not
                // even looked at.
                name: "stranger's binding with a bad signature",
                mutate: |b, f| {
                    *b = Binding::sign(&f.stranger, &f.consortium, &f.peer);
                    b.signature[10] ^= 0x01;
                },
                expected: Err(Refusal::NotAdmitted),
            },
            Case {
                name: "truncated key",
                mutate: |b, _| b.public_key.truncate(20),
                expected: Err(Refusal::Binding(BindingFault::MalformedKey)),
            },
            Case {
                name: "short signature",
                mutate: |b, _| b.signature.truncate(63),
                expected: Err(Refusal::Binding(BindingFault::MalformedSignature)),
            },
        ];
        for case in &cases {
            check(case);
        }
    }

    /// The ledger lists the key id with another key: the binding is refused even though
    /// its own signature verifies.
    #[test]
    fn ledger_key_must_equal_presented_key() {
        let f = fixture();
        let authority = FixedAuthority::new([f.member.public_key().clone()])
            .with_key_override(f.member.key_id(), f.stranger.public_key().clone());
        let binding = Binding::sign(&f.member, &f.consortium, &f.peer);
        assert_eq!(
            binding.verify(&f.consortium, &f.peer, &authority),
            Err(Refusal::Binding(BindingFault::KeyMismatch))
        );
    }
}
