//! Named limits of the contracts. Every count or length read from a payload is checked
//! against one of these before anything is allocated for it.

/// Most admin approvals one governance transaction may carry.
pub const APPROVALS_MAX: u16 = 64;

/// Most members (department nodes) in the consortium.
pub const MEMBERS_MAX: u16 = 64;

/// Most keys listed in one genesis role list.
pub const GENESIS_KEYS_MAX: u16 = 256;

/// Largest canonical model spec a registration may carry (the payload must also fit the
/// ledger's `TX_PAYLOAD_BYTES_MAX`).
pub const MODEL_SPEC_BYTES_MAX: u32 = 48 * 1024;

/// The longest canonical policy spec a registration may carry (the shipped ones are
/// under 1 KiB: a few predicates over named features).
pub const POLICY_SPEC_BYTES_MAX: u32 = 16 * 1024;

/// Longest consent validity: five years of milliseconds. A consent must name its end
/// (PIPL Art. 15: consent is for a stated scope, and withdrawal is always possible).
pub const CONSENT_VALIDITY_MS_MAX: u64 = 5 * 366 * 24 * 3600 * 1000;

/// How long an assessment request may stay open (requested or authorised) before the
/// time-out moves it to failed: 24 hours of block time.
pub const REQUEST_TIMEOUT_MS: u64 = 24 * 3600 * 1000;

/// Most accesses recorded against one request (three departments, a few categories each).
pub const REQUEST_ACCESSES_MAX: u16 = 64;

/// Most subjects one part of a batch request carries (2,000 × 32 bytes fits a payload).
pub const BATCH_PART_SUBJECTS_MAX: u16 = 2_000;

/// Most parts of one batch request: 150 × 2,000 = 300,000 subjects
/// ([`BATCH_SUBJECTS_MAX`]). The bound comes from the sealed output share: every
/// department's share of a whole batch travels to the requester in one p2p message, so
/// `weinong-node`'s limits check at compile time that a full batch of a model with the
/// most output columns fits (a larger city-wide run is several requests).
pub const BATCH_PARTS_MAX: u32 = 150;

/// Most subjects in one batch request.
pub const BATCH_SUBJECTS_MAX: u32 = BATCH_PART_SUBJECTS_MAX as u32 * BATCH_PARTS_MAX;

const _: () = assert!(APPROVALS_MAX >= 1);
const _: () = assert!(
    (BATCH_PART_SUBJECTS_MAX as u32) * 32 + 128 < weinong_ledger::limits::TX_PAYLOAD_BYTES_MAX
);
const _: () = assert!(MEMBERS_MAX <= weinong_ledger::limits::MEMBERS_MAX);
const _: () = assert!(MODEL_SPEC_BYTES_MAX < weinong_ledger::limits::TX_PAYLOAD_BYTES_MAX);
const _: () = assert!(REQUEST_TIMEOUT_MS > 0);

/// Most keys [`crate::PreparedKeys`] keeps a verification table for (about 25 KiB each).
pub const PREPARED_KEYS_MAX: usize = 1024;

/// Most role bindings recorded for one key (rebinding grows the history).
pub const BINDINGS_PER_KEY_MAX: usize = 64;
