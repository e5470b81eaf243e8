//! The host ceiling of `make bench` (S0): the cheapest component a Spin host can run,
//! with none of the app's pipeline. A few extra paths each repeat one host call `n`
//! times, so the price of a single call is the difference against the plain 200:
//!
//! - `/` (any other path)   static 200, 2-byte body (S0)
//! - `/vars?n=N`            N reads of the variable `probe`
//! - `/kv?n=N`              N `wasi:keyvalue` atomic increments of one key
//! - `/pg?n=N`              open a PostgreSQL connection (`database_url`), run `SELECT 1` N times

use spin_sdk::http::{IncomingRequest, Response};
use spin_sdk::http_component;
use spin_sdk::wit::pg4;
use spin_sdk::wit::wasi::keyvalue::{atomics, store};

#[http_component]
async fn handle(request: IncomingRequest) -> Response {
    let path = request.path_with_query().unwrap_or_default();
    let (path, query) = path.split_once('?').unwrap_or((path.as_str(), ""));
    let n: usize = query
        .split('&')
        .find_map(|kv| kv.strip_prefix("n="))
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    let outcome = match path {
        "/vars" => vars(n),
        "/kv" => kv(n),
        "/pg" => pg(n),
        _ => Ok(()),
    };
    match outcome {
        Ok(()) => Response::builder()
            .status(200)
            .header("content-type", "text/plain")
            .body("ok")
            .build(),
        Err(e) => Response::builder().status(500).body(e).build(),
    }
}

fn vars(n: usize) -> Result<(), String> {
    for _ in 0..n {
        spin_sdk::variables::get("probe").map_err(|e| format!("variable: {e:?}"))?;
    }
    Ok(())
}

fn kv(n: usize) -> Result<(), String> {
    let bucket = store::open("default").map_err(|e| format!("kv open: {e:?}"))?;
    for _ in 0..n {
        atomics::increment(&bucket, "bench/probe", 1).map_err(|e| format!("kv: {e:?}"))?;
    }
    Ok(())
}

fn pg(n: usize) -> Result<(), String> {
    let url = spin_sdk::variables::get("database_url").map_err(|e| format!("variable: {e:?}"))?;
    let conn = pg4::Connection::open(&url).map_err(|e| format!("pg open: {e:?}"))?;
    for _ in 0..n {
        conn.query("SELECT 1", &[])
            .map_err(|e| format!("pg: {e:?}"))?;
    }
    Ok(())
}
