//! Helpers shared by the model tests: named subjects over a baseline, evaluation by name.

#![allow(dead_code, reason = "each test file uses a different subset")]

use std::collections::BTreeMap;

use weinong_mpc::model::{InputBatch, Model, compile, evaluate_plain};

/// Compiles `source`, or fails the test with the compiler's message.
pub fn model(source: &str) -> Model {
    compile(source).unwrap_or_else(|e| panic!("shipped spec must compile: {e}"))
}

/// `source` with the `value = ...` line of parameter `name` replaced.
pub fn with_param(source: &str, name: &str, value: i64) -> String {
    let header = format!("[params.{name}]\nvalue = ");
    let start = source
        .find(&header)
        .unwrap_or_else(|| panic!("no parameter {name}"))
        + header.len();
    let end = start + source[start..].find('\n').expect("line end");
    format!("{}{value}{}", &source[..start], &source[end..])
}

/// The admission baseline: fully able (total 90), no risks, every screen normal.
pub fn admission_baseline(model: &Model) -> BTreeMap<String, i64> {
    let mut subject = BTreeMap::new();
    for input in model.inputs() {
        // Items are at their maximum (most able); flags and counts at 0.
        subject.insert(input.name.clone(), input.range.max);
    }
    for input in model.inputs() {
        let v = match input.name.as_str() {
            n if n.starts_with("icd_")
                || n.starts_with("cci_")
                || n.starts_with("morse_")
                || n.starts_with("ad8_") =>
            {
                0
            }
            "risk_events_30d" => 0,
            "age_years" => 70,
            "education" => 2,
            "mna_acute_stress" => 0,
            "bmi" => 235,
            "calf_circumference" => 320,
            "bmi_known" | "calf_known" => 1,
            _ => continue,
        };
        subject.insert(input.name.clone(), v);
    }
    subject
}

/// The Morse fall-scale items of admission-v1, in the instrument's order.
#[rustfmt::skip]
pub const MORSE_ITEMS: [&str; 6] = [
    "morse_fall_history", "morse_secondary_diagnosis", "morse_ambulatory_aid",
    "morse_iv_access", "morse_gait", "morse_mental_status",
];

/// The Charlson conditions of admission-v1: first the ten worth 1 point, then the rest.
pub const CCI_CONDITIONS: [&str; 17] = [
    "cci_myocardial_infarction",
    "cci_heart_failure",
    "cci_peripheral_vascular",
    "cci_cerebrovascular",
    "cci_dementia",
    "cci_pulmonary",
    "cci_rheumatic",
    "cci_peptic_ulcer",
    "cci_liver_mild",
    "cci_diabetes",
    "cci_diabetes_complicated",
    "cci_hemiplegia",
    "cci_renal",
    "cci_malignancy",
    "cci_liver_severe",
    "cci_metastatic",
    "cci_aids",
];

/// The AD8 items of admission-v1, in the instrument's order.
#[rustfmt::skip]
pub const AD8_ITEMS: [&str; 8] = [
    "ad8_judgment", "ad8_interest", "ad8_repeats", "ad8_gadgets",
    "ad8_month_year", "ad8_finances", "ad8_appointments", "ad8_daily_memory",
];

/// The Braden items of admission-v1; each scores from 1 to 4, friction from 1 to 3.
#[rustfmt::skip]
pub const BRADEN_ITEMS: [&str; 6] = [
    "braden_sensory", "braden_moisture", "braden_activity",
    "braden_mobility", "braden_nutrition", "braden_friction",
];

/// Sets the MNA-SF inputs: the five items (food, weight loss, mobility, acute stress,
/// neuropsych), then BMI and calf circumference, each with its known flag (an unknown one
/// holds a placeholder in range).
pub fn set_mna(
    subject: &mut BTreeMap<String, i64>,
    items: [i64; 5],
    bmi: Option<i64>,
    calf: Option<i64>,
) {
    let names = [
        "mna_food_intake",
        "mna_weight_loss",
        "mna_mobility",
        "mna_acute_stress",
        "mna_neuropsych",
    ];
    for (name, value) in names.iter().zip(items) {
        subject.insert((*name).to_owned(), value);
    }
    subject.insert("bmi".into(), bmi.unwrap_or(100));
    subject.insert("bmi_known".into(), i64::from(bmi.is_some()));
    subject.insert("calf_circumference".into(), calf.unwrap_or(100));
    subject.insert("calf_known".into(), i64::from(calf.is_some()));
}

/// The GB/T 42195 items, in reduction order; 意识水平 comes last so that lowering the total
/// reaches coma only when asked; grouped by part of the standard.
#[rustfmt::skip]
pub const GBT_ITEMS: [&str; 26] = [
    // 自理能力
    "gb_eating", "gb_grooming", "gb_bathing", "gb_dress_upper", "gb_dress_lower",
    "gb_urine", "gb_bowel", "gb_toilet",
    // 基础运动能力
    "gb_bed_transfer", "gb_chair_transfer", "gb_walking", "gb_stairs",
    // 精神状态, but for 意识水平
    "gb_orient_time", "gb_orient_place", "gb_orient_person", "gb_memory",
    "gb_understanding", "gb_expression", "gb_aggression", "gb_depression",
    // 感知觉与社会参与
    "gb_vision", "gb_hearing", "gb_daily_affairs", "gb_transport", "gb_social",
    // 意识水平
    "gb_consciousness",
];

/// Sets the GB/T 42195 items so they total `total` (1..=90) with 意识水平 ≥ 1 (no coma).
pub fn set_ability_total(model: &Model, subject: &mut BTreeMap<String, i64>, total: i64) {
    assert!(
        (1..=90).contains(&total),
        "totals 1..=90 are reachable without coma"
    );
    let mut deficit = 90 - total;
    for item in GBT_ITEMS {
        let (_, decl) = model.input(item).expect("GB/T item declared");
        subject.insert(item.to_owned(), decl.range.max);
        let floor = if item == "gb_consciousness" { 1 } else { 0 };
        let cut = deficit.min(decl.range.max - floor);
        subject.insert(item.to_owned(), decl.range.max - cut);
        deficit -= cut;
    }
    assert_eq!(deficit, 0);
}

/// Evaluates subjects (maps from input name to value) with the plaintext backend and
/// returns each subject's outputs by name.
pub fn eval_plain(model: &Model, subjects: &[BTreeMap<String, i64>]) -> Vec<BTreeMap<String, i64>> {
    let batch = batch(model, subjects);
    let out = evaluate_plain(model, &batch);
    (0..subjects.len())
        .map(|row| {
            model
                .outputs()
                .iter()
                .zip(out.row(row))
                .map(|(o, v)| (o.name.clone(), v))
                .collect()
        })
        .collect()
}

/// Builds a batch from named subjects; every input must be named.
pub fn batch(model: &Model, subjects: &[BTreeMap<String, i64>]) -> InputBatch {
    let columns = model
        .inputs()
        .iter()
        .map(|input| {
            subjects
                .iter()
                .map(|s| {
                    *s.get(&input.name)
                        .unwrap_or_else(|| panic!("subject lacks {}", input.name))
                })
                .collect()
        })
        .collect();
    InputBatch::new(model, columns).unwrap_or_else(|e| panic!("valid batch: {e}"))
}
