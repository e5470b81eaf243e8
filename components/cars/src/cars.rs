//! `/api/v1/cars/...`: each user's own inventory.

use domain::forms::{CarChanges, NewCar};
use domain::money::Rounding;
use domain::{Price, Timestamp};
use storage::{Changes, Db, DbError, Filters, contains_pattern};
use web::error::on_unique_violation;
use web::views::{CarPage, CarView};
use web::{ApiError, Ctx, HandlerResult, HttpResponse};

use crate::brands;

const NOT_FOUND: &str = "Carro não encontrado";
const FORBIDDEN: &str = "Not enough permissions to access this car";
const PLATE_TAKEN: &str = "Placa já está em uso";
const UNIQUE: &[(&str, &str)] = &[("cars_plate_key", PLATE_TAKEN)];

fn find(db: &Db, id: i64) -> Result<Option<CarView>, ApiError> {
    let row = db.query_opt(
        &format!("{} WHERE c.id = $1", CarView::select()),
        &[id.into()],
    )?;
    Ok(row.map(|r| CarView::from_row(&r)).transpose()?)
}

/// The car, if it exists (404) and belongs to the caller (403).
/// When the car is the caller's, its joined owner row also proves the caller exists.
fn find_own(ctx: &Ctx, id: i64, caller: i64) -> Result<CarView, ApiError> {
    let car = find(ctx.db()?, id)?.ok_or(ApiError::NotFound(NOT_FOUND))?;
    if car.owner_id != caller {
        return Err(ApiError::Forbidden(FORBIDDEN));
    }
    ctx.caller_seen(car.owner_password_changed_at)?;
    Ok(car)
}

/// One statement on the happy path: the INSERT returns the whole car, so nothing is
/// stored without its answer. Its owner is the caller only if the account exists and
/// this token is still valid for it (else NULL, refused by NOT NULL: nothing is
/// written for a deleted user or a revoked token); the brand's foreign key and the
/// plate's unique index do the rest. Only a refused INSERT costs a second statement, to
/// tell a refused caller (401) from a taken plate or unknown brand (400).
pub fn create(ctx: &Ctx) -> HandlerResult {
    let caller = ctx.authenticate_deferred()?;
    let car = NewCar::parse(ctx.body())?;
    let db = ctx.db()?;
    let now = Timestamp::now();
    let inserted = db.query_one(
        &format!(
            "INSERT INTO cars (model, factory_year, model_year, color, plate, fuel_type, \
             transmission, price, description, is_available, brand_id, owner_id, \
             created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, \
             (SELECT id FROM users WHERE id = $12 \
             AND (password_changed_at IS NULL OR password_changed_at < $14)), $13, $13){}",
            CarView::returning()
        ),
        &[
            car.model.as_str().into(),
            car.factory_year.get().into(),
            car.model_year.get().into(),
            car.color.as_str().into(),
            car.plate.as_str().into(),
            car.fuel_type.as_str().into(),
            car.transmission.as_str().into(),
            car.price.into(),
            car.description.as_ref().map(|d| d.as_str()).into(),
            car.is_available.into(),
            car.brand_id.into(),
            caller.into(),
            now.into(),
            ctx.token_issued_at().into(),
        ],
    );
    let row = match inserted {
        Ok(row) => row,
        Err(error) => {
            // Authentication comes first in the contract's order of checks.
            ctx.confirm_caller()?;
            return Err(write_error(error));
        }
    };
    // The owner_id subquery found the caller, with a session valid for this token.
    let created = CarView::from_row(&row)?;
    ctx.caller_seen(created.owner_password_changed_at)?;
    Ok(HttpResponse::json(201, &created))
}

