//! The JSON shapes of the API's answers: plain `Serialize` structs, built from the
//! records of `repositories` (the shapes can differ from the rows: no password hash, a
//! car embeds its brand and owner) and documented for `/openapi.json`.

use domain::{FuelType, Price, Timestamp, Transmission};
use repositories::brands::Brand;
use repositories::cars::Car;
use repositories::users::User;
use serde::Serialize;
use utoipa::ToSchema;

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

impl From<User> for UserView {
    fn from(user: User) -> UserView {
        UserView {
            id: user.id,
            username: user.username,
            email: user.email,
            created_at: user.created_at,
            updated_at: user.updated_at,
        }
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

impl From<Brand> for BrandView {
    fn from(brand: Brand) -> BrandView {
        BrandView {
            id: brand.id,
            name: brand.name,
            description: brand.description,
            is_active: brand.is_active,
            created_at: brand.created_at,
            updated_at: brand.updated_at,
        }
    }
}

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
    pub fuel_type: FuelType,
    pub transmission: Transmission,
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
}

impl From<Car> for CarView {
    fn from(car: Car) -> CarView {
        CarView {
            id: car.id,
            model: car.model,
            factory_year: car.factory_year,
            model_year: car.model_year,
            color: car.color,
            plate: car.plate,
            fuel_type: car.fuel_type,
            transmission: car.transmission,
            price: car.price,
            description: car.description,
            is_available: car.is_available,
            brand_id: car.brand_id,
            owner_id: car.owner_id,
            created_at: car.created_at,
            updated_at: car.updated_at,
            brand: car.brand.into(),
            owner: car.owner.into(),
        }
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
