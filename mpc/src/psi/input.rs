//! Streaming identifier input: one CSV column, read a chunk at a time, each cell normalised
//! and validated as a GB 11643 resident ID ([`weinong_keys::ResidentId::parse`], the same
//! normalisation as subject pseudonyms). Invalid cells are skipped, counted and reported by
//! line and reason, never by content.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use weinong_keys::{IdError, ResidentId};

use super::error::PsiError;
use super::limits::{IDENTIFIER_BYTES_MAX, INPUT_ROWS_MAX, INVALID_ROWS_REPORTED_MAX};

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
