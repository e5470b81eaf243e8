//! [`RedisLease`]: a Redis database of one test app's own (`E2E_KEY_VALUE=redis`), so
//! counters never mix between tests.

use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

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
    pub(crate) fn take() -> RedisLease {
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
