//! Key-value stores: `wasi:keyvalue/{store,atomics,batch}@0.2.0-draft2` and the
//! older `fermyon:spin/key-value@2.0.0`, backed like Spin's: a SQLite file
//! (`spin_key_value` table, values as blobs, `increment` stored as a
//! little-endian i64) or Redis (`INCRBY`, so counters are decimal strings).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use rusqlite::OptionalExtension;
use wasmtime::component::Resource;

use crate::bindings::fermyon::spin2_0_0::key_value as spin_kv;
use crate::bindings::wasi::keyvalue::{atomics, batch, store};
use crate::runtime_config::{KvBackend, SqliteLocation};
use crate::state::HostState;

const REDIS_TIMEOUT: Duration = Duration::from_secs(3);

#[derive(Debug)]
pub enum KvError {
    NoSuchStore,
    AccessDenied,
    Other(String),
}

impl From<KvError> for store::Error {
    fn from(e: KvError) -> Self {
        match e {
            KvError::NoSuchStore => store::Error::NoSuchStore,
            KvError::AccessDenied => store::Error::AccessDenied,
            KvError::Other(m) => store::Error::Other(m),
        }
    }
}

impl From<KvError> for spin_kv::Error {
    fn from(e: KvError) -> Self {
        match e {
            KvError::NoSuchStore => spin_kv::Error::NoSuchStore,
            KvError::AccessDenied => spin_kv::Error::AccessDenied,
            KvError::Other(m) => spin_kv::Error::Other(m),
        }
    }
}

fn other(e: impl std::fmt::Display) -> KvError {
    KvError::Other(e.to_string())
}

/// One configured store (a runtime-config label).
pub enum KvStore {
    Sqlite {
        location: SqliteLocation,
        conn: OnceLock<Arc<Mutex<rusqlite::Connection>>>,
    },
    Redis {
        client: redis::Client,
        conn: tokio::sync::OnceCell<redis::aio::ConnectionManager>,
    },
}

pub type KvStores = BTreeMap<String, Arc<KvStore>>;

pub fn build_stores(config: &BTreeMap<String, KvBackend>) -> anyhow::Result<KvStores> {
    let mut out = BTreeMap::new();
    for (label, backend) in config {
        let store = match backend {
            KvBackend::Sqlite(location) => KvStore::Sqlite {
                location: location.clone(),
                conn: OnceLock::new(),
            },
            KvBackend::Redis { url } => KvStore::Redis {
                client: redis::Client::open(url.as_str()).map_err(|e| {
                    anyhow::anyhow!("[key_value_store.{label}]: invalid Redis url: {e}")
                })?,
                conn: tokio::sync::OnceCell::new(),
            },
        };
        out.insert(label.clone(), Arc::new(store));
    }
    Ok(out)
}

/// An open store as the guest holds it: which store, under which name.
pub struct Bucket {
    name: String,
    store: Arc<KvStore>,
}

/// A compare-and-swap handle: the value seen by `current`.
pub struct Cas {
    bucket_name: String,
    store: Arc<KvStore>,
    key: String,
    seen: Option<Option<Vec<u8>>>,
}

fn lock(c: &Mutex<rusqlite::Connection>) -> std::sync::MutexGuard<'_, rusqlite::Connection> {
    c.lock().unwrap_or_else(|p| p.into_inner())
}

enum Conn {
    Sqlite(Arc<Mutex<rusqlite::Connection>>),
    Redis(redis::aio::ConnectionManager),
}

impl KvStore {
    async fn conn(&self) -> Result<Conn, KvError> {
        match self {
            KvStore::Sqlite { location, conn } => {
                if let Some(c) = conn.get() {
                    return Ok(Conn::Sqlite(c.clone()));
                }
                let c = tokio::task::block_in_place(|| open_sqlite(location))?;
                Ok(Conn::Sqlite(
                    conn.get_or_init(|| Arc::new(Mutex::new(c))).clone(),
                ))
            }
            KvStore::Redis { client, conn } => {
                let c = conn
                    .get_or_try_init(|| async {
                        let cfg = redis::aio::ConnectionManagerConfig::new()
                            .set_connection_timeout(Some(REDIS_TIMEOUT))
                            .set_response_timeout(Some(REDIS_TIMEOUT))
                            .set_number_of_retries(1);
                        redis::aio::ConnectionManager::new_with_config(client.clone(), cfg).await
                    })
                    .await
                    .map_err(other)?;
                Ok(Conn::Redis(c.clone()))
            }
        }
    }
}

