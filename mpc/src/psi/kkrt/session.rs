//! The two roles of KKRT PSI over one connection, on the same framing, writer thread,
//! keep-alives and error handling as ECDH ([`crate::psi::session`]).
//!
//! ```text
//! receiver                                         sender
//! Hello, Seed, BaseOtSender(A)        ──▶
//!                                     ◀──          Hello, Seed
//! hash own IDs (salt from both seeds)              base OTs as OT receiver (choices s)
//!                                     ◀──          BaseOtReceiver(B_0 … B_511)
//! cuckoo table, Table(bins, distinct) ──▶          hash own IDs, simple hashing
//! Begin, Columns(u) per chunk, End    ──▶          q rows per chunk; 3 values per element
//! own values H(j, t0_j) kept                       all values shuffled
//!                                     ◀──          Begin, Values…, End
//! look each value up; Done            ──▶
//! ```
//!
//! What crosses the wire: seeds (public randomness), base-OT points (uniform), the column
//! chunks `u` (one-time padded by the PRG of a key the sender does not have), and the
//! sender's OPRF values in random order. No identifier, no item hash and no OPRF value of
//! the receiver's crosses; a sender value reveals its element only if the receiver holds
//! the same element. Each side learns the other's distinct set size (the receiver's via
//! the table size), as with ECDH.

use std::collections::HashMap;
use std::io::Read;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread;

use rand::seq::SliceRandom;
use rayon::prelude::*;
use sha2::{Digest, Sha256};

use super::base_ot::{self, OtSender};
use super::code::{Code, ItemHash, hash_item, value};
use super::cuckoo::{CuckooTable, SimpleHashing};
use super::ot_ext::{ExtReceiver, ExtSender, masked};
use super::params::{
    CHUNK_BINS, CODE_BITS, CODE_WORDS, COLUMNS_FRAME_BYTES, CUCKOO_ATTEMPTS, HASHES, Row,
    VALUES_BATCH_MAX, Value, bins_for, chunks_for,
};
use crate::psi::channel::{Connection, Traffic};
use crate::psi::error::PsiError;
use crate::psi::group::PointBytes;
use crate::psi::input::{IdentifierSource, InputStats, SourceRow};
use crate::psi::limits::{INPUT_CHUNK_ROWS, PEER_POINTS_MAX};
use crate::psi::progress::{Progress, Stage};
use crate::psi::session::{Failure, Halt, Inbox, Outbox, ReceiverReport, SenderReport, run_party};
use crate::psi::wire::{Frame, Mode, Protocol, Role};

/// Domain separation of the run's public randomness.
const RUN_DST: &[u8] = b"WEINONG-PSI-KKRT-V01-RUN";

const PHASE_SEED: &str = "exchanging the run's seeds";
const PHASE_BASE_OT: &str = "the base OTs";
const PHASE_TABLE: &str = "receiving the receiver's table size";
const PHASE_COLUMNS: &str = "receiving the OT-extension columns";
const PHASE_VALUES: &str = "receiving the sender's OPRF values";
const PHASE_DONE: &str = "waiting for the receiver's confirmation";

/// The run's public randomness, derived from both parties' seeds so neither chooses it.
pub(super) struct RunKeys {
    pub(super) item_salt: [u8; 32],
    code_key: [u8; 16],
    walk_seed: u64,
}

pub(super) fn run_keys(receiver_seed: &[u8; 32], sender_seed: &[u8; 32]) -> RunKeys {
    let derive = |label: &[u8]| {
        let digest = Sha256::new()
            .chain_update(RUN_DST)
            .chain_update(receiver_seed)
            .chain_update(sender_seed)
            .chain_update(label)
            .finalize();
        let mut out = [0u8; 32];
        out.copy_from_slice(&digest);
        out
    };
    let mut code_key = [0u8; 16];
    code_key.copy_from_slice(&derive(b"code")[..16]);
    let mut walk = [0u8; 8];
    walk.copy_from_slice(&derive(b"cuckoo-walk")[..8]);
    RunKeys {
        item_salt: derive(b"items"),
        code_key,
        walk_seed: u64::from_le_bytes(walk),
    }
}

fn fresh_seed() -> Result<[u8; 32], PsiError> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| PsiError::Randomness(e.to_string()))?;
    Ok(seed)
}

fn unexpected(phase: &'static str, expected: &str, got: &Frame) -> Halt {
    Halt::Error(PsiError::Protocol {
        phase,
        reason: format!("expected {expected}, got {}", got.name()),
    })
}

fn violation(phase: &'static str, reason: String) -> Halt {
    Halt::Error(PsiError::Protocol { phase, reason })
}

