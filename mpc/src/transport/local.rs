//! In-process transport: bounded channels between three threads. Frames move as owned
//! vectors, so a round costs no copy; used by tests, benchmarks and `weinong mpc selftest`.

use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError, sync_channel};
use std::time::{Duration, Instant};

use crate::limits::SEND_QUEUE_FRAMES;
use crate::transport::{Peer, Transport, check_frame_words};
use crate::{MpcError, PartyId};

/// One frame on an in-process channel.
pub struct LocalFrame {
    /// Sender's sequence number on this direction, from 0.
    pub seq: u64,
    /// The body.
    pub words: Vec<u64>,
}

/// One party's end of the in-process ring.
pub struct LocalTransport {
    me: PartyId,
    to_next: SyncSender<LocalFrame>,
    to_prev: SyncSender<LocalFrame>,
    from_next: Receiver<LocalFrame>,
    from_prev: Receiver<LocalFrame>,
    /// Sequence numbers: [sent to next, sent to prev, received from next, from prev].
    seq: [u64; 4],
    timeout: Duration,
}

impl LocalTransport {
    /// The three connected ends of a fresh in-process ring, indexed by party.
    pub fn triple(timeout: Duration) -> [LocalTransport; 3] {
        // forward[i]: P_i -> P_{i+1}; backward[i]: P_i -> P_{i-1}.
        let (f0, rf0) = sync_channel(SEND_QUEUE_FRAMES);
        let (f1, rf1) = sync_channel(SEND_QUEUE_FRAMES);
        let (f2, rf2) = sync_channel(SEND_QUEUE_FRAMES);
        let (b0, rb0) = sync_channel(SEND_QUEUE_FRAMES);
        let (b1, rb1) = sync_channel(SEND_QUEUE_FRAMES);
        let (b2, rb2) = sync_channel(SEND_QUEUE_FRAMES);
        let make = |me, to_next, to_prev, from_next, from_prev| LocalTransport {
            me,
            to_next,
            to_prev,
            from_next,
            from_prev,
            seq: [0; 4],
            timeout,
        };
        // P0 receives from next (P1) what P1 sends backward, from prev (P2) what P2 sends forward.
        [
            make(PartyId::P0, f0, b0, rb1, rf2),
            make(PartyId::P1, f1, b1, rb2, rf0),
            make(PartyId::P2, f2, b2, rb0, rf1),
        ]
    }

    /// Sends a frame with an explicit sequence number and body, bypassing the checks a
    /// correct sender makes. For fault-injection tests only.
    pub fn send_raw(&mut self, to: Peer, frame: LocalFrame) -> Result<(), MpcError> {
        self.push(to, frame)
    }

    fn push(&mut self, to: Peer, frame: LocalFrame) -> Result<(), MpcError> {
        let peer = to.of(self.me);
        let channel = match to {
            Peer::Next => &self.to_next,
            Peer::Prev => &self.to_prev,
        };
        // A bounded queue with a deadline: a correct peer drains it within a round, a
        // stuck one turns into a Timeout instead of blocking this party forever.
        let deadline = Instant::now() + self.timeout;
        let mut frame = frame;
        loop {
            match channel.try_send(frame) {
                Ok(()) => return Ok(()),
                Err(TrySendError::Disconnected(_)) => return Err(MpcError::PeerClosed { peer }),
                Err(TrySendError::Full(back)) => {
                    if Instant::now() >= deadline {
                        return Err(MpcError::Timeout {
                            peer,
                            waited_ms: millis(self.timeout),
                        });
                    }
                    frame = back;
                    std::thread::sleep(Duration::from_micros(200));
                }
            }
        }
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl Transport for LocalTransport {
    fn party(&self) -> PartyId {
        self.me
    }

    fn send(&mut self, to: Peer, words: &[u64]) -> Result<(), MpcError> {
        let slot = match to {
            Peer::Next => 0,
            Peer::Prev => 1,
        };
        let seq = self.seq[slot];
        self.seq[slot] = seq.wrapping_add(1);
        self.push(
            to,
            LocalFrame {
                seq,
                words: words.to_vec(),
            },
        )
    }

    fn recv(&mut self, from: Peer, len: usize) -> Result<Vec<u64>, MpcError> {
        let peer = from.of(self.me);
        let (channel, slot) = match from {
            Peer::Next => (&self.from_next, 2),
            Peer::Prev => (&self.from_prev, 3),
        };
        let frame = match channel.recv_timeout(self.timeout) {
            Ok(frame) => frame,
            Err(RecvTimeoutError::Timeout) => {
                return Err(MpcError::Timeout {
                    peer,
                    waited_ms: millis(self.timeout),
                });
            }
            Err(RecvTimeoutError::Disconnected) => return Err(MpcError::PeerClosed { peer }),
        };
        let expected_seq = self.seq[slot];
        if frame.seq != expected_seq {
            return Err(MpcError::OutOfOrder {
                peer,
                expected: expected_seq,
                found: frame.seq,
            });
        }
        self.seq[slot] = expected_seq.wrapping_add(1);
        check_frame_words(peer, frame.words.len() as u64, len)?;
        Ok(frame.words)
    }
}
