//! HMAC-signed JWTs (HS256/HS384/HS512) on top of `jwt-compact`.
//!
//! `jwt-compact` checks the header `alg` against the algorithm we validate with and
//! verifies the HMAC; the claim rules of the API contract (integer `sub`, mandatory
//! `exp`, `iat` not in the future) are enforced here, after the signature, so that
//! nothing an attacker writes into an unsigned token can change which error we report.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use jwt_compact::alg::{Hs256, Hs256Key, Hs384, Hs384Key, Hs512, Hs512Key};
use jwt_compact::{Algorithm, AlgorithmExt, Claims, Header, Token, UntrustedToken};
use serde::{Deserialize, Serialize};

/// Shortest accepted HMAC secret, in bytes. RFC 7518 §3.2 requires a key at least as
/// long as the hash output; 32 bytes covers HS256 and is what our deployment demands.
pub const MIN_SECRET_LEN: usize = 32;

/// Longest token we are willing to parse. Real tokens are ~150 bytes; the cap keeps a
/// hostile `Authorization` header from costing base64/JSON work.
pub const MAX_TOKEN_LEN: usize = 8 * 1024;

/// How far in the future `iat` may be before the token is refused: tolerates clock
/// skew between replicas, refuses tokens minted "later" than they could exist.
const IAT_LEEWAY_SECS: i64 = 60;

/// Upper bound on `expiration_minutes` (100 years): keeps `now + ttl` far from any
/// overflow and inside chrono's date range, while never limiting a sane config.
const MAX_EXPIRATION_MINUTES: i64 = 100 * 366 * 24 * 60;

/// The HMAC algorithms the service can be configured with (`jwt_algorithm`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum JwtAlgorithm {
    /// HMAC-SHA256, the default.
    #[default]
    Hs256,
    /// HMAC-SHA384.
    Hs384,
    /// HMAC-SHA512.
    Hs512,
}

impl JwtAlgorithm {
    /// The `alg` header value, exactly as it appears in tokens.
    pub fn as_str(self) -> &'static str {
        match self {
            JwtAlgorithm::Hs256 => "HS256",
            JwtAlgorithm::Hs384 => "HS384",
            JwtAlgorithm::Hs512 => "HS512",
        }
    }
}

impl fmt::Display for JwtAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for JwtAlgorithm {
    type Err = ConfigError;

    /// Case-insensitive (`HS256`, `hs256`), surrounding whitespace ignored: this parses
    /// an operator's configuration, not a token header (token `alg` is compared
    /// exactly, see [`Jwt::verify`]).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_uppercase().as_str() {
            "HS256" => Ok(JwtAlgorithm::Hs256),
            "HS384" => Ok(JwtAlgorithm::Hs384),
            "HS512" => Ok(JwtAlgorithm::Hs512),
            _ => Err(ConfigError::UnknownAlgorithm(s.to_owned())),
        }
    }
}

/// Why a [`Jwt`] could not be configured. These are startup/config errors, never
/// caused by a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigError {
    /// The secret is shorter than [`MIN_SECRET_LEN`] bytes.
    SecretTooShort,
    /// `jwt_algorithm` is not one of HS256, HS384, HS512 (the offending value).
    UnknownAlgorithm(String),
    /// `expiration_minutes` is below 1 (or absurdly large).
    BadExpiration,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::SecretTooShort => write!(
                f,
                "JWT secret key is too short: at least {MIN_SECRET_LEN} bytes are required"
            ),
            ConfigError::UnknownAlgorithm(alg) => write!(
                f,
                "unknown JWT algorithm {alg:?}: expected HS256, HS384 or HS512"
            ),
            ConfigError::BadExpiration => write!(
                f,
                "JWT expiration must be between 1 and {MAX_EXPIRATION_MINUTES} minutes"
            ),
        }
    }
}

impl std::error::Error for ConfigError {}

/// Why a token was refused. Only two outcomes, because the API distinguishes only
/// "Token has expired" from "Could not validate credentials"; finer reasons would
/// just leak information to an attacker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenError {
    /// Genuine (correctly signed) token whose `exp` has passed.
    Expired,
    /// Anything else: malformed, forged, wrong algorithm, bad claims.
    Invalid,
}

impl fmt::Display for TokenError {
    /// The exact `detail` strings of the API contract for the two 401 cases.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TokenError::Expired => "Token has expired",
            TokenError::Invalid => "Could not validate credentials",
        })
    }
}

