//! End-to-end harness for the Car API.
//!
//! Every test gets its own running app (real Spin or `devhost`) on its own port, with its
//! own database (a copy of a migrated SQLite template, or a PostgreSQL database created
//! from a migrated template database) and its own key-value file.
//!
//! ```ignore
//! use e2e_tests::*;
//! both_backends!(creates_a_brand, |app| {
//!     let u = app.new_user().await;
//!     let r = app.post_auth("/api/v1/brands/", &u.token, &json!({"name": "Fiat"})).await;
//!     r.assert_status(201);
//!     assert_eq!(app.count_rows("brands").await, 1);
//! });
//! ```
//!
//! Runner: `APP_RUNNER=spin|devhost`, else Spin when `spin` is on `PATH`, else devhost
//! (`$DEVHOST_BIN`, or `release/devhost` in `$DEVHOST_TARGET_DIR` / `$CARGO_TARGET_DIR` /
//! `<workspace>/target`). Schema: `release/migrator up` there (or `$MIGRATOR_BIN`).
//! PostgreSQL: `$TEST_DATABASE_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`);
//! unreachable → the PostgreSQL half is skipped loudly, or fails under `CI` /
//! `REQUIRE_POSTGRES=1`.
//! Key-value store: each app's own SQLite store file, or with `E2E_KEY_VALUE=redis` (the
//! production setup) a Redis database of its own at `$TEST_REDIS_URL`, leased from
//! databases 1–15 and flushed before use, so counters never mix between tests.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use rand::Rng as _;
use rand::distr::Alphanumeric;

pub use reqwest::Method;
pub use serde_json::{Value, json};
pub mod chaos;

#[doc(hidden)]
pub use paste as __paste;

/// The JWT secret every test app runs with (>= 32 bytes), so tests can forge tokens.
pub const JWT_SECRET: &str = "e2e-test-secret-key-0123456789abcdefghijklmnop";
/// A password that passes validation.
pub const PASSWORD: &str = "s3cret-pass";

const READY_TIMEOUT: Duration = Duration::from_secs(60);

// ------------------------------------------------------------------------------------
// Configuration
// ------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Where the app's key-value store `default` lives.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum KeyValue {
    /// Spin's own SQLite-backed store, in the test's temp dir (Redis instead under
    /// `E2E_KEY_VALUE=redis`).
    #[default]
    Spin,
    /// Spin's SQLite-backed store file `kv.db` in the test's temp dir, always: for tests
    /// that read the stored counters from the file.
    SpinFile,
    /// Redis at `$TEST_REDIS_URL` (default `redis://127.0.0.1:6379`), shared by every test:
    /// use unique keys (e-mails) in tests that count something.
    Redis,
}

/// Optional Spin variables and runtime-config choices for one app.
#[derive(Clone, Debug, Default)]
pub struct Options {
    pub cors_origins: Option<String>,
    pub allowed_hosts: Option<String>,
    pub jwt_algorithm: Option<String>,
    pub jwt_expiration_minutes: Option<String>,
    pub log_level: Option<String>,
    pub key_value: KeyValue,
    /// Replaces the generated runtime config entirely. `{tmp}` is replaced by the test's
    /// temp dir (the app's SQLite file is `{tmp}/app.db`).
    pub runtime_config: Option<String>,
    /// Overrides the `database_url` variable (the per-test database is still prepared).
    pub database_url: Option<String>,
    /// Any other variable, by its spin.toml name (`trusted_proxies`, …).
    pub variables: Vec<(String, String)>,
}

impl Options {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn cors_origins(mut self, v: &str) -> Self {
        self.cors_origins = Some(v.into());
        self
    }
    pub fn allowed_hosts(mut self, v: &str) -> Self {
        self.allowed_hosts = Some(v.into());
        self
    }
    pub fn jwt_algorithm(mut self, v: &str) -> Self {
        self.jwt_algorithm = Some(v.into());
        self
    }
    pub fn jwt_expiration_minutes(mut self, v: &str) -> Self {
        self.jwt_expiration_minutes = Some(v.into());
        self
    }
    pub fn log_level(mut self, v: &str) -> Self {
        self.log_level = Some(v.into());
        self
    }
    pub fn redis(mut self) -> Self {
        self.key_value = KeyValue::Redis;
        self
    }
    /// The key-value store in the file `kv.db` of the test's temp dir, whatever
    /// `E2E_KEY_VALUE` says.
    pub fn key_value_file(mut self) -> Self {
        self.key_value = KeyValue::SpinFile;
        self
    }
    pub fn database_url(mut self, v: &str) -> Self {
        self.database_url = Some(v.into());
        self
    }
    pub fn runtime_config(mut self, v: &str) -> Self {
        self.runtime_config = Some(v.into());
        self
    }
    /// Sets a spin.toml variable (`SPIN_VARIABLE_<NAME>`).
    pub fn variable(mut self, name: &str, value: &str) -> Self {
        self.variables
            .push((name.to_ascii_uppercase(), value.into()));
        self
    }
}

/// `E2E_BACKEND=sqlite|postgres` runs only that half of each `both_backends!` pair (the
/// Spin matrix in CI runs one database per job); unset or `both`, both halves run.
pub fn backend_selected(backend: Backend) -> bool {
    let selected = match std::env::var("E2E_BACKEND").ok().as_deref() {
        None | Some("" | "both") => true,
        Some("sqlite") => backend == Backend::Sqlite,
        Some("postgres") => backend == Backend::Postgres,
        Some(other) => panic!("E2E_BACKEND must be `sqlite`, `postgres` or `both`, not {other:?}"),
    };
    if !selected {
        eprintln!("skipped: {backend:?} is not selected by E2E_BACKEND");
    }
    selected
}

