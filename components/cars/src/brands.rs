//! `/api/v1/brands/...`

use domain::Timestamp;
use domain::forms::{BrandChanges, NewBrand};
use storage::{Changes, Db, DbError, Filters, contains_pattern};
use web::error::on_unique_violation;
use web::views::{BrandPage, BrandView};
use web::{ApiError, Ctx, HandlerResult, HttpResponse};

pub const NOT_FOUND: &str = "Marca não encontrada";
const NAME_TAKEN: &str = "Nome da marca já está em uso";
const IN_USE: &str = "Não é possível deletar marca que possui carros associados";
const UNIQUE: &[(&str, &str)] = &[("brands_name_key", NAME_TAKEN)];

pub fn create(ctx: &Ctx) -> HandlerResult {
    ctx.authenticate()?;
    let brand = NewBrand::parse(ctx.body())?;
    let db = ctx.db()?;
    check_name_free(db, brand.name.as_str(), None)?;
    let row = db
        .query_one(
            &format!(
                "INSERT INTO brands (name, description, is_active, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $4) RETURNING {}",
                BrandView::columns("")
            ),
            &[
                brand.name.as_str().into(),
                brand.description.as_ref().map(|d| d.as_str()).into(),
                brand.is_active.into(),
                Timestamp::now().into(),
            ],
        )
        .map_err(|e| on_unique_violation(e, UNIQUE))?;
    Ok(HttpResponse::json(201, &BrandView::from_row(&row, 0)?))
}

pub fn list(ctx: &Ctx) -> HandlerResult {
    ctx.authenticate()?;
    let mut query = ctx.query();
    let page = query.page();
    let search = query.text("search");
    let is_active = query.bool("is_active");
    query.finish()?;

    let mut filters = Filters::default();
    if let Some(search) = search {
        filters.add("lower(name) LIKE {} ESCAPE '\\'", contains_pattern(&search));
    }
    if let Some(is_active) = is_active {
        filters.add("is_active = {}", is_active);
    }
    let (clauses, params) = filters.into_page("id", page.limit, page.offset);
    let rows = ctx.db()?.query(
        &format!("SELECT {} FROM brands{clauses}", BrandView::columns("")),
        &params,
    )?;
    let brands = rows
        .iter()
        .map(|row| BrandView::from_row(row, 0))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(HttpResponse::json(
        200,
        &BrandPage {
            brands,
            offset: page.offset,
            limit: page.limit,
        },
    ))
}

pub fn get(ctx: &Ctx) -> HandlerResult {
    ctx.authenticate()?;
    let id = ctx.path_id("brand_id")?;
    let brand = find(ctx.db()?, id)?.ok_or(ApiError::NotFound(NOT_FOUND))?;
    Ok(HttpResponse::json(200, &brand))
}

pub fn update(ctx: &Ctx) -> HandlerResult {
    ctx.authenticate()?;
    let id = ctx.path_id("brand_id")?;
    let changes = BrandChanges::parse(ctx.body())?;
    let db = ctx.db()?;
    let current = find(db, id)?.ok_or(ApiError::NotFound(NOT_FOUND))?;

    let mut update = Changes::default();
    if let Some(name) = changes.name.filter(|n| n.as_str() != current.name) {
        check_name_free(db, name.as_str(), Some(id))?;
        update.set("name", name.as_str());
    }
    if let Some(description) = changes.description {
        let description = description.map(|d| d.as_str().to_owned());
        if description != current.description {
            update.set("description", description);
        }
    }
    if let Some(is_active) = changes.is_active.filter(|a| *a != current.is_active) {
        update.set("is_active", is_active);
    }
    if update.is_empty() {
        return Ok(HttpResponse::json(200, &current));
    }
    let (sql, params) = update.into_update("brands", id, Timestamp::now());
    let row = db
        .query_one(
            &format!("{sql} RETURNING {}", BrandView::columns("")),
            &params,
        )
        .map_err(|e| on_unique_violation(e, UNIQUE))?;
    Ok(HttpResponse::json(200, &BrandView::from_row(&row, 0)?))
}

/// A brand that cars still use cannot go; the foreign key (RESTRICT) settles races.
pub fn delete(ctx: &Ctx) -> HandlerResult {
    ctx.authenticate()?;
    let id = ctx.path_id("brand_id")?;
    let db = ctx.db()?;
    if find(db, id)?.is_none() {
        return Err(ApiError::NotFound(NOT_FOUND));
    }
    if db
        .query_opt(
            "SELECT 1 FROM cars WHERE brand_id = $1 LIMIT 1",
            &[id.into()],
        )?
        .is_some()
    {
        return Err(ApiError::BadRequest(IN_USE));
    }
    match db.execute("DELETE FROM brands WHERE id = $1", &[id.into()]) {
        Ok(_) => Ok(HttpResponse::no_content()),
        Err(DbError::ForeignKeyViolation) => Err(ApiError::BadRequest(IN_USE)),
        Err(other) => Err(other.into()),
    }
}

pub fn find(db: &Db, id: i64) -> Result<Option<BrandView>, ApiError> {
    let row = db.query_opt(
        &format!(
            "SELECT {} FROM brands WHERE id = $1",
            BrandView::columns("")
        ),
        &[id.into()],
    )?;
    Ok(row.map(|r| BrandView::from_row(&r, 0)).transpose()?)
}

/// Exact, case-sensitive match on the trimmed name.
fn check_name_free(db: &Db, name: &str, except: Option<i64>) -> Result<(), ApiError> {
    let taken = db.query_opt(
        "SELECT 1 FROM brands WHERE name = $1 AND id <> $2",
        &[name.into(), except.unwrap_or(0).into()],
    )?;
    match taken {
        Some(_) => Err(ApiError::BadRequest(NAME_TAKEN)),
        None => Ok(()),
    }
}
