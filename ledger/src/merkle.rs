//! The append-only Merkle log of RFC 9162 (Certificate Transparency 2.0), generic over a
//! 32-byte digest, with storage-backed proofs.
//!
//! Hashing follows RFC 9162 §2.1.1: a leaf is `H(0x00 ‖ data)`, an interior node
//! `H(0x01 ‖ left ‖ right)`, and a tree of `n` leaves splits at the largest power of two
//! below `n`. The ledger instantiates it with SM3 ([`Sm3`]); the tests check the same code
//! with SHA-256 against the RFC 6962 known answers first.
//!
//! What is stored: the root of every *perfect* subtree, addressed by `(level, index)`
//! (level 0 = leaf hashes; the store packs them in tiles, see `store::schema`). Those never
//! change once complete, so an append adds only new nodes,
//! and any root, inclusion proof (§2.1.3) or consistency proof (§2.1.4) of any size reads
//! O(log n) of them: at most one right-edge subtree per proof is incomplete, and it is
//! folded from at most 64 perfect ones. Which nodes a proof needs, and verification, come
//! from `ct-merkle` (array-tree indices of RFC 9420 §4.1, which give RFC 6962's shape);
//! this module only maps those indices to stored subtrees.
//!
//! This module must not know about RocksDB, transactions or blocks.

use core::fmt;

use ct_merkle::digest::{Digest, OutputSizeUser, consts::U32};
use ct_merkle::{ConsistencyProof as CtConsistency, InclusionProof as CtInclusion, RootHash};

/// Largest log size the tree arithmetic supports (RFC 9420 array indices need `2n` in u64).
pub const TREE_SIZE_MAX: u64 = u64::MAX / 2 + 1;

/// Leaf hash domain prefix (RFC 9162 §2.1.1).
const LEAF_PREFIX: u8 = 0x00;
/// Interior node hash domain prefix (RFC 9162 §2.1.1).
const NODE_PREFIX: u8 = 0x01;

/// A 32-byte digest usable for the log: SM3 in the ledger, SHA-256 in the known-answer tests.
pub trait TreeDigest: Digest + OutputSizeUser<OutputSize = U32> {}
impl<T: Digest + OutputSizeUser<OutputSize = U32>> TreeDigest for T {}

/// SM3 (GB/T 32905), the ledger's digest.
pub type Sm3 = sm3::Sm3;

/// A node hash in the log: a leaf hash, a subtree root or a tree root.
pub type NodeHash = [u8; 32];

/// `H(0x00 ‖ data)` (RFC 9162 §2.1.1).
pub fn leaf_hash<H: TreeDigest>(data: &[u8]) -> NodeHash {
    let mut h = H::new_with_prefix([LEAF_PREFIX]);
    h.update(data);
    h.finalize().into()
}

