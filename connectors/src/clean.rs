//! The cleaning rules: one raw row in canonical field order in, a clean row or a rejection
//! out, with every correction recorded as an event so the quality report can count it.
//!
//! Per-row work is independent (it runs in parallel); duplicate detection needs the order
//! of the file and happens afterwards in [`crate::import`]. Order of the checks, which
//! decides which rule a problem is counted under:
//!
//! 1. exact duplicate of an earlier raw row → dropped (`duplicate_exact`);
//! 2. ID number missing → rejected (`missing_rejected`), invalid → rejected (`id_invalid`);
//! 3. another required field missing → rejected (`missing_rejected`);
//! 4. each field normalised (dates, units, ICD-10, ranges, missing-value policies);
//!    a required date that does not parse → rejected (`date_invalid`);
//! 5. duplicate of an earlier stored row by the table's key → dropped (`duplicate_fuzzy`).
//!
//! Field-level counts are taken over stored rows only: a row that is later rejected or
//! dropped contributes its rejection or its duplicate, nothing else.

use std::collections::HashMap;
use std::hash::Hasher;

use rayon::prelude::*;

use siphasher::sip128::{Hasher128, SipHasher13};

use weinong_keys::{Pepper, PseudonymKey, ResidentId, Sex, SubjectPseudonym};

use crate::date::{Date, DateForm};
use crate::icd10::{self, Icd10};
use crate::identity::Identity;
use crate::limits::{IDENTITY_BYTES_MAX, PSEUDONYM_MEMO_PEOPLE_MAX, TEXT_CHARS_MAX};
use crate::schema::{DedupKey, FieldKind, FieldSpec, Imputation, MissingPolicy, TableSpec, Unit};
use crate::source::Fields;

/// The cleaning rules, in report order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Rule {
    /// A row identical to an earlier one (before any normalisation): dropped.
    DuplicateExact,
    /// A row with the same key as an earlier stored row (same ID; or same name + birth date
    /// + district; or the same event key): dropped, the first is kept.
    DuplicateFuzzy,
    /// An ID number failing GB 11643 (length, characters, birth date, check digit): rejected.
    IdInvalid,
    /// A birth date column disagreeing with the ID number: replaced by the ID's date.
    BirthDateMismatch,
    /// A date written in another accepted form: rewritten as `YYYY-MM-DD`.
    DateFormat,
    /// A date that does not parse: NULL, or the row is rejected when the date is required.
    DateInvalid,
    /// A measurement in another unit (斤, m): converted to kg or cm.
    UnitConverted,
    /// An ICD-10 code in a non-canonical form: rewritten.
    Icd10Normalised,
    /// A value in a diagnosis list that is not an ICD-10 code: dropped.
    Icd10Invalid,
    /// A number that does not parse: NULL.
    NumberInvalid,
    /// A value outside the field's valid range or set: NULL.
    OutOfRange,
    /// A required field empty: rejected.
    MissingRejected,
    /// An optional field empty: kept as NULL.
    MissingNull,
    /// An empty field filled in by its documented imputation.
    MissingImputed,
}

impl Rule {
    /// All rules in report order.
    pub const ALL: [Rule; 14] = [
        Rule::DuplicateExact,
        Rule::DuplicateFuzzy,
        Rule::IdInvalid,
        Rule::BirthDateMismatch,
        Rule::DateFormat,
        Rule::DateInvalid,
        Rule::UnitConverted,
        Rule::Icd10Normalised,
        Rule::Icd10Invalid,
        Rule::NumberInvalid,
        Rule::OutOfRange,
        Rule::MissingRejected,
        Rule::MissingNull,
        Rule::MissingImputed,
    ];

