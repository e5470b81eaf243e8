//! Schema migrations for the car API: apply (`up`), revert (`down`), report (`status`).
//!
//! The logic lives here, not in `main.rs`, so integration tests drive exactly what the
//! CLI runs. Both dialects keep sqlx's standard `_sqlx_migrations` table, because the
//! app's `/health_check/detailed` compares its newest successful `version` with the
//! newest migration compiled into the app.
//!
//! PostgreSQL goes through sqlx 0.9 (`sqlx-postgres`'s `Migrate`: one transaction per
//! migration, advisory lock against concurrent migrators). SQLite goes through
//! rusqlite with the same table layout and the same one-transaction-per-migration
//! rule (see Cargo.toml for why not `sqlx-sqlite`).

use std::borrow::Cow;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use sqlx_core::connection::{ConnectOptions, Connection};
use sqlx_core::executor::Executor;
use sqlx_core::migrate::{Migrate, MigrateError, Migration, MigrationType, Migrator};
use sqlx_core::sql_str::SqlStr;
use sqlx_postgres::{PgConnectOptions, PgConnection};

mod url_parse;

pub use url_parse::{DEFAULT_DATABASE_URL, SPIN_DEFAULT_SQLITE_PATH, redact_url};

include!(concat!(env!("OUT_DIR"), "/embedded_migrations.rs"));

/// sqlx's bookkeeping table (its default name; the app's health check reads it).
pub const MIGRATIONS_TABLE: &str = "_sqlx_migrations";

/// How long to wait for a PostgreSQL connection before giving up, so an unreachable
/// or black-holed host fails a deploy step quickly instead of hanging it.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The two SQL dialects the app supports; each has its own migration folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Postgres,
    Sqlite,
}

/// The migrations compiled into this binary for `dialect`.
pub fn embedded_migrator(dialect: Dialect) -> Migrator {
    let migrations = match dialect {
        Dialect::Postgres => postgres_migrations(),
        Dialect::Sqlite => sqlite_migrations(),
    };
    Migrator::with_migrations(migrations)
}

/// What went wrong, coarsely: tests and the CLI branch on it; the message says the rest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The URL cannot be understood.
    BadUrl,
    /// Server unreachable, refused, timed out, TLS or authentication failure.
    Connect,
    /// The server is reachable but the named database does not exist.
    DatabaseMissing,
    /// A migration's SQL failed; its transaction was rolled back.
    MigrationFailed,
    /// The recorded history disagrees with the compiled migrations (dirty, modified,
    /// unknown versions) or a revert is impossible (no down script).
    Inconsistent,
    /// Invalid request, e.g. `down 0`.
    Usage,
    /// Anything else from the database or file system.
    Other,
}

/// A one-line, password-free error message plus its [`ErrorKind`].
#[derive(Debug, Clone)]
pub struct Error {
    pub kind: ErrorKind,
    message: String,
}

impl Error {
    fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        // Errors end up in CI logs and Kubernetes events, where one line per failure
        // is what people grep; multi-line server messages are folded.
        let message: String = message.into();
        let message = message
            .split(['\n', '\r'])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(" | ");
        Error { kind, message }
    }

    /// The message, without the `error: ` prefix the CLI adds.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

/// Where the migrations go, parsed from a database URL.
#[derive(Clone)]
pub enum Target {
    Postgres {
        /// The URL as given (contains the password; never print it).
        url: String,
        /// `host:port` for messages.
        endpoint: String,
        /// Database name for messages.
        database: String,
        /// Password, kept only to scrub it from any message that might echo it.
        password: Option<String>,
    },
    Sqlite {
        path: PathBuf,
    },
}

impl fmt::Debug for Target {
    /// Never prints the password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Postgres { url, .. } => write!(f, "Postgres({})", redact_url(url)),
            Target::Sqlite { path } => write!(f, "Sqlite({})", path.display()),
        }
    }
}

