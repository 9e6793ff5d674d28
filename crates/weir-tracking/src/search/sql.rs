//! Translating checked comparisons into SQLite conditions with bound values, so no text from a
//! filter is ever spliced into SQL.
//!
//! Comparisons follow MLflow's SQL store on SQLite, which turns on `case_sensitive_like`:
//! `LIKE` is case-sensitive and `ILIKE` is `lower(x) LIKE lower(pattern)`. Weir does not change
//! that connection setting. It writes `LIKE` as `GLOB` with the equivalent pattern
//! ([`like_to_glob`]), which is case-sensitive whatever the setting.

use rusqlite::types::{FromSql, Value as SqlValue};
use rusqlite::{params_from_iter, Transaction};

use crate::error::{Result, TrackingError};
use crate::search::filter::{Literal, Op};

/// A SQL fragment and the values bound to its `?` placeholders, in order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sql {
    pub text: String,
    pub params: Vec<SqlValue>,
}

impl Sql {
    /// Appends SQL text that has no placeholders.
    pub fn push(&mut self, text: &str) {
        self.text.push_str(text);
    }

    /// Appends one `?` bound to `value`.
    pub fn bind(&mut self, value: impl Into<SqlValue>) {
        self.text.push('?');
        self.params.push(value.into());
    }

    /// Appends `(?, ?, ...)` with one placeholder bound to each value, in order.
    pub fn bind_list<T: Into<SqlValue>>(&mut self, values: impl IntoIterator<Item = T>) {
        self.push("(");
        for (i, value) in values.into_iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.bind(value);
        }
        self.push(")");
    }

    /// Runs this statement, which selects one key per row with `LIMIT page_size + 1`. Returns
    /// the first `page_size` keys and whether more rows followed them.
    pub fn select_page<T: FromSql>(
        &self,
        tx: &Transaction<'_>,
        page_size: i64,
    ) -> Result<(Vec<T>, bool)> {
        let page_size = usize::try_from(page_size).unwrap_or(usize::MAX);
        let mut statement = tx.prepare_cached(&self.text)?;
        let mut keys = statement
            .query_map(params_from_iter(self.params.iter()), |row| row.get::<_, T>(0))?
            .collect::<rusqlite::Result<Vec<T>>>()?;
        let more = keys.len() > page_size;
        keys.truncate(page_size);
        Ok((keys, more))
    }

    /// Appends another fragment with its values.
    pub fn append(&mut self, other: Sql) {
        self.text.push_str(&other.text);
        self.params.extend(other.params);
    }

    /// Appends the condition `expr op value`. `expr` is SQL written by Weir, such as
    /// `r.status` or `p.value`, never text from a request. The value must suit the operator,
    /// as [`crate::search::rules::validate`] ensures: a list for `IN` and `NOT IN`, a string
    /// for `LIKE` and `ILIKE`, and none for `IS NULL` and `IS NOT NULL`.
    pub fn push_condition(&mut self, expr: &str, op: Op, value: &Literal) -> Result<()> {
        match (op, value) {
            (Op::IsNull, _) => self.push(&format!("{expr} IS NULL")),
            (Op::IsNotNull, _) => self.push(&format!("{expr} IS NOT NULL")),
            (Op::In | Op::NotIn, Literal::List(items)) => {
                let keyword = if op == Op::In { "IN" } else { "NOT IN" };
                self.push(&format!("{expr} {keyword} "));
                self.bind_list(items.iter().cloned());
            }
            (Op::Like, Literal::Str(pattern)) => {
                self.push(&format!("{expr} GLOB "));
                self.bind(like_to_glob(pattern));
            }
            (Op::ILike, Literal::Str(pattern)) => {
                self.push(&format!("lower({expr}) LIKE lower("));
                self.bind(pattern.clone());
                self.push(")");
            }
            (Op::Eq | Op::Ne | Op::Gt | Op::Ge | Op::Lt | Op::Le, _) => {
                let bound = bind_value(value).ok_or_else(|| mismatch(op, value))?;
                self.push(&format!("{expr} {} ", op.as_str()));
                self.bind(bound);
            }
            _ => return Err(mismatch(op, value)),
        }
        Ok(())
    }
}

fn mismatch(op: Op, value: &Literal) -> TrackingError {
    TrackingError::invalid(format!(
        "Invalid filter: the comparator {} cannot take the value {}.",
        op.as_str(),
        value.describe()
    ))
}

