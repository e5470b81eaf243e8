//! /api/v1/cars: owner-scoped CRUD, prices, filters, validation.

use e2e_tests::*;

both_backends!(
    create_car_full_response_with_nested_brand_and_owner,
    |app| {
        let (u, brand_id) = app.new_user_with_brand().await;
        let body = json!({
            "model": "  Corolla XEi ",
            "factory_year": 2022,
            "model_year": 2023,
            "color": " Branco ",
            "plate": " abc1d23 ",
            "fuel_type": "hybrid",
            "transmission": "cvt",
            "price": 145990.5,
            "brand_id": brand_id,
            "description": "Único dono",
            "is_available": false,
            "owner_id": 999999,
        });
        let r = app.post_auth("/api/v1/cars/", &u.token, &body).await;
        r.assert_status(201)
            .assert_json_content_type()
            .assert_security_headers();
        let car = r.json();
        assert_car_shape(&car);
        assert_eq!(car["model"], "Corolla XEi", "trimmed");
        assert_eq!(car["color"], "Branco", "trimmed");
        assert_eq!(car["plate"], "ABC1D23", "trimmed and upper-cased");
        assert_eq!(car["factory_year"], 2022);
        assert_eq!(car["model_year"], 2023);
        assert_eq!(car["fuel_type"], "hybrid");
        assert_eq!(car["transmission"], "cvt");
        assert_eq!(car["price"], "145990.50");
        assert_eq!(car["description"], "Único dono");
        assert_eq!(car["is_available"], false);
        assert_eq!(car["brand_id"], brand_id);
        assert_eq!(
            car["owner_id"], u.id,
            "the owner is the caller, never the body"
        );
        assert_eq!(car["created_at"], car["updated_at"]);
        assert_recent_rfc3339(&car["created_at"]);
        let brand = app
            .get_auth(&format!("/api/v1/brands/{brand_id}"), &u.token)
            .await
            .json();
        assert_eq!(car["brand"], brand);
        assert_eq!(car["owner"], u.json);
        assert!(
            !r.text().contains("password"),
            "no password hash in the owner"
        );

        let id = car["id"].as_i64().unwrap();
        let row = app.stored_row("cars", id).await.unwrap();
        assert_eq!(row["plate"], "ABC1D23");
        assert_eq!(row["owner_id"], u.id);
        assert_eq!(app.stored_price(id).await.as_deref(), Some("145990.50"));
        assert_eq!(app.count_rows("cars").await, 1);

        // GET returns the same.
        let r = app.get_auth(&format!("/api/v1/cars/{id}"), &u.token).await;
        r.assert_status(200);
        assert_eq!(r.json(), car);

        // Defaults: description null, is_available true.
        let car = app
            .create_car(&u.token, brand_id, &unique_plate(), json!({}))
            .await;
        assert_eq!(car["description"], Value::Null);
        assert_eq!(car["is_available"], true);
        assert_eq!(car["price"], "85000.00");
    }
);

both_backends!(prices_are_exact_and_rounded_half_away_from_zero, |app| {
    let (u, brand_id) = app.new_user_with_brand().await;
    let cases: &[(&str, &str)] = &[
        ("12.345", "12.35"),
        ("\"12.345\"", "12.35"),
        ("85000", "85000.00"),
        ("\"85000\"", "85000.00"),
        ("85000.0", "85000.00"),
        ("1.005", "1.01"),
        ("2.675", "2.68"),
        ("0.005", "0.01"),
        ("0.01", "0.01"),
        ("12.344", "12.34"),
        ("99999999.99", "99999999.99"),
        ("99999999.994", "99999999.99"),
        ("\"99999999.99\"", "99999999.99"),
        ("12345678.125", "12345678.13"),
        ("1E2", "100.00"),
        ("1.5e3", "1500.00"),
        ("0.1", "0.10"),
    ];
    for (raw, expected) in cases {
        let plate = unique_plate();
        let body = format!(
            r#"{{"model":"Gol","factory_year":2010,"model_year":2010,"color":"Azul","plate":"{plate}","fuel_type":"flex","transmission":"manual","price":{raw},"brand_id":{brand_id}}}"#
        );
        let r = app.post_raw("/api/v1/cars/", Some(&u.token), body).await;
        assert_eq!(r.status, 201, "price {raw}: {}", r.text());
        let car = r.json();
        assert_eq!(car["price"], json!(expected), "price {raw}");
        let id = car["id"].as_i64().unwrap();
        assert_eq!(
            app.stored_price(id).await.as_deref(),
            Some(*expected),
            "stored {raw}"
        );
        let got = app
            .get_auth(&format!("/api/v1/cars/{id}"), &u.token)
            .await
            .json();
        assert_eq!(got["price"], json!(expected));
    }
    assert_eq!(app.count_rows("cars").await, cases.len() as i64);
});

