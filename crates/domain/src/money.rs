//! Exact decimal money. Prices are parsed from the JSON text itself (never through a
//! binary float), rounded to cents half away from zero as PostgreSQL's NUMERIC(10,2)
//! does, and held as an integer number of cents.

use std::fmt;

use serde::{Serialize, Serializer};
use serde_json::Value;

use crate::validation::Problem;

/// The largest price NUMERIC(10,2) can hold, in cents.
pub const MAX_PRICE_CENTS: i64 = 9_999_999_999;

/// A finite decimal number: `digits × 10^exponent`, with its sign.
#[derive(Debug, Clone, PartialEq)]
pub struct Decimal {
    negative: bool,
    /// Decimal digits without leading zeros ("" for zero).
    digits: String,
    exponent: i64,
}

/// Which way to go when a value falls between two cents.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Rounding {
    HalfAwayFromZero,
    Floor,
    Ceiling,
}

impl Decimal {
    /// Parses `[+-]digits[.digits][e[+-]digits]`; `None` for anything else (including
    /// NaN and infinities, which callers report separately).
    pub fn parse(text: &str) -> Option<Decimal> {
        let bytes = text.as_bytes();
        let mut i = 0;
        let negative = match bytes.first() {
            Some(b'-') => {
                i += 1;
                true
            }
            Some(b'+') => {
                i += 1;
                false
            }
            _ => false,
        };
        let mut digits = String::new();
        let mut exponent: i64 = 0;
        let mut seen_digit = false;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            digits.push(bytes[i] as char);
            seen_digit = true;
            i += 1;
        }
        if i < bytes.len() && bytes[i] == b'.' {
            i += 1;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                digits.push(bytes[i] as char);
                exponent -= 1;
                seen_digit = true;
                i += 1;
            }
        }
        if !seen_digit {
            return None;
        }
        if i < bytes.len() && (bytes[i] == b'e' || bytes[i] == b'E') {
            i += 1;
            let exp_negative = match bytes.get(i) {
                Some(b'-') => {
                    i += 1;
                    true
                }
                Some(b'+') => {
                    i += 1;
                    false
                }
                _ => false,
            };
            let start = i;
            let mut value: i64 = 0;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                // Saturate: 1e999999999999 is simply "too large".
                value = value
                    .saturating_mul(10)
                    .saturating_add(i64::from(bytes[i] - b'0'));
                i += 1;
            }
            if i == start {
                return None;
            }
            let value = value.min(1_000_000_000);
            exponent = exponent.saturating_add(if exp_negative { -value } else { value });
        }
        if i != bytes.len() {
            return None;
        }
        let digits = digits.trim_start_matches('0').to_string();
        Some(Decimal {
            negative: negative && !digits.is_empty(),
            digits,
            exponent,
        })
    }

    /// The value as an integer when it has no fractional part; saturates beyond i128.
    pub fn to_integer(&self) -> Option<i128> {
        let magnitude = self.scaled(0, Rounding::Floor);
        let exact = self.digits.is_empty() || self.exponent >= 0 || {
            let cut = (-self.exponent) as usize;
            cut <= self.digits.len()
                && self.digits[self.digits.len() - cut..]
                    .bytes()
                    .all(|b| b == b'0')
        };
        if !exact {
            return None;
        }
        Some(if self.negative { -magnitude } else { magnitude })
    }

    /// The value in cents, rounded as asked; saturates far beyond any valid price.
    pub fn to_cents(&self, rounding: Rounding) -> i128 {
        let mode = match (rounding, self.negative) {
            (Rounding::HalfAwayFromZero, _) => Rounding::HalfAwayFromZero,
            // Rounding the magnitude: floor of a negative number rounds it away from zero.
            (Rounding::Floor, true) => Rounding::Ceiling,
            (Rounding::Ceiling, true) => Rounding::Floor,
            (other, false) => other,
        };
        let magnitude = self.scaled(2, mode);
        if self.negative { -magnitude } else { magnitude }
    }

    pub fn is_negative(&self) -> bool {
        self.negative
    }

    /// |value| × 10^shift as an integer, rounded per `mode` on the magnitude.
    fn scaled(&self, shift: i64, mode: Rounding) -> i128 {
        if self.digits.is_empty() {
            return 0;
        }
        let exp = self.exponent.saturating_add(shift);
        if exp >= 0 {
            if self.digits.len() as i64 + exp > 36 {
                return i128::MAX;
            }
            let mut value: i128 = self.digits.parse().unwrap_or(i128::MAX);
            for _ in 0..exp {
                value = value.saturating_mul(10);
            }
            return value;
        }
        let drop = (-exp) as u64;
        let len = self.digits.len() as u64;
        let (kept, dropped) = if drop >= len {
            ("", self.digits.as_str())
        } else {
            self.digits.split_at((len - drop) as usize)
        };
        if kept.len() > 36 {
            return i128::MAX;
        }
        let base: i128 = if kept.is_empty() {
            0
        } else {
            kept.parse().unwrap_or(i128::MAX)
        };
        // Digits dropped beyond the stored ones (drop > len) are leading zeros.
        let first_dropped = if drop > len {
            0
        } else {
            dropped.as_bytes()[0] - b'0'
        };
        let any_dropped = dropped.bytes().any(|b| b != b'0');
        let round_up = match mode {
            Rounding::HalfAwayFromZero => first_dropped >= 5,
            Rounding::Ceiling => any_dropped,
            Rounding::Floor => false,
        };
        if round_up {
            base.saturating_add(1)
        } else {
            base
        }
    }
}