fn refuse_cardinality(mode: Mode) -> Result<(), PsiError> {
    match mode {
        Mode::Intersection => Ok(()),
        Mode::CardinalityOnly => Err(PsiError::ModeNotSupported {
            protocol: Protocol::Kkrt.name(),
            reason: "its receiver learns which of its rows match; run cardinality-only \
                     mode with --protocol ecdh",
        }),
    }
}

fn expect_seed<R: Read>(inbox: &mut Inbox<R>) -> Result<[u8; 32], Halt> {
    match inbox.next(PHASE_SEED)? {
        Frame::Seed(seed) => Ok(seed),
        other => Err(unexpected(PHASE_SEED, "Seed", &other)),
    }
}

/// Reads the whole own input a chunk at a time and hashes it on all cores: the item hashes
/// and their rows, in input order, and the input's counts.
fn hash_input(
    input: &mut dyn IdentifierSource,
    salt: &[u8; 32],
    failure: &Failure,
    progress: &dyn Progress,
) -> Result<(Vec<ItemHash>, Vec<u32>, InputStats), Halt> {
    progress.begin(Stage::BlindOwn, input.position().1);
    let mut chunk: Vec<SourceRow> = Vec::with_capacity(INPUT_CHUNK_ROWS);
    let mut items = Vec::new();
    let mut rows = Vec::new();
    let mut reported = 0u64;
    loop {
        if failure.is_stopped() {
            return Err(Halt::Stopped);
        }
        chunk.clear();
        let more = input.next_rows(&mut chunk, INPUT_CHUNK_ROWS)?;
        items.par_extend(chunk.par_iter().map(|r| hash_item(salt, &r.bytes)));
        rows.extend(chunk.iter().map(|r| r.row));
        let done = input.position().0;
        progress.advance(Stage::BlindOwn, done.saturating_sub(reported));
        reported = done;
        if !more {
            break;
        }
    }
    progress.end(Stage::BlindOwn);
    Ok((items, rows, input.finish()?))
}

/// Keeps the first row of each distinct element; sorting by the item hash also forgets the
/// input order.
fn distinct(items: Vec<ItemHash>, rows: Vec<u32>) -> (Vec<ItemHash>, Vec<u32>) {
    let mut pairs: Vec<(ItemHash, u32)> = items.into_iter().zip(rows).collect();
    pairs.par_sort_unstable_by(|a, b| a.0.key.cmp(&b.0.key).then(a.1.cmp(&b.1)));
    pairs.dedup_by(|later, first| later.0.key == first.0.key);
    pairs.into_iter().unzip()
}

