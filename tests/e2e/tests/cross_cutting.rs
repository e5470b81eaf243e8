//! Behaviour shared by every route: routing errors, trailing slashes, body limit,
//! security headers, request ids.

use e2e_tests::*;

both_backends!(unknown_paths_are_json_404, |app| {
    let u = app.new_user().await;
    for path in [
        "/",
        "/nope",
        "/api",
        "/api/v1",
        "/api/v1/",
        "/api/v1/nope",
        "/api/v1/carsx",
        "/api/v1/users/1/extra",
        "/api/v1/auth/unknown",
        "/api/v1/cars/1/owner",
        "/api/v1/brands/1/cars",
        "/health_checkx",
        "/api/v2/cars/",
    ] {
        for token in [None, Some(u.token.as_str())] {
            let mut rb = app.request(Method::GET, path);
            if let Some(t) = token {
                rb = rb.bearer_auth(t);
            }
            let r = app.send(rb).await;
            assert_eq!(r.status, 404, "GET {path}: {}", r.text());
            r.assert_error(404, "Not Found").assert_security_headers();
        }
        let r = app.post(path, &json!({})).await;
        assert_eq!(r.status, 404, "POST {path}: {}", r.text());
        r.assert_error(404, "Not Found");
    }
});

both_backends!(wrong_methods_are_json_405, |app| {
    let u = app.new_user().await;
    let cases: &[(Method, &str)] = &[
        (Method::DELETE, "/api/v1/users/"),
        (Method::PUT, "/api/v1/users"),
        (Method::PATCH, "/api/v1/users/1"),
        (Method::POST, "/api/v1/users/1"),
        (Method::GET, "/api/v1/auth/token"),
        (Method::PUT, "/api/v1/auth/token"),
        (Method::GET, "/api/v1/auth/refresh_token"),
        (Method::PUT, "/api/v1/brands/"),
        (Method::DELETE, "/api/v1/brands"),
        (Method::POST, "/api/v1/brands/1"),
        (Method::PATCH, "/api/v1/brands/1"),
        (Method::DELETE, "/api/v1/cars/"),
        (Method::PUT, "/api/v1/cars"),
        (Method::POST, "/api/v1/cars/1"),
        (Method::PATCH, "/api/v1/cars/1"),
        (Method::POST, "/health_check"),
        (Method::DELETE, "/health_check/detailed"),
    ];
    for (m, path) in cases {
        // With and without a token: the method is checked before authentication.
        for token in [None, Some(u.token.as_str())] {
            let mut rb = app.request(m.clone(), path);
            if let Some(t) = token {
                rb = rb.bearer_auth(t);
            }
            let r = app.send(rb).await;
            assert_eq!(r.status, 405, "{m} {path}: {}", r.text());
            r.assert_error(405, "Method Not Allowed")
                .assert_security_headers();
        }
    }
    assert_eq!(app.count_rows("users").await, 1);
});

both_backends!(collections_answer_with_and_without_trailing_slash, |app| {
    let u = app.new_user().await;
    // POST on both spellings.
    for path in ["/api/v1/users", "/api/v1/users/"] {
        let r = app
            .post(path, &json!({"username": unique("slash"), "email": unique_email(), "password": PASSWORD}))
            .await;
        assert_eq!(r.status, 201, "POST {path}: {}", r.text());
        assert!(r.header("location").is_none());
    }
    let mut brand_id = 0;
    for path in ["/api/v1/brands", "/api/v1/brands/"] {
        let r = app
            .post_auth(path, &u.token, &json!({"name": unique("Slash")}))
            .await;
        assert_eq!(r.status, 201, "POST {path}: {}", r.text());
        brand_id = r.json()["id"].as_i64().unwrap();
    }
    for path in ["/api/v1/cars", "/api/v1/cars/"] {
        let r = app
            .post_auth(path, &u.token, &car_body(brand_id, &unique_plate()))
            .await;
        assert_eq!(r.status, 201, "POST {path}: {}", r.text());
    }
    assert_eq!(app.count_rows("users").await, 3);
    assert_eq!(app.count_rows("brands").await, 2);
    assert_eq!(app.count_rows("cars").await, 2);
    // GET on both spellings: same answer, never a redirect.
    for (base, key, n) in [
        ("/api/v1/users", "users", 3),
        ("/api/v1/brands", "brands", 2),
        ("/api/v1/cars", "cars", 2),
    ] {
        let a = app.get_auth(&format!("{base}?limit=50"), &u.token).await;
        let b = app.get_auth(&format!("{base}/?limit=50"), &u.token).await;
        assert_eq!(a.status, 200, "GET {base}: {}", a.text());
        assert_eq!(b.status, 200, "GET {base}/: {}", b.text());
        assert_eq!(a.json(), b.json());
        assert_eq!(a.json()[key].as_array().unwrap().len(), n);
        assert_eq!(a.json()["limit"], 50);
    }
    // Errors are the same on both spellings too.
    for base in ["/api/v1/brands", "/api/v1/cars"] {
        app.get(base).await.assert_error(401, "Not authenticated");
        app.get(&format!("{base}/"))
            .await
            .assert_error(401, "Not authenticated");
    }
});

