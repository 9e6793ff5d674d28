//! Records kept by the store: runs, tasks and cache entries, and the KFP runtime states.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::StorageState;

/// KFP's `RuntimeState` names, used for runs and tasks alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum State {
    Pending,
    Running,
    Succeeded,
    Skipped,
    Failed,
    Canceling,
    Canceled,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Pending => "PENDING",
            State::Running => "RUNNING",
            State::Succeeded => "SUCCEEDED",
            State::Skipped => "SKIPPED",
            State::Failed => "FAILED",
            State::Canceling => "CANCELING",
            State::Canceled => "CANCELED",
        }
    }

    /// Returns whether no further state change follows.
    pub fn is_final(self) -> bool {
        matches!(self, State::Succeeded | State::Skipped | State::Failed | State::Canceled)
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for State {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "PENDING" => State::Pending,
            "RUNNING" => State::Running,
            "SUCCEEDED" => State::Succeeded,
            "SKIPPED" => State::Skipped,
            "FAILED" => State::Failed,
            "CANCELING" => State::Canceling,
            "CANCELED" => State::Canceled,
            other => return Err(format!("unknown state {other:?}")),
        })
    }
}

/// Fields the engine needs to start a run.
#[derive(Debug, Clone)]
pub struct NewRun {
    pub run_id: String,
    pub name: String,
    pub description: String,
    pub pipeline_name: String,
    /// The pipeline spec as JSON (`PipelineSpec`, plus `platformSpec` when present).
    pub pipeline_spec: Value,
    /// Run arguments after defaults and type conversion.
    pub parameters: Value,
    pub pipeline_root: String,
    pub experiment_id: Option<String>,
    pub pipeline_version_id: Option<String>,
    /// The recurring run that started this run.
    pub recurring_run_id: Option<String>,
    /// When the recurring run's schedule fired for this run.
    pub scheduled_at: Option<DateTime<Utc>>,
    /// Whether task caching is enabled for the whole run.
    pub enable_caching: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RunRecord {
    pub run_id: String,
    pub name: String,
    pub description: String,
    pub pipeline_name: String,
    pub pipeline_spec: Value,
    pub parameters: Value,
    pub pipeline_root: String,
    pub experiment_id: Option<String>,
    pub pipeline_version_id: Option<String>,
    pub recurring_run_id: Option<String>,
    pub enable_caching: bool,
    pub state: State,
    /// Whether the run is archived. A new run is `AVAILABLE`.
    pub storage_state: StorageState,
    pub error: Option<String>,
    /// The pipeline's output values (`{"parameters": {...}, "artifacts": {...}}`).
    pub outputs: Value,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub scheduled_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Default)]
pub struct RunQuery {
    pub state: Option<State>,
    pub experiment_id: Option<String>,
    /// Maximum rows; 0 means no limit.
    pub limit: usize,
}

/// Kind of node in a run's task tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskKind {
    /// A container task: one process (or pod) per attempt.
    Container,
    Importer,
    /// A sub-DAG: condition, exit handler body, nested pipeline, or the root.
    Dag,
    /// A ParallelFor task; its children are iterations.
    Loop,
    /// One iteration of a ParallelFor body.
    Iteration,
}

impl TaskKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TaskKind::Container => "container",
            TaskKind::Importer => "importer",
            TaskKind::Dag => "dag",
            TaskKind::Loop => "loop",
            TaskKind::Iteration => "iteration",
        }
    }
}

impl FromStr for TaskKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "container" => TaskKind::Container,
            "importer" => TaskKind::Importer,
            "dag" => TaskKind::Dag,
            "loop" => TaskKind::Loop,
            "iteration" => TaskKind::Iteration,
            other => return Err(format!("unknown task kind {other:?}")),
        })
    }
}

/// One node of a run's task tree, as last written by the engine.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskRecord {
    pub task_id: String,
    pub run_id: String,
    pub parent_task_id: Option<String>,
    /// Task key inside its DAG (`train`, `for-loop-2`).
    pub name: String,
    /// `taskInfo.name` from the spec.
    pub display_name: String,
    /// Slash-separated keys from the root (`for-loop-2/3/square`), unique in the run.
    pub path: String,
    pub kind: TaskKind,
    pub component: String,
    pub iteration_index: Option<i64>,
    pub state: State,
    /// Attempts started so far (1 after the first start).
    pub attempts: u32,
    pub cached: bool,
    /// Resolved inputs (`{"parameters": {...}, "artifacts": {...}}`).
    pub inputs: Value,
    /// Collected outputs, same shape as inputs.
    pub outputs: Value,
    pub error: Option<String>,
    pub cache_key: Option<String>,
    pub log_path: Option<String>,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// Outputs of a succeeded task, reusable by a later task with the same cache key.
#[derive(Debug, Clone, PartialEq)]
pub struct CacheEntry {
    pub cache_key: String,
    pub run_id: String,
    pub task_id: String,
    pub outputs: Value,
    pub created_at: DateTime<Utc>,
}
