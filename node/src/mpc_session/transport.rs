//! [`P2pTransport`]: the MPC engine's synchronous [`Transport`] over two libp2p streams.
//!
//! Owns: the frame format on an established session stream, the bounded send queue and
//! writer task per link, and turning stream failures into [`MpcError`]s that name the
//! party. Must not know: how the streams were opened or authenticated (the session module
//! does that), or what the frames mean (the engine's protocols).
//!
//! Frame layout: `len_words u32 LE | len_words × u64 LE`. A stream is reliable and ordered
//! and libp2p's Noise channel authenticates and encrypts it, so frames carry no sequence
//! number or tag (the loopback TCP transport needs both; this one does not).
//!
//! The engine is synchronous: each call blocks on the runtime through
//! [`tokio::runtime::Handle::block_on`], so a transport must be used from a blocking thread
//! (`tokio::task::spawn_blocking` or a plain thread), never from an async task.

use std::time::Duration;

use futures::io::{ReadHalf, WriteHalf};
use futures::{AsyncReadExt as _, AsyncWriteExt as _};
use libp2p::Stream;
use tokio::runtime::Handle;
use tokio::sync::mpsc;
use weinong_mpc::transport::{Peer, Transport};
use weinong_mpc::{MpcError, PartyId};

use super::limits::{FRAME_WORDS_MAX, SEND_QUEUE_FRAMES};

/// Bytes of a frame's length prefix.
const PREFIX_BYTES: usize = 4;

/// One party's two session streams, as the engine's [`Transport`].
pub struct P2pTransport {
    me: PartyId,
    runtime: Handle,
    next: Link,
    prev: Link,
    timeout: Duration,
}

/// One neighbour: the read half of its stream, read inline by `recv`, and a queue to the
/// task that owns the write half (so two parties sending large frames to each other at
/// once never wait on each other's reads).
struct Link {
    peer: PartyId,
    reader: ReadHalf<Stream>,
    writer: mpsc::Sender<Vec<u8>>,
    /// Set after any error: a timed-out read may have consumed half a frame, so the link
    /// is no longer aligned and every later call fails instead of misreading.
    failed: bool,
}

impl P2pTransport {
    /// Wraps the streams to `me`'s next and previous neighbours. Must be called within the
    /// tokio runtime that drives the streams (it spawns one writer task per link).
    pub(crate) fn new(me: PartyId, next: Stream, prev: Stream, timeout: Duration) -> Self {
        P2pTransport {
            me,
            runtime: Handle::current(),
            next: Link::new(me.next(), next),
            prev: Link::new(me.prev(), prev),
            timeout,
        }
    }

    fn link(&mut self, peer: Peer) -> &mut Link {
        match peer {
            Peer::Next => &mut self.next,
            Peer::Prev => &mut self.prev,
        }
    }
}

impl Link {
    fn new(peer: PartyId, stream: Stream) -> Self {
        let (reader, writer) = stream.split();
        let (queue, frames) = mpsc::channel(SEND_QUEUE_FRAMES);
        tokio::spawn(write_frames(writer, frames));
        Link {
            peer,
            reader,
            writer: queue,
            failed: false,
        }
    }

    fn check_usable(&self) -> Result<(), MpcError> {
        if self.failed {
            return Err(MpcError::Malformed {
                peer: self.peer,
                reason: "the link failed earlier in this session",
            });
        }
        Ok(())
    }
}

