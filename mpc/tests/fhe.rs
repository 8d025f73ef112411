//! The FHE backend equals the plaintext reference on every output: random subjects and the
//! worked boundary cases of the model tests (merged across independent instruments, see
//! below), with the full wire path (departments serialize, the evaluator checks and
//! evaluates, the requester decrypts). Hostile key and ciphertext blobs give typed errors.
//!
//! Keys are generated once per test process. On 2 cores one admission-v1 subject takes a
//! few seconds; 20 random subjects per model plus the boundary rows take a few minutes.

#![cfg(feature = "fhe")]

mod model_support;

use std::collections::BTreeMap;
use std::sync::OnceLock;

use model_support::{
    AD8_ITEMS, BRADEN_ITEMS, CCI_CONDITIONS, MORSE_ITEMS, admission_baseline, batch, model,
    set_ability_total, set_mna,
};
use weinong_mpc::fhe::{
    Device, EncryptedOutputs, EncryptionKey, EvaluationKey, FheError, FheSession, Kind, Plan,
    RequesterKeys, encrypt_inputs,
};
use weinong_mpc::model::sample::random_batch;
use weinong_mpc::model::{
    ADMISSION_V1, Backend, Holder, InputBatch, Model, PERIODIC_V1, PERIODIC_V2, Plaintext,
};

fn session() -> &'static FheSession {
    static SESSION: OnceLock<FheSession> = OnceLock::new();
    SESSION.get_or_init(|| FheSession::generate(0).expect("key generation and worker pool"))
}

fn assert_fhe_equals_plain(m: &Model, inputs: &InputBatch) {
    let plain = Plaintext.evaluate(m, inputs).expect("plaintext runs");
    let fhe = session()
        .evaluate_batch(m, inputs)
        .expect("FHE evaluation of valid inputs");
    for (index, output) in m.outputs().iter().enumerate() {
        let (p, f) = (plain.column(index), fhe.column(index));
        assert_eq!(p.len(), inputs.len());
        if let Some(row) = (0..p.len()).find(|r| p[*r] != f[*r]) {
            panic!(
                "{}: output {} differs at subject {row}: plain {} fhe {}",
                m.name(),
                output.name,
                p[row],
                f[row]
            );
        }
    }
}

/// Random subjects per model checked on every output (the issue asks for at least 20).
const RANDOM_SUBJECTS: usize = 20;

#[test]
fn admission_v1_random_subjects() {
    let m = model(ADMISSION_V1);
    assert_fhe_equals_plain(&m, &random_batch(&m, RANDOM_SUBJECTS, 101).expect("valid"));
}

#[test]
fn periodic_v1_random_subjects() {
    let m = model(PERIODIC_V1);
    assert_fhe_equals_plain(&m, &random_batch(&m, RANDOM_SUBJECTS, 102).expect("valid"));
}

/// Issue 28 asks for 10 random histories under FHE (its slope products are the widest
/// integers of the shipped models).
#[test]
fn periodic_v2_random_subjects() {
    let m = model(PERIODIC_V2);
    assert_fhe_equals_plain(&m, &random_batch(&m, 10, 103).expect("valid"));
}

