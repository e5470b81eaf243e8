//! Query-string and path parameters, with the same error shapes as bodies.

use serde_json::{Value, json};

use crate::enums::{FuelType, Transmission};
use crate::input::{bool_word, parse_int_text};
use crate::money::{Decimal, Rounding};
use crate::validation::{FieldError, Problem, Source, ValidationErrors};

/// A path id: an integer that fits 64 bits, else `int_parsing` at `["path", name]`.
pub fn path_id(name: &str, raw: &str) -> Result<i64, ValidationErrors> {
    parse_int_text(raw)
        .and_then(|id| i64::try_from(id).ok())
        .ok_or_else(|| {
            Problem::int_parsing()
                .at(Source::Path, name, json!(raw))
                .into()
        })
}

/// The parameters of one query string, read by name; the last occurrence wins, as in
/// FastAPI. Every failure is kept.
pub struct Query {
    pairs: Vec<(String, String)>,
    errors: ValidationErrors,
}

/// `offset` and `limit` of a list request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub offset: i64,
    pub limit: i64,
}

impl Query {
    pub fn parse(raw: &str) -> Query {
        Query {
            pairs: form_urlencoded::parse(raw.as_bytes())
                .into_owned()
                .collect(),
            errors: ValidationErrors::default(),
        }
    }

    fn raw(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn fail(&mut self, name: &str, problem: Problem, raw: &str) {
        self.errors
            .push(problem.at(Source::Query, name, json!(raw)));
    }

    /// An integer within `[min, max]` (either bound optional).
    pub fn int(&mut self, name: &str, min: Option<i64>, max: Option<i64>) -> Option<i64> {
        let raw = self.raw(name)?.to_owned();
        let Some(value) = parse_int_text(raw.trim()) else {
            self.fail(name, Problem::int_parsing(), &raw);
            return None;
        };
        if let Some(min) = min.filter(|m| value < i128::from(*m)) {
            self.fail(name, Problem::greater_than_equal(min), &raw);
            return None;
        }
        if let Some(max) = max.filter(|m| value > i128::from(*m)) {
            self.fail(name, Problem::less_than_equal(max), &raw);
            return None;
        }
        // Beyond 64 bits without a bound: no row can have such an id.
        Some(i64::try_from(value).unwrap_or(0))
    }

    /// `offset` and `limit`, with the contract's bounds and defaults.
    pub fn page(&mut self) -> Page {
        use crate::contract::{LIMIT, LIMIT_DEFAULT, OFFSET, OFFSET_DEFAULT};
        Page {
            offset: self
                .int("offset", OFFSET.min, OFFSET.max)
                .unwrap_or(OFFSET_DEFAULT),
            limit: self
                .int("limit", LIMIT.min, LIMIT.max)
                .unwrap_or(LIMIT_DEFAULT),
        }
    }

    pub fn bool(&mut self, name: &str) -> Option<bool> {
        let raw = self.raw(name)?.to_owned();
        let value = bool_word(&raw);
        if value.is_none() {
            self.fail(name, Problem::bool_parsing(), &raw);
        }
        value
    }

    /// Free text; an empty value means "no filter", as in the old service. U+0000 is
    /// refused like in bodies: no stored text can contain it, and PostgreSQL rejects it.
    pub fn text(&mut self, name: &str) -> Option<String> {
        let raw = self.raw(name).filter(|s| !s.is_empty())?.to_owned();
        if raw.contains('\0') {
            self.fail(
                name,
                Problem::rule("Texto não pode conter o caractere NUL"),
                &raw,
            );
            return None;
        }
        Some(raw)
    }

    pub fn fuel_type(&mut self) -> Option<FuelType> {
        self.vocabulary("fuel_type", FuelType::parse)
    }

    pub fn transmission(&mut self) -> Option<Transmission> {
        self.vocabulary("transmission", Transmission::parse)
    }

    fn vocabulary<T>(&mut self, name: &str, parse: fn(&Value) -> Result<T, Problem>) -> Option<T> {
        let raw = self.raw(name)?.to_owned();
        match parse(&json!(raw)) {
            Ok(value) => Some(value),
            Err(problem) => {
                self.fail(name, problem, &raw);
                None
            }
        }
    }

    /// A non-negative money bound in cents, rounded the way that keeps the filter exact
    /// for two-decimal prices (`min_price` up, `max_price` down).
    pub fn price_bound(&mut self, name: &str, rounding: Rounding) -> Option<i64> {
        let raw = self.raw(name)?.to_owned();
        match crate::money::decimal_input(&json!(raw)) {
            Ok(decimal) if decimal.is_negative() => {
                let problem = Problem::new(
                    "greater_than_equal",
                    "Input should be greater than or equal to 0",
                )
                .with_ctx(json!({ "ge": "0" }));
                self.fail(name, problem, &raw);
                None
            }
            Ok(decimal) => Some(clamp_cents(&decimal, rounding)),
            Err(problem) => {
                self.fail(name, problem, &raw);
                None
            }
        }
    }

    pub fn finish(self) -> Result<(), ValidationErrors> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(self.errors)
        }
    }

    /// Errors so far, for callers that merge them with others.
    pub fn into_errors(self) -> Vec<FieldError> {
        self.errors.0
    }
}

