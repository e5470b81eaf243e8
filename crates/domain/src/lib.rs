//! The car API's domain: input parsing with the old service's lax rules, newtypes that
//! can only hold valid values, and the FastAPI/Pydantic-compatible validation errors.
//!
//! Nothing here knows about HTTP or databases, so all of it is tested natively.

pub mod contract;
pub mod email;
pub mod enums;
pub mod forms;
pub mod input;
pub mod money;
pub mod query;
pub mod text;
pub mod time;
pub mod validation;

pub use email::Email;
pub use enums::{FuelType, Transmission};
pub use money::Price;
pub use text::{BrandName, CarModel, Color, Description, Password, Plate, Username, Year};
pub use time::Timestamp;
pub use validation::{FieldError, ValidationErrors};
