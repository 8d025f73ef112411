//! Streaming identifier input: one CSV column, read a chunk at a time, each cell normalised
//! and validated as a GB 11643 resident ID ([`weinong_keys::ResidentId::parse`], the same
//! normalisation as subject pseudonyms). Invalid cells are skipped, counted and reported by
//! line and reason, never by content.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use weinong_keys::{IdError, ResidentId};

use super::error::PsiError;
use super::limits::{
    IDENTIFIER_BYTES_MAX, INPUT_CHUNK_ROWS, INPUT_ROWS_MAX, INVALID_ROWS_REPORTED_MAX,
};

/// A rejected row: its line in the file and why. Never the cell's content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidRow {
    /// The 1-based line number in the file.
    pub line: u64,
    /// Why the identifier was rejected.
    pub reason: InvalidReason,
}

/// Why an identifier cell was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidReason {
    /// The GB 11643 check failed.
    #[error("{0}")]
    Id(IdError),
    /// The cell is longer than [`IDENTIFIER_BYTES_MAX`] bytes.
    #[error("identifier longer than {IDENTIFIER_BYTES_MAX} bytes")]
    TooLong,
}

/// Counts over one input file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InputStats {
    /// Data rows read (the header excluded).
    pub rows: u64,
    /// Rows with a valid identifier.
    pub valid: u64,
    /// Rows skipped because of an invalid identifier.
    pub invalid: u64,
    /// The first [`INVALID_ROWS_REPORTED_MAX`] invalid rows.
    pub invalid_rows: Vec<InvalidRow>,
    /// Distinct valid identifiers (set once the whole file is blinded).
    pub distinct: u64,
}

/// Where a party's identifiers come from: a CSV column ([`IdentifierReader`], `weinong psi`)
/// or a list in memory ([`IdentifierList`], a node's policy predicate).
pub trait IdentifierSource {
    /// Appends the identifiers of up to `rows_max` further rows to `out`, each with its
    /// 0-based row number (the receiver's matches are reported as rows). Returns `false`
    /// once the source is exhausted.
    fn next_rows(&mut self, out: &mut Vec<SourceRow>, rows_max: usize) -> Result<bool, PsiError>;

    /// Progress as (done, total) in the source's own unit (bytes of a file, rows of a list).
    fn position(&self) -> (u64, u64);

    /// The counts once exhausted; an error if the source may not be used (a file with no
    /// usable row).
    fn finish(&self) -> Result<InputStats, PsiError>;
}

/// One identifier from an [`IdentifierSource`]: the bytes hashed to the group and its row.
pub struct SourceRow {
    /// The row (0 = the first).
    pub row: u32,
    /// The identifier's bytes as hashed.
    pub bytes: Vec<u8>,
}

/// One valid identifier with its 0-based data-row number.
pub struct Identifier {
    /// The data row (0 = the first row after the header).
    pub row: u32,
    /// The normalised identifier.
    pub id: ResidentId,
}

/// Reads one column of a CSV file as resident IDs, a chunk at a time.
pub struct IdentifierReader {
    path: PathBuf,
    column_name: String,
    reader: csv::Reader<BufReader<File>>,
    column: usize,
    record: csv::StringRecord,
    stats: InputStats,
    bytes_total: u64,
}

impl IdentifierReader {
    /// Open `path` and find `column` in its header (exact, case-sensitive match).
    pub fn open(path: &Path, column: &str) -> Result<Self, PsiError> {
        let read_error = |source| PsiError::InputRead {
            path: path.to_path_buf(),
            source,
        };
        let file = File::open(path).map_err(read_error)?;
        let bytes_total = file.metadata().map_err(read_error)?.len();
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(false)
            .trim(csv::Trim::Headers)
            .from_reader(BufReader::with_capacity(1 << 20, file));
        let headers = reader.headers().map_err(|e| malformed(path, &e))?.clone();
        if headers.is_empty() || (headers.len() == 1 && headers.get(0) == Some("")) {
            return Err(PsiError::EmptyInput {
                path: path.to_path_buf(),
            });
        }
        let column_index =
            headers
                .iter()
                .position(|h| h == column)
                .ok_or_else(|| PsiError::MissingColumn {
                    path: path.to_path_buf(),
                    column: column.to_owned(),
                    found: headers.iter().map(str::to_owned).collect(),
                })?;
        Ok(Self {
            path: path.to_path_buf(),
            column_name: column.to_owned(),
            reader,
            column: column_index,
            record: csv::StringRecord::new(),
            stats: InputStats::default(),
            bytes_total,
        })
    }

    /// A fresh reader over the same file and column, from the first row.
    pub fn reopen(&self) -> Result<Self, PsiError> {
        Self::open(&self.path, &self.column_name)
    }

    /// The input file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The identifier column's name.
    pub fn column_name(&self) -> &str {
        &self.column_name
    }

    /// The file's size in bytes (the total of [`Self::bytes_read`]).
    pub fn bytes_total(&self) -> u64 {
        self.bytes_total
    }

    /// Bytes consumed so far, for progress.
    pub fn bytes_read(&self) -> u64 {
        self.reader.position().byte()
    }

