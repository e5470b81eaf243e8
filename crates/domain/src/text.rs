//! Text and number newtypes with the old service's rules and messages. Each can only be
//! built through `parse`, so a value of the type is valid by construction. Lengths count
//! Unicode characters, not bytes.

use std::fmt;

use serde::Serialize;
use serde_json::Value;

use crate::contract::{self, Chars};
use crate::input::{lax_int, lax_str};
use crate::validation::Problem;

/// PostgreSQL text cannot hold U+0000; refuse it up front instead of failing in the
/// database.
fn reject_nul(text: &str) -> Result<(), Problem> {
    if text.contains('\0') {
        Err(Problem::rule("Texto não pode conter o caractere NUL"))
    } else {
        Ok(())
    }
}

/// `rule`'s bounds, with the old service's messages ("{noun} deve ter pelo menos 3
/// caracteres"), built from the same numbers the document shows.
fn within(text: &str, rule: Chars, noun: &str) -> Result<(), Problem> {
    let length = text.chars().count();
    if let Some(min) = rule.min.filter(|min| length < *min) {
        return Err(Problem::rule(&format!(
            "{noun} deve ter pelo menos {min} caracteres"
        )));
    }
    if let Some(max) = rule.max.filter(|max| length > *max) {
        return Err(Problem::rule(&format!(
            "{noun} deve ter no máximo {max} caracteres"
        )));
    }
    Ok(())
}