both_backends!(invalid_prices_are_422, |app| {
    let (u, brand_id) = app.new_user_with_brand().await;
    let min = value_error("price", "Preço deve ser maior que zero");
    let max = value_error("price", "Preço deve ser no máximo 99999999.99");
    let cases: &[(&str, Option<&ExpectedError>)] = &[
        ("0", Some(&min)),
        ("0.00", Some(&min)),
        ("0.004", Some(&min)),
        ("\"0.004\"", Some(&min)),
        ("-1", Some(&min)),
        ("-0.005", Some(&min)),
        ("99999999.995", Some(&max)),
        ("100000000", Some(&max)),
        ("\"100000000\"", Some(&max)),
        ("1e20", Some(&max)),
        ("1e400", None),
        ("\"1e400\"", None),
        ("-1e400", None),
        ("\"NaN\"", None),
        ("\"nan\"", None),
        ("\"Infinity\"", None),
        ("\"-Infinity\"", None),
        ("\"inf\"", None),
        ("\"abc\"", None),
        ("\"\"", None),
        ("\"12,50\"", None),
        ("true", None),
        ("[1]", None),
        ("{}", None),
    ];
    for (raw, expected) in cases {
        let body = format!(
            r#"{{"model":"Gol","factory_year":2010,"model_year":2010,"color":"Azul","plate":"{}","fuel_type":"flex","transmission":"manual","price":{raw},"brand_id":{brand_id}}}"#,
            unique_plate()
        );
        let r = app.post_raw("/api/v1/cars/", Some(&u.token), body).await;
        assert_eq!(r.status, 422, "price {raw}: {}", r.text());
        match expected {
            Some(e) => {
                r.assert_422(&[(*e).clone()]);
            }
            None => {
                let detail = r.json()["detail"].as_array().unwrap().clone();
                assert_eq!(detail.len(), 1, "price {raw}: {detail:?}");
                assert_eq!(detail[0]["loc"], json!(["body", "price"]), "price {raw}");
            }
        }
    }
    // Missing price.
    let mut body = car_body(brand_id, &unique_plate());
    body.as_object_mut().unwrap().remove("price");
    app.post_auth("/api/v1/cars/", &u.token, &body)
        .await
        .assert_422(&[missing("price")]);
    body["price"] = Value::Null;
    app.post_auth("/api/v1/cars/", &u.token, &body)
        .await
        .assert_status(422);
    assert_eq!(app.count_rows("cars").await, 0);
});

