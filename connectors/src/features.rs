//! Feature extraction: the mapping from a department's stored canonical rows to the named,
//! integer model inputs it holds, for many subjects at once, as of a date.
//!
//! Owns: which features each department provides ([`feature_names`]), their units and
//! codings, the windows ("latest check-up", "6 months before", "12 months", the history of
//! [`HISTORY_VISITS`] visits within [`HISTORY_MONTHS_MAX`] months) and the batched reads behind
//! them ([`load_features`]). Must not know: the `mpc` crate, a model's IR, parameters or
//! outputs, the ledger or networking. Feature names and codings equal the input
//! declarations of the shipped models (`mpc/models/admission-v1.toml`, `periodic-v1.toml`
//! and `periodic-v2.toml`): a test compiles the models and checks that every model input is
//! a feature with values in its range, and that every feature but the history ones
//! (`visit*`, `checkup*`, `*_first_months`, which a model may leave unread) is some model's
//! input, so a model change that this module does not follow fails there.
//!
//! Every value is an integer in the model's unit (`bmi` in 0.1 kg/m², weights in 0.1 kg,
//! conditions 0/1, Morse items as the model's codes 0/1/2, not the stored points, days as
//! whole days). `None` inside a row means "unknown" (for a history feature also "no such
//! visit": missing visits are normal and never read as 0; the models pair each with a known
//! flag); a whole row is `None` where the department held no row for the subject as of the
//! date. Rows dated after `as_of` (an assessment, a check-up, a claim) did not exist on
//! that date and are not read.
//!
//! # Derivations
//!
//! **Civil affairs** (schema version 3: one stored row per GB/T 42195 assessment, the
//! register fields repeated in each). The *latest* assessment is the latest on or before
//! `as_of` (at any age); without one the subject has no row.
//! - `gb_*`: the 26 stored items of the latest assessment as they are.
//! - `risk_events_30d`: the sum of the latest assessment's four care-risk frequency codes
//!   `risk_{fall,choking,self_harm,wandering}_30d` (the form's codes: 0 none, 1 once,
//!   2 twice, 3 three times or more), i.e. the number of events in the 30 days before it —
//!   exact up to two per kind; a 3 means "three or more", so the sum is a lower bound only
//!   where a code is 3. Assessments stored before schema version 3 held 0/1 flags and read
//!   as "once" (`store::UpgradeReport` counts them): a lower bound there too. Unknown if a
//!   code is (imports fill an empty code with 0).
//! - `age_years`: whole years from the latest assessment's `birth_date` to `as_of` (a
//!   29 February birthday comes on 1 March in common years); unknown if born after `as_of`.
//! - `education`: the latest assessment's stored code (0 illiterate, 1 primary,
//!   2 secondary or above).
//! - `last_ability_total`, `last_ability_grade`: periodic-v1's "last assessment" is the
//!   assessment **before** the latest one (at any age: it is the previous assessment, not a
//!   history visit). Where the latest is the only one, the latest itself stands in, so
//!   periodic-v1's `ability_dropped` cannot be raised by it (no decline can be seen from one
//!   assessment) and `grade_worsened` flags exactly the diagnosis adjustment below. Total =
//!   sum of its 26 items (unknown if any item is). Grade = GB/T 42195-2022 band of the total
//!   (90 → 0, 66–89 → 1, 46–65 → 2, 30–45 → 3, 0–29 → 4), then coma (意识水平 0) sets 4,
//!   otherwise two or more risk events (the sum of *that* assessment's codes) make it one
//!   grade worse (capped at 4). The dementia / mental-disorder adjustment needs ICD-10 codes
//!   that only medical insurance holds, so it is **not** applied: the recorded grade would
//!   include it, the stored data cannot.
//! - History, for i in 1..=[`HISTORY_VISITS`]: the i-th latest assessment on or before
//!   `as_of` among those at most [`HISTORY_MONTHS_MAX`] whole months before it (visit 1 is
//!   the latest unless that is older than ten years). `visit{i}_months`: whole calendar
//!   months from it to `as_of` (0..=120, counted like an age); `visit{i}_total`: its total 0..=90, unknown if any item is;
//!   `visit{i}_falls`: its fall frequency code 0..=3; `visit{i}_risk_events`: the sum of its
//!   four codes 0..=12 (each unknown if a code is not recorded; imports record an empty
//!   code as 0). All four unknown where there is no i-th visit.
//!
//! **Health** (one stored row per check-up): screens come from the latest check-up on or
//! before `as_of`.
//! - Morse: stored points → model codes (history 0/25 → 0/1, secondary diagnosis 0/15 →
//!   0/1, ambulatory aid 0/15/30 → 0/1/2, IV 0/20 → 0/1, gait 0/10/20 → 0/1/2, mental status
//!   0/15 → 0/1).
//! - AD8: `ad8_learning` → `ad8_gadgets`, `ad8_memory` → `ad8_daily_memory`, others by name;
//!   a stored empty item is "don't know", which the AD8 does not score: 0.
//! - `mmse` → `mmse_total`; Braden by name; MNA-SF `mna_intake` → `mna_food_intake`,
//!   `mna_neuro` → `mna_neuropsych`, `mna_weight_loss` and `mna_mobility` by name, and
//!   `mna_stress` (0 yes / 2 no, the item's points) → `mna_acute_stress` (1 yes / 0 no).
//! - `bmi` (0.1 kg/m²) from that check-up's height and weight, exactly in integers:
//!   `round_half_up(weight_x10 · 10⁶ / height_x10²)`. Unknown if either is missing, or if the
//!   result lies outside 10.0–60.0 (the model's range: such a pair is a measurement error,
//!   not a body).
//! - `calf_circumference` is not stored by any department: always unknown (the model then
//!   uses BMI, or reports MNA-SF as not assessable).
//! - `falls_since_last`: health does not know the civil assessment date; the latest
//!   check-up's `falls_12m` (falls in the 12 months before it) stands in for it.
//! - `weight_now`: the latest check-up's weight (0.1 kg). `weight_6m_ago`: the weight of the
//!   earlier check-up nearest to 183 days before the latest one, among those 91–274 days
//!   before it (the model compares the two as a 6-month change, so the interval is measured
//!   between the two weighings, not from `as_of`); unknown if there is none.
//! - History, for j in 1..=[`HISTORY_VISITS`]: the j-th latest check-up on or before `as_of`
//!   among those at most [`HISTORY_MONTHS_MAX`] months before it. `checkup{j}_months`: whole
//!   months to `as_of` (0..=120); `checkup{j}_weight`: its weight in 0.1 kg (250..=2000, the
//!   stored range), unknown if not weighed; `checkup{j}_sbp` (60..=260) and
//!   `checkup{j}_dbp` (30..=160): its blood pressure, each unknown if not measured. All
//!   unknown where there is no j-th check-up; a check-up with nothing measured still counts
//!   as a visit.
//!
//! **Medical insurance** (one stored row per claim): every claim admitted on or before
//! `as_of`.
//! - `icd_dementia` (F00–F03), `icd_mental_disorder` (F04–F99) and the 17 `cci_*` Charlson
//!   conditions (Quan 2005 lists of `assessment-instruments.md`) from the union of the
//!   claims' diagnoses, by prefix on the normalised code: `I25.2` matches `I25.2` only, `I21`
//!   matches `I21` and `I21.x`. The hierarchy rules are the model's, not applied here.
//! - `cci_<c>_first_months` for each of the 17: whole months from the earliest admission
//!   among the claims whose diagnoses match the condition to `as_of`, capped at 120 (ten
//!   years or more: older than any history visit, so never "new"); unknown if no claim
//!   matches. (A condition is "new" to a model when it
//!   was first claimed after a visit; claims are the only dated diagnoses.)
//! - `hospital_stays_since_last`: inpatient claims (setting 2) admitted in the 365 days up to
//!   `as_of` (insurance does not know the civil assessment date; re-assessments are yearly).
//!
//! Model inputs not provided: none. The models' known-flags (`bmi_known`, `calf_known`,
//! `weight_6m_known`, and those of the history inputs) are not features: they are 1
//! exactly where the optional feature is known.
//!
//! Memory: a read keeps, per subject, at most [`HISTORY_VISITS`] assessments and check-ups
//! (plus the weighings for `weight_6m_ago`; for claims, a condition bit set, a stay count
//! and 19 first-claim days), whatever the store holds.

