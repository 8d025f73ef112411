//! Controlled dirt: turns clean rows into the rows a department export would contain, and
//! counts every injected problem under the rule the cleaner must count it under.
//!
//! Each decision fires with probability `rate`. A row is either rejected (invalid ID
//! number, or a required field missing), or kept with at most one problem per field;
//! any row may be followed by an exact copy, and a kept row by a fuzzy copy (the clean
//! values with one field changed, or — civil affairs — another valid ID number for the same
//! name, birth date and district). The clean truth of a kept row is what the cleaner must
//! store: values dropped by a rule (out of range, unreadable, missing) are NULL there.
//! Field-level counts cover kept rows only, as the cleaner's do.

use std::collections::BTreeMap;

use super::people::DUPLICATE_AREA;
use super::rng::R;
use crate::clean::{Rule, Value};
use crate::date::Date;
use crate::schema::{DedupKey, FieldKind, FieldSpec, Imputation, MissingPolicy, TableSpec, Unit};

/// What one department's generated rows came to.
#[derive(Clone, Debug, Default)]
pub struct Tallies {
    /// Injected problems per rule (indexed by `Rule::index`).
    pub counts: [u64; Rule::ALL.len()],
    /// Rejected rows per `rule:field`.
    pub rejected: BTreeMap<String, u64>,
    /// Rows written to the dirty file.
    pub rows_dirty: u64,
    /// Rows in the truth file.
    pub rows_truth: u64,
}

impl Tallies {
    fn count(&mut self, rule: Rule) {
        self.counts[rule.index()] += 1;
    }

    /// Adds another tally.
    pub fn merge(&mut self, other: &Tallies) {
        for (a, b) in self.counts.iter_mut().zip(other.counts) {
            *a += b;
        }
        for (k, v) in &other.rejected {
            *self.rejected.entry(k.clone()).or_insert(0) += v;
        }
        self.rows_dirty += other.rows_dirty;
        self.rows_truth += other.rows_truth;
    }
}

/// Dirty rows and truth rows of one department for one person.
#[derive(Default)]
pub struct Emitted {
    pub dirty: Vec<Vec<String>>,
    pub truth: Vec<Vec<Value>>,
    pub tallies: Tallies,
}

const INVALID_TOKENS: [&str; 4] = ["高血压", "待查", "糖尿病?", "N/A"];

/// Emits the dirty and truth rows for `rows` (clean rows of `spec`).
pub fn emit(spec: &TableSpec, rows: Vec<Vec<Value>>, r: &mut R, rate: f64, out: &mut Emitted) {
    for row in rows {
        let dirty = if r.chance(rate * 0.5) {
            let d = reject_invalid_id(spec, &row, r);
            out.tallies.count(Rule::IdInvalid);
            *out.tallies
                .rejected
                .entry("id_invalid:id_number".into())
                .or_insert(0) += 1;
            d
        } else if r.chance(rate * 0.5) {
            let required: Vec<usize> = spec
                .fields
                .iter()
                .enumerate()
                .filter(|(_, f)| f.missing == MissingPolicy::Reject)
                .map(|(i, _)| i)
                .collect();
            let i = *r.pick(&required);
            let mut d = render(&row);
            d[i] = String::new();
            out.tallies.count(Rule::MissingRejected);
            *out.tallies
                .rejected
                .entry(format!("missing_rejected:{}", spec.fields[i].name))
                .or_insert(0) += 1;
            d
        } else {
            let mut d = Vec::with_capacity(row.len());
            let mut truth = Vec::with_capacity(row.len());
            for (f, v) in spec.fields.iter().zip(&row) {
                let (text, clean) = dirty_field(f, v, r, rate, &mut out.tallies);
                d.push(text);
                truth.push(clean);
            }
            if r.chance(rate) {
                out.dirty.push(d.clone());
                out.tallies.count(Rule::DuplicateExact);
                out.tallies.rows_dirty += 1;
            }
            if r.chance(rate) {
                let copy = fuzzy_copy(spec, &truth, r);
                out.dirty.push(d);
                out.dirty.push(copy);
                out.tallies.count(Rule::DuplicateFuzzy);
                out.tallies.rows_dirty += 2;
            } else {
                out.dirty.push(d);
                out.tallies.rows_dirty += 1;
            }
            out.truth.push(truth);
            out.tallies.rows_truth += 1;
            continue;
        };
        if r.chance(rate) {
            out.dirty.push(dirty.clone());
            out.tallies.count(Rule::DuplicateExact);
            out.tallies.rows_dirty += 1;
        }
        out.dirty.push(dirty);
        out.tallies.rows_dirty += 1;
    }
}

