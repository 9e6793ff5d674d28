//! Runs a container task: builds its executor input, reuses a cached result when allowed,
//! and hands attempts to the executor with the task's retry policy and timeout.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde_json::{Map, Value};
use weir_executor::{
    placeholders, ArtifactList, ExecutorInput, Inputs, OutputParameter, Outputs,
    PlaceholderContext, RuntimeArtifact, TaskLaunch, TaskOutcome, TaskOutputs,
};
use weir_spec::{values, ComponentSpec, ContainerSpec, ParameterType, RetryPolicy};
use weir_store::{CacheEntry, State};

use crate::cache;
use crate::node::NodeSpec;
use crate::record::{Node, SharedCtx};
use crate::resolve::{NodeResult, Scope};
use crate::tracking_env::{tracking_env, TaskIdentity};

pub(crate) async fn run_container(
    ctx: SharedCtx,
    mut node: Node,
    spec: &NodeSpec,
    component: &ComponentSpec,
    inputs: Scope,
) -> NodeResult {
    let label = component.executor_label.clone().unwrap_or_default();
    let Some(executor) = ctx.spec.deployment_spec.executors.get(&label) else {
        let message = format!("executor {label:?} is not defined in deploymentSpec");
        return node.finish(&ctx, NodeResult::failed(message)).await;
    };
    let Some(container) = executor.container.clone() else {
        let message = format!(
            "executor {label:?} is a resolver or custom job, which Weir does not run; \
             use a container component"
        );
        return node.finish(&ctx, NodeResult::failed(message)).await;
    };

    let task_root = ctx.engine.artifacts.task_root(&ctx.run_id, &spec.path);
    let placeholder_ctx = placeholder_context(&ctx, &spec.key, node.id());
    let mut executor_input = build_executor_input(&ctx, spec, component, &inputs, &task_root);
    placeholders::render_parameter_values(&mut executor_input, &placeholder_ctx);
    let container = match resolve_image(container, &executor_input, &placeholder_ctx) {
        Ok(container) => container,
        Err(message) => return node.finish(&ctx, NodeResult::failed(message)).await,
    };

    let output_types: BTreeMap<String, ParameterType> = component
        .output_definitions
        .parameters
        .iter()
        .map(|(name, def)| (name.clone(), def.parameter_type))
        .collect();

    let caching =
        ctx.caching && spec.task.caching_options.as_ref().map(|c| c.enable_cache).unwrap_or(true);
    let cache_key = caching.then(|| {
        let override_key = spec.task.caching_options.as_ref().and_then(|c| c.cache_key.as_deref());
        cache::cache_key(&container, component, &executor_input, override_key)
    });
    node.record.cache_key = cache_key.clone();

    if let Some(key) = &cache_key {
        match ctx.engine.store.get_cache_entry(key).await {
            Ok(Some(entry)) => {
                if let Some(outputs) = cache::usable_outputs(&entry.outputs) {
                    tracing::info!(run.id = %ctx.run_id, task.path = %spec.path,
                        cached_from.run = %entry.run_id, "Task result reused from cache.");
                    node.record.cached = true;
                    ctx.log.write(&format!(
                        "task {} reused the cached outputs of run {}",
                        spec.path, entry.run_id
                    ));
                    return node.finish(&ctx, NodeResult::succeeded(outputs)).await;
                }
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(run.id = %ctx.run_id, task.path = %spec.path, error = %e,
                "Cache lookup failed; running the task."),
        }
    }

    let log_path = ctx.engine.artifacts.log_path(&ctx.run_id, node.id());
    node.record.log_path = Some(log_path.display().to_string());
    let timeout = task_timeout(&ctx, &label);
    let retry = spec.task.retry_policy.clone().unwrap_or_default();
    let max_attempts = 1 + retry.max_retry_count.max(0) as u32;

    let mut attempt = 0;
    let outcome = loop {
        attempt += 1;
        let permit = tokio::select! {
            permit = ctx.engine.limiter.clone().acquire_owned() => permit.ok(),
            _ = ctx.cancel.cancelled() => None,
        };
        let Some(_permit) = permit else {
            break TaskOutcome::Canceled;
        };
        node.record.attempts = attempt;
        if let Err(message) = node.save(&ctx, State::Running).await {
            return NodeResult::failed(message);
        }
        if attempt == 1 {
            tracing::debug!(run.id = %ctx.run_id, task.path = %spec.path, "Task started.");
            if let Some(note) = ctx.engine.executor.image_note(&container.image) {
                ctx.log.write_once(&note);
            }
        }
        ctx.log.write(&format!("task {} started (attempt {attempt})", spec.path));
        clear_outputs(&executor_input);
        let launch = TaskLaunch {
            run_id: ctx.run_id.clone(),
            task_id: node.id().to_string(),
            task_path: spec.path.clone(),
            attempt,
            container: container.clone(),
            executor_input: executor_input.clone(),
            output_parameter_types: output_types.clone(),
            context: placeholder_ctx.clone(),
            env: tracking_env(
                ctx.engine.config.tracking_uri.as_deref(),
                ctx.engine.config.tracking_is_weir,
                &container,
                &TaskIdentity {
                    run_id: &ctx.run_id,
                    task_id: node.id(),
                    task_name: &spec.key,
                    task_path: &spec.path,
                },
            ),
            task_root: task_root.clone(),
            log_path: log_path.clone(),
            timeout,
        };
        let outcome = ctx.engine.executor.run(launch, ctx.cancel.child_token()).await;
        let retryable =
            matches!(outcome, TaskOutcome::Failed { .. } | TaskOutcome::TimedOut { .. });
        if !retryable || attempt >= max_attempts || ctx.cancel.is_cancelled() {
            break outcome;
        }
        let delay = backoff(&retry, attempt);
        tracing::info!(run.id = %ctx.run_id, task.path = %spec.path, attempt,
            retry_in_ms = delay.as_millis() as u64, reason = %describe(&outcome),
            "Task attempt failed; retrying as its retry policy allows.");
        ctx.log.write(&format!(
            "task {} attempt {attempt} failed: {}; retrying in {:.1}s (attempt {} of {max_attempts})",
            spec.path,
            first_line(&describe(&outcome)),
            delay.as_secs_f64(),
            attempt + 1
        ));
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = ctx.cancel.cancelled() => break TaskOutcome::Canceled,
        }
    };

    let result = match outcome {
        TaskOutcome::Succeeded(outputs) => match typed_outputs(outputs, component) {
            Ok(outputs) => NodeResult::succeeded(outputs),
            Err(message) => NodeResult::failed(message),
        },
        TaskOutcome::Canceled => NodeResult::canceled(),
        other => NodeResult::failed(describe(&other)),
    };
    match &result.error {
        Some(error) => {
            ctx.log.write(&format!("task {} {}: {}", spec.path, result.state, first_line(error)))
        }
        None => ctx.log.write(&format!("task {} {}", spec.path, result.state)),
    }
    if result.state == State::Failed {
        tracing::info!(run.id = %ctx.run_id, task.path = %spec.path, attempts = attempt,
            error = result.error.as_deref().unwrap_or(""), "Task failed.");
    }

    if let (Some(key), State::Succeeded) = (&cache_key, result.state) {
        let entry = CacheEntry {
            cache_key: key.clone(),
            run_id: ctx.run_id.clone(),
            task_id: node.id().to_string(),
            outputs: cache::entry_outputs(&result.outputs),
            created_at: chrono::Utc::now(),
        };
        if let Err(e) = ctx.engine.store.put_cache_entry(&entry).await {
            tracing::warn!(run.id = %ctx.run_id, task.path = %spec.path, error = %e,
                "Failed to store the task result in the cache.");
        }
    }
    node.finish(&ctx, result).await
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or("")
}

