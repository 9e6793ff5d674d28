//! `/apis/v2beta1/runs`: create runs from an inline spec or a pipeline version, read them with
//! their task details, list, archive, unarchive, terminate, retry and delete them.

use std::collections::HashMap;

use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use weir_store::{RunRecord, StorageState};

use crate::convert::run::{ApiRun, RunBody, RunView};
use crate::error::{ApiError, ApiResult};
use crate::extract::{split_verb, ApiJson, ApiPath, ApiQuery};
use crate::filter::ListParams;
use crate::launch::{self, PipelineSource, RunSettings};
use crate::state::AppState;

#[derive(Debug, Default, Deserialize)]
pub struct ExperimentParam {
    pub experiment_id: Option<String>,
}

pub async fn create(
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<ExperimentParam>,
    ApiJson(body): ApiJson<RunBody>,
) -> ApiResult<Json<ApiRun>> {
    let source = pipeline_source(&body)?;
    let resolved = launch::resolve_pipeline(state.store.as_ref(), source).await?;
    let pipeline_id = resolved.version.as_ref().map(|v| v.pipeline_id.clone());

    let given_experiment = match body.experiment_id.as_str() {
        "" => params.experiment_id.as_deref().unwrap_or_default(),
        id => id,
    };
    let experiment_id = launch::experiment_for_run(state.store.as_ref(), given_experiment).await?;
    let config = body.runtime_config.unwrap_or_default();
    if let Some(root) = config.pipeline_root.as_deref().filter(|root| !root.is_empty()) {
        tracing::debug!(pipeline_root = %root,
            "The run's pipeline_root is not used; artifacts are stored in the data folder.");
    }
    let settings = RunSettings {
        name: Some(body.display_name.clone()),
        description: body.description.clone(),
        arguments: config.parameters.unwrap_or_default(),
        experiment_id: Some(experiment_id),
        recurring_run_id: None,
        scheduled_at: None,
    };
    let run = launch::launch(&state, resolved, settings).await?;
    let view = RunView { pipeline_id: pipeline_id.as_deref(), tasks: None, with_spec: true };
    Ok(Json(ApiRun::new(&run, view)))
}

/// Picks the run's pipeline: the inline spec, or the referenced pipeline version.
fn pipeline_source(body: &RunBody) -> ApiResult<PipelineSource<'_>> {
    let spec = body.pipeline_spec.as_ref().filter(|spec| !spec.is_null());
    let reference = body.pipeline_version_reference.as_ref();
    let version_id = reference
        .map(|r| r.pipeline_version_id.as_str())
        .filter(|id| !id.is_empty())
        .unwrap_or(body.pipeline_version_id.as_str());
    let pipeline_id = reference.map(|r| r.pipeline_id.as_str()).unwrap_or_default();
    match spec {
        Some(_) if !version_id.is_empty() || !pipeline_id.is_empty() => Err(ApiError::invalid(
            "set either pipeline_spec or pipeline_version_reference, not both",
        )),
        Some(spec) => Ok(PipelineSource::Inline(spec)),
        None if version_id.is_empty() && pipeline_id.is_empty() => Err(ApiError::invalid(
            "the run needs a pipeline: set pipeline_spec, or pipeline_version_reference with \
             pipeline_id and pipeline_version_id",
        )),
        None => Ok(PipelineSource::Version { pipeline_id, version_id }),
    }
}

pub async fn get(
    State(state): State<AppState>,
    ApiPath(run_id): ApiPath<String>,
) -> ApiResult<Json<ApiRun>> {
    let run = state.store.get_run(&run_id).await?;
    let tasks = state.store.list_tasks(&run_id).await?;
    let pipeline_id = match &run.pipeline_version_id {
        Some(version_id) => pipeline_of_version(&state, version_id).await,
        None => None,
    };
    let view =
        RunView { pipeline_id: pipeline_id.as_deref(), tasks: Some(&tasks), with_spec: true };
    Ok(Json(ApiRun::new(&run, view)))
}

/// Returns the pipeline a version belongs to, or `None` when the version was deleted.
async fn pipeline_of_version(state: &AppState, version_id: &str) -> Option<String> {
    state.store.get_pipeline_version(version_id).await.ok().map(|version| version.pipeline_id)
}

pub async fn list(
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<ListParams>,
) -> ApiResult<Json<Value>> {
    let query = params.to_query()?;
    let experiment_id = params.experiment_id.as_deref().filter(|id| !id.is_empty());
    let page = state.store.list_runs_page(experiment_id, &query, false).await?;
    let pipelines = pipelines_of_runs(&state, &page.items).await;
    let runs: Vec<ApiRun> = page
        .items
        .iter()
        .map(|run| {
            let pipeline_id = run
                .pipeline_version_id
                .as_ref()
                .and_then(|version_id| pipelines.get(version_id))
                .and_then(Option::as_deref);
            ApiRun::new(run, RunView { pipeline_id, tasks: None, with_spec: false })
        })
        .collect();
    Ok(Json(super::page_json("runs", runs, page.total_size, page.next_page_token)))
}

/// Looks up the pipeline of each distinct version the runs refer to.
async fn pipelines_of_runs(
    state: &AppState,
    runs: &[RunRecord],
) -> HashMap<String, Option<String>> {
    let mut pipelines = HashMap::new();
    for version_id in runs.iter().filter_map(|run| run.pipeline_version_id.as_ref()) {
        if !pipelines.contains_key(version_id) {
            let pipeline_id = pipeline_of_version(state, version_id).await;
            pipelines.insert(version_id.clone(), pipeline_id);
        }
    }
    pipelines
}

/// `DELETE /runs/{id}`: stops the run if it is active, then deletes it and its tasks.
pub async fn delete(
    State(state): State<AppState>,
    ApiPath(run_id): ApiPath<String>,
) -> ApiResult<Json<Value>> {
    let run = state.store.get_run(&run_id).await?;
    if state.runs.is_active(&run_id) {
        state.runs.terminate(&run_id).await?;
        state.runs.stop_and_wait(&run_id).await?;
    }
    state.store.delete_run(&run.run_id).await?;
    tracing::info!(run.id = %run_id, "Run deleted.");
    Ok(Json(json!({})))
}

/// `POST /runs/{id}:archive`, `:unarchive`, `:terminate` and `:retry`.
pub async fn action(
    State(state): State<AppState>,
    ApiPath(segment): ApiPath<String>,
) -> ApiResult<Json<Value>> {
    let (run_id, verb) = split_verb(&segment)?;
    match verb {
        "archive" => set_storage_state(&state, run_id, StorageState::Archived).await?,
        "unarchive" => set_storage_state(&state, run_id, StorageState::Available).await?,
        "terminate" => {
            state.runs.terminate(run_id).await?;
        }
        "retry" => state.runs.retry(run_id).await?,
        other => {
            return Err(super::unknown_action(
                "run",
                other,
                &["archive", "unarchive", "terminate", "retry"],
            ))
        }
    }
    Ok(Json(json!({})))
}

async fn set_storage_state(state: &AppState, run_id: &str, storage: StorageState) -> ApiResult<()> {
    state.store.set_run_storage_state(run_id, storage).await?;
    tracing::info!(run.id = %run_id, storage_state = storage.as_str(),
        "Run storage state changed.");
    Ok(())
}
