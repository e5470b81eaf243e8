//! PostgreSQL through `spin:postgres@4.0.0`: parameters, cells and errors.

use domain::Timestamp;
use spin_sdk::wit::pg4;

use crate::row::Cell;
use crate::{DbError, Value};

/// A PostgreSQL on this very machine is reached over plain TCP unless the URL says
/// otherwise: Spin verifies certificates for every `sslmode` but `disable`, and a local
/// server's self-signed certificate would turn every request into a 503. TLS over the
/// loopback interface protects nothing. Remote hosts keep the URL as given.
pub(crate) fn plaintext_on_loopback(url: &str) -> String {
    let rest = url.trim_start_matches("postgres://");
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    let host_port = authority.rsplit('@').next().unwrap_or_default();
    let host = if let Some(v6) = host_port.strip_prefix('[') {
        v6.split(']').next().unwrap_or_default()
    } else {
        host_port.split(':').next().unwrap_or_default()
    };
    let loopback = matches!(host, "localhost" | "::1") || host.starts_with("127.");
    if !loopback || url.contains("sslmode=") {
        return url.to_string();
    }
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}sslmode=disable")
}

pub(crate) fn pg_param(value: &Value) -> pg4::ParameterValue {
    use pg4::ParameterValue as P;
    match value {
        Value::Null => P::DbNull,
        Value::I32(v) => P::Int32(*v),
        Value::I64(v) => P::Int64(*v),
        Value::Text(v) => P::Str(v.clone()),
        Value::Bool(v) => P::Boolean(*v),
        // TIMESTAMP (without time zone) columns hold UTC; see DESIGN.md on timestamptz.
        Value::Timestamp(t) => P::Datetime(t.to_civil()),
        Value::Money(p) => P::Decimal(p.to_string()),
    }
}

pub(crate) fn pg_cell(value: pg4::DbValue) -> Cell {
    use pg4::DbValue as V;
    match value {
        V::DbNull => Cell::Null,
        V::Boolean(v) => Cell::Bool(v),
        V::Int8(v) => Cell::Int(i64::from(v)),
        V::Int16(v) => Cell::Int(i64::from(v)),
        V::Int32(v) => Cell::Int(i64::from(v)),
        V::Int64(v) => Cell::Int(v),
        V::Floating32(v) => Cell::Real(f64::from(v)),
        V::Floating64(v) => Cell::Real(v),
        V::Str(v) => Cell::Text(v),
        V::Decimal(v) => Cell::Decimal(v),
        V::Datetime((y, m, d, hh, mm, ss, ns)) => {
            Cell::Timestamp(Timestamp::from_civil(y, m, d, hh, mm, ss, ns))
        }
        V::Timestamp(secs) => Cell::Timestamp(Timestamp::from_micros(secs * 1_000_000)),
        _ => Cell::Other("unsupported PostgreSQL type"),
    }
}

pub(crate) fn pg_error(error: pg4::Error) -> DbError {
    use pg4::{Error as E, QueryError as Q};
    match error {
        E::ConnectionFailed(message) => DbError::Unavailable(message),
        E::QueryFailed(Q::DbError(e)) => {
            let constraint = e
                .extras
                .iter()
                .find(|(k, _)| k == "constraint")
                .map(|(_, v)| v.clone())
                .or_else(|| quoted_name(&e.message));
            server_error(&e.code, constraint, &e.message)
        }
        // Spin 3.6 and 4.0 return a server error raised while the rows stream in (a
        // unique violation of `INSERT … RETURNING`, say) as text: the Debug form of the
        // error, SQLSTATE included. Without a SQLSTATE the connection broke.
        E::QueryFailed(Q::Text(message)) => match sqlstate_in_text(&message) {
            Some(code) => {
                let constraint = constraint_in_text(&message);
                server_error(&code, constraint, "server error (as text)")
            }
            None => DbError::Unavailable(message),
        },
        E::BadParameter(m) | E::ValueConversionFailed(m) | E::Other(m) => DbError::Other(m),
    }
}

