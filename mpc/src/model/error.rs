//! Errors of the model compiler, the input loader and the backends.

use super::decl::Holder;
use super::ir::ValueRange;

/// Where in a spec file a problem is: 1-based line and column, and the dotted field path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpecLocation {
    /// 1-based line.
    pub line: u32,
    /// 1-based column (in characters).
    pub column: u32,
    /// Dotted path of the field, e.g. `inputs.adl_eating.range`.
    pub field: String,
}

impl SpecLocation {
    /// The location of byte `offset` of `source`, for `field`.
    pub(crate) fn at(source: &str, offset: usize, field: impl Into<String>) -> SpecLocation {
        let offset = offset.min(source.len());
        let before = source.get(..offset).unwrap_or(source);
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before.get(line_start..).map_or(0, |s| s.chars().count()) + 1;
        SpecLocation {
            line: u32::try_from(line).unwrap_or(u32::MAX),
            column: u32::try_from(column).unwrap_or(u32::MAX),
            field: field.into(),
        }
    }
}

/// A spec that cannot compile.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    /// Larger than [`super::limits::SPEC_BYTES_MAX`].
    #[error("model spec is {len} bytes, over the limit of {max}; split or trim it")]
    TooLarge {
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Not TOML, or a field of the wrong type, or an unknown field.
    #[error("line {line}, column {column}: {message}")]
    Syntax {
        /// 1-based line (0 when the parser gave no position).
        line: u32,
        /// 1-based column.
        column: u32,
        /// The parser's message (names the field).
        message: String,
    },
    /// Valid TOML, but not a valid model.
    #[error("line {}, column {}, field `{}`: {reason}", at.line, at.column, at.field)]
    Invalid {
        /// Where.
        at: SpecLocation,
        /// What is wrong and what to do.
        reason: String,
    },
}

/// Input data that cannot be evaluated.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum InputError {
    /// The model needs a department table that was not given.
    #[error("no input table for department `{holder}` (the model reads {columns} of its columns)")]
    MissingTable {
        /// The department.
        holder: Holder,
        /// How many columns the model reads from it.
        columns: usize,
    },
    /// The same department table was given twice.
    #[error("two input tables for department `{holder}`")]
    DuplicateTable {
        /// The department.
        holder: Holder,
    },
    /// The CSV could not be read.
    #[error("{file}: {reason}")]
    Csv {
        /// The file (or label) read.
        file: String,
        /// The CSV reader's message.
        reason: String,
    },
    /// The first header is not `subject`.
    #[error("{file}: the first column must be `subject` (the subject pseudonym), found `{found}`")]
    NoSubjectColumn {
        /// The file.
        file: String,
        /// The header found.
        found: String,
    },
    /// A column the model needs is missing.
    #[error("{file}: missing column `{column}` (model input `{input}`, held by {holder})")]
    MissingColumn {
        /// The file.
        file: String,
        /// The column header expected.
        column: String,
        /// The model input it feeds.
        input: String,
        /// Its holder.
        holder: Holder,
    },
    /// A header appears twice.
    #[error("{file}: column `{column}` appears twice")]
    DuplicateColumn {
        /// The file.
        file: String,
        /// The repeated header.
        column: String,
    },
    /// A subject pseudonym that is not 64 hex digits.
    #[error(
        "{file}, line {line}: subject `{found}` is not a pseudonym (64 hex digits of HMAC-SM3)"
    )]
    BadPseudonym {
        /// The file.
        file: String,
        /// 1-based line.
        line: u64,
        /// The cell (cut to 80 characters).
        found: String,
    },
    /// A subject listed twice by one department.
    #[error("{file}, line {line}: subject {subject} appears twice")]
    DuplicateSubject {
        /// The file.
        file: String,
        /// 1-based line of the second occurrence.
        line: u64,
        /// The pseudonym.
        subject: String,
    },
    /// An empty cell in a column that is not optional.
    #[error(
        "{file}, line {line}: empty `{column}`; the model declares it required (mark the input optional with a known-flag if absence is meaningful)"
    )]
    MissingValue {
        /// The file.
        file: String,
        /// 1-based line.
        line: u64,
        /// The column.
        column: String,
    },
    /// A cell that is not a number with at most the declared decimals.
    #[error(
        "{file}, line {line}: `{column}` = `{found}` is not a number with at most {decimals} decimal places"
    )]
    NotANumber {
        /// The file.
        file: String,
        /// 1-based line.
        line: u64,
        /// The column.
        column: String,
        /// The cell (cut to 80 characters).
        found: String,
        /// Decimal places allowed.
        decimals: u8,
    },
    /// A value outside the input's declared range.
    #[error(
        "{file}, line {line}: `{column}` = {value} is outside the valid range {range} (in units of 10^-{decimals})"
    )]
    OutOfRange {
        /// The file (or `batch` for in-memory batches).
        file: String,
        /// 1-based line (or 0-based row for in-memory batches).
        line: u64,
        /// The column or input name.
        column: String,
        /// The value, in model units.
        value: i64,
        /// The valid range.
        range: ValueRange,
        /// Decimal places of the column.
        decimals: u8,
    },
    /// A subject known to some departments but not to another, under the strict join policy.
    #[error(
        "subject {subject} is in {present} but missing from {missing} ({count} subjects are incomplete in all); fix the extracts or choose the skip-and-report join policy"
    )]
    SubjectMissing {
        /// The first incomplete subject (sorted).
        subject: String,
        /// A department that lists it.
        present: Holder,
        /// A department that does not.
        missing: Holder,
        /// How many subjects are incomplete.
        count: usize,
    },
    /// Column count or length does not match the model.
    #[error("batch shape: {reason}")]
    Shape {
        /// What does not match.
        reason: String,
    },
    /// More subjects than [`super::limits::BATCH_LEN_MAX`].
    #[error("{len} subjects, over the batch limit of {max}; split the input")]
    TooManySubjects {
        /// Subjects given.
        len: usize,
        /// The limit.
        max: usize,
    },
}

/// A backend that failed to evaluate.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    /// The inputs do not fit the model.
    #[error(transparent)]
    Input(#[from] InputError),
    /// The MPC engine failed (a party, the transport, a protocol step).
    #[error("MPC backend: {0}")]
    Mpc(String),
}