impl Target {
    /// Parses `postgres://…`, `postgresql://…`, `sqlite://<path>`, `sqlite:<path>`,
    /// `sqlite:///abs/path`, and `sqlite://default` (Spin's default database,
    /// `.spin/sqlite_db.db` under the current directory, or `sqlite_default_path`).
    pub fn parse(url: &str, sqlite_default_path: Option<&Path>) -> Result<Target, Error> {
        url_parse::parse(url, sqlite_default_path)
    }

    pub fn dialect(&self) -> Dialect {
        match self {
            Target::Postgres { .. } => Dialect::Postgres,
            Target::Sqlite { .. } => Dialect::Sqlite,
        }
    }

    /// Human description for messages: `PostgreSQL at host:port/db` or `SQLite file x`.
    pub fn describe(&self) -> String {
        match self {
            Target::Postgres {
                endpoint, database, ..
            } => format!("PostgreSQL database \"{database}\" at {endpoint}"),
            Target::Sqlite { path } => format!("SQLite database {}", path.display()),
        }
    }

    /// Removes the password from a message, whatever produced it (defence in depth:
    /// our own messages never include it, but driver errors are not under our control).
    fn scrub(&self, mut err: Error) -> Error {
        if let Target::Postgres {
            password: Some(pw), ..
        } = self
            && pw.len() >= 3
            && err.message.contains(pw.as_str())
        {
            err.message = err.message.replace(pw.as_str(), "***");
        }
        err
    }
}

/// Picks the database URL: `--database-url`, then `DATABASE_URL`, then
/// `SPIN_VARIABLE_DATABASE_URL` (the app's own variable, so one environment serves
/// both), then `sqlite://default`. Empty values count as unset.
pub fn resolve_database_url(cli: Option<String>, env: impl Fn(&str) -> Option<String>) -> String {
    cli.into_iter()
        .chain(env("DATABASE_URL"))
        .chain(env("SPIN_VARIABLE_DATABASE_URL"))
        .find(|s| !s.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned())
}

/// Connection settings.
#[derive(Debug, Clone)]
pub struct Options {
    pub connect_timeout: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
        }
    }
}

/// How many migrations `down` reverts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Steps {
    Count(u32),
    All,
}

/// One migration that `up` or `down` ran.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ran {
    pub version: i64,
    pub description: String,
    pub elapsed: Duration,
}

/// State of one migration in [`Status`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Applied,
    Pending,
    /// Recorded with `success = false` (a non-transactional migration failed midway).
    Dirty,
    /// Applied, but the compiled SQL differs from what was applied (checksum).
    Modified,
    /// Applied in the database, unknown to this binary (the database is newer).
    Unknown,
}

impl State {
    pub fn label(self) -> &'static str {
        match self {
            State::Applied => "applied",
            State::Pending => "pending",
            State::Dirty => "DIRTY",
            State::Modified => "MODIFIED",
            State::Unknown => "UNKNOWN",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusEntry {
    pub version: i64,
    pub description: String,
    pub state: State,
}

/// Every known migration (compiled or recorded), oldest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub entries: Vec<StatusEntry>,
}

impl Status {
    pub fn count(&self, state: State) -> usize {
        self.entries.iter().filter(|e| e.state == state).count()
    }

    /// Entries that are neither applied nor pending.
    pub fn problems(&self) -> Vec<&StatusEntry> {
        self.entries
            .iter()
            .filter(|e| !matches!(e.state, State::Applied | State::Pending))
            .collect()
    }

    /// True when everything compiled in is applied and nothing is dirty, modified or
    /// unknown: the schema is exactly what this binary (and the app built with it)
    /// expects.
    pub fn is_current(&self) -> bool {
        self.entries.iter().all(|e| e.state == State::Applied)
    }

