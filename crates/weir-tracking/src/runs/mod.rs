//! Runs and what is logged to them: create, get, update, delete, restore, params, tags,
//! metrics, log-batch, dataset inputs and model outputs, and metric histories.
//!
//! - [`lifecycle`]: creating, reading, updating, deleting and restoring runs.
//! - [`logging`]: the log-metric, log-parameter, set-tag, delete-tag and log-batch handlers,
//!   which parse and store entries through [`entries`].
//! - [`inputs`]: dataset and model inputs, model outputs and the log-model history tag.
//! - [`history`]: metric histories, whole or sampled.
//! - [`read`]: the MLflow `Run` JSON, shared with search.
//!
//! Only active runs accept writes. A write to a deleted run fails with
//! `INVALID_PARAMETER_VALUE`, as in MLflow, and an unknown run with `RESOURCE_DOES_NOT_EXIST`.

pub mod entries;
pub mod history;
pub mod inputs;
pub mod lifecycle;
pub mod logging;
pub mod names;
pub(crate) mod python_json;
pub mod read;

use axum::routing::{get, post};
use axum::Router;
use rusqlite::{OptionalExtension, Transaction};

use crate::error::{Result, TrackingError};
use crate::TrackingState;

/// Run tag that contains the run name. Setting it renames the run.
pub const TAG_RUN_NAME: &str = "mlflow.runName";
/// Run tag that contains the JSON list of models logged with `runs/log-model`.
pub const TAG_LOGGED_MODELS: &str = "mlflow.log-model.history";

/// Returns the run and metric routes, relative to `/api/2.0`.
pub fn routes() -> Router<TrackingState> {
    Router::new()
        .route("/mlflow/runs/create", post(lifecycle::create))
        .route("/mlflow/runs/get", get(lifecycle::get))
        .route("/mlflow/runs/update", post(lifecycle::update))
        .route("/mlflow/runs/delete", post(lifecycle::delete))
        .route("/mlflow/runs/restore", post(lifecycle::restore))
        .route("/mlflow/runs/log-metric", post(logging::log_metric))
        .route("/mlflow/runs/log-parameter", post(logging::log_param))
        .route("/mlflow/runs/set-tag", post(logging::set_tag))
        .route("/mlflow/runs/delete-tag", post(logging::delete_tag))
        .route("/mlflow/runs/log-batch", post(logging::log_batch))
        .route("/mlflow/runs/log-inputs", post(inputs::log_inputs))
        .route("/mlflow/runs/outputs", post(inputs::log_outputs))
        .route("/mlflow/runs/log-model", post(inputs::log_model))
        .route("/mlflow/metrics/get-history", get(history::get_history))
        .route("/mlflow/metrics/get-history-bulk", get(history::get_history_bulk))
        .route("/mlflow/metrics/get-history-bulk-interval", get(history::get_history_bulk_interval))
}

/// A stored run that accepts writes.
#[derive(Debug, Clone, Copy)]
pub struct ActiveRun {
    pub key: i64,
    pub experiment_id: i64,
}

/// Finds a run by id and checks that it is active. An unknown run is
/// `RESOURCE_DOES_NOT_EXIST`; a deleted one is `INVALID_PARAMETER_VALUE`, as in MLflow.
pub fn active_run(tx: &Transaction<'_>, run_id: &str) -> Result<ActiveRun> {
    let row = tx
        .prepare_cached(
            "SELECT run_key, experiment_id, lifecycle_stage FROM tracking_runs WHERE run_id = ?1",
        )?
        .query_row([run_id], |row| {
            Ok((row.get::<_, i64>(0)?, row.get::<_, i64>(1)?, row.get::<_, String>(2)?))
        })
        .optional()?;
    let Some((key, experiment_id, stage)) = row else {
        return Err(TrackingError::not_found(format!("Run with id={run_id} not found")));
    };
    if stage != "active" {
        return Err(TrackingError::invalid(format!(
            "The run {run_id} must be in the 'active' state to be changed, but it is '{stage}'. \
             Restore it with runs/restore first."
        )));
    }
    Ok(ActiveRun { key, experiment_id })
}

/// Sets one run tag, replacing its value when the key is already set.
pub fn put_run_tag(tx: &Transaction<'_>, run_key: i64, key: &str, value: &str) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO tracking_run_tags (run_key, key, value) VALUES (?1, ?2, ?3)
         ON CONFLICT (run_key, key) DO UPDATE SET value = excluded.value",
    )?
    .execute((run_key, key, value))?;
    Ok(())
}

/// Renames a run: its `name` column and its `mlflow.runName` tag.
pub fn rename_run(tx: &Transaction<'_>, run_key: i64, name: &str) -> Result<()> {
    tx.prepare_cached("UPDATE tracking_runs SET name = ?1 WHERE run_key = ?2")?
        .execute((name, run_key))?;
    put_run_tag(tx, run_key, TAG_RUN_NAME, name)
}
