//! Logged models (MLflow 3): models logged by a run, each with its own artifact folder
//! (`<experiment artifact_location>/models/<model_id>/artifacts`), params, tags and metrics.
//! `mlflow.<flavor>.log_model` creates one in `PENDING` state, uploads its files through the
//! artifact proxy, then finalizes it as `READY` (or `FAILED`).
//!
//! The handlers here create, finalize, get, delete, tag and list the files of one model;
//! [`search`] finds models; [`read`] builds the JSON. A model's metrics are the points in
//! `tracking_metrics` that carry its `model_id`, written by the run endpoints.

pub mod read;
pub mod search;

use axum::extract::{Path, State};
use axum::routing::{get, patch, post};
use axum::{Json, Router};
use rusqlite::{params, Transaction};
use serde_json::{json, Value};

use self::read::{model_json, require_model, status_field, STATUS_PENDING};
use crate::artifacts::{list_uri, ArtifactPath};
use crate::error::{Result, TrackingError};
use crate::experiments::{active_artifact_location, experiment_id};
use crate::fields::Fields;
use crate::{now_ms, validate, Tracking, TrackingState};

/// Characters MLflow does not allow in a logged model name (MLflow 3.17.2,
/// `_validate_logged_model_name`).
const NAME_FORBIDDEN_CHARS: &[char] = &['/', ':', '.', '%', '"', '\''];

/// Builds the logged-model routes, relative to `/api/2.0`.
pub fn routes() -> Router<TrackingState> {
    Router::new()
        .route("/mlflow/logged-models", post(create))
        .route("/mlflow/logged-models/search", post(search::search))
        .route("/mlflow/logged-models/{model_id}", get(get_model).patch(finalize).delete(delete))
        .route("/mlflow/logged-models/{model_id}/tags", patch(set_tags))
        .route(
            "/mlflow/logged-models/{model_id}/tags/{*tag_key}",
            axum::routing::delete(delete_tag),
        )
        .route("/mlflow/logged-models/{model_id}/params", post(log_params))
        .route("/mlflow/logged-models/{model_id}/artifacts/directories", get(list_artifacts))
}

/// Returns the artifact location of an active logged model, or `RESOURCE_DOES_NOT_EXIST`.
pub async fn artifact_location(tracking: &Tracking, model_id: String) -> Result<String> {
    tracking
        .db
        .read(move |tx| {
            require_model(tx, &model_id, false)?;
            Ok(tx
                .prepare_cached(
                    "SELECT artifact_location FROM tracking_logged_models WHERE model_id = ?1",
                )?
                .query_row([&model_id], |row| row.get(0))?)
        })
        .await
}

async fn create(State(state): State<TrackingState>, fields: Fields) -> Result<Json<Value>> {
    let experiment_id = experiment_id(&fields)?;
    let name = fields.opt_str("name")?.filter(|name| !name.is_empty());
    if let Some(name) = &name {
        check_name(name)?;
    }
    let model_type = fields.opt_str("model_type")?.filter(|text| !text.is_empty());
    let source_run_id = fields.opt_str("source_run_id")?.filter(|text| !text.is_empty());
    let params = pairs(&fields, "params")?;
    let tags = pairs(&fields, "tags")?;

    let model = state
        .db
        .write(move |tx| {
            let experiment_location = active_artifact_location(tx, experiment_id)?;
            let hex = uuid::Uuid::new_v4().simple().to_string();
            let model_id = format!("m-{hex}");
            let location = format!(
                "{}/models/{model_id}/artifacts",
                experiment_location.trim_end_matches('/')
            );
            let name = name.unwrap_or_else(crate::runs::names::random_run_name);
            let now = now_ms();
            tx.prepare_cached(
                "INSERT INTO tracking_logged_models
                     (model_id, experiment_id, name, artifact_location, creation_timestamp,
                      last_updated_timestamp, status, lifecycle_stage, model_type, source_run_id)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6, 'active', ?7, ?8)",
            )?
            .execute(params![
                model_id,
                experiment_id,
                name,
                location,
                now,
                STATUS_PENDING,
                model_type,
                source_run_id
            ])?;
            put_pairs(tx, "tracking_logged_model_params", &model_id, &params)?;
            put_pairs(tx, "tracking_logged_model_tags", &model_id, &tags)?;
            model_json(tx, &model_id, false)
        })
        .await?;
    tracing::info!(model_id = %model["info"]["model_id"], experiment_id,
        "Created a logged model.");
    Ok(Json(json!({ "model": model })))
}

async fn get_model(
    State(state): State<TrackingState>,
    Path(model_id): Path<String>,
    fields: Fields,
) -> Result<Json<Value>> {
    let allow_deleted = fields.opt_bool("allow_deleted")?.unwrap_or(false);
    let model = state.db.read(move |tx| model_json(tx, &model_id, allow_deleted)).await?;
    Ok(Json(json!({ "model": model })))
}