    /// Append the valid identifiers of up to `rows_max` further rows to `out`. Returns
    /// `false` once the file is exhausted.
    pub fn next_chunk(
        &mut self,
        out: &mut Vec<Identifier>,
        rows_max: usize,
    ) -> Result<bool, PsiError> {
        for _ in 0..rows_max {
            let more = self
                .reader
                .read_record(&mut self.record)
                .map_err(|e| malformed(&self.path, &e))?;
            if !more {
                return Ok(false);
            }
            let row = u32::try_from(self.stats.rows)
                .ok()
                .filter(|_| self.stats.rows < INPUT_ROWS_MAX)
                .ok_or(PsiError::TooManyRows {
                    path: self.path.clone(),
                    max: INPUT_ROWS_MAX,
                })?;
            self.stats.rows += 1;
            // `flexible(false)` guarantees every row has the header's field count.
            let cell = self.record.get(self.column).unwrap_or_default();
            match parse_identifier(cell) {
                Ok(id) => {
                    self.stats.valid += 1;
                    out.push(Identifier { row, id });
                }
                Err(reason) => {
                    self.stats.invalid += 1;
                    if self.stats.invalid_rows.len() < INVALID_ROWS_REPORTED_MAX {
                        let line = self.record.position().map_or(0, csv::Position::line);
                        self.stats.invalid_rows.push(InvalidRow { line, reason });
                    }
                }
            }
        }
        Ok(true)
    }

    /// The counts so far; after the last chunk, an error if the file held no usable row.
    pub fn finish(&self) -> Result<InputStats, PsiError> {
        if self.stats.rows == 0 {
            return Err(PsiError::NoRows {
                path: self.path.clone(),
            });
        }
        if self.stats.valid == 0 {
            return Err(PsiError::NoValidIdentifiers {
                path: self.path.clone(),
                invalid: self.stats.invalid,
            });
        }
        Ok(self.stats.clone())
    }
}

impl IdentifierSource for IdentifierReader {
    fn next_rows(&mut self, out: &mut Vec<SourceRow>, rows_max: usize) -> Result<bool, PsiError> {
        let mut chunk = Vec::with_capacity(rows_max.min(INPUT_CHUNK_ROWS));
        let more = self.next_chunk(&mut chunk, rows_max)?;
        out.extend(chunk.into_iter().map(|i| SourceRow {
            row: i.row,
            bytes: i.id.as_str().as_bytes().to_vec(),
        }));
        Ok(more)
    }

    fn position(&self) -> (u64, u64) {
        (self.bytes_read(), self.bytes_total)
    }

    fn finish(&self) -> Result<InputStats, PsiError> {
        IdentifierReader::finish(self)
    }
}

/// Identifiers held in memory, e.g. the subject pseudonyms a department's policy predicate
/// selected. Row `i` is the `i`-th identifier. An empty list is a valid input (nobody
/// matched the predicate): the run then finds an empty intersection.
pub struct IdentifierList {
    items: Vec<Vec<u8>>,
    next: usize,
}

impl IdentifierList {
    /// Wraps `items`. Errors if there are more than [`INPUT_ROWS_MAX`] or one is empty or
    /// longer than [`IDENTIFIER_BYTES_MAX`] bytes.
    pub fn new(items: Vec<Vec<u8>>) -> Result<Self, PsiError> {
        if u64::try_from(items.len()).unwrap_or(u64::MAX) > INPUT_ROWS_MAX {
            return Err(PsiError::InvalidList(format!(
                "{} identifiers, at most {INPUT_ROWS_MAX}",
                items.len()
            )));
        }
        if let Some(at) = items
            .iter()
            .position(|i| i.is_empty() || i.len() > IDENTIFIER_BYTES_MAX)
        {
            return Err(PsiError::InvalidList(format!(
                "identifier {at} has {} bytes; each must have 1 to {IDENTIFIER_BYTES_MAX}",
                items[at].len()
            )));
        }
        Ok(Self { items, next: 0 })
    }

    /// The identifiers, in row order.
    pub fn items(&self) -> &[Vec<u8>] {
        &self.items
    }

    /// Gives the identifiers back.
    pub fn into_items(self) -> Vec<Vec<u8>> {
        self.items
    }
}

impl IdentifierSource for IdentifierList {
    fn next_rows(&mut self, out: &mut Vec<SourceRow>, rows_max: usize) -> Result<bool, PsiError> {
        let end = self.next.saturating_add(rows_max).min(self.items.len());
        for (offset, bytes) in self.items[self.next..end].iter().enumerate() {
            // `new` bounds the length by INPUT_ROWS_MAX, which fits in u32.
            let row = u32::try_from(self.next + offset).unwrap_or(u32::MAX);
            out.push(SourceRow {
                row,
                bytes: bytes.clone(),
            });
        }
        self.next = end;
        Ok(self.next < self.items.len())
    }

    fn position(&self) -> (u64, u64) {
        let as_u64 = |n: usize| u64::try_from(n).unwrap_or(u64::MAX);
        (as_u64(self.next), as_u64(self.items.len()))
    }

    fn finish(&self) -> Result<InputStats, PsiError> {
        let rows = u64::try_from(self.items.len()).unwrap_or(u64::MAX);
        Ok(InputStats {
            rows,
            valid: rows,
            ..InputStats::default()
        })
    }
}

fn parse_identifier(cell: &str) -> Result<ResidentId, InvalidReason> {
    if cell.len() > IDENTIFIER_BYTES_MAX {
        return Err(InvalidReason::TooLong);
    }
    ResidentId::parse(cell).map_err(InvalidReason::Id)
}

fn malformed(path: &Path, error: &csv::Error) -> PsiError {
    let line = error.position().map_or(0, csv::Position::line);
    let reason = match error.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => {
            format!("{len} fields where the header has {expected_len}")
        }
        csv::ErrorKind::Utf8 { err, .. } => format!("field {} is not valid UTF-8", err.field() + 1),
        csv::ErrorKind::Io(e) => format!("read error: {e}"),
        _ => "unparseable CSV".to_owned(),
    };
    PsiError::MalformedRow {
        path: path.to_path_buf(),
        line,
        reason,
    }
}
