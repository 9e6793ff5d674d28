//! Paged, filtered and sorted listings in the terms of the KFP API, turned into SQL.
//!
//! An [`Entity`] maps the KFP field names of one table to SQL expressions. [`fetch_page`]
//! turns a [`ListQuery`] into one `SELECT` for the page and one `SELECT count(*)` for
//! `total_size`, with every filter value bound as a parameter. Rows are ordered by the sort
//! field, then by the entity's unique key, so rows with equal sort values keep one order and a
//! page token (see [`super::page_token`]) marks an exact position.
//!
//! Filter semantics follow the KFP API server:
//! - Text fields take `EQUALS`, `NOT_EQUALS`, the four comparisons, `IN` with a list of texts, and
//!   `IS_SUBSTRING`. `IS_SUBSTRING` uses `LIKE`, which ignores the case of ASCII letters, as
//!   KFP's MySQL `LIKE` does with its default collation.
//! - Enumerations (`state`, `storage_state`, `mode`) are text fields whose `EQUALS`,
//!   `NOT_EQUALS` and `IN` values must be known names, so a misspelled state is an error
//!   instead of an empty page.
//! - Timestamp fields take a timestamp, compared to the microsecond, or an integer count of
//!   seconds since the Unix epoch. KFP stores whole seconds, so an integer matches the whole
//!   second: `created_at EQUALS 1700000000` matches every run created during that second.
//! - `NOT_EQUALS` also matches rows where the field is unset (NULL), as KFP's empty strings do.

use std::fmt::Write as _;

use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, Row};

use super::convert::backend;
use super::page_token::{fingerprint, PageToken};
use crate::{FilterValue, ListQuery, Op, Page, Predicate, Result, StoreError};

const MICROS_PER_SECOND: i64 = 1_000_000;

/// Type of a listable field, which decides the filters it takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum FieldKind {
    Text,
    /// Text restricted to the listed names.
    Enum(&'static [&'static str]),
    /// INTEGER microseconds since the Unix epoch.
    Timestamp,
}

/// A field that listings filter and sort on.
#[derive(Debug)]
pub(super) struct Field {
    /// KFP API names: the v2beta1 name first, then older names the KFP server also accepts.
    pub names: &'static [&'static str],
    /// SQL expression of the value, usually a column name.
    pub sql: &'static str,
    pub kind: FieldKind,
    /// Whether the value can be NULL, which needs extra care in page positions.
    pub nullable: bool,
}

impl Field {
    pub const fn text(names: &'static [&'static str], sql: &'static str, nullable: bool) -> Field {
        Field { names, sql, kind: FieldKind::Text, nullable }
    }

    pub const fn timestamp(
        names: &'static [&'static str],
        sql: &'static str,
        nullable: bool,
    ) -> Field {
        Field { names, sql, kind: FieldKind::Timestamp, nullable }
    }
}

/// A table as listings see it.
#[derive(Debug)]
pub(super) struct Entity {
    /// Plural noun for messages (`runs`).
    pub noun: &'static str,
    pub table: &'static str,
    /// Unique, non-NULL column that orders rows with equal sort values.
    pub key: &'static str,
    /// Field sorted on when a query names none. KFP sorts every listing by creation time.
    pub default_sort: &'static str,
    pub fields: &'static [Field],
}

impl Entity {
    fn field(&self, name: &str) -> Option<&'static Field> {
        self.fields.iter().find(|field| field.names.contains(&name))
    }

    /// Returns the v2beta1 names of the fields, for error messages.
    fn field_names(&self) -> String {
        let names: Vec<&str> =
            self.fields.iter().filter_map(|field| field.names.first()).copied().collect();
        names.join(", ")
    }
}

/// An SQL condition with `?` placeholders and the values they bind, in order.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Condition {
    pub sql: String,
    pub values: Vec<SqlValue>,
}

impl Condition {
    pub fn new(sql: impl Into<String>, values: Vec<SqlValue>) -> Condition {
        Condition { sql: sql.into(), values }
    }
}

pub(super) fn text_value(text: &str) -> SqlValue {
    SqlValue::Text(text.to_owned())
}