/// Checkpoints the write-ahead log of `path` once a second from a thread with its own
/// connection (`PASSIVE`: writers are never blocked). False if that connection cannot
/// be opened, in which case SQLite's automatic checkpoints stay on.
fn spawn_checkpointer(path: &std::path::Path) -> bool {
    let Ok(conn) = rusqlite::Connection::open(path) else {
        return false;
    };
    let _ = conn.busy_timeout(Duration::from_secs(5));
    std::thread::Builder::new()
        .name("kv-checkpoint".into())
        .spawn(move || {
            loop {
                std::thread::sleep(Duration::from_secs(1));
                if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
                    eprintln!("devhost: key-value checkpoint failed: {e}");
                }
            }
        })
        .is_ok()
}

fn open_sqlite(location: &SqliteLocation) -> Result<rusqlite::Connection, KvError> {
    let conn = match location {
        SqliteLocation::Memory => rusqlite::Connection::open_in_memory(),
        SqliteLocation::File(path) => {
            crate::sqlite::create_private_file(path).map_err(other)?;
            rusqlite::Connection::open(path)
        }
    }
    .map_err(other)?;
    conn.busy_timeout(Duration::from_secs(5)).map_err(other)?;
    // Every request increments counters here: a write-ahead log with NORMAL sync keeps
    // a commit at microseconds instead of an fsync (milliseconds) while staying
    // crash-safe; without it the store serialises the whole server behind the disk.
    if let SqliteLocation::File(path) = location {
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(other)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(other)?;
        // The only fsyncs left are the checkpoints that copy the log back into the
        // database; a background thread runs them, so no request ever waits on the disk.
        if spawn_checkpointer(path) {
            conn.pragma_update(None, "wal_autocheckpoint", 0)
                .map_err(other)?;
        }
    }
    conn.execute(
        "CREATE TABLE IF NOT EXISTS spin_key_value (
            store TEXT NOT NULL,
            key   TEXT NOT NULL,
            value BLOB NOT NULL,
            PRIMARY KEY (store, key)
        )",
        [],
    )
    .map_err(other)?;
    Ok(conn)
}

const SQL_GET: &str = "SELECT value FROM spin_key_value WHERE store = ?1 AND key = ?2";
const SQL_SET: &str = "INSERT INTO spin_key_value (store, key, value) VALUES (?1, ?2, ?3)
    ON CONFLICT(store, key) DO UPDATE SET value = excluded.value";
const SQL_DELETE: &str = "DELETE FROM spin_key_value WHERE store = ?1 AND key = ?2";

fn sqlite_get(
    c: &rusqlite::Connection,
    store: &str,
    key: &str,
) -> Result<Option<Vec<u8>>, KvError> {
    c.prepare_cached(SQL_GET)
        .and_then(|mut s| s.query_row([store, key], |r| r.get(0)).optional())
        .map_err(other)
}

fn sqlite_set(
    c: &rusqlite::Connection,
    store: &str,
    key: &str,
    value: &[u8],
) -> Result<(), KvError> {
    c.prepare_cached(SQL_SET)
        .and_then(|mut s| s.execute(rusqlite::params![store, key, value]))
        .map(drop)
        .map_err(other)
}