    /// The rule's name in reports and dirt counts.
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::DuplicateExact => "duplicate_exact",
            Rule::DuplicateFuzzy => "duplicate_fuzzy",
            Rule::IdInvalid => "id_invalid",
            Rule::BirthDateMismatch => "birth_date_mismatch",
            Rule::DateFormat => "date_format",
            Rule::DateInvalid => "date_invalid",
            Rule::UnitConverted => "unit_converted",
            Rule::Icd10Normalised => "icd10_normalised",
            Rule::Icd10Invalid => "icd10_invalid",
            Rule::NumberInvalid => "number_invalid",
            Rule::OutOfRange => "out_of_range",
            Rule::MissingRejected => "missing_rejected",
            Rule::MissingNull => "missing_null",
            Rule::MissingImputed => "missing_imputed",
        }
    }

    /// Position in [`Rule::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// What the rule counts: `rows` or `values`.
    pub fn counts(self) -> &'static str {
        match self {
            Rule::DuplicateExact
            | Rule::DuplicateFuzzy
            | Rule::IdInvalid
            | Rule::MissingRejected => "rows",
            _ => "values",
        }
    }

    /// Chinese description (for the HTML report, shown first).
    pub fn describe_zh(self) -> &'static str {
        match self {
            Rule::DuplicateExact => "完全重复的行：删除",
            Rule::DuplicateFuzzy => {
                "疑似重复（同一身份证号，或姓名+出生日期+区相同，或同一事件键）：保留第一条"
            }
            Rule::IdInvalid => "身份证号不符合 GB 11643（长度、字符、出生日期、校验码）：拒收该行",
            Rule::BirthDateMismatch => "出生日期与身份证号不一致：以身份证号为准更正",
            Rule::DateFormat => "日期格式不规范：统一为 YYYY-MM-DD",
            Rule::DateInvalid => "日期无法识别：置空（必填日期则拒收该行）",
            Rule::UnitConverted => "单位换算（斤→千克，米→厘米）",
            Rule::Icd10Normalised => "ICD-10 编码规范化（大小写、小数点、临床版扩展码）",
            Rule::Icd10Invalid => "非 ICD-10 编码：删除该编码",
            Rule::NumberInvalid => "数值无法识别：置空",
            Rule::OutOfRange => "超出有效范围：置空",
            Rule::MissingRejected => "必填字段缺失：拒收该行",
            Rule::MissingNull => "可选字段缺失：保留为空",
            Rule::MissingImputed => "缺失值按规则填补",
        }
    }

    /// English description.
    pub fn describe_en(self) -> &'static str {
        match self {
            Rule::DuplicateExact => "exact duplicate rows: dropped",
            Rule::DuplicateFuzzy => {
                "fuzzy duplicates (same ID, or same name + birth date + district, or same event key): first kept"
            }
            Rule::IdInvalid => {
                "ID number fails GB 11643 (length, characters, birth date, check digit): row rejected"
            }
            Rule::BirthDateMismatch => {
                "birth date disagrees with the ID number: corrected from the ID"
            }
            Rule::DateFormat => "non-standard date format: rewritten as YYYY-MM-DD",
            Rule::DateInvalid => "unreadable date: NULL (row rejected when the date is required)",
            Rule::UnitConverted => "unit converted (jin to kg, m to cm)",
            Rule::Icd10Normalised => "ICD-10 code normalised (case, dot, clinical extension)",
            Rule::Icd10Invalid => "not an ICD-10 code: code dropped",
            Rule::NumberInvalid => "unreadable number: NULL",
            Rule::OutOfRange => "outside the valid range: NULL",
            Rule::MissingRejected => "required field missing: row rejected",
            Rule::MissingNull => "optional field missing: kept NULL",
            Rule::MissingImputed => "missing value imputed by the field's rule",
        }
    }
}

/// A cleaned value of a data (non-identifying) field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    /// No value.
    Null,
    /// An integer.
    Int(i64),
    /// A decimal in tenths of the canonical unit.
    Tenths(i64),
    /// A date.
    Date(Date),
    /// A text code or identifier.
    Text(String),
    /// ICD-10 codes, canonical, in input order (never empty: an empty list is `Null`).
    Codes(Vec<String>),
}

impl Value {
    /// The canonical text form (empty for NULL), as in truth files and CSV exports.
    pub fn render(&self) -> String {
        match self {
            Value::Null => String::new(),
            Value::Int(n) => n.to_string(),
            Value::Tenths(t) => {
                let sign = if *t < 0 { "-" } else { "" };
                format!("{sign}{}.{}", t.unsigned_abs() / 10, t.unsigned_abs() % 10)
            }
            Value::Date(d) => d.to_string(),
            Value::Text(s) => s.clone(),
            Value::Codes(c) => c.join(";"),
        }
    }

