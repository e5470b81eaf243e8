//! `/openapi.json`: an OpenAPI 3.1 document generated from the endpoint catalog
//! (`crate::api`) and from the very types the handlers parse and serialise (their
//! `ToSchema` derives), so it cannot drift from what is served.

use serde_json::{Map, Value, json};
use utoipa::ToSchema;

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
    add::<NewUser>(&mut schemas);
    add::<UserChanges>(&mut schemas);
    add::<Credentials>(&mut schemas);
    add::<NewBrand>(&mut schemas);
    add::<BrandChanges>(&mut schemas);
    add::<NewCar>(&mut schemas);
    add::<CarChanges>(&mut schemas);
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
}
