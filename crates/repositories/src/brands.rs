//! The `brands` table: the shared catalogue of car makers. Every route on it is for
//! signed-in callers, so every function takes the [`Caller`] proof.

use domain::Timestamp;
use domain::forms::{BrandChanges, NewBrand};
use storage::{Changes, Db, DbError, Filters, Row, contains_pattern};

use crate::Page;
use crate::caller::Caller;
use crate::columns::{named, select_list};

#[derive(Debug, Clone, PartialEq)]
pub struct Brand {
    pub id: i64,
    pub name: String,
    pub description: Option<String>,
    pub is_active: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

const COLUMNS: &[&str] = &[
    "id",
    "name",
    "description",
    "is_active",
    "created_at",
    "updated_at",
];

impl Brand {
    pub(crate) fn select_list(alias: &str, prefix: &str) -> String {
        select_list(alias, prefix, COLUMNS)
    }

    pub(crate) fn columns() -> &'static [&'static str] {
        COLUMNS
    }

    pub(crate) fn from_row(row: &Row, prefix: &str) -> Result<Brand, DbError> {
        let column = |name| named(prefix, name);
        Ok(Brand {
            id: row.i64(&column("id"))?,
            name: row.text(&column("name"))?,
            description: row.opt_text(&column("description"))?,
            is_active: row.bool(&column("is_active"))?,
            created_at: row.timestamp(&column("created_at"))?,
            updated_at: row.timestamp(&column("updated_at"))?,
        })
    }
}

pub fn find(db: &Db, _caller: &Caller, id: i64) -> Result<Option<Brand>, DbError> {
    db.query_opt(
        &format!(
            "SELECT {} FROM brands b WHERE b.id = $1",
            Brand::select_list("b", "brand")
        ),
        &[id.into()],
    )?
    .map(|row| Brand::from_row(&row, "brand"))
    .transpose()
}

/// A page of brands by id, optionally those whose name contains `search`
/// (case-insensitive, literal) and with the given `is_active`.
pub fn list(
    db: &Db,
    _caller: &Caller,
    search: Option<&str>,
    is_active: Option<bool>,
    page: Page,
) -> Result<Vec<Brand>, DbError> {
    let mut filters = Filters::default();
    if let Some(search) = search {
        filters.add(
            "lower(b.name) LIKE {} ESCAPE '\\'",
            contains_pattern(search),
        );
    }
    if let Some(is_active) = is_active {
        filters.add("b.is_active = {}", is_active);
    }
    let (clauses, params) = filters.into_page("b.id", page.limit, page.offset);
    db.query(
        &format!(
            "SELECT {} FROM brands b{clauses}",
            Brand::select_list("b", "brand")
        ),
        &params,
    )?
    .iter()
    .map(|row| Brand::from_row(row, "brand"))
    .collect()
}

/// Whether another brand than `except` has exactly this (trimmed, case-sensitive) name.
pub fn name_taken(db: &Db, name: &str, except: Option<i64>) -> Result<bool, DbError> {
    Ok(db
        .query_opt(
            "SELECT 1 AS taken FROM brands WHERE name = $1 AND id <> $2",
            &[name.into(), except.unwrap_or(0).into()],
        )?
        .is_some())
}

pub fn insert(
    db: &Db,
    _caller: &Caller,
    brand: &NewBrand,
    now: Timestamp,
) -> Result<Brand, DbError> {
    let row = db.query_one(
        &format!(
            "INSERT INTO brands (name, description, is_active, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $4) RETURNING {}",
            Brand::select_list("brands", "brand")
        ),
        &[
            brand.name.as_str().into(),
            brand.description.as_ref().map(|d| d.as_str()).into(),
            brand.is_active.into(),
            now.into(),
        ],
    )?;
    Brand::from_row(&row, "brand")
}

/// Writes only the values that differ from `current`; nothing to change: `current`.
pub fn update(
    db: &Db,
    _caller: &Caller,
    current: &Brand,
    changes: &BrandChanges,
    now: Timestamp,
) -> Result<Brand, DbError> {
    let mut update = Changes::default();
    update.set_if_changed(
        "name",
        changes.name.as_ref().map(|n| n.as_str()),
        current.name.as_str(),
    );
    update.set_if_changed(
        "description",
        changes
            .description
            .as_ref()
            .map(|d| d.as_ref().map(|d| d.as_str())),
        current.description.as_deref(),
    );
    update.set_if_changed("is_active", changes.is_active, current.is_active);
    if update.is_empty() {
        return Ok(current.clone());
    }
    let (sql, params) = update.into_update("brands", current.id, now);
    let row = db.query_one(
        &format!("{sql} RETURNING {}", Brand::select_list("brands", "brand")),
        &params,
    )?;
    Brand::from_row(&row, "brand")
}

/// Whether any car still uses the brand.
pub fn in_use(db: &Db, id: i64) -> Result<bool, DbError> {
    Ok(db
        .query_opt(
            "SELECT 1 AS used FROM cars WHERE brand_id = $1 LIMIT 1",
            &[id.into()],
        )?
        .is_some())
}

/// Deletes the brand; a car that still uses it makes the foreign key (RESTRICT) refuse
/// (`DbError::ForeignKeyViolation`), which settles races with `in_use`.
pub fn delete(db: &Db, _caller: &Caller, id: i64) -> Result<(), DbError> {
    db.execute("DELETE FROM brands WHERE id = $1", &[id.into()])
        .map(drop)
}