/// `E2E_KEY_VALUE=redis`: every app that does not choose its store runs on Redis.
pub fn redis_for_every_app() -> bool {
    match std::env::var("E2E_KEY_VALUE").ok().as_deref() {
        Some("redis") => true,
        None | Some("" | "spin") => false,
        Some(other) => panic!("E2E_KEY_VALUE must be `redis` or `spin`, not {other:?}"),
    }
}

/// One of Redis databases 1–15, held by one app and flushed before it is handed out.
/// (Database 0 is where `Options::redis()` apps share counters under unique keys.)
pub struct RedisLease {
    db: u8,
}

fn redis_leases() -> &'static Mutex<[bool; 16]> {
    static LEASES: OnceLock<Mutex<[bool; 16]>> = OnceLock::new();
    LEASES.get_or_init(|| Mutex::new([false; 16]))
}

impl RedisLease {
    fn take() -> RedisLease {
        let deadline = Instant::now() + Duration::from_secs(300);
        loop {
            {
                let mut leases = redis_leases().lock().unwrap_or_else(|p| p.into_inner());
                if let Some(db) = (1..16).find(|&db| !leases[db]) {
                    leases[db] = true;
                    let lease = RedisLease { db: db as u8 };
                    lease.flush();
                    return lease;
                }
            }
            assert!(
                Instant::now() < deadline,
                "no free Redis database in 5 minutes"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn base_url() -> String {
        let url =
            std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
        let url = url.trim_end_matches('/');
        // Drop a database number the URL may already carry.
        match url.rsplit_once('/') {
            Some((head, db)) if !head.ends_with('/') && db.parse::<u8>().is_ok() => head.into(),
            _ => url.into(),
        }
    }

    pub fn url(&self) -> String {
        format!("{}/{}", Self::base_url(), self.db)
    }

    /// `SELECT db` + `FLUSHDB` over a plain connection (RESP), so no client crate is needed.
    fn flush(&self) {
        use std::io::{Read, Write};
        let base = Self::base_url();
        let address = base
            .trim_start_matches("redis://")
            .rsplit('@')
            .next()
            .unwrap_or_default()
            .to_string();
        let mut stream = std::net::TcpStream::connect(&address).unwrap_or_else(|e| {
            panic!("E2E_KEY_VALUE=redis: cannot reach Redis at {address}: {e}")
        });
        let db = self.db.to_string();
        let command = format!(
            "*2\r\n$6\r\nSELECT\r\n${}\r\n{db}\r\n*1\r\n$7\r\nFLUSHDB\r\n",
            db.len()
        );
        stream
            .write_all(command.as_bytes())
            .expect("write to Redis");
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        let mut reply = Vec::new();
        let mut buf = [0u8; 64];
        while reply.iter().filter(|&&b| b == b'\n').count() < 2 {
            let n = stream.read(&mut buf).expect("read from Redis");
            assert!(n > 0, "Redis closed the connection");
            reply.extend_from_slice(&buf[..n]);
        }
        assert_eq!(reply, b"+OK\r\n+OK\r\n", "SELECT/FLUSHDB on Redis");
    }
}

impl Drop for RedisLease {
    fn drop(&mut self) {
        let mut leases = redis_leases().lock().unwrap_or_else(|p| p.into_inner());
        leases[self.db as usize] = false;
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Runner {
    Spin,
    Devhost,
}

/// `APP_RUNNER=spin|devhost` forces a runner; otherwise Spin when `spin` is on `PATH`.
pub fn runner() -> Runner {
    match std::env::var("APP_RUNNER").ok().as_deref() {
        Some("spin") => Runner::Spin,
        Some("devhost") => Runner::Devhost,
        Some(other) if !other.is_empty() => {
            panic!("APP_RUNNER must be `spin` or `devhost`, not {other:?}")
        }
        _ => {
            if find_on_path("spin").is_some() {
                Runner::Spin
            } else {
                Runner::Devhost
            }
        }
    }
}

fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// The workspace root (where `spin.toml` is).
pub fn workspace_root() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    p.canonicalize().unwrap_or(p)
}

/// Where `devhost`, `migrator` and the `.wasm` files are built.
pub fn target_dir() -> PathBuf {
    for var in ["DEVHOST_TARGET_DIR", "CARGO_TARGET_DIR"] {
        if let Some(v) = std::env::var_os(var).filter(|v| !v.is_empty()) {
            let p = PathBuf::from(v);
            return if p.is_absolute() {
                p
            } else {
                workspace_root().join(p)
            };
        }
    }
    workspace_root().join("target")
}

fn build_hint(what: &Path) -> String {
    format!(
        "{} is missing: run `make build` first (it builds the .wasm components, devhost and \
         migrator). Binaries are looked up in $DEVHOST_TARGET_DIR, else $CARGO_TARGET_DIR, else \
         <workspace>/target (now: {}); $DEVHOST_BIN and $MIGRATOR_BIN override the binaries.",
        what.display(),
        target_dir().display()
    )
}

fn devhost_bin() -> PathBuf {
    std::env::var_os("DEVHOST_BIN")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| target_dir().join("release/devhost"))
}

fn migrator_bin() -> PathBuf {
    let p = std::env::var_os("MIGRATOR_BIN")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| target_dir().join("release/migrator"));
    assert!(p.is_file(), "{}", build_hint(&p));
    p
}

fn check_wasm_built() {
    for c in ["health", "auth", "cars"] {
        let p = target_dir().join(format!("wasm32-wasip2/wasm/{c}.wasm"));
        assert!(p.is_file(), "{}", build_hint(&p));
    }
}

fn env_flag(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| !v.is_empty() && v != "0" && v != "false")
}

/// PostgreSQL must be there (CI, or `REQUIRE_POSTGRES=1`): an unreachable server fails.
pub fn postgres_required() -> bool {
    env_flag("CI") || env_flag("REQUIRE_POSTGRES")
}

// ------------------------------------------------------------------------------------
// Small utilities
// ------------------------------------------------------------------------------------

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

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A short suffix unique within this process and (randomly) across processes:
/// lowercase letters and digits only.
pub fn unique_suffix() -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let r: String = rand::rng()
        .sample_iter(&Alphanumeric)
        .take(6)
        .map(|c| (c as char).to_ascii_lowercase())
        .collect();
    format!("{r}{n}")
}

