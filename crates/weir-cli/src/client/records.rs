//! Server runs as store records, so the terminal renderings of local runs in
//! [`crate::display`] print them the same way.
//!
//! The API's run has no pipeline name and no pipeline outputs. Both come from the run's
//! pipeline spec: the name from `pipelineInfo`, and the outputs from the root DAG's output
//! selectors applied to the recorded tasks, as the engine resolves them.

use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};
use weir_spec::PipelineSpec;
use weir_store::{RunRecord, State, StorageState, TaskKind, TaskRecord};

use super::types::{Run, TaskDetail};

/// Builds the record of a server run. Its pipeline name and outputs come from `spec`.
pub fn run_record(run: &Run, tasks: &[TaskRecord], spec: Option<&PipelineSpec>) -> RunRecord {
    let started_at = run
        .state_history
        .iter()
        .find(|entry| entry.state == State::Running.as_str())
        .and_then(|entry| timestamp(&entry.update_time));
    let storage_state = if run.storage_state == StorageState::Archived.as_str() {
        StorageState::Archived
    } else {
        StorageState::Available
    };
    RunRecord {
        run_id: run.run_id.clone(),
        name: run.display_name.clone(),
        description: String::new(),
        pipeline_name: spec.map(|spec| spec.pipeline_info.name.clone()).unwrap_or_default(),
        pipeline_spec: Value::Null,
        parameters: json!({ "parameters": run.runtime_config.parameters }),
        pipeline_root: run.runtime_config.pipeline_root.clone().unwrap_or_default(),
        experiment_id: run.experiment_id.clone(),
        pipeline_version_id: run
            .pipeline_version_reference
            .as_ref()
            .map(|reference| reference.pipeline_version_id.clone()),
        recurring_run_id: None,
        enable_caching: true,
        state: state(&run.state),
        storage_state,
        error: run.error.as_ref().map(|status| status.message.clone()),
        outputs: spec.map_or_else(|| json!({}), |spec| pipeline_outputs(spec, tasks)),
        created_at: timestamp(&run.created_at).unwrap_or_default(),
        started_at,
        finished_at: run.finished_at.as_deref().and_then(timestamp),
        scheduled_at: None,
    }
}

/// Builds the records of a run's task details.
pub fn task_records(run: &Run) -> Vec<TaskRecord> {
    run.tasks().iter().map(|task| task_record(&run.run_id, task)).collect()
}

fn task_record(run_id: &str, task: &TaskDetail) -> TaskRecord {
    let name = task.path.rsplit('/').next().unwrap_or_default().to_string();
    let kind = task.kind.parse().unwrap_or(TaskKind::Container);
    let iteration_index = match kind {
        TaskKind::Iteration => name.strip_prefix("iteration-").and_then(|n| n.parse().ok()),
        _ => None,
    };
    TaskRecord {
        task_id: task.task_id.clone(),
        run_id: run_id.to_string(),
        parent_task_id: task.parent_task_id.clone(),
        name,
        display_name: task.display_name.clone(),
        path: task.path.clone(),
        kind,
        component: String::new(),
        iteration_index,
        state: state(&task.state),
        attempts: task.attempts,
        cached: task.cached,
        inputs: values_json(&task.input_parameters, &task.inputs),
        outputs: values_json(&task.output_parameters, &task.outputs),
        error: task.error.as_ref().map(|status| status.message.clone()),
        cache_key: None,
        log_path: None,
        created_at: timestamp(&task.create_time).unwrap_or_default(),
        started_at: task.start_time.as_deref().and_then(timestamp),
        finished_at: task.end_time.as_deref().and_then(timestamp),
    }
}

/// Rebuilds the stored `{"parameters": {...}, "artifacts": {name: [RuntimeArtifact]}}` shape.
fn values_json(
    parameters: &Map<String, Value>,
    artifacts: &std::collections::BTreeMap<String, super::types::ArtifactList>,
) -> Value {
    let artifacts: Map<String, Value> = artifacts
        .iter()
        .map(|(name, list)| {
            let items: Vec<Value> = list
                .artifacts
                .iter()
                .map(|artifact| {
                    json!({
                        "name": artifact.name,
                        "uri": artifact.uri,
                        "type": {"schemaTitle": artifact.artifact_type},
                        "metadata": artifact.metadata,
                    })
                })
                .collect();
            (name.clone(), Value::Array(items))
        })
        .collect();
    json!({ "parameters": parameters, "artifacts": artifacts })
}