both_backends!(create_car_reports_every_failing_field, |app| {
    let (u, _) = app.new_user_with_brand().await;
    let r = app
        .post_auth(
            "/api/v1/cars/",
            &u.token,
            &json!({
                "model": " A ",
                "factory_year": 1899,
                "model_year": 2031,
                "color": "B",
                "plate": "AB12",
                "fuel_type": "steam",
                "transmission": "warp",
                "price": 0,
                "brand_id": "x",
                "is_available": "perhaps",
            }),
        )
        .await;
    r.assert_422(&[
        value_error("model", "Modelo deve ter pelo menos 2 caracteres"),
        value_error("factory_year", "Ano deve estar entre 1900 e 2030"),
        value_error("model_year", "Ano deve estar entre 1900 e 2030"),
        value_error("color", "Cor deve ter pelo menos 2 caracteres"),
        value_error("plate", "Placa deve ter entre 7 e 10 caracteres"),
        enum_error("body", "fuel_type", FUEL_TYPES),
        enum_error("body", "transmission", TRANSMISSIONS),
        value_error("price", "Preço deve ser maior que zero"),
        int_parsing("body", "brand_id"),
        bool_parsing("body", "is_available"),
    ]);
    let e = r.entry(json!(["body", "fuel_type"]));
    assert_eq!(e["input"], "steam");
    assert_eq!(e["ctx"], json!({"expected": FUEL_TYPES}));
    let e = r.entry(json!(["body", "transmission"]));
    assert_eq!(e["ctx"], json!({"expected": TRANSMISSIONS}));
    assert_eq!(r.entry(json!(["body", "brand_id"]))["input"], "x");
    assert_eq!(r.entry(json!(["body", "factory_year"]))["input"], 1899);
    r.assert_security_headers();

    let r = app.post_auth("/api/v1/cars/", &u.token, &json!({})).await;
    r.assert_422(&[
        missing("model"),
        missing("factory_year"),
        missing("model_year"),
        missing("color"),
        missing("plate"),
        missing("fuel_type"),
        missing("transmission"),
        missing("price"),
        missing("brand_id"),
    ]);
    // Upper bounds.
    let mut body = car_body(1, &unique_plate());
    body["model"] = json!("m".repeat(101));
    body["color"] = json!("c".repeat(31));
    body["plate"] = json!("P".repeat(11));
    body["description"] = json!("d".repeat(5001));
    let r = app.post_auth("/api/v1/cars/", &u.token, &body).await;
    r.assert_status(422);
    let detail = r.json()["detail"].as_array().unwrap().clone();
    assert_eq!(detail.len(), 4, "{detail:?}");
    for (field, msg) in [
        (
            "model",
            "Value error, Modelo deve ter no máximo 100 caracteres",
        ),
        ("color", "Value error, Cor deve ter no máximo 30 caracteres"),
        (
            "plate",
            "Value error, Placa deve ter entre 7 e 10 caracteres",
        ),
    ] {
        assert_eq!(r.entry(json!(["body", field]))["msg"], msg);
    }
    r.entry(json!(["body", "description"]));
    // Plate length is counted after trimming.
    let mut body = car_body(1, "  ABC12  ");
    body["model"] = json!("ok");
    app.post_auth("/api/v1/cars/", &u.token, &body)
        .await
        .assert_422(&[value_error(
            "plate",
            "Placa deve ter entre 7 e 10 caracteres",
        )]);
    assert_eq!(app.count_rows("cars").await, 0);
});

both_backends!(create_car_bounds_are_inclusive, |app| {
    let (u, brand_id) = app.new_user_with_brand().await;
    let car = app
        .create_car(
            &u.token,
            brand_id,
            "ABCDEFGHIJ",
            json!({"model": "m".repeat(100), "color": "çã", "factory_year": 1900, "model_year": 2030, "description": "d".repeat(5000)}),
        )
        .await;
    assert_eq!(car["plate"], "ABCDEFGHIJ");
    assert_eq!(car["model"], json!("m".repeat(100)));
    assert_eq!(car["factory_year"], 1900);
    assert_eq!(car["model_year"], 2030);
    let car = app
        .create_car(
            &u.token,
            brand_id,
            "ABC1234",
            json!({"model": "Ka", "color": "é".repeat(30)}),
        )
        .await;
    assert_eq!(car["color"], json!("é".repeat(30)));
    for fuel in [
        "gasoline", "ethanol", "flex", "diesel", "electric", "hybrid",
    ] {
        let c = app
            .create_car(
                &u.token,
                brand_id,
                &unique_plate(),
                json!({"fuel_type": fuel}),
            )
            .await;
        assert_eq!(c["fuel_type"], fuel);
    }
    for tr in ["manual", "automatic", "semi_automatic", "cvt"] {
        let c = app
            .create_car(
                &u.token,
                brand_id,
                &unique_plate(),
                json!({"transmission": tr}),
            )
            .await;
        assert_eq!(c["transmission"], tr);
    }
    assert_eq!(app.count_rows("cars").await, 12);
});

