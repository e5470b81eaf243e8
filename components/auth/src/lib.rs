//! The identity component: `/api/v1/auth/...` and `/api/v1/users/...`.

mod throttle;
mod tokens;
mod users;

use spin_sdk::http::{IncomingRequest, Response};
use spin_sdk::http_component;
use web::Route;

const ROUTES: &[Route] = &[
    Route::post("/api/v1/auth/token", tokens::login),
    Route::post("/api/v1/auth/refresh_token", tokens::refresh),
    Route::post("/api/v1/users", users::create),
    Route::get("/api/v1/users", users::list),
    Route::get("/api/v1/users/{user_id}", users::get),
    Route::put("/api/v1/users/{user_id}", users::update),
    Route::delete("/api/v1/users/{user_id}", users::delete),
];

#[http_component]
async fn handle(request: IncomingRequest) -> Response {
    web::serve(request, ROUTES).await
}
