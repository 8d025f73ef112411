//! The Raft log in RocksDB: entries keyed by big-endian index, the vote and the committed
//! log id in a meta column family. Every append and vote is written with `sync = true`
//! before openraft is told it is durable, so an acknowledged entry survives `kill -9`.
//!
//! Entries are stored with `postcard` (serde): this is private node storage, never signed
//! or hashed; what is signed and hashed lives in the ledger's canonical encodings.

#![allow(
    clippy::result_large_err,
    reason = "openraft's storage traits fix the error type (StorageError)"
)]

use std::fmt::Debug;
use std::ops::RangeBounds;
use std::path::Path;
use std::sync::Arc;

use openraft::storage::{LogFlushed, LogState, RaftLogStorage};
use openraft::{Entry, LogId, OptionalSend, RaftLogReader, StorageError, StorageIOError, Vote};
use rocksdb::{
    ColumnFamilyDescriptor, DB, Direction, IteratorMode, Options, WriteBatch, WriteOptions,
};

use super::{NodeId, TypeConfig};

const CF_LOGS: &str = "logs";
const CF_META: &str = "meta";
const META_VOTE: &[u8] = b"vote";
const META_COMMITTED: &[u8] = b"committed";
const META_PURGED: &[u8] = b"last_purged";

type StoreResult<T> = Result<T, StorageError<NodeId>>;

/// The RocksDB-backed Raft log. Cheap to clone (one shared database).
#[derive(Clone)]
pub struct LogStore {
    db: Arc<DB>,
}

/// Opening the log failed.
#[derive(Debug, thiserror::Error)]
#[error("cannot open the Raft log in {dir}: {source}")]
pub struct OpenError {
    dir: String,
    source: rocksdb::Error,
}

fn synced() -> WriteOptions {
    let mut w = WriteOptions::default();
    w.set_sync(true);
    w
}

fn index_key(index: u64) -> [u8; 8] {
    index.to_be_bytes()
}

fn index_of(key: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(key.try_into().ok()?))
}

impl LogStore {
    /// Opens (or creates) the log in `dir`.
    pub fn open(dir: &Path) -> Result<Self, OpenError> {
        let mut opts = Options::default();
        opts.create_if_missing(true);
        opts.create_missing_column_families(true);
        let cfs = [CF_LOGS, CF_META].map(|n| ColumnFamilyDescriptor::new(n, Options::default()));
        let db = DB::open_cf_descriptors(&opts, dir, cfs).map_err(|source| OpenError {
            dir: dir.display().to_string(),
            source,
        })?;
        Ok(Self { db: Arc::new(db) })
    }

    /// Writes a consistent copy of the log, as of now, into `dir` (which must not exist).
    pub fn checkpoint(&self, dir: &Path) -> Result<(), rocksdb::Error> {
        rocksdb::checkpoint::Checkpoint::new(&self.db)?.create_checkpoint(dir)
    }

    fn cf(&self, name: &str) -> StoreResult<&rocksdb::ColumnFamily> {
        self.db.cf_handle(name).ok_or_else(|| {
            StorageIOError::read(anyerror(format!("column family {name} missing"))).into()
        })
    }

    pub(crate) fn get_meta<T: serde::de::DeserializeOwned>(
        &self,
        key: &[u8],
    ) -> StoreResult<Option<T>> {
        let cf = self.cf(CF_META)?;
        let Some(bytes) = self
            .db
            .get_cf(cf, key)
            .map_err(|e| StorageIOError::read(&e))?
        else {
            return Ok(None);
        };
        postcard::from_bytes(&bytes).map(Some).map_err(|e| {
            StorageIOError::read(anyerror(format!(
                "meta {:?}: {e}",
                String::from_utf8_lossy(key)
            )))
            .into()
        })
    }

    pub(crate) fn put_meta<T: serde::Serialize>(&self, key: &[u8], value: &T) -> StoreResult<()> {
        let bytes = postcard::to_allocvec(value)
            .map_err(|e| StorageIOError::write(anyerror(e.to_string())))?;
        let cf = self.cf(CF_META)?;
        self.db
            .put_cf_opt(cf, key, bytes, &synced())
            .map_err(|e| StorageIOError::write(&e).into())
    }

