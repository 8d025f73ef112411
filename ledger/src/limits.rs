//! Named limits of the ledger. Every size read from outside is checked against one of these
//! before anything is allocated for it.

/// Largest transaction payload (canonical bytes of a contract call).
pub const TX_PAYLOAD_BYTES_MAX: u32 = 64 * 1024;

/// Fixed part of an encoded transaction: magic, version, kind, signer, nonce, time,
/// payload length, signature.
pub const TX_FIXED_BYTES: u32 = 4 + 1 + 2 + 32 + 8 + 8 + 4 + 64;

/// Largest encoded transaction.
pub const TX_BYTES_MAX: u32 = TX_FIXED_BYTES + TX_PAYLOAD_BYTES_MAX;

/// Most transactions in one block (one RocksDB write batch).
pub const BLOCK_TXS_MAX: u32 = 65_536;

/// Most members (voting keys) in a member set.
pub const MEMBERS_MAX: u16 = 64;

/// Most member-set hand-overs one proof file carries (each ~10 KiB at most; governance
/// changes the set a few times a year).
pub const MEMBER_CHANGES_MAX: usize = 1_024;

/// Largest JSON proof bundle `weinong audit verify` will read.
pub const BUNDLE_BYTES_MAX: u64 = 16 * 1024 * 1024;

/// Most block headers a bundle's header chain may carry.
pub const BUNDLE_HEADERS_MAX: usize = 4_096;

/// Most transactions a bundle set (`weinong-bundle-set/1`) may carry: enough for an
/// assessment request's request, accesses, their consents and withdrawals, and its end.
pub const BUNDLE_SET_ENTRIES_MAX: usize = 512;

/// When a store exports a bundle set, a transaction's block is linked to the set's head by
/// at most this many headers; one further back is proven against its own block's
/// certificate instead, so the set's size stays bounded.
pub const BUNDLE_SET_LINK_HEADERS_MAX: u64 = 256;

/// Blocks whose chain, roots and certificates are re-checked every time a store opens.
pub const OPEN_CHECK_BLOCKS: u64 = 16;

const _: () = assert!(TX_BYTES_MAX > TX_PAYLOAD_BYTES_MAX);
const _: () = assert!(BLOCK_TXS_MAX as u64 <= usize::MAX as u64);
const _: () = assert!(MEMBERS_MAX >= 1);
