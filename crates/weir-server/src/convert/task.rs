//! Tasks: the `v2beta1PipelineTaskDetail` entries of a run's `run_details.task_details`.
//!
//! `inputs` and `outputs` keep KFP's shape, a map from artifact name to an `ArtifactList`, and
//! since Weir keeps no ML Metadata store its lists carry no `artifact_ids` but an `artifacts` list
//! with each artifact's name, URI, type and metadata. Parameters, which KFP keeps only in ML
//! Metadata, are in the Weir fields `input_parameters` and `output_parameters`. The Weir fields
//! `path`, `kind`, `attempts` and `cached` describe the task's place in the tree and its runs.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use serde_json::{Map, Value};
use weir_store::{TaskKind, TaskRecord};

use super::run::{error_status, state_history, ApiRuntimeStatus};
use super::{optional_timestamp, timestamp, RpcStatus};

#[derive(Debug, Serialize)]
pub struct ApiArtifact {
    pub name: String,
    pub uri: String,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub metadata: Map<String, Value>,
}

#[derive(Debug, Serialize)]
pub struct ApiArtifactList {
    pub artifacts: Vec<ApiArtifact>,
}

#[derive(Debug, Serialize)]
pub struct ApiChildTask {
    pub task_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pod_name: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct ApiTaskDetail {
    pub run_id: String,
    pub task_id: String,
    pub display_name: String,
    pub create_time: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_time: Option<String>,
    pub state: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<RpcStatus>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub inputs: BTreeMap<String, ApiArtifactList>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub outputs: BTreeMap<String, ApiArtifactList>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_task_id: Option<String>,
    pub state_history: Vec<ApiRuntimeStatus>,
    /// The task id for container and importer tasks, which the artifact and log endpoints take
    /// as their node id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pod_name: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub child_tasks: Vec<ApiChildTask>,
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub input_parameters: Map<String, Value>,
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub output_parameters: Map<String, Value>,
    pub path: String,
    pub kind: &'static str,
    pub attempts: u32,
    pub cached: bool,
}

/// Converts a run's tasks, in the order given, linking each to its children.
pub fn task_details(tasks: &[TaskRecord]) -> Vec<ApiTaskDetail> {
    let mut children: HashMap<&str, Vec<ApiChildTask>> = HashMap::new();
    for task in tasks {
        if let Some(parent) = task.parent_task_id.as_deref() {
            children
                .entry(parent)
                .or_default()
                .push(ApiChildTask { task_id: task.task_id.clone(), pod_name: pod_name(task) });
        }
    }
    tasks
        .iter()
        .map(|task| {
            let child_tasks = children.remove(task.task_id.as_str()).unwrap_or_default();
            task_detail(task, child_tasks)
        })
        .collect()
}

fn task_detail(task: &TaskRecord, child_tasks: Vec<ApiChildTask>) -> ApiTaskDetail {
    let display_name =
        if task.display_name.is_empty() { task.name.clone() } else { task.display_name.clone() };
    ApiTaskDetail {
        run_id: task.run_id.clone(),
        task_id: task.task_id.clone(),
        display_name,
        create_time: timestamp(task.created_at),
        start_time: optional_timestamp(task.started_at),
        end_time: optional_timestamp(task.finished_at),
        state: task.state.as_str(),
        error: task.error.as_ref().map(|message| error_status(task.state, message)),
        inputs: artifact_lists(&task.inputs),
        outputs: artifact_lists(&task.outputs),
        parent_task_id: task.parent_task_id.clone(),
        state_history: state_history(
            task.state,
            task.created_at,
            task.started_at,
            task.finished_at,
        ),
        pod_name: pod_name(task),
        child_tasks,
        input_parameters: parameters(&task.inputs),
        output_parameters: parameters(&task.outputs),
        path: task.path.clone(),
        kind: task.kind.as_str(),
        attempts: task.attempts,
        cached: task.cached,
    }
}

fn pod_name(task: &TaskRecord) -> Option<String> {
    matches!(task.kind, TaskKind::Container | TaskKind::Importer).then(|| task.task_id.clone())
}

/// Reads `{"parameters": {...}}` of a task's stored inputs or outputs.
fn parameters(values: &Value) -> Map<String, Value> {
    match values.get("parameters") {
        Some(Value::Object(map)) => map.clone(),
        _ => Map::new(),
    }
}

/// Reads `{"artifacts": {name: [RuntimeArtifact, ...]}}` of a task's stored inputs or outputs.
fn artifact_lists(values: &Value) -> BTreeMap<String, ApiArtifactList> {
    let Some(Value::Object(artifacts)) = values.get("artifacts") else {
        return BTreeMap::new();
    };
    artifacts
        .iter()
        .map(|(name, list)| {
            let items = list.as_array().map(Vec::as_slice).unwrap_or_default();
            let artifacts = items.iter().map(|item| artifact(name, item)).collect();
            (name.clone(), ApiArtifactList { artifacts })
        })
        .collect()
}

fn artifact(key: &str, item: &Value) -> ApiArtifact {
    let text =
        |field: &str| item.get(field).and_then(Value::as_str).unwrap_or_default().to_string();
    let name = text("name");
    ApiArtifact {
        name: if name.is_empty() { key.to_string() } else { name },
        uri: text("uri"),
        artifact_type: item
            .get("type")
            .and_then(|t| t.get("schemaTitle"))
            .and_then(Value::as_str)
            .map(str::to_string),
        metadata: match item.get("metadata") {
            Some(Value::Object(map)) => map.clone(),
            _ => Map::new(),
        },
    }
}
