//! /api/v1/users: registration, listing, reading, updating, deleting.

use e2e_tests::*;

both_backends!(
    create_user_returns_the_public_form_and_stores_an_argon2id_hash,
    |app| {
        let email = unique_email();
        let r = app
            .post(
                "/api/v1/users/",
                &json!({"username": "maria", "email": email, "password": PASSWORD}),
            )
            .await;
        r.assert_status(201)
            .assert_json_content_type()
            .assert_security_headers();
        let user = r.json();
        assert_public_user(&user);
        assert_eq!(user["username"], "maria");
        assert_eq!(user["email"], json!(email));
        assert_eq!(user["created_at"], user["updated_at"], "equal on creation");
        assert_recent_rfc3339(&user["created_at"]);
        assert!(
            !r.text().contains(PASSWORD),
            "the password never comes back"
        );

        let id = user["id"].as_i64().expect("integer id");
        let row = app.stored_row("users", id).await.expect("stored");
        assert_eq!(row["username"], "maria");
        assert_eq!(row["email"], json!(email));
        let hash = row["password_hash"].as_str().unwrap();
        assert!(
            hash.starts_with("$argon2id$"),
            "Argon2id PHC string: {hash}"
        );
        assert!(!hash.contains(PASSWORD));
        assert_eq!(app.count_rows("users").await, 1);

        // And it can be read back.
        let r = app.get(&format!("/api/v1/users/{id}")).await;
        r.assert_status(200);
        assert_eq!(r.json(), user);
    }
);

both_backends!(create_user_lowercases_only_the_email_domain, |app| {
    let local = unique("Mixed.Case");
    let r = app
        .post(
            "/api/v1/users/",
            &json!({"username": unique("mc"), "email": format!("{local}@Example.COM"), "password": PASSWORD}),
        )
        .await;
    r.assert_status(201);
    let expected = format!("{local}@example.com");
    assert_eq!(r.json()["email"], json!(expected));
    let id = r.json()["id"].as_i64().unwrap();
    assert_eq!(
        app.stored_row("users", id).await.unwrap()["email"],
        json!(expected)
    );
    // Login normalises the domain the same way...
    app.login(&format!("{local}@EXAMPLE.com"), PASSWORD).await;
    // ...but the local part is case-sensitive.
    app.post(
        "/api/v1/auth/token",
        &json!({"email": format!("{}@example.com", local.to_lowercase()), "password": PASSWORD}),
    )
    .await
    .assert_error(401, "Incorrect email or password");
    // The same address with another domain case is a duplicate.
    app.post(
        "/api/v1/users/",
        &json!({"username": unique("mc"), "email": format!("{local}@EXAMPLE.COM"), "password": PASSWORD}),
    )
    .await
    .assert_error(400, "Email já está em uso");
    assert_eq!(app.count_rows("users").await, 1);
});

both_backends!(create_user_duplicates_username_first_then_email, |app| {
    let u = app.new_user().await;
    // Both duplicated: the username is checked first.
    app.post(
        "/api/v1/users/",
        &json!({"username": u.username, "email": u.email, "password": PASSWORD}),
    )
    .await
    .assert_error(400, "Username já está em uso")
    .assert_security_headers();
    // Only the username.
    app.post(
        "/api/v1/users/",
        &json!({"username": u.username, "email": unique_email(), "password": PASSWORD}),
    )
    .await
    .assert_error(400, "Username já está em uso");
    // Only the email.
    app.post(
        "/api/v1/users/",
        &json!({"username": unique("other"), "email": u.email, "password": PASSWORD}),
    )
    .await
    .assert_error(400, "Email já está em uso");
    assert_eq!(app.count_rows("users").await, 1);
});

both_backends!(create_user_reports_every_failing_field, |app| {
    let r = app
        .post(
            "/api/v1/users/",
            &json!({"username": "ab", "email": "not-an-email", "password": "12345"}),
        )
        .await;
    let entries = r.assert_422(&[
        value_error("username", "Username deve ter pelo menos 3 caracteres"),
        email_error("email"),
        value_error("password", "Senha deve ter pelo menos 6 caracteres"),
    ]);
    assert_eq!(r.entry(json!(["body", "username"]))["input"], "ab");
    assert_eq!(r.entry(json!(["body", "email"]))["input"], "not-an-email");
    assert!(entries.len() == 3);
    r.assert_security_headers();
    assert_eq!(app.count_rows("users").await, 0);
});