use std::collections::HashMap;
use std::fmt;
use std::sync::OnceLock;

use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};
use weinong_keys::SubjectPseudonym;

use crate::date::{Date, DateForm};
use crate::error::ConnectorError;
use crate::icd10::{self, Icd10};
use crate::limits::{FEATURE_CHUNK_SUBJECTS, FEATURE_SUBJECTS_MAX};
use crate::schema::{Department, FieldKind, TableSpec};
use crate::store::{Backend, Store};

/// Named features of one department for many subjects, as of a date.
///
/// Its values are personal data: `Debug` shows only the shape, so a stray log line cannot
/// carry them.
#[derive(Clone, PartialEq, Eq)]
pub struct FeatureTable {
    names: Vec<&'static str>,
    // Invariant: every inner row has `names.len()` values.
    rows: Vec<Option<Vec<Option<i64>>>>,
}

impl FeatureTable {
    /// The feature names, in the order of each row's values ([`feature_names`]).
    pub fn names(&self) -> &[&'static str] {
        &self.names
    }

    /// `None`: the department holds no row for that subject. Inside: `None` where a feature
    /// is unknown (e.g. no weight recorded 6 months ago).
    pub fn row(&self, subject_index: usize) -> Option<&[Option<i64>]> {
        self.rows.get(subject_index)?.as_deref()
    }

    /// One feature for every subject (`None` where the subject has no row or the value is
    /// unknown); `None` if the department has no feature of that name.
    pub fn column(&self, name: &str) -> Option<Vec<Option<i64>>> {
        let index = self.names.iter().position(|n| *n == name)?;
        Some(
            self.rows
                .iter()
                .map(|row| row.as_ref().and_then(|r| r.get(index).copied().flatten()))
                .collect(),
        )
    }

    /// Number of subjects.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether there are no subjects.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}

impl fmt::Debug for FeatureTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FeatureTable")
            .field("features", &self.names.len())
            .field("subjects", &self.rows.len())
            .finish_non_exhaustive()
    }
}

/// The feature names this department can provide (sorted, stable).
pub fn feature_names(department: Department) -> &'static [&'static str] {
    &layout(department).sorted
}

/// Loads the features of `subjects` (in that order) from `store`, as of `as_of` (the
/// request's date: ages, 30-day, 6-month windows and "since last assessment" are computed
/// against it).
///
/// Errors: more than [`FEATURE_SUBJECTS_MAX`] subjects (`Invalid`), a database failure
/// (`Db`), or a stored value that the schema does not allow (`Corrupt`, naming table,
/// column and value).
pub async fn load_features(
    store: &Store,
    department: Department,
    subjects: &[SubjectPseudonym],
    as_of: Date,
) -> Result<FeatureTable, ConnectorError> {
    if subjects.len() > FEATURE_SUBJECTS_MAX {
        return Err(ConnectorError::Invalid(format!(
            "{} subjects in one feature request; at most {FEATURE_SUBJECTS_MAX}: split the batch",
            subjects.len()
        )));
    }
    let unique = Unique::new(subjects);
    let natural = match department {
        Department::CivilAffairs => civil::load(store, &unique, as_of).await?,
        Department::Health => health::load(store, &unique, as_of).await?,
        Department::MedicalInsurance => insurance::load(store, &unique, as_of).await?,
    };
    let layout = layout(department);
    let rows = unique
        .slot_of_subject
        .iter()
        .map(|&slot| {
            natural.get(slot).and_then(Option::as_ref).map(|values| {
                let mut row = vec![None; layout.sorted.len()];
                for (value, &at) in values.iter().zip(&layout.position) {
                    row[at] = *value;
                }
                row
            })
        })
        .collect();
    Ok(FeatureTable {
        names: layout.sorted.clone(),
        rows,
    })
}

/// A department's features: the order its code computes them in (`natural`) and the
/// sorted order callers see, with each natural index's sorted position.
struct Layout {
    sorted: Vec<&'static str>,
    position: Vec<usize>,
}

fn layout(department: Department) -> &'static Layout {
    static LAYOUTS: OnceLock<[Layout; 3]> = OnceLock::new();
    let all = LAYOUTS.get_or_init(|| {
        [
            Layout::new(&civil::NATURAL),
            Layout::new(&health::NATURAL),
            Layout::new(&insurance::NATURAL),
        ]
    });
    match department {
        Department::CivilAffairs => &all[0],
        Department::Health => &all[1],
        Department::MedicalInsurance => &all[2],
    }
}

impl Layout {
    fn new(natural: &[&'static str]) -> Layout {
        let mut sorted = natural.to_vec();
        sorted.sort_unstable();
        let position = natural
            .iter()
            .map(|n| {
                sorted
                    .binary_search(n)
                    .expect("a natural name is in its own sorted copy")
            })
            .collect();
        Layout { sorted, position }
    }
}

/// The distinct subjects of a request: `keys[slot]`, and each requested subject's slot.
struct Unique {
    keys: Vec<[u8; 32]>,
    slot_by_key: HashMap<[u8; 32], usize>,
    slot_of_subject: Vec<usize>,
}

impl Unique {
    fn new(subjects: &[SubjectPseudonym]) -> Unique {
        let mut keys = Vec::with_capacity(subjects.len());
        let mut slot_by_key = HashMap::with_capacity(subjects.len());
        let slot_of_subject = subjects
            .iter()
            .map(|s| {
                *slot_by_key.entry(*s.as_bytes()).or_insert_with(|| {
                    keys.push(*s.as_bytes());
                    keys.len() - 1
                })
            })
            .collect();
        Unique {
            keys,
            slot_by_key,
            slot_of_subject,
        }
    }
}

/// `SELECT subject, columns FROM table WHERE subject IN (…)` over all subjects, in chunks of
/// [`FEATURE_CHUNK_SUBJECTS`] bind parameters; `handle` gets each row with its subject's
/// slot. When there is more than one chunk the last is padded with its own last subject, so
/// every statement has the same text and stays prepared.
async fn for_each_row(
    store: &Store,
    table: &'static str,
    columns: &[&'static str],
    unique: &Unique,
    mut handle: impl FnMut(usize, &AnyRow) -> Result<(), ConnectorError>,
) -> Result<(), ConnectorError> {
    let keys = &unique.keys;
    if keys.is_empty() {
        return Ok(());
    }
    let chunk_len = keys.len().min(FEATURE_CHUNK_SUBJECTS);
    let sql = select_sql(store.backend(), table, columns, chunk_len);
    for chunk in keys.chunks(chunk_len) {
        let mut q = sqlx::query(AssertSqlSafe(sql.as_str()));
        for key in chunk {
            q = q.bind(key.to_vec());
        }
        if let Some(last) = chunk.last() {
            for _ in chunk.len()..chunk_len {
                q = q.bind(last.to_vec());
            }
        }
        let rows = q
            .fetch_all(store.pool())
            .await
            .map_err(ConnectorError::db("read features"))?;
        for row in &rows {
            let subject: Vec<u8> = row
                .try_get(0)
                .map_err(ConnectorError::db("read features"))?;
            let slot = <[u8; 32]>::try_from(subject.as_slice())
                .ok()
                .and_then(|k| unique.slot_by_key.get(&k).copied())
                .ok_or_else(|| {
                    ConnectorError::Corrupt(format!(
                        "{table}: a row for a subject that was not asked for ({} bytes)",
                        subject.len()
                    ))
                })?;
            handle(slot, row)?;
        }
    }
    Ok(())
}

/// The statement text: only fixed table and column names and placeholders (values are
/// always bound). SQLite gets `?` (see `store::values_sql` for why), PostgreSQL `$n`.
fn select_sql(backend: Backend, table: &str, columns: &[&str], binds: usize) -> String {
    let mut sql = format!(
        "SELECT subject, {} FROM {table} WHERE subject IN (",
        columns.join(", ")
    );
    for n in 1..=binds {
        if n > 1 {
            sql.push(',');
        }
        match backend {
            Backend::Sqlite => sql.push('?'),
            Backend::Postgres => sql.push_str(&format!("${n}")),
        }
    }
    sql.push(')');
    sql
}

/// Typed reads of one stored row, checked against the department's schema.
struct Cells<'r> {
    row: &'r AnyRow,
    table: &'static str,
    columns: &'r [&'static str],
    kinds: &'r [FieldKind],
}

