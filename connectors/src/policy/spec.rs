//! Policy specs: parsing the TOML, validating it into a [`PolicySpec`], its canonical byte
//! encoding ([`PolicySpec::canonical_bytes`]) and its id ([`PolicyId`], SM3 of those bytes).
//!
//! Validation errors name the field as a path (`terms[1].all[0].feature`) and say what to
//! do; TOML syntax errors, unknown keys and wrong types come from the TOML reader with their
//! line and column. Nothing here panics on any input.

use std::collections::BTreeSet;
use std::fmt;

use serde::Deserialize;
use thiserror::Error;
use weinong_keys::sm3_digest;

use crate::error::ConnectorError;
use crate::features::feature_names;
use crate::icd10::{self, Icd10};
use crate::schema::Department;

/// Largest policy file (bytes).
pub const POLICY_BYTES_MAX: usize = 64 * 1024;
/// Longest policy name (characters of `[a-z0-9-]`).
pub const NAME_CHARS_MAX: usize = 64;
/// Longest title (characters).
pub const TITLE_CHARS_MAX: usize = 200;
/// Conditions in one term.
pub const CONDITIONS_MAX: usize = 32;
/// Values in one `in` list, prefixes in one `diagnosis` list.
pub const LIST_MAX: usize = 64;
/// Largest `within_months` (a hundred years).
pub const WITHIN_MONTHS_MAX: i64 = 1200;

/// The version tag the canonical encoding starts with; a change of encoding is a new tag.
const CANONICAL_TAG: &str = "weinong-policy/1";

/// Everything that can go wrong reading, validating or evaluating a policy.
#[derive(Debug, Error)]
pub enum PolicyError {
    /// Not a well-formed policy file: TOML syntax, an unknown key, a missing key or a wrong
    /// type (the reader's message names the line and column).
    #[error("policy TOML: {0}")]
    Toml(String),
    /// A value that does not fit the policy language.
    #[error("policy field {field}: {message}")]
    Invalid {
        /// Where: a path such as `terms[1].all[0].op`.
        field: String,
        /// What is wrong and what to do.
        message: String,
    },
    /// A feature the department does not provide.
    #[error(
        "policy field {field}: {department} has no feature '{name}'{}",
        close_hint(.close)
    )]
    UnknownFeature {
        /// Where.
        field: String,
        /// The term's department.
        department: Department,
        /// The name given.
        name: String,
        /// Names of that department's features (or attributes) close to it.
        close: Vec<&'static str>,
    },
    /// A malformed policy id (not 64 hex characters).
    #[error("policy id: {0}")]
    BadId(String),
    /// Evaluation asked for something the spec or the caller did not provide.
    #[error("policy evaluation: {0}")]
    Evaluation(String),
    /// Reading a department store failed.
    #[error(transparent)]
    Store(#[from] ConnectorError),
}

fn close_hint(close: &[&'static str]) -> String {
    if close.is_empty() {
        "; see connectors::features::feature_names and policy::attribute_names for the list"
            .to_string()
    } else {
        format!("; did you mean {}?", close.join(", "))
    }
}

fn invalid(field: impl Into<String>, message: impl Into<String>) -> PolicyError {
    PolicyError::Invalid {
        field: field.into(),
        message: message.into(),
    }
}

weinong_keys::digest_id! {
    /// A policy id: SM3 of the validated spec's canonical bytes
    /// ([`PolicySpec::canonical_bytes`]). Independent of the TOML's formatting, key order,
    /// comments and the order of conditions within a term.
    ///
    /// Shown as 64 lower-case hex characters.
    pub struct PolicyId([u8; 32]);
    parse_error(PolicyError, |e| PolicyError::BadId(format!("64 hex characters expected: {e}")));
}

/// Why the receiver may learn the result (a closed list).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LegalBasis {
    /// A statute obliges the receiver to act on these subjects.
    StatutoryDuty,
    /// A task in the public interest (个人信息保护法 第十三条 (五)).
    PublicInterest,
    /// The subjects consented.
    Consent,
}

