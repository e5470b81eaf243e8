//! The request bodies of the API, each parsed in one call that reports every failing
//! field in the order the old service's models declare them.

use serde_json::Value;
use utoipa::ToSchema;

use crate::email::Email;
use crate::enums::{FuelType, Transmission};
use crate::input::{Body, lax_bool, lax_int};
use crate::money::Price;
use crate::text::{BrandName, CarModel, Color, Description, Password, Plate, Username, Year};
use crate::validation::{Problem, ValidationErrors};

/// A reference to another row by id. Ids beyond 64 bits cannot exist, so they read as 0,
/// which matches no row, instead of failing the request.
fn reference_id(value: &Value) -> Result<i64, Problem> {
    let id = lax_int(value)?;
    Ok(i64::try_from(id).unwrap_or(0))
}

/// `POST /api/v1/users/`
#[derive(Debug, ToSchema)]
pub struct NewUser {
    #[schema(value_type = String, min_length = 3, max_length = 50)]
    pub username: Username,
    #[schema(value_type = String, format = Email, max_length = 254)]
    pub email: Email,
    #[schema(value_type = String, min_length = 6, max_length = 128)]
    pub password: Password,
}

impl NewUser {
    pub fn parse(raw: &[u8]) -> Result<Self, ValidationErrors> {
        let mut body = Body::parse(raw)?;
        let username = body.required("username", Username::parse);
        let email = body.required("email", Email::parse);
        let password = body.required("password", Password::parse);
        body.finish()?;
        match (username, email, password) {
            (Some(username), Some(email), Some(password)) => Ok(NewUser {
                username,
                email,
                password,
            }),
            _ => Err(ValidationErrors::default()),
        }
    }
}

/// `PUT /api/v1/users/{user_id}`: any subset of the fields; absent or null = unchanged.
#[derive(Debug, Default, ToSchema)]
pub struct UserChanges {
    #[schema(value_type = Option<String>, min_length = 3, max_length = 50)]
    pub username: Option<Username>,
    #[schema(value_type = Option<String>, format = Email, max_length = 254)]
    pub email: Option<Email>,
    #[schema(value_type = Option<String>, min_length = 6, max_length = 128)]
    pub password: Option<Password>,
}

impl UserChanges {
    pub fn parse(raw: &[u8]) -> Result<Self, ValidationErrors> {
        let mut body = Body::parse(raw)?;
        let changes = UserChanges {
            username: body.optional("username", Username::parse),
            email: body.optional("email", Email::parse),
            password: body.optional("password", Password::parse),
        };
        body.finish()?;
        Ok(changes)
    }
}

/// `POST /api/v1/auth/token`
#[derive(Debug, ToSchema)]
pub struct Credentials {
    #[schema(value_type = String, format = Email, max_length = 254)]
    pub email: Email,
    #[schema(value_type = String, min_length = 6, max_length = 128)]
    pub password: Password,
}

impl Credentials {
    pub fn parse(raw: &[u8]) -> Result<Self, ValidationErrors> {
        let mut body = Body::parse(raw)?;
        let email = body.required("email", Email::parse);
        let password = body.required("password", Password::parse_login);
        body.finish()?;
        match (email, password) {
            (Some(email), Some(password)) => Ok(Credentials { email, password }),
            _ => Err(ValidationErrors::default()),
        }
    }
}

/// `POST /api/v1/brands/`
#[derive(Debug, ToSchema)]
pub struct NewBrand {
    #[schema(value_type = String, min_length = 2, max_length = 50)]
    pub name: BrandName,
    #[schema(value_type = Option<String>, max_length = 5000)]
    pub description: Option<Description>,
    #[schema(default = true)]
    pub is_active: bool,
}