both_backends!(create_car_lax_input, |app| {
    let (u, brand_id) = app.new_user_with_brand().await;
    let c = app
        .create_car(
            &u.token,
            brand_id,
            &unique_plate(),
            json!({"factory_year": 2020.0, "model_year": "2021", "brand_id": brand_id.to_string(), "is_available": "no", "turbo": true}),
        )
        .await;
    assert_eq!(c["factory_year"], 2020);
    assert_eq!(c["model_year"], 2021);
    assert_eq!(c["brand_id"], brand_id);
    assert_eq!(c["is_available"], false);
    assert!(c.get("turbo").is_none());
    for (word, expected) in [
        ("YES", true),
        ("on", true),
        ("1", true),
        ("Off", false),
        ("0", false),
        ("FALSE", false),
    ] {
        let c = app
            .create_car(
                &u.token,
                brand_id,
                &unique_plate(),
                json!({"is_available": word}),
            )
            .await;
        assert_eq!(c["is_available"], expected, "is_available {word}");
    }
    // No Content-Type.
    let r = app
        .send(
            app.request(Method::POST, "/api/v1/cars")
                .bearer_auth(&u.token)
                .body(car_body(brand_id, &unique_plate()).to_string()),
        )
        .await;
    r.assert_status(201);
    // A fraction is not an integer; a non-numeric string is not either.
    let mut body = car_body(brand_id, &unique_plate());
    body["factory_year"] = json!(2020.5);
    body["model_year"] = json!("20x1");
    let r = app.post_auth("/api/v1/cars/", &u.token, &body).await;
    r.assert_422(&[
        int_from_float("body", "factory_year"),
        int_parsing("body", "model_year"),
    ]);
    assert_eq!(app.count_rows("cars").await, 8);
});

both_backends!(create_car_conflicts, |app| {
    let (u, brand_id) = app.new_user_with_brand().await;
    let v = app.new_user().await;
    app.create_car(&u.token, brand_id, "DUP1234", json!({}))
        .await;
    // Same plate, any case or padding, any owner.
    for (t, plate) in [
        (&u.token, "DUP1234"),
        (&u.token, " dup1234 "),
        (&v.token, "Dup1234"),
    ] {
        app.post_auth("/api/v1/cars/", t, &car_body(brand_id, plate))
            .await
            .assert_error(400, "Placa já está em uso")
            .assert_security_headers();
    }
    // Unknown brand.
    app.post_auth(
        "/api/v1/cars/",
        &u.token,
        &car_body(999999, &unique_plate()),
    )
    .await
    .assert_error(400, "Marca não encontrada");
    // Both: the plate first.
    app.post_auth("/api/v1/cars/", &u.token, &car_body(999999, "DUP1234"))
        .await
        .assert_error(400, "Placa já está em uso");
    assert_eq!(app.count_rows("cars").await, 1);
});

both_backends!(cars_are_visible_only_to_their_owner, |app| {
    let (u, brand_id) = app.new_user_with_brand().await;
    let v = app.new_user().await;
    let mine = app
        .create_car(&u.token, brand_id, &unique_plate(), json!({}))
        .await;
    let theirs = app
        .create_car(&v.token, brand_id, &unique_plate(), json!({}))
        .await;
    let ids = |r: Resp| -> Vec<i64> {
        r.assert_status(200);
        r.json()["cars"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_i64().unwrap())
            .collect()
    };
    assert_eq!(
        ids(app.get_auth("/api/v1/cars/", &u.token).await),
        vec![mine["id"].as_i64().unwrap()]
    );
    assert_eq!(
        ids(app.get_auth("/api/v1/cars", &v.token).await),
        vec![theirs["id"].as_i64().unwrap()]
    );
    let other = format!("/api/v1/cars/{}", theirs["id"]);
    app.get_auth(&other, &u.token)
        .await
        .assert_error(403, "Not enough permissions to access this car")
        .assert_security_headers();
    app.put_auth(&other, &u.token, &json!({"price": 1}))
        .await
        .assert_error(403, "Not enough permissions to access this car");
    app.put_auth(&other, &u.token, &json!({}))
        .await
        .assert_error(403, "Not enough permissions to access this car");
    app.delete_auth(&other, &u.token)
        .await
        .assert_error(403, "Not enough permissions to access this car");
    // Untouched.
    let r = app.get_auth(&other, &v.token).await;
    r.assert_status(200);
    assert_eq!(r.json(), theirs);
    assert_eq!(
        app.stored_price(theirs["id"].as_i64().unwrap())
            .await
            .as_deref(),
        Some("85000.00")
    );
    assert_eq!(app.count_rows("cars").await, 2);
});

