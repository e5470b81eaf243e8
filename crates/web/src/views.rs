//! The JSON shapes of users and brands, shared by every component that shows them (a
//! car embeds both). Each reads its columns from a row at a given offset, in the order
//! of its `COLUMNS` constant.

use domain::Price;
use domain::Timestamp;
use serde::Serialize;
use storage::{DbError, Row};
use utoipa::ToSchema;

/// The columns of a user, in `UserView` order.
const USER_COLUMNS: &[&str] = &["id", "username", "email", "created_at", "updated_at"];

/// The columns of a brand, in `BrandView` order.
const BRAND_COLUMNS: &[&str] = &[
    "id",
    "name",
    "description",
    "is_active",
    "created_at",
    "updated_at",
];

/// A user in public form: the password hash never leaves the database.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = User)]
pub struct UserView {
    pub id: i64,
    pub username: String,
    pub email: String,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
}

impl UserView {
    /// The columns, for `SELECT` lists (qualified with `alias.` when given).
    pub fn columns(alias: &str) -> String {
        qualify(alias, USER_COLUMNS)
    }

    pub const WIDTH: usize = USER_COLUMNS.len();

    pub fn from_row(row: &Row, at: usize) -> Result<UserView, DbError> {
        Ok(UserView {
            id: row.i64(at)?,
            username: row.text(at + 1)?,
            email: row.text(at + 2)?,
            created_at: row.timestamp(at + 3)?,
            updated_at: row.timestamp(at + 4)?,
        })
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = Brand)]
pub struct BrandView {
    pub id: i64,
    pub name: String,
    pub description: Option<String>,
    pub is_active: bool,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
}

impl BrandView {
    pub fn columns(alias: &str) -> String {
        qualify(alias, BRAND_COLUMNS)
    }

    pub const WIDTH: usize = BRAND_COLUMNS.len();

    pub fn from_row(row: &Row, at: usize) -> Result<BrandView, DbError> {
        Ok(BrandView {
            id: row.i64(at)?,
            name: row.text(at + 1)?,
            description: row.opt_text(at + 2)?,
            is_active: row.bool(at + 3)?,
            created_at: row.timestamp(at + 4)?,
            updated_at: row.timestamp(at + 5)?,
        })
    }
}

/// `a.x, a.y` for alias `a`, or `x, y` for none.
pub fn qualify(alias: &str, columns: &[&str]) -> String {
    columns
        .iter()
        .map(|c| {
            if alias.is_empty() {
                (*c).to_string()
            } else {
                format!("{alias}.{c}")
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The columns of a car, in `CarView` order.
pub const CAR_COLUMNS: &[&str] = &[
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

/// A car with its brand and owner, as every car endpoint returns it.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Car)]
pub struct CarView {
    pub id: i64,
    pub model: String,
    pub factory_year: i64,
    pub model_year: i64,
    pub color: String,
    pub plate: String,
    pub fuel_type: domain::FuelType,
    pub transmission: domain::Transmission,
    /// Exact money with two decimals, as a string.
    #[schema(value_type = String, example = "85000.00")]
    pub price: Price,
    pub description: Option<String>,
    pub is_available: bool,
    pub brand_id: i64,
    pub owner_id: i64,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
    pub brand: BrandView,
    pub owner: UserView,
    /// The owner's `password_changed_at`: lets a car read also settle the caller's
    /// authentication (`Ctx::caller_seen`). Never serialised.
    #[serde(skip)]
    #[schema(ignore)]
    pub owner_password_changed_at: Option<Timestamp>,
}

impl CarView {
    /// Reads `c.*, b.*, u.*` as selected by `CarView::select()`.
    pub fn from_row(row: &Row) -> Result<CarView, DbError> {
        let brand_at = CAR_COLUMNS.len();
        let vocabulary = |index: usize, text: String| {
            DbError::Other(format!("column {index}: unknown value {text:?}"))
        };
        let fuel_type = row.text(6)?;
        let transmission = row.text(7)?;
        Ok(CarView {
            id: row.i64(0)?,
            model: row.text(1)?,
            factory_year: row.i64(2)?,
            model_year: row.i64(3)?,
            color: row.text(4)?,
            plate: row.text(5)?,
            fuel_type: domain::FuelType::from_text(&fuel_type)
                .ok_or_else(|| vocabulary(6, fuel_type))?,
            transmission: domain::Transmission::from_text(&transmission)
                .ok_or_else(|| vocabulary(7, transmission))?,
            price: row.price(8)?,
            description: row.opt_text(9)?,
            is_available: row.bool(10)?,
            brand_id: row.i64(11)?,
            owner_id: row.i64(12)?,
            created_at: row.timestamp(13)?,
            updated_at: row.timestamp(14)?,
            brand: BrandView::from_row(row, brand_at)?,
            owner: UserView::from_row(row, brand_at + BrandView::WIDTH)?,
            owner_password_changed_at: row
                .opt_timestamp(brand_at + BrandView::WIDTH + UserView::WIDTH)?,
        })
    }

    /// The `RETURNING` list of an `INSERT` or `UPDATE` of `cars` that gives the whole car,
    /// in `select()`'s column order: the write and the answer it reports are one
    /// statement, so a write is never stored without its answer being computed (scalar
    /// subqueries: both dialects allow them in `RETURNING`, and neither allows a join).
    pub fn returning() -> String {
        let joined = |table: &str, alias: &str, key: &str, columns: &[&str]| {
            columns
                .iter()
                .map(|c| {
                    format!(
                        "(SELECT {alias}.{c} FROM {table} {alias} WHERE {alias}.id = cars.{key})"
                    )
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        format!(
            " RETURNING {}, {}, {}, {}",
            qualify("cars", CAR_COLUMNS),
            joined("brands", "b", "brand_id", BRAND_COLUMNS),
            joined("users", "u", "owner_id", USER_COLUMNS),
            joined("users", "u", "owner_id", &["password_changed_at"]),
        )
    }

    /// `SELECT <car>, <brand>, <owner> FROM cars c JOIN …`: a whole car in one round trip.
    pub fn select() -> String {
        format!(
            "SELECT {}, {}, {}, u.password_changed_at FROM cars c \
             JOIN brands b ON b.id = c.brand_id JOIN users u ON u.id = c.owner_id",
            qualify("c", CAR_COLUMNS),
            BrandView::columns("b"),
            UserView::columns("u"),
        )
    }
}

/// A page of a list endpoint: the items and the `offset`/`limit` echoed back.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserPage {
    pub users: Vec<UserView>,
    pub offset: i64,
    pub limit: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BrandPage {
    pub brands: Vec<BrandView>,
    pub offset: i64,
    pub limit: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CarPage {
    pub cars: Vec<CarView>,
    pub offset: i64,
    pub limit: i64,
}

/// The answer of a login or a refresh.
#[derive(Debug, Serialize, ToSchema)]
pub struct Token {
    pub access_token: String,
    /// Always `bearer`.
    pub token_type: &'static str,
}

/// `GET /health_check`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// Always `ok`: the process answers.
    pub status: &'static str,
    #[schema(value_type = String, format = DateTime)]
    pub timestamp: Timestamp,
}

/// `GET /health_check/detailed`: `ok` when every check is, else `degraded` (503).
#[derive(Debug, Serialize, ToSchema)]
pub struct HealthDetailed {
    pub status: &'static str,
    #[schema(value_type = String, format = DateTime)]
    pub timestamp: Timestamp,
    /// `database` (status, latency_ms, error?), `migrations` (status, applied,
    /// expected) and `key_value` (status).
    #[schema(value_type = Object)]
    pub checks: serde_json::Value,
}