impl NewBrand {
    pub fn parse(raw: &[u8]) -> Result<Self, ValidationErrors> {
        let mut body = Body::parse(raw)?;
        let name = body.required("name", BrandName::parse);
        let description = body.optional("description", Description::parse);
        let is_active = body.optional("is_active", lax_bool).unwrap_or(true);
        body.finish()?;
        match name {
            Some(name) => Ok(NewBrand {
                name,
                description,
                is_active,
            }),
            None => Err(ValidationErrors::default()),
        }
    }
}

/// `PUT /api/v1/brands/{brand_id}`: `description: null` clears the description.
#[derive(Debug, Default, ToSchema)]
pub struct BrandChanges {
    #[schema(value_type = Option<String>, min_length = 2, max_length = 50)]
    pub name: Option<BrandName>,
    #[schema(value_type = Option<String>, max_length = 5000)]
    pub description: Option<Option<Description>>,
    pub is_active: Option<bool>,
}

impl BrandChanges {
    pub fn parse(raw: &[u8]) -> Result<Self, ValidationErrors> {
        let mut body = Body::parse(raw)?;
        let changes = BrandChanges {
            name: body.optional("name", BrandName::parse),
            description: body.nullable("description", Description::parse),
            is_active: body.optional("is_active", lax_bool),
        };
        body.finish()?;
        Ok(changes)
    }
}

/// `POST /api/v1/cars/`
#[derive(Debug, ToSchema)]
pub struct NewCar {
    #[schema(value_type = String, min_length = 2, max_length = 100)]
    pub model: CarModel,
    #[schema(value_type = i32, minimum = 1900, maximum = 2030)]
    pub factory_year: Year,
    #[schema(value_type = i32, minimum = 1900, maximum = 2030)]
    pub model_year: Year,
    #[schema(value_type = String, min_length = 2, max_length = 30)]
    pub color: Color,
    #[schema(value_type = String, min_length = 7, max_length = 10)]
    pub plate: Plate,
    pub fuel_type: FuelType,
    pub transmission: Transmission,
    #[schema(value_type = String, pattern = r"^\d+(\.\d+)?$", example = "85000.00")]
    pub price: Price,
    #[schema(value_type = Option<String>, max_length = 5000)]
    pub description: Option<Description>,
    #[schema(default = true)]
    pub is_available: bool,
    pub brand_id: i64,
}

impl NewCar {
    pub fn parse(raw: &[u8]) -> Result<Self, ValidationErrors> {
        let mut body = Body::parse(raw)?;
        let model = body.required("model", CarModel::parse);
        let factory_year = body.required("factory_year", Year::parse);
        let model_year = body.required("model_year", Year::parse);
        let color = body.required("color", Color::parse);
        let plate = body.required("plate", Plate::parse);
        let fuel_type = body.required("fuel_type", FuelType::parse);
        let transmission = body.required("transmission", Transmission::parse);
        let price = body.required("price", Price::parse);
        let description = body.optional("description", Description::parse);
        let is_available = body.optional("is_available", lax_bool).unwrap_or(true);
        let brand_id = body.required("brand_id", reference_id);
        body.finish()?;
        match (
            model,
            factory_year,
            model_year,
            color,
            plate,
            fuel_type,
            transmission,
            price,
            brand_id,
        ) {
            (
                Some(model),
                Some(factory_year),
                Some(model_year),
                Some(color),
                Some(plate),
                Some(fuel_type),
                Some(transmission),
                Some(price),
                Some(brand_id),
            ) => Ok(NewCar {
                model,
                factory_year,
                model_year,
                color,
                plate,
                fuel_type,
                transmission,
                price,
                description,
                is_available,
                brand_id,
            }),
            _ => Err(ValidationErrors::default()),
        }
    }
}