/// SQLite operations run on the calling worker thread: one takes microseconds (WAL, no
/// fsync: see `open_sqlite`), less than handing it to a blocking thread with
/// `block_in_place` would cost, and the connection's mutex is held only for that long.
impl Bucket {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        match self.store.conn().await? {
            Conn::Sqlite(c) => sqlite_get(&lock(&c), &self.name, key),
            Conn::Redis(mut c) => redis::cmd("GET")
                .arg(key)
                .query_async::<Option<Vec<u8>>>(&mut c)
                .await
                .map_err(other),
        }
    }

    async fn set(&self, key: &str, value: &[u8]) -> Result<(), KvError> {
        match self.store.conn().await? {
            Conn::Sqlite(c) => sqlite_set(&lock(&c), &self.name, key, value),
            Conn::Redis(mut c) => redis::cmd("SET")
                .arg(key)
                .arg(value)
                .query_async::<()>(&mut c)
                .await
                .map_err(other),
        }
    }

    async fn delete(&self, key: &str) -> Result<(), KvError> {
        match self.store.conn().await? {
            Conn::Sqlite(c) => lock(&c)
                .prepare_cached(SQL_DELETE)
                .and_then(|mut s| s.execute([&self.name, key]))
                .map(drop)
                .map_err(other),
            Conn::Redis(mut c) => redis::cmd("DEL")
                .arg(key)
                .query_async::<()>(&mut c)
                .await
                .map_err(other),
        }
    }

    async fn exists(&self, key: &str) -> Result<bool, KvError> {
        match self.store.conn().await? {
            Conn::Sqlite(c) => lock(&c)
                .prepare_cached("SELECT 1 FROM spin_key_value WHERE store = ?1 AND key = ?2")
                .and_then(|mut s| s.exists([&self.name, key]))
                .map_err(other),
            Conn::Redis(mut c) => redis::cmd("EXISTS")
                .arg(key)
                .query_async::<bool>(&mut c)
                .await
                .map_err(other),
        }
    }

    async fn keys(&self) -> Result<Vec<String>, KvError> {
        match self.store.conn().await? {
            Conn::Sqlite(c) => {
                let c = lock(&c);
                let mut s = c
                    .prepare_cached("SELECT key FROM spin_key_value WHERE store = ?1")
                    .map_err(other)?;
                let rows = s.query_map([&self.name], |r| r.get(0)).map_err(other)?;
                rows.collect::<Result<Vec<String>, _>>().map_err(other)
            }
            Conn::Redis(mut c) => redis::cmd("KEYS")
                .arg("*")
                .query_async::<Vec<String>>(&mut c)
                .await
                .map_err(other),
        }
    }

    /// Atomic add: a SQLite transaction under the shared connection's lock,
    /// or Redis `INCRBY`.
    async fn increment(&self, key: &str, delta: i64) -> Result<i64, KvError> {
        match self.store.conn().await? {
            Conn::Sqlite(c) => {
                let mut c = lock(&c);
                let tx = c.transaction().map_err(other)?;
                let current = match sqlite_get(&tx, &self.name, key)? {
                    None => 0,
                    Some(bytes) => {
                        let arr: [u8; 8] = bytes.as_slice().try_into().map_err(|_| {
                            KvError::Other(format!("value of key {key:?} is not an 8-byte integer"))
                        })?;
                        i64::from_le_bytes(arr)
                    }
                };
                let new = current
                    .checked_add(delta)
                    .ok_or_else(|| KvError::Other(format!("increment of key {key:?} overflows")))?;
                sqlite_set(&tx, &self.name, key, &new.to_le_bytes())?;
                tx.commit().map_err(other)?;
                Ok(new)
            }
            Conn::Redis(mut c) => redis::cmd("INCRBY")
                .arg(key)
                .arg(delta)
                .query_async::<i64>(&mut c)
                .await
                .map_err(other),
        }
    }

    /// Sets `key` to `value` only if it still holds `expected` (None = absent).
    async fn compare_and_swap(
        &self,
        key: &str,
        expected: Option<&[u8]>,
        value: &[u8],
    ) -> Result<bool, KvError> {
        match self.store.conn().await? {
            Conn::Sqlite(c) => {
                let mut c = lock(&c);
                let tx = c.transaction().map_err(other)?;
                let current = sqlite_get(&tx, &self.name, key)?;
                if current.as_deref() != expected {
                    return Ok(false);
                }
                sqlite_set(&tx, &self.name, key, value)?;
                tx.commit().map_err(other)?;
                Ok(true)
            }
            Conn::Redis(mut c) => {
                // One script, so the check and the write are atomic on the server.
                const SCRIPT: &str = "local cur = redis.call('GET', KEYS[1])
                    if ARGV[1] == '0' then
                        if cur then return 0 end
                    elseif cur ~= ARGV[2] then return 0 end
                    redis.call('SET', KEYS[1], ARGV[3]) return 1";
                redis::cmd("EVAL")
                    .arg(SCRIPT)
                    .arg(1)
                    .arg(key)
                    .arg(if expected.is_some() { "1" } else { "0" })
                    .arg(expected.unwrap_or_default())
                    .arg(value)
                    .query_async::<i64>(&mut c)
                    .await
                    .map(|n| n == 1)
                    .map_err(other)
            }
        }
    }
}

impl HostState {
    fn open_bucket(&mut self, name: &str) -> Result<Bucket, KvError> {
        if !self.component.key_value_stores.contains(name) {
            return Err(KvError::AccessDenied);
        }
        let store = self
            .services
            .kv
            .get(name)
            .cloned()
            .ok_or(KvError::NoSuchStore)?;
        Ok(Bucket {
            name: name.to_string(),
            store,
        })
    }
}

type WResult<T, E> = wasmtime::Result<Result<T, E>>;

