//! The RocksDB store: append, reopen, proofs against an in-memory reference, refused
//! appends, and corruption written through RocksDB's own API.
#![cfg(feature = "store")]

mod common;

use std::ops::Range;
use std::path::Path;

use common::Consortium;
use rocksdb::{ColumnFamilyDescriptor, DB, Options};
use weinong_ledger::merkle::{self, MemoryLog, NodeSource, Sm3};
use weinong_ledger::store::schema::{self, COLUMN_FAMILIES};
use weinong_ledger::store::{Item, LedgerStore, StoreError};
use weinong_ledger::{BlockHash, Hash32, SignedTreeHead, Transaction, TreeHead};

fn fresh(dir: &Path, c: &Consortium) -> LedgerStore {
    LedgerStore::create(dir, &c.set).expect("create store")
}

#[test]
fn appends_reopens_and_proves_like_the_reference() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut c = Consortium::new();
    let mut reference = MemoryLog::new();
    let mut all: Vec<Transaction> = Vec::new();
    let mut sizes = Vec::new();
    {
        let mut store = fresh(dir.path(), &c);
        // Blocks of more than a chunk's transactions, and of transactions large enough
        // that chunks close on their byte size, next to small ones.
        for (n, payload) in [
            (3usize, 24usize),
            (0, 24),
            (1, 24),
            (17, 24),
            (64, 24),
            (5, 24),
            (150, 24),
            (33, 24),
            (9, 5_000),
            (70, 300),
        ] {
            let txs = c.append_sized(&mut store, n, payload);
            for tx in &txs {
                reference.push::<Sm3>(tx.as_bytes());
            }
            all.extend(txs);
            sizes.push(reference.size());
            assert_eq!(store.log_root().0, reference.root::<Sm3>());
        }
    }
    let store = LedgerStore::open(dir.path()).expect("reopen");
    let n = reference.size();
    assert_eq!(store.log_size(), n);
    assert_eq!(store.tip().expect("blocks").height, 9);
    for (i, tx) in all.iter().enumerate() {
        let i = i as u64;
        assert_eq!(&store.transaction(i).expect("stored tx"), tx);
        assert_eq!(store.find_transaction(&tx.hash()).expect("indexed"), i);
        for size in [i + 1, n] {
            assert_eq!(
                store.inclusion_proof(i, size).expect("proof"),
                merkle::inclusion_proof::<Sm3, _>(&reference, size, i).expect("reference proof")
            );
        }
        let height = store.block_of(i).expect("block holds it");
        let h = store.header(height).expect("header");
        let start = if height == 0 {
            0
        } else {
            store.header(height - 1).expect("header").log_size
        };
        assert!(start <= i && i < h.log_size, "tx {i} in block {height}");
    }
    for &old in sizes.iter().filter(|s| **s > 0) {
        assert_eq!(
            store.consistency_proof(old, n).expect("proof"),
            merkle::consistency_proof::<Sm3, _>(&reference, old, n).expect("reference")
        );
        assert_eq!(
            store.root_at(old).expect("root").0,
            merkle::root_at::<Sm3, _>(&reference, old).expect("root")
        );
    }
    let report = store.fsck().expect("clean store");
    assert_eq!(report.blocks, 10);
    assert_eq!(report.transactions, n);
    assert!(report.nodes >= n);
    assert!(
        store.inclusion_proof(0, n + 1).is_err(),
        "no proof past the log"
    );
}

