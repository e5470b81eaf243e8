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

/// One request series: the key of its counter is `requests/` followed by these fields.
/// Statements per request are few (0 to 3 here), so carrying the count in the key
/// multiplies the series by a small bounded factor and saves a third increment.
#[derive(Debug, PartialEq)]
struct RequestSeries<'a> {
    method: &'a str,
    status: &'a str,
    /// Index into `BUCKETS` (`BUCKETS.len()` is `+Inf`).
    bucket: usize,
    /// Statements each request of this series ran.
    queries: u64,
    /// Last, since a route template contains `/`.
    route: &'a str,
}

impl<'a> RequestSeries<'a> {
    fn key(&self) -> String {
        let RequestSeries {
            method,
            status,
            bucket,
            queries,
            route,
        } = self;
        format!("{PREFIX}requests/{method}/{status}/{bucket}/{queries}/{route}")
    }

    /// The fields of a key's tail after `requests/`; `None` for anything malformed.
    fn parse(tail: &'a str) -> Option<RequestSeries<'a>> {
        let mut parts = tail.splitn(5, '/');
        let series = RequestSeries {
            method: parts.next()?,
            status: parts.next()?,
            bucket: parts.next()?.parse().ok()?,
            queries: parts.next()?.parse().ok()?,
            route: parts.next()?,
        };
        (series.bucket <= BUCKETS.len()).then_some(series)
    }
}

/// Counts one request with 2 increments (each a host call): its series' counter — from
/// which `http_requests_total`, the histogram buckets and `database_queries_total` are
/// summed at scrape time — and the route's latency sum. Buckets are stored
/// non-cumulative; `render` accumulates them.
pub fn record(
    kv: &Kv,
    method: &str,
    route: &str,
    status: u16,
    seconds: f64,
    db_queries: u64,
) -> Result<(), String> {
    let method = method_label(method);
    let series = RequestSeries {
        method,
        status: &status.to_string(),
        bucket: BUCKETS
            .iter()
            .position(|le| seconds <= *le)
            .unwrap_or(BUCKETS.len()),
        queries: db_queries,
        route,
    };
    kv.increment(&series.key(), 1)?;
    let micros = (seconds * 1e6).round() as i64;
    kv.increment(&format!("{PREFIX}duration_sum/{method}/{route}"), micros)?;
    Ok(())
}

#[derive(Default)]
struct Histogram {
    buckets: [i64; BUCKETS.len() + 1],
    sum_micros: i64,
}

/// The Prometheus text exposition (version 0.0.4) of every counter in the store.
pub fn render(kv: &Kv) -> Result<String, String> {
    let keys = kv.keys(PREFIX)?;
    let values = kv.counters(&keys)?;
    Ok(exposition(keys.iter().map(String::as_str).zip(values)))
}

/// The exposition of counters read from the store, as (key, value) pairs.
fn exposition<'k>(counters: impl IntoIterator<Item = (&'k str, i64)>) -> String {
    let mut requests: BTreeMap<(String, String, String), i64> = BTreeMap::new();
    let mut histograms: BTreeMap<(String, String), Histogram> = BTreeMap::new();
    let mut db_queries = 0;
    let mut throttle_unavailable = 0;
    for (key, value) in counters {
        let Some(rest) = key.strip_prefix(PREFIX) else {
            continue;
        };
        let (kind, tail) = rest.split_once('/').unwrap_or((rest, ""));
        match kind {
            "requests" => {
                if let Some(series) = RequestSeries::parse(tail) {
                    let (route, method) = (series.route.to_string(), series.method.to_string());
                    *requests
                        .entry((route.clone(), method.clone(), series.status.into()))
                        .or_default() += value;
                    histograms.entry((route, method)).or_default().buckets[series.bucket] += value;
                    let queries = i64::try_from(series.queries).unwrap_or(i64::MAX);
                    db_queries += value.saturating_mul(queries);
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
    out
}

fn escape(label: &str) -> String {
    label
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_series_key_reads_back_as_written() {
        let series = RequestSeries {
            method: "GET",
            status: "200",
            bucket: 3,
            queries: 1,
            route: "/api/v1/cars/{car_id}",
        };
        let key = series.key();
        assert_eq!(key, "metrics/requests/GET/200/3/1//api/v1/cars/{car_id}");
        let tail = key.strip_prefix("metrics/requests/").unwrap();
        assert_eq!(RequestSeries::parse(tail), Some(series));
    }

    #[test]
    fn statements_are_counted_per_request_of_each_series() {
        let text = exposition([
            ("metrics/requests/GET/200/0/0//health_check", 7),
            ("metrics/requests/GET/200/1/1//api/v1/cars/{car_id}", 5),
            ("metrics/requests/POST/201/2/2//api/v1/cars/", 3),
            ("metrics/duration_sum/GET//health_check", 700),
        ]);
        assert!(text.contains("database_queries_total 11\n"), "{text}");
        assert!(
            text.contains(
                "http_requests_total{method=\"GET\",route=\"/health_check\",status=\"200\"} 7\n"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "http_request_duration_seconds_sum{method=\"GET\",route=\"/health_check\"} 0.0007\n"
            ),
            "{text}"
        );
    }

    #[test]
    fn malformed_series_keys_are_skipped() {
        for tail in [
            "GET/200/3//health_check",    // no statement count
            "GET/200/12/0//health_check", // bucket past +Inf
            "GET/200/x/0//health_check",
            "GET/200/3/-1//health_check",
            "GET/200",
        ] {
            assert_eq!(RequestSeries::parse(tail), None, "{tail}");
        }
    }
}
