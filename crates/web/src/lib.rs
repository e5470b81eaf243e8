//! What every route of every component shares, written once: reading the request (with
//! the 64 KiB body limit), routing within a component, authentication, the mapping of
//! errors to status codes, the headers every response carries, and the request log.
//!
//! A component is a route table handed to [`serve`]:
//!
//! ```ignore
//! const ROUTES: &[Route] = &[Route::new(&api::CAR_GET, cars::get), ...];
//!
//! #[http_component]
//! async fn handle(request: IncomingRequest) -> Response {
//!     web::serve(request, ROUTES).await
//! }
//! ```

pub mod api;
pub mod auth;
pub mod client;
pub mod config;
pub mod context;
pub mod error;
pub mod http;
pub mod idempotency;
pub mod kv;
pub mod log;
pub mod metrics;
pub mod openapi;
pub mod router;
pub mod serve;
pub mod views;

pub use context::Ctx;
pub use error::ApiError;
pub use http::{HttpRequest, HttpResponse};
pub use router::Route;
pub use serve::serve;

/// The result of a route handler.
pub type HandlerResult = Result<HttpResponse, ApiError>;
