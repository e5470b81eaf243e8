//! Hostile input: the contract's answer (never a 5xx), and never a half-stored row.

use e2e_tests::*;

/// FastAPI's answer to a body that is not JSON (or not UTF-8): 422, `json_invalid`.
fn assert_json_invalid(r: &Resp) {
    r.assert_status(422);
    let detail = r.json()["detail"].clone();
    assert_eq!(detail[0]["type"], "json_invalid", "{detail}");
    assert_eq!(detail[0]["loc"][0], "body", "{detail}");
}

const NUL: &str = "Texto não pode conter o caractere NUL";

async fn counts(app: &TestApp) -> (i64, i64, i64) {
    (
        app.count_rows("users").await,
        app.count_rows("brands").await,
        app.count_rows("cars").await,
    )
}

both_backends!(invalid_utf8_bodies_are_4xx, |app| {
    let u = app.new_user().await;
    let before = counts(app).await;
    let bodies: Vec<Vec<u8>> = vec![
        b"{\"username\": \"ab\xff\xfecd\", \"email\": \"x@example.com\", \"password\": \"secret123\"}".to_vec(),
        b"\xff\xfe\xfd".to_vec(),
        b"{\"name\": \"\xc3\x28\"}".to_vec(),
        b"{\"name\": \"\xed\xa0\x80xx\"}".to_vec(),
    ];
    for body in bodies {
        for (path, token) in [
            ("/api/v1/users/", None),
            ("/api/v1/brands/", Some(u.token.as_str())),
            ("/api/v1/cars/", Some(u.token.as_str())),
        ] {
            let r = app.post_raw(path, token, body.clone()).await;
            assert_json_invalid(&r);
            r.assert_security_headers();
        }
    }
    // Lone surrogates written as JSON escapes: not a string JSON can carry.
    let r = app
        .post_raw(
            "/api/v1/brands/",
            Some(&u.token),
            r#"{"name": "ab\ud800cd"}"#,
        )
        .await;
    assert_json_invalid(&r);
    assert_eq!(counts(app).await, before);
});

both_backends!(
    nul_in_stored_text_is_422_and_a_password_may_hold_it,
    |app| {
        let u = app.new_user().await;
        let brand = app.create_brand(&u.token, "NulBrand").await;
        let brand_id = brand["id"].as_i64().unwrap();
        let before = counts(app).await;
        // Text that would be stored: PostgreSQL cannot hold U+0000, so both backends refuse it.
        app.post(
            "/api/v1/users/",
            &json!({"username": "nul\u{0}user", "email": unique_email(), "password": PASSWORD}),
        )
        .await
        .assert_422(&[value_error("username", NUL)]);
        app.post_auth(
            "/api/v1/brands/",
            &u.token,
            &json!({"name": "Nul\u{0}Brand"}),
        )
        .await
        .assert_422(&[value_error("name", NUL)]);
        app.post_auth(
        "/api/v1/cars/",
        &u.token,
        &json!({"model": "M\u{0}del", "factory_year": 2020, "model_year": 2020, "color": "C\u{0}r", "plate": "NUL\u{0}1234", "fuel_type": "flex", "transmission": "manual", "price": 10, "brand_id": brand_id, "description": "\u{0}"}),
    )
    .await
    .assert_422(&[
        value_error("model", NUL),
        value_error("color", NUL),
        value_error("plate", NUL),
        value_error("description", NUL),
    ]);
        app.put_auth(
            &format!("/api/v1/brands/{brand_id}"),
            &u.token,
            &json!({"description": "a\u{0}b"}),
        )
        .await
        .assert_422(&[value_error("description", NUL)]);
        // In searches, the same rule at the query parameter.
        for (path, token) in [
            ("/api/v1/users/?search=%00", None),
            ("/api/v1/users/?search=a%00b", None),
            ("/api/v1/brands/?search=%00", Some(u.token.as_str())),
            ("/api/v1/cars/?search=%00", Some(u.token.as_str())),
        ] {
            let r = match token {
                Some(token) => app.get_auth(path, token).await,
                None => app.get(path).await,
            };
            r.assert_status(422);
            let entry = r.entry(json!(["query", "search"]));
            assert_eq!(entry["msg"], format!("Value error, {NUL}"), "{path}");
        }
        assert_eq!(counts(app).await, before);

        // A password is hashed, never stored as text: U+0000 in it is just a character.
        let email = unique_email();
        let password = "pass\u{0}word";
        app.post(
            "/api/v1/users/",
            &json!({"username": unique("nulpw"), "email": email, "password": password}),
        )
        .await
        .assert_status(201);
        app.try_login(&email, password).await.assert_status(200);
        app.try_login(&email, "pass").await.assert_status(422);
        app.try_login(&email, "pass\u{0}wore")
            .await
            .assert_status(401);
        // A login's email is checked like any email; a NUL password is only a wrong one.
        app.post(
            "/api/v1/auth/token",
            &json!({"email": "a\u{0}@example.com", "password": "x\u{0}xxxxxx"}),
        )
        .await
        .assert_422(&[email_error("email")]);
        app.try_login(&u.email, "x\u{0}xxxxxx")
            .await
            .assert_status(401);
        let after = counts(app).await;
        assert_eq!(after, (before.0 + 1, before.1, before.2));
    }
);

