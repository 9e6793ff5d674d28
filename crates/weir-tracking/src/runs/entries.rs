//! Metrics, params and tags of a run: reading them from a request with MLflow's checks, and
//! storing them.
//!
//! Storage rules, as in MLflow's SQL store:
//! - A metric point that is already stored (same key, step, timestamp and value) is ignored.
//! - `tracking_latest_metrics` keeps, per key, the point with the highest step, then the highest
//!   timestamp, then the highest value. A NaN counts as 0 in that comparison.
//! - A param never changes: logging another value for a stored key is rejected.
//! - Setting the `mlflow.runName` tag renames the run; setting it to an empty value is ignored.
//! - Param values longer than 6,000 characters and tag values longer than 8,000 are cut to
//!   that length, as MLflow does with its default `MLFLOW_TRUNCATE_LONG_VALUES=true`.

use std::cmp::Ordering;
use std::collections::HashMap;

use rusqlite::{CachedStatement, OptionalExtension, Transaction};

use crate::error::{Result, TrackingError};
use crate::fields::Fields;
use crate::runs::{put_run_tag, rename_run, TAG_RUN_NAME};
use crate::validate;

/// One metric point, ready to store.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricPoint {
    pub key: String,
    /// The logged value; NaN and the infinities are kept as they are.
    pub value: f64,
    pub timestamp: i64,
    pub step: i64,
    pub model_id: Option<String>,
    pub dataset_name: Option<String>,
    pub dataset_digest: Option<String>,
}

impl MetricPoint {
    /// Reads a metric from request fields: `key`, `value` and `timestamp` are required,
    /// `step` defaults to 0.
    pub fn from_fields(fields: &Fields) -> Result<MetricPoint> {
        let key = fields.str("key")?;
        validate::key("key", &key)?;
        // MLflow stores an infinite value as the largest finite double of its sign, and its
        // client reads that number back; NaN stays NaN.
        let value = match fields.f64("value")? {
            v if v == f64::INFINITY => f64::MAX,
            v if v == f64::NEG_INFINITY => f64::MIN,
            v => v,
        };
        let timestamp =
            fields.opt_i64("timestamp")?.ok_or_else(|| TrackingError::missing("timestamp"))?;
        if timestamp < 0 {
            return Err(TrackingError::invalid(format!(
                "Invalid value {timestamp} for parameter 'timestamp' supplied: metric '{key}' \
                 needs a timestamp in milliseconds since the Unix epoch, which is never negative."
            )));
        }
        let step = fields.opt_i64("step")?.unwrap_or(0);
        let optional = |name: &str| -> Result<Option<String>> {
            Ok(fields.opt_str(name)?.filter(|text| !text.is_empty()))
        };
        Ok(MetricPoint {
            key,
            value,
            timestamp,
            step,
            model_id: optional("model_id")?,
            dataset_name: optional("dataset_name")?,
            dataset_digest: optional("dataset_digest")?,
        })
    }

    /// Returns the `(is_nan, value)` pair stored for the point. A NaN is stored as 0 with
    /// `is_nan` set, because the value is part of the primary key.
    pub fn stored_value(&self) -> (bool, f64) {
        if self.value.is_nan() {
            (true, 0.0)
        } else {
            (false, self.value)
        }
    }

    /// Orders two points of one key by step, then timestamp, then stored value; the greater
    /// point is the latest.
    fn recency(&self, other: &MetricPoint) -> Ordering {
        let value = self.stored_value().1;
        let other_value = other.stored_value().1;
        (self.step, self.timestamp)
            .cmp(&(other.step, other.timestamp))
            .then(value.partial_cmp(&other_value).unwrap_or(Ordering::Equal))
    }
}

/// Reads a param from request fields: `key` is required, `value` defaults to empty.
pub fn param_from_fields(fields: &Fields) -> Result<(String, String)> {
    let key = fields.str("key")?;
    validate::key("key", &key)?;
    let value = fields.opt_str("value")?.unwrap_or_default();
    Ok((key.clone(), truncate(&key, value, validate::MAX_PARAM_VALUE_LENGTH)))
}

/// Reads a run tag from request fields: `key` is required, `value` defaults to empty.
pub fn tag_from_fields(fields: &Fields) -> Result<(String, String)> {
    let key = fields.str("key")?;
    validate::key("key", &key)?;
    let value = fields.opt_str("value")?.unwrap_or_default();
    Ok((key.clone(), truncate(&key, value, validate::MAX_TAG_VALUE_LENGTH)))
}

/// Cuts `value` to `limit` characters, logging a warning when it does.
fn truncate(key: &str, value: String, limit: usize) -> String {
    match value.char_indices().nth(limit) {
        None => value,
        Some((end, _)) => {
            tracing::warn!(
                key,
                length = value.chars().count(),
                limit,
                "Truncated a long param or tag value to the MLflow length limit."
            );
            value[..end].to_owned()
        }
    }
}

/// Adds `path` (such as `metrics[3]`) to the front of an error about one entry of a list.
pub fn in_entry(path: &str, err: TrackingError) -> TrackingError {
    TrackingError::new(err.code, format!("{path}: {}", err.message))
}

