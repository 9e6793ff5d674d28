//! Experiments: create, get, get by name, rename, delete, restore, and experiment tags.
//! Searching experiments is in [`crate::search`].
//!
//! Experiment ids are integers stored as SQLite row ids and sent as strings, as MLflow does.
//! `Default` has id `0`. A deleted experiment keeps its name, so a new experiment cannot take
//! it until the old one is deleted for good, which Weir does not do.

use axum::extract::State;
use axum::routing::{self, post};
use axum::{Json, Router};
use rusqlite::{params, OptionalExtension, Transaction};
use serde_json::{json, Value};

use crate::error::{Result, TrackingError};
use crate::fields::Fields;
use crate::validate;
use crate::{now_ms, TrackingState};

/// Returns the experiment routes, relative to `/api/2.0`.
pub fn routes() -> Router<TrackingState> {
    Router::new()
        .route("/mlflow/experiments/create", post(create))
        .route("/mlflow/experiments/get", routing::get(get))
        .route("/mlflow/experiments/get-by-name", routing::get(get_by_name))
        .route("/mlflow/experiments/update", post(update))
        .route("/mlflow/experiments/delete", post(delete))
        .route("/mlflow/experiments/restore", post(restore))
        .route("/mlflow/experiments/set-experiment-tag", post(set_tag))
        .route("/mlflow/experiments/delete-experiment-tag", post(delete_tag))
}

async fn create(State(state): State<TrackingState>, fields: Fields) -> Result<Json<Value>> {
    let name = experiment_name(&fields, "name")?;
    let artifact_location = fields.opt_str("artifact_location")?.filter(|l| !l.is_empty());
    let tags = tag_pairs(&fields)?;
    let id = state
        .db
        .write(move |tx| {
            let now = now_ms();
            let inserted = tx.execute(
                "INSERT INTO tracking_experiments
                     (name, artifact_location, lifecycle_stage, creation_time, last_update_time)
                 VALUES (?1, '', 'active', ?2, ?2)",
                params![name, now],
            );
            match inserted {
                Err(rusqlite::Error::SqliteFailure(err, _))
                    if err.code == rusqlite::ErrorCode::ConstraintViolation =>
                {
                    return Err(TrackingError::already_exists(format!(
                        "Experiment(name={name}) already exists. Choose another name, or use \
                         the existing experiment."
                    )));
                }
                other => other?,
            };
            let id = tx.last_insert_rowid();
            let location = artifact_location.unwrap_or_else(|| format!("mlflow-artifacts:/{id}"));
            tx.execute(
                "UPDATE tracking_experiments SET artifact_location = ?1 WHERE experiment_id = ?2",
                params![location, id],
            )?;
            for (key, value) in tags {
                put_tag(tx, id, &key, &value)?;
            }
            Ok(id)
        })
        .await?;
    tracing::info!(experiment_id = id, "Created a tracking experiment.");
    Ok(Json(json!({ "experiment_id": id.to_string() })))
}

async fn get(State(state): State<TrackingState>, fields: Fields) -> Result<Json<Value>> {
    let id = experiment_id(&fields)?;
    let experiment =
        state.db.read(move |tx| experiment_json(tx, id)?.ok_or_else(|| no_experiment(id))).await?;
    Ok(Json(json!({ "experiment": experiment })))
}

async fn get_by_name(State(state): State<TrackingState>, fields: Fields) -> Result<Json<Value>> {
    let name = fields.str("experiment_name")?;
    let experiment = state
        .db
        .read(move |tx| {
            let id: Option<i64> = tx
                .query_row(
                    "SELECT experiment_id FROM tracking_experiments WHERE name = ?1",
                    [&name],
                    |row| row.get(0),
                )
                .optional()?;
            let found = match id {
                Some(id) => experiment_json(tx, id)?,
                None => None,
            };
            found.ok_or_else(|| {
                TrackingError::not_found(format!("Could not find experiment with name '{name}'"))
            })
        })
        .await?;
    Ok(Json(json!({ "experiment": experiment })))
}

