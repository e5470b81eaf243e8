//! `POST /api/v1/auth/token` and `POST /api/v1/auth/refresh_token`.

use domain::Timestamp;
use domain::forms::Credentials;
use web::auth::jwt;
use web::views::Token;
use web::{ApiError, Ctx, HandlerResult, HttpResponse};

use crate::throttle;

/// Email and password for a token. Unknown emails cost a full (dummy) verification, so
/// the answer time does not tell which emails exist; failures count towards the
/// per-email lock, which holds even against the right password.
pub fn login(ctx: &Ctx) -> HandlerResult {
    let credentials = Credentials::parse(ctx.body())?;
    let email = credentials.email.as_str();
    let now = Timestamp::now();
    throttle::check(email, now)?;

    let row = ctx.db()?.query_opt(
        "SELECT id, password_hash FROM users WHERE email = $1",
        &[email.into()],
    )?;
    let user_id = match row {
        Some(row) => {
            let hash = row.text(1)?;
            identity::verify_password(credentials.password.as_str(), &hash).then(|| row.i64(0))
        }
        None => {
            identity::verify_dummy(credentials.password.as_str());
            None
        }
    };
    let Some(user_id) = user_id.transpose()? else {
        throttle::record_failure(email, now);
        return Err(ApiError::IncorrectLogin);
    };
    ctx.set_user(user_id);
    // The users row was just read: no second lookup to prove the caller exists.
    ctx.caller_exists();
    token_response(user_id, now)
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
