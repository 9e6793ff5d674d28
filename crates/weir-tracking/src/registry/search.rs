//! Searching registered models and model versions: the filter, parsed and checked by
//! [`crate::search::rules`], becomes SQL conditions ([`crate::search::sql`]), and `order_by`
//! an `ORDER BY` clause.
//!
//! What each search accepts follows MLflow 3.17.2 (`SearchModelUtils`,
//! `SearchModelVersionUtils` and the SQL registry store):
//! - registered models: `name` with `=`, `!=`, `LIKE`, `ILIKE`, `IN` and `NOT IN`, and tags
//!   with `=`, `!=`, `LIKE` and `ILIKE`. Order by `name`, `timestamp` or
//!   `last_updated_timestamp`, where both timestamps mean the last update time. At most 1,000
//!   results a page, 100 by default.
//! - model versions: `name` and `run_id` as above, `source_path` without the lists,
//!   `version_number` with `=`, `!=`, `<`, `<=`, `>` and `>=`, and tags as above. Order by
//!   `name`, `version_number`, `creation_timestamp` or `last_updated_timestamp`. The default
//!   order is the last update time descending. At most 200,000 results a page, which is also
//!   the default.
//! - `LIKE` is case-sensitive and `ILIKE` is not; `%` and `_` are the wildcards.
//! - Prompts (MLflow's prompt registry keeps them as models tagged
//!   `mlflow.prompt.is_prompt` = `true`) are left out unless the filter requests them with
//!   ``tags.`mlflow.prompt.is_prompt` = 'true'``.
//! - Ties are broken by name ascending, then, for versions, by version descending.
//! - `page_token` is base64 of `{"offset": N}`, the offset of the next page.

use axum::extract::State;
use axum::Json;
use rusqlite::types::Value as SqlValue;
use rusqlite::{params_from_iter, Transaction};
use serde_json::{Map, Value};

use super::checks::IS_PROMPT_TAG;
use super::store::{self, LatestOrder};
use crate::error::{Result, TrackingError};
use crate::fields::Fields;
use crate::search::filter::{Comparison, Entity, Literal, Op};
use crate::search::sql::Sql;
use crate::search::{page, rules};
use crate::TrackingState;

/// `GET registered-models/search`.
pub async fn search_models(
    State(state): State<TrackingState>,
    fields: Fields,
) -> Result<Json<Value>> {
    let max_results = fields.max_results(100, 1000)?;
    let query =
        model_query(&fields.opt_str("filter")?.unwrap_or_default(), &fields.str_list("order_by")?)?;
    let offset = page::decode_offset(fields.opt_str("page_token")?.as_deref())?;
    let (models, more) = state
        .db
        .read(move |tx| {
            let (keys, more) = query.page(tx, max_results, offset)?;
            Ok((store::models_json(tx, &keys, LatestOrder::StageName)?, more))
        })
        .await?;
    Ok(Json(page_json("registered_models", models, more.then(|| offset + max_results))))
}

/// `GET model-versions/search`.
pub async fn search_versions(
    State(state): State<TrackingState>,
    fields: Fields,
) -> Result<Json<Value>> {
    let max_results = fields.max_results(200_000, 200_000)?;
    let query = version_query(
        &fields.opt_str("filter")?.unwrap_or_default(),
        &fields.str_list("order_by")?,
    )?;
    let offset = page::decode_offset(fields.opt_str("page_token")?.as_deref())?;
    let (versions, more) = state
        .db
        .read(move |tx| {
            let (keys, more) = query.page(tx, max_results, offset)?;
            Ok((store::versions_json(tx, &keys)?, more))
        })
        .await?;
    Ok(Json(page_json("model_versions", versions, more.then(|| offset + max_results))))
}

/// A search as SQL: a statement that selects keys, ending with `LIMIT ? OFFSET ?`, which
/// [`Query::page`] fills in.
#[derive(Debug)]
struct Query {
    sql: Sql,
}

impl Query {
    /// Runs the search for one page; returns its keys and whether more follow.
    fn page(self, tx: &Transaction<'_>, max_results: i64, offset: i64) -> Result<(Vec<i64>, bool)> {
        let mut params = self.sql.params;
        params.push(SqlValue::Integer(max_results.saturating_add(1)));
        params.push(SqlValue::Integer(offset));
        let mut statement = tx.prepare_cached(&self.sql.text)?;
        let mut keys = statement
            .query_map(params_from_iter(params.iter()), |row| row.get::<_, i64>(0))?
            .collect::<rusqlite::Result<Vec<i64>>>()?;
        let more = usize::try_from(max_results).is_ok_and(|max| keys.len() > max);
        if more {
            keys.pop();
        }
        Ok((keys, more))
    }
}

