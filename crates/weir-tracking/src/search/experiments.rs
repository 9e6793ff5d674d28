//! `GET` and `POST mlflow/experiments/search`: experiments that match a filter on their name,
//! id, times and tags, in a given order, one page at a time.
//!
//! The default order is MLflow's: `creation_time` descending, then `experiment_id` ascending.
//! Any other order gets `experiment_id` descending as a tie-breaker unless it names
//! `experiment_id` itself.

use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};

use crate::error::{Result, TrackingError};
use crate::experiments::{experiment_json, parse_experiment_id};
use crate::fields::Fields;
use crate::search::filter::{Comparison, Entity, Literal, Op, OrderBy};
use crate::search::rules::{self, EXPERIMENTS};
use crate::search::runs::{DEFAULT_MAX_RESULTS, MAX_RESULTS};
use crate::search::sql::Sql;
use crate::search::{lifecycle_stages, page};
use crate::TrackingState;

/// A checked experiments search request.
#[derive(Debug, Clone, PartialEq)]
pub struct ExperimentSearch {
    pub filter: Vec<Comparison>,
    /// Lifecycle stages to include, from `view_type`.
    pub stages: &'static [&'static str],
    pub order_by: Vec<OrderBy>,
    pub max_results: i64,
    pub offset: i64,
}

impl ExperimentSearch {
    /// Reads and checks the request fields. A missing `max_results` is 1,000.
    // NOTE: MLflow 3.17.2 rejects a search without `max_results` (its proto default is 0);
    // Weir uses the store's default instead. The mlflow client always sends the field.
    pub fn from_fields(fields: &Fields) -> Result<ExperimentSearch> {
        let filter =
            rules::parse_filter(&fields.opt_str("filter")?.unwrap_or_default(), &EXPERIMENTS)?;
        for comparison in &filter {
            check_store_rules(comparison)?;
        }
        let mut order_by = fields.str_list("order_by")?;
        if order_by.is_empty() {
            order_by = vec!["creation_time DESC".to_owned(), "experiment_id ASC".to_owned()];
        }
        Ok(ExperimentSearch {
            filter,
            stages: lifecycle_stages(fields, "view_type")?,
            order_by: rules::parse_order_by_list(&order_by, &EXPERIMENTS)?,
            max_results: fields.max_results(DEFAULT_MAX_RESULTS, MAX_RESULTS)?,
            offset: page::decode_offset(fields.opt_str("page_token")?.as_deref())?,
        })
    }

    /// Builds the statement that selects the page's experiment ids, in order, plus one more
    /// when another page follows.
    pub fn query(&self) -> Result<Sql> {
        let mut sql = Sql::default();
        sql.push("SELECT e.experiment_id FROM tracking_experiments e WHERE e.lifecycle_stage IN ");
        sql.bind_list(self.stages.iter().map(|stage| stage.to_string()));
        for comparison in &self.filter {
            sql.push(" AND ");
            push_experiment_condition(&mut sql, comparison)?;
        }
        let mut terms = Vec::new();
        for order in &self.order_by {
            let direction = if order.ascending { "" } else { " DESC" };
            terms.push(format!("{}{direction}", experiment_column(&order.key)?));
        }
        if !self.order_by.iter().any(|order| order.key == "experiment_id") {
            terms.push("e.experiment_id DESC".to_owned());
        }
        sql.push(" ORDER BY ");
        sql.push(&terms.join(", "));
        sql.push(" LIMIT ");
        sql.bind(self.max_results + 1);
        sql.push(" OFFSET ");
        sql.bind(self.offset);
        Ok(sql)
    }
}