/// `PUT /api/v1/cars/{car_id}`: any create field; `owner_id` is ignored.
#[derive(Debug, Default, ToSchema)]
pub struct CarChanges {
    #[schema(value_type = Option<String>, min_length = 2, max_length = 100)]
    pub model: Option<CarModel>,
    #[schema(value_type = Option<i32>, minimum = 1900, maximum = 2030)]
    pub factory_year: Option<Year>,
    #[schema(value_type = Option<i32>, minimum = 1900, maximum = 2030)]
    pub model_year: Option<Year>,
    #[schema(value_type = Option<String>, min_length = 2, max_length = 30)]
    pub color: Option<Color>,
    #[schema(value_type = Option<String>, min_length = 7, max_length = 10)]
    pub plate: Option<Plate>,
    pub fuel_type: Option<FuelType>,
    pub transmission: Option<Transmission>,
    #[schema(value_type = Option<String>, pattern = r"^\d+(\.\d+)?$", example = "85000.00")]
    pub price: Option<Price>,
    #[schema(value_type = Option<String>, max_length = 5000)]
    pub description: Option<Option<Description>>,
    pub is_available: Option<bool>,
    pub brand_id: Option<i64>,
}

impl CarChanges {
    pub fn parse(raw: &[u8]) -> Result<Self, ValidationErrors> {
        let mut body = Body::parse(raw)?;
        let changes = CarChanges {
            model: body.optional("model", CarModel::parse),
            factory_year: body.optional("factory_year", Year::parse),
            model_year: body.optional("model_year", Year::parse),
            color: body.optional("color", Color::parse),
            plate: body.optional("plate", Plate::parse),
            fuel_type: body.optional("fuel_type", FuelType::parse),
            transmission: body.optional("transmission", Transmission::parse),
            price: body.optional("price", Price::parse),
            description: body.nullable("description", Description::parse),
            is_available: body.optional("is_available", lax_bool),
            brand_id: body.optional("brand_id", reference_id),
        };
        body.finish()?;
        Ok(changes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_failing_field_is_reported_in_model_order() {
        let errors = NewUser::parse(br#"{"username": "ab", "password": "123"}"#).unwrap_err();
        let summary: Vec<(&str, Value)> = errors
            .0
            .iter()
            .map(|e| (e.kind, e.loc[1].clone()))
            .collect();
        assert_eq!(
            summary,
            vec![
                ("value_error", json!("username")),
                ("missing", json!("email")),
                ("value_error", json!("password")),
            ]
        );
        let body = errors.to_json();
        assert_eq!(
            body["detail"][0]["msg"],
            "Value error, Username deve ter pelo menos 3 caracteres"
        );
        assert_eq!(body["detail"][0]["input"], "ab");
        assert_eq!(body["detail"][0]["ctx"], json!({"error": {}}));
        assert_eq!(
            body["detail"][1]["input"],
            json!({"username": "ab", "password": "123"})
        );
        assert!(body["detail"][1].get("ctx").is_none());
    }

    #[test]
    fn car_defaults_and_lax_values() {
        let car = NewCar::parse(
            br#"{"model": " Civic ", "factory_year": 2020.0, "model_year": "2021", "color": "Preto",
                "plate": "abc1d23", "fuel_type": "flex", "transmission": "cvt", "price": "85000",
                "brand_id": 1, "owner_id": 99, "unknown": true}"#,
        )
        .unwrap();
        assert_eq!(car.model.as_str(), "Civic");
        assert_eq!(car.factory_year.get(), 2020);
        assert_eq!(car.model_year.get(), 2021);
        assert_eq!(car.plate.as_str(), "ABC1D23");
        assert_eq!(car.price.to_string(), "85000.00");
        assert!(car.is_available);
        assert!(car.description.is_none());
    }

    #[test]
    fn updates_distinguish_absent_and_null() {
        let changes = BrandChanges::parse(br#"{"description": null}"#).unwrap();
        assert_eq!(changes.description, Some(None));
        assert!(changes.name.is_none());
        let changes = BrandChanges::parse(b"{}").unwrap();
        assert!(changes.description.is_none());
    }

    #[test]
    fn huge_reference_ids_match_nothing() {
        let changes = CarChanges::parse(br#"{"brand_id": 99999999999999999999999}"#).unwrap();
        assert_eq!(changes.brand_id, Some(0));
    }
}
