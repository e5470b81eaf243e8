//! `spin:postgres/postgres@4.0.0` on tokio-postgres behind deadpool, following
//! Spin's factor-outbound-pg: one pool per address (64 connections,
//! `RecyclingMethod::Clean`), the same type mapping in both directions and the
//! same error variants, failures included.
//!
//! Unlike Spin, every wait is bounded (connect, pool wait, recycle) so that a
//! database outage fails a request quickly instead of hanging it.

use std::collections::HashMap;
use std::error::Error as _;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, anyhow};
use bytes::BytesMut;
use deadpool_postgres::{ManagerConfig, Pool, PoolError, RecyclingMethod, Runtime};
use postgres_types::{FromSql, IsNull, ToSql, Type, to_sql_checked};
use tokio_postgres::Row;
use tokio_postgres::config::SslMode;

use crate::bindings::spin::postgres4_0_0::postgres::{
    self as v4, Column, DbDataType, DbError, DbValue, ParameterValue, QueryError, RangeBoundKind,
    RowSet,
};
use crate::state::HostState;

const POOL_SIZE: usize = 64;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
const POOL_WAIT_TIMEOUT: Duration = Duration::from_secs(3);

/// A guest's `connection`: a pooled client that returns to its pool on drop.
pub struct PgConnection {
    client: deadpool_postgres::Object,
}

/// Named statements kept per pooled connection; past this many the cache is emptied, so
/// a guest that builds many distinct SQL texts cannot grow the server's memory.
const STATEMENT_CACHE_LIMIT: usize = 256;

impl PgConnection {
    /// The statement, prepared once per pooled connection. Executing a named statement
    /// is one round trip, where `Client::query(&str, ..)` (and Spin) prepares an unnamed
    /// one first on every call: two. Parameter types are still the server's inference,
    /// so conversions succeed and fail exactly as they would unprepared.
    async fn prepared(
        &self,
        sql: &str,
    ) -> Result<tokio_postgres::Statement, tokio_postgres::Error> {
        let cache = &self.client.statement_cache;
        if cache.size() >= STATEMENT_CACHE_LIMIT {
            cache.clear();
        }
        self.client.prepare_cached(sql).await
    }

