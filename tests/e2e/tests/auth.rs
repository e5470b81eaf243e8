//! /api/v1/auth: login, refresh, and how every protected route reads the bearer token.

use e2e_tests::*;

/// A protected, side-effect-free route.
const PROTECTED: &str = "/api/v1/brands/";

both_backends!(login_returns_a_bearer_token_with_sub_iat_exp, |app| {
    let u = app.new_user().await;
    let r = app
        .post(
            "/api/v1/auth/token",
            &json!({"email": u.email, "password": PASSWORD}),
        )
        .await;
    r.assert_status(200)
        .assert_json_content_type()
        .assert_security_headers();
    assert_eq!(r.header("cache-control").as_deref(), Some("no-store"));
    let body = r.json();
    assert_eq!(body["token_type"], "bearer");
    let keys: Vec<&String> = body.as_object().unwrap().keys().collect();
    assert_eq!(keys.len(), 2, "only access_token and token_type: {body}");
    let token = body["access_token"].as_str().unwrap();
    let (header, claims) = decode_jwt(token);
    assert_eq!(header["alg"], "HS256");
    assert!(
        jwt_signature_ok(token, "HS256"),
        "signed with the configured secret"
    );
    assert_eq!(
        claims["sub"],
        json!(u.id.to_string()),
        "sub is the id as a string"
    );
    let iat = claims["iat"].as_i64().expect("integer iat");
    let exp = claims["exp"].as_i64().expect("integer exp");
    assert_eq!(exp - iat, 30 * 60, "default expiry is 30 minutes");
    assert!((iat - now_secs()).abs() < 60, "iat is now");
    // The token works.
    app.get_auth(PROTECTED, token).await.assert_status(200);
});

both_backends!(login_failures_are_401_without_revealing_which_part, |app| {
    let u = app.new_user().await;
    for body in [
        json!({"email": u.email, "password": "wrong-password"}),
        json!({"email": "nobody@example.com", "password": PASSWORD}),
        json!({"email": u.email.to_uppercase().replace("@EXAMPLE.COM", "@example.com"), "password": PASSWORD}),
    ] {
        let r = app.post("/api/v1/auth/token", &body).await;
        r.assert_error(401, "Incorrect email or password")
            .assert_security_headers();
        assert!(r.header("cache-control").is_none_or(|c| c == "no-store"));
    }
});

both_backends!(login_validation, |app| {
    app.post("/api/v1/auth/token", &json!({}))
        .await
        .assert_422(&[missing("email"), missing("password")]);
    app.post(
        "/api/v1/auth/token",
        &json!({"email": "x@example.com", "password": "12345"}),
    )
    .await
    .assert_422(&[value_error(
        "password",
        "Senha deve ter pelo menos 6 caracteres",
    )]);
    app.post(
        "/api/v1/auth/token",
        &json!({"email": "nope", "password": "12345"}),
    )
    .await
    .assert_422(&[
        email_error("email"),
        value_error("password", "Senha deve ter pelo menos 6 caracteres"),
    ]);
    app.post_raw("/api/v1/auth/token", None, "[]")
        .await
        .assert_422(&[ExpectedError::new(
            "model_attributes_type",
            json!(["body"]),
            "Input should be a valid dictionary or object to extract fields from",
        )]);
    // Wrong method on a known path.
    app.get("/api/v1/auth/token")
        .await
        .assert_error(405, "Method Not Allowed");
});

both_backends!(authorization_header_variants, |app| {
    let u = app.new_user().await;
    let send = |value: Option<String>| async move {
        let mut rb = app.request(Method::GET, PROTECTED);
        if let Some(v) = value {
            rb = rb.header("authorization", v);
        }
        app.send(rb).await
    };
    // Missing, empty, no scheme, scheme without credentials.
    send(None)
        .await
        .assert_error(401, "Not authenticated")
        .assert_security_headers();
    send(Some(String::new()))
        .await
        .assert_error(401, "Not authenticated");
    send(Some(u.token.clone()))
        .await
        .assert_error(401, "Not authenticated");
    send(Some("Bearer".into()))
        .await
        .assert_error(401, "Not authenticated");
    // Another scheme (Fixed: 401, not 403).
    send(Some("Basic dXNlcjpwYXNzd29yZA==".into()))
        .await
        .assert_error(401, "Invalid authentication credentials");
    send(Some(format!("Token {}", u.token)))
        .await
        .assert_error(401, "Invalid authentication credentials");
    // The scheme is case-insensitive.
    for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
        send(Some(format!("{scheme} {}", u.token)))
            .await
            .assert_status(200);
    }
    // Garbage tokens.
    for t in ["not-a-jwt", "a.b.c", "....", &"x".repeat(5000)] {
        send(Some(format!("Bearer {t}")))
            .await
            .assert_error(401, "Could not validate credentials");
    }
});

