//! Worked cases for periodic-v2, expected values written by hand from the model's rules:
//! each output at its boundaries (a slope exactly at the threshold, one visit only, gaps,
//! a resident with health data but no assessment).

mod model_support;

use std::collections::BTreeMap;

use model_support::{eval_plain, model};
use weinong_mpc::model::{InputSource, Model, PERIODIC_V2};

type Subject = BTreeMap<String, i64>;

/// A stable resident: four assessments six months apart, total 80 at each, no falls or
/// events; four check-ups at 60.0 kg and 120/80 mmHg; no Charlson condition ever claimed.
fn baseline(m: &Model) -> Subject {
    let mut s = Subject::new();
    for input in m.inputs() {
        s.insert(input.name.clone(), 0);
    }
    for i in 1..=4 {
        let months = (i - 1) * 6;
        for (name, value) in [
            ("months", months),
            ("total", 80),
            ("falls", 0),
            ("risk_events", 0),
        ] {
            known(m, &mut s, &format!("visit{i}_{name}"), value);
        }
        known(m, &mut s, &format!("checkup{i}_weight"), 600);
        known(m, &mut s, &format!("checkup{i}_sbp"), 120);
        known(m, &mut s, &format!("checkup{i}_dbp"), 80);
    }
    for input in m.inputs() {
        if input.name.ends_with("_first_months") {
            forget(m, &mut s, &input.name.clone());
        }
    }
    s
}

/// The known flag an optional input declares, and its fill.
fn optional(m: &Model, name: &str) -> (String, i64) {
    let (_, decl) = m.input(name).unwrap_or_else(|| panic!("no input {name}"));
    let InputSource::Column {
        optional: Some((fill, flag)),
        ..
    } = &decl.source
    else {
        panic!("{name} is not optional")
    };
    (m.inputs()[flag.index()].name.clone(), *fill)
}

fn known(m: &Model, s: &mut Subject, name: &str, value: i64) {
    let (flag, _) = optional(m, name);
    s.insert(name.to_owned(), value);
    s.insert(flag, 1);
}

/// Marks `name` unknown: its flag 0 and its value the fill, as a node builds it.
fn forget(m: &Model, s: &mut Subject, name: &str) {
    let (flag, fill) = optional(m, name);
    s.insert(name.to_owned(), fill);
    s.insert(flag, 0);
}

/// A whole visit (assessment) missing.
fn no_visit(m: &Model, s: &mut Subject, i: u32) {
    for name in ["months", "total", "falls", "risk_events"] {
        forget(m, s, &format!("visit{i}_{name}"));
    }
}

fn no_checkup(m: &Model, s: &mut Subject, j: u32) {
    for name in ["weight", "sbp", "dbp"] {
        forget(m, s, &format!("checkup{j}_{name}"));
    }
}

fn eval(m: &Model, s: Subject) -> Subject {
    eval_plain(m, &[s]).remove(0)
}

/// Two visits only: `now` this month and `before` `months` months ago.
fn two_visits(m: &Model, now: i64, before: i64, months: i64) -> Subject {
    let mut s = baseline(m);
    no_visit(m, &mut s, 3);
    no_visit(m, &mut s, 4);
    known(m, &mut s, "visit1_total", now);
    known(m, &mut s, "visit2_total", before);
    known(m, &mut s, "visit2_months", months);
    s
}

const REASONS: [&str; 6] = [
    "reason_ability_declining",
    "reason_weight_loss",
    "reason_falls",
    "reason_new_conditions",
    "reason_blood_pressure",
    "reason_risk_events",
];

#[test]
fn a_stable_resident_has_no_reason_and_tier_zero() {
    let m = model(PERIODIC_V2);
    let out = eval(&m, baseline(&m));
    assert_eq!(out["ability_trend"], 1, "stable");
    assert_eq!(out["ability_visits"], 4);
    assert_eq!(out["ability_change"], 0);
    assert_eq!(out["ability_span_months"], 18);
    assert_eq!(out["weight_change"], 0);
    assert_eq!(out["bp_uncontrolled_visits"], 0);
    for reason in REASONS {
        assert_eq!(out[reason], 0, "{reason}");
    }
    assert_eq!(out["risk_tier"], 0);
}

