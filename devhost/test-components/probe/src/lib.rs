//! Test component for devhost.
//!
//! Every route answers with plain text or JSON so the integration tests in
//! `devhost/tests` can check host behaviour over real HTTP. Database and
//! key-value routes take a JSON list of steps and run them on one connection,
//! reporting each step's result (or the `Debug` form of the host's error), so a
//! test can see exactly which WIT variant the host returned.

use serde_json::{Value as Json, json};
use spin_sdk::http::{IntoResponse, Method, Request, Response};
use spin_sdk::http_component;
use spin_sdk::wit::spin::postgres4_0_0::postgres as pg;
use spin_sdk::wit::spin::sqlite::sqlite;
use spin_sdk::wit::wasi::keyvalue::{atomics, batch, store};

#[http_component]
async fn handle(req: Request) -> anyhow::Result<impl IntoResponse> {
    let path = req.path().to_string();
    // The first path segment selects the operation. A leading `/locked`
    // segment is skipped, so the same operations can be reached through a
    // component of the test manifest that has no permissions at all.
    let mut segments = path.trim_start_matches('/').split('/');
    let mut op = segments.next().unwrap_or("");
    if op == "locked" {
        op = segments.next().unwrap_or("");
    }
    Ok(match op {
        "static" => text(200, "ok".to_string()),
        "echo" | "" => echo(&req),
        "var" => variable(req.query()),
        "pg" => with_json(&req, pg_steps),
        "sqlite" => with_json(&req, sqlite_steps),
        "kv" => with_json(&req, kv_steps),
        "outbound" => outbound(req.query()).await,
        "trap" => panic!("probe asked to trap"),
        "print" => {
            println!("probe stdout line");
            eprintln!("probe stderr line");
            text(200, "printed".to_string())
        }
        "sleep" => {
            let ms = query_param(req.query(), "ms")
                .and_then(|v| v.parse().ok())
                .unwrap_or(100);
            std::thread::sleep(std::time::Duration::from_millis(ms));
            text(200, format!("slept {ms}"))
        }
        "alloc" => {
            // Touch the requested number of MiB so tests can check the memory limit.
            let mib: usize = query_param(req.query(), "mib")
                .and_then(|v| v.parse().ok())
                .unwrap_or(1);
            let mut v = vec![0u8; mib * 1024 * 1024];
            for i in (0..v.len()).step_by(4096) {
                v[i] = 1;
            }
            text(
                200,
                format!("allocated {}", v.iter().filter(|b| **b == 1).count()),
            )
        }
        _ => text(404, format!("probe: unknown operation {op:?}")),
    })
}

fn text(status: u16, body: String) -> Response {
    Response::builder()
        .status(status)
        .header("content-type", "text/plain")
        .body(body)
        .build()
}

fn json_response(value: Json) -> Response {
    Response::builder()
        .status(200)
        .header("content-type", "application/json")
        .body(value.to_string())
        .build()
}

fn query_param(query: &str, name: &str) -> Option<String> {
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (k == name).then(|| v.to_string())
    })
}

/// Reports the request as the component saw it: method, URI and all headers (repeated
/// ones joined with ", ", in order).
fn echo(req: &Request) -> Response {
    let mut headers = serde_json::Map::new();
    for (name, value) in req.headers() {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        let joined = match headers.get(name) {
            Some(Json::String(earlier)) => format!("{earlier}, {value}"),
            _ => value,
        };
        headers.insert(name.to_string(), Json::String(joined));
    }
    let method = match req.method() {
        Method::Get => "GET",
        Method::Post => "POST",
        Method::Put => "PUT",
        Method::Delete => "DELETE",
        _ => "OTHER",
    };
    json_response(json!({
        "method": method,
        "uri": req.uri(),
        "path": req.path(),
        "query": req.query(),
        "headers": headers,
        "body_len": req.body().len(),
    }))
}

fn variable(query: &str) -> Response {
    let name = query_param(query, "name").unwrap_or_default();
    match spin_sdk::variables::get(&name) {
        Ok(value) => text(200, value),
        Err(e) => text(500, format!("{e:?}")),
    }
}

fn with_json(req: &Request, f: fn(&Json) -> Json) -> Response {
    match serde_json::from_slice::<Json>(req.body()) {
        Ok(body) => json_response(f(&body)),
        Err(e) => text(400, format!("bad JSON: {e}")),
    }
}

fn str_of<'a>(v: &'a Json, key: &str) -> &'a str {
    v.get(key).and_then(Json::as_str).unwrap_or("")
}

