//! The RocksDB ledger store: certified blocks, their transactions and the Merkle log.
//!
//! Durability: each block (header, certificate, transaction chunks, transaction index, new
//! and grown log tiles, new signer keys, tip) is one `WriteBatch` written with
//! `sync = true`, so after a crash the store holds every block whose append returned and
//! nothing of a later one.
//!
//! Layout: [`schema`] (format version [`schema::FORMAT_VERSION`]); a store of another
//! format is refused on open with [`StoreError::Format`].
//!
//! Trust: appends are checked (height, previous hash, log size and root recomputed here,
//! commit certificate against the member set in force at the block's height, signer keys
//! known). Opening re-checks the
//! chain, certificates and roots of the last [`OPEN_CHECK_BLOCKS`] blocks and the frontier
//! of the whole log; [`LedgerStore::fsck`] re-checks everything, every transaction signature
//! included, and names the first bad block, transaction or node. Corruption is an error,
//! never served.
//!
//! Transaction signatures are verified by the node when it admits a transaction, not on
//! append (an SM2 verification costs ~176 µs, a log append ~1 µs); fsck verifies them all.
//!
//! Member sets: the genesis set, then one record per governance hand-over (the block that
//! changed the set names the next one; it is in force from the height after), written in
//! that block's batch. The store does not decide what the next set is — the node derives it
//! from the contract state — it records it and checks that the headers name it.
//!
//! Must not know: consensus, networking, what transactions mean.

pub mod schema;

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::Path;
use std::sync::Arc;

use rayon::prelude::*;
use rocksdb::{ColumnFamily, ColumnFamilyDescriptor, DB, Options, WriteBatch, WriteOptions};
use weinong_keys::{KeyId, PreparedPublicKey, PublicKey, Signature};

use crate::LogDigest;
use crate::block::{
    BlockHeader, CommitCertificate, MemberChange, MemberSet, SignedTreeHead, TreeHead,
};
use crate::bundle::{BundleSet, BundleSetEntry, CertifiedHead, ConsistencyFile, ProofBundle};
use crate::error::VerifyError;
use crate::hash::{BlockHash, Hash32, TxHash};
use crate::limits::{
    BLOCK_TXS_MAX, BUNDLE_HEADERS_MAX, BUNDLE_SET_ENTRIES_MAX, BUNDLE_SET_LINK_HEADERS_MAX,
    OPEN_CHECK_BLOCKS,
};
use crate::merkle::{self, Frontier, NodeHash, NodeSource, ProofError};
use crate::tx::Transaction;
use schema::*;

/// A stored record, named in corruption reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Item {
    /// A block (header or certificate) at this height.
    Block(u64),
    /// The transaction at this log index.
    Transaction(u64),
    /// The log node at (level, index).
    Node(u8, u64),
    /// The log tile at (tile level, tile index) (see [`schema`]), when it is not a
    /// well-formed tile at all.
    Tile(u8, u64),
    /// The co-signed tree head recorded for the block at this height.
    TreeHead(u64),
    /// A store-wide record.
    Meta(&'static str),
}

impl fmt::Display for Item {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Item::Block(h) => write!(f, "block {h}"),
            Item::Transaction(i) => write!(f, "transaction {i}"),
            Item::Node(level, index) => write!(f, "log node (level {level}, index {index})"),
            Item::Tile(level, index) => {
                write!(f, "log tile (tile level {level}, tile index {index})")
            }
            Item::TreeHead(h) => write!(f, "co-signed tree head of block {h}"),
            Item::Meta(k) => write!(f, "meta record `{k}`"),
        }
    }
}

/// What went wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// RocksDB failed.
    #[error("RocksDB {op} failed: {source}")]
    Db {
        /// What was being done.
        op: &'static str,
        /// RocksDB's error.
        source: rocksdb::Error,
    },
    /// Stored data is damaged or inconsistent.
    #[error("corrupt {item}: {reason}")]
    Corrupt {
        /// The first bad record.
        item: Item,
        /// What is wrong with it.
        reason: String,
    },
    /// A block was refused on append; nothing was written.
    #[error("block {height} refused: {reason}")]
    Rejected {
        /// The block's height.
        height: u64,
        /// Why.
        reason: String,
    },
    /// A co-signed tree head was refused; nothing was written.
    #[error("tree head (size {size}) refused: {reason}")]
    TreeHeadRejected {
        /// The head's log size.
        size: u64,
        /// Why.
        reason: String,
    },
    /// What was asked for would exceed a named limit.
    #[error("{0}")]
    OverLimit(String),
    /// Something asked for is not in the store.
    #[error("{0} not found in this ledger")]
    NotFound(String),
    /// `create` on a directory that already holds a ledger, or `open` on one that does not.
    #[error("{0}")]
    Layout(String),
    /// The store on disk was written in another layout than this build reads.
    #[error(
        "the ledger store has format version {found}; this build reads format version {FORMAT_VERSION} only (recreate a development store, or open it with the build that wrote it)"
    )]
    Format {
        /// The store's format version.
        found: u32,
    },
}

fn db_err(op: &'static str) -> impl FnOnce(rocksdb::Error) -> StoreError {
    move |source| StoreError::Db { op, source }
}

fn corrupt(item: Item, reason: impl ToString) -> StoreError {
    StoreError::Corrupt {
        item,
        reason: reason.to_string(),
    }
}

/// What fsck checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FsckReport {
    /// Blocks checked.
    pub blocks: u64,
    /// Transactions checked, signatures included.
    pub transactions: u64,
    /// Log nodes recomputed and compared.
    pub nodes: u64,
    /// Co-signed tree heads checked (co-signatures and the block they sign).
    pub tree_heads: u64,
}

/// The ledger store.
pub struct LedgerStore {
    db: DB,
    /// Each member set with the height it is in force from, ascending; the first is the
    /// genesis set (from 0), the last signs the next block.
    member_sets: Vec<(u64, MemberSet)>,
    /// The keys of every set, prepared for fast verification (certificates, tree heads).
    member_keys: MemberKeys,
    tip: Option<BlockHeader>,
    frontier: Frontier,
    /// The log's incomplete right-edge tiles, so an append reads nothing to extend them.
    edge: TileEdge,
}

/// Member keys with precomputed verification tables, by key id.
struct MemberKeys(HashMap<KeyId, PreparedPublicKey>);

impl MemberKeys {
    fn new(members: &MemberSet) -> Self {
        let mut keys = Self(HashMap::new());
        keys.add(members);
        keys
    }

    fn add(&mut self, members: &MemberSet) {
        for (id, key) in members.keys() {
            self.0
                .entry(*id)
                .or_insert_with(|| PreparedPublicKey::new(key));
        }
    }

    /// The SM2 check [`MemberSet::check_quorum_by`] calls: the prepared key of a member
    /// (the member set has already found `key` under `signer`).
    fn verify(&self, key: &PublicKey, signer: &KeyId, msg: &[u8], sig: &Signature) -> bool {
        match self.0.get(signer) {
            Some(prepared) => prepared.verify(msg, sig).is_ok(),
            None => key.verify(msg, sig).is_ok(),
        }
    }

    fn certificate(
        &self,
        members: &MemberSet,
        header: &BlockHeader,
        cert: &CommitCertificate,
    ) -> Result<(), VerifyError> {
        cert.verify_by(header, members, |k, id, m, s| self.verify(k, id, m, s))
    }

    fn tree_head(&self, members: &MemberSet, sth: &SignedTreeHead) -> Result<(), VerifyError> {
        sth.verify_by(members, |k, id, m, s| self.verify(k, id, m, s))
    }
}

impl fmt::Debug for LedgerStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LedgerStore")
            .field("height", &self.tip.map(|t| t.height))
            .field("log_size", &self.frontier.size())
            .finish_non_exhaustive()
    }
}

