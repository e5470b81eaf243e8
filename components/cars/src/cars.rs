//! `/api/v1/cars/...`: each user's own inventory. Every route proves the caller in the
//! same statement that reads or writes the cars (`repositories::cars`): one statement
//! per request on the happy path.

use domain::Timestamp;
use domain::forms::{CarChanges, NewCar};
use domain::money::Rounding;
use domain::{Price, query::Page};
use repositories::cars::{self, Car, CarFilter, Found};
use repositories::{Caller, Claim, DbError};
use web::error::on_unique_violation;
use web::views::{CarPage, CarView};
use web::{ApiError, Ctx, HandlerResult, HttpResponse};

use crate::brands;

const NOT_FOUND: &str = "Carro não encontrado";
const FORBIDDEN: &str = "Not enough permissions to access this car";
const PLATE_TAKEN: &str = "Placa já está em uso";
const UNIQUE: &[(&str, &str)] = &[("cars_plate_key", PLATE_TAKEN)];

pub fn create(ctx: &Ctx) -> HandlerResult {
    let claim = ctx.claim()?;
    let car = ctx.input(&claim, |ctx| Ok(NewCar::parse(ctx.body())?))?;
    let (_caller, created) = cars::insert(ctx.db()?, &claim, &car, Timestamp::now())
        .map_err(write_error)?
        .ok_or(ApiError::InvalidToken)?;
    Ok(HttpResponse::json(201, &CarView::from(created)))
}

pub fn list(ctx: &Ctx) -> HandlerResult {
    let claim = ctx.claim()?;
    let (filter, page) = ctx.input(&claim, read_filter)?;
    let (_caller, cars) =
        cars::list_for(ctx.db()?, &claim, &filter, page)?.ok_or(ApiError::InvalidToken)?;
    Ok(HttpResponse::json(
        200,
        &CarPage {
            cars: cars.into_iter().map(CarView::from).collect(),
            offset: page.offset,
            limit: page.limit,
        },
    ))
}

/// The list's query string: every failing parameter is reported.
fn read_filter(ctx: &Ctx) -> Result<(CarFilter, Page), ApiError> {
    let mut query = ctx.query();
    let page = query.page();
    let filter = CarFilter {
        search: query.text("search"),
        brand_id: query.int("brand_id", None, None),
        fuel_type: query.fuel_type(),
        transmission: query.transmission(),
        is_available: query.bool("is_available"),
        min_price: query
            .price_bound("min_price", Rounding::Ceiling)
            .map(Price::from_cents),
        max_price: query
            .price_bound("max_price", Rounding::Floor)
            .map(Price::from_cents),
    };
    query.finish()?;
    Ok((filter, page))
}

pub fn get(ctx: &Ctx) -> HandlerResult {
    let claim = ctx.claim()?;
    let id = ctx.input(&claim, |ctx| ctx.path_id("car_id"))?;
    let (_caller, car) = find_own(ctx, &claim, id)?;
    Ok(HttpResponse::json(200, &CarView::from(car)))
}

/// Partial update: only real changes are written and move `updated_at`. `owner_id` in
/// the body is ignored (a car cannot be given away through this route).
pub fn update(ctx: &Ctx) -> HandlerResult {
    let claim = ctx.claim()?;
    let (id, changes) = ctx.input(&claim, |ctx| {
        let id = ctx.path_id("car_id")?;
        Ok((id, CarChanges::parse(ctx.body())?))
    })?;
    let (caller, current) = find_own(ctx, &claim, id)?;
    let updated = cars::update(ctx.db()?, &caller, &current, &changes, Timestamp::now())
        .map_err(write_error)?
        .ok_or(ApiError::NotFound(NOT_FOUND))?;
    Ok(HttpResponse::json(200, &CarView::from(updated)))
}

pub fn delete(ctx: &Ctx) -> HandlerResult {
    let claim = ctx.claim()?;
    let id = ctx.input(&claim, |ctx| ctx.path_id("car_id"))?;
    let (caller, _) = find_own(ctx, &claim, id)?;
    cars::delete(ctx.db()?, &caller, id)?;
    Ok(HttpResponse::no_content())
}

/// The caller's car: 401 for a refused claim, then 404 (no such car), then 403 (another
/// user's car), as the contract orders them; one statement.
fn find_own(ctx: &Ctx, claim: &Claim, id: i64) -> Result<(Caller, Car), ApiError> {
    let (caller, found) = cars::find_for(ctx.db()?, claim, id)?.ok_or(ApiError::InvalidToken)?;
    match found {
        Found::Yours(car) => Ok((caller, *car)),
        Found::NotYours => Err(ApiError::Forbidden(FORBIDDEN)),
        Found::Missing => Err(ApiError::NotFound(NOT_FOUND)),
    }
}

/// A refused write by a caller who exists: the plate is taken (the unique index is
/// checked before the foreign keys, so the plate is reported first) or the brand does
/// not exist.
fn write_error(error: DbError) -> ApiError {
    match error {
        DbError::ForeignKeyViolation => ApiError::BadRequest(brands::NOT_FOUND),
        other => on_unique_violation(other, UNIQUE),
    }
}
