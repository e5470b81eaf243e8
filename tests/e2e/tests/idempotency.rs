//! `Idempotency-Key` on the writes of users, brands and cars: a retry gets the first
//! answer back without running again; another body is 422; a retry while the first runs
//! is 409; keys are per caller and route and live 24 hours. On both databases.

use std::io::Write as _;
use std::time::Duration;

use e2e_tests::*;

const KEY: &str = "idempotency-key";

fn key() -> String {
    unique("key")
}

/// `POST /api/v1/cars/` by `token` with an `Idempotency-Key`.
async fn post_car(app: &TestApp, token: &str, key: &str, body: &Value) -> Resp {
    post_keyed(app, "/api/v1/cars/", Some(token), key, body).await
}

async fn post_keyed(
    app: &TestApp,
    path: &str,
    token: Option<&str>,
    key: &str,
    body: &Value,
) -> Resp {
    let mut rb = app.request(Method::POST, path).header(KEY, key).json(body);
    if let Some(token) = token {
        rb = rb.bearer_auth(token);
    }
    app.send(rb).await
}

async fn cars_with_plate(app: &TestApp, plate: &str) -> Vec<i64> {
    app.db_query(&format!(
        "SELECT id FROM cars WHERE plate = '{plate}' ORDER BY id"
    ))
    .await
    .iter()
    .map(|row| row["id"].as_i64().unwrap())
    .collect()
}

fn replayed(r: &Resp) -> bool {
    r.header("idempotent-replayed").as_deref() == Some("true")
}

both_backends!(
    a_retried_creation_gets_the_first_answer_without_running_again,
    |app| {
        let (u, brand_id) = app.new_user_with_brand().await;
        let plate = unique_plate();
        let body = car_body(brand_id, &plate);
        let k = key();
        let first = post_car(app, &u.token, &k, &body).await;
        first.assert_status(201).assert_json_content_type();
        assert!(!replayed(&first), "the first answer is not a replay");
        let again = post_car(app, &u.token, &k, &body).await;
        again
            .assert_status(201)
            .assert_json_content_type()
            .assert_security_headers();
        assert!(replayed(&again), "the retry is marked as a replay");
        assert_eq!(
            again.json(),
            first.json(),
            "the same body, timestamps included"
        );
        assert_eq!(
            cars_with_plate(app, &plate).await,
            vec![first.json()["id"].as_i64().unwrap()]
        );

        // Without the header nothing changes: the same body is a duplicate plate.
        app.post_auth("/api/v1/cars/", &u.token, &body)
            .await
            .assert_error(400, "Placa já está em uso");

        // Registration (no token) and brands take keys too.
        let name = unique("user");
        let user =
            json!({"username": name, "email": format!("{name}@example.com"), "password": PASSWORD});
        let k = key();
        let a = post_keyed(app, "/api/v1/users/", None, &k, &user).await;
        a.assert_status(201);
        let b = post_keyed(app, "/api/v1/users/", None, &k, &user).await;
        b.assert_status(201);
        assert!(replayed(&b));
        assert_eq!(a.json(), b.json());
        let brand = json!({"name": unique("Marca")});
        let k = key();
        let a = post_keyed(app, "/api/v1/brands/", Some(&u.token), &k, &brand).await;
        let b = post_keyed(app, "/api/v1/brands/", Some(&u.token), &k, &brand).await;
        a.assert_status(201);
        b.assert_status(201);
        assert_eq!(a.json(), b.json());
        assert_eq!(
            app.db_query(&format!(
                "SELECT count(*) AS n FROM brands WHERE name = '{}'",
                brand["name"].as_str().unwrap()
            ))
            .await[0]["n"],
            1
        );
    }
);

both_backends!(updates_and_deletes_replay_their_first_answer, |app| {
    let (u, brand_id) = app.new_user_with_brand().await;
    let car = app
        .create_car(&u.token, brand_id, &unique_plate(), json!({}))
        .await;
    let path = format!("/api/v1/cars/{}", car["id"]);
    let k = key();
    let put = |price: i64| {
        app.request(Method::PUT, &path)
            .bearer_auth(&u.token)
            .header(KEY, &k)
            .json(&json!({"price": price}))
    };
    let first = app.send(put(90000)).await;
    first.assert_status(200);
    assert_eq!(first.json()["price"], "90000.00");
    // Someone changes the car in between; the retry still gets the first answer and
    // does not write again.
    app.put_auth(&path, &u.token, &json!({"color": "Azul"}))
        .await
        .assert_status(200);
    let again = app.send(put(90000)).await;
    again.assert_status(200);
    assert!(replayed(&again));
    assert_eq!(again.json(), first.json());
    assert_eq!(app.get_auth(&path, &u.token).await.json()["color"], "Azul");

    let k = key();
    let delete = || {
        app.request(Method::DELETE, &path)
            .bearer_auth(&u.token)
            .header(KEY, &k)
    };
    app.send(delete()).await.assert_no_content();
    let again = app.send(delete()).await;
    again.assert_no_content();
    assert!(replayed(&again), "a retried DELETE is 204 again, not 404");
    app.get_auth(&path, &u.token).await.assert_status(404);
});

