//! The inputs and outputs of a run: dataset inputs and model inputs (log-inputs), model
//! outputs (outputs), and the MLmodel summaries of log-model.
//!
//! Datasets belong to the run's experiment and are stored once per name and digest. A run that
//! logs a dataset it already has keeps the first input tags. log-model appends a summary of
//! the MLmodel to the JSON list in the run tag `mlflow.log-model.history`, as MLflow does.

use axum::extract::State;
use axum::Json;
use rusqlite::{OptionalExtension, Transaction};
use serde_json::{json, Map, Value};
use uuid::Uuid;

use crate::error::{Result, TrackingError};
use crate::fields::Fields;
use crate::runs::entries::in_entry;
use crate::runs::{active_run, put_run_tag, python_json, TAG_LOGGED_MODELS};
use crate::validate;
use crate::TrackingState;

/// MLflow's size limits of dataset fields and input tags, in characters.
const MAX_DATASET_NAME_LENGTH: usize = 500;
const MAX_DATASET_DIGEST_LENGTH: usize = 36;
const MAX_DATASET_SOURCE_LENGTH: usize = 65_535;
const MAX_DATASET_SCHEMA_LENGTH: usize = 1_048_575;
const MAX_DATASET_PROFILE_LENGTH: usize = 16_777_215;
const MAX_INPUT_TAG_KEY_LENGTH: usize = 255;
const MAX_INPUT_TAG_VALUE_LENGTH: usize = 500;

/// The MLmodel fields log-model requires.
const REQUIRED_MODEL_FIELDS: [&str; 4] = ["artifact_path", "flavors", "utc_time_created", "run_id"];

/// One dataset input of a log-inputs request.
struct DatasetInput {
    name: String,
    digest: String,
    source_type: String,
    source: String,
    schema: Option<String>,
    profile: Option<String>,
    /// The input tags as the JSON list stored in `tracking_run_inputs.tags`.
    tags: String,
}

pub(crate) async fn log_inputs(
    State(state): State<TrackingState>,
    fields: Fields,
) -> Result<Json<Value>> {
    let run_id = fields.run_id()?;
    let mut datasets: Vec<DatasetInput> = Vec::new();
    for (index, item) in fields.objects("datasets")?.iter().enumerate() {
        let input =
            dataset_input(item).map_err(|err| in_entry(&format!("datasets[{index}]"), err))?;
        // The first input of each name and digest wins, as in MLflow.
        if !datasets.iter().any(|seen| seen.name == input.name && seen.digest == input.digest) {
            datasets.push(input);
        }
    }
    let models = fields
        .objects("models")?
        .iter()
        .enumerate()
        .map(|(index, item)| {
            item.str("model_id").map_err(|err| in_entry(&format!("models[{index}]"), err))
        })
        .collect::<Result<Vec<_>>>()?;

    state
        .db
        .write(move |tx| {
            let run = active_run(tx, &run_id)?;
            for input in &datasets {
                let dataset_key = dataset_key(tx, run.experiment_id, input)?;
                tx.prepare_cached(
                    "INSERT INTO tracking_run_inputs (run_key, dataset_key, tags)
                     VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
                )?
                .execute((run.key, dataset_key, &input.tags))?;
            }
            for model_id in &models {
                tx.prepare_cached(
                    "INSERT INTO tracking_run_models (run_key, model_id, direction, step)
                     VALUES (?1, ?2, 'input', 0) ON CONFLICT DO NOTHING",
                )?
                .execute((run.key, model_id))?;
            }
            Ok(())
        })
        .await?;
    Ok(Json(json!({})))
}