async fn update(State(state): State<TrackingState>, fields: Fields) -> Result<Json<Value>> {
    let id = experiment_id(&fields)?;
    let new_name = experiment_name(&fields, "new_name")?;
    state
        .db
        .write(move |tx| {
            let stage = lifecycle_stage(tx, id)?;
            if stage != "active" {
                return Err(TrackingError::new(
                    crate::ErrorCode::InvalidState,
                    "Cannot rename a non-active experiment. Restore it first.",
                ));
            }
            let taken: bool = tx.query_row(
                "SELECT EXISTS (SELECT 1 FROM tracking_experiments
                                WHERE name = ?1 AND experiment_id != ?2)",
                params![new_name, id],
                |row| row.get(0),
            )?;
            if taken {
                return Err(TrackingError::already_exists(format!(
                    "Experiment(name={new_name}) already exists. Choose another name."
                )));
            }
            tx.execute(
                "UPDATE tracking_experiments SET name = ?1, last_update_time = ?2
                 WHERE experiment_id = ?3",
                params![new_name, now_ms(), id],
            )?;
            Ok(())
        })
        .await?;
    Ok(Json(json!({})))
}

async fn delete(State(state): State<TrackingState>, fields: Fields) -> Result<Json<Value>> {
    let id = experiment_id(&fields)?;
    state
        .db
        .write(move |tx| {
            // As in MLflow, only an active experiment can be deleted; a deleted one is not
            // found.
            if lifecycle_stage(tx, id)? != "active" {
                return Err(no_experiment(id));
            }
            let now = now_ms();
            tx.execute(
                "UPDATE tracking_experiments SET lifecycle_stage = 'deleted', last_update_time = ?1
                 WHERE experiment_id = ?2",
                params![now, id],
            )?;
            tx.execute(
                "UPDATE tracking_runs SET lifecycle_stage = 'deleted', deleted_time = ?1
                 WHERE experiment_id = ?2 AND lifecycle_stage = 'active'",
                params![now, id],
            )?;
            Ok(())
        })
        .await?;
    tracing::info!(experiment_id = id, "Deleted a tracking experiment.");
    Ok(Json(json!({})))
}

async fn restore(State(state): State<TrackingState>, fields: Fields) -> Result<Json<Value>> {
    let id = experiment_id(&fields)?;
    state
        .db
        .write(move |tx| {
            // As in MLflow, only a deleted experiment can be restored.
            if lifecycle_stage(tx, id)? != "deleted" {
                return Err(no_experiment(id));
            }
            let deleted_at: i64 = tx.query_row(
                "SELECT last_update_time FROM tracking_experiments WHERE experiment_id = ?1",
                [id],
                |row| row.get(0),
            )?;
            tx.execute(
                "UPDATE tracking_experiments SET lifecycle_stage = 'active', last_update_time = ?1
                 WHERE experiment_id = ?2",
                params![now_ms(), id],
            )?;
            // Runs deleted together with the experiment come back with it.
            tx.execute(
                "UPDATE tracking_runs SET lifecycle_stage = 'active', deleted_time = NULL
                 WHERE experiment_id = ?1 AND lifecycle_stage = 'deleted' AND deleted_time = ?2",
                params![id, deleted_at],
            )?;
            Ok(())
        })
        .await?;
    tracing::info!(experiment_id = id, "Restored a tracking experiment.");
    Ok(Json(json!({})))
}

async fn set_tag(State(state): State<TrackingState>, fields: Fields) -> Result<Json<Value>> {
    let id = experiment_id(&fields)?;
    let key = fields.str("key")?;
    let value = fields.opt_str("value")?.unwrap_or_default();
    validate::key("key", &key)?;
    validate::length("key", validate::MAX_EXPERIMENT_TAG_KEY_LENGTH, &key)?;
    validate::length("value", validate::MAX_EXPERIMENT_TAG_VALUE_LENGTH, &value)?;
    state
        .db
        .write(move |tx| {
            require_active(tx, id)?;
            put_tag(tx, id, &key, &value)
        })
        .await?;
    Ok(Json(json!({})))
}

async fn delete_tag(State(state): State<TrackingState>, fields: Fields) -> Result<Json<Value>> {
    let id = experiment_id(&fields)?;
    let key = fields.str("key")?;
    state
        .db
        .write(move |tx| {
            require_active(tx, id)?;
            let removed = tx.execute(
                "DELETE FROM tracking_experiment_tags WHERE experiment_id = ?1 AND key = ?2",
                params![id, key],
            )?;
            if removed == 0 {
                return Err(TrackingError::not_found(format!(
                    "No tag with name: {key} in experiment with id {id}"
                )));
            }
            Ok(())
        })
        .await?;
    Ok(Json(json!({})))
}

/// Reads `experiment_id` as an integer id; text that is not one is an unknown experiment.
pub fn experiment_id(fields: &Fields) -> Result<i64> {
    let text = fields.str("experiment_id")?;
    parse_experiment_id(&text)
}

