//! End-to-end tests: start the real `devhost` binary on a random port with
//! the probe component and exercise every host interface over HTTP.
//!
//! PostgreSQL tests use `TEST_DATABASE_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`), create a database of their
//! own and drop it afterwards. Without a reachable server they skip loudly,
//! or fail when `CI` is set. Redis tests use `TEST_REDIS_URL` (default
//! `redis://127.0.0.1:6379`) with the same rule.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("devhost sits in the workspace")
        .to_path_buf()
}

fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(d) => {
            let d = PathBuf::from(d);
            if d.is_absolute() {
                d
            } else {
                workspace_root().join(d)
            }
        }
        None => workspace_root().join("target"),
    }
}

/// Builds the probe component once per test binary run.
fn probe_wasm() -> PathBuf {
    static WASM: OnceLock<PathBuf> = OnceLock::new();
    WASM.get_or_init(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .current_dir(workspace_root())
            .args([
                "build",
                "--target",
                "wasm32-wasip2",
                "--profile",
                "wasm",
                "-p",
                "devhost-probe",
            ])
            .env("CARGO_TARGET_DIR", target_dir())
            .status()
            .expect("run cargo to build the probe component");
        assert!(status.success(), "building devhost-probe failed");
        let wasm = target_dir().join("wasm32-wasip2/wasm/devhost_probe.wasm");
        assert!(wasm.is_file(), "{} missing after build", wasm.display());
        wasm
    })
    .clone()
}

fn unique(prefix: &str) -> String {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!(
        "{prefix}_{}_{}_{nanos}",
        std::process::id(),
        N.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
    )
}

/// A scratch directory holding a manifest (and anything else a test needs).
struct AppDir {
    dir: PathBuf,
}

impl AppDir {
    fn new(manifest: &str) -> AppDir {
        let dir = std::env::temp_dir().join(unique("devhost-test"));
        std::fs::create_dir_all(&dir).unwrap();
        let manifest = manifest.replace("PROBE_WASM", &probe_wasm().display().to_string());
        std::fs::write(dir.join("spin.toml"), manifest).unwrap();
        AppDir { dir }
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }
}

impl Drop for AppDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn devhost_cmd(app: &AppDir, extra: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_devhost"));
    cmd.arg("up")
        .arg("-f")
        .arg(app.dir.join("spin.toml"))
        .args(["--listen", "127.0.0.1:0"])
        .arg("--cache-dir")
        .arg(target_dir().join("devhost-test-cache"))
        .args(extra)
        .env_remove("SPIN_HTTP_LISTEN_ADDR")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, _) in std::env::vars() {
        if k.starts_with("SPIN_VARIABLE_") {
            cmd.env_remove(k);
        }
    }
    cmd
}

struct Devhost {
    child: Child,
    base: String,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
    startup: Duration,
}

fn drain(r: impl std::io::Read + Send + 'static, sink: Arc<Mutex<String>>) {
    std::thread::spawn(move || {
        for line in BufReader::new(r).lines().map_while(Result::ok) {
            let mut s = sink.lock().unwrap();
            s.push_str(&line);
            s.push('\n');
        }
    });
}