/// Checks what MLflow's SQL store adds to the filter rules: `experiment_id` is compared only
/// for (in)equality and with integer ids, and the times only with integers.
fn check_store_rules(comparison: &Comparison) -> Result<()> {
    let Comparison { entity, key, op, value, .. } = comparison;
    if *entity != Entity::Attribute {
        return Ok(());
    }
    if key == "experiment_id" {
        if !matches!(op, Op::Eq | Op::Ne | Op::In | Op::NotIn) {
            return Err(TrackingError::invalid(format!(
                "Invalid comparator '{}' for experiment_id. Use =, !=, IN or NOT IN.",
                op.as_str()
            )));
        }
        experiment_ids(value)?;
    } else if EXPERIMENTS.is_numeric_attribute(key) && !matches!(value, Literal::Int(_)) {
        return Err(TrackingError::invalid(format!(
            "Invalid value {} for numeric attribute '{key}': expected an integer number of \
             milliseconds.",
            value.describe()
        )));
    }
    Ok(())
}

/// Reads the experiment ids of an `experiment_id` comparison's value.
fn experiment_ids(value: &Literal) -> Result<Vec<i64>> {
    match value {
        Literal::Str(id) => Ok(vec![parse_experiment_id(id)?]),
        Literal::List(ids) => ids.iter().map(|id| parse_experiment_id(id)).collect(),
        other => Err(TrackingError::invalid(format!(
            "Invalid value {} for experiment_id: expected a quoted id or a list of them.",
            other.describe()
        ))),
    }
}

fn experiment_column(attribute: &str) -> Result<&'static str> {
    Ok(match attribute {
        "name" => "e.name",
        "experiment_id" => "e.experiment_id",
        "creation_time" => "e.creation_time",
        "last_update_time" => "e.last_update_time",
        other => {
            return Err(TrackingError::invalid(format!(
                "Invalid attribute key '{other}' for experiments. Valid keys are {}.",
                EXPERIMENTS.attributes.join(", ")
            )))
        }
    })
}

fn push_experiment_condition(sql: &mut Sql, comparison: &Comparison) -> Result<()> {
    let Comparison { entity, key, op, value, .. } = comparison;
    match entity {
        Entity::Attribute if key == "experiment_id" => {
            let ids = experiment_ids(value)?;
            match op {
                Op::Eq | Op::Ne => {
                    sql.push(&format!("e.experiment_id {} ", op.as_str()));
                    sql.bind(ids.first().copied().unwrap_or_default());
                }
                _ => {
                    let keyword = if *op == Op::In { "IN" } else { "NOT IN" };
                    sql.push(&format!("e.experiment_id {keyword} "));
                    sql.bind_list(ids);
                }
            }
            Ok(())
        }
        Entity::Attribute => sql.push_condition(experiment_column(key)?, *op, value),
        Entity::Tag => {
            sql.push(if *op == Op::IsNull { "NOT EXISTS" } else { "EXISTS" });
            sql.push(
                " (SELECT 1 FROM tracking_experiment_tags t \
                 WHERE t.experiment_id = e.experiment_id AND t.key = ",
            );
            sql.bind(key.clone());
            if !matches!(op, Op::IsNull | Op::IsNotNull) {
                sql.push(" AND ");
                sql.push_condition("t.value", *op, value)?;
            }
            sql.push(")");
            Ok(())
        }
        other => Err(TrackingError::invalid(format!(
            "Invalid filter on {} '{key}': experiments are filtered by attributes and tags.",
            other.name()
        ))),
    }
}

/// Handles `GET` and `POST mlflow/experiments/search`.
pub(crate) async fn search(
    State(state): State<TrackingState>,
    fields: Fields,
) -> Result<Json<Value>> {
    let search = ExperimentSearch::from_fields(&fields)?;
    let query = search.query()?;
    let page_size = search.max_results;
    let (experiments, more) = state
        .db
        .read(move |tx| {
            let (ids, more) = query.select_page::<i64>(tx, page_size)?;
            let mut experiments = Vec::with_capacity(ids.len());
            for id in ids {
                experiments.extend(experiment_json(tx, id)?);
            }
            Ok((experiments, more))
        })
        .await?;
    let mut body = json!({ "experiments": experiments });
    if more {
        body["next_page_token"] =
            Value::String(page::encode_offset(search.offset + search.max_results));
    }
    Ok(Json(body))
}
