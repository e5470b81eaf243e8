//! Outgoing `wasi:http` requests, allowed only to the component's
//! `allowed_outbound_hosts` (denied ones fail with `HTTP-request-denied`, as on Spin).

use std::sync::Arc;

use wasmtime_wasi_http::{Error, RequestOptions, WasiBody, WasiHttpHooks};

use crate::state::ComponentCtx;

pub struct OutboundHooks {
    component: Arc<ComponentCtx>,
}

impl OutboundHooks {
    pub fn new(component: Arc<ComponentCtx>) -> Self {
        OutboundHooks { component }
    }
}

type SendResult = wasmtime_wasi_http::Result<(
    http::Response<WasiBody>,
    Box<dyn Future<Output = Result<(), Error>> + Send>,
)>;

impl WasiHttpHooks for OutboundHooks {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        fut: Box<dyn Future<Output = Result<(), Error>> + Send>,
    ) -> Box<dyn Future<Output = SendResult> + Send> {
        let uri = request.uri();
        let scheme = uri.scheme_str().unwrap_or("https").to_string();
        let host = uri.host().unwrap_or("").to_string();
        let port = uri.port_u16();
        if !self.component.allowed_hosts.allows(&scheme, &host, port) {
            let shown = match port {
                Some(p) => format!("{scheme}://{host}:{p}"),
                None => format!("{scheme}://{host}"),
            };
            eprintln!(
                "devhost: component {:?} tried to make an HTTP request to non-allowed host {shown}; add it to allowed_outbound_hosts to permit it",
                self.component.id
            );
            return Box::new(async { Err(Error::HttpRequestDenied) });
        }
        let _ = fut;
        Box::new(async move {
            use http_body_util::BodyExt;
            let (res, io) = wasmtime_wasi_http::default_send_request(request, options).await?;
            Ok((
                res.map(BodyExt::boxed_unsync),
                Box::new(io) as Box<dyn Future<Output = _> + Send>,
            ))
        })
    }
}