both_backends!(get_car_not_found_and_bad_ids, |app| {
    let (u, _) = app.new_user_with_brand().await;
    for id in [
        "999999",
        "0",
        "-1",
        "9223372036854775807",
        "-9223372036854775808",
    ] {
        app.get_auth(&format!("/api/v1/cars/{id}"), &u.token)
            .await
            .assert_error(404, "Carro não encontrado");
    }
    let r = app.get_auth("/api/v1/cars/abc", &u.token).await;
    r.assert_422(&[int_parsing("path", "car_id")]);
    assert_eq!(r.entry(json!(["path", "car_id"]))["input"], "abc");
    for id in ["9223372036854775808", "-9223372036854775809", "1e3", "0x10"] {
        let r = app.get_auth(&format!("/api/v1/cars/{id}"), &u.token).await;
        r.assert_status(422);
        assert_eq!(r.entry(json!(["path", "car_id"]))["input"], json!(id));
    }
});

both_backends!(list_cars_filters, |app| {
    let (u, b1) = app.new_user_with_brand().await;
    let b2 = app.create_brand(&u.token, &unique("Other")).await["id"]
        .as_i64()
        .unwrap();
    let v = app.new_user().await;
    let specs = [
        (b1, "Onix LT", "flex", "manual", "50000", true),
        (b1, "Onix Premier", "flex", "automatic", "75000.50", false),
        (b2, "Model 3", "electric", "automatic", "250000", true),
        (
            b2,
            "Hilux 100%",
            "diesel",
            "semi_automatic",
            "300000.99",
            true,
        ),
        (b1, "Prius_Hybrid", "hybrid", "cvt", "150000", false),
    ];
    let mut ids = vec![];
    for (brand, model, fuel, tr, price, avail) in specs {
        let c = app
            .create_car(
                &u.token,
                brand,
                &unique_plate(),
                json!({"model": model, "fuel_type": fuel, "transmission": tr, "price": price, "is_available": avail}),
            )
            .await;
        ids.push(c["id"].as_i64().unwrap());
    }
    // Someone else's car that matches every filter must never show.
    app.create_car(
        &v.token,
        b1,
        &unique_plate(),
        json!({"model": "Onix LT", "price": "50000"}),
    )
    .await;
    let list = |q: String| {
        let t = u.token.clone();
        async move {
            let r = app.get_auth(&format!("/api/v1/cars/?{q}"), &t).await;
            r.assert_status(200);
            let body = r.json();
            let got: Vec<i64> = body["cars"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| {
                    assert_car_shape(c);
                    c["id"].as_i64().unwrap()
                })
                .collect();
            (body, got)
        }
    };
    let pick = |idx: &[usize]| idx.iter().map(|i| ids[*i]).collect::<Vec<_>>();
    let (body, all) = list(String::new()).await;
    assert_eq!(all, ids);
    assert_eq!(
        (body["offset"].as_i64(), body["limit"].as_i64()),
        (Some(0), Some(100))
    );
    assert_eq!(list(format!("brand_id={b1}")).await.1, pick(&[0, 1, 4]));
    assert_eq!(list(format!("brand_id={b2}")).await.1, pick(&[2, 3]));
    assert_eq!(list("brand_id=999999".into()).await.1, pick(&[]));
    assert_eq!(list("fuel_type=flex".into()).await.1, pick(&[0, 1]));
    assert_eq!(list("transmission=automatic".into()).await.1, pick(&[1, 2]));
    assert_eq!(list("is_available=true".into()).await.1, pick(&[0, 2, 3]));
    assert_eq!(list("is_available=no".into()).await.1, pick(&[1, 4]));
    // Inclusive price bounds, exact decimals.
    assert_eq!(
        list("min_price=75000.50".into()).await.1,
        pick(&[1, 2, 3, 4])
    );
    assert_eq!(list("min_price=75000.51".into()).await.1, pick(&[2, 3, 4]));
    assert_eq!(list("max_price=75000.50".into()).await.1, pick(&[0, 1]));
    assert_eq!(list("max_price=75000.49".into()).await.1, pick(&[0]));
    assert_eq!(
        list("min_price=150000&max_price=300000.99".into()).await.1,
        pick(&[2, 3, 4])
    );
    assert_eq!(list("min_price=0".into()).await.1, ids);
    assert_eq!(list("min_price=300001".into()).await.1, pick(&[]));
    // Search: model or plate, case-insensitive, literal.
    assert_eq!(list("search=onix".into()).await.1, pick(&[0, 1]));
    assert_eq!(list("search=%25".into()).await.1, pick(&[3]));
    assert_eq!(list("search=_".into()).await.1, pick(&[4]));
    let plate = app
        .get_auth(&format!("/api/v1/cars/{}", ids[2]), &u.token)
        .await
        .json()["plate"]
        .as_str()
        .unwrap()
        .to_lowercase();
    assert_eq!(list(format!("search={plate}")).await.1, pick(&[2]));
    // Combined, with paging.
    assert_eq!(
        list(format!("brand_id={b1}&fuel_type=flex&transmission=manual&is_available=true&min_price=1&max_price=60000&search=LT")).await.1,
        pick(&[0])
    );
    let (body, page) = list("offset=1&limit=2".into()).await;
    assert_eq!(page, pick(&[1, 2]));
    assert_eq!(
        (body["offset"].as_i64(), body["limit"].as_i64()),
        (Some(1), Some(2))
    );
    let (_, page) = list("transmission=automatic&offset=1&limit=1".into()).await;
    assert_eq!(page, pick(&[2]));
});