#[test]
fn refused_appends_change_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut c = Consortium::new();
    let mut store = fresh(dir.path(), &c);
    c.append(&mut store, 4);
    let tip = *store.tip().expect("tip");
    let txs: Vec<Transaction> = (0..3).map(|_| c.tx(10)).collect();
    let (good, cert) = c.block(&store, &txs);

    let recertify = |h: &weinong_ledger::BlockHeader| {
        weinong_ledger::CommitCertificate::from_votes(
            h,
            vec![h.vote(&c.members[0]), h.vote(&c.members[2])],
        )
    };
    let mut cases = Vec::new();
    let mut h = good;
    h.height += 1;
    cases.push(("height", h));
    let mut h = good;
    h.previous = BlockHash([7; 32]);
    cases.push(("previous", h));
    let mut h = good;
    h.log_root = Hash32([7; 32]);
    cases.push(("root", h));
    let mut h = good;
    h.log_size += 1;
    cases.push(("size", h));
    let mut h = good;
    h.time_ms = tip.time_ms - 1;
    cases.push(("time", h));
    for (what, h) in cases {
        let err = store
            .append_block(&h, &recertify(&h), &txs, &[])
            .expect_err(what);
        assert!(matches!(err, StoreError::Rejected { .. }), "{what}: {err}");
    }
    // A certificate with one signature, or for another header.
    let one = weinong_ledger::CommitCertificate::from_votes(&good, vec![good.vote(&c.members[0])]);
    assert!(store.append_block(&good, &one, &txs, &[]).is_err());
    let mut other = good;
    other.state_digest = Hash32([1; 32]);
    assert!(
        store
            .append_block(&good, &recertify(&other), &txs, &[])
            .is_err()
    );
    // A signer the ledger has no key for.
    let stranger = weinong_keys::KeyPair::generate();
    let body = weinong_ledger::TxBody {
        kind: weinong_ledger::TxKind(0xF000),
        signer: stranger.key_id(),
        nonce: 1,
        time_ms: 1,
        payload: vec![1],
    };
    let foreign = vec![Transaction::sign(body, &stranger).expect("small")];
    let (fh, fc) = c.block(&store, &foreign);
    assert!(store.append_block(&fh, &fc, &foreign, &[]).is_err());

    assert_eq!(store.tip(), Some(&tip));
    assert_eq!(store.log_size(), 4);
    store
        .append_block(&good, &cert, &txs, &[])
        .expect("the good block still appends");
    store.fsck().expect("clean");
}

/// The store's RocksDB opened directly, past every check of [`LedgerStore`].
fn raw_db(dir: &Path) -> DB {
    let cfs = COLUMN_FAMILIES
        .iter()
        .map(|n| ColumnFamilyDescriptor::new(*n, Options::default()));
    DB::open_cf_descriptors(&Options::default(), dir, cfs).expect("raw open")
}

/// Writes `value` (or deletes, if `None`) under `key` in `cf` through RocksDB's own API.
fn tamper(dir: &Path, cf: &str, key: &[u8], value: Option<Vec<u8>>) {
    let db = raw_db(dir);
    let handle = db.cf_handle(cf).expect("column family");
    match value {
        Some(v) => db.put_cf(handle, key, v).expect("raw put"),
        None => db.delete_cf(handle, key).expect("raw delete"),
    }
    db.flush_cf(handle).expect("flush");
}

fn read_raw(dir: &Path, cf: &str, key: &[u8]) -> Vec<u8> {
    let db = raw_db(dir);
    db.get_cf(db.cf_handle(cf).expect("cf"), key)
        .expect("read")
        .expect("present")
}

/// Rewrites the value under `key` in `cf` with `edit`.
fn edit_raw(dir: &Path, cf: &str, key: &[u8], edit: impl FnOnce(&mut Vec<u8>)) {
    let mut value = read_raw(dir, cf, key);
    edit(&mut value);
    tamper(dir, cf, key, Some(value));
}

/// Stores the value at index `from` of `cf` again at index `to`.
fn copy_raw(dir: &Path, cf: &str, from: u64, to: u64) {
    let value = read_raw(dir, cf, &schema::index_key(from));
    tamper(dir, cf, &schema::index_key(to), Some(value));
}

/// Where transaction `index` is stored: its chunk's store key and its bytes in the chunk.
fn tx_place(dir: &Path, index: u64) -> ([u8; 8], Range<usize>) {
    let db = raw_db(dir);
    let mut it = db.raw_iterator_cf(db.cf_handle(schema::CF_TX_CHUNKS).expect("cf"));
    it.seek_for_prev(schema::index_key(index));
    let key: [u8; 8] = it.key().expect("a chunk").try_into().expect("8 bytes");
    let start = u64::from_be_bytes(key);
    let ranges = schema::chunk_ranges(it.value().expect("value")).expect("well formed");
    (key, ranges[(index - start) as usize].clone())
}