    /// Runs `sql`; a cached statement the server no longer accepts (the schema changed
    /// under it: "cached plan must not change result type") is prepared afresh once.
    /// Says whether a failure came before the rows (preparing, binding) or while they
    /// streamed in (the statement's own execution), since Spin reports the two apart.
    async fn query(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, QueryFailure> {
        match self.query_once(sql, params).await {
            Err(QueryFailure::BeforeRows(e)) if is_stale_plan(&e) => {
                self.client.statement_cache.remove(sql, &[]);
                self.query_once(sql, params).await
            }
            other => other,
        }
    }

    async fn query_once(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, QueryFailure> {
        use futures::TryStreamExt;
        let statement = self.prepared(sql).await.map_err(QueryFailure::BeforeRows)?;
        let rows = self
            .client
            .query_raw(&statement, params.iter().copied())
            .await
            .map_err(QueryFailure::BeforeRows)?;
        rows.try_collect()
            .await
            .map_err(QueryFailure::WhileStreaming)
    }

    async fn execute(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<u64, tokio_postgres::Error> {
        let statement = self.prepared(sql).await?;
        match self.client.execute(&statement, params).await {
            Err(e) if is_stale_plan(&e) => {
                self.client.statement_cache.remove(sql, &[]);
                let statement = self.prepared(sql).await?;
                self.client.execute(&statement, params).await
            }
            other => other,
        }
    }
}

/// Where a `query` failed (see [`PgConnection::query`]).
enum QueryFailure {
    BeforeRows(tokio_postgres::Error),
    WhileStreaming(tokio_postgres::Error),
}

fn is_stale_plan(e: &tokio_postgres::Error) -> bool {
    e.code() == Some(&tokio_postgres::error::SqlState::FEATURE_NOT_SUPPORTED)
        || e.code() == Some(&tokio_postgres::error::SqlState::INVALID_SQL_STATEMENT_NAME)
}

/// Pools shared by every instance of every component, keyed by address.
#[derive(Default)]
pub struct PgPools {
    pools: Mutex<HashMap<String, Pool>>,
}

impl PgPools {
    fn pool(&self, address: &str) -> Result<Pool, String> {
        let mut pools = self.pools.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(p) = pools.get(address) {
            return Ok(p.clone());
        }
        let pool = create_pool(address)?;
        pools.insert(address.to_string(), pool.clone());
        Ok(pool)
    }

    async fn get(&self, address: &str) -> Result<deadpool_postgres::Object, String> {
        let pool = self.pool(address)?;
        pool.get().await.map_err(describe_pool_error)
    }
}

fn create_pool(address: &str) -> Result<Pool, String> {
    let mut config: tokio_postgres::Config = address
        .parse()
        .map_err(|e: tokio_postgres::Error| format!("invalid PostgreSQL address: {e}"))?;
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(CONNECT_TIMEOUT);
    }
    let mgr_config = ManagerConfig {
        recycling_method: RecyclingMethod::Clean,
    };
    let manager = if config.get_ssl_mode() == SslMode::Disable {
        deadpool_postgres::Manager::from_config(config, tokio_postgres::NoTls, mgr_config)
    } else {
        deadpool_postgres::Manager::from_config(config, tls_connector(), mgr_config)
    };
    Pool::builder(manager)
        .max_size(POOL_SIZE)
        .runtime(Runtime::Tokio1)
        .wait_timeout(Some(POOL_WAIT_TIMEOUT))
        .create_timeout(Some(CONNECT_TIMEOUT))
        .recycle_timeout(Some(CONNECT_TIMEOUT))
        .build()
        .map_err(|e| format!("cannot build PostgreSQL pool: {e}"))
}

/// rustls verifying against the system roots, plus the webpki roots so a
/// machine without a CA bundle can still reach public managed databases.
fn tls_connector() -> tokio_postgres_rustls::MakeRustlsConnect {
    static CONFIG: std::sync::OnceLock<rustls::ClientConfig> = std::sync::OnceLock::new();
    let config = CONFIG.get_or_init(|| {
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        for cert in rustls_native_certs::load_native_certs().certs {
            let _ = roots.add(cert);
        }
        rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("ring supports the default TLS versions")
        .with_root_certificates(roots)
        .with_no_client_auth()
    });
    tokio_postgres_rustls::MakeRustlsConnect::new(config.clone())
}

/// A short, credential-free description of why no connection could be had.
fn describe_pool_error(e: PoolError) -> String {
    match e {
        PoolError::Timeout(kind) => format!(
            "timed out waiting for a PostgreSQL connection ({kind:?} after {}s)",
            POOL_WAIT_TIMEOUT.as_secs()
        ),
        PoolError::Backend(e) => describe_pg_error(&e),
        PoolError::Closed => "PostgreSQL connection pool is closed".into(),
        other => format!("PostgreSQL connection failed: {other}"),
    }
}

fn describe_pg_error(e: &tokio_postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        return format!("{}: {} ({})", db.severity(), db.message(), db.code().code());
    }
    let mut msg = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        source = s.source();
    }
    msg
}

/// Checks `address` against the component's `allowed_outbound_hosts` exactly
/// as Spin does: every host in the connection string must be allowed.
/// (The error is the WIT variant itself, returned straight to the guest.)
#[allow(clippy::result_large_err)]
fn ensure_allowed(state: &HostState, address: &str) -> Result<(), v4::Error> {
    let config: tokio_postgres::Config = address
        .parse()
        .map_err(|e: tokio_postgres::Error| v4::Error::ConnectionFailed(e.to_string()))?;
    let ports = config.get_ports();
    for (i, host) in config.get_hosts().iter().enumerate() {
        match host {
            tokio_postgres::config::Host::Tcp(h) => {
                let port = ports
                    .get(i)
                    .or_else(|| (ports.len() == 1).then(|| &ports[0]))
                    .copied();
                if !state.component.allowed_hosts.allows("postgres", h, port) {
                    let port = port.map(|p| format!(":{p}")).unwrap_or_default();
                    return Err(v4::Error::ConnectionFailed(format!(
                        "address postgres://{h}{port} is not permitted"
                    )));
                }
            }
            #[cfg(unix)]
            tokio_postgres::config::Host::Unix(_) => {
                return Err(v4::Error::ConnectionFailed(
                    "Unix sockets are not supported on WebAssembly".into(),
                ));
            }
        }
    }
    Ok(())
}

