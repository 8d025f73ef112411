//! Stores made at released schema versions open at the current one with every row intact —
//! on SQLite and on PostgreSQL:
//! - version 1 (one `subject` table with a department column; inline primary keys): rows
//!   and identities intact, keys still enforced;
//! - version 2 (one row per civil person, 0/1 care-risk flags): every row moves unchanged
//!   into version 3's assessment table, a flag reads as frequency code 1 ("once"), and the
//!   upgrade report counts the flagged assessments per kind; version 4's death-register
//!   date is empty on every moved row.
//!
//! A new SQLite store has the configured page size.

mod common;

use std::borrow::Cow;

use common::TestDb;
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{AnyPool, SqlSafeStr};
use weinong_connectors::date::Date;
use weinong_connectors::identity::Identity;
use weinong_connectors::store::{SCHEMA_VERSION, Store, UpgradeReport};
use weinong_connectors::synth::synthetic_secrets;
use weinong_connectors::{ConnectorError, Department, ImportOptions, TableSpec, load_features};
use weinong_keys::SubjectPseudonym;

const SEED: u64 = 5;

/// The released migrations up to `version` exactly as released: same SQL, so the same
/// checksums as `Store::open` records.
fn released(version: i64, postgres: bool) -> Migrator {
    let migration = |v, description, sql: &'static str| {
        Migration::new(
            v,
            Cow::Borrowed(description),
            MigrationType::Simple,
            sql.into_sql_str(),
            false,
        )
    };
    let mut list = vec![migration(
        1,
        "department data",
        include_str!("../migrations/0001_department_data.sql"),
    )];
    if version >= 2 {
        let v2 = if postgres {
            include_str!("../migrations/0002_department_data.postgres.sql")
        } else {
            include_str!("../migrations/0002_department_data.sqlite.sql")
        };
        list.push(migration(
            2,
            "identities per department, droppable keys",
            v2,
        ));
    }
    let mut m = Migrator::with_migrations(list);
    m.set_locking(true);
    m
}

fn identity() -> Identity {
    Identity {
        id_number: "11010519491231002X".into(),
        name: "张三".into(),
        phone: None,
        address: Some("浦东新区世纪大道100号".into()),
    }
}

/// Writes one civil person and identities in two departments the way version 1 stored them.
async fn fill_version_1(url: &str, postgres: bool) -> (SubjectPseudonym, Identity) {
    sqlx::any::install_default_drivers();
    let pool = AnyPool::connect(url).await.expect("connect");
    released(1, postgres)
        .run(&pool)
        .await
        .expect("migrate to version 1");
    let secrets = synthetic_secrets(SEED);
    let identity = identity();
    let subject = SubjectPseudonym::from_bytes([9; 32]);
    for d in [Department::CivilAffairs, Department::Health] {
        let sealed = identity.seal(&secrets.data_key, d, &subject).expect("seal");
        sqlx::query("INSERT INTO subject (department, subject, identity) VALUES ($1, $2, $3)")
            .bind(d.short_name())
            .bind(subject.as_bytes().to_vec())
            .bind(sealed)
            .execute(&pool)
            .await
            .expect("insert subject");
    }
    // Imports never stored a row without its assessment date (a required field), and
    // version 3 keys rows by it.
    sqlx::query(
        "INSERT INTO civil_person (subject, sex, care_grade, assessed_on) \
         VALUES ($1, '2', 3, '2025-11-02')",
    )
    .bind(subject.as_bytes().to_vec())
    .execute(&pool)
    .await
    .expect("insert person");
    pool.close().await;
    (subject, identity)
}

