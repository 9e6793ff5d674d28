//! Runs compiled KFP pipelines.
//!
//! [`Engine::submit`] checks a pipeline's run arguments and stores a new run;
//! [`Engine::execute`] walks the pipeline's DAGs, resolves every task's inputs, evaluates
//! conditions, expands loops, and hands container tasks to an [`Executor`]. Every task state
//! change is written to the [`Store`] before the engine acts on it.
//!
//! The engine uses no HTTP and starts no processes itself, because executors do that.

mod bind;
mod cache;
mod container;
mod dag;
mod importer;
mod node;
mod record;
mod resolve;
mod run;
mod runlog;
pub mod tracking_env;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;
use weir_artifacts::LocalArtifactStore;
use weir_executor::Executor;
use weir_spec::Pipeline;
use weir_store::{State, Store, StoreError, TaskKind};

/// Settings that apply to every run an engine executes.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Global cache switch; when false no task reuses earlier outputs.
    pub caching: bool,
    /// Maximum container tasks running at once over all runs of this engine.
    pub max_parallel_tasks: usize,
    /// Timeout for tasks whose spec sets none.
    pub default_task_timeout: Option<Duration>,
    /// Interval at which a running run checks the store for a cancel request.
    pub cancel_poll_interval: Duration,
    /// MLflow tracking server given to every task as `MLFLOW_TRACKING_URI`, with tags that
    /// name the run and task in `MLFLOW_RUN_CONTEXT` ([`tracking_env`]). `None` sets neither.
    pub tracking_uri: Option<String>,
    /// Whether `tracking_uri` is a Weir tracking server, which reads the task token
    /// (`MLFLOW_TRACKING_TOKEN`) that [`tracking_env`] then adds.
    pub tracking_is_weir: bool,
}

impl Default for EngineConfig {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
        EngineConfig {
            caching: true,
            max_parallel_tasks: cores * 4,
            default_task_timeout: None,
            cancel_poll_interval: Duration::from_millis(500),
            tracking_uri: None,
            tracking_is_weir: false,
        }
    }
}

/// A request to run a pipeline.
#[derive(Debug, Clone)]
pub struct RunRequest {
    pub pipeline: Pipeline,
    /// Run arguments by root input name; checked and converted by [`Engine::submit`].
    pub arguments: BTreeMap<String, Value>,
    /// Run name; defaults to `<pipeline name>-<UTC timestamp>-<first 8 characters of the id>`.
    pub name: Option<String>,
    /// Per-run cache switch (the global and per-task switches also apply).
    pub enable_caching: bool,
    pub experiment_id: Option<String>,
    pub pipeline_version_id: Option<String>,
    pub description: String,
    /// The recurring run whose schedule starts this run.
    pub recurring_run_id: Option<String>,
    /// When the recurring run's schedule fired for this run.
    pub scheduled_at: Option<DateTime<Utc>>,
}

impl RunRequest {
    pub fn new(pipeline: Pipeline) -> Self {
        RunRequest {
            pipeline,
            arguments: BTreeMap::new(),
            name: None,
            enable_caching: true,
            experiment_id: None,
            pipeline_version_id: None,
            description: String::new(),
            recurring_run_id: None,
            scheduled_at: None,
        }
    }
}

/// A task state change, sent to the watchers of a run (the progress display, later the UI).
#[derive(Debug, Clone, PartialEq)]
pub struct TaskEvent {
    pub task_id: String,
    pub path: String,
    pub kind: TaskKind,
    pub state: State,
    pub cached: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("{0}")]
    InvalidArguments(String),
    #[error("pipeline cannot run: {0}")]
    Unsupported(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("stored pipeline spec of run {run_id} is unreadable: {message}")]
    CorruptRun { run_id: String, message: String },
}

/// Runs pipelines against one store, executor and artifact store.
#[derive(Clone)]
pub struct Engine {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) executor: Arc<dyn Executor>,
    pub(crate) artifacts: LocalArtifactStore,
    pub(crate) config: EngineConfig,
    pub(crate) limiter: Arc<tokio::sync::Semaphore>,
}

impl Engine {
    pub fn new(
        store: Arc<dyn Store>,
        executor: Arc<dyn Executor>,
        artifacts: LocalArtifactStore,
        config: EngineConfig,
    ) -> Self {
        let limiter = Arc::new(tokio::sync::Semaphore::new(config.max_parallel_tasks.max(1)));
        Engine { store, executor, artifacts, config, limiter }
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub fn artifacts(&self) -> &LocalArtifactStore {
        &self.artifacts
    }

    pub fn run_log_path(&self, run_id: &str) -> std::path::PathBuf {
        run_log_path(&self.artifacts, run_id)
    }
}

/// Path of a run's log of events (task starts and ends, retries, executor notes).
pub fn run_log_path(artifacts: &LocalArtifactStore, run_id: &str) -> std::path::PathBuf {
    artifacts.run_root(run_id).join(".logs").join(runlog::RUN_LOG_FILE)
}
