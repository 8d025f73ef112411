//! Named limits of the connectors: every buffer, batch and file has an upper bound.

/// Largest input file read into memory (bytes); bigger exports must be split.
pub const IMPORT_FILE_BYTES_MAX: u64 = 8 << 30;

/// Rows cleaned in parallel and written per step of an import.
pub const IMPORT_CHUNK_ROWS: usize = 16_384;

/// People whose pseudonyms an import keeps (`clean::PseudonymMemo`, ~80 bytes each); past
/// this the memo starts again, so a person met again much later is evaluated again.
pub const PSEUDONYM_MEMO_PEOPLE_MAX: usize = 4 << 20;

/// Bind parameters per SQL statement: below SQLite's 32,766 and PostgreSQL's 65,535.
pub const SQL_BINDS_MAX: usize = 32_000;

/// Longest free identifier (claim number), in characters.
pub const TEXT_CHARS_MAX: usize = 64;

/// Longest identifying value (name, phone, address), in bytes.
pub const IDENTITY_BYTES_MAX: usize = 1024;

/// Examples kept per rule in a quality report.
pub const EXAMPLES_PER_RULE: usize = 5;

/// Columns in an input file.
pub const COLUMNS_MAX: usize = 512;

/// Largest mapping file (bytes).
pub const MAPPING_BYTES_MAX: u64 = 1 << 20;

/// Largest synthetic population (`weinong data synth --people`).
pub const SYNTH_PEOPLE_MAX: u64 = 20_000_000;

/// People generated per parallel step of the synthetic generator.
pub const SYNTH_CHUNK_PEOPLE: usize = 8_192;

/// SQLite page cache of the import connection (KiB): random-pseudonym index inserts touch
/// pages all over the B-trees.
pub const SQLITE_CACHE_KIB: u64 = 256 * 1024;

/// SQLite page cache while a bulk load builds its indexes (KiB). SQLite's sorter writes
/// sorted runs of about this size and merges them (on `SQLITE_SORT_THREADS` threads); small
/// runs stay in the processor's caches. Measured on the insurance tables of a
/// million-person import (2.7 M rows, three indexes): 256 MiB in memory 5.2–5.6 s, 4 MiB
/// runs one thread 3.0 s, 2 MiB runs two threads 2.3 s. The runs go to SQLite's temporary
/// files, which it unlinks as it opens them; they hold index keys only (pseudonyms, dates,
/// claim numbers), never the sealed identities.
pub const SQLITE_INDEX_BUILD_CACHE_KIB: u64 = 2 * 1024;

/// Helper threads of SQLite's sorter during index builds (`PRAGMA threads`; SQLite caps it
/// at 8).
pub const SQLITE_SORT_THREADS: usize = 2;

/// SQLite page size of new stores (bytes; an existing file keeps the size it was made
/// with). 16 KiB instead of SQLite's 4 KiB: B-trees one level shallower, a quarter of the
/// page headers and balancing steps per row. Measured on `weinong bench data`-sized
/// imports: less CPU for the import, index builds and commit; the `features` bench reads
/// no slower (faster for civil and health).
pub const SQLITE_PAGE_BYTES: u32 = 16 * 1024;

/// Connections in a PostgreSQL pool (an import uses one; reports may use another).
pub const PG_POOL_CONNECTIONS_MAX: u32 = 4;

/// Subjects in one feature request ([`crate::features::load_features`]): a periodic
/// re-assessment of a district is at most this many residents.
pub const FEATURE_SUBJECTS_MAX: usize = 1_000_000;

/// Subjects per `IN (...)` query of the feature loader (one bind parameter each).
pub const FEATURE_CHUNK_SUBJECTS: usize = 8_192;

// An import chunk must fit at least one row of the widest table in one statement.
const _: () = assert!(SQL_BINDS_MAX >= 64);
const _: () = assert!(SQL_BINDS_MAX < 32_766);
const _: () = assert!(FEATURE_CHUNK_SUBJECTS <= SQL_BINDS_MAX);

/// Entries in an XLSX workbook (a zip archive); read from its central directory before
/// anything is decompressed.
pub const XLSX_ZIP_ENTRIES_MAX: usize = 10_000;

/// Declared uncompressed size of one XLSX zip entry (a sheet's XML, the shared strings):
/// checked before calamine opens the workbook (it reads the shared strings whole), and the
/// zip reader stops any entry at its declared size.
pub const XLSX_ENTRY_BYTES_MAX: u64 = 1 << 30;

/// Declared uncompressed size of all entries of an XLSX workbook together.
pub const XLSX_UNCOMPRESSED_BYTES_MAX: u64 = 2 << 30;

/// Cells in an XLSX sheet's used range (rows × columns), checked against the sheet's
/// declared dimension and against every cell read, before the rows are built: a sheet with
/// cells at A1 and XFD1048576 spans 17 billion cells, which a range would allocate whole.
/// A million rows of 32 columns fit; the rows built hold at most this many strings.
pub const XLSX_CELLS_MAX: u64 = 32 << 20;
