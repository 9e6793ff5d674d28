//! The scheduler of one DAG: starts each task once its dependencies have finished, applies
//! trigger strategies, and resolves the DAG's outputs when every task is done.
//!
//! The loop consumes one kind of event, a finished child, and every decision to start, skip
//! or block a task is made in [`DagRun::schedule`].

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::pin::Pin;

use tokio::task::JoinSet;
use weir_spec::{TaskSpec, TriggerStrategy};
use weir_store::{State, TaskKind};

use crate::node::{self, NodeSpec};
use crate::record::{Node, SharedCtx};
use crate::resolve::{self, NodeResult, Scope};

/// Outcome of a whole DAG.
#[derive(Debug, Clone)]
pub(crate) struct DagOutcome {
    pub result: NodeResult,
}

pub(crate) type BoxedDag = Pin<Box<dyn Future<Output = DagOutcome> + Send + 'static>>;

/// Runs the DAG of `component` (empty name: the root) with `scope` as its inputs.
pub(crate) fn run_dag(
    ctx: SharedCtx,
    component: String,
    scope: Scope,
    parent: Option<String>,
    path: String,
) -> BoxedDag {
    Box::pin(async move {
        let mut dag = DagRun {
            ctx,
            component,
            scope,
            parent,
            path,
            done: HashMap::new(),
            started: HashSet::new(),
            running: JoinSet::new(),
        };
        dag.run().await
    })
}

struct DagRun {
    ctx: SharedCtx,
    component: String,
    scope: Scope,
    parent: Option<String>,
    path: String,
    done: HashMap<String, NodeResult>,
    started: HashSet<String>,
    running: JoinSet<(String, NodeResult)>,
}

impl DagRun {
    async fn run(&mut self) -> DagOutcome {
        let Some(dag) = self.ctx.component(&self.component).and_then(|c| c.dag.clone()) else {
            let message = format!("component {:?} has no DAG", self.component);
            return DagOutcome { result: NodeResult::failed(message) };
        };

        loop {
            self.schedule(&dag.tasks).await;
            let Some(joined) = self.running.join_next().await else { break };
            match joined {
                Ok((key, result)) => {
                    self.done.insert(key, result);
                }
                Err(e) => {
                    // A node task panicked or was aborted; the DAG cannot know which one, so it
                    // fails as a whole once the others finish.
                    tracing::error!(run.id = %self.ctx.run_id, dag.path = %self.path, error = %e,
                        "Task runner stopped unexpectedly.");
                    self.done.insert(
                        format!("<lost-{}>", self.done.len()),
                        NodeResult::failed(format!("task runner stopped unexpectedly: {e}")),
                    );
                }
            }
        }

        let mut result = summarize(&self.done);
        if result.state == State::Succeeded {
            match resolve::resolve_dag_outputs(dag.outputs.as_ref(), &self.done) {
                Ok(outputs) => result.outputs = outputs,
                Err(message) => result = NodeResult::failed(message),
            }
        }
        DagOutcome { result }
    }

    /// Starts every task whose dependencies are done, or records why it does not run.
    async fn schedule(&mut self, tasks: &std::collections::BTreeMap<String, TaskSpec>) {
        // Loop until no task changes, because recording a blocked task may unblock nothing
        // but lets its own dependants be decided in the same pass.
        loop {
            let mut progressed = false;
            for (key, task) in tasks {
                if self.started.contains(key) {
                    continue;
                }
                if !task.dependent_tasks.iter().all(|d| self.done.contains_key(d)) {
                    continue;
                }
                self.started.insert(key.clone());
                progressed = true;

                let strategy = task.trigger_policy.as_ref().map(|p| p.strategy).unwrap_or_default();
                let blocker = task
                    .dependent_tasks
                    .iter()
                    .find(|d| self.done.get(*d).is_some_and(NodeResult::blocks_dependants));
                let canceled = self.ctx.cancel.is_cancelled();

                let skip = if canceled {
                    Some(NodeResult::canceled())
                } else if let (Some(upstream), false) =
                    (blocker, strategy == TriggerStrategy::AllUpstreamTasksCompleted)
                {
                    let mut result = NodeResult::skipped();
                    result.upstream_failed = true;
                    let what = match self.done.get(upstream).map(|r| r.state) {
                        Some(State::Failed) => "failed",
                        Some(State::Canceled) => "was canceled",
                        _ => "was not run",
                    };
                    result.error =
                        Some(format!("not run because upstream task {upstream:?} {what}"));
                    Some(result)
                } else {
                    None
                };

                if let Some(result) = skip {
                    let result = self.record_not_run(key, task, result).await;
                    self.done.insert(key.clone(), result);
                    continue;
                }

                let spec = NodeSpec {
                    key: key.clone(),
                    task: task.clone(),
                    parent: self.parent.clone(),
                    path: child_path(&self.path, key),
                };
                let ctx = self.ctx.clone();
                let scope = self.scope.clone();
                let siblings = self.sibling_results(task);
                self.running.spawn(async move {
                    let key = spec.key.clone();
                    let result = node::run_node(ctx, spec, scope, siblings).await;
                    (key, result)
                });
            }
            if !progressed {
                break;
            }
        }
    }

    /// Copies the results of the tasks `task` depends on, which is all it may read.
    fn sibling_results(&self, task: &TaskSpec) -> HashMap<String, NodeResult> {
        task.dependent_tasks
            .iter()
            .filter_map(|d| self.done.get(d).map(|r| (d.clone(), r.clone())))
            .collect()
    }

    async fn record_not_run(&self, key: &str, task: &TaskSpec, result: NodeResult) -> NodeResult {
        let kind = node::kind_of(&self.ctx, task);
        let node = Node::new(
            &self.ctx,
            self.parent.as_deref(),
            key,
            &task.task_info.name,
            child_path(&self.path, key),
            kind,
            &task.component_ref.name,
        );
        if let Some(reason) = &result.error {
            self.ctx.log.write(&format!("task {}: {reason}", node.record.path));
        }
        if kind != TaskKind::Dag || result.state != State::Skipped {
            tracing::debug!(run.id = %self.ctx.run_id, task.path = %node.record.path,
                state = %result.state, "Task not run.");
        }
        node.finish(&self.ctx, result).await
    }
}

pub(crate) fn child_path(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}/{key}")
    }
}

/// Summarizes a DAG: it fails when any task failed, is canceled when a task was canceled and
/// none failed, and succeeds otherwise.
fn summarize(done: &HashMap<String, NodeResult>) -> NodeResult {
    let mut failed: Vec<(&String, &NodeResult)> =
        done.iter().filter(|(_, r)| r.state == State::Failed).collect();
    if !failed.is_empty() {
        failed.sort_by(|a, b| a.0.cmp(b.0));
        let messages: Vec<String> = failed
            .iter()
            .map(|(key, r)| match &r.error {
                Some(e) => format!("task {key:?} failed: {e}"),
                None => format!("task {key:?} failed"),
            })
            .collect();
        return NodeResult::failed(messages.join("; "));
    }
    if done.values().any(|r| r.state == State::Canceled) {
        return NodeResult::canceled();
    }
    NodeResult::succeeded(Default::default())
}