#[test]
fn the_ability_slope_is_compared_at_its_threshold_inclusive() {
    let m = model(PERIODIC_V2);
    // −5 points in exactly one year is −5 points per year: declining (the threshold is
    // inclusive); −4 is stable; +5 is improving, +4 stable.
    for (now, before, want) in [(75, 80, 2), (76, 80, 1), (85, 80, 0), (84, 80, 1)] {
        let out = eval(&m, two_visits(&m, now, before, 12));
        assert_eq!(out["ability_trend"], want, "{before} → {now} in a year");
        assert_eq!(out["reason_ability_declining"], i64::from(want == 2));
        assert_eq!(out["ability_change"], now - before);
        assert_eq!(out["ability_span_months"], 12);
    }
    // Four collinear visits a year apart, five points lost each year: exactly −5 per year.
    // One point less at the oldest visit: less steep, stable.
    let mut s = baseline(&m);
    for (i, total) in [(1, 70), (2, 75), (3, 80), (4, 85)] {
        known(&m, &mut s, &format!("visit{i}_total"), total);
        known(&m, &mut s, &format!("visit{i}_months"), (i - 1) * 12);
    }
    assert_eq!(eval(&m, s.clone())["ability_trend"], 2);
    known(&m, &mut s, "visit4_total", 84);
    assert_eq!(eval(&m, s)["ability_trend"], 1);
}

#[test]
fn one_visit_gives_no_trend_and_missing_visits_are_never_zeros() {
    let m = model(PERIODIC_V2);
    let mut s = baseline(&m);
    for i in 2..=4 {
        no_visit(&m, &mut s, i);
    }
    known(&m, &mut s, "visit1_total", 20);
    let out = eval(&m, s);
    assert_eq!(out["ability_trend"], 3, "one visit: not enough for a trend");
    assert_eq!(out["ability_visits"], 1);
    assert_eq!(out["ability_change"], 0);
    assert_eq!(out["ability_span_months"], 0);
    assert_eq!(out["reason_ability_declining"], 0);

    // A gap: visits 1 and 3 present, 2 missing; the trend uses the two present.
    let mut s = baseline(&m);
    no_visit(&m, &mut s, 2);
    no_visit(&m, &mut s, 4);
    known(&m, &mut s, "visit1_total", 70);
    let out = eval(&m, s);
    assert_eq!(out["ability_visits"], 2);
    assert_eq!(out["ability_change"], -10);
    assert_eq!(out["ability_span_months"], 12);
    assert_eq!(out["ability_trend"], 2, "−10 in 12 months");

    // A visit whose total is unknown (an item missing) keeps its date but not its total: a
    // zero there would read as a collapse of 80 points.
    let mut s = baseline(&m);
    forget(&m, &mut s, "visit1_total");
    let out = eval(&m, s);
    assert_eq!(out["ability_visits"], 3);
    assert_eq!(out["ability_trend"], 1);
    assert_eq!(out["ability_span_months"], 12, "from visit 2 to visit 4");
}

#[test]
fn health_data_without_any_assessment_still_gives_the_health_trends() {
    let m = model(PERIODIC_V2);
    let mut s = baseline(&m);
    for i in 1..=4 {
        no_visit(&m, &mut s, i);
    }
    for (j, w) in [(1, 570), (2, 585), (3, 600), (4, 600)] {
        known(&m, &mut s, &format!("checkup{j}_weight"), w);
    }
    known(&m, &mut s, "checkup1_sbp", 150);
    known(&m, &mut s, "checkup2_sbp", 145);
    known(&m, &mut s, "cci_dementia_first_months", 1);
    let out = eval(&m, s);
    assert_eq!(out["ability_trend"], 3);
    assert_eq!(out["ability_visits"], 0);
    // 600 → 600 is not a step down, so the last pair breaks the run of drops.
    assert_eq!(out["reason_weight_loss"], 0);
    assert_eq!(out["weight_change"], -30);
    assert_eq!(out["reason_blood_pressure"], 1);
    assert_eq!(out["bp_uncontrolled_visits"], 2);
    assert_eq!(
        out["new_conditions"], 0,
        "no visit: nothing is new since one"
    );
    assert_eq!(out["risk_tier"], 1);
}

