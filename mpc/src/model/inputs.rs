//! Department input tables (CSV) and their join by subject pseudonym.
//!
//! Each holding department supplies one CSV: a header row, the first column `subject` (the
//! subject pseudonym, 64 hex digits of HMAC-SM3), then one column per model input it holds,
//! named by the input's `column` (default: the input's name). Other columns are ignored and
//! listed in the report (a department export may carry more than a model reads). Cells are
//! integers, or decimals with at most the input's `decimals` places (read exactly, no
//! floating point); bools are `0` or `1`. An empty cell is an error unless the input is
//! optional. Every value is checked against its input's range while reading.
//!
//! Join: subjects are matched by pseudonym across the model's holders and sorted by
//! pseudonym. A subject missing at one department is never filled with zeros: under
//! [`JoinPolicy::Strict`] it is an error naming the subject and the departments; under
//! [`JoinPolicy::SkipIncomplete`] it is left out and listed in [`JoinReport::skipped`].

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::io::Read;

use super::batch::InputBatch;
use super::decl::{Holder, InputSource, Model};
use super::error::InputError;
use super::limits::{BATCH_LEN_MAX, CSV_CELL_BYTES_MAX};

/// A subject pseudonym as it appears in department tables (HMAC-SM3, 32 bytes).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SubjectKey(pub [u8; 32]);

impl SubjectKey {
    /// Parses 64 hex digits (either case, surrounding spaces ignored).
    pub fn parse(s: &str) -> Option<SubjectKey> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(s.trim(), &mut out).ok()?;
        Some(SubjectKey(out))
    }
}

impl fmt::Display for SubjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for SubjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SubjectKey({self})")
    }
}

/// What to do with a subject that some holding department does not list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JoinPolicy {
    /// Refuse the whole evaluation, naming the first incomplete subject.
    Strict,
    /// Leave incomplete subjects out and list them in the report.
    SkipIncomplete,
}

/// One department's columns for a model, parsed and range-checked.
#[derive(Clone, Debug)]
pub struct DepartmentTable {
    holder: Holder,
    file: String,
    subjects: Vec<SubjectKey>,
    /// Model input index → that input's values, for the inputs this holder supplies.
    columns: BTreeMap<usize, Vec<i64>>,
    ignored_columns: Vec<String>,
}

impl DepartmentTable {
    /// Reads `holder`'s CSV for `model`; `file` names the source in errors.
    pub fn read_csv(
        model: &Model,
        holder: Holder,
        file: &str,
        reader: impl Read,
    ) -> Result<DepartmentTable, InputError> {
        let csv_error = |e: csv::Error| InputError::Csv {
            file: file.to_owned(),
            reason: e.to_string(),
        };
        let mut csv = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(false)
            .from_reader(reader);
        let headers: Vec<String> = csv
            .headers()
            .map_err(csv_error)?
            .iter()
            .map(|h| h.trim().to_owned())
            .collect();
        let wanted = wanted_columns(model, holder, file, &headers)?;
        let used: Vec<usize> = wanted.iter().map(|w| w.at).collect();
        let ignored_columns = headers
            .iter()
            .enumerate()
            .skip(1)
            .filter(|(i, _)| !used.contains(i))
            .map(|(_, h)| h.clone())
            .collect();
        let mut table = DepartmentTable {
            holder,
            file: file.to_owned(),
            subjects: Vec::new(),
            columns: BTreeMap::new(),
            ignored_columns,
        };
        for w in &wanted {
            table.columns.insert(w.input, Vec::new());
            if let Some((_, flag)) = w.optional {
                table.columns.insert(flag, Vec::new());
            }
        }
        let mut seen: HashSet<SubjectKey> = HashSet::new();
        let mut record = csv::StringRecord::new();
        while csv.read_record(&mut record).map_err(csv_error)? {
            let line = record.position().map_or(0, csv::Position::line);
            if table.subjects.len() >= BATCH_LEN_MAX {
                return Err(InputError::TooManySubjects {
                    len: table.subjects.len() + 1,
                    max: BATCH_LEN_MAX,
                });
            }
            let cell = |i: usize| record.get(i).unwrap_or("").trim();
            let subject = SubjectKey::parse(cell(0)).ok_or_else(|| InputError::BadPseudonym {
                file: file.to_owned(),
                line,
                found: cell(0).chars().take(80).collect(),
            })?;
            if !seen.insert(subject) {
                return Err(InputError::DuplicateSubject {
                    file: file.to_owned(),
                    line,
                    subject: subject.to_string(),
                });
            }
            table.subjects.push(subject);
            for w in &wanted {
                let at = Cell {
                    file,
                    line,
                    column: &headers[w.at],
                };
                let (value, known) = w.read(model, cell(w.at), &at)?;
                table.push(w.input, value);
                if let (Some((_, flag)), Some(known)) = (w.optional, known) {
                    table.push(flag, known);
                }
            }
        }
        Ok(table)
    }

