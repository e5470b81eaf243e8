//! One small interface over Spin's PostgreSQL (`spin:postgres@4.0.0`) and Spin's SQLite
//! (`spin:sqlite@3.0.0`), picked from `database_url`.
//!
//! SQL is written once with `$1, $2, …` placeholders; the schema is designed so that the
//! same text runs on both dialects (see `migrations/`). Parameters are always bound,
//! never interpolated. Values that the two databases represent differently — booleans,
//! timestamps, money — are converted here and nowhere else.

use std::fmt;

use domain::{Price, Timestamp};
use spin_sdk::wit::pg4;
use spin_sdk::wit::sqlite3;

mod zero_row_guard;

include!(concat!(env!("OUT_DIR"), "/latest_migration.rs"));

/// A value bound to a statement parameter.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    /// A 32-bit column (`INTEGER` in PostgreSQL): PostgreSQL types parameters strictly.
    I32(i32),
    I64(i64),
    Text(String),
    Bool(bool),
    Timestamp(Timestamp),
    Money(Price),
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::I64(v)
    }
}
impl From<i32> for Value {
    fn from(v: i32) -> Self {
        Value::I32(v)
    }
}
impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Bool(v)
    }
}
impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(v.to_owned())
    }
}
impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Text(v)
    }
}
impl From<Timestamp> for Value {
    fn from(v: Timestamp) -> Self {
        Value::Timestamp(v)
    }
}
impl From<Price> for Value {
    fn from(v: Price) -> Self {
        Value::Money(v)
    }
}
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

/// Why a database call failed, in the terms the API cares about.
#[derive(Debug, Clone, PartialEq)]
pub enum DbError {
    /// The database cannot be reached or is shutting down: the request gets a 503.
    Unavailable(String),
    /// A unique constraint was violated; `constraint` is named `<table>_<column>_key` in
    /// both dialects (e.g. `users_email_key`).
    UniqueViolation { constraint: String },
    /// A foreign key was violated (a missing brand, or a brand still in use).
    ForeignKeyViolation,
    /// A CHECK constraint rejected a value the domain layer should have refused.
    CheckViolation(String),
    /// `database_url` names no supported database.
    Config(String),
    /// Anything else: a bug or a schema mismatch, answered with a 500.
    Other(String),
}

impl fmt::Display for DbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DbError::Unavailable(m) => write!(f, "database unavailable: {m}"),
            DbError::UniqueViolation { constraint } => write!(f, "unique violation: {constraint}"),
            DbError::ForeignKeyViolation => f.write_str("foreign key violation"),
            DbError::CheckViolation(m) => write!(f, "check violation: {m}"),
            DbError::Config(m) => write!(f, "bad database_url: {m}"),
            DbError::Other(m) => write!(f, "database error: {m}"),
        }
    }
}

impl std::error::Error for DbError {}

enum Connection {
    Postgres(pg4::Connection),
    Sqlite(sqlite3::Connection),
}

/// A connection for the duration of one request. Spin pools PostgreSQL connections on
/// the host side, so opening one per request is the intended use.
pub struct Db {
    connection: Connection,
    queries: std::cell::Cell<u64>,
    /// Inside `begin` … `commit`/`rollback`.
    in_transaction: std::cell::Cell<bool>,
}

