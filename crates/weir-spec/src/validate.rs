//! Validator: checks every reference in a [`PipelineSpec`] and returns all problems at once.
//!
//! The checks cover:
//! - component references, executor labels, and exactly one implementation per component and
//!   executor;
//! - sibling task references (`dependentTasks`, `producerTask`, `producerSubtask`), inputs of the
//!   enclosing component, and output keys of producers;
//! - declared parameter types where a mismatch is certain, required inputs, iterator inputs and
//!   DAG output selectors;
//! - dependency cycles inside a DAG, components that contain themselves, and the CEL syntax of
//!   trigger conditions.
//!
//! Executors of unsupported kinds (resolver, customJob) pass here, because the engine rejects
//! them only when a task would run one.

mod cycles;
mod loop_items;
mod task;

use self::loop_items::LoopItemInputs;
use crate::error::Problem;
use crate::model::{ComponentSpec, DagSpec, ParameterType, PipelineSpec};
use crate::values::coerce;

/// Returns every problem found in `spec`; an empty list means the spec is valid.
pub fn validate(spec: &PipelineSpec) -> Vec<Problem> {
    let mut problems = Vec::new();

    if spec.pipeline_info.name.trim().is_empty() {
        problems.push(Problem::new("pipelineInfo.name", "the pipeline name is empty"));
    }
    if spec.root.dag.is_none() {
        problems.push(Problem::new(
            "root.dag",
            "the root component has no `dag`; a pipeline's root must be a DAG of tasks",
        ));
    }

    let loop_items = LoopItemInputs::find(spec);
    let root = Owner { name: None, path: "root".to_string(), component: &spec.root };
    check_component(spec, &loop_items, root, &mut problems);
    for (name, component) in &spec.components {
        let owner = Owner { name: Some(name), path: format!("components.{name}"), component };
        check_component(spec, &loop_items, owner, &mut problems);
    }
    check_executors(spec, &mut problems);
    cycles::check_component_cycles(spec, &mut problems);
    problems
}

/// A component with its name in `components` (`None` for the root) and its path in messages.
struct Owner<'a> {
    name: Option<&'a str>,
    path: String,
    component: &'a ComponentSpec,
}

fn check_component(
    spec: &PipelineSpec,
    loop_items: &LoopItemInputs,
    owner: Owner<'_>,
    problems: &mut Vec<Problem>,
) {
    let path = owner.path.as_str();
    let component = owner.component;
    match (&component.dag, &component.executor_label) {
        (Some(_), Some(label)) => problems.push(Problem::new(
            path,
            format!(
                "the component has both a `dag` and `executorLabel` '{label}'; it must have \
                 exactly one"
            ),
        )),
        (None, None) if path != "root" => problems.push(Problem::new(
            path,
            "the component has neither a `dag` nor an `executorLabel`; it must have exactly one",
        )),
        _ => {}
    }

    if let Some(label) = &component.executor_label {
        if !spec.deployment_spec.executors.contains_key(label) {
            problems.push(Problem::new(
                format!("{path}.executorLabel"),
                format!(
                    "executor '{label}' not found in deploymentSpec.executors (executors: {})",
                    list_names(spec.deployment_spec.executors.keys())
                ),
            ));
        }
    }

    for (name, parameter) in &component.input_definitions.parameters {
        let Some(default) = &parameter.default_value else { continue };
        if let Err(error) = coerce(default, parameter.parameter_type) {
            problems.push(Problem::new(
                format!("{path}.inputDefinitions.parameters.{name}.defaultValue"),
                format!("default of input '{name}' does not match its type: {error}"),
            ));
        }
    }

    if let Some(dag) = &component.dag {
        for (name, task) in &dag.tasks {
            let scope = task::DagScope { spec, path, name: owner.name, component, dag, loop_items };
            scope.check_task(name, task, problems);
        }
        check_dag_outputs(spec, path, component, dag, problems);
        cycles::check_task_cycles(path, dag, problems);
    }
}