    /// The canonical text form, `None` for NULL; moves a text value instead of copying it.
    pub fn into_text(self) -> Option<String> {
        match self {
            Value::Null => None,
            Value::Text(s) => Some(s),
            other => Some(other.render()),
        }
    }

    /// True unless NULL.
    pub fn is_present(&self) -> bool {
        !matches!(self, Value::Null)
    }
}

/// One correction or observation on a row, for counting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Event {
    /// The rule.
    pub rule: Rule,
    /// Index of the field in the table spec.
    pub field: u16,
}

/// A row that passed the row checks.
pub struct Cleaned {
    /// Who the row is about.
    pub subject: SubjectPseudonym,
    /// Identifying fields, sealed before storage.
    pub identity: Identity,
    /// Values of the data fields, in `TableSpec::data_fields` order.
    pub values: Vec<Value>,
    /// Duplicate keys (first: primary, second: alternative).
    pub keys: [Option<u128>; 2],
    /// Corrections made.
    pub events: Vec<Event>,
}

/// A rejected row: the rule and the field that caused it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rejection {
    /// Why.
    pub rule: Rule,
    /// Which field.
    pub field: u16,
}

/// Fixed SipHash keys of the duplicate hashes: the hashes live only during one import.
const DEDUP_KEY_0: u64 = 0x5745_494e_4f4e_4731;
const DEDUP_KEY_1: u64 = 0x6475_706c_6963_6174;

/// A 128-bit hash of byte strings (SipHash-1-3 with 128-bit output, one pass), for
/// duplicate detection; a collision needs ~2^64 rows. Parts are hashed as written: callers
/// put a separator (0x1f) between parts whose boundaries could shift.
pub fn hash128<'a>(parts: impl Iterator<Item = &'a [u8]>) -> u128 {
    let mut h = SipHasher13::new_with_keys(DEDUP_KEY_0, DEDUP_KEY_1);
    for p in parts {
        h.write(p);
    }
    h.finish128().as_u128()
}

/// The pseudonyms of an import's people, each evaluated once: the pseudonym is an OPRF
/// evaluation (a ristretto255 scalar multiplication, ~50 µs, far more than cleaning the
/// row), and a person has many rows (check-ups, claims). [`PseudonymMemo::learn`] takes a
/// chunk's ID numbers, evaluates the ones not seen before in parallel (rayon), and keeps
/// them for the rest of the import (at most [`PSEUDONYM_MEMO_PEOPLE_MAX`] people; then it
/// starts again). The IDs it holds zeroize when it is dropped.
pub struct PseudonymMemo<'a> {
    key: &'a PseudonymKey,
    known: HashMap<ResidentId, SubjectPseudonym, foldhash::fast::RandomState>,
}

impl<'a> PseudonymMemo<'a> {
    /// Nothing known yet.
    pub fn new(key: &'a PseudonymKey) -> Self {
        PseudonymMemo {
            key,
            known: HashMap::default(),
        }
    }

    /// Evaluates, in parallel, the pseudonyms of the valid ID numbers in `id_texts` that
    /// are not known yet (invalid ones are skipped: cleaning rejects their rows). Each
    /// pseudonym depends only on its ID, so the result does not depend on the order or
    /// the thread that evaluated it.
    pub fn learn<'t>(&mut self, id_texts: impl IntoParallelIterator<Item = &'t str>) {
        let mut ids: Vec<ResidentId> = id_texts
            .into_par_iter()
            .filter_map(|text| {
                let text = text.trim();
                (!text.is_empty())
                    .then(|| ResidentId::parse(text).ok())
                    .flatten()
            })
            .collect();
        ids.retain(|id| !self.known.contains_key(id));
        if self.known.len().saturating_add(ids.len()) > PSEUDONYM_MEMO_PEOPLE_MAX {
            // Bounded memory whatever the file's size: rows of one person come together,
            // so forgetting the earlier people costs little.
            self.known.clear();
        }
        ids.par_sort_unstable_by(|a, b| a.as_str().cmp(b.as_str()));
        ids.dedup();
        let key = self.key;
        let evaluated: Vec<(ResidentId, SubjectPseudonym)> = ids
            .into_par_iter()
            .map(|id| {
                let p = key.derive(&id);
                (id, p)
            })
            .collect();
        self.known.extend(evaluated);
    }

    /// People known so far.
    pub fn len(&self) -> usize {
        self.known.len()
    }

    /// True when nobody is known yet.
    pub fn is_empty(&self) -> bool {
        self.known.is_empty()
    }

    /// Cleaning's view: looks pseudonyms up, evaluating any not learnt.
    pub fn pseudonyms(&self) -> Pseudonyms<'_> {
        Pseudonyms {
            key: self.key,
            known: Some(&self.known),
            last: None,
        }
    }
}