impl Db {
    /// `postgres://…` / `postgresql://…` → Spin PostgreSQL; `sqlite://<label>` → Spin's
    /// SQLite database with that label (`sqlite://default` by default).
    pub fn open(database_url: &str) -> Result<Db, DbError> {
        let connection = if let Some(rest) = database_url
            .strip_prefix("postgres://")
            .or_else(|| database_url.strip_prefix("postgresql://"))
        {
            // Spin checks outbound hosts against the `postgres` scheme only.
            let address = plaintext_on_loopback(&format!("postgres://{rest}"));
            Connection::Postgres(pg4::Connection::open(&address).map_err(pg_error)?)
        } else if let Some(label) = database_url.strip_prefix("sqlite://") {
            let label = if label.is_empty() { "default" } else { label };
            let connection = sqlite3::Connection::open(label).map_err(sqlite_error)?;
            // Cascades and RESTRICT need this per connection in SQLite.
            connection
                .execute("PRAGMA foreign_keys = ON", &[])
                .map_err(sqlite_error)?;
            Connection::Sqlite(connection)
        } else {
            let scheme = database_url.split("://").next().unwrap_or_default();
            return Err(DbError::Config(format!(
                "unsupported scheme '{scheme}' (expected postgres:// or sqlite://)"
            )));
        };
        Ok(Db {
            connection,
            queries: std::cell::Cell::new(0),
            in_transaction: std::cell::Cell::new(false),
        })
    }

    /// How many statements this connection ran (for the `database_queries_total` metric).
    pub fn query_count(&self) -> u64 {
        self.queries.get()
    }

    /// Runs a statement that returns rows.
    pub fn query(&self, sql: &str, params: &[Value]) -> Result<Vec<Row>, DbError> {
        self.run_query(sql, params)
            .inspect_err(|error| self.after_failed_statement(error))
    }

    fn run_query(&self, sql: &str, params: &[Value]) -> Result<Vec<Row>, DbError> {
        self.queries.set(self.queries.get() + 1);
        match &self.connection {
            Connection::Postgres(c) => {
                let params: Vec<pg4::ParameterValue> = params.iter().map(pg_param).collect();
                let rows = c
                    .query(&zero_row_guard::wrap(sql), &params)
                    .map_err(pg_error)?;
                Ok(zero_row_guard::unwrap(rows.rows)
                    .map(|r| Row(r.into_iter().map(pg_cell).collect()))
                    .collect())
            }
            Connection::Sqlite(c) => {
                let params: Vec<sqlite3::Value> = params.iter().map(sqlite_param).collect();
                let result = c
                    .execute(&sqlite_placeholders(sql), &params)
                    .map_err(sqlite_error)?;
                Ok(result
                    .rows
                    .into_iter()
                    .map(|r| Row(r.values.into_iter().map(sqlite_cell).collect()))
                    .collect())
            }
        }
    }

    /// At most one row.
    pub fn query_opt(&self, sql: &str, params: &[Value]) -> Result<Option<Row>, DbError> {
        Ok(self.query(sql, params)?.into_iter().next())
    }

    /// Exactly one row (e.g. `INSERT … RETURNING`).
    pub fn query_one(&self, sql: &str, params: &[Value]) -> Result<Row, DbError> {
        self.query_opt(sql, params)?
            .ok_or_else(|| DbError::Other("statement returned no row".into()))
    }

    /// Runs a statement without rows; returns the number of rows it changed.
    pub fn execute(&self, sql: &str, params: &[Value]) -> Result<u64, DbError> {
        self.run_execute(sql, params)
            .inspect_err(|error| self.after_failed_statement(error))
    }

    fn run_execute(&self, sql: &str, params: &[Value]) -> Result<u64, DbError> {
        self.queries.set(self.queries.get() + 1);
        match &self.connection {
            Connection::Postgres(c) => {
                let params: Vec<pg4::ParameterValue> = params.iter().map(pg_param).collect();
                c.execute(sql, &params).map_err(pg_error)
            }
            Connection::Sqlite(c) => {
                let params: Vec<sqlite3::Value> = params.iter().map(sqlite_param).collect();
                c.execute(&sqlite_placeholders(sql), &params)
                    .map_err(sqlite_error)?;
                Ok(c.changes())
            }
        }
    }

