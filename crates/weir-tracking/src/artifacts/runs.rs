//! Run and logged-model artifacts through the tracking service: `mlflow/artifacts/list`, the
//! UI's `/get-artifact` download, and the logged-model file download. Each finds the
//! artifact root URI of its run or model in the database, then reads the artifact folder.

use axum::extract::{Path, State};
use axum::response::Response;
use axum::Json;
use rusqlite::OptionalExtension;
use serde_json::Value;

use super::path::ArtifactPath;
use super::{list_uri, send_uri};
use crate::error::{ErrorCode, Result, TrackingError};
use crate::fields::Fields;
use crate::TrackingState;

/// `GET mlflow/artifacts/list?run_id=&path=`: the run's `root_uri` and the entries of one
/// folder, with paths relative to the run's artifact root. `page_token` is accepted and
/// ignored: the whole folder is one page, as with MLflow's local artifact store.
pub async fn list(State(state): State<TrackingState>, fields: Fields) -> Result<Json<Value>> {
    let run_id = fields.run_id()?;
    let path = ArtifactPath::parse_optional(fields.opt_str("path")?.as_deref())?;
    let root_uri = run_artifact_uri(&state, run_id).await?;
    Ok(Json(list_uri(&state, &root_uri, &path).await?))
}

/// `GET /get-artifact?run_id=&path=`: downloads one file of a run.
pub async fn get_artifact(State(state): State<TrackingState>, fields: Fields) -> Result<Response> {
    let run_id = fields.run_id()?;
    let path = ArtifactPath::parse(&fields.str("path")?)?;
    let root_uri = run_artifact_uri(&state, run_id).await?;
    send_uri(&state, &root_uri, &path).await
}

/// `GET /ajax-api/2.0/mlflow/logged-models/{model_id}/artifacts/files?artifact_file_path=`:
/// downloads one file of a logged model.
pub async fn logged_model_file(
    State(state): State<TrackingState>,
    Path(model_id): Path<String>,
    fields: Fields,
) -> Result<Response> {
    let raw = fields.opt_str("artifact_file_path")?.unwrap_or_default();
    if raw.is_empty() {
        return Err(TrackingError::new(
            ErrorCode::BadRequest,
            "The request must include the 'artifact_file_path' query parameter: the file to \
             download, relative to the model's artifact folder.",
        ));
    }
    let path = ArtifactPath::parse(&raw)?;
    let root_uri = crate::logged_models::artifact_location(&state, model_id).await?;
    send_uri(&state, &root_uri, &path).await
}

/// Returns the artifact root URI of a run, deleted or not, as MLflow's `get_run` does.
async fn run_artifact_uri(state: &TrackingState, run_id: String) -> Result<String> {
    state
        .db
        .read(move |tx| {
            tx.prepare_cached("SELECT artifact_uri FROM tracking_runs WHERE run_id = ?1")?
                .query_row([&run_id], |row| row.get(0))
                .optional()?
                .ok_or_else(|| TrackingError::not_found(format!("Run with id={run_id} not found")))
        })
        .await
}
