//! /api/v1/brands (all routes need a token; brands are shared by every user).

use e2e_tests::*;

both_backends!(create_brand_defaults_and_stored_state, |app| {
    let u = app.new_user().await;
    let r = app
        .post_auth("/api/v1/brands/", &u.token, &json!({"name": "Toyota"}))
        .await;
    r.assert_status(201)
        .assert_json_content_type()
        .assert_security_headers();
    let b = r.json();
    assert_brand_shape(&b);
    assert_eq!(b["name"], "Toyota");
    assert_eq!(b["description"], Value::Null);
    assert_eq!(b["is_active"], true);
    assert_eq!(b["created_at"], b["updated_at"]);
    assert_recent_rfc3339(&b["created_at"]);
    let id = b["id"].as_i64().unwrap();
    let row = app.stored_row("brands", id).await.unwrap();
    assert_eq!(row["name"], "Toyota");
    assert_eq!(row["description"], Value::Null);
    assert!(row["is_active"] == json!(true) || row["is_active"] == json!(1));

    let r = app
        .post_auth(
            "/api/v1/brands",
            &u.token,
            &json!({"name": "  Honda  ", "description": "Japanese", "is_active": false}),
        )
        .await;
    r.assert_status(201);
    let h = r.json();
    assert_eq!(h["name"], "Honda", "name is trimmed");
    assert_eq!(h["description"], "Japanese");
    assert_eq!(h["is_active"], false);
    assert_eq!(app.count_rows("brands").await, 2);

    // Another user sees the same brand.
    let v = app.new_user().await;
    let r = app
        .get_auth(&format!("/api/v1/brands/{id}"), &v.token)
        .await;
    r.assert_status(200);
    assert_eq!(r.json(), b);
});

both_backends!(create_brand_duplicate_name_is_exact_after_trim, |app| {
    let u = app.new_user().await;
    app.create_brand(&u.token, "Fiat").await;
    app.post_auth("/api/v1/brands/", &u.token, &json!({"name": "Fiat"}))
        .await
        .assert_error(400, "Nome da marca já está em uso")
        .assert_security_headers();
    app.post_auth("/api/v1/brands/", &u.token, &json!({"name": "  Fiat "}))
        .await
        .assert_error(400, "Nome da marca já está em uso");
    assert_eq!(app.count_rows("brands").await, 1);
    // Case-sensitive: another name.
    let r = app
        .post_auth("/api/v1/brands/", &u.token, &json!({"name": "FIAT"}))
        .await;
    r.assert_status(201);
    assert_eq!(app.count_rows("brands").await, 2);
});

both_backends!(create_brand_validation, |app| {
    let u = app.new_user().await;
    let post = |body: Value| {
        let t = u.token.clone();
        async move { app.post_auth("/api/v1/brands/", &t, &body).await }
    };
    post(json!({})).await.assert_422(&[missing("name")]);
    post(json!({"name": "A"})).await.assert_422(&[value_error(
        "name",
        "Nome da marca deve ter pelo menos 2 caracteres",
    )]);
    post(json!({"name": "   A   "}))
        .await
        .assert_422(&[value_error(
            "name",
            "Nome da marca deve ter pelo menos 2 caracteres",
        )]);
    post(json!({"name": "x".repeat(51)}))
        .await
        .assert_422(&[value_error(
            "name",
            "Nome da marca deve ter no máximo 50 caracteres",
        )]);
    let r = post(json!({"name": "ok name", "description": "d".repeat(5001)})).await;
    r.assert_status(422);
    let e = r.entry(json!(["body", "description"]));
    assert!(e["msg"].is_string());
    // Several at once.
    let r = post(json!({"name": "", "description": "d".repeat(5001), "is_active": "maybe"})).await;
    r.assert_status(422);
    let entries = r.json()["detail"].as_array().unwrap().clone();
    assert_eq!(entries.len(), 3, "{entries:?}");
    r.entry(json!(["body", "name"]));
    r.entry(json!(["body", "description"]));
    let e = r.entry(json!(["body", "is_active"]));
    assert_eq!(e["type"], "bool_parsing");
    assert_eq!(e["input"], "maybe");
    post(json!({"name": "Valid", "is_active": [true]}))
        .await
        .assert_422(&[bool_type("body", "is_active")]);
    post(json!({"name": "Valid", "is_active": "maybe"}))
        .await
        .assert_422(&[bool_parsing("body", "is_active")]);
    assert_eq!(app.count_rows("brands").await, 0);
    // Bounds are inclusive; 50 characters, 5000-character description.
    let r = post(json!({"name": "é".repeat(50), "description": "d".repeat(5000)})).await;
    r.assert_status(201);
    assert_eq!(r.json()["name"], json!("é".repeat(50)));
    post(json!({"name": "ab"})).await.assert_status(201);
    assert_eq!(app.count_rows("brands").await, 2);
});