/// Lists one page of `entity`.
///
/// `columns` is the select list that `read` reads. `scope` contains the conditions that the
/// caller's arguments add, such as an experiment or a namespace. They are part of the page
/// token's fingerprint, like the query's predicates.
pub(super) fn fetch_page<T>(
    conn: &Connection,
    entity: &Entity,
    columns: &str,
    scope: Vec<Condition>,
    query: &ListQuery,
    read: impl Fn(&Row<'_>) -> Result<T>,
) -> Result<Page<T>> {
    let statement = PageStatement::new(entity, columns, scope, query)?;
    let total_size = count(conn, &statement)?;

    let action = || format!("listing {}", entity.noun);
    let mut stmt = conn.prepare_cached(&statement.page_sql).map_err(backend(action()))?;
    let mut rows = stmt
        .query(rusqlite::params_from_iter(&statement.page_values))
        .map_err(backend(action()))?;

    let mut items = Vec::new();
    let mut last = None;
    let mut has_more = false;
    while let Some(row) = rows.next().map_err(backend(action()))? {
        if items.len() == statement.page_size {
            has_more = true;
            break;
        }
        items.push(read(row)?);
        let sort_value: SqlValue = row.get("page_sort_value").map_err(backend(action()))?;
        let key: SqlValue = row.get("page_key").map_err(backend(action()))?;
        last = Some(PageToken { sort_value, key });
    }

    let next_page_token = match last {
        Some(token) if has_more => Some(token.encode(statement.fingerprint)),
        _ => None,
    };
    Ok(Page { items, next_page_token, total_size })
}

fn count(conn: &Connection, statement: &PageStatement) -> Result<u64> {
    let action = || format!("counting {}", statement.noun);
    let mut stmt = conn.prepare_cached(&statement.count_sql).map_err(backend(action()))?;
    let total: i64 = stmt
        .query_row(rusqlite::params_from_iter(&statement.count_values), |row| row.get(0))
        .map_err(backend(action()))?;
    // count(*) is never negative.
    Ok(u64::try_from(total).unwrap_or_default())
}

/// The SQL of one page and of its row count.
#[derive(Debug)]
pub(super) struct PageStatement {
    noun: &'static str,
    pub page_sql: String,
    pub page_values: Vec<SqlValue>,
    pub count_sql: String,
    pub count_values: Vec<SqlValue>,
    page_size: usize,
    pub fingerprint: u64,
}

impl PageStatement {
    pub fn new(
        entity: &Entity,
        columns: &str,
        scope: Vec<Condition>,
        query: &ListQuery,
    ) -> Result<PageStatement> {
        let mut conditions = scope;
        for predicate in &query.predicates {
            conditions.push(predicate_condition(entity, predicate)?);
        }
        let sort = sort_field(entity, query.sort_field.as_deref())?;
        let direction = if query.descending { "DESC" } else { "ASC" };

        let mut identity = format!("{}\n{}\n{direction}", entity.noun, sort.sql);
        for condition in &conditions {
            // Writing to a String cannot fail.
            let _ = write!(identity, "\n{}\n{:?}", condition.sql, condition.values);
        }
        let fingerprint = fingerprint(&identity);

        let count_sql =
            format!("SELECT count(*) FROM {}{}", entity.table, where_clause(&conditions));
        let count_values: Vec<SqlValue> =
            conditions.iter().flat_map(|condition| condition.values.clone()).collect();

        let token = query.page_token.as_deref().filter(|text| !text.is_empty());
        if let Some(text) = token {
            let position = PageToken::decode(text, fingerprint)?;
            conditions.push(after_condition(entity, sort, query.descending, position));
        }

        let page_size = query.effective_page_size();
        let mut page_values: Vec<SqlValue> =
            conditions.iter().flat_map(|condition| condition.values.clone()).collect();
        // Fetching one row more than the page shows whether another page follows.
        page_values.push(SqlValue::Integer(i64::try_from(page_size + 1).unwrap_or(i64::MAX)));
        let page_sql = format!(
            "SELECT {columns}, {sort} AS page_sort_value, {key} AS page_key FROM {table}{where} \
             ORDER BY {sort} {direction}, {key} {direction} LIMIT ?",
            sort = sort.sql,
            key = entity.key,
            table = entity.table,
            r#where = where_clause(&conditions),
        );

        Ok(PageStatement {
            noun: entity.noun,
            page_sql,
            page_values,
            count_sql,
            count_values,
            page_size,
            fingerprint,
        })
    }
}

fn where_clause(conditions: &[Condition]) -> String {
    if conditions.is_empty() {
        return String::new();
    }
    let parts: Vec<&str> = conditions.iter().map(|condition| condition.sql.as_str()).collect();
    format!(" WHERE {}", parts.join(" AND "))
}

fn sort_field(entity: &Entity, name: Option<&str>) -> Result<&'static Field> {
    let name = name.filter(|name| !name.is_empty()).unwrap_or(entity.default_sort);
    entity.field(name).ok_or_else(|| {
        StoreError::InvalidQuery(format!(
            "cannot sort {} by {name:?}; sortable fields: {}",
            entity.noun,
            entity.field_names()
        ))
    })
}