    fn push(&mut self, input: usize, value: i64) {
        if let Some(column) = self.columns.get_mut(&input) {
            column.push(value);
        }
    }

    /// The file (or label) the table was read from.
    pub fn file(&self) -> &str {
        &self.file
    }

    /// The department.
    pub fn holder(&self) -> Holder {
        self.holder
    }

    /// Number of subjects listed.
    pub fn len(&self) -> usize {
        self.subjects.len()
    }

    /// Whether no subject is listed.
    pub fn is_empty(&self) -> bool {
        self.subjects.is_empty()
    }

    /// Columns present in the file that the model does not read.
    pub fn ignored_columns(&self) -> &[String] {
        &self.ignored_columns
    }
}

/// A subject some holding department did not list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Incomplete {
    /// The subject.
    pub subject: SubjectKey,
    /// The departments that do not list it.
    pub missing_at: Vec<Holder>,
}

/// What the join did besides producing the batch.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct JoinReport {
    /// Subjects left out under [`JoinPolicy::SkipIncomplete`], sorted.
    pub skipped: Vec<Incomplete>,
    /// Columns the model does not read, per department.
    pub ignored_columns: Vec<(Holder, String)>,
}

/// Joined inputs, ready for a backend.
#[derive(Clone, Debug)]
pub struct JoinedInputs {
    /// Subjects in batch order (sorted by pseudonym).
    pub subjects: Vec<SubjectKey>,
    /// Their input values.
    pub batch: InputBatch,
    /// Skipped subjects and ignored columns.
    pub report: JoinReport,
}

/// Joins one table per holding department into a batch.
pub fn join(
    model: &Model,
    tables: &[DepartmentTable],
    policy: JoinPolicy,
) -> Result<JoinedInputs, InputError> {
    let mut by_holder: BTreeMap<Holder, &DepartmentTable> = BTreeMap::new();
    for table in tables {
        if by_holder.insert(table.holder, table).is_some() {
            return Err(InputError::DuplicateTable {
                holder: table.holder,
            });
        }
    }
    let holders = model.holders();
    for holder in &holders {
        if !by_holder.contains_key(holder) {
            let columns = model
                .inputs()
                .iter()
                .filter(|i| i.holder == *holder && matches!(i.source, InputSource::Column { .. }))
                .count();
            return Err(InputError::MissingTable {
                holder: *holder,
                columns,
            });
        }
    }
    let indexes: Vec<(Holder, &DepartmentTable, HashMap<SubjectKey, usize>)> = holders
        .iter()
        .filter_map(|h| {
            by_holder.get(h).map(|t| {
                (
                    *h,
                    *t,
                    t.subjects
                        .iter()
                        .enumerate()
                        .map(|(i, s)| (*s, i))
                        .collect(),
                )
            })
        })
        .collect();
    let mut all: Vec<SubjectKey> = indexes
        .iter()
        .flat_map(|(_, t, _)| t.subjects.iter().copied())
        .collect();
    all.sort_unstable();
    all.dedup();

    let mut subjects = Vec::new();
    let mut rows: Vec<Vec<usize>> = Vec::new();
    let mut skipped = Vec::new();
    for subject in all {
        let found: Vec<Option<usize>> = indexes
            .iter()
            .map(|(_, _, index)| index.get(&subject).copied())
            .collect();
        if found.iter().all(Option::is_some) {
            subjects.push(subject);
            rows.push(found.into_iter().flatten().collect());
        } else {
            let missing_at = indexes
                .iter()
                .zip(&found)
                .filter(|(_, f)| f.is_none())
                .map(|((h, _, _), _)| *h)
                .collect();
            skipped.push(Incomplete {
                subject,
                missing_at,
            });
        }
    }
    if policy == JoinPolicy::Strict
        && let Some(first) = skipped.first()
    {
        let present = indexes
            .iter()
            .find(|(_, _, index)| index.contains_key(&first.subject))
            .map_or(Holder::CivilAffairs, |(h, _, _)| *h);
        return Err(InputError::SubjectMissing {
            subject: first.subject.to_string(),
            present,
            missing: first
                .missing_at
                .first()
                .copied()
                .unwrap_or(Holder::CivilAffairs),
            count: skipped.len(),
        });
    }
    let mut columns = vec![Vec::with_capacity(subjects.len()); model.inputs().len()];
    for (table_index, (_, table, _)) in indexes.iter().enumerate() {
        for (input, values) in &table.columns {
            columns[*input] = rows.iter().map(|r| values[r[table_index]]).collect();
        }
    }
    let batch = InputBatch::new(model, columns)?;
    let ignored_columns = indexes
        .iter()
        .flat_map(|(h, t, _)| t.ignored_columns.iter().map(move |c| (*h, c.clone())))
        .collect();
    Ok(JoinedInputs {
        subjects,
        batch,
        report: JoinReport {
            skipped,
            ignored_columns,
        },
    })
}

