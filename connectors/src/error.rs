//! Errors of the connectors, each naming what failed and what to do next.

use thiserror::Error;

/// Everything that can go wrong loading, cleaning, storing or generating department data.
#[derive(Debug, Error)]
pub enum ConnectorError {
    /// A department name that is not civil, health or insurance.
    #[error("unknown department '{0}': expected civil, health or insurance")]
    UnknownDepartment(String),
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A file bigger than the import limit.
    #[error("{path}: {bytes} bytes is over the import limit of {limit} bytes; split the export")]
    FileTooLarge {
        /// The file.
        path: String,
        /// Its size.
        bytes: u64,
        /// The limit.
        limit: u64,
    },
    /// Neither UTF-8 nor GBK/GB18030.
    #[error(
        "{path}: unknown text encoding: neither UTF-8 nor GBK/GB18030 (undecodable bytes near offset {offset}); re-export the file as UTF-8"
    )]
    UnknownEncoding {
        /// The file.
        path: String,
        /// Where decoding first failed.
        offset: u64,
    },
    /// A file extension the importer does not read.
    #[error("{path}: unsupported input format; use .csv, .xlsx or .jsonl")]
    UnsupportedFormat {
        /// The file.
        path: String,
    },
    /// A malformed CSV file.
    #[error("{path}: CSV error: {message}")]
    Csv {
        /// The file.
        path: String,
        /// What the CSV reader reported (with line).
        message: String,
    },
    /// An unreadable XLSX workbook (truncated, not a workbook, no such sheet).
    #[error("{path}: cannot read XLSX workbook: {message}")]
    Xlsx {
        /// The file.
        path: String,
        /// What calamine reported.
        message: String,
    },
    /// A malformed JSON Lines file.
    #[error("{path}: line {line}: {message}")]
    JsonLine {
        /// The file.
        path: String,
        /// 1-based line.
        line: u64,
        /// What went wrong.
        message: String,
    },
    /// A mapping file that does not fit the schema or the input file.
    #[error("mapping: {0}")]
    Mapping(String),
    /// A database error, with the step that failed.
    #[error("database ({step}): {source}")]
    Db {
        /// What was being done.
        step: &'static str,
        /// The cause.
        #[source]
        source: sqlx::Error,
    },
    /// Applying migrations failed.
    #[error("database migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// Data stored in the database is not what this code wrote (wrong key, corruption).
    #[error("stored data is corrupt or sealed under another key: {0}")]
    Corrupt(String),
    /// A key-handling failure (sealing, opening).
    #[error("keys: {0}")]
    Keys(#[from] weinong_keys::KeyError),
    /// A bad argument (named).
    #[error("invalid argument: {0}")]
    Invalid(String),
}

impl ConnectorError {
    pub(crate) fn io(path: &std::path::Path, source: std::io::Error) -> Self {
        ConnectorError::Io {
            path: path.display().to_string(),
            source,
        }
    }

    pub(crate) fn db(step: &'static str) -> impl FnOnce(sqlx::Error) -> ConnectorError {
        move |source| ConnectorError::Db { step, source }
    }
}

impl From<weinong_keys::UnknownDepartment> for ConnectorError {
    fn from(e: weinong_keys::UnknownDepartment) -> Self {
        ConnectorError::UnknownDepartment(e.0)
    }
}