both_backends!(create_user_missing_fields, |app| {
    let r = app.post("/api/v1/users/", &json!({})).await;
    r.assert_422(&[missing("username"), missing("email"), missing("password")]);
    assert_eq!(r.entry(json!(["body", "username"]))["input"], json!({}));
    let r = app
        .post("/api/v1/users/", &json!({"username": "someone"}))
        .await;
    r.assert_422(&[missing("email"), missing("password")]);
    assert_eq!(app.count_rows("users").await, 0);
});

both_backends!(create_user_length_bounds_count_characters, |app| {
    let reg = |username: String, password: String| {
        let body = json!({"username": username, "email": unique_email(), "password": password});
        async move { app.post("/api/v1/users/", &body).await }
    };
    // Upper bounds.
    reg("a".repeat(51), PASSWORD.into())
        .await
        .assert_422(&[value_error(
            "username",
            "Username deve ter no máximo 50 caracteres",
        )]);
    reg(unique("u"), "p".repeat(129))
        .await
        .assert_422(&[value_error(
            "password",
            "Senha deve ter no máximo 128 caracteres",
        )]);
    assert_eq!(app.count_rows("users").await, 0);
    // Exactly at the bounds: accepted.
    let name50 = format!("{}{}", unique("b"), "x".repeat(50))
        .chars()
        .take(50)
        .collect::<String>();
    let r = reg(name50.clone(), "p".repeat(128)).await;
    r.assert_status(201);
    assert_eq!(r.json()["username"], json!(name50));
    reg(unique("c").chars().take(3).collect(), "123456".into())
        .await
        .assert_status(201);
    // Characters, not bytes: "çã" is 2 characters (4 bytes), "ção" is 3.
    reg("çã".into(), PASSWORD.into())
        .await
        .assert_422(&[value_error(
            "username",
            "Username deve ter pelo menos 3 caracteres",
        )]);
    let r = reg("ção".into(), PASSWORD.into()).await;
    r.assert_status(201);
    assert_eq!(r.json()["username"], "ção");
    // 50 two-byte characters fit; 6 emoji make a valid password.
    reg("é".repeat(50), "😀".repeat(6)).await.assert_status(201);
    reg("é".repeat(51), PASSWORD.into())
        .await
        .assert_422(&[value_error(
            "username",
            "Username deve ter no máximo 50 caracteres",
        )]);
    reg(unique("d"), "😀".repeat(5))
        .await
        .assert_422(&[value_error(
            "password",
            "Senha deve ter pelo menos 6 caracteres",
        )]);
    assert_eq!(app.count_rows("users").await, 4);
});

both_backends!(create_user_rejects_bad_emails, |app| {
    for bad in [
        "plainaddress",
        "@example.com",
        "user@",
        "user@@example.com",
        "user example@example.com",
        "",
    ] {
        let r = app
            .post(
                "/api/v1/users/",
                &json!({"username": unique("e"), "email": bad, "password": PASSWORD}),
            )
            .await;
        r.assert_422(&[email_error("email")]);
        assert_eq!(r.entry(json!(["body", "email"]))["input"], json!(bad));
    }
    // Longer than 254 characters.
    let long = format!("{}@example.com", "a".repeat(250));
    app.post(
        "/api/v1/users/",
        &json!({"username": unique("e"), "email": long, "password": PASSWORD}),
    )
    .await
    .assert_422(&[email_error("email")]);
    assert_eq!(app.count_rows("users").await, 0);
});

both_backends!(create_user_body_must_be_a_json_object, |app| {
    for body in [
        "[]",
        "[{\"username\":\"abc\"}]",
        "\"text\"",
        "42",
        "1.5",
        "true",
    ] {
        let r = app.post_raw("/api/v1/users/", None, body).await;
        let entries = r.assert_422(&[ExpectedError::new(
            "model_attributes_type",
            json!(["body"]),
            "Input should be a valid dictionary or object to extract fields from",
        )]);
        assert_eq!(entries.len(), 1, "{body}");
    }
    // Not JSON at all: json_invalid at the byte offset of the error.
    let r = app
        .post_raw("/api/v1/users/", None, "{\"username\": x}")
        .await;
    r.assert_422(&[ExpectedError::new(
        "json_invalid",
        json!(["body", 13]),
        "JSON decode error",
    )]);
    let r = app
        .post_raw("/api/v1/users/", None, "{\"username\": \"abc\"")
        .await;
    let entries = r.assert_status(422).json()["detail"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0]["type"], "json_invalid");
    assert_eq!(entries[0]["msg"], "JSON decode error");
    assert_eq!(entries[0]["loc"][0], "body");
    assert!(entries[0]["loc"][1].is_u64(), "byte offset: {entries:?}");
    assert_eq!(app.count_rows("users").await, 0);
});

