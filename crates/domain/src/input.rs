//! Lax input, as the old service (Pydantic in lax mode) accepted it, and the JSON body
//! reader that collects every failing field.

use serde_json::{Map, Value, json};

use crate::validation::{FieldError, Problem, Source, ValidationErrors};

/// An integer as received: `2020`, `2020.0` and `"2020"` are all 2020. Values beyond
/// 64 bits are kept (saturated) so that range rules can still report them precisely.
pub fn lax_int(value: &Value) -> Result<i128, Problem> {
    match value {
        Value::Number(n) => number_to_int(&n.to_string()).ok_or_else(Problem::int_from_float),
        Value::String(s) => parse_int_text(s.trim()).ok_or_else(Problem::int_parsing),
        _ => Err(Problem::int_type()),
    }
}

/// Decimal integer text, optionally signed; saturates far beyond i64.
pub fn parse_int_text(text: &str) -> Option<i128> {
    let (negative, digits) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit() || b == b'_') {
        return None;
    }
    if digits.starts_with('_') || digits.ends_with('_') || digits.contains("__") {
        return None;
    }
    let mut value: i128 = 0;
    for b in digits.bytes().filter(|b| *b != b'_') {
        value = value
            .saturating_mul(10)
            .saturating_add(i128::from(b - b'0'));
    }
    Some(if negative { -value } else { value })
}

/// A JSON number's text as an integer when it has no fractional part (`2020.0`, `2.02e3`).
fn number_to_int(text: &str) -> Option<i128> {
    let decimal = crate::money::Decimal::parse(text)?;
    decimal.to_integer()
}

/// A boolean as received: JSON `true`/`false`, the integers 0 and 1, and the words
/// Pydantic accepts (`"true"`, `"yes"`, `"on"`, `"1"`, ... in any case).
pub fn lax_bool(value: &Value) -> Result<bool, Problem> {
    match value {
        Value::Bool(b) => Ok(*b),
        Value::String(s) => bool_word(s).ok_or_else(Problem::bool_parsing),
        Value::Number(n) => match n.to_string().as_str() {
            "0" | "0.0" => Ok(false),
            "1" | "1.0" => Ok(true),
            _ => Err(Problem::bool_parsing()),
        },
        _ => Err(Problem::bool_type()),
    }
}

/// The words Pydantic reads as booleans (query strings use the same).
pub fn bool_word(word: &str) -> Option<bool> {
    match word.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" | "on" | "1" | "t" | "y" => Some(true),
        "false" | "no" | "off" | "0" | "f" | "n" => Some(false),
        _ => None,
    }
}

/// Strings are not coerced from other JSON types (Pydantic's `string_type`).
pub fn lax_str(value: &Value) -> Result<&str, Problem> {
    value.as_str().ok_or_else(Problem::string_type)
}

/// A request body that is a JSON object, read field by field. Every failure is kept, so
/// the 422 lists all failing fields in the order the model declares them.
pub struct Body {
    object: Map<String, Value>,
    errors: ValidationErrors,
}

impl Body {
    /// Parses the raw body: not JSON → `json_invalid`; JSON but not an object →
    /// `model_attributes_type`; empty → the whole body is `missing`.
    pub fn parse(raw: &[u8]) -> Result<Body, ValidationErrors> {
        if raw.iter().all(u8::is_ascii_whitespace) {
            return Err(ValidationErrors::one(FieldError {
                kind: "missing",
                loc: vec![json!("body")],
                msg: "Field required".into(),
                input: Value::Null,
                ctx: None,
            }));
        }
        let value: Value = serde_json::from_slice(raw).map_err(|e| json_invalid(raw, &e))?;
        match value {
            Value::Object(object) => Ok(Body {
                object,
                errors: ValidationErrors::default(),
            }),
            other => Err(ValidationErrors::one(FieldError {
                kind: "model_attributes_type",
                loc: vec![json!("body")],
                msg: "Input should be a valid dictionary or object to extract fields from".into(),
                input: other,
                ctx: None,
            })),
        }
    }

    /// A required field: absent (or null) is `missing`, otherwise `parse` decides.
    pub fn required<T>(
        &mut self,
        name: &str,
        parse: impl FnOnce(&Value) -> Result<T, Problem>,
    ) -> Option<T> {
        match self.object.get(name) {
            None => {
                let input = Value::Object(self.object.clone());
                self.errors
                    .push(Problem::missing().at(Source::Body, name, input));
                None
            }
            Some(value) => self.check(name, value.clone(), parse),
        }
    }

    /// An optional field: absent or null is `None` (for updates: "leave unchanged").
    pub fn optional<T>(
        &mut self,
        name: &str,
        parse: impl FnOnce(&Value) -> Result<T, Problem>,
    ) -> Option<T> {
        match self.object.get(name) {
            None | Some(Value::Null) => None,
            Some(value) => self.check(name, value.clone(), parse),
        }
    }

    /// A nullable field of an update: absent → `None` (unchanged), null → `Some(None)`
    /// (cleared), a value → `Some(Some(v))`.
    pub fn nullable<T>(
        &mut self,
        name: &str,
        parse: impl FnOnce(&Value) -> Result<T, Problem>,
    ) -> Option<Option<T>> {
        match self.object.get(name) {
            None => None,
            Some(Value::Null) => Some(None),
            Some(value) => self.check(name, value.clone(), parse).map(Some),
        }
    }

