//! The two roles of ECDH-PSI over one TCP connection.
//!
//! Protocol (semi-honest; `a` is the receiver's scalar, `b` the sender's, both fresh):
//!
//! 1. Both send `Hello` (version, role, mode) and check the peer's.
//! 2. Each hashes and blinds its own identifiers (`H(x)^a`, `H(y)^b`), sorts the points and
//!    drops duplicates. Sorting puts them in an order that depends only on the set, so
//!    neither the peer's row order nor its duplicates leak. Each sends its points.
//! 3. The receiver reblinds the sender's points (`H(y)^ba`) and keeps them sorted.
//!    The sender reblinds the receiver's points (`H(x)^ab`) and returns them in the order
//!    received, or shuffled in cardinality-only mode.
//! 4. The receiver looks each returned point up among `H(y)^ba`: a hit at position `i` is
//!    its own row `rows[i]`. It sends `Done`; the intersection is written by re-reading
//!    the input for the matched rows.
//!
//! Each party runs a writer thread (which sends a keep-alive when nothing else is queued,
//! so the peer's read time-out only fires when this party is gone) and a reader thread
//! (which reblinds or matches the peer's stream while the main thread blinds the own
//! input). The first failure stops the other threads; the peer is told why with `Abort`.

use std::io::{BufReader, BufWriter, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};
use std::thread;

use rand::seq::SliceRandom;
use rayon::prelude::*;

use super::channel::{Connection, ConnectionControl, Counted, Traffic};
use super::error::PsiError;
use super::group::{BlindingKey, PointBytes};
use super::input::{IdentifierReader, IdentifierSource, InputStats, SourceRow};
use super::kkrt;
use super::limits::{
    BATCH_POINTS_MAX, INPUT_CHUNK_ROWS, KEEPALIVE_INTERVAL, PEER_POINTS_MAX, SEND_QUEUE_FRAMES,
};
use super::progress::{Progress, Stage};
use super::wire::{
    Frame, Mode, PROTOCOL_VERSION, Protocol, Role, io_error, read_frame, write_frame,
};

/// What the sender learns: its own counts and the size of the receiver's distinct set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SenderReport {
    /// Counts over the sender's input.
    pub own: InputStats,
    /// Distinct identifiers the receiver sent.
    pub peer_distinct: u64,
    /// Bytes on the wire.
    pub traffic: Traffic,
}

/// What the receiver learns besides the intersection written to its output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiverReport {
    /// Counts over the receiver's input.
    pub own: InputStats,
    /// Distinct identifiers the sender sent.
    pub peer_distinct: u64,
    /// Distinct identifiers in both sets.
    pub intersection: u64,
    /// The mode the run used.
    pub mode: Mode,
    /// Bytes on the wire.
    pub traffic: Traffic,
}

/// Run the sender of `protocol` over `stream`.
pub fn run_sender_with(
    stream: impl Connection,
    input: impl IdentifierSource,
    protocol: Protocol,
    mode: Mode,
    progress: &dyn Progress,
) -> Result<SenderReport, PsiError> {
    match protocol {
        Protocol::Ecdh => run_sender(stream, input, mode, progress),
        Protocol::Kkrt => kkrt::session::run_sender(stream, input, mode, progress),
    }
}

/// Run the receiver of `protocol` over `stream`, writing the result as [`run_receiver`]
/// does.
pub fn run_receiver_with(
    stream: impl Connection,
    mut input: IdentifierReader,
    protocol: Protocol,
    mode: Mode,
    out: &mut dyn Write,
    progress: &dyn Progress,
) -> Result<ReceiverReport, PsiError> {
    let (report, matched_rows) =
        run_receiver_rows_with(stream, &mut input, protocol, mode, progress)?;
    write_output(&input, mode, &report, matched_rows, out, progress)?;
    Ok(report)
}

/// Run the receiver of `protocol` over `stream` and return the matched rows, as
/// [`run_receiver_rows`] does.
pub fn run_receiver_rows_with(
    stream: impl Connection,
    input: &mut dyn IdentifierSource,
    protocol: Protocol,
    mode: Mode,
    progress: &dyn Progress,
) -> Result<(ReceiverReport, Vec<u32>), PsiError> {
    match protocol {
        Protocol::Ecdh => run_receiver_rows(stream, input, mode, progress),
        Protocol::Kkrt => kkrt::session::run_receiver_rows(stream, input, mode, progress),
    }
}

