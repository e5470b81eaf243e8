//! `POST /api/v1/auth/token` and `POST /api/v1/auth/refresh_token`.

use domain::Timestamp;
use domain::forms::Credentials;
use repositories::users;
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
        Ok(Some((user_id, password_changed_at))) => {
            attempt.release();
            ctx.set_user(user_id);
            // Issued after the last password change, whatever this replica's clock says:
            // in the change's own second (or before it, on a clock behind), `iat` is the
            // next second (verification allows 60 s of skew), or it would count as revoked.
            let after_change = password_changed_at.map_or(i64::MIN, |t| t.unix_seconds() + 1);
            let issued_at = now.unix_seconds().max(after_change);
            token_response(user_id, issued_at, now.unix_seconds())
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
    let account = users::login_record(ctx.db()?, credentials.email.as_str())?;
    let password = credentials.password.as_str();
    match account {
        Some(account) => {
            if !identity::verify_password(password, &account.password_hash) {
                return Ok(None);
            }
            Ok(Some((account.id, account.password_changed_at)))
        }
        None => {
            identity::verify_dummy(password);
            Ok(None)
        }
    }
}

/// A new token for the caller, in the same session: `auth_time` is copied, and a session
/// older than `jwt_session_max_hours` is over (401), so a stolen token cannot be kept
/// alive forever. A token revoked by a password change has no proof (401).
pub fn refresh(ctx: &Ctx) -> HandlerResult {
    let caller = ctx.caller()?;
    let token = ctx.token().ok_or(ApiError::InvalidToken)?;
    let now = Timestamp::now();
    if now.unix_seconds() - token.auth_time > session_max_seconds() {
        return Err(ApiError::InvalidToken);
    }
    // Never earlier than the token it replaces, which was valid: so is this one.
    let issued_at = now.unix_seconds().max(token.issued_at);
    token_response(caller.id(), issued_at, token.auth_time)
}

fn token_response(user_id: i64, issued_at: i64, auth_time: i64) -> HandlerResult {
    let token = jwt()?.issue_session(user_id, issued_at, auth_time);
    Ok(HttpResponse::json(
        200,
        &Token {
            access_token: token,
            token_type: "bearer",
        },
    )
    .with_header("cache-control", "no-store"))
}
