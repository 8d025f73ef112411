//! Named limits of MPC sessions over libp2p: every frame, queue and wait has a bound here.

use std::time::Duration;

/// The most `u64` words in one frame; the engine's own bound, which its largest round fits.
/// A frame announcing more is refused before its body is read.
pub const FRAME_WORDS_MAX: usize = weinong_mpc::limits::FRAME_WORDS_MAX;

/// Frames queued towards one neighbour before `send` waits (the engine sends at most one per
/// neighbour per round).
pub const SEND_QUEUE_FRAMES: usize = weinong_mpc::limits::SEND_QUEUE_FRAMES;

/// How long an opener of an incoming MPC stream has to send its hello.
pub const HELLO_TIMEOUT: Duration = Duration::from_secs(10);

/// Streams that arrived before their session registered are kept this long.
pub const EARLY_STREAM_TTL: Duration = Duration::from_secs(30);

/// The most streams kept waiting for their session to register; more are closed.
pub const EARLY_STREAMS_MAX: usize = 64;

/// Pause before retrying a session link whose connection closed during the handshake.
pub const LINK_RETRY_PAUSE: Duration = Duration::from_millis(50);

/// A receive waits this long by default before failing with `MpcError::Timeout`.
pub const RECV_TIMEOUT_DEFAULT: Duration = weinong_mpc::limits::RECV_TIMEOUT_DEFAULT;

// The length prefix is a u32 count of words.
const _: () = assert!(FRAME_WORDS_MAX as u64 <= u32::MAX as u64);
