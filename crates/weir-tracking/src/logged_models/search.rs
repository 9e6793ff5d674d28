//! `POST mlflow/logged-models/search`: logged models of some experiments that match a filter,
//! in an order, one page at a time.
//!
//! The filter uses the grammar of [`crate::search::filter`] with the meanings MLflow 3.17.2
//! gives it for logged models. Bare names are model columns (`name`, `model_id`, `status`,
//! `model_type`, `source_run_id`, `creation_timestamp`, ...). `metrics.<key>` matches a model
//! when any of its metric points compares true, counting only points of the request's
//! `datasets` when it lists some.
//!
//! `order_by` takes columns and `metrics.<key>` (the model's latest point of that metric), with
//! missing values last. Ties end in newest first, then by model id.
//!
//! The page token is base64 JSON that contains the offset and the request it belongs to, like
//! MLflow's `SearchLoggedModelsPaginationToken`.

use axum::extract::State;
use axum::Json;
use base64::Engine;
use rusqlite::types::Value as SqlValue;
use serde_json::{json, Map, Value};

use super::read::{models_json, parse_status};
use crate::error::{Result, TrackingError};
use crate::experiments::parse_experiment_id;
use crate::fields::Fields;
use crate::runs::read::placeholders;
use crate::search::filter::{self, Comparison, Entity, Literal, Op};
use crate::search::sql::{like_to_glob, Sql};
use crate::TrackingState;

/// Page size when the request gives none, as in MLflow.
const DEFAULT_MAX_RESULTS: i64 = 100;
/// Largest page Weir returns.
const MAX_RESULTS_LIMIT: i64 = 50_000;

pub async fn search(State(state): State<TrackingState>, fields: Fields) -> Result<Json<Value>> {
    let request = SearchRequest::read(&fields)?;
    let query = build_query(&request)?;
    let page_size = request.max_results;
    let (models, more) = state
        .db
        .read(move |tx| {
            let (ids, more) = query.select_page::<String>(tx, page_size)?;
            Ok((models_json(tx, &ids)?, more))
        })
        .await?;

    let mut response = Map::new();
    if !models.is_empty() {
        response.insert("models".into(), Value::Array(models));
    }
    if more {
        response.insert("next_page_token".into(), Value::String(request.next_token()));
    }
    Ok(Json(Value::Object(response)))
}

/// A search request, read and checked.
struct SearchRequest {
    /// The ids as sent, for the page token.
    experiment_ids: Vec<String>,
    experiment_keys: Vec<i64>,
    filter: Option<String>,
    comparisons: Vec<Comparison>,
    datasets: Vec<Dataset>,
    order_by: Vec<OrderBy>,
    max_results: i64,
    offset: i64,
}

struct Dataset {
    name: String,
    digest: Option<String>,
}

struct OrderBy {
    field_name: String,
    ascending: bool,
    dataset_name: Option<String>,
    dataset_digest: Option<String>,
}

impl SearchRequest {
    fn read(fields: &Fields) -> Result<SearchRequest> {
        let experiment_ids = fields.str_list("experiment_ids")?;
        if experiment_ids.is_empty() {
            return Err(TrackingError::missing("experiment_ids"));
        }
        let experiment_keys =
            experiment_ids.iter().map(|id| parse_experiment_id(id)).collect::<Result<_>>()?;
        let filter = fields.opt_str("filter")?.filter(|text| !text.trim().is_empty());
        let comparisons = match &filter {
            Some(text) => filter::parse(text)?,
            None => Vec::new(),
        };
        let datasets = fields
            .objects("datasets")?
            .iter()
            .map(|dataset| {
                let name = dataset.opt_str("dataset_name")?.filter(|name| !name.is_empty());
                let name = name.ok_or_else(|| {
                    TrackingError::invalid(
                        "Each entry of 'datasets' needs a 'dataset_name'; add it or remove the \
                         entry.",
                    )
                })?;
                let digest = dataset.opt_str("dataset_digest")?.filter(|d| !d.is_empty());
                Ok(Dataset { name, digest })
            })
            .collect::<Result<_>>()?;
        let order_by = fields
            .objects("order_by")?
            .iter()
            .map(|clause| {
                Ok(OrderBy {
                    field_name: clause.str("field_name")?,
                    ascending: clause.opt_bool("ascending")?.unwrap_or(true),
                    dataset_name: clause.opt_str("dataset_name")?.filter(|n| !n.is_empty()),
                    dataset_digest: clause.opt_str("dataset_digest")?.filter(|d| !d.is_empty()),
                })
            })
            .collect::<Result<_>>()?;
        let max_results = match fields.opt_i64("max_results")? {
            None | Some(0) => DEFAULT_MAX_RESULTS,
            Some(n) if (1..=MAX_RESULTS_LIMIT).contains(&n) => n,
            Some(n) => {
                return Err(TrackingError::invalid(format!(
                    "Invalid value {n} for parameter 'max_results' supplied. It must be at \
                     least 1 and at most {MAX_RESULTS_LIMIT}."
                )));
            }
        };
        let mut request = SearchRequest {
            experiment_ids,
            experiment_keys,
            filter,
            comparisons,
            datasets,
            order_by,
            max_results,
            offset: 0,
        };
        if let Some(token) = fields.opt_str("page_token")?.filter(|token| !token.is_empty()) {
            request.offset = request.read_token(&token)?;
        }
        Ok(request)
    }