impl Cells<'_> {
    fn name(&self, col: usize) -> &'static str {
        self.columns.get(col).copied().unwrap_or("?")
    }

    fn corrupt(&self, col: usize, what: String) -> ConnectorError {
        ConnectorError::Corrupt(format!("{}.{} {what}", self.table, self.name(col)))
    }

    /// Column `col` of `columns` (the row's column `col + 1`, after `subject`).
    fn int(&self, col: usize) -> Result<Option<i64>, ConnectorError> {
        let v: Option<i64> = self
            .row
            .try_get(col + 1)
            .map_err(ConnectorError::db("decode feature column"))?;
        let Some(v) = v else { return Ok(None) };
        let allowed = match self.kinds.get(col) {
            Some(FieldKind::Int { min, max }) => (*min..=*max).contains(&v),
            Some(FieldKind::Choice(set)) => set.contains(&v),
            _ => false,
        };
        if allowed {
            Ok(Some(v))
        } else {
            Err(self.corrupt(col, format!("holds {v}, which its schema does not allow")))
        }
    }

    /// A DOUBLE PRECISION column stored from tenths (`store` writes `n / 10`), as tenths.
    #[allow(
        clippy::cast_possible_truncation,
        reason = "range-checked in floating point before the cast"
    )]
    fn tenths(&self, col: usize) -> Result<Option<i64>, ConnectorError> {
        let v: Option<f64> = self
            .row
            .try_get(col + 1)
            .map_err(ConnectorError::db("decode feature column"))?;
        let Some(v) = v else { return Ok(None) };
        let Some(FieldKind::Decimal {
            min_x10, max_x10, ..
        }) = self.kinds.get(col).copied()
        else {
            return Err(self.corrupt(col, "is not a decimal column".into()));
        };
        // Checked in floating point before the conversion, so the cast cannot saturate:
        // stored values are n/10 for schema-bounded n, and rounding recovers n exactly.
        let x10 = (v * 10.0).round();
        if !x10.is_finite() || x10 < min_x10 as f64 || x10 > max_x10 as f64 {
            return Err(self.corrupt(col, format!("holds {v}, outside its schema range")));
        }
        Ok(Some(x10 as i64))
    }

    fn text(&self, col: usize) -> Result<Option<String>, ConnectorError> {
        self.row
            .try_get(col + 1)
            .map_err(ConnectorError::db("decode feature column"))
    }

    fn date(&self, col: usize) -> Result<Option<Date>, ConnectorError> {
        let Some(s) = self.text(col)? else {
            return Ok(None);
        };
        match Date::parse(&s) {
            Some((d, DateForm::Canonical)) => Ok(Some(d)),
            _ => Err(self.corrupt(col, format!("holds '{s}', not a YYYY-MM-DD date"))),
        }
    }

    fn required_date(&self, col: usize) -> Result<Date, ConnectorError> {
        self.date(col)?
            .ok_or_else(|| self.corrupt(col, "is empty but required".into()))
    }
}