    fn check<T>(
        &mut self,
        name: &str,
        value: Value,
        parse: impl FnOnce(&Value) -> Result<T, Problem>,
    ) -> Option<T> {
        match parse(&value) {
            Ok(parsed) => Some(parsed),
            Err(problem) => {
                self.errors.push(problem.at(Source::Body, name, value));
                None
            }
        }
    }

    /// `Ok(())` when every field read so far was valid.
    /// The parsed body, or every failure. A field that failed left `None` behind and an
    /// error here, so `built` is `None` only when there are errors to answer with.
    pub fn finish<T>(self, built: Option<T>) -> Result<T, ValidationErrors> {
        match built {
            Some(value) if self.errors.is_empty() => Ok(value),
            _ => Err(self.errors),
        }
    }
}

/// FastAPI's answer to a body that is not JSON: `loc` holds the character offset of the
/// error (Python's `JSONDecodeError.pos`).
fn json_invalid(raw: &[u8], error: &serde_json::Error) -> ValidationErrors {
    let offset = char_offset(raw, error.line(), error.column());
    ValidationErrors::one(FieldError {
        kind: "json_invalid",
        loc: vec![json!("body"), json!(offset)],
        msg: "JSON decode error".into(),
        input: json!({}),
        ctx: Some(json!({ "error": error_reason(error) })),
    })
}

/// serde_json's message without its " at line L column C" suffix.
fn error_reason(error: &serde_json::Error) -> String {
    let text = error.to_string();
    match text.find(" at line ") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

fn char_offset(raw: &[u8], line: usize, column: usize) -> usize {
    let mut line_start = 0;
    let mut current = 1;
    for (i, b) in raw.iter().enumerate() {
        if current == line {
            break;
        }
        if *b == b'\n' {
            current += 1;
            line_start = i + 1;
        }
    }
    let end = (line_start + column.saturating_sub(1)).min(raw.len());
    String::from_utf8_lossy(&raw[..end]).chars().count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(text: &str) -> Body {
        Body::parse(text.as_bytes()).unwrap_or_else(|_| panic!("valid object"))
    }

    #[test]
    fn integers_are_lax() {
        assert_eq!(lax_int(&json!(2020)), Ok(2020));
        assert_eq!(lax_int(&serde_json::from_str("2020.0").unwrap()), Ok(2020));
        assert_eq!(lax_int(&json!("2020")), Ok(2020));
        assert_eq!(lax_int(&json!("abc")).unwrap_err().kind, "int_parsing");
        let fraction: Value = serde_json::from_str("2020.5").unwrap();
        assert_eq!(lax_int(&fraction).unwrap_err().kind, "int_from_float");
        assert_eq!(lax_int(&json!(true)).unwrap_err().kind, "int_type");
        assert_eq!(lax_int(&json!(null)).unwrap_err().kind, "int_type");
        let huge: Value = serde_json::from_str("99999999999999999999999").unwrap();
        assert!(lax_int(&huge).unwrap() > i128::from(i64::MAX));
    }

    #[test]
    fn booleans_are_lax() {
        for word in ["true", "YES", "on", "1", "True"] {
            assert_eq!(lax_bool(&json!(word)), Ok(true), "{word}");
        }
        for word in ["false", "No", "OFF", "0"] {
            assert_eq!(lax_bool(&json!(word)), Ok(false), "{word}");
        }
        assert_eq!(lax_bool(&json!("maybe")).unwrap_err().kind, "bool_parsing");
        assert_eq!(lax_bool(&json!([])).unwrap_err().kind, "bool_type");
        assert_eq!(lax_bool(&json!(1)), Ok(true));
    }

    #[test]
    fn body_shapes() {
        let err = Body::parse(b"{\"a\": ").err().unwrap();
        assert_eq!(err.0[0].kind, "json_invalid");
        assert_eq!(err.0[0].loc[0], json!("body"));
        assert_eq!(err.0[0].msg, "JSON decode error");
        let err = Body::parse(b"[1,2]").err().unwrap();
        assert_eq!(err.0[0].kind, "model_attributes_type");
        assert_eq!(err.0[0].loc, vec![json!("body")]);
        assert_eq!(err.0[0].input, json!([1, 2]));
        let err = Body::parse(b"").err().unwrap();
        assert_eq!(err.0[0].kind, "missing");
        let err = Body::parse(&[b'"', 0xff, b'"']).err().unwrap();
        assert_eq!(err.0[0].kind, "json_invalid");
    }

    #[test]
    fn deep_nesting_is_a_client_error() {
        let deep = "[".repeat(10_000) + &"]".repeat(10_000);
        let err = Body::parse(deep.as_bytes()).err().unwrap();
        assert_eq!(err.0[0].kind, "json_invalid");
    }

    #[test]
    fn missing_fields_report_the_whole_body_as_input() {
        let mut b = body(r#"{"x": 1}"#);
        assert!(
            b.required("name", |v| lax_str(v).map(str::to_owned))
                .is_none()
        );
        let errors = b.finish(Some(())).unwrap_err();
        assert_eq!(errors.0[0].kind, "missing");
        assert_eq!(errors.0[0].loc, vec![json!("body"), json!("name")]);
        assert_eq!(errors.0[0].input, json!({"x": 1}));
    }

    #[test]
    fn nullable_distinguishes_absent_from_null() {
        let mut b = body(r#"{"d": null}"#);
        assert_eq!(
            b.nullable("d", |v| lax_str(v).map(str::to_owned)),
            Some(None)
        );
        assert_eq!(b.nullable("e", |v| lax_str(v).map(str::to_owned)), None);
        assert!(b.finish(Some(())).is_ok());
    }
}
