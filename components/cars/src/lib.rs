//! The inventory component: `/api/v1/brands/...` and `/api/v1/cars/...`. Every route
//! needs a signed-in user; a user sees and changes only their own cars.

mod brands;
mod cars;

use spin_sdk::http::{IncomingRequest, Response};
use spin_sdk::http_component;
use web::Route;

const ROUTES: &[Route] = &[
    Route::post("/api/v1/brands", brands::create),
    Route::get("/api/v1/brands", brands::list),
    Route::get("/api/v1/brands/{brand_id}", brands::get),
    Route::put("/api/v1/brands/{brand_id}", brands::update),
    Route::delete("/api/v1/brands/{brand_id}", brands::delete),
    Route::post("/api/v1/cars", cars::create),
    Route::get("/api/v1/cars", cars::list),
    Route::get("/api/v1/cars/{car_id}", cars::get),
    Route::put("/api/v1/cars/{car_id}", cars::update),
    Route::delete("/api/v1/cars/{car_id}", cars::delete),
];

#[http_component]
async fn handle(request: IncomingRequest) -> Response {
    web::serve(request, ROUTES).await
}