/// The schema kinds of `columns` in `department`'s table.
fn kinds_of(
    department: Department,
    columns: &[&'static str],
) -> Result<Vec<FieldKind>, ConnectorError> {
    let spec = TableSpec::of(department);
    columns
        .iter()
        .map(|c| {
            spec.index_of(c)
                .and_then(|i| spec.fields.get(i))
                .map(|f| f.kind)
                .ok_or_else(|| {
                    ConnectorError::Invalid(format!(
                        "feature column {c} is not in the {} schema",
                        department.short_name()
                    ))
                })
        })
        .collect()
}

/// History visits per person: the latest this many assessments (civil affairs) and
/// check-ups (health) on or before `as_of`, within [`HISTORY_MONTHS_MAX`], are features
/// `visit{i}_*` and `checkup{j}_*` (1 the latest). The models' history inputs are sized by
/// it (`periodic-v2`'s K).
pub const HISTORY_VISITS: usize = 4;

/// A visit more than this many whole months before `as_of` is not history (ten years:
/// older records say nothing about a trend, and the models' month inputs stop there).
pub const HISTORY_MONTHS_MAX: i64 = 120;

/// Whole calendar months from the day `from` to the day `to` (days as
/// [`Date::to_days`]), counted like an age: a month is complete once its day of the month
/// is reached (31 January to 28 February is 0). Months, not days: periodic-v2 multiplies
/// them (least squares), and months keep those products small enough for FHE. `None` for
/// a day outside the calendar's range; 0 if `to` is before `from`.
fn whole_months(from: i64, to: i64) -> Option<i64> {
    let (a, b) = (Date::from_days(from)?, Date::from_days(to)?);
    let months = (i64::from(b.year) - i64::from(a.year)) * 12 + i64::from(b.month)
        - i64::from(a.month)
        - i64::from(b.day < a.day);
    Some(months.max(0))
}

/// Whether a visit on `day` is history as of `as_of_day` (within [`HISTORY_MONTHS_MAX`]).
fn is_history(day: i64, as_of_day: i64) -> bool {
    whole_months(day, as_of_day).is_some_and(|m| m <= HISTORY_MONTHS_MAX)
}

/// Inserts `item` into `kept` (latest first by `day`) and keeps the latest `max`: the
/// per-subject state of a history read stays bounded whatever the store holds.
fn keep_latest<T>(kept: &mut Vec<T>, item: T, max: usize, day: impl Fn(&T) -> i64) {
    let d = day(&item);
    let at = kept.iter().position(|k| day(k) < d).unwrap_or(kept.len());
    if at < max {
        kept.insert(at, item);
        kept.truncate(max);
    }
}

mod civil {
    //! Civil affairs: GB/T 42195 items, risk events, age, education, the last assessment.

    use super::*;

    /// The 26 GB/T 42195-2022 items: stored column = model input, in the standard's order
    /// (自理能力 8, 基础运动能力 4, 精神状态 9, 感知觉与社会参与 5).
    pub(super) const GB_ITEMS: [&str; 26] = [
        "gb_eating",
        "gb_grooming",
        "gb_bathing",
        "gb_dress_upper",
        "gb_dress_lower",
        "gb_urine",
        "gb_bowel",
        "gb_toilet",
        "gb_bed_transfer",
        "gb_chair_transfer",
        "gb_walking",
        "gb_stairs",
        "gb_orient_time",
        "gb_orient_place",
        "gb_orient_person",
        "gb_memory",
        "gb_understanding",
        "gb_expression",
        "gb_aggression",
        "gb_depression",
        "gb_consciousness",
        "gb_vision",
        "gb_hearing",
        "gb_daily_affairs",
        "gb_transport",
        "gb_social",
    ];

    /// The four care-risk frequency columns (0 none, 1 once, 2 twice, 3 three or more).
    const RISKS: [&str; 4] = crate::schema::RISK_COLUMNS;
    /// Index of the fall frequency in [`RISKS`].
    const FALL: usize = 0;

    /// Index of 意识水平 in [`GB_ITEMS`].
    const CONSCIOUSNESS: usize = 20;
    /// 意识水平 value recorded for coma (its lowest).
    const COMA_SCORE: i64 = 0;
    /// Grade that coma sets (GB/T 42195-2022: 完全失能).
    const COMA_GRADE: i64 = 4;
    /// Worst grade.
    const GRADE_MAX: i64 = 4;
    /// Risk events in 30 days from which the grade is one worse.
    const FREQUENT_RISK_EVENTS_MIN: i64 = 2;
    /// GB/T 42195-2022 bands: (lowest total, grade), totals increasing.
    const GRADE_BANDS: [(i64, i64); 5] = [(0, 4), (30, 3), (46, 2), (66, 1), (90, 0)];

    /// Per history visit: days before `as_of`, total, fall frequency, risk events.
    const VISIT_NAMES: [[&str; 4]; HISTORY_VISITS] = [
        [
            "visit1_months",
            "visit1_total",
            "visit1_falls",
            "visit1_risk_events",
        ],
        [
            "visit2_months",
            "visit2_total",
            "visit2_falls",
            "visit2_risk_events",
        ],
        [
            "visit3_months",
            "visit3_total",
            "visit3_falls",
            "visit3_risk_events",
        ],
        [
            "visit4_months",
            "visit4_total",
            "visit4_falls",
            "visit4_risk_events",
        ],
    ];

    /// Features before the history visits.
    const SNAPSHOT: usize = 31;

    pub(super) const NATURAL: [&str; SNAPSHOT + 4 * HISTORY_VISITS] = {
        let mut n = [""; SNAPSHOT + 4 * HISTORY_VISITS];
        let mut i = 0;
        while i < GB_ITEMS.len() {
            n[i] = GB_ITEMS[i];
            i += 1;
        }
        n[26] = "risk_events_30d";
        n[27] = "age_years";
        n[28] = "education";
        n[29] = "last_ability_total";
        n[30] = "last_ability_grade";
        let mut v = 0;
        while v < HISTORY_VISITS {
            let mut k = 0;
            while k < 4 {
                n[SNAPSHOT + 4 * v + k] = VISIT_NAMES[v][k];
                k += 1;
            }
            v += 1;
        }
        n
    };

    // Stored columns read: birth_date, education, assessed_on, the items, the risks.
    const BIRTH: usize = 0;
    const EDUCATION: usize = 1;
    const ASSESSED: usize = 2;
    const ITEMS_FROM: usize = 3;
    const RISKS_FROM: usize = ITEMS_FROM + GB_ITEMS.len();

    /// Assessments kept per subject while reading: the latest [`HISTORY_VISITS`] on or
    /// before `as_of` (which include the latest and the one before it, for
    /// `last_ability_*`), so memory stays bounded however long a history is stored.
    const KEPT: usize = if HISTORY_VISITS > 2 {
        HISTORY_VISITS
    } else {
        2
    };

    /// One stored assessment, as read.
    #[derive(Clone)]
    struct Assessment {
        day: i64,
        birth: Option<Date>,
        education: Option<i64>,
        items: [Option<i64>; GB_ITEMS.len()],
        risks: [Option<i64>; RISKS.len()],
    }

    impl Assessment {
        /// Sum of the 26 items; unknown if any item is.
        fn total(&self) -> Option<i64> {
            self.items.iter().copied().sum()
        }

        /// Sum of the four frequency codes (events, "three or more" counted as 3);
        /// unknown if any code is.
        fn risk_events(&self) -> Option<i64> {
            self.risks.iter().copied().sum()
        }

        /// The GB/T 42195-2022 grade, where every item and code is known.
        fn grade(&self) -> Option<i64> {
            let items: Option<Vec<i64>> = self.items.iter().copied().collect();
            items.zip(self.risk_events()).map(|(i, r)| grade(&i, r))
        }
    }

    pub(super) fn columns() -> Vec<&'static str> {
        let mut c = vec!["birth_date", "education", "assessed_on"];
        c.extend(GB_ITEMS);
        c.extend(RISKS);
        c
    }

    pub(super) async fn load(
        store: &Store,
        unique: &Unique,
        as_of: Date,
    ) -> Result<Vec<Option<Vec<Option<i64>>>>, ConnectorError> {
        let columns = columns();
        let kinds = kinds_of(Department::CivilAffairs, &columns)?;
        let table = TableSpec::of(Department::CivilAffairs).table;
        let as_of_day = as_of.to_days();
        // Per subject, the latest assessments first.
        let mut history: Vec<Vec<Assessment>> = vec![Vec::new(); unique.keys.len()];
        for_each_row(store, table, &columns, unique, |slot, row| {
            let cells = Cells {
                row,
                table,
                columns: &columns,
                kinds: &kinds,
            };
            let day = cells.required_date(ASSESSED)?.to_days();
            if day > as_of_day {
                return Ok(());
            }
            let mut items = [None; GB_ITEMS.len()];
            for (i, v) in items.iter_mut().enumerate() {
                *v = cells.int(ITEMS_FROM + i)?;
            }
            let mut risks = [None; RISKS.len()];
            for (i, v) in risks.iter_mut().enumerate() {
                *v = cells.int(RISKS_FROM + i)?;
            }
            let assessment = Assessment {
                day,
                birth: cells.date(BIRTH)?,
                education: cells.int(EDUCATION)?,
                items,
                risks,
            };
            if let Some(h) = history.get_mut(slot) {
                keep_latest(h, assessment, KEPT, |a| a.day);
            }
            Ok(())
        })
        .await?;
        Ok(history
            .iter()
            .map(|h| features(h, as_of_day, as_of))
            .collect())
    }

    /// The features of one subject from its latest assessments (latest first); `None`
    /// if there is none on or before `as_of`.
    fn features(history: &[Assessment], as_of_day: i64, as_of: Date) -> Option<Vec<Option<i64>>> {
        let latest = history.first()?;
        // periodic-v1's "last assessment" is the one before the latest; with a single
        // assessment the latest stands in, so no decline can be flagged from it.
        let last = history.get(1).unwrap_or(latest);
        let mut v = Vec::with_capacity(NATURAL.len());
        v.extend(latest.items);
        v.push(latest.risk_events());
        v.push(latest.birth.and_then(|b| age_years(b, as_of)));
        v.push(latest.education);
        v.push(last.total());
        v.push(last.grade());
        let mut visits = history.iter().filter(|a| is_history(a.day, as_of_day));
        for _ in 0..HISTORY_VISITS {
            match visits.next() {
                Some(a) => {
                    v.push(whole_months(a.day, as_of_day));
                    v.push(a.total());
                    v.push(a.risks.get(FALL).copied().flatten());
                    v.push(a.risk_events());
                }
                None => v.extend([None; 4]),
            }
        }
        Some(v)
    }

    /// Whole years from `birth` to `on`; `None` if `on` is before `birth`.
    pub(super) fn age_years(birth: Date, on: Date) -> Option<i64> {
        let before_birthday = (on.month, on.day) < (birth.month, birth.day);
        let age = i64::from(on.year) - i64::from(birth.year) - i64::from(before_birthday);
        (age >= 0).then_some(age)
    }

    /// GB/T 42195-2022 grade of complete items, with the adjustments civil affairs can
    /// apply (coma, frequent risk events); see the module doc for the one it cannot.
    fn grade(items: &[i64], risk_events: i64) -> i64 {
        if items.get(CONSCIOUSNESS) == Some(&COMA_SCORE) {
            return COMA_GRADE;
        }
        let total: i64 = items.iter().sum();
        let by_total = GRADE_BANDS
            .iter()
            .take_while(|(lowest, _)| *lowest <= total)
            .last()
            .map_or(GRADE_MAX, |(_, g)| *g);
        let worse = i64::from(risk_events >= FREQUENT_RISK_EVENTS_MIN);
        (by_total + worse).min(GRADE_MAX)
    }
}

