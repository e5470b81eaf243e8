//! Security checks: JWT attacks not covered by auth.rs, SQL injection in every string
//! field and query parameter, login timing, and secrets in logs, errors and health.
//! See docs/reliability.md.

use std::time::{Duration, Instant};

use e2e_tests::private_services;
use e2e_tests::*;

const PROTECTED: &str = "/api/v1/brands/";

// ------------------------------------------------------------------------------------
// JWT
// ------------------------------------------------------------------------------------

both_backends!(jwt_attacks_are_401, |app| {
    let u = app.new_user().await;
    let other = app.new_user().await;
    let now = now_secs();
    let sub = u.id.to_string();
    let secret = JWT_SECRET.as_bytes();
    let claims = json!({"sub": sub, "iat": now, "exp": now + 600});
    let good = forge_token(&claims, "HS256", secret);
    app.get_auth(PROTECTED, &good).await.assert_status(200);
    let (h, p, s) = {
        let v: Vec<&str> = good.split('.').collect();
        (v[0].to_string(), v[1].to_string(), v[2].to_string())
    };
    let b64 = |v: &Value| {
        use base64::Engine as _;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    };
    let mut attacks: Vec<(&str, String)> = vec![];
    // Far-future iat (issued ten years from now), otherwise valid.
    attacks.push((
        "iat in the far future",
        forge_token(
            &json!({"sub": sub, "iat": now + 10 * 365 * 86_400, "exp": now + 600}),
            "HS256",
            secret,
        ),
    ));
    // Privilege escalation: the payload says another user, the signature is ours.
    attacks.push((
        "sub swapped to another user",
        format!(
            "{h}.{}.{s}",
            b64(&json!({"sub": other.id.to_string(), "iat": now, "exp": now + 600}))
        ),
    ));
    // Header tampered (alg changed) with the old signature.
    attacks.push((
        "header alg swapped to HS512, HS256 signature",
        format!("{}.{p}.{s}", b64(&json!({"alg": "HS512", "typ": "JWT"}))),
    ));
    // alg: none with the good signature kept, and with an empty one.
    attacks.push((
        "alg none, signature kept",
        format!("{}.{p}.{s}", b64(&json!({"alg": "none", "typ": "JWT"}))),
    ));
    attacks.push(("HS256 header, empty signature", format!("{h}.{p}.")));
    attacks.push(("no signature part", format!("{h}.{p}")));
    attacks.push(("four parts", format!("{h}.{p}.{s}.{s}")));
    // Public-key algorithms whose "key" would be our HMAC secret (HS/RS confusion and
    // friends), signed with HMAC over the secret.
    for alg in [
        "RS256", "RS512", "PS256", "ES256", "EdDSA", "hs256", "HS256 ", "Hs256",
    ] {
        attacks.push((
            "a non-HMAC or misspelt alg",
            forge_token_with_header(&json!({"alg": alg, "typ": "JWT"}), &claims, "HS256", secret),
        ));
    }
    // Embedded-key headers must not be honoured.
    attacks.push((
        "jwk header with our own key",
        forge_token_with_header(
            &json!({"alg": "HS256", "typ": "JWT",
                    "jwk": {"kty": "oct", "k": "YXR0YWNrZXI"}}),
            &claims,
            "HS256",
            b"attacker",
        ),
    ));
    attacks.push((
        "kid pointing at a file, signed with an empty key",
        forge_token_with_header(
            &json!({"alg": "HS256", "typ": "JWT", "kid": "../../../../dev/null"}),
            &claims,
            "HS256",
            b"",
        ),
    ));
    attacks.push((
        "signed with another secret",
        forge_token(
            &claims,
            "HS256",
            b"0123456789abcdef0123456789abcdef-not-ours",
        ),
    ));
    attacks.push((
        "signed with the secret's prefix",
        forge_token(&claims, "HS256", &secret[..32]),
    ));
    // Claims of the wrong type.
    for bad in [
        json!({"sub": sub, "exp": (now + 600).to_string()}),
        json!({"sub": sub, "exp": null}),
        json!({"sub": u.id, "exp": now + 600, "iat": "yesterday"}),
        json!({"sub": [sub], "exp": now + 600}),
        json!({"sub": format!("{sub} OR 1=1"), "exp": now + 600}),
    ] {
        attacks.push((
            "claims of the wrong type",
            forge_token(&bad, "HS256", secret),
        ));
    }
    // Huge tokens: a 16 KiB payload correctly signed with a wrong key, and 64 KiB of junk.
    let pad = "A".repeat(16 * 1024);
    attacks.push((
        "16 KiB payload, wrong key",
        forge_token(
            &json!({"sub": sub, "exp": now + 600, "pad": pad}),
            "HS256",
            b"wrong-key-wrong-key-wrong-key-wrong",
        ),
    ));
    attacks.push((
        "64 KiB of junk",
        format!("{h}.{}.{s}", "B".repeat(64 * 1024)),
    ));
    for (what, token) in &attacks {
        let t = Instant::now();
        let r = app.get_auth(PROTECTED, token).await;
        assert_eq!(r.status, 401, "{what}: {}", r.text());
        r.assert_error(401, "Could not validate credentials");
        assert!(
            t.elapsed() < Duration::from_secs(2),
            "{what}: slow ({:?})",
            t.elapsed()
        );
        let r = app
            .post_auth("/api/v1/auth/refresh_token", token, &json!({}))
            .await;
        assert_eq!(r.status, 401, "{what} (refresh): {}", r.text());
    }
    // A 1 MiB header is refused before any component runs (431 or a closed connection),
    // never a 5xx, and the app keeps serving.
    let huge = format!("{h}.{}.{s}", "C".repeat(1024 * 1024));
    match app
        .request(Method::GET, PROTECTED)
        .bearer_auth(&huge)
        .send()
        .await
    {
        Ok(r) => assert!(
            matches!(r.status().as_u16(), 401 | 431),
            "1 MiB token: {}",
            r.status()
        ),
        Err(e) => eprintln!("1 MiB token: connection refused by the server ({e})"),
    }
    app.get_auth(PROTECTED, &good).await.assert_status(200);
});

