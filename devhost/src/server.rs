//! The HTTP trigger: hyper 1 HTTP/1.1 server, routing, per-request
//! instantiation, trap isolation, request logs and graceful shutdown.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use bytes::Bytes;
use http::{HeaderName, HeaderValue, Request, Response, StatusCode, Uri};
use http_body_util::{BodyExt, Empty};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use wasmtime::Store;
use wasmtime_wasi_http::WasiHttpView;
use wasmtime_wasi_http::p2::bindings::ProxyPre;
use wasmtime_wasi_http::p2::bindings::http::types::Scheme;
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;

use crate::routing::{Router, spin_headers};
use crate::state::{ComponentCtx, HostState, Services};

const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a request may take until its response head is ready (reading the body
/// included); slow-body clients are cut off here.
const RESPONSE_DEADLINE: Duration = Duration::from_secs(30);
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

pub struct LoadedComponent {
    pub pre: ProxyPre<HostState>,
    pub ctx: Arc<ComponentCtx>,
}

pub struct App {
    pub router: Router,
    pub components: HashMap<String, LoadedComponent>,
    pub services: Arc<Services>,
    /// A line per request on stderr (`--access-log`); a write per request otherwise
    /// saved on the hot path.
    pub access_log: bool,
}

fn empty(status: StatusCode) -> Response<HyperOutgoingBody> {
    let mut r = Response::new(Empty::<Bytes>::new().map_err(|n| match n {}).boxed_unsync());
    *r.status_mut() = status;
    r
}

impl App {
    async fn handle(
        self: Arc<Self>,
        req: Request<Incoming>,
        client: SocketAddr,
        local: SocketAddr,
    ) -> Response<HyperOutgoingBody> {
        if !self.access_log {
            return self.dispatch(req, client, local).await;
        }
        let start = Instant::now();
        let method = req.method().clone();
        // Path only: query strings may carry secrets.
        let path = req.uri().path().to_string();
        let resp = self.dispatch(req, client, local).await;
        eprintln!(
            "{method} {path} {} {:.1}ms",
            resp.status().as_u16(),
            start.elapsed().as_secs_f64() * 1000.0
        );
        resp
    }

    async fn dispatch(
        &self,
        req: Request<Incoming>,
        client: SocketAddr,
        local: SocketAddr,
    ) -> Response<HyperOutgoingBody> {
        let path = req.uri().path().to_string();
        // Spin answers its well-known paths itself, before routing.
        if let Some(rest) = path.strip_prefix("/.well-known/spin/") {
            return if rest == "health" {
                Response::new(
                    http_body_util::Full::new(Bytes::from_static(b"OK"))
                        .map_err(|n| match n {})
                        .boxed_unsync(),
                )
            } else {
                empty(StatusCode::NOT_FOUND)
            };
        }
        let Some(m) = self.router.route(&path) else {
            // Spin answers an unmatched path itself with an empty 404.
            return empty(StatusCode::NOT_FOUND);
        };
        let Some(component) = self.components.get(&m.route.component) else {
            return empty(StatusCode::INTERNAL_SERVER_ERROR);
        };

        let (mut parts, body) = req.into_parts();
        let host = parts
            .headers
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .map(str::to_string)
            .or_else(|| parts.uri.authority().map(|a| a.to_string()))
            .unwrap_or_else(|| local.to_string());
        let path_and_query = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_else(|| "/".into());
        let full_url = format!("http://{host}{path_and_query}");
        // The guest sees an absolute URI, as Spin sets it from the Host header.
        match Uri::builder()
            .scheme("http")
            .authority(host.as_str())
            .path_and_query(path_and_query.as_str())
            .build()
        {
            Ok(uri) => parts.uri = uri,
            Err(_) => return empty(StatusCode::BAD_REQUEST),
        }
        for (name, value) in spin_headers(&m, &full_url, client) {
            if let (Ok(n), Ok(v)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(&value),
            ) {
                // `insert`, as Spin does: a client cannot add its own spin-client-addr.
                parts.headers.insert(n, v);
            }
        }
        let req = Request::from_parts(parts, body);
        match self.run(component, req).await {
            Ok(resp) => resp,
            Err(status) => empty(status),
        }
    }

    async fn run(
        &self,
        component: &LoadedComponent,
        req: Request<Incoming>,
    ) -> Result<Response<HyperOutgoingBody>, StatusCode> {
        let id = component.ctx.id.clone();
        let state = HostState::new(component.ctx.clone(), self.services.clone());
        let mut store = Store::new(component.pre.engine(), state);
        let proxy = match component.pre.instantiate_async(&mut store).await {
            Ok(p) => p,
            Err(e) => {
                if e.downcast_ref::<wasmtime::PoolConcurrencyLimitError>()
                    .is_some()
                {
                    eprintln!("devhost: component {id:?}: instance limit reached; answering 503");
                    return Err(StatusCode::SERVICE_UNAVAILABLE);
                }
                eprintln!("devhost: component {id:?} failed to instantiate: {e:?}");
                return Err(StatusCode::INTERNAL_SERVER_ERROR);
            }
        };
        let (tx, rx) = tokio::sync::oneshot::channel();
        let (req, out) = {
            let mut http = store.data_mut().http();
            let req = http
                .new_incoming_request(
                    Scheme::Http,
                    req.map(|b| b.map_err(wasmtime_wasi_http::Error::from)),
                )
                .map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?;
            let out = http
                .new_response_outparam(tx)
                .map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?;
            (req, out)
        };
        // The guest runs in its own task so it can keep streaming the body
        // after the response head is sent, and so a trap stays contained.
        let task_id = id.clone();
        let task = tokio::spawn(async move {
            let result = proxy
                .wasi_http_incoming_handler()
                .call_handle(&mut store, req, out)
                .await;
            if let Err(e) = &result {
                eprintln!("devhost: component {task_id:?} trapped: {e:?}");
            }
            result.is_ok()
        });
        // A client that trickles its body (or a guest that never answers) must not hold
        // an instance forever: past the deadline the guest is dropped and the client
        // told so.
        let rx = match tokio::time::timeout(RESPONSE_DEADLINE, rx).await {
            Ok(rx) => rx,
            Err(_) => {
                task.abort();
                eprintln!(
                    "devhost: component {id:?} gave no response within {}s; request cut off",
                    RESPONSE_DEADLINE.as_secs()
                );
                return Err(StatusCode::REQUEST_TIMEOUT);
            }
        };
        match rx {
            Ok(Ok(resp)) => Ok(resp),
            Ok(Err(code)) => {
                eprintln!("devhost: component {id:?} answered with error code {code:?}");
                Err(StatusCode::INTERNAL_SERVER_ERROR)
            }
            Err(_) => {
                // The outparam was dropped without a response: the guest
                // trapped (already logged) or returned without answering.
                match task.await {
                    Ok(true) => {
                        eprintln!("devhost: component {id:?} returned without setting a response")
                    }
                    Ok(false) => {}
                    Err(e) => eprintln!("devhost: component {id:?} task failed: {e}"),
                }
                Err(StatusCode::INTERNAL_SERVER_ERROR)
            }
        }
    }
}

pub async fn bind(addr: SocketAddr) -> Result<TcpListener> {
    TcpListener::bind(addr).await.map_err(|e| {
        if e.kind() == std::io::ErrorKind::AddrInUse {
            anyhow::anyhow!("{addr} is already in use; choose another address with --listen")
        } else {
            anyhow::anyhow!("unable to listen on {addr}: {e}")
        }
    })
}

pub fn print_routes(app: &App, local: SocketAddr) {
    use std::io::Write;
    let base = format!("http://{local}");
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "\nServing {base}");
    let _ = writeln!(out, "Available Routes:");
    for r in app.router.routes() {
        let shown = r.display();
        let (path, suffix) = match shown.strip_suffix(" (wildcard)") {
            Some(p) => (p.to_string(), " (wildcard)"),
            None => (shown.clone(), ""),
        };
        let path = if path == "/" { String::new() } else { path };
        let _ = writeln!(out, "  {}: {base}{path}{suffix}", r.component);
    }
    let _ = out.flush();
}