macro_rules! text_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// A value read back from the database, which only ever stored valid ones.
            pub fn from_stored(text: String) -> Self {
                $name(text)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

text_type!(
    /// 3 to 50 characters, kept as typed.
    Username
);
text_type!(
    /// A clear-text password on its way to the hasher: 6 to 128 characters.
    Password
);
text_type!(
    /// Trimmed; 2 to 50 characters.
    BrandName
);
text_type!(
    /// Free text of at most 5000 characters.
    Description
);
text_type!(
    /// Trimmed; 2 to 100 characters.
    CarModel
);
text_type!(
    /// Trimmed; 2 to 30 characters.
    Color
);
text_type!(
    /// Trimmed and upper-cased; 7 to 10 characters.
    Plate
);

impl Username {
    pub fn parse(value: &Value) -> Result<Self, Problem> {
        let text = lax_str(value)?;
        reject_nul(text)?;
        within(text, contract::USERNAME, "Username")?;
        Ok(Username(text.to_owned()))
    }
}

impl Password {
    /// A new password (registration, change): 6 to 128 characters.
    pub fn parse(value: &Value) -> Result<Self, Problem> {
        let text = lax_str(value)?;
        within(text, contract::PASSWORD, "Senha")?;
        Ok(Password(text.to_owned()))
    }

    /// A password typed at login: only the minimum applies, as in the old service.
    pub fn parse_login(value: &Value) -> Result<Self, Problem> {
        let text = lax_str(value)?;
        within(text, contract::LOGIN_PASSWORD, "Senha")?;
        Ok(Password(text.to_owned()))
    }
}

impl BrandName {
    pub fn parse(value: &Value) -> Result<Self, Problem> {
        let text = lax_str(value)?.trim();
        reject_nul(text)?;
        within(text, contract::BRAND_NAME, "Nome da marca")?;
        Ok(BrandName(text.to_owned()))
    }
}

impl Description {
    pub fn parse(value: &Value) -> Result<Self, Problem> {
        let text = lax_str(value)?;
        reject_nul(text)?;
        within(text, contract::DESCRIPTION, "Descrição")?;
        Ok(Description(text.to_owned()))
    }
}

impl CarModel {
    pub fn parse(value: &Value) -> Result<Self, Problem> {
        let text = lax_str(value)?.trim();
        reject_nul(text)?;
        within(text, contract::CAR_MODEL, "Modelo")?;
        Ok(CarModel(text.to_owned()))
    }
}

impl Color {
    pub fn parse(value: &Value) -> Result<Self, Problem> {
        let text = lax_str(value)?.trim();
        reject_nul(text)?;
        within(text, contract::COLOR, "Cor")?;
        Ok(Color(text.to_owned()))
    }
}

impl Plate {
    pub fn parse(value: &Value) -> Result<Self, Problem> {
        let text = lax_str(value)?.trim().to_uppercase();
        reject_nul(&text)?;
        // One message for both ends, as in the old service.
        let length = text.chars().count();
        let (min, max) = (contract::PLATE.min, contract::PLATE.max);
        if min.is_some_and(|min| length < min) || max.is_some_and(|max| length > max) {
            return Err(Problem::rule(&format!(
                "Placa deve ter entre {} e {} caracteres",
                min.unwrap_or(0),
                max.unwrap_or(usize::MAX)
            )));
        }
        Ok(Plate(text))
    }
}

/// A factory or model year (`contract::YEAR`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Year(i32);

impl Year {
    pub fn parse(value: &Value) -> Result<Self, Problem> {
        let year = lax_int(value)?;
        let (min, max) = (
            contract::YEAR.min.unwrap_or(i64::MIN),
            contract::YEAR.max.unwrap_or(i64::MAX),
        );
        if year < i128::from(min) || year > i128::from(max) {
            return Err(Problem::rule(&format!(
                "Ano deve estar entre {min} e {max}"
            )));
        }
        Ok(Year(year as i32))
    }

    pub fn from_stored(year: i64) -> Self {
        Year(year as i32)
    }

    pub fn get(self) -> i32 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn msg<T: std::fmt::Debug>(r: Result<T, Problem>) -> String {
        r.unwrap_err().msg
    }

    #[test]
    fn username_bounds_count_characters() {
        assert_eq!(
            msg(Username::parse(&json!("ab"))),
            "Value error, Username deve ter pelo menos 3 caracteres"
        );
        assert_eq!(
            msg(Username::parse(&json!("a".repeat(51)))),
            "Value error, Username deve ter no máximo 50 caracteres"
        );
        // 50 multi-byte characters are 100 bytes but a valid username.
        assert!(Username::parse(&json!("ç".repeat(50))).is_ok());
        assert_eq!(
            Username::parse(&json!(123)).unwrap_err().kind,
            "string_type"
        );
        assert!(Username::parse(&json!("a\u{0}bc")).is_err());
    }

    #[test]
    fn passwords() {
        assert_eq!(
            msg(Password::parse(&json!("12345"))),
            "Value error, Senha deve ter pelo menos 6 caracteres"
        );
        assert_eq!(
            msg(Password::parse(&json!("x".repeat(129)))),
            "Value error, Senha deve ter no máximo 128 caracteres"
        );
        assert!(Password::parse_login(&json!("x".repeat(500))).is_ok());
    }

    #[test]
    fn trimming_and_case() {
        assert_eq!(
            BrandName::parse(&json!("  Fiat  ")).unwrap().as_str(),
            "Fiat"
        );
        assert_eq!(
            msg(BrandName::parse(&json!("  F "))),
            "Value error, Nome da marca deve ter pelo menos 2 caracteres"
        );
        assert_eq!(
            Plate::parse(&json!(" abc1d23 ")).unwrap().as_str(),
            "ABC1D23"
        );
        assert_eq!(
            msg(Plate::parse(&json!("abc"))),
            "Value error, Placa deve ter entre 7 e 10 caracteres"
        );
        assert_eq!(
            msg(CarModel::parse(&json!(" x "))),
            "Value error, Modelo deve ter pelo menos 2 caracteres"
        );
        assert_eq!(
            msg(Color::parse(&json!("c".repeat(31)))),
            "Value error, Cor deve ter no máximo 30 caracteres"
        );
        assert!(Description::parse(&json!("d".repeat(5001))).is_err());
        assert!(Description::parse(&json!("d".repeat(5000))).is_ok());
    }

    #[test]
    fn years() {
        assert_eq!(Year::parse(&json!("2020")).unwrap().get(), 2020);
        assert_eq!(
            msg(Year::parse(&json!(1899))),
            "Value error, Ano deve estar entre 1900 e 2030"
        );
        let huge: Value = serde_json::from_str("1e30").unwrap();
        assert_eq!(
            msg(Year::parse(&huge)),
            "Value error, Ano deve estar entre 1900 e 2030"
        );
    }
}
