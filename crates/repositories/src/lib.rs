//! The application's data, one module per resource. Each module owns the SQL of its
//! table (the same text runs on PostgreSQL and SQLite), the list of columns it selects,
//! and the decoding of its rows by column name into typed records. Nothing outside this
//! crate (and the migrator) writes SQL: the web layer and the components call these
//! functions and get records back.
//!
//! Authentication is settled here too, as a value: a verified token is only a [`Claim`];
//! a [`Caller`] — the proof that the account exists and still accepts the token — is
//! made only by a statement that read the account. Writes and protected reads take the
//! proof as an argument, so no handler can reach them without it. The hot reads prove
//! the caller in the same statement that reads the data (see `cars::find_for`).

mod caller;
mod columns;

pub mod brands;
pub mod cars;
pub mod idempotency;
pub mod schema;
pub mod users;

pub use caller::{Caller, Claim};
pub use storage::{Db, DbError};

/// `offset` and `limit` of a list.
pub use domain::query::Page;