fn clamp_cents(decimal: &Decimal, rounding: Rounding) -> i64 {
    i64::try_from(decimal.to_cents(rounding)).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_defaults_and_bounds() {
        let mut q = Query::parse("");
        assert_eq!(
            q.page(),
            Page {
                offset: 0,
                limit: 100
            }
        );
        assert!(q.finish().is_ok());

        let mut q = Query::parse("offset=-1&limit=0");
        q.page();
        let errors = q.finish().unwrap_err().to_json();
        assert_eq!(errors["detail"][0]["type"], "greater_than_equal");
        assert_eq!(errors["detail"][0]["loc"], json!(["query", "offset"]));
        assert_eq!(errors["detail"][0]["input"], "-1");
        assert_eq!(errors["detail"][0]["ctx"], json!({"ge": 0}));
        assert_eq!(
            errors["detail"][1]["msg"],
            "Input should be greater than or equal to 1"
        );

        let mut q = Query::parse("limit=101");
        q.page();
        let errors = q.finish().unwrap_err().to_json();
        assert_eq!(errors["detail"][0]["type"], "less_than_equal");
        assert_eq!(errors["detail"][0]["ctx"], json!({"le": 100}));

        let mut q = Query::parse("limit=abc");
        q.page();
        assert_eq!(q.finish().unwrap_err().0[0].kind, "int_parsing");
    }

    #[test]
    fn path_ids() {
        assert_eq!(path_id("car_id", "42").unwrap(), 42);
        assert_eq!(path_id("car_id", "-3").unwrap(), -3);
        let err = path_id("car_id", "99999999999999999999").unwrap_err();
        assert_eq!(err.0[0].loc, vec![json!("path"), json!("car_id")]);
        assert_eq!(err.0[0].kind, "int_parsing");
        assert!(path_id("car_id", "abc").is_err());
    }

    #[test]
    fn filters() {
        let mut q = Query::parse(
            "fuel_type=flex&is_available=yes&search=a%25b&min_price=10.005&max_price=10.005",
        );
        assert_eq!(q.fuel_type(), Some(FuelType::Flex));
        assert_eq!(q.bool("is_available"), Some(true));
        assert_eq!(q.text("search").as_deref(), Some("a%b"));
        assert_eq!(q.price_bound("min_price", Rounding::Ceiling), Some(1001));
        assert_eq!(q.price_bound("max_price", Rounding::Floor), Some(1000));
        assert!(q.finish().is_ok());

        let mut q = Query::parse("search=a%00b");
        assert_eq!(q.text("search"), None);
        assert_eq!(q.finish().unwrap_err().0[0].kind, "value_error");

        let mut q = Query::parse("transmission=warp&min_price=-1&is_available=maybe");
        q.transmission();
        q.price_bound("min_price", Rounding::Ceiling);
        q.bool("is_available");
        let kinds: Vec<&str> = q.finish().unwrap_err().0.iter().map(|e| e.kind).collect();
        assert_eq!(kinds, vec!["enum", "greater_than_equal", "bool_parsing"]);
    }
}