#[test]
fn sustained_weight_loss_needs_every_step_down_and_the_percentage() {
    let m = model(PERIODIC_V2);
    let weights = |ws: [Option<i64>; 4]| {
        let mut s = baseline(&m);
        for (j, w) in (1..=4).zip(ws) {
            match w {
                Some(w) => known(&m, &mut s, &format!("checkup{j}_weight"), w),
                None => forget(&m, &mut s, &format!("checkup{j}_weight")),
            }
        }
        eval(&m, s)["reason_weight_loss"]
    };
    // 600 → 585 → 570 (latest first: 570, 585, 600): 5.0 % exactly, two steps down.
    assert_eq!(weights([Some(570), Some(585), Some(600), None]), 1);
    assert_eq!(weights([Some(571), Some(585), Some(600), None]), 0, "4.8 %");
    // One step up breaks it.
    assert_eq!(weights([Some(570), Some(605), Some(600), None]), 0);
    // A single step (one pair) is not sustained, however large.
    assert_eq!(weights([Some(500), Some(600), None, None]), 0);
    // A gap in the middle leaves one consecutive pair (3 → 4).
    assert_eq!(weights([Some(500), None, Some(550), Some(600)]), 0);
    // Three steps down over four check-ups.
    assert_eq!(weights([Some(600), Some(620), Some(640), Some(660)]), 1);
    // No weight at the latest check-up: nothing to compare.
    assert_eq!(weights([None, Some(585), Some(600), Some(620)]), 0);
}

#[test]
fn blood_pressure_counts_uncontrolled_check_ups_against_measured_ones() {
    let m = model(PERIODIC_V2);
    let bp = |readings: [(Option<i64>, Option<i64>); 4]| {
        let mut s = baseline(&m);
        for (j, (sbp, dbp)) in (1..=4).zip(readings) {
            for (name, v) in [("sbp", sbp), ("dbp", dbp)] {
                let input = format!("checkup{j}_{name}");
                match v {
                    Some(v) => known(&m, &mut s, &input, v),
                    None => forget(&m, &mut s, &input),
                }
            }
        }
        let out = eval(&m, s);
        (out["bp_uncontrolled_visits"], out["reason_blood_pressure"])
    };
    let ok = (Some(120), Some(80));
    let none = (None, None);
    // 140 systolic and 90 diastolic each count (the thresholds are inclusive).
    assert_eq!(
        bp([(Some(140), Some(80)), (Some(120), Some(90)), ok, ok]),
        (2, 1)
    );
    assert_eq!(
        bp([(Some(139), Some(89)), (Some(120), Some(90)), ok, ok]),
        (1, 0)
    );
    // Two of three measured: at least half.
    assert_eq!(bp([(Some(150), None), (None, Some(95)), ok, none]), (2, 1));
    // One uncontrolled check-up out of one measured is below the two required.
    assert_eq!(bp([(Some(180), None), none, none, none]), (1, 0));
    // The first and the last of four: two of four is half.
    assert_eq!(bp([(Some(150), None), ok, ok, (Some(150), None)]), (2, 1));
    // Not measured is not uncontrolled: two high readings among two measured.
    assert_eq!(
        bp([(Some(150), None), none, none, (Some(150), None)]),
        (2, 1)
    );
}

#[test]
fn falls_and_risk_events_are_counted_from_the_frequencies() {
    let m = model(PERIODIC_V2);
    let with = |changes: &[(&str, i64)]| {
        let mut s = baseline(&m);
        for (name, v) in changes {
            known(&m, &mut s, name, *v);
        }
        eval(&m, s)
    };
    let falls = |changes: &[(&str, i64)]| {
        let out = with(changes);
        (out["falls_visits"], out["reason_falls"])
    };
    assert_eq!(falls(&[("visit1_falls", 2), ("visit2_falls", 1)]), (2, 1));
    // Falls at two assessments, the same each time: not rising, but recorded twice.
    assert_eq!(falls(&[("visit1_falls", 1), ("visit2_falls", 1)]), (2, 1));
    assert_eq!(falls(&[("visit2_falls", 1)]), (1, 0), "earlier, fewer now");
    // One fall now against none before: rising, though only one assessment has falls.
    assert_eq!(falls(&[("visit1_falls", 1)]), (1, 1));
    // Rising needs the previous assessment's record: with visit 2 missing, one visit
    // with falls is neither rising nor repeated.
    let mut s = baseline(&m);
    no_visit(&m, &mut s, 2);
    known(&m, &mut s, "visit1_falls", 1);
    let out = eval(&m, s);
    assert_eq!((out["falls_visits"], out["reason_falls"]), (1, 0));

    // Two events in the 30 days before the latest assessment: GB/T 42195's ≥ 2.
    let out = with(&[("visit1_risk_events", 2), ("visit3_risk_events", 3)]);
    assert_eq!(
        (out["reason_risk_events"], out["risk_events_recorded"]),
        (1, 5)
    );
    let out = with(&[("visit1_risk_events", 1), ("visit2_risk_events", 3)]);
    assert_eq!(
        (out["reason_risk_events"], out["risk_events_recorded"]),
        (0, 4)
    );
}

