//! The clean records of one synthetic person in each department: conditions by age and
//! sex (hypertension, diabetes, stroke, dementia, heart disease, COPD, kidney disease,
//! cancer, Parkinson's, osteoporosis, cataract), each with an onset (some recent), a latent
//! frailty that drives the ability items, screens and events and that progresses over time
//! (faster for some people, so their totals decline), a history of 1–4 civil-affairs
//! assessments (the latest within the year before `AS_OF`, earlier ones 150–250 days apart)
//! with care-risk events as the form's frequency codes (repeated events sometimes, more
//! with frailty and dementia), 1–4 check-ups the same distance apart (weights that
//! sometimes fall steadily, blood pressure), and insurance claims (outpatient visits and
//! inpatient stays) over four years. About 1.5 % die between their latest assessment and
//! `AS_OF` (the death register's date on their civil rows; [`record_death`]).
//!
//! Rows are `Vec<Value>` over all fields of the department's spec, identifying fields as
//! text, exactly as the cleaner should produce them.

use super::people::{AS_OF, Identity};
use super::rng::R;
use crate::clean::Value;
use crate::date::Date;
use crate::schema::{CIVIL, HEALTH, INSURANCE, RISK_FREQUENCY_MAX, TableSpec};

/// Chronic conditions of a person.
#[derive(Clone, Copy, Debug, Default)]
pub struct Conditions {
    pub hypertension: bool,
    pub diabetes: bool,
    pub diabetes_complicated: bool,
    pub stroke: bool,
    pub dementia: bool,
    pub chd: bool,
    pub old_mi: bool,
    pub heart_failure: bool,
    pub copd: bool,
    pub ckd: bool,
    pub cancer: u8,
    pub parkinson: bool,
    pub osteoporosis: bool,
    pub cataract: bool,
}

/// Everything the department records derive from.
pub struct Profile {
    pub who: Identity,
    pub c: Conditions,
    /// Frailty at `AS_OF` (0 fit … 1 frail).
    pub frailty: f64,
    /// Frailty gained per year: earlier records see `frailty - decline · years before`.
    pub decline: f64,
    /// Per chronic code (`chronic_codes` order), the first day it is diagnosed: records
    /// dated before it do not carry it.
    pub onsets: Vec<(&'static str, i64)>,
    pub education: i64,
    pub care_grade: Option<i64>,
}

impl Profile {
    /// Frailty on `day` (before `AS_OF`), from the progression.
    fn frailty_on(&self, day: i64) -> f64 {
        let years = (AS_OF.to_days() - day).max(0) as f64 / 365.25;
        clamp(self.frailty - self.decline * years, 0.0, 1.0)
    }

    /// The chronic codes diagnosed by `day`.
    fn codes_on(&self, day: i64) -> Vec<&'static str> {
        self.onsets
            .iter()
            .filter(|(_, onset)| *onset <= day)
            .map(|(c, _)| *c)
            .collect()
    }
}

/// Days between a person's successive assessments or check-ups: 150 + `below(101)`.
const INTERVAL_DAYS_MIN: i64 = 150;
const INTERVAL_DAYS_SPREAD: u64 = 101;

/// Days of `n` visits, oldest first: the latest `latest_within` days or less before
/// `AS_OF`, the others 150–250 days apart.
fn visit_days(r: &mut R, n: u64, latest_within: u64) -> Vec<i64> {
    let mut day = AS_OF.to_days() - i64::try_from(r.below(latest_within)).unwrap_or(0);
    let mut days = vec![day];
    for _ in 1..n {
        day -= INTERVAL_DAYS_MIN + i64::try_from(r.below(INTERVAL_DAYS_SPREAD)).unwrap_or(0);
        days.push(day);
    }
    days.reverse();
    days
}

/// 1–4 visits: one in six people has a single one.
fn visit_count(r: &mut R) -> u64 {
    match r.below(6) {
        0 => 1,
        1 => 2,
        2 | 3 => 3,
        _ => 4,
    }
}