/// Rewrites the chunk holding transaction `index`; `edit` gets the chunk and the
/// transaction's bytes in it.
fn edit_tx_chunk(dir: &Path, index: u64, edit: impl FnOnce(&mut Vec<u8>, Range<usize>)) {
    let (key, range) = tx_place(dir, index);
    edit_raw(dir, schema::CF_TX_CHUNKS, &key, |chunk| edit(chunk, range));
}

/// Changes one bit of transaction `index`'s stored bytes, at `offset` from their end.
fn flip_tx_byte(dir: &Path, index: u64, offset_from_end: usize, bit: u8) {
    edit_tx_chunk(dir, index, |chunk, tx| {
        chunk[tx.end - 1 - offset_from_end] ^= bit;
    });
}

/// Changes the last bit of log node `(level, index)` in its tile.
fn flip_node(dir: &Path, level: u8, index: u64) {
    let (tile_level, tile_index, position) = schema::node_place(level, index);
    let key = schema::tile_key(tile_level, tile_index);
    edit_raw(dir, schema::CF_LOG_TILES, &key, |tile| {
        tile[position * 32 + 31] ^= 0x01;
    });
}

/// Builds a 24-block ledger (more than the open check window), applies `damage`, and
/// returns what open and fsck say.
fn damaged(damage: impl FnOnce(&Path)) -> (Result<LedgerStore, StoreError>, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut c = Consortium::new();
    {
        let mut store = fresh(dir.path(), &c);
        for _ in 0..24 {
            c.append(&mut store, 6);
            c.record_tip_head(&mut store);
        }
    }
    damage(dir.path());
    (LedgerStore::open(dir.path()), dir)
}

/// Open or fsck must refuse, naming `item`.
fn assert_refused(result: Result<LedgerStore, StoreError>, item: Item) {
    let err = match result {
        Err(e) => e,
        Ok(store) => store.fsck().expect_err("fsck must find the damage"),
    };
    match &err {
        StoreError::Corrupt { item: found, .. } => assert_eq!(*found, item, "{err}"),
        other => panic!("expected corruption of {item}, got {other}"),
    }
}

/// Open itself refuses the store, naming `item`: no fsck needed to find the damage.
fn refused_on_open(result: Result<LedgerStore, StoreError>, item: Item) {
    let err = result.expect_err("open must refuse");
    assert!(
        matches!(&err, StoreError::Corrupt { item: found, .. } if *found == item),
        "{err}"
    );
}

fn flip_last_byte(dir: &Path, cf: &str, key: &[u8]) {
    edit_raw(dir, cf, key, |v| {
        let last = v.len() - 1;
        v[last] ^= 0x01;
    });
}

#[test]
fn corrupt_recent_header_is_refused_on_open() {
    let (result, _dir) = damaged(|d| flip_last_byte(d, schema::CF_HEADERS, &schema::index_key(20)));
    assert!(result.is_err(), "open must refuse a damaged recent block");
    assert_refused(result, Item::Block(20));
}

#[test]
fn corrupt_old_header_is_named_by_fsck() {
    // Block 2 is outside the window open checks; fsck finds it.
    let (result, _dir) = damaged(|d| flip_last_byte(d, schema::CF_HEADERS, &schema::index_key(2)));
    assert_refused(result, Item::Block(2));
}

#[test]
fn corrupt_certificate_is_named() {
    let (result, _dir) =
        damaged(|d| flip_last_byte(d, schema::CF_CERTIFICATES, &schema::index_key(5)));
    assert_refused(result, Item::Block(5));
}

#[test]
fn corrupt_transaction_is_named_and_not_served() {
    let (result, _dir) = damaged(|d| flip_tx_byte(d, 40, 0, 0x01));
    if let Ok(store) = &result {
        assert!(
            store.transaction(40).is_err(),
            "a damaged transaction must not be served"
        );
    }
    assert_refused(result, Item::Transaction(40));
}

#[test]
fn corrupt_payload_byte_of_an_old_transaction_is_named() {
    // Change a payload byte (not the signature): the tx still decodes but its hash, leaf
    // hash and signature no longer match.
    let (result, _dir) = damaged(|d| edit_tx_chunk(d, 7, |chunk, tx| chunk[tx.start + 60] ^= 0x80));
    assert_refused(result, Item::Transaction(7));
}

