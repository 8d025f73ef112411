//! Named limits of the MPC engine. Every buffer, frame and wait has a bound here, so a
//! misbehaving peer or caller fails fast with a typed error instead of exhausting memory.

use std::time::Duration;

/// The most elements one operation call may take. 2^24 arithmetic shares are 256 MiB per
/// party (two replicated components); beyond that callers stream their own batches.
pub const BATCH_LEN_MAX: usize = 1 << 24;

/// Comparison-style circuits (MSB, equality, A2B, B2A) expand every element into 64
/// bit-planes; by default they process this many elements at a time. At 2^16 a live plane
/// vector is 512 KiB, so a circuit level works in L2 cache: measured here, 10^6 comparisons
/// run 2.6× faster than in one 2^20 chunk. The price is rounds: 8 per chunk, so a batch of
/// n costs 8·⌈n / chunk⌉ rounds; on high-latency links raise it with
/// `Party::set_chunk_len` (all parties must use the same value).
pub const CHUNK_LEN: usize = 1 << 16;

/// The largest chunk `Party::set_chunk_len` accepts; bounds a party's working set near
/// 64 × 2 × CHUNK_LEN_MAX / 8 bytes per live plane vector (16 MiB at 2^20).
pub const CHUNK_LEN_MAX: usize = 1 << 20;

/// The most `u64` words in one frame. A round of the largest circuit level on a full chunk
/// needs 2 × 62 planes × CHUNK_LEN_MAX / 64 words, and a multiplication of a full batch needs
/// BATCH_LEN_MAX words; frames above this are refused before their body is read.
pub const FRAME_WORDS_MAX: usize = 1 << 24;

/// How long a party waits for a peer's frame before giving up with `MpcError::Timeout`.
pub const RECV_TIMEOUT_DEFAULT: Duration = Duration::from_secs(30);

/// Frames a sender may queue towards one neighbour before it waits. Protocols send at most
/// one frame per neighbour per round, so a small queue never throttles a correct run.
pub const SEND_QUEUE_FRAMES: usize = 8;

/// The most entries in one range-lookup table (thresholds). Each threshold costs one
/// comparison per element.
pub const RANGE_TABLE_LEN_MAX: usize = 64;

const _: () = assert!(CHUNK_LEN.is_multiple_of(64));
const _: () = assert!(CHUNK_LEN <= CHUNK_LEN_MAX);
const _: () = assert!(CHUNK_LEN_MAX.is_multiple_of(64));
const _: () = assert!(CHUNK_LEN_MAX <= BATCH_LEN_MAX);
const _: () = assert!(BATCH_LEN_MAX <= FRAME_WORDS_MAX);
const _: () = assert!(2 * 62 * (CHUNK_LEN_MAX / 64) <= FRAME_WORDS_MAX);
const _: () = assert!(FRAME_WORDS_MAX as u64 <= u32::MAX as u64);