/// `H(0x01 ‖ left ‖ right)` (RFC 9162 §2.1.1).
pub fn node_hash<H: TreeDigest>(left: &NodeHash, right: &NodeHash) -> NodeHash {
    let mut h = H::new_with_prefix([NODE_PREFIX]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The root of the empty tree: `H()` (RFC 9162 §2.1.1).
pub fn empty_root<H: TreeDigest>() -> NodeHash {
    H::new().finalize().into()
}

/// Where a proof's nodes come from: the perfect subtree roots, by `(level, index)`.
///
/// Node `(level, index)` is the root of leaves `[index·2^level, (index+1)·2^level)`.
pub trait NodeSource {
    /// The source's read error.
    type Error;
    /// Reads one perfect subtree root. Asking for a node that is not complete yet is a
    /// caller bug; a source may answer it with an error.
    fn node(&self, level: u8, index: u64) -> Result<NodeHash, Self::Error>;

    /// Reads several nodes, in order. A store overrides this with one batched read: a
    /// proof asks for all its nodes at once.
    fn nodes(&self, keys: &[(u8, u64)]) -> Result<Vec<NodeHash>, Self::Error> {
        keys.iter()
            .map(|&(level, index)| self.node(level, index))
            .collect()
    }
}

/// What can go wrong building or checking a proof.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ProofError<E> {
    /// The tree has no leaves, so there is nothing to prove.
    #[error("the tree is empty: there is no proof to make or check")]
    EmptyTree,
    /// The leaf index is not inside the tree.
    #[error("leaf index {index} is outside a tree of {size} leaves")]
    IndexOutOfRange {
        /// The leaf index asked for.
        index: u64,
        /// The tree size.
        size: u64,
    },
    /// A consistency proof needs `0 < old_size <= new_size`.
    #[error("no consistency proof from size {old_size} to size {new_size}: need 0 < old <= new")]
    SizesInvalid {
        /// The older tree size.
        old_size: u64,
        /// The newer tree size.
        new_size: u64,
    },
    /// The tree size exceeds [`TREE_SIZE_MAX`].
    #[error("tree size {size} exceeds the supported maximum")]
    TooLarge {
        /// The size given.
        size: u64,
    },
    /// The proof has the wrong number of hashes for these sizes.
    #[error("the proof has {found} hashes where these sizes need {expected}")]
    WrongLength {
        /// Hashes the sizes call for.
        expected: u64,
        /// Hashes the proof holds.
        found: u64,
    },
    /// The proof does not lead to the given root(s).
    #[error("the proof does not lead to the tree head's root")]
    RootMismatch,
    /// Reading a stored node failed.
    #[error("reading a log node: {0}")]
    Source(E),
}

/// The compact form of a log: the perfect subtree roots covering `[0, size)`, largest first
/// (the binary decomposition of `size`). Appending needs no reads from storage.
#[derive(Clone, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    /// One root per set bit of `size`, from the highest bit down.
    roots: Vec<NodeHash>,
}

impl fmt::Debug for Frontier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Frontier")
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

impl Default for Frontier {
    fn default() -> Self {
        Self::new()
    }
}

impl Frontier {
    /// The frontier of the empty log.
    pub fn new() -> Self {
        Self {
            size: 0,
            roots: Vec::new(),
        }
    }

    /// Rebuilds the frontier of a log of `size` leaves from its stored perfect subtrees
    /// (one read per set bit of `size`).
    pub fn load<S: NodeSource>(source: &S, size: u64) -> Result<Self, S::Error> {
        let roots = source.nodes(&range_pieces(0, size, 64))?;
        Ok(Self { size, roots })
    }

    /// Leaves in the log.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends one leaf hash; `on_node(level, index, hash)` is called for every perfect
    /// subtree this completes, the leaf itself first.
    ///
    /// # Panics
    /// If the log already holds [`TREE_SIZE_MAX`] leaves (2^63: never reached in practice).
    pub fn push<H: TreeDigest>(
        &mut self,
        leaf: NodeHash,
        mut on_node: impl FnMut(u8, u64, &NodeHash),
    ) {
        assert!(self.size < TREE_SIZE_MAX, "Merkle log is full");
        let index = self.size;
        on_node(0, index, &leaf);
        let mut hash = leaf;
        let mut level = 0u8;
        // Each trailing one bit of the old size is a left sibling now completed.
        while (index >> level) & 1 == 1 {
            let left = self
                .roots
                .pop()
                .expect("frontier has a root per set bit of the size");
            hash = node_hash::<H>(&left, &hash);
            level += 1;
            on_node(level, index >> level, &hash);
        }
        self.roots.push(hash);
        self.size += 1;
    }

    /// The tree root (RFC 9162 §2.1.1 MTH) of the current log.
    pub fn root<H: TreeDigest>(&self) -> NodeHash {
        fold_right::<H>(&self.roots).unwrap_or_else(empty_root::<H>)
    }
}

/// `MTH` of adjacent perfect subtrees given largest first: RFC 9162 splits at the largest
/// power of two, so the tree is the right fold `p1 ∘ (p2 ∘ (… ∘ pk))`.
fn fold_right<H: TreeDigest>(pieces: &[NodeHash]) -> Option<NodeHash> {
    let (last, rest) = pieces.split_last()?;
    Some(
        rest.iter()
            .rev()
            .fold(*last, |acc, left| node_hash::<H>(left, &acc)),
    )
}