both_backends!(create_user_lax_input, |app| {
    // No Content-Type header, and an unknown field.
    let email = unique_email();
    let body = json!({"username": "laxuser", "email": email, "password": PASSWORD, "is_admin": true, "id": 999});
    let r = app
        .send(
            app.request(Method::POST, "/api/v1/users/")
                .body(body.to_string()),
        )
        .await;
    r.assert_status(201);
    let u = r.json();
    assert_eq!(u["username"], "laxuser");
    assert_ne!(u["id"], json!(999), "the id is not taken from the body");
    assert!(u.get("is_admin").is_none());
    // Content-Type with a charset.
    let r = app
        .send(
            app.request(Method::POST, "/api/v1/users/")
                .header("content-type", "application/json; charset=utf-8")
                .body(
                    json!({"username": "laxuser2", "email": unique_email(), "password": PASSWORD})
                        .to_string(),
                ),
        )
        .await;
    r.assert_status(201);
    assert_eq!(app.count_rows("users").await, 2);
});

both_backends!(list_users_paginates_in_id_order, |app| {
    let mut ids = vec![];
    for i in 0..5 {
        let u = app
            .register(&format!("lister{i}"), &unique_email(), PASSWORD)
            .await;
        assert_public_user(&u);
        ids.push(u["id"].as_i64().unwrap());
    }
    for path in ["/api/v1/users/", "/api/v1/users"] {
        let r = app.get(path).await;
        r.assert_status(200).assert_json_content_type();
        let body = r.json();
        assert_eq!(body["offset"], 0);
        assert_eq!(body["limit"], 100);
        let got: Vec<i64> = body["users"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| {
                assert_public_user(u);
                u["id"].as_i64().unwrap()
            })
            .collect();
        assert_eq!(got, ids);
    }
    let page = |q: &'static str| async move {
        let r = app.get(&format!("/api/v1/users/?{q}")).await;
        r.assert_status(200);
        r.json()
    };
    let p1 = page("limit=2").await;
    assert_eq!(p1["limit"], 2);
    assert_eq!(p1["offset"], 0);
    let p2 = page("offset=2&limit=2").await;
    assert_eq!(p2["offset"], 2);
    let p3 = page("offset=4&limit=2").await;
    let p4 = page("offset=10&limit=2").await;
    let idlist = |v: &Value| -> Vec<i64> {
        v["users"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["id"].as_i64().unwrap())
            .collect()
    };
    assert_eq!(idlist(&p1), ids[0..2]);
    assert_eq!(idlist(&p2), ids[2..4]);
    assert_eq!(idlist(&p3), ids[4..5]);
    assert!(idlist(&p4).is_empty());
    assert_eq!(p4["offset"], 10);
    // Stable: asking again gives the same page.
    assert_eq!(page("offset=2&limit=2").await, p2);
});

both_backends!(list_users_query_bounds_are_422, |app| {
    let r = app.get("/api/v1/users/?limit=0").await;
    r.assert_422(&[ge("limit", 1)]);
    let e = r.entry(json!(["query", "limit"]));
    assert_eq!(e["input"], "0");
    assert_eq!(e["ctx"], json!({"ge": 1}));

    let r = app.get("/api/v1/users/?limit=101").await;
    r.assert_422(&[le("limit", 100)]);
    let e = r.entry(json!(["query", "limit"]));
    assert_eq!(e["input"], "101");
    assert_eq!(e["ctx"], json!({"le": 100}));

    let r = app.get("/api/v1/users/?offset=-1").await;
    r.assert_422(&[ge("offset", 0)]);
    let e = r.entry(json!(["query", "offset"]));
    assert_eq!(e["input"], "-1");
    assert_eq!(e["ctx"], json!({"ge": 0}));

    let r = app.get("/api/v1/users/?limit=abc&offset=-5").await;
    r.assert_422(&[int_parsing("query", "limit"), ge("offset", 0)]);
    assert_eq!(r.entry(json!(["query", "limit"]))["input"], "abc");
    assert_eq!(r.entry(json!(["query", "offset"]))["input"], "-5");

    // Bounds themselves are fine.
    let r = app.get("/api/v1/users/?limit=100&offset=0").await;
    r.assert_status(200);
    assert_eq!(r.json()["limit"], 100);
    let r = app.get("/api/v1/users/?limit=1").await;
    r.assert_status(200);
    assert_eq!(r.json()["limit"], 1);
});

