//! An import job: read a source, clean it, store it, report on it — in one database
//! transaction, so an import that fails halfway leaves the store as it was.
//!
//! Work is pipelined: a worker thread reads chunks into one reused buffer, cleans them in
//! parallel (rayon), applies the order-dependent duplicate rules, seals new identities and
//! encodes the rows for the engine (statement arguments for SQLite, COPY text for
//! PostgreSQL, both in parallel); the async side only executes the statements, so the
//! single database writer does nothing but database work. A bounded channel
//! (`BATCHES_IN_FLIGHT`) keeps memory flat. Each report records the time per stage.

use std::collections::HashSet;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use indicatif::ProgressBar;
use rayon::prelude::*;
use weinong_keys::{DataKey, PseudonymKey, SubjectPseudonym};

use crate::clean::{Cleaned, PseudonymMemo, Rejection, Rule, clean_row_with};
use crate::error::ConnectorError;
use crate::limits::IMPORT_CHUNK_ROWS;
use crate::report::{QualityReport, Tally};
use crate::schema::{Department, TableSpec};
use crate::source::Fields;
use crate::source::{Mapping, RawChunk, RawRow, Source};
use crate::store::{Backend, JobRecord, Store};
use crate::write::{
    BulkLoad, Encoded, RowEncoder, RowWriter, SealedSubject, SubjectEncoder, SubjectWriter,
    insert_job,
};

/// Batches cleaned ahead of the database writer.
const BATCHES_IN_FLIGHT: usize = 2;

/// Consecutive rows cleaned by one parallel task.
const CLEAN_RUN_ROWS: usize = 512;

/// The node's secrets an import needs: the data key (sealing identities) and the pepper
/// (subject pseudonyms), as sealed in the node's data-secrets file
/// ([`weinong_keys::DataSecrets`]: one type, so a secret added there reaches imports).
/// Both zeroize on drop; `Debug` is redacted.
pub type Secrets = weinong_keys::DataSecrets;

/// How an import runs.
#[derive(Clone, Debug)]
pub struct ImportOptions {
    /// Rows per cleaning step.
    pub chunk_rows: usize,
    /// Progress bar (hidden when not on a terminal); counts rows read.
    pub progress: Option<ProgressBar>,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            chunk_rows: IMPORT_CHUNK_ROWS,
            progress: None,
        }
    }
}

struct Batch {
    rows_read: u64,
    subjects: Encoded,
    rows: Encoded,
}

/// Imports one file into `store` for `department`; returns its quality report (also stored
/// with the job). On any error nothing of this import is stored.
pub async fn import_file(
    store: &Store,
    department: Department,
    path: &Path,
    mapping: &Mapping,
    secrets: &Secrets,
    options: &ImportOptions,
) -> Result<QualityReport, ConnectorError> {
    let started = Instant::now();
    let started_at_ms = i64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis()),
    )
    .unwrap_or(0);
    let spec = TableSpec::of(department);
    let source = Source::open(path, spec, mapping)?;
    let open_ms = ms(started.elapsed());
    let info = source.info.clone();
    let mut tx = store.begin().await?;
    let bulk = BulkLoad::start(&mut tx, spec).await?;
    let (sender, mut receiver) =
        tokio::sync::mpsc::channel::<Result<Batch, ConnectorError>>(BATCHES_IN_FLIGHT);
    let producer = {
        let secrets = secrets.clone();
        let chunk_rows = options.chunk_rows.max(1);
        let backend = store.backend();
        std::thread::spawn(move || produce(spec, backend, source, &secrets, chunk_rows, &sender))
    };
    let rows = RowWriter::new(spec);
    let mut subjects = SubjectWriter::new(spec, bulk.subjects_keyed());
    let mut failure = None;
    let (mut write, mut wait) = (Duration::ZERO, Duration::ZERO);
    loop {
        let t = Instant::now();
        let Some(batch) = receiver.recv().await else {
            break;
        };
        wait += t.elapsed();
        let t = Instant::now();
        let step = async {
            let batch = batch?;
            subjects.write(&mut tx, batch.subjects).await?;
            rows.write(&mut tx, batch.rows).await?;
            if let Some(p) = &options.progress {
                p.inc(batch.rows_read);
            }
            Ok::<(), ConnectorError>(())
        };
        let result = step.await;
        write += t.elapsed();
        if let Err(e) = result {
            failure = Some(e);
            break;
        }
    }
    // Dropping the receiver stops the producer at its next send.
    drop(receiver);
    let mut tally = tokio::task::spawn_blocking(move || producer.join())
        .await
        .map_err(|e| ConnectorError::Invalid(format!("import worker failed: {e}")))?
        .map_err(|_| ConnectorError::Invalid("import worker panicked".into()))?;
    if let Some(e) = failure {
        // `tx` is dropped without commit: sqlx rolls the transaction back.
        return Err(e);
    }
    let t = Instant::now();
    subjects.finish(&mut tx).await?;
    write += t.elapsed();
    let t = Instant::now();
    bulk.finish(&mut tx).await?;
    let index_ms = ms(t.elapsed());
    tally.stages.open_ms = open_ms;
    tally.stages.write_ms = ms(write);
    tally.stages.wait_ms = ms(wait);
    tally.stages.index_ms = index_ms;
    let t = Instant::now();
    // The job record carries the report, so its duration stops before the commit.
    let duration_ms = ms(started.elapsed());
    let report = tally.into_report(spec, &info, duration_ms);
    let job = JobRecord {
        id: format!(
            "{}-{started_at_ms}-{}",
            department.short_name(),
            job_nonce()?
        ),
        department: department.short_name().to_string(),
        source: info.path.clone(),
        started_at_ms,
        rows_stored: i64::try_from(report.rows_stored).unwrap_or(i64::MAX),
        report_json: serde_json::to_string(&report)
            .map_err(|e| ConnectorError::Invalid(e.to_string()))?,
    };
    insert_job(&mut tx, &job).await?;
    tx.commit().await?;
    let mut report = report;
    report.stages.commit_ms = ms(t.elapsed());
    Ok(report)
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn job_nonce() -> Result<String, ConnectorError> {
    // A random suffix keeps job ids unique when two imports start in the same millisecond.
    let k = DataKey::generate()?;
    Ok(hex::encode(&k.expose_bytes()[..4]))
}