fn clamp(x: f64, lo: f64, hi: f64) -> f64 {
    x.max(lo).min(hi)
}

#[allow(
    clippy::cast_possible_truncation,
    reason = "|x| < 10^6: exact after rounding"
)]
fn round_i(x: f64) -> i64 {
    // Values here are small (|x| < 10^6): the conversion is exact after rounding.
    x.round() as i64
}

fn age_of(birth: Date) -> u16 {
    let mut age = AS_OF.year.saturating_sub(birth.year);
    if (AS_OF.month, AS_OF.day) < (birth.month, birth.day) {
        age = age.saturating_sub(1);
    }
    age
}

/// Draws conditions, frailty and the civil-affairs attributes.
pub fn profile(r: &mut R, who: Identity) -> Profile {
    let age = age_of(who.birth);
    let a = f64::from(age.saturating_sub(60));
    let mut c = Conditions {
        hypertension: r.chance(clamp(0.40 + 0.008 * a, 0.0, 0.75)),
        diabetes: r.chance(clamp(0.17 + 0.002 * a, 0.0, 0.28)),
        stroke: r.chance(0.04 + 0.003 * a),
        chd: r.chance(0.08 + 0.004 * a),
        old_mi: r.chance(0.02 + 0.001 * a),
        heart_failure: r.chance(0.015 + 0.003 * a),
        copd: r.chance(if who.male { 0.09 } else { 0.05 }),
        ckd: r.chance(0.05 + 0.003 * a),
        parkinson: r.chance(0.01 + 0.001 * a),
        osteoporosis: r.chance(if who.male { 0.08 } else { 0.28 }),
        cataract: r.chance(clamp(0.25 + 0.012 * a, 0.0, 0.8)),
        ..Conditions::default()
    };
    let p_dementia = match age {
        ..65 => 0.01,
        65..70 => 0.02,
        70..75 => 0.04,
        75..80 => 0.08,
        80..85 => 0.15,
        85..90 => 0.25,
        _ => 0.35,
    };
    c.dementia = r.chance(p_dementia);
    c.diabetes_complicated = c.diabetes && r.chance(0.25);
    c.cancer = if r.chance(0.05) {
        1 + u8::try_from(r.below(4)).unwrap_or(0)
    } else {
        0
    };
    let frailty = clamp(
        a / 45.0 * 0.55
            + if c.stroke { 0.2 } else { 0.0 }
            + if c.dementia { 0.3 } else { 0.0 }
            + if c.heart_failure { 0.1 } else { 0.0 }
            + if c.parkinson { 0.15 } else { 0.0 }
            + r.normal(0.0, 0.1),
        0.0,
        1.0,
    );
    let (p0, p1) = match age {
        85.. => (40, 75),
        75..85 => (20, 55),
        _ => (6, 36),
    };
    let e = r.below(100);
    let education = if e < p0 {
        0
    } else if e < p1 {
        1
    } else {
        2
    };
    let care_grade =
        (frailty > 0.3 && r.chance(0.6)).then(|| (1 + round_i(frailty * 5.0)).clamp(1, 6));
    // Most people age slowly; some (more of the frail and of people with dementia) decline
    // fast enough for their GB/T 42195 totals to fall across re-assessments.
    let p_fast = 0.15 + 0.25 * frailty + if c.dementia { 0.2 } else { 0.0 };
    let decline = if r.chance(p_fast) {
        0.08 + 0.17 * r.unit()
    } else {
        0.01 * r.unit()
    };
    // One condition in five was diagnosed in the last 18 months; the others long before
    // any record the generator writes.
    let onsets = chronic_codes(&c)
        .into_iter()
        .map(|code| {
            let onset = if r.chance(0.2) {
                AS_OF.to_days() - i64::try_from(r.below(540)).unwrap_or(0)
            } else {
                AS_OF.to_days() - 3_650 - i64::try_from(r.below(3_650)).unwrap_or(0)
            };
            (code, onset)
        })
        .collect();
    Profile {
        who,
        c,
        frailty,
        decline,
        onsets,
        education,
        care_grade,
    }
}