mod health {
    //! Health: screens of the latest check-up, BMI, falls, weight history.

    use super::*;

    /// Features before the history check-ups.
    const SNAPSHOT: usize = 31;

    pub(super) const NATURAL: [&str; SNAPSHOT + 4 * HISTORY_VISITS] = [
        "morse_fall_history",
        "morse_secondary_diagnosis",
        "morse_ambulatory_aid",
        "morse_iv_access",
        "morse_gait",
        "morse_mental_status",
        "ad8_judgment",
        "ad8_interest",
        "ad8_repeats",
        "ad8_gadgets",
        "ad8_month_year",
        "ad8_finances",
        "ad8_appointments",
        "ad8_daily_memory",
        "mmse_total",
        "braden_sensory",
        "braden_moisture",
        "braden_activity",
        "braden_mobility",
        "braden_nutrition",
        "braden_friction",
        "mna_food_intake",
        "mna_weight_loss",
        "mna_mobility",
        "mna_acute_stress",
        "mna_neuropsych",
        "bmi",
        "calf_circumference",
        "falls_since_last",
        "weight_now",
        "weight_6m_ago",
        "checkup1_months",
        "checkup1_weight",
        "checkup1_sbp",
        "checkup1_dbp",
        "checkup2_months",
        "checkup2_weight",
        "checkup2_sbp",
        "checkup2_dbp",
        "checkup3_months",
        "checkup3_weight",
        "checkup3_sbp",
        "checkup3_dbp",
        "checkup4_months",
        "checkup4_weight",
        "checkup4_sbp",
        "checkup4_dbp",
    ];

    /// Integer columns read from each check-up, after exam_date, height_cm, weight_kg.
    const INTS: [&str; 29] = [
        "falls_12m",
        "morse_history",
        "morse_secondary_dx",
        "morse_aid",
        "morse_iv",
        "morse_gait",
        "morse_mental",
        "ad8_judgment",
        "ad8_interest",
        "ad8_repeats",
        "ad8_learning",
        "ad8_month_year",
        "ad8_finances",
        "ad8_appointments",
        "ad8_memory",
        "mmse",
        "braden_sensory",
        "braden_moisture",
        "braden_activity",
        "braden_mobility",
        "braden_nutrition",
        "braden_friction",
        "mna_intake",
        "mna_weight_loss",
        "mna_mobility",
        "mna_stress",
        "mna_neuro",
        "sbp",
        "dbp",
    ];
    const EXAM_DATE: usize = 0;
    const HEIGHT: usize = 1;
    const WEIGHT: usize = 2;
    const INTS_FROM: usize = 3;

    // Indexes into INTS.
    const FALLS: usize = 0;
    const MORSE_FROM: usize = 1;
    const AD8_FROM: usize = 7;
    const MMSE: usize = 15;
    const BRADEN_FROM: usize = 16;
    const MNA_INTAKE: usize = 22;
    const MNA_WEIGHT_LOSS: usize = 23;
    const MNA_MOBILITY: usize = 24;
    const MNA_STRESS: usize = 25;
    const MNA_NEURO: usize = 26;
    const SBP: usize = 27;
    const DBP: usize = 28;

    /// Morse items in INTS order: stored points, whose index is the model's code.
    const MORSE_POINTS: [&[i64]; 6] = [
        &[0, 25],
        &[0, 15],
        &[0, 15, 30],
        &[0, 20],
        &[0, 10, 20],
        &[0, 15],
    ];
    /// MNA-SF D points meaning "yes, acute illness or stress" (the item scores 0 for yes).
    const MNA_STRESS_YES_POINTS: i64 = 0;

    /// BMI ×10 outside this range is a measurement error (the models accept 10.0–60.0).
    const BMI_X10_MIN: i64 = 100;
    const BMI_X10_MAX: i64 = 600;

    /// Earlier weighing for `weight_6m_ago`: the one nearest this many days before the
    /// latest check-up, within the window below (3 to 9 months).
    const WEIGHT_BASELINE_DAYS: i64 = 183;
    const WEIGHT_BASELINE_DAYS_MIN: i64 = 91;
    const WEIGHT_BASELINE_DAYS_MAX: i64 = 274;

    #[derive(Clone)]
    struct Checkup {
        day: i64,
        height_x10: Option<i64>,
        weight_x10: Option<i64>,
        ints: [Option<i64>; INTS.len()],
    }

    /// What the history features read of a check-up.
    #[derive(Clone, Copy)]
    struct Visit {
        day: i64,
        weight_x10: Option<i64>,
        sbp: Option<i64>,
        dbp: Option<i64>,
    }

    #[derive(Clone, Default)]
    struct Subject {
        latest: Option<Checkup>,
        /// (day, weight ×10) of every weighed check-up on or before `as_of`.
        weights: Vec<(i64, i64)>,
        /// The latest [`HISTORY_VISITS`] check-ups on or before `as_of`, latest first.
        visits: Vec<Visit>,
    }

