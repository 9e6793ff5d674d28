//! Registered models: create, get, rename, update, delete, their tags, and the newest version
//! in each stage (`get-latest-versions`).
//!
//! A model's `last_updated_timestamp` moves on rename, update and on changes to its versions
//! (create, delete, stage transition), not on tag or alias changes, as in MLflow 3.17.2.

use axum::extract::State;
use axum::Json;
use rusqlite::{params, Transaction};
use serde_json::{json, Value};

use super::checks;
use super::store::{self, LatestOrder};
use crate::error::{Result, TrackingError};
use crate::fields::Fields;
use crate::{now_ms, validate, TrackingState};

/// `POST registered-models/create`: registers a new name, with optional tags and description.
pub async fn create(State(state): State<TrackingState>, fields: Fields) -> Result<Json<Value>> {
    let name = checks::model_name(&fields, "name")?;
    let tags = checks::tag_list(&fields)?;
    let description = fields.opt_str("description")?.unwrap_or_default();
    let log_name = name.clone();
    let model = state
        .db
        .write(move |tx| {
            let now = now_ms();
            let inserted = tx
                .prepare_cached(
                    "INSERT INTO registry_models (name, creation_time, last_updated_time, description)
                     VALUES (?1, ?2, ?2, ?3) ON CONFLICT (name) DO NOTHING",
                )?
                .execute(params![name, now, description])?;
            if inserted == 0 {
                return Err(name_taken(tx, &name, checks::is_prompt(&tags))?);
            }
            let key = tx.last_insert_rowid();
            for (tag_key, value) in &tags {
                put_tag(tx, key, tag_key, value)?;
            }
            store::model_json(tx, key)
        })
        .await?;
    tracing::info!(model.name = %log_name, "Registered a model.");
    Ok(Json(json!({ "registered_model": model })))
}

/// Builds the `RESOURCE_ALREADY_EXISTS` error for a name in use. The message names the kind
/// (model or prompt) that has the name, because the two share one namespace.
fn name_taken(tx: &Transaction<'_>, name: &str, new_is_prompt: bool) -> Result<TrackingError> {
    let existing_is_prompt = store::is_prompt(tx, store::model_key(tx, name)?)?;
    let kind = |prompt: bool| if prompt { "prompt" } else { "registered model" };
    let message = if existing_is_prompt == new_is_prompt {
        format!(
            "A {} named '{name}' already exists. Choose another name, or add a version to the \
             existing one.",
            kind(new_is_prompt)
        )
    } else {
        format!(
            "Cannot create a {} named '{name}': a {} already has that name, and models and \
             prompts share one namespace. Choose another name.",
            kind(new_is_prompt),
            kind(existing_is_prompt)
        )
    };
    Ok(TrackingError::already_exists(message))
}

/// `GET registered-models/get`: one model with its newest version per stage, tags and aliases.
pub async fn get(State(state): State<TrackingState>, fields: Fields) -> Result<Json<Value>> {
    let name = checks::model_name(&fields, "name")?;
    let model = state
        .db
        .read(move |tx| {
            let key = store::model_key(tx, &name)?;
            store::model_json(tx, key)
        })
        .await?;
    Ok(Json(json!({ "registered_model": model })))
}

/// `POST registered-models/rename`: renames a model; its versions, tags and aliases follow.
pub async fn rename(State(state): State<TrackingState>, fields: Fields) -> Result<Json<Value>> {
    let name = checks::model_name(&fields, "name")?;
    let new_name = checks::model_name(&fields, "new_name")?;
    let log_names = (name.clone(), new_name.clone());
    let model = state
        .db
        .write(move |tx| {
            let key = store::model_key(tx, &name)?;
            let name_in_use: bool = tx
                .prepare_cached(
                    "SELECT EXISTS (SELECT 1 FROM registry_models
                                    WHERE name = ?1 AND model_key != ?2)",
                )?
                .query_row(params![new_name, key], |row| row.get(0))?;
            if name_in_use {
                return Err(TrackingError::already_exists(format!(
                    "Cannot rename registered model '{name}' to '{new_name}': a model with that \
                     name already exists. Choose another name."
                )));
            }
            let now = now_ms();
            tx.prepare_cached(
                "UPDATE registry_models SET name = ?1, last_updated_time = ?2 WHERE model_key = ?3",
            )?
            .execute(params![new_name, now, key])?;
            tx.prepare_cached(
                "UPDATE registry_model_versions SET last_updated_time = ?1 WHERE model_key = ?2",
            )?
            .execute(params![now, key])?;
            store::model_json(tx, key)
        })
        .await?;
    tracing::info!(model.name = %log_names.0, model.new_name = %log_names.1,
        "Renamed a registered model.");
    Ok(Json(json!({ "registered_model": model })))
}

