//! End-to-end harness for the Car API.
//!
//! Every test gets its own running app (real Spin or `devhost`) on its own port, with its
//! own database (a copy of a migrated SQLite template, or a PostgreSQL database created
//! from a migrated template database) and its own key-value file.
//!
//! ```ignore
//! use e2e_tests::*;
//! both_backends!(creates_a_brand, |app| {
//!     let u = app.new_user().await;
//!     let r = app.post_auth("/api/v1/brands/", &u.token, &json!({"name": "Fiat"})).await;
//!     r.assert_status(201);
//!     assert_eq!(app.count_rows("brands").await, 1);
//! });
//! ```
//!
//! Runner: `APP_RUNNER=spin|devhost`, else Spin when `spin` is on `PATH`, else devhost
//! (`$DEVHOST_BIN`, or `release/devhost` in `$DEVHOST_TARGET_DIR` / `$CARGO_TARGET_DIR` /
//! `<workspace>/target`). Schema: `release/migrator up` there (or `$MIGRATOR_BIN`).
//! PostgreSQL: `$TEST_DATABASE_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`);
//! unreachable → the PostgreSQL half is skipped loudly, or fails under `CI` /
//! `REQUIRE_POSTGRES=1`.
//! Key-value store: each app's own SQLite store file, or with `E2E_KEY_VALUE=redis` (the
//! production setup) a Redis database of its own at `$TEST_REDIS_URL`, leased from
//! databases 1–15 and flushed before use, so counters never mix between tests.
//!
//! Modules, all re-exported here: `config` (backends, key-value stores, environment
//! switches), `binaries` (the runner and the built programs), `databases` (migrated
//! templates, one copy per app), `redis_lease`, `app` ([`TestApp`]: start and stop),
//! `requests` (HTTP verbs and API helpers), `introspection` (the stored state), `fixtures`
//! (unique test data), `response` ([`Resp`]), `expected_errors` (the 422 matchers),
//! `shapes` (response shapes) and `jwt` (tokens by hand). For the reliability tests, by
//! path: [`private_services`], [`raw_clients`] and [`measurements`].

mod app;
mod binaries;
mod config;
mod databases;
mod expected_errors;
mod fixtures;
mod introspection;
mod jwt;
mod redis_lease;
mod requests;
mod response;
mod shapes;

pub mod measurements;
pub mod private_services;
pub mod raw_clients;

pub use app::TestApp;
pub use binaries::{Runner, runner, target_dir, workspace_root};
pub use config::{
    Backend, KeyValue, Options, backend_selected, postgres_required, redis_for_every_app,
};
pub use databases::{pg_admin_url, with_database};
pub use expected_errors::{
    ExpectedError, FUEL_TYPES, TRANSMISSIONS, bool_parsing, bool_type, email_error, enum_error, ge,
    int_from_float, int_parsing, le, missing, value_error,
};
pub use fixtures::{TestUser, car_body, unique, unique_email, unique_plate, unique_suffix};
pub use jwt::{
    decode_jwt, forge_token, forge_token_with_header, hmac_sign, jwt_signature_ok, now_secs,
    token_for,
};
pub use redis_lease::RedisLease;
pub use response::{Resp, SECURITY_HEADERS};
pub use shapes::{
    assert_brand_shape, assert_car_shape, assert_public_user, assert_recent_rfc3339,
    assert_timestamp,
};

pub use reqwest::Method;
pub use serde_json::{Value, json};

#[doc(hidden)]
pub use paste as __paste;

/// The JWT secret every test app runs with (>= 32 bytes), so tests can forge tokens.
pub const JWT_SECRET: &str = "e2e-test-secret-key-0123456789abcdefghijklmnop";
/// A password that passes validation.
pub const PASSWORD: &str = "s3cret-pass";

// ------------------------------------------------------------------------------------
// Test generation
// ------------------------------------------------------------------------------------

/// `both_backends!(name, |app| { ... })` or `both_backends!(name, options_expr, |app| { ... })`
/// generates `name_sqlite` and `name_postgres`; the block is the body of an
/// `async fn(app: &TestApp)`. The PostgreSQL test is skipped (loudly) when PostgreSQL is
/// unreachable and not required.
#[macro_export]
macro_rules! both_backends {
    ($name:ident, |$app:ident| $body:block) => {
        $crate::both_backends!($name, $crate::Options::default(), |$app| $body);
    };
    ($name:ident, $opts:expr, |$app:ident| $body:block) => {
        $crate::__paste::paste! {
            async fn [<__ $name _body>]($app: &$crate::TestApp) $body

            #[tokio::test]
            async fn [<$name _sqlite>]() {
                if !$crate::backend_selected($crate::Backend::Sqlite) {
                    return;
                }
                let app = $crate::TestApp::spawn($crate::Backend::Sqlite, $opts).await;
                [<__ $name _body>](&app).await;
            }

            #[tokio::test]
            async fn [<$name _postgres>]() {
                if !$crate::backend_selected($crate::Backend::Postgres) {
                    return;
                }
                if let Some(app) =
                    $crate::TestApp::try_spawn($crate::Backend::Postgres, $opts).await
                {
                    [<__ $name _body>](&app).await;
                }
            }
        }
    };
}
