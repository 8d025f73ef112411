//! Storage through sqlx: SQLite (embedded, a file under the node's data dir) or PostgreSQL
//! (a URL in the config), one set of migrations (`connectors/migrations/`), queries with
//! bind parameters only, through sqlx's `Any` driver so both stores run the same code.
//!
//! Must not know: file formats or cleaning rules. It stores what [`crate::import`] hands it
//! inside the caller's transaction.

use std::borrow::Cow;
use std::sync::Once;

use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{Any, AnyPool, AssertSqlSafe, Executor, Row, SqlSafeStr, Transaction};
use weinong_keys::{DataKey, SubjectPseudonym};

use crate::clean::Value;
use crate::date::Date;
use crate::error::ConnectorError;
use crate::identity::Identity;
use crate::limits::{PG_POOL_CONNECTIONS_MAX, SQL_BINDS_MAX};
use crate::schema::{Department, FieldKind, TableSpec};

const MIGRATION_0001: &str = include_str!("../migrations/0001_department_data.sql");

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
    backend: Backend,
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

fn migrator() -> Migrator {
    let mut m = Migrator::with_migrations(vec![Migration::new(
        1,
        Cow::Borrowed("department data"),
        MigrationType::Simple,
        MIGRATION_0001.into_sql_str(),
        false,
    )]);
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
                        // WAL + NORMAL: a committed import survives a process crash; a power
                        // cut may lose the last commit but never corrupts the file. Foreign
                        // keys are not used (rows link by pseudonym). Rows are keyed by random
                        // pseudonyms, so index inserts touch pages all over the B-tree: a
                        // 256 MiB page cache (a larger one was not measurably faster here).
                        conn.execute(
                            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000; \
                             PRAGMA cache_size = -262144; PRAGMA temp_store = MEMORY;",
                        )
                        .await?;
                    }
                    Ok(())
                })
            })
            .connect(&url)
            .await
            .map_err(ConnectorError::db("connect"))?;
        migrator().run(&pool).await?;
        Ok(Store { pool, backend })
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
    pub async fn begin(&self) -> Result<Transaction<'static, Any>, ConnectorError> {
        self.pool
            .begin()
            .await
            .map_err(ConnectorError::db("begin transaction"))
    }

    /// Closes the pool.
    pub async fn close(self) {
        self.pool.close().await;
    }

    /// Rows in a department's table.
    pub async fn count_rows(&self, department: Department) -> Result<i64, ConnectorError> {
        let sql = format!("SELECT COUNT(*) FROM {}", department.spec().table);
        let row = sqlx::query(AssertSqlSafe(sql))
            .fetch_one(&self.pool)
            .await
            .map_err(ConnectorError::db("count rows"))?;
        row.try_get::<i64, _>(0)
            .map_err(ConnectorError::db("count rows"))
    }

    /// Subjects stored for a department.
    pub async fn count_subjects(&self, department: Department) -> Result<i64, ConnectorError> {
        let row = sqlx::query("SELECT COUNT(*) FROM subject WHERE department = $1")
            .bind(department.as_str())
            .fetch_one(&self.pool)
            .await
            .map_err(ConnectorError::db("count subjects"))?;
        row.try_get::<i64, _>(0)
            .map_err(ConnectorError::db("count subjects"))
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
        let spec = department.spec();
        let cols: Vec<String> = spec
            .data_fields()
            .map(|(_, f)| format!("t.{}", f.name))
            .collect();
        let sql = format!(
            "SELECT t.subject, s.identity, {} FROM {} t JOIN subject s ON s.department = $1 AND s.subject = t.subject",
            cols.join(", "),
            spec.table
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(department.as_str())
            .fetch_all(&self.pool)
            .await
            .map_err(ConnectorError::db("dump rows"))?;
        rows.iter().map(|r| render_stored(spec, key, r)).collect()
    }
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
    sqlx::query(AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
    )))
    .execute(&pool)
    .await
    .map_err(ConnectorError::db("drop scratch database"))?;
    pool.close().await;
    Ok(())
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

/// Prepared multi-row INSERT statements for one table.
pub(crate) struct Inserter {
    table_sql_prefix: String,
    tenths: Vec<bool>,
    backend: Backend,
    rows_per_statement: usize,
    full_sql: String,
    kinds: Vec<FieldKind>,
    pending: Vec<(SubjectPseudonym, Vec<Value>)>,
}

