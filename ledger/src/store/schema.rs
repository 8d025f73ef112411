//! The store's column families, store keys and packed values (format version
//! [`FORMAT_VERSION`]), declared once.
//!
//! All integers in store keys and packed values are big-endian, so RocksDB's byte order is
//! numeric order.
//!
//! | column family | store key | value |
//! |---|---|---|
//! | `headers` | height `u64` | canonical block header |
//! | `certificates` | height `u64` | canonical commit certificate |
//! | `tx_chunks` | log index `u64` of its first transaction | a [transaction chunk](#transaction-chunks) |
//! | `tx_index` | `TxHash` (32) | log index `u64` |
//! | `log_tiles` | tile level `u8` ‖ tile index `u64` | a [log tile](#log-tiles) |
//! | `keys` | `KeyId` (32) | 65-byte SEC1 public key of a transaction signer |
//! | `tree_heads` | height `u64` | canonical signed tree head of that block's log |
//! | `meta` | [`META_FORMAT`] | format version `u32` ([`FORMAT_VERSION`]) |
//! | `meta` | [`META_MEMBERS`] | canonical genesis member set |
//! | `meta` | [`META_MEMBER_SET_PREFIX`] ‖ height `u64` | canonical member set in force from that height (a governance hand-over) |
//! | `meta` | [`META_TIP`] | height `u64` of the last committed block |
//!
//! Why packed values: a block of 1,000 transactions used to write ~4,000 keys (one per
//! transaction, index entry and log node), and inserting them into RocksDB's memtable cost
//! more CPU than anything else in an append. Chunks and tiles bring that to ~1,030 keys,
//! the transaction index being the rest; its random keys go to a hash-bucketed memtable
//! (RocksDB `HashLinkList` over an 8-byte prefix, set by the store, not part of the
//! format), which inserts them without a skip-list search each.
//!
//! # Transaction chunks
//!
//! A chunk holds consecutive transactions of one block (a chunk never spans two blocks, so
//! it is written once and never rewritten): at most [`CHUNK_TXS_MAX`] transactions, and no
//! more once it holds [`CHUNK_BYTES_TARGET`] bytes. Value: for each transaction, its length
//! `u32` then its canonical bytes. A transaction is found by seeking the last chunk key at
//! or before its log index.
//!
//! # Log tiles
//!
//! The log's perfect-subtree roots ("nodes": level 0 = leaf hashes, see [`crate::merkle`])
//! are stored in tiles of [`TILE_HEIGHT`] levels, as in Go's `tlog` tiles. Tile
//! `(t, k)` holds the nodes at levels `8t ..= 8t + 7` above the 256 level-`8t` nodes
//! `[256k, 256k + 256)`; node `(level, index)` is in exactly one tile. The value is the
//! tile's complete nodes in the order the log completes them (post-order: a node right
//! after its right child), 32 bytes each, so a tile with its first `w` bottom nodes holds
//! `2w - popcount(w)` nodes (`510` when full) and is a prefix of the full tile. Only the
//! right edge of the log has incomplete tiles (at most one per tile level); a block
//! rewrites those and writes the tiles it completes. A proof reads one tile per 8 levels
//! of the log, plus the right-edge tiles.

use std::ops::Range;

/// The store layout this build reads and writes. Format 1 (no `meta` `format` record, one
/// key per transaction and per log node, column families `txs` and `nodes`) is refused on
/// open.
pub const FORMAT_VERSION: u32 = 2;

/// Block headers by height.
pub const CF_HEADERS: &str = "headers";
/// Commit certificates by height.
pub const CF_CERTIFICATES: &str = "certificates";
/// Transaction chunks by the log index of their first transaction.
pub const CF_TX_CHUNKS: &str = "tx_chunks";
/// Log index by transaction hash.
pub const CF_TX_INDEX: &str = "tx_index";
/// Merkle log tiles by (tile level, tile index).
pub const CF_LOG_TILES: &str = "log_tiles";
/// Signer public keys by key id.
pub const CF_KEYS: &str = "keys";
/// Co-signed tree heads by the height of the block whose log they sign.
pub const CF_TREE_HEADS: &str = "tree_heads";
/// Store-wide records.
pub const CF_META: &str = "meta";

/// Every column family, in creation order.
pub const COLUMN_FAMILIES: [&str; 8] = [
    CF_HEADERS,
    CF_CERTIFICATES,
    CF_TX_CHUNKS,
    CF_TX_INDEX,
    CF_LOG_TILES,
    CF_KEYS,
    CF_META,
    CF_TREE_HEADS,
];

/// Column families only a format-1 store has: their presence names the old format.
pub const FORMAT_1_COLUMN_FAMILIES: [&str; 2] = ["txs", "nodes"];

/// Meta key of the format version.
pub const META_FORMAT: &[u8] = b"format";
/// Meta key of the member set.
pub const META_MEMBERS: &[u8] = b"members";
/// Prefix of the meta keys of later member sets ([`member_set_key`]).
pub const META_MEMBER_SET_PREFIX: &[u8] = b"members@";
/// Meta key of the tip height.
pub const META_TIP: &[u8] = b"tip";

/// Most transactions in one chunk.
pub const CHUNK_TXS_MAX: usize = 64;
/// A chunk takes no further transaction once it holds this many bytes, so that reading one
/// transaction reads little else.
pub const CHUNK_BYTES_TARGET: usize = 16 * 1024;

/// Levels per log tile.
pub const TILE_HEIGHT: u8 = 8;
/// Bottom nodes per log tile.
pub const TILE_WIDTH: u64 = 1 << TILE_HEIGHT;
/// Nodes in a full tile: every level but the top one, which is the next tile level's.
pub const TILE_NODES_MAX: usize = (2 << TILE_HEIGHT) - 2;

