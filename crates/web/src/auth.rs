//! Bearer authentication: the `Authorization` header, the JWT, and the user behind it.

use domain::Timestamp;
use identity::{Jwt, JwtAlgorithm, TokenError};
use repositories::{Caller, Claim, users};

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
    if is_placeholder_secret(&secret) {
        return Err(ApiError::Unavailable(
            "jwt_secret_key is a placeholder from the repository's examples: set a random \
             secret of 32 bytes or more (e.g. `openssl rand -base64 48`)"
                .into(),
        ));
    }
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

/// The example secrets shipped in this repository (deploy/.env.example,
/// k8s/secret.template.yaml): anyone can read them, so they sign nothing.
const SHIPPED_EXAMPLE_SECRETS: &[&str] = &[
    "CHANGE_ME_AT_LEAST_32_RANDOM_BYTES",
    "CHANGE_ME_AT_LEAST_32_RANDOM_BYTES_xxxxxxxxxxxx",
];

/// A secret that contains `CHANGE_ME` (any case) or is one of the shipped examples.
pub fn is_placeholder_secret(secret: &str) -> bool {
    let secret = secret.trim();
    secret.to_ascii_uppercase().contains("CHANGE_ME") || SHIPPED_EXAMPLE_SECRETS.contains(&secret)
}

/// `jwt_session_max_hours` (default 24): how long after its `auth_time` a session can
/// still be refreshed.
pub fn session_max_seconds() -> i64 {
    variable("jwt_session_max_hours")
        .and_then(|h| h.trim().parse::<i64>().ok())
        .filter(|h| *h >= 1)
        .unwrap_or(24)
        .saturating_mul(3600)
}

impl Ctx<'_> {
    /// What the request's bearer token claims: verified (signature, expiry), not yet
    /// checked against the database. Routes that read or write through a statement that
    /// proves the caller by itself (`repositories::cars`) start here; the rest use
    /// [`Ctx::caller`]. Verified once per request (the Idempotency-Key layer asks first).
    pub fn claim(&self) -> Result<Claim, ApiError> {
        if let Some(verified) = self.token() {
            return Ok(Claim::new(verified.user_id, verified.issued_at));
        }
        let token = bearer_token(self.request.header("authorization"))?;
        let verified = jwt()?
            .verify_session(token, Timestamp::now().unix_seconds())
            .map_err(|e| match e {
                TokenError::Expired => ApiError::TokenExpired,
                TokenError::Invalid => ApiError::InvalidToken,
            })?;
        self.set_token(verified);
        Ok(Claim::new(verified.user_id, verified.issued_at))
    }

    /// The proof that the caller's account exists and accepts the token (a deleted
    /// account, or a password changed since the token was issued, gets 401). Ids are
    /// never reused, so a deleted user's token never finds another account.
    pub fn caller(&self) -> Result<Caller, ApiError> {
        let claim = self.claim()?;
        self.prove(&claim)
    }

    /// The proof for a claim, by its own statement.
    pub fn prove(&self, claim: &Claim) -> Result<Caller, ApiError> {
        users::confirm(self.db()?, claim)?.ok_or(ApiError::InvalidToken)
    }

    /// Reads the request's input (path, query, body) for a handler whose proof of the
    /// caller comes later, from its one statement. When the input is refused, the caller
    /// is proven first, so a refused account still gets its 401 before any 422: the
    /// contract checks authentication first.
    pub fn input<T>(
        &self,
        claim: &Claim,
        read: impl FnOnce(&Self) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        read(self).or_else(|refused| {
            self.prove(claim)?;
            Err(refused)
        })
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