fn steps(body: &Json) -> &[Json] {
    body.get("steps")
        .and_then(Json::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// A parameter is `[type, value]`, e.g. `["int4", 5]`, `["decimal", "12.35"]`,
/// `["datetime", [2024, 1, 2, 3, 4, 5, 0]]`, `["null"]`.
fn pg_param(p: &Json) -> Result<pg::ParameterValue, String> {
    let kind = p.get(0).and_then(Json::as_str).unwrap_or("");
    let v = p.get(1).cloned().unwrap_or(Json::Null);
    let int = || v.as_i64().ok_or_else(|| format!("{kind} needs an integer"));
    let string = || {
        v.as_str()
            .map(str::to_string)
            .ok_or("needs a string".to_string())
    };
    let nums = |n: usize| -> Result<Vec<i64>, String> {
        let a = v.as_array().ok_or("needs an array")?;
        let out: Vec<i64> = a.iter().filter_map(Json::as_i64).collect();
        if out.len() == n {
            Ok(out)
        } else {
            Err(format!("needs {n} numbers"))
        }
    };
    Ok(match kind {
        "bool" => pg::ParameterValue::Boolean(v.as_bool().ok_or("needs a bool")?),
        "int2" => pg::ParameterValue::Int16(int()? as i16),
        "int4" => pg::ParameterValue::Int32(int()? as i32),
        "int8" => pg::ParameterValue::Int64(int()?),
        "float8" => pg::ParameterValue::Floating64(v.as_f64().ok_or("needs a number")?),
        "text" => pg::ParameterValue::Str(string()?),
        "decimal" => pg::ParameterValue::Decimal(string()?),
        "uuid" => pg::ParameterValue::Uuid(string()?),
        "jsonb" => pg::ParameterValue::Jsonb(v.to_string().into_bytes()),
        "bytea" => pg::ParameterValue::Binary(string()?.into_bytes()),
        "timestamp" => pg::ParameterValue::Timestamp(int()?),
        "date" => {
            let n = nums(3)?;
            pg::ParameterValue::Date((n[0] as i32, n[1] as u8, n[2] as u8))
        }
        "datetime" => {
            let n = nums(7)?;
            pg::ParameterValue::Datetime((
                n[0] as i32,
                n[1] as u8,
                n[2] as u8,
                n[3] as u8,
                n[4] as u8,
                n[5] as u8,
                n[6] as u32,
            ))
        }
        "null" => pg::ParameterValue::DbNull,
        other => return Err(format!("unknown parameter type {other:?}")),
    })
}

fn pg_steps(body: &Json) -> Json {
    let address = str_of(body, "address");
    let conn = match pg::Connection::open(address) {
        Ok(c) => c,
        Err(e) => return json!({ "open_error": format!("{e:?}") }),
    };
    let mut results = Vec::new();
    for step in steps(body) {
        let params: Result<Vec<_>, _> = step
            .get("params")
            .and_then(Json::as_array)
            .map(|ps| ps.iter().map(pg_param).collect())
            .unwrap_or_else(|| Ok(Vec::new()));
        let params = match params {
            Ok(p) => p,
            Err(e) => {
                results.push(json!({ "probe_error": e }));
                continue;
            }
        };
        let sql = str_of(step, "sql");
        let result = if str_of(step, "op") == "query" {
            match conn.query(sql, &params) {
                Ok(rs) => json!({
                    "columns": rs.columns.iter().map(|c| json!([c.name, format!("{:?}", c.data_type)])).collect::<Vec<_>>(),
                    "rows": rs.rows.iter().map(|r| r.iter().map(|v| format!("{v:?}")).collect::<Vec<_>>()).collect::<Vec<_>>(),
                }),
                Err(e) => pg_error(e),
            }
        } else {
            match conn.execute(sql, &params) {
                Ok(n) => json!({ "affected": n }),
                Err(e) => pg_error(e),
            }
        };
        results.push(result);
    }
    json!({ "results": results })
}

fn pg_error(e: pg::Error) -> Json {
    let mut out = json!({ "error": format!("{e:?}") });
    if let pg::Error::QueryFailed(pg::QueryError::DbError(db)) = &e {
        out["code"] = json!(db.code);
        out["message"] = json!(db.message);
        out["severity"] = json!(db.severity);
        out["detail"] = json!(db.detail);
        out["extras"] = json!(db.extras);
    }
    out
}

fn sqlite_param(p: &Json) -> Result<sqlite::Value, String> {
    let kind = p.get(0).and_then(Json::as_str).unwrap_or("");
    let v = p.get(1).cloned().unwrap_or(Json::Null);
    Ok(match kind {
        "integer" => sqlite::Value::Integer(v.as_i64().ok_or("needs an integer")?),
        "real" => sqlite::Value::Real(v.as_f64().ok_or("needs a number")?),
        "text" => sqlite::Value::Text(v.as_str().ok_or("needs a string")?.to_string()),
        "blob" => sqlite::Value::Blob(v.as_str().ok_or("needs a string")?.as_bytes().to_vec()),
        "null" => sqlite::Value::Null,
        other => return Err(format!("unknown parameter type {other:?}")),
    })
}

fn sqlite_steps(body: &Json) -> Json {
    let db = body.get("db").and_then(Json::as_str).unwrap_or("default");
    let conn = match sqlite::Connection::open(db) {
        Ok(c) => c,
        Err(e) => return json!({ "open_error": format!("{e:?}") }),
    };
    let mut results = Vec::new();
    for step in steps(body) {
        let params: Result<Vec<_>, _> = step
            .get("params")
            .and_then(Json::as_array)
            .map(|ps| ps.iter().map(sqlite_param).collect())
            .unwrap_or_else(|| Ok(Vec::new()));
        let params = match params {
            Ok(p) => p,
            Err(e) => {
                results.push(json!({ "probe_error": e }));
                continue;
            }
        };
        results.push(match conn.execute(str_of(step, "sql"), &params) {
            Ok(qr) => json!({
                "columns": qr.columns,
                "rows": qr.rows.iter().map(|r| r.values.iter().map(|v| format!("{v:?}")).collect::<Vec<_>>()).collect::<Vec<_>>(),
                "changes": conn.changes(),
                "last_insert_rowid": conn.last_insert_rowid(),
            }),
            Err(e) => json!({ "error": format!("{e:?}") }),
        });
    }
    json!({ "results": results })
}

fn kv_steps(body: &Json) -> Json {
    let name = body
        .get("store")
        .and_then(Json::as_str)
        .unwrap_or("default");
    let bucket = match store::open(name) {
        Ok(b) => b,
        Err(e) => return json!({ "open_error": format!("{e:?}") }),
    };
    let mut results = Vec::new();
    // A compare-and-swap in progress, so a test can write between `current` and `swap`.
    let mut cas: Option<atomics::Cas> = None;
    for step in steps(body) {
        let key = str_of(step, "key");
        let result = match str_of(step, "op") {
            "cas_new" => match atomics::Cas::new(&bucket, key) {
                Ok(c) => {
                    cas = Some(c);
                    json!({ "ok": true })
                }
                Err(e) => json!({ "error": format!("{e:?}") }),
            },
            "cas_current" => match cas.as_ref().map(atomics::Cas::current) {
                Some(Ok(v)) => {
                    json!({ "value": v.map(|b| String::from_utf8_lossy(&b).into_owned()) })
                }
                Some(Err(e)) => json!({ "error": format!("{e:?}") }),
                None => json!({ "probe_error": "no cas_new before cas_current" }),
            },
            "cas_swap" => match cas.take() {
                Some(c) => match atomics::swap(c, str_of(step, "value").as_bytes()) {
                    Ok(()) => json!({ "swapped": true }),
                    Err(atomics::CasError::CasFailed(_)) => json!({ "swapped": false }),
                    Err(atomics::CasError::StoreError(e)) => json!({ "error": format!("{e:?}") }),
                },
                None => json!({ "probe_error": "no cas_new before cas_swap" }),
            },
            "get" => match bucket.get(key) {
                Ok(v) => json!({ "value": v.map(|b| String::from_utf8_lossy(&b).into_owned()) }),
                Err(e) => json!({ "error": format!("{e:?}") }),
            },
            "get_raw" => match bucket.get(key) {
                Ok(v) => json!({ "bytes": v }),
                Err(e) => json!({ "error": format!("{e:?}") }),
            },
            "set" => match bucket.set(key, str_of(step, "value").as_bytes()) {
                Ok(()) => json!({ "ok": true }),
                Err(e) => json!({ "error": format!("{e:?}") }),
            },
            "delete" => match bucket.delete(key) {
                Ok(()) => json!({ "ok": true }),
                Err(e) => json!({ "error": format!("{e:?}") }),
            },
            "exists" => match bucket.exists(key) {
                Ok(b) => json!({ "exists": b }),
                Err(e) => json!({ "error": format!("{e:?}") }),
            },
            "increment" => {
                let delta = step.get("delta").and_then(Json::as_i64).unwrap_or(1);
                match atomics::increment(&bucket, key, delta) {
                    Ok(n) => json!({ "value": n }),
                    Err(e) => json!({ "error": format!("{e:?}") }),
                }
            }
            "list_keys" => match bucket.list_keys(None) {
                Ok(r) => {
                    let mut keys = r.keys;
                    keys.sort();
                    json!({ "keys": keys })
                }
                Err(e) => json!({ "error": format!("{e:?}") }),
            },
            "get_many" => {
                let keys: Vec<String> = step
                    .get("keys")
                    .and_then(Json::as_array)
                    .map(|a| {
                        a.iter()
                            .filter_map(|k| k.as_str().map(str::to_string))
                            .collect()
                    })
                    .unwrap_or_default();
                match batch::get_many(&bucket, &keys) {
                    Ok(kvs) => json!({ "found": kvs.iter().filter(|(_, v)| v.is_some()).count() }),
                    Err(e) => json!({ "error": format!("{e:?}") }),
                }
            }
            other => json!({ "probe_error": format!("unknown op {other:?}") }),
        };
        results.push(result);
    }
    json!({ "results": results })
}

async fn outbound(query: &str) -> Response {
    let url = query_param(query, "url").unwrap_or_default();
    let result: Result<Response, _> = spin_sdk::http::send(Request::get(url)).await;
    match result {
        Ok(resp) => text(200, format!("upstream status {}", resp.status())),
        Err(e) => text(502, format!("{e:?}")),
    }
}
