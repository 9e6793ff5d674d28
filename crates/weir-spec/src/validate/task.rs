//! Checks of one task inside a DAG: its component, dependencies, input sources, types,
//! iterators, trigger condition and retry policy.

use serde_json::Value;

use super::loop_items::{item_type, LoopItemInputs};
use super::{list_names, types_conflict};
use crate::cel::{check_syntax, referenced_parameters};
use crate::error::Problem;
use crate::model::{
    ComponentSpec, DagSpec, ParameterType, PipelineSpec, TaskInputArtifact, TaskInputParameter,
    TaskSpec,
};
use crate::values::{coerce, parse_duration};

/// The DAG a task belongs to: where its references are resolved.
pub(super) struct DagScope<'a> {
    pub spec: &'a PipelineSpec,
    /// Path of the component owning the DAG (`root` or `components.NAME`).
    pub path: &'a str,
    /// Name of the component owning the DAG in `components`, `None` for the root.
    pub name: Option<&'a str>,
    /// The component owning the DAG, whose inputs `componentInput*` refer to.
    pub component: &'a ComponentSpec,
    pub dag: &'a DagSpec,
    pub loop_items: &'a LoopItemInputs,
}

impl DagScope<'_> {
    pub fn check_task(&self, name: &str, task: &TaskSpec, problems: &mut Vec<Problem>) {
        let path = format!("{}.dag.tasks.{name}", self.path);
        let component_name = &task.component_ref.name;
        let callee = self.spec.components.get(component_name);
        if callee.is_none() {
            problems.push(Problem::new(
                format!("{path}.componentRef.name"),
                format!(
                    "component '{component_name}' not found in components (components: {})",
                    list_names(self.spec.components.keys())
                ),
            ));
        }

        for dependency in &task.dependent_tasks {
            self.check_sibling(&path, name, "dependentTasks", dependency, problems);
        }
        for (key, input) in &task.inputs.parameters {
            let target = callee.and_then(|c| c.input_definitions.parameters.get(key));
            let target = target.map(|p| p.parameter_type).unwrap_or_default();
            let input_path = format!("{path}.inputs.parameters.{key}");
            self.check_parameter_input(&input_path, name, key, input, target, problems);
        }
        for (key, input) in &task.inputs.artifacts {
            let input_path = format!("{path}.inputs.artifacts.{key}");
            self.check_artifact_input(&input_path, name, key, input, problems);
        }
        if let Some(callee) = callee {
            check_required_inputs(&path, task, callee, problems);
        }
        check_iterators(&path, task, callee, problems);
        check_policies(&path, task, problems);
    }

    /// Checks that `other` names a task of this DAG other than `task`; reports at `path.field`.
    fn check_sibling<'t>(
        &'t self,
        path: &str,
        task: &str,
        field: &str,
        other: &str,
        problems: &mut Vec<Problem>,
    ) -> Option<&'t TaskSpec> {
        if other == task {
            problems.push(Problem::new(
                format!("{path}.{field}"),
                format!("task '{task}' refers to itself"),
            ));
            return None;
        }
        let found = self.dag.tasks.get(other);
        if found.is_none() {
            problems.push(Problem::new(
                format!("{path}.{field}"),
                format!(
                    "task '{other}' not found in this DAG (tasks: {})",
                    list_names(self.dag.tasks.keys())
                ),
            ));
        }
        found
    }

    fn check_parameter_input(
        &self,
        path: &str,
        task: &str,
        key: &str,
        input: &TaskInputParameter,
        target: ParameterType,
        problems: &mut Vec<Problem>,
    ) {
        let sources = [
            input.component_input_parameter.is_some(),
            input.task_output_parameter.is_some(),
            input.runtime_value.is_some(),
            input.task_final_status.is_some(),
        ];
        if sources.iter().filter(|set| **set).count() != 1 {
            problems.push(Problem::new(
                path,
                format!(
                    "input '{key}' must set exactly one of componentInputParameter, \
                     taskOutputParameter, runtimeValue and taskFinalStatus"
                ),
            ));
            return;
        }

        let mut source = ParameterType::Unspecified;
        if let Some(name) = &input.component_input_parameter {
            source = self.check_component_input_parameter(path, name, problems);
        }
        if let Some(output) = &input.task_output_parameter {
            let producer = self.check_sibling(
                path,
                task,
                "taskOutputParameter.producerTask",
                &output.producer_task,
                problems,
            );
            let outputs = producer.and_then(|p| self.spec.components.get(&p.component_ref.name));
            let outputs = outputs.map(|c| &c.output_definitions.parameters);
            if let Some(outputs) = outputs {
                match outputs.get(&output.output_parameter_key) {
                    Some(spec) => source = spec.parameter_type,
                    None => problems.push(Problem::new(
                        format!("{path}.taskOutputParameter.outputParameterKey"),
                        format!(
                            "output parameter '{}' not found in task '{}' (outputs: {})",
                            output.output_parameter_key,
                            output.producer_task,
                            list_names(outputs.keys())
                        ),
                    )),
                }
            }
        }
        if let Some(status) = &input.task_final_status {
            let field = "taskFinalStatus.producerTask";
            self.check_sibling(path, task, field, &status.producer_task, problems);
            source = ParameterType::TaskFinalStatus;
        }
        if let Some(runtime_value) = &input.runtime_value {
            check_constant(path, key, runtime_value, target, problems);
        }

        // A selector picks a part of the value, so the source's declared type does not apply.
        if input.parameter_expression_selector.is_some() {
            if let Some(selector) = &input.parameter_expression_selector {
                if let Err(error) = check_syntax(selector) {
                    problems.push(Problem::new(
                        format!("{path}.parameterExpressionSelector"),
                        error.to_string(),
                    ));
                }
            }
            return;
        }
        if types_conflict(source, target) {
            problems.push(Problem::new(
                path,
                format!(
                    "input '{key}' is declared {} but its source is {}",
                    target.as_str(),
                    source.as_str()
                ),
            ));
        }
    }

    /// Checks a `componentInputParameter` and returns the enclosing input's declared type, or
    /// unspecified for a loop item the compiler typed STRING because it did not know the type.
    fn check_component_input_parameter(
        &self,
        path: &str,
        name: &str,
        problems: &mut Vec<Problem>,
    ) -> ParameterType {
        let inputs = &self.component.input_definitions;
        if let Some(spec) = inputs.parameters.get(name) {
            if self.loop_items.contains(self.name, name) {
                return item_type(spec.parameter_type);
            }
            return spec.parameter_type;
        }
        let mut message = format!(
            "input parameter '{name}' not found in the enclosing component {} (input \
             parameters: {})",
            self.path,
            list_names(inputs.parameters.keys())
        );
        if inputs.artifacts.contains_key(name) {
            message.push_str(&format!("; '{name}' is an input artifact"));
        }
        if name.contains("-loop-item-subvar-") {
            // kfp (seen with 2.17.3) compiles an f-string over a field of a ParallelFor item,
            // f"{row.a}", into a loop task input naming this nonexistent pipeline input.
            message.push_str(
                "; the kfp compiler writes such a name for an f-string that uses a field of a \
                 ParallelFor loop item, so pass the field (`item.a`) as a component argument \
                 instead of inside an f-string",
            );
        }
        problems.push(Problem::new(format!("{path}.componentInputParameter"), message));
        ParameterType::Unspecified
    }

    fn check_artifact_input(
        &self,
        path: &str,
        task: &str,
        key: &str,
        input: &TaskInputArtifact,
        problems: &mut Vec<Problem>,
    ) {
        match (&input.component_input_artifact, &input.task_output_artifact) {
            (Some(name), None) => {
                let inputs = &self.component.input_definitions;
                if !inputs.artifacts.contains_key(name) {
                    problems.push(Problem::new(
                        format!("{path}.componentInputArtifact"),
                        format!(
                            "input artifact '{name}' not found in the enclosing component {} \
                             (input artifacts: {})",
                            self.path,
                            list_names(inputs.artifacts.keys())
                        ),
                    ));
                }
            }
            (None, Some(output)) => {
                let field = "taskOutputArtifact.producerTask";
                let producer =
                    self.check_sibling(path, task, field, &output.producer_task, problems);
                let component =
                    producer.and_then(|p| self.spec.components.get(&p.component_ref.name));
                let Some(outputs) = component.map(|c| &c.output_definitions.artifacts) else {
                    return;
                };
                if !outputs.contains_key(&output.output_artifact_key) {
                    problems.push(Problem::new(
                        format!("{path}.taskOutputArtifact.outputArtifactKey"),
                        format!(
                            "output artifact '{}' not found in task '{}' (outputs: {})",
                            output.output_artifact_key,
                            output.producer_task,
                            list_names(outputs.keys())
                        ),
                    ));
                }
            }
            _ => problems.push(Problem::new(
                path,
                format!(
                    "input artifact '{key}' must set exactly one of componentInputArtifact and \
                     taskOutputArtifact"
                ),
            )),
        }
    }
}

