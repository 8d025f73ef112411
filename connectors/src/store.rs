//! Storage through sqlx: SQLite (embedded, a file under the node's data dir) or PostgreSQL
//! (a URL in the config), one set of migrations (`connectors/migrations/`), queries with
//! bind parameters only. Reads go through sqlx's `Any` driver so both stores run the same
//! code; imports write through the engine's own driver ([`crate::write`]).
//!
//! Must not know: file formats or cleaning rules. It stores what [`crate::import`] hands it
//! inside the caller's transaction.

use std::borrow::Cow;
use std::str::FromStr;
use std::sync::Once;
use std::time::Duration;

use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::postgres::PgPoolOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{AnyPool, AssertSqlSafe, Executor, Row, SqlSafeStr};
use weinong_keys::{DataKey, SubjectPseudonym};

use crate::clean::Value;
use crate::date::Date;
use crate::error::ConnectorError;
use crate::identity::Identity;
use crate::limits::{PG_POOL_CONNECTIONS_MAX, SQLITE_CACHE_KIB, SQLITE_PAGE_BYTES};
use crate::schema::{Department, FieldKind, RISK_COLUMNS, TableSpec};
use crate::write::{ImportTx, WritePool};

const MIGRATION_0001: &str = include_str!("../migrations/0001_department_data.sql");
/// Version 2 differs per engine (sqlx runs one list of migrations; each database only ever
/// sees its own engine's, so the recorded checksums stay consistent).
pub(crate) const MIGRATION_0002_SQLITE: &str =
    include_str!("../migrations/0002_department_data.sqlite.sql");
const MIGRATION_0002_POSTGRES: &str =
    include_str!("../migrations/0002_department_data.postgres.sql");
/// Version 3 (civil assessments as a history, risk events as frequency codes) differs per
/// engine as version 2 does: SQLite keys by a named index, PostgreSQL by a primary key.
pub(crate) const MIGRATION_0003_SQLITE: &str =
    include_str!("../migrations/0003_civil_assessments.sqlite.sql");
pub(crate) const MIGRATION_0003_POSTGRES: &str =
    include_str!("../migrations/0003_civil_assessments.postgres.sql");
/// Version 4 (the death register's date on civil assessments): one statement both engines
/// read alike.
pub(crate) const MIGRATION_0004: &str = include_str!("../migrations/0004_death_register.sql");

/// The schema version [`Store::open`] migrates to.
pub const SCHEMA_VERSION: i64 = 4;

/// The first schema version whose civil risk columns hold frequency codes (0 none, 1 once,
/// 2 twice, 3 three or more) rather than 0/1 flags.
pub const RISK_FREQUENCY_VERSION: i64 = 3;

/// What [`Store::open`] found when it upgraded a store from before
/// [`RISK_FREQUENCY_VERSION`]: the civil assessments whose care-risk flag was set, per kind.
///
/// Why it exists: a version-2 flag said "at least one event of this kind in 30 days"; the
/// upgrade keeps the value, so each such assessment now reads "once" — a lower bound of the
/// true frequency (two falls were stored as one flag). Counts of events, and the
/// GB/T 42195 "two or more events → one grade worse" rule, can therefore be too low for
/// these assessments until they are re-imported from the department's form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UpgradeReport {
    /// The schema version the store was at before it was opened.
    pub from_version: i64,
    /// The schema version it is at now ([`SCHEMA_VERSION`]).
    pub to_version: i64,
    /// Civil assessments in the store.
    pub assessments: i64,
    /// Per risk column (`schema::RISK_COLUMNS` order: fall, choking, self-harm,
    /// wandering): the column name and the number of assessments whose flag was set.
    pub flagged: [(&'static str, i64); 4],
}

impl UpgradeReport {
    /// Whether any assessment carried a flag (the report then has something to warn of).
    pub fn has_flags(&self) -> bool {
        self.flagged.iter().any(|(_, n)| *n > 0)
    }
}

impl std::fmt::Display for UpgradeReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "store upgraded from schema version {} to {}: {} civil assessment(s); ",
            self.from_version, self.to_version, self.assessments
        )?;
        if !self.has_flags() {
            return write!(
                f,
                "no care-risk flags were set, nothing is read differently"
            );
        }
        let parts: Vec<String> = self
            .flagged
            .iter()
            .map(|(name, n)| format!("{name} {n}"))
            .collect();
        write!(
            f,
            "care-risk flags set ({}): each is now read as frequency code 1 (\"once\"), \
             a lower bound of the true frequency; event counts and the two-event grade \
             adjustment may be too low for these assessments until they are re-imported",
            parts.join(", ")
        )
    }
}