both_backends!(client_errors_are_answers_too_and_are_replayed, |app| {
    let (u, _) = app.new_user_with_brand().await;
    let body = car_body(999_999_999, &unique_plate());
    let k = key();
    post_car(app, &u.token, &k, &body)
        .await
        .assert_error(400, "Marca não encontrada");
    let again = post_car(app, &u.token, &k, &body).await;
    again.assert_error(400, "Marca não encontrada");
    assert!(replayed(&again));
    // A refused token is never stored: it is answered as without the header.
    post_car(app, "not-a-token", &k, &body)
        .await
        .assert_error(401, "Could not validate credentials");
});

both_backends!(
    the_same_key_with_another_body_is_422_and_runs_nothing,
    |app| {
        let (u, brand_id) = app.new_user_with_brand().await;
        let k = key();
        let plate = unique_plate();
        post_car(app, &u.token, &k, &car_body(brand_id, &plate))
            .await
            .assert_status(201);
        let other = unique_plate();
        let r = post_car(app, &u.token, &k, &car_body(brand_id, &other)).await;
        r.assert_error(422, "Idempotency-Key já usada com outro corpo");
        assert!(cars_with_plate(app, &other).await.is_empty(), "nothing ran");
    }
);

both_backends!(malformed_keys_are_422_and_run_nothing, |app| {
    let (u, brand_id) = app.new_user_with_brand().await;
    for bad in ["", "two words", &"k".repeat(256)] {
        let plate = unique_plate();
        let r = post_car(app, &u.token, bad, &car_body(brand_id, &plate)).await;
        r.assert_status(422);
        r.entry(json!(["header", "idempotency-key"]));
        assert!(
            cars_with_plate(app, &plate).await.is_empty(),
            "{bad:?}: nothing ran"
        );
    }
});

both_backends!(keys_belong_to_one_caller_and_one_route, |app| {
    let (a, brand_a) = app.new_user_with_brand().await;
    let (b, brand_b) = app.new_user_with_brand().await;
    let k = key();
    let car_a = post_car(app, &a.token, &k, &car_body(brand_a, &unique_plate())).await;
    car_a.assert_status(201);
    // Another caller's same key is another key: it runs (another body is no 422).
    let car_b = post_car(app, &b.token, &k, &car_body(brand_b, &unique_plate())).await;
    car_b.assert_status(201);
    assert!(!replayed(&car_b));
    assert_ne!(car_a.json()["id"], car_b.json()["id"]);
    // The same caller's same key on another route runs too.
    let r = app
        .send(
            app.request(Method::PUT, &format!("/api/v1/cars/{}", car_a.json()["id"]))
                .bearer_auth(&a.token)
                .header(KEY, &k)
                .json(&json!({"color": "Verde"})),
        )
        .await;
    r.assert_status(200);
    assert!(!replayed(&r));
    assert_eq!(r.json()["color"], "Verde");
});

both_backends!(
    a_retry_while_the_first_runs_is_409_and_an_abandoned_claim_is_taken_over,
    |app| {
        let (u, brand_id) = app.new_user_with_brand().await;
        let k = key();
        let plate = unique_plate();
        // The first request holds the key (claimed, no answer yet), as while it runs.
        let now = now_secs();
        app.db_execute(&format!(
        "INSERT INTO idempotency_keys (caller_id, route, idempotency_key, fingerprint, created_at) \
         VALUES ({}, 'POST /api/v1/cars', '{k}', 'running', {now})",
        u.id
    ))
    .await;
        // Another body is refused even while the first request runs: its body is known.
        let r = post_car(app, &u.token, &k, &car_body(brand_id, &plate)).await;
        r.assert_error(422, "Idempotency-Key já usada com outro corpo");
        assert!(cars_with_plate(app, &plate).await.is_empty());
        app.db_execute(&format!(
            "DELETE FROM idempotency_keys WHERE idempotency_key = '{k}'"
        ))
        .await;

        let body = car_body(brand_id, &plate);
        let first = post_car(app, &u.token, &k, &body).await;
        first.assert_status(201);
        // Make the stored key look like a request still running.
        app.db_execute(&format!(
            "UPDATE idempotency_keys SET status = NULL, body = NULL WHERE idempotency_key = '{k}'"
        ))
        .await;
        let r = post_car(app, &u.token, &k, &body).await;
        r.assert_error(409, "Requisição com esta Idempotency-Key em andamento");
        assert_eq!(r.header("retry-after").as_deref(), Some("1"));
        assert_eq!(
            cars_with_plate(app, &plate).await.len(),
            1,
            "the 409 ran nothing"
        );

        // A claim left without an answer for over 30 s (its request lost the database) is
        // taken over: the retry runs (and finds its plate taken by the first run).
        app.db_execute(&format!(
            "UPDATE idempotency_keys SET created_at = created_at - 31 WHERE idempotency_key = '{k}'"
        ))
        .await;
        post_car(app, &u.token, &k, &body)
            .await
            .assert_error(400, "Placa já está em uso");
    }
);

