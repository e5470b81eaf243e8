//! The database itself: whether it answers, and which migrations it has.

use storage::{Db, DbError};

/// The newest migration this build expects (from `migrations/`, at compile time).
pub use storage::LATEST_MIGRATION;

/// One trivial statement: the database answers.
pub fn ping(db: &Db) -> Result<(), DbError> {
    db.query_one("SELECT 1 AS one", &[]).map(drop)
}

/// The newest migration applied to this database, if any.
pub fn applied_migration(db: &Db) -> Result<Option<i64>, DbError> {
    db.query_one(
        "SELECT MAX(version) AS latest FROM _sqlx_migrations WHERE success = TRUE",
        &[],
    )?
    .opt_i64("latest")
}
