//! Worked cases for admission-v1, each expected value written by hand from the instrument
//! tables in `assessment-instruments.md` (not by running the model).

mod model_support;

use std::collections::BTreeMap;

use model_support::{
    BRADEN_ITEMS, CCI_CONDITIONS, admission_baseline, eval_plain, model, set_ability_total,
    set_mna, with_param,
};
use weinong_mpc::model::{ADMISSION_V1, Model};

fn run(model: &Model, subject: &BTreeMap<String, i64>) -> BTreeMap<String, i64> {
    eval_plain(model, std::slice::from_ref(subject)).remove(0)
}

fn subject_with_total(model: &Model, total: i64) -> BTreeMap<String, i64> {
    let mut s = admission_baseline(model);
    set_ability_total(model, &mut s, total);
    s
}

#[test]
fn every_gbt_42195_grade_boundary() {
    let m = model(ADMISSION_V1);
    // 90 能力完好 0; 66–89 轻度 1; 46–65 中度 2; 30–45 重度 3; 0–29 完全 4.
    let cases = [
        (90, 0),
        (89, 1),
        (66, 1),
        (65, 2),
        (46, 2),
        (45, 3),
        (30, 3),
        (29, 4),
        (1, 4),
    ];
    for (total, grade) in cases {
        let out = run(&m, &subject_with_total(&m, total));
        assert_eq!(out["ability_total"], total, "total {total}");
        assert_eq!(out["ability_grade"], grade, "grade at total {total}");
    }
}

/// The ability grade of a subject with ability total `total` and the inputs `extra`.
fn grade_of(model: &Model, total: i64, extra: &[(&str, i64)]) -> i64 {
    let mut s = subject_with_total(model, total);
    for (name, value) in extra {
        s.insert((*name).to_owned(), *value);
    }
    run(model, &s)["ability_grade"]
}

#[test]
fn dementia_or_mental_disorder_worsens_one_grade() {
    let m = model(ADMISSION_V1);
    let dementia = ("icd_dementia", 1);
    let mental = ("icd_mental_disorder", 1);
    let check = |total, extra: &[(&str, i64)], grade, why: &str| {
        assert_eq!(grade_of(&m, total, extra), grade, "{why}");
    };
    check(90, &[dementia], 1, "能力完好 → 轻度失能");
    check(70, &[mental], 2, "轻度 → 中度");
    check(20, &[dementia], 4, "完全失能 stays 完全失能");
    check(70, &[dementia, mental], 2, "both diagnoses are one rule");
}

#[test]
fn two_risk_events_in_30_days_worsen_one_grade_one_does_not() {
    let m = model(ADMISSION_V1);
    for (events, grade) in [(1, 2), (2, 3), (9, 3)] {
        assert_eq!(
            grade_of(&m, 50, &[("risk_events_30d", events)]),
            grade,
            "{events} events"
        );
    }
}

#[test]
fn both_adjustments_add_up_only_when_the_parameter_says_so() {
    let both = [("icd_dementia", 1), ("risk_events_30d", 3)];
    let m = model(ADMISSION_V1);
    assert_eq!(
        grade_of(&m, 70, &both),
        2,
        "default: one grade worse in all"
    );
    let cumulative = model(&with_param(ADMISSION_V1, "adjustments_cumulative", 1));
    assert_eq!(
        grade_of(&cumulative, 70, &both),
        3,
        "cumulative: 轻度 → 重度"
    );
    assert_eq!(grade_of(&cumulative, 40, &both), 4, "capped at 完全失能");
}

