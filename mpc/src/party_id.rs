//! The three positions in a session: P0, P1, P2, arranged in a ring. P_i holds the
//! replicated components i and i+1 (mod 3) of every sharing; its *next* neighbour is P_{i+1}
//! and its *previous* one P_{i-1}.

use std::fmt;

use crate::MpcError;

/// One of the three parties of a session.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PartyId(u8);

impl PartyId {
    /// Party 0.
    pub const P0: PartyId = PartyId(0);
    /// Party 1.
    pub const P1: PartyId = PartyId(1);
    /// Party 2.
    pub const P2: PartyId = PartyId(2);
    /// All parties in ring order.
    pub const ALL: [PartyId; 3] = [PartyId::P0, PartyId::P1, PartyId::P2];

    /// The party with index `index` (0, 1 or 2).
    pub fn new(index: u8) -> Result<PartyId, MpcError> {
        if index < 3 {
            Ok(PartyId(index))
        } else {
            Err(MpcError::BadPartyIndex { index })
        }
    }

    /// The index 0, 1 or 2.
    pub fn index(self) -> usize {
        usize::from(self.0)
    }

    /// The index as a byte (for key derivation and wire headers).
    pub fn as_u8(self) -> u8 {
        self.0
    }

    /// The next party in the ring, P_{i+1}.
    pub fn next(self) -> PartyId {
        PartyId((self.0 + 1) % 3)
    }

    /// The previous party in the ring, P_{i-1}.
    pub fn prev(self) -> PartyId {
        PartyId((self.0 + 2) % 3)
    }
}

impl fmt::Display for PartyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "P{}", self.0)
    }
}