/// Converts a single literal to its SQL value: text, integer or real. Lists and `None` have
/// none.
pub fn bind_value(value: &Literal) -> Option<SqlValue> {
    match value {
        Literal::Str(text) => Some(SqlValue::Text(text.clone())),
        Literal::Int(number) => Some(SqlValue::Integer(*number)),
        Literal::Num(number) => Some(SqlValue::Real(*number)),
        Literal::List(_) | Literal::None => None,
    }
}

/// Converts a SQL `LIKE` pattern (`%` any run, `_` any one character, no escape character)
/// into the `GLOB` pattern that matches the same strings, case-sensitively. GLOB's own
/// special characters `*`, `?` and `[` are put in brackets so they match themselves.
pub fn like_to_glob(pattern: &str) -> String {
    let mut glob = String::with_capacity(pattern.len() + 4);
    for c in pattern.chars() {
        match c {
            '%' => glob.push('*'),
            '_' => glob.push('?'),
            '*' => glob.push_str("[*]"),
            '?' => glob.push_str("[?]"),
            '[' => glob.push_str("[[]"),
            other => glob.push(other),
        }
    }
    glob
}

#[cfg(test)]
mod tests {
    use rusqlite::Connection;

    use super::*;

    /// Evaluates `'subject' <op> value` in SQLite.
    fn matches(subject: &str, op: Op, value: Literal) -> bool {
        let conn = Connection::open_in_memory().expect("in-memory database");
        let mut sql = Sql::default();
        sql.push("SELECT ");
        sql.push_condition("?", op, &value).expect("condition builds");
        let mut params = vec![SqlValue::Text(subject.to_owned())];
        params.extend(sql.params);
        conn.query_row(&sql.text, rusqlite::params_from_iter(params), |row| {
            row.get::<_, Option<bool>>(0)
        })
        .expect("query runs")
        .unwrap_or(false)
    }

    fn text(value: &str) -> Literal {
        Literal::Str(value.to_owned())
    }

    #[test]
    fn like_is_case_sensitive() {
        assert!(matches("Alpha", Op::Like, text("A%")));
        assert!(!matches("alpha", Op::Like, text("A%")));
        assert!(matches("alpha", Op::Like, text("%ph_")));
        assert!(!matches("alpha", Op::Like, text("%ph")));
    }

    #[test]
    fn like_treats_glob_characters_literally() {
        assert!(matches("a*b", Op::Like, text("a*b")));
        assert!(!matches("axb", Op::Like, text("a*b")));
        assert!(matches("a?b", Op::Like, text("a?b")));
        assert!(!matches("axb", Op::Like, text("a?b")));
        assert!(matches("[x]", Op::Like, text("[x]")));
        assert!(!matches("x", Op::Like, text("[x]")));
    }

    #[test]
    fn ilike_ignores_ascii_case() {
        assert!(matches("ALPHA", Op::ILike, text("al%")));
        assert!(matches("alpha", Op::ILike, text("AL_HA")));
        assert!(!matches("beta", Op::ILike, text("al%")));
    }

    #[test]
    fn lists_and_equality_bind_values() {
        let list = Literal::List(vec!["a".into(), "b".into()]);
        assert!(matches("a", Op::In, list.clone()));
        assert!(!matches("c", Op::In, list.clone()));
        assert!(matches("c", Op::NotIn, list));
        assert!(matches("x'y", Op::Eq, text("x'y")));
        assert!(matches("b", Op::Gt, text("a")));
    }

    #[test]
    fn mismatched_values_are_rejected() {
        let mut sql = Sql::default();
        let error = sql.push_condition("x", Op::Like, &Literal::Int(1)).unwrap_err();
        assert_eq!(error.code, crate::ErrorCode::InvalidParameterValue);
        let error = sql.push_condition("x", Op::In, &text("a")).unwrap_err();
        assert_eq!(error.code, crate::ErrorCode::InvalidParameterValue);
    }

    #[test]
    fn like_patterns_become_globs() {
        assert_eq!(like_to_glob("%a_b%"), "*a?b*");
        assert_eq!(like_to_glob("*?["), "[*][?][[]");
        assert_eq!(like_to_glob("é]"), "é]");
    }
}
