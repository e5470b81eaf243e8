//! Every way a request can fail, mapped to a status code and body in one place.

use domain::ValidationErrors;
use repositories::DbError;

use crate::http::HttpResponse;

#[derive(Debug)]
pub enum ApiError {
    /// 422 with Pydantic's `detail` list.
    Validation(ValidationErrors),
    /// 401 `Not authenticated`: no usable `Authorization` header.
    NotAuthenticated,
    /// 401 `Invalid authentication credentials`: a scheme other than Bearer.
    WrongScheme,
    /// 401 `Token has expired`.
    TokenExpired,
    /// 401 `Could not validate credentials`.
    InvalidToken,
    /// 401 `Incorrect email or password`.
    IncorrectLogin,
    /// 403 with the given message.
    Forbidden(&'static str),
    /// 404 with the given message.
    NotFound(&'static str),
    /// 400 with the given message (duplicates, references, rules about state).
    BadRequest(&'static str),
    /// 429 `Too many login attempts`, with `Retry-After` in seconds.
    TooManyLoginAttempts { retry_after: u64 },
    /// 413 `Request body too large`.
    PayloadTooLarge,
    /// 405 `Method Not Allowed`.
    MethodNotAllowed,
    /// 404 `Not Found` for a path no route serves.
    UnknownPath,
    /// 400 `Invalid host header`.
    InvalidHost,
    /// 400 `Disallowed CORS origin` for a preflight from an origin not allowed.
    DisallowedOrigin,
    /// 409: the first request with this `Idempotency-Key` is still running (or failed
    /// without releasing the key a moment ago). `Retry-After: 1`.
    IdempotencyKeyInFlight,
    /// 422: this `Idempotency-Key` was used with another body.
    IdempotencyKeyReused,
    /// 503 `Service unavailable`: a dependency failed. The cause is logged, never sent.
    Unavailable(String),
    /// 500 `Internal server error`: a bug. The cause is logged, never sent.
    Internal(String),
}

impl ApiError {
    pub fn status(&self) -> u16 {
        match self {
            ApiError::Validation(_) => 422,
            ApiError::NotAuthenticated
            | ApiError::WrongScheme
            | ApiError::TokenExpired
            | ApiError::InvalidToken
            | ApiError::IncorrectLogin => 401,
            ApiError::Forbidden(_) => 403,
            ApiError::NotFound(_) | ApiError::UnknownPath => 404,
            ApiError::BadRequest(_) | ApiError::InvalidHost | ApiError::DisallowedOrigin => 400,
            ApiError::TooManyLoginAttempts { .. } => 429,
            ApiError::PayloadTooLarge => 413,
            ApiError::MethodNotAllowed => 405,
            ApiError::IdempotencyKeyInFlight => 409,
            ApiError::IdempotencyKeyReused => 422,
            ApiError::Unavailable(_) => 503,
            ApiError::Internal(_) => 500,
        }
    }

    /// The token itself was refused (missing, wrong scheme, expired, invalid): there is
    /// no caller whose existence could still be checked.
    pub fn is_token_rejection(&self) -> bool {
        matches!(
            self,
            ApiError::NotAuthenticated
                | ApiError::WrongScheme
                | ApiError::TokenExpired
                | ApiError::InvalidToken
        )
    }

    /// What went wrong inside, for the log; `None` for client errors.
    pub fn cause(&self) -> Option<&str> {
        match self {
            ApiError::Unavailable(cause) | ApiError::Internal(cause) => Some(cause),
            _ => None,
        }
    }

    pub fn into_response(self) -> HttpResponse {
        let status = self.status();
        let message = match &self {
            ApiError::Validation(errors) => return HttpResponse::json(422, &errors.to_json()),
            ApiError::NotAuthenticated => "Not authenticated",
            ApiError::WrongScheme => "Invalid authentication credentials",
            ApiError::TokenExpired => "Token has expired",
            ApiError::InvalidToken => "Could not validate credentials",
            ApiError::IncorrectLogin => "Incorrect email or password",
            ApiError::Forbidden(m) | ApiError::NotFound(m) | ApiError::BadRequest(m) => m,
            ApiError::TooManyLoginAttempts { .. } => "Too many login attempts",
            ApiError::PayloadTooLarge => "Request body too large",
            ApiError::MethodNotAllowed => "Method Not Allowed",
            ApiError::UnknownPath => "Not Found",
            ApiError::InvalidHost => "Invalid host header",
            ApiError::DisallowedOrigin => "Disallowed CORS origin",
            ApiError::IdempotencyKeyInFlight => "Requisição com esta Idempotency-Key em andamento",
            ApiError::IdempotencyKeyReused => "Idempotency-Key já usada com outro corpo",
            ApiError::Unavailable(_) => "Service unavailable",
            ApiError::Internal(_) => "Internal server error",
        };
        let mut response = HttpResponse::detail(status, message);
        if status == 401 {
            response.set_header("www-authenticate", "Bearer");
        }
        if let ApiError::IdempotencyKeyInFlight = self {
            response.set_header("retry-after", "1");
        }
        if let ApiError::TooManyLoginAttempts { retry_after } = self {
            response.set_header("retry-after", retry_after.max(1).to_string());
        }
        response
    }
}

impl From<ValidationErrors> for ApiError {
    fn from(errors: ValidationErrors) -> Self {
        ApiError::Validation(errors)
    }
}

/// Database failures the handler did not turn into a client error: an outage is a 503,
/// anything else a 500.
impl From<DbError> for ApiError {
    fn from(error: DbError) -> Self {
        match error {
            DbError::Unavailable(_) => ApiError::Unavailable(error.to_string()),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

/// Turns a unique violation into the same 400 a sequential duplicate gets, so the loser
/// of a race sees what a late client would see; other errors pass through.
pub fn on_unique_violation(error: DbError, messages: &[(&str, &'static str)]) -> ApiError {
    if let DbError::UniqueViolation { constraint } = &error
        && let Some((_, message)) = messages.iter().find(|(name, _)| name == constraint)
    {
        return ApiError::BadRequest(message);
    }
    error.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unauthorized_carries_www_authenticate() {
        let response = ApiError::TokenExpired.into_response();
        assert_eq!(response.status, 401);
        assert_eq!(response.header("www-authenticate"), Some("Bearer"));
        assert_eq!(response.body, br#"{"detail":"Token has expired"}"#);
    }

    #[test]
    fn outages_hide_their_cause() {
        let response =
            ApiError::from(DbError::Unavailable("password=hunter2".into())).into_response();
        assert_eq!(response.status, 503);
        assert_eq!(response.body, br#"{"detail":"Service unavailable"}"#);
    }

    #[test]
    fn unique_violations_become_the_duplicate_message() {
        let error = on_unique_violation(
            DbError::UniqueViolation {
                constraint: "cars_plate_key".into(),
            },
            &[("cars_plate_key", "Placa já está em uso")],
        );
        assert!(matches!(
            error,
            ApiError::BadRequest("Placa já está em uso")
        ));
    }
}
