//! The KFP v2beta1 JSON the client reads: runs with their task details, pipelines, pipeline
//! versions, experiments and list pages. Only the fields the commands use are declared. The
//! `--json` output prints the server's JSON as it came.
//!
//! Task details carry Weir's own fields (`path`, `kind`, `attempts`, `cached`, and the
//! parameters in `input_parameters` and `output_parameters`), which a KFP server does not send.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Map, Value};

/// A `googleRpcStatus`: the error of a failed run or task.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Status {
    pub code: i32,
    pub message: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Run {
    pub run_id: String,
    pub display_name: String,
    pub experiment_id: Option<String>,
    /// A KFP `RuntimeState` name: `PENDING`, `RUNNING`, `SUCCEEDED`, ...
    pub state: String,
    pub storage_state: String,
    pub created_at: String,
    pub finished_at: Option<String>,
    pub error: Option<Status>,
    pub runtime_config: RuntimeConfig,
    /// The inline spec: a `PipelineSpec`, or `{"pipeline_spec": ..., "platform_spec": ...}`.
    pub pipeline_spec: Option<Value>,
    pub pipeline_version_reference: Option<VersionReference>,
    /// Present when one run is read, absent in list pages.
    pub run_details: Option<RunDetails>,
    pub state_history: Vec<StateEntry>,
}

impl Run {
    /// Returns the run's tasks, or none when the response has no `run_details`.
    pub fn tasks(&self) -> &[TaskDetail] {
        self.run_details.as_ref().map(|details| details.task_details.as_slice()).unwrap_or_default()
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct RuntimeConfig {
    /// Every run argument after defaults, with input artifacts as URIs.
    pub parameters: Map<String, Value>,
    pub pipeline_root: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct VersionReference {
    pub pipeline_id: String,
    pub pipeline_version_id: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct RunDetails {
    pub task_details: Vec<TaskDetail>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct StateEntry {
    pub update_time: String,
    pub state: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct TaskDetail {
    pub task_id: String,
    pub parent_task_id: Option<String>,
    pub display_name: String,
    pub create_time: String,
    pub start_time: Option<String>,
    pub end_time: Option<String>,
    pub state: String,
    pub error: Option<Status>,
    pub inputs: BTreeMap<String, ArtifactList>,
    pub outputs: BTreeMap<String, ArtifactList>,
    pub input_parameters: Map<String, Value>,
    pub output_parameters: Map<String, Value>,
    /// Task keys from the root joined by `/` (`for-loop-2/iteration-0/square`).
    pub path: String,
    /// `container`, `importer`, `dag`, `loop` or `iteration`.
    pub kind: String,
    pub attempts: u32,
    pub cached: bool,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ArtifactList {
    pub artifacts: Vec<Artifact>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Artifact {
    pub name: String,
    pub uri: String,
    /// The artifact's schema title, such as `system.Metrics`.
    #[serde(rename = "type")]
    pub artifact_type: Option<String>,
    pub metadata: Map<String, Value>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Pipeline {
    pub pipeline_id: String,
    pub name: String,
    pub display_name: String,
    pub description: Option<String>,
    pub created_at: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct PipelineVersion {
    pub pipeline_id: String,
    pub pipeline_version_id: String,
    pub name: String,
    pub display_name: String,
    pub description: Option<String>,
    pub created_at: String,
    /// Present when one version is read, absent in list pages.
    pub pipeline_spec: Option<Value>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Experiment {
    pub experiment_id: String,
    pub display_name: String,
    pub description: Option<String>,
    pub created_at: String,
    /// `AVAILABLE` or `ARCHIVED`.
    pub storage_state: String,
}

/// One page of a list response. The items are under a key that depends on the resource.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Page {
    pub total_size: u64,
    pub next_page_token: Option<String>,
}

/// `GET /runs/{run_id}/mlflow-runs`: what a run's tasks logged to MLflow tracking.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct TrackingLinks {
    #[serde(default)]
    pub mlflow_runs: Vec<weir_tracking::links::LinkedRun>,
    #[serde(default)]
    pub model_versions: Vec<weir_tracking::links::LinkedModelVersion>,
}
