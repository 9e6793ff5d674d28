//! Human-readable summary of a pipeline, printed by `weir validate FILE`: name, inputs with
//! types and defaults, outputs, and the task graph with nested DAGs indented under the task that
//! runs them.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use crate::model::{
    ArtifactSpec, ComponentSpec, DagSpec, ParameterSpec, Pipeline, PipelineSpec, TaskSpec,
    TriggerStrategy,
};
use crate::values::{coerce, normalize_numbers};

/// Nested DAGs deeper than this are not expanded; validation rejects component cycles, so only
/// an unvalidated spec could recurse further.
const MAX_DEPTH: usize = 32;

/// Describes `pipeline` as indented text ending with a newline.
pub fn describe(pipeline: &Pipeline) -> String {
    let spec = &pipeline.spec;
    let mut out = String::new();
    let info = &spec.pipeline_info;
    let _ = writeln!(out, "Pipeline: {}", info.name);
    if let Some(display) = info.display_name.as_deref().filter(|d| *d != info.name) {
        let _ = writeln!(out, "Display name: {display}");
    }
    if let Some(description) = info.description.as_deref().filter(|d| !d.trim().is_empty()) {
        // Continuation lines are indented so they stay visibly part of the description.
        let _ = writeln!(out, "Description: {}", description.trim().replace('\n', "\n  "));
    }

    let inputs = &spec.root.input_definitions;
    let mut rows: Vec<(String, String)> = Vec::new();
    for (name, parameter) in &inputs.parameters {
        rows.push((name.clone(), describe_input_parameter(parameter)));
    }
    for (name, artifact) in &inputs.artifacts {
        let presence = if artifact.is_optional { "optional" } else { "required" };
        rows.push((name.clone(), format!("{}, {presence}", artifact_type(artifact))));
    }
    write_section(&mut out, "Inputs", rows);

    let outputs = &spec.root.output_definitions;
    let mut rows: Vec<(String, String)> = Vec::new();
    for (name, parameter) in &outputs.parameters {
        rows.push((name.clone(), parameter.parameter_type.as_str().to_string()));
    }
    for (name, artifact) in &outputs.artifacts {
        rows.push((name.clone(), artifact_type(artifact)));
    }
    write_section(&mut out, "Outputs", rows);

    let total = crate::count_tasks(spec);
    let noun = if total == 1 { "task" } else { "tasks" };
    let _ = writeln!(out, "Tasks: {total} {noun}");
    if let Some(dag) = &spec.root.dag {
        let mut stack = Vec::new();
        write_dag(&mut out, spec, dag, 1, &mut stack);
    }
    if let Some(platform) = pipeline.platform_spec.as_ref().and_then(|p| p.get("platforms")) {
        let names: Vec<&str> = platform
            .as_object()
            .map(|p| p.keys().map(String::as_str).collect())
            .unwrap_or_default();
        if !names.is_empty() {
            let _ = writeln!(out, "Platform settings: {}", names.join(", "));
        }
    }
    out
}

fn describe_input_parameter(parameter: &ParameterSpec) -> String {
    let ty = parameter.parameter_type.as_str();
    match &parameter.default_value {
        Some(default) => {
            let typed = coerce(default, parameter.parameter_type).unwrap_or(default.clone());
            format!("{ty}, default {}", shorten(&normalize_scalar_text(&typed)))
        }
        None if parameter.is_optional => format!("{ty}, optional"),
        None => format!("{ty}, required"),
    }
}

/// JSON text of a value with integral doubles shown as integers.
fn normalize_scalar_text(value: &serde_json::Value) -> String {
    let wrapped = normalize_numbers(serde_json::Value::Array(vec![value.clone()]));
    match wrapped {
        serde_json::Value::Array(items) if items.len() == 1 => items[0].to_string(),
        other => other.to_string(),
    }
}

fn artifact_type(artifact: &ArtifactSpec) -> String {
    let schema = &artifact.artifact_type;
    let title = schema
        .schema_title
        .clone()
        .or_else(|| schema.instance_schema.as_ref().map(|_| "custom schema".to_string()))
        .unwrap_or_else(|| "untyped".to_string());
    if artifact.is_artifact_list {
        format!("artifact list {title}")
    } else {
        format!("artifact {title}")
    }
}

