//! The cleaning pipeline against the generator's known dirt: for every rule the report's
//! count equals the number of problems injected, rejected rows match by reason, and the
//! stored tables equal the clean truth files — on SQLite and on PostgreSQL.

mod common;

use std::collections::BTreeMap;

use common::{TestStore, read_csv};
use weinong_connectors::synth::{input_file, mapping_file, synthetic_secrets};
use weinong_connectors::{
    Department, ImportOptions, Mapping, Rule, SynthConfig, import_file, synthesize,
};

const PEOPLE: u64 = 1_500;
const SEED: u64 = 20_260_630;
const DIRT: f64 = 0.08;

async fn synthetic_round_trip(s: &TestStore) {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = SynthConfig {
        people: PEOPLE,
        seed: SEED,
        dirt: DIRT,
        out: dir.path().to_path_buf(),
    };
    let summary = synthesize(&cfg).expect("synthesize");
    let secrets = synthetic_secrets(SEED);
    // Small chunks so the pipeline crosses many chunk boundaries (duplicates span them).
    let options = ImportOptions {
        chunk_rows: 700,
        progress: None,
    };
    for d in Department::ALL {
        let mapping = match mapping_file(d) {
            Some(m) => Mapping::load(&dir.path().join(m)).expect("mapping"),
            None => Mapping::default(),
        };
        let report = import_file(
            &s.store,
            d,
            &dir.path().join(input_file(d)),
            &mapping,
            &secrets,
            &options,
        )
        .await
        .expect("import");
        let injected = &summary.departments[d.as_str()];
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
        if d == Department::Civil {
            assert_eq!(report.encoding, "GB18030", "the civil export is GBK");
        }
        // The test must not pass vacuously: every injected kind of dirt occurred.
        for rule in Rule::ALL {
            let applicable = match rule {
                Rule::NumberInvalid => false,
                Rule::BirthDateMismatch => d == Department::Civil,
                Rule::UnitConverted => d == Department::Health,
                Rule::Icd10Normalised | Rule::Icd10Invalid => d != Department::Civil,
                Rule::DateInvalid => d == Department::Insurance,
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
        let mut truth = read_csv(&dir.path().join("truth").join(format!("{}.csv", d.as_str())));
        stored.sort();
        truth.sort();
        assert_eq!(stored.len(), truth.len(), "{d}: row count");
        for (a, b) in stored.iter().zip(&truth) {
            assert_eq!(a, b, "{d}: stored row differs from the truth");
        }
        let jobs = s.store.jobs().await.expect("jobs");
        assert!(jobs.iter().any(|j| j.department == d.as_str()));
    }
    let by_dept: BTreeMap<_, _> = summary
        .departments
        .iter()
        .map(|(k, v)| (k.clone(), v.rows_truth))
        .collect();
    assert_eq!(
        by_dept["civil"],
        u64::try_from(s.store.count_rows(Department::Civil).await.expect("count")).expect("u64")
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
    let cfg = |p: &std::path::Path| SynthConfig {
        people: 300,
        seed: 9,
        dirt: 0.1,
        out: p.to_path_buf(),
    };
    synthesize(&cfg(a.path())).expect("a");
    synthesize(&cfg(b.path())).expect("b");
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
    synthesize(&SynthConfig {
        people: 300,
        seed: 10,
        dirt: 0.1,
        out: c.path().to_path_buf(),
    })
    .expect("c");
    assert_ne!(
        std::fs::read(a.path().join("health.csv")).ok(),
        std::fs::read(c.path().join("health.csv")).ok()
    );
}