both_backends!(create_brand_lax_booleans, |app| {
    let u = app.new_user().await;
    let cases = [
        (json!("yes"), true),
        (json!("no"), false),
        (json!("on"), true),
        (json!("OFF"), false),
        (json!("True"), true),
        (json!("false"), false),
        (json!("1"), true),
        (json!("0"), false),
        (json!(true), true),
        (json!(false), false),
    ];
    for (i, (input, expected)) in cases.into_iter().enumerate() {
        let r = app
            .post_auth(
                "/api/v1/brands/",
                &u.token,
                &json!({"name": format!("Lax{i}"), "is_active": input, "unknown": [1, 2]}),
            )
            .await;
        r.assert_status(201);
        assert_eq!(r.json()["is_active"], json!(expected), "is_active {input}");
        assert!(r.json().get("unknown").is_none());
    }
    // No Content-Type header.
    let r = app
        .send(
            app.request(Method::POST, "/api/v1/brands/")
                .bearer_auth(&u.token)
                .body(r#"{"name": "NoCT"}"#),
        )
        .await;
    r.assert_status(201);
    assert_eq!(app.count_rows("brands").await, 11);
});

both_backends!(list_brands_pagination_search_and_is_active, |app| {
    let u = app.new_user().await;
    let mut ids = vec![];
    for (name, active) in [
        ("Alfa Romeo", true),
        ("BMW", true),
        ("Citroën", false),
        ("100% Elétrico", true),
        ("Under_Score", false),
        ("Back\\Slash", true),
    ] {
        let r = app
            .post_auth(
                "/api/v1/brands/",
                &u.token,
                &json!({"name": name, "is_active": active}),
            )
            .await;
        r.assert_status(201);
        ids.push(r.json()["id"].as_i64().unwrap());
    }
    let list = |q: &str| {
        let path = format!("/api/v1/brands/?{q}");
        let t = u.token.clone();
        async move {
            let r = app.get_auth(&path, &t).await;
            r.assert_status(200);
            let body = r.json();
            let got: Vec<i64> = body["brands"]
                .as_array()
                .unwrap()
                .iter()
                .map(|b| {
                    assert_brand_shape(b);
                    b["id"].as_i64().unwrap()
                })
                .collect();
            (body, got)
        }
    };
    let (body, all) = list("").await;
    assert_eq!(all, ids);
    assert_eq!(body["offset"], 0);
    assert_eq!(body["limit"], 100);
    let (body, page) = list("offset=1&limit=2").await;
    assert_eq!(page, ids[1..3]);
    assert_eq!(
        (body["offset"].as_i64(), body["limit"].as_i64()),
        (Some(1), Some(2))
    );
    // Search: case-insensitive, literal %, _ and \.
    assert_eq!(list("search=bmw").await.1, vec![ids[1]]);
    assert_eq!(list("search=CITRO").await.1, vec![ids[2]]);
    assert_eq!(list("search=%25").await.1, vec![ids[3]]);
    assert_eq!(list("search=_").await.1, vec![ids[4]]);
    assert_eq!(list("search=%5C").await.1, vec![ids[5]]);
    assert_eq!(
        list("search=o").await.1,
        vec![ids[0], ids[2], ids[3], ids[4]]
    );
    // is_active, with lax words.
    let active = vec![ids[0], ids[1], ids[3], ids[5]];
    let inactive = vec![ids[2], ids[4]];
    assert_eq!(list("is_active=true").await.1, active);
    assert_eq!(list("is_active=yes").await.1, active);
    assert_eq!(list("is_active=1").await.1, active);
    assert_eq!(list("is_active=false").await.1, inactive);
    assert_eq!(list("is_active=OFF").await.1, inactive);
    assert_eq!(list("is_active=false&search=score").await.1, vec![ids[4]]);
    // Bad query values.
    let r = app
        .get_auth("/api/v1/brands/?is_active=maybe", &u.token)
        .await;
    r.assert_422(&[bool_parsing("query", "is_active")]);
    assert_eq!(r.entry(json!(["query", "is_active"]))["input"], "maybe");
    let r = app
        .get_auth("/api/v1/brands/?limit=101&offset=-1", &u.token)
        .await;
    r.assert_422(&[le("limit", 100), ge("offset", 0)]);
    assert_eq!(r.entry(json!(["query", "limit"]))["input"], "101");
    assert_eq!(
        r.entry(json!(["query", "limit"]))["ctx"],
        json!({"le": 100})
    );
    assert_eq!(r.entry(json!(["query", "offset"]))["ctx"], json!({"ge": 0}));
});

both_backends!(get_brand_not_found_and_bad_ids, |app| {
    let u = app.new_user().await;
    let b = app.create_brand(&u.token, "Peugeot").await;
    let r = app
        .get_auth(&format!("/api/v1/brands/{}", b["id"]), &u.token)
        .await;
    r.assert_status(200);
    assert_eq!(r.json(), b);
    for id in ["999999", "0", "-7"] {
        app.get_auth(&format!("/api/v1/brands/{id}"), &u.token)
            .await
            .assert_error(404, "Marca não encontrada");
    }
    let r = app.get_auth("/api/v1/brands/xyz", &u.token).await;
    r.assert_422(&[int_parsing("path", "brand_id")]);
    assert_eq!(r.entry(json!(["path", "brand_id"]))["input"], "xyz");
    app.get_auth("/api/v1/brands/1.5", &u.token)
        .await
        .assert_status(422);
    app.get_auth("/api/v1/brands/18446744073709551616", &u.token)
        .await
        .assert_status(422);
});

both_backends!(update_brand_partial_and_updated_at, |app| {
    let u = app.new_user().await;
    let b = app.create_brand(&u.token, "Renault").await;
    let id = b["id"].as_i64().unwrap();
    let path = format!("/api/v1/brands/{id}");
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    // {} changes nothing.
    let r = app.put_auth(&path, &u.token, &json!({})).await;
    r.assert_status(200);
    assert_eq!(r.json(), b);
    // Same name: not a duplicate, no change.
    let r = app
        .put_auth(&path, &u.token, &json!({"name": "Renault"}))
        .await;
    r.assert_status(200);
    assert_eq!(r.json(), b);
    // A real change.
    let r = app
        .put_auth(
            &path,
            &u.token,
            &json!({"description": "Française", "is_active": "no"}),
        )
        .await;
    r.assert_status(200);
    let nb = r.json();
    assert_brand_shape(&nb);
    assert_eq!(nb["name"], "Renault");
    assert_eq!(nb["description"], "Française");
    assert_eq!(nb["is_active"], false);
    assert_eq!(nb["created_at"], b["created_at"]);
    assert!(assert_timestamp(&nb["updated_at"]) > assert_timestamp(&b["updated_at"]));
    let row = app.stored_row("brands", id).await.unwrap();
    assert_eq!(row["description"], "Française");
    // Rename with trimming.
    let r = app
        .put_auth(&path, &u.token, &json!({"name": "  Renault Group "}))
        .await;
    r.assert_status(200);
    assert_eq!(r.json()["name"], "Renault Group");
    assert_eq!(app.get_auth(&path, &u.token).await.json(), r.json());
});

both_backends!(update_brand_errors_in_order, |app| {
    let u = app.new_user().await;
    let a = app.create_brand(&u.token, "Audi").await;
    app.create_brand(&u.token, "Seat").await;
    let path = format!("/api/v1/brands/{}", a["id"]);
    app.put_auth(&path, &u.token, &json!({"name": "Seat"}))
        .await
        .assert_error(400, "Nome da marca já está em uso");
    app.put_auth(&path, &u.token, &json!({"name": " Seat  "}))
        .await
        .assert_error(400, "Nome da marca já está em uso");
    app.put_auth(&path, &u.token, &json!({"name": "S"}))
        .await
        .assert_422(&[value_error(
            "name",
            "Nome da marca deve ter pelo menos 2 caracteres",
        )]);
    // 422 before 404.
    app.put_auth("/api/v1/brands/999999", &u.token, &json!({"name": "S"}))
        .await
        .assert_422(&[value_error(
            "name",
            "Nome da marca deve ter pelo menos 2 caracteres",
        )]);
    app.put_auth("/api/v1/brands/999999", &u.token, &json!({"name": "Seat"}))
        .await
        .assert_error(404, "Marca não encontrada");
    app.put_auth("/api/v1/brands/abc", &u.token, &json!({}))
        .await
        .assert_422(&[int_parsing("path", "brand_id")]);
    // Nothing changed.
    let row = app
        .stored_row("brands", a["id"].as_i64().unwrap())
        .await
        .unwrap();
    assert_eq!(row["name"], "Audi");
    assert_eq!(app.get_auth(&path, &u.token).await.json(), a);
});

both_backends!(delete_brand, |app| {
    let u = app.new_user().await;
    let free = app.create_brand(&u.token, "Lada").await;
    let used = app.create_brand(&u.token, "Volvo").await;
    let car = app
        .create_car(
            &u.token,
            used["id"].as_i64().unwrap(),
            &unique_plate(),
            json!({}),
        )
        .await;
    let r = app
        .delete_auth(&format!("/api/v1/brands/{}", free["id"]), &u.token)
        .await;
    r.assert_no_content().assert_security_headers();
    app.get_auth(&format!("/api/v1/brands/{}", free["id"]), &u.token)
        .await
        .assert_error(404, "Marca não encontrada");
    app.delete_auth(&format!("/api/v1/brands/{}", free["id"]), &u.token)
        .await
        .assert_error(404, "Marca não encontrada");
    // In use: 400, even for another user than the car's owner.
    let v = app.new_user().await;
    for t in [&u.token, &v.token] {
        app.delete_auth(&format!("/api/v1/brands/{}", used["id"]), t)
            .await
            .assert_error(
                400,
                "Não é possível deletar marca que possui carros associados",
            );
    }
    assert_eq!(app.count_rows("brands").await, 1);
    // Once the car is gone the brand can go.
    app.delete_auth(&format!("/api/v1/cars/{}", car["id"]), &u.token)
        .await
        .assert_no_content();
    app.delete_auth(&format!("/api/v1/brands/{}", used["id"]), &u.token)
        .await
        .assert_no_content();
    assert_eq!(app.count_rows("brands").await, 0);
    app.delete_auth("/api/v1/brands/abc", &u.token)
        .await
        .assert_422(&[int_parsing("path", "brand_id")]);
});