#[test]
fn charlson_conditions_are_new_when_first_claimed_after_the_earliest_visit() {
    let m = model(PERIODIC_V2);
    let with = |first: &[(&str, i64)], visits: u32| {
        let mut s = baseline(&m);
        for i in (visits + 1)..=4 {
            no_visit(&m, &mut s, i);
        }
        for (c, d) in first {
            known(&m, &mut s, &format!("cci_{c}_first_months"), *d);
        }
        let out = eval(&m, s);
        (out["new_conditions"], out["reason_new_conditions"])
    };
    // The earliest visit is 18 months ago.
    assert_eq!(with(&[("dementia", 17)], 4), (1, 1));
    assert_eq!(
        with(&[("dementia", 18)], 4),
        (0, 0),
        "claimed that month: not new"
    );
    assert_eq!(with(&[("dementia", 120)], 4), (0, 0));
    assert_eq!(
        with(&[("dementia", 10), ("renal", 3), ("pulmonary", 100)], 4),
        (2, 1)
    );
    // One visit (this month): only a condition first claimed this month could be new,
    // and the same month is not after it.
    assert_eq!(with(&[("dementia", 0)], 1), (0, 0));
    // Two visits, the earlier 6 months ago.
    assert_eq!(with(&[("dementia", 5)], 2), (1, 1));
}

#[test]
fn the_tier_sums_the_reasons_with_a_declining_ability_counting_double() {
    let m = model(PERIODIC_V2);
    let declining = two_visits(&m, 70, 80, 12);
    let out = eval(&m, declining.clone());
    assert_eq!((out["reason_ability_declining"], out["risk_tier"]), (1, 2));

    let mut s = declining;
    known(&m, &mut s, "visit1_risk_events", 2);
    let out = eval(&m, s.clone());
    assert_eq!(out["risk_tier"], 3);
    known(&m, &mut s, "visit1_falls", 2);
    known(&m, &mut s, "cci_renal_first_months", 1);
    let out = eval(&m, s);
    assert_eq!(out["risk_tier"], 3, "capped at 3");

    let mut s = baseline(&m);
    known(&m, &mut s, "visit1_risk_events", 2);
    assert_eq!(eval(&m, s)["risk_tier"], 1);
}

#[test]
fn k_is_the_parameter_and_the_declared_visits() {
    let m = model(PERIODIC_V2);
    let k = m
        .params()
        .iter()
        .find(|p| p.name == "history_visits")
        .expect("history_visits")
        .value;
    for prefix in ["visit", "checkup"] {
        let visits = (1..=9)
            .filter(|i| {
                m.inputs()
                    .iter()
                    .any(|input| input.name.starts_with(&format!("{prefix}{i}_")))
            })
            .count();
        assert_eq!(
            i64::try_from(visits).expect("small"),
            k,
            "{prefix}s declared"
        );
    }
}

#[test]
fn no_check_up_at_all_raises_no_health_reason() {
    let m = model(PERIODIC_V2);
    let mut s = baseline(&m);
    for j in 1..=4 {
        no_checkup(&m, &mut s, j);
    }
    let out = eval(&m, s);
    assert_eq!(
        (
            out["weight_change"],
            out["bp_uncontrolled_visits"],
            out["reason_weight_loss"],
            out["reason_blood_pressure"],
        ),
        (0, 0, 0, 0)
    );
}
