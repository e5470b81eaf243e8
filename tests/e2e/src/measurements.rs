//! Readings the reliability tests take: whether a process is alive, which process serves
//! a port, its resident memory, and latency percentiles.

use std::path::Path;
use std::time::Duration;

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

/// Whether process `pid` exists (has a `/proc` entry).
pub fn alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

/// The `p`-th percentile (0..=100, nearest rank) of `v` (sorted in place).
pub fn percentile(v: &mut [Duration], p: f64) -> Duration {
    if v.is_empty() {
        return Duration::ZERO;
    }
    v.sort();
    let rank = ((p / 100.0) * v.len() as f64).ceil() as usize;
    v[rank.clamp(1, v.len()) - 1]
}
