//! Validation errors in the exact shape FastAPI answers with status 422:
//! `{"detail": [{"type", "loc", "msg", "input", "ctx"?}]}`.

use serde::Serialize;
use serde_json::{Value, json};

/// Where a bad value came from: the first element of `loc`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Body,
    Query,
    Path,
    Header,
}

impl Source {
    fn as_str(self) -> &'static str {
        match self {
            Source::Body => "body",
            Source::Query => "query",
            Source::Path => "path",
            Source::Header => "header",
        }
    }
}

/// What is wrong with one value, before we know where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub kind: &'static str,
    pub msg: String,
    pub ctx: Option<Value>,
}

impl Problem {
    pub fn new(kind: &'static str, msg: impl Into<String>) -> Self {
        Problem {
            kind,
            msg: msg.into(),
            ctx: None,
        }
    }

    /// A rule of ours failed (`field_validator` in the old service): Pydantic prefixes
    /// the message with "Value error, " and sets `ctx.error` to an empty object.
    pub fn rule(message: &str) -> Self {
        Problem {
            kind: "value_error",
            msg: format!("Value error, {message}"),
            ctx: Some(json!({ "error": {} })),
        }
    }

    pub fn with_ctx(mut self, ctx: Value) -> Self {
        self.ctx = Some(ctx);
        self
    }

    pub fn missing() -> Self {
        Problem::new("missing", "Field required")
    }

    pub fn string_type() -> Self {
        Problem::new("string_type", "Input should be a valid string")
    }

    pub fn int_type() -> Self {
        Problem::new("int_type", "Input should be a valid integer")
    }

    pub fn int_parsing() -> Self {
        Problem::new(
            "int_parsing",
            "Input should be a valid integer, unable to parse string as an integer",
        )
    }

    pub fn int_from_float() -> Self {
        Problem::new(
            "int_from_float",
            "Input should be a valid integer, got a number with a fractional part",
        )
    }

    pub fn bool_parsing() -> Self {
        Problem::new(
            "bool_parsing",
            "Input should be a valid boolean, unable to interpret input",
        )
    }

    pub fn bool_type() -> Self {
        Problem::new("bool_type", "Input should be a valid boolean")
    }

    pub fn greater_than_equal(limit: i64) -> Self {
        Problem::new(
            "greater_than_equal",
            format!("Input should be greater than or equal to {limit}"),
        )
        .with_ctx(json!({ "ge": limit }))
    }

    pub fn less_than_equal(limit: i64) -> Self {
        Problem::new(
            "less_than_equal",
            format!("Input should be less than or equal to {limit}"),
        )
        .with_ctx(json!({ "le": limit }))
    }

    /// Places this problem at `loc` with the offending `input` as received.
    pub fn at(self, source: Source, field: &str, input: Value) -> FieldError {
        FieldError {
            kind: self.kind,
            loc: vec![json!(source.as_str()), json!(field)],
            msg: self.msg,
            input,
            ctx: self.ctx,
        }
    }
}

/// One entry of the 422 `detail` list.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[schema(as = ValidationError)]
pub struct FieldError {
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// `["body" | "query" | "path", field]`, or `["body", offset]` for bad JSON.
    #[schema(value_type = Vec<Object>)]
    pub loc: Vec<Value>,
    pub msg: String,
    /// The offending value as received.
    #[schema(value_type = Object)]
    pub input: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub ctx: Option<Value>,
}

/// Every failing field of one request (all of them, not only the first).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ValidationErrors(pub Vec<FieldError>);

impl ValidationErrors {
    pub fn one(error: FieldError) -> Self {
        ValidationErrors(vec![error])
    }

    pub fn push(&mut self, error: FieldError) {
        self.0.push(error);
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `{"detail": [...]}`, the body of the 422 response.
    pub fn to_json(&self) -> Value {
        json!({ "detail": self.0 })
    }
}

impl From<FieldError> for ValidationErrors {
    fn from(error: FieldError) -> Self {
        ValidationErrors::one(error)
    }
}