/// Subject pseudonyms as cleaning asks for them: from a [`PseudonymMemo`] where one is
/// given, else evaluated, remembering the last ID's (rows of one person usually come
/// together: exports are sorted by person; check-ups and claims repeat the ID).
pub struct Pseudonyms<'a> {
    key: &'a PseudonymKey,
    known: Option<&'a HashMap<ResidentId, SubjectPseudonym, foldhash::fast::RandomState>>,
    last: Option<(ResidentId, SubjectPseudonym)>,
}

impl<'a> Pseudonyms<'a> {
    /// No ID seen yet, nothing learnt in advance.
    pub fn new(key: &'a PseudonymKey) -> Self {
        Pseudonyms {
            key,
            known: None,
            last: None,
        }
    }

    /// The pseudonym of `id`.
    pub fn of(&mut self, id: &ResidentId) -> SubjectPseudonym {
        if let Some(p) = self.known.and_then(|known| known.get(id)) {
            return *p;
        }
        match &self.last {
            Some((last, p)) if last == id => *p,
            _ => {
                let p = self.key.derive(id);
                self.last = Some((id.clone(), p));
                p
            }
        }
    }
}

/// Cleans one raw row (`raw[i]` is field `i` of the spec; empty means missing).
pub fn clean_row<R: Fields + ?Sized>(
    spec: &TableSpec,
    pepper: &Pepper,
    raw: &R,
) -> Result<Cleaned, Rejection> {
    clean_row_with(spec, &mut Pseudonyms::new(&PseudonymKey::new(pepper)), raw)
}

/// As [`clean_row`], deriving the pseudonym through `pseudonyms`.
pub fn clean_row_with<R: Fields + ?Sized>(
    spec: &TableSpec,
    pseudonyms: &mut Pseudonyms<'_>,
    raw: &R,
) -> Result<Cleaned, Rejection> {
    let id_idx = spec.index_of("id_number").unwrap_or(0);
    let id_text = raw.field(id_idx).trim();
    let field_u16 = |i: usize| u16::try_from(i).unwrap_or(u16::MAX);
    if id_text.is_empty() {
        return Err(Rejection {
            rule: Rule::MissingRejected,
            field: field_u16(id_idx),
        });
    }
    let id = ResidentId::parse(id_text).map_err(|_| Rejection {
        rule: Rule::IdInvalid,
        field: field_u16(id_idx),
    })?;
    for (i, f) in spec.fields.iter().enumerate() {
        if f.missing == MissingPolicy::Reject && raw.field(i).trim().is_empty() {
            return Err(Rejection {
                rule: Rule::MissingRejected,
                field: field_u16(i),
            });
        }
    }
    let mut events = Vec::new();
    let mut identity = Identity::default();
    identity.id_number = id.as_str().to_string();
    let mut values = Vec::with_capacity(spec.fields.len());
    for (i, f) in spec.fields.iter().enumerate() {
        let text = raw.field(i).trim();
        let mut ev = |rule| {
            events.push(Event {
                rule,
                field: field_u16(i),
            })
        };
        match f.kind {
            FieldKind::IdNumber => {}
            FieldKind::Name | FieldKind::Phone | FieldKind::Address => {
                let v = identity_value(text, f, &mut ev).map_err(|rule| Rejection {
                    rule,
                    field: field_u16(i),
                })?;
                match f.kind {
                    FieldKind::Name => identity.name = v.unwrap_or_default(),
                    FieldKind::Phone => identity.phone = v,
                    _ => identity.address = v,
                }
            }
            _ => {
                let v = clean_value(text, f, &id, &mut ev).map_err(|rule| Rejection {
                    rule,
                    field: field_u16(i),
                })?;
                values.push(v);
            }
        }
    }
    let subject = pseudonyms.of(&id);
    let keys = dedup_keys(spec, &subject, &identity, &values);
    Ok(Cleaned {
        subject,
        identity,
        values,
        keys,
        events,
    })
}

