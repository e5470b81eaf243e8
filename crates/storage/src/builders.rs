//! Small builders for the SQL the repositories write: `LIKE` patterns, `UPDATE` lists
//! of real changes, and `WHERE` clauses of optional filters.

use domain::Timestamp;

use crate::Value;

/// The `LIKE` pattern for a case-insensitive literal substring search: `%`, `_` and `\`
/// in the user's text match themselves (`ESCAPE '\'` in the SQL).
pub fn contains_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for c in text.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// The columns an `UPDATE` changes, built up field by field; only real changes are
/// added, so an update that changes nothing runs no statement at all.
#[derive(Debug, Default)]
pub struct Changes {
    columns: Vec<&'static str>,
    params: Vec<Value>,
}

impl Changes {
    pub fn set(&mut self, column: &'static str, value: impl Into<Value>) {
        self.columns.push(column);
        self.params.push(value.into());
    }

    /// Sets the column when a new value is given and differs from the current one.
    pub fn set_if_changed<T: PartialEq + Into<Value>>(
        &mut self,
        column: &'static str,
        new: Option<T>,
        current: T,
    ) {
        if let Some(new) = new.filter(|new| *new != current) {
            self.set(column, new);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.columns.is_empty()
    }

    /// `UPDATE <table> SET a = $1, …, updated_at = $n WHERE id = $n+1`, and its
    /// parameters.
    pub fn into_update(self, table: &str, id: i64, now: Timestamp) -> (String, Vec<Value>) {
        let mut sql = format!("UPDATE {table} SET ");
        let mut params = self.params;
        for (i, column) in self.columns.iter().enumerate() {
            sql.push_str(&format!("{column} = ${}, ", i + 1));
        }
        params.push(now.into());
        params.push(id.into());
        sql.push_str(&format!(
            "updated_at = ${} WHERE id = ${}",
            params.len() - 1,
            params.len()
        ));
        (sql, params)
    }
}

/// A `WHERE` clause built from optional filters, numbering parameters as it goes.
#[derive(Debug, Default)]
pub struct Filters {
    conditions: Vec<String>,
    params: Vec<Value>,
}

impl Filters {
    /// Adds a condition; `{}` in `condition` is replaced by this parameter's placeholder.
    pub fn add(&mut self, condition: &str, value: impl Into<Value>) {
        self.params.push(value.into());
        let placeholder = format!("${}", self.params.len());
        self.conditions.push(condition.replace("{}", &placeholder));
    }

    /// ` WHERE a AND b` (or nothing), ` ORDER BY <order> LIMIT $n OFFSET $m`, and the
    /// parameters.
    pub fn into_page(mut self, order: &str, limit: i64, offset: i64) -> (String, Vec<Value>) {
        let mut sql = String::new();
        if !self.conditions.is_empty() {
            sql.push_str(" WHERE ");
            sql.push_str(&self.conditions.join(" AND "));
        }
        self.params.push(limit.into());
        self.params.push(offset.into());
        sql.push_str(&format!(
            " ORDER BY {order} LIMIT ${} OFFSET ${}",
            self.params.len() - 1,
            self.params.len()
        ));
        (sql, self.params)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_patterns_are_literal() {
        assert_eq!(contains_pattern("50%_Off\\"), "%50\\%\\_off\\\\%");
        assert_eq!(contains_pattern("ÁB"), "%áb%");
    }
}
