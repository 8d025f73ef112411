//! Session identity and the pairwise secrets the three parties agree on before a session.
//!
//! Each pair of parties (P_i, P_{i+1}) shares one [`PairSecret`] that the third party never
//! sees. From it, and the public [`SessionId`], both ends derive with HMAC-SM3:
//! the seed of their common PRG (zero sharing, input masks) and one MAC key per direction
//! for the TCP transport. A fresh session id gives fresh streams and keys, so two sessions
//! never reuse a keystream. How the pair secrets are agreed (an SM2 key exchange over the
//! node's authenticated libp2p channel, or a dealer in tests) is not this crate's concern.

use std::fmt;

use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::{MpcError, PartyId};

/// 32 bytes from the operating system's generator.
fn random_32() -> Result<[u8; 32], MpcError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(MpcError::Random)?;
    Ok(bytes)
}

/// The public identifier of one MPC session (32 random bytes, chosen by the requester).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SessionId([u8; 32]);

impl SessionId {
    /// A session id from its bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> SessionId {
        SessionId(bytes)
    }

    /// The bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// A fresh random session id.
    pub fn random() -> Result<SessionId, MpcError> {
        random_32().map(SessionId)
    }
}

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SessionId({})", hex::encode(self.0))
    }
}

/// A 32-byte secret shared by exactly two parties of a session.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct PairSecret([u8; 32]);

impl PairSecret {
    /// A pair secret from its bytes (as agreed by a key exchange).
    pub fn from_bytes(bytes: [u8; 32]) -> PairSecret {
        PairSecret(bytes)
    }

    /// A fresh random pair secret (a dealer's choice, for tests and single-host runs).
    pub fn random() -> Result<PairSecret, MpcError> {
        random_32().map(PairSecret)
    }

    /// Derives a labelled 32-byte key for this pair in `session`:
    /// HMAC-SM3(secret, "weinong-mpc/v1/" ‖ label ‖ session id ‖ extra).
    pub(crate) fn derive(&self, label: &[u8], session: &SessionId, extra: &[u8]) -> DerivedKey {
        let mut data = Vec::with_capacity(15 + label.len() + 32 + extra.len());
        data.extend_from_slice(b"weinong-mpc/v1/");
        data.extend_from_slice(label);
        data.extend_from_slice(session.as_bytes());
        data.extend_from_slice(extra);
        DerivedKey(weinong_keys::hmac_sm3(&self.0, &data))
    }
}

impl fmt::Debug for PairSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PairSecret(<redacted>)")
    }
}

/// A key derived from a pair secret (PRG seed or MAC key); zeroized on drop.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub(crate) struct DerivedKey(pub(crate) [u8; 32]);

/// The two pair secrets one party holds: with its previous and with its next neighbour.
#[derive(Clone, Debug)]
pub struct PartySecrets {
    /// Shared with P_{i-1}.
    pub with_prev: PairSecret,
    /// Shared with P_{i+1}.
    pub with_next: PairSecret,
}

impl PartySecrets {
    /// A dealer's fresh secrets for all three parties, indexed by party: P_i's `with_next`
    /// equals P_{i+1}'s `with_prev`. For tests and single-host runs only; a deployment
    /// agrees each pair secret between the two parties alone.
    pub fn deal() -> Result<[PartySecrets; 3], MpcError> {
        // pair[i] is shared by P_i and P_{i+1}.
        let pair = [
            PairSecret::random()?,
            PairSecret::random()?,
            PairSecret::random()?,
        ];
        Ok(PartyId::ALL.map(|p| PartySecrets {
            with_prev: pair[p.prev().index()].clone(),
            with_next: pair[p.index()].clone(),
        }))
    }
}
