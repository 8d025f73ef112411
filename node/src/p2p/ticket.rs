//! Request tickets: what lets a peer's request past its first bytes.
//!
//! The request-response codec reads a request before the task learns which peer sent it,
//! so without more, any connection (authenticated or not) could make the node buffer a
//! message of `max_message_bytes`. When this node accepts a peer's identity binding it
//! issues that peer a random ticket (in [`super::HelloAck::Accepted`]); the peer puts it in
//! front of every request it sends here. The codec reads the [`TICKET_BYTES`] bytes first
//! and refuses the stream unless the ticket is one this node issued and has not revoked:
//! an unauthenticated connection makes the node read 16 bytes per stream, never a body.
//! The task then checks that the ticket belongs to the very peer the request came from.
//!
//! Tickets are not credentials beyond this node and this connection's lifetime: they are
//! revoked when the peer disconnects or loses admission, and a new hello issues a new one.
//!
//! Must not know: keys, the ledger, or what requests mean.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use libp2p::PeerId;
use serde::{Deserialize, Serialize};

/// Length of a ticket in bytes.
pub const TICKET_BYTES: usize = 16;

/// A random value this node gave one authenticated peer.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Ticket(pub [u8; TICKET_BYTES]);

impl std::fmt::Debug for Ticket {
    // Tickets gate reads; keep them out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Ticket(..)")
    }
}

impl Ticket {
    /// A fresh ticket from the OS random source; `None` if it cannot be read.
    fn random() -> Option<Ticket> {
        let mut bytes = [0u8; TICKET_BYTES];
        getrandom::fill(&mut bytes).ok()?;
        Some(Ticket(bytes))
    }
}

/// The tickets this node issued, shared by the swarm task (which issues and revokes them)
/// and every codec instance (which checks them).
#[derive(Clone, Default)]
pub struct TicketBook {
    issued: Arc<RwLock<HashMap<Ticket, PeerId>>>,
}

impl TicketBook {
    /// Issues a ticket to `peer`, replacing any it held; `None` if no randomness.
    pub fn issue(&self, peer: PeerId) -> Option<Ticket> {
        let ticket = Ticket::random()?;
        let mut issued = self.issued.write().ok()?;
        issued.retain(|_, p| *p != peer);
        issued.insert(ticket, peer);
        Some(ticket)
    }

    /// Revokes every ticket of `peer`.
    pub fn revoke(&self, peer: &PeerId) {
        if let Ok(mut issued) = self.issued.write() {
            issued.retain(|_, p| p != peer);
        }
    }

    /// The peer `ticket` was issued to, if it is valid.
    pub fn holder(&self, ticket: &Ticket) -> Option<PeerId> {
        self.issued.read().ok()?.get(ticket).copied()
    }

    /// Tickets currently valid.
    pub fn len(&self) -> usize {
        self.issued.read().map(|i| i.len()).unwrap_or(0)
    }

    /// Whether no ticket is valid.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tickets_are_per_peer_and_revocable() {
        let book = TicketBook::default();
        let (a, b) = (PeerId::random(), PeerId::random());
        let ta = book.issue(a).expect("random");
        let tb = book.issue(b).expect("random");
        assert_ne!(ta, tb);
        assert_eq!(book.holder(&ta), Some(a));
        assert_eq!(book.holder(&tb), Some(b));
        // A new hello replaces the old ticket.
        let ta2 = book.issue(a).expect("random");
        assert_eq!(book.holder(&ta), None);
        assert_eq!(book.holder(&ta2), Some(a));
        book.revoke(&a);
        assert_eq!(book.holder(&ta2), None);
        assert_eq!(book.len(), 1);
        assert_eq!(book.holder(&Ticket([0; TICKET_BYTES])), None);
        assert_eq!(format!("{ta:?}"), "Ticket(..)");
    }
}