fn describe(outcome: &TaskOutcome) -> String {
    match outcome {
        TaskOutcome::Succeeded(_) => "succeeded".into(),
        TaskOutcome::Failed { message } | TaskOutcome::LaunchFailed { message } => message.clone(),
        TaskOutcome::TimedOut { after } => {
            format!("timed out after {:.1} s and was stopped", after.as_secs_f64())
        }
        TaskOutcome::Canceled => "canceled".into(),
    }
}

pub(crate) fn placeholder_context(
    ctx: &SharedCtx,
    task_name: &str,
    task_id: &str,
) -> PlaceholderContext {
    let created = ctx.created_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    PlaceholderContext {
        pipeline_job_name: ctx.run_name.clone(),
        pipeline_job_resource_name: ctx.resource_name(),
        pipeline_job_uuid: ctx.run_id.clone(),
        pipeline_task_name: task_name.to_string(),
        pipeline_task_uuid: task_id.to_string(),
        pipeline_root: ctx.engine.artifacts.run_root(&ctx.run_id).display().to_string(),
        pipeline_job_create_time_utc: created.clone(),
        pipeline_job_schedule_time_utc: created,
        workspace_path: ctx
            .engine
            .artifacts
            .run_root(&ctx.run_id)
            .join("workspace")
            .display()
            .to_string(),
    }
}

fn build_executor_input(
    ctx: &SharedCtx,
    spec: &NodeSpec,
    component: &ComponentSpec,
    inputs: &Scope,
    task_root: &Path,
) -> ExecutorInput {
    let mut outputs = Outputs {
        output_file: task_root.join("executor_output.json").display().to_string(),
        ..Outputs::default()
    };
    for name in component.output_definitions.parameters.keys() {
        let file = task_root.join(name).display().to_string();
        outputs.parameters.insert(name.clone(), OutputParameter { output_file: file });
    }
    for (name, definition) in &component.output_definitions.artifacts {
        let uri = ctx.engine.artifacts.output_uri(&ctx.run_id, &spec.path, name);
        let artifact = RuntimeArtifact {
            name: name.clone(),
            artifact_type: definition.artifact_type.clone(),
            uri,
            metadata: Map::new(),
        };
        outputs.artifacts.insert(name.clone(), ArtifactList { artifacts: vec![artifact] });
    }
    let artifacts = inputs
        .artifacts
        .iter()
        .map(|(name, list)| (name.clone(), ArtifactList { artifacts: list.clone() }))
        .collect();
    ExecutorInput {
        inputs: Inputs { parameter_values: inputs.parameters.clone(), artifacts },
        outputs,
    }
}

