//! Reading logged models back as MLflow's `LoggedModel` JSON (`info` and `data`), and the
//! status enum's number and proto JSON names.

use std::collections::HashMap;

use rusqlite::{params_from_iter, OptionalExtension, Transaction};
use serde_json::{json, Map, Value};

use crate::error::{Result, TrackingError};
use crate::fields::{double_json, Fields};
use crate::runs::read::placeholders;

/// How many model ids one `IN (...)` list holds, well below SQLite's variable limit.
const IDS_PER_QUERY: usize = 500;

/// The `LoggedModelStatus` names, indexed by the number MLflow stores.
const STATUS_NAMES: [&str; 4] = [
    "LOGGED_MODEL_STATUS_UNSPECIFIED",
    "LOGGED_MODEL_PENDING",
    "LOGGED_MODEL_READY",
    "LOGGED_MODEL_UPLOAD_FAILED",
];

/// `LOGGED_MODEL_PENDING`, the status of a new model.
pub const STATUS_PENDING: i64 = 1;

/// Reads a status given as its number, its proto name (`LOGGED_MODEL_READY`) or its short
/// name (`READY`, `FAILED`), and returns the number.
pub fn parse_status(text: &str) -> Option<i64> {
    let text = text.trim();
    if let Ok(number) = text.parse::<i64>() {
        return (0..4).contains(&number).then_some(number);
    }
    let upper = text.to_ascii_uppercase();
    let short = |number: usize| STATUS_NAMES[number].trim_start_matches("LOGGED_MODEL_");
    (0..STATUS_NAMES.len())
        .find(|&number| upper == STATUS_NAMES[number] || upper == short(number))
        .or((upper == "FAILED").then_some(3))
        .map(|number| number as i64)
}

/// Reads the required `status` field of a finalize request.
pub fn status_field(fields: &Fields) -> Result<i64> {
    let raw = fields.opt_enum("status")?.ok_or_else(|| TrackingError::missing("status"))?;
    parse_status(&raw).ok_or_else(|| {
        TrackingError::invalid(format!(
            "Unknown logged model status '{raw}'. Use LOGGED_MODEL_READY or \
             LOGGED_MODEL_UPLOAD_FAILED (or their numbers 2 and 3)."
        ))
    })
}

/// Returns the proto JSON name of a stored status number.
pub fn status_name(number: i64) -> &'static str {
    usize::try_from(number)
        .ok()
        .and_then(|i| STATUS_NAMES.get(i))
        .copied()
        .unwrap_or(STATUS_NAMES[0])
}

/// Builds the `LoggedModel` JSON of each id, in the order given. Unknown ids are left out.
pub fn models_json(tx: &Transaction<'_>, ids: &[String]) -> Result<Vec<Value>> {
    let mut models: HashMap<String, ModelParts> = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(IDS_PER_QUERY) {
        read_chunk(tx, chunk, &mut models)?;
    }
    Ok(ids.iter().filter_map(|id| models.remove(id)).map(ModelParts::into_json).collect())
}

/// Builds the `LoggedModel` JSON of one model. A deleted model is found only when
/// `allow_deleted` is set.
pub fn model_json(tx: &Transaction<'_>, model_id: &str, allow_deleted: bool) -> Result<Value> {
    require_model(tx, model_id, allow_deleted)?;
    models_json(tx, &[model_id.to_owned()])?.pop().ok_or_else(|| no_model(model_id))
}