fn text(s: &str) -> Value {
    Value::Text(s.to_string())
}

fn opt_int(v: Option<i64>) -> Value {
    v.map_or(Value::Null, Value::Int)
}

/// An ability item: `max` for the able, lower with frailty (weight `w`).
fn ability(r: &mut R, max: i64, f: f64, w: f64) -> Value {
    let x = f64::from(u32::try_from(max).unwrap_or(0)) * (1.0 - f * w + r.normal(0.0, 0.08));
    Value::Int(round_i(x).clamp(0, max))
}

/// A care-risk frequency code of the assessment form: 0 none, 1 once, 2 twice, 3 three
/// times or more. `p_any`: an event in the 30 days; `p_more`: each further one.
fn frequency(r: &mut R, p_any: f64, p_more: f64) -> Value {
    let mut code = 0;
    if r.chance(p_any) {
        code = 1;
        while code < RISK_FREQUENCY_MAX && r.chance(p_more) {
            code += 1;
        }
    }
    Value::Int(code)
}

/// Civil affairs: 1–4 assessments (oldest first), the register fields repeated in each.
pub fn civil(r: &mut R, p: &Profile) -> Vec<Vec<Value>> {
    let n = visit_count(r);
    let days = visit_days(r, n, 365);
    // Register fields are the person's, not the visit's: drawn once.
    let phone = if r.chance(0.1) {
        Value::Null
    } else {
        text(&p.who.phone)
    };
    let address = if r.chance(0.03) {
        Value::Null
    } else {
        text(&p.who.address)
    };
    let living_alone = Value::Int(i64::from(r.chance(0.18)));
    days.into_iter()
        .map(|day| {
            let register = [phone.clone(), address.clone(), living_alone.clone()];
            assessment(r, p, day, register)
        })
        .collect()
}

fn assessment(r: &mut R, p: &Profile, day: i64, register: [Value; 3]) -> Vec<Value> {
    let f = p.frailty_on(day);
    let m = if p.c.dementia { 1.0 } else { 0.3 };
    let assessed = Date::from_days(day).unwrap_or(AS_OF);
    let consciousness = if f > 0.97 && r.chance(0.3) { 1 } else { 2 };
    let [phone, address, living_alone] = register;
    let mut row = vec![
        text(&p.who.id_number),
        text(&p.who.name),
        phone,
        address,
        text(if p.who.male { "1" } else { "2" }),
        Value::Date(p.who.birth),
        text(crate::schema::DISTRICTS[usize::from(p.who.district)].0),
        Value::Int(p.education),
        living_alone,
        opt_int(p.care_grade),
        Value::Date(assessed),
    ];
    // 自理能力 (8), 基础运动能力 (4)
    for max in [4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 3] {
        row.push(ability(r, max, f, 1.0));
    }
    // 精神状态: orientation, memory, understanding, expression weigh dementia.
    for _ in 0..6 {
        row.push(ability(
            r,
            4,
            f * m + if p.c.dementia { 0.3 } else { 0.0 },
            1.0,
        ));
    }
    row.push(Value::Int(i64::from(!(p.c.dementia && r.chance(0.15)))));
    row.push(Value::Int(i64::from(!r.chance(0.05 + 0.1 * f))));
    row.push(Value::Int(consciousness));
    // 感知觉与社会参与
    row.push(ability(r, 2, f, if p.c.cataract { 0.8 } else { 0.4 }));
    row.push(ability(r, 2, f, 0.5));
    row.push(ability(r, 4, f, 1.0));
    row.push(ability(r, 3, f, 1.1));
    row.push(ability(r, 4, f, 0.9));
    // Care-risk events in 30 days, as frequency codes: a further event of the same kind
    // is likelier for the frail (falls) and for people with dementia (choking, wandering).
    let d = p.c.dementia;
    row.push(frequency(r, 0.03 + 0.1 * f, 0.1 + 0.25 * f));
    row.push(frequency(
        r,
        if d { 0.04 } else { 0.01 },
        if d { 0.25 } else { 0.1 },
    ));
    row.push(frequency(r, 0.002, 0.1));
    row.push(frequency(
        r,
        if d { 0.05 } else { 0.004 },
        if d { 0.3 } else { 0.1 },
    ));
    // 死亡日期: empty until [`record_death`] fills it.
    row.push(Value::Null);
    debug_assert_eq!(row.len(), CIVIL.fields.len());
    row
}