/// `PATCH logged-models/{model_id}`: sets the final status. Like MLflow, this also works on a
/// deleted model.
async fn finalize(
    State(state): State<TrackingState>,
    Path(model_id): Path<String>,
    fields: Fields,
) -> Result<Json<Value>> {
    let status = status_field(&fields)?;
    let model = state
        .db
        .write(move |tx| {
            require_model(tx, &model_id, true)?;
            tx.prepare_cached(
                "UPDATE tracking_logged_models SET status = ?1, last_updated_timestamp = ?2
                 WHERE model_id = ?3",
            )?
            .execute(params![status, now_ms(), model_id])?;
            model_json(tx, &model_id, true)
        })
        .await?;
    tracing::info!(model_id = %model["info"]["model_id"], status = %model["info"]["status"],
        "Finalized a logged model.");
    Ok(Json(json!({ "model": model })))
}

/// `DELETE logged-models/{model_id}`: marks the model deleted. Its files stay on disk.
async fn delete(
    State(state): State<TrackingState>,
    Path(model_id): Path<String>,
) -> Result<Json<Value>> {
    let id = model_id.clone();
    state
        .db
        .write(move |tx| {
            require_model(tx, &id, true)?;
            tx.prepare_cached(
                "UPDATE tracking_logged_models
                 SET lifecycle_stage = 'deleted', last_updated_timestamp = ?1 WHERE model_id = ?2",
            )?
            .execute(params![now_ms(), id])?;
            Ok(())
        })
        .await?;
    tracing::info!(model_id = %model_id, "Deleted a logged model.");
    Ok(Json(json!({})))
}

async fn set_tags(
    State(state): State<TrackingState>,
    Path(model_id): Path<String>,
    fields: Fields,
) -> Result<Json<Value>> {
    let tags = pairs(&fields, "tags")?;
    state
        .db
        .write(move |tx| {
            require_model(tx, &model_id, true)?;
            put_pairs(tx, "tracking_logged_model_tags", &model_id, &tags)
        })
        .await?;
    Ok(Json(json!({})))
}

async fn delete_tag(
    State(state): State<TrackingState>,
    Path((model_id, tag_key)): Path<(String, String)>,
) -> Result<Json<Value>> {
    state
        .db
        .write(move |tx| {
            require_model(tx, &model_id, true)?;
            let removed = tx
                .prepare_cached(
                    "DELETE FROM tracking_logged_model_tags WHERE model_id = ?1 AND key = ?2",
                )?
                .execute(params![model_id, tag_key])?;
            if removed == 0 {
                return Err(TrackingError::not_found(format!(
                    "No tag with key '{tag_key}' found for model with ID '{model_id}'."
                )));
            }
            Ok(())
        })
        .await?;
    Ok(Json(json!({})))
}

async fn log_params(
    State(state): State<TrackingState>,
    Path(model_id): Path<String>,
    fields: Fields,
) -> Result<Json<Value>> {
    let params = pairs(&fields, "params")?;
    state
        .db
        .write(move |tx| {
            require_model(tx, &model_id, true)?;
            put_pairs(tx, "tracking_logged_model_params", &model_id, &params)
        })
        .await?;
    Ok(Json(json!({})))
}

/// `GET logged-models/{model_id}/artifacts/directories?artifact_directory_path=`: the model's
/// `root_uri` and one folder's entries, with paths relative to the model's artifact folder.
async fn list_artifacts(
    State(state): State<TrackingState>,
    Path(model_id): Path<String>,
    fields: Fields,
) -> Result<Json<Value>> {
    let path = ArtifactPath::parse_optional(fields.opt_str("artifact_directory_path")?.as_deref())?;
    let root_uri = artifact_location(&state, model_id).await?;
    Ok(Json(list_uri(&state, &root_uri, &path).await?))
}

fn check_name(name: &str) -> Result<()> {
    if name.contains(NAME_FORBIDDEN_CHARS) {
        return Err(TrackingError::invalid(format!(
            "Invalid model name '{name}': a logged model name cannot contain / : . % \" or '. \
             Choose another name."
        )));
    }
    validate::length("name", validate::MAX_EXPERIMENT_NAME_LENGTH, name)
}

/// Reads a list of `{key, value}` objects. Keys must be non-empty. A later entry with the same
/// key replaces an earlier one, as MLflow's tag upsert does.
fn pairs(fields: &Fields, list: &str) -> Result<Vec<(String, String)>> {
    fields
        .objects(list)?
        .into_iter()
        .map(|pair| {
            let key = pair.str("key")?;
            validate::length("key", validate::MAX_ENTITY_KEY_LENGTH, &key)?;
            Ok((key, pair.opt_str("value")?.unwrap_or_default()))
        })
        .collect()
}

/// Inserts or replaces `(key, value)` rows of a model in a tags or params table.
fn put_pairs(
    tx: &Transaction<'_>,
    table: &str,
    model_id: &str,
    pairs: &[(String, String)],
) -> Result<()> {
    if pairs.is_empty() {
        return Ok(());
    }
    let mut statement = tx.prepare_cached(&format!(
        "INSERT INTO {table} (model_id, key, value) VALUES (?1, ?2, ?3)
         ON CONFLICT (model_id, key) DO UPDATE SET value = excluded.value"
    ))?;
    for (key, value) in pairs {
        statement.execute(params![model_id, key, value])?;
    }
    Ok(())
}
