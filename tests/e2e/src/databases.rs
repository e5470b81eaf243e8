//! The apps' databases: a migrated template per backend and process (an SQLite file, a
//! PostgreSQL template database), and for every app a copy of its own, dropped with the app.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use rand::Rng as _;

use crate::binaries::migrator_bin;
use crate::config::{Backend, postgres_required};
use crate::fixtures::unique_suffix;
use crate::measurements::alive;
use crate::private_services::pg_client;

/// The database of one app: its own copy of the migrated template.
pub(crate) enum Db {
    Sqlite {
        path: PathBuf,
    },
    Postgres {
        admin_url: String,
        name: String,
        url: String,
    },
}

impl Db {
    /// A migrated database of this app alone, so tests never see each other's rows.
    /// `None` when PostgreSQL is unreachable and not required.
    pub(crate) async fn create(backend: Backend, app_db: &Path) -> Option<Db> {
        match backend {
            Backend::Sqlite => {
                let template = sqlite_template();
                fs::copy(template, app_db).expect("copy SQLite template");
                let wal = template.with_extension("db-wal");
                if wal.exists() {
                    fs::copy(&wal, app_db.with_extension("db-wal")).expect("copy WAL");
                }
                Some(Db::Sqlite {
                    path: app_db.to_path_buf(),
                })
            }
            Backend::Postgres => {
                let t = pg_template()?;
                let name = pg_create_test_db(t).await;
                let url = with_database(&t.admin_url, &name);
                Some(Db::Postgres {
                    admin_url: t.admin_url.clone(),
                    name,
                    url,
                })
            }
        }
    }

    /// The app's `database_url` variable: Spin's `default` SQLite database, or the URL of
    /// the PostgreSQL copy.
    pub(crate) fn app_database_url(&self) -> String {
        match self {
            Db::Sqlite { .. } => "sqlite://default".to_string(),
            Db::Postgres { url, .. } => url.clone(),
        }
    }

    /// Drops the PostgreSQL copy (the SQLite file goes with the app's temp dir). Blocking,
    /// and it never panics, so it is safe in `Drop`.
    pub(crate) fn remove(&self) {
        if let Db::Postgres {
            admin_url, name, ..
        } = self
        {
            let (admin_url, name) = (admin_url.clone(), name.clone());
            let _ = std::panic::catch_unwind(move || {
                run_sync(move |rt| {
                    rt.block_on(async move {
                        if let Ok(c) = pg_client(&admin_url).await {
                            let _ = c
                                .batch_execute(&format!(
                                    "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                                ))
                                .await;
                        }
                    })
                })
            });
        }
    }
}

/// Runs `f` on a fresh thread with its own Tokio runtime (usable from `Drop`, from inside
/// another runtime, and from `OnceLock` initialisers).
fn run_sync<T: Send + 'static>(
    f: impl FnOnce(&tokio::runtime::Runtime) -> T + Send + 'static,
) -> T {
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("tokio runtime");
        f(&rt)
    })
    .join()
    .unwrap_or_else(|e| std::panic::resume_unwind(e))
}