impl v4::HostConnection for HostState {
    async fn open(
        &mut self,
        address: String,
    ) -> wasmtime::Result<Result<wasmtime::component::Resource<PgConnection>, v4::Error>> {
        if let Err(e) = ensure_allowed(self, &address) {
            return Ok(Err(e));
        }
        let client = match self.services.pg.get(&address).await {
            Ok(c) => c,
            Err(msg) => return Ok(Err(v4::Error::ConnectionFailed(msg))),
        };
        Ok(Ok(self.table.push(PgConnection { client })?))
    }

    async fn query(
        &mut self,
        conn: wasmtime::component::Resource<PgConnection>,
        statement: String,
        params: Vec<ParameterValue>,
    ) -> wasmtime::Result<Result<RowSet, v4::Error>> {
        let conn = self.table.get(&conn)?;
        let params = match params
            .iter()
            .map(to_sql)
            .collect::<anyhow::Result<Vec<_>>>()
        {
            Ok(p) => p,
            Err(e) => return Ok(Err(v4::Error::BadParameter(error_chain_text(&e)))),
        };
        let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|b| b.as_ref() as _).collect();
        let rows = match conn.query(&statement, &refs).await {
            Ok(r) => r,
            Err(QueryFailure::BeforeRows(e)) => return Ok(Err(query_failed(e))),
            // Spin 3.6 and 4.0 turn an error raised while the rows stream in into text
            // (4.0: the Debug form of the structured error; see `compat`).
            Err(QueryFailure::WhileStreaming(e)) if self.services.compat.strict() => {
                let text = format!("{:?}", query_failed(e));
                return Ok(Err(v4::Error::QueryFailed(QueryError::Text(text))));
            }
            Err(QueryFailure::WhileStreaming(e)) => return Ok(Err(query_failed(e))),
        };
        let Some(first) = rows.first() else {
            if self.services.compat.strict() {
                eprintln!(
                    "devhost: ERROR in component {}: {}",
                    self.component.id,
                    crate::compat::ZERO_ROW_QUERY
                );
                return Err(wasmtime::Error::msg(crate::compat::ZERO_ROW_QUERY));
            }
            return Ok(Ok(RowSet {
                columns: vec![],
                rows: vec![],
            }));
        };
        let columns = first
            .columns()
            .iter()
            .map(|c| Column {
                name: c.name().to_string(),
                data_type: data_type(c.type_()),
            })
            .collect();
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            match convert_row(row) {
                Ok(r) => out.push(r),
                Err(e) => {
                    return Ok(Err(v4::Error::QueryFailed(QueryError::Text(
                        error_chain_text(&e),
                    ))));
                }
            }
        }
        Ok(Ok(RowSet { columns, rows: out }))
    }

    async fn execute(
        &mut self,
        conn: wasmtime::component::Resource<PgConnection>,
        statement: String,
        params: Vec<ParameterValue>,
    ) -> wasmtime::Result<Result<u64, v4::Error>> {
        let conn = self.table.get(&conn)?;
        let params = match params
            .iter()
            .map(to_sql)
            .collect::<anyhow::Result<Vec<_>>>()
        {
            Ok(p) => p,
            Err(e) => return Ok(Err(v4::Error::ValueConversionFailed(error_chain_text(&e)))),
        };
        let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|b| b.as_ref() as _).collect();
        Ok(conn.execute(&statement, &refs).await.map_err(query_failed))
    }

    async fn drop(
        &mut self,
        conn: wasmtime::component::Resource<PgConnection>,
    ) -> wasmtime::Result<()> {
        // Dropping the pooled object hands the connection back to its pool.
        self.table.delete(conn)?;
        Ok(())
    }
}

impl v4::Host for HostState {}