/// `PATCH registered-models/update`: sets the description; a missing one clears it.
pub async fn update(State(state): State<TrackingState>, fields: Fields) -> Result<Json<Value>> {
    let name = checks::model_name(&fields, "name")?;
    let description = fields.opt_str("description")?.unwrap_or_default();
    let model = state
        .db
        .write(move |tx| {
            let key = store::model_key(tx, &name)?;
            tx.prepare_cached(
                "UPDATE registry_models SET description = ?1, last_updated_time = ?2
                 WHERE model_key = ?3",
            )?
            .execute(params![description, now_ms(), key])?;
            store::model_json(tx, key)
        })
        .await?;
    Ok(Json(json!({ "registered_model": model })))
}

/// `DELETE registered-models/delete`: deletes a model with its versions, tags and aliases.
pub async fn delete(State(state): State<TrackingState>, fields: Fields) -> Result<Json<Value>> {
    let name = checks::model_name(&fields, "name")?;
    let log_name = name.clone();
    state
        .db
        .write(move |tx| {
            let key = store::model_key(tx, &name)?;
            tx.prepare_cached("DELETE FROM registry_models WHERE model_key = ?1")?
                .execute([key])?;
            Ok(())
        })
        .await?;
    tracing::info!(model.name = %log_name, "Deleted a registered model.");
    Ok(Json(json!({})))
}

/// `POST` or `GET registered-models/get-latest-versions`: the newest version in each of the
/// requested stages, or in every stage when `stages` is empty.
pub async fn latest_versions(
    State(state): State<TrackingState>,
    fields: Fields,
) -> Result<Json<Value>> {
    let name = checks::model_name(&fields, "name")?;
    let stages = fields.str_list("stages")?;
    let versions = state
        .db
        .read(move |tx| {
            let key = store::model_key(tx, &name)?;
            let requested = stages
                .iter()
                .map(|stage| checks::canonical_stage(stage))
                .collect::<Result<Vec<_>>>()?;
            let latest = store::latest_versions(tx, &[key], LatestOrder::FirstVersion)?;
            let keys: Vec<i64> = latest.into_iter().map(|(_, version_key)| version_key).collect();
            let mut versions = store::versions_json(tx, &keys)?;
            if !requested.is_empty() {
                versions.retain(|version| {
                    version["current_stage"]
                        .as_str()
                        .is_some_and(|stage| requested.contains(&stage))
                });
            }
            Ok(versions)
        })
        .await?;
    if versions.is_empty() {
        return Ok(Json(json!({})));
    }
    Ok(Json(json!({ "model_versions": versions })))
}

/// `POST registered-models/set-tag`: sets one tag, replacing its value.
pub async fn set_tag(State(state): State<TrackingState>, fields: Fields) -> Result<Json<Value>> {
    let name = checks::model_name(&fields, "name")?;
    let key = fields.str("key")?;
    let value = fields.opt_str("value")?.unwrap_or_default();
    checks::tag(&key, &value)?;
    state
        .db
        .write(move |tx| {
            let model_key = store::model_key(tx, &name)?;
            put_tag(tx, model_key, &key, &value)
        })
        .await?;
    Ok(Json(json!({})))
}

/// `DELETE registered-models/delete-tag`: removes one tag. Removing one that is not set
/// succeeds.
pub async fn delete_tag(State(state): State<TrackingState>, fields: Fields) -> Result<Json<Value>> {
    let name = checks::model_name(&fields, "name")?;
    let key = fields.str("key")?;
    validate::key("key", &key)?;
    state
        .db
        .write(move |tx| {
            let model_key = store::model_key(tx, &name)?;
            tx.prepare_cached("DELETE FROM registry_model_tags WHERE model_key = ?1 AND key = ?2")?
                .execute(params![model_key, key])?;
            Ok(())
        })
        .await?;
    Ok(Json(json!({})))
}

fn put_tag(tx: &Transaction<'_>, model_key: i64, key: &str, value: &str) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO registry_model_tags (model_key, key, value) VALUES (?1, ?2, ?3)
         ON CONFLICT (model_key, key) DO UPDATE SET value = excluded.value",
    )?
    .execute(params![model_key, key, value])?;
    Ok(())
}