#[test]
fn missing_transaction_chunk_is_named() {
    // Blocks of 6: block 1's chunk holds transactions 6..12.
    let (result, _dir) = damaged(|d| tamper(d, schema::CF_TX_CHUNKS, &schema::index_key(6), None));
    assert_refused(result, Item::Transaction(6));
}

#[test]
fn transaction_missing_from_its_chunk_is_named() {
    let (result, _dir) =
        damaged(|d| edit_tx_chunk(d, 17, |chunk, tx| chunk.truncate(tx.start - 4)));
    assert_refused(result, Item::Transaction(17));
}

#[test]
fn ill_formed_chunk_is_named() {
    // The first length now runs past the chunk.
    let (result, _dir) = damaged(|d| edit_tx_chunk(d, 12, |chunk, tx| chunk[tx.start - 4] = 0xFF));
    assert_refused(result, Item::Transaction(12));
}

#[test]
fn corrupt_interior_log_node_is_named() {
    // Node (1, 5) covers leaves 10 and 11: in no recent root, so only fsck sees it.
    let (result, _dir) = damaged(|d| flip_node(d, 1, 5));
    assert_refused(result, Item::Node(1, 5));
}

#[test]
fn corrupt_frontier_node_is_refused_on_open() {
    // 144 leaves = 128 + 16: node (7, 0) is part of every recent root.
    let (result, _dir) = damaged(|d| flip_node(d, 7, 0));
    refused_on_open(result, Item::Block(23));
}

#[test]
fn ill_formed_tile_is_refused_on_open() {
    // 144 leaves: tile (0, 0) is the right-edge tile, read on every open.
    let (result, _dir) = damaged(|d| {
        edit_raw(d, schema::CF_LOG_TILES, &schema::tile_key(0, 0), |tile| {
            tile.pop();
        });
    });
    refused_on_open(result, Item::Tile(0, 0));
}

#[test]
fn short_right_edge_tile_is_refused_on_open() {
    // One node short: still a well-formed tile, but not the one 144 leaves make.
    let (result, _dir) = damaged(|d| {
        edit_raw(d, schema::CF_LOG_TILES, &schema::tile_key(0, 0), |tile| {
            tile.truncate(tile.len() - 32);
        });
    });
    assert!(result.is_err(), "open must refuse");
}

#[test]
fn tip_past_the_stored_blocks_is_refused() {
    let (result, _dir) = damaged(|d| {
        tamper(
            d,
            schema::CF_META,
            schema::META_TIP,
            Some(30u64.to_be_bytes().to_vec()),
        )
    });
    assert_refused(result, Item::Block(30));
}

#[test]
fn block_stored_past_the_tip_is_named() {
    let (result, _dir) = damaged(|d| copy_raw(d, schema::CF_HEADERS, 23, 24));
    assert_refused(result, Item::Block(24));
}

#[test]
fn stored_nodes_match_the_reference_tree() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut c = Consortium::new();
    let mut reference = MemoryLog::new();
    let mut store = fresh(dir.path(), &c);
    for _ in 0..3 {
        for tx in c.append(&mut store, 11) {
            reference.push::<Sm3>(tx.as_bytes());
        }
    }
    // Past one tile at the bottom level, so tiles of two tile levels exist.
    for _ in 0..3 {
        for tx in c.append(&mut store, 100) {
            reference.push::<Sm3>(tx.as_bytes());
        }
    }
    drop(store);
    let n = reference.size();
    for level in 0..=9u8 {
        for index in 0..(n >> level) {
            let (tile_level, tile_index, position) = schema::node_place(level, index);
            let tile = read_raw(
                dir.path(),
                schema::CF_LOG_TILES,
                &schema::tile_key(tile_level, tile_index),
            );
            assert_eq!(
                &tile[position * 32..position * 32 + 32],
                reference.node(level, index).expect("complete node")
            );
        }
    }
}

/// A directory laid out as a format-1 store (its column families), for the refusal test.
fn format_1_store(dir: &Path) {
    let mut opts = Options::default();
    opts.create_if_missing(true);
    opts.create_missing_column_families(true);
    let names = [
        "headers",
        "certificates",
        "txs",
        "tx_index",
        "nodes",
        "keys",
        "meta",
    ];
    let cfs = names
        .iter()
        .map(|n| ColumnFamilyDescriptor::new(*n, Options::default()));
    let db = DB::open_cf_descriptors(&opts, dir, cfs).expect("raw create");
    db.put_cf(
        db.cf_handle("meta").expect("cf"),
        b"tip",
        0u64.to_be_bytes(),
    )
    .expect("put");
}