impl LegalBasis {
    /// The TOML spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            LegalBasis::StatutoryDuty => "statutory_duty",
            LegalBasis::PublicInterest => "public_interest",
            LegalBasis::Consent => "consent",
        }
    }

    fn parse(s: &str) -> Option<LegalBasis> {
        [
            LegalBasis::StatutoryDuty,
            LegalBasis::PublicInterest,
            LegalBasis::Consent,
        ]
        .into_iter()
        .find(|b| b.as_str() == s)
    }
}

/// What the receiver learns.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Mode {
    /// The subjects (pseudonyms) themselves.
    Intersection,
    /// Only how many there are (exactly one other department).
    Cardinality,
}

impl Mode {
    /// The TOML spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            Mode::Intersection => "intersection",
            Mode::Cardinality => "cardinality",
        }
    }
}

/// How a later term's set is combined with the running result.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Combine {
    /// Intersection (∩).
    And,
    /// Difference (\): keep those *not* in the term's set.
    AndNot,
}

impl Combine {
    /// The TOML spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            Combine::And => "and",
            Combine::AndNot => "and_not",
        }
    }
}

/// A comparison operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Op {
    /// `=`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

impl Op {
    const ALL: [Op; 6] = [Op::Eq, Op::Ne, Op::Lt, Op::Le, Op::Gt, Op::Ge];

    /// The TOML spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            Op::Eq => "=",
            Op::Ne => "!=",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
        }
    }

    /// Whether `left op right` holds.
    pub fn holds(self, left: i64, right: i64) -> bool {
        match self {
            Op::Eq => left == right,
            Op::Ne => left != right,
            Op::Lt => left < right,
            Op::Le => left <= right,
            Op::Gt => left > right,
            Op::Ge => left >= right,
        }
    }
}

/// One condition of a term (module doc of [`crate::policy`] for the meanings).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Condition {
    /// `feature op value`; false where the value is unknown.
    Compare {
        /// A feature or attribute of the term's department.
        feature: &'static str,
        /// The operator.
        op: Op,
        /// The right-hand side.
        value: i64,
    },
    /// The value is one of `values` (sorted, distinct); false where unknown.
    In {
        /// A feature or attribute of the term's department.
        feature: &'static str,
        /// The accepted values.
        values: Vec<i64>,
    },
    /// Whether the value is known.
    Known {
        /// A feature or attribute of the term's department.
        feature: &'static str,
        /// `true`: known; `false`: unknown.
        known: bool,
    },
    /// A record fewer than `within_months` whole months before the date carries a code
    /// with one of `prefixes` (canonical ICD-10, sorted, distinct).
    Diagnosis {
        /// Canonical ICD-10 codes used as prefixes.
        prefixes: Vec<String>,
        /// The window, 1..=[`WITHIN_MONTHS_MAX`].
        within_months: i64,
    },
}

impl Condition {
    /// The feature or attribute the condition reads, if any.
    pub fn feature(&self) -> Option<&'static str> {
        match self {
            Condition::Compare { feature, .. }
            | Condition::In { feature, .. }
            | Condition::Known { feature, .. } => Some(feature),
            Condition::Diagnosis { .. } => None,
        }
    }

    /// Whether a feature value (`None`: unknown) satisfies a feature condition; `false` for
    /// a diagnosis condition.
    pub fn accepts(&self, value: Option<i64>) -> bool {
        match (self, value) {
            (Condition::Compare { op, value: rhs, .. }, Some(v)) => op.holds(v, *rhs),
            (Condition::In { values, .. }, Some(v)) => values.binary_search(&v).is_ok(),
            (Condition::Known { known, .. }, v) => v.is_some() == *known,
            _ => false,
        }
    }

    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Condition::Compare { feature, op, value } => {
                put_str(out, "compare");
                put_str(out, feature);
                put_str(out, op.as_str());
                put_int(out, *value);
            }
            Condition::In { feature, values } => {
                put_str(out, "in");
                put_str(out, feature);
                put_len(out, values.len());
                for v in values {
                    put_int(out, *v);
                }
            }
            Condition::Known { feature, known } => {
                put_str(out, "known");
                put_str(out, feature);
                put_str(out, if *known { "true" } else { "false" });
            }
            Condition::Diagnosis {
                prefixes,
                within_months,
            } => {
                put_str(out, "diagnosis");
                put_len(out, prefixes.len());
                for p in prefixes {
                    put_str(out, p);
                }
                put_int(out, *within_months);
            }
        }
    }
}

