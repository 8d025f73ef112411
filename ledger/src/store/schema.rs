//! The store's column families and store keys, declared once.
//!
//! All integers in store keys are big-endian, so RocksDB's byte order is numeric order.
//!
//! | column family | store key | value |
//! |---|---|---|
//! | `headers` | height `u64` | canonical block header |
//! | `certificates` | height `u64` | canonical commit certificate |
//! | `txs` | log index `u64` | canonical transaction |
//! | `tx_index` | `TxHash` (32) | log index `u64` |
//! | `nodes` | level `u8` ‖ index `u64` | 32-byte perfect-subtree root (level 0 = leaf hash) |
//! | `keys` | `KeyId` (32) | 65-byte SEC1 public key of a transaction signer |
//! | `tree_heads` | height `u64` | canonical signed tree head of that block's log |
//! | `meta` | [`META_MEMBERS`] | canonical member set |
//! | `meta` | [`META_TIP`] | height `u64` of the last committed block |

/// Block headers by height.
pub const CF_HEADERS: &str = "headers";
/// Commit certificates by height.
pub const CF_CERTIFICATES: &str = "certificates";
/// Transactions by log index.
pub const CF_TXS: &str = "txs";
/// Log index by transaction hash.
pub const CF_TX_INDEX: &str = "tx_index";
/// Merkle log nodes by (level, index).
pub const CF_NODES: &str = "nodes";
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
    CF_TXS,
    CF_TX_INDEX,
    CF_NODES,
    CF_KEYS,
    CF_META,
    CF_TREE_HEADS,
];

/// Meta key of the member set.
pub const META_MEMBERS: &[u8] = b"members";
/// Meta key of the tip height.
pub const META_TIP: &[u8] = b"tip";

/// Store key of a height or log index.
pub fn index_key(index: u64) -> [u8; 8] {
    index.to_be_bytes()
}

/// Store key of a log node.
pub fn node_key(level: u8, index: u64) -> [u8; 9] {
    let mut key = [0u8; 9];
    key[0] = level;
    key[1..].copy_from_slice(&index.to_be_bytes());
    key
}
