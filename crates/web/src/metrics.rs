//! Prometheus metrics kept as counters in this process's in-memory key-value store
//! (`metrics`, see `kv`): every component of the process adds to the same series, and
//! each replica exposes its own, which Prometheus scrapes per pod and sums. Labels are
//! bounded: `route` is a route template (one shared label for unknown paths), `method`
//! one of a fixed set.

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::kv::Kv;

/// Upper bounds of the latency histogram, in seconds.
pub const BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The `route` label of a request that matched no route.
pub const UNMATCHED_ROUTE: &str = "unmatched";

const PREFIX: &str = "metrics/";

/// Logins refused because the throttling counters could not be used (the rule fails
/// closed); rendered as `login_throttle_unavailable_total`.
pub const THROTTLE_UNAVAILABLE_KEY: &str = "metrics/throttle_unavailable";

/// Methods outside this set share one label, so a client cannot grow the series.
pub fn method_label(method: &str) -> &'static str {
    match method {
        "GET" => "GET",
        "POST" => "POST",
        "PUT" => "PUT",
        "DELETE" => "DELETE",
        "PATCH" => "PATCH",
        "HEAD" => "HEAD",
        "OPTIONS" => "OPTIONS",
        _ => "OTHER",
    }
}

/// Counts one request with 2 increments (3 when it used the database): one counter per
/// (method, status, latency bucket, route) — from which both `http_requests_total` and
/// the histogram buckets are summed at scrape time — and the route's latency sum.
/// Buckets are stored non-cumulative; `render` accumulates them.
pub fn record(
    kv: &Kv,
    method: &str,
    route: &str,
    status: u16,
    seconds: f64,
    db_queries: u64,
) -> Result<(), String> {
    let method = method_label(method);
    let bucket = BUCKETS
        .iter()
        .position(|le| seconds <= *le)
        .unwrap_or(BUCKETS.len());
    kv.increment(
        &format!("{PREFIX}requests/{method}/{status}/{bucket}/{route}"),
        1,
    )?;
    let micros = (seconds * 1e6).round() as i64;
    kv.increment(&format!("{PREFIX}duration_sum/{method}/{route}"), micros)?;
    if db_queries > 0 {
        kv.increment(&format!("{PREFIX}db_queries"), db_queries as i64)?;
    }
    Ok(())
}

#[derive(Default)]
struct Histogram {
    buckets: [i64; BUCKETS.len() + 1],
    sum_micros: i64,
}

/// The Prometheus text exposition (version 0.0.4) of every counter in the store.
pub fn render(kv: &Kv) -> Result<String, String> {
    let mut requests: BTreeMap<(String, String, String), i64> = BTreeMap::new();
    let mut histograms: BTreeMap<(String, String), Histogram> = BTreeMap::new();
    let mut db_queries = 0;
    let mut throttle_unavailable = 0;
    let keys = kv.keys(PREFIX)?;
    let values = kv.counters(&keys)?;
    for (key, value) in keys.iter().zip(values) {
        let rest = &key[PREFIX.len()..];
        let (kind, tail) = rest.split_once('/').unwrap_or((rest, ""));
        match kind {
            "requests" => {
                let mut parts = tail.splitn(4, '/');
                if let (Some(method), Some(status), Some(bucket), Some(route)) =
                    (parts.next(), parts.next(), parts.next(), parts.next())
                    && let Ok(bucket) = bucket.parse::<usize>()
                    && bucket <= BUCKETS.len()
                {
                    *requests
                        .entry((route.into(), method.into(), status.into()))
                        .or_default() += value;
                    histograms
                        .entry((route.into(), method.into()))
                        .or_default()
                        .buckets[bucket] += value;
                }
            }
            "duration_sum" => {
                let mut parts = tail.splitn(2, '/');
                if let (Some(method), Some(route)) = (parts.next(), parts.next()) {
                    histograms
                        .entry((route.into(), method.into()))
                        .or_default()
                        .sum_micros += value;
                }
            }
            "db_queries" => db_queries = value,
            "throttle_unavailable" => throttle_unavailable = value,
            _ => {}
        }
    }

    let mut out = String::new();
    out.push_str(
        "# HELP http_requests_total Total HTTP requests by method, route template and status.\n",
    );
    out.push_str("# TYPE http_requests_total counter\n");
    for ((route, method, status), count) in &requests {
        let _ = writeln!(
            out,
            "http_requests_total{{method=\"{method}\",route=\"{}\",status=\"{status}\"}} {count}",
            escape(route)
        );
    }
    out.push_str(
        "# HELP http_request_duration_seconds HTTP request latency by method and route template.\n",
    );
    out.push_str("# TYPE http_request_duration_seconds histogram\n");
    for ((route, method), histogram) in &histograms {
        let labels = format!("method=\"{method}\",route=\"{}\"", escape(route));
        let mut cumulative = 0;
        for (i, le) in BUCKETS.iter().enumerate() {
            cumulative += histogram.buckets[i];
            let _ = writeln!(
                out,
                "http_request_duration_seconds_bucket{{{labels},le=\"{le}\"}} {cumulative}"
            );
        }
        cumulative += histogram.buckets[BUCKETS.len()];
        let _ = writeln!(
            out,
            "http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {cumulative}"
        );
        let _ = writeln!(
            out,
            "http_request_duration_seconds_sum{{{labels}}} {}",
            histogram.sum_micros as f64 / 1e6
        );
        let _ = writeln!(
            out,
            "http_request_duration_seconds_count{{{labels}}} {cumulative}"
        );
    }
    out.push_str("# HELP database_queries_total Database statements run by the service.\n");
    out.push_str("# TYPE database_queries_total counter\n");
    let _ = writeln!(out, "database_queries_total {db_queries}");
    out.push_str(
        "# HELP login_throttle_unavailable_total Logins refused with 503 because the login-throttling counters could not be used.\n",
    );
    out.push_str("# TYPE login_throttle_unavailable_total counter\n");
    let _ = writeln!(
        out,
        "login_throttle_unavailable_total {throttle_unavailable}"
    );
    Ok(out)
}

fn escape(label: &str) -> String {
    label
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}