/// Which database engine a store runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// Embedded SQLite file.
    Sqlite,
    /// PostgreSQL server.
    Postgres,
}

/// A department data store.
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    writer: WritePool,
    backend: Backend,
    upgrade: Option<UpgradeReport>,
}

/// A stored import job and its quality report (JSON).
#[derive(Clone, Debug)]
pub struct JobRecord {
    /// Job id.
    pub id: String,
    /// Department.
    pub department: String,
    /// Source file.
    pub source: String,
    /// Start time, Unix milliseconds.
    pub started_at_ms: i64,
    /// Rows stored.
    pub rows_stored: i64,
    /// The quality report as JSON.
    pub report_json: String,
}

fn install_drivers() {
    static DRIVERS: Once = Once::new();
    DRIVERS.call_once(sqlx::any::install_default_drivers);
}

fn migrator(backend: Backend) -> Migrator {
    let (v2, v3) = match backend {
        Backend::Sqlite => (MIGRATION_0002_SQLITE, MIGRATION_0003_SQLITE),
        Backend::Postgres => (MIGRATION_0002_POSTGRES, MIGRATION_0003_POSTGRES),
    };
    let migration = |version, description, sql: &'static str| {
        Migration::new(
            version,
            Cow::Borrowed(description),
            MigrationType::Simple,
            sql.into_sql_str(),
            false,
        )
    };
    let mut m = Migrator::with_migrations(vec![
        migration(1, "department data", MIGRATION_0001),
        migration(2, "identities per department, droppable keys", v2),
        migration(3, "civil assessment history, risk event frequencies", v3),
        migration(4, "death register date", MIGRATION_0004),
    ]);
    debug_assert_eq!(m.iter().last().map(|m| m.version), Some(SCHEMA_VERSION));
    // SQLite has no advisory locks; PostgreSQL's serialise concurrent migrators.
    m.set_locking(true);
    m
}