/// The perfect subtrees that make up the subtree with RFC 9420 array index `array_index`
/// in a tree of `size` leaves: the node itself when complete, else the pieces of the one
/// incomplete right-edge subtree.
fn array_pieces(size: u64, array_index: u64) -> Vec<(u8, u64)> {
    let level = array_index.trailing_ones();
    let start = (array_index >> (level + 1)) << level;
    // The node spans 2^level leaves, cut short only on the right edge of the tree.
    let end = start.saturating_add(1u64 << level).min(size);
    range_pieces(start, end, level)
}

/// The perfect subtrees of `[start, end)`, largest first, where `start` is a multiple of
/// `2^level` and `end - start <= 2^level`: one per set bit of the length.
fn range_pieces(start: u64, end: u64, level: u32) -> Vec<(u8, u64)> {
    let len = end.saturating_sub(start);
    let mut pieces = Vec::with_capacity(len.count_ones() as usize);
    let mut at = start;
    for bit in (0u32..=level.min(63)).rev() {
        if len & (1u64 << bit) != 0 {
            pieces.push((level_u8(bit), at >> bit));
            at += 1u64 << bit;
        }
    }
    pieces
}

/// Reads every piece of every planned subtree in one batch and folds each subtree
/// (`MTH` of its pieces).
fn read_planned<H: TreeDigest, S: NodeSource>(
    source: &S,
    plan: &[Vec<(u8, u64)>],
) -> Result<Vec<NodeHash>, S::Error> {
    let flat: Vec<(u8, u64)> = plan.iter().flatten().copied().collect();
    let mut hashes = source.nodes(&flat)?.into_iter();
    Ok(plan
        .iter()
        .map(|pieces| {
            let part: Vec<NodeHash> = hashes.by_ref().take(pieces.len()).collect();
            fold_right::<H>(&part).unwrap_or_else(empty_root::<H>)
        })
        .collect())
}

/// Tree levels are below 64 (sizes are at most 2^63), so they fit a `u8`.
fn level_u8(level: u32) -> u8 {
    u8::try_from(level).unwrap_or(u8::MAX)
}

/// The root of the log when it held `size` leaves (any past size), from stored nodes.
pub fn root_at<H: TreeDigest, S: NodeSource>(
    source: &S,
    size: u64,
) -> Result<NodeHash, ProofError<S::Error>> {
    check_size(size)?;
    let plan = [range_pieces(0, size, 64)];
    let mut roots = read_planned::<H, S>(source, &plan).map_err(ProofError::Source)?;
    Ok(roots.pop().unwrap_or_else(empty_root::<H>))
}

fn check_size<E>(size: u64) -> Result<(), ProofError<E>> {
    if size > TREE_SIZE_MAX {
        return Err(ProofError::TooLarge { size });
    }
    Ok(())
}

/// The audit path for leaf `index` in the tree of `size` leaves (RFC 9162 §2.1.3.1),
/// leaf-side sibling first.
pub fn inclusion_proof<H: TreeDigest, S: NodeSource>(
    source: &S,
    size: u64,
    index: u64,
) -> Result<Vec<NodeHash>, ProofError<S::Error>> {
    check_size(size)?;
    if size == 0 {
        return Err(ProofError::EmptyTree);
    }
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let plan: Vec<_> = ct_merkle::indices_for_inclusion_proof(size, index)
        .into_iter()
        .map(|i| array_pieces(size, i))
        .collect();
    read_planned::<H, S>(source, &plan).map_err(ProofError::Source)
}

/// The consistency proof from size `old_size` to `new_size` (RFC 9162 §2.1.4.1).
pub fn consistency_proof<H: TreeDigest, S: NodeSource>(
    source: &S,
    old_size: u64,
    new_size: u64,
) -> Result<Vec<NodeHash>, ProofError<S::Error>> {
    check_size(new_size)?;
    if old_size == 0 || old_size > new_size {
        return Err(ProofError::SizesInvalid { old_size, new_size });
    }
    let plan: Vec<_> = ct_merkle::indices_for_consistency_proof(old_size, new_size - old_size)
        .into_iter()
        .map(|i| array_pieces(new_size, i))
        .collect();
    read_planned::<H, S>(source, &plan).map_err(ProofError::Source)
}

