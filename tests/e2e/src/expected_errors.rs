//! The 422 entries a test expects ([`ExpectedError`], matched by [`Resp::assert_422`]) and
//! constructors for the usual ones.
//!
//! [`Resp::assert_422`]: crate::Resp::assert_422

use serde_json::{Value, json};

/// An expected validation error (matched on `type`, `loc` and `msg`).
#[derive(Clone, Debug)]
pub struct ExpectedError {
    pub ty: String,
    pub loc: Value,
    pub msg: String,
    /// `msg` is only a prefix (invalid e-mail reasons are free text).
    pub prefix: bool,
    /// An invalid e-mail entry: its `ctx` is not the empty one of other value errors.
    pub(crate) is_email: bool,
}

impl ExpectedError {
    pub fn new(ty: &str, loc: Value, msg: &str) -> ExpectedError {
        ExpectedError {
            ty: ty.into(),
            loc,
            msg: msg.into(),
            prefix: false,
            is_email: false,
        }
    }
    /// Whether the 422 entry `v` is this error.
    pub(crate) fn matches(&self, v: &Value) -> bool {
        let msg = v["msg"].as_str().unwrap_or_default();
        v["type"] == json!(self.ty)
            && v["loc"] == self.loc
            && if self.prefix {
                msg.starts_with(&self.msg) && msg.len() > self.msg.len()
            } else {
                msg == self.msg
            }
    }
}

/// A body rule failed: `value_error`, `["body", field]`, `Value error, <message>`.
pub fn value_error(field: &str, message: &str) -> ExpectedError {
    ExpectedError::new(
        "value_error",
        json!(["body", field]),
        &format!("Value error, {message}"),
    )
}

/// An invalid e-mail address in the body.
pub fn email_error(field: &str) -> ExpectedError {
    ExpectedError {
        prefix: true,
        is_email: true,
        ..ExpectedError::new(
            "value_error",
            json!(["body", field]),
            "value is not a valid email address: ",
        )
    }
}

/// A required body field is absent.
pub fn missing(field: &str) -> ExpectedError {
    ExpectedError::new("missing", json!(["body", field]), "Field required")
}

pub fn int_parsing(place: &str, name: &str) -> ExpectedError {
    ExpectedError::new(
        "int_parsing",
        json!([place, name]),
        "Input should be a valid integer, unable to parse string as an integer",
    )
}

pub fn int_from_float(place: &str, name: &str) -> ExpectedError {
    ExpectedError::new(
        "int_from_float",
        json!([place, name]),
        "Input should be a valid integer, got a number with a fractional part",
    )
}

pub fn bool_parsing(place: &str, name: &str) -> ExpectedError {
    ExpectedError::new(
        "bool_parsing",
        json!([place, name]),
        "Input should be a valid boolean, unable to interpret input",
    )
}

pub fn bool_type(place: &str, name: &str) -> ExpectedError {
    ExpectedError::new(
        "bool_type",
        json!([place, name]),
        "Input should be a valid boolean",
    )
}

pub const FUEL_TYPES: &str = "'gasoline', 'ethanol', 'flex', 'diesel', 'electric' or 'hybrid'";
pub const TRANSMISSIONS: &str = "'manual', 'automatic', 'semi_automatic' or 'cvt'";

pub fn enum_error(place: &str, name: &str, expected: &str) -> ExpectedError {
    ExpectedError::new(
        "enum",
        json!([place, name]),
        &format!("Input should be {expected}"),
    )
}

pub fn ge(name: &str, n: i64) -> ExpectedError {
    ExpectedError::new(
        "greater_than_equal",
        json!(["query", name]),
        &format!("Input should be greater than or equal to {n}"),
    )
}

pub fn le(name: &str, n: i64) -> ExpectedError {
    ExpectedError::new(
        "less_than_equal",
        json!(["query", name]),
        &format!("Input should be less than or equal to {n}"),
    )
}
