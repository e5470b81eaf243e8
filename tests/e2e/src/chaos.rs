//! Helpers for the reliability tests (`tests/reliability*.rs`): a private, throw-away
//! PostgreSQL cluster that a test may stop and start at will, raw-socket clients that
//! misbehave on purpose, process memory readings, and small statistics.
//!
//! The private cluster never touches the shared server at `$TEST_DATABASE_URL`: it is
//! `initdb`'d into a temp dir, listens on a free loopback port with its socket in that
//! dir, and is stopped (`-m immediate`) and deleted when dropped.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::target_dir;

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
    let bin = std::env::var_os("MIGRATOR_BIN")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| target_dir().join("release/migrator"));
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
// Processes
// ------------------------------------------------------------------------------------

/// The pid of the process whose command line has `--listen 127.0.0.1:<port>` (the app
/// under test; the harness keeps its `Child` private).
pub fn pid_listening_on(port: u16) -> Option<u32> {
    let needle = format!("127.0.0.1:{port}");
    for e in std::fs::read_dir("/proc").ok()?.flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(e.path().join("cmdline")) else {
            continue;
        };
        let args: Vec<String> = cmdline
            .split(|b| *b == 0)
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        if args
            .windows(2)
            .any(|w| w[0] == "--listen" && w[1] == needle)
        {
            return Some(pid);
        }
    }
    None
}

/// Resident memory of `pid` in KiB (`VmRSS`).
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}

pub fn alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

// ------------------------------------------------------------------------------------
// Raw sockets (blocking; run them on threads or `spawn_blocking`)
// ------------------------------------------------------------------------------------

/// A connection to the app with read/write timeouts.
pub fn connect(port: u16, timeout: Duration) -> std::io::Result<TcpStream> {
    let s = TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), timeout)?;
    s.set_read_timeout(Some(timeout))?;
    s.set_write_timeout(Some(timeout))?;
    s.set_nodelay(true)?;
    Ok(s)
}

/// What the server did with a connection that misbehaved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// It answered: status line code.
    Answered(u16),
    /// It closed (EOF or reset) without an answer.
    Closed,
    /// Still open and silent when we gave up.
    StillOpen,
}

/// Reads until a status line or EOF; `Answered(code)`, `Closed` or `StillOpen` (read
/// timed out). The stream's read timeout bounds each read.
pub fn read_outcome(s: &mut TcpStream, deadline: Instant) -> Outcome {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(code) = status_code(&buf) {
            return Outcome::Answered(code);
        }
        if Instant::now() >= deadline {
            return Outcome::StillOpen;
        }
        match s.read(&mut chunk) {
            Ok(0) => {
                return match status_code(&buf) {
                    Some(c) => Outcome::Answered(c),
                    None => Outcome::Closed,
                };
            }
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                continue;
            }
            Err(_) => return Outcome::Closed,
        }
    }
}

fn status_code(buf: &[u8]) -> Option<u16> {
    let line_end = buf.windows(2).position(|w| w == b"\r\n")?;
    let line = std::str::from_utf8(&buf[..line_end]).ok()?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Sends `data` one byte every `gap` until `deadline`, the data runs out, or the server
/// stops accepting bytes. Returns how many bytes went out.
pub fn trickle(s: &mut TcpStream, data: &[u8], gap: Duration, deadline: Instant) -> usize {
    let mut sent = 0;
    for b in data {
        if Instant::now() >= deadline {
            break;
        }
        if s.write_all(&[*b]).and_then(|_| s.flush()).is_err() {
            break;
        }
        sent += 1;
        std::thread::sleep(gap);
    }
    sent
}

// ------------------------------------------------------------------------------------
// Statistics
// ------------------------------------------------------------------------------------

/// The `p`-th percentile (0..=100, nearest rank) of `v` (sorted in place).
pub fn percentile(v: &mut [Duration], p: f64) -> Duration {
    if v.is_empty() {
        return Duration::ZERO;
    }
    v.sort();
    let rank = ((p / 100.0) * v.len() as f64).ceil() as usize;
    v[rank.clamp(1, v.len()) - 1]
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
