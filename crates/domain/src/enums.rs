//! The closed vocabularies of a car.

use serde::Serialize;
use serde_json::{Value, json};

use crate::validation::Problem;

macro_rules! vocabulary {
    ($name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $(#[serde(rename = $text)] $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            /// The words a client sends, in declaration order (the document's `enum`).
            pub const NAMES: &'static [&'static str] = &[$($text),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            pub fn from_text(text: &str) -> Option<$name> {
                match text {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }

            /// Parses a body or query value; anything else is Pydantic's `enum` error.
            pub fn parse(value: &Value) -> Result<$name, Problem> {
                value.as_str().and_then($name::from_text).ok_or_else(|| {
                    let expected = expected($name::NAMES);
                    Problem::new("enum", format!("Input should be {expected}"))
                        .with_ctx(json!({ "expected": expected }))
                })
            }
        }
    };
}

vocabulary!(FuelType {
    Gasoline => "gasoline",
    Ethanol => "ethanol",
    Flex => "flex",
    Diesel => "diesel",
    Electric => "electric",
    Hybrid => "hybrid",
});

vocabulary!(Transmission {
    Manual => "manual",
    Automatic => "automatic",
    SemiAutomatic => "semi_automatic",
    Cvt => "cvt",
});

/// `'a', 'b' or 'c'`, as Pydantic lists an enum's members.
fn expected(items: &[&str]) -> String {
    let quoted: Vec<String> = items.iter().map(|i| format!("'{i}'")).collect();
    match quoted.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        Some((last, _)) => last.clone(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enum_error_lists_members() {
        let problem = FuelType::parse(&json!("plasma")).unwrap_err();
        assert_eq!(problem.kind, "enum");
        assert_eq!(
            problem.msg,
            "Input should be 'gasoline', 'ethanol', 'flex', 'diesel', 'electric' or 'hybrid'"
        );
        assert_eq!(
            problem.ctx,
            Some(
                json!({"expected": "'gasoline', 'ethanol', 'flex', 'diesel', 'electric' or 'hybrid'"})
            )
        );
        assert_eq!(
            Transmission::parse(&json!("semi_automatic")),
            Ok(Transmission::SemiAutomatic)
        );
        assert!(Transmission::parse(&json!(3)).is_err());
    }
}
