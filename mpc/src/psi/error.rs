//! Typed PSI errors. Each names the file, line, column, phase or frame involved so the
//! message says what to fix. None ever carries an identifier, a point or key material: a
//! rejected row is named by its line number and the reason only.

use std::io;
use std::path::PathBuf;

/// An error of a PSI run: bad input, a misbehaving or vanished peer, or local I/O.
#[derive(Debug, thiserror::Error)]
pub enum PsiError {
    /// The input file could not be opened or read.
    #[error("cannot read input {path}: {source}")]
    InputRead {
        /// The input file.
        path: PathBuf,
        /// The operating system's reason.
        source: io::Error,
    },
    /// The input file is empty: no header line at all.
    #[error("input {path} is empty: expected a CSV header line naming the identifier column")]
    EmptyInput {
        /// The input file.
        path: PathBuf,
    },
    /// The header has no column of the requested name.
    #[error("input {path} has no column {column:?}; its columns are {found:?}")]
    MissingColumn {
        /// The input file.
        path: PathBuf,
        /// The column asked for.
        column: String,
        /// The header's column names.
        found: Vec<String>,
    },
    /// A row could not be parsed as CSV (wrong field count, bad quoting, not UTF-8).
    #[error("input {path} line {line}: malformed CSV row ({reason}); fix or remove the row")]
    MalformedRow {
        /// The input file.
        path: PathBuf,
        /// The 1-based line number.
        line: u64,
        /// The CSV parser's reason (it never quotes the row's content).
        reason: String,
    },
    /// The header is there but no data row follows.
    #[error("input {path} has a header but no data rows")]
    NoRows {
        /// The input file.
        path: PathBuf,
    },
    /// Every row was rejected by the identifier check.
    #[error("input {path}: none of its {invalid} rows holds a valid identifier")]
    NoValidIdentifiers {
        /// The input file.
        path: PathBuf,
        /// Rows rejected.
        invalid: u64,
    },
    /// The input has more rows than [`super::limits::INPUT_ROWS_MAX`].
    #[error("input {path} has more than {max} rows; split it")]
    TooManyRows {
        /// The input file.
        path: PathBuf,
        /// The limit.
        max: u64,
    },
    /// An in-memory identifier list is unusable.
    #[error("invalid identifier list: {0}")]
    InvalidList(String),
    /// Writing the result failed.
    #[error("cannot write the PSI result: {0}")]
    OutputWrite(#[source] io::Error),
    /// The operating system refused randomness for the secret scalar.
    #[error("no randomness for the blinding scalar: {0}")]
    Randomness(String),
    /// Listening, accepting or connecting failed.
    #[error("cannot {action} {addr}: {source}")]
    Connect {
        /// What was attempted ("connect to", "listen on", "accept on").
        action: &'static str,
        /// The address.
        addr: String,
        /// The operating system's reason.
        source: io::Error,
    },
    /// A connection came from another host than the configured peer.
    #[error("refused a connection from {found}: the configured peer is {expected}")]
    UnexpectedPeer {
        /// The configured peer address.
        expected: String,
        /// Where the connection came from.
        found: String,
    },
    /// The peer closed the connection before the protocol was over.
    #[error("the peer disconnected during {phase}; check the peer's own error message")]
    PeerClosed {
        /// What this party was doing.
        phase: &'static str,
    },
    /// The peer reported an error of its own and stopped.
    #[error("the peer aborted: {reason}")]
    PeerAborted {
        /// The peer's message.
        reason: String,
    },
    /// No frame arrived within the I/O time-out.
    #[error("no data from the peer for {waited_ms} ms during {phase}; is the peer running?")]
    Timeout {
        /// What this party was doing.
        phase: &'static str,
        /// How long it waited.
        waited_ms: u64,
    },
    /// A network read or write failed for another reason.
    #[error("network error during {phase}: {source}")]
    Network {
        /// What this party was doing.
        phase: &'static str,
        /// The operating system's reason.
        source: io::Error,
    },
    /// The peer announced a frame longer than [`super::limits::FRAME_BYTES_MAX`].
    #[error("the peer sent a {len}-byte frame; at most {max} are accepted")]
    FrameTooLarge {
        /// The announced length.
        len: u64,
        /// The limit.
        max: usize,
    },
    /// The peer broke the protocol: an unknown or out-of-place frame, a wrong greeting, a
    /// count that does not add up.
    #[error("protocol violation by the peer during {phase}: {reason}")]
    Protocol {
        /// What this party was doing.
        phase: &'static str,
        /// What was wrong.
        reason: String,
    },
    /// The protocol cannot run in the requested mode.
    #[error("{protocol} PSI cannot run in this mode: {reason}")]
    ModeNotSupported {
        /// The protocol's name.
        protocol: &'static str,
        /// Why, and what to use instead.
        reason: &'static str,
    },
    /// The receiver's cuckoo table could not be built (probability below 2^-40 a run).
    #[error(
        "could not place {elements} identifiers in a cuckoo table after {attempts} attempts; run again"
    )]
    CuckooFailed {
        /// Distinct identifiers to place.
        elements: u64,
        /// Tables tried.
        attempts: u8,
    },
    /// The peer sent 32 bytes that are not a canonical ristretto255 encoding.
    #[error("the peer's point number {index} is not a valid ristretto255 encoding")]
    InvalidPoint {
        /// The point's position in the peer's stream.
        index: u64,
    },
}
