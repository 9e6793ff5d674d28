//! Text and JSON renderings of runs and tasks for the terminal.

use std::collections::BTreeMap;
use std::fmt::Write;

use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use weir_spec::values;
use weir_store::{RunRecord, State, TaskKind, TaskRecord};

/// Renders the outcome of a run: state, tasks with durations, outputs, metrics and artifacts.
pub fn run_summary(run: &RunRecord, tasks: &[TaskRecord]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Run       {} ({})", run.name, run.run_id);
    let _ = writeln!(out, "Pipeline  {}", run.pipeline_name);
    let _ = writeln!(
        out,
        "State     {}{}",
        run.state,
        duration_suffix(run.started_at, run.finished_at)
    );
    if let Some(error) = &run.error {
        let _ = writeln!(out, "Error     {error}");
    }

    let _ = writeln!(out, "\nTasks");
    out.push_str(&task_table(tasks));

    let outputs = output_lines(&run.outputs);
    if !outputs.is_empty() {
        let _ = writeln!(out, "\nOutputs");
        for line in outputs {
            let _ = writeln!(out, "  {line}");
        }
    }

    let metrics = metric_lines(tasks);
    if !metrics.is_empty() {
        let _ = writeln!(out, "\nMetrics");
        for line in metrics {
            let _ = writeln!(out, "  {line}");
        }
    }
    out
}

/// Renders a table of runs, one line each: id, name, state, creation time and duration.
pub fn run_table(runs: &[RunRecord]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<36}  {:<40}  {:<9}  {:<20}  DURATION",
        "RUN ID", "NAME", "STATE", "CREATED"
    );
    for run in runs {
        let _ = writeln!(
            out,
            "{:<36}  {:<40}  {:<9}  {:<20}  {}",
            run.run_id,
            truncate(&run.name, 40),
            run.state.as_str(),
            run.created_at.format("%Y-%m-%d %H:%M:%S"),
            duration(run.started_at, run.finished_at)
        );
    }
    out
}

/// Renders the `Parameters` section of a run's description: its arguments after defaults, or nothing
/// when it has none.
pub fn parameters_section(run: &RunRecord) -> String {
    let mut out = String::new();
    let Some(parameters) = run.parameters.get("parameters").and_then(Value::as_object) else {
        return out;
    };
    if parameters.is_empty() {
        return out;
    }
    let _ = writeln!(out, "\nParameters");
    for (name, value) in parameters {
        let _ = writeln!(out, "  {name} = {}", values::render_text(value));
    }
    out
}

/// Cuts `text` to `width` characters, ending a cut text with `…`.
pub fn truncate(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        text.to_string()
    } else {
        let kept: String = text.chars().take(width.saturating_sub(1)).collect();
        format!("{kept}…")
    }
}

/// Loops with more iterations than this are shown as counts, plus the tasks that did not
/// succeed.
const MAX_LISTED_ITERATIONS: usize = 20;

/// Renders one line per task with state, attempts and duration, and summarizes large loops.
pub fn task_table(tasks: &[TaskRecord]) -> String {
    let big_loops = big_loops(tasks);
    let inside_big_loop =
        |task: &TaskRecord| big_loops.keys().any(|prefix| task.path.starts_with(prefix.as_str()));
    let rows: Vec<&TaskRecord> = tree_order(tasks)
        .into_iter()
        .filter(|t| !inside_big_loop(t) || !matches!(t.state, State::Succeeded | State::Skipped))
        .collect();
    let width = rows.iter().map(|t| t.path.len()).max().unwrap_or(4).clamp(4, 60);
    let mut out = String::new();
    for task in rows {
        write_task_row(&mut out, task, width);
        if let Some(counts) = big_loops.get(&format!("{}/", task.path)) {
            let _ = writeln!(out, "  {:<width$}  {counts}", "");
        }
    }
    out
}

