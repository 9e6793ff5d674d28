//! Creating runs, shared by `POST /runs` and the scheduler: finding the pipeline of a request
//! (an inline spec or a pipeline version), the default experiment, and submitting the run to
//! the engine and the runs manager.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::Value;
use weir_engine::RunRequest;
use weir_spec::Pipeline;
use weir_store::{
    CatalogStore, ListQuery, NewExperiment, PipelineVersionRecord, RunRecord, StorageState,
    StoreError,
};

use crate::convert::spec;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// Name of the experiment that runs without an experiment join, as in KFP.
pub const DEFAULT_EXPERIMENT: &str = "Default";

/// Source of a run's pipeline.
#[derive(Debug)]
pub enum PipelineSource<'a> {
    Inline(&'a Value),
    /// A pipeline version by id, or the newest version of a pipeline when only the pipeline id
    /// is given.
    Version {
        pipeline_id: &'a str,
        version_id: &'a str,
    },
}

/// A resolved pipeline, with the version it came from.
pub struct ResolvedPipeline {
    pub pipeline: Pipeline,
    pub version: Option<PipelineVersionRecord>,
}

pub async fn resolve_pipeline(
    store: &dyn CatalogStore,
    source: PipelineSource<'_>,
) -> ApiResult<ResolvedPipeline> {
    match source {
        PipelineSource::Inline(value) => {
            let pipeline = spec::load_api_spec(value, "pipeline_spec")?;
            Ok(ResolvedPipeline { pipeline, version: None })
        }
        PipelineSource::Version { pipeline_id, version_id } => {
            let version = find_version(store, pipeline_id, version_id).await?;
            let origin = format!("pipeline version {}", version.pipeline_version_id);
            let pipeline = spec::load_stored(&version.pipeline_spec, &origin)?;
            Ok(ResolvedPipeline { pipeline, version: Some(version) })
        }
    }
}

async fn find_version(
    store: &dyn CatalogStore,
    pipeline_id: &str,
    version_id: &str,
) -> ApiResult<PipelineVersionRecord> {
    if !version_id.is_empty() {
        let version = store.get_pipeline_version(version_id).await?;
        if !pipeline_id.is_empty() && version.pipeline_id != pipeline_id {
            return Err(ApiError::InvalidArgument(format!(
                "pipeline version {version_id:?} belongs to pipeline {:?}, not {pipeline_id:?}",
                version.pipeline_id
            )));
        }
        return Ok(version);
    }
    if pipeline_id.is_empty() {
        return Err(ApiError::invalid(
            "set pipeline_spec, or pipeline_version_reference with a pipeline_version_id",
        ));
    }
    let query = ListQuery {
        sort_field: Some("created_at".to_string()),
        descending: true,
        page_size: 1,
        ..ListQuery::default()
    };
    let page = store.list_pipeline_versions(pipeline_id, &query).await?;
    let newest = page.items.into_iter().next().ok_or_else(|| {
        ApiError::FailedPrecondition(format!(
            "pipeline {pipeline_id:?} has no versions; upload a version first"
        ))
    })?;
    store.get_pipeline_version(&newest.pipeline_version_id).await.map_err(ApiError::from)
}

/// Returns the experiment id a run goes into: the given one, which must exist and be
/// available, or the `Default` experiment, created when missing.
pub async fn experiment_for_run(store: &dyn CatalogStore, given: &str) -> ApiResult<String> {
    if !given.is_empty() {
        let experiment = store.get_experiment(given).await?;
        if experiment.storage_state == StorageState::Archived {
            return Err(ApiError::FailedPrecondition(format!(
                "experiment {given:?} is archived; unarchive it before creating runs in it"
            )));
        }
        return Ok(experiment.experiment_id);
    }
    match store.get_experiment_by_name("", DEFAULT_EXPERIMENT).await {
        Ok(experiment) => return Ok(experiment.experiment_id),
        Err(StoreError::NotFound { .. }) => {}
        Err(e) => return Err(e.into()),
    }
    let new = NewExperiment {
        experiment_id: uuid::Uuid::new_v4().to_string(),
        namespace: String::new(),
        display_name: DEFAULT_EXPERIMENT.to_string(),
        description: "Runs created without an experiment.".to_string(),
    };
    match store.create_experiment(&new).await {
        Ok(experiment) => Ok(experiment.experiment_id),
        // Another request created it at the same time.
        Err(StoreError::AlreadyExists { .. }) => {
            Ok(store.get_experiment_by_name("", DEFAULT_EXPERIMENT).await?.experiment_id)
        }
        Err(e) => Err(e.into()),
    }
}

/// Everything a new run needs besides its pipeline.
#[derive(Debug, Default)]
pub struct RunSettings {
    pub name: Option<String>,
    pub description: String,
    pub arguments: BTreeMap<String, Value>,
    pub experiment_id: Option<String>,
    pub recurring_run_id: Option<String>,
    pub scheduled_at: Option<DateTime<Utc>>,
}

/// Stores a new run and starts executing it.
pub async fn launch(
    state: &AppState,
    resolved: ResolvedPipeline,
    settings: RunSettings,
) -> ApiResult<RunRecord> {
    let mut request = RunRequest::new(resolved.pipeline);
    request.arguments = settings.arguments;
    request.name = settings.name.filter(|name| !name.is_empty());
    request.description = settings.description;
    request.experiment_id = settings.experiment_id;
    request.pipeline_version_id = resolved.version.map(|v| v.pipeline_version_id);
    request.recurring_run_id = settings.recurring_run_id;
    request.scheduled_at = settings.scheduled_at;
    let run = state.engine.submit(request).await?;
    state.runs.start(&run.run_id);
    Ok(run)
}
