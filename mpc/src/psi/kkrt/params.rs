//! The fixed parameters of Weinong's KKRT16 PSI, each with where it comes from. Both parties
//! compute everything size-dependent from these and the receiver's announced set size, so a
//! peer with other parameters fails the `Table` check instead of producing garbage.

/// Bits of a pseudorandom codeword, and so base OTs and columns of the OT-extension matrix.
/// KKRT16 §4 (Table 2) uses 512 for 128-bit computational and 40-bit statistical security
/// with a pseudorandom code.
pub const CODE_BITS: usize = 512;
/// [`CODE_BITS`] in bytes: one row of the OT-extension matrix.
pub const CODE_BYTES: usize = CODE_BITS / 8;
/// [`CODE_BITS`] in 64-bit words.
pub const CODE_WORDS: usize = CODE_BITS / 64;

/// One row of the OT-extension matrix (a codeword, a `t` or a `q` row), as 64-bit words;
/// bit `i` of the row is bit `i % 64` of word `i / 64`.
pub type Row = [u64; CODE_WORDS];

/// Hash functions of the receiver's cuckoo table (and so sender values per element).
pub const HASHES: usize = 3;

/// Cuckoo bins per receiver element, as a fraction `BINS_NUMERATOR / BINS_DENOMINATOR`:
/// 1.27. The stash-free parameters measured by Pinkas, Schneider, Weinert and Wieder
/// ("Efficient Circuit-based PSI via Cuckoo Hashing", EUROCRYPT 2018) and used by the
/// later OPRF-PSI literature and implementations: with 3 hash functions and 1.27·n bins,
/// insertion fails (needs a stash) with probability below 2^-40. A failure is retried with fresh
/// hash keys ([`CUCKOO_ATTEMPTS`]), never silently dropped.
pub const BINS_NUMERATOR: u64 = 127;
/// See [`BINS_NUMERATOR`].
pub const BINS_DENOMINATOR: u64 = 100;

/// Bins of the smallest table: one column chunk. Small sets pay for a whole chunk on the
/// wire anyway, and the low load makes the 2^-40 bound hold where the asymptotic analysis
/// behind 1.27 does not (a few elements).
pub const BINS_MIN: u64 = CHUNK_BINS as u64;

/// Evictions one insertion may cause before the table is declared failed.
pub const CUCKOO_EVICTIONS_MAX: usize = 2000;

/// Fresh-key attempts at building the cuckoo table before the run fails.
pub const CUCKOO_ATTEMPTS: u8 = 4;

/// Cuckoo bins for a receiver with `distinct` elements.
pub fn bins_for(distinct: u64) -> u64 {
    (distinct.saturating_mul(BINS_NUMERATOR))
        .div_ceil(BINS_DENOMINATOR)
        .max(BINS_MIN)
}

/// Bytes of one OPRF value sent by the sender: 96 bits. A false match needs one of the
/// sender's `3·n_S` values to equal one of the receiver's `n_R`: probability at most
/// `3·n_S·n_R / 2^96`, below 2^-40 while `n_S·n_R ≤ 2^54` (both sides at
/// [`super::super::limits::INPUT_ROWS_MAX`] = 10^8 give 2^53.2). KKRT16 §5 sets the
/// length to σ + log2(3·n_S·n_R) bits.
pub const VALUE_BYTES: usize = 12;

/// One OPRF value on the wire.
pub type Value = [u8; VALUE_BYTES];

/// Bins per column chunk: the unit of streaming. One chunk is one `Columns` frame of
/// [`COLUMNS_FRAME_BYTES`] and one transpose of a 512 × 2048 bit matrix.
pub const CHUNK_BINS: usize = 2048;

/// Bytes of one column within a chunk.
pub const CHUNK_COLUMN_BYTES: usize = CHUNK_BINS / 8;

/// Bytes of a chunk's columns: 128 KiB.
pub const COLUMNS_FRAME_BYTES: usize = CODE_BITS * CHUNK_COLUMN_BYTES;

/// Values in one `Values` frame (96 KiB).
pub const VALUES_BATCH_MAX: usize = 8192;

/// Chunks the receiver may announce: enough for [`super::super::limits::INPUT_ROWS_MAX`]
/// elements.
pub fn chunks_for(bins: u64) -> u64 {
    bins.div_ceil(CHUNK_BINS as u64)
}

const _: () = assert!(CHUNK_BINS.is_multiple_of(64));
const _: () = assert!(CODE_BITS.is_multiple_of(64));
const _: () = assert!(4 + COLUMNS_FRAME_BYTES <= super::super::limits::FRAME_BYTES_MAX);
const _: () = assert!(4 + VALUES_BATCH_MAX * VALUE_BYTES <= super::super::limits::FRAME_BYTES_MAX);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bins_follow_the_load_factor_with_a_floor() {
        assert_eq!(bins_for(1), BINS_MIN);
        assert_eq!(bins_for(1 << 20), 1_331_692);
        assert_eq!(bins_for(100), BINS_MIN);
        assert_eq!(chunks_for(bins_for(1 << 20)), 651);
    }
}