fn db_options(create: bool, cache: &rocksdb::Cache) -> Options {
    let mut opts = Options::default();
    opts.create_if_missing(create);
    opts.create_missing_column_families(create);
    // Ledger values are mostly hashes and signatures: compression would buy nothing.
    opts.set_compression_type(rocksdb::DBCompressionType::None);
    opts.set_paranoid_checks(true);
    // Proofs and lookups are point reads of keys that exist: bloom filters let a read skip
    // the SST files that cannot hold the key, and one shared block cache keeps the upper
    // levels of the log hot.
    let mut table = rocksdb::BlockBasedOptions::default();
    table.set_bloom_filter(10.0, false);
    table.set_block_cache(cache);
    table.set_cache_index_and_filter_blocks(true);
    table.set_pin_l0_filter_and_index_blocks_in_cache(true);
    opts.set_block_based_table_factory(&table);
    // Non-skip-list memtables (the index's, below) need single-threaded memtable writes;
    // a store has one writer anyway.
    opts.set_allow_concurrent_memtable_write(false);
    opts
}

/// Options of one column family.
fn cf_options(name: &str, cache: &rocksdb::Cache) -> Options {
    let mut opts = db_options(false, cache);
    if name == CF_TX_INDEX {
        // Transaction hashes are random: inserting a block's 1,000 of them into a skip
        // list searched from the top each time was the largest CPU cost of an append. A
        // hash-bucketed memtable (by the first 8 bytes) inserts and finds in O(1); the
        // index is only ever read by point lookups, never iterated.
        opts.set_prefix_extractor(rocksdb::SliceTransform::create_fixed_prefix(8));
        opts.set_memtable_factory(rocksdb::MemtableFactory::HashLinkList {
            bucket_count: 1 << 20,
        });
    }
    opts
}

/// Shared block cache of one store.
const BLOCK_CACHE_BYTES: usize = 256 << 20;

fn open_db(dir: &Path, create: bool) -> Result<DB, StoreError> {
    if !create {
        // Opening a format-1 store with this layout's column families would fail with
        // RocksDB's "column families not opened", or worse add ours to it: name the format.
        let names =
            DB::list_cf(&Options::default(), dir).map_err(db_err("list column families"))?;
        if names
            .iter()
            .any(|n| FORMAT_1_COLUMN_FAMILIES.contains(&n.as_str()))
        {
            return Err(StoreError::Format { found: 1 });
        }
    }
    let cache = rocksdb::Cache::new_lru_cache(BLOCK_CACHE_BYTES);
    let cfs = COLUMN_FAMILIES
        .iter()
        .map(|name| ColumnFamilyDescriptor::new(*name, cf_options(name, &cache)));
    DB::open_cf_descriptors(&db_options(create, &cache), dir, cfs).map_err(db_err("open"))
}

impl LedgerStore {
    /// Creates an empty ledger in `dir` for `members`.
    pub fn create(dir: &Path, members: &MemberSet) -> Result<Self, StoreError> {
        if dir.join("CURRENT").exists() {
            return Err(StoreError::Layout(format!(
                "{} already holds a database",
                dir.display()
            )));
        }
        let db = open_db(dir, true)?;
        let mut batch = WriteBatch::default();
        batch.put_cf(cf(&db, CF_META)?, META_FORMAT, FORMAT_VERSION.to_be_bytes());
        batch.put_cf(cf(&db, CF_META)?, META_MEMBERS, members.encode());
        db.write_opt(batch, &synced())
            .map_err(db_err("write member set"))?;
        Ok(Self {
            db,
            member_keys: MemberKeys::new(members),
            member_sets: vec![(0, members.clone())],
            tip: None,
            frontier: Frontier::new(),
            edge: TileEdge::default(),
        })
    }