    pub(super) fn columns() -> Vec<&'static str> {
        let mut c = vec!["exam_date", "height_cm", "weight_kg"];
        c.extend(INTS);
        c
    }

    pub(super) async fn load(
        store: &Store,
        unique: &Unique,
        as_of: Date,
    ) -> Result<Vec<Option<Vec<Option<i64>>>>, ConnectorError> {
        let columns = columns();
        let kinds = kinds_of(Department::Health, &columns)?;
        let as_of_day = as_of.to_days();
        let mut subjects = vec![Subject::default(); unique.keys.len()];
        for_each_row(store, "health_checkup", &columns, unique, |slot, row| {
            let cells = Cells {
                row,
                table: "health_checkup",
                columns: &columns,
                kinds: &kinds,
            };
            let day = cells.required_date(EXAM_DATE)?.to_days();
            if day > as_of_day {
                return Ok(());
            }
            let mut ints = [None; INTS.len()];
            for (i, v) in ints.iter_mut().enumerate() {
                *v = cells.int(INTS_FROM + i)?;
            }
            let checkup = Checkup {
                day,
                height_x10: cells.tenths(HEIGHT)?,
                weight_x10: cells.tenths(WEIGHT)?,
                ints,
            };
            let Some(s) = subjects.get_mut(slot) else {
                return Ok(());
            };
            if let Some(w) = checkup.weight_x10 {
                s.weights.push((day, w));
            }
            let visit = Visit {
                day,
                weight_x10: checkup.weight_x10,
                sbp: checkup.ints.get(SBP).copied().flatten(),
                dbp: checkup.ints.get(DBP).copied().flatten(),
            };
            keep_latest(&mut s.visits, visit, HISTORY_VISITS, |v| v.day);
            if s.latest.as_ref().is_none_or(|l| l.day < day) {
                s.latest = Some(checkup);
            }
            Ok(())
        })
        .await?;
        subjects
            .iter()
            .map(|s| {
                s.latest
                    .as_ref()
                    .map(|l| features(l, &s.weights, &s.visits, as_of_day))
                    .transpose()
            })
            .collect()
    }

    fn features(
        latest: &Checkup,
        weights: &[(i64, i64)],
        visits: &[Visit],
        as_of_day: i64,
    ) -> Result<Vec<Option<i64>>, ConnectorError> {
        let item = |i: usize| latest.ints.get(i).copied().flatten();
        let mut v = Vec::with_capacity(NATURAL.len());
        for (k, points) in MORSE_POINTS.iter().enumerate() {
            let code = match item(MORSE_FROM + k) {
                None => None,
                Some(p) => Some(code_of(points, p).ok_or_else(|| {
                    ConnectorError::Corrupt(format!(
                        "health_checkup.{} holds {p}, not one of {points:?}",
                        INTS[MORSE_FROM + k]
                    ))
                })?),
            };
            v.push(code);
        }
        for k in 0..8 {
            // "Don't know" (stored empty) is not scored by the AD8: 0.
            v.push(Some(item(AD8_FROM + k).unwrap_or(0)));
        }
        v.push(item(MMSE));
        for k in 0..6 {
            v.push(item(BRADEN_FROM + k));
        }
        v.push(item(MNA_INTAKE));
        v.push(item(MNA_WEIGHT_LOSS));
        v.push(item(MNA_MOBILITY));
        v.push(item(MNA_STRESS).map(|p| i64::from(p == MNA_STRESS_YES_POINTS)));
        v.push(item(MNA_NEURO));
        v.push(
            latest
                .height_x10
                .zip(latest.weight_x10)
                .and_then(|(h, w)| bmi_x10(h, w)),
        );
        // Calf circumference: stored by no department.
        v.push(None);
        v.push(item(FALLS));
        v.push(latest.weight_x10);
        v.push(weight_baseline(latest.day, weights));
        let mut recent = visits.iter().filter(|c| is_history(c.day, as_of_day));
        for _ in 0..HISTORY_VISITS {
            match recent.next() {
                Some(c) => v.extend([whole_months(c.day, as_of_day), c.weight_x10, c.sbp, c.dbp]),
                None => v.extend([None; 4]),
            }
        }
        Ok(v)
    }

    fn code_of(points: &[i64], p: i64) -> Option<i64> {
        points
            .iter()
            .position(|x| *x == p)
            .and_then(|i| i64::try_from(i).ok())
    }

    /// BMI in 0.1 kg/m² from height and weight in tenths (cm, kg), rounded half up:
    /// BMI = (w/10) / (h/1000)² = w·10⁵/h², so BMI×10 = w·10⁶/h². Exact in i128.
    pub(super) fn bmi_x10(height_x10: i64, weight_x10: i64) -> Option<i64> {
        let h2 = i128::from(height_x10).checked_mul(i128::from(height_x10))?;
        if h2 <= 0 || weight_x10 < 0 {
            return None;
        }
        let num = i128::from(weight_x10)
            .checked_mul(2_000_000)?
            .checked_add(h2)?;
        let bmi = i64::try_from(num / (2 * h2)).ok()?;
        (BMI_X10_MIN..=BMI_X10_MAX).contains(&bmi).then_some(bmi)
    }

    /// The weight of the weighing nearest [`WEIGHT_BASELINE_DAYS`] before `now_day`, inside
    /// the window; on a tie the later one.
    fn weight_baseline(now_day: i64, weights: &[(i64, i64)]) -> Option<i64> {
        weights
            .iter()
            .filter(|(day, _)| {
                (WEIGHT_BASELINE_DAYS_MIN..=WEIGHT_BASELINE_DAYS_MAX).contains(&(now_day - day))
            })
            .min_by_key(|(day, _)| ((now_day - day - WEIGHT_BASELINE_DAYS).abs(), -day))
            .map(|(_, w)| *w)
    }
}

mod insurance {
    //! Medical insurance: ICD-10 condition bits and hospital stays from claims.

    use super::*;

    /// An ICD-10 code set entry: categories `letter cat_lo..=cat_hi`, and if `sub` is set,
    /// only codes whose fourth character lies in it.
    #[derive(Clone, Copy)]
    pub(super) struct Pattern {
        letter: u8,
        cat_lo: u8,
        cat_hi: u8,
        sub: Option<(u8, u8)>,
    }

    /// Categories `l lo`–`l hi` (e.g. I60–I69), any fourth character.
    const fn cats(letter: u8, lo: u8, hi: u8) -> Pattern {
        Pattern {
            letter,
            cat_lo: lo,
            cat_hi: hi,
            sub: None,
        }
    }
    /// One category `l cat`.
    const fn cat(letter: u8, cat: u8) -> Pattern {
        cats(letter, cat, cat)
    }
    /// `l cat.lo`–`l cat.hi` (e.g. I42.5–I42.9).
    const fn subs(letter: u8, cat: u8, lo: u8, hi: u8) -> Pattern {
        Pattern {
            letter,
            cat_lo: cat,
            cat_hi: cat,
            sub: Some((lo, hi)),
        }
    }
    /// One code `l cat.sub`.
    const fn sub(letter: u8, cat: u8, s: u8) -> Pattern {
        subs(letter, cat, s, s)
    }
    /// Categories `l lo`–`l hi` with fourth character `s_lo`–`s_hi`.
    const fn cats_subs(letter: u8, lo: u8, hi: u8, s_lo: u8, s_hi: u8) -> Pattern {
        Pattern {
            letter,
            cat_lo: lo,
            cat_hi: hi,
            sub: Some((s_lo, s_hi)),
        }
    }

