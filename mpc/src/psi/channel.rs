//! The byte stream a PSI party runs over: a [`Connection`] splits into a reader, a writer and
//! a [`ConnectionControl`], one for each of the party's threads.
//!
//! Owns: what the protocol needs of a stream (reliable, ordered, read and write time-outs,
//! a way to unblock a blocked reader, a graceful close). Must not know how the stream was
//! opened or who the peer is: TCP ([`TcpStream`], `weinong psi`) and the node's
//! authenticated libp2p streams (policy runs) both implement it.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use super::limits::IO_TIMEOUT;

/// A reliable, ordered, bidirectional byte stream to the peer.
///
/// Reads and writes must fail with [`io::ErrorKind::TimedOut`] (or `WouldBlock`) after
/// [`IO_TIMEOUT`] without progress, so a vanished peer becomes an error, never a hang.
pub trait Connection {
    /// The receiving half, used by the party's reader thread.
    type Reader: Read + Send;
    /// The sending half, used by the party's writer thread.
    type Writer: Write + Send;
    /// Ends the stream from any thread.
    type Control: ConnectionControl;

    /// Splits the stream for the party's threads.
    fn split(self) -> io::Result<(Self::Reader, Self::Writer, Self::Control)>;
}

/// Ends a stream from a thread that does not own its halves.
pub trait ConnectionControl: Send + Sync {
    /// Makes a read blocked on the peer return at once (with an error or end of stream).
    fn stop_reading(&self);
    /// Ends the stream in both directions at once.
    fn abort(&self);
    /// Half-closes, then waits (bounded) for the peer to close too, so that frames still
    /// in flight towards the peer are not destroyed by the close.
    fn close_gracefully(&self);
}

impl Connection for TcpStream {
    type Reader = TcpStream;
    type Writer = TcpStream;
    type Control = TcpStream;

    fn split(self) -> io::Result<(TcpStream, TcpStream, TcpStream)> {
        self.set_read_timeout(Some(IO_TIMEOUT))?;
        self.set_write_timeout(Some(IO_TIMEOUT))?;
        self.set_nodelay(true)?;
        Ok((self.try_clone()?, self.try_clone()?, self))
    }
}

impl ConnectionControl for TcpStream {
    fn stop_reading(&self) {
        // Already closed is fine: the reader is unblocked either way.
        let _ = self.shutdown(Shutdown::Read);
    }

    fn abort(&self) {
        let _ = self.shutdown(Shutdown::Both);
    }

    fn close_gracefully(&self) {
        // Closing a socket with unread bytes (a late keep-alive) makes the kernel send a
        // reset, which can destroy frames the peer has not read yet, such as the last
        // `Done`. Errors mean the peer is already gone, which is what we wait for.
        let _ = self.shutdown(Shutdown::Write);
        let mut reader = self;
        drain(&mut reader);
    }
}

/// Reads and discards until end of stream, an error, or a 1 MiB budget: the bounded wait
/// of [`ConnectionControl::close_gracefully`].
pub fn drain(reader: &mut impl Read) {
    let mut sink = [0u8; 4096];
    let mut budget: usize = 1 << 20;
    while budget > 0 {
        match reader.read(&mut sink) {
            Ok(0) | Err(_) => break,
            Ok(n) => budget = budget.saturating_sub(n),
        }
    }
}

/// Bytes one party sent and received on its connection, framing included.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Traffic {
    /// Bytes written to the peer.
    pub sent: u64,
    /// Bytes read from the peer.
    pub received: u64,
}

/// A reader or writer that counts the bytes passing through it.
pub(crate) struct Counted<T> {
    inner: T,
    count: Arc<AtomicU64>,
}

impl<T> Counted<T> {
    pub(crate) fn new(inner: T, count: Arc<AtomicU64>) -> Self {
        Self { inner, count }
    }
}

fn add(count: &AtomicU64, n: usize) {
    count.fetch_add(u64::try_from(n).unwrap_or(u64::MAX), Ordering::Relaxed);
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        add(&self.count, n);
        Ok(n)
    }
}

impl<W: Write> Write for Counted<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        add(&self.count, n);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// A connection whose sending direction is shaped to a fixed rate by a token bucket: a
/// simulated wide-area link (`weinong bench psi` reports the time on 100 Mbit/s), where
/// bytes on the wire, not computation, set the pace.
pub struct Shaped<C> {
    inner: C,
    bytes_per_second: f64,
}

impl<C: Connection> Shaped<C> {
    /// `inner`, sending at most `megabits_per_second` (10^6 bit/s).
    pub fn new(inner: C, megabits_per_second: f64) -> Self {
        Self {
            inner,
            bytes_per_second: megabits_per_second * 1e6 / 8.0,
        }
    }
}

/// The burst a shaped writer may send at once: one socket buffer's worth.
const SHAPED_BURST_BYTES: f64 = 64.0 * 1024.0;

/// The sending half of a [`Shaped`] connection.
pub struct ShapedWriter<W> {
    inner: W,
    bytes_per_second: f64,
    tokens: f64,
    refilled: Instant,
}

impl<W: Write> Write for ShapedWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        loop {
            let now = Instant::now();
            let earned = now.duration_since(self.refilled).as_secs_f64() * self.bytes_per_second;
            self.tokens = (self.tokens + earned).min(SHAPED_BURST_BYTES);
            self.refilled = now;
            if self.tokens >= 1.0 {
                break;
            }
            let wait = (1.0 - self.tokens).max(1024.0) / self.bytes_per_second;
            thread::sleep(Duration::from_secs_f64(wait));
        }
        // Whole tokens only: `tokens` lies in [1, SHAPED_BURST_BYTES] here, so the cast is
        // exact after `floor`.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let whole = self.tokens.floor() as usize;
        let allowed = buf.len().min(whole);
        let n = self.inner.write(&buf[..allowed])?;
        self.tokens -= n as f64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

impl<C: Connection> Connection for Shaped<C> {
    type Reader = C::Reader;
    type Writer = ShapedWriter<C::Writer>;
    type Control = C::Control;

    fn split(self) -> io::Result<(Self::Reader, Self::Writer, Self::Control)> {
        let (reader, writer, control) = self.inner.split()?;
        let writer = ShapedWriter {
            inner: writer,
            bytes_per_second: self.bytes_per_second,
            tokens: 0.0,
            refilled: Instant::now(),
        };
        Ok((reader, writer, control))
    }
}