#[test]
fn coma_sets_the_grade_directly() {
    let m = model(ADMISSION_V1);
    let mut s = admission_baseline(&m);
    s.insert("gb_consciousness".into(), 0);
    let out = run(&m, &s);
    assert_eq!(out["ability_total"], 88);
    assert_eq!(
        out["ability_grade"], 4,
        "coma → 完全失能 although 88 alone is 轻度"
    );
    let m3 = model(&with_param(ADMISSION_V1, "coma_grade", 3));
    assert_eq!(run(&m3, &s)["ability_grade"], 3, "the ⚠ variant: 重度失能");
    // Coma overrides, it does not add: a total of 10 (完全失能 by itself) in coma under the
    // variant reads 重度失能, as the rule 'directly' says.
    // 12 with 意识水平 at 2 (the helper lowers it last); coma takes those 2 points away.
    let mut low = subject_with_total(&m3, 12);
    low.insert("gb_consciousness".into(), 0);
    assert_eq!(run(&m3, &low)["ability_total"], 10);
    assert_eq!(run(&m3, &low)["ability_grade"], 3);
    // 意识水平 1 is not coma.
    s.insert("gb_consciousness".into(), 1);
    assert_eq!(run(&m, &s)["ability_grade"], 1);
}

fn morse(m: &Model, items: &[(&str, i64)]) -> (i64, BTreeMap<String, i64>) {
    let mut s = admission_baseline(m);
    for (k, v) in items {
        s.insert((*k).to_owned(), *v);
    }
    let out = run(m, &s);
    (out["fall_risk"], out)
}

#[test]
fn every_morse_band_edge() {
    let m = model(ADMISSION_V1);
    // Points: history 25, secondary 15, aid 0/15/30, IV 20, gait 0/10/20, mental 15.
    // Totals are multiples of 5, so 20 and 25 are the two sides of the 25 edge.
    assert_eq!(morse(&m, &[]).0, 0, "0 low");
    assert_eq!(morse(&m, &[("morse_iv_access", 1)]).0, 0, "20 low");
    assert_eq!(morse(&m, &[("morse_fall_history", 1)]).0, 1, "25 moderate");
    let forty_five = [("morse_fall_history", 1), ("morse_iv_access", 1)];
    assert_eq!(morse(&m, &forty_five).0, 1, "45 moderate (>45 is high)");
    let fifty = [
        ("morse_fall_history", 1),
        ("morse_secondary_diagnosis", 1),
        ("morse_gait", 1),
    ];
    assert_eq!(morse(&m, &fifty).0, 2, "50 high");
    let all = [
        ("morse_fall_history", 1),
        ("morse_secondary_diagnosis", 1),
        ("morse_ambulatory_aid", 2),
        ("morse_iv_access", 1),
        ("morse_gait", 2),
        ("morse_mental_status", 1),
    ];
    assert_eq!(morse(&m, &all).0, 2, "125 high");
    assert_eq!(
        morse(&m, &[("morse_ambulatory_aid", 1)]).0,
        0,
        "15 (cane) low"
    );
    assert_eq!(
        morse(&m, &[("morse_ambulatory_aid", 2)]).0,
        1,
        "30 (furniture) moderate"
    );

    let m45 = model(&with_param(ADMISSION_V1, "morse_high_min", 45));
    assert_eq!(
        morse(&m45, &forty_five).0,
        2,
        "45 high when 45 itself counts"
    );
    let forty = [("morse_fall_history", 1), ("morse_secondary_diagnosis", 1)];
    assert_eq!(morse(&m45, &forty).0, 1, "40 moderate");

    let m51 = model(&with_param(ADMISSION_V1, "morse_high_min", 51));
    assert_eq!(
        morse(&m51, &fifty).0,
        1,
        "50 moderate on the original scale"
    );
    let fifty_five = [("morse_fall_history", 1), ("morse_ambulatory_aid", 2)];
    assert_eq!(
        morse(&m51, &fifty_five).0,
        2,
        "55 high on the original scale"
    );
}

fn charlson(m: &Model, age: i64, conditions: &[&str]) -> i64 {
    let mut s = admission_baseline(m);
    s.insert("age_years".into(), age);
    for c in conditions {
        s.insert((*c).to_owned(), 1);
    }
    run(m, &s)["charlson_index"]
}

