//! The `cars` table: each user's own inventory, always read with its brand and owner.
//!
//! The hot paths are one statement each, the caller's proof included: a read starts
//! from the caller's own `users` row and joins the cars to it, so the same row that
//! carries the data shows whether the account exists and accepts the token; a create
//! writes the owner from a subquery that finds the account only when it accepts the
//! token. Only a refused create costs a second statement, to tell 401 from 400.

use domain::forms::{CarChanges, NewCar};
use domain::{FuelType, Price, Timestamp, Transmission};
use storage::{Changes, Db, DbError, Filters, Row, contains_pattern};

use crate::Page;
use crate::brands::Brand;
use crate::caller::{Caller, Claim};
use crate::columns::select_list;
use crate::users::{self, User};

#[derive(Debug, Clone, PartialEq)]
pub struct Car {
    pub id: i64,
    pub model: String,
    pub factory_year: i64,
    pub model_year: i64,
    pub color: String,
    pub plate: String,
    pub fuel_type: FuelType,
    pub transmission: Transmission,
    pub price: Price,
    pub description: Option<String>,
    pub is_available: bool,
    pub brand_id: i64,
    pub owner_id: i64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub brand: Brand,
    pub owner: User,
}

const COLUMNS: &[&str] = &[
    "id",
    "model",
    "factory_year",
    "model_year",
    "color",
    "plate",
    "fuel_type",
    "transmission",
    "price",
    "description",
    "is_available",
    "brand_id",
    "owner_id",
    "created_at",
    "updated_at",
];

impl Car {
    /// A car selected as `car_*`, its brand as `brand_*` and its owner as `owner_*`.
    fn from_row(row: &Row) -> Result<Car, DbError> {
        let vocabulary = |column: &str, text: String| {
            DbError::Other(format!("{column}: unknown value {text:?}"))
        };
        let fuel_type = row.text("car_fuel_type")?;
        let transmission = row.text("car_transmission")?;
        Ok(Car {
            id: row.i64("car_id")?,
            model: row.text("car_model")?,
            factory_year: row.i64("car_factory_year")?,
            model_year: row.i64("car_model_year")?,
            color: row.text("car_color")?,
            plate: row.text("car_plate")?,
            fuel_type: FuelType::from_text(&fuel_type)
                .ok_or_else(|| vocabulary("car_fuel_type", fuel_type))?,
            transmission: Transmission::from_text(&transmission)
                .ok_or_else(|| vocabulary("car_transmission", transmission))?,
            price: row.price("car_price")?,
            description: row.opt_text("car_description")?,
            is_available: row.bool("car_is_available")?,
            brand_id: row.i64("car_brand_id")?,
            owner_id: row.i64("car_owner_id")?,
            created_at: row.timestamp("car_created_at")?,
            updated_at: row.timestamp("car_updated_at")?,
            brand: Brand::from_row(row, "brand")?,
            owner: User::from_row(row, "owner")?,
        })
    }
}

/// The caller's own `users` row (`owner_*`, with its `password_changed_at`) and the cars
/// joined to it by `<joined cars>` (`car_*`, `brand_*`).
fn from_caller(joined_cars: &str) -> String {
    format!(
        "SELECT {}, me.password_changed_at AS owner_password_changed_at, {}, {} \
         FROM users me {joined_cars} LEFT JOIN brands b ON b.id = c.brand_id",
        User::select_list("me", "owner"),
        select_list("c", "car", COLUMNS),
        Brand::select_list("b", "brand"),
    )
}

/// The proof in a row of `from_caller`.
fn prove(claim: &Claim, row: &Row) -> Result<Option<Caller>, DbError> {
    Ok(claim.prove(row.opt_timestamp("owner_password_changed_at")?))
}

/// What a lookup of one car by id found for the caller.
#[derive(Debug, Clone, PartialEq)]
pub enum Found {
    Yours(Box<Car>),
    /// Another user's car (403).
    NotYours,
    /// No such car (404).
    Missing,
}