    /// Newest successfully applied version, what the health check compares.
    pub fn newest_applied(&self) -> Option<i64> {
        self.entries
            .iter()
            .filter(|e| matches!(e.state, State::Applied | State::Modified | State::Unknown))
            .map(|e| e.version)
            .max()
    }
}

/// A row of `_sqlx_migrations`.
#[derive(Debug, Clone)]
struct AppliedRow {
    version: i64,
    description: String,
    success: bool,
    checksum: Vec<u8>,
}

/// An open connection of either dialect.
enum Conn {
    Pg(Box<PgConnection>),
    Sqlite(rusqlite::Connection),
}

/// Applies every pending migration in version order, each in its own transaction.
/// Returns what ran (empty when already up to date).
pub async fn up(
    target: &Target,
    migrator: &Migrator,
    options: &Options,
) -> Result<Vec<Ran>, Error> {
    let mut conn = connect(target, options).await?;
    let result = with_lock(&mut conn, target, async |conn| {
        ensure_table(conn, target).await?;
        let applied = list_applied(conn, target).await?;
        check_history(&applied, migrator)?;
        let done: Vec<i64> = applied.iter().map(|r| r.version).collect();
        let mut ran = Vec::new();
        for migration in migrator
            .iter()
            .filter(|m| m.migration_type.is_up_migration() && !done.contains(&m.version))
        {
            let elapsed = apply(conn, target, migration)
                .await
                .map_err(|e| annotate_partial(e, &ran, "applied"))?;
            ran.push(Ran {
                version: migration.version,
                description: migration.description.to_string(),
                elapsed,
            });
        }
        Ok(ran)
    })
    .await;
    close(conn).await;
    result.map_err(|e| target.scrub(e))
}

/// Reverts the newest `steps` applied migrations, newest first, each in its own
/// transaction. Asking for more than are applied reverts all of them.
pub async fn down(
    target: &Target,
    migrator: &Migrator,
    steps: Steps,
    options: &Options,
) -> Result<Vec<Ran>, Error> {
    if steps == Steps::Count(0) {
        return Err(Error::new(
            ErrorKind::Usage,
            "down needs a count of at least 1 (or `all`)",
        ));
    }
    let mut conn = connect(target, options).await?;
    let result = with_lock(&mut conn, target, async |conn| {
        ensure_table(conn, target).await?;
        let applied = list_applied(conn, target).await?;
        check_history(&applied, migrator)?;
        let take = match steps {
            Steps::All => applied.len(),
            Steps::Count(n) => applied.len().min(n as usize),
        };
        // Resolve every down script before touching anything, so a missing one
        // cannot leave the revert half done.
        let mut plan = Vec::new();
        for row in applied.iter().rev().take(take) {
            let down = migrator
                .iter()
                .find(|m| m.version == row.version && m.migration_type == MigrationType::ReversibleDown)
                .ok_or_else(|| {
                    Error::new(
                        ErrorKind::Inconsistent,
                        format!(
                            "migration {} ({}) cannot be reverted: it has no .down.sql; nothing was reverted",
                            row.version, row.description
                        ),
                    )
                })?;
            plan.push(down);
        }
        let mut ran = Vec::new();
        for migration in plan {
            let elapsed = revert(conn, target, migration)
                .await
                .map_err(|e| annotate_partial(e, &ran, "reverted"))?;
            ran.push(Ran {
                version: migration.version,
                description: migration.description.to_string(),
                elapsed,
            });
        }
        Ok(ran)
    })
    .await;
    close(conn).await;
    result.map_err(|e| target.scrub(e))
}

/// Lists every migration as applied / pending (or dirty, modified, unknown). Read-only:
/// a database that was never migrated is reported as all pending, not changed.
pub async fn status(
    target: &Target,
    migrator: &Migrator,
    options: &Options,
) -> Result<Status, Error> {
    let mut conn = connect(target, options).await?;
    let result = async {
        let applied = if table_exists(&mut conn, target).await? {
            list_applied(&mut conn, target).await?
        } else {
            Vec::new()
        };
        Ok(build_status(&applied, migrator))
    }
    .await;
    close(conn).await;
    result.map_err(|e| target.scrub(e))
}

fn build_status(applied: &[AppliedRow], migrator: &Migrator) -> Status {
    let mut entries = Vec::new();
    for m in migrator
        .iter()
        .filter(|m| m.migration_type.is_up_migration())
    {
        let state = match applied.iter().find(|r| r.version == m.version) {
            None => State::Pending,
            Some(r) if !r.success => State::Dirty,
            Some(r) if r.checksum != *m.checksum => State::Modified,
            Some(_) => State::Applied,
        };
        entries.push(StatusEntry {
            version: m.version,
            description: m.description.to_string(),
            state,
        });
    }
    for r in applied {
        if !migrator
            .iter()
            .any(|m| m.version == r.version && m.migration_type.is_up_migration())
        {
            entries.push(StatusEntry {
                version: r.version,
                description: r.description.clone(),
                state: if r.success {
                    State::Unknown
                } else {
                    State::Dirty
                },
            });
        }
    }
    entries.sort_by_key(|e| e.version);
    Status { entries }
}

/// Refuses to build on a history we do not understand, like sqlx's `Migrator::run`.
fn check_history(applied: &[AppliedRow], migrator: &Migrator) -> Result<(), Error> {
    for entry in build_status(applied, migrator).entries {
        let (v, d) = (entry.version, &entry.description);
        let msg = match entry.state {
            State::Applied | State::Pending => continue,
            State::Dirty => format!(
                "migration {v} ({d}) is recorded as failed (dirty) in {MIGRATIONS_TABLE}: repair the schema by hand, then delete that row"
            ),
            State::Modified => format!(
                "migration {v} ({d}) was changed after it was applied (checksum differs): restore the original file, or write a new migration"
            ),
            State::Unknown => format!(
                "migration {v} ({d}) is applied in the database but not known to this migrator: the database is newer than this binary"
            ),
        };
        return Err(Error::new(ErrorKind::Inconsistent, msg));
    }
    Ok(())
}

fn annotate_partial(err: Error, done: &[Ran], verb: &str) -> Error {
    if done.is_empty() {
        return err;
    }
    let list: Vec<String> = done.iter().map(|r| r.version.to_string()).collect();
    Error::new(
        err.kind,
        format!(
            "{} (already {verb} before it and kept: {})",
            err.message,
            list.join(", ")
        ),
    )
}

// ---- connection ---------------------------------------------------------------------

async fn connect(target: &Target, options: &Options) -> Result<Conn, Error> {
    match target {
        Target::Postgres {
            url,
            endpoint,
            database,
            ..
        } => {
            let opts: PgConnectOptions = url.parse().map_err(|_| {
                Error::new(
                    ErrorKind::BadUrl,
                    format!("invalid PostgreSQL URL {}", redact_url(url)),
                )
            })?;
            let connecting = opts.connect();
            match tokio::time::timeout(options.connect_timeout, connecting).await {
                Err(_) => Err(Error::new(
                    ErrorKind::Connect,
                    format!(
                        "cannot connect to PostgreSQL at {endpoint}: timed out after {} s",
                        options.connect_timeout.as_secs_f64()
                    ),
                )),
                Ok(Err(e)) => Err(target.scrub(connect_error(e, endpoint, database))),
                Ok(Ok(conn)) => Ok(Conn::Pg(Box::new(conn))),
            }
        }
        Target::Sqlite { path } => open_sqlite(path).map(Conn::Sqlite),
    }
}

fn connect_error(e: sqlx_core::Error, endpoint: &str, database: &str) -> Error {
    use sqlx_core::Error as E;
    match &e {
        E::Io(io) => {
            let reason = match io.kind() {
                std::io::ErrorKind::ConnectionRefused => "connection refused".to_owned(),
                std::io::ErrorKind::TimedOut => "timed out".to_owned(),
                _ => io.to_string(),
            };
            Error::new(
                ErrorKind::Connect,
                format!("cannot connect to PostgreSQL at {endpoint}: {reason}"),
            )
        }
        E::Database(db) => {
            let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
            match code.as_str() {
                "3D000" => Error::new(
                    ErrorKind::DatabaseMissing,
                    format!(
                        "database \"{database}\" does not exist on PostgreSQL at {endpoint} (create it first, e.g. createdb)"
                    ),
                ),
                "28P01" | "28000" => Error::new(
                    ErrorKind::Connect,
                    format!(
                        "cannot connect to PostgreSQL at {endpoint}: authentication failed: {}",
                        db.message()
                    ),
                ),
                _ => Error::new(
                    ErrorKind::Connect,
                    format!(
                        "cannot connect to PostgreSQL at {endpoint}: {} (SQLSTATE {code})",
                        db.message()
                    ),
                ),
            }
        }
        E::Tls(tls) => Error::new(
            ErrorKind::Connect,
            format!("cannot connect to PostgreSQL at {endpoint}: TLS error: {tls}"),
        ),
        E::Protocol(msg) => Error::new(
            ErrorKind::Connect,
            format!(
                "cannot connect to PostgreSQL at {endpoint}: the server does not speak the PostgreSQL protocol ({msg})"
            ),
        ),
        E::Configuration(cfg) => Error::new(
            ErrorKind::BadUrl,
            format!("invalid PostgreSQL connection settings for {endpoint}: {cfg}"),
        ),
        other => Error::new(
            ErrorKind::Connect,
            format!("cannot connect to PostgreSQL at {endpoint}: {other}"),
        ),
    }
}

/// Opens (creating if needed) the SQLite file: one connection, foreign keys on (SQLite
/// leaves them off per connection by default, and the down/up scripts of tables with
/// REFERENCES should run under the same rules as the app), a busy timeout so a running
/// app holding a write lock delays us instead of failing us.
fn open_sqlite(path: &Path) -> Result<rusqlite::Connection, Error> {
    let fail = |what: &str, e: &dyn fmt::Display| {
        Error::new(
            ErrorKind::Other,
            format!("cannot open SQLite database {}: {what}{e}", path.display()),
        )
    };
    // The database holds password hashes and personal data: a new file is 0600 in
    // folders created as 0700 (existing ones keep their modes).
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| fail("cannot create its directory: ", &e))?;
    }
    {
        use std::os::unix::fs::OpenOptionsExt;
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
        {
            Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => return Err(fail("", &e)),
            _ => {}
        }
    }
    let conn = rusqlite::Connection::open(path).map_err(|e| fail("", &e))?;
    conn.busy_timeout(DEFAULT_CONNECT_TIMEOUT)
        .map_err(|e| fail("", &e))?;
    conn.execute_batch("PRAGMA foreign_keys = ON;")
        .map_err(|e| fail("", &e))?;
    // Touch the schema so a file that is not a database fails here, clearly.
    conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
        r.get::<_, i64>(0)
    })
    .map_err(|e| fail("", &e))?;
    Ok(conn)
}