/// Tasks with each parent before its children, siblings in the order they started
/// (iterations by index).
fn tree_order(tasks: &[TaskRecord]) -> Vec<&TaskRecord> {
    let mut children: BTreeMap<Option<&str>, Vec<&TaskRecord>> = BTreeMap::new();
    for task in tasks {
        children.entry(task.parent_task_id.as_deref()).or_default().push(task);
    }
    for siblings in children.values_mut() {
        siblings.sort_by(|a, b| {
            (a.iteration_index, a.started_at.or(a.finished_at), &a.path).cmp(&(
                b.iteration_index,
                b.started_at.or(b.finished_at),
                &b.path,
            ))
        });
    }
    let mut ordered = Vec::with_capacity(tasks.len());
    let mut stack: Vec<&TaskRecord> =
        children.get(&None).map(|roots| roots.iter().rev().copied().collect()).unwrap_or_default();
    while let Some(task) = stack.pop() {
        ordered.push(task);
        if let Some(list) = children.get(&Some(task.task_id.as_str())) {
            stack.extend(list.iter().rev().copied());
        }
    }
    ordered
}

/// Path prefixes (`loop/`) of loops with many iterations, with their tasks counted by state.
fn big_loops(tasks: &[TaskRecord]) -> BTreeMap<String, String> {
    let mut result = BTreeMap::new();
    for task in tasks.iter().filter(|t| t.kind == TaskKind::Loop) {
        let iterations = tasks
            .iter()
            .filter(|t| {
                t.kind == TaskKind::Iteration && t.parent_task_id.as_ref() == Some(&task.task_id)
            })
            .count();
        if iterations <= MAX_LISTED_ITERATIONS {
            continue;
        }
        let prefix = format!("{}/", task.path);
        let mut by_state: BTreeMap<&str, usize> = BTreeMap::new();
        for inner in tasks.iter().filter(|t| t.path.starts_with(&prefix)) {
            if matches!(inner.kind, TaskKind::Container | TaskKind::Importer) {
                *by_state.entry(inner.state.as_str()).or_default() += 1;
            }
        }
        let counts: Vec<String> = by_state.iter().map(|(s, n)| format!("{n} {s}")).collect();
        result.insert(prefix, format!("{iterations} iterations; tasks: {}", counts.join(", ")));
    }
    result
}

fn write_task_row(out: &mut String, task: &TaskRecord, width: usize) {
    let mut notes = Vec::new();
    if task.cached {
        notes.push("cached".to_string());
    }
    if task.attempts > 1 {
        notes.push(format!("{} attempts", task.attempts));
    }
    if task.kind != TaskKind::Container {
        notes.push(task.kind.as_str().to_string());
    }
    let notes = if notes.is_empty() { String::new() } else { format!("  ({})", notes.join(", ")) };
    let _ = writeln!(
        out,
        "  {:<width$}  {:<9} {:>8}{notes}",
        task.path,
        task.state.as_str(),
        duration(task.started_at, task.finished_at),
    );
    if let (Some(error), TaskKind::Container | TaskKind::Importer) = (&task.error, task.kind) {
        let _ = writeln!(out, "  {:<width$}  error: {}", "", first_line(error));
    }
}

fn output_lines(outputs: &Value) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some(parameters) = outputs.get("parameters").and_then(Value::as_object) {
        for (name, value) in parameters {
            lines.push(format!("{name} = {}", values::render_text(value)));
        }
    }
    if let Some(artifacts) = outputs.get("artifacts").and_then(Value::as_object) {
        for (name, list) in artifacts {
            for artifact in list.as_array().into_iter().flatten() {
                let uri = artifact.get("uri").and_then(Value::as_str).unwrap_or("");
                lines.push(format!("{name} = {uri}"));
            }
        }
    }
    lines
}

/// Values logged to `system.Metrics` artifacts, by task.
fn metric_lines(tasks: &[TaskRecord]) -> Vec<String> {
    let mut lines = Vec::new();
    for task in tasks {
        let Some(artifacts) = task.outputs.get("artifacts").and_then(Value::as_object) else {
            continue;
        };
        for list in artifacts.values() {
            for artifact in list.as_array().into_iter().flatten() {
                let title = artifact.pointer("/type/schemaTitle").and_then(Value::as_str);
                if title != Some("system.Metrics") {
                    continue;
                }
                let Some(metadata) = artifact.get("metadata").and_then(Value::as_object) else {
                    continue;
                };
                for (key, value) in metadata {
                    if key == "display_name" {
                        continue;
                    }
                    lines.push(format!("{}: {key} = {}", task.path, values::render_text(value)));
                }
            }
        }
    }
    lines
}

