//! Test data: unique names, e-mail addresses and plates, a valid car body, and the
//! registered user a test works as.

use std::sync::atomic::{AtomicU64, Ordering};

use rand::Rng as _;
use rand::distr::Alphanumeric;
use serde_json::{Value, json};

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A short suffix unique within this process and (randomly) across processes:
/// lowercase letters and digits only.
pub fn unique_suffix() -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let r: String = rand::rng()
        .sample_iter(&Alphanumeric)
        .take(6)
        .map(|c| (c as char).to_ascii_lowercase())
        .collect();
    format!("{r}{n}")
}

/// `prefix` + unique suffix.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}{}", unique_suffix())
}

/// A unique valid plate: 8 upper-case letters/digits.
pub fn unique_plate() -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed) % 1000;
    let r: String = rand::rng()
        .sample_iter(&Alphanumeric)
        .take(5)
        .map(|c| (c as char).to_ascii_uppercase())
        .collect();
    format!("{r}{n:03}")
}

/// A unique valid e-mail address.
pub fn unique_email() -> String {
    format!("{}@example.com", unique("user"))
}

/// A registered, logged-in user.
#[derive(Clone, Debug)]
pub struct TestUser {
    pub id: i64,
    pub username: String,
    pub email: String,
    pub password: String,
    pub token: String,
    /// The 201 body of the registration.
    pub json: Value,
}

/// A valid car creation body.
pub fn car_body(brand_id: i64, plate: &str) -> Value {
    json!({
        "model": "Civic EXL",
        "factory_year": 2020,
        "model_year": 2021,
        "color": "Prata",
        "plate": plate,
        "fuel_type": "flex",
        "transmission": "automatic",
        "price": 85000,
        "brand_id": brand_id,
    })
}
