//! The node's named limits and timings.

use std::time::Duration;

/// Votes are kept for at most this many heights past the node's next block.
pub const VOTE_HEIGHTS_AHEAD: u64 = 4_096;

/// How long a block waits for pushed votes before pulling certificates from peers.
pub const CERTIFICATE_PULL_AFTER: Duration = Duration::from_millis(250);

/// Transactions in one proposal (one block) at most.
pub const BLOCK_TXS_MAX: usize = 2_000;

/// Proposals in flight (proposed, not yet applied) at once on the leader.
pub const PROPOSALS_IN_FLIGHT: usize = 4;

/// Largest p2p message: a Raft batch of blocks.
pub const P2P_MESSAGE_BYTES_MAX: usize = 64 * 1024 * 1024;

/// How long a p2p request may take.
pub const P2P_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a submitted transaction may wait to commit before the caller is told
/// "unavailable".
pub const SUBMIT_TIMEOUT: Duration = Duration::from_secs(30);

/// Submission queue depth (jobs, each up to one HTTP body of transactions).
pub const SUBMIT_QUEUE: usize = 1_024;

/// Largest sealed output share a node stores or accepts from a peer: one batch of
/// 1,000,000 subjects × 64 outputs × 8 bytes would be 512 MiB, so batches are capped well
/// below that by the share's own limits; this bounds what a peer can make a node write.
pub const SEALED_SHARE_BYTES_MAX: usize = 48 * 1024 * 1024;

/// Requests this node's assessment driver works on at once; more wait their turn.
pub const ASSESSMENTS_IN_FLIGHT: usize = 64;

/// Block notices buffered for the assessment driver before the slowest listener lags.
pub const BLOCK_NEWS_BUFFER: usize = 4_096;

/// Attempts to record one of the node's own transactions when a concurrent one took its
/// nonce first.
pub const OWN_TX_ATTEMPTS: usize = 3;

/// Blinded IDs in one `POST /v1/pseudonyms/evaluate` at most.
pub const PSEUDONYM_BATCH_MAX: usize = 1_000;

/// Pseudonym evaluations one key may make at once (its token bucket's size): a care home's
/// day of admissions, or one batch assessment list of this size.
pub const PSEUDONYM_EVALUATIONS_BURST: u32 = 5_000;

/// Pseudonym evaluations one key may make per second, sustained: guessing 10^9 IDs at this
/// rate takes over a year.
pub const PSEUDONYM_EVALUATIONS_PER_SECOND: u32 = 20;