// ------------------------------------------------------------------------------------
// SQL injection
// ------------------------------------------------------------------------------------

const INJECTIONS: &[&str] = &[
    "' OR '1'='1",
    "'; DROP TABLE users; --",
    "x'); DELETE FROM cars; --",
    "1; UPDATE users SET username = 'pwned'",
    "' UNION SELECT password_hash, 1, 1 FROM users --",
    "\\'; DROP TABLE brands; --",
    "$1 $2 ?1 ?",
    "%' OR 1=1 --",
    "\"; DROP TABLE \"_sqlx_migrations\"; --",
    "a' || (SELECT sqlite_version()) || '",
];

async fn table_names(app: &TestApp) -> Vec<String> {
    let sql = match app.backend {
        Backend::Sqlite => {
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name".to_string()
        }
        Backend::Postgres => {
            "SELECT tablename::text AS name FROM pg_tables WHERE schemaname = 'public' \
             ORDER BY 1"
                .to_string()
        }
    };
    app.db_query(&sql)
        .await
        .iter()
        .map(|r| r["name"].as_str().unwrap().to_string())
        .collect()
}

#[track_caller]
fn no_5xx(r: &Resp, what: &str) {
    assert!(r.status < 500, "{what}: {} {}", r.status, r.text());
}

both_backends!(
    sql_injection_changes_nothing_and_is_stored_literally,
    |app| {
        let tables = table_names(app).await;
        assert!(tables.iter().any(|t| t == "users"), "{tables:?}");
        let me = app.new_user().await;
        let brand = app.create_brand(&me.token, "Honest").await;
        let bid = brand["id"].as_i64().unwrap();
        let mut users = 1;
        let mut brands = 1;
        let mut cars = 0;
        for (i, p) in INJECTIONS.iter().enumerate() {
            // users: username, password (and the e-mail's local part where valid)
            let email = format!("o'hara{i}--@example.com");
            let password = format!("{p}{p}");
            let r = app
                .post(
                    "/api/v1/users/",
                    &json!({"username": p, "email": email, "password": password}),
                )
                .await;
            r.assert_status(201);
            users += 1;
            let id = r.json()["id"].as_i64().unwrap();
            let row = app.stored_row("users", id).await.unwrap();
            assert_eq!(row["username"], json!(p), "stored literally");
            assert_eq!(row["email"], json!(email), "stored literally");
            // The injected password logs in as itself, and only as itself.
            app.login(&email, &password).await;
            let r = app
                .post(
                    "/api/v1/auth/token",
                    &json!({"email": email, "password": format!("{p}x' OR 'x'='x")}),
                )
                .await;
            r.assert_error(401, "Incorrect email or password");
            let r = app
                .post(
                    "/api/v1/auth/token",
                    &json!({"email": format!("x' OR '1'='1'--{i}@example.com"), "password": p}),
                )
                .await;
            assert!(
                matches!(r.status, 401 | 422),
                "login injection: {}",
                r.text()
            );
            // brands: name and description
            let r = app
                .post_auth(
                    "/api/v1/brands/",
                    &me.token,
                    &json!({"name": p, "description": p}),
                )
                .await;
            r.assert_status(201);
            brands += 1;
            let b = r.json();
            assert_eq!(b["name"], json!(p.trim()));
            let row = app
                .stored_row("brands", b["id"].as_i64().unwrap())
                .await
                .unwrap();
            assert_eq!(row["description"], json!(p));
            // cars: model, color, description (plate below)
            let color: String = p.chars().take(30).collect();
            let car = app
                .create_car(
                    &me.token,
                    bid,
                    &unique_plate(),
                    json!({"model": p, "color": color, "description": p}),
                )
                .await;
            cars += 1;
            let row = app
                .stored_row("cars", car["id"].as_i64().unwrap())
                .await
                .unwrap();
            assert_eq!(row["model"], json!(p.trim()));
            assert_eq!(row["description"], json!(p));
            // search and other query parameters
            let enc = urlencode(p);
            for path in [
                format!("/api/v1/users/?search={enc}"),
                format!("/api/v1/brands/?search={enc}"),
                format!("/api/v1/cars/?search={enc}"),
            ] {
                let r = app.get_auth(&path, &me.token).await;
                r.assert_status(200);
                let body = r.json();
                let list = body
                    .as_object()
                    .unwrap()
                    .values()
                    .find_map(|v| v.as_array())
                    .unwrap()
                    .clone();
                assert!(!list.is_empty(), "{path}: the literal match is found");
                for item in &list {
                    let hay = format!(
                        "{} {} {} {} {}",
                        item["username"], item["email"], item["name"], item["model"], item["plate"]
                    )
                    .to_lowercase()
                    .replace("\\\\", "\\")
                    .replace("\\\"", "\"");
                    assert!(
                        hay.contains(&p.to_lowercase()),
                        "{path}: only literal matches, got {item}"
                    );
                }
            }
            for path in [
                format!("/api/v1/cars/?brand_id={enc}"),
                format!("/api/v1/cars/?fuel_type={enc}"),
                format!("/api/v1/cars/?transmission={enc}"),
                format!("/api/v1/cars/?is_available={enc}"),
                format!("/api/v1/cars/?min_price={enc}"),
                format!("/api/v1/cars/?max_price={enc}"),
                format!("/api/v1/brands/?is_active={enc}"),
                format!("/api/v1/users/?offset={enc}"),
                format!("/api/v1/users/?limit={enc}"),
                format!("/api/v1/cars/{enc}"),
                format!("/api/v1/brands/{enc}"),
                format!("/api/v1/users/{enc}"),
            ] {
                let r = app.get_auth(&path, &me.token).await;
                no_5xx(&r, &path);
                assert!(
                    matches!(r.status, 404 | 422),
                    "{path}: a non-number / non-enum is refused: {} {}",
                    r.status,
                    r.text()
                );
            }
            let r = app
                .put_auth(
                    &format!("/api/v1/cars/{}", car["id"]),
                    &me.token,
                    &json!({"model": p, "color": color, "plate": unique_plate()}),
                )
                .await;
            r.assert_status(200);
        }
        // Plates are short: the injections that fit.
        for plate in ["'OR'1'='1", "');--DROP", "' OR 1=1", "1;DELETE"] {
            let car = app.create_car(&me.token, bid, plate, json!({})).await;
            cars += 1;
            let row = app
                .stored_row("cars", car["id"].as_i64().unwrap())
                .await
                .unwrap();
            assert_eq!(row["plate"], json!(plate.trim().to_uppercase()));
        }
        assert_eq!(
            table_names(app).await,
            tables,
            "no table dropped or created"
        );
        assert_eq!(app.count_rows("users").await, users);
        assert_eq!(app.count_rows("brands").await, brands);
        assert_eq!(app.count_rows("cars").await, cars);
        let pwned = app
            .db_query("SELECT count(*) AS n FROM users WHERE username = 'pwned'")
            .await;
        assert_eq!(pwned[0]["n"], json!(0));
    }
);

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

