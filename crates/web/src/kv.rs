//! The key-value store (`wasi:keyvalue`, store `default`): Spin's SQLite store locally,
//! Redis in production. Counters use `atomics::increment`, so they add up across
//! components, instances and replicas.

use spin_sdk::wit::wasi::keyvalue::{atomics, store};

pub struct Kv(store::Bucket);

fn describe(error: store::Error) -> String {
    match error {
        store::Error::NoSuchStore => "no such key-value store".into(),
        store::Error::AccessDenied => "key-value store access denied".into(),
        store::Error::Other(message) => message,
    }
}

impl Kv {
    pub fn open() -> Result<Kv, String> {
        store::open("default").map(Kv).map_err(describe)
    }

    /// Adds `delta` and returns the new value (a missing key counts as 0).
    pub fn increment(&self, key: &str, delta: i64) -> Result<i64, String> {
        atomics::increment(&self.0, key, delta).map_err(describe)
    }

    /// A counter's value. Read through `increment(0)` because backends store counters
    /// differently (Redis as decimal text, Spin's SQLite store as raw integers).
    pub fn counter(&self, key: &str) -> Result<i64, String> {
        self.increment(key, 0)
    }

    /// Replaces the value of `key` with what `change` makes of the current one, atomically:
    /// a compare-and-swap, tried again while other writers get in between. `change`
    /// returns the new value (`None` writes nothing) and the result to hand back.
    /// `Ok(None)` when `tries` attempts all lost the race.
    pub fn compare_and_swap<T>(
        &self,
        key: &str,
        tries: usize,
        mut change: impl FnMut(Option<&[u8]>) -> (Option<Vec<u8>>, T),
    ) -> Result<Option<T>, String> {
        for _ in 0..tries {
            let cas = atomics::Cas::new(&self.0, key).map_err(describe)?;
            let current = cas.current().map_err(describe)?;
            let (next, result) = change(current.as_deref());
            let Some(next) = next else {
                return Ok(Some(result));
            };
            match atomics::swap(cas, &next) {
                Ok(()) => return Ok(Some(result)),
                Err(atomics::CasError::CasFailed(_)) => continue,
                Err(atomics::CasError::StoreError(error)) => return Err(describe(error)),
            }
        }
        Ok(None)
    }

    pub fn delete(&self, key: &str) -> Result<(), String> {
        self.0.delete(key).map_err(describe)
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
