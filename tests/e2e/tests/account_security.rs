//! Account security, revision 2 of the auth rules: ids are never reused, a password
//! change revokes earlier tokens everywhere, sessions end `jwt_session_max_hours` after
//! login, login throttling counts per email and client address (with a per-email
//! ceiling), bursts at a locked account check no password, placeholder secrets are
//! refused, and CORS `*` never comes with credentials. On both databases.

use std::time::Duration;

use e2e_tests::*;

async fn register(app: &TestApp) -> (Value, String) {
    let name = unique("sec");
    let email = format!("{name}@example.com");
    let user = app.register(&name, &email, PASSWORD).await;
    (user, email)
}

/// A token signed with the test secret; `claims` as given.
fn signed(claims: Value) -> String {
    forge_token(&claims, "HS256", JWT_SECRET.as_bytes())
}

both_backends!(
    a_deleted_users_token_never_acts_for_a_later_account,
    |app| {
        let a = app.new_user().await;
        app.delete_auth(&format!("/api/v1/users/{}", a.id), &a.token)
            .await
            .assert_no_content();
        let (b, b_email) = register(app).await;
        assert_ne!(
            b["id"], a.id,
            "an id is never given to another account (SQLite included)"
        );
        app.get_auth("/api/v1/cars/", &a.token)
            .await
            .assert_error(401, "Could not validate credentials");
        // A's token cannot act for B, whatever id B got.
        app.put_auth(
            &format!("/api/v1/users/{}", b["id"]),
            &a.token,
            &json!({"username": unique("x")}),
        )
        .await
        .assert_error(401, "Could not validate credentials");
        // B's own token works.
        let token = app.login(&b_email, PASSWORD).await;
        app.get_auth("/api/v1/cars/", &token)
            .await
            .assert_status(200);
    }
);

both_backends!(
    a_password_change_revokes_every_earlier_token_on_every_route,
    |app| {
        let (u, brand_id) = app.new_user_with_brand().await;
        let car = app
            .create_car(&u.token, brand_id, &unique_plate(), json!({}))
            .await;
        let second = app.login(&u.email, PASSWORD).await;
        // Changing only the username keeps tokens valid.
        app.put_auth(
            &format!("/api/v1/users/{}", u.id),
            &u.token,
            &json!({"username": unique("renamed")}),
        )
        .await
        .assert_status(200);
        app.get_auth("/api/v1/cars/", &u.token)
            .await
            .assert_status(200);

        app.put_auth(
            &format!("/api/v1/users/{}", u.id),
            &u.token,
            &json!({"password": "n3w-passw0rd"}),
        )
        .await
        .assert_status(200);
        let car_path = format!("/api/v1/cars/{}", car["id"]);
        for token in [&u.token, &second] {
            for r in [
                app.get_auth("/api/v1/cars/", token).await,
                app.get_auth(&car_path, token).await,
                app.get_auth(&format!("/api/v1/brands/{brand_id}"), token)
                    .await,
                app.put_auth(&car_path, token, &json!({"color": "Roxo"}))
                    .await,
                app.post_auth("/api/v1/auth/refresh_token", token, &json!({}))
                    .await,
                app.post_auth("/api/v1/cars/", token, &car_body(brand_id, "REV0K01"))
                    .await,
                app.delete_auth(&format!("/api/v1/users/{}", u.id), token)
                    .await,
            ] {
                r.assert_error(401, "Could not validate credentials");
            }
        }
        let count = app
            .db_query("SELECT count(*) AS n FROM cars WHERE plate = 'REV0K01'")
            .await;
        assert_eq!(count[0]["n"], 0, "a revoked token writes nothing");
        // A login right after the change is valid at once, and sees that the revoked
        // PUT changed nothing.
        let fresh = app.login(&u.email, "n3w-passw0rd").await;
        let r = app.get_auth(&car_path, &fresh).await;
        r.assert_status(200);
        assert_eq!(r.json()["color"], car["color"]);
        app.post_auth("/api/v1/auth/refresh_token", &fresh, &json!({}))
            .await
            .assert_status(200);
    }
);