impl Devhost {
    fn start(app: &AppDir, extra: &[&str], env: &[(&str, &str)]) -> Devhost {
        let mut cmd = devhost_cmd(app, extra);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let started = Instant::now();
        let mut child = cmd.spawn().expect("spawn devhost");
        let stdout = Arc::new(Mutex::new(String::new()));
        let stderr = Arc::new(Mutex::new(String::new()));
        drain(child.stdout.take().unwrap(), stdout.clone());
        drain(child.stderr.take().unwrap(), stderr.clone());
        // Compilation happens once per cache; a debug build of cranelift is slow.
        let deadline = Instant::now() + Duration::from_secs(300);
        loop {
            let serving = stdout
                .lock()
                .unwrap()
                .lines()
                .find(|l| l.starts_with("Serving http://"))
                .map(str::to_string);
            if let Some(line) = serving {
                let base = line.trim_start_matches("Serving ").trim().to_string();
                return Devhost {
                    child,
                    base,
                    stdout,
                    stderr,
                    startup: started.elapsed(),
                };
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!(
                    "devhost exited early ({status}): {}",
                    stderr.lock().unwrap()
                );
            }
            assert!(Instant::now() < deadline, "devhost did not start in time");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn get(&self, path: &str) -> (u16, String) {
        let r = client().get(self.url(path)).send().expect("GET");
        let status = r.status().as_u16();
        (status, r.text().unwrap_or_default())
    }

    fn post_json(&self, path: &str, body: &Value) -> Value {
        let r = client()
            .post(self.url(path))
            .json(body)
            .send()
            .expect("POST");
        assert_eq!(r.status().as_u16(), 200, "POST {path}");
        r.json().expect("JSON response")
    }

    fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    fn stdout(&self) -> String {
        self.stdout.lock().unwrap().clone()
    }

    /// Waits up to 5 s for `needle` in stderr (lines arrive through a reader thread,
    /// after the response) and returns stderr as it is then.
    fn stderr_with(&self, needle: &str) -> String {
        wait_for(|| self.stderr(), needle)
    }

    fn stdout_with(&self, needle: &str) -> String {
        wait_for(|| self.stdout(), needle)
    }

    fn signal(&self, sig: i32) {
        // SAFETY: plain kill(2) on the pid of the child this test spawned.
        unsafe {
            libc::kill(self.child.id() as i32, sig);
        }
    }
}

impl Drop for Devhost {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn wait_for(read: impl Fn() -> String, needle: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let text = read();
        if text.contains(needle) || Instant::now() >= deadline {
            return text;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

const PROBE_MANIFEST: &str = r#"
spin_manifest_version = 2

[application]
name = "probe-app"

[variables]
greeting = { default = "hello" }
api_key = { required = true, secret = true }
db_name = { default = "postgres" }

[[trigger.http]]
route = "/echo/..."
component = "probe"

[[trigger.http]]
route = "/echo/exact"
component = "probe-exact"

[[trigger.http]]
route = "/static"
component = "probe"

[[trigger.http]]
route = "/var"
component = "probe"

[[trigger.http]]
route = "/sqlite"
component = "probe"

[[trigger.http]]
route = "/kv"
component = "probe"

[[trigger.http]]
route = "/pg"
component = "probe"

[[trigger.http]]
route = "/trap"
component = "probe"

[[trigger.http]]
route = "/print"
component = "probe"

[[trigger.http]]
route = "/sleep"
component = "probe"

[[trigger.http]]
route = "/alloc"
component = "probe"

[[trigger.http]]
route = "/outbound"
component = "probe"

[[trigger.http]]
route = "/locked/..."
component = "locked"

[component.probe]
source = "PROBE_WASM"
sqlite_databases = ["default", "unconfigured"]
key_value_stores = ["default"]
allowed_outbound_hosts = ["postgres://*:*", "http://127.0.0.1:*"]

[component.probe.variables]
greeting = "{{ greeting }}, {{greeting}}!"
api_key = "key={{ api_key }}"
db_name = "{{ db_name }}"

[component.probe-exact]
source = "PROBE_WASM"

# Same code, no permissions: every database, store and host is denied.
[component.locked]
source = "PROBE_WASM"
"#;

fn header(echo: &Value, name: &str) -> String {
    echo["headers"][name]
        .as_str()
        .unwrap_or("<missing>")
        .to_string()
}

fn start_probe(extra: &[&str], env: &[(&str, &str)]) -> (AppDir, Devhost) {
    let app = AppDir::new(PROBE_MANIFEST);
    let mut env = env.to_vec();
    if !env.iter().any(|(k, _)| *k == "SPIN_VARIABLE_API_KEY") {
        env.push(("SPIN_VARIABLE_API_KEY", "topsecret-value"));
    }
    let dh = Devhost::start(&app, extra, &env);
    (app, dh)
}

#[test]
fn routing_and_spin_headers() {
    let (_app, dh) = start_probe(&[], &[]);
    let port = dh.base.rsplit(':').next().unwrap().to_string();

    let (s, body) = dh.get("/echo/a/b/?x=1&y=2");
    assert_eq!(s, 200);
    let echo: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(header(&echo, "spin-matched-route"), "/echo/...");
    assert_eq!(header(&echo, "spin-raw-component-route"), "/echo/...");
    assert_eq!(header(&echo, "spin-component-route"), "/echo");
    assert_eq!(header(&echo, "spin-path-info"), "/a/b/");
    assert_eq!(header(&echo, "spin-base-path"), "/");
    assert_eq!(
        header(&echo, "spin-full-url"),
        format!("http://127.0.0.1:{port}/echo/a/b/?x=1&y=2")
    );
    assert!(header(&echo, "spin-client-addr").starts_with("127.0.0.1:"));
    assert_eq!(
        echo["uri"],
        format!("http://127.0.0.1:{port}/echo/a/b/?x=1&y=2")
    );

    // Spin sets its own spin-* headers, replacing any a client sent: nobody can pose
    // as another client address (login throttling counts per address).
    let echo: Value = client()
        .get(dh.url("/echo/a"))
        .header("spin-client-addr", "6.6.6.6:666")
        .header("spin-path-info", "/forged")
        .send()
        .unwrap()
        .json()
        .unwrap();
    let addr = header(&echo, "spin-client-addr");
    assert!(
        addr.starts_with("127.0.0.1:") && !addr.contains("6.6.6.6"),
        "{addr}"
    );
    assert_eq!(header(&echo, "spin-path-info"), "/a");

    // `/echo/...` also matches `/echo` itself, with empty path info.
    let echo: Value = serde_json::from_str(&dh.get("/echo").1).unwrap();
    assert_eq!(header(&echo, "spin-matched-route"), "/echo/...");
    assert_eq!(header(&echo, "spin-path-info"), "");

    // The exact route is more specific than the wildcard, with or without a
    // trailing slash.
    for path in ["/echo/exact", "/echo/exact/"] {
        let echo: Value = serde_json::from_str(&dh.get(path).1).unwrap();
        assert_eq!(header(&echo, "spin-matched-route"), "/echo/exact", "{path}");
        assert_eq!(header(&echo, "spin-path-info"), "", "{path}");
    }
    let echo: Value = serde_json::from_str(&dh.get("/echo/exact/more").1).unwrap();
    assert_eq!(header(&echo, "spin-matched-route"), "/echo/...");
    assert_eq!(header(&echo, "spin-path-info"), "/exact/more");

    // No route: a bare 404 from the host, like Spin.
    let (s, body) = dh.get("/nothing-here");
    assert_eq!((s, body.as_str()), (404, ""));
    let (s, _) = dh.get("/statics");
    assert_eq!(s, 404);

    // Startup output lists the routes like `spin up`.
    let out = dh.stdout();
    assert!(out.contains("Available Routes:"), "{out}");
    assert!(
        out.contains(&format!("  probe: {}/echo (wildcard)", dh.base)),
        "{out}"
    );
    assert!(
        out.contains(&format!("  probe-exact: {}/echo/exact\n", dh.base)),
        "{out}"
    );
}

#[test]
fn catch_all_route_and_most_specific() {
    let app = AppDir::new(
        r#"
spin_manifest_version = 2
[[trigger.http]]
route = "/..."
component = "all"
[[trigger.http]]
route = "/echo/..."
component = "echo"
[component.all]
source = "PROBE_WASM"
[component.echo]
source = "PROBE_WASM"
"#,
    );
    let dh = Devhost::start(&app, &[], &[]);
    let echo: Value = serde_json::from_str(&dh.get("/echo/x").1).unwrap();
    assert_eq!(header(&echo, "spin-matched-route"), "/echo/...");
    // The catch-all gets everything else; its component route is empty.
    let (s, body) = dh.get("/unknown");
    assert_eq!(s, 404);
    assert!(body.contains("unknown operation"), "{body}");
    let (s, body) = dh.get("/");
    assert_eq!(s, 200, "{body}");
    let echo: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(header(&echo, "spin-matched-route"), "/...");
    assert_eq!(header(&echo, "spin-component-route"), "");
    assert_eq!(header(&echo, "spin-path-info"), "/");
}

#[test]
fn variables_env_dotenv_and_templates() {
    let app = AppDir::new(PROBE_MANIFEST);
    app.write(
        ".env",
        "SPIN_VARIABLE_API_KEY=from-dotenv\nSPIN_VARIABLE_GREETING=dotenv-hi\n",
    );
    let dh = Devhost::start(
        &app,
        &["--access-log"],
        &[("SPIN_VARIABLE_GREETING", "env-hi")],
    );
    // Environment wins over .env; templates mix text and references.
    assert_eq!(
        dh.get("/var?name=greeting"),
        (200, "env-hi, env-hi!".to_string())
    );
    assert_eq!(
        dh.get("/var?name=api_key"),
        (200, "key=from-dotenv".to_string())
    );
    assert_eq!(dh.get("/var?name=db_name"), (200, "postgres".to_string()));
    let (s, body) = dh.get("/var?name=not_declared");
    assert_eq!(s, 500);
    assert!(body.contains("Undefined"), "{body}");
    let (s, body) = dh.get("/var?name=Bad-Name");
    assert_eq!(s, 500);
    assert!(body.contains("InvalidName"), "{body}");
    // A component without variables sees none.
    let (s, body) = dh.get("/locked/var?name=greeting");
    assert_eq!(s, 500, "{body}");
    // Secrets never reach devhost's own output, and logs carry no query.
    let logs = dh.stderr_with("GET /var 200") + &dh.stdout();
    assert!(!logs.contains("from-dotenv"), "{logs}");
    assert!(logs.contains("GET /var 200"), "{logs}");
    assert!(!logs.contains("name=api_key"), "{logs}");
}

#[test]
fn refuses_to_start_without_required_variables() {
    let app = AppDir::new(&PROBE_MANIFEST.replace(
        "db_name = { default = \"postgres\" }",
        "db_name = { required = true }",
    ));
    let out = devhost_cmd(&app, &[]).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("api_key"), "{err}");
    assert!(err.contains("db_name"), "{err}");
    assert!(err.contains("SPIN_VARIABLE_API_KEY"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "one-line error: {err}");
}

#[test]
fn clear_startup_errors() {
    // Missing wasm: name the file and the build command.
    let app = AppDir::new(
        r#"
spin_manifest_version = 2
[[trigger.http]]
route = "/..."
component = "web"
[component.web]
source = "target/nothing/web.wasm"
[component.web.build]
command = "cargo build --target wasm32-wasip2 --profile wasm -p web"
"#,
    );
    let out = devhost_cmd(&app, &[]).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("web.wasm not found"), "{err}");
    assert!(
        err.contains("cargo build --target wasm32-wasip2 --profile wasm -p web"),
        "{err}"
    );

    // Bad manifest.
    let bad = AppDir::new("spin_manifest_version = 1\n");
    let out = devhost_cmd(&bad, &[]).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("spin_manifest_version"), "{err}");

    // Port in use.
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = busy.local_addr().unwrap().to_string();
    let ok = AppDir::new(PROBE_MANIFEST);
    let out = devhost_cmd(&ok, &["--listen", &addr])
        .env("SPIN_VARIABLE_API_KEY", "x")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("already in use"), "{err}");

    // Like Spin: a key-value store label the runtime config does not define.
    let app = AppDir::new(&PROBE_MANIFEST.replace(
        "key_value_stores = [\"default\"]",
        "key_value_stores = [\"undefined-label\", \"default\"]",
    ));
    let out = devhost_cmd(&app, &[])
        .env("SPIN_VARIABLE_API_KEY", "x")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("unknown key_value_stores label \"undefined-label\""),
        "{err}"
    );
}

#[test]
fn sqlite_round_trip_and_errors() {
    let (app, dh) = start_probe(&[], &[]);
    let r = dh.post_json(
        "/sqlite",
        &json!({"steps": [
            {"sql": "CREATE TABLE users (id INTEGER PRIMARY KEY, username TEXT UNIQUE, score REAL, data BLOB)"},
            {"sql": "INSERT INTO users (username, score, data) VALUES (?, ?, ?)",
             "params": [["text", "alice"], ["real", 2.5], ["blob", "xyz"]]},
            {"sql": "INSERT INTO users (username) VALUES (?)", "params": [["text", "alice"]]},
            {"sql": "SELECT id, username, score, data, NULL AS empty_col FROM users WHERE id = ?",
             "params": [["integer", 1]]},
        ]}),
    );
    let res = &r["results"];
    assert_eq!(res[1]["changes"], 1);
    assert_eq!(res[1]["last_insert_rowid"], 1);
    assert_eq!(
        res[2]["error"],
        "Error::Io(\"UNIQUE constraint failed: users.username\")"
    );
    assert_eq!(
        res[3]["columns"],
        json!(["id", "username", "score", "data", "empty_col"]),
        "{r}"
    );
    assert_eq!(
        res[3]["rows"][0],
        json!([
            "Value::Integer(1)",
            "Value::Text(\"alice\")",
            "Value::Real(2.5)",
            "Value::Blob([120, 121, 122])",
            "Value::Null"
        ])
    );
    // The default database is a file in the state dir, like Spin's .spin/.
    assert!(app.dir.join(".spin/sqlite_db.db").is_file());
    // Listed but not configured → no-such-database; not listed → access-denied.
    let r = dh.post_json("/sqlite", &json!({"db": "unconfigured", "steps": []}));
    assert_eq!(r["open_error"], "Error::NoSuchDatabase");
    let r = dh.post_json("/locked/sqlite", &json!({"db": "default", "steps": []}));
    assert_eq!(r["open_error"], "Error::AccessDenied");
}

#[test]
fn sqlite_runtime_config_path() {
    let app = AppDir::new(PROBE_MANIFEST);
    let rc = app.write(
        "rc.toml",
        "[sqlite_database.default]\ntype = \"spin\"\npath = \"data/app.db\"\n[unknown_section]\nx = 1\n",
    );
    let dh = Devhost::start(
        &app,
        &["--runtime-config-file", rc.to_str().unwrap()],
        &[("SPIN_VARIABLE_API_KEY", "k")],
    );
    let r = dh.post_json(
        "/sqlite",
        &json!({"steps": [{"sql": "CREATE TABLE t (x)"}]}),
    );
    assert!(r["results"][0].get("error").is_none(), "{r}");
    assert!(app.dir.join("data/app.db").is_file());
    // Password hashes and personal data: created 0600 in a folder created 0700.
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &str| {
        std::fs::metadata(app.dir.join(p))
            .unwrap()
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode("data/app.db"), 0o600);
    assert_eq!(mode("data"), 0o700);
    assert!(dh.stderr().contains("[unknown_section]"), "{}", dh.stderr());
}

fn kv_checks(dh: &Devhost, prefix: &str) {
    let k = |s: &str| format!("{prefix}{s}");
    let r = dh.post_json(
        "/kv",
        &json!({"steps": [
            {"op": "get", "key": k("missing")},
            {"op": "set", "key": k("name"), "value": "v1"},
            {"op": "get", "key": k("name")},
            {"op": "exists", "key": k("name")},
            {"op": "increment", "key": k("counter"), "delta": 5},
            {"op": "increment", "key": k("counter"), "delta": -2},
            {"op": "delete", "key": k("name")},
            {"op": "exists", "key": k("name")},
            {"op": "get_many", "keys": [k("counter"), k("name")]},
        ]}),
    );
    let res = &r["results"];
    assert_eq!(res[0], json!({"value": null}), "{r}");
    assert_eq!(res[2], json!({"value": "v1"}), "{r}");
    assert_eq!(res[3], json!({"exists": true}), "{r}");
    assert_eq!(res[4], json!({"value": 5}), "{r}");
    assert_eq!(res[5], json!({"value": 3}), "{r}");
    assert_eq!(res[7], json!({"exists": false}), "{r}");
    assert_eq!(res[8], json!({"found": 1}), "{r}");

    // Concurrent increments are atomic.
    let key = k("concurrent");
    std::thread::scope(|s| {
        for _ in 0..8 {
            s.spawn(|| {
                for _ in 0..5 {
                    dh.post_json("/kv", &json!({"steps": [{"op": "increment", "key": key}]}));
                }
            });
        }
    });
    let r = dh.post_json(
        "/kv",
        &json!({"steps": [{"op": "increment", "key": key, "delta": 0}]}),
    );
    assert_eq!(r["results"][0], json!({"value": 40}), "{r}");

    // A label the component was not granted (an undefined one cannot be granted: the
    // app would not start, see `clear_startup_errors`).
    let r = dh.post_json("/kv", &json!({"store": "unconfigured", "steps": []}));
    assert_eq!(r["open_error"], "Error::AccessDenied");
    let r = dh.post_json("/locked/kv", &json!({"store": "default", "steps": []}));
    assert_eq!(r["open_error"], "Error::AccessDenied");
}

#[test]
fn key_value_default_store() {
    let (app, dh) = start_probe(&[], &[]);
    kv_checks(&dh, "");
    assert!(app.dir.join(".spin/sqlite_key_value.db").is_file());
    // Spin stores counters as little-endian i64 in its SQLite store.
    let r = dh.post_json(
        "/kv",
        &json!({"steps": [{"op": "get_raw", "key": "counter"}]}),
    );
    assert_eq!(r["results"][0]["bytes"], json!([3, 0, 0, 0, 0, 0, 0, 0]));
}

fn redis_url() -> Option<String> {
    let url = std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let addr = url
        .trim_start_matches("redis://")
        .split('/')
        .next()
        .unwrap_or("")
        .to_string();
    let reachable = std::net::ToSocketAddrs::to_socket_addrs(&addr)
        .ok()
        .and_then(|mut a| a.next())
        .is_some_and(|a| std::net::TcpStream::connect_timeout(&a, Duration::from_secs(2)).is_ok());
    if reachable {
        return Some(url);
    }
    if std::env::var_os("CI").is_some() {
        panic!("Redis at {url} is unreachable and CI is set: start Redis or set TEST_REDIS_URL");
    }
    eprintln!("\n!!! SKIPPING Redis test: {url} is unreachable (set TEST_REDIS_URL) !!!\n");
    None
}

#[test]
fn key_value_redis_store() {
    let Some(url) = redis_url() else { return };
    let app = AppDir::new(PROBE_MANIFEST);
    let rc = app.write(
        "rc.toml",
        &format!("[key_value_store.default]\ntype = \"redis\"\nurl = \"{url}\"\n"),
    );
    // `get_many` is one of Spin's defects on Redis: the correct store is checked here,
    // the Spin-like one in `spin_compat_redis_get_many_fails_like_spin`.
    let dh = Devhost::start(
        &app,
        &[
            "--runtime-config-file",
            rc.to_str().unwrap(),
            "--spin-compat",
            "off",
        ],
        &[("SPIN_VARIABLE_API_KEY", "k")],
    );
    let prefix = format!("{}:", unique("devhost"));
    kv_checks(&dh, &prefix);
    // Redis counters are INCRBY decimal strings, as with Spin's Redis store.
    let r = dh.post_json(
        "/kv",
        &json!({"steps": [
            {"op": "get", "key": format!("{prefix}counter")},
            {"op": "delete", "key": format!("{prefix}counter")},
            {"op": "delete", "key": format!("{prefix}concurrent")},
        ]}),
    );
    assert_eq!(r["results"][0], json!({"value": "3"}));
}

/// Like Spin, devhost prints no line per request unless asked (`--access-log`).
#[test]
fn access_log_is_opt_in() {
    let (_app, dh) = start_probe(&[], &[]);
    assert_eq!(dh.get("/static"), (200, "ok".to_string()));
    let (_app2, logged) = start_probe(&["--access-log"], &[]);
    assert_eq!(logged.get("/static"), (200, "ok".to_string()));
    let err = logged.stderr_with("GET /static 200");
    assert!(err.contains("GET /static 200"), "{err}");
    assert!(!dh.stderr().contains("GET /static"), "{}", dh.stderr());
}

#[test]
fn trap_is_contained() {
    let (_app, dh) = start_probe(&["--access-log"], &[]);
    let (s, body) = dh.get("/trap");
    assert_eq!((s, body.as_str()), (500, ""));
    assert_eq!(dh.get("/static"), (200, "ok".to_string()));
    let err = dh.stderr_with("GET /trap 500");
    assert!(err.contains("trapped"), "{err}");
    assert!(err.contains("GET /trap 500"), "{err}");
    // Guest output goes to devhost's stdout/stderr.
    assert_eq!(dh.get("/print").0, 200);
    assert!(
        dh.stdout_with("probe stdout line")
            .contains("probe stdout line")
    );
    assert!(
        dh.stderr_with("probe stderr line")
            .contains("probe stderr line")
    );
    // Argon2-sized allocations fit; the memory limit turns a runaway
    // allocation into a trap for that request only.
    assert_eq!(dh.get("/alloc?mib=40").0, 200);
    assert_eq!(dh.get("/alloc?mib=300").0, 500);
    assert_eq!(dh.get("/static").0, 200);
}

#[test]
fn outbound_http_allowed_and_denied() {
    let (_app, dh) = start_probe(&[], &[]);
    let target = dh.url("/static");
    let (s, body) = dh.get(&format!("/outbound?url={target}"));
    assert_eq!((s, body.as_str()), (200, "upstream status 200"));
    let (s, body) = dh.get(&format!("/locked/outbound?url={target}"));
    assert_eq!(s, 502);
    assert!(body.contains("HttpRequestDenied"), "{body}");
    let err = dh.stderr_with("non-allowed host");
    assert!(err.contains("non-allowed host"), "{err}");
}

#[test]
fn graceful_shutdown_finishes_in_flight_requests() {
    let (_app, mut dh) = start_probe(&[], &[]);
    // The signal comes 1.5 s into a 4 s request: on a loaded machine the request must
    // have reached devhost by then, and it still has 2.5 s to run after the signal.
    let url = dh.url("/sleep?ms=4000");
    let inflight = std::thread::spawn(move || {
        let r = client().get(url).send().unwrap();
        (r.status().as_u16(), r.text().unwrap())
    });
    std::thread::sleep(Duration::from_millis(1500));
    dh.signal(libc::SIGTERM);
    let (s, body) = inflight.join().unwrap();
    assert_eq!((s, body.as_str()), (200, "slept 4000"));
    let deadline = Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(st) = dh.child.try_wait().unwrap() {
            break st;
        }
        assert!(
            Instant::now() < deadline,
            "devhost did not exit after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status}");
}

#[test]
fn warm_cache_startup_is_fast() {
    let (_app, first) = start_probe(&[], &[]);
    drop(first);
    let (_app, dh) = start_probe(&[], &[]);
    eprintln!("devhost startup with a warm cache: {:?}", dh.startup);
    assert!(dh.startup < Duration::from_secs(5), "{:?}", dh.startup);
}

// ---------------------------------------------------------------- PostgreSQL

struct TestDb {
    admin_url: String,
    name: String,
    url: String,
}

fn with_sslmode(url: &str) -> String {
    // The local test server's certificate (if any) is not for 127.0.0.1;
    // verification is the point of any other sslmode, so tests use plain TCP.
    if url.contains("sslmode=") {
        url.to_string()
    } else if url.contains('?') {
        format!("{url}&sslmode=disable")
    } else {
        format!("{url}?sslmode=disable")
    }
}

fn pg_exec(url: &str, sql: &str) -> Result<(), String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let (client, conn) = tokio::time::timeout(
            Duration::from_secs(3),
            tokio_postgres::connect(url, tokio_postgres::NoTls),
        )
        .await
        .map_err(|_| "connect timed out".to_string())?
        .map_err(|e| e.to_string())?;
        let handle = tokio::spawn(conn);
        let r = client.batch_execute(sql).await.map_err(|e| e.to_string());
        drop(client);
        let _ = handle.await;
        r
    })
}