/// Run the ECDH sender over `stream`: blind `input`, reblind the receiver's points, return
/// them.
pub fn run_sender(
    stream: impl Connection,
    mut input: impl IdentifierSource,
    mode: Mode,
    progress: &dyn Progress,
) -> Result<SenderReport, PsiError> {
    let key = BlindingKey::generate()?;
    let (mut report, traffic) = run_party(
        stream,
        Role::Sender,
        mode,
        Protocol::Ecdh,
        |outbox, inbox, control, failure| {
            let key = &key;
            thread::scope(|s| {
                let reader =
                    s.spawn(move || failure.watch(sender_reader(inbox, key, mode, progress)));
                let result = sender_main(&outbox, &mut input, key, mode, failure, progress, reader);
                if result.is_err() {
                    control.stop_reading();
                }
                result
            })
        },
    )?;
    report.traffic = traffic;
    Ok(report)
}

/// Run the ECDH receiver over `stream`. In intersection mode the matching identifiers are
/// written to `out` as CSV (a header naming the input column, then one normalised
/// identifier per line, in input order); in cardinality-only mode `intersection_size`
/// and the count.
pub fn run_receiver(
    stream: impl Connection,
    input: IdentifierReader,
    mode: Mode,
    out: &mut dyn Write,
    progress: &dyn Progress,
) -> Result<ReceiverReport, PsiError> {
    run_receiver_with(stream, input, Protocol::Ecdh, mode, out, progress)
}

/// Run the ECDH receiver over `stream` and return, besides the report, the rows of `input`
/// (ascending) whose identifiers the sender also holds; empty in cardinality-only mode.
pub fn run_receiver_rows(
    stream: impl Connection,
    input: &mut dyn IdentifierSource,
    mode: Mode,
    progress: &dyn Progress,
) -> Result<(ReceiverReport, Vec<u32>), PsiError> {
    let key = BlindingKey::generate()?;
    let ((mut report, matched_rows), traffic) = run_party(
        stream,
        Role::Receiver,
        mode,
        Protocol::Ecdh,
        |outbox, inbox, control, failure| {
            let key = &key;
            let (rows_tx, rows_rx) = sync_channel::<Vec<u32>>(1);
            thread::scope(|s| {
                let reader = s.spawn(move || {
                    failure.watch(receiver_reader(inbox, key, mode, rows_rx, progress))
                });
                let result = (|| {
                    let own = receiver_main(&outbox, input, key, failure, progress, rows_tx)?;
                    let (matches, peer_distinct) =
                        reader.join().ok().flatten().ok_or(Halt::Stopped)?;
                    outbox.send(Frame::Done)?;
                    let report = ReceiverReport {
                        own,
                        peer_distinct,
                        intersection: matches.count,
                        mode,
                        traffic: Traffic::default(),
                    };
                    Ok((report, matches.rows))
                })();
                if result.is_err() {
                    control.stop_reading();
                }
                result
            })
        },
    )?;
    report.traffic = traffic;
    let mut matched_rows = matched_rows;
    matched_rows.sort_unstable();
    Ok((report, matched_rows))
}

/// Why a thread stopped: its own error, or another thread's (already recorded).
pub(super) enum Halt {
    Error(PsiError),
    Stopped,
}

impl From<PsiError> for Halt {
    fn from(e: PsiError) -> Self {
        Halt::Error(e)
    }
}

/// The first meaningful failure among a party's threads, and a flag the others poll.
pub(super) struct Failure {
    stopped: AtomicBool,
    error: Mutex<Option<PsiError>>,
}

impl Failure {
    fn record(&self, e: PsiError) {
        let mut slot = self
            .error
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // Keep the most informative error: the peer's stated reason beats our own finding,
        // which beats the broken connection it usually causes.
        if slot.as_ref().is_none_or(|old| rank(&e) > rank(old)) {
            *slot = Some(e);
        }
        self.stopped.store(true, Ordering::SeqCst);
    }

    pub(super) fn is_stopped(&self) -> bool {
        self.stopped.load(Ordering::SeqCst)
    }

    /// Run a thread's body, recording its error.
    pub(super) fn watch<T>(&self, result: Result<T, Halt>) -> Option<T> {
        match result {
            Ok(v) => Some(v),
            Err(Halt::Error(e)) => {
                self.record(e);
                None
            }
            Err(Halt::Stopped) => None,
        }
    }

    /// What to tell the peer, if this party stopped for a reason of its own.
    fn abort_reason(&self) -> Option<String> {
        let slot = self
            .error
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        slot.as_ref().and_then(peer_message)
    }