    /// Starts a transaction on this connection: what follows commits or rolls back as
    /// one. SQLite takes the write lock at once (`IMMEDIATE`), so a transaction never
    /// fails halfway on a lock upgrade; it waits for other writers instead.
    ///
    /// Spin gives each `open` its own connection (SQLite) or holds one pooled client for
    /// the connection's lifetime (PostgreSQL), so the transaction is this request's.
    ///
    /// A handler inside a transaction writes at most once, and a refused write is its
    /// only write (a 4xx changes nothing). PostgreSQL refuses every statement after a
    /// failed one until the transaction ends, so after a refused statement the
    /// transaction is rolled back and begun again (`after_failed_statement`): the
    /// handler can still read (who is calling, which duplicate it was) and its answer
    /// can still be stored. SQLite rolls back only the failed statement by itself.
    pub fn begin(&self) -> Result<(), DbError> {
        match &self.connection {
            Connection::Postgres(_) => self.run_execute("BEGIN", &[]),
            Connection::Sqlite(_) => self.run_execute("BEGIN IMMEDIATE", &[]),
        }?;
        self.in_transaction.set(true);
        Ok(())
    }

    pub fn commit(&self) -> Result<(), DbError> {
        self.in_transaction.set(false);
        self.run_execute("COMMIT", &[]).map(drop)
    }

    /// Rolls back; a failure means the connection is gone, and the server then rolls back.
    pub fn rollback(&self) {
        self.in_transaction.set(false);
        let _ = self.run_execute("ROLLBACK", &[]);
    }

    fn after_failed_statement(&self, error: &DbError) {
        let aborts_transaction = matches!(self.connection, Connection::Postgres(_))
            && self.in_transaction.get()
            && !matches!(error, DbError::Unavailable(_));
        if aborts_transaction {
            let _ = self.run_execute("ROLLBACK", &[]);
            let _ = self.run_execute("BEGIN", &[]);
        }
    }

    /// The newest migration applied to this database, if any.
    pub fn applied_migration(&self) -> Result<Option<i64>, DbError> {
        let row = self.query_one(
            "SELECT MAX(version) FROM _sqlx_migrations WHERE success = TRUE",
            &[],
        )?;
        row.opt_i64(0)
    }
}

/// A PostgreSQL on this very machine is reached over plain TCP unless the URL says
/// otherwise: Spin verifies certificates for every `sslmode` but `disable`, and a local
/// server's self-signed certificate would turn every request into a 503. TLS over the
/// loopback interface protects nothing. Remote hosts keep the URL as given.
fn plaintext_on_loopback(url: &str) -> String {
    let rest = url.trim_start_matches("postgres://");
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    let host_port = authority.rsplit('@').next().unwrap_or_default();
    let host = if let Some(v6) = host_port.strip_prefix('[') {
        v6.split(']').next().unwrap_or_default()
    } else {
        host_port.split(':').next().unwrap_or_default()
    };
    let loopback = matches!(host, "localhost" | "::1") || host.starts_with("127.");
    if !loopback || url.contains("sslmode=") {
        return url.to_string();
    }
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}sslmode=disable")
}

/// `$1` → `?1`: SQLite's numbered parameters, same numbering.
fn sqlite_placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '$' && chars.peek().is_some_and(char::is_ascii_digit) {
            out.push('?');
        } else {
            out.push(c);
        }
    }
    out
}

/// One value read from a row, in a representation common to both dialects.
#[derive(Debug, Clone, PartialEq)]
enum Cell {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    Bool(bool),
    Timestamp(Timestamp),
    Decimal(String),
    Other(&'static str),
}

/// A result row, read by column index.
#[derive(Debug, Clone, PartialEq)]
pub struct Row(Vec<Cell>);

impl Row {
    fn cell(&self, index: usize) -> Result<&Cell, DbError> {
        self.0
            .get(index)
            .ok_or_else(|| DbError::Other(format!("no column {index}")))
    }

    fn mismatch(&self, index: usize, wanted: &str) -> DbError {
        DbError::Other(format!(
            "column {index}: expected {wanted}, found {:?}",
            self.0.get(index)
        ))
    }