both_backends!(bad_tokens_are_rejected, |app| {
    let u = app.new_user().await;
    let now = now_secs();
    let sub = u.id.to_string();
    let secret = JWT_SECRET.as_bytes();
    let check = |token: String, detail: &'static str| async move {
        app.get_auth(PROTECTED, &token)
            .await
            .assert_error(401, detail);
        app.post_auth("/api/v1/auth/refresh_token", &token, &json!({}))
            .await
            .assert_error(401, detail);
    };
    // Sanity: a forged token with the right secret is accepted.
    app.get_auth(
        PROTECTED,
        &forge_token(
            &json!({"sub": sub, "iat": now, "exp": now + 600}),
            "HS256",
            secret,
        ),
    )
    .await
    .assert_status(200);
    // Expired.
    check(
        forge_token(
            &json!({"sub": sub, "iat": now - 7200, "exp": now - 3600}),
            "HS256",
            secret,
        ),
        "Token has expired",
    )
    .await;
    // Bad signature.
    check(
        forge_token(
            &json!({"sub": sub, "exp": now + 600}),
            "HS256",
            b"another-secret-that-is-32-bytes-long!!",
        ),
        "Could not validate credentials",
    )
    .await;
    // alg none, in every spelling.
    for alg in ["none", "None", "NONE"] {
        check(
            forge_token_with_header(
                &json!({"alg": alg, "typ": "JWT"}),
                &json!({"sub": sub, "exp": now + 600}),
                "none",
                secret,
            ),
            "Could not validate credentials",
        )
        .await;
    }
    // Another algorithm than the configured HS256, correctly signed with it.
    check(
        forge_token(&json!({"sub": sub, "exp": now + 600}), "HS512", secret),
        "Could not validate credentials",
    )
    .await;
    check(
        forge_token(&json!({"sub": sub, "exp": now + 600}), "HS384", secret),
        "Could not validate credentials",
    )
    .await;
    // An HS256 signature under an RS256 header.
    check(
        forge_token_with_header(
            &json!({"alg": "RS256", "typ": "JWT"}),
            &json!({"sub": sub, "exp": now + 600}),
            "HS256",
            secret,
        ),
        "Could not validate credentials",
    )
    .await;
    // No sub; sub not an integer; sub of nobody.
    check(
        forge_token(&json!({"exp": now + 600}), "HS256", secret),
        "Could not validate credentials",
    )
    .await;
    check(
        forge_token(&json!({"sub": "abc", "exp": now + 600}), "HS256", secret),
        "Could not validate credentials",
    )
    .await;
    check(
        forge_token(&json!({"sub": "", "exp": now + 600}), "HS256", secret),
        "Could not validate credentials",
    )
    .await;
    check(
        forge_token(&json!({"sub": "999999", "exp": now + 600}), "HS256", secret),
        "Could not validate credentials",
    )
    .await;
    check(
        forge_token(
            &json!({"sub": "99999999999999999999999", "exp": now + 600}),
            "HS256",
            secret,
        ),
        "Could not validate credentials",
    )
    .await;
    // A tampered payload keeps the old signature.
    let good = forge_token(&json!({"sub": sub, "exp": now + 600}), "HS256", secret);
    let parts: Vec<&str> = good.split('.').collect();
    // Same user, longer life: only the signature can tell the payload was changed.
    let other_payload = forge_token(&json!({"sub": sub, "exp": now + 86_400}), "HS256", b"x");
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        other_payload.split('.').nth(1).unwrap(),
        parts[2]
    );
    check(tampered, "Could not validate credentials").await;
});

