//! `/api/v1/brands/...`: the shared catalogue, for signed-in callers. Each route proves
//! the caller first (`Ctx::caller`), as the contract checks authentication before input.

use domain::Timestamp;
use domain::forms::{BrandChanges, NewBrand};
use repositories::brands::{self, Brand};
use repositories::{Caller, DbError};
use web::error::on_unique_violation;
use web::views::{BrandPage, BrandView};
use web::{ApiError, Ctx, HandlerResult, HttpResponse};

pub const NOT_FOUND: &str = "Marca não encontrada";
const NAME_TAKEN: &str = "Nome da marca já está em uso";
const IN_USE: &str = "Não é possível deletar marca que possui carros associados";
const UNIQUE: &[(&str, &str)] = &[("brands_name_key", NAME_TAKEN)];

pub fn create(ctx: &Ctx) -> HandlerResult {
    let caller = ctx.caller()?;
    let brand = NewBrand::parse(ctx.body())?;
    let db = ctx.db()?;
    refuse_taken_name(ctx, brand.name.as_str(), None)?;
    let created = brands::insert(db, &caller, &brand, Timestamp::now())
        .map_err(|e| on_unique_violation(e, UNIQUE))?;
    Ok(HttpResponse::json(201, &BrandView::from(created)))
}

pub fn list(ctx: &Ctx) -> HandlerResult {
    let caller = ctx.caller()?;
    let mut query = ctx.query();
    let page = query.page();
    let search = query.text("search");
    let is_active = query.bool("is_active");
    query.finish()?;
    let brands = brands::list(ctx.db()?, &caller, search.as_deref(), is_active, page)?;
    Ok(HttpResponse::json(
        200,
        &BrandPage {
            brands: brands.into_iter().map(BrandView::from).collect(),
            offset: page.offset,
            limit: page.limit,
        },
    ))
}

pub fn get(ctx: &Ctx) -> HandlerResult {
    let caller = ctx.caller()?;
    let id = ctx.path_id("brand_id")?;
    Ok(HttpResponse::json(
        200,
        &BrandView::from(find(ctx, &caller, id)?),
    ))
}

pub fn update(ctx: &Ctx) -> HandlerResult {
    let caller = ctx.caller()?;
    let id = ctx.path_id("brand_id")?;
    let changes = BrandChanges::parse(ctx.body())?;
    let current = find(ctx, &caller, id)?;
    if let Some(name) = changes.name.as_ref().filter(|n| n.as_str() != current.name) {
        refuse_taken_name(ctx, name.as_str(), Some(id))?;
    }
    let updated = brands::update(ctx.db()?, &caller, &current, &changes, Timestamp::now())
        .map_err(|e| on_unique_violation(e, UNIQUE))?;
    Ok(HttpResponse::json(200, &BrandView::from(updated)))
}

/// A brand that cars still use cannot go; the foreign key (RESTRICT) settles races.
pub fn delete(ctx: &Ctx) -> HandlerResult {
    let caller = ctx.caller()?;
    let id = ctx.path_id("brand_id")?;
    find(ctx, &caller, id)?;
    let db = ctx.db()?;
    if brands::in_use(db, id)? {
        return Err(ApiError::BadRequest(IN_USE));
    }
    match brands::delete(db, &caller, id) {
        Ok(()) => Ok(HttpResponse::no_content()),
        Err(DbError::ForeignKeyViolation) => Err(ApiError::BadRequest(IN_USE)),
        Err(other) => Err(other.into()),
    }
}

fn find(ctx: &Ctx, caller: &Caller, id: i64) -> Result<Brand, ApiError> {
    brands::find(ctx.db()?, caller, id)?.ok_or(ApiError::NotFound(NOT_FOUND))
}

/// Names are unique exactly (case-sensitive, trimmed): 400 before the write, and the
/// unique index for races.
fn refuse_taken_name(ctx: &Ctx, name: &str, except: Option<i64>) -> Result<(), ApiError> {
    if brands::name_taken(ctx.db()?, name, except)? {
        return Err(ApiError::BadRequest(NAME_TAKEN));
    }
    Ok(())
}