    pub fn i64(&self, index: usize) -> Result<i64, DbError> {
        self.opt_i64(index)?
            .ok_or_else(|| self.mismatch(index, "integer"))
    }

    pub fn opt_i64(&self, index: usize) -> Result<Option<i64>, DbError> {
        match self.cell(index)? {
            Cell::Int(v) => Ok(Some(*v)),
            Cell::Null => Ok(None),
            _ => Err(self.mismatch(index, "integer")),
        }
    }

    pub fn text(&self, index: usize) -> Result<String, DbError> {
        self.opt_text(index)?
            .ok_or_else(|| self.mismatch(index, "text"))
    }

    pub fn opt_text(&self, index: usize) -> Result<Option<String>, DbError> {
        match self.cell(index)? {
            Cell::Text(v) => Ok(Some(v.clone())),
            Cell::Null => Ok(None),
            _ => Err(self.mismatch(index, "text")),
        }
    }

    pub fn bool(&self, index: usize) -> Result<bool, DbError> {
        match self.cell(index)? {
            Cell::Bool(v) => Ok(*v),
            Cell::Int(v) => Ok(*v != 0),
            _ => Err(self.mismatch(index, "boolean")),
        }
    }

    pub fn timestamp(&self, index: usize) -> Result<Timestamp, DbError> {
        match self.cell(index)? {
            Cell::Timestamp(t) => Ok(*t),
            Cell::Text(s) => Timestamp::parse(s).ok_or_else(|| self.mismatch(index, "timestamp")),
            _ => Err(self.mismatch(index, "timestamp")),
        }
    }

    pub fn opt_timestamp(&self, index: usize) -> Result<Option<Timestamp>, DbError> {
        match self.cell(index)? {
            Cell::Null => Ok(None),
            _ => self.timestamp(index).map(Some),
        }
    }

