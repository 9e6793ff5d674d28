//! Runs one task of a DAG: resolves its inputs, evaluates its condition, and dispatches to a
//! ParallelFor loop, a sub-DAG, an importer or a container.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use serde_json::Value;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use weir_executor::{RuntimeArtifact, TaskOutputs};
use weir_spec::{cel, ComponentSpec, TaskSpec};
use weir_store::{State, TaskKind};

use crate::dag::{child_path, run_dag};
use crate::record::{Node, SharedCtx};
use crate::resolve::{self, NodeResult, Scope, StatusContext};
use crate::{container, importer};

/// A task to run, with its place in the task tree.
pub(crate) struct NodeSpec {
    pub key: String,
    pub task: TaskSpec,
    pub parent: Option<String>,
    pub path: String,
}

/// Kind of record a task produces.
pub(crate) fn kind_of(ctx: &SharedCtx, task: &TaskSpec) -> TaskKind {
    if task.parameter_iterator.is_some() || task.artifact_iterator.is_some() {
        return TaskKind::Loop;
    }
    let Some(component) = ctx.component(&task.component_ref.name) else {
        return TaskKind::Container;
    };
    if component.dag.is_some() {
        return TaskKind::Dag;
    }
    let executor =
        component.executor_label.as_ref().and_then(|l| ctx.spec.deployment_spec.executors.get(l));
    match executor {
        Some(e) if e.importer.is_some() => TaskKind::Importer,
        _ => TaskKind::Container,
    }
}

pub(crate) async fn run_node(
    ctx: SharedCtx,
    spec: NodeSpec,
    scope: Scope,
    siblings: HashMap<String, NodeResult>,
) -> NodeResult {
    let kind = kind_of(&ctx, &spec.task);
    let mut node = Node::new(
        &ctx,
        spec.parent.as_deref(),
        &spec.key,
        &spec.task.task_info.name,
        spec.path.clone(),
        kind,
        &spec.task.component_ref.name,
    );

    if matches!(kind, TaskKind::Container | TaskKind::Importer) {
        if let Some((prior, outputs)) = ctx.earlier_success(&spec.path) {
            ctx.log.write(&format!(
                "task {} succeeded in an earlier execution of this run; its outputs are reused",
                spec.path
            ));
            node.record = prior;
            return NodeResult::succeeded(outputs);
        }
    }

    let Some(component) = ctx.component(&spec.task.component_ref.name).cloned() else {
        let message = format!("component {:?} is not defined", spec.task.component_ref.name);
        return node.finish(&ctx, NodeResult::failed(message)).await;
    };

    let item_inputs: Vec<&str> = [
        spec.task.parameter_iterator.as_ref().map(|i| i.item_input.as_str()),
        spec.task.artifact_iterator.as_ref().map(|i| i.item_input.as_str()),
    ]
    .into_iter()
    .flatten()
    .collect();
    let resource_name = ctx.resource_name();
    let status = StatusContext { run_resource_name: &resource_name };
    let inputs = match resolve::resolve_task_inputs(
        &spec.task,
        &component,
        &scope,
        &siblings,
        &status,
        &item_inputs,
    ) {
        Ok(inputs) => inputs,
        Err(message) => return node.finish(&ctx, NodeResult::failed(message)).await,
    };
    node.set_inputs(&inputs);

    if let Some(condition) = spec.task.trigger_policy.as_ref().and_then(|p| p.condition.as_deref())
    {
        let missing: Vec<String> = cel::referenced_parameters(condition)
            .into_iter()
            .filter(|name| !inputs.parameters.contains_key(name))
            .collect();
        if !missing.is_empty() {
            // A condition over a value that was never produced (its producer was skipped) is
            // false, as in kfp.local.
            tracing::debug!(run.id = %ctx.run_id, task.path = %spec.path, ?missing,
                "Condition reads inputs without values; task skipped.");
            return node.finish(&ctx, NodeResult::skipped()).await;
        }
        if !condition.trim().is_empty() {
            match cel::evaluate_condition(condition, &inputs.parameters) {
                Ok(true) => {}
                Ok(false) => {
                    tracing::debug!(run.id = %ctx.run_id, task.path = %spec.path,
                        "Condition is false; task skipped.");
                    ctx.log.write(&format!("task {} skipped: condition is false", spec.path));
                    return node.finish(&ctx, NodeResult::skipped()).await;
                }
                Err(e) => {
                    let message = format!("condition {condition:?} failed: {e}");
                    return node.finish(&ctx, NodeResult::failed(message)).await;
                }
            }
        }
    }

    match kind {
        TaskKind::Loop => run_loop(ctx, node, spec, component, inputs).await,
        TaskKind::Dag => {
            if let Err(message) = node.save(&ctx, State::Running).await {
                return NodeResult::failed(message);
            }
            let outcome = run_dag(
                ctx.clone(),
                spec.task.component_ref.name.clone(),
                inputs,
                Some(node.id().to_string()),
                spec.path.clone(),
            )
            .await;
            node.finish(&ctx, outcome.result).await
        }
        TaskKind::Importer => importer::run_importer(ctx, node, &component, inputs).await,
        TaskKind::Container | TaskKind::Iteration => {
            container::run_container(ctx, node, &spec, &component, inputs).await
        }
    }
}