both_backends!(list_users_search_is_case_insensitive_and_literal, |app| {
    let mk = |name: &'static str, email: &'static str| async move {
        app.register(name, email, PASSWORD).await["id"]
            .as_i64()
            .unwrap()
    };
    let alice = mk("AliceSmith", "alice@example.com").await;
    let pct = mk("a%b", "pct@example.com").await;
    let under = mk("x_y", "under@example.com").await;
    let xay = mk("xay", "xay@example.com").await;
    let back = mk("back\\slash", "bs@example.com").await;
    let _bob = mk("bobby", "bob@mail.org").await;
    let search = |q: &'static str| async move {
        let r = app
            .send(
                app.request(Method::GET, "/api/v1/users/")
                    .query(&[("search", q)]),
            )
            .await;
        r.assert_status(200);
        r.json()["users"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["id"].as_i64().unwrap())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        search("alice").await,
        vec![alice],
        "case-insensitive username"
    );
    assert_eq!(search("ALICESMITH").await, vec![alice]);
    assert_eq!(search("%").await, vec![pct], "% is literal");
    assert_eq!(search("a%b").await, vec![pct]);
    assert_eq!(search("x_y").await, vec![under], "_ is literal");
    assert_eq!(search("_").await, vec![under]);
    assert_eq!(search("\\").await, vec![back], "backslash is literal");
    assert_eq!(search("k\\s").await, vec![back]);
    assert_eq!(search("MAIL.ORG").await.len(), 1, "email matches too");
    assert_eq!(search("nobody-has-this").await, Vec::<i64>::new());
    let _ = xay;
    // Combined with paging.
    let r = app
        .get("/api/v1/users/?search=example.com&limit=2&offset=1")
        .await;
    r.assert_status(200);
    let ids: Vec<i64> = r.json()["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, vec![pct, under]);
});

both_backends!(get_user_not_found_and_bad_ids, |app| {
    let u = app.new_user().await;
    let r = app.get(&format!("/api/v1/users/{}", u.id)).await;
    r.assert_status(200);
    assert_eq!(r.json(), u.json);
    for id in ["999999", "0", "-1", "9223372036854775807"] {
        app.get(&format!("/api/v1/users/{id}"))
            .await
            .assert_error(404, "Usuário não encontrado")
            .assert_security_headers();
    }
    let r = app.get("/api/v1/users/abc").await;
    r.assert_422(&[int_parsing("path", "user_id")]);
    assert_eq!(r.entry(json!(["path", "user_id"]))["input"], "abc");
    for id in [
        "9223372036854775808",
        "18446744073709551616",
        "99999999999999999999999",
    ] {
        let r = app.get(&format!("/api/v1/users/{id}")).await;
        r.assert_status(422);
        let e = r.entry(json!(["path", "user_id"]));
        assert_eq!(e["input"], json!(id));
    }
});

both_backends!(update_user_changes_fields_and_moves_updated_at, |app| {
    let u = app.new_user().await;
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let new_name = unique("renamed");
    let r = app
        .put_auth(
            &format!("/api/v1/users/{}", u.id),
            &u.token,
            &json!({"username": new_name}),
        )
        .await;
    r.assert_status(200).assert_json_content_type();
    let body = r.json();
    assert_public_user(&body);
    assert_eq!(body["username"], json!(new_name));
    assert_eq!(body["email"], json!(u.email));
    assert_eq!(
        body["created_at"], u.json["created_at"],
        "created_at never moves"
    );
    let before = assert_timestamp(&u.json["updated_at"]);
    let after = assert_timestamp(&body["updated_at"]);
    assert!(
        after > before,
        "updated_at moves on a change: {before} -> {after}"
    );
    let row = app.stored_row("users", u.id).await.unwrap();
    assert_eq!(row["username"], json!(new_name));
    // GET agrees.
    assert_eq!(
        app.get(&format!("/api/v1/users/{}", u.id)).await.json(),
        body
    );

    // Email, with domain normalisation.
    let local = unique("New.Mail");
    let r = app
        .put_auth(
            &format!("/api/v1/users/{}", u.id),
            &u.token,
            &json!({"email": format!("{local}@MAIL.Example.org")}),
        )
        .await;
    r.assert_status(200);
    assert_eq!(
        r.json()["email"],
        json!(format!("{local}@mail.example.org"))
    );
});

