//! Starting and finishing runs: [`Engine::submit`] stores a checked run, [`Engine::execute`]
//! runs it to a final state and watches the store for cancel requests.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::Utc;
use serde_json::{json, Value};
use tokio::sync::mpsc::UnboundedSender;
use tokio_util::sync::CancellationToken;
use weir_spec::{Pipeline, PipelineSpec};
use weir_store::{NewRun, RunRecord, State, TaskRecord};

use crate::bind::{bind_arguments, BoundInputs};
use crate::dag::run_dag;
use crate::record::RunCtx;
use crate::runlog::RunLog;
use crate::{Engine, EngineError, RunRequest, TaskEvent};

impl Engine {
    /// Checks the request and stores a new run in state `PENDING`.
    pub async fn submit(&self, request: RunRequest) -> Result<RunRecord, EngineError> {
        let spec = &request.pipeline.spec;
        check_executors(spec)?;
        let bound =
            bind_arguments(spec, &request.arguments).map_err(EngineError::InvalidArguments)?;

        let run_id = uuid::Uuid::new_v4().to_string();
        let name = request.name.clone().unwrap_or_else(|| {
            // The id prefix keeps names of runs started in the same second apart.
            let short_id = &run_id[..8];
            format!("{}-{}-{short_id}", spec.pipeline_info.name, Utc::now().format("%Y%m%d-%H%M%S"))
        });
        let pipeline_root = self.artifacts.run_root(&run_id).display().to_string();
        let new_run = NewRun {
            run_id: run_id.clone(),
            name,
            description: request.description.clone(),
            pipeline_name: spec.pipeline_info.name.clone(),
            pipeline_spec: pipeline_json(&request.pipeline),
            parameters: bound.to_json(),
            pipeline_root,
            experiment_id: request.experiment_id.clone(),
            pipeline_version_id: request.pipeline_version_id.clone(),
            recurring_run_id: request.recurring_run_id.clone(),
            scheduled_at: request.scheduled_at,
            enable_caching: request.enable_caching,
        };
        let run = self.store.create_run(&new_run).await?;
        tracing::info!(run.id = %run.run_id, run.name = %run.name, pipeline = %run.pipeline_name,
            "Run created.");
        Ok(run)
    }

    /// Runs a stored run to its final state. Cancel it with `cancel`, or from another process
    /// by setting the run's state to `CANCELING` in the store.
    pub async fn execute(
        &self,
        run_id: &str,
        cancel: CancellationToken,
        events: Option<UnboundedSender<TaskEvent>>,
    ) -> Result<RunRecord, EngineError> {
        let run = self.store.get_run(run_id).await?;
        if matches!(run.state, State::Canceled | State::Canceling) {
            // Canceled before it started, or while this process was down. A retry sets the
            // state back to PENDING first.
            tracing::info!(run.id = %run_id, "Run was canceled before it started; not running it.");
            if run.state == State::Canceling {
                self.store.set_run_state(run_id, State::Canceled, Some("run was canceled")).await?;
            }
            return Ok(self.store.get_run(run_id).await?);
        }
        let pipeline = pipeline_from_json(&run.pipeline_spec)
            .map_err(|message| EngineError::CorruptRun { run_id: run_id.to_string(), message })?;
        let scope = BoundInputs::from_json(&run.parameters)
            .map_err(|message| EngineError::CorruptRun { run_id: run_id.to_string(), message })?;
        if let Some(root) = &pipeline.spec.default_pipeline_root {
            tracing::info!(run.id = %run_id, pipeline_root = %root,
                "The spec's pipeline root is not used; artifacts are stored locally.");
        }

        let previous: HashMap<String, TaskRecord> = self
            .store
            .list_tasks(run_id)
            .await?
            .into_iter()
            .map(|task| (task.path.clone(), task))
            .collect();
        if !previous.is_empty() {
            tracing::info!(run.id = %run_id, tasks = previous.len(),
                "Run executed again; tasks that succeeded before are not run again.");
        }
        self.store.set_run_state(run_id, State::Running, None).await?;
        if has_workspace(pipeline.platform_spec.as_ref()) {
            let workspace = self.artifacts.run_root(run_id).join("workspace");
            if let Err(e) = std::fs::create_dir_all(&workspace) {
                tracing::warn!(run.id = %run_id, path = %workspace.display(), error = %e,
                    "Failed to create the run's workspace folder.");
            }
        }
        tracing::info!(run.id = %run_id, run.name = %run.name, "Run started.");

        let ctx = Arc::new(RunCtx {
            engine: self.clone(),
            run_id: run.run_id.clone(),
            run_name: run.name.clone(),
            created_at: run.created_at,
            spec: pipeline.spec,
            platform_spec: pipeline.platform_spec,
            caching: self.config.caching && run.enable_caching,
            cancel: cancel.clone(),
            events,
            log: RunLog::open(&self.run_log_path(&run.run_id)),
            previous,
        });
        ctx.log.write(&format!("run {} started ({})", run.name, run.run_id));
        let watcher =
            tokio::spawn(watch_cancel_requests(self.clone(), run.run_id.clone(), cancel.clone()));

        let log_ctx = ctx.clone();
        let outcome = run_dag(ctx, String::new(), scope, None, String::new()).await;
        watcher.abort();

        let result = outcome.result;
        let state = if cancel.is_cancelled() { State::Canceled } else { result.state };
        let outputs = crate::record::outputs_json(&result.outputs);
        self.store.set_run_outputs(run_id, &outputs).await?;
        let error = match state {
            State::Succeeded => None,
            State::Canceled => Some("run was canceled".to_string()),
            _ => result.error.clone(),
        };
        self.store.set_run_state(run_id, state, error.as_deref()).await?;
        match &error {
            Some(error) => log_ctx.log.write(&format!("run {state}: {error}")),
            None => log_ctx.log.write(&format!("run {state}")),
        }
        drop(log_ctx);
        match state {
            State::Succeeded => tracing::info!(run.id = %run_id, "Run succeeded."),
            State::Canceled => tracing::info!(run.id = %run_id, "Run canceled."),
            _ => tracing::info!(run.id = %run_id, state = %state,
                error = error.as_deref().unwrap_or(""), "Run did not succeed."),
        }
        Ok(self.store.get_run(run_id).await?)
    }