/// `prefix` + unique suffix.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}{}", unique_suffix())
}

/// A unique valid plate: 8 upper-case letters/digits.
pub fn unique_plate() -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed) % 1000;
    let r: String = rand::rng()
        .sample_iter(&Alphanumeric)
        .take(5)
        .map(|c| (c as char).to_ascii_uppercase())
        .collect();
    format!("{r}{n:03}")
}

/// A unique valid e-mail address.
pub fn unique_email() -> String {
    format!("{}@example.com", unique("user"))
}

// ------------------------------------------------------------------------------------
// Databases: migrated templates, one copy per test
// ------------------------------------------------------------------------------------

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
                    && !chaos::alive(pid)
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

fn pg_err(e: tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{} ({})", db.message(), db.code().code()),
        None => e.to_string(),
    }
}

fn init_pg_template() -> Result<PgTemplate, String> {
    let admin_url = pg_admin_url();
    let url = admin_url.clone();
    let name = run_sync(move |rt| {
        rt.block_on(async move {
            let client = chaos::pg_client(&url).await?;
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
                    && !chaos::alive(pid)
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

async fn pg_create_test_db(t: &PgTemplate) -> String {
    let name = format!("e2e_{}_{}", std::process::id(), unique_suffix());
    let client = chaos::pg_client(&t.admin_url)
        .await
        .expect("admin connection");
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

// ------------------------------------------------------------------------------------
// The running app
// ------------------------------------------------------------------------------------

enum Db {
    Sqlite {
        path: PathBuf,
    },
    Postgres {
        admin_url: String,
        name: String,
        url: String,
    },
}

pub struct TestApp {
    pub backend: Backend,
    pub runner: Runner,
    /// `http://127.0.0.1:<port>`
    pub base_url: String,
    pub port: u16,
    client: reqwest::Client,
    child: Mutex<Option<Child>>,
    log_path: PathBuf,
    db: Db,
    /// The Redis database this app's key-value store uses (`E2E_KEY_VALUE=redis`),
    /// given back when the app is dropped.
    #[allow(dead_code)]
    redis_lease: Option<RedisLease>,
    // Last, so the directory goes after the child is gone.
    tmp: tempfile::TempDir,
}

impl TestApp {
    /// Starts the app; panics if it cannot. PostgreSQL unreachable (and not required):
    /// panics too — use [`TestApp::try_spawn`] to skip instead.
    pub async fn spawn(backend: Backend, options: Options) -> TestApp {
        Self::try_spawn(backend, options)
            .await
            .expect("PostgreSQL is unreachable")
    }

    /// Starts the app; `None` when the backend is PostgreSQL, it is unreachable, and it is
    /// not required (a loud message is printed).
    pub async fn try_spawn(backend: Backend, options: Options) -> Option<TestApp> {
        let runner = runner();
        check_wasm_built();
        if runner == Runner::Devhost {
            let bin = devhost_bin();
            assert!(bin.is_file(), "{}", build_hint(&bin));
        }
        let tmp = tempfile::Builder::new()
            .prefix("e2e-app-")
            .tempdir()
            .expect("temp dir");
        let app_db = tmp.path().join("app.db");
        let (db, database_url) = match backend {
            Backend::Sqlite => {
                let template = sqlite_template();
                fs::copy(template, &app_db).expect("copy SQLite template");
                let wal = template.with_extension("db-wal");
                if wal.exists() {
                    fs::copy(&wal, app_db.with_extension("db-wal")).expect("copy WAL");
                }
                (
                    Db::Sqlite {
                        path: app_db.clone(),
                    },
                    "sqlite://default".to_string(),
                )
            }
            Backend::Postgres => {
                let t = pg_template()?;
                let name = pg_create_test_db(t).await;
                let url = with_database(&t.admin_url, &name);
                (
                    Db::Postgres {
                        admin_url: t.admin_url.clone(),
                        name,
                        url: url.clone(),
                    },
                    url,
                )
            }
        };

        let mut redis_lease = None;
        let runtime_config = match &options.runtime_config {
            Some(rc) => rc.replace("{tmp}", &tmp.path().display().to_string()),
            None => {
                let kv = match options.key_value {
                    KeyValue::Spin if redis_for_every_app() => {
                        let lease = RedisLease::take();
                        let kv = format!("type = \"redis\"\nurl = {:?}\n", lease.url());
                        redis_lease = Some(lease);
                        kv
                    }
                    KeyValue::Spin | KeyValue::SpinFile => format!(
                        "type = \"spin\"\npath = {:?}\n",
                        tmp.path().join("kv.db").display().to_string()
                    ),
                    KeyValue::Redis => format!(
                        "type = \"redis\"\nurl = {:?}\n",
                        std::env::var("TEST_REDIS_URL")
                            .unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
                    ),
                };
                format!(
                    "[sqlite_database.default]\ntype = \"spin\"\npath = {:?}\n\n\
                     [key_value_store.default]\n{kv}\n\
                     [key_value_store.metrics]\ntype = \"spin\"\n",
                    app_db.display().to_string()
                )
            }
        };
        let rc_path = tmp.path().join("runtime-config.toml");
        fs::write(&rc_path, runtime_config).expect("write runtime config");

        let mut vars: Vec<(&str, String)> = vec![
            (
                "DATABASE_URL",
                options.database_url.clone().unwrap_or(database_url),
            ),
            ("JWT_SECRET_KEY", JWT_SECRET.to_string()),
        ];
        for (name, v) in [
            ("CORS_ORIGINS", &options.cors_origins),
            ("ALLOWED_HOSTS", &options.allowed_hosts),
            ("JWT_ALGORITHM", &options.jwt_algorithm),
            ("JWT_EXPIRATION_MINUTES", &options.jwt_expiration_minutes),
            ("LOG_LEVEL", &options.log_level),
        ] {
            if let Some(v) = v {
                vars.push((name, v.clone()));
            }
        }
        for (name, v) in &options.variables {
            vars.push((name.as_str(), v.clone()));
        }

        let log_path = tmp.path().join("app.log");
        let root = workspace_root();
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(60))
            .build()
            .expect("http client");
        let mut attempt = 0;
        loop {
            attempt += 1;
            let port = chaos::free_port();
            let listen = format!("127.0.0.1:{port}");
            let mut cmd = match runner {
                Runner::Spin => Command::new("spin"),
                Runner::Devhost => Command::new(devhost_bin()),
            };
            cmd.arg("up")
                .arg("--from")
                .arg(root.join("spin.toml"))
                .arg("--listen")
                .arg(&listen)
                .arg("--runtime-config-file")
                .arg(&rc_path);
            if runner == Runner::Devhost {
                cmd.arg("--state-dir").arg(tmp.path().join(".spin"));
            }
            // Hermetic: only the variables this test chose.
            for (k, _) in std::env::vars_os() {
                if k.to_string_lossy().starts_with("SPIN_VARIABLE_") {
                    cmd.env_remove(k);
                }
            }
            for (k, v) in &vars {
                cmd.env(format!("SPIN_VARIABLE_{k}"), v);
            }
            let log = fs::File::create(&log_path).expect("log file");
            cmd.current_dir(tmp.path())
                .stdin(Stdio::null())
                .stdout(log.try_clone().expect("log file"))
                .stderr(log);
            // Its own process group: `spin up` runs the app in a child process
            // (`spin trigger http`) that would outlive a kill of `spin up` alone.
            std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
            let mut child = cmd
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {:?}: {e}", cmd.get_program()));
            let base_url = format!("http://{listen}");
            let ready = wait_ready(&client, &base_url, &mut child).await;
            let logs = fs::read(&log_path)
                .map(|b| String::from_utf8_lossy(&b).to_lowercase())
                .unwrap_or_default();
            if let Err(msg) = &ready
                && attempt < 3
                && logs.contains("in use")
            {
                // The port was taken between probing and binding: try another one.
                eprintln!("app did not start ({msg}); port {port} in use, retrying");
                kill_process_group(&mut child);
                continue;
            }
            let app = TestApp {
                backend,
                runner,
                base_url,
                port,
                client,
                child: Mutex::new(Some(child)),
                log_path,
                db,
                redis_lease,
                tmp,
            };
            if let Err(msg) = ready {
                // Dropping `app` during the panic prints the output and cleans up.
                panic!("the app did not start ({runner:?}, {backend:?}): {msg}");
            }
            return Some(app);
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// The HTTP client: never follows redirects.
    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// Everything the app printed so far (stdout and stderr).
    pub fn logs(&self) -> String {
        fs::read(&self.log_path)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }

    /// Waits up to 5 s for `needle` to show up in the logs.
    pub async fn wait_for_log(&self, needle: &str) -> bool {
        let start = Instant::now();
        loop {
            if self.logs().contains(needle) {
                return true;
            }
            if start.elapsed() > Duration::from_secs(5) {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub fn tmp_dir(&self) -> &Path {
        self.tmp.path()
    }

    /// The per-test PostgreSQL database URL (None on SQLite).
    pub fn pg_url(&self) -> Option<&str> {
        match &self.db {
            Db::Postgres { url, .. } => Some(url),
            Db::Sqlite { .. } => None,
        }
    }

    // --- HTTP ------------------------------------------------------------------------

    pub fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.client.request(method, self.url(path))
    }

    /// Sends and reads the whole answer. Panics on a transport error.
    pub async fn send(&self, rb: reqwest::RequestBuilder) -> Resp {
        let r = rb.send().await.unwrap_or_else(|e| {
            panic!("request failed: {e:?}\n--- app output ---\n{}", self.logs())
        });
        Resp::read(r).await
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.send(self.request(Method::GET, path)).await
    }
    pub async fn get_auth(&self, path: &str, token: &str) -> Resp {
        self.send(self.request(Method::GET, path).bearer_auth(token))
            .await
    }
    pub async fn post(&self, path: &str, body: &Value) -> Resp {
        self.send(self.request(Method::POST, path).json(body)).await
    }
    pub async fn post_auth(&self, path: &str, token: &str, body: &Value) -> Resp {
        self.send(
            self.request(Method::POST, path)
                .bearer_auth(token)
                .json(body),
        )
        .await
    }
    /// POST of a raw body with `Content-Type: application/json`.
    pub async fn post_raw(
        &self,
        path: &str,
        token: Option<&str>,
        body: impl Into<reqwest::Body>,
    ) -> Resp {
        let mut rb = self
            .request(Method::POST, path)
            .header("content-type", "application/json")
            .body(body);
        if let Some(t) = token {
            rb = rb.bearer_auth(t);
        }
        self.send(rb).await
    }
    /// PUT of a raw body with `Content-Type: application/json`.
    pub async fn put_raw(
        &self,
        path: &str,
        token: Option<&str>,
        body: impl Into<reqwest::Body>,
    ) -> Resp {
        let mut rb = self
            .request(Method::PUT, path)
            .header("content-type", "application/json")
            .body(body);
        if let Some(t) = token {
            rb = rb.bearer_auth(t);
        }
        self.send(rb).await
    }
    pub async fn put(&self, path: &str, body: &Value) -> Resp {
        self.send(self.request(Method::PUT, path).json(body)).await
    }
    pub async fn put_auth(&self, path: &str, token: &str, body: &Value) -> Resp {
        self.send(
            self.request(Method::PUT, path)
                .bearer_auth(token)
                .json(body),
        )
        .await
    }
    pub async fn delete(&self, path: &str) -> Resp {
        self.send(self.request(Method::DELETE, path)).await
    }
    pub async fn delete_auth(&self, path: &str, token: &str) -> Resp {
        self.send(self.request(Method::DELETE, path).bearer_auth(token))
            .await
    }

    // --- domain helpers --------------------------------------------------------------

    /// POST /api/v1/users/ and expect 201; returns the user.
    pub async fn register(&self, username: &str, email: &str, password: &str) -> Value {
        let r = self
            .post(
                "/api/v1/users/",
                &json!({"username": username, "email": email, "password": password}),
            )
            .await;
        r.assert_status(201);
        r.json()
    }

    /// POST /api/v1/auth/token (the answer unchecked).
    pub async fn try_login(&self, email: &str, password: &str) -> Resp {
        self.post(
            "/api/v1/auth/token",
            &json!({"email": email, "password": password}),
        )
        .await
    }

    /// POST /api/v1/auth/token and expect 200; returns the access token.
    pub async fn login(&self, email: &str, password: &str) -> String {
        let r = self.try_login(email, password).await;
        r.assert_status(200);
        r.json()["access_token"]
            .as_str()
            .expect("access_token is a string")
            .to_string()
    }

    /// POST /api/v1/auth/token with a wrong password for `email` (the answer unchecked).
    pub async fn failed_login(&self, email: &str) -> Resp {
        self.try_login(email, "wrong-password").await
    }

    /// A fresh registered and logged-in user.
    pub async fn new_user(&self) -> TestUser {
        let username = unique("user");
        let email = format!("{username}@example.com");
        let user = self.register(&username, &email, PASSWORD).await;
        let token = self.login(&email, PASSWORD).await;
        TestUser {
            id: user["id"].as_i64().expect("user id"),
            username,
            email,
            password: PASSWORD.into(),
            token,
            json: user,
        }
    }

    /// A fresh user with a brand of their own: the user and the brand's id.
    pub async fn new_user_with_brand(&self) -> (TestUser, i64) {
        let u = self.new_user().await;
        let brand = self.create_brand(&u.token, &unique("Brand")).await;
        (u, brand["id"].as_i64().expect("brand id"))
    }

    /// POST /api/v1/brands/ {name} and expect 201; returns the brand.
    pub async fn create_brand(&self, token: &str, name: &str) -> Value {
        let r = self
            .post_auth("/api/v1/brands/", token, &json!({"name": name}))
            .await;
        r.assert_status(201);
        r.json()
    }

    /// POST /api/v1/cars/ with [`car_body`] (overridden by `overrides`' fields); expects 201.
    pub async fn create_car(
        &self,
        token: &str,
        brand_id: i64,
        plate: &str,
        overrides: Value,
    ) -> Value {
        let mut body = car_body(brand_id, plate);
        if let Value::Object(o) = overrides {
            for (k, v) in o {
                body[k] = v;
            }
        }
        let r = self.post_auth("/api/v1/cars/", token, &body).await;
        r.assert_status(201);
        r.json()
    }

    // --- stored state ----------------------------------------------------------------

    /// Runs `sql` on the app's database and returns the rows as JSON objects. Supported
    /// column types: integers, text, booleans, floats (PostgreSQL: cast anything else,
    /// e.g. `price::text`, `created_at::text`).
    pub async fn db_query(&self, sql: &str) -> Vec<serde_json::Map<String, Value>> {
        match &self.db {
            Db::Sqlite { path } => {
                let conn = rusqlite::Connection::open_with_flags(
                    path,
                    rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE,
                )
                .expect("open app.db");
                conn.busy_timeout(Duration::from_secs(10)).unwrap();
                let mut stmt = conn.prepare(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
                let names: Vec<String> = stmt.column_names().map(|s| s.to_string()).collect();
                let rows = stmt
                    .query_map([], |row| {
                        let mut m = serde_json::Map::new();
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
            Db::Postgres { url, .. } => {
                let client = chaos::pg_client(url).await.expect("test database");
                let rows = client
                    .query(sql, &[])
                    .await
                    .unwrap_or_else(|e| panic!("{sql}: {}", pg_err(e)));
                rows.iter()
                    .map(|row| {
                        let mut m = serde_json::Map::new();
                        for (i, col) in row.columns().iter().enumerate() {
                            use tokio_postgres::types::Type;
                            let t = col.type_();
                            let v = if *t == Type::INT8 {
                                json!(row.get::<_, Option<i64>>(i))
                            } else if *t == Type::INT4 {
                                json!(row.get::<_, Option<i32>>(i))
                            } else if *t == Type::INT2 {
                                json!(row.get::<_, Option<i16>>(i))
                            } else if *t == Type::BOOL {
                                json!(row.get::<_, Option<bool>>(i))
                            } else if *t == Type::FLOAT8 {
                                json!(row.get::<_, Option<f64>>(i))
                            } else if [Type::TEXT, Type::VARCHAR, Type::NAME, Type::BPCHAR]
                                .contains(t)
                            {
                                json!(row.get::<_, Option<String>>(i))
                            } else {
                                panic!("db_query: cast column {} ({t}) to text", col.name())
                            };
                            m.insert(col.name().to_string(), v);
                        }
                        m
                    })
                    .collect()
            }
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
                let client = chaos::pg_client(url).await.expect("test database");
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
    pub async fn stored_row(&self, table: &str, id: i64) -> Option<serde_json::Map<String, Value>> {
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

async fn wait_ready(
    client: &reqwest::Client,
    base_url: &str,
    child: &mut Child,
) -> Result<(), String> {
    let start = Instant::now();
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("the app exited early with {status}"));
        }
        if let Ok(r) = client
            .get(format!("{base_url}/health_check"))
            .timeout(Duration::from_secs(5))
            .send()
            .await
            && r.status().as_u16() == 200
        {
            return Ok(());
        }
        if start.elapsed() > READY_TIMEOUT {
            return Err(format!(
                "GET /health_check did not answer 200 within {READY_TIMEOUT:?}"
            ));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Kills the app and everything it started (its process group), then reaps it.
fn kill_process_group(child: &mut Child) {
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{}", child.id())])
        .stderr(Stdio::null())
        .status();
    let _ = child.kill();
    let _ = child.wait();
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.lock().map(|mut c| c.take()).ok().flatten() {
            kill_process_group(&mut child);
        }
        if std::thread::panicking() {
            eprintln!(
                "\n--- app output ({:?}, {:?}, {}) ---\n{}\n--- end of app output ---",
                self.runner,
                self.backend,
                self.base_url,
                self.logs()
            );
        }
        if let Db::Postgres {
            admin_url, name, ..
        } = &self.db
        {
            let (admin_url, name) = (admin_url.clone(), name.clone());
            let _ = std::panic::catch_unwind(move || {
                run_sync(move |rt| {
                    rt.block_on(async move {
                        if let Ok(c) = chaos::pg_client(&admin_url).await {
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

/// A registered, logged-in user.
#[derive(Clone, Debug)]
pub struct TestUser {
    pub id: i64,
    pub username: String,
    pub email: String,
    pub password: String,
    pub token: String,
    /// The 201 body of the registration.
    pub json: Value,
}

/// A valid car creation body.
pub fn car_body(brand_id: i64, plate: &str) -> Value {
    json!({
        "model": "Civic EXL",
        "factory_year": 2020,
        "model_year": 2021,
        "color": "Prata",
        "plate": plate,
        "fuel_type": "flex",
        "transmission": "automatic",
        "price": 85000,
        "brand_id": brand_id,
    })
}

// ------------------------------------------------------------------------------------
// Responses and assertions
// ------------------------------------------------------------------------------------

/// A fully read HTTP answer.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Vec<u8>,
}

impl Resp {
    pub async fn read(r: reqwest::Response) -> Resp {
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let body = r.bytes().await.map(|b| b.to_vec()).unwrap_or_default();
        Resp {
            status,
            headers,
            body,
        }
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON; panics (showing the body) if it is not.
    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "body is not JSON ({e}); status {}: {}",
                self.status,
                self.text()
            )
        })
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
    }

    #[track_caller]
    pub fn assert_status(&self, status: u16) -> &Self {
        assert_eq!(
            self.status,
            status,
            "expected status {status}, got {}; body: {}",
            self.status,
            self.text()
        );
        self
    }

    /// Exact status and body `{"detail": detail}`, JSON content type, and on a 401 the
    /// `WWW-Authenticate: Bearer` header.
    #[track_caller]
    pub fn assert_error(&self, status: u16, detail: &str) -> &Self {
        self.assert_status(status);
        assert_eq!(self.json(), json!({ "detail": detail }), "error body");
        self.assert_json_content_type();
        if status == 401 {
            assert_eq!(
                self.header("www-authenticate").as_deref(),
                Some("Bearer"),
                "every 401 carries WWW-Authenticate: Bearer"
            );
        }
        self
    }

    #[track_caller]
    pub fn assert_json_content_type(&self) -> &Self {
        let ct = self.header("content-type").unwrap_or_default();
        assert!(
            ct.starts_with("application/json"),
            "content-type should be application/json, is {ct:?}"
        );
        self
    }

    /// The four security headers every response carries.
    #[track_caller]
    pub fn assert_security_headers(&self) -> &Self {
        for (name, value) in SECURITY_HEADERS {
            assert_eq!(
                self.header(name).as_deref(),
                Some(*value),
                "header {name} on a {} response",
                self.status
            );
        }
        self
    }

    /// 204 with an empty body.
    #[track_caller]
    pub fn assert_no_content(&self) -> &Self {
        self.assert_status(204);
        assert!(
            self.body.is_empty(),
            "204 body must be empty: {:?}",
            self.text()
        );
        self
    }

    /// Status 422 with exactly the `expected` entries (in any order); returns the entries.
    /// Every entry must have `input`; `value_error` entries must have `ctx: {"error": {}}`.
    #[track_caller]
    pub fn assert_422(&self, expected: &[E]) -> Vec<Value> {
        self.assert_status(422);
        self.assert_json_content_type();
        let body = self.json();
        let entries = body["detail"]
            .as_array()
            .unwrap_or_else(|| panic!("422 detail must be a list: {body}"))
            .clone();
        assert_eq!(
            entries.len(),
            expected.len(),
            "expected {} validation errors, got: {body:#}",
            expected.len()
        );
        for e in expected {
            let found = entries.iter().find(|x| e.matches(x));
            let found = found.unwrap_or_else(|| panic!("no validation error {e:?} in {body:#}"));
            let obj = found.as_object().expect("entry is an object");
            assert!(obj.contains_key("input"), "entry without `input`: {found}");
            if e.ty == "value_error" && !e.is_email {
                assert_eq!(
                    found["ctx"],
                    json!({"error": {}}),
                    "value_error ctx: {found}"
                );
            }
        }
        entries
    }

    /// The 422 entry at `loc`.
    #[track_caller]
    pub fn entry(&self, loc: Value) -> Value {
        let body = self.json();
        body["detail"]
            .as_array()
            .and_then(|a| a.iter().find(|x| x["loc"] == loc).cloned())
            .unwrap_or_else(|| panic!("no entry at {loc} in {body}"))
    }
}

pub const SECURITY_HEADERS: &[(&str, &str)] = &[
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("x-xss-protection", "1; mode=block"),
    (
        "strict-transport-security",
        "max-age=31536000; includeSubDomains",
    ),
];

/// An expected validation error (matched on `type`, `loc` and `msg`).
#[derive(Clone, Debug)]
pub struct E {
    pub ty: String,
    pub loc: Value,
    pub msg: String,
    /// `msg` is only a prefix (invalid e-mail reasons are free text).
    pub prefix: bool,
    is_email: bool,
}

impl E {
    pub fn new(ty: &str, loc: Value, msg: &str) -> E {
        E {
            ty: ty.into(),
            loc,
            msg: msg.into(),
            prefix: false,
            is_email: false,
        }
    }
    fn matches(&self, v: &Value) -> bool {
        let msg = v["msg"].as_str().unwrap_or_default();
        v["type"] == json!(self.ty)
            && v["loc"] == self.loc
            && if self.prefix {
                msg.starts_with(&self.msg) && msg.len() > self.msg.len()
            } else {
                msg == self.msg
            }
    }
}

/// A body rule failed: `value_error`, `["body", field]`, `Value error, <message>`.
pub fn value_error(field: &str, message: &str) -> E {
    E::new(
        "value_error",
        json!(["body", field]),
        &format!("Value error, {message}"),
    )
}

/// An invalid e-mail address in the body.
pub fn email_error(field: &str) -> E {
    E {
        prefix: true,
        is_email: true,
        ..E::new(
            "value_error",
            json!(["body", field]),
            "value is not a valid email address: ",
        )
    }
}

/// A required body field is absent.
pub fn missing(field: &str) -> E {
    E::new("missing", json!(["body", field]), "Field required")
}

pub fn int_parsing(place: &str, name: &str) -> E {
    E::new(
        "int_parsing",
        json!([place, name]),
        "Input should be a valid integer, unable to parse string as an integer",
    )
}

pub fn int_from_float(place: &str, name: &str) -> E {
    E::new(
        "int_from_float",
        json!([place, name]),
        "Input should be a valid integer, got a number with a fractional part",
    )
}

pub fn bool_parsing(place: &str, name: &str) -> E {
    E::new(
        "bool_parsing",
        json!([place, name]),
        "Input should be a valid boolean, unable to interpret input",
    )
}

pub fn bool_type(place: &str, name: &str) -> E {
    E::new(
        "bool_type",
        json!([place, name]),
        "Input should be a valid boolean",
    )
}

pub const FUEL_TYPES: &str = "'gasoline', 'ethanol', 'flex', 'diesel', 'electric' or 'hybrid'";
pub const TRANSMISSIONS: &str = "'manual', 'automatic', 'semi_automatic' or 'cvt'";

pub fn enum_error(place: &str, name: &str, expected: &str) -> E {
    E::new(
        "enum",
        json!([place, name]),
        &format!("Input should be {expected}"),
    )
}

pub fn ge(name: &str, n: i64) -> E {
    E::new(
        "greater_than_equal",
        json!(["query", name]),
        &format!("Input should be greater than or equal to {n}"),
    )
}

pub fn le(name: &str, n: i64) -> E {
    E::new(
        "less_than_equal",
        json!(["query", name]),
        &format!("Input should be less than or equal to {n}"),
    )
}

/// Asserts `s` is `YYYY-MM-DDTHH:MM:SS.ffffffZ` (UTC, microseconds) and returns it parsed.
#[track_caller]
pub fn assert_timestamp(v: &Value) -> chrono::DateTime<chrono::Utc> {
    let s = v
        .as_str()
        .unwrap_or_else(|| panic!("timestamp must be a string: {v}"));
    let b = s.as_bytes();
    let shape_ok = b.len() == 27
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b'T',
            13 | 16 => *c == b':',
            19 => *c == b'.',
            26 => *c == b'Z',
            _ => c.is_ascii_digit(),
        });
    assert!(
        shape_ok,
        "timestamp {s:?} is not YYYY-MM-DDTHH:MM:SS.ffffffZ"
    );
    chrono::DateTime::parse_from_rfc3339(s)
        .unwrap_or_else(|e| panic!("timestamp {s:?}: {e}"))
        .with_timezone(&chrono::Utc)
}

/// Asserts an RFC 3339 timestamp in UTC with a `Z` suffix (any precision), close to now.
#[track_caller]
pub fn assert_recent_rfc3339(v: &Value) {
    let s = v
        .as_str()
        .unwrap_or_else(|| panic!("timestamp must be a string: {v}"));
    assert!(s.ends_with('Z'), "timestamp {s:?} must end in Z");
    let t = chrono::DateTime::parse_from_rfc3339(s)
        .unwrap_or_else(|e| panic!("timestamp {s:?}: {e}"))
        .with_timezone(&chrono::Utc);
    let skew = (chrono::Utc::now() - t).num_seconds().abs();
    assert!(skew < 300, "timestamp {s} is {skew} s away from now");
}

/// Asserts a public user: exactly the five public fields.
#[track_caller]
pub fn assert_public_user(v: &Value) {
    let o = v
        .as_object()
        .unwrap_or_else(|| panic!("user must be an object: {v}"));
    let mut keys: Vec<&str> = o.keys().map(|k| k.as_str()).collect();
    keys.sort();
    assert_eq!(
        keys,
        ["created_at", "email", "id", "updated_at", "username"],
        "public user fields: {v}"
    );
    assert_timestamp(&v["created_at"]);
    assert_timestamp(&v["updated_at"]);
}

/// Asserts a brand has exactly the brand fields.
#[track_caller]
pub fn assert_brand_shape(v: &Value) {
    let o = v
        .as_object()
        .unwrap_or_else(|| panic!("brand must be an object: {v}"));
    let mut keys: Vec<&str> = o.keys().map(|k| k.as_str()).collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "created_at",
            "description",
            "id",
            "is_active",
            "name",
            "updated_at"
        ],
        "brand fields: {v}"
    );
    assert_timestamp(&v["created_at"]);
    assert_timestamp(&v["updated_at"]);
}

/// Asserts a car has exactly the car fields, with nested brand and owner.
#[track_caller]
pub fn assert_car_shape(v: &Value) {
    let o = v
        .as_object()
        .unwrap_or_else(|| panic!("car must be an object: {v}"));
    let mut keys: Vec<&str> = o.keys().map(|k| k.as_str()).collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "brand",
            "brand_id",
            "color",
            "created_at",
            "description",
            "factory_year",
            "fuel_type",
            "id",
            "is_available",
            "model",
            "model_year",
            "owner",
            "owner_id",
            "plate",
            "price",
            "transmission",
            "updated_at"
        ],
        "car fields: {v}"
    );
    assert_timestamp(&v["created_at"]);
    assert_timestamp(&v["updated_at"]);
    assert_brand_shape(&v["brand"]);
    assert_public_user(&v["owner"]);
    assert_eq!(v["brand"]["id"], v["brand_id"]);
    assert_eq!(v["owner"]["id"], v["owner_id"]);
}

// ------------------------------------------------------------------------------------
// Tokens
// ------------------------------------------------------------------------------------

fn b64(data: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(data)
}

/// Signs `header.payload` with HMAC-SHA256/384/512.
pub fn hmac_sign(alg: &str, secret: &[u8], data: &[u8]) -> Vec<u8> {
    macro_rules! mac {
        ($h:ty) => {{
            let mut m = Hmac::<$h>::new_from_slice(secret).expect("hmac key");
            m.update(data);
            m.finalize().into_bytes().to_vec()
        }};
    }
    match alg {
        "HS256" => mac!(sha2::Sha256),
        "HS384" => mac!(sha2::Sha384),
        "HS512" => mac!(sha2::Sha512),
        other => panic!("hmac_sign: unsupported {other}"),
    }
}

/// Builds a JWT by hand. `alg` is `HS256`/`HS384`/`HS512` (signed with `secret`) or
/// `none` (empty signature).
pub fn forge_token(claims: &Value, alg: &str, secret: &[u8]) -> String {
    forge_token_with_header(&json!({"alg": alg, "typ": "JWT"}), claims, alg, secret)
}

/// Like [`forge_token`] with a header of your own; `sign_alg` picks the signature
/// (`none` = empty).
pub fn forge_token_with_header(
    header: &Value,
    claims: &Value,
    sign_alg: &str,
    secret: &[u8],
) -> String {
    let signing_input = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    let sig = if sign_alg.eq_ignore_ascii_case("none") {
        String::new()
    } else {
        b64(&hmac_sign(sign_alg, secret, signing_input.as_bytes()))
    };
    format!("{signing_input}.{sig}")
}

pub fn now_secs() -> i64 {
    chrono::Utc::now().timestamp()
}

/// A valid HS256 token for `user_id` (sub, iat, exp now + 30 min) with the test secret.
pub fn token_for(user_id: i64) -> String {
    let now = now_secs();
    forge_token(
        &json!({"sub": user_id.to_string(), "iat": now, "exp": now + 1800}),
        "HS256",
        JWT_SECRET.as_bytes(),
    )
}

/// Decodes a JWT's header and claims (no verification).
#[track_caller]
pub fn decode_jwt(token: &str) -> (Value, Value) {
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "a JWT has three parts: {token}");
    let dec = |s: &str| -> Value {
        let bytes = URL_SAFE_NO_PAD
            .decode(s.trim_end_matches('='))
            .unwrap_or_else(|e| panic!("JWT part {s:?}: {e}"));
        serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("JWT part {s:?}: {e}"))
    };
    (dec(parts[0]), dec(parts[1]))
}

/// Verifies a JWT's HMAC signature with the test secret.
pub fn jwt_signature_ok(token: &str, alg: &str) -> bool {
    let Some((input, sig)) = token.rsplit_once('.') else {
        return false;
    };
    URL_SAFE_NO_PAD
        .decode(sig)
        .is_ok_and(|s| s == hmac_sign(alg, JWT_SECRET.as_bytes(), input.as_bytes()))
}

// ------------------------------------------------------------------------------------
// Test generation
// ------------------------------------------------------------------------------------

/// `both_backends!(name, |app| { ... })` or `both_backends!(name, options_expr, |app| { ... })`
/// generates `name_sqlite` and `name_postgres`; the block is the body of an
/// `async fn(app: &TestApp)`. The PostgreSQL test is skipped (loudly) when PostgreSQL is
/// unreachable and not required.
#[macro_export]
macro_rules! both_backends {
    ($name:ident, |$app:ident| $body:block) => {
        $crate::both_backends!($name, $crate::Options::default(), |$app| $body);
    };
    ($name:ident, $opts:expr, |$app:ident| $body:block) => {
        $crate::__paste::paste! {
            async fn [<__ $name _body>]($app: &$crate::TestApp) $body

            #[tokio::test]
            async fn [<$name _sqlite>]() {
                if !$crate::backend_selected($crate::Backend::Sqlite) {
                    return;
                }
                let app = $crate::TestApp::spawn($crate::Backend::Sqlite, $opts).await;
                [<__ $name _body>](&app).await;
            }

            #[tokio::test]
            async fn [<$name _postgres>]() {
                if !$crate::backend_selected($crate::Backend::Postgres) {
                    return;
                }
                if let Some(app) =
                    $crate::TestApp::try_spawn($crate::Backend::Postgres, $opts).await
                {
                    [<__ $name _body>](&app).await;
                }
            }
        }
    };
}