fn padded_user_body(total: usize) -> String {
    let body = json!({"username": unique("big"), "email": unique_email(), "password": PASSWORD})
        .to_string();
    assert!(body.len() < total);
    // Trailing whitespace keeps it valid JSON.
    format!("{body}{}", " ".repeat(total - body.len()))
}

both_backends!(bodies_over_64_kib_are_413, |app| {
    let u = app.new_user().await;
    // Exactly 64 KiB: processed.
    let r = app
        .post_raw("/api/v1/users/", None, padded_user_body(65536))
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(app.count_rows("users").await, 2);
    // One byte more: 413, whatever the route.
    let over = padded_user_body(65537);
    let r = app.post_raw("/api/v1/users/", None, over.clone()).await;
    r.assert_error(413, "Request body too large")
        .assert_security_headers();
    let routes: &[(Method, &str)] = &[
        (Method::POST, "/api/v1/auth/token"),
        (Method::POST, "/api/v1/brands/"),
        (Method::POST, "/api/v1/cars/"),
        (Method::PUT, "/api/v1/users/ID"),
        (Method::POST, "/api/v1/auth/refresh_token"),
    ];
    for (m, path) in routes {
        let path = path.replace("ID", &u.id.to_string());
        let r = app
            .send(
                app.request(m.clone(), &path)
                    .bearer_auth(&u.token)
                    .header("content-type", "application/json")
                    .body(over.clone()),
            )
            .await;
        assert_eq!(r.status, 413, "{m} {path}: {}", r.text());
        r.assert_error(413, "Request body too large");
    }
    // Much larger, and without Content-Length (chunked).
    let big = "x".repeat(1024 * 1024);
    let r = app.post_raw("/api/v1/users/", None, big).await;
    r.assert_error(413, "Request body too large");
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        (0..20).map(|_| Ok(vec![b' '; 8192])).collect();
    let stream = futures::stream::iter(chunks);
    let r = app
        .send(
            app.request(Method::POST, "/api/v1/users/")
                .header("content-type", "application/json")
                .body(reqwest::Body::wrap_stream(stream)),
        )
        .await;
    r.assert_error(413, "Request body too large");
    assert_eq!(app.count_rows("users").await, 2);
    // The row from the 64 KiB request is intact and the app is still fine.
    app.get("/health_check").await.assert_status(200);
});