fn query_failed(e: tokio_postgres::Error) -> v4::Error {
    let as_text = format!("{e:?}");
    v4::Error::QueryFailed(match e.as_db_error() {
        None => QueryError::Text(as_text),
        Some(db) => {
            let mut extras = Vec::new();
            let mut add = |k: &str, v: Option<String>| {
                if let Some(v) = v {
                    extras.push((k.to_string(), v));
                }
            };
            add("column", db.column().map(str::to_string));
            add("constraint", db.constraint().map(str::to_string));
            add("routine", db.routine().map(str::to_string));
            add("hint", db.hint().map(str::to_string));
            add("table", db.table().map(str::to_string));
            add("datatype", db.datatype().map(str::to_string));
            add("schema", db.schema().map(str::to_string));
            add("file", db.file().map(str::to_string));
            add("line", db.line().map(|l| l.to_string()));
            add("where_", db.where_().map(str::to_string));
            QueryError::DbError(DbError {
                as_text,
                severity: db.severity().to_string(),
                code: db.code().code().to_string(),
                message: db.message().to_string(),
                detail: db.detail().map(str::to_string),
                extras,
            })
        }
    })
}

fn data_type(t: &Type) -> DbDataType {
    match *t {
        Type::BOOL => DbDataType::Boolean,
        Type::BYTEA => DbDataType::Binary,
        Type::FLOAT4 => DbDataType::Floating32,
        Type::FLOAT8 => DbDataType::Floating64,
        Type::INT2 => DbDataType::Int16,
        Type::INT4 => DbDataType::Int32,
        Type::INT8 => DbDataType::Int64,
        Type::TEXT | Type::VARCHAR | Type::BPCHAR => DbDataType::Str,
        Type::TIMESTAMP | Type::TIMESTAMPTZ => DbDataType::Datetime,
        Type::DATE => DbDataType::Date,
        Type::TIME => DbDataType::Time,
        Type::UUID => DbDataType::Uuid,
        Type::JSONB => DbDataType::Jsonb,
        Type::NUMERIC => DbDataType::Decimal,
        Type::INT4_RANGE => DbDataType::RangeInt32,
        Type::INT8_RANGE => DbDataType::RangeInt64,
        Type::NUM_RANGE => DbDataType::RangeDecimal,
        Type::INT4_ARRAY => DbDataType::ArrayInt32,
        Type::INT8_ARRAY => DbDataType::ArrayInt64,
        Type::NUMERIC_ARRAY => DbDataType::ArrayDecimal,
        Type::TEXT_ARRAY | Type::VARCHAR_ARRAY | Type::BPCHAR_ARRAY => DbDataType::ArrayStr,
        Type::INTERVAL => DbDataType::Interval,
        _ => DbDataType::Other(t.name().to_string()),
    }
}

fn convert_row(row: &Row) -> anyhow::Result<Vec<DbValue>> {
    (0..row.len()).map(|i| convert_value(row, i)).collect()
}

/// Spin reports a row conversion failure as the `Debug` text of an
/// `anyhow::Error` ("msg\n\nCaused by:\n    cause"); this produces the same
/// text without depending on whether a backtrace was captured.
fn error_chain_text(e: &anyhow::Error) -> String {
    let mut text = e.to_string();
    let causes: Vec<String> = e.chain().skip(1).map(|c| c.to_string()).collect();
    if !causes.is_empty() {
        text.push_str("\n\nCaused by:");
        for (i, c) in causes.iter().enumerate() {
            if causes.len() > 1 {
                text.push_str(&format!("\n    {i}: {c}"));
            } else {
                text.push_str(&format!("\n    {c}"));
            }
        }
    }
    text
}