    fn last_entry(&self) -> StoreResult<Option<Entry<TypeConfig>>> {
        let cf = self.cf(CF_LOGS)?;
        let mut it = self.db.iterator_cf(cf, IteratorMode::End);
        match it.next() {
            None => Ok(None),
            Some(item) => {
                let (_, v) = item.map_err(|e| StorageIOError::read_logs(&e))?;
                decode_entry(&v).map(Some)
            }
        }
    }
}

fn anyerror(msg: impl Into<String>) -> openraft::AnyError {
    openraft::AnyError::error(msg.into())
}

fn decode_entry(bytes: &[u8]) -> StoreResult<Entry<TypeConfig>> {
    postcard::from_bytes(bytes).map_err(|e| {
        StorageIOError::read_logs(anyerror(format!("undecodable Raft entry: {e}"))).into()
    })
}

impl RaftLogReader<TypeConfig> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> StoreResult<Vec<Entry<TypeConfig>>> {
        use std::ops::Bound;
        let start = match range.start_bound() {
            Bound::Included(&s) => s,
            Bound::Excluded(&s) => s.saturating_add(1),
            Bound::Unbounded => 0,
        };
        let cf = self.cf(CF_LOGS)?;
        let mut out = Vec::new();
        let from = index_key(start);
        for item in self
            .db
            .iterator_cf(cf, IteratorMode::From(&from, Direction::Forward))
        {
            let (k, v) = item.map_err(|e| StorageIOError::read_logs(&e))?;
            let Some(index) = index_of(&k) else {
                return Err(
                    StorageIOError::read_logs(anyerror("a Raft log key is not 8 bytes")).into(),
                );
            };
            if !range.contains(&index) {
                break;
            }
            out.push(decode_entry(&v)?);
        }
        Ok(out)
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = Self;

    async fn get_log_state(&mut self) -> StoreResult<LogState<TypeConfig>> {
        let last_purged: Option<LogId<NodeId>> = self.get_meta(META_PURGED)?;
        let last = self.last_entry()?.map(|e| e.log_id).or(last_purged);
        Ok(LogState {
            last_purged_log_id: last_purged,
            last_log_id: last,
        })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote<NodeId>) -> StoreResult<()> {
        self.put_meta(META_VOTE, vote)
    }

    async fn read_vote(&mut self) -> StoreResult<Option<Vote<NodeId>>> {
        self.get_meta(META_VOTE)
    }

    async fn save_committed(&mut self, committed: Option<LogId<NodeId>>) -> StoreResult<()> {
        self.put_meta(META_COMMITTED, &committed)
    }

    async fn read_committed(&mut self) -> StoreResult<Option<LogId<NodeId>>> {
        Ok(self
            .get_meta::<Option<LogId<NodeId>>>(META_COMMITTED)?
            .flatten())
    }

    async fn append<I>(&mut self, entries: I, callback: LogFlushed<TypeConfig>) -> StoreResult<()>
    where
        I: IntoIterator<Item = Entry<TypeConfig>> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let cf = self.cf(CF_LOGS)?;
        let mut batch = WriteBatch::default();
        for entry in entries {
            let bytes = postcard::to_allocvec(&entry)
                .map_err(|e| StorageIOError::write_logs(anyerror(e.to_string())))?;
            batch.put_cf(cf, index_key(entry.log_id.index), bytes);
        }
        let result = self.db.write_opt(batch, &synced());
        let io = result
            .as_ref()
            .map(|_| ())
            .map_err(|e| std::io::Error::other(e.to_string()));
        callback.log_io_completed(io);
        result.map_err(|e| StorageIOError::write_logs(&e).into())
    }

    async fn truncate(&mut self, log_id: LogId<NodeId>) -> StoreResult<()> {
        let cf = self.cf(CF_LOGS)?;
        let mut batch = WriteBatch::default();
        batch.delete_range_cf(cf, index_key(log_id.index), index_key(u64::MAX));
        batch.delete_cf(cf, index_key(u64::MAX));
        self.db
            .write_opt(batch, &synced())
            .map_err(|e| StorageIOError::write_logs(&e).into())
    }

    async fn purge(&mut self, log_id: LogId<NodeId>) -> StoreResult<()> {
        self.put_meta(META_PURGED, &log_id)?;
        let cf = self.cf(CF_LOGS)?;
        let mut batch = WriteBatch::default();
        batch.delete_range_cf(cf, index_key(0), index_key(log_id.index.saturating_add(1)));
        self.db
            .write_opt(batch, &synced())
            .map_err(|e| StorageIOError::write_logs(&e).into())
    }
}