both_backends!(list_cars_bad_filters_are_422, |app| {
    let (u, _) = app.new_user_with_brand().await;
    let get = |q: &'static str| {
        let t = u.token.clone();
        async move { app.get_auth(&format!("/api/v1/cars/?{q}"), &t).await }
    };
    let r = get("fuel_type=steam").await;
    r.assert_422(&[enum_error("query", "fuel_type", FUEL_TYPES)]);
    let e = r.entry(json!(["query", "fuel_type"]));
    assert_eq!(e["input"], "steam");
    assert_eq!(e["ctx"], json!({"expected": FUEL_TYPES}));
    let r = get("transmission=warp").await;
    r.assert_422(&[enum_error("query", "transmission", TRANSMISSIONS)]);
    assert_eq!(
        r.entry(json!(["query", "transmission"]))["ctx"],
        json!({"expected": TRANSMISSIONS})
    );
    // Enum values are exact (case matters).
    get("fuel_type=FLEX")
        .await
        .assert_422(&[enum_error("query", "fuel_type", FUEL_TYPES)]);
    get("is_available=perhaps")
        .await
        .assert_422(&[bool_parsing("query", "is_available")]);
    get("brand_id=abc")
        .await
        .assert_422(&[int_parsing("query", "brand_id")]);
    let r = get("min_price=-1").await;
    r.assert_status(422);
    assert_eq!(r.json()["detail"].as_array().unwrap().len(), 1);
    r.entry(json!(["query", "min_price"]));
    let r = get("max_price=-0.01").await;
    r.assert_status(422);
    r.entry(json!(["query", "max_price"]));
    let r = get("min_price=abc").await;
    r.assert_status(422);
    r.entry(json!(["query", "min_price"]));
    let r = get("limit=0&offset=-1&fuel_type=steam&transmission=warp").await;
    r.assert_422(&[
        ge("limit", 1),
        ge("offset", 0),
        enum_error("query", "fuel_type", FUEL_TYPES),
        enum_error("query", "transmission", TRANSMISSIONS),
    ]);
    get("limit=101").await.assert_422(&[le("limit", 100)]);
});

