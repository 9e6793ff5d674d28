//! Model versions: create, get, update, delete, stage transitions, tags, the download URI, and
//! the plain `/model-versions/get-artifact` download.
//!
//! Version numbers count up per model from 1 and are never given twice, even after a delete,
//! as in MLflow. Every version is `READY` as soon as it is created, because Weir copies no
//! files when it registers a version.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use axum::Json;
use rusqlite::{params, OptionalExtension, Transaction};
use serde_json::{json, Value};

use super::source::{self, Request};
use super::{checks, store};
use crate::artifacts::{send_uri, ArtifactPath};
use crate::caller::TaskCaller;
use crate::error::{Result, TrackingError};
use crate::fields::Fields;
use crate::runs::python_json;
use crate::{now_ms, validate, TrackingState};

/// The logged-model tag that lists the registered versions made from the model.
const MODEL_VERSIONS_TAG: &str = "mlflow.modelVersions";

/// The stages whose other versions `archive_existing_versions` moves to `Archived`.
const ACTIVE_STAGES: [&str; 2] = ["Staging", "Production"];

/// `POST model-versions/create`: adds the next version of a model from a source URI.
pub async fn create(
    State(state): State<TrackingState>,
    headers: HeaderMap,
    fields: Fields,
) -> Result<Json<Value>> {
    let name = checks::model_name(&fields, "name")?;
    let mut tags = checks::tag_list(&fields)?;
    if let Some(caller) = TaskCaller::from_headers(&headers) {
        caller.add_missing_tags(&mut tags);
    }
    let request = Request {
        source: fields.str("source")?,
        run_id: fields.opt_str("run_id")?,
        model_id: fields.opt_str("model_id")?,
        is_prompt: checks::is_prompt(&tags),
    };
    let run_link = fields.opt_str("run_link")?.unwrap_or_default();
    let description = fields.opt_str("description")?.unwrap_or_default();
    let log_name = name.clone();
    let version = state
        .db
        .write(move |tx| {
            let resolved = source::resolve(tx, request)?;
            let model_key = store::model_key(tx, &name)?;
            let now = now_ms();
            let number: i64 = tx
                .prepare_cached(
                    "UPDATE registry_models
                     SET last_version = last_version + 1, last_updated_time = ?2
                     WHERE model_key = ?1 RETURNING last_version",
                )?
                .query_row(params![model_key, now], |row| row.get(0))?;
            tx.prepare_cached(
                "INSERT INTO registry_model_versions
                     (model_key, version, creation_time, last_updated_time, description, source,
                      storage_location, run_id, run_link, model_id)
                 VALUES (?1, ?2, ?3, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?
            .execute(params![
                model_key,
                number,
                now,
                description,
                resolved.source,
                resolved.storage_location,
                resolved.run_id,
                run_link,
                resolved.model_id,
            ])?;
            let version_key = tx.last_insert_rowid();
            for (key, value) in &tags {
                put_tag(tx, version_key, key, value)?;
            }
            if let Some(model_id) = resolved.model_id.as_deref().filter(|id| !id.is_empty()) {
                record_on_logged_model(tx, model_id, &name, number)?;
            }
            store::version_json(tx, version_key)
        })
        .await?;
    tracing::info!(model.name = %log_name, model.version = %version["version"],
        "Created a model version.");
    Ok(Json(json!({ "model_version": version })))
}

/// `GET model-versions/get`.
pub async fn get(State(state): State<TrackingState>, fields: Fields) -> Result<Json<Value>> {
    let (name, number) = name_and_version(&fields)?;
    let version = state
        .db
        .read(move |tx| {
            let (_, key) = store::version_key(tx, &name, number)?;
            store::version_json(tx, key)
        })
        .await?;
    Ok(Json(json!({ "model_version": version })))
}

/// `PATCH model-versions/update`: sets the description; a missing one removes it.
pub async fn update(State(state): State<TrackingState>, fields: Fields) -> Result<Json<Value>> {
    let (name, number) = name_and_version(&fields)?;
    let description = fields.opt_str("description")?;
    let version = state
        .db
        .write(move |tx| {
            let (_, key) = store::version_key(tx, &name, number)?;
            tx.prepare_cached(
                "UPDATE registry_model_versions SET description = ?1, last_updated_time = ?2
                 WHERE version_key = ?3",
            )?
            .execute(params![description, now_ms(), key])?;
            store::version_json(tx, key)
        })
        .await?;
    Ok(Json(json!({ "model_version": version })))
}

/// `DELETE model-versions/delete`: deletes one version with its tags and aliases.
pub async fn delete(State(state): State<TrackingState>, fields: Fields) -> Result<Json<Value>> {
    let (name, number) = name_and_version(&fields)?;
    let log_name = name.clone();
    state
        .db
        .write(move |tx| {
            let (model_key, key) = store::version_key(tx, &name, number)?;
            tx.prepare_cached("DELETE FROM registry_model_versions WHERE version_key = ?1")?
                .execute([key])?;
            touch_model(tx, model_key, now_ms())
        })
        .await?;
    tracing::info!(model.name = %log_name, model.version = number, "Deleted a model version.");
    Ok(Json(json!({})))
}

/// `POST model-versions/transition-stage`: moves a version to a stage. With
/// `archive_existing_versions`, the model's other versions in that stage move to `Archived`;
/// the flag is only valid for `Staging` and `Production`.
pub async fn transition_stage(
    State(state): State<TrackingState>,
    fields: Fields,
) -> Result<Json<Value>> {
    let (name, number) = name_and_version(&fields)?;
    let requested = fields.str("stage")?;
    let archive_others = fields.opt_bool("archive_existing_versions")?.unwrap_or(false);
    let stage = checks::canonical_stage(&requested)?;
    if archive_others && !ACTIVE_STAGES.contains(&stage) {
        return Err(TrackingError::invalid(format!(
            "Cannot archive the other versions when moving to stage '{requested}': \
             archive_existing_versions applies only to {}. Leave it false for this stage.",
            ACTIVE_STAGES.join(" and ")
        )));
    }
    let log_name = name.clone();
    let version = state
        .db
        .write(move |tx| {
            let (model_key, key) = store::version_key(tx, &name, number)?;
            let now = now_ms();
            if archive_others {
                tx.prepare_cached(
                    "UPDATE registry_model_versions
                     SET current_stage = 'Archived', last_updated_time = ?1
                     WHERE model_key = ?2 AND current_stage = ?3 AND version_key != ?4",
                )?
                .execute(params![now, model_key, stage, key])?;
            }
            tx.prepare_cached(
                "UPDATE registry_model_versions SET current_stage = ?1, last_updated_time = ?2
                 WHERE version_key = ?3",
            )?
            .execute(params![stage, now, key])?;
            touch_model(tx, model_key, now)?;
            store::version_json(tx, key)
        })
        .await?;
    tracing::info!(model.name = %log_name, model.version = number, stage,
        "Moved a model version to a new stage.");
    Ok(Json(json!({ "model_version": version })))
}

/// `GET model-versions/get-download-uri`: where the version's files are.
pub async fn download_uri(
    State(state): State<TrackingState>,
    fields: Fields,
) -> Result<Json<Value>> {
    let name = checks::model_name(&fields, "name")?;
    let number = checks::parse_version(&fields.opt_str("version")?.unwrap_or_default())?;
    let uri = state.db.read(move |tx| storage_location(tx, &name, number)).await?;
    Ok(Json(json!({ "artifact_uri": uri })))
}

/// `GET /model-versions/get-artifact?name=&version=&path=`: streams one file of a version. The
/// version's files must be in Weir's artifact store: an `mlflow-artifacts:` location, or a
/// `runs:/` source of a run whose artifacts are there.
pub async fn get_artifact(State(state): State<TrackingState>, fields: Fields) -> Result<Response> {
    let (name, number) = name_and_version(&fields)?;
    let path = ArtifactPath::parse(&fields.str("path")?)?;
    let root = state
        .db
        .read(move |tx| {
            let location = storage_location(tx, &name, number)?;
            resolve_runs_uri(tx, location)
        })
        .await?;
    send_uri(&state, &root, &path).await
}

/// Replaces a `runs:/<run_id>/<path>` location with the folder below the run's artifact root;
/// other locations are returned as they are.
fn resolve_runs_uri(tx: &Transaction<'_>, location: String) -> Result<String> {
    let Some(rest) = location.strip_prefix("runs:/") else {
        return Ok(location);
    };
    let (run_id, path) = rest.split_once('/').unwrap_or((rest, ""));
    let root: String = tx
        .prepare_cached("SELECT artifact_uri FROM tracking_runs WHERE run_id = ?1")?
        .query_row([run_id], |row| row.get(0))
        .optional()?
        .ok_or_else(|| {
            TrackingError::not_found(format!(
                "Run with id={run_id} not found, so the model version source '{location}' \
                 cannot be read."
            ))
        })?;
    Ok(format!("{}/{}", root.trim_end_matches('/'), path.trim_start_matches('/')))
}

/// `POST model-versions/set-tag`.
pub async fn set_tag(State(state): State<TrackingState>, fields: Fields) -> Result<Json<Value>> {
    let (name, number) = name_and_version(&fields)?;
    let key = fields.str("key")?;
    let value = fields.opt_str("value")?.unwrap_or_default();
    checks::tag(&key, &value)?;
    state
        .db
        .write(move |tx| {
            let (_, version_key) = store::version_key(tx, &name, number)?;
            put_tag(tx, version_key, &key, &value)
        })
        .await?;
    Ok(Json(json!({})))
}

/// `DELETE model-versions/delete-tag`: removes one tag. Removing one that is not set succeeds.
pub async fn delete_tag(State(state): State<TrackingState>, fields: Fields) -> Result<Json<Value>> {
    let (name, number) = name_and_version(&fields)?;
    let key = fields.str("key")?;
    validate::key("key", &key)?;
    state
        .db
        .write(move |tx| {
            let (_, version_key) = store::version_key(tx, &name, number)?;
            tx.prepare_cached(
                "DELETE FROM registry_version_tags WHERE version_key = ?1 AND key = ?2",
            )?
            .execute(params![version_key, key])?;
            Ok(())
        })
        .await?;
    Ok(Json(json!({})))
}

/// Adds `{"name": ..., "version": ...}` to the `mlflow.modelVersions` tag of the logged model
/// a version was registered from, as MLflow does, so the model's page lists its versions. The
/// tag contains a JSON list in the layout of Python's `json.dumps`.
fn record_on_logged_model(
    tx: &Transaction<'_>,
    model_id: &str,
    name: &str,
    version: i64,
) -> Result<()> {
    let known: bool = tx
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM tracking_logged_models WHERE model_id = ?1)")?
        .query_row([model_id], |row| row.get(0))?;
    if !known {
        return Err(TrackingError::not_found(format!(
            "Logged model '{model_id}' not found. Log the model before registering it, or leave \
             model_id out."
        )));
    }
    let existing: Option<String> = tx
        .prepare_cached(
            "SELECT value FROM tracking_logged_model_tags WHERE model_id = ?1 AND key = ?2",
        )?
        .query_row((model_id, MODEL_VERSIONS_TAG), |row| row.get(0))
        .optional()?;
    let mut entries: Vec<(String, i64)> = existing
        .and_then(|text| serde_json::from_str::<Vec<Value>>(&text).ok())
        .unwrap_or_default()
        .iter()
        .filter_map(|entry| Some((entry["name"].as_str()?.to_owned(), entry["version"].as_i64()?)))
        .collect();
    if !entries.iter().any(|(known_name, known)| known_name == name && *known == version) {
        entries.push((name.to_owned(), version));
    }
    let items: Vec<Value> =
        entries.iter().map(|(name, version)| json!({ "name": name, "version": version })).collect();
    let value = python_json::to_string(&Value::Array(items));
    tx.prepare_cached(
        "INSERT INTO tracking_logged_model_tags (model_id, key, value) VALUES (?1, ?2, ?3)
         ON CONFLICT (model_id, key) DO UPDATE SET value = excluded.value",
    )?
    .execute(params![model_id, MODEL_VERSIONS_TAG, value])?;
    Ok(())
}

/// Reads and checks the `name` and `version` fields.
fn name_and_version(fields: &Fields) -> Result<(String, i64)> {
    let name = checks::model_name(fields, "name")?;
    Ok((name, checks::version(fields)?))
}

fn storage_location(tx: &Transaction<'_>, name: &str, number: i64) -> Result<String> {
    let (_, key) = store::version_key(tx, name, number)?;
    Ok(tx
        .prepare_cached(
            "SELECT storage_location FROM registry_model_versions WHERE version_key = ?1",
        )?
        .query_row([key], |row| row.get(0))?)
}

fn touch_model(tx: &Transaction<'_>, model_key: i64, now: i64) -> Result<()> {
    tx.prepare_cached("UPDATE registry_models SET last_updated_time = ?1 WHERE model_key = ?2")?
        .execute(params![now, model_key])?;
    Ok(())
}

fn put_tag(tx: &Transaction<'_>, version_key: i64, key: &str, value: &str) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO registry_version_tags (version_key, key, value) VALUES (?1, ?2, ?3)
         ON CONFLICT (version_key, key) DO UPDATE SET value = excluded.value",
    )?
    .execute(params![version_key, key, value])?;
    Ok(())
}