/// Runs a ParallelFor: one body DAG per item, at most `parallelismLimit` at once, and gathers
/// the body's outputs into lists in item order.
async fn run_loop(
    ctx: SharedCtx,
    mut node: Node,
    spec: NodeSpec,
    body: ComponentSpec,
    inputs: Scope,
) -> NodeResult {
    let items = match loop_items(&spec.task, &inputs) {
        Ok(items) => items,
        Err(message) => return node.finish(&ctx, NodeResult::failed(message)).await,
    };
    if let Err(message) = node.save(&ctx, State::Running).await {
        return NodeResult::failed(message);
    }
    tracing::debug!(run.id = %ctx.run_id, task.path = %spec.path, items = items.len(),
        "Loop started.");
    ctx.log.write(&format!("loop {} started with {} iterations", spec.path, items.len()));

    let limit = spec.task.iterator_policy.as_ref().map(|p| p.parallelism_limit).unwrap_or(0);
    // Without a limit, keep a bounded window of iterations in flight, so a 10,000-item loop
    // does not keep 10,000 pending iterations in memory. The engine's task limiter bounds the
    // processes anyway.
    let window =
        if limit > 0 { limit as usize } else { ctx.engine.config.max_parallel_tasks.max(1) * 4 };
    let permits = Arc::new(Semaphore::new(window));
    // Each iteration gets only the loop inputs its body reads. The list being iterated is
    // usually among the loop's inputs, and copying it into every iteration would make a
    // loop's memory and store writes grow with the square of its length.
    let used = referenced_inputs(&body);
    let shared = Scope {
        parameters: inputs
            .parameters
            .iter()
            .filter(|(name, _)| used.contains(name.as_str()))
            .map(|(name, value)| (name.clone(), value.clone()))
            .collect(),
        artifacts: inputs
            .artifacts
            .iter()
            .filter(|(name, _)| used.contains(name.as_str()))
            .map(|(name, list)| (name.clone(), list.clone()))
            .collect(),
    };
    let loop_id = node.id().to_string();
    let count = items.len();
    let mut results: Vec<Option<NodeResult>> = vec![None; count];
    let mut running = JoinSet::new();

    for (index, item) in items.into_iter().enumerate() {
        let permit = tokio::select! {
            permit = permits.clone().acquire_owned() => permit,
            Some(joined) = running.join_next() => {
                store_iteration(&mut results, joined);
                permits.clone().acquire_owned().await
            }
        };
        let Ok(permit) = permit else { break };
        let mut scope = shared.clone();
        match (&spec.task.parameter_iterator, &spec.task.artifact_iterator, item) {
            (Some(iterator), _, LoopItem::Parameter(value)) => {
                scope.parameters.insert(iterator.item_input.clone(), value);
            }
            (_, Some(iterator), LoopItem::Artifact(artifact)) => {
                scope.artifacts.insert(iterator.item_input.clone(), vec![*artifact]);
            }
            _ => {}
        }
        let ctx = ctx.clone();
        let component = spec.task.component_ref.name.clone();
        let loop_id = loop_id.clone();
        let path = child_path(&spec.path, &format!("iteration-{index}"));
        running.spawn(async move {
            let result = run_iteration(ctx, component, scope, loop_id, path, index).await;
            drop(permit);
            (index, result)
        });
    }
    while let Some(joined) = running.join_next().await {
        store_iteration(&mut results, joined);
    }

    let results: Vec<NodeResult> = results
        .into_iter()
        .map(|r| r.unwrap_or_else(|| NodeResult::failed("iteration did not finish")))
        .collect();
    let failed: Vec<String> = results
        .iter()
        .enumerate()
        .filter(|(_, r)| r.state == State::Failed)
        .map(|(i, r)| format!("iteration {i}: {}", r.error.as_deref().unwrap_or("failed")))
        .collect();
    let result = if !failed.is_empty() {
        NodeResult::failed(failed.join("; "))
    } else if results.iter().any(|r| r.state == State::Canceled) {
        NodeResult::canceled()
    } else {
        let per_iteration: Vec<TaskOutputs> = results.into_iter().map(|r| r.outputs).collect();
        let mut outputs = resolve::gather_iterations(&per_iteration);
        // An empty loop still publishes its collected outputs, as empty lists.
        for name in body.output_definitions.parameters.keys() {
            outputs.parameters.entry(name.clone()).or_insert_with(|| Value::Array(Vec::new()));
        }
        for name in body.output_definitions.artifacts.keys() {
            outputs.artifacts.entry(name.clone()).or_default();
        }
        NodeResult::succeeded(outputs)
    };
    node.finish(&ctx, result).await
}