/// `(p,p,…),(…)` for `rows` rows. SQLite gets anonymous `?` placeholders: it looks a
/// named or numbered one up by a linear scan per parameter, which is quadratic in a
/// 30,000-parameter statement. PostgreSQL needs `$n`. Columns flagged in `tenths` take an
/// integer number of tenths and store it as DOUBLE PRECISION (binding floats through the
/// `Any` driver gives NULLs a different PostgreSQL type than values).
fn values_sql(rows: usize, tenths: &[bool], backend: Backend) -> String {
    let mut s = String::with_capacity(rows * tenths.len() * 8);
    let mut n = 1usize;
    for r in 0..rows {
        if r > 0 {
            s.push(',');
        }
        s.push('(');
        for (c, &t) in tenths.iter().enumerate() {
            if c > 0 {
                s.push(',');
            }
            let p = match backend {
                Backend::Sqlite => "?".to_string(),
                Backend::Postgres => format!("${n}"),
            };
            if t {
                s.push_str(&format!("CAST({p} AS DOUBLE PRECISION) / 10"));
            } else {
                s.push_str(&p);
            }
            n += 1;
        }
        s.push(')');
    }
    s
}

impl Inserter {
    pub(crate) fn new(spec: &TableSpec, backend: Backend) -> Inserter {
        let kinds: Vec<FieldKind> = spec.data_fields().map(|(_, f)| f.kind).collect();
        let cols: Vec<&str> = spec.data_fields().map(|(_, f)| f.name).collect();
        let tenths: Vec<bool> = std::iter::once(false)
            .chain(kinds.iter().map(|k| matches!(k, FieldKind::Decimal { .. })))
            .collect();
        let rows_per_statement = (SQL_BINDS_MAX / tenths.len()).max(1);
        let table_sql_prefix = format!(
            "INSERT INTO {} (subject, {}) VALUES ",
            spec.table,
            cols.join(", ")
        );
        let full_sql = format!(
            "{table_sql_prefix}{}",
            values_sql(rows_per_statement, &tenths, backend)
        );
        Inserter {
            table_sql_prefix,
            tenths,
            backend,
            rows_per_statement,
            full_sql,
            kinds,
            pending: Vec::new(),
        }
    }

    /// Queues rows and writes every full statement's worth; `finish` writes the rest.
    /// Statements of one fixed size stay in the prepared-statement cache (a 30,000-
    /// parameter statement costs more to prepare than to run).
    pub(crate) async fn insert(
        &mut self,
        tx: &mut Transaction<'static, Any>,
        rows: Vec<(SubjectPseudonym, Vec<Value>)>,
    ) -> Result<(), ConnectorError> {
        self.pending.extend(rows);
        while self.pending.len() >= self.rows_per_statement {
            let rest = self.pending.split_off(self.rows_per_statement);
            let full = std::mem::replace(&mut self.pending, rest);
            self.execute(tx, &full).await?;
        }
        Ok(())
    }

    /// Writes the queued rows.
    pub(crate) async fn finish(
        &mut self,
        tx: &mut Transaction<'static, Any>,
    ) -> Result<(), ConnectorError> {
        let rows = std::mem::take(&mut self.pending);
        if rows.is_empty() {
            return Ok(());
        }
        self.execute(tx, &rows).await
    }

    async fn execute(
        &self,
        tx: &mut Transaction<'static, Any>,
        chunk: &[(SubjectPseudonym, Vec<Value>)],
    ) -> Result<(), ConnectorError> {
        let sql = if chunk.len() == self.rows_per_statement {
            self.full_sql.clone()
        } else {
            format!(
                "{}{}",
                self.table_sql_prefix,
                values_sql(chunk.len(), &self.tenths, self.backend)
            )
        };
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for (subject, values) in chunk {
            q = q.bind(subject.as_bytes().to_vec());
            for (v, kind) in values.iter().zip(&self.kinds) {
                q = bind_value(q, v, *kind);
            }
        }
        q.execute(&mut **tx)
            .await
            .map_err(ConnectorError::db("insert rows"))?;
        Ok(())
    }
}

type AnyQuery<'q> = sqlx::query::Query<'q, Any, sqlx::any::AnyArguments>;

fn bind_value<'q>(q: AnyQuery<'q>, v: &Value, kind: FieldKind) -> AnyQuery<'q> {
    match kind {
        FieldKind::Int { .. } | FieldKind::Choice(_) => q.bind(match v {
            Value::Int(n) => Some(*n),
            _ => None,
        }),
        // Tenths as integers; the statement divides by 10 (correctly rounded, so 653 gives
        // the same double as the literal 65.3).
        FieldKind::Decimal { .. } => q.bind(match v {
            Value::Tenths(t) => Some(*t),
            _ => None,
        }),
        _ => q.bind(match v {
            Value::Null => None,
            other => Some(other.render()),
        }),
    }
}