#[test]
fn charlson_weights_and_hierarchy() {
    let m = model(ADMISSION_V1);
    // Age 50: no age points, so these are condition points only.
    assert_eq!(charlson(&m, 50, &[]), 0);
    assert_eq!(
        charlson(&m, 50, &["cci_diabetes"]),
        1,
        "diabetes without complications"
    );
    assert_eq!(
        charlson(&m, 50, &["cci_diabetes_complicated"]),
        2,
        "with complications"
    );
    assert_eq!(
        charlson(&m, 50, &["cci_diabetes", "cci_diabetes_complicated"]),
        2,
        "only the heavier"
    );
    assert_eq!(charlson(&m, 50, &["cci_malignancy"]), 2);
    assert_eq!(charlson(&m, 50, &["cci_metastatic"]), 6);
    assert_eq!(
        charlson(&m, 50, &["cci_malignancy", "cci_metastatic"]),
        6,
        "metastatic plus any malignancy"
    );
    assert_eq!(charlson(&m, 50, &["cci_liver_mild"]), 1);
    assert_eq!(charlson(&m, 50, &["cci_liver_severe"]), 3);
    assert_eq!(charlson(&m, 50, &["cci_liver_mild", "cci_liver_severe"]), 3);
    assert_eq!(
        charlson(&m, 50, &["cci_hemiplegia", "cci_renal", "cci_aids"]),
        2 + 2 + 6
    );
    // 8 × 1, liver 3, diabetes 2, hemiplegia 2, renal 2, cancer 6, AIDS 6.
    assert_eq!(charlson(&m, 50, &CCI_CONDITIONS), 8 + 3 + 2 + 2 + 2 + 6 + 6);
}

#[test]
fn charlson_age_points_and_their_variant() {
    let m = model(ADMISSION_V1);
    // ≤50 0, 51–60 1, 61–70 2, 71–80 3, >80 4.
    for (age, points) in [
        (50, 0),
        (51, 1),
        (60, 1),
        (61, 2),
        (70, 2),
        (71, 3),
        (80, 3),
        (81, 4),
        (105, 4),
    ] {
        assert_eq!(charlson(&m, age, &[]), points, "age {age}");
    }
    assert_eq!(charlson(&m, 75, &["cci_renal"]), 3 + 2);
    let mut variant = ADMISSION_V1.to_owned();
    for (name, v) in [
        ("charlson_age_1_min", 50),
        ("charlson_age_2_min", 60),
        ("charlson_age_3_min", 70),
        ("charlson_age_4_min", 80),
    ] {
        variant = with_param(&variant, name, v);
    }
    let m = model(&variant);
    for (age, points) in [
        (49, 0),
        (50, 1),
        (59, 1),
        (60, 2),
        (69, 2),
        (70, 3),
        (79, 3),
        (80, 4),
    ] {
        assert_eq!(
            charlson(&m, age, &[]),
            points,
            "age {age}, cut at 50/60/70/80"
        );
    }
}

#[test]
fn without_age_points_the_age_input_must_go() {
    // Data minimisation: the compiler refuses an input that no output needs.
    let err = weinong_mpc::model::compile(&with_param(ADMISSION_V1, "charlson_age_points", 0))
        .expect_err("age_years is then unused");
    let text = err.to_string();
    assert!(text.contains("inputs.age_years"), "{text}");
    assert!(text.contains("no output depends on it"), "{text}");
}