    pub fn price(&self, index: usize) -> Result<Price, DbError> {
        match self.cell(index)? {
            Cell::Decimal(s) => {
                Price::from_decimal_text(s).ok_or_else(|| self.mismatch(index, "decimal"))
            }
            Cell::Int(cents) => Ok(Price::from_cents(*cents)),
            _ => Err(self.mismatch(index, "price")),
        }
    }
}

// --- PostgreSQL ---------------------------------------------------------------------

fn pg_param(value: &Value) -> pg4::ParameterValue {
    use pg4::ParameterValue as P;
    match value {
        Value::Null => P::DbNull,
        Value::I32(v) => P::Int32(*v),
        Value::I64(v) => P::Int64(*v),
        Value::Text(v) => P::Str(v.clone()),
        Value::Bool(v) => P::Boolean(*v),
        // TIMESTAMP (without time zone) columns hold UTC; see DESIGN.md on timestamptz.
        Value::Timestamp(t) => P::Datetime(t.to_civil()),
        Value::Money(p) => P::Decimal(p.to_string()),
    }
}

fn pg_cell(value: pg4::DbValue) -> Cell {
    use pg4::DbValue as V;
    match value {
        V::DbNull => Cell::Null,
        V::Boolean(v) => Cell::Bool(v),
        V::Int8(v) => Cell::Int(i64::from(v)),
        V::Int16(v) => Cell::Int(i64::from(v)),
        V::Int32(v) => Cell::Int(i64::from(v)),
        V::Int64(v) => Cell::Int(v),
        V::Floating32(v) => Cell::Real(f64::from(v)),
        V::Floating64(v) => Cell::Real(v),
        V::Str(v) => Cell::Text(v),
        V::Decimal(v) => Cell::Decimal(v),
        V::Datetime((y, m, d, hh, mm, ss, ns)) => {
            Cell::Timestamp(Timestamp::from_civil(y, m, d, hh, mm, ss, ns))
        }
        V::Timestamp(secs) => Cell::Timestamp(Timestamp::from_micros(secs * 1_000_000)),
        _ => Cell::Other("unsupported PostgreSQL type"),
    }
}

fn pg_error(error: pg4::Error) -> DbError {
    use pg4::{Error as E, QueryError as Q};
    match error {
        E::ConnectionFailed(message) => DbError::Unavailable(message),
        E::QueryFailed(Q::DbError(e)) => {
            let constraint = e
                .extras
                .iter()
                .find(|(k, _)| k == "constraint")
                .map(|(_, v)| v.clone())
                .or_else(|| quoted_name(&e.message));
            server_error(&e.code, constraint, &e.message)
        }
        // Spin 3.6 and 4.0 return a server error raised while the rows stream in (a
        // unique violation of `INSERT … RETURNING`, say) as text: the Debug form of the
        // error, SQLSTATE included. Without a SQLSTATE the connection broke.
        E::QueryFailed(Q::Text(message)) => match sqlstate_in_text(&message) {
            Some(code) => {
                let constraint = constraint_in_text(&message);
                server_error(&code, constraint, "server error (as text)")
            }
            None => DbError::Unavailable(message),
        },
        E::BadParameter(m) | E::ValueConversionFailed(m) | E::Other(m) => DbError::Other(m),
    }
}

/// A server error by SQLSTATE.
fn server_error(code: &str, constraint: Option<String>, message: &str) -> DbError {
    match code {
        "23505" => DbError::UniqueViolation {
            constraint: constraint.unwrap_or_default(),
        },
        "23503" => DbError::ForeignKeyViolation,
        "23514" => DbError::CheckViolation(constraint.unwrap_or_default()),
        // Connection exceptions, shutdown, resource exhaustion: transient.
        code if code.starts_with("08") || code.starts_with("57P") || code.starts_with("53") => {
            DbError::Unavailable(format!("{message} ({code})"))
        }
        code => DbError::Other(format!("{message} ({code})")),
    }
}

/// The SQLSTATE in the Debug text of a tokio-postgres error (`SqlState(E23505)`), which
/// both Spin 3.6 and 4.0 put in a text error.
fn sqlstate_in_text(text: &str) -> Option<String> {
    let start = text.find("SqlState(E")? + "SqlState(E".len();
    let code: String = text[start..].chars().take(5).collect();
    (code.len() == 5 && code.chars().all(|c| c.is_ascii_alphanumeric())).then_some(code)
}

/// The constraint in the same text (`constraint: Some("users_email_key")`, its quotes
/// escaped once more in Spin 4.0's nesting).
fn constraint_in_text(text: &str) -> Option<String> {
    let start = text.find("constraint: Some(")? + "constraint: Some(".len();
    let name: String = text[start..]
        .trim_start_matches(['\\', '"'])
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    (!name.is_empty()).then_some(name)
}

/// The first `"quoted"` name in a PostgreSQL message (the constraint, for 23505).
fn quoted_name(message: &str) -> Option<String> {
    let start = message.find('"')? + 1;
    let end = message[start..].find('"')? + start;
    Some(message[start..end].to_string())
}

// --- SQLite -------------------------------------------------------------------------

fn sqlite_param(value: &Value) -> sqlite3::Value {
    use sqlite3::Value as S;
    match value {
        Value::Null => S::Null,
        Value::I32(v) => S::Integer(i64::from(*v)),
        Value::I64(v) => S::Integer(*v),
        Value::Text(v) => S::Text(v.clone()),
        Value::Bool(v) => S::Integer(i64::from(*v)),
        Value::Timestamp(t) => S::Text(t.to_string()),
        Value::Money(p) => S::Integer(p.cents()),
    }
}

fn sqlite_cell(value: sqlite3::Value) -> Cell {
    use sqlite3::Value as S;
    match value {
        S::Null => Cell::Null,
        S::Integer(v) => Cell::Int(v),
        S::Real(v) => Cell::Real(v),
        S::Text(v) => Cell::Text(v),
        S::Blob(_) => Cell::Other("blob"),
    }
}

fn sqlite_error(error: sqlite3::Error) -> DbError {
    use sqlite3::Error as E;
    match error {
        E::Io(message) => classify_sqlite_message(&message),
        E::NoSuchDatabase => DbError::Unavailable("no such SQLite database".into()),
        E::AccessDenied => DbError::Unavailable("SQLite database access denied".into()),
        E::InvalidConnection => DbError::Unavailable("invalid SQLite connection".into()),
        E::DatabaseFull => DbError::Unavailable("SQLite database full".into()),
    }
}

fn classify_sqlite_message(message: &str) -> DbError {
    if let Some(rest) = message.split("UNIQUE constraint failed: ").nth(1) {
        // "users.username" (or "t.a, t.b") → "users_username_key", PostgreSQL's name.
        let first = rest.split(',').next().unwrap_or(rest).trim();
        return DbError::UniqueViolation {
            constraint: format!("{}_key", first.replace('.', "_")),
        };
    }
    if message.contains("FOREIGN KEY constraint failed") {
        return DbError::ForeignKeyViolation;
    }
    if let Some(rest) = message.split("CHECK constraint failed: ").nth(1) {
        return DbError::CheckViolation(rest.trim().to_string());
    }
    if message.contains("database is locked") || message.contains("busy") {
        return DbError::Unavailable(message.to_string());
    }
    DbError::Other(message.to_string())
}

/// The `LIKE` pattern for a case-insensitive literal substring search: `%`, `_` and `\`
/// in the user's text match themselves (`ESCAPE '\'` in the SQL).
pub fn contains_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for c in text.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_become_sqlite_numbered_parameters() {
        assert_eq!(
            sqlite_placeholders("SELECT $1, '$' || $12 FROM t WHERE a = $2"),
            "SELECT ?1, '$' || ?12 FROM t WHERE a = ?2"
        );
    }

