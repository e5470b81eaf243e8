//! The request bodies of the API, each parsed in one call that reports every failing
//! field in the order the old service's models declare them. Each lists its bounded
//! fields (`Bounded`) from `crate::contract`, which the parsers enforce and the OpenAPI
//! document states; the schema derives carry only types and formats.

use serde_json::Value;
use utoipa::ToSchema;

use crate::contract::{self, Bounded, Rule};
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

const USER_RULES: &[(&str, Rule)] = &[
    ("username", Rule::Chars(contract::USERNAME)),
    ("email", Rule::Chars(contract::EMAIL)),
    ("password", Rule::Chars(contract::PASSWORD)),
];

const BRAND_RULES: &[(&str, Rule)] = &[
    ("name", Rule::Chars(contract::BRAND_NAME)),
    ("description", Rule::Chars(contract::DESCRIPTION)),
];

const CAR_RULES: &[(&str, Rule)] = &[
    ("model", Rule::Chars(contract::CAR_MODEL)),
    ("factory_year", Rule::Ints(contract::YEAR)),
    ("model_year", Rule::Ints(contract::YEAR)),
    ("color", Rule::Chars(contract::COLOR)),
    ("plate", Rule::Chars(contract::PLATE)),
    ("description", Rule::Chars(contract::DESCRIPTION)),
];

/// `POST /api/v1/users/`
#[derive(Debug, ToSchema)]
pub struct NewUser {
    #[schema(value_type = String)]
    pub username: Username,
    #[schema(value_type = String, format = Email)]
    pub email: Email,
    #[schema(value_type = String)]
    pub password: Password,
}

impl Bounded for NewUser {
    const RULES: &'static [(&'static str, Rule)] = USER_RULES;
}

impl NewUser {
    pub fn parse(raw: &[u8]) -> Result<Self, ValidationErrors> {
        let mut body = Body::parse(raw)?;
        let username = body.required("username", Username::parse);
        let email = body.required("email", Email::parse);
        let password = body.required("password", Password::parse);
        let built = || {
            Some(NewUser {
                username: username?,
                email: email?,
                password: password?,
            })
        };
        body.finish(built())
    }
}

/// `PUT /api/v1/users/{user_id}`: any subset of the fields; absent or null = unchanged.
#[derive(Debug, Default, ToSchema)]
pub struct UserChanges {
    #[schema(value_type = Option<String>)]
    pub username: Option<Username>,
    #[schema(value_type = Option<String>, format = Email)]
    pub email: Option<Email>,
    #[schema(value_type = Option<String>)]
    pub password: Option<Password>,
}

impl Bounded for UserChanges {
    const RULES: &'static [(&'static str, Rule)] = USER_RULES;
}

impl UserChanges {
    pub fn parse(raw: &[u8]) -> Result<Self, ValidationErrors> {
        let mut body = Body::parse(raw)?;
        let changes = UserChanges {
            username: body.optional("username", Username::parse),
            email: body.optional("email", Email::parse),
            password: body.optional("password", Password::parse),
        };
        body.finish(Some(changes))
    }
}

/// `POST /api/v1/auth/token`
#[derive(Debug, ToSchema)]
pub struct Credentials {
    #[schema(value_type = String, format = Email)]
    pub email: Email,
    #[schema(value_type = String)]
    pub password: Password,
}

impl Bounded for Credentials {
    const RULES: &'static [(&'static str, Rule)] = &[
        ("email", Rule::Chars(contract::EMAIL)),
        ("password", Rule::Chars(contract::LOGIN_PASSWORD)),
    ];
}

impl Credentials {
    pub fn parse(raw: &[u8]) -> Result<Self, ValidationErrors> {
        let mut body = Body::parse(raw)?;
        let email = body.required("email", Email::parse);
        let password = body.required("password", Password::parse_login);
        let built = || {
            Some(Credentials {
                email: email?,
                password: password?,
            })
        };
        body.finish(built())
    }
}