impl store::Host for HostState {
    async fn open(&mut self, identifier: String) -> WResult<Resource<Bucket>, store::Error> {
        match self.open_bucket(&identifier) {
            Ok(b) => Ok(Ok(self.table.push(b)?)),
            Err(e) => Ok(Err(e.into())),
        }
    }
}

impl store::HostBucket for HostState {
    async fn get(
        &mut self,
        b: Resource<Bucket>,
        key: String,
    ) -> WResult<Option<Vec<u8>>, store::Error> {
        let b = self.table.get(&b)?;
        Ok(b.get(&key).await.map_err(Into::into))
    }

    async fn set(
        &mut self,
        b: Resource<Bucket>,
        key: String,
        value: Vec<u8>,
    ) -> WResult<(), store::Error> {
        let b = self.table.get(&b)?;
        Ok(b.set(&key, &value).await.map_err(Into::into))
    }

    async fn delete(&mut self, b: Resource<Bucket>, key: String) -> WResult<(), store::Error> {
        let b = self.table.get(&b)?;
        Ok(b.delete(&key).await.map_err(Into::into))
    }

    async fn exists(&mut self, b: Resource<Bucket>, key: String) -> WResult<bool, store::Error> {
        let b = self.table.get(&b)?;
        Ok(b.exists(&key).await.map_err(Into::into))
    }

    async fn list_keys(
        &mut self,
        b: Resource<Bucket>,
        _cursor: Option<String>,
    ) -> WResult<store::KeyResponse, store::Error> {
        // Like Spin: every key in one page, no cursor.
        let b = self.table.get(&b)?;
        Ok(b.keys()
            .await
            .map(|keys| store::KeyResponse { keys, cursor: None })
            .map_err(Into::into))
    }

    async fn drop(&mut self, b: Resource<Bucket>) -> wasmtime::Result<()> {
        self.table.delete(b)?;
        Ok(())
    }
}

impl atomics::Host for HostState {
    async fn increment(
        &mut self,
        b: Resource<Bucket>,
        key: String,
        delta: i64,
    ) -> WResult<i64, store::Error> {
        let b = self.table.get(&b)?;
        Ok(b.increment(&key, delta).await.map_err(Into::into))
    }

    async fn swap(&mut self, cas: Resource<Cas>, value: Vec<u8>) -> WResult<(), atomics::CasError> {
        let cas_ref = self.table.get(&cas)?;
        let bucket = Bucket {
            name: cas_ref.bucket_name.clone(),
            store: cas_ref.store.clone(),
        };
        let key = cas_ref.key.clone();
        if self.services.compat.strict() {
            return self.swap_like_spin(cas, bucket, key, value).await;
        }
        // Without a prior `current`, the value is read now, so the swap
        // succeeds unless someone writes in between.
        let expected = match &cas_ref.seen {
            Some(seen) => seen.clone(),
            None => match bucket.get(&key).await {
                Ok(v) => v,
                Err(e) => return Ok(Err(atomics::CasError::StoreError(e.into()))),
            },
        };
        match bucket
            .compare_and_swap(&key, expected.as_deref(), &value)
            .await
        {
            Ok(true) => {
                self.table.delete(cas)?;
                Ok(Ok(()))
            }
            Ok(false) => Ok(Err(atomics::CasError::CasFailed(cas))),
            Err(e) => Ok(Err(atomics::CasError::StoreError(e.into()))),
        }
    }
}

impl HostState {
    /// `swap` as Spin's stores do it (see `compat`): the SQLite store compares only a
    /// value `current` saw (a missing key, or no `current` at all, is overwritten
    /// unconditionally); the Redis store writes unconditionally without `current`, and
    /// after a lost race reports success although its transaction wrote nothing.
    async fn swap_like_spin(
        &mut self,
        cas: Resource<Cas>,
        bucket: Bucket,
        key: String,
        value: Vec<u8>,
    ) -> WResult<(), atomics::CasError> {
        let seen = self.table.get(&cas)?.seen.clone();
        let redis = matches!(*bucket.store, KvStore::Redis { .. });
        let outcome = match seen {
            Some(Some(expected)) => bucket
                .compare_and_swap(&key, Some(&expected), &value)
                .await
                .map(|swapped| swapped || redis),
            Some(None) if redis => bucket
                .compare_and_swap(&key, None, &value)
                .await
                .map(|_| true),
            _ => bucket.set(&key, &value).await.map(|()| true),
        };
        match outcome {
            Ok(true) => {
                self.table.delete(cas)?;
                Ok(Ok(()))
            }
            Ok(false) => Ok(Err(atomics::CasError::CasFailed(cas))),
            Err(e) => Ok(Err(atomics::CasError::StoreError(e.into()))),
        }
    }
}