async fn close(conn: Conn) {
    match conn {
        Conn::Pg(pg) => {
            let _ = pg.close().await;
        }
        Conn::Sqlite(c) => {
            let _ = c.close();
        }
    }
}

/// Runs `body` under sqlx's PostgreSQL advisory lock, so two migrators (a Job retry and
/// an init container, say) never interleave. SQLite needs no extra lock: each
/// migration takes the database write lock (`BEGIN IMMEDIATE`).
async fn with_lock<T>(
    conn: &mut Conn,
    target: &Target,
    body: impl AsyncFnOnce(&mut Conn) -> Result<T, Error>,
) -> Result<T, Error> {
    if let Conn::Pg(pg) = conn {
        pg.lock().await.map_err(|e| migrate_error(e, target))?;
    }
    let result = body(conn).await;
    if let Conn::Pg(pg) = conn {
        // The lock is also released when the session ends; an unlock failure after
        // a successful run must not turn it into a failure.
        let _ = pg.unlock().await;
    }
    result
}

fn db_error(e: impl fmt::Display, target: &Target) -> Error {
    Error::new(ErrorKind::Other, format!("{}: {e}", target.describe()))
}

fn migrate_error(e: MigrateError, target: &Target) -> Error {
    match e {
        MigrateError::Execute(inner) => db_error(sql_error_text(&inner), target),
        other => db_error(other, target),
    }
}

