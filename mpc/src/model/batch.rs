//! Batches of subjects: validated input columns in, output columns out, and the backend trait.

use super::decl::{InputDecl, InputSource, Model};
use super::error::{EvalError, InputError};
use super::limits::BATCH_LEN_MAX;

/// Input values of a batch, one column per model input (indexed like [`Model::inputs`]),
/// every value checked against its input's range.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputBatch {
    len: usize,
    columns: Vec<Vec<i64>>,
}

impl InputBatch {
    /// Checks `columns` against `model`: one column per input, equal lengths, values in
    /// range, known-flags 0 or 1 and an absent optional value equal to its fill.
    pub fn new(model: &Model, columns: Vec<Vec<i64>>) -> Result<InputBatch, InputError> {
        if columns.len() != model.inputs().len() {
            return Err(InputError::Shape {
                reason: format!(
                    "{} columns for {} model inputs",
                    columns.len(),
                    model.inputs().len()
                ),
            });
        }
        let len = columns.first().map_or(0, Vec::len);
        check_len(len)?;
        for (input, column) in model.inputs().iter().zip(&columns) {
            check_column(input, column, len)?;
        }
        for (index, input) in model.inputs().iter().enumerate() {
            if let Some((flag, fill)) = optional_flag(input) {
                check_fill(model, index, &columns[index], flag, &columns[flag], fill)?;
            }
        }
        Ok(InputBatch { len, columns })
    }

    /// Number of subjects.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the batch has no subjects.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The column of input `index`.
    pub fn column(&self, index: usize) -> &[i64] {
        &self.columns[index]
    }

    /// All columns.
    pub fn columns(&self) -> &[Vec<i64>] {
        &self.columns
    }
}

/// Refuses more subjects than [`BATCH_LEN_MAX`].
pub(crate) fn check_len(len: usize) -> Result<(), InputError> {
    if len > BATCH_LEN_MAX {
        return Err(InputError::TooManySubjects {
            len,
            max: BATCH_LEN_MAX,
        });
    }
    Ok(())
}

/// Checks one input column: `len` values, each within the input's declared range (a bool
/// input's range is 0..=1, so this also holds bools to 0 or 1).
pub(crate) fn check_column(
    input: &InputDecl,
    column: &[i64],
    len: usize,
) -> Result<(), InputError> {
    if column.len() != len {
        return Err(InputError::Shape {
            reason: format!(
                "column `{}` has {} values, expected {len}",
                input.name,
                column.len()
            ),
        });
    }
    if let Some(row) = column.iter().position(|v| !input.range.contains(*v)) {
        let decimals = match input.source {
            InputSource::Column { decimals, .. } => decimals,
            InputSource::KnownFlag(_) => 0,
        };
        return Err(InputError::OutOfRange {
            file: "batch".to_owned(),
            line: row as u64,
            column: input.name.clone(),
            value: column[row],
            range: input.range,
            decimals,
        });
    }
    Ok(())
}

/// For an optional input: the index of its known-flag input and its fill value.
pub(crate) fn optional_flag(input: &InputDecl) -> Option<(usize, i64)> {
    match input.source {
        InputSource::Column {
            optional: Some((fill, flag)),
            ..
        } => Some((flag.index(), fill)),
        _ => None,
    }
}

/// Checks that optional input `index` takes its fill value wherever its known-flag is 0.
pub(crate) fn check_fill(
    model: &Model,
    index: usize,
    values: &[i64],
    flag: usize,
    known: &[i64],
    fill: i64,
) -> Result<(), InputError> {
    let absent_but_filled = known
        .iter()
        .zip(values)
        .position(|(known, value)| *known == 0 && *value != fill);
    match absent_but_filled {
        Some(row) => Err(InputError::Shape {
            reason: format!(
                "row {row}: `{}` is 0 but `{}` is {}, not its fill value {fill}",
                model.inputs()[flag].name,
                model.inputs()[index].name,
                values[row]
            ),
        }),
        None => Ok(()),
    }
}

/// Output values of a batch, one column per model output (indexed like [`Model::outputs`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutputBatch {
    pub(crate) columns: Vec<Vec<i64>>,
}

impl OutputBatch {
    /// The column of output `index`.
    pub fn column(&self, index: usize) -> &[i64] {
        &self.columns[index]
    }

    /// All columns.
    pub fn columns(&self) -> &[Vec<i64>] {
        &self.columns
    }

    /// The outputs of subject `row`.
    pub fn row(&self, row: usize) -> Vec<i64> {
        self.columns.iter().map(|c| c[row]).collect()
    }
}

/// A way to evaluate a model over a batch. Every backend must give exactly the plaintext
/// backend's outputs on every valid batch.
pub trait Backend {
    /// A short name for reports (`plain`, `mpc`).
    fn name(&self) -> &'static str;

    /// Evaluates every output of `model` for every subject of `inputs`.
    fn evaluate(&self, model: &Model, inputs: &InputBatch) -> Result<OutputBatch, EvalError>;
}