#[test]
fn other_format_versions_are_refused_by_name() {
    let old = tempfile::tempdir().expect("temp dir");
    format_1_store(old.path());
    let err = LedgerStore::open(old.path()).expect_err("format 1");
    assert!(matches!(err, StoreError::Format { found: 1 }), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("format version 1") && text.contains("format version 2"),
        "{text}"
    );
    // Refusing changed nothing: the old store keeps exactly its column families.
    let mut names = DB::list_cf(&Options::default(), old.path()).expect("list");
    names.sort();
    assert!(
        !names.iter().any(|n| n == schema::CF_LOG_TILES),
        "{names:?}"
    );

    let (result, _dir) = damaged(|d| {
        tamper(
            d,
            schema::CF_META,
            schema::META_FORMAT,
            Some(3u32.to_be_bytes().to_vec()),
        )
    });
    let err = result.expect_err("format 3");
    assert!(matches!(err, StoreError::Format { found: 3 }), "{err}");
    let (result, _dir) = damaged(|d| tamper(d, schema::CF_META, schema::META_FORMAT, None));
    assert_refused(result, Item::Meta("format"));
}

#[test]
fn a_block_prepared_against_an_older_log_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut c = Consortium::new();
    let mut store = fresh(dir.path(), &c);
    c.append(&mut store, 2);
    let txs: Vec<Transaction> = (0..3).map(|_| c.tx(10)).collect();
    let stale = store.prepare(txs.clone());
    let (header, cert) = c.block(&store, &txs);
    c.append(&mut store, 1);
    let err = store
        .append_prepared(&header, &cert, stale, &[])
        .expect_err("stale");
    assert!(matches!(err, StoreError::Rejected { .. }), "{err}");
    let fresh_block = store.prepare(txs.clone());
    let (header, cert) = c.block(&store, &txs);
    assert_eq!(
        (header.log_size, header.log_root),
        (fresh_block.log_size(), fresh_block.log_root())
    );
    store
        .append_prepared(&header, &cert, fresh_block, &[])
        .expect("fresh prepare appends");
    store.fsck().expect("clean");
}

#[test]
fn tree_heads_are_recorded_checked_and_kept() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut c = Consortium::new();
    let mut recorded: Vec<(u64, SignedTreeHead)> = Vec::new();
    {
        let mut store = fresh(dir.path(), &c);
        assert!(store.latest_tree_head().expect("empty").is_none());
        // Blocks 0..=5; 3 and 4 are empty (same log size and root as 2, later times).
        for (height, n) in [3usize, 5, 2, 0, 0, 4].into_iter().enumerate() {
            c.append(&mut store, n);
            if height != 1 {
                recorded.push((height as u64, c.record_tip_head(&mut store)));
            }
        }
        // A head of an older block lands at that block's height.
        let h1 = store.header(1).expect("header");
        let sth1 = c.cosign(&h1);
        store.record_tree_head(&sth1).expect("older head");
        recorded.push((1, sth1));
        for (height, sth) in &recorded {
            assert_eq!(&store.tree_head(*height).expect("recorded"), sth);
        }
        assert_eq!(
            store.latest_tree_head().expect("read"),
            Some(recorded[4].1.clone())
        );

        // Refused, writing nothing: no quorum, a stranger, a head no block has.
        let tip = *store.tip().expect("tip");
        let head = TreeHead::of_header(&tip);
        let one = SignedTreeHead::from_cosignatures(head, vec![head.cosign(&c.members[0])]);
        let stranger = weinong_keys::KeyPair::generate();
        let strange = SignedTreeHead::from_cosignatures(
            head,
            vec![head.cosign(&c.members[0]), head.cosign(&stranger)],
        );
        let mut bad_sig = c.cosign(&tip);
        bad_sig.cosignatures[0].signature = one.cosignatures[0].signature.clone();
        let mut unsorted = c.cosign(&tip);
        unsorted.cosignatures.reverse();
        let mut cases = vec![
            ("one co-signature", one),
            ("a stranger", strange),
            ("a bad signature", bad_sig),
            ("unsorted signers", unsorted),
        ];
        for (what, change) in [
            ("root", (0u64, Hash32([9; 32]), 0u64)),
            ("size", (1, tip.log_root, 0)),
            ("time", (0, tip.log_root, 1)),
        ] {
            let mut h = head;
            h.size += change.0;
            h.root = change.1;
            h.time_ms += change.2;
            cases.push((
                what,
                SignedTreeHead::from_cosignatures(
                    h,
                    vec![h.cosign(&c.members[0]), h.cosign(&c.members[1])],
                ),
            ));
        }
        store.tree_head(tip.height).expect("recorded before");
        for (what, sth) in cases {
            let err = store.record_tree_head(&sth).expect_err(what);
            assert!(
                matches!(err, StoreError::TreeHeadRejected { .. }),
                "{what}: {err}"
            );
        }
        assert_eq!(
            store.tree_head(tip.height).expect("unchanged"),
            recorded[4].1
        );
        assert!(matches!(
            store.tree_head(tip.height + 1),
            Err(StoreError::NotFound(_))
        ));
    }
    let store = LedgerStore::open(dir.path()).expect("reopen");
    for (height, sth) in &recorded {
        assert_eq!(&store.tree_head(*height).expect("kept"), sth);
    }
    assert_eq!(store.fsck().expect("clean").tree_heads, 6);
}

