//! [`P2pConnection`]: a libp2p stream as the PSI engine's synchronous
//! [`Connection`](weinong_mpc::psi::Connection).
//!
//! The engine runs a reader and a writer thread per party and blocks on each call, so every
//! read and write here blocks on the runtime through [`Handle::block_on`], bounded by
//! [`IO_TIMEOUT`]; the connection must be used from blocking threads, never from an async
//! task. A stop signal (a watch channel) unblocks a read waiting on the peer, which the
//! engine needs when the party fails on another thread.

use std::io::{self, Read, Write};
use std::sync::Arc;

use futures::io::{ReadHalf, WriteHalf};
use futures::{AsyncReadExt as _, AsyncWriteExt as _};
use libp2p::Stream;
use tokio::runtime::Handle;
use tokio::sync::{Mutex, watch};
use weinong_mpc::psi::limits::IO_TIMEOUT;
use weinong_mpc::psi::{Connection, ConnectionControl};

/// An established PSI stream to the other party of a step.
pub struct P2pConnection {
    shared: Arc<Shared>,
}

struct Shared {
    runtime: Handle,
    reader: Mutex<ReadHalf<Stream>>,
    writer: Mutex<WriteHalf<Stream>>,
    stop: watch::Sender<bool>,
}

impl P2pConnection {
    /// Wraps `stream`; `runtime` drives it (the runtime the stream was opened in).
    pub fn new(stream: Stream, runtime: Handle) -> Self {
        let (reader, writer) = stream.split();
        P2pConnection {
            shared: Arc::new(Shared {
                runtime,
                reader: Mutex::new(reader),
                writer: Mutex::new(writer),
                stop: watch::channel(false).0,
            }),
        }
    }
}

/// The receiving half, read by the engine's reader thread.
pub struct P2pReader(Arc<Shared>);
/// The sending half, written by the engine's writer thread.
pub struct P2pWriter(Arc<Shared>);
/// Ends the stream from any thread.
pub struct P2pControl(Arc<Shared>);

impl Connection for P2pConnection {
    type Reader = P2pReader;
    type Writer = P2pWriter;
    type Control = P2pControl;

    fn split(self) -> io::Result<(P2pReader, P2pWriter, P2pControl)> {
        let s = self.shared;
        Ok((
            P2pReader(Arc::clone(&s)),
            P2pWriter(Arc::clone(&s)),
            P2pControl(s),
        ))
    }
}

fn timed_out() -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, "no progress on the PSI stream")
}

impl Shared {
    fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        let mut stop = self.stop.subscribe();
        if *stop.borrow() {
            return Err(io::Error::from(io::ErrorKind::ConnectionAborted));
        }
        self.runtime.block_on(async {
            let mut reader = self.reader.lock().await;
            tokio::select! {
                _ = stop.wait_for(|stopped| *stopped) => {
                    Err(io::Error::from(io::ErrorKind::ConnectionAborted))
                }
                read = tokio::time::timeout(IO_TIMEOUT, reader.read(buf)) => {
                    read.map_err(|_| timed_out())?
                }
            }
        })
    }
}

impl Read for P2pReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }
}

impl Write for P2pWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let s = &self.0;
        s.runtime.block_on(async {
            let mut writer = s.writer.lock().await;
            tokio::time::timeout(IO_TIMEOUT, writer.write(buf))
                .await
                .map_err(|_| timed_out())?
        })
    }

    fn flush(&mut self) -> io::Result<()> {
        let s = &self.0;
        s.runtime.block_on(async {
            let mut writer = s.writer.lock().await;
            tokio::time::timeout(IO_TIMEOUT, writer.flush())
                .await
                .map_err(|_| timed_out())?
        })
    }
}

impl ConnectionControl for P2pControl {
    fn stop_reading(&self) {
        // No receivers left means no reader is waiting: nothing to unblock.
        let _ = self.0.stop.send(true);
    }

    fn abort(&self) {
        self.stop_reading();
        let s = &self.0;
        s.runtime.block_on(async {
            // A writer blocked on a full stream holds the lock; it times out on its own.
            if let Ok(mut writer) = s.writer.try_lock() {
                let _ = tokio::time::timeout(IO_TIMEOUT, writer.close()).await;
            }
        });
    }

    fn close_gracefully(&self) {
        let s = &self.0;
        let closed = s.runtime.block_on(async {
            let mut writer = s.writer.lock().await;
            tokio::time::timeout(IO_TIMEOUT, writer.close()).await
        });
        if matches!(closed, Ok(Ok(()))) {
            // Wait (bounded) for the peer's close, so our last frames are read, not reset.
            weinong_mpc::psi::channel::drain(&mut P2pReader(Arc::clone(s)));
        }
    }
}