/// Makes the truth show, in every row of the person, the identity the store seals: the
/// import seals the identifying fields of a subject's first stored row once per subject
/// (`import::clean_chunk`), and a dump joins that identity to each row. Dirt may have
/// blanked a phone or an address in a later row (civil affairs repeats them per
/// assessment); what is stored is still the first row's.
pub fn identity_as_sealed(spec: &TableSpec, out: &mut Emitted) {
    let fields: Vec<usize> = spec
        .fields
        .iter()
        .enumerate()
        .filter(|(_, f)| f.kind.is_identifying() && f.kind != FieldKind::IdNumber)
        .map(|(i, _)| i)
        .collect();
    let Some((first, rest)) = out.truth.split_first_mut() else {
        return;
    };
    for row in rest {
        for &i in &fields {
            if let (Some(v), Some(sealed)) = (row.get_mut(i), first.get(i)) {
                v.clone_from(sealed);
            }
        }
    }
}

fn render(row: &[Value]) -> Vec<String> {
    row.iter().map(Value::render).collect()
}

fn reject_invalid_id(spec: &TableSpec, row: &[Value], r: &mut R) -> Vec<String> {
    let mut d = render(row);
    let i = spec.index_of("id_number").unwrap_or(0);
    let id = d[i].clone();
    d[i] = if r.chance(0.8) {
        // A wrong check character (the most common typo a check digit catches).
        let last = id.chars().last().unwrap_or('0');
        let options = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9', 'X'];
        let wrong: Vec<char> = options.iter().copied().filter(|c| *c != last).collect();
        format!("{}{}", &id[..17], r.pick(&wrong))
    } else {
        // A digit lost in typing.
        format!("{}{}", &id[..9], &id[10..])
    };
    d
}

/// One field's dirty text and the value the cleaner must produce from it.
fn dirty_field(f: &FieldSpec, v: &Value, r: &mut R, rate: f64, t: &mut Tallies) -> (String, Value) {
    if !v.is_present() {
        // A natural gap (no phone, not tested, no diagnosis): optional fields only.
        if f.kind == FieldKind::Icd10List && r.chance(rate) {
            t.count(Rule::Icd10Invalid);
            return ((*r.pick(&INVALID_TOKENS)).to_string(), Value::Null);
        }
        t.count(Rule::MissingNull);
        return (String::new(), Value::Null);
    }
    let canonical = v.render();
    if f.kind == FieldKind::IdNumber {
        // Lower-case x is normalised silently (not a counted rule).
        let text = if canonical.ends_with('X') && r.chance(0.3) {
            canonical.to_lowercase()
        } else {
            canonical
        };
        return (text, v.clone());
    }
    if !r.chance(rate) {
        return (canonical, v.clone());
    }
    let missing = |t: &mut Tallies| -> Option<(String, Value)> {
        match f.missing {
            MissingPolicy::Reject => None,
            MissingPolicy::Null => {
                t.count(Rule::MissingNull);
                Some((String::new(), Value::Null))
            }
            MissingPolicy::Impute(Imputation::Zero) if *v != Value::Int(0) => None,
            MissingPolicy::Impute(_) => {
                t.count(Rule::MissingImputed);
                Some((String::new(), v.clone()))
            }
        }
    };
    match (f.kind, v) {
        (FieldKind::Name | FieldKind::Text, _) => (canonical, v.clone()),
        (FieldKind::Phone | FieldKind::Address | FieldKind::Code(_), _) => {
            missing(t).unwrap_or((canonical, v.clone()))
        }
        (FieldKind::Date, Value::Date(d)) => dirty_date(f, *d, r, t, missing),
        (FieldKind::Int { max, .. }, Value::Int(n)) => {
            if r.chance(0.5)
                && let Some(m) = missing(t)
            {
                return m;
            }
            t.count(Rule::OutOfRange);
            let bad = if n * 10 > max { n * 10 } else { max + 1 };
            (bad.to_string(), Value::Null)
        }
        (FieldKind::Choice(set), Value::Int(_)) => {
            if r.chance(0.5)
                && let Some(m) = missing(t)
            {
                return m;
            }
            t.count(Rule::OutOfRange);
            (
                set.iter().max().map_or(1, |m| m + 1).to_string(),
                Value::Null,
            )
        }
        (FieldKind::Decimal { unit, .. }, Value::Tenths(x)) => match r.below(3) {
            0 => {
                t.count(Rule::UnitConverted);
                let text = match unit {
                    Unit::Kilogram => {
                        let jin = x * 2;
                        format!("{}.{}斤", jin / 10, jin % 10)
                    }
                    Unit::Centimetre => format!("{}.{:03}m", x / 1000, x % 1000),
                };
                (text, v.clone())
            }
            1 => {
                t.count(Rule::OutOfRange);
                // A misplaced decimal point: ten times the value.
                (format!("{}", x), Value::Null)
            }
            _ => missing(t).unwrap_or((canonical, v.clone())),
        },
        (FieldKind::Icd10List, Value::Codes(codes)) => match r.below(3) {
            0 => {
                let mut parts = Vec::with_capacity(codes.len());
                for (i, c) in codes.iter().enumerate() {
                    if i == 0 || r.chance(0.5) {
                        t.count(Rule::Icd10Normalised);
                        parts.push(dirty_code(c, r));
                    } else {
                        parts.push(c.clone());
                    }
                }
                (parts.join(";"), v.clone())
            }
            1 => {
                t.count(Rule::Icd10Invalid);
                (
                    format!("{};{}", canonical, r.pick(&INVALID_TOKENS)),
                    v.clone(),
                )
            }
            _ => missing(t).unwrap_or((canonical, v.clone())),
        },
        _ => (canonical, v.clone()),
    }
}