/// The server's message plus SQLSTATE: sqlx's Display for database errors is
/// "error returned from database: …", which hides the code a DBA wants.
fn sql_error_text(e: &sqlx_core::Error) -> String {
    match e {
        sqlx_core::Error::Database(db) => match db.code() {
            Some(code) => format!("{} (SQLSTATE {code})", db.message()),
            None => db.message().to_owned(),
        },
        other => other.to_string(),
    }
}

// ---- bookkeeping --------------------------------------------------------------------

async fn ensure_table(conn: &mut Conn, target: &Target) -> Result<(), Error> {
    match conn {
        Conn::Pg(pg) => pg
            .ensure_migrations_table(MIGRATIONS_TABLE)
            .await
            .map_err(|e| migrate_error(e, target)),
        // Same DDL as sqlx-sqlite 0.9, so sqlx-cli and the app read it alike.
        Conn::Sqlite(c) => c
            .execute_batch(&format!(
                "CREATE TABLE IF NOT EXISTS {MIGRATIONS_TABLE} (
                    version BIGINT PRIMARY KEY,
                    description TEXT NOT NULL,
                    installed_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
                    success BOOLEAN NOT NULL,
                    checksum BLOB NOT NULL,
                    execution_time BIGINT NOT NULL
                );"
            ))
            .map_err(|e| db_error(e, target)),
    }
}