/// Checks that `leaf_data` is leaf `index` of the tree with `size` leaves and `root`
/// (RFC 9162 §2.1.3.2, by `ct-merkle`).
pub fn verify_inclusion<H: TreeDigest>(
    leaf_data: &[u8],
    index: u64,
    size: u64,
    root: &NodeHash,
    proof: &[NodeHash],
) -> Result<(), ProofError<core::convert::Infallible>> {
    check_size(size)?;
    if size == 0 {
        return Err(ProofError::EmptyTree);
    }
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let expected = ct_merkle::indices_for_inclusion_proof(size, index).len() as u64;
    if expected != proof.len() as u64 {
        return Err(ProofError::WrongLength {
            expected,
            found: proof.len() as u64,
        });
    }
    let root = RootHash::<H>::new((*root).into(), size);
    let digests: Vec<_> = proof.iter().map(|h| (*h).into()).collect();
    root.verify_inclusion(
        &leaf_data,
        index,
        &CtInclusion::<H>::from_digests(digests.iter()),
    )
    .map_err(|_| ProofError::RootMismatch)
}

/// Checks that the tree `(old_size, old_root)` is a prefix of `(new_size, new_root)`
/// (RFC 9162 §2.1.4.2, by `ct-merkle`).
pub fn verify_consistency<H: TreeDigest>(
    old_size: u64,
    old_root: &NodeHash,
    new_size: u64,
    new_root: &NodeHash,
    proof: &[NodeHash],
) -> Result<(), ProofError<core::convert::Infallible>> {
    check_size(new_size)?;
    if old_size == 0 || old_size > new_size {
        return Err(ProofError::SizesInvalid { old_size, new_size });
    }
    let expected =
        ct_merkle::indices_for_consistency_proof(old_size, new_size - old_size).len() as u64;
    if expected != proof.len() as u64 {
        return Err(ProofError::WrongLength {
            expected,
            found: proof.len() as u64,
        });
    }
    let old = RootHash::<H>::new((*old_root).into(), old_size);
    let new = RootHash::<H>::new((*new_root).into(), new_size);
    let digests: Vec<_> = proof.iter().map(|h| (*h).into()).collect();
    new.verify_consistency(&old, &CtConsistency::<H>::from_digests(digests.iter()))
        .map_err(|_| ProofError::RootMismatch)
}

/// An in-memory node source: every perfect subtree root, by level. For tests, benchmarks
/// and small tools; the ledger store keeps the same nodes in RocksDB.
#[derive(Clone, Default)]
pub struct MemoryLog {
    frontier: Frontier,
    levels: Vec<Vec<NodeHash>>,
}

impl fmt::Debug for MemoryLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryLog")
            .field("size", &self.frontier.size)
            .finish_non_exhaustive()
    }
}

/// A node asked of a [`MemoryLog`] that it does not hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("log node (level {level}, index {index}) is not complete in this log")]
pub struct MissingNode {
    /// Level asked for.
    pub level: u8,
    /// Index asked for.
    pub index: u64,
}

impl MemoryLog {
    /// An empty log.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends one leaf's data.
    pub fn push<H: TreeDigest>(&mut self, data: &[u8]) {
        self.push_hash::<H>(leaf_hash::<H>(data));
    }

    /// Appends one leaf hash.
    pub fn push_hash<H: TreeDigest>(&mut self, leaf: NodeHash) {
        let levels = &mut self.levels;
        self.frontier.push::<H>(leaf, |level, _index, hash| {
            let level = usize::from(level);
            if levels.len() <= level {
                levels.resize_with(level + 1, Vec::new);
            }
            levels[level].push(*hash);
        });
    }

    /// Leaves in the log.
    pub fn size(&self) -> u64 {
        self.frontier.size()
    }

    /// The current root.
    pub fn root<H: TreeDigest>(&self) -> NodeHash {
        self.frontier.root::<H>()
    }
}

impl NodeSource for MemoryLog {
    type Error = MissingNode;
    fn node(&self, level: u8, index: u64) -> Result<NodeHash, MissingNode> {
        usize::try_from(index)
            .ok()
            .and_then(|i| self.levels.get(usize::from(level))?.get(i))
            .copied()
            .ok_or(MissingNode { level, index })
    }
}
