//! Helpers shared by the integration tests: the two stores (SQLite file, PostgreSQL scratch
//! database), synthetic department files and their import, and truth-file reading.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use weinong_connectors::store::{create_scratch_database, drop_scratch_database};
use weinong_connectors::synth::{input_file, mapping_file};
use weinong_connectors::{
    ConnectorError, Department, ImportOptions, Mapping, QualityReport, Secrets, Store, SynthConfig,
    SynthSummary, import_file, synthesize,
};
use weinong_keys::SubjectPseudonym;

/// A database for a test (a SQLite file in a temporary folder, or a PostgreSQL scratch
/// database), not opened yet; dropping it does not clean up PostgreSQL (call `remove`).
pub struct TestDb {
    /// The URL `Store::open` takes (SQLite: without `?mode=rwc`; `Store::open` adds it).
    pub url: String,
    pg: Option<(String, String)>,
    dir: Option<tempfile::TempDir>,
}

impl TestDb {
    /// `node.db` in a new temporary folder (the file is not created).
    pub fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!("sqlite://{}", dir.path().join("node.db").display());
        TestDb {
            url,
            pg: None,
            dir: Some(dir),
        }
    }

    /// A new scratch database on the PostgreSQL server of `admin_url`.
    pub async fn postgres(admin_url: &str) -> TestDb {
        let (url, name) = create_scratch_database(admin_url, "weinong_test")
            .await
            .expect("create scratch database");
        TestDb {
            url,
            pg: Some((admin_url.to_string(), name)),
            dir: None,
        }
    }

    /// The folder that holds a SQLite database and whatever files SQLite adds beside it.
    pub fn sqlite_dir(&self) -> &Path {
        self.dir.as_ref().expect("a SQLite database").path()
    }

    /// The SQLite database file.
    pub fn sqlite_file(&self) -> PathBuf {
        self.sqlite_dir().join("node.db")
    }

    /// Drops a PostgreSQL scratch database (a SQLite folder goes when this is dropped).
    pub async fn remove(self) {
        if let Some((admin_url, name)) = self.pg {
            drop_scratch_database(&admin_url, &name)
                .await
                .expect("drop scratch database");
        }
    }
}

/// An open store in its test database; dropping it does not clean up PostgreSQL (call
/// `finish`).
pub struct TestStore {
    pub store: Store,
    pub db: TestDb,
}

impl TestStore {
    /// Closes the store and hands back its database, still there to look at.
    pub async fn close(self) -> TestDb {
        self.store.close().await;
        self.db
    }

    pub async fn finish(self) {
        self.close().await.remove().await;
    }
}

/// The PostgreSQL URL for tests. Missing URL fails the test with instructions, unless
/// WEINONG_SKIP_PG=1 says explicitly to skip PostgreSQL.
pub fn pg_url() -> Option<String> {
    match std::env::var("WEINONG_TEST_PG_URL") {
        Ok(u) if !u.trim().is_empty() => Some(u),
        _ => {
            if std::env::var("WEINONG_SKIP_PG").as_deref() == Ok("1") {
                eprintln!("WEINONG_SKIP_PG=1: skipping the PostgreSQL variant");
                None
            } else {
                panic!(
                    "WEINONG_TEST_PG_URL is not set: run `eval $(scripts/pg-test-setup.sh)` (it starts PostgreSQL 15 \
                     and prints `export WEINONG_TEST_PG_URL=...`), or set WEINONG_SKIP_PG=1 to skip PostgreSQL explicitly"
                )
            }
        }
    }
}

pub async fn sqlite_store() -> TestStore {
    let db = TestDb::sqlite();
    let store = Store::open(&db.url).await.expect("open sqlite store");
    TestStore { store, db }
}

pub async fn pg_store(admin_url: &str) -> TestStore {
    let db = TestDb::postgres(admin_url).await;
    let store = Store::open(&db.url).await.expect("open postgres store");
    TestStore { store, db }
}

/// Writes the synthetic department files (and truth files) for `people` residents into
/// `dir`.
pub fn synth(dir: &Path, people: u64, seed: u64, dirt: f64) -> SynthSummary {
    synthesize(&SynthConfig {
        people,
        seed,
        dirt,
        out: dir.to_path_buf(),
    })
    .expect("synthesize")
}

/// The mapping that comes with department `d`'s synthetic file in `dir` (the default
/// where its columns need none).
pub fn mapping_for(dir: &Path, d: Department) -> Mapping {
    mapping_file(d).map_or_else(Mapping::default, |m| {
        Mapping::load(&dir.join(m)).expect("mapping")
    })
}

/// Imports department `d`'s synthetic file from `dir` with its mapping.
pub async fn import_synthetic(
    store: &Store,
    dir: &Path,
    d: Department,
    secrets: &Secrets,
    options: &ImportOptions,
) -> Result<QualityReport, ConnectorError> {
    import_file(
        store,
        d,
        &dir.join(input_file(d)),
        &mapping_for(dir, d),
        secrets,
        options,
    )
    .await
}

/// Imports every department's synthetic file from `dir`; each must succeed.
pub async fn import_all(store: &Store, dir: &Path, secrets: &Secrets) {
    for d in Department::ALL {
        import_synthetic(store, dir, d, secrets, &ImportOptions::default())
            .await
            .expect("import");
    }
}

/// The pseudonyms of every synthetic person in `dir`, once each, in the truth file's order
/// (every person is in the civil register, with one row per assessment).
pub fn truth_subjects(dir: &Path) -> Vec<SubjectPseudonym> {
    let mut r = csv::Reader::from_path(dir.join("truth").join("civil.csv")).expect("truth");
    let mut seen = std::collections::HashSet::new();
    r.records()
        .map(|rec| {
            rec.expect("record")[0]
                .parse::<SubjectPseudonym>()
                .expect("pseudonym")
        })
        .filter(|s| seen.insert(*s))
        .collect()
}

/// Rows of a CSV file without its header.
pub fn read_csv(path: &Path) -> Vec<Vec<String>> {
    let mut r = csv::Reader::from_path(path).expect("open csv");
    r.records()
        .map(|rec| {
            rec.expect("csv record")
                .iter()
                .map(str::to_string)
                .collect()
        })
        .collect()
}

/// Runs `body` for SQLite, then for PostgreSQL (or fails/skips as `pg_url` says).
#[macro_export]
macro_rules! both_stores {
    ($sqlite:ident, $pg:ident, $body:path) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $sqlite() {
            let s = common::sqlite_store().await;
            $body(&s).await;
            s.finish().await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $pg() {
            let Some(url) = common::pg_url() else { return };
            let s = common::pg_store(&url).await;
            $body(&s).await;
            s.finish().await;
        }
    };
}
