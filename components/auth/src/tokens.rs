//! `POST /api/v1/auth/token` and `POST /api/v1/auth/refresh_token`.

use domain::Timestamp;
use domain::forms::Credentials;
use web::auth::{jwt, session_max_seconds};
use web::views::Token;
use web::{ApiError, Ctx, HandlerResult, HttpResponse};

use crate::throttle;

/// Email and password for a token. Unknown emails cost a full (dummy) verification, so
/// the answer time does not tell which emails exist. Each attempt is counted in the
/// email's throttling counters from before the password check; wrong credentials leave it
/// counted as a failure, so enough of them lock the email, even against the right password.
pub fn login(ctx: &Ctx) -> HandlerResult {
    let credentials = Credentials::parse(ctx.body())?;
    let attempt = throttle::begin(ctx, credentials.email.as_str())?;
    let now = Timestamp::now();
    match check_credentials(ctx, &credentials) {
        Ok(Some((user_id, sessions_valid_from))) => {
            attempt.release();
            ctx.set_user(user_id);
            // Never issued "before" the account's sessions began, whatever this replica's
            // clock says: a login just after a password change elsewhere stays valid.
            let changed = sessions_valid_from.map_or(i64::MIN, Timestamp::micros);
            let issued_at_us = now.micros().max(changed);
            token_response(user_id, issued_at_us, now.unix_seconds())
        }
        Ok(None) => {
            attempt.failed();
            Err(ApiError::IncorrectLogin)
        }
        Err(error) => {
            attempt.release();
            Err(error)
        }
    }
}

/// The user's id and `password_changed_at` when the credentials are right, `None` when
/// they are not.
fn check_credentials(
    ctx: &Ctx,
    credentials: &Credentials,
) -> Result<Option<(i64, Option<Timestamp>)>, ApiError> {
    let row = ctx.db()?.query_opt(
        "SELECT id, password_hash, password_changed_at FROM users WHERE email = $1",
        &[credentials.email.as_str().into()],
    )?;
    let password = credentials.password.as_str();
    match row {
        Some(row) => {
            let hash = row.text(1)?;
            if !identity::verify_password(password, &hash) {
                return Ok(None);
            }
            Ok(Some((row.i64(0)?, row.opt_timestamp(2)?)))
        }
        None => {
            identity::verify_dummy(password);
            Ok(None)
        }
    }
}

/// A new token for the caller, in the same session: `auth_time` is copied, and a session
/// older than `jwt_session_max_hours` is over (401), so a stolen token cannot be kept
/// alive forever. A token revoked by a password change is refused by `authenticate`.
pub fn refresh(ctx: &Ctx) -> HandlerResult {
    let user_id = ctx.authenticate()?;
    let token = ctx.token().ok_or(ApiError::InvalidToken)?;
    let now = Timestamp::now();
    if now.unix_seconds() - token.auth_time > session_max_seconds() {
        return Err(ApiError::InvalidToken);
    }
    let issued_at_us = now.micros().max(token.issued_at_us);
    token_response(user_id, issued_at_us, token.auth_time)
}

fn token_response(user_id: i64, issued_at_us: i64, auth_time: i64) -> HandlerResult {
    let token = jwt()?.issue_session(user_id, issued_at_us, auth_time);
    Ok(HttpResponse::json(
        200,
        &Token {
            access_token: token,
            token_type: "bearer",
        },
    )
    .with_header("cache-control", "no-store"))
}
