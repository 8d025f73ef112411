//! The write path of an import: one transaction on the engine's own sqlx driver (not
//! `Any`, whose per-value conversion copied every text and blob twice more), rows written
//! in bulk — SQLite through fixed-size multi-row INSERT statements, PostgreSQL through
//! `COPY … FROM STDIN`.
//!
//! Must not know: file formats or cleaning rules. It stores what [`crate::import`] hands
//! it inside the import's transaction; dropping an [`ImportTx`] without
//! [`ImportTx::commit`] rolls everything back.

use std::fmt::Write as _;

use rayon::prelude::*;
use sqlx::postgres::PgPool;
use sqlx::sqlite::{SqliteArguments, SqlitePool};
use sqlx::{Arguments, AssertSqlSafe, Postgres, Sqlite, Transaction};
use weinong_keys::SubjectPseudonym;

use crate::clean::Value;
use crate::error::ConnectorError;
use crate::limits::{SQL_BINDS_MAX, SQLITE_INDEX_BUILD_CACHE_KIB, SQLITE_SORT_THREADS};
use crate::schema::{FieldKind, TableSpec};
use crate::store::{Backend, JobRecord};

/// Rows per parallel task when encoding COPY text.
const ENCODE_RUN_ROWS: usize = 1024;

/// The pool imports write through.
#[derive(Clone, Debug)]
pub(crate) enum WritePool {
    /// SQLite, one connection (one writer).
    Sqlite(SqlitePool),
    /// PostgreSQL.
    Postgres(PgPool),
}

impl WritePool {
    pub(crate) async fn begin(&self) -> Result<ImportTx, ConnectorError> {
        let e = ConnectorError::db("begin transaction");
        Ok(match self {
            WritePool::Sqlite(p) => ImportTx::Sqlite(p.begin().await.map_err(e)?),
            WritePool::Postgres(p) => ImportTx::Postgres(p.begin().await.map_err(e)?),
        })
    }

    pub(crate) async fn close(&self) {
        match self {
            WritePool::Sqlite(p) => p.close().await,
            WritePool::Postgres(p) => p.close().await,
        }
    }
}