    /// Opens an existing ledger and checks its recent blocks and the log frontier.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        if !dir.join("CURRENT").exists() {
            return Err(StoreError::Layout(format!(
                "no ledger store in {}",
                dir.display()
            )));
        }
        let db = open_db(dir, false)?;
        let format = get(&db, CF_META, META_FORMAT)?
            .ok_or_else(|| corrupt(Item::Meta("format"), "missing"))?;
        let format = <[u8; 4]>::try_from(format.as_slice())
            .map(u32::from_be_bytes)
            .map_err(|_| corrupt(Item::Meta("format"), "not 4 bytes"))?;
        if format != FORMAT_VERSION {
            return Err(StoreError::Format { found: format });
        }
        let members_bytes = get(&db, CF_META, META_MEMBERS)?
            .ok_or_else(|| corrupt(Item::Meta("members"), "missing"))?;
        let members =
            MemberSet::decode(&members_bytes).map_err(|e| corrupt(Item::Meta("members"), e))?;
        let mut member_keys = MemberKeys::new(&members);
        let member_sets = read_member_sets(&db, members, &mut member_keys)?;
        let mut store = Self {
            db,
            member_keys,
            member_sets,
            tip: None,
            frontier: Frontier::new(),
            edge: TileEdge::default(),
        };
        let Some(tip_height) = store.read_tip()? else {
            return Ok(store);
        };
        let tip = store.header(tip_height)?;
        let frontier = Frontier::load(&store.nodes(), tip.log_size)?;
        if frontier.root::<LogDigest>() != tip.log_root.0 {
            return Err(corrupt(
                Item::Block(tip_height),
                "the stored log nodes do not give the header's log root",
            ));
        }
        store.edge = TileEdge::load(&store.db, tip.log_size)?;
        store.check_member_sets(tip_height)?;
        store.tip = Some(tip);
        store.frontier = frontier;
        let first = tip_height.saturating_sub(OPEN_CHECK_BLOCKS - 1);
        store.check_blocks(first, tip_height, false)?;
        Ok(store)
    }

    fn read_tip(&self) -> Result<Option<u64>, StoreError> {
        get(&self.db, CF_META, META_TIP)?
            .map(|v| be_u64(&v).ok_or_else(|| corrupt(Item::Meta("tip"), "not 8 bytes")))
            .transpose()
    }

    /// The member set that signs the next block (the genesis set until governance
    /// changes it).
    pub fn members(&self) -> &MemberSet {
        // `create` and `open` put the genesis set first; nothing removes one.
        &self.member_sets[self.member_sets.len() - 1].1
    }

    /// The genesis member set, which auditors pin.
    pub fn genesis_members(&self) -> &MemberSet {
        &self.member_sets[0].1
    }

    /// The member set that signs the block at `height`.
    pub fn members_at(&self, height: u64) -> &MemberSet {
        let i = self
            .member_sets
            .partition_point(|(from, _)| *from <= height)
            .saturating_sub(1);
        &self.member_sets[i].1
    }

    /// Each member set after the genesis one, with the height it is in force from.
    pub fn member_history(&self) -> &[(u64, MemberSet)] {
        &self.member_sets[1..]
    }

    /// The hand-overs that lead from the genesis set to the set in force at `height`,
    /// oldest first (what proof files carry for auditors).
    pub fn member_changes_until(&self, height: u64) -> Result<Vec<MemberChange>, StoreError> {
        self.member_sets[1..]
            .iter()
            .take_while(|(from, _)| *from <= height)
            .map(|(from, next)| {
                let at = from - 1;
                Ok(MemberChange {
                    header: self.header(at)?,
                    certificate: self.certificate(at)?,
                    next: next.clone(),
                })
            })
            .collect()
    }

    /// Checks that every recorded hand-over is named by the header of its block.
    fn check_member_sets(&self, tip_height: u64) -> Result<(), StoreError> {
        for (from, set) in &self.member_sets[1..] {
            let at = from - 1;
            if at > tip_height {
                return Err(corrupt(
                    Item::Meta("members"),
                    format!("a member set is recorded from block {from}, past the tip"),
                ));
            }
            let header = self.header(at)?;
            if header.next_members != set.digest() || header.members == header.next_members {
                return Err(corrupt(
                    Item::Block(at),
                    "the header does not hand over to the member set recorded after it",
                ));
            }
        }
        Ok(())
    }

    /// The last committed header, if any block is stored.
    pub fn tip(&self) -> Option<&BlockHeader> {
        self.tip.as_ref()
    }

    /// Leaves in the log.
    pub fn log_size(&self) -> u64 {
        self.frontier.size()
    }

    /// The current log root.
    pub fn log_root(&self) -> Hash32 {
        Hash32(self.frontier.root::<LogDigest>())
    }

    /// The log size and root after appending `txs`, for building the next header.
    pub fn preview(&self, txs: &[Transaction]) -> (u64, Hash32) {
        let prepared = self.prepare(txs.to_vec());
        (prepared.log_size(), prepared.log_root())
    }

    /// Hashes a block's transactions (on all cores) and computes the log nodes they add,
    /// once: the proposer reads the log size and root from the result to build the header,
    /// then hands the result to [`Self::append_prepared`].
    pub fn prepare(&self, txs: Vec<Transaction>) -> PreparedBlock {
        let leaves: Vec<NodeHash> = txs
            .par_iter()
            .map(|tx| merkle::leaf_hash::<LogDigest>(tx.as_bytes()))
            .collect();
        let mut frontier = self.frontier.clone();
        let mut edge = self.edge.clone();
        let mut tiles = Vec::new();
        for leaf in &leaves {
            frontier
                .push::<LogDigest>(*leaf, |level, i, hash| edge.add(level, i, hash, &mut tiles));
        }
        edge.finish(&mut tiles);
        PreparedBlock {
            base_size: self.frontier.size(),
            tx_hashes: txs.iter().map(Transaction::hash).collect(),
            txs,
            tiles,
            frontier,
            edge,
        }
    }

    /// Appends one certified block in one synced write batch. `new_keys` are public keys
    /// of signers that first appear in this block.
    pub fn append_block(
        &mut self,
        header: &BlockHeader,
        certificate: &CommitCertificate,
        txs: &[Transaction],
        new_keys: &[PublicKey],
    ) -> Result<(), StoreError> {
        let prepared = self.prepare(txs.to_vec());
        self.append_prepared(header, certificate, prepared, new_keys)
    }

    /// As [`Self::append_block`], for a block already [`prepared`](Self::prepare). The
    /// header must keep the member set (`next_members` = `members`).
    pub fn append_prepared(
        &mut self,
        header: &BlockHeader,
        certificate: &CommitCertificate,
        block: PreparedBlock,
        new_keys: &[PublicKey],
    ) -> Result<(), StoreError> {
        let same = self.members().clone();
        self.append_with_members(header, certificate, block, new_keys, &same)
    }

    /// As [`Self::append_prepared`], with the member set that signs the next block: the
    /// header must name it as `next_members`; if it differs from the current set it is
    /// recorded, in the block's batch, in force from the next height.
    pub fn append_with_members(
        &mut self,
        header: &BlockHeader,
        certificate: &CommitCertificate,
        block: PreparedBlock,
        new_keys: &[PublicKey],
        next: &MemberSet,
    ) -> Result<(), StoreError> {
        self.check_next(header, &block)?;
        let reject = |reason: String| StoreError::Rejected {
            height: header.height,
            reason,
        };
        self.member_keys
            .certificate(self.members(), header, certificate)
            .map_err(|e| reject(e.to_string()))?;
        let next_digest = next.digest();
        if header.next_members != next_digest {
            return Err(reject(format!(
                "the header hands over to member set {}, but the next set is {next_digest}",
                header.next_members
            )));
        }
        let mut batch = self.block_batch(header, certificate, &block, new_keys)?;
        let changed = next != self.members();
        if changed {
            let from = header
                .height
                .checked_add(1)
                .ok_or_else(|| reject("height overflow".into()))?;
            batch.put_cf(cf(&self.db, CF_META)?, member_set_key(from), next.encode());
        }
        // One synced batch: the block is either wholly durable or wholly absent.
        self.db
            .write_opt(batch, &block_write())
            .map_err(db_err("write block"))?;
        if changed {
            self.member_keys.add(next);
            self.member_sets.push((header.height + 1, next.clone()));
        }
        self.tip = Some(*header);
        self.frontier = block.frontier;
        self.edge = block.edge;
        Ok(())
    }

    /// The write batch of one block: new signer keys, transaction chunks and the index, log
    /// tiles, header, certificate, tip. Refuses a transaction whose signer has no key.
    fn block_batch(
        &self,
        header: &BlockHeader,
        certificate: &CommitCertificate,
        block: &PreparedBlock,
        new_keys: &[PublicKey],
    ) -> Result<WriteBatch, StoreError> {
        let reject = |reason: String| StoreError::Rejected {
            height: header.height,
            reason,
        };
        let tx_bytes: usize = block.txs.iter().map(|tx| tx.as_bytes().len()).sum();
        let tile_bytes: usize = block.tiles.iter().map(|(_, _, t)| t.len() + 24).sum();
        // Keys, values and per-record overhead, so the batch's buffer never regrows.
        let capacity = tx_bytes + block.txs.len() * (4 + 32 + 8 + 8) + tile_bytes + 8192;
        let mut batch = WriteBatch::with_capacity_bytes(capacity);
        let cf_keys = cf(&self.db, CF_KEYS)?;
        for key in new_keys {
            batch.put_cf(cf_keys, key.key_id().as_bytes(), key.to_sec1_bytes());
        }
        let mut known: HashSet<KeyId> = new_keys.iter().map(PublicKey::key_id).collect();
        let (cf_chunks, cf_index) = (cf(&self.db, CF_TX_CHUNKS)?, cf(&self.db, CF_TX_INDEX)?);
        let mut chunk = Vec::with_capacity(CHUNK_BYTES_TARGET + 1024);
        let (mut chunk_start, mut chunk_txs) = (block.base_size, 0usize);
        for ((tx, hash), index) in block
            .txs
            .iter()
            .zip(&block.tx_hashes)
            .zip(block.base_size..)
        {
            let signer = tx.body().signer;
            if !known.contains(&signer) {
                if get(&self.db, CF_KEYS, signer.as_bytes())?.is_none() {
                    return Err(reject(format!(
                        "signer {signer} of transaction {hash} has no registered key"
                    )));
                }
                known.insert(signer);
            }
            if chunk_txs == CHUNK_TXS_MAX || chunk.len() >= CHUNK_BYTES_TARGET {
                batch.put_cf(cf_chunks, index_key(chunk_start), &chunk);
                chunk.clear();
                (chunk_start, chunk_txs) = (index, 0);
            }
            chunk_push(&mut chunk, tx.as_bytes());
            chunk_txs += 1;
        }
        if chunk_txs > 0 {
            batch.put_cf(cf_chunks, index_key(chunk_start), &chunk);
        }
        // In hash order: each memtable insert then starts from where the last one ended
        // (RocksDB's skip list keeps that position for sequential inserts), instead of
        // searching from the top for every random key.
        let mut index: Vec<(&TxHash, u64)> =
            block.tx_hashes.iter().zip(block.base_size..).collect();
        index.sort_unstable();
        for (hash, at) in index {
            batch.put_cf(cf_index, hash.as_bytes(), index_key(at));
        }
        let cf_tiles = cf(&self.db, CF_LOG_TILES)?;
        for (level, index, tile) in &block.tiles {
            batch.put_cf(cf_tiles, tile_key(*level, *index), tile);
        }
        batch.put_cf(
            cf(&self.db, CF_HEADERS)?,
            index_key(header.height),
            header.encode(),
        );
        batch.put_cf(
            cf(&self.db, CF_CERTIFICATES)?,
            index_key(header.height),
            certificate.encode(),
        );
        batch.put_cf(cf(&self.db, CF_META)?, META_TIP, index_key(header.height));
        Ok(batch)
    }

    /// Checks that `header` is the next block over `block`: height, previous hash, time,
    /// transaction count, log size and root.
    fn check_next(&self, header: &BlockHeader, block: &PreparedBlock) -> Result<(), StoreError> {
        let reject = |reason: String| StoreError::Rejected {
            height: header.height,
            reason,
        };
        let (expected_height, expected_prev) = match &self.tip {
            Some(t) => (
                t.height
                    .checked_add(1)
                    .ok_or_else(|| reject("height overflow".into()))?,
                t.hash(),
            ),
            None => (0, BlockHash::default()),
        };
        if header.height != expected_height {
            return Err(reject(format!("expected height {expected_height}")));
        }
        if header.previous != expected_prev {
            return Err(reject(format!(
                "previous hash {} is not the tip {expected_prev}",
                header.previous
            )));
        }
        if self.tip.is_some_and(|t| header.time_ms < t.time_ms) {
            return Err(reject("block time goes back".into()));
        }
        if block.txs.len() > BLOCK_TXS_MAX as usize {
            return Err(reject(format!(
                "{} transactions, over the limit {BLOCK_TXS_MAX}",
                block.txs.len()
            )));
        }
        if block.base_size != self.frontier.size() {
            return Err(reject(
                "the block was prepared against an older log; prepare it again".into(),
            ));
        }
        if header.log_size != block.log_size() {
            return Err(reject(format!(
                "log size {} but the log would hold {}",
                header.log_size,
                block.log_size()
            )));
        }
        if header.log_root != block.log_root() {
            return Err(reject(format!(
                "log root {} but the transactions give {}",
                header.log_root,
                block.log_root()
            )));
        }
        Ok(())
    }

    /// The header at `height`.
    pub fn header(&self, height: u64) -> Result<BlockHeader, StoreError> {
        let bytes = get(&self.db, CF_HEADERS, &index_key(height))?
            .ok_or_else(|| corrupt(Item::Block(height), "header missing"))?;
        let header = BlockHeader::decode(&bytes).map_err(|e| corrupt(Item::Block(height), e))?;
        if header.height != height {
            return Err(corrupt(
                Item::Block(height),
                format!("header says height {}", header.height),
            ));
        }
        Ok(header)
    }

    /// The commit certificate at `height`.
    pub fn certificate(&self, height: u64) -> Result<CommitCertificate, StoreError> {
        let bytes = get(&self.db, CF_CERTIFICATES, &index_key(height))?
            .ok_or_else(|| corrupt(Item::Block(height), "certificate missing"))?;
        CommitCertificate::decode(&bytes).map_err(|e| corrupt(Item::Block(height), e))
    }

    /// The transaction at log `index`, checked against its stored leaf hash.
    pub fn transaction(&self, index: u64) -> Result<Transaction, StoreError> {
        if index >= self.log_size() {
            return Err(StoreError::NotFound(format!("log index {index}")));
        }
        let bytes = self.transaction_bytes(index)?;
        let tx = Transaction::decode(&bytes).map_err(|e| corrupt(Item::Transaction(index), e))?;
        let leaf = self.nodes().node(0, index)?;
        if merkle::leaf_hash::<LogDigest>(&bytes) != leaf {
            return Err(corrupt(
                Item::Transaction(index),
                "bytes do not match the log's leaf hash",
            ));
        }
        Ok(tx)
    }

    /// The stored bytes of the transaction at log `index`: from the last chunk that starts
    /// at or before it (one seek).
    fn transaction_bytes(&self, index: u64) -> Result<Vec<u8>, StoreError> {
        let mut it = self.db.raw_iterator_cf(cf(&self.db, CF_TX_CHUNKS)?);
        it.seek_for_prev(index_key(index));
        let (Some(key), Some(value)) = (it.key(), it.value()) else {
            it.status().map_err(db_err("read transaction"))?;
            return Err(corrupt(Item::Transaction(index), "missing"));
        };
        let start = be_u64(key)
            .ok_or_else(|| corrupt(Item::Meta("tx_chunks"), "a store key is not 8 bytes"))?;
        let ranges = chunk_ranges(value)
            .ok_or_else(|| corrupt(Item::Transaction(start), "its chunk is not well formed"))?;
        let range = usize::try_from(index - start)
            .ok()
            .and_then(|at| ranges.get(at))
            .ok_or_else(|| corrupt(Item::Transaction(index), "missing"))?;
        Ok(value[range.clone()].to_vec())
    }

    /// The log index of a transaction.
    pub fn find_transaction(&self, hash: &TxHash) -> Result<u64, StoreError> {
        let bytes = get(&self.db, CF_TX_INDEX, hash.as_bytes())?
            .ok_or_else(|| StoreError::NotFound(format!("transaction {hash}")))?;
        be_u64(&bytes).ok_or_else(|| {
            corrupt(
                Item::Meta("tx_index"),
                format!("entry for {hash} is not 8 bytes"),
            )
        })
    }

    /// The height of the block holding log index `index` (binary search over headers).
    pub fn block_of(&self, index: u64) -> Result<u64, StoreError> {
        let tip = self
            .tip
            .ok_or_else(|| StoreError::NotFound("any block".into()))?;
        if index >= tip.log_size {
            return Err(StoreError::NotFound(format!("log index {index}")));
        }
        let (mut lo, mut hi) = (0u64, tip.height);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if self.header(mid)?.log_size > index {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        Ok(lo)
    }

    /// A signer's public key.
    pub fn key(&self, id: &KeyId) -> Result<PublicKey, StoreError> {
        let bytes = get(&self.db, CF_KEYS, id.as_bytes())?
            .ok_or_else(|| StoreError::NotFound(format!("key {id}")))?;
        let key = PublicKey::from_sec1_bytes(&bytes)
            .map_err(|e| corrupt(Item::Meta("keys"), format!("key {id}: {e}")))?;
        if key.key_id() != *id {
            return Err(corrupt(
                Item::Meta("keys"),
                format!("key stored under {id} is {}", key.key_id()),
            ));
        }
        Ok(key)
    }

    /// A transaction by hash: its log index, the transaction, and the block that holds it.
    fn locate(&self, hash: &TxHash) -> Result<(u64, Transaction, u64), StoreError> {
        let index = self.find_transaction(hash)?;
        let tx = self.transaction(index)?;
        let holder = self.block_of(index)?;
        Ok((index, tx, holder))
    }

    /// Returns `bundle` only if it verifies, so a damaged store cannot serve a bad one.
    fn checked_bundle(&self, bundle: ProofBundle, index: u64) -> Result<ProofBundle, StoreError> {
        bundle.verify(Some(self.genesis_members())).map_err(|e| {
            corrupt(
                Item::Transaction(index),
                format!("its proof bundle fails: {e}; run fsck"),
            )
        })?;
        Ok(bundle)
    }

    /// A proof bundle for one transaction, against the header of the block that holds it
    /// (or of `at_height`, if later). The bundle is verified before it is returned, so a
    /// damaged store cannot serve a bad one.
    pub fn export_bundle(
        &self,
        hash: &TxHash,
        at_height: Option<u64>,
    ) -> Result<ProofBundle, StoreError> {
        let (index, tx, holder) = self.locate(hash)?;
        let height = at_height.unwrap_or(holder).max(holder);
        let header = self.header(height)?;
        self.proven_bundle(index, &tx, &header, &[], height, None)
    }

    /// A proof bundle for one transaction against the block that holds it, linked by the
    /// headers between them to the certified head at `head_height` (default: the tip) and
    /// carrying that head's co-signed tree head if one is recorded (format
    /// `weinong-proof-bundle/2`; version 1 if the head is the holding block and has no tree
    /// head). The bundle is verified before it is returned.
    pub fn export_linked_bundle(
        &self,
        hash: &TxHash,
        head_height: Option<u64>,
    ) -> Result<ProofBundle, StoreError> {
        let (index, tx, holder) = self.locate(hash)?;
        let head_height = match (head_height, self.tip) {
            (Some(h), _) => h,
            (None, Some(tip)) => tip.height,
            (None, None) => return Err(StoreError::NotFound("any block".into())),
        };
        if head_height < holder {
            return Err(StoreError::NotFound(format!(
                "a head at block {head_height}: transaction {hash} is in the later block {holder}"
            )));
        }
        let links = head_height - holder;
        if links > BUNDLE_HEADERS_MAX as u64 {
            return Err(StoreError::OverLimit(format!(
                "block {holder} is {links} blocks before block {head_height}; a bundle links at most {BUNDLE_HEADERS_MAX} (export against a nearer head, or against block {head_height} itself without a chain)"
            )));
        }
        let header = self.header(holder)?;
        let chain: Vec<BlockHeader> = (holder + 1..=head_height)
            .map(|h| self.header(h))
            .collect::<Result<_, _>>()?;
        let tree_head = match self.tree_head(head_height) {
            Ok(sth) => Some(sth),
            Err(StoreError::NotFound(_)) => None,
            Err(e) => return Err(e),
        };
        self.proven_bundle(index, &tx, &header, &chain, head_height, tree_head.as_ref())
    }

    /// The checked bundle of transaction `index` proven in `header`, linked by `chain` to
    /// the certificate of block `head_height` (no chain: `header` is that block's), with the
    /// members and hand-overs as of that block.
    fn proven_bundle(
        &self,
        index: u64,
        tx: &Transaction,
        header: &BlockHeader,
        chain: &[BlockHeader],
        head_height: u64,
        tree_head: Option<&SignedTreeHead>,
    ) -> Result<ProofBundle, StoreError> {
        let certificate = self.certificate(head_height)?;
        let proof = self.inclusion_proof(index, header.log_size)?;
        let key = self.key(&tx.body().signer)?;
        let bundle = ProofBundle::linked(
            self.members_at(head_height),
            &key,
            tx,
            index,
            &proof,
            header,
            chain,
            &certificate,
            tree_head,
        )
        .with_member_changes(&self.member_changes_until(head_height)?);
        self.checked_bundle(bundle, index)
    }

    /// A bundle set (`weinong-bundle-set/1`) for these transactions, in log order: each
    /// proven in the block that holds it, with the header before that block, and linked to
    /// the block of the latest of them (with its co-signed tree head, if recorded) when that
    /// is at most [`BUNDLE_SET_LINK_HEADERS_MAX`] blocks on, else certified in its own
    /// block. A hash given twice is included once. Verified before it is returned.
    pub fn export_bundle_set(&self, hashes: &[TxHash]) -> Result<BundleSet, StoreError> {
        if hashes.len() > BUNDLE_SET_ENTRIES_MAX {
            return Err(StoreError::OverLimit(format!(
                "{} transactions; a bundle set holds at most {BUNDLE_SET_ENTRIES_MAX}",
                hashes.len()
            )));
        }
        let mut found: Vec<(u64, u64, TxHash)> = Vec::with_capacity(hashes.len());
        for hash in hashes {
            let index = self.find_transaction(hash)?;
            found.push((index, self.block_of(index)?, *hash));
        }
        found.sort();
        found.dedup();
        let head = found
            .iter()
            .map(|(_, height, _)| *height)
            .max()
            .unwrap_or(0);
        let mut entries = Vec::with_capacity(found.len());
        for (index, holder, hash) in &found {
            let link_to = if head.saturating_sub(*holder) <= BUNDLE_SET_LINK_HEADERS_MAX {
                head
            } else {
                *holder
            };
            let bundle = self.export_linked_bundle(hash, Some(link_to))?;
            let previous_header = match holder.checked_sub(1) {
                None => None,
                Some(h) => Some(hex::encode(self.header(h)?.encode())),
            };
            let entry = BundleSetEntry {
                bundle,
                previous_header,
            };
            entry.verify(Some(self.genesis_members())).map_err(|e| {
                corrupt(
                    Item::Transaction(*index),
                    format!("its bundle-set entry fails: {e}; run fsck"),
                )
            })?;
            entries.push(entry);
        }
        Ok(BundleSet::new(entries))
    }

    /// The certified head at `height`, as an auditor's JSON file holds it.
    pub fn certified_head(&self, height: u64) -> Result<CertifiedHead, StoreError> {
        let header = self.header(height)?;
        let certificate = self.certificate(height)?;
        let members = self.members_at(height);
        self.member_keys
            .certificate(members, &header, &certificate)
            .map_err(|e| corrupt(Item::Block(height), e))?;
        Ok(CertifiedHead::new(
            members,
            &header,
            &certificate,
            &self.member_changes_until(height)?,
        ))
    }

    /// Records a tree head co-signed by members, in one synced write, under the height of
    /// the block whose log it signs: the lowest block with exactly this log size, root and
    /// time (what [`TreeHead::of_header`] gives). Refused, writing nothing, unless a quorum
    /// of distinct members co-signed it and such a block is stored. Recording a head again
    /// (say with more co-signatures) replaces the earlier record.
    pub fn record_tree_head(&mut self, sth: &SignedTreeHead) -> Result<(), StoreError> {
        let reject = |reason: String| StoreError::TreeHeadRejected {
            size: sth.head.size,
            reason,
        };
        let height = self.height_of_head(&sth.head)?.ok_or_else(|| {
            reject(format!(
                "no stored block has log size {}, root {} and time {}",
                sth.head.size, sth.head.root, sth.head.time_ms
            ))
        })?;
        self.member_keys
            .tree_head(self.members_at(height), sth)
            .map_err(|e| reject(e.to_string()))?;
        let mut batch = WriteBatch::default();
        batch.put_cf(
            cf(&self.db, CF_TREE_HEADS)?,
            index_key(height),
            sth.encode(),
        );
        self.db
            .write_opt(batch, &synced())
            .map_err(db_err("write tree head"))
    }

    /// The lowest height whose header gives `head` exactly, if any. Log size and time
    /// never go back along the chain, so (log size, time) is ordered by height and a
    /// binary search finds it; the tip (the usual case) is tried first.
    fn height_of_head(&self, head: &TreeHead) -> Result<Option<u64>, StoreError> {
        let Some(tip) = self.tip else {
            return Ok(None);
        };
        let key = |h: &BlockHeader| (h.log_size, h.time_ms);
        let wanted = (head.size, head.time_ms);
        if key(&tip) < wanted {
            return Ok(None);
        }
        let (mut lo, mut hi) = (0u64, tip.height);
        if key(&tip) == wanted && (tip.height == 0 || key(&self.header(tip.height - 1)?) < wanted) {
            lo = tip.height;
        }
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if key(&self.header(mid)?) >= wanted {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        let found = self.header(lo)?;
        Ok((TreeHead::of_header(&found) == *head).then_some(lo))
    }

    /// The co-signed tree head recorded for the block at `height`, checked (co-signatures
    /// and the block's log) before it is returned.
    pub fn tree_head(&self, height: u64) -> Result<SignedTreeHead, StoreError> {
        if self.tip.is_none_or(|t| height > t.height) {
            return Err(StoreError::NotFound(format!("block {height}")));
        }
        let bytes = get(&self.db, CF_TREE_HEADS, &index_key(height))?.ok_or_else(|| {
            StoreError::NotFound(format!("a co-signed tree head of block {height}"))
        })?;
        self.check_tree_head(height, &bytes)
    }

    /// The co-signed tree head of the highest block that has one, checked.
    pub fn latest_tree_head(&self) -> Result<Option<SignedTreeHead>, StoreError> {
        let mut it = self
            .db
            .iterator_cf(cf(&self.db, CF_TREE_HEADS)?, rocksdb::IteratorMode::End);
        let Some(entry) = it.next() else {
            return Ok(None);
        };
        let (key, bytes) = entry.map_err(db_err("read tree heads"))?;
        let height = be_u64(&key)
            .ok_or_else(|| corrupt(Item::Meta("tree_heads"), "a store key is not 8 bytes"))?;
        if self.tip.is_none_or(|t| height > t.height) {
            return Err(corrupt(Item::TreeHead(height), "stored past the tip"));
        }
        self.check_tree_head(height, &bytes).map(Some)
    }

    /// Decodes a stored tree head and checks it signs the log of block `height`.
    fn check_tree_head(&self, height: u64, bytes: &[u8]) -> Result<SignedTreeHead, StoreError> {
        let sth = SignedTreeHead::decode(bytes).map_err(|e| corrupt(Item::TreeHead(height), e))?;
        let header = self.header(height)?;
        if sth.head != TreeHead::of_header(&header) {
            return Err(corrupt(
                Item::TreeHead(height),
                "does not sign the log size, root and time of its block",
            ));
        }
        self.member_keys
            .tree_head(self.members_at(height), &sth)
            .map_err(|e| corrupt(Item::TreeHead(height), e))?;
        Ok(sth)
    }

    /// Checks every stored tree head, in height order; returns how many.
    fn check_tree_heads(&self) -> Result<u64, StoreError> {
        let it = self
            .db
            .iterator_cf(cf(&self.db, CF_TREE_HEADS)?, rocksdb::IteratorMode::Start);
        let mut count = 0u64;
        for entry in it {
            let (key, bytes) = entry.map_err(db_err("scan tree heads"))?;
            let height = be_u64(&key)
                .ok_or_else(|| corrupt(Item::Meta("tree_heads"), "a store key is not 8 bytes"))?;
            if self.tip.is_none_or(|t| height > t.height) {
                return Err(corrupt(Item::TreeHead(height), "stored past the tip"));
            }
            self.check_tree_head(height, &bytes)?;
            count += 1;
        }
        Ok(count)
    }

    /// The consistency proof between the logs of two blocks, checked before it is returned.
    pub fn consistency_between(
        &self,
        old_height: u64,
        new_height: u64,
    ) -> Result<ConsistencyFile, StoreError> {
        let old = self.header(old_height)?;
        let new = self.header(new_height)?;
        let proof = self.consistency_proof(old.log_size, new.log_size)?;
        merkle::verify_consistency::<LogDigest>(
            old.log_size,
            &old.log_root.0,
            new.log_size,
            &new.log_root.0,
            &proof,
        )
        .map_err(|e| {
            corrupt(
                Item::Block(new_height),
                format!("consistency proof from block {old_height} fails: {e}; run fsck"),
            )
        })?;
        Ok(ConsistencyFile::new(old.log_size, new.log_size, &proof))
    }

    /// The audit path of leaf `index` in the log of `size` leaves.
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<NodeHash>, StoreError> {
        self.check_size(size)?;
        merkle::inclusion_proof::<LogDigest, _>(&self.nodes(), size, index).map_err(proof_err)
    }

    /// The consistency proof from `old_size` to `new_size`.
    pub fn consistency_proof(
        &self,
        old_size: u64,
        new_size: u64,
    ) -> Result<Vec<NodeHash>, StoreError> {
        self.check_size(new_size)?;
        merkle::consistency_proof::<LogDigest, _>(&self.nodes(), old_size, new_size)
            .map_err(proof_err)
    }

    /// The log root at a past size.
    pub fn root_at(&self, size: u64) -> Result<Hash32, StoreError> {
        self.check_size(size)?;
        merkle::root_at::<LogDigest, _>(&self.nodes(), size)
            .map(Hash32)
            .map_err(proof_err)
    }

    fn check_size(&self, size: u64) -> Result<(), StoreError> {
        if size > self.log_size() {
            return Err(StoreError::NotFound(format!(
                "log size {size} (the log holds {})",
                self.log_size()
            )));
        }
        Ok(())
    }

    fn nodes(&self) -> StoreNodes<'_> {
        StoreNodes { db: &self.db }
    }

    /// Writes a consistent copy of the store, as of now, into `dir`, which must not exist
    /// (a RocksDB checkpoint: table files are hard-linked where `dir` is on the same file
    /// system, copied otherwise). The store stays open and writable meanwhile; the copy
    /// opens with [`LedgerStore::open`].
    pub fn checkpoint(&self, dir: &Path) -> Result<(), StoreError> {
        let checkpoint =
            rocksdb::checkpoint::Checkpoint::new(&self.db).map_err(|source| StoreError::Db {
                op: "checkpoint",
                source,
            })?;
        checkpoint
            .create_checkpoint(dir)
            .map_err(|source| StoreError::Db {
                op: "checkpoint",
                source,
            })
    }

    /// Checks every block, certificate, transaction (signature included) and log node, and
    /// that nothing is stored past the tip. Names the first bad record.
    pub fn fsck(&self) -> Result<FsckReport, StoreError> {
        let Some(tip) = self.tip else {
            self.check_nothing_after(0, 0)?;
            let tree_heads = self.check_tree_heads()?;
            return Ok(FsckReport {
                blocks: 0,
                transactions: 0,
                nodes: 0,
                tree_heads,
            });
        };
        let nodes = self.check_blocks(0, tip.height, true)?;
        self.check_nothing_after(tip.height + 1, tip.log_size)?;
        let tree_heads = self.check_tree_heads()?;
        Ok(FsckReport {
            blocks: tip.height + 1,
            transactions: tip.log_size,
            nodes,
            tree_heads,
        })
    }

    fn check_nothing_after(&self, height: u64, log_size: u64) -> Result<(), StoreError> {
        for (name, from, item) in [
            (CF_HEADERS, height, Item::Block(height)),
            (CF_CERTIFICATES, height, Item::Block(height)),
            (CF_TX_CHUNKS, log_size, Item::Transaction(log_size)),
        ] {
            let mut it = self.db.iterator_cf(
                cf(&self.db, name)?,
                rocksdb::IteratorMode::From(&index_key(from), rocksdb::Direction::Forward),
            );
            if let Some(entry) = it.next() {
                let (key, _) = entry.map_err(db_err("iterate"))?;
                let at = be_u64(&key).unwrap_or(from);
                let item = match item {
                    Item::Block(_) => Item::Block(at),
                    _ => Item::Transaction(at),
                };
                return Err(corrupt(item, "stored past the tip"));
            }
        }
        Ok(())
    }

    /// Checks blocks `first..=last`: decoding, chain links, certificates, transactions
    /// against the log. With `full`, the log is recomputed from leaf 0 (every node compared)
    /// and every signature verified; otherwise each block's root is recomputed from the
    /// stored nodes and each transaction checked against its leaf hash.
    fn check_blocks(&self, first: u64, last: u64, full: bool) -> Result<u64, StoreError> {
        let mut prev = if first == 0 {
            None
        } else {
            Some(self.header(first - 1)?)
        };
        let mut frontier = Frontier::new();
        let mut keys: HashMap<KeyId, Arc<PreparedPublicKey>> = HashMap::new();
        let mut nodes_checked = 0u64;
        for height in first..=last {
            let header = self.header(height)?;
            self.member_keys
                .certificate(self.members_at(height), &header, &self.certificate(height)?)
                .map_err(|e| corrupt(Item::Block(height), e))?;
            let (start, prev_hash, prev_time) = match &prev {
                Some(p) => (p.log_size, p.hash(), p.time_ms),
                None => (0, BlockHash::default(), 0),
            };
            if header.previous != prev_hash {
                return Err(corrupt(
                    Item::Block(height),
                    "previous hash does not match the block before",
                ));
            }
            if header.log_size < start || header.time_ms < prev_time {
                return Err(corrupt(Item::Block(height), "log size or time goes back"));
            }
            let txs = self.load_block_txs(start, header.log_size)?;
            if full {
                self.verify_signatures(&txs, &mut keys)?;
                let mut emitted: Vec<(u8, u64, NodeHash)> = Vec::with_capacity(txs.len() * 2);
                for t in &txs {
                    frontier.push::<LogDigest>(t.leaf, |level, i, hash| {
                        emitted.push((level, i, *hash))
                    });
                }
                nodes_checked += emitted.len() as u64;
                self.compare_nodes(&emitted)?;
                if frontier.root::<LogDigest>() != header.log_root.0 {
                    return Err(corrupt(
                        Item::Block(height),
                        "log root does not match the recomputed log",
                    ));
                }
            } else {
                let leaves: Vec<(u8, u64, NodeHash)> =
                    txs.iter().map(|t| (0, t.index, t.leaf)).collect();
                self.compare_nodes(&leaves)?;
                if self.root_at(header.log_size)? != header.log_root {
                    return Err(corrupt(
                        Item::Block(height),
                        "log root does not match the stored log nodes",
                    ));
                }
            }
            prev = Some(header);
        }
        Ok(nodes_checked)
    }

    /// Reads the transactions `[start, end)` (a block's) in one forward scan of their
    /// chunks, decodes and hashes them on all cores, and checks the transaction index in one
    /// batched read.
    fn load_block_txs(&self, start: u64, end: u64) -> Result<Vec<CheckedTx>, StoreError> {
        let cf_chunks = cf(&self.db, CF_TX_CHUNKS)?;
        let mode = rocksdb::IteratorMode::From(&index_key(start), rocksdb::Direction::Forward);
        let mut it = self.db.iterator_cf(cf_chunks, mode);
        let mut chunks = Vec::new();
        let mut raw = Vec::new();
        let mut next = start;
        while next < end {
            let value = match it.next() {
                Some(Ok((key, value))) if be_u64(&key) == Some(next) => value,
                Some(Err(e)) => return Err(db_err("scan transactions")(e)),
                Some(Ok(_)) | None => return Err(corrupt(Item::Transaction(next), "missing")),
            };
            let ranges = chunk_ranges(&value)
                .ok_or_else(|| corrupt(Item::Transaction(next), "its chunk is not well formed"))?;
            for range in ranges {
                if next == end {
                    // Chunks never span blocks: this one runs past the block's log size.
                    return Err(corrupt(
                        Item::Transaction(end),
                        "stored in a chunk of the block before it",
                    ));
                }
                raw.push((next, chunks.len(), range));
                next += 1;
            }
            chunks.push(value);
        }
        let decoded: Vec<Result<CheckedTx, StoreError>> = raw
            .into_par_iter()
            .map(|(index, chunk, range)| {
                let bytes = &chunks[chunk][range];
                let tx =
                    Transaction::decode(bytes).map_err(|e| corrupt(Item::Transaction(index), e))?;
                Ok(CheckedTx {
                    index,
                    hash: tx.hash(),
                    leaf: merkle::leaf_hash::<LogDigest>(bytes),
                    tx,
                })
            })
            .collect();
        let txs: Vec<CheckedTx> = decoded.into_iter().collect::<Result<_, _>>()?;
        let indexed = self.db.batched_multi_get_cf(
            cf(&self.db, CF_TX_INDEX)?,
            txs.iter().map(|t| &t.hash.0),
            false,
        );
        for (t, entry) in txs.iter().zip(indexed) {
            let entry = entry.map_err(db_err("read transaction index"))?;
            if entry.as_deref().and_then(be_u64) != Some(t.index) {
                return Err(corrupt(
                    Item::Transaction(t.index),
                    "transaction index entry missing or wrong",
                ));
            }
        }
        Ok(txs)
    }

    /// Compares recomputed log nodes with the stored ones (their tiles in one batched
    /// read), in order; a bad leaf names its transaction.
    fn compare_nodes(&self, expected: &[(u8, u64, NodeHash)]) -> Result<(), StoreError> {
        let keys: Vec<(u8, u64)> = expected.iter().map(|(l, i, _)| (*l, *i)).collect();
        let stored = read_nodes(&self.db, &keys)?;
        for ((level, index, hash), value) in expected.iter().zip(stored) {
            match value {
                Ok(v) if v == *hash => {}
                Ok(_) if *level == 0 => {
                    return Err(corrupt(
                        Item::Transaction(*index),
                        "does not match its leaf hash in the log",
                    ));
                }
                Ok(_) => {
                    return Err(corrupt(
                        Item::Node(*level, *index),
                        "does not match the hash recomputed from the transactions",
                    ));
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Verifies the signatures of `txs` on all cores, signer keys prepared once; names
    /// the first bad one.
    fn verify_signatures(
        &self,
        txs: &[CheckedTx],
        keys: &mut HashMap<KeyId, Arc<PreparedPublicKey>>,
    ) -> Result<(), StoreError> {
        for t in txs {
            let signer = t.tx.body().signer;
            if let std::collections::hash_map::Entry::Vacant(slot) = keys.entry(signer) {
                let key = self
                    .key(&signer)
                    .map_err(|e| corrupt(Item::Transaction(t.index), format!("signer key: {e}")))?;
                slot.insert(Arc::new(PreparedPublicKey::new(&key)));
            }
        }
        let keys = &*keys;
        let first_bad = txs
            .par_iter()
            .filter_map(|t| {
                let key = keys.get(&t.tx.body().signer)?;
                t.tx.verify_prepared(key).err().map(|e| (t.index, e))
            })
            .min_by_key(|(index, _)| *index);
        match first_bad {
            Some((index, e)) => Err(corrupt(Item::Transaction(index), e)),
            None => Ok(()),
        }
    }
}

/// A stored transaction, decoded and hashed, during a check.
struct CheckedTx {
    index: u64,
    tx: Transaction,
    hash: TxHash,
    leaf: NodeHash,
}

/// A block's transactions with their hashes and the log tiles they complete or grow,
/// computed once (see [`LedgerStore::prepare`]).
pub struct PreparedBlock {
    base_size: u64,
    txs: Vec<Transaction>,
    tx_hashes: Vec<TxHash>,
    /// (tile level, tile index, whole value) of every tile this block adds nodes to.
    tiles: Vec<(u8, u64, Vec<u8>)>,
    frontier: Frontier,
    edge: TileEdge,
}

impl PreparedBlock {
    /// Log leaves after this block.
    pub fn log_size(&self) -> u64 {
        self.frontier.size()
    }

    /// Log root after this block.
    pub fn log_root(&self) -> Hash32 {
        Hash32(self.frontier.root::<LogDigest>())
    }

    /// The transactions.
    pub fn transactions(&self) -> &[Transaction] {
        &self.txs
    }
}

impl fmt::Debug for PreparedBlock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PreparedBlock")
            .field("base_size", &self.base_size)
            .field("txs", &self.txs.len())
            .finish_non_exhaustive()
    }
}

/// The incomplete tile at the right edge of each tile level, with the nodes it holds so far
/// (the prefix of the full tile; see [`schema`]).
#[derive(Clone, Default)]
struct TileEdge {
    levels: Vec<EdgeTile>,
}

#[derive(Clone, Default)]
struct EdgeTile {
    index: u64,
    bytes: Vec<u8>,
    /// Whether the block being prepared added nodes to it.
    grown: bool,
}

impl TileEdge {
    /// The edge of a log of `size` leaves, read from the store (one read per tile level).
    fn load(db: &DB, size: u64) -> Result<Self, StoreError> {
        let mut levels = Vec::new();
        let mut tile_level = 0u8;
        // Nodes of the tile level's bottom level: `size >> 8t`.
        while let Some(bottom) = size
            .checked_shr(u32::from(tile_level) * u32::from(TILE_HEIGHT))
            .filter(|b| *b > 0)
        {
            let index = bottom / TILE_WIDTH;
            let width = bottom % TILE_WIDTH;
            let mut bytes = Vec::with_capacity(TILE_NODES_MAX * 32);
            if width > 0 {
                let stored = get(db, CF_LOG_TILES, &tile_key(tile_level, index))?
                    .ok_or_else(|| corrupt(Item::Tile(tile_level, index), "missing"))?;
                // The nodes its `width` bottom nodes complete: as far as the next one would go.
                let (_, _, wanted) =
                    node_place(tile_level * TILE_HEIGHT, index * TILE_WIDTH + width);
                if stored.len() != wanted * 32 {
                    return Err(corrupt(
                        Item::Tile(tile_level, index),
                        format!(
                            "{} bytes where {width} bottom nodes make {}",
                            stored.len(),
                            wanted * 32
                        ),
                    ));
                }
                bytes.extend_from_slice(&stored);
            }
            levels.push(EdgeTile {
                index,
                bytes,
                grown: false,
            });
            tile_level += 1;
        }
        Ok(Self { levels })
    }

    /// Adds a node the log just completed; a tile this leaves behind full, if the block
    /// grew it, goes to `done`.
    fn add(&mut self, level: u8, index: u64, hash: &NodeHash, done: &mut Vec<(u8, u64, Vec<u8>)>) {
        let (tile_level, tile_index, position) = node_place(level, index);
        let at = usize::from(tile_level);
        if self.levels.len() <= at {
            self.levels.resize_with(at + 1, EdgeTile::default);
        }
        let tile = &mut self.levels[at];
        if tile.index != tile_index {
            let full = std::mem::replace(
                tile,
                EdgeTile {
                    index: tile_index,
                    bytes: Vec::with_capacity(TILE_NODES_MAX * 32),
                    grown: false,
                },
            );
            if full.grown {
                done.push((tile_level, full.index, full.bytes));
            }
        }
        debug_assert_eq!(
            tile.bytes.len(),
            position * 32,
            "nodes arrive in tile order"
        );
        tile.bytes.extend_from_slice(hash);
        tile.grown = true;
    }

    /// Hands every tile the block grew to `done`, as it now stands.
    fn finish(&mut self, done: &mut Vec<(u8, u64, Vec<u8>)>) {
        for (tile_level, tile) in (0u8..).zip(self.levels.iter_mut()) {
            if tile.grown {
                done.push((tile_level, tile.index, tile.bytes.clone()));
                tile.grown = false;
            }
        }
    }
}

/// Reads log nodes from their tiles, each tile once, in one batched read. A node whose
/// tile is missing or too short for it is an error in its place; an ill-formed tile, or a
/// failed read, fails the whole call.
fn read_nodes(
    db: &DB,
    keys: &[(u8, u64)],
) -> Result<Vec<Result<NodeHash, StoreError>>, StoreError> {
    let places: Vec<(u8, u64, usize)> = keys.iter().map(|&(l, i)| node_place(l, i)).collect();
    let mut tiles: Vec<(u8, u64)> = places.iter().map(|&(t, k, _)| (t, k)).collect();
    tiles.sort_unstable();
    tiles.dedup();
    let store_keys: Vec<[u8; 9]> = tiles.iter().map(|&(t, k)| tile_key(t, k)).collect();
    let values = db.batched_multi_get_cf(cf(db, CF_LOG_TILES)?, &store_keys, true);
    let mut read = Vec::with_capacity(values.len());
    for (&(t, k), value) in tiles.iter().zip(values) {
        let value = value.map_err(db_err("read log tiles"))?;
        if let Some(v) = &value
            && (v.len() % 32 != 0 || !tile_len_valid(v.len() / 32))
        {
            return Err(corrupt(
                Item::Tile(t, k),
                format!("{} bytes: not the nodes of a tile", v.len()),
            ));
        }
        read.push(value);
    }
    Ok(keys
        .iter()
        .zip(&places)
        .map(|(&(level, index), &(t, k, position))| {
            let missing = || corrupt(Item::Node(level, index), "missing");
            let at = tiles.binary_search(&(t, k)).map_err(|_| missing())?;
            let tile = read[at].as_deref().ok_or_else(missing)?;
            tile.get(position * 32..position * 32 + 32)
                .and_then(|b| <[u8; 32]>::try_from(b).ok())
                .ok_or_else(missing)
        })
        .collect())
}

/// Log nodes read from the store's tiles.
struct StoreNodes<'a> {
    db: &'a DB,
}

impl NodeSource for StoreNodes<'_> {
    type Error = StoreError;
    fn node(&self, level: u8, index: u64) -> Result<NodeHash, StoreError> {
        read_nodes(self.db, &[(level, index)])?
            .pop()
            .unwrap_or_else(|| Err(corrupt(Item::Node(level, index), "missing")))
    }

    fn nodes(&self, keys: &[(u8, u64)]) -> Result<Vec<NodeHash>, StoreError> {
        read_nodes(self.db, keys)?.into_iter().collect()
    }
}