/// The car with id `id` as the caller may see it, and the proof of the caller; `None`
/// when the claim is refused (401). One statement.
pub fn find_for(db: &Db, claim: &Claim, id: i64) -> Result<Option<(Caller, Found)>, DbError> {
    let row = db.query_opt(
        &format!(
            "{} WHERE me.id = $1",
            from_caller("LEFT JOIN cars c ON c.id = $2")
        ),
        &[claim.user_id().into(), id.into()],
    )?;
    let Some(row) = row else {
        return Ok(None);
    };
    let Some(caller) = prove(claim, &row)? else {
        return Ok(None);
    };
    let found = if row.is_null("car_id")? {
        Found::Missing
    } else if row.i64("car_owner_id")? != caller.id() {
        Found::NotYours
    } else {
        Found::Yours(Box::new(Car::from_row(&row)?))
    };
    Ok(Some((caller, found)))
}

/// The filters of a car list; all optional, all combined.
#[derive(Debug, Clone, Default)]
pub struct CarFilter {
    /// Case-insensitive, literal substring of the model or the plate.
    pub search: Option<String>,
    pub brand_id: Option<i64>,
    pub fuel_type: Option<FuelType>,
    pub transmission: Option<Transmission>,
    pub is_available: Option<bool>,
    pub min_price: Option<Price>,
    pub max_price: Option<Price>,
}

/// A page of the caller's own cars by id, and the proof of the caller; `None` when the
/// claim is refused (401). One statement: the page is joined to the caller's row, which
/// is there (with NULL cars) even when the page is empty.
pub fn list_for(
    db: &Db,
    claim: &Claim,
    filter: &CarFilter,
    page: Page,
) -> Result<Option<(Caller, Vec<Car>)>, DbError> {
    let mut filters = Filters::default();
    filters.add("c.owner_id = {}", claim.user_id());
    if let Some(search) = &filter.search {
        filters.add(
            "(lower(c.model) LIKE {} ESCAPE '\\' OR lower(c.plate) LIKE {} ESCAPE '\\')",
            contains_pattern(search),
        );
    }
    if let Some(brand_id) = filter.brand_id {
        filters.add("c.brand_id = {}", brand_id);
    }
    if let Some(fuel_type) = filter.fuel_type {
        filters.add("c.fuel_type = {}", fuel_type.as_str());
    }
    if let Some(transmission) = filter.transmission {
        filters.add("c.transmission = {}", transmission.as_str());
    }
    if let Some(is_available) = filter.is_available {
        filters.add("c.is_available = {}", is_available);
    }
    if let Some(min) = filter.min_price {
        filters.add("c.price >= {}", min);
    }
    if let Some(max) = filter.max_price {
        filters.add("c.price <= {}", max);
    }
    // The owner condition is parameter $1, which the outer query reuses.
    let (clauses, params) = filters.into_page("c.id", page.limit, page.offset);
    let rows = db.query(
        &format!(
            "{} WHERE me.id = $1 ORDER BY c.id",
            from_caller(&format!(
                "LEFT JOIN (SELECT c.* FROM cars c{clauses}) c ON c.owner_id = me.id"
            ))
        ),
        &params,
    )?;
    let Some(first) = rows.first() else {
        return Ok(None);
    };
    let Some(caller) = prove(claim, first)? else {
        return Ok(None);
    };
    let mut cars = Vec::with_capacity(rows.len());
    for row in &rows {
        if !row.is_null("car_id")? {
            cars.push(Car::from_row(row)?);
        }
    }
    Ok(Some((caller, cars)))
}