/// The admission worked cases (`model_admission_cases.rs`), merged: the instruments read
/// disjoint inputs (GB/T 42195 items and adjustments; Morse; Charlson; AD8; MMSE; Braden;
/// MNA-SF), so row i carries the i-th boundary of each instrument at once and every
/// boundary is still met, in 10 subjects instead of ~60.
fn admission_boundary_rows(m: &Model) -> Vec<BTreeMap<String, i64>> {
    // (ability total, icd_dementia, icd_mental_disorder, risk_events_30d, coma)
    let grade = [
        (90, 0, 0, 0, false),
        (89, 0, 0, 1, false),
        (66, 0, 0, 2, false),
        (65, 1, 0, 0, false),
        (46, 0, 1, 0, false),
        (45, 1, 1, 2, false),
        (30, 0, 0, 9, false),
        (29, 1, 0, 0, false),
        (1, 0, 0, 0, false),
        (50, 1, 0, 2, true),
    ];
    // Morse items: fall history 25, secondary diagnosis 15, aid 0/15/30, IV 20, gait 0/10/20,
    // mental status 15. Totals 0, 25, 25, 45, 20, 50, 125, 45, 30, 10 meet the band edges.
    let morse = [
        [0, 0, 0, 0, 0, 0],
        [1, 0, 0, 0, 0, 0],
        [0, 1, 0, 0, 1, 0],
        [1, 0, 0, 1, 0, 0],
        [0, 0, 0, 1, 0, 0],
        [1, 1, 0, 0, 1, 0],
        [1, 1, 2, 1, 2, 1],
        [0, 1, 2, 0, 0, 0],
        [0, 0, 2, 0, 0, 0],
        [0, 0, 0, 0, 1, 0],
    ];
    let charlson_age = [50, 51, 60, 61, 70, 71, 80, 81, 0, 130];
    let charlson_conditions: [&[&str]; 10] = [
        &[],
        &["cci_liver_mild", "cci_liver_severe"],
        &["cci_diabetes", "cci_diabetes_complicated"],
        &["cci_malignancy", "cci_metastatic"],
        &["cci_malignancy"],
        &["cci_aids"],
        &["cci_hemiplegia", "cci_renal"],
        // Every 1-point condition.
        &CCI_CONDITIONS[..10],
        &["cci_liver_mild", "cci_diabetes", "cci_metastatic"],
        &["cci_myocardial_infarction"],
    ];
    let ad8_count = [0, 1, 2, 3, 8, 1, 2, 0, 5, 7];
    // (education, MMSE total): at and one above each education's cut-off (17, 20, 24).
    let mmse = [
        (0, 17),
        (1, 20),
        (2, 24),
        (0, 18),
        (1, 21),
        (2, 25),
        (0, 0),
        (2, 30),
        (1, 19),
        (0, 16),
    ];
    // Braden totals 6, 9, 10, 12, 13, 14, 15, 18, 19, 23 (bands ≤9, 10–12, 13–14, 15–18, ≥19).
    let braden_total = [6, 9, 10, 12, 13, 14, 15, 18, 19, 23];
    // MNA-SF: items (food, weight loss, mobility, acute stress, neuropsych), BMI, calf.
    let mna: [([i64; 5], Option<i64>, Option<i64>); 10] = [
        ([2, 3, 2, 0, 2], Some(235), Some(320)),
        ([2, 3, 2, 0, 2], Some(189), None),
        ([1, 1, 1, 1, 1], Some(190), None),
        ([0, 0, 0, 1, 0], Some(210), None),
        ([2, 2, 2, 0, 1], None, Some(309)),
        ([2, 2, 1, 0, 2], None, Some(310)),
        ([2, 3, 2, 0, 2], None, None),
        ([1, 2, 0, 1, 1], Some(230), None),
        ([1, 3, 1, 1, 0], Some(600), None),
        ([2, 3, 2, 1, 1], Some(100), Some(700)),
    ];
    let mut rows = Vec::new();
    for i in 0..10 {
        let mut s = admission_baseline(m);
        let (total, dementia, mental, events, coma) = grade[i];
        set_ability_total(m, &mut s, total);
        if coma {
            s.insert("gb_consciousness".into(), 0);
        }
        s.insert("icd_dementia".into(), dementia);
        s.insert("icd_mental_disorder".into(), mental);
        s.insert("risk_events_30d".into(), events);
        for (name, value) in MORSE_ITEMS.iter().zip(morse[i]) {
            s.insert((*name).into(), value);
        }
        s.insert("age_years".into(), charlson_age[i]);
        for condition in charlson_conditions[i] {
            s.insert((*condition).into(), 1);
        }
        for item in AD8_ITEMS.iter().take(ad8_count[i]) {
            s.insert((*item).into(), 1);
        }
        s.insert("education".into(), mmse[i].0);
        s.insert("mmse_total".into(), mmse[i].1);
        let mut lower = 23 - braden_total[i];
        for name in BRADEN_ITEMS {
            let max = if name == "braden_friction" { 3 } else { 4 };
            let drop = lower.min(max - 1);
            s.insert(name.into(), max - drop);
            lower -= drop;
        }
        let (items, bmi, calf) = mna[i];
        set_mna(&mut s, items, bmi, calf);
        rows.push(s);
    }
    rows
}