/// Checks a constant against the declared type of the input it feeds.
fn check_constant(
    path: &str,
    key: &str,
    runtime_value: &crate::model::RuntimeValue,
    target: ParameterType,
    problems: &mut Vec<Problem>,
) {
    let Some(constant) = &runtime_value.constant else {
        if runtime_value.constant_value.is_none() && runtime_value.runtime_parameter.is_none() {
            problems.push(Problem::new(
                format!("{path}.runtimeValue"),
                format!("input '{key}' has a runtimeValue without a `constant`"),
            ));
        }
        return;
    };
    // f-strings arrive as text with placeholders, resolved only at run time.
    if constant.as_str().is_some_and(|text| text.contains("{{$")) || constant.is_null() {
        return;
    }
    if let Err(error) = coerce(constant, target) {
        problems.push(Problem::new(
            format!("{path}.runtimeValue.constant"),
            format!("constant for input '{key}' does not match its declared type: {error}"),
        ));
    }
}

/// Reports inputs the component requires (not optional, no default) that the task leaves unset.
fn check_required_inputs(
    path: &str,
    task: &TaskSpec,
    callee: &ComponentSpec,
    problems: &mut Vec<Problem>,
) {
    let parameter_item = task.parameter_iterator.as_ref().map(|i| i.item_input.as_str());
    let artifact_item = task.artifact_iterator.as_ref().map(|i| i.item_input.as_str());
    let component = &task.component_ref.name;

    for (name, spec) in &callee.input_definitions.parameters {
        let required = !spec.is_optional && spec.default_value.is_none();
        let supplied = task.inputs.parameters.contains_key(name);
        if required && !supplied && parameter_item != Some(name.as_str()) {
            problems.push(Problem::new(
                format!("{path}.inputs.parameters.{name}"),
                format!(
                    "required input parameter '{name}' of component '{component}' has no source \
                     in the task and no default"
                ),
            ));
        }
    }
    for (name, spec) in &callee.input_definitions.artifacts {
        let supplied = task.inputs.artifacts.contains_key(name);
        if !spec.is_optional && !supplied && artifact_item != Some(name.as_str()) {
            problems.push(Problem::new(
                format!("{path}.inputs.artifacts.{name}"),
                format!(
                    "required input artifact '{name}' of component '{component}' has no source \
                     in the task"
                ),
            ));
        }
    }
}

