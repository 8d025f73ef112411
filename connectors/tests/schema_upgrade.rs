//! A store made at schema version 1 (one `subject` table with a department column; inline
//! primary keys) opens at version 2 with its rows and identities intact, its keys still
//! enforced — on SQLite and on PostgreSQL. A new SQLite store has the configured page size.

mod common;

use std::borrow::Cow;

use common::TestDb;
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{AnyPool, SqlSafeStr};
use weinong_connectors::identity::Identity;
use weinong_connectors::store::{SCHEMA_VERSION, Store};
use weinong_connectors::synth::synthetic_secrets;
use weinong_connectors::{ConnectorError, Department, ImportOptions};
use weinong_keys::SubjectPseudonym;

const SEED: u64 = 5;

/// Version 1 exactly as released: same SQL, so the same checksum as `Store::open` records.
fn version_1() -> Migrator {
    let mut m = Migrator::with_migrations(vec![Migration::new(
        1,
        Cow::Borrowed("department data"),
        MigrationType::Simple,
        include_str!("../migrations/0001_department_data.sql").into_sql_str(),
        false,
    )]);
    m.set_locking(true);
    m
}

/// Writes one civil person and identities in two departments the way version 1 stored them.
async fn fill_version_1(url: &str) -> (SubjectPseudonym, Identity) {
    sqlx::any::install_default_drivers();
    let pool = AnyPool::connect(url).await.expect("connect");
    version_1().run(&pool).await.expect("migrate to version 1");
    let secrets = synthetic_secrets(SEED);
    let identity = Identity {
        id_number: "11010519491231002X".into(),
        name: "张三".into(),
        phone: None,
        address: Some("浦东新区世纪大道100号".into()),
    };
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
    sqlx::query("INSERT INTO civil_person (subject, sex, care_grade) VALUES ($1, '2', 3)")
        .bind(subject.as_bytes().to_vec())
        .execute(&pool)
        .await
        .expect("insert person");
    pool.close().await;
    (subject, identity)
}

async fn upgrade(url: &str) {
    let (subject, identity) = fill_version_1(url).await;
    let store = Store::open(url).await.expect("open at version 2");
    let secrets = synthetic_secrets(SEED);
    assert_eq!(SCHEMA_VERSION, 2);
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
    // Opening again runs nothing (the recorded checksums match).
    let store = Store::open(url).await.expect("reopen");
    // The register's key survived the rebuild: a person is refused a second time.
    let data = tempfile::tempdir().expect("tempdir");
    common::synth(data.path(), 50, SEED, 0.0);
    let d = Department::CivilAffairs;
    let options = ImportOptions::default();
    common::import_synthetic(&store, data.path(), d, &secrets, &options)
        .await
        .expect("import into the upgraded store");
    let err = common::import_synthetic(&store, data.path(), d, &secrets, &options)
        .await
        .expect_err("the same people again");
    assert!(matches!(err, ConnectorError::Db { .. }), "{err}");
    assert_eq!(store.count_rows(d).await.expect("count"), 51);
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_version_1_store_upgrades() {
    let db = TestDb::sqlite();
    // Version 1 is written through a plain pool before `Store::open` runs: the URL itself
    // must let SQLite create the file.
    upgrade(&format!("{}?mode=rwc", db.url)).await;
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
    upgrade(&db.url).await;
    db.remove().await;
}
