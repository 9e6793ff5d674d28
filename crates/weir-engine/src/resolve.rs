//! Resolves a task's inputs from its enclosing DAG's inputs, its siblings' outputs and
//! constants, and resolves a DAG's outputs from its subtasks.

use std::collections::{BTreeMap, HashMap};

use serde_json::{json, Value};
use weir_executor::{RuntimeArtifact, TaskOutputs};
use weir_spec::{cel, values, ComponentSpec, DagOutputs, ParameterType, TaskSpec};
use weir_store::State;

use crate::bind::BoundInputs;

/// Resolved inputs of a task, or the inputs a DAG passes to its subtasks.
pub(crate) type Scope = BoundInputs;

/// Final result of one node of the task tree, as its siblings see it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct NodeResult {
    pub state: State,
    pub outputs: TaskOutputs,
    pub error: Option<String>,
    /// Set when the node did not run because an upstream task failed.
    pub upstream_failed: bool,
}

impl NodeResult {
    pub fn succeeded(outputs: TaskOutputs) -> Self {
        NodeResult { state: State::Succeeded, outputs, error: None, upstream_failed: false }
    }

    pub fn failed(error: impl Into<String>) -> Self {
        NodeResult {
            state: State::Failed,
            outputs: TaskOutputs::default(),
            error: Some(error.into()),
            upstream_failed: false,
        }
    }

    pub fn skipped() -> Self {
        NodeResult {
            state: State::Skipped,
            outputs: TaskOutputs::default(),
            error: None,
            upstream_failed: false,
        }
    }

    pub fn canceled() -> Self {
        NodeResult {
            state: State::Canceled,
            outputs: TaskOutputs::default(),
            error: Some("run was canceled".into()),
            upstream_failed: false,
        }
    }

    /// Whether dependants with the default trigger strategy must not run.
    pub fn blocks_dependants(&self) -> bool {
        self.upstream_failed || matches!(self.state, State::Failed | State::Canceled)
    }
}

/// Context a task's `taskFinalStatus` input needs.
pub(crate) struct StatusContext<'a> {
    pub run_resource_name: &'a str,
}

/// Resolves every input of `task`. `item_inputs` names inputs an iteration supplies later (loop
/// items), which are not required here.
pub(crate) fn resolve_task_inputs(
    task: &TaskSpec,
    component: &ComponentSpec,
    scope: &Scope,
    siblings: &HashMap<String, NodeResult>,
    status: &StatusContext<'_>,
    item_inputs: &[&str],
) -> Result<Scope, String> {
    let mut resolved = Scope::default();
    let is_container = component.dag.is_none();

    for (name, source) in &task.inputs.parameters {
        let value = if let Some(parent_input) = &source.component_input_parameter {
            scope.parameters.get(parent_input).cloned()
        } else if let Some(output) = &source.task_output_parameter {
            siblings
                .get(&output.producer_task)
                .and_then(|r| r.outputs.parameters.get(&output.output_parameter_key))
                .cloned()
        } else if let Some(runtime) = &source.runtime_value {
            constant_value(runtime.constant.as_ref(), runtime.constant_value.as_ref())
        } else if let Some(final_status) = &source.task_final_status {
            let producer = &final_status.producer_task;
            let result = siblings.get(producer).ok_or_else(|| {
                format!(
                    "input {name:?} needs the final status of task {producer:?}, which has not run"
                )
            })?;
            Some(final_status_value(producer, result, status))
        } else {
            None
        };

        let value = match (value, &source.parameter_expression_selector) {
            (Some(value), Some(selector)) => Some(
                cel::evaluate_selector(selector, &value)
                    .map_err(|e| format!("input {name:?}: selector {selector:?} failed: {e}"))?,
            ),
            (value, _) => value,
        };
        if let Some(value) = value.filter(|v| !v.is_null()) {
            resolved.parameters.insert(name.clone(), value);
        }
    }

    for (name, source) in &task.inputs.artifacts {
        let list = if let Some(parent_input) = &source.component_input_artifact {
            scope.artifacts.get(parent_input).cloned()
        } else if let Some(output) = &source.task_output_artifact {
            siblings
                .get(&output.producer_task)
                .and_then(|r| r.outputs.artifacts.get(&output.output_artifact_key))
                .cloned()
        } else {
            None
        };
        if let Some(list) = list {
            resolved.artifacts.insert(name.clone(), list);
        }
    }

    apply_definitions(component, &mut resolved, is_container, item_inputs)?;
    Ok(resolved)
}