async fn upgrade_from_1(url: &str, postgres: bool) {
    let (subject, identity) = fill_version_1(url, postgres).await;
    let store = Store::open(url).await.expect("open at the current version");
    let secrets = synthetic_secrets(SEED);
    assert_eq!(SCHEMA_VERSION, 4);
    let report = store.upgrade_report().expect("an upgrade from version 1");
    assert_eq!(report.from_version, 1);
    assert_eq!(report.assessments, 1);
    assert!(!report.has_flags(), "{report}");
    assert_eq!(
        store
            .count_rows(Department::CivilAffairs)
            .await
            .expect("count"),
        1
    );
    for (d, n) in [
        (Department::CivilAffairs, 1),
        (Department::Health, 1),
        (Department::MedicalInsurance, 0),
    ] {
        assert_eq!(store.count_subjects(d).await.expect("count"), n, "{d}");
    }
    let rows = store
        .dump(Department::CivilAffairs, &secrets.data_key)
        .await
        .expect("dump");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0][0], subject.to_hex());
    assert!(rows[0].contains(&identity.id_number));
    assert!(rows[0].contains(&identity.name));
    store.close().await;
    // Opening again runs nothing (the recorded checksums match) and reports nothing.
    let store = Store::open(url).await.expect("reopen");
    assert!(store.upgrade_report().is_none());
    // The register's key survived the rebuild: an assessment is refused a second time.
    let data = tempfile::tempdir().expect("tempdir");
    let summary = common::synth(data.path(), 50, SEED, 0.0);
    let d = Department::CivilAffairs;
    let options = ImportOptions::default();
    common::import_synthetic(&store, data.path(), d, &secrets, &options)
        .await
        .expect("import into the upgraded store");
    let err = common::import_synthetic(&store, data.path(), d, &secrets, &options)
        .await
        .expect_err("the same assessments again");
    assert!(matches!(err, ConnectorError::Db { .. }), "{err}");
    let assessments = summary.departments["civil"].rows_truth;
    assert!(assessments > 50, "{assessments}: a history per person");
    assert_eq!(
        store.count_rows(d).await.expect("count"),
        i64::try_from(assessments).expect("small") + 1
    );
    store.close().await;
}

/// (subject byte, assessed_on, fall, choking, self-harm, wandering) of the version-2 rows.
const V2_ROWS: [(u8, &str, i64, i64, i64, i64); 4] = [
    (1, "2026-01-10", 1, 0, 0, 1),
    (2, "2026-02-11", 1, 0, 0, 0),
    (3, "2026-03-12", 0, 0, 0, 0),
    (4, "2026-04-13", 1, 1, 1, 0),
];

/// A version-2 store (the released version 1 and 2 migrations) holding [`V2_ROWS`] with
/// their identities.
async fn fill_version_2(url: &str, postgres: bool) {
    sqlx::any::install_default_drivers();
    let pool = AnyPool::connect(url).await.expect("connect");
    released(2, postgres)
        .run(&pool)
        .await
        .expect("migrate to version 2");
    let secrets = synthetic_secrets(SEED);
    for (b, on, fall, choking, harm, wandering) in V2_ROWS {
        let subject = SubjectPseudonym::from_bytes([b; 32]);
        let sealed = identity()
            .seal(&secrets.data_key, Department::CivilAffairs, &subject)
            .expect("seal");
        sqlx::query("INSERT INTO subject_civil (subject, identity) VALUES ($1, $2)")
            .bind(subject.as_bytes().to_vec())
            .bind(sealed)
            .execute(&pool)
            .await
            .expect("insert identity");
        sqlx::query(
            "INSERT INTO civil_person (subject, sex, birth_date, district, education, \
             living_alone, care_grade, assessed_on, gb_eating, risk_fall_30d, \
             risk_choking_30d, risk_self_harm_30d, risk_wandering_30d) \
             VALUES ($1, '1', '1940-05-06', '310101', 1, 0, 2, $2, 3, $3, $4, $5, $6)",
        )
        .bind(subject.as_bytes().to_vec())
        .bind(on)
        .bind(fall)
        .bind(choking)
        .bind(harm)
        .bind(wandering)
        .execute(&pool)
        .await
        .expect("insert assessment");
    }
    pool.close().await;
}

