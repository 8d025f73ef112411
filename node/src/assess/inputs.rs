//! A department's model inputs from its stored rows: the connectors' named features
//! become the model's columns for the inputs this department holds, optional inputs
//! filled and flagged as the model declares.
//!
//! Must not know: storage or MPC. It maps one [`FeatureTable`] onto one model's inputs.

use weinong_connectors::features::FeatureTable;
use weinong_mpc::model::{Holder, InputSource, Model};

/// Why a department cannot supply a model's inputs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputGap {
    /// The department holds no row for this subject.
    #[error("no record for subject #{subject}")]
    NoRecord {
        /// The subject's index in the request.
        subject: usize,
    },
    /// A required input is unknown for this subject.
    #[error("input `{input}` is not recorded for subject #{subject}")]
    Unknown {
        /// The model input.
        input: String,
        /// The subject's index in the request.
        subject: usize,
    },
    /// The model reads an input this department's data cannot provide at all.
    #[error("the model reads `{input}`, which this department's data does not provide")]
    NotProvided {
        /// The model input.
        input: String,
    },
}

/// The columns of `model`'s inputs held by `holder`, as `(input index, values)`, one value
/// per subject of `table` in order.
pub fn department_columns(
    model: &Model,
    holder: Holder,
    table: &FeatureTable,
) -> Result<Vec<(usize, Vec<i64>)>, InputGap> {
    let rows: Vec<usize> = (0..table.len()).collect();
    department_columns_of(model, holder, table, &rows)
}

/// Per subject of `table`, whether this department can supply every input of `model` it
/// holds (a record exists and every required input is known): the rows a batch can use.
pub fn usable_rows(model: &Model, holder: Holder, table: &FeatureTable) -> Vec<bool> {
    (0..table.len())
        .map(|row| department_columns_of(model, holder, table, &[row]).is_ok())
        .collect()
}

/// [`department_columns`] over the subjects at `rows` (indices into `table`), in order.
pub fn department_columns_of(
    model: &Model,
    holder: Holder,
    table: &FeatureTable,
    rows: &[usize],
) -> Result<Vec<(usize, Vec<i64>)>, InputGap> {
    let feature_index = |name: &str| {
        table
            .names()
            .iter()
            .position(|n| *n == name)
            .ok_or_else(|| InputGap::NotProvided {
                input: name.to_owned(),
            })
    };
    let mut columns = Vec::new();
    for (index, input) in model.inputs().iter().enumerate() {
        if input.holder != holder {
            continue;
        }
        let (feature, optional) = match &input.source {
            InputSource::Column { optional, .. } => (feature_index(&input.name)?, optional),
            InputSource::KnownFlag(of) => {
                let of = &model.inputs()[of.index()];
                let feature = feature_index(&of.name)?;
                let mut values = Vec::with_capacity(rows.len());
                for &subject in rows {
                    let row = table.row(subject).ok_or(InputGap::NoRecord { subject })?;
                    values.push(i64::from(row.get(feature).copied().flatten().is_some()));
                }
                columns.push((index, values));
                continue;
            }
        };
        let mut values = Vec::with_capacity(rows.len());
        for &subject in rows {
            let row = table.row(subject).ok_or(InputGap::NoRecord { subject })?;
            let value = match (row.get(feature).copied().flatten(), optional) {
                (Some(v), _) => v,
                (None, Some((fill, _))) => *fill,
                (None, None) => {
                    return Err(InputGap::Unknown {
                        input: input.name.clone(),
                        subject,
                    });
                }
            };
            values.push(value);
        }
        columns.push((index, values));
    }
    Ok(columns)
}