fn u64_of(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

/// Builds the receiver's cuckoo table, growing it by 5 % per failed attempt.
fn build_table(items: &[ItemHash], walk_seed: u64) -> Result<(u64, CuckooTable), PsiError> {
    let base = bins_for(u64_of(items.len()));
    for attempt in 0..CUCKOO_ATTEMPTS {
        let bins = base + base * u64::from(attempt) / 20;
        if let Some(table) = CuckooTable::build(items, bins, walk_seed ^ u64::from(attempt)) {
            return Ok((bins, table));
        }
    }
    Err(PsiError::CuckooFailed {
        elements: u64_of(items.len()),
        attempts: CUCKOO_ATTEMPTS,
    })
}

/// The receiver of KKRT PSI over `stream`: the rows of `input` (ascending) whose identifiers
/// the sender also holds. Intersection mode only.
pub(crate) fn run_receiver_rows(
    stream: impl Connection,
    input: &mut dyn IdentifierSource,
    mode: Mode,
    progress: &dyn Progress,
) -> Result<(ReceiverReport, Vec<u32>), PsiError> {
    refuse_cardinality(mode)?;
    let seed = fresh_seed()?;
    let ot = OtSender::new()?;
    let ((mut report, mut matched), traffic) = run_party(
        stream,
        Role::Receiver,
        mode,
        Protocol::Kkrt,
        |outbox, inbox, control, failure| {
            outbox.send(Frame::Seed(seed))?;
            outbox.send(Frame::BaseOtSender(ot.message()))?;
            // A reader thread takes every frame from the sender as it arrives, so an
            // `Abort` stops this party at once, even while it is still sending columns.
            let (peer_tx, peer_rx) = sync_channel::<FromSender>(2);
            let (own_tx, own_rx) = sync_channel::<HashMap<Value, u32>>(1);
            thread::scope(|s| {
                let reader = s.spawn(move || {
                    failure.watch(receiver_reader(inbox, mode, peer_tx, own_rx, progress))
                });
                let result = (|| {
                    let Ok(FromSender::Seed(sender_seed)) = peer_rx.recv() else {
                        return Err(Halt::Stopped);
                    };
                    let keys = run_keys(&seed, &sender_seed);
                    // The own input is hashed while the sender answers the base OTs.
                    let (items, rows, mut stats) =
                        hash_input(input, &keys.item_salt, failure, progress)?;
                    let (items, rows) = distinct(items, rows);
                    stats.distinct = u64_of(items.len());
                    let Ok(FromSender::BaseOt(points)) = peer_rx.recv() else {
                        return Err(Halt::Stopped);
                    };
                    let mut ext = ExtReceiver::new(&ot.keys(&points)?);
                    let (bins, table) = build_table(&items, keys.walk_seed)?;
                    outbox.send(Frame::Table {
                        bins,
                        distinct: stats.distinct,
                    })?;
                    let own = encode_bins(
                        &outbox, &mut ext, &table, &items, &rows, &keys, bins, failure, progress,
                    )?;
                    drop((items, rows, table));
                    own_tx.send(own).map_err(|_| Halt::Stopped)?;
                    let (peer_distinct, matched) =
                        reader.join().ok().flatten().ok_or(Halt::Stopped)?;
                    outbox.send(Frame::Done)?;
                    let report = ReceiverReport {
                        own: stats,
                        peer_distinct,
                        intersection: u64_of(matched.len()),
                        mode,
                        traffic: Traffic::default(),
                    };
                    Ok((report, matched))
                })();
                if result.is_err() {
                    control.stop_reading();
                }
                result
            })
        },
    )?;
    report.traffic = traffic;
    matched.sort_unstable();
    Ok((report, matched))
}

/// What the receiver's reader thread hands to its main thread.
enum FromSender {
    Seed([u8; 32]),
    BaseOt(Vec<PointBytes>),
}

/// The receiver's reader thread: the greeting, the sender's seed and base-OT answer, then
/// (as soon as they come, while the main thread may still be sending columns) the values,
/// matched against the own values once the main thread has them.
fn receiver_reader<R: Read>(
    mut inbox: Inbox<R>,
    mode: Mode,
    peer_tx: SyncSender<FromSender>,
    own_rx: Receiver<HashMap<Value, u32>>,
    progress: &dyn Progress,
) -> Result<(u64, Vec<u32>), Halt> {
    inbox.expect_hello(Role::Sender, mode, Protocol::Kkrt)?;
    let seed = expect_seed(&mut inbox)?;
    peer_tx
        .send(FromSender::Seed(seed))
        .map_err(|_| Halt::Stopped)?;
    match inbox.next(PHASE_BASE_OT)? {
        Frame::BaseOtReceiver(points) => peer_tx
            .send(FromSender::BaseOt(points))
            .map_err(|_| Halt::Stopped)?,
        other => return Err(unexpected(PHASE_BASE_OT, "BaseOtReceiver", &other)),
    }
    // The sender says nothing more (but keep-alives) until it has every column; an Abort
    // in between ends the run here.
    let announced = match inbox.next(PHASE_VALUES)? {
        Frame::Begin { count } => count,
        other => return Err(unexpected(PHASE_VALUES, "Begin", &other)),
    };
    let own = own_rx.recv().map_err(|_| Halt::Stopped)?;
    match_values(&mut inbox, announced, own, progress)
}

/// Streams the column chunks of every bin to the sender and keeps the receiver's own OPRF
/// values, each with the row of the element it stands for.
#[allow(clippy::too_many_arguments)]
fn encode_bins(
    outbox: &Outbox,
    ext: &mut ExtReceiver,
    table: &CuckooTable,
    items: &[ItemHash],
    rows: &[u32],
    keys: &RunKeys,
    bins: u64,
    failure: &Failure,
    progress: &dyn Progress,
) -> Result<HashMap<Value, u32>, Halt> {
    let code = Code::new(keys.code_key);
    let chunks = chunks_for(bins);
    let mut own: HashMap<Value, u32> = HashMap::with_capacity(items.len());
    outbox.send(Frame::Begin { count: chunks })?;
    progress.begin(Stage::Encode, chunks);
    let mut t0 = vec![[0u64; CODE_WORDS]; CHUNK_BINS];
    for chunk in 0..chunks {
        if failure.is_stopped() {
            return Err(Halt::Stopped);
        }
        let first = usize::try_from(chunk).unwrap_or(usize::MAX) * CHUNK_BINS;
        let codewords: Vec<Row> = (first..first + CHUNK_BINS)
            .into_par_iter()
            .map(|bin| match table.get(bin) {
                Some((item, h)) => code.encode(&items[item as usize].key, h),
                None => [0; CODE_WORDS],
            })
            .collect();
        let mut u = vec![0u8; COLUMNS_FRAME_BYTES];
        ext.chunk(&codewords, &mut u, &mut t0);
        outbox.send(Frame::Columns {
            chunk: u32::try_from(chunk).unwrap_or(u32::MAX),
            bytes: u,
        })?;
        let values: Vec<(Value, u32)> = (first..first + CHUNK_BINS)
            .into_par_iter()
            .filter_map(|bin| {
                let (item, _) = table.get(bin)?;
                Some((value(u64_of(bin), &t0[bin - first]), rows[item as usize]))
            })
            .collect();
        own.extend(values);
        progress.advance(Stage::Encode, 1);
    }
    outbox.send(Frame::End { count: chunks })?;
    progress.end(Stage::Encode);
    Ok(own)
}

/// Receives the `announced` values of the sender and looks each up among the receiver's
/// own: the sender's distinct count and the matched rows.
fn match_values<R: Read>(
    inbox: &mut Inbox<R>,
    announced: u64,
    mut own: HashMap<Value, u32>,
    progress: &dyn Progress,
) -> Result<(u64, Vec<u32>), Halt> {
    let phase = PHASE_VALUES;
    let per_element = u64_of(HASHES);
    if !announced.is_multiple_of(per_element) || announced > PEER_POINTS_MAX * per_element {
        return Err(violation(
            phase,
            format!(
                "{announced} values announced: not {HASHES} per element, or more than {PEER_POINTS_MAX} elements"
            ),
        ));
    }
    progress.begin(Stage::Match, announced);
    let mut received = 0u64;
    let mut matched = Vec::new();
    loop {
        match inbox.next(phase)? {
            Frame::Values(batch) => {
                received += u64_of(batch.len());
                if received > announced {
                    return Err(violation(
                        phase,
                        format!("more than the {announced} announced values"),
                    ));
                }
                // A value matches at most once: removing it keeps a repeated value from
                // counting a row twice.
                matched.extend(batch.iter().filter_map(|v| own.remove(v)));
                progress.advance(Stage::Match, u64_of(batch.len()));
            }
            Frame::End { count } if count == received && count == announced => break,
            Frame::End { count } => {
                return Err(violation(
                    phase,
                    format!(
                        "stream ended after {received} values, {announced} announced, {count} claimed"
                    ),
                ));
            }
            other => return Err(unexpected(phase, "Values or End", &other)),
        }
    }
    progress.end(Stage::Match);
    Ok((announced / per_element, matched))
}

/// The sender of KKRT PSI over `stream`: learns the receiver's distinct set size only.
/// Intersection mode only.
pub(crate) fn run_sender(
    stream: impl Connection,
    mut input: impl IdentifierSource,
    mode: Mode,
    progress: &dyn Progress,
) -> Result<SenderReport, PsiError> {
    refuse_cardinality(mode)?;
    let seed = fresh_seed()?;
    let mut s_bytes = [0u8; CODE_BITS / 8];
    getrandom::fill(&mut s_bytes).map_err(|e| PsiError::Randomness(e.to_string()))?;
    let choices: Vec<bool> = (0..CODE_BITS)
        .map(|i| s_bytes[i / 8] >> (i % 8) & 1 == 1)
        .collect();
    zeroize::Zeroize::zeroize(&mut s_bytes);
    let (mut report, traffic) = run_party(
        stream,
        Role::Sender,
        mode,
        Protocol::Kkrt,
        |outbox, mut inbox, _control, failure| {
            outbox.send(Frame::Seed(seed))?;
            inbox.expect_hello(Role::Receiver, mode, Protocol::Kkrt)?;
            let keys = run_keys(&expect_seed(&mut inbox)?, &seed);
            let mut ext = match inbox.next(PHASE_BASE_OT)? {
                Frame::BaseOtSender(a) => {
                    let (points, chosen) = base_ot::receive(&a, &choices)?;
                    outbox.send(Frame::BaseOtReceiver(points))?;
                    ExtSender::new(&chosen, &choices)
                }
                other => return Err(unexpected(PHASE_BASE_OT, "BaseOtSender", &other)),
            };
            let (items, rows, mut stats) =
                hash_input(&mut input, &keys.item_salt, failure, progress)?;
            let (items, _) = distinct(items, rows);
            stats.distinct = u64_of(items.len());
            let (bins, peer_distinct) = match inbox.next(PHASE_TABLE)? {
                Frame::Table { bins, distinct } => (check_table(bins, distinct)?, distinct),
                other => return Err(unexpected(PHASE_TABLE, "Table", &other)),
            };
            let simple = SimpleHashing::build(&items, bins).ok_or_else(|| {
                violation(
                    PHASE_TABLE,
                    format!("a table of {bins} bins cannot be indexed"),
                )
            })?;
            let item_keys: Vec<[u8; 16]> = items.iter().map(|i| i.key).collect();
            drop(items);
            let mut values = sender_values(
                &mut inbox, &mut ext, &simple, &item_keys, &keys, bins, failure, progress,
            )?;
            drop(simple);
            // A uniformly random order (ThreadRng: ChaCha seeded by the OS): the position of
            // a value says nothing about the element or its bins.
            values.shuffle(&mut rand::rng());
            outbox.send(Frame::Begin {
                count: u64_of(values.len()),
            })?;
            for batch in values.chunks(VALUES_BATCH_MAX) {
                if failure.is_stopped() {
                    return Err(Halt::Stopped);
                }
                outbox.send(Frame::Values(batch.to_vec()))?;
            }
            outbox.send(Frame::End {
                count: u64_of(values.len()),
            })?;
            drop(values);
            match inbox.next(PHASE_DONE)? {
                Frame::Done => Ok(SenderReport {
                    own: stats,
                    peer_distinct,
                    traffic: Traffic::default(),
                }),
                other => Err(unexpected(PHASE_DONE, "Done", &other)),
            }
        },
    )?;
    report.traffic = traffic;
    Ok(report)
}

/// The receiver's announced table must be what the parameters give for its set size (or
/// one of the enlarged retries).
fn check_table(bins: u64, distinct: u64) -> Result<u64, Halt> {
    let base = bins_for(distinct);
    if distinct > PEER_POINTS_MAX || bins < base || bins > base * 2 {
        return Err(violation(
            PHASE_TABLE,
            format!(
                "a table of {bins} bins for {distinct} elements; these parameters give {base} \
                 (is the peer running another version?)"
            ),
        ));
    }
    Ok(bins)
}

/// Receives every column chunk and computes the sender's values: for each element and
/// each of its hash functions, the OPRF value in that bin.
#[allow(clippy::too_many_arguments)]
fn sender_values<R: Read>(
    inbox: &mut Inbox<R>,
    ext: &mut ExtSender,
    simple: &SimpleHashing,
    item_keys: &[[u8; 16]],
    keys: &RunKeys,
    bins: u64,
    failure: &Failure,
    progress: &dyn Progress,
) -> Result<Vec<Value>, Halt> {
    let phase = PHASE_COLUMNS;
    let chunks = chunks_for(bins);
    match inbox.next(phase)? {
        Frame::Begin { count } if count == chunks => {}
        Frame::Begin { count } => {
            return Err(violation(
                phase,
                format!("{count} column chunks announced for {bins} bins, expected {chunks}"),
            ));
        }
        other => return Err(unexpected(phase, "Begin", &other)),
    }
    progress.begin(Stage::Encode, chunks);
    let code = Code::new(keys.code_key);
    let s = *ext.s();
    let mut q = vec![[0u64; CODE_WORDS]; CHUNK_BINS];
    let mut values: Vec<Value> = Vec::with_capacity(simple.len());
    for chunk in 0..chunks {
        if failure.is_stopped() {
            return Err(Halt::Stopped);
        }
        match inbox.next(phase)? {
            Frame::Columns {
                chunk: index,
                bytes,
            } if u64::from(index) == chunk => {
                ext.chunk(&bytes, &mut q);
            }
            Frame::Columns { chunk: index, .. } => {
                return Err(violation(
                    phase,
                    format!("column chunk {index} arrived where chunk {chunk} was due"),
                ));
            }
            other => return Err(unexpected(phase, "Columns", &other)),
        }
        let first = chunk * CHUNK_BINS as u64;
        let entries: Vec<(u64, usize, u8)> =
            simple.range(first, first + CHUNK_BINS as u64).collect();
        values.par_extend(entries.par_iter().map(|&(bin, item, h)| {
            let offset = usize::try_from(bin - first).unwrap_or(0);
            let row = masked(&q[offset], &code.encode(&item_keys[item], h), &s);
            value(bin, &row)
        }));
        progress.advance(Stage::Encode, 1);
    }
    match inbox.next(phase)? {
        Frame::End { count } if count == chunks => {}
        other => return Err(unexpected(phase, "End", &other)),
    }
    progress.end(Stage::Encode);
    Ok(values)
}
