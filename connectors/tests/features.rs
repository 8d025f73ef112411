//! Feature extraction against the shipped models and hand-computed rows: import files whose
//! expected features are worked out here by hand (snapshots, and histories of assessments,
//! check-ups and first claims), load them, compare (SQLite and PostgreSQL); generate 1,000
//! people and check that every model input is a feature of its holder, lies in its
//! declared range, and that each shipped model runs on them in plaintext; corrupt stored
//! values give typed errors.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::TestStore;
use weinong_connectors::date::Date;
use weinong_connectors::synth::{AS_OF, synthetic_secrets};
use weinong_connectors::{
    ConnectorError, Department, FeatureTable, ImportOptions, Mapping, feature_names, import_file,
    load_features,
};
use weinong_keys::{ResidentId, SubjectPseudonym, check_char};
use weinong_mpc::model::{
    Holder, InputBatch, InputSource, Model, SHIPPED, compile, evaluate_plain,
};

const SEED: u64 = 4_242;

fn date(y: u16, m: u8, d: u8) -> Date {
    Date::new(y, m, d).expect("valid date")
}

/// A valid GB 11643 number for a Shanghai (黄浦区) birth date and sequence.
fn id_number(birth: &str, seq: &str) -> String {
    let mut id = [b'0'; 18];
    let body = format!("310101{birth}{seq}");
    id[..17].copy_from_slice(body.as_bytes());
    id[17] = check_char(&id);
    String::from_utf8(id.to_vec()).expect("ascii")
}

// --- hand-computed rows -----------------------------------------------------------------

struct People {
    a: String,
    b: String,
    c: String,
    d: String,
}

fn people() -> People {
    People {
        a: id_number("19500701", "011"),
        b: id_number("19480229", "022"),
        c: id_number("19400315", "031"),
        d: id_number("19450101", "041"),
    }
}

const GB_HEADER: &str = "gb_eating,gb_grooming,gb_bathing,gb_dress_upper,gb_dress_lower,gb_urine,gb_bowel,gb_toilet,gb_bed_transfer,gb_chair_transfer,gb_walking,gb_stairs,gb_orient_time,gb_orient_place,gb_orient_person,gb_memory,gb_understanding,gb_expression,gb_aggression,gb_depression,gb_consciousness,gb_vision,gb_hearing,gb_daily_affairs,gb_transport,gb_social";
// A: self-care 27, motor 12, mental 27, perception/social 11: total 77.
const A_ITEMS: [i64; 26] = [
    4, 3, 2, 4, 3, 4, 4, 3, 4, 3, 3, 2, 4, 4, 4, 3, 4, 4, 1, 1, 2, 2, 1, 3, 2, 3,
];
// B: every item at its maximum except 意识水平 0 (coma): total 88.
const B_ITEMS: [i64; 26] = [
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 3, 4, 4, 4, 4, 4, 4, 1, 1, 0, 2, 2, 4, 3, 4,
];

