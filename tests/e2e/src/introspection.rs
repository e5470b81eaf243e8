//! The stored state behind a [`TestApp`]: SQL run straight on its database (SQLite file
//! or PostgreSQL copy), and the rows, counts and prices tests check.

use std::path::Path;
use std::time::Duration;

use serde_json::{Map, Value, json};

use crate::app::TestApp;
use crate::config::Backend;
use crate::databases::{Db, pg_err};
use crate::private_services::pg_client;

impl TestApp {
    /// Runs `sql` on the app's database and returns the rows as JSON objects. Supported
    /// column types: integers, text, booleans, floats (PostgreSQL: cast anything else,
    /// e.g. `price::text`, `created_at::text`).
    pub async fn db_query(&self, sql: &str) -> Vec<Map<String, Value>> {
        match &self.db {
            Db::Sqlite { path } => sqlite_query(path, sql),
            Db::Postgres { url, .. } => pg_query(url, sql).await,
        }
    }

    /// Runs a statement (same SQL on both backends is the caller's job).
    pub async fn db_execute(&self, sql: &str) {
        match &self.db {
            Db::Sqlite { path } => {
                let conn = rusqlite::Connection::open(path).expect("open app.db");
                conn.busy_timeout(Duration::from_secs(10)).unwrap();
                conn.execute_batch(sql)
                    .unwrap_or_else(|e| panic!("{sql}: {e}"));
            }
            Db::Postgres { url, .. } => {
                let client = pg_client(url).await.expect("test database");
                client
                    .batch_execute(sql)
                    .await
                    .unwrap_or_else(|e| panic!("{sql}: {}", pg_err(e)));
            }
        }
    }

    /// `SELECT count(*) FROM <table>`.
    pub async fn count_rows(&self, table: &str) -> i64 {
        let rows = self
            .db_query(&format!("SELECT count(*) AS n FROM {table}"))
            .await;
        rows[0]["n"].as_i64().expect("count")
    }

    /// One stored row of `table` by id (None if absent).
    pub async fn stored_row(&self, table: &str, id: i64) -> Option<Map<String, Value>> {
        let cols = match (self.backend, table) {
            (Backend::Postgres, "users") => {
                "id, username, email, password_hash, created_at::text AS created_at, updated_at::text AS updated_at"
            }
            (Backend::Postgres, "brands") => {
                "id, name, description, is_active, created_at::text AS created_at, updated_at::text AS updated_at"
            }
            (Backend::Postgres, "cars") => {
                "id, model, factory_year, model_year, color, plate, fuel_type, transmission, \
                 price::text AS price, description, is_available, brand_id, owner_id, \
                 created_at::text AS created_at, updated_at::text AS updated_at"
            }
            _ => "*",
        };
        self.db_query(&format!("SELECT {cols} FROM {table} WHERE id = {id}"))
            .await
            .into_iter()
            .next()
    }

    /// The stored price of a car as text with two decimals (`"85000.00"`), read from
    /// `price` (PostgreSQL NUMERIC) or `price` (SQLite integer cents).
    pub async fn stored_price(&self, car_id: i64) -> Option<String> {
        match self.backend {
            Backend::Postgres => self
                .db_query(&format!(
                    "SELECT price::text AS p FROM cars WHERE id = {car_id}"
                ))
                .await
                .first()
                .map(|r| r["p"].as_str().unwrap().to_string()),
            Backend::Sqlite => self
                .db_query(&format!("SELECT price AS p FROM cars WHERE id = {car_id}"))
                .await
                .first()
                .map(|r| {
                    let c = r["p"].as_i64().expect("price is integer cents");
                    format!("{}.{:02}", c / 100, c % 100)
                }),
        }
    }
}

/// [`TestApp::db_query`] on the app's SQLite file.
fn sqlite_query(path: &Path, sql: &str) -> Vec<Map<String, Value>> {
    let conn =
        rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE)
            .expect("open app.db");
    conn.busy_timeout(Duration::from_secs(10)).unwrap();
    let mut stmt = conn.prepare(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    let names: Vec<String> = stmt.column_names().map(|s| s.to_string()).collect();
    let rows = stmt
        .query_map([], |row| {
            let mut m = Map::new();
            for (i, n) in names.iter().enumerate() {
                use rusqlite::types::ValueRef;
                let v = match row.get_ref(i)? {
                    ValueRef::Null => Value::Null,
                    ValueRef::Integer(x) => json!(x),
                    ValueRef::Real(x) => json!(x),
                    ValueRef::Text(t) => json!(String::from_utf8_lossy(t)),
                    ValueRef::Blob(b) => json!(b),
                };
                m.insert(n.clone(), v);
            }
            Ok(m)
        })
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    rows.map(|r| r.expect("row")).collect()
}

/// [`TestApp::db_query`] on the app's PostgreSQL database.
async fn pg_query(url: &str, sql: &str) -> Vec<Map<String, Value>> {
    let client = pg_client(url).await.expect("test database");
    let rows = client
        .query(sql, &[])
        .await
        .unwrap_or_else(|e| panic!("{sql}: {}", pg_err(e)));
    rows.iter()
        .map(|row| {
            let mut m = Map::new();
            for (i, col) in row.columns().iter().enumerate() {
                m.insert(col.name().to_string(), pg_cell(row, i));
            }
            m
        })
        .collect()
}

/// Column `i` of a PostgreSQL row as JSON; panics on a type `db_query` does not map.
fn pg_cell(row: &tokio_postgres::Row, i: usize) -> Value {
    use tokio_postgres::types::Type;
    let col = &row.columns()[i];
    let t = col.type_();
    if *t == Type::INT8 {
        json!(row.get::<_, Option<i64>>(i))
    } else if *t == Type::INT4 {
        json!(row.get::<_, Option<i32>>(i))
    } else if *t == Type::INT2 {
        json!(row.get::<_, Option<i16>>(i))
    } else if *t == Type::BOOL {
        json!(row.get::<_, Option<bool>>(i))
    } else if *t == Type::FLOAT8 {
        json!(row.get::<_, Option<f64>>(i))
    } else if [Type::TEXT, Type::VARCHAR, Type::NAME, Type::BPCHAR].contains(t) {
        json!(row.get::<_, Option<String>>(i))
    } else {
        panic!("db_query: cast column {} ({t}) to text", col.name())
    }
}