/// Writes queued frames until the transport is dropped or the stream fails, then closes
/// the stream so the peer reads end-of-stream (`PeerClosed`) instead of waiting.
async fn write_frames(mut writer: WriteHalf<Stream>, mut frames: mpsc::Receiver<Vec<u8>>) {
    while let Some(frame) = frames.recv().await {
        // A failed write ends the task; the next `send` then finds the queue closed and
        // reports PeerClosed, so the failure is not lost.
        if writer.write_all(&frame).await.is_err() || writer.flush().await.is_err() {
            return;
        }
    }
    // The peer may be gone already; there is nobody left to tell.
    writer.close().await.ok();
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn io_error(peer: PartyId, e: std::io::Error) -> MpcError {
    use std::io::ErrorKind;
    match e.kind() {
        ErrorKind::UnexpectedEof
        | ErrorKind::ConnectionReset
        | ErrorKind::ConnectionAborted
        | ErrorKind::BrokenPipe
        | ErrorKind::NotConnected => MpcError::PeerClosed { peer },
        _ => MpcError::Io { peer, source: e },
    }
}

/// Encodes one frame: the length prefix and the words, little-endian.
pub(crate) fn encode_frame(words: &[u64]) -> Result<Vec<u8>, MpcError> {
    let count = u32::try_from(words.len())
        .ok()
        .filter(|_| words.len() <= FRAME_WORDS_MAX)
        .ok_or(MpcError::BatchTooLarge {
            len: words.len(),
            max: FRAME_WORDS_MAX,
        })?;
    let mut frame = Vec::with_capacity(PREFIX_BYTES + words.len() * 8);
    frame.extend_from_slice(&count.to_le_bytes());
    for w in words {
        frame.extend_from_slice(&w.to_le_bytes());
    }
    Ok(frame)
}

/// Reads one frame of exactly `len` words; the prefix is checked against the limit and
/// `len` before any body byte is read.
async fn read_frame(
    reader: &mut ReadHalf<Stream>,
    peer: PartyId,
    len: usize,
) -> Result<Vec<u64>, MpcError> {
    let mut prefix = [0u8; PREFIX_BYTES];
    reader
        .read_exact(&mut prefix)
        .await
        .map_err(|e| io_error(peer, e))?;
    let found = u64::from(u32::from_le_bytes(prefix));
    if found > FRAME_WORDS_MAX as u64 {
        return Err(MpcError::Malformed {
            peer,
            reason: "frame exceeds FRAME_WORDS_MAX",
        });
    }
    if found != len as u64 {
        return Err(MpcError::FrameLength {
            peer,
            expected: len as u64,
            found,
        });
    }
    let mut body = vec![0u8; len * 8];
    reader
        .read_exact(&mut body)
        .await
        .map_err(|e| io_error(peer, e))?;
    Ok(body
        .chunks_exact(8)
        .map(|b| {
            let mut le = [0u8; 8];
            le.copy_from_slice(b);
            u64::from_le_bytes(le)
        })
        .collect())
}

impl Transport for P2pTransport {
    fn party(&self) -> PartyId {
        self.me
    }

    fn send(&mut self, to: Peer, words: &[u64]) -> Result<(), MpcError> {
        let timeout = self.timeout;
        let runtime = self.runtime.clone();
        let link = self.link(to);
        link.check_usable()?;
        let peer = link.peer;
        let frame = encode_frame(words)?;
        // A full queue means the peer stopped reading; wait at most the time-out.
        let sent = runtime.block_on(tokio::time::timeout(timeout, link.writer.send(frame)));
        let result = match sent {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(MpcError::PeerClosed { peer }),
            Err(_) => Err(MpcError::Timeout {
                peer,
                waited_ms: millis(timeout),
            }),
        };
        link.failed = result.is_err();
        result
    }

    fn recv(&mut self, from: Peer, len: usize) -> Result<Vec<u64>, MpcError> {
        let timeout = self.timeout;
        let runtime = self.runtime.clone();
        let link = self.link(from);
        link.check_usable()?;
        let peer = link.peer;
        let read = runtime.block_on(tokio::time::timeout(
            timeout,
            read_frame(&mut link.reader, peer, len),
        ));
        let result = match read {
            Ok(result) => result,
            Err(_) => Err(MpcError::Timeout {
                peer,
                waited_ms: millis(timeout),
            }),
        };
        link.failed = result.is_err();
        result
    }
}
