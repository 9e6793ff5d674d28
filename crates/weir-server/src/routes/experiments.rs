//! `/apis/v2beta1/experiments`: create, get, list, archive, unarchive and delete experiments.

use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};
use weir_store::{NewExperiment, StorageState, StoreError};

use crate::convert::experiment::{ApiExperiment, ExperimentBody};
use crate::error::{ApiError, ApiResult};
use crate::extract::{split_verb, ApiJson, ApiPath, ApiQuery};
use crate::filter::ListParams;
use crate::state::AppState;

pub async fn create(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<ExperimentBody>,
) -> ApiResult<Json<ApiExperiment>> {
    let display_name = body.display_name.trim();
    if display_name.is_empty() {
        return Err(ApiError::invalid("experiment display_name is required"));
    }
    let new = NewExperiment {
        experiment_id: uuid::Uuid::new_v4().to_string(),
        namespace: body.namespace.clone(),
        display_name: display_name.to_string(),
        description: body.description.clone(),
    };
    let experiment = state.store.create_experiment(&new).await.map_err(|e| match e {
        StoreError::AlreadyExists { .. } => ApiError::AlreadyExists(format!(
            "an experiment named {display_name:?} already exists{}; choose another display_name",
            namespace_text(&body.namespace)
        )),
        other => other.into(),
    })?;
    tracing::info!(experiment.id = %experiment.experiment_id, experiment.name = %display_name,
        "Experiment created.");
    Ok(Json(ApiExperiment::from(&experiment)))
}

fn namespace_text(namespace: &str) -> String {
    if namespace.is_empty() {
        String::new()
    } else {
        format!(" in namespace {namespace:?}")
    }
}

pub async fn get(
    State(state): State<AppState>,
    ApiPath(experiment_id): ApiPath<String>,
) -> ApiResult<Json<ApiExperiment>> {
    let experiment = state.store.get_experiment(&experiment_id).await?;
    Ok(Json(ApiExperiment::from(&experiment)))
}

pub async fn list(
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<ListParams>,
) -> ApiResult<Json<Value>> {
    let query = params.to_query()?;
    let page = state.store.list_experiments(&query).await?;
    let experiments: Vec<ApiExperiment> = page.items.iter().map(ApiExperiment::from).collect();
    Ok(Json(super::page_json("experiments", experiments, page.total_size, page.next_page_token)))
}

pub async fn delete(
    State(state): State<AppState>,
    ApiPath(experiment_id): ApiPath<String>,
) -> ApiResult<Json<Value>> {
    state.store.delete_experiment(&experiment_id).await?;
    tracing::info!(experiment.id = %experiment_id, "Experiment deleted.");
    Ok(Json(json!({})))
}

/// `POST /experiments/{id}:archive` and `:unarchive`.
pub async fn action(
    State(state): State<AppState>,
    ApiPath(segment): ApiPath<String>,
) -> ApiResult<Json<Value>> {
    let (experiment_id, verb) = split_verb(&segment)?;
    let storage_state = match verb {
        "archive" => StorageState::Archived,
        "unarchive" => StorageState::Available,
        other => return Err(super::unknown_action("experiment", other, &["archive", "unarchive"])),
    };
    state.store.set_experiment_storage_state(experiment_id, storage_state).await?;
    if storage_state == StorageState::Archived {
        // Archiving disables the experiment's recurring runs.
        state.scheduler_wake.notify_one();
    }
    tracing::info!(experiment.id = %experiment_id, storage_state = storage_state.as_str(),
        "Experiment storage state changed.");
    Ok(Json(json!({})))
}