both_backends!(keys_expire_after_24_hours, |app| {
    let (u, brand_id) = app.new_user_with_brand().await;
    let k = key();
    let body = car_body(brand_id, &unique_plate());
    post_car(app, &u.token, &k, &body).await.assert_status(201);
    app.db_execute(&format!(
        "UPDATE idempotency_keys SET created_at = created_at - 86399 WHERE idempotency_key = '{k}'"
    ))
    .await;
    let r = post_car(app, &u.token, &k, &body).await;
    r.assert_status(201);
    assert!(replayed(&r), "still kept just under 24 hours");
    app.db_execute(&format!(
        "UPDATE idempotency_keys SET created_at = created_at - 2 WHERE idempotency_key = '{k}'"
    ))
    .await;
    // Expired: the request runs again, and now meets its own plate.
    let r = post_car(app, &u.token, &k, &body).await;
    r.assert_error(400, "Placa já está em uso");
    assert!(!replayed(&r));
});

both_backends!(concurrent_duplicates_store_one_car, |app| {
    let (u, brand_id) = app.new_user_with_brand().await;
    let k = key();
    let plate = unique_plate();
    let body = car_body(brand_id, &plate);
    let sends = (0..8).map(|_| post_car(app, &u.token, &k, &body));
    let answers = futures::future::join_all(sends).await;
    let statuses: Vec<u16> = answers.iter().map(|r| r.status).collect();
    assert!(
        statuses.iter().all(|s| *s == 201 || *s == 409),
        "only 201 (first or replay) and 409 (first still running): {statuses:?}"
    );
    let created: Vec<Value> = answers
        .iter()
        .filter(|r| r.status == 201)
        .map(Resp::json)
        .collect();
    assert!(!created.is_empty(), "{statuses:?}");
    assert!(
        created.iter().all(|c| *c == created[0]),
        "every 201 is the same car"
    );
    assert_eq!(
        cars_with_plate(app, &plate).await,
        vec![created[0]["id"].as_i64().unwrap()]
    );
    // Once the first has finished, every retry is the replay.
    let r = post_car(app, &u.token, &k, &body).await;
    r.assert_status(201);
    assert_eq!(r.json(), created[0]);
});

/// Sends `POST /api/v1/cars/` over a raw connection: the request whole, then either
/// the answer read and thrown away (`read_answer`) or the connection dropped at once.
fn send_and_lose_the_answer(
    app: &TestApp,
    token: &str,
    key: &str,
    body: &Value,
    read_answer: bool,
) {
    use std::io::Read as _;
    let body = serde_json::to_string(body).unwrap();
    let url = reqwest::Url::parse(&app.url("/")).unwrap();
    let address = format!("{}:{}", url.host_str().unwrap(), url.port().unwrap());
    let mut socket = std::net::TcpStream::connect(&address).unwrap();
    write!(
        socket,
        "POST /api/v1/cars/ HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {token}\r\n\
         Idempotency-Key: {key}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    socket.flush().unwrap();
    if read_answer {
        socket
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut lost = Vec::new();
        let _ = socket.read_to_end(&mut lost);
        assert!(
            lost.starts_with(b"HTTP/1.1 201"),
            "{}",
            String::from_utf8_lossy(&lost)
        );
    }
}

/// Retries until the first request is no longer running (409).
async fn retry_until_settled(app: &TestApp, token: &str, key: &str, body: &Value) -> Resp {
    for _ in 0..50 {
        let r = post_car(app, token, key, body).await;
        if r.status != 409 {
            return r;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("still 409 after 5 s");
}

both_backends!(an_answer_lost_on_the_way_is_replayed_to_the_retry, |app| {
    let (u, brand_id) = app.new_user_with_brand().await;
    // The answer never reaches the client (here: read and thrown away).
    let (k, plate) = (key(), unique_plate());
    let body = car_body(brand_id, &plate);
    send_and_lose_the_answer(app, &u.token, &k, &body, true);
    let stored = cars_with_plate(app, &plate).await;
    assert_eq!(stored.len(), 1, "the first request ran");
    let r = retry_until_settled(app, &u.token, &k, &body).await;
    r.assert_status(201);
    assert!(replayed(&r), "the retry did not run again");
    assert_eq!(r.json()["id"].as_i64(), Some(stored[0]));
    assert_eq!(cars_with_plate(app, &plate).await, stored);

    // The client dies right after sending: whether or not the host finished the first
    // request, the retry ends with exactly one car, the one its answer describes.
    let (k, plate) = (key(), unique_plate());
    let body = car_body(brand_id, &plate);
    send_and_lose_the_answer(app, &u.token, &k, &body, false);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let r = retry_until_settled(app, &u.token, &k, &body).await;
    r.assert_status(201);
    let stored = cars_with_plate(app, &plate).await;
    assert_eq!(stored.len(), 1, "exactly one car");
    assert_eq!(r.json()["id"].as_i64(), Some(stored[0]));
});