/// Two replicas on one PostgreSQL database: a change on one revokes on the other at once.
#[tokio::test]
async fn a_password_change_on_one_replica_revokes_on_the_other() {
    if !backend_selected(Backend::Postgres) {
        return;
    }
    let Some(one) = TestApp::try_spawn(Backend::Postgres, Options::new()).await else {
        return;
    };
    let url = one.pg_url().unwrap().to_string();
    let two = TestApp::spawn(Backend::Postgres, Options::new().database_url(&url)).await;
    let u = one.new_user().await;
    two.get_auth("/api/v1/cars/", &u.token)
        .await
        .assert_status(200);
    one.put_auth(
        &format!("/api/v1/users/{}", u.id),
        &u.token,
        &json!({"password": "an0ther-pass"}),
    )
    .await
    .assert_status(200);
    two.get_auth("/api/v1/cars/", &u.token)
        .await
        .assert_error(401, "Could not validate credentials");
    let fresh = two.login(&u.email, "an0ther-pass").await;
    one.get_auth("/api/v1/cars/", &fresh)
        .await
        .assert_status(200);
}

both_backends!(
    sessions_end_max_hours_after_login_whatever_the_refreshes,
    Options::new().variable("jwt_session_max_hours", "1"),
    |app| {
        let u = app.new_user().await;
        let (_, claims) = decode_jwt(&u.token);
        assert_eq!(
            claims["auth_time"], claims["iat"],
            "a login starts the session"
        );
        // Refresh copies auth_time.
        tokio::time::sleep(Duration::from_millis(1100)).await;
        let r = app
            .post_auth("/api/v1/auth/refresh_token", &u.token, &json!({}))
            .await;
        r.assert_status(200);
        let (_, refreshed) = decode_jwt(r.json()["access_token"].as_str().unwrap());
        assert_eq!(refreshed["auth_time"], claims["auth_time"]);
        assert!(refreshed["iat"].as_i64() > claims["iat"].as_i64());

        // A session that began more than 1 hour ago cannot be refreshed any more, though
        // its token has not expired; one that began 30 minutes ago can.
        let now = now_secs();
        let sub = u.id.to_string();
        let old =
            signed(json!({"sub": sub, "iat": now + 1, "exp": now + 600, "auth_time": now - 3700}));
        app.get_auth("/api/v1/cars/", &old).await.assert_status(200);
        app.post_auth("/api/v1/auth/refresh_token", &old, &json!({}))
            .await
            .assert_error(401, "Could not validate credentials");
        let recent =
            signed(json!({"sub": sub, "iat": now + 1, "exp": now + 600, "auth_time": now - 1800}));
        let r = app
            .post_auth("/api/v1/auth/refresh_token", &recent, &json!({}))
            .await;
        r.assert_status(200);
        let (_, claims) = decode_jwt(r.json()["access_token"].as_str().unwrap());
        assert_eq!(claims["auth_time"], now - 1800);
    }
);

// Failures of one email from another client address do not lock its owner out; the
// per-email ceiling over all clients still holds.
both_backends!(
    login_throttling_counts_per_email_and_client_address,
    Options::new()
        .variable("trusted_proxies", "127.0.0.0/8, ::1")
        .variable("login_max_failures_per_email", "8"),
    |app| {
        let (_, email) = register(app).await;
        let login_from = |client: &str, password: &str| {
            app.request(Method::POST, "/api/v1/auth/token")
                .header("x-forwarded-for", client)
                .json(&json!({"email": email, "password": password}))
        };
        for _ in 0..5 {
            app.send(login_from("198.51.100.1", "wrong-password"))
                .await
                .assert_status(401);
        }
        app.send(login_from("198.51.100.1", PASSWORD))
            .await
            .assert_error(429, "Too many login attempts");
        // The owner, elsewhere, is not locked out.
        app.send(login_from("203.0.113.7", PASSWORD))
            .await
            .assert_status(200);
        // Three more addresses fail once each: 8 failures for the email in all.
        for client in ["198.51.100.2", "198.51.100.3", "198.51.100.4"] {
            app.send(login_from(client, "wrong-password"))
                .await
                .assert_status(401);
        }
        let r = app.send(login_from("203.0.113.8", PASSWORD)).await;
        r.assert_error(429, "Too many login attempts");
        assert!(r.header("retry-after").is_some());
    }
);

