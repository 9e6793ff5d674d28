//! The logging handlers: log-metric, log-parameter, set-tag, delete-tag and log-batch. Each
//! request is checked in full before its one write transaction starts.

use std::collections::HashSet;

use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};

use crate::error::{Result, TrackingError};
use crate::fields::Fields;
use crate::runs::active_run;
use crate::runs::entries::{self, in_entry, MetricPoint};
use crate::TrackingState;

/// Maximum number of metrics in one log-batch request.
pub const MAX_BATCH_METRICS: usize = 1000;
/// Maximum number of params in one log-batch request.
pub const MAX_BATCH_PARAMS: usize = 100;
/// Maximum number of tags in one log-batch request.
pub const MAX_BATCH_TAGS: usize = 100;
/// Maximum number of metrics, params and tags together in one log-batch request.
pub const MAX_BATCH_ENTRIES: usize = 1000;

pub(crate) async fn log_metric(
    State(state): State<TrackingState>,
    fields: Fields,
) -> Result<Json<Value>> {
    let run_id = fields.run_id()?;
    let point = MetricPoint::from_fields(&fields)?;
    state
        .db
        .write(move |tx| {
            let run = active_run(tx, &run_id)?;
            entries::insert_metrics(tx, run.key, std::slice::from_ref(&point))
        })
        .await?;
    Ok(Json(json!({})))
}

pub(crate) async fn log_param(
    State(state): State<TrackingState>,
    fields: Fields,
) -> Result<Json<Value>> {
    let run_id = fields.run_id()?;
    let param = entries::param_from_fields(&fields)?;
    state
        .db
        .write(move |tx| {
            let run = active_run(tx, &run_id)?;
            entries::insert_params(tx, &run_id, run.key, std::slice::from_ref(&param))
        })
        .await?;
    Ok(Json(json!({})))
}

pub(crate) async fn set_tag(
    State(state): State<TrackingState>,
    fields: Fields,
) -> Result<Json<Value>> {
    let run_id = fields.run_id()?;
    let tag = entries::tag_from_fields(&fields)?;
    state
        .db
        .write(move |tx| {
            let run = active_run(tx, &run_id)?;
            entries::set_tags(tx, run.key, std::slice::from_ref(&tag))
        })
        .await?;
    Ok(Json(json!({})))
}

pub(crate) async fn delete_tag(
    State(state): State<TrackingState>,
    fields: Fields,
) -> Result<Json<Value>> {
    let run_id = fields.run_id()?;
    let key = fields.str("key")?;
    state
        .db
        .write(move |tx| {
            let run = active_run(tx, &run_id)?;
            let removed = tx
                .prepare_cached("DELETE FROM tracking_run_tags WHERE run_key = ?1 AND key = ?2")?
                .execute((run.key, &key))?;
            if removed == 0 {
                return Err(TrackingError::not_found(format!(
                    "No tag with name: {key} in run with id {run_id}"
                )));
            }
            Ok(())
        })
        .await?;
    Ok(Json(json!({})))
}

pub(crate) async fn log_batch(
    State(state): State<TrackingState>,
    fields: Fields,
) -> Result<Json<Value>> {
    let run_id = fields.run_id()?;
    let metric_fields = fields.objects("metrics")?;
    let param_fields = fields.objects("params")?;
    let tag_fields = fields.objects("tags")?;
    check_batch_limits(metric_fields.len(), param_fields.len(), tag_fields.len())?;

    let metrics = parse_list(&metric_fields, "metrics", MetricPoint::from_fields)?;
    let params = parse_list(&param_fields, "params", entries::param_from_fields)?;
    let tags = parse_list(&tag_fields, "tags", entries::tag_from_fields)?;
    check_param_keys_unique(&params)?;

    state
        .db
        .write(move |tx| {
            let run = active_run(tx, &run_id)?;
            entries::insert_params(tx, &run_id, run.key, &params)?;
            entries::insert_metrics(tx, run.key, &metrics)?;
            entries::set_tags(tx, run.key, &tags)
        })
        .await?;
    Ok(Json(json!({})))
}

fn parse_list<T>(
    items: &[Fields],
    field: &str,
    parse: impl Fn(&Fields) -> Result<T>,
) -> Result<Vec<T>> {
    items
        .iter()
        .enumerate()
        .map(|(index, item)| parse(item).map_err(|err| in_entry(&format!("{field}[{index}]"), err)))
        .collect()
}

/// Checks MLflow's log-batch limits, in MLflow's order: metrics, params, tags, then the total.
fn check_batch_limits(metrics: usize, params: usize, tags: usize) -> Result<()> {
    let total = metrics + params + tags;
    for (what, count, limit) in [
        ("metrics", metrics, MAX_BATCH_METRICS),
        ("params", params, MAX_BATCH_PARAMS),
        ("tags", tags, MAX_BATCH_TAGS),
        ("metrics, params, and tags", total, MAX_BATCH_ENTRIES),
    ] {
        if count > limit {
            return Err(TrackingError::invalid(format!(
                "A batch logging request can contain at most {limit} {what}. Got {count} {what}. \
                 Split them across several requests."
            )));
        }
    }
    Ok(())
}

/// Rejects a batch that names one param key twice, even with equal values, as MLflow does.
fn check_param_keys_unique(params: &[(String, String)]) -> Result<()> {
    let mut seen = HashSet::new();
    let mut duplicates: Vec<&str> = Vec::new();
    for (key, _) in params {
        if !seen.insert(key.as_str()) && !duplicates.contains(&key.as_str()) {
            duplicates.push(key);
        }
    }
    if duplicates.is_empty() {
        return Ok(());
    }
    Err(TrackingError::invalid(format!(
        "Duplicate parameter keys have been submitted: {duplicates:?}. Send one value per param \
         key."
    )))
}