/// Reads column `i` with the Rust type Spin uses for its Postgres type. The
/// types matter: asking for `NaiveDateTime` makes a `timestamptz` column fail
/// exactly as it does on Spin.
fn convert_value(row: &Row, i: usize) -> anyhow::Result<DbValue> {
    fn get<'a, T: FromSql<'a>>(
        row: &'a Row,
        i: usize,
        f: impl FnOnce(T) -> anyhow::Result<DbValue>,
    ) -> anyhow::Result<DbValue> {
        match row.try_get::<_, Option<T>>(i)? {
            Some(v) => f(v),
            None => Ok(DbValue::DbNull),
        }
    }
    use chrono::{Datelike, Timelike};
    let t = row.columns()[i].type_().clone();
    match t {
        Type::BOOL => get(row, i, |v: bool| Ok(DbValue::Boolean(v))),
        Type::BYTEA => get(row, i, |v: Vec<u8>| Ok(DbValue::Binary(v))),
        Type::FLOAT4 => get(row, i, |v: f32| Ok(DbValue::Floating32(v))),
        Type::FLOAT8 => get(row, i, |v: f64| Ok(DbValue::Floating64(v))),
        Type::INT2 => get(row, i, |v: i16| Ok(DbValue::Int16(v))),
        Type::INT4 => get(row, i, |v: i32| Ok(DbValue::Int32(v))),
        Type::INT8 => get(row, i, |v: i64| Ok(DbValue::Int64(v))),
        Type::TEXT | Type::VARCHAR | Type::BPCHAR => get(row, i, |v: String| Ok(DbValue::Str(v))),
        Type::TIMESTAMP | Type::TIMESTAMPTZ => get(row, i, |v: chrono::NaiveDateTime| {
            Ok(DbValue::Datetime((
                v.year(),
                v.month().try_into()?,
                v.day().try_into()?,
                v.hour().try_into()?,
                v.minute().try_into()?,
                v.second().try_into()?,
                v.nanosecond(),
            )))
        }),
        Type::DATE => get(row, i, |v: chrono::NaiveDate| {
            Ok(DbValue::Date((
                v.year(),
                v.month().try_into()?,
                v.day().try_into()?,
            )))
        }),
        Type::TIME => get(row, i, |v: chrono::NaiveTime| {
            Ok(DbValue::Time((
                v.hour().try_into()?,
                v.minute().try_into()?,
                v.second().try_into()?,
                v.nanosecond(),
            )))
        }),
        Type::UUID => get(row, i, |v: uuid::Uuid| Ok(DbValue::Uuid(v.to_string()))),
        Type::JSONB => get(row, i, |v: serde_json::Value| {
            Ok(DbValue::Jsonb(
                serde_json::to_vec(&v).context("invalid JSON from database")?,
            ))
        }),
        Type::NUMERIC => get(row, i, |v: rust_decimal::Decimal| {
            Ok(DbValue::Decimal(v.to_string()))
        }),
        Type::INT4_RANGE => get(row, i, |v: postgres_range::Range<i32>| {
            Ok(DbValue::RangeInt32(range_to_wit(&v, |x| *x)))
        }),
        Type::INT8_RANGE => get(row, i, |v: postgres_range::Range<i64>| {
            Ok(DbValue::RangeInt64(range_to_wit(&v, |x| *x)))
        }),
        Type::NUM_RANGE => get(row, i, |v: postgres_range::Range<RangeDecimal>| {
            Ok(DbValue::RangeDecimal(range_to_wit(&v, |d| d.0.to_string())))
        }),
        Type::INT4_ARRAY => get(row, i, |v: Vec<Option<i32>>| Ok(DbValue::ArrayInt32(v))),
        Type::INT8_ARRAY => get(row, i, |v: Vec<Option<i64>>| Ok(DbValue::ArrayInt64(v))),
        Type::NUMERIC_ARRAY => get(row, i, |v: Vec<Option<rust_decimal::Decimal>>| {
            Ok(DbValue::ArrayDecimal(
                v.into_iter().map(|d| d.map(|d| d.to_string())).collect(),
            ))
        }),
        Type::TEXT_ARRAY | Type::VARCHAR_ARRAY | Type::BPCHAR_ARRAY => {
            get(row, i, |v: Vec<Option<String>>| Ok(DbValue::ArrayStr(v)))
        }
        Type::INTERVAL => get(row, i, |v: Interval| Ok(DbValue::Interval(v.0))),
        _ => get(row, i, |v: Raw| Ok(DbValue::Unsupported(v.0))),
    }
}

type WitBound<T> = Option<(T, RangeBoundKind)>;