/// Fails with `RESOURCE_DOES_NOT_EXIST` unless the model is stored (and active, unless
/// `allow_deleted`). Returns its experiment id.
pub fn require_model(tx: &Transaction<'_>, model_id: &str, allow_deleted: bool) -> Result<i64> {
    let row: Option<(i64, String)> = tx
        .prepare_cached(
            "SELECT experiment_id, lifecycle_stage FROM tracking_logged_models
             WHERE model_id = ?1",
        )?
        .query_row([model_id], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()?;
    match row {
        Some((experiment_id, stage)) if allow_deleted || stage != "deleted" => Ok(experiment_id),
        _ => Err(no_model(model_id)),
    }
}

/// Builds the `RESOURCE_DOES_NOT_EXIST` error for a logged model id.
pub fn no_model(model_id: &str) -> TrackingError {
    TrackingError::not_found(format!("Logged model with ID '{model_id}' not found."))
}

fn read_chunk(
    tx: &Transaction<'_>,
    ids: &[String],
    models: &mut HashMap<String, ModelParts>,
) -> Result<()> {
    let list = placeholders(ids.len());
    let mut statement = tx.prepare(&format!(
        "SELECT model_id, experiment_id, name, creation_timestamp, last_updated_timestamp,
                artifact_location, status, model_type, source_run_id, status_message
         FROM tracking_logged_models WHERE model_id IN ({list})"
    ))?;
    let mut rows = statement.query(params_from_iter(ids))?;
    while let Some(row) = rows.next()? {
        let model_id: String = row.get(0)?;
        let mut info = Map::new();
        info.insert("model_id".into(), Value::String(model_id.clone()));
        info.insert("experiment_id".into(), Value::String(row.get::<_, i64>(1)?.to_string()));
        info.insert("name".into(), Value::String(row.get(2)?));
        info.insert("creation_timestamp_ms".into(), json!(row.get::<_, i64>(3)?));
        info.insert("last_updated_timestamp_ms".into(), json!(row.get::<_, i64>(4)?));
        info.insert("artifact_uri".into(), Value::String(row.get(5)?));
        info.insert("status".into(), Value::String(status_name(row.get(6)?).to_owned()));
        for (column, field) in [(7, "model_type"), (8, "source_run_id"), (9, "status_message")] {
            if let Some(text) = row.get::<_, Option<String>>(column)?.filter(|t| !t.is_empty()) {
                info.insert(field.into(), Value::String(text));
            }
        }
        models.insert(model_id, ModelParts { info, ..ModelParts::default() });
    }

    for (table, part) in
        [("tracking_logged_model_tags", Part::Tags), ("tracking_logged_model_params", Part::Params)]
    {
        let mut statement = tx.prepare(&format!(
            "SELECT model_id, key, value FROM {table} WHERE model_id IN ({list})
             ORDER BY model_id, key"
        ))?;
        let mut rows = statement.query(params_from_iter(ids))?;
        while let Some(row) = rows.next()? {
            if let Some(model) = models.get_mut(&row.get::<_, String>(0)?) {
                let pair =
                    json!({ "key": row.get::<_, String>(1)?, "value": row.get::<_, String>(2)? });
                match part {
                    Part::Tags => model.tags.push(pair),
                    Part::Params => model.params.push(pair),
                }
            }
        }
    }

    let mut statement = tx.prepare(&format!(
        "SELECT m.model_id, m.key, m.value, m.is_nan, m.timestamp, m.step, m.dataset_name,
                m.dataset_digest, r.run_id
         FROM tracking_metrics m JOIN tracking_runs r ON r.run_key = m.run_key
         WHERE m.model_id IN ({list})
         ORDER BY m.model_id, m.key, m.timestamp, m.step"
    ))?;
    let mut rows = statement.query(params_from_iter(ids))?;
    while let Some(row) = rows.next()? {
        let model_id: String = row.get(0)?;
        let Some(model) = models.get_mut(&model_id) else {
            continue;
        };
        let value = if row.get::<_, bool>(3)? { f64::NAN } else { row.get(2)? };
        let mut metric = Map::new();
        metric.insert("key".into(), Value::String(row.get(1)?));
        metric.insert("value".into(), double_json(value));
        metric.insert("timestamp".into(), json!(row.get::<_, i64>(4)?));
        metric.insert("step".into(), json!(row.get::<_, i64>(5)?));
        for (column, field) in [(6, "dataset_name"), (7, "dataset_digest")] {
            if let Some(text) = row.get::<_, Option<String>>(column)? {
                metric.insert(field.into(), Value::String(text));
            }
        }
        metric.insert("model_id".into(), Value::String(model_id));
        metric.insert("run_id".into(), Value::String(row.get(8)?));
        model.metrics.push(Value::Object(metric));
    }
    Ok(())
}

#[derive(Clone, Copy)]
enum Part {
    Tags,
    Params,
}

#[derive(Default)]
struct ModelParts {
    info: Map<String, Value>,
    tags: Vec<Value>,
    params: Vec<Value>,
    metrics: Vec<Value>,
}

impl ModelParts {
    /// Proto JSON leaves out empty lists, so an empty `tags`, `params` or `metrics` is absent.
    fn into_json(mut self) -> Value {
        if !self.tags.is_empty() {
            self.info.insert("tags".into(), Value::Array(self.tags));
        }
        let mut data = Map::new();
        if !self.params.is_empty() {
            data.insert("params".into(), Value::Array(self.params));
        }
        if !self.metrics.is_empty() {
            data.insert("metrics".into(), Value::Array(self.metrics));
        }
        json!({ "info": self.info, "data": data })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_read_every_form() {
        assert_eq!(parse_status("LOGGED_MODEL_READY"), Some(2));
        assert_eq!(parse_status("READY"), Some(2));
        assert_eq!(parse_status("2"), Some(2));
        assert_eq!(parse_status("LOGGED_MODEL_UPLOAD_FAILED"), Some(3));
        assert_eq!(parse_status("FAILED"), Some(3));
        assert_eq!(parse_status("pending"), Some(1));
        assert_eq!(parse_status("4"), None);
        assert_eq!(parse_status("DONE"), None);
        assert_eq!(status_name(1), "LOGGED_MODEL_PENDING");
        assert_eq!(status_name(9), "LOGGED_MODEL_STATUS_UNSPECIFIED");
    }
}