both_backends!(update_car_partial_and_updated_at, |app| {
    let (u, brand_id) = app.new_user_with_brand().await;
    let b2 = app.create_brand(&u.token, &unique("Second")).await;
    let car = app
        .create_car(&u.token, brand_id, "UPD1234", json!({}))
        .await;
    let id = car["id"].as_i64().unwrap();
    let path = format!("/api/v1/cars/{id}");
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    // {} and unchanged values change nothing.
    let r = app.put_auth(&path, &u.token, &json!({})).await;
    r.assert_status(200);
    assert_eq!(r.json(), car);
    let r = app
        .put_auth(
            &path,
            &u.token,
            &json!({"plate": "upd1234", "model": car["model"], "price": "85000.00"}),
        )
        .await;
    r.assert_status(200);
    assert_eq!(
        r.json(),
        car,
        "own plate is not a duplicate; nothing changed"
    );
    // Real changes; owner_id is ignored.
    let other = app.new_user().await;
    let r = app
        .put_auth(
            &path,
            &u.token,
            &json!({"price": "12.345", "color": " Verde ", "brand_id": b2["id"], "is_available": "off", "owner_id": other.id, "description": "novo"}),
        )
        .await;
    r.assert_status(200);
    let nc = r.json();
    assert_car_shape(&nc);
    assert_eq!(nc["price"], "12.35");
    assert_eq!(nc["color"], "Verde");
    assert_eq!(nc["brand_id"], b2["id"]);
    assert_eq!(nc["brand"], b2);
    assert_eq!(nc["is_available"], false);
    assert_eq!(nc["description"], "novo");
    assert_eq!(nc["owner_id"], u.id);
    assert_eq!(nc["owner"], u.json);
    assert_eq!(nc["plate"], "UPD1234");
    assert_eq!(nc["created_at"], car["created_at"]);
    assert!(assert_timestamp(&nc["updated_at"]) > assert_timestamp(&car["updated_at"]));
    assert_eq!(app.stored_price(id).await.as_deref(), Some("12.35"));
    let row = app.stored_row("cars", id).await.unwrap();
    assert_eq!(row["owner_id"], u.id);
    assert_eq!(row["color"], "Verde");
    assert_eq!(app.get_auth(&path, &u.token).await.json(), nc);
    // New plate.
    let r = app
        .put_auth(&path, &u.token, &json!({"plate": " new5678 "}))
        .await;
    r.assert_status(200);
    assert_eq!(r.json()["plate"], "NEW5678");
});

both_backends!(update_car_errors_in_order, |app| {
    let (u, brand_id) = app.new_user_with_brand().await;
    let v = app.new_user().await;
    let car = app
        .create_car(&u.token, brand_id, "MINE1234", json!({}))
        .await;
    app.create_car(&u.token, brand_id, "TAKEN12", json!({}))
        .await;
    let vcar = app
        .create_car(&v.token, brand_id, "THEIRS12", json!({}))
        .await;
    let path = format!("/api/v1/cars/{}", car["id"]);
    // 401 first.
    app.put("/api/v1/cars/abc", &json!({}))
        .await
        .assert_error(401, "Not authenticated");
    // 422 (path and body) before 404.
    app.put_auth("/api/v1/cars/abc", &u.token, &json!({}))
        .await
        .assert_422(&[int_parsing("path", "car_id")]);
    app.put_auth("/api/v1/cars/999999", &u.token, &json!({"price": 0}))
        .await
        .assert_422(&[value_error("price", "Preço deve ser maior que zero")]);
    app.put_auth(
        &path,
        &u.token,
        &json!({"fuel_type": "coal", "model_year": 1800}),
    )
    .await
    .assert_422(&[
        enum_error("body", "fuel_type", FUEL_TYPES),
        value_error("model_year", "Ano deve estar entre 1900 e 2030"),
    ]);
    // 404, then 403, then 400.
    app.put_auth(
        "/api/v1/cars/999999",
        &u.token,
        &json!({"plate": "TAKEN12"}),
    )
    .await
    .assert_error(404, "Carro não encontrado");
    app.put_auth(
        &format!("/api/v1/cars/{}", vcar["id"]),
        &u.token,
        &json!({"plate": "TAKEN12"}),
    )
    .await
    .assert_error(403, "Not enough permissions to access this car");
    app.put_auth(&path, &u.token, &json!({"plate": "taken12"}))
        .await
        .assert_error(400, "Placa já está em uso");
    app.put_auth(&path, &u.token, &json!({"plate": "THEIRS12"}))
        .await
        .assert_error(400, "Placa já está em uso");
    app.put_auth(&path, &u.token, &json!({"brand_id": 999999}))
        .await
        .assert_error(400, "Marca não encontrada");
    app.put_auth(
        &path,
        &u.token,
        &json!({"plate": "TAKEN12", "brand_id": 999999}),
    )
    .await
    .assert_error(400, "Placa já está em uso");
    // Nothing changed.
    let r = app.get_auth(&path, &u.token).await;
    assert_eq!(r.json(), car);
});