impl Store {
    /// Opens (creating an SQLite file if needed) and migrates a store.
    ///
    /// URLs: `sqlite:PATH` / `sqlite://PATH` or `postgres://user:pass@host/db`.
    pub async fn open(url: &str) -> Result<Store, ConnectorError> {
        install_drivers();
        let (backend, url) = if url.starts_with("sqlite:") {
            let url = if url.contains('?') {
                url.to_string()
            } else {
                format!("{url}?mode=rwc")
            };
            (Backend::Sqlite, url)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            (Backend::Postgres, url.to_string())
        } else {
            return Err(ConnectorError::Invalid(format!(
                "database URL must start with sqlite: or postgres:// (got '{}')",
                url.split(':').next().unwrap_or("")
            )));
        };
        // SQLite allows one writer: one connection avoids SQLITE_BUSY inside an import.
        let max = if backend == Backend::Sqlite {
            1
        } else {
            PG_POOL_CONNECTIONS_MAX
        };
        let pool = AnyPoolOptions::new()
            .max_connections(max)
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // The page size first: it takes effect only while the file is still
                        // empty (this pool's first connection creates and migrates it), and
                        // is ignored on an existing store. Reads (feature extraction) look
                        // rows up by random pseudonyms too.
                        conn.execute(AssertSqlSafe(format!(
                            "PRAGMA page_size = {SQLITE_PAGE_BYTES}; \
                             PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000; \
                             PRAGMA cache_size = -{SQLITE_CACHE_KIB}; PRAGMA temp_store = MEMORY;"
                        )))
                        .await?;
                    }
                    Ok(())
                })
            })
            .connect(&url)
            .await
            .map_err(ConnectorError::db("connect"))?;
        let from_version = applied_version(&pool, backend).await?;
        migrator(backend).run(&pool).await?;
        // Counted after the migration, from the moved rows (unchanged, so still 0/1), before
        // this store writes anything.
        let upgrade = if (1..RISK_FREQUENCY_VERSION).contains(&from_version) {
            Some(upgrade_report(&pool, from_version).await?)
        } else {
            None
        };
        let writer = match backend {
            Backend::Sqlite => {
                // WAL + NORMAL: a committed import survives a process crash; a power cut may
                // lose the last commit but never corrupts the file, and an import is one
                // transaction, so it is there whole or not at all. Readers keep reading
                // while an import writes. Rows are keyed by random pseudonyms, so index
                // inserts touch pages all over the B-trees: a large page cache.
                let options = SqliteConnectOptions::from_str(&url)
                    .map_err(ConnectorError::db("connect"))?
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .busy_timeout(Duration::from_secs(5))
                    .foreign_keys(false)
                    .pragma("cache_size", format!("-{SQLITE_CACHE_KIB}"))
                    .pragma("temp_store", "MEMORY");
                WritePool::Sqlite(
                    SqlitePoolOptions::new()
                        .max_connections(1)
                        .connect_with(options)
                        .await
                        .map_err(ConnectorError::db("connect"))?,
                )
            }
            Backend::Postgres => WritePool::Postgres(
                PgPoolOptions::new()
                    .max_connections(1)
                    .connect(&url)
                    .await
                    .map_err(ConnectorError::db("connect"))?,
            ),
        };
        Ok(Store {
            pool,
            writer,
            backend,
            upgrade,
        })
    }

    /// What this open's upgrade changed in meaning, if it upgraded the store from before
    /// [`RISK_FREQUENCY_VERSION`]; `None` for a new store or one already there. Callers
    /// should show or log it (its `Display` is one English sentence).
    pub fn upgrade_report(&self) -> Option<&UpgradeReport> {
        self.upgrade.as_ref()
    }

    /// The engine.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The pool, for the crate's read paths (feature extraction).
    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Starts the transaction an import runs in.
    pub(crate) async fn begin(&self) -> Result<ImportTx, ConnectorError> {
        self.writer.begin().await
    }

    /// Writes a consistent copy of an SQLite store, as of now, to `path` (which must not
    /// exist) with `VACUUM INTO`, while the store stays open for readers and writers. A
    /// PostgreSQL store is refused: back it up with the server's own tools (`pg_dump`,
    /// continuous archiving).
    pub async fn backup_into(&self, path: &std::path::Path) -> Result<(), ConnectorError> {
        if self.backend != Backend::Sqlite {
            return Err(ConnectorError::Invalid(
                "a PostgreSQL store is backed up by the database server (pg_dump or continuous archiving), not by weinong".into(),
            ));
        }
        let target = path.to_str().ok_or_else(|| {
            ConnectorError::Invalid(format!("backup path {} is not UTF-8", path.display()))
        })?;
        if path.exists() {
            return Err(ConnectorError::Invalid(format!(
                "backup path {target} exists"
            )));
        }
        // A string literal, quotes doubled: VACUUM INTO takes no bound parameter on older
        // SQLite builds.
        let sql = format!("VACUUM INTO '{}'", target.replace('\'', "''"));
        let WritePool::Sqlite(pool) = &self.writer else {
            unreachable!("the backend is SQLite")
        };
        pool.execute(AssertSqlSafe(sql))
            .await
            .map_err(ConnectorError::db("VACUUM INTO"))?;
        Ok(())
    }

    /// Closes the pools.
    pub async fn close(self) {
        self.writer.close().await;
        self.pool.close().await;
    }

    /// Rows in a department's table.
    pub async fn count_rows(&self, department: Department) -> Result<i64, ConnectorError> {
        self.count(TableSpec::of(department).table, "count rows")
            .await
    }

    /// Subjects stored for a department.
    pub async fn count_subjects(&self, department: Department) -> Result<i64, ConnectorError> {
        self.count(TableSpec::of(department).subject_table, "count subjects")
            .await
    }

    /// Rows in `table` (one of the schema's own names).
    async fn count(&self, table: &str, what: &'static str) -> Result<i64, ConnectorError> {
        let sql = format!("SELECT COUNT(*) FROM {table}");
        let row = sqlx::query(AssertSqlSafe(sql))
            .fetch_one(&self.pool)
            .await
            .map_err(ConnectorError::db(what))?;
        row.try_get::<i64, _>(0).map_err(ConnectorError::db(what))
    }

    /// Import jobs, newest first.
    pub async fn jobs(&self) -> Result<Vec<JobRecord>, ConnectorError> {
        let rows = sqlx::query(
            "SELECT id, department, source, started_at_ms, rows_stored, report_json FROM import_job ORDER BY started_at_ms DESC, id DESC",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(ConnectorError::db("read import jobs"))?;
        rows.iter()
            .map(|r| {
                Ok(JobRecord {
                    id: r.try_get(0)?,
                    department: r.try_get(1)?,
                    source: r.try_get(2)?,
                    started_at_ms: r.try_get(3)?,
                    rows_stored: r.try_get(4)?,
                    report_json: r.try_get(5)?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(ConnectorError::db("read import jobs"))
    }

    /// All cleaned rows of a department with identities opened, rendered as canonical text:
    /// `subject` (pseudonym hex) then every spec field in order. For exports and tests.
    pub async fn dump(
        &self,
        department: Department,
        key: &DataKey,
    ) -> Result<Vec<Vec<String>>, ConnectorError> {
        let spec = TableSpec::of(department);
        let cols: Vec<String> = spec
            .data_fields()
            .map(|(_, f)| format!("t.{}", f.name))
            .collect();
        let sql = format!(
            "SELECT t.subject, s.identity, {} FROM {} t JOIN {} s ON s.subject = t.subject",
            cols.join(", "),
            spec.table,
            spec.subject_table
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .fetch_all(&self.pool)
            .await
            .map_err(ConnectorError::db("dump rows"))?;
        rows.iter().map(|r| render_stored(spec, key, r)).collect()
    }
}

/// The highest migration version recorded in the store; 0 for a new, empty database.
async fn applied_version(pool: &AnyPool, backend: Backend) -> Result<i64, ConnectorError> {
    let what = "read the schema version";
    // sqlx's own bookkeeping table exists once the first migration ran.
    let exists = match backend {
        Backend::Sqlite => {
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'"
        }
        Backend::Postgres => {
            "SELECT COUNT(*) FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_name = '_sqlx_migrations'"
        }
    };
    let n: i64 = sqlx::query(exists)
        .fetch_one(pool)
        .await
        .map_err(ConnectorError::db(what))?
        .try_get(0)
        .map_err(ConnectorError::db(what))?;
    if n == 0 {
        return Ok(0);
    }
    let row = sqlx::query("SELECT MAX(version) FROM _sqlx_migrations WHERE success")
        .fetch_one(pool)
        .await
        .map_err(ConnectorError::db(what))?;
    Ok(row
        .try_get::<Option<i64>, _>(0)
        .map_err(ConnectorError::db(what))?
        .unwrap_or(0))
}

/// Counts the civil assessments and those with each risk flag set, after an upgrade.
async fn upgrade_report(
    pool: &AnyPool,
    from_version: i64,
) -> Result<UpgradeReport, ConnectorError> {
    let what = "count flags for the upgrade report";
    let count = |sql: String| async move {
        let row = sqlx::query(AssertSqlSafe(sql))
            .fetch_one(pool)
            .await
            .map_err(ConnectorError::db(what))?;
        row.try_get::<i64, _>(0).map_err(ConnectorError::db(what))
    };
    let table = crate::schema::CIVIL.table;
    let assessments = count(format!("SELECT COUNT(*) FROM {table}")).await?;
    let mut flagged = RISK_COLUMNS.map(|c| (c, 0));
    for (column, n) in &mut flagged {
        // Version-2 values are 0/1 (the import's range); any non-zero counts as set.
        *n = count(format!("SELECT COUNT(*) FROM {table} WHERE {column} > 0")).await?;
    }
    Ok(UpgradeReport {
        from_version,
        to_version: SCHEMA_VERSION,
        assessments,
        flagged,
    })
}

/// A fresh, empty PostgreSQL database next to the one `url` names (for tests and
/// benchmarks that must not share tables). Returns its URL and name; drop it with
/// [`drop_scratch_database`]. Needs the CREATEDB privilege.
pub async fn create_scratch_database(
    url: &str,
    prefix: &str,
) -> Result<(String, String), ConnectorError> {
    install_drivers();
    let (base, _) = url
        .rsplit_once('/')
        .ok_or_else(|| ConnectorError::Invalid("PostgreSQL URL has no database".into()))?;
    let (_, query) = url.split_once('?').map_or((url, ""), |(a, q)| (a, q));
    let nonce = {
        let k = DataKey::generate()?;
        hex::encode(&k.expose_bytes()[..6])
    };
    let name = format!("{prefix}_{nonce}");
    let pool = AnyPoolOptions::new()
        .max_connections(1)
        .connect(url)
        .await
        .map_err(ConnectorError::db("connect"))?;
    // `name` is built from a fixed prefix and hex digits only, so it is safe in DDL.
    sqlx::query(AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&pool)
        .await
        .map_err(ConnectorError::db("create scratch database"))?;
    pool.close().await;
    let q = if query.is_empty() {
        String::new()
    } else {
        format!("?{query}")
    };
    Ok((format!("{base}/{name}{q}"), name))
}

/// Drops a database made by [`create_scratch_database`].
pub async fn drop_scratch_database(url: &str, name: &str) -> Result<(), ConnectorError> {
    install_drivers();
    if !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return Err(ConnectorError::Invalid(format!(
            "not a scratch database name: {name}"
        )));
    }
    let pool = AnyPoolOptions::new()
        .max_connections(1)
        .connect(url)
        .await
        .map_err(ConnectorError::db("connect"))?;
    // A plain DROP first: it cancels autovacuum workers itself (after a large import one
    // is usually analysing the new tables), which FORCE may not terminate without
    // pg_signal_backend. FORCE then ends sessions the caller left open.
    let plain = sqlx::query(AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name}")))
        .execute(&pool)
        .await;
    let result = match plain {
        Ok(_) => Ok(()),
        Err(_) => sqlx::query(AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
        )))
        .execute(&pool)
        .await
        .map(|_| ())
        .map_err(ConnectorError::db("drop scratch database")),
    };
    pool.close().await;
    result
}

fn render_stored(
    spec: &TableSpec,
    key: &DataKey,
    r: &AnyRow,
) -> Result<Vec<String>, ConnectorError> {
    let db = ConnectorError::db("decode row");
    let subject: Vec<u8> = r.try_get(0).map_err(db)?;
    let subject: [u8; 32] = subject
        .try_into()
        .map_err(|_| ConnectorError::Corrupt("subject pseudonym is not 32 bytes".into()))?;
    let subject = SubjectPseudonym::from_bytes(subject);
    let sealed: Vec<u8> = r.try_get(1).map_err(ConnectorError::db("decode row"))?;
    let identity = Identity::open(key, spec.department, &subject, &sealed)?;
    let mut out = Vec::with_capacity(spec.fields.len() + 1);
    out.push(subject.to_hex());
    let mut col = 2usize;
    for f in spec.fields {
        let text = match f.kind {
            FieldKind::IdNumber => identity.id_number.clone(),
            FieldKind::Name => identity.name.clone(),
            FieldKind::Phone => identity.phone.clone().unwrap_or_default(),
            FieldKind::Address => identity.address.clone().unwrap_or_default(),
            kind => {
                let v = decode_value(r, col, kind)?;
                col += 1;
                v.render()
            }
        };
        out.push(text);
    }
    Ok(out)
}

#[allow(
    clippy::cast_possible_truncation,
    reason = "tenths are below 10^12: exact after rounding"
)]
fn decode_value(r: &AnyRow, col: usize, kind: FieldKind) -> Result<Value, ConnectorError> {
    let db = ConnectorError::db("decode value");
    Ok(match kind {
        FieldKind::Int { .. } | FieldKind::Choice(_) => r
            .try_get::<Option<i64>, _>(col)
            .map_err(db)?
            .map_or(Value::Null, Value::Int),
        FieldKind::Decimal { .. } => {
            let v: Option<f64> = r.try_get(col).map_err(db)?;
            match v {
                None => Value::Null,
                // Stored from tenths; rounding recovers them exactly (values are < 10^12).
                Some(x) => Value::Tenths((x * 10.0).round() as i64),
            }
        }
        FieldKind::Date => match r.try_get::<Option<String>, _>(col).map_err(db)? {
            None => Value::Null,
            Some(s) => Value::Date(
                Date::parse(&s)
                    .map(|d| d.0)
                    .ok_or_else(|| ConnectorError::Corrupt(format!("stored date '{s}'")))?,
            ),
        },
        FieldKind::Icd10List => match r.try_get::<Option<String>, _>(col).map_err(db)? {
            None => Value::Null,
            Some(s) => Value::Codes(s.split(';').map(str::to_string).collect()),
        },
        _ => r
            .try_get::<Option<String>, _>(col)
            .map_err(db)?
            .map_or(Value::Null, Value::Text),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migration_has_every_field_with_its_type() {
        for spec in Department::ALL.map(TableSpec::of) {
            // The migrations that create the table as the schema now has it: civil
            // affairs' table is version 3's (one per engine), the others are version 1's.
            // Version 4 appends the civil table's last column(s) with ALTER TABLE.
            let (sources, added): (&[&str], Vec<String>) =
                if spec.department == Department::CivilAffairs {
                    let added = MIGRATION_0004
                        .lines()
                        .filter_map(|l| {
                            l.trim()
                                .strip_prefix("ALTER TABLE civil_assessment ADD COLUMN ")
                        })
                        .map(|c| c.trim_end_matches(';').to_string())
                        .collect();
                    (&[MIGRATION_0003_SQLITE, MIGRATION_0003_POSTGRES], added)
                } else {
                    (&[MIGRATION_0001], Vec::new())
                };
            for source in sources {
                let start = source
                    .find(&format!("CREATE TABLE {} (", spec.table))
                    .expect("table in migration");
                let body = &source[start..];
                let body = &body[..body.find(");").expect("end of table")];
                let columns: Vec<String> = body
                    .lines()
                    .skip(1)
                    .map(str::trim)
                    .filter(|l| !l.starts_with("PRIMARY"))
                    .map(|l| l.trim_end_matches(',').to_string())
                    .chain(added.iter().cloned())
                    .collect();
                let mut want = vec!["subject BYTEA NOT NULL".to_string()];
                for (_, f) in spec.data_fields() {
                    let not_null = if spec.primary_key.contains(&f.name) {
                        " NOT NULL"
                    } else {
                        ""
                    };
                    want.push(format!("{} {}{not_null}", f.name, f.kind.sql_type()));
                }
                let d = spec.department;
                assert_eq!(columns, want, "{d}: migration and schema disagree");
            }
        }
    }

    #[test]
    fn the_upgrade_report_says_flags_read_as_once() {
        let report = UpgradeReport {
            from_version: 2,
            to_version: 3,
            assessments: 10,
            flagged: [
                ("risk_fall_30d", 3),
                ("risk_choking_30d", 0),
                ("risk_self_harm_30d", 0),
                ("risk_wandering_30d", 1),
            ],
        };
        let text = report.to_string();
        for part in [
            "version 2 to 3",
            "risk_fall_30d 3",
            "\"once\"",
            "lower bound",
        ] {
            assert!(text.contains(part), "{text}");
        }
        let none = UpgradeReport {
            flagged: RISK_COLUMNS.map(|c| (c, 0)),
            ..report
        };
        assert!(!none.has_flags());
        assert!(none.to_string().contains("no care-risk flags"));
    }
}
