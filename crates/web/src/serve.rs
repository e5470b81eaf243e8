//! The request pipeline every component runs: read → host check → CORS preflight →
//! body limit → route → handler → headers → log and metrics.

use std::time::Instant;

use futures::StreamExt;
use serde_json::json;
use spin_sdk::http::{IncomingRequest, Response};

use crate::HandlerResult;
use crate::api;
use crate::config::Settings;
use crate::context::Ctx;
use crate::error::ApiError;
use crate::http::{HttpRequest, HttpResponse, MAX_BODY_BYTES};
use crate::idempotency;
use crate::kv::Kv;
use crate::log::{Level, emit};
use crate::metrics::{self, UNMATCHED_ROUTE};
use crate::router::{Match, Route, find};

/// Headers every response carries, errors included.
const SECURITY_HEADERS: [(&str, &str); 4] = [
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("x-xss-protection", "1; mode=block"),
    (
        "strict-transport-security",
        "max-age=31536000; includeSubDomains",
    ),
];

/// Serves one request with a component's route table.
pub async fn serve(incoming: IncomingRequest, routes: &[Route]) -> Response {
    let started = Instant::now();
    let settings = Settings::load();
    let (request, too_large) = read_request(incoming).await;
    let request_id = request_id(&request);

    let (outcome, trace) = handle(&request, too_large, routes, &settings, &request_id);
    let mut response = match outcome {
        Ok(response) => response,
        Err(error) => {
            if let Some(cause) = error.cause() {
                emit(
                    settings.log_level,
                    Level::Error,
                    "request failed",
                    json!({ "request_id": request_id, "route": trace.route, "cause": cause }),
                );
            }
            error.into_response()
        }
    };
    finish_headers(&mut response, &request, &settings, &request_id);
    account(&request, &response, &trace, started, &settings, &request_id);
    to_spin(response)
}

/// What the log and the metrics need to know of a handled request.
#[derive(Default)]
struct Trace {
    /// The route template, or `UNMATCHED_ROUTE`.
    route: &'static str,
    /// The caller named by the token, when there was one.
    user: Option<i64>,
    /// Statements run against the database.
    queries: u64,
}

/// The checks every request passes, in the contract's order, then the route's handler
/// (under the request's Idempotency-Key, when it has one).
fn handle(
    request: &HttpRequest,
    too_large: bool,
    routes: &[Route],
    settings: &Settings,
    request_id: &str,
) -> (HandlerResult, Trace) {
    let unmatched = Trace {
        route: UNMATCHED_ROUTE,
        ..Trace::default()
    };
    // Orchestrators probe health, and Prometheus scrapes, by pod IP or Service name,
    // whatever the public host names are.
    let is_probe = [&api::HEALTH, &api::HEALTH_DETAILED, &api::METRICS]
        .iter()
        .any(|probe| probe.template == request.path);
    if !is_probe && !settings.host_allowed(request.header("host")) {
        return (Err(ApiError::InvalidHost), unmatched);
    }
    if let Some(preflight) = preflight(request, settings) {
        return (preflight, unmatched);
    }
    if too_large {
        return (Err(ApiError::PayloadTooLarge), unmatched);
    }
    match find(routes, &request.method, &request.path) {
        Match::Found(route, params) => {
            let ctx = Ctx::new(request, params, settings, request_id);
            let outcome = idempotency::run(&ctx, route.endpoint, route.handler);
            let trace = Trace {
                route: route.template(),
                user: ctx.user(),
                queries: ctx.queries_run(),
            };
            (outcome, trace)
        }
        Match::WrongMethod(template) => {
            let trace = Trace {
                route: template,
                ..Trace::default()
            };
            (Err(ApiError::MethodNotAllowed), trace)
        }
        Match::NotFound => (Err(ApiError::UnknownPath), unmatched),
    }
}

/// The request's log line and its metrics. Metrics never fail a request: a store
/// outage is logged and the answer stands.
fn account(
    request: &HttpRequest,
    response: &HttpResponse,
    trace: &Trace,
    started: Instant,
    settings: &Settings,
    request_id: &str,
) {
    let seconds = started.elapsed().as_secs_f64();
    emit(
        settings.log_level,
        Level::Info,
        "request",
        json!({
            "request_id": request_id,
            "method": request.method,
            "route": trace.route,
            "status": response.status,
            "duration_ms": (seconds * 1000.0 * 1000.0).round() / 1000.0,
            "user_id": trace.user,
        }),
    );
    let recorded = Kv::open_metrics().and_then(|kv| {
        metrics::record(
            &kv,
            &request.method,
            trace.route,
            response.status,
            seconds,
            trace.queries,
        )
    });
    if let Err(cause) = recorded {
        emit(
            settings.log_level,
            Level::Warning,
            "metrics not recorded",
            json!({ "request_id": request_id, "cause": cause }),
        );
    }
}

/// How much of an oversized body is read (and dropped) so the client sees the 413.
const DRAIN_LIMIT: usize = 1024 * 1024;