// ------------------------------------------------------------------------------------
// Login timing
// ------------------------------------------------------------------------------------

/// 50 failed logins for existing e-mails (10 users x 5, below the throttle), each paired
/// with one for a missing e-mail sent right before or after it: the median of the
/// per-pair time ratios is within 10 % of 1. Pairs, rather than two medians, so that a
/// neighbouring test loading the machine slows both sides of a pair alike instead of
/// splitting the samples into a fast and a slow group.
#[tokio::test]
async fn login_timing_does_not_reveal_whether_the_email_exists() {
    let app = TestApp::spawn(Backend::Sqlite, Options::new()).await;
    let mut last = String::new();
    for attempt in 1..=3 {
        let mut users = vec![];
        for _ in 0..10 {
            users.push(app.new_user().await);
        }
        let time = |email: String| {
            let app = &app;
            async move {
                let t = Instant::now();
                let r = app.failed_login(&email).await;
                let took = t.elapsed();
                r.assert_error(401, "Incorrect email or password");
                took.as_secs_f64()
            }
        };
        let mut ratios = vec![];
        for round in 0..5u32 {
            for u in &users {
                // Alternate which goes first so drift hits both alike.
                let (known, missing) = if round.is_multiple_of(2) {
                    let k = time(u.email.clone()).await;
                    (k, time(unique_email()).await)
                } else {
                    let m = time(unique_email()).await;
                    (time(u.email.clone()).await, m)
                };
                ratios.push(known / missing);
            }
        }
        ratios.sort_by(f64::total_cmp);
        let median = (ratios[24] + ratios[25]) / 2.0;
        last = format!(
            "attempt {attempt}: median time ratio existing/missing {median:.3} (pairs from \
             {:.3} to {:.3})",
            ratios[0], ratios[49]
        );
        eprintln!("login timing: {last}");
        if (1.0 / 1.1..=1.1).contains(&median) {
            return;
        }
    }
    panic!("login time reveals whether the e-mail exists: {last}");
}

