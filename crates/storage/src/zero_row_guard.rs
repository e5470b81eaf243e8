//! Every PostgreSQL statement that returns rows returns at least one.
//!
//! Spin 4.0.0 – 4.0.2 (and SpinKube's containerd shim v0.25, which embeds 4.0.1) never
//! answers a `spin:postgres` `query` whose result is empty: the host waits for the
//! column list, which it only learns from a first row (spinframework/spin#3671, fixed
//! upstream by #3673). A guest cannot time out a host call, so the only defence is never
//! to send such a query. Each statement is therefore run as
//!
//! ```sql
//! WITH __q AS (<statement>)
//! SELECT __r.* FROM (SELECT 1) AS __one
//! LEFT JOIN (SELECT row_number() OVER () AS __n, __q.* FROM __q) AS __r ON TRUE
//! ORDER BY __r.__n
//! ```
//!
//! The one-row `__one` makes the result non-empty; `__n` numbers the statement's own
//! rows in the order it produced them (and restores that order), and is NULL only on
//! the marker row of an empty result, which [`unwrap`] drops with the `__n` column.
//! A data-modifying statement (`INSERT … RETURNING`) is allowed in a top-level `WITH`,
//! and runs exactly once. A statement that has a `WITH` of its own has its common table
//! expressions hoisted in front of `__q`, since PostgreSQL allows a data-modifying `WITH`
//! only at the top level. Measured cost: see docs/performance.md ("zero-row guard").
//!
//! SQLite is not affected and runs statements as written.

use spin_sdk::wit::pg4::{Column, DbValue};

/// The statement, guarded.
pub fn wrap(sql: &str) -> String {
    let sql = sql.trim().trim_end_matches(';').trim_end();
    let (with, statement) = split_with(sql);
    let ctes = match with {
        Some(with) => format!("{with}, __q AS ({statement})"),
        None => format!("WITH __q AS ({statement})"),
    };
    format!(
        "{ctes} SELECT __r.* FROM (SELECT 1) AS __one \
         LEFT JOIN (SELECT row_number() OVER () AS __n, __q.* FROM __q) AS __r ON TRUE \
         ORDER BY __r.__n"
    )
}

/// The statement's own columns: the numbering column removed.
pub fn own_columns(columns: Vec<Column>) -> impl Iterator<Item = Column> {
    columns.into_iter().skip(1)
}

/// The statement's own rows: the marker row dropped, the numbering column removed.
pub fn unwrap(rows: Vec<Vec<DbValue>>) -> impl Iterator<Item = Vec<DbValue>> {
    rows.into_iter().filter_map(|mut row| {
        if row.is_empty() || matches!(row[0], DbValue::DbNull) {
            return None;
        }
        row.remove(0);
        Some(row)
    })
}

/// `WITH a AS (…), b AS (…) SELECT …` → (`Some("WITH a AS (…), b AS (…)")`,
/// `"SELECT …"`); a statement without a leading `WITH` → (`None`, the statement).
/// Quotes, comments-free SQL and nested parentheses are respected; this is enough for the
/// statements this crate is given, which are ours, never user text.
fn split_with(sql: &str) -> (Option<&str>, &str) {
    if !starts_with_word(sql, "with") {
        return (None, sql);
    }
    let bytes = sql.as_bytes();
    let mut depth = 0usize;
    let mut i = 4;
    let mut quote: Option<u8> = None;
    while i < bytes.len() {
        let b = bytes[i];
        match quote {
            Some(q) if b == q => quote = None,
            Some(_) => {}
            None => match b {
                b'\'' | b'"' => quote = Some(b),
                b'(' => depth += 1,
                b')' if depth > 0 => {
                    depth -= 1;
                    if depth == 0 {
                        // The end of a column list (followed by AS) or of a body
                        // (followed by a comma, or by the statement itself).
                        let rest = sql[i + 1..].trim_start();
                        if !rest.starts_with(',') && !starts_with_word(rest, "as") {
                            let end = i + 1;
                            return (Some(sql[..end].trim_end()), rest);
                        }
                    }
                }
                _ => {}
            },
        }
        i += 1;
    }
    (None, sql)
}

fn starts_with_word(text: &str, word: &str) -> bool {
    text.len() > word.len()
        && text[..word.len()].eq_ignore_ascii_case(word)
        && !text.as_bytes()[word.len()].is_ascii_alphanumeric()
        && text.as_bytes()[word.len()] != b'_'
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_statement_becomes_the_guarded_cte() {
        let sql = wrap("SELECT id FROM users WHERE id = $1;");
        assert!(sql.starts_with("WITH __q AS (SELECT id FROM users WHERE id = $1) SELECT"));
        assert!(sql.ends_with("ORDER BY __r.__n"));
    }

    #[test]
    fn a_leading_with_is_hoisted() {
        let sql = wrap(
            "WITH new_car(id, b) AS (INSERT INTO cars (x) VALUES ('a)(,') RETURNING id, brand_id), \
             other AS MATERIALIZED (SELECT 1) SELECT n.id FROM new_car n",
        );
        assert!(
            sql.starts_with(
                "WITH new_car(id, b) AS (INSERT INTO cars (x) VALUES ('a)(,') RETURNING id, brand_id), \
                 other AS MATERIALIZED (SELECT 1), __q AS (SELECT n.id FROM new_car n) SELECT"
            ),
            "{sql}"
        );
    }

    #[test]
    fn words_that_only_begin_with_with_are_statements() {
        assert_eq!(split_with("without_table"), (None, "without_table"));
        assert_eq!(split_with("SELECT 1"), (None, "SELECT 1"));
    }

    #[test]
    fn the_marker_row_and_the_numbering_are_dropped() {
        let empty = vec![vec![DbValue::DbNull, DbValue::DbNull]];
        assert_eq!(unwrap(empty).count(), 0);
        let rows = vec![
            vec![DbValue::Int64(1), DbValue::Str("a".into())],
            vec![DbValue::Int64(2), DbValue::DbNull],
        ];
        let rows: Vec<_> = unwrap(rows).collect();
        assert_eq!(rows.len(), 2);
        assert!(matches!(&rows[0][..], [DbValue::Str(s)] if s == "a"));
        assert!(matches!(&rows[1][..], [DbValue::DbNull]));
    }
}
