//! The [`Transport`] seam: how a party's round messages reach its two neighbours.
//!
//! A protocol round sends at most one frame (a vector of `u64` words) to each neighbour and
//! receives at most one from each. Frames carry a per-direction sequence number; receivers
//! check it and the announced length before they look at the body, and every receive is
//! bounded by a time-out. Implementations: [`local`] (in-process channels) and [`tcp`]
//! (TCP with HMAC-SM3 framing). The node will add libp2p streams behind the same trait.

pub mod local;
pub mod tcp;

use crate::limits::FRAME_WORDS_MAX;
use crate::{MpcError, PartyId};

/// A neighbour in the ring, relative to the calling party.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Peer {
    /// P_{i+1}.
    Next,
    /// P_{i-1}.
    Prev,
}

impl Peer {
    /// The absolute id of this neighbour of `me`.
    pub fn of(self, me: PartyId) -> PartyId {
        match self {
            Peer::Next => me.next(),
            Peer::Prev => me.prev(),
        }
    }
}

/// Checks a received frame's word count before its body is used: past [`FRAME_WORDS_MAX`]
/// the frame is malformed, otherwise it must be the `len` words the round expects.
pub(crate) fn check_frame_words(peer: PartyId, found: u64, len: usize) -> Result<(), MpcError> {
    let expected = len as u64;
    if found > FRAME_WORDS_MAX as u64 {
        Err(MpcError::Malformed {
            peer,
            reason: "frame exceeds FRAME_WORDS_MAX",
        })
    } else if found != expected {
        Err(MpcError::FrameLength {
            peer,
            expected,
            found,
        })
    } else {
        Ok(())
    }
}

/// Delivers round messages between one party and its two neighbours.
pub trait Transport: Send {
    /// The party this transport belongs to.
    fn party(&self) -> PartyId;

    /// Sends one frame to a neighbour. Fails with `PeerClosed`/`Io` if the neighbour is gone.
    /// Takes a slice because every protocol keeps what it sends as part of its own shares.
    fn send(&mut self, to: Peer, words: &[u64]) -> Result<(), MpcError>;

    /// Receives the next frame from a neighbour, which must hold exactly `len` words.
    /// Fails with `FrameLength`, `Malformed`, `BadTag`, `OutOfOrder`, `PeerClosed` or
    /// `Timeout`; never blocks longer than the transport's time-out.
    fn recv(&mut self, from: Peer, len: usize) -> Result<Vec<u64>, MpcError>;
}