fn check_iterators(
    path: &str,
    task: &TaskSpec,
    callee: Option<&ComponentSpec>,
    problems: &mut Vec<Problem>,
) {
    if task.parameter_iterator.is_some() && task.artifact_iterator.is_some() {
        problems.push(Problem::new(
            path,
            "the task sets both parameterIterator and artifactIterator; it may set one",
        ));
    }
    let body_inputs = callee.map(|c| &c.input_definitions);

    if let Some(iterator) = &task.parameter_iterator {
        let iterator_path = format!("{path}.parameterIterator");
        match (&iterator.items.raw, &iterator.items.input_parameter) {
            (Some(raw), None) => match serde_json::from_str::<Value>(raw) {
                Ok(Value::Array(_)) => {}
                Ok(other) => problems.push(Problem::new(
                    format!("{iterator_path}.items.raw"),
                    format!("loop items must be a JSON list, found {other}"),
                )),
                Err(error) => problems.push(Problem::new(
                    format!("{iterator_path}.items.raw"),
                    format!("loop items {raw:?} are not valid JSON: {error}"),
                )),
            },
            (None, Some(input)) => {
                if !task.inputs.parameters.contains_key(input) {
                    problems.push(Problem::new(
                        format!("{iterator_path}.items.inputParameter"),
                        format!(
                            "loop items input '{input}' not found in the task's input \
                             parameters ({})",
                            list_names(task.inputs.parameters.keys())
                        ),
                    ));
                }
            }
            _ => problems.push(Problem::new(
                format!("{iterator_path}.items"),
                "loop items must set exactly one of `raw` and `inputParameter`",
            )),
        }
        let item = &iterator.item_input;
        if body_inputs.is_some_and(|inputs| !inputs.parameters.contains_key(item)) {
            problems.push(Problem::new(
                format!("{iterator_path}.itemInput"),
                format!(
                    "loop item input '{item}' not found in the input parameters of component \
                     '{}'",
                    task.component_ref.name
                ),
            ));
        }
    }

    if let Some(iterator) = &task.artifact_iterator {
        let iterator_path = format!("{path}.artifactIterator");
        let input = &iterator.items.input_artifact;
        if !task.inputs.artifacts.contains_key(input) {
            problems.push(Problem::new(
                format!("{iterator_path}.items.inputArtifact"),
                format!(
                    "loop items input '{input}' not found in the task's input artifacts ({})",
                    list_names(task.inputs.artifacts.keys())
                ),
            ));
        }
        let item = &iterator.item_input;
        if body_inputs.is_some_and(|inputs| !inputs.artifacts.contains_key(item)) {
            problems.push(Problem::new(
                format!("{iterator_path}.itemInput"),
                format!(
                    "loop item input '{item}' not found in the input artifacts of component '{}'",
                    task.component_ref.name
                ),
            ));
        }
    }
}