/// Where a cell is, for errors.
struct Cell<'a> {
    file: &'a str,
    line: u64,
    column: &'a str,
}

/// A model input read from one CSV column.
struct Wanted {
    /// The model input's index.
    input: usize,
    /// The CSV column's position.
    at: usize,
    decimals: u8,
    /// For optional inputs: the fill value and the known-flag input's index.
    optional: Option<(i64, usize)>,
}

impl Wanted {
    /// The cell's value in model units, and the known-flag value for optional inputs.
    fn read(
        &self,
        model: &Model,
        text: &str,
        at: &Cell<'_>,
    ) -> Result<(i64, Option<i64>), InputError> {
        if text.is_empty() {
            return match self.optional {
                Some((fill, _)) => Ok((fill, Some(0))),
                None => Err(InputError::MissingValue {
                    file: at.file.to_owned(),
                    line: at.line,
                    column: at.column.to_owned(),
                }),
            };
        }
        let value = parse_scaled(text, self.decimals).ok_or_else(|| InputError::NotANumber {
            file: at.file.to_owned(),
            line: at.line,
            column: at.column.to_owned(),
            found: text.chars().take(80).collect(),
            decimals: self.decimals,
        })?;
        let range = model.inputs()[self.input].range;
        if !range.contains(value) {
            return Err(InputError::OutOfRange {
                file: at.file.to_owned(),
                line: at.line,
                column: at.column.to_owned(),
                value,
                range,
                decimals: self.decimals,
            });
        }
        Ok((value, self.optional.map(|_| 1)))
    }
}

/// Checks the header row and finds the column of every input `holder` supplies.
fn wanted_columns(
    model: &Model,
    holder: Holder,
    file: &str,
    headers: &[String],
) -> Result<Vec<Wanted>, InputError> {
    match headers.first() {
        Some(first) if first.trim_start_matches('\u{feff}') == "subject" => {}
        other => {
            return Err(InputError::NoSubjectColumn {
                file: file.to_owned(),
                found: other.cloned().unwrap_or_default(),
            });
        }
    }
    let mut position: HashMap<&str, usize> = HashMap::new();
    for (i, h) in headers.iter().enumerate().skip(1) {
        if position.insert(h.as_str(), i).is_some() {
            return Err(InputError::DuplicateColumn {
                file: file.to_owned(),
                column: h.clone(),
            });
        }
    }
    let mut wanted = Vec::new();
    for (index, input) in model.inputs().iter().enumerate() {
        let InputSource::Column {
            column,
            decimals,
            optional,
        } = &input.source
        else {
            continue;
        };
        if input.holder != holder {
            continue;
        }
        let at = *position
            .get(column.as_str())
            .ok_or_else(|| InputError::MissingColumn {
                file: file.to_owned(),
                column: column.clone(),
                input: input.name.clone(),
                holder,
            })?;
        wanted.push(Wanted {
            input: index,
            at,
            decimals: *decimals,
            optional: optional.map(|(fill, flag)| (fill, flag.index())),
        });
    }
    Ok(wanted)
}

/// Parses `text` as an exact decimal with at most `decimals` places, scaled by 10^decimals.
fn parse_scaled(text: &str, decimals: u8) -> Option<i64> {
    if text.len() > CSV_CELL_BYTES_MAX {
        return None;
    }
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    if whole.is_empty() || fraction.len() > usize::from(decimals) {
        return None;
    }
    if !whole.bytes().all(|b| b.is_ascii_digit()) || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let scale = 10i64.checked_pow(u32::from(decimals))?;
    let mut value = whole.parse::<i64>().ok()?.checked_mul(scale)?;
    let mut place = scale;
    for b in fraction.bytes() {
        place /= 10;
        value = value.checked_add(i64::from(b - b'0').checked_mul(place)?)?;
    }
    Some(if negative { -value } else { value })
}

#[cfg(test)]
mod tests {
    use super::parse_scaled;

    #[test]
    fn decimals_are_read_exactly() {
        assert_eq!(parse_scaled("23.5", 1), Some(235));
        assert_eq!(parse_scaled("23", 1), Some(230));
        assert_eq!(parse_scaled("-0.25", 2), Some(-25));
        assert_eq!(parse_scaled("23.55", 1), None);
        assert_eq!(parse_scaled("2e3", 0), None);
        assert_eq!(parse_scaled(".5", 1), None);
        assert_eq!(parse_scaled("4", 0), Some(4));
        assert_eq!(parse_scaled("99999999999999999999", 0), None);
    }
}