// ------------------------------------------------------------------------------------
// Secrets
// ------------------------------------------------------------------------------------

/// A role with a password on the shared server, and a database it owns; dropped after.
struct SecretRole {
    admin: String,
    role: String,
    password: String,
}

impl SecretRole {
    fn url(&self) -> String {
        let admin = pg_admin_url();
        let scheme_end = admin.find("://").unwrap() + 3;
        let rest = &admin[scheme_end..];
        let host = rest
            .split(['/', '?'])
            .next()
            .unwrap()
            .rsplit('@')
            .next()
            .unwrap();
        format!(
            "postgres://{}:{}@{host}/{}?sslmode=disable",
            self.role, self.password, self.role
        )
    }
}

impl Drop for SecretRole {
    fn drop(&mut self) {
        let (admin, role) = (self.admin.clone(), self.role.clone());
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                if let Ok(c) = private_services::pg_client(&admin).await {
                    let _ = c
                        .batch_execute(&format!("DROP DATABASE IF EXISTS \"{role}\" WITH (FORCE)"))
                        .await;
                    let _ = c
                        .batch_execute(&format!("DROP ROLE IF EXISTS \"{role}\""))
                        .await;
                }
            })
        })
        .join();
    }
}

#[tokio::test]
async fn secrets_never_appear_in_logs_errors_or_health() {
    let admin = pg_admin_url();
    let Ok(client) = private_services::pg_client(&admin).await else {
        assert!(!postgres_required(), "PostgreSQL is required");
        eprintln!("!!! SKIPPING: PostgreSQL unreachable at {admin}");
        return;
    };
    let guard = SecretRole {
        admin: admin.clone(),
        role: unique("rel_secret_"),
        password: format!("Db-{}-Pw", unique("s3cr3t")),
    };
    // Two statements: CREATE DATABASE cannot run inside an implicit transaction.
    client
        .batch_execute(&format!(
            "CREATE ROLE \"{}\" LOGIN PASSWORD '{}'",
            guard.role, guard.password
        ))
        .await
        .expect("create role");
    client
        .batch_execute(&format!(
            "CREATE DATABASE \"{0}\" OWNER \"{0}\"",
            guard.role
        ))
        .await
        .expect("create database");
    let url = guard.url();
    private_services::migrate(&url).expect("migrate as the new role");
    let app = TestApp::spawn(
        Backend::Sqlite,
        Options::new().database_url(&url).log_level("debug"),
    )
    .await;
    let user_password = "Us3r-Pa55word-zz9";
    let mut bodies = vec![];
    let name = unique("sec");
    let email = format!("{name}@example.com");
    let r = app
        .post(
            "/api/v1/users/",
            &json!({"username": name, "email": email, "password": user_password}),
        )
        .await;
    r.assert_status(201);
    bodies.push(r.text());
    let token = app.login(&email, user_password).await;
    for body in [
        json!({"email": email, "password": "Wr0ng-Pa55word-zz9"}),
        json!({"email": "nobody@example.com", "password": user_password}),
        json!({"email": email}),
    ] {
        bodies.push(app.post("/api/v1/auth/token", &body).await.text());
    }
    // Duplicates, validation errors, bad tokens, unknown paths.
    bodies.push(
        app.post(
            "/api/v1/users/",
            &json!({"username": name, "email": email, "password": user_password}),
        )
        .await
        .text(),
    );
    bodies.push(app.get_auth(PROTECTED, "garbage.token.here").await.text());
    bodies.push(app.get_auth(PROTECTED, &token).await.text());
    bodies.push(app.get("/nowhere").await.text());
    bodies.push(app.get("/metrics").await.text());
    bodies.push(app.get("/openapi.json").await.text());
    let r = app.get("/health_check/detailed").await;
    r.assert_status(200);
    bodies.push(r.text());

    // Now the database refuses this role: every request that needs it fails with a
    // cause (logged) that must not carry the URL's password.
    client
        .batch_execute(&format!(
            "ALTER ROLE \"{0}\" NOLOGIN; \
             SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '{0}';",
            guard.role
        ))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let r = app.get("/health_check/detailed").await;
    assert_eq!(r.status, 503, "{}", r.text());
    bodies.push(r.text());
    let r = app
        .post(
            "/api/v1/auth/token",
            &json!({"email": email, "password": user_password}),
        )
        .await;
    assert_eq!(r.status, 503, "{}", r.text());
    bodies.push(r.text());
    let r = app.get_auth(PROTECTED, &token).await;
    assert_eq!(r.status, 503, "{}", r.text());
    bodies.push(r.text());
    assert!(
        app.wait_for_log("request failed").await,
        "the cause is logged"
    );

    let logs = app.logs();
    let secrets = [
        ("database password", guard.password.as_str()),
        ("JWT secret", JWT_SECRET),
        ("user password", user_password),
        ("wrong password", "Wr0ng-Pa55word-zz9"),
        ("password hash", "$argon2id$"),
    ];
    for (what, secret) in secrets {
        assert!(
            !logs.contains(secret),
            "{what} in the logs:\n{}",
            logs.lines()
                .filter(|l| l.contains(secret))
                .collect::<Vec<_>>()
                .join("\n")
        );
        for b in &bodies {
            assert!(!b.contains(secret), "{what} in a response: {b}");
        }
    }
    // The token itself is a credential too.
    assert!(!logs.contains(&token), "a bearer token in the logs");
    drop(app);
    drop(guard);
}