/// Yearly probability of death by age (roughly Shanghai's life table for the old), before
/// the frailty factor.
fn yearly_mortality(age: u16) -> f64 {
    match age {
        ..70 => 0.008,
        70..80 => 0.022,
        80..90 => 0.065,
        90..100 => 0.17,
        _ => 0.33,
    }
}

/// The death register (死亡登记): whether the person died between their latest civil
/// assessment and `AS_OF`, by age and frailty (about 1.5 % of the generated people), and if
/// so on which day, written into every civil row (a register field). `r` is a stream of its
/// own, so the living's records do not change with it. Their health and insurance records
/// are left as drawn: a claim dated after the death is what a reconciliation catches.
pub fn record_death(r: &mut R, p: &Profile, civil: &mut [Vec<Value>]) {
    let (Some(at), Some(death_at)) = (CIVIL.index_of("assessed_on"), CIVIL.index_of("death_date"))
    else {
        return;
    };
    let Some(Value::Date(latest)) = civil.last().and_then(|row| row.get(at)) else {
        return;
    };
    let window = AS_OF.to_days() - latest.to_days();
    if window < 1 {
        return;
    }
    let years = window as f64 / 365.25;
    let chance = yearly_mortality(age_of(p.who.birth)) * (0.5 + p.frailty) * years;
    if !r.chance(chance.min(1.0)) {
        return;
    }
    let day = latest.to_days()
        + 1
        + i64::try_from(r.below(u64::try_from(window).unwrap_or(1))).unwrap_or(0);
    let Some(died) = Date::from_days(day) else {
        return;
    };
    for row in civil {
        if let Some(cell) = row.get_mut(death_at) {
            *cell = Value::Date(died);
        }
    }
}

/// Canonical ICD-10 codes of the chronic conditions.
pub fn chronic_codes(c: &Conditions) -> Vec<&'static str> {
    // One entry per condition, in the order the codes are listed.
    [
        c.hypertension.then_some("I10"),
        c.diabetes.then_some(if c.diabetes_complicated {
            "E11.2"
        } else {
            "E11.9"
        }),
        c.stroke.then_some("I69.3"),
        c.dementia.then_some("F03"),
        c.chd.then_some("I25.1"),
        c.old_mi.then_some("I25.2"),
        c.heart_failure.then_some("I50.9"),
        c.copd.then_some("J44.9"),
        c.ckd.then_some("N18.3"),
        match c.cancer {
            1 => Some("C34.9"),
            2 => Some("C16.9"),
            3 => Some("C18.9"),
            4 => Some("C50.9"),
            _ => None,
        },
        c.parkinson.then_some("G20"),
        c.osteoporosis.then_some("M81.9"),
        c.cataract.then_some("H25.9"),
    ]
    .into_iter()
    .flatten()
    .collect()
}

fn codes(v: &[&str]) -> Value {
    if v.is_empty() {
        Value::Null
    } else {
        Value::Codes(v.iter().map(|s| (*s).to_string()).collect())
    }
}

