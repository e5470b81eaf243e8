//! A result row, read by column name: the repositories name every column they select
//! (`c.model AS car_model`), so a row is decoded by what it holds, not by position.

use std::rc::Rc;

use domain::{Price, Timestamp};

use crate::DbError;

/// One value read from a row, in a representation common to both dialects.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Cell {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    Bool(bool),
    Timestamp(Timestamp),
    Decimal(String),
    Other(&'static str),
}

/// A result row. The column names are shared by every row of one result.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    columns: Rc<[String]>,
    cells: Vec<Cell>,
}

impl Row {
    pub(crate) fn new(columns: Rc<[String]>, cells: Vec<Cell>) -> Row {
        Row { columns, cells }
    }

    fn cell(&self, column: &str) -> Result<&Cell, DbError> {
        self.columns
            .iter()
            .position(|name| name == column)
            .and_then(|index| self.cells.get(index))
            .ok_or_else(|| DbError::Other(format!("no column {column}")))
    }

    fn mismatch(&self, column: &str, wanted: &str) -> DbError {
        DbError::Other(format!(
            "column {column}: expected {wanted}, found {:?}",
            self.cell(column).ok()
        ))
    }

    /// Whether the column is NULL (a missing side of a `LEFT JOIN`, say).
    pub fn is_null(&self, column: &str) -> Result<bool, DbError> {
        Ok(matches!(self.cell(column)?, Cell::Null))
    }

    pub fn i64(&self, column: &str) -> Result<i64, DbError> {
        self.opt_i64(column)?
            .ok_or_else(|| self.mismatch(column, "integer"))
    }

    pub fn opt_i64(&self, column: &str) -> Result<Option<i64>, DbError> {
        match self.cell(column)? {
            Cell::Int(v) => Ok(Some(*v)),
            Cell::Null => Ok(None),
            _ => Err(self.mismatch(column, "integer")),
        }
    }

    pub fn text(&self, column: &str) -> Result<String, DbError> {
        self.opt_text(column)?
            .ok_or_else(|| self.mismatch(column, "text"))
    }

    pub fn opt_text(&self, column: &str) -> Result<Option<String>, DbError> {
        match self.cell(column)? {
            Cell::Text(v) => Ok(Some(v.clone())),
            Cell::Null => Ok(None),
            _ => Err(self.mismatch(column, "text")),
        }
    }

    /// PostgreSQL's `BOOLEAN`, or SQLite's 0/1.
    pub fn bool(&self, column: &str) -> Result<bool, DbError> {
        match self.cell(column)? {
            Cell::Bool(v) => Ok(*v),
            Cell::Int(v) => Ok(*v != 0),
            _ => Err(self.mismatch(column, "boolean")),
        }
    }

    /// PostgreSQL's `TIMESTAMP`, or SQLite's RFC 3339 text.
    pub fn timestamp(&self, column: &str) -> Result<Timestamp, DbError> {
        match self.cell(column)? {
            Cell::Timestamp(t) => Ok(*t),
            Cell::Text(s) => Timestamp::parse(s).ok_or_else(|| self.mismatch(column, "timestamp")),
            _ => Err(self.mismatch(column, "timestamp")),
        }
    }

    pub fn opt_timestamp(&self, column: &str) -> Result<Option<Timestamp>, DbError> {
        match self.cell(column)? {
            Cell::Null => Ok(None),
            _ => self.timestamp(column).map(Some),
        }
    }

    /// PostgreSQL's `NUMERIC(12,2)`, or SQLite's integer cents.
    pub fn price(&self, column: &str) -> Result<Price, DbError> {
        match self.cell(column)? {
            Cell::Decimal(s) => {
                Price::from_decimal_text(s).ok_or_else(|| self.mismatch(column, "decimal"))
            }
            Cell::Int(cents) => Ok(Price::from_cents(*cents)),
            _ => Err(self.mismatch(column, "price")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_found_by_name_whatever_their_position() {
        let columns: Rc<[String]> = ["car_id", "car_model", "brand_id"].map(String::from).into();
        let row = Row::new(
            columns,
            vec![Cell::Int(7), Cell::Text("Civic".into()), Cell::Null],
        );
        assert_eq!(row.i64("car_id"), Ok(7));
        assert_eq!(row.text("car_model").as_deref(), Ok("Civic"));
        assert_eq!(row.opt_i64("brand_id"), Ok(None));
        assert!(row.is_null("brand_id").unwrap());
        assert!(matches!(row.i64("owner_id"), Err(DbError::Other(_))));
        assert!(matches!(row.text("car_id"), Err(DbError::Other(_))));
    }
}
