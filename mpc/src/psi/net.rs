//! TCP set-up for a PSI run: connect with bounded retries (the peer may start a moment
//! later), or listen and accept one connection from the configured peer's host.

use std::io;
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::thread;
use std::time::{Duration, Instant};

use super::error::PsiError;
use super::limits::CONNECT_TIMEOUT;

/// How long to wait between two connection attempts, or two polls of a listener.
const RETRY_PAUSE: Duration = Duration::from_millis(50);

fn resolve(addr: &str, action: &'static str) -> Result<SocketAddr, PsiError> {
    let connect_error = |source| PsiError::Connect {
        action,
        addr: addr.to_owned(),
        source,
    };
    addr.to_socket_addrs()
        .map_err(connect_error)?
        .next()
        .ok_or_else(|| {
            connect_error(io::Error::new(
                io::ErrorKind::NotFound,
                "the name resolves to no address",
            ))
        })
}

/// Connect to `addr`, retrying refused connections for [`CONNECT_TIMEOUT`].
pub fn connect(addr: &str) -> Result<TcpStream, PsiError> {
    let target = resolve(addr, "connect to")?;
    let started = Instant::now();
    loop {
        match TcpStream::connect_timeout(&target, CONNECT_TIMEOUT) {
            Ok(stream) => return Ok(stream),
            Err(e)
                if e.kind() == io::ErrorKind::ConnectionRefused
                    && started.elapsed() < CONNECT_TIMEOUT =>
            {
                thread::sleep(RETRY_PAUSE);
            }
            Err(source) => {
                return Err(PsiError::Connect {
                    action: "connect to",
                    addr: addr.to_owned(),
                    source,
                });
            }
        }
    }
}

/// Bind `addr` for one incoming PSI connection.
pub fn listen(addr: &str) -> Result<TcpListener, PsiError> {
    let target = resolve(addr, "listen on")?;
    TcpListener::bind(target).map_err(|source| PsiError::Connect {
        action: "listen on",
        addr: addr.to_owned(),
        source,
    })
}

/// Accept the first connection from `peer_host` within `wait`; connections from other
/// hosts are refused with [`PsiError::UnexpectedPeer`].
pub fn accept_from(
    listener: &TcpListener,
    peer_host: IpAddr,
    wait: Duration,
) -> Result<TcpStream, PsiError> {
    let local = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    let accept_error = |source| PsiError::Connect {
        action: "accept on",
        addr: local.clone(),
        source,
    };
    listener.set_nonblocking(true).map_err(accept_error)?;
    let started = Instant::now();
    loop {
        match listener.accept() {
            Ok((stream, from)) => {
                stream.set_nonblocking(false).map_err(accept_error)?;
                if from.ip() != peer_host {
                    return Err(PsiError::UnexpectedPeer {
                        expected: peer_host.to_string(),
                        found: from.to_string(),
                    });
                }
                return Ok(stream);
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock && started.elapsed() < wait => {
                thread::sleep(RETRY_PAUSE)
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                return Err(accept_error(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!(
                        "no peer connected within {} s; start the other party",
                        wait.as_secs()
                    ),
                )));
            }
            Err(e) => return Err(accept_error(e)),
        }
    }
}

/// The host part of a peer address (`host:port` or a bare host).
pub fn peer_host(addr: &str) -> Result<IpAddr, PsiError> {
    if let Ok(ip) = addr.parse::<IpAddr>() {
        return Ok(ip);
    }
    resolve(addr, "resolve").map(|a| a.ip())
}
