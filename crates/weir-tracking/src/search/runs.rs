//! `POST mlflow/runs/search`: the runs of some experiments that match a filter, in a given
//! order, one page at a time.
//!
//! [`RunSearch`] is a checked request and [`RunSearch::query`] turns it into one SQL
//! statement over the run tables: metric filters read `tracking_latest_metrics`, and every
//! value from the request is a bound parameter. The order is MLflow's: each `order_by` clause
//! puts runs without the value last (and, for metrics, NaN between the numbers and the missing
//! values), then `start_time` descending and `run_id` ascending break ties.

use std::collections::HashSet;

use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};

use crate::error::{Result, TrackingError};
use crate::experiments::parse_experiment_id;
use crate::fields::Fields;
use crate::runs::read::runs_json;
use crate::search::filter::{Comparison, Entity, Literal, Op, OrderBy};
use crate::search::rules::{self, RUNS};
use crate::search::sql::Sql;
use crate::search::{lifecycle_stages, page};
use crate::TrackingState;

/// `max_results` when the request has none (MLflow's `SEARCH_MAX_RESULTS_DEFAULT`).
pub const DEFAULT_MAX_RESULTS: i64 = 1000;
/// The largest `max_results` MLflow accepts (`SEARCH_MAX_RESULTS_THRESHOLD`).
pub const MAX_RESULTS: i64 = 50_000;

/// The tag of a dataset input that contains its context, such as `training`.
const DATASET_CONTEXT_TAG: &str = "mlflow.data.context";

/// A checked runs search request.
#[derive(Debug, Clone, PartialEq)]
pub struct RunSearch {
    pub experiment_ids: Vec<i64>,
    pub filter: Vec<Comparison>,
    /// Lifecycle stages to include, from `run_view_type`.
    pub stages: &'static [&'static str],
    pub order_by: Vec<OrderBy>,
    pub max_results: i64,
    /// How many matching runs earlier pages held.
    pub offset: i64,
}

impl RunSearch {
    /// Reads and checks the request fields.
    pub fn from_fields(fields: &Fields) -> Result<RunSearch> {
        let experiment_ids = fields
            .str_list("experiment_ids")?
            .iter()
            .map(|id| parse_experiment_id(id))
            .collect::<Result<Vec<i64>>>()?;
        let filter = rules::parse_filter(&fields.opt_str("filter")?.unwrap_or_default(), &RUNS)?;
        let order_by = rules::parse_order_by_list(&fields.str_list("order_by")?, &RUNS)?;
        Ok(RunSearch {
            experiment_ids,
            filter,
            stages: lifecycle_stages(fields, "run_view_type")?,
            order_by,
            max_results: fields.max_results(DEFAULT_MAX_RESULTS, MAX_RESULTS)?,
            offset: page::decode_offset(fields.opt_str("page_token")?.as_deref())?,
        })
    }

    /// Builds the statement that selects the `run_key` of the page's runs, in order, plus one
    /// more run when another page follows.
    pub fn query(&self) -> Result<Sql> {
        let (joins, order) = self.ordering()?;
        let mut sql = Sql::default();
        sql.push("SELECT r.run_key FROM tracking_runs r");
        sql.append(joins);

        sql.push(" WHERE r.experiment_id IN ");
        sql.bind_list(self.experiment_ids.iter().copied());
        sql.push(" AND r.lifecycle_stage IN ");
        sql.bind_list(self.stages.iter().map(|stage| stage.to_string()));
        for comparison in &self.filter {
            sql.push(" AND ");
            push_run_condition(&mut sql, comparison)?;
        }

        sql.push(" ORDER BY ");
        sql.push(&order);
        sql.push(" LIMIT ");
        sql.bind(self.max_results + 1);
        sql.push(" OFFSET ");
        sql.bind(self.offset);
        Ok(sql)
    }

    /// Builds the outer joins that bring in the values to order by, and the ORDER BY list.
    fn ordering(&self) -> Result<(Sql, String)> {
        let mut joins = Sql::default();
        let mut terms = Vec::new();
        let mut seen = HashSet::new();
        for (i, order) in self.order_by.iter().enumerate() {
            let key = match order.entity {
                Entity::Attribute => RUNS.canonical_attribute(&order.key),
                _ => order.key.as_str(),
            };
            if !seen.insert((order.entity, key.to_owned())) {
                return Err(TrackingError::invalid(format!(
                    "order_by names {} '{key}' more than once. Order by each field once.",
                    order.entity.name()
                )));
            }
            let direction = if order.ascending { "" } else { " DESC" };
            let alias = format!("o{i}");
            let (table, value) = match order.entity {
                Entity::Attribute => {
                    let column = run_column(key)?;
                    terms.push(format!("CASE WHEN {column} IS NULL THEN 1 ELSE 0 END"));
                    terms.push(format!("{column}{direction}"));
                    continue;
                }
                Entity::Metric => ("tracking_latest_metrics", format!("{alias}.value")),
                Entity::Param => ("tracking_params", format!("{alias}.value")),
                Entity::Tag => ("tracking_run_tags", format!("{alias}.value")),
                Entity::Dataset => {
                    return Err(TrackingError::invalid(format!(
                        "Invalid order_by field 'datasets.{key}': runs cannot be ordered by \
                         dataset."
                    )))
                }
            };
            joins.push(&format!(
                " LEFT JOIN {table} {alias} ON {alias}.run_key = r.run_key AND {alias}.key = "
            ));
            joins.bind(key.to_owned());
            if order.entity == Entity::Metric {
                // NaN is stored as 0 with is_nan = 1; it sorts after every number.
                terms.push(format!(
                    "CASE WHEN {alias}.is_nan = 1 THEN 1 WHEN {alias}.run_key IS NULL THEN 2 \
                     ELSE 0 END"
                ));
            } else {
                terms.push(format!("CASE WHEN {value} IS NULL THEN 1 ELSE 0 END"));
            }
            terms.push(format!("{value}{direction}"));
        }
        if !seen.contains(&(Entity::Attribute, "start_time".to_owned())) {
            terms.push("r.start_time DESC".to_owned());
        }
        terms.push("r.run_id".to_owned());
        Ok((joins, terms.join(", ")))
    }
}

