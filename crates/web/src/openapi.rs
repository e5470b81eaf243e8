//! `/openapi.json`: an OpenAPI 3.1 document generated from the endpoint catalog
//! (`crate::api`) and from the very types the handlers parse and serialise (their
//! `ToSchema` derives), so it cannot drift from what is served.

use serde_json::{Map, Value, json};
use utoipa::ToSchema;

use domain::contract::{Bounded, Chars, Ints, Rule};

use crate::api::{ALL, Endpoint, Param};

/// Adds `T`'s schema and every schema it refers to.
fn add<T: ToSchema>(schemas: &mut Map<String, Value>) {
    let mut nested = Vec::new();
    T::schemas(&mut nested);
    for (name, schema) in nested {
        schemas.insert(name, serde_json::to_value(schema).unwrap_or(Value::Null));
    }
    schemas.insert(
        T::name().into_owned(),
        serde_json::to_value(T::schema()).unwrap_or(Value::Null),
    );
}

/// Adds a request body's schema with the bounds of its fields, from `domain::contract`.
fn add_form<T: ToSchema + Bounded>(schemas: &mut Map<String, Value>) {
    add::<T>(schemas);
    let Some(properties) = schemas
        .get_mut(T::name().as_ref())
        .and_then(|schema| schema.get_mut("properties"))
    else {
        return;
    };
    for (field, rule) in T::RULES {
        let Some(property) = properties.get_mut(*field) else {
            continue;
        };
        let bounds = match *rule {
            Rule::Chars(Chars { min, max }) => [
                ("minLength", min.map(|n| json!(n))),
                ("maxLength", max.map(|n| json!(n))),
            ],
            Rule::Ints(Ints { min, max }) => [
                ("minimum", min.map(|n| json!(n))),
                ("maximum", max.map(|n| json!(n))),
            ],
        };
        for (keyword, value) in bounds {
            if let Some(value) = value {
                property[keyword] = value;
            }
        }
    }
}

/// Every component schema the endpoints refer to.
pub fn schemas() -> Map<String, Value> {
    use crate::views::*;
    use domain::forms::*;
    let mut schemas = Map::new();
    add::<UserView>(&mut schemas);
    add::<BrandView>(&mut schemas);
    add::<CarView>(&mut schemas);
    add::<UserPage>(&mut schemas);
    add::<BrandPage>(&mut schemas);
    add::<CarPage>(&mut schemas);
    add::<Token>(&mut schemas);
    add::<Health>(&mut schemas);
    add::<HealthDetailed>(&mut schemas);
    add_form::<NewUser>(&mut schemas);
    add_form::<UserChanges>(&mut schemas);
    add_form::<Credentials>(&mut schemas);
    add_form::<NewBrand>(&mut schemas);
    add_form::<BrandChanges>(&mut schemas);
    add_form::<NewCar>(&mut schemas);
    add_form::<CarChanges>(&mut schemas);
    add::<domain::FieldError>(&mut schemas);
    // `loc` mixes names and offsets and `input` is whatever the client sent; JSON
    // values of any type, which the derive cannot express from `serde_json::Value`.
    if let Some(properties) = schemas
        .get_mut("ValidationError")
        .and_then(|s| s.get_mut("properties"))
    {
        properties["loc"] = json!({
            "type": "array",
            "items": { "anyOf": [{ "type": "string" }, { "type": "integer" }] }
        });
        properties["input"] = json!({});
        properties["ctx"] = json!({ "type": "object" });
    }
    schemas.insert(
        "HTTPError".into(),
        json!({
            "type": "object",
            "required": ["detail"],
            "properties": { "detail": { "type": "string" } }
        }),
    );
    schemas.insert(
        "HTTPValidationError".into(),
        json!({
            "type": "object",
            "required": ["detail"],
            "properties": {
                "detail": { "type": "array", "items": { "$ref": "#/components/schemas/ValidationError" } }
            }
        }),
    );
    schemas
}

