//! The key-value stores (`wasi:keyvalue`):
//! - `default`, shared by every replica (Redis in production; a SQLite file locally):
//!   login throttling, whose counters must add up across instances and replicas.
//! - `metrics`, this process's own memory (`type = "spin"` without a `path`): request
//!   metrics. A per-request write to a shared or durable store costs a network round
//!   trip or a disk sync on every request (≈ 1 ms on Spin's SQLite store); in memory it
//!   costs neither. Each replica serves its own counters and Prometheus sums the pods
//!   (see docs/performance.md).
//!
//! Counters use `atomics::increment`.

use spin_sdk::wit::wasi::keyvalue::{atomics, store};

/// The store of login throttling (shared by replicas).
pub const SHARED_STORE: &str = "default";
/// The store of request metrics (this process's memory).
pub const METRICS_STORE: &str = "metrics";

pub struct Kv(store::Bucket);

fn describe(error: store::Error) -> String {
    match error {
        store::Error::NoSuchStore => "no such key-value store".into(),
        store::Error::AccessDenied => "key-value store access denied".into(),
        store::Error::Other(message) => message,
    }
}

impl Kv {
    /// The shared store (`default`).
    pub fn open() -> Result<Kv, String> {
        store::open(SHARED_STORE).map(Kv).map_err(describe)
    }

    /// This process's metrics store (`metrics`).
    pub fn open_metrics() -> Result<Kv, String> {
        store::open(METRICS_STORE).map(Kv).map_err(describe)
    }

    /// Adds `delta` and returns the new value (a missing key counts as 0).
    pub fn increment(&self, key: &str, delta: i64) -> Result<i64, String> {
        atomics::increment(&self.0, key, delta).map_err(describe)
    }

    /// The values of many counters, in the order of `keys`; missing keys read as 0.
    ///
    /// One `get` per key, never `batch::get_many`: Spin's Redis store implements
    /// `get_many` as `KEYS k1 k2 …`, which Redis rejects (every Spin release so far),
    /// while `get` is right on every store.
    pub fn counters(&self, keys: &[String]) -> Result<Vec<i64>, String> {
        keys.iter()
            .map(|key| {
                let value = self.0.get(key).map_err(describe)?;
                Ok(value.map_or(0, |bytes| decode_counter(&bytes)))
            })
            .collect()
    }

    /// Every key starting with `prefix`.
    pub fn keys(&self, prefix: &str) -> Result<Vec<String>, String> {
        let mut keys = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let page = self.0.list_keys(cursor.as_deref()).map_err(describe)?;
            keys.extend(page.keys.into_iter().filter(|k| k.starts_with(prefix)));
            match page.cursor {
                Some(next) if Some(&next) != cursor.as_ref() => cursor = Some(next),
                _ => return Ok(keys),
            }
        }
    }

    /// Checks the store answers (for the detailed health check).
    pub fn ping(&self) -> Result<(), String> {
        self.0.exists("health/ping").map(|_| ()).map_err(describe)
    }
}

/// The login-throttling rule's view of the store.
impl identity::throttle::CounterStore for Kv {
    fn increment(&self, key: &str, delta: i64) -> Result<i64, String> {
        Kv::increment(self, key, delta)
    }

    fn counters(&self, keys: &[String]) -> Result<Vec<i64>, String> {
        Kv::counters(self, keys)
    }
}

/// A counter as `increment` stored it: decimal text on Redis, an 8-byte little-endian
/// integer on Spin's SQLite store. The two cannot be confused for counter-sized values
/// (8 ASCII digits as little-endian bytes would be above 3.4e18). Unreadable values
/// count as 0.
fn decode_counter(bytes: &[u8]) -> i64 {
    if let Some(n) = std::str::from_utf8(bytes).ok().and_then(|t| t.parse().ok()) {
        return n;
    }
    bytes.try_into().map_or(0, i64::from_le_bytes)
}

#[cfg(test)]
mod tests {
    use super::decode_counter;

    #[test]
    fn counters_decode_from_both_backends() {
        assert_eq!(decode_counter(b"5"), 5);
        assert_eq!(decode_counter(b"-2"), -2);
        assert_eq!(decode_counter(b"12345678"), 12_345_678);
        assert_eq!(decode_counter(&5i64.to_le_bytes()), 5);
        assert_eq!(decode_counter(&(-1i64).to_le_bytes()), -1);
        assert_eq!(decode_counter(b"junk"), 0);
        assert_eq!(decode_counter(b""), 0);
    }
}
