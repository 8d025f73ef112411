//! Batches of subjects: validated input columns in, output columns out, and the backend trait.

use super::decl::{InputSource, Model};
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
        if len > BATCH_LEN_MAX {
            return Err(InputError::TooManySubjects {
                len,
                max: BATCH_LEN_MAX,
            });
        }
        for (input, column) in model.inputs().iter().zip(&columns) {
            if column.len() != len {
                return Err(InputError::Shape {
                    reason: format!(
                        "column `{}` has {} values, the first has {len}",
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
        }
        for (index, input) in model.inputs().iter().enumerate() {
            let InputSource::Column {
                optional: Some((fill, flag)),
                ..
            } = input.source
            else {
                continue;
            };
            let absent_but_filled = columns[flag.index()]
                .iter()
                .zip(&columns[index])
                .position(|(known, value)| *known == 0 && *value != fill);
            if let Some(row) = absent_but_filled {
                return Err(InputError::Shape {
                    reason: format!(
                        "row {row}: `{}` is 0 but `{}` is {}, not its fill value {fill}",
                        model.inputs()[flag.index()].name,
                        input.name,
                        columns[index][row]
                    ),
                });
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