#[test]
fn ad8_mmse_and_braden_edges() {
    let m = model(ADMISSION_V1);
    let mut s = admission_baseline(&m);
    s.insert("ad8_repeats".into(), 1);
    assert_eq!(run(&m, &s)["ad8_positive"], 0, "AD8 1");
    s.insert("ad8_month_year".into(), 1);
    assert_eq!(run(&m, &s)["ad8_positive"], 1, "AD8 2");

    // Illiterate ≤17, primary ≤20, secondary or above ≤24: (education, cut-off); each
    // level is checked at its cut-off, just above it, and at the scale's ends.
    for (education, cutoff) in [(0, 17), (1, 20), (2, 24)] {
        for (score, suspected) in [(cutoff, 1), (cutoff + 1, 0), (0, 1), (30, 0)] {
            let mut s = admission_baseline(&m);
            s.insert("education".into(), education);
            s.insert("mmse_total".into(), score);
            assert_eq!(
                run(&m, &s)["mmse_dementia_suspected"],
                suspected,
                "education {education}, MMSE {score}"
            );
        }
    }

    // ≤9 very high 4; 10–12 high 3; 13–14 moderate 2; 15–18 mild 1; ≥19 none 0.
    for (total, risk) in [
        (6, 4),
        (9, 4),
        (10, 3),
        (12, 3),
        (13, 2),
        (14, 2),
        (15, 1),
        (18, 1),
        (19, 0),
        (23, 0),
    ] {
        let mut s = admission_baseline(&m);
        let mut left = total - 6; // every item at its minimum 1 gives 6
        for item in BRADEN_ITEMS {
            let room = if item == "braden_friction" { 2 } else { 3 };
            let add = left.min(room);
            s.insert(item.into(), 1 + add);
            left -= add;
        }
        assert_eq!(left, 0);
        assert_eq!(run(&m, &s)["braden_risk"], risk, "Braden {total}");
    }
}

fn mna(m: &Model, items: [i64; 5], bmi: Option<i64>, calf: Option<i64>) -> i64 {
    let mut s = admission_baseline(m);
    set_mna(&mut s, items, bmi, calf);
    run(m, &s)["mna_sf_status"]
}

#[test]
fn mna_sf_with_and_without_bmi() {
    let m = model(ADMISSION_V1);
    // Items: food 2, weight loss 3, mobility 2, stress 'no' (input 0 → 2 points), neuro 2 = 11.
    let eleven = [2, 3, 2, 0, 2];
    // BMI <19 0, 19–<21 1, 21–<23 2, ≥23 3; 12–14 normal 0, 8–11 at risk 1, 0–7 malnourished 2.
    assert_eq!(mna(&m, eleven, Some(189), None), 1, "11 + 0 = 11 at risk");
    assert_eq!(mna(&m, eleven, Some(190), None), 0, "11 + 1 = 12 normal");
    assert_eq!(mna(&m, eleven, Some(229), None), 0, "11 + 2 = 13");
    assert_eq!(
        mna(&m, eleven, Some(230), Some(200)),
        0,
        "BMI wins over calf"
    );
    // food 0, weight loss 0, mobility 0, stress 'yes' (0 points), neuro 2 = 2.
    let two = [0, 0, 0, 1, 2];
    assert_eq!(mna(&m, two, Some(230), None), 2, "2 + 3 = 5 malnourished");
    // food 1, weight loss 2, mobility 0, stress yes, neuro 1 = 4; +3 = 7, +? edges 7/8.
    assert_eq!(
        mna(&m, [1, 2, 0, 1, 1], Some(230), None),
        2,
        "4 + 3 = 7 malnourished"
    );
    assert_eq!(
        mna(&m, [1, 2, 1, 1, 1], Some(230), None),
        1,
        "5 + 3 = 8 at risk"
    );
    // Without BMI: calf <31 cm 0, ≥31 cm 3.
    assert_eq!(mna(&m, eleven, None, Some(309)), 1, "11 + 0 = 11 at risk");
    assert_eq!(mna(&m, eleven, None, Some(310)), 0, "11 + 3 = 14 normal");
    assert_eq!(
        mna(&m, [1, 2, 1, 1, 1], None, Some(310)),
        1,
        "5 + 3 = 8 at risk"
    );
    assert_eq!(
        mna(&m, eleven, None, None),
        3,
        "neither measure: not scored, never a silent 0"
    );
}
