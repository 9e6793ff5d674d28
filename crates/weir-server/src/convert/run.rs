//! Runs: `v2beta1Run` JSON, with `run_details.task_details` for a single run, and the create
//! request.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use weir_store::{RunRecord, State, TaskRecord};

use super::spec::stored_to_api;
use super::task::{task_details, ApiTaskDetail};
use super::{de_string, non_empty, optional_timestamp, timestamp, RpcStatus};

#[derive(Debug, Serialize)]
pub struct ApiVersionReference {
    pub pipeline_id: String,
    pub pipeline_version_id: String,
}

#[derive(Debug, Serialize)]
pub struct ApiRuntimeConfig {
    pub parameters: Map<String, Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pipeline_root: Option<String>,
}

/// One entry of a `state_history`.
#[derive(Debug, Serialize)]
pub struct ApiRuntimeStatus {
    pub update_time: String,
    pub state: &'static str,
}

#[derive(Debug, Serialize)]
pub struct ApiRunDetails {
    pub task_details: Vec<ApiTaskDetail>,
}

#[derive(Debug, Serialize)]
pub struct ApiRun {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub experiment_id: Option<String>,
    pub run_id: String,
    pub display_name: String,
    pub storage_state: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pipeline_version_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pipeline_spec: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pipeline_version_reference: Option<ApiVersionReference>,
    pub runtime_config: ApiRuntimeConfig,
    pub created_at: String,
    pub scheduled_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<String>,
    pub state: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<RpcStatus>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_details: Option<ApiRunDetails>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recurring_run_id: Option<String>,
    pub state_history: Vec<ApiRuntimeStatus>,
}

/// Options of a run's JSON beyond the listing fields.
#[derive(Debug, Clone, Copy)]
pub struct RunView<'a> {
    /// The pipeline a referenced version belongs to, when the run has a version.
    pub pipeline_id: Option<&'a str>,
    /// The run's tasks, for `run_details`; `None` leaves `run_details` out.
    pub tasks: Option<&'a [TaskRecord]>,
    /// Whether to include the inline pipeline spec (the record must carry it).
    pub with_spec: bool,
}

impl ApiRun {
    pub fn new(run: &RunRecord, view: RunView<'_>) -> Self {
        let version_reference =
            run.pipeline_version_id.as_ref().map(|version_id| ApiVersionReference {
                pipeline_id: view.pipeline_id.unwrap_or_default().to_string(),
                pipeline_version_id: version_id.clone(),
            });
        let pipeline_spec =
            (view.with_spec && version_reference.is_none() && !run.pipeline_spec.is_null())
                .then(|| stored_to_api(&run.pipeline_spec));

        ApiRun {
            experiment_id: run.experiment_id.clone().filter(|id| !id.is_empty()),
            run_id: run.run_id.clone(),
            display_name: run.name.clone(),
            storage_state: run.storage_state.as_str(),
            description: non_empty(&run.description),
            pipeline_version_id: run.pipeline_version_id.clone(),
            pipeline_spec,
            pipeline_version_reference: version_reference,
            runtime_config: runtime_config(run),
            created_at: timestamp(run.created_at),
            scheduled_at: timestamp(run.scheduled_at.unwrap_or(run.created_at)),
            finished_at: optional_timestamp(run.finished_at),
            state: run.state.as_str(),
            error: run.error.as_ref().map(|message| error_status(run.state, message)),
            run_details: view
                .tasks
                .map(|tasks| ApiRunDetails { task_details: task_details(tasks) }),
            recurring_run_id: run.recurring_run_id.clone().filter(|id| !id.is_empty()),
            state_history: state_history(
                run.state,
                run.created_at,
                run.started_at,
                run.finished_at,
            ),
        }
    }
}

/// Returns the run's arguments: parameter values, and input artifacts by URI as they were given.
fn runtime_config(run: &RunRecord) -> ApiRuntimeConfig {
    let mut parameters = match run.parameters.get("parameters") {
        Some(Value::Object(map)) => map.clone(),
        _ => Map::new(),
    };
    if let Some(Value::Object(artifacts)) = run.parameters.get("artifacts") {
        for (name, list) in artifacts {
            let uri = list.get(0).and_then(|artifact| artifact.get("uri")).cloned();
            if let Some(uri) = uri {
                parameters.insert(name.clone(), uri);
            }
        }
    }
    ApiRuntimeConfig { parameters, pipeline_root: non_empty(&run.pipeline_root) }
}

/// Returns the gRPC status of a run or task error: `CANCELLED` (1) for a canceled one, else
/// `UNKNOWN` (2), because the error comes from the pipeline and not from the server.
pub fn error_status(state: State, message: &str) -> RpcStatus {
    let code = if state == State::Canceled { 1 } else { 2 };
    RpcStatus::new(code, message)
}

/// Rebuilds a state history from the timestamps the store keeps: created (`PENDING`), started
/// (`RUNNING`) and finished (the final state). States without a timestamp, such as
/// `CANCELING`, are not listed.
pub fn state_history(
    state: State,
    created_at: chrono::DateTime<chrono::Utc>,
    started_at: Option<chrono::DateTime<chrono::Utc>>,
    finished_at: Option<chrono::DateTime<chrono::Utc>>,
) -> Vec<ApiRuntimeStatus> {
    let mut history = vec![ApiRuntimeStatus {
        update_time: timestamp(created_at),
        state: State::Pending.as_str(),
    }];
    if let Some(started) = started_at {
        history.push(ApiRuntimeStatus {
            update_time: timestamp(started),
            state: State::Running.as_str(),
        });
    }
    if let Some(finished) = finished_at.filter(|_| state.is_final()) {
        history.push(ApiRuntimeStatus { update_time: timestamp(finished), state: state.as_str() });
    }
    history
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct VersionReferenceBody {
    #[serde(alias = "pipelineId", deserialize_with = "de_string")]
    pub pipeline_id: String,
    #[serde(alias = "pipelineVersionId", deserialize_with = "de_string")]
    pub pipeline_version_id: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RuntimeConfigBody {
    pub parameters: Option<BTreeMap<String, Value>>,
    #[serde(alias = "pipelineRoot")]
    pub pipeline_root: Option<String>,
}

/// Body of `POST /runs`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RunBody {
    #[serde(alias = "experimentId", deserialize_with = "de_string")]
    pub experiment_id: String,
    #[serde(alias = "displayName", deserialize_with = "de_string")]
    pub display_name: String,
    #[serde(deserialize_with = "de_string")]
    pub description: String,
    #[serde(alias = "pipelineVersionId", deserialize_with = "de_string")]
    pub pipeline_version_id: String,
    #[serde(alias = "pipelineSpec")]
    pub pipeline_spec: Option<Value>,
    #[serde(alias = "pipelineVersionReference")]
    pub pipeline_version_reference: Option<VersionReferenceBody>,
    #[serde(alias = "runtimeConfig")]
    pub runtime_config: Option<RuntimeConfigBody>,
}