fn model_query(filter_text: &str, order_by: &[String]) -> Result<Query> {
    let comparisons = rules::parse_filter(filter_text, &rules::REGISTERED_MODELS)?;
    let prompts = asks_for_prompts(&comparisons);
    let mut conditions = Vec::new();
    for comparison in &comparisons {
        let mut condition = Sql::default();
        match comparison.entity {
            Entity::Tag if !prompts && comparison.key == IS_PROMPT_TAG => continue,
            Entity::Tag => tag_condition(
                &mut condition,
                "registry_model_tags t WHERE t.model_key = m.model_key",
                comparison,
            )?,
            _ => condition.push_condition("m.name", comparison.op, &comparison.value)?,
        }
        conditions.push(condition);
    }
    if !prompts {
        let mut condition = Sql::default();
        condition.push(
            "NOT EXISTS (SELECT 1 FROM registry_model_tags p
                         WHERE p.model_key = m.model_key AND p.value = 'true' AND p.key = ",
        );
        condition.bind(IS_PROMPT_TAG.to_owned());
        condition.push(")");
        conditions.push(condition);
    }

    let mut order = OrderColumns::default();
    for (clause, parsed) in
        order_by.iter().zip(rules::parse_order_by_list(order_by, &rules::REGISTERED_MODELS)?)
    {
        let column = match parsed.key.as_str() {
            "name" => "m.name",
            _ => "m.last_updated_time",
        };
        order.push(column, parsed.ascending, clause)?;
    }
    order.tie_break("m.name", true);
    Ok(finish("SELECT m.model_key FROM registry_models m", conditions, &order))
}

fn version_query(filter_text: &str, order_by: &[String]) -> Result<Query> {
    let comparisons = rules::parse_filter(filter_text, &rules::MODEL_VERSIONS)?;
    let prompts = asks_for_prompts(&comparisons);
    let mut conditions = Vec::new();
    for comparison in &comparisons {
        let mut condition = Sql::default();
        match (comparison.entity, comparison.key.as_str()) {
            (Entity::Tag, IS_PROMPT_TAG) if !prompts => continue,
            (Entity::Tag, _) => tag_condition(
                &mut condition,
                "registry_version_tags t WHERE t.version_key = v.version_key",
                comparison,
            )?,
            (_, "version_number") => {
                let number = Literal::Int(version_number(&comparison.value)?);
                condition.push_condition("v.version", comparison.op, &number)?;
            }
            (_, "run_id") => {
                condition.push_condition("v.run_id", comparison.op, &comparison.value)?
            }
            (_, "source_path") => {
                condition.push_condition("v.source", comparison.op, &comparison.value)?;
            }
            _ => condition.push_condition("m.name", comparison.op, &comparison.value)?,
        }
        conditions.push(condition);
    }
    if !prompts {
        let mut condition = Sql::default();
        condition.push(
            "NOT EXISTS (SELECT 1 FROM registry_model_versions pv
                         JOIN registry_version_tags p ON p.version_key = pv.version_key
                         WHERE pv.model_key = v.model_key AND p.value = 'true' AND p.key = ",
        );
        condition.bind(IS_PROMPT_TAG.to_owned());
        condition.push(")");
        conditions.push(condition);
    }

    let mut order = OrderColumns::default();
    for (clause, parsed) in
        order_by.iter().zip(rules::parse_order_by_list(order_by, &rules::MODEL_VERSIONS)?)
    {
        let column = match parsed.key.as_str() {
            "name" => "m.name",
            "version_number" => "v.version",
            "creation_timestamp" => "v.creation_time",
            _ => "v.last_updated_time",
        };
        order.push(column, parsed.ascending, clause)?;
    }
    if order_by.is_empty() {
        // MLflow's default: most recently updated first.
        order.tie_break("v.last_updated_time", false);
    }
    order.tie_break("m.name", true);
    order.tie_break("v.version", false);
    Ok(finish(
        "SELECT v.version_key FROM registry_model_versions v
         JOIN registry_models m ON m.model_key = v.model_key",
        conditions,
        &order,
    ))
}