both_backends!(security_headers_on_every_kind_of_response, |app| {
    let u = app.new_user().await;
    let brand = app.create_brand(&u.token, "Headers").await;
    let car = app
        .create_car(
            &u.token,
            brand["id"].as_i64().unwrap(),
            &unique_plate(),
            json!({}),
        )
        .await;
    let v = app.new_user().await;
    let responses = vec![
        ("200 health", app.get("/health_check").await),
        ("200 detailed", app.get("/health_check/detailed").await),
        ("200 list", app.get("/api/v1/users/").await),
        (
            "200 token",
            app.post(
                "/api/v1/auth/token",
                &json!({"email": u.email, "password": PASSWORD}),
            )
            .await,
        ),
        (
            "201",
            app.post_auth("/api/v1/brands/", &u.token, &json!({"name": "Headers2"}))
                .await,
        ),
        (
            "400",
            app.post_auth("/api/v1/brands/", &u.token, &json!({"name": "Headers"}))
                .await,
        ),
        ("401", app.get("/api/v1/cars/").await),
        (
            "401 bad token",
            app.get_auth("/api/v1/cars/", "x.y.z").await,
        ),
        (
            "403",
            app.get_auth(&format!("/api/v1/cars/{}", car["id"]), &v.token)
                .await,
        ),
        ("404", app.get("/nowhere").await),
        ("404 resource", app.get("/api/v1/users/999999").await),
        (
            "405",
            app.send(app.request(Method::PATCH, "/api/v1/users/")).await,
        ),
        (
            "413",
            app.post_raw("/api/v1/users/", None, " ".repeat(70_000))
                .await,
        ),
        ("422", app.post("/api/v1/users/", &json!({})).await),
        ("422 json", app.post_raw("/api/v1/users/", None, "{").await),
        (
            "204",
            app.delete_auth(&format!("/api/v1/cars/{}", car["id"]), &u.token)
                .await,
        ),
    ];
    for (what, r) in &responses {
        assert!(r.status < 500, "{what}: {} {}", r.status, r.text());
        for (name, value) in SECURITY_HEADERS {
            assert_eq!(
                r.header(name).as_deref(),
                Some(*value),
                "{name} on the {what} response"
            );
        }
        assert!(
            r.header("x-request-id").is_some_and(|v| !v.is_empty()),
            "X-Request-Id on the {what} response"
        );
    }
    let codes: Vec<u16> = responses.iter().map(|(_, r)| r.status).collect();
    assert_eq!(
        codes,
        [
            200, 200, 200, 200, 201, 400, 401, 401, 403, 404, 404, 405, 413, 422, 422, 204
        ]
    );
    // JSON bodies say so.
    for (what, r) in &responses {
        if r.status != 204 {
            let ct = r.header("content-type").unwrap_or_default();
            assert!(
                ct.starts_with("application/json"),
                "content-type of {what}: {ct}"
            );
        }
    }
});

both_backends!(request_id_is_echoed_or_generated, |app| {
    let sent = format!("e2e-{}", unique_suffix());
    let r = app
        .send(
            app.request(Method::GET, "/health_check")
                .header("x-request-id", &sent),
        )
        .await;
    assert_eq!(r.header("x-request-id").as_deref(), Some(sent.as_str()));
    // On errors and on every component too.
    for (m, path) in [
        (Method::GET, "/nowhere"),
        (Method::GET, "/api/v1/users/999999"),
        (Method::GET, "/api/v1/cars/"),
        (Method::PATCH, "/api/v1/brands/"),
    ] {
        let id = format!("e2e-{}", unique_suffix());
        let r = app
            .send(app.request(m, path).header("x-request-id", &id))
            .await;
        assert_eq!(
            r.header("x-request-id").as_deref(),
            Some(id.as_str()),
            "{path}"
        );
    }
    // Generated: present, and different per request.
    let a = app.get("/health_check").await.header("x-request-id");
    let b = app.get("/api/v1/users/").await.header("x-request-id");
    let a = a.expect("generated X-Request-Id");
    let b = b.expect("generated X-Request-Id");
    assert!(!a.is_empty());
    assert_ne!(a, b);
    // The id is in the request's log line.
    let logged = format!("e2e-log-{}", unique_suffix());
    app.send(
        app.request(Method::GET, "/api/v1/users/")
            .header("x-request-id", &logged),
    )
    .await
    .assert_status(200);
    assert!(
        app.wait_for_log(&logged).await,
        "request id {logged} not in the log:\n{}",
        app.logs()
    );
});

both_backends!(json_responses_have_json_content_type, |app| {
    let u = app.new_user().await;
    for r in [
        app.get("/health_check").await,
        app.get("/api/v1/users/").await,
        app.get(&format!("/api/v1/users/{}", u.id)).await,
        app.get_auth("/api/v1/brands/", &u.token).await,
        app.get_auth("/api/v1/cars/", &u.token).await,
    ] {
        r.assert_status(200).assert_json_content_type();
        r.json();
    }
});