    /// The request's parts that a page token must repeat.
    fn token_body(&self, offset: i64) -> Value {
        let order_by: Vec<Value> = self
            .order_by
            .iter()
            .map(|clause| {
                json!({
                    "field_name": clause.field_name,
                    "ascending": clause.ascending,
                    "dataset_name": clause.dataset_name,
                    "dataset_digest": clause.dataset_digest,
                })
            })
            .collect();
        json!({
            "experiment_ids": self.experiment_ids,
            "filter_string": self.filter,
            "order_by": if order_by.is_empty() { Value::Null } else { Value::Array(order_by) },
            "offset": offset,
        })
    }

    fn next_token(&self) -> String {
        let body = self.token_body(self.offset + self.max_results);
        base64::engine::general_purpose::STANDARD.encode(body.to_string())
    }

    /// Decodes a page token and returns its offset, after checking that it was made for the
    /// same experiments, filter and order.
    fn read_token(&self, token: &str) -> Result<i64> {
        let invalid = || {
            TrackingError::invalid(format!(
                "Invalid page token '{token}'. Pass the next_page_token of the previous \
                 response unchanged."
            ))
        };
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(token.trim())
            .map_err(|_| invalid())?;
        let decoded: Value = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
        let offset = decoded.get("offset").and_then(Value::as_i64).filter(|n| *n >= 0);
        let offset = offset.ok_or_else(invalid)?;
        let expected = self.token_body(offset);
        for part in ["experiment_ids", "filter_string", "order_by"] {
            if decoded.get(part).unwrap_or(&Value::Null) != &expected[part] {
                return Err(TrackingError::invalid(format!(
                    "The page token was made for another search: its {part} differs from this \
                     request's. Repeat the search with the same experiment_ids, filter and \
                     order_by, or leave out page_token."
                )));
            }
        }
        Ok(offset)
    }
}

/// The comparison type of a column or metric.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    Number,
    Status,
}

fn build_query(request: &SearchRequest) -> Result<Sql> {
    let mut params: Vec<SqlValue> =
        request.experiment_keys.iter().map(|id| SqlValue::Integer(*id)).collect();
    let mut conditions = vec![
        "lm.lifecycle_stage != 'deleted'".to_owned(),
        format!("lm.experiment_id IN ({})", placeholders(request.experiment_keys.len())),
    ];

    let (dataset_sql, dataset_params) = dataset_condition(&request.datasets);
    let mut has_metric_filter = false;
    for comparison in &request.comparisons {
        check_prefix(comparison)?;
        let condition = match comparison.entity {
            Entity::Attribute => {
                let (column, kind) = attribute_column(&comparison.key)?;
                compare(column, kind, comparison, &mut params)?
            }
            Entity::Metric => {
                has_metric_filter = true;
                params.push(SqlValue::Text(comparison.key.clone()));
                let value = compare("m.value", Kind::Number, comparison, &mut params)?;
                params.extend(dataset_params.iter().cloned());
                format!(
                    "EXISTS (SELECT 1 FROM tracking_metrics m WHERE m.model_id = lm.model_id \
                     AND m.key = ? AND m.is_nan = 0 AND {value}{dataset_sql})"
                )
            }
            Entity::Param | Entity::Tag => {
                let table = if comparison.entity == Entity::Param {
                    "tracking_logged_model_params"
                } else {
                    "tracking_logged_model_tags"
                };
                params.push(SqlValue::Text(comparison.key.clone()));
                let value = compare("p.value", Kind::Text, comparison, &mut params)?;
                format!(
                    "EXISTS (SELECT 1 FROM {table} p WHERE p.model_id = lm.model_id \
                     AND p.key = ? AND {value})"
                )
            }
            Entity::Dataset => {
                return Err(TrackingError::invalid(format!(
                    "Invalid entity 'datasets.{}' in the filter: logged model filters use \
                     attributes, metrics, params and tags. Use the 'datasets' field to restrict \
                     metrics to datasets.",
                    comparison.key
                )));
            }
        };
        conditions.push(condition);
    }
    if !request.datasets.is_empty() && !has_metric_filter {
        conditions.push(format!(
            "EXISTS (SELECT 1 FROM tracking_metrics m WHERE m.model_id = lm.model_id\
             {dataset_sql})"
        ));
        params.extend(dataset_params);
    }

    let order = order_clauses(&request.order_by, &mut params)?;
    params.push(SqlValue::Integer(request.max_results + 1));
    params.push(SqlValue::Integer(request.offset));
    let sql = format!(
        "SELECT lm.model_id FROM tracking_logged_models lm WHERE {} ORDER BY {} LIMIT ? OFFSET ?",
        conditions.join(" AND "),
        order.join(", ")
    );
    Ok(Sql { text: sql, params })
}