/// A set of an import's duplicate rules. foldhash, seeded per process, rather than std's
/// SipHash: the members are hashes and pseudonyms already, and SipHash cost about 5 % of an
/// import's CPU.
type FastSet<T> = HashSet<T, foldhash::fast::RandomState>;

/// Per-import state of the order-dependent rules.
struct Seen {
    raw: FastSet<u128>,
    keys: [FastSet<u128>; 2],
    subjects: FastSet<SubjectPseudonym>,
}

/// Time spent by the worker per stage.
#[derive(Default)]
struct WorkerTimes {
    read: Duration,
    clean: Duration,
    seal: Duration,
    encode: Duration,
}

fn produce(
    spec: &'static TableSpec,
    backend: Backend,
    source: Source,
    secrets: &Secrets,
    chunk_rows: usize,
    sender: &tokio::sync::mpsc::Sender<Result<Batch, ConnectorError>>,
) -> Tally {
    let mut w = Worker {
        tally: Tally::new(spec),
        times: WorkerTimes::default(),
        rows: RowEncoder::new(spec, backend),
        subjects: SubjectEncoder::new(backend),
    };
    produce_into(spec, source, secrets, chunk_rows, sender, &mut w);
    let mut tally = w.tally;
    tally.stages.read_ms = ms(w.times.read);
    tally.stages.clean_ms = ms(w.times.clean);
    tally.stages.seal_ms = ms(w.times.seal);
    tally.stages.encode_ms = ms(w.times.encode);
    tally
}

/// The import worker's running state.
struct Worker {
    tally: Tally,
    times: WorkerTimes,
    rows: RowEncoder,
    subjects: SubjectEncoder,
}

fn produce_into(
    spec: &'static TableSpec,
    mut source: Source,
    secrets: &Secrets,
    chunk_rows: usize,
    sender: &tokio::sync::mpsc::Sender<Result<Batch, ConnectorError>>,
    w: &mut Worker,
) {
    let pseudonym_key = PseudonymKey::new(&secrets.pepper);
    // Each person's pseudonym is evaluated once per import, however many rows they have.
    let mut memo = PseudonymMemo::new(&pseudonym_key);
    let mut seen = Seen {
        raw: FastSet::default(),
        keys: [FastSet::default(), FastSet::default()],
        subjects: FastSet::default(),
    };
    // One buffer for all chunks: only cleaned rows leave the worker.
    let mut chunk = RawChunk::new(spec.fields.len(), chunk_rows.min(1 << 16));
    loop {
        let t = Instant::now();
        let read = source.next_chunk_into(&mut chunk, chunk_rows);
        w.times.read += t.elapsed();
        if let Err(e) = read {
            // The consumer turns this into the import's error; if it is gone there is
            // nobody left to tell.
            let _ignored = sender.blocking_send(Err(e));
            return;
        }
        let last = chunk.is_empty();
        let t = Instant::now();
        let cleaned = if last {
            Ok((Vec::new(), Vec::new()))
        } else {
            clean_chunk(spec, &mut memo, &chunk, &mut seen, &mut w.tally)
        };
        w.times.clean += t.elapsed();
        let t = Instant::now();
        let sealed = cleaned.and_then(|(rows, fresh)| Ok((rows, seal(spec, secrets, &fresh)?)));
        w.times.seal += t.elapsed();
        let t = Instant::now();
        // The last batch carries the rows held back for a full statement.
        let batch = sealed.and_then(|(rows, subjects)| {
            Ok(Batch {
                rows_read: u64::try_from(chunk.len()).unwrap_or(u64::MAX),
                subjects: w.subjects.encode(subjects, last)?,
                rows: w.rows.encode(rows, last)?,
            })
        });
        w.times.encode += t.elapsed();
        let failed = batch.is_err();
        if sender.blocking_send(batch).is_err() || failed || last {
            return;
        }
    }
}