async fn table_exists(conn: &mut Conn, target: &Target) -> Result<bool, Error> {
    match conn {
        Conn::Pg(pg) => {
            let found: Option<String> = sqlx_core::query_scalar::query_scalar(
                "SELECT to_regclass('_sqlx_migrations')::text",
            )
            .fetch_one(pg.as_mut())
            .await
            .map_err(|e| db_error(sql_error_text(&e), target))?;
            Ok(found.is_some())
        }
        Conn::Sqlite(c) => c
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1",
                [MIGRATIONS_TABLE],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n > 0)
            .map_err(|e| db_error(e, target)),
    }
}

async fn list_applied(conn: &mut Conn, target: &Target) -> Result<Vec<AppliedRow>, Error> {
    let sql = format!(
        "SELECT version, description, success, checksum FROM {MIGRATIONS_TABLE} ORDER BY version"
    );
    match conn {
        Conn::Pg(pg) => {
            let rows: Vec<(i64, String, bool, Vec<u8>)> =
                sqlx_core::query_as::query_as(sqlx_core::sql_str::AssertSqlSafe(sql))
                    .fetch_all(pg.as_mut())
                    .await
                    .map_err(|e| db_error(sql_error_text(&e), target))?;
            Ok(rows
                .into_iter()
                .map(|(version, description, success, checksum)| AppliedRow {
                    version,
                    description,
                    success,
                    checksum,
                })
                .collect())
        }
        Conn::Sqlite(c) => {
            let mut stmt = c.prepare(&sql).map_err(|e| db_error(e, target))?;
            let rows = stmt
                .query_map([], |r| {
                    Ok(AppliedRow {
                        version: r.get(0)?,
                        description: r.get(1)?,
                        success: r.get(2)?,
                        checksum: r.get(3)?,
                    })
                })
                .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
                .map_err(|e| db_error(e, target))?;
            Ok(rows)
        }
    }
}

fn failed(migration: &Migration, action: &str, detail: &str) -> Error {
    Error::new(
        ErrorKind::MigrationFailed,
        format!(
            "{action} migration {} ({}) failed: {detail}; {}",
            migration.version,
            migration.description,
            if migration.no_tx {
                "it is marked -- no-transaction, so it may be partially applied"
            } else {
                "its transaction was rolled back, the database is as it was before it"
            }
        ),
    )
}