#[test]
fn corrupt_tree_head_is_named_and_not_served() {
    let (result, _dir) =
        damaged(|d| flip_last_byte(d, schema::CF_TREE_HEADS, &schema::index_key(9)));
    let store = result.expect("open does not read old tree heads");
    assert!(matches!(
        store.tree_head(9),
        Err(StoreError::Corrupt {
            item: Item::TreeHead(9),
            ..
        })
    ));
    store.tree_head(8).expect("its neighbour is fine");
    assert_refused(Ok(store), Item::TreeHead(9));
}

#[test]
fn tree_head_under_another_height_is_named() {
    let (result, _dir) = damaged(|d| copy_raw(d, schema::CF_TREE_HEADS, 4, 6));
    assert_refused(result, Item::TreeHead(6));
}

#[test]
fn latest_tree_head_damage_is_not_served() {
    let (result, _dir) =
        damaged(|d| flip_last_byte(d, schema::CF_TREE_HEADS, &schema::index_key(23)));
    let store = result.expect("open");
    assert!(store.latest_tree_head().is_err());
}

#[test]
fn tree_head_past_the_tip_is_named() {
    let (result, _dir) = damaged(|d| copy_raw(d, schema::CF_TREE_HEADS, 23, 30));
    assert_refused(result, Item::TreeHead(30));
}

/// `result` is the store's refusal, its reason mentioning `why`.
fn rejected_for<T: std::fmt::Debug>(result: Result<T, StoreError>, why: &str) {
    assert!(
        matches!(&result, Err(StoreError::Rejected { reason, .. }) if reason.contains(why)),
        "{result:?}"
    );
}

/// The header of the next block over `txs`, naming `members` and handing over to `next`,
/// certified by `signers`.
fn handover_block(
    store: &LedgerStore,
    txs: &[Transaction],
    members: &weinong_ledger::MemberSet,
    next: &weinong_ledger::MemberSet,
    signers: &[&weinong_keys::KeyPair],
) -> (
    weinong_ledger::BlockHeader,
    weinong_ledger::CommitCertificate,
) {
    let (log_size, log_root) = store.preview(txs);
    let tip = store.tip().expect("a block before");
    let header = weinong_ledger::BlockHeader {
        height: tip.height + 1,
        previous: tip.hash(),
        log_size,
        log_root,
        state_digest: Hash32([0x44; 32]),
        time_ms: tip.time_ms + 1,
        proposer: signers[0].key_id(),
        members: members.digest(),
        next_members: next.digest(),
    };
    let votes = signers.iter().map(|k| header.vote(k)).collect();
    (
        header,
        weinong_ledger::CommitCertificate::from_votes(&header, votes),
    )
}