    /// Feature name and code list, in feature order; the 17 Charlson lists are Quan 2005
    /// as in `assessment-instruments.md` and the models' input docs.
    pub(super) const CONDITIONS: [(&str, &[Pattern]); 19] = [
        ("icd_dementia", &[cats(b'F', 0, 3)]),
        ("icd_mental_disorder", &[cats(b'F', 4, 99)]),
        (
            "cci_myocardial_infarction",
            &[cats(b'I', 21, 22), sub(b'I', 25, 2)],
        ),
        (
            "cci_heart_failure",
            &[
                cat(b'I', 43),
                cat(b'I', 50),
                sub(b'I', 9, 9),
                sub(b'I', 11, 0),
                sub(b'I', 13, 0),
                sub(b'I', 13, 2),
                sub(b'I', 25, 5),
                sub(b'I', 42, 0),
                subs(b'I', 42, 5, 9),
                sub(b'P', 29, 0),
            ],
        ),
        (
            "cci_peripheral_vascular",
            &[
                cats(b'I', 70, 71),
                sub(b'I', 73, 1),
                subs(b'I', 73, 8, 9),
                sub(b'I', 77, 1),
                sub(b'I', 79, 0),
                sub(b'I', 79, 2),
                sub(b'K', 55, 1),
                subs(b'K', 55, 8, 9),
                subs(b'Z', 95, 8, 9),
            ],
        ),
        (
            "cci_cerebrovascular",
            &[cats(b'G', 45, 46), sub(b'H', 34, 0), cats(b'I', 60, 69)],
        ),
        (
            "cci_dementia",
            &[
                cats(b'F', 0, 3),
                sub(b'F', 5, 1),
                cat(b'G', 30),
                sub(b'G', 31, 1),
            ],
        ),
        (
            "cci_pulmonary",
            &[
                subs(b'I', 27, 8, 9),
                cats(b'J', 40, 47),
                cats(b'J', 60, 67),
                sub(b'J', 68, 4),
                sub(b'J', 70, 1),
                sub(b'J', 70, 3),
            ],
        ),
        (
            "cci_rheumatic",
            &[
                cats(b'M', 5, 6),
                sub(b'M', 31, 5),
                cats(b'M', 32, 34),
                sub(b'M', 35, 1),
                sub(b'M', 35, 3),
                sub(b'M', 36, 0),
            ],
        ),
        ("cci_peptic_ulcer", &[cats(b'K', 25, 28)]),
        (
            "cci_liver_mild",
            &[
                cat(b'B', 18),
                subs(b'K', 70, 0, 3),
                sub(b'K', 70, 9),
                subs(b'K', 71, 3, 5),
                sub(b'K', 71, 7),
                cats(b'K', 73, 74),
                sub(b'K', 76, 0),
                subs(b'K', 76, 2, 4),
                subs(b'K', 76, 8, 9),
                sub(b'Z', 94, 4),
            ],
        ),
        (
            "cci_diabetes",
            &[
                cats_subs(b'E', 10, 14, 0, 1),
                cats_subs(b'E', 10, 14, 6, 6),
                cats_subs(b'E', 10, 14, 8, 9),
            ],
        ),
        (
            "cci_diabetes_complicated",
            &[cats_subs(b'E', 10, 14, 2, 5), cats_subs(b'E', 10, 14, 7, 7)],
        ),
        (
            "cci_hemiplegia",
            &[
                sub(b'G', 4, 1),
                sub(b'G', 11, 4),
                subs(b'G', 80, 1, 2),
                cats(b'G', 81, 82),
                subs(b'G', 83, 0, 4),
                sub(b'G', 83, 9),
            ],
        ),
        (
            "cci_renal",
            &[
                sub(b'I', 12, 0),
                sub(b'I', 13, 1),
                subs(b'N', 3, 2, 7),
                subs(b'N', 5, 2, 7),
                cats(b'N', 18, 19),
                sub(b'N', 25, 0),
                subs(b'Z', 49, 0, 2),
                sub(b'Z', 94, 0),
                sub(b'Z', 99, 2),
            ],
        ),
        (
            "cci_malignancy",
            &[
                cats(b'C', 0, 26),
                cats(b'C', 30, 34),
                cats(b'C', 37, 41),
                cat(b'C', 43),
                cats(b'C', 45, 58),
                cats(b'C', 60, 76),
                cats(b'C', 81, 85),
                cat(b'C', 88),
                cats(b'C', 90, 97),
            ],
        ),
        (
            "cci_liver_severe",
            &[
                sub(b'I', 85, 0),
                sub(b'I', 85, 9),
                sub(b'I', 86, 4),
                sub(b'I', 98, 2),
                sub(b'K', 70, 4),
                sub(b'K', 71, 1),
                sub(b'K', 72, 1),
                sub(b'K', 72, 9),
                subs(b'K', 76, 5, 7),
            ],
        ),
        ("cci_metastatic", &[cats(b'C', 77, 80)]),
        ("cci_aids", &[cats(b'B', 20, 22), cat(b'B', 24)]),
    ];

    /// The Charlson conditions: `CONDITIONS[CCI_FROM..]`.
    pub(super) const CCI_FROM: usize = 2;

    /// `cci_<c>_first_months` per Charlson condition, in `CONDITIONS[CCI_FROM..]` order (a
    /// test checks the names).
    pub(super) const FIRST_MONTHS: [&str; 17] = [
        "cci_myocardial_infarction_first_months",
        "cci_heart_failure_first_months",
        "cci_peripheral_vascular_first_months",
        "cci_cerebrovascular_first_months",
        "cci_dementia_first_months",
        "cci_pulmonary_first_months",
        "cci_rheumatic_first_months",
        "cci_peptic_ulcer_first_months",
        "cci_liver_mild_first_months",
        "cci_diabetes_first_months",
        "cci_diabetes_complicated_first_months",
        "cci_hemiplegia_first_months",
        "cci_renal_first_months",
        "cci_malignancy_first_months",
        "cci_liver_severe_first_months",
        "cci_metastatic_first_months",
        "cci_aids_first_months",
    ];

    /// Days since a condition's first claim are clamped to this (a hundred years: the
    /// models' range; a claim cannot be older than the person).
    const FIRST_MONTHS_MAX: i64 = HISTORY_MONTHS_MAX;

    pub(super) const NATURAL: [&str; 20 + FIRST_MONTHS.len()] = {
        let mut n = [""; 20 + FIRST_MONTHS.len()];
        let mut i = 0;
        while i < CONDITIONS.len() {
            n[i] = CONDITIONS[i].0;
            i += 1;
        }
        n[19] = "hospital_stays_since_last";
        let mut k = 0;
        while k < FIRST_MONTHS.len() {
            n[20 + k] = FIRST_MONTHS[k];
            k += 1;
        }
        n
    };

    /// `hospital_stays_since_last` counts inpatient admissions in this many days up to and
    /// including `as_of`.
    const HOSPITAL_STAY_WINDOW_DAYS: i64 = 365;
    /// Claim setting code of an inpatient stay.
    const INPATIENT: &str = "2";

    const SETTING: usize = 0;
    const ADMIT_DATE: usize = 1;
    const DIAGNOSES: usize = 2;
    const COLUMNS: [&str; 3] = ["setting", "admit_date", "diagnoses"];

    #[derive(Clone, Copy, Default)]
    struct Subject {
        claimed: bool,
        conditions: u32,
        stays: i64,
        /// Per condition, the earliest admission day of a claim that matched it.
        first_day: [Option<i64>; CONDITIONS.len()],
    }

    /// A canonical code split into letter, category (two digits) and fourth character.
    pub(super) struct Code {
        letter: u8,
        cat: u8,
        sub: Option<u8>,
    }

    /// Parses a stored code; stored codes are canonical (`crate::icd10`), anything else is
    /// corrupt.
    pub(super) fn parse(raw: &str) -> Option<Code> {
        let canonical = match icd10::normalise(raw) {
            Icd10::Canonical(c) | Icd10::Normalised(c) => c,
            Icd10::Invalid => return None,
        };
        let b = canonical.as_bytes();
        let digit = |i: usize| b.get(i).filter(|c| c.is_ascii_digit()).map(|c| c - b'0');
        Some(Code {
            letter: *b.first()?,
            cat: digit(1)? * 10 + digit(2)?,
            sub: digit(4),
        })
    }

    fn matches(p: &Pattern, c: &Code) -> bool {
        p.letter == c.letter
            && (p.cat_lo..=p.cat_hi).contains(&c.cat)
            && p.sub
                .is_none_or(|(lo, hi)| c.sub.is_some_and(|s| (lo..=hi).contains(&s)))
    }

    /// Bit `i` set where the code belongs to `CONDITIONS[i]`.
    pub(super) fn condition_bits(c: &Code) -> u32 {
        CONDITIONS
            .iter()
            .enumerate()
            .filter(|(_, (_, patterns))| patterns.iter().any(|p| matches(p, c)))
            .fold(0, |bits, (i, _)| bits | (1 << i))
    }

