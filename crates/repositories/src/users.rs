//! The `users` table: accounts, their login secrets, and the proof of a caller.

use domain::Timestamp;
use domain::forms::UserChanges;
use storage::{Changes, Db, DbError, Filters, Row, contains_pattern};

use crate::Page;
use crate::caller::{Caller, Claim};
use crate::columns::{named, select_list};

/// An account as the API shows it: the password hash never leaves this module but in
/// [`LoginRecord`].
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub email: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// The public columns, in the order the API shows them.
const COLUMNS: &[&str] = &["id", "username", "email", "created_at", "updated_at"];

impl User {
    /// `alias.id AS prefix_id, …` for a `SELECT` or a `RETURNING` list.
    pub(crate) fn select_list(alias: &str, prefix: &str) -> String {
        select_list(alias, prefix, COLUMNS)
    }

    pub(crate) fn columns() -> &'static [&'static str] {
        COLUMNS
    }

    pub(crate) fn from_row(row: &Row, prefix: &str) -> Result<User, DbError> {
        let column = |name| named(prefix, name);
        Ok(User {
            id: row.i64(&column("id"))?,
            username: row.text(&column("username"))?,
            email: row.text(&column("email"))?,
            created_at: row.timestamp(&column("created_at"))?,
            updated_at: row.timestamp(&column("updated_at"))?,
        })
    }
}

/// The proof that the claim's account exists and accepts its token; `None` when it
/// does not (deleted, or the password changed since the token was issued).
pub fn confirm(db: &Db, claim: &Claim) -> Result<Option<Caller>, DbError> {
    let row = db.query_opt(
        "SELECT password_changed_at AS user_password_changed_at FROM users WHERE id = $1",
        &[claim.user_id().into()],
    )?;
    match row {
        Some(row) => Ok(claim.prove(row.opt_timestamp("user_password_changed_at")?)),
        None => Ok(None),
    }
}

pub fn find(db: &Db, id: i64) -> Result<Option<User>, DbError> {
    db.query_opt(
        &format!(
            "SELECT {} FROM users u WHERE u.id = $1",
            User::select_list("u", "user")
        ),
        &[id.into()],
    )?
    .map(|row| User::from_row(&row, "user"))
    .transpose()
}

/// A page of accounts by id, optionally those whose username or email contains `search`
/// (case-insensitive, literal).
pub fn list(db: &Db, search: Option<&str>, page: Page) -> Result<Vec<User>, DbError> {
    let mut filters = Filters::default();
    if let Some(search) = search {
        filters.add(
            "(lower(u.username) LIKE {} ESCAPE '\\' OR lower(u.email) LIKE {} ESCAPE '\\')",
            contains_pattern(search),
        );
    }
    let (clauses, params) = filters.into_page("u.id", page.limit, page.offset);
    db.query(
        &format!(
            "SELECT {} FROM users u{clauses}",
            User::select_list("u", "user")
        ),
        &params,
    )?
    .iter()
    .map(|row| User::from_row(row, "user"))
    .collect()
}

/// What a login needs to know about an email's account.
#[derive(Debug, Clone)]
pub struct LoginRecord {
    pub id: i64,
    pub password_hash: String,
    pub password_changed_at: Option<Timestamp>,
}

pub fn login_record(db: &Db, email: &str) -> Result<Option<LoginRecord>, DbError> {
    let row = db.query_opt(
        "SELECT id AS user_id, password_hash AS user_password_hash, \
         password_changed_at AS user_password_changed_at FROM users WHERE email = $1",
        &[email.into()],
    )?;
    row.map(|row| {
        Ok(LoginRecord {
            id: row.i64("user_id")?,
            password_hash: row.text("user_password_hash")?,
            password_changed_at: row.opt_timestamp("user_password_changed_at")?,
        })
    })
    .transpose()
}

/// Which unique value another account already has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Taken {
    Username,
    Email,
}

/// Whether another account than `except` uses the username (reported first) or the email.
pub fn taken(
    db: &Db,
    username: Option<&str>,
    email: Option<&str>,
    except: Option<i64>,
) -> Result<Option<Taken>, DbError> {
    if username.is_none() && email.is_none() {
        return Ok(None);
    }
    let rows = db.query(
        "SELECT username = $1 AS username_taken, email = $2 AS email_taken FROM users \
         WHERE (username = $1 OR email = $2) AND id <> $3",
        &[username.into(), email.into(), except.unwrap_or(0).into()],
    )?;
    let mut email_taken = false;
    for row in &rows {
        // NULL (no username asked about) is not a match.
        if row.bool("username_taken").unwrap_or(false) {
            return Ok(Some(Taken::Username));
        }
        email_taken |= row.bool("email_taken").unwrap_or(false);
    }
    Ok(email_taken.then_some(Taken::Email))
}

/// A new account. The unique indexes settle races between concurrent registrations.
pub fn insert(
    db: &Db,
    username: &str,
    email: &str,
    password_hash: &str,
    now: Timestamp,
) -> Result<User, DbError> {
    let row = db.query_one(
        &format!(
            "INSERT INTO users (username, email, password_hash, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $4) RETURNING {}",
            User::select_list("users", "user")
        ),
        &[
            username.into(),
            email.into(),
            password_hash.into(),
            now.into(),
        ],
    )?;
    User::from_row(&row, "user")
}

/// Writes the caller's own account: only the values that differ from `current` (a
/// new password always counts, and revokes every token issued before `now`, this
/// request's own included, on every replica). Nothing to change: `current` as it is.
pub fn update(
    db: &Db,
    caller: &Caller,
    current: &User,
    changes: &UserChanges,
    password_hash: Option<String>,
    now: Timestamp,
) -> Result<User, DbError> {
    let mut update = Changes::default();
    update.set_if_changed(
        "username",
        changes.username.as_ref().map(|u| u.as_str()),
        current.username.as_str(),
    );
    update.set_if_changed(
        "email",
        changes.email.as_ref().map(|e| e.as_str()),
        current.email.as_str(),
    );
    if let Some(hash) = password_hash {
        update.set("password_hash", hash);
        update.set("password_changed_at", now);
    }
    if update.is_empty() {
        return Ok(current.clone());
    }
    let (sql, params) = update.into_update("users", caller.id(), now);
    let row = db.query_one(
        &format!("{sql} RETURNING {}", User::select_list("users", "user")),
        &params,
    )?;
    User::from_row(&row, "user")
}

/// Deletes the caller's account and, by the foreign key's cascade, its cars.
pub fn delete(db: &Db, caller: &Caller) -> Result<(), DbError> {
    db.execute("DELETE FROM users WHERE id = $1", &[caller.id().into()])
        .map(drop)
}