both_backends!(
    old_service_tokens_with_only_sub_and_exp_are_accepted,
    |app| {
        let u = app.new_user().await;
        let token = forge_token(
            &json!({"sub": u.id.to_string(), "exp": now_secs() + 900}),
            "HS256",
            JWT_SECRET.as_bytes(),
        );
        let r = app.get_auth(PROTECTED, &token).await;
        r.assert_status(200);
        // And such a token can be refreshed into a new-style one.
        let r = app
            .post_auth("/api/v1/auth/refresh_token", &token, &json!({}))
            .await;
        r.assert_status(200);
        let (_, claims) = decode_jwt(r.json()["access_token"].as_str().unwrap());
        assert_eq!(claims["sub"], json!(u.id.to_string()));
        assert!(claims["iat"].is_i64());
    }
);

both_backends!(refresh_token_issues_a_new_token_for_the_same_user, |app| {
    let u = app.new_user().await;
    // Make iat differ from the login token's.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let r = app
        .post_auth("/api/v1/auth/refresh_token", &u.token, &json!({}))
        .await;
    r.assert_status(200)
        .assert_json_content_type()
        .assert_security_headers();
    assert_eq!(r.header("cache-control").as_deref(), Some("no-store"));
    let body = r.json();
    assert_eq!(body["token_type"], "bearer");
    let token = body["access_token"].as_str().unwrap().to_string();
    let (h, claims) = decode_jwt(&token);
    let (_, old_claims) = decode_jwt(&u.token);
    assert_eq!(h["alg"], "HS256");
    assert_eq!(claims["sub"], json!(u.id.to_string()));
    assert!(claims["exp"].as_i64().unwrap() > old_claims["exp"].as_i64().unwrap());
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        1800
    );
    app.get_auth(PROTECTED, &token).await.assert_status(200);
    // Without a body at all.
    let r = app
        .send(
            app.request(Method::POST, "/api/v1/auth/refresh_token")
                .bearer_auth(&u.token),
        )
        .await;
    r.assert_status(200);
    // Without a token.
    app.send(app.request(Method::POST, "/api/v1/auth/refresh_token"))
        .await
        .assert_error(401, "Not authenticated");
    app.get_auth("/api/v1/auth/refresh_token", &u.token)
        .await
        .assert_error(405, "Method Not Allowed");
});

both_backends!(
    hs384_by_configuration,
    Options::new().jwt_algorithm("HS384"),
    |app| {
        let u = app.new_user().await;
        let (h, _) = decode_jwt(&u.token);
        assert_eq!(h["alg"], "HS384");
        assert!(jwt_signature_ok(&u.token, "HS384"));
        app.get_auth(PROTECTED, &u.token).await.assert_status(200);
        let now = now_secs();
        let claims = json!({"sub": u.id.to_string(), "iat": now, "exp": now + 600});
        app.get_auth(
            PROTECTED,
            &forge_token(&claims, "HS384", JWT_SECRET.as_bytes()),
        )
        .await
        .assert_status(200);
        for alg in ["HS256", "HS512", "none"] {
            app.get_auth(PROTECTED, &forge_token(&claims, alg, JWT_SECRET.as_bytes()))
                .await
                .assert_error(401, "Could not validate credentials");
        }
        let r = app
            .post_auth("/api/v1/auth/refresh_token", &u.token, &json!({}))
            .await;
        r.assert_status(200);
        assert_eq!(
            decode_jwt(r.json()["access_token"].as_str().unwrap()).0["alg"],
            "HS384"
        );
    }
);

both_backends!(
    hs512_by_configuration,
    Options::new().jwt_algorithm("HS512"),
    |app| {
        let u = app.new_user().await;
        let (h, _) = decode_jwt(&u.token);
        assert_eq!(h["alg"], "HS512");
        assert!(jwt_signature_ok(&u.token, "HS512"));
        app.get_auth(PROTECTED, &u.token).await.assert_status(200);
        let now = now_secs();
        let claims = json!({"sub": u.id.to_string(), "exp": now + 600});
        app.get_auth(
            PROTECTED,
            &forge_token(&claims, "HS512", JWT_SECRET.as_bytes()),
        )
        .await
        .assert_status(200);
        app.get_auth(
            PROTECTED,
            &forge_token(&claims, "HS256", JWT_SECRET.as_bytes()),
        )
        .await
        .assert_error(401, "Could not validate credentials");
    }
);

