//! `spin:sqlite/sqlite@3.0.0` like Spin's in-process SQLite: every guest `open`
//! gets a connection of its own (Spin's `ConnectionCreator` makes a new one each
//! time), so a guest's `BEGIN` covers only its own statements; errors carry
//! SQLite's own message text as `io(...)`.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use rusqlite::types::{Value as SqlValue, ValueRef};
use wasmtime::component::Resource;

use crate::bindings::spin::sqlite::sqlite::{self as v3, QueryResult, RowResult, Value};
use crate::runtime_config::SqliteLocation;
use crate::state::HostState;

/// Long enough to ride out another process (e.g. a migrator) holding a write
/// lock, short enough that a stuck lock surfaces as an error.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

pub struct SqliteDatabase {
    location: SqliteLocation,
    /// An in-memory database lives only as long as its connection, so all opens of one
    /// share this connection. (Spin gives each open a fresh, empty in-memory database;
    /// nothing here uses one but the devhost's own tests.)
    memory: OnceLock<Arc<Mutex<rusqlite::Connection>>>,
}

impl SqliteDatabase {
    pub fn new(location: SqliteLocation) -> Self {
        SqliteDatabase {
            location,
            memory: OnceLock::new(),
        }
    }

    /// A new connection to a file database; the shared one for an in-memory database.
    fn connection(&self) -> Result<Arc<Mutex<rusqlite::Connection>>, v3::Error> {
        let io = |e: rusqlite::Error| v3::Error::Io(e.to_string());
        let path = match &self.location {
            SqliteLocation::Memory => {
                if let Some(c) = self.memory.get() {
                    return Ok(c.clone());
                }
                let conn = rusqlite::Connection::open_in_memory().map_err(io)?;
                return Ok(self
                    .memory
                    .get_or_init(|| Arc::new(Mutex::new(conn)))
                    .clone());
            }
            SqliteLocation::File(path) => path,
        };
        create_private_file(path)
            .map_err(|e| v3::Error::Io(format!("cannot create {}: {e}", path.display())))?;
        let conn = rusqlite::Connection::open(path).map_err(io)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(io)?;
        Ok(Arc::new(Mutex::new(conn)))
    }
}

/// Creates a database file that does not exist yet as mode 0600, in folders created as
/// 0700: it holds password hashes and personal data. Existing files and folders keep
/// their modes (SQLite gives its journal files the database file's mode).
pub fn create_private_file(path: &std::path::Path) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
    }
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => Err(e),
        _ => Ok(()),
    }
}

pub type SqliteDatabases = BTreeMap<String, SqliteDatabase>;

/// A guest's `connection` handle: which shared database it refers to.
pub struct SqliteConnection {
    conn: Arc<Mutex<rusqlite::Connection>>,
}

fn lock(c: &Mutex<rusqlite::Connection>) -> std::sync::MutexGuard<'_, rusqlite::Connection> {
    // A panic while holding the lock cannot leave SQLite inconsistent (it has
    // its own transactions), so a poisoned mutex is still usable.
    c.lock().unwrap_or_else(|p| p.into_inner())
}

fn execute(
    conn: &rusqlite::Connection,
    statement: &str,
    params: Vec<Value>,
) -> Result<QueryResult, v3::Error> {
    let io = |e: rusqlite::Error| v3::Error::Io(e.to_string());
    let mut stmt = conn.prepare_cached(statement).map_err(io)?;
    let columns: Vec<String> = stmt.column_names().map(str::to_string).collect();
    let params = params.into_iter().map(|v| match v {
        Value::Integer(i) => SqlValue::Integer(i),
        Value::Real(r) => SqlValue::Real(r),
        Value::Text(t) => SqlValue::Text(t),
        Value::Blob(b) => SqlValue::Blob(b),
        Value::Null => SqlValue::Null,
    });
    let mut rows = stmt.query(rusqlite::params_from_iter(params)).map_err(io)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(io)? {
        let mut values = Vec::with_capacity(columns.len());
        for i in 0..columns.len() {
            values.push(match row.get_ref(i).map_err(io)? {
                ValueRef::Null => Value::Null,
                ValueRef::Integer(i) => Value::Integer(i),
                ValueRef::Real(r) => Value::Real(r),
                ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
                ValueRef::Blob(b) => Value::Blob(b.to_vec()),
            });
        }
        out.push(RowResult { values });
    }
    Ok(QueryResult { columns, rows: out })
}

impl v3::HostConnection for HostState {
    async fn open(
        &mut self,
        database: String,
    ) -> wasmtime::Result<Result<Resource<SqliteConnection>, v3::Error>> {
        if !self.component.sqlite_databases.contains(&database) {
            return Ok(Err(v3::Error::AccessDenied));
        }
        let Some(db) = self.services.sqlite.get(&database) else {
            return Ok(Err(v3::Error::NoSuchDatabase));
        };
        let conn = match tokio::task::block_in_place(|| db.connection()) {
            Ok(c) => c,
            Err(e) => return Ok(Err(e)),
        };
        Ok(Ok(self.table.push(SqliteConnection { conn })?))
    }

    async fn execute(
        &mut self,
        conn: Resource<SqliteConnection>,
        statement: String,
        parameters: Vec<Value>,
    ) -> wasmtime::Result<Result<QueryResult, v3::Error>> {
        let conn = self.table.get(&conn)?.conn.clone();
        // SQLite calls block; keep them off the async worker's poll loop.
        Ok(tokio::task::block_in_place(|| {
            execute(&lock(&conn), &statement, parameters)
        }))
    }

    async fn last_insert_rowid(
        &mut self,
        conn: Resource<SqliteConnection>,
    ) -> wasmtime::Result<i64> {
        let conn = self.table.get(&conn)?.conn.clone();
        Ok(tokio::task::block_in_place(|| {
            lock(&conn).last_insert_rowid()
        }))
    }

    async fn changes(&mut self, conn: Resource<SqliteConnection>) -> wasmtime::Result<u64> {
        let conn = self.table.get(&conn)?.conn.clone();
        Ok(tokio::task::block_in_place(|| lock(&conn).changes()))
    }

    async fn drop(&mut self, conn: Resource<SqliteConnection>) -> wasmtime::Result<()> {
        self.table.delete(conn)?;
        Ok(())
    }
}

impl v3::Host for HostState {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_errors() {
        let db = SqliteDatabase::new(SqliteLocation::Memory);
        let c = db.connection().unwrap();
        let c = lock(&c);
        execute(
            &c,
            "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT UNIQUE, r REAL, b BLOB)",
            vec![],
        )
        .unwrap();
        execute(
            &c,
            "INSERT INTO t (name, r, b) VALUES (?, ?, ?)",
            vec![
                Value::Text("a".into()),
                Value::Real(1.5),
                Value::Blob(vec![1, 2]),
            ],
        )
        .unwrap();
        let r = execute(&c, "SELECT id, name, r, b, NULL AS n FROM t", vec![]).unwrap();
        assert_eq!(r.columns, ["id", "name", "r", "b", "n"]);
        assert_eq!(
            format!("{:?}", r.rows[0].values),
            "[Value::Integer(1), Value::Text(\"a\"), Value::Real(1.5), Value::Blob([1, 2]), Value::Null]"
        );
        let err = execute(&c, "INSERT INTO t (name) VALUES ('a')", vec![]).unwrap_err();
        assert_eq!(
            format!("{err:?}"),
            "Error::Io(\"UNIQUE constraint failed: t.name\")"
        );
    }
}