fn dirty_date(
    f: &FieldSpec,
    d: Date,
    r: &mut R,
    t: &mut Tallies,
    missing: impl Fn(&mut Tallies) -> Option<(String, Value)>,
) -> (String, Value) {
    let birth = f.missing == MissingPolicy::Impute(Imputation::BirthDateFromId);
    let optional = f.missing == MissingPolicy::Null;
    match r.below(3) {
        1 if birth => {
            t.count(Rule::BirthDateMismatch);
            let shift = 1 + i64::try_from(r.below(400)).unwrap_or(0);
            let wrong = Date::from_days(d.to_days() + if r.chance(0.5) { shift } else { -shift })
                .unwrap_or(d);
            (wrong.to_string(), Value::Date(d))
        }
        1 if optional => {
            t.count(Rule::DateInvalid);
            let text = if r.chance(0.5) {
                "不详".to_string()
            } else {
                format!("{}-02-30", d.year)
            };
            (text, Value::Null)
        }
        2 => missing(t).unwrap_or_else(|| format_date(d, r, t)),
        _ => format_date(d, r, t),
    }
}

fn format_date(d: Date, r: &mut R, t: &mut Tallies) -> (String, Value) {
    t.count(Rule::DateFormat);
    let text = match r.below(3) {
        0 => d.slashed(),
        1 => d.compact(),
        _ => d.chinese(),
    };
    (text, Value::Date(d))
}

fn dirty_code(c: &str, r: &mut R) -> String {
    match (r.below(3), c.contains('.')) {
        (0, _) => c.to_lowercase(),
        (1, true) => c.replace('.', ""),
        (_, true) => format!("{c}00"),
        (_, false) => format!("{c}.x00"),
    }
}

/// A copy of a kept row that the cleaner must recognise as a duplicate of it.
fn fuzzy_copy(spec: &TableSpec, truth: &[Value], r: &mut R) -> Vec<String> {
    let mut d = render(truth);
    let set = |d: &mut Vec<String>, name: &str, f: &dyn Fn(&str) -> String| {
        if let Some(i) = spec.index_of(name) {
            d[i] = f(&d[i]);
        }
    };
    match spec.dedup {
        DedupKey::PersonOrNameBirthDistrictOn(_) => {
            let district_known = spec
                .index_of("district")
                .is_some_and(|i| truth[i].is_present());
            if district_known && r.chance(0.5) {
                set(&mut d, "id_number", &|id| {
                    let mut b = [b'0'; 18];
                    let body = format!("{DUPLICATE_AREA}{}", &id[6..17]);
                    b[..17].copy_from_slice(&body.as_bytes()[..17]);
                    b[17] = weinong_keys::check_char(&b);
                    String::from_utf8_lossy(&b).into_owned()
                });
            } else {
                let new_phone = format!("139{:08}", r.below(100_000_000));
                set(&mut d, "phone", &|old| {
                    if old == new_phone {
                        format!("138{}", &old[3..])
                    } else {
                        new_phone.clone()
                    }
                });
            }
        }
        DedupKey::SubjectAnd(_) => set(&mut d, "sbp", &|old| match old.parse::<i64>() {
            Ok(n) if n + 7 <= 260 => (n + 7).to_string(),
            Ok(n) => (n - 7).to_string(),
            Err(_) => "120".to_string(),
        }),
        DedupKey::Field(_) => set(
            &mut d,
            "medication_count",
            &|old| match old.parse::<i64>() {
                Ok(n) if n < 60 => (n + 1).to_string(),
                Ok(n) => (n - 1).to_string(),
                Err(_) => "3".to_string(),
            },
        ),
    }
    d
}