fn range_to_wit<T: PartialOrd + postgres_range::Normalizable, W>(
    r: &postgres_range::Range<T>,
    f: impl Fn(&T) -> W,
) -> (WitBound<W>, WitBound<W>) {
    let kind = |t: postgres_range::BoundType| match t {
        postgres_range::BoundType::Inclusive => RangeBoundKind::Inclusive,
        postgres_range::BoundType::Exclusive => RangeBoundKind::Exclusive,
    };
    (
        r.lower().map(|b| (f(&b.value), kind(b.type_))),
        r.upper().map(|b| (f(&b.value), kind(b.type_))),
    )
}

fn range_from_wit<T: PartialOrd + postgres_range::Normalizable>(
    (lower, upper): (WitBound<T>, WitBound<T>),
) -> postgres_range::Range<T> {
    let kind = |k: RangeBoundKind| match k {
        RangeBoundKind::Inclusive => postgres_range::BoundType::Inclusive,
        RangeBoundKind::Exclusive => postgres_range::BoundType::Exclusive,
    };
    postgres_range::Range::new(
        lower.map(|(v, k)| postgres_range::RangeBound::new(v, kind(k))),
        upper.map(|(v, k)| postgres_range::RangeBound::new(v, kind(k))),
    )
}

fn decimal(s: &str) -> anyhow::Result<rust_decimal::Decimal> {
    rust_decimal::Decimal::from_str_exact(s).with_context(|| format!("invalid decimal {s}"))
}

/// Converts a guest parameter to the Rust type Spin binds it as. The choice of
/// type decides which Postgres column types accept it (e.g. a `datetime` is a
/// `NaiveDateTime` and so cannot be bound to `timestamptz`).
fn to_sql(p: &ParameterValue) -> anyhow::Result<Box<dyn ToSql + Send + Sync>> {
    Ok(match p {
        ParameterValue::Boolean(v) => Box::new(*v),
        ParameterValue::Int8(v) => Box::new(*v),
        ParameterValue::Int16(v) => Box::new(*v),
        ParameterValue::Int32(v) => Box::new(*v),
        ParameterValue::Int64(v) => Box::new(*v),
        ParameterValue::Floating32(v) => Box::new(*v),
        ParameterValue::Floating64(v) => Box::new(*v),
        ParameterValue::Str(v) => Box::new(v.clone()),
        ParameterValue::Binary(v) => Box::new(v.clone()),
        ParameterValue::Date((y, m, d)) => Box::new(
            chrono::NaiveDate::from_ymd_opt(*y, (*m).into(), (*d).into())
                .ok_or_else(|| anyhow!("invalid date y={y}, m={m}, d={d}"))?,
        ),
        ParameterValue::Time((h, mi, s, ns)) => Box::new(
            chrono::NaiveTime::from_hms_nano_opt((*h).into(), (*mi).into(), (*s).into(), *ns)
                .ok_or_else(|| anyhow!("invalid time {h}:{mi}:{s}:{ns}"))?,
        ),
        ParameterValue::Datetime((y, mo, d, h, mi, s, ns)) => {
            let date = chrono::NaiveDate::from_ymd_opt(*y, (*mo).into(), (*d).into())
                .ok_or_else(|| anyhow!("invalid date y={y}, m={mo}, d={d}"))?;
            let time =
                chrono::NaiveTime::from_hms_nano_opt((*h).into(), (*mi).into(), (*s).into(), *ns)
                    .ok_or_else(|| anyhow!("invalid time {h}:{mi}:{s}:{ns}"))?;
            Box::new(chrono::NaiveDateTime::new(date, time))
        }
        ParameterValue::Timestamp(v) => Box::new(
            chrono::DateTime::<chrono::Utc>::from_timestamp(*v, 0)
                .ok_or_else(|| anyhow!("invalid epoch timestamp {v}"))?,
        ),
        ParameterValue::Uuid(v) => {
            Box::new(uuid::Uuid::parse_str(v).with_context(|| format!("invalid UUID {v}"))?)
        }
        ParameterValue::Jsonb(v) => Box::new(
            serde_json::from_slice::<serde_json::Value>(v)
                .with_context(|| format!("invalid JSON {}", String::from_utf8_lossy(v)))?,
        ),
        ParameterValue::Decimal(v) => Box::new(decimal(v)?),
        ParameterValue::RangeInt32(r) => Box::new(range_from_wit(*r)),
        ParameterValue::RangeInt64(r) => Box::new(range_from_wit(*r)),
        ParameterValue::RangeDecimal((lo, hi)) => {
            let conv = |b: &WitBound<String>| -> anyhow::Result<WitBound<RangeDecimal>> {
                b.as_ref()
                    .map(|(v, k)| Ok((RangeDecimal(decimal(v)?), *k)))
                    .transpose()
            };
            Box::new(range_from_wit((conv(lo)?, conv(hi)?)))
        }
        ParameterValue::ArrayInt32(v) => Box::new(v.clone()),
        ParameterValue::ArrayInt64(v) => Box::new(v.clone()),
        ParameterValue::ArrayDecimal(v) => Box::new(
            v.iter()
                .map(|d| d.as_deref().map(decimal).transpose())
                .collect::<anyhow::Result<Vec<_>>>()?,
        ),
        ParameterValue::ArrayStr(v) => Box::new(v.clone()),
        ParameterValue::Interval(v) => Box::new(Interval(*v)),
        ParameterValue::DbNull => Box::new(Null),
    })
}