both_backends!(update_user_empty_or_unchanged_body_changes_nothing, |app| {
    let u = app.new_user().await;
    let path = format!("/api/v1/users/{}", u.id);
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let r = app.put_auth(&path, &u.token, &json!({})).await;
    r.assert_status(200);
    assert_eq!(
        r.json(),
        u.json,
        "{{}} changes nothing, updated_at included"
    );
    // Own unchanged values are not duplicates and not a change.
    let r = app
        .put_auth(
            &path,
            &u.token,
            &json!({"username": u.username, "email": u.email}),
        )
        .await;
    r.assert_status(200);
    assert_eq!(r.json(), u.json, "same values: nothing changes");
    let row = app.stored_row("users", u.id).await.unwrap();
    assert_eq!(row["username"], json!(u.username));
    // The password still works.
    app.login(&u.email, PASSWORD).await;
});

both_backends!(update_user_password, |app| {
    let u = app.new_user().await;
    let old_hash = app.stored_row("users", u.id).await.unwrap()["password_hash"].clone();
    let r = app
        .put_auth(
            &format!("/api/v1/users/{}", u.id),
            &u.token,
            &json!({"password": "brand-new-pass"}),
        )
        .await;
    r.assert_status(200);
    assert_public_user(&r.json());
    assert!(!r.text().contains("brand-new-pass"));
    let new_hash = app.stored_row("users", u.id).await.unwrap()["password_hash"].clone();
    assert_ne!(old_hash, new_hash);
    assert!(new_hash.as_str().unwrap().starts_with("$argon2id$"));
    app.try_login(&u.email, PASSWORD)
        .await
        .assert_error(401, "Incorrect email or password");
    let token = app.login(&u.email, "brand-new-pass").await;
    // The token used for the change was issued before it: revoked (revision 2).
    app.get_auth("/api/v1/cars/", &u.token)
        .await
        .assert_error(401, "Could not validate credentials");
    // Validation applies to updates too.
    app.put_auth(
        &format!("/api/v1/users/{}", u.id),
        &token,
        &json!({"password": "123"}),
    )
    .await
    .assert_422(&[value_error(
        "password",
        "Senha deve ter pelo menos 6 caracteres",
    )]);
});

both_backends!(update_user_duplicates, |app| {
    let a = app.new_user().await;
    let b = app.new_user().await;
    let path = format!("/api/v1/users/{}", a.id);
    app.put_auth(
        &path,
        &a.token,
        &json!({"username": b.username, "email": b.email}),
    )
    .await
    .assert_error(400, "Username já está em uso");
    app.put_auth(&path, &a.token, &json!({"username": b.username}))
        .await
        .assert_error(400, "Username já está em uso");
    app.put_auth(&path, &a.token, &json!({"email": b.email}))
        .await
        .assert_error(400, "Email já está em uso");
    // Own username with someone else's email: email conflict.
    app.put_auth(
        &path,
        &a.token,
        &json!({"username": a.username, "email": b.email}),
    )
    .await
    .assert_error(400, "Email já está em uso");
    let row = app.stored_row("users", a.id).await.unwrap();
    assert_eq!(row["username"], json!(a.username));
    assert_eq!(row["email"], json!(a.email));
});