/// Parses an experiment id given as text.
pub fn parse_experiment_id(text: &str) -> Result<i64> {
    text.trim().parse::<i64>().map_err(|_| {
        TrackingError::invalid(format!(
            "Invalid value '{text}' for parameter 'experiment_id' supplied: experiment ids are \
             integers such as '0' or '12'."
        ))
    })
}

fn experiment_name(fields: &Fields, field: &str) -> Result<String> {
    let name = fields.opt_str(field)?.unwrap_or_default();
    if name.trim().is_empty() {
        return Err(TrackingError::invalid(format!(
            "Invalid experiment name: '{name}'. Give a non-empty name in '{field}'."
        )));
    }
    validate::length(field, validate::MAX_EXPERIMENT_NAME_LENGTH, &name)?;
    Ok(name)
}

fn tag_pairs(fields: &Fields) -> Result<Vec<(String, String)>> {
    fields
        .objects("tags")?
        .into_iter()
        .map(|tag| {
            let key = tag.str("key")?;
            let value = tag.opt_str("value")?.unwrap_or_default();
            validate::key("key", &key)?;
            validate::length("value", validate::MAX_EXPERIMENT_TAG_VALUE_LENGTH, &value)?;
            Ok((key, value))
        })
        .collect()
}

fn put_tag(tx: &Transaction<'_>, id: i64, key: &str, value: &str) -> Result<()> {
    tx.execute(
        "INSERT INTO tracking_experiment_tags (experiment_id, key, value) VALUES (?1, ?2, ?3)
         ON CONFLICT (experiment_id, key) DO UPDATE SET value = excluded.value",
        params![id, key, value],
    )?;
    Ok(())
}

fn no_experiment(id: i64) -> TrackingError {
    TrackingError::not_found(format!("No Experiment with id={id} exists"))
}

/// Returns the lifecycle stage of an experiment, or `RESOURCE_DOES_NOT_EXIST`.
pub fn lifecycle_stage(tx: &Transaction<'_>, id: i64) -> Result<String> {
    tx.query_row(
        "SELECT lifecycle_stage FROM tracking_experiments WHERE experiment_id = ?1",
        [id],
        |row| row.get(0),
    )
    .optional()?
    .ok_or_else(|| no_experiment(id))
}

/// Fails unless the experiment exists and is active.
pub fn require_active(tx: &Transaction<'_>, id: i64) -> Result<()> {
    if lifecycle_stage(tx, id)? != "active" {
        return Err(TrackingError::invalid(format!(
            "The experiment {id} must be in the 'active' state. Restore it first."
        )));
    }
    Ok(())
}

/// Checks that the experiment is active and returns its artifact location, under which new
/// runs and logged models store their artifacts.
pub fn active_artifact_location(tx: &Transaction<'_>, id: i64) -> Result<String> {
    require_active(tx, id)?;
    let location = tx
        .prepare_cached(
            "SELECT artifact_location FROM tracking_experiments WHERE experiment_id = ?1",
        )?
        .query_row([id], |row| row.get(0))?;
    Ok(location)
}

/// Builds the JSON of one experiment with its tags, or `None` when it does not exist.
pub fn experiment_json(tx: &Transaction<'_>, id: i64) -> Result<Option<Value>> {
    let row = tx
        .prepare_cached(
            "SELECT name, artifact_location, lifecycle_stage, creation_time, last_update_time
             FROM tracking_experiments WHERE experiment_id = ?1",
        )?
        .query_row([id], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, String>(2)?,
                row.get::<_, i64>(3)?,
                row.get::<_, i64>(4)?,
            ))
        })
        .optional()?;
    let Some((name, artifact_location, stage, created, updated)) = row else {
        return Ok(None);
    };
    let mut tags = Vec::new();
    let mut statement = tx.prepare_cached(
        "SELECT key, value FROM tracking_experiment_tags WHERE experiment_id = ?1 ORDER BY key",
    )?;
    let mut rows = statement.query([id])?;
    while let Some(row) = rows.next()? {
        tags.push(json!({ "key": row.get::<_, String>(0)?, "value": row.get::<_, String>(1)? }));
    }
    Ok(Some(json!({
        "experiment_id": id.to_string(),
        "name": name,
        "artifact_location": artifact_location,
        "lifecycle_stage": stage,
        "last_update_time": updated,
        "creation_time": created,
        "tags": tags,
    })))
}
