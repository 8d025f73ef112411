//! TCP transport with per-session, per-direction authenticated frames.
//!
//! Each party listens once and dials its next neighbour, so the ring needs three
//! connections. Frame layout (all integers little-endian):
//!
//! ```text
//! magic "WNMP" | version u8 = 1 | 3 zero bytes | seq u64 | len_words u64 | body len_words×8 | tag 32
//! ```
//!
//! `tag` is HMAC-SM3 (via `weinong_keys::hmac_sm3`) over header and body under the
//! direction's key, derived from the pair secret, the session id and (from, to). So a frame
//! from another session, another direction, a replayed or a reordered frame is refused
//! (`BadTag`, `OutOfOrder`). The length is checked against the expected one and against
//! [`FRAME_WORDS_MAX`](crate::limits::FRAME_WORDS_MAX) before any body byte is read.
//! Bodies are not encrypted: a session runs over a channel that is itself confidential
//! (loopback, or the node's libp2p/Noise streams); shares reveal nothing to a passive
//! observer who lacks a second share, but deployments must not run this transport over an
//! open network.
//!
//! Each link has a writer thread fed through a bounded queue, so two parties sending large
//! frames to each other at once cannot deadlock on full socket buffers.

use std::io::{BufReader, ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::mpsc::{SyncSender, sync_channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::limits::SEND_QUEUE_FRAMES;
use crate::run::on_party_threads;
use crate::secrets::{DerivedKey, PairSecret, PartySecrets, SessionId};
use crate::transport::{Peer, Transport, check_frame_words};
use crate::{MpcError, PartyId};

const MAGIC: [u8; 4] = *b"WNMP";
const HELLO_MAGIC: [u8; 4] = *b"WNMH";
const VERSION: u8 = 1;
const HEADER_BYTES: usize = 24;
const TAG_BYTES: usize = 32;
/// magic, version, party, session id, tag.
const HELLO_BYTES: usize = 4 + 1 + 1 + 32 + TAG_BYTES;

/// One party's two authenticated TCP links.
pub struct TcpTransport {
    me: PartyId,
    next: Link,
    prev: Link,
}

struct Link {
    peer: PartyId,
    reader: BufReader<TcpStream>,
    writer: Option<SyncSender<Vec<u8>>>,
    writer_thread: Option<JoinHandle<()>>,
    send_key: DerivedKey,
    recv_key: DerivedKey,
    send_seq: u64,
    recv_seq: u64,
    timeout: Duration,
}

fn direction_key(
    secret: &PairSecret,
    session: &SessionId,
    from: PartyId,
    to: PartyId,
) -> DerivedKey {
    secret.derive(b"mac", session, &[from.as_u8(), to.as_u8()])
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn io_error(peer: PartyId, timeout: Duration, e: std::io::Error) -> MpcError {
    match e.kind() {
        ErrorKind::WouldBlock | ErrorKind::TimedOut => MpcError::Timeout {
            peer,
            waited_ms: millis(timeout),
        },
        ErrorKind::UnexpectedEof
        | ErrorKind::ConnectionReset
        | ErrorKind::ConnectionAborted
        | ErrorKind::BrokenPipe => MpcError::PeerClosed { peer },
        _ => MpcError::Io { peer, source: e },
    }
}

fn setup(reason: impl Into<String>) -> MpcError {
    MpcError::Setup {
        reason: reason.into(),
    }
}

impl TcpTransport {
    /// Joins the ring as `me`: dials `next_addr` (P_{i+1}'s listener), accepts P_{i-1} on
    /// `listener`, and authenticates both with a hello message keyed by the pair secrets.
    /// Every wait (connect, accept, read) is bounded by `timeout`.
    pub fn establish(
        me: PartyId,
        listener: &TcpListener,
        next_addr: SocketAddr,
        session: &SessionId,
        secrets: &PartySecrets,
        timeout: Duration,
    ) -> Result<TcpTransport, MpcError> {
        let next_id = me.next();
        let prev_id = me.prev();
        let deadline = Instant::now() + timeout;

        let next_stream = connect_until(next_addr, deadline)?;
        let hello_key = direction_key(&secrets.with_next, session, me, next_id);
        (&next_stream)
            .write_all(&hello(me, session, &hello_key))
            .map_err(|e| io_error(next_id, timeout, e))?;

        let prev_stream = accept_until(listener, deadline)?;
        prev_stream
            .set_read_timeout(Some(timeout))
            .map_err(|e| io_error(prev_id, timeout, e))?;
        let mut got = [0u8; HELLO_BYTES];
        (&prev_stream)
            .read_exact(&mut got)
            .map_err(|e| io_error(prev_id, timeout, e))?;
        let expected_key = direction_key(&secrets.with_prev, session, prev_id, me);
        if got != hello(prev_id, session, &expected_key) {
            return Err(MpcError::BadTag { peer: prev_id });
        }

        // Each direction of a pair has its own key: ours to send, the peer's to receive.
        let link = |peer: PartyId, stream: TcpStream, secret: &PairSecret| {
            Link::new(
                peer,
                stream,
                direction_key(secret, session, me, peer),
                direction_key(secret, session, peer, me),
                timeout,
            )
        };
        let next = link(next_id, next_stream, &secrets.with_next)?;
        let prev = link(prev_id, prev_stream, &secrets.with_prev)?;
        Ok(TcpTransport { me, next, prev })
    }

    /// Three transports joined over loopback TCP (ephemeral ports), for tests and benchmarks.
    pub fn loopback_triple(
        session: &SessionId,
        secrets: &[PartySecrets; 3],
        timeout: Duration,
    ) -> Result<[TcpTransport; 3], MpcError> {
        let bind =
            || TcpListener::bind("127.0.0.1:0").map_err(|e| setup(format!("bind loopback: {e}")));
        let listeners = [bind()?, bind()?, bind()?];
        let mut addrs = Vec::with_capacity(3);
        for l in &listeners {
            addrs.push(
                l.local_addr()
                    .map_err(|e| setup(format!("local address: {e}")))?,
            );
        }
        let results = on_party_threads([(); 3], |p, ()| {
            let listener = &listeners[p.index()];
            let next_addr = addrs[p.next().index()];
            TcpTransport::establish(
                p,
                listener,
                next_addr,
                session,
                &secrets[p.index()],
                timeout,
            )
        });
        let mut out = Vec::with_capacity(3);
        for r in results {
            out.push(r?);
        }
        out.try_into()
            .map_err(|_| setup("three transports expected"))
    }

    /// Writes raw bytes to a neighbour, bypassing framing. For fault-injection tests only.
    pub fn send_raw_bytes(&mut self, to: Peer, bytes: Vec<u8>) -> Result<(), MpcError> {
        self.link(to).push(bytes)
    }

    fn link(&mut self, peer: Peer) -> &mut Link {
        match peer {
            Peer::Next => &mut self.next,
            Peer::Prev => &mut self.prev,
        }
    }
}

fn hello(from: PartyId, session: &SessionId, key: &DerivedKey) -> [u8; HELLO_BYTES] {
    let mut out = [0u8; HELLO_BYTES];
    out[..4].copy_from_slice(&HELLO_MAGIC);
    out[4] = VERSION;
    out[5] = from.as_u8();
    out[6..38].copy_from_slice(session.as_bytes());
    let tag = weinong_keys::hmac_sm3(&key.0, &out[..38]);
    out[38..].copy_from_slice(&tag);
    out
}

fn connect_until(addr: SocketAddr, deadline: Instant) -> Result<TcpStream, MpcError> {
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(setup(format!("could not connect to {addr} in time")));
        }
        match TcpStream::connect_timeout(&addr, left) {
            Ok(s) => return Ok(s),
            // The neighbour may not be listening yet; retry until the deadline.
            Err(_) => std::thread::sleep(Duration::from_millis(5)),
        }
    }
}

fn accept_until(listener: &TcpListener, deadline: Instant) -> Result<TcpStream, MpcError> {
    listener
        .set_nonblocking(true)
        .map_err(|e| setup(format!("listener: {e}")))?;
    let stream = loop {
        match listener.accept() {
            Ok((s, _)) => break s,
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                if Instant::now() >= deadline {
                    return Err(setup("no connection from the previous party in time"));
                }
                std::thread::sleep(Duration::from_millis(2));
            }
            Err(e) => return Err(setup(format!("accept: {e}"))),
        }
    };
    stream
        .set_nonblocking(false)
        .map_err(|e| setup(format!("stream mode: {e}")))?;
    Ok(stream)
}

