//! Assertions on the shape of what the API returns: timestamps, and the exact fields of
//! a public user, a brand and a car.

use serde_json::Value;

/// Asserts `s` is `YYYY-MM-DDTHH:MM:SS.ffffffZ` (UTC, microseconds) and returns it parsed.
#[track_caller]
pub fn assert_timestamp(v: &Value) -> chrono::DateTime<chrono::Utc> {
    let s = v
        .as_str()
        .unwrap_or_else(|| panic!("timestamp must be a string: {v}"));
    let b = s.as_bytes();
    let shape_ok = b.len() == 27
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b'T',
            13 | 16 => *c == b':',
            19 => *c == b'.',
            26 => *c == b'Z',
            _ => c.is_ascii_digit(),
        });
    assert!(
        shape_ok,
        "timestamp {s:?} is not YYYY-MM-DDTHH:MM:SS.ffffffZ"
    );
    chrono::DateTime::parse_from_rfc3339(s)
        .unwrap_or_else(|e| panic!("timestamp {s:?}: {e}"))
        .with_timezone(&chrono::Utc)
}

/// Asserts an RFC 3339 timestamp in UTC with a `Z` suffix (any precision), close to now.
#[track_caller]
pub fn assert_recent_rfc3339(v: &Value) {
    let s = v
        .as_str()
        .unwrap_or_else(|| panic!("timestamp must be a string: {v}"));
    assert!(s.ends_with('Z'), "timestamp {s:?} must end in Z");
    let t = chrono::DateTime::parse_from_rfc3339(s)
        .unwrap_or_else(|e| panic!("timestamp {s:?}: {e}"))
        .with_timezone(&chrono::Utc);
    let skew = (chrono::Utc::now() - t).num_seconds().abs();
    assert!(skew < 300, "timestamp {s} is {skew} s away from now");
}

/// Asserts a public user: exactly the five public fields.
#[track_caller]
pub fn assert_public_user(v: &Value) {
    let o = v
        .as_object()
        .unwrap_or_else(|| panic!("user must be an object: {v}"));
    let mut keys: Vec<&str> = o.keys().map(|k| k.as_str()).collect();
    keys.sort();
    assert_eq!(
        keys,
        ["created_at", "email", "id", "updated_at", "username"],
        "public user fields: {v}"
    );
    assert_timestamp(&v["created_at"]);
    assert_timestamp(&v["updated_at"]);
}

/// Asserts a brand has exactly the brand fields.
#[track_caller]
pub fn assert_brand_shape(v: &Value) {
    let o = v
        .as_object()
        .unwrap_or_else(|| panic!("brand must be an object: {v}"));
    let mut keys: Vec<&str> = o.keys().map(|k| k.as_str()).collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "created_at",
            "description",
            "id",
            "is_active",
            "name",
            "updated_at"
        ],
        "brand fields: {v}"
    );
    assert_timestamp(&v["created_at"]);
    assert_timestamp(&v["updated_at"]);
}

/// Asserts a car has exactly the car fields, with nested brand and owner.
#[track_caller]
pub fn assert_car_shape(v: &Value) {
    let o = v
        .as_object()
        .unwrap_or_else(|| panic!("car must be an object: {v}"));
    let mut keys: Vec<&str> = o.keys().map(|k| k.as_str()).collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "brand",
            "brand_id",
            "color",
            "created_at",
            "description",
            "factory_year",
            "fuel_type",
            "id",
            "is_available",
            "model",
            "model_year",
            "owner",
            "owner_id",
            "plate",
            "price",
            "transmission",
            "updated_at"
        ],
        "car fields: {v}"
    );
    assert_timestamp(&v["created_at"]);
    assert_timestamp(&v["updated_at"]);
    assert_brand_shape(&v["brand"]);
    assert_public_user(&v["owner"]);
    assert_eq!(v["brand"]["id"], v["brand_id"]);
    assert_eq!(v["owner"]["id"], v["owner_id"]);
}
