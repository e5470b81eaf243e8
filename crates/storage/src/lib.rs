//! One small interface over Spin's PostgreSQL (`spin:postgres@4.0.0`) and Spin's SQLite
//! (`spin:sqlite@3.0.0`), picked from `database_url`.
//!
//! SQL is written once with `$1, $2, …` placeholders; the schema is designed so that the
//! same text runs on both dialects (see `migrations/`). Parameters are always bound,
//! never interpolated. Values that the two databases represent differently — booleans,
//! timestamps, money — are converted here and nowhere else.
//!
//! This crate is the driver only: which SQL runs, and what its rows mean, belongs to the
//! `repositories` crate, the one user of `Db::query` and `Row`.

use std::fmt;
use std::rc::Rc;

use domain::{Price, Timestamp};
use spin_sdk::wit::pg4;
use spin_sdk::wit::sqlite3;

mod builders;
mod postgres;
mod row;
mod sqlite;
mod zero_row_guard;

pub use builders::{Changes, Filters, contains_pattern};
pub use row::Row;

use postgres::{pg_cell, pg_error, pg_param, plaintext_on_loopback};
use sqlite::{sqlite_cell, sqlite_error, sqlite_param, sqlite_placeholders};

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
                let result = c
                    .query(&zero_row_guard::wrap(sql), &params)
                    .map_err(pg_error)?;
                let columns: Rc<[String]> = zero_row_guard::own_columns(result.columns)
                    .map(|column| column.name)
                    .collect();
                Ok(zero_row_guard::unwrap(result.rows)
                    .map(|r| Row::new(columns.clone(), r.into_iter().map(pg_cell).collect()))
                    .collect())
            }
            Connection::Sqlite(c) => {
                let params: Vec<sqlite3::Value> = params.iter().map(sqlite_param).collect();
                let result = c
                    .execute(&sqlite_placeholders(sql), &params)
                    .map_err(sqlite_error)?;
                let columns: Rc<[String]> = result.columns.into();
                Ok(result
                    .rows
                    .into_iter()
                    .map(|r| {
                        Row::new(
                            columns.clone(),
                            r.values.into_iter().map(sqlite_cell).collect(),
                        )
                    })
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
}
