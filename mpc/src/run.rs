//! Run one three-party computation inside this process: three threads, one [`Party`]
//! each, connected by the in-process or the loopback-TCP transport. For tests, benchmarks
//! and `weinong mpc selftest`; a deployment runs each party in its own node.

use std::time::Duration;

use crate::limits::RECV_TIMEOUT_DEFAULT;
use crate::transport::Transport;
use crate::transport::local::LocalTransport;
use crate::transport::tcp::TcpTransport;
use crate::{MpcError, Party, PartyId, PartySecrets, SessionId};

/// Which transport [`run_three_with`] connects the parties with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransportKind {
    /// In-process bounded channels.
    InProcess,
    /// Loopback TCP with HMAC-SM3 frames.
    LoopbackTcp,
}

/// Options for [`run_three_with`].
#[derive(Clone, Copy, Debug)]
pub struct RunOptions {
    /// The transport.
    pub transport: TransportKind,
    /// How long a party waits for one frame.
    pub recv_timeout: Duration,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            transport: TransportKind::InProcess,
            recv_timeout: RECV_TIMEOUT_DEFAULT,
        }
    }
}

/// Runs `f` on three parties over the in-process transport and returns the three results
/// (indexed by party), or the first party's error.
pub fn run_three<T, F>(f: F) -> Result<[T; 3], MpcError>
where
    T: Send,
    F: Fn(&mut Party) -> Result<T, MpcError> + Sync,
{
    let [r0, r1, r2] = run_three_with(&RunOptions::default(), f)?;
    Ok([r0?, r1?, r2?])
}

/// Runs `f` on three parties over the in-process transport and returns each party's own
/// result, errors included (to check that every party fails cleanly).
pub fn run_three_each<T, F>(f: F) -> Result<[Result<T, MpcError>; 3], MpcError>
where
    T: Send,
    F: Fn(&mut Party) -> Result<T, MpcError> + Sync,
{
    run_three_with(&RunOptions::default(), f)
}

/// Runs `f` on three parties with `options`; the outer error is a setup failure, the inner
/// results are each party's own.
pub fn run_three_with<T, F>(
    options: &RunOptions,
    f: F,
) -> Result<[Result<T, MpcError>; 3], MpcError>
where
    T: Send,
    F: Fn(&mut Party) -> Result<T, MpcError> + Sync,
{
    let session = SessionId::random()?;
    let secrets = PartySecrets::deal()?;
    let transports: [Box<dyn Transport>; 3] = match options.transport {
        TransportKind::InProcess => {
            LocalTransport::triple(options.recv_timeout).map(|t| Box::new(t) as Box<dyn Transport>)
        }
        TransportKind::LoopbackTcp => {
            TcpTransport::loopback_triple(&session, &secrets, options.recv_timeout)?
                .map(|t| Box::new(t) as Box<dyn Transport>)
        }
    };
    let results = on_party_threads(transports, |party, transport| {
        let mut party = Party::new(&session, &secrets[party.index()], transport);
        // The party (and its transport) drops when `f` returns, error or not,
        // so neighbours waiting on it see PeerClosed instead of a time-out.
        f(&mut party)
    });
    results.try_into().map_err(|_| MpcError::Setup {
        reason: "three results expected".into(),
    })
}

/// Runs `f` for each party, with that party's input, on its own scoped thread, and returns
/// the three results in party order; a thread that panicked is its party's
/// [`MpcError::PartyPanicked`].
pub(crate) fn on_party_threads<I, T, F>(inputs: [I; 3], f: F) -> Vec<Result<T, MpcError>>
where
    I: Send,
    T: Send,
    F: Fn(PartyId, I) -> Result<T, MpcError> + Sync,
{
    let f = &f;
    std::thread::scope(|scope| {
        let handles: Vec<_> = PartyId::ALL
            .into_iter()
            .zip(inputs)
            .map(|(party, input)| scope.spawn(move || f(party, input)))
            .collect();
        handles
            .into_iter()
            .zip(PartyId::ALL)
            .map(|(h, party)| h.join().unwrap_or(Err(MpcError::PartyPanicked { party })))
            .collect()
    })
}
