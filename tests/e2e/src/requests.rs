//! The HTTP side of [`TestApp`]: requests by verb, with or without a bearer token, and
//! the API calls most tests start with (register, log in, a new user, a brand, a car).

use reqwest::Method;
use serde_json::{Value, json};

use crate::PASSWORD;
use crate::app::TestApp;
use crate::fixtures::{TestUser, car_body, unique};
use crate::response::Resp;

impl TestApp {
    pub fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.client.request(method, self.url(path))
    }

    /// Sends and reads the whole answer. Panics on a transport error.
    pub async fn send(&self, rb: reqwest::RequestBuilder) -> Resp {
        let r = rb.send().await.unwrap_or_else(|e| {
            panic!("request failed: {e:?}\n--- app output ---\n{}", self.logs())
        });
        Resp::read(r).await
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.send(self.request(Method::GET, path)).await
    }
    pub async fn get_auth(&self, path: &str, token: &str) -> Resp {
        self.send(self.request(Method::GET, path).bearer_auth(token))
            .await
    }
    pub async fn post(&self, path: &str, body: &Value) -> Resp {
        self.send(self.request(Method::POST, path).json(body)).await
    }
    pub async fn post_auth(&self, path: &str, token: &str, body: &Value) -> Resp {
        self.send(
            self.request(Method::POST, path)
                .bearer_auth(token)
                .json(body),
        )
        .await
    }
    /// POST of a raw body with `Content-Type: application/json`.
    pub async fn post_raw(
        &self,
        path: &str,
        token: Option<&str>,
        body: impl Into<reqwest::Body>,
    ) -> Resp {
        let mut rb = self
            .request(Method::POST, path)
            .header("content-type", "application/json")
            .body(body);
        if let Some(t) = token {
            rb = rb.bearer_auth(t);
        }
        self.send(rb).await
    }
    /// PUT of a raw body with `Content-Type: application/json`.
    pub async fn put_raw(
        &self,
        path: &str,
        token: Option<&str>,
        body: impl Into<reqwest::Body>,
    ) -> Resp {
        let mut rb = self
            .request(Method::PUT, path)
            .header("content-type", "application/json")
            .body(body);
        if let Some(t) = token {
            rb = rb.bearer_auth(t);
        }
        self.send(rb).await
    }
    pub async fn put(&self, path: &str, body: &Value) -> Resp {
        self.send(self.request(Method::PUT, path).json(body)).await
    }
    pub async fn put_auth(&self, path: &str, token: &str, body: &Value) -> Resp {
        self.send(
            self.request(Method::PUT, path)
                .bearer_auth(token)
                .json(body),
        )
        .await
    }
    pub async fn delete(&self, path: &str) -> Resp {
        self.send(self.request(Method::DELETE, path)).await
    }
    pub async fn delete_auth(&self, path: &str, token: &str) -> Resp {
        self.send(self.request(Method::DELETE, path).bearer_auth(token))
            .await
    }

    // --- domain helpers --------------------------------------------------------------

    /// POST /api/v1/users/ and expect 201; returns the user.
    pub async fn register(&self, username: &str, email: &str, password: &str) -> Value {
        let r = self
            .post(
                "/api/v1/users/",
                &json!({"username": username, "email": email, "password": password}),
            )
            .await;
        r.assert_status(201);
        r.json()
    }

    /// POST /api/v1/auth/token (the answer unchecked).
    pub async fn try_login(&self, email: &str, password: &str) -> Resp {
        self.post(
            "/api/v1/auth/token",
            &json!({"email": email, "password": password}),
        )
        .await
    }

    /// POST /api/v1/auth/token and expect 200; returns the access token.
    pub async fn login(&self, email: &str, password: &str) -> String {
        let r = self.try_login(email, password).await;
        r.assert_status(200);
        r.json()["access_token"]
            .as_str()
            .expect("access_token is a string")
            .to_string()
    }

    /// POST /api/v1/auth/token with a wrong password for `email` (the answer unchecked).
    pub async fn failed_login(&self, email: &str) -> Resp {
        self.try_login(email, "wrong-password").await
    }

    /// A fresh registered and logged-in user.
    pub async fn new_user(&self) -> TestUser {
        let username = unique("user");
        let email = format!("{username}@example.com");
        let user = self.register(&username, &email, PASSWORD).await;
        let token = self.login(&email, PASSWORD).await;
        TestUser {
            id: user["id"].as_i64().expect("user id"),
            username,
            email,
            password: PASSWORD.into(),
            token,
            json: user,
        }
    }

    /// A fresh user with a brand of their own: the user and the brand's id.
    pub async fn new_user_with_brand(&self) -> (TestUser, i64) {
        let u = self.new_user().await;
        let brand = self.create_brand(&u.token, &unique("Brand")).await;
        (u, brand["id"].as_i64().expect("brand id"))
    }

    /// POST /api/v1/brands/ {name} and expect 201; returns the brand.
    pub async fn create_brand(&self, token: &str, name: &str) -> Value {
        let r = self
            .post_auth("/api/v1/brands/", token, &json!({"name": name}))
            .await;
        r.assert_status(201);
        r.json()
    }

    /// POST /api/v1/cars/ with [`car_body`] (overridden by `overrides`' fields); expects 201.
    pub async fn create_car(
        &self,
        token: &str,
        brand_id: i64,
        plate: &str,
        overrides: Value,
    ) -> Value {
        let mut body = car_body(brand_id, plate);
        if let Value::Object(o) = overrides {
            for (k, v) in o {
                body[k] = v;
            }
        }
        let r = self.post_auth("/api/v1/cars/", token, &body).await;
        r.assert_status(201);
        r.json()
    }
}