fn dataset_input(item: &Fields) -> Result<DatasetInput> {
    let dataset = item.object("dataset")?.ok_or_else(|| TrackingError::missing("dataset"))?;
    let name = dataset.str("name")?;
    let digest = dataset.str("digest")?;
    let source_type = dataset.opt_str("source_type")?.unwrap_or_default();
    let source = dataset.opt_str("source")?.unwrap_or_default();
    let schema = dataset.opt_str("schema")?;
    let profile = dataset.opt_str("profile")?;
    validate::length("dataset.name", MAX_DATASET_NAME_LENGTH, &name)?;
    validate::length("dataset.digest", MAX_DATASET_DIGEST_LENGTH, &digest)?;
    validate::length("dataset.source", MAX_DATASET_SOURCE_LENGTH, &source)?;
    validate::length("dataset.schema", MAX_DATASET_SCHEMA_LENGTH, schema.as_deref().unwrap_or(""))?;
    validate::length(
        "dataset.profile",
        MAX_DATASET_PROFILE_LENGTH,
        profile.as_deref().unwrap_or(""),
    )?;

    let mut tags = Vec::new();
    for tag in item.objects("tags")? {
        let key = tag.str("key")?;
        let value = tag.opt_str("value")?.unwrap_or_default();
        validate::length("tags.key", MAX_INPUT_TAG_KEY_LENGTH, &key)?;
        validate::length("tags.value", MAX_INPUT_TAG_VALUE_LENGTH, &value)?;
        tags.push(json!({ "key": key, "value": value }));
    }
    Ok(DatasetInput {
        name,
        digest,
        source_type,
        source,
        schema,
        profile,
        tags: Value::Array(tags).to_string(),
    })
}

