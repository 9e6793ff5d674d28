//! Runs one container task of a KFP pipeline.
//!
//! The [`protocol`] module contains the executor input and output types, [`placeholders`] turns a
//! container spec into an argv, [`outputs`] collects what a finished task wrote, and
//! [`local::LocalExecutor`] runs the argv as a local process. Executors are the only part of
//! Weir that starts processes (or, later, pods); they know nothing of DAGs or the state store.

pub mod local;
pub mod outputs;
pub mod placeholders;
pub mod protocol;
mod text;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use async_trait::async_trait;
use tokio_util::sync::CancellationToken;
use weir_spec::{ContainerSpec, ParameterType};

pub use protocol::*;

/// Everything an executor needs to run one attempt of a container task.
#[derive(Debug, Clone)]
pub struct TaskLaunch {
    pub run_id: String,
    pub task_id: String,
    /// Task path in the run (`for-loop-2/3/square`), for logs and messages.
    pub task_path: String,
    /// 1 for the first attempt.
    pub attempt: u32,
    /// Container spec as compiled, placeholders not yet resolved.
    pub container: ContainerSpec,
    /// Executor input with parameter placeholders already rendered.
    pub executor_input: ExecutorInput,
    /// Declared output parameter types, to parse output files.
    pub output_parameter_types: BTreeMap<String, ParameterType>,
    pub context: PlaceholderContext,
    /// Extra environment variables, applied after the container spec's own.
    pub env: Vec<(String, String)>,
    /// Directory for this attempt's output files and executor output.
    pub task_root: PathBuf,
    /// File that receives stdout and stderr; appended to across attempts.
    pub log_path: PathBuf,
    pub timeout: Option<Duration>,
}

/// Outcome of one attempt.
#[derive(Debug, Clone, PartialEq)]
pub enum TaskOutcome {
    Succeeded(TaskOutputs),
    /// The process ran and failed (non-zero exit, signal, or invalid outputs).
    Failed {
        message: String,
    },
    /// The process could not be started (missing command, bad placeholder).
    LaunchFailed {
        message: String,
    },
    TimedOut {
        after: Duration,
    },
    Canceled,
}

/// Runs container tasks. Implementations: local processes; Kubernetes pods later.
#[async_trait]
pub trait Executor: Send + Sync + 'static {
    async fn run(&self, launch: TaskLaunch, cancel: CancellationToken) -> TaskOutcome;

    /// Returns a note for the run log on how this executor treats `image`, such as "not pulled".
    fn image_note(&self, _image: &str) -> Option<String> {
        None
    }
}