pub fn list(ctx: &Ctx) -> HandlerResult {
    let caller = ctx.authenticate_deferred()?;
    let mut query = ctx.query();
    let page = query.page();
    let search = query.text("search");
    let brand_id = query.int("brand_id", None, None);
    let fuel_type = query.fuel_type();
    let transmission = query.transmission();
    let is_available = query.bool("is_available");
    let min_price = query.price_bound("min_price", Rounding::Ceiling);
    let max_price = query.price_bound("max_price", Rounding::Floor);
    query.finish()?;

    let mut filters = Filters::default();
    filters.add("c.owner_id = {}", caller);
    if let Some(search) = search {
        filters.add(
            "(lower(c.model) LIKE {} ESCAPE '\\' OR lower(c.plate) LIKE {} ESCAPE '\\')",
            contains_pattern(&search),
        );
    }
    if let Some(brand_id) = brand_id {
        filters.add("c.brand_id = {}", brand_id);
    }
    if let Some(fuel_type) = fuel_type {
        filters.add("c.fuel_type = {}", fuel_type.as_str());
    }
    if let Some(transmission) = transmission {
        filters.add("c.transmission = {}", transmission.as_str());
    }
    if let Some(is_available) = is_available {
        filters.add("c.is_available = {}", is_available);
    }
    if let Some(cents) = min_price {
        filters.add("c.price >= {}", Price::from_cents(cents));
    }
    if let Some(cents) = max_price {
        filters.add("c.price <= {}", Price::from_cents(cents));
    }
    let (clauses, params) = filters.into_page("c.id", page.limit, page.offset);
    let rows = ctx
        .db()?
        .query(&format!("{}{clauses}", CarView::select()), &params)?;
    let cars = rows
        .iter()
        .map(CarView::from_row)
        .collect::<Result<Vec<_>, _>>()?;
    if let Some(car) = cars.first() {
        // Every car listed is joined with its owner: the caller.
        ctx.caller_seen(car.owner_password_changed_at)?;
    }
    Ok(HttpResponse::json(
        200,
        &CarPage {
            cars,
            offset: page.offset,
            limit: page.limit,
        },
    ))
}

pub fn get(ctx: &Ctx) -> HandlerResult {
    let caller = ctx.authenticate_deferred()?;
    let id = ctx.path_id("car_id")?;
    let car = find_own(ctx, id, caller)?;
    Ok(HttpResponse::json(200, &car))
}

/// Partial update: only real changes are written and move `updated_at`. `owner_id` in
/// the body is ignored (a car cannot be given away through this route).
pub fn update(ctx: &Ctx) -> HandlerResult {
    let caller = ctx.authenticate_deferred()?;
    let id = ctx.path_id("car_id")?;
    let changes = CarChanges::parse(ctx.body())?;
    let db = ctx.db()?;
    // Nothing is written before `find_own` proved the caller exists.
    let current = find_own(ctx, id, caller)?;

    // A taken plate or an unknown brand is refused by the UPDATE itself (`write_error`),
    // as for creation.
    let plate = changes.plate.filter(|p| p.as_str() != current.plate);
    let brand_id = changes.brand_id.filter(|b| *b != current.brand_id);

    let mut update = Changes::default();
    if let Some(model) = changes.model.filter(|m| m.as_str() != current.model) {
        update.set("model", model.as_str());
    }
    if let Some(year) = changes
        .factory_year
        .filter(|y| i64::from(y.get()) != current.factory_year)
    {
        update.set("factory_year", year.get());
    }
    if let Some(year) = changes
        .model_year
        .filter(|y| i64::from(y.get()) != current.model_year)
    {
        update.set("model_year", year.get());
    }
    if let Some(color) = changes.color.filter(|c| c.as_str() != current.color) {
        update.set("color", color.as_str());
    }
    if let Some(plate) = plate {
        update.set("plate", plate.as_str());
    }
    if let Some(fuel) = changes.fuel_type.filter(|f| *f != current.fuel_type) {
        update.set("fuel_type", fuel.as_str());
    }
    if let Some(t) = changes.transmission.filter(|t| *t != current.transmission) {
        update.set("transmission", t.as_str());
    }
    if let Some(price) = changes.price.filter(|p| *p != current.price) {
        update.set("price", price);
    }
    if let Some(description) = changes.description {
        let description = description.map(|d| d.as_str().to_owned());
        if description != current.description {
            update.set("description", description);
        }
    }
    if let Some(available) = changes.is_available.filter(|a| *a != current.is_available) {
        update.set("is_available", available);
    }
    if let Some(brand_id) = brand_id {
        update.set("brand_id", brand_id);
    }
    if update.is_empty() {
        return Ok(HttpResponse::json(200, &current));
    }
    // The UPDATE returns the car it wrote: one statement, as for creation. No row means
    // the car was deleted since `find_own` read it.
    let (sql, params) = update.into_update("cars", id, Timestamp::now());
    let updated = db
        .query_opt(&format!("{sql}{}", CarView::returning()), &params)
        .map_err(write_error)?
        .ok_or(ApiError::NotFound(NOT_FOUND))?;
    Ok(HttpResponse::json(200, &CarView::from_row(&updated)?))
}

pub fn delete(ctx: &Ctx) -> HandlerResult {
    let caller = ctx.authenticate_deferred()?;
    let id = ctx.path_id("car_id")?;
    let db = ctx.db()?;
    find_own(ctx, id, caller)?;
    db.execute("DELETE FROM cars WHERE id = $1", &[id.into()])?;
    Ok(HttpResponse::no_content())
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