#[test]
fn member_sets_hand_over_by_block_and_proofs_follow_them_from_genesis() {
    use weinong_ledger::MemberSet;
    let dir = tempfile::tempdir().expect("temp dir");
    let mut c = Consortium::new();
    let genesis = c.set.clone();
    let newcomer = weinong_keys::KeyPair::generate();
    // Member 2's key is rotated to the newcomer's.
    let rotated = MemberSet::majority(vec![
        c.members[0].public_key().clone(),
        c.members[1].public_key().clone(),
        newcomer.public_key().clone(),
    ])
    .expect("2 of 3");
    let mut store = fresh(dir.path(), &c);
    let txs0 = vec![c.tx(24)];
    let (h0, cert0) = c.block(&store, &txs0);
    let keys: Vec<_> = c.signers.iter().map(|k| k.public_key().clone()).collect();
    store
        .append_block(&h0, &cert0, &txs0, &keys)
        .expect("block 0");

    // Block 1 is signed by the genesis set and hands over.
    let txs1 = vec![c.tx(24)];
    let old_quorum = [&c.members[0], &c.members[2]];
    let (h1, cert1) = handover_block(&store, &txs1, &genesis, &rotated, &old_quorum);
    // Appending it as if the set were kept is refused: the header names another next set.
    rejected_for(store.append_block(&h1, &cert1, &txs1, &[]), "hands over");
    let prepared = store.prepare(txs1.clone());
    store
        .append_with_members(&h1, &cert1, prepared, &[], &rotated)
        .expect("block 1 hands over");
    assert_eq!(store.members(), &rotated);
    assert_eq!(store.genesis_members(), &genesis);

    // Block 2: the replaced key's signature no longer counts.
    let txs2 = vec![c.tx(24)];
    let with_replaced = [&c.members[1], &c.members[2]];
    let (h2, by_old) = handover_block(&store, &txs2, &rotated, &rotated, &with_replaced);
    rejected_for(store.append_block(&h2, &by_old, &txs2, &[]), "not a member");
    // A header naming the old set is refused even with old signatures.
    let (stale, stale_cert) = handover_block(&store, &txs2, &genesis, &genesis, &with_replaced);
    assert!(store.append_block(&stale, &stale_cert, &txs2, &[]).is_err());
    let new_quorum = [&c.members[1], &newcomer];
    let (h2, cert2) = handover_block(&store, &txs2, &rotated, &rotated, &new_quorum);
    store
        .append_block(&h2, &cert2, &txs2, &[])
        .expect("block 2");
    drop(store);

    // Reopened, the history is there and fsck checks each block under its own set.
    let store = LedgerStore::open(dir.path()).expect("reopen");
    assert_eq!(store.members_at(0), &genesis);
    assert_eq!(store.members_at(1), &genesis);
    assert_eq!(store.members_at(2), &rotated);
    assert_eq!(store.member_history().len(), 1);
    store.fsck().expect("clean store");

    // An auditor pinning the genesis set checks a proof of block 2 through the hand-over.
    let bundle = store.export_bundle(&txs2[0].hash(), None).expect("export");
    assert_eq!(bundle.member_changes.len(), 1);
    bundle.verify(Some(&genesis)).expect("follows the change");
    let mut stripped = bundle.clone();
    stripped.member_changes.clear();
    let e = stripped
        .verify(Some(&genesis))
        .expect_err("no path from genesis");
    assert_eq!(e.check, "members", "{e}");
    // A proof of block 0 needs no change; one of block 1 is still under the genesis set.
    let early = store.export_bundle(&txs1[0].hash(), None).expect("export");
    assert!(early.member_changes.is_empty());
    early.verify(Some(&genesis)).expect("genesis set");
    let head = store.certified_head(2).expect("head");
    head.verify(Some(&genesis))
        .expect("head follows the change");

    // A forged hand-over (signed by the new set only, not the old quorum) is refused.
    let forged = weinong_ledger::MemberChange {
        header: h1,
        certificate: weinong_ledger::CommitCertificate::from_votes(
            &h1,
            vec![h1.vote(&newcomer), h1.vote(&c.members[1])],
        ),
        next: rotated.clone(),
    };
    assert!(weinong_ledger::follow_member_changes(&genesis, &[forged]).is_err());
}
