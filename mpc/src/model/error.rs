//! Errors of the model compiler, the input loader and the backends.

use super::decl::{Holder, ModelId};
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
    /// Registered spec bytes that are not the canonical form of a spec.
    #[error(
        "the spec bytes are not a canonical model spec: {reason}; register the file `weinong model check SPEC --canonical FILE` writes"
    )]
    NotCanonical {
        /// What is wrong.
        reason: String,
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
    /// A column given for an input index the model does not have.
    #[error("input index {index} is not one of the model's {inputs} inputs")]
    UnknownInput {
        /// The index given.
        index: usize,
        /// How many inputs the model declares.
        inputs: usize,
    },
    /// A column of an input that another department holds.
    #[error(
        "input `{input}` is held by {holder}, not by {given}; a party supplies only its own columns"
    )]
    NotHeldBy {
        /// The input.
        input: String,
        /// The department that holds it.
        holder: Holder,
        /// The department that supplied it.
        given: Holder,
    },
    /// The same input's column given twice.
    #[error("the column of input `{input}` is given twice")]
    DuplicateInput {
        /// The input.
        input: String,
    },
    /// An input the department holds but did not supply.
    #[error("no column for input `{input}`, which {holder} holds")]
    MissingInput {
        /// The input.
        input: String,
        /// Its holder.
        holder: Holder,
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

/// Bytes that are not a valid [`super::OutputShare`] encoding. Nothing is allocated for a
/// share's values before its declared size has been checked against the bytes given.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ShareDecodeError {
    /// Fewer bytes than the fixed header.
    #[error("output share is {len} bytes, shorter than its {header}-byte header")]
    TooShort {
        /// Bytes given.
        len: usize,
        /// Header length.
        header: usize,
    },
    /// The bytes do not start with the output-share magic.
    #[error("not an output share (bad magic bytes)")]
    BadMagic,
    /// A format version this build does not read.
    #[error(
        "output share format version {version} is not supported (this build reads {supported})"
    )]
    UnknownVersion {
        /// The version found.
        version: u8,
        /// The version this build reads.
        supported: u8,
    },
    /// Format version 1, which carries no request id or subject-list digest: a requester
    /// cannot tell which request it answers, so it is no longer accepted.
    #[error(
        "output share format version {version} carries no request id or subject-list digest and is no longer accepted (this build reads version 2): the node that made it runs an older build; upgrade it and make the request again"
    )]
    Unbound {
        /// The version found.
        version: u8,
    },
    /// A party index other than 0, 1 or 2.
    #[error("output share names party index {index}, not 0, 1 or 2")]
    BadParty {
        /// The index found.
        index: u8,
    },
    /// More output columns than [`super::limits::OUTPUT_COLUMNS_MAX`].
    #[error("output share declares {columns} columns, over the limit of {max}")]
    TooManyColumns {
        /// Columns declared.
        columns: u64,
        /// The limit.
        max: usize,
    },
    /// More subjects than [`super::limits::OUTPUT_SUBJECTS_MAX`].
    #[error("output share declares {len} subjects, over the limit of {max}")]
    TooManySubjects {
        /// Subjects declared.
        len: u64,
        /// The limit.
        max: usize,
    },
    /// Fewer value bytes than the header declares.
    #[error(
        "output share is truncated: its header declares {declared} value bytes, {found} follow"
    )]
    Truncated {
        /// Value bytes declared (columns × subjects × 8).
        declared: u64,
        /// Value bytes present.
        found: usize,
    },
    /// Bytes after the declared values.
    #[error("{extra} unexpected bytes after the output share's values")]
    TrailingBytes {
        /// How many.
        extra: usize,
    },
    /// A batch share's rows repeat or are not ascending.
    #[error("batch share rows are not strictly ascending")]
    RowsNotAscending,
    /// A batch share's row count differs from its share's subject count.
    #[error("batch share lists {rows} rows but its share covers {subjects} subjects")]
    RowCount {
        /// Rows listed.
        rows: usize,
        /// Subjects in the share.
        subjects: usize,
    },
}

/// Output shares that do not reconstruct to a valid output batch.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ReconstructError {
    /// Not exactly three shares.
    #[error(
        "{found} output shares given; reconstruction needs exactly one from each of the three parties"
    )]
    ShareCount {
        /// Shares given.
        found: usize,
    },
    /// Two shares from the same party.
    #[error("two output shares from party {party}; each party's share is needed once")]
    DuplicateParty {
        /// The party.
        party: crate::PartyId,
    },
    /// Shares bound to different requests or subject lists.
    #[error(
        "the output share of party {party} is bound to another request or subject list than party {first_party}'s"
    )]
    BindingMismatch {
        /// The share's party.
        party: crate::PartyId,
        /// The party whose share was taken as reference.
        first_party: crate::PartyId,
    },
    /// A share of another model.
    #[error("the output share of party {party} is for model {found}, not {expected}")]
    ModelMismatch {
        /// The share's party.
        party: crate::PartyId,
        /// The model id the share names.
        found: ModelId,
        /// The model being reconstructed.
        expected: ModelId,
    },
    /// Shares over different numbers of subjects.
    #[error(
        "the output share of party {party} covers {found} subjects, party {first_party}'s {expected}"
    )]
    LenMismatch {
        /// The share's party.
        party: crate::PartyId,
        /// Its subject count.
        found: usize,
        /// The party whose share was taken as reference.
        first_party: crate::PartyId,
        /// That share's subject count.
        expected: usize,
    },
    /// A share with another number of output columns than the model has outputs.
    #[error(
        "the output share of party {party} has {found} columns; the model has {expected} outputs"
    )]
    ColumnCount {
        /// The share's party.
        party: crate::PartyId,
        /// Columns in the share.
        found: usize,
        /// Outputs of the model.
        expected: usize,
    },
    /// A reconstructed value outside its output's declared range: some share is corrupt or
    /// belongs to another evaluation.
    #[error(
        "output `{output}` of subject {subject} reconstructs outside its range {range}: a share is corrupt or from another evaluation"
    )]
    OutOfRange {
        /// The output's name.
        output: String,
        /// The subject's index in the batch.
        subject: usize,
        /// The output's declared range.
        range: ValueRange,
    },
}