impl atomics::HostCas for HostState {
    async fn new(
        &mut self,
        b: Resource<Bucket>,
        key: String,
    ) -> WResult<Resource<Cas>, store::Error> {
        let b = self.table.get(&b)?;
        let cas = Cas {
            bucket_name: b.name.clone(),
            store: b.store.clone(),
            key,
            seen: None,
        };
        Ok(Ok(self.table.push(cas)?))
    }

    async fn current(&mut self, cas: Resource<Cas>) -> WResult<Option<Vec<u8>>, store::Error> {
        let c = self.table.get(&cas)?;
        let bucket = Bucket {
            name: c.bucket_name.clone(),
            store: c.store.clone(),
        };
        let key = c.key.clone();
        match bucket.get(&key).await {
            Ok(v) => {
                self.table.get_mut(&cas)?.seen = Some(v.clone());
                Ok(Ok(v))
            }
            Err(e) => Ok(Err(e.into())),
        }
    }

    async fn drop(&mut self, cas: Resource<Cas>) -> wasmtime::Result<()> {
        self.table.delete(cas)?;
        Ok(())
    }
}

impl batch::Host for HostState {
    async fn get_many(
        &mut self,
        b: Resource<Bucket>,
        keys: Vec<String>,
    ) -> WResult<Vec<(String, Option<Vec<u8>>)>, store::Error> {
        let b = self.table.get(&b)?;
        if self.services.compat.strict() && matches!(*b.store, KvStore::Redis { .. }) {
            return Ok(Err(store::Error::Other(
                crate::compat::REDIS_GET_MANY.into(),
            )));
        }
        // Spin returns only the keys that exist.
        let mut out = Vec::new();
        for k in keys {
            match b.get(&k).await {
                Ok(Some(v)) => out.push((k, Some(v))),
                Ok(None) => {}
                Err(e) => return Ok(Err(e.into())),
            }
        }
        Ok(Ok(out))
    }

    async fn set_many(
        &mut self,
        b: Resource<Bucket>,
        key_values: Vec<(String, Vec<u8>)>,
    ) -> WResult<(), store::Error> {
        let b = self.table.get(&b)?;
        for (k, v) in key_values {
            if let Err(e) = b.set(&k, &v).await {
                return Ok(Err(e.into()));
            }
        }
        Ok(Ok(()))
    }

    async fn delete_many(
        &mut self,
        b: Resource<Bucket>,
        keys: Vec<String>,
    ) -> WResult<(), store::Error> {
        let b = self.table.get(&b)?;
        for k in keys {
            if let Err(e) = b.delete(&k).await {
                return Ok(Err(e.into()));
            }
        }
        Ok(Ok(()))
    }
}

impl spin_kv::HostStore for HostState {
    async fn open(&mut self, label: String) -> WResult<Resource<Bucket>, spin_kv::Error> {
        match self.open_bucket(&label) {
            Ok(b) => Ok(Ok(self.table.push(b)?)),
            Err(e) => Ok(Err(e.into())),
        }
    }

    async fn get(
        &mut self,
        b: Resource<Bucket>,
        key: String,
    ) -> WResult<Option<Vec<u8>>, spin_kv::Error> {
        let b = self.table.get(&b)?;
        Ok(b.get(&key).await.map_err(Into::into))
    }

    async fn set(
        &mut self,
        b: Resource<Bucket>,
        key: String,
        value: Vec<u8>,
    ) -> WResult<(), spin_kv::Error> {
        let b = self.table.get(&b)?;
        Ok(b.set(&key, &value).await.map_err(Into::into))
    }

    async fn delete(&mut self, b: Resource<Bucket>, key: String) -> WResult<(), spin_kv::Error> {
        let b = self.table.get(&b)?;
        Ok(b.delete(&key).await.map_err(Into::into))
    }

    async fn exists(&mut self, b: Resource<Bucket>, key: String) -> WResult<bool, spin_kv::Error> {
        let b = self.table.get(&b)?;
        Ok(b.exists(&key).await.map_err(Into::into))
    }

    async fn get_keys(&mut self, b: Resource<Bucket>) -> WResult<Vec<String>, spin_kv::Error> {
        let b = self.table.get(&b)?;
        Ok(b.keys().await.map_err(Into::into))
    }

    async fn drop(&mut self, b: Resource<Bucket>) -> wasmtime::Result<()> {
        self.table.delete(b)?;
        Ok(())
    }
}

impl spin_kv::Host for HostState {}