/// Resolves the pipeline's outputs from the root DAG's tasks. As in the engine, an output whose
/// producer did not run is left out, and of a OneOf's selectors only a succeeded producer
/// counts.
pub fn pipeline_outputs(spec: &PipelineSpec, tasks: &[TaskRecord]) -> Value {
    let mut parameters = Map::new();
    let mut artifacts = Map::new();
    let Some(outputs) = spec.root.dag.as_ref().and_then(|dag| dag.outputs.as_ref()) else {
        return json!({ "parameters": parameters, "artifacts": artifacts });
    };
    // Root DAG tasks have no parent task, and their path is their task key.
    let producer = |key: &str| tasks.iter().find(|t| t.parent_task_id.is_none() && t.path == key);
    let output_of = |task: &TaskRecord, kind: &str, key: &str| task.outputs[kind].get(key).cloned();

    for (name, source) in &outputs.parameters {
        let value = if let Some(selector) = &source.value_from_parameter {
            producer(&selector.producer_subtask)
                .and_then(|task| output_of(task, "parameters", &selector.output_parameter_key))
        } else {
            source.value_from_oneof.as_ref().and_then(|oneof| {
                oneof.parameter_selectors.iter().find_map(|selector| {
                    let task = producer(&selector.producer_subtask)
                        .filter(|task| task.state == State::Succeeded)?;
                    output_of(task, "parameters", &selector.output_parameter_key)
                })
            })
        };
        if let Some(value) = value {
            parameters.insert(name.clone(), value);
        }
    }
    for (name, source) in &outputs.artifacts {
        let list = source.artifact_selectors.iter().find_map(|selector| {
            let task = producer(&selector.producer_subtask)
                .filter(|task| task.state == State::Succeeded)?;
            output_of(task, "artifacts", &selector.output_artifact_key)
        });
        if let Some(list) = list {
            artifacts.insert(name.clone(), list);
        }
    }
    json!({ "parameters": parameters, "artifacts": artifacts })
}

/// Parses a KFP `RuntimeState` name. A name that Weir does not use, such as `PAUSED`, reads as
/// `PENDING`.
pub fn state(name: &str) -> State {
    name.parse().unwrap_or(State::Pending)
}

fn timestamp(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text).ok().map(|time| time.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::types::{Artifact, ArtifactList};

    fn spec(yaml: &str) -> PipelineSpec {
        match weir_spec::load_str(yaml, "test") {
            Ok(pipeline) => pipeline.spec,
            Err(e) => panic!("{e}"),
        }
    }

    fn task(
        path: &str,
        state: &str,
        parameters: Value,
        artifact: Option<(&str, &str)>,
    ) -> TaskRecord {
        let mut detail = TaskDetail {
            task_id: format!("id-{path}"),
            path: path.to_string(),
            kind: "container".to_string(),
            state: state.to_string(),
            output_parameters: parameters.as_object().cloned().unwrap_or_default(),
            ..TaskDetail::default()
        };
        if let Some((name, uri)) = artifact {
            let artifact = Artifact { name: name.into(), uri: uri.into(), ..Artifact::default() };
            detail.outputs.insert(name.to_string(), ArtifactList { artifacts: vec![artifact] });
        }
        task_record("r1", &detail)
    }

    const ONEOF: &str = r#"
pipelineInfo: {name: oneof}
schemaVersion: 2.1.0
root:
  dag:
    outputs:
      parameters:
        picked:
          valueFromOneof:
            parameterSelectors:
            - {producerSubtask: a, outputParameterKey: Output}
            - {producerSubtask: b, outputParameterKey: Output}
        direct:
          valueFromParameter: {producerSubtask: a, outputParameterKey: Output}
      artifacts:
        model:
          artifactSelectors:
          - {producerSubtask: a, outputArtifactKey: model}
          - {producerSubtask: b, outputArtifactKey: model}
    tasks:
      a: {componentRef: {name: comp}, taskInfo: {name: a}}
      b: {componentRef: {name: comp}, taskInfo: {name: b}}
  outputDefinitions:
    parameters:
      picked: {parameterType: STRING}
      direct: {parameterType: STRING}
    artifacts:
      model: {artifactType: {schemaTitle: system.Model, schemaVersion: 0.0.1}}
components:
  comp:
    executorLabel: exec
    outputDefinitions:
      parameters:
        Output: {parameterType: STRING}
      artifacts:
        model: {artifactType: {schemaTitle: system.Model, schemaVersion: 0.0.1}}
deploymentSpec:
  executors:
    exec: {container: {image: alpine, command: [sh]}}
"#;

    #[test]
    fn outputs_from_oneof_branch() {
        let tasks = [
            task("a", "SKIPPED", json!({}), None),
            task("b", "SUCCEEDED", json!({"Output": "from b"}), Some(("model", "/m/b"))),
        ];
        let outputs = pipeline_outputs(&spec(ONEOF), &tasks);
        assert_eq!(outputs["parameters"], json!({"picked": "from b"}));
        assert_eq!(outputs["artifacts"]["model"][0]["uri"], "/m/b");
    }

    #[test]
    fn outputs_from_direct_selector() {
        let tasks = [task("a", "SUCCEEDED", json!({"Output": 7}), Some(("model", "/m/a")))];
        let outputs = pipeline_outputs(&spec(ONEOF), &tasks);
        assert_eq!(outputs["parameters"], json!({"direct": 7, "picked": 7}));
        assert_eq!(outputs["artifacts"]["model"][0]["uri"], "/m/a");
    }

    #[test]
    fn iteration_index_from_path() {
        let detail = TaskDetail {
            path: "for-loop-2/iteration-11".into(),
            kind: "iteration".into(),
            state: "RUNNING".into(),
            ..TaskDetail::default()
        };
        let record = task_record("r1", &detail);
        assert_eq!(record.iteration_index, Some(11));
        assert_eq!(record.name, "iteration-11");
        assert_eq!(record.kind, TaskKind::Iteration);
        assert_eq!(record.state, State::Running);
    }
}