    #[test]
    fn sqlite_constraint_messages_map_to_postgres_names() {
        assert_eq!(
            classify_sqlite_message("UNIQUE constraint failed: users.username"),
            DbError::UniqueViolation {
                constraint: "users_username_key".into()
            }
        );
        assert_eq!(
            classify_sqlite_message("FOREIGN KEY constraint failed"),
            DbError::ForeignKeyViolation
        );
        assert!(matches!(
            classify_sqlite_message("database is locked"),
            DbError::Unavailable(_)
        ));
    }

    #[test]
    fn loopback_postgres_defaults_to_plain_tcp() {
        assert_eq!(
            plaintext_on_loopback("postgres://u:p@127.0.0.1:5432/db"),
            "postgres://u:p@127.0.0.1:5432/db?sslmode=disable"
        );
        assert_eq!(
            plaintext_on_loopback("postgres://localhost/db?application_name=x"),
            "postgres://localhost/db?application_name=x&sslmode=disable"
        );
        assert_eq!(
            plaintext_on_loopback("postgres://u@[::1]:5432/db"),
            "postgres://u@[::1]:5432/db?sslmode=disable"
        );
        for kept in [
            "postgres://u@db.example.com/db",
            "postgres://u@127.0.0.1/db?sslmode=require",
        ] {
            assert_eq!(plaintext_on_loopback(kept), kept);
        }
    }

    #[test]
    fn search_patterns_are_literal() {
        assert_eq!(contains_pattern("50%_Off\\"), "%50\\%\\_off\\\\%");
        assert_eq!(contains_pattern("ÁB"), "%áb%");
    }