/// Returns the key of the experiment's dataset with the input's name and digest, storing the
/// dataset first when the experiment does not have it yet.
fn dataset_key(tx: &Transaction<'_>, experiment_id: i64, input: &DatasetInput) -> Result<i64> {
    let existing: Option<i64> = tx
        .prepare_cached(
            "SELECT dataset_key FROM tracking_datasets
             WHERE experiment_id = ?1 AND name = ?2 AND digest = ?3",
        )?
        .query_row((experiment_id, &input.name, &input.digest), |row| row.get(0))
        .optional()?;
    if let Some(key) = existing {
        return Ok(key);
    }
    tx.prepare_cached(
        "INSERT INTO tracking_datasets
             (dataset_uuid, experiment_id, name, digest, source_type, source, schema, profile)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute((
        Uuid::new_v4().simple().to_string(),
        experiment_id,
        &input.name,
        &input.digest,
        &input.source_type,
        &input.source,
        &input.schema,
        &input.profile,
    ))?;
    Ok(tx.last_insert_rowid())
}

pub(crate) async fn log_outputs(
    State(state): State<TrackingState>,
    fields: Fields,
) -> Result<Json<Value>> {
    let run_id = fields.run_id()?;
    if fields.raw("models").is_none() {
        return Err(TrackingError::missing("models"));
    }
    let models = fields
        .objects("models")?
        .iter()
        .enumerate()
        .map(|(index, item)| {
            let output = (|| Ok((item.str("model_id")?, item.opt_i64("step")?.unwrap_or(0))))();
            output.map_err(|err| in_entry(&format!("models[{index}]"), err))
        })
        .collect::<Result<Vec<(String, i64)>>>()?;
    state
        .db
        .write(move |tx| {
            let run = active_run(tx, &run_id)?;
            for (model_id, step) in &models {
                tx.prepare_cached(
                    "INSERT INTO tracking_run_models (run_key, model_id, direction, step)
                     VALUES (?1, ?2, 'output', ?3)
                     ON CONFLICT (run_key, direction, model_id) DO UPDATE SET step = excluded.step",
                )?
                .execute((run.key, model_id, step))?;
            }
            Ok(())
        })
        .await?;
    Ok(Json(json!({})))
}

pub(crate) async fn log_model(
    State(state): State<TrackingState>,
    fields: Fields,
) -> Result<Json<Value>> {
    let run_id = fields.run_id()?;
    let model_json = fields.str("model_json")?;
    let summary = model_summary(&model_json)?;
    state
        .db
        .write(move |tx| {
            let run = active_run(tx, &run_id)?;
            let previous: Option<String> = tx
                .prepare_cached(
                    "SELECT value FROM tracking_run_tags WHERE run_key = ?1 AND key = ?2",
                )?
                .query_row((run.key, TAG_LOGGED_MODELS), |row| row.get(0))
                .optional()?;
            let mut history = match previous {
                None => Vec::new(),
                Some(text) => match serde_json::from_str::<Value>(&text) {
                    Ok(Value::Array(items)) => items,
                    _ => {
                        return Err(TrackingError::invalid(format!(
                            "The run tag '{TAG_LOGGED_MODELS}' of run {run_id} is not a JSON \
                             list, so no model can be added to it. Delete the tag and log the \
                             model again."
                        )))
                    }
                },
            };
            history.push(summary);
            let value = python_json::to_string(&Value::Array(history));
            // NOTE: MLflow cuts a longer value to 8,000 characters, which leaves invalid JSON
            // behind; Weir rejects the call instead.
            if value.chars().count() > validate::MAX_TAG_VALUE_LENGTH {
                return Err(TrackingError::invalid(format!(
                    "The run tag '{TAG_LOGGED_MODELS}' of run {run_id} would exceed {} \
                     characters with this model. Log further models in a new run.",
                    validate::MAX_TAG_VALUE_LENGTH
                )));
            }
            put_run_tag(tx, run.key, TAG_LOGGED_MODELS, &value)
        })
        .await?;
    Ok(Json(json!({})))
}

/// Reads an MLmodel JSON object and keeps what MLflow keeps in the history tag: `run_id`,
/// `artifact_path`, `utc_time_created` and `model_uuid`, then `flavors` with each flavor's
/// `config` entry removed.
fn model_summary(model_json: &str) -> Result<Value> {
    let model = match serde_json::from_str::<Value>(model_json) {
        Ok(Value::Object(model)) => model,
        _ => {
            return Err(TrackingError::invalid(format!(
                "Invalid value for parameter 'model_json' supplied: {model_json} is not a JSON \
                 object. Send the MLmodel as a JSON object."
            )))
        }
    };
    let missing: Vec<&str> =
        REQUIRED_MODEL_FIELDS.into_iter().filter(|field| !model.contains_key(*field)).collect();
    if !missing.is_empty() {
        return Err(TrackingError::invalid(format!(
            "The model JSON is missing the required fields {missing:?}. Send the whole MLmodel."
        )));
    }

    let mut summary = Map::new();
    for field in ["run_id", "artifact_path"] {
        // MLflow drops these two when they are null.
        if let Some(value) = model.get(field).filter(|value| !value.is_null()) {
            summary.insert(field.to_owned(), value.clone());
        }
    }
    let created = match &model["utc_time_created"] {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    };
    summary.insert("utc_time_created".to_owned(), Value::String(created));
    summary
        .insert("model_uuid".to_owned(), model.get("model_uuid").cloned().unwrap_or(Value::Null));

    let mut flavors = Map::new();
    if let Some(Value::Object(given)) = model.get("flavors") {
        for (flavor, config) in given {
            let mut config = config.clone();
            if let Value::Object(entries) = &mut config {
                entries.shift_remove("config");
            }
            flavors.insert(flavor.clone(), config);
        }
    }
    summary.insert("flavors".to_owned(), Value::Object(flavors));
    Ok(Value::Object(summary))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_summary_keeps_mlflow_fields_in_order() {
        let model = r#"{"artifact_path": "model", "run_id": "r1", "utc_time_created": "t",
            "flavors": {"sklearn": {"version": "1", "config": {"x": 1}}, "raw": 5},
            "signature": {"inputs": "[]"}}"#;
        let summary = model_summary(model).expect("valid model");
        assert_eq!(
            python_json::to_string(&summary),
            r#"{"run_id": "r1", "artifact_path": "model", "utc_time_created": "t", "model_uuid": null, "flavors": {"sklearn": {"version": "1"}, "raw": 5}}"#
        );
    }

    #[test]
    fn model_summary_rejects_incomplete_models() {
        assert!(model_summary(r#"{"artifact_path": "m"}"#).is_err());
        assert!(model_summary("[1]").is_err());
        assert!(model_summary("not json").is_err());
    }
}