/// Rejects entity spellings other than the four MLflow accepts for logged models
/// (`attributes`, `metrics`, `params`, `tags`), such as `metric.` or `run.`.
fn check_prefix(comparison: &Comparison) -> Result<()> {
    match comparison.prefix.as_deref() {
        None | Some("attributes" | "metrics" | "params" | "tags") => Ok(()),
        Some(other) => Err(TrackingError::invalid(format!(
            "Invalid entity '{other}' in the filter for '{}': logged model filters use \
             attributes., metrics., params. or tags.",
            comparison.key
        ))),
    }
}

/// ` AND (m.dataset_name = ? [AND m.dataset_digest = ?] OR ...)` for the request's datasets.
fn dataset_condition(datasets: &[Dataset]) -> (String, Vec<SqlValue>) {
    if datasets.is_empty() {
        return (String::new(), Vec::new());
    }
    let mut params = Vec::new();
    let alternatives: Vec<String> = datasets
        .iter()
        .map(|dataset| {
            params.push(SqlValue::Text(dataset.name.clone()));
            match &dataset.digest {
                Some(digest) => {
                    params.push(SqlValue::Text(digest.clone()));
                    "(m.dataset_name = ? AND m.dataset_digest = ?)".to_owned()
                }
                None => "m.dataset_name = ?".to_owned(),
            }
        })
        .collect();
    (format!(" AND ({})", alternatives.join(" OR ")), params)
}

/// Returns the SQL expression and kind of a model column named in a filter or `order_by`,
/// accepting MLflow's aliases (`creation_timestamp` for `creation_timestamp_ms`, ...).
fn attribute_column(key: &str) -> Result<(&'static str, Kind)> {
    let column = match key {
        "model_id" => ("lm.model_id", Kind::Text),
        "name" => ("lm.name", Kind::Text),
        "experiment_id" => ("CAST(lm.experiment_id AS TEXT)", Kind::Text),
        "artifact_location" | "artifact_uri" => ("lm.artifact_location", Kind::Text),
        "status" => ("lm.status", Kind::Status),
        "status_message" => ("lm.status_message", Kind::Text),
        "lifecycle_stage" => ("lm.lifecycle_stage", Kind::Text),
        "model_type" => ("lm.model_type", Kind::Text),
        "source_run_id" => ("lm.source_run_id", Kind::Text),
        "creation_time" | "creation_timestamp" | "creation_timestamp_ms" => {
            ("lm.creation_timestamp", Kind::Number)
        }
        "last_updated_timestamp" | "last_updated_timestamp_ms" => {
            ("lm.last_updated_timestamp", Kind::Number)
        }
        other => {
            return Err(TrackingError::invalid(format!(
                "Invalid attribute '{other}' for logged models. Use one of model_id, name, \
                 experiment_id, artifact_location, status, status_message, model_type, \
                 source_run_id, creation_timestamp or last_updated_timestamp."
            )));
        }
    };
    Ok(column)
}

