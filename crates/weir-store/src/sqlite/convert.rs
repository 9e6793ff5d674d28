//! Conversions between record fields and SQLite values, and from rusqlite errors to
//! [`StoreError`].
//!
//! [`RowReader`] reads one column of a result row by name and turns every bad value into
//! [`StoreError::Corrupt`] naming `table.column`, so no stored value can make the store panic.

use std::fmt::Display;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use rusqlite::types::FromSql;
use rusqlite::{ErrorCode, Row};
use serde_json::Value;

use super::BUSY_TIMEOUT;
use crate::{Result, StoreError};

/// Converts a timestamp to the stored form, microseconds since the Unix epoch.
pub(super) fn to_micros(time: DateTime<Utc>) -> i64 {
    time.timestamp_micros()
}

pub(super) fn to_micros_opt(time: Option<DateTime<Utc>>) -> Option<i64> {
    time.map(to_micros)
}

/// Serializes a JSON document for a TEXT column.
pub(super) fn to_json(value: &Value, description: &str) -> Result<String> {
    serde_json::to_string(value).map_err(|err| {
        StoreError::Backend(format!("could not serialize {description} as JSON: {err}"))
    })
}

/// Reads the columns of one row of `table`.
pub(super) struct RowReader<'a, 'stmt> {
    row: &'a Row<'stmt>,
    table: &'static str,
}

impl<'a, 'stmt> RowReader<'a, 'stmt> {
    pub(super) fn new(row: &'a Row<'stmt>, table: &'static str) -> Self {
        RowReader { row, table }
    }

    pub(super) fn get<T: FromSql>(&self, column: &str) -> Result<T> {
        self.row.get(column).map_err(|err| match err {
            rusqlite::Error::InvalidColumnType(_, _, found) => self.corrupt(
                column,
                format_args!("has SQL type {found}, which does not fit the field"),
            ),
            rusqlite::Error::IntegralValueOutOfRange(_, value) => {
                self.corrupt(column, format_args!("contains {value}, which is out of range"))
            }
            rusqlite::Error::FromSqlConversionFailure(_, _, cause) => {
                self.corrupt(column, format_args!("has a value that cannot be read: {cause}"))
            }
            other => backend(format_args!("reading column {}.{column}", self.table))(other),
        })
    }

    pub(super) fn json(&self, column: &str) -> Result<Value> {
        let text: String = self.get(column)?;
        serde_json::from_str(&text).map_err(|err| {
            self.corrupt(column, format_args!("does not contain valid JSON ({err})"))
        })
    }

    pub(super) fn json_opt(&self, column: &str) -> Result<Option<Value>> {
        let Some(text) = self.get::<Option<String>>(column)? else {
            return Ok(None);
        };
        serde_json::from_str(&text).map(Some).map_err(|err| {
            self.corrupt(column, format_args!("does not contain valid JSON ({err})"))
        })
    }

    pub(super) fn timestamp(&self, column: &str) -> Result<DateTime<Utc>> {
        let micros: i64 = self.get(column)?;
        self.micros_to_time(column, micros)
    }

    pub(super) fn timestamp_opt(&self, column: &str) -> Result<Option<DateTime<Utc>>> {
        match self.get::<Option<i64>>(column)? {
            None => Ok(None),
            Some(micros) => self.micros_to_time(column, micros).map(Some),
        }
    }

    fn micros_to_time(&self, column: &str, micros: i64) -> Result<DateTime<Utc>> {
        DateTime::from_timestamp_micros(micros).ok_or_else(|| {
            self.corrupt(column, format_args!("contains {micros}, which is not a timestamp"))
        })
    }

    /// Parses a TEXT column into an enumeration such as [`crate::State`].
    ///
    /// `type_name` names the enumeration in the error (`state`, `task kind`).
    pub(super) fn parse<T: FromStr>(&self, column: &str, type_name: &str) -> Result<T> {
        let text: String = self.get(column)?;
        text.parse().map_err(|_| {
            self.corrupt(
                column,
                format_args!("contains {text:?}, which is not a known {type_name}"),
            )
        })
    }

    fn corrupt(&self, column: &str, problem: impl Display) -> StoreError {
        StoreError::Corrupt(format!("column {}.{column} {problem}", self.table))
    }
}

/// Returns a mapper from a rusqlite error to [`StoreError::Backend`], prefixed with `action`.
pub(super) fn backend(action: impl Display) -> impl FnOnce(rusqlite::Error) -> StoreError {
    move |err| {
        let hint = if err.sqlite_error_code() == Some(ErrorCode::DatabaseBusy) {
            format!(
                " (another process kept the database locked for more than {} s)",
                BUSY_TIMEOUT.as_secs()
            )
        } else {
            String::new()
        };
        StoreError::Backend(format!("{action}: {err}{hint}"))
    }
}

/// Kind of constraint that a failed statement violated, for the errors that callers act on.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Violation {
    Unique,
    ForeignKey,
}

pub(super) fn violation(err: &rusqlite::Error) -> Option<Violation> {
    let rusqlite::Error::SqliteFailure(failure, _) = err else {
        return None;
    };
    match failure.extended_code {
        rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE | rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY => {
            Some(Violation::Unique)
        }
        rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY => Some(Violation::ForeignKey),
        _ => None,
    }
}