impl TestDb {
    fn create() -> Option<TestDb> {
        let base = std::env::var("TEST_DATABASE_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        let admin_url = with_sslmode(&base);
        let name = unique("devhost_test").to_lowercase();
        if let Err(e) = pg_exec(&admin_url, &format!("CREATE DATABASE {name}")) {
            if std::env::var_os("CI").is_some() {
                panic!("PostgreSQL is unreachable and CI is set ({e}); set TEST_DATABASE_URL");
            }
            eprintln!("\n!!! SKIPPING PostgreSQL test: cannot use {base}: {e} !!!\n");
            return None;
        }
        // Swap the database name in the URL path.
        let (head, query) = admin_url.split_once('?').unwrap_or((&admin_url, ""));
        let head = match head.rfind('/') {
            Some(i) if i > "postgres://".len() => &head[..i],
            _ => head,
        };
        let url = format!("{head}/{name}?{query}");
        Some(TestDb {
            admin_url,
            name,
            url,
        })
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let _ = pg_exec(
            &self.admin_url,
            &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
        );
    }
}

fn pg(dh: &Devhost, db: &TestDb, steps: Value) -> Value {
    dh.post_json("/pg", &json!({"address": db.url, "steps": steps}))
}

#[test]
fn postgres_round_trips() {
    let Some(db) = TestDb::create() else { return };
    // The zero-row query at the end is answered correctly only without Spin's defects.
    let (_app, dh) = start_probe(&["--spin-compat=off"], &[]);
    let r = pg(
        &dh,
        &db,
        json!([
            {"op": "execute", "sql": "CREATE TABLE t (
                i4 INT4, i8 INT8, s TEXT, b BOOL, n NUMERIC(10,2), ts TIMESTAMP, nul TEXT)"},
            {"op": "execute", "sql": "INSERT INTO t VALUES ($1, $2, $3, $4, $5, $6, $7)",
             "params": [["int4", -42], ["int8", 9007199254740993i64], ["text", "héllo"],
                        ["bool", true], ["decimal", "12.345"],
                        ["datetime", [2024, 2, 29, 13, 14, 15, 123456000]], ["null"]]},
            {"op": "query", "sql": "SELECT i4, i8, s, b, n, ts, nul FROM t"},
            {"op": "query", "sql": "SELECT i4 FROM t WHERE s = $1", "params": [["text", "nobody"]]},
        ]),
    );
    let res = &r["results"];
    assert_eq!(res[1], json!({"affected": 1}), "{r}");
    assert_eq!(
        res[2]["rows"][0],
        json!([
            "DbValue::Int32(-42)",
            "DbValue::Int64(9007199254740993)",
            "DbValue::Str(\"héllo\")",
            "DbValue::Boolean(true)",
            "DbValue::Decimal(\"12.35\")",
            "DbValue::Datetime((2024, 2, 29, 13, 14, 15, 123456000))",
            "DbValue::DbNull"
        ]),
        "{r}"
    );
    assert_eq!(
        res[2]["columns"],
        json!([
            ["i4", "DbDataType::Int32"],
            ["i8", "DbDataType::Int64"],
            ["s", "DbDataType::Str"],
            ["b", "DbDataType::Boolean"],
            ["n", "DbDataType::Decimal"],
            ["ts", "DbDataType::Datetime"],
            ["nul", "DbDataType::Str"]
        ])
    );
    assert_eq!(res[3], json!({"columns": [], "rows": []}));
}

/// Statements are prepared once per pooled connection; a cached one must never serve a
/// stale shape: after `ALTER TABLE` the same text sees the new column, and after the
/// guest drops every prepared statement (`DEALLOCATE ALL`) the text still runs.
#[test]
fn postgres_statement_cache_follows_schema_changes() {
    let Some(db) = TestDb::create() else { return };
    let (_app, dh) = start_probe(&[], &[]);
    let r = pg(
        &dh,
        &db,
        json!([
            {"op": "execute", "sql": "CREATE TABLE c (a INT4)"},
            {"op": "execute", "sql": "INSERT INTO c VALUES ($1)", "params": [["int4", 7]]},
            {"op": "query", "sql": "SELECT * FROM c"},
            {"op": "execute", "sql": "ALTER TABLE c ADD COLUMN b TEXT DEFAULT 'x'"},
            {"op": "query", "sql": "SELECT * FROM c"},
            {"op": "execute", "sql": "DEALLOCATE ALL"},
            {"op": "query", "sql": "SELECT * FROM c"},
            {"op": "execute", "sql": "INSERT INTO c VALUES ($1)", "params": [["int4", 8]]},
        ]),
    );
    let res = &r["results"];
    assert_eq!(res[2]["rows"], json!([["DbValue::Int32(7)"]]), "{r}");
    let two_columns = json!([["DbValue::Int32(7)", "DbValue::Str(\"x\")"]]);
    assert_eq!(res[4]["rows"], two_columns, "{r}");
    assert_eq!(res[6]["rows"], two_columns, "{r}");
    assert_eq!(res[7], json!({"affected": 1}), "{r}");
}

#[test]
fn postgres_timestamptz_fails_like_spin() {
    let Some(db) = TestDb::create() else { return };
    let (_app, dh) = start_probe(&[], &[]);
    let r = pg(
        &dh,
        &db,
        json!([
            {"op": "execute", "sql": "CREATE TABLE e (at TIMESTAMPTZ)"},
            // A unix `timestamp` parameter binds to timestamptz...
            {"op": "execute", "sql": "INSERT INTO e VALUES ($1)", "params": [["timestamp", 1700000000]]},
            // ...a `datetime` parameter does not...
            {"op": "execute", "sql": "INSERT INTO e VALUES ($1)",
             "params": [["datetime", [2024, 1, 2, 3, 4, 5, 0]]]},
            // ...and reading timestamptz fails, while converting in SQL works.
            {"op": "query", "sql": "SELECT at FROM e"},
            {"op": "query", "sql": "SELECT at AT TIME ZONE 'UTC' AS at FROM e"},
        ]),
    );
    let res = &r["results"];
    assert_eq!(res[1], json!({"affected": 1}), "{r}");
    let bind_err = res[2]["error"].as_str().unwrap_or_default();
    assert!(
        bind_err.starts_with("Error::QueryFailed(QueryError::Text("),
        "{r}"
    );
    assert!(
        bind_err.contains("NaiveDateTime") && bind_err.contains("Timestamptz"),
        "{r}"
    );
    let read_err = res[3]["error"].as_str().unwrap_or_default();
    assert!(
        read_err.starts_with("Error::QueryFailed(QueryError::Text("),
        "{r}"
    );
    assert!(
        read_err.contains("cannot convert between the Rust type")
            && read_err.contains("NaiveDateTime")
            && read_err.contains("the Postgres type `timestamptz`"),
        "{r}"
    );
    assert_eq!(
        res[4]["rows"][0],
        json!(["DbValue::Datetime((2023, 11, 14, 22, 13, 20, 0))"]),
        "{r}"
    );
}

#[test]
fn postgres_errors_surface_sqlstate() {
    let Some(db) = TestDb::create() else { return };
    let (_app, dh) = start_probe(&[], &[]);
    let r = pg(
        &dh,
        &db,
        json!([
            {"op": "execute", "sql": "CREATE TABLE u (name TEXT CONSTRAINT u_name_key UNIQUE)"},
            {"op": "execute", "sql": "INSERT INTO u VALUES ('a')"},
            {"op": "execute", "sql": "INSERT INTO u VALUES ('a')"},
            {"op": "execute", "sql": "BEGIN"},
            {"op": "execute", "sql": "SELECT nonsense FROM nowhere"},
            {"op": "execute", "sql": "ROLLBACK"},
            {"op": "execute", "sql": "INSERT INTO u VALUES ($1)", "params": [["decimal", "not-a-number"]]},
        ]),
    );
    let res = &r["results"];
    assert_eq!(res[2]["code"], "23505", "{r}");
    assert_eq!(res[2]["severity"], "ERROR");
    assert!(
        res[2]["message"].as_str().unwrap().contains("u_name_key"),
        "{r}"
    );
    assert!(
        res[2]["detail"].as_str().unwrap().contains("(name)=(a)"),
        "{r}"
    );
    let extras = res[2]["extras"].as_array().unwrap();
    assert!(extras.contains(&json!(["constraint", "u_name_key"])), "{r}");
    assert!(extras.contains(&json!(["table", "u"])), "{r}");
    assert_eq!(res[4]["code"], "42P01", "{r}");
    assert!(
        res[6]["error"]
            .as_str()
            .unwrap()
            .starts_with("Error::ValueConversionFailed("),
        "{r}"
    );

    // Not in allowed_outbound_hosts → connection-failed "not permitted".
    let r = dh.post_json("/locked/pg", &json!({"address": db.url, "steps": []}));
    let err = r["open_error"].as_str().unwrap();
    assert!(
        err.starts_with("Error::ConnectionFailed(") && err.contains("is not permitted"),
        "{r}"
    );

    // Nothing listening: a quick connection-failed, no credentials in it.
    let started = Instant::now();
    let r = dh.post_json(
        "/pg",
        &json!({"address": "postgres://user:hunter2@127.0.0.1:1/db?sslmode=disable", "steps": []}),
    );
    let err = r["open_error"].as_str().unwrap();
    assert!(err.starts_with("Error::ConnectionFailed("), "{r}");
    assert!(!err.contains("hunter2"), "{r}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn postgres_pool_resets_session_state() {
    let Some(db) = TestDb::create() else { return };
    let (_app, dh) = start_probe(&[], &[]);
    // Session state set by one request must not leak into the next one that
    // reuses the pooled connection (RecyclingMethod::Clean).
    pg(
        &dh,
        &db,
        json!([{"op": "execute", "sql": "SET application_name = 'leaky'"}]),
    );
    let r = pg(
        &dh,
        &db,
        json!([{"op": "query", "sql": "SELECT current_setting('application_name')"}]),
    );
    assert_ne!(
        r["results"][0]["rows"][0][0], "DbValue::Str(\"leaky\")",
        "{r}"
    );
}

// --- Spin's known defects (`--spin-compat strict`, the default) ----------------------

/// Spin 4.0.0 – 4.0.2 never answer a pg `query` with no rows; devhost traps the
/// instance instead, so the request fails at once and the log says why.
#[test]
fn spin_compat_zero_row_postgres_query_traps() {
    let Some(db) = TestDb::create() else { return };
    let (_app, dh) = start_probe(&[], &[]);
    let r = pg(
        &dh,
        &db,
        json!([
            {"op": "execute", "sql": "CREATE TABLE t (x INT)"},
            {"op": "execute", "sql": "INSERT INTO t VALUES (1)"},
            {"op": "query", "sql": "SELECT x FROM t"},
        ]),
    );
    assert_eq!(
        r["results"][2]["rows"],
        json!([["DbValue::Int32(1)"]]),
        "{r}"
    );
    let response = client()
        .post(dh.url("/pg"))
        .json(&json!({"address": db.url, "steps": [
            {"op": "query", "sql": "SELECT x FROM t WHERE x = $1", "params": [["int4", 2]]},
        ]}))
        .send()
        .expect("POST /pg");
    assert_eq!(response.status().as_u16(), 500);
    let log = dh.stderr_with("zero rows");
    assert!(log.contains("spinframework/spin#3671"), "{log}");
    // Statements without rows to return (`execute`) are not affected.
    let r = pg(
        &dh,
        &db,
        json!([{"op": "execute", "sql": "DELETE FROM t WHERE x = 2"}]),
    );
    assert_eq!(r["results"][0], json!({"affected": 0}), "{r}");
}

/// Spin's Redis store sends `get-many` as `KEYS k1 k2 …`, which Redis refuses.
#[test]
fn spin_compat_redis_get_many_fails_like_spin() {
    let Some(url) = redis_url() else { return };
    let app = AppDir::new(PROBE_MANIFEST);
    let rc = app.write(
        "rc.toml",
        &format!("[key_value_store.default]\ntype = \"redis\"\nurl = \"{url}\"\n"),
    );
    let dh = Devhost::start(
        &app,
        &["--runtime-config-file", rc.to_str().unwrap()],
        &[("SPIN_VARIABLE_API_KEY", "k")],
    );
    let key = format!("{}:a", unique("devhost"));
    let r = dh.post_json(
        "/kv",
        &json!({"steps": [
            {"op": "increment", "key": key},
            {"op": "get_many", "keys": [key, format!("{key}-missing")]},
            {"op": "get", "key": key},
            {"op": "delete", "key": key},
        ]}),
    );
    let error = r["results"][1]["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("wrong number of arguments for 'keys' command"),
        "{r}"
    );
    assert_eq!(r["results"][2], json!({"value": "1"}), "{r}");
}

/// Runs `current`, a competing write, then `swap`, and reports what the swap said and
/// what the key holds afterwards.
fn cas_race(dh: &Devhost, key: &str, seed: Option<&str>) -> (Value, Value) {
    let mut steps = vec![json!({"op": "delete", "key": key})];
    if let Some(seed) = seed {
        steps.push(json!({"op": "set", "key": key, "value": seed}));
    }
    steps.extend([
        json!({"op": "cas_new", "key": key}),
        json!({"op": "cas_current"}),
        json!({"op": "set", "key": key, "value": "rival"}),
        json!({"op": "cas_swap", "value": "mine"}),
        json!({"op": "get", "key": key}),
        json!({"op": "delete", "key": key}),
    ]);
    let r = dh.post_json("/kv", &json!({ "steps": steps }));
    let results = r["results"].as_array().unwrap().clone();
    let n = results.len();
    (results[n - 3].clone(), results[n - 2]["value"].clone())
}

/// Spin's SQLite store compares only a value that `current` saw: a key that was missing
/// is overwritten whatever was written since. A seen value is compared.
#[test]
fn spin_compat_sqlite_cas_does_not_compare_a_missing_key() {
    let (_app, dh) = start_probe(&[], &[]);
    assert_eq!(
        cas_race(&dh, "cas-missing", None),
        (json!({"swapped": true}), json!("mine"))
    );
    assert_eq!(
        cas_race(&dh, "cas-seen", Some("old")),
        (json!({"swapped": false}), json!("rival"))
    );
    // Without the defects, both races are lost.
    let (_app, dh) = start_probe(&["--spin-compat", "off"], &[]);
    assert_eq!(
        cas_race(&dh, "cas-missing", None),
        (json!({"swapped": false}), json!("rival"))
    );
}

/// Spin's Redis store reports a swap whose WATCH aborted the transaction as a success,
/// though nothing was written.
#[test]
fn spin_compat_redis_cas_reports_a_lost_race_as_success() {
    let Some(url) = redis_url() else { return };
    let app = AppDir::new(PROBE_MANIFEST);
    let rc = app.write(
        "rc.toml",
        &format!("[key_value_store.default]\ntype = \"redis\"\nurl = \"{url}\"\n"),
    );
    let rc = rc.to_str().unwrap();
    let key = format!("{}:cas", unique("devhost"));
    let dh = Devhost::start(
        &app,
        &["--runtime-config-file", rc],
        &[("SPIN_VARIABLE_API_KEY", "k")],
    );
    for seed in [None, Some("old")] {
        assert_eq!(
            cas_race(&dh, &key, seed),
            (json!({"swapped": true}), json!("rival")),
            "seed {seed:?}"
        );
    }
    drop(dh);
    let dh = Devhost::start(
        &app,
        &["--runtime-config-file", rc, "--spin-compat", "off"],
        &[("SPIN_VARIABLE_API_KEY", "k")],
    );
    assert_eq!(
        cas_race(&dh, &key, Some("old")),
        (json!({"swapped": false}), json!("rival"))
    );
}

/// Spin 3.6 and 4.0 return a server error raised while a `query`'s rows stream in (here
/// a unique violation of `INSERT … RETURNING`) as text, not as a structured `DbError`;
/// errors before the rows (a missing table) stay structured.
#[test]
fn spin_compat_streamed_query_errors_are_text() {
    let Some(db) = TestDb::create() else { return };
    let steps = json!([
        {"op": "execute", "sql": "CREATE TABLE u (name TEXT CONSTRAINT u_name_key UNIQUE)"},
        {"op": "query", "sql": "INSERT INTO u VALUES ('a') RETURNING name"},
        {"op": "query", "sql": "INSERT INTO u VALUES ('a') RETURNING name"},
        {"op": "query", "sql": "SELECT nonsense FROM nowhere"},
        {"op": "execute", "sql": "DROP TABLE u"},
    ]);
    let (_app, dh) = start_probe(&[], &[]);
    let r = pg(&dh, &db, steps.clone());
    let res = &r["results"];
    let text = res[2]["error"].as_str().unwrap_or_default();
    assert!(
        text.starts_with("Error::QueryFailed(QueryError::Text("),
        "{r}"
    );
    assert!(text.contains("SqlState(E23505)"), "{r}");
    assert!(text.contains("u_name_key"), "{r}");
    assert_eq!(res[3]["code"], "42P01", "{r}");
    let (_app, dh) = start_probe(&["--spin-compat", "off"], &[]);
    let r = pg(&dh, &db, steps);
    assert_eq!(r["results"][2]["code"], "23505", "{r}");
}