/// One department's predicate: the conjunction of its conditions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Term {
    department: Department,
    combine: Option<Combine>,
    conditions: Vec<Condition>,
}

impl Term {
    /// The department that evaluates it over its own store.
    pub fn department(&self) -> Department {
        self.department
    }

    /// How it combines with the running result; `None` for the receiver's (first) term.
    pub fn combine(&self) -> Option<Combine> {
        self.combine
    }

    /// Its conditions, sorted and distinct (at least one).
    pub fn conditions(&self) -> &[Condition] {
        &self.conditions
    }
}

/// A validated policy. Invariants: a `[a-z0-9-]` name of at most [`NAME_CHARS_MAX`]; the
/// first term is the receiver's and has no `combine`, every later term has one; at least
/// two terms, each department at most once; every term has 1..=[`CONDITIONS_MAX`]
/// conditions naming features its department provides; `Cardinality` only with exactly one
/// other department.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicySpec {
    name: String,
    title_zh: String,
    title_en: String,
    receiver: Department,
    legal_basis: LegalBasis,
    mode: Mode,
    terms: Vec<Term>,
}

// --- the TOML as written ------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSpec {
    name: String,
    title_zh: String,
    title_en: String,
    receiver: String,
    legal_basis: String,
    mode: String,
    terms: Vec<RawTerm>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTerm {
    department: String,
    combine: Option<String>,
    all: Vec<RawCondition>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCondition {
    feature: Option<String>,
    op: Option<String>,
    value: Option<i64>,
    #[serde(rename = "in")]
    in_: Option<Vec<i64>>,
    known: Option<bool>,
    diagnosis: Option<Vec<String>>,
    within_months: Option<i64>,
}

const CONDITION_FORMS: &str = "a condition is one of { feature = \"x\", op = \">=\", value = N }, \
     { feature = \"x\", in = [N, ...] }, { feature = \"x\", known = true }, \
     { diagnosis = [\"F03\", ...], within_months = N }";

/// Register fields a policy may read besides the features, per department: civil affairs'
/// `care_grade` (Shanghai unified care-needs grade 1–6) and `living_alone` (0/1) of the
/// latest assessment on or before the date, and `months_since_death` (whole months from the
/// death register's date to the evaluation date; unknown for the living and for a death
/// dated after it); medical insurance's `ltc_insured` (0/1) of the latest claim admitted on
/// or before it (several claims that day: the largest value).
/// Sorted; disjoint from the department's [`feature_names`] (a test checks it).
pub fn attribute_names(department: Department) -> &'static [&'static str] {
    match department {
        Department::CivilAffairs => &["care_grade", "living_alone", "months_since_death"],
        Department::Health => &[],
        Department::MedicalInsurance => &["ltc_insured"],
    }
}

