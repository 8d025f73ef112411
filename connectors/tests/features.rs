//! Feature extraction against the shipped models and hand-computed rows: import files whose
//! expected features are worked out here by hand, load them, compare (SQLite and
//! PostgreSQL); generate 1,000 people and check that every feature has a model input of
//! that name and holder, lies in its declared range, and that the plaintext model runs on
//! them; corrupt stored values give typed errors.

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
    ADMISSION_V1, Holder, InputBatch, InputSource, Model, PERIODIC_V1, compile, evaluate_plain,
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

async fn hand_computed(s: &TestStore) {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = people();
    write_hand_files(dir.path(), &p);
    let secrets = synthetic_secrets(SEED);
    for (d, file) in [
        (Department::CivilAffairs, "civil.csv"),
        (Department::Health, "health.csv"),
        (Department::MedicalInsurance, "insurance.csv"),
    ] {
        let report = import_file(
            &s.store,
            d,
            &dir.path().join(file),
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
        ("last_ability_total", Some(77)),
        // 77 → 轻度失能 (1); two risk events → one worse.
        ("last_ability_grade", Some(2)),
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

// --- generated population against the shipped models ------------------------------------

fn models() -> [Model; 2] {
    [
        compile(ADMISSION_V1).expect("admission-v1 compiles"),
        compile(PERIODIC_V1).expect("periodic-v1 compiles"),
    ]
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
        assert_eq!(feature_names(d), want, "{d}");
    }
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
            // Reference for last_ability_*: the model's own total and grade, where no
            // diagnosis adjustment applies (civil affairs cannot see diagnoses).
            let total = m.output_index("ability_total").expect("output");
            let grade = m.output_index("ability_grade").expect("output");
            let civil = &tables[&Department::CivilAffairs];
            let insurance = &tables[&Department::MedicalInsurance];
            let last_total = civil.column("last_ability_total").expect("column");
            let last_grade = civil.column("last_ability_grade").expect("column");
            let dementia = insurance.column("icd_dementia").expect("column");
            let mental = insurance.column("icd_mental_disorder").expect("column");
            let mut compared = 0;
            for (k, &i) in complete.iter().enumerate() {
                assert_eq!(last_total[i], Some(out.column(total)[k]), "subject {i}");
                if dementia[i] == Some(0) && mental[i] == Some(0) {
                    assert_eq!(last_grade[i], Some(out.column(grade)[k]), "subject {i}");
                    compared += 1;
                }
            }
            assert!(compared > 300, "{compared} grades compared");
        }
    }
}

both_stores!(
    generated_features_fit_the_models_sqlite,
    generated_features_fit_the_models_postgres,
    generated_features_fit_the_models
);

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
            "UPDATE civil_person SET gb_eating = 9",
            "civil_person.gb_eating",
        ),
        (
            Department::CivilAffairs,
            "UPDATE civil_person SET assessed_on = NULL",
            "civil_person.assessed_on",
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
            "civil_person.gb_eating" => "UPDATE civil_person SET gb_eating = 4",
            _ => "UPDATE civil_person SET assessed_on = '2026-01-05'",
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