fn identity_value(
    text: &str,
    f: &FieldSpec,
    ev: &mut impl FnMut(Rule),
) -> Result<Option<String>, Rule> {
    if text.is_empty() {
        return missing(f, ev).map(|_| None);
    }
    if text.len() > IDENTITY_BYTES_MAX {
        ev(Rule::OutOfRange);
        return Ok(None);
    }
    Ok(Some(text.to_string()))
}

/// Applies the missing-value policy; `Err` means the row is rejected.
fn missing(f: &FieldSpec, ev: &mut impl FnMut(Rule)) -> Result<(), Rule> {
    match f.missing {
        MissingPolicy::Reject => Err(Rule::MissingRejected),
        MissingPolicy::Null => {
            ev(Rule::MissingNull);
            Ok(())
        }
        MissingPolicy::Impute(_) => {
            ev(Rule::MissingImputed);
            Ok(())
        }
    }
}

fn impute(f: &FieldSpec, id: &ResidentId) -> Value {
    match f.missing {
        MissingPolicy::Impute(Imputation::Zero) => Value::Int(0),
        MissingPolicy::Impute(Imputation::SexFromId) => {
            Value::Text(if id.sex() == Sex::Male { "1" } else { "2" }.to_string())
        }
        MissingPolicy::Impute(Imputation::BirthDateFromId) => {
            id_birth_date(id).map_or(Value::Null, Value::Date)
        }
        _ => Value::Null,
    }
}

fn id_birth_date(id: &ResidentId) -> Option<Date> {
    let (y, m, d) = id.birth_date();
    Date::new(y, m, d)
}

fn clean_value(
    text: &str,
    f: &FieldSpec,
    id: &ResidentId,
    ev: &mut impl FnMut(Rule),
) -> Result<Value, Rule> {
    if text.is_empty() {
        missing(f, ev)?;
        return Ok(impute(f, id));
    }
    let v = match f.kind {
        FieldKind::Date => match Date::parse(text) {
            None => {
                ev(Rule::DateInvalid);
                if f.missing == MissingPolicy::Reject {
                    return Err(Rule::DateInvalid);
                }
                Value::Null
            }
            Some((d, form)) => {
                if form == DateForm::Other {
                    ev(Rule::DateFormat);
                }
                if f.missing == MissingPolicy::Impute(Imputation::BirthDateFromId)
                    && let Some(from_id) = id_birth_date(id)
                    && from_id != d
                {
                    ev(Rule::BirthDateMismatch);
                    Value::Date(from_id)
                } else {
                    Value::Date(d)
                }
            }
        },
        FieldKind::Int { min, max } => match text.parse::<i64>() {
            Err(_) => {
                ev(Rule::NumberInvalid);
                Value::Null
            }
            Ok(n) if n < min || n > max => {
                ev(Rule::OutOfRange);
                Value::Null
            }
            Ok(n) => Value::Int(n),
        },
        FieldKind::Choice(set) => match text.parse::<i64>() {
            Err(_) => {
                ev(Rule::NumberInvalid);
                Value::Null
            }
            Ok(n) if !set.contains(&n) => {
                ev(Rule::OutOfRange);
                Value::Null
            }
            Ok(n) => Value::Int(n),
        },
        FieldKind::Decimal {
            unit,
            min_x10,
            max_x10,
        } => match parse_measure(text, unit) {
            None => {
                ev(Rule::NumberInvalid);
                Value::Null
            }
            Some((tenths, converted)) => {
                if converted {
                    ev(Rule::UnitConverted);
                }
                if tenths < min_x10 || tenths > max_x10 {
                    ev(Rule::OutOfRange);
                    Value::Null
                } else {
                    Value::Tenths(tenths)
                }
            }
        },
        FieldKind::Icd10List => {
            let mut codes = Vec::new();
            for part in icd10::split_list(text) {
                match icd10::normalise(part) {
                    Icd10::Canonical(c) => codes.push(c),
                    Icd10::Normalised(c) => {
                        ev(Rule::Icd10Normalised);
                        codes.push(c);
                    }
                    Icd10::Invalid => ev(Rule::Icd10Invalid),
                }
            }
            if codes.is_empty() {
                Value::Null
            } else {
                Value::Codes(codes)
            }
        }
        FieldKind::Code(set) => {
            if set.contains(&text) {
                Value::Text(text.to_string())
            } else {
                ev(Rule::OutOfRange);
                Value::Null
            }
        }
        FieldKind::Text => {
            if text.chars().count() > TEXT_CHARS_MAX {
                ev(Rule::OutOfRange);
                if f.missing == MissingPolicy::Reject {
                    return Err(Rule::OutOfRange);
                }
                Value::Null
            } else {
                Value::Text(text.to_string())
            }
        }
        FieldKind::IdNumber | FieldKind::Name | FieldKind::Phone | FieldKind::Address => {
            Value::Null
        }
    };
    Ok(v)
}