/// The periodic worked cases (`model_periodic_cases.rs`), merged the same way: ability and
/// grade changes, weight loss, falls and stays read disjoint inputs.
fn periodic_boundary_rows(m: &Model) -> Vec<BTreeMap<String, i64>> {
    let cases: [(i64, &[(&str, i64)]); 7] = [
        (80, &[]),
        (65, &[("weight_now", 570), ("falls_since_last", 1)]),
        (66, &[("weight_now", 571), ("hospital_stays_since_last", 2)]),
        (
            75,
            &[
                ("last_ability_grade", 3),
                ("weight_6m_ago", 803),
                ("weight_now", 762),
            ],
        ),
        (
            76,
            &[
                ("icd_dementia", 1),
                ("weight_6m_known", 0),
                ("weight_6m_ago", 200),
                ("falls_since_last", 1),
                ("hospital_stays_since_last", 1),
            ],
        ),
        (
            40,
            &[
                ("icd_dementia", 1),
                ("risk_events_30d", 2),
                ("falls_since_last", 3),
                ("hospital_stays_since_last", 3),
                ("weight_now", 500),
            ],
        ),
        (90, &[("weight_now", 700), ("last_ability_total", 90)]),
    ];
    cases
        .iter()
        .map(|(total, changes)| {
            let mut s = BTreeMap::new();
            for input in m.inputs() {
                s.insert(input.name.clone(), 0);
            }
            set_ability_total(m, &mut s, *total);
            s.insert("last_ability_total".into(), 80);
            s.insert("last_ability_grade".into(), 1);
            s.insert("weight_now".into(), 600);
            s.insert("weight_6m_ago".into(), 600);
            s.insert("weight_6m_known".into(), 1);
            for (k, v) in *changes {
                s.insert((*k).to_owned(), *v);
            }
            s
        })
        .collect()
}

#[test]
fn admission_v1_worked_boundary_cases() {
    let m = model(ADMISSION_V1);
    let rows = admission_boundary_rows(&m);
    assert_fhe_equals_plain(&m, &batch(&m, &rows));
}

#[test]
fn periodic_v1_worked_boundary_cases() {
    let m = model(PERIODIC_V1);
    let rows = periodic_boundary_rows(&m);
    assert_fhe_equals_plain(&m, &batch(&m, &rows));
}

// ---------------------------------------------------------------------------------------
// Hostile blobs: a typed error, never a panic, and memory bounded by the named limits.
// ---------------------------------------------------------------------------------------

fn one_admission_list(holder: Holder) -> (Model, Plan, Vec<u8>) {
    let m = model(ADMISSION_V1);
    let plan = Plan::new(&m);
    let one = random_batch(&m, 1, 7).expect("valid");
    let values: Vec<i64> = Plan::holder_inputs(&m, holder)
        .iter()
        .map(|i| one.column(*i)[0])
        .collect();
    let bytes = encrypt_inputs(&m, &plan, holder, &values, session().encryption_key())
        .expect("valid inputs encrypt");
    (m, plan, bytes)
}

#[test]
fn malformed_keys_are_refused_with_typed_errors() {
    let requester = session().requester();
    let encryption = requester.encryption_key().to_bytes().expect("serializes");
    // Garbage, truncation and the wrong object type.
    assert!(matches!(
        EncryptionKey::from_bytes(b"not a key"),
        Err(FheError::Malformed { .. })
    ));
    assert!(matches!(
        EncryptionKey::from_bytes(&encryption[..encryption.len() / 2]),
        Err(FheError::Malformed { .. })
    ));
    assert!(matches!(
        EvaluationKey::from_bytes(&encryption),
        Err(FheError::Malformed { .. })
    ));
    assert!(matches!(
        RequesterKeys::from_bytes(&encryption),
        Err(FheError::Malformed { .. })
    ));
    // A length prefix inside the body claiming far more than the limit: refused by the
    // bounded deserializer, without allocating it.
    let mut inflated = encryption.clone();
    let body = inflated.len() - 64;
    for b in &mut inflated[body..body + 8] {
        *b = 0xff;
    }
    assert!(EncryptionKey::from_bytes(&inflated).is_err());
    // Round trips of the real keys.
    let back = EncryptionKey::from_bytes(&encryption).expect("own key reads back");
    assert_eq!(back.to_bytes().expect("serializes"), encryption);
    let client = requester.to_bytes().expect("serializes");
    RequesterKeys::from_bytes(&client).expect("own client key reads back");
}

#[test]
fn oversized_blobs_are_refused_before_parsing() {
    let m = model(ADMISSION_V1);
    let plan = Plan::new(&m);
    let huge = vec![0u8; (weinong_mpc::fhe::limits::INPUT_LIST_BYTES_MAX + 1) as usize];
    let err = session()
        .evaluator()
        .evaluate(
            &m,
            &plan,
            &[
                (Holder::CivilAffairs, &huge),
                (Holder::Health, &huge),
                (Holder::MedicalInsurance, &huge),
            ],
        )
        .expect_err("refused");
    assert!(matches!(err, FheError::TooLarge { .. }), "{err}");
    let huge = vec![0u8; (weinong_mpc::fhe::limits::COMPACT_PUBLIC_KEY_BYTES_MAX + 1) as usize];
    assert!(matches!(
        EncryptionKey::from_bytes(&huge),
        Err(FheError::TooLarge { .. })
    ));
    let huge = vec![0u8; (weinong_mpc::fhe::limits::OUTPUTS_BYTES_MAX + 1) as usize];
    assert!(matches!(
        EncryptedOutputs::from_bytes(&huge, plan.output_kinds()),
        Err(FheError::TooLarge { .. })
    ));
}