    fn take(&self) -> Option<PsiError> {
        self.error
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
    }
}

fn rank(e: &PsiError) -> u8 {
    match e {
        PsiError::PeerAborted { .. } => 3,
        PsiError::PeerClosed { .. } | PsiError::Timeout { .. } | PsiError::Network { .. } => 1,
        _ => 2,
    }
}

/// The reading half of a party's connection, counted.
pub(super) type PartyReader<C> = Counted<<C as Connection>::Reader>;

/// Set up the connection, run `body` with a writer thread beside it, and settle errors.
/// Returns the body's value and the bytes sent and received.
pub(super) fn run_party<C: Connection, T>(
    stream: C,
    role: Role,
    mode: Mode,
    protocol: Protocol,
    body: impl FnOnce(
        Outbox,
        Inbox<PartyReader<C>>,
        &dyn ConnectionControl,
        &Failure,
    ) -> Result<T, Halt>,
) -> Result<(T, Traffic), PsiError> {
    let (reader_stream, writer_stream, control) = stream
        .split()
        .map_err(|e| io_error(e, "setting up the connection"))?;
    let (sent, received) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let reader_stream = Counted::new(reader_stream, Arc::clone(&received));
    let writer_stream = Counted::new(writer_stream, Arc::clone(&sent));
    let failure = Failure {
        stopped: AtomicBool::new(false),
        error: Mutex::new(None),
    };
    let (tx, rx) = sync_channel::<Frame>(SEND_QUEUE_FRAMES);
    let outcome = thread::scope(|s| {
        let failure = &failure;
        let writer =
            s.spawn(move || failure.watch(writer_loop(writer_stream, rx).map_err(Halt::from)));
        let outbox = Outbox { tx };
        let hello = outbox.send(Frame::Hello {
            version: PROTOCOL_VERSION,
            role,
            mode,
            protocol,
        });
        let result = match hello {
            Ok(()) => body(outbox.clone(), Inbox::new(reader_stream), &control, failure),
            Err(e) => Err(e),
        };
        let value = failure.watch(result);
        if let Some(reason) = failure.abort_reason() {
            // Best effort: the writer may already be gone, and then so is the peer.
            let _ = outbox.send(Frame::Abort(reason));
        }
        drop(outbox);
        let _ = writer.join();
        if value.is_some() && !failure.is_stopped() {
            control.close_gracefully();
        } else {
            // Unblock a reader still waiting on the peer; the party is done either way.
            control.abort();
        }
        value
    });
    let traffic = Traffic {
        sent: sent.load(Ordering::Relaxed),
        received: received.load(Ordering::Relaxed),
    };
    match (outcome, failure.take()) {
        (_, Some(e)) => Err(e),
        (Some(v), None) => Ok((v, traffic)),
        (None, None) => Err(PsiError::PeerClosed { phase: "the run" }),
    }
}

/// What the peer is told when this party stops: no local paths, no identifiers.
fn peer_message(e: &PsiError) -> Option<String> {
    let text = match e {
        PsiError::PeerAborted { .. } | PsiError::PeerClosed { .. } | PsiError::Timeout { .. } => {
            return None;
        }
        PsiError::Network { .. } => return None,
        PsiError::MissingColumn { column, .. } => format!("its input has no column {column:?}"),
        PsiError::EmptyInput { .. } => "its input file is empty".to_owned(),
        PsiError::NoRows { .. } => "its input has no data rows".to_owned(),
        PsiError::NoValidIdentifiers { invalid, .. } => {
            format!("none of its {invalid} input rows is a valid identifier")
        }
        PsiError::MalformedRow { line, reason, .. } => {
            format!("its input line {line} is a malformed CSV row ({reason})")
        }
        PsiError::TooManyRows { max, .. } => format!("its input has more than {max} rows"),
        PsiError::InputRead { .. } => "it cannot read its input".to_owned(),
        PsiError::OutputWrite(_) => "it cannot write its output".to_owned(),
        other => other.to_string(),
    };
    Some(text)
}

/// The sending side of the connection, shared by the threads that produce frames.
#[derive(Clone)]
pub(super) struct Outbox {
    tx: SyncSender<Frame>,
}

impl Outbox {
    pub(super) fn send(&self, frame: Frame) -> Result<(), Halt> {
        // The writer only drops its end after recording an error.
        self.tx.send(frame).map_err(|_| Halt::Stopped)
    }

