//! Helpers shared by the integration tests: the two stores (SQLite file, PostgreSQL scratch
//! database) and truth-file reading.

#![allow(dead_code)]

use std::path::Path;

use weinong_connectors::Store;
use weinong_connectors::store::{create_scratch_database, drop_scratch_database};

/// Where a test's store lives; dropping it does not clean up PostgreSQL (call `finish`).
pub struct TestStore {
    pub store: Store,
    pub url: String,
    pg: Option<(String, String)>,
    _dir: Option<tempfile::TempDir>,
}

impl TestStore {
    pub async fn finish(self) {
        self.store.close().await;
        if let Some((admin_url, name)) = self.pg {
            drop_scratch_database(&admin_url, &name)
                .await
                .expect("drop scratch database");
        }
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
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("node.db").display());
    let store = Store::open(&url).await.expect("open sqlite store");
    TestStore {
        store,
        url,
        pg: None,
        _dir: Some(dir),
    }
}

pub async fn pg_store(admin_url: &str) -> TestStore {
    let (url, name) = create_scratch_database(admin_url, "weinong_test")
        .await
        .expect("create scratch database");
    let store = Store::open(&url).await.expect("open postgres store");
    TestStore {
        store,
        url,
        pg: Some((admin_url.to_string(), name)),
        _dir: None,
    }
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
