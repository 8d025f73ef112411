//! The write path of an import: one transaction on the engine's own sqlx driver (not
//! `Any`, whose per-value conversion copied every text and blob twice more), rows written
//! in bulk — SQLite through fixed-size multi-row INSERT statements, PostgreSQL through
//! `COPY … FROM STDIN`.
//!
//! Must not know: file formats or cleaning rules. It stores what [`crate::import`] hands
//! it inside the import's transaction; dropping an [`ImportTx`] without
//! [`ImportTx::commit`] rolls everything back.

use std::fmt::Write as _;

use sqlx::postgres::PgPool;
use sqlx::sqlite::{SqliteArguments, SqlitePool};
use sqlx::{Arguments, AssertSqlSafe, Postgres, Sqlite, Transaction};
use weinong_keys::SubjectPseudonym;

use crate::clean::Value;
use crate::error::ConnectorError;
use crate::limits::SQL_BINDS_MAX;
use crate::schema::{Department, FieldKind, TableSpec};
use crate::store::JobRecord;

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
    let _ = write!(out, "{sign}{}.{}", t.unsigned_abs() / 10, t.unsigned_abs() % 10);
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

/// Queued rows of one table, written a full statement (SQLite) or batch (PostgreSQL) at a
/// time; `finish` writes the rest.
pub(crate) struct Inserter {
    kinds: Vec<FieldKind>,
    /// `INSERT … VALUES ` / `COPY … FROM STDIN`.
    head: String,
    rows_per_statement: usize,
    /// The SQLite statement for a full `rows_per_statement` rows (prepared once, cached).
    full_sql: String,
    pending: Vec<(SubjectPseudonym, Vec<Value>)>,
}

impl Inserter {
    pub(crate) fn new(spec: &TableSpec, tx: &ImportTx) -> Inserter {
        let kinds: Vec<FieldKind> = spec.data_fields().map(|(_, f)| f.kind).collect();
        let cols: Vec<&str> = spec.data_fields().map(|(_, f)| f.name).collect();
        let columns = cols.len() + 1;
        let rows_per_statement = (SQL_BINDS_MAX / columns).max(1);
        let (head, full_sql) = match tx {
            ImportTx::Sqlite(_) => {
                // OR FAIL: a conflict still fails the statement (and the import rolls the
                // whole transaction back), but SQLite needs no statement journal to undo
                // the statement's earlier rows — a quarter of the insert time.
                let head = format!(
                    "INSERT OR FAIL INTO {} (subject, {}) VALUES ",
                    spec.table,
                    cols.join(", ")
                );
                let full = format!("{head}{}", sqlite_values(rows_per_statement, columns));
                (head, full)
            }
            ImportTx::Postgres(_) => (
                format!(
                    "COPY {} (subject, {}) FROM STDIN",
                    spec.table,
                    cols.join(", ")
                ),
                String::new(),
            ),
        };
        Inserter {
            kinds,
            head,
            rows_per_statement,
            full_sql,
            pending: Vec::new(),
        }
    }

    /// Queues rows and writes every full statement's worth (on PostgreSQL: the batch).
    pub(crate) async fn insert(
        &mut self,
        tx: &mut ImportTx,
        rows: Vec<(SubjectPseudonym, Vec<Value>)>,
    ) -> Result<(), ConnectorError> {
        match tx {
            ImportTx::Postgres(tx) => self.copy(tx, rows).await,
            ImportTx::Sqlite(tx) => {
                self.pending.extend(rows);
                let full = self.pending.len() / self.rows_per_statement;
                if full == 0 {
                    return Ok(());
                }
                let rest = self.pending.split_off(full * self.rows_per_statement);
                let ready = std::mem::replace(&mut self.pending, rest);
                let mut ready = ready.into_iter();
                for _ in 0..full {
                    let chunk: Vec<_> = ready.by_ref().take(self.rows_per_statement).collect();
                    self.sqlite(tx, chunk).await?;
                }
                Ok(())
            }
        }
    }

