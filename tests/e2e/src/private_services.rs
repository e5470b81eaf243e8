//! Services of one test's own, which it may stop and start at will: a throw-away
//! PostgreSQL cluster and a `redis-server`, with the helpers they need (a free port, the
//! PostgreSQL binaries, `migrator up`, a PostgreSQL client).
//!
//! The private cluster never touches the shared server at `$TEST_DATABASE_URL`: it is
//! `initdb`'d into a temp dir, listens on a free loopback port with its socket in that
//! dir, and is stopped (`-m immediate`) and deleted when dropped.

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::binaries::migrator_path;

// ------------------------------------------------------------------------------------
// A private PostgreSQL cluster
// ------------------------------------------------------------------------------------

/// The directory with `initdb`, `pg_ctl` and `postgres`: `$PG_BIN`, else the newest
/// `/usr/lib/postgresql/<v>/bin`, else whatever `pg_config --bindir` says.
pub fn pg_bin_dir() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("PG_BIN").filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(d));
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v = e.file_name().to_string_lossy().parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((v, bin))
        })
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return Some(bin);
    }
    let out = Command::new("pg_config").arg("--bindir").output().ok()?;
    let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    dir.join("initdb").is_file().then_some(dir)
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// A free loopback TCP port (probed by binding port 0).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("no free port")
}

/// A PostgreSQL cluster of this test alone. PostgreSQL refuses to run as root, so as
/// root the binaries run as the `postgres` user (`runuser -u postgres --`).
pub struct PrivatePg {
    bin: PathBuf,
    as_postgres: bool,
    dir: tempfile::TempDir,
    pub port: u16,
}

impl PrivatePg {
    /// `initdb` and start. `Err` says why it is impossible here (no binaries, no
    /// `postgres` user, …); the caller decides whether that skips or fails.
    pub fn start(extra_settings: &[&str]) -> Result<PrivatePg, String> {
        let bin = pg_bin_dir().ok_or("no PostgreSQL binaries (set PG_BIN)")?;
        let as_postgres = is_root();
        let dir = tempfile::Builder::new()
            .prefix("rel-pg-")
            .tempdir()
            .map_err(|e| e.to_string())?;
        if as_postgres {
            let st = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(dir.path())
                .status()
                .map_err(|e| e.to_string())?;
            if !st.success() {
                return Err("cannot chown the cluster dir to postgres".into());
            }
        }
        let pg = PrivatePg {
            bin,
            as_postgres,
            dir,
            port: free_port(),
        };
        let data = pg.data_dir();
        pg.run(
            "initdb",
            &[
                "-D",
                &data.display().to_string(),
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--no-sync",
            ],
        )?;
        // Settings: loopback only, socket in the temp dir, no fsync (the machine does not
        // crash in these tests; an immediate stop still goes through crash recovery).
        let mut conf = format!(
            "\nlisten_addresses = '127.0.0.1'\nport = {}\nunix_socket_directories = '{}'\n\
             fsync = off\nfull_page_writes = off\nlog_min_messages = warning\n",
            pg.port,
            pg.dir.path().display()
        );
        for s in extra_settings {
            conf.push_str(s);
            conf.push('\n');
        }
        let conf_path = data.join("postgresql.conf");
        let mut existing = std::fs::read_to_string(&conf_path).map_err(|e| e.to_string())?;
        existing.push_str(&conf);
        std::fs::write(&conf_path, existing).map_err(|e| e.to_string())?;
        pg.start_again()?;
        Ok(pg)
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn run(&self, tool: &str, args: &[&str]) -> Result<(), String> {
        let exe = self.bin.join(tool);
        let mut cmd = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&exe);
            c
        } else {
            Command::new(&exe)
        };
        let out = cmd
            .args(args)
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run {}: {e}", exe.display()))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "{tool} {args:?} failed ({}): {}{}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    }

    /// `pg_ctl start` and wait until it accepts connections.
    pub fn start_again(&self) -> Result<(), String> {
        let data = self.data_dir().display().to_string();
        let log = self.dir.path().join("server.log").display().to_string();
        self.run(
            "pg_ctl",
            &["-D", &data, "-l", &log, "-w", "-t", "60", "start"],
        )
    }

    /// `pg_ctl stop -m immediate`: the server dies at once, every connection breaks.
    pub fn stop_immediate(&self) -> Result<(), String> {
        let data = self.data_dir().display().to_string();
        self.run("pg_ctl", &["-D", &data, "-m", "immediate", "-w", "stop"])
    }

    /// A URL for database `db` as user `postgres`, plain TCP.
    pub fn url(&self, db: &str) -> String {
        format!(
            "postgres://postgres@127.0.0.1:{}/{db}?sslmode=disable",
            self.port
        )
    }

    /// `migrator up` on database `db`.
    pub fn migrate(&self, db: &str) -> Result<(), String> {
        migrate(&self.url(db))
    }

    /// A connection to database `db` (the connection task runs on the current runtime).
    pub async fn connect(&self, db: &str) -> Result<tokio_postgres::Client, String> {
        pg_client(&self.url(db)).await
    }
}

impl Drop for PrivatePg {
    fn drop(&mut self) {
        let _ = self.stop_immediate();
    }
}

/// `migrator up --database-url <url>` with the built migrator.
pub fn migrate(url: &str) -> Result<(), String> {
    let bin = migrator_path();
    let out = Command::new(&bin)
        .args(["up", "--database-url", url])
        .output()
        .map_err(|e| format!("cannot run {}: {e}", bin.display()))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "migrator up failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// A plain tokio-postgres client; the connection task runs on the current runtime.
pub async fn pg_client(url: &str) -> Result<tokio_postgres::Client, String> {
    let fut = tokio_postgres::connect(url, tokio_postgres::NoTls);
    let (client, conn) = tokio::time::timeout(Duration::from_secs(10), fut)
        .await
        .map_err(|_| "timed out connecting".to_string())?
        .map_err(|e| e.to_string())?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(client)
}

// ------------------------------------------------------------------------------------
// A private Redis
// ------------------------------------------------------------------------------------

/// A `redis-server` of this test alone (no persistence, free loopback port), so load
/// tests neither see nor pollute the keys of tests on the shared Redis. Killed on drop.
pub struct PrivateRedis {
    child: std::process::Child,
    pub port: u16,
}

impl PrivateRedis {
    pub fn start() -> Result<PrivateRedis, String> {
        let port = free_port();
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start redis-server: {e}"))?;
        let r = PrivateRedis { child, port };
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(10) {
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Ok(r);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err("redis-server did not come up".into())
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// A runtime config for `Options::runtime_config`: the app's SQLite file in the
    /// test dir, the key-value store in this Redis.
    pub fn runtime_config(&self) -> String {
        format!(
            "[sqlite_database.default]\ntype = \"spin\"\npath = \"{{tmp}}/app.db\"\n\n\
             [key_value_store.default]\ntype = \"redis\"\nurl = \"{}\"\n\n\
             [key_value_store.metrics]\ntype = \"spin\"\n",
            self.url()
        )
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