/// A car's price: more than zero and at most 99,999,999.99, in cents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Price(i64);

impl Price {
    /// Parses a JSON number or numeric string, rounds to cents, checks the bounds.
    pub fn parse(value: &Value) -> Result<Price, Problem> {
        let decimal = decimal_input(value)?;
        let cents = decimal.to_cents(Rounding::HalfAwayFromZero);
        if cents <= 0 {
            return Err(Problem::rule("Preço deve ser maior que zero"));
        }
        if cents > i128::from(MAX_PRICE_CENTS) {
            return Err(Problem::rule("Preço deve ser no máximo 99999999.99"));
        }
        Ok(Price(cents as i64))
    }

    /// A price read back from the database (`"12.35"` from PostgreSQL, cents from SQLite).
    pub fn from_cents(cents: i64) -> Price {
        Price(cents)
    }

    pub fn from_decimal_text(text: &str) -> Option<Price> {
        let cents = Decimal::parse(text)?.to_cents(Rounding::HalfAwayFromZero);
        i64::try_from(cents).ok().map(Price)
    }

    pub fn cents(self) -> i64 {
        self.0
    }
}

impl fmt::Display for Price {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        write!(f, "{sign}{}.{:02}", abs / 100, abs % 100)
    }
}

/// Prices leave the API as strings with exactly two decimals: `"85000.00"`.
impl Serialize for Price {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// A decimal as Pydantic's `Decimal` accepts it: a JSON number or a numeric string.
pub fn decimal_input(value: &Value) -> Result<Decimal, Problem> {
    let text = match value {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.trim().to_string(),
        _ => {
            return Err(Problem::new(
                "decimal_type",
                "Decimal input should be an integer, float, string or Decimal object",
            ));
        }
    };
    if let Some(decimal) = Decimal::parse(&text) {
        return Ok(decimal);
    }
    let word = text.trim_start_matches(['+', '-']).to_ascii_lowercase();
    if matches!(word.as_str(), "nan" | "snan" | "inf" | "infinity") {
        return Err(Problem::new(
            "finite_number",
            "Input should be a finite number",
        ));
    }
    Err(Problem::new(
        "decimal_parsing",
        "Input should be a valid decimal",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn price(text: &str) -> Result<String, String> {
        let value: Value = serde_json::from_str(text).unwrap();
        Price::parse(&value)
            .map(|p| p.to_string())
            .map_err(|p| p.msg)
    }

    #[test]
    fn rounds_half_away_from_zero_exactly() {
        assert_eq!(price("12.345"), Ok("12.35".into()));
        assert_eq!(price("12.344999"), Ok("12.34".into()));
        assert_eq!(price("85000"), Ok("85000.00".into()));
        assert_eq!(price("\"85000\""), Ok("85000.00".into()));
        assert_eq!(price("0.005"), Ok("0.01".into()));
        assert_eq!(price("1.5e2"), Ok("150.00".into()));
        assert_eq!(price("99999999.99"), Ok("99999999.99".into()));
        // A binary float would make this 0.1 + ...; the text is exact.
        assert_eq!(price("0.1"), Ok("0.10".into()));
    }

    #[test]
    fn bounds_after_rounding() {
        assert_eq!(
            price("0.004"),
            Err("Value error, Preço deve ser maior que zero".into())
        );
        assert_eq!(
            price("0"),
            Err("Value error, Preço deve ser maior que zero".into())
        );
        assert_eq!(
            price("-5"),
            Err("Value error, Preço deve ser maior que zero".into())
        );
        assert_eq!(
            price("99999999.995"),
            Err("Value error, Preço deve ser no máximo 99999999.99".into())
        );
        assert_eq!(
            price("1e400"),
            Err("Value error, Preço deve ser no máximo 99999999.99".into())
        );
        assert_eq!(
            price("1e-400"),
            Err("Value error, Preço deve ser maior que zero".into())
        );
    }

    #[test]
    fn non_numbers_are_rejected() {
        let kind = |v: Value| Price::parse(&v).unwrap_err().kind;
        assert_eq!(kind(json!("NaN")), "finite_number");
        assert_eq!(kind(json!("Infinity")), "finite_number");
        assert_eq!(kind(json!("abc")), "decimal_parsing");
        assert_eq!(kind(json!(true)), "decimal_type");
        assert_eq!(kind(json!(null)), "decimal_type");
    }

    #[test]
    fn directed_rounding_for_filters() {
        let d = Decimal::parse("10.005").unwrap();
        assert_eq!(d.to_cents(Rounding::Floor), 1000);
        assert_eq!(d.to_cents(Rounding::Ceiling), 1001);
        assert_eq!(
            Decimal::parse("10.00").unwrap().to_cents(Rounding::Ceiling),
            1000
        );
    }

    #[test]
    fn integers_from_decimal_text() {
        assert_eq!(Decimal::parse("2020.0").unwrap().to_integer(), Some(2020));
        assert_eq!(Decimal::parse("2.02e3").unwrap().to_integer(), Some(2020));
        assert_eq!(Decimal::parse("2020.5").unwrap().to_integer(), None);
        assert_eq!(Decimal::parse("-3").unwrap().to_integer(), Some(-3));
        assert_eq!(Decimal::parse("0.0").unwrap().to_integer(), Some(0));
    }

    #[test]
    fn reads_database_text() {
        assert_eq!(Price::from_decimal_text("12.35").unwrap().cents(), 1235);
        assert_eq!(
            Price::from_decimal_text("85000").unwrap().to_string(),
            "85000.00"
        );
    }
}