    /// Asks a run to stop: marks it `CANCELING`; the process running it notices and stops its
    /// tasks. A run that has not started is canceled at once.
    pub async fn request_cancel(&self, run_id: &str) -> Result<RunRecord, EngineError> {
        let run = self.store.get_run(run_id).await?;
        match run.state {
            State::Pending => {
                self.store.set_run_state(run_id, State::Canceled, Some("run was canceled")).await?
            }
            State::Running => self.store.set_run_state(run_id, State::Canceling, None).await?,
            _ => {}
        }
        Ok(self.store.get_run(run_id).await?)
    }
}

async fn watch_cancel_requests(engine: Engine, run_id: String, cancel: CancellationToken) {
    let mut interval = tokio::time::interval(engine.config.cancel_poll_interval);
    loop {
        tokio::select! {
            _ = cancel.cancelled() => break,
            _ = interval.tick() => {}
        }
        match engine.store.get_run(&run_id).await {
            Ok(run) if run.state == State::Canceling => {
                tracing::info!(run.id = %run_id, "Cancel requested; stopping tasks.");
                cancel.cancel();
                break;
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(run.id = %run_id, error = %e,
                "Failed to check the run for a cancel request."),
        }
    }
    if cancel.is_cancelled() {
        if let Ok(run) = engine.store.get_run(&run_id).await {
            if run.state == State::Running {
                let _ = engine.store.set_run_state(&run_id, State::Canceling, None).await;
            }
        }
    }
}

/// Returns whether the platform spec requests a pipeline workspace (`pipelineConfig.workspace`).
fn has_workspace(platform_spec: Option<&Value>) -> bool {
    platform_spec
        .and_then(|p| p.pointer("/platforms/kubernetes/pipelineConfig/workspace"))
        .is_some_and(|w| !w.is_null())
}

fn check_executors(spec: &PipelineSpec) -> Result<(), EngineError> {
    let unsupported: Vec<&str> = spec
        .deployment_spec
        .executors
        .iter()
        .filter(|(_, e)| e.container.is_none() && e.importer.is_none())
        .map(|(label, _)| label.as_str())
        .collect();
    if unsupported.is_empty() {
        return Ok(());
    }
    Err(EngineError::Unsupported(format!(
        "executors {} are resolvers or custom jobs; Weir runs container and importer executors only",
        unsupported.join(", ")
    )))
}

fn pipeline_json(pipeline: &Pipeline) -> Value {
    json!({"pipelineSpec": pipeline.spec, "platformSpec": pipeline.platform_spec})
}

fn pipeline_from_json(value: &Value) -> Result<Pipeline, String> {
    let spec = value.get("pipelineSpec").ok_or("missing pipelineSpec")?;
    let spec: PipelineSpec = serde_json::from_value(spec.clone()).map_err(|e| e.to_string())?;
    let platform_spec = value.get("platformSpec").filter(|v| !v.is_null()).cloned();
    Ok(Pipeline { spec, platform_spec })
}
