//! Worked cases for periodic-v1, expected values written by hand from the model's rules.

mod model_support;

use std::collections::BTreeMap;

use model_support::{eval_plain, model, set_ability_total, with_param};
use weinong_mpc::model::{Model, PERIODIC_V1};

/// Stable resident: total 80 now and last time (grade 1 both), weight steady, no events.
fn baseline(m: &Model) -> BTreeMap<String, i64> {
    let mut s = BTreeMap::new();
    for input in m.inputs() {
        s.insert(input.name.clone(), 0);
    }
    set_ability_total(m, &mut s, 80);
    s.insert("last_ability_total".into(), 80);
    s.insert("last_ability_grade".into(), 1);
    s.insert("weight_now".into(), 600);
    s.insert("weight_6m_ago".into(), 600);
    s.insert("weight_6m_known".into(), 1);
    s
}

fn run(m: &Model, changes: &[(&str, i64)], total: Option<i64>) -> BTreeMap<String, i64> {
    let mut s = baseline(m);
    if let Some(t) = total {
        set_ability_total(m, &mut s, t);
    }
    for (k, v) in changes {
        s.insert((*k).to_owned(), *v);
    }
    eval_plain(m, &[s]).remove(0)
}

#[test]
fn stable_resident_has_no_flags_and_priority_zero() {
    let m = model(PERIODIC_V1);
    let out = run(&m, &[], None);
    for flag in [
        "grade_worsened",
        "ability_dropped",
        "weight_lost",
        "new_falls",
        "new_hospital_stays",
        "reassessment_priority",
    ] {
        assert_eq!(out[flag], 0, "{flag}");
    }
    assert_eq!(out["ability_grade"], 1);
}

/// A change to the baseline: inputs set, the ability total if it changes, and the value
/// one output must then have.
type Case<'a> = (&'a [(&'a str, i64)], Option<i64>, i64);

/// Checks `output` for every case (see [`run`]).
fn check(m: &Model, output: &str, cases: &[Case<'_>]) {
    for (changes, total, want) in cases {
        assert_eq!(
            run(m, changes, *total)[output],
            *want,
            "{output} with {changes:?}, total {total:?}"
        );
    }
}

#[test]
fn grade_worsened_compares_the_adjusted_grade_with_the_last_one() {
    let m = model(PERIODIC_V1);
    check(
        &m,
        "grade_worsened",
        &[
            // 65 is 中度 (2) against 轻度 (1) last time; 66 is still 轻度.
            (&[], Some(65), 1),
            (&[], Some(66), 0),
            // Better than last time is not a decline.
            (&[("last_ability_grade", 3)], None, 0),
            // The dementia adjustment alone makes 80 (轻度) read 中度.
            (&[("icd_dementia", 1)], None, 1),
        ],
    );
}

#[test]
fn ability_drop_at_the_parameter() {
    let m = model(PERIODIC_V1);
    // Default 5: 80 → 75 drops 5 (flag), 80 → 76 drops 4 (no flag); a rise is no drop.
    check(
        &m,
        "ability_dropped",
        &[(&[], Some(75), 1), (&[], Some(76), 0), (&[], Some(90), 0)],
    );
    let m10 = model(&with_param(PERIODIC_V1, "ability_drop_min", 10));
    check(
        &m10,
        "ability_dropped",
        &[(&[], Some(71), 0), (&[], Some(70), 1)],
    );
}

#[test]
fn weight_loss_of_five_percent_in_six_months() {
    let m = model(PERIODIC_V1);
    check(
        &m,
        "weight_lost",
        &[
            // 60.0 kg → 57.0 kg is exactly 5 %; 57.1 kg is 4.83 %.
            (&[("weight_now", 570)], None, 1),
            (&[("weight_now", 571)], None, 0),
            // 80.3 kg → 76.2 kg: 4.1 / 80.3 = 5.1 %.
            (&[("weight_6m_ago", 803), ("weight_now", 762)], None, 1),
            // No earlier weight recorded: not flagged (the output's documented meaning).
            (
                &[
                    ("weight_6m_known", 0),
                    ("weight_6m_ago", 200),
                    ("weight_now", 400),
                ],
                None,
                0,
            ),
            // Weight gain is no loss.
            (&[("weight_now", 700)], None, 0),
        ],
    );
}

#[test]
fn falls_stays_and_priority() {
    let m = model(PERIODIC_V1);
    check(&m, "new_falls", &[(&[("falls_since_last", 1)], None, 1)]);
    check(
        &m,
        "new_hospital_stays",
        &[(&[("hospital_stays_since_last", 2)], None, 1)],
    );
    check(
        &m,
        "reassessment_priority",
        &[
            // One ordinary flag: priority 1; two: 2.
            (&[("falls_since_last", 1)], None, 1),
            (
                &[("falls_since_last", 1), ("hospital_stays_since_last", 1)],
                None,
                2,
            ),
            // A worse grade weighs 2; with one more flag the priority is 3 (the cap).
            // 65: grade worse (2) and a drop of 15 (1).
            (&[], Some(65), 2 + 1),
            (&[("icd_dementia", 1)], None, 2),
            // Capped at 3.
            (
                &[
                    ("falls_since_last", 3),
                    ("hospital_stays_since_last", 1),
                    ("weight_now", 500),
                ],
                Some(40),
                3,
            ),
        ],
    );
}