/// Returns the `tracking_runs` column of a run attribute.
fn run_column(attribute: &str) -> Result<&'static str> {
    Ok(match attribute {
        "run_id" => "r.run_id",
        // MLflow compares `mlflow.runName` tags here; Weir keeps the run's name in this column
        // and in that tag alike.
        "run_name" => "r.name",
        "status" => "r.status",
        "user_id" => "r.user_id",
        "start_time" => "r.start_time",
        "end_time" => "r.end_time",
        "artifact_uri" => "r.artifact_uri",
        other => {
            return Err(TrackingError::invalid(format!(
                "Invalid attribute key '{other}' for runs. Valid keys are {}.",
                RUNS.attributes.join(", ")
            )))
        }
    })
}

/// Appends the condition of one comparison on the run `r`.
fn push_run_condition(sql: &mut Sql, comparison: &Comparison) -> Result<()> {
    let Comparison { entity, key, op, value, .. } = comparison;
    match entity {
        Entity::Attribute => {
            sql.push_condition(run_column(RUNS.canonical_attribute(key))?, *op, value)
        }
        Entity::Metric => {
            let number = value.as_f64().ok_or_else(|| {
                TrackingError::invalid(format!(
                    "Invalid value {} for metric '{key}' in the filter: expected a number.",
                    value.describe()
                ))
            })?;
            sql.push(
                "EXISTS (SELECT 1 FROM tracking_latest_metrics m \
                 WHERE m.run_key = r.run_key AND m.key = ",
            );
            sql.bind(key.clone());
            sql.push(" AND (");
            sql.push_condition("m.value", *op, &Literal::Num(number))?;
            // Every comparison with NaN is false except `!=`.
            sql.push(if *op == Op::Ne { " OR m.is_nan = 1))" } else { " AND m.is_nan = 0))" });
            Ok(())
        }
        Entity::Param | Entity::Tag => {
            let table =
                if *entity == Entity::Param { "tracking_params" } else { "tracking_run_tags" };
            let negated = *op == Op::IsNull;
            sql.push(if negated { "NOT EXISTS" } else { "EXISTS" });
            sql.push(&format!(
                " (SELECT 1 FROM {table} p WHERE p.run_key = r.run_key AND p.key = "
            ));
            sql.bind(key.clone());
            if !matches!(op, Op::IsNull | Op::IsNotNull) {
                sql.push(" AND ");
                sql.push_condition("p.value", *op, value)?;
            }
            sql.push(")");
            Ok(())
        }
        Entity::Dataset if key == "context" => {
            sql.push(
                "EXISTS (SELECT 1 FROM tracking_run_inputs i, json_each(i.tags) t \
                 WHERE i.run_key = r.run_key AND json_extract(t.value, '$.key') = ",
            );
            sql.bind(DATASET_CONTEXT_TAG.to_owned());
            sql.push(" AND ");
            sql.push_condition("json_extract(t.value, '$.value')", *op, value)?;
            sql.push(")");
            Ok(())
        }
        Entity::Dataset => {
            let column = if key == "digest" { "d.digest" } else { "d.name" };
            sql.push(
                "EXISTS (SELECT 1 FROM tracking_run_inputs i \
                 JOIN tracking_datasets d ON d.dataset_key = i.dataset_key \
                 WHERE i.run_key = r.run_key AND ",
            );
            sql.push_condition(column, *op, value)?;
            sql.push(")");
            Ok(())
        }
    }
}

/// Handles `POST mlflow/runs/search`.
pub(crate) async fn search(
    State(state): State<TrackingState>,
    fields: Fields,
) -> Result<Json<Value>> {
    let search = RunSearch::from_fields(&fields)?;
    if search.experiment_ids.is_empty() {
        return Ok(Json(json!({ "runs": [] })));
    }
    let query = search.query()?;
    let page_size = search.max_results;
    let (runs, more) = state
        .db
        .read(move |tx| {
            let (keys, more) = query.select_page::<i64>(tx, page_size)?;
            Ok((runs_json(tx, &keys)?, more))
        })
        .await?;
    let mut body = json!({ "runs": runs });
    if more {
        body["next_page_token"] =
            Value::String(page::encode_offset(search.offset + search.max_results));
    }
    Ok(Json(body))
}