/// Stores metric points of one run and updates its latest values, with one statement per point
/// and one per distinct key. A point stored before keeps its values but gains a model id or
/// dataset it lacked, so `log_model` can link a run's metrics to the model.
pub fn insert_metrics(tx: &Transaction<'_>, run_key: i64, points: &[MetricPoint]) -> Result<()> {
    let mut insert = tx.prepare_cached(
        "INSERT INTO tracking_metrics
             (run_key, key, step, timestamp, is_nan, value, model_id, dataset_name, dataset_digest)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
         ON CONFLICT DO UPDATE SET
             model_id = COALESCE(tracking_metrics.model_id, excluded.model_id),
             dataset_name = COALESCE(tracking_metrics.dataset_name, excluded.dataset_name),
             dataset_digest = COALESCE(tracking_metrics.dataset_digest, excluded.dataset_digest)",
    )?;
    // Index of the latest point of each key within this request.
    let mut latest: HashMap<&str, usize> = HashMap::new();
    for (index, point) in points.iter().enumerate() {
        execute_point(&mut insert, run_key, point)?;
        latest
            .entry(point.key.as_str())
            .and_modify(|best| {
                if point.recency(&points[*best]) == Ordering::Greater {
                    *best = index;
                }
            })
            .or_insert(index);
    }

    // The WHERE clause keeps a stored point that is at least as recent as the new one.
    let mut upsert = tx.prepare_cached(
        "INSERT INTO tracking_latest_metrics
             (run_key, key, step, timestamp, is_nan, value, model_id, dataset_name, dataset_digest)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
         ON CONFLICT (run_key, key) DO UPDATE SET
             step = excluded.step, timestamp = excluded.timestamp, is_nan = excluded.is_nan,
             value = excluded.value, model_id = excluded.model_id,
             dataset_name = excluded.dataset_name, dataset_digest = excluded.dataset_digest
         WHERE (excluded.step, excluded.timestamp, excluded.value)
             > (tracking_latest_metrics.step, tracking_latest_metrics.timestamp,
                tracking_latest_metrics.value)",
    )?;
    for index in latest.into_values() {
        execute_point(&mut upsert, run_key, &points[index])?;
    }
    Ok(())
}

/// Runs a statement whose nine parameters are a metric point's columns in the order of
/// `tracking_metrics`: run key, key, step, timestamp, is_nan, value, model id and dataset.
fn execute_point(
    statement: &mut CachedStatement<'_>,
    run_key: i64,
    point: &MetricPoint,
) -> Result<()> {
    let (is_nan, value) = point.stored_value();
    statement.execute((
        run_key,
        &point.key,
        point.step,
        point.timestamp,
        is_nan,
        value,
        &point.model_id,
        &point.dataset_name,
        &point.dataset_digest,
    ))?;
    Ok(())
}

/// Stores params of one run. A key that is already stored with the same value is left alone.
/// A key stored with another value fails the whole call, and the error names every such key.
pub fn insert_params(
    tx: &Transaction<'_>,
    run_id: &str,
    run_key: i64,
    params: &[(String, String)],
) -> Result<()> {
    let mut insert = tx.prepare_cached(
        "INSERT INTO tracking_params (run_key, key, value) VALUES (?1, ?2, ?3)
         ON CONFLICT (run_key, key) DO NOTHING",
    )?;
    let mut conflicts = Vec::new();
    for (key, value) in params {
        if insert.execute((run_key, key, value))? > 0 {
            continue;
        }
        let stored: Option<String> = tx
            .prepare_cached("SELECT value FROM tracking_params WHERE run_key = ?1 AND key = ?2")?
            .query_row((run_key, key), |row| row.get(0))
            .optional()?;
        if let Some(stored) = stored.filter(|stored| stored != value) {
            conflicts.push(format!("key='{key}' has value='{stored}', new value='{value}'"));
        }
    }
    if conflicts.is_empty() {
        return Ok(());
    }
    Err(TrackingError::invalid(format!(
        "Changing param values is not allowed, and run {run_id} already has other values for \
         these params: {}. Log the new values under other keys, or in a new run.",
        conflicts.join("; ")
    )))
}

/// Sets tags of one run; a later value of the same key wins. `mlflow.runName` renames the run.
pub fn set_tags(tx: &Transaction<'_>, run_key: i64, tags: &[(String, String)]) -> Result<()> {
    for (key, value) in tags {
        if key == TAG_RUN_NAME {
            if !value.is_empty() {
                rename_run(tx, run_key, value)?;
            }
        } else {
            put_run_tag(tx, run_key, key, value)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(step: i64, timestamp: i64, value: f64) -> MetricPoint {
        MetricPoint {
            key: "loss".into(),
            value,
            timestamp,
            step,
            model_id: None,
            dataset_name: None,
            dataset_digest: None,
        }
    }

    #[test]
    fn recency_compares_step_then_timestamp_then_value() {
        assert_eq!(point(2, 0, 0.0).recency(&point(1, 9, 9.0)), Ordering::Greater);
        assert_eq!(point(1, 5, 0.0).recency(&point(1, 4, 9.0)), Ordering::Greater);
        assert_eq!(point(1, 5, 2.0).recency(&point(1, 5, 1.0)), Ordering::Greater);
        assert_eq!(point(1, 5, f64::NAN).recency(&point(1, 5, -1.0)), Ordering::Greater);
        assert_eq!(point(1, 5, f64::NAN).recency(&point(1, 5, 1.0)), Ordering::Less);
    }

    #[test]
    fn long_values_are_cut_at_the_character_limit() {
        assert_eq!(truncate("k", "é".repeat(10), 4), "éééé");
        assert_eq!(truncate("k", "abc".into(), 3), "abc");
    }
}
