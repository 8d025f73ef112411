//! The byte stream a PSI party runs over: a [`Connection`] splits into a reader, a writer and
//! a [`ConnectionControl`], one for each of the party's threads.
//!
//! Owns: what the protocol needs of a stream (reliable, ordered, read and write time-outs,
//! a way to unblock a blocked reader, a graceful close). Must not know how the stream was
//! opened or who the peer is: TCP ([`TcpStream`], `weinong psi`) and the node's
//! authenticated libp2p streams (policy runs) both implement it.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};

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