impl std::error::Error for TokenError {}

/// The key, typed by algorithm so a token can only be checked with the configured one.
#[derive(Clone)]
enum Key {
    Hs256(Hs256Key),
    Hs384(Hs384Key),
    Hs512(Hs512Key),
}

/// Issues and verifies the service's access tokens.
///
/// Cheap to build (no key stretching), so a component may build one per request from
/// its variables.
#[derive(Clone)]
pub struct Jwt {
    key: Key,
    expiration_secs: i64,
}

impl fmt::Debug for Jwt {
    /// Never prints the secret.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Jwt")
            .field("algorithm", &self.algorithm())
            .field("expiration_secs", &self.expiration_secs)
            .finish_non_exhaustive()
    }
}

/// What we sign besides `iat` and `exp`: `sub` as a decimal string, as the old service
/// and RFC 7519 (StringOrURI) have it, and `auth_time` (seconds: when the password was
/// checked, copied by refresh) — the contract's claims, no others.
#[derive(Serialize)]
struct IssuedClaims {
    sub: String,
    auth_time: i64,
}

/// What we read back: `sub` kept as raw JSON so both the string form and a bare JSON
/// integer can be accepted, and anything else refused, by our own rules.
#[derive(Deserialize)]
struct ReceivedClaims {
    #[serde(default)]
    sub: Option<serde_json::Value>,
    #[serde(default)]
    auth_time: Option<serde_json::Value>,
}

/// A verified token: whose it is, when it was issued and when its session began.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifiedToken {
    pub user_id: i64,
    /// Seconds: `iat`, or for tokens without it (the old service's) `exp` minus the
    /// configured lifetime.
    pub issued_at: i64,
    /// Seconds: `auth_time`, or for tokens without it the issue time.
    pub auth_time: i64,
}

impl Jwt {
    /// Builds the issuer/verifier from the `jwt_secret_key`, `jwt_algorithm` and
    /// `jwt_expiration_minutes` variables.
    ///
    /// The secret must be at least [`MIN_SECRET_LEN`] bytes (a short HMAC key can be
    /// brute-forced offline from any token); `expiration_minutes` must be >= 1.
    pub fn new(
        secret: &[u8],
        algorithm: JwtAlgorithm,
        expiration_minutes: i64,
    ) -> Result<Jwt, ConfigError> {
        if secret.len() < MIN_SECRET_LEN {
            return Err(ConfigError::SecretTooShort);
        }
        if !(1..=MAX_EXPIRATION_MINUTES).contains(&expiration_minutes) {
            return Err(ConfigError::BadExpiration);
        }
        let key = match algorithm {
            JwtAlgorithm::Hs256 => Key::Hs256(Hs256Key::new(secret)),
            JwtAlgorithm::Hs384 => Key::Hs384(Hs384Key::new(secret)),
            JwtAlgorithm::Hs512 => Key::Hs512(Hs512Key::new(secret)),
        };
        Ok(Jwt {
            key,
            expiration_secs: expiration_minutes * 60,
        })
    }

    /// The configured algorithm.
    pub fn algorithm(&self) -> JwtAlgorithm {
        match self.key {
            Key::Hs256(_) => JwtAlgorithm::Hs256,
            Key::Hs384(_) => JwtAlgorithm::Hs384,
            Key::Hs512(_) => JwtAlgorithm::Hs512,
        }
    }

    /// Signs a token for `user_id` issued at `now_unix` whose session began then.
    pub fn issue(&self, user_id: i64, now_unix: i64) -> String {
        self.issue_session(user_id, now_unix, now_unix)
    }

    /// Signs a token for `user_id` with claims `sub` (decimal string), `iat =
    /// now_unix`, `auth_time` and `exp = iat + expiration_minutes * 60`.
    pub fn issue_session(&self, user_id: i64, now_unix: i64, auth_time: i64) -> String {
        let mut claims = Claims::new(IssuedClaims {
            sub: user_id.to_string(),
            auth_time,
        });
        claims.issued_at = Some(to_datetime(now_unix));
        claims.expiration = Some(to_datetime(now_unix.saturating_add(self.expiration_secs)));
        let header = Header::empty().with_token_type("JWT");
        let signed = match &self.key {
            Key::Hs256(key) => Hs256.token(&header, &claims, key),
            Key::Hs384(key) => Hs384.token(&header, &claims, key),
            Key::Hs512(key) => Hs512.token(&header, &claims, key),
        };
        // Serialising a string and two integers cannot fail; a failure here would be a
        // bug in serde_json, not a condition a caller could handle.
        signed.expect("serialising JWT claims cannot fail")
    }

