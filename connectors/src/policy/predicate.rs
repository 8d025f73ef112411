//! One department's term over its own store: which of its subjects satisfy every condition.
//!
//! Subjects are read from the department's identity table in pages of
//! [`FEATURE_CHUNK_SUBJECTS`], in pseudonym order (keyset paging: `subject > last`, so a
//! page is one indexed range read and nothing holds a connection between pages). Per page:
//! features through [`load_features`] (one `IN (…)` read per table), and, where the term
//! needs attributes or diagnoses, one range read of the department's data table over the
//! page's first..last pseudonym. No per-subject queries; memory is one page.

use sqlx::{AssertSqlSafe, Row};
use weinong_keys::SubjectPseudonym;

use super::spec::{
    AttributeSource, Condition, PolicyError, Term, attribute_names, attribute_source,
    diagnosis_source,
};
use crate::date::Date;
use crate::error::ConnectorError;
use crate::features::{feature_names, load_features};
use crate::icd10::{self, Icd10};
use crate::limits::FEATURE_CHUNK_SUBJECTS;
use crate::schema::{Department, TableSpec};
use crate::store::{Backend, Store};

/// Up to `limit` subjects of `department` (its identity table: everyone it holds a record
/// for), in pseudonym byte order, strictly after `after` (from the start with `None`).
/// Page through all of them by passing the last one of each page.
pub async fn subjects_page(
    store: &Store,
    department: Department,
    after: Option<&SubjectPseudonym>,
    limit: usize,
) -> Result<Vec<SubjectPseudonym>, ConnectorError> {
    let table = TableSpec::of(department).subject_table;
    let sql = match store.backend() {
        Backend::Sqlite => {
            format!("SELECT subject FROM {table} WHERE subject > ? ORDER BY subject LIMIT ?")
        }
        Backend::Postgres => {
            format!("SELECT subject FROM {table} WHERE subject > $1 ORDER BY subject LIMIT $2")
        }
    };
    // The empty byte string sorts before every pseudonym on both engines.
    let from = after.map_or_else(Vec::new, |s| s.as_bytes().to_vec());
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = sqlx::query(AssertSqlSafe(sql))
        .bind(from)
        .bind(limit)
        .fetch_all(store.pool())
        .await
        .map_err(ConnectorError::db("list subjects"))?;
    rows.iter()
        .map(|r| {
            let bytes: Vec<u8> = r.try_get(0).map_err(ConnectorError::db("list subjects"))?;
            pseudonym(table, &bytes)
        })
        .collect()
}

fn pseudonym(table: &str, bytes: &[u8]) -> Result<SubjectPseudonym, ConnectorError> {
    <[u8; 32]>::try_from(bytes)
        .map(SubjectPseudonym::from_bytes)
        .map_err(|_| {
            ConnectorError::Corrupt(format!(
                "{table}: a subject of {} bytes, not 32",
                bytes.len()
            ))
        })
}

/// The subjects of `department` in `store` that satisfy every condition of `term` as of
/// `as_of`: sorted, distinct. `term` must be that department's.
///
/// Errors: a term of another department (`Evaluation`), a database failure or corrupt
/// stored data (`Store`).
pub async fn evaluate_term(
    store: &Store,
    department: Department,
    term: &Term,
    as_of: Date,
) -> Result<Vec<SubjectPseudonym>, PolicyError> {
    evaluate_term_in_pages(store, department, term, as_of, FEATURE_CHUNK_SUBJECTS).await
}