/// The transaction an import runs in.
pub(crate) enum ImportTx {
    /// On SQLite.
    Sqlite(Transaction<'static, Sqlite>),
    /// On PostgreSQL.
    Postgres(Transaction<'static, Postgres>),
}

impl ImportTx {
    /// Commits the import.
    pub(crate) async fn commit(self) -> Result<(), ConnectorError> {
        let e = ConnectorError::db("commit import");
        match self {
            ImportTx::Sqlite(tx) => tx.commit().await.map_err(e),
            ImportTx::Postgres(tx) => tx.commit().await.map_err(e),
        }
    }
}

/// `(?,?,…),(…)` for `rows` rows of `cols` columns. Anonymous placeholders: SQLite looks a
/// named or numbered one up by a linear scan per parameter, which is quadratic in a
/// 30,000-parameter statement.
fn sqlite_values(rows: usize, cols: usize) -> String {
    let mut s = String::with_capacity(rows * (cols * 2 + 3));
    for r in 0..rows {
        if r > 0 {
            s.push(',');
        }
        s.push('(');
        for c in 0..cols {
            if c > 0 {
                s.push(',');
            }
            s.push('?');
        }
        s.push(')');
    }
    s
}

/// Appends one bind value.
fn add<'t, T>(args: &mut SqliteArguments, value: T) -> Result<(), ConnectorError>
where
    T: sqlx::Encode<'t, Sqlite> + sqlx::Type<Sqlite>,
{
    Arguments::add(args, value)
        .map_err(|e| ConnectorError::Invalid(format!("encode a value for SQLite: {e}")))
}

/// Escapes `text` for PostgreSQL's COPY text format into `out`.
fn copy_text(out: &mut String, text: &str) {
    for ch in text.chars() {
        match ch {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
}

/// A bytea value in COPY text format (`\x` hex, its backslash escaped for COPY).
fn copy_bytea(out: &mut String, bytes: &[u8]) {
    out.push_str("\\\\x");
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
}

/// Tenths as the decimal text of the value: PostgreSQL parses it to the same correctly
/// rounded double as SQLite's `tenths / 10.0`.
fn tenths_text(out: &mut String, t: i64) {
    let sign = if t < 0 { "-" } else { "" };
    let _ = write!(
        out,
        "{sign}{}.{}",
        t.unsigned_abs() / 10,
        t.unsigned_abs() % 10
    );
}

/// One cleaned value as a COPY text field (`\N` for NULL).
fn copy_value(out: &mut String, v: &Value) {
    match v {
        Value::Null => out.push_str("\\N"),
        Value::Int(n) => {
            let _ = write!(out, "{n}");
        }
        Value::Tenths(t) => tenths_text(out, *t),
        Value::Date(d) => {
            let _ = write!(out, "{d}");
        }
        Value::Text(s) => copy_text(out, s),
        Value::Codes(c) => copy_text(out, &c.join(";")),
    }
}

/// Sends `data` to a `COPY … FROM STDIN` statement; on a failure the COPY is aborted so
/// the connection stays usable (the transaction is then rolled back by its owner).
async fn copy_in(
    tx: &mut Transaction<'static, Postgres>,
    statement: &str,
    data: String,
    what: &'static str,
) -> Result<(), ConnectorError> {
    let e = ConnectorError::db(what);
    let mut copy = tx.copy_in_raw(statement).await.map_err(e)?;
    if let Err(err) = copy.send(data.into_bytes()).await {
        let _aborted = copy.abort("import failed").await;
        return Err(ConnectorError::db(what)(err));
    }
    copy.finish().await.map_err(ConnectorError::db(what))?;
    Ok(())
}

/// Rows of one batch as the database takes them. Built on the import's worker (in
/// parallel) so the writer only executes statements: building 30,000 bind values took a
/// third of the writer's time, serial with SQLite's own work.
pub(crate) enum Encoded {
    /// SQLite: the argument lists of multi-row INSERT statements, with their row counts.
    Sqlite(Vec<(usize, SqliteArguments)>),
    /// PostgreSQL: COPY text.
    Postgres(String),
}

/// One table's multi-row statement shape: `head (?,…),(…) tail`.
struct Statements {
    head: String,
    tail: &'static str,
    columns: usize,
    rows_per_statement: usize,
    /// The statement for a full `rows_per_statement` rows (prepared once, cached).
    full_sql: String,
}

impl Statements {
    fn new(head: String, tail: &'static str, columns: usize) -> Statements {
        let rows_per_statement = (SQL_BINDS_MAX / columns.max(1)).max(1);
        let full_sql = format!("{head}{}{tail}", sqlite_values(rows_per_statement, columns));
        Statements {
            head,
            tail,
            columns,
            rows_per_statement,
            full_sql,
        }
    }

    fn sql(&self, rows: usize) -> String {
        if rows == self.rows_per_statement {
            self.full_sql.clone()
        } else {
            format!(
                "{}{}{}",
                self.head,
                sqlite_values(rows, self.columns),
                self.tail
            )
        }
    }

    async fn execute(
        &self,
        tx: &mut Transaction<'static, Sqlite>,
        statements: Vec<(usize, SqliteArguments)>,
        what: &'static str,
    ) -> Result<(), ConnectorError> {
        for (rows, args) in statements {
            sqlx::query_with(AssertSqlSafe(self.sql(rows)), args)
                .execute(&mut **tx)
                .await
                .map_err(ConnectorError::db(what))?;
        }
        Ok(())
    }
}

/// Splits whole statements' worth of rows off `pending` (and the rest too when `last`):
/// statements of one fixed size stay in the prepared-statement cache (a 30,000-parameter
/// statement costs more to prepare than to run).
fn take_statements<T>(pending: &mut Vec<T>, per: usize, last: bool) -> Vec<Vec<T>> {
    let mut out = Vec::with_capacity(pending.len() / per.max(1) + 1);
    let mut rest = std::mem::take(pending).into_iter();
    let total = rest.len();
    let whole = total / per.max(1) * per.max(1);
    let mut taken = 0;
    while taken < whole {
        out.push(rest.by_ref().take(per).collect());
        taken += per;
    }
    if last {
        let tail: Vec<T> = rest.collect();
        if !tail.is_empty() {
            out.push(tail);
        }
    } else {
        pending.extend(rest);
    }
    out
}

/// Rows waiting to fill a SQLite statement of `per` rows.
struct Batcher<T> {
    per: usize,
    pending: Vec<T>,
}

impl<T> Batcher<T> {
    fn new(per: usize) -> Batcher<T> {
        Batcher {
            per,
            pending: Vec::new(),
        }
    }

    /// Adds `rows` and splits off the whole statements (see [`take_statements`]).
    fn take(&mut self, rows: Vec<T>, last: bool) -> Vec<Vec<T>> {
        self.pending.extend(rows);
        take_statements(&mut self.pending, self.per, last)
    }
}

/// The binds of one multi-row SQLite statement and its row count: `add_row` adds each
/// row's `binds_per_row` values.
fn statement_args<T>(
    group: Vec<T>,
    binds_per_row: usize,
    add_row: impl Fn(&mut SqliteArguments, T) -> Result<(), ConnectorError>,
) -> Result<(usize, SqliteArguments), ConnectorError> {
    let n = group.len();
    let mut args = SqliteArguments::default();
    args.reserve(n * binds_per_row, 0);
    for row in group {
        add_row(&mut args, row)?;
    }
    Ok((n, args))
}

/// Appends one value of a data field.
fn add_value(args: &mut SqliteArguments, v: Value, kind: FieldKind) -> Result<(), ConnectorError> {
    match kind {
        FieldKind::Int { .. } | FieldKind::Choice(_) => add(
            args,
            match v {
                Value::Int(n) => Some(n),
                _ => None,
            },
        ),
        // Tenths / 10 is correctly rounded: 653 gives the same double as 65.3.
        FieldKind::Decimal { .. } => add(
            args,
            match v {
                Value::Tenths(t) => Some(t as f64 / 10.0),
                _ => None,
            },
        ),
        _ => add(args, v.into_text()),
    }
}

/// Encodes cleaned rows of one table for its engine, on the import's worker.
pub(crate) struct RowEncoder {
    backend: Backend,
    kinds: Vec<FieldKind>,
    statements: Batcher<(SubjectPseudonym, Vec<Value>)>,
}

impl RowEncoder {
    pub(crate) fn new(spec: &TableSpec, backend: Backend) -> RowEncoder {
        let kinds: Vec<FieldKind> = spec.data_fields().map(|(_, f)| f.kind).collect();
        let statements = Batcher::new((SQL_BINDS_MAX / (kinds.len() + 1)).max(1));
        RowEncoder {
            backend,
            kinds,
            statements,
        }
    }

    /// Encodes `rows`; on SQLite rows short of a full statement wait for the next call,
    /// unless this is the `last`.
    pub(crate) fn encode(
        &mut self,
        rows: Vec<(SubjectPseudonym, Vec<Value>)>,
        last: bool,
    ) -> Result<Encoded, ConnectorError> {
        match self.backend {
            Backend::Postgres => {
                let kinds = self.kinds.len();
                let parts: Vec<String> = rows
                    .par_chunks(ENCODE_RUN_ROWS)
                    .map(|run| {
                        let mut data = String::with_capacity(run.len() * (80 + kinds * 4));
                        for (subject, values) in run {
                            copy_bytea(&mut data, subject.as_bytes());
                            for v in values {
                                data.push('\t');
                                copy_value(&mut data, v);
                            }
                            data.push('\n');
                        }
                        data
                    })
                    .collect();
                Ok(Encoded::Postgres(parts.concat()))
            }
            Backend::Sqlite => {
                let groups = self.statements.take(rows, last);
                let kinds = &self.kinds;
                let statements = groups
                    .into_par_iter()
                    .map(|group| {
                        statement_args(group, kinds.len() + 1, |args, (subject, values)| {
                            add(args, subject.as_bytes().to_vec())?;
                            for (v, kind) in values.into_iter().zip(kinds) {
                                add_value(args, v, *kind)?;
                            }
                            Ok(())
                        })
                    })
                    .collect::<Result<Vec<_>, ConnectorError>>()?;
                Ok(Encoded::Sqlite(statements))
            }
        }
    }
}

/// Writes one table's encoded rows.
pub(crate) struct RowWriter {
    statements: Statements,
    copy: String,
}

impl RowWriter {
    pub(crate) fn new(spec: &TableSpec) -> RowWriter {
        let cols: Vec<&str> = spec.data_fields().map(|(_, f)| f.name).collect();
        // OR FAIL: a conflict still fails the statement (and the import rolls the whole
        // transaction back), but SQLite needs no statement journal to undo the statement's
        // earlier rows (a quarter of the insert time, measured on a million-row civil
        // import).
        let head = format!(
            "INSERT OR FAIL INTO {} (subject, {}) VALUES ",
            spec.table,
            cols.join(", ")
        );
        RowWriter {
            statements: Statements::new(head, "", cols.len() + 1),
            copy: format!(
                "COPY {} (subject, {}) FROM STDIN",
                spec.table,
                cols.join(", ")
            ),
        }
    }

    pub(crate) async fn write(
        &self,
        tx: &mut ImportTx,
        rows: Encoded,
    ) -> Result<(), ConnectorError> {
        match (tx, rows) {
            (ImportTx::Sqlite(tx), Encoded::Sqlite(statements)) => {
                self.statements.execute(tx, statements, "insert rows").await
            }
            (ImportTx::Postgres(tx), Encoded::Postgres(data)) => {
                if data.is_empty() {
                    return Ok(());
                }
                copy_in(tx, &self.copy, data, "insert rows").await
            }
            _ => Err(ConnectorError::Invalid(
                "rows encoded for another database engine".into(),
            )),
        }
    }
}

/// A new subject and its sealed identity.
pub(crate) type SealedSubject = (SubjectPseudonym, Vec<u8>);

/// Encodes sealed identities of new subjects.
pub(crate) struct SubjectEncoder {
    backend: Backend,
    statements: Batcher<SealedSubject>,
}

impl SubjectEncoder {
    pub(crate) fn new(backend: Backend) -> SubjectEncoder {
        SubjectEncoder {
            backend,
            statements: Batcher::new(SQL_BINDS_MAX / 2),
        }
    }

    /// As [`RowEncoder::encode`].
    pub(crate) fn encode(
        &mut self,
        subjects: Vec<SealedSubject>,
        last: bool,
    ) -> Result<Encoded, ConnectorError> {
        match self.backend {
            Backend::Postgres => {
                let mut data = String::with_capacity(subjects.len() * 400);
                for (s, sealed) in &subjects {
                    copy_bytea(&mut data, s.as_bytes());
                    data.push('\t');
                    copy_bytea(&mut data, sealed);
                    data.push('\n');
                }
                Ok(Encoded::Postgres(data))
            }
            Backend::Sqlite => {
                let groups = self.statements.take(subjects, last);
                let statements = groups
                    .into_iter()
                    .map(|group| {
                        statement_args(group, 2, |args, (s, sealed)| {
                            add(args, s.as_bytes().to_vec())?;
                            add(args, sealed)
                        })
                    })
                    .collect::<Result<Vec<_>, ConnectorError>>()?;
                Ok(Encoded::Sqlite(statements))
            }
        }
    }
}

/// Writes subjects into the department's subject table. Subjects already stored are left
/// as they are (`ON CONFLICT DO NOTHING`); on PostgreSQL they are copied into a temporary
/// table first and moved over by [`SubjectWriter::finish`].
pub(crate) struct SubjectWriter {
    statements: Statements,
    table: &'static str,
    staged: bool,
}

impl SubjectWriter {
    /// `keyed`: the table's key index is in place during the import (on SQLite it is not
    /// when [`BulkLoad`] dropped it: the table was empty and the import's subjects are
    /// distinct, so there is nothing to conflict with).
    pub(crate) fn new(spec: &TableSpec, keyed: bool) -> SubjectWriter {
        let table = spec.subject_table;
        SubjectWriter {
            // OR FAIL, as for the data tables: no statement journal.
            statements: Statements::new(
                format!("INSERT OR FAIL INTO {table} (subject, identity) VALUES "),
                if keyed {
                    " ON CONFLICT (subject) DO NOTHING"
                } else {
                    ""
                },
                2,
            ),
            table,
            staged: false,
        }
    }

    pub(crate) async fn write(
        &mut self,
        tx: &mut ImportTx,
        subjects: Encoded,
    ) -> Result<(), ConnectorError> {
        match (tx, subjects) {
            (ImportTx::Sqlite(tx), Encoded::Sqlite(statements)) => {
                self.statements
                    .execute(tx, statements, "insert subjects")
                    .await
            }
            (ImportTx::Postgres(tx), Encoded::Postgres(data)) => {
                if data.is_empty() {
                    return Ok(());
                }
                if !self.staged {
                    // Dropped with the transaction, committed or not.
                    sqlx::query(AssertSqlSafe(format!(
                        "CREATE TEMPORARY TABLE import_subject (LIKE {}) ON COMMIT DROP",
                        self.table
                    )))
                    .execute(&mut **tx)
                    .await
                    .map_err(ConnectorError::db("stage subjects"))?;
                    self.staged = true;
                }
                copy_in(
                    tx,
                    "COPY import_subject (subject, identity) FROM STDIN",
                    data,
                    "insert subjects",
                )
                .await
            }
            _ => Err(ConnectorError::Invalid(
                "subjects encoded for another database engine".into(),
            )),
        }
    }

    /// Moves staged subjects into place (PostgreSQL).
    pub(crate) async fn finish(&mut self, tx: &mut ImportTx) -> Result<(), ConnectorError> {
        if let ImportTx::Postgres(tx) = tx
            && self.staged
        {
            sqlx::query(AssertSqlSafe(format!(
                "INSERT INTO {} (subject, identity) \
                 SELECT subject, identity FROM import_subject \
                 ON CONFLICT (subject) DO NOTHING",
                self.table
            )))
            .execute(&mut **tx)
            .await
            .map_err(ConnectorError::db("insert subjects"))?;
        }
        Ok(())
    }
}

/// An SQLite index of the department tables, as schema version 2 (or, for civil affairs,
/// version 3) creates it.
struct SqliteIndex {
    table: &'static str,
    name: &'static str,
    create: &'static str,
}

/// Every index of the SQLite schema (version 3). Each `create` statement appears verbatim
/// in its migration (a test checks), so an index rebuilt by [`BulkLoad`] is the migration's.
const SQLITE_INDEXES: [SqliteIndex; 7] = [
    SqliteIndex {
        table: "civil_assessment",
        name: "civil_assessment_key",
        create: "CREATE UNIQUE INDEX civil_assessment_key ON civil_assessment (subject, assessed_on);",
    },
    SqliteIndex {
        table: "health_checkup",
        name: "health_checkup_key",
        create: "CREATE UNIQUE INDEX health_checkup_key ON health_checkup (subject, exam_date);",
    },
    SqliteIndex {
        table: "insurance_claim",
        name: "insurance_claim_key",
        create: "CREATE UNIQUE INDEX insurance_claim_key ON insurance_claim (claim_id);",
    },
    SqliteIndex {
        table: "insurance_claim",
        name: "insurance_claim_subject",
        create: "CREATE INDEX insurance_claim_subject ON insurance_claim (subject);",
    },
    SqliteIndex {
        table: "subject_civil",
        name: "subject_civil_key",
        create: "CREATE UNIQUE INDEX subject_civil_key ON subject_civil (subject);",
    },
    SqliteIndex {
        table: "subject_health",
        name: "subject_health_key",
        create: "CREATE UNIQUE INDEX subject_health_key ON subject_health (subject);",
    },
    SqliteIndex {
        table: "subject_insurance",
        name: "subject_insurance_key",
        create: "CREATE UNIQUE INDEX subject_insurance_key ON subject_insurance (subject);",
    },
];

/// Bulk loading into empty SQLite tables: the import drops their indexes when it starts,
/// appends the rows, and builds each index once at the end ([`BulkLoad::finish`]), all in
/// the import's transaction.
///
/// Why: rows are keyed by random pseudonyms, so an index kept through the import takes one
/// random B-tree insert per row (the single writer's largest cost, growing with the table);
/// building it afterwards is one sort and an in-order build. A unique index that the rows
/// violate fails its build, which fails the import like a conflicting insert would; a
/// failure anywhere rolls the transaction back, and with it the dropped indexes (SQLite's
/// schema changes are transactional), so the store is as it was. Tables that already hold
/// rows keep their indexes (a rebuild would cost in proportion to what is there).
/// PostgreSQL keeps its constraints; `COPY` is its bulk path.
pub(crate) struct BulkLoad {
    dropped: Vec<&'static SqliteIndex>,
    subjects_keyed: bool,
}

impl BulkLoad {
    /// Drops the indexes of the import's empty tables (SQLite).
    pub(crate) async fn start(
        tx: &mut ImportTx,
        spec: &TableSpec,
    ) -> Result<BulkLoad, ConnectorError> {
        let mut load = BulkLoad {
            dropped: Vec::new(),
            subjects_keyed: true,
        };
        let ImportTx::Sqlite(tx) = tx else {
            return Ok(load);
        };
        for table in [spec.table, spec.subject_table] {
            let any = sqlx::query(AssertSqlSafe(format!("SELECT 1 FROM {table} LIMIT 1")))
                .fetch_optional(&mut **tx)
                .await
                .map_err(ConnectorError::db("inspect table"))?;
            if any.is_some() {
                continue;
            }
            for index in SQLITE_INDEXES.iter().filter(|i| i.table == table) {
                sqlx::query(AssertSqlSafe(format!("DROP INDEX {}", index.name)))
                    .execute(&mut **tx)
                    .await
                    .map_err(ConnectorError::db("drop index for bulk load"))?;
                load.dropped.push(index);
            }
            if table == spec.subject_table {
                load.subjects_keyed = false;
            }
        }
        Ok(load)
    }

    /// Whether the subject table keeps its key index during the import.
    pub(crate) fn subjects_keyed(&self) -> bool {
        self.subjects_keyed
    }

    /// Builds the dropped indexes; a unique index the imported rows violate fails here.
    pub(crate) async fn finish(self, tx: &mut ImportTx) -> Result<(), ConnectorError> {
        let ImportTx::Sqlite(tx) = tx else {
            return Ok(());
        };
        if self.dropped.is_empty() {
            return Ok(());
        }
        // Sort in small runs on temporary files, with helper threads (see
        // `SQLITE_INDEX_BUILD_CACHE_KIB`); the connection's own settings, read first, come
        // back after.
        let mut own = [0i64; 3];
        for (value, name) in own.iter_mut().zip(["temp_store", "cache_size", "threads"]) {
            *value = sqlx::query_scalar(AssertSqlSafe(format!("PRAGMA {name}")))
                .fetch_one(&mut **tx)
                .await
                .map_err(ConnectorError::db("read settings before index builds"))?;
        }
        let sort = format!(
            "PRAGMA temp_store = FILE; PRAGMA cache_size = -{SQLITE_INDEX_BUILD_CACHE_KIB}; \
             PRAGMA threads = {SQLITE_SORT_THREADS};"
        );
        let usual = format!(
            "PRAGMA temp_store = {}; PRAGMA cache_size = {}; PRAGMA threads = {};",
            own[0], own[1], own[2]
        );
        sqlx::raw_sql(AssertSqlSafe(sort))
            .execute(&mut **tx)
            .await
            .map_err(ConnectorError::db("set up index builds"))?;
        let mut built = Ok(());
        for index in self.dropped {
            built = sqlx::query(AssertSqlSafe(index.create))
                .execute(&mut **tx)
                .await
                .map(|_| ())
                .map_err(ConnectorError::db("build index"));
            if built.is_err() {
                break;
            }
        }
        let restored = sqlx::raw_sql(AssertSqlSafe(usual))
            .execute(&mut **tx)
            .await
            .map_err(ConnectorError::db("restore settings after index builds"));
        // A failed build is the error to report; the import's rollback follows either way.
        built?;
        restored.map(|_| ())
    }
}

/// Records an import job and its report.
pub(crate) async fn insert_job(tx: &mut ImportTx, job: &JobRecord) -> Result<(), ConnectorError> {
    const SQL: &str = "INSERT INTO import_job (id, department, source, started_at_ms, rows_stored, report_json) VALUES ($1, $2, $3, $4, $5, $6)";
    let e = ConnectorError::db("record import job");
    // One statement for both engines; only sqlx's query type differs.
    macro_rules! run {
        ($db:ty, $tx:expr) => {
            sqlx::query::<$db>(SQL)
                .bind(job.id.clone())
                .bind(job.department.clone())
                .bind(job.source.clone())
                .bind(job.started_at_ms)
                .bind(job.rows_stored)
                .bind(job.report_json.clone())
                .execute(&mut **$tx)
                .await
                .map(|_| ())
                .map_err(e)
        };
    }
    match tx {
        ImportTx::Sqlite(tx) => run!(Sqlite, tx),
        ImportTx::Postgres(tx) => run!(Postgres, tx),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn pragma(tx: &mut Transaction<'static, Sqlite>, name: &str) -> i64 {
        sqlx::query_scalar(AssertSqlSafe(format!("PRAGMA {name}")))
            .fetch_one(&mut **tx)
            .await
            .expect("read pragma")
    }

    /// An index build that the loaded rows violate fails the import; the connection gets
    /// its usual sort settings back, and the rollback brings the dropped indexes back.
    #[tokio::test]
    async fn a_failed_index_build_restores_settings_and_rolls_back() {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite:{}", dir.path().join("bulk.db").display());
        let store = crate::store::Store::open(&url).await.expect("open store");
        let spec = TableSpec::of(crate::schema::Department::MedicalInsurance);
        let mut tx = store.begin().await.expect("begin");
        let bulk = BulkLoad::start(&mut tx, spec)
            .await
            .expect("start bulk load");
        assert!(!bulk.subjects_keyed());
        let ImportTx::Sqlite(inner) = &mut tx else {
            panic!("an SQLite store gives an SQLite transaction");
        };
        let usual = (
            pragma(inner, "temp_store").await,
            pragma(inner, "cache_size").await,
        );
        // Two claims with one claim number: only the rebuilt unique index can notice.
        sqlx::query(
            "INSERT INTO insurance_claim (subject, claim_id) VALUES (x'01', 'YB1'), (x'02', 'YB1')",
        )
        .execute(&mut **inner)
        .await
        .expect("no index to stop the rows yet");
        let err = bulk
            .finish(&mut tx)
            .await
            .expect_err("the unique index must fail");
        assert!(err.to_string().contains("build index"), "{err}");
        let ImportTx::Sqlite(inner) = &mut tx else {
            unreachable!()
        };
        let after = (
            pragma(inner, "temp_store").await,
            pragma(inner, "cache_size").await,
        );
        assert_eq!(after, usual);
        let cache = crate::limits::SQLITE_CACHE_KIB;
        assert_eq!(usual.1, -i64::try_from(cache).expect("fits"));
        drop(tx);
        let mut tx = store.begin().await.expect("begin again");
        let ImportTx::Sqlite(inner) = &mut tx else {
            unreachable!()
        };
        let names: Vec<String> = sqlx::query_scalar(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'insurance_claim' ORDER BY name",
        )
        .fetch_all(&mut **inner)
        .await
        .expect("list indexes");
        assert_eq!(names, ["insurance_claim_key", "insurance_claim_subject"]);
        let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM insurance_claim")
            .fetch_one(&mut **inner)
            .await
            .expect("count");
        assert_eq!(rows, 0);
    }

    #[test]
    fn statements_are_whole_until_the_last() {
        let mut pending: Vec<u32> = (0..7).collect();
        assert_eq!(
            take_statements(&mut pending, 3, false),
            [vec![0, 1, 2], vec![3, 4, 5]]
        );
        assert_eq!(pending, [6]);
        pending.extend([7, 8]);
        assert_eq!(take_statements(&mut pending, 3, false), [vec![6, 7, 8]]);
        pending.push(9);
        assert_eq!(take_statements(&mut pending, 3, true), [vec![9]]);
        assert!(pending.is_empty());
        assert!(take_statements(&mut pending, 3, true).is_empty());
    }

    #[test]
    fn bulk_load_rebuilds_the_migrations_indexes() {
        // Version 3 replaces the civil table and its index; version 2 made the others.
        let v2 = crate::store::MIGRATION_0002_SQLITE;
        let v3 = crate::store::MIGRATION_0003_SQLITE;
        let indexes = |sql: &'static str| -> Vec<&'static str> {
            sql.lines()
                .filter(|l| l.starts_with("CREATE UNIQUE INDEX") || l.starts_with("CREATE INDEX"))
                .collect()
        };
        let mut current: Vec<&str> = indexes(v2)
            .into_iter()
            .filter(|l| !l.contains(" ON civil_person "))
            .collect();
        current.extend(indexes(v3));
        for index in &SQLITE_INDEXES {
            assert!(current.contains(&index.create), "{}", index.name);
            assert!(
                index
                    .create
                    .contains(&format!(" {} ON {} (", index.name, index.table))
            );
        }
        assert_eq!(
            current.len(),
            SQLITE_INDEXES.len(),
            "an index the bulk load would not know"
        );
        for d in crate::schema::Department::ALL {
            let spec = TableSpec::of(d);
            for table in [spec.table, spec.subject_table] {
                assert!(SQLITE_INDEXES.iter().any(|i| i.table == table), "{table}");
            }
        }
    }

    #[test]
    fn sqlite_values_are_anonymous_placeholders() {
        assert_eq!(sqlite_values(2, 3), "(?,?,?),(?,?,?)");
    }

    #[test]
    fn copy_text_escapes_the_format_characters() {
        let mut s = String::new();
        copy_text(&mut s, "a\\b\tc\nd\re 长");
        assert_eq!(s, "a\\\\b\\tc\\nd\\re 长");
        let mut s = String::new();
        copy_bytea(&mut s, &[0, 0xab]);
        assert_eq!(s, "\\\\x00ab");
        let mut s = String::new();
        copy_value(&mut s, &Value::Null);
        tenths_text(&mut s, -653);
        copy_value(&mut s, &Value::Tenths(5));
        assert_eq!(s, "\\N-65.30.5");
    }
}