/// Queued sealed identities of new subjects, written in fixed-size statements (already
/// stored subjects are left as they are).
pub(crate) struct SubjectInserter {
    backend: Backend,
    department: Department,
    rows_per_statement: usize,
    full_sql: String,
    pending: Vec<(SubjectPseudonym, Vec<u8>)>,
}

impl SubjectInserter {
    pub(crate) fn new(backend: Backend, department: Department) -> SubjectInserter {
        let rows_per_statement = SQL_BINDS_MAX / 3;
        SubjectInserter {
            backend,
            department,
            rows_per_statement,
            full_sql: Self::sql(rows_per_statement, backend),
            pending: Vec::new(),
        }
    }

    fn sql(rows: usize, backend: Backend) -> String {
        format!(
            "INSERT INTO subject (department, subject, identity) VALUES {} ON CONFLICT (department, subject) DO NOTHING",
            values_sql(rows, &[false; 3], backend)
        )
    }

    pub(crate) async fn insert(
        &mut self,
        tx: &mut Transaction<'static, Any>,
        subjects: Vec<(SubjectPseudonym, Vec<u8>)>,
    ) -> Result<(), ConnectorError> {
        self.pending.extend(subjects);
        while self.pending.len() >= self.rows_per_statement {
            let rest = self.pending.split_off(self.rows_per_statement);
            let full = std::mem::replace(&mut self.pending, rest);
            self.execute(tx, full).await?;
        }
        Ok(())
    }

    pub(crate) async fn finish(
        &mut self,
        tx: &mut Transaction<'static, Any>,
    ) -> Result<(), ConnectorError> {
        let rows = std::mem::take(&mut self.pending);
        if rows.is_empty() {
            return Ok(());
        }
        self.execute(tx, rows).await
    }

    async fn execute(
        &self,
        tx: &mut Transaction<'static, Any>,
        chunk: Vec<(SubjectPseudonym, Vec<u8>)>,
    ) -> Result<(), ConnectorError> {
        let sql = if chunk.len() == self.rows_per_statement {
            self.full_sql.clone()
        } else {
            Self::sql(chunk.len(), self.backend)
        };
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for (s, sealed) in chunk {
            q = q
                .bind(self.department.as_str())
                .bind(s.as_bytes().to_vec())
                .bind(sealed);
        }
        q.execute(&mut **tx)
            .await
            .map_err(ConnectorError::db("insert subjects"))?;
        Ok(())
    }
}

/// Records an import job and its report.
pub(crate) async fn insert_job(
    tx: &mut Transaction<'static, Any>,
    job: &JobRecord,
) -> Result<(), ConnectorError> {
    sqlx::query(
        "INSERT INTO import_job (id, department, source, started_at_ms, rows_stored, report_json) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(job.id.clone())
    .bind(job.department.clone())
    .bind(job.source.clone())
    .bind(job.started_at_ms)
    .bind(job.rows_stored)
    .bind(job.report_json.clone())
    .execute(&mut **tx)
    .await
    .map_err(ConnectorError::db("record import job"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migration_has_every_field_with_its_type() {
        for d in Department::ALL {
            let spec = d.spec();
            let start = MIGRATION_0001
                .find(&format!("CREATE TABLE {} (", spec.table))
                .expect("table in migration");
            let body = &MIGRATION_0001[start..];
            let body = &body[..body.find(");").expect("end of table")];
            let columns: Vec<&str> = body
                .lines()
                .skip(1)
                .map(str::trim)
                .filter(|l| !l.starts_with("PRIMARY"))
                .collect();
            let mut want = vec!["subject BYTEA NOT NULL,".to_string()];
            for (_, f) in spec.data_fields() {
                let not_null = if spec.primary_key.contains(&f.name) {
                    " NOT NULL"
                } else {
                    ""
                };
                want.push(format!("{} {}{not_null},", f.name, f.kind.sql_type()));
            }
            assert_eq!(columns, want, "{d}: migration and schema disagree");
        }
    }

    #[test]
    fn values_sql_numbers_parameters() {
        assert_eq!(
            values_sql(2, &[false; 3], Backend::Postgres),
            "($1,$2,$3),($4,$5,$6)"
        );
        assert_eq!(
            values_sql(2, &[false, true], Backend::Sqlite),
            "(?,CAST(? AS DOUBLE PRECISION) / 10),(?,CAST(? AS DOUBLE PRECISION) / 10)"
        );
    }
}
