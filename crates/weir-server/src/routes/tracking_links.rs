//! `GET /runs/{run_id}/mlflow-runs`, Weir's own endpoint: the MLflow tracking runs that the
//! run's tasks made, each with the id, name and path of its task, and the model versions
//! registered from them. The other direction needs no
//! endpoint: each tracking run carries `weir.run_id` and `weir.task_id` tags, which the MLflow
//! API searches (`tags."weir.run_id" = '<id>'`).

use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};

use crate::error::{ApiError, ApiResult};
use crate::extract::ApiPath;
use crate::state::AppState;

pub async fn list(
    State(state): State<AppState>,
    ApiPath(run_id): ApiPath<String>,
) -> ApiResult<Json<Value>> {
    state.store.get_run(&run_id).await?;
    let read_failed = |error| {
        ApiError::Internal(format!("could not read the tracking runs of run {run_id}: {error}"))
    };
    let runs = state.tracking.runs_of_weir_run(&run_id).await.map_err(read_failed)?;
    let versions = state.tracking.model_versions_of_weir_run(&run_id).await.map_err(read_failed)?;
    Ok(Json(json!({ "mlflow_runs": runs, "model_versions": versions })))
}