/// MLflow's rule for searching prompts instead of models: the first comparison on the prompt
/// tag is `= 'true'` or `!= 'false'`, in any case.
fn asks_for_prompts(comparisons: &[Comparison]) -> bool {
    let Some(first) = comparisons
        .iter()
        .find(|comparison| comparison.entity == Entity::Tag && comparison.key == IS_PROMPT_TAG)
    else {
        return false;
    };
    match (&first.op, &first.value) {
        (Op::Eq, Literal::Str(value)) => value.eq_ignore_ascii_case("true"),
        (Op::Ne, Literal::Str(value)) => value.eq_ignore_ascii_case("false"),
        _ => false,
    }
}

/// Appends a tag comparison: the searched row has a tag with the comparison's key whose value
/// matches. `from` names the tag table as `t` and joins it to the searched row.
fn tag_condition(condition: &mut Sql, from: &str, comparison: &Comparison) -> Result<()> {
    condition.push(&format!("EXISTS (SELECT 1 FROM {from} AND t.key = "));
    condition.bind(comparison.key.clone());
    condition.push(" AND ");
    condition.push_condition("t.value", comparison.op, &comparison.value)?;
    condition.push(")");
    Ok(())
}

/// Reads the integer of a `version_number` comparison, given bare or quoted. MLflow's store
/// also rejects other values.
fn version_number(value: &Literal) -> Result<i64> {
    let number = match value {
        Literal::Int(number) => Some(*number),
        Literal::Str(text) => text.trim().parse::<i64>().ok(),
        _ => None,
    };
    number.ok_or_else(|| {
        TrackingError::invalid(format!(
            "Invalid value {} for 'version_number' in the filter: compare it with an integer \
             such as 3.",
            value.describe()
        ))
    })
}

/// Assembles the statement: `select`, the conditions, the order, and the page placeholders.
fn finish(select: &str, conditions: Vec<Sql>, order: &OrderColumns) -> Query {
    let mut sql = Sql::default();
    sql.push(select);
    for (index, condition) in conditions.into_iter().enumerate() {
        sql.push(if index == 0 { " WHERE " } else { " AND " });
        sql.append(condition);
    }
    sql.push(" ORDER BY ");
    sql.push(&order.clauses.join(", "));
    sql.push(" LIMIT ? OFFSET ?");
    Query { sql }
}

/// The `ORDER BY` columns of a search. [`OrderColumns::push`] rejects a column given twice.
#[derive(Debug, Default)]
struct OrderColumns {
    columns: Vec<&'static str>,
    clauses: Vec<String>,
}

impl OrderColumns {
    fn push(&mut self, column: &'static str, ascending: bool, clause: &str) -> Result<()> {
        if self.columns.contains(&column) {
            return Err(TrackingError::invalid(format!(
                "The order_by clause '{clause}' orders by a field that an earlier clause \
                 already orders by. Give each field once."
            )));
        }
        self.tie_break(column, ascending);
        Ok(())
    }

    /// Adds `column` unless the request already orders by it.
    fn tie_break(&mut self, column: &'static str, ascending: bool) {
        if !self.columns.contains(&column) {
            self.columns.push(column);
            self.clauses.push(format!("{column} {}", if ascending { "ASC" } else { "DESC" }));
        }
    }
}

/// Builds a search response: the items under `field` (left out when empty) and the next
/// page token.
fn page_json(field: &str, items: Vec<Value>, next_offset: Option<i64>) -> Value {
    let mut page = Map::new();
    if !items.is_empty() {
        page.insert(field.to_owned(), Value::Array(items));
    }
    if let Some(offset) = next_offset {
        page.insert("next_page_token".to_owned(), Value::String(page::encode_offset(offset)));
    }
    Value::Object(page)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_numbers_are_integers() {
        assert_eq!(version_number(&Literal::Int(3)).ok(), Some(3));
        assert_eq!(version_number(&Literal::Str("4".into())).ok(), Some(4));
        assert!(version_number(&Literal::Num(2.5)).is_err());
        assert!(version_number(&Literal::Str("x".into())).is_err());
    }

    #[test]
    fn order_by_takes_each_field_once() {
        let clauses = vec!["timestamp".to_owned(), "last_updated_timestamp DESC".to_owned()];
        assert!(model_query("", &clauses).is_err());
        let clauses = vec!["name".to_owned()];
        let query = model_query("", &clauses).map(|query| query.sql.text);
        assert!(query.is_ok_and(|text| text.contains("ORDER BY m.name ASC LIMIT")));
    }
}
