//! `POST /api/v1/auth/token` and `POST /api/v1/auth/refresh_token`.

use domain::Timestamp;
use domain::forms::Credentials;
use web::auth::jwt;
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
        Ok(Some(user_id)) => {
            attempt.release();
            ctx.set_user(user_id);
            // The users row was just read: no second lookup to prove the caller exists.
            ctx.caller_exists();
            token_response(user_id, now)
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

/// The user's id when the credentials are right, `None` when they are not.
fn check_credentials(ctx: &Ctx, credentials: &Credentials) -> Result<Option<i64>, ApiError> {
    let row = ctx.db()?.query_opt(
        "SELECT id, password_hash FROM users WHERE email = $1",
        &[credentials.email.as_str().into()],
    )?;
    let password = credentials.password.as_str();
    match row {
        Some(row) => {
            let hash = row.text(1)?;
            let user_id = identity::verify_password(password, &hash).then(|| row.i64(0));
            Ok(user_id.transpose()?)
        }
        None => {
            identity::verify_dummy(password);
            Ok(None)
        }
    }
}

/// A new token for the caller.
pub fn refresh(ctx: &Ctx) -> HandlerResult {
    let user_id = ctx.authenticate()?;
    token_response(user_id, Timestamp::now())
}

fn token_response(user_id: i64, now: Timestamp) -> HandlerResult {
    let token = jwt()?.issue(user_id, now.unix_seconds());
    Ok(HttpResponse::json(
        200,
        &Token {
            access_token: token,
            token_type: "bearer",
        },
    )
    .with_header("cache-control", "no-store"))
}