/// Builds the condition that selects the rows after `position` in the listing order.
///
/// SQLite puts NULL before every value in ascending order and after every value in descending
/// order. Row values such as `(created_at, seq) < (?, ?)` let SQLite seek in an index on
/// `(created_at)`, whose entries end with the rowid.
fn after_condition(
    entity: &Entity,
    sort: &Field,
    descending: bool,
    position: PageToken,
) -> Condition {
    let (column, key) = (sort.sql, entity.key);
    let PageToken { sort_value, key: key_value } = position;
    let sql = match (descending, &sort_value) {
        (false, SqlValue::Null) => {
            format!("(({column} IS NULL AND {key} > ?) OR {column} IS NOT NULL)")
        }
        (true, SqlValue::Null) => format!("({column} IS NULL AND {key} < ?)"),
        (false, _) => format!("({column}, {key}) > (?, ?)"),
        (true, _) if sort.nullable => format!("(({column}, {key}) < (?, ?) OR {column} IS NULL)"),
        (true, _) => format!("({column}, {key}) < (?, ?)"),
    };
    let values = match sort_value {
        SqlValue::Null => vec![key_value],
        value => vec![value, key_value],
    };
    Condition::new(sql, values)
}

fn predicate_condition(entity: &Entity, predicate: &Predicate) -> Result<Condition> {
    let field = entity.field(&predicate.field).ok_or_else(|| {
        StoreError::InvalidQuery(format!(
            "cannot filter {} by {:?}; fields: {}",
            entity.noun,
            predicate.field,
            entity.field_names()
        ))
    })?;
    let filter = FieldFilter { entity, field, predicate };
    match field.kind {
        FieldKind::Text | FieldKind::Enum(_) => filter.text_condition(),
        FieldKind::Timestamp => filter.timestamp_condition(),
    }
}

/// One predicate on a known field.
struct FieldFilter<'a> {
    entity: &'a Entity,
    field: &'static Field,
    predicate: &'a Predicate,
}