/// Names of the component inputs that some task of `body`'s DAG reads.
fn referenced_inputs(body: &ComponentSpec) -> HashSet<&str> {
    let mut used = HashSet::new();
    for task in body.dag.iter().flat_map(|dag| dag.tasks.values()) {
        for source in task.inputs.parameters.values() {
            if let Some(name) = &source.component_input_parameter {
                used.insert(name.as_str());
            }
        }
        for source in task.inputs.artifacts.values() {
            if let Some(name) = &source.component_input_artifact {
                used.insert(name.as_str());
            }
        }
    }
    used
}

fn store_iteration(
    results: &mut [Option<NodeResult>],
    joined: Result<(usize, NodeResult), tokio::task::JoinError>,
) {
    match joined {
        Ok((index, result)) => {
            if let Some(slot) = results.get_mut(index) {
                *slot = Some(result);
            }
        }
        Err(e) => tracing::error!(error = %e, "Loop iteration stopped unexpectedly."),
    }
}

async fn run_iteration(
    ctx: SharedCtx,
    component: String,
    scope: Scope,
    loop_id: String,
    path: String,
    index: usize,
) -> NodeResult {
    let key = format!("iteration-{index}");
    let mut node =
        Node::new(&ctx, Some(&loop_id), &key, &key, path.clone(), TaskKind::Iteration, &component);
    node.record.iteration_index = Some(index as i64);
    node.set_inputs(&scope);
    if ctx.cancel.is_cancelled() {
        return node.finish(&ctx, NodeResult::canceled()).await;
    }
    if let Err(message) = node.save(&ctx, State::Running).await {
        return NodeResult::failed(message);
    }
    let outcome = run_dag(ctx.clone(), component, scope, Some(node.id().to_string()), path).await;
    node.finish(&ctx, outcome.result).await
}

enum LoopItem {
    Parameter(Value),
    Artifact(Box<RuntimeArtifact>),
}

fn loop_items(task: &TaskSpec, inputs: &Scope) -> Result<Vec<LoopItem>, String> {
    if let Some(iterator) = &task.parameter_iterator {
        let list = if let Some(raw) = &iterator.items.raw {
            serde_json::from_str::<Value>(raw)
                .map_err(|e| format!("loop items {raw:?} are not valid JSON: {e}"))?
        } else if let Some(name) = &iterator.items.input_parameter {
            inputs
                .parameters
                .get(name)
                .cloned()
                .ok_or_else(|| format!("loop input {name:?} has no value"))?
        } else {
            return Err("parameter iterator names neither raw items nor an input".into());
        };
        let list = match list {
            Value::String(text) => serde_json::from_str::<Value>(&text)
                .map_err(|_| format!("loop items must be a list, got the string {text:?}"))?,
            other => other,
        };
        return match list {
            Value::Array(items) => Ok(items.into_iter().map(LoopItem::Parameter).collect()),
            other => Err(format!("loop items must be a list, got {other}")),
        };
    }
    if let Some(iterator) = &task.artifact_iterator {
        let name = &iterator.items.input_artifact;
        let list = inputs
            .artifacts
            .get(name)
            .ok_or_else(|| format!("loop input artifact {name:?} has no value"))?;
        return Ok(list.iter().cloned().map(|a| LoopItem::Artifact(Box::new(a))).collect());
    }
    Err("task has no iterator".into())
}