fn schema_ref(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

fn error_response(description: &str) -> Value {
    json!({
        "description": description,
        "content": { "application/json": { "schema": schema_ref("HTTPError") } }
    })
}

fn parameter(param: &Param) -> Value {
    let (name, schema) = match *param {
        Param::Int {
            name,
            min,
            max,
            default,
        } => {
            let mut schema = json!({ "type": "integer", "format": "int64" });
            if let Some(min) = min {
                schema["minimum"] = json!(min);
            }
            if let Some(max) = max {
                schema["maximum"] = json!(max);
            }
            if let Some(default) = default {
                schema["default"] = json!(default);
            }
            (name, schema)
        }
        Param::Bool(name) => (name, json!({ "type": "boolean" })),
        Param::Text(name) => (name, json!({ "type": "string" })),
        Param::Choice(name, values) => (name, json!({ "type": "string", "enum": values })),
        Param::Money(name) => (
            name,
            json!({ "type": "string", "pattern": "^[0-9]+(\\.[0-9]+)?$", "example": "50000.00" }),
        ),
    };
    json!({ "name": name, "in": "query", "required": false, "schema": schema })
}

/// `Idempotency-Key` (see `crate::idempotency`).
fn idempotency_key_parameter() -> Value {
    json!({
        "name": "Idempotency-Key",
        "in": "header",
        "required": false,
        "description": "Makes the write safe to retry: a retry with the same key and body, \
            by the same caller on the same route, within 24 hours, gets the first answer \
            back (with `Idempotent-Replayed: true`) without running again. The same key \
            with another body is 422; a retry while the first request runs is 409. \
            Answers of 5xx are not kept, so their retries run.",
        "schema": {
            "type": "string",
            "minLength": 1,
            "maxLength": crate::idempotency::MAX_KEY_LENGTH,
            "pattern": "^[!-~]+$",
            "example": "7f8c0a7e-4b1d-4f5e-9c53-2d1f0b6a9e41"
        }
    })
}

fn path_parameters(template: &str) -> Vec<Value> {
    template
        .split('/')
        .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'))
        .map(|name| {
            json!({
                "name": name,
                "in": "path",
                "required": true,
                "schema": { "type": "integer", "format": "int64" }
            })
        })
        .collect()
}

fn operation(endpoint: &Endpoint) -> Value {
    let mut parameters = path_parameters(endpoint.template);
    parameters.extend(endpoint.query.iter().map(parameter));
    let uses_database = endpoint.tag != "health" || endpoint.template == "/health_check/detailed";

    let mut responses = Map::new();
    let (status, schema) = endpoint.success;
    let success = match (schema, status) {
        (_, 204) => json!({ "description": "Done; no body" }),
        (Some(name), _) => json!({
            "description": "Success",
            "content": { "application/json": { "schema": schema_ref(name) } }
        }),
        (None, _) if endpoint.template == "/metrics" => json!({
            "description": "Prometheus text exposition",
            "content": { "text/plain": { "schema": { "type": "string" } } }
        }),
        (None, _) => json!({
            "description": "Success",
            "content": { "application/json": { "schema": { "type": "object" } } }
        }),
    };
    responses.insert(status.to_string(), success);
    for code in endpoint.errors {
        let description = match code {
            400 => "Conflict with stored data (duplicate, unknown or in-use reference)",
            403 => "Not yours",
            404 => "Not found",
            429 => "Too many failed logins; see Retry-After",
            503 if endpoint.template == "/health_check/detailed" => "Degraded",
            _ => "Error",
        };
        let response = if endpoint.template == "/health_check/detailed" && *code == 503 {
            json!({
                "description": description,
                "content": { "application/json": { "schema": schema_ref("HealthDetailed") } }
            })
        } else {
            error_response(description)
        };
        responses.insert(code.to_string(), response);
    }
    if endpoint.auth {
        responses.insert(
            "401".into(),
            error_response("Missing, invalid or expired bearer token"),
        );
    }
    if endpoint.template == "/api/v1/auth/token" {
        responses.insert("401".into(), error_response("Incorrect email or password"));
    }
    if !parameters.is_empty() || endpoint.body.is_some() {
        responses.insert(
            "422".into(),
            json!({
                "description": "Validation error",
                "content": { "application/json": { "schema": schema_ref("HTTPValidationError") } }
            }),
        );
    }
    if endpoint.body.is_some() {
        responses.insert("413".into(), error_response("Request body over 64 KiB"));
    }
    if endpoint.takes_idempotency_key() {
        parameters.push(idempotency_key_parameter());
        responses.insert(
            "409".into(),
            error_response(
                "The first request with this Idempotency-Key is still running; see Retry-After",
            ),
        );
        // Besides validation errors, a key reused with another body (a plain `detail`).
        responses.insert(
            "422".into(),
            json!({
                "description": "Validation error, or an Idempotency-Key already used with another body",
                "content": { "application/json": { "schema": {
                    "anyOf": [schema_ref("HTTPValidationError"), schema_ref("HTTPError")]
                } } }
            }),
        );
    }
    if uses_database && !responses.contains_key("503") {
        responses.insert("503".into(), error_response("A dependency is unavailable"));
    }

    let mut operation = json!({
        "tags": [endpoint.tag],
        "summary": endpoint.summary,
        "operationId": operation_id(endpoint),
        "responses": responses,
    });
    if !parameters.is_empty() {
        operation["parameters"] = Value::Array(parameters);
    }
    if let Some(body) = endpoint.body {
        operation["requestBody"] = json!({
            "required": true,
            "content": { "application/json": { "schema": schema_ref(body) } }
        });
    }
    if endpoint.auth {
        operation["security"] = json!([{ "bearer": [] }]);
    }
    operation
}

/// `get_api_v1_cars_car_id`-style ids, unique per method and path.
fn operation_id(endpoint: &Endpoint) -> String {
    let path: String = endpoint
        .template
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    let path = path
        .split('_')
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("_");
    format!("{}_{path}", endpoint.method.to_ascii_lowercase())
}

/// The whole document.
pub fn document() -> Value {
    let mut paths = Map::new();
    for endpoint in ALL {
        let entry = paths
            .entry(endpoint.template.to_string())
            .or_insert_with(|| json!({}));
        entry[endpoint.method.to_ascii_lowercase()] = operation(endpoint);
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Car API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Car marketplace REST API: users, JWT login, brands and cars. \
                            Collection paths also answer with a trailing slash."
        },
        "paths": paths,
        "components": {
            "schemas": schemas(),
            "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer", "bearerFormat": "JWT" } }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refs(value: &Value, out: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(r)) = map.get("$ref") {
                    out.push(r.trim_start_matches("#/components/schemas/").to_string());
                }
                map.values().for_each(|v| refs(v, out));
            }
            Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }

    #[test]
    fn every_reference_resolves() {
        let doc = document();
        let mut names = Vec::new();
        refs(&doc, &mut names);
        assert!(!names.is_empty());
        for name in names {
            assert!(
                doc["components"]["schemas"].get(&name).is_some(),
                "unresolved schema reference {name}"
            );
        }
    }

    #[test]
    fn every_endpoint_is_documented_once() {
        let doc = document();
        for endpoint in ALL {
            let op = &doc["paths"][endpoint.template][endpoint.method.to_ascii_lowercase()];
            assert!(
                op.is_object(),
                "{} {} missing",
                endpoint.method,
                endpoint.template
            );
        }
        assert_eq!(doc["openapi"], "3.1.0");
        let error = &doc["components"]["schemas"]["ValidationError"]["properties"];
        assert_eq!(error["input"], json!({}));
        assert_eq!(error["loc"]["items"]["anyOf"][1]["type"], "integer");
        let car = &doc["components"]["schemas"]["Car"]["properties"];
        assert_eq!(car["price"]["type"], "string");
        assert!(car["brand"].is_object());
    }

    #[test]
    fn writes_of_resources_document_idempotency_key_and_nothing_else_does() {
        let doc = document();
        for endpoint in ALL {
            let op = &doc["paths"][endpoint.template][endpoint.method.to_ascii_lowercase()];
            let documented = op["parameters"]
                .as_array()
                .is_some_and(|ps| ps.iter().any(|p| p["name"] == "Idempotency-Key"));
            let expected = matches!(endpoint.method, "POST" | "PUT" | "DELETE")
                && ["/api/v1/users", "/api/v1/brands", "/api/v1/cars"]
                    .iter()
                    .any(|prefix| endpoint.template.starts_with(prefix));
            assert_eq!(
                documented, expected,
                "{} {}",
                endpoint.method, endpoint.template
            );
            assert_eq!(op["responses"].get("409").is_some(), expected);
        }
    }

    /// Whether the body parser behind `schema` refuses `value` at `field` (other fields
    /// may be missing: only the field's own entry counts).
    fn refuses(schema: &str, field: &str, value: Value) -> bool {
        use domain::forms::*;
        let body = serde_json::to_vec(&json!({ field: value })).unwrap();
        let errors = match schema {
            "NewUser" => NewUser::parse(&body).err(),
            "UserChanges" => UserChanges::parse(&body).err(),
            "Credentials" => Credentials::parse(&body).err(),
            "NewBrand" => NewBrand::parse(&body).err(),
            "BrandChanges" => BrandChanges::parse(&body).err(),
            "NewCar" => NewCar::parse(&body).err(),
            "CarChanges" => CarChanges::parse(&body).err(),
            other => panic!("no parser for {other}"),
        };
        errors.is_some_and(|errors| {
            errors
                .0
                .iter()
                .any(|e| e.loc == [json!("body"), json!(field)])
        })
    }

    const BODIES: [&str; 7] = [
        "NewUser",
        "UserChanges",
        "Credentials",
        "NewBrand",
        "BrandChanges",
        "NewCar",
        "CarChanges",
    ];

    fn has_type(property: &Value, wanted: &str) -> bool {
        match &property["type"] {
            Value::String(t) => t == wanted,
            Value::Array(ts) => ts.iter().any(|t| t == wanted),
            _ => false,
        }
    }

    /// A text of exactly `length` characters that the property's format allows.
    fn text_of(property: &Value, length: usize) -> String {
        if property["format"] != "email" {
            return "a".repeat(length);
        }
        // Labels of at most 60 characters, so that only the total length matters.
        let mut domain = String::from("com");
        let mut left = length - "user@".len() - domain.len();
        while left > 0 {
            let label = (left - 1).min(60);
            let label = if left - 1 - label == 1 {
                label - 1
            } else {
                label
            };
            domain = format!("{}.{domain}", "x".repeat(label));
            left -= label + 1;
        }
        format!("user@{domain}")
    }

    /// A value for a failure message: long texts by their length.
    fn short(value: &Value) -> String {
        match value.as_str() {
            Some(text) if text.chars().count() > 20 => {
                format!("<{} characters>", text.chars().count())
            }
            _ => value.to_string(),
        }
    }

    fn bound(property: &Value, keyword: &str) -> Option<i64> {
        property.get(keyword).and_then(Value::as_i64)
    }

    #[test]
    fn every_documented_bound_is_enforced() {
        let doc = document();
        let mut checked = 0;
        for schema in BODIES {
            let properties = doc["components"]["schemas"][schema]["properties"]
                .as_object()
                .unwrap_or_else(|| panic!("{schema} has no properties"));
            for (field, property) in properties {
                let at = |ok: bool, value: Value| {
                    assert_eq!(
                        !refuses(schema, field, value.clone()),
                        ok,
                        "{schema}.{field} = {}: the document and the parser disagree",
                        short(&value)
                    );
                };
                if let Some(min) = bound(property, "minLength") {
                    at(true, json!(text_of(property, min as usize)));
                    at(false, json!(text_of(property, min as usize - 1)));
                    checked += 1;
                }
                if let Some(max) = bound(property, "maxLength") {
                    at(true, json!(text_of(property, max as usize)));
                    at(false, json!(text_of(property, max as usize + 1)));
                    checked += 1;
                }
                if let Some(min) = bound(property, "minimum") {
                    at(true, json!(min));
                    at(false, json!(min - 1));
                    checked += 1;
                }
                if let Some(max) = bound(property, "maximum") {
                    at(true, json!(max));
                    at(false, json!(max + 1));
                    checked += 1;
                }
            }
        }
        // And nothing of `domain::forms`' lists went missing on the way to the document.
        fn bounds<T: Bounded>() -> usize {
            T::RULES
                .iter()
                .map(|(_, rule)| match rule {
                    Rule::Chars(c) => usize::from(c.min.is_some()) + usize::from(c.max.is_some()),
                    Rule::Ints(i) => usize::from(i.min.is_some()) + usize::from(i.max.is_some()),
                })
                .sum()
        }
        use domain::forms::*;
        let listed = bounds::<NewUser>()
            + bounds::<UserChanges>()
            + bounds::<Credentials>()
            + bounds::<NewBrand>()
            + bounds::<BrandChanges>()
            + bounds::<NewCar>()
            + bounds::<CarChanges>();
        assert_eq!(checked, listed);
        assert_eq!(listed, 40);
    }

    #[test]
    fn every_enforced_bound_is_documented() {
        let doc = document();
        for schema in BODIES {
            let properties = doc["components"]["schemas"][schema]["properties"]
                .as_object()
                .unwrap();
            for (field, property) in properties {
                let free = |value: Value| {
                    assert!(
                        !refuses(schema, field, value.clone()),
                        "{schema}.{field} refuses {}, which the document allows",
                        short(&value)
                    );
                };
                // Text governed by a format or pattern has its own rules.
                let plain = property.get("format").is_none() && property.get("pattern").is_none();
                if has_type(property, "string") && plain {
                    if property.get("minLength").is_none() {
                        free(json!("a"));
                    }
                    if property.get("maxLength").is_none() {
                        free(json!("a".repeat(10_000)));
                    }
                }
                if has_type(property, "integer") {
                    if property.get("minimum").is_none() {
                        free(json!(-1_000_000_000_000_i64));
                    }
                    if property.get("maximum").is_none() {
                        free(json!(1_000_000_000_000_i64));
                    }
                }
            }
        }
    }

    #[test]
    fn page_bounds_are_the_ones_documented() {
        let doc = document();
        let parameters = doc["paths"]["/api/v1/cars"]["get"]["parameters"]
            .as_array()
            .unwrap();
        for name in ["offset", "limit"] {
            let schema = &parameters.iter().find(|p| p["name"] == name).unwrap()["schema"];
            let refused = |value: i64| {
                let mut query = domain::query::Query::parse(&format!("{name}={value}"));
                let page = query.page();
                let default = domain::query::Query::parse("").page();
                query.finish().is_err() && page == default
            };
            let min = schema["minimum"].as_i64().unwrap();
            assert!(!refused(min) && refused(min - 1), "{name} minimum");
            match schema["maximum"].as_i64() {
                Some(max) => assert!(!refused(max) && refused(max + 1), "{name} maximum"),
                None => assert!(!refused(i64::MAX), "{name} has no maximum"),
            }
            let default = domain::query::Query::parse("").page();
            let documented = schema["default"].as_i64().unwrap();
            let actual = if name == "offset" {
                default.offset
            } else {
                default.limit
            };
            assert_eq!(actual, documented, "{name} default");
        }
        let fuel = &parameters
            .iter()
            .find(|p| p["name"] == "fuel_type")
            .unwrap()["schema"];
        for word in fuel["enum"].as_array().unwrap() {
            assert!(domain::FuelType::parse(word).is_ok(), "{word}");
        }
        assert_eq!(
            fuel["enum"].as_array().unwrap().len(),
            domain::FuelType::ALL.len()
        );
    }
}
