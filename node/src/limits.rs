//! The node's named limits and timings.

use std::time::Duration;

/// Votes are kept for at most this many heights past the node's next block.
pub const VOTE_HEIGHTS_AHEAD: u64 = 4_096;

/// How long a block waits for pushed votes before pulling certificates from peers.
pub const CERTIFICATE_PULL_AFTER: Duration = Duration::from_millis(250);

/// How far ahead of a voter's own clock a proposal's block time may be. A voter refuses
/// Raft entries (and signs no header) past it, so one leader cannot move block time ahead
/// and expire every consent; honest department clocks (NTP) differ by far less.
pub const BLOCK_TIME_AHEAD_MAX: Duration = Duration::from_secs(15);

/// How far behind the previous block's time a proposal's time may be before the block is
/// void (empty, at the previous block's time). Block time never goes backwards anyway
/// (`max(proposal, previous)`); a newly elected leader whose clock is a little behind its
/// predecessor's still makes blocks.
pub const BLOCK_TIME_BEHIND_MAX: Duration = Duration::from_secs(60);

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

/// Largest sealed output share a node stores or accepts from a peer: the share of a whole
/// batch of the most subjects a batch request may list (`weinong-contracts`) for a model
/// with the most output columns (`weinong-mpc`), sealed to the requester's SM2 key. Derived,
/// not chosen, so any batch the contracts accept yields a share that fits (about 38 MiB).
pub const SEALED_SHARE_BYTES_MAX: usize = weinong_mpc::model::limits::batch_share_bytes(
    weinong_contracts::limits::BATCH_SUBJECTS_MAX as usize,
    weinong_mpc::model::limits::OUTPUT_COLUMNS_MAX,
) + weinong_keys::SM2_CIPHERTEXT_OVERHEAD_MAX;

/// Room a p2p message needs around a sealed share (party, request id, signature, CBOR).
pub const SEALED_SHARE_ENVELOPE_BYTES: usize = 4 * 1024;

// A full batch's sealed share travels in one p2p message.
const _: () =
    assert!(SEALED_SHARE_BYTES_MAX + SEALED_SHARE_ENVELOPE_BYTES <= P2P_MESSAGE_BYTES_MAX);
// Every batch the contracts accept is one the MPC evaluation and the share decoder take.
const _: () = assert!(
    weinong_contracts::limits::BATCH_SUBJECTS_MAX as usize
        <= weinong_mpc::model::limits::OUTPUT_SUBJECTS_MAX
);
const _: () = assert!(
    weinong_contracts::limits::BATCH_SUBJECTS_MAX as usize
        <= weinong_mpc::model::limits::BATCH_LEN_MAX
);

/// Requests this node's assessment driver works on at once; more stay open on the ledger
/// and start when a slot frees.
pub const ASSESSMENTS_IN_FLIGHT: usize = 64;

/// Requests of one requester the driver works on at once, so one care home's flood cannot
/// take every slot from the others.
pub const ASSESSMENTS_PER_REQUESTER_IN_FLIGHT: usize = 8;

/// Block notices buffered for the assessment driver before the slowest listener lags (a
/// lagged driver loses notices, never requests: it sweeps the ledger's open requests).
pub const BLOCK_NEWS_BUFFER: usize = 4_096;

/// Attempts to record one of the node's own transactions when a concurrent one took its
/// nonce first.
pub const OWN_TX_ATTEMPTS: usize = 3;

/// How long an HTTP client may take to send a request's headers, and how long a kept-alive
/// connection may sit idle before its next request: past it the connection is closed. A
/// request head is a few hundred bytes to a few KiB, sent in one packet by any real client;
/// 10 s tolerates a lossy mobile link, yet a slowloris client that trickles headers byte by
/// byte (or opens idle connections) holds a connection slot for at most this long.
pub const HTTP_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// How long an HTTP client may take to send a request's body (at most the API's 1 MiB):
/// 408 past it. 20 s allows about 50 KiB/s for the largest body, far below any link a
/// department or care home uses, while a client trickling its body cannot hold a request
/// slot longer.
pub const HTTP_BODY_READ_TIMEOUT: Duration = Duration::from_secs(20);

/// How long one HTTP request may run, from its headers to its answer (body read included):
/// past it the node answers 503 `handler_timeout`. The longest honest request is a full
/// body read plus a submission waiting for its commit ([`SUBMIT_TIMEOUT`]); 5 s more is
/// margin. It stays under the CLI's own 60 s request timeout, so the CLI sees the node's
/// JSON error rather than a cut connection.
pub const HTTP_HANDLER_TIMEOUT: Duration =
    Duration::from_secs(HTTP_BODY_READ_TIMEOUT.as_secs() + SUBMIT_TIMEOUT.as_secs() + 5);

/// HTTP requests handled at once; more are answered 503 `overloaded` with `Retry-After`
/// at once, never queued. Each may hold a 1 MiB body and an SM2 verification, so this caps
/// the API's request memory near 256 MiB and leaves CPU to Raft and the MPC sessions,
/// while being far above what the consortium's clients (a few dozen institutions and
/// departments, each a handful of requests at a time) need.
pub const HTTP_REQUESTS_IN_FLIGHT: usize = 256;

/// Open HTTP connections at once; a connection past it is answered 503 and closed at
/// once. Every connection costs a file descriptor, and the node also needs descriptors for
/// its p2p peers and RocksDB: 512 stays well inside the common 1,024 soft limit. An
/// attacker holding connections idle loses them after [`HTTP_HEADER_READ_TIMEOUT`].
pub const HTTP_CONNECTIONS_MAX: usize = 512;

/// Request signatures remembered per caller key within the clock window (replay cache).
/// An entry lives until its signing time leaves the window (30 s), so this allows one key
/// about 1,000 requests a second sustained (a bench or a sequential audit reading every
/// transaction stays under it); a key past it gets 429 until its entries expire, and other
/// keys are not affected.
pub const REPLAY_ENTRIES_PER_KEY: usize = 32_768;

/// Caller keys with live entries in the replay cache at once; a new key past it gets 503
/// until entries expire. A key enters the cache only after its signature verified, so these
/// are ledger keys. An entry takes about 36 bytes, so the cache stays under about 300 MiB
/// even if this many registered keys all flood at once; in practice the node's SM2
/// verification rate times the window bounds it far lower.
pub const REPLAY_KEYS_MAX: usize = 256;

/// Blinded IDs in one `POST /v1/pseudonyms/evaluate` at most.
pub const PSEUDONYM_BATCH_MAX: usize = 1_000;

/// Pseudonym evaluations one key may make at once (its token bucket's size): a care home's
/// day of admissions, or one batch assessment list of this size.
pub const PSEUDONYM_EVALUATIONS_BURST: u32 = 5_000;

/// Pseudonym evaluations one key may make per second, sustained: guessing 10^9 IDs at this
/// rate takes over a year.
pub const PSEUDONYM_EVALUATIONS_PER_SECOND: u32 = 20;

/// A follower is ready (`/readyz`) when at most this many Raft entries the leader announced
/// committed are not yet applied here: each entry is one block, and a live follower trails
/// by the one or two in flight. A restarted node stays unready until it has caught up.
pub const READY_LAG_ENTRIES_MAX: u64 = 4;

/// The most a Raft RPC waits for its peer's connection before failing (it also waits at
/// most half of the RPC's own time limit).
pub const RAFT_CONNECT_WAIT_MAX: Duration = Duration::from_millis(1_000);

/// How long a voter waits at start for a quorum of member peers to connect before it
/// starts Raft anyway.
pub const PEERS_AT_START_WAIT: Duration = Duration::from_secs(5);