    /// Checks a bearer token and returns the user id in `sub`.
    ///
    /// Order matters: structure and size, then the header `alg` (must be exactly the
    /// configured one, which shuts out `none`, RS/ES confusion and other HS sizes),
    /// then the HMAC; only a correctly signed token gets its claims judged, so a
    /// forged token is always [`TokenError::Invalid`], never `Expired`. Claims:
    /// `exp` is required (`now >= exp` is `Expired`); `sub` must be an integer (decimal
    /// string or JSON integer); `iat`, optional because tokens from the old service
    /// carry only `sub` and `exp`, must not be more than 60 s ahead of `now`; likewise
    /// `nbf` if present.
    pub fn verify(&self, token: &str, now_unix: i64) -> Result<i64, TokenError> {
        self.verify_session(token, now_unix).map(|t| t.user_id)
    }

    /// [`Jwt::verify`], with the token's issue and session times.
    pub fn verify_session(&self, token: &str, now_unix: i64) -> Result<VerifiedToken, TokenError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(TokenError::Invalid);
        }
        let untrusted = UntrustedToken::new(token).map_err(|_| TokenError::Invalid)?;
        let verified = match &self.key {
            Key::Hs256(key) => check_integrity(&Hs256, key, &untrusted),
            Key::Hs384(key) => check_integrity(&Hs384, key, &untrusted),
            Key::Hs512(key) => check_integrity(&Hs512, key, &untrusted),
        }?;
        let claims = verified.claims();

        let exp = claims.expiration.ok_or(TokenError::Invalid)?.timestamp();
        let max_issue_time = now_unix.saturating_add(IAT_LEEWAY_SECS);
        if claims
            .issued_at
            .is_some_and(|iat| iat.timestamp() > max_issue_time)
        {
            return Err(TokenError::Invalid);
        }
        if claims
            .not_before
            .is_some_and(|nbf| nbf.timestamp() > max_issue_time)
        {
            return Err(TokenError::Invalid);
        }
        let user_id = parse_subject(claims.custom.sub.as_ref())?;
        if now_unix >= exp {
            return Err(TokenError::Expired);
        }
        let iat = claims
            .issued_at
            .map(|iat| iat.timestamp())
            .unwrap_or_else(|| exp.saturating_sub(self.expiration_secs));
        let auth_time = match &claims.custom.auth_time {
            None => iat,
            Some(value) => value
                .as_i64()
                .filter(|t| *t <= iat)
                .ok_or(TokenError::Invalid)?,
        };
        Ok(VerifiedToken {
            user_id,
            issued_at: iat,
            auth_time,
        })
    }
}

/// Header `alg` check + HMAC verification + claims parsing, for one algorithm.
fn check_integrity<A: Algorithm>(
    algorithm: &A,
    key: &A::VerifyingKey,
    untrusted: &UntrustedToken<'_>,
) -> Result<Token<ReceivedClaims>, TokenError> {
    algorithm
        .validator::<ReceivedClaims>(key)
        .validate(untrusted)
        .map_err(|_| TokenError::Invalid)
}

/// `sub` as a user id: a JSON string of ASCII digits with an optional leading `-`
/// (no `+`, spaces or decimals), or a JSON integer; both must fit in i64.
fn parse_subject(sub: Option<&serde_json::Value>) -> Result<i64, TokenError> {
    match sub {
        Some(serde_json::Value::String(s)) => {
            let digits = s.strip_prefix('-').unwrap_or(s);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(TokenError::Invalid);
            }
            s.parse::<i64>().map_err(|_| TokenError::Invalid)
        }
        Some(serde_json::Value::Number(n)) => n.as_i64().ok_or(TokenError::Invalid),
        _ => Err(TokenError::Invalid),
    }
}

/// Unix seconds to a chrono time, clamped to chrono's range (only reachable with
/// nonsense clocks; clamping beats panicking inside a request).
fn to_datetime(unix: i64) -> DateTime<Utc> {
    DateTime::<Utc>::from_timestamp(unix, 0).unwrap_or(if unix < 0 {
        DateTime::<Utc>::MIN_UTC
    } else {
        DateTime::<Utc>::MAX_UTC
    })
}

#[cfg(test)]
mod tests;
