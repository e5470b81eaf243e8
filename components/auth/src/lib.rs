//! The identity component: `/api/v1/auth/...` and `/api/v1/users/...`.

mod throttle;
mod tokens;
mod users;

use spin_sdk::http::{IncomingRequest, Response};
use spin_sdk::http_component;
use web::{Route, api};

const ROUTES: &[Route] = &[
    Route::new(&api::LOGIN, tokens::login),
    Route::new(&api::REFRESH, tokens::refresh),
    Route::new(&api::USER_CREATE, users::create),
    Route::new(&api::USER_LIST, users::list),
    Route::new(&api::USER_GET, users::get),
    Route::new(&api::USER_UPDATE, users::update),
    Route::new(&api::USER_DELETE, users::delete),
];

#[http_component]
async fn handle(request: IncomingRequest) -> Response {
    web::serve(request, ROUTES).await
}