fn write_section(out: &mut String, title: &str, rows: Vec<(String, String)>) {
    if rows.is_empty() {
        let _ = writeln!(out, "{title}: none");
        return;
    }
    let _ = writeln!(out, "{title}:");
    let width = rows.iter().map(|(name, _)| name.chars().count()).max().unwrap_or(0);
    for (name, text) in rows {
        let _ = writeln!(out, "  {name:<width$}  {text}");
    }
}

/// Writes the tasks of `dag` in dependency order, each nested DAG under its task.
fn write_dag<'a>(
    out: &mut String,
    spec: &'a PipelineSpec,
    dag: &'a DagSpec,
    depth: usize,
    stack: &mut Vec<&'a str>,
) {
    let indent = "  ".repeat(depth);
    for name in dependency_order(dag) {
        let Some(task) = dag.tasks.get(name) else { continue };
        let component_name = task.component_ref.name.as_str();
        let component = spec.components.get(component_name);

        let mut line = format!("{indent}{name}");
        if !task.task_info.name.is_empty() && task.task_info.name != name {
            let _ = write!(line, " \"{}\"", task.task_info.name);
        }
        let _ = write!(line, " [{component_name}]");
        for detail in task_details(spec, task, component) {
            let _ = write!(line, "; {detail}");
        }
        let _ = writeln!(out, "{line}");

        let Some(inner) = component.and_then(|c| c.dag.as_ref()) else { continue };
        if stack.contains(&component_name) || depth >= MAX_DEPTH {
            let _ = writeln!(out, "{indent}  (nested DAG not expanded: {component_name} repeats)");
            continue;
        }
        stack.push(component_name);
        write_dag(out, spec, inner, depth + 1, stack);
        stack.pop();
    }
}

fn task_details(
    spec: &PipelineSpec,
    task: &TaskSpec,
    component: Option<&ComponentSpec>,
) -> Vec<String> {
    let mut details = Vec::new();
    if !task.dependent_tasks.is_empty() {
        details.push(format!("after {}", task.dependent_tasks.join(", ")));
    }
    if let Some(iterator) = &task.parameter_iterator {
        match (&iterator.items.raw, &iterator.items.input_parameter) {
            (Some(raw), _) => details.push(format!("loop over {}", shorten(raw))),
            (None, Some(input)) => details.push(format!("loop over input {input}")),
            (None, None) => details.push("loop".to_string()),
        }
    }
    if let Some(iterator) = &task.artifact_iterator {
        details.push(format!("loop over artifacts {}", iterator.items.input_artifact));
    }
    if let Some(limit) = task.iterator_policy.as_ref().map(|p| p.parallelism_limit) {
        if limit > 0 {
            details.push(format!("at most {limit} at a time"));
        }
    }
    if let Some(policy) = &task.trigger_policy {
        if let Some(condition) = policy.condition.as_deref().filter(|c| !c.is_empty()) {
            details.push(format!("if {}", shorten_condition(condition)));
        }
        if policy.strategy == TriggerStrategy::AllUpstreamTasksCompleted {
            details.push("runs after upstream tasks finish, even if they failed".to_string());
        }
    }
    if let Some(retry) = &task.retry_policy {
        if retry.max_retry_count > 0 {
            details.push(format!("up to {} retries", retry.max_retry_count));
        }
    }
    if task.caching_options.as_ref().is_some_and(|c| !c.enable_cache) {
        details.push("cache off".to_string());
    }
    let executor = component
        .and_then(|c| c.executor_label.as_ref())
        .and_then(|label| spec.deployment_spec.executors.get(label));
    if let Some(executor) = executor {
        if executor.importer.is_some() {
            details.push("importer".to_string());
        } else if let Some(container) = &executor.container {
            details.push(format!("image {}", container.image));
        } else {
            details.push("unsupported executor".to_string());
        }
    }
    details
}