both_backends!(update_user_checks_in_order, |app| {
    let a = app.new_user().await;
    let b = app.new_user().await;
    // No token: 401, even for a non-numeric id.
    app.put("/api/v1/users/abc", &json!({"username": "whatever"}))
        .await
        .assert_error(401, "Not authenticated");
    app.put(&format!("/api/v1/users/{}", a.id), &json!({}))
        .await
        .assert_error(401, "Not authenticated");
    // 422 (path, then body) before 404.
    app.put_auth("/api/v1/users/abc", &a.token, &json!({}))
        .await
        .assert_422(&[int_parsing("path", "user_id")]);
    app.put_auth("/api/v1/users/999999", &a.token, &json!({"username": "ab"}))
        .await
        .assert_422(&[value_error(
            "username",
            "Username deve ter pelo menos 3 caracteres",
        )]);
    // 404 before 403.
    app.put_auth(
        "/api/v1/users/999999",
        &a.token,
        &json!({"username": "valid"}),
    )
    .await
    .assert_error(404, "Usuário não encontrado");
    // 403 for another user (Fixed), before the duplicate check.
    app.put_auth(
        &format!("/api/v1/users/{}", b.id),
        &a.token,
        &json!({"username": "hijacked"}),
    )
    .await
    .assert_error(403, "Not enough permissions to modify this user")
    .assert_security_headers();
    app.put_auth(
        &format!("/api/v1/users/{}", b.id),
        &a.token,
        &json!({"username": a.username}),
    )
    .await
    .assert_error(403, "Not enough permissions to modify this user");
    app.put_auth(&format!("/api/v1/users/{}", b.id), &a.token, &json!({}))
        .await
        .assert_error(403, "Not enough permissions to modify this user");
    let row = app.stored_row("users", b.id).await.unwrap();
    assert_eq!(row["username"], json!(b.username));
    assert_eq!(
        app.get(&format!("/api/v1/users/{}", b.id)).await.json(),
        b.json
    );
});

both_backends!(delete_user_cascades_cars_and_invalidates_tokens, |app| {
    let a = app.new_user().await;
    let b = app.new_user().await;
    let brand = app.create_brand(&a.token, "Cascade").await;
    let brand_id = brand["id"].as_i64().unwrap();
    app.create_car(&a.token, brand_id, &unique_plate(), json!({}))
        .await;
    app.create_car(&a.token, brand_id, &unique_plate(), json!({}))
        .await;
    let b_car = app
        .create_car(&b.token, brand_id, &unique_plate(), json!({}))
        .await;
    assert_eq!(app.count_rows("cars").await, 3);

    let r = app
        .delete_auth(&format!("/api/v1/users/{}", a.id), &a.token)
        .await;
    r.assert_no_content().assert_security_headers();
    app.get(&format!("/api/v1/users/{}", a.id))
        .await
        .assert_error(404, "Usuário não encontrado");
    assert!(app.stored_row("users", a.id).await.is_none());
    assert_eq!(app.count_rows("users").await, 1);
    // Only a's cars went; the brand and b's car stay.
    assert_eq!(app.count_rows("cars").await, 1);
    assert_eq!(app.count_rows("brands").await, 1);
    app.get_auth(&format!("/api/v1/cars/{}", b_car["id"]), &b.token)
        .await
        .assert_status(200);
    // a's token is dead everywhere.
    app.get_auth("/api/v1/brands/", &a.token)
        .await
        .assert_error(401, "Could not validate credentials");
    app.post_auth("/api/v1/auth/refresh_token", &a.token, &json!({}))
        .await
        .assert_error(401, "Could not validate credentials");
    app.delete_auth(&format!("/api/v1/users/{}", a.id), &a.token)
        .await
        .assert_error(401, "Could not validate credentials");
    // Login is gone too.
    app.try_login(&a.email, PASSWORD)
        .await
        .assert_error(401, "Incorrect email or password");
    // The username and email are free again.
    app.register(&a.username, &a.email, PASSWORD).await;
});

both_backends!(delete_user_checks_in_order, |app| {
    let a = app.new_user().await;
    let b = app.new_user().await;
    app.delete("/api/v1/users/abc")
        .await
        .assert_error(401, "Not authenticated");
    app.delete(&format!("/api/v1/users/{}", b.id))
        .await
        .assert_error(401, "Not authenticated");
    app.delete_auth("/api/v1/users/abc", &a.token)
        .await
        .assert_422(&[int_parsing("path", "user_id")]);
    app.delete_auth("/api/v1/users/999999", &a.token)
        .await
        .assert_error(404, "Usuário não encontrado");
    app.delete_auth(&format!("/api/v1/users/{}", b.id), &a.token)
        .await
        .assert_error(403, "Not enough permissions to modify this user");
    assert_eq!(app.count_rows("users").await, 2);
    app.get(&format!("/api/v1/users/{}", b.id))
        .await
        .assert_status(200);
});