both_backends!(delete_car, |app| {
    let (u, brand_id) = app.new_user_with_brand().await;
    let v = app.new_user().await;
    let car = app
        .create_car(&u.token, brand_id, &unique_plate(), json!({}))
        .await;
    let path = format!("/api/v1/cars/{}", car["id"]);
    app.delete_auth(&path, &v.token)
        .await
        .assert_error(403, "Not enough permissions to access this car");
    app.delete_auth("/api/v1/cars/abc", &u.token)
        .await
        .assert_422(&[int_parsing("path", "car_id")]);
    app.delete_auth("/api/v1/cars/999999", &u.token)
        .await
        .assert_error(404, "Carro não encontrado");
    assert_eq!(app.count_rows("cars").await, 1);
    let r = app.delete_auth(&path, &u.token).await;
    r.assert_no_content().assert_security_headers();
    assert_eq!(app.count_rows("cars").await, 0);
    app.get_auth(&path, &u.token)
        .await
        .assert_error(404, "Carro não encontrado");
    app.delete_auth(&path, &u.token)
        .await
        .assert_error(404, "Carro não encontrado");
    // The plate is free again.
    app.create_car(
        &u.token,
        brand_id,
        car["plate"].as_str().unwrap(),
        json!({}),
    )
    .await;
});

// Reads of cars check that the caller still exists through the car rows themselves
// (each is joined with its owner); every other outcome must still give a deleted user's
// token its 401 — including errors that come later in the order of checks.
both_backends!(a_deleted_users_token_is_refused_on_every_car_read, |app| {
    let owner = app.new_user().await;
    let other = app.new_user().await;
    let brand = app.create_brand(&owner.token, &unique("Brand")).await;
    let brand_id = brand["id"].as_i64().unwrap();
    let car = app
        .create_car(&owner.token, brand_id, &unique_plate(), json!({}))
        .await;
    let car_id = car["id"].as_i64().unwrap();
    // Another user's token, whose user is deleted after it was issued.
    app.delete_auth(&format!("/api/v1/users/{}", other.id), &other.token)
        .await
        .assert_status(204);
    for path in [
        "/api/v1/cars/".to_string(),
        format!("/api/v1/cars/{car_id}"),
        "/api/v1/cars/987654321".to_string(),
        "/api/v1/cars/not-a-number".to_string(),
        "/api/v1/cars/?limit=0".to_string(),
    ] {
        app.get_auth(&path, &other.token)
            .await
            .assert_error(401, "Could not validate credentials");
    }
    app.put_auth(
        &format!("/api/v1/cars/{car_id}"),
        &other.token,
        &json!({"color": "Azul"}),
    )
    .await
    .assert_error(401, "Could not validate credentials");
    app.delete_auth(&format!("/api/v1/cars/{car_id}"), &other.token)
        .await
        .assert_error(401, "Could not validate credentials");
    // Creating runs no check before its INSERT: the owner foreign key refuses the row,
    // and the answer is still 401, before the taken plate, the unknown brand and the
    // invalid body; nothing is stored.
    let taken_plate = car["plate"].as_str().unwrap().to_string();
    for body in [
        car_body(brand_id, &unique_plate()),
        car_body(brand_id, &taken_plate),
        car_body(999_999, &unique_plate()),
        json!({"model": ""}),
    ] {
        app.post_auth("/api/v1/cars/", &other.token, &body)
            .await
            .assert_error(401, "Could not validate credentials");
    }
    assert_eq!(app.count_rows("cars").await, 1);
    // The owner's car is untouched and still readable by the owner.
    let r = app
        .get_auth(&format!("/api/v1/cars/{car_id}"), &owner.token)
        .await;
    r.assert_status(200);
    assert_eq!(r.json()["color"], car["color"]);
});