/// Parses `65.3`, `65.3kg`, `130.6斤`, `162`, `162cm`, `1.62m` into tenths of the canonical
/// unit, and whether a conversion happened. Results are rounded half away from zero to
/// one decimal.
pub fn parse_measure(text: &str, unit: Unit) -> Option<(i64, bool)> {
    let t = text.trim();
    // (suffix, numerator, denominator): canonical value = number * num / den.
    let suffixes: &[(&str, i64, i64, bool)] = match unit {
        Unit::Kilogram => &[
            ("公斤", 1, 1, false),
            ("千克", 1, 1, false),
            ("kg", 1, 1, false),
            ("斤", 1, 2, true),
        ],
        Unit::Centimetre => &[
            ("厘米", 1, 1, false),
            ("cm", 1, 1, false),
            ("米", 100, 1, true),
            ("m", 100, 1, true),
        ],
    };
    let lower = t.to_ascii_lowercase();
    let (number, num, den, converted) = suffixes
        .iter()
        .find_map(|(s, n, d, c)| lower.strip_suffix(s).map(|rest| (rest.trim(), *n, *d, *c)))
        .unwrap_or((lower.as_str(), 1, 1, false));
    let (mantissa, scale) = parse_decimal(number)?;
    // value * 10 (tenths) = mantissa * num * 10 / (den * 10^scale)
    let numer = i128::from(mantissa) * i128::from(num) * 10;
    let denom = i128::from(den) * 10i128.pow(scale);
    let q = numer / denom;
    let r = numer % denom;
    let rounded = if 2 * r.abs() >= denom {
        q + numer.signum()
    } else {
        q
    };
    Some((i64::try_from(rounded).ok()?, converted))
}

/// `-12.345` → (-12345, 3). At most 12 digits in all.
fn parse_decimal(s: &str) -> Option<(i64, u32)> {
    let (neg, body) = match s.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, s),
    };
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    if int.len() + frac.len() > 12 || !int.bytes().chain(frac.bytes()).all(|c| c.is_ascii_digit()) {
        return None;
    }
    let mut m: i64 = 0;
    for c in int.bytes().chain(frac.bytes()) {
        m = m * 10 + i64::from(c - b'0');
    }
    let scale = u32::try_from(frac.len()).ok()?;
    Some((if neg { -m } else { m }, scale))
}

/// Feeds a value to a duplicate-key hash: tagged, so no two values share an encoding and
/// no allocation (keys are computed for every row).
fn hash_value(h: &mut SipHasher13, v: &Value) {
    match v {
        Value::Null => h.write_u8(0),
        Value::Date(d) => {
            h.write_u8(1);
            h.write(&d.year.to_le_bytes());
            h.write(&[d.month, d.day]);
        }
        Value::Text(s) => {
            h.write_u8(2);
            h.write(s.as_bytes());
            h.write_u8(0x1f);
        }
        other => {
            h.write_u8(3);
            h.write(other.render().as_bytes());
            h.write_u8(0x1f);
        }
    }
}

