//! Locates shape errors (a list where a mapping belongs, an unknown enum name) in an untyped
//! spec. serde rejects a document as a whole, so this module deserializes the parts one by one
//! and returns one [`Problem`] per broken part, at the path of the smallest part that fails.

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::Problem;
use crate::model::{
    ArtifactSpec, ComponentSpec, DagOutputs, DeploymentSpec, ExecutorSpec, ParameterSpec,
    PipelineInfo, TaskSpec,
};

/// Returns one problem per part of `spec` that does not match the model.
pub(super) fn shape_problems(spec: &Value) -> Vec<Problem> {
    let mut problems = Vec::new();
    let field = |camel: &str, snake: &str| spec.get(camel).or_else(|| spec.get(snake));

    if let Some(info) = field("pipelineInfo", "pipeline_info") {
        check_shape::<PipelineInfo>(info, "pipelineInfo", &mut problems);
    }
    if let Some(root) = spec.get("root") {
        component_shape_problems(root, "root", &mut problems);
    }
    if let Some(components) = spec.get("components") {
        match components.as_object() {
            Some(components) => {
                for (name, component) in components {
                    let path = format!("components.{name}");
                    component_shape_problems(component, &path, &mut problems);
                }
            }
            None => problems.push(Problem::new("components", expected_mapping(components))),
        }
    }
    if let Some(deployment) = field("deploymentSpec", "deployment_spec") {
        match deployment.get("executors") {
            Some(Value::Object(executors)) => {
                for (label, executor) in executors {
                    let path = format!("deploymentSpec.executors.{label}");
                    check_shape::<ExecutorSpec>(executor, &path, &mut problems);
                }
            }
            Some(executors) => {
                let message = expected_mapping(executors);
                problems.push(Problem::new("deploymentSpec.executors", message));
            }
            None => check_shape::<DeploymentSpec>(deployment, "deploymentSpec", &mut problems),
        }
    }
    if let Some(version) = field("schemaVersion", "schema_version") {
        if !version.is_string() {
            let message = format!("expected text such as \"2.1.0\", found {version}");
            problems.push(Problem::new("schemaVersion", message));
        }
    }
    problems
}

/// Checks the parts of one component: definitions entry by entry, then tasks, then DAG outputs,
/// and the component as a whole only when no part failed.
fn component_shape_problems(component: &Value, path: &str, problems: &mut Vec<Problem>) {
    let before = problems.len();
    for (camel, snake) in
        [("inputDefinitions", "input_definitions"), ("outputDefinitions", "output_definitions")]
    {
        let Some(definitions) = component.get(camel).or_else(|| component.get(snake)) else {
            continue;
        };
        let definitions_path = format!("{path}.{camel}");
        entry_problems::<ParameterSpec>(definitions, &definitions_path, "parameters", problems);
        entry_problems::<ArtifactSpec>(definitions, &definitions_path, "artifacts", problems);
    }

    if let Some(dag) = component.get("dag") {
        entry_problems::<TaskSpec>(dag, &format!("{path}.dag"), "tasks", problems);
        if let Some(outputs) = dag.get("outputs") {
            check_shape::<DagOutputs>(outputs, &format!("{path}.dag.outputs"), problems);
        }
    }
    if problems.len() == before {
        check_shape::<ComponentSpec>(component, path, problems);
    }
}

/// Checks each entry of the map `parent[key]` as a `T`, reporting at `path.key.NAME`.
fn entry_problems<T: DeserializeOwned>(
    parent: &Value,
    path: &str,
    key: &str,
    problems: &mut Vec<Problem>,
) {
    match parent.get(key) {
        Some(Value::Object(entries)) => {
            for (name, entry) in entries {
                check_shape::<T>(entry, &format!("{path}.{key}.{name}"), problems);
            }
        }
        Some(Value::Null) | None => {}
        Some(other) => {
            problems.push(Problem::new(format!("{path}.{key}"), expected_mapping(other)))
        }
    }
}

fn check_shape<T: DeserializeOwned>(value: &Value, path: &str, problems: &mut Vec<Problem>) {
    if let Err(error) = T::deserialize(value) {
        problems.push(Problem::new(path, error.to_string()));
    }
}

fn expected_mapping(value: &Value) -> String {
    format!("expected a mapping, found {}", kind_of(value))
}

/// Names the kind of a JSON value for messages (`a list`, `a mapping`, ...).
pub(super) fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}