    /// Writes the queued rows.
    pub(crate) async fn finish(&mut self, tx: &mut ImportTx) -> Result<(), ConnectorError> {
        let rows = std::mem::take(&mut self.pending);
        if rows.is_empty() {
            return Ok(());
        }
        match tx {
            ImportTx::Sqlite(tx) => self.sqlite(tx, rows).await,
            ImportTx::Postgres(tx) => self.copy(tx, rows).await,
        }
    }

    async fn sqlite(
        &self,
        tx: &mut Transaction<'static, Sqlite>,
        chunk: Vec<(SubjectPseudonym, Vec<Value>)>,
    ) -> Result<(), ConnectorError> {
        let sql = if chunk.len() == self.rows_per_statement {
            self.full_sql.clone()
        } else {
            format!(
                "{}{}",
                self.head,
                sqlite_values(chunk.len(), self.kinds.len() + 1)
            )
        };
        // Sized up front: growing a 30,000-value argument list by doubling showed up as
        // a tenth of the insert time (reallocations and page faults).
        let mut args = SqliteArguments::default();
        args.reserve(chunk.len() * (self.kinds.len() + 1), 0);
        for (subject, values) in chunk {
            add(&mut args, subject.as_bytes().to_vec())?;
            for (v, kind) in values.into_iter().zip(&self.kinds) {
                match kind {
                    FieldKind::Int { .. } | FieldKind::Choice(_) => add(
                        &mut args,
                        match v {
                            Value::Int(n) => Some(n),
                            _ => None,
                        },
                    )?,
                    // Tenths / 10 is correctly rounded: 653 gives the same double as 65.3.
                    FieldKind::Decimal { .. } => add(
                        &mut args,
                        match v {
                            Value::Tenths(t) => Some(t as f64 / 10.0),
                            _ => None,
                        },
                    )?,
                    _ => add(&mut args, v.into_text())?,
                }
            }
        }
        sqlx::query_with(AssertSqlSafe(sql), args)
            .execute(&mut **tx)
            .await
            .map_err(ConnectorError::db("insert rows"))?;
        Ok(())
    }

    async fn copy(
        &self,
        tx: &mut Transaction<'static, Postgres>,
        rows: Vec<(SubjectPseudonym, Vec<Value>)>,
    ) -> Result<(), ConnectorError> {
        if rows.is_empty() {
            return Ok(());
        }
        let mut data = String::with_capacity(rows.len() * (80 + self.kinds.len() * 4));
        for (subject, values) in &rows {
            copy_bytea(&mut data, subject.as_bytes());
            for v in values {
                data.push('\t');
                copy_value(&mut data, v);
            }
            data.push('\n');
        }
        copy_in(tx, &self.head, data, "insert rows").await
    }
}

/// Queued sealed identities of new subjects. Subjects already stored are left as they are
/// (`ON CONFLICT DO NOTHING`); on PostgreSQL they are copied into a temporary table first
/// and moved over by [`SubjectInserter::finish`].
pub(crate) struct SubjectInserter {
    department: Department,
    rows_per_statement: usize,
    full_sql: String,
    pending: Vec<(SubjectPseudonym, Vec<u8>)>,
    staged: bool,
}

/// OR FAIL, as for the data tables: no statement journal.
const SUBJECT_INSERT: &str = "INSERT OR FAIL INTO subject (department, subject, identity) VALUES ";
const SUBJECT_CONFLICT: &str = " ON CONFLICT (department, subject) DO NOTHING";

impl SubjectInserter {
    pub(crate) fn new(department: Department) -> SubjectInserter {
        let rows_per_statement = SQL_BINDS_MAX / 3;
        SubjectInserter {
            department,
            rows_per_statement,
            full_sql: Self::sqlite_sql(rows_per_statement),
            pending: Vec::new(),
            staged: false,
        }
    }

    fn sqlite_sql(rows: usize) -> String {
        format!(
            "{SUBJECT_INSERT}{}{SUBJECT_CONFLICT}",
            sqlite_values(rows, 3)
        )
    }

    pub(crate) async fn insert(
        &mut self,
        tx: &mut ImportTx,
        subjects: Vec<(SubjectPseudonym, Vec<u8>)>,
    ) -> Result<(), ConnectorError> {
        match tx {
            ImportTx::Postgres(tx) => self.copy(tx, subjects).await,
            ImportTx::Sqlite(tx) => {
                self.pending.extend(subjects);
                while self.pending.len() >= self.rows_per_statement {
                    let rest = self.pending.split_off(self.rows_per_statement);
                    let full = std::mem::replace(&mut self.pending, rest);
                    self.sqlite(tx, full).await?;
                }
                Ok(())
            }
        }
    }