impl Link {
    fn new(
        peer: PartyId,
        stream: TcpStream,
        send_key: DerivedKey,
        recv_key: DerivedKey,
        timeout: Duration,
    ) -> Result<Link, MpcError> {
        let map = |e| io_error(peer, timeout, e);
        stream.set_nodelay(true).map_err(map)?;
        stream.set_read_timeout(Some(timeout)).map_err(map)?;
        stream.set_write_timeout(Some(timeout)).map_err(map)?;
        let mut write_half = stream.try_clone().map_err(map)?;
        let (tx, rx) = sync_channel::<Vec<u8>>(SEND_QUEUE_FRAMES);
        let writer_thread = std::thread::Builder::new()
            .name(format!("mpc-tcp-writer-{peer}"))
            .spawn(move || {
                while let Ok(frame) = rx.recv() {
                    // A failed write ends the thread; the sender then sees a closed queue
                    // and reports PeerClosed, so the error is not lost.
                    if write_half.write_all(&frame).is_err() {
                        break;
                    }
                }
                // The peer reads EOF; a failure here means it is gone already.
                write_half.shutdown(Shutdown::Write).ok();
            })
            .map_err(|e| setup(format!("writer thread: {e}")))?;
        Ok(Link {
            peer,
            reader: BufReader::with_capacity(1 << 16, stream),
            writer: Some(tx),
            writer_thread: Some(writer_thread),
            send_key,
            recv_key,
            send_seq: 0,
            recv_seq: 0,
            timeout,
        })
    }