/// Health: 1–4 check-ups (oldest first) 150–250 days apart, the latest in the 120 days
/// before `AS_OF`. Weight drifts a little between check-ups; for some people (more of the
/// frail) it falls steadily, 2–5.5 % per check-up.
pub fn health(r: &mut R, p: &Profile) -> Vec<Vec<Value>> {
    let n = visit_count(r);
    let days = visit_days(r, n, 120);
    let height_cm = round_i(clamp(
        r.normal(if p.who.male { 168.0 } else { 156.0 }, 6.0),
        135.0,
        195.0,
    ));
    let bmi = clamp(r.normal(23.5, 3.2), 15.5, 38.0);
    let h_m = height_cm as f64 / 100.0;
    let first = clamp(bmi * h_m * h_m, 32.0, 140.0);
    let losing = r.chance(0.08 + 0.1 * p.frailty);
    let loss_per_visit = 0.02 + 0.035 * r.unit();
    // Blood pressure: the person's usual level, and each visit's reading around it.
    let sbp_usual = r.normal(if p.c.hypertension { 146.0 } else { 124.0 }, 10.0);
    let mut rows = Vec::with_capacity(days.len());
    let mut weight = first;
    let mut before: Option<f64> = None;
    for day in days {
        if before.is_some() {
            let loss = if losing {
                loss_per_visit
            } else {
                r.normal(0.0, 0.015)
            };
            weight = clamp(weight * (1.0 - loss), 30.0, 140.0);
        }
        rows.push(checkup(r, p, day, height_cm, weight, before, sbp_usual));
        before = Some(weight);
    }
    rows
}

fn checkup(
    r: &mut R,
    p: &Profile,
    day: i64,
    height_cm: i64,
    weight: f64,
    before: Option<f64>,
    sbp_usual: f64,
) -> Vec<Value> {
    let c = &p.c;
    let f = p.frailty_on(day);
    let date = Date::from_days(day).unwrap_or(AS_OF);
    let sbp = round_i(clamp(r.normal(sbp_usual, 8.0), 85.0, 220.0));
    let dbp = round_i(clamp(r.normal(80.0, 8.0), 45.0, 120.0)).min(sbp - 20);
    let dx = p.codes_on(day);
    let falls = if r.chance(0.12 + 0.3 * f) {
        1 + i64::from(r.chance(0.3)) + i64::from(r.chance(0.1))
    } else {
        0
    };
    let weight_x10 = round_i(weight * 10.0);
    let mut row = vec![
        text(&p.who.id_number),
        text(&p.who.name),
        Value::Date(date),
        Value::Tenths(height_cm * 10),
        Value::Tenths(weight_x10),
        Value::Int(sbp),
        Value::Int(dbp),
        codes(&dx),
        Value::Int(falls),
    ];
    // Morse
    row.push(Value::Int(if falls > 0 { 25 } else { 0 }));
    row.push(Value::Int(if dx.len() >= 2 { 15 } else { 0 }));
    row.push(Value::Int(if f < 0.3 {
        0
    } else if f < 0.7 {
        15
    } else if r.chance(0.5) {
        30
    } else {
        0
    }));
    row.push(Value::Int(if r.chance(0.03) { 20 } else { 0 }));
    row.push(Value::Int(if f < 0.3 {
        0
    } else if f < 0.6 {
        10
    } else {
        20
    }));
    row.push(Value::Int(if c.dementia || r.chance(0.03) {
        15
    } else {
        0
    }));
    // AD8: 1 yes, 0 no, NULL don't know.
    let p_yes = if c.dementia { 0.7 } else { 0.04 + 0.1 * f };
    for _ in 0..8 {
        row.push(if r.chance(0.02) {
            Value::Null
        } else {
            Value::Int(i64::from(r.chance(p_yes)))
        });
    }
    // MMSE by education and dementia; 5 % not tested.
    let mmse = if c.dementia {
        r.normal(16.0, 5.0)
    } else {
        r.normal(28.0 - (2 - p.education) as f64 * 1.5 - 4.0 * f, 1.8)
    };
    row.push(if r.chance(0.05) {
        Value::Null
    } else {
        Value::Int(round_i(clamp(mmse, 0.0, 30.0)))
    });
    // Braden: 1 (worst) .. 4 (best); friction 1..3.
    for max in [4i64, 4, 4, 4, 4, 3] {
        let x = max as f64 - f * (max - 1) as f64 * (0.7 + 0.5 * r.unit());
        row.push(Value::Int(round_i(x).clamp(1, max)));
    }
    // MNA-SF
    row.push(Value::Int(if f > 0.6 && r.chance(0.5) {
        i64::from(r.chance(0.5))
    } else {
        2
    }));
    let wl = match before {
        _ if r.chance(0.05) => 1,
        Some(b) if b - weight > 3.0 => 0,
        Some(b) if b - weight >= 1.0 => 2,
        _ => 3,
    };
    row.push(Value::Int(wl));
    row.push(Value::Int(if f < 0.3 {
        2
    } else if f < 0.7 {
        1
    } else {
        0
    }));
    row.push(Value::Int(if r.chance(0.1) { 0 } else { 2 }));
    row.push(Value::Int(if c.dementia {
        if f > 0.8 { 0 } else { 1 }
    } else {
        2
    }));
    let bmi = weight / ((height_cm as f64 / 100.0).powi(2));
    row.push(Value::Int(if bmi < 19.0 {
        0
    } else if bmi < 21.0 {
        1
    } else if bmi < 23.0 {
        2
    } else {
        3
    }));
    debug_assert_eq!(row.len(), HEALTH.fields.len());
    row
}

