//! Bearer authentication: the `Authorization` header, the JWT, and the user behind it.

use domain::Timestamp;
use identity::{Jwt, JwtAlgorithm, TokenError};

use crate::ApiError;
use crate::config::variable;
use crate::context::Ctx;

/// The token of `Authorization: Bearer <token>`, with FastAPI's answers for the rest:
/// missing, empty or scheme-only → `Not authenticated`; another scheme → `Invalid
/// authentication credentials`. The scheme word is case-insensitive.
pub fn bearer_token(header: Option<&str>) -> Result<&str, ApiError> {
    let header = header.map(str::trim).unwrap_or_default();
    let (scheme, credentials) = header.split_once(' ').unwrap_or((header, ""));
    let credentials = credentials.trim();
    if scheme.is_empty() || credentials.is_empty() {
        return Err(ApiError::NotAuthenticated);
    }
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(ApiError::WrongScheme);
    }
    Ok(credentials)
}

/// The token codec configured by `jwt_secret_key`, `jwt_algorithm` and
/// `jwt_expiration_minutes`.
pub fn jwt() -> Result<Jwt, ApiError> {
    let secret = variable("jwt_secret_key").unwrap_or_default();
    let algorithm: JwtAlgorithm = variable("jwt_algorithm")
        .unwrap_or_else(|| "HS256".into())
        .parse()
        .map_err(|e| ApiError::Internal(format!("jwt_algorithm: {e}")))?;
    let minutes = variable("jwt_expiration_minutes")
        .and_then(|m| m.trim().parse().ok())
        .unwrap_or(30);
    Jwt::new(secret.as_bytes(), algorithm, minutes)
        .map_err(|e| ApiError::Internal(format!("jwt configuration: {e}")))
}

impl Ctx<'_> {
    /// The id of the calling user: a valid token whose user still exists. Runs before
    /// any validation of the request, as the contract orders it. Handlers that write
    /// use this form, so nothing is written for a deleted user.
    pub fn authenticate(&self) -> Result<i64, ApiError> {
        let user_id = self.authenticate_deferred()?;
        self.confirm_caller()?;
        Ok(user_id)
    }

    /// The id in a valid token, with the check that the user still exists left for
    /// later: either a row read by the handler proves it (`caller_exists`), or the
    /// pipeline runs the check after the handler and answers 401 if the user is gone —
    /// whatever the handler answered, so the contract's order of checks still holds.
    /// For reads, this saves a round trip on the hot path.
    pub fn authenticate_deferred(&self) -> Result<i64, ApiError> {
        let token = bearer_token(self.request.header("authorization"))?;
        let user_id = jwt()?
            .verify(token, Timestamp::now().unix_seconds())
            .map_err(|e| match e {
                TokenError::Expired => ApiError::TokenExpired,
                TokenError::Invalid => ApiError::InvalidToken,
            })?;
        self.set_user(user_id);
        Ok(user_id)
    }

    /// Checks (once) that the token's user still exists.
    pub fn confirm_caller(&self) -> Result<(), ApiError> {
        let Some(user_id) = self.user() else {
            return Ok(());
        };
        if self.user_confirmed() {
            return Ok(());
        }
        let exists = self
            .db()?
            .query_opt("SELECT 1 FROM users WHERE id = $1", &[user_id.into()])?;
        if exists.is_none() {
            return Err(ApiError::InvalidToken);
        }
        self.caller_exists();
        Ok(())
    }
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_cases() {
        assert!(matches!(
            bearer_token(None),
            Err(ApiError::NotAuthenticated)
        ));
        assert!(matches!(
            bearer_token(Some("")),
            Err(ApiError::NotAuthenticated)
        ));
        assert!(matches!(
            bearer_token(Some("Bearer")),
            Err(ApiError::NotAuthenticated)
        ));
        assert!(matches!(
            bearer_token(Some("abc.def.ghi")),
            Err(ApiError::NotAuthenticated)
        ));
        assert!(matches!(
            bearer_token(Some("Basic dXNlcjpwYXNz")),
            Err(ApiError::WrongScheme)
        ));
        assert_eq!(bearer_token(Some("bearer abc")).ok(), Some("abc"));
        assert_eq!(bearer_token(Some("Bearer  abc ")).ok(), Some("abc"));
    }
}