    fn push(&mut self, bytes: Vec<u8>) -> Result<(), MpcError> {
        let peer = self.peer;
        match &self.writer {
            Some(tx) => tx.send(bytes).map_err(|_| MpcError::PeerClosed { peer }),
            None => Err(MpcError::PeerClosed { peer }),
        }
    }

    fn send(&mut self, words: &[u64]) -> Result<(), MpcError> {
        let body_bytes = words.len() * 8;
        let mut frame = Vec::with_capacity(HEADER_BYTES + body_bytes + TAG_BYTES);
        frame.extend_from_slice(&MAGIC);
        frame.push(VERSION);
        frame.extend_from_slice(&[0, 0, 0]);
        frame.extend_from_slice(&self.send_seq.to_le_bytes());
        frame.extend_from_slice(&(words.len() as u64).to_le_bytes());
        for w in words {
            frame.extend_from_slice(&w.to_le_bytes());
        }
        let tag = weinong_keys::hmac_sm3(&self.send_key.0, &frame);
        frame.extend_from_slice(&tag);
        self.send_seq = self.send_seq.wrapping_add(1);
        self.push(frame)
    }

    fn recv(&mut self, len: usize) -> Result<Vec<u64>, MpcError> {
        let peer = self.peer;
        let timeout = self.timeout;
        let mut header = [0u8; HEADER_BYTES];
        self.reader
            .read_exact(&mut header)
            .map_err(|e| io_error(peer, timeout, e))?;
        if header[..4] != MAGIC {
            return Err(MpcError::Malformed {
                peer,
                reason: "bad magic",
            });
        }
        if header[4] != VERSION {
            return Err(MpcError::Malformed {
                peer,
                reason: "unsupported frame version",
            });
        }
        let mut seq = [0u8; 8];
        seq.copy_from_slice(&header[8..16]);
        let seq = u64::from_le_bytes(seq);
        let mut found = [0u8; 8];
        found.copy_from_slice(&header[16..24]);
        let found = u64::from_le_bytes(found);
        check_frame_words(peer, found, len)?;
        if seq != self.recv_seq {
            return Err(MpcError::OutOfOrder {
                peer,
                expected: self.recv_seq,
                found: seq,
            });
        }
        let mut buf = vec![0u8; HEADER_BYTES + len * 8];
        buf[..HEADER_BYTES].copy_from_slice(&header);
        self.reader
            .read_exact(&mut buf[HEADER_BYTES..])
            .map_err(|e| io_error(peer, timeout, e))?;
        let mut tag = [0u8; TAG_BYTES];
        self.reader
            .read_exact(&mut tag)
            .map_err(|e| io_error(peer, timeout, e))?;
        if !weinong_keys::hmac_sm3_verify(&self.recv_key.0, &buf, &tag) {
            return Err(MpcError::BadTag { peer });
        }
        self.recv_seq = self.recv_seq.wrapping_add(1);
        let words = buf[HEADER_BYTES..]
            .chunks_exact(8)
            .map(|b| {
                let mut le = [0u8; 8];
                le.copy_from_slice(b);
                u64::from_le_bytes(le)
            })
            .collect();
        Ok(words)
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        // Closing the queue lets the writer flush what is queued and shut the socket down.
        self.writer = None;
        if let Some(handle) = self.writer_thread.take() {
            // The writer ends within the write time-out; a panic in it has nothing to clean.
            handle.join().ok();
        }
    }
}

impl Transport for TcpTransport {
    fn party(&self) -> PartyId {
        self.me
    }

    fn send(&mut self, to: Peer, words: &[u64]) -> Result<(), MpcError> {
        self.link(to).send(words)
    }

    fn recv(&mut self, from: Peer, len: usize) -> Result<Vec<u64>, MpcError> {
        self.link(from).recv(len)
    }
}