#[test]
fn malformed_or_misdirected_inputs_are_refused() {
    let (m, plan, civil) = one_admission_list(Holder::CivilAffairs);
    let (_, _, health) = one_admission_list(Holder::Health);
    let (_, _, insurance) = one_admission_list(Holder::MedicalInsurance);
    let evaluator = session().evaluator();
    let refuse =
        |lists: &[(Holder, &[u8])]| evaluator.evaluate(&m, &plan, lists).expect_err("refused");
    // Health's list presented as civil affairs': wrong element count for that department.
    let err = refuse(&[
        (Holder::CivilAffairs, &health),
        (Holder::Health, &health),
        (Holder::MedicalInsurance, &insurance),
    ]);
    assert!(matches!(err, FheError::NotConformant { .. }), "{err}");
    // A missing department.
    let err = refuse(&[(Holder::CivilAffairs, &civil), (Holder::Health, &health)]);
    assert!(matches!(err, FheError::Shape { .. }), "{err}");
    // Truncated and bit-flipped headers.
    let err = refuse(&[
        (Holder::CivilAffairs, &civil[..civil.len() - 100]),
        (Holder::Health, &health),
        (Holder::MedicalInsurance, &insurance),
    ]);
    assert!(matches!(err, FheError::Malformed { .. }), "{err}");
    let mut flipped = civil.clone();
    flipped[3] ^= 0x55;
    let err = refuse(&[
        (Holder::CivilAffairs, &flipped),
        (Holder::Health, &health),
        (Holder::MedicalInsurance, &insurance),
    ]);
    assert!(matches!(err, FheError::Malformed { .. }), "{err}");
    // Out-of-range plaintext never gets encrypted.
    let mut values: Vec<i64> = Plan::holder_inputs(&m, Holder::CivilAffairs)
        .iter()
        .map(|i| m.inputs()[*i].range.min)
        .collect();
    values[0] = m.inputs()[Plan::holder_inputs(&m, Holder::CivilAffairs)[0]]
        .range
        .max
        + 1;
    assert!(matches!(
        encrypt_inputs(
            &m,
            &plan,
            Holder::CivilAffairs,
            &values,
            session().encryption_key()
        ),
        Err(FheError::Input(_))
    ));
}

#[test]
fn malformed_outputs_are_refused() {
    let m = model(PERIODIC_V1);
    let plan = Plan::new(&m);
    let kinds = plan.output_kinds();
    assert!(kinds.iter().all(|k| matches!(k, Kind::Int(_))));
    for bad in [
        &b""[..],
        &b"WNFHEOUT"[..],
        &b"WNFHEOUT\x02\x00\x00\x00\x01"[..],
        &b"WNFHEOUT\x01\xff\xff\xff\xff"[..],
        &b"WNFHEOUT\x01\x00\x00\x00\x00"[..],
    ] {
        assert!(matches!(
            EncryptedOutputs::from_bytes(bad, kinds),
            Err(FheError::Shape { .. })
        ));
    }
    // A value claiming a length past the per-value limit.
    let mut claim = b"WNFHEOUT\x01".to_vec();
    claim.extend_from_slice(
        &u32::try_from(kinds.len())
            .expect("few outputs")
            .to_be_bytes(),
    );
    claim.push(match kinds[0] {
        Kind::Int(bits) => u8::try_from(bits).expect("≤ 64"),
        Kind::Bool => 0,
    });
    claim.extend_from_slice(&u32::MAX.to_be_bytes());
    assert!(matches!(
        EncryptedOutputs::from_bytes(&claim, kinds),
        Err(FheError::TooLarge { .. })
    ));
    // A wrong kind tag.
    claim.truncate(13);
    claim.push(77);
    claim.extend_from_slice(&[0, 0, 0, 4, 1, 2, 3, 4]);
    assert!(matches!(
        EncryptedOutputs::from_bytes(&claim, kinds),
        Err(FheError::Shape { .. })
    ));
}

/// The session evaluates on the best device this build can use; with
/// `WEINONG_REQUIRE_GPU=1` (set on a GPU machine, with the `gpu` feature) it must be the
/// GPU, so the equality tests above are known to have run there.
#[test]
fn evaluator_runs_on_the_available_device() {
    let device = session().evaluator().device();
    assert_eq!(device, Device::available());
    if std::env::var_os("WEINONG_REQUIRE_GPU").is_some() {
        assert_eq!(
            device.name(),
            "gpu",
            "WEINONG_REQUIRE_GPU is set but the evaluator runs on {device:?}"
        );
    }
}
