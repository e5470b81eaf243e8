//! `/api/v1/users/...`: registration is public, as are reading and listing; changing or
//! deleting an account is for its owner only.

use domain::Timestamp;
use domain::forms::{NewUser, UserChanges};
use storage::{Changes, Db, DbError, Filters, contains_pattern};
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
    check_taken(
        db,
        Some(user.username.as_str()),
        Some(user.email.as_str()),
        None,
    )?;
    let hash = identity::hash_password(user.password.as_str());
    let now = Timestamp::now();
    let row = db
        .query_one(
            &format!(
                "INSERT INTO users (username, email, password_hash, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $4) RETURNING {}",
                UserView::columns("")
            ),
            &[
                user.username.as_str().into(),
                user.email.as_str().into(),
                hash.into(),
                now.into(),
            ],
        )
        .map_err(|e| {
            lost_race(
                db,
                e,
                Some(user.username.as_str()),
                Some(user.email.as_str()),
                None,
            )
        })?;
    Ok(HttpResponse::json(201, &UserView::from_row(&row, 0)?))
}

pub fn list(ctx: &Ctx) -> HandlerResult {
    let mut query = ctx.query();
    let page = query.page();
    let search = query.text("search");
    query.finish()?;

    let mut filters = Filters::default();
    if let Some(search) = search {
        filters.add(
            "(lower(username) LIKE {} ESCAPE '\\' OR lower(email) LIKE {} ESCAPE '\\')",
            contains_pattern(&search),
        );
    }
    let (clauses, params) = filters.into_page("id", page.limit, page.offset);
    let rows = ctx.db()?.query(
        &format!("SELECT {} FROM users{clauses}", UserView::columns("")),
        &params,
    )?;
    let users = rows
        .iter()
        .map(|row| UserView::from_row(row, 0))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(HttpResponse::json(
        200,
        &UserPage {
            users,
            offset: page.offset,
            limit: page.limit,
        },
    ))
}

pub fn get(ctx: &Ctx) -> HandlerResult {
    let id = ctx.path_id("user_id")?;
    let user = find(ctx.db()?, id)?.ok_or(ApiError::NotFound(NOT_FOUND))?;
    Ok(HttpResponse::json(200, &user))
}

/// Partial update. Only fields that really change are written, and `updated_at` moves
/// only then; the caller's own unchanged values are not duplicates.
pub fn update(ctx: &Ctx) -> HandlerResult {
    let caller = ctx.authenticate()?;
    let id = ctx.path_id("user_id")?;
    let changes = UserChanges::parse(ctx.body())?;
    let db = ctx.db()?;
    let current = find(db, id)?.ok_or(ApiError::NotFound(NOT_FOUND))?;
    if caller != id {
        return Err(ApiError::Forbidden(FORBIDDEN));
    }

    let username = changes.username.filter(|u| u.as_str() != current.username);
    let email = changes.email.filter(|e| e.as_str() != current.email);
    check_taken(
        db,
        username.as_ref().map(|u| u.as_str()),
        email.as_ref().map(|e| e.as_str()),
        Some(id),
    )?;

    let new_username = username.as_ref().map(|u| u.as_str().to_owned());
    let new_email = email.as_ref().map(|e| e.as_str().to_owned());
    let mut update = Changes::default();
    if let Some(username) = username {
        update.set("username", username.as_str());
    }
    if let Some(email) = email {
        update.set("email", email.as_str());
    }
    let now = Timestamp::now();
    if let Some(password) = changes.password {
        update.set("password_hash", identity::hash_password(password.as_str()));
        // Revokes every token issued before now, this request's own included, on every
        // replica: each authenticated request compares its token with this column.
        update.set("password_changed_at", now);
    }
    if update.is_empty() {
        return Ok(HttpResponse::json(200, &current));
    }
    let (sql, params) = update.into_update("users", id, now);
    let row = db
        .query_one(
            &format!("{sql} RETURNING {}", UserView::columns("")),
            &params,
        )
        .map_err(|e| {
            lost_race(
                db,
                e,
                new_username.as_deref(),
                new_email.as_deref(),
                Some(id),
            )
        })?;
    Ok(HttpResponse::json(200, &UserView::from_row(&row, 0)?))
}

/// Deletes the account and, through the foreign key's cascade, its cars. Its tokens
/// stop working because authentication checks that the user exists.
pub fn delete(ctx: &Ctx) -> HandlerResult {
    let caller = ctx.authenticate()?;
    let id = ctx.path_id("user_id")?;
    let db = ctx.db()?;
    if find(db, id)?.is_none() {
        return Err(ApiError::NotFound(NOT_FOUND));
    }
    if caller != id {
        return Err(ApiError::Forbidden(FORBIDDEN));
    }
    db.execute("DELETE FROM users WHERE id = $1", &[id.into()])?;
    Ok(HttpResponse::no_content())
}

fn find(db: &Db, id: i64) -> Result<Option<UserView>, ApiError> {
    let row = db.query_opt(
        &format!("SELECT {} FROM users WHERE id = $1", UserView::columns("")),
        &[id.into()],
    )?;
    Ok(row.map(|r| UserView::from_row(&r, 0)).transpose()?)
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
        && let Err(duplicate) = check_taken(db, username, email, except)
    {
        return duplicate;
    }
    on_unique_violation(error, UNIQUE)
}

/// 400 when another account already uses the username (checked first) or the email.
fn check_taken(
    db: &Db,
    username: Option<&str>,
    email: Option<&str>,
    except: Option<i64>,
) -> Result<(), ApiError> {
    if username.is_none() && email.is_none() {
        return Ok(());
    }
    let rows = db.query(
        "SELECT username = $1, email = $2 FROM users \
         WHERE (username = $1 OR email = $2) AND id <> $3",
        &[username.into(), email.into(), except.unwrap_or(0).into()],
    )?;
    let mut email_taken = false;
    for row in &rows {
        if row.bool(0).unwrap_or(false) {
            return Err(ApiError::BadRequest(USERNAME_TAKEN));
        }
        email_taken |= row.bool(1).unwrap_or(false);
    }
    if email_taken {
        return Err(ApiError::BadRequest(EMAIL_TAKEN));
    }
    Ok(())
}
