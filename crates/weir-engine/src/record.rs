//! The per-run context shared by every node of a run, and the helpers that write task
//! records to the store and announce them to watchers.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use tokio::sync::mpsc::UnboundedSender;
use tokio_util::sync::CancellationToken;
use weir_executor::TaskOutputs;
use weir_spec::{ComponentSpec, PipelineSpec};
use weir_store::{State, TaskKind, TaskRecord};

use crate::resolve::{NodeResult, Scope};
use crate::runlog::RunLog;
use crate::{Engine, TaskEvent};

/// Everything the nodes of one run share.
pub(crate) struct RunCtx {
    pub engine: Engine,
    pub run_id: String,
    pub run_name: String,
    pub created_at: DateTime<Utc>,
    pub spec: PipelineSpec,
    pub platform_spec: Option<Value>,
    /// Run-level cache switch combined with the engine's global one.
    pub caching: bool,
    pub cancel: CancellationToken,
    pub events: Option<UnboundedSender<TaskEvent>>,
    pub log: RunLog,
    /// Task records from earlier executions of this run (a retry or a resume), by path.
    pub previous: HashMap<String, TaskRecord>,
}

impl RunCtx {
    /// Looks up a component; the empty name is the pipeline's root.
    pub fn component(&self, name: &str) -> Option<&ComponentSpec> {
        if name.is_empty() {
            Some(&self.spec.root)
        } else {
            self.spec.components.get(name)
        }
    }

    /// Outputs of a task that succeeded in an earlier execution of this run.
    pub fn earlier_success(&self, path: &str) -> Option<(TaskRecord, TaskOutputs)> {
        let prior = self.previous.get(path).filter(|p| p.state == State::Succeeded)?;
        let outputs = serde_json::from_value(prior.outputs.clone()).ok()?;
        Some((prior.clone(), outputs))
    }

    pub fn resource_name(&self) -> String {
        format!("runs/{}", self.run_id)
    }
}

/// Builder for one task record; `save` writes it and sends a [`TaskEvent`].
pub(crate) struct Node {
    pub record: TaskRecord,
}

impl Node {
    pub fn new(
        ctx: &RunCtx,
        parent: Option<&str>,
        key: &str,
        display_name: &str,
        path: String,
        kind: TaskKind,
        component: &str,
    ) -> Self {
        let display = if display_name.is_empty() { key } else { display_name };
        // A task keeps its id across executions of the same run, so a retry or a resume
        // updates the task's record instead of adding a second one at the same path.
        let prior = ctx.previous.get(&path);
        let task_id = prior.map(|p| p.task_id.clone());
        let created_at = prior.map(|p| p.created_at).unwrap_or_else(Utc::now);
        Node {
            record: TaskRecord {
                task_id: task_id.unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
                run_id: ctx.run_id.clone(),
                parent_task_id: parent.map(str::to_string),
                name: key.to_string(),
                display_name: display.to_string(),
                path,
                kind,
                component: component.to_string(),
                iteration_index: None,
                state: State::Pending,
                attempts: 0,
                cached: false,
                inputs: json!({}),
                outputs: json!({}),
                error: None,
                cache_key: None,
                log_path: None,
                created_at,
                started_at: None,
                finished_at: None,
            },
        }
    }

    pub fn id(&self) -> &str {
        &self.record.task_id
    }

    pub fn set_inputs(&mut self, inputs: &Scope) {
        self.record.inputs = inputs.to_json();
    }

    /// Writes the record in `state` and announces it. A store failure is returned as text,
    /// because a node that cannot record its state must fail.
    pub async fn save(&mut self, ctx: &RunCtx, state: State) -> Result<(), String> {
        let now = Utc::now();
        self.record.state = state;
        if state == State::Running && self.record.started_at.is_none() {
            self.record.started_at = Some(now);
        }
        if state.is_final() {
            self.record.finished_at = Some(now);
        }
        ctx.engine.store.put_task(&self.record).await.map_err(|e| {
            tracing::error!(run.id = %ctx.run_id, task.path = %self.record.path, error = %e,
                "Failed to record task state.");
            format!("state store failed: {e}")
        })?;
        if let Some(events) = &ctx.events {
            let _ = events.send(TaskEvent {
                task_id: self.record.task_id.clone(),
                path: self.record.path.clone(),
                kind: self.record.kind,
                state,
                cached: self.record.cached,
            });
        }
        Ok(())
    }

    /// Records the final state of `result` and returns it (or a failure if the store fails).
    pub async fn finish(mut self, ctx: &RunCtx, result: NodeResult) -> NodeResult {
        self.record.outputs = outputs_json(&result.outputs);
        self.record.error = result.error.clone();
        match self.save(ctx, result.state).await {
            Ok(()) => result,
            Err(message) => NodeResult::failed(message),
        }
    }
}

pub(crate) fn outputs_json(outputs: &TaskOutputs) -> Value {
    serde_json::to_value(outputs).unwrap_or_else(|_| json!({}))
}

pub(crate) type SharedCtx = Arc<RunCtx>;
