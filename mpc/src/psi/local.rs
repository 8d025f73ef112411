//! Both roles in one process over a loopback TCP connection (`weinong psi local`): the
//! same code path as two departments, for trying the protocol on two files.

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr};
use std::thread;

use super::error::PsiError;
use super::input::IdentifierReader;
use super::limits::CONNECT_TIMEOUT;
use super::net::{accept_from, connect, listen};
use super::progress::{NoProgress, Progress};
use super::session::{ReceiverReport, SenderReport, run_receiver_with, run_sender_with};
use super::wire::{Mode, Protocol};

/// ECDH-PSI with `receiver_input` as the receiver and `sender_input` as the sender; see
/// [`run_local_with`].
pub fn run_local(
    receiver_input: IdentifierReader,
    sender_input: IdentifierReader,
    mode: Mode,
    out: &mut dyn Write,
    progress: &dyn Progress,
) -> Result<(ReceiverReport, SenderReport), PsiError> {
    run_local_with(
        receiver_input,
        sender_input,
        Protocol::Ecdh,
        mode,
        out,
        progress,
    )
}

/// Run `receiver_input` as the receiver and `sender_input` as the sender of `protocol`,
/// writing the receiver's result to `out`. Progress is reported for the receiver only.
pub fn run_local_with(
    receiver_input: IdentifierReader,
    sender_input: IdentifierReader,
    protocol: Protocol,
    mode: Mode,
    out: &mut dyn Write,
    progress: &dyn Progress,
) -> Result<(ReceiverReport, SenderReport), PsiError> {
    let listener = listen("127.0.0.1:0")?;
    let addr = listener
        .local_addr()
        .map_err(|source| PsiError::Connect {
            action: "listen on",
            addr: "127.0.0.1:0".to_owned(),
            source,
        })?
        .to_string();
    thread::scope(|s| {
        let sender = s.spawn(move || {
            run_sender_with(connect(&addr)?, sender_input, protocol, mode, &NoProgress)
        });
        let receiver = accept_from(&listener, IpAddr::V4(Ipv4Addr::LOCALHOST), CONNECT_TIMEOUT)
            .and_then(|stream| {
                run_receiver_with(stream, receiver_input, protocol, mode, out, progress)
            });
        let sender = sender.join().unwrap_or(Err(PsiError::PeerClosed {
            phase: "the local sender thread",
        }));
        // The receiver's error explains the sender's (which is usually "peer closed").
        let receiver = receiver?;
        Ok((receiver, sender?))
    })
}
