//! Named limits of the PSI protocol. Every frame, batch, queue and wait has a bound here, so
//! a misbehaving peer or input fails fast with a typed error instead of exhausting memory.
//!
//! Sizing sketch (2^20 rows per side; 10 M rows scale linearly): each party keeps its own
//! singly-blinded points with their row numbers (36 B a row: 36 MiB at 2^20, 360 MB at
//! 10 M) and the peer's reblinded points (32 B a row: 32 MiB / 320 MB); identifiers
//! themselves are never all held, only one input chunk at a time. On the wire: 32 B a row
//! each way plus 32 B a receiver row back (96 MiB in all at 2^20 × 2^20).
//!
//! KKRT ([`super::kkrt`]) at 10^7 rows a side: each party holds its item hashes with row
//! numbers (48 B a row while they are sorted and de-duplicated, about 0.9 GB at peak); the
//! receiver then a cuckoo table (5 B a bin, 1.27 bins a row) and its own OPRF values in a
//! hash map (about 30 B a row), the sender its simple hashing (24 B a row) and its values
//! (36 B a row). Columns and matrices are held one chunk of 2048 bins (128 KiB) at a time.
//! On the wire at 2^20 × 2^20: 64 B a bin from the receiver (85 MB) and 36 B a row from
//! the sender (38 MB).

use std::time::Duration;

/// Points in one `Points` frame: 4096 × 32 B = 128 KiB, large enough that framing costs
/// nothing and small enough that a batch is one step of a progress bar.
pub const BATCH_POINTS_MAX: usize = 4096;

/// The largest frame body: a full batch of points plus its 4-byte count. Longer frames are
/// refused from the header, before their body is read.
pub const FRAME_BYTES_MAX: usize = 4 + BATCH_POINTS_MAX * 32;

/// Rows read from the input file and blinded as one chunk: one chunk of identifiers is all
/// a party ever holds in plain text.
pub const INPUT_CHUNK_ROWS: usize = 1 << 16;

/// Points handed to one rayon task: one batch inversion (`double_and_compress_batch`) is
/// shared by this many points, so the inversion's cost per point stays negligible.
pub const PARALLEL_CHUNK_POINTS: usize = 1024;

/// The most data rows an input may have (row numbers are `u32`; 100 M is 20 × Shanghai's
/// registered older residents).
pub const INPUT_ROWS_MAX: u64 = 100_000_000;

/// The most points a peer may announce in one stream; a longer stream is refused, so a
/// peer cannot make this party store more than `PEER_POINTS_MAX × 32` bytes.
pub const PEER_POINTS_MAX: u64 = INPUT_ROWS_MAX;

/// The longest identifier cell accepted, in bytes; resident IDs have 18.
pub const IDENTIFIER_BYTES_MAX: usize = 64;

/// Invalid rows reported one by one (line and reason); the rest are only counted.
pub const INVALID_ROWS_REPORTED_MAX: usize = 20;

/// How long a read may wait for the next frame. The peer sends a keep-alive every
/// [`KEEPALIVE_INTERVAL`] while it computes, so silence this long means it is gone.
pub const IO_TIMEOUT: Duration = Duration::from_secs(60);

/// How often an otherwise idle party tells its peer it is still computing.
pub const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(2);

/// How long a party retries connecting to a peer that is not listening yet.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a listening party waits for its peer to connect: departments start their
/// sides by hand or by scheduler, so minutes, not seconds.
pub const ACCEPT_TIMEOUT: Duration = Duration::from_secs(600);

/// Outgoing frames queued towards the writer thread before the producer waits.
pub const SEND_QUEUE_FRAMES: usize = 64;

const _: () = assert!(BATCH_POINTS_MAX <= u32::MAX as usize);
const _: () = assert!(FRAME_BYTES_MAX <= u32::MAX as usize);
const _: () = assert!(INPUT_ROWS_MAX <= u32::MAX as u64);
const _: () = assert!(INPUT_CHUNK_ROWS.is_multiple_of(PARALLEL_CHUNK_POINTS));
const _: () = assert!(KEEPALIVE_INTERVAL.as_millis() * 10 <= IO_TIMEOUT.as_millis());