/// The `RETURNING` list of a write to `cars` that gives the whole car: the brand and the
/// owner come from scalar subqueries (both dialects allow them in `RETURNING`, neither
/// allows a join), so the write and the answer it reports are one statement.
fn returning() -> String {
    let joined = |table: &str, prefix: &str, key: &str, columns: &[&str]| {
        columns
            .iter()
            .map(|column| {
                format!(
                    "(SELECT j.{column} FROM {table} j WHERE j.id = cars.{key}) AS {prefix}_{column}"
                )
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!(
        " RETURNING {}, {}, {}",
        select_list("cars", "car", COLUMNS),
        joined("brands", "brand", "brand_id", Brand::columns()),
        joined("users", "owner", "owner_id", User::columns()),
    )
}

/// Stores a new car of the caller's, and returns it with the proof of the caller; `None`
/// when the claim is refused (401). The owner is the claim's account only when it exists
/// and accepts the token — else NULL, which `NOT NULL` refuses, so nothing is written.
/// A taken plate (`UniqueViolation`, checked before the foreign keys) or an unknown brand
/// (`ForeignKeyViolation`) is the error of a caller who exists.
pub fn insert(
    db: &Db,
    claim: &Claim,
    car: &NewCar,
    now: Timestamp,
) -> Result<Option<(Caller, Car)>, DbError> {
    let inserted = db.query_one(
        &format!(
            "INSERT INTO cars (model, factory_year, model_year, color, plate, fuel_type, \
             transmission, price, description, is_available, brand_id, owner_id, \
             created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, \
             (SELECT id FROM users WHERE id = $12 \
             AND (password_changed_at IS NULL OR password_changed_at < $14)), $13, $13){}",
            returning()
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
            claim.user_id().into(),
            now.into(),
            claim.issued_at().into(),
        ],
    );
    match inserted {
        Ok(row) => Ok(Some((claim.proven_by_write(), Car::from_row(&row)?))),
        Err(error @ DbError::Unavailable(_)) => Err(error),
        // Authentication comes first in the contract's order of checks.
        Err(error) => match users::confirm(db, claim)? {
            Some(_) => Err(error),
            None => Ok(None),
        },
    }
}

/// Writes only the values that differ from `current` (the caller's car, as `find_for`
/// returned it); nothing to change: `current`. `None`: the car was deleted meanwhile.
/// `owner_id` cannot change here. A taken plate or an unknown brand is refused by the
/// `UPDATE` itself, as for `insert`.
pub fn update(
    db: &Db,
    _caller: &Caller,
    current: &Car,
    changes: &CarChanges,
    now: Timestamp,
) -> Result<Option<Car>, DbError> {
    let mut update = Changes::default();
    update.set_if_changed(
        "model",
        changes.model.as_ref().map(|m| m.as_str()),
        current.model.as_str(),
    );
    update.set_if_changed(
        "factory_year",
        changes.factory_year.map(|y| y.get()),
        year_column(current.factory_year),
    );
    update.set_if_changed(
        "model_year",
        changes.model_year.map(|y| y.get()),
        year_column(current.model_year),
    );
    update.set_if_changed(
        "color",
        changes.color.as_ref().map(|c| c.as_str()),
        current.color.as_str(),
    );
    update.set_if_changed(
        "plate",
        changes.plate.as_ref().map(|p| p.as_str()),
        current.plate.as_str(),
    );
    update.set_if_changed(
        "fuel_type",
        changes.fuel_type.map(FuelType::as_str),
        current.fuel_type.as_str(),
    );
    update.set_if_changed(
        "transmission",
        changes.transmission.map(Transmission::as_str),
        current.transmission.as_str(),
    );
    update.set_if_changed("price", changes.price, current.price);
    update.set_if_changed(
        "description",
        changes
            .description
            .as_ref()
            .map(|d| d.as_ref().map(|d| d.as_str())),
        current.description.as_deref(),
    );
    update.set_if_changed("is_available", changes.is_available, current.is_available);
    update.set_if_changed("brand_id", changes.brand_id, current.brand_id);
    if update.is_empty() {
        return Ok(Some(current.clone()));
    }
    let (sql, params) = update.into_update("cars", current.id, now);
    db.query_opt(&format!("{sql}{}", returning()), &params)?
        .map(|row| Car::from_row(&row))
        .transpose()
}

/// A year as its `INTEGER` column takes it: PostgreSQL types parameters strictly.
fn year_column(year: i64) -> i32 {
    i32::try_from(year).unwrap_or_default()
}

/// Deletes one of the caller's cars.
pub fn delete(db: &Db, caller: &Caller, id: i64) -> Result<(), DbError> {
    db.execute(
        "DELETE FROM cars WHERE id = $1 AND owner_id = $2",
        &[id.into(), caller.id().into()],
    )
    .map(drop)
}
