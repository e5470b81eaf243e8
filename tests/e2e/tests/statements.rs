//! How many database statements each car route runs, read from `/metrics`
//! (`database_queries_total`): the benchmark's S2 (a car by id), S3 (a list) and S5 (a
//! create) are one statement each, and so are the answers that prove the caller on the
//! way (404, 403, an empty list, a refused account). The count is what the repositories
//! promise; a second round trip would double the database's share of these routes.

use e2e_tests::*;

/// `database_queries_total` now.
async fn statements_so_far(app: &TestApp) -> i64 {
    let r = app.get("/metrics").await;
    r.assert_status(200);
    r.text()
        .lines()
        .find_map(|line| line.strip_prefix("database_queries_total "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no database_queries_total in {}", r.text()))
}

/// The statements one request ran, and its status.
async fn statements_of(app: &TestApp, request: reqwest::RequestBuilder) -> (u16, i64) {
    let before = statements_so_far(app).await;
    let status = app.send(request).await.status;
    (status, statements_so_far(app).await - before)
}

both_backends!(car_routes_run_one_statement_each, |app| {
    let (owner, brand_id) = app.new_user_with_brand().await;
    let other = app.new_user().await;
    let car = app
        .create_car(&owner.token, brand_id, &unique_plate(), json!({}))
        .await;
    let car_path = format!("/api/v1/cars/{}", car["id"]);
    let get = |path: &str, token: &str| app.request(Method::GET, path).bearer_auth(token);

    let cases = [
        ("S2 own car", get(&car_path, &owner.token), 200),
        (
            "missing car",
            get("/api/v1/cars/987654321", &owner.token),
            404,
        ),
        ("another user's car", get(&car_path, &other.token), 403),
        (
            "S3 list",
            get("/api/v1/cars/?limit=20&fuel_type=flex", &owner.token),
            200,
        ),
        ("empty list", get("/api/v1/cars/", &other.token), 200),
        (
            "S5 create",
            app.request(Method::POST, "/api/v1/cars/")
                .bearer_auth(&owner.token)
                .json(&car_body(brand_id, &unique_plate())),
            201,
        ),
    ];
    for (name, request, expected) in cases {
        let (status, statements) = statements_of(app, request).await;
        assert_eq!(status, expected, "{name}");
        assert_eq!(statements, 1, "{name}: statements run");
    }

    // A deleted account's token: the same one statement finds no caller (401).
    let gone = app.new_user().await;
    app.delete_auth(&format!("/api/v1/users/{}", gone.id), &gone.token)
        .await
        .assert_status(204);
    let (status, statements) = statements_of(app, get(&car_path, &gone.token)).await;
    assert_eq!((status, statements), (401, 1), "deleted caller");
    // A refused create costs the second statement that tells 401 from 400.
    let (status, statements) = statements_of(
        app,
        app.request(Method::POST, "/api/v1/cars/")
            .bearer_auth(&gone.token)
            .json(&car_body(brand_id, &unique_plate())),
    )
    .await;
    assert_eq!((status, statements), (401, 2), "deleted caller's create");
});
