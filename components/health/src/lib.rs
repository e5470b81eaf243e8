//! The operations component: `/health_check` (liveness: touches nothing),
//! `/health_check/detailed` (database, schema version, key-value store), `/metrics`,
//! and — as Spin's catch-all route — JSON 404s for every other path.

use std::time::Instant;

use domain::Timestamp;
use repositories::schema::{self, LATEST_MIGRATION};
use repositories::{Db, DbError};
use serde_json::{Value, json};
use spin_sdk::http::{IncomingRequest, Response};
use spin_sdk::http_component;
use web::kv::Kv;
use web::views::{Health, HealthDetailed};
use web::{Ctx, HandlerResult, HttpResponse, Route, api};

const ROUTES: &[Route] = &[
    Route::new(&api::HEALTH, liveness),
    Route::new(&api::HEALTH_DETAILED, readiness),
    Route::new(&api::METRICS, metrics),
    Route::new(&api::OPENAPI, openapi),
];

#[http_component]
async fn handle(request: IncomingRequest) -> Response {
    web::serve(request, ROUTES).await
}

fn liveness(_: &Ctx) -> HandlerResult {
    Ok(HttpResponse::json(
        200,
        &Health {
            status: "ok",
            timestamp: Timestamp::now(),
        },
    ))
}

/// 200 when the database answers, its schema is the one this build expects, and the
/// key-value store answers; otherwise 503 `degraded`. Errors are short phrases that
/// never carry the connection string.
fn readiness(_: &Ctx) -> HandlerResult {
    let started = Instant::now();
    let url = web::config::database_url();
    let (database, applied) = match Db::open(&url).and_then(|db| {
        schema::ping(&db)?;
        let latency = started.elapsed();
        Ok((latency, schema::applied_migration(&db)))
    }) {
        Ok((latency, applied)) => (
            json!({ "status": "ok", "latency_ms": millis(latency) }),
            applied,
        ),
        Err(error) => (
            json!({
                "status": "error",
                "latency_ms": millis(started.elapsed()),
                "error": short(&error),
            }),
            Err(error),
        ),
    };
    let migrations = match applied {
        Ok(Some(version)) if version == LATEST_MIGRATION => {
            json!({ "status": "ok", "applied": version, "expected": LATEST_MIGRATION })
        }
        Ok(version) => {
            json!({ "status": "error", "applied": version, "expected": LATEST_MIGRATION })
        }
        Err(_) => json!({ "status": "error", "applied": null, "expected": LATEST_MIGRATION }),
    };
    let key_value = match Kv::open().and_then(|kv| kv.ping()) {
        Ok(()) => json!({ "status": "ok" }),
        Err(_) => json!({ "status": "error", "error": "key-value store unavailable" }),
    };
    let healthy = [&database, &migrations, &key_value]
        .iter()
        .all(|check| check["status"] == "ok");
    let body = HealthDetailed {
        status: if healthy { "ok" } else { "degraded" },
        timestamp: Timestamp::now(),
        checks: json!({ "database": database, "migrations": migrations, "key_value": key_value }),
    };
    Ok(HttpResponse::json(if healthy { 200 } else { 503 }, &body))
}

fn millis(elapsed: std::time::Duration) -> Value {
    json!((elapsed.as_secs_f64() * 1e6).round() / 1e3)
}

fn short(error: &DbError) -> &'static str {
    match error {
        DbError::Unavailable(_) => "database unavailable",
        DbError::Config(_) => "database_url is not supported",
        _ => "database query failed",
    }
}

fn metrics(_: &Ctx) -> HandlerResult {
    let text = Kv::open_metrics()
        .and_then(|kv| web::metrics::render(&kv))
        .map_err(web::ApiError::Unavailable)?;
    Ok(HttpResponse::text(
        200,
        "text/plain; version=0.0.4; charset=utf-8",
        text,
    ))
}

fn openapi(_: &Ctx) -> HandlerResult {
    Ok(HttpResponse::json(200, &web::openapi::document()))
}
