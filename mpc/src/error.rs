//! The engine's typed errors. Every variant names the peer or the operands involved so a
//! log line says what to fix; none carries share values or key material.

use crate::PartyId;

/// An error of the MPC engine or one of its transports.
#[derive(Debug, thiserror::Error)]
pub enum MpcError {
    /// Two operands of one operation have different lengths.
    #[error("length mismatch in {op}: {left} vs {right} elements")]
    LengthMismatch {
        /// The operation.
        op: &'static str,
        /// The first operand's length.
        left: usize,
        /// The second operand's length.
        right: usize,
    },
    /// A peer's frame has another length than this party expects: the parties disagree on
    /// a vector length (or the peer is broken).
    #[error(
        "frame from {peer} holds {found} words but {expected} were expected; \
         the parties disagree on a batch length"
    )]
    FrameLength {
        /// The sender.
        peer: PartyId,
        /// Words this party expected.
        expected: u64,
        /// Words the frame announced.
        found: u64,
    },
    /// The neighbour closed its channel (it stopped, crashed or hit an error itself).
    #[error("{peer} closed the channel mid-session")]
    PeerClosed {
        /// The neighbour.
        peer: PartyId,
    },
    /// No frame arrived in time.
    #[error("no frame from {peer} within {waited_ms} ms; is the peer running?")]
    Timeout {
        /// The neighbour.
        peer: PartyId,
        /// How long this party waited.
        waited_ms: u64,
    },
    /// A frame is not a valid frame of this protocol version.
    #[error("malformed frame from {peer}: {reason}")]
    Malformed {
        /// The sender.
        peer: PartyId,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A frame's authentication tag does not verify under the session's link key.
    #[error("frame from {peer} failed authentication (wrong session key or tampered frame)")]
    BadTag {
        /// The claimed sender.
        peer: PartyId,
    },
    /// A frame arrived out of order (a replay or a lost frame).
    #[error("frame from {peer} has sequence number {found}, expected {expected}")]
    OutOfOrder {
        /// The sender.
        peer: PartyId,
        /// The expected sequence number.
        expected: u64,
        /// The sequence number found.
        found: u64,
    },
    /// One call asked for more elements than [`crate::limits::BATCH_LEN_MAX`].
    #[error("batch of {len} elements exceeds the limit of {max}; split it")]
    BatchTooLarge {
        /// The requested length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The owner of an input did not pass its values, or another party did.
    #[error("input from {owner}: {party} {problem}")]
    InputOwnership {
        /// The owner named in the call.
        owner: PartyId,
        /// The calling party.
        party: PartyId,
        /// What is wrong.
        problem: &'static str,
    },
    /// A party index outside 0..3.
    #[error("party index {index} is not 0, 1 or 2")]
    BadPartyIndex {
        /// The index given.
        index: u8,
    },
    /// A range-lookup table is not well formed.
    #[error("range table invalid: {reason}")]
    BadRangeTable {
        /// What is wrong.
        reason: &'static str,
    },
    /// A shift or truncation amount outside 1..=63.
    #[error("shift of {bits} bits is outside 1..=63")]
    BadShift {
        /// The amount given.
        bits: u32,
    },
    /// A value cannot be encoded in fixed point.
    #[error("{value} does not fit the fixed-point range with {frac_bits} fractional bits")]
    FixedPointRange {
        /// The value (a public constant, never a secret).
        value: f64,
        /// The fractional bits.
        frac_bits: u32,
    },
    /// Transport I/O with a peer failed.
    #[error("I/O with {peer} failed: {source}")]
    Io {
        /// The neighbour.
        peer: PartyId,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// Setting up a session failed (binding, connecting, the handshake).
    #[error("session setup failed: {reason}")]
    Setup {
        /// What failed.
        reason: String,
    },
    /// The operating system's random source failed.
    #[error("the OS random source failed: {0}")]
    Random(getrandom::Error),
    /// A party's thread panicked (a bug in the engine or in the closure).
    #[error("{party}'s thread panicked")]
    PartyPanicked {
        /// The party.
        party: PartyId,
    },
}