both_backends!(one_megabyte_strings_are_413_and_nothing_is_stored, |app| {
    let u = app.new_user().await;
    let brand_id = app.create_brand(&u.token, "Big").await["id"]
        .as_i64()
        .unwrap();
    let before = counts(app).await;
    let huge = "a".repeat(1024 * 1024);
    app.post(
        "/api/v1/users/",
        &json!({"username": huge, "email": unique_email(), "password": PASSWORD}),
    )
    .await
    .assert_error(413, "Request body too large");
    app.post_auth(
        "/api/v1/brands/",
        &u.token,
        &json!({"name": "Huge", "description": huge}),
    )
    .await
    .assert_error(413, "Request body too large");
    let mut car = car_body(brand_id, &unique_plate());
    car["model"] = json!(huge);
    app.post_auth("/api/v1/cars/", &u.token, &car)
        .await
        .assert_error(413, "Request body too large");
    app.put_auth(
        &format!("/api/v1/users/{}", u.id),
        &u.token,
        &json!({"username": huge}),
    )
    .await
    .assert_error(413, "Request body too large");
    assert_eq!(counts(app).await, before);
    assert_eq!(
        app.stored_row("users", u.id).await.unwrap()["username"],
        json!(u.username)
    );
});

both_backends!(sixty_kilobyte_strings_are_422_length_errors, |app| {
    let u = app.new_user().await;
    let brand_id = app.create_brand(&u.token, "Sixty").await["id"]
        .as_i64()
        .unwrap();
    let before = counts(app).await;
    let s = "é".repeat(30_000); // 60,000 bytes
    // One long field per request: two would pass the 64 KiB limit.
    let r = app
        .post(
            "/api/v1/users/",
            &json!({"username": s, "email": unique_email(), "password": PASSWORD}),
        )
        .await;
    r.assert_422(&[value_error(
        "username",
        "Username deve ter no máximo 50 caracteres",
    )]);
    let r = app
        .post(
            "/api/v1/users/",
            &json!({"username": unique("long"), "email": unique_email(), "password": s}),
        )
        .await;
    r.assert_422(&[value_error(
        "password",
        "Senha deve ter no máximo 128 caracteres",
    )]);
    let r = app
        .post_auth("/api/v1/brands/", &u.token, &json!({"name": s}))
        .await;
    r.assert_422(&[value_error(
        "name",
        "Nome da marca deve ter no máximo 50 caracteres",
    )]);
    let r = app
        .post_auth(
            "/api/v1/brands/",
            &u.token,
            &json!({"name": "Ok", "description": s}),
        )
        .await;
    r.assert_status(422);
    r.entry(json!(["body", "description"]));
    let mut car = car_body(brand_id, &unique_plate());
    car["model"] = json!(s);
    app.post_auth("/api/v1/cars/", &u.token, &car)
        .await
        .assert_422(&[value_error(
            "model",
            "Modelo deve ter no máximo 100 caracteres",
        )]);
    let mut car = car_body(brand_id, &unique_plate());
    car["plate"] = json!(s);
    app.post_auth("/api/v1/cars/", &u.token, &car)
        .await
        .assert_422(&[value_error(
            "plate",
            "Placa deve ter entre 7 e 10 caracteres",
        )]);
    let mut car = car_body(brand_id, &unique_plate());
    car["description"] = json!(s);
    let r = app.post_auth("/api/v1/cars/", &u.token, &car).await;
    r.assert_status(422);
    r.entry(json!(["body", "description"]));
    app.put_auth(
        &format!("/api/v1/users/{}", u.id),
        &u.token,
        &json!({"email": format!("{s}@example.com")}),
    )
    .await
    .assert_422(&[email_error("email")]);
    // A search has no length limit: long text matches nothing. A login's password has
    // only a minimum (as in the old service): a long wrong one is just wrong.
    let r = app
        .send(
            app.request(Method::GET, "/api/v1/users/")
                .query(&[("search", &"x".repeat(20_000))]),
        )
        .await;
    r.assert_status(200);
    assert_eq!(r.json()["users"], json!([]));
    app.post(
        "/api/v1/auth/token",
        &json!({"email": u.email, "password": s}),
    )
    .await
    .assert_error(401, "Incorrect email or password");
    assert_eq!(counts(app).await, before);
});