type Processed = (u128, Result<Cleaned, Rejection>);
/// Stored rows of a chunk: pseudonym and data values.
type CleanRows = Vec<(SubjectPseudonym, Vec<crate::clean::Value>)>;
/// Subjects first seen in a chunk, with the identity to seal.
type Fresh = Vec<(SubjectPseudonym, crate::identity::Identity)>;

fn clean_chunk(
    spec: &'static TableSpec,
    memo: &mut PseudonymMemo<'_>,
    chunk: &RawChunk,
    seen: &mut Seen,
    tally: &mut Tally,
) -> Result<(CleanRows, Fresh), ConnectorError> {
    let raws: Vec<RawRow<'_>> = chunk.rows().collect();
    // First the pseudonyms of the people this chunk brings in (in parallel, once each),
    // then the rows, in runs of consecutive rows per task.
    let id_idx = spec.index_of("id_number").unwrap_or(0);
    memo.learn(raws.par_iter().map(|raw| raw.field(id_idx)));
    let memo = &*memo;
    let processed: Vec<Processed> = raws
        .par_chunks(CLEAN_RUN_ROWS)
        .flat_map_iter(|run| {
            let mut pseudonyms = memo.pseudonyms();
            run.iter()
                .map(move |raw| (raw.hash128(), clean_row_with(spec, &mut pseudonyms, raw)))
        })
        .collect();
    let mut rows = Vec::with_capacity(processed.len());
    // The first stored row of a subject in this import carries the identity that is sealed.
    let mut fresh = Vec::new();
    tally.rows_read += u64::try_from(chunk.len()).unwrap_or(u64::MAX);
    for (raw, (h, outcome)) in raws.iter().zip(processed) {
        let line = &raw.line;
        if !seen.raw.insert(h) {
            tally.rows_duplicate += 1;
            tally.add(spec, Rule::DuplicateExact, None, *line, raw);
            continue;
        }
        let cleaned = match outcome {
            Err(rej) => {
                tally.reject(spec, rej.rule, rej.field, *line, raw);
                continue;
            }
            Ok(c) => c,
        };
        let dup = cleaned
            .keys
            .iter()
            .zip(&seen.keys)
            .any(|(k, set)| k.is_some_and(|k| set.contains(&k)));
        if dup {
            tally.rows_duplicate += 1;
            tally.add(spec, Rule::DuplicateFuzzy, None, *line, raw);
            continue;
        }
        for (k, set) in cleaned.keys.iter().zip(seen.keys.iter_mut()) {
            if let Some(k) = k {
                set.insert(*k);
            }
        }
        for e in &cleaned.events {
            tally.add(spec, e.rule, Some(e.field), *line, raw);
        }
        count_present(spec, &cleaned, tally);
        tally.rows_stored += 1;
        if seen.subjects.insert(cleaned.subject) {
            fresh.push((cleaned.subject, cleaned.identity));
        }
        rows.push((cleaned.subject, cleaned.values));
    }
    Ok((rows, fresh))
}

fn count_present(spec: &TableSpec, c: &Cleaned, tally: &mut Tally) {
    let mut data = c.values.iter();
    for (i, f) in spec.fields.iter().enumerate() {
        let present = match f.kind {
            crate::schema::FieldKind::IdNumber => !c.identity.id_number.is_empty(),
            crate::schema::FieldKind::Name => !c.identity.name.is_empty(),
            crate::schema::FieldKind::Phone => c.identity.phone.is_some(),
            crate::schema::FieldKind::Address => c.identity.address.is_some(),
            _ => data.next().is_some_and(crate::clean::Value::is_present),
        };
        if present {
            tally.present(i);
        }
    }
}

fn seal(
    spec: &'static TableSpec,
    secrets: &Secrets,
    fresh: &Fresh,
) -> Result<Vec<SealedSubject>, ConnectorError> {
    // One sealer per rayon task (cipher prepared once, nonces from a generator seeded once
    // per sealer), not per subject.
    fresh
        .par_iter()
        .map_init(
            || secrets.data_key.sealer(),
            |sealer, (s, id)| {
                // Making a sealer fails only when the system's random source does.
                let Ok(sealer) = sealer.as_mut() else {
                    return Err(weinong_keys::KeyError::Rng.into());
                };
                id.seal_with(sealer, spec.department, s).map(|b| (*s, b))
            },
        )
        .collect()
}
