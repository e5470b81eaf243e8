//! Uniqueness under concurrent requests: exactly one winner, the losers get the same 400
//! as a sequential duplicate, never a 5xx.

use e2e_tests::*;
use futures::future::join_all;

const N: usize = 20;

/// Exactly one `success`, every other answer `400 {"detail": loser}`.
#[track_caller]
fn assert_one_winner(results: &[Resp], success: u16, loser: &str) {
    let statuses: Vec<u16> = results.iter().map(|r| r.status).collect();
    assert!(statuses.iter().all(|s| *s < 500), "no 5xx: {statuses:?}");
    assert_eq!(
        statuses.iter().filter(|s| **s == success).count(),
        1,
        "exactly one {success}: {statuses:?}"
    );
    for r in results.iter().filter(|r| r.status != success) {
        r.assert_error(400, loser);
    }
}

both_backends!(concurrent_duplicate_registrations, |app| {
    let username = unique("race");
    let email = unique_email();
    let body = json!({"username": username, "email": email, "password": PASSWORD});
    let results = join_all((0..N).map(|_| app.post("/api/v1/users/", &body))).await;
    assert_one_winner(&results, 201, "Username já está em uso");
    assert_eq!(app.count_rows("users").await, 1);
    let rows = app.db_query("SELECT username, email FROM users").await;
    assert_eq!(rows[0]["username"], json!(username));
    assert_eq!(rows[0]["email"], json!(email));
    // The winner can log in.
    app.login(&email, PASSWORD).await;
});

both_backends!(concurrent_duplicate_emails, |app| {
    let email = unique_email();
    let bodies: Vec<Value> = (0..N)
        .map(|i| json!({"username": format!("{}{i}", unique("em")), "email": email, "password": PASSWORD}))
        .collect();
    let results = join_all(bodies.iter().map(|b| app.post("/api/v1/users/", b))).await;
    assert_one_winner(&results, 201, "Email já está em uso");
    assert_eq!(app.count_rows("users").await, 1);
});

both_backends!(concurrent_duplicate_plates, |app| {
    let u = app.new_user().await;
    let v = app.new_user().await;
    let brand_id = app.create_brand(&u.token, "Race").await["id"]
        .as_i64()
        .unwrap();
    let plate = unique_plate();
    // Half the requests from another user, some with the plate in lower case.
    let reqs: Vec<(String, Value)> = (0..N)
        .map(|i| {
            let t = if i % 2 == 0 { &u.token } else { &v.token };
            let p = if i % 3 == 0 {
                plate.to_lowercase()
            } else {
                plate.clone()
            };
            (t.clone(), car_body(brand_id, &p))
        })
        .collect();
    let results = join_all(
        reqs.iter()
            .map(|(t, b)| app.post_auth("/api/v1/cars/", t, b)),
    )
    .await;
    assert_one_winner(&results, 201, "Placa já está em uso");
    assert_eq!(app.count_rows("cars").await, 1);
    let rows = app.db_query("SELECT plate FROM cars").await;
    assert_eq!(rows[0]["plate"], json!(plate));
});

both_backends!(concurrent_duplicate_brand_names, |app| {
    let u = app.new_user().await;
    let name = unique("RaceBrand");
    let body = json!({"name": name});
    let results = join_all((0..N).map(|_| app.post_auth("/api/v1/brands/", &u.token, &body))).await;
    assert_one_winner(&results, 201, "Nome da marca já está em uso");
    assert_eq!(app.count_rows("brands").await, 1);
});

both_backends!(concurrent_renames_to_the_same_username, |app| {
    let mut users = vec![];
    for _ in 0..10 {
        users.push(app.new_user().await);
    }
    let target = unique("taken");
    let body = json!({"username": target});
    let paths: Vec<String> = users
        .iter()
        .map(|u| format!("/api/v1/users/{}", u.id))
        .collect();
    let results = join_all(
        users
            .iter()
            .zip(&paths)
            .map(|(u, p)| app.put_auth(p, &u.token, &body)),
    )
    .await;
    assert_one_winner(&results, 200, "Username já está em uso");
    let rows = app
        .db_query(&format!("SELECT id FROM users WHERE username = '{target}'"))
        .await;
    assert_eq!(rows.len(), 1);
    assert_eq!(app.count_rows("users").await, 10);
});

both_backends!(concurrent_plate_changes_to_the_same_plate, |app| {
    let u = app.new_user().await;
    let brand_id = app.create_brand(&u.token, "RacePlate").await["id"]
        .as_i64()
        .unwrap();
    let mut ids = vec![];
    for _ in 0..10 {
        ids.push(
            app.create_car(&u.token, brand_id, &unique_plate(), json!({}))
                .await["id"]
                .as_i64()
                .unwrap(),
        );
    }
    let plate = unique_plate();
    let body = json!({"plate": plate});
    let paths: Vec<String> = ids.iter().map(|id| format!("/api/v1/cars/{id}")).collect();
    let results = join_all(paths.iter().map(|p| app.put_auth(p, &u.token, &body))).await;
    assert_one_winner(&results, 200, "Placa já está em uso");
    let rows = app
        .db_query(&format!("SELECT id FROM cars WHERE plate = '{plate}'"))
        .await;
    assert_eq!(rows.len(), 1);
});

both_backends!(concurrent_mixed_traffic_never_fails, |app| {
    // Readers and writers at once: every answer is a success.
    let u = app.new_user().await;
    let brand_id = app.create_brand(&u.token, "Mixed").await["id"]
        .as_i64()
        .unwrap();
    let plates: Vec<String> = (0..N).map(|_| unique_plate()).collect();
    let bodies: Vec<Value> = plates.iter().map(|p| car_body(brand_id, p)).collect();
    let writes = bodies
        .iter()
        .map(|b| app.post_auth("/api/v1/cars/", &u.token, b));
    let reads = (0..N).map(|_| app.get_auth("/api/v1/cars/", &u.token));
    let (w, r) = futures::join!(join_all(writes), join_all(reads));
    for x in &w {
        x.assert_status(201);
    }
    for x in &r {
        x.assert_status(200);
    }
    assert_eq!(app.count_rows("cars").await, N as i64);
    let listed = app.get_auth("/api/v1/cars/", &u.token).await.json();
    assert_eq!(listed["cars"].as_array().unwrap().len(), N);
});