/// Task names with every task after the tasks it depends on, ties in natural name order
/// (`condition-8` before `condition-13`). Tasks left in a cycle follow in that order too.
fn dependency_order(dag: &DagSpec) -> Vec<&str> {
    let mut remaining: BTreeMap<&str, BTreeSet<&str>> = dag
        .tasks
        .iter()
        .map(|(name, task)| {
            let upstream = task
                .dependent_tasks
                .iter()
                .map(String::as_str)
                .filter(|d| *d != name && dag.tasks.contains_key(*d))
                .collect();
            (name.as_str(), upstream)
        })
        .collect();
    let mut order = Vec::new();
    while !remaining.is_empty() {
        let ready = remaining.iter().filter(|(_, upstream)| upstream.is_empty()).map(|(n, _)| *n);
        let next = first_in_natural_order(ready)
            .or_else(|| first_in_natural_order(remaining.keys().copied()))
            .unwrap_or_default();
        remaining.remove(next);
        for upstream in remaining.values_mut() {
            upstream.remove(next);
        }
        order.push(next);
    }
    order
}

fn first_in_natural_order<'a>(names: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    names.min_by(|a, b| natural_cmp(a, b))
}

/// Compares names so that runs of digits compare as numbers.
fn natural_cmp(left: &str, right: &str) -> Ordering {
    let (mut left, mut right) = (left, right);
    loop {
        match (left.chars().next(), right.chars().next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(a), Some(b)) if a.is_ascii_digit() && b.is_ascii_digit() => {
                let (left_digits, left_rest) = split_digits(left);
                let (right_digits, right_rest) = split_digits(right);
                let by_value = left_digits
                    .trim_start_matches('0')
                    .len()
                    .cmp(&right_digits.trim_start_matches('0').len())
                    .then_with(|| {
                        left_digits
                            .trim_start_matches('0')
                            .cmp(right_digits.trim_start_matches('0'))
                    });
                if by_value != Ordering::Equal {
                    return by_value;
                }
                (left, right) = (left_rest, right_rest);
            }
            (Some(a), Some(b)) => {
                if a != b {
                    return a.cmp(&b);
                }
                (left, right) = (&left[a.len_utf8()..], &right[b.len_utf8()..]);
            }
        }
    }
}

fn split_digits(text: &str) -> (&str, &str) {
    let end = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    text.split_at(end)
}

/// Shortens the compiler's `inputs.parameter_values['pipelinechannel--x']` to `x`.
fn shorten_condition(condition: &str) -> String {
    const MARKER: &str = "inputs.parameter_values[";
    let mut short = String::new();
    let mut rest = condition;
    while let Some(start) = rest.find(MARKER) {
        short.push_str(&rest[..start]);
        let after = &rest[start + MARKER.len()..];
        let quote = after.chars().next().filter(|c| *c == '\'' || *c == '"');
        let end = quote.and_then(|q| after[1..].find(q)).map(|end| end + 1);
        match end.filter(|end| after[end + 1..].starts_with(']')) {
            Some(end) => {
                let name = &after[1..end];
                short.push_str(name.strip_prefix("pipelinechannel--").unwrap_or(name));
                rest = &after[end + 2..];
            }
            None => {
                short.push_str(MARKER);
                rest = after;
            }
        }
    }
    short.push_str(rest);
    shorten(&short)
}

fn shorten(text: &str) -> String {
    const MAX_CHARS: usize = 80;
    let single_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if single_line.chars().count() <= MAX_CHARS {
        return single_line;
    }
    let head: String = single_line.chars().take(MAX_CHARS).collect();
    format!("{head}...")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn natural_cmp_orders_numbers_by_value() {
        let mut names = vec!["condition-13", "condition-8", "condition-2", "a", "condition-08x"];
        names.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(names, vec!["a", "condition-2", "condition-8", "condition-08x", "condition-13"]);
    }

    #[test]
    fn shorten_condition_drops_channel_prefix() {
        let condition = "!(inputs.parameter_values['pipelinechannel--flip-Output'] == 'heads') && \
                         int(inputs.parameter_values[\"n\"]) > 2";
        assert_eq!(shorten_condition(condition), "!(flip-Output == 'heads') && int(n) > 2");
    }
}
