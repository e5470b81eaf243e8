//! [`TestApp`]: one running app (Spin or `devhost`) of one test, on its own port with its
//! own database and key-value store; how it is started, watched and stopped.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::JWT_SECRET;
use crate::binaries::{Runner, check_built, devhost_bin, runner, workspace_root};
use crate::config::{Backend, KeyValue, Options, redis_for_every_app};
use crate::databases::Db;
use crate::private_services::free_port;
use crate::redis_lease::RedisLease;

/// How long an app may take to answer its first health check.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// One running app of one test; dropping it stops the app and removes its database.
pub struct TestApp {
    pub backend: Backend,
    pub runner: Runner,
    /// `http://127.0.0.1:<port>`
    pub base_url: String,
    pub port: u16,
    pub(crate) client: reqwest::Client,
    child: Mutex<Option<Child>>,
    log_path: PathBuf,
    pub(crate) db: Db,
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
        check_built(runner);
        let tmp = tempfile::Builder::new()
            .prefix("e2e-app-")
            .tempdir()
            .expect("temp dir");
        let app_db = tmp.path().join("app.db");
        let db = Db::create(backend, &app_db).await?;
        let (runtime_config, redis_lease) = runtime_config(&options, tmp.path(), &app_db);
        let rc_path = tmp.path().join("runtime-config.toml");
        fs::write(&rc_path, runtime_config).expect("write runtime config");
        let vars = spin_variables(&options, db.app_database_url());
        let log_path = tmp.path().join("app.log");
        let client = http_client();
        let started =
            start_on_free_port(runner, &client, tmp.path(), &rc_path, &vars, &log_path).await;
        let app = TestApp {
            backend,
            runner,
            base_url: started.base_url,
            port: started.port,
            client,
            child: Mutex::new(Some(started.child)),
            log_path,
            db,
            redis_lease,
            tmp,
        };
        if let Err(msg) = started.ready {
            // Dropping `app` during the panic prints the output and cleans up.
            panic!("the app did not start ({runner:?}, {backend:?}): {msg}");
        }
        Some(app)
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
}

/// The runtime config (`options`' own, else this app's SQLite file and key-value store).
/// Returns the Redis lease too: the app must hold it while it runs.
fn runtime_config(options: &Options, tmp: &Path, app_db: &Path) -> (String, Option<RedisLease>) {
    match &options.runtime_config {
        Some(rc) => (rc.replace("{tmp}", &tmp.display().to_string()), None),
        None => {
            let (kv, redis_lease) = key_value_store(options.key_value, tmp);
            let rc = format!(
                "[sqlite_database.default]\ntype = \"spin\"\npath = {:?}\n\n\
                 [key_value_store.default]\n{kv}\n\
                 [key_value_store.metrics]\ntype = \"spin\"\n",
                app_db.display().to_string()
            );
            (rc, redis_lease)
        }
    }
}

/// The key-value store `default`, kept apart per app so counters never leak between tests.
fn key_value_store(key_value: KeyValue, tmp: &Path) -> (String, Option<RedisLease>) {
    match key_value {
        KeyValue::Spin if redis_for_every_app() => {
            let lease = RedisLease::take();
            let kv = format!("type = \"redis\"\nurl = {:?}\n", lease.url());
            (kv, Some(lease))
        }
        KeyValue::Spin | KeyValue::SpinFile => {
            let kv = format!(
                "type = \"spin\"\npath = {:?}\n",
                tmp.join("kv.db").display().to_string()
            );
            (kv, None)
        }
        KeyValue::Redis => {
            let kv = format!(
                "type = \"redis\"\nurl = {:?}\n",
                std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
            );
            (kv, None)
        }
    }
}

/// The app's only configuration: the database URL, the test secret (to forge tokens), `options`.
fn spin_variables(options: &Options, database_url: String) -> Vec<(&str, String)> {
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
    vars
}

/// The tests' HTTP client: it follows no redirect, so tests see the redirects themselves.
fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(60))
        .build()
        .expect("http client")
}

/// The runner's `up` command, hermetic: only this test's variables, in a process group of its own.
fn app_command(
    runner: Runner,
    listen: &str,
    rc_path: &Path,
    tmp: &Path,
    vars: &[(&str, String)],
    log: fs::File,
) -> Command {
    let mut cmd = match runner {
        Runner::Spin => Command::new("spin"),
        Runner::Devhost => Command::new(devhost_bin()),
    };
    cmd.arg("up")
        .arg("--from")
        .arg(workspace_root().join("spin.toml"))
        .arg("--listen")
        .arg(listen)
        .arg("--runtime-config-file")
        .arg(rc_path);
    if runner == Runner::Devhost {
        cmd.arg("--state-dir").arg(tmp.join(".spin"));
    }
    // Hermetic: only the variables this test chose.
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("SPIN_VARIABLE_") {
            cmd.env_remove(k);
        }
    }
    for (k, v) in vars {
        cmd.env(format!("SPIN_VARIABLE_{k}"), v);
    }
    cmd.current_dir(tmp)
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("log file"))
        .stderr(log);
    // Its own process group: `spin up` runs the app in a child process
    // (`spin trigger http`) that would outlive a kill of `spin up` alone.
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    cmd
}

/// A started app process: where it listens and whether it answered in time.
struct Started {
    child: Child,
    port: u16,
    base_url: String,
    ready: Result<(), String>,
}

/// Starts the app and waits until it is ready, on a new port when the probed one was taken.
async fn start_on_free_port(
    runner: Runner,
    client: &reqwest::Client,
    tmp: &Path,
    rc_path: &Path,
    vars: &[(&str, String)],
    log_path: &Path,
) -> Started {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let port = free_port();
        let listen = format!("127.0.0.1:{port}");
        let log = fs::File::create(log_path).expect("log file");
        let mut cmd = app_command(runner, &listen, rc_path, tmp, vars, log);
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {:?}: {e}", cmd.get_program()));
        let base_url = format!("http://{listen}");
        let ready = wait_ready(client, &base_url, &mut child).await;
        let logs = fs::read(log_path)
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
        return Started {
            child,
            port,
            base_url,
            ready,
        };
    }
}

/// Polls `GET /health_check` until it answers 200, so no test races the start-up.
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
        self.db.remove();
    }
}
