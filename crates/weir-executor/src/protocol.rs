//! The KFP executor protocol: the `ExecutorInput` a task receives and the `ExecutorOutput` it
//! may write back, in protobuf JSON names.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use weir_spec::ArtifactTypeSchema;

/// One artifact as the executor receives it (`RuntimeArtifact`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RuntimeArtifact {
    #[serde(default)]
    pub name: String,
    #[serde(default, rename = "type")]
    pub artifact_type: ArtifactTypeSchema,
    #[serde(default)]
    pub uri: String,
    #[serde(default)]
    pub metadata: Map<String, Value>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ArtifactList {
    #[serde(default)]
    pub artifacts: Vec<RuntimeArtifact>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutorInput {
    pub inputs: Inputs,
    pub outputs: Outputs,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Inputs {
    /// Resolved input parameters; an absent optional input is omitted.
    #[serde(default)]
    pub parameter_values: BTreeMap<String, Value>,
    #[serde(default)]
    pub artifacts: BTreeMap<String, ArtifactList>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Outputs {
    #[serde(default)]
    pub parameters: BTreeMap<String, OutputParameter>,
    #[serde(default)]
    pub artifacts: BTreeMap<String, ArtifactList>,
    /// Path where the task may write its `ExecutorOutput` JSON.
    #[serde(default)]
    pub output_file: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OutputParameter {
    pub output_file: String,
}

/// Outputs of a finished task: typed parameter values and final artifacts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TaskOutputs {
    pub parameters: BTreeMap<String, Value>,
    pub artifacts: BTreeMap<String, Vec<RuntimeArtifact>>,
}

/// Run-level values for the `{{$.pipeline_*}}` placeholders.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PlaceholderContext {
    pub pipeline_job_name: String,
    pub pipeline_job_resource_name: String,
    pub pipeline_job_uuid: String,
    pub pipeline_task_name: String,
    pub pipeline_task_uuid: String,
    pub pipeline_root: String,
    /// RFC 3339 UTC creation time of the run.
    pub pipeline_job_create_time_utc: String,
    /// RFC 3339 UTC scheduled time for recurring runs; the creation time otherwise.
    pub pipeline_job_schedule_time_utc: String,
    pub workspace_path: String,
}