/// `migrator up` on `url`; panics (with its output) when it fails.
fn run_migrator(url: &str) {
    let bin = migrator_bin();
    let out = Command::new(&bin)
        .args(["up", "--database-url", url])
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", bin.display()));
    assert!(
        out.status.success(),
        "`migrator up --database-url {url}` failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

static SQLITE_TEMPLATE: OnceLock<PathBuf> = OnceLock::new();

/// The migrated SQLite template of this process (made on first use, after removing the
/// templates of dead test processes).
fn sqlite_template() -> &'static Path {
    SQLITE_TEMPLATE.get_or_init(|| {
        let base = std::env::temp_dir();
        // Remove templates left behind by dead test processes.
        if let Ok(entries) = fs::read_dir(&base) {
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if let Some(pid) = name
                    .strip_prefix("e2e-sqlite-template-")
                    .and_then(|p| p.parse::<u32>().ok())
                    && pid != std::process::id()
                    && !alive(pid)
                {
                    let _ = fs::remove_dir_all(e.path());
                }
            }
        }
        let dir = base.join(format!("e2e-sqlite-template-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("create template dir");
        let db = dir.join("app.db");
        fs::write(&db, b"").expect("create template db");
        run_migrator(&format!("sqlite://{}", db.display()));
        db
    })
}

/// The migrated PostgreSQL template database of this process.
struct PgTemplate {
    admin_url: String,
    name: String,
}

static PG_TEMPLATE: OnceLock<Result<PgTemplate, String>> = OnceLock::new();

/// The admin connection URL: `$TEST_DATABASE_URL`, else a PostgreSQL `$DATABASE_URL`,
/// else `postgres://postgres@127.0.0.1:5432/postgres`.
pub fn pg_admin_url() -> String {
    if let Ok(u) = std::env::var("TEST_DATABASE_URL")
        && !u.is_empty()
    {
        return u;
    }
    if let Ok(u) = std::env::var("DATABASE_URL")
        && (u.starts_with("postgres://") || u.starts_with("postgresql://"))
    {
        return u;
    }
    "postgres://postgres@127.0.0.1:5432/postgres".into()
}

/// `url` with its database name replaced by `db`.
pub fn with_database(url: &str, db: &str) -> String {
    let scheme_end = url.find("://").map(|i| i + 3).unwrap_or(0);
    let (head, rest) = url.split_at(scheme_end);
    let query = rest.find('?').map(|i| &rest[i..]).unwrap_or("");
    let rest_no_query = &rest[..rest.len() - query.len()];
    let authority = match rest_no_query.find('/') {
        Some(i) => &rest_no_query[..i],
        None => rest_no_query,
    };
    format!("{head}{authority}/{db}{query}")
}

/// A PostgreSQL error as text: the server's message and SQLSTATE when there is one.
pub(crate) fn pg_err(e: tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{} ({})", db.message(), db.code().code()),
        None => e.to_string(),
    }
}

/// Creates and migrates the PostgreSQL template (after dropping the databases of dead
/// test processes); `Err` when the server cannot be reached.
fn init_pg_template() -> Result<PgTemplate, String> {
    let admin_url = pg_admin_url();
    let url = admin_url.clone();
    let name = run_sync(move |rt| {
        rt.block_on(async move {
            let client = pg_client(&url).await?;
            // Drop databases of test processes that are gone.
            let rows = client
                .query(
                    "SELECT datname FROM pg_database WHERE datname LIKE 'e2e\\_%'",
                    &[],
                )
                .await
                .map_err(pg_err)?;
            for row in rows {
                let db: String = row.get(0);
                let pid = db
                    .trim_start_matches("e2e_")
                    .trim_start_matches("tpl_")
                    .split('_')
                    .next()
                    .and_then(|p| p.parse::<u32>().ok());
                if let Some(pid) = pid
                    && pid != std::process::id()
                    && !alive(pid)
                {
                    let _ = client
                        .batch_execute(&format!("DROP DATABASE IF EXISTS \"{db}\" WITH (FORCE)"))
                        .await;
                }
            }
            let name = format!("e2e_tpl_{}_{}", std::process::id(), unique_suffix());
            client
                .batch_execute(&format!("CREATE DATABASE \"{name}\""))
                .await
                .map_err(pg_err)?;
            Ok::<_, String>(name)
        })
    })?;
    // A migrator failure is a real failure, not a reason to skip.
    run_migrator(&with_database(&admin_url, &name));
    Ok(PgTemplate { admin_url, name })
}

/// The PostgreSQL template; `None` (said loudly) when PostgreSQL is unreachable and not
/// required, a panic when it is required.
fn pg_template() -> Option<&'static PgTemplate> {
    match PG_TEMPLATE.get_or_init(init_pg_template) {
        Ok(t) => Some(t),
        Err(e) => {
            if postgres_required() {
                panic!("PostgreSQL is required (CI or REQUIRE_POSTGRES is set) but: {e}");
            }
            eprintln!(
                "\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\
                 !!! SKIPPING a PostgreSQL e2e test: PostgreSQL is unreachable ({e}).\n\
                 !!! Set TEST_DATABASE_URL, or REQUIRE_POSTGRES=1 to make this an error.\n\
                 !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n"
            );
            None
        }
    }
}

/// A new database cloned from the template, retrying while another clone holds it.
async fn pg_create_test_db(t: &PgTemplate) -> String {
    let name = format!("e2e_{}_{}", std::process::id(), unique_suffix());
    let client = pg_client(&t.admin_url).await.expect("admin connection");
    let sql = format!("CREATE DATABASE \"{name}\" TEMPLATE \"{}\"", t.name);
    let mut attempt = 0;
    loop {
        match client.batch_execute(&sql).await {
            Ok(()) => return name,
            // 55006: the template is busy (another CREATE DATABASE copying it).
            Err(e) if attempt < 100 && e.code().is_some_and(|c| c.code() == "55006") => {
                attempt += 1;
                tokio::time::sleep(Duration::from_millis(50 + rand::rng().random_range(0..100)))
                    .await;
            }
            Err(e) => panic!("{sql}: {}", pg_err(e)),
        }
    }
}