/// Checks `dag.outputs` selectors and that every declared output of a DAG component has one.
fn check_dag_outputs(
    spec: &PipelineSpec,
    path: &str,
    component: &ComponentSpec,
    dag: &DagSpec,
    problems: &mut Vec<Problem>,
) {
    let outputs = dag.outputs.clone().unwrap_or_default();
    let outputs_path = format!("{path}.dag.outputs");

    for (name, output) in &outputs.parameters {
        let output_path = format!("{outputs_path}.parameters.{name}");
        let mut selectors = Vec::new();
        match (&output.value_from_parameter, &output.value_from_oneof) {
            (Some(selector), None) => {
                selectors.push((format!("{output_path}.valueFromParameter"), selector))
            }
            (None, Some(oneof)) => {
                if oneof.parameter_selectors.is_empty() {
                    problems.push(Problem::new(
                        format!("{output_path}.valueFromOneof"),
                        format!("output '{name}' has an empty list of parameter selectors"),
                    ));
                }
                for (index, selector) in oneof.parameter_selectors.iter().enumerate() {
                    let selector_path =
                        format!("{output_path}.valueFromOneof.parameterSelectors.{index}");
                    selectors.push((selector_path, selector));
                }
            }
            _ => problems.push(Problem::new(
                &output_path,
                format!(
                    "output '{name}' must set exactly one of `valueFromParameter` and \
                     `valueFromOneof`"
                ),
            )),
        }
        for (selector_path, selector) in selectors {
            let subtask = &selector.producer_subtask;
            let key = &selector.output_parameter_key;
            check_selector(spec, dag, &selector_path, subtask, key, false, problems);
        }
        if !component.output_definitions.parameters.contains_key(name) {
            problems.push(Problem::new(
                &output_path,
                format!("output parameter '{name}' is not declared in outputDefinitions"),
            ));
        }
    }

    for (name, output) in &outputs.artifacts {
        let output_path = format!("{outputs_path}.artifacts.{name}");
        if output.artifact_selectors.is_empty() {
            problems.push(Problem::new(
                format!("{output_path}.artifactSelectors"),
                format!("output '{name}' has an empty list of artifact selectors"),
            ));
        }
        for (index, selector) in output.artifact_selectors.iter().enumerate() {
            let selector_path = format!("{output_path}.artifactSelectors.{index}");
            let subtask = &selector.producer_subtask;
            let key = &selector.output_artifact_key;
            check_selector(spec, dag, &selector_path, subtask, key, true, problems);
        }
        if !component.output_definitions.artifacts.contains_key(name) {
            problems.push(Problem::new(
                &output_path,
                format!("output artifact '{name}' is not declared in outputDefinitions"),
            ));
        }
    }

    for name in component.output_definitions.parameters.keys() {
        if !outputs.parameters.contains_key(name) {
            problems.push(Problem::new(
                format!("{path}.outputDefinitions.parameters.{name}"),
                format!("output parameter '{name}' has no selector in dag.outputs.parameters"),
            ));
        }
    }
    for name in component.output_definitions.artifacts.keys() {
        if !outputs.artifacts.contains_key(name) {
            problems.push(Problem::new(
                format!("{path}.outputDefinitions.artifacts.{name}"),
                format!("output artifact '{name}' has no selector in dag.outputs.artifacts"),
            ));
        }
    }
}

/// Checks that `subtask` is a task of `dag` whose component declares output `key`.
fn check_selector(
    spec: &PipelineSpec,
    dag: &DagSpec,
    path: &str,
    subtask: &str,
    key: &str,
    artifact: bool,
    problems: &mut Vec<Problem>,
) {
    let Some(task) = dag.tasks.get(subtask) else {
        problems.push(Problem::new(
            format!("{path}.producerSubtask"),
            format!(
                "task '{subtask}' not found in this DAG (tasks: {})",
                list_names(dag.tasks.keys())
            ),
        ));
        return;
    };
    // A missing component is reported at the task itself.
    let Some(producer) = spec.components.get(&task.component_ref.name) else { return };
    let outputs = &producer.output_definitions;
    let (found, field, names) = if artifact {
        (
            outputs.artifacts.contains_key(key),
            "outputArtifactKey",
            list_names(outputs.artifacts.keys()),
        )
    } else {
        (
            outputs.parameters.contains_key(key),
            "outputParameterKey",
            list_names(outputs.parameters.keys()),
        )
    };
    if !found {
        let kind = if artifact { "artifact" } else { "parameter" };
        problems.push(Problem::new(
            format!("{path}.{field}"),
            format!(
                "output {kind} '{key}' not found in component '{}' of task '{subtask}' (outputs: \
                 {names})",
                task.component_ref.name
            ),
        ));
    }
}

fn check_executors(spec: &PipelineSpec, problems: &mut Vec<Problem>) {
    for (label, executor) in &spec.deployment_spec.executors {
        let path = format!("deploymentSpec.executors.{label}");
        let kinds = [
            executor.container.is_some(),
            executor.importer.is_some(),
            executor.resolver.is_some(),
            executor.custom_job.is_some(),
        ];
        let count = kinds.iter().filter(|set| **set).count();
        if count != 1 {
            problems.push(Problem::new(
                &path,
                format!(
                    "executor '{label}' sets {count} of container, importer, resolver and \
                     customJob; it must set exactly one"
                ),
            ));
        }
        if let Some(container) = &executor.container {
            if container.image.trim().is_empty() {
                problems.push(Problem::new(
                    format!("{path}.container.image"),
                    format!("executor '{label}' has an empty container image"),
                ));
            }
        }
        if let Some(importer) = &executor.importer {
            let uri = &importer.artifact_uri;
            if uri.constant.is_none() && uri.runtime_parameter.is_none() {
                problems.push(Problem::new(
                    format!("{path}.importer.artifactUri"),
                    format!("importer '{label}' sets neither `constant` nor `runtimeParameter`"),
                ));
            }
        }
    }
}

/// Formats names for a message: `a, b, c`, at most ten and then `and N more`, or `none`.
pub(crate) fn list_names<'a>(names: impl Iterator<Item = &'a String>) -> String {
    const SHOWN: usize = 10;
    let names: Vec<&String> = names.collect();
    if names.is_empty() {
        return "none".to_string();
    }
    let shown: Vec<&str> = names.iter().take(SHOWN).map(|name| name.as_str()).collect();
    let mut text = shown.join(", ");
    if names.len() > SHOWN {
        text.push_str(&format!(" and {} more", names.len() - SHOWN));
    }
    text
}

/// Parameter types whose values can never convert into each other, so a connection between them
/// is certainly wrong. Numbers convert both ways, and an unspecified type matches anything.
pub(crate) fn types_conflict(source: ParameterType, target: ParameterType) -> bool {
    use ParameterType::*;
    let family = |ty: ParameterType| match ty {
        Unspecified => None,
        NumberInteger | NumberDouble => Some(0),
        String => Some(1),
        Boolean => Some(2),
        List => Some(3),
        // A task final status is delivered as a struct.
        Struct | TaskFinalStatus => Some(4),
        TaskConfig => None,
    };
    matches!((family(source), family(target)), (Some(a), Some(b)) if a != b)
}
