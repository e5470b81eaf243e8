//! The JSON shapes of users and brands, shared by every component that shows them (a
//! car embeds both). Each reads its columns from a row at a given offset, in the order
//! of its `COLUMNS` constant.

use domain::Timestamp;
use serde::Serialize;
use storage::{DbError, Row};

/// A user in public form: the password hash never leaves the database.
#[derive(Debug, Clone, Serialize)]
pub struct UserView {
    pub id: i64,
    pub username: String,
    pub email: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl UserView {
    /// The columns, for `SELECT` lists (qualified with `alias.` when given).
    pub fn columns(alias: &str) -> String {
        qualify(
            alias,
            &["id", "username", "email", "created_at", "updated_at"],
        )
    }

    pub const WIDTH: usize = 5;

    pub fn from_row(row: &Row, at: usize) -> Result<UserView, DbError> {
        Ok(UserView {
            id: row.i64(at)?,
            username: row.text(at + 1)?,
            email: row.text(at + 2)?,
            created_at: row.timestamp(at + 3)?,
            updated_at: row.timestamp(at + 4)?,
        })
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct BrandView {
    pub id: i64,
    pub name: String,
    pub description: Option<String>,
    pub is_active: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl BrandView {
    pub fn columns(alias: &str) -> String {
        qualify(
            alias,
            &[
                "id",
                "name",
                "description",
                "is_active",
                "created_at",
                "updated_at",
            ],
        )
    }

    pub const WIDTH: usize = 6;

    pub fn from_row(row: &Row, at: usize) -> Result<BrandView, DbError> {
        Ok(BrandView {
            id: row.i64(at)?,
            name: row.text(at + 1)?,
            description: row.opt_text(at + 2)?,
            is_active: row.bool(at + 3)?,
            created_at: row.timestamp(at + 4)?,
            updated_at: row.timestamp(at + 5)?,
        })
    }
}

/// `a.x, a.y` for alias `a`, or `x, y` for none.
pub fn qualify(alias: &str, columns: &[&str]) -> String {
    columns
        .iter()
        .map(|c| {
            if alias.is_empty() {
                (*c).to_string()
            } else {
                format!("{alias}.{c}")
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}
