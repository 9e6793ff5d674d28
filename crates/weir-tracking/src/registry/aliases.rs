//! Aliases: a name such as `champion` that points to one version of a registered model, so
//! that `models:/<name>@<alias>` loads whichever version it points to.
//!
//! Setting an alias that exists moves it. `latest` and `v<digits>` cannot be set, because
//! model URIs read them as the newest version and as a version number. Reading the alias
//! `latest` returns the newest version.

use axum::extract::State;
use axum::Json;
use rusqlite::params;
use serde_json::{json, Value};

use super::{checks, source, store};
use crate::error::Result;
use crate::fields::Fields;
use crate::TrackingState;

/// `POST registered-models/alias`: points `alias` at `version`.
pub async fn set(State(state): State<TrackingState>, fields: Fields) -> Result<Json<Value>> {
    let name = checks::model_name(&fields, "name")?;
    let alias = checks::alias(&fields)?;
    checks::alias_not_reserved(&alias)?;
    let version = checks::version(&fields)?;
    let log = (name.clone(), alias.clone());
    state
        .db
        .write(move |tx| {
            let (model_key, _) = store::version_key(tx, &name, version)?;
            tx.prepare_cached(
                "INSERT INTO registry_aliases (model_key, alias, version) VALUES (?1, ?2, ?3)
                 ON CONFLICT (model_key, alias) DO UPDATE SET version = excluded.version",
            )?
            .execute(params![model_key, alias, version])?;
            Ok(())
        })
        .await?;
    tracing::info!(model.name = %log.0, model.alias = %log.1, model.version = version,
        "Set a model alias.");
    Ok(Json(json!({})))
}

/// `DELETE registered-models/alias`: removes an alias. Removing one that is not set succeeds.
pub async fn delete(State(state): State<TrackingState>, fields: Fields) -> Result<Json<Value>> {
    let name = checks::model_name(&fields, "name")?;
    let alias = checks::alias(&fields)?;
    state
        .db
        .write(move |tx| {
            let model_key = store::model_key(tx, &name)?;
            tx.prepare_cached("DELETE FROM registry_aliases WHERE model_key = ?1 AND alias = ?2")?
                .execute(params![model_key, alias])?;
            Ok(())
        })
        .await?;
    Ok(Json(json!({})))
}

/// `GET registered-models/alias`: returns the version the alias points to. An alias that is
/// not set is `INVALID_PARAMETER_VALUE`, as in MLflow.
pub async fn get(State(state): State<TrackingState>, fields: Fields) -> Result<Json<Value>> {
    let name = checks::model_name(&fields, "name")?;
    let alias = checks::alias(&fields)?;
    let version = state
        .db
        .read(move |tx| {
            let number = source::aliased_version(tx, &name, &alias)?;
            let (_, key) = store::version_key(tx, &name, number)?;
            store::version_json(tx, key)
        })
        .await?;
    Ok(Json(json!({ "model_version": version })))
}