// Without trusted proxies, X-Forwarded-For is the client's own claim and changes nothing.
both_backends!(a_forged_forwarded_for_does_not_escape_the_lock, |app| {
    let (_, email) = register(app).await;
    for i in 0..5 {
        let r = app
            .send(
                app.request(Method::POST, "/api/v1/auth/token")
                    .header("x-forwarded-for", format!("198.51.100.{i}"))
                    .json(&json!({"email": email, "password": "wrong-password"})),
            )
            .await;
        r.assert_status(401);
    }
    let r = app
        .send(
            app.request(Method::POST, "/api/v1/auth/token")
                .header("x-forwarded-for", "203.0.113.99")
                .json(&json!({"email": email, "password": PASSWORD})),
        )
        .await;
    r.assert_error(429, "Too many login attempts");
});

// Parallel bursts at a locked account, in a minute after the lock's: every attempt is
// refused, none gets its password checked (the give-back race let some through).
both_backends!(bursts_at_a_locked_account_check_no_password, |app| {
    let (_, email) = register(app).await;
    for _ in 0..5 {
        app.failed_login(&email).await.assert_status(401);
    }
    // Into the next minute: the failures sit in an older counter than the bursts.
    let into_minute = now_secs().rem_euclid(60);
    tokio::time::sleep(Duration::from_secs((61 - into_minute) as u64)).await;
    let mut statuses = vec![];
    for _ in 0..5 {
        let burst = (0..16).map(|_| app.try_login(&email, PASSWORD));
        statuses.extend(
            futures::future::join_all(burst)
                .await
                .iter()
                .map(|r| r.status),
        );
    }
    assert!(
        statuses.iter().all(|s| *s == 429),
        "a locked email checks no password: {statuses:?}"
    );
});

#[tokio::test]
async fn placeholder_jwt_secrets_are_refused_with_503() {
    for secret in [
        "CHANGE_ME_AT_LEAST_32_RANDOM_BYTES",
        "CHANGE_ME_AT_LEAST_32_RANDOM_BYTES_xxxxxxxxxxxx",
        "my-own-change_me-secret-0123456789abcdef",
    ] {
        let app = TestApp::spawn(
            Backend::Sqlite,
            Options::new().variable("jwt_secret_key", secret),
        )
        .await;
        let name = unique("ph");
        let email = format!("{name}@example.com");
        app.register(&name, &email, PASSWORD).await;
        app.try_login(&email, PASSWORD)
            .await
            .assert_error(503, "Service unavailable");
        app.get_auth("/api/v1/cars/", &token_for(1))
            .await
            .assert_error(503, "Service unavailable");
        assert!(
            app.wait_for_log("jwt_secret_key is a placeholder").await,
            "the log says why: {}",
            app.logs()
        );
        assert!(!app.logs().contains(secret), "the secret is never logged");
    }
}

both_backends!(
    cors_star_answers_any_origin_without_credentials,
    Options::new().cors_origins("https://app.example, *"),
    |app| {
        let r = app
            .send(
                app.request(Method::GET, "/health_check")
                    .header("origin", "https://evil.example"),
            )
            .await;
        assert_eq!(
            r.header("access-control-allow-origin").as_deref(),
            Some("*")
        );
        assert_eq!(r.header("access-control-allow-credentials"), None);
        let r = app
            .send(
                app.request(Method::GET, "/health_check")
                    .header("origin", "https://app.example"),
            )
            .await;
        assert_eq!(
            r.header("access-control-allow-origin").as_deref(),
            Some("https://app.example")
        );
        assert_eq!(
            r.header("access-control-allow-credentials").as_deref(),
            Some("true")
        );
    }
);