/// Writes [`run_json`] one task at a time, so a run of many tasks is never held as one JSON
/// document in memory.
pub fn write_run_json(
    out: &mut impl std::io::Write,
    run: &RunRecord,
    tasks: &[TaskRecord],
) -> std::io::Result<()> {
    let mut head = run_json(run, &[]);
    if let Some(fields) = head.as_object_mut() {
        fields.remove("tasks");
    }
    let head = serde_json::to_string_pretty(&head)?;
    // Reopen the object to append the task list: drop the closing brace.
    let head = head.trim_end().strip_suffix('}').unwrap_or(&head).trim_end();
    write!(out, "{head},\n  \"tasks\": [")?;
    for (index, task) in tasks.iter().enumerate() {
        let separator = if index == 0 { "\n" } else { ",\n" };
        write!(out, "{separator}")?;
        serde_json::to_writer(&mut *out, &task_json(task))?;
    }
    writeln!(out, "\n  ]\n}}")
}

pub fn run_json(run: &RunRecord, tasks: &[TaskRecord]) -> Value {
    let tasks: Vec<Value> = tasks.iter().map(task_json).collect();
    json!({
        "run_id": run.run_id,
        "name": run.name,
        "pipeline_name": run.pipeline_name,
        "state": run.state.as_str(),
        "error": run.error,
        "parameters": run.parameters.get("parameters").cloned().unwrap_or(json!({})),
        "outputs": run.outputs,
        "pipeline_root": run.pipeline_root,
        "created_at": run.created_at.to_rfc3339(),
        "started_at": run.started_at.map(|t| t.to_rfc3339()),
        "finished_at": run.finished_at.map(|t| t.to_rfc3339()),
        "tasks": tasks,
    })
}

pub fn task_json(task: &TaskRecord) -> Value {
    json!({
        "task_id": task.task_id,
        "parent_task_id": task.parent_task_id,
        "name": task.name,
        "display_name": task.display_name,
        "path": task.path,
        "kind": task.kind.as_str(),
        "state": task.state.as_str(),
        "attempts": task.attempts,
        "cached": task.cached,
        "inputs": task.inputs,
        "outputs": task.outputs,
        "error": task.error,
        "started_at": task.started_at.map(|t| t.to_rfc3339()),
        "finished_at": task.finished_at.map(|t| t.to_rfc3339()),
    })
}

/// Formats an RFC 3339 timestamp as the tables show times (`2024-01-01 12:00:00`, UTC), and
/// returns other text as it is.
pub fn timestamp_text(text: &str) -> String {
    match DateTime::parse_from_rfc3339(text) {
        Ok(time) => time.with_timezone(&Utc).format("%Y-%m-%d %H:%M:%S").to_string(),
        Err(_) => text.to_string(),
    }
}

pub fn duration(start: Option<DateTime<Utc>>, end: Option<DateTime<Utc>>) -> String {
    match (start, end) {
        (Some(start), Some(end)) => {
            format_seconds((end - start).num_milliseconds() as f64 / 1000.0)
        }
        (Some(start), None) => {
            format!("{}+", format_seconds((Utc::now() - start).num_milliseconds() as f64 / 1000.0))
        }
        _ => "-".into(),
    }
}

fn duration_suffix(start: Option<DateTime<Utc>>, end: Option<DateTime<Utc>>) -> String {
    match (start, end) {
        (Some(_), _) => format!(" in {}", duration(start, end)),
        _ => String::new(),
    }
}

fn format_seconds(seconds: f64) -> String {
    if seconds < 60.0 {
        format!("{seconds:.2}s")
    } else {
        let minutes = (seconds / 60.0).floor();
        format!("{minutes:.0}m{:04.1}s", seconds - minutes * 60.0)
    }
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or("")
}
