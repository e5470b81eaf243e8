//! SQLite through `spin:sqlite@3.0.0`: placeholders, parameters, cells and errors.

use spin_sdk::wit::sqlite3;

use crate::row::Cell;
use crate::{DbError, Value};

/// `$1` → `?1`: SQLite's numbered parameters, same numbering.
pub(crate) fn sqlite_placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '$' && chars.peek().is_some_and(char::is_ascii_digit) {
            out.push('?');
        } else {
            out.push(c);
        }
    }
    out
}

pub(crate) fn sqlite_param(value: &Value) -> sqlite3::Value {
    use sqlite3::Value as S;
    match value {
        Value::Null => S::Null,
        Value::I32(v) => S::Integer(i64::from(*v)),
        Value::I64(v) => S::Integer(*v),
        Value::Text(v) => S::Text(v.clone()),
        Value::Bool(v) => S::Integer(i64::from(*v)),
        Value::Timestamp(t) => S::Text(t.to_string()),
        Value::Money(p) => S::Integer(p.cents()),
    }
}

pub(crate) fn sqlite_cell(value: sqlite3::Value) -> Cell {
    use sqlite3::Value as S;
    match value {
        S::Null => Cell::Null,
        S::Integer(v) => Cell::Int(v),
        S::Real(v) => Cell::Real(v),
        S::Text(v) => Cell::Text(v),
        S::Blob(_) => Cell::Other("blob"),
    }
}

pub(crate) fn sqlite_error(error: sqlite3::Error) -> DbError {
    use sqlite3::Error as E;
    match error {
        E::Io(message) => classify_sqlite_message(&message),
        E::NoSuchDatabase => DbError::Unavailable("no such SQLite database".into()),
        E::AccessDenied => DbError::Unavailable("SQLite database access denied".into()),
        E::InvalidConnection => DbError::Unavailable("invalid SQLite connection".into()),
        E::DatabaseFull => DbError::Unavailable("SQLite database full".into()),
    }
}

fn classify_sqlite_message(message: &str) -> DbError {
    if let Some(rest) = message.split("UNIQUE constraint failed: ").nth(1) {
        // "users.username" (or "t.a, t.b") → "users_username_key", PostgreSQL's name.
        let first = rest.split(',').next().unwrap_or(rest).trim();
        return DbError::UniqueViolation {
            constraint: format!("{}_key", first.replace('.', "_")),
        };
    }
    if message.contains("FOREIGN KEY constraint failed") {
        return DbError::ForeignKeyViolation;
    }
    if let Some(rest) = message.split("CHECK constraint failed: ").nth(1) {
        return DbError::CheckViolation(rest.trim().to_string());
    }
    if message.contains("database is locked") || message.contains("busy") {
        return DbError::Unavailable(message.to_string());
    }
    DbError::Other(message.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_become_sqlite_numbered_parameters() {
        assert_eq!(
            sqlite_placeholders("SELECT $1, '$' || $12 FROM t WHERE a = $2"),
            "SELECT ?1, '$' || ?12 FROM t WHERE a = ?2"
        );
    }

    #[test]
    fn sqlite_constraint_messages_map_to_postgres_names() {
        assert_eq!(
            classify_sqlite_message("UNIQUE constraint failed: users.username"),
            DbError::UniqueViolation {
                constraint: "users_username_key".into()
            }
        );
        assert_eq!(
            classify_sqlite_message("FOREIGN KEY constraint failed"),
            DbError::ForeignKeyViolation
        );
        assert!(matches!(
            classify_sqlite_message("database is locked"),
            DbError::Unavailable(_)
        ));
    }
}
