//! The inventory component: `/api/v1/brands/...` and `/api/v1/cars/...`. Every route
//! needs a signed-in user; a user sees and changes only their own cars.

mod brands;
mod cars;

use spin_sdk::http::{IncomingRequest, Response};
use spin_sdk::http_component;
use web::{Route, api};

const ROUTES: &[Route] = &[
    Route::new(&api::BRAND_CREATE, brands::create),
    Route::new(&api::BRAND_LIST, brands::list),
    Route::new(&api::BRAND_GET, brands::get),
    Route::new(&api::BRAND_UPDATE, brands::update),
    Route::new(&api::BRAND_DELETE, brands::delete),
    Route::new(&api::CAR_CREATE, cars::create),
    Route::new(&api::CAR_LIST, cars::list),
    Route::new(&api::CAR_GET, cars::get),
    Route::new(&api::CAR_UPDATE, cars::update),
    Route::new(&api::CAR_DELETE, cars::delete),
];

#[http_component]
async fn handle(request: IncomingRequest) -> Response {
    web::serve(request, ROUTES).await
}
