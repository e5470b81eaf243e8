//! What a test run and one test app are configured with: the database backend, the
//! key-value store, the app's Spin variables, and the environment switches
//! (`E2E_BACKEND`, `E2E_KEY_VALUE`, `CI`, `REQUIRE_POSTGRES`).

/// The database a test app runs on.
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

fn env_flag(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| !v.is_empty() && v != "0" && v != "false")
}

/// PostgreSQL must be there (CI, or `REQUIRE_POSTGRES=1`): an unreachable server fails.
pub fn postgres_required() -> bool {
    env_flag("CI") || env_flag("REQUIRE_POSTGRES")
}