/// How an attribute's value is read from its stored column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AttributeSource {
    /// An integer column of the same name.
    Int(&'static str),
    /// A date column: whole months from it to the evaluation date (unknown after it).
    MonthsSince(&'static str),
}

/// Where attribute `name` (one of [`attribute_names`]) comes from.
pub(crate) fn attribute_source(name: &str) -> Option<AttributeSource> {
    match name {
        "months_since_death" => Some(AttributeSource::MonthsSince("death_date")),
        "care_grade" => Some(AttributeSource::Int("care_grade")),
        "living_alone" => Some(AttributeSource::Int("living_alone")),
        "ltc_insured" => Some(AttributeSource::Int("ltc_insured")),
        _ => None,
    }
}

/// The department's stored diagnosis columns: (table, date column), if it holds diagnoses.
pub(crate) fn diagnosis_source(department: Department) -> Option<(&'static str, &'static str)> {
    match department {
        Department::CivilAffairs => None,
        Department::Health => Some(("health_checkup", "exam_date")),
        Department::MedicalInsurance => Some(("insurance_claim", "admit_date")),
    }
}

fn department_of(field: &str, s: &str) -> Result<Department, PolicyError> {
    s.parse::<Department>().map_err(|_| {
        invalid(
            field,
            format!("unknown department '{s}': use civil, health or insurance"),
        )
    })
}

fn check_title(field: &str, t: &str) -> Result<String, PolicyError> {
    let t = t.trim();
    if t.is_empty() {
        return Err(invalid(field, "empty: give a short title"));
    }
    if t.chars().count() > TITLE_CHARS_MAX {
        return Err(invalid(
            field,
            format!("longer than {TITLE_CHARS_MAX} characters: shorten it"),
        ));
    }
    if t.chars().any(char::is_control) {
        return Err(invalid(
            field,
            "contains a control character (line break, tab): use one line",
        ));
    }
    Ok(t.to_string())
}

/// Edit distance (for "did you mean"), on bytes: names are ASCII.
fn distance(a: &str, b: &str) -> usize {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = Vec::with_capacity(b.len() + 1);
        cur.push(i + 1);
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

fn close_names(department: Department, name: &str) -> Vec<&'static str> {
    let lower = name.to_ascii_lowercase();
    let mut scored: Vec<(usize, &'static str)> = feature_names(department)
        .iter()
        .chain(attribute_names(department))
        .filter_map(|&n| {
            let d = distance(&lower, n);
            let near = d <= (n.len() / 3).max(2)
                || (lower.len() >= 3 && (n.contains(lower.as_str()) || lower.contains(n)));
            near.then_some((d, n))
        })
        .collect();
    scored.sort_unstable();
    scored.into_iter().take(6).map(|(_, n)| n).collect()
}

fn resolve_feature(
    field: &str,
    department: Department,
    name: &str,
) -> Result<&'static str, PolicyError> {
    feature_names(department)
        .iter()
        .chain(attribute_names(department))
        .find(|n| **n == name)
        .copied()
        .ok_or_else(|| PolicyError::UnknownFeature {
            field: field.to_string(),
            department,
            name: name.to_string(),
            close: close_names(department, name),
        })
}

fn condition(
    field: &str,
    department: Department,
    raw: RawCondition,
) -> Result<Condition, PolicyError> {
    let RawCondition {
        feature,
        op,
        value,
        in_,
        known,
        diagnosis,
        within_months,
    } = raw;
    match (feature, op, value, in_, known, diagnosis, within_months) {
        (Some(f), Some(op), Some(value), None, None, None, None) => {
            let feature = resolve_feature(&format!("{field}.feature"), department, &f)?;
            let op = Op::ALL
                .into_iter()
                .find(|o| o.as_str() == op.trim())
                .ok_or_else(|| {
                    invalid(
                        format!("{field}.op"),
                        format!("unknown operator '{op}': use one of =, !=, <, <=, >, >="),
                    )
                })?;
            Ok(Condition::Compare { feature, op, value })
        }
        (Some(f), None, None, Some(values), None, None, None) => {
            let feature = resolve_feature(&format!("{field}.feature"), department, &f)?;
            if values.is_empty() || values.len() > LIST_MAX {
                return Err(invalid(
                    format!("{field}.in"),
                    format!("give 1 to {LIST_MAX} values"),
                ));
            }
            let values: BTreeSet<i64> = values.into_iter().collect();
            Ok(Condition::In {
                feature,
                values: values.into_iter().collect(),
            })
        }
        (Some(f), None, None, None, Some(known), None, None) => {
            let feature = resolve_feature(&format!("{field}.feature"), department, &f)?;
            Ok(Condition::Known { feature, known })
        }
        (None, None, None, None, None, Some(codes), Some(months)) => {
            if diagnosis_source(department).is_none() {
                return Err(invalid(
                    format!("{field}.diagnosis"),
                    format!(
                        "{department} holds no diagnoses: put the condition in a health or \
                         insurance term"
                    ),
                ));
            }
            if codes.is_empty() || codes.len() > LIST_MAX {
                return Err(invalid(
                    format!("{field}.diagnosis"),
                    format!("give 1 to {LIST_MAX} ICD-10 prefixes"),
                ));
            }
            let mut prefixes = BTreeSet::new();
            for (i, c) in codes.iter().enumerate() {
                match icd10::normalise(c) {
                    Icd10::Canonical(p) | Icd10::Normalised(p) => {
                        prefixes.insert(p);
                    }
                    Icd10::Invalid => {
                        return Err(invalid(
                            format!("{field}.diagnosis[{i}]"),
                            format!(
                                "'{c}' is not an ICD-10 code: use a letter and two digits, \
                                 optionally a dot and a fourth character (F03, F00.1)"
                            ),
                        ));
                    }
                }
            }
            if !(1..=WITHIN_MONTHS_MAX).contains(&months) {
                return Err(invalid(
                    format!("{field}.within_months"),
                    format!("{months} is out of range: use 1 to {WITHIN_MONTHS_MAX}"),
                ));
            }
            Ok(Condition::Diagnosis {
                prefixes: prefixes.into_iter().collect(),
                within_months: months,
            })
        }
        (None, None, None, None, None, Some(_), None) => Err(invalid(
            format!("{field}.within_months"),
            "missing: a diagnosis condition needs a window, e.g. within_months = 24",
        )),
        (Some(_), None, None, None, None, None, None) => Err(invalid(
            field,
            format!("a feature alone is no condition: {CONDITION_FORMS}"),
        )),
        (Some(_), Some(_), None, None, None, None, None) => Err(invalid(
            format!("{field}.value"),
            "missing: a comparison needs a value, e.g. value = 80",
        )),
        _ => Err(invalid(
            field,
            format!("this combination of keys is not a condition: {CONDITION_FORMS}"),
        )),
    }
}

impl PolicySpec {
    /// Parses and validates a policy file's text.
    pub fn from_toml(text: &str) -> Result<PolicySpec, PolicyError> {
        if text.len() > POLICY_BYTES_MAX {
            return Err(invalid(
                "(file)",
                format!(
                    "{} bytes is over the limit of {POLICY_BYTES_MAX}: a policy is a short file",
                    text.len()
                ),
            ));
        }
        let raw: RawSpec = toml::from_str(text).map_err(|e| PolicyError::Toml(e.to_string()))?;
        PolicySpec::validate(raw)
    }

    fn validate(raw: RawSpec) -> Result<PolicySpec, PolicyError> {
        let name = raw.name.trim().to_string();
        if name.is_empty()
            || name.len() > NAME_CHARS_MAX
            || !name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            || name.starts_with('-')
            || name.ends_with('-')
        {
            return Err(invalid(
                "name",
                format!(
                    "'{}' is not a policy name: use 1 to {NAME_CHARS_MAX} characters of a-z, 0-9 \
                     and '-', not starting or ending with '-'",
                    raw.name.chars().take(80).collect::<String>()
                ),
            ));
        }
        let title_zh = check_title("title_zh", &raw.title_zh)?;
        let title_en = check_title("title_en", &raw.title_en)?;
        let receiver = department_of("receiver", raw.receiver.trim())?;
        let legal_basis = LegalBasis::parse(raw.legal_basis.trim()).ok_or_else(|| {
            invalid(
                "legal_basis",
                format!(
                    "'{}' is not a legal basis: use statutory_duty, public_interest or consent",
                    raw.legal_basis
                ),
            )
        })?;
        let mode = match raw.mode.trim() {
            "intersection" => Mode::Intersection,
            "cardinality" => Mode::Cardinality,
            other => {
                return Err(invalid(
                    "mode",
                    format!("'{other}' is not a mode: use intersection or cardinality"),
                ));
            }
        };
        if raw.terms.len() < 2 {
            return Err(invalid(
                "terms",
                format!(
                    "{} term(s): a policy needs the receiver's term and at least one other \
                     department's",
                    raw.terms.len()
                ),
            ));
        }
        if raw.terms.len() > Department::ALL.len() {
            return Err(invalid(
                "terms",
                format!(
                    "{} terms: each department appears at most once, so at most {}",
                    raw.terms.len(),
                    Department::ALL.len()
                ),
            ));
        }
        if mode == Mode::Cardinality && raw.terms.len() != 2 {
            return Err(invalid(
                "mode",
                format!(
                    "cardinality needs exactly one department besides the receiver, not {}: \
                     use intersection or drop a term",
                    raw.terms.len() - 1
                ),
            ));
        }
        let mut terms = Vec::with_capacity(raw.terms.len());
        let mut seen = BTreeSet::new();
        for (t, raw_term) in raw.terms.into_iter().enumerate() {
            let at = format!("terms[{t}]");
            let department =
                department_of(&format!("{at}.department"), raw_term.department.trim())?;
            if t == 0 && department != receiver {
                return Err(invalid(
                    format!("{at}.department"),
                    format!(
                        "the first term must be the receiver's own ({receiver}), not \
                         {department}: move the receiver's term first"
                    ),
                ));
            }
            if !seen.insert(department) {
                return Err(invalid(
                    format!("{at}.department"),
                    format!(
                        "{department} appears twice: put all its conditions in one term's `all`"
                    ),
                ));
            }
            let combine = match (t, raw_term.combine.as_deref().map(str::trim)) {
                (0, None) => None,
                (0, Some(_)) => {
                    return Err(invalid(
                        format!("{at}.combine"),
                        "the receiver's (first) term has nothing to combine with: remove combine",
                    ));
                }
                (_, Some("and")) => Some(Combine::And),
                (_, Some("and_not")) => Some(Combine::AndNot),
                (_, Some(other)) => {
                    return Err(invalid(
                        format!("{at}.combine"),
                        format!("'{other}' is not a combination: use \"and\" or \"and_not\""),
                    ));
                }
                (_, None) => {
                    return Err(invalid(
                        format!("{at}.combine"),
                        "missing: say combine = \"and\" (∩) or \"and_not\" (\\)",
                    ));
                }
            };
            if raw_term.all.is_empty() || raw_term.all.len() > CONDITIONS_MAX {
                return Err(invalid(
                    format!("{at}.all"),
                    format!(
                        "{} condition(s): give 1 to {CONDITIONS_MAX}",
                        raw_term.all.len()
                    ),
                ));
            }
            let mut conditions = BTreeSet::new();
            for (c, raw_condition) in raw_term.all.into_iter().enumerate() {
                conditions.insert(condition(
                    &format!("{at}.all[{c}]"),
                    department,
                    raw_condition,
                )?);
            }
            terms.push(Term {
                department,
                combine,
                conditions: conditions.into_iter().collect(),
            });
        }
        Ok(PolicySpec {
            name,
            title_zh,
            title_en,
            receiver,
            legal_basis,
            mode,
            terms,
        })
    }

    /// The policy's name (`[a-z0-9-]`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Chinese title.
    pub fn title_zh(&self) -> &str {
        &self.title_zh
    }

    /// English title.
    pub fn title_en(&self) -> &str {
        &self.title_en
    }

    /// The department that learns the result.
    pub fn receiver(&self) -> Department {
        self.receiver
    }

    /// Why it may.
    pub fn legal_basis(&self) -> LegalBasis {
        self.legal_basis
    }

    /// What it learns.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// All terms, the receiver's first.
    pub fn terms(&self) -> &[Term] {
        &self.terms
    }

    /// The receiver's own term.
    pub fn receiver_term(&self) -> &Term {
        // Invariant: at least two terms (validated).
        &self.terms[0]
    }

    /// The other departments' terms with how each combines, in evaluation order.
    pub fn other_terms(&self) -> impl Iterator<Item = (Combine, &Term)> {
        self.terms
            .iter()
            .skip(1)
            .map(|t| (t.combine.unwrap_or(Combine::And), t))
    }

    /// The canonical encoding: a version tag, then every field as a length-prefixed (u32
    /// big-endian) UTF-8 string or an 8-byte big-endian integer, in a fixed order; a
    /// term's conditions sorted and distinct, lists sorted and distinct, ICD-10 prefixes
    /// canonical. Independent of the TOML's formatting, key order and comments.
    pub fn canonical_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(256);
        put_str(&mut out, CANONICAL_TAG);
        put_str(&mut out, &self.name);
        put_str(&mut out, &self.title_zh);
        put_str(&mut out, &self.title_en);
        put_str(&mut out, self.receiver.short_name());
        put_str(&mut out, self.legal_basis.as_str());
        put_str(&mut out, self.mode.as_str());
        put_len(&mut out, self.terms.len());
        for t in &self.terms {
            put_str(&mut out, t.department.short_name());
            put_str(&mut out, t.combine.map_or("", Combine::as_str));
            put_len(&mut out, t.conditions.len());
            for c in &t.conditions {
                c.encode(&mut out);
            }
        }
        out
    }

    /// SM3 of [`canonical_bytes`](Self::canonical_bytes).
    pub fn id(&self) -> PolicyId {
        PolicyId::from_bytes(sm3_digest(&self.canonical_bytes()))
    }
}