/// Reads the request head and at most `MAX_BODY_BYTES` of its body; the flag says the
/// body was larger. An oversized body is never buffered: one whose declared length is
/// at most `DRAIN_LIMIT` is read and dropped, anything else is not read further.
async fn read_request(incoming: IncomingRequest) -> (HttpRequest, bool) {
    let method = incoming.method().to_string();
    let path_and_query = incoming.path_with_query().unwrap_or_else(|| "/".into());
    let (path, query) = match path_and_query.split_once('?') {
        Some((p, q)) => (p.to_string(), q.to_string()),
        None => (path_and_query, String::new()),
    };
    let mut headers: Vec<(String, String)> = incoming
        .headers()
        .entries()
        .into_iter()
        .map(|(k, v)| {
            (
                k.to_ascii_lowercase(),
                String::from_utf8_lossy(&v).into_owned(),
            )
        })
        .collect();
    // wasi:http carries the Host header as the request's authority.
    if !headers.iter().any(|(k, _)| k == "host")
        && let Some(authority) = incoming.authority()
    {
        headers.push(("host".into(), authority));
    }
    let mut request = HttpRequest {
        method,
        path,
        query,
        headers,
        body: Vec::new(),
    };
    let declared = request
        .header("content-length")
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > DRAIN_LIMIT as u64) {
        return (request, true);
    }
    let mut stream = incoming.into_body_stream();
    let too_large = declared.is_some_and(|n| n > MAX_BODY_BYTES as u64);
    let mut drained = 0usize;
    while let Some(chunk) = stream.next().await {
        match chunk {
            Ok(bytes) if too_large => {
                // A declared length we will refuse: read and drop what the client is
                // still sending (at most DRAIN_LIMIT), so it gets our 413 instead of a
                // reset connection.
                drained += bytes.len();
                if drained > DRAIN_LIMIT {
                    break;
                }
            }
            Ok(bytes) => {
                if request.body.len() + bytes.len() > MAX_BODY_BYTES {
                    // A body of unknown length may never end: answer at once.
                    return (request, true);
                }
                request.body.extend_from_slice(&bytes);
            }
            // A client that hangs up mid-body: answer with what we have; it is gone.
            Err(_) => break,
        }
    }
    (request, too_large)
}

/// The caller's `X-Request-Id` when it is a sane token, else a fresh random one.
fn request_id(request: &HttpRequest) -> String {
    if let Some(id) = request.header("x-request-id") {
        let id = id.trim();
        if !id.is_empty()
            && id.len() <= 128
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
        {
            return id.to_string();
        }
    }
    let mut bytes = [0u8; 16];
    if getrandom::fill(&mut bytes).is_err() {
        return format!("{:032x}", Instant::now().elapsed().as_nanos());
    }
    lower_hex(&bytes)
}

/// `bytes` as lowercase hex. By table, not `format!` per byte: the id is made on every
/// request, and sixteen `format!` calls cost more than the rest of building it.
fn lower_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut hex = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        hex.push(char::from(DIGITS[usize::from(byte >> 4)]));
        hex.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    hex
}

/// A CORS preflight (`OPTIONS` with `Origin` and `Access-Control-Request-Method`) when
/// CORS is configured; `None` lets the request through to routing.
fn preflight(request: &HttpRequest, settings: &Settings) -> Option<Result<HttpResponse, ApiError>> {
    if request.method != "OPTIONS" {
        return None;
    }
    let origin = request.header("origin")?;
    request.header("access-control-request-method")?;
    if settings.cors_origins().is_empty() {
        return None;
    }
    if !settings.origin_allowed(origin) {
        return Some(Err(ApiError::DisallowedOrigin));
    }
    let mut response = HttpResponse::text(200, "text/plain; charset=utf-8", "OK")
        .with_header("access-control-allow-methods", "GET, POST, PUT, DELETE")
        .with_header("access-control-max-age", "600");
    if let Some(headers) = request.header("access-control-request-headers") {
        response.set_header("access-control-allow-headers", headers);
    }
    Some(Ok(response))
}

fn finish_headers(
    response: &mut HttpResponse,
    request: &HttpRequest,
    settings: &Settings,
    request_id: &str,
) {
    for (name, value) in SECURITY_HEADERS {
        response.set_header(name, value);
    }
    response.set_header("x-request-id", request_id);
    // Only origins listed by name get credentials; `*` lets any origin read answers
    // without them (`Access-Control-Allow-Origin: *`), as the Fetch standard intends:
    // reflecting every origin with credentials would let any site act as the user.
    if let Some(origin) = request.header("origin")
        && !settings.cors_origins().is_empty()
    {
        if settings.origin_listed(origin) {
            response.set_header("access-control-allow-origin", origin);
            response.set_header("access-control-allow-credentials", "true");
            response.set_header("vary", "Origin");
        } else if settings.origin_allowed(origin) {
            response.set_header("access-control-allow-origin", "*");
        }
    }
}

fn to_spin(response: HttpResponse) -> Response {
    Response::builder()
        .status(response.status)
        .headers(response.headers)
        .body(response.body)
        .build()
}

#[cfg(test)]
mod tests {
    use super::lower_hex;

    #[test]
    fn request_ids_are_lowercase_hex_of_every_byte() {
        assert_eq!(lower_hex(&[]), "");
        assert_eq!(lower_hex(&[0x00, 0x0f, 0xa5, 0xff]), "000fa5ff");
        let all: Vec<u8> = (0..=255).collect();
        let expected: String = all.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(lower_hex(&all), expected);
    }
}
