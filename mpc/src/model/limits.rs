//! Named limits of the model compiler, the backends and the input loader.
//!
//! Every spec, expression, table and batch has an upper bound; going past one is a typed
//! error, never a slow degradation.

/// Largest model spec file accepted, in bytes.
pub const SPEC_BYTES_MAX: usize = 1 << 20;
/// Longest name (input, parameter, derived quantity, table, output), in bytes.
pub const NAME_BYTES_MAX: usize = 64;
/// Longest expression string, in bytes.
pub const EXPR_BYTES_MAX: usize = 8 * 1024;
/// Deepest expression nesting (parentheses, calls, operators) the parser follows.
pub const EXPR_DEPTH_MAX: u32 = 64;
/// Most IR nodes one model may compile to.
pub const NODES_MAX: usize = 100_000;
/// Most inputs one model may declare (optional inputs count twice: value and flag).
pub const INPUTS_MAX: usize = 1024;
/// Most bands in one range-lookup table.
pub const BANDS_MAX: usize = 256;
/// Most decimal places an input column may carry.
pub const DECIMALS_MAX: u8 = 6;
/// Largest magnitude any IR value may reach. Keeping every value within ±(2^62 − 1) means
/// the difference of any two values fits in an `i64`, which is what comparison by the sign
/// of a difference (plaintext and MPC alike) relies on.
pub const VALUE_MAGNITUDE_MAX: i64 = (1 << 62) - 1;
/// Most subjects in one batch.
pub const BATCH_LEN_MAX: usize = 10_000_000;
/// Longest CSV cell accepted, in bytes.
pub const CSV_CELL_BYTES_MAX: usize = 256;

/// Subjects per chunk of an MPC evaluation: bounds memory (a few hundred share vectors of
/// this length) and keeps every engine call far below the engine's batch limit (each call
/// carries at most a few dozen elements per subject).
pub const MPC_SUBJECT_CHUNK_LEN: usize = 1 << 16;

/// Most output columns one [`super::OutputShare`] may carry (a model with more outputs
/// cannot be evaluated for a requester). Decoding refuses a share that declares more.
/// Sixteen is twice what the shipped models use, and keeps a whole batch's share within
/// one p2p message (see `weinong-node`'s limits).
pub const OUTPUT_COLUMNS_MAX: usize = 16;
/// Most subjects one [`super::OutputShare`] may carry; a larger batch is split into several
/// requests. With [`OUTPUT_COLUMNS_MAX`] this bounds a share's encoding to 512 MB, and
/// decoding checks the declared size against the bytes given before allocating anything.
pub const OUTPUT_SUBJECTS_MAX: usize = 1_000_000;

/// Bytes of a [`super::BatchShare`] encoding that covers `subjects` rows of `columns`
/// outputs: the batch header, one u32 row index per subject, then the
/// [`super::OutputShare`] (its header and one u64 per value). Limits on sealed shares
/// elsewhere are derived from it.
pub const fn batch_share_bytes(subjects: usize, columns: usize) -> usize {
    super::requester::BATCH_SHARE_HEADER_BYTES
        + 4 * subjects
        + super::requester::SHARE_HEADER_BYTES
        + 8 * subjects * columns
}

const _: () = assert!(VALUE_MAGNITUDE_MAX.checked_mul(2).is_some());
const _: () = assert!(INPUTS_MAX <= u32::MAX as usize);
const _: () = assert!(NODES_MAX <= u32::MAX as usize);
const _: () = assert!(OUTPUT_COLUMNS_MAX <= u32::MAX as usize);
const _: () = assert!(OUTPUT_SUBJECTS_MAX <= u32::MAX as usize);