impl fmt::Display for PolicySpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name, self.title_en)
    }
}

fn put_len(out: &mut Vec<u8>, n: usize) {
    // Lengths are bounded by the validation limits (and the 64 KiB file), far below u32.
    out.extend_from_slice(&u32::try_from(n).unwrap_or(u32::MAX).to_be_bytes());
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    put_len(out, s.len());
    out.extend_from_slice(s.as_bytes());
}

fn put_int(out: &mut Vec<u8>, v: i64) {
    out.extend_from_slice(&v.to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_are_not_features() {
        for d in Department::ALL {
            let a = attribute_names(d);
            assert!(a.windows(2).all(|w| w[0] < w[1]), "{d}: sorted");
            for n in a {
                assert!(!feature_names(d).contains(n), "{d}: {n} is a feature");
                assert!(attribute_source(n).is_some(), "{d}: {n} has no source");
            }
        }
    }

    #[test]
    fn close_names_suggest() {
        let close = close_names(Department::CivilAffairs, "age");
        assert!(close.contains(&"age_years"), "{close:?}");
        let close = close_names(Department::CivilAffairs, "living_alon");
        assert_eq!(close.first(), Some(&"living_alone"));
    }

    #[test]
    fn ops_hold() {
        assert!(Op::Ge.holds(80, 80) && !Op::Gt.holds(80, 80));
        assert!(Op::Ne.holds(1, 2) && Op::Eq.holds(2, 2));
        let c = Condition::Compare {
            feature: "age_years",
            op: Op::Ne,
            value: 1,
        };
        assert!(!c.accepts(None), "unknown never satisfies a comparison");
        let k = Condition::Known {
            feature: "age_years",
            known: false,
        };
        assert!(k.accepts(None) && !k.accepts(Some(3)));
    }
}