/// Checks the trigger condition, the iterator policy and the retry policy.
fn check_policies(path: &str, task: &TaskSpec, problems: &mut Vec<Problem>) {
    let condition = task.trigger_policy.as_ref().and_then(|p| p.condition.as_deref());
    if let Some(condition) = condition.filter(|c| !c.trim().is_empty()) {
        let condition_path = format!("{path}.triggerPolicy.condition");
        match check_syntax(condition) {
            Err(error) => problems.push(Problem::new(&condition_path, error.to_string())),
            Ok(()) => {
                for name in referenced_parameters(condition) {
                    if !task.inputs.parameters.contains_key(&name) {
                        problems.push(Problem::new(
                            &condition_path,
                            format!(
                                "the condition reads input '{name}', which the task does not \
                                 have (input parameters: {})",
                                list_names(task.inputs.parameters.keys())
                            ),
                        ));
                    }
                }
            }
        }
    }

    if let Some(policy) = &task.iterator_policy {
        if policy.parallelism_limit < 0 {
            problems.push(Problem::new(
                format!("{path}.iteratorPolicy.parallelismLimit"),
                format!("parallelism limit {} is negative", policy.parallelism_limit),
            ));
        }
    }

    if let Some(retry) = &task.retry_policy {
        let retry_path = format!("{path}.retryPolicy");
        if retry.max_retry_count < 0 {
            problems.push(Problem::new(
                format!("{retry_path}.maxRetryCount"),
                format!("retry count {} is negative", retry.max_retry_count),
            ));
        }
        let durations = [
            ("backoffDuration", &retry.backoff_duration),
            ("backoffMaxDuration", &retry.backoff_max_duration),
        ];
        for (field, duration) in durations {
            let Some(text) = duration else { continue };
            if parse_duration(text).is_none() {
                problems.push(Problem::new(
                    format!("{retry_path}.{field}"),
                    format!("duration {text:?} is invalid; expected seconds such as \"5s\""),
                ));
            }
        }
        if let Some(factor) = retry.backoff_factor {
            if !factor.is_finite() || factor < 0.0 {
                problems.push(Problem::new(
                    format!("{retry_path}.backoffFactor"),
                    format!("backoff factor {factor} must be a non-negative number"),
                ));
            }
        }
    }
}