both_backends!(ids_past_64_bits_are_422, |app| {
    let u = app.new_user().await;
    let brand_id = app.create_brand(&u.token, "Ids").await["id"]
        .as_i64()
        .unwrap();
    for id in [
        "9223372036854775808",
        "18446744073709551616",
        "340282366920938463463374607431768211456",
        "-9223372036854775809",
    ] {
        for (m, path) in [
            (Method::GET, format!("/api/v1/users/{id}")),
            (Method::PUT, format!("/api/v1/users/{id}")),
            (Method::DELETE, format!("/api/v1/users/{id}")),
            (Method::GET, format!("/api/v1/brands/{id}")),
            (Method::PUT, format!("/api/v1/brands/{id}")),
            (Method::DELETE, format!("/api/v1/brands/{id}")),
            (Method::GET, format!("/api/v1/cars/{id}")),
            (Method::PUT, format!("/api/v1/cars/{id}")),
            (Method::DELETE, format!("/api/v1/cars/{id}")),
        ] {
            let r = app
                .send(
                    app.request(m.clone(), &path)
                        .bearer_auth(&u.token)
                        .json(&json!({})),
                )
                .await;
            assert_eq!(r.status, 422, "{m} {path}: {}", r.text());
            let detail = r.json()["detail"].as_array().unwrap().clone();
            assert_eq!(detail.len(), 1, "{detail:?}");
            assert_eq!(detail[0]["loc"][0], "path");
            assert_eq!(detail[0]["input"], json!(id));
        }
    }
    // In bodies and queries: 4xx, nothing stored.
    let before = counts(app).await;
    let r = app
        .post_raw(
            "/api/v1/cars/",
            Some(&u.token),
            format!(r#"{{"model":"Gol","factory_year":2010,"model_year":2010,"color":"Azul","plate":"{}","fuel_type":"flex","transmission":"manual","price":10,"brand_id":99999999999999999999999}}"#, unique_plate()),
        )
        .await;
    // Past 64 bits no row can have the id: the brand is unknown.
    r.assert_error(400, "Marca não encontrada");
    let r = app
        .post_raw(
            "/api/v1/cars/",
            Some(&u.token),
            format!(r#"{{"model":"Gol","factory_year":99999999999999999999,"model_year":1e400,"color":"Azul","plate":"{}","fuel_type":"flex","transmission":"manual","price":10,"brand_id":{brand_id}}}"#, unique_plate()),
        )
        .await;
    r.assert_status(422);
    r.entry(json!(["body", "factory_year"]));
    r.entry(json!(["body", "model_year"]));
    // Unbounded filters past 64 bits match nothing; bounded ones and non-numbers are 422.
    let r = app
        .get_auth("/api/v1/cars/?brand_id=99999999999999999999", &u.token)
        .await;
    r.assert_status(200);
    assert_eq!(r.json()["cars"], json!([]));
    for (q, name, kind) in [
        ("limit=99999999999999999999", "limit", "less_than_equal"),
        ("limit=1e400", "limit", "int_parsing"),
        ("max_price=NaN", "max_price", "finite_number"),
    ] {
        let r = app.get_auth(&format!("/api/v1/cars/?{q}"), &u.token).await;
        r.assert_status(422);
        assert_eq!(r.entry(json!(["query", name]))["type"], kind, "{q}");
    }
    let r = app
        .get_auth("/api/v1/cars/?limit=99999999999999999999", &u.token)
        .await;
    r.assert_status(422);
    assert_eq!(
        r.entry(json!(["query", "limit"]))["input"],
        "99999999999999999999"
    );
    assert_eq!(counts(app).await, before);
});

fn nested(depth: usize, open: &str, close: &str, inner: &str) -> String {
    format!("{}{}{}", open.repeat(depth), inner, close.repeat(depth))
}

both_backends!(deeply_nested_json_is_4xx, |app| {
    let u = app.new_user().await;
    let before = counts(app).await;
    let bodies = [
        nested(10_000, "[", "]", ""),
        nested(10_000, "{\"a\":", "}", "1"),
        format!(
            r#"{{"username": {}, "email": "deep@example.com", "password": "secret123"}}"#,
            nested(10_000, "[", "]", "")
        ),
        format!(
            r#"{{"name": "Deep", "description": {}}}"#,
            nested(5_000, "{\"a\":", "}", "1")
        ),
        // Unterminated.
        "[".repeat(60_000),
    ];
    for body in bodies {
        assert!(body.len() <= 65536);
        for (path, token) in [
            ("/api/v1/users/", None),
            ("/api/v1/brands/", Some(u.token.as_str())),
            ("/api/v1/auth/token", None),
        ] {
            let r = app.post_raw(path, token, body.clone()).await;
            assert_json_invalid(&r);
        }
    }
    assert_eq!(counts(app).await, before);
    // Still alive and well.
    app.get("/health_check").await.assert_status(200);
    app.get_auth("/api/v1/brands/", &u.token)
        .await
        .assert_status(200);
});

both_backends!(odd_json_values_are_422_not_500, |app| {
    let u = app.new_user().await;
    let before = counts(app).await;
    let cases = [
        r#"{"username": null, "email": null, "password": null}"#,
        r#"{"username": 123, "email": ["a@example.com"], "password": {"x": 1}}"#,
        r#"{"username": true, "email": 1e400, "password": -0}"#,
        r#"{"username": "dup", "username": "dup2", "email": "d@example.com"}"#,
        r#"{"username": "abc", "email": "a@example.com", "password": "secret123""#,
        r#"{"username": "abc", "email": "a@example.com", "password": "secret123"} trailing"#,
        r#"{'username': 'abc'}"#,
        "",
        " ",
        "\u{feff}{}",
    ];
    for body in cases {
        let r = app.post_raw("/api/v1/users/", None, body).await;
        r.assert_status(422);
        assert!(r.json()["detail"].is_array(), "{body:?}: {}", r.text());
    }
    let r = app
        .post_raw(
            "/api/v1/users/",
            None,
            r#"{"username": null, "email": null, "password": null}"#,
        )
        .await;
    r.assert_status(422);
    assert_eq!(r.json()["detail"].as_array().unwrap().len(), 3);
    let r = app.post_raw("/api/v1/users/", None, "").await;
    r.assert_status(422);
    for body in [
        r#"{"name": null}"#,
        r#"{"name": {"$gt": ""}}"#,
        r#"{"name": ["a", "b"]}"#,
    ] {
        let r = app.post_raw("/api/v1/brands/", Some(&u.token), body).await;
        r.assert_status(422);
        r.entry(json!(["body", "name"]));
    }
    // SQL-looking text is just text.
    let name = "x'); DROP TABLE users; --";
    let r = app
        .post_auth("/api/v1/brands/", &u.token, &json!({"name": name}))
        .await;
    r.assert_status(201);
    assert_eq!(r.json()["name"], name);
    let r = app
        .send(
            app.request(Method::GET, "/api/v1/brands/")
                .bearer_auth(&u.token)
                .query(&[("search", "' OR '1'='1")]),
        )
        .await;
    r.assert_status(200);
    assert_eq!(r.json()["brands"].as_array().unwrap().len(), 0);
    let after = counts(app).await;
    assert_eq!(after, (before.0, before.1 + 1, before.2));
});