    /// `Begin`, the points in batches, `End`.
    fn send_points(&self, points: &[PointBytes], failure: &Failure) -> Result<(), Halt> {
        let count = u64::try_from(points.len()).unwrap_or(u64::MAX);
        self.send(Frame::Begin { count })?;
        for batch in points.chunks(BATCH_POINTS_MAX) {
            if failure.is_stopped() {
                return Err(Halt::Stopped);
            }
            self.send(Frame::Points(batch.to_vec()))?;
        }
        self.send(Frame::End { count })
    }
}

fn writer_loop(stream: impl Write, rx: Receiver<Frame>) -> Result<(), PsiError> {
    let mut w = BufWriter::with_capacity(1 << 18, stream);
    loop {
        let frame = match rx.recv_timeout(KEEPALIVE_INTERVAL) {
            Ok(frame) => frame,
            Err(RecvTimeoutError::Timeout) => Frame::KeepAlive,
            Err(RecvTimeoutError::Disconnected) => return Ok(()),
        };
        write_frame(&mut w, &frame)
            .and_then(|()| w.flush())
            .map_err(|e| io_error(e, "sending to the peer"))?;
    }
}

/// The receiving side of the connection.
pub(super) struct Inbox<R> {
    r: BufReader<R>,
}

impl<R: std::io::Read> Inbox<R> {
    fn new(stream: R) -> Self {
        Self {
            r: BufReader::with_capacity(1 << 18, stream),
        }
    }

    /// The next frame other than a keep-alive; an `Abort` becomes the peer's error.
    pub(super) fn next(&mut self, phase: &'static str) -> Result<Frame, PsiError> {
        loop {
            match read_frame(&mut self.r, phase)? {
                Frame::KeepAlive => continue,
                Frame::Abort(reason) => return Err(PsiError::PeerAborted { reason }),
                frame => return Ok(frame),
            }
        }
    }

    pub(super) fn expect_hello(
        &mut self,
        peer_role: Role,
        mode: Mode,
        protocol: Protocol,
    ) -> Result<(), PsiError> {
        let phase = "the greeting";
        match self.next(phase)? {
            Frame::Hello {
                version,
                role,
                mode: peer_mode,
                protocol: peer_protocol,
            } => {
                let reason = if version != PROTOCOL_VERSION {
                    format!("protocol version {version}, this party speaks {PROTOCOL_VERSION}")
                } else if role != peer_role {
                    format!(
                        "the peer is also a {role:?}; one party must be the sender, the other the receiver"
                    )
                } else if peer_mode != mode {
                    format!("the peer runs in {peer_mode:?} mode, this party in {mode:?} mode")
                } else if peer_protocol != protocol {
                    format!(
                        "the peer runs protocol {}, this party {}; both must use the same --protocol",
                        peer_protocol.name(),
                        protocol.name()
                    )
                } else {
                    return Ok(());
                };
                Err(PsiError::Protocol { phase, reason })
            }
            other => Err(PsiError::Protocol {
                phase,
                reason: format!("expected Hello, got {}", other.name()),
            }),
        }
    }

    /// Receive one point stream, handing each batch and its first index to `on_batch`.
    fn recv_points(
        &mut self,
        phase: &'static str,
        stage: Stage,
        progress: &dyn Progress,
        mut on_batch: impl FnMut(&[PointBytes], u64) -> Result<(), PsiError>,
    ) -> Result<u64, PsiError> {
        let announced = match self.next(phase)? {
            Frame::Begin { count } if count <= PEER_POINTS_MAX => count,
            Frame::Begin { count } => {
                return Err(PsiError::Protocol {
                    phase,
                    reason: format!("{count} points announced, at most {PEER_POINTS_MAX} accepted"),
                });
            }
            other => {
                return Err(PsiError::Protocol {
                    phase,
                    reason: format!("expected Begin, got {}", other.name()),
                });
            }
        };
        progress.begin(stage, announced);
        let mut received = 0u64;
        loop {
            match self.next(phase)? {
                Frame::Points(batch) => {
                    let len = u64::try_from(batch.len()).unwrap_or(u64::MAX);
                    if received + len > announced {
                        return Err(PsiError::Protocol {
                            phase,
                            reason: format!("more than the {announced} announced points"),
                        });
                    }
                    on_batch(&batch, received)?;
                    received += len;
                    progress.advance(stage, len);
                }
                Frame::End { count } if count == received && count == announced => break,
                Frame::End { count } => {
                    return Err(PsiError::Protocol {
                        phase,
                        reason: format!(
                            "stream ended after {received} points, {announced} announced, {count} claimed"
                        ),
                    });
                }
                other => {
                    return Err(PsiError::Protocol {
                        phase,
                        reason: format!("unexpected {} frame", other.name()),
                    });
                }
            }
        }
        progress.end(stage);
        Ok(received)
    }
}