    pub(super) async fn load(
        store: &Store,
        unique: &Unique,
        as_of: Date,
    ) -> Result<Vec<Option<Vec<Option<i64>>>>, ConnectorError> {
        let kinds = kinds_of(Department::MedicalInsurance, &COLUMNS)?;
        let as_of_day = as_of.to_days();
        let mut subjects = vec![Subject::default(); unique.keys.len()];
        for_each_row(store, "insurance_claim", &COLUMNS, unique, |slot, row| {
            let cells = Cells {
                row,
                table: "insurance_claim",
                columns: &COLUMNS,
                kinds: &kinds,
            };
            let day = cells.required_date(ADMIT_DATE)?.to_days();
            if day > as_of_day {
                return Ok(());
            }
            let Some(s) = subjects.get_mut(slot) else {
                return Ok(());
            };
            s.claimed = true;
            if cells.text(SETTING)?.as_deref() == Some(INPATIENT)
                && as_of_day - day < HOSPITAL_STAY_WINDOW_DAYS
            {
                s.stays += 1;
            }
            if let Some(list) = cells.text(DIAGNOSES)? {
                for raw in list.split(';') {
                    let code = parse(raw).ok_or_else(|| {
                        cells.corrupt(DIAGNOSES, format!("holds '{raw}', not an ICD-10 code"))
                    })?;
                    let bits = condition_bits(&code);
                    s.conditions |= bits;
                    for (i, first) in s.first_day.iter_mut().enumerate() {
                        if bits & (1 << i) != 0 && first.is_none_or(|f| day < f) {
                            *first = Some(day);
                        }
                    }
                }
            }
            Ok(())
        })
        .await?;
        Ok(subjects
            .iter()
            .map(|s| {
                s.claimed.then(|| {
                    let mut v: Vec<Option<i64>> = (0..CONDITIONS.len())
                        .map(|i| Some(i64::from((s.conditions >> i) & 1)))
                        .collect();
                    v.push(Some(s.stays));
                    v.extend(s.first_day.iter().skip(CCI_FROM).map(|first| {
                        first.and_then(|day| {
                            whole_months(day, as_of_day).map(|m| m.min(FIRST_MONTHS_MAX))
                        })
                    }));
                    v
                })
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_sorted_unique_and_cover_the_natural_order() {
        for d in Department::ALL {
            let names = feature_names(d);
            let mut sorted = names.to_vec();
            sorted.sort_unstable();
            sorted.dedup();
            assert_eq!(sorted, names, "{d}: sorted and unique");
            let l = layout(d);
            for (i, &at) in l.position.iter().enumerate() {
                assert!(at < names.len(), "{d}: natural {i}");
            }
        }
        assert_eq!(feature_names(Department::CivilAffairs).len(), 31 + 16);
        assert_eq!(feature_names(Department::Health).len(), 31 + 16);
        assert_eq!(feature_names(Department::MedicalInsurance).len(), 20 + 17);
    }

    #[test]
    fn first_months_names_follow_the_charlson_conditions() {
        let cci = &insurance::CONDITIONS[insurance::CCI_FROM..];
        assert_eq!(cci.len(), insurance::FIRST_MONTHS.len());
        for ((condition, _), name) in cci.iter().zip(insurance::FIRST_MONTHS) {
            assert!(condition.starts_with("cci_"), "{condition}");
            assert_eq!(format!("{condition}_first_months"), name);
        }
    }

    #[test]
    fn keep_latest_keeps_the_latest_in_order() {
        let mut kept = Vec::new();
        for day in [5, 1, 9, 3, 7, 2] {
            keep_latest(&mut kept, day, 3, |d| *d);
        }
        assert_eq!(kept, [9, 7, 5]);
    }

    #[test]
    fn every_read_column_is_in_the_schema() {
        for (d, cols) in [
            (Department::CivilAffairs, civil::columns()),
            (Department::Health, health::columns()),
            (
                Department::MedicalInsurance,
                vec!["setting", "admit_date", "diagnoses"],
            ),
        ] {
            kinds_of(d, &cols).expect("columns exist");
        }
    }

    #[test]
    fn debug_shows_no_values() {
        let t = FeatureTable {
            names: vec!["mmse_total"],
            rows: vec![Some(vec![Some(23)]), None],
        };
        let shown = format!("{t:?}");
        assert!(!shown.contains("23"), "{shown}");
        assert!(shown.contains("subjects: 2"), "{shown}");
    }

    #[test]
    fn ages_in_whole_years() {
        let d = |y, m, dd| Date::new(y, m, dd).expect("valid");
        for (birth, on, want) in [
            (d(1950, 6, 30), d(2026, 6, 30), Some(76)),
            (d(1950, 7, 1), d(2026, 6, 30), Some(75)),
            (d(1948, 2, 29), d(2026, 2, 28), Some(77)),
            (d(1948, 2, 29), d(2026, 3, 1), Some(78)),
            (d(1948, 2, 29), d(2028, 2, 29), Some(80)),
            (d(2026, 7, 1), d(2026, 6, 30), None),
            (d(2026, 6, 30), d(2026, 6, 30), Some(0)),
        ] {
            assert_eq!(civil::age_years(birth, on), want, "{birth} → {on}");
        }
    }

    #[test]
    fn bmi_is_rounded_half_up_in_integers() {
        // 70.0 kg, 175.0 cm: 22.857… → 22.9.
        assert_eq!(health::bmi_x10(1750, 700), Some(229));
        // 64.0 kg at 160.0 cm is 25.0 exactly.
        assert_eq!(health::bmi_x10(1600, 640), Some(250));
        // 62.5 kg at 200.0 cm: 15.625 → 15.6; 62.6 kg: 15.65 → 15.7 (half up).
        assert_eq!(health::bmi_x10(2000, 625), Some(156));
        assert_eq!(health::bmi_x10(2000, 626), Some(157));
        // 25.0 kg at 210.0 cm is 5.7: not a plausible body.
        assert_eq!(health::bmi_x10(2100, 250), None);
        assert_eq!(health::bmi_x10(0, 700), None);
    }

    #[test]
    fn codes_match_by_prefix_on_the_normalised_form() {
        let bits = |raw: &str| -> Vec<&str> {
            let c = insurance::parse(raw).expect("a code");
            let b = insurance::condition_bits(&c);
            insurance::CONDITIONS
                .iter()
                .enumerate()
                .filter(|(i, _)| b & (1 << i) != 0)
                .map(|(_, (n, _))| *n)
                .collect()
        };
        assert_eq!(bits("F03"), ["icd_dementia", "cci_dementia"]);
        assert_eq!(bits("F05.1"), ["icd_mental_disorder", "cci_dementia"]);
        assert_eq!(bits("F32.9"), ["icd_mental_disorder"]);
        assert_eq!(bits("I25.2"), ["cci_myocardial_infarction"]);
        assert!(bits("I25").is_empty(), "I25.2 needs the fourth character");
        assert!(bits("I25.1").is_empty());
        assert_eq!(bits("I21.4"), ["cci_myocardial_infarction"]);
        assert_eq!(bits("i219"), ["cci_myocardial_infarction"]);
        assert_eq!(bits("I42.7"), ["cci_heart_failure"]);
        assert!(bits("I42.4").is_empty());
        assert_eq!(bits("E11.9"), ["cci_diabetes"]);
        assert_eq!(bits("E14.7"), ["cci_diabetes_complicated"]);
        assert!(
            bits("E11").is_empty(),
            "diabetes needs the fourth character"
        );
        assert!(bits("E15.9").is_empty());
        assert_eq!(bits("C78.0"), ["cci_metastatic"]);
        assert_eq!(bits("C80"), ["cci_metastatic"]);
        assert_eq!(bits("C81.1"), ["cci_malignancy"]);
        assert!(
            bits("C44.9").is_empty(),
            "C44 (other skin) is not in the list"
        );
        assert_eq!(bits("N18.3"), ["cci_renal"]);
        assert_eq!(bits("K76.6"), ["cci_liver_severe"]);
        assert_eq!(bits("K76.8"), ["cci_liver_mild"]);
        assert_eq!(bits("B24"), ["cci_aids"]);
        assert!(bits("B23").is_empty());
        assert_eq!(bits("I69.3"), ["cci_cerebrovascular"]);
        assert_eq!(bits("G04.1"), ["cci_hemiplegia"]);
        assert_eq!(bits("I13.2"), ["cci_heart_failure"]);
        assert!(bits("I10").is_empty());
        assert!(insurance::parse("高血压").is_none());
    }
}
