//! Shared test helpers: a throwaway PostgreSQL database per test, and custom
//! migration folders.
#![allow(dead_code)]

use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sqlx_core::connection::{ConnectOptions, Connection};
use sqlx_core::executor::Executor;
use sqlx_core::sql_str::AssertSqlSafe;
use sqlx_postgres::{PgConnectOptions, PgConnection};

pub const DEFAULT_TEST_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

pub fn admin_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .ok()
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_TEST_DATABASE_URL.to_owned())
}

pub async fn pg_connect(url: &str) -> Result<PgConnection, String> {
    let opts: PgConnectOptions = url.parse().map_err(|e| format!("{e}"))?;
    match tokio::time::timeout(Duration::from_secs(5), opts.connect()).await {
        Ok(Ok(c)) => Ok(c),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("timed out".to_owned()),
    }
}

/// A database created for one test and dropped when the value is dropped, which also
/// happens when the test panics (unwinding runs Drop).
pub struct PgDb {
    pub url: String,
    pub name: String,
    admin: String,
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

impl PgDb {
    /// `None` means "PostgreSQL is not reachable, skip": loud on stderr, and a hard
    /// failure when `CI` is set, because CI always has PostgreSQL.
    pub async fn create(tag: &str) -> Option<PgDb> {
        let admin = admin_url();
        let mut conn = match pg_connect(&admin).await {
            Ok(c) => c,
            Err(e) => {
                let msg = format!(
                    "PostgreSQL unreachable at {} ({e})",
                    migrator::redact_url(&admin)
                );
                if std::env::var_os("CI").is_some() {
                    panic!("{msg}; CI is set, so this is a failure, not a skip");
                }
                // Straight to the stderr handle: the test harness captures
                // `eprintln!`, and a skip must be visible without --nocapture.
                use std::io::Write as _;
                let _ = writeln!(
                    std::io::stderr(),
                    "\n*** SKIPPED {tag}: {msg}. Set TEST_DATABASE_URL to run it. ***"
                );
                return None;
            }
        };
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let name = format!(
            "migrator_test_{tag}_{}_{}_{nanos}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        )
        .to_lowercase();
        conn.execute(AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
            .await
            .expect("CREATE DATABASE");
        let _ = conn.close().await;
        let mut url = url::Url::parse(&admin).unwrap();
        url.set_path(&format!("/{name}"));
        Some(PgDb {
            url: url.to_string(),
            name,
            admin,
        })
    }

    pub async fn conn(&self) -> PgConnection {
        pg_connect(&self.url).await.unwrap()
    }
}

impl Drop for PgDb {
    fn drop(&mut self) {
        // Drop cannot await, and we may be inside a runtime: do it on a fresh thread
        // with its own runtime.
        let (admin, name) = (self.admin.clone(), self.name.clone());
        let handle = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                if let Ok(mut conn) = pg_connect(&admin).await {
                    let sql = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
                    if let Err(e) = conn.execute(AssertSqlSafe(sql)).await {
                        eprintln!("warning: could not drop test database {name}: {e}");
                    }
                    let _ = conn.close().await;
                }
            });
        });
        let _ = handle.join();
    }
}

/// Runs one statement; `Err(SQLSTATE)` for a database error, so tests can assert which
/// constraint fired (23505 unique, 23514 check, 23503 foreign key).
pub async fn pg_exec(conn: &mut PgConnection, sql: &str) -> Result<u64, String> {
    match conn.execute(AssertSqlSafe(sql.to_owned())).await {
        Ok(r) => Ok(r.rows_affected()),
        Err(sqlx_core::Error::Database(db)) => Err(db.code().unwrap_or_default().into_owned()),
        Err(e) => panic!("unexpected error for {sql}: {e}"),
    }
}

pub async fn pg_text(conn: &mut PgConnection, sql: &str) -> Option<String> {
    sqlx_core::query_scalar::query_scalar::<_, Option<String>>(AssertSqlSafe(sql.to_owned()))
        .fetch_one(conn)
        .await
        .unwrap()
}

pub async fn pg_i64(conn: &mut PgConnection, sql: &str) -> i64 {
    sqlx_core::query_scalar::query_scalar::<_, i64>(AssertSqlSafe(sql.to_owned()))
        .fetch_one(conn)
        .await
        .unwrap()
}

/// Writes migration files into `dir` (name, contents).
pub fn write_migrations(dir: &Path, files: &[(&str, &str)]) {
    for (name, sql) in files {
        std::fs::write(dir.join(name), sql).unwrap();
    }
}

pub async fn migrator_from(dir: &Path) -> sqlx_core::migrate::Migrator {
    sqlx_core::migrate::Migrator::new(dir).await.unwrap()
}

/// A migration set whose second step fails after changing data and schema.
pub const BROKEN_UP: &[(&str, &str)] = &[
    (
        "1_create_things.up.sql",
        "CREATE TABLE things (name TEXT NOT NULL);\nINSERT INTO things (name) VALUES ('original');",
    ),
    ("1_create_things.down.sql", "DROP TABLE things;"),
    (
        "2_break_things.up.sql",
        "UPDATE things SET name = 'changed';\nINSERT INTO things (name) VALUES ('added');\nCREATE TABLE half_done (id INTEGER);\nSELECT * FROM no_such_table;",
    ),
    ("2_break_things.down.sql", "DROP TABLE half_done;"),
];

/// A migration set whose second step applies fine but cannot be reverted.
pub const BROKEN_DOWN: &[(&str, &str)] = &[
    (
        "1_create_things.up.sql",
        "CREATE TABLE things (name TEXT NOT NULL);\nINSERT INTO things (name) VALUES ('original');",
    ),
    ("1_create_things.down.sql", "DROP TABLE things;"),
    (
        "2_add_thing.up.sql",
        "INSERT INTO things (name) VALUES ('added');",
    ),
    (
        "2_add_thing.down.sql",
        "DELETE FROM things;\nDROP TABLE no_such_table;",
    ),
];

pub fn assert_one_line_without(msg: &str, secret: &str) {
    assert!(
        !msg.contains('\n') && !msg.contains('\r'),
        "not one line: {msg:?}"
    );
    assert!(!msg.contains(secret), "password leaked: {msg}");
}