/// `POST /api/v1/brands/`
#[derive(Debug, ToSchema)]
pub struct NewBrand {
    #[schema(value_type = String)]
    pub name: BrandName,
    #[schema(value_type = Option<String>)]
    pub description: Option<Description>,
    #[schema(default = true)]
    pub is_active: bool,
}

impl Bounded for NewBrand {
    const RULES: &'static [(&'static str, Rule)] = BRAND_RULES;
}

impl NewBrand {
    pub fn parse(raw: &[u8]) -> Result<Self, ValidationErrors> {
        let mut body = Body::parse(raw)?;
        let name = body.required("name", BrandName::parse);
        let description = body.optional("description", Description::parse);
        let is_active = body.optional("is_active", lax_bool).unwrap_or(true);
        let built = name.map(|name| NewBrand {
            name,
            description,
            is_active,
        });
        body.finish(built)
    }
}

/// `PUT /api/v1/brands/{brand_id}`: `description: null` clears the description.
#[derive(Debug, Default, ToSchema)]
pub struct BrandChanges {
    #[schema(value_type = Option<String>)]
    pub name: Option<BrandName>,
    #[schema(value_type = Option<String>)]
    pub description: Option<Option<Description>>,
    pub is_active: Option<bool>,
}

impl Bounded for BrandChanges {
    const RULES: &'static [(&'static str, Rule)] = BRAND_RULES;
}

impl BrandChanges {
    pub fn parse(raw: &[u8]) -> Result<Self, ValidationErrors> {
        let mut body = Body::parse(raw)?;
        let changes = BrandChanges {
            name: body.optional("name", BrandName::parse),
            description: body.nullable("description", Description::parse),
            is_active: body.optional("is_active", lax_bool),
        };
        body.finish(Some(changes))
    }
}

/// `POST /api/v1/cars/`
#[derive(Debug, ToSchema)]
pub struct NewCar {
    #[schema(value_type = String)]
    pub model: CarModel,
    #[schema(value_type = i32)]
    pub factory_year: Year,
    #[schema(value_type = i32)]
    pub model_year: Year,
    #[schema(value_type = String)]
    pub color: Color,
    #[schema(value_type = String)]
    pub plate: Plate,
    pub fuel_type: FuelType,
    pub transmission: Transmission,
    #[schema(value_type = String, pattern = r"^\d+(\.\d+)?$", example = "85000.00")]
    pub price: Price,
    #[schema(value_type = Option<String>)]
    pub description: Option<Description>,
    #[schema(default = true)]
    pub is_available: bool,
    pub brand_id: i64,
}

impl Bounded for NewCar {
    const RULES: &'static [(&'static str, Rule)] = CAR_RULES;
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
        let built = || {
            Some(NewCar {
                model: model?,
                factory_year: factory_year?,
                model_year: model_year?,
                color: color?,
                plate: plate?,
                fuel_type: fuel_type?,
                transmission: transmission?,
                price: price?,
                description,
                is_available,
                brand_id: brand_id?,
            })
        };
        body.finish(built())
    }
}

/// `PUT /api/v1/cars/{car_id}`: any create field; `owner_id` is ignored.
#[derive(Debug, Default, ToSchema)]
pub struct CarChanges {
    #[schema(value_type = Option<String>)]
    pub model: Option<CarModel>,
    #[schema(value_type = Option<i32>)]
    pub factory_year: Option<Year>,
    #[schema(value_type = Option<i32>)]
    pub model_year: Option<Year>,
    #[schema(value_type = Option<String>)]
    pub color: Option<Color>,
    #[schema(value_type = Option<String>)]
    pub plate: Option<Plate>,
    pub fuel_type: Option<FuelType>,
    pub transmission: Option<Transmission>,
    #[schema(value_type = Option<String>, pattern = r"^\d+(\.\d+)?$", example = "85000.00")]
    pub price: Option<Price>,
    #[schema(value_type = Option<String>)]
    pub description: Option<Option<Description>>,
    pub is_available: Option<bool>,
    pub brand_id: Option<i64>,
}

impl Bounded for CarChanges {
    const RULES: &'static [(&'static str, Rule)] = CAR_RULES;
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
        body.finish(Some(changes))
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