/// Read, normalise, hash and blind the own input a chunk at a time; `sink` gets each
/// chunk's points with the identifiers they came from.
fn blind_input(
    input: &mut dyn IdentifierSource,
    key: &BlindingKey,
    failure: &Failure,
    progress: &dyn Progress,
    mut sink: impl FnMut(Vec<PointBytes>, &[SourceRow]),
) -> Result<InputStats, Halt> {
    progress.begin(Stage::BlindOwn, input.position().1);
    let mut chunk = Vec::with_capacity(INPUT_CHUNK_ROWS);
    let mut bytes_reported = 0u64;
    loop {
        if failure.is_stopped() {
            return Err(Halt::Stopped);
        }
        chunk.clear();
        let more = input.next_rows(&mut chunk, INPUT_CHUNK_ROWS)?;
        let ids: Vec<&[u8]> = chunk.iter().map(|i| i.bytes.as_slice()).collect();
        let points = key.blind_identifiers(&ids);
        sink(points, &chunk);
        let bytes_read = input.position().0;
        progress.advance(Stage::BlindOwn, bytes_read.saturating_sub(bytes_reported));
        bytes_reported = bytes_read;
        if !more {
            break;
        }
    }
    progress.end(Stage::BlindOwn);
    Ok(input.finish()?)
}

fn sender_main<R: std::io::Read>(
    outbox: &Outbox,
    input: &mut dyn IdentifierSource,
    key: &BlindingKey,
    mode: Mode,
    failure: &Failure,
    progress: &dyn Progress,
    reader: thread::ScopedJoinHandle<'_, Option<(Inbox<R>, Vec<PointBytes>)>>,
) -> Result<SenderReport, Halt> {
    let mut own: Vec<PointBytes> = Vec::new();
    let mut stats = blind_input(input, key, failure, progress, |points, _| {
        own.extend(points)
    })?;
    own.par_sort_unstable();
    own.dedup();
    stats.distinct = u64::try_from(own.len()).unwrap_or(u64::MAX);
    outbox.send_points(&own, failure)?;
    drop(own);
    let (mut inbox, mut returned) = reader.join().ok().flatten().ok_or(Halt::Stopped)?;
    let peer_distinct = u64::try_from(returned.len()).unwrap_or(u64::MAX);
    if mode == Mode::CardinalityOnly {
        // A uniformly random order (ThreadRng: ChaCha seeded by the OS) unlinks the
        // returned points from the receiver's rows.
        returned.shuffle(&mut rand::rng());
    }
    outbox.send_points(&returned, failure)?;
    drop(returned);
    match inbox.next("waiting for the receiver's confirmation")? {
        Frame::Done => Ok(SenderReport {
            own: stats,
            peer_distinct,
            traffic: Traffic::default(),
        }),
        other => Err(Halt::Error(PsiError::Protocol {
            phase: "waiting for the receiver's confirmation",
            reason: format!("expected Done, got {}", other.name()),
        })),
    }
}

fn sender_reader<R: std::io::Read>(
    mut inbox: Inbox<R>,
    key: &BlindingKey,
    mode: Mode,
    progress: &dyn Progress,
) -> Result<(Inbox<R>, Vec<PointBytes>), Halt> {
    inbox.expect_hello(Role::Receiver, mode, Protocol::Ecdh)?;
    let mut reblinded = Vec::new();
    inbox.recv_points(
        "reblinding the receiver's points",
        Stage::ReblindPeer,
        progress,
        |batch, first| {
            reblinded.extend(key.reblind(batch, first)?);
            Ok(())
        },
    )?;
    Ok((inbox, reblinded))
}

fn receiver_main(
    outbox: &Outbox,
    input: &mut dyn IdentifierSource,
    key: &BlindingKey,
    failure: &Failure,
    progress: &dyn Progress,
    rows_tx: SyncSender<Vec<u32>>,
) -> Result<InputStats, Halt> {
    let mut own: Vec<(PointBytes, u32)> = Vec::new();
    let mut stats = blind_input(input, key, failure, progress, |points, ids| {
        own.extend(points.into_iter().zip(ids.iter().map(|i| i.row)));
    })?;
    // Sorting by (point, row) and keeping the first of equal points keeps the first row
    // of each distinct identifier.
    own.par_sort_unstable();
    own.dedup_by(|later, first| later.0 == first.0);
    stats.distinct = u64::try_from(own.len()).unwrap_or(u64::MAX);
    let (points, rows): (Vec<PointBytes>, Vec<u32>) = own.into_iter().unzip();
    rows_tx.send(rows).map_err(|_| Halt::Stopped)?;
    outbox.send_points(&points, failure)?;
    Ok(stats)
}