async fn upgrade_from_2(url: &str, postgres: bool) {
    fill_version_2(url, postgres).await;
    let store = Store::open(url).await.expect("open at the current version");
    let report = store.upgrade_report().expect("an upgrade from version 2");
    assert_eq!(
        *report,
        UpgradeReport {
            from_version: 2,
            to_version: SCHEMA_VERSION,
            assessments: 4,
            flagged: [
                ("risk_fall_30d", 3),
                ("risk_choking_30d", 1),
                ("risk_self_harm_30d", 1),
                ("risk_wandering_30d", 1),
            ],
        }
    );
    let text = report.to_string();
    assert!(
        text.contains("\"once\"") && text.contains("lower bound"),
        "{text}"
    );
    // Every row intact, values unchanged: a flag is now the frequency code 1.
    let secrets = synthetic_secrets(SEED);
    let spec = TableSpec::of(Department::CivilAffairs);
    let col = |name: &str| 1 + spec.index_of(name).expect("field");
    let mut rows = store
        .dump(Department::CivilAffairs, &secrets.data_key)
        .await
        .expect("dump");
    rows.sort();
    assert_eq!(rows.len(), V2_ROWS.len());
    for (row, (b, on, fall, choking, harm, wandering)) in rows.iter().zip(V2_ROWS) {
        assert_eq!(row[0], SubjectPseudonym::from_bytes([b; 32]).to_hex());
        for (name, want) in [
            ("id_number", identity().id_number.clone()),
            ("name", identity().name.clone()),
            ("sex", "1".into()),
            ("birth_date", "1940-05-06".into()),
            ("district", "310101".into()),
            ("education", "1".into()),
            ("living_alone", "0".into()),
            ("care_grade", "2".into()),
            ("assessed_on", on.into()),
            ("gb_eating", "3".into()),
            ("gb_grooming", String::new()),
            ("risk_fall_30d", fall.to_string()),
            ("risk_choking_30d", choking.to_string()),
            ("risk_self_harm_30d", harm.to_string()),
            ("risk_wandering_30d", wandering.to_string()),
            ("death_date", String::new()),
        ] {
            assert_eq!(row[col(name)], want, "{on}: {name}");
        }
    }
    // Features read the upgraded rows: each flag counts one event.
    let subjects: Vec<SubjectPseudonym> = V2_ROWS
        .iter()
        .map(|r| SubjectPseudonym::from_bytes([r.0; 32]))
        .collect();
    let as_of = Date::new(2026, 6, 30).expect("date");
    let civil = load_features(&store, Department::CivilAffairs, &subjects, as_of)
        .await
        .expect("features");
    assert_eq!(
        civil.column("risk_events_30d"),
        Some(vec![Some(2), Some(1), Some(0), Some(3)])
    );
    assert_eq!(
        civil.column("visit1_falls"),
        Some(vec![Some(1), Some(1), Some(0), Some(1)])
    );
    assert_eq!(civil.column("visit2_months"), Some(vec![None; 4]));
    store.close().await;
    let store = Store::open(url).await.expect("reopen");
    assert!(store.upgrade_report().is_none(), "reported once");
    assert_eq!(
        store
            .count_rows(Department::CivilAffairs)
            .await
            .expect("count"),
        4
    );
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_version_1_store_upgrades() {
    let db = TestDb::sqlite();
    // Version 1 is written through a plain pool before `Store::open` runs: the URL itself
    // must let SQLite create the file.
    upgrade_from_1(&format!("{}?mode=rwc", db.url), false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_version_2_store_upgrades_with_a_report() {
    let db = TestDb::sqlite();
    upgrade_from_2(&format!("{}?mode=rwc", db.url), false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_store_has_no_upgrade_report() {
    let s = common::sqlite_store().await;
    assert!(s.store.upgrade_report().is_none());
    s.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_sqlite_store_has_the_configured_page_size() {
    let db = common::sqlite_store().await.close().await;
    // The file header's page size: bytes 16..18, big-endian (1 stands for 65,536).
    let header = std::fs::read(db.sqlite_file()).expect("read");
    let size = u32::from(u16::from_be_bytes([header[16], header[17]]));
    assert_eq!(
        size,
        weinong_connectors::limits::SQLITE_PAGE_BYTES,
        "page size"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_version_1_store_upgrades() {
    let Some(admin) = common::pg_url() else {
        return;
    };
    let db = TestDb::postgres(&admin).await;
    upgrade_from_1(&db.url, true).await;
    db.remove().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_version_2_store_upgrades_with_a_report() {
    let Some(admin) = common::pg_url() else {
        return;
    };
    let db = TestDb::postgres(&admin).await;
    upgrade_from_2(&db.url, true).await;
    db.remove().await;
}