fn join(items: &[i64]) -> String {
    items
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

fn write_hand_files(dir: &Path, p: &People) {
    let civil = format!(
        "id_number,name,sex,birth_date,district,education,living_alone,care_grade,assessed_on,{GB_HEADER},risk_fall_30d,risk_choking_30d,risk_self_harm_30d,risk_wandering_30d\n\
         {a},王建国,1,1950-07-01,310101,1,0,2,2026-03-15,{ai},1,0,0,1\n\
         {b},李秀英,2,1948-02-29,310101,0,1,5,2025-12-01,{bi},0,0,0,0\n\
         {c},陈志强,1,1940-03-15,310101,2,0,,2026-08-01,{bi},0,0,0,0\n",
        a = p.a,
        b = p.b,
        c = p.c,
        ai = join(&A_ITEMS),
        bi = join(&B_ITEMS),
    );
    std::fs::write(dir.join("civil.csv"), civil).expect("write civil");
    let health = format!(
        "id_number,name,exam_date,height_cm,weight_kg,falls_12m,morse_history,morse_secondary_dx,morse_aid,morse_iv,morse_gait,morse_mental,ad8_judgment,ad8_interest,ad8_repeats,ad8_learning,ad8_month_year,ad8_finances,ad8_appointments,ad8_memory,mmse,braden_sensory,braden_moisture,braden_activity,braden_mobility,braden_nutrition,braden_friction,mna_intake,mna_weight_loss,mna_mobility,mna_stress,mna_neuro,mna_bmi\n\
         {a},王建国,2025-10-01,165.0,72.0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,27,4,4,4,4,4,3,2,3,2,2,2,3\n\
         {a},王建国,2025-12-20,165.0,70.0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,26,4,4,4,4,4,3,2,3,2,2,2,3\n\
         {a},王建国,2026-06-10,165.0,65.5,2,25,15,30,0,10,15,1,0,1,1,,0,1,1,22,3,2,3,3,2,2,1,2,1,0,1,3\n\
         {a},王建国,2026-07-15,165.0,50.0,5,25,15,30,20,20,15,1,1,1,1,1,1,1,1,10,1,1,1,1,1,1,0,0,0,0,0,0\n\
         {b},李秀英,2026-05-01,,48.0,0,0,0,0,0,0,0,,,,,,,,,,4,4,4,4,4,3,2,3,2,2,2,\n",
        a = p.a,
        b = p.b,
    );
    std::fs::write(dir.join("health.csv"), health).expect("write health");
    let insurance = format!(
        "claim_id,id_number,name,setting,admit_date,discharge_date,diagnoses,medication_count,ltc_insured\n\
         YB1,{a},王建国,2,2025-09-01,2025-09-10,I25.2;E11.2,8,1\n\
         YB2,{a},王建国,2,2025-06-01,2025-06-05,F03,6,1\n\
         YB3,{a},王建国,1,2026-05-01,,I10;J44.9,2,1\n\
         YB4,{a},王建国,2,2026-07-10,2026-07-20,C78.0,9,1\n\
         YB5,{b},李秀英,2,2026-06-30,,F32.9,4,0\n\
         YB6,{c},陈志强,1,2026-07-01,,I10,1,0\n",
        a = p.a,
        b = p.b,
        c = p.c,
    );
    std::fs::write(dir.join("insurance.csv"), insurance).expect("write insurance");
}

fn pseudonym(id: &str) -> SubjectPseudonym {
    let secrets = synthetic_secrets(SEED);
    SubjectPseudonym::derive(&secrets.pepper, &ResidentId::parse(id).expect("valid id"))
}

/// Expected features by name (`None`: the feature is missing).
type Expected = [(&'static str, Option<i64>)];

/// The row of subject `i` as a name → value map (only the named features are compared).
fn check(table: &FeatureTable, i: usize, want: &[(&str, Option<i64>)]) {
    let row = table.row(i).expect("a row");
    assert_eq!(row.len(), table.names().len());
    for (name, value) in want {
        let at = table
            .names()
            .iter()
            .position(|n| n == name)
            .unwrap_or_else(|| panic!("no feature {name}"));
        assert_eq!(row[at], *value, "subject {i}, feature {name}");
    }
}

/// Checks B's features (row 1), and that C and D (rows 2 and 3) have none: in every
/// department C's records are all after `as_of` or absent, and D has none.
fn check_b(table: &FeatureTable, want: &[(&str, Option<i64>)]) {
    check(table, 1, want);
    assert!(table.row(2).is_none(), "C has no features");
    assert!(table.row(3).is_none(), "D has no features");
}

/// Checks A's features: the request names A first and again last (rows 0 and 4), and
/// both rows must hold them.
fn check_a(table: &FeatureTable, want: &[(&str, Option<i64>)]) {
    check(table, 0, want);
    check(table, 4, want);
}

/// Imports `civil.csv`, `health.csv` and `insurance.csv` from `dir`, every row stored.
async fn import_hand_files(s: &TestStore, dir: &Path) {
    let secrets = synthetic_secrets(SEED);
    for (d, file) in [
        (Department::CivilAffairs, "civil.csv"),
        (Department::Health, "health.csv"),
        (Department::MedicalInsurance, "insurance.csv"),
    ] {
        let report = import_file(
            &s.store,
            d,
            &dir.join(file),
            &Mapping::default(),
            &secrets,
            &ImportOptions::default(),
        )
        .await
        .expect("import");
        assert_eq!(
            report.rows_stored, report.rows_read,
            "{d}: every row stored"
        );
    }
}

async fn hand_computed(s: &TestStore) {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = people();
    write_hand_files(dir.path(), &p);
    import_hand_files(s, dir.path()).await;
    let (a, b, c, d) = (
        pseudonym(&p.a),
        pseudonym(&p.b),
        pseudonym(&p.c),
        pseudonym(&p.d),
    );
    // A twice: a duplicate in the request gets the same row in both places.
    let subjects = [a, b, c, d, a];
    let as_of = date(2026, 6, 30);

    let civil = load_features(&s.store, Department::CivilAffairs, &subjects, as_of)
        .await
        .expect("civil features");
    assert_eq!(civil.len(), 5);
    assert_eq!(civil.names(), feature_names(Department::CivilAffairs));
    let mut want_a: Vec<(&str, Option<i64>)> = vec![
        // Born 1950-07-01: 75 on 2026-06-30, the day before the birthday.
        ("age_years", Some(75)),
        ("education", Some(1)),
        ("risk_events_30d", Some(2)),
        // A's only assessment stands in for the one before it.
        ("last_ability_total", Some(77)),
        // 77 → 轻度失能 (1); two risk events → one worse.
        ("last_ability_grade", Some(2)),
        // 2026-03-15 is 3 whole months before 2026-06-30.
        ("visit1_months", Some(3)),
        ("visit1_total", Some(77)),
        ("visit1_falls", Some(1)),
        ("visit1_risk_events", Some(2)),
        ("visit2_months", None),
        ("visit2_total", None),
        ("visit2_falls", None),
        ("visit2_risk_events", None),
    ];
    for (name, v) in GB_HEADER.split(',').zip(A_ITEMS) {
        want_a.push((name, Some(v)));
    }
    check_a(&civil, &want_a);
    // C's only assessment is dated after as_of; D is unknown to civil affairs.
    check_b(
        &civil,
        &[
            // 29 February 1948: 78 by 30 June 2026.
            ("age_years", Some(78)),
            ("education", Some(0)),
            ("risk_events_30d", Some(0)),
            ("last_ability_total", Some(88)),
            // 88 would be grade 1; coma sets 完全失能.
            ("last_ability_grade", Some(4)),
            ("gb_consciousness", Some(0)),
        ],
    );
    assert!(civil.row(5).is_none(), "out of range index");
    assert_eq!(
        civil.column("age_years"),
        Some(vec![Some(75), Some(78), None, None, Some(75)])
    );
    assert_eq!(civil.column("calf_circumference"), None);

    let health = load_features(&s.store, Department::Health, &subjects, as_of)
        .await
        .expect("health features");
    assert_eq!(health.names(), feature_names(Department::Health));
    let want_a = [
        ("morse_fall_history", Some(1)),
        ("morse_secondary_diagnosis", Some(1)),
        ("morse_ambulatory_aid", Some(2)),
        ("morse_iv_access", Some(0)),
        ("morse_gait", Some(1)),
        ("morse_mental_status", Some(1)),
        ("ad8_judgment", Some(1)),
        ("ad8_interest", Some(0)),
        ("ad8_repeats", Some(1)),
        ("ad8_gadgets", Some(1)),
        // Stored empty: "don't know", not scored.
        ("ad8_month_year", Some(0)),
        ("ad8_finances", Some(0)),
        ("ad8_appointments", Some(1)),
        ("ad8_daily_memory", Some(1)),
        ("mmse_total", Some(22)),
        ("braden_sensory", Some(3)),
        ("braden_moisture", Some(2)),
        ("braden_activity", Some(3)),
        ("braden_mobility", Some(3)),
        ("braden_nutrition", Some(2)),
        ("braden_friction", Some(2)),
        ("mna_food_intake", Some(1)),
        ("mna_weight_loss", Some(2)),
        ("mna_mobility", Some(1)),
        // Stored 0 points = "yes, acute stress".
        ("mna_acute_stress", Some(1)),
        ("mna_neuropsych", Some(1)),
        // 65.5 kg / 1.65² m² = 24.0588… → 24.1.
        ("bmi", Some(241)),
        ("calf_circumference", None),
        ("falls_since_last", Some(2)),
        ("weight_now", Some(655)),
        // 2025-12-20 is 172 days before 2026-06-10 (2025-10-01: 252 days, farther from 183).
        ("weight_6m_ago", Some(700)),
        // History, latest first: 2026-06-10 (0 whole months), 2025-12-20 (6), 2025-10-01
        // (8); 2026-07-15 is after as_of. The file has no blood-pressure columns.
        ("checkup1_months", Some(0)),
        ("checkup1_weight", Some(655)),
        ("checkup1_sbp", None),
        ("checkup1_dbp", None),
        ("checkup2_months", Some(6)),
        ("checkup2_weight", Some(700)),
        ("checkup2_sbp", None),
        ("checkup2_dbp", None),
        ("checkup3_months", Some(8)),
        ("checkup3_weight", Some(720)),
        ("checkup3_sbp", None),
        ("checkup3_dbp", None),
        ("checkup4_months", None),
        ("checkup4_weight", None),
        ("checkup4_sbp", None),
        ("checkup4_dbp", None),
    ];
    assert_eq!(want_a.len(), feature_names(Department::Health).len());
    check_a(&health, &want_a);
    check_b(
        &health,
        &[
            ("bmi", None),
            ("weight_6m_ago", None),
            ("mmse_total", None),
            ("weight_now", Some(480)),
            ("morse_ambulatory_aid", Some(0)),
            ("ad8_judgment", Some(0)),
            ("ad8_daily_memory", Some(0)),
            ("mna_acute_stress", Some(0)),
            ("falls_since_last", Some(0)),
        ],
    );

    let insurance = load_features(&s.store, Department::MedicalInsurance, &subjects, as_of)
        .await
        .expect("insurance features");
    assert_eq!(
        insurance.names(),
        feature_names(Department::MedicalInsurance)
    );
    let on = [
        "icd_dementia",
        "cci_dementia",
        "cci_myocardial_infarction",
        "cci_diabetes_complicated",
        "cci_pulmonary",
    ];
    let want_a: Vec<(&str, Option<i64>)> = feature_names(Department::MedicalInsurance)
        .iter()
        .map(|n| match *n {
            // YB1 (302 days before) counts; YB2 (394 days) is outside the window; YB4 is later.
            "hospital_stays_since_last" => (*n, Some(1)),
            // First claims: YB1 (2025-09-01: 9 whole months), YB2 (2025-06-01: 12), YB3
            // (2026-05-01: 1); YB4 (C78.0) is later.
            "cci_myocardial_infarction_first_months" | "cci_diabetes_complicated_first_months" => {
                (*n, Some(9))
            }
            "cci_dementia_first_months" => (*n, Some(12)),
            "cci_pulmonary_first_months" => (*n, Some(1)),
            n if n.ends_with("_first_months") => (n, None),
            n if on.contains(&n) => (n, Some(1)),
            n => (n, Some(0)),
        })
        .collect();
    // C's only claim is after as_of.
    check_b(
        &insurance,
        &[
            ("icd_mental_disorder", Some(1)),
            ("icd_dementia", Some(0)),
            // Admitted on as_of itself: inside the window.
            ("hospital_stays_since_last", Some(1)),
        ],
    );
    check_a(&insurance, &want_a);

    // As of a later date, A's 2026-07-15 check-up and 2026-07-10 stay count.
    let later_cases: [(Department, &Expected); 2] = [
        (
            Department::Health,
            &[
                ("weight_now", Some(500)),
                // From 2026-07-15: 2026-06-10 is 35 days before (too close), 2025-12-20 207
                // days (inside 91–274), 2025-10-01 287 days (too far).
                ("weight_6m_ago", Some(700)),
                ("mmse_total", Some(10)),
            ],
        ),
        (
            Department::MedicalInsurance,
            &[
                ("hospital_stays_since_last", Some(2)),
                ("cci_metastatic", Some(1)),
            ],
        ),
    ];
    for (d, want) in later_cases {
        let later = load_features(&s.store, d, &[a], date(2026, 8, 1))
            .await
            .expect("later");
        check(&later, 0, want);
    }

    let empty = load_features(&s.store, Department::CivilAffairs, &[], as_of)
        .await
        .expect("empty request");
    assert!(empty.is_empty());
}

both_stores!(
    hand_computed_features_sqlite,
    hand_computed_features_postgres,
    hand_computed
);

// --- histories: assessments, check-ups, first claims --------------------------------------

/// Every GB/T 42195 item at its maximum: total 90.
const MAX_ITEMS: [i64; 26] = [
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 3, 4, 4, 4, 4, 4, 4, 1, 1, 2, 2, 2, 4, 3, 4,
];

/// The items at their maximum less `less` points, taken from the first items (进食, 修饰,
/// 洗澡, …) down to 0 each: total 90 − less.
fn items_less(less: i64) -> String {
    let mut items = MAX_ITEMS;
    let mut left = less;
    for item in &mut items {
        let take = left.min(*item);
        *item -= take;
        left -= take;
    }
    join(&items)
}

/// One civil row: items as CSV text (26 fields), then the four frequency codes.
fn civil_row(id: &str, name: &str, on: &str, items: &str, risks: [i64; 4]) -> String {
    format!(
        "{id},{name},1,,310101,1,0,,{on},{items},{},{},{},{}\n",
        risks[0], risks[1], risks[2], risks[3]
    )
}

async fn histories(s: &TestStore) {
    let dir = tempfile::tempdir().expect("tempdir");
    // E: five assessments; F: one older than ten years and one with an item missing;
    // G: only assessments after as_of.
    let e = id_number("19400510", "051");
    let f = id_number("19420202", "061");
    let g = id_number("19430303", "071");
    let mut civil = format!(
        "id_number,name,sex,birth_date,district,education,living_alone,care_grade,assessed_on,{GB_HEADER},risk_fall_30d,risk_choking_30d,risk_self_harm_30d,risk_wandering_30d\n"
    );
    for (on, less, risks) in [
        ("2021-06-01", 0, [0, 0, 0, 0]),
        ("2022-06-01", 1, [0, 0, 0, 0]),
        ("2023-06-01", 2, [1, 0, 0, 0]),
        ("2025-06-30", 10, [0, 0, 0, 3]),
        // Two falls and total 70: GB/T 42195 轻度失能 by total, one grade worse.
        ("2026-06-30", 20, [2, 0, 0, 0]),
    ] {
        civil.push_str(&civil_row(&e, "周建国", on, &items_less(less), risks));
    }
    civil.push_str(&civil_row(
        &f,
        "吴秀英",
        "2016-01-01",
        &items_less(5),
        [0; 4],
    ));
    // 社会交往能力 (the last item) not recorded.
    let mut missing = items_less(0);
    missing.truncate(missing.len() - 1);
    civil.push_str(&civil_row(
        &f,
        "吴秀英",
        "2026-01-01",
        &missing,
        [0, 1, 0, 0],
    ));
    for on in ["2026-07-01", "2026-08-01"] {
        civil.push_str(&civil_row(&g, "孙志强", on, &items_less(0), [0; 4]));
    }
    std::fs::write(dir.path().join("civil.csv"), civil).expect("write civil");
    let health = format!(
        "id_number,name,exam_date,height_cm,weight_kg,sbp,dbp\n\
         {e},周建国,2024-07-01,160.0,68.0,125,75\n\
         {e},周建国,2025-01-01,160.0,66.0,128,78\n\
         {e},周建国,2025-07-01,160.0,64.0,130,80\n\
         {e},周建国,2026-01-01,160.0,,140,\n\
         {e},周建国,2026-06-01,160.0,60.0,150,90\n"
    );
    std::fs::write(dir.path().join("health.csv"), health).expect("write health");
    let insurance = format!(
        "claim_id,id_number,name,setting,admit_date,discharge_date,diagnoses,medication_count,ltc_insured\n\
         YB20,{e},周建国,1,2024-05-05,,I21.4;E11.9,2,0\n\
         YB21,{e},周建国,2,2019-03-01,2019-03-09,I21.0,6,0\n\
         YB22,{e},周建国,1,2026-06-30,,E11.2,2,0\n\
         YB23,{e},周建国,1,2026-07-05,,N18.3,2,0\n\
         YB24,{e},周建国,1,1920-01-01,,C78.0,1,0\n"
    );
    std::fs::write(dir.path().join("insurance.csv"), insurance).expect("write insurance");
    import_hand_files(s, dir.path()).await;
    let subjects = [pseudonym(&e), pseudonym(&f), pseudonym(&g)];
    let as_of = date(2026, 6, 30);
    let civil = load_features(&s.store, Department::CivilAffairs, &subjects, as_of)
        .await
        .expect("civil features");
    check(
        &civil,
        0,
        &[
            ("gb_eating", Some(0)),
            ("gb_grooming", Some(0)),
            // 2 falls + 0 others: two events, one grade worse.
            ("risk_events_30d", Some(2)),
            ("age_years", Some(86)),
            // The assessment before the latest: 2025-06-30, total 80, three wanderings.
            ("last_ability_total", Some(80)),
            ("last_ability_grade", Some(2)),
            // The latest 4 of 5, latest first; 2021-06-01 is the fifth, not read.
            ("visit1_months", Some(0)),
            ("visit1_total", Some(70)),
            ("visit1_falls", Some(2)),
            ("visit1_risk_events", Some(2)),
            ("visit2_months", Some(12)),
            ("visit2_total", Some(80)),
            ("visit2_falls", Some(0)),
            ("visit2_risk_events", Some(3)),
            // 2023-06-01 → 2026-06-30: 36 whole months; 2022-06-01: 48.
            ("visit3_months", Some(36)),
            ("visit3_total", Some(88)),
            ("visit3_falls", Some(1)),
            ("visit3_risk_events", Some(1)),
            ("visit4_months", Some(48)),
            ("visit4_total", Some(89)),
            ("visit4_falls", Some(0)),
            ("visit4_risk_events", Some(0)),
        ],
    );
    check(
        &civil,
        1,
        &[
            // The latest has 社会交往能力 missing: its total is unknown, its day is not.
            ("gb_social", None),
            ("risk_events_30d", Some(1)),
            ("visit1_months", Some(5)),
            ("visit1_total", None),
            ("visit1_falls", Some(0)),
            ("visit1_risk_events", Some(1)),
            // 2016-01-01 is 125 whole months before as_of: not a history visit …
            ("visit2_months", None),
            ("visit2_total", None),
            ("visit2_falls", None),
            ("visit2_risk_events", None),
            // … but still the assessment before the latest.
            ("last_ability_total", Some(85)),
            ("last_ability_grade", Some(1)),
        ],
    );
    assert!(civil.row(2).is_none(), "G: every assessment after as_of");
    // As of the day before E's latest, the history shifts by one.
    let earlier = load_features(
        &s.store,
        Department::CivilAffairs,
        &subjects[..1],
        date(2026, 6, 29),
    )
    .await
    .expect("civil features");
    check(
        &earlier,
        0,
        &[
            // 2025-06-30 → 2026-06-29: 11 whole months (the 12th completes a day later).
            ("visit1_months", Some(11)),
            ("visit1_total", Some(80)),
            ("visit4_total", Some(90)),
            ("risk_events_30d", Some(3)),
            ("last_ability_total", Some(88)),
        ],
    );

    let health = load_features(&s.store, Department::Health, &subjects, as_of)
        .await
        .expect("health features");
    check(
        &health,
        0,
        &[
            ("weight_now", Some(600)),
            ("checkup1_months", Some(0)),
            ("checkup1_weight", Some(600)),
            ("checkup1_sbp", Some(150)),
            ("checkup1_dbp", Some(90)),
            // Not weighed, diastolic not measured: unknown, the visit still counts.
            ("checkup2_months", Some(5)),
            ("checkup2_weight", None),
            ("checkup2_sbp", Some(140)),
            ("checkup2_dbp", None),
            ("checkup3_months", Some(11)),
            ("checkup3_weight", Some(640)),
            ("checkup4_months", Some(17)),
            ("checkup4_weight", Some(660)),
            ("checkup4_sbp", Some(128)),
            ("checkup4_dbp", Some(78)),
        ],
    );
    assert!(health.row(1).is_none() && health.row(2).is_none());

    let insurance = load_features(&s.store, Department::MedicalInsurance, &subjects, as_of)
        .await
        .expect("insurance features");
    check(
        &insurance,
        0,
        &[
            // The earliest matching claim: YB21 (2019-03-01), not YB20.
            ("cci_myocardial_infarction_first_months", Some(87)),
            ("cci_diabetes_first_months", Some(25)),
            // Admitted on as_of itself.
            ("cci_diabetes_complicated_first_months", Some(0)),
            // YB23 is after as_of.
            ("cci_renal", Some(0)),
            ("cci_renal_first_months", None),
            // 1920: capped at ten years, older than any history visit.
            ("cci_metastatic_first_months", Some(120)),
            ("cci_aids_first_months", None),
        ],
    );
}

both_stores!(histories_sqlite, histories_postgres, histories);

// --- generated population against the shipped models ------------------------------------

/// Every shipped model (admission-v1, periodic-v1, periodic-v2, …).
fn models() -> Vec<Model> {
    SHIPPED
        .iter()
        .map(|spec| compile(spec).expect("a shipped model compiles"))
        .collect()
}

/// Whether a feature is one of the history features (issue 28's contract), which a model
/// may leave unread; every other feature is some shipped model's input.
fn is_history(name: &str) -> bool {
    name.starts_with("visit") || name.starts_with("checkup") || name.ends_with("_first_months")
}

#[test]
fn feature_names_are_the_models_inputs_per_holder() {
    let mut from_models: BTreeMap<Department, Vec<String>> = BTreeMap::new();
    for m in models() {
        for input in m.inputs() {
            if matches!(input.source, InputSource::Column { .. }) {
                from_models
                    .entry(input.holder)
                    .or_default()
                    .push(input.name.clone());
            }
        }
    }
    for d in Department::ALL {
        let mut want = from_models.remove(&d).unwrap_or_default();
        want.sort();
        want.dedup();
        let have = feature_names(d);
        for name in &want {
            assert!(have.contains(&name.as_str()), "{d}: no feature {name}");
        }
        for name in have {
            assert!(
                is_history(name) || want.iter().any(|w| w == name),
                "{d}: feature {name} is no model's input"
            );
        }
    }
    assert_eq!(weinong_connectors::features::HISTORY_VISITS, 4);
    let civil = feature_names(Department::CivilAffairs);
    let health = feature_names(Department::Health);
    for i in 1..=4 {
        for k in ["months", "total", "falls", "risk_events"] {
            assert!(civil.contains(&format!("visit{i}_{k}").as_str()));
        }
        for k in ["months", "weight", "sbp", "dbp"] {
            assert!(health.contains(&format!("checkup{i}_{k}").as_str()));
        }
    }
}

/// The contract's range of each history feature (issue 28).
fn history_range(name: &str) -> Option<(i64, i64)> {
    let kind = name.rsplit_once('_').map_or(name, |(_, k)| k);
    Some(match kind {
        _ if name.ends_with("_first_months") => (0, 120),
        _ if name.ends_with("_risk_events") => (0, 12),
        "months" => (0, 120),
        "total" => (0, 90),
        "falls" => (0, 3),
        "weight" => (250, 2_000),
        "sbp" => (60, 260),
        "dbp" => (30, 160),
        _ => return None,
    })
}

async fn import_synthetic(
    store: &weinong_connectors::Store,
    dir: &Path,
    people: u64,
) -> Vec<SubjectPseudonym> {
    common::synth(dir, people, SEED, 0.0);
    common::import_all(store, dir, &synthetic_secrets(SEED)).await;
    common::truth_subjects(dir)
}

/// Model input columns for the subjects known to every department with every required
/// feature known; optional features read their fill with the known-flag 0.
fn model_columns(
    model: &Model,
    tables: &BTreeMap<Department, FeatureTable>,
) -> (Vec<Vec<i64>>, Vec<usize>) {
    let n = tables.values().next().map_or(0, FeatureTable::len);
    let value = |name: &str, holder: Holder, i: usize| -> Option<i64> {
        let t = &tables[&holder];
        let at = t.names().iter().position(|x| *x == name)?;
        t.row(i)?[at]
    };
    let complete: Vec<usize> = (0..n)
        .filter(|&i| {
            model.inputs().iter().all(|input| match &input.source {
                InputSource::Column { optional: None, .. } => {
                    value(&input.name, input.holder, i).is_some()
                }
                _ => tables[&input.holder].row(i).is_some(),
            })
        })
        .collect();
    let columns = model
        .inputs()
        .iter()
        .map(|input| {
            complete
                .iter()
                .map(|&i| match &input.source {
                    InputSource::Column { optional, .. } => value(&input.name, input.holder, i)
                        .or(optional.map(|(fill, _)| fill))
                        .expect("complete subject"),
                    InputSource::KnownFlag(of) => {
                        let of = &model.inputs()[of.index()];
                        i64::from(value(&of.name, of.holder, i).is_some())
                    }
                })
                .collect()
        })
        .collect();
    (columns, complete)
}

async fn generated_features_fit_the_models(s: &TestStore) {
    let dir = tempfile::tempdir().expect("tempdir");
    let subjects = import_synthetic(&s.store, dir.path(), 1_000).await;
    assert_eq!(subjects.len(), 1_000);
    let mut tables = BTreeMap::new();
    for d in Department::ALL {
        let t = load_features(&s.store, d, &subjects, AS_OF)
            .await
            .expect("features");
        assert_eq!(t.len(), subjects.len());
        tables.insert(d, t);
    }
    // More subjects than one query chunk: 8,000 unknown pseudonyms first, then everyone,
    // so the real subjects straddle the chunk boundary and fill the padded last chunk.
    let mut many: Vec<SubjectPseudonym> = (0..8_000u32)
        .map(|i| {
            let mut b = [0u8; 32];
            b[..4].copy_from_slice(&i.to_be_bytes());
            SubjectPseudonym::from_bytes(b)
        })
        .collect();
    many.extend(&subjects);
    assert!(many.len() > weinong_connectors::limits::FEATURE_CHUNK_SUBJECTS);
    for d in Department::ALL {
        let t = load_features(&s.store, d, &many, AS_OF)
            .await
            .expect("features");
        assert!(
            (0..8_000).all(|i| t.row(i).is_none()),
            "{d}: unknown subjects"
        );
        for i in 0..subjects.len() {
            assert_eq!(t.row(8_000 + i), tables[&d].row(i), "{d}: subject {i}");
        }
    }

    let models = models();
    let mut checked = 0u64;
    for m in &models {
        for input in m.inputs() {
            let InputSource::Column { .. } = input.source else {
                continue;
            };
            let column = tables[&input.holder]
                .column(&input.name)
                .expect("a feature per model input");
            for (i, v) in column.iter().enumerate() {
                if let Some(v) = v {
                    assert!(
                        input.range.contains(*v),
                        "{}: subject {i} has {v}, outside {:?}",
                        input.name,
                        input.range
                    );
                    checked += 1;
                }
            }
        }
    }
    assert!(checked > 50_000, "only {checked} values checked");
    // History features in the contract's ranges, whether or not a model reads them yet.
    for d in Department::ALL {
        for name in feature_names(d).iter().filter(|n| is_history(n)) {
            let (lo, hi) = history_range(name).expect("a range");
            for v in tables[&d]
                .column(name)
                .expect("column")
                .into_iter()
                .flatten()
            {
                assert!((lo..=hi).contains(&v), "{name}: {v} outside {lo}..={hi}");
            }
        }
    }
    // The generator makes histories: re-assessments, declines, repeated events, recent
    // first claims (the test must not pass vacuously).
    let civil = &tables[&Department::CivilAffairs];
    let col = |t: &FeatureTable, n: &str| t.column(n).expect("column");
    let visit4 = col(civil, "visit4_months").iter().flatten().count();
    assert!((300..900).contains(&visit4), "{visit4} with 4 assessments");
    let declined = col(civil, "visit1_total")
        .iter()
        .zip(col(civil, "visit2_total"))
        .filter(|(a, b)| matches!((a, b), (Some(a), Some(b)) if *a + 5 <= *b))
        .count();
    assert!(declined > 30, "{declined} totals fell by 5 or more");
    let repeated = col(civil, "risk_events_30d")
        .iter()
        .filter(|v| v.is_some_and(|v| v >= 2))
        .count();
    assert!(repeated > 5, "{repeated} with two or more events");
    let falls: Vec<i64> = (1..=4)
        .flat_map(|i| col(civil, &format!("visit{i}_falls")))
        .flatten()
        .collect();
    assert!(falls.iter().any(|f| *f >= 2), "no repeated falls");
    let health = &tables[&Department::Health];
    assert!(col(health, "checkup4_months").iter().flatten().count() > 200);
    let recent: usize = feature_names(Department::MedicalInsurance)
        .iter()
        .filter(|n| n.ends_with("_first_months"))
        .map(|n| {
            col(&tables[&Department::MedicalInsurance], n)
                .iter()
                .filter(|v| v.is_some_and(|v| v < 365))
                .count()
        })
        .sum();
    assert!(
        recent > 50,
        "{recent} conditions first claimed in the last year"
    );
    // Everyone has a civil and a health row; most have claims.
    for d in [Department::CivilAffairs, Department::Health] {
        assert!((0..1_000).all(|i| tables[&d].row(i).is_some()), "{d}");
    }
    let with_claims = (0..1_000)
        .filter(|&i| tables[&Department::MedicalInsurance].row(i).is_some())
        .count();
    assert!(with_claims > 700, "{with_claims} people with claims");
    // Optional inputs are sometimes unknown and mostly known.
    let weights = tables[&Department::Health]
        .column("weight_6m_ago")
        .expect("column");
    let known = weights.iter().filter(|w| w.is_some()).count();
    assert!((700..1_000).contains(&known), "{known} earlier weights");

    for m in &models {
        let (columns, complete) = model_columns(m, &tables);
        assert!(
            complete.len() > 600,
            "{}: {} complete",
            m.name(),
            complete.len()
        );
        let batch = InputBatch::new(m, columns).expect("the model accepts the features");
        let out = evaluate_plain(m, &batch);
        if m.name() == "admission-v1" {
            // Reference for visit1_total and last_ability_*: the model's own total and
            // grade of the latest assessment. last_ability_* is the assessment before it,
            // so it equals the model's only where there is no earlier one; the grade only
            // where no diagnosis adjustment applies (civil affairs cannot see diagnoses).
            let total = m.output_index("ability_total").expect("output");
            let grade = m.output_index("ability_grade").expect("output");
            let civil = &tables[&Department::CivilAffairs];
            let insurance = &tables[&Department::MedicalInsurance];
            let visit1_total = civil.column("visit1_total").expect("column");
            let visit2_months = civil.column("visit2_months").expect("column");
            let last_total = civil.column("last_ability_total").expect("column");
            let last_grade = civil.column("last_ability_grade").expect("column");
            let dementia = insurance.column("icd_dementia").expect("column");
            let mental = insurance.column("icd_mental_disorder").expect("column");
            let mut compared = 0;
            for (k, &i) in complete.iter().enumerate() {
                assert_eq!(visit1_total[i], Some(out.column(total)[k]), "subject {i}");
                if visit2_months[i].is_some() {
                    continue;
                }
                assert_eq!(last_total[i], Some(out.column(total)[k]), "subject {i}");
                if dementia[i] == Some(0) && mental[i] == Some(0) {
                    assert_eq!(last_grade[i], Some(out.column(grade)[k]), "subject {i}");
                    compared += 1;
                }
            }
            assert!(compared > 30, "{compared} grades compared");
        }
    }
}

both_stores!(
    generated_features_fit_the_models_sqlite,
    generated_features_fit_the_models_postgres,
    generated_features_fit_the_models
);

/// Schema version 3 counts care-risk events (the form's frequencies) where version 2 summed
/// one flag per kind. On a generated population, admission-v1 changes exactly for the
/// people whose latest assessment has a kind recorded twice or more and whose flags alone
/// stayed under the standard's two events: every output of everyone else is unchanged.
/// The changed people are printed (`--nocapture`) for the record.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admission_v1_changes_only_for_people_with_repeated_events() {
    let s = common::sqlite_store().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let subjects = import_synthetic(&s.store, dir.path(), 2_000).await;
    let mut tables = BTreeMap::new();
    for d in Department::ALL {
        let t = load_features(&s.store, d, &subjects, AS_OF)
            .await
            .expect("features");
        tables.insert(d, t);
    }
    // The four frequency codes of each subject's latest assessment on or before AS_OF,
    // from the generator's truth.
    let truth = common::read_csv(&dir.path().join("truth").join("civil.csv"));
    let header: Vec<String> = csv::Reader::from_path(dir.path().join("truth").join("civil.csv"))
        .expect("truth")
        .headers()
        .expect("header")
        .iter()
        .map(str::to_owned)
        .collect();
    let at = |n: &str| header.iter().position(|h| h == n).expect("column");
    let risk_columns = [
        at("risk_fall_30d"),
        at("risk_choking_30d"),
        at("risk_self_harm_30d"),
        at("risk_wandering_30d"),
    ];
    let as_of = AS_OF.to_string();
    let mut latest: BTreeMap<String, (String, [i64; 4])> = BTreeMap::new();
    for row in &truth {
        let on = row[at("assessed_on")].clone();
        if on > as_of {
            continue;
        }
        let codes = risk_columns.map(|c| row[c].parse::<i64>().unwrap_or(0));
        let entry = latest
            .entry(row[0].clone())
            .or_insert_with(|| (on.clone(), codes));
        if on >= entry.0 {
            *entry = (on, codes);
        }
    }

    let m = compile(weinong_mpc::model::ADMISSION_V1).expect("admission-v1");
    let (columns, complete) = model_columns(&m, &tables);
    let events = m.input("risk_events_30d").expect("input").0.index();
    let mut flags_only = columns.clone();
    for (k, &i) in complete.iter().enumerate() {
        let codes = latest[&subjects[i].to_hex()].1;
        assert_eq!(
            columns[events][k],
            codes.iter().sum::<i64>(),
            "events counted"
        );
        flags_only[events][k] = codes.iter().map(|c| (*c).min(1)).sum();
    }
    let now = evaluate_plain(&m, &InputBatch::new(&m, columns).expect("valid"));
    let before = evaluate_plain(&m, &InputBatch::new(&m, flags_only).expect("valid"));
    let grade = m.output_index("ability_grade").expect("output");
    let mut changed = Vec::new();
    for (k, &i) in complete.iter().enumerate() {
        let codes = latest[&subjects[i].to_hex()].1;
        let repeated = codes.iter().any(|c| *c >= 2);
        let crosses =
            codes.iter().map(|c| (*c).min(1)).sum::<i64>() < 2 && codes.iter().sum::<i64>() >= 2;
        if now.row(k) != before.row(k) {
            assert!(
                repeated && crosses,
                "subject {i} changed without repeated events"
            );
            changed.push((
                subjects[i].to_hex()[..16].to_owned(),
                codes,
                before.column(grade)[k],
                now.column(grade)[k],
            ));
        }
    }
    println!(
        "admission-v1 on {} complete subjects (2,000 generated, seed {SEED}): {} changed",
        complete.len(),
        changed.len()
    );
    for (subject, codes, was, is) in &changed {
        println!(
            "  {subject}…  codes (fall, choking, self-harm, wandering) {codes:?}: grade {was} → {is}"
        );
    }
    assert!(!changed.is_empty(), "the generator makes repeated events");
    assert!(changed.iter().all(|(_, _, was, is)| is == &(was + 1)));
}

// --- bad input and corrupt data ----------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupt_stored_values_are_typed_errors() {
    let s = common::sqlite_store().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let subjects = import_synthetic(&s.store, dir.path(), 30).await;
    let as_of = AS_OF;
    sqlx::any::install_default_drivers();
    let raw = sqlx::AnyPool::connect(&s.db.url)
        .await
        .expect("second connection");
    for (d, update, column) in [
        (
            Department::Health,
            "UPDATE health_checkup SET morse_aid = 7",
            "health_checkup.morse_aid",
        ),
        (
            Department::Health,
            "UPDATE health_checkup SET exam_date = REPLACE(exam_date, '-', '/')",
            "health_checkup.exam_date",
        ),
        (
            Department::Health,
            "UPDATE health_checkup SET weight_kg = 9000.0",
            "health_checkup.weight_kg",
        ),
        (
            Department::MedicalInsurance,
            "UPDATE insurance_claim SET diagnoses = 'I10;XYZ'",
            "insurance_claim.diagnoses",
        ),
        (
            Department::CivilAffairs,
            "UPDATE civil_assessment SET gb_eating = 9",
            "civil_assessment.gb_eating",
        ),
        (
            Department::CivilAffairs,
            "UPDATE civil_assessment SET risk_fall_30d = 4",
            "civil_assessment.risk_fall_30d",
        ),
        (
            Department::CivilAffairs,
            "UPDATE civil_assessment SET assessed_on = REPLACE(assessed_on, '-', '/')",
            "civil_assessment.assessed_on",
        ),
    ] {
        sqlx::query(update)
            .execute(&raw)
            .await
            .expect("corrupt a column");
        let err = load_features(&s.store, d, &subjects, as_of)
            .await
            .expect_err(update);
        match &err {
            ConnectorError::Corrupt(msg) => assert!(msg.contains(column), "{update}: {msg}"),
            other => panic!("{update}: not a Corrupt error: {other}"),
        }
        // Put a valid value back, so the next case of the department fails on its own column.
        let restore = match column {
            "health_checkup.morse_aid" => "UPDATE health_checkup SET morse_aid = 0",
            "health_checkup.exam_date" => {
                "UPDATE health_checkup SET exam_date = REPLACE(exam_date, '/', '-')"
            }
            "health_checkup.weight_kg" => "UPDATE health_checkup SET weight_kg = 60.0",
            "insurance_claim.diagnoses" => "UPDATE insurance_claim SET diagnoses = 'I10'",
            "civil_assessment.gb_eating" => "UPDATE civil_assessment SET gb_eating = 4",
            "civil_assessment.risk_fall_30d" => "UPDATE civil_assessment SET risk_fall_30d = 0",
            _ => "UPDATE civil_assessment SET assessed_on = REPLACE(assessed_on, '/', '-')",
        };
        sqlx::query(restore).execute(&raw).await.expect("restore");
        load_features(&s.store, d, &subjects, as_of)
            .await
            .expect("valid again after restoring");
    }
    raw.close().await;

    let too_many = vec![subjects[0]; weinong_connectors::limits::FEATURE_SUBJECTS_MAX + 1];
    match load_features(&s.store, Department::CivilAffairs, &too_many, as_of).await {
        Err(ConnectorError::Invalid(msg)) => assert!(msg.contains("split"), "{msg}"),
        other => panic!("not an Invalid error: {other:?}"),
    }
    s.finish().await;
}