const ACUTE: [&str; 6] = ["J06.9", "K29.7", "M54.5", "R51", "J20.9", "N39.0"];

/// Days before `AS_OF` that claims span: four years, so a condition's first claim can be
/// recent or long past.
const CLAIM_SPAN_DAYS: u64 = 1_460;

/// Medical insurance: outpatient visits and inpatient stays over four years (half of them
/// in the last year); a claim names only conditions diagnosed by its admission.
pub fn insurance(r: &mut R, p: &Profile, index: u64) -> Vec<Vec<Value>> {
    let chronic = !p.onsets.is_empty();
    let visits = if chronic { 1 + r.below(6) } else { r.below(2) };
    let heavy = p.c.heart_failure || p.c.stroke || p.c.cancer > 0;
    let stays = if r.chance(0.08 + 0.25 * p.frailty + if heavy { 0.1 } else { 0.0 }) {
        1 + r.below(2)
    } else {
        0
    };
    let ltc = i64::from(p.care_grade.is_some_and(|g| g >= 2));
    let mut rows = Vec::new();
    for k in 0..(visits + stays).min(15) {
        let inpatient = k >= visits;
        let back = if r.chance(0.5) {
            20 + r.below(345)
        } else {
            365 + r.below(CLAIM_SPAN_DAYS - 365)
        };
        let admit = AS_OF.to_days() - i64::try_from(back).unwrap_or(0);
        let dx = p.codes_on(admit);
        let discharge = inpatient.then(|| admit + 3 + i64::try_from(r.below(18)).unwrap_or(0));
        let mut list: Vec<&str> = Vec::new();
        if (inpatient || (!dx.is_empty() && r.chance(0.7)))
            && let Some(c) = dx.get(usize::try_from(r.below(dx.len() as u64)).unwrap_or(0))
        {
            list.push(c);
        }
        if list.is_empty() || (!inpatient && r.chance(0.3)) {
            list.push(*r.pick(&ACUTE));
        }
        if inpatient {
            for c in &dx {
                if !list.contains(c) && r.chance(0.5) {
                    list.push(c);
                }
            }
        }
        let meds = if inpatient {
            5 + r.below(16)
        } else {
            1 + r.below(6)
        };
        rows.push(vec![
            Value::Text(format!("YB{:012}", index * 16 + k)),
            text(&p.who.id_number),
            text(&p.who.name),
            text(if inpatient { "2" } else { "1" }),
            Value::Date(Date::from_days(admit).unwrap_or(AS_OF)),
            discharge
                .and_then(Date::from_days)
                .map_or(Value::Null, Value::Date),
            codes(&list),
            Value::Int(i64::try_from(meds).unwrap_or(0)),
            Value::Int(ltc),
        ]);
        debug_assert_eq!(rows.last().map(Vec::len), Some(INSURANCE.fields.len()));
    }
    rows
}

/// The spec of each generated department, in `Department::ALL` order.
pub fn specs() -> [&'static TableSpec; 3] {
    [&CIVIL, &HEALTH, &INSURANCE]
}
