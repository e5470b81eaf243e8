//! `/api/v1/users/...`: registration is public, as are reading and listing; changing or
//! deleting an account is for its owner only.

use domain::Timestamp;
use domain::forms::{NewUser, UserChanges};
use repositories::users::{self, Taken};
use repositories::{Db, DbError};
use web::error::on_unique_violation;
use web::views::{UserPage, UserView};
use web::{ApiError, Ctx, HandlerResult, HttpResponse};

const NOT_FOUND: &str = "Usuário não encontrado";
const FORBIDDEN: &str = "Not enough permissions to modify this user";
const USERNAME_TAKEN: &str = "Username já está em uso";
const EMAIL_TAKEN: &str = "Email já está em uso";

/// Both unique columns, for races the pre-checks cannot see.
const UNIQUE: &[(&str, &str)] = &[
    ("users_username_key", USERNAME_TAKEN),
    ("users_email_key", EMAIL_TAKEN),
];

pub fn create(ctx: &Ctx) -> HandlerResult {
    let user = NewUser::parse(ctx.body())?;
    let db = ctx.db()?;
    let (username, email) = (user.username.as_str(), user.email.as_str());
    refuse_taken(db, Some(username), Some(email), None)?;
    let hash = identity::hash_password(user.password.as_str());
    let created = users::insert(db, username, email, &hash, Timestamp::now())
        .map_err(|e| lost_race(db, e, Some(username), Some(email), None))?;
    Ok(HttpResponse::json(201, &UserView::from(created)))
}

pub fn list(ctx: &Ctx) -> HandlerResult {
    let mut query = ctx.query();
    let page = query.page();
    let search = query.text("search");
    query.finish()?;
    let users = users::list(ctx.db()?, search.as_deref(), page)?;
    Ok(HttpResponse::json(
        200,
        &UserPage {
            users: users.into_iter().map(UserView::from).collect(),
            offset: page.offset,
            limit: page.limit,
        },
    ))
}

pub fn get(ctx: &Ctx) -> HandlerResult {
    let id = ctx.path_id("user_id")?;
    let user = users::find(ctx.db()?, id)?.ok_or(ApiError::NotFound(NOT_FOUND))?;
    Ok(HttpResponse::json(200, &UserView::from(user)))
}

/// Partial update of the caller's own account. Only fields that really change are
/// written, and `updated_at` moves only then; the caller's own unchanged values are not
/// duplicates. A new password revokes every token issued before it (`users::update`).
pub fn update(ctx: &Ctx) -> HandlerResult {
    let caller = ctx.caller()?;
    let id = ctx.path_id("user_id")?;
    let changes = UserChanges::parse(ctx.body())?;
    let db = ctx.db()?;
    let current = users::find(db, id)?.ok_or(ApiError::NotFound(NOT_FOUND))?;
    if caller.id() != id {
        return Err(ApiError::Forbidden(FORBIDDEN));
    }
    let username = changes
        .username
        .as_ref()
        .map(|u| u.as_str())
        .filter(|u| *u != current.username);
    let email = changes
        .email
        .as_ref()
        .map(|e| e.as_str())
        .filter(|e| *e != current.email);
    refuse_taken(db, username, email, Some(id))?;
    let hash = changes
        .password
        .as_ref()
        .map(|p| identity::hash_password(p.as_str()));
    let updated = users::update(db, &caller, &current, &changes, hash, Timestamp::now())
        .map_err(|e| lost_race(db, e, username, email, Some(id)))?;
    Ok(HttpResponse::json(200, &UserView::from(updated)))
}

/// Deletes the account and, through the foreign key's cascade, its cars. Its tokens
/// stop working because every proof of a caller reads the account.
pub fn delete(ctx: &Ctx) -> HandlerResult {
    let caller = ctx.caller()?;
    let id = ctx.path_id("user_id")?;
    let db = ctx.db()?;
    if users::find(db, id)?.is_none() {
        return Err(ApiError::NotFound(NOT_FOUND));
    }
    if caller.id() != id {
        return Err(ApiError::Forbidden(FORBIDDEN));
    }
    users::delete(db, &caller)?;
    Ok(HttpResponse::no_content())
}

/// A write that hit a unique constraint lost a race with a concurrent one. The database
/// names whichever constraint it checked first; asking again gives the loser exactly the
/// message a sequential duplicate gets (username before email).
fn lost_race(
    db: &Db,
    error: DbError,
    username: Option<&str>,
    email: Option<&str>,
    except: Option<i64>,
) -> ApiError {
    if matches!(error, DbError::UniqueViolation { .. })
        && let Err(duplicate) = refuse_taken(db, username, email, except)
    {
        return duplicate;
    }
    on_unique_violation(error, UNIQUE)
}

/// 400 when another account already uses the username (checked first) or the email.
fn refuse_taken(
    db: &Db,
    username: Option<&str>,
    email: Option<&str>,
    except: Option<i64>,
) -> Result<(), ApiError> {
    match users::taken(db, username, email, except)? {
        Some(Taken::Username) => Err(ApiError::BadRequest(USERNAME_TAKEN)),
        Some(Taken::Email) => Err(ApiError::BadRequest(EMAIL_TAKEN)),
        None => Ok(()),
    }
}