/// Store key of a height or log index.
pub fn index_key(index: u64) -> [u8; 8] {
    index.to_be_bytes()
}

/// Meta key of the member set in force from `height`.
pub fn member_set_key(height: u64) -> Vec<u8> {
    let mut key = META_MEMBER_SET_PREFIX.to_vec();
    key.extend_from_slice(&height.to_be_bytes());
    key
}

/// Store key of a log tile.
pub fn tile_key(tile_level: u8, tile_index: u64) -> [u8; 9] {
    let mut key = [0u8; 9];
    key[0] = tile_level;
    key[1..].copy_from_slice(&tile_index.to_be_bytes());
    key
}

/// Where log node `(level, index)` is stored: its tile's `(tile level, tile index)` and
/// its position (in nodes, not bytes) in the tile's value.
pub fn node_place(level: u8, index: u64) -> (u8, u64, usize) {
    let tile_level = level / TILE_HEIGHT;
    let within = level % TILE_HEIGHT;
    let span = TILE_HEIGHT - within;
    let tile_index = index >> span;
    // `index mod 2^span`, below TILE_WIDTH, and the last bottom node under it.
    let at = index & ((1u64 << span) - 1);
    let last_bottom = ((at + 1) << within) - 1;
    let position = nodes_before(last_bottom) + usize::from(within);
    (tile_level, tile_index, position)
}

/// Nodes the log completes in a tile while its first `bottom` bottom nodes are added
/// (`bottom` < [`TILE_WIDTH`]): `Σ floor(bottom / 2^j) = 2·bottom − popcount(bottom)`.
fn nodes_before(bottom: u64) -> usize {
    let nodes = 2 * bottom - u64::from(bottom.count_ones());
    // Below 512: always fits.
    usize::try_from(nodes).unwrap_or(usize::MAX)
}

/// Whether `nodes` is the node count of a tile with some number (1..=256) of bottom nodes.
pub fn tile_len_valid(nodes: usize) -> bool {
    if nodes == TILE_NODES_MAX {
        return true;
    }
    // `2w - popcount(w)` grows with `w` and `w <= nodes`, so at most the few `w` near
    // `nodes / 2` can give it.
    let lo = (nodes / 2) as u64;
    (lo..=lo + 8).any(|w| (1..TILE_WIDTH).contains(&w) && nodes_before(w) == nodes)
}

/// The canonical bytes of each transaction in a chunk value, in order; `None` if the value
/// is not a well-formed chunk (a length runs past the end, or no transaction).
pub fn chunk_ranges(value: &[u8]) -> Option<Vec<Range<usize>>> {
    let mut ranges = Vec::new();
    let mut at = 0usize;
    while at < value.len() {
        let len_bytes: [u8; 4] = value.get(at..at + 4)?.try_into().ok()?;
        let len = usize::try_from(u32::from_be_bytes(len_bytes)).ok()?;
        let start = at + 4;
        let end = start.checked_add(len)?;
        if end > value.len() || ranges.len() == CHUNK_TXS_MAX {
            return None;
        }
        ranges.push(start..end);
        at = end;
    }
    (!ranges.is_empty()).then_some(ranges)
}

/// Appends one transaction's canonical bytes to a chunk value.
pub(crate) fn chunk_push(chunk: &mut Vec<u8>, tx: &[u8]) {
    // A transaction is at most `TX_BYTES_MAX` (< 4 GiB) bytes.
    let len = u32::try_from(tx.len()).unwrap_or(u32::MAX);
    chunk.extend_from_slice(&len.to_be_bytes());
    chunk.extend_from_slice(tx);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Node positions against a tile built the way the log builds it (post-order).
    #[test]
    fn node_places_follow_post_order() {
        let mut order: Vec<(u8, u64)> = Vec::new();
        for bottom in 0..TILE_WIDTH {
            order.push((0, bottom));
            let mut level = 0;
            while level + 1 < TILE_HEIGHT && (bottom >> level) & 1 == 1 {
                level += 1;
                order.push((level, bottom >> level));
            }
        }
        assert_eq!(order.len(), TILE_NODES_MAX);
        for (position, &(level, index)) in order.iter().enumerate() {
            assert_eq!(
                node_place(level, index),
                (0, 0, position),
                "{level} {index}"
            );
            // The same node shape one tile level up and one tile along.
            let (l, i) = (level + 8, index + (TILE_WIDTH >> level));
            assert_eq!(node_place(l, i), (1, 1, position));
        }
        for w in 1..=TILE_WIDTH {
            let len = if w == TILE_WIDTH {
                TILE_NODES_MAX
            } else {
                nodes_before(w)
            };
            assert!(tile_len_valid(len), "{w}");
        }
        let valid = (0..=TILE_NODES_MAX).filter(|n| tile_len_valid(*n)).count();
        assert_eq!(valid as u64, TILE_WIDTH);
    }

    #[test]
    fn chunks_round_trip_and_refuse_bad_lengths() {
        let mut chunk = Vec::new();
        chunk_push(&mut chunk, b"abc");
        chunk_push(&mut chunk, b"");
        chunk_push(&mut chunk, b"de");
        let ranges = chunk_ranges(&chunk).expect("well formed");
        let parts: Vec<&[u8]> = ranges.iter().map(|r| &chunk[r.clone()]).collect();
        assert_eq!(parts, [&b"abc"[..], b"", b"de"]);
        assert!(chunk_ranges(&chunk[..chunk.len() - 1]).is_none());
        assert!(chunk_ranges(&[]).is_none());
        assert!(chunk_ranges(&[0, 0, 0]).is_none());
        let mut long = chunk.clone();
        long[3] = 200;
        assert!(chunk_ranges(&long).is_none());
    }
}