/// Resolves placeholders in the image, which may name a pipeline parameter.
fn resolve_image(
    mut container: ContainerSpec,
    input: &ExecutorInput,
    ctx: &PlaceholderContext,
) -> Result<ContainerSpec, String> {
    if container.image.contains("{{$") {
        let probe = ContainerSpec { command: vec![container.image.clone()], ..Default::default() };
        let argv = placeholders::build_argv(&probe, input, ctx)
            .map_err(|e| format!("image {:?}: {e}", container.image))?;
        container.image = argv.into_iter().next().unwrap_or_default();
    }
    Ok(container)
}

/// Removes files a previous attempt may have left, so outputs always come from this attempt.
fn clear_outputs(input: &ExecutorInput) {
    let _ = std::fs::remove_file(&input.outputs.output_file);
    for parameter in input.outputs.parameters.values() {
        let _ = std::fs::remove_file(&parameter.output_file);
    }
}

fn typed_outputs(
    mut outputs: TaskOutputs,
    component: &ComponentSpec,
) -> Result<TaskOutputs, String> {
    for (name, definition) in &component.output_definitions.parameters {
        if let Some(value) = outputs.parameters.get(name) {
            let converted = values::coerce(value, definition.parameter_type)
                .map_err(|e| format!("output parameter {name:?}: {e}"))?;
            outputs.parameters.insert(name.clone(), converted);
        }
    }
    Ok(outputs)
}

fn task_timeout(ctx: &SharedCtx, executor_label: &str) -> Option<Duration> {
    let seconds = ctx
        .platform_spec
        .as_ref()
        .and_then(|p| p.pointer("/platforms/kubernetes/deploymentSpec/executors"))
        .and_then(|e| e.get(executor_label))
        .and_then(|e| e.get("activeDeadlineSeconds"))
        .and_then(|v| match v {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => s.trim().parse::<f64>().ok(),
            _ => None,
        })
        .filter(|s| *s > 0.0);
    // A deadline too large for a Duration means no deadline.
    match seconds {
        Some(seconds) => Duration::try_from_secs_f64(seconds).ok(),
        None => ctx.engine.config.default_task_timeout,
    }
}

/// Delay before retry number `attempt` (1-based): `backoffDuration * factor^(attempt-1)`,
/// capped at `backoffMaxDuration` (SDK defaults: 0 s, factor 2, cap 3600 s).
pub(crate) fn backoff(policy: &RetryPolicy, attempt: u32) -> Duration {
    let base = policy.backoff_duration.as_deref().and_then(parse_duration).unwrap_or(0.0);
    let factor = policy.backoff_factor.unwrap_or(2.0);
    let cap = policy.backoff_max_duration.as_deref().and_then(parse_duration).unwrap_or(3600.0);
    let seconds = (base * factor.powi(attempt.saturating_sub(1) as i32)).min(cap).max(0.0);
    let seconds = if seconds.is_finite() { seconds } else { cap };
    Duration::try_from_secs_f64(seconds).unwrap_or(Duration::MAX)
}

/// Parses a protobuf JSON duration (`"5s"`, `"0.5s"`); also accepts `ms`, `m` and `h`.
pub(crate) fn parse_duration(text: &str) -> Option<f64> {
    let text = text.trim();
    let (number, scale) = if let Some(n) = text.strip_suffix("ms") {
        (n, 0.001)
    } else if let Some(n) = text.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = text.strip_suffix('m') {
        (n, 60.0)
    } else if let Some(n) = text.strip_suffix('h') {
        (n, 3600.0)
    } else {
        (text, 1.0)
    };
    number.trim().parse::<f64>().ok().map(|n| n * scale)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(base: &str, factor: f64, cap: &str) -> RetryPolicy {
        RetryPolicy {
            max_retry_count: 3,
            backoff_duration: Some(base.into()),
            backoff_factor: Some(factor),
            backoff_max_duration: Some(cap.into()),
        }
    }

    #[test]
    fn backoff_grows_and_caps() {
        let p = policy("1s", 2.0, "3s");
        assert_eq!(backoff(&p, 1), Duration::from_secs(1));
        assert_eq!(backoff(&p, 2), Duration::from_secs(2));
        assert_eq!(backoff(&p, 3), Duration::from_secs(3));
        assert_eq!(backoff(&RetryPolicy::default(), 1), Duration::ZERO);
    }

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("5s"), Some(5.0));
        assert_eq!(parse_duration("0.5s"), Some(0.5));
        assert_eq!(parse_duration("250ms"), Some(0.25));
        assert_eq!(parse_duration("2m"), Some(120.0));
        assert_eq!(parse_duration("x"), None);
    }
}