fn dedup_keys(
    spec: &TableSpec,
    subject: &SubjectPseudonym,
    identity: &Identity,
    values: &[Value],
) -> [Option<u128>; 2] {
    let value_of = |name: &str| -> &Value {
        spec.data_fields()
            .position(|(_, f)| f.name == name)
            .and_then(|pos| values.get(pos))
            .unwrap_or(&Value::Null)
    };
    let hasher = |tag: &[u8]| {
        let mut h = SipHasher13::new_with_keys(DEDUP_KEY_0, DEDUP_KEY_1);
        h.write(tag);
        h
    };
    match spec.dedup {
        DedupKey::PersonOrNameBirthDistrictOn(on) => {
            // One row per assessment: the same person twice on different days is history,
            // not a duplicate, so both keys include the date.
            let date = value_of(on);
            let mut first = hasher(b"person-on");
            first.write(subject.as_bytes());
            hash_value(&mut first, date);
            let district = value_of("district");
            // Without a district the name + birth date pair is too weak to merge people.
            let second = (!matches!(district, Value::Null)).then(|| {
                let mut h = hasher(b"nbd-on");
                h.write(identity.name.as_bytes());
                h.write_u8(0x1f);
                hash_value(&mut h, value_of("birth_date"));
                hash_value(&mut h, district);
                hash_value(&mut h, date);
                h.finish128().as_u128()
            });
            [Some(first.finish128().as_u128()), second]
        }
        DedupKey::SubjectAnd(field) => {
            let mut h = hasher(b"subject-and");
            h.write(subject.as_bytes());
            hash_value(&mut h, value_of(field));
            [Some(h.finish128().as_u128()), None]
        }
        DedupKey::Field(field) => {
            let mut h = hasher(b"field");
            hash_value(&mut h, value_of(field));
            [Some(h.finish128().as_u128()), None]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{CIVIL, HEALTH};

    fn raw(spec: &TableSpec, pairs: &[(&str, &str)]) -> Vec<String> {
        let mut r = vec![String::new(); spec.fields.len()];
        for (k, v) in pairs {
            r[spec.index_of(k).expect("field")] = (*v).to_string();
        }
        r
    }

    #[test]
    fn the_memo_evaluates_each_person_once_and_agrees_with_the_key() {
        let valid = |body: &[u8; 17]| {
            let mut id = [0u8; 18];
            id[..17].copy_from_slice(body);
            id[17] = weinong_keys::check_char(&id);
            String::from_utf8(id.to_vec()).expect("ASCII")
        };
        let key = PseudonymKey::new(&Pepper::from_bytes([4; 32]));
        let a = "11010519491231002X";
        let b = valid(b"31010119500101001");
        let c = valid(b"31010119500101002");
        let mut memo = PseudonymMemo::new(&key);
        // Lower-case x, spaces, repeats, an empty field and a bad check digit: two people.
        memo.learn(vec![
            a,
            " 11010519491231002x ",
            a,
            "",
            "110105194912310021",
            &b,
        ]);
        assert_eq!(memo.len(), 2);
        memo.learn(vec![b.as_str(), a]);
        assert_eq!(memo.len(), 2, "nothing new to evaluate");
        let mut p = memo.pseudonyms();
        for id in [a, &b, &c] {
            let id = ResidentId::parse(id).expect("valid");
            // A person not learnt (c) is still evaluated, not guessed.
            assert_eq!(p.of(&id), key.derive(&id));
        }
        assert_eq!(memo.len(), 2);
    }

    #[test]
    fn measures() {
        assert_eq!(parse_measure("65.3", Unit::Kilogram), Some((653, false)));
        assert_eq!(parse_measure("65.3kg", Unit::Kilogram), Some((653, false)));
        assert_eq!(parse_measure("130.6斤", Unit::Kilogram), Some((653, true)));
        assert_eq!(parse_measure("131斤", Unit::Kilogram), Some((655, true)));
        assert_eq!(parse_measure("1.62m", Unit::Centimetre), Some((1620, true)));
        assert_eq!(
            parse_measure("1.625米", Unit::Centimetre),
            Some((1625, true))
        );
        assert_eq!(
            parse_measure("162CM", Unit::Centimetre),
            Some((1620, false))
        );
        assert_eq!(parse_measure("65.35", Unit::Kilogram), Some((654, false)));
        assert_eq!(parse_measure("abc", Unit::Kilogram), None);
        assert_eq!(parse_measure(".", Unit::Kilogram), None);
    }

    #[test]
    fn civil_rows_are_duplicates_only_on_the_same_assessment_day() {
        let pepper = Pepper::from_bytes([1; 32]);
        let row = |id: &str, on: &str| {
            clean_row(
                &CIVIL,
                &pepper,
                &raw(
                    &CIVIL,
                    &[
                        ("id_number", id),
                        ("name", "张三"),
                        ("district", "310101"),
                        ("assessed_on", on),
                    ],
                ),
            )
            .expect("valid row")
            .keys
        };
        let first = row("11010519491231002X", "2025-01-05");
        // The same person re-assessed: a new row of the history.
        let later = row("11010519491231002X", "2025-07-05");
        assert!(first.iter().zip(&later).all(|(a, b)| a != b));
        // The same day again: a duplicate by subject.
        assert_eq!(row("11010519491231002X", "2025/1/5")[0], first[0]);
        // Another ID number, same name, birth date, district and day: the second key.
        let mut moved = *b"31019919491231002?";
        moved[17] = weinong_keys::check_char(&moved);
        let other = row(std::str::from_utf8(&moved).expect("ASCII"), "2025-01-05");
        assert_ne!(other[0], first[0]);
        assert!(other[1].is_some() && other[1] == first[1]);
    }

    #[test]
    fn row_rules() {
        let pepper = Pepper::from_bytes([1; 32]);
        let ok = raw(
            &CIVIL,
            &[
                ("id_number", "11010519491231002X"),
                ("name", "张三"),
                ("assessed_on", "2024/1/5"),
                ("birth_date", "1949-12-30"),
            ],
        );
        let c = clean_row(&CIVIL, &pepper, &ok).expect("valid row");
        let rules: Vec<Rule> = c.events.iter().map(|e| e.rule).collect();
        assert!(rules.contains(&Rule::DateFormat));
        assert!(rules.contains(&Rule::BirthDateMismatch));
        // sex imputed from the ID (sequence 002: female)
        assert!(rules.contains(&Rule::MissingImputed));
        let sex_pos = CIVIL
            .data_fields()
            .position(|(_, f)| f.name == "sex")
            .expect("sex");
        assert_eq!(c.values[sex_pos], Value::Text("2".into()));
        let bd_pos = CIVIL
            .data_fields()
            .position(|(_, f)| f.name == "birth_date")
            .expect("bd");
        assert_eq!(c.values[bd_pos].render(), "1949-12-31");

        // Rows refused whole, with the rule that refused them.
        let refused_by = |fields: &[(&str, &str)]| {
            clean_row(&CIVIL, &pepper, &raw(&CIVIL, fields))
                .err()
                .map(|r| r.rule)
        };
        let bad_check_digit = [
            ("id_number", "110105194912310021"),
            ("name", "张三"),
            ("assessed_on", "2024-01-05"),
        ];
        assert_eq!(refused_by(&bad_check_digit), Some(Rule::IdInvalid));
        let no_name = [
            ("id_number", "11010519491231002X"),
            ("assessed_on", "2024-01-05"),
        ];
        assert_eq!(refused_by(&no_name), Some(Rule::MissingRejected));

        let h = raw(
            &HEALTH,
            &[
                ("id_number", "11010519491231002x"),
                ("name", "张三"),
                ("exam_date", "2024年3月1日"),
                ("weight_kg", "130.6斤"),
                ("sbp", "1400"),
                ("diagnoses", "i10;E119;高血压"),
            ],
        );
        let c = clean_row(&HEALTH, &pepper, &h).expect("valid");
        let count = |r: Rule| c.events.iter().filter(|e| e.rule == r).count();
        assert_eq!(count(Rule::UnitConverted), 1);
        assert_eq!(count(Rule::OutOfRange), 1);
        assert_eq!(count(Rule::Icd10Normalised), 2);
        assert_eq!(count(Rule::Icd10Invalid), 1);
        assert_eq!(count(Rule::DateFormat), 1);
        let dx = HEALTH
            .data_fields()
            .position(|(_, f)| f.name == "diagnoses")
            .expect("dx");
        assert_eq!(c.values[dx].render(), "I10;E11.9");
    }
}