fn proof_err(e: ProofError<StoreError>) -> StoreError {
    match e {
        ProofError::Source(e) => e,
        other => StoreError::NotFound(other.to_string()),
    }
}

fn synced() -> WriteOptions {
    let mut w = WriteOptions::default();
    // Durability is the contract: a block is acknowledged only once it is on disk.
    w.set_sync(true);
    w
}

/// How a block's batch is written: synced. (Per-batch memtable insert hints would do
/// nothing: RocksDB uses them only for concurrent memtable writes, and a store has one
/// writer; the skip list's own sequential-insert position serves the batch's sorted keys.)
fn block_write() -> WriteOptions {
    synced()
}

fn cf<'a>(db: &'a DB, name: &'static str) -> Result<&'a ColumnFamily, StoreError> {
    db.cf_handle(name)
        .ok_or_else(|| StoreError::Layout(format!("column family `{name}` missing")))
}

fn get(db: &DB, name: &'static str, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
    db.get_cf(cf(db, name)?, key).map_err(db_err("read"))
}

/// The genesis set, then every later set recorded in `meta`, heights ascending and above 0.
fn read_member_sets(
    db: &DB,
    genesis: MemberSet,
    keys: &mut MemberKeys,
) -> Result<Vec<(u64, MemberSet)>, StoreError> {
    let mut sets = vec![(0, genesis)];
    let it = db.iterator_cf(
        cf(db, CF_META)?,
        rocksdb::IteratorMode::From(META_MEMBER_SET_PREFIX, rocksdb::Direction::Forward),
    );
    for entry in it {
        let (key, value) = entry.map_err(db_err("read member sets"))?;
        let Some(height) = key.strip_prefix(META_MEMBER_SET_PREFIX) else {
            break;
        };
        let from = be_u64(height)
            .ok_or_else(|| corrupt(Item::Meta("members"), "a member-set key is not 8 bytes"))?;
        let set = MemberSet::decode(&value).map_err(|e| corrupt(Item::Meta("members"), e))?;
        if sets.last().is_some_and(|(prev, _)| *prev >= from) {
            return Err(corrupt(
                Item::Meta("members"),
                "member sets not in ascending height order",
            ));
        }
        keys.add(&set);
        sets.push((from, set));
    }
    Ok(sets)
}

fn be_u64(bytes: &[u8]) -> Option<u64> {
    <[u8; 8]>::try_from(bytes).ok().map(u64::from_be_bytes)
}
