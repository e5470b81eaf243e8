//! Health endpoints (liveness and the detailed readiness report).

use e2e_tests::*;

both_backends!(health_check_is_ok_json_with_timestamp, |app| {
    let r = app.get("/health_check").await;
    r.assert_status(200)
        .assert_json_content_type()
        .assert_security_headers();
    let body = r.json();
    assert_eq!(body["status"], "ok", "{body}");
    assert_recent_rfc3339(&body["timestamp"]);
    let keys: Vec<&String> = body.as_object().unwrap().keys().collect();
    assert_eq!(keys.len(), 2, "only status and timestamp: {body}");
});

both_backends!(health_check_detailed_reports_every_check_ok, |app| {
    let r = app.get("/health_check/detailed").await;
    r.assert_status(200)
        .assert_json_content_type()
        .assert_security_headers();
    let body = r.json();
    assert_eq!(body["status"], "ok", "{body}");
    assert_recent_rfc3339(&body["timestamp"]);
    let checks = &body["checks"];
    assert_eq!(checks["database"]["status"], "ok", "{body}");
    assert!(
        checks["database"]["latency_ms"].is_number(),
        "latency_ms is a number: {body}"
    );
    assert!(
        checks["database"].get("error").is_none_or(|e| e.is_null()),
        "no error when ok: {body}"
    );
    assert_eq!(checks["migrations"]["status"], "ok", "{body}");
    assert!(!checks["migrations"]["applied"].is_null(), "{body}");
    assert_eq!(
        checks["migrations"]["applied"], checks["migrations"]["expected"],
        "{body}"
    );
    assert_eq!(checks["key_value"]["status"], "ok", "{body}");
});

both_backends!(
    health_check_detailed_is_503_when_a_migration_is_missing,
    |app| {
        // Forget the newest applied migration: the schema is no longer what the build expects.
        app.db_execute(
        "DELETE FROM _sqlx_migrations WHERE version = (SELECT max(version) FROM _sqlx_migrations)",
    )
    .await;
        let r = app.get("/health_check/detailed").await;
        r.assert_status(503)
            .assert_json_content_type()
            .assert_security_headers();
        let body = r.json();
        assert_eq!(body["status"], "degraded", "{body}");
        assert_ne!(checks_status(&body, "migrations"), "ok", "{body}");
        assert_ne!(
            body["checks"]["migrations"]["applied"], body["checks"]["migrations"]["expected"],
            "{body}"
        );
        // The other checks are still fine.
        assert_eq!(checks_status(&body, "database"), "ok", "{body}");
        assert_eq!(checks_status(&body, "key_value"), "ok", "{body}");
        // Liveness does not care.
        app.get("/health_check").await.assert_status(200);
    }
);

fn checks_status(body: &Value, check: &str) -> String {
    body["checks"][check]["status"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// A PostgreSQL-only check: with the database unreachable the detailed report says so
/// (503, short error, no credentials), while liveness stays 200 and an API call is 503
/// `Service unavailable`.
#[tokio::test]
async fn health_check_detailed_is_503_when_postgres_is_down() {
    // A server that refuses connections: a closed local port, with a password in the URL
    // that must never be echoed.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let dead_url = format!("postgres://postgres:hunter2secret@127.0.0.1:{port}/nowhere");
    let app = TestApp::spawn(Backend::Sqlite, Options::new().database_url(&dead_url)).await;
    let r = app.get("/health_check").await;
    r.assert_status(200);
    let r = app.get("/health_check/detailed").await;
    r.assert_status(503).assert_security_headers();
    let body = r.json();
    assert_eq!(body["status"], "degraded", "{body}");
    assert_ne!(body["checks"]["database"]["status"], "ok", "{body}");
    let err = body["checks"]["database"]["error"]
        .as_str()
        .unwrap_or_default();
    assert!(!err.is_empty(), "an error text is given: {body}");
    assert!(err.chars().count() <= 200, "error texts are short: {err}");
    assert!(
        !r.text().contains("hunter2secret"),
        "credentials leaked: {}",
        r.text()
    );
    // A request that needs the database: 503 Service unavailable, cause only in the log.
    let r = app
        .post(
            "/api/v1/users/",
            &json!({"username": "nobody", "email": "nobody@example.com", "password": PASSWORD}),
        )
        .await;
    r.assert_error(503, "Service unavailable")
        .assert_security_headers();
    assert!(!r.text().contains("hunter2secret"));
}