/// Serves until SIGINT/SIGTERM, then stops accepting and gives in-flight
/// requests up to `SHUTDOWN_GRACE` to finish.
pub async fn serve(app: Arc<App>, listener: TcpListener) -> Result<()> {
    let local = listener.local_addr().context("listener address")?;
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let shutdown = shutdown_signal();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, client) = match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        // E.g. out of file descriptors: keep serving the rest.
                        eprintln!("devhost: accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let app = app.clone();
                let svc = hyper::service::service_fn(move |req| {
                    let app = app.clone();
                    async move { Ok::<_, Infallible>(app.handle(req, client, local).await) }
                });
                let conn = hyper::server::conn::http1::Builder::new()
                    .timer(TokioTimer::new())
                    .header_read_timeout(HEADER_READ_TIMEOUT)
                    .keep_alive(true)
                    .serve_connection(TokioIo::new(stream), svc);
                let conn = graceful.watch(conn);
                tokio::spawn(async move {
                    let _ = conn.await;
                });
            }
            _ = &mut shutdown => break,
        }
    }
    drop(listener);
    eprintln!(
        "devhost: shutting down, waiting up to {}s for in-flight requests",
        SHUTDOWN_GRACE.as_secs()
    );
    tokio::select! {
        _ = graceful.shutdown() => {}
        _ = tokio::time::sleep(SHUTDOWN_GRACE) => {
            eprintln!("devhost: in-flight requests did not finish in time");
        }
    }
    Ok(())
}

async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