/// NULL of whatever type the server expects for the parameter.
#[derive(Debug)]
struct Null;

impl ToSql for Null {
    fn to_sql(
        &self,
        _: &Type,
        _: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        Ok(IsNull::Yes)
    }
    fn accepts(_: &Type) -> bool {
        true
    }
    to_sql_checked!();
}

/// The raw binary value of a column whose type Spin does not map.
struct Raw(Vec<u8>);

impl<'a> FromSql<'a> for Raw {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(Raw(raw.to_vec()))
    }
    fn accepts(_: &Type) -> bool {
        true
    }
}

/// INTERVAL in Postgres' binary format: microseconds, days, months.
#[derive(Debug)]
struct Interval(v4::Interval);

impl<'a> FromSql<'a> for Interval {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        if raw.len() != 16 {
            return Err("invalid interval length".into());
        }
        let micros = i64::from_be_bytes(raw[0..8].try_into()?);
        let days = i32::from_be_bytes(raw[8..12].try_into()?);
        let months = i32::from_be_bytes(raw[12..16].try_into()?);
        Ok(Interval(v4::Interval {
            micros,
            days,
            months,
        }))
    }
    fn accepts(t: &Type) -> bool {
        *t == Type::INTERVAL
    }
}

impl ToSql for Interval {
    fn to_sql(
        &self,
        _: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        out.extend_from_slice(&self.0.micros.to_be_bytes());
        out.extend_from_slice(&self.0.days.to_be_bytes());
        out.extend_from_slice(&self.0.months.to_be_bytes());
        Ok(IsNull::No)
    }
    fn accepts(t: &Type) -> bool {
        *t == Type::INTERVAL
    }
    to_sql_checked!();
}

/// `rust_decimal::Decimal` made usable as a range element (NUMRANGE is continuous,
/// so bounds are kept as given).
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
struct RangeDecimal(rust_decimal::Decimal);

impl postgres_range::Normalizable for RangeDecimal {
    fn normalize<S: postgres_range::BoundSided>(
        bound: postgres_range::RangeBound<S, Self>,
    ) -> postgres_range::RangeBound<S, Self> {
        bound
    }
}

impl<'a> FromSql<'a> for RangeDecimal {
    fn from_sql(t: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(RangeDecimal(rust_decimal::Decimal::from_sql(t, raw)?))
    }
    fn accepts(t: &Type) -> bool {
        <rust_decimal::Decimal as FromSql>::accepts(t)
    }
}

impl ToSql for RangeDecimal {
    fn to_sql(
        &self,
        t: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        self.0.to_sql(t, out)
    }
    fn accepts(t: &Type) -> bool {
        <rust_decimal::Decimal as ToSql>::accepts(t)
    }
    to_sql_checked!();
}