/// Applies defaults and declared types, and checks required inputs of container components.
fn apply_definitions(
    component: &ComponentSpec,
    resolved: &mut Scope,
    strict: bool,
    item_inputs: &[&str],
) -> Result<(), String> {
    let mut problems = Vec::new();
    for (name, definition) in &component.input_definitions.parameters {
        let ty = definition.parameter_type;
        match resolved.parameters.get(name) {
            Some(value) if ty != ParameterType::Unspecified => match values::coerce(value, ty) {
                Ok(converted) => {
                    resolved.parameters.insert(name.clone(), converted);
                }
                Err(e) if strict => problems.push(format!("input {name:?}: {e}")),
                Err(_) => {}
            },
            Some(_) => {}
            None => {
                if let Some(default) = &definition.default_value {
                    let value = values::coerce(default, ty).unwrap_or_else(|_| default.clone());
                    resolved.parameters.insert(name.clone(), value);
                } else if strict
                    && !definition.is_optional
                    && !item_inputs.contains(&name.as_str())
                    && !matches!(ty, ParameterType::TaskFinalStatus | ParameterType::TaskConfig)
                {
                    problems.push(format!(
                        "required input parameter {name:?} ({}) has no value",
                        ty.as_str()
                    ));
                }
            }
        }
    }
    for (name, definition) in &component.input_definitions.artifacts {
        if strict
            && !definition.is_optional
            && !resolved.artifacts.contains_key(name)
            && !item_inputs.contains(&name.as_str())
        {
            problems.push(format!("required input artifact {name:?} has no value"));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}

fn constant_value(constant: Option<&Value>, legacy: Option<&Value>) -> Option<Value> {
    if let Some(value) = constant {
        return Some(value.clone());
    }
    // Old SDKs wrote `constantValue: {stringValue|intValue|doubleValue: ...}`.
    let legacy = legacy?.as_object()?;
    if let Some(text) = legacy.get("stringValue").or_else(|| legacy.get("string_value")) {
        return Some(text.clone());
    }
    if let Some(number) = legacy.get("intValue").or_else(|| legacy.get("int_value")) {
        return match number {
            Value::String(text) => text.parse::<i64>().ok().map(Value::from),
            other => Some(other.clone()),
        };
    }
    legacy.get("doubleValue").or_else(|| legacy.get("double_value")).cloned()
}

/// Builds the `PipelineTaskFinalStatus` struct an exit task receives.
fn final_status_value(producer: &str, result: &NodeResult, status: &StatusContext<'_>) -> Value {
    let error = match (&result.error, result.state) {
        (_, State::Succeeded) | (_, State::Skipped) => json!({}),
        (Some(message), _) => json!({"code": 1, "message": message}),
        (None, state) => json!({"code": 1, "message": format!("Task {producer} ended {state}.")}),
    };
    json!({
        "state": result.state.as_str(),
        "pipeline_job_resource_name": status.run_resource_name,
        "pipeline_task_name": producer,
        "error": error,
    })
}

/// Resolves a DAG's declared outputs from its finished subtasks. Outputs whose producers
/// did not run are left out.
pub(crate) fn resolve_dag_outputs(
    outputs: Option<&DagOutputs>,
    children: &HashMap<String, NodeResult>,
) -> Result<TaskOutputs, String> {
    let mut resolved = TaskOutputs::default();
    let Some(outputs) = outputs else {
        return Ok(resolved);
    };

    for (name, source) in &outputs.parameters {
        if let Some(selector) = &source.value_from_parameter {
            let value = children
                .get(&selector.producer_subtask)
                .and_then(|r| r.outputs.parameters.get(&selector.output_parameter_key));
            if let Some(value) = value {
                resolved.parameters.insert(name.clone(), value.clone());
            }
        } else if let Some(oneof) = &source.value_from_oneof {
            let candidates: Vec<&Value> = oneof
                .parameter_selectors
                .iter()
                .filter_map(|s| {
                    let child = children.get(&s.producer_subtask)?;
                    (child.state == State::Succeeded)
                        .then(|| child.outputs.parameters.get(&s.output_parameter_key))
                        .flatten()
                })
                .collect();
            match candidates.as_slice() {
                [value] => {
                    resolved.parameters.insert(name.clone(), (*value).clone());
                }
                [] => {}
                many => {
                    return Err(format!(
                        "OneOf output {name:?} has {} values; exactly one branch must run",
                        many.len()
                    ))
                }
            }
        }
    }

    for (name, source) in &outputs.artifacts {
        let mut found: Option<&Vec<RuntimeArtifact>> = None;
        for selector in &source.artifact_selectors {
            let Some(child) = children.get(&selector.producer_subtask) else { continue };
            if child.state != State::Succeeded {
                continue;
            }
            if let Some(list) = child.outputs.artifacts.get(&selector.output_artifact_key) {
                if found.is_some() {
                    return Err(format!(
                        "OneOf output artifact {name:?} has several values; exactly one branch \
                         must run"
                    ));
                }
                found = Some(list);
            }
        }
        if let Some(list) = found {
            resolved.artifacts.insert(name.clone(), list.clone());
        }
    }
    Ok(resolved)
}

/// Collects per-iteration outputs of a loop body into lists, in iteration order.
pub(crate) fn gather_iterations(iterations: &[TaskOutputs]) -> TaskOutputs {
    let mut parameters: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    let mut artifacts: BTreeMap<String, Vec<RuntimeArtifact>> = BTreeMap::new();
    for outputs in iterations {
        for (name, value) in &outputs.parameters {
            parameters.entry(name.clone()).or_default().push(value.clone());
        }
        for (name, list) in &outputs.artifacts {
            artifacts.entry(name.clone()).or_default().extend(list.iter().cloned());
        }
    }
    TaskOutputs {
        parameters: parameters.into_iter().map(|(k, v)| (k, Value::Array(v))).collect(),
        artifacts,
    }
}
