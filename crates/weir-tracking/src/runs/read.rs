//! Reading runs back as MLflow JSON: [`runs_json`] builds the `Run` message (info, data,
//! inputs, outputs) of many runs with one query per child table.

use std::collections::HashMap;

use rusqlite::{params_from_iter, OptionalExtension, Transaction};
use serde_json::{json, Map, Value};

use crate::error::{Result, TrackingError};
use crate::fields::double_json;

/// Finds the key of a run by its id, or fails with `RESOURCE_DOES_NOT_EXIST`.
pub fn run_key(tx: &Transaction<'_>, run_id: &str) -> Result<i64> {
    tx.prepare_cached("SELECT run_key FROM tracking_runs WHERE run_id = ?1")?
        .query_row([run_id], |row| row.get(0))
        .optional()?
        .ok_or_else(|| TrackingError::not_found(format!("Run with id={run_id} not found")))
}

/// Builds the JSON `Run` of each key, in the order given. Unknown keys are left out.
pub fn runs_json(tx: &Transaction<'_>, keys: &[i64]) -> Result<Vec<Value>> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let list = placeholders(keys.len());
    let mut runs: HashMap<i64, RunParts> = HashMap::with_capacity(keys.len());

    let mut statement = tx.prepare(&format!(
        "SELECT run_key, run_id, experiment_id, name, user_id, status, start_time, end_time,
                artifact_uri, lifecycle_stage
         FROM tracking_runs WHERE run_key IN ({list})"
    ))?;
    let mut rows = statement.query(params_from_iter(keys))?;
    while let Some(row) = rows.next()? {
        let run_id: String = row.get(1)?;
        let mut info = Map::new();
        info.insert("run_id".into(), Value::String(run_id.clone()));
        info.insert("run_uuid".into(), Value::String(run_id));
        info.insert("run_name".into(), Value::String(row.get(3)?));
        info.insert("experiment_id".into(), Value::String(row.get::<_, i64>(2)?.to_string()));
        info.insert("user_id".into(), Value::String(row.get(4)?));
        info.insert("status".into(), Value::String(row.get(5)?));
        if let Some(start) = row.get::<_, Option<i64>>(6)? {
            info.insert("start_time".into(), json!(start));
        }
        if let Some(end) = row.get::<_, Option<i64>>(7)? {
            info.insert("end_time".into(), json!(end));
        }
        info.insert("artifact_uri".into(), Value::String(row.get(8)?));
        info.insert("lifecycle_stage".into(), Value::String(row.get(9)?));
        runs.insert(row.get(0)?, RunParts { info, ..RunParts::default() });
    }

    let mut statement = tx.prepare(&format!(
        "SELECT run_key, key, value, timestamp, step, is_nan FROM tracking_latest_metrics
         WHERE run_key IN ({list}) ORDER BY run_key, key"
    ))?;
    let mut rows = statement.query(params_from_iter(keys))?;
    while let Some(row) = rows.next()? {
        if let Some(run) = runs.get_mut(&row.get(0)?) {
            let value = if row.get::<_, bool>(5)? { f64::NAN } else { row.get(2)? };
            run.metrics.push(json!({
                "key": row.get::<_, String>(1)?,
                "value": double_json(value),
                "timestamp": row.get::<_, i64>(3)?,
                "step": row.get::<_, i64>(4)?,
            }));
        }
    }

    for (table, target) in [("tracking_params", Part::Params), ("tracking_run_tags", Part::Tags)] {
        let mut statement = tx.prepare(&format!(
            "SELECT run_key, key, value FROM {table} WHERE run_key IN ({list})
             ORDER BY run_key, key"
        ))?;
        let mut rows = statement.query(params_from_iter(keys))?;
        while let Some(row) = rows.next()? {
            if let Some(run) = runs.get_mut(&row.get(0)?) {
                let pair =
                    json!({ "key": row.get::<_, String>(1)?, "value": row.get::<_, String>(2)? });
                match target {
                    Part::Params => run.params.push(pair),
                    Part::Tags => run.tags.push(pair),
                }
            }
        }
    }

    let mut statement = tx.prepare(&format!(
        "SELECT i.run_key, i.tags, d.name, d.digest, d.source_type, d.source, d.schema, d.profile
         FROM tracking_run_inputs i JOIN tracking_datasets d ON d.dataset_key = i.dataset_key
         WHERE i.run_key IN ({list}) ORDER BY i.run_key, d.dataset_key"
    ))?;
    let mut rows = statement.query(params_from_iter(keys))?;
    while let Some(row) = rows.next()? {
        if let Some(run) = runs.get_mut(&row.get(0)?) {
            let tags: Value =
                serde_json::from_str(&row.get::<_, String>(1)?).unwrap_or(Value::Array(vec![]));
            let mut dataset = Map::new();
            dataset.insert("name".into(), Value::String(row.get(2)?));
            dataset.insert("digest".into(), Value::String(row.get(3)?));
            dataset.insert("source_type".into(), Value::String(row.get(4)?));
            dataset.insert("source".into(), Value::String(row.get(5)?));
            if let Some(schema) = row.get::<_, Option<String>>(6)? {
                dataset.insert("schema".into(), Value::String(schema));
            }
            if let Some(profile) = row.get::<_, Option<String>>(7)? {
                dataset.insert("profile".into(), Value::String(profile));
            }
            run.dataset_inputs.push(json!({ "tags": tags, "dataset": dataset }));
        }
    }

    let mut statement = tx.prepare(&format!(
        "SELECT run_key, model_id, direction, step FROM tracking_run_models
         WHERE run_key IN ({list}) ORDER BY run_key, model_id"
    ))?;
    let mut rows = statement.query(params_from_iter(keys))?;
    while let Some(row) = rows.next()? {
        if let Some(run) = runs.get_mut(&row.get(0)?) {
            let model_id: String = row.get(1)?;
            if row.get::<_, String>(2)? == "input" {
                run.model_inputs.push(json!({ "model_id": model_id }));
            } else {
                run.model_outputs
                    .push(json!({ "model_id": model_id, "step": row.get::<_, i64>(3)? }));
            }
        }
    }

    Ok(keys.iter().filter_map(|key| runs.remove(key)).map(RunParts::into_json).collect())
}

/// Builds the JSON `Run` of one run id, or fails with `RESOURCE_DOES_NOT_EXIST`.
pub fn run_json(tx: &Transaction<'_>, run_id: &str) -> Result<Value> {
    let key = run_key(tx, run_id)?;
    runs_json(tx, &[key])?
        .pop()
        .ok_or_else(|| TrackingError::not_found(format!("Run with id={run_id} not found")))
}

#[derive(Clone, Copy)]
enum Part {
    Params,
    Tags,
}

#[derive(Default)]
struct RunParts {
    info: Map<String, Value>,
    metrics: Vec<Value>,
    params: Vec<Value>,
    tags: Vec<Value>,
    dataset_inputs: Vec<Value>,
    model_inputs: Vec<Value>,
    model_outputs: Vec<Value>,
}

impl RunParts {
    fn into_json(self) -> Value {
        json!({
            "info": self.info,
            "data": { "metrics": self.metrics, "params": self.params, "tags": self.tags },
            "inputs": { "dataset_inputs": self.dataset_inputs, "model_inputs": self.model_inputs },
            "outputs": { "model_outputs": self.model_outputs },
        })
    }
}

/// `?, ?, ?` with `n` placeholders.
pub fn placeholders(n: usize) -> String {
    let mut text = String::with_capacity(n * 3);
    for i in 0..n {
        if i > 0 {
            text.push_str(", ");
        }
        text.push('?');
    }
    text
}