/// A server error by SQLSTATE.
fn server_error(code: &str, constraint: Option<String>, message: &str) -> DbError {
    match code {
        "23505" => DbError::UniqueViolation {
            constraint: constraint.unwrap_or_default(),
        },
        "23503" => DbError::ForeignKeyViolation,
        "23514" => DbError::CheckViolation(constraint.unwrap_or_default()),
        // Connection exceptions, shutdown, resource exhaustion: transient.
        code if code.starts_with("08") || code.starts_with("57P") || code.starts_with("53") => {
            DbError::Unavailable(format!("{message} ({code})"))
        }
        code => DbError::Other(format!("{message} ({code})")),
    }
}

/// The SQLSTATE in the Debug text of a tokio-postgres error (`SqlState(E23505)`), which
/// both Spin 3.6 and 4.0 put in a text error.
fn sqlstate_in_text(text: &str) -> Option<String> {
    let start = text.find("SqlState(E")? + "SqlState(E".len();
    let code: String = text[start..].chars().take(5).collect();
    (code.len() == 5 && code.chars().all(|c| c.is_ascii_alphanumeric())).then_some(code)
}

/// The constraint in the same text (`constraint: Some("users_email_key")`, its quotes
/// escaped once more in Spin 4.0's nesting).
fn constraint_in_text(text: &str) -> Option<String> {
    let start = text.find("constraint: Some(")? + "constraint: Some(".len();
    let name: String = text[start..]
        .trim_start_matches(['\\', '"'])
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    (!name.is_empty()).then_some(name)
}

/// The first `"quoted"` name in a PostgreSQL message (the constraint, for 23505).
fn quoted_name(message: &str) -> Option<String> {
    let start = message.find('"')? + 1;
    let end = message[start..].find('"')? + start;
    Some(message[start..end].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_postgres_defaults_to_plain_tcp() {
        assert_eq!(
            plaintext_on_loopback("postgres://u:p@127.0.0.1:5432/db"),
            "postgres://u:p@127.0.0.1:5432/db?sslmode=disable"
        );
        assert_eq!(
            plaintext_on_loopback("postgres://localhost/db?application_name=x"),
            "postgres://localhost/db?application_name=x&sslmode=disable"
        );
        assert_eq!(
            plaintext_on_loopback("postgres://u@[::1]:5432/db"),
            "postgres://u@[::1]:5432/db?sslmode=disable"
        );
        for kept in [
            "postgres://u@db.example.com/db",
            "postgres://u@127.0.0.1/db?sslmode=require",
        ] {
            assert_eq!(plaintext_on_loopback(kept), kept);
        }
    }

    #[test]
    fn server_errors_returned_as_text_keep_their_meaning() {
        // Spin 4.0.2 (a v4 error's Debug, as-text nested and escaped once more).
        let spin4 = r#"Error::QueryFailed(QueryError::DbError(DbError { as-text: "Error { kind: Db, cause: Some(DbError { severity: "ERROR", code: SqlState(E23505), message: "duplicate key value violates unique constraint \"users_email_key\"", constraint: Some("users_email_key"), file: Some("nbtinsert.c") }) }", severity: "ERROR", code: "23505", extras: [("constraint", "users_email_key")] }))"#;
        // Spin 3.6.3 (a tokio-postgres error's Debug).
        let spin3 = r#"Error { kind: Db, cause: Some(DbError { severity: "ERROR", parsed_severity: Some(Error), code: SqlState(E23505), message: "duplicate key value violates unique constraint "cars_plate_key"", constraint: Some("cars_plate_key"), file: Some("nbtinsert.c") }) }"#;
        for (text, constraint) in [(spin4, "users_email_key"), (spin3, "cars_plate_key")] {
            assert_eq!(
                pg_error(pg4::Error::QueryFailed(pg4::QueryError::Text(text.into()))),
                DbError::UniqueViolation {
                    constraint: constraint.into()
                }
            );
        }
        let fk = "Error { kind: Db, cause: Some(DbError { code: SqlState(E23503) }) }";
        assert_eq!(
            pg_error(pg4::Error::QueryFailed(pg4::QueryError::Text(fk.into()))),
            DbError::ForeignKeyViolation
        );
        assert!(matches!(
            pg_error(pg4::Error::QueryFailed(pg4::QueryError::Text(
                "connection closed".into()
            ))),
            DbError::Unavailable(_)
        ));
    }

    #[test]
    fn postgres_constraint_name_from_message() {
        assert_eq!(
            quoted_name("duplicate key value violates unique constraint \"cars_plate_key\""),
            Some("cars_plate_key".into())
        );
    }
}