async fn apply(conn: &mut Conn, target: &Target, migration: &Migration) -> Result<Duration, Error> {
    match conn {
        // sqlx-postgres: BEGIN; script; INSERT bookkeeping row; COMMIT.
        Conn::Pg(pg) => pg
            .apply(MIGRATIONS_TABLE, migration)
            .await
            .map_err(|e| match e {
                MigrateError::ExecuteMigration(inner, _) => {
                    failed(migration, "applying", &sql_error_text(&inner))
                }
                other => migrate_error(other, target),
            }),
        Conn::Sqlite(c) => {
            sqlite_run(c, migration, true).map_err(|e| failed(migration, "applying", &e))
        }
    }
}

async fn revert(
    conn: &mut Conn,
    target: &Target,
    migration: &Migration,
) -> Result<Duration, Error> {
    match conn {
        // sqlx-postgres: BEGIN; down script; DELETE bookkeeping row; COMMIT.
        Conn::Pg(pg) => pg
            .revert(MIGRATIONS_TABLE, migration)
            .await
            .map_err(|e| match e {
                MigrateError::ExecuteMigration(inner, _) => {
                    failed(migration, "reverting", &sql_error_text(&inner))
                }
                other => migrate_error(other, target),
            }),
        Conn::Sqlite(c) => {
            sqlite_run(c, migration, false).map_err(|e| failed(migration, "reverting", &e))
        }
    }
}

/// SQLite counterpart of sqlx's apply/revert: the script and the bookkeeping row
/// change commit together or not at all (SQLite DDL is transactional). `BEGIN
/// IMMEDIATE` takes the write lock up front so a concurrent writer makes us wait
/// (busy timeout) rather than fail halfway.
fn sqlite_run(
    c: &mut rusqlite::Connection,
    migration: &Migration,
    up: bool,
) -> Result<Duration, String> {
    let start = Instant::now();
    let bookkeeping = |c: &rusqlite::Connection, elapsed: i64| -> rusqlite::Result<()> {
        if up {
            c.execute(
                &format!(
                    "INSERT INTO {MIGRATIONS_TABLE} (version, description, success, checksum, execution_time) VALUES (?1, ?2, TRUE, ?3, ?4)"
                ),
                rusqlite::params![migration.version, &*migration.description, &*migration.checksum, elapsed],
            )?;
        } else {
            c.execute(
                &format!("DELETE FROM {MIGRATIONS_TABLE} WHERE version = ?1"),
                [migration.version],
            )?;
        }
        Ok(())
    };
    if migration.no_tx {
        c.execute_batch(migration.sql.as_str())
            .map_err(|e| e.to_string())?;
        let elapsed = start.elapsed();
        bookkeeping(c, nanos(elapsed)).map_err(|e| e.to_string())?;
        return Ok(elapsed);
    }
    let tx = c
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(|e| e.to_string())?;
    tx.execute_batch(migration.sql.as_str())
        .map_err(|e| e.to_string())?;
    let elapsed = start.elapsed();
    bookkeeping(&tx, nanos(elapsed)).map_err(|e| e.to_string())?;
    tx.commit().map_err(|e| e.to_string())?;
    Ok(elapsed)
}

fn nanos(d: Duration) -> i64 {
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}

/// Runs a SQL statement through the same connection path as the migrator; used by
/// tests to reach a PostgreSQL database with the migrator's connect/error handling.
#[doc(hidden)]
pub async fn execute_raw(target: &Target, sql: &str, options: &Options) -> Result<(), Error> {
    let mut conn = connect(target, options).await?;
    let result = match &mut conn {
        Conn::Pg(pg) => pg
            .execute(sqlx_core::sql_str::AssertSqlSafe(sql.to_owned()))
            .await
            .map(|_| ())
            .map_err(|e| db_error(sql_error_text(&e), target)),
        Conn::Sqlite(c) => c.execute_batch(sql).map_err(|e| db_error(e, target)),
    };
    close(conn).await;
    result
}