impl FieldFilter<'_> {
    fn text_condition(&self) -> Result<Condition> {
        let column = self.field.sql;
        match (self.predicate.op, &self.predicate.value) {
            (Op::In, FilterValue::TextList(texts)) => {
                for text in texts {
                    self.check_enum_value(text)?;
                }
                let placeholders = vec!["?"; texts.len()].join(", ");
                let values = texts.iter().map(|text| SqlValue::Text(text.clone())).collect();
                Ok(Condition::new(format!("{column} IN ({placeholders})"), values))
            }
            (Op::IsSubstring, FilterValue::Text(text)) => {
                let pattern = format!("%{}%", escape_like(text));
                Ok(Condition::new(
                    format!("{column} LIKE ? ESCAPE '\\'"),
                    vec![SqlValue::Text(pattern)],
                ))
            }
            (Op::In | Op::IsSubstring, _) => Err(self.wrong_value("a text value")),
            (op, FilterValue::Text(text)) => {
                if matches!(op, Op::Equals | Op::NotEquals) {
                    self.check_enum_value(text)?;
                }
                let sql = format!("{column} {} ?", comparison(op));
                Ok(Condition::new(sql, vec![SqlValue::Text(text.clone())]))
            }
            _ => Err(self.wrong_value("a text value")),
        }
    }

    fn timestamp_condition(&self) -> Result<Condition> {
        let column = self.field.sql;
        match (self.predicate.op, &self.predicate.value) {
            (Op::In | Op::IsSubstring, _) => Err(StoreError::InvalidQuery(format!(
                "{} does not apply to the timestamp field {:?} of {}; use EQUALS, NOT_EQUALS, \
                 GREATER_THAN(_EQUALS) or LESS_THAN(_EQUALS)",
                self.predicate.op.as_str(),
                self.predicate.field,
                self.entity.noun
            ))),
            (op, FilterValue::Timestamp(time)) => {
                let sql = format!("{column} {} ?", comparison(op));
                Ok(Condition::new(sql, vec![SqlValue::Integer(time.timestamp_micros())]))
            }
            (op, FilterValue::Int(seconds)) => self.second_condition(op, *seconds),
            _ => {
                Err(self
                    .wrong_value("a timestamp or an integer count of seconds since the Unix epoch"))
            }
        }
    }

    /// Compares the timestamp with the whole second `seconds`, as KFP's second columns do.
    fn second_condition(&self, op: Op, seconds: i64) -> Result<Condition> {
        let column = self.field.sql;
        let start = seconds.checked_mul(MICROS_PER_SECOND);
        let end = start.and_then(|start| start.checked_add(MICROS_PER_SECOND));
        let (Some(start), Some(end)) = (start, end) else {
            return Err(StoreError::InvalidQuery(format!(
                "{seconds} seconds since the Unix epoch is out of range for the field {:?} of {}",
                self.predicate.field, self.entity.noun
            )));
        };
        let (sql, values) = match op {
            Op::Equals => (format!("({column} >= ? AND {column} < ?)"), vec![start, end]),
            Op::NotEquals => {
                (format!("({column} IS NULL OR {column} < ? OR {column} >= ?)"), vec![start, end])
            }
            Op::GreaterThan => (format!("{column} >= ?"), vec![end]),
            Op::GreaterThanEquals => (format!("{column} >= ?"), vec![start]),
            Op::LessThan => (format!("{column} < ?"), vec![start]),
            Op::LessThanEquals => (format!("{column} < ?"), vec![end]),
            // timestamp_condition rejects IN and IS_SUBSTRING before this.
            Op::In | Op::IsSubstring => return Err(self.wrong_value("a timestamp")),
        };
        Ok(Condition::new(sql, values.into_iter().map(SqlValue::Integer).collect()))
    }

    fn check_enum_value(&self, text: &str) -> Result<()> {
        let FieldKind::Enum(names) = self.field.kind else {
            return Ok(());
        };
        if names.contains(&text) {
            return Ok(());
        }
        Err(StoreError::InvalidQuery(format!(
            "{text:?} is not a value of the field {:?} of {}; use one of {}",
            self.predicate.field,
            self.entity.noun,
            names.join(", ")
        )))
    }

    /// Builds the error for a value of the wrong type. `expected` names the right type.
    fn wrong_value(&self, expected: &str) -> StoreError {
        let Predicate { field, op, value } = self.predicate;
        let op = op.as_str();
        let hint = match (op, value) {
            ("IN", _) => "IN takes a list of text values".to_owned(),
            (_, FilterValue::IntList(_) | FilterValue::TextList(_)) => {
                format!("only IN takes a list, and {op} takes {expected}")
            }
            _ => format!("{op} takes {expected} on this field"),
        };
        StoreError::InvalidQuery(format!(
            "cannot filter {} by {field:?} {op} {}: {hint}",
            self.entity.noun,
            describe(value)
        ))
    }
}

/// Returns the SQL operator of a comparison. `IS NOT` also matches NULL, unlike `<>`.
fn comparison(op: Op) -> &'static str {
    match op {
        Op::Equals => "=",
        Op::NotEquals => "IS NOT",
        Op::GreaterThan => ">",
        Op::GreaterThanEquals => ">=",
        Op::LessThan => "<",
        Op::LessThanEquals => "<=",
        // Callers build IN and LIKE conditions themselves.
        Op::In => "IN",
        Op::IsSubstring => "LIKE",
    }
}

/// Escapes the `LIKE` wildcards `%` and `_`, and the escape character `\` itself.
fn escape_like(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for ch in text.chars() {
        if matches!(ch, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(ch);
    }
    escaped
}

fn describe(value: &FilterValue) -> String {
    match value {
        FilterValue::Int(number) => format!("the integer {number}"),
        FilterValue::Text(text) => format!("the text {text:?}"),
        FilterValue::Bool(flag) => format!("the boolean {flag}"),
        FilterValue::Timestamp(time) => format!("the timestamp {}", time.to_rfc3339()),
        FilterValue::IntList(numbers) => format!("the integer list {numbers:?}"),
        FilterValue::TextList(texts) => format!("the text list {texts:?}"),
    }
}