    pub(crate) async fn finish(&mut self, tx: &mut ImportTx) -> Result<(), ConnectorError> {
        match tx {
            ImportTx::Sqlite(tx) => {
                let rows = std::mem::take(&mut self.pending);
                if rows.is_empty() {
                    return Ok(());
                }
                self.sqlite(tx, rows).await
            }
            ImportTx::Postgres(tx) => {
                if !self.staged {
                    return Ok(());
                }
                sqlx::query(
                    "INSERT INTO subject (department, subject, identity) \
                     SELECT department, subject, identity FROM import_subject \
                     ON CONFLICT (department, subject) DO NOTHING",
                )
                .execute(&mut **tx)
                .await
                .map_err(ConnectorError::db("insert subjects"))?;
                Ok(())
            }
        }
    }

    async fn sqlite(
        &self,
        tx: &mut Transaction<'static, Sqlite>,
        chunk: Vec<(SubjectPseudonym, Vec<u8>)>,
    ) -> Result<(), ConnectorError> {
        let sql = if chunk.len() == self.rows_per_statement {
            self.full_sql.clone()
        } else {
            Self::sqlite_sql(chunk.len())
        };
        let mut args = SqliteArguments::default();
        args.reserve(chunk.len() * 3, 0);
        for (s, sealed) in chunk {
            add(&mut args, self.department.as_str())?;
            add(&mut args, s.as_bytes().to_vec())?;
            add(&mut args, sealed)?;
        }
        sqlx::query_with(AssertSqlSafe(sql), args)
            .execute(&mut **tx)
            .await
            .map_err(ConnectorError::db("insert subjects"))?;
        Ok(())
    }

    async fn copy(
        &mut self,
        tx: &mut Transaction<'static, Postgres>,
        subjects: Vec<(SubjectPseudonym, Vec<u8>)>,
    ) -> Result<(), ConnectorError> {
        if subjects.is_empty() {
            return Ok(());
        }
        if !self.staged {
            // Dropped with the transaction, committed or not.
            sqlx::query(
                "CREATE TEMPORARY TABLE import_subject (LIKE subject) ON COMMIT DROP",
            )
            .execute(&mut **tx)
            .await
            .map_err(ConnectorError::db("stage subjects"))?;
            self.staged = true;
        }
        let mut data = String::with_capacity(subjects.len() * 400);
        for (s, sealed) in &subjects {
            copy_text(&mut data, self.department.as_str());
            data.push('\t');
            copy_bytea(&mut data, s.as_bytes());
            data.push('\t');
            copy_bytea(&mut data, sealed);
            data.push('\n');
        }
        copy_in(
            tx,
            "COPY import_subject (department, subject, identity) FROM STDIN",
            data,
            "insert subjects",
        )
        .await
    }
}

/// Records an import job and its report.
pub(crate) async fn insert_job(tx: &mut ImportTx, job: &JobRecord) -> Result<(), ConnectorError> {
    const SQL: &str = "INSERT INTO import_job (id, department, source, started_at_ms, rows_stored, report_json) VALUES ($1, $2, $3, $4, $5, $6)";
    let e = ConnectorError::db("record import job");
    match tx {
        ImportTx::Sqlite(tx) => sqlx::query::<Sqlite>(SQL)
            .bind(job.id.clone())
            .bind(job.department.clone())
            .bind(job.source.clone())
            .bind(job.started_at_ms)
            .bind(job.rows_stored)
            .bind(job.report_json.clone())
            .execute(&mut **tx)
            .await
            .map(|_| ())
            .map_err(e),
        ImportTx::Postgres(tx) => sqlx::query::<Postgres>(SQL)
            .bind(job.id.clone())
            .bind(job.department.clone())
            .bind(job.source.clone())
            .bind(job.started_at_ms)
            .bind(job.rows_stored)
            .bind(job.report_json.clone())
            .execute(&mut **tx)
            .await
            .map(|_| ())
            .map_err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
