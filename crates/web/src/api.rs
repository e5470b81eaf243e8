//! The catalog of every endpoint of the API: method, path template, who may call it,
//! its parameters, body and answers. Components build their route tables from these
//! entries and `/openapi.json` is generated from the same list, so the document cannot
//! drift from what is served.

/// A query parameter and the rule it follows.
#[derive(Debug, Clone, Copy)]
pub enum Param {
    /// An integer with optional bounds and default.
    Int {
        name: &'static str,
        min: Option<i64>,
        max: Option<i64>,
        default: Option<i64>,
    },
    Bool(&'static str),
    Text(&'static str),
    /// A string from a closed vocabulary.
    Choice(&'static str, &'static [&'static str]),
    /// A non-negative decimal (money bounds).
    Money(&'static str),
}

#[derive(Debug)]
pub struct Endpoint {
    pub method: &'static str,
    /// `/api/v1/cars/{car_id}`: path parameters are 64-bit integers.
    pub template: &'static str,
    pub tag: &'static str,
    pub summary: &'static str,
    pub auth: bool,
    pub query: &'static [Param],
    /// Component schema name of the JSON body, if any.
    pub body: Option<&'static str>,
    /// Success status and the component schema name of its body (None = no body).
    pub success: (u16, Option<&'static str>),
    /// Client error statuses besides 422/401 that the endpoint can answer.
    pub errors: &'static [u16],
}

impl Endpoint {
    /// The writes of users, brands and cars take an `Idempotency-Key` (see
    /// `crate::idempotency`); reads, logins and the probes do not.
    pub fn takes_idempotency_key(&self) -> bool {
        self.method != "GET" && matches!(self.tag, "users" | "brands" | "cars")
    }
}

use domain::contract::{LIMIT, LIMIT_DEFAULT, OFFSET, OFFSET_DEFAULT};

const PAGE: [Param; 2] = [
    Param::Int {
        name: "offset",
        min: OFFSET.min,
        max: OFFSET.max,
        default: Some(OFFSET_DEFAULT),
    },
    Param::Int {
        name: "limit",
        min: LIMIT.min,
        max: LIMIT.max,
        default: Some(LIMIT_DEFAULT),
    },
];

const FUEL_TYPES: &[&str] = domain::FuelType::NAMES;
const TRANSMISSIONS: &[&str] = domain::Transmission::NAMES;

macro_rules! endpoint {
    ($name:ident, $method:literal, $template:literal, $tag:literal, $summary:literal,
     auth: $auth:literal, query: $query:expr, body: $body:expr, success: $success:expr,
     errors: $errors:expr) => {
        pub const $name: Endpoint = Endpoint {
            method: $method,
            template: $template,
            tag: $tag,
            summary: $summary,
            auth: $auth,
            query: $query,
            body: $body,
            success: $success,
            errors: $errors,
        };
    };
}

endpoint!(HEALTH, "GET", "/health_check", "health", "Liveness: touches no dependency",
    auth: false, query: &[], body: None, success: (200, Some("Health")), errors: &[]);
endpoint!(HEALTH_DETAILED, "GET", "/health_check/detailed", "health",
    "Readiness: database, schema version and key-value store (503 when degraded)",
    auth: false, query: &[], body: None, success: (200, Some("HealthDetailed")), errors: &[503]);
endpoint!(METRICS, "GET", "/metrics", "health", "Prometheus metrics (text exposition 0.0.4)",
    auth: false, query: &[], body: None, success: (200, None), errors: &[]);
endpoint!(OPENAPI, "GET", "/openapi.json", "health", "This OpenAPI 3.1 document",
    auth: false, query: &[], body: None, success: (200, None), errors: &[]);

endpoint!(LOGIN, "POST", "/api/v1/auth/token", "auth",
    "Exchange email and password for a bearer token",
    auth: false, query: &[], body: Some("Credentials"), success: (200, Some("Token")),
    errors: &[429]);
endpoint!(REFRESH, "POST", "/api/v1/auth/refresh_token", "auth",
    "A new token for the caller",
    auth: true, query: &[], body: None, success: (200, Some("Token")), errors: &[]);

endpoint!(USER_CREATE, "POST", "/api/v1/users", "users", "Register a user",
    auth: false, query: &[], body: Some("NewUser"), success: (201, Some("User")), errors: &[400]);
endpoint!(USER_LIST, "GET", "/api/v1/users", "users", "List users (search: username or email)",
    auth: false, query: &[PAGE[0], PAGE[1], Param::Text("search")], body: None,
    success: (200, Some("UserPage")), errors: &[]);
endpoint!(USER_GET, "GET", "/api/v1/users/{user_id}", "users", "Read a user",
    auth: false, query: &[], body: None, success: (200, Some("User")), errors: &[404]);
endpoint!(USER_UPDATE, "PUT", "/api/v1/users/{user_id}", "users",
    "Change your own account (any subset of fields)",
    auth: true, query: &[], body: Some("UserChanges"), success: (200, Some("User")),
    errors: &[400, 403, 404]);
endpoint!(USER_DELETE, "DELETE", "/api/v1/users/{user_id}", "users",
    "Delete your own account and its cars",
    auth: true, query: &[], body: None, success: (204, None), errors: &[403, 404]);

endpoint!(BRAND_CREATE, "POST", "/api/v1/brands", "brands", "Create a brand",
    auth: true, query: &[], body: Some("NewBrand"), success: (201, Some("Brand")), errors: &[400]);
endpoint!(BRAND_LIST, "GET", "/api/v1/brands", "brands", "List brands",
    auth: true, query: &[PAGE[0], PAGE[1], Param::Text("search"), Param::Bool("is_active")],
    body: None, success: (200, Some("BrandPage")), errors: &[]);
endpoint!(BRAND_GET, "GET", "/api/v1/brands/{brand_id}", "brands", "Read a brand",
    auth: true, query: &[], body: None, success: (200, Some("Brand")), errors: &[404]);
endpoint!(BRAND_UPDATE, "PUT", "/api/v1/brands/{brand_id}", "brands", "Change a brand",
    auth: true, query: &[], body: Some("BrandChanges"), success: (200, Some("Brand")),
    errors: &[400, 404]);
endpoint!(BRAND_DELETE, "DELETE", "/api/v1/brands/{brand_id}", "brands",
    "Delete a brand no car uses",
    auth: true, query: &[], body: None, success: (204, None), errors: &[400, 404]);

endpoint!(CAR_CREATE, "POST", "/api/v1/cars", "cars", "Create a car owned by the caller",
    auth: true, query: &[], body: Some("NewCar"), success: (201, Some("Car")), errors: &[400]);
endpoint!(CAR_LIST, "GET", "/api/v1/cars", "cars", "List the caller's cars",
    auth: true,
    query: &[
        PAGE[0], PAGE[1], Param::Text("search"),
        Param::Int { name: "brand_id", min: None, max: None, default: None },
        Param::Choice("fuel_type", FUEL_TYPES), Param::Choice("transmission", TRANSMISSIONS),
        Param::Bool("is_available"), Param::Money("min_price"), Param::Money("max_price"),
    ],
    body: None, success: (200, Some("CarPage")), errors: &[]);
endpoint!(CAR_GET, "GET", "/api/v1/cars/{car_id}", "cars", "Read one of your cars",
    auth: true, query: &[], body: None, success: (200, Some("Car")), errors: &[403, 404]);
endpoint!(CAR_UPDATE, "PUT", "/api/v1/cars/{car_id}", "cars", "Change one of your cars",
    auth: true, query: &[], body: Some("CarChanges"), success: (200, Some("Car")),
    errors: &[400, 403, 404]);
endpoint!(CAR_DELETE, "DELETE", "/api/v1/cars/{car_id}", "cars", "Delete one of your cars",
    auth: true, query: &[], body: None, success: (204, None), errors: &[403, 404]);

/// Every endpoint, in the order the document lists them.
pub const ALL: &[&Endpoint] = &[
    &HEALTH,
    &HEALTH_DETAILED,
    &METRICS,
    &OPENAPI,
    &LOGIN,
    &REFRESH,
    &USER_CREATE,
    &USER_LIST,
    &USER_GET,
    &USER_UPDATE,
    &USER_DELETE,
    &BRAND_CREATE,
    &BRAND_LIST,
    &BRAND_GET,
    &BRAND_UPDATE,
    &BRAND_DELETE,
    &CAR_CREATE,
    &CAR_LIST,
    &CAR_GET,
    &CAR_UPDATE,
    &CAR_DELETE,
];