/// The receiver's matches: how many, and (intersection mode) which input rows.
struct Matches {
    count: u64,
    rows: Vec<u32>,
}

fn receiver_reader<R: std::io::Read>(
    mut inbox: Inbox<R>,
    key: &BlindingKey,
    mode: Mode,
    rows_rx: Receiver<Vec<u32>>,
    progress: &dyn Progress,
) -> Result<(Matches, u64), Halt> {
    inbox.expect_hello(Role::Sender, mode, Protocol::Ecdh)?;
    let mut peer: Vec<PointBytes> = Vec::new();
    let peer_distinct = inbox.recv_points(
        "reblinding the sender's points",
        Stage::ReblindPeer,
        progress,
        |batch, first| {
            peer.extend(key.reblind(batch, first)?);
            Ok(())
        },
    )?;
    peer.par_sort_unstable();
    let rows = rows_rx.recv().map_err(|_| Halt::Stopped)?;
    let mut matches = Matches {
        count: 0,
        rows: Vec::new(),
    };
    let phase = "matching the returned points";
    let returned = inbox.recv_points(phase, Stage::Match, progress, |batch, first| {
        let first = usize::try_from(first).unwrap_or(usize::MAX);
        if first.saturating_add(batch.len()) > rows.len() {
            return Err(PsiError::Protocol {
                phase,
                reason: format!("more points returned than the {} sent", rows.len()),
            });
        }
        for (offset, point) in batch.iter().enumerate() {
            if peer.binary_search(point).is_ok() {
                matches.count += 1;
                if mode == Mode::Intersection {
                    matches.rows.push(rows[first + offset]);
                }
            }
        }
        Ok(())
    })?;
    if returned != u64::try_from(rows.len()).unwrap_or(u64::MAX) {
        return Err(Halt::Error(PsiError::Protocol {
            phase,
            reason: format!("{returned} points returned for the {} sent", rows.len()),
        }));
    }
    Ok((matches, peer_distinct))
}

/// Write the receiver's result: re-read the input and emit the matched rows' identifiers.
pub(super) fn write_output(
    input: &IdentifierReader,
    mode: Mode,
    report: &ReceiverReport,
    matched_rows: Vec<u32>,
    out: &mut dyn Write,
    progress: &dyn Progress,
) -> Result<(), PsiError> {
    let mut csv_out = csv::Writer::from_writer(out);
    let write_error = |e: csv::Error| PsiError::OutputWrite(std::io::Error::other(e));
    if mode == Mode::CardinalityOnly {
        csv_out
            .write_record(["intersection_size"])
            .map_err(write_error)?;
        csv_out
            .write_record([report.intersection.to_string()])
            .map_err(write_error)?;
        return csv_out.flush().map_err(PsiError::OutputWrite);
    }
    csv_out
        .write_record([input.column_name()])
        .map_err(write_error)?;
    let mut reread = input.reopen()?;
    progress.begin(Stage::WriteOutput, report.own.rows);
    let mut chunk = Vec::with_capacity(INPUT_CHUNK_ROWS);
    let mut next = matched_rows.iter().peekable();
    loop {
        chunk.clear();
        let more = reread.next_chunk(&mut chunk, INPUT_CHUNK_ROWS)?;
        for ident in &chunk {
            if next.peek() == Some(&&ident.row) {
                csv_out
                    .write_record([ident.id.as_str()])
                    .map_err(write_error)?;
                next.next();
            }
        }
        progress.advance(Stage::WriteOutput, u64::try_from(chunk.len()).unwrap_or(0));
        if !more {
            break;
        }
    }
    progress.end(Stage::WriteOutput);
    // The file changed under us if a matched row is no longer there or no longer valid.
    if next.next().is_some() {
        return Err(PsiError::InputRead {
            path: input.path().to_path_buf(),
            source: std::io::Error::other("the input changed while the PSI ran; run again"),
        });
    }
    csv_out.flush().map_err(PsiError::OutputWrite)
}