/// [`evaluate_term`] reading `page_subjects` subjects at a time (1..=
/// [`FEATURE_CHUNK_SUBJECTS`]; other values are clamped into that range): smaller pages hold
/// less memory and make more queries. The result does not depend on the page size.
pub async fn evaluate_term_in_pages(
    store: &Store,
    department: Department,
    term: &Term,
    as_of: Date,
    page_subjects: usize,
) -> Result<Vec<SubjectPseudonym>, PolicyError> {
    let page_len = page_subjects.clamp(1, FEATURE_CHUNK_SUBJECTS);
    if term.department() != department {
        return Err(PolicyError::Evaluation(format!(
            "the term is {}'s, asked to evaluate it as {department}",
            term.department()
        )));
    }
    let plan = Plan::new(department, term)?;
    let mut out = Vec::new();
    let mut after: Option<SubjectPseudonym> = None;
    loop {
        let page = subjects_page(store, department, after.as_ref(), page_len).await?;
        let (Some(first), Some(last)) = (page.first().copied(), page.last().copied()) else {
            break;
        };
        let mut keep = vec![true; page.len()];
        if !plan.features.is_empty() {
            let table = load_features(store, department, &page, as_of).await?;
            for (i, k) in keep.iter_mut().enumerate() {
                let row = table.row(i);
                *k = plan
                    .features
                    .iter()
                    .all(|(at, c)| c.accepts(row.and_then(|r| r.get(*at).copied().flatten())));
            }
        }
        if plan.reads_records() {
            let records =
                read_records(store, department, &plan, &page, (first, last), as_of).await?;
            for (i, k) in keep.iter_mut().enumerate() {
                if !*k {
                    continue;
                }
                let attrs = records.latest.get(i).and_then(|l| l.as_ref());
                let attributes_hold = plan.attributes.iter().enumerate().all(|(a, c)| {
                    c.accepts(attrs.and_then(|(_, values)| values.get(a).copied().flatten()))
                });
                let diagnoses_hold = records
                    .diagnosed
                    .iter()
                    .all(|hits| hits.get(i).copied().unwrap_or(false));
                *k = attributes_hold && diagnoses_hold;
            }
        }
        out.extend(page.iter().zip(&keep).filter(|(_, k)| **k).map(|(s, _)| *s));
        if page.len() < page_len {
            break;
        }
        after = Some(last);
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

/// A term split by where its values come from.
struct Plan<'t> {
    /// (index in the feature table's names, condition).
    features: Vec<(usize, &'t Condition)>,
    /// Attribute conditions; attribute `a` is stored column `attributes[a].feature()`.
    attributes: Vec<&'t Condition>,
    /// (prefixes, within months).
    diagnoses: Vec<(&'t [String], i64)>,
}

impl<'t> Plan<'t> {
    fn new(department: Department, term: &'t Term) -> Result<Plan<'t>, PolicyError> {
        let mut plan = Plan {
            features: Vec::new(),
            attributes: Vec::new(),
            diagnoses: Vec::new(),
        };
        let names = feature_names(department);
        for c in term.conditions() {
            match (c, c.feature()) {
                (
                    Condition::Diagnosis {
                        prefixes,
                        within_months,
                    },
                    _,
                ) => plan.diagnoses.push((prefixes.as_slice(), *within_months)),
                (_, Some(f)) => {
                    if let Some(at) = names.iter().position(|n| *n == f) {
                        plan.features.push((at, c));
                    } else if attribute_names(department).contains(&f) {
                        plan.attributes.push(c);
                    } else {
                        return Err(PolicyError::Evaluation(format!(
                            "{department} has no feature or attribute '{f}'"
                        )));
                    }
                }
                (_, None) => {}
            }
        }
        Ok(plan)
    }

    fn reads_records(&self) -> bool {
        !self.attributes.is_empty() || !self.diagnoses.is_empty()
    }
}

/// What the range read found, per page slot.
struct Records {
    /// The latest record on or before the date: its day and the attribute values (plan
    /// order).
    latest: Vec<Option<(i64, Vec<Option<i64>>)>>,
    /// Per diagnosis condition (plan order), per slot: a matching record in the window.
    diagnosed: Vec<Vec<bool>>,
}

async fn read_records(
    store: &Store,
    department: Department,
    plan: &Plan<'_>,
    page: &[SubjectPseudonym],
    (first, last): (SubjectPseudonym, SubjectPseudonym),
    as_of: Date,
) -> Result<Records, PolicyError> {
    let spec = TableSpec::of(department);
    let (table, date_column) = match department {
        Department::CivilAffairs => (spec.table, "assessed_on"),
        _ => diagnosis_source(department).unwrap_or((spec.table, "admit_date")),
    };
    let mut columns = vec![date_column];
    let sources: Vec<AttributeSource> = plan
        .attributes
        .iter()
        .map(|c| {
            c.feature().and_then(attribute_source).ok_or_else(|| {
                PolicyError::Evaluation(format!(
                    "{department}: attribute '{}' has no stored source",
                    c.feature().unwrap_or_default()
                ))
            })
        })
        .collect::<Result<_, _>>()?;
    columns.extend(sources.iter().map(|s| match s {
        AttributeSource::Int(c) | AttributeSource::MonthsSince(c) => *c,
    }));
    let diagnoses_at = columns.len() + 1;
    if !plan.diagnoses.is_empty() {
        columns.push("diagnoses");
    }
    let (lo, hi) = match store.backend() {
        Backend::Sqlite => ("?", "?"),
        Backend::Postgres => ("$1", "$2"),
    };
    let sql = format!(
        "SELECT subject, {} FROM {table} WHERE subject >= {lo} AND subject <= {hi}",
        columns.join(", ")
    );
    let rows = sqlx::query(AssertSqlSafe(sql))
        .bind(first.as_bytes().to_vec())
        .bind(last.as_bytes().to_vec())
        .fetch_all(store.pool())
        .await
        .map_err(ConnectorError::db("read policy records"))?;
    let as_of_day = as_of.to_days();
    let mut records = Records {
        latest: vec![None; page.len()],
        diagnosed: vec![vec![false; page.len()]; plan.diagnoses.len()],
    };
    let db = || ConnectorError::db("decode policy records");
    for row in &rows {
        let bytes: Vec<u8> = row.try_get(0).map_err(db())?;
        let subject = pseudonym(table, &bytes)?;
        let Ok(slot) = page.binary_search(&subject) else {
            // Rows of a subject without an identity row: not one of the department's
            // listed subjects.
            continue;
        };
        let text: Option<String> = row.try_get(1).map_err(db())?;
        let date = text
            .as_deref()
            .and_then(Date::parse)
            .map(|(d, _)| d)
            .ok_or_else(|| {
                ConnectorError::Corrupt(format!(
                    "{table}.{date_column} holds '{}', not a date",
                    text.as_deref().unwrap_or("NULL")
                ))
            })?;
        let day = date.to_days();
        if day > as_of_day {
            continue;
        }
        if !plan.attributes.is_empty() {
            let mut values = Vec::with_capacity(sources.len());
            for (a, source) in sources.iter().enumerate() {
                let value = match source {
                    AttributeSource::Int(_) => row.try_get::<Option<i64>, _>(a + 2).map_err(db())?,
                    AttributeSource::MonthsSince(column) => {
                        let text: Option<String> = row.try_get(a + 2).map_err(db())?;
                        months_since(table, column, text.as_deref(), as_of)?
                    }
                };
                values.push(value);
            }
            let entry = &mut records.latest[slot];
            match entry {
                Some((d, kept)) if *d == day => {
                    // Several records that day (insurance claims): the largest value.
                    for (k, v) in kept.iter_mut().zip(values) {
                        *k = (*k).max(v);
                    }
                }
                Some((d, _)) if *d > day => {}
                _ => *entry = Some((day, values)),
            }
        }
        if !plan.diagnoses.is_empty() {
            let cell: Option<String> = row.try_get(diagnoses_at).map_err(db())?;
            let Some(cell) = cell else { continue };
            let months = whole_months(date, as_of);
            let mut codes = Vec::new();
            for raw in cell.split(';').filter(|s| !s.trim().is_empty()) {
                match icd10::normalise(raw) {
                    Icd10::Canonical(c) | Icd10::Normalised(c) => codes.push(c),
                    Icd10::Invalid => {
                        return Err(ConnectorError::Corrupt(format!(
                            "{table}.diagnoses holds '{raw}', not an ICD-10 code"
                        ))
                        .into());
                    }
                }
            }
            for ((prefixes, within), hits) in plan.diagnoses.iter().zip(&mut records.diagnosed) {
                if months < *within && codes.iter().any(|c| prefixes.iter().any(|p| matches(p, c)))
                {
                    hits[slot] = true;
                }
            }
        }
    }
    Ok(records)
}

/// Whole months from the stored date `text` (of `table.column`) to `as_of`; unknown when
/// there is none or it is after `as_of`.
fn months_since(
    table: &str,
    column: &str,
    text: Option<&str>,
    as_of: Date,
) -> Result<Option<i64>, ConnectorError> {
    let Some(text) = text else { return Ok(None) };
    let (date, _) = Date::parse(text).ok_or_else(|| {
        ConnectorError::Corrupt(format!("{table}.{column} holds '{text}', not a date"))
    })?;
    Ok((date.to_days() <= as_of.to_days()).then(|| whole_months(date, as_of)))
}

/// Whether canonical code `code` falls under canonical prefix `prefix`: `F03` covers `F03`
/// and `F03.x`; `F03.9` only itself.
fn matches(prefix: &str, code: &str) -> bool {
    code.strip_prefix(prefix)
        .is_some_and(|rest| rest.is_empty() || (!prefix.contains('.') && rest.starts_with('.')))
}

/// Whole calendar months from `from` to `to`, counted like an age (as the features count
/// them); 0 if `to` is before `from`.
fn whole_months(from: Date, to: Date) -> i64 {
    let months = (i64::from(to.year) - i64::from(from.year)) * 12 + i64::from(to.month)
        - i64::from(from.month)
        - i64::from(to.day < from.day);
    months.max(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_match() {
        assert!(matches("F03", "F03"));
        assert!(matches("F03", "F03.9"));
        assert!(!matches("F03", "F030"));
        assert!(!matches("F0", "F03"));
        assert!(matches("F00.1", "F00.1"));
        assert!(!matches("F00.1", "F00"));
        assert!(!matches("F00.1", "F00.2"));
    }

    #[test]
    fn months_like_an_age() {
        let d = |y, m, day| Date::new(y, m, day).expect("date");
        assert_eq!(whole_months(d(2024, 6, 30), d(2026, 6, 30)), 24);
        assert_eq!(whole_months(d(2024, 7, 1), d(2026, 6, 30)), 23);
        assert_eq!(whole_months(d(2026, 1, 31), d(2026, 2, 28)), 0);
        assert_eq!(whole_months(d(2026, 7, 1), d(2026, 6, 30)), 0);
    }
}
