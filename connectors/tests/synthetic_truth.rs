//! The cleaning pipeline against the generator's known dirt: for every rule the report's
//! count equals the number of problems injected, rejected rows match by reason, and the
//! stored tables equal the clean truth files — on SQLite and on PostgreSQL.

mod common;

use std::collections::BTreeMap;

use common::{TestStore, read_csv};
use weinong_connectors::synth::synthetic_secrets;
use weinong_connectors::{Department, ImportOptions, Rule};

const PEOPLE: u64 = 1_500;
const SEED: u64 = 20_260_630;
const DIRT: f64 = 0.08;

async fn synthetic_round_trip(s: &TestStore) {
    let dir = tempfile::tempdir().expect("tempdir");
    let summary = common::synth(dir.path(), PEOPLE, SEED, DIRT);
    let secrets = synthetic_secrets(SEED);
    // Small chunks so the pipeline crosses many chunk boundaries (duplicates span them).
    let options = ImportOptions {
        chunk_rows: 700,
        progress: None,
    };
    for d in Department::ALL {
        let report = common::import_synthetic(&s.store, dir.path(), d, &secrets, &options)
            .await
            .expect("import");
        let injected = &summary.departments[d.short_name()];
        assert_eq!(
            report.counts(),
            injected.rules,
            "{d}: report counts differ from injected dirt"
        );
        assert_eq!(
            report.rejected_by_reason, injected.rejected_by_reason,
            "{d}: rejections differ"
        );
        assert_eq!(report.rows_read, injected.rows_dirty, "{d}: rows read");
        assert_eq!(report.rows_stored, injected.rows_truth, "{d}: rows stored");
        if d == Department::CivilAffairs {
            assert_eq!(report.encoding, "GB18030", "the civil export is GBK");
        }
        // The test must not pass vacuously: every injected kind of dirt occurred.
        for rule in Rule::ALL {
            let applicable = match rule {
                Rule::NumberInvalid => false,
                Rule::BirthDateMismatch => d == Department::CivilAffairs,
                Rule::UnitConverted => d == Department::Health,
                Rule::Icd10Normalised | Rule::Icd10Invalid => d != Department::CivilAffairs,
                Rule::DateInvalid => d == Department::MedicalInsurance,
                _ => true,
            };
            if applicable {
                assert!(
                    report.count(rule) > 0,
                    "{d}: no {} injected; raise PEOPLE or DIRT",
                    rule.as_str()
                );
            }
        }
        let mut stored = s.store.dump(d, &secrets.data_key).await.expect("dump");
        let mut truth = read_csv(
            &dir.path()
                .join("truth")
                .join(format!("{}.csv", d.short_name())),
        );
        stored.sort();
        truth.sort();
        assert_eq!(stored.len(), truth.len(), "{d}: row count");
        for (a, b) in stored.iter().zip(&truth) {
            assert_eq!(a, b, "{d}: stored row differs from the truth");
        }
        let jobs = s.store.jobs().await.expect("jobs");
        assert!(jobs.iter().any(|j| j.department == d.short_name()));
    }
    let by_dept: BTreeMap<_, _> = summary
        .departments
        .iter()
        .map(|(k, v)| (k.clone(), v.rows_truth))
        .collect();
    assert_eq!(
        by_dept["civil"],
        u64::try_from(
            s.store
                .count_rows(Department::CivilAffairs)
                .await
                .expect("count")
        )
        .expect("u64")
    );
}

both_stores!(
    sqlite_counts_and_truth,
    postgres_counts_and_truth,
    synthetic_round_trip
);

#[test]
fn generator_is_deterministic() {
    let a = tempfile::tempdir().expect("tempdir");
    let b = tempfile::tempdir().expect("tempdir");
    common::synth(a.path(), 300, 9, 0.1);
    common::synth(b.path(), 300, 9, 0.1);
    for f in [
        "civil.csv",
        "health.csv",
        "insurance.jsonl",
        "truth/civil.csv",
        "truth/health.csv",
        "truth/insurance.csv",
    ] {
        let x = std::fs::read(a.path().join(f)).expect("read");
        let y = std::fs::read(b.path().join(f)).expect("read");
        assert!(x == y, "{f} differs between two runs with the same seed");
    }
    let c = tempfile::tempdir().expect("tempdir");
    common::synth(c.path(), 300, 10, 0.1);
    assert_ne!(
        std::fs::read(a.path().join("health.csv")).ok(),
        std::fs::read(c.path().join("health.csv")).ok()
    );
}