/// Builds `<expr> <op> ?` for one comparison and pushes its values.
fn compare(
    expr: &str,
    kind: Kind,
    comparison: &Comparison,
    params: &mut Vec<SqlValue>,
) -> Result<String> {
    let op = comparison.op;
    let allowed = match kind {
        Kind::Number => matches!(op, Op::Eq | Op::Ne | Op::Gt | Op::Ge | Op::Lt | Op::Le),
        Kind::Text => matches!(op, Op::Eq | Op::Ne | Op::Like | Op::ILike | Op::In | Op::NotIn),
        Kind::Status => matches!(op, Op::Eq | Op::Ne | Op::In | Op::NotIn),
    };
    if !allowed {
        return Err(TrackingError::invalid(format!(
            "Invalid comparison operator {op:?} for '{}': numbers take =, !=, <, <=, >, >=; \
             text takes =, !=, LIKE, ILIKE, IN, NOT IN; status takes =, !=, IN, NOT IN.",
            comparison.key
        )));
    }
    if matches!(op, Op::In | Op::NotIn) {
        let Literal::List(items) = &comparison.value else {
            return Err(bad_value(comparison, "a list such as ('a', 'b')"));
        };
        if items.is_empty() {
            return Ok(if op == Op::In { "0" } else { "1" }.to_owned());
        }
        for item in items {
            params.push(scalar(kind, item, comparison)?);
        }
        let not = if op == Op::NotIn { "NOT " } else { "" };
        return Ok(format!("{expr} {not}IN ({})", placeholders(items.len())));
    }
    let text = match &comparison.value {
        Literal::Str(text) => text.clone(),
        Literal::Num(number) => number.to_string(),
        Literal::Int(number) => number.to_string(),
        Literal::List(_) | Literal::None => {
            return Err(bad_value(comparison, "a single number or quoted string"));
        }
    };
    let sql = match op {
        Op::Like => {
            params.push(SqlValue::Text(like_to_glob(&text)));
            return Ok(format!("{expr} GLOB ?"));
        }
        Op::ILike => {
            params.push(SqlValue::Text(text));
            return Ok(format!("{expr} LIKE ?"));
        }
        Op::Eq => "=",
        Op::Ne => "!=",
        Op::Gt => ">",
        Op::Ge => ">=",
        Op::Lt => "<",
        _ => "<=",
    };
    params.push(scalar(kind, &text, comparison)?);
    Ok(format!("{expr} {sql} ?"))
}

/// Converts one comparison value to the column's type.
fn scalar(kind: Kind, text: &str, comparison: &Comparison) -> Result<SqlValue> {
    match kind {
        Kind::Text => Ok(SqlValue::Text(text.to_owned())),
        Kind::Number => text
            .trim()
            .parse::<f64>()
            .map(SqlValue::Real)
            .map_err(|_| bad_value(comparison, "a number")),
        Kind::Status => parse_status(text)
            .map(SqlValue::Integer)
            .ok_or_else(|| bad_value(comparison, "a status such as 'READY' or 'PENDING'")),
    }
}

fn bad_value(comparison: &Comparison, expected: &str) -> TrackingError {
    TrackingError::invalid(format!(
        "Invalid value {} for '{}' in the filter: expected {expected}.",
        comparison.value.describe(),
        comparison.key
    ))
}

/// Builds the `ORDER BY` terms: the request's clauses, then newest first, then model id.
fn order_clauses(order_by: &[OrderBy], params: &mut Vec<SqlValue>) -> Result<Vec<String>> {
    let mut terms = Vec::new();
    let mut has_creation = false;
    let mut has_model_id = false;
    for clause in order_by {
        let direction = if clause.ascending { "ASC" } else { "DESC" };
        let Some((entity, key)) = clause.field_name.split_once('.') else {
            let (column, _) = attribute_column(&clause.field_name).map_err(|_| {
                TrackingError::invalid(format!(
                    "Invalid order by field name: '{}'. Use a model column such as name or \
                     creation_timestamp, or metrics.<key>.",
                    clause.field_name
                ))
            })?;
            has_creation |= column == "lm.creation_timestamp";
            has_model_id |= column == "lm.model_id";
            terms.push(format!("{column} {direction} NULLS LAST"));
            continue;
        };
        if entity != "metrics" {
            return Err(TrackingError::invalid(format!(
                "Invalid order by field name: '{}'. Only metrics.<key> and model columns can \
                 order logged models.",
                clause.field_name
            )));
        }
        params.push(SqlValue::Text(key.to_owned()));
        let mut dataset = String::new();
        if let Some(name) = &clause.dataset_name {
            dataset.push_str(" AND om.dataset_name = ?");
            params.push(SqlValue::Text(name.clone()));
        }
        if let Some(digest) = &clause.dataset_digest {
            dataset.push_str(" AND om.dataset_digest = ?");
            params.push(SqlValue::Text(digest.clone()));
        }
        terms.push(format!(
            "(SELECT CASE WHEN om.is_nan = 1 THEN NULL ELSE om.value END
              FROM tracking_metrics om JOIN tracking_runs orun ON orun.run_key = om.run_key
              WHERE om.model_id = lm.model_id AND om.key = ?{dataset}
              ORDER BY om.timestamp DESC, om.step DESC, orun.run_id ASC LIMIT 1)
             {direction} NULLS LAST"
        ));
    }
    if !has_creation {
        terms.push("lm.creation_timestamp DESC".to_owned());
    }
    if !has_model_id {
        terms.push("lm.model_id ASC".to_owned());
    }
    Ok(terms)
}