    #[test]
    fn server_errors_returned_as_text_keep_their_meaning() {
        // Spin 4.0.2 (a v4 error's Debug, as-text nested and escaped once more).
        let spin4 = r#"Error::QueryFailed(QueryError::DbError(DbError { as-text: "Error { kind: Db, cause: Some(DbError { severity: "ERROR", code: SqlState(E23505), message: "duplicate key value violates unique constraint \"users_email_key\"", constraint: Some("users_email_key"), file: Some("nbtinsert.c") }) }", severity: "ERROR", code: "23505", extras: [("constraint", "users_email_key")] }))"#;
        // Spin 3.6.3 (a tokio-postgres error's Debug).
        let spin3 = r#"Error { kind: Db, cause: Some(DbError { severity: "ERROR", parsed_severity: Some(Error), code: SqlState(E23505), message: "duplicate key value violates unique constraint "cars_plate_key"", constraint: Some("cars_plate_key"), file: Some("nbtinsert.c") }) }"#;
        for (text, constraint) in [(spin4, "users_email_key"), (spin3, "cars_plate_key")] {
            assert_eq!(
                pg_error(pg4::Error::QueryFailed(pg4::QueryError::Text(text.into()))),
                DbError::UniqueViolation {
                    constraint: constraint.into()
                }
            );
        }
        let fk = "Error { kind: Db, cause: Some(DbError { code: SqlState(E23503) }) }";
        assert_eq!(
            pg_error(pg4::Error::QueryFailed(pg4::QueryError::Text(fk.into()))),
            DbError::ForeignKeyViolation
        );
        assert!(matches!(
            pg_error(pg4::Error::QueryFailed(pg4::QueryError::Text(
                "connection closed".into()
            ))),
            DbError::Unavailable(_)
        ));
    }

    #[test]
    fn postgres_constraint_name_from_message() {
        assert_eq!(
            quoted_name("duplicate key value violates unique constraint \"cars_plate_key\""),
            Some("cars_plate_key".into())
        );
    }
}

/// The columns an `UPDATE` changes, built up field by field; only real changes are
/// added, so an update that changes nothing runs no statement at all.
#[derive(Debug, Default)]
pub struct Changes {
    columns: Vec<&'static str>,
    params: Vec<Value>,
}

impl Changes {
    pub fn set(&mut self, column: &'static str, value: impl Into<Value>) {
        self.columns.push(column);
        self.params.push(value.into());
    }

    pub fn is_empty(&self) -> bool {
        self.columns.is_empty()
    }

    /// `UPDATE <table> SET a = $1, …, updated_at = $n WHERE id = $n+1`, and its
    /// parameters.
    pub fn into_update(self, table: &str, id: i64, now: Timestamp) -> (String, Vec<Value>) {
        let mut sql = format!("UPDATE {table} SET ");
        let mut params = self.params;
        for (i, column) in self.columns.iter().enumerate() {
            sql.push_str(&format!("{column} = ${}, ", i + 1));
        }
        params.push(now.into());
        params.push(id.into());
        sql.push_str(&format!(
            "updated_at = ${} WHERE id = ${}",
            params.len() - 1,
            params.len()
        ));
        (sql, params)
    }
}

/// A `WHERE` clause built from optional filters, numbering parameters as it goes.
#[derive(Debug, Default)]
pub struct Filters {
    conditions: Vec<String>,
    params: Vec<Value>,
}

impl Filters {
    /// Adds a condition; `{}` in `condition` is replaced by this parameter's placeholder.
    pub fn add(&mut self, condition: &str, value: impl Into<Value>) {
        self.params.push(value.into());
        let placeholder = format!("${}", self.params.len());
        self.conditions.push(condition.replace("{}", &placeholder));
    }

    /// ` WHERE a AND b` (or nothing), ` ORDER BY <order> LIMIT $n OFFSET $m`, and the
    /// parameters.
    pub fn into_page(mut self, order: &str, limit: i64, offset: i64) -> (String, Vec<Value>) {
        let mut sql = String::new();
        if !self.conditions.is_empty() {
            sql.push_str(" WHERE ");
            sql.push_str(&self.conditions.join(" AND "));
        }
        self.params.push(limit.into());
        self.params.push(offset.into());
        sql.push_str(&format!(
            " ORDER BY {order} LIMIT ${} OFFSET ${}",
            self.params.len() - 1,
            self.params.len()
        ));
        (sql, self.params)
    }
}