both_backends!(
    expiration_minutes_by_configuration,
    Options::new().jwt_expiration_minutes("5"),
    |app| {
        let u = app.new_user().await;
        let (_, claims) = decode_jwt(&u.token);
        let iat = claims["iat"].as_i64().unwrap();
        assert_eq!(claims["exp"].as_i64().unwrap() - iat, 300);
        assert!((claims["exp"].as_i64().unwrap() - (now_secs() + 300)).abs() < 60);
    }
);

both_backends!(every_protected_route_needs_a_token, |app| {
    let routes: &[(Method, &str)] = &[
        (Method::POST, "/api/v1/auth/refresh_token"),
        (Method::PUT, "/api/v1/users/1"),
        (Method::DELETE, "/api/v1/users/1"),
        (Method::PUT, "/api/v1/users/abc"),
        (Method::DELETE, "/api/v1/users/abc"),
        (Method::GET, "/api/v1/brands/"),
        (Method::GET, "/api/v1/brands"),
        (Method::POST, "/api/v1/brands/"),
        (Method::POST, "/api/v1/brands"),
        (Method::GET, "/api/v1/brands/1"),
        (Method::GET, "/api/v1/brands/abc"),
        (Method::PUT, "/api/v1/brands/1"),
        (Method::PUT, "/api/v1/brands/abc"),
        (Method::DELETE, "/api/v1/brands/1"),
        (Method::DELETE, "/api/v1/brands/abc"),
        (Method::GET, "/api/v1/cars/"),
        (Method::GET, "/api/v1/cars"),
        (Method::GET, "/api/v1/cars/?limit=0&fuel_type=steam"),
        (Method::POST, "/api/v1/cars/"),
        (Method::POST, "/api/v1/cars"),
        (Method::GET, "/api/v1/cars/1"),
        (Method::GET, "/api/v1/cars/abc"),
        (Method::GET, "/api/v1/cars/99999999999999999999999"),
        (Method::PUT, "/api/v1/cars/1"),
        (Method::PUT, "/api/v1/cars/abc"),
        (Method::DELETE, "/api/v1/cars/1"),
        (Method::DELETE, "/api/v1/cars/abc"),
    ];
    for (m, path) in routes {
        // An invalid body too: authentication comes before validation.
        let r = app
            .send(
                app.request(m.clone(), path)
                    .header("content-type", "application/json")
                    .body("{\"name\": 1, \"price\": -1"),
            )
            .await;
        assert_eq!(r.status, 401, "{m} {path}: {}", r.text());
        r.assert_error(401, "Not authenticated")
            .assert_security_headers();
    }
});

both_backends!(login_time_does_not_reveal_whether_the_email_exists, |app| {
    // Known e-mail + wrong password must cost a password verification; an unknown e-mail
    // must cost about the same (a dummy verification), not answer at once.
    let mut users = vec![];
    for _ in 0..3 {
        users.push(app.new_user().await);
    }
    let time = |email: String| async move {
        let start = std::time::Instant::now();
        let r = app.failed_login(&email).await;
        let took = start.elapsed();
        r.assert_error(401, "Incorrect email or password");
        took
    };
    let mut known = vec![];
    let mut unknown = vec![];
    // Interleaved, at most 3 failures per e-mail (below any throttling).
    for round in 0..3 {
        for u in &users {
            known.push(time(u.email.clone()).await);
            unknown.push(time(format!("ghost{round}-{}", unique_email())).await);
        }
    }
    known.sort();
    unknown.sort();
    let (k, u) = (known[known.len() / 2], unknown[unknown.len() / 2]);
    assert!(
        u * 3 >= k && k * 3 >= u,
        "median login time: known e-mail {k:?}, unknown e-mail {u:?}"
    );
});
