//! Reading a run's files over HTTP: an output artifact of a task
//! (`GET /runs/{run_id}/nodes/{node_id}/artifacts/{artifact_name}:read`, the path the KFP API
//! server serves, returning `{"data": <base64>}`), a task's log
//! (`GET /runs/{run_id}/tasks/{task_id}/logs`) and the run log (`GET /runs/{run_id}/logs`),
//! both as plain text. The last two are Weir's own endpoints.
//!
//! A node or task is named by its task id (the `pod_name` of a task detail), its task path
//! (`for-loop-2/iteration-0/square`, URL-encoded), or a task name that only one container or
//! importer task of the run has. KFP returns an artifact as a tar.gz archive of the stored
//! object; Weir returns the file's own bytes, and rejects a directory.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine as _;
use serde_json::{json, Value};
use weir_store::{TaskKind, TaskRecord};

use crate::error::{ApiError, ApiResult};
use crate::extract::{split_verb, ApiPath};
use crate::state::AppState;

/// Largest artifact file the read endpoint returns.
pub const MAX_ARTIFACT_BYTES: u64 = 64 * 1024 * 1024;

pub async fn read_artifact(
    State(state): State<AppState>,
    ApiPath((run_id, node_id, segment)): ApiPath<(String, String, String)>,
) -> ApiResult<Json<Value>> {
    let (artifact_name, verb) = split_verb(&segment)?;
    if verb != "read" {
        return Err(super::unknown_action("artifact", verb, &["read"]));
    }
    let tasks = state.store.list_tasks(&run_id).await?;
    if tasks.is_empty() {
        state.store.get_run(&run_id).await?;
    }
    let task = find_task(&tasks, &node_id)?;
    let uri = output_uri(task, artifact_name)?;
    let path = weir_artifacts::local_path_for_uri(&uri);

    let metadata = tokio::fs::metadata(&path).await.map_err(|e| {
        ApiError::NotFound(format!(
            "artifact {artifact_name:?} of task {:?} at {}: {e}",
            task.path,
            path.display()
        ))
    })?;
    if metadata.is_dir() {
        return Err(ApiError::FailedPrecondition(format!(
            "artifact {artifact_name:?} of task {:?} is a directory ({}); read its files from \
             the data folder",
            task.path,
            path.display()
        )));
    }
    if metadata.len() > MAX_ARTIFACT_BYTES {
        return Err(ApiError::FailedPrecondition(format!(
            "artifact {artifact_name:?} of task {:?} is {} bytes, more than the {} this \
             endpoint returns; read it from {}",
            task.path,
            metadata.len(),
            MAX_ARTIFACT_BYTES,
            path.display()
        )));
    }
    let bytes = tokio::fs::read(&path).await.map_err(|e| {
        ApiError::Internal(format!("failed to read artifact file {}: {e}", path.display()))
    })?;
    let data = base64::engine::general_purpose::STANDARD.encode(bytes);
    Ok(Json(json!({ "data": data })))
}

fn output_uri(task: &TaskRecord, artifact_name: &str) -> ApiResult<String> {
    let artifacts = task.outputs.get("artifacts").and_then(Value::as_object);
    let uri = artifacts
        .and_then(|map| map.get(artifact_name))
        .and_then(|list| list.get(0))
        .and_then(|artifact| artifact.get("uri"))
        .and_then(Value::as_str);
    match uri {
        Some(uri) if !uri.is_empty() => Ok(uri.to_string()),
        _ => {
            let known: Vec<&str> =
                artifacts.map(|map| map.keys().map(String::as_str).collect()).unwrap_or_default();
            let known = if known.is_empty() { "none".to_string() } else { known.join(", ") };
            Err(ApiError::NotFound(format!(
                "task {:?} has no output artifact {artifact_name:?} (state {}); its output \
                 artifacts: {known}",
                task.path, task.state
            )))
        }
    }
}

/// Finds a task by id, path, or a name that one container or importer task has.
fn find_task<'a>(tasks: &'a [TaskRecord], wanted: &str) -> ApiResult<&'a TaskRecord> {
    if let Some(task) = tasks.iter().find(|t| t.task_id == wanted || t.path == wanted) {
        return Ok(task);
    }
    let matches: Vec<&TaskRecord> = tasks
        .iter()
        .filter(|t| t.name == wanted || t.display_name == wanted)
        .filter(|t| matches!(t.kind, TaskKind::Container | TaskKind::Importer))
        .collect();
    match matches.as_slice() {
        [task] => Ok(task),
        [] => Err(ApiError::NotFound(format!(
            "no task {wanted:?} in this run; name a task by its task_id or path"
        ))),
        many => {
            let paths: Vec<&str> = many.iter().map(|t| t.path.as_str()).take(20).collect();
            Err(ApiError::invalid(format!(
                "{} tasks are named {wanted:?}; name one by its path: {}",
                many.len(),
                paths.join(", ")
            )))
        }
    }
}

pub async fn task_log(
    State(state): State<AppState>,
    ApiPath((run_id, task_id)): ApiPath<(String, String)>,
) -> ApiResult<Response> {
    let tasks = state.store.list_tasks(&run_id).await?;
    if tasks.is_empty() {
        state.store.get_run(&run_id).await?;
    }
    let task = find_task(&tasks, &task_id)?;
    let Some(log_path) = &task.log_path else {
        return Err(ApiError::NotFound(format!(
            "task {:?} has no log: it is a {} task or has not started (state {})",
            task.path,
            task.kind.as_str(),
            task.state
        )));
    };
    text_file(log_path).await
}

pub async fn run_log(
    State(state): State<AppState>,
    ApiPath(run_id): ApiPath<String>,
) -> ApiResult<Response> {
    let run = state.store.get_run(&run_id).await?;
    let path = state.engine.run_log_path(&run.run_id);
    text_file(&path.display().to_string()).await
}

/// Returns a log file as `text/plain`; a file not written yet is empty.
async fn text_file(path: &str) -> ApiResult<Response> {
    let bytes = match tokio::fs::read(path).await {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(ApiError::Internal(format!("failed to read log {path}: {e}"))),
    };
    Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], bytes).into_response())
}
